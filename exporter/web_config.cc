#include "exporter/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "config/diagnostics.h"

namespace stx {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kTopLevelKeys[] = {"tls_server_config", "basic_auth_users"};
constexpr std::string_view kTlsKeys[] = {
    "cert_file",   "key_file",    "client_auth_type",           "client_ca_file",
    "min_version", "max_version", "prefer_server_cipher_suites"};
// exporter-toolkit keys this exporter does not implement: refused by name rather than
// ignored, since each of them would narrow who may connect.
constexpr std::string_view kUnsupportedTopLevelKeys[] = {"http_server_config", "rate_limit"};
constexpr std::string_view kUnsupportedTlsKeys[] = {
    "cert", "key", "client_ca", "cipher_suites", "curve_preferences", "client_allowed_sans"};

struct ClientAuthName {
  std::string_view name;
  ClientAuth value;
};
constexpr ClientAuthName kClientAuthNames[] = {
    {"NoClientCert", ClientAuth::no_client_cert},
    {"RequestClientCert", ClientAuth::request_client_cert},
    {"RequireAnyClientCert", ClientAuth::require_any_client_cert},
    {"VerifyClientCertIfGiven", ClientAuth::verify_client_cert_if_given},
    {"RequireAndVerifyClientCert", ClientAuth::require_and_verify_client_cert},
};

bool is_bcrypt_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '/';
}

// "$2a$", "$2b$" or "$2y$", a two-digit cost 04-31, "$", then 22 characters of salt and 31 of
// hash in bcrypt's base64 alphabet: 60 characters in all.
bool is_bcrypt_hash(std::string_view h) {
  if (h.size() != 60 || h.substr(0, 2) != "$2" || (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') ||
      h[3] != '$' || h[6] != '$') {
    return false;
  }
  if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9') return false;
  const int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(h.begin() + 7, h.end(), is_bcrypt_char);
}

int bcrypt_cost(std::string_view h) { return (h[4] - '0') * 10 + (h[5] - '0'); }

class Parser {
 public:
  Parser(std::string source, std::string base_dir)
      : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  WebConfig run(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      throw WebConfigError(location(e.mark) + ": invalid YAML: " + e.msg);
    }
    if (root.IsNull()) return std::move(config_);  // empty file: plain HTTP, no auth
    if (!root.IsMap()) {
      fail(root, "", "the web configuration must be a mapping, got " + type_name(root.Type()));
    }
    std::set<std::string> seen;
    for (const auto& kv : root) {
      const std::string key = key_text(kv.first, "", seen);
      if (is_one_of(key, kUnsupportedTopLevelKeys)) {
        fail(kv.first, "", unsupported(key));
      }
      if (!is_one_of(key, kTopLevelKeys))
        fail(kv.first, "",
             unknown_key_message("unknown key", key, kTopLevelKeys, WhenNoMatch::list_allowed));
      if (key == "tls_server_config") parse_tls(kv.first, kv.second);
      if (key == "basic_auth_users") parse_users(kv.second);
    }
    if (!config_.basic_auth_users.empty() && !config_.tls) {
      config_.warnings.push_back(source_ +
                                 ": basic_auth_users without tls_server_config: passwords cross "
                                 "the network in clear text");
    }
    return std::move(config_);
  }

 private:
  std::string location(const YAML::Mark& m) const {
    if (m.is_null()) return source_;
    return source_position(source_, static_cast<std::uint32_t>(m.line + 1),
                           static_cast<std::uint32_t>(m.column + 1));
  }

  [[noreturn]] void fail(const YAML::Node& at, std::string_view context,
                         std::string_view message) const {
    throw WebConfigError(diagnostic(location(at.Mark()), context, message));
  }

  static std::string unsupported(std::string_view key) {
    return "\"" + std::string(key) +
           "\" is an exporter-toolkit setting that sip_trunk_exporter does not support; remove it";
  }

  // The text of a mapping key; refuses non-scalar and repeated keys.
  std::string key_text(const YAML::Node& key, std::string_view context,
                       std::set<std::string>& seen) const {
    if (!key.IsScalar()) fail(key, context, "keys must be strings, got " + type_name(key.Type()));
    const std::string& k = key.Scalar();
    if (!seen.insert(k).second) fail(key, context, "duplicate key \"" + k + "\"");
    return k;
  }

  // A string setting: any scalar; an empty value (null) reads as "".
  std::string string_value(const YAML::Node& value, const YAML::Node& key,
                           const std::string& context) const {
    if (value.IsNull()) return "";
    if (!value.IsScalar()) {
      fail(value.Mark().is_null() ? key : value, context,
           "want a string, got " + type_name(value.Type()));
    }
    return value.Scalar();
  }

  std::string resolve(const std::string& file) const {
    if (file.empty() || base_dir_.empty() || fs::path(file).is_absolute()) return file;
    return (fs::path(base_dir_) / file).string();
  }

  std::optional<TlsVersion> parse_version(const YAML::Node& value, const YAML::Node& key,
                                          const std::string& context) const {
    const std::string v = string_value(value, key, context);
    if (v.empty()) return std::nullopt;
    if (v == "TLS12") return TlsVersion::tls12;
    if (v == "TLS13") return TlsVersion::tls13;
    if (v == "TLS10" || v == "TLS11") {
      fail(value, context,
           v + " is not supported: sip_trunk_exporter serves TLS 1.2 or later (use TLS12 or "
               "TLS13)");
    }
    fail(value, context, "unknown TLS version \"" + v + "\" (want TLS12 or TLS13)");
  }

  void parse_tls(const YAML::Node& key, const YAML::Node& node) {
    if (node.IsNull()) return;  // "tls_server_config:" with nothing under it: no TLS
    if (!node.IsMap())
      fail(node, "tls_server_config", "want a mapping, got " + type_name(node.Type()));
    TlsServerSettings tls;
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string k = key_text(kv.first, "tls_server_config", seen);
      const std::string context = "tls_server_config." + k;
      if (is_one_of(k, kUnsupportedTlsKeys)) fail(kv.first, "tls_server_config", unsupported(k));
      if (!is_one_of(k, kTlsKeys)) {
        fail(kv.first, "tls_server_config",
             unknown_key_message("unknown key", k, kTlsKeys, WhenNoMatch::list_allowed));
      }
      if (k == "cert_file") tls.cert_file = resolve(string_value(kv.second, kv.first, context));
      if (k == "key_file") tls.key_file = resolve(string_value(kv.second, kv.first, context));
      if (k == "client_ca_file") {
        tls.client_ca_file = resolve(string_value(kv.second, kv.first, context));
      }
      if (k == "client_auth_type") {
        const std::string v = string_value(kv.second, kv.first, context);
        bool found = v.empty();
        for (const auto& [name, value] : kClientAuthNames) {
          if (v == name) {
            tls.client_auth = value;
            found = true;
          }
        }
        if (v == "RequireClientCert") {  // exporter-toolkit's old name, still accepted there
          tls.client_auth = ClientAuth::require_any_client_cert;
          found = true;
        }
        if (!found) {
          fail(kv.second, context,
               "unknown client_auth_type \"" + v +
                   "\" (want NoClientCert, RequestClientCert, RequireAnyClientCert, "
                   "VerifyClientCertIfGiven or RequireAndVerifyClientCert)");
        }
      }
      if (k == "min_version") {
        tls.min_version = parse_version(kv.second, kv.first, context).value_or(TlsVersion::tls12);
      }
      if (k == "max_version") tls.max_version = parse_version(kv.second, kv.first, context);
      if (k == "prefer_server_cipher_suites") {
        // Accepted for compatibility; Go ignores it too, and the server's order applies.
        bool ignored = false;
        if (!kv.second.IsScalar() || !YAML::convert<bool>::decode(kv.second, ignored)) {
          fail(kv.second.IsNull() ? kv.first : kv.second, context,
               "want true or false, got " + type_name(kv.second.Type()));
        }
      }
    }
    if (tls.cert_file.empty() && tls.key_file.empty()) {
      fail(key, "tls_server_config", "cert_file and key_file are required");
    }
    if (tls.cert_file.empty()) fail(key, "tls_server_config", "cert_file is required");
    if (tls.key_file.empty()) fail(key, "tls_server_config", "key_file is required");
    const bool verifies = tls.client_auth == ClientAuth::verify_client_cert_if_given ||
                          tls.client_auth == ClientAuth::require_and_verify_client_cert;
    if (verifies && tls.client_ca_file.empty()) {
      fail(key, "tls_server_config",
           "client_auth_type " + std::string(client_auth_name(tls.client_auth)) +
               " needs client_ca_file, the CA that client certificates are verified against");
    }
    if (!tls.client_ca_file.empty() && tls.client_auth == ClientAuth::no_client_cert) {
      fail(key, "tls_server_config",
           "client_ca_file is set but client_auth_type is NoClientCert (the default): set "
           "client_auth_type, e.g. RequireAndVerifyClientCert, or remove client_ca_file");
    }
    if (tls.max_version && *tls.max_version < tls.min_version) {
      fail(key, "tls_server_config", "max_version is lower than min_version");
    }
    config_.tls = std::move(tls);
  }

  void parse_users(const YAML::Node& node) {
    if (node.IsNull()) return;
    if (!node.IsMap())
      fail(node, "basic_auth_users", "want a mapping, got " + type_name(node.Type()));
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string user = key_text(kv.first, "basic_auth_users", seen);
      const std::string context = "basic_auth_users." + user;
      if (user.find(':') != std::string::npos) {
        fail(kv.first, "basic_auth_users",
             "user name \"" + user + "\" contains ':', which HTTP basic auth cannot carry");
      }
      if (!kv.second.IsScalar()) {
        fail(kv.second.IsNull() ? kv.first : kv.second, context,
             "want a bcrypt hash, got " + type_name(kv.second.Type()));
      }
      const std::string& hash = kv.second.Scalar();
      if (!is_bcrypt_hash(hash)) {
        // The value is not echoed: it may be a password typed where its hash belongs.
        fail(kv.second, context,
             "not a bcrypt hash (want $2y$, $2b$ or $2a$, a cost 04-31 and 53 characters, as "
             "`htpasswd -nBC 10 " +
                 user + "` prints after the colon)");
      }
      config_.basic_auth_users.emplace(user, hash);
    }
  }

  std::string source_;
  std::string base_dir_;
  WebConfig config_;
};

// The first of OpenSSL's queued errors (the cause; later ones are the callers giving up) as
// "reason (library)"; clears the queue.
std::string openssl_errors() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(e);
  const char* lib = ERR_lib_error_string(e);
  std::string out = reason != nullptr ? reason : "error " + std::to_string(ERR_GET_REASON(e));
  if (lib != nullptr) out += std::string(" (") + lib + ")";
  return out;
}

// Opens the file once to tell "cannot read" apart from OpenSSL's parsing complaints.
void require_readable(const std::string& file, std::string_view what) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) {
    throw WebConfigError(file + ": cannot read " + std::string(what) + ": is a directory");
  }
  std::ifstream in(file);
  if (!in) {
    throw WebConfigError(file + ": cannot read " + std::string(what) + ": " +
                         std::generic_category().message(errno));
  }
}

int protocol_version(TlsVersion v) {
  return v == TlsVersion::tls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

// The certificate is asked for but any one is accepted (RequestClientCert,
// RequireAnyClientCert): the verification result is ignored.
int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

// Never prompt on a terminal for a key's passphrase: note that one was wanted, and fail.
int refuse_passphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

// The first private key in the PEM file `path`; throws WebConfigError.
EVP_PKEY* load_private_key(const std::string& path) {
  ERR_clear_error();
  BIO* bio = BIO_new_file(path.c_str(), "r");
  if (bio == nullptr) {
    throw WebConfigError(path + ": cannot read the private key (key_file): " + openssl_errors());
  }
  bool passphrase_asked = false;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, refuse_passphrase, &passphrase_asked);
  BIO_free(bio);
  if (key == nullptr && passphrase_asked) {
    ERR_clear_error();
    throw WebConfigError(path +
                         ": cannot load the private key (key_file): it is encrypted, and a "
                         "passphrase cannot be given; store it decrypted (openssl pkey -in KEY "
                         "-out PLAIN), readable by the exporter's user only");
  }
  if (key == nullptr) {
    std::ifstream in(path);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("PRIVATE KEY-----") == std::string::npos) {
      ERR_clear_error();
      throw WebConfigError(path +
                           ": cannot load the private key (key_file): no PEM private key in it "
                           "(-----BEGIN PRIVATE KEY-----)");
    }
    throw WebConfigError(path + ": cannot load the private key (key_file): " + openssl_errors());
  }
  return key;
}

std::string base64_alphabet_index() {
  std::string table(256, '\xff');
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i)
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<char>(i);
  return table;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view client_auth_name(ClientAuth a) {
  for (const auto& [name, value] : kClientAuthNames) {
    if (value == a) return name;
  }
  return "?";
}

std::string_view tls_version_name(TlsVersion v) {
  return v == TlsVersion::tls13 ? "TLS13" : "TLS12";
}

WebConfig parse_web_config(std::string_view yaml, const std::string& source_name,
                           const std::string& base_dir) {
  return Parser(source_name, base_dir).run(yaml);
}

WebConfig load_web_config(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw WebConfigError(path + ": cannot read: is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw WebConfigError(path + ": cannot read: " + std::generic_category().message(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw WebConfigError(path + ": cannot read");
  return parse_web_config(text.str(), path, fs::path(path).parent_path().string());
}

std::shared_ptr<boost::asio::ssl::context> make_tls_context(const TlsServerSettings& tls) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* h = ctx->native_handle();
  // No SSL_OP_NO_SSLv2 or SSL_OP_SINGLE_DH_USE: both are 0 (no-ops) since OpenSSL 1.1.0.
  SSL_CTX_set_options(h, SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                             SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_min_proto_version(h, protocol_version(tls.min_version));
  if (tls.max_version) SSL_CTX_set_max_proto_version(h, protocol_version(*tls.max_version));
  // TLS 1.2: forward-secret AEAD suites only (TLS 1.3 suites are all of that kind).
  SSL_CTX_set_cipher_list(h, "ECDHE+AESGCM:ECDHE+CHACHA20");
  static constexpr unsigned char kSessionContext[] = "sip_trunk_exporter";
  SSL_CTX_set_session_id_context(h, kSessionContext, sizeof kSessionContext - 1);

  ERR_clear_error();
  require_readable(tls.cert_file, "the certificate (cert_file)");
  if (SSL_CTX_use_certificate_chain_file(h, tls.cert_file.c_str()) != 1) {
    throw WebConfigError(tls.cert_file +
                         ": cannot load the certificate (cert_file): " + openssl_errors());
  }
  require_readable(tls.key_file, "the private key (key_file)");
  const std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(load_private_key(tls.key_file),
                                                                EVP_PKEY_free);
  X509* leaf = SSL_CTX_get0_certificate(h);  // the first certificate of cert_file
  if (leaf == nullptr || X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    throw WebConfigError(tls.key_file +
                         ": the private key (key_file) does not match the certificate in " +
                         tls.cert_file);
  }
  if (SSL_CTX_use_PrivateKey(h, key.get()) != 1) {
    throw WebConfigError(tls.key_file +
                         ": cannot use the private key (key_file): " + openssl_errors());
  }

  if (!tls.client_ca_file.empty()) {
    require_readable(tls.client_ca_file, "the client CA (client_ca_file)");
    if (SSL_CTX_load_verify_locations(h, tls.client_ca_file.c_str(), nullptr) != 1) {
      throw WebConfigError(tls.client_ca_file +
                           ": cannot load the client CA (client_ca_file): " + openssl_errors());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names == nullptr) {
      throw WebConfigError(tls.client_ca_file +
                           ": cannot load the client CA (client_ca_file): no certificate in it");
    }
    SSL_CTX_set_client_CA_list(h, names);  // takes ownership
  }
  switch (tls.client_auth) {
    case ClientAuth::no_client_cert:
      SSL_CTX_set_verify(h, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::request_client_cert:
      SSL_CTX_set_verify(h, SSL_VERIFY_PEER, accept_any_certificate);
      break;
    case ClientAuth::require_any_client_cert:
      SSL_CTX_set_verify(h, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         accept_any_certificate);
      break;
    case ClientAuth::verify_client_cert_if_given:
      SSL_CTX_set_verify(h, SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuth::require_and_verify_client_cert:
      SSL_CTX_set_verify(h, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  ERR_clear_error();
  return ctx;
}

// ---------------------------------------------------------------------------
// Basic auth

struct BasicAuth::CryptBuffer {
  crypt_data data{};
};

std::optional<std::string> decode_base64(std::string_view in) {
  static const std::string table = base64_alphabet_index();
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int pad = 0;
    std::uint32_t bits = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      if (c == '=' && last && j >= 2) {
        ++pad;
        bits <<= 6;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      const auto v = static_cast<unsigned char>(table[static_cast<unsigned char>(c)]);
      if (v == 0xff) return std::nullopt;
      bits = (bits << 6) | v;
    }
    out += static_cast<char>((bits >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((bits >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(bits & 0xff);
  }
  return out;
}

BasicAuth::BasicAuth() : capacity_(0), crypt_buffer_(std::make_unique<CryptBuffer>()) {}

BasicAuth::BasicAuth(const std::map<std::string, std::string>& users, std::size_t cache_capacity)
    : capacity_(cache_capacity), crypt_buffer_(std::make_unique<CryptBuffer>()) {
  int cost = 4;
  for (const auto& [user, hash] : users) {
    if (!is_bcrypt_hash(hash)) {
      throw WebConfigError("basic_auth_users." + user + ": not a bcrypt hash");
    }
    cost = std::max(cost, bcrypt_cost(hash));
    users_.emplace(user, hash);
  }
  if (users_.empty()) return;
  // Unknown users are checked against this salt at the highest configured cost, so that a
  // wrong user name takes as long as a wrong password.
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting.data(),
                       static_cast<int>(setting.size())) == nullptr) {
    throw std::runtime_error("crypt_gensalt_rn: " + std::generic_category().message(errno));
  }
  dummy_setting_ = setting.data();
  salt_.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(salt_.data()), static_cast<int>(salt_.size())) !=
      1) {
    throw std::runtime_error("RAND_bytes: " + openssl_errors());
  }
}

BasicAuth::~BasicAuth() {
  OPENSSL_cleanse(&crypt_buffer_->data, sizeof crypt_buffer_->data);
  if (!salt_.empty()) OPENSSL_cleanse(salt_.data(), salt_.size());
}

namespace {

// The token68 of "Basic <token68>" (RFC 7617: the scheme is case-insensitive, then one or
// more spaces); empty when the header is anything else.
std::string_view basic_token(std::string_view authorization) {
  authorization = trim(authorization);
  if (authorization.size() < 7 || !iequals(authorization.substr(0, 5), "Basic") ||
      authorization[5] != ' ') {
    return {};
  }
  return trim(authorization.substr(6));
}

}  // namespace

std::optional<bool> BasicAuth::quick_check(std::string_view authorization) const {
  if (!enabled()) return true;
  const std::string_view credentials = basic_token(authorization);
  if (credentials.empty()) return false;
  if (cache_lookup(cache_key(credentials))) return true;
  std::optional<std::string> decoded = decode_base64(credentials);
  if (!decoded) return false;
  const bool has_colon = decoded->find(':') != std::string::npos;
  OPENSSL_cleanse(decoded->data(), decoded->size());
  if (!has_colon) return false;
  return std::nullopt;
}

bool BasicAuth::check(std::string_view authorization) const {
  if (!enabled()) return true;
  const std::string_view credentials = basic_token(authorization);
  if (credentials.empty()) return false;
  const std::string key = cache_key(credentials);
  if (cache_lookup(key)) return true;
  std::optional<std::string> decoded = decode_base64(credentials);
  if (!decoded) return false;
  bool ok = false;
  const auto colon = decoded->find(':');
  // A NUL would end the password early for crypt_r: "secret\0junk" must not pass as "secret".
  if (colon != std::string::npos && decoded->find('\0', colon) == std::string::npos) {
    ok = verify(decoded->substr(0, colon), decoded->substr(colon + 1));
  }
  OPENSSL_cleanse(decoded->data(), decoded->size());
  if (ok) cache_insert(key);
  return ok;
}

bool BasicAuth::verify(const std::string& user, const std::string& password) const {
  const auto it = users_.find(user);
  const bool known = it != users_.end();
  const std::string& setting = known ? it->second : dummy_setting_;
  std::lock_guard lock(bcrypt_mutex_);
  ++bcrypt_calls_;
  crypt_data& data = crypt_buffer_->data;
  const char* out = crypt_r(password.c_str(), setting.c_str(), &data);
  bool match = false;
  if (out != nullptr && out[0] != '*') {
    const std::size_t n = std::strlen(out);
    // CRYPTO_memcmp: the time taken does not depend on where the strings differ.
    match = n == setting.size() && CRYPTO_memcmp(out, setting.data(), n) == 0;
  }
  OPENSSL_cleanse(data.output, sizeof data.output);
  return known && match;
}

std::string BasicAuth::cache_key(std::string_view credentials) const {
  std::string digest(EVP_MAX_MD_SIZE, '\0');
  unsigned int size = 0;
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  const bool ok =
      md != nullptr && EVP_DigestInit_ex(md, EVP_sha256(), nullptr) == 1 &&
      EVP_DigestUpdate(md, salt_.data(), salt_.size()) == 1 &&
      EVP_DigestUpdate(md, credentials.data(), credentials.size()) == 1 &&
      EVP_DigestFinal_ex(md, reinterpret_cast<unsigned char*>(digest.data()), &size) == 1;
  EVP_MD_CTX_free(md);
  if (!ok) return {};  // no key: no caching
  digest.resize(size);
  return digest;
}

bool BasicAuth::cache_lookup(const std::string& key) const {
  if (key.empty() || capacity_ == 0) return false;
  std::lock_guard lock(cache_mutex_);
  const auto it = cache_.find(key);
  if (it == cache_.end()) return false;
  lru_.splice(lru_.begin(), lru_, it->second);
  return true;
}

void BasicAuth::cache_insert(const std::string& key) const {
  if (key.empty() || capacity_ == 0) return;
  std::lock_guard lock(cache_mutex_);
  if (const auto it = cache_.find(key); it != cache_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(key);
  cache_.emplace(key, lru_.begin());
  while (cache_.size() > capacity_) {
    cache_.erase(lru_.back());
    lru_.pop_back();
  }
}

std::size_t BasicAuth::cache_size() const {
  std::lock_guard lock(cache_mutex_);
  return cache_.size();
}

}  // namespace stx
