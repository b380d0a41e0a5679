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
  if (!allowed.empty() && !host_matches(allowed, target.parsed_uri())) {
    respond(text(403, "target " + quote_utf8(req.target) + ": host " +
                          quote_utf8(target.parsed_uri().host) +
                          " is not in probe_allowed_targets ([exporter])\n"));
    return;
  }
  target.shared.edit().timeout = probe_timeout(target.shared->timeout, req.scrape_timeout);
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

namespace {

// The `reason` of sip_probe_failure_info: the failure reason, or status_code when a final
// response came and its code is not a healthy one.
std::string_view failure_reason(const ProbeResult& r) {
  if (r.reason != FailureReason::none) return to_string(r.reason);
  return r.status_code != 0 ? "status_code" : "unknown";
}

}  // namespace

std::string probe_metrics_text(const ProbeResult& r) {
  const auto seconds = [](std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
  };
  int ip_protocol = 0;
  if (r.destination) ip_protocol = r.destination->address.is_v6() ? 6 : 4;
  std::string out;
  const auto gauge = [&out](FamilyId id, double value) {
    end_line(FamilyWriter(out, id).series({}), value);
  };
  const auto info = [&out](FamilyId id, std::string_view key, std::string_view value) {
    end_line(FamilyWriter(out, id).series({}, key, value), 1.0);
  };
  gauge(FamilyId::probe_success, r.success ? 1 : 0);
  gauge(FamilyId::probe_duration, seconds(r.duration));
  gauge(FamilyId::probe_status_code, r.status_code);
  if (!r.success) info(FamilyId::probe_failure_info, kReasonLabel, failure_reason(r));
  gauge(FamilyId::probe_round_trip, r.status_code != 0 ? seconds(r.rtt) : 0.0);
  gauge(FamilyId::probe_transmissions, r.transmissions);
  if (r.destination) {
    const std::string labels = with_label({}, kAddressLabel, to_string(*r.destination));
    end_line(FamilyWriter(out, FamilyId::probe_address_info)
                 .series(labels, kTransportLabel, to_string(r.destination->transport)),
             1.0);
  }
  gauge(FamilyId::probe_ip_protocol, ip_protocol);
  gauge(FamilyId::probe_dns_lookup, seconds(r.dns_lookup));
  if (r.tls != nullptr) {
    if (!r.tls->version.empty()) info(FamilyId::probe_tls_version, kVersionLabel, r.tls->version);
    if (!r.tls->cipher.empty()) info(FamilyId::probe_tls_cipher, kCipherLabel, r.tls->cipher);
    if (r.tls->cert_expiry) gauge(FamilyId::probe_cert_expiry, *r.tls->cert_expiry);
  }
  if (r.contacts) gauge(FamilyId::probe_registered_contacts, static_cast<double>(*r.contacts));
  if (r.post_dial_delay) gauge(FamilyId::probe_post_dial_delay, seconds(*r.post_dial_delay));
  return out;
}

std::string probe_debug_text(const ProbeRequest& req, const TargetConfig& target,
                             const ProbeResult& r) {
  std::string out;
  out += "Module: " + req.module + "\n";  // a configured module: a safe name
  out += "Target: " + target.uri + "\n";
  out += "Timeout: " + format_duration(target.shared->timeout) + "\n";
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
  out += "DNS lookup: " + seconds_text(r.dns_lookup) + "\n";
  if (r.destination) {
    out += "Address: " + to_string(*r.destination) + " (" +
           std::string(to_string(r.destination->transport)) + ")\n";
  }
  if (r.tls != nullptr) {
    out += "TLS: " + r.tls->version + ", " + r.tls->cipher;
    if (!r.tls->verify_error.empty()) out += ", verification failed: " + r.tls->verify_error;
    out += "\n";
  }
  if (r.contacts) out += "Registered contacts: " + std::to_string(*r.contacts) + "\n";
  out += "\n--- request ---\n";
  out += r.request.empty() ? std::string("(not sent)\n") : redact_credentials(r.request);
  out += "--- response ---\n";
  out += r.response.empty() ? std::string("(none)\n") : std::string(r.response);
  return out;
}

}  // namespace stx
