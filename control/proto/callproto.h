/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callproto.h - the call key agreement (docs/handshake.md) as a state machine
 * per call attempt, independent of sockets and clocks.
 *
 *   initiator (caller)                               responder (callee)
 *   HELLO   version, call id, caller, callee  ->     (pick the callee's key)
 *   NOISE1  -> e                              ->
 *                                             <-     NOISE2  <- e, ee, s, es + payload
 *   (check the responder's key)
 *   NOISE3  -> s, se + payload                ->
 *                                                    (check the initiator's key)
 *                                             <-     CONFIRM accept | reject
 *   Noise_XX_25519_ChaChaPoly_BLAKE2b, prologue = "callseal/1" 0x00 || hello
 *   fields; the payloads carry E2EE intent, SRTP profiles and media addresses.
 *
 * Use:
 *   callproto_initiator_create() / callproto_responder_create();
 *   loop: send every frame callproto_next_out() gives; pass every frame
 *   received to callproto_consume(); act on callproto_status():
 *     RUNNING        wait for the next frame (the caller owns the timeout:
 *                    callproto_idle_ms() says how long since progress)
 *     NEED_CALLEE    responder: callproto_hello() names the callee; answer
 *                    with callproto_responder_set_local() or callproto_abort()
 *     NEED_IDENTITY  callproto_peer_static() is the peer's identity key;
 *                    answer with callproto_identity_decide() (or set an
 *                    identity callback in the configuration)
 *     DONE           callproto_result(); keep the state for callproto_rekey()
 *     FAILED         the reason says why; send what next_out still gives
 *                    (an ABORT or a reject) and close
 *   callproto_destroy() wipes every secret.
 *
 * A frame is 2-byte big-endian length || body (1..65535 octets); next_out
 * gives and consume takes whole frames, the length field included
 * (callproto_frame_need() helps cut them from a byte stream).
 *
 * Secrets (the static private key, the handshake, the key schedule, derived
 * keys) live in secmem_alloc'd memory (secmem.h) and are wiped on failure and
 * destroy. struct callproto_result and struct callproto_keys hold SRTP keys in
 * the caller's memory: put them in locked memory (secmem_alloc) and wipe them with
 * callproto_keys_wipe() / callproto_result_wipe().
 *
 * Errors: 0 or a negative errno. Threading: one state, one thread at a time.
 */
#ifndef CALLSEAL_CALLPROTO_H
#define CALLSEAL_CALLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "noise.h"

#define CALLPROTO_VERSION            1
#define CALLPROTO_CALL_ID_LEN        16
#define CALLPROTO_USER_MAX           255   /* "user@tenant", octets */
#define CALLPROTO_FRAME_HDR          2     /* big-endian body length */
#define CALLPROTO_BODY_MAX           65535
#define CALLPROTO_FRAME_MAX          (CALLPROTO_FRAME_HDR + CALLPROTO_BODY_MAX)
/* Every frame this module writes fits in this many octets. */
#define CALLPROTO_OUT_MAX            1024
#define CALLPROTO_MAX_PROFILES       16    /* per offer */
#define CALLPROTO_MASTER_KEY_MAX     32
#define CALLPROTO_MASTER_SALT_GCM    12    /* RFC 7714 section 11 */
#define CALLPROTO_MASTER_SALT_CM     14    /* RFC 3711 section 8.2 */
#define CALLPROTO_MASTER_SALT_MAX    14
#define CALLPROTO_SECURITY_CODE_LEN  23    /* "12345 67890 12345 67890" */
#define CALLPROTO_REASON_MAX         768
/* Most generations one callproto_rekey() call may skip ahead. */
#define CALLPROTO_REKEY_MAX_SKIP     1024u

/* SRTP protection profiles (RFC 5764 section 4.1.2, RFC 7714 section 14.2), as
 * in include/callseal/keytable.h. The lengths, names and the order of
 * preference are one table in callproto_msg.c. */
#define CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_80 0x0001u /* 16-octet key, 14-octet salt */
#define CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_32 0x0002u /* 16-octet key, 14-octet salt */
#define CALLPROTO_PROFILE_AEAD_AES_128_GCM 0x0007u   /* 16-octet key, 12-octet salt */
#define CALLPROTO_PROFILE_AEAD_AES_256_GCM 0x0008u   /* 32-octet key, 12-octet salt */

#if defined(__GNUC__)
#define CALLPROTO_MUST_CHECK __attribute__((warn_unused_result))
#else
#define CALLPROTO_MUST_CHECK
#endif

enum callproto_role {
	CALLPROTO_ROLE_INITIATOR = 0,   /* the caller */
	CALLPROTO_ROLE_RESPONDER,       /* the callee's side */
};

enum callproto_status {
	CALLPROTO_RUNNING = 0,          /* waiting for the peer's next frame */
	CALLPROTO_NEED_CALLEE,          /* responder: hello read, local side needed */
	CALLPROTO_NEED_IDENTITY,        /* the peer's static key awaits a decision */
	CALLPROTO_DONE,                 /* keys derived, result available */
	CALLPROTO_FAILED,               /* final; no key material reachable */
};

/* Values as KEYTABLE_MODE_* in include/callseal/keytable.h. */
enum callproto_mode {
	CALLPROTO_MODE_NONE = 0,
	CALLPROTO_MODE_E2EE = 1,
	CALLPROTO_MODE_STANDARD = 2,
};

/* Why a party's intent is not end-to-end (TLV INTENT, second octet). */
enum callproto_intent_reason {
	CALLPROTO_INTENT_OK = 0,                /* allowed and turned on */
	CALLPROTO_INTENT_POLICY_DISABLED = 1,   /* policy assigned: disabled */
	CALLPROTO_INTENT_NO_POLICY = 2,         /* no policy assigned: off */
	CALLPROTO_INTENT_NOT_TURNED_ON = 3,     /* allowed, user has not turned it on */
	CALLPROTO_INTENT_COMPLIANCE_RECORDING = 4, /* not allowed: compliance recording
						    * applies to the user */
};

/* ABORT and CONFIRM-reject codes (docs/handshake.md, "Codes"). */
enum callproto_code {
	CALLPROTO_CODE_ACCEPT = 0,              /* CONFIRM only */
	CALLPROTO_CODE_PROTOCOL = 1,            /* malformed or unexpected message */
	CALLPROTO_CODE_AUTH = 2,                /* handshake authentication failed */
	CALLPROTO_CODE_VERSION = 3,             /* unsupported version */
	CALLPROTO_CODE_UNKNOWN_CALLEE = 4,      /* no such callee here */
	CALLPROTO_CODE_IDENTITY_REFUSED = 5,    /* peer's identity key refused */
	CALLPROTO_CODE_NO_COMMON_PROFILE = 6,   /* no SRTP profile in common */
	CALLPROTO_CODE_BAD_PROFILE_CHOICE = 7,  /* chosen profile is not the rule's */
	CALLPROTO_CODE_DECLINED = 8,            /* the callee's side declines */
	CALLPROTO_CODE_TIMEOUT = 9,             /* the sender gave up waiting */
	CALLPROTO_CODE_INTERNAL = 10,           /* local error (memory, RNG) */
	CALLPROTO_CODE_BUSY = 11,               /* no room for another call (key
						   table or media pool full) */
	CALLPROTO_CODE_MAX
};

struct callproto_addr {
	uint8_t family;                 /* 4 or 6 */
	uint8_t addr[16];               /* IPv4: first 4 octets, rest zero */
	uint16_t port;                  /* host order, nonzero */
};

/* One side's own parameters. Everything is copied at create/set time. */
struct callproto_local {
	const char *user;                       /* "user@tenant" */
	const uint8_t *static_private;          /* [NOISE_PRIVATE_KEY_LEN] */
	/* Optional: its public key as stored with it (saves one X25519 per
	 * call; trusted, see noise_handshake_config). NULL = derived. */
	const uint8_t *static_public;           /* [NOISE_PUBLIC_KEY_LEN] */
	bool e2ee_allowed;                      /* by the effective policy */
	bool e2ee_on;                           /* the user's own setting */
	/* 0 = derived from the two bits: POLICY_DISABLED or NOT_TURNED_ON.
	 * Otherwise it must agree with them (see callproto_intent_reason). */
	uint8_t e2ee_reason;
	const uint16_t *profiles;               /* CALLPROTO_PROFILE_*, no repeats */
	size_t n_profiles;                      /* 1..CALLPROTO_MAX_PROFILES */
	struct callproto_addr media;            /* where this side receives media */
};

/*
 * The identity decision: called inside callproto_consume() once the peer's
 * static key is known (before any key is derived); return true to go on,
 * false to refuse. It must not call back into this state. Without it, the
 * status becomes NEED_IDENTITY and the caller answers with
 * callproto_identity_decide().
 */
typedef bool (*callproto_identity_fn)(void *ctx, const char *peer_user,
				      const uint8_t peer_static[NOISE_PUBLIC_KEY_LEN]);

struct callproto_config {
	/* Initiator: required. Responder: optional; when given (static_private
	 * not NULL) the hello's callee must equal local.user, and there is no
	 * NEED_CALLEE step. */
	struct callproto_local local;
	const char *peer_user;                  /* initiator: the callee */
	/* Initiator: NULL = 16 fresh random octets (the normal case). */
	const uint8_t *call_id;                 /* [CALLPROTO_CALL_ID_LEN] */
	callproto_identity_fn identity_cb;      /* optional */
	void *identity_ctx;
};

struct callproto_hello {
	uint8_t call_id[CALLPROTO_CALL_ID_LEN];
	char caller[CALLPROTO_USER_MAX + 1];
	char callee[CALLPROTO_USER_MAX + 1];
};

/* One direction's SRTP master key and salt. */
struct callproto_srtp_key {
	uint16_t profile;                       /* CALLPROTO_PROFILE_* */
	uint8_t key_len;                        /* 16 or 32 */
	uint8_t salt_len;                       /* 12 (GCM) or 14 (AES-CM) */
	uint8_t key[CALLPROTO_MASTER_KEY_MAX];  /* bytes past key_len are zero */
	uint8_t salt[CALLPROTO_MASTER_SALT_MAX]; /* bytes past salt_len are zero */
};

/* A generation's key pair, by direction as seen from this side. */
struct callproto_keys {
	uint32_t generation;
	struct callproto_srtp_key tx;           /* what this side sends with */
	struct callproto_srtp_key rx;           /* what the peer sends with */
};

struct callproto_result {
	uint8_t call_id[CALLPROTO_CALL_ID_LEN];
	enum callproto_role role;
	enum callproto_mode mode;
	char reason[CALLPROTO_REASON_MAX];      /* why (not) end-to-end */
	uint16_t profile;
	struct callproto_keys keys;             /* generation 0: SECRET */
	char security_code[CALLPROTO_SECURITY_CODE_LEN + 1];
	uint8_t handshake_hash[NOISE_HASH_LEN];
	char local_user[CALLPROTO_USER_MAX + 1];
	char peer_user[CALLPROTO_USER_MAX + 1];
	uint8_t peer_static[NOISE_PUBLIC_KEY_LEN];
	bool peer_e2ee_allowed, peer_e2ee_on;
	uint8_t peer_e2ee_reason;
	struct callproto_addr local_media;
	struct callproto_addr peer_media;
};

struct callproto;

/* ---- life cycle ------------------------------------------------------------ */

/* A caller's attempt: validates cfg, draws the call id (unless given) and the
 * ephemeral key; HELLO and NOISE1 are ready in next_out. -EINVAL names no
 * field: check with callproto_config_check() for a message. */
CALLPROTO_MUST_CHECK int callproto_initiator_create(struct callproto **stp,
		const struct callproto_config *cfg);
/* A callee side's attempt, waiting for HELLO. cfg may be NULL (no local side
 * yet, no callback). */
CALLPROTO_MUST_CHECK int callproto_responder_create(struct callproto **stp,
		const struct callproto_config *cfg);
/* Wipes every secret and frees; NULL is allowed. */
void callproto_destroy(struct callproto *st);

/* 0, or -EINVAL with a message in err (which may be NULL). role selects the
 * rules (the responder's local side may be absent). */
int callproto_config_check(const struct callproto_config *cfg, enum callproto_role role,
			   char *err, size_t errlen);

/* ---- messages ---------------------------------------------------------------- */

/* The next frame to send into buf[0..cap): *len = its length, or 0 when there
 * is nothing to send. -ENOBUFS (nothing taken) when cap is too small;
 * CALLPROTO_OUT_MAX always suffices. A failed attempt may still give one
 * last frame (ABORT or a CONFIRM reject). */
CALLPROTO_MUST_CHECK int callproto_next_out(struct callproto *st, uint8_t *buf,
					    size_t cap, size_t *len);
/* One received frame (length field included). 0: accepted (check the status).
 * Negative: the attempt has failed because of it (-EBADMSG malformed or
 * modified, -EPROTO out of order, -ECONNREFUSED rejected by the peer,
 * -ECONNABORTED the peer aborted, or another code), or it was not taken:
 * -ECANCELED (already failed), -EALREADY (already done; an ABORT after done
 * gives -ECONNABORTED and changes nothing: see docs/handshake.md). */
CALLPROTO_MUST_CHECK int callproto_consume(struct callproto *st,
					   const uint8_t *frame, size_t len);
/* How many octets the frame starting at buf needs in all, given avail octets
 * of it: CALLPROTO_FRAME_HDR while avail < 2, else 2 + its length field.
 * A length field of 0 is invalid: returns 0 (close the connection). */
size_t callproto_frame_need(const uint8_t *buf, size_t avail);

/* ---- decisions ----------------------------------------------------------------- */

/* The hello: once sent (initiator) or read (responder); -EAGAIN before. */
CALLPROTO_MUST_CHECK int callproto_hello(const struct callproto *st,
					 struct callproto_hello *out);
/* Responder in NEED_CALLEE: this side's parameters for the hello's callee
 * (local->user must equal it). -EINVAL (bad local; the attempt goes on
 * waiting), -EPROTO (not in NEED_CALLEE). */
CALLPROTO_MUST_CHECK int callproto_responder_set_local(struct callproto *st,
		const struct callproto_local *local);
/* The peer's static public key, from NEED_IDENTITY on; -EAGAIN before,
 * -ECANCELED after a failure. */
CALLPROTO_MUST_CHECK int callproto_peer_static(const struct callproto *st,
		uint8_t pub[NOISE_PUBLIC_KEY_LEN]);
/* Answer NEED_IDENTITY: accept goes on; refuse fails the attempt (an ABORT,
 * or the responder's CONFIRM reject, is queued). -EPROTO if not asked. */
CALLPROTO_MUST_CHECK int callproto_identity_decide(struct callproto *st, bool accept);
/* End the attempt now (e.g. on the caller's timeout) with code
 * (CALLPROTO_CODE_*, not ACCEPT): an ABORT is queued for the peer.
 * -EALREADY when done or failed already. */
int callproto_abort(struct callproto *st, enum callproto_code code);

/* ---- state ---------------------------------------------------------------------- */

/* The status, and (reason != NULL) a message: why it failed, or what it
 * waits for. The string lives as long as st. */
enum callproto_status callproto_status(const struct callproto *st, const char **reason);
/* Milliseconds (CLOCK_MONOTONIC) since the attempt last made progress
 * (created, a frame accepted or given out, a decision taken). */
uint64_t callproto_idle_ms(const struct callproto *st);
enum callproto_role callproto_role(const struct callproto *st);

/* DONE: the result (keys of generation 0 included). -EAGAIN while running,
 * -ECANCELED after a failure. */
CALLPROTO_MUST_CHECK int callproto_result(const struct callproto *st,
					  struct callproto_result *out);
/*
 * DONE: the key pair of generation (> 0) from the rekey chain, which both
 * sides hold, so they rekey without another handshake. The chain only moves
 * forward: the secret of every generation before the one asked is wiped
 * (forward secrecy within the call). generation may equal the last one asked
 * (the same keys again), or be up to CALLPROTO_REKEY_MAX_SKIP ahead of it.
 * -ESTALE (an older generation), -ERANGE (too far ahead), -EAGAIN/-ECANCELED.
 */
CALLPROTO_MUST_CHECK int callproto_rekey(struct callproto *st, uint32_t generation,
					 struct callproto_keys *out);

void callproto_keys_wipe(struct callproto_keys *k);
void callproto_result_wipe(struct callproto_result *r);

/* ---- helpers -------------------------------------------------------------------- */

/* "user@tenant": 1..255 printable ASCII octets (0x21..0x7e), one '@', with
 * something on either side of it. */
bool callproto_user_valid(const char *user);
/* Master key length of a profile (16, 32), or 0 if unknown. */
size_t callproto_profile_key_len(uint16_t profile);
/* Master salt length of a profile (12 GCM, 14 AES-CM), or 0 if unknown. */
size_t callproto_profile_salt_len(uint16_t profile);
/* "AEAD_AES_256_GCM", or "unknown". */
const char *callproto_profile_name(uint16_t profile);
/* The offer this side makes by default into out: every profile it knows,
 * most preferred first (GCM, then AES-CM); returns how many. */
size_t callproto_profiles_default(uint16_t out[CALLPROTO_MAX_PROFILES]);
/*
 * An offer from a list of profile names ("AEAD_AES_256_GCM,AES_CM_128_HMAC_SHA1_80",
 * comma-separated, case-insensitive, no repeats, 1..CALLPROTO_MAX_PROFILES
 * of them) into out[CALLPROTO_MAX_PROFILES], in the order given: 0 with *n,
 * or -EINVAL with a message in err naming the name at fault (what = the
 * option's name, e.g. "--srtp-profiles"). The order does not change the
 * choice (see msg_choose_profile): what is left out is not offered.
 */
int callproto_profiles_parse(const char *list, uint16_t out[CALLPROTO_MAX_PROFILES],
			     size_t *n, const char *what, char *err, size_t errlen);
const char *callproto_code_text(enum callproto_code code);
/* The security code of a handshake hash (docs/handshake.md): 20 digits in
 * groups of 5, into out[CALLPROTO_SECURITY_CODE_LEN + 1]. */
CALLPROTO_MUST_CHECK int callproto_security_code(const uint8_t h[NOISE_HASH_LEN],
		char out[CALLPROTO_SECURITY_CODE_LEN + 1]);

#endif /* CALLSEAL_CALLPROTO_H */
