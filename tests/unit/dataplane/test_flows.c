/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for flows.c: a worker's view of the key table. A real table in
 * /dev/shm is written through the key-table API, and what the flows hand out
 * is checked by encrypting with it and decrypting with keys made
 * independently from the same master key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "flows.h"

struct fx {
	struct keytable *w;           /* the writer's handle */
	struct keytable *r;           /* the worker's read-only handle */
	struct csrtp_engine *e;
	struct flows *f;
	char name[64];
};

static const uint8_t addr4[4] = { 192, 0, 2, 10 };

static void master(struct keytable_master *m, uint8_t seed, int aes256)
{
	uint8_t key[32], salt[12];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(seed + i);
	for (int i = 0; i < 12; i++)
		salt[i] = (uint8_t)(seed ^ (0x50 + i));
	assert_int_equal(keytable_master_set(m, aes256 ? KEYTABLE_PROFILE_AEAD_AES_256_GCM :
					     KEYTABLE_PROFILE_AEAD_AES_128_GCM, key,
					     aes256 ? 32 : 16, salt), 0);
}

static struct fx *make(uint32_t max_flows, uint32_t max_streams)
{
	struct fx *x = calloc(1, sizeof(*x));
	char err[KEYTABLE_ERR_MAX];
	assert_non_null(x);
	snprintf(x->name, sizeof(x->name), "test-flows-%d", (int)getpid());
	keytable_unlink(x->name, err, sizeof(err));
	assert_int_equal(keytable_create(&x->w, x->name, 1024, err, sizeof(err)), 0);
	assert_int_equal(keytable_attach_reader(&x->r, x->name, err, sizeof(err)), 0);
	x->e = csrtp_engine_create(IMB_ARCH_NONE);
	assert_non_null(x->e);
	struct flows_cfg c = { .max_flows = max_flows, .max_streams = max_streams };
	x->f = flows_create(x->e, x->r, &c);
	assert_non_null(x->f);
	return x;
}

static void destroy(struct fx *x)
{
	char err[KEYTABLE_ERR_MAX];
	flows_destroy(x->f);
	csrtp_engine_destroy(x->e);
	keytable_detach(x->r);
	keytable_detach(x->w);
	keytable_unlink(x->name, err, sizeof(err));
	free(x);
}

static void add(struct fx *x, const struct keytable_key *k, uint8_t seed)
{
	struct keytable_master m;
	uint8_t call[KEYTABLE_CALL_ID_BYTES] = { 1 };
	master(&m, seed, 0);
	assert_int_equal(keytable_add(x->w, k, KEYTABLE_MODE_STANDARD, &m, call, NULL), 0);
}

static struct csrtp_stream *resolve1(struct fx *x, const struct keytable_key *k,
				     uint32_t ssrc, uint8_t *why)
{
	struct csrtp_stream *s;
	flows_resolve(x->f, k, &ssrc, 1, &s, why);
	return s;
}

/* An RTP packet protected through stream s, unprotected with a stream keyed
 * independently from master seed: 1 if it verifies. */
static int roundtrip(struct fx *x, struct csrtp_stream *s, uint16_t seq, uint8_t seed,
		     uint32_t roc)
{
	uint8_t buf[128] = { 0x80, 96, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 1,
			     0xde, 0xad, 0xbe, 0xef };
	struct csrtp_pkt p = { .data = buf, .len = 60, .cap = sizeof(buf), .stream = s };
	if (csrtp_protect_burst(x->e, &p, 1) != 1)
		return 0;
	struct keytable_master m;
	struct csrtp_key k;
	struct csrtp_stream rx;
	master(&m, seed, 0);
	assert_int_equal(csrtp_key_init(x->e, &k, CSRTP_PROFILE_AEAD_AES_128_GCM, m.key, 16,
					m.salt), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	rx.roc_init = roc;
	struct csrtp_pkt q = { .data = buf, .len = p.len, .cap = sizeof(buf), .stream = &rx };
	int ok = csrtp_unprotect_burst(x->e, &q, 1) == 1;
	csrtp_key_wipe(&k);
	return ok;
}

static void test_unknown_key_leaves_no_state(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k;
	struct flows_stats st;
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	assert_null(resolve1(x, &k, 1, &why));
	assert_int_equal(why, FLOWS_NO_KEY);
	flows_get_stats(x->f, &st);
	assert_int_equal(st.flows, 0);
	assert_int_equal(st.streams, 0);
	destroy(x);
}

/* Keys come from the table, expanded once per flow, streams per SSRC. */
static void test_resolve_and_encrypt(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k;
	struct flows_stats st;
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	add(x, &k, 7);
	struct csrtp_stream *a = resolve1(x, &k, 0x1111, &why);
	assert_non_null(a);
	assert_int_equal(why, FLOWS_OK);
	assert_ptr_equal(resolve1(x, &k, 0x1111, &why), a);
	struct csrtp_stream *b = resolve1(x, &k, 0x2222, &why);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	assert_ptr_equal(a->key, b->key);             /* one expanded key per flow */
	flows_get_stats(x->f, &st);
	assert_int_equal(st.expansions, 1);
	assert_int_equal(st.flows, 1);
	assert_int_equal(st.streams, 2);
	uint64_t lookups = st.lookups;
	resolve1(x, &k, 0x1111, &why);                /* table unchanged: no look-up */
	flows_get_stats(x->f, &st);
	assert_int_equal(st.lookups, lookups);

	assert_true(roundtrip(x, a, 10, 7, 0));
	assert_false(roundtrip(x, a, 11, 8, 0));      /* another master: fails */
	destroy(x);
}

/* A deleted key stops its stream at the next call; re-added, it starts over. */
static void test_delete_and_readd(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k;
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	add(x, &k, 7);
	struct csrtp_stream *s = resolve1(x, &k, 1, &why);
	assert_true(roundtrip(x, s, 500, 7, 0));
	assert_int_equal(keytable_delete(x->w, &k), 0);
	assert_null(resolve1(x, &k, 1, &why));
	assert_int_equal(why, FLOWS_NO_KEY);

	add(x, &k, 9);
	s = resolve1(x, &k, 1, &why);
	assert_non_null(s);
	assert_false(s->rtp.started);                 /* fresh ROC and window */
	assert_true(roundtrip(x, s, 500, 9, 0));      /* seq 500 again: allowed */
	destroy(x);
}

/* flows_sweep: a deleted entry's flow is dropped without a packet of its
 * own, its expanded key wiped; other flows keep theirs. */
static void test_sweep_drops_deleted(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k1, k2;
	struct flows_stats st;
	static const uint8_t zero[sizeof(struct csrtp_key)];
	unsigned dropped = 0;
	uint8_t why;

	keytable_key_ipv4(&k1, addr4, 5004, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&k2, addr4, 5006, KEYTABLE_DIR_OUT);
	add(x, &k1, 7);
	add(x, &k2, 9);
	struct csrtp_stream *a = resolve1(x, &k1, 1, &why);
	struct csrtp_stream *b = resolve1(x, &k2, 1, &why);
	assert_non_null(a);
	assert_non_null(b);
	const struct csrtp_key *ka = a->key;
	for (int i = 0; i < 1000; i++)                 /* a pass over the table */
		dropped += flows_sweep(x->f);
	assert_int_equal(dropped, 0);                  /* both entries stand */
	assert_int_equal(keytable_delete(x->w, &k1), 0);
	for (int i = 0; i < 1000; i++)
		dropped += flows_sweep(x->f);
	assert_int_equal(dropped, 1);
	flows_get_stats(x->f, &st);
	assert_int_equal(st.flows, 1);
	assert_memory_equal(ka, zero, sizeof(zero));   /* wiped, no packet needed */
	assert_true(roundtrip(x, b, 10, 9, 0));        /* the other flow goes on */
	assert_null(resolve1(x, &k1, 1, &why));
	assert_int_equal(why, FLOWS_NO_KEY);
	flows_get_stats(x->f, &st);
	uint64_t lookups = st.lookups;
	assert_int_equal(flows_sweep(x->f), 0);        /* unchanged: nothing to do */
	flows_get_stats(x->f, &st);
	assert_int_equal(st.lookups, lookups);
	destroy(x);
}

/* Replace: the new key at once, the stream's index state kept. */
static void test_replace_keeps_index(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k;
	struct keytable_master m;
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	add(x, &k, 7);
	struct csrtp_stream *s = resolve1(x, &k, 1, &why);
	assert_true(roundtrip(x, s, 65535, 7, 0));
	master(&m, 20, 0);
	assert_int_equal(keytable_replace(x->w, &k, &m, NULL), 0);
	s = resolve1(x, &k, 1, &why);
	assert_non_null(s);
	assert_true(roundtrip(x, s, 0, 20, 1));       /* ROC went on to 1 */
	assert_false(roundtrip(x, s, 1, 7, 1));
	destroy(x);
}

/* Schedule: the next key from its index on, the old one before it. */
static void test_schedule_next_key(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k;
	struct keytable_master m;
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	add(x, &k, 7);
	struct csrtp_stream *s = resolve1(x, &k, 1, &why);
	assert_true(roundtrip(x, s, 100, 7, 0));
	master(&m, 30, 0);
	assert_int_equal(keytable_schedule(x->w, &k, &m, 110, NULL), 0);
	s = resolve1(x, &k, 1, &why);
	assert_non_null(s->prev_key);
	assert_int_equal(s->key_from, 110);
	for (uint16_t seq = 101; seq < 110; seq++)
		assert_true(roundtrip(x, s, seq, 7, 0));
	for (uint16_t seq = 110; seq < 120; seq++)
		assert_true(roundtrip(x, s, seq, 30, 0));
	destroy(x);
}

/* A packet of ssrc at seq (ROC roc) protected under master seed by an
 * independent sender, unprotected through the flows' stream: 1 if accepted. */
static int deliver(struct fx *x, const struct keytable_key *k, uint32_t ssrc, uint16_t seq,
		   uint8_t seed, uint32_t roc)
{
	uint8_t buf[128] = { 0x80, 96, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 1,
			     (uint8_t)(ssrc >> 24), (uint8_t)(ssrc >> 16), (uint8_t)(ssrc >> 8),
			     (uint8_t)ssrc };
	struct keytable_master m;
	struct csrtp_key key;
	struct csrtp_stream tx;
	uint8_t why;

	master(&m, seed, 0);
	assert_int_equal(csrtp_key_init(x->e, &key, CSRTP_PROFILE_AEAD_AES_128_GCM, m.key, 16,
					m.salt), 0);
	assert_int_equal(csrtp_stream_init(&tx, &key, 0, 0), 0);
	tx.roc_init = roc;
	struct csrtp_pkt p = { .data = buf, .len = 60, .cap = sizeof(buf), .stream = &tx };
	assert_int_equal(csrtp_protect_burst(x->e, &p, 1), 1);
	csrtp_key_wipe(&key);
	struct csrtp_stream *s = resolve1(x, k, ssrc, &why);
	assert_non_null(s);
	p.stream = s;
	return csrtp_unprotect_burst(x->e, &p, 1) == 1;
}

/* ABI 2, the receiver: a next key on auth, then advanced while a second
 * stream has not switched yet (three keys held by the flow). */
static void test_on_auth_and_advance(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k;
	struct keytable_master m;

	keytable_key_ipv4(&k, addr4, 5006, KEYTABLE_DIR_IN);
	add(x, &k, 7);
	for (uint16_t seq = 100; seq < 105; seq++)
		if (seq != 102)
			assert_true(deliver(x, &k, 1, seq, 7, 0));
	assert_true(deliver(x, &k, 2, 500, 7, 0));
	master(&m, 30, 0);
	assert_int_equal(keytable_schedule(x->w, &k, &m, KEYTABLE_FROM_ON_AUTH, NULL), 0);
	assert_true(deliver(x, &k, 1, 105, 7, 0));     /* the old key until used */
	assert_true(deliver(x, &k, 1, 106, 30, 0));    /* first under 30: From 106 */
	assert_false(deliver(x, &k, 1, 107, 7, 0));    /* old key past From */
	assert_true(deliver(x, &k, 1, 102, 7, 0));     /* late, below From */
	assert_false(deliver(x, &k, 1, 106, 30, 0));   /* replay */
	assert_true(deliver(x, &k, 1, 107, 30, 0));

	/* a second rekey before stream 2's sender switched: advance */
	master(&m, 40, 0);
	assert_int_equal(keytable_advance(x->w, &k, &m, NULL), 0);
	assert_true(deliver(x, &k, 1, 108, 30, 0));
	assert_true(deliver(x, &k, 1, 109, 40, 0));
	assert_false(deliver(x, &k, 1, 110, 30, 0));
	assert_true(deliver(x, &k, 2, 501, 7, 0));     /* still on the first key */
	assert_true(deliver(x, &k, 2, 503, 30, 0));
	assert_true(deliver(x, &k, 2, 505, 40, 0));
	assert_true(deliver(x, &k, 2, 502, 7, 0));     /* late under the oldest */
	assert_true(deliver(x, &k, 2, 504, 30, 0));
	assert_false(deliver(x, &k, 2, 506, 30, 0));
	assert_false(deliver(x, &k, 2, 506, 7, 0));
	assert_true(deliver(x, &k, 3, 9, 40, 0));      /* a new SSRC: any held key */

	/* replace: at once */
	master(&m, 50, 0);
	assert_int_equal(keytable_replace(x->w, &k, &m, NULL), 0);
	assert_false(deliver(x, &k, 1, 111, 40, 0));
	assert_true(deliver(x, &k, 1, 112, 50, 0));
	destroy(x);
}

/* Two advances between two packets of a flow (rekey_live under load: the
 * peer's REKEY(g) and our own rekey g+1 written within a millisecond, the
 * worker looking only at its next packet). The flow last saw cur A, next B
 * pending, and both streams had switched to B; it then reads cur C, next D,
 * KEYTABLE_F_PREV. The entry's previous cur is B, not A: the sender is still
 * on B until it reads our REKEY_ACK / REKEY, so B must stay held. */
static void test_two_advances_between_packets(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k;
	struct keytable_master m;

	keytable_key_ipv4(&k, addr4, 5008, KEYTABLE_DIR_IN);
	add(x, &k, 7);
	assert_true(deliver(x, &k, 1, 100, 7, 0));
	assert_true(deliver(x, &k, 2, 65000, 7, 0));
	master(&m, 20, 0);                               /* rekey g: A=7, B=20 */
	assert_int_equal(keytable_schedule(x->w, &k, &m, KEYTABLE_FROM_ON_AUTH, NULL), 0);
	assert_true(deliver(x, &k, 1, 101, 20, 0));      /* both switch to B */
	assert_true(deliver(x, &k, 2, 65001, 20, 0));
	assert_true(deliver(x, &k, 1, 102, 20, 0));
	master(&m, 30, 0);                               /* g+1, g+2: no packet between */
	assert_int_equal(keytable_advance(x->w, &k, &m, NULL), 0);
	master(&m, 40, 0);
	assert_int_equal(keytable_advance(x->w, &k, &m, NULL), 0);
	/* the sender has not read the control's answers yet: still B */
	assert_true(deliver(x, &k, 1, 103, 20, 0));
	assert_true(deliver(x, &k, 2, 65002, 20, 0));
	assert_true(deliver(x, &k, 1, 104, 20, 0));
	/* then C briefly, then D; B late below From */
	assert_true(deliver(x, &k, 1, 106, 30, 0));
	assert_true(deliver(x, &k, 1, 108, 40, 0));
	assert_true(deliver(x, &k, 1, 105, 20, 0));
	assert_true(deliver(x, &k, 1, 107, 30, 0));
	assert_false(deliver(x, &k, 1, 109, 20, 0));     /* B past D's From */
	assert_false(deliver(x, &k, 1, 109, 30, 0));
	assert_true(deliver(x, &k, 1, 109, 40, 0));
	assert_true(deliver(x, &k, 2, 65003, 40, 0));    /* straight from B to D */
	assert_true(deliver(x, &k, 2, 65004, 40, 0));
	assert_false(deliver(x, &k, 2, 65005, 20, 0));
	destroy(x);
}

/* The sender: a new current key applies from each stream's next packet, the
 * index going on (across the 2^16 wrap too); an index reused under the old
 * key is refused, and allowed once under the new one. */
static void test_sender_switches_at_next_packet(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k;
	struct keytable_master m;
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5008, KEYTABLE_DIR_OUT);
	add(x, &k, 7);
	struct csrtp_stream *s = resolve1(x, &k, 1, &why);
	assert_true(roundtrip(x, s, 65534, 7, 0));
	assert_false(roundtrip(x, s, 65000, 7, 0));    /* index reuse */
	master(&m, 20, 0);
	assert_int_equal(keytable_replace(x->w, &k, &m, NULL), 0);
	s = resolve1(x, &k, 1, &why);
	assert_true(roundtrip(x, s, 65535, 20, 0));
	assert_true(roundtrip(x, s, 0, 20, 1));        /* ROC went on to 1 */
	master(&m, 21, 0);
	assert_int_equal(keytable_replace(x->w, &k, &m, NULL), 0);
	s = resolve1(x, &k, 1, &why);
	assert_true(roundtrip(x, s, 65000, 21, 0));    /* recovered by the rekey */
	assert_false(roundtrip(x, s, 65000, 21, 0));
	destroy(x);
}

static void test_wildcard_and_ipv6(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key any, k4, k6;
	uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t why;

	keytable_key_any(&any, 6000, KEYTABLE_DIR_IN);
	add(x, &any, 3);
	keytable_key_ipv4(&k4, addr4, 6000, KEYTABLE_DIR_IN);
	keytable_key_ipv6(&k6, a6, 6000, KEYTABLE_DIR_IN);
	struct csrtp_stream *s4 = resolve1(x, &k4, 5, &why);
	struct csrtp_stream *s6 = resolve1(x, &k6, 5, &why);
	assert_non_null(s4);
	assert_non_null(s6);
	assert_true(roundtrip(x, s4, 1, 3, 0));
	assert_true(roundtrip(x, s6, 1, 3, 0));
	/* other direction and other port: nothing */
	keytable_key_ipv4(&k4, addr4, 6000, KEYTABLE_DIR_OUT);
	assert_null(resolve1(x, &k4, 5, &why));
	keytable_key_ipv4(&k4, addr4, 6002, KEYTABLE_DIR_IN);
	assert_null(resolve1(x, &k4, 5, &why));
	destroy(x);
}

static void test_tables_full(void **state)
{
	(void)state;
	struct fx *x = make(2, 3);
	struct keytable_key k[3];
	uint8_t why;

	for (int i = 0; i < 3; i++) {
		keytable_key_ipv4(&k[i], addr4, (uint16_t)(7000 + i), KEYTABLE_DIR_OUT);
		add(x, &k[i], (uint8_t)i);
	}
	assert_non_null(resolve1(x, &k[0], 1, &why));
	assert_non_null(resolve1(x, &k[1], 1, &why));
	assert_null(resolve1(x, &k[2], 1, &why));
	assert_int_equal(why, FLOWS_FULL);
	assert_non_null(resolve1(x, &k[0], 2, &why));
	assert_null(resolve1(x, &k[0], 3, &why));     /* 4th stream */
	assert_int_equal(why, FLOWS_FULL);
	/* a deleted flow frees its place, and its streams', for another */
	assert_int_equal(keytable_delete(x->w, &k[1]), 0);
	assert_null(resolve1(x, &k[1], 1, &why));
	assert_non_null(resolve1(x, &k[2], 9, &why));
	struct flows_stats st;
	flows_get_stats(x->f, &st);
	assert_int_equal(st.flows, 2);
	assert_int_equal(st.streams, 3);
	destroy(x);
}

/* A burst of 32 packets over 5 flows, some unknown: one bulk look-up. */
static void test_burst(void **state)
{
	(void)state;
	struct fx *x = make(64, 64);
	struct keytable_key k[KEYTABLE_BULK_MAX];
	uint32_t ssrc[KEYTABLE_BULK_MAX];
	struct csrtp_stream *out[KEYTABLE_BULK_MAX];
	uint8_t why[KEYTABLE_BULK_MAX];
	struct keytable_key fk[5];

	for (int f = 0; f < 5; f++) {
		keytable_key_ipv4(&fk[f], addr4, (uint16_t)(8000 + f), KEYTABLE_DIR_OUT);
		if (f != 4)
			add(x, &fk[f], (uint8_t)(40 + f));
	}
	for (int i = 0; i < (int)KEYTABLE_BULK_MAX; i++) {
		k[i] = fk[i % 5];
		ssrc[i] = (uint32_t)(i % 3);
	}
	flows_resolve(x->f, k, ssrc, KEYTABLE_BULK_MAX, out, why);
	struct flows_stats st;
	flows_get_stats(x->f, &st);
	assert_int_equal(st.lookups, 5);              /* one per distinct key */
	assert_int_equal(st.flows, 4);
	for (int i = 0; i < (int)KEYTABLE_BULK_MAX; i++) {
		if (i % 5 == 4) {
			assert_null(out[i]);
			assert_int_equal(why[i], FLOWS_NO_KEY);
		} else {
			assert_non_null(out[i]);
			for (int j = 0; j < i; j++)
				if (i % 5 == j % 5 && i % 3 == j % 3)
					assert_ptr_equal(out[i], out[j]);
		}
	}
	destroy(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_key_leaves_no_state),
		cmocka_unit_test(test_resolve_and_encrypt),
		cmocka_unit_test(test_delete_and_readd),
		cmocka_unit_test(test_sweep_drops_deleted),
		cmocka_unit_test(test_replace_keeps_index),
		cmocka_unit_test(test_schedule_next_key),
		cmocka_unit_test(test_on_auth_and_advance),
		cmocka_unit_test(test_two_advances_between_packets),
		cmocka_unit_test(test_sender_switches_at_next_packet),
		cmocka_unit_test(test_wildcard_and_ipv6),
		cmocka_unit_test(test_tables_full),
		cmocka_unit_test(test_burst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
