// SIP over WebSocket (RFC 7118): the exporter binary against Kamailio's websocket module on
// ws and wss (OPTIONS, REGISTER, keepalive pings, a refused upgrade), and against two small
// hostile WebSocket servers Kamailio cannot play: one that upgrades without selecting the
// sip subprotocol, one that drops the connection after reading a request.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>
#include <string>
#include <thread>

#include "certs.h"
#include "harness.h"

namespace stx::it {
namespace {

namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;

constexpr const char* kPath = "/sip";

TargetSpec spec(std::string name, std::string uri,
                std::vector<std::pair<std::string, std::string>> overrides = {}) {
  TargetSpec t;
  t.name = std::move(name);
  t.uri = std::move(uri);
  t.overrides = std::move(overrides);
  return t;
}

double failures(const Exposition& e, const std::string& target, const std::string& reason) {
  return e.sum("sip_probe_failures_total", {{"target", target}, {"reason", reason}});
}

// The detail of the latest failed probe of `target`, from the exporter's debug log.
std::string last_failure_detail(const Exporter& exporter, const std::string& target) {
  std::string detail;
  for (const LogLine& l : exporter.probe_logs(target)) {
    if (l.at("result") == "failure") detail = l.at("detail");
  }
  return detail;
}

// Kamailio with the websocket module: ws and wss listeners (peers/kamailio_ws.cfg) that
// upgrade only requests for kPath.
class KamailioWs {
 public:
  KamailioWs(const std::filesystem::path& dir, const TestCertificates& certs) {
    retry_start(3, [&] {
      ws_ = free_tcp_port();
      do {
        wss_ = free_tcp_port();
      } while (wss_ == ws_);
      const std::filesystem::path tls_cfg = dir / "kamailio-ws-tls.cfg";
      std::string tls = read_file(peers_dir() / "kamailio_ws_tls.cfg");
      replace(tls, "@SERVER_CERT@", certs.server.cert.string());
      replace(tls, "@SERVER_KEY@", certs.server.key.string());
      write_file(tls_cfg, tls);
      peer_ = std::make_unique<KamailioPeer>(dir, "kamailio_ws.cfg", 0, "kamailio-ws",
                                             KamailioPeer::Substitutions{
                                                 {"@WS@", std::to_string(ws_)},
                                                 {"@WSS@", std::to_string(wss_)},
                                                 {"@TLS_CFG@", tls_cfg.string()},
                                                 {"@WS_PATH@", kPath},
                                             });
      if (!wait_until(10s, [&] { return tcp_port_listening(ws_) && tcp_port_listening(wss_); })) {
        throw std::runtime_error("Kamailio did not listen on its ws/wss ports:\n" +
                                 peer_->process().describe());
      }
    });
  }
  std::uint16_t ws() const { return ws_; }
  std::uint16_t wss() const { return wss_; }
  Process& process() { return peer_->process(); }

 private:
  static void replace(std::string& text, std::string_view from, const std::string& to) {
    for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos)) {
      text.replace(pos, from.size(), to);
      pos += to.size();
    }
  }
  std::uint16_t ws_ = 0;
  std::uint16_t wss_ = 0;
  std::unique_ptr<KamailioPeer> peer_;
};

// A WebSocket server on 127.0.0.1 that breaks RFC 7118 in one way, on its own thread.
class HostileWsServer {
 public:
  enum class Mode {
    no_subprotocol,       // 101 without Sec-WebSocket-Protocol, then reads and never answers
    close_after_request,  // selects sip, reads one request, closes the TCP connection
  };

  explicit HostileWsServer(Mode mode)
      : mode_(mode), acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~HostileWsServer() {
    io_.stop();
    thread_.join();
  }
  HostileWsServer(const HostileWsServer&) = delete;
  HostileWsServer& operator=(const HostileWsServer&) = delete;

  std::uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }

 private:
  using Ws = websocket::stream<tcp::socket>;

  void accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) return;
      ++connections_;
      serve(std::make_shared<Ws>(std::move(socket)));
      accept();
    });
  }

  void serve(const std::shared_ptr<Ws>& ws) {
    if (mode_ == Mode::close_after_request) {
      ws->set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(boost::beast::http::field::sec_websocket_protocol, "sip");
      }));
    }
    ws->async_accept([this, ws](const boost::system::error_code& ec) {
      if (!ec) read(ws);
    });
  }

  void read(const std::shared_ptr<Ws>& ws) {
    auto buffer = std::make_shared<boost::beast::flat_buffer>();
    ws->async_read(*buffer, [this, ws, buffer](const boost::system::error_code& ec, std::size_t) {
      if (ec) return;
      ++requests_;
      if (mode_ == Mode::close_after_request) {
        boost::system::error_code ignored;
        ws->next_layer().close(ignored);  // no close frame: the flow just ends
        return;
      }
      read(ws);
    });
  }

  Mode mode_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

class WebSocket : public ::testing::Test {
 protected:
  TempDir dir_{"stx-websocket"};
};

TEST_F(WebSocket, KamailioAnswersOptionsAndRegisterOverWsAndWss) {
  TestCertificates certs;
  KamailioWs kamailio(dir_.path(), certs);
  const std::string ws = "127.0.0.1:" + std::to_string(kamailio.ws());
  const std::string wss = "127.0.0.1:" + std::to_string(kamailio.wss());
  const std::string path = toml_string(kPath);
  ExporterConfigSpec cfg;
  cfg.interval = "1s";
  cfg.timeout = "800ms";
  cfg.failures_before_down = 1;
  cfg.targets = {
      spec("ws", "sip:" + ws + ";transport=ws",
           {{"ws_path", path}, {"keepalive_interval", "\"5s\""}}),
      spec("wss", "sips:" + wss + ";transport=wss",
           {{"ws_path", path}, {"tls_ca_file", toml_string(certs.ca().cert().string())}}),
      spec("register", "sip:" + ws,
           {{"transport", "\"ws\""}, {"ws_path", path}, {"method", "\"register\""}}),
      spec("wrong-path", "sip:" + ws + ";transport=ws", {{"ws_path", "\"/nope\""}}),
  };
  Exporter exporter(dir_.path(), cfg);
  const Scraped s = exporter.scrape_until(20s, [&](const Exposition& e) {
    for (const TargetSpec& t : cfg.targets) {
      if (e.sum("sip_probes_total", {{"target", t.name}}) < 1) return false;
    }
    return e.sum("sip_keepalives_total", {{"target", "ws"}, {"result", "success"}}) >= 1;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("sip_probes_total") << s.last.grep("sip_keepalives_total")
                    << kamailio.process().describe();
  const Exposition& e = s.last;

  for (const char* up : {"ws", "wss", "register"}) {
    EXPECT_EQ(e.value("sip_target_up", {{"target", up}}), 1.0)
        << up << "\n"
        << e.grep("\"" + std::string(up) + "\"") << last_failure_detail(exporter, up);
  }
  EXPECT_EQ(e.value("sip_address_up", {{"target", "ws"}, {"address", ws}, {"transport", "ws"}}),
            1.0);
  EXPECT_EQ(e.value("sip_address_up", {{"target", "wss"}, {"address", wss}, {"transport", "wss"}}),
            1.0);
  EXPECT_GE(e.sum("sip_probe_responses_total", {{"target", "register"}, {"code", "200"}}), 1)
      << e.grep("\"register\"");

  // wss reports its handshake as tls does.
  EXPECT_EQ(e.value("sip_tls_cert_expiry_timestamp_seconds", {{"target", "wss"}}),
            static_cast<double>(certs.server.not_after));
  const auto info = e.find("sip_tls_info", {{"target", "wss"}});
  ASSERT_EQ(info.size(), 1u) << e.grep("sip_tls_info");
  EXPECT_EQ(info[0].labels.at("version").rfind("TLSv1.", 0), 0u);

  // The keepalive is a WebSocket ping that Kamailio answered with a pong.
  EXPECT_EQ(e.sum("sip_keepalives_total", {{"target", "ws"}, {"result", "failure"}}), 0.0);

  // Another path: Kamailio answers the upgrade with 404.
  EXPECT_GE(failures(e, "wrong-path", "websocket"), 1) << e.grep("\"wrong-path\"");
  EXPECT_EQ(e.value("sip_target_up", {{"target", "wrong-path"}}), 0.0);
  EXPECT_THAT(last_failure_detail(exporter, "wrong-path"),
              HasSubstr("WebSocket handshake refused: HTTP 404"));
}

TEST_F(WebSocket, UpgradeWithoutTheSipSubprotocolFails) {
  HostileWsServer server(HostileWsServer::Mode::no_subprotocol);
  ExporterConfigSpec cfg;
  cfg.failures_before_down = 1;
  cfg.targets = {
      spec("plain-ws", "sip:127.0.0.1:" + std::to_string(server.port()) + ";transport=ws")};
  Exporter exporter(dir_.path(), cfg);
  const Scraped s = exporter.scrape_until(
      10s, [&](const Exposition& e) { return failures(e, "plain-ws", "websocket") >= 1; });
  ASSERT_TRUE(s.ok) << s.last.grep("\"plain-ws\"");
  EXPECT_EQ(s.last.value("sip_target_up", {{"target", "plain-ws"}}), 0.0);
  EXPECT_THAT(last_failure_detail(exporter, "plain-ws"),
              HasSubstr("server did not select subprotocol sip"));
  EXPECT_EQ(server.requests(), 0);  // nothing is sent on a flow that is not SIP
}

TEST_F(WebSocket, PeerClosingMidProbeIsAResetAndTheNextProbeReconnects) {
  HostileWsServer server(HostileWsServer::Mode::close_after_request);
  ExporterConfigSpec cfg;
  cfg.failures_before_down = 1;
  cfg.targets = {spec("cut", "sip:127.0.0.1:" + std::to_string(server.port()) + ";transport=ws")};
  Exporter exporter(dir_.path(), cfg);
  const Scraped s = exporter.scrape_until(15s, [&](const Exposition& e) {
    return failures(e, "cut", "reset") >= 2 && server.requests() >= 2;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"cut\"") << exporter.process().describe();
  EXPECT_GE(server.connections(), 2);
  EXPECT_EQ(s.last.value("sip_target_up", {{"target", "cut"}}), 0.0);
  EXPECT_THAT(last_failure_detail(exporter, "cut"), HasSubstr("connection closed by peer"));
  EXPECT_TRUE(exporter.process().running());
}

}  // namespace
}  // namespace stx::it
