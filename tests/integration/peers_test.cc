// Checks of the harness and of the peers themselves, against the reference
// client sipsak. They need no exporter, so a failure here points at the test
// setup rather than at the exporter.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness.h"

namespace stx::it {
namespace {

using ::testing::HasSubstr;

// The response part of `sipsak -vv` output ("message received:" onwards).
std::string sipsak_response(const std::string& out) {
  auto pos = out.find("SIP/2.0 ");
  return pos == std::string::npos ? std::string() : out.substr(pos);
}

// "** reply received 511.176 ms after first send" / "after 0.006 ms".
std::optional<double> sipsak_reply_ms(const std::string& out) {
  static const std::regex re(R"(reply received (?:after )?([0-9.]+) ms)");
  std::smatch m;
  if (!std::regex_search(out, m, re)) return std::nullopt;
  return std::stod(m[1].str());
}

class HarnessTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

TEST_F(HarnessTest, ParsesExposition) {
  auto e = Exposition::parse(
      "# HELP sip_target_up Whether the target is up.\n"
      "# TYPE sip_target_up gauge\n"
      "sip_target_up{carrier=\"demo\",target=\"a\"} 1\n"
      "sip_target_up{carrier=\"x\\\"y\\\\z\",target=\"b\"} 0 1700000000000\n"
      "# TYPE sip_probe_rtt_seconds histogram\n"
      "sip_probe_rtt_seconds_bucket{target=\"a\",le=\"+Inf\"} 3\n"
      "sip_probe_rtt_seconds_sum{target=\"a\"} 1.5e-3\n"
      "sip_exporter_probes_in_flight 2\n");
  EXPECT_EQ(e.value("sip_target_up", {{"target", "a"}}), 1.0);
  EXPECT_EQ(e.value("sip_target_up", {{"target", "b"}, {"carrier", "x\"y\\z"}}), 0.0);
  EXPECT_EQ(e.value("sip_target_up", {{"target", "c"}}), std::nullopt);
  EXPECT_THROW(e.value("sip_target_up"), std::runtime_error);  // ambiguous
  EXPECT_EQ(e.sum("sip_target_up"), 1.0);
  EXPECT_EQ(e.value("sip_probe_rtt_seconds_bucket", {{"le", "+Inf"}}), 3.0);
  EXPECT_DOUBLE_EQ(*e.value("sip_probe_rtt_seconds_sum"), 0.0015);
  EXPECT_EQ(e.value("sip_exporter_probes_in_flight"), 2.0);
  EXPECT_EQ(e.type("sip_target_up"), "gauge");
  EXPECT_EQ(e.type("sip_probe_rtt_seconds"), "histogram");
  EXPECT_TRUE(e.has_help("sip_target_up"));
  EXPECT_THROW(Exposition::parse("sip_target_up{target=\"a} 1\n"), std::runtime_error);
  EXPECT_THROW(Exposition::parse("sip_target_up{target=\"a\"} one\n"), std::runtime_error);
}

TEST_F(HarnessTest, ParsesLogfmt) {
  auto l = parse_logfmt(
      R"(ts=2024-01-01T00:00:00Z level=debug msg="probe finished" target=sipp result=failure )"
      R"(code=0 reason= duration_seconds=0.0012 note="a \"quoted\" word")");
  EXPECT_EQ(l["msg"], "probe finished");
  EXPECT_EQ(l["target"], "sipp");
  EXPECT_EQ(l["reason"], "");
  EXPECT_EQ(l["duration_seconds"], "0.0012");
  EXPECT_EQ(l["note"], "a \"quoted\" word");
  EXPECT_EQ(
      log_lines_with_msg("msg=\"probe finished\" target=a\nmsg=other\n", "probe finished").size(),
      1u);
}

TEST_F(HarnessTest, ProcessCapturesOutputAndExitStatus) {
  Process p("sh", {"sh", "-c", "echo out; echo err >&2; exit 3"}, tmp_.path());
  ASSERT_TRUE(p.wait_exit(10s));
  EXPECT_EQ(p.exit_code(), 3);
  EXPECT_EQ(p.stdout_text(), "out\n");
  EXPECT_EQ(p.stderr_text(), "err\n");
}

TEST_F(HarnessTest, ProcessStopKillsGroupThatIgnoresSigterm) {
  // The shell ignores SIGTERM and has a child in the same process group.
  ProcessOptions opts;
  opts.cwd = tmp_.path();
  Process p("stubborn", {"sh", "-c", "trap '' TERM; sleep 60 & echo $! > child.pid; wait"},
            tmp_.path(), opts);
  ASSERT_TRUE(wait_until(5s, [&] { return !read_file(tmp_ / "child.pid").empty(); }));
  const pid_t child = std::stoi(read_file(tmp_ / "child.pid"));
  const auto start = Clock::now();
  int status = p.stop(300ms);
  EXPECT_LT(Clock::now() - start, 3s);
  ASSERT_TRUE(WIFSIGNALED(status)) << describe_wait_status(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  // The grandchild is gone too (it was in the group); it is reaped by init.
  EXPECT_TRUE(wait_until(5s, [&] {
    std::string stat = read_file("/proc/" + std::to_string(child) + "/stat");
    return stat.empty() || stat.find(") Z") != std::string::npos;
  }));
}

TEST_F(HarnessTest, MissingProgramIsAnError) {
  EXPECT_THROW(Process("nope", {"stx-no-such-program"}, tmp_.path()), std::runtime_error);
  EXPECT_THROW(require_tool("stx-no-such-program"), std::runtime_error);
}

TEST_F(HarnessTest, RequiredToolsAreInstalled) {
  for (const char* tool : {"sipp", "kamailio", "sipsak", "promtool", "gzip"}) {
    EXPECT_NO_THROW(require_tool(tool)) << tool;
  }
}

TEST_F(HarnessTest, FreePortsAndUdpBinding) {
  UdpSocket s;
  EXPECT_TRUE(udp_port_bound(s.port()));
  auto free = free_udp_port();
  EXPECT_FALSE(udp_port_bound(free));
  EXPECT_NE(free_tcp_port(), 0);
}

class PeerTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

void expect_sipp_answers(const std::filesystem::path& dir, std::uint16_t port,
                         std::string_view status_line,
                         const std::vector<std::string>& extra_headers) {
  std::set<std::string> call_ids;
  for (int i = 0; i < 3; ++i) {
    auto r = sipsak_options(port, dir);
    SCOPED_TRACE("sipsak run " + std::to_string(i) + ":\n" + r.out + r.err);
    auto resp = sipsak_response(r.out);
    ASSERT_THAT(resp, ::testing::StartsWith(std::string(status_line)));
    EXPECT_EQ(sip_header(resp, "Server"), "SIPp-demo");
    EXPECT_EQ(sip_header(resp, "Content-Length"), "0");
    EXPECT_THAT(sip_header(resp, "To").value_or(""),
                ::testing::ContainsRegex(";tag=[0-9]+SIPpTag01[0-9]+"));
    EXPECT_THAT(sip_header(resp, "Via").value_or(""), HasSubstr("branch=z9hG4bK"));
    EXPECT_THAT(sip_header(resp, "CSeq").value_or(""), ::testing::EndsWith("OPTIONS"));
    for (const auto& h : extra_headers) EXPECT_THAT(resp, HasSubstr(h));
    auto call_id = sip_header(resp, "Call-ID");
    ASSERT_TRUE(call_id);
    call_ids.insert(*call_id);
  }
  // sipsak uses a fresh Call-ID each run, and SIPp answered each new one.
  EXPECT_EQ(call_ids.size(), 3u);
}

TEST_F(PeerTest, SippOptions200AnswersRepeatedOptions) {
  SippPeer sipp(tmp_.path(), "options_200.xml");
  expect_sipp_answers(tmp_.path(), sipp.port(), "SIP/2.0 200 OK", {});
  EXPECT_TRUE(sipp.process().running());
}

// In a container the hostname often does not resolve; sipsak, as the tests run it, must not
// care. Run in a UTS namespace of its own with a hostname nothing resolves.
TEST_F(PeerTest, SipsakWorksWhereTheHostnameDoesNotResolve) {
  SippPeer sipp(tmp_.path(), "options_200.xml");
  // A user that is not root gets its UTS namespace inside a user namespace of its own.
  std::vector<std::string> argv = {"unshare", "--uts"};
  if (geteuid() != 0) argv.insert(argv.end(), {"--user", "--map-root-user"});
  argv.insert(argv.end(), {"sh", "-c", "hostname stx-unresolvable.invalid && exec \"$0\" \"$@\""});
  for (const std::string& a : sipsak_options_argv(sipp.port())) argv.push_back(a);
  auto r = run_command("sipsak-no-hostname", argv, tmp_.path(), 20s);
  SCOPED_TRACE(r.out + r.err);
  if (r.exit_code != 0 && r.err.find("unshare failed") != std::string::npos) {
    // A chroot, or a kernel without unprivileged user namespaces: nothing to run it in.
    GTEST_SKIP() << "no UTS namespace for this user: " << r.err;
  }
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(sipsak_response(r.out), ::testing::StartsWith("SIP/2.0 200 OK"));
}

TEST_F(PeerTest, SippOptions503AnswersRepeatedOptions) {
  SippPeer sipp(tmp_.path(), "options_503.xml");
  expect_sipp_answers(tmp_.path(), sipp.port(), "SIP/2.0 503 Service Unavailable",
                      {"Retry-After: 120"});
  EXPECT_TRUE(sipp.process().running());
}

TEST_F(PeerTest, KamailioAnswers200AndSurvivesRestartOnSamePort) {
  KamailioPeer kam(tmp_.path(), "kamailio.cfg");
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 2; ++i) {
      auto r = sipsak_options(kam.port(), tmp_.path());
      SCOPED_TRACE("round " + std::to_string(round) + " sipsak:\n" + r.out + r.err);
      EXPECT_EQ(r.exit_code, 0);
      auto resp = sipsak_response(r.out);
      EXPECT_THAT(resp, ::testing::StartsWith("SIP/2.0 200 OK"));
      EXPECT_THAT(sip_header(resp, "Server").value_or(""), HasSubstr("kamailio"));
      auto ms = sipsak_reply_ms(r.out);
      ASSERT_TRUE(ms);
      EXPECT_LT(*ms, 400.0);  // answered the first transmission
    }
    if (round == 0) {
      kam.kill();
      auto r = sipsak_options(kam.port(), tmp_.path(), "sipsak-dead");
      EXPECT_NE(r.exit_code, 0) << "sipsak got an answer from a killed Kamailio:\n" << r.out;
      kam.restart();
    }
  }
}

TEST_F(PeerTest, KamailioEverySecondAnswersOnlyRetransmissions) {
  KamailioPeer kam(tmp_.path(), "kamailio_every_second.cfg");
  for (int i = 0; i < 2; ++i) {
    auto r = sipsak_options(kam.port(), tmp_.path());
    SCOPED_TRACE("sipsak:\n" + r.out + r.err);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_THAT(sipsak_response(r.out), ::testing::StartsWith("SIP/2.0 200 OK"));
    auto ms = sipsak_reply_ms(r.out);
    ASSERT_TRUE(ms);
    // sipsak retransmits after T1 = 500 ms; only that copy is answered.
    EXPECT_GT(*ms, 400.0);
    EXPECT_LT(*ms, 1500.0);
  }
  auto log = kam.process().stderr_text();
  EXPECT_THAT(log, HasSubstr("dropping request #1"));
  EXPECT_THAT(log, HasSubstr("answering request #2"));
  EXPECT_THAT(log, HasSubstr("dropping request #3"));
  EXPECT_THAT(log, HasSubstr("answering request #4"));
}

}  // namespace
}  // namespace stx::it
