#include "sip/sip_request.h"

#include <charconv>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace stx {
namespace {

// Counts the bytes a build would write, so the buffer is sized once.
struct LengthSink {
  std::size_t size = 0;
  void append(std::string_view s) { size += s.size(); }
};

// Writes into a buffer already sized by a LengthSink pass. A plain copy per piece, which the
// compiler inlines for the literal ones: every probe builds a request.
struct BufferSink {
  char* at;
  void append(std::string_view s) {
    if (s.empty()) return;  // an empty view may have no data pointer, which memcpy forbids
    std::memcpy(at, s.data(), s.size());
    at += s.size();
  }
};

template <typename Sink>
void emit_request(const RequestFields& r, std::string_view cseq, std::string_view body_length,
                  Sink& sink) {
  sink.append(r.method);
  sink.append(" ");
  sink.append(r.request_uri);
  sink.append(" SIP/2.0\r\n");

  sink.append("Via: SIP/2.0/");
  sink.append(r.via_transport);
  sink.append(" ");
  sink.append(r.via_sent_by);
  sink.append(";branch=");
  sink.append(r.branch);
  sink.append(";rport\r\n");

  sink.append("Max-Forwards: 70\r\n");

  sink.append("From: <");
  sink.append(r.from_uri);
  sink.append(">;tag=");
  sink.append(r.from_tag);
  sink.append("\r\n");

  sink.append("To: <");
  sink.append(r.to_uri);
  sink.append(">");
  if (!r.to_tag.empty()) {
    sink.append(";tag=");
    sink.append(r.to_tag);
  }
  sink.append("\r\n");

  sink.append("Call-ID: ");
  sink.append(r.call_id);
  sink.append("\r\n");

  sink.append("CSeq: ");
  sink.append(cseq);
  sink.append(" ");
  sink.append(r.method);
  sink.append("\r\n");

  if (!r.contact_uri.empty()) {
    sink.append("Contact: <");
    sink.append(r.contact_uri);
    sink.append(">\r\n");
  }

  if (!r.user_agent.empty()) {
    sink.append("User-Agent: ");
    sink.append(r.user_agent);
    sink.append("\r\n");
  }

  for (const auto& [name, value] : r.extra_headers) {
    sink.append(name);
    sink.append(": ");
    sink.append(value);
    sink.append("\r\n");
  }

  if (!r.authorization_name.empty()) {
    sink.append(r.authorization_name);
    sink.append(": ");
    sink.append(r.authorization_value);
    sink.append("\r\n");
  }

  if (!r.accept.empty()) {
    sink.append("Accept: ");
    sink.append(r.accept);
    sink.append("\r\n");
  }
  if (!r.body.empty()) {
    sink.append("Content-Type: ");
    sink.append(r.content_type);
    sink.append("\r\n");
  }
  sink.append("Content-Length: ");
  sink.append(body_length);
  sink.append("\r\n\r\n");
  sink.append(r.body);
}

// Appends `v` in decimal.
void append_number(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

}  // namespace

void build_request(const RequestFields& r, std::string& out) {
  char cseq_buf[16];
  const auto res = std::to_chars(cseq_buf, cseq_buf + sizeof(cseq_buf), r.cseq);
  const std::string_view cseq(cseq_buf, static_cast<std::size_t>(res.ptr - cseq_buf));
  char length_buf[16];
  const auto lres = std::to_chars(length_buf, length_buf + sizeof(length_buf), r.body.size());
  const std::string_view body_length(length_buf, static_cast<std::size_t>(lres.ptr - length_buf));

  LengthSink length;
  emit_request(r, cseq, body_length, length);

  out.resize(length.size);  // no allocation when the capacity already suffices
  BufferSink sink{out.data()};
  emit_request(r, cseq, body_length, sink);
}

void build_options(RequestFields r, std::string& out) {
  r.method = kOptions;
  r.accept = "application/sdp";
  build_request(r, out);
}

void build_invite(RequestFields r, std::string_view media_address, std::uint64_t session_id,
                  std::string& out) {
  // Written into a buffer of its own first: the request's Content-Length counts it.
  thread_local std::string sdp;
  sdp.clear();
  const bool v6 = media_address.find(':') != std::string_view::npos;
  const std::string_view family = v6 ? "IP6 " : "IP4 ";
  sdp.append("v=0\r\no=- ");
  append_number(sdp, session_id);
  sdp.append(" 1 IN ").append(family).append(media_address);
  sdp.append("\r\ns=sip_trunk_exporter test call\r\nc=IN ").append(family).append(media_address);
  sdp.append("\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n");
  r.method = kInvite;
  r.content_type = "application/sdp";
  r.body = sdp;
  r.accept = {};
  build_request(r, out);
}

void build_register(RequestFields r, std::string& out) {
  r.method = kRegister;
  r.contact_uri = {};
  r.accept = {};
  build_request(r, out);
}

}  // namespace stx
