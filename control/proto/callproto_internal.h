/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callproto_internal.h - what the call protocol's files share, and only they
 * (callproto.h is the public API): the wire constants, struct callproto,
 * and each file's helpers for the others.
 */
#ifndef CALLSEAL_CALLPROTO_INTERNAL_H
#define CALLSEAL_CALLPROTO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callproto.h"

/* ---- wire constants (docs/handshake.md) ------------------------------------------ */

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

/* ---- state ----------------------------------------------------------------------- */

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

/* ---- callproto_msg.c: messages, checks, decisions -------------------------------- */

const char *msg_name(unsigned int type);
/* Checks a local side and builds its intent: 0 or -EINVAL with err. */
int msg_local_check(const struct callproto_local *l, struct intent *in, char *err, size_t errlen);
/* The most preferred profile both lists hold, or 0. */
uint16_t msg_choose_profile(const uint16_t *a, size_t na, const uint16_t *b, size_t nb);
void msg_list_profiles(char *buf, size_t cap, const uint16_t *p, size_t n);
/* Both intents known: st->mode and its reason, identical on both sides. */
void msg_decide_mode(struct callproto *st);
/* This side's payload into p (PAYLOAD_MAX octets); its length. */
size_t msg_payload_build(const struct callproto *st, bool with_chosen, uint8_t *p);
/* A peer payload: 0, or -EBADMSG with why in err. */
int msg_payload_parse(const uint8_t *p, size_t len, bool is_noise3, struct payload *out,
		      char *err, size_t errlen);

/* ---- callproto_keys.c: key schedule ---------------------------------------------- */

/* Handshake complete, before split: h, chain_0, security code. */
int keys_schedule_start(struct callproto *st);
/* Both directions' SRTP keys of the current chain generation. */
int keys_derive(const struct callproto *st, struct callproto_keys *out);

#endif /* CALLSEAL_CALLPROTO_INTERNAL_H */
