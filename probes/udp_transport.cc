#include "probes/udp_transport.h"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/udp.hpp>
#include <cerrno>
#include <cstring>

#include "probes/page_buffer.h"
#include "sip/sip_response.h"

namespace stx {
namespace {

constexpr int kBatch = 32;                                  // datagrams per recvmmsg
constexpr std::size_t kSlotBytes = kMaxSipMessageSize + 1;  // one more: tells "too large"
constexpr int kReceiveBufferBytes = 4 * 1024 * 1024;
constexpr std::chrono::seconds kMaxQueueAge{1};  // older kernel timestamps are not trusted
constexpr std::size_t kSendSlotBytes = 2048;     // larger requests are sent on their own

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
      iov[i] = {data.data() + static_cast<std::size_t>(i) * kSlotBytes, kSlotBytes};
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

  // Only the pages a datagram fills are ever touched: about 128 KiB of the 2 MiB.
  PageBuffer data{kBatch * kSlotBytes};
  std::array<UdpEndpoint, kBatch> from;
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  struct alignas(cmsghdr) Control {
    char bytes[CMSG_SPACE(sizeof(timespec)) + 64];
  };
  std::array<Control, kBatch> control{};
};

// Datagrams queued during one wakeup, copied so that their buffers may change meanwhile.
struct UdpTransport::SendBatch {
  SendBatch() {
    for (int i = 0; i < kSendBatch; ++i) {
      iov[i].iov_base = data.get() + static_cast<std::size_t>(i) * kSendSlotBytes;
      msgs[i].msg_hdr.msg_name = to[i].data();
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
  }
  std::unique_ptr<char[]> data{new char[kSendBatch * kSendSlotBytes]};
  std::array<UdpEndpoint, kSendBatch> to;
  std::array<iovec, kSendBatch> iov{};
  std::array<mmsghdr, kSendBatch> msgs{};
  int count = 0;
  UdpTransport::SocketId socket = 0;
  bool flushing = false;
};

namespace {

std::error_code errno_code(int e) { return {e, std::generic_category()}; }

// A watched socket is in the epoll set, level-triggered (EPOLLERR comes with EPOLLIN); an
// unwatched one is not in it at all, so that neither a datagram nor an ICMP error that
// arrives under load can wake the loop.
void set_watched(int epfd, int fd, bool watched) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(epfd, watched ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

bool is_unreachable(int e) { return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH; }

int new_epoll_set() {
  const int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno_code(errno), "epoll_create1 for the UDP sockets");
  return fd;
}

}  // namespace

UdpTransport::UdpTransport(boost::asio::io_context& io, Clock& clock, Handlers handlers)
    : io_(io),
      clock_(clock),
      handlers_(std::move(handlers)),
      watched_(io, new_epoll_set()),
      batch_(std::make_unique<Batch>()),
      sends_(std::make_unique<SendBatch>()) {}

UdpTransport::~UdpTransport() { close(); }

void UdpTransport::close() {
  for (Socket& s : sockets_) {
    if (s.fd < 0) continue;
    ::close(s.fd);  // also leaves the epoll set
    s.fd = -1;
  }
  boost::system::error_code ignored;
  watched_.close(ignored);
  watching_ = false;
  sends_->count = 0;  // nothing queued leaves a closed transport
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
    if (sockets_[i].bound_to == bind_to && sockets_[i].fd >= 0) return static_cast<SocketId>(i);
  }
  const int fd = open_socket(bind_to, ec);
  if (fd < 0) return std::nullopt;
  sockets_.push_back({fd, bind_to, source != nullptr});
  if (watching_) set_watched(watched_.native_handle(), fd, true);
  return static_cast<SocketId>(sockets_.size() - 1);
}

int UdpTransport::open_socket(const UdpEndpoint& bind_to, std::error_code& ec) {
  if (!watched_.is_open()) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return -1;
  }
  const bool v6 = bind_to.address().is_v6();
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ec = errno_code(errno);
    return -1;
  }
  const int on = 1;
  const bool ok = (!v6 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) == 0) &&
                  ::bind(fd, bind_to.data(), static_cast<socklen_t>(bind_to.size())) == 0;
  if (!ok) {
    ec = errno_code(errno);
    ::close(fd);
    return -1;
  }
  // Without IP_RECVERR an unconnected UDP socket never learns of ICMP unreachables.
  if (v6) {
    setsockopt(fd, SOL_IPV6, IPV6_RECVERR, &on, sizeof on);
  } else {
    setsockopt(fd, SOL_IP, IP_RECVERR, &on, sizeof on);
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kReceiveBufferBytes, sizeof kReceiveBufferBytes);
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  return fd;
}

bool UdpTransport::poll() {
  bool more = false;
  // By index: a handler may open a socket, which may reallocate sockets_.
  for (std::size_t i = 0; i < sockets_.size(); ++i) {
    if (sockets_[i].fd >= 0) more = drain(static_cast<SocketId>(i)) || more;
  }
  return more;
}

void UdpTransport::watch() {
  if (watching_ || !watched_.is_open()) return;
  watching_ = true;
  for (const Socket& s : sockets_) {
    if (s.fd >= 0) set_watched(watched_.native_handle(), s.fd, true);  // at once if readable
  }
  watched_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                      [this](const boost::system::error_code& ec) {
                        if (ec == boost::asio::error::operation_aborted) return;  // closed
                        on_watched(ec);
                      });
}

void UdpTransport::on_watched(const boost::system::error_code& ec) {
  watching_ = false;
  for (const Socket& s : sockets_) {
    if (s.fd >= 0) set_watched(watched_.native_handle(), s.fd, false);
  }
  // An ICMP report left in an error queue keeps a socket readable (EPOLLERR) while a read
  // of data sees none: read the queues here, or the next watch() would fire at once again.
  for (std::size_t i = 0; i < sockets_.size() && !ec; ++i) {
    if (sockets_[i].fd >= 0) drain_errors(static_cast<SocketId>(i));
  }
  handlers_.on_readable();  // also on an error: the owner polls, and watches again
}

bool UdpTransport::drain(SocketId id) {
  Batch& b = *batch_;
  for (int round = 0; round < kMaxDatagramsPerPoll / kBatch; ++round) {
    const int n = recvmmsg(sockets_[id].fd, b.msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      // With IP_RECVERR a queued ICMP error makes the call fail once (ECONNREFUSED...) when
      // no data is waiting; EAGAIN means none is pending (a send that took the error read
      // its report itself: send(), flush()), so the error queue needs no look.
      if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
      if (errno != EINTR) drain_errors(id);
      if (sockets_[id].fd < 0) return false;
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
      if (sockets_[id].fd < 0) {  // a handler closed the transport
        for (int j = i + 1; j < n; ++j) b.reset(j);
        return false;
      }
    }
    if (n < kBatch) return false;
  }
  return true;
}

void UdpTransport::drain_errors(SocketId id) {
  for (int i = 0; i < kMaxDatagramsPerPoll && sockets_[id].fd >= 0; ++i) {
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
    const ssize_t n = recvmsg(sockets_[id].fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
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
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (socket >= sockets_.size() || sockets_[socket].fd < 0) return EBADF;
    const ssize_t n =
        ::sendto(sockets_[socket].fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
                 to.data(), static_cast<socklen_t>(to.size()));
    if (n >= 0) return 0;
    const int err = errno;
    // An ICMP error about an earlier datagram may be reported here instead of on receive:
    // hand it to its own probe and try once more.
    if (is_unreachable(err)) {
      drain_errors(socket);
      continue;
    }
    return err;
  }
  return ECONNREFUSED;
}

bool UdpTransport::queue(SocketId socket, const UdpEndpoint& to, std::string_view data) {
  SendBatch& b = *sends_;
  if (b.flushing || b.count == kSendBatch || data.size() > kSendSlotBytes) return false;
  if (b.count > 0 && b.socket != socket) return false;
  b.socket = socket;
  std::memcpy(b.iov[b.count].iov_base, data.data(), data.size());
  b.iov[b.count].iov_len = data.size();
  b.to[b.count] = to;
  b.msgs[b.count].msg_hdr.msg_namelen = static_cast<socklen_t>(to.size());
  ++b.count;
  return true;
}

bool UdpTransport::batch_full() const { return sends_->count == kSendBatch; }

void UdpTransport::flush(std::vector<int>& errors) {
  SendBatch& b = *sends_;
  errors.assign(static_cast<std::size_t>(b.count), 0);
  b.flushing = true;  // an error handler below may start probes: they send on their own
  int done = 0;
  int retried_at = -1;
  while (done < b.count) {
    const int fd = b.socket < sockets_.size() ? sockets_[b.socket].fd : -1;
    if (fd < 0) {
      std::fill(errors.begin() + done, errors.end(), EBADF);
      break;
    }
    const int n = sendmmsg(fd, &b.msgs[done], static_cast<unsigned>(b.count - done),
                           MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      done += n;
      // Fewer than asked: the next one failed and the kernel dropped its error. If that was
      // an ICMP error about an earlier datagram, its report waits in the error queue.
      if (done < b.count) drain_errors(b.socket);
      continue;
    }
    const int err = errno;
    if (err == EINTR) continue;
    // As in send(): an ICMP error about an earlier datagram, reported here; its report goes
    // to its own probe, and this datagram is tried once more.
    if (is_unreachable(err)) {
      drain_errors(b.socket);
      if (retried_at != done) {
        retried_at = done;
        continue;
      }
    }
    errors[static_cast<std::size_t>(done++)] = err;  // that one failed; the rest still go
  }
  b.count = 0;
  b.flushing = false;
}

std::optional<UdpEndpoint> UdpTransport::local_endpoint_for(SocketId socket,
                                                            const UdpEndpoint& remote,
                                                            std::error_code& ec) {
  if (socket >= sockets_.size() || sockets_[socket].fd < 0) {
    ec = std::make_error_code(std::errc::bad_file_descriptor);
    return std::nullopt;
  }
  const Socket& s = sockets_[socket];
  UdpEndpoint bound;
  auto bound_size = static_cast<socklen_t>(bound.capacity());
  if (getsockname(s.fd, bound.data(), &bound_size) != 0) {
    ec = errno_code(errno);
    return std::nullopt;
  }
  bound.resize(bound_size);
  if (s.fixed_source && !s.bound_to.address().is_unspecified()) return bound;
  boost::system::error_code bec;
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
  local.port(bound.port());
  return local;
}

}  // namespace stx
