/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * policy.h - the end-to-end encryption policy engine: which enhanced-encryption
 * policy applies to a user, whether that user may and does want end-to-end
 * encryption (their "intent"), and whether a call between two parties is
 * end-to-end encrypted.
 *
 * Pure functions: no I/O, no SQLite, no allocation, no globals. The store
 * (store.c) gathers a user's assignments and hands them here; the daemon also
 * calls policy_intent_make() and policy_call_mode() with the other party's
 * intent as it arrives in the handshake payload.
 *
 * Rules (docs/policy.md):
 *   - Off by default: with no assignment at all, the effective setting is
 *     disabled.
 *   - The most specific assignment wins: the user's own, then the groups', then
 *     the tenant's.
 *   - Several groups with different policies: "disabled wins" (the more
 *     restrictive one); the group reported is the first by name (byte order)
 *     among those that carry the winning setting.
 *   - A user's intent is "allowed" when the effective setting is
 *     users-can-turn-on, and "on" when allowed and the user turned it on.
 *   - A call is end-to-end encrypted only when both parties are allowed and on.
 *   - A user under compliance recording is never allowed (policy_intent_compliance).
 *
 * Errors: 0 or -EINVAL (a NULL or out-of-range argument).
 */
#ifndef CALLSEAL_POLICY_H
#define CALLSEAL_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#define POLICY_NAME_MAX     64u    /* policy, group, user, tenant names */
#define POLICY_WHO_MAX      (POLICY_NAME_MAX + 1u + POLICY_NAME_MAX) /* user@tenant */
#define POLICY_REASON_MAX   256u   /* one reason, with its NUL */
#define POLICY_CALL_REASON_MAX (2u * POLICY_REASON_MAX + 8u)

/* The end-to-end call setting of an enhanced-encryption policy. */
enum policy_setting {
	POLICY_E2EE_DISABLED = 0,          /* "disabled" */
	POLICY_E2EE_USERS_CAN_TURN_ON = 1, /* "users-can-turn-on" (DisabledUserOverride) */
};

/* Where the effective setting came from, least to most specific. */
enum policy_source {
	POLICY_SRC_NONE = 0,   /* no assignment: the default (disabled) */
	POLICY_SRC_TENANT,
	POLICY_SRC_GROUP,
	POLICY_SRC_USER,
};

/* One assignment that reaches a user. group is "" unless it is a group's. */
struct policy_assignment {
	char policy[POLICY_NAME_MAX + 1];
	char group[POLICY_NAME_MAX + 1];
	enum policy_setting setting;
};

/*
 * Everything assigned that reaches one user: NULL where that level has none;
 * groups[] holds one entry per group of the user that has an assignment (any
 * order; the engine's result does not depend on it).
 */
struct policy_inputs {
	const struct policy_assignment *user;
	const struct policy_assignment *groups;
	size_t n_groups;
	const struct policy_assignment *tenant;
};

/* The resolved policy of one user. */
struct policy_effective {
	enum policy_setting setting;
	enum policy_source source;
	char policy[POLICY_NAME_MAX + 1]; /* the winning policy; "" for NONE */
	char group[POLICY_NAME_MAX + 1];  /* the group it came from; "" unless GROUP */
	bool group_conflict;   /* the user's groups carry different settings */
	size_t n_groups;       /* how many of the user's groups have an assignment */
};

/* One party's end-to-end encryption intent (also what a handshake carries). */
struct policy_intent {
	bool allowed;   /* the effective policy is users-can-turn-on */
	bool on;        /* allowed, and the user turned it on */
	bool compliance; /* not allowed because compliance recording applies */
	char reason[POLICY_REASON_MAX];
};

/* Whether a call between two parties is end-to-end encrypted, and why. */
struct policy_call {
	bool e2ee;
	char reason[POLICY_CALL_REASON_MAX];
};

/*
 * The call features that need the service to see a call's media: all refused
 * while the call is end-to-end encrypted (docs/policy.md "Features"). The one
 * list: the command table's `call VERB` rows (control/commands/commands.c),
 * the daemon's dispatch and the call manager's check (policy_feature_find())
 * are all made from it. X(ID, verb, the product's name for it, what callseal
 * answers on a standard call: callseal itself performs none of them).
 * "keys" is callseal's own: the call's keys sealed to the compliance recorder.
 */
#define POLICY_MEDIA_FEATURES(X) \
	X(RECORD, "record", "recording", "allowed on a standard call; callseal " \
	  "records nothing itself: the compliance recorder gets the call's keys " \
	  "with `call keys`") \
	X(TRANSCRIBE, "transcribe", "transcription", "allowed on a standard call; " \
	  "callseal has no transcriber: nothing was started") \
	X(CAPTIONS, "captions", "live captions", "allowed on a standard call; " \
	  "callseal has no captioning: nothing was started") \
	X(TRANSFER, "transfer", "transfer", "allowed on a standard call; callseal " \
	  "does not move calls: nothing was transferred") \
	X(CONSULT_TRANSFER, "consult-transfer", "consult then transfer", "allowed on " \
	  "a standard call; callseal does not move calls: nothing was transferred") \
	X(TRANSFER_DEVICE, "transfer-device", "transfer to another of the user's " \
	  "devices", "allowed on a standard call; callseal does not move calls: " \
	  "nothing was transferred") \
	X(PARK, "park", "park", "allowed on a standard call; callseal does not " \
	  "park calls: the call goes on") \
	X(MERGE, "merge", "merge", "allowed on a standard call; callseal does not " \
	  "merge calls: nothing was merged") \
	X(ADD_PARTICIPANT, "add-participant", "adding a participant", "allowed on " \
	  "a standard call; callseal calls are 1:1: nobody was added") \
	X(VOICEMAIL, "voicemail", "forwarding to voicemail", "allowed on a standard " \
	  "call; callseal has no voicemail: nothing was forwarded") \
	X(SIMULRING, "simulring", "simultaneous ringing", "allowed on a standard " \
	  "call; callseal rings one device: nothing else rings") \
	X(KEYS, "keys", "the call's keys for the compliance recorder", \
	  "the call's keys, sealed to the compliance recorder")

struct policy_feature {
	const char *verb;      /* "record": the command is `call record` */
	const char *name;      /* "recording": the product's name for it */
	const char *standard;  /* the answer on a standard call */
};

#define POLICY_FEATURE_ROW_(id, verb, name, standard) { verb, name, standard },
#define POLICY_FEATURE_ONE_(id, verb, name, standard) +1
/* How many features the list has. */
#define POLICY_FEATURES_N (0 POLICY_MEDIA_FEATURES(POLICY_FEATURE_ONE_))

/* The list, in its order. */
extern const struct policy_feature policy_features[POLICY_FEATURES_N];
/* The feature called verb ("record"); NULL for none. */
const struct policy_feature *policy_feature_find(const char *verb);

/* "disabled" | "users-can-turn-on"; NULL for an unknown value. */
const char *policy_setting_name(enum policy_setting s);
/*
 * Parse a setting: "disabled", "users-can-turn-on", and the product's names
 * "Disabled" and "DisabledUserOverride". -EINVAL (with a message) otherwise.
 */
int policy_setting_parse(const char *s, enum policy_setting *out, char *err, size_t errlen);
/* "none" | "tenant" | "group" | "user"; NULL for an unknown value. */
const char *policy_source_name(enum policy_source s);

/* Resolve the effective policy of one user from what is assigned to it. */
int policy_resolve(const struct policy_inputs *in, struct policy_effective *out);

/*
 * A party's intent from its allowed/on bits; who is "user@tenant" (NULL:
 * "the user"). on without allowed is treated as off. The reason is:
 *   "<who>'s policy does not allow end-to-end encryption"   (not allowed)
 *   "<who> has not turned on end-to-end encryption"         (allowed, off)
 *   "<who> has turned on end-to-end encryption"             (allowed, on)
 */
int policy_intent_make(bool allowed, bool on, const char *who, struct policy_intent *out);
/*
 * The intent of a user under compliance recording, whatever their policy and
 * own setting say: not allowed, off, compliance set, and the reason
 *   "compliance recording applies to <who>"
 * (the product's rule: a user whose calls must be recorded cannot have
 * end-to-end encryption; docs/policy.md rule 7).
 */
int policy_intent_compliance(const char *who, struct policy_intent *out);
/* A local user's intent from their effective policy and their own setting. */
int policy_intent(const struct policy_effective *eff, bool user_on, const char *who,
		  struct policy_intent *out);

/*
 * The call's mode: end-to-end encrypted only when both parties are allowed and
 * on. Otherwise the reason names each party that is not (a's first, then b's,
 * joined by "; "); when both are, "both parties have turned on end-to-end
 * encryption".
 */
int policy_call_mode(const struct policy_intent *a, const struct policy_intent *b,
		     struct policy_call *out);

#endif /* CALLSEAL_POLICY_H */
