#pragma once
// HTTP without the harness' politeness: raw requests over plain or TLS sockets, and an
// exporter started with any flags, for the tests that play a hostile web client.
#include <openssl/ssl.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness.h"

namespace stx::it {

// A connected, blocking TCP socket to 127.0.0.1:port (from `source`, another loopback address,
// when given), closed on destruction.
class Conn {
 public:
  explicit Conn(std::uint16_t port, std::string_view source = "");
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // False when the peer has closed or reset the connection.
  bool send(std::string_view data);
  // Everything until the server closes (or `deadline`); `closed` tells which.
  std::string read_until_closed(Clock::time_point deadline, bool* closed = nullptr);
  // What has arrived by `deadline` once at least `bytes` are in or the server closed.
  std::string read_at_least(std::size_t bytes, Clock::time_point deadline);
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// A TLS client connection (no certificate verification: the tests trust their own server).
class TlsConn {
 public:
  explicit TlsConn(std::uint16_t port);
  ~TlsConn();
  TlsConn(const TlsConn&) = delete;
  TlsConn& operator=(const TlsConn&) = delete;

  bool send(std::string_view data);
  std::string read_until_closed(Clock::time_point deadline);

 private:
  Conn conn_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

// The data of a chunked body (RFC 9112 7.1, no extensions or trailers) and how many chunks
// carried it; nullopt when the framing is broken or the last chunk has not arrived.
struct Dechunked {
  std::string body;
  int chunks = 0;
};
std::optional<Dechunked> dechunk(std::string_view raw);

// The status code of a raw HTTP/1.x answer, 0 when it is none.
int status_of(std::string_view raw);
// The body of a raw answer: the bytes after the header, or their data when the body is
// chunked (what /metrics sends to HTTP/1.1 clients).
std::string body_of(const std::string& raw);
// The value of header `name` (case-insensitive) in a raw answer, empty when absent.
std::string header_of(std::string_view raw, std::string_view name);

// One request written as is; the raw answer.
std::string http_raw(std::uint16_t port, std::string_view request, Clock::duration timeout = 5s);
std::string post_reload(std::uint16_t port);

// An exporter with any flags and environment (the harness' Exporter takes neither).
class FlaggedExporter {
 public:
  // `launcher`: words before the binary (e.g. a shell that lowers a limit, then execs it).
  FlaggedExporter(const std::filesystem::path& dir, const std::string& config,
                  std::vector<std::string> flags,
                  std::vector<std::pair<std::string, std::string>> auth_header = {},
                  std::vector<std::string> launcher = {}, bool tls = false);
  std::uint16_t port() const { return port_; }
  Process& process() { return *process_; }
  const std::filesystem::path& config_path() const { return config_path_; }
  HttpResponse get(std::string_view target, Clock::duration timeout = 5s);
  Exposition scrape();
  // Resident memory of the exporter, from /proc.
  std::size_t rss_bytes() const;

 private:
  std::vector<std::pair<std::string, std::string>> auth_;
  bool tls_ = false;  // the exporter serves HTTPS (--web.config.file)
  std::filesystem::path config_path_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace stx::it
