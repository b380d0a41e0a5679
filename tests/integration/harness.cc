#include "harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

// Boost 1.74 Asio under C++20 needs <utility> first (included above via harness.h).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <gtest/gtest.h>

namespace fs = std::filesystem;

namespace stx::it {

namespace {

std::string errno_text(int e) { return std::strerror(e); }

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::runtime_error(what + ": " + errno_text(errno));
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<std::int64_t>(0, left.count()));
}

std::atomic<int> g_counter{0};

std::uint16_t free_port(int type) {
  Fd s(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (s.fd < 0) throw_errno("socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = 0;
  if (::bind(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw_errno("bind");
  socklen_t len = sizeof sa;
  if (::getsockname(s.fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) throw_errno("getsockname");
  return ntohs(sa.sin_port);
}

}  // namespace

// ---------------------------------------------------------------------------

bool wait_until(Clock::duration timeout, const std::function<bool()>& pred, Clock::duration poll) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(poll, deadline - Clock::now()));
  }
  return pred();
}

// ---------------------------------------------------------------------------

TempDir::TempDir(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(base && *base ? base : "/tmp") + "/" + std::string(prefix) + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw_errno("mkdtemp " + tmpl);
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (std::getenv("STX_KEEP_TEST_DIRS") != nullptr) {
    std::cerr << "[harness] keeping " << path_ << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, std::string_view content) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + p.string());
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.emplace_back(line);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

std::string tail_lines(std::string_view text, std::size_t lines) {
  auto all = split_lines(text);
  std::size_t from = all.size() > lines ? all.size() - lines : 0;
  std::string out;
  for (std::size_t i = from; i < all.size(); ++i) {
    out += all[i];
    out += '\n';
  }
  return out;
}

std::optional<fs::path> find_tool(std::string_view tool) {
  if (tool.find('/') != std::string_view::npos) {
    fs::path p(tool);
    if (::access(p.c_str(), X_OK) == 0) return p;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  // Kamailio lives in /usr/sbin, which a non-root PATH may lack.
  std::string all = std::string(dirs) + ":/usr/local/sbin:/usr/sbin:/sbin";
  std::string_view rest = all;
  while (!rest.empty()) {
    auto colon = rest.find(':');
    std::string_view dir = rest.substr(0, colon);
    if (!dir.empty()) {
      fs::path p = fs::path(dir) / tool;
      if (::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p)) return p;
    }
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

fs::path require_tool(std::string_view tool) {
  auto p = find_tool(tool);
  if (!p) {
    throw std::runtime_error(
        "required tool '" + std::string(tool) +
        "' is not installed (not found in PATH). The integration tests need sipp, kamailio, "
        "sipsak, promtool, gzip and curl; install them (Debian: sip-tester kamailio sipsak "
        "prometheus) before running the suite.");
  }
  return *p;
}

// ---------------------------------------------------------------------------

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return "killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")";
  }
  return "wait status " + std::to_string(status);
}

// PR_SET_PDEATHSIG reaches only the direct child, so a peer that forks workers (Kamailio)
// would leave them running when this test process dies without its destructors, as a
// sanitizer's exit or an abort does. A small process of ours waits on a pipe whose only write
// end is this process's: the kernel closes it when we die, however we die, and the reaper
// then kills the peer's whole group. No signal handler: sanitizer runtimes defer those.
pid_t spawn_group_reaper(pid_t group, int& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw_errno("fork");
  }
  if (pid == 0) {
    // Only async-signal-safe calls from here: the test process may have other threads. The
    // reaper holds no copy of the test's descriptors (closing a socket there still closes
    // it), and outlives a Ctrl-C or SIGTERM to the test's process group.
    ::dup2(fds[0], 3);
    ::close_range(4, ~0U, 0);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) ::sigaction(sig, &ignore, nullptr);
    char byte = 0;
    ssize_t n = 0;
    do {
      n = ::read(3, &byte, 1);
    } while (n < 0 && errno == EINTR);
    ::kill(-group, SIGKILL);
    ::_exit(0);
  }
  ::close(fds[0]);
  write_end = fds[1];
  return pid;
}

Process::Process(std::string name, std::vector<std::string> argv, const fs::path& log_dir,
                 ProcessOptions options)
    : name_(std::move(name)),
      argv_(std::move(argv)),
      report_on_failure_(options.report_on_failure) {
  if (argv_.empty()) throw std::runtime_error("Process " + name_ + ": empty argv");
  auto exe = find_tool(argv_[0]);
  if (!exe) {
    throw std::runtime_error("Process " + name_ + ": '" + argv_[0] +
                             "' not found or not executable (is it installed?)");
  }
  stdout_path_ = log_dir / (name_ + ".stdout");
  stderr_path_ = log_dir / (name_ + ".stderr");

  Fd out(::open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (out.fd < 0) throw_errno("open " + stdout_path_.string());
  Fd err(::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (err.fd < 0) throw_errno("open " + stderr_path_.string());
  fs::path in_path = options.stdin_file.value_or("/dev/null");
  Fd in(::open(in_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) throw_errno("open " + in_path.string());
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw_errno("pipe2");
  Fd report_r(pipefd[0]);
  Fd report_w(pipefd[1]);

  // Everything the child needs is prepared before fork (only async-signal-safe
  // calls between fork and exec).
  std::string exe_path = exe->string();
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  std::string cwd = options.cwd ? options.cwd->string() : std::string();
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD}) ::sigaction(sig, &dfl, nullptr);
    ::dup2(in.fd, 0);
    ::dup2(out.fd, 1);
    ::dup2(err.fd, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(report_w.fd, &e, sizeof e);
      ::_exit(127);
    }
    ::execv(exe_path.c_str(), args.data());
    int e = errno;
    (void)!::write(report_w.fd, &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from the parent, so the group exists before we may signal it
  pid_ = pid;
  ::close(report_w.fd);
  report_w.fd = -1;
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report_r.fd, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    status_ = status;
    throw std::runtime_error("Process " + name_ + ": cannot start " + exe_path + ": " +
                             errno_text(child_errno));
  }
  reaper_pid_ = spawn_group_reaper(pid_, reaper_fd_);
}

void Process::stop_reaper() {
  if (reaper_pid_ <= 0) return;
  ::kill(reaper_pid_, SIGKILL);
  ::waitpid(reaper_pid_, nullptr, 0);
  ::close(reaper_fd_);
  reaper_pid_ = -1;
  reaper_fd_ = -1;
}

std::optional<std::string> sanitizer_report(std::string_view stderr_text, std::size_t lines) {
  static constexpr std::array<std::string_view, 5> kMarkers = {
      "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
      "FATAL: ThreadSanitizer", ": runtime error: "};
  std::size_t at = std::string_view::npos;
  for (auto marker : kMarkers) at = std::min(at, stderr_text.find(marker));
  if (at == std::string_view::npos) return std::nullopt;
  const auto newline = stderr_text.rfind('\n', at);
  const auto from = newline == std::string_view::npos ? 0 : newline + 1;
  auto report = split_lines(stderr_text.substr(from));
  if (report.size() > lines) report.resize(lines);
  std::string out;
  for (const auto& l : report) out += l + "\n";
  return out;
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    try {
      stop(5s);
    } catch (...) {
    }
  }
  stop_reaper();
  if (auto report = sanitizer_report(read_file(stderr_path_))) {
    ADD_FAILURE() << name_ << " (" << status_text() << ") reported a sanitizer error in "
                  << stderr_path_.string() << ":\n"
                  << *report;
  }
  if (report_on_failure_ && ::testing::Test::HasFailure()) std::cerr << describe() << std::flush;
}

bool Process::running() {
  if (status_) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    return false;
  }
  return true;
}

std::optional<int> Process::wait_exit(Clock::duration timeout) {
  wait_until(
      timeout, [&] { return !running(); }, 10ms);
  return status_;
}

std::optional<int> Process::exit_code() {
  running();
  if (status_ && WIFEXITED(*status_)) return WEXITSTATUS(*status_);
  return std::nullopt;
}

void Process::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

void Process::kill_group(int sig) {
  if (pid_ > 0) ::kill(-pid_, sig);
}

int Process::stop(Clock::duration grace) {
  if (!status_) {
    kill_group(SIGTERM);
    if (!wait_exit(grace)) {
      std::cerr << "[harness] " << name_ << " (pid " << pid_ << ") ignored SIGTERM for "
                << std::chrono::duration_cast<std::chrono::milliseconds>(grace).count()
                << " ms; sending SIGKILL\n";
      kill_group(SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      status_ = status;
    }
    kill_group(SIGKILL);  // stragglers in the group (e.g. Kamailio workers)
  }
  return *status_;
}

int Process::kill() {
  if (!status_) {
    kill_group(SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    status_ = status;
    kill_group(SIGKILL);
  }
  return *status_;
}

std::string Process::stdout_text() const { return read_file(stdout_path_); }
std::string Process::stderr_text() const { return read_file(stderr_path_); }

std::string Process::command_line() const {
  std::string s;
  for (const auto& a : argv_) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

std::string Process::status_text() const {
  return status_ ? describe_wait_status(*status_) : std::string("running");
}

std::string Process::describe(std::size_t lines) const {
  std::ostringstream ss;
  ss << "----- " << name_ << " (pid " << pid_ << ", " << status_text() << ")\n"
     << "  command: " << command_line() << "\n";
  for (const auto& [label, path] : {std::pair{"stdout", stdout_path_}, {"stderr", stderr_path_}}) {
    std::string text = read_file(path);
    if (text.empty()) {
      ss << "  " << label << ": (empty)\n";
      continue;
    }
    ss << "  last " << lines << " lines of " << label << " (" << path.string() << "):\n"
       << tail_lines(text, lines);
  }
  ss << "----- end of " << name_ << "\n";
  return ss.str();
}

RunResult run_command(const std::string& name, std::vector<std::string> argv,
                      const fs::path& log_dir, Clock::duration timeout,
                      std::optional<fs::path> stdin_file) {
  ProcessOptions opts;
  opts.stdin_file = std::move(stdin_file);
  opts.report_on_failure = false;  // the caller gets the output
  Process p(name + "-" + std::to_string(g_counter++), std::move(argv), log_dir, opts);
  RunResult r;
  if (!p.wait_exit(timeout)) {
    p.kill();
    throw std::runtime_error(
        name + " did not finish within " +
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) +
        " ms: " + p.command_line());
  }
  r.status = *p.wait_status();
  r.exit_code = p.exit_code();
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

// ---------------------------------------------------------------------------

std::uint16_t free_udp_port() { return free_port(SOCK_DGRAM); }
std::uint16_t free_tcp_port() { return free_port(SOCK_STREAM); }

bool udp_port_bound(std::uint16_t port) {
  for (const char* file : {"/proc/net/udp", "/proc/net/udp6"}) {
    auto lines = split_lines(read_file(file));
    for (std::size_t i = 1; i < lines.size(); ++i) {
      std::istringstream ss(lines[i]);
      std::string slot, local;
      ss >> slot >> local;
      auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      unsigned long p = std::strtoul(local.c_str() + colon + 1, nullptr, 16);
      if (p == port) return true;
    }
  }
  return false;
}

void retry_start(int attempts, const std::function<void()>& attempt) {
  std::string failures;
  for (int i = 0; i < attempts; ++i) {
    try {
      attempt();
      return;
    } catch (const std::exception& e) {
      failures += e.what();
      failures += '\n';
    }
  }
  throw std::runtime_error(failures);
}

bool tcp_port_listening(std::uint16_t port) {
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream in(read_file(file));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos || state != "0A") continue;  // 0A: LISTEN
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) return true;
    }
  }
  return false;
}

UdpSocket::UdpSocket() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw_errno("socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw_errno("bind");
  socklen_t len = sizeof sa;
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) throw_errno("getsockname");
  port_ = ntohs(sa.sin_port);
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<UdpSocket::Datagram> UdpSocket::receive(Clock::time_point deadline) {
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw_errno("poll");
    if (r == 0) return std::nullopt;
    std::array<char, 65536> buf{};
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    ssize_t n =
        ::recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    auto at = Clock::now();
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw_errno("recv");
    timeval tv{};
    if (::ioctl(fd_, SIOCGSTAMP, &tv) != 0) throw_errno("ioctl SIOCGSTAMP");
    return Datagram{std::string(buf.data(), static_cast<std::size_t>(n)), at,
                    static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6,
                    ntohs(from.sin_port)};
  }
}

void UdpSocket::send_to(std::uint16_t port, std::string_view data) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  ssize_t n =
      ::sendto(fd_, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  if (n != static_cast<ssize_t>(data.size())) throw_errno("sendto");
}

// ---------------------------------------------------------------------------

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return std::nullopt;
}

HttpResponse http_get(std::uint16_t port, std::string_view target,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      Clock::duration timeout) {
  namespace http = boost::beast::http;
  const auto deadline = Clock::now() + timeout;
  const std::string where = "GET http://127.0.0.1:" + std::to_string(port) + std::string(target);

  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (s.fd < 0) throw_errno("socket");
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    if (errno != EINPROGRESS) throw_errno(where + ": connect");
    pollfd p{s.fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
      throw std::runtime_error(where + ": connect timed out");
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0) throw std::runtime_error(where + ": connect: " + errno_text(soerr));
  }

  std::string req = "GET " + std::string(target) +
                    " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  std::size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(s.fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) throw_errno(where + ": send");
    pollfd p{s.fd, POLLOUT, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
      throw std::runtime_error(where + ": send timed out");
    }
  }

  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(std::uint64_t{256} << 20);
  std::string buf;
  boost::beast::error_code ec;
  std::array<char, 16384> chunk{};
  while (!parser.is_done()) {
    pollfd p{s.fd, POLLIN, 0};
    int r = ::poll(&p, 1, remaining_ms(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      throw std::runtime_error(where + ": no complete response before the deadline (" +
                               std::to_string(buf.size()) + " unparsed bytes)");
    }
    ssize_t n = ::recv(s.fd, chunk.data(), chunk.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) throw_errno(where + ": recv");
    if (n == 0) {
      parser.put_eof(ec);
      if (ec) throw std::runtime_error(where + ": connection closed early: " + ec.message());
      break;
    }
    buf.append(chunk.data(), static_cast<std::size_t>(n));
    while (!buf.empty() && !parser.is_done()) {
      std::size_t used = parser.put(boost::asio::buffer(buf), ec);
      buf.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) throw std::runtime_error(where + ": bad HTTP response: " + ec.message());
      if (used == 0) break;
    }
  }
  if (!parser.is_done()) throw std::runtime_error(where + ": incomplete response");
  const auto& res = parser.get();
  HttpResponse out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(f.name_string(), f.value());
  out.body = res.body();
  return out;
}

// ---------------------------------------------------------------------------

namespace {

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool is_name_char(char c) {
  return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

bool labels_include(const Labels& have, const Labels& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

std::string format_sample(std::string_view name, const Labels& labels) {
  std::string s(name);
  s += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) s += ',';
    first = false;
    s += k + "=\"" + v + "\"";
  }
  s += '}';
  return s;
}

}  // namespace

Exposition Exposition::parse(std::string_view text) {
  Exposition e;
  e.text_ = std::string(text);
  int line_no = 0;
  for (const auto& raw : split_lines(text)) {
    ++line_no;
    std::string_view line = trim(raw);
    auto fail = [&](const std::string& why) {
      throw std::runtime_error("exposition line " + std::to_string(line_no) + ": " + why + ": " +
                               raw);
    };
    if (line.empty()) continue;
    if (line.front() == '#') {
      std::istringstream ss{std::string(line.substr(1))};
      std::string kind, family;
      ss >> kind >> family;
      std::string rest;
      std::getline(ss, rest);
      rest = std::string(trim(rest));
      if (kind == "TYPE") e.types_[family] = rest;
      if (kind == "HELP") e.helps_[family] = rest;
      continue;
    }
    Sample s;
    std::size_t i = 0;
    if (!is_name_start(line[0])) fail("bad metric name");
    while (i < line.size() && is_name_char(line[i])) ++i;
    s.name = std::string(line.substr(0, i));
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (true) {
        while (i < line.size() && (line[i] == ' ' || line[i] == ',')) ++i;
        if (i >= line.size()) fail("unterminated labels");
        if (line[i] == '}') {
          ++i;
          break;
        }
        std::size_t k0 = i;
        while (i < line.size() && is_name_char(line[i])) ++i;
        std::string key(line.substr(k0, i - k0));
        if (key.empty() || i >= line.size() || line[i] != '=') fail("bad label name");
        ++i;
        if (i >= line.size() || line[i] != '"') fail("label value not quoted");
        ++i;
        std::string value;
        while (true) {
          if (i >= line.size()) fail("unterminated label value");
          char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) fail("bad escape");
            char n = line[i++];
            value += n == 'n' ? '\n' : n;
          } else {
            value += c;
          }
        }
        if (s.labels.count(key)) fail("duplicate label " + key);
        s.labels[key] = value;
      }
    }
    std::string_view rest = trim(line.substr(i));
    auto sp = rest.find_first_of(" \t");
    std::string num(rest.substr(0, sp));
    if (num.empty()) fail("missing value");
    char* end = nullptr;
    s.value = std::strtod(num.c_str(), &end);
    if (end != num.c_str() + num.size()) fail("bad value '" + num + "'");
    e.samples_.push_back(std::move(s));
  }
  return e;
}

std::vector<Sample> Exposition::find(std::string_view name, const Labels& labels) const {
  std::vector<Sample> out;
  for (const auto& s : samples_) {
    if (s.name == name && labels_include(s.labels, labels)) out.push_back(s);
  }
  return out;
}

std::optional<double> Exposition::value(std::string_view name, const Labels& labels) const {
  auto found = find(name, labels);
  if (found.empty()) return std::nullopt;
  if (found.size() > 1) {
    std::string msg = "ambiguous lookup " + format_sample(name, labels) + " matches:";
    for (const auto& s : found) msg += " " + format_sample(s.name, s.labels);
    throw std::runtime_error(msg);
  }
  return found.front().value;
}

double Exposition::sum(std::string_view name, const Labels& labels) const {
  double total = 0;
  for (const auto& s : find(name, labels)) total += s.value;
  return total;
}

std::optional<std::string> Exposition::type(std::string_view family) const {
  auto it = types_.find(family);
  if (it == types_.end()) return std::nullopt;
  return it->second;
}

std::string Exposition::grep(std::string_view needle) const {
  std::string out;
  for (const auto& line : split_lines(text_)) {
    if (line.find(needle) != std::string::npos) out += line + "\n";
  }
  return out.empty() ? "(no line contains " + std::string(needle) + ")\n" : out;
}

bool Exposition::has_help(std::string_view family) const { return helps_.count(family) > 0; }

CheckResult promtool_check_metrics(std::string_view body, const fs::path& dir) {
  auto promtool = require_tool("promtool");
  fs::path in = dir / ("promtool-input-" + std::to_string(g_counter++) + ".txt");
  write_file(in, body);
  auto r = run_command("promtool", {promtool.string(), "check", "metrics"}, dir, 30s, in);
  CheckResult c;
  c.exit_code = r.exit_code.value_or(-1);
  c.output = r.out + r.err;
  return c;
}

std::string gunzip(std::string_view data, const fs::path& dir) {
  auto gzip = require_tool("gzip");
  fs::path in = dir / ("gunzip-input-" + std::to_string(g_counter++) + ".gz");
  write_file(in, data);
  auto r = run_command("gzip", {gzip.string(), "-dc"}, dir, 30s, in);
  if (r.exit_code != 0) {
    throw std::runtime_error("gzip -dc failed (" + describe_wait_status(r.status) + "): " + r.err);
  }
  return r.out;
}

// ---------------------------------------------------------------------------

LogLine parse_logfmt(std::string_view line) {
  LogLine out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    if (i >= line.size()) break;
    std::size_t k0 = i;
    while (i < line.size() && line[i] != '=' && line[i] != ' ') ++i;
    std::string key(line.substr(k0, i - k0));
    std::string value;
    if (i < line.size() && line[i] == '=') {
      ++i;
      if (i < line.size() && line[i] == '"') {
        ++i;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            char n = line[i + 1];
            value += n == 'n' ? '\n' : n == 't' ? '\t' : n;
            i += 2;
          } else {
            value += line[i++];
          }
        }
        if (i < line.size()) ++i;  // closing quote
      } else {
        std::size_t v0 = i;
        while (i < line.size() && line[i] != ' ') ++i;
        value = std::string(line.substr(v0, i - v0));
      }
    }
    if (!key.empty()) out[key] = value;
  }
  return out;
}

std::vector<LogLine> log_lines_with_msg(std::string_view text, std::string_view msg) {
  std::vector<LogLine> out;
  for (const auto& line : split_lines(text)) {
    auto parsed = parse_logfmt(line);
    auto it = parsed.find("msg");
    if (it != parsed.end() && it->second == msg) out.push_back(std::move(parsed));
  }
  return out;
}

// ---------------------------------------------------------------------------

std::optional<std::string> sip_header(std::string_view message, std::string_view name) {
  auto lines = split_lines(message);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (iequals(trim(line.substr(0, colon)), name)) {
      return std::string(trim(line.substr(colon + 1)));
    }
  }
  return std::nullopt;
}

std::optional<std::string> via_branch(std::string_view message) {
  auto via = sip_header(message, "Via");
  if (!via) return std::nullopt;
  static const std::regex re(R"(;\s*branch=([^;,\s]+))", std::regex::icase);
  std::smatch m;
  if (!std::regex_search(*via, m, re)) return std::nullopt;
  return m[1].str();
}

// ---------------------------------------------------------------------------

fs::path peers_dir() { return STX_PEERS_DIR; }
// STX_EXPORTER_BINARY in the environment runs the suite against another build (to show that a
// new test fails on an older one).
fs::path exporter_binary() {
  const char* other = std::getenv("STX_EXPORTER_BINARY");
  return other != nullptr && *other != '\0' ? fs::path(other) : fs::path(STX_EXPORTER_BINARY);
}
fs::path source_dir() { return fs::weakly_canonical(peers_dir() / ".." / ".." / ".."); }

std::string project_version() {
  auto cm = source_dir() / "CMakeLists.txt";
  std::string text = read_file(cm);
  static const std::regex re(R"(project\s*\(\s*sip_trunk_exporter\s+VERSION\s+([0-9][0-9.]*))");
  std::smatch m;
  if (!std::regex_search(text, m, re)) {
    throw std::runtime_error("cannot find the project version in " + cm.string());
  }
  return m[1].str();
}

SippPeer::SippPeer(const fs::path& dir, std::string_view scenario, std::uint16_t port,
                   SippTransport transport) {
  const bool tcp = transport == SippTransport::tcp;
  auto sipp = require_tool("sipp");
  fs::path scenario_path = peers_dir() / scenario;
  if (!fs::exists(scenario_path)) {
    throw std::runtime_error("SIPp scenario missing: " + scenario_path.string());
  }
  std::string failures;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = port != 0 ? port : (tcp ? free_tcp_port() : free_udp_port());
    // RTP echo uses -mp and -mp+2; the control socket -cp. All on loopback.
    std::uint16_t media = 0;
    for (int i = 0; i < 20; ++i) {
      media = free_udp_port();
      if (media < 65500 && media != port_ && media + 2 != port_ && !udp_port_bound(media + 2)) {
        break;
      }
    }
    std::uint16_t control = free_udp_port();
    std::string name =
        "sipp-" + fs::path(scenario).stem().string() + "-" + std::to_string(g_counter++);
    std::vector<std::string> argv = {sipp.string(),
                                     "-sf",
                                     scenario_path.string(),
                                     "-i",
                                     "127.0.0.1",
                                     "-p",
                                     std::to_string(port_),
                                     "-bind_local",
                                     "-mi",
                                     "127.0.0.1",
                                     "-mp",
                                     std::to_string(media),
                                     "-ci",
                                     "127.0.0.1",
                                     "-cp",
                                     std::to_string(control),
                                     "-nostdin",
                                     "-trace_err",
                                     "-error_file",
                                     (dir / (name + ".errors.log")).string(),
                                     "-trace_msg",
                                     "-message_file",
                                     (dir / (name + ".messages.log")).string()};
    if (tcp) argv.insert(argv.begin() + 3, {"-t", "t1"});
    ProcessOptions opts;
    opts.cwd = dir;
    auto p = std::make_unique<Process>(name, std::move(argv), dir, opts);
    bool up = wait_until(10s, [&] {
      return !p->running() || (tcp ? tcp_port_listening(port_) : udp_port_bound(port_));
    });
    if (up && p->running()) {
      process_ = std::move(p);
      messages_ = dir / (name + ".messages.log");
      return;
    }
    failures += p->describe();
    if (port != 0) break;
  }
  throw std::runtime_error("SIPp did not come up with scenario " + std::string(scenario) + ":\n" +
                           failures);
}

int SippPeer::requests_received(std::string_view method) const {
  // Each received message follows a "... message received [N] bytes :" line and a blank one.
  std::ifstream in(messages_);
  int n = 0;
  bool received = false;
  const std::string request_line = std::string(method) + " sip";
  for (std::string line; std::getline(in, line);) {
    if (line.find("message received") != std::string::npos) received = true;
    if (received && line.rfind(request_line, 0) == 0) {
      ++n;
      received = false;
    }
  }
  return n;
}

std::string SippPeer::uri() const { return "sip:127.0.0.1:" + std::to_string(port_); }

KamailioPeer::KamailioPeer(fs::path dir, std::string_view config_template, std::uint16_t port,
                           std::string_view name, Substitutions substitutions)
    : dir_(std::move(dir)),
      template_(config_template),
      name_(name),
      substitutions_(std::move(substitutions)),
      port_(port) {
  require_tool("kamailio");
  if (!fs::exists(peers_dir() / template_)) {
    throw std::runtime_error("Kamailio config template missing: " +
                             (peers_dir() / template_).string());
  }
  if (port_ != 0) {
    start();
    return;
  }
  retry_start(3, [&] {
    port_ = free_udp_port();
    start();
  });
}

fs::path KamailioPeer::run_dir() const { return dir_ / (name_ + "-run"); }

void KamailioPeer::start() {
  auto kamailio = require_tool("kamailio");
  std::string cfg = read_file(peers_dir() / template_);
  fs::path rundir = run_dir();
  fs::create_directories(rundir);
  auto replace_all = [&](std::string_view from, const std::string& to) {
    for (auto pos = cfg.find(from); pos != std::string::npos; pos = cfg.find(from, pos)) {
      cfg.replace(pos, from.size(), to);
      pos += to.size();
    }
  };
  replace_all("@PORT@", std::to_string(port_));
  replace_all("@RUNDIR@", rundir.string());
  for (const auto& [placeholder, value] : substitutions_) replace_all(placeholder, value);
  fs::path cfg_path = dir_ / (name_ + ".cfg");
  write_file(cfg_path, cfg);
  std::string pname = name_ + "-" + std::to_string(++generation_);
  std::vector<std::string> argv = {
      kamailio.string(), "-f", cfg_path.string(), "-DD", "-E", "-m", "64", "-M", "8", "-Y",
      rundir.string(),   "-w", rundir.string()};
  ProcessOptions opts;
  opts.cwd = dir_;
  auto p = std::make_unique<Process>(pname, std::move(argv), dir_, opts);
  bool up = wait_until(15s, [&] { return !p->running() || udp_port_bound(port_); });
  if (!up || !p->running()) {
    std::string what = "Kamailio (" + template_ +
                       ") did not come up on 127.0.0.1:" + std::to_string(port_) + ":\n" +
                       p->describe();
    throw std::runtime_error(what);
  }
  process_ = std::move(p);
}

Process& KamailioPeer::process() {
  if (!process_) throw std::runtime_error("Kamailio is not running (killed, not restarted)");
  return *process_;
}

std::string KamailioPeer::uri() const { return "sip:127.0.0.1:" + std::to_string(port_); }

void KamailioPeer::kill() {
  if (!process_) return;
  process_->kill();
  // Keep the old process object (and its log report on failure) until the end.
  retired_.push_back(std::move(process_));
  if (!wait_until(5s, [&] { return !udp_port_bound(port_); })) {
    throw std::runtime_error("Kamailio killed but 127.0.0.1:" + std::to_string(port_) +
                             " is still bound");
  }
}

void KamailioPeer::restart() {
  if (process_) kill();
  start();
}

std::vector<std::string> sipsak_options_argv(std::uint16_t port) {
  return {require_tool("sipsak").string(),
          "-vv",
          "-H",
          "127.0.0.1",
          "-s",
          "sip:sipsak@127.0.0.1:" + std::to_string(port)};
}

RunResult sipsak_options(std::uint16_t port, const fs::path& log_dir, std::string_view name) {
  return run_command(std::string(name), sipsak_options_argv(port), log_dir, 20s);
}

// ---------------------------------------------------------------------------

std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string render_config(const ExporterConfigSpec& spec) {
  std::ostringstream ss;
  ss << "[defaults]\n"
     << "interval = " << toml_string(spec.interval) << "\n"
     << "timeout = " << toml_string(spec.timeout) << "\n"
     << "failures_before_down = " << spec.failures_before_down << "\n"
     << "successes_before_up = " << spec.successes_before_up << "\n"
     << "healthy_codes = [";
  for (std::size_t i = 0; i < spec.healthy_codes.size(); ++i) {
    ss << (i ? ", " : "") << toml_string(spec.healthy_codes[i]);
  }
  ss << "]\n";
  for (const auto& t : spec.targets) {
    ss << "\n[[target]]\n"
       << "name = " << toml_string(t.name) << "\n"
       << "uri = " << toml_string(t.uri) << "\n";
    if (!t.labels.empty()) {
      ss << "labels = { ";
      for (std::size_t i = 0; i < t.labels.size(); ++i) {
        ss << (i ? ", " : "") << t.labels[i].first << " = " << toml_string(t.labels[i].second);
      }
      ss << " }\n";
    }
    for (const auto& [k, v] : t.overrides) ss << k << " = " << v << "\n";
  }
  ss << spec.extra_toml;
  // An exporter for /probe only must say so.
  if (spec.targets.empty() && spec.extra_toml.find("[exporter]") == std::string::npos) {
    ss << "\n[exporter]\nallow_no_targets = true\n";
  }
  return ss.str();
}

Exporter::Exporter(const fs::path& dir, const ExporterConfigSpec& spec, std::string_view log_level,
                   std::string_view name) {
  fs::path binary = exporter_binary();
  if (!fs::exists(binary)) {
    throw std::runtime_error("exporter binary missing: " + binary.string());
  }
  config_path_ = dir / (std::string(name) + ".toml");
  write_file(config_path_, render_config(spec));
  std::string failures;
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_tcp_port();
    std::vector<std::string> argv = {binary.string(), "--config.file=" + config_path_.string(),
                                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                                     "--log.level=" + std::string(log_level)};
    argv.insert(argv.end(), spec.extra_flags.begin(), spec.extra_flags.end());
    std::string pname = std::string(name) + (attempt ? "-" + std::to_string(attempt) : "");
    auto p = std::make_unique<Process>(pname, std::move(argv), dir);
    bool healthy = wait_until(
        10s,
        [&] {
          if (!p->running()) return true;
          try {
            return http_get(port_, spec.health_path, {}, 1s).status == 200;
          } catch (const std::exception&) {
            return false;
          }
        },
        50ms);
    if (healthy && p->running()) {
      process_ = std::move(p);
      return;
    }
    p->stop();
    failures += p->describe();
    // Retry only when it might have been a port collision.
    if (read_file(p->stderr_path()).find("in use") == std::string::npos) break;
  }
  throw std::runtime_error("exporter did not become healthy (GET " + spec.health_path +
                           " -> 200) within 10 s with config:\n" + render_config(spec) + failures);
}

HttpResponse Exporter::get(std::string_view target,
                           const std::vector<std::pair<std::string, std::string>>& headers) {
  return http_get(port_, target, headers);
}

Exposition Exporter::scrape() {
  auto r = get("/metrics");
  if (r.status != 200) {
    throw std::runtime_error("GET /metrics returned " + std::to_string(r.status) + ": " + r.body);
  }
  return Exposition::parse(r.body);
}

Scraped Exporter::scrape_until(Clock::duration timeout,
                               const std::function<bool(const Exposition&)>& pred,
                               Clock::duration poll) {
  Scraped result;
  result.ok = wait_until(
      timeout,
      [&] {
        result.last = scrape();
        return pred(result.last);
      },
      poll);
  return result;
}

std::vector<LogLine> Exporter::probe_logs(std::string_view target) const {
  std::vector<LogLine> out;
  for (auto& l : log_lines_with_msg(process_->stderr_text(), "probe finished")) {
    auto it = l.find("target");
    if (it != l.end() && it->second == target) out.push_back(std::move(l));
  }
  return out;
}

}  // namespace stx::it
