/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_policy.c - control/policy/policy.c: the end-to-end encryption policy engine.
 * The full single-party matrix (assignment level x policy value x user
 * setting), the two-party call mode over every pair of single-party cases,
 * precedence over every combination of user/group/tenant assignments,
 * conflicting groups (disabled wins, ties by group name, independent of input
 * order), the setting names, and argument refusals.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"


static const enum policy_setting values[] = { POLICY_E2EE_DISABLED,
					      POLICY_E2EE_USERS_CAN_TURN_ON };
static const enum policy_source levels[] = { POLICY_SRC_NONE, POLICY_SRC_TENANT,
					     POLICY_SRC_GROUP, POLICY_SRC_USER };

static struct policy_assignment mk(const char *policy, const char *group,
				   enum policy_setting s)
{
	struct policy_assignment a;

	memset(&a, 0, sizeof(a));
	snprintf(a.policy, sizeof(a.policy), "%s", policy);
	snprintf(a.group, sizeof(a.group), "%s", group ? group : "");
	a.setting = s;
	return a;
}

/* The reason policy_intent() must give. */
static void expected_reason(char *buf, size_t cap, const char *who, bool allowed, bool on)
{
	if (!allowed)
		snprintf(buf, cap, "%s's policy does not allow end-to-end encryption", who);
	else if (!on)
		snprintf(buf, cap, "%s has not turned on end-to-end encryption", who);
	else
		snprintf(buf, cap, "%s has turned on end-to-end encryption", who);
}

/*
 * One party: the only assignment is at `level` with `value`; the user's own
 * setting is user_on. Resolves and builds the intent.
 */
static void one_party(enum policy_source level, enum policy_setting value, bool user_on,
		      const char *who, struct policy_effective *eff, struct policy_intent *in)
{
	struct policy_assignment a = mk("p1", level == POLICY_SRC_GROUP ? "g1" : NULL, value);
	struct policy_inputs inputs = { 0 };

	if (level == POLICY_SRC_USER)
		inputs.user = &a;
	else if (level == POLICY_SRC_GROUP) {
		inputs.groups = &a;
		inputs.n_groups = 1;
	} else if (level == POLICY_SRC_TENANT)
		inputs.tenant = &a;
	assert_int_equal(policy_resolve(&inputs, eff), 0);
	assert_int_equal(policy_intent(eff, user_on, who, in), 0);
}

/* ---- the single-party matrix ------------------------------------------- */

static void test_single_party_matrix(void **state)
{
	struct policy_effective eff;
	struct policy_intent in;
	char want[POLICY_REASON_MAX];
	size_t l, v, u, n = 0;

	(void)state;
	for (l = 0; l < 4; l++) {
		for (v = 0; v < 2; v++) {
			for (u = 0; u < 2; u++) {
				enum policy_source level = levels[l];
				bool user_on = u == 1;
				bool allowed = level != POLICY_SRC_NONE &&
					       values[v] == POLICY_E2EE_USERS_CAN_TURN_ON;

				one_party(level, values[v], user_on, "alice@contoso", &eff, &in);
				/* where it came from */
				assert_int_equal(eff.source, level);
				assert_string_equal(eff.policy, level == POLICY_SRC_NONE ? "" : "p1");
				assert_string_equal(eff.group, level == POLICY_SRC_GROUP ? "g1" : "");
				assert_int_equal(eff.n_groups, level == POLICY_SRC_GROUP ? 1 : 0);
				assert_false(eff.group_conflict);
				/* none: disabled (off by default); else the value */
				assert_int_equal(eff.setting, level == POLICY_SRC_NONE
					? POLICY_E2EE_DISABLED : values[v]);
				/* intent */
				assert_int_equal(in.allowed, allowed);
				assert_int_equal(in.on, allowed && user_on);
				expected_reason(want, sizeof(want), "alice@contoso", allowed, user_on);
				assert_string_equal(in.reason, want);
				n++;
			}
		}
	}
	assert_int_equal(n, 16);
}

/* The reasons spelled out, as a person reads them. */
static void test_reasons_verbatim(void **state)
{
	struct policy_effective eff;
	struct policy_intent in;

	(void)state;
	one_party(POLICY_SRC_TENANT, POLICY_E2EE_DISABLED, true, "alice@contoso", &eff, &in);
	assert_string_equal(in.reason, "alice@contoso's policy does not allow end-to-end "
			    "encryption");
	one_party(POLICY_SRC_USER, POLICY_E2EE_USERS_CAN_TURN_ON, false, "bob@fabrikam", &eff, &in);
	assert_string_equal(in.reason, "bob@fabrikam has not turned on end-to-end encryption");
	one_party(POLICY_SRC_NONE, POLICY_E2EE_USERS_CAN_TURN_ON, true, "carol@contoso", &eff, &in);
	assert_string_equal(in.reason, "carol@contoso's policy does not allow end-to-end "
			    "encryption");
	/* no name */
	assert_int_equal(policy_intent(&eff, true, NULL, &in), 0);
	assert_string_equal(in.reason, "the user's policy does not allow end-to-end encryption");
}

/* ---- two parties --------------------------------------------------------- */

static void test_two_party_matrix(void **state)
{
	struct policy_effective ea, eb;
	struct policy_intent a, b;
	struct policy_call call;
	char want[POLICY_CALL_REASON_MAX];
	size_t i, j, n = 0;

	(void)state;
	/* every single-party case (16) against every other (16) */
	for (i = 0; i < 16; i++) {
		for (j = 0; j < 16; j++) {
			enum policy_source la = levels[i / 4], lb = levels[j / 4];
			enum policy_setting va = values[(i / 2) % 2], vb = values[(j / 2) % 2];
			bool ua = i % 2, ub = j % 2;
			bool a_ok = la != POLICY_SRC_NONE &&
				    va == POLICY_E2EE_USERS_CAN_TURN_ON && ua;
			bool b_ok = lb != POLICY_SRC_NONE &&
				    vb == POLICY_E2EE_USERS_CAN_TURN_ON && ub;

			one_party(la, va, ua, "alice@contoso", &ea, &a);
			one_party(lb, vb, ub, "bob@fabrikam", &eb, &b);
			assert_int_equal(policy_call_mode(&a, &b, &call), 0);
			/* e2ee only when both are allowed and on */
			assert_int_equal(call.e2ee, a_ok && b_ok);
			if (a_ok && b_ok)
				snprintf(want, sizeof(want), "both parties have turned on "
					 "end-to-end encryption");
			else if (!a_ok && !b_ok)
				snprintf(want, sizeof(want), "%s; %s", a.reason, b.reason);
			else
				snprintf(want, sizeof(want), "%s", a_ok ? b.reason : a.reason);
			assert_string_equal(call.reason, want);
			/* symmetric in the mode */
			assert_int_equal(policy_call_mode(&b, &a, &call), 0);
			assert_int_equal(call.e2ee, a_ok && b_ok);
			n++;
		}
	}
	assert_int_equal(n, 256);
}

static void test_two_party_verbatim(void **state)
{
	struct policy_intent a, b;
	struct policy_call call;

	(void)state;
	assert_int_equal(policy_intent_make(true, true, "alice@contoso", &a), 0);
	assert_int_equal(policy_intent_make(true, false, "bob@fabrikam", &b), 0);
	assert_int_equal(policy_call_mode(&a, &b, &call), 0);
	assert_false(call.e2ee);
	assert_string_equal(call.reason, "bob@fabrikam has not turned on end-to-end encryption");

	assert_int_equal(policy_intent_make(false, true, "alice@contoso", &a), 0);
	assert_false(a.on);   /* on without allowed is off */
	assert_int_equal(policy_call_mode(&a, &b, &call), 0);
	assert_false(call.e2ee);
	assert_string_equal(call.reason, "alice@contoso's policy does not allow end-to-end "
			    "encryption; bob@fabrikam has not turned on end-to-end encryption");

	assert_int_equal(policy_intent_make(true, true, "alice@contoso", &a), 0);
	assert_int_equal(policy_intent_make(true, true, "bob@fabrikam", &b), 0);
	assert_int_equal(policy_call_mode(&a, &b, &call), 0);
	assert_true(call.e2ee);
	assert_string_equal(call.reason, "both parties have turned on end-to-end encryption");

	/* a forged intent (on without allowed, as if from the wire) is not e2ee */
	a.allowed = false;
	a.on = true;
	assert_int_equal(policy_call_mode(&a, &b, &call), 0);
	assert_false(call.e2ee);
}

/* ---- precedence ---------------------------------------------------------- */

/* user, group, tenant each absent / disabled / users-can-turn-on: 27 cases */
static void test_precedence(void **state)
{
	struct policy_assignment ua = { 0 }, ga = { 0 }, ta = { 0 };
	struct policy_effective eff;
	int u, g, t, n = 0;

	(void)state;
	for (u = 0; u < 3; u++) {
		for (g = 0; g < 3; g++) {
			for (t = 0; t < 3; t++) {
				struct policy_inputs in = { 0 };
				enum policy_source want_src = POLICY_SRC_NONE;
				enum policy_setting want = POLICY_E2EE_DISABLED;
				const char *want_policy = "";

				if (t) {
					ta = mk("pt", NULL, values[t - 1]);
					in.tenant = &ta;
					want_src = POLICY_SRC_TENANT;
					want = values[t - 1];
					want_policy = "pt";
				}
				if (g) {
					ga = mk("pg", "sales", values[g - 1]);
					in.groups = &ga;
					in.n_groups = 1;
					want_src = POLICY_SRC_GROUP;
					want = values[g - 1];
					want_policy = "pg";
				}
				if (u) {
					ua = mk("pu", NULL, values[u - 1]);
					in.user = &ua;
					want_src = POLICY_SRC_USER;
					want = values[u - 1];
					want_policy = "pu";
				}
				assert_int_equal(policy_resolve(&in, &eff), 0);
				assert_int_equal(eff.source, want_src);
				assert_int_equal(eff.setting, want);
				assert_string_equal(eff.policy, want_policy);
				assert_string_equal(eff.group, want_src == POLICY_SRC_GROUP ?
						    "sales" : "");
				n++;
			}
		}
	}
	assert_int_equal(n, 27);
}

/* ---- conflicting groups -------------------------------------------------- */

static void resolve_groups(const struct policy_assignment *g, size_t n,
			   struct policy_effective *eff)
{
	struct policy_inputs in = { .groups = g, .n_groups = n };

	assert_int_equal(policy_resolve(&in, eff), 0);
	assert_int_equal(eff->source, POLICY_SRC_GROUP);
	assert_int_equal(eff->n_groups, n);
}

static void test_conflicting_groups(void **state)
{
	struct policy_assignment g[4];
	struct policy_effective eff;
	struct policy_inputs in = { 0 };
	struct policy_assignment user;
	size_t perm[6][3] = { {0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0} };
	struct policy_assignment in3[3];
	size_t i, k;

	(void)state;
	/* disabled wins over users-can-turn-on, whichever group sorts first */
	g[0] = mk("open", "a-team", POLICY_E2EE_USERS_CAN_TURN_ON);
	g[1] = mk("strict", "z-team", POLICY_E2EE_DISABLED);
	resolve_groups(g, 2, &eff);
	assert_int_equal(eff.setting, POLICY_E2EE_DISABLED);
	assert_string_equal(eff.group, "z-team");
	assert_string_equal(eff.policy, "strict");
	assert_true(eff.group_conflict);

	/* several disabled: the first by group name is reported */
	g[2] = mk("strict2", "m-team", POLICY_E2EE_DISABLED);
	resolve_groups(g, 3, &eff);
	assert_int_equal(eff.setting, POLICY_E2EE_DISABLED);
	assert_string_equal(eff.group, "m-team");
	assert_string_equal(eff.policy, "strict2");

	/* and the answer does not depend on the input order */
	for (i = 0; i < 6; i++) {
		for (k = 0; k < 3; k++)
			in3[k] = g[perm[i][k]];
		resolve_groups(in3, 3, &eff);
		assert_string_equal(eff.group, "m-team");
		assert_string_equal(eff.policy, "strict2");
		assert_true(eff.group_conflict);
	}

	/* all allow: users-can-turn-on, first group by name, no conflict */
	g[0] = mk("open-b", "beta", POLICY_E2EE_USERS_CAN_TURN_ON);
	g[1] = mk("open-a", "alpha", POLICY_E2EE_USERS_CAN_TURN_ON);
	resolve_groups(g, 2, &eff);
	assert_int_equal(eff.setting, POLICY_E2EE_USERS_CAN_TURN_ON);
	assert_string_equal(eff.group, "alpha");
	assert_string_equal(eff.policy, "open-a");
	assert_false(eff.group_conflict);

	/* all disabled: no conflict either */
	g[0] = mk("s1", "beta", POLICY_E2EE_DISABLED);
	g[1] = mk("s2", "alpha", POLICY_E2EE_DISABLED);
	resolve_groups(g, 2, &eff);
	assert_int_equal(eff.setting, POLICY_E2EE_DISABLED);
	assert_string_equal(eff.group, "alpha");
	assert_false(eff.group_conflict);

	/* byte order: upper case sorts before lower case */
	g[0] = mk("s1", "alpha", POLICY_E2EE_DISABLED);
	g[1] = mk("s2", "Zulu", POLICY_E2EE_DISABLED);
	resolve_groups(g, 2, &eff);
	assert_string_equal(eff.group, "Zulu");

	/* the same group twice (defensive): ties broken by policy name */
	g[0] = mk("s9", "same", POLICY_E2EE_DISABLED);
	g[1] = mk("s1", "same", POLICY_E2EE_DISABLED);
	resolve_groups(g, 2, &eff);
	assert_string_equal(eff.policy, "s1");

	/* a user assignment still beats a conflict among groups */
	g[0] = mk("open", "a-team", POLICY_E2EE_USERS_CAN_TURN_ON);
	g[1] = mk("strict", "z-team", POLICY_E2EE_DISABLED);
	user = mk("mine", NULL, POLICY_E2EE_USERS_CAN_TURN_ON);
	in.user = &user;
	in.groups = g;
	in.n_groups = 2;
	assert_int_equal(policy_resolve(&in, &eff), 0);
	assert_int_equal(eff.source, POLICY_SRC_USER);
	assert_int_equal(eff.setting, POLICY_E2EE_USERS_CAN_TURN_ON);
	assert_true(eff.group_conflict);   /* still reported */
	assert_int_equal(eff.n_groups, 2);
}

/* ---- names and refusals ---------------------------------------------------- */

static void test_names(void **state)
{
	enum policy_setting s;
	char err[128];

	(void)state;
	assert_string_equal(policy_setting_name(POLICY_E2EE_DISABLED), "disabled");
	assert_string_equal(policy_setting_name(POLICY_E2EE_USERS_CAN_TURN_ON),
			    "users-can-turn-on");
	assert_null(policy_setting_name((enum policy_setting)7));
	assert_string_equal(policy_source_name(POLICY_SRC_NONE), "none");
	assert_string_equal(policy_source_name(POLICY_SRC_TENANT), "tenant");
	assert_string_equal(policy_source_name(POLICY_SRC_GROUP), "group");
	assert_string_equal(policy_source_name(POLICY_SRC_USER), "user");
	assert_null(policy_source_name((enum policy_source)9));

	assert_int_equal(policy_setting_parse("disabled", &s, err, sizeof(err)), 0);
	assert_int_equal(s, POLICY_E2EE_DISABLED);
	assert_int_equal(policy_setting_parse("Disabled", &s, err, sizeof(err)), 0);
	assert_int_equal(s, POLICY_E2EE_DISABLED);
	assert_int_equal(policy_setting_parse("users-can-turn-on", &s, err, sizeof(err)), 0);
	assert_int_equal(s, POLICY_E2EE_USERS_CAN_TURN_ON);
	assert_int_equal(policy_setting_parse("DisabledUserOverride", &s, err, sizeof(err)), 0);
	assert_int_equal(s, POLICY_E2EE_USERS_CAN_TURN_ON);
	err[0] = '\0';
	assert_int_equal(policy_setting_parse("enabled", &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "users-can-turn-on"));
	assert_int_equal(policy_setting_parse("", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(policy_setting_parse(NULL, &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(policy_setting_parse("disabled", &s, NULL, 0), 0);
}

static void test_refusals(void **state)
{
	struct policy_assignment bad = mk("p", NULL, (enum policy_setting)5);
	struct policy_effective eff;
	struct policy_intent in;
	struct policy_call call;
	struct policy_inputs inputs = { 0 };

	(void)state;
	assert_int_equal(policy_resolve(NULL, &eff), -EINVAL);
	assert_int_equal(policy_resolve(&inputs, NULL), -EINVAL);
	inputs.n_groups = 1;   /* with no array */
	assert_int_equal(policy_resolve(&inputs, &eff), -EINVAL);
	inputs.n_groups = 0;
	inputs.user = &bad;
	assert_int_equal(policy_resolve(&inputs, &eff), -EINVAL);
	inputs.user = NULL;
	inputs.tenant = &bad;
	assert_int_equal(policy_resolve(&inputs, &eff), -EINVAL);
	inputs.tenant = NULL;
	inputs.groups = &bad;
	inputs.n_groups = 1;
	assert_int_equal(policy_resolve(&inputs, &eff), -EINVAL);

	memset(&eff, 0, sizeof(eff));
	eff.setting = (enum policy_setting)5;
	assert_int_equal(policy_intent(&eff, true, "a@b", &in), -EINVAL);
	assert_int_equal(policy_intent(NULL, true, "a@b", &in), -EINVAL);
	eff.setting = POLICY_E2EE_DISABLED;
	assert_int_equal(policy_intent(&eff, true, "a@b", NULL), -EINVAL);
	assert_int_equal(policy_intent_make(true, true, "a@b", NULL), -EINVAL);
	assert_int_equal(policy_call_mode(NULL, &in, &call), -EINVAL);
	assert_int_equal(policy_call_mode(&in, NULL, &call), -EINVAL);
	assert_int_equal(policy_call_mode(&in, &in, NULL), -EINVAL);
}

/* Longest names: the reasons are cut, never overrun. */
static void test_long_names(void **state)
{
	char who[POLICY_WHO_MAX + 1];
	struct policy_intent a, b;
	struct policy_call call;
	struct policy_assignment g = { 0 };
	struct policy_inputs in = { .groups = &g, .n_groups = 1 };
	struct policy_effective eff;

	(void)state;
	memset(who, 'x', POLICY_WHO_MAX);
	who[POLICY_NAME_MAX] = '@';
	who[POLICY_WHO_MAX] = '\0';
	assert_int_equal(policy_intent_make(false, false, who, &a), 0);
	assert_true(strlen(a.reason) < sizeof(a.reason));
	assert_int_equal(strncmp(a.reason, who, POLICY_WHO_MAX), 0);
	assert_int_equal(policy_intent_make(true, false, who, &b), 0);
	assert_int_equal(policy_call_mode(&a, &b, &call), 0);
	assert_true(strlen(call.reason) < sizeof(call.reason));
	assert_non_null(strstr(call.reason, "does not allow"));
	assert_non_null(strstr(call.reason, "has not turned on"));

	memset(g.group, 'g', POLICY_NAME_MAX);
	memset(g.policy, 'p', POLICY_NAME_MAX);
	g.setting = POLICY_E2EE_USERS_CAN_TURN_ON;
	assert_int_equal(policy_resolve(&in, &eff), 0);
	assert_int_equal(strlen(eff.group), POLICY_NAME_MAX);
	assert_int_equal(strlen(eff.policy), POLICY_NAME_MAX);
}

/* The product's full list of features refused while a call is e2ee
 * (docs/policy.md "Features"), each once, with an honest standard answer. */
static void test_media_features(void **state)
{
	static const char *const product[] = {
		"record", "transcribe", "captions", "transfer", "consult-transfer",
		"transfer-device", "park", "merge", "add-participant", "voicemail",
		"simulring",
	};
	const struct policy_feature *f;
	size_t i, j;

	(void)state;
	assert_int_equal(POLICY_FEATURES_N, sizeof(product) / sizeof(product[0]) + 1);
	for (i = 0; i < sizeof(product) / sizeof(product[0]); i++) {
		f = policy_feature_find(product[i]);
		assert_non_null(f);
		assert_ptr_equal(f, &policy_features[i]);
		assert_non_null(f->name);
		/* says it is allowed and what callseal does: never "accepted" */
		assert_int_equal(strncmp(f->standard, "allowed on a standard call; callseal ",
					 37), 0);
		assert_null(strstr(f->standard, "accepted"));
	}
	f = policy_feature_find("keys");
	assert_ptr_equal(f, &policy_features[POLICY_FEATURES_N - 1]);
	for (i = 0; i < POLICY_FEATURES_N; i++)
		for (j = 0; j < i; j++)
			assert_string_not_equal(policy_features[i].verb, policy_features[j].verb);
	assert_null(policy_feature_find("fly"));
	assert_null(policy_feature_find(""));
	assert_null(policy_feature_find(NULL));
}

/* A user under compliance recording: never allowed, whatever else says. */
static void test_compliance_intent(void **state)
{
	struct policy_intent a, b;
	struct policy_call call;

	(void)state;
	assert_int_equal(policy_intent_compliance("alice@contoso", &a), 0);
	assert_false(a.allowed);
	assert_false(a.on);
	assert_true(a.compliance);
	assert_string_equal(a.reason, "compliance recording applies to alice@contoso");
	assert_int_equal(policy_intent_make(true, true, "bob@fabrikam", &b), 0);
	assert_false(b.compliance);
	assert_int_equal(policy_call_mode(&b, &a, &call), 0);
	assert_false(call.e2ee);
	assert_string_equal(call.reason, "compliance recording applies to alice@contoso");
	assert_int_equal(policy_intent_compliance(NULL, &a), 0);
	assert_string_equal(a.reason, "compliance recording applies to the user");
	assert_int_equal(policy_intent_compliance("x", NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_party_matrix),
		cmocka_unit_test(test_reasons_verbatim),
		cmocka_unit_test(test_two_party_matrix),
		cmocka_unit_test(test_two_party_verbatim),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_conflicting_groups),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_media_features),
		cmocka_unit_test(test_compliance_intent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
