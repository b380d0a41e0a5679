// [module.<name>] tables, find_module and target_for_probe (the /probe endpoint's config side).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "parse_helpers.h"
#include "version.h"

namespace stx {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;

using test::error_of;
using test::parse_ok;
using test::parse_probe_only;

// target_for_probe's error message, or fails the test.
std::string probe_error_of(const ModuleConfig& module, std::string_view uri) {
  try {
    TargetConfig target = target_for_probe(module, uri);
    ADD_FAILURE() << "accepted " << uri;
  } catch (const ConfigError& e) {
    std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
    return message;
  }
  return "";
}

std::vector<std::string> module_names(const Config& config) {
  std::vector<std::string> names;
  for (const ModuleConfig& module : config.modules) names.push_back(module.name);
  return names;
}

const std::string kTarget = "[[target]]\nname = \"a\"\nuri = \"sip:203.0.113.7\"\n";

// --- the default module ---------------------------------------------------------

TEST(ConfigModules, DefaultModuleAlwaysPresentWithBuiltInDefaults) {
  Config config = parse_probe_only("");
  ASSERT_THAT(module_names(config), ElementsAre("default"));
  const TargetConfig& s = config.modules[0].settings;
  EXPECT_EQ(s.name, "");
  EXPECT_EQ(s.uri, "");
  EXPECT_EQ(s.parsed_uri(), SipUri{});
  EXPECT_EQ(s.shared->interval, milliseconds(30'000));
  EXPECT_EQ(s.shared->timeout, milliseconds(5'000));
  EXPECT_EQ(s.shared->failures_before_down, 3);
  EXPECT_EQ(s.shared->successes_before_up, 1);
  EXPECT_TRUE(s.shared->healthy_codes.contains(200));
  EXPECT_FALSE(s.shared->healthy_codes.contains(404));
  EXPECT_EQ(s.shared->from, "sip:sip_trunk_exporter@localhost");
  EXPECT_EQ(s.shared->user_agent, default_user_agent());
  EXPECT_TRUE(s.labels.empty());
}

TEST(ConfigModules, DefaultModuleEqualsDefaultsWithoutLabels) {
  Config config = parse_ok(R"([defaults]
interval = "1m"
timeout = "2s"
failures_before_down = 5
successes_before_up = 2
healthy_codes = ["2xx", "404"]
from = "sip:probe@example.com"
user_agent = "probe/1"
labels = { site = "nyc" }
)" + kTarget);
  ASSERT_EQ(config.targets.size(), 1u);
  const ModuleConfig* module = find_module(config, "default");
  ASSERT_NE(module, nullptr);
  EXPECT_EQ(module->name, "default");

  // A target that sets only name and uri is [defaults] plus those (and the labels).
  TargetConfig expected = config.targets[0];
  expected.name.clear();
  expected.uri.clear();
  expected.labels.clear();
  EXPECT_EQ(module->settings, expected);
  EXPECT_EQ(module->settings.shared->timeout, milliseconds(2'000));
  EXPECT_EQ(module->settings.shared->user_agent, "probe/1");
}

TEST(ConfigModules, DefaultModuleTimeoutIsCappedWithAWarning) {
  // Valid for targets (shorter than the interval), too long for a /probe request.
  Config config = parse_ok("[defaults]\ninterval = \"5m\"\ntimeout = \"2m\"\n" + kTarget);
  EXPECT_EQ(config.targets.at(0).shared->timeout, milliseconds(120'000));
  EXPECT_EQ(find_module(config, "default")->settings.shared->timeout, milliseconds(60'000));
  EXPECT_THAT(config.warnings,
              ElementsAre("config.toml:3:11: [defaults]: timeout: 2m is longer than the 1m "
                          "allowed for /probe modules; /probe requests with module \"default\" "
                          "use 1m"));
}

TEST(ConfigModules, DefaultsTimeoutOfOneMinuteDoesNotWarn) {
  Config config = parse_ok("[defaults]\ntimeout = \"1m\"\ninterval = \"2m\"\n" + kTarget);
  EXPECT_TRUE(config.warnings.empty());
  EXPECT_EQ(find_module(config, "default")->settings.shared->timeout, milliseconds(60'000));
}

// --- [module.<name>] -------------------------------------------------------------

TEST(ConfigModules, ExampleFromTheReadme) {
  Config config = parse_ok(kTarget + R"(
[module.strict]
timeout = "3s"
healthy_codes = ["200"]

[module.lenient]
healthy_codes = ["2xx", "404", "405"]
from = "sip:monitor@example.com"
user_agent = "probe"
)");
  EXPECT_TRUE(config.warnings.empty());
  ASSERT_THAT(module_names(config), ElementsAre("default", "lenient", "strict"));

  const TargetConfig& strict = find_module(config, "strict")->settings;
  EXPECT_EQ(strict.shared->timeout, milliseconds(3'000));
  EXPECT_TRUE(strict.shared->healthy_codes.contains(200));
  EXPECT_FALSE(strict.shared->healthy_codes.contains(202));
  EXPECT_EQ(strict.shared->from, "sip:sip_trunk_exporter@localhost");
  EXPECT_EQ(strict.shared->user_agent, default_user_agent());

  const TargetConfig& lenient = find_module(config, "lenient")->settings;
  EXPECT_EQ(lenient.shared->timeout, milliseconds(5'000));
  EXPECT_TRUE(lenient.shared->healthy_codes.contains(202));
  EXPECT_TRUE(lenient.shared->healthy_codes.contains(404));
  EXPECT_TRUE(lenient.shared->healthy_codes.contains(405));
  EXPECT_FALSE(lenient.shared->healthy_codes.contains(403));
  EXPECT_EQ(lenient.shared->from, "sip:monitor@example.com");
  EXPECT_EQ(lenient.shared->user_agent, "probe");
}

TEST(ConfigModules, UnsetKeysComeFromDefaults) {
  Config config = parse_probe_only(R"([module.quick]
timeout = "1s"

[defaults]
interval = "1m"
timeout = "4s"
failures_before_down = 7
healthy_codes = ["2xx", "486"]
from = "sip:probe@example.com"
user_agent = "probe/1"
labels = { site = "nyc" }

[module.bare]
)");
  const ModuleConfig* quick = find_module(config, "quick");
  ASSERT_NE(quick, nullptr);
  EXPECT_EQ(quick->name, "quick");
  EXPECT_EQ(quick->settings.shared->timeout, milliseconds(1'000));
  EXPECT_TRUE(quick->settings.shared->healthy_codes.contains(486));
  EXPECT_EQ(quick->settings.shared->from, "sip:probe@example.com");
  EXPECT_EQ(quick->settings.shared->user_agent, "probe/1");
  EXPECT_EQ(quick->settings.shared->interval, milliseconds(60'000));
  EXPECT_EQ(quick->settings.shared->failures_before_down, 7);
  EXPECT_TRUE(quick->settings.labels.empty());
  EXPECT_TRUE(quick->settings.name.empty());
  EXPECT_TRUE(quick->settings.uri.empty());

  // A module that sets nothing is the default module under another name.
  const ModuleConfig* bare = find_module(config, "bare");
  ASSERT_NE(bare, nullptr);
  EXPECT_EQ(bare->settings, find_module(config, "default")->settings);
}

TEST(ConfigModules, ModulesAreSortedByName) {
  Config config = parse_probe_only(R"([module.zeta]
[module.Alpha]
[module.beta-1]
[module.beta_0]
[module.a]
)");
  EXPECT_THAT(module_names(config),
              ElementsAre("Alpha", "a", "beta-1", "beta_0", "default", "zeta"));
}

TEST(ConfigModules, DottedKeysAndInlineTables) {
  Config config =
      parse_probe_only("module.x.timeout = \"2s\"\nmodule.y = { user_agent = \"y\" }\n");
  EXPECT_THAT(module_names(config), ElementsAre("default", "x", "y"));
  EXPECT_EQ(find_module(config, "x")->settings.shared->timeout, milliseconds(2'000));
  EXPECT_EQ(find_module(config, "y")->settings.shared->user_agent, "y");
}

TEST(ConfigModules, NameRules) {
  std::string longest(64, 'm');
  Config config = parse_probe_only("[module." + longest + "]\n[module.A-z_09]\n");
  EXPECT_THAT(module_names(config), ElementsAre("A-z_09", "default", longest));

  for (const char* bad : {"a b", "", "a.b", "caf\\u00e9", "a/b", "a%20"}) {
    std::string shown = std::string(bad) == "caf\\u00e9" ? "caf\xc3\xa9" : bad;
    EXPECT_EQ(error_of(std::string("[module.\"") + bad + "\"]\n"),
              "config.toml:1:9: module: name \"" + shown +
                  "\" is not a valid module name (want 1-64 characters of A-Z a-z 0-9 _ -)");
  }
  EXPECT_EQ(error_of("[module." + std::string(65, 'm') + "]\n"),
            "config.toml:1:9: module: name \"" + std::string(65, 'm') +
                "\" is not a valid module name (want 1-64 characters of A-Z a-z 0-9 _ -)");
}

TEST(ConfigModules, DefaultIsReserved) {
  EXPECT_EQ(error_of("[module.default]\ntimeout = \"3s\"\n"),
            "config.toml:1:9: [module.default]: the name \"default\" is reserved: the default "
            "module is [defaults] itself (set its keys there)");
  EXPECT_EQ(error_of("module.default = {}\n"),
            "config.toml:1:8: [module.default]: the name \"default\" is reserved: the default "
            "module is [defaults] itself (set its keys there)");
}

// --- errors ---------------------------------------------------------------------

TEST(ConfigModuleErrors, ModuleNotATable) {
  EXPECT_EQ(error_of("module = 1\n"),
            "config.toml:1:10: module: expected a table of modules ([module.<name>]), got "
            "integer");
  EXPECT_EQ(error_of("[[module]]\ntimeout = \"3s\"\n"),
            "config.toml:1:1: module: expected a table of modules ([module.<name>]), got array");
}

TEST(ConfigModuleErrors, ModuleEntryNotATable) {
  EXPECT_EQ(error_of("[module]\ntimeout = \"3s\"\n"),
            "config.toml:2:11: [module.timeout]: expected a table, got string");
}

TEST(ConfigModuleErrors, TopLevelTypoSuggestsModule) {
  EXPECT_EQ(error_of("[modules.strict]\ntimeout = \"3s\"\n"),
            "config.toml:1:2: unknown top-level key \"modules\" (did you mean \"module\"?)");
}

TEST(ConfigModuleErrors, PerTargetKeysAreRejected) {
  const char* one_probe = "not used by /probe modules (a /probe request runs one probe)";
  EXPECT_EQ(error_of("[module.strict]\ninterval = \"30s\"\n"),
            std::string("config.toml:2:1: [module.strict]: interval: ") + one_probe);
  EXPECT_EQ(error_of("[module.strict]\nfailures_before_down = 1\n"),
            std::string("config.toml:2:1: [module.strict]: failures_before_down: ") + one_probe);
  EXPECT_EQ(error_of("[module.strict]\nsuccesses_before_up = 1\n"),
            std::string("config.toml:2:1: [module.strict]: successes_before_up: ") + one_probe);
  EXPECT_EQ(error_of("[module.strict]\nlabels = { site = \"nyc\" }\n"),
            "config.toml:2:1: [module.strict]: labels: not used by /probe modules (add labels "
            "with relabeling in the Prometheus scrape config)");
  EXPECT_EQ(error_of("[module.strict]\nuri = \"sip:203.0.113.7\"\n"),
            "config.toml:2:1: [module.strict]: uri: not used by /probe modules (the target comes "
            "from /probe?target=<sip-uri>)");
  EXPECT_EQ(error_of("[module.strict]\nname = \"x\"\n"),
            "config.toml:2:1: [module.strict]: name: not used by /probe modules (the target "
            "comes from /probe?target=<sip-uri>)");
}

TEST(ConfigModuleErrors, UnknownKeys) {
  EXPECT_EQ(error_of("[module.strict]\ntimout = \"3s\"\n"),
            "config.toml:2:1: [module.strict]: unknown key \"timout\" (did you mean "
            "\"timeout\"?)");
  EXPECT_EQ(error_of("[module.strict]\nuseragent = \"x\"\n"),
            "config.toml:2:1: [module.strict]: unknown key \"useragent\" (did you mean "
            "\"user_agent\"?)");
  EXPECT_EQ(error_of("[module.strict]\npassword = \"x\"\n"),
            "config.toml:2:1: [module.strict]: unknown key \"password\"");
}

TEST(ConfigModuleErrors, FirstErrorInDocumentOrderWins) {
  EXPECT_EQ(error_of("[module.m]\nuser_agent = \"\"\ntimeout = 1\n"),
            "config.toml:2:14: [module.m]: user_agent: must not be empty");
}

TEST(ConfigModuleErrors, TimeoutRange) {
  EXPECT_EQ(error_of("[module.strict]\ntimeout = \"61s\"\n"),
            "config.toml:2:11: [module.strict]: timeout: must be at most 1m, got \"61s\"");
  EXPECT_EQ(error_of("[module.strict]\ntimeout = \"0ms\"\n"),
            "config.toml:2:11: [module.strict]: timeout: must be greater than 0, got \"0ms\"");
  EXPECT_EQ(error_of("[module.strict]\ntimeout = 5\n"),
            "config.toml:2:11: [module.strict]: timeout: expected a duration string like \"5s\", "
            "got integer");
  EXPECT_EQ(error_of("[module.strict]\ntimeout = \"5\"\n"),
            "config.toml:2:11: [module.strict]: timeout: missing unit in \"5\"");
  Config config =
      parse_probe_only("[module.slow]\ntimeout = \"1m\"\n[module.fast]\ntimeout = \"1ms\"\n");
  EXPECT_EQ(find_module(config, "slow")->settings.shared->timeout, milliseconds(60'000));
  EXPECT_EQ(find_module(config, "fast")->settings.shared->timeout, milliseconds(1));
}

TEST(ConfigModuleErrors, InheritedTimeoutTooLong) {
  EXPECT_EQ(error_of("[defaults]\ninterval = \"5m\"\ntimeout = \"2m\"\n[module.strict]\n"),
            "config.toml:3:11: [module.strict]: timeout: 2m from [defaults] is longer than the 1m "
            "allowed for /probe modules; set timeout in [module.strict]");
  // The module can repair it.
  Config config = parse_probe_only(
      "[defaults]\ninterval = \"5m\"\ntimeout = \"2m\"\n[module.strict]\ntimeout = \"10s\"\n");
  EXPECT_EQ(find_module(config, "strict")->settings.shared->timeout, milliseconds(10'000));
}

TEST(ConfigModuleErrors, ValuesUseTheTargetValidators) {
  EXPECT_EQ(error_of("[module.m]\nhealthy_codes = [\"2xx\", \"1xx\"]\n"),
            "config.toml:2:25: [module.m]: healthy_codes: \"1xx\" is not allowed: provisional "
            "(1xx) responses are never final");
  EXPECT_EQ(error_of("[module.m]\nhealthy_codes = []\n"),
            "config.toml:2:17: [module.m]: healthy_codes: must not be empty");
  EXPECT_EQ(error_of("[module.m]\nhealthy_codes = 200\n"),
            "config.toml:2:17: [module.m]: healthy_codes: expected an array like [\"2xx\", "
            "\"404\"], got integer");
  EXPECT_EQ(error_of("[module.m]\nfrom = \"mailto:me@example.com\"\n"),
            "config.toml:2:8: [module.m]: from: \"mailto:me@example.com\": unsupported scheme "
            "\"mailto\" (want sip: or sips:)");
  EXPECT_EQ(error_of("[module.m]\nfrom = 1\n"),
            "config.toml:2:8: [module.m]: from: expected a SIP URI string like "
            "\"sip:sip_trunk_exporter@localhost\", got integer");
  EXPECT_EQ(error_of("[module.m]\nuser_agent = \"\"\n"),
            "config.toml:2:14: [module.m]: user_agent: must not be empty");
  EXPECT_EQ(error_of("[module.m]\nuser_agent = \"a\\r\\nVia: x\"\n"),
            "config.toml:2:14: [module.m]: user_agent: \"a\\x0d\\x0aVia: x\" contains a byte "
            "that is not printable ASCII at offset 1");
  EXPECT_EQ(error_of("[module.m]\nuser_agent = \"" + std::string(257, 'x') + "\"\n"),
            "config.toml:2:14: [module.m]: user_agent: longer than 256 bytes (257)");
}

TEST(ConfigModuleErrors, BadDefaultsAreReportedAtTheDefaults) {
  EXPECT_EQ(error_of("[module.m]\n[defaults]\ntimeout = \"0s\"\n"),
            "config.toml:3:11: [defaults]: timeout: must be greater than 0, got \"0s\"");
}

// --- find_module ----------------------------------------------------------------

TEST(FindModule, FindsByExactName) {
  Config config = parse_probe_only("[module.b]\n[module.a]\n[module.c]\n");
  for (const char* name : {"a", "b", "c", "default"}) {
    const ModuleConfig* module = find_module(config, name);
    ASSERT_NE(module, nullptr) << name;
    EXPECT_EQ(module->name, name);
  }
  EXPECT_EQ(find_module(config, ""), nullptr);
  EXPECT_EQ(find_module(config, "A"), nullptr);
  EXPECT_EQ(find_module(config, "aa"), nullptr);
  EXPECT_EQ(find_module(config, "d"), nullptr);
  EXPECT_EQ(find_module(config, "zzz"), nullptr);
  EXPECT_EQ(find_module(Config{}, "default"), nullptr);
}

// --- target_for_probe -----------------------------------------------------------

class TargetForProbe : public ::testing::Test {
 protected:
  Config config_ = parse_probe_only(R"([defaults]
labels = { site = "nyc" }
user_agent = "probe/1"
[module.strict]
timeout = "3s"
healthy_codes = ["200"]
)");
  const ModuleConfig& strict_ = *find_module(config_, "strict");
};

TEST_F(TargetForProbe, CopiesTheModuleAndSetsTheUri) {
  TargetConfig target = target_for_probe(strict_, "sip:edge.example.com:5080;transport=udp");
  EXPECT_EQ(target.name, "sip:edge.example.com:5080;transport=udp");
  EXPECT_EQ(target.uri, "sip:edge.example.com:5080;transport=udp");
  EXPECT_EQ(target.parsed_uri().host, "edge.example.com");
  EXPECT_EQ(target.parsed_uri().port, 5080);
  EXPECT_EQ(target.parsed_uri().transport, "udp");
  EXPECT_EQ(target.shared->timeout, milliseconds(3'000));
  EXPECT_TRUE(target.shared->healthy_codes.contains(200));
  EXPECT_FALSE(target.shared->healthy_codes.contains(202));
  EXPECT_EQ(target.shared->user_agent, "probe/1");
  EXPECT_TRUE(target.labels.empty());

  TargetConfig expected = strict_.settings;
  expected.name = expected.uri = "sip:edge.example.com:5080;transport=udp";
  expected.shared.edit().transport = Transport::udp;  // from the URI's ;transport=
  EXPECT_EQ(target, expected);
}

TEST_F(TargetForProbe, SameUriParseAsAConfiguredTarget) {
  for (const char* uri : {"sip:203.0.113.7", "sip:[2001:db8::1]:5062", "sip:u@Host.Example.COM",
                          "sip:x.example;transport=UDP"}) {
    Config config = parse_ok(std::string("[[target]]\nname = \"t\"\nuri = \"") + uri + "\"\n");
    TargetConfig target = target_for_probe(*find_module(config, "default"), uri);
    EXPECT_EQ(target.parsed_uri(), config.targets.at(0).parsed_uri()) << uri;
  }
}

TEST_F(TargetForProbe, DefaultModule) {
  TargetConfig target = target_for_probe(*find_module(config_, "default"), "sip:203.0.113.7");
  EXPECT_EQ(target.shared->timeout, milliseconds(5'000));
  EXPECT_TRUE(target.shared->healthy_codes.contains(202));
  EXPECT_EQ(target.parsed_uri().host_kind, HostKind::ipv4);
}

TEST_F(TargetForProbe, RejectsWhatAConfiguredTargetRejects) {
  EXPECT_EQ(probe_error_of(strict_, "sip:1.2.3.4:99999"),
            "target \"sip:1.2.3.4:99999\": port \"99999\" out of range 1-65535");
  EXPECT_EQ(probe_error_of(strict_, "http://x"),
            "target \"http://x\": unsupported scheme \"http\" (want sip: or sips:)");
  EXPECT_EQ(probe_error_of(strict_, "sip:x.example;transport=SCTP"),
            "target \"sip:x.example;transport=SCTP\": transport \"sctp\" is not supported (want "
            "udp, tcp, tls, ws or wss)");
  EXPECT_EQ(probe_error_of(strict_, "sips:x.example;transport=tcp"),
            "target \"sips:x.example;transport=tcp\": sips: needs transport tls or wss, not "
            ";transport=tcp");
  EXPECT_EQ(probe_error_of(strict_, "sip:x.example?Subject=1"),
            "target \"sip:x.example?Subject=1\": URI headers (?...) are not allowed in a probe "
            "target");
}

TEST_F(TargetForProbe, MessagesStayOnOneLine) {
  EXPECT_EQ(probe_error_of(strict_, "sip:x\r\nVia: y"),
            "target \"sip:x\\x0d\\x0aVia: y\": control character at offset 5");
}

TEST_F(TargetForProbe, Empty) {
  EXPECT_EQ(probe_error_of(strict_, ""),
            "target: must not be empty (want a SIP URI like \"sip:203.0.113.7:5060\")");
}

TEST_F(TargetForProbe, Length) {
  std::string uri = "sip:" + std::string(1018, 'u') + "@x";  // 1024 bytes
  EXPECT_EQ(target_for_probe(strict_, uri).uri, uri);
  EXPECT_EQ(probe_error_of(strict_, uri + "x"), "target: longer than 1024 bytes (1025)");
  EXPECT_EQ(probe_error_of(strict_, std::string(1'000'000, '\n')),
            "target: longer than 1024 bytes (1000000)");
}

}  // namespace
}  // namespace stx
