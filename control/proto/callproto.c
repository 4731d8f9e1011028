/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callproto.c - the call key agreement's state machine (docs/handshake.md):
 * one struct callproto per attempt, fed whole frames (callproto_consume) and
 * drained of frames to send (callproto_next_out). HELLO and the prologue,
 * the Noise XX messages in order (-> e; <- e, ee, s, es; -> s, se), the
 * identity decision, CONFIRM, ABORT, failure and what the caller reads back.
 *
 * Beside it: callproto_msg.c (payloads, checks, profile and mode decisions),
 * callproto_keys.c (key schedule, rekey chain, security code), noise.c (the
 * Noise Protocol Framework itself); callproto_internal.h holds the struct.
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
#include "callproto_internal.h"
#include "secmem.h"

#define PROLOGUE_LABEL      "callseal/1"        /* followed by one 0x00 */

_Static_assert(CALLPROTO_FRAME_HDR + HELLO_MAX <= CALLPROTO_OUT_MAX, "hello fits");
_Static_assert(CALLPROTO_FRAME_HDR + 1 + NOISE2_MIN + PAYLOAD_MAX <= CALLPROTO_OUT_MAX,
	       "NOISE2 fits");

/* ---- small helpers --------------------------------------------------------------- */

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

/* ---- failure --------------------------------------------------------------------- */

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

/* ---- life cycle ------------------------------------------------------------------ */

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
	    msg_local_check(&cfg->local, &in, NULL, 0))
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
			(void)msg_local_check(&cfg->local, &in, NULL, 0);   /* checked above */
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

/* ---- steps ----------------------------------------------------------------------- */

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
	plen = msg_payload_build(st, false, payload);
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
	char err[160], mine[160], theirs[160];
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
	ret = msg_payload_parse(payload, plen, false, &st->peer, err, sizeof(err));
	sodium_memzero(payload, sizeof(payload));
	if (ret)
		return fail(st, CALLPROTO_CODE_PROTOCOL, true, -EBADMSG,
			    "NOISE2 payload from %s: %s", st->callee, err);
	if (noise_handshake_remote_static(st->hs, st->peer_static))
		return fail(st, CALLPROTO_CODE_INTERNAL, true, -EIO, "no responder key");
	st->have_peer_static = true;
	st->profile = msg_choose_profile(st->local_profiles, st->n_local_profiles,
					 st->peer.profiles, st->peer.n_profiles);
	if (!st->profile) {
		msg_list_profiles(mine, sizeof(mine), st->local_profiles, st->n_local_profiles);
		msg_list_profiles(theirs, sizeof(theirs), st->peer.profiles, st->peer.n_profiles);
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
	plen = msg_payload_build(st, true, payload);
	ret = noise_handshake_write_message(st->hs, payload, plen, out, sizeof(out), &olen);
	if (ret == 0)
		ret = queue_frame(st, T_NOISE3, out, olen);
	sodium_memzero(out, sizeof(out));
	if (ret == 0)
		ret = keys_schedule_start(st);
	if (ret == 0)
		ret = noise_handshake_split(st->hs, &st->send, &st->recv);
	if (ret)
		return fail(st, CALLPROTO_CODE_INTERNAL, true, ret,
			    "cannot finish the handshake (%s)", strerror(-ret));
	msg_decide_mode(st);
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
	ret = msg_payload_parse(payload, plen, true, &st->peer, err, sizeof(err));
	sodium_memzero(payload, sizeof(payload));
	if (ret)
		return fail_reject(st, CALLPROTO_CODE_PROTOCOL, -EBADMSG,
				   "NOISE3 payload from %s: %s", st->caller, err);
	if (noise_handshake_remote_static(st->hs, st->peer_static))
		return fail_reject(st, CALLPROTO_CODE_INTERNAL, -EIO, "no initiator key");
	st->have_peer_static = true;
	want = msg_choose_profile(st->peer.profiles, st->peer.n_profiles,
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

	msg_decide_mode(st);
	ret = keys_schedule_start(st);
	if (ret == 0)
		ret = noise_handshake_split(st->hs, &st->send, &st->recv);
	if (ret == 0)
		ret = keys_derive(st, &st->keys0);
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
	ret = keys_derive(st, &st->keys0);
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
	if (msg_local_check(local, &in, NULL, 0) || strcmp(local->user, st->callee) != 0)
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

/* ---- frames ---------------------------------------------------------------------- */

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

/* ---- state ----------------------------------------------------------------------- */

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
