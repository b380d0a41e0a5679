#include "transport_peers.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>

namespace fs = std::filesystem;

namespace stx::it {
namespace {

std::atomic<int> g_instance{0};

void replace_all(std::string& text, std::string_view from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos)) {
    text.replace(pos, from.size(), to);
    pos += to.size();
  }
}

// A free port not already in `taken`.
std::uint16_t distinct_port(std::uint16_t (*pick)(), std::vector<std::uint16_t>& taken) {
  for (int i = 0; i < 50; ++i) {
    const std::uint16_t p = pick();
    if (std::find(taken.begin(), taken.end(), p) == taken.end()) {
      taken.push_back(p);
      return p;
    }
  }
  throw std::runtime_error("no distinct free port found after 50 tries");
}

}  // namespace

std::vector<std::uint16_t> TransportPorts::tcp_ports() const {
  return {tcp4, tcp6, tls4, tls6, tls_expired, tls_wrong_name, tls_mutual};
}

std::vector<std::uint16_t> TransportPorts::udp_ports() const { return {udp4, udp6}; }

KamailioTransports::KamailioTransports(fs::path dir, const TestCertificates& certs,
                                       KamailioTransportsOptions options)
    : dir_(std::move(dir)), certs_(certs), options_(std::move(options)) {
  require_tool("kamailio");
  for (const char* t : {"kamailio_transports.cfg", "kamailio_transports_tls.cfg"}) {
    if (!fs::exists(peers_dir() / t)) {
      throw std::runtime_error("Kamailio config template missing: " + (peers_dir() / t).string());
    }
  }
  options_.name += "-" + std::to_string(g_instance++);
  retry_start(3, [&] {
    std::vector<std::uint16_t> taken;
    ports_.udp4 = distinct_port(free_udp_port, taken);
    ports_.udp6 = distinct_port(free_udp_port, taken);
    for (std::uint16_t* p : {&ports_.tcp4, &ports_.tcp6, &ports_.tls4, &ports_.tls6,
                             &ports_.tls_expired, &ports_.tls_wrong_name, &ports_.tls_mutual}) {
      *p = distinct_port(free_tcp_port, taken);
    }
    start();
  });
}

void KamailioTransports::start() {
  const auto kamailio = require_tool("kamailio");
  const fs::path rundir = dir_ / (options_.name + "-run");
  fs::create_directories(rundir);
  const fs::path tls_path = dir_ / (options_.name + "-tls.cfg");
  const fs::path cfg_path = dir_ / (options_.name + ".cfg");

  auto fill_ports = [&](std::string& text) {
    replace_all(text, "@UDP4@", std::to_string(ports_.udp4));
    replace_all(text, "@UDP6@", std::to_string(ports_.udp6));
    replace_all(text, "@TCP4@", std::to_string(ports_.tcp4));
    replace_all(text, "@TCP6@", std::to_string(ports_.tcp6));
    replace_all(text, "@TLS4@", std::to_string(ports_.tls4));
    replace_all(text, "@TLS6@", std::to_string(ports_.tls6));
    replace_all(text, "@TLS_EXPIRED@", std::to_string(ports_.tls_expired));
    replace_all(text, "@TLS_WRONG_NAME@", std::to_string(ports_.tls_wrong_name));
    replace_all(text, "@TLS_MUTUAL@", std::to_string(ports_.tls_mutual));
  };
  std::string tls = read_file(peers_dir() / "kamailio_transports_tls.cfg");
  fill_ports(tls);
  replace_all(tls, "@SERVER_CERT@", certs_.server.cert.string());
  replace_all(tls, "@SERVER_KEY@", certs_.server.key.string());
  replace_all(tls, "@EXPIRED_CERT@", certs_.expired.cert.string());
  replace_all(tls, "@EXPIRED_KEY@", certs_.expired.key.string());
  replace_all(tls, "@WRONG_NAME_CERT@", certs_.wrong_name.cert.string());
  replace_all(tls, "@WRONG_NAME_KEY@", certs_.wrong_name.key.string());
  replace_all(tls, "@CA_CERT@", certs_.ca().cert().string());
  write_file(tls_path, tls);

  std::string cfg = read_file(peers_dir() / "kamailio_transports.cfg");
  fill_ports(cfg);
  replace_all(cfg, "@TLS_CFG@", tls_path.string());
  replace_all(cfg, "@AUTH_ALGORITHM@", options_.auth_algorithm);
  replace_all(cfg, "@RUNDIR@", rundir.string());
  write_file(cfg_path, cfg);

  const std::string pname = options_.name + "-" + std::to_string(++generation_);
  std::vector<std::string> argv = {
      kamailio.string(), "-f", cfg_path.string(), "-DD", "-E", "-m", "64", "-M", "8", "-Y",
      rundir.string(),   "-w", rundir.string()};
  ProcessOptions opts;
  opts.cwd = dir_;
  auto p = std::make_unique<Process>(pname, std::move(argv), dir_, opts);
  auto all_bound = [&] {
    for (auto port : ports_.udp_ports()) {
      if (!udp_port_bound(port)) return false;
    }
    for (auto port : ports_.tcp_ports()) {
      if (!tcp_port_listening(port)) return false;
    }
    return true;
  };
  const bool up = wait_until(15s, [&] { return !p->running() || all_bound(); });
  if (!up || !p->running()) {
    throw std::runtime_error(
        "Kamailio (kamailio_transports.cfg) did not bind all its listeners "
        "within 15 s:\n" +
        p->describe());
  }
  process_ = std::move(p);
}

Process& KamailioTransports::process() {
  if (!process_) throw std::runtime_error("Kamailio is not running (killed, not restarted)");
  return *process_;
}

void KamailioTransports::kill() {
  if (!process_) return;
  process_->kill();
  retired_.push_back(std::move(process_));  // keeps its log report for a failing test
  const bool released = wait_until(5s, [&] {
    for (auto port : ports_.udp_ports()) {
      if (udp_port_bound(port)) return false;
    }
    for (auto port : ports_.tcp_ports()) {
      if (tcp_port_listening(port)) return false;
    }
    return true;
  });
  if (!released) throw std::runtime_error("Kamailio killed but its ports are still bound");
}

void KamailioTransports::restart() {
  if (process_) kill();
  start();
}

}  // namespace stx::it
