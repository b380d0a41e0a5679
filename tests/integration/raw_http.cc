#include "raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>

namespace stx::it {

namespace fs = std::filesystem;

Conn::Conn(std::uint16_t port, std::string_view source) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto fail = [&](const std::string& what) {
    const std::string why = std::strerror(errno);
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error(what + ": " + why);
  };
  if (fd_ < 0) fail("socket");
  if (!source.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (::inet_pton(AF_INET, std::string(source).c_str(), &from.sin_addr) != 1 ||
        ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      fail("bind to " + std::string(source));
    }
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    fail("connect to 127.0.0.1:" + std::to_string(port));
  }
}

Conn::~Conn() { ::close(fd_); }

bool Conn::send(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string Conn::read_until_closed(Clock::time_point deadline, bool* closed) {
  std::string out;
  char chunk[16384];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    if (r == 0) {
      if (closed != nullptr) *closed = false;
      return out;
    }
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      if (closed != nullptr) *closed = true;
      return out;
    }
    out.append(chunk, static_cast<std::size_t>(n));
  }
}

std::string Conn::read_at_least(std::size_t bytes, Clock::time_point deadline) {
  std::string out;
  char chunk[16384];
  while (out.size() < bytes) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count()))) <= 0) break;
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
  }
  return out;
}

TlsConn::TlsConn(std::uint16_t port) : conn_(port) {
  // OpenSSL writes with write(2): a server that hangs up mid-request must not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
  ctx_ = SSL_CTX_new(TLS_client_method());
  ssl_ = ctx_ == nullptr ? nullptr : SSL_new(ctx_);
  if (ssl_ == nullptr || SSL_set_fd(ssl_, conn_.fd()) != 1 || SSL_connect(ssl_) != 1) {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    throw std::runtime_error("TLS handshake with 127.0.0.1:" + std::to_string(port) + " failed");
  }
}

TlsConn::~TlsConn() {
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
}

bool TlsConn::send(std::string_view data) {
  while (!data.empty()) {
    const int n =
        SSL_write(ssl_, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), 1 << 20)));
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string TlsConn::read_until_closed(Clock::time_point deadline) {
  std::string out;
  char chunk[16384];
  while (Clock::now() < deadline) {
    if (SSL_pending(ssl_) == 0) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      pollfd p{conn_.fd(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count()))) <= 0) break;
    }
    const int n = SSL_read(ssl_, chunk, sizeof chunk);
    if (n <= 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
  }
  return out;
}

int status_of(std::string_view raw) {
  if (raw.rfind("HTTP/1.", 0) != 0 || raw.size() < 12) return 0;
  int code = 0;
  std::from_chars(raw.data() + 9, raw.data() + 12, code);
  return code;
}

std::optional<Dechunked> dechunk(std::string_view raw) {
  Dechunked out;
  for (;;) {
    const auto eol = raw.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    std::size_t size = 0;
    const auto r = std::from_chars(raw.data(), raw.data() + eol, size, 16);
    if (r.ec != std::errc() || r.ptr != raw.data() + eol) return std::nullopt;
    raw.remove_prefix(eol + 2);
    if (size == 0) {
      if (raw.substr(0, 2) != "\r\n") return std::nullopt;  // no trailers
      return out;
    }
    if (raw.size() < size + 2 || raw.substr(size, 2) != "\r\n") return std::nullopt;
    out.body.append(raw.substr(0, size));
    ++out.chunks;
    raw.remove_prefix(size + 2);
  }
}

std::string body_of(const std::string& raw) {
  const auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return {};
  std::string body = raw.substr(end + 4);
  if (header_of(raw, "Transfer-Encoding") == "chunked") {
    if (auto data = dechunk(body)) return std::move(data->body);
  }
  return body;
}

std::string header_of(std::string_view raw, std::string_view name) {
  const std::string_view head = raw.substr(0, raw.find("\r\n\r\n"));
  std::size_t at = head.find("\r\n");
  while (at != std::string_view::npos) {
    const std::size_t start = at + 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line =
        head.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const std::size_t colon = line.find(':');
    if (colon == name.size() &&
        std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return std::string(v);
    }
    at = end;
  }
  return {};
}

std::string http_raw(std::uint16_t port, std::string_view request, Clock::duration timeout) {
  Conn c(port);
  c.send(request);
  return c.read_until_closed(Clock::now() + timeout);
}

std::string post_reload(std::uint16_t port) {
  return http_raw(port,
                  "POST /-/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                  "Content-Length: 0\r\n\r\n");
}

namespace {

std::string raw_get(std::string_view target,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req =
      "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  return req + "\r\n";
}

}  // namespace

FlaggedExporter::FlaggedExporter(const fs::path& dir, const std::string& config,
                                 std::vector<std::string> flags,
                                 std::vector<std::pair<std::string, std::string>> auth_header,
                                 std::vector<std::string> launcher, bool tls)
    : auth_(std::move(auth_header)), tls_(tls) {
  config_path_ = dir / "exporter.toml";
  write_file(config_path_, config);
  retry_start(3, [&] {
    port_ = free_tcp_port();
    std::vector<std::string> argv = launcher;
    for (const std::string& arg :
         {exporter_binary().string(), "--config.file=" + config_path_.string(),
          "--web.listen-address=127.0.0.1:" + std::to_string(port_)}) {
      argv.push_back(arg);
    }
    argv.insert(argv.end(), flags.begin(), flags.end());
    process_ = std::make_unique<Process>("exporter", std::move(argv), dir);
    const bool up = wait_until(10s, [&] {
      if (!process_->running()) return true;
      try {
        return get("/-/healthy", 1s).status == 200;
      } catch (const std::exception&) {
        return false;
      }
    });
    if (!up || !process_->running()) {
      const std::string why = process_->describe();
      process_->stop();
      throw std::runtime_error("exporter did not come up:\n" + why);
    }
  });
}

HttpResponse FlaggedExporter::get(std::string_view target, Clock::duration timeout) {
  if (!tls_) return http_get(port_, target, auth_, timeout);
  TlsConn c(port_);
  c.send(raw_get(target, auth_));
  const std::string raw = c.read_until_closed(Clock::now() + timeout);
  HttpResponse r;
  r.status = status_of(raw);
  r.body = body_of(raw);
  if (r.status == 0) throw std::runtime_error("no HTTPS answer for " + std::string(target));
  return r;
}

Exposition FlaggedExporter::scrape() {
  const HttpResponse r = get("/metrics");
  if (r.status != 200) throw std::runtime_error("GET /metrics: " + std::to_string(r.status));
  return Exposition::parse(r.body);
}

std::size_t FlaggedExporter::rss_bytes() const {
  std::ifstream status("/proc/" + std::to_string(process_->pid()) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  throw std::runtime_error("no VmRSS for pid " + std::to_string(process_->pid()));
}

}  // namespace stx::it
