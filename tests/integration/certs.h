#pragma once
// Test certificates made with the openssl CLI into a TempDir: a test CA, server and
// client certificates it signs (subjectAltName DNS names and IPs, an exact validity
// window, expired ones included, via `openssl ca -startdate/-enddate`), and a second CA
// that nobody trusts. Keys are EC P-256: fast to make, accepted by Kamailio and OpenSSL.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "harness.h"

namespace stx::it {

struct CertKey {
  std::filesystem::path cert;   // PEM certificate (the leaf only)
  std::filesystem::path key;    // PEM private key, unencrypted
  std::int64_t not_before = 0;  // Unix seconds, exactly as written into the certificate
  std::int64_t not_after = 0;
};

struct CertRequest {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ips;  // "127.0.0.1", "::1"
  std::int64_t not_before = 0;   // Unix seconds
  std::int64_t not_after = 0;
  bool client = false;  // extendedKeyUsage clientAuth instead of serverAuth
};

// A self-signed CA (10 years from now) in `dir`/<name>.crt and .key, with the files
// `openssl ca` needs to issue certificates.
class TestCa {
 public:
  TestCa(const std::filesystem::path& dir, std::string_view name);
  const std::filesystem::path& cert() const { return cert_; }
  const std::filesystem::path& key() const { return key_; }
  // A certificate and key signed by this CA, written to `dir`/<stem>.crt and .key.
  CertKey issue(std::string_view stem, const CertRequest& request) const;

 private:
  std::filesystem::path dir_;
  std::string name_;
  std::filesystem::path cert_;
  std::filesystem::path key_;
  std::filesystem::path config_;
};

// The set the transport tests use, in its own TempDir (removed on destruction).
class TestCertificates {
 public:
  TestCertificates();
  const std::filesystem::path& dir() const { return dir_.path(); }
  const TestCa& ca() const { return ca_; }
  const TestCa& untrusted_ca() const { return untrusted_ca_; }

  CertKey server;            // sip.example.test, 127.0.0.1, ::1; valid from an hour ago for 30 days
  CertKey expired;           // same names; valid two years ago for one year
  CertKey wrong_name;        // wrong.example.test only; currently valid
  CertKey client;            // probe.example.test, clientAuth, signed by the test CA
  CertKey client_untrusted;  // the same, signed by the CA nobody trusts

 private:
  TempDir dir_;
  TestCa ca_;
  TestCa untrusted_ca_;
};

// A key file that is not the key of `cert` (for the mismatch error).
std::filesystem::path make_unrelated_key(const std::filesystem::path& dir, std::string_view stem);

}  // namespace stx::it
