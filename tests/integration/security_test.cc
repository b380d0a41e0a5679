// Security properties of the real exporter on loopback: it never answers unsolicited SIP,
// it sends no peer more requests than its schedule allows, control characters in config
// values and /probe parameters never reach the wire, secrets never leave the process, and
// the web endpoint stays up for normal clients under oversized, slow and numerous ones.
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "certs.h"
#include "harness.h"
#include "raw_http.h"

namespace stx::it {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------
// SIP answers

// A response the exporter matches to `request`: its Via, From, To, Call-ID and CSeq.
std::string sip_reply(const std::string& request, int code, std::string_view reason,
                      std::string_view extra_headers = "") {
  std::string r = "SIP/2.0 " + std::to_string(code) + " " + std::string(reason) + "\r\n";
  for (const char* name : {"Via", "From", "To", "Call-ID", "CSeq"}) {
    const auto value = sip_header(request, name);
    if (!value) continue;
    r += std::string(name) + ": " + *value + (std::string_view(name) == "To" ? ";tag=sec" : "") +
         "\r\n";
  }
  r += extra_headers;
  r += "Content-Length: 0\r\n\r\n";
  return r;
}

constexpr std::string_view kRealm = "security.test";
constexpr std::string_view kNonce = "5f2c9a0d17";
const std::string kChallenge = "WWW-Authenticate: Digest realm=\"" + std::string(kRealm) +
                               "\", nonce=\"" + std::string(kNonce) +
                               "\", qop=\"auth\", algorithm=MD5\r\n";

bool has_authorization(const std::string& request) {
  return sip_header(request, "Authorization").has_value() ||
         sip_header(request, "Proxy-Authorization").has_value();
}

// What a peer sends back for one request (nothing, one response, ...).
using Answer = std::function<std::vector<std::string>(const std::string& request)>;

Answer answer_with(int code, std::string_view reason, const std::string& extra = "") {
  return [code, reason, extra](const std::string& req) {
    return std::vector<std::string>{sip_reply(req, code, reason, extra)};
  };
}
Answer answer_nothing() {
  return [](const std::string&) { return std::vector<std::string>{}; };
}
// 401 to every request, answered challenges included.
Answer challenge_always() { return answer_with(401, "Unauthorized", kChallenge); }
// 401, then `after` for the request that carries credentials.
Answer challenge_then(const Answer& after) {
  return [after](const std::string& req) {
    if (has_authorization(req)) return after(req);
    return std::vector<std::string>{sip_reply(req, 401, "Unauthorized", kChallenge)};
  };
}

// The header lines of one SIP message, without their CRLF.
std::vector<std::string> header_lines(std::string_view message) {
  std::vector<std::string> out;
  while (!message.empty()) {
    const auto end = message.find("\r\n");
    if (end == 0 || end == std::string_view::npos) break;
    out.emplace_back(message.substr(0, end));
    message.remove_prefix(end + 2);
  }
  return out;
}

// Empty when `message` is a clean SIP request: lines end in CRLF, no other control byte, no
// header line injected; else what is wrong.
std::string wire_problem(std::string_view message) {
  for (std::size_t i = 0; i < message.size(); ++i) {
    const auto c = static_cast<unsigned char>(message[i]);
    const bool crlf = (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ||
                      (c == '\n' && i > 0 && message[i - 1] == '\r');
    if ((c < 0x20 && c != '\t' && !crlf) || c == 0x7f) {
      return "control byte " + std::to_string(c) + " at offset " + std::to_string(i);
    }
  }
  for (const std::string& line : header_lines(message)) {
    if (line.rfind("X-Evil", 0) == 0 || line.rfind("x-evil", 0) == 0) {
      return "injected header line \"" + line + "\"";
    }
  }
  return "";
}

// ---------------------------------------------------------------------------
// Peers that record what they get

// A UDP SIP peer on 127.0.0.1 answering on its own thread.
class UdpPeer {
 public:
  explicit UdpPeer(Answer answer) : answer_(std::move(answer)), thread_([this] { run(); }) {}
  ~UdpPeer() {
    stop_ = true;
    thread_.join();
  }
  UdpPeer(const UdpPeer&) = delete;
  UdpPeer& operator=(const UdpPeer&) = delete;

  std::uint16_t port() const { return socket_.port(); }
  std::string uri() const { return "sip:127.0.0.1:" + std::to_string(port()); }
  std::vector<UdpSocket::Datagram> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  std::string error() const {
    std::lock_guard lock(mu_);
    return error_;
  }
  // Sends `data` from this peer's own address (one the exporter probes) to `port`.
  void send_to(std::uint16_t port, std::string_view data) {
    std::lock_guard lock(send_mu_);
    socket_.send_to(port, data);
  }

 private:
  void run() {
    try {
      while (!stop_) {
        const auto d = socket_.receive(Clock::now() + 50ms);
        if (!d) continue;
        {
          std::lock_guard lock(mu_);
          received_.push_back(*d);
        }
        for (const std::string& reply : answer_(d->data)) send_to(d->from_port, reply);
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mu_);
      error_ = e.what();
    }
  }

  Answer answer_;
  UdpSocket socket_;
  std::mutex send_mu_;
  mutable std::mutex mu_;
  std::vector<UdpSocket::Datagram> received_;
  std::string error_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once the members above exist
};

struct StreamPeerOptions {
  Answer answer = answer_nothing();
  bool reset_at_once = false;  // RST each connection as soon as it is accepted
  SSL_CTX* tls = nullptr;      // TLS server context; plain TCP when null
};

// A TCP or TLS SIP peer on 127.0.0.1: one connection at a time (a newer one replaces it),
// messages split at their empty line (the exporter sends no bodies), answers written back,
// and bytes the test injects written on the current connection.
class SipStreamPeer {
 public:
  explicit SipStreamPeer(StreamPeerOptions options) : options_(std::move(options)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      throw std::runtime_error(std::string("stream peer: cannot listen: ") + std::strerror(errno));
    }
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~SipStreamPeer() {
    stop_ = true;
    thread_.join();
    drop_connection();
    ::close(listen_fd_);
  }
  SipStreamPeer(const SipStreamPeer&) = delete;
  SipStreamPeer& operator=(const SipStreamPeer&) = delete;

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }
  std::vector<std::string> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::string error() const {
    std::lock_guard lock(mu_);
    return error_;
  }
  void inject(std::string data) {
    std::lock_guard lock(mu_);
    outbox_.push_back(std::move(data));
  }

 private:
  void run() {
    try {
      while (!stop_) step();
    } catch (const std::exception& e) {
      std::lock_guard lock(mu_);
      error_ = e.what();
    }
  }

  void step() {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {fd_, POLLIN, 0}};
    const bool pending = ssl_ != nullptr && SSL_pending(ssl_) > 0;
    const int n = ::poll(fds, fd_ >= 0 ? 2 : 1, pending ? 0 : 20);
    if (n < 0 && errno != EINTR) throw std::runtime_error("stream peer: poll failed");
    if (fds[0].revents & POLLIN) accept_one();
    if (fd_ >= 0 && (pending || (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))) read_some();
    flush_outbox();
  }

  void accept_one() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    ++connections_;
    if (options_.reset_at_once) {
      const linger l{1, 0};  // close() then sends RST, not FIN
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      ::close(fd);
      return;
    }
    drop_connection();
    fd_ = fd;
    buffer_.clear();
    const timeval tv{2, 0};  // bounds a blocking TLS handshake, read or write
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (options_.tls != nullptr) {
      ssl_ = SSL_new(options_.tls);
      SSL_set_fd(ssl_, fd_);
      if (SSL_accept(ssl_) != 1) drop_connection();
    }
  }

  void read_some() {
    char chunk[16384];
    const int n = ssl_ != nullptr ? SSL_read(ssl_, chunk, sizeof chunk)
                                  : static_cast<int>(::recv(fd_, chunk, sizeof chunk, 0));
    if (n <= 0) {
      if (ssl_ != nullptr && SSL_get_error(ssl_, n) == SSL_ERROR_WANT_READ) return;
      drop_connection();
      return;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    for (auto end = buffer_.find("\r\n\r\n"); end != std::string::npos;
         end = buffer_.find("\r\n\r\n")) {
      std::string message = buffer_.substr(0, end + 4);
      buffer_.erase(0, end + 4);
      {
        std::lock_guard lock(mu_);
        messages_.push_back(message);
      }
      for (const std::string& reply : options_.answer(message)) write_all(reply);
    }
  }

  void flush_outbox() {
    std::deque<std::string> out;
    {
      std::lock_guard lock(mu_);
      out.swap(outbox_);
    }
    for (const std::string& data : out) write_all(data);
  }

  void write_all(std::string_view data) {
    if (fd_ < 0) return;
    while (!data.empty()) {
      const int n = ssl_ != nullptr
                        ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                        : static_cast<int>(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL));
      if (n <= 0) {
        drop_connection();
        return;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  void drop_connection() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ssl_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  StreamPeerOptions options_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  // The peer's thread only:
  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string buffer_;
  // Shared:
  std::atomic<int> connections_{0};
  mutable std::mutex mu_;
  std::vector<std::string> messages_;
  std::deque<std::string> outbox_;
  std::string error_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A TLS server context with a certificate for 127.0.0.1 from a fresh test CA.
struct TlsServer {
  explicit TlsServer(const fs::path& dir) : ca(dir, "security-ca") {
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    CertRequest req;
    req.common_name = "127.0.0.1";
    req.ips = {"127.0.0.1"};
    req.not_before = now - 3600;
    req.not_after = now + 86400;
    server = ca.issue("security-server", req);
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr || SSL_CTX_use_certificate_chain_file(ctx, server.cert.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, server.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      throw std::runtime_error("cannot load the test server certificate");
    }
  }
  ~TlsServer() { SSL_CTX_free(ctx); }
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  TestCa ca;
  CertKey server;
  SSL_CTX* ctx = nullptr;
};

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string udp_target(const std::string& name, const std::string& uri,
                       const std::string& more = "") {
  return "\n[[target]]\nname = " + toml_string(name) + "\nuri = " + toml_string(uri) + "\n" + more;
}

constexpr std::string_view kFastDefaults =
    "[defaults]\ninterval = \"1s\"\ntimeout = \"800ms\"\nfailures_before_down = 1\n";

class SecurityTest : public ::testing::Test {
 protected:
  TempDir tmp_{"stx-security"};
};

// ---------------------------------------------------------------------------
// 1. No reflection, no amplification

const std::vector<std::pair<std::string, std::string>>& unsolicited_requests() {
  static const std::vector<std::pair<std::string, std::string>> requests = [] {
    std::vector<std::pair<std::string, std::string>> out;
    for (const char* method : {"OPTIONS", "INVITE", "REGISTER"}) {
      out.emplace_back(method, std::string(method) +
                                   " sip:exporter@127.0.0.1 SIP/2.0\r\n"
                                   "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKattack" +
                                   method +
                                   ";rport\r\n"
                                   "Max-Forwards: 70\r\n"
                                   "From: <sip:attacker@127.0.0.1>;tag=a1\r\n"
                                   "To: <sip:exporter@127.0.0.1>\r\n"
                                   "Call-ID: attack-" +
                                   method + "@127.0.0.1\r\nCSeq: 1 " + method +
                                   "\r\nContact: <sip:attacker@127.0.0.1>\r\n"
                                   "Content-Length: 0\r\n\r\n");
    }
    return out;
  }();
  return requests;
}

const std::string kStrayResponse =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKnot-ours\r\n"
    "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>;tag=2\r\n"
    "Call-ID: stray@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

// Every message a peer got after `from` is one of the exporter's own OPTIONS.
void expect_only_probes(const std::vector<std::string>& messages, std::size_t from,
                        const std::string& what) {
  for (std::size_t i = from; i < messages.size(); ++i) {
    EXPECT_THAT(messages[i], ::testing::StartsWith("OPTIONS sip:127.0.0.1:"))
        << what << " got something other than a probe:\n"
        << messages[i];
  }
}

TEST_F(SecurityTest, UnsolicitedSipOnUdpTcpAndTlsIsNeverAnswered) {
  TlsServer tls(tmp_.path());
  UdpPeer udp(answer_with(200, "OK"));
  SipStreamPeer tcp({answer_with(200, "OK"), false, nullptr});
  SipStreamPeer tlsp({answer_with(200, "OK"), false, tls.ctx});
  ExporterConfigSpec spec;
  spec.targets = {
      {"udp", udp.uri(), {}, {}},
      {"tcp", "sip:127.0.0.1:" + std::to_string(tcp.port()) + ";transport=tcp", {}, {}},
      {"tls",
       "sip:127.0.0.1:" + std::to_string(tlsp.port()) + ";transport=tls",
       {},
       {{"tls_ca_file", toml_string(tls.ca.cert().string())}}},
  };
  Exporter exporter(tmp_.path(), spec);
  auto up = exporter.scrape_until(10s, [](const Exposition& e) {
    return e.value("sip_target_up", {{"target", "udp"}}) == 1.0 &&
           e.value("sip_target_up", {{"target", "tcp"}}) == 1.0 &&
           e.value("sip_target_up", {{"target", "tls"}}) == 1.0;
  });
  ASSERT_TRUE(up.ok) << up.last.grep("sip_target_up") << udp.error() << tcp.error() << tlsp.error();
  // The exporter's UDP probe socket: where its OPTIONS come from.
  const auto probes = udp.received();
  ASSERT_FALSE(probes.empty());
  const std::uint16_t probe_port = probes.front().from_port;
  const double invalid_before = up.last.sum("sip_exporter_invalid_messages_total");
  const double unmatched_before = up.last.sum("sip_exporter_unmatched_responses_total");

  // A stranger, and the probed peer itself, send requests, a stray response, an old
  // response of a finished probe, garbage and a 64 KB request to the probe socket.
  UdpSocket stranger;
  const std::string replayed = sip_reply(probes.front().data, 200, "OK");
  std::vector<std::string> datagrams;
  for (const auto& [method, text] : unsolicited_requests()) datagrams.push_back(text);
  datagrams.push_back(kStrayResponse);
  datagrams.push_back(replayed);
  datagrams.emplace_back("\x16\x03\x01 not SIP at all \xff\xfe\r\n\r\n");
  datagrams.push_back("INVITE sip:x SIP/2.0\r\n" + std::string(65000, 'a'));
  const std::size_t udp_seen = udp.received().size();
  for (const std::string& d : datagrams) {
    stranger.send_to(probe_port, d);
    udp.send_to(probe_port, d);
  }
  // Over the probes' TCP and TLS connections: requests and a stray response.
  const std::size_t tcp_seen = tcp.messages().size();
  const std::size_t tls_seen = tlsp.messages().size();
  for (SipStreamPeer* peer : {&tcp, &tlsp}) {
    for (const auto& [method, text] : unsolicited_requests()) peer->inject(text);
    peer->inject(kStrayResponse);
  }

  EXPECT_FALSE(stranger.receive(Clock::now() + 1500ms))
      << "the exporter answered a stranger's unsolicited datagram";
  std::vector<std::string> udp_messages;
  for (const auto& d : udp.received()) udp_messages.push_back(d.data);
  expect_only_probes(udp_messages, udp_seen, "the UDP peer");
  expect_only_probes(tcp.messages(), tcp_seen, "the TCP peer");
  expect_only_probes(tlsp.messages(), tls_seen, "the TLS peer");
  EXPECT_EQ(tcp.connections(), 1) << "the TCP connection was dropped";
  EXPECT_EQ(tlsp.connections(), 1) << "the TLS connection was dropped";

  // Everything is counted: from each of the two senders 4 requests and the garbage, over each
  // stream 3 requests; the stray and the replayed response from both senders, the stray
  // response once per stream.
  auto counted = exporter.scrape_until(5s, [&](const Exposition& e) {
    return e.sum("sip_exporter_invalid_messages_total") >= invalid_before + 16 &&
           e.sum("sip_exporter_unmatched_responses_total") >= unmatched_before + 6;
  });
  EXPECT_TRUE(counted.ok) << counted.last.grep("sip_exporter_");
  EXPECT_GE(
      counted.last.value("sip_exporter_invalid_messages_total", {{"reason", "not_a_response"}})
          .value_or(0),
      14.0)
      << counted.last.grep("sip_exporter_invalid");
  // Nothing of it changed a verdict.
  for (const char* t : {"udp", "tcp", "tls"}) {
    EXPECT_EQ(counted.last.value("sip_target_up", {{"target", t}}), 1.0) << t;
  }
}

// ---------------------------------------------------------------------------
// 2. Rate bound

// Timer E points (0.5, 1.5, 3.5, 7.5 s, then every 4 s) strictly before `timeout`: the
// retransmissions one UDP request can get (probes/engine_udp.cc skips one due at the deadline).
int timer_e_retransmissions(std::chrono::milliseconds timeout) {
  int n = 0;
  std::chrono::milliseconds at{0};
  std::chrono::milliseconds step{500};
  while (true) {
    at += step;
    if (at >= timeout) return n;
    ++n;
    step = std::min<std::chrono::milliseconds>(step * 2, 4000ms);
  }
}

// Requests per Call-ID: one probe cycle of one address, its digest retry included (same
// Call-ID, next CSeq).
std::map<std::string, int> per_call(const std::vector<std::string>& messages) {
  std::map<std::string, int> out;
  for (const std::string& m : messages) ++out[sip_header(m, "Call-ID").value_or("<none>")];
  return out;
}

std::vector<std::string> texts(const std::vector<UdpSocket::Datagram>& datagrams) {
  std::vector<std::string> out;
  out.reserve(datagrams.size());
  for (const auto& d : datagrams) out.push_back(d.data);
  return out;
}

int max_of(const std::map<std::string, int>& m) {
  int out = 0;
  for (const auto& [k, v] : m) out = std::max(out, v);
  return out;
}

TEST_F(SecurityTest, NoPeerGetsMoreRequestsThanTheScheduleAllows) {
  constexpr std::chrono::milliseconds kInterval{1000};
  constexpr std::chrono::milliseconds kTimeout{800};
  // A probe cycle sends one request, its Timer E retransmissions and one digest retry; the
  // retry restarts Timer E, but Timer E's points are superadditive (p(i)+p(j) <= p(i+j)), so
  // the two runs together fit in one run plus one request.
  const int udp_per_cycle = 1 + timer_e_retransmissions(kTimeout) + 1;
  const int stream_per_cycle = 1 + 1;  // TCP and TLS never retransmit
  ASSERT_EQ(udp_per_cycle, 3);

  UdpPeer busy(answer_with(503, "Service Unavailable", "Retry-After: 0\r\n"));
  UdpPeer instant(answer_with(200, "OK"));
  UdpPeer challenger(challenge_always());
  UdpPeer challenge_then_silent(challenge_then(answer_nothing()));
  UdpPeer silent(answer_nothing());
  SipStreamPeer tcp_challenger({challenge_always(), false, nullptr});
  SipStreamPeer resetter({answer_nothing(), true, nullptr});
  const std::uint16_t closed = free_udp_port();

  const std::vector<std::pair<std::string, std::string>> auth = {
      {"auth_user", "\"probe\""}, {"auth_password", "\"not-the-point\""}};
  ExporterConfigSpec spec;
  spec.interval = "1s";
  spec.timeout = "800ms";
  auto tcp_uri = [](std::uint16_t port) {
    return "sip:127.0.0.1:" + std::to_string(port) + ";transport=tcp";
  };
  spec.targets = {
      {"busy", busy.uri(), {}, auth},
      {"instant", instant.uri(), {}, auth},
      {"challenger", challenger.uri(), {}, auth},
      {"challenge_then_silent", challenge_then_silent.uri(), {}, auth},
      {"silent", silent.uri(), {}, auth},
      {"tcp_challenger", tcp_uri(tcp_challenger.port()), {}, auth},
      {"resetter", tcp_uri(resetter.port()), {}, auth},
      {"refused", "sip:127.0.0.1:" + std::to_string(closed), {}, auth},
  };
  const auto started = Clock::now();
  Exporter exporter(tmp_.path(), spec);
  const std::vector<const UdpPeer*> udp_peers = {&busy, &instant, &challenger,
                                                 &challenge_then_silent, &silent};
  const bool observed = wait_until(10s, [&] {
    for (const UdpPeer* p : udp_peers) {
      if (per_call(texts(p->received())).size() < 4) return false;
    }
    return per_call(tcp_challenger.messages()).size() >= 4 && resetter.connections() >= 4 &&
           exporter.probe_logs("refused").size() >= 4;
  });
  exporter.process().stop();
  const auto lifetime = Clock::now() - started;  // an upper bound of the exporter's
  ASSERT_TRUE(observed) << "some peer was not probed four times within 10 s";
  // Fixed-rate cycles with the first one at an offset >= 0: at most this many in a lifetime.
  const int cycles = static_cast<int>(lifetime / kInterval) + 1;
  SCOPED_TRACE("lifetime " + std::to_string(std::chrono::duration<double>(lifetime).count()) +
               " s, at most " + std::to_string(cycles) + " cycles");

  auto check = [&](const std::string& name, const std::vector<std::string>& got, int per_cycle) {
    SCOPED_TRACE(name);
    auto calls = per_call(got);
    EXPECT_LE(static_cast<int>(calls.size()), cycles) << "more probe cycles than the schedule";
    EXPECT_LE(max_of(calls), per_cycle) << "more requests in one cycle than Timer E and one "
                                           "digest retry allow";
    EXPECT_LE(static_cast<int>(got.size()), cycles * per_cycle);
    return calls;
  };
  check("503 with Retry-After: 0", texts(busy.received()), udp_per_cycle);
  check("instant 200", texts(instant.received()), udp_per_cycle);
  const auto challenged = check("401 every time", texts(challenger.received()), udp_per_cycle);
  EXPECT_EQ(max_of(challenged), 2) << "each challenge is answered once, never twice";
  check("401 then silence", texts(challenge_then_silent.received()), udp_per_cycle);
  const auto unanswered = check("silent", texts(silent.received()), udp_per_cycle);
  EXPECT_EQ(max_of(unanswered), 1 + timer_e_retransmissions(kTimeout)) << "Timer E at 0.5 s";
  const auto tcp_calls = check("TCP 401 every time", tcp_challenger.messages(), stream_per_cycle);
  EXPECT_EQ(max_of(tcp_calls), 2);

  // A peer that resets every connection at once: one connection per cycle, no reconnect loop.
  EXPECT_LE(resetter.connections(), cycles);
  EXPECT_LE(static_cast<int>(resetter.messages().size()), resetter.connections());

  // ICMP port unreachable: the exporter's own account, one transmission per cycle.
  const auto refused = exporter.probe_logs("refused");
  EXPECT_LE(static_cast<int>(refused.size()), cycles);
  for (const LogLine& l : refused) {
    EXPECT_EQ(l.at("reason"), "refused");
    EXPECT_EQ(l.at("transmissions"), "1");
  }
}

// ---------------------------------------------------------------------------
// 3. Control characters in config values and /probe parameters

// TOML escapes for what an attacker would put in a value; some would start a header line.
const std::vector<std::string> kTomlControls = {
    "\\r\\nX-Evil: 1", "\\nX-Evil: 1", "\\rX-Evil: 1", "\\u0000X-Evil: 1",
    "\\u0001",         "\\u001b[31m",  "\\u007f",      "\\u0085",
};
// The same as raw bytes, for /probe parameters.
const std::vector<std::string> kRawControls = {
    "\r\nX-Evil: 1", "\nX-Evil: 1", "\rX-Evil: 1", std::string("\0X-Evil: 1", 10),
    "\x01",          "\x1b[31m",    "\x7f",        "\xc2\x85",
};

struct InjectionCase {
  std::string key;  // how the error names the key
  // TOML for [defaults] (after its keys) and for the end of the file, with `c` in the value.
  std::function<std::pair<std::string, std::string>(const std::string& c)> toml;
};

std::vector<InjectionCase> injection_cases(const std::string& peer_uri, std::uint16_t peer_port) {
  auto in_target = [peer_uri](const std::string& line) {
    return [peer_uri, line](const std::string& c) {
      std::string l = line;
      l.replace(l.find("{C}"), 3, c);
      return std::make_pair(std::string(), udp_target("evil", peer_uri, l + "\n"));
    };
  };
  auto in_module = [](const std::string& line) {
    return [line](const std::string& c) {
      std::string l = line;
      l.replace(l.find("{C}"), 3, c);
      return std::make_pair(std::string(), "\n[module.m]\n" + l + "\n");
    };
  };
  return {
      {"\"evil\": uri \"",
       [peer_port](const std::string& c) {
         return std::make_pair(std::string(),
                               "\n[[target]]\nname = \"evil\"\nuri = \"sip:127.0.0.1:" +
                                   std::to_string(peer_port) + c + "\"\n");
       }},
      {"from: ", in_target("from = \"sip:probe{C}@127.0.0.1\"")},
      {"to: ", in_target("to = \"sip:peer{C}@127.0.0.1\"")},
      {"contact: ", in_target("contact = \"sip:probe{C}@127.0.0.1\"")},
      {"ruri_user: ", in_target("ruri_user = \"1000{C}\"")},
      {"user_agent: ", in_target("user_agent = \"probe{C}\"")},
      {"headers.X-Probe: ", in_target("headers = { \"X-Probe\" = \"1{C}\" }")},
      {"headers", in_target("headers = { \"X-Probe{C}\" = \"1\" }")},
      {"auth_user: ", in_target("auth_user = \"u{C}\"\nauth_password = \"p\"")},
      {"[defaults]: user_agent: ",
       [](const std::string& c) {
         return std::make_pair("user_agent = \"probe" + c + "\"\n", std::string());
       }},
      {"[module.m]: from: ", in_module("from = \"sip:probe{C}@127.0.0.1\"")},
      {"[module.m]: headers.X-Probe: ", in_module("headers = { \"X-Probe\" = \"1{C}\" }")},
  };
}

// One line naming the problem: no control character in it but the final newline.
void expect_one_clean_line(const std::string& text, const std::string& what) {
  ASSERT_FALSE(text.empty()) << what;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << what << ": " << text;
  for (const unsigned char c : text.substr(0, text.size() - 1)) {
    EXPECT_FALSE(c < 0x20 || c == 0x7f) << what << ": control byte " << int(c) << " in " << text;
  }
}

TEST_F(SecurityTest, ControlCharactersInConfigAndProbeParametersNeverReachTheWire) {
  UdpPeer peer(answer_with(200, "OK"));
  // A peer that answers with challenges whose echoed values carry line breaks: one folded
  // into the realm, one that ends the header inside the nonce's quotes.
  std::atomic<int> turn{0};
  UdpPeer challenger([&turn](const std::string& req) {
    if (has_authorization(req)) return std::vector<std::string>{sip_reply(req, 200, "OK")};
    const std::string challenge =
        turn++ % 2 == 0
            ? "WWW-Authenticate: Digest realm=\"a\r\n X-Evil: 1\", nonce=\"n\", qop=\"auth\"\r\n"
            : "WWW-Authenticate: Digest realm=\"r\", nonce=\"n\r\nX-Evil: 1\", qop=\"auth\"\r\n";
    return std::vector<std::string>{sip_reply(req, 401, "Unauthorized", challenge)};
  });
  const std::string defaults(kFastDefaults);
  const std::string base_targets =
      udp_target("good", peer.uri()) +
      udp_target("challenged", challenger.uri(), "auth_user = \"u\"\nauth_password = \"p\"\n");
  auto config = [&](const std::pair<std::string, std::string>& parts) {
    return defaults + parts.first + base_targets + parts.second;
  };
  FlaggedExporter exporter(tmp_.path(), config({}), {"--log.level=debug"});

  // A bad value at start: the exporter does not start, and says which key is wrong.
  {
    const fs::path bad = tmp_ / "bad.toml";
    write_file(bad, config(injection_cases(peer.uri(), peer.port())[1].toml(kTomlControls[0])));
    const RunResult r =
        run_command("exporter-bad",
                    {exporter_binary().string(), "--config.file=" + bad.string(),
                     "--web.listen-address=127.0.0.1:" + std::to_string(free_tcp_port())},
                    tmp_.path(), 10s);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr("from: "));
    EXPECT_THAT(r.err, HasSubstr("control character"));
  }

  for (const InjectionCase& c : injection_cases(peer.uri(), peer.port())) {
    SCOPED_TRACE(c.key);
    // The same place without the control characters is a valid configuration.
    const std::string ok = post_reload(exporter.port());
    ASSERT_EQ(status_of(ok), 200) << "reload of the unchanged file: " << ok;
    write_file(exporter.config_path(), config(c.toml("")));
    const std::string clean = post_reload(exporter.port());
    ASSERT_EQ(status_of(clean), 200) << clean << read_file(exporter.config_path());
    for (const std::string& control : kTomlControls) {
      SCOPED_TRACE(control);
      write_file(exporter.config_path(), config(c.toml(control)));
      const std::string r = post_reload(exporter.port());
      EXPECT_EQ(status_of(r), 500) << r;
      const std::string body = body_of(r);
      EXPECT_THAT(body, HasSubstr(c.key)) << "the error names the key";
      expect_one_clean_line(body, "reload error");
    }
    // The running configuration stays, and says the last reload failed.
    const Exposition e = exporter.scrape();
    EXPECT_EQ(e.value("sip_exporter_config_last_reload_successful"), 0.0);
    EXPECT_TRUE(e.value("sip_target_up", {{"target", "good"}}).has_value());
    write_file(exporter.config_path(), config({}));
  }
  const std::string restored = post_reload(exporter.port());
  EXPECT_EQ(status_of(restored), 200) << restored;

  // /probe: every parameter that reaches a header is refused, naming the parameter.
  write_file(exporter.config_path(), config({"", "\n[module.m]\nuser_agent = \"probe\"\n"}));
  ASSERT_EQ(status_of(post_reload(exporter.port())), 200);
  const std::string clean_probe = "/probe?module=m&target=" + percent_encode(peer.uri());
  HttpResponse r = exporter.get(clean_probe);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("sip_probe_success 1"));
  for (const std::string& control : kRawControls) {
    SCOPED_TRACE(percent_encode(control));
    r = exporter.get("/probe?module=m&target=" + percent_encode(peer.uri() + control));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_THAT(r.body, ::testing::StartsWith("target ")) << "names the parameter";
    expect_one_clean_line(r.body, "/probe target error");
    r = exporter.get("/probe?target=" + percent_encode(peer.uri()) +
                     "&module=" + percent_encode("m" + control));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_THAT(r.body, HasSubstr("module \"")) << "names the parameter";
    expect_one_clean_line(r.body, "/probe module error");
    r = exporter.get(clean_probe + "&debug=" + percent_encode("true" + control));
    EXPECT_EQ(r.status, 400) << r.body;
    expect_one_clean_line(r.body, "/probe debug error");
  }

  // Probing went on, and the wire never carried any of it.
  const std::size_t seen = peer.received().size();
  // Both kinds of challenge were sent at least once (a [defaults] reload restarts the target).
  EXPECT_TRUE(wait_until(5s, [&] {
    return peer.received().size() >= seen + 2 && challenger.received().size() >= 2;
  })) << "probing stopped";
  const auto challenged = challenger.received();
  for (const auto& d : challenged) EXPECT_EQ(wire_problem(d.data), "") << d.data;
  for (const auto& d : peer.received()) EXPECT_EQ(wire_problem(d.data), "") << d.data;
  EXPECT_EQ(peer.error(), "");
}

// ---------------------------------------------------------------------------
// 4. Secrets

std::string md5_hex(std::string_view s) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

// A parameter of a Digest credentials header value, quoted or not.
std::string digest_param(const std::string& value, const std::string& name) {
  const std::regex re("[ ,]" + name + "=\"?([^\",]*)\"?");
  std::smatch m;
  return std::regex_search(value, m, re) ? m[1].str() : std::string();
}

// The RFC 2617 qop=auth response the peer expects with `password`.
std::string expected_md5_response(const std::string& credentials, const std::string& password) {
  const auto p = [&](const char* n) { return digest_param(credentials, n); };
  const std::string ha1 = md5_hex(p("username") + ":" + p("realm") + ":" + password);
  const std::string ha2 = md5_hex("OPTIONS:" + p("uri"));
  return md5_hex(ha1 + ":" + p("nonce") + ":" + p("nc") + ":" + p("cnonce") + ":" + p("qop") + ":" +
                 ha2);
}

std::string base64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Sets an environment variable for the exporters this test starts; unsets it after.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    ::setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
};

// bcrypt (cost 4) of kWebPassword, as in web_config_test.cc.
constexpr const char* kWebPassword = "correct horse battery staple";
constexpr const char* kWebHash = "$2y$04$8NMdKCqmyzM/uhEAmz3lR.mDLGLNsmjtVji8KLjsDaTB4xa3pKane";

TEST_F(SecurityTest, SecretsNeverAppearInLogsMetricsPagesOrProbeOutput) {
  const std::string inline_secret = "Inl1ne-S3cret-7f1e";
  const std::string env_secret = "Env-S3cret-b2c4";
  const std::string module_secret = "M0dule-S3cret-9d8a";
  const std::string typo_secret = "Typo-S3cret-0a1b";
  const std::string wrong_web_password = "Wr0ng-Web-Pass";
  ScopedEnv env("STX_SECURITY_TEST_PASSWORD", env_secret);

  UdpPeer www(challenge_then(answer_with(200, "OK")));  // 401 / Authorization
  UdpPeer proxy([](const std::string& req) {            // 407 / Proxy-Authorization
    if (has_authorization(req)) return std::vector<std::string>{sip_reply(req, 200, "OK")};
    std::string challenge = kChallenge;
    challenge.replace(0, std::string_view("WWW-Authenticate").size(), "Proxy-Authenticate");
    return std::vector<std::string>{
        sip_reply(req, 407, "Proxy Authentication Required", challenge)};
  });
  const std::string config =
      std::string(kFastDefaults) +
      udp_target("inline", www.uri(),
                 "auth_user = \"alice\"\nauth_password = " + toml_string(inline_secret) + "\n") +
      udp_target("from_env", proxy.uri(),
                 "auth_user = \"bob\"\nauth_password_env = \"STX_SECURITY_TEST_PASSWORD\"\n") +
      "\n[module.authmod]\nauth_user = \"carol\"\nauth_password = " + toml_string(module_secret) +
      "\nauth_trusted_hosts = [\"127.0.0.1\"]\n";
  const fs::path web = tmp_ / "web.yml";
  write_file(web, "basic_auth_users:\n  prometheus: " + std::string(kWebHash) + "\n");
  const std::string good_basic = "Basic " + base64(std::string("prometheus:") + kWebPassword);
  const std::string wrong_basic = "Basic " + base64("prometheus:" + wrong_web_password);
  FlaggedExporter exporter(tmp_.path(), config,
                           {"--log.level=debug", "--web.config.file=" + web.string()},
                           {{"Authorization", good_basic}});

  auto up = [&] {
    const HttpResponse m = exporter.get("/metrics");
    if (m.status != 200) return false;
    const Exposition e = Exposition::parse(m.body);
    return e.value("sip_target_up", {{"target", "inline"}}) == 1.0 &&
           e.value("sip_target_up", {{"target", "from_env"}}) == 1.0;
  };
  ASSERT_TRUE(wait_until(10s, up)) << exporter.get("/metrics").body << www.error();

  // What could leak: every page and endpoint, with the secrets in use.
  std::map<std::string, std::string> outputs;
  const std::string probe = "/probe?module=authmod&target=" + percent_encode(www.uri());
  for (const std::string& path :
       {std::string("/metrics"), std::string("/"), std::string("/target?name=inline"),
        std::string("/target?name=from_env"), probe, probe + "&debug=true"}) {
    const HttpResponse r = exporter.get(path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    outputs[path] = r.body;
  }
  EXPECT_THAT(outputs[probe + "&debug=true"],
              HasSubstr("Authorization: Digest <credentials hidden>"))
      << "the debug output shows the answered challenge, redacted";
  EXPECT_THAT(outputs["/target?name=inline"], HasSubstr("credentials hidden"));
  // Refused web credentials, and a reload whose error sits next to a secret.
  for (const std::string& basic :
       {wrong_basic, "Basic " + base64("nobody:" + wrong_web_password)}) {
    EXPECT_EQ(http_get(exporter.port(), "/metrics", {{"Authorization", basic}}).status, 401);
  }
  write_file(exporter.config_path(), config +
                                         "\n[[target]]\nname = \"typo\"\nuri = \"sip:127.0.0.1\"\n"
                                         "auth_pasword = " +
                                         toml_string(typo_secret) + "\n");
  const std::string reload = http_raw(
      exporter.port(),
      "POST /-/reload HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: " + good_basic +
          "\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(status_of(reload), 500) << reload;
  outputs["reload error"] = reload;
  write_file(exporter.config_path(), config);

  // The credentials the peers got prove the secrets were in use.
  std::vector<std::string> responses;
  for (const auto& [peer, header, password] :
       {std::tuple{&www, "Authorization", inline_secret},
        std::tuple{&proxy, "Proxy-Authorization", env_secret}}) {
    for (const auto& d : peer->received()) {
      const auto credentials = sip_header(d.data, header);
      if (!credentials) continue;
      const std::string response = digest_param(*credentials, "response");
      if (digest_param(*credentials, "username") == "carol") {
        EXPECT_EQ(response, expected_md5_response(*credentials, module_secret));
      } else {
        EXPECT_EQ(response, expected_md5_response(*credentials, password)) << *credentials;
      }
      responses.push_back(response);
    }
  }
  ASSERT_GE(responses.size(), 3u) << "no answered challenges to look for";

  exporter.process().stop();
  outputs["stderr"] = exporter.process().stderr_text();
  outputs["stdout"] = exporter.process().stdout_text();
  EXPECT_THAT(outputs["stderr"], HasSubstr("msg=\"probe finished\"")) << "debug logging was on";
  EXPECT_THAT(outputs["stderr"], HasSubstr("auth_pasword")) << "the reload error was logged";

  std::vector<std::pair<std::string, std::string>> secrets = {
      {"inline auth_password", inline_secret},
      {"auth_password_env value", env_secret},
      {"module auth_password", module_secret},
      {"a secret under a misspelt key", typo_secret},
      {"web password", kWebPassword},
      {"refused web password", wrong_web_password},
      {"bcrypt hash", kWebHash},
      {"basic credentials", base64(std::string("prometheus:") + kWebPassword)},
      {"refused basic credentials", base64("prometheus:" + wrong_web_password)},
  };
  for (const std::string& r : responses) secrets.emplace_back("digest response", r);
  for (const auto& [where, text] : outputs) {
    for (const auto& [what, secret] : secrets) {
      EXPECT_EQ(text.find(secret), std::string::npos) << what << " appears in " << where;
    }
  }

  // A plaintext password where the web config wants a hash: refused without echoing it.
  const fs::path plain = tmp_ / "plain.yml";
  write_file(plain, "basic_auth_users:\n  prometheus: " + wrong_web_password + "\n");
  const RunResult refused =
      run_command("exporter-plain",
                  {exporter_binary().string(), "--config.file=" + exporter.config_path().string(),
                   "--web.config.file=" + plain.string(), "--log.level=debug",
                   "--web.listen-address=127.0.0.1:" + std::to_string(free_tcp_port())},
                  tmp_.path(), 10s);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("not a bcrypt hash"));
  EXPECT_EQ((refused.out + refused.err).find(wrong_web_password), std::string::npos);
}

// ---------------------------------------------------------------------------
// 4b. Credentials answer only the hosts they are configured for

int authorized_count(const UdpPeer& peer) {
  int n = 0;
  for (const auto& d : peer.received()) n += has_authorization(d.data) ? 1 : 0;
  return n;
}

// A /probe caller points the exporter at a server of its own that challenges every request:
// under the default configuration no Authorization ever reaches it, while the configured
// target, and a module that trusts its host, still authenticate.
TEST_F(SecurityTest, ProbeSendsCredentialsOnlyToTrustedHosts) {
  UdpPeer hostile(challenge_always());
  UdpPeer carrier(challenge_then(answer_with(200, "OK")));
  const std::string credentials = "auth_user = \"probe\"\nauth_password = \"carrier-secret\"\n";
  const std::string config =
      std::string(kFastDefaults) + credentials + udp_target("carrier", carrier.uri()) +
      "\n[module.shared]\ntimeout = \"800ms\"\n" +
      "\n[module.elsewhere]\nauth_trusted_hosts = [\"sbc.carrier.example\", \"192.0.2.0/24\"]\n" +
      "\n[module.loopback]\nauth_trusted_hosts = [\"127.0.0.0/8\"]\n";
  FlaggedExporter exporter(tmp_.path(), config, {"--log.level=debug"});

  for (const char* module : {"default", "shared", "elsewhere"}) {
    SCOPED_TRACE(module);
    const HttpResponse r = exporter.get("/probe?module=" + std::string(module) +
                                        "&target=" + percent_encode(hostile.uri()));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_THAT(r.body, HasSubstr("sip_probe_status_code 401")) << "the challenge is final";
    EXPECT_THAT(r.body, HasSubstr("sip_probe_success 0"));
  }
  EXPECT_GE(hostile.received().size(), 3u);
  EXPECT_EQ(authorized_count(hostile), 0) << "credentials reached the hostile server";

  // The configured target authenticates with the same [defaults] credentials...
  ASSERT_TRUE(wait_until(10s, [&] {
    return exporter.scrape().value("sip_target_up", {{"target", "carrier"}}) == 1.0;
  })) << carrier.error();
  EXPECT_GE(authorized_count(carrier), 1);
  // ...and so does a module that trusts the target's host.
  const HttpResponse trusted =
      exporter.get("/probe?module=loopback&target=" + percent_encode(carrier.uri()));
  EXPECT_THAT(trusted.body, HasSubstr("sip_probe_status_code 200"));
  EXPECT_EQ(authorized_count(hostile), 0);
}

// A configured target's credentials answer only its own address: a challenge spoofed from
// another port of the same host, matching the probe in every other way, is not answered.
TEST_F(SecurityTest, ChallengeFromAnotherAddressIsNeverAnswered) {
  UdpPeer spoofer(answer_nothing());
  UdpPeer target([&spoofer](const std::string& req) {
    const auto via = sip_header(req, "Via").value_or("");
    const auto colon = via.find(':');
    const auto end = via.find(';');
    const int port = std::stoi(via.substr(colon + 1, end - colon - 1));
    spoofer.send_to(static_cast<std::uint16_t>(port),
                    sip_reply(req, 401, "Unauthorized", kChallenge));
    return std::vector<std::string>{};
  });
  FlaggedExporter exporter(
      tmp_.path(),
      std::string(kFastDefaults) +
          udp_target("t", target.uri(), "auth_user = \"u\"\nauth_password = \"p\"\n"),
      {});
  ASSERT_TRUE(wait_until(
      10s, [&] { return exporter.scrape().sum("sip_exporter_unmatched_responses_total") >= 3; }))
      << exporter.scrape().grep("unmatched") << target.error();
  EXPECT_EQ(authorized_count(target), 0) << "a spoofed challenge was answered";
  EXPECT_TRUE(spoofer.received().empty());
}

// probe_allowed_targets: a target outside it gets 403 naming it, and nothing is sent.
TEST_F(SecurityTest, ProbeAllowedTargetsRefusesOtherHosts) {
  UdpPeer peer(answer_with(200, "OK"));
  const std::string port = std::to_string(peer.port());
  FlaggedExporter exporter(tmp_.path(),
                           std::string(kFastDefaults) +
                               "\n[exporter]\nallow_no_targets = true\n"
                               "probe_allowed_targets = [\"127.0.0.1\", \"*.carrier.example\"]\n",
                           {});
  for (const std::string& uri : {"sip:127.0.0.2:" + port, "sip:[::1]:" + port,
                                 "sip:localhost:" + port, "sip:carrier.example:" + port}) {
    SCOPED_TRACE(uri);
    const HttpResponse r = exporter.get("/probe?target=" + percent_encode(uri));
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_THAT(r.body, HasSubstr("target \"" + uri + "\""));
    EXPECT_THAT(r.body, HasSubstr("probe_allowed_targets"));
  }
  const HttpResponse allowed = exporter.get("/probe?target=" + percent_encode(peer.uri()));
  EXPECT_EQ(allowed.status, 200) << allowed.body;
  EXPECT_THAT(allowed.body, HasSubstr("sip_probe_success 1"));
  EXPECT_EQ(peer.received().size(), 1u);
}

// ---------------------------------------------------------------------------
// 5. Web endpoint limits

// Connections this test holds open at once, beyond the exporter's connection limit.
constexpr int kFlood = 600;
// The exporter runs with this many descriptors, so the flood would exhaust them; its
// connection limit is half of it (exporter/http_server.cc).
constexpr int kExporterFiles = 512;
constexpr int kConnectionLimit = kExporterFiles / 2;
// As exporter/probe_endpoint.h.
constexpr int kProbeLimit = 128;

std::string get_request(std::string_view target, std::string_view more_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
         std::string(more_headers) + "\r\n";
}

// Whether the server has closed `c` (poll without waiting).
bool closed_by_server(Conn& c) {
  pollfd p{c.fd(), POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char byte;
  return ::recv(c.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT) <= 0;
}

TEST_F(SecurityTest, WebEndpointRefusesOversizedRequestsAndOutlastsSlowAndManyClients) {
  UdpSocket silent;  // a /probe target that never answers
  const std::string config = "[exporter]\nallow_no_targets = true\n" + std::string(kFastDefaults) +
                             "\n[module.slow]\ntimeout = \"3s\"\n";
  FlaggedExporter exporter(
      tmp_.path(), config, {}, {},
      {"/bin/sh", "-c", "ulimit -n " + std::to_string(kExporterFiles) + " && exec \"$@\"", "sh"});
  const std::uint16_t port = exporter.port();
  auto metrics_ok = [&] {
    try {
      return http_get(port, "/metrics", {}, 3s).status == 200;
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      return false;
    }
  };

  // Oversized requests: answered with their status and the connection closed.
  const std::vector<std::tuple<std::string, std::string, int>> oversized = {
      {"a 16 KiB header", get_request("/metrics", "X-Big: " + std::string(16384, 'a') + "\r\n"),
       431},
      {"5000 header lines",
       get_request("/metrics",
                   [] {
                     std::string h;
                     for (int i = 0; i < 5000; ++i) h += "X-Flood: " + std::to_string(i) + "\r\n";
                     return h;
                   }()),
       431},
      {"a 64 KiB URL", get_request("/metrics?" + std::string(65536, 'a')), 431},
      {"a 1 MiB URL", get_request("/metrics?" + std::string(1 << 20, 'a')), 431},
      {"a 100 kB body",
       "POST /-/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n" +
           std::string(100000, 'a'),
       413},
  };
  for (const auto& [what, request, status] : oversized) {
    SCOPED_TRACE(what);
    bool closed = false;
    Conn c(port);
    c.send(request);
    const std::string answer = c.read_until_closed(Clock::now() + 5s, &closed);
    EXPECT_EQ(status_of(answer), status) << answer.substr(0, 200);
    EXPECT_TRUE(closed) << "the connection stays open after " << status;
  }
  // Just under the limits: served.
  EXPECT_EQ(http_get(port, "/metrics?" + std::string(7000, 'a')).status, 200);
  EXPECT_TRUE(metrics_ok());

  // A flood of idle connections, more than the descriptors the exporter has: the oldest make
  // way, and a scrape is still answered.
  std::vector<std::unique_ptr<Conn>> flood;
  for (int i = 0; i < kFlood; ++i) {
    flood.push_back(std::make_unique<Conn>(port));
    if (i % 2 == 1) flood.back()->send("GET /metrics HTTP/1.1\r\n");  // half a request
  }
  EXPECT_TRUE(metrics_ok()) << "/metrics refused while " << kFlood << " connections are open";
  int closed = 0;
  EXPECT_TRUE(wait_until(5s,
                         [&] {
                           closed = 0;
                           for (auto& c : flood) closed += closed_by_server(*c) ? 1 : 0;
                           return closed >= kFlood - kConnectionLimit;
                         }))
      << closed << " of " << kFlood << " closed; the limit is " << kConnectionLimit;

  // A slowloris client, newer than the flood's survivors: one byte every half second, never
  // ending its headers. Scrapes go on meanwhile; it is cut off by the request-read timeout.
  Conn slow(port);
  ASSERT_TRUE(slow.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  const auto slow_started = Clock::now();
  bool slow_closed = false;
  int scrapes = 0;
  while (!slow_closed && Clock::now() - slow_started < 20s) {
    slow.read_until_closed(Clock::now() + 500ms, &slow_closed);
    if (slow_closed || !slow.send("a")) break;
    EXPECT_TRUE(metrics_ok()) << "a scrape failed during the slowloris";
    ++scrapes;
  }
  const double slow_lived = std::chrono::duration<double>(Clock::now() - slow_started).count();
  EXPECT_TRUE(slow_closed || closed_by_server(slow)) << "slowloris alive after 20 s";
  EXPECT_GE(slow_lived, 5.0) << "cut off before the request-read timeout";
  EXPECT_GE(scrapes, 5);
  std::cout << "slowloris closed after " << slow_lived << " s; " << scrapes
            << " scrapes served meanwhile\n";
  flood.clear();

  // /probe: at most kProbeLimit at once; the rest get 503 at once.
  const std::string probe_request =
      get_request("/probe?module=slow&target=sip%3A127.0.0.1%3A" + std::to_string(silent.port()));
  std::vector<std::unique_ptr<Conn>> probes;
  for (int i = 0; i < kProbeLimit + 8; ++i) {
    probes.push_back(std::make_unique<Conn>(port));
    probes.back()->send(probe_request);
  }
  std::map<int, int> statuses;
  std::string refusal;
  for (auto& c : probes) {
    const std::string answer = c->read_until_closed(Clock::now() + 10s);
    ++statuses[status_of(answer)];
    if (status_of(answer) == 503) refusal = body_of(answer);
  }
  EXPECT_EQ(statuses[200], kProbeLimit);
  EXPECT_EQ(statuses[503], 8);
  EXPECT_THAT(refusal, HasSubstr("too many /probe requests in flight"));
  const HttpResponse after =
      http_get(port, "/probe?module=slow&target=sip%3A127.0.0.1%3A" + std::to_string(silent.port()),
               {}, 10s);
  EXPECT_EQ(after.status, 200) << "the slots are free again: " << after.body;
  EXPECT_TRUE(exporter.process().running());
}

}  // namespace
}  // namespace stx::it
