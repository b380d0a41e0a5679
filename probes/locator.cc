#include "probes/locator.h"

#include <algorithm>
#include <cctype>
#include <unordered_map>

#include <boost/asio/post.hpp>

#include "probes/dns_resolver.h"
#include "probes/rfc3263.h"

namespace stx {

namespace asio = boost::asio;

// ---------------------------------------------------------------------------
// Pure rules (rfc3263.h)

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::optional<Transport> naptr_transport(std::string_view service) {
  if (iequals(service, "SIPS+D2T")) return Transport::tls;
  if (iequals(service, "SIP+D2T")) return Transport::tcp;
  if (iequals(service, "SIP+D2U")) return Transport::udp;
  return std::nullopt;
}

std::vector<NaptrChoice> order_naptr(const std::vector<NaptrRecord>& records) {
  std::vector<const NaptrRecord*> usable;
  for (const NaptrRecord& r : records) {
    if (iequals(r.flags, "s") && naptr_transport(r.service) && !r.replacement.empty() &&
        r.replacement != ".") {
      usable.push_back(&r);
    }
  }
  std::stable_sort(usable.begin(), usable.end(), [](const NaptrRecord* a, const NaptrRecord* b) {
    return std::tie(a->order, a->preference) < std::tie(b->order, b->preference);
  });
  std::vector<NaptrChoice> out;
  for (const NaptrRecord* r : usable) {
    NaptrChoice c{*naptr_transport(r->service), r->replacement};
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
  }
  return out;
}

std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records, std::mt19937_64& rng) {
  std::stable_sort(records.begin(), records.end(),
                   [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  std::vector<SrvRecord> out;
  out.reserve(records.size());
  for (auto group = records.begin(); group != records.end();) {
    const auto group_end = std::find_if(
        group, records.end(), [&](const SrvRecord& r) { return r.priority != group->priority; });
    std::vector<SrvRecord> left(std::make_move_iterator(group), std::make_move_iterator(group_end));
    std::stable_partition(left.begin(), left.end(),
                          [](const SrvRecord& r) { return r.weight == 0; });
    while (!left.empty()) {
      std::uint64_t sum = 0;
      for (const SrvRecord& r : left) sum += r.weight;
      const std::uint64_t draw = std::uniform_int_distribution<std::uint64_t>(0, sum)(rng);
      std::size_t pick = 0;
      for (std::uint64_t running = 0; pick + 1 < left.size(); ++pick) {
        running += left[pick].weight;
        if (running >= draw) break;
      }
      out.push_back(std::move(left[pick]));
      left.erase(left.begin() + static_cast<std::ptrdiff_t>(pick));
    }
    group = group_end;
  }
  return out;
}

std::string srv_name(Transport t, std::string_view host) {
  switch (t) {
    case Transport::tls:
      return "_sips._tcp." + std::string(host);
    case Transport::tcp:
    case Transport::ws:  // RFC 7118 defines no SRV names; never looked up (A/AAAA only)
    case Transport::wss:
      return "_sip._tcp." + std::string(host);
    case Transport::udp:
      break;
  }
  return "_sip._udp." + std::string(host);
}

std::uint16_t default_port(Transport t) {
  switch (t) {
    case Transport::tls:
      return 5061;
    case Transport::ws:  // RFC 7118: WebSocket uses the HTTP ports
      return 80;
    case Transport::wss:
      return 443;
    case Transport::udp:
    case Transport::tcp:
      break;
  }
  return 5060;
}

std::chrono::seconds clamp_ttl(std::chrono::seconds ttl, const DnsSettings& settings) {
  return std::max(settings.min_ttl, std::min(ttl, settings.max_ttl));
}

void remove_duplicates(std::vector<Destination>& destinations) {
  std::vector<Destination> kept;
  kept.reserve(destinations.size());
  for (Destination& d : destinations) {
    if (std::find(kept.begin(), kept.end(), d) == kept.end()) kept.push_back(std::move(d));
  }
  destinations = std::move(kept);
}

std::string to_string(const Destination& d) {
  const std::string host = d.address.to_string();
  return host_for_uri(host, d.address.is_v6() ? HostKind::ipv6 : HostKind::ipv4) + ":" +
         std::to_string(d.port);
}

// ---------------------------------------------------------------------------
// Locator

namespace {

// A name to turn into addresses, and the port and transport its destinations get.
struct HostTarget {
  std::string name;
  std::uint16_t port = 0;
  Transport transport = Transport::udp;
};

int severity(DnsStatus s) {
  switch (s) {
    case DnsStatus::ok:
      return 0;
    case DnsStatus::no_records:
      return 1;
    case DnsStatus::nxdomain:
      return 2;
    case DnsStatus::failed:
      return 3;
  }
  return 3;
}

// A failure of the server (timeout, SERVFAIL) says more than a missing name, which says more
// than a missing type; among equals the first query asked wins.
std::string worst_error(const std::vector<DnsAnswer>& answers) {
  const DnsAnswer* worst = nullptr;
  for (const DnsAnswer& a : answers) {
    if (!a.ok() && (worst == nullptr || severity(a.status) > severity(worst->status))) worst = &a;
  }
  return worst ? worst->error : "no usable DNS records";
}

std::optional<asio::ip::address> ip_literal(const std::string& host) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return a;
}

// The transport the URI asks for: explicit, else ;transport=, else TLS for sips: (which
// allows only tls and wss).
std::optional<Transport> requested_transport(const SipUri& uri, std::optional<Transport> t) {
  if (t) return t;
  if (uri.secure && uri.transport != "wss") return Transport::tls;
  if (uri.transport == "udp") return Transport::udp;
  if (uri.transport == "tcp") return Transport::tcp;
  if (uri.transport == "tls") return Transport::tls;
  if (uri.transport == "ws") return Transport::ws;
  if (uri.transport == "wss") return Transport::wss;
  return std::nullopt;
}

}  // namespace

struct Locator::Impl {
  struct Lookup {
    std::string host;
    Done done;
    std::optional<std::chrono::seconds> ttl;  // smallest TTL of the records used so far

    void use(const DnsAnswer& a) { ttl = ttl ? std::min(*ttl, a.ttl) : a.ttl; }
  };
  using LookupPtr = std::shared_ptr<Lookup>;
  using Answers = std::vector<DnsAnswer>;
  using Then = std::function<void(const Answers&)>;
  // An SRV answer that exists, with the transport it stands for.
  using SrvUse = std::pair<const DnsAnswer*, Transport>;

  Impl(asio::io_context& context, Clock& clock, const DnsSettings& dns)
      : io(context), settings(dns), resolver(context, clock, dns), rng(std::random_device{}()) {}

  void locate(const SipUri& uri, std::optional<Transport> transport, Done done) {
    const auto requested = requested_transport(uri, transport);
    if (auto addr = ip_literal(uri.host)) {
      answer_literal(*addr, uri.port, requested.value_or(Transport::udp), std::move(done));
      return;
    }
    // A name the hosts file knows is a static mapping: no NAPTR/SRV, and no query leaves.
    if (auto hosts = resolver.hosts_file(uri.host); !hosts.empty()) {
      answer_hosts(hosts, uri.port, requested.value_or(Transport::udp), std::move(done));
      return;
    }
    auto lookup = std::make_shared<Lookup>(Lookup{uri.host, std::move(done), std::nullopt});
    if (uri.port != 0) {
      resolve(lookup, {{uri.host, uri.port, requested.value_or(Transport::udp)}});
    } else if (requested) {
      locate_srv(lookup, *requested);
    } else {
      locate_naptr(lookup);
    }
  }

  void cancel_all() {
    token = std::make_shared<int>(0);
    resolver.cancel_all();
  }

  // No DNS; still posted so that `done` never runs inside locate().
  void answer_literal(const asio::ip::address& addr, std::uint16_t port, Transport t, Done done) {
    LocateResult r;
    r.ok = true;
    r.location.destinations.push_back({addr, port != 0 ? port : default_port(t), t});
    asio::post(io, [token = std::weak_ptr<int>(token), done = std::move(done), r = std::move(r)] {
      if (!token.expired()) done(r);
    });
  }

  void answer_hosts(const std::vector<asio::ip::address>& addrs, std::uint16_t port, Transport t,
                    Done done) {
    LocateResult r;
    r.ok = true;
    r.location.from_dns = true;  // read again after the minimum TTL: the file may change
    r.location.ttl = clamp_ttl(std::chrono::seconds(0), settings);
    for (const auto& a : addrs) {
      r.location.destinations.push_back({a, port != 0 ? port : default_port(t), t});
    }
    remove_duplicates(r.location.destinations);
    asio::post(io, [token = std::weak_ptr<int>(token), done = std::move(done), r = std::move(r)] {
      if (!token.expired()) done(r);
    });
  }

  // Runs `queries` at once; `then` gets the answers in the same order when the last arrives.
  void batch(const std::vector<std::pair<DnsType, std::string>>& queries, Then then) {
    struct Batch {
      Answers answers;
      std::size_t left;
      Then then;
    };
    auto b =
        std::make_shared<Batch>(Batch{Answers(queries.size()), queries.size(), std::move(then)});
    for (std::size_t i = 0; i < queries.size(); ++i) {
      resolver.query(queries[i].first, queries[i].second, [b, i](const DnsAnswer& a) {
        b->answers[i] = a;
        if (--b->left == 0) b->then(b->answers);
      });
    }
  }

  // Hostname without port, transport known: its SRV, else its A/AAAA on the default port.
  // WebSocket has no SRV names (RFC 7118): A/AAAA on the HTTP port right away.
  void locate_srv(const LookupPtr& lookup, Transport t) {
    if (t == Transport::ws || t == Transport::wss) {
      resolve(lookup, {{lookup->host, default_port(t), t}});
      return;
    }
    batch({{DnsType::srv, srv_name(t, lookup->host)}}, [this, lookup, t](const Answers& a) {
      if (a[0].ok()) return follow_srv(lookup, {{&a[0], t}});
      if (a[0].status == DnsStatus::failed) return fail(lookup, a[0].error);
      resolve(lookup, {{lookup->host, default_port(t), t}});
    });
  }

  // Hostname without port or transport: NAPTR, else the three SRVs, else A/AAAA.
  void locate_naptr(const LookupPtr& lookup) {
    batch({{DnsType::naptr, lookup->host}}, [this, lookup](const Answers& a) {
      const DnsAnswer& naptr = a[0];
      if (naptr.status == DnsStatus::failed) return fail(lookup, naptr.error);
      auto choices = naptr.ok() ? order_naptr(naptr.naptr) : std::vector<NaptrChoice>{};
      // NAPTR records for other services only are as good as none (RFC 3263 4.1).
      if (choices.empty()) return locate_all_srv(lookup);
      lookup->use(naptr);
      std::vector<std::pair<DnsType, std::string>> queries;
      queries.reserve(choices.size());
      for (const NaptrChoice& c : choices) queries.emplace_back(DnsType::srv, c.srv_name);
      batch(queries, [this, lookup, choices = std::move(choices)](const Answers& srvs) {
        std::vector<SrvUse> used;
        for (std::size_t i = 0; i < srvs.size(); ++i) {
          if (srvs[i].ok()) used.emplace_back(&srvs[i], choices[i].transport);
        }
        if (used.empty()) return fail(lookup, worst_error(srvs));
        follow_srv(lookup, used);
      });
    });
  }

  void locate_all_srv(const LookupPtr& lookup) {
    static constexpr Transport kOrder[] = {Transport::tls, Transport::tcp, Transport::udp};
    std::vector<std::pair<DnsType, std::string>> queries;
    for (Transport t : kOrder) queries.emplace_back(DnsType::srv, srv_name(t, lookup->host));
    batch(queries, [this, lookup](const Answers& srvs) {
      std::vector<SrvUse> used;
      bool failed = false;
      for (std::size_t i = 0; i < srvs.size(); ++i) {
        if (srvs[i].ok()) used.emplace_back(&srvs[i], kOrder[i]);
        failed = failed || srvs[i].status == DnsStatus::failed;
      }
      if (!used.empty()) return follow_srv(lookup, used);
      // A server that did not answer may hold SRV records: do not guess past it.
      if (failed) return fail(lookup, worst_error(srvs));
      resolve(lookup, {{lookup->host, 5060, Transport::udp}});
    });
  }

  void follow_srv(const LookupPtr& lookup, const std::vector<SrvUse>& used) {
    std::vector<HostTarget> targets;
    for (const auto& [answer, t] : used) {
      lookup->use(*answer);
      for (SrvRecord& r : order_srv(answer->srv, rng)) {
        // Target "." means the service is decidedly not offered (RFC 2782).
        if (!r.target.empty()) targets.push_back({std::move(r.target), r.port, t});
      }
    }
    if (targets.empty()) {
      return fail(lookup, "SRV " + srv_name(used.front().second, lookup->host) +
                              ": service not offered (target \".\")");
    }
    resolve(lookup, targets);
  }

  // A then AAAA for each target, in target order. A first like most SIP stacks: IPv4 paths to
  // carriers are the ones known to work; a peer wanting IPv6 first can say so with SRV/NAPTR.
  void resolve(const LookupPtr& lookup, std::vector<HostTarget> targets) {
    std::vector<std::pair<DnsType, std::string>> queries;
    std::unordered_map<std::string, std::size_t> first_query;  // name -> index of its A query
    for (const HostTarget& t : targets) {
      if (ip_literal(t.name) || first_query.contains(t.name)) continue;
      first_query.emplace(t.name, queries.size());
      queries.emplace_back(DnsType::a, t.name);
      queries.emplace_back(DnsType::aaaa, t.name);
    }
    if (queries.empty()) return finish_literals(lookup, targets);
    batch(queries, [this, lookup, targets = std::move(targets),
                    first_query = std::move(first_query)](const Answers& answers) {
      std::vector<Destination> out;
      for (const HostTarget& t : targets) {
        if (auto addr = ip_literal(t.name)) {
          out.push_back({*addr, t.port, t.transport});
          continue;
        }
        const std::size_t i = first_query.at(t.name);
        for (const DnsAnswer* a : {&answers[i], &answers[i + 1]}) {
          if (!a->ok()) continue;
          lookup->use(*a);
          for (const auto& addr : a->addresses) out.push_back({addr, t.port, t.transport});
        }
      }
      if (out.empty()) return fail(lookup, worst_error(answers));
      succeed(lookup, std::move(out));
    });
  }

  // SRV targets written as IP addresses (not standard, but seen): no query needed.
  void finish_literals(const LookupPtr& lookup, const std::vector<HostTarget>& targets) {
    std::vector<Destination> out;
    out.reserve(targets.size());
    for (const HostTarget& t : targets) out.push_back({*ip_literal(t.name), t.port, t.transport});
    succeed(lookup, std::move(out));
  }

  // Both run from a resolver answer, never inside locate(). `done` may destroy the Locator:
  // nothing touches `this` after it.
  void succeed(const LookupPtr& lookup, std::vector<Destination> destinations) {
    remove_duplicates(destinations);
    LocateResult r;
    r.ok = true;
    r.location.destinations = std::move(destinations);
    r.location.ttl = clamp_ttl(lookup->ttl.value_or(settings.min_ttl), settings);
    r.location.from_dns = true;
    const Done done = std::move(lookup->done);
    done(r);
  }

  static void fail(const LookupPtr& lookup, std::string error) {
    LocateResult r;
    r.error = std::move(error);
    const Done done = std::move(lookup->done);
    done(r);
  }

  asio::io_context& io;
  DnsSettings settings;
  DnsResolver resolver;
  std::mt19937_64 rng;
  std::shared_ptr<int> token = std::make_shared<int>(0);  // replaced by cancel_all()
};

Locator::Locator(boost::asio::io_context& io, const DnsSettings& settings, Clock* clock)
    : own_clock_(clock != nullptr ? nullptr : std::make_unique<AsioClock>(io)),
      impl_(std::make_unique<Impl>(io, clock != nullptr ? *clock : *own_clock_, settings)) {}

Locator::~Locator() = default;

void Locator::locate(const SipUri& uri, std::optional<Transport> transport, Done done) {
  impl_->locate(uri, transport, std::move(done));
}

void Locator::cancel_all() { impl_->cancel_all(); }

}  // namespace stx
