#include "config/config.h"
#include "parse_helpers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "version.h"

namespace stx {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

using test::error_of;
using test::parse_ok;
using test::parse_probe_only;

// A minimal valid target table body, for tests that care about one other key.
const std::string kTarget = "[[target]]\nname = \"a\"\nuri = \"sip:203.0.113.7\"\n";

// --- defaults, overrides, merging ------------------------------------------

TEST(ConfigDefaults, BuiltInValues) {
  EXPECT_EQ(default_user_agent(), std::string("sip_trunk_exporter/") + kVersion);
  EXPECT_THAT(default_rtt_buckets(),
              ElementsAre(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10));
}

TEST(ConfigDefaults, TargetWithOnlyNameAndUriGetsBuiltInDefaults) {
  Config config = parse_ok(kTarget);
  EXPECT_TRUE(config.warnings.empty());
  EXPECT_EQ(config.exporter.rtt_buckets, default_rtt_buckets());
  ASSERT_EQ(config.targets.size(), 1u);
  const TargetConfig& t = config.targets[0];
  EXPECT_EQ(t.name, "a");
  EXPECT_EQ(t.uri, "sip:203.0.113.7");
  EXPECT_EQ(t.parsed_uri().host, "203.0.113.7");
  EXPECT_EQ(t.parsed_uri().host_kind, HostKind::ipv4);
  EXPECT_EQ(t.parsed_uri().port, 0);
  EXPECT_EQ(t.shared->interval, milliseconds(30'000));
  EXPECT_EQ(t.shared->timeout, milliseconds(5'000));
  EXPECT_EQ(t.shared->failures_before_down, 3);
  EXPECT_EQ(t.shared->successes_before_up, 1);
  EXPECT_TRUE(t.shared->healthy_codes.contains(200));
  EXPECT_TRUE(t.shared->healthy_codes.contains(299));
  EXPECT_FALSE(t.shared->healthy_codes.contains(404));
  EXPECT_FALSE(t.shared->healthy_codes.contains(180));
  EXPECT_EQ(t.shared->from, "sip:sip_trunk_exporter@localhost");
  EXPECT_EQ(t.shared->user_agent, default_user_agent());
  EXPECT_TRUE(t.labels.empty());
}

constexpr const char* kNoTargets =
    "config.toml: no [[target]] tables, so nothing would be probed; if that is meant (an "
    "exporter for /probe only), set allow_no_targets = true in [exporter]";

// An empty or truncated file must not stop all probing (at start or on reload).
TEST(ConfigDefaults, NoTargetsIsRefusedUnlessAllowed) {
  EXPECT_EQ(error_of(""), kNoTargets);
  EXPECT_EQ(error_of("target = []\n"), kNoTargets);
  EXPECT_EQ(error_of("[defaults]\ninterval = \"1m\"\n[module.m]\n"), kNoTargets);
  EXPECT_EQ(error_of("[exporter]\nallow_no_targets = false\n"), kNoTargets);
  EXPECT_EQ(error_of("[exporter]\nallow_no_targets = \"yes\"\n"),
            "config.toml:2:20: [exporter]: allow_no_targets: expected true or false, got string");

  Config config = parse_probe_only("");
  EXPECT_TRUE(config.targets.empty());
  EXPECT_TRUE(config.exporter.allow_no_targets);
  EXPECT_EQ(config.exporter.rtt_buckets, default_rtt_buckets());
  EXPECT_TRUE(config.warnings.empty());
}

// zero_series: true unless set, a boolean, and only in [exporter].
TEST(ConfigDefaults, ZeroSeriesIsABooleanDefaultingToTrue) {
  EXPECT_TRUE(parse_probe_only("").exporter.zero_series);
  EXPECT_FALSE(
      parse_ok("[exporter]\nzero_series = false\nallow_no_targets = true\n").exporter.zero_series);
  EXPECT_TRUE(
      parse_ok("[exporter]\nzero_series = true\nallow_no_targets = true\n").exporter.zero_series);
  EXPECT_EQ(error_of("[exporter]\nzero_series = 0\nallow_no_targets = true\n"),
            "config.toml:2:15: [exporter]: zero_series: expected true or false, got integer");
  EXPECT_THAT(error_of("[defaults]\nzero_series = false\n[exporter]\nallow_no_targets = true\n"),
              HasSubstr("zero_series"));
}

TEST(ConfigDefaults, DefaultsTableOverridesBuiltInsAndTargetsOverrideDefaults) {
  Config config = parse_ok(R"([exporter]
rtt_buckets = [0.01, 1, 2.5]

[defaults]
interval = "1m"
timeout = "2s"
failures_before_down = 5
successes_before_up = 2
healthy_codes = ["2xx", "404", 486]
from = "sip:probe@example.com"
user_agent = "probe/1"
labels = { site = "nyc", env = "prod" }

[[target]]
name = "inherits"
uri = "sip:edge.example.com:5080"

[[target]]
name = "overrides"
uri = "sip:[2001:db8::1]"
interval = "15s"
timeout = "1s500ms"
failures_before_down = 1
successes_before_up = 4
healthy_codes = ["5xx"]
from = "sips:other@example.org"
user_agent = "other/2"
labels = { site = "lon", carrier = "twilio" }
)");
  EXPECT_TRUE(config.warnings.empty()) << config.warnings.front();
  EXPECT_THAT(config.exporter.rtt_buckets, ElementsAre(0.01, 1, 2.5));
  ASSERT_EQ(config.targets.size(), 2u);

  const TargetConfig& a = config.targets[0];
  EXPECT_EQ(a.name, "inherits");
  EXPECT_EQ(a.parsed_uri().host, "edge.example.com");
  EXPECT_EQ(a.parsed_uri().port, 5080);
  EXPECT_EQ(a.shared->interval, milliseconds(60'000));
  EXPECT_EQ(a.shared->timeout, milliseconds(2'000));
  EXPECT_EQ(a.shared->failures_before_down, 5);
  EXPECT_EQ(a.shared->successes_before_up, 2);
  EXPECT_TRUE(a.shared->healthy_codes.contains(204));
  EXPECT_TRUE(a.shared->healthy_codes.contains(404));
  EXPECT_TRUE(a.shared->healthy_codes.contains(486));
  EXPECT_FALSE(a.shared->healthy_codes.contains(403));
  EXPECT_EQ(a.shared->from, "sip:probe@example.com");
  EXPECT_EQ(a.shared->user_agent, "probe/1");
  EXPECT_THAT(a.labels, ElementsAre(Pair("env", "prod"), Pair("site", "nyc")));

  const TargetConfig& b = config.targets[1];
  EXPECT_EQ(b.name, "overrides");
  EXPECT_EQ(b.parsed_uri().host, "2001:db8::1");
  EXPECT_EQ(b.parsed_uri().host_kind, HostKind::ipv6);
  EXPECT_EQ(b.shared->interval, milliseconds(15'000));
  EXPECT_EQ(b.shared->timeout, milliseconds(1'500));
  EXPECT_EQ(b.shared->failures_before_down, 1);
  EXPECT_EQ(b.shared->successes_before_up, 4);
  EXPECT_FALSE(b.shared->healthy_codes.contains(200));  // replaced, not merged
  EXPECT_FALSE(b.shared->healthy_codes.contains(404));
  EXPECT_TRUE(b.shared->healthy_codes.contains(503));
  EXPECT_EQ(b.shared->from, "sips:other@example.org");
  EXPECT_EQ(b.shared->user_agent, "other/2");
  // Target labels override default labels of the same name; result sorted by name.
  EXPECT_THAT(b.labels,
              ElementsAre(Pair("carrier", "twilio"), Pair("env", "prod"), Pair("site", "lon")));
}

TEST(ConfigDefaults, DefaultsApplyEvenWhenWrittenAfterTheTargets) {
  Config config = parse_ok(kTarget + "[defaults]\ninterval = \"45s\"\n");
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_EQ(config.targets[0].shared->interval, milliseconds(45'000));
}

TEST(ConfigDefaults, LabelsAsStandardTablesAndSorted) {
  Config config = parse_ok(R"([defaults.labels]
zone = "b"
alpha = "x"

[[target]]
name = "a"
uri = "sip:203.0.113.7"
[target.labels]
middle = "m"
alpha = "y"
)");
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_THAT(config.targets[0].labels,
              ElementsAre(Pair("alpha", "y"), Pair("middle", "m"), Pair("zone", "b")));
}

TEST(ConfigDefaults, TargetsKeepDocumentOrderAndUdpTransportIsAccepted) {
  Config config = parse_ok(R"([[target]]
name = "z"
uri = "sip:z.example.com;transport=UDP"
[[target]]
name = "b"
uri = "sip:b.example.com"
)");
  ASSERT_EQ(config.targets.size(), 2u);
  EXPECT_EQ(config.targets[0].name, "z");
  EXPECT_EQ(config.targets[0].parsed_uri().transport, "udp");
  EXPECT_EQ(config.targets[1].name, "b");
}

TEST(ConfigDefaults, RttBucketsAcceptIntegersAndFloats) {
  Config config = parse_ok("[exporter]\nrtt_buckets = [1, 2.5, 10]\n" + kTarget);
  EXPECT_THAT(config.exporter.rtt_buckets, ElementsAre(1.0, 2.5, 10.0));
}

// --- healthy codes -----------------------------------------------------------

TEST(HealthyCodes, ClassAndExactMatching) {
  HealthyCodes codes;
  codes.classes[2] = true;
  codes.codes = {404, 503};
  EXPECT_TRUE(codes.contains(200));
  EXPECT_TRUE(codes.contains(202));
  EXPECT_TRUE(codes.contains(299));
  EXPECT_TRUE(codes.contains(404));
  EXPECT_TRUE(codes.contains(503));
  EXPECT_FALSE(codes.contains(300));
  EXPECT_FALSE(codes.contains(403));
  EXPECT_FALSE(codes.contains(500));
  EXPECT_FALSE(codes.contains(199));
  EXPECT_FALSE(codes.contains(0));
  EXPECT_FALSE(codes.contains(-200));
  EXPECT_FALSE(codes.contains(2000));
  EXPECT_FALSE(codes.contains(700));
}

TEST(HealthyCodes, EmptyMatchesNothing) {
  HealthyCodes codes;
  EXPECT_FALSE(codes.contains(200));
  EXPECT_FALSE(codes.contains(404));
}

TEST(HealthyCodes, ParsedFromConfig) {
  Config config = parse_ok(kTarget + "healthy_codes = [\"4XX\", \"6xx\", 200, \"302\"]\n");
  const HealthyCodes& codes = config.targets.at(0).shared->healthy_codes;
  EXPECT_TRUE(codes.contains(404));
  EXPECT_TRUE(codes.contains(486));
  EXPECT_TRUE(codes.contains(603));
  EXPECT_TRUE(codes.contains(200));
  EXPECT_TRUE(codes.contains(302));
  EXPECT_FALSE(codes.contains(201));
  EXPECT_FALSE(codes.contains(301));
  EXPECT_FALSE(codes.contains(500));
}

// --- warnings -------------------------------------------------------------------

TEST(ConfigWarnings, ShortTargetIntervalWarns) {
  Config config = parse_ok(kTarget + "interval = \"5s\"\ntimeout = \"2s\"\n");
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_EQ(config.targets[0].shared->interval, milliseconds(5'000));
  EXPECT_THAT(config.warnings,
              ElementsAre("config.toml:4:12: [[target]] #1 \"a\": interval: 5s is shorter than "
                          "10s; some providers such as Twilio ban OPTIONS pingers faster than one "
                          "per 10-15 s"));
}

TEST(ConfigWarnings, TenSecondsDoesNotWarn) {
  Config config = parse_ok(kTarget + "interval = \"10s\"\n");
  EXPECT_TRUE(config.warnings.empty());
}

TEST(ConfigWarnings, ShortDefaultIntervalWarnsOnceAtTheDefaults) {
  Config config = parse_ok(R"([defaults]
interval = "2s"
timeout = "1s"
[[target]]
name = "a"
uri = "sip:a.example.com"
[[target]]
name = "b"
uri = "sip:b.example.com"
)");
  ASSERT_EQ(config.targets.size(), 2u);
  EXPECT_EQ(config.targets[1].shared->interval, milliseconds(2'000));
  EXPECT_THAT(config.warnings,
              ElementsAre("config.toml:2:12: [defaults]: interval: 2s is shorter than 10s; some "
                          "providers such as Twilio ban OPTIONS pingers faster than one per 10-15 "
                          "s"));
}

// --- health policy: fast_interval, down_interval, interval_jitter, degraded_codes ---------

TEST(ConfigHealthPolicy, DefaultsKeepTodaysScheduleAndMake503Degraded) {
  Config config = parse_ok(kTarget);
  const TargetConfig& t = config.targets[0];
  EXPECT_EQ(t.shared->fast_interval, milliseconds(0)) << "0: the interval";
  EXPECT_EQ(t.shared->down_interval, milliseconds(0));
  EXPECT_EQ(t.shared->interval_jitter.upto(t.shared->interval), milliseconds(0));
  EXPECT_TRUE(t.shared->degraded_codes.contains(503));
  EXPECT_FALSE(t.shared->degraded_codes.contains(500));
}

TEST(ConfigHealthPolicy, KeysInDefaultsAndTargetsResolvePerTarget) {
  Config config = parse_ok(R"([defaults]
interval = "15s"
fast_interval = "2s"
down_interval = "30s"
interval_jitter = "10%"
degraded_codes = ["503", "480"]
[[target]]
name = "a"
uri = "sip:a.example.com"
[[target]]
name = "b"
uri = "sip:b.example.com"
fast_interval = "3s"
interval_jitter = "1500ms"
degraded_codes = []
)");
  ASSERT_EQ(config.targets.size(), 2u);
  const TargetConfig& a = config.targets[0];
  EXPECT_EQ(a.shared->fast_interval, milliseconds(2'000));
  EXPECT_EQ(a.shared->down_interval, milliseconds(30'000));
  EXPECT_EQ(a.shared->interval_jitter.upto(milliseconds(15'000)), milliseconds(1'500));
  EXPECT_TRUE(a.shared->degraded_codes.contains(480));
  const TargetConfig& b = config.targets[1];
  EXPECT_EQ(b.shared->fast_interval, milliseconds(3'000));
  EXPECT_EQ(b.shared->interval_jitter.upto(milliseconds(30'000)), milliseconds(1'500));
  EXPECT_FALSE(b.shared->degraded_codes.contains(503)) << "[] turns degraded off";
  EXPECT_TRUE(config.warnings.empty()) << config.warnings.front();
}

TEST(ConfigHealthPolicy, FastIntervalShorterThanTheTimeoutIsAllowedAndDoesNotWarn) {
  Config config = parse_ok(kTarget + "fast_interval = \"1s\"\ntimeout = \"4s\"\n");
  EXPECT_EQ(config.targets[0].shared->fast_interval, milliseconds(1'000));
  EXPECT_TRUE(config.warnings.empty());
}

TEST(ConfigHealthPolicy, ShortDownIntervalWarnsWhereItIsSet) {
  Config config = parse_ok(kTarget + "down_interval = \"5s\"\n");
  EXPECT_THAT(config.warnings,
              ElementsAre("config.toml:4:17: [[target]] #1 \"a\": down_interval: 5s is shorter "
                          "than 10s; some providers such as Twilio ban OPTIONS pingers faster "
                          "than one per 10-15 s"));
}

TEST(ConfigHealthPolicy, BadValuesNameTheKeyAndWhere) {
  EXPECT_EQ(error_of(kTarget + "fast_interval = \"500ms\"\n"),
            "config.toml:4:17: [[target]] #1 \"a\": fast_interval: must be at least 1s, got "
            "\"500ms\"");
  EXPECT_EQ(error_of(kTarget + "down_interval = \"25h\"\n"),
            "config.toml:4:17: [[target]] #1 \"a\": down_interval: must be at most 24h, got "
            "\"25h\"");
  EXPECT_EQ(error_of(kTarget + "interval_jitter = \"150%\"\n"),
            "config.toml:4:19: [[target]] #1 \"a\": interval_jitter: expected a whole "
            "percentage from 0% to 100% of the interval, got \"150%\"");
  EXPECT_EQ(error_of(kTarget + "interval_jitter = \"1.5%\"\n"),
            "config.toml:4:19: [[target]] #1 \"a\": interval_jitter: expected a whole "
            "percentage from 0% to 100% of the interval, got \"1.5%\"");
  EXPECT_EQ(error_of(kTarget + "interval_jitter = 2\n"),
            "config.toml:4:19: [[target]] #1 \"a\": interval_jitter: expected a duration string "
            "like \"2s\" or \"10%\", got integer");
  EXPECT_EQ(error_of(kTarget + "degraded_codes = [\"180\"]\n"),
            "config.toml:4:19: [[target]] #1 \"a\": degraded_codes: \"180\" is not allowed: "
            "provisional (1xx) responses are never final");
  EXPECT_EQ(error_of("[module.m]\nfast_interval = \"2s\"\n"),
            "config.toml:2:1: [module.m]: fast_interval: not used by /probe modules (a /probe "
            "request runs one probe)");
}

// --- load_config_file ------------------------------------------------------------

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char path[] = "/tmp/stx_config_test_XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = path;
    std::ofstream(path_) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LoadConfigFile, ReadsAndParses) {
  TempFile file(kTarget);
  Config config = load_config_file(file.path());
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_EQ(config.targets[0].name, "a");
}

TEST(LoadConfigFile, ErrorsNameThePath) {
  TempFile file("[[target]]\nname = 5\n");
  try {
    load_config_file(file.path());
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              file.path() + ":2:8: [[target]] #1: name: expected a string, got integer");
  }
}

TEST(LoadConfigFile, MissingFile) {
  try {
    load_config_file("/nonexistent/dir/config.toml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/dir/config.toml: cannot read: No such file or directory");
  }
}

TEST(LoadConfigFile, Directory) {
  try {
    load_config_file("/tmp");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/tmp: cannot read: Is a directory");
  }
}

// --- errors: document level ------------------------------------------------------

TEST(ConfigErrors, TomlSyntaxError) {
  EXPECT_EQ(error_of("[defaults]\ninterval = \n"),
            "config.toml:2:12: Error while parsing key-value pair: expected value, saw '\\n'");
}

TEST(ConfigErrors, TomlDuplicateKey) {
  EXPECT_EQ(error_of(kTarget + "name = \"b\"\n"),
            "config.toml:4:8: Error while parsing key-value pair: cannot redefine existing "
            "string 'name'");
}

TEST(ConfigErrors, UnknownTopLevelKeyWithSuggestion) {
  EXPECT_EQ(error_of("[[targets]]\nname = \"a\"\n"),
            "config.toml:1:3: unknown top-level key \"targets\" (did you mean \"target\"?)");
}

TEST(ConfigErrors, UnknownTopLevelKeyWithoutSuggestion) {
  EXPECT_EQ(error_of(kTarget + "[metrics]\nport = 9100\n"),
            "config.toml:4:2: unknown top-level key \"metrics\"");
}

TEST(ConfigErrors, FirstErrorInDocumentOrderWins) {
  EXPECT_EQ(error_of("zzz = 1\naaa = 2\n"), "config.toml:1:1: unknown top-level key \"zzz\"");
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = \"sip:x\"\ntimeout = 1\ninterval = 2\n"),
            "config.toml:4:11: [[target]] #1 \"a\": timeout: expected a duration string like "
            "\"5s\", got integer");
}

// --- errors: [exporter] ----------------------------------------------------------

TEST(ConfigErrors, ExporterNotATable) {
  EXPECT_EQ(error_of("exporter = 1\n"),
            "config.toml:1:12: exporter: expected a table ([exporter]), got integer");
}

TEST(ConfigErrors, ExporterUnknownKey) {
  EXPECT_EQ(error_of("[exporter]\nrtt_bucket = [1]\n"),
            "config.toml:2:1: [exporter]: unknown key \"rtt_bucket\" (did you mean "
            "\"rtt_buckets\"?)");
}

TEST(ConfigErrors, RttBucketsNotAnArray) {
  EXPECT_EQ(error_of("[exporter]\nrtt_buckets = 1\n"),
            "config.toml:2:15: [exporter]: rtt_buckets: expected an array of numbers like [0.01, "
            "0.1, 1], got integer");
}

TEST(ConfigErrors, RttBucketsEmpty) {
  EXPECT_EQ(error_of("[exporter]\nrtt_buckets = []\n"),
            "config.toml:2:15: [exporter]: rtt_buckets: must not be empty");
}

TEST(ConfigErrors, RttBucketsElementType) {
  EXPECT_EQ(error_of("[exporter]\nrtt_buckets = [0.1, \"1\"]\n"),
            "config.toml:2:21: [exporter]: rtt_buckets: expected a number, got string");
}

TEST(ConfigErrors, RttBucketsNotPositive) {
  EXPECT_EQ(error_of("[exporter]\nrtt_buckets = [0, 1]\n"),
            "config.toml:2:16: [exporter]: rtt_buckets: bucket 0 must be positive");
  EXPECT_EQ(error_of("[exporter]\nrtt_buckets = [-0.5]\n"),
            "config.toml:2:16: [exporter]: rtt_buckets: bucket -0.5 must be positive");
}

TEST(ConfigErrors, RttBucketsNotIncreasing) {
  EXPECT_EQ(error_of("[exporter]\nrtt_buckets = [0.1, 1, 0.5]\n"),
            "config.toml:2:24: [exporter]: rtt_buckets: bucket 0.5 is not greater than the "
            "previous bucket 1 (buckets must be strictly increasing)");
  EXPECT_EQ(error_of("[exporter]\nrtt_buckets = [1, 1.0]\n"),
            "config.toml:2:19: [exporter]: rtt_buckets: bucket 1 is not greater than the "
            "previous bucket 1 (buckets must be strictly increasing)");
}

TEST(ConfigErrors, RttBucketsNotFinite) {
  EXPECT_EQ(error_of("[exporter]\nrtt_buckets = [1, inf]\n"),
            "config.toml:2:19: [exporter]: rtt_buckets: inf is not a finite number");
  EXPECT_EQ(error_of("[exporter]\nrtt_buckets = [nan]\n"),
            "config.toml:2:16: [exporter]: rtt_buckets: nan is not a finite number");
}

// --- errors: [defaults] ----------------------------------------------------------

TEST(ConfigErrors, DefaultsNotATable) {
  EXPECT_EQ(error_of("[[defaults]]\ninterval = \"30s\"\n"),
            "config.toml:1:1: defaults: expected a table ([defaults]), got array");
}

TEST(ConfigErrors, DefaultsUnknownKeyWithSuggestion) {
  EXPECT_EQ(error_of("[defaults]\ntimout = \"5s\"\n"),
            "config.toml:2:1: [defaults]: unknown key \"timout\" (did you mean \"timeout\"?)");
}

TEST(ConfigErrors, DefaultsTargetOnlyKey) {
  EXPECT_EQ(error_of("[defaults]\nuri = \"sip:x\"\n"),
            "config.toml:2:1: [defaults]: unknown key \"uri\" (uri can only be set in a "
            "[[target]] table)");
  EXPECT_EQ(error_of("[defaults]\nname = \"x\"\n"),
            "config.toml:2:1: [defaults]: unknown key \"name\" (name can only be set in a "
            "[[target]] table)");
}

TEST(ConfigErrors, DefaultsTimeoutWrongType) {
  EXPECT_EQ(error_of("[defaults]\ntimeout = 5\n"),
            "config.toml:2:11: [defaults]: timeout: expected a duration string like \"5s\", got "
            "integer");
}

TEST(ConfigErrors, DefaultsIntervalWrongType) {
  EXPECT_EQ(error_of("[defaults]\ninterval = 30.0\n"),
            "config.toml:2:12: [defaults]: interval: expected a duration string like \"30s\", "
            "got float");
}

TEST(ConfigErrors, DefaultsIntervalBadDuration) {
  EXPECT_EQ(error_of("[defaults]\ninterval = \"30\"\n"),
            "config.toml:2:12: [defaults]: interval: missing unit in \"30\"");
}

// --- errors: settings, checked through [[target]] --------------------------------

TEST(ConfigErrors, IntervalTooShort) {
  EXPECT_EQ(error_of(R"([[target]]
name = "edge-a"
uri = "sip:a.example.com"
[[target]]
name = "edge-b"
uri = "sip:b.example.com"
interval = "500ms"
)"),
            "config.toml:7:12: [[target]] #2 \"edge-b\": interval: must be at least 1s, got "
            "\"500ms\"");
}

TEST(ConfigErrors, IntervalTooLong) {
  EXPECT_EQ(error_of(kTarget + "interval = \"25h\"\n"),
            "config.toml:4:12: [[target]] #1 \"a\": interval: must be at most 24h, got \"25h\"");
}

TEST(ConfigErrors, TimeoutZero) {
  EXPECT_EQ(error_of(kTarget + "timeout = \"0ms\"\n"),
            "config.toml:4:11: [[target]] #1 \"a\": timeout: must be greater than 0, got "
            "\"0ms\"");
}

TEST(ConfigErrors, TimeoutBadDuration) {
  EXPECT_EQ(error_of(kTarget + "timeout = \"5 s\"\n"),
            "config.toml:4:11: [[target]] #1 \"a\": timeout: spaces are not allowed in \"5 s\"");
}

TEST(ConfigErrors, TimeoutNotShorterThanTargetInterval) {
  EXPECT_EQ(error_of(kTarget + "interval = \"5s\"\ntimeout = \"5s\"\n"),
            "config.toml:5:11: [[target]] #1 \"a\": timeout (5s) must be shorter than interval "
            "(5s)");
}

TEST(ConfigErrors, TimeoutCheckPointsAtTargetIntervalWhenOnlyIntervalWasSet) {
  EXPECT_EQ(error_of(kTarget + "interval = \"3s\"\n"),
            "config.toml:4:12: [[target]] #1 \"a\": timeout (5s) must be shorter than interval "
            "(3s)");
}

TEST(ConfigErrors, TimeoutCheckPointsAtDefaultsWhenTargetSetsNeither) {
  EXPECT_EQ(error_of("[defaults]\ntimeout = \"1m\"\n" + kTarget),
            "config.toml:2:11: [[target]] #1 \"a\": timeout (1m) must be shorter than interval "
            "(30s)");
  EXPECT_EQ(error_of("[defaults]\ninterval = \"4s\"\n" + kTarget),
            "config.toml:2:12: [[target]] #1 \"a\": timeout (5s) must be shorter than interval "
            "(4s)");
}

TEST(ConfigErrors, TargetCanRepairTheDefaultsTimeout) {
  Config config = parse_ok("[defaults]\ntimeout = \"1m\"\n" + kTarget + "timeout = \"2s\"\n");
  EXPECT_EQ(config.targets.at(0).shared->timeout, milliseconds(2'000));
}

TEST(ConfigErrors, CountWrongType) {
  EXPECT_EQ(error_of(kTarget + "failures_before_down = \"3\"\n"),
            "config.toml:4:24: [[target]] #1 \"a\": failures_before_down: expected an integer, "
            "got string");
  EXPECT_EQ(error_of(kTarget + "successes_before_up = 1.0\n"),
            "config.toml:4:23: [[target]] #1 \"a\": successes_before_up: expected an integer, "
            "got float");
}

TEST(ConfigErrors, CountOutOfRange) {
  EXPECT_EQ(error_of(kTarget + "failures_before_down = 0\n"),
            "config.toml:4:24: [[target]] #1 \"a\": failures_before_down: must be from 1 to 100, "
            "got 0");
  EXPECT_EQ(error_of("[defaults]\nsuccesses_before_up = 101\n"),
            "config.toml:2:23: [defaults]: successes_before_up: must be from 1 to 100, got 101");
  EXPECT_EQ(error_of("[defaults]\nsuccesses_before_up = -1\n"),
            "config.toml:2:23: [defaults]: successes_before_up: must be from 1 to 100, got -1");
}

TEST(ConfigErrors, CountBoundsAccepted) {
  Config config = parse_ok(kTarget + "failures_before_down = 100\nsuccesses_before_up = 1\n");
  EXPECT_EQ(config.targets.at(0).shared->failures_before_down, 100);
}

TEST(ConfigErrors, HealthyCodesNotAnArray) {
  EXPECT_EQ(error_of(kTarget + "healthy_codes = \"2xx\"\n"),
            "config.toml:4:17: [[target]] #1 \"a\": healthy_codes: expected an array like "
            "[\"2xx\", \"404\"], got string");
}

TEST(ConfigErrors, HealthyCodesEmpty) {
  EXPECT_EQ(error_of(kTarget + "healthy_codes = []\n"),
            "config.toml:4:17: [[target]] #1 \"a\": healthy_codes: must not be empty");
}

TEST(ConfigErrors, HealthyCodesProvisional) {
  EXPECT_EQ(error_of(kTarget + "healthy_codes = [\"2xx\", \"1xx\"]\n"),
            "config.toml:4:25: [[target]] #1 \"a\": healthy_codes: \"1xx\" is not allowed: "
            "provisional (1xx) responses are never final");
  EXPECT_EQ(error_of(kTarget + "healthy_codes = [\"180\"]\n"),
            "config.toml:4:18: [[target]] #1 \"a\": healthy_codes: \"180\" is not allowed: "
            "provisional (1xx) responses are never final");
  EXPECT_EQ(error_of(kTarget + "healthy_codes = [100]\n"),
            "config.toml:4:18: [[target]] #1 \"a\": healthy_codes: 100 is not allowed: "
            "provisional (1xx) responses are never final");
}

TEST(ConfigErrors, HealthyCodesBadClass) {
  EXPECT_EQ(error_of(kTarget + "healthy_codes = [\"7xx\"]\n"),
            "config.toml:4:18: [[target]] #1 \"a\": healthy_codes: \"7xx\" is not a status class "
            "from 2xx to 6xx");
  EXPECT_EQ(error_of(kTarget + "healthy_codes = [\"0xx\"]\n"),
            "config.toml:4:18: [[target]] #1 \"a\": healthy_codes: \"0xx\" is not a status class "
            "from 2xx to 6xx");
}

TEST(ConfigErrors, HealthyCodesBadExactCode) {
  EXPECT_EQ(error_of(kTarget + "healthy_codes = [\"700\"]\n"),
            "config.toml:4:18: [[target]] #1 \"a\": healthy_codes: \"700\" is not a final status "
            "code (want 200 to 699)");
  EXPECT_EQ(error_of(kTarget + "healthy_codes = [700]\n"),
            "config.toml:4:18: [[target]] #1 \"a\": healthy_codes: 700 is not a final status code "
            "(want 200 to 699, or a class like \"2xx\")");
  EXPECT_EQ(error_of(kTarget + "healthy_codes = [2]\n"),
            "config.toml:4:18: [[target]] #1 \"a\": healthy_codes: 2 is not a final status code "
            "(want 200 to 699, or a class like \"2xx\")");
}

TEST(ConfigErrors, HealthyCodesMalformedString) {
  for (const char* bad : {"2x", "2xxx", "x2x", "2xX", "abc", " 200", ""}) {
    EXPECT_EQ(error_of(kTarget + "healthy_codes = [\"" + bad + "\"]\n"),
              std::string("config.toml:4:18: [[target]] #1 \"a\": healthy_codes: \"") + bad +
                  "\" is not a status class like \"2xx\" or a code like \"404\"");
  }
}

TEST(ConfigErrors, HealthyCodesElementType) {
  EXPECT_EQ(error_of(kTarget + "healthy_codes = [\"2xx\", true]\n"),
            "config.toml:4:25: [[target]] #1 \"a\": healthy_codes: expected a string like "
            "\"2xx\" or an integer code, got boolean");
}

TEST(ConfigErrors, FromWrongType) {
  EXPECT_EQ(error_of(kTarget + "from = 1\n"),
            "config.toml:4:8: [[target]] #1 \"a\": from: expected a SIP URI string like "
            "\"sip:sip_trunk_exporter@localhost\", got integer");
}

TEST(ConfigErrors, FromNotASipUri) {
  EXPECT_EQ(error_of(kTarget + "from = \"mailto:me@example.com\"\n"),
            "config.toml:4:8: [[target]] #1 \"a\": from: \"mailto:me@example.com\": unsupported "
            "scheme \"mailto\" (want sip: or sips:)");
}

TEST(ConfigErrors, FromHeaderInjection) {
  EXPECT_EQ(error_of("[defaults]\nfrom = \"sip:a@b\\r\\nX-Evil: 1\"\n"),
            "config.toml:2:8: [defaults]: from: \"sip:a@b\\x0d\\x0aX-Evil: 1\": control "
            "character at offset 7");
}

TEST(ConfigErrors, FromTooLong) {
  std::string from = "sip:" + std::string(250, 'u') + "@h.example";
  EXPECT_EQ(error_of("[defaults]\nfrom = \"" + from + "\"\n"),
            "config.toml:2:8: [defaults]: from: longer than 256 bytes (264)");
}

TEST(ConfigErrors, UserAgentWrongType) {
  EXPECT_EQ(error_of("[defaults]\nuser_agent = [\"x\"]\n"),
            "config.toml:2:14: [defaults]: user_agent: expected a string, got array");
}

TEST(ConfigErrors, UserAgentEmpty) {
  EXPECT_EQ(error_of("[defaults]\nuser_agent = \"\"\n"),
            "config.toml:2:14: [defaults]: user_agent: must not be empty");
}

TEST(ConfigErrors, UserAgentTooLong) {
  EXPECT_EQ(error_of("[defaults]\nuser_agent = \"" + std::string(257, 'x') + "\"\n"),
            "config.toml:2:14: [defaults]: user_agent: longer than 256 bytes (257)");
  EXPECT_EQ(parse_ok(kTarget + "user_agent = \"" + std::string(256, 'x') + "\"\n")
                .targets.at(0)
                .shared->user_agent.size(),
            256u);
}

TEST(ConfigErrors, UserAgentHeaderInjection) {
  EXPECT_EQ(error_of(kTarget + "user_agent = \"probe\\r\\nVia: evil\"\n"),
            "config.toml:4:14: [[target]] #1 \"a\": user_agent: \"probe\\x0d\\x0aVia: evil\" "
            "contains a byte that is not printable ASCII at offset 5");
}

TEST(ConfigErrors, UserAgentNonAscii) {
  EXPECT_EQ(error_of(kTarget + "user_agent = \"pr\\u00f6be\"\n"),
            "config.toml:4:14: [[target]] #1 \"a\": user_agent: \"pr\xc3\xb6"
            "be\" contains a "
            "byte that is not printable ASCII at offset 2");
}

TEST(ConfigErrors, LabelsWrongType) {
  EXPECT_EQ(error_of(kTarget + "labels = [\"site\"]\n"),
            "config.toml:4:10: [[target]] #1 \"a\": labels: expected a table like { site = "
            "\"nyc\" }, got array");
}

TEST(ConfigErrors, LabelsInvalidName) {
  EXPECT_EQ(error_of(kTarget + "labels = { \"data-center\" = \"x\" }\n"),
            "config.toml:4:12: [[target]] #1 \"a\": labels: name \"data-center\" is not a valid "
            "label name (want [a-zA-Z_][a-zA-Z0-9_]*)");
  EXPECT_EQ(error_of(kTarget + "labels = { 1dc = \"x\" }\n"),
            "config.toml:4:12: [[target]] #1 \"a\": labels: name \"1dc\" is not a valid label "
            "name (want [a-zA-Z_][a-zA-Z0-9_]*)");
  EXPECT_EQ(error_of(kTarget + "labels = { \"\" = \"x\" }\n"),
            "config.toml:4:12: [[target]] #1 \"a\": labels: name \"\" is not a valid label name "
            "(want [a-zA-Z_][a-zA-Z0-9_]*)");
}

TEST(ConfigErrors, LabelsDoubleUnderscore) {
  EXPECT_EQ(error_of("[defaults]\nlabels = { __name__ = \"x\" }\n"),
            "config.toml:2:12: [defaults]: labels: name \"__name__\" is reserved (names starting "
            "with \"__\" are internal)");
}

TEST(ConfigErrors, LabelsExporterOwnName) {
  for (const char* name :
       {"target", "code", "result", "reason", "uri", "transport", "server", "address", "le",
        "version", "revision", "cipher", "index", "count", "replicas", "instance", "job"}) {
    EXPECT_EQ(error_of(kTarget + "labels = { " + name + " = \"x\" }\n"),
              std::string("config.toml:4:12: [[target]] #1 \"a\": labels: name \"") + name +
                  "\" is reserved for the exporter's own labels");
  }
}

TEST(ConfigErrors, LabelsValueWrongType) {
  EXPECT_EQ(error_of(kTarget + "labels = { site = 1 }\n"),
            "config.toml:4:19: [[target]] #1 \"a\": labels.site: expected a string, got integer");
}

TEST(ConfigErrors, LabelsValueTooLong) {
  EXPECT_EQ(error_of(kTarget + "labels = { site = \"" + std::string(1025, 'v') + "\" }\n"),
            "config.toml:4:19: [[target]] #1 \"a\": labels.site: value is longer than 1024 "
            "bytes (1025)");
  Config config = parse_ok(kTarget + "labels = { site = \"" + std::string(1024, 'v') + "\" }\n");
  EXPECT_EQ(config.targets.at(0).labels.at(0).second.size(), 1024u);
}

// --- errors: [[target]] ----------------------------------------------------------

TEST(ConfigErrors, TargetNotAnArrayOfTables) {
  EXPECT_EQ(error_of("[target]\nname = \"a\"\n"),
            "config.toml:1:1: target: expected an array of tables ([[target]]), got table");
}

TEST(ConfigErrors, TargetElementNotATable) {
  EXPECT_EQ(error_of("target = [1]\n"),
            "config.toml:1:11: [[target]] #1: expected a table, got integer");
}

TEST(ConfigErrors, TargetUnknownKeyWithSuggestion) {
  EXPECT_EQ(error_of(kTarget + "intervall = \"30s\"\n"),
            "config.toml:4:1: [[target]] #1 \"a\": unknown key \"intervall\" (did you mean "
            "\"interval\"?)");
  EXPECT_EQ(error_of(kTarget + "lables = {}\n"),
            "config.toml:4:1: [[target]] #1 \"a\": unknown key \"lables\" (did you mean "
            "\"labels\"?)");
}

TEST(ConfigErrors, TargetUnknownKeyWithoutSuggestion) {
  EXPECT_EQ(error_of(kTarget + "password = \"x\"\n"),
            "config.toml:4:1: [[target]] #1 \"a\": unknown key \"password\"");
}

TEST(ConfigErrors, TargetUnknownKeyBeforeName) {
  EXPECT_EQ(error_of("[[target]]\nnmae = \"a\"\n"),
            "config.toml:2:1: [[target]] #1: unknown key \"nmae\" (did you mean \"name\"?)");
}

TEST(ConfigErrors, TargetMissingName) {
  EXPECT_EQ(error_of("[[target]]\nuri = \"sip:x.example.com\"\n"),
            "config.toml:1:1: [[target]] #1: missing required key \"name\"");
}

TEST(ConfigErrors, TargetMissingUri) {
  EXPECT_EQ(error_of("[defaults]\ninterval = \"1m\"\n\n[[target]]\nname = \"a\"\n"),
            "config.toml:4:1: [[target]] #1 \"a\": missing required key \"uri\"");
}

TEST(ConfigErrors, NameWrongType) {
  EXPECT_EQ(error_of("[[target]]\nname = 5\n"),
            "config.toml:2:8: [[target]] #1: name: expected a string, got integer");
}

TEST(ConfigErrors, NameEmpty) {
  EXPECT_EQ(error_of("[[target]]\nname = \"\"\n"),
            "config.toml:2:8: [[target]] #1: name: must not be empty");
}

TEST(ConfigErrors, NameTooLong) {
  EXPECT_EQ(error_of("[[target]]\nname = \"" + std::string(129, 'n') + "\"\n"),
            "config.toml:2:8: [[target]] #1: name: longer than 128 bytes (129)");
  Config config =
      parse_ok("[[target]]\nname = \"" + std::string(128, 'n') + "\"\nuri = \"sip:x.example\"\n");
  EXPECT_EQ(config.targets.at(0).name.size(), 128u);
}

TEST(ConfigErrors, NameNotPrintable) {
  EXPECT_EQ(error_of("[[target]]\nname = \"a\\tb\"\n"),
            "config.toml:2:8: [[target]] #1: name: \"a\\x09b\" contains a control character at "
            "offset 1");
  EXPECT_EQ(error_of("[[target]]\nname = \"a\\u0085\"\n"),
            "config.toml:2:8: [[target]] #1: name: \"a\\u0085\" contains a control character "
            "at offset 1");
}

TEST(ConfigErrors, UnicodeLineSeparatorsAreEscapedInMessages) {
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = \"sip:x\\u2028y\"\n"),
            "config.toml:3:7: [[target]] #1 \"a\": uri \"sip:x\\u2028y\": non-ASCII byte at "
            "offset 5 (use %-escapes)");
}

TEST(ConfigErrors, NameUtf8Allowed) {
  Config config = parse_ok("[[target]]\nname = \"z\xc3\xbcrich\"\nuri = \"sip:x.example\"\n");
  EXPECT_EQ(config.targets.at(0).name, "z\xc3\xbcrich");
}

TEST(ConfigErrors, DuplicateName) {
  EXPECT_EQ(error_of(R"([[target]]
name = "a"
uri = "sip:a.example.com"

[[target]]
name = "b"
uri = "sip:b.example.com"

[[target]]
name = "a"
uri = "sip:c.example.com"
)"),
            "config.toml:10:8: [[target]] #3: name \"a\" is already used by [[target]] #1 (line "
            "2)");
}

TEST(ConfigErrors, UriWrongType) {
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = [\"sip:x\"]\n"),
            "config.toml:3:7: [[target]] #1 \"a\": uri: expected a SIP URI string like "
            "\"sip:203.0.113.7:5060\", got array");
}

TEST(ConfigErrors, UriBadPort) {
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = \"sip:1.2.3.4:99999\"\n"),
            "config.toml:3:7: [[target]] #1 \"a\": uri \"sip:1.2.3.4:99999\": port \"99999\" out "
            "of range 1-65535");
}

TEST(ConfigErrors, UriBadScheme) {
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = \"http://x\"\n"),
            "config.toml:3:7: [[target]] #1 \"a\": uri \"http://x\": unsupported scheme \"http\" "
            "(want sip: or sips:)");
}

TEST(ConfigErrors, UriEmpty) {
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = \"\"\n"),
            "config.toml:3:7: [[target]] #1 \"a\": uri \"\": empty URI");
}

TEST(ConfigErrors, UriWithHeaders) {
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = \"sip:x.example?Subject=1\"\n"),
            "config.toml:3:7: [[target]] #1 \"a\": uri \"sip:x.example?Subject=1\": URI headers "
            "(?...) are not allowed in a probe target");
}

TEST(ConfigErrors, UriInjectionIsEscapedInTheMessage) {
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = \"sip:x\\r\\nVia: y\"\n"),
            "config.toml:3:7: [[target]] #1 \"a\": uri \"sip:x\\x0d\\x0aVia: y\": control "
            "character at offset 5");
}

TEST(ConfigErrors, UriTooLong) {
  std::string uri = "sip:" + std::string(1020, 'u') + "@x";
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = \"" + uri + "\"\n"),
            "config.toml:3:7: [[target]] #1 \"a\": uri: longer than 1024 bytes (1026)");
}

TEST(ConfigErrors, UriTransportParameterIsTheTransport) {
  Config config = parse_ok("[[target]]\nname = \"a\"\nuri = \"sip:x.example;transport=TCP\"\n");
  EXPECT_EQ(config.targets.at(0).parsed_uri().transport, "tcp");
  EXPECT_EQ(config.targets.at(0).shared->transport, Transport::tcp);
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = \"sip:x.example;transport=sctp\"\n"),
            "config.toml:3:7: [[target]] #1 \"a\": uri \"sip:x.example;transport=sctp\": "
            "transport \"sctp\" is not supported (want udp, tcp, tls, ws or wss)");
}

TEST(ConfigErrors, UriSipsIsTls) {
  Config config = parse_ok("[[target]]\nname = \"a\"\nuri = \"sips:x.example\"\n");
  EXPECT_EQ(config.targets.at(0).shared->transport, Transport::tls);
  EXPECT_EQ(error_of("[[target]]\nname = \"a\"\nuri = \"sips:x.example;transport=udp\"\n"),
            "config.toml:3:7: [[target]] #1 \"a\": uri \"sips:x.example;transport=udp\": sips: "
            "needs transport tls or wss, not ;transport=udp");
}

// --- the shipped example --------------------------------------------------------

// The shipped example must always load; it is what users copy.
TEST(ExampleConfig, LoadsWithoutErrors) {
  Config config = load_config_file(STX_SOURCE_DIR "/config/example.toml");
  EXPECT_FALSE(config.targets.empty());
  for (const std::string& warning : config.warnings) ADD_FAILURE() << warning;
}

}  // namespace
}  // namespace stx
