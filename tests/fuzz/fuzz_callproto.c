/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_callproto.c - libFuzzer harness for the call protocol consumer
 * (control/proto/callproto*.c over noise.c), in both roles.
 *
 * The harness is the peer: a second Noise_XX endpoint on noise.c (as
 * tests/unit/control/test_callproto_reference.c), so that fuzz bytes reach
 * the payload parsers behind the AEAD, not only the frame checks.
 *
 * Input: ctl (1 octet) || pieces, each a 2-octet big-endian length || bytes
 * (a short last piece is cut at the end of the input).
 *   ctl bit 0   the state under test is the initiator (the harness is the
 *               callee); else the responder (the harness is the caller)
 *   ctl bits 1-3  piece k (k = 0, 1, 2) is a whole raw frame when bit k+1
 *               is set; else it is a payload that the harness wraps:
 *                 responder under test: [0] HELLO body after its type
 *                 (empty: the standard hello), [1] NOISE1's payload,
 *                 [2] NOISE3's payload;
 *                 initiator under test: [0] NOISE2's payload, [1] CONFIRM's
 *                 plaintext, [2] a raw frame
 *   ctl bit 4   identity decisions by callback (else NEED_IDENTITY steps)
 *   ctl bit 5   responder: no local side at create (NEED_CALLEE step)
 *   ctl bit 6   refuse the peer's identity
 *   ctl bit 7   after DONE, ask for a rekey generation from the last piece
 * Pieces after the third are fed as raw frames. Randomness (call id,
 * ephemeral keys) comes from a fixed ChaCha20 stream, restarted for every
 * input: one input, one run.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "callproto.h"
#include "noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define ALICE "alice@contoso"
#define BOB   "bob@fabrikam"
#define MAX_PIECES 8

/* ---- deterministic randomness ---------------------------------------------- */

static uint64_t rng_counter;

static const char *rng_name(void)
{
	return "fuzz-chacha20";
}

static void rng_buf(void *buf, size_t n)
{
	static const uint8_t k[crypto_stream_chacha20_KEYBYTES] = { 'f', 'u', 'z', 'z' };
	uint8_t nonce[crypto_stream_chacha20_NONCEBYTES];

	memcpy(nonce, &rng_counter, sizeof(nonce));
	rng_counter++;
	crypto_stream_chacha20(buf, n, nonce, k);
}

static uint32_t rng_random(void)
{
	uint32_t v;

	rng_buf(&v, sizeof(v));
	return v;
}

static randombytes_implementation rng_impl = {
	.implementation_name = rng_name, .random = rng_random, .buf = rng_buf,
};

/* ---- the two parties --------------------------------------------------------- */

static struct noise_keypair kp_alice, kp_bob;
/* the state under test offers what a daemon offers by default: GCM, then
 * AES-CM (so a peer offering AES-CM only reaches its 14-octet salts) */
static const uint16_t profiles[] = { CALLPROTO_PROFILE_AEAD_AES_256_GCM,
				     CALLPROTO_PROFILE_AEAD_AES_128_GCM,
				     CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_80,
				     CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_32 };
static const uint8_t call_id[CALLPROTO_CALL_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8,
							9, 10, 11, 12, 13, 14, 15, 16 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t priv[NOISE_PRIVATE_KEY_LEN];

	(void)argc;
	(void)argv;
	/* before sodium_init (noise_init): every random octet is ours */
	if (randombytes_set_implementation(&rng_impl) != 0 || noise_init() != 0)
		abort();
	memset(priv, 0x11, sizeof(priv));
	if (noise_keypair_from_private(&kp_alice, priv) != 0)
		abort();
	memset(priv, 0x22, sizeof(priv));
	if (noise_keypair_from_private(&kp_bob, priv) != 0)
		abort();
	return 0;
}

static struct callproto_local local_of(const char *user, const struct noise_keypair *kp,
				       uint8_t ip_last, uint16_t port)
{
	struct callproto_local l = {
		.user = user, .static_private = kp->private_key,
		.e2ee_allowed = true, .e2ee_on = true,
		.profiles = profiles, .n_profiles = sizeof(profiles) / sizeof(profiles[0]),
		.media = { .family = 4, .addr = { 192, 0, 2, ip_last }, .port = port },
	};
	return l;
}

static bool identity_cb(void *ctx, const char *peer_user,
			const uint8_t peer_static[NOISE_PUBLIC_KEY_LEN])
{
	(void)peer_user;
	(void)peer_static;
	return *(const bool *)ctx;
}

struct input {
	uint8_t ctl;
	unsigned n;
	const uint8_t *p[MAX_PIECES];
	size_t len[MAX_PIECES];
};

static void split_input(struct input *in, const uint8_t *d, size_t size)
{
	memset(in, 0, sizeof(*in));
	if (size == 0)
		return;
	in->ctl = d[0];
	d++;
	size--;
	while (size >= 2 && in->n < MAX_PIECES) {
		size_t len = (size_t)d[0] << 8 | d[1];

		d += 2;
		size -= 2;
		if (len > size)
			len = size;
		in->p[in->n] = d;
		in->len[in->n++] = len;
		d += len;
		size -= len;
	}
}

static bool raw(const struct input *in, unsigned k)
{
	return k < 3 && (in->ctl >> (k + 1) & 1);
}

/* A frame of type with body msg (2-octet length, type, msg) into f. */
static size_t frame(uint8_t *f, uint8_t type, const uint8_t *msg, size_t len)
{
	f[0] = (uint8_t)((len + 1) >> 8);
	f[1] = (uint8_t)(len + 1);
	f[2] = type;
	memcpy(f + 3, msg, len);
	return len + 3;
}

/* The harness's own handshake, with the prologue of the hello frame hf. */
static struct noise_handshake *peer_handshake(enum noise_role role, const uint8_t *hf,
					      size_t hf_len, const struct noise_keypair *kp)
{
	static const uint8_t eph[NOISE_PRIVATE_KEY_LEN] = { 0x33, 0x33, 0x33 };
	uint8_t prologue[11 + CALLPROTO_OUT_MAX];
	struct noise_handshake *hs = NULL;
	struct noise_handshake_config hc = {
		.pattern = NOISE_PATTERN_XX, .role = role, .prologue = prologue,
		.local_static_private = kp->private_key, .ephemeral_private = eph,
	};

	/* "callseal/1" 0x00 || the hello's fields (after length and type) */
	if (hf_len < 3 || hf_len - 3 > CALLPROTO_OUT_MAX)
		return NULL;
	memcpy(prologue, "callseal/1\0", 11);
	memcpy(prologue + 11, hf + 3, hf_len - 3);
	hc.prologue_len = 11 + hf_len - 3;
	if (noise_handshake_create(&hs, &hc) != 0)
		return NULL;
	return hs;
}

/* Answer the decisions the state waits for. */
static void decide(struct callproto *st, const struct input *in)
{
	enum callproto_status s = callproto_status(st, NULL);
	struct callproto_local l = local_of(BOB, &kp_bob, 20, 50000);
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];
	struct callproto_hello h;

	if (s == CALLPROTO_NEED_CALLEE) {
		if (callproto_hello(st, &h) != 0)
			abort();
		if (strcmp(h.callee, BOB) != 0 || callproto_responder_set_local(st, &l) != 0)
			(void)callproto_abort(st, CALLPROTO_CODE_UNKNOWN_CALLEE);
	} else if (s == CALLPROTO_NEED_IDENTITY) {
		if (callproto_peer_static(st, pub) != 0)
			abort();
		/* a refusal, or an acceptance whose next step fails, fails it */
		if (callproto_identity_decide(st, !(in->ctl & 0x40)) != 0 &&
		    callproto_status(st, NULL) != CALLPROTO_FAILED)
			abort();
	}
}

/* Everything the state under test has to send: the last one into f. */
static size_t drain(struct callproto *st, uint8_t *f, uint8_t want_type)
{
	uint8_t buf[CALLPROTO_OUT_MAX];
	size_t len, got = 0;

	for (;;) {
		if (callproto_next_out(st, buf, sizeof(buf), &len) != 0)
			abort();
		if (len == 0)
			return got;
		if (len < 3 || len > CALLPROTO_OUT_MAX ||
		    callproto_frame_need(buf, len) != len)
			abort();
		if (buf[2] == want_type) {
			memcpy(f, buf, len);
			got = len;
		}
	}
}

static void feed(struct callproto *st, const struct input *in, const uint8_t *f, size_t len)
{
	int rc = callproto_consume(st, f, len);

	if (rc < 0 && callproto_status(st, NULL) != CALLPROTO_FAILED &&
	    callproto_status(st, NULL) != CALLPROTO_DONE)
		abort();
	decide(st, in);
}

static void finish(struct callproto *st, const struct input *in)
{
	struct callproto_result r;
	struct callproto_keys k;
	const char *why = NULL;
	enum callproto_status s = callproto_status(st, &why);

	if (why == NULL)
		abort();
	if (s == CALLPROTO_DONE) {
		if (callproto_result(st, &r) != 0)
			abort();
		if (r.keys.tx.key_len != callproto_profile_key_len(r.profile) ||
		    r.keys.tx.salt_len != callproto_profile_salt_len(r.profile) ||
		    r.keys.rx.salt_len != r.keys.tx.salt_len)
			abort();
		callproto_result_wipe(&r);
		if (in->ctl & 0x80) {
			uint32_t g = 1;

			if (in->n > 0 && in->len[in->n - 1] >= 2)
				g = (uint32_t)in->p[in->n - 1][0] << 8 | in->p[in->n - 1][1];
			if (callproto_rekey(st, g, &k) == 0)
				callproto_keys_wipe(&k);
		}
	} else if (callproto_result(st, &r) == 0) {
		abort();            /* no result unless done */
	}
	(void)callproto_idle_ms(st);
}

static uint8_t f[CALLPROTO_FRAME_MAX], msg[CALLPROTO_FRAME_MAX];

/* The responder under test; the harness calls. */
static void fuzz_responder(const struct input *in)
{
	bool accept = !(in->ctl & 0x40);
	struct callproto_config cfg = { .local = local_of(BOB, &kp_bob, 20, 50000) };
	struct callproto *st = NULL;
	struct noise_handshake *hs = NULL;
	uint8_t pl[CALLPROTO_FRAME_MAX], hello[CALLPROTO_OUT_MAX + 3];
	size_t fl, ml, pll, hl = 0;
	unsigned k;

	if (in->ctl & 0x10) {
		cfg.identity_cb = identity_cb;
		cfg.identity_ctx = &accept;
	}
	if (in->ctl & 0x20)
		cfg.local = (struct callproto_local){ 0 };
	if (callproto_responder_create(&st, &cfg) != 0)
		abort();
	for (k = 0; k < in->n; k++) {
		const uint8_t *p = in->p[k];
		size_t len = in->len[k];

		if (k > 2 || raw(in, k)) {
			if (len > CALLPROTO_FRAME_MAX)
				len = CALLPROTO_FRAME_MAX;
			memcpy(f, p, len);
			fl = len;
		} else if (k == 0) {
			/* HELLO: the standard one, or the piece as its body */
			if (len == 0) {
				uint8_t b[64];
				size_t bl = 0;

				b[bl++] = CALLPROTO_VERSION;
				memcpy(b + bl, call_id, sizeof(call_id));
				bl += sizeof(call_id);
				b[bl++] = sizeof(ALICE) - 1;
				memcpy(b + bl, ALICE, sizeof(ALICE) - 1);
				bl += sizeof(ALICE) - 1;
				b[bl++] = sizeof(BOB) - 1;
				memcpy(b + bl, BOB, sizeof(BOB) - 1);
				bl += sizeof(BOB) - 1;
				fl = frame(f, 0x01, b, bl);
			} else {
				fl = frame(f, 0x01, p, len < 65534 ? len : 65534);
			}
		} else if (hs == NULL) {
			continue;       /* no hello accepted: nothing to wrap */
		} else {
			/* NOISE1 (-> e) or NOISE3 (-> s, se) with the piece as payload */
			if (noise_handshake_status(hs) != NOISE_HS_WRITE ||
			    noise_handshake_write_message(hs, p, len < 60000 ? len : 60000,
							  msg, sizeof(msg), &ml) != 0)
				continue;
			fl = frame(f, k == 1 ? 0x02 : 0x04, msg, ml);
		}
		if (k == 0 && fl <= sizeof(hello)) {
			memcpy(hello, f, fl);
			hl = fl;
		}
		feed(st, in, f, fl);
		if (k == 0 && hl > 0 && callproto_status(st, NULL) != CALLPROTO_FAILED)
			hs = peer_handshake(NOISE_ROLE_INITIATOR, hello, hl, &kp_alice);
		/* NOISE2 to the harness's handshake */
		fl = drain(st, f, 0x03);
		if (fl > 0 && hs != NULL && noise_handshake_status(hs) == NOISE_HS_READ &&
		    noise_handshake_read_message(hs, f + 3, fl - 3, pl, sizeof(pl), &pll) != 0) {
			noise_handshake_destroy(hs);
			hs = NULL;
		}
	}
	finish(st, in);
	noise_handshake_destroy(hs);
	callproto_destroy(st);
}

/* The initiator under test; the harness answers as the callee. */
static void fuzz_initiator(const struct input *in)
{
	bool accept = !(in->ctl & 0x40);
	struct callproto_config cfg = { .local = local_of(ALICE, &kp_alice, 10, 40000),
					.peer_user = BOB };
	struct callproto *st = NULL;
	struct noise_handshake *hs = NULL;
	struct noise_cipherstate send = { 0 }, recv = { 0 };
	uint8_t pl[CALLPROTO_FRAME_MAX];
	size_t fl, ml, pll;
	unsigned k;

	if (in->ctl & 0x10) {
		cfg.identity_cb = identity_cb;
		cfg.identity_ctx = &accept;
	}
	if (callproto_initiator_create(&st, &cfg) != 0)
		abort();
	/* HELLO, then NOISE1 to the harness's handshake */
	if (callproto_next_out(st, f, sizeof(f), &fl) != 0 || fl < 3 || f[2] != 0x01)
		abort();
	hs = peer_handshake(NOISE_ROLE_RESPONDER, f, fl, &kp_bob);
	if (hs == NULL)
		abort();
	if (callproto_next_out(st, f, sizeof(f), &fl) != 0 || fl < 3 || f[2] != 0x02 ||
	    noise_handshake_read_message(hs, f + 3, fl - 3, pl, sizeof(pl), &pll) != 0)
		abort();
	for (k = 0; k < in->n; k++) {
		const uint8_t *p = in->p[k];
		size_t len = in->len[k];

		if (k > 1 || raw(in, k)) {
			memcpy(f, p, len);
			fl = len;
		} else if (k == 0) {
			/* NOISE2 (<- e, ee, s, es) with the piece as payload */
			if (noise_handshake_write_message(hs, p, len < 60000 ? len : 60000,
							  msg, sizeof(msg), &ml) != 0)
				abort();
			fl = frame(f, 0x03, msg, ml);
		} else {
			/* CONFIRM: the piece encrypted under the transport key */
			if (!send.has_key ||
			    noise_cipher_encrypt(&send, NULL, 0, p, len < 60000 ? len : 60000,
						 msg, sizeof(msg), &ml) != 0)
				continue;
			fl = frame(f, 0x05, msg, ml);
		}
		feed(st, in, f, fl);
		/* NOISE3 to the harness's handshake; then the transport keys */
		fl = drain(st, f, 0x04);
		if (fl > 0 && noise_handshake_status(hs) == NOISE_HS_READ &&
		    noise_handshake_read_message(hs, f + 3, fl - 3, pl, sizeof(pl), &pll) == 0 &&
		    noise_handshake_split(hs, &send, &recv) != 0)
			abort();
	}
	finish(st, in);
	noise_cipherstate_wipe(&send);
	noise_cipherstate_wipe(&recv);
	noise_handshake_destroy(hs);
	callproto_destroy(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in;

	rng_counter = 0;
	split_input(&in, data, size);
	if (in.ctl & 1)
		fuzz_initiator(&in);
	else
		fuzz_responder(&in);
	return 0;
}
