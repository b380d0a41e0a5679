// --web.config.file end to end: the exporter with TLS, basic auth and client certificates,
// driven with the curl CLI (certificates made with the openssl CLI in the test's directory).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.h"

namespace stx::it {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// bcrypt (cost 4, to keep the test fast) of kPassword.
constexpr const char* kPassword = "correct horse battery staple";
constexpr const char* kHash = "$2y$04$8NMdKCqmyzM/uhEAmz3lR.mDLGLNsmjtVji8KLjsDaTB4xa3pKane";

void openssl(const fs::path& dir, std::vector<std::string> args) {
  args.insert(args.begin(), require_tool("openssl").string());
  auto r = run_command("openssl", std::move(args), dir, 30s);
  if (r.exit_code != 0) throw std::runtime_error("openssl failed:\n" + r.out + r.err);
}

// <name>.key and <name>.crt (CN=<name>) issued by <ca>.crt with the extensions in <ext>.
void issue_certificate(const fs::path& dir, const std::string& name, const std::string& ca,
                       const std::string& ext) {
  auto at = [&](const std::string& file) { return (dir / file).string(); };
  openssl(dir, {"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", at(name + ".key"), "-out", at(name + ".csr"), "-subj", "/CN=" + name});
  openssl(dir, {"x509", "-req", "-in", at(name + ".csr"), "-CA", at(ca + ".crt"), "-CAkey",
                at(ca + ".key"), "-CAcreateserial", "-days", "2", "-extfile", at(ext), "-out",
                at(name + ".crt")});
}

// A CA, a server certificate for localhost and 127.0.0.1, a client certificate from the CA,
// and a client certificate from another CA.
void make_certificates(const fs::path& dir) {
  auto at = [&](const std::string& name) { return (dir / name).string(); };
  auto req = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
    args.insert(args.end(), extra.begin(), extra.end());
    openssl(dir, args);
  };
  req({"-x509", "-keyout", at("ca.key"), "-out", at("ca.crt"), "-days", "2", "-subj",
       "/CN=stx-it-ca"});
  req({"-x509", "-keyout", at("other-ca.key"), "-out", at("other-ca.crt"), "-days", "2", "-subj",
       "/CN=stx-it-other-ca"});
  write_file(dir / "server.ext",
             "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  write_file(dir / "client.ext", "extendedKeyUsage=clientAuth\n");
  issue_certificate(dir, "server", "ca", "server.ext");
  issue_certificate(dir, "client", "ca", "client.ext");
  issue_certificate(dir, "stranger", "other-ca", "client.ext");
}

struct CurlResult {
  std::optional<int> exit_code;
  int http_code = 0;  // 0: no HTTP response
  std::string headers;
  std::string body;
  std::string err;
};

// curl with `args` to `url`; the body and headers are captured in files.
CurlResult curl(const fs::path& dir, const std::string& url, std::vector<std::string> args = {}) {
  static int counter = 0;
  const std::string n = std::to_string(counter++);
  const fs::path body = dir / ("curl-" + n + ".body");
  const fs::path headers = dir / ("curl-" + n + ".headers");
  std::vector<std::string> argv = {require_tool("curl").string(),
                                   "--silent",
                                   "--show-error",
                                   "--max-time",
                                   "5",
                                   "--output",
                                   body.string(),
                                   "--dump-header",
                                   headers.string(),
                                   "--write-out",
                                   "%{http_code}"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(url);
  auto r = run_command("curl", std::move(argv), dir, 20s);
  CurlResult out;
  out.exit_code = r.exit_code;
  out.http_code = static_cast<int>(std::strtol(r.out.c_str(), nullptr, 10));
  out.err = r.err;
  if (fs::exists(body)) out.body = read_file(body);
  if (fs::exists(headers)) out.headers = read_file(headers);
  return out;
}

std::string describe(const CurlResult& r) {
  return "curl exit " + (r.exit_code ? std::to_string(*r.exit_code) : std::string("?")) +
         ", HTTP " + std::to_string(r.http_code) + "\nstderr: " + r.err + "\nheaders:\n" +
         r.headers + "body:\n" + r.body.substr(0, 500);
}

// The exporter with --web.config.file, on 127.0.0.1 and a free port.
class SecureExporter {
 public:
  SecureExporter(const fs::path& dir, const std::string& web_config,
                 std::vector<std::string> ready_args, std::string_view name = "exporter") {
    const fs::path config = dir / (std::string(name) + ".toml");
    ExporterConfigSpec spec;
    spec.targets = {{"dead", "sip:127.0.0.1:" + std::to_string(free_udp_port()), {}, {}}};
    write_file(config, render_config(spec));
    web_config_ = dir / (std::string(name) + "-web.yml");
    write_file(web_config_, web_config);
    port_ = free_tcp_port();
    process_ = std::make_unique<Process>(
        std::string(name),
        std::vector<std::string>{exporter_binary().string(), "--config.file=" + config.string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                 "--web.config.file=" + web_config_.string(), "--log.level=debug"},
        dir);
    // Up once curl, with what this config needs, gets 200 from /-/healthy.
    const bool up = wait_until(10s, [&] {
      if (!process_->running()) return true;
      return curl(dir, url("/-/healthy"), ready_args).http_code == 200;
    });
    if (!up || !process_->running()) {
      throw std::runtime_error("exporter with --web.config.file did not come up:\n" +
                               process_->describe());
    }
  }
  std::string url(std::string_view path, std::string_view scheme = "https") const {
    return std::string(scheme) + "://localhost:" + std::to_string(port_) + std::string(path);
  }
  std::uint16_t port() const { return port_; }
  Process& process() { return *process_; }

 private:
  fs::path web_config_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Process> process_;
};

class WebConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { make_certificates(tmp_.path()); }
  std::string file(const std::string& name) const { return (tmp_ / name).string(); }
  // curl arguments: trust our CA; resolve localhost to 127.0.0.1 (not ::1).
  std::vector<std::string> tls_args(std::vector<std::string> more = {}) const {
    std::vector<std::string> args = {"--cacert", file("ca.crt"), "--ipv4"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }
  TempDir tmp_{"stx-webconfig"};
};

TEST_F(WebConfigTest, TlsAndBasicAuth) {
  // Relative paths: relative to the web config file's directory.
  const std::string web =
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: server.key\n"
      "basic_auth_users:\n"
      "  prometheus: " +
      std::string(kHash) + "\n";
  const auto good = tls_args({"--user", std::string("prometheus:") + kPassword});
  SecureExporter exporter(tmp_.path(), web, good);

  // The right credentials: metrics.
  auto r = curl(tmp_.path(), exporter.url("/metrics"), good);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.http_code, 200) << describe(r);
  EXPECT_THAT(r.body, HasSubstr("sip_exporter_build_info"));
  EXPECT_THAT(r.body, HasSubstr("sip_target_up{"));

  // No credentials, a wrong password, an unknown user: 401 with a challenge, and no data.
  const std::vector<std::pair<std::string, std::vector<std::string>>> refused = {
      {"no credentials", tls_args()},
      {"wrong password", tls_args({"--user", "prometheus:correct horse"})},
      {"unknown user", tls_args({"--user", std::string("grafana:") + kPassword})},
      {"not basic", tls_args({"--header", "Authorization: Bearer abc"})},
  };
  for (const auto& [what, args] : refused) {
    SCOPED_TRACE(what);
    for (const char* path : {"/metrics", "/-/healthy", "/"}) {
      r = curl(tmp_.path(), exporter.url(path), args);
      EXPECT_EQ(r.exit_code, 0) << describe(r);
      EXPECT_EQ(r.http_code, 401) << path << ": " << describe(r);
      EXPECT_THAT(r.headers, HasSubstr("WWW-Authenticate: Basic realm=\"sip_trunk_exporter\""))
          << describe(r);
      EXPECT_THAT(r.body, Not(HasSubstr("sip_"))) << "data in a 401 body: " << describe(r);
    }
  }

  // Plain HTTP to the TLS port gets no HTTP answer, let alone metrics.
  r = curl(tmp_.path(), exporter.url("/metrics", "http"),
           {"--ipv4", "--user", std::string("prometheus:") + kPassword});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_THAT(r.body, Not(HasSubstr("sip_"))) << describe(r);

  // A client that does not trust the certificate refuses it.
  r = curl(tmp_.path(), exporter.url("/metrics"), {"--ipv4"});
  EXPECT_EQ(r.exit_code, 60) << describe(r);  // CURLE_PEER_FAILED_VERIFICATION

  // TLS 1.2 and 1.3 both work (min_version defaults to TLS12); TLS 1.1 does not.
  auto tls12 = good;
  tls12.insert(tls12.end(), {"--tls-max", "1.2"});
  EXPECT_EQ(curl(tmp_.path(), exporter.url("/metrics"), tls12).http_code, 200);
  auto tls11 = good;
  tls11.insert(tls11.end(), {"--tlsv1.0", "--tls-max", "1.1"});
  r = curl(tmp_.path(), exporter.url("/metrics"), tls11);
  EXPECT_NE(r.exit_code, 0) << describe(r);

  // A connection that never starts its handshake does not hold up others.
  const int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(exporter.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  r = curl(tmp_.path(), exporter.url("/metrics"), good);
  EXPECT_EQ(r.http_code, 200) << describe(r);
  ::close(idle);

  // After all that, the exporter still serves, and logged the failed handshakes at debug.
  EXPECT_TRUE(exporter.process().running());
  EXPECT_EQ(curl(tmp_.path(), exporter.url("/-/healthy"), good).http_code, 200);
  const auto failed = log_lines_with_msg(exporter.process().stderr_text(), "TLS handshake failed");
  EXPECT_GE(failed.size(), 3u) << exporter.process().stderr_text();
  for (const auto& line : failed) EXPECT_EQ(line.at("level"), "debug");
}

TEST_F(WebConfigTest, ClientCertificateRequired) {
  const std::string web = "tls_server_config:\n  cert_file: " + file("server.crt") +
                          "\n  key_file: " + file("server.key") +
                          "\n  client_auth_type: RequireAndVerifyClientCert\n"
                          "  client_ca_file: ca.crt\n";
  const auto with_cert = tls_args({"--cert", file("client.crt"), "--key", file("client.key")});
  SecureExporter exporter(tmp_.path(), web, with_cert);

  auto r = curl(tmp_.path(), exporter.url("/metrics"), with_cert);
  EXPECT_EQ(r.http_code, 200) << describe(r);
  EXPECT_THAT(r.body, HasSubstr("sip_exporter_build_info"));

  r = curl(tmp_.path(), exporter.url("/metrics"), tls_args());
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.http_code, 0) << describe(r);
  EXPECT_THAT(r.body, Not(HasSubstr("sip_")));

  r = curl(tmp_.path(), exporter.url("/metrics"),
           tls_args({"--cert", file("stranger.crt"), "--key", file("stranger.key")}));
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_EQ(r.http_code, 0) << describe(r);

  EXPECT_TRUE(exporter.process().running());
  EXPECT_EQ(curl(tmp_.path(), exporter.url("/-/healthy"), with_cert).http_code, 200);
}

TEST_F(WebConfigTest, BasicAuthOverPlainHttp) {
  const std::string web = "basic_auth_users:\n  prometheus: " + std::string(kHash) + "\n";
  const std::vector<std::string> good = {"--ipv4", "--user",
                                         std::string("prometheus:") + kPassword};
  // SecureExporter's readiness check speaks https; build the URL for http by hand.
  const fs::path config = tmp_ / "plain.toml";
  write_file(config, render_config(ExporterConfigSpec{}));
  write_file(tmp_ / "plain-web.yml", web);
  const auto port = free_tcp_port();
  Process p("plain",
            {exporter_binary().string(), "--config.file=" + config.string(),
             "--web.listen-address=127.0.0.1:" + std::to_string(port),
             "--web.config.file=" + file("plain-web.yml")},
            tmp_.path());
  const std::string base = "http://localhost:" + std::to_string(port);
  ASSERT_TRUE(wait_until(10s, [&] {
    return !p.running() || curl(tmp_.path(), base + "/-/healthy", good).http_code == 200;
  }));
  ASSERT_TRUE(p.running()) << p.describe();
  EXPECT_EQ(curl(tmp_.path(), base + "/metrics", good).http_code, 200);
  EXPECT_EQ(curl(tmp_.path(), base + "/metrics", {"--ipv4"}).http_code, 401);
  EXPECT_THAT(p.stderr_text(), HasSubstr("clear text")) << "the warning is logged";
}

TEST_F(WebConfigTest, InvalidWebConfigExitsWithAClearMessage) {
  const fs::path config = tmp_ / "exporter.toml";
  write_file(config, render_config(ExporterConfigSpec{}));
  struct Case {
    const char* what;
    std::string yaml;  // empty: the file does not exist
    std::string message;
  };
  const Case cases[] = {
      {"missing file", "", "cannot read: No such file or directory"},
      {"TLS 1.1",
       "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
       "  min_version: TLS11\n",
       ":4:16: tls_server_config.min_version: TLS11 is not supported"},
      {"missing certificate",
       "tls_server_config:\n  cert_file: nothing.crt\n  key_file: server.key\n",
       "nothing.crt: cannot read the certificate (cert_file): No such file or directory"},
      {"mismatched key", "tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n",
       "client.key: the private key (key_file) does not match the certificate"},
      {"plaintext password", "basic_auth_users:\n  prometheus: hunter2\n",
       ":2:15: basic_auth_users.prometheus: not a bcrypt hash"},
  };
  int i = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const fs::path web = tmp_ / ("bad-" + std::to_string(i++) + ".yml");
    if (!c.yaml.empty()) write_file(web, c.yaml);
    auto r = run_command("bad-web-config",
                         {exporter_binary().string(), "--config.file=" + config.string(),
                          "--web.listen-address=127.0.0.1:" + std::to_string(free_tcp_port()),
                          "--web.config.file=" + web.string()},
                         tmp_.path(), 10s);
    EXPECT_EQ(r.exit_code, 1) << describe_wait_status(r.status) << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message));
    EXPECT_THAT(r.err, HasSubstr(web.filename().string()));
    EXPECT_THAT(r.err, Not(HasSubstr("hunter2"))) << "a password-like value is not echoed";
  }

  // --config.check looks at the web configuration too.
  auto r =
      run_command("config-check",
                  {exporter_binary().string(), "--config.check", "--config.file=" + config.string(),
                   "--web.config.file=" + (tmp_ / "bad-1.yml").string()},
                  tmp_.path(), 10s);
  EXPECT_EQ(r.exit_code, 1) << describe_wait_status(r.status) << "\n" << r.err;
  EXPECT_THAT(r.err, HasSubstr("TLS11 is not supported"));
}

// The CN of the certificate the exporter presents to a new TLS connection.
std::string served_cn(const fs::path& dir, std::uint16_t port) {
  auto r = run_command("s_client",
                       {require_tool("openssl").string(), "s_client", "-connect",
                        "127.0.0.1:" + std::to_string(port), "-servername", "localhost"},
                       dir, 20s, fs::path("/dev/null"));
  const auto at = r.out.find("subject=CN = ");
  if (at == std::string::npos) return "(none: " + r.err + ")";
  return r.out.substr(at + 13, r.out.find('\n', at) - at - 13);
}

// Installs `from` over `to` the way certificate tools do: a new file renamed over the old.
void replace_file(const fs::path& from, const fs::path& to) {
  fs::copy_file(from, to.string() + ".new", fs::copy_options::overwrite_existing);
  fs::rename(to.string() + ".new", to);
}

TEST_F(WebConfigTest, RenewedCertificateIsServedWithoutRestartAndABrokenFileKeepsTheOld) {
  issue_certificate(tmp_.path(), "renewed", "ca", "server.ext");
  const std::string web = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
  SecureExporter ex(tmp_.path(), web, tls_args());
  EXPECT_EQ(served_cn(tmp_.path(), ex.port()), "server");

  replace_file(tmp_ / "renewed.crt", tmp_ / "server.crt");
  replace_file(tmp_ / "renewed.key", tmp_ / "server.key");
  EXPECT_EQ(served_cn(tmp_.path(), ex.port()), "renewed");
  const auto scrape = curl(tmp_.path(), ex.url("/metrics"), tls_args());
  EXPECT_EQ(scrape.http_code, 200) << describe(scrape);
  EXPECT_THAT(ex.process().stderr_text() + ex.process().stdout_text(),
              HasSubstr("web configuration reloaded"));

  // A broken file is refused with its reason; the running settings stay.
  write_file(tmp_ / "exporter-web.yml", "tls_server_config: [\n");
  const auto after = curl(tmp_.path(), ex.url("/metrics"), tls_args());
  EXPECT_EQ(after.http_code, 200) << describe(after);
  EXPECT_EQ(served_cn(tmp_.path(), ex.port()), "renewed");
  const std::string log = ex.process().stderr_text() + ex.process().stdout_text();
  EXPECT_THAT(log, HasSubstr("invalid web configuration; keeping the previous one"));
  EXPECT_TRUE(ex.process().running());
}

}  // namespace
}  // namespace stx::it
