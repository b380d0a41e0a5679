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
                        "--config.check", "--version", "--help"}) {
    EXPECT_NE(u.find(f), std::string::npos) << f;
  }
}

}  // namespace
}  // namespace stx
