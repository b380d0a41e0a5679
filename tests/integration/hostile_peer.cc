#include "hostile_peer.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <random>
#include <stdexcept>

namespace stx::it {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxDatagram = 65536;

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error("hostile peer: " + what + ": " + std::strerror(errno));
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// Whether header `line` is named `full` or `compact` (case-insensitive).
bool named(std::string_view line, std::string_view full, std::string_view compact) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view n = line.substr(0, colon);
  while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
  for (std::string_view want : {full, compact}) {
    if (n.size() != want.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < n.size() && same; ++i) same = lower(n[i]) == want[i];
    if (same) return true;
  }
  return false;
}

std::string_view value_of(std::string_view line) {
  std::string_view v = line.substr(line.find(':') + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  return v;
}

char changed(char c) { return c == '0' ? '1' : '0'; }

sockaddr_in loopback(const char* ip, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, ip, &sa.sin_addr);
  return sa;
}

int bound_socket(int type, const char* ip, std::uint16_t port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw_errno("socket");
  sockaddr_in sa = loopback(ip, port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    ::close(fd);
    errno = e;
    throw_errno(std::string("bind ") + ip + ":" + std::to_string(port));
  }
  return fd;
}

std::uint16_t port_of(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) throw_errno("getsockname");
  return ntohs(sa.sin_port);
}

}  // namespace

struct HostileRequest {
  std::string via, from, to, call_id, cseq;  // whole header lines
  std::string branch;
};

struct HostilePeer::Conn {
  int fd = -1;
  std::uint64_t id = 0;
  std::string in;
  std::string out;
  bool close_when_flushed = false;
  bool trickling = false;
  std::string trickle_head;  // sent first, then filler forever
  std::size_t trickle_pos = 0;
};

struct HostilePeer::Timed {
  Clock::time_point due;
  std::string bytes;
  std::string tag;  // counted when sent; empty for trickles
  int fd = -1;      // UDP: the socket to send from
  sockaddr_in to{};
  std::uint64_t conn = 0;  // TCP: the connection; 0 for UDP
  bool trickle = false;
  bool close = false;  // TCP: close once what is queued is written
};

Reply fault_reply(Fault f, std::string tag) {
  Reply r;
  r.fault = f;
  r.tag = std::move(tag);
  return r;
}

Reply raw_reply(std::string tag, std::string bytes) {
  Reply r;
  r.tag = std::move(tag);
  r.raw = std::move(bytes);
  return r;
}

namespace {

// The echoed header lines with `fault` applied.
std::string echoed(const HostileRequest& r, Fault fault) {
  std::string via = r.via;
  if (fault == Fault::wrong_branch) {
    const auto at = via.find(r.branch);
    via[at + r.branch.size() - 1] = changed(via[at + r.branch.size() - 1]);
  }
  std::string call_id = r.call_id;
  if (fault == Fault::wrong_call_id) call_id.back() = changed(call_id.back());
  std::string cseq = r.cseq;
  if (fault == Fault::wrong_cseq) {
    const std::string_view v = value_of(cseq);
    const std::size_t digits = v.find_first_not_of("0123456789");
    const unsigned long n = std::stoul(std::string(v.substr(0, digits)));
    cseq = "CSeq: " + std::to_string(n + 1) + std::string(v.substr(digits));
  }
  std::string to = r.to;
  if (to.find(";tag=") == std::string::npos) to += ";tag=hostile";
  return via + "\r\n" + r.from + "\r\n" + to + "\r\n" + call_id + "\r\n" + cseq + "\r\n";
}

// Header lines "X-Pad-N: ppp" totalling exactly `n` bytes (n >= 16).
std::string padding(std::size_t n) {
  std::string out;
  for (int i = 0; n > 0; ++i) {
    std::string name = "X-Pad-" + std::to_string(i) + ": ";
    std::size_t len = std::min<std::size_t>(n, 500);
    if (n - len < 32) len = n;  // no tail too short for a header of its own
    out += name + std::string(len - name.size() - 2, 'p') + "\r\n";
    n -= len;
  }
  return out;
}

std::string build(const HostileRequest& req, const Reply& r) {
  if (r.raw) return *r.raw;
  std::string head = "SIP/2.0 " + std::to_string(r.code) + " " + r.reason + "\r\n" +
                     echoed(req, r.fault) + "Server: stx-hostile-peer\r\n" + r.headers;
  const std::string tail =
      "Content-Length: " + std::to_string(r.content_length.value_or(r.body.size())) + "\r\n\r\n" +
      r.body;
  const std::size_t size = head.size() + tail.size();
  if (r.pad_to > size + 32) head += padding(r.pad_to - size);
  std::string m = head + tail;
  if (r.cut_to > 0 && r.cut_to < m.size()) m.resize(r.cut_to);
  return m;
}

std::optional<HostileRequest> parse_request(std::string_view text) {
  HostileRequest r;
  std::size_t pos = text.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < text.size()) {
    pos += 2;
    const std::size_t end = text.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    const std::string_view line = text.substr(pos, end - pos);
    if (r.via.empty() && named(line, "via", "v")) r.via = line;
    if (named(line, "from", "f")) r.from = line;
    if (named(line, "to", "t")) r.to = line;
    if (named(line, "call-id", "i")) r.call_id = line;
    if (named(line, "cseq", "cseq")) r.cseq = line;
    pos = end;
  }
  const auto b = r.via.find("branch=");
  if (b == std::string::npos || r.from.empty() || r.to.empty() || r.call_id.empty() ||
      r.cseq.empty()) {
    return std::nullopt;
  }
  r.branch = r.via.substr(b + 7, r.via.find_first_of(";, \t", b + 7) - (b + 7));
  return r;
}

}  // namespace

HostilePeer::HostilePeer(HostileOptions options) : options_(std::move(options)) {
  if (options_.script.empty()) throw std::runtime_error("hostile peer: empty script");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw_errno("eventfd");
  // UDP and TCP on the same port number: retry when the TCP port is taken.
  for (int attempt = 0;; ++attempt) {
    udp_fd_ = bound_socket(SOCK_DGRAM, "127.0.0.1", 0);
    port_ = port_of(udp_fd_);
    if (!options_.tcp) break;
    try {
      listen_fd_ = bound_socket(SOCK_STREAM, "127.0.0.1", port_);
      if (::listen(listen_fd_, 8) != 0) throw_errno("listen");
      break;
    } catch (const std::exception&) {
      ::close(udp_fd_);
      if (listen_fd_ >= 0) ::close(listen_fd_);
      listen_fd_ = -1;
      if (attempt == 5) throw;
    }
  }
  const int big = 1 << 20;  // room for 64 KiB datagrams and bursts of copies
  ::setsockopt(udp_fd_, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  other_port_fd_ = bound_socket(SOCK_DGRAM, "127.0.0.1", 0);
  other_address_fd_ = bound_socket(SOCK_DGRAM, "127.0.0.2", 0);
  thread_ = std::thread([this] { run(); });
}

HostilePeer::~HostilePeer() {
  stop_.store(true);
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  thread_.join();
  if (flood_thread_.joinable()) flood_thread_.join();
  for (auto& c : conns_) ::close(c->fd);
  for (int fd : {udp_fd_, other_port_fd_, other_address_fd_, listen_fd_, wake_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

std::string HostilePeer::uri() const {
  return "sip:127.0.0.1:" + std::to_string(port_) + (options_.tcp ? ";transport=tcp" : "");
}

int HostilePeer::requests() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(transmissions_.size());
}

std::vector<int> HostilePeer::transmissions() const {
  std::lock_guard lock(mu_);
  return transmissions_;
}

int HostilePeer::sent(std::string_view tag) const {
  std::lock_guard lock(mu_);
  const auto it = sent_.find(tag);
  return it == sent_.end() ? 0 : it->second;
}

int HostilePeer::connections() const {
  std::lock_guard lock(mu_);
  return connections_;
}

int HostilePeer::closed_by_client() const {
  std::lock_guard lock(mu_);
  return closed_by_client_;
}

std::uint64_t HostilePeer::trickled() const {
  std::lock_guard lock(mu_);
  return trickled_;
}

std::uint16_t HostilePeer::first_source_port() const {
  std::lock_guard lock(mu_);
  return first_source_port_;
}

void HostilePeer::count(const std::string& tag, int n) {
  std::lock_guard lock(mu_);
  sent_[tag] += n;
}

void HostilePeer::run() {
  std::vector<pollfd> fds;
  while (!stop_.load()) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({udp_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});  // -1 is ignored by poll
    for (const auto& c : conns_) {
      fds.push_back({c->fd, static_cast<short>(POLLIN | (c->out.empty() ? 0 : POLLOUT)), 0});
    }
    int wait_ms = -1;
    if (!timed_.empty()) {
      const auto next =
          std::min_element(timed_.begin(), timed_.end(),
                           [](const Timed& a, const Timed& b) { return a.due < b.due; });
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(next->due - Clock::now());
      wait_ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
    }
    if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) return;
    if (fds[0].revents & POLLIN) {
      std::uint64_t n;
      (void)!::read(wake_fd_, &n, sizeof n);
    }
    if (fds[1].revents & POLLIN) on_udp(udp_fd_);
    if (fds[2].revents & POLLIN) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        const int on = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // trickles stay small
        auto c = std::make_unique<Conn>();
        c->fd = fd;
        c->id = next_conn_id_++;
        conns_.push_back(std::move(c));
        std::lock_guard lock(mu_);
        ++connections_;
      }
    }
    // Connections accepted above have no entry in `fds` yet; they are polled next round.
    for (std::size_t i = 3; i < fds.size(); ++i) {
      Conn& c = *conns_[i - 3];
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) on_tcp_readable(c);
      if (c.fd >= 0 && (fds[i].revents & POLLOUT)) flush(c);
    }
    const auto now = Clock::now();
    std::vector<Timed> due;
    for (auto it = timed_.begin(); it != timed_.end();) {
      if (it->due <= now) {
        due.push_back(std::move(*it));
        it = timed_.erase(it);
      } else {
        ++it;
      }
    }
    for (const Timed& t : due) fire(t);
    std::erase_if(conns_, [](const std::unique_ptr<Conn>& c) { return c->fd < 0; });
  }
}

void HostilePeer::on_udp(int fd) {
  std::vector<char> buf(kMaxDatagram);
  for (int i = 0; i < 64; ++i) {
    sockaddr_in from{};
    socklen_t len = sizeof from;
    const ssize_t n =
        ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) return;
    {
      std::lock_guard lock(mu_);
      if (first_source_port_ == 0) first_source_port_ = ntohs(from.sin_port);
    }
    if (const auto r = parse_request(std::string_view(buf.data(), static_cast<std::size_t>(n)))) {
      handle(*r, &from, nullptr);
    }
  }
}

void HostilePeer::on_tcp_readable(Conn& c) {
  char chunk[16384];
  const ssize_t n = ::recv(c.fd, chunk, sizeof chunk, 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {  // the client closed or reset the connection
    ::close(c.fd);
    c.fd = -1;
    std::lock_guard lock(mu_);
    ++closed_by_client_;
    return;
  }
  c.in.append(chunk, static_cast<std::size_t>(n));
  for (;;) {
    while (c.in.starts_with("\r\n")) c.in.erase(0, 2);  // keepalive pings
    const std::size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return;
    const std::string request = c.in.substr(0, end + 4);
    c.in.erase(0, end + 4);  // the exporter's OPTIONS carry no body
    if (const auto r = parse_request(request)) handle(*r, nullptr, &c);
    if (c.fd < 0) return;
  }
}

void HostilePeer::flush(Conn& c) {
  while (!c.out.empty()) {
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.erase(0, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    ::close(c.fd);  // EPIPE, ECONNRESET: the client is gone
    c.fd = -1;
    std::lock_guard lock(mu_);
    ++closed_by_client_;
    return;
  }
  if (c.close_when_flushed) {
    ::close(c.fd);
    c.fd = -1;
  }
}

void HostilePeer::handle(const HostileRequest& r, const sockaddr_in* udp_from, Conn* conn) {
  int index;
  bool again;
  {
    std::lock_guard lock(mu_);
    const auto [it, fresh] = branches_.emplace(r.branch, static_cast<int>(transmissions_.size()));
    if (fresh) transmissions_.push_back(0);
    index = it->second;
    again = transmissions_[static_cast<std::size_t>(index)]++ > 0;
  }
  const Step& step = options_.script[std::min<std::size_t>(static_cast<std::size_t>(index),
                                                           options_.script.size() - 1)];
  if (again && !step.answer_retransmissions) return;
  const auto now = Clock::now();
  for (const Reply& reply : step.replies) {
    Timed t;
    t.due = now + reply.delay;
    t.bytes = build(r, reply);
    t.tag = reply.tag;
    if (conn != nullptr) {
      t.conn = conn->id;
    } else {
      t.to = *udp_from;
      t.fd = reply.from == ReplyFrom::other_port      ? other_port_fd_
             : reply.from == ReplyFrom::other_address ? other_address_fd_
                                                      : udp_fd_;
    }
    for (int i = 0; i < reply.copies; ++i) schedule(t);
  }
  if (conn == nullptr) return;
  if (step.after == Step::After::close) {
    Timed t;  // after the replies: a delayed reply would be lost
    t.due = now + (step.replies.empty() ? std::chrono::milliseconds(0)
                                        : std::max_element(step.replies.begin(), step.replies.end(),
                                                           [](const Reply& a, const Reply& b) {
                                                             return a.delay < b.delay;
                                                           })
                                              ->delay);
    t.conn = conn->id;
    t.close = true;
    schedule(t);
  } else if (step.after == Step::After::trickle && !conn->trickling) {
    conn->trickling = true;
    Reply head;
    head.content_length = 0;
    conn->trickle_head = build(r, head);
    conn->trickle_head.resize(conn->trickle_head.find("Content-Length"));
    conn->trickle_head += "X-Slow: ";
    Timed t;
    t.due = now;
    t.conn = conn->id;
    t.trickle = true;
    schedule(t);
  }
}

void HostilePeer::schedule(Timed t) {
  if (t.due <= Clock::now()) {
    fire(t);
    return;
  }
  timed_.push_back(std::move(t));
}

void HostilePeer::fire(const Timed& t) {
  if (t.conn == 0) {
    const ssize_t n = ::sendto(t.fd, t.bytes.data(), t.bytes.size(), MSG_DONTWAIT,
                               reinterpret_cast<const sockaddr*>(&t.to), sizeof t.to);
    if (n == static_cast<ssize_t>(t.bytes.size())) count(t.tag, 1);
    return;
  }
  const auto it = std::find_if(conns_.begin(), conns_.end(),
                               [&](const auto& c) { return c->id == t.conn && c->fd >= 0; });
  if (it == conns_.end()) return;  // the connection is gone
  Conn& c = **it;
  if (t.trickle) {
    // The head, then one endless header value: never an empty line.
    std::string chunk;
    for (std::size_t i = 0; i < options_.trickle_bytes; ++i, ++c.trickle_pos) {
      chunk += c.trickle_pos < c.trickle_head.size() ? c.trickle_head[c.trickle_pos] : 's';
    }
    c.out += chunk;
    {
      std::lock_guard lock(mu_);
      trickled_ += chunk.size();
    }
    Timed next = t;
    next.due = Clock::now() + options_.trickle_every;
    timed_.push_back(std::move(next));
  } else if (t.close) {
    c.close_when_flushed = true;
  } else {
    c.out += t.bytes;
    count(t.tag, 1);
  }
  flush(c);
}

void HostilePeer::start_flood(std::uint16_t port, std::chrono::milliseconds limit,
                              std::uint64_t max_datagrams) {
  if (flood_thread_.joinable()) throw std::runtime_error("hostile peer: a flood is running");
  flood_thread_ = std::thread([this, port, limit, max_datagrams] {
    flood(loopback("127.0.0.1", port), limit, max_datagrams);
  });
}

FloodResult HostilePeer::wait_flood() {
  if (flood_thread_.joinable()) flood_thread_.join();
  return flood_result_;
}

void HostilePeer::flood(sockaddr_in to, std::chrono::milliseconds limit,
                        std::uint64_t max_datagrams) {
  const int fd = bound_socket(SOCK_DGRAM, "127.0.0.1", 0);
  const std::string branch_key = "branch=z9hG4bK";
  std::string m =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 127.0.0.1:5060;" +
      branch_key + std::string(24, '0') +
      ";rport\r\n"
      "From: <sip:flood@127.0.0.1>;tag=flood\r\n"
      "To: <sip:exporter@127.0.0.1>;tag=flood\r\n"
      "Call-ID: " +
      std::string(32, '0') +
      "\r\n"
      "CSeq: 1 OPTIONS\r\n"
      "Server: stx-hostile-flood\r\n"
      "Content-Length: 0\r\n\r\n";
  const std::size_t branch_at = m.find(branch_key) + branch_key.size();
  const std::size_t call_id_at = m.find("Call-ID: ") + 9;
  std::mt19937_64 rng(0x5eed);
  static constexpr char kHex[] = "0123456789abcdef";
  const auto start = Clock::now();
  const auto end = start + limit;
  std::uint64_t sent = 0;
  for (std::uint64_t i = 0; sent < max_datagrams && !stop_.load(); ++i) {
    if ((i & 1023) == 0 && Clock::now() >= end) break;
    std::uint64_t a = rng(), b = rng();
    for (int i = 0; i < 16; ++i, a >>= 4) m[branch_at + 8 + i] = kHex[a & 15];
    for (int i = 0; i < 8; ++i, b >>= 4) m[branch_at + i] = kHex[b & 15];
    for (int i = 0; i < 16; ++i, b = b * 6364136223846793005ULL + 1) {
      m[call_id_at + i] = kHex[(b >> 60) & 15];
    }
    if (::sendto(fd, m.data(), m.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
        static_cast<ssize_t>(m.size())) {
      ++sent;
    } else if (errno == EAGAIN || errno == ENOBUFS) {
      std::this_thread::yield();  // the send buffer is full: let the receiver run
    }
  }
  flood_result_.sent = sent;
  flood_result_.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  ::close(fd);
}

}  // namespace stx::it
