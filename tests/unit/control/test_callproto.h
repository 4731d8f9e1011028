/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the callproto unit tests (test_callproto*.c, one executable):
 * the keys and profile lists, the in-memory simulation of two state machines
 * (struct sim) and its assertions, the reference wire-format helpers, and the
 * test cases that main() in test_callproto.c runs.
 */
#ifndef CALLSEAL_TEST_CALLPROTO_H
#define CALLSEAL_TEST_CALLPROTO_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "callproto.h"
#include "noise.h"

#define ALICE "alice@contoso"
#define BOB   "bob@fabrikam"
#define MAX_FRAMES 16

struct side_cfg {
	const char *user;
	const struct noise_keypair *kp;
	bool allowed, on;
	const uint16_t *profiles;
	size_t n_profiles;
	uint8_t ip_last;
	uint16_t port;
};

/* Called for every frame in transit: may change it (len too) or drop it
 * (return false). idx counts frames in the order they were sent. */
typedef bool (*tamper_fn)(void *ctx, unsigned int idx, bool from_initiator,
			  uint8_t *frame, size_t *len);

struct sim {
	struct side_cfg a, b;           /* initiator (caller), responder (callee) */
	const uint8_t *call_id;
	bool responder_late_local;      /* NEED_CALLEE path */
	bool use_callbacks;             /* else NEED_IDENTITY steps */
	bool a_accepts, b_accepts;
	tamper_fn tamper;
	void *tamper_ctx;
	/* outputs */
	struct callproto *i, *r;
	unsigned int n_frames;
	uint8_t frames[MAX_FRAMES][CALLPROTO_OUT_MAX + 8];
	size_t frame_len[MAX_FRAMES];
	bool frame_from_i[MAX_FRAMES];
	int i_ret, r_ret;               /* first error of consume on each side */
	uint8_t i_seen_peer[NOISE_PUBLIC_KEY_LEN], r_seen_peer[NOISE_PUBLIC_KEY_LEN];
};

/* test_callproto_sim.c: keys (made by group_setup), profile lists */
extern struct noise_keypair kp_alice, kp_bob, kp_mallory;
extern const uint16_t prof_both[];
extern const uint16_t prof_128[];
extern const uint16_t prof_256[];
int group_setup(void **state);

/* test_callproto_sim.c: the simulation */
bool cb_accept(void *ctx, const char *user, const uint8_t pub[NOISE_PUBLIC_KEY_LEN]);
struct callproto_local make_local(const struct side_cfg *c);
void sim_defaults(struct sim *s);
void sim_create(struct sim *s);
void sim_pump(struct sim *s);
void sim_run(struct sim *s);
void sim_destroy(struct sim *s);

/* test_callproto_sim.c: assertions */
void assert_nothing_derived(struct callproto *st);
void assert_keys_equal(const struct callproto_srtp_key *x,
		       const struct callproto_srtp_key *y);
void assert_keys_differ(const struct callproto_srtp_key *x,
			const struct callproto_srtp_key *y);
void assert_agree(struct sim *s, struct callproto_result *ri,
		  struct callproto_result *rr);
void assert_code_format(const char *c);

/* test_callproto_reference.c: the reference HELLO body and frame */
size_t ref_hello(uint8_t *body, const uint8_t call_id[16], const char *caller,
		 const char *callee, uint8_t version);
size_t ref_frame(uint8_t *f, uint8_t type, const uint8_t *msg, size_t len);

/* test_callproto_attacks.c: corruption, order and replay, identity, man in the middle */
void test_bitflips(void **state);
void test_truncations(void **state);
void test_garbage(void **state);
void test_out_of_order(void **state);
void test_replay_old_attempt(void **state);
void test_identity_refused(void **state);
void test_mitm(void **state);

/* test_callproto_reference.c: a second implementation against either side */
void test_reference_caller(void **state);
void test_reference_callee(void **state);
void test_reference_aes_cm(void **state);

/* test_callproto_api.c: rekey, hello and callee step, framing, security code, export */
void test_rekey(void **state);
void test_hello_and_callee(void **state);
void test_framing_and_api(void **state);
void test_security_code(void **state);
void test_noise_export(void **state);

#endif
