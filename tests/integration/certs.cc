#include "certs.h"

#include <ctime>
#include <stdexcept>

namespace fs = std::filesystem;

namespace stx::it {
namespace {

constexpr std::int64_t kDay = 24 * 3600;

// openssl 3.0 takes explicit dates only through `openssl ca`: YYYYMMDDHHMMSSZ.
std::string asn1_time(std::int64_t unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%SZ", &tm);
  return buf;
}

void openssl(const fs::path& dir, const std::string& what, std::vector<std::string> args) {
  args.insert(args.begin(), require_tool("openssl").string());
  const RunResult r = run_command("openssl-" + what, std::move(args), dir, 30s);
  if (r.exit_code != 0) {
    throw std::runtime_error("openssl " + what + " failed (" + describe_wait_status(r.status) +
                             "): " + r.err + r.out);
  }
}

void make_key(const fs::path& dir, const fs::path& key) {
  openssl(
      dir, "genpkey",
      {"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.string()});
}

std::string subject_alt_names(const CertRequest& r) {
  std::string out;
  for (const auto& d : r.dns_names) out += (out.empty() ? "" : ",") + ("DNS:" + d);
  for (const auto& ip : r.ips) out += (out.empty() ? "" : ",") + ("IP:" + ip);
  return out;
}

}  // namespace

TestCa::TestCa(const fs::path& dir, std::string_view name)
    : dir_(dir / std::string(name)),
      name_(name),
      cert_(dir / (std::string(name) + ".crt")),
      key_(dir / (std::string(name) + ".key")),
      config_(dir_ / "ca.cnf") {
  fs::create_directories(dir_ / "issued");
  write_file(dir_ / "index.txt", "");
  write_file(dir_ / "serial", "01\n");
  write_file(config_,
             "[ca]\n"
             "default_ca = test_ca\n"
             "[test_ca]\n"
             "database = " +
                 (dir_ / "index.txt").string() + "\n" +
                 "new_certs_dir = " + (dir_ / "issued").string() + "\n" +
                 "serial = " + (dir_ / "serial").string() + "\n" +
                 "default_md = sha256\n"
                 "policy = any_name\n"
                 "unique_subject = no\n"
                 "copy_extensions = none\n"
                 "[any_name]\n"
                 "commonName = supplied\n");
  make_key(dir, key_);
  openssl(dir, "req-ca",
          {"req", "-x509", "-new", "-key", key_.string(), "-subj", "/CN=" + name_, "-days", "3650",
           "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign", "-out", cert_.string()});
}

CertKey TestCa::issue(std::string_view stem, const CertRequest& request) const {
  const fs::path dir = cert_.parent_path();
  CertKey out;
  out.cert = dir / (std::string(stem) + ".crt");
  out.key = dir / (std::string(stem) + ".key");
  out.not_before = request.not_before;
  out.not_after = request.not_after;
  const fs::path csr = dir_ / (std::string(stem) + ".csr");
  const fs::path ext = dir_ / (std::string(stem) + ".ext");
  make_key(dir, out.key);
  openssl(dir, "req-" + std::string(stem),
          {"req", "-new", "-key", out.key.string(), "-subj", "/CN=" + request.common_name, "-out",
           csr.string()});
  std::string extensions =
      "basicConstraints = critical,CA:FALSE\n"
      "keyUsage = critical,digitalSignature\n"
      "subjectKeyIdentifier = hash\n"
      "authorityKeyIdentifier = keyid\n";
  extensions +=
      request.client ? "extendedKeyUsage = clientAuth\n" : "extendedKeyUsage = serverAuth\n";
  if (const std::string san = subject_alt_names(request); !san.empty()) {
    extensions += "subjectAltName = " + san + "\n";
  }
  write_file(ext, extensions);
  openssl(dir, "ca-" + std::string(stem),
          {"ca", "-batch", "-notext", "-config", config_.string(), "-cert", cert_.string(),
           "-keyfile", key_.string(), "-in", csr.string(), "-out", out.cert.string(), "-startdate",
           asn1_time(request.not_before), "-enddate", asn1_time(request.not_after), "-extfile",
           ext.string()});
  return out;
}

TestCertificates::TestCertificates()
    : dir_("stx-certs"), ca_(dir_.path(), "test-ca"), untrusted_ca_(dir_.path(), "untrusted-ca") {
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  CertRequest good;
  good.common_name = "sip.example.test";
  good.dns_names = {"sip.example.test"};
  good.ips = {"127.0.0.1", "::1"};
  good.not_before = now - 3600;
  good.not_after = now + 30 * kDay;
  server = ca_.issue("server", good);

  CertRequest old = good;
  old.not_before = now - 2 * 365 * kDay;
  old.not_after = now - 365 * kDay;
  expired = ca_.issue("expired", old);

  CertRequest wrong = good;
  wrong.common_name = "wrong.example.test";
  wrong.dns_names = {"wrong.example.test"};
  wrong.ips.clear();
  wrong_name = ca_.issue("wrong-name", wrong);

  CertRequest probe;
  probe.common_name = "probe.example.test";
  probe.dns_names = {"probe.example.test"};
  probe.not_before = now - 3600;
  probe.not_after = now + 30 * kDay;
  probe.client = true;
  client = ca_.issue("client", probe);
  client_untrusted = untrusted_ca_.issue("client-untrusted", probe);
}

fs::path make_unrelated_key(const fs::path& dir, std::string_view stem) {
  fs::path key = dir / (std::string(stem) + ".key");
  make_key(dir, key);
  return key;
}

}  // namespace stx::it
