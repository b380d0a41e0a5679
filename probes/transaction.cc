#include "probes/transaction.h"

#include <cstring>

namespace stx {

void write_branch(char (&branch)[kBranchLength], std::uint32_t slot, IdGenerator& ids) {
  std::memcpy(branch, kBranchMagic.data(), kBranchMagic.size());
  IdGenerator::hex(slot, branch + kBranchMagic.size(), kBranchSlotDigits);
  IdGenerator::hex(ids.next(), branch + kBranchMagic.size() + kBranchSlotDigits,
                   kBranchRandomDigits);
}

void open_transaction(Transaction& t, std::uint32_t slot, IdGenerator& ids, TimePoint now,
                      std::chrono::milliseconds timeout) {
  t.open = true;
  t.provisional_seen = false;
  ++t.seq;
  ++t.cseq;
  t.transmissions = 0;
  t.timer_e = kT1;
  t.started = now;
  t.first_sent = now;
  t.deadline = now + timeout;
  write_branch(t.branch, slot, ids);
  IdGenerator::hex(ids.next(), t.call_id, 16);
  IdGenerator::hex(ids.next(), t.call_id + 16, 16);
  IdGenerator::hex(ids.next(), t.from_tag, kTagLength);
}

void continue_transaction(Transaction& t, std::uint32_t slot, IdGenerator& ids) {
  ++t.seq;  // timers of the challenged request go stale
  ++t.cseq;
  t.provisional_seen = false;
  t.timer_e = kT1;
  write_branch(t.branch, slot, ids);
}

std::optional<std::uint32_t> slot_from_branch(std::string_view branch) {
  if (branch.size() != static_cast<std::size_t>(kBranchLength) ||
      branch.substr(0, kBranchMagic.size()) != kBranchMagic) {
    return std::nullopt;
  }
  std::uint32_t slot = 0;
  for (char c : branch.substr(kBranchMagic.size(), kBranchSlotDigits)) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    slot = (slot << 4) | static_cast<std::uint32_t>(v);
  }
  return slot;
}

std::string_view to_string(Match m) {
  switch (m) {
    case Match::ok:
      return "ok";
    case Match::no_open_probe:
      return "no_open_probe";
    case Match::wrong_branch:
      return "wrong_branch";
    case Match::wrong_call_id:
      return "wrong_call_id";
    case Match::wrong_cseq:
      return "wrong_cseq";
    case Match::wrong_source:
      return "wrong_source";
  }
  return "unknown";
}

Match match_response(const Transaction& t, const SipResponse& r, std::string_view method,
                     bool same_source) {
  if (!t.open) return Match::no_open_probe;
  if (r.via_branch != t.branch_view()) return Match::wrong_branch;
  if (r.call_id != t.call_id_view()) return Match::wrong_call_id;
  if (r.cseq_number != t.cseq || r.cseq_method != method) return Match::wrong_cseq;
  if (!same_source) return Match::wrong_source;
  return Match::ok;
}

}  // namespace stx
