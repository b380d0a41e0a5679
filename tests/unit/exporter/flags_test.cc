#include "exporter/flags.h"

#include <gtest/gtest.h>

namespace stx {
namespace {

std::string parse(const std::vector<std::string_view>& args, Flags& f) {
  return parse_flags(args, f);
}

TEST(Flags, Defaults) {
  Flags f;
  EXPECT_EQ(parse({}, f), "");
  EXPECT_EQ(f.config_file, "sip_trunk_exporter.toml");
  EXPECT_EQ(f.listen_addresses, std::vector<std::string>{":15060"});
  EXPECT_EQ(f.log_format, "logfmt");
  EXPECT_EQ(f.log_level, "info");
  EXPECT_FALSE(f.config_check);
}

TEST(Flags, EqualsAndSeparateValues) {
  Flags f;
  EXPECT_EQ(parse({"--config.file=/etc/x.toml", "--web.listen-address", "127.0.0.1:9999",
                   "--log.level=debug", "--config.check"},
                  f),
            "");
  EXPECT_EQ(f.config_file, "/etc/x.toml");
  EXPECT_EQ(f.listen_addresses, std::vector<std::string>{"127.0.0.1:9999"});
  EXPECT_EQ(f.log_level, "debug");
  EXPECT_TRUE(f.config_check);
}

TEST(Flags, ListenAddressRepeatsAndLogFormat) {
  Flags f;
  EXPECT_EQ(parse({"--web.listen-address=127.0.0.1:1", "--web.listen-address=[::1]:2",
                   "--log.format=json"},
                  f),
            "");
  EXPECT_EQ(f.listen_addresses, (std::vector<std::string>{"127.0.0.1:1", "[::1]:2"}));
  EXPECT_EQ(f.log_format, "json");
  EXPECT_EQ(parse({"--log.format=xml"}, f),
            "flag --log.format: \"xml\" is not one of logfmt, json");
}

TEST(Flags, Errors) {
  Flags f;
  EXPECT_EQ(parse({"--nope"}, f), "unknown flag --nope");
  EXPECT_EQ(parse({"config.file=x"}, f),
            "unexpected argument \"config.file=x\" (flags start with --)");
  EXPECT_EQ(parse({"--config.file"}, f), "flag --config.file needs a value");
  EXPECT_EQ(parse({"--log.level=loud"}, f),
            "flag --log.level: \"loud\" is not one of debug, info, warn, error");
  EXPECT_EQ(parse({"--version=yes"}, f), "flag --version takes no value other than true or false");
  EXPECT_EQ(parse({"--web.listen-address=localhost"}, f),
            "flag --web.listen-address: \"localhost\" has no port (want HOST:PORT or :PORT)");
}

TEST(Flags, ShortHelp) {
  Flags f;
  EXPECT_EQ(parse({"-h"}, f), "");
  EXPECT_TRUE(f.help);
  EXPECT_EQ(parse({"-x"}, f), "unexpected argument \"-x\" (flags start with --)");
}

TEST(Flags, WebPathDefaults) {
  Flags f;
  EXPECT_EQ(parse({}, f), "");
  EXPECT_EQ(f.telemetry_path, "/metrics");
  EXPECT_EQ(f.route_prefix, "/");
  EXPECT_EQ(f.external_path, "/");
}

TEST(Flags, RoutePrefixDefaultsToTheExternalUrlsPath) {
  Flags f;
  EXPECT_EQ(parse({"--web.external-url=https://proxy.example.net:8443/sip/trunks/"}, f), "");
  EXPECT_EQ(f.external_path, "/sip/trunks");
  EXPECT_EQ(f.route_prefix, "/sip/trunks");
  Flags bare;
  EXPECT_EQ(parse({"--web.external-url", "http://proxy.example.net"}, bare), "");
  EXPECT_EQ(bare.external_path, "/");
  EXPECT_EQ(bare.route_prefix, "/");
}

TEST(Flags, RoutePrefixGivenApartFromTheExternalUrl) {
  // A proxy that strips /sip before forwarding: routes at the root, links under /sip.
  Flags stripped;
  EXPECT_EQ(parse({"--web.external-url=http://h/sip", "--web.route-prefix=/"}, stripped), "");
  EXPECT_EQ(stripped.route_prefix, "/");
  EXPECT_EQ(stripped.external_path, "/sip");
  // Without an external URL, links go where the routes are; slashes trimmed as Prometheus does.
  Flags prefixed;
  EXPECT_EQ(parse({"--web.route-prefix=/sip/", "--web.telemetry-path=/m"}, prefixed), "");
  EXPECT_EQ(prefixed.route_prefix, "/sip");
  EXPECT_EQ(prefixed.external_path, "/sip");
  EXPECT_EQ(prefixed.telemetry_path, "/m");
}

// The error of parsing `arg` alone.
std::string error_of(std::string_view arg) {
  Flags f;
  return parse_flags({arg}, f);
}

TEST(Flags, BadWebPathsNameTheFlag) {
  EXPECT_EQ(error_of("--web.external-url=/sip"),
            "flag --web.external-url: \"/sip\" is not an absolute URL (want "
            "http://HOST[:PORT][/PATH] or https://...)");
  for (const char* relative :
       {"--web.external-url=proxy.example.net/sip", "--web.external-url=ftp://h/x",
        "--web.external-url=http:///x", "--web.external-url=http://"}) {
    EXPECT_NE(error_of(relative).find("--web.external-url: "), std::string::npos) << relative;
    EXPECT_NE(error_of(relative).find("is not an absolute URL"), std::string::npos) << relative;
  }
  EXPECT_EQ(error_of("--web.external-url=http://h/x?a=1"),
            "flag --web.external-url: \"http://h/x?a=1\" must not have a query, fragment or "
            "spaces");
  EXPECT_EQ(error_of("--web.route-prefix=sip"),
            "flag --web.route-prefix: \"sip\" must start with /");
  EXPECT_EQ(error_of("--web.telemetry-path=metrics"),
            "flag --web.telemetry-path: \"metrics\" must start with /");
  EXPECT_EQ(error_of("--web.telemetry-path=/probe"),
            "flag --web.telemetry-path: \"/probe\" is taken by another route");
  EXPECT_EQ(error_of("--web.telemetry-path=/"),
            "flag --web.telemetry-path: \"/\" is taken by another route");
}

TEST(ListenAddress, Forms) {
  std::string err;
  auto a = parse_listen_address(":15060", &err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "");
  EXPECT_EQ(a->port, 15060);
  a = parse_listen_address("[::1]:80", &err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  a = parse_listen_address("127.0.0.1:0", &err);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 0);
  EXPECT_FALSE(parse_listen_address("::1:80", &err));
  EXPECT_EQ(err, "\"::1:80\": write IPv6 addresses in brackets, e.g. [::1]:15060");
  EXPECT_FALSE(parse_listen_address("h:99999", &err));
  EXPECT_EQ(err, "\"h:99999\": port \"99999\" is not 0-65535");
  EXPECT_FALSE(parse_listen_address("h:", &err));
}

TEST(Flags, UsageNamesEveryFlag) {
  const std::string u = usage();
  for (const char* f : {"--config.file", "--web.listen-address", "--log.level", "--log.format",
                        "--config.check", "--version", "--help", "-h", "--web.telemetry-path",
                        "--web.external-url", "--web.route-prefix", "--web.config.file",
                        "--shard.count", "--shard.index", "--shard.replicas"}) {
    EXPECT_NE(u.find(f), std::string::npos) << f;
  }
}

// The shard flags alone, with the hostname a StatefulSet's third pod would have.
std::string shard_error(const std::vector<std::string_view>& args, Shard* shard = nullptr,
                        std::string host = "sip-exporter-2") {
  Flags f;
  std::string error = parse_flags(args, f, [&] { return host; });
  if (shard != nullptr) *shard = f.shard;
  return error;
}

TEST(Flags, ShardDefaultsToOneShardOwningEverything) {
  Shard s{9, 9, 9};
  EXPECT_EQ(shard_error({}, &s), "");
  EXPECT_EQ(s, (Shard{0, 1, 1}));
}

TEST(Flags, ShardValues) {
  Shard s;
  EXPECT_EQ(shard_error({"--shard.count=4", "--shard.index", "3", "--shard.replicas=2"}, &s), "");
  EXPECT_EQ(s, (Shard{3, 4, 2}));
  // The index is checked against the count wherever the flags stand.
  EXPECT_EQ(shard_error({"--shard.index=1", "--shard.count=2"}, &s), "");
  EXPECT_EQ(s, (Shard{1, 2, 1}));
}

TEST(Flags, ShardIndexFromTheHostnamesSuffix) {
  Shard s;
  EXPECT_EQ(shard_error({"--shard.count=3", "--shard.index=hostname"}, &s), "");
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(shard_error({"--shard.count=3", "--shard.index=hostname"}, nullptr, "db"),
            "flag --shard.index: hostname \"db\" does not end in -NUMBER");
  EXPECT_EQ(shard_error({"--shard.count=3", "--shard.index=hostname"}, nullptr, "sip-x"),
            "flag --shard.index: hostname \"sip-x\" does not end in -NUMBER");
  EXPECT_EQ(shard_error({"--shard.count=3", "--shard.index=hostname"}, nullptr, "sip-5"),
            "flag --shard.index: 5 (from hostname \"sip-5\") is not below --shard.count=3");
  // Without --shard.index=hostname the hostname is not asked.
  Flags f;
  EXPECT_EQ(parse_flags({"--shard.count=2"}, f, []() -> std::string { throw 1; }), "");
}

TEST(Flags, HostnameOrdinal) {
  EXPECT_EQ(hostname_ordinal("sip-exporter-0"), 0u);
  EXPECT_EQ(hostname_ordinal("sip-exporter-12"), 12u);
  EXPECT_EQ(hostname_ordinal("sip-exporter-"), std::nullopt);
  EXPECT_EQ(hostname_ordinal("sip-exporter-2a"), std::nullopt);
  EXPECT_EQ(hostname_ordinal("exporter2"), std::nullopt);
  EXPECT_EQ(hostname_ordinal(""), std::nullopt);
}

TEST(Flags, BadShardFlagsNameTheFlag) {
  EXPECT_EQ(shard_error({"--shard.count=0"}),
            "flag --shard.count: \"0\" is not a whole number from 1 to 1000");
  EXPECT_EQ(shard_error({"--shard.count=-1"}),
            "flag --shard.count: \"-1\" is not a whole number from 1 to 1000");
  EXPECT_EQ(shard_error({"--shard.count=1001"}),
            "flag --shard.count: \"1001\" is not a whole number from 1 to 1000");
  EXPECT_EQ(shard_error({"--shard.replicas=0"}),
            "flag --shard.replicas: \"0\" is not a whole number from 1 to 1000");
  EXPECT_EQ(shard_error({"--shard.index=one"}),
            "flag --shard.index: \"one\" is not a whole number or \"hostname\"");
  EXPECT_EQ(shard_error({"--shard.index=3", "--shard.count=3"}),
            "flag --shard.index: 3 is not below --shard.count=3");
  EXPECT_EQ(shard_error({"--shard.index=1"}), "flag --shard.index: 1 is not below --shard.count=1");
  EXPECT_EQ(shard_error({"--shard.count=3", "--shard.replicas=4"}),
            "flag --shard.replicas: 4 is more than --shard.count=3");
  EXPECT_EQ(shard_error({"--shard.count"}), "flag --shard.count needs a value");
}

}  // namespace
}  // namespace stx
