/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callproto.c - the call key agreement (docs/handshake.md): framing, hello,
 * prologue, Noise XX payloads (TLV), profile and mode decision, the CONFIRM
 * message, the key schedule, the rekey chain and the security code.
 *
 * Where secrets live: struct callproto is secmem_alloc'd (secmem.h: mlock'd,
 * MADV_DONTDUMP, guarded chunks, a canary per block) and holds the static
 * private key until the handshake has its copy, the handshake pointer (itself
 * secmem_alloc'd), the transport cipher states of CONFIRM, the key-schedule
 * chain and the generation-0 keys. wipe_secrets() clears all of them on every
 * failure; secmem_free() wipes the rest. Stack temporaries are wiped at each
 * exit.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "byteorder.h"
#include "callproto.h"
#include "secmem.h"

/* ---- wire constants (docs/handshake.md) ------------------------------------- */

enum msg_type {
	T_HELLO   = 0x01,
	T_NOISE1  = 0x02,
	T_NOISE2  = 0x03,
	T_NOISE3  = 0x04,
	T_CONFIRM = 0x05,
	T_ABORT   = 0x7f,
};

enum tlv_type {
	TLV_INTENT   = 0x01,    /* flags(1) reason(1) */
	TLV_PROFILES = 0x02,    /* uint16 BE list */
	TLV_CHOSEN   = 0x03,    /* uint16 BE (NOISE3 only) */
	TLV_MEDIA    = 0x04,    /* family(1) addr(4|16) port(2) */
};

#define INTENT_ALLOWED 0x01u
#define INTENT_ON      0x02u

#define PROLOGUE_LABEL      "callseal/1"        /* followed by one 0x00 */
#define LABEL_KEY_SCHEDULE  "callseal/1 key schedule"
#define LABEL_CHAIN         "callseal/1 chain"
#define LABEL_SRTP_I2R      "callseal/1 srtp i->r"
#define LABEL_SRTP_R2I      "callseal/1 srtp r->i"
#define LABEL_REKEY         "callseal/1 rekey"
#define LABEL_CODE          "callseal/1 security code"

#define HELLO_FIXED    (1 + 1 + CALLPROTO_CALL_ID_LEN + 1 + 1)   /* + both users */
#define HELLO_MAX      (HELLO_FIXED + 2 * CALLPROTO_USER_MAX)
/* Largest payload this module writes or accepts. */
#define PAYLOAD_MAX    (3 + 2 + 3 + 2 * CALLPROTO_MAX_PROFILES + 3 + 2 + 3 + 19)
#define NOISE1_LEN     NOISE_PUBLIC_KEY_LEN                       /* e */
#define NOISE2_MIN     (NOISE_PUBLIC_KEY_LEN + NOISE_PUBLIC_KEY_LEN + \
			2 * NOISE_AUTHTAG_LEN)                      /* e, s, tag */
#define NOISE3_MIN     (NOISE_PUBLIC_KEY_LEN + 2 * NOISE_AUTHTAG_LEN) /* s, tag */
#define CONFIRM_PLAIN  4                                          /* code mode profile */
#define CONFIRM_LEN    (CONFIRM_PLAIN + NOISE_AUTHTAG_LEN)
#define OUT_SLOTS      2

_Static_assert(CALLPROTO_FRAME_HDR + HELLO_MAX <= CALLPROTO_OUT_MAX, "hello fits");
_Static_assert(CALLPROTO_FRAME_HDR + 1 + NOISE2_MIN + PAYLOAD_MAX <= CALLPROTO_OUT_MAX,
	       "NOISE2 fits");
_Static_assert(CALLPROTO_MASTER_KEY_MAX + CALLPROTO_MASTER_SALT_LEN <= NOISE_HASH_LEN,
	       "key and salt from one 64-octet output");

/* Profiles this implementation can key, most preferred first. */
static const uint16_t profile_pref[] = {
	CALLPROTO_PROFILE_AEAD_AES_256_GCM,
	CALLPROTO_PROFILE_AEAD_AES_128_GCM,
};

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
};

/* ---- state ------------------------------------------------------------------- */

enum step {
	S_I_WAIT_NOISE2 = 0,
	S_I_IDENTITY,
	S_I_WAIT_CONFIRM,
	S_R_WAIT_HELLO,
	S_R_CALLEE,
	S_R_WAIT_NOISE1,
	S_R_WAIT_NOISE3,
	S_R_IDENTITY,
	S_DONE,
	S_FAILED,
};

struct intent {
	uint8_t flags;          /* INTENT_* */
	uint8_t reason;         /* enum callproto_intent_reason */
};

struct payload {
	struct intent intent;
	uint16_t profiles[CALLPROTO_MAX_PROFILES];      /* the ones we know */
	size_t n_profiles;
	bool has_chosen;
	uint16_t chosen;
	struct callproto_addr media;
};

/* Always in secmem_alloc'd memory. */
struct callproto {
	enum callproto_role role;
	enum step step;
	char reason[CALLPROTO_REASON_MAX];
	uint64_t progress_ns;
	callproto_identity_fn identity_cb;
	void *identity_ctx;

	/* the hello */
	bool have_hello;
	uint8_t hello[HELLO_MAX];       /* body, type octet included */
	size_t hello_len;
	uint8_t call_id[CALLPROTO_CALL_ID_LEN];
	char caller[CALLPROTO_USER_MAX + 1];
	char callee[CALLPROTO_USER_MAX + 1];

	/* this side */
	bool have_local;
	uint8_t static_private[NOISE_PRIVATE_KEY_LEN];  /* SECRET, until hs has it */
	uint8_t static_public[NOISE_PUBLIC_KEY_LEN];
	bool have_static_public;
	struct intent local_intent;
	uint16_t local_profiles[CALLPROTO_MAX_PROFILES];
	size_t n_local_profiles;
	struct callproto_addr local_media;

	/* the peer (authenticated once the handshake is complete) */
	struct payload peer;
	bool have_peer_static;
	uint8_t peer_static[NOISE_PUBLIC_KEY_LEN];

	/* decisions */
	uint16_t profile;
	enum callproto_mode mode;
	char mode_reason[CALLPROTO_REASON_MAX];

	/* crypto: SECRET */
	struct noise_handshake *hs;
	struct noise_cipherstate send, recv;    /* CONFIRM only */
	uint8_t h[NOISE_HASH_LEN];              /* not secret */
	bool have_chain;
	uint32_t chain_gen;
	uint8_t chain[NOISE_HASH_LEN];          /* chain_<chain_gen> */
	struct callproto_keys keys0;
	char code[CALLPROTO_SECURITY_CODE_LEN + 1];

	/* NOISE1 that arrived while the responder waited for its local side */
	bool have_pending_noise1;
	uint8_t pending_noise1[NOISE1_LEN];

	/* frames to send */
	uint8_t out[OUT_SLOTS][CALLPROTO_OUT_MAX];
	size_t out_len[OUT_SLOTS];
	unsigned int out_head, out_n;
};

/* ---- small helpers -------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void progress(struct callproto *st)
{
	st->progress_ns = now_ns();
}

static const char *msg_name(unsigned int type)
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

size_t callproto_profile_key_len(uint16_t profile)
{
	switch (profile) {
	case CALLPROTO_PROFILE_AEAD_AES_128_GCM: return 16;
	case CALLPROTO_PROFILE_AEAD_AES_256_GCM: return 32;
	default:                                 return 0;
	}
}

const char *callproto_profile_name(uint16_t profile)
{
	switch (profile) {
	case CALLPROTO_PROFILE_AEAD_AES_128_GCM: return "AEAD_AES_128_GCM";
	case CALLPROTO_PROFILE_AEAD_AES_256_GCM: return "AEAD_AES_256_GCM";
	default:                                 return "unknown";
	}
}

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
		       in.reason == CALLPROTO_INTENT_NO_POLICY;
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
static int local_check(const struct callproto_local *l, struct intent *in,
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
	return local_check(&cfg->local, &in, err, errlen);
}

static void set_local(struct callproto *st, const struct callproto_local *l,
		      struct intent in)
{
	st->have_local = true;
	memcpy(st->static_private, l->static_private, NOISE_PRIVATE_KEY_LEN);
	st->have_static_public = l->static_public != NULL;
	if (l->static_public)
		memcpy(st->static_public, l->static_public, NOISE_PUBLIC_KEY_LEN);
	st->local_intent = in;
	memcpy(st->local_profiles, l->profiles, l->n_profiles * sizeof(uint16_t));
	st->n_local_profiles = l->n_profiles;
	st->local_media = l->media;
}

static const char *peer_name(const struct callproto *st)
{
	if (st->role == CALLPROTO_ROLE_INITIATOR)
		return st->callee;
	return st->have_hello ? st->caller : "the caller";
}

/* ---- failure ---------------------------------------------------------------------- */

static void wipe_secrets(struct callproto *st)
{
	noise_handshake_destroy(st->hs);
	st->hs = NULL;
	sodium_memzero(st->static_private, sizeof(st->static_private));
	noise_cipherstate_wipe(&st->send);
	noise_cipherstate_wipe(&st->recv);
	sodium_memzero(st->chain, sizeof(st->chain));
	st->have_chain = false;
	callproto_keys_wipe(&st->keys0);
	sodium_memzero(st->code, sizeof(st->code));
	sodium_memzero(st->h, sizeof(st->h));
}

static void queue_clear(struct callproto *st)
{
	sodium_memzero(st->out, sizeof(st->out));
	memset(st->out_len, 0, sizeof(st->out_len));
	st->out_head = st->out_n = 0;
}

/* Queue type || body as one frame. */
static int queue_frame(struct callproto *st, uint8_t type, const uint8_t *body, size_t len)
{
	unsigned int slot;
	uint8_t *p;

	if (st->out_n >= OUT_SLOTS || 1 + len > CALLPROTO_OUT_MAX - CALLPROTO_FRAME_HDR)
		return -ENOBUFS;
	slot = (st->out_head + st->out_n) % OUT_SLOTS;
	p = st->out[slot];
	put_be16(p, (uint16_t)(1 + len));
	p[2] = type;
	if (len)
		memcpy(p + 3, body, len);
	st->out_len[slot] = CALLPROTO_FRAME_HDR + 1 + len;
	st->out_n++;
	return 0;
}

/*
 * The attempt fails: reason = fmt, every secret wiped, frames not yet sent
 * dropped; with tell_peer, an ABORT(code) is queued. Returns err.
 */
__attribute__((format(printf, 5, 6)))
static int fail(struct callproto *st, enum callproto_code code, bool tell_peer,
		int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
	wipe_secrets(st);
	queue_clear(st);
	sodium_memzero(st->mode_reason, sizeof(st->mode_reason));
	st->mode = CALLPROTO_MODE_NONE;
	st->profile = 0;
	if (tell_peer) {
		uint8_t c = (uint8_t)code;

		(void)queue_frame(st, T_ABORT, &c, 1);
	}
	st->step = S_FAILED;
	progress(st);
	return err;
}

/*
 * Responder, handshake complete (NOISE3 read): the refusal goes back
 * authenticated in CONFIRM(code), then the attempt fails as above.
 */
__attribute__((format(printf, 4, 5)))
static int fail_reject(struct callproto *st, enum callproto_code code, int err,
		       const char *fmt, ...)
{
	uint8_t plain[CONFIRM_PLAIN] = { (uint8_t)code, 0, 0, 0 };
	uint8_t msg[CONFIRM_LEN];
	char reason[CALLPROTO_REASON_MAX];
	size_t n = 0;
	va_list ap;
	bool sent = false;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (noise_handshake_split(st->hs, &st->send, &st->recv) == 0 &&
	    noise_cipher_encrypt(&st->send, NULL, 0, plain, sizeof(plain),
				 msg, sizeof(msg), &n) == 0)
		sent = true;
	(void)fail(st, code, !sent, err, "%s", reason);
	if (sent)
		(void)queue_frame(st, T_CONFIRM, msg, n);
	sodium_memzero(msg, sizeof(msg));
	return err;
}

/* ---- key schedule (docs/handshake.md, "Key schedule") ----------------------------- */

/* out = BLAKE2b-512(key = key[64], label || ctx) */
static int kdf(uint8_t out[NOISE_HASH_LEN], const uint8_t key[NOISE_HASH_LEN],
	       const char *label, const uint8_t *ctx, size_t ctx_len)
{
	crypto_generichash_blake2b_state s;
	int ret = 0;

	ret |= crypto_generichash_blake2b_init(&s, key, NOISE_HASH_LEN, NOISE_HASH_LEN);
	ret |= crypto_generichash_blake2b_update(&s, (const uint8_t *)label, strlen(label));
	if (ctx_len)
		ret |= crypto_generichash_blake2b_update(&s, ctx, ctx_len);
	ret |= crypto_generichash_blake2b_final(&s, out, NOISE_HASH_LEN);
	sodium_memzero(&s, sizeof(s));
	return ret ? -EIO : 0;
}

/* Handshake complete, before split: h, chain_0, security code. */
static int schedule_start(struct callproto *st)
{
	uint8_t x[NOISE_HASH_LEN];
	int ret;

	ret = noise_handshake_hash(st->hs, st->h);
	if (ret)
		goto out;
	/* X = HKDF(ck, "callseal/1 key schedule", 2).output1 */
	ret = noise_handshake_export(st->hs, (const uint8_t *)LABEL_KEY_SCHEDULE,
				     strlen(LABEL_KEY_SCHEDULE), x, sizeof(x));
	if (ret)
		goto out;
	/* chain_0 = BLAKE2b(key = X, "callseal/1 chain" || h) */
	ret = kdf(st->chain, x, LABEL_CHAIN, st->h, sizeof(st->h));
	if (ret)
		goto out;
	st->have_chain = true;
	st->chain_gen = 0;
	ret = callproto_security_code(st->h, st->code);
out:
	sodium_memzero(x, sizeof(x));
	return ret;
}

/* One direction's key of the current chain generation. */
static int derive_key(const struct callproto *st, const char *label,
		      struct callproto_srtp_key *k)
{
	uint8_t ctx[6], km[NOISE_HASH_LEN];
	size_t key_len = callproto_profile_key_len(st->profile);
	int ret;

	put_be32(ctx, st->chain_gen);
	put_be16(ctx + 4, st->profile);
	/* KM = BLAKE2b(key = chain_g, label || BE32(g) || BE16(profile)) */
	ret = kdf(km, st->chain, label, ctx, sizeof(ctx));
	if (ret == 0) {
		memset(k, 0, sizeof(*k));
		k->profile = st->profile;
		k->key_len = (uint8_t)key_len;
		memcpy(k->key, km, key_len);
		memcpy(k->salt, km + CALLPROTO_MASTER_KEY_MAX, CALLPROTO_MASTER_SALT_LEN);
	}
	sodium_memzero(km, sizeof(km));
	return ret;
}

static int derive_keys(const struct callproto *st, struct callproto_keys *out)
{
	bool init = st->role == CALLPROTO_ROLE_INITIATOR;
	int ret;

	out->generation = st->chain_gen;
	ret = derive_key(st, LABEL_SRTP_I2R, init ? &out->tx : &out->rx);
	if (ret == 0)
		ret = derive_key(st, LABEL_SRTP_R2I, init ? &out->rx : &out->tx);
	if (ret)
		callproto_keys_wipe(out);
	return ret;
}

/* chain_{g+1} = BLAKE2b(key = chain_g, "callseal/1 rekey" || BE32(g+1)); chain_g wiped */
static int chain_advance(struct callproto *st)
{
	uint8_t ctx[4], next[NOISE_HASH_LEN];
	int ret;

	put_be32(ctx, st->chain_gen + 1);
	ret = kdf(next, st->chain, LABEL_REKEY, ctx, sizeof(ctx));
	if (ret == 0) {
		memcpy(st->chain, next, sizeof(next));
		st->chain_gen++;
	}
	sodium_memzero(next, sizeof(next));
	return ret;
}

int callproto_security_code(const uint8_t h[NOISE_HASH_LEN],
			    char out[CALLPROTO_SECURITY_CODE_LEN + 1])
{
	crypto_generichash_blake2b_state s;
	uint8_t d[NOISE_HASH_LEN];
	int ret = 0, i, j;

	if (!h || !out)
		return -EINVAL;
	/* D = BLAKE2b-512("callseal/1 security code" || h) */
	ret |= crypto_generichash_blake2b_init(&s, NULL, 0, sizeof(d));
	ret |= crypto_generichash_blake2b_update(&s, (const uint8_t *)LABEL_CODE,
						 strlen(LABEL_CODE));
	ret |= crypto_generichash_blake2b_update(&s, h, NOISE_HASH_LEN);
	ret |= crypto_generichash_blake2b_final(&s, d, sizeof(d));
	if (ret)
		return -EIO;
	/* group i = BE40(D[5i .. 5i+5)) mod 100000, five digits */
	for (i = 0; i < 4; i++) {
		uint64_t v = 0;

		for (j = 0; j < 5; j++)
			v = (v << 8) | d[5 * i + j];
		v %= 100000u;
		for (j = 4; j >= 0; j--) {
			out[6 * i + j] = (char)('0' + v % 10);
			v /= 10;
		}
		out[6 * i + 5] = i < 3 ? ' ' : '\0';
	}
	sodium_memzero(&s, sizeof(s));
	sodium_memzero(d, sizeof(d));
	return 0;
}

/* ---- decisions ------------------------------------------------------------------------ */

/* The most preferred profile both lists hold, or 0. */
static uint16_t choose_profile(const uint16_t *a, size_t na, const uint16_t *b, size_t nb)
{
	size_t p, i, j;

	for (p = 0; p < sizeof(profile_pref) / sizeof(profile_pref[0]); p++) {
		bool in_a = false, in_b = false;

		for (i = 0; i < na; i++)
			in_a |= a[i] == profile_pref[p];
		for (j = 0; j < nb; j++)
			in_b |= b[j] == profile_pref[p];
		if (in_a && in_b)
			return profile_pref[p];
	}
	return 0;
}

static void list_profiles(char *buf, size_t cap, const uint16_t *p, size_t n)
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
	const char *text;
	int w;

	switch (in.reason) {
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
	w = snprintf(buf + off, cap - off, "%s%s%s", off ? "; " : "", user, text);
	return w < 0 ? off : off + (size_t)w;
}

/* Both intents known: the mode and its reason, identical on both sides. */
static void decide_mode(struct callproto *st)
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

/* ---- payloads (TLV) ------------------------------------------------------------------- */

static size_t build_payload(const struct callproto *st, bool with_chosen, uint8_t *p)
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
static int parse_payload(const uint8_t *p, size_t len, bool is_noise3,
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

/* ---- life cycle ------------------------------------------------------------------------ */

static int state_alloc(struct callproto **stp, enum callproto_role role)
{
	struct callproto *st;

	if (noise_init() != 0)
		return -EIO;
	st = secmem_alloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	st->role = role;
	progress(st);
	*stp = st;
	return 0;
}

/* Prologue = "callseal/1" || 0x00 || the hello body after its type octet. */
static int handshake_start(struct callproto *st)
{
	uint8_t prologue[sizeof(PROLOGUE_LABEL) + HELLO_MAX];
	struct noise_handshake_config hc = {
		.pattern = NOISE_PATTERN_XX,
		.role = st->role == CALLPROTO_ROLE_INITIATOR ? NOISE_ROLE_INITIATOR
							     : NOISE_ROLE_RESPONDER,
		.prologue = prologue,
		.prologue_len = sizeof(PROLOGUE_LABEL) + st->hello_len - 1,
		.local_static_private = st->static_private,
		.local_static_public = st->have_static_public ? st->static_public : NULL,
	};
	int ret;

	memcpy(prologue, PROLOGUE_LABEL, sizeof(PROLOGUE_LABEL));      /* with its NUL */
	memcpy(prologue + sizeof(PROLOGUE_LABEL), st->hello + 1, st->hello_len - 1);
	ret = noise_handshake_create(&st->hs, &hc);
	sodium_memzero(st->static_private, sizeof(st->static_private));
	return ret;
}

int callproto_initiator_create(struct callproto **stp, const struct callproto_config *cfg)
{
	struct callproto *st = NULL;
	struct intent in;
	uint8_t msg[NOISE1_LEN];
	size_t n = 0, ulen, off;
	int ret;

	if (!stp)
		return -EINVAL;
	*stp = NULL;
	if (callproto_config_check(cfg, CALLPROTO_ROLE_INITIATOR, NULL, 0) ||
	    local_check(&cfg->local, &in, NULL, 0))
		return -EINVAL;
	ret = state_alloc(&st, CALLPROTO_ROLE_INITIATOR);
	if (ret)
		return ret;
	st->identity_cb = cfg->identity_cb;
	st->identity_ctx = cfg->identity_ctx;
	set_local(st, &cfg->local, in);
	snprintf(st->caller, sizeof(st->caller), "%s", cfg->local.user);
	snprintf(st->callee, sizeof(st->callee), "%s", cfg->peer_user);
	if (cfg->call_id)
		memcpy(st->call_id, cfg->call_id, CALLPROTO_CALL_ID_LEN);
	else
		randombytes_buf(st->call_id, CALLPROTO_CALL_ID_LEN);

	/* HELLO: type version call_id len caller len callee */
	off = 0;
	st->hello[off++] = T_HELLO;
	st->hello[off++] = CALLPROTO_VERSION;
	memcpy(st->hello + off, st->call_id, CALLPROTO_CALL_ID_LEN);
	off += CALLPROTO_CALL_ID_LEN;
	ulen = strlen(st->caller);
	st->hello[off++] = (uint8_t)ulen;
	memcpy(st->hello + off, st->caller, ulen);
	off += ulen;
	ulen = strlen(st->callee);
	st->hello[off++] = (uint8_t)ulen;
	memcpy(st->hello + off, st->callee, ulen);
	off += ulen;
	st->hello_len = off;
	st->have_hello = true;

	ret = handshake_start(st);
	if (ret)
		goto out;
	ret = queue_frame(st, T_HELLO, st->hello + 1, st->hello_len - 1);
	if (ret)
		goto out;
	/* -> e (empty payload) */
	ret = noise_handshake_write_message(st->hs, NULL, 0, msg, sizeof(msg), &n);
	if (ret)
		goto out;
	ret = queue_frame(st, T_NOISE1, msg, n);
	if (ret)
		goto out;
	st->step = S_I_WAIT_NOISE2;
out:
	if (ret) {
		callproto_destroy(st);
		return ret;
	}
	*stp = st;
	return 0;
}

int callproto_responder_create(struct callproto **stp, const struct callproto_config *cfg)
{
	struct callproto *st = NULL;
	struct intent in;
	int ret;

	if (!stp)
		return -EINVAL;
	*stp = NULL;
	if (cfg && callproto_config_check(cfg, CALLPROTO_ROLE_RESPONDER, NULL, 0))
		return -EINVAL;
	ret = state_alloc(&st, CALLPROTO_ROLE_RESPONDER);
	if (ret)
		return ret;
	if (cfg) {
		st->identity_cb = cfg->identity_cb;
		st->identity_ctx = cfg->identity_ctx;
		if (cfg->local.static_private) {
			(void)local_check(&cfg->local, &in, NULL, 0);   /* checked above */
			set_local(st, &cfg->local, in);
			snprintf(st->callee, sizeof(st->callee), "%s", cfg->local.user);
		}
	}
	st->step = S_R_WAIT_HELLO;
	*stp = st;
	return 0;
}

void callproto_destroy(struct callproto *st)
{
	if (!st)
		return;
	wipe_secrets(st);
	secmem_free(st);                /* wipes the rest */
}

/* ---- steps -------------------------------------------------------------------------------- */

static int identity_step(struct callproto *st, enum step ask);

/* Responder: NOISE1 read; NOISE2 out. */
static int responder_noise1(struct callproto *st, const uint8_t *msg)
{
	uint8_t payload[PAYLOAD_MAX], out[CALLPROTO_OUT_MAX];
	size_t plen, n = 0, olen = 0;
	int ret;

	/* -> e */
	ret = noise_handshake_read_message(st->hs, msg, NOISE1_LEN, NULL, 0, &n);
	if (ret)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "NOISE1 refused (%s)", strerror(-ret));
	/* <- e, ee, s, es + payload */
	plen = build_payload(st, false, payload);
	ret = noise_handshake_write_message(st->hs, payload, plen, out, sizeof(out), &olen);
	if (ret == 0)
		ret = queue_frame(st, T_NOISE2, out, olen);
	sodium_memzero(out, sizeof(out));
	if (ret)
		return fail(st, CALLPROTO_CODE_INTERNAL, true, ret,
			    "cannot write NOISE2 (%s)", strerror(-ret));
	st->step = S_R_WAIT_NOISE3;
	return 0;
}

static int consume_hello(struct callproto *st, const uint8_t *body, size_t len)
{
	size_t off = 1, clen, dlen;

	if (len < HELLO_FIXED || len > HELLO_MAX)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "HELLO of %zu octets (want %d..%d)", len, HELLO_FIXED, HELLO_MAX);
	if (body[off] != CALLPROTO_VERSION)
		return fail(st, CALLPROTO_CODE_VERSION, true, -EPROTONOSUPPORT,
			    "HELLO: protocol version %u, this side speaks %u",
			    body[off], CALLPROTO_VERSION);
	off++;
	memcpy(st->call_id, body + off, CALLPROTO_CALL_ID_LEN);
	off += CALLPROTO_CALL_ID_LEN;
	clen = body[off++];
	if (clen == 0 || clen > len - off - 1)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "HELLO: caller length %zu does not fit", clen);
	memcpy(st->caller, body + off, clen);
	st->caller[clen] = '\0';
	off += clen;
	dlen = body[off++];
	if (dlen == 0 || dlen != len - off)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "HELLO: callee length %zu, %zu octets left", dlen, len - off);
	/* a NUL inside would make the string shorter: caught by the length checks below */
	if (strlen(st->caller) != clen || !callproto_user_valid(st->caller))
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "HELLO: caller is not a valid user@tenant");
	if (st->have_local) {
		if (dlen != strlen(st->callee) || memcmp(body + off, st->callee, dlen) != 0)
			return fail(st, CALLPROTO_CODE_UNKNOWN_CALLEE, true, -ENOENT,
				    "HELLO: callee is not %s", st->callee);
	} else {
		memcpy(st->callee, body + off, dlen);
		st->callee[dlen] = '\0';
		if (strlen(st->callee) != dlen || !callproto_user_valid(st->callee))
			return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
				    "HELLO: callee is not a valid user@tenant");
	}
	memcpy(st->hello, body, len);
	st->hello_len = len;
	st->have_hello = true;
	if (!st->have_local) {
		st->step = S_R_CALLEE;
		return 0;
	}
	if (handshake_start(st))
		return fail(st, CALLPROTO_CODE_INTERNAL, true, -ENOMEM,
			    "cannot start the handshake");
	st->step = S_R_WAIT_NOISE1;
	return 0;
}

/* Initiator: NOISE2 read (responder's key, payload). */
static int consume_noise2(struct callproto *st, const uint8_t *msg, size_t len)
{
	uint8_t payload[PAYLOAD_MAX];
	char err[160], mine[96], theirs[96];
	size_t plen = 0;
	int ret;

	if (len < NOISE2_MIN || len > NOISE2_MIN + PAYLOAD_MAX)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "NOISE2 of %zu octets (want %d..%d)", len, NOISE2_MIN,
			    NOISE2_MIN + PAYLOAD_MAX);
	/* <- e, ee, s, es */
	ret = noise_handshake_read_message(st->hs, msg, len, payload, sizeof(payload), &plen);
	if (ret)
		return fail(st, CALLPROTO_CODE_AUTH, true, -EBADMSG,
			    "NOISE2 from %s failed authentication (%s): modified in "
			    "transit, from another attempt, or the hello was changed",
			    st->callee, strerror(-ret));
	ret = parse_payload(payload, plen, false, &st->peer, err, sizeof(err));
	sodium_memzero(payload, sizeof(payload));
	if (ret)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "NOISE2 payload from %s: %s", st->callee, err);
	if (noise_handshake_remote_static(st->hs, st->peer_static))
		return fail(st, CALLPROTO_CODE_INTERNAL, true, -EIO, "no responder key");
	st->have_peer_static = true;
	st->profile = choose_profile(st->local_profiles, st->n_local_profiles,
				     st->peer.profiles, st->peer.n_profiles);
	if (!st->profile) {
		list_profiles(mine, sizeof(mine), st->local_profiles, st->n_local_profiles);
		list_profiles(theirs, sizeof(theirs), st->peer.profiles, st->peer.n_profiles);
		return fail(st, CALLPROTO_CODE_NO_COMMON_PROFILE, true, -ENOPROTOOPT,
			    "no SRTP profile in common: %s offers %s, %s offers %s",
			    st->caller, mine, st->callee, theirs);
	}
	return identity_step(st, S_I_IDENTITY);
}

/* Initiator, identity accepted: NOISE3 out, schedule started, CONFIRM awaited. */
static int initiator_accept(struct callproto *st)
{
	uint8_t payload[PAYLOAD_MAX], out[CALLPROTO_OUT_MAX];
	size_t plen, olen = 0;
	int ret;

	/* -> s, se + payload */
	plen = build_payload(st, true, payload);
	ret = noise_handshake_write_message(st->hs, payload, plen, out, sizeof(out), &olen);
	if (ret == 0)
		ret = queue_frame(st, T_NOISE3, out, olen);
	sodium_memzero(out, sizeof(out));
	if (ret == 0)
		ret = schedule_start(st);
	if (ret == 0)
		ret = noise_handshake_split(st->hs, &st->send, &st->recv);
	if (ret)
		return fail(st, CALLPROTO_CODE_INTERNAL, true, ret,
			    "cannot finish the handshake (%s)", strerror(-ret));
	decide_mode(st);
	st->step = S_I_WAIT_CONFIRM;
	return 0;
}

/* Responder: NOISE3 read (initiator's key, payload, profile choice). */
static int consume_noise3(struct callproto *st, const uint8_t *msg, size_t len)
{
	uint8_t payload[PAYLOAD_MAX];
	char err[160];
	size_t plen = 0;
	uint16_t want;
	int ret;

	if (len < NOISE3_MIN || len > NOISE3_MIN + PAYLOAD_MAX)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "NOISE3 of %zu octets (want %d..%d)", len, NOISE3_MIN,
			    NOISE3_MIN + PAYLOAD_MAX);
	/* -> s, se */
	ret = noise_handshake_read_message(st->hs, msg, len, payload, sizeof(payload), &plen);
	if (ret)
		return fail(st, CALLPROTO_CODE_AUTH, true, -EBADMSG,
			    "NOISE3 from %s failed authentication (%s): modified in "
			    "transit or from another attempt", st->caller, strerror(-ret));
	/* From here on the channel is authenticated: refusals go back in CONFIRM. */
	ret = parse_payload(payload, plen, true, &st->peer, err, sizeof(err));
	sodium_memzero(payload, sizeof(payload));
	if (ret)
		return fail_reject(st, CALLPROTO_CODE_PROTOCOL, -EBADMSG,
				   "NOISE3 payload from %s: %s", st->caller, err);
	if (noise_handshake_remote_static(st->hs, st->peer_static))
		return fail_reject(st, CALLPROTO_CODE_INTERNAL, -EIO, "no initiator key");
	st->have_peer_static = true;
	want = choose_profile(st->peer.profiles, st->peer.n_profiles,
			      st->local_profiles, st->n_local_profiles);
	if (!want)
		return fail_reject(st, CALLPROTO_CODE_NO_COMMON_PROFILE, -ENOPROTOOPT,
				   "no SRTP profile in common with %s", st->caller);
	if (st->peer.chosen != want)
		return fail_reject(st, CALLPROTO_CODE_BAD_PROFILE_CHOICE, -EBADMSG,
				   "%s chose SRTP profile 0x%04x where the rule gives %s "
				   "(downgrade attempt?)", st->caller, st->peer.chosen,
				   callproto_profile_name(want));
	st->profile = want;
	return identity_step(st, S_R_IDENTITY);
}

/* Responder, identity accepted: keys, CONFIRM(accept), done. */
static int responder_accept(struct callproto *st)
{
	uint8_t plain[CONFIRM_PLAIN], msg[CONFIRM_LEN];
	size_t n = 0;
	int ret;

	decide_mode(st);
	ret = schedule_start(st);
	if (ret == 0)
		ret = noise_handshake_split(st->hs, &st->send, &st->recv);
	if (ret == 0)
		ret = derive_keys(st, &st->keys0);
	if (ret == 0) {
		plain[0] = CALLPROTO_CODE_ACCEPT;
		plain[1] = (uint8_t)st->mode;
		put_be16(plain + 2, st->profile);
		ret = noise_cipher_encrypt(&st->send, NULL, 0, plain, sizeof(plain),
					   msg, sizeof(msg), &n);
	}
	if (ret == 0)
		ret = queue_frame(st, T_CONFIRM, msg, n);
	if (ret)
		return fail(st, CALLPROTO_CODE_INTERNAL, true, ret,
			    "cannot finish the handshake (%s)", strerror(-ret));
	noise_handshake_destroy(st->hs);
	st->hs = NULL;
	noise_cipherstate_wipe(&st->send);
	noise_cipherstate_wipe(&st->recv);
	st->step = S_DONE;
	return 0;
}

/* Initiator: CONFIRM read. */
static int consume_confirm(struct callproto *st, const uint8_t *msg, size_t len)
{
	uint8_t plain[CONFIRM_LEN];
	size_t n = 0;
	uint16_t prof;
	int ret;

	if (len != CONFIRM_LEN)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "CONFIRM of %zu octets (want %d)", len, CONFIRM_LEN);
	ret = noise_cipher_decrypt(&st->recv, NULL, 0, msg, len, plain, sizeof(plain), &n);
	if (ret || n != CONFIRM_PLAIN) {
		sodium_memzero(plain, sizeof(plain));
		return fail(st, CALLPROTO_CODE_AUTH, true, -EBADMSG,
			    "CONFIRM from %s failed authentication: modified in transit "
			    "or from another attempt", st->callee);
	}
	prof = get_be16(plain + 2);
	if (plain[0] != CALLPROTO_CODE_ACCEPT) {
		if (plain[0] >= CALLPROTO_CODE_MAX || plain[1] || prof)
			return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
				    "CONFIRM from %s: malformed rejection", st->callee);
		return fail(st, plain[0], false, -ECONNREFUSED,
			    "%s's side rejected the call: %s", st->callee,
			    callproto_code_text(plain[0]));
	}
	if (plain[1] != st->mode || prof != st->profile)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "CONFIRM from %s: mode %u / profile 0x%04x, this side has "
			    "%u / 0x%04x", st->callee, plain[1], prof, st->mode, st->profile);
	ret = derive_keys(st, &st->keys0);
	if (ret)
		return fail(st, CALLPROTO_CODE_INTERNAL, false, ret, "cannot derive keys");
	noise_handshake_destroy(st->hs);
	st->hs = NULL;
	noise_cipherstate_wipe(&st->send);
	noise_cipherstate_wipe(&st->recv);
	st->step = S_DONE;
	return 0;
}

/* The peer's key is known: ask (callback or status), then go on. */
static int identity_step(struct callproto *st, enum step ask)
{
	st->step = ask;
	if (!st->identity_cb)
		return 0;
	return callproto_identity_decide(st,
			st->identity_cb(st->identity_ctx, peer_name(st), st->peer_static));
}

int callproto_identity_decide(struct callproto *st, bool accept)
{
	if (!st)
		return -EINVAL;
	if (st->step != S_I_IDENTITY && st->step != S_R_IDENTITY)
		return -EPROTO;
	progress(st);
	if (st->step == S_I_IDENTITY) {
		if (!accept)
			return fail(st, CALLPROTO_CODE_IDENTITY_REFUSED, true, -EACCES,
				    "the identity key presented for %s was refused",
				    st->callee);
		return initiator_accept(st);
	}
	if (!accept)
		return fail_reject(st, CALLPROTO_CODE_IDENTITY_REFUSED, -EACCES,
				   "the identity key presented for %s was refused", st->caller);
	return responder_accept(st);
}

int callproto_responder_set_local(struct callproto *st, const struct callproto_local *local)
{
	struct intent in;
	int ret;

	if (!st || !local)
		return -EINVAL;
	if (st->step != S_R_CALLEE)
		return -EPROTO;
	if (local_check(local, &in, NULL, 0) || strcmp(local->user, st->callee) != 0)
		return -EINVAL;
	set_local(st, local, in);
	progress(st);
	if (handshake_start(st))
		return fail(st, CALLPROTO_CODE_INTERNAL, true, -ENOMEM,
			    "cannot start the handshake");
	st->step = S_R_WAIT_NOISE1;
	if (st->have_pending_noise1) {
		st->have_pending_noise1 = false;
		ret = responder_noise1(st, st->pending_noise1);
		if (ret)
			return ret;
	}
	return 0;
}

int callproto_abort(struct callproto *st, enum callproto_code code)
{
	if (!st || code == CALLPROTO_CODE_ACCEPT || (unsigned int)code >= CALLPROTO_CODE_MAX)
		return -EINVAL;
	if (st->step == S_DONE || st->step == S_FAILED)
		return -EALREADY;
	(void)fail(st, code, true, 0, "attempt ended by this side: %s",
		   callproto_code_text(code));
	return 0;
}

/* ---- frames ---------------------------------------------------------------------------------- */

size_t callproto_frame_need(const uint8_t *buf, size_t avail)
{
	size_t n;

	if (!buf || avail < CALLPROTO_FRAME_HDR)
		return CALLPROTO_FRAME_HDR;
	n = get_be16(buf);
	return n ? CALLPROTO_FRAME_HDR + n : 0;
}

int callproto_next_out(struct callproto *st, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n;

	if (!st || !buf || !len)
		return -EINVAL;
	*len = 0;
	if (st->out_n == 0)
		return 0;
	n = st->out_len[st->out_head];
	if (cap < n)
		return -ENOBUFS;
	memcpy(buf, st->out[st->out_head], n);
	sodium_memzero(st->out[st->out_head], n);
	st->out_len[st->out_head] = 0;
	st->out_head = (st->out_head + 1) % OUT_SLOTS;
	st->out_n--;
	*len = n;
	progress(st);
	return 0;
}

static enum msg_type expected_type(enum step s)
{
	switch (s) {
	case S_I_WAIT_NOISE2:  return T_NOISE2;
	case S_I_WAIT_CONFIRM: return T_CONFIRM;
	case S_R_WAIT_HELLO:   return T_HELLO;
	case S_R_CALLEE:       /* NOISE1 may arrive before the decision */
	case S_R_WAIT_NOISE1:  return T_NOISE1;
	case S_R_WAIT_NOISE3:  return T_NOISE3;
	default:               return 0;
	}
}

int callproto_consume(struct callproto *st, const uint8_t *frame, size_t len)
{
	const uint8_t *body, *msg;
	size_t blen, mlen;
	unsigned int type;
	enum msg_type want;
	const char *tname;

	if (!st || (!frame && len))
		return -EINVAL;
	if (st->step == S_FAILED)
		return -ECANCELED;
	if (st->step == S_DONE) {
		/* The attempt is over; what follows belongs to the caller. */
		if (len == 4 && get_be16(frame) == 2 && frame[2] == T_ABORT)
			return -ECONNABORTED;
		return -EALREADY;
	}
	if (len < CALLPROTO_FRAME_HDR + 1)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "frame of %zu octets is too short", len);
	blen = get_be16(frame);
	if (blen != len - CALLPROTO_FRAME_HDR)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "frame length field says %zu octets, %zu received",
			    blen, len - CALLPROTO_FRAME_HDR);
	body = frame + CALLPROTO_FRAME_HDR;
	type = body[0];
	msg = body + 1;
	mlen = blen - 1;
	tname = msg_name(type);

	if (type == T_ABORT) {
		if (mlen != 1)
			return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
				    "ABORT of %zu octets", blen);
		return fail(st, msg[0], false, -ECONNABORTED,
			    "%s ended the attempt: %s%s (code %u; unauthenticated)",
			    peer_name(st), callproto_code_text(msg[0]),
			    msg[0] == CALLPROTO_CODE_IDENTITY_REFUSED ? ": it does not know "
			    "this side's user, or holds another key for it" : "", msg[0]);
	}
	if (!tname)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "unknown message type 0x%02x", type);
	want = expected_type(st->step);
	if (!want)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EPROTO,
			    "%s arrived while the identity decision was pending", tname);
	if (type != want)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EPROTO,
			    "unexpected %s (expected %s): out of order or replayed",
			    tname, msg_name(want));
	progress(st);

	switch (st->step) {
	case S_R_WAIT_HELLO:
		return consume_hello(st, body, blen);
	case S_R_CALLEE:
		if (st->have_pending_noise1 || mlen != NOISE1_LEN)
			return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
				    "NOISE1 of %zu octets (want %d), or twice", mlen, NOISE1_LEN);
		memcpy(st->pending_noise1, msg, NOISE1_LEN);
		st->have_pending_noise1 = true;
		return 0;
	case S_R_WAIT_NOISE1:
		if (mlen != NOISE1_LEN)
			return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
				    "NOISE1 of %zu octets (want %d)", mlen, NOISE1_LEN);
		return responder_noise1(st, msg);
	case S_I_WAIT_NOISE2:
		return consume_noise2(st, msg, mlen);
	case S_R_WAIT_NOISE3:
		return consume_noise3(st, msg, mlen);
	case S_I_WAIT_CONFIRM:
		return consume_confirm(st, msg, mlen);
	default:
		return fail(st, CALLPROTO_CODE_INTERNAL, true, -EPROTO, "bad state");
	}
}

/* ---- state ------------------------------------------------------------------------------------- */

enum callproto_status callproto_status(const struct callproto *st, const char **reason)
{
	enum callproto_status s;
	const char *r;

	if (!st) {
		if (reason)
			*reason = "no state";
		return CALLPROTO_FAILED;
	}
	switch (st->step) {
	case S_R_CALLEE:
		s = CALLPROTO_NEED_CALLEE;
		r = "waiting for the local side of the callee";
		break;
	case S_I_IDENTITY:
	case S_R_IDENTITY:
		s = CALLPROTO_NEED_IDENTITY;
		r = "waiting for the decision on the peer's identity key";
		break;
	case S_DONE:
		s = CALLPROTO_DONE;
		r = st->mode_reason;
		break;
	case S_FAILED:
		s = CALLPROTO_FAILED;
		r = st->reason;
		break;
	default:
		s = CALLPROTO_RUNNING;
		r = "waiting for the peer";
		break;
	}
	if (reason)
		*reason = r;
	return s;
}

uint64_t callproto_idle_ms(const struct callproto *st)
{
	uint64_t now;

	if (!st)
		return 0;
	now = now_ns();
	return now > st->progress_ns ? (now - st->progress_ns) / 1000000u : 0;
}

enum callproto_role callproto_role(const struct callproto *st)
{
	return st ? st->role : CALLPROTO_ROLE_INITIATOR;
}

int callproto_hello(const struct callproto *st, struct callproto_hello *out)
{
	if (!st || !out)
		return -EINVAL;
	if (!st->have_hello)
		return -EAGAIN;
	memcpy(out->call_id, st->call_id, sizeof(out->call_id));
	memcpy(out->caller, st->caller, sizeof(out->caller));
	memcpy(out->callee, st->callee, sizeof(out->callee));
	return 0;
}

int callproto_peer_static(const struct callproto *st, uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	if (!st || !pub)
		return -EINVAL;
	if (st->step == S_FAILED)
		return -ECANCELED;
	if (!st->have_peer_static)
		return -EAGAIN;
	memcpy(pub, st->peer_static, NOISE_PUBLIC_KEY_LEN);
	return 0;
}

int callproto_result(const struct callproto *st, struct callproto_result *out)
{
	bool init;

	if (!st || !out)
		return -EINVAL;
	if (st->step == S_FAILED)
		return -ECANCELED;
	if (st->step != S_DONE)
		return -EAGAIN;
	init = st->role == CALLPROTO_ROLE_INITIATOR;
	memset(out, 0, sizeof(*out));
	memcpy(out->call_id, st->call_id, sizeof(out->call_id));
	out->role = st->role;
	out->mode = st->mode;
	memcpy(out->reason, st->mode_reason, sizeof(out->reason));
	out->profile = st->profile;
	out->keys = st->keys0;
	memcpy(out->security_code, st->code, sizeof(out->security_code));
	memcpy(out->handshake_hash, st->h, sizeof(out->handshake_hash));
	memcpy(out->local_user, init ? st->caller : st->callee, sizeof(out->local_user));
	memcpy(out->peer_user, init ? st->callee : st->caller, sizeof(out->peer_user));
	memcpy(out->peer_static, st->peer_static, sizeof(out->peer_static));
	out->peer_e2ee_allowed = st->peer.intent.flags & INTENT_ALLOWED;
	out->peer_e2ee_on = st->peer.intent.flags & INTENT_ON;
	out->peer_e2ee_reason = st->peer.intent.reason;
	out->local_media = st->local_media;
	out->peer_media = st->peer.media;
	return 0;
}

int callproto_rekey(struct callproto *st, uint32_t generation, struct callproto_keys *out)
{
	int ret = 0;

	if (!st || !out)
		return -EINVAL;
	if (st->step == S_FAILED)
		return -ECANCELED;
	if (st->step != S_DONE || !st->have_chain)
		return -EAGAIN;
	if (generation < st->chain_gen)
		return -ESTALE;
	if (generation - st->chain_gen > CALLPROTO_REKEY_MAX_SKIP)
		return -ERANGE;
	while (ret == 0 && st->chain_gen < generation)
		ret = chain_advance(st);
	if (ret == 0)
		ret = derive_keys(st, out);
	return ret;
}

void callproto_keys_wipe(struct callproto_keys *k)
{
	if (k)
		sodium_memzero(k, sizeof(*k));
}

void callproto_result_wipe(struct callproto_result *r)
{
	if (r)
		sodium_memzero(r, sizeof(*r));
}
