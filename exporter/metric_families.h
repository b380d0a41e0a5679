#pragma once
// Every metric family the exporter serves, declared once: name, type, HELP and label names.
// The /metrics writer, the prometheus-cpp registry, /probe and the tests (README tables,
// golden bodies) all read this table. config/ sits below exporter/ and keeps its own list of
// reserved label names; metric_families_test proves that it covers every label here.
#include <array>
#include <cstddef>
#include <string_view>
#include <vector>

namespace stx {

enum class FamilyType { counter, gauge, histogram };

// Where a family's series are served and which labels they carry besides their own.
enum class FamilyScope {
  target,    // /metrics; `target` and the target's static labels
  exporter,  // /metrics; exporter-wide
  probe,     // /probe; one probe's result
};

// Label names the exporter writes (a histogram's `le` is implicit in its type).
inline constexpr std::string_view kTargetLabel = "target";
inline constexpr std::string_view kLeLabel = "le";
inline constexpr std::string_view kResultLabel = "result";
inline constexpr std::string_view kCodeLabel = "code";
inline constexpr std::string_view kReasonLabel = "reason";
inline constexpr std::string_view kUriLabel = "uri";
inline constexpr std::string_view kTransportLabel = "transport";
inline constexpr std::string_view kServerLabel = "server";
inline constexpr std::string_view kAddressLabel = "address";
inline constexpr std::string_view kVersionLabel = "version";
inline constexpr std::string_view kCipherLabel = "cipher";
inline constexpr std::string_view kRevisionLabel = "revision";
inline constexpr std::string_view kStateLabel = "state";
inline constexpr std::string_view kIndexLabel = "index";
inline constexpr std::string_view kCountLabel = "count";
inline constexpr std::string_view kReplicasLabel = "replicas";
// Prometheus adds these to every scraped series.
inline constexpr std::string_view kScrapeLabels[] = {"job", "instance"};

// Index into kFamilies; the README lists the families in this order.
enum class FamilyId : std::size_t {
  target_up,
  target_state,
  probes,
  responses,
  failures,
  rtt,
  last_rtt,
  last_code,
  retry_after,
  consecutive_failures,
  state_changes,
  last_change,
  target_info,
  registered_contacts,
  post_dial_delay,
  address_up,
  address_state,
  address_rtt,
  address_paused,
  cert_expiry,
  tls_info,
  keepalives,
  build_info,
  shard_info,
  unmatched,
  invalid,
  in_flight,
  lateness,
  reload_ok,
  reload_time,
  process_cpu,
  process_resident,
  process_virtual,
  process_open_fds,
  process_max_fds,
  process_start_time,
  probe_success,
  probe_duration,
  probe_status_code,
  probe_failure_info,
  probe_round_trip,
  probe_transmissions,
  probe_address_info,
  probe_ip_protocol,
  probe_dns_lookup,
  probe_tls_version,
  probe_tls_cipher,
  probe_cert_expiry,
  probe_registered_contacts,
  probe_post_dial_delay,
};

struct FamilySpec {
  FamilyId id;
  std::string_view name;
  FamilyType type;
  FamilyScope scope;
  std::array<std::string_view, 3> labels;  // its own label names, in key order; unused empty
  std::string_view help;
};

// clang-format off
inline constexpr FamilySpec kFamilies[] = {
    {FamilyId::target_up, "sip_target_up", FamilyType::gauge, FamilyScope::target, {},
     "1 if the target answers healthy OPTIONS (after hysteresis), 0 otherwise."},
    {FamilyId::target_state, "sip_target_state", FamilyType::gauge, FamilyScope::target,
     {kStateLabel},
     "1 for the target's current state (unknown, up, degraded: answering a degraded_codes "
     "code such as 503, down), 0 for the others."},
    {FamilyId::probes, "sip_probes_total", FamilyType::counter, FamilyScope::target,
     {kResultLabel}, "Finished probes by result (success or failure)."},
    {FamilyId::responses, "sip_probe_responses_total", FamilyType::counter, FamilyScope::target,
     {kCodeLabel}, "Final responses to probes by SIP status code."},
    {FamilyId::failures, "sip_probe_failures_total", FamilyType::counter, FamilyScope::target,
     {kReasonLabel},
     "Failed probes by reason: no final response, or (auth, no_binding) a final response the "
     "probe judged a failure."},
    {FamilyId::rtt, "sip_probe_rtt_seconds", FamilyType::histogram, FamilyScope::target, {},
     "Time from the first transmission of a probe to its final response."},
    {FamilyId::last_rtt, "sip_target_last_rtt_seconds", FamilyType::gauge, FamilyScope::target,
     {}, "RTT of the last probe that got a final response."},
    {FamilyId::last_code, "sip_target_last_status_code", FamilyType::gauge, FamilyScope::target,
     {}, "Final status code of the last probe, 0 if it got none."},
    {FamilyId::retry_after, "sip_target_retry_after_seconds", FamilyType::gauge,
     FamilyScope::target, {},
     "Retry-After of the last probe's final response, in seconds; 0 if it had none."},
    {FamilyId::consecutive_failures, "sip_target_consecutive_failures", FamilyType::gauge,
     FamilyScope::target, {}, "Failed probes in a row."},
    {FamilyId::state_changes, "sip_target_state_changes_total", FamilyType::counter,
     FamilyScope::target, {}, "Transitions between up and down."},
    {FamilyId::last_change, "sip_target_last_change_timestamp_seconds", FamilyType::gauge,
     FamilyScope::target, {}, "Unix time the target entered its current state, 0 while unknown."},
    {FamilyId::target_info, "sip_target_info", FamilyType::gauge, FamilyScope::target,
     {kServerLabel, kTransportLabel, kUriLabel},
     "Target description; server is the Server (or User-Agent) header of the last response."},
    {FamilyId::registered_contacts, "sip_target_registered_contacts", FamilyType::gauge,
     FamilyScope::target, {},
     "Contact bindings in the last 2xx to a method = register probe (a REGISTER fetching "
     "the bindings)."},
    {FamilyId::post_dial_delay, "sip_invite_post_dial_delay_seconds", FamilyType::histogram,
     FamilyScope::target, {},
     "Test calls (method = invite): time from the INVITE to its first 180-189 response "
     "(post-dial delay)."},
    {FamilyId::address_up, "sip_address_up", FamilyType::gauge, FamilyScope::target,
     {kAddressLabel, kTransportLabel},
     "1 if this address of the target answers healthy OPTIONS (after hysteresis), 0 otherwise."},
    {FamilyId::address_state, "sip_address_state", FamilyType::gauge, FamilyScope::target,
     {kAddressLabel, kStateLabel, kTransportLabel},
     "1 for this address's current state (unknown, up, degraded, down), 0 for the others."},
    {FamilyId::address_rtt, "sip_address_last_rtt_seconds", FamilyType::gauge, FamilyScope::target,
     {kAddressLabel, kTransportLabel},
     "RTT of the last probe of this address that got a final response."},
    {FamilyId::address_paused, "sip_address_retry_after_timestamp_seconds", FamilyType::gauge,
     FamilyScope::target, {kAddressLabel, kTransportLabel},
     "Unix time before which no probe goes to this address, as its Retry-After asked; 0 when "
     "not paused."},
    {FamilyId::cert_expiry, "sip_tls_cert_expiry_timestamp_seconds", FamilyType::gauge,
     FamilyScope::target, {kAddressLabel},
     "Unix time the earliest-expiring certificate of the peer's chain expires (also set when "
     "verification failed)."},
    {FamilyId::tls_info, "sip_tls_info", FamilyType::gauge, FamilyScope::target,
     {kAddressLabel, kCipherLabel, kVersionLabel},
     "TLS version and cipher of the last handshake with this address."},
    {FamilyId::keepalives, "sip_keepalives_total", FamilyType::counter, FamilyScope::target,
     {kAddressLabel, kResultLabel},
     "RFC 5626 CRLF keepalive pings on TCP/TLS connections, by result (success: the pong came "
     "back)."},
    {FamilyId::build_info, "sip_exporter_build_info", FamilyType::gauge, FamilyScope::exporter,
     {kRevisionLabel, kVersionLabel}, "Version and git revision of the running exporter."},
    {FamilyId::shard_info, "sip_exporter_shard_info", FamilyType::gauge, FamilyScope::exporter,
     {kCountLabel, kIndexLabel, kReplicasLabel},
     "This replica's shard: it probes the configured targets that shard index of count owns, "
     "each target owned by replicas shards."},
    {FamilyId::unmatched, "sip_exporter_unmatched_responses_total", FamilyType::counter,
     FamilyScope::exporter, {},
     "SIP responses that matched no open probe (late, duplicated, spoofed or with foreign "
     "identifiers); dropped."},
    {FamilyId::invalid, "sip_exporter_invalid_messages_total", FamilyType::counter,
     FamilyScope::exporter, {kReasonLabel},
     "Received datagrams that were not a valid SIP response; dropped."},
    {FamilyId::in_flight, "sip_exporter_probes_in_flight", FamilyType::gauge,
     FamilyScope::exporter, {}, "Probes started and not yet finished."},
    {FamilyId::lateness, "sip_exporter_schedule_lateness_seconds", FamilyType::histogram,
     FamilyScope::exporter, {},
     "How late scheduled probes started: actual minus planned start time."},
    {FamilyId::reload_ok, "sip_exporter_config_last_reload_successful", FamilyType::gauge,
     FamilyScope::exporter, {}, "1 if the last configuration load or reload succeeded."},
    {FamilyId::reload_time, "sip_exporter_config_last_reload_success_timestamp_seconds",
     FamilyType::gauge, FamilyScope::exporter, {},
     "Unix time of the last successful configuration load or reload."},
    // client_golang's process collector, names and HELP as it writes them.
    {FamilyId::process_cpu, "process_cpu_seconds_total", FamilyType::counter,
     FamilyScope::exporter, {}, "Total user and system CPU time spent in seconds."},
    {FamilyId::process_resident, "process_resident_memory_bytes", FamilyType::gauge,
     FamilyScope::exporter, {}, "Resident memory size in bytes."},
    {FamilyId::process_virtual, "process_virtual_memory_bytes", FamilyType::gauge,
     FamilyScope::exporter, {}, "Virtual memory size in bytes."},
    {FamilyId::process_open_fds, "process_open_fds", FamilyType::gauge, FamilyScope::exporter,
     {}, "Number of open file descriptors."},
    {FamilyId::process_max_fds, "process_max_fds", FamilyType::gauge, FamilyScope::exporter, {},
     "Maximum number of open file descriptors."},
    {FamilyId::process_start_time, "process_start_time_seconds", FamilyType::gauge,
     FamilyScope::exporter, {}, "Start time of the process since unix epoch in seconds."},
    {FamilyId::probe_success, "sip_probe_success", FamilyType::gauge, FamilyScope::probe, {},
     "1 if the probe got a healthy final response, 0 otherwise."},
    {FamilyId::probe_duration, "sip_probe_duration_seconds", FamilyType::gauge,
     FamilyScope::probe, {},
     "How long the probe took, from start to final response or failure."},
    {FamilyId::probe_status_code, "sip_probe_status_code", FamilyType::gauge, FamilyScope::probe,
     {}, "Final SIP status code of the probe, 0 if none arrived."},
    {FamilyId::probe_failure_info, "sip_probe_failure_info", FamilyType::gauge,
     FamilyScope::probe, {kReasonLabel},
     "Why the probe failed (1; absent when it succeeded): a failure reason, or status_code "
     "for an unhealthy final response."},
    {FamilyId::probe_round_trip, "sip_probe_round_trip_seconds", FamilyType::gauge,
     FamilyScope::probe, {},
     "Time from the first transmission of the request to its final response, 0 if none "
     "arrived."},
    {FamilyId::probe_transmissions, "sip_probe_transmissions", FamilyType::gauge,
     FamilyScope::probe, {}, "Times the request was sent, retransmissions included."},
    {FamilyId::probe_address_info, "sip_probe_address_info", FamilyType::gauge,
     FamilyScope::probe, {kAddressLabel, kTransportLabel},
     "The address probed (the one that decided the verdict) and its transport; absent when "
     "none was."},
    {FamilyId::probe_ip_protocol, "sip_probe_ip_protocol", FamilyType::gauge, FamilyScope::probe,
     {}, "IP protocol of the address probed: 4 or 6, 0 when none was."},
    {FamilyId::probe_dns_lookup, "sip_probe_dns_lookup_time_seconds", FamilyType::gauge,
     FamilyScope::probe, {}, "Time spent locating the target in DNS, 0 for an IP literal."},
    {FamilyId::probe_tls_version, "sip_probe_tls_version_info", FamilyType::gauge,
     FamilyScope::probe, {kVersionLabel}, "TLS version of the probe's handshake (TLS only)."},
    {FamilyId::probe_tls_cipher, "sip_probe_tls_cipher_info", FamilyType::gauge,
     FamilyScope::probe, {kCipherLabel}, "TLS cipher of the probe's handshake (TLS only)."},
    {FamilyId::probe_cert_expiry, "sip_probe_ssl_earliest_cert_expiry", FamilyType::gauge,
     FamilyScope::probe, {},
     "Unix time the earliest-expiring certificate of the peer's chain expires (TLS only; also "
     "set when verification failed)."},
    {FamilyId::probe_registered_contacts, "sip_probe_registered_contacts", FamilyType::gauge,
     FamilyScope::probe, {},
     "Contact bindings in the 2xx to a method = register probe; absent for other methods and "
     "without a 2xx."},
    {FamilyId::probe_post_dial_delay, "sip_probe_post_dial_delay_seconds", FamilyType::gauge,
     FamilyScope::probe, {},
     "A method = invite probe's post-dial delay: INVITE to the first 180-189; absent when it "
     "did not ring."},
};
// clang-format on

constexpr const FamilySpec& family(FamilyId id) { return kFamilies[static_cast<std::size_t>(id)]; }

// "counter", "gauge" or "histogram", as a TYPE line says it.
std::string_view type_name(FamilyType t);

// Every label name a series of `f` can carry apart from static labels: `target` for target
// scope, its own labels, and `le` for a histogram (its buckets).
std::vector<std::string_view> label_names(const FamilySpec& f);

}  // namespace stx
