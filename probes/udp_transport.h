#pragma once
// The UDP transport: one unconnected socket per address family, shared by every target,
// plus one per distinct fixed source (source_address/source_port), shared the same way.
// ICMP errors (port/host unreachable) are read from the socket's error queue (IP_RECVERR),
// which needs no privilege and tells which datagram they answer. Datagrams are read in
// batches (recvmmsg) with the kernel's arrival timestamp (SO_TIMESTAMPNS), so a response's
// RTT does not depend on when the event loop gets round to reading it: the engine reads
// on its own schedule under load and asks for readiness wakeups only when idle.
// The sockets are plain descriptors, put in an epoll set of our own only while watched:
// Asio's reactor registers its sockets edge-triggered for good, so every datagram arriving
// between two reads would wake the event loop for nothing.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

#include "probes/clock.h"

namespace stx {

using UdpEndpoint = boost::asio::ip::udp::endpoint;

class UdpTransport {
 public:
  static constexpr int kSendBatch = 64;  // datagrams per sendmmsg
  struct Handlers {
    // A datagram arrived. `truncated` when it was larger than the receive buffer.
    std::function<void(const UdpEndpoint& from, std::string_view data, bool truncated,
                       TimePoint received)>
        on_datagram;
    // An ICMP (or local) error about a datagram we sent to `dest`; `original` is as much of
    // that datagram's payload as the error quoted; `error` is an errno value.
    std::function<void(const UdpEndpoint& dest, std::string_view original, int error)> on_error;
    // A socket watched with watch() became readable; the owner calls poll() when it likes.
    std::function<void()> on_readable;
  };

  UdpTransport(boost::asio::io_context& io, Clock& clock, Handlers handlers);
  ~UdpTransport();
  UdpTransport(const UdpTransport&) = delete;
  UdpTransport& operator=(const UdpTransport&) = delete;

  // Names a socket; stable until close().
  using SocketId = std::uint16_t;

  // The socket for datagrams to `remote`'s family from `source` (unspecified address and
  // port 0: the shared ephemeral socket). Opens and binds it on first use.
  std::optional<SocketId> socket_for(const UdpEndpoint& remote, const UdpEndpoint* source,
                                     std::error_code& ec);

  // Sends one datagram. Returns 0 or an errno value; never blocks.
  int send(SocketId socket, const UdpEndpoint& to, std::string_view data);

  // Copies a datagram into the send batch, for flush(). False when it does not fit (the
  // batch is full or for another socket, the datagram is large) or a flush is under way:
  // then flush() first, or send() it.
  bool queue(SocketId socket, const UdpEndpoint& to, std::string_view data);
  // The batch holds as many datagrams as one flush() sends.
  bool batch_full() const;
  // Sends the batch with as few sendmmsg calls as the kernel allows and empties it;
  // `errors` gets 0 or an errno value per datagram, in the order they were queued.
  void flush(std::vector<int>& errors);

  // The local address and port a datagram to `remote` leaves from (for Via and Contact).
  std::optional<UdpEndpoint> local_endpoint_for(SocketId socket, const UdpEndpoint& remote,
                                                std::error_code& ec);

  // Reads the datagrams and errors waiting on every socket, handing each to the handlers:
  // at most kMaxDatagramsPerPoll a socket, then the loop's timers get their turn. True when a
  // socket may have more waiting (it gave that many).
  bool poll();
  static constexpr int kMaxDatagramsPerPoll = 256;
  // One on_readable() call when any socket next becomes readable (or has an error queued).
  void watch();

  void close();

 private:
  struct Socket {
    int fd = -1;           // -1 once closed
    UdpEndpoint bound_to;  // as asked: unspecified address/port 0 for the shared sockets
    bool fixed_source = false;
  };
  int open_socket(const UdpEndpoint& bind_to, std::error_code& ec);
  void on_watched(const boost::system::error_code& ec);
  // By id: a handler may open a socket, moving sockets_, or close them all.
  bool drain(SocketId id);  // true: it stopped at kMaxDatagramsPerPoll
  void drain_errors(SocketId id);

  boost::asio::io_context& io_;
  Clock& clock_;
  Handlers handlers_;
  std::vector<Socket> sockets_;  // by SocketId
  // The epoll set the sockets are in while watched; Asio waits on it.
  boost::asio::posix::stream_descriptor watched_;
  bool watching_ = false;
  struct Batch;  // recvmmsg buffers, allocated once
  std::unique_ptr<Batch> batch_;
  struct SendBatch;  // sendmmsg buffers, allocated once
  std::unique_ptr<SendBatch> sends_;
};

}  // namespace stx
