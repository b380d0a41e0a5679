#pragma once
// What one finished probe reports, and the small interface the engine reports through.
// probes/ never includes exporter/: the exporter implements ProbeSink with metrics and logs.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "config/config.h"
#include "probes/locator.h"
#include "probes/target_state.h"
#include "probes/tls_context.h"

namespace stx {

// Why a probe failed: it ended without a final response, or (auth, no_binding) its prober
// judged a final response unhealthy for a reason of its own. Kept small and stable: these
// are label values, new ones go at the end. connect, reset and tls belong to the connection
// transports (tcp, tls, ws, wss); auth and no_binding to method = "register"; websocket to
// ws and wss (the HTTP upgrade was refused or did not select the subprotocol sip).
enum class FailureReason : std::uint8_t {
  none,
  timeout,
  refused,
  send_error,
  dns_error,
  connect,
  reset,
  tls,
  auth,        // the peer challenged again the request that carried our credentials
  no_binding,  // fewer Contact bindings than min_contacts
  websocket,   // the WebSocket handshake failed (not 101, or no subprotocol sip)
};
inline constexpr FailureReason kAllFailureReasons[] = {
    FailureReason::timeout,   FailureReason::refused, FailureReason::send_error,
    FailureReason::dns_error, FailureReason::connect, FailureReason::reset,
    FailureReason::tls,       FailureReason::auth,    FailureReason::no_binding,
    FailureReason::websocket};

std::string_view to_string(FailureReason r);

// The views point into the engine's buffers: valid only during the call that hands the
// result over (a ProbeSink method or a probe_once() callback).
struct ProbeResult {
  bool success = false;
  bool degraded = false;  // not success: a final code in degraded_codes (alive, refusing)
  int status_code = 0;    // final response code, 0 when none arrived
  // none: success, or an unhealthy code (status_code); else why it failed, with the final
  // code too when a prober judged the answer (auth, no_binding).
  FailureReason reason = FailureReason::none;
  // A number the prober read from the final response (Judgement::contacts): the Contact
  // bindings a register probe fetched. nullopt when the prober reads none.
  std::optional<std::uint32_t> contacts;
  // First transmission -> final response (status_code != 0); for a test call, -> its first
  // response of any kind, as ringing time says nothing of the network.
  std::chrono::nanoseconds rtt{0};
  // A test call's post-dial delay: first transmission -> first 180-189; nullopt otherwise.
  std::optional<std::chrono::nanoseconds> post_dial_delay;
  std::chrono::nanoseconds duration{0};  // probe start -> end, including DNS
  int transmissions = 0;                 // 1 + retransmissions
  std::string_view server;               // Server, else User-Agent, of the final response
  // Allow, Supported and Accept of the final response (what the peer says it can do).
  std::string_view allow, supported, accept;
  std::optional<std::uint32_t> retry_after;  // seconds, from a Retry-After header
  std::string_view detail;                   // human detail for logs (e.g. errno text)
  std::string_view call_id;                  // of the last request sent, empty if none
  std::string_view request;                  // the request as sent
  // It carries our Authorization or Proxy-Authorization (a challenge was answered): shown
  // only redacted. The exchange that wrote the header knows; no reader has to search.
  bool request_has_credentials = false;
  std::string_view response;                 // the final response as received, empty if none
  // The address this result is about; for a cycle, the one that decided the verdict (empty
  // when none was probed: the DNS lookup failed).
  std::optional<Destination> destination;
  // Time the cycle waited for an RFC 3263 lookup: 0 for IP literals (no lookup) and when
  // the cycle used an answer it already had. Set on a cycle's result only.
  std::chrono::nanoseconds dns_lookup{0};
  // What the TLS handshake of this exchange's connection told (also a failed one); null
  // for UDP, TCP, and a TLS connection that got no handshake answer.
  const TlsPeerInfo* tls = nullptr;
};

inline Verdict verdict_of(const ProbeResult& r) {
  if (r.success) return Verdict::healthy;
  return r.degraded ? Verdict::degraded : Verdict::failed;
}

// Where a dropped message came from, for the debug log: with 10,000 targets, "which peer
// misbehaves?" needs the sender and, when the message had one, its Call-ID.
struct DropOrigin {
  Destination from;
  std::string_view call_id;  // empty when unknown
};

// Background probing reports here. Targets are named by slot: a small integer the engine
// assigns on target_added and may reuse after target_removed.
class ProbeSink {
 public:
  virtual ~ProbeSink() = default;
  // `config` stays valid while the target exists: keep it rather than copies of its texts.
  virtual void target_added(std::size_t target,
                            const std::shared_ptr<const TargetConfig>& config) = 0;
  // A reload kept the target, its settings unchanged: `config` is the new configuration's
  // equal copy. Keep it instead of the one from target_added, which holds the old
  // configuration in memory (every target of it) for as long as it is kept.
  virtual void target_kept(std::size_t target,
                           const std::shared_ptr<const TargetConfig>& config) = 0;
  // `probe_in_flight`: a started probe of this target is abandoned and will never finish.
  virtual void target_removed(std::size_t target, bool probe_in_flight) = 0;
  virtual void probe_started(std::size_t target) = 0;
  // How late a scheduled probe started: actual minus planned start.
  virtual void schedule_lateness(std::chrono::nanoseconds /*late*/) {}
  virtual void probe_finished(std::size_t target, const ProbeResult& result,
                              const StateChange& change, const TargetState& state) = 0;
  // A response that matched no open probe (late, duplicate, spoofed, wrong ids).
  virtual void unmatched_response(std::string_view why, const DropOrigin& origin) = 0;
  // Bytes that were not a parsable SIP response (`why` is a short token).
  virtual void invalid_message(std::string_view why, const DropOrigin& origin) = 0;

  // Per-address events. An address is one destination of a target (RFC 3263 answer or
  // the URI's literal), named by a small integer the engine may reuse after removal.
  virtual void address_added(std::size_t /*target*/, std::size_t /*address*/,
                             const Destination& /*destination*/) {}
  virtual void address_removed(std::size_t /*target*/, std::size_t /*address*/) {}
  virtual void address_finished(std::size_t /*target*/, std::size_t /*address*/,
                                const ProbeResult& /*result*/, const StateChange& /*change*/,
                                const TargetState& /*state*/) {}
  // What a TLS handshake (successful or not) told about the peer at `address`.
  virtual void tls_peer(std::size_t /*target*/, std::size_t /*address*/,
                        const TlsPeerInfo& /*info*/) {}
  // An RFC 5626 keepalive ping on `address` got its pong (or did not).
  virtual void keepalive_finished(std::size_t /*target*/, std::size_t /*address*/, bool /*ok*/) {}
  // Retry-After (RFC 3261 21.5.4) on a degraded or 5xx answer from `address`: no probe goes
  // there for `pause` (capped at 1 h); 0 when an answer without one lifted an earlier pause.
  virtual void address_paused(std::size_t /*target*/, std::size_t /*address*/,
                              std::chrono::seconds /*pause*/) {}
  // A DNS refresh failed; the previous answer stays in use until it expires.
  virtual void location_failed(std::size_t /*target*/, std::string_view /*error*/) {}
};

}  // namespace stx
