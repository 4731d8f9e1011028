/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * policy.c - the end-to-end encryption policy engine (see policy.h and
 * docs/policy.md). Pure: no I/O, no allocation.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "policy.h"

const struct policy_feature policy_features[POLICY_FEATURES_N] = {
	POLICY_MEDIA_FEATURES(POLICY_FEATURE_ROW_)
};

const struct policy_feature *policy_feature_find(const char *verb)
{
	size_t i;

	for (i = 0; verb && i < POLICY_FEATURES_N; i++)
		if (strcmp(verb, policy_features[i].verb) == 0)
			return &policy_features[i];
	return NULL;
}

static bool setting_valid(enum policy_setting s)
{
	return s == POLICY_E2EE_DISABLED || s == POLICY_E2EE_USERS_CAN_TURN_ON;
}

/* Copy a NUL-terminated name into a fixed field, truncating (never unterminated). */
static void copy_name(char dst[POLICY_NAME_MAX + 1], const char *src)
{
	size_t n = strnlen(src, POLICY_NAME_MAX);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

const char *policy_setting_name(enum policy_setting s)
{
	switch (s) {
	case POLICY_E2EE_DISABLED:
		return "disabled";
	case POLICY_E2EE_USERS_CAN_TURN_ON:
		return "users-can-turn-on";
	}
	return NULL;
}

int policy_setting_parse(const char *s, enum policy_setting *out, char *err, size_t errlen)
{
	if (!s || !out) {
		errbuf_set(err, errlen, "e2ee setting: missing");
		return -EINVAL;
	}
	if (strcmp(s, "disabled") == 0 || strcmp(s, "Disabled") == 0) {
		*out = POLICY_E2EE_DISABLED;
		return 0;
	}
	if (strcmp(s, "users-can-turn-on") == 0 || strcmp(s, "DisabledUserOverride") == 0) {
		*out = POLICY_E2EE_USERS_CAN_TURN_ON;
		return 0;
	}
	errbuf_set(err, errlen, "e2ee setting: '%.64s' is not one of disabled, users-can-turn-on", s);
	return -EINVAL;
}

const char *policy_source_name(enum policy_source s)
{
	switch (s) {
	case POLICY_SRC_NONE:
		return "none";
	case POLICY_SRC_TENANT:
		return "tenant";
	case POLICY_SRC_GROUP:
		return "group";
	case POLICY_SRC_USER:
		return "user";
	}
	return NULL;
}

/* Order of group candidates: by group name, then policy name (byte order). */
static int cand_cmp(const struct policy_assignment *a, const struct policy_assignment *b)
{
	int c = strncmp(a->group, b->group, sizeof(a->group));

	return c ? c : strncmp(a->policy, b->policy, sizeof(a->policy));
}

int policy_resolve(const struct policy_inputs *in, struct policy_effective *out)
{
	const struct policy_assignment *win = NULL;
	bool any_disabled = false, any_on = false;
	size_t i;

	if (!in || !out || (in->n_groups > 0 && !in->groups))
		return -EINVAL;
	if ((in->user && !setting_valid(in->user->setting)) ||
	    (in->tenant && !setting_valid(in->tenant->setting)))
		return -EINVAL;
	for (i = 0; i < in->n_groups; i++) {
		if (!setting_valid(in->groups[i].setting))
			return -EINVAL;
		if (in->groups[i].setting == POLICY_E2EE_DISABLED)
			any_disabled = true;
		else
			any_on = true;
	}

	memset(out, 0, sizeof(*out));
	out->n_groups = in->n_groups;
	out->group_conflict = any_disabled && any_on;

	if (in->user) {
		/* The user's own assignment is the most specific. */
		out->source = POLICY_SRC_USER;
		out->setting = in->user->setting;
		copy_name(out->policy, in->user->policy);
		return 0;
	}
	if (in->n_groups > 0) {
		/*
		 * Disabled wins: if any of the user's groups is disabled, the
		 * user is. The group reported is the first by name among those
		 * carrying the winning setting, so the answer never depends on
		 * the order the store returned the rows in.
		 */
		enum policy_setting want = any_disabled ? POLICY_E2EE_DISABLED
							: POLICY_E2EE_USERS_CAN_TURN_ON;

		for (i = 0; i < in->n_groups; i++) {
			const struct policy_assignment *g = &in->groups[i];

			if (g->setting != want)
				continue;
			if (!win || cand_cmp(g, win) < 0)
				win = g;
		}
		out->source = POLICY_SRC_GROUP;
		out->setting = want;
		copy_name(out->policy, win->policy);
		copy_name(out->group, win->group);
		return 0;
	}
	if (in->tenant) {
		out->source = POLICY_SRC_TENANT;
		out->setting = in->tenant->setting;
		copy_name(out->policy, in->tenant->policy);
		return 0;
	}
	/* Nothing assigned: end-to-end encryption is off by default. */
	out->source = POLICY_SRC_NONE;
	out->setting = POLICY_E2EE_DISABLED;
	return 0;
}

int policy_intent_make(bool allowed, bool on, const char *who, struct policy_intent *out)
{
	if (!out)
		return -EINVAL;
	if (!who || !*who)
		who = "the user";
	memset(out, 0, sizeof(*out));
	out->allowed = allowed;
	out->on = allowed && on;
	if (!allowed)
		snprintf(out->reason, sizeof(out->reason),
			 "%.*s's policy does not allow end-to-end encryption",
			 (int)POLICY_WHO_MAX, who);
	else if (!on)
		snprintf(out->reason, sizeof(out->reason),
			 "%.*s has not turned on end-to-end encryption",
			 (int)POLICY_WHO_MAX, who);
	else
		snprintf(out->reason, sizeof(out->reason),
			 "%.*s has turned on end-to-end encryption",
			 (int)POLICY_WHO_MAX, who);
	return 0;
}

int policy_intent_compliance(const char *who, struct policy_intent *out)
{
	if (!out)
		return -EINVAL;
	if (!who || !*who)
		who = "the user";
	memset(out, 0, sizeof(*out));
	out->compliance = true;
	snprintf(out->reason, sizeof(out->reason), "compliance recording applies to %.*s",
		 (int)POLICY_WHO_MAX, who);
	return 0;
}

int policy_intent(const struct policy_effective *eff, bool user_on, const char *who,
		  struct policy_intent *out)
{
	if (!eff || !out || !setting_valid(eff->setting))
		return -EINVAL;
	return policy_intent_make(eff->setting == POLICY_E2EE_USERS_CAN_TURN_ON, user_on,
				  who, out);
}

int policy_call_mode(const struct policy_intent *a, const struct policy_intent *b,
		     struct policy_call *out)
{
	bool a_ok, b_ok;

	if (!a || !b || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	a_ok = a->allowed && a->on;
	b_ok = b->allowed && b->on;
	out->e2ee = a_ok && b_ok;
	if (out->e2ee)
		snprintf(out->reason, sizeof(out->reason),
			 "both parties have turned on end-to-end encryption");
	else if (!a_ok && !b_ok)
		snprintf(out->reason, sizeof(out->reason), "%.*s; %.*s",
			 (int)POLICY_REASON_MAX, a->reason, (int)POLICY_REASON_MAX, b->reason);
	else
		snprintf(out->reason, sizeof(out->reason), "%.*s",
			 (int)POLICY_REASON_MAX, a_ok ? b->reason : a->reason);
	return 0;
}
