// The event loop: one alarm for the earliest timer, coalesced wakeups, and the dispatch of
// timer entries to the checker (start, timeout) or the exchanges (retransmit, keepalive,
// pong_due).
#include "probes/engine.h"

#include <algorithm>

#include "probes/udp_transport.h"

namespace stx {
namespace {

// The event loop wakes at most once per gap for timers (a probe starts at most this late).
constexpr std::chrono::microseconds kWakeGap{250};
// Under load a wakeup costs several probes: its context switch, system calls and cold caches. A
// wakeup that finds this many timers due also starts the probes due within the lookahead, up to
// that much early, so the next wakeup comes that much later. Only starts run early; a deadline
// (timeout, retransmission) never does, and a start is never planned before its target's last cycle
// ended. 20 ms is 2% of the shortest interval; at 10k probes/s the loop wakes about 50 times a
// second instead of 1,000.
constexpr std::size_t kLoadedWakeup = 4;
constexpr std::chrono::milliseconds kLookahead{20};
// And at most this many early: their answers wait in our socket for the next wakeup, and a
// stock kernel caps its receive buffer (net.core.rmem_max, 208 KiB: about 330 answers).
constexpr std::size_t kMaxEarlyStarts = 3 * UdpTransport::kSendBatch;
// When the next timer wakeup is this close, datagrams wait for it instead of waking the loop
// (their kernel timestamps keep RTTs exact). After a loaded wakeup it must exceed the
// lookahead, else each is followed by one for its answers (starts fall due on whole
// milliseconds). Otherwise it stays short: a flood of datagrams at an idle loop would fill
// the socket within a lookahead, and the kernel would drop real answers with it.
constexpr std::chrono::milliseconds kBusyWindow{2};
constexpr std::chrono::milliseconds kLoadedBusyWindow = kLookahead + kBusyWindow;

bool for_checker(TimerKind k) { return k == TimerKind::start || k == TimerKind::timeout; }

Clock& clock_or(Clock* given, std::unique_ptr<Clock>& own, boost::asio::io_context& io) {
  if (given != nullptr) return *given;
  own = std::make_unique<AsioClock>(io);
  return *own;
}

LocatorFactory locators_or(LocatorFactory given, boost::asio::io_context& io, Clock& clock) {
  if (given) return given;
  return
      [&io, &clock](const DnsSettings& dns) { return std::make_unique<Locator>(io, dns, &clock); };
}

}  // namespace

Engine::Engine(boost::asio::io_context& io, ProbeSink& sink, std::uint64_t seed,
               const DnsSettings& dns, EngineParts parts)
    : clock_(clock_or(parts.clock, own_clock_, io)),
      alarm_(clock_.make_alarm([this] {
        alarm_set_ = false;
        if (!stopped_) service();
      })),
      checker_({clock_, queue_, sink, exchanges_,
                locators_or(std::move(parts.locators), io, clock_), [this] { arm_timer(); }},
               seed, dns),
      exchanges_(
          {io, clock_, queue_, sink,
           parts.connections ? std::move(parts.connections)
                             : Exchanges::stream_connections(io, clock_)},
          checker_, [this] { service(); }, [this] { arm_timer(); }) {}

Engine::~Engine() {
  try {
    stop();
  } catch (...) {  // closing sockets during destruction: nothing left to report it to
  }
}

void Engine::start(const TargetList& targets, bool spread) {
  checker_.start(targets, spread);
  arm_timer();
}

void Engine::start(const std::vector<TargetConfig>& targets, bool spread) {
  start(std::make_shared<const std::vector<TargetConfig>>(targets), spread);
}

void Engine::reload(const TargetList& targets) {
  checker_.reload(targets);
  arm_timer();
}

void Engine::reload(const std::vector<TargetConfig>& targets) {
  reload(std::make_shared<const std::vector<TargetConfig>>(targets));
}

void Engine::set_dns(const DnsSettings& dns) {
  checker_.set_dns(dns);
  arm_timer();
}

void Engine::probe_once(const TargetConfig& target, OneShotDone done) {
  checker_.probe_once(target, std::move(done));
  arm_timer();
}

void Engine::stop() {
  if (stopped_) return;
  stopped_ = true;
  alarm_->cancel();
  checker_.stop();
  exchanges_.stop();
  queue_.clear();
}

void Engine::service() {
  if (stopped_) return;
  last_wake_ = clock_.now();
  exchanges_.batch_sends();  // one sendmmsg for the wakeup's UDP requests
  polled_ = false;
  run_due_timers();
  exchanges_.flush_sends();
  arm_timer();  // answered challenges and new cycles have timers
}

// Answers are read before the first deadline (timeout, retransmission...) a wakeup runs, so
// that one that arrived before its deadline counts. The starts due now do not wait for
// them: a loaded wakeup reads a lookahead's worth of answers, and they would be late by that.
void Engine::poll_answers() {
  if (polled_) return;
  polled_ = true;
  backlog_ = exchanges_.poll();
}

bool Engine::live(const TimerEntry& e) const {
  return for_checker(e.kind) ? checker_.live(e) : exchanges_.live(e);
}

bool Engine::runs_now(const TimerEntry& e, TimePoint now, TimePoint early) const {
  if (e.due <= now) return true;
  if (e.due > early) return false;
  return e.kind == TimerKind::start || !live(e);  // a stale entry is popped, not run
}

void Engine::run_due_timers() {
  const TimePoint now = clock_.now();
  const std::size_t fired = run_timers(now, now);
  // The lookahead's starts after the answers: they take the in-flight records the answers
  // just gave back, still in cache (12% of the CPU at 10k probes/s, measured).
  poll_answers();
  loaded_ = fired >= kLoadedWakeup;
  if (loaded_) run_timers(clock_.now(), now + kLookahead);
}

std::size_t Engine::run_timers(TimePoint now, TimePoint early) {
  std::size_t fired = 0;
  std::size_t started_early = 0;
  while (!queue_.empty() && runs_now(queue_.top(), now, early)) {
    const TimerEntry e = queue_.top();
    if (e.due > now && e.kind == TimerKind::start && started_early++ == kMaxEarlyStarts) break;
    if (e.kind != TimerKind::start && !polled_ && live(e)) {
      poll_answers();
      continue;  // an answer may have ended it
    }
    queue_.pop();
    if (!live(e)) continue;
    ++fired;
    if (for_checker(e.kind)) {
      checker_.fire(e, now);
    } else {
      exchanges_.fire(e, now);
    }
  }
  return fired;
}

void Engine::arm_timer() {
  if (stopped_) return;
  // Entries of answered probes (their retransmit and timeout) would each cost a wakeup.
  while (!queue_.empty() && !live(queue_.top())) queue_.pop();
  bool busy = false;
  if (!queue_.empty()) {
    // Wakeups are coalesced: under load one wakeup serves every timer due within the gap
    // and every datagram queued since the last one (their kernel timestamps keep RTTs exact).
    const TimePoint due = std::max(queue_.next_due(), last_wake_ + kWakeGap);
    // Unless a poll stopped short: what it left is read at once, not a lookahead later.
    busy = !backlog_ && due <= clock_.now() + (loaded_ ? kLoadedBusyWindow : kBusyWindow);
    if (!alarm_set_ || due < alarm_at_) {
      alarm_set_ = true;
      alarm_at_ = due;
      alarm_->set(due);
    }
  }
  // Idle: a datagram wakes the loop. Busy: the next timer wakeup reads the sockets anyway.
  if (!busy) exchanges_.watch();
}

}  // namespace stx
