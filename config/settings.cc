#include "config/settings.h"

namespace stx::config_impl {

TargetConfig Settings::resolved() const {
  TargetConfig t;
  t.interval = interval;
  t.fast_interval = fast_interval.value_or(Millis::zero());
  t.down_interval = down_interval.value_or(Millis::zero());
  t.interval_jitter = interval_jitter;
  t.timeout = timeout;
  t.failures_before_down = failures_before_down;
  t.successes_before_up = successes_before_up;
  SharedSettings& shared = t.shared.edit();
  shared.healthy_codes = healthy_codes;
  shared.degraded_codes = degraded_codes;
  shared.from = from;
  shared.user_agent = user_agent;
  t.labels.assign(labels.begin(), labels.end());  // std::map: sorted by name
  t.transport = transport;
  t.probe = probe;
  t.up_when = up_when;
  t.method = method;
  shared.aor = aor;
  t.min_contacts = min_contacts;
  t.invite_cancel_after = invite_cancel_after;
  shared.to = to;
  shared.ruri_user = ruri_user;
  shared.contact = contact;
  shared.headers = headers;
  shared.source_address = source_address;
  t.source_port = source_port;
  shared.tls = tls;
  shared.ws_path = ws_path;
  t.keepalive_interval = keepalive_interval;
  if (!auth_user.empty())
    shared.auth = DigestCredentials{auth_user, auth_password, auth_password_env};
  return t;
}

}  // namespace stx::config_impl
