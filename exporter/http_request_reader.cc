#include "exporter/http_request_reader.h"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/beast/http/error.hpp>
#include <exception>
#include <functional>
#include <iterator>

namespace stx {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t kMinChunkedPut = 5;  // "0\r\n\r\n"

// How many Host field lines the request has.
std::size_t host_count(const HttpRequestReader::Request& req) {
  const auto range = req.equal_range(http::field::host);
  return static_cast<std::size_t>(std::distance(range.first, range.second));
}

}  // namespace

std::optional<std::string> origin_form(std::string_view target) {
  if (target.find('#') != std::string_view::npos) return std::nullopt;  // never sent
  if (!target.empty() && target.front() == '/') return std::string(target);
  // The scheme is case-insensitive (RFC 9110 4.2.3).
  std::size_t scheme = 0;
  if (boost::algorithm::istarts_with(target, "http://")) {
    scheme = 7;
  } else if (boost::algorithm::istarts_with(target, "https://")) {
    scheme = 8;
  } else {
    return std::nullopt;
  }
  // The authority ends at the first '/', '?' or '#'; the server answers for itself whatever
  // host it names, as it does for Host.
  const std::size_t end = target.find_first_of("/?", scheme);
  const std::string_view authority = target.substr(scheme, end - scheme);
  if (authority.empty()) return std::nullopt;  // "http:///path"
  // RFC 9110 4.2.4: userinfo in an http(s) URI is refused.
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  if (end == std::string_view::npos) return std::string("/");
  if (target[end] == '/') return std::string(target.substr(end));
  return "/" + std::string(target.substr(end));
}

WebRequest to_web_request(const HttpRequestReader& reader) {
  const auto& req = reader.request();
  auto view = [](boost::beast::string_view v) { return std::string_view(v.data(), v.size()); };
  WebRequest wr;
  wr.method = view(req.method_string());
  wr.target = reader.target();
  wr.accept_encoding = view(req[http::field::accept_encoding]);
  wr.accept = view(req[http::field::accept]);
  wr.scrape_timeout = view(req["X-Prometheus-Scrape-Timeout-Seconds"]);
  return wr;
}

void HttpRequestReader::reset() {
  parser_.emplace();
  // One step per put(): the header checks below run before any body byte is parsed.
  parser_->eager(false);
  parser_->header_limit(kMaxRequestHeaderBytes);
  parser_->body_limit(kMaxRequestBodyBytes);
  chunk_callback_ = [this](std::uint64_t size, boost::beast::string_view extensions,
                           boost::beast::error_code& ec) { on_chunk_header(size, extensions, ec); };
  parser_->on_chunk_header(chunk_callback_);
  consumed_ = 0;
  extension_bytes_ = 0;
  header_fields_ = 0;
  target_.clear();
  reject_status_ = 0;
  reject_reason_.clear();
}

void HttpRequestReader::on_chunk_header(std::uint64_t /*size*/,
                                        boost::beast::string_view extensions,
                                        boost::beast::error_code& ec) {
  extension_bytes_ += extensions.size();
  if (extension_bytes_ > kMaxChunkExtensionBytes) ec = http::error::bad_chunk_extension;
}

HttpRequestReader::Status HttpRequestReader::reject(int status, std::string reason) {
  reject_status_ = status;
  reject_reason_ = std::move(reason);
  return Status::rejected;
}

HttpRequestReader::Status HttpRequestReader::need_more(const boost::beast::flat_buffer& buffer) {
  // Beast's header_limit bounds what is still unparsed, not the request line and the fields
  // it has parsed already: the whole header is bounded here. While it is incomplete, every
  // buffered byte belongs to it.
  if (!parser_->is_header_done() && consumed_ + buffer.size() > kMaxRequestHeaderBytes) {
    return reject(431, "request header fields too large");
  }
  // What this request holds buffered, parsed or not, stays within one bound.
  if (consumed_ + buffer.size() > kMaxRequestBytes) return reject(413, "request too large");
  return Status::need_more;
}

HttpRequestReader::Status HttpRequestReader::check_header() {
  // Parsed in one piece, a header is checked only once complete (consumed_ is its size).
  if (consumed_ > kMaxRequestHeaderBytes) return reject(431, "request header fields too large");
  const Request& req = parser_->get();
  header_fields_ = static_cast<std::size_t>(std::distance(req.begin(), req.end()));
  // Beast ignores a Transfer-Encoding that does not end in chunked and would read the body
  // as the next request; RFC 9112 6.1 and 6.3: refuse it, and any on HTTP/1.0.
  if (req.find(http::field::transfer_encoding) != req.end() &&
      (!parser_->chunked() || req.version() < 11)) {
    return reject(400, "unsupported Transfer-Encoding");
  }
  // No route takes a body; GET and HEAD must not stream one at all.
  const auto method = req.method();
  if (parser_->chunked() && (method == http::verb::get || method == http::verb::head)) {
    return reject(400, "a GET or HEAD request takes no chunked body");
  }
  return Status::need_more;
}

HttpRequestReader::Status HttpRequestReader::feed(boost::beast::flat_buffer& buffer) {
  if (reject_status_ != 0) return Status::rejected;
  try {
    while (!parser_->is_done()) {
      // Beast 1.74 asserts n >= 5 when it re-reads a last chunk that was incomplete, though
      // fewer bytes are valid there (boostorg/beast#2861); a build with assertions on would
      // abort on a request fed in small pieces. A chunked body always ends in at least five
      // bytes that stay buffered until it is complete, so waiting for five loses nothing.
      if (parser_->is_header_done() && parser_->chunked() && buffer.size() < kMinChunkedPut) {
        return need_more(buffer);
      }
      const bool had_header = parser_->is_header_done();
      boost::beast::error_code ec;
      const std::size_t used = parser_->put(buffer.data(), ec);
      buffer.consume(used);
      consumed_ += used;
      if (ec == http::error::need_more || (!ec && used == 0)) return need_more(buffer);
      if (ec == http::error::header_limit) return reject(431, ec.message());
      if (ec == http::error::body_limit) return reject(413, ec.message());
      if (ec == http::error::bad_chunk_extension && extension_bytes_ > kMaxChunkExtensionBytes) {
        return reject(400, "chunk extensions too large");
      }
      if (ec) return reject(400, ec.message());
      if (consumed_ > kMaxRequestBytes) return reject(413, "request too large");
      if (!had_header && parser_->is_header_done() && check_header() == Status::rejected) {
        return Status::rejected;
      }
    }
  } catch (const std::exception& e) {
    // Beast's field container throws on values it cannot store; the request is refused, the
    // connection and every other one go on.
    return reject(400, std::string("malformed request: ") + e.what());
  }
  return finish();
}

HttpRequestReader::Status HttpRequestReader::finish() {
  const Request& req = parser_->get();
  // Beast adds trailer fields to the header's: a Host, Authorization or Connection there
  // would count as the header's. No route needs a trailer.
  if (static_cast<std::size_t>(std::distance(req.begin(), req.end())) != header_fields_) {
    return reject(400, "trailer fields are not accepted");
  }
  const std::size_t hosts = host_count(req);
  // RFC 9112 3.2: an HTTP/1.1 request without Host, or any with more than one, gets 400.
  if (hosts > 1) return reject(400, "more than one Host header");
  if (hosts == 0 && req.version() >= 11) return reject(400, "missing Host header");
  const std::string_view raw(req.target().data(), req.target().size());
  auto target = origin_form(raw);
  if (!target) return reject(400, "malformed request target");
  target_ = std::move(*target);
  return Status::done;
}

}  // namespace stx
