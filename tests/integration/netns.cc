#include "netns.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace fs = std::filesystem;

namespace stx::it {

namespace {

constexpr std::string_view kTable = "stx_faults";
constexpr std::string_view kPeerLink = "veth0";

std::atomic<int> g_namespaces{0};

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// Runs a command; throws with its stderr when it does not exit 0.
RunResult run_checked(const std::string& what, const std::vector<std::string>& argv,
                      const fs::path& log_dir, std::optional<fs::path> stdin_file = std::nullopt) {
  RunResult r = run_command(what, argv, log_dir, 20s, std::move(stdin_file));
  if (r.exit_code != 0) {
    throw std::runtime_error(what + ": `" + join(argv) + "` " + describe_wait_status(r.status) +
                             ": " + r.err + r.out);
  }
  return r;
}

std::string ip_tool() { return require_tool("ip").string(); }

std::string namespace_name(pid_t pid, int n) {
  return "stx-" + std::to_string(pid) + "-" + std::to_string(n);
}
// Interface names are at most 15 characters: "stx" + pid (7 digits at most) + "h" + n.
std::string host_link_name(pid_t pid, int n) {
  return "stx" + std::to_string(pid) + "h" + std::to_string(n);
}

// A 10.213.X.0/30 that no address or route of the root namespace uses yet (another run may
// hold one), starting at X = n so that namespaces of one run differ.
int free_subnet(int n, const fs::path& log_dir) {
  const std::string used = run_checked("ip-addr", {ip_tool(), "-4", "-o", "addr"}, log_dir).out +
                           run_checked("ip-route", {ip_tool(), "-4", "route"}, log_dir).out;
  for (int i = 0; i < 254; ++i) {
    const int x = 1 + (n - 1 + i) % 254;
    if (used.find("10.213." + std::to_string(x) + ".") == std::string::npos) return x;
  }
  throw std::runtime_error("no free 10.213.X.0/30 subnet in the root namespace");
}

// Kills every process still running inside namespace `name` (ours: it is our namespace).
void kill_processes_in(const std::string& name, const fs::path& log_dir) {
  const RunResult r =
      run_command("ip-netns-pids", {ip_tool(), "netns", "pids", name}, log_dir, 10s);
  std::istringstream in(r.out);
  pid_t pid = 0;
  while (in >> pid) {
    if (pid > 1 && pid != ::getpid()) ::kill(pid, SIGKILL);
  }
}

void delete_namespace(const std::string& name, const std::string& host_link,
                      const fs::path& log_dir) {
  kill_processes_in(name, log_dir);
  // Deleting one end of the veth deletes both, at once (a namespace is torn down lazily).
  run_command("ip-link-del", {ip_tool(), "link", "del", host_link}, log_dir, 10s);
  run_command("ip-netns-del", {ip_tool(), "netns", "del", name}, log_dir, 10s);
}

bool proc_net_has(pid_t pid, std::string_view file, std::uint16_t port, bool listening) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/net/" + std::string(file)));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state;
    fields >> slot >> local >> remote >> state;
    const auto colon = local.rfind(':');
    if (colon == std::string::npos) continue;
    if (listening && state != "0A") continue;  // 0A: LISTEN
    if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) return true;
  }
  return false;
}

std::unique_ptr<Process> start_and_wait(const NetNamespace& ns, const std::string& name,
                                        const std::vector<std::string>& argv, Proto proto,
                                        std::uint16_t port) {
  ProcessOptions opts;
  opts.cwd = ns.log_dir();
  auto p = ns.spawn(name, argv, opts);
  const bool up =
      wait_until(10s, [&] { return !p->running() || port_bound_in(p->pid(), proto, port); });
  if (!up || !p->running()) {
    throw std::runtime_error(name + " did not come up on " + ns.peer_address() + ":" +
                             std::to_string(port) + " in namespace " + ns.name() + ":\n" +
                             p->describe());
  }
  return p;
}

}  // namespace

std::optional<std::string> netns_unavailable() {
  static std::once_flag once;
  static std::optional<std::string> why;
  std::call_once(once, [] {
    if (::geteuid() != 0) {
      why = "network namespaces need root (euid " + std::to_string(::geteuid()) + ")";
      return;
    }
    for (const char* tool : {"ip", "nft"}) {
      if (!find_tool(tool)) {
        why = std::string(tool) + " is not installed (scripts/deps/test-faults.txt)";
        return;
      }
    }
    TempDir dir("stx-netns-check");
    const std::string name = namespace_name(::getpid(), 0);
    const RunResult r =
        run_command("ip-netns-check", {ip_tool(), "netns", "add", name}, dir.path(), 10s);
    if (r.exit_code != 0) {
      why = "`ip netns add` is not permitted here: " + r.err;
      return;
    }
    run_command("ip-netns-check-del", {ip_tool(), "netns", "del", name}, dir.path(), 10s);
  });
  return why;
}

void sweep_stale_namespaces() {
  TempDir dir("stx-netns-sweep");
  const RunResult r = run_command("ip-netns-list", {ip_tool(), "netns", "list"}, dir.path(), 10s);
  static const std::regex re(R"(^stx-([0-9]+)-([0-9]+)$)");
  for (const auto& line : split_lines(r.out)) {
    const std::string name = line.substr(0, line.find(' '));
    std::smatch m;
    if (!std::regex_match(name, m, re)) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(m[1].str()));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    delete_namespace(name, host_link_name(pid, std::stoi(m[2].str())), dir.path());
  }
}

fs::path responder_binary() {
#ifdef STX_RESPONDER_BINARY
  return STX_RESPONDER_BINARY;
#else
  throw std::runtime_error("STX_RESPONDER_BINARY is not defined for this build");
#endif
}

std::string nft_drop_all() { return "iifname \"" + std::string(kPeerLink) + "\" drop"; }

std::string nft_drop(Proto proto, std::uint16_t port) {
  return std::string(proto == Proto::udp ? "udp" : "tcp") + " dport " + std::to_string(port) +
         " drop";
}

std::string nft_reject_port_unreachable(Proto proto, std::uint16_t port) {
  return std::string(proto == Proto::udp ? "udp" : "tcp") + " dport " + std::to_string(port) +
         " reject with icmpx type port-unreachable";
}

std::string nft_reset_syn(std::uint16_t port) {
  return "tcp dport " + std::to_string(port) + " tcp flags & (syn | ack) == syn" +
         " reject with tcp reset";
}

std::string nft_reset_all(std::uint16_t port) {
  return "tcp dport " + std::to_string(port) + " reject with tcp reset";
}

std::string nft_random_drop(Proto proto, std::uint16_t port, int percent) {
  return std::string(proto == Proto::udp ? "udp" : "tcp") + " dport " + std::to_string(port) +
         " numgen random mod 100 < " + std::to_string(percent) + " drop";
}

NetNamespace::NetNamespace(fs::path log_dir) : log_dir_(std::move(log_dir)) {
  try {
    create();
  } catch (...) {
    destroy();
    throw;
  }
}

NetNamespace::~NetNamespace() { destroy(); }

void NetNamespace::create() {
  const std::string ip = ip_tool();
  const pid_t pid = ::getpid();
  const int n = ++g_namespaces;
  name_ = namespace_name(pid, n);
  host_link_ = host_link_name(pid, n);
  const int x = free_subnet(n, log_dir_);
  const std::string net = "10.213." + std::to_string(x) + ".";
  root_address_ = net + "1";
  peer_address_ = net + "2";

  run_checked("ip-netns-add", {ip, "netns", "add", name_}, log_dir_);
  created_ = true;
  run_checked("ip-lo-up", {ip, "-n", name_, "link", "set", "lo", "up"}, log_dir_);
  run_checked("ip-veth-add",
              {ip, "link", "add", host_link_, "type", "veth", "peer", "name",
               std::string(kPeerLink), "netns", name_},
              log_dir_);
  run_checked("ip-addr-root", {ip, "addr", "add", root_address_ + "/30", "dev", host_link_},
              log_dir_);
  run_checked(
      "ip-addr-ns",
      {ip, "-n", name_, "addr", "add", peer_address_ + "/30", "dev", std::string(kPeerLink)},
      log_dir_);
  run_checked("ip-up-root", {ip, "link", "set", host_link_, "up"}, log_dir_);
  run_checked("ip-up-ns", {ip, "-n", name_, "link", "set", std::string(kPeerLink), "up"}, log_dir_);
}

void NetNamespace::destroy() noexcept {
  if (!created_) return;
  created_ = false;
  try {
    // Its own directory: the test's may be gone already.
    const TempDir dir("stx-netns-del");
    delete_namespace(name_, host_link_, dir.path());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "[netns] cannot delete namespace %s: %s\n", name_.c_str(), e.what());
  }
}

std::unique_ptr<Process> NetNamespace::spawn(std::string process_name,
                                             const std::vector<std::string>& argv,
                                             ProcessOptions options) const {
  std::vector<std::string> full = {ip_tool(), "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return std::make_unique<Process>(std::move(process_name), std::move(full), log_dir_,
                                   std::move(options));
}

RunResult NetNamespace::run(const std::string& what, const std::vector<std::string>& argv,
                            std::optional<fs::path> stdin_file) const {
  std::vector<std::string> full = {ip_tool(), "netns", "exec", name_};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_checked(what, full, log_dir_, std::move(stdin_file));
}

void NetNamespace::apply_nft(const std::string& script, const std::string& what) {
  const fs::path file = log_dir_ / (name_ + "-rules-" + std::to_string(++rules_version_) + ".nft");
  write_file(file, script);
  run(what, {require_tool("nft").string(), "-f", file.string()});
}

void NetNamespace::set_rules(const NftRules& rules) {
  const std::string table = "inet " + std::string(kTable);
  // Declaring the table first makes the delete valid when it does not exist yet; nft applies
  // the whole file as one transaction, so no packet sees a half-built rule set.
  std::string s = "table " + table + "\ndelete table " + table + "\ntable " + table + " {\n";
  const auto chain = [&](std::string_view name, std::string_view hook,
                         const std::vector<std::string>& body) {
    s += "  chain " + std::string(name) + " {\n    type filter hook " + std::string(hook) +
         " priority 0; policy accept;\n";
    for (const auto& r : body) s += "    " + r + "\n";
    s += "  }\n";
  };
  chain("input", "input", rules.input);
  chain("output", "output", rules.output);
  s += "}\n";
  apply_nft(s, "nft-set-rules");
}

void NetNamespace::clear_rules() {
  const std::string table = "inet " + std::string(kTable);
  apply_nft("table " + table + "\ndelete table " + table + "\n", "nft-clear-rules");
}

std::string NetNamespace::rules_text() const {
  const RunResult r = run_command(
      "nft-list",
      {ip_tool(), "netns", "exec", name_, "nft", "list", "table", "inet", std::string(kTable)},
      log_dir_, 10s);
  return r.out;
}

bool port_bound_in(pid_t pid, Proto proto, std::uint16_t port) {
  try {
    if (proto == Proto::udp) {
      return proc_net_has(pid, "udp", port, false) || proc_net_has(pid, "udp6", port, false);
    }
    return proc_net_has(pid, "tcp", port, true) || proc_net_has(pid, "tcp6", port, true);
  } catch (const std::exception&) {
    return false;  // the process is gone
  }
}

std::unique_ptr<Process> start_responder(const NetNamespace& ns, std::uint16_t port,
                                         std::string_view name) {
  return start_and_wait(
      ns, std::string(name),
      {responder_binary().string(), "--port", std::to_string(port), "--address", ns.peer_address()},
      Proto::udp, port);
}

std::unique_ptr<Process> start_sipp_tcp(const NetNamespace& ns, std::uint16_t port,
                                        std::string_view name) {
  const std::string n(name);
  const fs::path scenario = peers_dir() / "options_200.xml";
  // Media and control sockets stay inside the namespace; its ports are all free.
  return start_and_wait(ns, n,
                        {require_tool("sipp").string(),
                         "-sf",
                         scenario.string(),
                         "-t",
                         "t1",
                         "-i",
                         ns.peer_address(),
                         "-p",
                         std::to_string(port),
                         "-bind_local",
                         "-mi",
                         ns.peer_address(),
                         "-mp",
                         "16000",
                         "-ci",
                         "127.0.0.1",
                         "-cp",
                         "8888",
                         "-nostdin",
                         "-trace_err",
                         "-error_file",
                         (ns.log_dir() / (n + ".errors.log")).string()},
                        Proto::tcp, port);
}

}  // namespace stx::it
