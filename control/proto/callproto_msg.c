/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callproto_msg.c - what the call protocol's messages carry and what they
 * negotiate (docs/handshake.md): message names and ABORT codes, the checks
 * of users and of a local side, the Noise payloads (TLV: INTENT, PROFILES,
 * CHOSEN, MEDIA) built and parsed, the SRTP profile choice and the mode
 * decision. No secrets pass through here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "byteorder.h"
#include "callproto_internal.h"
#include "opts.h"

/*
 * The profiles this implementation can key: the one table (lengths, names,
 * the default offer), most preferred first. The order is the choice rule
 * (docs/handshake.md, "Profile choice"): GCM (RFC 7714) before AES-CM
 * (RFC 3711), so two callseal sites that both offer GCM never settle on
 * AES-CM; AES-CM is chosen only when one side offers no GCM.
 */
static const struct {
	uint16_t profile;
	uint8_t key_len, salt_len;
	const char *name;
} profiles[] = {
	{ CALLPROTO_PROFILE_AEAD_AES_256_GCM, 32, CALLPROTO_MASTER_SALT_GCM,
	  "AEAD_AES_256_GCM" },
	{ CALLPROTO_PROFILE_AEAD_AES_128_GCM, 16, CALLPROTO_MASTER_SALT_GCM,
	  "AEAD_AES_128_GCM" },
	{ CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_80, 16, CALLPROTO_MASTER_SALT_CM,
	  "AES_CM_128_HMAC_SHA1_80" },
	{ CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_32, 16, CALLPROTO_MASTER_SALT_CM,
	  "AES_CM_128_HMAC_SHA1_32" },
};
#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

_Static_assert(N_PROFILES <= CALLPROTO_MAX_PROFILES, "the default offer fits");

static const char *const code_text[CALLPROTO_CODE_MAX] = {
	[CALLPROTO_CODE_ACCEPT]             = "accepted",
	[CALLPROTO_CODE_PROTOCOL]           = "protocol error",
	[CALLPROTO_CODE_AUTH]               = "handshake authentication failed",
	[CALLPROTO_CODE_VERSION]            = "unsupported protocol version",
	[CALLPROTO_CODE_UNKNOWN_CALLEE]     = "unknown callee",
	[CALLPROTO_CODE_IDENTITY_REFUSED]   = "identity key refused",
	[CALLPROTO_CODE_NO_COMMON_PROFILE]  = "no SRTP profile in common",
	[CALLPROTO_CODE_BAD_PROFILE_CHOICE] = "chosen SRTP profile is not the preferred common one",
	[CALLPROTO_CODE_DECLINED]           = "declined",
	[CALLPROTO_CODE_TIMEOUT]            = "timed out",
	[CALLPROTO_CODE_INTERNAL]           = "internal error",
	[CALLPROTO_CODE_BUSY]               = "no room for another call",
};

const char *msg_name(unsigned int type)
{
	switch (type) {
	case T_HELLO:   return "HELLO";
	case T_NOISE1:  return "NOISE1";
	case T_NOISE2:  return "NOISE2";
	case T_NOISE3:  return "NOISE3";
	case T_CONFIRM: return "CONFIRM";
	case T_ABORT:   return "ABORT";
	default:        return NULL;
	}
}

const char *callproto_code_text(enum callproto_code code)
{
	if ((unsigned int)code >= CALLPROTO_CODE_MAX)
		return "unknown code";
	return code_text[code];
}

/* The row of profile in profiles[], or N_PROFILES. */
static size_t profile_row(uint16_t profile)
{
	size_t i;

	for (i = 0; i < N_PROFILES && profiles[i].profile != profile; i++)
		;
	return i;
}

size_t callproto_profile_key_len(uint16_t profile)
{
	size_t i = profile_row(profile);

	return i < N_PROFILES ? profiles[i].key_len : 0;
}

size_t callproto_profile_salt_len(uint16_t profile)
{
	size_t i = profile_row(profile);

	return i < N_PROFILES ? profiles[i].salt_len : 0;
}

const char *callproto_profile_name(uint16_t profile)
{
	size_t i = profile_row(profile);

	return i < N_PROFILES ? profiles[i].name : "unknown";
}

size_t callproto_profiles_default(uint16_t out[CALLPROTO_MAX_PROFILES])
{
	size_t i;

	for (i = 0; i < N_PROFILES; i++)
		out[i] = profiles[i].profile;
	return N_PROFILES;
}

int callproto_profiles_parse(const char *list, uint16_t out[CALLPROTO_MAX_PROFILES],
			     size_t *n, const char *what, char *err, size_t errlen)
{
	char names[160];
	size_t i, k, len, off, used = 0;
	int ret = 0;

	*n = 0;
	for (i = 0, off = 0; i < N_PROFILES && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
					i ? ", " : "", profiles[i].name);
	if (!list || !*list) {
		snprintf(err, errlen, "%s: an empty list (name one or more of %s)", what, names);
		return -EINVAL;
	}
	while (ret == 0) {
		len = strcspn(list, ",");
		for (i = 0; i < N_PROFILES; i++)
			if (strlen(profiles[i].name) == len &&
			    strncasecmp(list, profiles[i].name, len) == 0)
				break;
		if (len == 0) {
			snprintf(err, errlen, "%s: an empty item (names separated by single "
				 "commas, no spaces: %s)", what, names);
			ret = -EINVAL;
			break;
		}
		if (i == N_PROFILES) {
			const char *all[N_PROFILES], *close;
			char shown[40];

			for (k = 0; k < N_PROFILES; k++)
				all[k] = profiles[k].name;
			close = opts_closest(list, len, all, N_PROFILES);
			/* the word only when it is a plain name (never pasted key bytes) */
			snprintf(err, errlen, "%s: '%s' is not an SRTP profile this side can "
				 "key (%s%s%s)", what, opts_word_shown(list, len, shown),
				 close ? "did you mean " : "name one or more of ",
				 close ? close : names, close ? "?" : ", comma-separated");
			ret = -EINVAL;
			break;
		}
		for (k = 0; k < used; k++)
			if (out[k] == profiles[i].profile)
				break;
		if (k < used) {
			snprintf(err, errlen, "%s: %s is listed twice", what, profiles[i].name);
			ret = -EINVAL;
			break;
		}
		out[used++] = profiles[i].profile;      /* used <= N_PROFILES: no repeats */
		if (list[len] == '\0')
			break;
		list += len + 1;
	}
	*n = ret == 0 ? used : 0;
	return ret;
}

/* ---- checks ---------------------------------------------------------------------- */

bool callproto_user_valid(const char *user)
{
	size_t i, len, at = 0, n_at = 0;

	if (!user)
		return false;
	len = strnlen(user, CALLPROTO_USER_MAX + 1);
	if (len == 0 || len > CALLPROTO_USER_MAX)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];

		if (c < 0x21 || c > 0x7e)
			return false;
		if (c == '@') {
			at = i;
			n_at++;
		}
	}
	return n_at == 1 && at > 0 && at < len - 1;
}

static bool intent_consistent(struct intent in)
{
	bool allowed = in.flags & INTENT_ALLOWED, on = in.flags & INTENT_ON;

	if (in.flags & ~(INTENT_ALLOWED | INTENT_ON))
		return false;
	if (allowed && on)
		return in.reason == CALLPROTO_INTENT_OK;
	if (!allowed)
		return in.reason == CALLPROTO_INTENT_POLICY_DISABLED ||
		       in.reason == CALLPROTO_INTENT_NO_POLICY ||
		       in.reason == CALLPROTO_INTENT_COMPLIANCE_RECORDING;
	return in.reason == CALLPROTO_INTENT_NOT_TURNED_ON;
}

static bool addr_valid(const struct callproto_addr *a)
{
	size_t i;

	if (a->port == 0)
		return false;
	if (a->family == 4) {
		for (i = 4; i < sizeof(a->addr); i++)
			if (a->addr[i])
				return false;
		return true;
	}
	return a->family == 6;
}

static int err_msg(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return -EINVAL;
}

/* Checks a local side and builds its intent. */
int msg_local_check(const struct callproto_local *l, struct intent *in,
		    char *err, size_t errlen)
{
	size_t i, j;

	if (!callproto_user_valid(l->user))
		return err_msg(err, errlen, "local user is not a valid user@tenant");
	if (!l->static_private)
		return err_msg(err, errlen, "local static private key missing");
	if (l->n_profiles == 0 || l->n_profiles > CALLPROTO_MAX_PROFILES || !l->profiles)
		return err_msg(err, errlen, "offer 1..16 SRTP profiles");
	for (i = 0; i < l->n_profiles; i++) {
		if (!callproto_profile_key_len(l->profiles[i]))
			return err_msg(err, errlen, "unknown SRTP profile offered");
		for (j = 0; j < i; j++)
			if (l->profiles[j] == l->profiles[i])
				return err_msg(err, errlen, "SRTP profile offered twice");
	}
	if (!addr_valid(&l->media))
		return err_msg(err, errlen, "local media address: family 4 or 6, port > 0");
	in->flags = (uint8_t)((l->e2ee_allowed ? INTENT_ALLOWED : 0) |
			      (l->e2ee_on ? INTENT_ON : 0));
	in->reason = l->e2ee_reason;
	if (in->reason == 0 && !(l->e2ee_allowed && l->e2ee_on))
		in->reason = l->e2ee_allowed ? CALLPROTO_INTENT_NOT_TURNED_ON
					     : CALLPROTO_INTENT_POLICY_DISABLED;
	if (!intent_consistent(*in))
		return err_msg(err, errlen, "e2ee_reason disagrees with the intent bits");
	return 0;
}

int callproto_config_check(const struct callproto_config *cfg, enum callproto_role role,
			   char *err, size_t errlen)
{
	struct intent in;

	if (!cfg)
		return err_msg(err, errlen, "no configuration");
	if (role == CALLPROTO_ROLE_RESPONDER && !cfg->local.static_private)
		return 0;       /* local side comes later (NEED_CALLEE) */
	if (role == CALLPROTO_ROLE_INITIATOR && !callproto_user_valid(cfg->peer_user))
		return err_msg(err, errlen, "callee is not a valid user@tenant");
	return msg_local_check(&cfg->local, &in, err, errlen);
}

/* ---- decisions ------------------------------------------------------------------- */

/* The most preferred profile both lists hold, or 0. */
uint16_t msg_choose_profile(const uint16_t *a, size_t na, const uint16_t *b, size_t nb)
{
	size_t p, i, j;

	for (p = 0; p < N_PROFILES; p++) {
		bool in_a = false, in_b = false;

		for (i = 0; i < na; i++)
			in_a |= a[i] == profiles[p].profile;
		for (j = 0; j < nb; j++)
			in_b |= b[j] == profiles[p].profile;
		if (in_a && in_b)
			return profiles[p].profile;
	}
	return 0;
}

void msg_list_profiles(char *buf, size_t cap, const uint16_t *p, size_t n)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && off < cap; i++) {
		int w = snprintf(buf + off, cap - off, "%s%s", i ? ", " : "",
				 callproto_profile_name(p[i]));
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (n == 0)
		snprintf(buf, cap, "none that this side knows");
}

static size_t append_intent_text(char *buf, size_t cap, size_t off,
				 const char *user, struct intent in)
{
	const char *text, *pre = "";
	int w;

	switch (in.reason) {
	case CALLPROTO_INTENT_COMPLIANCE_RECORDING:
		pre = "compliance recording applies to ";
		text = "";
		break;
	case CALLPROTO_INTENT_POLICY_DISABLED:
		text = "'s policy does not allow end-to-end encryption";
		break;
	case CALLPROTO_INTENT_NO_POLICY:
		text = "'s policy does not allow end-to-end encryption (no policy assigned)";
		break;
	case CALLPROTO_INTENT_NOT_TURNED_ON:
		text = " has not turned on end-to-end encryption";
		break;
	default:
		return off;
	}
	if (off >= cap)
		return off;
	w = snprintf(buf + off, cap - off, "%s%s%s%s", off ? "; " : "", pre, user, text);
	return w < 0 ? off : off + (size_t)w;
}

/* Both intents known: the mode and its reason, identical on both sides. */
void msg_decide_mode(struct callproto *st)
{
	struct intent ci, ri;   /* caller's, callee's */
	const uint8_t both = INTENT_ALLOWED | INTENT_ON;
	size_t off = 0;

	ci = st->role == CALLPROTO_ROLE_INITIATOR ? st->local_intent : st->peer.intent;
	ri = st->role == CALLPROTO_ROLE_INITIATOR ? st->peer.intent : st->local_intent;
	if ((ci.flags & both) == both && (ri.flags & both) == both) {
		st->mode = CALLPROTO_MODE_E2EE;
		snprintf(st->mode_reason, sizeof(st->mode_reason), "end-to-end encrypted");
		return;
	}
	st->mode = CALLPROTO_MODE_STANDARD;
	st->mode_reason[0] = '\0';
	off = append_intent_text(st->mode_reason, sizeof(st->mode_reason), off, st->caller, ci);
	(void)append_intent_text(st->mode_reason, sizeof(st->mode_reason), off, st->callee, ri);
}

/* ---- payloads (TLV) -------------------------------------------------------------- */

size_t msg_payload_build(const struct callproto *st, bool with_chosen, uint8_t *p)
{
	size_t off = 0, i, alen;

	p[off++] = TLV_INTENT;
	put_be16(p + off, 2);
	off += 2;
	p[off++] = st->local_intent.flags;
	p[off++] = st->local_intent.reason;

	p[off++] = TLV_PROFILES;
	put_be16(p + off, (uint16_t)(2 * st->n_local_profiles));
	off += 2;
	for (i = 0; i < st->n_local_profiles; i++, off += 2)
		put_be16(p + off, st->local_profiles[i]);

	if (with_chosen) {
		p[off++] = TLV_CHOSEN;
		put_be16(p + off, 2);
		off += 2;
		put_be16(p + off, st->profile);
		off += 2;
	}

	alen = st->local_media.family == 4 ? 4 : 16;
	p[off++] = TLV_MEDIA;
	put_be16(p + off, (uint16_t)(1 + alen + 2));
	off += 2;
	p[off++] = st->local_media.family;
	memcpy(p + off, st->local_media.addr, alen);
	off += alen;
	put_be16(p + off, st->local_media.port);
	off += 2;
	return off;
}

/* Parse a peer payload; 0, or -EBADMSG with why in err. */
int msg_payload_parse(const uint8_t *p, size_t len, bool is_noise3,
		      struct payload *out, char *err, size_t errlen)
{
	uint16_t seen_values[CALLPROTO_MAX_PROFILES];
	unsigned int seen = 0, prev = 0;
	size_t off = 0, i, j;

	memset(out, 0, sizeof(*out));
	while (off < len) {
		unsigned int type;
		size_t vlen;
		const uint8_t *v;

		if (len - off < 3) {
			snprintf(err, errlen, "truncated TLV header");
			return -EBADMSG;
		}
		type = p[off];
		vlen = get_be16(p + off + 1);
		off += 3;
		if (vlen > len - off) {
			snprintf(err, errlen, "TLV 0x%02x: length %zu runs past the payload",
				 type, vlen);
			return -EBADMSG;
		}
		v = p + off;
		off += vlen;
		if (type == prev) {
			snprintf(err, errlen, "TLV 0x%02x appears twice", type);
			return -EBADMSG;
		}
		if (type < prev) {
			snprintf(err, errlen, "TLV 0x%02x out of order", type);
			return -EBADMSG;
		}
		prev = type;
		switch (type) {
		case TLV_INTENT:
			if (vlen != 2) {
				snprintf(err, errlen, "INTENT: length %zu, want 2", vlen);
				return -EBADMSG;
			}
			out->intent.flags = v[0];
			out->intent.reason = v[1];
			if (!intent_consistent(out->intent)) {
				snprintf(err, errlen, "INTENT: flags 0x%02x with reason %u",
					 v[0], v[1]);
				return -EBADMSG;
			}
			break;
		case TLV_PROFILES:
			if (vlen == 0 || vlen % 2 || vlen > 2 * CALLPROTO_MAX_PROFILES) {
				snprintf(err, errlen, "PROFILES: length %zu, want 2..%d, even",
					 vlen, 2 * CALLPROTO_MAX_PROFILES);
				return -EBADMSG;
			}
			for (i = 0; i < vlen / 2; i++) {
				uint16_t prof = get_be16(v + 2 * i);

				if (prof == 0) {
					snprintf(err, errlen, "PROFILES: profile 0");
					return -EBADMSG;
				}
				for (j = 0; j < i; j++) {
					if (seen_values[j] == prof) {
						snprintf(err, errlen,
							 "PROFILES: 0x%04x offered twice", prof);
						return -EBADMSG;
					}
				}
				seen_values[i] = prof;
				if (callproto_profile_key_len(prof))    /* unknown ones ignored */
					out->profiles[out->n_profiles++] = prof;
			}
			break;
		case TLV_CHOSEN:
			if (!is_noise3) {
				snprintf(err, errlen, "CHOSEN is only allowed in NOISE3");
				return -EBADMSG;
			}
			if (vlen != 2) {
				snprintf(err, errlen, "CHOSEN: length %zu, want 2", vlen);
				return -EBADMSG;
			}
			out->has_chosen = true;
			out->chosen = get_be16(v);
			break;
		case TLV_MEDIA:
			if (vlen < 1 || (v[0] != 4 && v[0] != 6) ||
			    vlen != (size_t)(v[0] == 4 ? 7 : 19)) {
				snprintf(err, errlen, "MEDIA: bad family or length %zu", vlen);
				return -EBADMSG;
			}
			out->media.family = v[0];
			memcpy(out->media.addr, v + 1, v[0] == 4 ? 4 : 16);
			out->media.port = get_be16(v + vlen - 2);
			if (out->media.port == 0) {
				snprintf(err, errlen, "MEDIA: port 0");
				return -EBADMSG;
			}
			break;
		default:
			snprintf(err, errlen, "unknown TLV type 0x%02x", type);
			return -EBADMSG;
		}
		seen |= 1u << type;
	}
	if (!(seen & (1u << TLV_INTENT)) || !(seen & (1u << TLV_PROFILES)) ||
	    !(seen & (1u << TLV_MEDIA)) || (is_noise3 && !(seen & (1u << TLV_CHOSEN)))) {
		snprintf(err, errlen, "a required TLV is missing (INTENT, PROFILES, %sMEDIA)",
			 is_noise3 ? "CHOSEN, " : "");
		return -EBADMSG;
	}
	return 0;
}
