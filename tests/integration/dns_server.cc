#include "dns_server.h"

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <stdexcept>

namespace fs = std::filesystem;

namespace stx::it {

namespace {

std::string user_name() {
  const passwd* pw = ::getpwuid(::geteuid());
  if (pw == nullptr) throw std::runtime_error("dnsmasq: no passwd entry for the current user");
  return pw->pw_name;
}

std::string group_name() {
  const group* gr = ::getgrgid(::getegid());
  if (gr == nullptr) throw std::runtime_error("dnsmasq: no group entry for the current group");
  return gr->gr_name;
}

std::vector<std::string> zone_args(const DnsZone& zone) {
  std::vector<std::string> args = {"--local-ttl=" + std::to_string(zone.ttl)};
  for (const auto& d : zone.domains) args.push_back("--local=/" + d + "/");
  for (const auto& h : zone.hosts) {
    std::string a = "--host-record=" + h.name;
    if (!h.ipv4.empty()) a += "," + h.ipv4;
    if (!h.ipv6.empty()) a += "," + h.ipv6;
    args.push_back(a + "," + std::to_string(h.ttl.value_or(zone.ttl)));
  }
  for (const auto& s : zone.srv) {
    std::string a = "--srv-host=" + s.name;
    if (!s.target.empty()) {
      a += "," + s.target + "," + std::to_string(s.port) + "," + std::to_string(s.priority) + "," +
           std::to_string(s.weight);
    }
    args.push_back(a);
  }
  for (const auto& n : zone.naptr) {
    args.push_back("--naptr-record=" + n.name + "," + std::to_string(n.order) + "," +
                   std::to_string(n.preference) + "," + n.flags + "," + n.service + "," + n.regexp +
                   "," + n.replacement);
  }
  return args;
}

// A DNS query for `name` (SOA), as sent on the wire.
std::string soa_query(std::uint16_t id, const std::string& name) {
  std::string q = {
      static_cast<char>(id >> 8), static_cast<char>(id & 0xff), 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  std::size_t start = 0;
  while (start < name.size()) {
    auto dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q += static_cast<char>(dot - start);
    q += name.substr(start, dot - start);
    start = dot + 1;
  }
  q += std::string("\0\0\x06\0\x01", 5);  // root, type SOA, class IN
  return q;
}

}  // namespace

DnsServer::DnsServer(fs::path dir, DnsZone zone, std::string_view name)
    : dir_(std::move(dir)), zone_(std::move(zone)), name_(name) {
  // The UDP port was free a moment ago; TCP on it, or a race, can still make dnsmasq exit.
  retry_start(5, [&] {
    port_ = free_udp_port();
    start();
  });
}

DnsServer::~DnsServer() = default;

std::string DnsServer::server() const { return "127.0.0.1:" + std::to_string(port_); }

void DnsServer::start() {
  const fs::path dnsmasq = require_tool("/usr/sbin/dnsmasq");
  const std::string pname = name_ + "-" + std::to_string(++generation_);
  std::vector<std::string> argv = {dnsmasq.string(),
                                   "--keep-in-foreground",
                                   "--conf-file=/dev/null",
                                   "--log-facility=-",
                                   "--log-queries",
                                   "--no-resolv",
                                   "--no-hosts",
                                   "--no-poll",
                                   "--no-negcache",
                                   "--bind-interfaces",
                                   "--listen-address=127.0.0.1",
                                   "--port=" + std::to_string(port_),
                                   "--pid-file=" + (dir_ / (pname + ".pid")).string(),
                                   "--user=" + user_name(),
                                   "--group=" + group_name()};
  for (auto& a : zone_args(zone_)) argv.push_back(std::move(a));
  auto p = std::make_unique<Process>(pname, std::move(argv), dir_);
  bool up = wait_until(10s, [&] { return !p->running() || answers(50ms); });
  if (!up || !p->running()) {
    throw std::runtime_error("dnsmasq did not come up on 127.0.0.1:" + std::to_string(port_) +
                             ": " + p->describe(20));
  }
  process_ = std::move(p);
}

void DnsServer::stop() {
  if (!process_) return;
  process_->stop();
  retired_.push_back(std::move(process_));
}

void DnsServer::restart() {
  stop();
  start();
}

std::string DnsServer::log() const {
  if (process_) return process_->stderr_text();
  return retired_.empty() ? std::string() : retired_.back()->stderr_text();
}

bool DnsServer::answers(Clock::duration timeout) const {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port_);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto id = static_cast<std::uint16_t>(::getpid() ^ generation_);
  const std::string q = soa_query(id, zone_.domains.empty() ? "test" : zone_.domains.front());
  bool ok = false;
  if (::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) ==
      static_cast<ssize_t>(q.size())) {
    const auto deadline = Clock::now() + timeout;
    while (!ok && Clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(1, left.count()))) <= 0) break;
      std::array<unsigned char, 512> buf{};
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n < 0) break;  // e.g. ICMP port unreachable: not up yet
      // Any answer to our id (even REFUSED) shows that it serves queries.
      ok = n >= 12 && (buf[0] << 8 | buf[1]) == id && (buf[2] & 0x80) != 0;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace stx::it
