#include "probes/udp_transport.h"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <time.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <cerrno>
#include <cstring>

#include "sip/sip_response.h"

namespace stx {
namespace {

constexpr int kMaxDatagramsPerWakeup = 256;                 // then yield to timers and HTTP
constexpr int kBatch = 32;                                  // datagrams per recvmmsg
constexpr std::size_t kSlotBytes = kMaxSipMessageSize + 1;  // one more: tells "too large"
constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;
constexpr std::chrono::seconds kMaxQueueAge{1};  // older kernel timestamps are not trusted

bool is_error_cmsg(const cmsghdr* c) {
  return (c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
         (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR);
}

// When the kernel queued a datagram, on the steady clock: SO_TIMESTAMPNS is wall-clock time,
// so it becomes an age (now - arrival) taken off the steady `now`. A wall-clock step between
// arrival and read gives a nonsense age, which the clamp bounds; without a timestamp, now.
TimePoint arrival_of(const msghdr& m, TimePoint steady_now, const timespec& wall_now) {
  for (const cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&m), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec at{};
    std::memcpy(&at, CMSG_DATA(c), sizeof at);
    const auto age = std::chrono::seconds(wall_now.tv_sec - at.tv_sec) +
                     std::chrono::nanoseconds(wall_now.tv_nsec - at.tv_nsec);
    if (age <= std::chrono::nanoseconds::zero()) return steady_now;
    return steady_now - std::min<std::chrono::nanoseconds>(age, kMaxQueueAge);
  }
  return steady_now;
}

}  // namespace

struct UdpTransport::Batch {
  Batch() {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {data.get() + static_cast<std::size_t>(i) * kSlotBytes, kSlotBytes};
      msghdr& m = msgs[i].msg_hdr;
      m.msg_name = from[i].data();
      m.msg_iov = &iov[i];
      m.msg_iovlen = 1;
      m.msg_control = control[i].bytes;
      reset(i);
    }
  }
  // What recvmmsg overwrote in a header it filled.
  void reset(int i) {
    msghdr& m = msgs[i].msg_hdr;
    m.msg_namelen = static_cast<socklen_t>(from[i].capacity());
    m.msg_controllen = sizeof control[i].bytes;
    m.msg_flags = 0;
  }

  // Slots are left uninitialised: only the bytes a datagram fills are ever touched.
  std::unique_ptr<char[]> data{new char[kBatch * kSlotBytes]};
  std::array<UdpEndpoint, kBatch> from;
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  struct alignas(cmsghdr) Control {
    char bytes[CMSG_SPACE(sizeof(timespec)) + 64];
  };
  std::array<Control, kBatch> control{};
};

struct UdpTransport::Socket {
  explicit Socket(boost::asio::io_context& io) : sock(io) {}
  boost::asio::ip::udp::socket sock;
  UdpEndpoint bound_to;  // as asked: unspecified address/port 0 for the shared sockets
  bool fixed_source = false;
  bool armed = false;
};

UdpTransport::UdpTransport(boost::asio::io_context& io, Clock& clock, Handlers handlers)
    : io_(io), clock_(clock), handlers_(std::move(handlers)), batch_(std::make_unique<Batch>()) {}

UdpTransport::~UdpTransport() { close(); }

void UdpTransport::close() {
  boost::system::error_code ignored;
  for (auto& s : sockets_) s->sock.close(ignored);
}

std::optional<UdpTransport::SocketId> UdpTransport::socket_for(const UdpEndpoint& remote,
                                                               const UdpEndpoint* source,
                                                               std::error_code& ec) {
  const bool v6 = remote.address().is_v6();
  const auto proto = v6 ? boost::asio::ip::udp::v6() : boost::asio::ip::udp::v4();
  const UdpEndpoint bind_to = source ? *source : UdpEndpoint(proto, 0);
  if (bind_to.address().is_v6() != v6) {
    ec = std::make_error_code(std::errc::address_family_not_supported);
    return std::nullopt;
  }
  // A handful of sockets at most: a linear search is the simplest index.
  for (std::size_t i = 0; i < sockets_.size(); ++i) {
    if (sockets_[i]->bound_to == bind_to && sockets_[i]->sock.is_open()) {
      return static_cast<SocketId>(i);
    }
  }
  auto s = open_socket(bind_to, ec);
  if (!s) return std::nullopt;
  s->fixed_source = source != nullptr;
  sockets_.push_back(std::move(s));
  arm(*sockets_.back());
  return static_cast<SocketId>(sockets_.size() - 1);
}

std::unique_ptr<UdpTransport::Socket> UdpTransport::open_socket(const UdpEndpoint& bind_to,
                                                                std::error_code& ec) {
  auto s = std::make_unique<Socket>(io_);
  s->bound_to = bind_to;
  const bool v6 = bind_to.address().is_v6();
  boost::system::error_code bec;
  s->sock.open(bind_to.protocol(), bec);
  if (!bec && v6) s->sock.set_option(boost::asio::ip::v6_only(true), bec);
  if (!bec) s->sock.bind(bind_to, bec);
  if (!bec) s->sock.non_blocking(true, bec);
  if (bec) {
    ec = std::error_code(bec.value(), std::generic_category());
    return nullptr;
  }
  const int fd = s->sock.native_handle();
  const int on = 1;
  // Without IP_RECVERR an unconnected UDP socket never learns of ICMP unreachables.
  if (v6) {
    setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof on);
  } else {
    setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof on);
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes, sizeof kReceiveBufferBytes);
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  return s;
}

void UdpTransport::arm(Socket& s) {
  s.armed = true;
  s.sock.async_wait(boost::asio::ip::udp::socket::wait_read,
                    [this, &s](const boost::system::error_code& ec) {
                      s.armed = false;
                      if (ec || !s.sock.is_open()) return;
                      if (handlers_.on_readable) {
                        handlers_.on_readable();
                        return;
                      }
                      drain(s);
                      if (s.sock.is_open()) arm(s);
                    });
}

void UdpTransport::poll() {
  // By index: a handler may open a socket, which may reallocate sockets_.
  for (std::size_t i = 0; i < sockets_.size(); ++i) {  // NOLINT(modernize-loop-convert)
    if (sockets_[i]->sock.is_open()) drain(*sockets_[i]);
  }
}

void UdpTransport::watch() {
  for (auto& s : sockets_) {
    if (!s->armed && s->sock.is_open()) arm(*s);
  }
}

void UdpTransport::drain(Socket& s) {
  const int fd = s.sock.native_handle();
  Batch& b = *batch_;
  for (int round = 0; round < kMaxDatagramsPerWakeup / kBatch; ++round) {
    const int n = recvmmsg(fd, b.msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      // With IP_RECVERR a queued ICMP error makes the call fail once (ECONNREFUSED...) when
      // no data is waiting; EAGAIN means there is none, so the error queue needs no look.
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (errno != EINTR) drain_errors(s);
      continue;
    }
    const TimePoint steady_now = clock_.now();
    timespec wall_now{};
    clock_gettime(CLOCK_REALTIME, &wall_now);
    for (int i = 0; i < n; ++i) {
      const msghdr& m = b.msgs[i].msg_hdr;
      b.from[i].resize(m.msg_namelen);
      const bool truncated = (m.msg_flags & MSG_TRUNC) != 0;
      handlers_.on_datagram(
          b.from[i],
          std::string_view(static_cast<const char*>(b.iov[i].iov_base), b.msgs[i].msg_len),
          truncated, arrival_of(m, steady_now, wall_now));
      b.reset(i);
      if (!s.sock.is_open()) {  // a handler closed the transport
        for (int j = i + 1; j < n; ++j) b.reset(j);
        return;
      }
    }
    if (n < kBatch) return;
  }
}

void UdpTransport::drain_errors(Socket& s) {
  const int fd = s.sock.native_handle();
  for (int i = 0; i < kMaxDatagramsPerWakeup; ++i) {
    UdpEndpoint dest;
    char original[2048];
    alignas(cmsghdr) char control[512];
    iovec iov{original, sizeof original};
    msghdr msg{};
    msg.msg_name = dest.data();
    msg.msg_namelen = static_cast<socklen_t>(dest.capacity());
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0) return;
    dest.resize(msg.msg_namelen);
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (!is_error_cmsg(c)) continue;
      sock_extended_err ee{};
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      handlers_.on_error(dest, std::string_view(original, static_cast<std::size_t>(n)),
                         static_cast<int>(ee.ee_errno));
    }
  }
}

int UdpTransport::send(SocketId socket, const UdpEndpoint& to, std::string_view data) {
  if (socket >= sockets_.size() || !sockets_[socket]->sock.is_open()) return EBADF;
  Socket* s = sockets_[socket].get();
  const int fd = s->sock.native_handle();
  for (int attempt = 0; attempt < 2; ++attempt) {
    const ssize_t n = ::sendto(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL, to.data(),
                               static_cast<socklen_t>(to.size()));
    if (n >= 0) return 0;
    const int err = errno;
    // An ICMP error about an earlier datagram may be reported here instead of on receive:
    // hand it to its own probe and try once more.
    if (err == ECONNREFUSED || err == EHOSTUNREACH || err == ENETUNREACH) {
      drain_errors(*s);
      continue;
    }
    return err;
  }
  return ECONNREFUSED;
}

std::optional<UdpEndpoint> UdpTransport::local_endpoint_for(SocketId socket,
                                                            const UdpEndpoint& remote,
                                                            std::error_code& ec) {
  if (socket >= sockets_.size() || !sockets_[socket]->sock.is_open()) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return std::nullopt;
  }
  Socket* s = sockets_[socket].get();
  boost::system::error_code bec;
  if (s->fixed_source && !s->bound_to.address().is_unspecified()) {
    const UdpEndpoint bound = s->sock.local_endpoint(bec);
    if (!bec) return bound;
  }
  // A connected throwaway socket asks the routing table which source address applies.
  boost::asio::ip::udp::socket probe(io_);
  probe.open(remote.protocol(), bec);
  if (!bec) probe.connect(remote, bec);
  UdpEndpoint local;
  if (!bec) local = probe.local_endpoint(bec);
  if (bec) {
    ec = std::error_code(bec.value(), std::generic_category());
    return std::nullopt;
  }
  const UdpEndpoint bound = s->sock.local_endpoint(bec);
  if (bec) {
    ec = std::error_code(bec.value(), std::generic_category());
    return std::nullopt;
  }
  local.port(bound.port());
  return local;
}

}  // namespace stx
