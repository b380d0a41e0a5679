#include "stream_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace stx::it {
namespace {

constexpr std::size_t kHugeHeaderBytes = 1024 * 1024;

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error("stream peer: " + what + ": " + std::strerror(errno));
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool name_is(std::string_view line, std::string_view name) {
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view n = line.substr(0, colon);
  while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
  if (n.size() != name.size()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (lower(n[i]) != name[i]) return false;
  }
  return true;
}

// The request's Via, From, To, Call-ID and CSeq lines (full or compact names), verbatim.
std::string echoed_headers(std::string_view request) {
  std::string out;
  std::size_t pos = request.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < request.size()) {
    pos += 2;
    const std::size_t end = request.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) break;
    const std::string_view line = request.substr(pos, end - pos);
    for (std::string_view name : {"via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"}) {
      if (name_is(line, name)) {
        out += line;
        out += "\r\n";
        break;
      }
    }
    pos = end;
  }
  return out;
}

std::string response(std::string_view status, const std::string& echoed,
                     std::string_view extra = {}, std::size_t content_length = 0,
                     std::string_view body = {}) {
  std::string r = "SIP/2.0 " + std::string(status) + "\r\n" + echoed;
  r += "Server: stx-stream-peer\r\n";
  r += extra;
  r += "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
  r += body;
  return r;
}

}  // namespace

StreamPeer::StreamPeer(StreamScript script, std::chrono::milliseconds pause)
    : script_(script), pause_(pause) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw_errno("socket");
  const int on = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(listen_fd_, 8) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    const int e = errno;
    ::close(listen_fd_);
    errno = e;
    throw_errno("listen on 127.0.0.1");
  }
  port_ = ntohs(sa.sin_port);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    ::close(listen_fd_);
    throw_errno("eventfd");
  }
  thread_ = std::thread([this] { run(); });
}

StreamPeer::~StreamPeer() {
  stop_.store(true);
  wake();
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
}

std::vector<std::string> StreamPeer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void StreamPeer::wake() {
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void StreamPeer::run() {
  while (!stop_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents & POLLIN) {
      std::uint64_t n;
      (void)!::read(wake_fd_, &n, sizeof n);
    }
    if (!(fds[0].revents & POLLIN)) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) continue;
    ++connections_;
    close_requested_.store(false);
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);  // keep our writes apart
    serve(fd);
    ::close(fd);
  }
}

// Waits until `fd` is readable; false when stop or close_connection() came first.
bool StreamPeer::wait_readable(int fd) {
  for (;;) {
    if (stop_.load() || close_requested_.load()) return false;
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return false;
    if (fds[1].revents & POLLIN) {
      std::uint64_t n;
      (void)!::read(wake_fd_, &n, sizeof n);
      continue;
    }
    if (fds[0].revents) return true;
  }
}

bool StreamPeer::send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    if (stop_.load() || close_requested_.load()) return false;
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;  // the client went away
    pollfd fds[2] = {{fd, POLLOUT, 0}, {wake_fd_, POLLIN, 0}};
    ::poll(fds, 2, -1);
  }
  return true;
}

void StreamPeer::serve(int fd) {
  std::string buf;
  for (;;) {
    std::size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!wait_readable(fd)) return;
      char chunk[4096];
      const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n == 0) return;
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return;
      }
      buf.append(chunk, static_cast<std::size_t>(n));
      bytes_received_ += static_cast<int>(n);
    }
    const std::string request = buf.substr(0, end + 4);
    buf.erase(0, end + 4);  // requests carry no body (Content-Length: 0)
    {
      std::lock_guard lock(mu_);
      requests_.push_back(request);
    }
    if (!reply(fd, request)) return;
  }
}

// Answers one request per the script; false closes the connection.
bool StreamPeer::reply(int fd, const std::string& request) {
  const std::string echo = echoed_headers(request);
  switch (script_) {
    case StreamScript::ok: {
      const bool sent = send_all(fd, response("200 OK", echo));
      ++replies_;
      return sent;
    }
    case StreamScript::two_in_one_write: {
      const bool sent = send_all(fd, response("100 Trying", echo) + response("200 OK", echo));
      ++replies_;
      return sent;
    }
    case StreamScript::split_in_two_writes: {
      const std::string r = response("200 OK", echo);
      const std::size_t cut = r.find("Server:") + 3;  // inside a header name
      if (!send_all(fd, std::string_view(r).substr(0, cut))) return false;
      pollfd wake{wake_fd_, POLLIN, 0};  // the pause between the writes; stop ends it
      ::poll(&wake, 1, static_cast<int>(pause_.count()));
      const bool sent = send_all(fd, std::string_view(r).substr(cut));
      ++replies_;
      return sent;
    }
    case StreamScript::close_mid_response: {
      const std::string r = response("200 OK", echo);
      send_all(fd, std::string_view(r).substr(0, r.size() / 2));
      ++replies_;
      return false;
    }
    case StreamScript::huge_header_line: {
      const std::string huge = "X-Huge: " + std::string(kHugeHeaderBytes, 'h') + "\r\n";
      send_all(fd, response("200 OK", echo, huge));  // fails once the client gives up
      ++replies_;
      return false;
    }
    case StreamScript::short_body: {
      send_all(fd, response("200 OK", echo, {}, 100, std::string(10, 'b')));
      ++replies_;
      // Silence: keep the connection until told to close it or the client closes it.
      while (wait_readable(fd)) {
        char chunk[4096];
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
      }
      return false;
    }
  }
  return false;
}

}  // namespace stx::it
