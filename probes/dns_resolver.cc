#include "probes/dns_resolver.h"

#include <ares.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <unordered_map>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

namespace stx {

namespace {

namespace asio = boost::asio;

// Per try; c-ares doubles it on each round over the servers, so one server that never answers
// costs 2 s + 4 s. A second try covers one lost datagram; more would only delay the verdict
// past a probe interval, and the locator keeps its last good answer meanwhile.
constexpr int kTimeoutMs = 2000;
constexpr int kTries = 2;
// ares_parse_a_reply fills a caller's array; more addresses than this for one name are ignored.
constexpr int kMaxAddresses = 32;
// c-ares 1.18 reads all answers of a server through one UDP socket. Hundreds of queries at once
// (every target located at start) overflow its receive buffer and cost a retransmission
// timeout, so queries beyond this many wait in a queue instead.
constexpr std::size_t kMaxInFlight = 64;

int ares_type(DnsType t) {
  switch (t) {
    case DnsType::naptr:
      return ns_t_naptr;
    case DnsType::srv:
      return ns_t_srv;
    case DnsType::a:
      return ns_t_a;
    case DnsType::aaaa:
      return ns_t_aaaa;
  }
  return ns_t_a;
}

DnsStatus status_of(int ares_status) {
  switch (ares_status) {
    case ARES_SUCCESS:
      return DnsStatus::ok;
    case ARES_ENOTFOUND:
      return DnsStatus::nxdomain;
    case ARES_ENODATA:
      return DnsStatus::no_records;
    default:
      return DnsStatus::failed;
  }
}

std::string reason_of(int ares_status) {
  switch (ares_status) {
    case ARES_ENOTFOUND:
      return "NXDOMAIN";
    case ARES_ENODATA:
      return "no records";
    case ARES_ETIMEOUT:
      return "timeout";
    case ARES_ESERVFAIL:
      return "SERVFAIL";
    case ARES_EREFUSED:
      return "REFUSED";
    case ARES_ENOTIMP:
      return "NOTIMP";
    case ARES_EFORMERR:
      return "FORMERR";
    case ARES_ECONNREFUSED:
      return "connection refused";
    case ARES_EBADRESP:
      return "malformed answer";
    default:
      return ares_strerror(ares_status);
  }
}

std::string text(const unsigned char* s) { return s ? reinterpret_cast<const char*>(s) : ""; }
std::string text(const char* s) { return s ? s : ""; }

// Root names come back as "" or "."; callers test for "" only.
std::string domain(const char* s) {
  std::string d = text(s);
  return d == "." ? std::string() : d;
}

int parse_naptr(const unsigned char* buf, int len, DnsAnswer& out) {
  ares_naptr_reply* reply = nullptr;
  const int rc = ares_parse_naptr_reply(buf, len, &reply);
  if (rc != ARES_SUCCESS) return rc;
  for (const ares_naptr_reply* r = reply; r != nullptr; r = r->next) {
    out.naptr.push_back({r->order, r->preference, text(r->flags), text(r->service), text(r->regexp),
                         domain(r->replacement)});
  }
  ares_free_data(reply);
  return ARES_SUCCESS;
}

int parse_srv(const unsigned char* buf, int len, DnsAnswer& out) {
  ares_srv_reply* reply = nullptr;
  const int rc = ares_parse_srv_reply(buf, len, &reply);
  if (rc != ARES_SUCCESS) return rc;
  for (const ares_srv_reply* r = reply; r != nullptr; r = r->next) {
    out.srv.push_back({r->priority, r->weight, r->port, domain(r->host)});
  }
  ares_free_data(reply);
  return ARES_SUCCESS;
}

int parse_a(const unsigned char* buf, int len, DnsAnswer& out) {
  std::array<ares_addrttl, kMaxAddresses> ttls{};
  int n = static_cast<int>(ttls.size());
  const int rc = ares_parse_a_reply(buf, len, nullptr, ttls.data(), &n);
  if (rc != ARES_SUCCESS) return rc;
  for (int i = 0; i < n; ++i) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), &ttls[i].ipaddr, b.size());
    out.addresses.emplace_back(asio::ip::address_v4(b));
  }
  return ARES_SUCCESS;
}

int parse_aaaa(const unsigned char* buf, int len, DnsAnswer& out) {
  std::array<ares_addr6ttl, kMaxAddresses> ttls{};
  int n = static_cast<int>(ttls.size());
  const int rc = ares_parse_aaaa_reply(buf, len, nullptr, ttls.data(), &n);
  if (rc != ARES_SUCCESS) return rc;
  for (int i = 0; i < n; ++i) {
    asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), ttls[i].ip6addr._S6_un._S6_u8, b.size());
    out.addresses.emplace_back(asio::ip::address_v6(b));
  }
  return ARES_SUCCESS;
}

DnsAnswer make_answer(DnsType type, const std::string& name, int status, const unsigned char* buf,
                      int len) {
  DnsAnswer a;
  if (status == ARES_SUCCESS) {
    switch (type) {
      case DnsType::naptr:
        status = parse_naptr(buf, len, a);
        break;
      case DnsType::srv:
        status = parse_srv(buf, len, a);
        break;
      case DnsType::a:
        status = parse_a(buf, len, a);
        break;
      case DnsType::aaaa:
        status = parse_aaaa(buf, len, a);
        break;
    }
    // An answer holding only other types (a CNAME without its target) has no records.
    if (status == ARES_SUCCESS && a.naptr.empty() && a.srv.empty() && a.addresses.empty()) {
      status = ARES_ENODATA;
    }
  }
  a.status = status_of(status);
  if (a.ok()) {
    a.ttl = std::chrono::seconds(min_answer_ttl(buf, len).value_or(0));
  } else {
    a.error = std::string(to_string(type)) + " " + name + ": " + reason_of(status);
  }
  return a;
}

std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

std::uint32_t be32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// Advances `pos` past the (possibly compressed) name there; false when it is malformed.
bool skip_name(const unsigned char* msg, int len, int& pos) {
  char* name = nullptr;
  long used = 0;
  if (ares_expand_name(msg + pos, msg, len, &name, &used) != ARES_SUCCESS) return false;
  ares_free_string(name);
  pos += static_cast<int>(used);
  return used > 0 && pos <= len;
}

struct HostPort {
  std::string_view host;
  std::optional<std::string_view> port;
  bool bracketed = false;
};

// "ip", "ip:port", "[v6]", "[v6]:port" or a bare IPv6 address; nullopt when malformed.
std::optional<HostPort> split_server(std::string_view s) {
  if (s.starts_with('[')) {
    const auto close = s.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = s.substr(close + 1);
    if (rest.empty()) return HostPort{s.substr(1, close - 1), std::nullopt, true};
    if (!rest.starts_with(':')) return std::nullopt;
    return HostPort{s.substr(1, close - 1), rest.substr(1), true};
  }
  if (std::count(s.begin(), s.end(), ':') == 1) {
    const auto colon = s.find(':');
    return HostPort{s.substr(0, colon), s.substr(colon + 1), false};
  }
  return HostPort{s, std::nullopt, false};
}

ares_addr_port_node parse_server(const std::string& entry) {
  const std::string bad = "dns server \"" + entry + "\": ";
  const auto parts = split_server(entry);
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(std::string(parts ? parts->host : ""), ec);
  if (!parts || ec) throw std::invalid_argument(bad + "expected ip, ip:port or [ipv6]:port");
  if (parts->bracketed && !addr.is_v6()) {
    throw std::invalid_argument(bad + "brackets are for IPv6 addresses");
  }
  int p = 0;  // 0: port 53
  if (parts->port) {
    const std::string_view port = *parts->port;
    const auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (err != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      throw std::invalid_argument(bad + "port must be 1-65535");
    }
  }
  ares_addr_port_node node{};
  node.udp_port = p;
  node.tcp_port = p;
  if (addr.is_v4()) {
    node.family = AF_INET;
    const auto b = addr.to_v4().to_bytes();
    std::memcpy(&node.addr.addr4, b.data(), b.size());
  } else {
    node.family = AF_INET6;
    const auto b = addr.to_v6().to_bytes();
    std::memcpy(node.addr.addr6._S6_un._S6_u8, b.data(), b.size());
  }
  return node;
}

int library_init() {
  static const int rc = ares_library_init(ARES_LIB_INIT_ALL);
  return rc;
}

}  // namespace

std::string_view to_string(DnsType t) {
  switch (t) {
    case DnsType::naptr:
      return "NAPTR";
    case DnsType::srv:
      return "SRV";
    case DnsType::a:
      return "A";
    case DnsType::aaaa:
      return "AAAA";
  }
  return "?";
}

std::optional<std::uint32_t> min_answer_ttl(const unsigned char* msg, int len) {
  constexpr int kHeader = 12;
  if (msg == nullptr || len < kHeader) return std::nullopt;
  const int questions = be16(msg + 4);
  const int answers = be16(msg + 6);
  int pos = kHeader;
  for (int i = 0; i < questions; ++i) {
    if (!skip_name(msg, len, pos) || len - pos < 4) return std::nullopt;
    pos += 4;  // type, class
  }
  std::optional<std::uint32_t> best;
  for (int i = 0; i < answers; ++i) {
    if (!skip_name(msg, len, pos) || len - pos < 10) return std::nullopt;
    std::uint32_t ttl = be32(msg + pos + 4);
    const int rdlength = be16(msg + pos + 8);
    pos += 10;
    if (len - pos < rdlength) return std::nullopt;
    pos += rdlength;
    if (ttl & 0x80000000u) ttl = 0;
    best = best ? std::min(*best, ttl) : ttl;
  }
  return best;
}

// ---------------------------------------------------------------------------

struct DnsResolver::Impl {
  enum class Dir { read, write };

  // One c-ares socket. c-ares owns the fd: the descriptor is released, never closed.
  struct Watch {
    Watch(asio::io_context& io, int f) : sd(io), fd(f) {}
    asio::posix::stream_descriptor sd;
    int fd;
    bool want_read = false;
    bool want_write = false;
    bool reading = false;  // a wait or a processing round is outstanding
    bool writing = false;
    bool closed = false;
  };

  struct Query {
    Impl* impl;
    DnsType type;
    std::string name;
    Done done;
  };

  Impl(asio::io_context& context, Clock& clock_in, const DnsSettings& settings)
      : io(context), clock(clock_in), timer(clock.make_alarm([this] {
          timer_armed = false;
          ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
          submit_waiting();
        })) {
    std::vector<ares_addr_port_node> servers;
    for (const auto& s : settings.servers) servers.push_back(parse_server(s));
    for (std::size_t i = 0; i + 1 < servers.size(); ++i) servers[i].next = &servers[i + 1];

    if (const int rc = library_init(); rc != ARES_SUCCESS) {
      throw std::runtime_error(std::string("c-ares library init: ") + ares_strerror(rc));
    }
    ares_options opts{};
    opts.timeout = kTimeoutMs;
    opts.tries = kTries;
    opts.sock_state_cb = &Impl::on_sock_state;
    opts.sock_state_cb_data = this;
    const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB;
    if (const int rc = ares_init_options(&channel, &opts, mask); rc != ARES_SUCCESS) {
      throw std::runtime_error(std::string("c-ares init: ") + ares_strerror(rc));
    }
    if (!servers.empty()) {
      if (const int rc = ares_set_servers_ports(channel, servers.data()); rc != ARES_SUCCESS) {
        ares_destroy(channel);
        throw std::runtime_error(std::string("c-ares servers: ") + ares_strerror(rc));
      }
    }
  }

  ~Impl() {
    alive.reset();
    // Calls every pending callback with ARES_EDESTRUCTION (dropped in on_answer) and the
    // socket callback with (0, 0) for each socket, which releases the descriptors.
    ares_destroy(channel);
  }

  void query(DnsType type, const std::string& name, Done done) {
    waiting.push_back(std::make_unique<Query>(Query{this, type, name, std::move(done)}));
    submit_waiting();
  }

  // A query failing at once (no socket) calls on_answer inside ares_query, which frees its
  // slot: the loop goes on.
  void submit_waiting() {
    while (in_flight < kMaxInFlight && !waiting.empty()) {
      Query* q = waiting.front().release();
      waiting.pop_front();
      ++in_flight;
      ares_query(channel, q->name.c_str(), ns_c_in, ares_type(q->type), &Impl::on_answer, q);
    }
    reschedule_timer();
  }

  void cancel_all() {
    ++epoch;  // answers already posted
    waiting.clear();
    ares_cancel(channel);  // queries in flight
    stop_timer();
  }

  // An idle resolver leaves no work on the io_context, so that run() can return.
  void stop_timer() {
    if (!timer_armed) return;
    timer_armed = false;
    timer->cancel();
  }

  static void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* buf, int len) {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    Impl* self = q->impl;
    --self->in_flight;  // refilled by submit_waiting() once c-ares has returned
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
    // Posted: c-ares callbacks must not re-enter the channel's teardown, and callers get
    // their answer outside of query().
    asio::post(self->io, [self, alive = std::weak_ptr<int>(self->alive), epoch = self->epoch,
                          done = std::move(q->done),
                          answer = make_answer(q->type, q->name, status, buf, len)] {
      if (alive.expired() || self->epoch != epoch) return;
      done(answer);
    });
  }

  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<Impl*>(data)->sock_state(fd, readable != 0, writable != 0);
  }

  void sock_state(int fd, bool readable, bool writable) {
    auto it = watches.find(fd);
    if (!readable && !writable) {
      if (it == watches.end()) return;
      auto w = std::move(it->second);
      watches.erase(it);
      w->closed = true;
      if (w->sd.is_open()) w->sd.release();  // cancels its waits; c-ares closes the fd next
      return;
    }
    if (it == watches.end()) {
      auto w = std::make_shared<Watch>(io, fd);
      boost::system::error_code ec;
      w->sd.assign(fd, ec);
      // Without a watch the query ends by c-ares' own timeout: nothing better to do here.
      if (ec) return;
      it = watches.emplace(fd, std::move(w)).first;
    }
    const std::shared_ptr<Watch> w = it->second;
    w->want_read = readable;
    w->want_write = writable;
    schedule(w, Dir::read);
    schedule(w, Dir::write);
  }

  static bool ready_now(int fd, Dir dir) {
    pollfd p{fd, static_cast<short>(dir == Dir::read ? POLLIN : POLLOUT), 0};
    return ::poll(&p, 1, 0) > 0 && p.revents != 0;
  }

  // Asio's reactor is edge-triggered and c-ares may leave data unread (TCP reads one chunk
  // per call), so readiness is checked with poll() before each wait.
  void schedule(const std::shared_ptr<Watch>& w, Dir dir) {
    bool& busy = dir == Dir::read ? w->reading : w->writing;
    const bool want = dir == Dir::read ? w->want_read : w->want_write;
    if (busy || w->closed || !want) return;
    busy = true;
    auto handler = [this, alive = std::weak_ptr<int>(alive), w,
                    dir](const boost::system::error_code& ec) {
      if (alive.expired()) return;
      on_ready(w, dir, ec);
    };
    if (ready_now(w->fd, dir)) {
      asio::post(io, [handler = std::move(handler)] { handler({}); });
    } else {
      w->sd.async_wait(dir == Dir::read ? asio::posix::stream_descriptor::wait_read
                                        : asio::posix::stream_descriptor::wait_write,
                       std::move(handler));
    }
  }

  void on_ready(const std::shared_ptr<Watch>& w, Dir dir, const boost::system::error_code& ec) {
    (dir == Dir::read ? w->reading : w->writing) = false;
    if (ec || w->closed) return;
    ares_process_fd(channel, dir == Dir::read ? w->fd : ARES_SOCKET_BAD,
                    dir == Dir::write ? w->fd : ARES_SOCKET_BAD);
    schedule(w, dir);
    submit_waiting();
  }

  // Keeps one timer wait at or before c-ares' next retransmission or timeout.
  void reschedule_timer() {
    timeval tv{};
    if (ares_timeout(channel, nullptr, &tv) == nullptr) {  // nothing in flight
      stop_timer();
      return;
    }
    const TimePoint deadline =
        clock.now() + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    if (timer_armed && timer_expiry <= deadline) return;
    timer_armed = true;
    timer_expiry = deadline;
    timer->set(deadline);
  }

  asio::io_context& io;
  Clock& clock;
  ares_channel channel = nullptr;
  std::unique_ptr<Alarm> timer;  // destroyed (cancelled) before the channel it serves
  bool timer_armed = false;
  TimePoint timer_expiry;
  std::unordered_map<int, std::shared_ptr<Watch>> watches;
  std::shared_ptr<int> alive = std::make_shared<int>(0);  // handlers hold a weak_ptr
  std::uint64_t epoch = 0;                                // bumped by cancel_all()
  std::deque<std::unique_ptr<Query>> waiting;             // beyond kMaxInFlight
  std::size_t in_flight = 0;                              // handed to c-ares
};

DnsResolver::DnsResolver(boost::asio::io_context& io, Clock& clock, const DnsSettings& settings)
    : impl_(std::make_unique<Impl>(io, clock, settings)) {}

DnsResolver::~DnsResolver() = default;

void DnsResolver::query(DnsType type, const std::string& name, Done done) {
  impl_->query(type, name, std::move(done));
}

void DnsResolver::cancel_all() { impl_->cancel_all(); }

std::vector<boost::asio::ip::address> DnsResolver::hosts_file(const std::string& name) {
  std::vector<boost::asio::ip::address> out;
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const int family : {AF_INET, AF_INET6}) {
    hostent* host = nullptr;
    if (ares_gethostbyname_file(impl_->channel, name.c_str(), family, &host) != ARES_SUCCESS ||
        host == nullptr) {
      continue;
    }
    for (char** a = host->h_addr_list; a != nullptr && *a != nullptr; ++a) {
      if (family == AF_INET) {
        boost::asio::ip::address_v4::bytes_type b;
        std::memcpy(b.data(), *a, b.size());
        out.emplace_back(boost::asio::ip::address_v4(b));
      } else {
        boost::asio::ip::address_v6::bytes_type b;
        std::memcpy(b.data(), *a, b.size());
        out.emplace_back(boost::asio::ip::address_v6(b));
      }
    }
    ares_free_hostent(host);
  }
  if (out.empty() && (lower == "localhost" || lower.ends_with(".localhost"))) {
    out.emplace_back(boost::asio::ip::address_v4::loopback());
    out.emplace_back(boost::asio::ip::address_v6::loopback());
  }
  return out;
}

}  // namespace stx
