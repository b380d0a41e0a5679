#pragma once
// One address's exchange state, shared by exchanges*.cc only.
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "probes/exchanges.h"
#include "probes/invite_call.h"
#include "probes/transaction.h"

namespace stx {

// Without TTLs for the route, our source address (Via, Contact) is looked up again this
// often, so a target unroutable at start, or a changed local address, is picked up.
inline constexpr std::chrono::seconds kRouteRefresh{60};

// The local address a probe to a `v6` (or IPv4) peer is bound to: the configured
// source_address, or the family's any-address when only source_port is set; nullopt when
// neither is set (routing chooses).
std::optional<boost::asio::ip::address> source_address_of(const TargetConfig& cfg, bool v6);

// Our Via sent-by ("192.0.2.1:5060", "[2001:db8::1]:5060") and the Contact URI built on it:
// sips: when the Request-URI is (RFC 3261 8.1.1.8), with no ;transport then (RFC 5630).
// The Via transport token: "UDP", "TCP", "TLS".
std::string_view via_transport_of(Transport t);

std::string sent_by_of(const boost::asio::ip::address& a, std::uint16_t port);

// Our Via sent-by and Contact URI, together: shared by every UDP session with the same
// local address and From user (most of a fleet), a connection's own on TCP, TLS and WS.
struct LocalIdentity {
  std::string sent_by;
  std::string contact;
};
// `sent_by` with the Contact URI built on it.
std::shared_ptr<const LocalIdentity> identity_of(std::string_view from_user, std::string sent_by,
                                                 std::optional<Transport> transport, bool sips);
// "<16 hex digits>.invalid": the Via and Contact host of a WebSocket flow (RFC 7118 5.2).
std::string invalid_host(std::uint64_t random);

// What only a running exchange needs: taken from Exchanges' spares when it starts and given
// back when it ends, so an idle address (most of a large fleet) holds neither. A test call
// keeps its own, for the To, Call-ID and CSeq of its CANCEL, ACK and BYE.
struct Exchanges::InFlight {
  Transaction tx;
  std::string request;
};

struct Exchanges::Session {
  const ProbeTarget* target = nullptr;  // owned by the checker; outlives the session
  std::uint32_t generation = 0;
  // Of the last exchange: the next one's seq and CSeq go on from these.
  std::uint32_t seq = 0;
  std::uint32_t cseq = 0;
  bool auth_sent = false;   // a challenge was answered in this exchange
  bool proxy_auth = false;  // that challenge was a 407: Proxy-Authorization
  bool registered = false;  // UDP: linked into the chain of its remote() (remote_buckets_)
  std::optional<UdpTransport::SocketId> socket;  // UDP; with the flags, it fills their word
  Destination dest;
  std::uint32_t remote_prev = kNoAddress;  // the chain of UDP addresses with our remote()
  std::uint32_t remote_next = kNoAddress;
  // The header value while auth_sent; made at the first challenge, reused after.
  std::unique_ptr<std::string> authorization;

  // What our side looks like to the peer; null until routed or connected.
  std::shared_ptr<const LocalIdentity> local;
  std::unique_ptr<InFlight> in_flight;  // null while idle
  // A test call's state (method = "invite"); none for other probes, which are most.
  std::unique_ptr<InviteCall> call;

  TimePoint routed_at{};  // UDP

  // TCP / TLS / WS / WSS: made when the session opens, null for UDP (most of a fleet).
  struct Flow {
    std::shared_ptr<Connection> conn;
    bool conn_ready = false;
    std::uint32_t conn_gen = 0;  // tells callbacks of a closed connection from the current one
    bool ping_outstanding = false;
    bool ping_after_probe = false;  // a keepalive fell due while a probe was running
    bool pong_overdue = false;      // the pong deadline passed while a probe was running
    std::uint32_t ping_seq = 0;
    std::chrono::seconds reconnect_backoff{0};
    TimePoint reconnect_at{};  // keepalive reconnects wait until then
    // The handshake of the current (or last failed) TLS connection; results point here.
    // Made on the first handshake: TCP and WS flows never need one.
    std::unique_ptr<TlsPeerInfo> tls;
    bool has_tls = false;
  };
  std::unique_ptr<Flow> flow;

  const TargetConfig& cfg() const { return *target->cfg; }
  UdpEndpoint remote() const { return {dest.address, dest.port}; }
  std::string_view sent_by() const { return local ? std::string_view(local->sent_by) : ""; }
  std::string_view contact() const { return local ? std::string_view(local->contact) : ""; }
  Transaction& tx() { return in_flight->tx; }  // while in_flight
  const Transaction& tx() const { return in_flight->tx; }
  bool tx_open() const { return in_flight != nullptr && in_flight->tx.open; }
  std::string_view request_text() const {
    return in_flight != nullptr ? std::string_view(in_flight->request) : std::string_view();
  }
  // How `r`, from `same_source ? the address : elsewhere`, stands to the running exchange.
  Match match(const SipResponse& r, bool same_source) const {
    return in_flight != nullptr
               ? match_response(in_flight->tx, r, target->prober->method(), same_source)
               : Match::no_open_probe;
  }
  std::string_view authorization_name() const {
    return proxy_auth ? "Proxy-Authorization" : "Authorization";
  }
};

}  // namespace stx
