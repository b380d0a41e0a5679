// StreamConnection (TCP and TLS) on a local io_context against Kamailio's transport
// listeners and the scriptable stream peer.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <openssl/evp.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "certs.h"
#include "harness.h"
#include "probes/stream_connection.h"
#include "probes/tls_context.h"
#include "sip/sip_request.h"
#include "sip/sip_response.h"
#include "stream_peer.h"
#include "transport_peers.h"

namespace stx::it {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::atomic<int> g_request_counter{0};

struct Failure {
  StreamFailure kind = StreamFailure::reset;
  std::string detail;
  std::optional<TlsPeerInfo> tls;
};

std::string_view name_of(StreamFailure f) {
  switch (f) {
    case StreamFailure::connect:
      return "connect";
    case StreamFailure::reset:
      return "reset";
    case StreamFailure::tls:
      return "tls";
    case StreamFailure::websocket:
      return "websocket";
  }
  return "?";
}

// One StreamConnection on its own io_context, recording every callback.
class Client {
 public:
  explicit Client(StreamOptions options) : guard_(asio::make_work_guard(io)) {
    StreamConnection::Handlers h;
    h.on_ready = [this](const TlsPeerInfo* info) {
      note_callback();
      ready = true;
      if (info) tls = *info;
      if (close_in_on_ready) conn->close();
    };
    h.on_message = [this](std::string_view m, TimePoint) {
      note_callback();
      messages.emplace_back(m);
      if (close_in_on_message) conn->close();
    };
    h.on_pong = [this](TimePoint) {
      note_callback();
      ++pongs;
    };
    h.on_invalid = [this](std::string_view why) {
      note_callback();
      invalid.emplace_back(why);
    };
    h.on_failed = [this](StreamFailure kind, std::string_view detail, const TlsPeerInfo* info) {
      note_callback();
      Failure f;
      f.kind = kind;
      f.detail = std::string(detail);
      if (info) f.tls = *info;
      failure = f;
    };
    conn = StreamConnection::create(io, clock, std::move(options), std::move(h));
  }

  ~Client() {
    try {
      if (conn) conn->close();
      guard_.reset();
      io.restart();
      io.run_for(std::chrono::seconds(5));  // lets aborted operations release the connection
    } catch (const std::exception& e) {
      ADD_FAILURE() << "closing the client: " << e.what();
    }
  }

  // Runs the loop until `pred` holds; false after `timeout`.
  bool run_until(const std::function<bool()>& pred, Clock::duration timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (!pred()) {
      if (Clock::now() >= deadline) return false;
      io.run_one_for(std::chrono::milliseconds(20));
    }
    return true;
  }

  bool connect_and_wait(Clock::duration timeout = 10s) {
    conn->connect();
    return run_until([&] { return ready || failure.has_value(); }, timeout) && ready;
  }

  // The test closes the connection; any callback after this counts as a bug.
  void close() {
    closed_by_test = true;
    conn->close();
  }

  std::string describe() const {
    std::string s = "ready=" + std::to_string(ready) +
                    " messages=" + std::to_string(messages.size()) +
                    " pongs=" + std::to_string(pongs);
    if (failure) {
      s += " failure=" + std::string(name_of(failure->kind)) + " (" + failure->detail + ")";
    }
    for (const auto& i : invalid) s += " invalid=" + i;
    return s;
  }

  asio::io_context io;
  AsioClock clock{io};
  std::shared_ptr<StreamConnection> conn;
  bool ready = false;
  std::optional<TlsPeerInfo> tls;
  std::vector<std::string> messages;
  int pongs = 0;
  std::vector<std::string> invalid;
  std::optional<Failure> failure;
  bool close_in_on_ready = false;
  bool close_in_on_message = false;
  bool closed_by_test = false;
  int callbacks_after_close = 0;

 private:
  void note_callback() {
    if (closed_by_test) ++callbacks_after_close;
  }
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
};

tcp::endpoint endpoint(std::string_view ip, std::uint16_t port) {
  return {asio::ip::make_address(std::string(ip)), port};
}

StreamOptions tcp_options(std::uint16_t port, std::string_view ip = "127.0.0.1") {
  StreamOptions o;
  o.transport = Transport::tcp;
  o.remote = endpoint(ip, port);
  return o;
}

StreamOptions tls_options(std::uint16_t port, const TlsSettings& settings,
                          std::string_view name = "sip.example.test",
                          std::string_view ip = "127.0.0.1") {
  StreamOptions o;
  o.transport = Transport::tls;
  o.remote = endpoint(ip, port);
  o.tls = make_tls_client_context(settings);
  o.tls_name = std::string(name);
  return o;
}

std::string sent_by(const tcp::endpoint& ep) {
  const std::string host =
      ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  return host + ":" + std::to_string(ep.port());
}

struct Options {
  std::string text;
  std::string call_id;
};

// An OPTIONS for `user` at the connection's peer, with `extra` headers (each ending CRLF).
Options make_options(const Client& c, std::string_view via_transport, std::string_view user,
                     std::string_view extra = {}, std::string_view contact_host = {}) {
  const auto local = c.conn->local_endpoint();
  if (!local) throw std::runtime_error("no local endpoint: the connection is not up");
  const int n = ++g_request_counter;
  Options o;
  o.call_id = "stream-test-" + std::to_string(n) + "@example.test";
  const std::string via = sent_by(*local);
  const std::string request_uri = "sip:" + std::string(user) + "@sip.example.test";
  const std::string branch = "z9hG4bKstream" + std::to_string(n);
  const std::string contact = "sip:probe@" +
                              (contact_host.empty() ? via : std::string(contact_host)) +
                              ";transport=" + (via_transport == "TLS" ? "tls" : "tcp");
  OptionsRequest r;
  r.request_uri = request_uri;
  r.to_uri = request_uri;
  r.from_uri = "sip:probe@example.test";
  const std::string from_tag = "tag" + std::to_string(n);
  r.from_tag = from_tag;
  r.via_transport = via_transport;
  r.via_sent_by = via;
  r.branch = branch;
  r.call_id = o.call_id;
  r.cseq = 1;
  r.contact_uri = contact;
  r.user_agent = "stx-stream-test";
  build_options(r, o.text);
  if (!extra.empty()) o.text.insert(o.text.find("Content-Length:"), extra);
  return o;
}

// The final response to `request` among the client's messages, parsed.
std::optional<SipResponse> final_response(const Client& c, const Options& request) {
  for (const auto& m : c.messages) {
    SipResponse r;
    if (parse_sip_response(m, r) != SipParseError::ok) continue;
    if (r.call_id == request.call_id && r.status_code >= 200) return r;
  }
  return std::nullopt;
}

// Sends `request` and waits for its final response; its status code, or 0.
int round_trip(Client& c, const Options& request) {
  c.conn->send(request.text);
  std::optional<SipResponse> r;
  c.run_until([&] {
    r = final_response(c, request);
    return r.has_value() || c.failure.has_value();
  });
  return r ? r->status_code : 0;
}

TlsSettings trusting_test_ca(const TestCertificates& certs) {
  TlsSettings s;
  s.ca_file = certs.ca().cert().string();
  return s;
}

// One set of certificates and one Kamailio for the suite: both take a while to make.
struct SharedPeers {
  TestCertificates certs;
  TempDir dir{"stx-stream"};
  KamailioTransports kamailio{dir.path(), certs};
};

class StreamConnectionTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() { shared_.reset(); }
  static SharedPeers& peers() {
    if (!shared_) shared_ = std::make_unique<SharedPeers>();
    return *shared_;
  }
  static const TestCertificates& certs() { return peers().certs; }
  static const TransportPorts& ports() { return peers().kamailio.ports(); }

 private:
  static std::unique_ptr<SharedPeers> shared_;
};

std::unique_ptr<SharedPeers> StreamConnectionTest::shared_;

// ---------------------------------------------------------------------------
// TCP

TEST_F(StreamConnectionTest, TcpOptionsRoundTrip) {
  Client c(tcp_options(ports().tcp4));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  EXPECT_FALSE(c.tls.has_value());
  EXPECT_TRUE(c.conn->ready());
  const auto local = c.conn->local_endpoint();
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(local->address().to_string(), "127.0.0.1");
  EXPECT_NE(local->port(), 0);

  const Options req = make_options(c, "TCP", "ping");
  EXPECT_EQ(round_trip(c, req), 200) << c.describe();
  const auto r = final_response(c, req);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->via_transport, "TCP");
  EXPECT_EQ(r->cseq_method, "OPTIONS");

  // Two requests in a row on the same connection, answered in order.
  const Options a = make_options(c, "TCP", "ping");
  const Options b = make_options(c, "TCP", "nobody");
  c.conn->send(a.text);
  c.conn->send(b.text);
  ASSERT_TRUE(c.run_until([&] { return final_response(c, b).has_value(); })) << c.describe();
  EXPECT_EQ(final_response(c, a)->status_code, 200);
  EXPECT_EQ(final_response(c, b)->status_code, 404);
  EXPECT_FALSE(c.failure.has_value()) << c.describe();
}

TEST_F(StreamConnectionTest, TcpOverIpv6) {
  Client c(tcp_options(ports().tcp6, "::1"));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  ASSERT_TRUE(c.conn->local_endpoint().has_value());
  EXPECT_TRUE(c.conn->local_endpoint()->address().is_v6());
  EXPECT_EQ(round_trip(c, make_options(c, "TCP", "ping")), 200) << c.describe();
}

TEST_F(StreamConnectionTest, BindsToTheGivenLocalEndpoint) {
  StreamOptions o = tcp_options(ports().tcp4);
  const std::uint16_t local_port = free_tcp_port();
  o.local = endpoint("127.0.0.1", local_port);
  Client c(o);
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  EXPECT_EQ(c.conn->local_endpoint()->port(), local_port);
  EXPECT_EQ(round_trip(c, make_options(c, "TCP", "ping")), 200) << c.describe();
}

TEST_F(StreamConnectionTest, BindFailureIsAConnectFailure) {
  StreamOptions o = tcp_options(ports().tcp4);
  o.local = endpoint("127.0.0.1", ports().tcp4);  // Kamailio listens there
  Client c(o);
  EXPECT_FALSE(c.connect_and_wait());
  ASSERT_TRUE(c.failure.has_value());
  EXPECT_EQ(c.failure->kind, StreamFailure::connect) << c.describe();
  EXPECT_NE(c.failure->detail.find("bind 127.0.0.1:"), std::string::npos) << c.failure->detail;
  EXPECT_FALSE(c.failure->tls.has_value());
}

TEST_F(StreamConnectionTest, ClosedPortIsAConnectFailure) {
  Client c(tcp_options(free_tcp_port()));
  EXPECT_FALSE(c.connect_and_wait());
  ASSERT_TRUE(c.failure.has_value());
  EXPECT_EQ(c.failure->kind, StreamFailure::connect) << c.describe();
  EXPECT_NE(c.failure->detail.find("refused"), std::string::npos) << c.failure->detail;
  EXPECT_FALSE(c.conn->ready());
}

// RFC 5626 4.4.1: Kamailio answers our CRLFCRLF ping with a CRLF pong (tcp_crlf_ping).
TEST_F(StreamConnectionTest, KeepalivePingGetsAPongFromKamailio) {
  Client c(tcp_options(ports().tcp4));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  c.conn->send_ping();
  ASSERT_TRUE(c.run_until([&] { return c.pongs >= 1; })) << c.describe();
  c.conn->send_ping();
  ASSERT_TRUE(c.run_until([&] { return c.pongs >= 2; })) << c.describe();
  // The connection still carries requests after the keepalives.
  EXPECT_EQ(round_trip(c, make_options(c, "TCP", "ping")), 200) << c.describe();
  EXPECT_EQ(c.pongs, 2);
}

// The routes of kamailio_transports.cfg that other transport tests rely on.
TEST_F(StreamConnectionTest, KamailioRoutesByRequestUriUser) {
  Client c(tcp_options(ports().tcp4));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  EXPECT_EQ(round_trip(c, make_options(c, "TCP", "anyone")), 200);
  EXPECT_EQ(round_trip(c, make_options(c, "TCP", "nobody")), 404);
  EXPECT_EQ(round_trip(c, make_options(c, "TCP", "teams")), 403);
  EXPECT_EQ(round_trip(c, make_options(c, "TCP", "teams", {}, "sbc.example.test:5061")), 200);
  EXPECT_EQ(round_trip(c, make_options(c, "TCP", "xhdr")), 403);
  EXPECT_EQ(round_trip(c, make_options(c, "TCP", "xhdr", "X-Probe: 1\r\n")), 200);
  EXPECT_FALSE(c.failure.has_value()) << c.describe();
}

// ---------------------------------------------------------------------------
// Digest authentication on the `auth` route, MD5 and SHA-256 (RFC 8760).

std::string hex_digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned int i = 0; i < len; ++i) {
    s += hex[out[i] >> 4];
    s += hex[out[i] & 15];
  }
  return s;
}

std::string param(const std::string& header, const std::string& name) {
  const std::regex re(name + R"(=(?:"([^"]*)\"|([^,\s]+)))", std::regex::icase);
  std::smatch m;
  if (!std::regex_search(header, m, re)) return {};
  return m[1].matched ? m[1].str() : m[2].str();
}

// Challenged, then answered with `user`/"s3cret"; the final status of the second request.
int authenticate(Client& c, const EVP_MD* md, std::string_view algorithm, std::string_view user) {
  const Options first = make_options(c, "TCP", "auth");
  EXPECT_EQ(round_trip(c, first), 401) << c.describe();
  std::string challenge;
  for (const auto& m : c.messages) {
    if (m.find(first.call_id) != std::string::npos) {
      challenge = sip_header(m, "WWW-Authenticate").value_or("");
    }
  }
  EXPECT_EQ(param(challenge, "algorithm"), algorithm) << challenge;
  const std::string realm = param(challenge, "realm");
  const std::string nonce = param(challenge, "nonce");
  EXPECT_FALSE(nonce.empty()) << challenge;
  const std::string uri = "sip:auth@sip.example.test";
  const std::string ha1 = hex_digest(md, std::string(user) + ":" + realm + ":s3cret");
  const std::string ha2 = hex_digest(md, "OPTIONS:" + uri);
  const std::string response = hex_digest(md, ha1 + ":" + nonce + ":" + ha2);
  const std::string authorization = "Authorization: Digest username=\"" + std::string(user) +
                                    "\", realm=\"" + realm + "\", nonce=\"" + nonce + "\", uri=\"" +
                                    uri + "\", response=\"" + response +
                                    "\", algorithm=" + std::string(algorithm) + "\r\n";
  return round_trip(c, make_options(c, "TCP", "auth", authorization));
}

TEST_F(StreamConnectionTest, KamailioDigestMd5) {
  Client c(tcp_options(ports().tcp4));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  EXPECT_EQ(authenticate(c, EVP_md5(), "MD5", "probe"), 200);
  EXPECT_EQ(authenticate(c, EVP_md5(), "MD5", "someone"), 403);
}

TEST(StreamConnectionKamailio, DigestSha256) {
  TestCertificates certs;
  TempDir dir("stx-stream-sha256");
  KamailioTransportsOptions options;
  options.auth_algorithm = "SHA-256";
  KamailioTransports kamailio(dir.path(), certs, options);
  Client c(tcp_options(kamailio.ports().tcp4));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  EXPECT_EQ(authenticate(c, EVP_sha256(), "SHA-256", "probe"), 200);
}

// ---------------------------------------------------------------------------
// TLS

TEST_F(StreamConnectionTest, TlsWithTheTestCa) {
  Client c(tls_options(ports().tls4, trusting_test_ca(certs())));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  ASSERT_TRUE(c.tls.has_value());
  EXPECT_TRUE(c.tls->version == "TLSv1.3" || c.tls->version == "TLSv1.2") << c.tls->version;
  EXPECT_FALSE(c.tls->cipher.empty());
  ASSERT_TRUE(c.tls->cert_expiry.has_value());
  EXPECT_EQ(*c.tls->cert_expiry, static_cast<double>(certs().server.not_after));
  EXPECT_EQ(c.tls->verify_error, "");

  const Options req = make_options(c, "TLS", "ping");
  EXPECT_EQ(round_trip(c, req), 200) << c.describe();
  EXPECT_EQ(final_response(c, req)->via_transport, "TLS");
  c.conn->send_ping();
  EXPECT_TRUE(c.run_until([&] { return c.pongs == 1; })) << c.describe();
}

TEST_F(StreamConnectionTest, TlsVerifiesAnIpLiteralAgainstIpSubjectAltNames) {
  Client c(tls_options(ports().tls4, trusting_test_ca(certs()), "127.0.0.1"));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  EXPECT_EQ(round_trip(c, make_options(c, "TLS", "ping")), 200) << c.describe();
}

TEST_F(StreamConnectionTest, TlsOverIpv6) {
  for (std::string_view name : {"sip.example.test", "::1", "[::1]"}) {
    Client c(tls_options(ports().tls6, trusting_test_ca(certs()), name, "::1"));
    ASSERT_TRUE(c.connect_and_wait()) << name << ": " << c.describe();
    EXPECT_EQ(*c.tls->cert_expiry, static_cast<double>(certs().server.not_after));
    EXPECT_EQ(round_trip(c, make_options(c, "TLS", "ping")), 200) << c.describe();
  }
}

TEST_F(StreamConnectionTest, ExpiredCertificateFailsWithItsExpiry) {
  Client c(tls_options(ports().tls_expired, trusting_test_ca(certs())));
  EXPECT_FALSE(c.connect_and_wait());
  ASSERT_TRUE(c.failure.has_value());
  EXPECT_EQ(c.failure->kind, StreamFailure::tls) << c.describe();
  EXPECT_EQ(c.failure->detail, "certificate has expired");
  ASSERT_TRUE(c.failure->tls.has_value());
  EXPECT_EQ(c.failure->tls->verify_error, "certificate has expired");
  ASSERT_TRUE(c.failure->tls->cert_expiry.has_value());
  EXPECT_EQ(*c.failure->tls->cert_expiry, static_cast<double>(certs().expired.not_after));
  EXPECT_FALSE(c.ready);
}

TEST_F(StreamConnectionTest, WrongHostnameFails) {
  {
    Client c(tls_options(ports().tls_wrong_name, trusting_test_ca(certs())));
    EXPECT_FALSE(c.connect_and_wait());
    ASSERT_TRUE(c.failure.has_value());
    EXPECT_EQ(c.failure->kind, StreamFailure::tls) << c.describe();
    EXPECT_EQ(c.failure->detail, "hostname mismatch");
    ASSERT_TRUE(c.failure->tls.has_value());
    EXPECT_EQ(*c.failure->tls->cert_expiry, static_cast<double>(certs().wrong_name.not_after));
  }
  {
    Client c(tls_options(ports().tls4, trusting_test_ca(certs()), "other.example.test"));
    EXPECT_FALSE(c.connect_and_wait());
    ASSERT_TRUE(c.failure.has_value());
    EXPECT_EQ(c.failure->kind, StreamFailure::tls) << c.describe();
    EXPECT_EQ(c.failure->detail, "hostname mismatch");
  }
  {
    Client c(tls_options(ports().tls4, trusting_test_ca(certs()), "127.0.0.2"));
    EXPECT_FALSE(c.connect_and_wait());
    ASSERT_TRUE(c.failure.has_value());
    EXPECT_EQ(c.failure->kind, StreamFailure::tls) << c.describe();
    EXPECT_EQ(c.failure->detail, "IP address mismatch");
  }
}

TEST_F(StreamConnectionTest, UntrustedCaFails) {
  TlsSettings s;
  s.ca_file = certs().untrusted_ca().cert().string();
  Client c(tls_options(ports().tls4, s));
  EXPECT_FALSE(c.connect_and_wait());
  ASSERT_TRUE(c.failure.has_value());
  EXPECT_EQ(c.failure->kind, StreamFailure::tls) << c.describe();
  EXPECT_EQ(c.failure->detail, "unable to get local issuer certificate");
  ASSERT_TRUE(c.failure->tls.has_value());
  EXPECT_EQ(*c.failure->tls->cert_expiry, static_cast<double>(certs().server.not_after));
}

TEST_F(StreamConnectionTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  TlsSettings s;
  s.insecure_skip_verify = true;
  for (auto [port, not_after] : {std::pair{ports().tls_expired, certs().expired.not_after},
                                 std::pair{ports().tls_wrong_name, certs().wrong_name.not_after},
                                 std::pair{ports().tls4, certs().server.not_after}}) {
    Client c(tls_options(port, s));
    ASSERT_TRUE(c.connect_and_wait()) << port << ": " << c.describe();
    ASSERT_TRUE(c.tls.has_value());
    EXPECT_EQ(c.tls->verify_error, "");
    ASSERT_TRUE(c.tls->cert_expiry.has_value());
    EXPECT_EQ(*c.tls->cert_expiry, static_cast<double>(not_after));
    EXPECT_EQ(round_trip(c, make_options(c, "TLS", "ping")), 200) << c.describe();
  }
}

// With TLS 1.3 the client finishes its handshake before the server checks the client
// certificate: the refusal comes as a "certificate required" alert on the first read,
// which the connection reports as a tls failure, not as a reset.
TEST_F(StreamConnectionTest, MutualTlsWithoutClientCertificateFails) {
  Client c(tls_options(ports().tls_mutual, trusting_test_ca(certs())));
  c.conn->connect();
  ASSERT_TRUE(c.run_until([&] { return c.failure.has_value(); })) << c.describe();
  EXPECT_EQ(c.failure->kind, StreamFailure::tls) << c.describe();
  EXPECT_NE(c.failure->detail.find("certificate required"), std::string::npos) << c.failure->detail;
  EXPECT_TRUE(c.messages.empty());
}

TEST_F(StreamConnectionTest, MutualTlsWithClientCertificate) {
  TlsSettings s = trusting_test_ca(certs());
  s.cert_file = certs().client.cert.string();
  s.key_file = certs().client.key.string();
  Client c(tls_options(ports().tls_mutual, s));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  EXPECT_EQ(round_trip(c, make_options(c, "TLS", "ping")), 200) << c.describe();
  EXPECT_FALSE(c.failure.has_value()) << c.describe();
}

TEST_F(StreamConnectionTest, MutualTlsWithAnUntrustedClientCertificateFails) {
  TlsSettings s = trusting_test_ca(certs());
  s.cert_file = certs().client_untrusted.cert.string();
  s.key_file = certs().client_untrusted.key.string();
  Client c(tls_options(ports().tls_mutual, s));
  c.conn->connect();
  ASSERT_TRUE(c.run_until([&] { return c.failure.has_value(); })) << c.describe();
  EXPECT_EQ(c.failure->kind, StreamFailure::tls) << c.describe();
  EXPECT_NE(c.failure->detail.find("unknown ca"), std::string::npos) << c.failure->detail;
  EXPECT_TRUE(c.messages.empty());
}

TEST_F(StreamConnectionTest, PeerClosingDuringTheHandshakeIsATlsFailure) {
  StreamPeer silent(StreamScript::ok);  // reads the ClientHello, never answers
  Client c(tls_options(silent.port(), trusting_test_ca(certs())));
  c.conn->connect();
  ASSERT_TRUE(c.run_until([&] { return silent.bytes_received() > 0; })) << c.describe();
  silent.close_connection();
  ASSERT_TRUE(c.run_until([&] { return c.failure.has_value(); })) << c.describe();
  EXPECT_EQ(c.failure->kind, StreamFailure::tls) << c.describe();
  EXPECT_EQ(c.failure->detail, "connection closed during the TLS handshake");
  ASSERT_TRUE(c.failure->tls.has_value());
  EXPECT_FALSE(c.failure->tls->cert_expiry.has_value());  // no certificate was seen
  EXPECT_FALSE(c.ready);
}

// ---------------------------------------------------------------------------
// TLS context errors: one line naming the file and OpenSSL's reason.

TEST_F(StreamConnectionTest, TlsContextErrorsNameTheFile) {
  TempDir dir("stx-tls-ctx");
  auto message = [](const TlsSettings& s) -> std::string {
    try {
      make_tls_client_context(s);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "(no error)";
  };
  TlsSettings missing_ca;
  missing_ca.ca_file = (dir / "nope.pem").string();
  const std::string m1 = message(missing_ca);
  EXPECT_NE(m1.find("ca_file " + missing_ca.ca_file + ": "), std::string::npos) << m1;
  EXPECT_NE(m1.find("No such file"), std::string::npos) << m1;

  write_file(dir / "garbage.pem", "not a certificate\n");
  TlsSettings bad_cert = trusting_test_ca(certs());
  bad_cert.cert_file = (dir / "garbage.pem").string();
  bad_cert.key_file = certs().client.key.string();
  const std::string m2 = message(bad_cert);
  EXPECT_NE(m2.find("cert_file " + bad_cert.cert_file + ": "), std::string::npos) << m2;

  TlsSettings mismatch = trusting_test_ca(certs());
  mismatch.cert_file = certs().client.cert.string();
  mismatch.key_file = make_unrelated_key(dir.path(), "other").string();
  const std::string m3 = message(mismatch);
  EXPECT_NE(m3.find("key_file " + mismatch.key_file + " does not match cert_file"),
            std::string::npos)
      << m3;
  EXPECT_EQ(m3.find('\n'), std::string::npos) << m3;

  TlsSettings good = trusting_test_ca(certs());
  good.cert_file = certs().client.cert.string();
  good.key_file = certs().client.key.string();
  EXPECT_EQ(message(good), "(no error)");
  EXPECT_TRUE(make_tls_client_context(good)->verify);
  TlsSettings insecure;
  insecure.insecure_skip_verify = true;
  EXPECT_FALSE(make_tls_client_context(insecure)->verify);
}

// ---------------------------------------------------------------------------
// Lifetime: close() at any point, no callback afterwards.

TEST_F(StreamConnectionTest, CloseMidConnectRunsNoCallback) {
  Client c(tcp_options(ports().tcp4));
  std::weak_ptr<StreamConnection> weak = c.conn;
  c.conn->connect();
  c.close();
  c.conn.reset();
  // Every pending operation completes (aborted) and lets go of the connection.
  EXPECT_TRUE(c.run_until([&] { return weak.expired(); })) << c.describe();
  EXPECT_EQ(c.callbacks_after_close, 0) << c.describe();
  EXPECT_FALSE(c.ready);
  EXPECT_FALSE(c.failure.has_value());
}

TEST_F(StreamConnectionTest, CloseMidHandshakeRunsNoCallback) {
  // The peer never answers a ClientHello: the handshake stays in progress.
  StreamPeer silent(StreamScript::ok);
  Client c(tls_options(silent.port(), trusting_test_ca(certs())));
  std::weak_ptr<StreamConnection> weak = c.conn;
  c.conn->connect();
  ASSERT_TRUE(c.run_until([&] { return silent.bytes_received() > 0; })) << c.describe();
  EXPECT_FALSE(c.ready);
  c.close();
  c.conn.reset();
  EXPECT_TRUE(c.run_until([&] { return weak.expired(); })) << c.describe();
  EXPECT_EQ(c.callbacks_after_close, 0) << c.describe();
  EXPECT_FALSE(c.failure.has_value());
}

TEST_F(StreamConnectionTest, CloseInsideOnReadyRunsNoFurtherCallback) {
  Client c(tls_options(ports().tls4, trusting_test_ca(certs())));
  c.close_in_on_ready = true;
  c.conn->connect();
  ASSERT_TRUE(c.run_until([&] { return c.ready; })) << c.describe();
  c.closed_by_test = true;
  std::weak_ptr<StreamConnection> weak = c.conn;
  c.conn.reset();
  EXPECT_TRUE(c.run_until([&] { return weak.expired(); })) << c.describe();
  EXPECT_EQ(c.callbacks_after_close, 0);
  EXPECT_FALSE(c.failure.has_value());
}

// ---------------------------------------------------------------------------
// Kamailio going away under an established connection.

TEST(StreamConnectionKamailio, KilledWhileConnectedIsAReset) {
  TestCertificates certs;
  TempDir dir("stx-stream-kill");
  KamailioTransports kamailio(dir.path(), certs);
  Client tcp(tcp_options(kamailio.ports().tcp4));
  Client tls(tls_options(kamailio.ports().tls4, trusting_test_ca(certs)));
  ASSERT_TRUE(tcp.connect_and_wait()) << tcp.describe();
  ASSERT_TRUE(tls.connect_and_wait()) << tls.describe();
  EXPECT_EQ(round_trip(tcp, make_options(tcp, "TCP", "ping")), 200);
  EXPECT_EQ(round_trip(tls, make_options(tls, "TLS", "ping")), 200);

  kamailio.kill();
  ASSERT_TRUE(tcp.run_until([&] { return tcp.failure.has_value(); })) << tcp.describe();
  ASSERT_TRUE(tls.run_until([&] { return tls.failure.has_value(); })) << tls.describe();
  EXPECT_EQ(tcp.failure->kind, StreamFailure::reset) << tcp.describe();
  EXPECT_EQ(tls.failure->kind, StreamFailure::reset) << tls.describe();
  EXPECT_FALSE(tcp.conn->ready());

  // A new connection after the restart works again.
  kamailio.restart();
  Client again(tcp_options(kamailio.ports().tcp4));
  ASSERT_TRUE(again.connect_and_wait()) << again.describe();
  EXPECT_EQ(round_trip(again, make_options(again, "TCP", "ping")), 200);
}

// ---------------------------------------------------------------------------
// Framing edge cases from the scriptable peer.

TEST(StreamConnectionPeer, TwoResponsesInOneWrite) {
  StreamPeer peer(StreamScript::two_in_one_write);
  Client c(tcp_options(peer.port()));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  const Options req = make_options(c, "TCP", "ping");
  c.conn->send(req.text);
  ASSERT_TRUE(c.run_until([&] { return c.messages.size() >= 2; })) << c.describe();
  ASSERT_EQ(c.messages.size(), 2u);
  SipResponse first, second;
  ASSERT_EQ(parse_sip_response(c.messages[0], first), SipParseError::ok);
  ASSERT_EQ(parse_sip_response(c.messages[1], second), SipParseError::ok);
  EXPECT_EQ(first.status_code, 100);
  EXPECT_EQ(second.status_code, 200);
  EXPECT_EQ(second.call_id, req.call_id);
  EXPECT_EQ(first.message_length, c.messages[0].size());
  EXPECT_EQ(second.message_length, c.messages[1].size());
}

// SIPp writes one <send> holding two messages with a single send() call.
TEST(StreamConnectionPeer, SippTwoResponsesInOneSegment) {
  TempDir dir("stx-stream-sipp");
  SippPeer sipp(dir.path(), "options_two_in_one_tcp.xml", 0, SippTransport::tcp);
  Client c(tcp_options(sipp.port()));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  const Options req = make_options(c, "TCP", "ping");
  c.conn->send(req.text);
  ASSERT_TRUE(c.run_until([&] { return c.messages.size() >= 2; })) << c.describe();
  ASSERT_EQ(c.messages.size(), 2u);
  SipResponse first, second;
  ASSERT_EQ(parse_sip_response(c.messages[0], first), SipParseError::ok);
  ASSERT_EQ(parse_sip_response(c.messages[1], second), SipParseError::ok);
  EXPECT_EQ(first.status_code, 100);
  EXPECT_EQ(second.status_code, 200);
  EXPECT_EQ(second.server, "SIPp-two-in-one");
  EXPECT_EQ(second.call_id, req.call_id);
  EXPECT_TRUE(c.messages[1].ends_with("\r\n\r\ndone\r\n")) << c.messages[1];
  EXPECT_EQ(c.pongs, 0);
  EXPECT_FALSE(c.failure.has_value()) << c.describe();
}

TEST(StreamConnectionPeer, OneResponseInTwoWrites) {
  StreamPeer peer(StreamScript::split_in_two_writes);
  Client c(tcp_options(peer.port()));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  const Options req = make_options(c, "TCP", "ping");
  EXPECT_EQ(round_trip(c, req), 200) << c.describe();
  EXPECT_EQ(c.messages.size(), 1u);
  // And again on the same connection.
  EXPECT_EQ(round_trip(c, make_options(c, "TCP", "ping")), 200) << c.describe();
  EXPECT_EQ(c.messages.size(), 2u);
  // The peer counts a reply after its last write returns, which may be after we read it.
  EXPECT_TRUE(wait_until(10s, [&] { return peer.replies() == 2; })) << peer.replies();
}

TEST(StreamConnectionPeer, ClosedMidResponseIsAReset) {
  StreamPeer peer(StreamScript::close_mid_response);
  Client c(tcp_options(peer.port()));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  c.conn->send(make_options(c, "TCP", "ping").text);
  ASSERT_TRUE(c.run_until([&] { return c.failure.has_value(); })) << c.describe();
  EXPECT_EQ(c.failure->kind, StreamFailure::reset);
  EXPECT_EQ(c.failure->detail, "connection closed by peer");
  EXPECT_TRUE(c.messages.empty());
  EXPECT_TRUE(c.invalid.empty());
}

TEST(StreamConnectionPeer, MegabyteHeaderLineIsInvalidThenAReset) {
  StreamPeer peer(StreamScript::huge_header_line);
  Client c(tcp_options(peer.port()));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  c.conn->send(make_options(c, "TCP", "ping").text);
  ASSERT_TRUE(c.run_until([&] { return c.failure.has_value(); })) << c.describe();
  EXPECT_EQ(c.invalid, std::vector<std::string>{"too_large"});
  EXPECT_EQ(c.failure->kind, StreamFailure::reset);
  EXPECT_NE(c.failure->detail.find("too_large"), std::string::npos) << c.failure->detail;
  EXPECT_TRUE(c.messages.empty());
  // The peer's write fails once we are gone; it must not be stuck on a full buffer.
  EXPECT_TRUE(wait_until(10s, [&] { return peer.replies() == 1; }));
}

TEST(StreamConnectionPeer, ShortBodyProducesNoMessage) {
  StreamPeer peer(StreamScript::short_body);
  Client c(tcp_options(peer.port()));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  c.conn->send(make_options(c, "TCP", "ping").text);
  ASSERT_TRUE(wait_until(10s, [&] {
    c.io.poll();
    return peer.replies() == 1;
  }));
  // Everything the peer sent arrives before its FIN: when the reset is seen, the short
  // message has been read and must not have come out.
  peer.close_connection();
  ASSERT_TRUE(c.run_until([&] { return c.failure.has_value(); })) << c.describe();
  EXPECT_EQ(c.failure->kind, StreamFailure::reset);
  EXPECT_TRUE(c.messages.empty()) << c.describe();
  EXPECT_TRUE(c.invalid.empty());
}

TEST(StreamConnectionPeer, CloseInsideOnMessageDropsTheRest) {
  StreamPeer peer(StreamScript::two_in_one_write);
  Client c(tcp_options(peer.port()));
  ASSERT_TRUE(c.connect_and_wait()) << c.describe();
  c.close_in_on_message = true;
  c.conn->send(make_options(c, "TCP", "ping").text);
  ASSERT_TRUE(c.run_until([&] { return !c.messages.empty(); })) << c.describe();
  c.closed_by_test = true;
  std::weak_ptr<StreamConnection> weak = c.conn;
  c.conn.reset();
  EXPECT_TRUE(c.run_until([&] { return weak.expired(); })) << c.describe();
  EXPECT_EQ(c.messages.size(), 1u);  // the 200 in the same read is not delivered
  EXPECT_EQ(c.callbacks_after_close, 0);
  EXPECT_FALSE(c.failure.has_value());
}

}  // namespace
}  // namespace stx::it
