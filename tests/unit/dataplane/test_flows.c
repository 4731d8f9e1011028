/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for flows.c: a worker's view of the key table. A real table in
 * /dev/shm is written through the key-table API, and what the flows hand out
 * is checked by encrypting with it and decrypting with keys made
 * independently from the same master key. The statistics area's flow rows
 * (include/callseal/dpstats.h) are checked through a reader's mapping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "flows.h"
#include "resume.h"

struct fx {
	struct keytable *w;           /* the writer's handle */
	struct keytable *r;           /* the worker's read-only handle */
	struct csrtp_engine *e;
	struct flows *f;
	struct dpstats *area;         /* with_rows: the flows' statistics rows */
	struct dpstats *reader;       /* ... and a reader's mapping of them */
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

static struct fx *make_cfg(const struct flows_cfg *cfg, bool with_rows)
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
	struct flows_cfg c = *cfg;
	struct dpstats_flow *rows = NULL;
	if (with_rows) {
		assert_int_equal(dpstats_create(&x->area, x->name, 1, flows_table_rows(&c), err,
						sizeof(err)), 0);
		assert_int_equal(dpstats_attach(&x->reader, x->name, err, sizeof(err)), 0);
		rows = dpstats_flows(x->area, 0);
	}
	x->f = flows_create(x->e, x->r, &c, rows);
	assert_non_null(x->f);
	return x;
}

static struct fx *make_x(uint32_t max_flows, uint32_t max_streams, bool with_rows)
{
	struct flows_cfg c = { .max_flows = max_flows, .max_streams = max_streams };
	return make_cfg(&c, with_rows);
}

static struct fx *make(uint32_t max_flows, uint32_t max_streams)
{
	return make_x(max_flows, max_streams, false);
}

static void destroy(struct fx *x)
{
	char err[KEYTABLE_ERR_MAX];
	flows_destroy(x->f);
	dpstats_detach(x->reader);
	dpstats_destroy(x->area);
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
	flows_resolve(x->f, k, &ssrc, 1, &s, why, NULL, 0);
	return s;
}

/* resolve1, and the flow row the packet counts into (NULL: none). */
static struct csrtp_stream *resolve_row(struct fx *x, const struct keytable_key *k,
					uint32_t ssrc, uint64_t now, struct dpstats_flow **row)
{
	struct csrtp_stream *s;
	uint8_t why;
	flows_resolve(x->f, k, &ssrc, 1, &s, &why, row, now);
	return s;
}

/* 1 if SRTP packet buf (len bytes, room for 128) verifies under a receiver
 * keyed independently from master seed, at ROC roc. */
static int indep_verify(struct fx *x, uint8_t *buf, uint32_t len, uint8_t seed, uint32_t roc)
{
	struct keytable_master m;
	struct csrtp_key k;
	struct csrtp_stream rx;
	master(&m, seed, 0);
	assert_int_equal(csrtp_key_init(x->e, &k, CSRTP_PROFILE_AEAD_AES_128_GCM, m.key, 16,
					m.salt), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	rx.roc_init = roc;
	struct csrtp_pkt q = { .data = buf, .len = len, .cap = 128, .stream = &rx };
	int ok = csrtp_unprotect_burst(x->e, &q, 1) == 1;
	csrtp_key_wipe(&k);
	return ok;
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
	return indep_verify(x, buf, p.len, seed, roc);
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
	assert_int_equal(st.streams, 0);              /* nothing got through yet */
	assert_int_equal(st.tentative, 2);
	uint64_t lookups = st.lookups;
	resolve1(x, &k, 0x1111, &why);                /* table unchanged: no look-up */
	flows_get_stats(x->f, &st);
	assert_int_equal(st.lookups, lookups);

	assert_true(roundtrip(x, a, 10, 7, 0));
	assert_false(roundtrip(x, a, 11, 8, 0));      /* another master: fails */
	/* a packet protected: committed at its next look-up, state kept */
	struct csrtp_stream *c = resolve1(x, &k, 0x1111, &why);
	assert_non_null(c);
	assert_ptr_not_equal(c, a);
	assert_true(c->rtp.started);
	assert_int_equal(c->rtp.top, 11);
	flows_get_stats(x->f, &st);
	assert_int_equal(st.streams, 1);
	assert_int_equal(st.tentative, 1);
	assert_int_equal(st.commits, 1);
	assert_ptr_equal(resolve1(x, &k, 0x1111, &why), c);
	destroy(x);
}

/* AES-CM entries (14-byte salt, 80- or 32-bit tags): the flow's stream
 * protects RTP and RTCP that a receiver keyed independently with
 * csrtp_key_init_salt() verifies; a receiver whose salt differs only in its
 * last byte (one a 12-byte salt would drop) does not. */
static void cm_master(uint8_t key[16], uint8_t salt[14], uint8_t seed)
{
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(seed * 3 + i);
	for (int i = 0; i < 14; i++)
		salt[i] = (uint8_t)(seed ^ (0x90 + i));
}

static int cm_verify(struct fx *x, unsigned int profile, uint8_t seed, int salt_flip,
		     const uint8_t *pkt, uint32_t len, int rtcp)
{
	uint8_t key[16], salt[14], buf[128];
	struct csrtp_key k;
	struct csrtp_stream rx;
	cm_master(key, salt, seed);
	salt[13] ^= (uint8_t)salt_flip;
	assert_int_equal(csrtp_key_init_salt(x->e, &k, (enum csrtp_profile)profile, key, 16,
					     salt, 14), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	memcpy(buf, pkt, len);
	struct csrtp_pkt q = { .data = buf, .len = len, .cap = sizeof(buf), .stream = &rx };
	int ok = (rtcp ? csrtp_rtcp_unprotect_burst(x->e, &q, 1) :
			 csrtp_unprotect_burst(x->e, &q, 1)) == 1;
	csrtp_key_wipe(&k);
	return ok;
}

static void test_aes_cm_entries(void **state)
{
	(void)state;
	static const struct { unsigned int profile; uint32_t tag; } p[] = {
		{ KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80, 10 },
		{ KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32, 4 },
	};
	struct fx *x = make(16, 16);

	for (unsigned int i = 0; i < 2; i++) {
		struct keytable_master m;
		struct keytable_key k;
		uint8_t key[16], salt[14], why, call[KEYTABLE_CALL_ID_BYTES] = { 2 };
		uint8_t seed = (uint8_t)(40 + i);

		cm_master(key, salt, seed);
		assert_int_equal(keytable_master_set_salt(&m, p[i].profile, key, 16, salt, 14), 0);
		keytable_key_ipv4(&k, addr4, (uint16_t)(6000 + i), KEYTABLE_DIR_OUT);
		assert_int_equal(keytable_add(x->w, &k, KEYTABLE_MODE_STANDARD, &m, call, NULL), 0);
		keytable_wipe(&m, sizeof(m));
		struct csrtp_stream *s = resolve1(x, &k, 0x3333, &why);
		assert_non_null(s);
		assert_int_equal(why, FLOWS_OK);

		uint8_t rtp[128] = { 0x80, 96, 0, 5, 0, 0, 0, 1, 0, 0, 0x33, 0x33 };
		struct csrtp_pkt q = { .data = rtp, .len = 60, .cap = sizeof(rtp), .stream = s };
		assert_int_equal(csrtp_protect_burst(x->e, &q, 1), 1);
		assert_int_equal(q.len, 60 + p[i].tag);
		assert_true(cm_verify(x, p[i].profile, seed, 0, rtp, q.len, 0));
		assert_false(cm_verify(x, p[i].profile, seed, 1, rtp, q.len, 0));
		/* the other AES-CM profile (other tag length) does not verify it */
		assert_false(cm_verify(x, p[1 - i].profile, seed, 0, rtp, q.len, 0));

		/* SRTCP: E flag || index, then always an 80-bit tag */
		uint8_t rtcp[128] = { 0x80, 200, 0, 6, 0, 0, 0x33, 0x33 };
		q = (struct csrtp_pkt){ .data = rtcp, .len = 28, .cap = sizeof(rtcp), .stream = s };
		assert_int_equal(csrtp_rtcp_protect_burst(x->e, &q, 1), 1);
		assert_int_equal(q.len, 28 + 4 + 10);
		assert_true(cm_verify(x, p[i].profile, seed, 0, rtcp, q.len, 1));
		assert_false(cm_verify(x, p[i].profile, seed, 1, rtcp, q.len, 1));
	}
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

/* Deleted and added again with no packet in between (a call ends and the next
 * call gets the same media port, scripts/soak): another instance of the entry,
 * so the flow starts over as if it had seen the deletion: the new key even at
 * the same generation, fresh streams, and the old instance's streams freed
 * with the flow. */
static void test_readd_between_packets(void **state)
{
	(void)state;
	struct fx *x = make(16, 2);
	struct keytable_key k;
	struct flows_stats st;
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	add(x, &k, 7);
	struct csrtp_stream *s = resolve1(x, &k, 1, &why);
	assert_true(roundtrip(x, s, 500, 7, 0));
	s = resolve1(x, &k, 2, &why);
	assert_true(roundtrip(x, s, 600, 7, 0));
	assert_non_null(resolve1(x, &k, 1, &why));    /* both verified: committed */
	assert_non_null(resolve1(x, &k, 2, &why));
	flows_get_stats(x->f, &st);
	assert_int_equal(st.streams, 2);              /* the stream table is full */
	assert_int_equal(keytable_delete(x->w, &k), 0);
	add(x, &k, 9);                                /* generation 1 again */

	s = resolve1(x, &k, 3, &why);                 /* the next call's SSRC */
	assert_non_null(s);
	assert_int_equal(why, FLOWS_OK);
	flows_get_stats(x->f, &st);
	assert_int_equal(st.streams, 0);              /* the old call's went */
	assert_true(roundtrip(x, s, 500, 9, 0));      /* the new key, not the old */
	s = resolve1(x, &k, 1, &why);                 /* the old SSRC: fresh window */
	assert_non_null(s);
	assert_false(s->rtp.started);
	assert_true(roundtrip(x, s, 500, 9, 0));
	/* both verified: committed at their next look-up, and they fit in the
	 * table of 2 because the old instance's streams went with its flow */
	assert_non_null(resolve1(x, &k, 3, &why));
	assert_non_null(resolve1(x, &k, 1, &why));
	flows_get_stats(x->f, &st);
	assert_int_equal(st.flows, 1);
	assert_int_equal(st.streams, 2);
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

/* An outbound stream that has protected a packet, committed by its next
 * look-up: the stream, or NULL (why) if there was no room. */
static struct csrtp_stream *commit_out(struct fx *x, const struct keytable_key *k,
				       uint32_t ssrc, uint8_t seed, uint8_t *why)
{
	struct csrtp_stream *s = resolve1(x, k, ssrc, why);
	if (s == NULL)
		return NULL;
	assert_true(roundtrip(x, s, 1, seed, 0));
	return resolve1(x, k, ssrc, why);
}

static void test_tables_full(void **state)
{
	(void)state;
	struct fx *x = make(2, 3);
	struct keytable_key k[3];
	struct flows_stats st;
	uint8_t why;

	for (int i = 0; i < 3; i++) {
		keytable_key_ipv4(&k[i], addr4, (uint16_t)(7000 + i), KEYTABLE_DIR_OUT);
		add(x, &k[i], (uint8_t)i);
	}
	assert_non_null(commit_out(x, &k[0], 1, 0, &why));
	assert_non_null(commit_out(x, &k[1], 1, 1, &why));
	assert_null(resolve1(x, &k[2], 1, &why));
	assert_int_equal(why, FLOWS_FULL);
	assert_non_null(commit_out(x, &k[0], 2, 0, &why));
	flows_get_stats(x->f, &st);
	assert_int_equal(st.streams, 3);
	assert_int_equal(st.tentative, 0);
	assert_null(resolve1(x, &k[0], 3, &why));     /* 4th stream */
	assert_int_equal(why, FLOWS_FULL);
	/* a deleted flow frees its place, and its streams', for another, at
	 * once (flow_kill frees its streams: no sweep) */
	assert_int_equal(keytable_delete(x->w, &k[1]), 0);
	assert_null(resolve1(x, &k[1], 1, &why));
	flows_get_stats(x->f, &st);
	assert_int_equal(st.streams, 2);
	assert_non_null(commit_out(x, &k[2], 9, 2, &why));
	flows_get_stats(x->f, &st);
	assert_int_equal(st.flows, 2);
	assert_int_equal(st.streams, 3);
	destroy(x);
}

/* max_flow_streams: one flow cannot take the whole table. */
static void test_flow_stream_limit(void **state)
{
	(void)state;
	struct flows_cfg c = { .max_flows = 4, .max_streams = 16, .max_flow_streams = 4 };
	struct fx *x = make_cfg(&c, false);
	struct keytable_key k[2];
	struct flows_stats st;
	uint8_t why;

	for (int i = 0; i < 2; i++) {
		keytable_key_ipv4(&k[i], addr4, (uint16_t)(7100 + i), KEYTABLE_DIR_OUT);
		add(x, &k[i], (uint8_t)i);
	}
	for (uint32_t ssrc = 1; ssrc <= 4; ssrc++)
		assert_non_null(commit_out(x, &k[0], ssrc, 0, &why));
	assert_null(resolve1(x, &k[0], 5, &why));
	assert_int_equal(why, FLOWS_FULL);
	assert_non_null(commit_out(x, &k[1], 5, 1, &why));   /* another flow: room */
	flows_get_stats(x->f, &st);
	assert_int_equal(st.streams, 5);
	destroy(x);
}

static uint64_t xs_state = 0x9e3779b97f4a7c15u;
static uint32_t xs(void)
{
	xs_state ^= xs_state << 13;
	xs_state ^= xs_state >> 7;
	xs_state ^= xs_state << 17;
	return (uint32_t)xs_state;
}

/* A sender of one SSRC under master seed, independent of the flows. */
struct sender {
	struct csrtp_key key;
	struct csrtp_stream tx;
	uint32_t ssrc;
	uint16_t seq;
};

static void sender_init(struct fx *x, struct sender *snd, uint8_t seed, uint32_t ssrc)
{
	struct keytable_master m;

	master(&m, seed, 0);
	assert_int_equal(csrtp_key_init(x->e, &snd->key, CSRTP_PROFILE_AEAD_AES_128_GCM, m.key,
					16, m.salt), 0);
	assert_int_equal(csrtp_stream_init(&snd->tx, &snd->key, 0, 0), 0);
	snd->ssrc = ssrc;
	snd->seq = 1000;
}

/* One RTP packet: from snd (protected, 60 bytes + tag) or, snd NULL, forged
 * (a random SSRC and random bytes where the tag goes). */
static uint32_t make_pkt(struct fx *x, uint8_t buf[128], struct sender *snd)
{
	uint32_t ssrc = snd ? snd->ssrc : xs();
	uint16_t seq = snd ? snd->seq++ : (uint16_t)xs();

	memset(buf, 0, 128);
	buf[0] = 0x80;
	buf[1] = 96;
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	for (int i = 0; i < 4; i++)
		buf[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
	if (snd == NULL) {
		for (int i = 12; i < 76; i++)
			buf[i] = (uint8_t)xs();
		return 76;
	}
	struct csrtp_pkt p = { .data = buf, .len = 60, .cap = 128, .stream = &snd->tx };
	assert_int_equal(csrtp_protect_burst(x->e, &p, 1), 1);
	return p.len;
}

/*
 * Issue 14: a flood of forged SRTP with random SSRCs, 4x max_streams, on a
 * keyed inbound flow, in bursts as the worker sees them (flows_resolve, then
 * csrtp_unprotect_burst). Throughout: an established stream keeps working;
 * a new SSRC whose packets arrive inside the flood bursts is accepted from
 * its first packet; no forged SSRC is committed; tentative streams stay
 * within their bounds; each burst's work (stream slots visited) is bounded,
 * far below the table (no whole-table sweep). After it: new SSRCs of the
 * same flow and of another are accepted.
 */
static void test_forged_flood(void **state)
{
	(void)state;
	const uint32_t max_streams = 1024;
	struct fx *x = make(4, max_streams);
	struct keytable_key k, k2, kb[KEYTABLE_BULK_MAX];
	struct flows_stats st;
	struct sender a, c;
	uint8_t buf[KEYTABLE_BULK_MAX][128];
	struct csrtp_pkt p[KEYTABLE_BULK_MAX];
	struct csrtp_stream *out[KEYTABLE_BULK_MAX];
	uint32_t ssrc[KEYTABLE_BULK_MAX];
	uint8_t why[KEYTABLE_BULK_MAX];
	uint64_t visits_max = 0;
	unsigned c_ok = 0, c_sent = 0, forged = 0;
	uint8_t c_first[128];
	uint32_t c_first_len = 0;

	keytable_key_ipv4(&k, addr4, 5010, KEYTABLE_DIR_IN);
	keytable_key_ipv4(&k2, addr4, 5012, KEYTABLE_DIR_IN);
	add(x, &k, 7);
	add(x, &k2, 9);
	for (int i = 0; i < (int)KEYTABLE_BULK_MAX; i++)
		kb[i] = k;
	/* the established stream: committed before the flood */
	sender_init(x, &a, 7, 0xaaaa0001);
	sender_init(x, &c, 7, 0xcccc0003);
	for (int i = 0; i < 3; i++) {
		uint32_t len = make_pkt(x, buf[0], &a);
		struct csrtp_stream *s = resolve1(x, &k, a.ssrc, why);
		assert_non_null(s);
		p[0] = (struct csrtp_pkt){ .data = buf[0], .len = len, .cap = 128, .stream = s };
		assert_int_equal(csrtp_unprotect_burst(x->e, p, 1), 1);
	}
	flows_get_stats(x->f, &st);
	assert_int_equal(st.streams, 1);

	const unsigned bursts = 4 * max_streams / KEYTABLE_BULK_MAX;
	for (unsigned b = 0; b < bursts; b++) {
		/* from burst 16 on, a packet of the new SSRC c in most bursts: its
		 * first at the end of a burst (every slot before it taken by
		 * forged SSRCs), none in the next (a whole burst of new forged
		 * SSRCs recycles every tentative slot of the flow), then its
		 * first packet again (a replay: its state must have been kept);
		 * and one of a every 8 bursts */
		int cpos = b == 16 ? 31 : b == 17 ? -1 : b == 18 ? 0 :
			   b > 18 && b % 4 != 3 ? (int)(xs() % 32) : -1;
		int apos = b % 8 == 5 ? (cpos == 7 ? 8 : 7) : -1;
		for (int i = 0; i < (int)KEYTABLE_BULK_MAX; i++) {
			struct sender *snd = i == cpos ? &c : i == apos ? &a : NULL;
			uint32_t len;
			if (b == 18 && i == cpos) {
				memcpy(buf[i], c_first, sizeof(c_first));
				len = c_first_len;
			} else {
				len = make_pkt(x, buf[i], snd);
			}
			if (b == 16 && i == cpos) {
				memcpy(c_first, buf[i], sizeof(c_first));
				c_first_len = len;
			}
			ssrc[i] = (uint32_t)buf[i][8] << 24 | (uint32_t)buf[i][9] << 16 |
				  (uint32_t)buf[i][10] << 8 | buf[i][11];
			p[i] = (struct csrtp_pkt){ .data = buf[i], .len = len, .cap = 128 };
		}
		flows_get_stats(x->f, &st);
		uint64_t v0 = st.visits;
		flows_resolve(x->f, kb, ssrc, KEYTABLE_BULK_MAX, out, why, NULL, 0);
		flows_get_stats(x->f, &st);
		if (st.visits - v0 > visits_max)
			visits_max = st.visits - v0;
		for (int i = 0; i < (int)KEYTABLE_BULK_MAX; i++) {
			assert_non_null(out[i]);        /* every packet got a stream */
			p[i].stream = out[i];
		}
		csrtp_unprotect_burst(x->e, p, KEYTABLE_BULK_MAX);
		for (int i = 0; i < (int)KEYTABLE_BULK_MAX; i++) {
			if (i == apos) {
				assert_int_equal(p[i].status, CSRTP_OK);
			} else if (b == 18 && i == cpos) {
				assert_int_equal(p[i].status, CSRTP_ERR_REPLAY);
			} else if (i == cpos) {
				c_sent++;
				c_ok += p[i].status == CSRTP_OK;
			} else {
				assert_int_equal(p[i].status, CSRTP_ERR_AUTH);
				assert_false(flows_stream_verified(out[i]));
				forged++;
			}
		}
		/* occupancy: nothing forged is committed, tentative streams
		 * within the flow's and the pool's bounds */
		assert_true(st.streams <= 2);
		assert_true(st.tentative <= FLOWS_FLOW_TENTATIVE + 1);
		assert_true(st.tentative <= st.max_tentative);
	}
	assert_int_equal(c_ok, c_sent);                 /* every packet of c */
	assert_true(c_sent > bursts / 2);
	flows_get_stats(x->f, &st);
	assert_int_equal(st.streams, 2);                /* a and c */
	assert_true(forged > 3 * max_streams);
	assert_true(st.evictions >= forged - FLOWS_FLOW_TENTATIVE);
	/* per-packet work: a whole-table sweep would visit 2 x max_streams
	 * slots for one packet; a burst of 32 stays within 8 per packet */
	assert_true(visits_max <= 8 * KEYTABLE_BULK_MAX);

	/* after the flood: new SSRCs of the flow and of another flow */
	for (uint16_t seq = 1; seq <= 5; seq++) {
		assert_true(deliver(x, &k, 0xbbbb0002, seq, 7, 0));
		assert_true(deliver(x, &k2, 0xdddd0004, seq, 9, 0));
	}
	uint32_t len = make_pkt(x, buf[0], &a);
	struct csrtp_stream *s = resolve1(x, &k, a.ssrc, why);
	p[0] = (struct csrtp_pkt){ .data = buf[0], .len = len, .cap = 128, .stream = s };
	assert_int_equal(csrtp_unprotect_burst(x->e, p, 1), 1);
	flows_get_stats(x->f, &st);
	assert_int_equal(st.streams, 4);
	csrtp_key_wipe(&a.key);
	csrtp_key_wipe(&c.key);
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
	flows_resolve(x->f, k, ssrc, KEYTABLE_BULK_MAX, out, why, NULL, 0);
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

static uint64_t created_ns(struct fx *x, const struct keytable_key *k)
{
	struct keytable_entry en;
	assert_int_equal(keytable_get(x->r, k, &en, NULL), 0);
	return en.created_ns;
}

/* The statistics rows mirror the flow slots: a row assigned for a new flow
 * and found by a reader through the flows' probe, its generation following
 * the entry's, kept across a rekey, started over for another instance of
 * the entry (deleted and added again), taken over with a slot. */
static void test_stats_rows(void **state)
{
	(void)state;
	struct fx *x = make_x(4, 16, true);
	struct keytable_key k, k2[8], nokey;
	struct keytable_master m;
	struct dpstats_flow *row = NULL, *row2 = NULL, out;
	uint64_t gen, c1, c2;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&nokey, addr4, 5006, KEYTABLE_DIR_OUT);
	assert_int_equal(dpstats_read_flow(x->reader, &k, 0, &out), -ENOENT);
	assert_null(resolve_row(x, &nokey, 1, 100, &row));
	assert_null(row);                              /* no entry: no row */
	add(x, &k, 7);
	c1 = created_ns(x, &k);
	assert_non_null(resolve_row(x, &k, 1, 1000, &row));
	assert_non_null(row);
	assert_memory_equal(&row->key, &k, sizeof(k));
	row->packets = 5;                              /* as the worker counts */
	row->bytes = 860;
	assert_int_equal(dpstats_read_flow(x->reader, &k, c1, &out), 0);
	assert_int_equal(out.seq, 1);
	assert_int_equal(out.packets, 5);
	assert_int_equal(out.bytes, 860);
	assert_int_equal(out.entry_created_ns, c1);
	assert_int_equal(out.since_ns, 1000);
	gen = out.generation;
	assert_true(gen > 0);
	/* the same row for another SSRC of the flow */
	assert_non_null(resolve_row(x, &k, 2, 1100, &row2));
	assert_ptr_equal(row2, row);

	/* a rekey: the same instance, the row kept, its generation followed */
	master(&m, 20, 0);
	assert_int_equal(keytable_replace(x->w, &k, &m, &gen), 0);
	assert_non_null(resolve_row(x, &k, 1, 2000, &row2));
	assert_ptr_equal(row2, row);
	assert_int_equal(dpstats_read_flow(x->reader, &k, c1, &out), 0);
	assert_int_equal(out.packets, 5);
	assert_int_equal(out.generation, gen);
	assert_int_equal(out.since_ns, 1000);

	/* deleted: no row to count into; the old counters stay readable */
	assert_int_equal(keytable_delete(x->w, &k), 0);
	assert_null(resolve_row(x, &k, 1, 3000, &row2));
	assert_null(row2);
	assert_int_equal(dpstats_read_flow(x->reader, &k, c1, &out), 0);
	assert_int_equal(out.packets, 5);
	/* added again (a new call on the port): another created_ns, the row
	 * starts over for the new instance */
	do
		add(x, &k, 9);
	while ((c2 = created_ns(x, &k)) == c1 && keytable_delete(x->w, &k) == 0);
	assert_non_null(resolve_row(x, &k, 1, 4000, &row2));
	assert_ptr_equal(row2, row);
	assert_int_equal(dpstats_read_flow(x->reader, &k, c1, &out), -ENOENT);
	assert_int_equal(dpstats_read_flow(x->reader, &k, c2, &out), 0);
	assert_int_equal(out.packets, 0);
	assert_int_equal(out.bytes, 0);
	assert_int_equal(out.since_ns, 4000);
	assert_true(out.generation > gen);

	/* many keys through a small table (16 rows), flows deleted and their
	 * slots taken over: every live key's row is where a reader's probe
	 * finds it, with its own instance */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 3; i++) {
			uint8_t a[4] = { 10, 9, (uint8_t)round, (uint8_t)i };
			keytable_key_ipv4(&k2[i], a, (uint16_t)(6000 + i), KEYTABLE_DIR_IN);
			add(x, &k2[i], (uint8_t)(30 + i));
			assert_non_null(resolve_row(x, &k2[i], 1, 5000, &row2));
			assert_non_null(row2);
			row2->packets = 100u * (unsigned)round + (unsigned)i;
		}
		for (int i = 0; i < 3; i++) {
			assert_int_equal(dpstats_read_flow(x->reader, &k2[i], created_ns(x, &k2[i]),
							   &out), 0);
			assert_int_equal(out.packets, 100u * (unsigned)round + (unsigned)i);
		}
		for (int i = 0; i < 3; i++) {
			assert_int_equal(keytable_delete(x->w, &k2[i]), 0);
			assert_null(resolve_row(x, &k2[i], 1, 6000, &row2));
		}
	}
	destroy(x);
}

/* ---- restarts (resume.h) ------------------------------------------------------ */

static void resume_path(const struct fx *x, char *path, size_t n)
{
	snprintf(path, n, "/dev/shm/callseal.%s" RESUME_SUFFIX, x->name);
}

/* Open the resume object for x's table as a starting dataplane does and give
 * f its rows. */
static struct resume *resume_start(struct fx *x, struct flows *f, const struct flows_cfg *c,
				   struct resume_report *rep)
{
	struct resume *r;
	char err[512];

	assert_int_equal(resume_open(&r, x->name, x->r, 1, flows_resume_rows(c), rep, err,
				     sizeof(err)), 0);
	flows_set_resume(f, r, resume_rows(r, 0));
	return r;
}

/* Protect RTP seq through s and store its indexes as the worker does before
 * sending (flows_persist); the status. The packet, if protected, verifies
 * under an independent receiver at ROC roc (asserted). */
static int seal(struct fx *x, struct flows *f, struct csrtp_stream *s, uint16_t seq,
		uint8_t seed, uint32_t roc)
{
	uint8_t buf[128] = { 0x80, 96, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 1,
			     0xde, 0xad, 0xbe, 0xef };
	struct csrtp_pkt p = { .data = buf, .len = 60, .cap = sizeof(buf), .stream = s };
	csrtp_protect_burst(x->e, &p, 1);
	flows_persist(f, &p, 1);
	if (p.status != CSRTP_OK)
		return p.status;
	assert_true(indep_verify(x, buf, p.len, seed, roc));
	return CSRTP_OK;
}

/* An independent sender's SRTP packets of ssrc, seq from..from+n-1 at ROC 0. */
static void srtp_packets(struct fx *x, uint8_t seed, uint32_t ssrc, uint16_t from, unsigned n,
			 uint8_t buf[][128], uint32_t len[])
{
	struct keytable_master m;
	struct csrtp_key key;
	struct csrtp_stream tx;

	master(&m, seed, 0);
	assert_int_equal(csrtp_key_init(x->e, &key, CSRTP_PROFILE_AEAD_AES_128_GCM, m.key, 16,
					m.salt), 0);
	assert_int_equal(csrtp_stream_init(&tx, &key, 0, 0), 0);
	for (unsigned i = 0; i < n; i++) {
		uint16_t seq = (uint16_t)(from + i);
		uint8_t h[12] = { 0x80, 96, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 1,
				  (uint8_t)(ssrc >> 24), (uint8_t)(ssrc >> 16),
				  (uint8_t)(ssrc >> 8), (uint8_t)ssrc };
		memset(buf[i], 0x5a, 128);
		memcpy(buf[i], h, sizeof(h));
		struct csrtp_pkt p = { .data = buf[i], .len = 60, .cap = 128, .stream = &tx };
		assert_int_equal(csrtp_protect_burst(x->e, &p, 1), 1);
		len[i] = p.len;
	}
	csrtp_key_wipe(&key);
}

/* Unprotect a copy of packet buf through the flows' stream of ssrc on k,
 * storing its indexes (flows_persist); the status. */
static int accept_copy(struct fx *x, struct flows *f, const struct keytable_key *k,
		       uint32_t ssrc, const uint8_t *buf, uint32_t len)
{
	uint8_t copy[128];
	struct csrtp_stream *s;
	uint8_t why;

	memcpy(copy, buf, sizeof(copy));
	flows_resolve(f, k, &ssrc, 1, &s, &why, NULL, 0);
	assert_non_null(s);
	struct csrtp_pkt p = { .data = copy, .len = len, .cap = sizeof(copy), .stream = s };
	csrtp_unprotect_burst(x->e, &p, 1);
	flows_persist(f, &p, 1);
	return p.status;
}

/*
 * kill -9 and start again: a dataplane's flows store each stream's indexes
 * (resume rows); the next one, opened on what they left, goes on where they
 * stopped. The sender, past a 2^16 wrap, goes on at ROC 1 (an independent
 * receiver at ROC 1 verifies) and refuses an index it protected before; the
 * receiver refuses a replay of a packet accepted before the restart (a fresh
 * stream, without the resume, accepts it: shown too) and accepts the next.
 * An entry deleted and added again is not resumed; a stream not seen since a
 * start is carried to the next; a damaged object is refused, with what to do,
 * and left as it was.
 */
static void test_restart(void **state)
{
	(void)state;
	struct flows_cfg c = { .max_flows = 16, .max_streams = 64 };
	struct fx *x = make_cfg(&c, false);
	struct keytable_key kout, kin;
	struct resume_report rep;
	char path[128], err[512];
	uint8_t pk[12][128], why;
	uint32_t len[12];
	const uint32_t s_out = 0x1111, s_in = 0x2222;

	resume_path(x, path, sizeof(path));
	unlink(path);
	keytable_key_ipv4(&kout, addr4, 5004, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&kin, addr4, 5006, KEYTABLE_DIR_IN);
	add(x, &kout, 40);
	add(x, &kin, 41);

	/* the first dataplane: nothing to resume */
	struct resume *r = resume_start(x, x->f, &c, &rep);
	assert_false(rep.had_old);
	assert_int_equal(rep.carried, 0);
	struct csrtp_stream *s = resolve1(x, &kout, s_out, &why);
	assert_non_null(s);
	for (uint32_t i = 0; i < 12; i++)            /* 65530 ... 65535, 0 ... 5 */
		assert_int_equal(seal(x, x->f, s, (uint16_t)(65530 + i), 40, i < 6 ? 0 : 1),
				 CSRTP_OK);
	srtp_packets(x, 41, s_in, 100, 12, pk, len);
	for (unsigned i = 0; i < 11; i++)            /* 100 ... 110 accepted */
		assert_int_equal(accept_copy(x, x->f, &kin, s_in, pk[i], len[i]), CSRTP_OK);

	/* killed: nothing more runs in it; its rows are all that is left */
	resume_close(r);
	struct flows *f2 = flows_create(x->e, x->r, &c, NULL);
	assert_non_null(f2);
	r = resume_start(x, f2, &c, &rep);
	assert_true(rep.had_old);
	assert_int_equal(rep.carried, 2);
	assert_int_equal(rep.dropped, 0);
	uint32_t ssrc = s_out;
	flows_resolve(f2, &kout, &ssrc, 1, &s, &why, NULL, 0);
	assert_non_null(s);
	assert_int_equal(csrtp_stream_roc(s), 1);
	assert_int_equal(seal(x, f2, s, 6, 40, 1), CSRTP_OK);       /* ROC 1 goes on */
	assert_int_equal(seal(x, f2, s, 5, 40, 1), CSRTP_ERR_INDEX_REUSE);
	assert_int_equal(seal(x, f2, s, 65535, 40, 0), CSRTP_ERR_INDEX_REUSE);
	assert_int_equal(accept_copy(x, f2, &kin, s_in, pk[5], len[5]), CSRTP_ERR_REPLAY);
	assert_int_equal(accept_copy(x, f2, &kin, s_in, pk[10], len[10]), CSRTP_ERR_REPLAY);
	assert_int_equal(accept_copy(x, f2, &kin, s_in, pk[11], len[11]), CSRTP_OK);

	/* what the resume prevents: a fresh stream accepts the replay */
	struct flows *bare = flows_create(x->e, x->r, &c, NULL);
	assert_non_null(bare);
	assert_int_equal(accept_copy(x, bare, &kin, s_in, pk[5], len[5]), CSRTP_OK);
	flows_destroy(bare);

	/* the inbound entry deleted and added again (a new call on the port):
	 * its stream is not resumed; the outbound one, seen since, goes on */
	resume_close(r);
	flows_destroy(f2);
	assert_int_equal(keytable_delete(x->w, &kin), 0);
	add(x, &kin, 41);
	struct flows *f3 = flows_create(x->e, x->r, &c, NULL);
	assert_non_null(f3);
	r = resume_start(x, f3, &c, &rep);
	assert_int_equal(rep.carried, 1);
	assert_int_equal(rep.dropped, 1);
	assert_int_equal(accept_copy(x, f3, &kin, s_in, pk[5], len[5]), CSRTP_OK);

	/* a start that sees the outbound stream no more carries it on */
	resume_close(r);
	flows_destroy(f3);
	struct flows *f4 = flows_create(x->e, x->r, &c, NULL);
	assert_non_null(f4);
	r = resume_start(x, f4, &c, &rep);
	assert_int_equal(rep.carried, 2);            /* kout's, carried; kin's, new */
	ssrc = s_out;
	flows_resolve(f4, &kout, &ssrc, 1, &s, &why, NULL, 0);
	assert_non_null(s);
	assert_int_equal(seal(x, f4, s, 6, 40, 1), CSRTP_ERR_INDEX_REUSE);
	assert_int_equal(seal(x, f4, s, 7, 40, 1), CSRTP_OK);
	resume_close(r);
	flows_destroy(f4);

	/* damaged: refused with what to do, left as it was */
	FILE *fp = fopen(path, "r+");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 8, SEEK_SET), 0);
	assert_int_equal(fputc(99, fp), 99);           /* the version */
	fclose(fp);
	struct stat st0, st1;
	assert_int_equal(stat(path, &st0), 0);
	assert_int_equal(resume_open(&r, x->name, x->r, 1, flows_resume_rows(&c), &rep, err,
				     sizeof(err)), -EPROTO);
	assert_null(r);
	assert_non_null(strstr(err, "another version"));
	assert_non_null(strstr(err, "remove"));
	assert_int_equal(stat(path, &st1), 0);
	assert_true(st0.st_ino == st1.st_ino && st0.st_mtime == st1.st_mtime);
	unlink(path);
	destroy(x);
}

/* Restart once more: close r and f, open a new flows and resume on what they
 * left. */
static struct flows *restart(struct fx *x, struct flows *f, struct resume **r,
			     const struct flows_cfg *c, struct resume_report *rep)
{
	resume_close(*r);
	if (f != x->f)
		flows_destroy(f);
	struct flows *n = flows_create(x->e, x->r, c, NULL);
	assert_non_null(n);
	*r = resume_start(x, n, c, rep);
	return n;
}

/*
 * The resume's hard cases (review of the first version, each seen to fail
 * before its fix):
 *  - a receiver that had switched to its pending (on-auth) key before the
 *    restart: which key it was on is not saved, and the restored stream is on
 *    the entry's current key with the next one pending; a replayed packet
 *    under that next key, at an index accepted before, must not get through
 *    the pending key's "sender started over" switch (the stream's floor);
 *  - a sender rekeyed (key replaced) that then protected lower indexes under
 *    its new key (an application that reused them): the rows of the later
 *    lineage win over the carried resume point of the earlier restart, so
 *    those indexes are not protected again after the next restart;
 *  - a stream on a wildcard entry (any local address on the port) is
 *    resumed, not dropped as gone.
 */
static void test_restart_rekeys(void **state)
{
	(void)state;
	struct flows_cfg c = { .max_flows = 16, .max_streams = 64 };
	struct fx *x = make_cfg(&c, false);
	struct keytable_key kin, kout, kany, kexact;
	struct keytable_master m;
	struct resume_report rep;
	char path[128];
	uint8_t k1[12][128], k2[12][128], why;
	uint32_t l1[12], l2[12], ssrc;
	const uint32_t s_in = 0x3333, s_out = 0x4444, s_any = 0x5555;
	struct csrtp_stream *s;

	resume_path(x, path, sizeof(path));
	unlink(path);
	keytable_key_ipv4(&kin, addr4, 5006, KEYTABLE_DIR_IN);
	keytable_key_ipv4(&kout, addr4, 5004, KEYTABLE_DIR_OUT);
	keytable_key_any(&kany, 5008, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&kexact, addr4, 5008, KEYTABLE_DIR_OUT);
	add(x, &kin, 50);
	add(x, &kout, 60);
	add(x, &kany, 70);
	struct resume *r = resume_start(x, x->f, &c, &rep);

	/* the receiver: K1 (seed 50) for 100..104, then the sender moves to
	 * K2 (seed 51, on auth) for 105..110: the stream switches */
	master(&m, 51, 0);
	assert_int_equal(keytable_schedule(x->w, &kin, &m, KEYTABLE_FROM_ON_AUTH, NULL), 0);
	srtp_packets(x, 50, s_in, 100, 12, k1, l1);
	srtp_packets(x, 51, s_in, 100, 12, k2, l2);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(accept_copy(x, x->f, &kin, s_in, k1[i], l1[i]), CSRTP_OK);
	for (unsigned i = 5; i < 11; i++)
		assert_int_equal(accept_copy(x, x->f, &kin, s_in, k2[i], l2[i]), CSRTP_OK);

	/* the sender: 1000 ... 1009 under K3 (seed 60), then its key replaced
	 * by K4 (seed 61): a new lineage, its window fresh (resume point 1009) */
	ssrc = s_out;
	flows_resolve(x->f, &kout, &ssrc, 1, &s, &why, NULL, 0);
	for (uint16_t q = 1000; q < 1010; q++)
		assert_int_equal(seal(x, x->f, s, q, 60, 0), CSRTP_OK);
	master(&m, 61, 0);
	assert_int_equal(keytable_replace(x->w, &kout, &m, NULL), 0);
	flows_resolve(x->f, &kout, &ssrc, 1, &s, &why, NULL, 0);
	/* a burst whose one packet failed (too short) is stored too: the
	 * stream's resume point under K4, nothing protected under it yet */
	uint8_t runt[8] = { 0x80 };
	struct csrtp_pkt bad = { .data = runt, .len = sizeof(runt), .cap = sizeof(runt), .stream = s };
	csrtp_protect_burst(x->e, &bad, 1);
	assert_int_not_equal(bad.status, CSRTP_OK);
	flows_persist(x->f, &bad, 1);

	/* the wildcard entry's stream, found by the packet's own address */
	ssrc = s_any;
	flows_resolve(x->f, &kexact, &ssrc, 1, &s, &why, NULL, 0);
	assert_non_null(s);
	for (uint16_t q = 65534; q != 2; q++)        /* 65534, 65535, 0, 1 */
		assert_int_equal(seal(x, x->f, s, q, 70, q >= 65534 ? 0 : 1), CSRTP_OK);

	/* restart 1 */
	struct flows *f = restart(x, x->f, &r, &c, &rep);
	assert_int_equal(rep.carried, 3);
	assert_int_equal(rep.dropped, 0);             /* the wildcard's stream too */
	/* a replay of a K2 packet accepted before: refused, not a switch */
	assert_int_equal(accept_copy(x, f, &kin, s_in, k2[7], l2[7]), CSRTP_ERR_REPLAY);
	assert_int_equal(accept_copy(x, f, &kin, s_in, k2[10], l2[10]), CSRTP_ERR_REPLAY);
	assert_int_equal(accept_copy(x, f, &kin, s_in, k2[11], l2[11]), CSRTP_OK);
	assert_int_equal(accept_copy(x, f, &kin, s_in, k2[11], l2[11]), CSRTP_ERR_REPLAY);
	/* the wildcard's stream goes on at ROC 1 */
	ssrc = s_any;
	flows_resolve(f, &kexact, &ssrc, 1, &s, &why, NULL, 0);
	assert_non_null(s);
	assert_int_equal(seal(x, f, s, 1, 70, 1), CSRTP_ERR_INDEX_REUSE);
	assert_int_equal(seal(x, f, s, 2, 70, 1), CSRTP_OK);
	/* the sender under K4: the application goes back to 5 ... 20 (its
	 * indexes were never used under K4) */
	ssrc = s_out;
	flows_resolve(f, &kout, &ssrc, 1, &s, &why, NULL, 0);
	for (uint16_t q = 5; q <= 20; q++)
		assert_int_equal(seal(x, f, s, q, 61, 0), CSRTP_OK);

	/* restart 2: the window under K4 (top 20) beats the carried resume
	 * point 1009 of the same lineage: 5 ... 20 are not protected again */
	f = restart(x, f, &r, &c, &rep);
	ssrc = s_out;
	flows_resolve(f, &kout, &ssrc, 1, &s, &why, NULL, 0);
	assert_int_equal(seal(x, f, s, 5, 61, 0), CSRTP_ERR_INDEX_REUSE);
	assert_int_equal(seal(x, f, s, 20, 61, 0), CSRTP_ERR_INDEX_REUSE);
	assert_int_equal(seal(x, f, s, 21, 61, 0), CSRTP_OK);
	resume_close(r);
	flows_destroy(f);
	unlink(path);
	destroy(x);
}

/* ---- per-entry validity (issue 17) ---------------------------------------- */

static struct flows_stats stats_of(struct fx *x)
{
	struct flows_stats st;
	flows_get_stats(x->f, &st);
	return st;
}

/* Another entry's add, replace and delete do not make a flow look its own
 * entry up again: one line of the table (its reference) proves it current. */
static void test_unrelated_change_keeps_flow(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k, other, third;
	struct keytable_master m;
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&other, addr4, 5006, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&third, addr4, 5008, KEYTABLE_DIR_IN);
	add(x, &k, 7);
	add(x, &other, 8);
	struct csrtp_stream *s = commit_out(x, &k, 1, 7, &why);
	assert_true(roundtrip(x, s, 100, 7, 0));
	struct flows_stats a = stats_of(x);
	assert_int_equal(a.lookups, 1);

	add(x, &third, 9);                            /* unrelated add */
	assert_ptr_equal(resolve1(x, &k, 1, &why), s);
	master(&m, 10, 0);                            /* unrelated replace */
	assert_int_equal(keytable_replace(x->w, &other, &m, NULL), 0);
	assert_ptr_equal(resolve1(x, &k, 1, &why), s);
	assert_int_equal(keytable_delete(x->w, &third), 0);  /* unrelated delete */
	assert_ptr_equal(resolve1(x, &k, 1, &why), s);
	assert_true(roundtrip(x, s, 101, 7, 0));
	struct flows_stats b = stats_of(x);
	assert_int_equal(b.lookups, a.lookups);       /* never looked up again */
	assert_int_equal(b.expansions, a.expansions);
	assert_int_equal(b.ref_checks, a.ref_checks + 3);
	/* the table unchanged: not even the reference is read */
	assert_ptr_equal(resolve1(x, &k, 1, &why), s);
	assert_int_equal(stats_of(x).ref_checks, b.ref_checks);
	destroy(x);
}

/* A change to the flow's own entry is looked up and applied at once: a
 * replaced key is never used again, a deleted entry's flow stops. */
static void test_own_change_looked_up(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k, other;
	struct keytable_master m;
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&other, addr4, 5006, KEYTABLE_DIR_OUT);
	add(x, &k, 7);
	add(x, &other, 8);
	struct csrtp_stream *s = resolve1(x, &k, 1, &why);
	assert_true(roundtrip(x, s, 100, 7, 0));
	struct flows_stats a = stats_of(x);

	master(&m, 11, 0);
	assert_int_equal(keytable_replace(x->w, &k, &m, NULL), 0);
	s = resolve1(x, &k, 1, &why);
	assert_non_null(s);
	struct flows_stats b = stats_of(x);
	assert_int_equal(b.lookups, a.lookups + 1);
	assert_int_equal(b.expansions, a.expansions + 1);
	assert_true(roundtrip(x, s, 101, 11, 0));     /* the new key, at once */
	assert_false(roundtrip(x, s, 102, 7, 0));     /* never the old one */

	assert_int_equal(keytable_delete(x->w, &k), 0);
	assert_null(resolve1(x, &k, 1, &why));        /* the next look-up stops it */
	assert_int_equal(why, FLOWS_NO_KEY);
	assert_int_equal(stats_of(x).flows, 0);       /* wiped, and no flow for other */
	destroy(x);
}

/* Two keys whose entries share a home slot in x's table. */
static void colliding_keys(struct fx *x, struct keytable_key *a, struct keytable_key *b)
{
	struct keytable_info info;
	keytable_info(x->r, &info);
	keytable_key_ipv4(a, addr4, 7000, KEYTABLE_DIR_OUT);
	uint64_t home = keytable_hash(a) & (info.slots - 1);
	for (uint16_t p = 7001; p < 65000; p++) {
		keytable_key_ipv4(b, addr4, p, KEYTABLE_DIR_OUT);
		if ((keytable_hash(b) & (info.slots - 1)) == home)
			return;
	}
	fail_msg("no two ports share a home slot");
}

/* A delete's backward shift moves another entry to another slot: its flow's
 * reference no longer holds, so it is looked up again, found at the same
 * generation (nothing expanded, its stream goes on), and its new slot is
 * the reference from then on. */
static void test_delete_shift_moves_ref(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key a, b, c;
	uint8_t why;

	colliding_keys(x, &a, &b);
	keytable_key_ipv4(&c, addr4, 5010, KEYTABLE_DIR_IN);
	add(x, &a, 3);
	add(x, &b, 4);                                /* a's home is taken: b after it */
	struct csrtp_stream *s = commit_out(x, &b, 1, 4, &why);
	assert_true(roundtrip(x, s, 10, 4, 0));
	struct flows_stats s0 = stats_of(x);

	assert_int_equal(keytable_delete(x->w, &a), 0);  /* b shifts into a's slot */
	assert_ptr_equal(resolve1(x, &b, 1, &why), s);
	struct flows_stats s1 = stats_of(x);
	assert_int_equal(s1.lookups, s0.lookups + 1);
	assert_int_equal(s1.expansions, s0.expansions);
	assert_true(roundtrip(x, s, 11, 4, 0));       /* the same stream goes on */

	add(x, &c, 5);                                /* unrelated: the new slot holds */
	assert_ptr_equal(resolve1(x, &b, 1, &why), s);
	assert_int_equal(stats_of(x).lookups, s1.lookups);
	destroy(x);
}

/* The sweep checks, after a change, only the flows no packet has checked
 * since: a flow in use costs it nothing. */
static void test_sweep_skips_checked_flows(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k1, k2, k3;
	uint8_t why;

	keytable_key_ipv4(&k1, addr4, 5004, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&k2, addr4, 5006, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&k3, addr4, 5008, KEYTABLE_DIR_OUT);
	add(x, &k1, 7);
	add(x, &k2, 9);
	assert_non_null(resolve1(x, &k1, 1, &why));
	assert_non_null(resolve1(x, &k2, 1, &why));
	for (int i = 0; i < 100; i++)
		flows_sweep(x->f);
	assert_false(stats_of(x).sweep_pending);
	add(x, &k3, 5);                               /* a change: a pass is due */
	assert_true(stats_of(x).sweep_pending);
	assert_non_null(resolve1(x, &k1, 1, &why));   /* k1 checked by its packet */
	uint64_t rc = stats_of(x).ref_checks;
	for (int i = 0; i < 100; i++)
		assert_int_equal(flows_sweep(x->f), 0);
	assert_false(stats_of(x).sweep_pending);
	assert_int_equal(stats_of(x).ref_checks, rc + 1);  /* k2 only */
	assert_int_equal(stats_of(x).lookups, 2);
	destroy(x);
}

/* A flow found through a wildcard entry: an exact entry added later for its
 * address takes over at the next packet (the wildcard's reference alone
 * would still hold). */
static void test_exact_entry_overrides_wildcard(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key any, k;
	uint8_t why;

	keytable_key_any(&any, 6000, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&k, addr4, 6000, KEYTABLE_DIR_OUT);
	add(x, &any, 3);
	struct csrtp_stream *s = resolve1(x, &k, 5, &why);
	assert_true(roundtrip(x, s, 1, 3, 0));
	add(x, &k, 4);
	s = resolve1(x, &k, 5, &why);
	assert_non_null(s);
	assert_true(roundtrip(x, s, 2, 4, 0));        /* the exact entry's key */
	assert_int_equal(keytable_delete(x->w, &k), 0);
	s = resolve1(x, &k, 5, &why);                 /* back to the wildcard */
	assert_non_null(s);
	assert_true(roundtrip(x, s, 3, 3, 0));
	destroy(x);
}

/* Sweep passes until none is due; the flows they dropped. */
static unsigned sweep_all(struct fx *x)
{
	unsigned dropped = 0;
	for (int i = 0; i < 100000 && stats_of(x).sweep_pending; i++)
		dropped += flows_sweep(x->f);
	assert_false(stats_of(x).sweep_pending);
	return dropped;
}

/* An idle flow whose entry a delete's shift moved: the sweep looks it up
 * once and keeps its new slot as the reference, so the next pass checks one
 * line (no look-up), and so does its next packet. */
static void test_sweep_stores_moved_ref(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key a, b, c;
	uint8_t why;

	colliding_keys(x, &a, &b);
	keytable_key_ipv4(&c, addr4, 5010, KEYTABLE_DIR_IN);
	add(x, &a, 3);
	add(x, &b, 4);                                /* a's home is taken: b after it */
	struct csrtp_stream *s = commit_out(x, &b, 1, 4, &why);
	sweep_all(x);
	struct flows_stats s0 = stats_of(x);

	assert_int_equal(keytable_delete(x->w, &a), 0);  /* b shifts into a's slot */
	assert_int_equal(sweep_all(x), 0);
	struct flows_stats s1 = stats_of(x);
	assert_int_equal(s1.lookups, s0.lookups + 1);    /* found moved */
	assert_int_equal(s1.expansions, s0.expansions);

	add(x, &c, 5);                                /* unrelated: the new slot holds */
	assert_int_equal(sweep_all(x), 0);
	struct flows_stats s2 = stats_of(x);
	assert_int_equal(s2.lookups, s1.lookups);     /* not looked up again */
	assert_int_equal(s2.ref_checks, s1.ref_checks + 1);
	assert_ptr_equal(resolve1(x, &b, 1, &why), s);
	assert_int_equal(stats_of(x).lookups, s1.lookups);
	assert_true(roundtrip(x, s, 10, 4, 0));
	destroy(x);
}

/* The sweep leaves no key an entry no longer holds in an idle flow: an
 * entry deleted and added again drops the flow (its keys wiped), a replaced
 * one is applied (the old key wiped, the stream goes on under the new one),
 * and a wildcard flow whose wildcard went while an exact entry exists is
 * dropped. */
static void test_sweep_wipes_replaced(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k, any, w;
	struct keytable_master m;
	static const uint8_t zero[sizeof(struct csrtp_key)];
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	add(x, &k, 7);
	struct csrtp_stream *s = commit_out(x, &k, 1, 7, &why);
	const struct csrtp_key *k7 = s->key;
	sweep_all(x);

	/* replaced: applied by the sweep, no packet needed */
	master(&m, 11, 0);
	assert_int_equal(keytable_replace(x->w, &k, &m, NULL), 0);
	uint64_t exp0 = stats_of(x).expansions;
	assert_int_equal(sweep_all(x), 0);
	assert_int_equal(stats_of(x).flows, 1);
	assert_int_equal(stats_of(x).expansions, exp0 + 1);
	assert_memory_equal(k7, zero, sizeof(zero));  /* the old key wiped */
	uint64_t lk = stats_of(x).lookups;
	assert_ptr_equal(resolve1(x, &k, 1, &why), s);
	assert_int_equal(stats_of(x).lookups, lk);     /* the sweep's answer holds */
	assert_true(roundtrip(x, s, 20, 11, 0));
	const struct csrtp_key *k11 = s->key;

	/* deleted and added again between two polls: another instance */
	assert_int_equal(keytable_delete(x->w, &k), 0);
	add(x, &k, 9);
	assert_int_equal(sweep_all(x), 1);
	assert_int_equal(stats_of(x).flows, 0);
	assert_memory_equal(k11, zero, sizeof(zero));

	/* a wildcard flow, its wildcard deleted while an exact entry exists */
	keytable_key_any(&any, 6000, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&w, addr4, 6000, KEYTABLE_DIR_OUT);
	add(x, &any, 3);
	s = resolve1(x, &w, 5, &why);
	assert_true(roundtrip(x, s, 1, 3, 0));
	const struct csrtp_key *k3 = s->key;
	add(x, &w, 4);
	assert_int_equal(sweep_all(x), 0);            /* the wildcard still stands */
	assert_int_equal(keytable_delete(x->w, &any), 0);
	assert_int_equal(sweep_all(x), 1);
	assert_int_equal(stats_of(x).flows, 0);
	assert_memory_equal(k3, zero, sizeof(zero));
	s = resolve1(x, &w, 5, &why);                 /* the exact entry from now on */
	assert_true(roundtrip(x, s, 2, 4, 0));
	destroy(x);
}

/* The slot of k's entry in x's table. */
static uint32_t slot_of(struct fx *x, const struct keytable_key *k)
{
	struct keytable_entry en;
	struct keytable_ref ref;

	assert_int_equal(keytable_get(x->r, k, &en, &ref), 0);
	explicit_bzero(&en, sizeof(en));
	return ref.slot;
}

/* Set the seqlock counter of a slot odd (a writer mid-write) or back. */
static void slot_seq(struct fx *x, uint32_t slot, bool odd)
{
	char path[128];
	struct stat sb;

	snprintf(path, sizeof(path), "/dev/shm/callseal.%s", x->name);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	uint8_t *base = mmap(NULL, (size_t)sb.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	assert_true(base != MAP_FAILED);
	uint64_t *seq = (uint64_t *)(void *)(base + KEYTABLE_HEADER_SIZE +
					     (size_t)slot * KEYTABLE_ENTRY_SIZE);
	uint64_t q = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
	__atomic_store_n(seq, odd ? q | 1 : q & ~(uint64_t)1, __ATOMIC_RELEASE);
	munmap(base, (size_t)sb.st_size);
}

static struct csrtp_stream *resolve_at(struct fx *x, const struct keytable_key *k,
				       uint32_t ssrc, uint64_t now, uint8_t *why)
{
	struct csrtp_stream *s;
	flows_resolve(x->f, k, &ssrc, 1, &s, why, NULL, now);
	return s;
}

/* An entry stuck mid-write (a writer died in it): its flow's keys serve for
 * FLOWS_BUSY_NS from the first busy answer, then its packets are refused
 * until the entry answers again. */
static void test_busy_bounded(void **state)
{
	(void)state;
	struct fx *x = make(16, 16);
	struct keytable_key k, other;
	const uint64_t t0 = 1000000000000ull;
	uint8_t why;

	keytable_key_ipv4(&k, addr4, 5004, KEYTABLE_DIR_OUT);
	keytable_key_ipv4(&other, addr4, 5006, KEYTABLE_DIR_OUT);
	add(x, &k, 7);
	struct csrtp_stream *s = commit_out(x, &k, 1, 7, &why);
	add(x, &other, 8);                            /* the table changed */
	const uint32_t slot = slot_of(x, &k);
	slot_seq(x, slot, true);
	assert_ptr_equal(resolve_at(x, &k, 1, t0, &why), s);   /* busy: kept */
	assert_ptr_equal(resolve_at(x, &k, 1, t0 + FLOWS_BUSY_NS / 2, &why), s);
	assert_int_equal(why, FLOWS_OK);
	assert_null(resolve_at(x, &k, 1, t0 + FLOWS_BUSY_NS + FLOWS_BUSY_NS / 4, &why));
	assert_int_equal(why, FLOWS_NO_KEY);
	assert_null(resolve_at(x, &k, 1, t0 + 10 * FLOWS_BUSY_NS, &why));
	assert_int_equal(why, FLOWS_NO_KEY);
	slot_seq(x, slot, false);                      /* the entry answers again */
	assert_ptr_equal(resolve_at(x, &k, 1, t0 + 11 * FLOWS_BUSY_NS, &why), s);
	assert_true(roundtrip(x, s, 30, 7, 0));
	destroy(x);
}

/* Polls that received nothing sweep more: a pass over many idle flows takes
 * far fewer of them than busy polls (flows_sweep) would. */
static void test_idle_sweep_fewer_polls(void **state)
{
	(void)state;
	struct fx *x = make(1024, 1024);
	enum { N = 600 };
	struct keytable_key k[N];
	uint8_t why;

	for (unsigned i = 0; i < N; i++) {
		keytable_key_ipv4(&k[i], addr4, (uint16_t)(10000 + 2 * i), KEYTABLE_DIR_OUT);
		add(x, &k[i], (uint8_t)i);
		assert_non_null(resolve1(x, &k[i], 1, &why));
	}
	sweep_all(x);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(keytable_delete(x->w, &k[i]), 0);
	unsigned polls = 0, dropped = 0;
	while (stats_of(x).sweep_pending && polls < 1000) {
		dropped += flows_sweep_idle(x->f);
		polls++;
	}
	assert_int_equal(dropped, N);
	assert_int_equal(stats_of(x).flows, 0);
	/* N / FLOWS_SWEEP_FLOWS = 75 busy polls at least; idle: N / 256 + 1,
	 * or the table's slots / (32 * FLOWS_SWEEP_SLOTS), whichever is more */
	assert_true(polls <= 4);
	assert_true(polls * FLOWS_SWEEP_FLOWS < N);
	destroy(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_key_leaves_no_state),
		cmocka_unit_test(test_resolve_and_encrypt),
		cmocka_unit_test(test_aes_cm_entries),
		cmocka_unit_test(test_delete_and_readd),
		cmocka_unit_test(test_readd_between_packets),
		cmocka_unit_test(test_sweep_drops_deleted),
		cmocka_unit_test(test_replace_keeps_index),
		cmocka_unit_test(test_schedule_next_key),
		cmocka_unit_test(test_on_auth_and_advance),
		cmocka_unit_test(test_two_advances_between_packets),
		cmocka_unit_test(test_sender_switches_at_next_packet),
		cmocka_unit_test(test_wildcard_and_ipv6),
		cmocka_unit_test(test_tables_full),
		cmocka_unit_test(test_flow_stream_limit),
		cmocka_unit_test(test_forged_flood),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_stats_rows),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_restart_rekeys),
		cmocka_unit_test(test_unrelated_change_keeps_flow),
		cmocka_unit_test(test_own_change_looked_up),
		cmocka_unit_test(test_delete_shift_moves_ref),
		cmocka_unit_test(test_exact_entry_overrides_wildcard),
		cmocka_unit_test(test_sweep_skips_checked_flows),
		cmocka_unit_test(test_sweep_stores_moved_ref),
		cmocka_unit_test(test_sweep_wipes_replaced),
		cmocka_unit_test(test_busy_bounded),
		cmocka_unit_test(test_idle_sweep_fewer_polls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
