// Reading one HTTP request within the limits SECURITY.md states, fed as a network delivers
// it: in pieces, several requests back to back, and hostile shapes that once crashed the
// exporter or grew its memory without bound.
#include "exporter/http_request_reader.h"

#include <boost/asio/buffer.hpp>
#include <string>

#include <gtest/gtest.h>

namespace stx {
namespace {

using Status = HttpRequestReader::Status;

// Feeds `wire` in pieces of `piece` bytes, as reads would deliver it, until the reader
// settles; `left` gets what stays in the buffer (a pipelined request's bytes).
Status feed_all(HttpRequestReader& reader, const std::string& wire, std::size_t piece = 4096,
                std::string* left = nullptr, std::size_t* fed = nullptr) {
  boost::beast::flat_buffer buffer;
  std::size_t at = 0;
  Status st = Status::need_more;
  while (st == Status::need_more && at < wire.size()) {
    const std::size_t n = std::min(piece, wire.size() - at);
    boost::asio::buffer_copy(buffer.prepare(n), boost::asio::buffer(wire.data() + at, n));
    buffer.commit(n);
    at += n;
    st = reader.feed(buffer);
    // What a connection holds for an unfinished request stays bounded.
    EXPECT_LE(buffer.size(), kMaxRequestBytes + piece);
  }
  if (left != nullptr) {
    const auto d = buffer.data();
    *left = std::string(static_cast<const char*>(d.data()), d.size());
  }
  if (fed != nullptr) *fed = at;
  return st;
}

std::string get(std::string_view target, std::string_view more = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + std::string(more) +
         "\r\n";
}

std::string chunked_post(std::string_view chunks_and_trailers) {
  return "POST /-/reload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
         std::string(chunks_and_trailers);
}

TEST(HttpRequestReader, ReadsARequestInAnyPieces) {
  const std::string wire = get("/metrics?x=1", "Accept-Encoding: gzip\r\n");
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, wire.size()}) {
    HttpRequestReader reader;
    ASSERT_EQ(feed_all(reader, wire, piece), Status::done) << piece;
    EXPECT_EQ(reader.target(), "/metrics?x=1");
    EXPECT_EQ(reader.request()["Accept-Encoding"], "gzip");
  }
}

TEST(HttpRequestReader, LeavesAPipelinedRequestInTheBuffer) {
  HttpRequestReader reader;
  std::string left;
  ASSERT_EQ(feed_all(reader, get("/a") + get("/b"), 65536, &left), Status::done);
  EXPECT_EQ(reader.target(), "/a");
  EXPECT_EQ(left, get("/b"));
  reader.reset();
  ASSERT_EQ(feed_all(reader, left), Status::done);
  EXPECT_EQ(reader.target(), "/b");
}

// In pieces of every size: Beast 1.74 asserted on a last chunk re-read with fewer than five
// bytes (found by http_request_fuzz; the sanitizer builds, which keep assertions, run this).
TEST(HttpRequestReader, SmallChunkedBodyWithExtensionsIsReadInAnyPieces) {
  for (const std::string& body :
       {std::string("3;a=b\r\nabc\r\n0\r\n\r\n"), std::string("3\r\nabc\r\n0;last\r\n\r\n"),
        std::string("0\r\n\r\n")}) {
    for (std::size_t piece = 1; piece <= 8; ++piece) {
      HttpRequestReader reader;
      ASSERT_EQ(feed_all(reader, chunked_post(body), piece), Status::done) << piece << body;
      EXPECT_EQ(reader.request().body(), body[0] == '0' ? "" : "abc");
    }
  }
}

// Beast merges trailer fields into the header's: a Host, Authorization or Connection sent
// there must not count. No route needs a trailer.
TEST(HttpRequestReader, TrailerFieldsAreRefused) {
  const std::string no_host =
      "POST /-/reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\nHost: smuggled\r\n\r\n";
  for (const std::string& wire :
       {no_host, chunked_post("1\r\na\r\n0\r\nAuthorization: Basic eDp5\r\n\r\n"),
        chunked_post("0\r\nX-Trailer: t\r\n\r\n")}) {
    HttpRequestReader reader;
    EXPECT_EQ(feed_all(reader, wire), Status::rejected) << wire;
    EXPECT_EQ(reader.reject_status(), 400);
    EXPECT_EQ(reader.reject_reason(), "trailer fields are not accepted");
  }
}

// RFC 9112 6.1, 6.3: Beast 1.74 ignores a Transfer-Encoding that does not end in chunked and
// would parse the body as the next request.
TEST(HttpRequestReader, TransferEncodingOtherThanChunkedIsRefused) {
  for (const std::string& wire :
       {std::string("POST /-/reload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"
                    "GET /metrics HTTP/1.1\r\nHost: h\r\n\r\n"),
        std::string("POST /-/reload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, "
                    "identity\r\n\r\n"),
        std::string("POST /-/reload HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")}) {
    HttpRequestReader reader;
    EXPECT_EQ(feed_all(reader, wire), Status::rejected) << wire;
    EXPECT_EQ(reader.reject_status(), 400);
    EXPECT_EQ(reader.reject_reason(), "unsupported Transfer-Encoding");
  }
}

// It once killed the process: Beast throws std::length_error for a field value of 64 KiB,
// and a trailer field escaped the header limit.
TEST(HttpRequestReader, A64KiBTrailerFieldIsRefusedWithoutThrowing) {
  for (const char* method : {"GET /-/healthy", "POST /-/reload"}) {
    HttpRequestReader reader;
    const std::string wire = std::string(method) +
                             " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "0\r\nX-T: " +
                             std::string(65534, 'a') + "\r\n\r\n";
    // All at once, too: the parser then sees the whole field in one call.
    for (std::size_t piece : {std::size_t{4096}, wire.size()}) {
      reader.reset();
      EXPECT_EQ(feed_all(reader, wire, piece), Status::rejected) << method;
      EXPECT_NE(reader.reject_status(), 0);
    }
  }
}

TEST(HttpRequestReader, GetAndHeadTakeNoChunkedBody) {
  for (const char* method : {"GET", "HEAD"}) {
    HttpRequestReader reader;
    EXPECT_EQ(feed_all(reader, std::string(method) +
                                   " /metrics HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                                   "chunked\r\n\r\n0\r\n\r\n"),
              Status::rejected);
    EXPECT_EQ(reader.reject_status(), 400);
    EXPECT_EQ(reader.reject_reason(), "a GET or HEAD request takes no chunked body");
  }
}

TEST(HttpRequestReader, AHugeChunkExtensionIsCutOffEarly) {
  // 256 MB of extension, offered 4 KiB at a time: refused once the request passes its bound.
  std::string wire = chunked_post("1;x=");
  wire += std::string(256 * 1024, 'a');  // enough to cross every bound many times over
  HttpRequestReader reader;
  std::size_t fed = 0;
  EXPECT_EQ(feed_all(reader, wire, 4096, nullptr, &fed), Status::rejected);
  EXPECT_EQ(reader.reject_status(), 413);
  EXPECT_LE(fed, kMaxRequestBytes + 4096);
}

TEST(HttpRequestReader, ChunkExtensionsAreBoundedAcrossChunks) {
  std::string chunks;
  for (int i = 0; i < 12; ++i) chunks += "1;e=" + std::string(96, 'x') + "\r\na\r\n";
  HttpRequestReader reader;
  EXPECT_EQ(feed_all(reader, chunked_post(chunks + "0\r\n\r\n")), Status::rejected);
  EXPECT_EQ(reader.reject_status(), 400);
  EXPECT_EQ(reader.reject_reason(), "chunk extensions too large");
}

TEST(HttpRequestReader, ManySmallTrailerFieldsAreBounded) {
  std::string trailers;
  for (int i = 0; i < 200'000; ++i) trailers += "X-" + std::to_string(i) + ": v\r\n";
  HttpRequestReader reader;
  std::size_t fed = 0;
  EXPECT_EQ(
      feed_all(reader, chunked_post("1\r\na\r\n0\r\n" + trailers + "\r\n"), 4096, nullptr, &fed),
      Status::rejected);
  EXPECT_EQ(reader.reject_status(), 413);
  EXPECT_LE(fed, kMaxRequestBytes + 4096);
}

TEST(HttpRequestReader, HeaderAndBodyLimits) {
  HttpRequestReader reader;
  EXPECT_EQ(feed_all(reader, get("/metrics", "X-Big: " + std::string(9000, 'a') + "\r\n")),
            Status::rejected);
  EXPECT_EQ(reader.reject_status(), 431);

  // A request line and fields that are each under 8 KiB but not together.
  for (std::size_t piece : {std::size_t{1024}, std::size_t{4096}, std::size_t{65536}}) {
    reader.reset();
    EXPECT_EQ(feed_all(reader,
                       get("/metrics?" + std::string(5000, 'q'),
                           "X-Half: " + std::string(5000, 'f') + "\r\n"),
                       piece),
              Status::rejected)
        << piece;
    EXPECT_EQ(reader.reject_status(), 431) << piece;
  }

  reader.reset();
  EXPECT_EQ(feed_all(reader, "POST /-/reload HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n\r\n" +
                                 std::string(5000, 'a')),
            Status::rejected);
  EXPECT_EQ(reader.reject_status(), 413);

  // Chunks that add up past the body limit.
  std::string chunks;
  for (int i = 0; i < 5; ++i) chunks += "400\r\n" + std::string(1024, 'b') + "\r\n";
  reader.reset();
  EXPECT_EQ(feed_all(reader, chunked_post(chunks + "0\r\n\r\n")), Status::rejected);
  EXPECT_EQ(reader.reject_status(), 413);

  // Just inside every limit.
  reader.reset();
  EXPECT_EQ(feed_all(reader, get("/metrics?" + std::string(7000, 'a'))), Status::done);
  reader.reset();
  EXPECT_EQ(feed_all(reader, "POST /-/reload HTTP/1.1\r\nHost: h\r\nContent-Length: 4096\r\n\r\n" +
                                 std::string(4096, 'a')),
            Status::done);
}

// RFC 9112 3.2: Host is required in HTTP/1.1 and must not repeat.
TEST(HttpRequestReader, HostRules) {
  HttpRequestReader reader;
  EXPECT_EQ(feed_all(reader, "GET /metrics HTTP/1.1\r\n\r\n"), Status::rejected);
  EXPECT_EQ(reader.reject_status(), 400);
  EXPECT_EQ(reader.reject_reason(), "missing Host header");

  reader.reset();
  EXPECT_EQ(feed_all(reader, "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
            Status::rejected);
  EXPECT_EQ(reader.reject_reason(), "more than one Host header");

  reader.reset();
  EXPECT_EQ(feed_all(reader, "GET /metrics HTTP/1.0\r\n\r\n"), Status::done)
      << "HTTP/1.0 has no Host requirement";
  reader.reset();
  EXPECT_EQ(feed_all(reader, "GET /metrics HTTP/1.1\r\nHost:\r\n\r\n"), Status::done)
      << "an empty Host is allowed (no authority in the URI)";
}

TEST(HttpRequestReader, AbsoluteFormTargetsAreServed) {
  HttpRequestReader reader;
  ASSERT_EQ(feed_all(reader, get("http://exporter.example:9436/metrics?x=1")), Status::done);
  EXPECT_EQ(reader.target(), "/metrics?x=1");
  reader.reset();
  EXPECT_EQ(feed_all(reader, get("*")), Status::rejected);
  EXPECT_EQ(reader.reject_reason(), "malformed request target");
}

TEST(OriginForm, Forms) {
  EXPECT_EQ(origin_form("/metrics"), "/metrics");
  EXPECT_EQ(origin_form("/"), "/");
  EXPECT_EQ(origin_form("http://h/metrics"), "/metrics");
  EXPECT_EQ(origin_form("HTTPS://h:1/probe?target=sip%3Ax"), "/probe?target=sip%3Ax");
  EXPECT_EQ(origin_form("http://h"), "/");
  EXPECT_EQ(origin_form("http://h?x=1"), "/?x=1");
  EXPECT_EQ(origin_form("http://[::1]:9436/-/healthy"), "/-/healthy");
  EXPECT_EQ(origin_form("http:///metrics"), std::nullopt);
  EXPECT_EQ(origin_form("http://h#frag"), std::nullopt);
  EXPECT_EQ(origin_form("http://h/p#frag"), std::nullopt);
  EXPECT_EQ(origin_form("/metrics#frag"), std::nullopt);
  EXPECT_EQ(origin_form("http://user:pw@h/metrics"), std::nullopt);
  EXPECT_EQ(origin_form("ftp://h/metrics"), std::nullopt);
  EXPECT_EQ(origin_form("h:9436"), std::nullopt);
  EXPECT_EQ(origin_form("*"), std::nullopt);
  EXPECT_EQ(origin_form(""), std::nullopt);
}

}  // namespace
}  // namespace stx
