#pragma once
// Reads one HTTP/1.x request from a connection's bytes within fixed limits, and checks what
// RFC 9112 asks of it (Host, request-target forms). Transport-free: the server feeds it what
// it reads, the HTTP fuzz target feeds it anything. Every limit is in SECURITY.md.
#include <utility>  // Boost 1.74 Asio under C++20 needs std::exchange declared first.

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "exporter/web.h"

namespace stx {

// Request line and header fields.
inline constexpr std::uint32_t kMaxRequestHeaderBytes = 8 * 1024;
// The body after chunked decoding.
inline constexpr std::uint64_t kMaxRequestBodyBytes = 4 * 1024;
// Chunk extensions, summed over the request's chunks.
inline constexpr std::size_t kMaxChunkExtensionBytes = 1024;
// Everything of one request on the wire: line, headers, chunk framing and extensions,
// trailers, body. Bounds what a connection buffers while a request is incomplete.
inline constexpr std::size_t kMaxRequestBytes = 16 * 1024;

class HttpRequestReader {
 public:
  enum class Status { need_more, done, rejected };
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  HttpRequestReader() { reset(); }
  // The parser holds a reference to chunk_callback_, which captures this.
  HttpRequestReader(const HttpRequestReader&) = delete;
  HttpRequestReader& operator=(const HttpRequestReader&) = delete;

  // Forgets the previous request; the next feed() starts a new one.
  void reset();
  // Parses what `buffer` holds and consumes what belongs to this request (bytes of a
  // pipelined next request stay). need_more: feed again once more bytes are in `buffer`.
  // Never throws.
  Status feed(boost::beast::flat_buffer& buffer);

  // After done: the request, and its target in origin form ("/path?query"; an absolute-form
  // "http://host/path" target is reduced to its path).
  const Request& request() const { return parser_->get(); }
  std::string_view target() const { return target_; }
  // After rejected: the status to answer (400, 413, 431) and why, one line.
  int reject_status() const { return reject_status_; }
  const std::string& reject_reason() const { return reject_reason_; }

 private:
  Status reject(int status, std::string reason);
  Status need_more(const boost::beast::flat_buffer& buffer);
  // Once the header is parsed: what it may not ask for.
  Status check_header();
  Status finish();
  // Called by the parser for every chunk header.
  void on_chunk_header(std::uint64_t size, boost::beast::string_view extensions,
                       boost::beast::error_code& ec);

  // Declared before the parser that refers to it, so it outlives the parser.
  std::function<void(std::uint64_t, boost::beast::string_view, boost::beast::error_code&)>
      chunk_callback_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::size_t consumed_ = 0;         // bytes of this request parsed so far
  std::size_t extension_bytes_ = 0;  // chunk extensions seen so far
  std::size_t header_fields_ = 0;    // fields in the header (trailers would add more)
  std::string target_;
  int reject_status_ = 0;
  std::string reject_reason_;
};

// What the routes see of a request the reader is done with; views into `reader`.
WebRequest to_web_request(const HttpRequestReader& reader);

// The origin-form path and query of a request-target, or nullopt when it is neither
// origin-form ("/...") nor an absolute-form http(s) URI (RFC 9112 3.2.1, 3.2.2).
// "*" and authority-form are refused: no route takes them.
std::optional<std::string> origin_form(std::string_view target);

}  // namespace stx
