#include "exporter/probe_endpoint.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "config/duration.h"
#include "exporter/exposition.h"
#include "sip/message_text.h"
#include "sip/redact.h"

namespace stx {
namespace {

WebResponse text(int status, std::string body) {
  WebResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string seconds_text(std::chrono::nanoseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6fs", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace

std::chrono::milliseconds probe_timeout(std::chrono::milliseconds module_timeout,
                                        double scrape_timeout_seconds) {
  if (scrape_timeout_seconds <= 0) return module_timeout;
  const auto budget =
      std::chrono::milliseconds(static_cast<std::int64_t>(scrape_timeout_seconds * 1000)) -
      kScrapeTimeoutOffset;
  return std::max(kMinProbeTimeout, std::min(module_timeout, budget));
}

std::optional<Respond> ProbeGate::enter(const Respond& respond) {
  if (in_flight_->fetch_add(1) >= limit_) {
    --*in_flight_;
    return std::nullopt;
  }
  // Frees the slot once: when answered, or when every copy of the callback is gone.
  struct Slot {
    std::shared_ptr<std::atomic<int>> count;
    std::atomic<bool> freed{false};
    void free() {
      if (!freed.exchange(true)) --*count;
    }
    ~Slot() { free(); }
  };
  auto slot = std::make_shared<Slot>();
  slot->count = in_flight_;
  return Respond([slot, respond](WebResponse r) {
    slot->free();
    respond(std::move(r));
  });
}

WebResponse too_many_probes(int limit) {
  return text(503, "too many /probe requests in flight (at most " + std::to_string(limit) +
                       "); try again later\n");
}

void run_probe_request(Engine& engine, const Config& config, const ProbeRequest& req,
                       Respond respond) {
  const ModuleConfig* module = find_module(config, req.module);
  if (module == nullptr) {
    respond(text(400, "unknown module " + quote_utf8(req.module) + "\n"));
    return;
  }
  TargetConfig target;
  try {
    target = target_for_probe(*module, req.target);
  } catch (const ConfigError& e) {
    respond(text(400, std::string(e.what()) + "\n"));
    return;
  }
  const HostPatterns& allowed = config.exporter.probe_allowed_targets;
  if (!allowed.empty() && !host_matches(allowed, target.parsed_uri)) {
    respond(text(403, "target " + quote_utf8(req.target) + ": host " +
                          quote_utf8(target.parsed_uri.host) +
                          " is not in probe_allowed_targets ([exporter])\n"));
    return;
  }
  target.timeout = probe_timeout(target.timeout, req.scrape_timeout);
  engine.probe_once(target, [req, target, respond = std::move(respond)](const ProbeResult& r) {
    WebResponse w;
    if (req.debug) {
      w.body = probe_debug_text(req, target, r);
    } else {
      w.body = probe_metrics_text(r);
      w.content_type = "text/plain; version=0.0.4; charset=utf-8";
    }
    respond(std::move(w));
  });
}

std::string probe_metrics_text(const ProbeResult& r) {
  const std::pair<FamilyId, double> gauges[] = {
      {FamilyId::probe_success, r.success ? 1 : 0},
      {FamilyId::probe_duration, std::chrono::duration<double>(r.duration).count()},
      {FamilyId::probe_status_code, r.status_code}};
  std::string out;
  for (const auto& [id, value] : gauges) end_line(FamilyWriter(out, id).series({}), value);
  if (r.contacts) {
    end_line(FamilyWriter(out, FamilyId::probe_registered_contacts).series({}),
             static_cast<double>(*r.contacts));
  }
  return out;
}

std::string probe_debug_text(const ProbeRequest& req, const TargetConfig& target,
                             const ProbeResult& r) {
  std::string out;
  out += "Module: " + req.module + "\n";  // a configured module: a safe name
  out += "Target: " + target.uri + "\n";
  out += "Timeout: " + format_duration(target.timeout) + "\n";
  out += "Result: " + std::string(r.success ? "success" : "failure");
  if (r.status_code != 0) {
    out += ", status code " + std::to_string(r.status_code);
    if (r.reason != FailureReason::none) out += ", reason " + std::string(to_string(r.reason));
  } else {
    out += ", reason " + std::string(to_string(r.reason));
    if (!r.detail.empty()) out += " (" + std::string(r.detail) + ")";
  }
  out += "\nDuration: " + seconds_text(r.duration) + "\n";
  out += "Transmissions: " + std::to_string(r.transmissions) + "\n";
  if (r.status_code != 0) out += "RTT: " + seconds_text(r.rtt) + "\n";
  if (r.contacts) out += "Registered contacts: " + std::to_string(*r.contacts) + "\n";
  out += "\n--- request ---\n";
  out += r.request.empty() ? std::string("(not sent)\n") : redact_credentials(r.request);
  out += "--- response ---\n";
  out += r.response.empty() ? std::string("(none)\n") : std::string(r.response);
  return out;
}

}  // namespace stx
