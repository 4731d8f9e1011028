/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the Noise unit tests (test_noise*.c, one executable): the
 * message buffers and helpers, the random-key handshakes, and the test cases
 * that main() in test_noise.c runs. The generated vectors (noise_vectors.h)
 * are included by test_noise.c alone.
 */
#ifndef CALLSEAL_TEST_NOISE_H
#define CALLSEAL_TEST_NOISE_H

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

#include "noise.h"

#define MSG_CAP (NOISE_MAX_MESSAGE_LEN + 64)

struct rkeys {
	struct noise_keypair si, sr;
	uint8_t psk[NOISE_PSK_LEN];
	uint8_t prologue[24];
};

/* test_noise.c: message buffers (made by group_setup) and helpers */
extern uint8_t *msgbuf, *msgbuf2, *plainbuf;
size_t hs_messages(enum noise_pattern p);
bool untagged(enum noise_pattern p, size_t k);
size_t write_msg(struct noise_handshake *from, const uint8_t *payload,
		 size_t payload_len, uint8_t *buf);
int read_msg(struct noise_handshake *to, const uint8_t *msg, size_t len);

/* test_noise_sessions.c: handshakes with random keys (struct rkeys) */
void rand_config(enum noise_pattern p, enum noise_role role, const struct rkeys *k,
		 struct noise_handshake_config *cfg);
void rand_keys(struct rkeys *k);
void rand_pair(enum noise_pattern p, const struct rkeys *k,
	       struct noise_handshake **i, struct noise_handshake **r);
void rand_handshake(enum noise_pattern p, struct noise_handshake *i,
		    struct noise_handshake *r,
		    struct noise_cipherstate cs[4] /* isend irecv rsend rrecv */);

/* test_noise_sessions.c: wrong turn, role and session; nonce exhaustion; low-order keys */
void test_wrong_turn_and_role(void **state);
void test_transport_rejections(void **state);
void test_nonce_exhaustion(void **state);
void test_low_order_keys(void **state);
void test_low_order_static_in_s_token(void **state);

/* test_noise_agreement.c: agreement, mismatched parameters, sizes and configuration */
void test_random_handshakes_agree(void **state);
void test_mismatched_parameters(void **state);
void test_sizes(void **state);
void test_garbage(void **state);
void test_config_errors(void **state);

#endif
