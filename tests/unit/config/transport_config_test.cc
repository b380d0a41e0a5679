// Transport, identity, extra headers, TLS, keepalive, digest credentials and DNS settings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "parse_helpers.h"

namespace stx {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

using test::error_of;
using test::parse_ok;
using test::parse_probe_only;

// Line 1-3; a key appended by a test is on line 4.
const std::string kTarget = "[[target]]\nname = \"a\"\nuri = \"sip:203.0.113.7\"\n";

std::string target_with_uri(const std::string& uri) {
  return "[[target]]\nname = \"a\"\nuri = \"" + uri + "\"\n";
}

const TargetConfig& only_target(const Config& config) {
  EXPECT_EQ(config.targets.size(), 1u);
  static const TargetConfig empty;
  return config.targets.empty() ? empty : config.targets[0];
}

std::string probe_error_of(const ModuleConfig& module, std::string_view uri) {
  try {
    TargetConfig target = target_for_probe(module, uri);
    ADD_FAILURE() << "accepted " << uri;
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// A private directory with a few files; removed with everything in it.
class Files {
 public:
  Files() {
    char templ[] = "/tmp/stx-config-test-XXXXXX";
    const char* made = ::mkdtemp(templ);
    EXPECT_NE(made, nullptr);
    dir_ = made != nullptr ? made : "/nonexistent";
  }
  ~Files() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Files(const Files&) = delete;
  Files& operator=(const Files&) = delete;

  std::string write(const std::string& name, const std::string& content = "pem\n") const {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }

 private:
  std::string name_;
};

// --- transport ---------------------------------------------------------------------

TEST(ConfigTransport, AbsentMeansRfc3263Chooses) {
  EXPECT_EQ(only_target(parse_ok(kTarget)).shared->transport, std::nullopt);
  EXPECT_EQ(only_target(parse_ok(target_with_uri("sip:edge.example.com"))).shared->transport,
            std::nullopt);
}

TEST(ConfigTransport, KeyValues) {
  EXPECT_EQ(only_target(parse_ok(kTarget + "transport = \"udp\"\n")).shared->transport,
            Transport::udp);
  EXPECT_EQ(only_target(parse_ok(kTarget + "transport = \"tcp\"\n")).shared->transport,
            Transport::tcp);
  EXPECT_EQ(only_target(parse_ok(kTarget + "transport = \"tls\"\n")).shared->transport,
            Transport::tls);
  // From [defaults], and a target may override it.
  Config config = parse_ok("[defaults]\ntransport = \"tcp\"\n" + kTarget +
                           "[[target]]\nname = \"b\"\nuri = \"sip:x.example\"\ntransport = "
                           "\"tls\"\n");
  EXPECT_EQ(config.targets.at(0).shared->transport, Transport::tcp);
  EXPECT_EQ(config.targets.at(1).shared->transport, Transport::tls);
  EXPECT_EQ(find_module(config, "default")->settings.shared->transport, Transport::tcp);
}

TEST(ConfigTransport, ToString) {
  EXPECT_EQ(to_string(Transport::udp), "udp");
  EXPECT_EQ(to_string(Transport::tcp), "tcp");
  EXPECT_EQ(to_string(Transport::tls), "tls");
}

TEST(ConfigTransport, FoldedFromTheUri) {
  EXPECT_EQ(only_target(parse_ok(target_with_uri("sip:x.example;transport=UDP"))).shared->transport,
            Transport::udp);
  EXPECT_EQ(only_target(parse_ok(target_with_uri("sip:x.example;transport=tcp"))).shared->transport,
            Transport::tcp);
  EXPECT_EQ(only_target(parse_ok(target_with_uri("sip:x.example;transport=tls"))).shared->transport,
            Transport::tls);
  EXPECT_EQ(only_target(parse_ok(target_with_uri("sips:x.example"))).shared->transport,
            Transport::tls);
  EXPECT_EQ(
      only_target(parse_ok(target_with_uri("sips:x.example;transport=tls"))).shared->transport,
      Transport::tls);
  // A key that agrees is fine.
  EXPECT_EQ(only_target(parse_ok(target_with_uri("sips:x.example") + "transport = \"tls\"\n"))
                .shared->transport,
            Transport::tls);
  EXPECT_EQ(only_target(
                parse_ok(target_with_uri("sip:x.example;transport=tcp") + "transport = \"tcp\"\n"))
                .shared->transport,
            Transport::tcp);
}

TEST(ConfigTransport, BadValues) {
  EXPECT_EQ(error_of(kTarget + "transport = \"sctp\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": transport: \"sctp\" is not one of \"udp\", "
            "\"tcp\", \"tls\", \"ws\", \"wss\"");
  EXPECT_EQ(error_of(kTarget + "transport = \"UDP\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": transport: \"UDP\" is not one of \"udp\", "
            "\"tcp\", \"tls\", \"ws\", \"wss\"");
  EXPECT_EQ(error_of(kTarget + "transport = 5060\n"),
            "config.toml:4:13: [[target]] #1 \"a\": transport: expected one of \"udp\", \"tcp\", "
            "\"tls\", \"ws\", \"wss\", got integer");
  EXPECT_EQ(error_of(kTarget + "transprot = \"udp\"\n"),
            "config.toml:4:1: [[target]] #1 \"a\": unknown key \"transprot\" (did you mean "
            "\"transport\"?)");
}

TEST(ConfigTransport, UnsupportedUriTransports) {
  for (const char* t : {"sctp", "ws2"}) {
    EXPECT_EQ(error_of(target_with_uri(std::string("sip:x.example;transport=") + t)),
              std::string("config.toml:3:7: [[target]] #1 \"a\": uri \"sip:x.example;transport=") +
                  t + "\": transport \"" + t +
                  "\" is not supported (want udp, tcp, tls, ws or wss)");
  }
}

TEST(ConfigTransport, Conflicts) {
  EXPECT_EQ(error_of(target_with_uri("sips:x.example") + "transport = \"udp\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": transport: \"udp\" conflicts with the sips: "
            "URI, which needs tls or wss");
  EXPECT_EQ(error_of(target_with_uri("sips:x.example") + "transport = \"tcp\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": transport: \"tcp\" conflicts with the sips: "
            "URI, which needs tls or wss");
  EXPECT_EQ(error_of(target_with_uri("sip:x.example;transport=tcp") + "transport = \"udp\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": transport: \"udp\" conflicts with the URI's "
            ";transport=tcp");
  EXPECT_EQ(error_of(target_with_uri("sips:x.example;transport=tcp")),
            "config.toml:3:7: [[target]] #1 \"a\": uri \"sips:x.example;transport=tcp\": sips: "
            "needs transport tls or wss, not ;transport=tcp");
  // A transport from [defaults] that does not fit the target's URI: pointed at the URI.
  EXPECT_EQ(error_of("[defaults]\ntransport = \"udp\"\n" + target_with_uri("sips:x.example")),
            "config.toml:5:7: [[target]] #1 \"a\": transport: \"udp\" conflicts with the sips: "
            "URI, which needs tls or wss (transport is set in [defaults])");
}

// --- SIP over WebSocket ------------------------------------------------------------

TEST(ConfigWebSocket, TransportsFromTheKeyAndTheUri) {
  EXPECT_EQ(to_string(Transport::ws), "ws");
  EXPECT_EQ(to_string(Transport::wss), "wss");
  EXPECT_EQ(only_target(parse_ok(kTarget + "transport = \"ws\"\n")).shared->transport,
            Transport::ws);
  EXPECT_EQ(only_target(parse_ok(kTarget + "transport = \"wss\"\n")).shared->transport,
            Transport::wss);
  EXPECT_EQ(
      only_target(parse_ok(target_with_uri("sip:x.example:8080;transport=ws"))).shared->transport,
      Transport::ws);
  EXPECT_EQ(only_target(parse_ok(target_with_uri("sip:x.example;transport=WSS"))).shared->transport,
            Transport::wss);
  EXPECT_EQ(
      only_target(parse_ok(target_with_uri("sips:x.example;transport=wss"))).shared->transport,
      Transport::wss);
  EXPECT_EQ(only_target(parse_ok(target_with_uri("sips:x.example") + "transport = \"wss\"\n"))
                .shared->transport,
            Transport::wss);
}

TEST(ConfigWebSocket, SipsNeedsWss) {
  EXPECT_EQ(error_of(target_with_uri("sips:x.example;transport=ws")),
            "config.toml:3:7: [[target]] #1 \"a\": uri \"sips:x.example;transport=ws\": sips: "
            "needs transport tls or wss, not ;transport=ws");
  EXPECT_EQ(error_of(target_with_uri("sips:x.example") + "transport = \"ws\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": transport: \"ws\" conflicts with the sips: "
            "URI, which needs tls or wss");
  EXPECT_EQ(error_of(target_with_uri("sip:x.example;transport=ws") + "transport = \"wss\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": transport: \"wss\" conflicts with the URI's "
            ";transport=ws");
  Config config = parse_probe_only("[module.m]\ntransport = \"ws\"\n");
  EXPECT_EQ(probe_error_of(*find_module(config, "m"), "sips:x.example"),
            "target \"sips:x.example\": transport \"ws\" conflicts with the sips: URI, which needs "
            "tls or wss (module \"m\")");
  EXPECT_EQ(probe_error_of(*find_module(config, "default"), "sips:x.example;transport=ws"),
            "target \"sips:x.example;transport=ws\": sips: needs transport tls or wss, not "
            ";transport=ws");
}

TEST(ConfigWebSocket, WsPathDefaultsAndInheritance) {
  EXPECT_EQ(only_target(parse_ok(kTarget + "transport = \"ws\"\n")).shared->ws_path, "/");
  EXPECT_EQ(only_target(parse_ok(kTarget + "transport = \"ws\"\nws_path = \"/sip/ws?x=1\"\n"))
                .shared->ws_path,
            "/sip/ws?x=1");
  // [defaults] may hold it for its WebSocket targets; the others ignore it.
  Config config = parse_ok("[defaults]\nws_path = \"/ws\"\n" + kTarget + "transport = \"ws\"\n" +
                           "[[target]]\nname = \"b\"\nuri = \"sip:x.example;transport=tcp\"\n");
  EXPECT_EQ(config.targets.at(0).shared->ws_path, "/ws");
  EXPECT_EQ(config.targets.at(1).shared->transport, Transport::tcp);
  // Modules and /probe targets carry it.
  config = parse_probe_only("[module.gw]\ntransport = \"wss\"\nws_path = \"/gw\"\n");
  EXPECT_EQ(find_module(config, "gw")->settings.shared->ws_path, "/gw");
  TargetConfig target = target_for_probe(*find_module(config, "gw"), "sips:gw.example");
  EXPECT_EQ(target.shared->transport, Transport::wss);
  EXPECT_EQ(target.shared->ws_path, "/gw");
  // TLS settings go with wss as with tls.
  EXPECT_TRUE(only_target(parse_ok(kTarget + "transport = \"wss\"\ntls_server_name = "
                                             "\"gw.example\"\n"))
                  .shared->tls.server_name == "gw.example");
}

TEST(ConfigWebSocket, BadWsPaths) {
  EXPECT_EQ(error_of(kTarget + "transport = \"ws\"\nws_path = \"ws\"\n"),
            "config.toml:5:11: [[target]] #1 \"a\": ws_path: \"ws\" must start with \"/\" (an "
            "HTTP path like \"/ws\")");
  EXPECT_EQ(error_of(kTarget + "transport = \"ws\"\nws_path = \"/a b\"\n"),
            "config.toml:5:11: [[target]] #1 \"a\": ws_path: \"/a b\" is not an HTTP path "
            "(character \" \" is not allowed; percent-encode it)");
  EXPECT_EQ(error_of(kTarget + "ws_path = 1\n"),
            "config.toml:4:11: [[target]] #1 \"a\": ws_path: expected a string, got integer");
  EXPECT_EQ(error_of("[defaults]\nws_path = \"\"\n"),
            "config.toml:2:11: [defaults]: ws_path: must not be empty");
  EXPECT_EQ(error_of("[module.m]\nws_path = \"x\"\n"),
            "config.toml:2:11: [module.m]: ws_path: \"x\" must start with \"/\" (an HTTP path "
            "like \"/ws\")");
  // A target or module that sets it must use WebSocket.
  EXPECT_EQ(error_of(kTarget + "transport = \"tcp\"\nws_path = \"/ws\"\n"),
            "config.toml:5:11: [[target]] #1 \"a\": ws_path: applies to transport \"ws\" or "
            "\"wss\" only, but the transport is \"tcp\"");
  EXPECT_EQ(error_of(target_with_uri("sips:x.example") + "ws_path = \"/ws\"\n"),
            "config.toml:4:11: [[target]] #1 \"a\": ws_path: applies to transport \"ws\" or "
            "\"wss\" only, but the transport is \"tls\"");
  EXPECT_EQ(error_of("[module.m]\ntransport = \"udp\"\nws_path = \"/ws\"\n"),
            "config.toml:3:11: [module.m]: ws_path: applies to transport \"ws\" or \"wss\" only, "
            "but the transport is \"udp\"");
}

// --- probe, up_when -------------------------------------------------------------------

TEST(ConfigProbeChoices, ValuesAndDefaults) {
  const TargetConfig t = only_target(parse_ok(kTarget));  // a copy: the Config is a temporary
  EXPECT_EQ(t.shared->probe, ProbeAddresses::all);
  EXPECT_EQ(t.shared->up_when, UpWhen::any);
  Config config = parse_ok("[defaults]\nprobe = \"first\"\nup_when = \"all\"\n" + kTarget);
  EXPECT_EQ(only_target(config).shared->probe, ProbeAddresses::first);
  EXPECT_EQ(only_target(config).shared->up_when, UpWhen::all);
  config = parse_ok(kTarget + "probe = \"all\"\nup_when = \"any\"\n");
  EXPECT_EQ(only_target(config).shared->probe, ProbeAddresses::all);
  EXPECT_EQ(only_target(config).shared->up_when, UpWhen::any);
}

TEST(ConfigProbeChoices, BadValues) {
  EXPECT_EQ(error_of(kTarget + "probe = \"some\"\n"),
            "config.toml:4:9: [[target]] #1 \"a\": probe: \"some\" is not one of \"all\", "
            "\"first\"");
  EXPECT_EQ(error_of(kTarget + "up_when = true\n"),
            "config.toml:4:11: [[target]] #1 \"a\": up_when: expected one of \"any\", \"all\", got "
            "boolean");
}

// --- to, contact, ruri_user ----------------------------------------------------------------

TEST(ConfigIdentity, ToContactAndRuriUser) {
  const TargetConfig none = only_target(parse_ok(kTarget));  // a copy: the Config is a temporary
  EXPECT_EQ(none.shared->to, "");
  EXPECT_EQ(none.shared->contact, "");
  EXPECT_EQ(none.shared->ruri_user, "");
  Config config = parse_ok(kTarget +
                           "to = \"sip:+15551234567@carrier.example\"\n"
                           "contact = \"sips:probe@198.51.100.7:5061\"\n"
                           "ruri_user = \"+1555%20;x=1&y\"\n");
  const TargetConfig& t = only_target(config);
  EXPECT_EQ(t.shared->to, "sip:+15551234567@carrier.example");
  EXPECT_EQ(t.shared->contact, "sips:probe@198.51.100.7:5061");
  EXPECT_EQ(t.shared->ruri_user, "+1555%20;x=1&y");
}

TEST(ConfigIdentity, Errors) {
  EXPECT_EQ(error_of(kTarget + "to = \"tel:+15551234567\"\n"),
            "config.toml:4:6: [[target]] #1 \"a\": to: \"tel:+15551234567\": unsupported scheme "
            "\"tel\" (want sip: or sips:)");
  EXPECT_EQ(error_of(kTarget + "to = 1\n"),
            "config.toml:4:6: [[target]] #1 \"a\": to: expected a SIP URI string like "
            "\"sip:+15551234567@carrier.example\", got integer");
  EXPECT_EQ(error_of(kTarget + "contact = \"sip:x\\r\\nVia: y\"\n"),
            "config.toml:4:11: [[target]] #1 \"a\": contact: \"sip:x\\x0d\\x0aVia: y\": control "
            "character at offset 5");
  EXPECT_EQ(error_of(kTarget + "contact = \"sip:" + std::string(253, 'x') + "\"\n"),
            "config.toml:4:11: [[target]] #1 \"a\": contact: longer than 256 bytes (257)");
  EXPECT_EQ(error_of(kTarget + "ruri_user = \"a b\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": ruri_user: invalid user \"a b\" (byte \" \" at "
            "offset 1); want RFC 3261 user characters: letters, digits, -_.!~*'() &=+$,;?/ and "
            "%HH escapes");
  EXPECT_THAT(error_of(kTarget + "ruri_user = \"a@b\"\n"),
              HasSubstr("ruri_user: invalid user \"a@b\" (character '@')"));
  EXPECT_THAT(error_of(kTarget + "ruri_user = \"a%2\"\n"), HasSubstr("(invalid %-escape)"));
  EXPECT_EQ(error_of(kTarget + "ruri_user = \"\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": ruri_user: must not be empty");
  EXPECT_EQ(only_target(parse_ok(kTarget + "ruri_user = \"" + std::string(64, 'u') + "\"\n"))
                .shared->ruri_user.size(),
            64u);
  EXPECT_EQ(error_of(kTarget + "ruri_user = \"" + std::string(65, 'u') + "\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": ruri_user: longer than 64 bytes (65)");
}

// --- headers ---------------------------------------------------------------------------------

TEST(ConfigHeaders, KeptInConfigOrder) {
  Config config = parse_ok(kTarget +
                           "headers = { \"X-Zeta\" = \"1\", \"P-Asserted-Identity\" = "
                           "\"<sip:+1555@x.example>\", \"X-Alpha\" = \"a\\tb\" }\n");
  EXPECT_THAT(only_target(config).shared->headers,
              ElementsAre(Pair("X-Zeta", "1"), Pair("P-Asserted-Identity", "<sip:+1555@x.example>"),
                          Pair("X-Alpha", "a\tb")));
  // The same as a sub-table.
  config = parse_ok(kTarget + "[target.headers]\nX-Zeta = \"1\"\nX-Alpha = \"\"\n");
  EXPECT_THAT(only_target(config).shared->headers,
              ElementsAre(Pair("X-Zeta", "1"), Pair("X-Alpha", "")));
}

TEST(ConfigHeaders, TargetMergesIntoDefaults) {
  Config config =
      parse_ok("[defaults]\nheaders = { \"X-Account\" = \"1\", \"X-Site\" = \"nyc\" }\n" + kTarget +
               "headers = { \"x-site\" = \"lon\", \"X-New\" = \"n\" }\n"
               "[[target]]\nname = \"b\"\nuri = \"sip:x.example\"\n");
  EXPECT_THAT(config.targets.at(0).shared->headers,
              ElementsAre(Pair("X-Account", "1"), Pair("x-site", "lon"), Pair("X-New", "n")));
  EXPECT_THAT(config.targets.at(1).shared->headers,
              ElementsAre(Pair("X-Account", "1"), Pair("X-Site", "nyc")));
}

TEST(ConfigHeaders, HeadersTheExporterWritesAreRefused) {
  struct Case {
    const char* name;
    const char* reason;
  };
  for (const Case& c : {
           Case{"Via", "\"Via\" is written by the exporter"},
           Case{"from", "\"from\" is written by the exporter; set it with the \"from\" key"},
           Case{"TO", "\"TO\" is written by the exporter; set it with the \"to\" key"},
           Case{"Call-ID", "\"Call-ID\" is written by the exporter"},
           Case{"cseq", "\"cseq\" is written by the exporter"},
           Case{"Contact",
                "\"Contact\" is written by the exporter; set it with the \"contact\" key"},
           Case{"Max-Forwards", "\"Max-Forwards\" is written by the exporter"},
           Case{"Content-Length", "\"Content-Length\" is written by the exporter"},
           Case{"Content-Type", "\"Content-Type\" is written by the exporter"},
           Case{"User-Agent",
                "\"User-Agent\" is written by the exporter; set it with the \"user_agent\" key"},
           Case{"Authorization",
                "\"Authorization\" is written by the exporter; set it with the \"auth_user\" key"},
           Case{"proxy-authorization",
                "\"proxy-authorization\" is written by the exporter; set it "
                "with the \"auth_user\" key"},
           Case{"v", "\"v\" (compact form of Via) is written by the exporter"},
           Case{"F",
                "\"F\" (compact form of From) is written by the exporter; set it with the "
                "\"from\" key"},
           Case{"t",
                "\"t\" (compact form of To) is written by the exporter; set it with the \"to\" "
                "key"},
           Case{"i", "\"i\" (compact form of Call-ID) is written by the exporter"},
           Case{"m",
                "\"m\" (compact form of Contact) is written by the exporter; set it with the "
                "\"contact\" key"},
           Case{"l", "\"l\" (compact form of Content-Length) is written by the exporter"},
           Case{"c", "\"c\" (compact form of Content-Type) is written by the exporter"},
       }) {
    EXPECT_EQ(error_of(kTarget + "headers = { \"" + c.name + "\" = \"x\" }\n"),
              std::string("config.toml:4:13: [[target]] #1 \"a\": headers: ") + c.reason);
  }
  // Names that merely contain one are fine.
  EXPECT_EQ(only_target(parse_ok(kTarget + "headers = { \"X-Via\" = \"x\", k = \"s\" }\n"))
                .shared->headers.size(),
            2u);
}

TEST(ConfigHeaders, Errors) {
  EXPECT_EQ(error_of(kTarget + "headers = \"X-A: 1\"\n"),
            "config.toml:4:11: [[target]] #1 \"a\": headers: expected a table like { "
            "\"X-Account\" = \"1234\" }, got string");
  EXPECT_EQ(error_of(kTarget + "headers = { \"X A\" = \"1\" }\n"),
            "config.toml:4:13: [[target]] #1 \"a\": headers: name \"X A\" is not a valid header "
            "name (RFC 3261 token characters)");
  EXPECT_EQ(error_of(kTarget + "headers = { \"X:A\" = \"1\" }\n"),
            "config.toml:4:13: [[target]] #1 \"a\": headers: name \"X:A\" is not a valid header "
            "name (RFC 3261 token characters)");
  EXPECT_EQ(error_of(kTarget + "headers = { \"" + std::string(65, 'X') + "\" = \"1\" }\n"),
            "config.toml:4:13: [[target]] #1 \"a\": headers: name longer than 64 bytes (65)");
  EXPECT_EQ(error_of(kTarget + "headers = { \"X-A\" = 1 }\n"),
            "config.toml:4:21: [[target]] #1 \"a\": headers.X-A: expected a string, got integer");
  EXPECT_EQ(error_of(kTarget + "headers = { \"X-A\" = \"1\\r\\nVia: evil\" }\n"),
            "config.toml:4:21: [[target]] #1 \"a\": headers.X-A: \"1\\x0d\\x0aVia: evil\" "
            "contains a byte that is not printable ASCII at offset 1");
  EXPECT_EQ(error_of(kTarget + "headers = { \"X-A\" = \"caf\\u00e9\" }\n"),
            "config.toml:4:21: [[target]] #1 \"a\": headers.X-A: \"caf\xc3\xa9\" contains a byte "
            "that is not printable ASCII at offset 3");
  EXPECT_EQ(error_of(kTarget + "headers = { \"X-A\" = \"" + std::string(257, 'v') + "\" }\n"),
            "config.toml:4:21: [[target]] #1 \"a\": headers.X-A: longer than 256 bytes (257)");
  EXPECT_EQ(error_of(kTarget + "headers = { \"X-A\" = \"1\", \"x-a\" = \"2\" }\n"),
            "config.toml:4:26: [[target]] #1 \"a\": headers: header \"x-a\" is given twice (as "
            "\"X-A\")");
}

TEST(ConfigHeaders, AtMostSixteen) {
  std::string sixteen = "headers = { ";
  for (int i = 0; i < 16; ++i) sixteen += "X-" + std::to_string(i) + " = \"v\", ";
  sixteen.resize(sixteen.size() - 2);
  sixteen += " }\n";
  EXPECT_EQ(only_target(parse_ok(kTarget + sixteen)).shared->headers.size(), 16u);
  std::string seventeen = sixteen;
  seventeen.insert(seventeen.size() - 3, ", X-16 = \"v\"");
  EXPECT_EQ(error_of(kTarget + seventeen),
            "config.toml:4:11: [[target]] #1 \"a\": headers: more than 16 headers (17)");
  // Counted after merging with [defaults].
  EXPECT_EQ(error_of("[defaults]\nheaders = { X-D = \"d\" }\n" + kTarget + sixteen),
            "config.toml:6:11: [[target]] #1 \"a\": headers: more than 16 headers (17)");
}

// --- source address and port --------------------------------------------------------------

TEST(ConfigSource, AddressAndPort) {
  const TargetConfig none = only_target(parse_ok(kTarget));  // a copy: the Config is a temporary
  EXPECT_EQ(none.shared->source_address, "");
  EXPECT_EQ(none.shared->source_port, 0);
  Config config = parse_ok(kTarget + "source_address = \"192.0.2.10\"\nsource_port = 5060\n");
  EXPECT_EQ(only_target(config).shared->source_address, "192.0.2.10");
  EXPECT_EQ(only_target(config).shared->source_port, 5060);
  config = parse_ok(target_with_uri("sip:[2001:db8::1]") + "source_address = \"2001:db8::10\"\n");
  EXPECT_EQ(only_target(config).shared->source_address, "2001:db8::10");
  // A host name resolves to either family.
  config = parse_ok(target_with_uri("sip:x.example") + "source_address = \"::1\"\n");
  EXPECT_EQ(only_target(config).shared->source_address, "::1");
  EXPECT_EQ(only_target(parse_ok(kTarget + "source_port = 65535\n")).shared->source_port, 65535);
  EXPECT_EQ(only_target(parse_ok(kTarget + "source_port = 1\n")).shared->source_port, 1);
}

TEST(ConfigSource, Errors) {
  EXPECT_EQ(error_of(kTarget + "source_address = \"host.example\"\n"),
            "config.toml:4:18: [[target]] #1 \"a\": source_address: \"host.example\" is not an "
            "IPv4 or IPv6 address (host names are not allowed)");
  EXPECT_EQ(error_of(kTarget + "source_address = \"[::1]\"\n"),
            "config.toml:4:18: [[target]] #1 \"a\": source_address: \"[::1]\" is not an IP "
            "address (write IPv6 addresses without brackets)");
  EXPECT_EQ(error_of(kTarget + "source_address = \"192.0.2.1:5060\"\n"),
            "config.toml:4:18: [[target]] #1 \"a\": source_address: \"192.0.2.1:5060\" is not an "
            "IPv4 or IPv6 address (host names are not allowed)");
  EXPECT_EQ(error_of(kTarget + "source_address = \"2001:db8::10\"\n"),
            "config.toml:4:18: [[target]] #1 \"a\": source_address: \"2001:db8::10\" is IPv6 but "
            "the URI host \"203.0.113.7\" is IPv4");
  EXPECT_EQ(error_of(target_with_uri("sip:[2001:db8::1]") + "source_address = \"192.0.2.1\"\n"),
            "config.toml:4:18: [[target]] #1 \"a\": source_address: \"192.0.2.1\" is IPv4 but the "
            "URI host \"2001:db8::1\" is IPv6");
  // From [defaults]: pointed at the target's URI.
  EXPECT_EQ(error_of("[defaults]\nsource_address = \"::1\"\n" + kTarget),
            "config.toml:5:7: [[target]] #1 \"a\": source_address: \"::1\" is IPv6 but the URI "
            "host \"203.0.113.7\" is IPv4");
  EXPECT_EQ(error_of(kTarget + "source_port = 0\n"),
            "config.toml:4:15: [[target]] #1 \"a\": source_port: must be from 1 to 65535, got 0");
  EXPECT_EQ(error_of(kTarget + "source_port = 65536\n"),
            "config.toml:4:15: [[target]] #1 \"a\": source_port: must be from 1 to 65535, got "
            "65536");
  EXPECT_EQ(error_of(kTarget + "source_port = \"5060\"\n"),
            "config.toml:4:15: [[target]] #1 \"a\": source_port: expected an integer, got string");
}

// --- TLS -----------------------------------------------------------------------------------------

TEST(ConfigTls, FilesAndNames) {
  Files files;
  const std::string ca = files.write("ca.pem");
  const std::string cert = files.write("client.pem");
  const std::string key = files.write("client.key");
  Config config = parse_ok(target_with_uri("sips:edge.example.com") + "tls_ca_file = \"" + ca +
                           "\"\ntls_cert_file = \"" + cert + "\"\ntls_key_file = \"" + key +
                           "\"\ntls_server_name = \"sbc.carrier.example\"\n");
  const TlsSettings& tls = only_target(config).shared->tls;
  EXPECT_EQ(tls.ca_file, ca);
  EXPECT_EQ(tls.cert_file, cert);
  EXPECT_EQ(tls.key_file, key);
  EXPECT_EQ(tls.server_name, "sbc.carrier.example");
  EXPECT_FALSE(tls.insecure_skip_verify);
  EXPECT_TRUE(config.warnings.empty());
  // No transport at all is fine too: RFC 3263 may choose TLS.
  config = parse_ok(target_with_uri("sip:edge.example.com") + "tls_ca_file = \"" + ca + "\"\n");
  EXPECT_EQ(only_target(config).shared->tls.ca_file, ca);
}

TEST(ConfigTls, RelativePathsAreRelativeToTheConfigFile) {
  Files files;
  const std::string ca = files.write("ca.pem");
  const std::string text = kTarget + "tls_ca_file = \"ca.pem\"\n";
  Config config = parse_config(text, files.dir() + "/config.toml");
  EXPECT_EQ(only_target(config).shared->tls.ca_file, ca);
  // Through load_config_file as well.
  std::ofstream(files.dir() + "/stx.toml") << text;
  EXPECT_EQ(only_target(load_config_file(files.dir() + "/stx.toml")).shared->tls.ca_file, ca);
}

TEST(ConfigTls, UnreadableFilesAreErrors) {
  Files files;
  EXPECT_EQ(error_of(kTarget + "tls_ca_file = \"" + files.dir() + "/missing.pem\"\n"),
            "config.toml:4:15: [[target]] #1 \"a\": tls_ca_file: cannot read \"" + files.dir() +
                "/missing.pem\": No such file or directory");
  EXPECT_EQ(error_of(kTarget + "tls_cert_file = \"" + files.dir() + "\"\n"),
            "config.toml:4:17: [[target]] #1 \"a\": tls_cert_file: cannot read \"" + files.dir() +
                "\": Is a directory");
  EXPECT_EQ(error_of(kTarget + "tls_key_file = \"\"\n"),
            "config.toml:4:16: [[target]] #1 \"a\": tls_key_file: must not be empty");
  EXPECT_EQ(error_of(kTarget + "tls_ca_file = [\"a.pem\"]\n"),
            "config.toml:4:15: [[target]] #1 \"a\": tls_ca_file: expected a string, got array");
}

TEST(ConfigTls, ReloadWithAFileThatDisappearedIsRejected) {
  Files files;
  const std::string ca = files.write("ca.pem");
  const std::string text = kTarget + "tls_ca_file = \"" + ca + "\"\n";
  parse_ok(text);
  std::remove(ca.c_str());
  EXPECT_THAT(error_of(text),
              HasSubstr("tls_ca_file: cannot read \"" + ca + "\": No such file or directory"));
}

TEST(ConfigTls, CertificateAndKeyComeTogether) {
  Files files;
  const std::string cert = files.write("client.pem");
  const std::string key = files.write("client.key");
  EXPECT_EQ(error_of(kTarget + "tls_cert_file = \"" + cert + "\"\n"),
            "config.toml:4:17: [[target]] #1 \"a\": tls_cert_file: needs tls_key_file too (the "
            "client certificate's private key)");
  EXPECT_EQ(error_of(kTarget + "tls_key_file = \"" + key + "\"\n"),
            "config.toml:4:16: [[target]] #1 \"a\": tls_key_file: needs tls_cert_file too (the "
            "client certificate)");
  // One in [defaults], the other in the target: together.
  Config config = parse_ok("[defaults]\ntls_cert_file = \"" + cert + "\"\ntls_key_file = \"" + key +
                           "\"\n" + kTarget);
  EXPECT_EQ(only_target(config).shared->tls.key_file, key);
}

TEST(ConfigTls, TlsKeysNeedTls) {
  Files files;
  const std::string ca = files.write("ca.pem");
  EXPECT_EQ(error_of(kTarget + "transport = \"udp\"\ntls_ca_file = \"" + ca + "\"\n"),
            "config.toml:5:15: [[target]] #1 \"a\": tls_ca_file: TLS settings need transport "
            "\"tls\" or \"wss\" (or none), but the transport is \"udp\"");
  EXPECT_EQ(error_of(kTarget + "transport = \"tcp\"\ntls_server_name = \"x.example\"\n"),
            "config.toml:5:19: [[target]] #1 \"a\": tls_server_name: TLS settings need transport "
            "\"tls\" or \"wss\" (or none), but the transport is \"tcp\"");
  // Even false: the key says TLS is meant.
  EXPECT_EQ(error_of(kTarget + "transport = \"tcp\"\ntls_insecure_skip_verify = false\n"),
            "config.toml:5:28: [[target]] #1 \"a\": tls_insecure_skip_verify: TLS settings need "
            "transport \"tls\" or \"wss\" (or none), but the transport is \"tcp\"");
  // The transport from the URI counts.
  EXPECT_EQ(
      error_of(target_with_uri("sip:x.example;transport=tcp") + "tls_ca_file = \"" + ca + "\"\n"),
      "config.toml:4:15: [[target]] #1 \"a\": tls_ca_file: TLS settings need transport \"tls\" or "
      "\"wss\" "
      "(or none), but the transport is \"tcp\"");
  // [defaults] TLS settings and a target that picks udp: pointed at the target's key.
  EXPECT_EQ(
      error_of("[defaults]\ntls_ca_file = \"" + ca + "\"\n" + kTarget + "transport = \"udp\"\n"),
      "config.toml:6:13: [[target]] #1 \"a\": tls_ca_file: TLS settings need transport "
      "\"tls\" or \"wss\" (or none), but the transport is \"udp\"");
  // ... or whose URI does.
  EXPECT_EQ(error_of("[defaults]\ntls_ca_file = \"" + ca + "\"\n" +
                     target_with_uri("sip:x.example;transport=udp")),
            "config.toml:5:7: [[target]] #1 \"a\": tls_ca_file: TLS settings need transport "
            "\"tls\" or \"wss\" (or none), but the transport is \"udp\"");
  EXPECT_EQ(error_of("[defaults]\ntransport = \"udp\"\ntls_ca_file = \"" + ca + "\"\n"),
            "config.toml:3:15: [defaults]: tls_ca_file: TLS settings need transport \"tls\" or "
            "\"wss\" (or "
            "none), but the transport is \"udp\"");
}

TEST(ConfigTls, ServerName) {
  EXPECT_EQ(only_target(parse_ok(kTarget + "tls_server_name = \"SBC.Example\"\n"))
                .shared->tls.server_name,
            "SBC.Example");
  EXPECT_EQ(error_of(kTarget + "tls_server_name = \"203.0.113.7\"\n"),
            "config.toml:4:19: [[target]] #1 \"a\": tls_server_name: \"203.0.113.7\" is not a "
            "host name");
  EXPECT_EQ(error_of(kTarget + "tls_server_name = \"a b\"\n"),
            "config.toml:4:19: [[target]] #1 \"a\": tls_server_name: \"a b\" is not a host name");
  EXPECT_EQ(error_of(kTarget + "tls_server_name = \"-a.example\"\n"),
            "config.toml:4:19: [[target]] #1 \"a\": tls_server_name: \"-a.example\" is not a host "
            "name (invalid host name \"-a.example\" (label \"-a\" starts or ends with '-'))");
  EXPECT_EQ(error_of(kTarget + "tls_server_name = \"\"\n"),
            "config.toml:4:19: [[target]] #1 \"a\": tls_server_name: \"\" is not a host name");
}

TEST(ConfigTls, InsecureSkipVerifyWarnsNamingTheTarget) {
  Config config = parse_ok(kTarget + "tls_insecure_skip_verify = true\n");
  EXPECT_TRUE(only_target(config).shared->tls.insecure_skip_verify);
  EXPECT_THAT(config.warnings,
              ElementsAre("config.toml:4:28: [[target]] #1 \"a\": tls_insecure_skip_verify: TLS "
                          "certificate verification is off: anyone on the path can impersonate "
                          "the peer"));
  EXPECT_TRUE(parse_ok(kTarget + "tls_insecure_skip_verify = false\n").warnings.empty());
  EXPECT_EQ(error_of(kTarget + "tls_insecure_skip_verify = \"yes\"\n"),
            "config.toml:4:28: [[target]] #1 \"a\": tls_insecure_skip_verify: expected true or "
            "false, got string");
  // From [defaults]: once there, and once per target that inherits it.
  config = parse_ok("[defaults]\ntls_insecure_skip_verify = true\n" + kTarget);
  EXPECT_THAT(config.warnings,
              ElementsAre(HasSubstr("[defaults]: tls_insecure_skip_verify: TLS certificate"),
                          HasSubstr("config.toml:2:28: [[target]] #1 \"a\": "
                                    "tls_insecure_skip_verify")));
}

// --- keepalive ------------------------------------------------------------------------------

TEST(ConfigKeepalive, Values) {
  EXPECT_EQ(only_target(parse_ok(kTarget)).shared->keepalive_interval, milliseconds(0));
  EXPECT_EQ(
      only_target(parse_ok(kTarget + "keepalive_interval = \"0s\"\n")).shared->keepalive_interval,
      milliseconds(0));
  EXPECT_EQ(
      only_target(parse_ok(kTarget + "keepalive_interval = \"5s\"\n")).shared->keepalive_interval,
      milliseconds(5'000));
  EXPECT_EQ(only_target(parse_ok(kTarget + "keepalive_interval = \"1h\"\ntransport = \"tls\"\n"))
                .shared->keepalive_interval,
            milliseconds(3'600'000));
  // udp with keepalives off is fine.
  EXPECT_EQ(only_target(parse_ok(kTarget + "transport = \"udp\"\nkeepalive_interval = \"0s\"\n"))
                .shared->transport,
            Transport::udp);
}

TEST(ConfigKeepalive, Errors) {
  EXPECT_EQ(error_of(kTarget + "keepalive_interval = \"4s\"\n"),
            "config.toml:4:22: [[target]] #1 \"a\": keepalive_interval: must be 0 (off) or from 5s "
            "to 1h, got \"4s\"");
  EXPECT_EQ(error_of(kTarget + "keepalive_interval = \"1h1s\"\n"),
            "config.toml:4:22: [[target]] #1 \"a\": keepalive_interval: must be 0 (off) or from 5s "
            "to 1h, got \"1h1s\"");
  EXPECT_EQ(error_of(kTarget + "keepalive_interval = 30\n"),
            "config.toml:4:22: [[target]] #1 \"a\": keepalive_interval: expected a duration "
            "string like \"30s\", got integer");
  EXPECT_EQ(error_of(kTarget + "transport = \"udp\"\nkeepalive_interval = \"30s\"\n"),
            "config.toml:5:22: [[target]] #1 \"a\": keepalive_interval: keepalives need transport "
            "\"tcp\", \"tls\", \"ws\" or \"wss\", but the transport is \"udp\"");
  EXPECT_EQ(
      error_of(target_with_uri("sip:x.example;transport=udp") + "keepalive_interval = \"30s\"\n"),
      "config.toml:4:22: [[target]] #1 \"a\": keepalive_interval: keepalives need transport "
      "\"tcp\", \"tls\", \"ws\" or \"wss\", but the transport is \"udp\"");
  EXPECT_EQ(error_of("[module.m]\nkeepalive_interval = \"30s\"\n"),
            "config.toml:2:1: [module.m]: keepalive_interval: not used by /probe modules (a "
            "/probe request keeps no connection open)");
}

TEST(ConfigKeepalive, ModulesDoNotInheritIt) {
  Config config = parse_ok(
      "[defaults]\nkeepalive_interval = \"30s\"\n[module.m]\ntransport = "
      "\"udp\"\n" +
      kTarget);
  EXPECT_EQ(only_target(config).shared->keepalive_interval, milliseconds(30'000));
  EXPECT_EQ(find_module(config, "default")->settings.shared->keepalive_interval, milliseconds(0));
  EXPECT_EQ(find_module(config, "m")->settings.shared->keepalive_interval, milliseconds(0));
  EXPECT_EQ(find_module(config, "m")->settings.shared->transport, Transport::udp);
}

// --- digest credentials -----------------------------------------------------------------------

constexpr const char* kSecret = "S3cr3t-Pa55w0rd";

TEST(ConfigAuth, InlinePassword) {
  Config config =
      parse_ok(kTarget + "auth_user = \"trunk1\"\nauth_password = \"" + kSecret + "\"\n");
  const TargetConfig& t = only_target(config);
  ASSERT_TRUE(t.shared->auth.has_value());
  EXPECT_EQ(t.shared->auth->user, "trunk1");
  EXPECT_EQ(t.shared->auth->password, kSecret);
  EXPECT_EQ(t.shared->auth->password_env, "");
  EXPECT_FALSE(only_target(parse_ok(kTarget)).shared->auth.has_value());
}

TEST(ConfigAuth, PasswordFromTheEnvironment) {
  ScopedEnv env("STX_TEST_SIP_PASSWORD", kSecret);
  Config config =
      parse_ok(kTarget + "auth_user = \"trunk1\"\nauth_password_env = \"STX_TEST_SIP_PASSWORD\"\n");
  const TargetConfig& t = only_target(config);
  ASSERT_TRUE(t.shared->auth.has_value());
  EXPECT_EQ(t.shared->auth->password, kSecret);
  EXPECT_EQ(t.shared->auth->password_env, "STX_TEST_SIP_PASSWORD");
}

TEST(ConfigAuth, EnvironmentErrorsNameTheVariableOnly) {
  {
    ScopedEnv unset("STX_TEST_SIP_UNSET", nullptr);
    EXPECT_EQ(error_of(kTarget + "auth_user = \"u\"\nauth_password_env = \"STX_TEST_SIP_UNSET\"\n"),
              "config.toml:5:21: [[target]] #1 \"a\": auth_password_env: environment variable "
              "\"STX_TEST_SIP_UNSET\" is not set");
  }
  {
    ScopedEnv empty("STX_TEST_SIP_EMPTY", "");
    EXPECT_EQ(error_of(kTarget + "auth_user = \"u\"\nauth_password_env = \"STX_TEST_SIP_EMPTY\"\n"),
              "config.toml:5:21: [[target]] #1 \"a\": auth_password_env: environment variable "
              "\"STX_TEST_SIP_EMPTY\" is empty");
  }
  EXPECT_EQ(error_of(kTarget + "auth_user = \"u\"\nauth_password_env = \"1BAD-NAME\"\n"),
            "config.toml:5:21: [[target]] #1 \"a\": auth_password_env: \"1BAD-NAME\" is not an "
            "environment variable name (want [A-Za-z_][A-Za-z0-9_]*)");
  EXPECT_EQ(error_of(kTarget + "auth_user = \"u\"\nauth_password_env = \"\"\n"),
            "config.toml:5:21: [[target]] #1 \"a\": auth_password_env: \"\" is not an environment "
            "variable name (want [A-Za-z_][A-Za-z0-9_]*)");
}

TEST(ConfigAuth, UserNeedsExactlyOnePasswordSource) {
  EXPECT_EQ(error_of(kTarget + "auth_user = \"u\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": auth_user: needs auth_password or "
            "auth_password_env");
  EXPECT_EQ(error_of(kTarget + "auth_password = \"" + kSecret + "\"\n"),
            "config.toml:4:17: [[target]] #1 \"a\": auth_password: needs auth_user");
  ScopedEnv env("STX_TEST_SIP_PASSWORD", kSecret);
  EXPECT_EQ(error_of(kTarget + "auth_password_env = \"STX_TEST_SIP_PASSWORD\"\n"),
            "config.toml:4:21: [[target]] #1 \"a\": auth_password_env: needs auth_user");
  EXPECT_EQ(error_of(kTarget + "auth_user = \"u\"\nauth_password = \"" + kSecret +
                     "\"\nauth_password_env = \"STX_TEST_SIP_PASSWORD\"\n"),
            "config.toml:6:21: [[target]] #1 \"a\": auth_password_env: set either auth_password or "
            "auth_password_env, not both");
  EXPECT_EQ(error_of("[defaults]\nauth_password_env = \"STX_TEST_SIP_PASSWORD\"\nauth_password = "
                     "\"x\"\nauth_user = \"u\"\n"),
            "config.toml:3:17: [defaults]: auth_password: set either auth_password or "
            "auth_password_env, not both");
}

TEST(ConfigAuth, TargetReplacesThePasswordSourceOfTheDefaults) {
  ScopedEnv env("STX_TEST_SIP_PASSWORD", "from-env");
  Config config = parse_ok(
      "[defaults]\nauth_user = \"u\"\nauth_password_env = \"STX_TEST_SIP_PASSWORD\"\n" + kTarget +
      "auth_password = \"inline\"\n[[target]]\nname = \"b\"\nuri = \"sip:x.example\"\n");
  EXPECT_EQ(config.targets.at(0).shared->auth->password, "inline");
  EXPECT_EQ(config.targets.at(0).shared->auth->password_env, "");
  EXPECT_EQ(config.targets.at(1).shared->auth->password, "from-env");
  EXPECT_EQ(config.targets.at(1).shared->auth->password_env, "STX_TEST_SIP_PASSWORD");
  EXPECT_EQ(find_module(config, "default")->settings.shared->auth->password, "from-env");
}

TEST(ConfigAuth, UserValidation) {
  EXPECT_EQ(error_of(kTarget + "auth_user = \"\"\nauth_password = \"p\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": auth_user: must not be empty");
  EXPECT_EQ(error_of(kTarget + "auth_user = \"u\\r\\nVia: x\"\nauth_password = \"p\"\n"),
            "config.toml:4:13: [[target]] #1 \"a\": auth_user: \"u\\x0d\\x0aVia: x\" contains a "
            "control character at offset 1");
  EXPECT_EQ(error_of(kTarget + "auth_user = 7\n"),
            "config.toml:4:13: [[target]] #1 \"a\": auth_user: expected a string, got integer");
  // Quotes and backslashes are fine: the Authorization header escapes them.
  EXPECT_EQ(only_target(parse_ok(kTarget + "auth_user = 'a\"b\\c'\nauth_password = \"p\"\n"))
                .shared->auth->user,
            "a\"b\\c");
}

TEST(ConfigAuth, ThePasswordIsNeverInAMessage) {
  ScopedEnv env("STX_TEST_SIP_PASSWORD", kSecret);
  const std::string inline_password = std::string("auth_password = \"") + kSecret + "\"\n";
  for (const std::string& text : {
           kTarget + inline_password,                                            // no auth_user
           kTarget + "auth_user = \"u\"\n" + inline_password + inline_password,  // TOML duplicate
           kTarget + "auth_user = \"u\"\n" + inline_password +
               "auth_password_env = \"STX_TEST_SIP_PASSWORD\"\n",
           kTarget + "auth_user = \"u\"\nauth_password = \"" + std::string(1025, 'p') + kSecret +
               "\"\n",
           kTarget + "auth_user = \"u\"\nauth_password = [\"" + kSecret + "\"]\n",
           kTarget + "auth_user = \"u\"\nauth_pasword = \"" + kSecret + "\"\n",  // typo
           "[defaults]\nauth_password_env = \"STX_TEST_SIP_PASSWORD\"\n" + kTarget,
           "[module.m]\nauth_user = \"u\"\nauth_password = \"" + std::string(kSecret) +
               "\"\ntransport = \"bogus\"\n",
           // TOML syntax errors around the value.
           kTarget + "auth_user = \"u\"\nauth_password = \"" + kSecret + "\n",
           kTarget + "auth_user = \"u\"\nauth_password = " + kSecret + "\n",
           kTarget + "auth_user = \"u\"\nauth_password = \"" + kSecret + "\\q\"\n",
           kTarget + "auth_user = \"u\"\nauth_password = \"" + kSecret + "\" junk\n",
       }) {
    const std::string message = error_of(text);
    EXPECT_FALSE(message.empty()) << text;
    EXPECT_EQ(message.find(kSecret), std::string::npos) << message;
  }
  EXPECT_EQ(error_of(kTarget + "auth_user = \"u\"\nauth_password = \"\"\n"),
            "config.toml:5:17: [[target]] #1 \"a\": auth_password: must not be empty");
  EXPECT_EQ(
      error_of(kTarget + "auth_user = \"u\"\nauth_password = \"" + std::string(1025, 'p') + "\"\n"),
      "config.toml:5:17: [[target]] #1 \"a\": auth_password: longer than 1024 bytes");
  // Nor in a warning.
  Config config =
      parse_ok("[defaults]\ninterval = \"2s\"\ntimeout = \"1s\"\n" + kTarget +
               "auth_user = \"u\"\n" + inline_password + "tls_insecure_skip_verify = true\n");
  ASSERT_FALSE(config.warnings.empty());
  for (const std::string& w : config.warnings) EXPECT_EQ(w.find(kSecret), std::string::npos) << w;
}

TEST(ConfigAuth, ChangingThePasswordChangesTheTarget) {
  const std::string base = kTarget + "auth_user = \"u\"\n";
  const TargetConfig a = only_target(parse_ok(base + "auth_password = \"one\"\n"));
  const TargetConfig b = only_target(parse_ok(base + "auth_password = \"two\"\n"));
  const TargetConfig a2 = only_target(parse_ok(base + "auth_password = \"one\"\n"));
  EXPECT_NE(a, b);
  EXPECT_EQ(a, a2);
  // Same config text, another value in the environment: a reload sees a changed target.
  TargetConfig first, second;
  {
    ScopedEnv env("STX_TEST_SIP_PASSWORD", "one");
    first = only_target(parse_ok(base + "auth_password_env = \"STX_TEST_SIP_PASSWORD\"\n"));
  }
  {
    ScopedEnv env("STX_TEST_SIP_PASSWORD", "two");
    second = only_target(parse_ok(base + "auth_password_env = \"STX_TEST_SIP_PASSWORD\"\n"));
  }
  EXPECT_NE(first, second);
}

TEST(ConfigSettingsEquality, EveryNewFieldTakesPart) {
  Files files;
  const std::string ca = files.write("ca.pem");
  const TargetConfig base = only_target(parse_ok(kTarget));
  for (const std::string& extra :
       {std::string("transport = \"tcp\"\n"), std::string("probe = \"first\"\n"),
        std::string("up_when = \"all\"\n"), std::string("to = \"sip:x@y.example\"\n"),
        std::string("contact = \"sip:x@y.example\"\n"), std::string("ruri_user = \"x\"\n"),
        std::string("headers = { X-A = \"1\" }\n"), std::string("source_address = \"192.0.2.1\"\n"),
        std::string("source_port = 5070\n"), "tls_ca_file = \"" + ca + "\"\n",
        std::string("tls_server_name = \"x.example\"\n"),
        std::string("keepalive_interval = \"30s\"\n"),
        std::string("transport = \"ws\"\nws_path = \"/ws\"\n"),
        std::string("auth_user = \"u\"\nauth_password = \"p\"\n")}) {
    EXPECT_NE(only_target(parse_ok(kTarget + extra)), base) << extra;
  }
}

// --- modules and /probe ------------------------------------------------------------------------

TEST(ConfigModuleSettings, NewKeysInModules) {
  ScopedEnv env("STX_TEST_SIP_PASSWORD", kSecret);
  Config config = parse_probe_only(R"([module.carrier]
transport = "tcp"
probe = "first"
up_when = "all"
to = "sip:+15551234567@carrier.example"
contact = "sip:probe@198.51.100.7"
ruri_user = "+15551234567"
headers = { X-Account = "42" }
source_address = "127.0.0.1"
source_port = 5070
auth_user = "trunk"
auth_password_env = "STX_TEST_SIP_PASSWORD"
auth_trusted_hosts = ["127.0.0.1"]
)");
  const TargetConfig& s = find_module(config, "carrier")->settings;
  EXPECT_EQ(s.shared->transport, Transport::tcp);
  EXPECT_EQ(s.shared->probe, ProbeAddresses::first);
  EXPECT_EQ(s.shared->up_when, UpWhen::all);
  EXPECT_EQ(s.shared->to, "sip:+15551234567@carrier.example");
  EXPECT_EQ(s.shared->contact, "sip:probe@198.51.100.7");
  EXPECT_EQ(s.shared->ruri_user, "+15551234567");
  EXPECT_THAT(s.shared->headers, ElementsAre(Pair("X-Account", "42")));
  EXPECT_EQ(s.shared->source_address, "127.0.0.1");
  EXPECT_EQ(s.shared->source_port, 5070);
  ASSERT_TRUE(s.shared->auth.has_value());
  EXPECT_EQ(s.shared->auth->password, kSecret);

  TargetConfig target = target_for_probe(*find_module(config, "carrier"), "sip:127.0.0.1:5080");
  EXPECT_EQ(target.shared->transport, Transport::tcp);
  EXPECT_EQ(target.shared->ruri_user, "+15551234567");
  EXPECT_EQ(target.shared->auth, s.shared->auth);
  EXPECT_EQ(target.shared->headers, s.shared->headers);
}

TEST(ConfigModuleSettings, ModuleErrorsUseTheSameValidators) {
  EXPECT_EQ(error_of("[module.m]\ntransport = \"sctp\"\n"),
            "config.toml:2:13: [module.m]: transport: \"sctp\" is not one of \"udp\", \"tcp\", "
            "\"tls\", \"ws\", \"wss\"");
  EXPECT_EQ(error_of("[module.m]\nauth_user = \"u\"\n"),
            "config.toml:2:13: [module.m]: auth_user: needs auth_password or auth_password_env");
  EXPECT_EQ(error_of("[module.m]\ntransport = \"udp\"\ntls_server_name = \"x.example\"\n"),
            "config.toml:3:19: [module.m]: tls_server_name: TLS settings need transport \"tls\" or "
            "\"wss\" "
            "(or none), but the transport is \"udp\"");
  EXPECT_EQ(error_of("[module.m]\nheadrs = {}\n"),
            "config.toml:2:1: [module.m]: unknown key \"headrs\" (did you mean \"headers\"?)");
}

TEST(ConfigModuleSettings, InsecureModuleWarns) {
  Config config = parse_probe_only("[module.m]\ntls_insecure_skip_verify = true\n");
  EXPECT_THAT(config.warnings,
              ElementsAre("config.toml:2:28: [module.m]: tls_insecure_skip_verify: TLS "
                          "certificate verification is off: anyone on the path can impersonate "
                          "the peer"));
}

TEST(TargetForProbeTransport, UriFoldsIntoTheModule) {
  Config config = parse_probe_only("");
  const ModuleConfig& def = *find_module(config, "default");
  EXPECT_EQ(target_for_probe(def, "sip:127.0.0.1").shared->transport, std::nullopt);
  EXPECT_EQ(target_for_probe(def, "sip:127.0.0.1;transport=tcp").shared->transport, Transport::tcp);
  EXPECT_EQ(target_for_probe(def, "sips:x.example").shared->transport, Transport::tls);
}

TEST(TargetForProbeTransport, ConflictsWithTheModule) {
  Files files;
  const std::string ca = files.write("ca.pem");
  Config config =
      parse_probe_only("[module.udp]\ntransport = \"udp\"\n[module.tls]\ntls_ca_file = \"" + ca +
                       "\"\n[module.v4]\nsource_address = \"127.0.0.1\"\n");
  EXPECT_EQ(probe_error_of(*find_module(config, "udp"), "sips:x.example"),
            "target \"sips:x.example\": transport \"udp\" conflicts with the sips: URI, which "
            "needs tls or wss (module \"udp\")");
  EXPECT_EQ(probe_error_of(*find_module(config, "udp"), "sip:x.example;transport=tcp"),
            "target \"sip:x.example;transport=tcp\": transport \"udp\" conflicts with the URI's "
            ";transport=tcp (module \"udp\")");
  EXPECT_EQ(probe_error_of(*find_module(config, "tls"), "sip:x.example;transport=udp"),
            "target \"sip:x.example;transport=udp\": the transport is \"udp\", but TLS settings "
            "need transport \"tls\" or \"wss\" (module \"tls\")");
  EXPECT_EQ(target_for_probe(*find_module(config, "tls"), "sips:x.example").shared->tls.ca_file,
            ca);
  EXPECT_EQ(probe_error_of(*find_module(config, "v4"), "sip:[::1]:5060"),
            "target \"sip:[::1]:5060\": source_address \"127.0.0.1\" is IPv4 but the URI host "
            "\"::1\" is IPv6 (module \"v4\")");
  EXPECT_EQ(target_for_probe(*find_module(config, "v4"), "sip:127.0.0.2").shared->source_address,
            "127.0.0.1");
}

// --- [exporter] DNS settings ---------------------------------------------------------------------

TEST(ConfigDns, Defaults) {
  const DnsSettings dns = parse_probe_only("").exporter.dns;
  EXPECT_TRUE(dns.servers.empty());
  EXPECT_EQ(dns.min_ttl, seconds(10));
  EXPECT_EQ(dns.max_ttl, seconds(3600));
  EXPECT_EQ(dns.grace, seconds(300));
}

TEST(ConfigDns, Values) {
  const DnsSettings dns = parse_ok(R"([exporter]
dns_servers = ["127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353", "[2001:db8::53]"]
dns_min_ttl = "1s"
dns_max_ttl = "24h"
dns_grace = "0s"
allow_no_targets = true
)")
                              .exporter.dns;
  EXPECT_THAT(dns.servers,
              ElementsAre("127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:5353", "[2001:db8::53]"));
  EXPECT_EQ(dns.min_ttl, seconds(1));
  EXPECT_EQ(dns.max_ttl, seconds(86400));
  EXPECT_EQ(dns.grace, seconds(0));
  EXPECT_EQ(
      parse_ok("[exporter]\ndns_min_ttl = \"1m\"\ndns_max_ttl = \"1m\"\nallow_no_targets = true\n")
          .exporter.dns.max_ttl,
      seconds(60));
}

TEST(ConfigDns, ServerErrors) {
  const std::string want = " (want \"ip\", \"ip:port\" or \"[v6]:port\" with an IP address)";
  EXPECT_EQ(error_of("[exporter]\ndns_servers = [\"ns1.example.test\"]\n"),
            "config.toml:2:16: [exporter]: dns_servers: \"ns1.example.test\" is not an IP "
            "address" +
                want);
  EXPECT_EQ(error_of("[exporter]\ndns_servers = [\"127.0.0.1\", \"localhost:53\"]\n"),
            "config.toml:2:29: [exporter]: dns_servers: \"localhost:53\": \"localhost\" is not an "
            "IPv4 address" +
                want);
  EXPECT_EQ(error_of("[exporter]\ndns_servers = [\"127.0.0.1:0\"]\n"),
            "config.toml:2:16: [exporter]: dns_servers: \"127.0.0.1:0\": port \"0\" out of range "
            "1-65535");
  EXPECT_EQ(error_of("[exporter]\ndns_servers = [\"127.0.0.1:65536\"]\n"),
            "config.toml:2:16: [exporter]: dns_servers: \"127.0.0.1:65536\": port \"65536\" out "
            "of range 1-65535");
  EXPECT_EQ(error_of("[exporter]\ndns_servers = [\"[::1]:x\"]\n"),
            "config.toml:2:16: [exporter]: dns_servers: \"[::1]:x\": port \"x\" out of range "
            "1-65535");
  EXPECT_EQ(error_of("[exporter]\ndns_servers = [\"[127.0.0.1]:53\"]\n"),
            "config.toml:2:16: [exporter]: dns_servers: \"[127.0.0.1]:53\": \"127.0.0.1\" is not "
            "an IPv6 address" +
                want);
  EXPECT_EQ(error_of("[exporter]\ndns_servers = [\"[::1\"]\n"),
            "config.toml:2:16: [exporter]: dns_servers: \"[::1\": missing ']'" + want);
  EXPECT_EQ(
      error_of("[exporter]\ndns_servers = [\"[::1]53\"]\n"),
      "config.toml:2:16: [exporter]: dns_servers: \"[::1]53\": unexpected text after ']'" + want);
  EXPECT_EQ(error_of("[exporter]\ndns_servers = [\"\"]\n"),
            "config.toml:2:16: [exporter]: dns_servers: \"\" is not an IP address" + want);
  EXPECT_EQ(error_of("[exporter]\ndns_servers = []\n"),
            "config.toml:2:15: [exporter]: dns_servers: must not be empty (leave it out to use "
            "/etc/resolv.conf)");
  EXPECT_EQ(error_of("[exporter]\ndns_servers = \"127.0.0.1\"\n"),
            "config.toml:2:15: [exporter]: dns_servers: expected an array like "
            "[\"127.0.0.1:5353\"], got string");
  EXPECT_EQ(error_of("[exporter]\ndns_servers = [53]\n"),
            "config.toml:2:16: [exporter]: dns_servers: expected a string, got integer");
  EXPECT_EQ(error_of("[exporter]\ndns_server = []\n"),
            "config.toml:2:1: [exporter]: unknown key \"dns_server\" (did you mean "
            "\"dns_servers\"?)");
}

TEST(ConfigDns, TtlErrors) {
  EXPECT_EQ(error_of("[exporter]\ndns_min_ttl = \"1500ms\"\n"),
            "config.toml:2:15: [exporter]: dns_min_ttl: must be whole seconds, got \"1500ms\"");
  EXPECT_EQ(error_of("[exporter]\ndns_min_ttl = \"0s\"\n"),
            "config.toml:2:15: [exporter]: dns_min_ttl: must be at least 1s, got \"0s\"");
  EXPECT_EQ(error_of("[exporter]\ndns_max_ttl = \"25h\"\n"),
            "config.toml:2:15: [exporter]: dns_max_ttl: must be at most 24h, got \"25h\"");
  EXPECT_EQ(error_of("[exporter]\ndns_grace = \"24h1s\"\n"),
            "config.toml:2:13: [exporter]: dns_grace: must be at most 24h, got \"24h1s\"");
  EXPECT_EQ(error_of("[exporter]\ndns_grace = 300\n"),
            "config.toml:2:13: [exporter]: dns_grace: expected a duration string like \"30s\", got "
            "integer");
  EXPECT_EQ(error_of("[exporter]\ndns_min_ttl = \"2m\"\ndns_max_ttl = \"1m\"\n"),
            "config.toml:3:15: [exporter]: dns_max_ttl: dns_min_ttl (2m) must not be greater than "
            "dns_max_ttl (1m)");
  // Only the minimum set, above the default maximum (1h).
  EXPECT_EQ(error_of("[exporter]\ndns_min_ttl = \"2h\"\n"),
            "config.toml:2:15: [exporter]: dns_min_ttl: dns_min_ttl (2h) must not be greater than "
            "dns_max_ttl (1h)");
}

}  // namespace
}  // namespace stx
