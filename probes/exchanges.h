#pragma once
// The exchanges: for each address, one request at a time, carried by a transport service
// and judged by the target's prober. UDP addresses share the transport's sockets and are
// retransmitted on Timer E; TCP, TLS, WS and WSS addresses keep one connection each, reused
// across probes, with RFC 5626 keepalives (WebSocket pings) and reconnect backoff. Answers are
// matched to their request by Via branch, Call-ID, CSeq and source (probes/transaction.h); a digest
// challenge is answered once. Outcomes go to the ExchangeListener (the health checker); drops, TLS
// details and keepalives go to the sink. Time comes from the Clock and the timer queue.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "probes/clock.h"
#include "probes/connection.h"
#include "probes/exchange_runner.h"
#include "probes/ids.h"
#include "probes/interned.h"
#include "probes/slots.h"
#include "probes/timer_queue.h"
#include "probes/udp_transport.h"
#include "sip/sip_request.h"

namespace stx {

struct LocalIdentity;

class Exchanges final : public ExchangeRunner {
 public:
  struct Services {
    boost::asio::io_context& io;
    Clock& clock;
    TimerQueue& timers;
    ProbeSink& sink;
    ConnectionFactory connections;  // TCP, TLS, WS and WSS flows
  };

  // `on_readable`: a watched UDP socket became readable; the owner calls poll() when it
  // likes. `rearm`: a connection event was handled; the owner plans its next wakeup.
  Exchanges(Services services, ExchangeListener& listener, std::function<void()> on_readable,
            std::function<void()> rearm);
  ~Exchanges() override;
  Exchanges(const Exchanges&) = delete;
  Exchanges& operator=(const Exchanges&) = delete;

  void open(std::uint32_t address, std::uint32_t generation, const ProbeTarget& target,
            const Destination& destination) override;
  void close(std::uint32_t address) override;
  void start(std::uint32_t address, TimePoint now, TimePoint deadline) override;
  void expire(std::uint32_t address, TimePoint now) override;
  TimePoint busy_until(std::uint32_t address) const override;
  const Destination& destination(std::uint32_t address) const override;
  // Requests and transactions kept for the next exchanges (memory accounting and tests).
  std::size_t spare_in_flight() const { return spare_in_flight_.size(); }
  // Our Via sent-by and Contact pairs held for UDP sessions (memory accounting and tests).
  std::size_t local_identities() const { return udp_identities_.size(); }

  // Timer entries of kind retransmit, keepalive and pong_due.
  bool live(const TimerEntry& e) const;
  void fire(const TimerEntry& e, TimePoint now);

  // Between these two calls UDP requests are queued and leave together (sendmmsg) at the
  // flush, each RTT and Timer E running from then; the engine brackets each wakeup so.
  // Outside them, each request leaves at once.
  void batch_sends() { batching_ = true; }
  void flush_sends();

  // Reads the waiting datagrams and ICMP errors; true when more may be waiting (see
  // UdpTransport::poll).
  bool poll() { return udp_.poll(); }
  void watch() { udp_.watch(); }  // one on_readable() when a datagram next arrives
  void stop();                    // closes every flow and socket

  // The connection factory of production: TCP and TLS, or WebSocket for ws/wss, on `io`.
  static ConnectionFactory stream_connections(boost::asio::io_context& io, Clock& clock);

 private:
  struct Session;
  struct InFlight;
  static constexpr std::uint32_t kNoAddress = UINT32_MAX;
  struct AddressKey {
    std::array<unsigned char, 16> addr{};
    std::uint16_t port = 0;
    bool operator==(const AddressKey&) const = default;
  };
  struct AddressKeyHash {
    std::size_t operator()(const AddressKey& k) const;
  };
  static AddressKey key_of(const UdpEndpoint& e);

  // Requests and answers (exchanges.cc).
  void take_in_flight(Session& s);
  void write_request(Session& s);
  void send(std::uint32_t address, TimePoint now);
  void finish(std::uint32_t address, ProbeResult& result, TimePoint now);
  void fail(std::uint32_t address, FailureReason reason, std::string_view detail, TimePoint now);
  bool parse_or_count(std::string_view data, SipResponse& r, const Destination& from);
  void on_response(std::uint32_t address, const SipResponse& r, std::string_view data,
                   TimePoint received);
  bool answer_challenge(std::uint32_t address, const SipResponse& r, TimePoint now);

  // Test calls: CANCEL, ACK, BYE and the peer's stragglers (exchanges_invite.cc).
  void call_provisional(std::uint32_t address, const SipResponse& r, TimePoint received);
  void call_final(std::uint32_t address, const SipResponse& r, TimePoint received);
  // A response of the address's call that is not the open request's: true when it was one.
  bool call_straggler(std::uint32_t address, const SipResponse& r, bool same_source,
                      TimePoint received);
  // The probe's deadline passed during a call: true when that made its outcome (it rang).
  bool call_expired(std::uint32_t address, TimePoint now);
  void send_cancel(std::uint32_t address, TimePoint now);
  void send_bye(std::uint32_t address, TimePoint now);
  void send_in_call(std::uint32_t address, TimePoint now);  // the CANCEL or BYE in call.aux
  void resend_in_call(std::uint32_t address, TimePoint now);
  void send_text(Session& s, std::string_view text);
  static RequestFields in_call_fields(const Session& s, std::string_view method);

  // UDP (exchanges_udp.cc).
  std::error_code udp_route(Session& s, TimePoint now);
  std::shared_ptr<const LocalIdentity> udp_identity(std::string_view from_user,
                                                    std::string sent_by);
  void udp_send(std::uint32_t address);
  bool queue_send(Session& s, std::uint32_t address, bool retransmit);
  // A first transmission; `left`: the clock read after the send returned.
  void udp_sent(std::uint32_t address, int error, TimePoint left);
  void udp_retransmit(std::uint32_t address, TimePoint due);
  std::size_t remote_bucket(const AddressKey& k) const;
  void link_remote(std::uint32_t address);
  void unlink_remote(std::uint32_t address);
  void grow_remote_buckets();
  void on_datagram(const UdpEndpoint& from, std::string_view data, bool truncated,
                   TimePoint received);
  void on_transport_error(const UdpEndpoint& dest, std::string_view original, int error);
  void refuse(std::uint32_t address, int error, TimePoint now);

  // TCP, TLS, WS and WSS (exchanges_stream.cc).
  void stream_connect(std::uint32_t address);
  bool live_stream(std::uint32_t address, std::uint32_t gen, std::uint32_t conn_gen) const;
  void stream_send(std::uint32_t address);
  void on_stream_ready(std::uint32_t address, const TlsPeerInfo* tls);
  void on_stream_message(std::uint32_t address, std::string_view data, TimePoint received);
  void on_stream_failed(std::uint32_t address, StreamFailure failure, std::string_view detail,
                        const TlsPeerInfo* tls);
  void on_keepalive_timer(std::uint32_t address, TimePoint now);
  void send_ping(std::uint32_t address, TimePoint now);
  void flow_alive(std::uint32_t address);  // a pong, or any SIP message on the flow
  void on_pong_due(std::uint32_t address);
  void close_stream(Session& s);
  // Keeps what a handshake told (`tls` may be null) for the results of the flow's exchanges.
  static void keep_tls(Session& s, const TlsPeerInfo* tls);

  Services s_;
  ExchangeListener& listener_;
  std::function<void()> rearm_;
  IdGenerator ids_;
  UdpTransport udp_;
  SlotTable<Session> sessions_;  // by address; none when closed
  // By address, the open transaction as tx_key(generation, seq), 0 when none: retransmit
  // entries are checked against it without touching a cold Session.
  std::vector<std::uint64_t> open_tx_;
  static std::uint64_t tx_key(std::uint32_t generation, std::uint32_t seq) {
    return (std::uint64_t{generation} << 32) | seq;
  }
  // Requests and transactions of finished exchanges for the next ones: as many as were ever
  // in flight at once, rather than one per address (most of a large fleet is idle).
  std::vector<std::unique_ptr<InFlight>> spare_in_flight_;
  // The requests queued in udp_ since batch_sends(), in the same order.
  struct QueuedSend {
    std::uint32_t address;
    bool retransmit;
    std::uint64_t tx;  // tx_key(): a probe that ended meanwhile is not touched
  };
  std::vector<QueuedSend> queued_sends_;
  std::vector<int> send_errors_;
  bool batching_ = false;
  // Our identities on UDP by From user and sent-by, shared by the sessions that use them.
  Interned<LocalIdentity> udp_identities_;  // by From user and sent-by
  // UDP addresses by remote, for an ICMP error that quotes no branch: each bucket heads a
  // chain through the sessions (Session::remote_prev and remote_next), so an address costs
  // 8 bytes and no node of its own, and leaves in constant time.
  std::vector<std::uint32_t> remote_buckets_;  // a power of two; kNoAddress when empty
  std::size_t remote_count_ = 0;
  // TLS contexts by settings, shared by every target that uses the same ones.
  std::vector<std::pair<TlsSettings, std::shared_ptr<TlsClientContext>>> tls_contexts_;
  bool stopped_ = false;
};

}  // namespace stx
