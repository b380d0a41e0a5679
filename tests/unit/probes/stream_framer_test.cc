#include "probes/stream_framer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sip/sip_response.h"

namespace stx {
namespace {

// What a framer produced, in order: "M:<message>", "P" (pong), "E:<error>".
std::vector<std::string> drain(StreamFramer& f) {
  std::vector<std::string> out;
  for (;;) {
    const FrameEvent ev = f.next();
    switch (ev.kind) {
      case FrameKind::need_more:
        return out;
      case FrameKind::message:
        out.push_back("M:" + std::string(ev.message));
        break;
      case FrameKind::pong:
        out.emplace_back("P");
        break;
      case FrameKind::error:
        out.push_back("E:" + std::string(to_string(ev.error)));
        return out;
    }
  }
}

std::vector<std::string> feed(StreamFramer& f, std::string_view bytes) {
  f.append(bytes);
  return drain(f);
}

void append_all(std::vector<std::string>& to, const std::vector<std::string>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

std::string response(std::string_view extra_headers, std::string_view body,
                     std::string_view length_header = "Content-Length") {
  std::string m =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK1\r\n"
      "Call-ID: abc\r\n"
      "CSeq: 1 OPTIONS\r\n";
  m += extra_headers;
  m += std::string(length_header) + ": " + std::to_string(body.size()) + "\r\n\r\n";
  m += body;
  return m;
}

TEST(StreamFramer, OneMessageWithBody) {
  StreamFramer f;
  const std::string m = response("", "v=0\r\n");
  EXPECT_EQ(feed(f, m), std::vector<std::string>{"M:" + m});
  EXPECT_EQ(f.buffered(), 0u);
  EXPECT_EQ(f.next().kind, FrameKind::need_more);
}

TEST(StreamFramer, SeveralMessagesInOneAppend) {
  StreamFramer f;
  const std::string a = response("", "");
  const std::string b = response("Server: x\r\n", "hello world");
  const std::string c = response("", "\r\n\r\n");  // CRLFs in a body are body, not keepalives
  EXPECT_EQ(feed(f, a + b + c), (std::vector<std::string>{"M:" + a, "M:" + b, "M:" + c}));
}

TEST(StreamFramer, TrailingPartialMessageWaits) {
  StreamFramer f;
  const std::string a = response("", "x");
  const std::string b = response("", "yz");
  EXPECT_EQ(feed(f, a + b.substr(0, 10)), std::vector<std::string>{"M:" + a});
  EXPECT_EQ(f.buffered(), 10u);
  EXPECT_EQ(feed(f, b.substr(10)), std::vector<std::string>{"M:" + b});
}

// A stream of messages and pongs, cut in two at every position and fed byte by byte,
// always yields the same events.
TEST(StreamFramer, SplitAtEveryPosition) {
  const std::string a = response("", "");
  const std::string b = response("User-Agent: ua\r\n", "body\r\nwith lines\r\n");
  const std::string c = response("", "", "l");
  const std::string stream = a + "\r\n" + b + c;
  const std::vector<std::string> want = {"M:" + a, "P", "M:" + b, "M:" + c};

  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    StreamFramer f;
    auto got = feed(f, std::string_view(stream).substr(0, cut));
    append_all(got, feed(f, std::string_view(stream).substr(cut)));
    EXPECT_EQ(got, want) << "cut at " << cut;
  }

  StreamFramer f;
  std::vector<std::string> got;
  for (char ch : stream) append_all(got, feed(f, std::string_view(&ch, 1)));
  EXPECT_EQ(got, want);
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(StreamFramer, CompactFormAndCaseInsensitiveNames) {
  for (std::string_view header :
       {"l: 3", "L:3", "content-length: 3", "CONTENT-LENGTH:3", "Content-Length :\t3",
        "Content-Length:   3   ", "Content-Length: 3\t", "Content-Length:\r\n 3"}) {
    StreamFramer f;
    const std::string m = "SIP/2.0 200 OK\r\nCall-ID: a\r\n" + std::string(header) + "\r\n\r\nabc";
    EXPECT_EQ(feed(f, m + "SIP/2.0"), std::vector<std::string>{"M:" + m}) << header;
  }
}

TEST(StreamFramer, OtherHeadersNamedLikeContentLengthDoNotCount) {
  StreamFramer f;
  const std::string m =
      "SIP/2.0 200 OK\r\nX-Content-Length: 99\r\nLength: 7\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(feed(f, m), std::vector<std::string>{"M:" + m});
}

TEST(StreamFramer, BareLfLineEndings) {
  StreamFramer f;
  const std::string m = "SIP/2.0 200 OK\nCall-ID: a\nContent-Length: 2\n\nok";
  const std::string n = "SIP/2.0 200 OK\nContent-Length: 0\n\r\n";
  EXPECT_EQ(feed(f, m + n), (std::vector<std::string>{"M:" + m, "M:" + n}));
}

TEST(StreamFramer, BareCrlfIsAPong) {
  StreamFramer f;
  EXPECT_EQ(feed(f, "\r\n"), std::vector<std::string>{"P"});
  EXPECT_EQ(feed(f, "\r"), std::vector<std::string>{});  // a lone CR decides nothing yet
  EXPECT_EQ(feed(f, "\n"), std::vector<std::string>{"P"});
  const std::string m = response("", "");
  EXPECT_EQ(feed(f, "\r\n" + m + "\r\n"), (std::vector<std::string>{"P", "M:" + m, "P"}));
  EXPECT_EQ(f.pings_received(), 0u);
}

TEST(StreamFramer, DoubleCrlfIsThePeersPingAndIsSkipped) {
  StreamFramer f;
  EXPECT_EQ(feed(f, "\r\n\r\n"), std::vector<std::string>{});
  EXPECT_EQ(f.pings_received(), 1u);
  EXPECT_EQ(feed(f, "\r\n\r"), std::vector<std::string>{});  // could still be a ping
  EXPECT_EQ(feed(f, "\n"), std::vector<std::string>{});
  EXPECT_EQ(f.pings_received(), 2u);
  const std::string m = response("", "");
  EXPECT_EQ(feed(f, "\r\n\r\n" + m), std::vector<std::string>{"M:" + m});
  EXPECT_EQ(f.pings_received(), 3u);
  // A pong right after a ping: CRLFCRLF then CRLF.
  EXPECT_EQ(feed(f, "\r\n\r\n\r\n"), std::vector<std::string>{"P"});
  EXPECT_EQ(f.pings_received(), 4u);
  EXPECT_EQ(f.buffered(), 0u);
}

// Documented limit: a peer's ping split between its two CRLFs reads as two pongs.
TEST(StreamFramer, PingSplitInTheMiddleReadsAsPongs) {
  StreamFramer f;
  EXPECT_EQ(feed(f, "\r\n"), std::vector<std::string>{"P"});
  EXPECT_EQ(feed(f, "\r\n"), std::vector<std::string>{"P"});
  EXPECT_EQ(f.pings_received(), 0u);
}

TEST(StreamFramer, StrayLineFeedsBeforeAMessageAreSkipped) {
  StreamFramer f;
  const std::string m = response("", "");
  EXPECT_EQ(feed(f, "\n\n" + m), std::vector<std::string>{"M:" + m});
}

TEST(StreamFramer, ContentLengthLargerThanTheDataWaits) {
  StreamFramer f;
  const std::string head = "SIP/2.0 200 OK\r\nContent-Length: 100\r\n\r\n";
  EXPECT_EQ(feed(f, head + std::string(10, 'x')), std::vector<std::string>{});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(f.next().kind, FrameKind::need_more);
  EXPECT_FALSE(f.dead());
  EXPECT_EQ(feed(f, std::string(89, 'y')), std::vector<std::string>{});
  EXPECT_EQ(feed(f, "z"), std::vector<std::string>{"M:" + head + std::string(10, 'x') +
                                                   std::string(89, 'y') + "z"});
}

TEST(StreamFramer, MissingContentLengthIsAnErrorAndTheFramerStaysDead) {
  StreamFramer f;
  const std::string a = response("", "");
  EXPECT_EQ(feed(f, a + "SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n" + a),
            (std::vector<std::string>{"M:" + a, "E:missing_content_length"}));
  EXPECT_TRUE(f.dead());
  EXPECT_EQ(feed(f, a), std::vector<std::string>{"E:missing_content_length"});
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(StreamFramer, BadContentLength) {
  for (std::string_view header :
       {"Content-Length: abc", "Content-Length: -1", "Content-Length:", "Content-Length: 3 4",
        "Content-Length: 0x10", "Content-Length: 1.5", "l: +2",
        "Content-Length: 0\r\nContent-Length: 0", "Content-Length: 0\r\nl: 4"}) {
    StreamFramer f;
    const std::string m = "SIP/2.0 200 OK\r\n" + std::string(header) + "\r\n\r\n";
    EXPECT_EQ(feed(f, m), std::vector<std::string>{"E:bad_content_length"}) << header;
    EXPECT_TRUE(f.dead());
  }
}

TEST(StreamFramer, ContentLengthBeyondTheMessageLimitIsTooLarge) {
  StreamFramer f;
  EXPECT_EQ(feed(f, "SIP/2.0 200 OK\r\nContent-Length: 70000\r\n\r\n"),
            std::vector<std::string>{"E:too_large"});
  StreamFramer g;
  EXPECT_EQ(feed(g, "SIP/2.0 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            std::vector<std::string>{"E:too_large"});
}

TEST(StreamFramer, MessageOfExactlyTheLimitPasses) {
  StreamFramer f;
  const std::string head = "SIP/2.0 200 OK\r\nContent-Length: 00000\r\n\r\n";
  const std::size_t body = kMaxSipMessageSize - head.size();
  const std::string m = "SIP/2.0 200 OK\r\nContent-Length: " + std::to_string(body) + "\r\n\r\n" +
                        std::string(body, 'b');
  ASSERT_EQ(m.size(), kMaxSipMessageSize);
  EXPECT_EQ(feed(f, m), std::vector<std::string>{"M:" + m});
  StreamFramer g;
  const std::string over =
      "SIP/2.0 200 OK\r\nContent-Length: " + std::to_string(body + 1) + "\r\n\r\n";
  EXPECT_EQ(feed(g, over), std::vector<std::string>{"E:too_large"});
}

TEST(StreamFramer, HeaderBlockOverTheLimitIsTooLargeEvenWhenTerminated) {
  StreamFramer f;
  const std::string m = "SIP/2.0 200 OK\r\nX-Big: " + std::string(kMaxStreamHeaderBytes, 'a') +
                        "\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(feed(f, m), std::vector<std::string>{"E:too_large"});
}

// A peer sending a 1 MiB header line in reads of 4 KiB: the error comes once the limit is
// passed, long before the line ends, and the buffer never grows past the limit plus a read.
TEST(StreamFramer, MegabyteHeaderLineFailsWithBoundedMemory) {
  StreamFramer f;
  std::string chunk(4096, 'h');
  EXPECT_EQ(feed(f, "SIP/2.0 200 OK\r\nX-Huge: "), std::vector<std::string>{});
  std::size_t appended = 0;
  std::size_t max_capacity = 0;
  std::vector<std::string> events;
  while (appended < 1024 * 1024 && events.empty()) {
    events = feed(f, chunk);
    appended += chunk.size();
    max_capacity = std::max(max_capacity, f.capacity());
  }
  EXPECT_EQ(events, std::vector<std::string>{"E:too_large"});
  EXPECT_LE(appended, kMaxStreamHeaderBytes + 2 * chunk.size());
  EXPECT_LE(max_capacity, 2 * (kMaxStreamHeaderBytes + chunk.size()));
  EXPECT_TRUE(f.dead());
  EXPECT_EQ(f.capacity(), std::string().capacity());  // released once dead

  // All at once: the same error, and nothing kept.
  StreamFramer g;
  EXPECT_EQ(feed(g, "SIP/2.0 200 OK\r\nX-Huge: " + std::string(1024 * 1024, 'h') + "\r\n"),
            std::vector<std::string>{"E:too_large"});
  EXPECT_EQ(g.capacity(), std::string().capacity());
}

TEST(StreamFramer, NoLineEndingAtAllIsTooLarge) {
  StreamFramer f;
  EXPECT_EQ(feed(f, std::string(kMaxStreamHeaderBytes + 3, 'x')),
            std::vector<std::string>{"E:too_large"});
}

// Once warm, framing messages does not grow the buffer: consumed bytes are compacted.
TEST(StreamFramer, BufferIsReusedAcrossMessages) {
  StreamFramer f;
  const std::string m = response("", std::string(300, 'b'));
  const std::string two = m + m.substr(0, 200);
  ASSERT_EQ(feed(f, two).size(), 1u);
  ASSERT_EQ(feed(f, m.substr(200) + two).size(), 2u);
  const std::size_t warm = f.capacity();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(feed(f, m.substr(200) + two).size(), 2u);
  }
  EXPECT_EQ(f.capacity(), warm);
}

TEST(StreamFramer, ResetForgetsAPartialMessageAndAnError) {
  StreamFramer f;
  EXPECT_EQ(feed(f, "SIP/2.0 200 OK\r\n\r\n"),
            std::vector<std::string>{"E:missing_content_length"});
  f.reset();
  EXPECT_FALSE(f.dead());
  const std::string m = response("", "");
  EXPECT_EQ(feed(f, m.substr(0, 20)), std::vector<std::string>{});
  f.reset();
  EXPECT_EQ(feed(f, m), std::vector<std::string>{"M:" + m});
}

}  // namespace
}  // namespace stx
