// The probe kind keys: method (options, register, invite), the register probe's aor and
// min_contacts, and the invite probe's invite_cancel_after, in [defaults], targets and modules.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "parse_helpers.h"

namespace stx {
namespace {

using test::error_of;
using test::parse_ok;
using test::parse_probe_only;
using ::testing::HasSubstr;

const std::string kTarget = "[[target]]\nname = \"a\"\nuri = \"sip:203.0.113.7\"\n";

TEST(MethodConfig, OptionsIsTheDefault) {
  const Config c = parse_ok(kTarget);
  EXPECT_EQ(c.targets[0].shared->method, ProbeMethod::options);
  EXPECT_EQ(c.targets[0].shared->aor, "");
  EXPECT_EQ(c.targets[0].shared->min_contacts, 0);
}

TEST(MethodConfig, RegisterPerTargetWithAorAndMinContacts) {
  const Config c = parse_ok(kTarget +
                            "method = \"register\"\naor = \"sip:pbx01@carrier.example\"\n"
                            "min_contacts = 2\n");
  EXPECT_EQ(c.targets[0].shared->method, ProbeMethod::register_);
  EXPECT_EQ(c.targets[0].shared->aor, "sip:pbx01@carrier.example");
  EXPECT_EQ(c.targets[0].shared->min_contacts, 2);
}

TEST(MethodConfig, DefaultsApplyAndATargetMayGoBackToOptions) {
  const Config c = parse_ok(
      "[defaults]\nmethod = \"register\"\naor = \"sip:pbx@example.com\"\nmin_contacts = 1\n" +
      kTarget + "[[target]]\nname = \"b\"\nuri = \"sip:203.0.113.8\"\nmethod = \"options\"\n");
  EXPECT_EQ(c.targets[0].shared->method, ProbeMethod::register_);
  EXPECT_EQ(c.targets[0].shared->aor, "sip:pbx@example.com");
  EXPECT_EQ(c.targets[0].shared->min_contacts, 1);
  // Inherited register keys wait for the targets that choose register.
  EXPECT_EQ(c.targets[1].shared->method, ProbeMethod::options);
}

TEST(MethodConfig, RegisterWithoutCredentialsIsAllowed) {
  const Config c = parse_ok(kTarget + "method = \"register\"\n");
  EXPECT_FALSE(c.targets[0].shared->auth);
}

TEST(MethodConfig, UnknownMethodsAndTypesAreRefused) {
  EXPECT_EQ(error_of(kTarget + "method = \"subscribe\"\n"),
            "config.toml:4:10: [[target]] #1 \"a\": method: \"subscribe\" is not one of "
            "\"options\", \"register\", \"invite\"");
  EXPECT_THAT(error_of(kTarget + "method = 1\n"),
              HasSubstr("method: expected one of \"options\", \"register\", \"invite\", got "
                        "integer"));
}

TEST(MethodConfig, AorMustBeASipUri) {
  EXPECT_THAT(error_of(kTarget + "method = \"register\"\naor = \"mailto:x@example.com\"\n"),
              HasSubstr("config.toml:5:7: [[target]] #1 \"a\": aor: \"mailto:x@example.com\""));
  EXPECT_THAT(error_of(kTarget + "method = \"register\"\naor = 5\n"),
              HasSubstr("aor: expected a SIP URI string"));
}

TEST(MethodConfig, MinContactsIsAnIntegerFrom1To1000) {
  EXPECT_EQ(parse_ok(kTarget + "method = \"register\"\nmin_contacts = 1000\n")
                .targets[0]
                .shared->min_contacts,
            1000);
  EXPECT_EQ(error_of(kTarget + "method = \"register\"\nmin_contacts = 0\n"),
            "config.toml:5:16: [[target]] #1 \"a\": min_contacts: must be from 1 to 1000, got 0");
  EXPECT_THAT(error_of(kTarget + "method = \"register\"\nmin_contacts = 1001\n"),
              HasSubstr("min_contacts: must be from 1 to 1000, got 1001"));
  EXPECT_THAT(error_of(kTarget + "method = \"register\"\nmin_contacts = \"1\"\n"),
              HasSubstr("min_contacts: expected an integer, got string"));
}

TEST(MethodConfig, RegisterKeysOnAnOptionsTargetAreRefused) {
  EXPECT_EQ(error_of(kTarget + "aor = \"sip:pbx@example.com\"\n"),
            "config.toml:4:7: [[target]] #1 \"a\": aor: applies to method \"register\" only, but "
            "the method is \"options\"");
  EXPECT_THAT(error_of(kTarget + "min_contacts = 1\n"),
              HasSubstr("min_contacts: applies to method \"register\" only"));
}

TEST(MethodConfig, RuriUserIsRefusedWithRegister) {
  EXPECT_THAT(error_of(kTarget + "method = \"register\"\nruri_user = \"pbx\"\n"),
              HasSubstr("config.toml:5:13: [[target]] #1 \"a\": ruri_user: a REGISTER's "
                        "Request-URI is the registrar"));
  // Inherited from [defaults]: blamed on the target's own method.
  EXPECT_THAT(error_of("[defaults]\nruri_user = \"pbx\"\n" + kTarget + "method = \"register\"\n"),
              HasSubstr("config.toml:6:10: [[target]] #1 \"a\": ruri_user:"));
}

TEST(MethodConfig, ExpiresIsRefusedAsAnExtraHeader) {
  EXPECT_THAT(error_of(kTarget + "headers = { Expires = \"0\" }\n"),
              HasSubstr("headers: \"Expires\" is refused: in a REGISTER it could change or "
                        "remove bindings"));
  EXPECT_THAT(error_of(kTarget + "headers = { expires = \"3600\" }\n"),
              HasSubstr("\"Expires\" is refused"));
}

TEST(MethodConfig, ModulesTakeTheMethodAndItsKeys) {
  const Config c = parse_probe_only(
      "[module.reg]\nmethod = \"register\"\naor = \"sip:pbx@example.com\"\nmin_contacts = 1\n");
  const ModuleConfig* m = find_module(c, "reg");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->settings.shared->method, ProbeMethod::register_);
  EXPECT_EQ(m->settings.shared->aor, "sip:pbx@example.com");
  EXPECT_EQ(m->settings.shared->min_contacts, 1);
  const TargetConfig t = target_for_probe(*m, "sip:registrar.example.com");
  EXPECT_EQ(t.shared->method, ProbeMethod::register_);
  EXPECT_EQ(t.shared->min_contacts, 1);
  EXPECT_THAT(error_of("[module.m]\nmin_contacts = 1\n\n[exporter]\nallow_no_targets = true\n"),
              HasSubstr("config.toml:2:16: [module.m]: min_contacts: applies to method "
                        "\"register\" only"));
}

TEST(MethodConfig, InviteIsPerTargetOrModuleWithItsCancelDelay) {
  const Config c = parse_ok(kTarget + "method = \"invite\"\nruri_user = \"echo\"\n" +
                            "invite_cancel_after = \"2s\"\n");
  EXPECT_EQ(c.targets[0].shared->method, ProbeMethod::invite);
  EXPECT_EQ(c.targets[0].shared->invite_cancel_after, std::chrono::seconds(2));
  EXPECT_EQ(parse_ok(kTarget + "method = \"invite\"\n").targets[0].shared->invite_cancel_after,
            std::chrono::milliseconds(0));
  const Config m = parse_probe_only("[module.call]\nmethod = \"invite\"\n");
  EXPECT_EQ(find_module(m, "call")->settings.shared->method, ProbeMethod::invite);
}

TEST(MethodConfig, InviteIsRefusedInDefaults) {
  EXPECT_EQ(error_of("[defaults]\nmethod = \"invite\"\n" + kTarget),
            "config.toml:2:10: [defaults]: method: \"invite\" places test calls, so it is set per "
            "target or module, never in [defaults]");
}

TEST(MethodConfig, InviteCancelAfterIsCheckedAgainstTheTimeoutAndTheMethod) {
  EXPECT_THAT(error_of(kTarget + "method = \"invite\"\ntimeout = \"2s\"\n" +
                       "invite_cancel_after = \"2s\"\n"),
              HasSubstr("invite_cancel_after: 2s must be shorter than the timeout (2s)"));
  EXPECT_THAT(error_of(kTarget + "method = \"invite\"\ninvite_cancel_after = \"31s\"\n"),
              HasSubstr("invite_cancel_after: must be at most 30s"));
  EXPECT_THAT(error_of(kTarget + "invite_cancel_after = \"1s\"\n"),
              HasSubstr("invite_cancel_after: applies to method \"invite\" only, but the method "
                        "is \"options\""));
  EXPECT_THAT(error_of(kTarget + "method = \"register\"\nmin_contacts = 1\n" +
                       "invite_cancel_after = \"1s\"\n"),
              HasSubstr("the method is \"register\""));
}

}  // namespace
}  // namespace stx
