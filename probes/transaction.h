#pragma once
// One non-INVITE client transaction: its identifiers, its timers, and the rule that decides
// whether a response belongs to it (RFC 3261 17.1.3: top Via branch, plus Call-ID, CSeq
// and the source address, so late, duplicated and spoofed answers are refused).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "probes/ids.h"
#include "probes/timer_e.h"
#include "probes/timer_queue.h"
#include "sip/sip_response.h"

namespace stx {

// Branch layout: "z9hG4bK" + 8 hex digits of the target slot + 16 random hex digits.
// The slot makes the lookup O(1) with no table; the random part makes it unguessable.
inline constexpr std::string_view kBranchMagic = "z9hG4bK";
inline constexpr int kBranchSlotDigits = 8;
inline constexpr int kBranchRandomDigits = 16;
inline constexpr int kBranchLength = 7 + kBranchSlotDigits + kBranchRandomDigits;
inline constexpr int kCallIdLength = 32;
inline constexpr int kTagLength = 16;

struct Transaction {
  bool open = false;
  bool provisional_seen = false;
  std::uint32_t seq = 0;  // how many probes this target has started; names timer entries
  std::uint32_t cseq = 0;
  int transmissions = 0;
  std::chrono::milliseconds timer_e = kT1;
  TimePoint started{};
  TimePoint first_sent{};
  TimePoint deadline{};
  char branch[kBranchLength] = {};
  char call_id[kCallIdLength] = {};
  char from_tag[kTagLength] = {};

  std::string_view branch_view() const { return {branch, sizeof branch}; }
  std::string_view call_id_view() const { return {call_id, sizeof call_id}; }
  std::string_view from_tag_view() const { return {from_tag, sizeof from_tag}; }
};

// Writes a fresh branch for `slot` (ours, so an answer finds its slot by it).
void write_branch(char (&branch)[kBranchLength], std::uint32_t slot, IdGenerator& ids);

// Opens a new transaction for `slot`, with fresh identifiers and the next CSeq.
void open_transaction(Transaction& t, std::uint32_t slot, IdGenerator& ids, TimePoint now,
                      std::chrono::milliseconds timeout);

// Re-sends the same request with credentials (RFC 3261 22.2): a new branch and the next
// CSeq in the same dialog-less exchange; the deadline and start time stay.
void continue_transaction(Transaction& t, std::uint32_t slot, IdGenerator& ids);

// The slot encoded in one of our branches, or nullopt if `branch` is not ours.
std::optional<std::uint32_t> slot_from_branch(std::string_view branch);

enum class Match : std::uint8_t {
  ok,
  no_open_probe,
  wrong_branch,
  wrong_call_id,
  wrong_cseq,
  wrong_source
};

std::string_view to_string(Match m);

// Whether `r`, received from `same_source ? the target : elsewhere`, answers `t`, a
// transaction of `method`.
Match match_response(const Transaction& t, const SipResponse& r, std::string_view method,
                     bool same_source);

}  // namespace stx
