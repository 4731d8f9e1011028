/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for csrtp.c's key change without a known index (issue 13): the
 * sender switches at its next packet (csrtp_stream_sender_rekey), the receiver
 * from the first packet that authenticates under a pending key
 * (csrtp_stream_pending). Every packet sent must come out once, byte for
 * byte, whatever the index: random starts, around 2^15, across the 2^16 wrap
 * with ROC > 0, with reordering within the window, loss, random burst sizes,
 * two keys in flight; replays under any key and old-key packets at or past
 * From are refused. Run by test_csrtp.c's main (direct and burst APIs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csrtp.h"
#include "test_csrtp_rekey.h"

#define PKT_CAP 128
#define NPKT    600

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: reproducible from the seed printed on failure */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 32);
}

enum csrtp_profile csrtp_rekey_profile = CSRTP_PROFILE_AEAD_AES_128_GCM;
unsigned csrtp_rekey_mki_len;
bool csrtp_rekey_mki_same;

static void key(struct csrtp_engine *e, struct csrtp_key *k, unsigned seed)
{
	uint8_t m[16], salt[CSRTP_MAX_SALT_LEN];
	size_t sl = csrtp_profile_salt_len(csrtp_rekey_profile);

	for (unsigned i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)(seed * 7 + i);
	for (unsigned i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(seed * 13 + i);
	assert_int_equal(csrtp_key_init_salt(e, k, csrtp_rekey_profile, m, 16, salt, sl), 0);
	/* with MKIs (a distinct one per seed) the packets name their keys */
	uint8_t mki[CSRTP_MKI_MAX] = { (uint8_t)seed, 0x5a, 0xa5, (uint8_t)~seed };
	/* or one MKI for all (SDES peers often give every key MKI 1): the
	 * packets name several keys, tried as without an MKI */
	if (csrtp_rekey_mki_same)
		mki[0] = 1, mki[3] = 0xfe;
	assert_int_equal(csrtp_key_set_mki(k, mki, csrtp_rekey_mki_len), 0);
}

static uint32_t rtp(uint8_t *b, uint16_t seq, uint32_t ssrc, unsigned tagbyte)
{
	memset(b, 0, PKT_CAP);
	b[0] = 0x80;
	b[1] = 96;
	b[2] = (uint8_t)(seq >> 8);
	b[3] = (uint8_t)seq;
	b[8] = (uint8_t)(ssrc >> 24);
	b[9] = (uint8_t)(ssrc >> 16);
	b[10] = (uint8_t)(ssrc >> 8);
	b[11] = (uint8_t)ssrc;
	for (unsigned i = 12; i < 52; i++)
		b[i] = (uint8_t)(tagbyte + i);
	return 52;
}

struct sent {
	uint8_t wire[PKT_CAP];
	uint8_t plain[PKT_CAP];
	uint32_t len, plen;
	unsigned keyno;          /* which key protected it */
	uint64_t index;
};

static struct sent pk[NPKT];

/*
 * Send n packets from seq0 at ROC roc; the sender changes to keys[1] at
 * packet sw1 and to keys[2] at packet sw2 (-1: never); then deliver them with
 * reordering (each packet moved up to `reorder` places), `loss` percent lost,
 * in bursts of 1..32. The receiver learns the pending keys at packet
 * pending_at of the delivery (0: before the first).
 */
struct plan {
	uint16_t seq0;
	uint32_t roc;
	int sw1, sw2;
	unsigned reorder, loss;
	unsigned pending_at;
};

static void run_plan(struct csrtp_engine *e, const struct plan *pl)
{
	struct csrtp_key k[3];
	struct csrtp_stream tx, rx;
	unsigned order[NPKT], got = 0, want = 0;
	bool lost[NPKT] = { false };
	uint64_t seed = rng_state;

	for (unsigned i = 0; i < 3; i++)
		key(e, &k[i], 40 + i);
	assert_int_equal(csrtp_stream_init(&tx, &k[0], 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k[0], 0, 0), 0);
	tx.roc_init = rx.roc_init = pl->roc;

	unsigned kn = 0;
	for (unsigned i = 0; i < NPKT; i++) {
		if ((int)i == pl->sw1)
			csrtp_stream_sender_rekey(&tx, &k[++kn]);
		if ((int)i == pl->sw2)
			csrtp_stream_sender_rekey(&tx, &k[++kn]);
		pk[i].plen = rtp(pk[i].plain, (uint16_t)(pl->seq0 + i), 0x1234, i);
		memcpy(pk[i].wire, pk[i].plain, PKT_CAP);
		struct csrtp_pkt p = { .data = pk[i].wire, .len = pk[i].plen, .cap = PKT_CAP,
				       .stream = &tx };
		assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
		pk[i].len = p.len;
		pk[i].keyno = kn;
		pk[i].index = p.index;
		assert_int_equal(p.index, ((uint64_t)pl->roc << 16) + pl->seq0 + i);
	}
	/* delivery order: local swaps no further than reorder */
	for (unsigned i = 0; i < NPKT; i++)
		order[i] = i;
	/* each packet delivered at most `reorder` places late: sort by
	 * i + a random delay (insertion sort, the keys are nearly sorted) */
	unsigned due[NPKT];
	for (unsigned i = 0; i < NPKT; i++) {
		due[i] = i + (pl->reorder ? rnd() % (pl->reorder + 1) : 0);
		unsigned j = i;
		while (j > 0 && due[order[j - 1]] > due[i]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	for (unsigned i = 0; i < NPKT; i++) {
		lost[i] = pl->loss && rnd() % 100 < pl->loss;
		want += !lost[i];
	}

	static uint8_t copy[NPKT][PKT_CAP];
	unsigned i = 0;
	while (i < NPKT) {
		struct csrtp_pkt b[32];
		unsigned idx[32], m = 0, burst = 1 + rnd() % 32;
		if (i < pl->pending_at && pl->pending_at < i + burst)
			burst = pl->pending_at - i;
		if (i == pl->pending_at)
			csrtp_stream_pending(&rx, &k[1], pl->sw2 >= 0 ? &k[2] : NULL);
		for (unsigned j = 0; j < burst && i < NPKT; j++, i++) {
			unsigned x = order[i];
			if (lost[x])
				continue;
			memcpy(copy[x], pk[x].wire, PKT_CAP);
			b[m] = (struct csrtp_pkt){ .data = copy[x], .len = pk[x].len,
						   .cap = PKT_CAP, .stream = &rx };
			idx[m++] = x;
		}
		csrtp_unprotect_burst(e, b, m);
		for (unsigned j = 0; j < m; j++) {
			if (b[j].status != CSRTP_OK)
				fail_msg("seed %llu, seq0 %u roc %u sw %d/%d reorder %u loss %u "
					 "pending at %u: packet %u (index %llu, key %u) refused: %s",
					 (unsigned long long)seed, pl->seq0, pl->roc, pl->sw1, pl->sw2,
					 pl->reorder, pl->loss, pl->pending_at, idx[j],
					 (unsigned long long)pk[idx[j]].index, pk[idx[j]].keyno,
					 csrtp_status_str(b[j].status));
			assert_int_equal(b[j].len, pk[idx[j]].plen);
			assert_memory_equal(b[j].data, pk[idx[j]].plain, pk[idx[j]].plen);
			got++;
		}
	}
	assert_int_equal(got, want);
	if (pl->sw1 >= 0)
		assert_ptr_equal(rx.key, pl->sw2 >= 0 ? &k[2] : &k[1]);

	/* every delivered packet again, in bursts: nothing is accepted twice,
	 * whichever key protected it */
	for (i = 0; i < NPKT; ) {
		struct csrtp_pkt b[16];
		unsigned m = 0;
		for (; i < NPKT && m < 16; i++) {
			if (lost[i])
				continue;
			memcpy(copy[i], pk[i].wire, PKT_CAP);
			b[m++] = (struct csrtp_pkt){ .data = copy[i], .len = pk[i].len,
						     .cap = PKT_CAP, .stream = &rx };
		}
		assert_int_equal(csrtp_unprotect_burst(e, b, m), 0);
		/* (with MKIs, a key the stream no longer holds is named by none) */
		for (unsigned j = 0; j < m; j++)
			assert_true(b[j].status == CSRTP_ERR_REPLAY || b[j].status == CSRTP_ERR_AUTH ||
				    (csrtp_rekey_mki_len && b[j].status == CSRTP_ERR_BAD_MKI));
	}
	for (i = 0; i < 3; i++)
		csrtp_key_wipe(&k[i]);
}

static void test_switch_at_any_index(void **state)
{
	struct csrtp_engine *e = *state;
	/* starts: random, just below and above 2^15, across the 2^16 wrap
	 * (ROC > 0), and the switch itself across the wrap */
	const uint16_t starts[] = { 50000, 32767 - 300, 32768 - 10, 32768 + 5,
				    65536 - 300, 65536 - 20, 0, 1 };
	const uint32_t rocs[] = { 0, 0, 0, 0, 3, 7, 1, 0 };

	rng_state = 0x5eed0013u;
	for (unsigned t = 0; t < 8; t++) {
		for (unsigned v = 0; v < 6; v++) {
			struct plan pl = { .seq0 = starts[t], .roc = rocs[t],
					   .sw1 = 100 + (int)(rnd() % 400), .sw2 = -1,
					   .reorder = v % 3 == 0 ? 0 : v % 3 == 1 ? 8 : 60,
					   .loss = v >= 3 ? 5 : 0,
					   .pending_at = v == 5 ? 50 : 0 };
			if (t == 4)
				pl.sw1 = 290;  /* the switch right at the wrap */
			run_plan(e, &pl);
		}
		/* a random start each round too */
		struct plan pl = { .seq0 = (uint16_t)rnd(), .roc = rnd() % 4,
				   .sw1 = (int)(rnd() % NPKT), .sw2 = -1, .reorder = 30,
				   .loss = 3 };
		run_plan(e, &pl);
	}
}

/* Two rekeys in flight: the receiver holds the current key and two pending
 * ones; the sender moved through both, a few packets apart. */
static void test_three_keys_crossing(void **state)
{
	struct csrtp_engine *e = *state;

	rng_state = 0xc0ffee;
	for (unsigned v = 0; v < 12; v++) {
		struct plan pl = { .seq0 = (uint16_t)(65536 - 200 + v * 30), .roc = v,
				   .sw1 = 150 + (int)(rnd() % 100), .sw2 = -1,
				   .reorder = v % 2 ? 10 : 0, .loss = v % 3 ? 4 : 0 };
		pl.sw2 = pl.sw1 + 1 + (int)(rnd() % (v < 6 ? 4 : 200));
		run_plan(e, &pl);
	}
	/* the sender skipped the first pending key entirely */
	struct plan pl = { .seq0 = 32700, .sw1 = 200, .sw2 = 200, .reorder = 5 };
	run_plan(e, &pl);
}

/* Under the old key at or past From: refused, though the key verifies it. */
static void test_old_key_past_from_refused(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k0, k1;
	struct csrtp_stream tx, old, rx;
	uint8_t b[PKT_CAP], o[PKT_CAP];

	key(e, &k0, 1);
	key(e, &k1, 2);
	assert_int_equal(csrtp_stream_init(&tx, &k0, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&old, &k0, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k0, 0, 0), 0);
	csrtp_stream_pending(&rx, &k1, NULL);
	for (unsigned i = 0; i < 20; i++) {
		if (i == 10)
			csrtp_stream_sender_rekey(&tx, &k1);
		struct csrtp_pkt p = { .data = b, .len = rtp(b, (uint16_t)(1000 + i), 9, i),
				       .cap = PKT_CAP, .stream = &tx };
		assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
		/* the same packet under the old key, kept by an attacker... */
		struct csrtp_pkt q = { .data = o, .len = rtp(o, (uint16_t)(1000 + i), 9, i),
				       .cap = PKT_CAP, .stream = &old };
		assert_int_equal(csrtp_protect_burst(e, &q, 1), 1);
		if (i < 12) {
			p.stream = &rx;
			assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 1);
			continue;
		}
		/* ...index 1012.. under k0 after From = 1010: refused */
		q.stream = &rx;
		assert_int_equal(csrtp_unprotect_burst(e, &q, 1), 0);
		assert_int_equal(q.status, CSRTP_ERR_AUTH);
	}
	assert_ptr_equal(rx.key, &k1);
	assert_ptr_equal(rx.prev_key, &k0);
	assert_int_equal(rx.key_from, 1010);
	csrtp_key_wipe(&k0);
	csrtp_key_wipe(&k1);
}

/* A sender whose application started over with lower sequence numbers:
 * packets 0..199 are seq 40000..40199, then seq restart, restart + 1, ...;
 * index_reuse until its key changes (at packet 210); then a fresh window
 * under the new key, on both sides, and the packets get through once each.
 * lost: a packet the receiver never gets (-1: none). */
static void index_reuse_case(struct csrtp_engine *e, uint16_t restart, int lost)
{
	struct csrtp_key k0, k1;
	struct csrtp_stream tx, rx;
	static uint8_t b[300][PKT_CAP];
	uint32_t len[300];

	key(e, &k0, 3);
	key(e, &k1, 4);
	assert_int_equal(csrtp_stream_init(&tx, &k0, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k0, 0, 0), 0);
	for (unsigned i = 0; i < 300; i++) {
		uint16_t seq = (uint16_t)(i < 200 ? 40000 + i : restart + i - 200);
		if (i == 210)
			csrtp_stream_sender_rekey(&tx, &k1);
		struct csrtp_pkt p = { .data = b[i], .len = rtp(b[i], seq, 5, i), .cap = PKT_CAP,
				       .stream = &tx };
		unsigned ok = csrtp_protect_burst(e, &p, 1);
		if (i >= 200 && i < 210) {
			assert_int_equal(ok, 0);
			assert_int_equal(p.status, CSRTP_ERR_INDEX_REUSE);
			len[i] = 0;
			continue;
		}
		assert_int_equal(ok, 1);
		len[i] = p.len;
	}
	if (lost >= 0)
		len[lost] = 0;
	csrtp_stream_pending(&rx, &k1, NULL);
	for (unsigned i = 0; i < 300; i++) {
		if (len[i] == 0)
			continue;
		struct csrtp_pkt p = { .data = b[i], .len = len[i], .cap = PKT_CAP, .stream = &rx };
		if (csrtp_unprotect_burst(e, &p, 1) != 1)
			fail_msg("packet %u: %s", i, csrtp_status_str(p.status));
	}
	assert_ptr_equal(rx.key, &k1);
	assert_null(rx.prev_key);
	csrtp_key_wipe(&k0);
	csrtp_key_wipe(&k1);
}

/* The restart at 30000: its first packet under the new key is older than the
 * receiver's window. */
static void test_index_reuse_recovered_by_rekey(void **state)
{
	index_reuse_case(*state, 30000, -1);
}

/* The receiver lost seq 40150 of the first run, inside its window, and the
 * restart at 40140 sends that index first under the new key (packet 210):
 * unseen, so not a replay, yet at or below the top. A start over all the same
 * (a sender that goes on never sends a newer key's packet below an older
 * key's): a fresh window, or the restarted packets after it, whose indexes
 * the window saw under the old key, would be refused as replays. */
static void test_index_reuse_restart_at_a_lost_index(void **state)
{
	index_reuse_case(*state, 40140, 150);
}

/* SRTCP: a pending key verifies SRTCP too, without switching SRTP. */
static void test_rtcp_under_pending_key(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k0, k1;
	struct csrtp_stream tx, rx;
	uint8_t b[PKT_CAP];

	key(e, &k0, 5);
	key(e, &k1, 6);
	assert_int_equal(csrtp_stream_init(&tx, &k0, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k0, 0, 0), 0);
	csrtp_stream_pending(&rx, &k1, NULL);
	csrtp_stream_sender_rekey(&tx, &k1);
	memset(b, 0, sizeof(b));
	b[0] = 0x80;
	b[1] = 200;
	b[3] = 6;
	b[7] = 5;
	struct csrtp_pkt p = { .data = b, .len = 28, .cap = PKT_CAP, .stream = &tx };
	assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
	p.stream = &rx;
	assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 1);
	assert_ptr_equal(rx.key, &k0);
	csrtp_key_wipe(&k0);
	csrtp_key_wipe(&k1);
}

const struct CMUnitTest csrtp_rekey_tests[] = {
	cmocka_unit_test(test_switch_at_any_index),
	cmocka_unit_test(test_three_keys_crossing),
	cmocka_unit_test(test_old_key_past_from_refused),
	cmocka_unit_test(test_index_reuse_recovered_by_rekey),
	cmocka_unit_test(test_index_reuse_restart_at_a_lost_index),
	cmocka_unit_test(test_rtcp_under_pending_key),
};
const size_t csrtp_rekey_ntests = sizeof(csrtp_rekey_tests) / sizeof(csrtp_rekey_tests[0]);
