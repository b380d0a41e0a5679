#pragma once
// Integration-test harness: processes, ports, polling, HTTP, the Prometheus text
// format, and starting the real peers (SIPp, Kamailio) and the exporter.
//
// Everything here is bounded in time. Helpers that cannot do their job throw
// std::runtime_error with a message meant for the CI log; GoogleTest reports a
// thrown exception as a test failure, and the Process destructors still run.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stx::it {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Polling

// Calls `pred` every `poll` until it returns true or `timeout` has passed.
// Returns whether it became true; `pred` is called one last time at the end.
bool wait_until(Clock::duration timeout, const std::function<bool()>& pred,
                Clock::duration poll = 50ms);

// ---------------------------------------------------------------------------
// Files and directories

// A fresh directory under $TMPDIR (or /tmp), removed on destruction unless the
// environment variable STX_KEEP_TEST_DIRS is set.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "stx-it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, std::string_view content);
// The last `lines` lines of `text`.
std::string tail_lines(std::string_view text, std::size_t lines);
std::vector<std::string> split_lines(std::string_view text);

// Absolute path of `tool` found in $PATH, or nullopt.
std::optional<std::filesystem::path> find_tool(std::string_view tool);
// Throws with an explanation when `tool` is missing.
std::filesystem::path require_tool(std::string_view tool);

// ---------------------------------------------------------------------------
// Processes

struct ProcessOptions {
  std::optional<std::filesystem::path> cwd;
  std::optional<std::filesystem::path> stdin_file;  // default /dev/null
  bool report_on_failure = true;                    // print log tails if the test failed
};

// A child process in its own process group, with stdout and stderr written to
// <log_dir>/<name>.stdout and <log_dir>/<name>.stderr. The child dies with the
// test (PR_SET_PDEATHSIG). The destructor stops the whole group (SIGTERM, a
// deadline, then SIGKILL), reaps it, fails the current test if the child's stderr
// holds a sanitizer report, and prints the tail of both logs when the test has failed.
class Process {
 public:
  Process(std::string name, std::vector<std::string> argv, const std::filesystem::path& log_dir,
          ProcessOptions options = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  const std::string& name() const { return name_; }
  pid_t pid() const { return pid_; }
  // True while the child has not exited (reaps it when it has).
  bool running();
  // Waits up to `timeout` for the child to exit; returns its wait status.
  std::optional<int> wait_exit(Clock::duration timeout);
  // Exit status when the child exited normally; nullopt if still running or killed.
  std::optional<int> exit_code();
  std::optional<int> wait_status() const { return status_; }
  // Signals the main process only.
  void signal(int sig);
  // SIGTERM to the group, wait up to `grace`, then SIGKILL; returns the wait status.
  int stop(Clock::duration grace = 5s);
  // SIGKILL to the group and reap.
  int kill();

  std::string stdout_text() const;
  std::string stderr_text() const;
  const std::filesystem::path& stdout_path() const { return stdout_path_; }
  const std::filesystem::path& stderr_path() const { return stderr_path_; }
  // "<name> (pid N, <status>): last lines of stdout/stderr", for failure reports.
  std::string describe(std::size_t lines = 40) const;
  std::string command_line() const;

 private:
  void kill_group(int sig);
  void stop_reaper();
  std::string status_text() const;

  std::string name_;
  std::vector<std::string> argv_;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
  bool report_on_failure_ = true;
  pid_t pid_ = -1;
  // Kills the group if this test process dies without running ~Process (harness.cc).
  pid_t reaper_pid_ = -1;
  int reaper_fd_ = -1;  // the write end of its pipe
  std::optional<int> status_;
};

// "exited with 0", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

// The first sanitizer report (ASan, LSan, UBSan, TSan) in a child's stderr, up to `lines`
// lines from its first line; nullopt when there is none. A Process whose stderr has one fails
// the current test when it is destroyed: in a sanitizer build the exporter is sanitized too.
std::optional<std::string> sanitizer_report(std::string_view stderr_text, std::size_t lines = 60);

// Runs a command to completion (bounded by `timeout`, killed after it).
struct RunResult {
  int status = -1;  // wait status
  std::optional<int> exit_code;
  std::string out;
  std::string err;
};
RunResult run_command(const std::string& name, std::vector<std::string> argv,
                      const std::filesystem::path& log_dir, Clock::duration timeout = 30s,
                      std::optional<std::filesystem::path> stdin_file = std::nullopt);

// ---------------------------------------------------------------------------
// Ports and sockets

// A port that was free on 127.0.0.1 a moment ago (bound to port 0, then closed).
std::uint16_t free_udp_port();
std::uint16_t free_tcp_port();
// Whether a UDP socket is bound to `port` (any local address) per /proc/net/udp{,6}.
bool udp_port_bound(std::uint16_t port);
// Runs `attempt` up to `attempts` times until it returns without throwing (a port that was
// free a moment ago may be taken by then); throws every attempt's error, one per line.
void retry_start(int attempts, const std::function<void()>& attempt);
// Whether a TCP socket listens on `port` (any local address) per /proc/net/tcp{,6}.
bool tcp_port_listening(std::uint16_t port);

// A UDP socket on 127.0.0.1 that the test owns (a silent peer).
class UdpSocket {
 public:
  UdpSocket();  // binds 127.0.0.1:0
  ~UdpSocket();
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  std::uint16_t port() const { return port_; }
  struct Datagram {
    std::string data;
    Clock::time_point received;   // when recv() returned
    double kernel_seconds = 0;    // kernel receive timestamp (SIOCGSTAMP, wall clock)
    std::uint16_t from_port = 0;  // sender's port (the sender is on 127.0.0.1)
  };
  // Waits for one datagram until `deadline`.
  std::optional<Datagram> receive(Clock::time_point deadline);
  // Sends `data` to 127.0.0.1:port.
  void send_to(std::uint16_t port, std::string_view data);

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// ---------------------------------------------------------------------------
// HTTP

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // First header with that name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
};

// GET http://127.0.0.1:port/target over a fresh connection. Throws on
// connection errors and when no complete response arrives before `timeout`.
HttpResponse http_get(std::uint16_t port, std::string_view target,
                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                      Clock::duration timeout = 5s);

// ---------------------------------------------------------------------------
// Prometheus text exposition format

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

class Exposition {
 public:
  // Throws on lines it cannot parse.
  static Exposition parse(std::string_view text);

  const std::vector<Sample>& samples() const { return samples_; }
  // Samples named `name` whose labels include all of `labels`.
  std::vector<Sample> find(std::string_view name, const Labels& labels = {}) const;
  // The value of the one sample named `name` whose labels include `labels`;
  // nullopt when none matches. Throws when several match (an ambiguous lookup).
  std::optional<double> value(std::string_view name, const Labels& labels = {}) const;
  // Sum over all matching samples (0 when none).
  double sum(std::string_view name, const Labels& labels = {}) const;
  // "# TYPE" per metric family name.
  std::optional<std::string> type(std::string_view family) const;
  bool has_help(std::string_view family) const;
  // The exposition lines containing `needle`, for failure messages.
  std::string grep(std::string_view needle) const;
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::vector<Sample> samples_;
  std::map<std::string, std::string, std::less<>> types_;
  std::map<std::string, std::string, std::less<>> helps_;
};

struct CheckResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr
};
// `promtool check metrics` on `body` (fed on stdin).
CheckResult promtool_check_metrics(std::string_view body, const std::filesystem::path& dir);
// `gzip -dc` on `data`; throws if gzip fails.
std::string gunzip(std::string_view data, const std::filesystem::path& dir);

// ---------------------------------------------------------------------------
// logfmt

using LogLine = std::map<std::string, std::string>;
// key=value pairs; quoted values unescaped; a bare key maps to "".
LogLine parse_logfmt(std::string_view line);
// Parsed lines of `text` whose msg equals `msg`.
std::vector<LogLine> log_lines_with_msg(std::string_view text, std::string_view msg);

// ---------------------------------------------------------------------------
// SIP helpers for checking what the exporter sends

// The value of the first header `name` (compact forms not handled), trimmed.
std::optional<std::string> sip_header(std::string_view message, std::string_view name);
// The `branch` parameter of the top Via.
std::optional<std::string> via_branch(std::string_view message);

// ---------------------------------------------------------------------------
// Peers

std::filesystem::path peers_dir();
std::filesystem::path exporter_binary();
std::filesystem::path source_dir();
// From the top-level CMakeLists.txt `project(... VERSION x.y.z ...)`.
std::string project_version();

enum class SippTransport { udp, tcp };

// SIPp running a UAS scenario from the peers directory on 127.0.0.1:port, over UDP or
// TCP (-t t1).
class SippPeer {
 public:
  // `scenario` is a file name in peers_dir(). Throws when SIPp does not come up.
  SippPeer(const std::filesystem::path& dir, std::string_view scenario, std::uint16_t port = 0,
           SippTransport transport = SippTransport::udp);
  std::uint16_t port() const { return port_; }
  std::string uri() const;
  Process& process() { return *process_; }
  // SIPp's -trace_msg log: every message it received and sent.
  const std::filesystem::path& messages_log() const { return messages_; }
  // Requests with this method SIPp received so far, from its message log.
  int requests_received(std::string_view method = "OPTIONS") const;

 private:
  std::uint16_t port_ = 0;
  std::filesystem::path messages_;
  std::unique_ptr<Process> process_;
};

// Kamailio from a config template in the peers directory, in the foreground
// (-DD -E) with -Y pointing at a per-peer runtime directory. "@PORT@" in the
// template is replaced with the port ("@RUNDIR@", if used, with that directory), and each
// of `substitutions` (placeholder, value) as well.
class KamailioPeer {
 public:
  using Substitutions = std::vector<std::pair<std::string, std::string>>;
  KamailioPeer(std::filesystem::path dir, std::string_view config_template, std::uint16_t port = 0,
               std::string_view name = "kamailio", Substitutions substitutions = {});
  std::uint16_t port() const { return port_; }
  // The runtime directory (-Y): where a ctl module's socket can go (@RUNDIR@).
  std::filesystem::path run_dir() const;
  std::string uri() const;
  // The running Kamailio; throws after kill() until restart().
  Process& process();
  // Kills Kamailio and waits for its port to be released.
  void kill();
  // Starts it again on the same port.
  void restart();
  bool running() const { return process_ != nullptr; }

 private:
  void start();
  std::filesystem::path dir_;
  std::string template_;
  std::string name_;
  Substitutions substitutions_;
  std::uint16_t port_ = 0;
  int generation_ = 0;
  std::unique_ptr<Process> process_;
  std::vector<std::unique_ptr<Process>> retired_;
};

// One `sipsak -vv` OPTIONS to 127.0.0.1:port; its exit status and output. sipsak is told
// its local host (-H 127.0.0.1): otherwise it needs the machine's hostname to resolve,
// which it often does not in containers.
std::vector<std::string> sipsak_options_argv(std::uint16_t port);
RunResult sipsak_options(std::uint16_t port, const std::filesystem::path& log_dir,
                         std::string_view name = "sipsak");

// ---------------------------------------------------------------------------
// Exporter

struct TargetSpec {
  std::string name;
  std::string uri;
  std::vector<std::pair<std::string, std::string>> labels;
  // Per-target overrides (raw TOML values, e.g. "\"2s\"" or "3"), written as-is.
  std::vector<std::pair<std::string, std::string>> overrides;
};

struct ExporterConfigSpec {
  std::string interval = "1s";
  std::string timeout = "800ms";
  int failures_before_down = 3;
  int successes_before_up = 1;
  std::vector<std::string> healthy_codes = {"2xx"};
  std::vector<TargetSpec> targets;
  std::string extra_toml;  // appended verbatim (e.g. [module.x] tables)
  // Command-line flags added to the exporter's, and where it answers health checks then.
  std::vector<std::string> extra_flags;
  std::string health_path = "/-/healthy";
};

std::string render_config(const ExporterConfigSpec& spec);
std::string toml_string(std::string_view s);

struct Scraped {
  bool ok = false;
  Exposition last;
};

// The exporter under test, listening on 127.0.0.1:<free port>.
class Exporter {
 public:
  // Writes the config into `dir`, starts the exporter and waits until
  // /-/healthy answers 200. Throws when it does not come up.
  Exporter(const std::filesystem::path& dir, const ExporterConfigSpec& spec,
           std::string_view log_level = "debug", std::string_view name = "exporter");
  std::uint16_t port() const { return port_; }
  Process& process() { return *process_; }
  const std::filesystem::path& config_path() const { return config_path_; }

  HttpResponse get(std::string_view target,
                   const std::vector<std::pair<std::string, std::string>>& headers = {});
  // GET /metrics (status 200 required) and parse it.
  Exposition scrape();
  // Polls /metrics until `pred` holds or `timeout` passes; returns whether it
  // held and the last scrape.
  Scraped scrape_until(Clock::duration timeout, const std::function<bool(const Exposition&)>& pred,
                       Clock::duration poll = 100ms);
  // Parsed `msg="probe finished"` log lines for `target`.
  std::vector<LogLine> probe_logs(std::string_view target) const;

 private:
  std::uint16_t port_ = 0;
  std::filesystem::path config_path_;
  std::unique_ptr<Process> process_;
};

}  // namespace stx::it
