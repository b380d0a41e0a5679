// auth_trusted_hosts (which /probe targets a module's credentials answer) and
// probe_allowed_targets (which hosts /probe may probe at all).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "parse_helpers.h"

namespace stx {
namespace {

using ::testing::HasSubstr;

using test::error_of;
using test::parse_ok;
using test::parse_probe_only;

constexpr const char* kCredentials = "auth_user = \"probe\"\nauth_password = \"secret\"\n";

SipUri uri_of(const std::string& text) {
  std::string error;
  auto uri = parse_sip_uri(text, &error);
  EXPECT_TRUE(uri) << text << ": " << error;
  return uri.value_or(SipUri{});
}

bool sends_credentials(const ModuleConfig& module, const std::string& uri) {
  return target_for_probe(module, uri).shared->auth.has_value();
}

class ProbeAuth : public ::testing::Test {
 protected:
  Config config_ = parse_probe_only(std::string("[defaults]\n") + kCredentials + R"(
[module.carrier]
auth_trusted_hosts = ["sip.carrier.example", "*.edge.carrier.example", "203.0.113.0/24",
                      "2001:db8::1"]
[module.shared]
)");
  const ModuleConfig& carrier_ = *find_module(config_, "carrier");
};

TEST_F(ProbeAuth, TrustedHostsGetTheCredentials) {
  for (const char* uri :
       {"sip:sip.carrier.example", "sip:SIP.Carrier.Example:5061",
        "sip:user@a.edge.carrier.example", "sip:b.a.edge.carrier.example", "sip:203.0.113.7",
        "sip:203.0.113.255:5080", "sip:[2001:db8::1]", "sip:[2001:DB8:0::1]:5062"}) {
    EXPECT_TRUE(sends_credentials(carrier_, uri)) << uri;
  }
}

TEST_F(ProbeAuth, OtherHostsGetNoCredentials) {
  for (const char* uri :
       {"sip:evil.example", "sip:carrier.example", "sip:edge.carrier.example",
        "sip:sip.carrier.example.evil.example", "sip:xsip.carrier.example", "sip:203.0.114.7",
        "sip:127.0.0.1", "sip:[2001:db8::2]", "sip:[::ffff:203.0.113.7]"}) {
    EXPECT_FALSE(sends_credentials(carrier_, uri)) << uri;
  }
}

// [defaults] credentials are natural to share across trunks; /probe must not hand them out.
TEST_F(ProbeAuth, DefaultModuleAndModulesWithoutTrustedHostsNeverSendCredentials) {
  ASSERT_TRUE(find_module(config_, "default")->settings.shared->auth);
  EXPECT_FALSE(sends_credentials(*find_module(config_, "default"), "sip:203.0.113.7"));
  EXPECT_FALSE(sends_credentials(*find_module(config_, "shared"), "sip:203.0.113.7"));
}

TEST_F(ProbeAuth, ConfiguredTargetsKeepTheirCredentials) {
  Config config = parse_ok(std::string("[defaults]\n") + kCredentials +
                           "[[target]]\nname = \"t\"\nuri = \"sip:198.51.100.1\"\n");
  ASSERT_TRUE(config.targets.at(0).shared->auth);
  EXPECT_EQ(config.targets.at(0).shared->auth->user, "probe");
}

TEST_F(ProbeAuth, ModuleCredentialsWithoutTrustedHostsWarn) {
  ASSERT_EQ(config_.warnings.size(), 1u);
  EXPECT_THAT(config_.warnings[0], HasSubstr("[module.shared]"));
  EXPECT_THAT(config_.warnings[0], HasSubstr("without auth_trusted_hosts"));
}

TEST(ProbeAuthErrors, TrustedHostsOnlyInModules) {
  EXPECT_THAT(error_of("[defaults]\nauth_trusted_hosts = [\"a.example\"]\n"),
              HasSubstr("[defaults]: unknown key \"auth_trusted_hosts\" (auth_trusted_hosts can "
                        "only be set in a [module.<name>] table)"));
  EXPECT_THAT(error_of("[[target]]\nname = \"t\"\nuri = \"sip:a.example\"\n"
                       "auth_trusted_hosts = [\"a.example\"]\n"),
              HasSubstr("can only be set in a [module.<name>] table"));
}

TEST(ProbeAuthErrors, BadEntriesNameTheKeyAndPosition) {
  const std::string module = "[module.m]\nauth_trusted_hosts = ";
  auto error = [&](const std::string& value) {
    return error_of("[exporter]\nallow_no_targets = true\n" + module + value + "\n");
  };
  EXPECT_EQ(error("\"a.example\""),
            "config.toml:4:22: [module.m]: auth_trusted_hosts: expected an array like "
            "[\"sip.carrier.example\"], got string");
  EXPECT_EQ(error("[\"a.example\", 5]"),
            "config.toml:4:36: [module.m]: auth_trusted_hosts: expected a string, got integer");
  EXPECT_THAT(error("[\"10.0.0.0/33\"]"),
              HasSubstr("auth_trusted_hosts: \"10.0.0.0/33\" is not a CIDR: the prefix length "
                        "must be 0-32"));
  EXPECT_THAT(error("[\"a.example/8\"]"), HasSubstr("is not a CIDR"));
  for (const char* bad : {"", "a b", "*", "*.", "a.*.example", "u@a.example", "a.example:5060"}) {
    EXPECT_THAT(error("[\"" + std::string(bad) + "\"]"),
                HasSubstr("is not a host name, \"*.<domain>\", IP address or CIDR"))
        << bad;
  }
}

TEST(ProbeAllowedTargets, ParsedFromTheExporterTable) {
  Config config = parse_ok(
      "[exporter]\nallow_no_targets = true\n"
      "probe_allowed_targets = [\"*.carrier.example\", \"192.0.2.0/24\"]\n");
  const HostPatterns& allowed = config.exporter.probe_allowed_targets;
  EXPECT_TRUE(host_matches(allowed, uri_of("sip:a.carrier.example")));
  EXPECT_TRUE(host_matches(allowed, uri_of("sip:192.0.2.9")));
  EXPECT_FALSE(host_matches(allowed, uri_of("sip:169.254.169.254")));
  EXPECT_FALSE(host_matches(allowed, uri_of("sip:localhost")));
  EXPECT_TRUE(parse_probe_only("").exporter.probe_allowed_targets.empty());
  EXPECT_THAT(error_of("[exporter]\nprobe_allowed_targets = [\"10.0.0.0/x\"]\n"),
              HasSubstr("[exporter]: probe_allowed_targets: \"10.0.0.0/x\" is not a CIDR"));
}

TEST(HostMatches, NetworksCompareAddressesNotText) {
  Config config = parse_ok(R"([exporter]
allow_no_targets = true
probe_allowed_targets = ["10.16.0.0/12", "[fd00::]/8", "0.0.0.0/0"]
)");
  HostPatterns v6_only = config.exporter.probe_allowed_targets;
  v6_only.networks.pop_back();
  EXPECT_TRUE(host_matches(v6_only, uri_of("sip:10.31.255.255")));
  EXPECT_FALSE(host_matches(v6_only, uri_of("sip:10.32.0.0")));
  EXPECT_FALSE(host_matches(v6_only, uri_of("sip:10.15.255.255")));
  EXPECT_TRUE(host_matches(v6_only, uri_of("sip:[fdff::1]")));
  EXPECT_FALSE(host_matches(v6_only, uri_of("sip:[fe00::1]")));
  // /0 takes every IPv4 address, and no IPv6 one and no name.
  const HostPatterns& all = config.exporter.probe_allowed_targets;
  EXPECT_TRUE(host_matches(all, uri_of("sip:198.51.100.1")));
  EXPECT_FALSE(host_matches(all, uri_of("sip:[2001:db8::1]")));
  EXPECT_FALSE(host_matches(all, uri_of("sip:a.example")));
}

}  // namespace
}  // namespace stx
