#include "probes/probe_result.h"

namespace stx {

std::string_view to_string(FailureReason r) {
  switch (r) {
    case FailureReason::timeout:
      return "timeout";
    case FailureReason::refused:
      return "refused";
    case FailureReason::send_error:
      return "send_error";
    case FailureReason::dns_error:
      return "dns_error";
    case FailureReason::connect:
      return "connect";
    case FailureReason::reset:
      return "reset";
    case FailureReason::tls:
      return "tls";
    case FailureReason::auth:
      return "auth";
    case FailureReason::no_binding:
      return "no_binding";
    case FailureReason::websocket:
      return "websocket";
    case FailureReason::none:
      break;
  }
  return "";
}

}  // namespace stx
