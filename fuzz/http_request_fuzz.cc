// The HTTP request path as an unauthenticated client drives it: the bytes of one connection,
// delivered in pieces, through HttpRequestReader (Beast's parser within our limits), the
// basic auth header check the HTTP thread makes before any bcrypt, and handle_web_request
// (router, query parsing, /probe parameters), for every request the bytes hold.
//
// Input: one byte choosing the read size (1 + byte % 64, or 4096 when it is 0), then the
// bytes the client sends.
#include <boost/beast/core/flat_buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "exporter/http_request_reader.h"
#include "exporter/web.h"
#include "exporter/web_config.h"
#include "fuzz/fuzz_check.h"

namespace {

// bcrypt (cost 4) of "secret" for user "prometheus": only the quick check runs here.
const stx::BasicAuth& auth() {
  static const stx::BasicAuth a(std::map<std::string, std::string>{
      {"prometheus", "$2y$04$8NMdKCqmyzM/uhEAmz3lR.mDLGLNsmjtVji8KLjsDaTB4xa3pKane"}});
  return a;
}

stx::WebRoutes routes() {
  stx::WebRoutes r;
  r.metrics = [] { return std::make_unique<stx::StringSource>("sip_target_up 1\n"); };
  r.status = [] { return stx::StatusSnapshot{}; };
  r.status_of = [](std::string_view) { return stx::StatusSnapshot{}; };
  r.ready = [] { return true; };
  r.probe = [](const stx::ProbeRequest& req, const stx::Respond& respond) {
    FUZZ_CHECK(!req.target.empty());
    respond(stx::WebResponse{});
  };
  r.reload = [](const stx::Respond& respond) { respond(stx::WebResponse{}); };
  return r;
}

void serve(const stx::HttpRequestReader& reader) {
  const stx::WebRequest wr = stx::to_web_request(reader);
  FUZZ_CHECK(!wr.target.empty() && wr.target.front() == '/');
  const auto authorization = reader.request()["Authorization"];
  (void)auth().quick_check(std::string_view(authorization.data(), authorization.size()));
  int responses = 0;
  stx::handle_web_request(wr, routes(), [&](const stx::WebResponse& w) {
    ++responses;
    FUZZ_CHECK(w.status >= 200 && w.status <= 599);
  });
  FUZZ_CHECK(responses == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = data[0] == 0 ? 4096 : 1 + data[0] % 64;
  const std::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);

  stx::HttpRequestReader reader;
  boost::beast::flat_buffer buffer;
  std::size_t at = 0;
  while (true) {
    const stx::HttpRequestReader::Status st = reader.feed(buffer);
    if (st == stx::HttpRequestReader::Status::rejected) {
      const int s = reader.reject_status();
      FUZZ_CHECK(s == 400 || s == 413 || s == 431);
      FUZZ_CHECK(reader.reject_reason().find_first_of("\r\n") == std::string::npos);
      return 0;  // the server answers and closes
    }
    if (st == stx::HttpRequestReader::Status::done) {
      serve(reader);
      reader.reset();  // a pipelined request may follow
      continue;
    }
    // What an unfinished request holds stays within its bound.
    FUZZ_CHECK(buffer.size() <= stx::kMaxRequestBytes + piece);
    if (at == wire.size()) return 0;
    const std::size_t n = std::min(piece, wire.size() - at);
    const auto out = buffer.prepare(n);
    std::memcpy(out.data(), wire.data() + at, n);
    buffer.commit(n);
    at += n;
  }
}
