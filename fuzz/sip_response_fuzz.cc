// parse_sip_response on arbitrary bytes, as a datagram from an untrusted peer. A 401/407
// also goes through challenge parsing and the Authorization answer, as the engine does, and
// the message cut out of its datagram (keepalives before, ignored bytes after) parses the same.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "sip/digest_auth.h"
#include "sip/sip_response.h"

namespace {

using stx::SipParseError;
using stx::SipResponse;

bool inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Reads every byte of the view (so ASan checks it) and checks it points into the input.
std::size_t touch(std::string_view part, std::string_view whole) {
  FUZZ_CHECK(inside(part, whole));
  std::size_t sum = part.size();
  for (char c : part) sum += static_cast<unsigned char>(c);
  return sum;
}

bool has_control(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

void check_digest(const SipResponse& r) {
  std::string error;
  const auto challenge = stx::pick_challenge(
      std::span<const std::string_view>(r.challenges, r.challenge_count), &error);
  if (!challenge) {
    FUZZ_CHECK(!has_control(error));  // documented: one line, printable
    return;
  }
  FUZZ_CHECK(challenge->algorithm == "MD5" || challenge->algorithm == "SHA-256");
  stx::DigestCredentials credentials;
  credentials.user = "pbx01";
  credentials.password = "secret";
  std::string header;
  if (stx::write_digest_authorization(*challenge, credentials, "OPTIONS", "sip:203.0.113.7:5060",
                                      "0a4f113b", 1, header)) {
    // The peer's realm, nonce and opaque go back into our request: no header injection.
    FUZZ_CHECK(header.find('\r') == std::string::npos);
    FUZZ_CHECK(header.find('\n') == std::string::npos);
  } else {
    FUZZ_CHECK(header.empty());
  }
}

void check_parsed(const SipResponse& r, std::string_view in) {
  FUZZ_CHECK(r.status_code >= 100 && r.status_code <= 699);
  FUZZ_CHECK(!r.via_transport.empty());
  FUZZ_CHECK(!r.call_id.empty());
  FUZZ_CHECK(!r.cseq_method.empty());
  FUZZ_CHECK(r.cseq_number <= 0x7fffffffU);
  FUZZ_CHECK(r.challenge_count <= stx::kMaxChallenges);
  FUZZ_CHECK(r.challenge_count == 0 || r.status_code == 401 || r.status_code == 407);
  FUZZ_CHECK(r.message_length <= in.size());
  FUZZ_CHECK(r.content_length <= r.message_length);
  std::size_t sum = touch(r.reason, in) + touch(r.via_transport, in) + touch(r.via_branch, in) +
                    touch(r.call_id, in) + touch(r.cseq_method, in) + touch(r.to_tag, in) +
                    touch(r.server, in);
  for (std::size_t i = 0; i < r.challenge_count; ++i) {
    FUZZ_CHECK(!r.challenges[i].empty());
    sum += touch(r.challenges[i], in);
  }
  FUZZ_CHECK(sum >= r.call_id.size());
  if (r.challenge_count > 0) check_digest(r);
}

// Where the start line begins: after the keepalive CRLFs (or bare LFs) the parser skips.
std::size_t message_begin(std::string_view in) {
  std::size_t pos = 0;
  while (pos < in.size()) {
    if (in[pos] == '\n') {
      ++pos;
    } else if (in[pos] == '\r' && pos + 1 < in.size() && in[pos + 1] == '\n') {
      pos += 2;
    } else {
      break;
    }
  }
  return pos;
}

// The message alone, without what preceded or followed it, parses to the same fields.
void check_reparse(const SipResponse& r, std::string_view in) {
  const std::size_t begin = message_begin(in);
  FUZZ_CHECK(begin + r.message_length <= in.size());
  const std::string copy(in.substr(begin, r.message_length));
  SipResponse again;
  FUZZ_CHECK(stx::parse_sip_response(copy, again) == SipParseError::ok);
  FUZZ_CHECK(again.status_code == r.status_code && again.reason == r.reason);
  FUZZ_CHECK(again.via_transport == r.via_transport && again.via_branch == r.via_branch);
  FUZZ_CHECK(again.call_id == r.call_id && again.to_tag == r.to_tag);
  FUZZ_CHECK(again.cseq_number == r.cseq_number && again.cseq_method == r.cseq_method);
  FUZZ_CHECK(again.server == r.server && again.retry_after == r.retry_after);
  FUZZ_CHECK(again.challenge_count == r.challenge_count);
  for (std::size_t i = 0; i < r.challenge_count; ++i) {
    FUZZ_CHECK(again.challenges[i] == r.challenges[i]);
  }
  FUZZ_CHECK(again.content_length == r.content_length);
  FUZZ_CHECK(again.message_length == r.message_length);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  SipResponse r;
  const SipParseError e = stx::parse_sip_response(in, r);
  FUZZ_CHECK(!stx::to_string(e).empty());
  if (e == SipParseError::ok) {
    check_parsed(r, in);
    check_reparse(r, in);
  }
  if (size > stx::kMaxSipMessageSize) FUZZ_CHECK(e == SipParseError::too_large);
  return 0;
}
