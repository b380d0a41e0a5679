#include "probes/transaction.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <ios>
#include <set>
#include <string>
#include <string_view>

#include "probes/ids.h"
#include "sip/sip_request.h"

namespace stx {
namespace {

using std::chrono::milliseconds;

SipResponse response_for(const Transaction& t) {
  SipResponse r;
  r.status_code = 200;
  r.via_branch = t.branch_view();
  r.call_id = t.call_id_view();
  r.cseq_number = t.cseq;
  r.cseq_method = "OPTIONS";
  return r;
}

// Identifiers come from the kernel's CSPRNG: two generators (two exporters, or a restart)
// never repeat each other, and one never repeats itself across pool refills.
TEST(IdGeneratorTest, IdentifiersAreUniqueAcrossGeneratorsAndRefills) {
  IdGenerator a;
  IdGenerator b;
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 3000; ++i) {  // several 512-value pools
    EXPECT_TRUE(seen.insert(a.next()).second) << "repeat at " << i;
    EXPECT_TRUE(seen.insert(b.next()).second) << "repeat at " << i;
  }
}

TEST(Transaction, IdentifiersAreFreshPerProbe) {
  IdGenerator ids;
  Transaction t;
  std::set<std::string> branches, call_ids, tags;
  for (int i = 0; i < 100; ++i) {
    open_transaction(t, 5, ids, TimePoint{}, milliseconds(1000));
    branches.emplace(t.branch_view());
    call_ids.emplace(t.call_id_view());
    tags.emplace(t.from_tag_view());
  }
  EXPECT_EQ(branches.size(), 100u);
  EXPECT_EQ(call_ids.size(), 100u);
  EXPECT_EQ(tags.size(), 100u);
  EXPECT_EQ(t.seq, 100u);
  EXPECT_EQ(t.cseq, 100u);
}

TEST(Transaction, BranchCarriesMagicCookieAndSlot) {
  IdGenerator ids;
  Transaction t;
  open_transaction(t, 0xabc12, ids, TimePoint{}, milliseconds(1000));
  const std::string_view b = t.branch_view();
  EXPECT_EQ(b.substr(0, 7), "z9hG4bK");
  EXPECT_EQ(b.size(), static_cast<std::size_t>(kBranchLength));
  ASSERT_TRUE(slot_from_branch(b).has_value());
  EXPECT_EQ(*slot_from_branch(b), 0xabc12u);
}

TEST(Transaction, ForeignBranchesHaveNoSlot) {
  EXPECT_FALSE(slot_from_branch("z9hG4bKda4bc549"));
  EXPECT_FALSE(slot_from_branch(""));
  EXPECT_FALSE(slot_from_branch("z9hG4bK0000000g0123456789abcdef"));  // 'g' in the slot
  EXPECT_FALSE(slot_from_branch("Z9HG4BK000000010123456789abcdef"));
}

TEST(Transaction, OpenSetsDeadlineAndResetsTimers) {
  IdGenerator ids;
  Transaction t;
  t.provisional_seen = true;
  t.timer_e = kT2;
  const TimePoint now = TimePoint{} + milliseconds(1234);
  open_transaction(t, 0, ids, now, milliseconds(5000));
  EXPECT_TRUE(t.open);
  EXPECT_FALSE(t.provisional_seen);
  EXPECT_EQ(t.timer_e, kT1);
  EXPECT_EQ(t.deadline, now + milliseconds(5000));
}

class MatchTest : public ::testing::Test {
 protected:
  void SetUp() override { open_transaction(t, 3, ids, TimePoint{}, milliseconds(1000)); }
  IdGenerator ids;
  Transaction t;
};

TEST_F(MatchTest, ExactResponseMatches) {
  EXPECT_EQ(match_response(t, response_for(t), kOptions, true), Match::ok);
}

TEST_F(MatchTest, ResponseFromAnotherAddressIsRefused) {
  EXPECT_EQ(match_response(t, response_for(t), kOptions, false), Match::wrong_source);
}

TEST_F(MatchTest, WrongBranchIsRefused) {
  SipResponse r = response_for(t);
  std::string other(t.branch_view());
  other.back() = other.back() == '0' ? '1' : '0';
  r.via_branch = other;
  EXPECT_EQ(match_response(t, r, kOptions, true), Match::wrong_branch);
}

TEST_F(MatchTest, WrongCallIdIsRefused) {
  SipResponse r = response_for(t);
  r.call_id = "someone-else@example.com";
  EXPECT_EQ(match_response(t, r, kOptions, true), Match::wrong_call_id);
}

TEST_F(MatchTest, WrongCSeqNumberOrMethodIsRefused) {
  SipResponse r = response_for(t);
  r.cseq_number = t.cseq + 1;
  EXPECT_EQ(match_response(t, r, kOptions, true), Match::wrong_cseq);
  r = response_for(t);
  r.cseq_method = "INVITE";
  EXPECT_EQ(match_response(t, r, kOptions, true), Match::wrong_cseq);
}

TEST_F(MatchTest, ClosedTransactionMatchesNothing) {
  const SipResponse r = response_for(t);
  t.open = false;
  EXPECT_EQ(match_response(t, r, kOptions, true), Match::no_open_probe);
}

TEST_F(MatchTest, LateAnswerToThePreviousProbeIsRefused) {
  const std::string old_branch(t.branch_view());
  const std::string old_call_id(t.call_id_view());
  const std::uint32_t old_cseq = t.cseq;
  open_transaction(t, 3, ids, TimePoint{}, milliseconds(1000));
  SipResponse r = response_for(t);
  r.via_branch = old_branch;
  r.call_id = old_call_id;
  r.cseq_number = old_cseq;
  EXPECT_EQ(match_response(t, r, kOptions, true), Match::wrong_branch);
}

}  // namespace
}  // namespace stx

namespace stx {
namespace {

// The pair table writes what one digit at a time would: the low `n` digits, most
// significant first, for odd and even widths.
TEST(IdGeneratorTest, HexWritesTheLowDigitsOfAnyWidth) {
  const std::uint64_t values[] = {0, 1, 0xf, 0x10, 0xab, 0x0123456789abcdefULL, ~0ULL};
  for (const std::uint64_t v : values) {
    for (int n = 1; n <= 16; ++n) {
      char want[17] = {};
      std::snprintf(want, sizeof want, "%016llx", static_cast<unsigned long long>(v));
      char got[16];
      IdGenerator::hex(v, got, n);
      EXPECT_EQ(std::string_view(got, static_cast<std::size_t>(n)),
                std::string_view(want + 16 - n, static_cast<std::size_t>(n)))
          << std::hex << v << " in " << std::dec << n << " digits";
    }
  }
}

}  // namespace
}  // namespace stx
