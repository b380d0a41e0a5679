// UDP exchanges: routing (our Via address), sending with Timer E retransmissions, and
// matching datagrams and ICMP errors to the address whose probe they answer.
#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

#include "probes/exchange_session.h"
#include "sip/keepalive.h"

namespace stx {
namespace {

bool is_unreachable_errno(int e) {
  return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN ||
         e == ENONET || e == EACCES || e == EPERM;
}

// strerror is not thread-safe (the web server has its own thread); this is.
std::string errno_text(int e) { return std::system_category().message(e); }

}  // namespace

std::size_t Exchanges::AddressKeyHash::operator()(const AddressKey& k) const {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : k.addr) h = (h ^ c) * 1099511628211ull;
  h = (h ^ k.port) * 1099511628211ull;
  return static_cast<std::size_t>(h);
}

Exchanges::AddressKey Exchanges::key_of(const UdpEndpoint& e) {
  AddressKey k;
  const auto a = e.address();
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::memcpy(k.addr.data(), b.data(), b.size());
  } else {
    const auto b = a.to_v6().to_bytes();
    std::memcpy(k.addr.data(), b.data(), b.size());
  }
  k.port = e.port();
  return k;
}

std::error_code Exchanges::udp_route(Session& s, TimePoint now) {
  const UdpEndpoint remote(s.dest.address, s.dest.port);
  std::optional<UdpEndpoint> source;
  if (const auto addr = source_address_of(s.cfg(), remote.address().is_v6())) {
    source = UdpEndpoint(*addr, s.cfg().shared->source_port);
  }
  std::error_code ec;
  s.socket = udp_.socket_for(remote, source ? &*source : nullptr, ec);
  if (!s.socket) return ec ? ec : std::make_error_code(std::errc::bad_file_descriptor);
  const auto local = udp_.local_endpoint_for(*s.socket, remote, ec);
  if (!local) return ec ? ec : std::make_error_code(std::errc::network_unreachable);
  s.routed_at = now;
  s.local = udp_identity(s.target->from_user(), sent_by_of(local->address(), local->port()));
  return {};
}

std::shared_ptr<const LocalIdentity> Exchanges::udp_identity(std::string_view from_user,
                                                             std::string sent_by) {
  std::string key(from_user);
  key.append(1, '@').append(sent_by);
  return udp_identities_.get(key, [&] {
    return identity_of(from_user, std::move(sent_by), std::nullopt, false);  // no sips:
  });
}

void Exchanges::udp_send(std::uint32_t address) {
  if (!sessions_[address]->registered) link_remote(address);
  if (batching_ && udp_.batch_full()) {
    // A full batch leaves now, and this request starts the next: one system call a batch,
    // not one a request past it, when a wakeup starts more probes than a batch holds.
    const std::uint64_t tx = open_tx_[address];
    flush_sends();
    batching_ = true;
    if (open_tx_[address] != tx) return;  // an outcome of that batch ended this probe
  }
  Session& s = *sessions_[address];
  if (batching_ && queue_send(s, address, false)) return;  // flush_sends() times it
  // The clock is read per send, not per wakeup: one wakeup may send hundreds of probes
  // after a stall, and each RTT must start when its own request left.
  s.tx().first_sent = s_.clock.now();
  const std::uint64_t tx = open_tx_[address];
  const int error = udp_.send(*s.socket, s.remote(), s.in_flight->request);
  // An ICMP report read during the send may have ended this probe, or closed the address.
  if (open_tx_[address] != tx) return;
  udp_sent(address, error, s_.clock.now());
}

bool Exchanges::queue_send(Session& s, std::uint32_t address, bool retransmit) {
  // A full batch, another socket, a large request: that one leaves on its own, now.
  if (!udp_.queue(*s.socket, s.remote(), s.in_flight->request)) return false;
  queued_sends_.push_back({address, retransmit, tx_key(s.generation, s.tx().seq)});
  return true;
}

void Exchanges::flush_sends() {
  batching_ = false;  // what the outcomes below start leaves at once
  if (queued_sends_.empty()) return;
  const TimePoint at = s_.clock.now();  // when the batch leaves: RTTs start here
  udp_.flush(send_errors_);
  const TimePoint left = s_.clock.now();  // when it has left: Timer E starts here
  for (std::size_t i = 0; i < queued_sends_.size(); ++i) {
    const QueuedSend q = queued_sends_[i];
    if (open_tx_[q.address] != q.tx) continue;  // ended, or closed, since it was queued
    Session& s = *sessions_[q.address];
    if (q.retransmit) {
      if (send_errors_[i] == 0) ++s.tx().transmissions;
      continue;
    }
    s.tx().first_sent = at;
    udp_sent(q.address, send_errors_[i], left);
  }
  queued_sends_.clear();
}

void Exchanges::udp_sent(std::uint32_t address, int error, TimePoint left) {
  Session& s = *sessions_[address];
  if (error != 0) {
    fail(address, is_unreachable_errno(error) ? FailureReason::refused : FailureReason::send_error,
         errno_text(error), left);
    return;
  }
  Transaction& tx = s.tx();
  ++tx.transmissions;
  tx.timer_e = kT1;
  // Timer E runs from a clock read once the send has returned, not from the wakeup nor from
  // the read before the send (the RTT's start): on a loaded machine the process can lose the
  // CPU between a read and the send for tens of milliseconds, and a retransmission must never
  // be early.
  s_.timers.push({left + tx.timer_e, address, s.generation, tx.seq, TimerKind::retransmit});
}

void Exchanges::udp_retransmit(std::uint32_t address, TimePoint due) {
  Session& s = *sessions_[address];
  Transaction& t = s.tx();
  if (due >= t.deadline) return;  // the timeout ends the probe first
  // Timer A (RFC 3261 17.1.1.2): a call's request stops at its first
  // provisional, else doubles.
  if (s.call && t.provisional_seen) return;
  t.timer_e = s.call ? t.timer_e * 2 : next_timer_e(t.timer_e, t.provisional_seen);
  s_.timers.push({due + t.timer_e, address, s.generation, t.seq, TimerKind::retransmit});
  if (batching_ && queue_send(s, address, true)) return;  // counted at the flush
  // A failed retransmission is not fatal: the next one or the timeout decides.
  const std::uint64_t tx = open_tx_[address];
  const int error = udp_.send(*s.socket, s.remote(), s.in_flight->request);
  // An ICMP report read during the send may have ended this probe, or closed the address.
  if (error == 0 && open_tx_[address] == tx) ++s.tx().transmissions;
}

std::size_t Exchanges::remote_bucket(const AddressKey& k) const {
  return AddressKeyHash{}(k) & (remote_buckets_.size() - 1);
}

void Exchanges::link_remote(std::uint32_t address) {
  if (remote_count_ + 1 > remote_buckets_.size()) grow_remote_buckets();
  Session& s = *sessions_[address];
  std::uint32_t& head = remote_buckets_[remote_bucket(key_of(s.remote()))];
  s.remote_prev = kNoAddress;
  s.remote_next = head;
  if (head != kNoAddress) sessions_[head]->remote_prev = address;
  head = address;
  s.registered = true;
  ++remote_count_;
}

void Exchanges::unlink_remote(std::uint32_t address) {
  Session& s = *sessions_[address];
  if (s.remote_prev != kNoAddress) {
    sessions_[s.remote_prev]->remote_next = s.remote_next;
  } else {
    remote_buckets_[remote_bucket(key_of(s.remote()))] = s.remote_next;
  }
  if (s.remote_next != kNoAddress) sessions_[s.remote_next]->remote_prev = s.remote_prev;
  s.registered = false;
  --remote_count_;
}

// Twice the buckets, at least 64, and every linked address chained again: amortized
// constant time per address, as a hash table's rehash.
void Exchanges::grow_remote_buckets() {
  remote_buckets_.assign(std::max<std::size_t>(64, remote_buckets_.size() * 2), kNoAddress);
  remote_count_ = 0;
  for (std::uint32_t a = 0; a < sessions_.size(); ++a) {
    if (sessions_[a] && sessions_[a]->registered) link_remote(a);
  }
}

void Exchanges::on_datagram(const UdpEndpoint& from, std::string_view data, bool truncated,
                            TimePoint received) {
  const Destination sender{from.address(), from.port(), Transport::udp};
  if (truncated) {
    s_.sink.invalid_message("too_large", DropOrigin{sender, {}});
    return;
  }
  if (is_keepalive_datagram(data)) return;  // expected traffic, not a broken message
  SipResponse r;
  if (!parse_or_count(data, r, sender)) return;
  const auto slot = slot_from_branch(r.via_branch);
  if (!slot || *slot >= sessions_.size() || !sessions_[*slot]) {
    s_.sink.unmatched_response(to_string(slot ? Match::no_open_probe : Match::wrong_branch),
                               DropOrigin{sender, r.call_id});
    return;
  }
  Session& s = *sessions_[*slot];
  const bool same_source =
      s.dest.transport == Transport::udp && s.socket.has_value() && from == s.remote();
  const Match m = s.match(r, same_source);
  if (m != Match::ok) {
    if (call_straggler(*slot, r, same_source, received)) return;
    s_.sink.unmatched_response(to_string(m), DropOrigin{sender, r.call_id});
    return;
  }
  on_response(*slot, r, data, received);
}

// An ICMP error answered the open probe of `address`: it quotes the request, so the request
// left even when the batch that carried it has not been counted yet.
void Exchanges::refuse(std::uint32_t address, int error, TimePoint now) {
  Transaction& tx = sessions_[address]->tx();
  tx.transmissions = std::max(tx.transmissions, 1);
  fail(address, FailureReason::refused, errno_text(error), now);
}

void Exchanges::on_transport_error(const UdpEndpoint& dest, std::string_view original, int error) {
  if (!is_unreachable_errno(error)) return;
  const TimePoint now = s_.clock.now();
  // The error quotes the datagram that caused it; its Via branch names the probe.
  const auto pos = original.find(";branch=");
  if (pos != std::string_view::npos) {
    const auto branch = original.substr(pos + 8, kBranchLength);
    const auto slot = slot_from_branch(branch);
    if (slot && *slot < sessions_.size() && sessions_[*slot]) {
      Session& s = *sessions_[*slot];
      if (s.tx_open() && s.tx().branch_view() == branch && s.remote() == dest) {
        refuse(*slot, error, now);
      }
      return;
    }
  }
  // A short quote without the branch: every open probe to that address is refused.
  std::vector<std::uint32_t> hit;
  if (!remote_buckets_.empty()) {
    const AddressKey key = key_of(dest);
    for (std::uint32_t a = remote_buckets_[remote_bucket(key)]; a != kNoAddress;
         a = sessions_[a]->remote_next) {
      const Session& s = *sessions_[a];
      if (s.tx_open() && key_of(s.remote()) == key) hit.push_back(a);
    }
  }
  // Failing a probe can end a one-shot target and change the map: act after the walk.
  for (const std::uint32_t address : hit) {
    if (sessions_[address] && sessions_[address]->tx_open()) refuse(address, error, now);
  }
}

}  // namespace stx
