#include "config/settings.h"

namespace stx::config_impl {

TargetConfig Settings::resolved() const {
  TargetConfig t;
  t.labels.assign(labels.begin(), labels.end());  // std::map: sorted by name
  SharedSettings& shared = t.shared.edit();
  shared.interval = interval;
  shared.fast_interval = fast_interval.value_or(Millis::zero());
  shared.down_interval = down_interval.value_or(Millis::zero());
  shared.interval_jitter = interval_jitter;
  shared.timeout = timeout;
  shared.failures_before_down = failures_before_down;
  shared.successes_before_up = successes_before_up;
  shared.healthy_codes = healthy_codes;
  shared.degraded_codes = degraded_codes;
  shared.from = from;
  shared.user_agent = user_agent;
  shared.transport = transport;
  shared.probe = probe;
  shared.up_when = up_when;
  shared.method = method;
  shared.aor = aor;
  shared.min_contacts = min_contacts;
  shared.invite_cancel_after = invite_cancel_after;
  shared.to = to;
  shared.ruri_user = ruri_user;
  shared.contact = contact;
  shared.headers = headers;
  shared.source_address = source_address;
  shared.source_port = source_port;
  shared.tls = tls;
  shared.ws_path = ws_path;
  shared.keepalive_interval = keepalive_interval;
  if (!auth_user.empty())
    shared.auth = DigestCredentials{auth_user, auth_password, auth_password_env};
  return t;
}

}  // namespace stx::config_impl
