// method = "register" against a real registrar: Kamailio with registrar, usrloc (in memory)
// and auth with a fixed password (tests/integration/peers/kamailio_registrar.cfg). Bindings
// are made with sipsak and read back through Kamailio's own RPC (kamcmd ul.dump over the
// ctl module), so the test sees what the registrar holds, not what the exporter reports.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.h"

namespace stx::it {
namespace {

constexpr const char* kPassword = "s3cret";

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string field(const LogLine& l, const std::string& key) {
  auto it = l.find(key);
  return it == l.end() ? std::string("<missing>") : it->second;
}

std::string percent_colons(const std::string& uri) {
  std::string encoded;
  for (char c : uri) encoded += c == ':' ? std::string("%3A") : std::string(1, c);
  return encoded;
}

// The registrar, with the digest challenge it sends: algorithm MD5 or SHA-256, qop=auth or
// none.
struct Registrar {
  Registrar(const std::filesystem::path& dir, const std::string& algorithm = "MD5", bool qop = true)
      : kam(dir, "kamailio_registrar.cfg", 0, "registrar",
            {{"@AUTH_ALGORITHM@", algorithm}, {"@QOP_FLAGS@", qop ? "1" : "0"}}) {}

  // sip:127.0.0.1:<port>, the registrar (a user part would be dropped from the R-URI).
  std::string uri() const { return kam.uri(); }
  KamailioPeer kam;
};

// A register target for `user` at the registrar with `password`.
TargetSpec register_target(const std::string& name, const Registrar& r, const std::string& user,
                           const std::string& password,
                           std::vector<std::pair<std::string, std::string>> more = {}) {
  TargetSpec t{name, r.uri(), {}, {}};
  t.overrides = {{"method", "\"register\""},
                 {"aor", toml_string("sip:" + user + "@127.0.0.1")},
                 {"auth_user", toml_string(user)},
                 {"auth_password", toml_string(password)}};
  for (auto& o : more) t.overrides.push_back(std::move(o));
  return t;
}

// Registers sip:<user>@127.0.0.1:<contact_port> for `expires` seconds with sipsak (digest).
void register_binding(const Registrar& r, const std::filesystem::path& dir, const std::string& user,
                      int contact_port, int expires) {
  const std::string contact = "sip:" + user + "@127.0.0.1:" + std::to_string(contact_port);
  RunResult res = run_command("sipsak-register",
                              {require_tool("sipsak").string(), "-U", "-i", "-H", "127.0.0.1", "-s",
                               "sip:" + user + "@127.0.0.1:" + std::to_string(r.kam.port()), "-a",
                               kPassword, "-C", contact, "-x", std::to_string(expires), "-vv"},
                              dir, 15s);
  ASSERT_EQ(res.exit_code, 0) << "sipsak could not register " << contact << ":\n"
                              << res.out << res.err;
}

// One binding as Kamailio's usrloc holds it (`kamcmd ul.dump`): each "Key: value" line of a
// Contact block.
using Binding = std::map<std::string, std::string>;

std::vector<Binding> dump_bindings(const Registrar& r, const std::filesystem::path& dir) {
  RunResult res = run_command("kamcmd-ul-dump",
                              {require_tool("kamcmd").string(), "-s",
                               "unix:" + (r.kam.run_dir() / "kamailio_ctl").string(), "ul.dump"},
                              dir, 10s);
  if (res.exit_code != 0) {
    throw std::runtime_error("kamcmd ul.dump failed:\n" + res.out + res.err);
  }
  std::vector<Binding> out;
  bool in_contact = false;
  for (const std::string& raw : split_lines(res.out)) {
    const auto b = raw.find_first_not_of(" \t");
    if (b == std::string::npos) continue;
    const std::string line = raw.substr(b);
    if (line == "Contact: {") {
      in_contact = true;
      out.emplace_back();
      continue;
    }
    if (in_contact && line == "}") {
      in_contact = false;
      continue;
    }
    const auto colon = line.find(": ");
    if (in_contact && colon != std::string::npos) {
      out.back()[line.substr(0, colon)] = line.substr(colon + 2);
    }
  }
  return out;
}

class RegisterTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

// Right password, no binding: a 200 listing none is healthy, with 0 contacts.
TEST_F(RegisterTest, RightPasswordWithoutBindingIsUpWithZeroContacts) {
  Registrar reg(tmp_.path());
  ExporterConfigSpec spec;
  spec.targets = {register_target("reg", reg, "pbx01", kPassword)};
  Exporter exporter(tmp_.path(), spec);
  const Labels t{{"target", "reg"}};
  auto s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.value("sip_target_up", t) == 1.0 &&
           e.value("sip_target_registered_contacts", t).has_value();
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"reg\"");
  EXPECT_EQ(s.last.value("sip_target_registered_contacts", t), 0.0);
  EXPECT_EQ(s.last.value("sip_target_last_status_code", t), 200.0);
  EXPECT_EQ(s.last.sum("sip_probe_failures_total", t), 0.0) << s.last.grep("failures");
  EXPECT_EQ(s.last.value("sip_probe_responses_total", {{"target", "reg"}, {"code", "401"}}),
            std::nullopt)
      << "the challenge is answered inside the probe, not counted as its final response";
  EXPECT_TRUE(dump_bindings(reg, tmp_.path()).empty()) << "a fetch must not create a binding";
}

// One binding made by sipsak: counted; min_contacts 1 is met, min_contacts 2 is not
// (reason no_binding, with the 200 still counted as the answer).
TEST_F(RegisterTest, OneBindingIsCountedAndMinContactsJudgesIt) {
  Registrar reg(tmp_.path());
  register_binding(reg, tmp_.path(), "pbx01", 5999, 3600);
  ASSERT_EQ(dump_bindings(reg, tmp_.path()).size(), 1u);

  ExporterConfigSpec spec;
  spec.failures_before_down = 1;
  spec.targets = {register_target("one", reg, "pbx01", kPassword, {{"min_contacts", "1"}}),
                  register_target("two", reg, "pbx01", kPassword, {{"min_contacts", "2"}}),
                  register_target("nobody", reg, "pbx02", kPassword, {{"min_contacts", "1"}})};
  Exporter exporter(tmp_.path(), spec);
  const Labels one{{"target", "one"}};
  const Labels two{{"target", "two"}};
  const Labels nobody{{"target", "nobody"}};
  auto s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.value("sip_target_up", one) == 1.0 &&
           e.value("sip_target_state", {{"target", "two"}, {"state", "down"}}) == 1.0 &&
           e.value("sip_target_state", {{"target", "nobody"}, {"state", "down"}}) == 1.0;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("target=");
  const Exposition& e = s.last;
  EXPECT_EQ(e.value("sip_target_registered_contacts", one), 1.0);
  EXPECT_EQ(e.value("sip_target_registered_contacts", two), 1.0);
  EXPECT_EQ(e.value("sip_target_registered_contacts", nobody), 0.0);
  EXPECT_GE(e.value("sip_probe_failures_total", {{"target", "two"}, {"reason", "no_binding"}})
                .value_or(0),
            1.0);
  EXPECT_GE(e.value("sip_probe_failures_total", {{"target", "nobody"}, {"reason", "no_binding"}})
                .value_or(0),
            1.0);
  EXPECT_EQ(e.value("sip_target_last_status_code", two), 200.0);
  EXPECT_GE(e.value("sip_probe_responses_total", {{"target", "two"}, {"code", "200"}}).value_or(0),
            1.0);
  EXPECT_EQ(e.value("sip_probe_failures_total", {{"target", "one"}, {"reason", "no_binding"}}),
            0.0);
  const auto changes = log_lines_with_msg(exporter.process().stderr_text(), "target state changed");
  bool logged = false;
  for (const LogLine& l : changes) {
    if (field(l, "target") == "two" && field(l, "to") == "down") {
      logged = true;
      EXPECT_EQ(field(l, "reason"), "no_binding");
      EXPECT_EQ(field(l, "code"), "200");
    }
  }
  EXPECT_TRUE(logged) << "no state change line for target two";
}

// A wrong password: the registrar challenges our credentials again, and the probe fails
// with reason auth (not as an unhealthy 401).
TEST_F(RegisterTest, WrongPasswordFailsWithReasonAuth) {
  Registrar reg(tmp_.path());
  ExporterConfigSpec spec;
  spec.failures_before_down = 1;
  spec.targets = {register_target("wrong", reg, "pbx01", "not-the-password")};
  Exporter exporter(tmp_.path(), spec);
  const Labels t{{"target", "wrong"}};
  auto s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.value("sip_target_state", {{"target", "wrong"}, {"state", "down"}}) == 1.0 &&
           e.value("sip_probe_failures_total", {{"target", "wrong"}, {"reason", "auth"}})
                   .value_or(0) >= 2;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("\"wrong\"");
  EXPECT_EQ(s.last.value("sip_target_last_status_code", t), 401.0);
  EXPECT_EQ(s.last.value("sip_target_up", t), 0.0);
  EXPECT_EQ(s.last.value("sip_target_registered_contacts", t), std::nullopt) << "no 2xx, no count";
  EXPECT_EQ(s.last.value("sip_target_state", {{"target", "wrong"}, {"state", "degraded"}}), 0.0);
  auto logs = exporter.probe_logs("wrong");
  ASSERT_FALSE(logs.empty());
  EXPECT_EQ(field(logs.front(), "reason"), "auth");
  EXPECT_EQ(field(logs.front(), "code"), "401");
  EXPECT_EQ(field(logs.front(), "transmissions"), "2")
      << "REGISTER, then REGISTER with credentials";
}

// RFC 3261 10.2.3: a REGISTER without Contact fetches and changes nothing. Twenty probes
// (through /probe with a register module) leave sipsak's binding as it was: same Call-ID,
// CSeq, ruid, last-modified time and absolute expiry, in Kamailio's own usrloc.
TEST_F(RegisterTest, TwentyProbesLeaveTheBindingAndItsExpiryUnchanged) {
  Registrar reg(tmp_.path());
  register_binding(reg, tmp_.path(), "pbx01", 5999, 3600);
  const std::vector<Binding> before = dump_bindings(reg, tmp_.path());
  const double before_at = wall_seconds();
  ASSERT_EQ(before.size(), 1u);
  ASSERT_EQ(before[0].at("Address"), "sip:pbx01@127.0.0.1:5999");

  ExporterConfigSpec spec;
  // The background target fetches every second too: more probes that must change nothing.
  spec.targets = {register_target("reg", reg, "pbx01", kPassword)};
  spec.extra_toml =
      "\n[module.reg]\nmethod = \"register\"\naor = \"sip:pbx01@127.0.0.1\"\n"
      "auth_user = \"pbx01\"\nauth_password = \"s3cret\"\nauth_trusted_hosts = [\"127.0.0.1\"]\n"
      "min_contacts = 1\n";
  Exporter exporter(tmp_.path(), spec);
  const std::string path = "/probe?module=reg&target=" + percent_colons(reg.uri());
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = exporter.get(path);
    ASSERT_EQ(r.status, 200) << r.body;
    Exposition e = Exposition::parse(r.body);
    ASSERT_EQ(e.value("sip_probe_success"), 1.0) << "probe " << i << ":\n" << r.body;
    ASSERT_EQ(e.value("sip_probe_status_code"), 200.0) << r.body;
    ASSERT_EQ(e.value("sip_probe_registered_contacts"), 1.0) << r.body;
  }
  // What went out, as /probe's debug view shows it: a REGISTER to the registrar without
  // Contact or Expires, answered with the one binding.
  const HttpResponse debug = exporter.get(path + "&debug=true");
  ASSERT_EQ(debug.status, 200) << debug.body;
  EXPECT_THAT(debug.body, ::testing::HasSubstr("Registered contacts: 1\n"));
  const auto req_at = debug.body.find("--- request ---\n");
  const auto resp_at = debug.body.find("--- response ---\n");
  ASSERT_NE(req_at, std::string::npos) << debug.body;
  ASSERT_NE(resp_at, std::string::npos) << debug.body;
  const std::string request = debug.body.substr(req_at, resp_at - req_at);
  EXPECT_THAT(request, ::testing::HasSubstr("REGISTER " + reg.uri() + " SIP/2.0\r\n"));
  EXPECT_THAT(request, ::testing::Not(::testing::HasSubstr("Contact")));
  EXPECT_THAT(request, ::testing::Not(::testing::HasSubstr("Expires")));
  EXPECT_THAT(debug.body.substr(resp_at), ::testing::HasSubstr("sip:pbx01@127.0.0.1:5999"));

  auto s = exporter.scrape_until(5s, [&](const Exposition& e) {
    return e.value("sip_target_registered_contacts", {{"target", "reg"}}) == 1.0 &&
           e.value("sip_probes_total", {{"target", "reg"}, {"result", "success"}}).value_or(0) >= 2;
  });
  EXPECT_TRUE(s.ok) << s.last.grep("registered_contacts");

  const std::vector<Binding> after = dump_bindings(reg, tmp_.path());
  const double after_at = wall_seconds();
  ASSERT_EQ(after.size(), 1u) << "a probe added or removed a binding";
  for (const char* key : {"Address", "Call-ID", "CSeq", "Ruid", "Last-Modified", "User-Agent"}) {
    EXPECT_EQ(after[0].at(key), before[0].at(key)) << key << " changed";
  }
  // Expires is the time left: the absolute expiry may differ by the dump's rounding only.
  const double expiry_before = before_at + std::stod(before[0].at("Expires"));
  const double expiry_after = after_at + std::stod(after[0].at("Expires"));
  EXPECT_NEAR(expiry_after, expiry_before, 2.0)
      << "Expires " << before[0].at("Expires") << " then " << after[0].at("Expires") << " after "
      << (after_at - before_at) << " s";
  EXPECT_LE(std::stod(after[0].at("Expires")), 3600.0);
}

// Digest variants the registrar can ask for: MD5 and SHA-256 (RFC 8760), with qop=auth and
// without qop.
struct DigestCase {
  const char* algorithm;
  bool qop;
};

class RegisterDigestTest : public ::testing::TestWithParam<DigestCase> {
 protected:
  TempDir tmp_;
};

TEST_P(RegisterDigestTest, RightPasswordIsUp) {
  Registrar reg(tmp_.path(), GetParam().algorithm, GetParam().qop);
  ExporterConfigSpec spec;
  spec.failures_before_down = 1;
  spec.targets = {register_target("ok", reg, "pbx01", kPassword),
                  register_target("bad", reg, "pbx01", "wrong")};
  Exporter exporter(tmp_.path(), spec);
  auto s = exporter.scrape_until(10s, [&](const Exposition& e) {
    return e.value("sip_target_up", {{"target", "ok"}}) == 1.0 &&
           e.value("sip_probe_failures_total", {{"target", "bad"}, {"reason", "auth"}})
                   .value_or(0) >= 1;
  });
  ASSERT_TRUE(s.ok) << s.last.grep("target=");
  EXPECT_EQ(s.last.value("sip_target_registered_contacts", {{"target", "ok"}}), 0.0);

  // The challenge really was of this kind: ask once by hand.
  UdpSocket sock;
  const std::string port = std::to_string(sock.port());
  sock.send_to(reg.kam.port(),
               "REGISTER " + reg.uri() + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:" + port +
                   ";branch=z9hG4bKregtest1\r\nMax-Forwards: 70\r\nFrom: "
                   "<sip:pbx01@127.0.0.1>;tag=1\r\nTo: <sip:pbx01@127.0.0.1>\r\nCall-ID: "
                   "regtest1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
  auto answer = sock.receive(Clock::now() + 3s);
  ASSERT_TRUE(answer) << "no answer to a REGISTER without credentials";
  const std::string challenge = sip_header(answer->data, "WWW-Authenticate").value_or("");
  EXPECT_THAT(answer->data, ::testing::StartsWith("SIP/2.0 401"));
  if (std::string(GetParam().algorithm) == "SHA-256") {
    EXPECT_THAT(challenge, ::testing::HasSubstr("algorithm=SHA-256")) << challenge;
  } else {
    EXPECT_THAT(challenge, ::testing::Not(::testing::HasSubstr("SHA-256"))) << challenge;
  }
  if (GetParam().qop) {
    EXPECT_THAT(challenge, ::testing::HasSubstr("qop=\"auth\"")) << challenge;
  } else {
    EXPECT_THAT(challenge, ::testing::Not(::testing::HasSubstr("qop"))) << challenge;
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, RegisterDigestTest,
                         ::testing::Values(DigestCase{"MD5", true}, DigestCase{"MD5", false},
                                           DigestCase{"SHA-256", true},
                                           DigestCase{"SHA-256", false}),
                         [](const auto& info) {
                           return std::string(info.param.algorithm[0] == 'M' ? "Md5" : "Sha256") +
                                  (info.param.qop ? "QopAuth" : "NoQop");
                         });

}  // namespace
}  // namespace stx::it
