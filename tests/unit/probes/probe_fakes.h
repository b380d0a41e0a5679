#pragma once
// Test doubles for the probing side's seams: a sink that records, a location service and
// connections the test answers by hand, and a loop that runs timer entries in virtual time.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probes/connection.h"
#include "probes/locator.h"
#include "probes/probe_result.h"
#include "probes/timer_queue.h"
#include "tests/unit/probes/manual_clock.h"

namespace stx {

// A target's settings as the tests start from: `uri`, 2xx healthy, a From of our own.
inline TargetConfig test_target(const std::string& uri, std::chrono::milliseconds interval,
                                std::chrono::milliseconds timeout) {
  TargetConfig t;
  t.name = "t";
  t.uri = uri;
  t.shared.edit().interval = interval;
  t.shared.edit().timeout = timeout;
  t.shared.edit().healthy_codes.classes[2] = true;
  t.shared.edit().from = "sip:prober@localhost";
  return t;
}

struct Finished {
  std::size_t target;
  ProbeResult result;
  std::string server;
  std::string detail;
  StateChange change;
  TargetState state;
  TimePoint at;
};

class RecordingSink : public ProbeSink {
 public:
  explicit RecordingSink(const Clock* clock = nullptr) : clock_(clock) {}

  void target_added(std::size_t target,
                    const std::shared_ptr<const TargetConfig>& config) override {
    added.emplace_back(target, config->name);
  }
  void target_kept(std::size_t target, const std::shared_ptr<const TargetConfig>& config) override {
    kept.emplace_back(target, config);
  }
  void target_removed(std::size_t target, bool in_flight) override {
    removed.emplace_back(target, in_flight);
  }
  void probe_started(std::size_t) override { ++started; }
  void probe_finished(std::size_t target, const ProbeResult& r, const StateChange& c,
                      const TargetState& s) override {
    // The result's views are valid only during the call.
    finished.push_back({target, r, std::string(r.server), std::string(r.detail), c, s, now()});
  }
  void unmatched_response(std::string_view why, const DropOrigin& origin) override {
    unmatched.emplace_back(why);
    drop_origins.push_back(origin.from);
  }
  void invalid_message(std::string_view why, const DropOrigin& origin) override {
    invalid.emplace_back(why);
    drop_origins.push_back(origin.from);
  }
  void address_finished(std::size_t, std::size_t address, const ProbeResult& r,
                        const StateChange& c, const TargetState& s) override {
    address_results.push_back(
        {address, r, std::string(r.server), std::string(r.detail), c, s, now()});
  }
  void keepalive_finished(std::size_t, std::size_t, bool ok) override {
    keepalives.emplace_back(ok, now());
  }
  void location_failed(std::size_t, std::string_view error) override {
    location_failures.emplace_back(error);
  }
  void address_paused(std::size_t, std::size_t address, std::chrono::seconds pause) override {
    pauses.push_back({address, pause, now()});
  }

  int started = 0;
  std::vector<std::pair<std::size_t, std::string>> added;
  std::vector<std::pair<std::size_t, std::shared_ptr<const TargetConfig>>> kept;
  std::vector<std::pair<std::size_t, bool>> removed;
  std::vector<Finished> finished;
  std::vector<Finished> address_results;
  std::vector<std::string> unmatched;
  std::vector<std::string> invalid;
  std::vector<Destination> drop_origins;  // the sender of each unmatched or invalid message
  std::vector<std::pair<bool, TimePoint>> keepalives;
  std::vector<std::string> location_failures;
  struct Pause {
    std::size_t address;
    std::chrono::seconds pause;
    TimePoint at;
  };
  std::vector<Pause> pauses;

 private:
  TimePoint now() const { return clock_ != nullptr ? clock_->now() : TimePoint{}; }
  const Clock* clock_;
};

// Lookups wait until the test answers them (or answer() runs them in order).
class FakeLocator final : public LocationService {
 public:
  struct Lookup {
    std::string host;
    Done done;
  };
  void locate(const SipUri& uri, std::optional<Transport>, Done done) override {
    ++calls;
    pending.push_back({uri.host, std::move(done)});
  }
  void cancel_all() override { pending.clear(); }

  // Answers the oldest pending lookup.
  void answer(const LocateResult& r) {
    Lookup l = std::move(pending.front());
    pending.erase(pending.begin());
    l.done(r);
  }

  int calls = 0;
  std::vector<Lookup> pending;
};

// A flow the test drives: connect() only records; the test makes it ready or fail.
class FakeConnection final : public Connection {
 public:
  explicit FakeConnection(StreamHandlers h) : handlers(std::move(h)) {}
  void connect() override { connecting = true; }
  bool ready() const override { return is_ready; }
  bool mid_message() const override { return false; }
  std::optional<boost::asio::ip::tcp::endpoint> local_endpoint() const override {
    return boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 40000);
  }
  void send(std::string_view data) override { sent.emplace_back(data); }
  void send_ping() override { ++pings; }
  void close() override {
    closed = true;
    handlers = StreamHandlers{};
  }

  void become_ready() {
    connecting = false;
    is_ready = true;
    if (handlers.on_ready) handlers.on_ready(nullptr);
  }
  void refuse() {
    connecting = false;
    auto on_failed = handlers.on_failed;  // the handler closes (and clears) this connection
    if (on_failed) on_failed(StreamFailure::connect, "connection refused", nullptr);
  }
  void deliver(const std::string& message, TimePoint at) {
    if (handlers.on_message) handlers.on_message(message, at);
  }

  StreamHandlers handlers;
  bool connecting = false;
  bool is_ready = false;
  bool closed = false;
  int pings = 0;
  std::vector<std::string> sent;
};

// Every connection made, in order; they stay alive here after the exchanges drop them.
struct FakeConnections {
  ConnectionFactory factory() {
    return [this](const StreamOptions& o, StreamHandlers h) -> std::shared_ptr<Connection> {
      options.push_back(o);
      made.push_back(std::make_shared<FakeConnection>(std::move(h)));
      return made.back();
    };
  }
  std::vector<std::shared_ptr<FakeConnection>> made;
  std::vector<StreamOptions> options;  // what each was made with
};

// Runs timer entries in due order in virtual time: the clock jumps to each entry's due time
// and `fire` runs it; `after` runs after each (to answer what the entry started).
struct VirtualTimers {
  ManualClock& clock;
  TimerQueue& timers;
  std::function<bool(const TimerEntry&)> live;
  std::function<void(const TimerEntry&, TimePoint)> fire;
  std::function<void()> after = [] {};

  void run_for(SteadyClock::duration d) {
    const TimePoint until = clock.now() + d;
    TimerEntry e;
    for (;;) {
      while (!timers.empty() && !live(timers.top())) timers.pop();
      if (timers.empty() || timers.next_due() > until) break;
      if (timers.next_due() > clock.now()) clock.advance(timers.next_due() - clock.now());
      timers.pop_due(clock.now(), e);
      fire(e, clock.now());
      after();
    }
    clock.advance(until - clock.now());
  }
};

// The value of header `name` in a message the code under test wrote ("" when absent).
inline std::string header(const std::string& msg, const std::string& name) {
  const auto pos = msg.find("\r\n" + name + ": ");
  if (pos == std::string::npos) return {};
  const auto start = pos + name.size() + 4;
  return msg.substr(start, msg.find("\r\n", start) - start);
}

}  // namespace stx
