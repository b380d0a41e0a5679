// --web.config.file: parsing and its error messages, the TLS context (with certificates the
// test makes with the openssl CLI) and bcrypt basic auth with its cache.
#include "exporter/web_config.h"
#include "exporter/web_security.h"

#include <crypt.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporter/flags.h"

namespace stx {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A fresh directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "stx-webconfig-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

std::string bcrypt(const std::string& password, const char* prefix = "$2y$", int cost = 4) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  EXPECT_NE(crypt_gensalt_rn(prefix, cost, nullptr, 0, setting.data(), setting.size()), nullptr);
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), setting.data(), &data);
  EXPECT_NE(out, nullptr);
  EXPECT_NE(out[0], '*');
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string base64(std::string_view in) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += alphabet[(v >> s) & 63];
  }
  if (in.size() - i == 1) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    const unsigned v =
        (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string basic(std::string_view user, std::string_view password) {
  return "Basic " + base64(std::string(user) + ":" + std::string(password));
}

// The message load_web_config throws for `yaml` written to `path`.
std::string error_for(const std::string& path, const std::string& yaml) {
  write(path, yaml);
  try {
    load_web_config(path);
  } catch (const WebConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

// --------------------------------------------------------------------------------------------
// Parsing

class WebConfigParse : public ::testing::Test {
 protected:
  std::string err(const std::string& yaml) { return error_for(path_, yaml); }
  TempDir dir_;
  std::string path_ = dir_ / "web.yml";
  std::string hash_ = bcrypt("secret");
};

TEST_F(WebConfigParse, FullConfigWithRelativeAndAbsolutePaths) {
  write(path_,
        "tls_server_config:\n"
        "  cert_file: server.crt\n"
        "  key_file: /etc/keys/server.key\n"
        "  client_auth_type: RequireAndVerifyClientCert\n"
        "  client_ca_file: certs/ca.crt\n"
        "  min_version: TLS13\n"
        "  max_version: TLS13\n"
        "  prefer_server_cipher_suites: true\n"
        "basic_auth_users:\n"
        "  alice: " +
            hash_ + "\n  bob: '" + hash_ + "'\n");
  const WebConfig c = load_web_config(path_);
  ASSERT_TRUE(c.tls);
  EXPECT_EQ(c.tls->cert_file, (dir_.path() / "server.crt").string());
  EXPECT_EQ(c.tls->key_file, "/etc/keys/server.key");
  EXPECT_EQ(c.tls->client_ca_file, (dir_.path() / "certs/ca.crt").string());
  EXPECT_EQ(c.tls->client_auth, ClientAuth::require_and_verify_client_cert);
  EXPECT_EQ(c.tls->min_version, TlsVersion::tls13);
  EXPECT_EQ(c.tls->max_version, TlsVersion::tls13);
  EXPECT_EQ(c.basic_auth_users.size(), 2u);
  EXPECT_EQ(c.basic_auth_users.at("alice"), hash_);
  EXPECT_EQ(c.basic_auth_users.at("bob"), hash_);
  EXPECT_TRUE(c.warnings.empty());
}

TEST_F(WebConfigParse, DefaultsAndEmptyFiles) {
  write(path_, "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n");
  WebConfig c = load_web_config(path_);
  ASSERT_TRUE(c.tls);
  EXPECT_EQ(c.tls->client_auth, ClientAuth::no_client_cert);
  EXPECT_EQ(c.tls->min_version, TlsVersion::tls12);
  EXPECT_FALSE(c.tls->max_version);
  EXPECT_TRUE(c.tls->client_ca_file.empty());
  EXPECT_TRUE(c.basic_auth_users.empty());

  for (const char* empty : {"", "# nothing\n", "---\n", "tls_server_config:\nbasic_auth_users:\n",
                            "basic_auth_users: {}\n"}) {
    write(path_, empty);
    c = load_web_config(path_);
    EXPECT_FALSE(c.tls) << empty;
    EXPECT_TRUE(c.basic_auth_users.empty()) << empty;
  }
}

TEST_F(WebConfigParse, PathsRelativeToTheWorkingDirectoryWhenTheFileHasNoDirectory) {
  const WebConfig c =
      parse_web_config("tls_server_config: {cert_file: a.crt, key_file: b.key}", "web.yml", "");
  ASSERT_TRUE(c.tls);
  EXPECT_EQ(c.tls->cert_file, "a.crt");
  EXPECT_EQ(c.tls->key_file, "b.key");
}

TEST_F(WebConfigParse, AllClientAuthTypes) {
  const std::pair<const char*, ClientAuth> cases[] = {
      {"NoClientCert", ClientAuth::no_client_cert},
      {"RequestClientCert", ClientAuth::request_client_cert},
      {"RequireAnyClientCert", ClientAuth::require_any_client_cert},
      {"RequireClientCert", ClientAuth::require_any_client_cert},  // exporter-toolkit's old name
      {"VerifyClientCertIfGiven", ClientAuth::verify_client_cert_if_given},
      {"RequireAndVerifyClientCert", ClientAuth::require_and_verify_client_cert},
  };
  for (const auto& [name, value] : cases) {
    const std::string ca = value == ClientAuth::no_client_cert ? "" : "  client_ca_file: ca.crt\n";
    write(path_, "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: " +
                     std::string(name) + "\n" + ca);
    const WebConfig c = load_web_config(path_);
    ASSERT_TRUE(c.tls) << name;
    EXPECT_EQ(c.tls->client_auth, value) << name;
  }
  EXPECT_EQ(client_auth_name(ClientAuth::verify_client_cert_if_given), "VerifyClientCertIfGiven");
  EXPECT_EQ(tls_version_name(TlsVersion::tls13), "TLS13");
}

TEST_F(WebConfigParse, BasicAuthWithoutTlsWarns) {
  write(path_, "basic_auth_users:\n  alice: " + hash_ + "\n");
  const WebConfig c = load_web_config(path_);
  EXPECT_FALSE(c.tls);
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0], path_ +
                               ": basic_auth_users without tls_server_config: passwords cross "
                               "the network in clear text");
}

TEST_F(WebConfigParse, AcceptsEveryBcryptPrefix) {
  for (const char* prefix : {"$2y$", "$2b$", "$2a$"}) {
    const std::string h = bcrypt("pw", prefix);
    ASSERT_THAT(h, StartsWith(prefix));
    write(path_, "basic_auth_users:\n  u: " + h + "\n");
    EXPECT_EQ(load_web_config(path_).basic_auth_users.at("u"), h);
  }
}

TEST_F(WebConfigParse, UnreadableFile) {
  const std::string missing = dir_ / "missing.yml";
  try {
    load_web_config(missing);
    FAIL() << "no error";
  } catch (const WebConfigError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot read: No such file or directory");
  }
  try {
    load_web_config(dir_.path().string());
    FAIL() << "no error";
  } catch (const WebConfigError& e) {
    EXPECT_EQ(std::string(e.what()), dir_.path().string() + ": cannot read: is a directory");
  }
  if (geteuid() != 0) {  // root reads anything
    write(path_, "{}");
    chmod(path_.c_str(), 0);
    // Loaded as it is: err() would write the file again, which 0000 forbids.
    try {
      load_web_config(path_);
      ADD_FAILURE() << "no error";
    } catch (const WebConfigError& e) {
      EXPECT_EQ(std::string(e.what()), path_ + ": cannot read: Permission denied");
    }
    chmod(path_.c_str(), 0600);
  }
}

TEST_F(WebConfigParse, YamlSyntaxErrorsHaveLineAndColumn) {
  EXPECT_THAT(err("tls_server_config:\n  cert_file: [a\n"),
              StartsWith(path_ + ":3:1: invalid YAML: "));
  EXPECT_EQ(err("a: b\n c: d\n"), path_ + ":2:3: invalid YAML: illegal map value");
  EXPECT_THAT(err("basic_auth_users:\n  \"alice: x\n"), StartsWith(path_ + ":2:"));
}

TEST_F(WebConfigParse, TopLevelShapeAndKeys) {
  EXPECT_EQ(err("- a\n- b\n"), path_ + ":1:1: the web configuration must be a mapping, got a list");
  EXPECT_EQ(err("just text\n"),
            path_ + ":1:1: the web configuration must be a mapping, got a scalar");
  EXPECT_EQ(
      err("tls_server_cofnig: {}\n"),
      path_ + ":1:1: unknown key \"tls_server_cofnig\" (did you mean \"tls_server_config\"?)");
  EXPECT_EQ(err("basic_auth_users: {}\nweb: 1\n"),
            path_ + ":2:1: unknown key \"web\" (want tls_server_config or basic_auth_users)");
  EXPECT_EQ(err("http_server_config:\n  http2: false\n"),
            path_ +
                ":1:1: \"http_server_config\" is an exporter-toolkit setting that "
                "sip_trunk_exporter does not support; remove it");
  EXPECT_EQ(err("rate_limit: {}\n"),
            path_ +
                ":1:1: \"rate_limit\" is an exporter-toolkit setting that sip_trunk_exporter "
                "does not support; remove it");
  EXPECT_EQ(err("basic_auth_users: {}\nbasic_auth_users: {}\n"),
            path_ + ":2:1: duplicate key \"basic_auth_users\"");
  EXPECT_EQ(err("? [a, b]\n: c\n"), path_ + ":1:3: keys must be strings, got a list");
}

TEST_F(WebConfigParse, TlsKeysAndTypes) {
  EXPECT_EQ(err("tls_server_config: [a]\n"),
            path_ + ":1:20: tls_server_config: want a mapping, got a list");
  EXPECT_EQ(err("tls_server_config: yes\n"),
            path_ + ":1:20: tls_server_config: want a mapping, got a scalar");
  EXPECT_EQ(
      err("tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c\n"),
      path_ + ":4:3: tls_server_config: unknown key \"certfile\" (did you mean \"cert_file\"?)");
  EXPECT_EQ(err("tls_server_config:\n  cert_file: a\n  key_file: b\n  colour: blue\n"),
            path_ +
                ":4:3: tls_server_config: unknown key \"colour\" (want cert_file, key_file, "
                "client_auth_type, client_ca_file, min_version, max_version or "
                "prefer_server_cipher_suites)");
  EXPECT_EQ(err("tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [x]\n"),
            path_ +
                ":4:3: tls_server_config: \"cipher_suites\" is an exporter-toolkit setting that "
                "sip_trunk_exporter does not support; remove it");
  EXPECT_EQ(err("tls_server_config:\n  cert_file: a\n  key_file: b\n  key_file: c\n"),
            path_ + ":4:3: tls_server_config: duplicate key \"key_file\"");
  EXPECT_EQ(err("tls_server_config:\n  cert_file: {a: b}\n  key_file: b\n"),
            path_ + ":2:14: tls_server_config.cert_file: want a string, got a mapping");
  EXPECT_EQ(err("tls_server_config:\n  cert_file: a\n  key_file: [b]\n"),
            path_ + ":3:13: tls_server_config.key_file: want a string, got a list");
  EXPECT_EQ(
      err("tls_server_config:\n  cert_file: a\n  key_file: b\n  prefer_server_cipher_suites: 7\n"),
      path_ +
          ":4:32: tls_server_config.prefer_server_cipher_suites: want true or false, got a "
          "scalar");
}

TEST_F(WebConfigParse, CertAndKeyRequired) {
  EXPECT_EQ(err("tls_server_config:\n  client_auth_type: NoClientCert\n"),
            path_ + ":1:1: tls_server_config: cert_file and key_file are required");
  EXPECT_EQ(err("basic_auth_users: {}\ntls_server_config:\n  key_file: b\n"),
            path_ + ":2:1: tls_server_config: cert_file is required");
  EXPECT_EQ(err("tls_server_config:\n  cert_file: a\n  key_file:\n"),
            path_ + ":1:1: tls_server_config: key_file is required");
}

TEST_F(WebConfigParse, ClientAuthErrors) {
  const std::string head = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  EXPECT_EQ(err(head + "  client_auth_type: RequireAndVerify\n"),
            path_ +
                ":4:21: tls_server_config.client_auth_type: unknown client_auth_type "
                "\"RequireAndVerify\" (want NoClientCert, RequestClientCert, "
                "RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
  EXPECT_EQ(err(head + "  client_auth_type: RequireAndVerifyClientCert\n"),
            path_ +
                ":1:1: tls_server_config: client_auth_type RequireAndVerifyClientCert needs "
                "client_ca_file, the CA that client certificates are verified against");
  EXPECT_EQ(err(head + "  client_auth_type: VerifyClientCertIfGiven\n"),
            path_ +
                ":1:1: tls_server_config: client_auth_type VerifyClientCertIfGiven needs "
                "client_ca_file, the CA that client certificates are verified against");
  const std::string ca_without_auth =
      path_ +
      ":1:1: tls_server_config: client_ca_file is set but client_auth_type is NoClientCert (the "
      "default): set client_auth_type, e.g. RequireAndVerifyClientCert, or remove "
      "client_ca_file";
  EXPECT_EQ(err(head + "  client_ca_file: ca.crt\n"), ca_without_auth);
  EXPECT_EQ(err(head + "  client_ca_file: ca.crt\n  client_auth_type: NoClientCert\n"),
            ca_without_auth);
}

TEST_F(WebConfigParse, TlsVersions) {
  const std::string head = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  EXPECT_EQ(err(head + "  min_version: TLS10\n"),
            path_ +
                ":4:16: tls_server_config.min_version: TLS10 is not supported: "
                "sip_trunk_exporter serves TLS 1.2 or later (use TLS12 or TLS13)");
  EXPECT_EQ(err(head + "  min_version: TLS11\n"),
            path_ +
                ":4:16: tls_server_config.min_version: TLS11 is not supported: "
                "sip_trunk_exporter serves TLS 1.2 or later (use TLS12 or TLS13)");
  EXPECT_EQ(err(head + "  min_version: TLS1.2\n"),
            path_ +
                ":4:16: tls_server_config.min_version: unknown TLS version \"TLS1.2\" (want "
                "TLS12 or TLS13)");
  EXPECT_EQ(err(head + "  max_version: SSL3\n"),
            path_ +
                ":4:16: tls_server_config.max_version: unknown TLS version \"SSL3\" (want TLS12 "
                "or TLS13)");
  EXPECT_EQ(err(head + "  min_version: TLS13\n  max_version: TLS12\n"),
            path_ + ":1:1: tls_server_config: max_version is lower than min_version");
}

TEST_F(WebConfigParse, UserErrors) {
  EXPECT_EQ(err("basic_auth_users: [alice]\n"),
            path_ + ":1:19: basic_auth_users: want a mapping, got a list");
  EXPECT_EQ(err("basic_auth_users:\n  alice: " + hash_ + "\n  alice: " + hash_ + "\n"),
            path_ + ":3:3: basic_auth_users: duplicate key \"alice\"");
  EXPECT_EQ(err("basic_auth_users:\n  \"al:ice\": " + hash_ + "\n"),
            path_ +
                ":2:3: basic_auth_users: user name \"al:ice\" contains ':', which HTTP basic auth "
                "cannot carry");
  EXPECT_EQ(err("basic_auth_users:\n  alice:\n"),
            path_ + ":2:3: basic_auth_users.alice: want a bcrypt hash, got nothing");
  EXPECT_EQ(err("basic_auth_users:\n  alice: [x]\n"),
            path_ + ":2:10: basic_auth_users.alice: want a bcrypt hash, got a list");
  const std::string not_bcrypt =
      ": basic_auth_users.alice: not a bcrypt hash (want $2y$, $2b$ or $2a$, a cost 04-31 and "
      "53 characters, as `htpasswd -nBC 10 alice` prints after the colon)";
  // Plaintext, SHA-512 crypt, MD5 crypt, a truncated hash, cost out of range, a bad character.
  const std::string bad_hashes[] = {
      "hunter2",
      // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one hash, split over two lines
      "$6$saltsalt$Qm2VKfzBpXPlCNaVwqEWLiE4AaBTHmflbt1RFpWVUyvLmnmPr6ovyqJCrMrMQG6DF0RJUbMo42ub"
      "QVZ6hGYNr/",
      "$apr1$abcdefgh$0123456789abcdefghijkl",
      hash_.substr(0, 59),
      "$2y$03" + hash_.substr(6),
      "$2y$32" + hash_.substr(6),
      "$2x$04" + hash_.substr(6),
      hash_.substr(0, 40) + "!" + hash_.substr(41),
  };
  for (const std::string& bad : bad_hashes) {
    const std::string message = err("basic_auth_users:\n  alice: '" + bad + "'\n");
    EXPECT_EQ(message, path_ + ":2:10" + not_bcrypt) << bad;
    EXPECT_THAT(message, Not(HasSubstr(bad))) << "the value must not be echoed";
  }
}

// --------------------------------------------------------------------------------------------
// TLS context

// A CA, a server certificate for localhost/127.0.0.1, a client certificate, and a second CA
// with a client certificate of its own (a stranger), made with the openssl CLI.
class Certs {
 public:
  explicit Certs(fs::path dir) : dir_(std::move(dir)) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout ca.key -out ca.crt -days 2 -subj /CN=stx-test-ca");
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=stx-other-ca");
    write((dir_ / "server.ext").string(),
          "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    write((dir_ / "client.ext").string(), "extendedKeyUsage=clientAuth\n");
    issue("server", "ca", "server.ext", "localhost");
    issue("client", "ca", "client.ext", "prometheus");
    issue("stranger", "other-ca", "client.ext", "stranger");
    run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.key");
    run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 "
        "-pass pass:hunter2 -out encrypted.key");
  }
  std::string operator/(const std::string& name) const { return (dir_ / name).string(); }

 private:
  void run(const std::string& command) const {
    const std::string full = "cd '" + dir_.string() + "' && " + command + " >openssl.log 2>&1";
    // The openssl CLI through the shell: test setup, with a command line this file writes.
    if (std::system(full.c_str()) != 0) {  // NOLINT(cert-env33-c)
      std::ifstream log(dir_ / "openssl.log");
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      throw std::runtime_error("failed: " + command + "\n" + text);
    }
  }
  void issue(const std::string& name, const std::string& ca, const std::string& ext,
             const std::string& cn) const {
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name +
        ".key -out " + name + ".csr -subj /CN=" + cn);
    run("openssl x509 -req -in " + name + ".csr -CA " + ca + ".crt -CAkey " + ca +
        ".key -CAcreateserial -days 2 -extfile " + ext + " -out " + name + ".crt");
  }
  fs::path dir_;
};

// A TLS handshake in memory between `server` and an OpenSSL client that trusts ca.crt and
// presents `client_cert` (if given). True when both sides complete it and the client can read
// a byte the server sends (TLS 1.3 reports a refused client certificate only then).
bool handshake(boost::asio::ssl::context& server, const Certs& certs,
               const std::string& client_cert = "", int client_max_version = 0) {
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(cctx, (certs / "ca.crt").c_str(), nullptr);
  SSL_CTX_set_verify(cctx, SSL_VERIFY_PEER, nullptr);
  if (client_max_version != 0) SSL_CTX_set_max_proto_version(cctx, client_max_version);
  if (!client_cert.empty()) {
    EXPECT_EQ(SSL_CTX_use_certificate_file(cctx, (certs / (client_cert + ".crt")).c_str(),
                                           SSL_FILETYPE_PEM),
              1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey_file(cctx, (certs / (client_cert + ".key")).c_str(),
                                          SSL_FILETYPE_PEM),
              1);
  }
  SSL* c = SSL_new(cctx);
  SSL* s = SSL_new(server.native_handle());
  BIO* cbio = nullptr;
  BIO* sbio = nullptr;
  BIO_new_bio_pair(&cbio, 0, &sbio, 0);
  SSL_set_bio(c, cbio, cbio);
  SSL_set_bio(s, sbio, sbio);
  SSL_set_connect_state(c);
  SSL_set_accept_state(s);
  SSL_set_tlsext_host_name(c, "localhost");
  SSL_set1_host(c, "localhost");
  bool c_done = false;
  bool s_done = false;
  bool failed = false;
  for (int i = 0; i < 20 && !(c_done && s_done) && !failed; ++i) {
    if (!c_done) {
      const int r = SSL_do_handshake(c);
      c_done = r == 1;
      if (r <= 0 && SSL_get_error(c, r) != SSL_ERROR_WANT_READ) failed = true;
    }
    if (!s_done) {
      const int r = SSL_do_handshake(s);
      s_done = r == 1;
      if (r <= 0 && SSL_get_error(s, r) != SSL_ERROR_WANT_READ) failed = true;
    }
  }
  bool ok = c_done && s_done && !failed;
  if (ok) {
    ok = SSL_write(s, "x", 1) == 1;
    char byte = 0;
    ok = ok && SSL_read(c, &byte, 1) == 1 && byte == 'x';
  }
  SSL_free(c);
  SSL_free(s);
  SSL_CTX_free(cctx);
  ERR_clear_error();
  return ok;
}

class TlsContext : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    certs_ = new Certs(dir_->path());
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete dir_;
  }
  TlsServerSettings settings(ClientAuth auth = ClientAuth::no_client_cert) const {
    TlsServerSettings s;
    s.cert_file = *certs_ / "server.crt";
    s.key_file = *certs_ / "server.key";
    s.client_auth = auth;
    if (auth != ClientAuth::no_client_cert) s.client_ca_file = *certs_ / "ca.crt";
    return s;
  }
  std::string error_for(const TlsServerSettings& s) {
    try {
      make_tls_context(s);
    } catch (const WebConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }
  static TempDir* dir_;
  static Certs* certs_;
};
TempDir* TlsContext::dir_ = nullptr;
Certs* TlsContext::certs_ = nullptr;

TEST_F(TlsContext, ServesTls12AndUp) {
  auto ctx = make_tls_context(settings());
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->native_handle()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx->native_handle()), SSL_VERIFY_NONE);
  EXPECT_TRUE(handshake(*ctx, *certs_));
  EXPECT_TRUE(handshake(*ctx, *certs_, "", TLS1_2_VERSION));
  EXPECT_FALSE(handshake(*ctx, *certs_, "", TLS1_1_VERSION));

  auto s = settings();
  s.min_version = TlsVersion::tls13;
  ctx = make_tls_context(s);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->native_handle()), TLS1_3_VERSION);
  EXPECT_TRUE(handshake(*ctx, *certs_));
  EXPECT_FALSE(handshake(*ctx, *certs_, "", TLS1_2_VERSION));

  s = settings();
  s.max_version = TlsVersion::tls12;
  ctx = make_tls_context(s);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx->native_handle()), TLS1_2_VERSION);
  EXPECT_TRUE(handshake(*ctx, *certs_));
}

TEST_F(TlsContext, ClientCertificatePolicies) {
  struct Case {
    ClientAuth auth;
    int mode;
    bool none, good, stranger;  // handshake succeeds without a certificate, with ours, another
  };
  const Case cases[] = {
      {ClientAuth::no_client_cert, SSL_VERIFY_NONE, true, true, true},
      {ClientAuth::request_client_cert, SSL_VERIFY_PEER, true, true, true},
      {ClientAuth::require_any_client_cert, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
       false, true, true},
      {ClientAuth::verify_client_cert_if_given, SSL_VERIFY_PEER, true, true, false},
      {ClientAuth::require_and_verify_client_cert,
       SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, false, true, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(client_auth_name(c.auth)));
    auto ctx = make_tls_context(settings(c.auth));
    EXPECT_EQ(SSL_CTX_get_verify_mode(ctx->native_handle()), c.mode);
    EXPECT_EQ(handshake(*ctx, *certs_), c.none);
    EXPECT_EQ(handshake(*ctx, *certs_, "client"), c.good);
    EXPECT_EQ(handshake(*ctx, *certs_, "stranger"), c.stranger);
    if (c.auth != ClientAuth::no_client_cert) {
      // The CA's name goes out in the CertificateRequest.
      const STACK_OF(X509_NAME)* names = SSL_CTX_get_client_CA_list(ctx->native_handle());
      ASSERT_NE(names, nullptr);
      EXPECT_EQ(sk_X509_NAME_num(names), 1);
    }
  }
}

TEST_F(TlsContext, CertificateErrors) {
  auto s = settings();
  s.cert_file = *certs_ / "missing.crt";
  EXPECT_EQ(error_for(s), s.cert_file +
                              ": cannot read the certificate (cert_file): No such file or "
                              "directory");
  s.cert_file = dir_->path().string();
  EXPECT_EQ(error_for(s),
            s.cert_file + ": cannot read the certificate (cert_file): is a directory");
  s.cert_file = *certs_ / "server.ext";  // not PEM
  EXPECT_EQ(error_for(s), s.cert_file +
                              ": cannot load the certificate (cert_file): no start line (PEM "
                              "routines)");
  s.cert_file = *certs_ / "server.key";  // a key where the certificate belongs
  EXPECT_EQ(error_for(s), s.cert_file +
                              ": cannot load the certificate (cert_file): no start line (PEM "
                              "routines)");
}

TEST_F(TlsContext, KeyErrors) {
  auto s = settings();
  s.key_file = *certs_ / "missing.key";
  EXPECT_EQ(error_for(s),
            s.key_file + ": cannot read the private key (key_file): No such file or directory");
  s.key_file = *certs_ / "server.crt";
  EXPECT_EQ(error_for(s), s.key_file +
                              ": cannot load the private key (key_file): no PEM private key in "
                              "it (-----BEGIN PRIVATE KEY-----)");
  s.key_file = *certs_ / "client.key";  // another certificate's key
  EXPECT_EQ(
      error_for(s),
      s.key_file + ": the private key (key_file) does not match the certificate in " + s.cert_file);
  s.key_file = *certs_ / "rsa.key";  // another kind of key altogether
  EXPECT_EQ(
      error_for(s),
      s.key_file + ": the private key (key_file) does not match the certificate in " + s.cert_file);
  s.key_file = *certs_ / "encrypted.key";  // fails rather than asking for a passphrase
  EXPECT_EQ(error_for(s), s.key_file +
                              ": cannot load the private key (key_file): it is encrypted, and a "
                              "passphrase cannot be given; store it decrypted (openssl pkey -in "
                              "KEY -out PLAIN), readable by the exporter's user only");
  // Certificate and key in one file, as some tools write them.
  write(*certs_ / "bundle.pem",
        read_text(*certs_ / "server.key") + read_text(*certs_ / "server.crt"));
  s.cert_file = s.key_file = *certs_ / "bundle.pem";
  EXPECT_EQ(error_for(s), "(no error)");
}

TEST_F(TlsContext, ClientCaErrors) {
  auto s = settings(ClientAuth::require_and_verify_client_cert);
  s.client_ca_file = *certs_ / "missing-ca.crt";
  EXPECT_EQ(error_for(s), s.client_ca_file +
                              ": cannot read the client CA (client_ca_file): No such file or "
                              "directory");
  s.client_ca_file = *certs_ / "client.ext";
  EXPECT_EQ(error_for(s), s.client_ca_file +
                              ": cannot load the client CA (client_ca_file): no certificate or "
                              "crl found (x509 certificate routines)");
}

// --------------------------------------------------------------------------------------------
// Basic auth

class BasicAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    users_ = new std::map<std::string, std::string>{
        {"alice", bcrypt("wonderland")},
        {"bob", bcrypt("pass:with:colons", "$2b$")},
        {"carol", bcrypt("", "$2a$")},
    };
  }
  static void TearDownTestSuite() { delete users_; }
  static std::map<std::string, std::string>* users_;
};
std::map<std::string, std::string>* BasicAuthTest::users_ = nullptr;

TEST_F(BasicAuthTest, DisabledAcceptsEverything) {
  const BasicAuth none;
  EXPECT_FALSE(none.enabled());
  EXPECT_TRUE(none.check(""));
  EXPECT_TRUE(none.check("Basic garbage"));
  const BasicAuth empty(std::map<std::string, std::string>{});
  EXPECT_FALSE(empty.enabled());
  EXPECT_TRUE(empty.check(""));
  EXPECT_EQ(none.bcrypt_calls() + empty.bcrypt_calls(), 0u);
}

TEST_F(BasicAuthTest, RightAndWrongCredentials) {
  const BasicAuth auth(*users_);
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.check(basic("alice", "wonderland")));
  EXPECT_TRUE(auth.check(basic("bob", "pass:with:colons")));  // split at the first colon
  EXPECT_TRUE(auth.check(basic("carol", "")));
  EXPECT_FALSE(auth.check(basic("alice", "Wonderland")));
  EXPECT_FALSE(auth.check(basic("alice", "wonderland ")));
  EXPECT_FALSE(auth.check(basic("alice", "")));
  EXPECT_FALSE(auth.check(basic("Alice", "wonderland")));
  EXPECT_FALSE(auth.check(basic("bob", "wonderland")));  // alice's password, bob's name
  EXPECT_FALSE(auth.check(basic("carol", "x")));
  // The scheme is case-insensitive, and surrounding blanks do not matter.
  EXPECT_TRUE(auth.check("basic " + base64("alice:wonderland")));
  EXPECT_TRUE(auth.check("BASIC " + base64("alice:wonderland")));
  EXPECT_TRUE(auth.check("  Basic   " + base64("alice:wonderland") + " "));
}

TEST_F(BasicAuthTest, UnknownUserCostsABcryptToo) {
  const BasicAuth auth(*users_);
  EXPECT_FALSE(auth.check(basic("mallory", "wonderland")));
  EXPECT_EQ(auth.bcrypt_calls(), 1u);
  EXPECT_FALSE(auth.check(basic("", "")));
  EXPECT_EQ(auth.bcrypt_calls(), 2u);
  EXPECT_EQ(auth.cache_size(), 0u);
}

TEST_F(BasicAuthTest, MalformedAuthorizationValues) {
  const BasicAuth auth(*users_);
  const std::string values[] = {
      "",
      "Basic",
      "Basic ",
      "Basic    ",
      "Bearer " + base64("alice:wonderland"),
      "Digest username=\"alice\"",
      "Basicc " + base64("alice:wonderland"),
      "Basic" + base64("alice:wonderland"),
      base64("alice:wonderland"),
      "Basic " + base64("alicewonderland"),                       // no colon
      "Basic " + base64("alice:wonderland").substr(1),            // not a multiple of 4
      "Basic !" + base64("alice:wonderland").substr(1),           // outside the alphabet
      "Basic " + base64("alice:wonderlan") + "==",                // padding in the middle
      "Basic " + base64(std::string("alice:wonderland\0x", 18)),  // NUL ends a C string
      "Basic " + base64("alice:wonderland") + " extra",
  };
  for (const std::string& v : values) EXPECT_FALSE(auth.check(v)) << v;
  // Only the values that decoded to user:password reached bcrypt.
  EXPECT_EQ(auth.bcrypt_calls(), 0u);
}

TEST_F(BasicAuthTest, SuccessIsCachedFailureIsNot) {
  const BasicAuth auth(*users_);
  const std::string good = basic("alice", "wonderland");
  EXPECT_TRUE(auth.check(good));
  EXPECT_EQ(auth.bcrypt_calls(), 1u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(auth.check(good));
  EXPECT_EQ(auth.bcrypt_calls(), 1u) << "a repeated header is served from the cache";
  EXPECT_EQ(auth.cache_size(), 1u);

  const std::string bad = basic("alice", "guess");
  EXPECT_FALSE(auth.check(bad));
  EXPECT_FALSE(auth.check(bad));
  EXPECT_EQ(auth.bcrypt_calls(), 3u) << "failures are checked every time";
  EXPECT_EQ(auth.cache_size(), 1u);

  // Another instance has its own salt and cache.
  const BasicAuth other(*users_);
  EXPECT_TRUE(other.check(good));
  EXPECT_EQ(other.bcrypt_calls(), 1u);
}

// The HTTP thread settles cached and malformed credentials itself; only the rest wait for
// bcrypt.
TEST_F(BasicAuthTest, QuickCheckNeverRunsBcrypt) {
  const BasicAuth auth(*users_);
  const std::string good = basic("alice", "wonderland");
  EXPECT_EQ(auth.quick_check(good), std::nullopt) << "not cached yet";
  EXPECT_EQ(auth.quick_check(basic("alice", "guess")), std::nullopt);
  for (const std::string& v : {std::string(), std::string("Bearer x"), std::string("Basic !!"),
                               "Basic " + base64("no colon")}) {
    EXPECT_EQ(auth.quick_check(v), false) << v;
  }
  EXPECT_EQ(auth.bcrypt_calls(), 0u);
  EXPECT_TRUE(auth.check(good));
  EXPECT_EQ(auth.quick_check(good), true);
  EXPECT_EQ(auth.quick_check("  basic " + base64("alice:wonderland")), true);
  EXPECT_EQ(auth.quick_check(basic("alice", "guess")), std::nullopt) << "failures are not cached";
  EXPECT_EQ(auth.bcrypt_calls(), 1u);
  EXPECT_EQ(BasicAuth().quick_check(""), true) << "auth off";
}

TEST_F(BasicAuthTest, CacheIsBoundedLeastRecentlyUsedFirst) {
  const BasicAuth auth(*users_, 2);
  const std::string a = basic("alice", "wonderland");
  const std::string b = basic("bob", "pass:with:colons");
  const std::string c = basic("carol", "");
  EXPECT_TRUE(auth.check(a));
  EXPECT_TRUE(auth.check(b));
  EXPECT_TRUE(auth.check(a));  // a is now the most recent
  EXPECT_EQ(auth.bcrypt_calls(), 2u);
  EXPECT_TRUE(auth.check(c));  // evicts b
  EXPECT_EQ(auth.cache_size(), 2u);
  EXPECT_EQ(auth.bcrypt_calls(), 3u);
  EXPECT_TRUE(auth.check(a));
  EXPECT_TRUE(auth.check(c));
  EXPECT_EQ(auth.bcrypt_calls(), 3u);
  EXPECT_TRUE(auth.check(b));
  EXPECT_EQ(auth.bcrypt_calls(), 4u);
  EXPECT_EQ(auth.cache_size(), 2u);

  const BasicAuth uncached(*users_, 0);
  EXPECT_TRUE(uncached.check(a));
  EXPECT_TRUE(uncached.check(a));
  EXPECT_EQ(uncached.bcrypt_calls(), 2u);
  EXPECT_EQ(uncached.cache_size(), 0u);
}

TEST_F(BasicAuthTest, ConcurrentChecks) {
  const BasicAuth auth(*users_, 4);
  const std::string good[] = {basic("alice", "wonderland"), basic("bob", "pass:with:colons")};
  const std::string bad = basic("alice", "nope");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        if (!auth.check(good[(t + i) % 2])) ++wrong;
        if (i % 10 == 0 && auth.check(bad)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LE(auth.cache_size(), 2u);
}

TEST_F(BasicAuthTest, RefusesHashesThatAreNotBcrypt) {
  EXPECT_THROW(BasicAuth(std::map<std::string, std::string>{{"alice", "plaintext"}}),
               WebConfigError);
}

TEST(Base64, StandardAlphabetWithPadding) {
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_EQ(decode_base64("Zg=="), "f");
  EXPECT_EQ(decode_base64("Zm8="), "fo");
  EXPECT_EQ(decode_base64("Zm9v"), "foo");
  EXPECT_EQ(decode_base64("YWxpY2U6d29uZGVybGFuZA=="), "alice:wonderland");
  EXPECT_EQ(decode_base64("+/+/"), std::string("\xfb\xff\xbf"));
  EXPECT_FALSE(decode_base64("Zg"));
  EXPECT_FALSE(decode_base64("Zg="));
  EXPECT_FALSE(decode_base64("Z==="));
  EXPECT_FALSE(decode_base64("=Zg="));
  EXPECT_FALSE(decode_base64("Zg==Zm9v"));
  EXPECT_FALSE(decode_base64("Zm9v\n"));
  EXPECT_FALSE(decode_base64("-_-_"));  // the URL alphabet is not Basic's
  EXPECT_FALSE(decode_base64("Zm 9"));
}

TEST(WebConfigFlag, ParsedAndListed) {
  Flags f;
  EXPECT_EQ(parse_flags({}, f), "");
  EXPECT_EQ(f.web_config_file, "");
  EXPECT_EQ(parse_flags({"--web.config.file=/etc/sip_trunk_exporter/web.yml"}, f), "");
  EXPECT_EQ(f.web_config_file, "/etc/sip_trunk_exporter/web.yml");
  EXPECT_EQ(parse_flags({"--web.config.file", "web.yml"}, f), "");
  EXPECT_EQ(f.web_config_file, "web.yml");
  EXPECT_EQ(parse_flags({"--web.config.file"}, f), "flag --web.config.file needs a value");
  EXPECT_THAT(usage(), HasSubstr("--web.config.file=PATH"));
}

// The watch behind reloading --web.config.file: the config file and the files it names,
// reported once per change, whether rewritten in place or renamed over.
TEST(WebSecurityWatch, ReportsEachChangeOnceAndFollowsTheFilesTheConfigNames) {
  TempDir dir;
  write(dir / "web.yml", "tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n");
  write(dir / "a.crt", "A");
  write(dir / "a.key", "K");
  WebConfig config;
  config.tls = TlsServerSettings{};
  config.tls->cert_file = dir / "a.crt";
  config.tls->key_file = dir / "a.key";
  WebSecurityWatch watch(dir / "web.yml", config);
  EXPECT_FALSE(watch.changed());

  write(dir / "a.crt.new", "A2");
  fs::rename(dir / "a.crt.new", dir / "a.crt");  // renamed over: a new inode
  EXPECT_TRUE(watch.changed());
  EXPECT_FALSE(watch.changed());  // once per change, even if the reload then fails

  write(dir / "web.yml", "tls_server_config:\n  cert_file: b.crt\n  key_file: b.key\n  # x\n");
  EXPECT_TRUE(watch.changed());
  config.tls->cert_file = dir / "b.crt";
  config.tls->key_file = dir / "b.key";
  watch.loaded(config);
  write(dir / "a.crt", "no longer watched");
  EXPECT_FALSE(watch.changed());
  write(dir / "b.key", "now it is");
  EXPECT_TRUE(watch.changed());
}

}  // namespace
}  // namespace stx
