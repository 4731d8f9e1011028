/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for csrtp.c: every RFC 7714 section 16/17 vector on every
 * intel-ipsec-mb architecture the CPU has, rejection of tampered, replayed,
 * malformed and oversize input, key exhaustion, batch semantics and rekeying.
 * (Interoperation with libsrtp2 is in test_csrtp_interop.c.)
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csrtp.h"
#include "csrtp_kdf.h"
#include "vectors.h"
#include "test_csrtp_mki.h"
#include "test_csrtp_rekey.h"

#define BUF 2048

static const IMB_ARCH archs[] = { IMB_ARCH_SSE, IMB_ARCH_AVX, IMB_ARCH_AVX2, IMB_ARCH_AVX512 };

static int setup(void **state)
{
	*state = csrtp_engine_create(IMB_ARCH_NONE);
	return *state == NULL ? -1 : 0;
}

static int setup_burst(void **state)
{
	if (setup(state) != 0)
		return -1;
	csrtp_engine_set_api(*state, CSRTP_API_BURST);
	return 0;
}

static int teardown(void **state)
{
	csrtp_engine_destroy(*state);
	return 0;
}

static enum csrtp_profile profile_for(size_t key_len)
{
	return key_len == 16 ? CSRTP_PROFILE_AEAD_AES_128_GCM : CSRTP_PROFILE_AEAD_AES_256_GCM;
}

/* A key from fixed bytes, the same session key for SRTP and SRTCP. */
static void make_key(struct csrtp_engine *e, struct csrtp_key *k, size_t key_len, uint8_t seed)
{
	uint8_t key[CSRTP_MAX_KEY_LEN], salt[CSRTP_SALT_LEN];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(seed + i);
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(seed * 3 + i);
	assert_int_equal(csrtp_key_init(e, k, profile_for(key_len), key, key_len, salt), 0);
}

/* A plain RTP packet: 12-byte header, cc CSRCs, optional extension, payload. */
static uint32_t make_rtp(uint8_t *b, uint16_t seq, uint32_t ssrc, int cc, int ext_words,
			 uint32_t payload)
{
	uint32_t n = 0;
	b[n++] = (uint8_t)(0x80 | (ext_words >= 0 ? 0x10 : 0) | cc);
	b[n++] = 96;
	b[n++] = (uint8_t)(seq >> 8);
	b[n++] = (uint8_t)seq;
	for (int i = 0; i < 4; i++)
		b[n++] = (uint8_t)(0x11 * i);
	for (int i = 0; i < 4; i++)
		b[n++] = (uint8_t)(ssrc >> (24 - 8 * i));
	for (int i = 0; i < 4 * cc; i++)
		b[n++] = (uint8_t)(0xc0 + i);
	if (ext_words >= 0) {
		b[n++] = 0xbe;
		b[n++] = 0xde;
		b[n++] = 0;
		b[n++] = (uint8_t)ext_words;
		for (int i = 0; i < 4 * ext_words; i++)
			b[n++] = (uint8_t)(0xe0 + i);
	}
	for (uint32_t i = 0; i < payload; i++)
		b[n++] = (uint8_t)(i * 7 + seq);
	return n;
}

static uint32_t make_rtcp(uint8_t *b, uint32_t ssrc, uint32_t body_words)
{
	uint32_t n = 0;
	b[n++] = 0x80;
	b[n++] = 200;                             /* SR */
	b[n++] = (uint8_t)((1 + body_words) >> 8);
	b[n++] = (uint8_t)(1 + body_words);
	for (int i = 0; i < 4; i++)
		b[n++] = (uint8_t)(ssrc >> (24 - 8 * i));
	for (uint32_t i = 0; i < 4 * body_words; i++)
		b[n++] = (uint8_t)(i * 13);
	return n;
}

static struct csrtp_pkt pkt(uint8_t *b, uint32_t len, struct csrtp_stream *s)
{
	return (struct csrtp_pkt){ .data = b, .len = len, .cap = BUF, .stream = s };
}

/* ---- known answers ------------------------------------------------------ */

static void run_vector(struct csrtp_engine *e, const struct vec_7714 *v)
{
	struct csrtp_key k;
	struct csrtp_stream tx, rx;
	uint8_t buf[BUF];
	uint32_t flags = 0;

	if (!v->encrypted)
		flags = v->rtcp ? CSRTP_F_RTCP_AUTH_ONLY : CSRTP_F_RTP_AUTH_ONLY;
	assert_int_equal(csrtp_key_init_session(e, &k, profile_for(v->key.n), v->key.p,
					       v->salt.p, v->key.p, v->salt.p, v->key.n), 0);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, flags), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, flags), 0);
	tx.roc_init = rx.roc_init = v->roc;
	tx.srtcp_next = v->srtcp_index;

	/* plaintext -> protected packet, byte for byte */
	memcpy(buf, v->plain.p, v->plain.n);
	struct csrtp_pkt p = pkt(buf, (uint32_t)v->plain.n, &tx);
	unsigned ok = v->rtcp ? csrtp_rtcp_protect_burst(e, &p, 1) : csrtp_protect_burst(e, &p, 1);
	if (ok != 1)
		fail_msg("%s: protect: %s", v->id, csrtp_status_str(p.status));
	assert_int_equal(p.len, v->prot.n);
	assert_memory_equal(buf, v->prot.p, v->prot.n);

	/* protected packet -> plaintext */
	memcpy(buf, v->prot.p, v->prot.n);
	p = pkt(buf, (uint32_t)v->prot.n, &rx);
	ok = v->rtcp ? csrtp_rtcp_unprotect_burst(e, &p, 1) : csrtp_unprotect_burst(e, &p, 1);
	if (ok != 1)
		fail_msg("%s: unprotect: %s", v->id, csrtp_status_str(p.status));
	assert_int_equal(p.len, v->plain.n);
	assert_memory_equal(buf, v->plain.p, v->plain.n);
	assert_int_equal(p.index, v->rtcp ? v->srtcp_index : ((uint64_t)v->roc << 16 |
				  (uint16_t)(v->plain.p[2] << 8 | v->plain.p[3])));
	csrtp_key_wipe(&k);
}

/* All 12 RFC 7714 vectors (16.x.1-4, 17.1-4) in both directions, every arch,
 * through both ways of calling intel-ipsec-mb. */
static void test_rfc7714_vectors_all_archs(void **state)
{
	(void)state;
	int ran = 0;
	for (size_t a = 0; a < sizeof(archs) / sizeof(archs[0]); a++) {
		struct csrtp_engine *e = csrtp_engine_create(archs[a]);
		if (e == NULL) {
			printf("# arch %d not supported by this CPU: not run\n", (int)archs[a]);
			continue;
		}
		for (int api = CSRTP_API_DIRECT; api <= CSRTP_API_BURST; api++) {
			csrtp_engine_set_api(e, (enum csrtp_api)api);
			for (size_t i = 0; i < N_VEC_7714; i++)
				run_vector(e, &vec_7714[i]);
		}
		csrtp_engine_destroy(e);
		ran++;
	}
	assert_true(ran >= 1);
	assert_int_equal(N_VEC_7714, 12);
}

static void test_selftest(void **state)
{
	const char *failed = "unset";
	assert_int_equal(csrtp_selftest(*state, &failed), 0);
	assert_null(failed);
}

/* ---- tampering ---------------------------------------------------------- */

/* What a receiver must say when bit b of the packet (tag of tl octets) is flipped. */
static int expect_rtp_flip_tl(const uint8_t *orig, uint32_t len, uint32_t bit, uint32_t tl)
{
	uint8_t tmp[BUF];
	memcpy(tmp, orig, len);
	tmp[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
	if ((tmp[0] >> 6) != 2)
		return CSRTP_ERR_MALFORMED;
	/* header parse with the changed CC / X / extension length */
	uint32_t body = len - tl;
	uint32_t h = 12 + 4u * (tmp[0] & 15);
	if (tmp[0] & 0x10) {
		if (h + 4 > body)
			return CSRTP_ERR_MALFORMED;
		h += 4 + 4u * (uint32_t)(tmp[h + 2] << 8 | tmp[h + 3]);
	}
	if (h > body)
		return CSRTP_ERR_MALFORMED;
	return CSRTP_ERR_AUTH;
}

static int expect_rtp_flip(const uint8_t *orig, uint32_t len, uint32_t bit)
{
	return expect_rtp_flip_tl(orig, len, bit, CSRTP_TAG_LEN);
}

/* Every single-bit flip of header, payload and tag is refused, none changes
 * the stream, and the untouched packet still verifies afterwards. */
static void test_rtp_every_bit_flip(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, rx;
	uint8_t orig[BUF], buf[BUF];

	make_key(e, &k, 16, 1);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	uint32_t len = make_rtp(orig, 1000, 0xabcdef01, 2, 1, 40);
	struct csrtp_pkt p = pkt(orig, len, &tx);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
	len = p.len;

	unsigned counts[CSRTP_STATUS_MAX] = { 0 };
	for (uint32_t bit = 0; bit < len * 8; bit++) {
		memcpy(buf, orig, len);
		buf[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		p = pkt(buf, len, &rx);
		assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
		assert_int_equal(p.status, expect_rtp_flip(orig, len, bit));
		counts[p.status]++;
	}
	assert_int_equal(counts[CSRTP_ERR_AUTH] + counts[CSRTP_ERR_MALFORMED], len * 8);
	assert_true(counts[CSRTP_ERR_MALFORMED] > 0 && counts[CSRTP_ERR_MALFORMED] < 40);
	assert_false(rx.rtp.started);            /* nothing was accepted */

	memcpy(buf, orig, len);
	p = pkt(buf, len, &rx);
	assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 1);
	csrtp_key_wipe(&k);
}

/* SRTCP, E=1 and E=0: every bit flip is an auth failure (or, in the version
 * bits, malformed). */
static void test_rtcp_every_bit_flip(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	uint8_t orig[BUF], buf[BUF];

	make_key(e, &k, 32, 2);
	for (int auth_only = 0; auth_only <= 1; auth_only++) {
		uint32_t flags = auth_only ? CSRTP_F_RTCP_AUTH_ONLY : 0;
		struct csrtp_stream tx, rx;
		assert_int_equal(csrtp_stream_init(&tx, &k, 0, flags), 0);
		assert_int_equal(csrtp_stream_init(&rx, &k, 0, flags), 0);
		uint32_t len = make_rtcp(orig, 0x11223344, 6);
		struct csrtp_pkt p = pkt(orig, len, &tx);
		assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
		len = p.len;
		assert_int_equal(orig[len - 4] >> 7, !auth_only);   /* E flag */

		for (uint32_t bit = 0; bit < len * 8; bit++) {
			memcpy(buf, orig, len);
			buf[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			p = pkt(buf, len, &rx);
			assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 0);
			if (bit < 2)
				assert_int_equal(p.status, CSRTP_ERR_MALFORMED);
			else
				assert_int_equal(p.status, CSRTP_ERR_AUTH);
		}
		memcpy(buf, orig, len);
		p = pkt(buf, len, &rx);
		assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 1);
	}
	csrtp_key_wipe(&k);
}

/* ---- replay ------------------------------------------------------------- */

static void test_replay_and_window(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, rx, rx_big;
	static uint8_t prot[1200][128];
	static uint32_t plen[1200];
	uint8_t buf[BUF];

	make_key(e, &k, 16, 3);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx_big, &k, 1024, 0), 0);
	for (int i = 0; i < 1200; i++) {
		plen[i] = make_rtp(prot[i], (uint16_t)(i + 10), 5, 0, -1, 20);
		struct csrtp_pkt p = { .data = prot[i], .len = plen[i], .cap = 128, .stream = &tx };
		assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
		plen[i] = p.len;
	}

	/* in order; then a replay of the latest is refused */
	for (int i = 0; i < 1200; i++) {
		if (i == 100)
			continue;       /* held back: arrives late below */
		memcpy(buf, prot[i], plen[i]);
		struct csrtp_pkt p = pkt(buf, plen[i], &rx);
		assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 1);
		memcpy(buf, prot[i], plen[i]);
		p = pkt(buf, plen[i], &rx_big);
		assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 1);
	}
	memcpy(buf, prot[1199], plen[1199]);
	struct csrtp_pkt p = pkt(buf, plen[1199], &rx);
	assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_REPLAY);

	/* a replay within the window */
	memcpy(buf, prot[1190], plen[1190]);
	p = pkt(buf, plen[1190], &rx);
	assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_REPLAY);

	/* packet 100 (never received) is 1099 behind: older than the window;
	 * packet 300 again on the 1024 window: inside it, so a replay */
	memcpy(buf, prot[100], plen[100]);
	p = pkt(buf, plen[100], &rx);
	assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_REPLAY);
	memcpy(buf, prot[300], plen[300]);
	p = pkt(buf, plen[300], &rx_big);
	assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_REPLAY);
	csrtp_key_wipe(&k);
}

/* A late packet inside a 1024 window is accepted; a 128 window refuses it. */
static void test_late_packet_window_1024(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, rx_small, rx_big;
	uint8_t late[128], buf[BUF];

	make_key(e, &k, 16, 4);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx_small, &k, 128, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx_big, &k, 1024, 0), 0);

	uint32_t ll = make_rtp(late, 50, 9, 0, -1, 10);
	struct csrtp_pkt p = { .data = late, .len = ll, .cap = 128, .stream = &tx };
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
	ll = p.len;
	for (int i = 51; i < 51 + 900; i++) {
		uint32_t n = make_rtp(buf, (uint16_t)i, 9, 0, -1, 10);
		p = pkt(buf, n, &tx);
		assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
		uint8_t c[BUF];
		memcpy(c, buf, p.len);
		struct csrtp_pkt q = pkt(c, p.len, &rx_small);
		assert_int_equal(csrtp_unprotect_burst(e, &q, 1), 1);
		memcpy(c, buf, p.len);
		q = pkt(c, p.len, &rx_big);
		assert_int_equal(csrtp_unprotect_burst(e, &q, 1), 1);
	}
	memcpy(buf, late, ll);
	p = pkt(buf, ll, &rx_small);
	assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_REPLAY);
	memcpy(buf, late, ll);
	p = pkt(buf, ll, &rx_big);
	assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 1);
	csrtp_key_wipe(&k);
}

/* The sender refuses to protect one index twice: GCM must not reuse an IV. */
static void test_sender_refuses_index_reuse(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx;
	uint8_t buf[BUF];

	make_key(e, &k, 16, 5);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	uint32_t n = make_rtp(buf, 7, 1, 0, -1, 10);
	struct csrtp_pkt p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
	n = make_rtp(buf, 7, 1, 0, -1, 11);
	p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_INDEX_REUSE);
	csrtp_key_wipe(&k);
}

/* Replayed SRTCP, and SRTCP older than the window. */
static void test_rtcp_replay(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, rx;
	uint8_t first[BUF], buf[BUF];

	make_key(e, &k, 16, 6);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	uint32_t fl = make_rtcp(first, 1, 2);
	struct csrtp_pkt p = pkt(first, fl, &tx);
	assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
	fl = p.len;
	memcpy(buf, first, fl);
	p = pkt(buf, fl, &rx);
	assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 1);
	memcpy(buf, first, fl);
	p = pkt(buf, fl, &rx);
	assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_REPLAY);

	for (int i = 0; i < 200; i++) {
		uint32_t n = make_rtcp(buf, 1, 2);
		p = pkt(buf, n, &tx);
		assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
		p = pkt(buf, p.len, &rx);
		assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 1);
	}
	assert_int_equal(rx.rtcp.top, 200);

	/* index 0 is now 200 behind: older than the 128-packet window */
	memcpy(buf, first, fl);
	p = pkt(buf, fl, &rx);
	assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_REPLAY);

	/* the same SRTCP packet twice in one burst: the second is a replay */
	uint8_t a[BUF], b[BUF];
	uint32_t n = make_rtcp(a, 1, 2);
	p = pkt(a, n, &tx);
	assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
	memcpy(b, a, p.len);
	struct csrtp_pkt two[2] = { pkt(a, p.len, &rx), pkt(b, p.len, &rx) };
	assert_int_equal(csrtp_rtcp_unprotect_burst(e, two, 2), 1);
	assert_int_equal(two[0].status, CSRTP_OK);
	assert_int_equal(two[1].status, CSRTP_ERR_REPLAY);
	csrtp_key_wipe(&k);
}

/* ---- malformed input ---------------------------------------------------- */

static void test_rtp_malformed(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, rx;
	uint8_t buf[BUF];

	make_key(e, &k, 16, 7);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);

	/* receive side: every length below header + tag */
	for (uint32_t len = 0; len < CSRTP_RTP_HDR_LEN + CSRTP_TAG_LEN; len++) {
		make_rtp(buf, 1, 1, 0, -1, 40);
		struct csrtp_pkt p = pkt(buf, len, &rx);
		assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
		assert_int_equal(p.status, CSRTP_ERR_TOO_SHORT);
	}
	/* send side: shorter than the fixed header */
	for (uint32_t len = 0; len < CSRTP_RTP_HDR_LEN; len++) {
		make_rtp(buf, 1, 1, 0, -1, 40);
		struct csrtp_pkt p = pkt(buf, len, &tx);
		assert_int_equal(csrtp_protect_burst(e, &p, 1), 0);
		assert_int_equal(p.status, CSRTP_ERR_TOO_SHORT);
	}

	struct { int version, cc, ext_words, payload; uint32_t cut; } cases[] = {
		{ 1, 0, -1, 20, 0 },     /* bad version */
		{ 3, 0, -1, 20, 0 },
		{ 0, 0, -1, 20, 0 },
		{ 2, 15, -1, 0, 1 },     /* CSRC list beyond the packet */
		{ 2, 0, 3, 0, 1 },       /* extension beyond the packet */
		{ 2, 0, 0, 0, 2 },       /* extension header cut short */
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int dir = 0; dir < 2; dir++) {
			uint32_t n = make_rtp(buf, 2, 1, cases[c].cc, cases[c].ext_words,
					      (uint32_t)cases[c].payload);
			buf[0] = (uint8_t)((buf[0] & 0x3f) | cases[c].version << 6);
			n -= cases[c].cut;
			if (dir == 1)
				n += CSRTP_TAG_LEN;   /* as if a tag followed */
			struct csrtp_pkt p = pkt(buf, n, dir ? &rx : &tx);
			unsigned ok = dir ? csrtp_unprotect_burst(e, &p, 1) :
					    csrtp_protect_burst(e, &p, 1);
			assert_int_equal(ok, 0);
			assert_int_equal(p.status, CSRTP_ERR_MALFORMED);
		}
	}
	/* a header extension with an absurd length field */
	uint32_t n = make_rtp(buf, 3, 1, 0, 0, 8);
	buf[14] = 0xff;
	buf[15] = 0xff;
	struct csrtp_pkt p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_MALFORMED);
	csrtp_key_wipe(&k);
}

static void test_rtcp_malformed(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, rx;
	uint8_t buf[BUF];

	make_key(e, &k, 16, 8);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	for (uint32_t len = 0; len < CSRTP_RTCP_HDR_LEN + CSRTP_RTCP_OVERHEAD; len++) {
		make_rtcp(buf, 1, 8);
		struct csrtp_pkt p = pkt(buf, len, &rx);
		assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 0);
		assert_int_equal(p.status, CSRTP_ERR_TOO_SHORT);
		if (len < CSRTP_RTCP_HDR_LEN) {
			p = pkt(buf, len, &tx);
			assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 0);
			assert_int_equal(p.status, CSRTP_ERR_TOO_SHORT);
		}
	}
	uint32_t n = make_rtcp(buf, 1, 8);
	buf[0] = 0x40;
	struct csrtp_pkt p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_MALFORMED);
	p = pkt(buf, n, &rx);
	assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_MALFORMED);
	csrtp_key_wipe(&k);
}

/* No room for the tag (SRTP) or tag + trailer (SRTCP); no key; no stream. */
static void test_no_room_no_key(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, nokey;
	uint8_t buf[BUF];

	make_key(e, &k, 16, 9);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&nokey, NULL, 0, 0), 0);

	uint32_t n = make_rtp(buf, 1, 1, 0, -1, 30);
	struct csrtp_pkt p = { .data = buf, .len = n, .cap = n + CSRTP_TAG_LEN - 1, .stream = &tx };
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_NO_ROOM);
	assert_int_equal(p.len, n);
	p.cap = n + CSRTP_TAG_LEN;
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);

	n = make_rtcp(buf, 1, 3);
	p = (struct csrtp_pkt){ .data = buf, .len = n, .cap = n + CSRTP_RTCP_OVERHEAD - 1, .stream = &tx };
	assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_NO_ROOM);

	n = make_rtp(buf, 1, 1, 0, -1, 30);
	p = pkt(buf, n, &nokey);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_NO_KEY);
	p = pkt(buf, n, NULL);
	assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_NO_KEY);
	csrtp_key_wipe(&k);
}

/* ---- limits ------------------------------------------------------------- */

static void test_key_exhaustion(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx;
	uint8_t buf[BUF];

	make_key(e, &k, 16, 10);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	tx.roc_init = UINT32_MAX;
	uint32_t n = make_rtp(buf, 65535, 1, 0, -1, 10);
	struct csrtp_pkt p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
	assert_int_equal(p.index, CSRTP_INDEX_MAX);
	n = make_rtp(buf, 0, 1, 0, -1, 10);      /* would wrap the ROC */
	p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_KEY_EXHAUSTED);

	tx.srtcp_next = CSRTP_RTCP_INDEX_MAX;
	n = make_rtcp(buf, 1, 1);
	p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
	assert_int_equal(p.index, CSRTP_RTCP_INDEX_MAX);
	n = make_rtcp(buf, 1, 1);
	p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_KEY_EXHAUSTED);
	csrtp_key_wipe(&k);
}

/* ---- batches ------------------------------------------------------------ */

/* 150 packets (more than one intel-ipsec-mb burst) mixing good ones, bad
 * ones, two streams and a duplicate: a status each, the right count. */
static void test_mixed_batch(void **state)
{
	struct csrtp_engine *e = *state;
	enum { N = 150 };
	static uint8_t bufs[N][BUF];
	struct csrtp_pkt p[N];
	struct csrtp_key k1, k2;
	struct csrtp_stream tx1, tx2, rx1, rx2;

	make_key(e, &k1, 16, 11);
	make_key(e, &k2, 32, 12);
	assert_int_equal(csrtp_stream_init(&tx1, &k1, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&tx2, &k2, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx1, &k1, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx2, &k2, 0, 0), 0);

	for (int i = 0; i < N; i++) {
		int s2 = i % 3 == 0;
		uint32_t n = make_rtp(bufs[i], (uint16_t)(65500 + i / 2), s2 ? 2 : 1,
				      i % 16, i % 5 - 1, (uint32_t)(i * 9));
		p[i] = pkt(bufs[i], n, s2 ? &tx2 : &tx1);
	}
	p[10].len = 5;                       /* too short */
	p[20].cap = p[20].len;               /* no room */
	unsigned ok = csrtp_protect_burst(e, p, N);
	/* seq = 65500 + i/2: when both packets of a pair are on one stream the
	 * second reuses an index and must be refused (index reuse). */
	unsigned want_ok = 0;
	for (int i = 0; i < N; i++) {
		int want = CSRTP_OK;
		if (i == 10)
			want = CSRTP_ERR_TOO_SHORT;
		else if (i == 20)
			want = CSRTP_ERR_NO_ROOM;
		else if (i % 2 == 1 && (i % 3 == 0) == ((i - 1) % 3 == 0) && i - 1 != 10 &&
			 i - 1 != 20)
			want = CSRTP_ERR_INDEX_REUSE;
		assert_int_equal(p[i].status, want);
		want_ok += want == CSRTP_OK;
	}
	assert_int_equal(ok, want_ok);

	/* keep the good ones, tamper with every 7th, then unprotect as one batch */
	struct csrtp_pkt q[N];
	unsigned m = 0, tampered = 0;
	for (int i = 0; i < N; i++) {
		if (p[i].status != CSRTP_OK)
			continue;
		q[m] = pkt(bufs[i], p[i].len, p[i].stream == &tx1 ? &rx1 : &rx2);
		if (m % 7 == 3) {
			bufs[i][p[i].len - 1] ^= 1;
			tampered++;
		}
		m++;
	}
	unsigned got = csrtp_unprotect_burst(e, q, m);
	assert_int_equal(got, m - tampered);
	for (unsigned i = 0; i < m; i++)
		assert_int_equal(q[i].status, i % 7 == 3 ? CSRTP_ERR_AUTH : CSRTP_OK);
	assert_int_equal(csrtp_stream_roc(&rx1), 1);   /* crossed 65535 -> 0 */
	csrtp_key_wipe(&k1);
	csrtp_key_wipe(&k2);
}

/* The same protected packet twice in one batch: one ok, one replay. */
static void test_duplicate_in_batch(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, rx;
	uint8_t a[BUF], b[BUF];

	make_key(e, &k, 16, 13);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	uint32_t n = make_rtp(a, 77, 1, 0, -1, 50);
	struct csrtp_pkt p = pkt(a, n, &tx);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
	memcpy(b, a, p.len);
	struct csrtp_pkt q[2] = { pkt(a, p.len, &rx), pkt(b, p.len, &rx) };
	assert_int_equal(csrtp_unprotect_burst(e, q, 2), 1);
	assert_int_equal(q[0].status, CSRTP_OK);
	assert_int_equal(q[1].status, CSRTP_ERR_REPLAY);
	csrtp_key_wipe(&k);
}

/* A burst that jumps by more than 2^15 (fuzz_srtp's finding): the receiver
 * estimates each packet from the ones authenticated before it, as the sender
 * did, and takes all four in one burst (seq 1, 0xfffd, 2 after the wrap,
 * 0x8001); a forged copy of the last is still refused. */
static void test_burst_jump_estimate(void **state)
{
	static const uint16_t seqs[] = { 1, 0xfffd, 2, 0x8001 };
	static const uint64_t want[] = { 1, 0xfffd, 0x10002, 0x18001 };
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, rx;
	uint8_t b[5][BUF], orig[4][BUF];
	struct csrtp_pkt p[5];
	uint32_t len[4];

	make_key(e, &k, 16, 21);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	for (int i = 0; i < 4; i++) {
		len[i] = make_rtp(b[i], seqs[i], 7, 0, -1, 40);
		memcpy(orig[i], b[i], len[i]);
		p[i] = pkt(b[i], len[i], &tx);
	}
	assert_int_equal(csrtp_protect_burst(e, p, 4), 4);
	memcpy(b[4], b[3], p[3].len);
	b[4][20] ^= 1;                            /* a forged copy */
	p[4] = pkt(b[4], p[3].len, &rx);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(p[i].index, want[i]);
		p[i] = pkt(b[i], p[i].len, &rx);
	}
	assert_int_equal(csrtp_unprotect_burst(e, p, 5), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(p[i].status, CSRTP_OK);
		assert_int_equal(p[i].index, want[i]);
		assert_int_equal(p[i].len, len[i]);
		assert_memory_equal(b[i], orig[i], len[i]);
	}
	assert_int_not_equal(p[4].status, CSRTP_OK);
	csrtp_key_wipe(&k);
}

/* ---- rekeying (RFC 3711 <From,To>) -------------------------------------- */

static void test_rekey_from_index(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k1, k2;
	struct csrtp_stream tx, rx;
	static uint8_t bufs[400][256];
	uint32_t lens[400];

	make_key(e, &k1, 16, 14);
	make_key(e, &k2, 16, 15);
	assert_int_equal(csrtp_stream_init(&tx, &k1, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k1, 0, 0), 0);
	assert_int_equal(csrtp_stream_rekey(&tx, &k2, 65536 + 100), 0);
	assert_int_equal(csrtp_stream_rekey(&rx, &k2, 65536 + 100), 0);
	/* one change at a time; and from must be an SRTP index */
	assert_int_equal(csrtp_stream_rekey(&tx, &k1, 70000), -EBUSY);
	struct csrtp_stream other;
	assert_int_equal(csrtp_stream_init(&other, &k1, 0, 0), 0);
	assert_int_equal(csrtp_stream_rekey(&other, &k2, CSRTP_INDEX_MAX + 1), -EINVAL);
	assert_int_equal(csrtp_stream_rekey(&other, NULL, 5), -EINVAL);

	/* seq 65400 .. wraps .. 263; RTCP interleaved every 10 packets */
	for (int i = 0; i < 400; i++) {
		struct csrtp_pkt p;
		if (i % 10 == 9) {
			lens[i] = make_rtcp(bufs[i], 1, 3);
			p = (struct csrtp_pkt){ .data = bufs[i], .len = lens[i], .cap = 256, .stream = &tx };
			assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
		} else {
			lens[i] = make_rtp(bufs[i], (uint16_t)(65400 + i), 1, 0, -1, 30);
			p = (struct csrtp_pkt){ .data = bufs[i], .len = lens[i], .cap = 256, .stream = &tx };
			assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
		}
		lens[i] = p.len;
	}
	/* receive with some reordering around the switch: swap neighbours */
	for (int i = 0; i + 1 < 400; i += 2) {
		for (int j = 1; j >= 0; j--) {
			int x = i + j;
			struct csrtp_pkt p = { .data = bufs[x], .len = lens[x], .cap = 256, .stream = &rx };
			unsigned ok = x % 10 == 9 ? csrtp_rtcp_unprotect_burst(e, &p, 1) :
						    csrtp_unprotect_burst(e, &p, 1);
			if (ok != 1)
				fail_msg("packet %d: %s", x, csrtp_status_str(p.status));
		}
	}
	assert_ptr_equal(tx.key, &k2);
	assert_null(rx.prev_key);     /* released a window past the switch */
	csrtp_key_wipe(&k1);
	csrtp_key_wipe(&k2);
}

/* len + overhead must not wrap around: a huge len is "no room", not a write
 * four gigabytes past the buffer. */
static void test_len_cap_overflow(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx;
	uint8_t buf[64];

	make_key(e, &k, 16, 20);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	make_rtp(buf, 1, 1, 0, -1, 10);
	uint32_t lens[] = { 0xfffffff8u, 0xfffffff0u, UINT32_MAX, 65 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct csrtp_pkt p = { .data = buf, .len = lens[i], .cap = 64, .stream = &tx };
		assert_int_equal(csrtp_protect_burst(e, &p, 1), 0);
		assert_int_equal(p.status, CSRTP_ERR_NO_ROOM);
		make_rtcp(buf, 1, 1);
		p = (struct csrtp_pkt){ .data = buf, .len = lens[i], .cap = 64, .stream = &tx };
		assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 0);
		assert_int_equal(p.status, CSRTP_ERR_NO_ROOM);
		make_rtp(buf, 1, 1, 0, -1, 10);
	}
	csrtp_key_wipe(&k);
}

static void test_window_size_limits(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream s;

	make_key(e, &k, 16, 21);
	assert_int_equal(csrtp_stream_init(&s, &k, UINT32_MAX, 0), -EINVAL);
	assert_int_equal(csrtp_stream_init(&s, &k, 0xfffffff0u, 0), -EINVAL);
	assert_int_equal(csrtp_stream_init(&s, &k, 1025, 0), -EINVAL);
	assert_int_equal(csrtp_stream_init(&s, &k, 1000, 0), 0);
	assert_int_equal(s.rtp.size, 1024);
	csrtp_key_wipe(&k);
}

/* A forged packet ahead of the genuine ones in a new stream's first burst
 * (seq far from theirs) must not stop them from verifying. */
static void test_forged_first_packet(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, rx;
	uint8_t bufs[9][BUF];
	struct csrtp_pkt p[9];

	make_key(e, &k, 16, 22);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	uint32_t n = make_rtp(bufs[0], 40000, 1, 0, -1, 20);
	memset(bufs[0] + n, 0x55, CSRTP_TAG_LEN);          /* garbage tag */
	p[0] = pkt(bufs[0], n + CSRTP_TAG_LEN, &rx);
	for (int i = 1; i < 9; i++) {
		uint32_t m = make_rtp(bufs[i], (uint16_t)(5 + i), 1, 0, -1, 20);
		struct csrtp_pkt q = pkt(bufs[i], m, &tx);
		assert_int_equal(csrtp_protect_burst(e, &q, 1), 1);
		p[i] = pkt(bufs[i], q.len, &rx);
	}
	assert_int_equal(csrtp_unprotect_burst(e, p, 9), 8);
	assert_int_equal(p[0].status, CSRTP_ERR_AUTH);
	for (int i = 1; i < 9; i++)
		assert_int_equal(p[i].status, CSRTP_OK);
	assert_int_equal(rx.rtp.top, 13);
	csrtp_key_wipe(&k);
}

/* A wiped key is refused, never used as an all-zero key. */
static void test_wiped_key_refused(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx;
	uint8_t buf[BUF];

	make_key(e, &k, 32, 23);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	csrtp_key_wipe(&k);
	uint32_t n = make_rtp(buf, 1, 1, 0, -1, 20);
	struct csrtp_pkt p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_NO_KEY);
	n = make_rtcp(buf, 1, 2);
	p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_NO_KEY);
}

/* SRTCP across a key change when sender and receiver disagree about whether
 * SRTP has reached the switch: the receiver tries the other key (after
 * restoring the ciphertext), for E=1 and E=0, both ways round. */
static void test_rtcp_rekey_retry(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k1, k2;
	uint8_t buf[BUF], plain[BUF];

	make_key(e, &k1, 16, 24);
	make_key(e, &k2, 16, 25);
	for (int auth_only = 0; auth_only <= 1; auth_only++) {
		for (int sender_ahead = 0; sender_ahead <= 1; sender_ahead++) {
			uint32_t fl = auth_only ? CSRTP_F_RTCP_AUTH_ONLY : 0;
			struct csrtp_stream tx, rx;
			assert_int_equal(csrtp_stream_init(&tx, &k1, 0, fl), 0);
			assert_int_equal(csrtp_stream_init(&rx, &k1, 0, fl), 0);
			assert_int_equal(csrtp_stream_rekey(&tx, &k2, 100), 0);
			assert_int_equal(csrtp_stream_rekey(&rx, &k2, 100), 0);
			/* both have seen SRTP up to 99; one of them also 100 */
			for (uint16_t seq = 90; seq <= 100; seq++) {
				uint32_t n = make_rtp(buf, seq, 1, 0, -1, 10);
				struct csrtp_pkt p = pkt(buf, n, &tx);
				if (seq == 100 && !sender_ahead)
					continue;
				assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
				if (seq == 100)
					continue;        /* lost before the receiver */
				p = pkt(buf, p.len, &rx);
				assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 1);
			}
			if (!sender_ahead) {
				/* the receiver saw 100, the sender did not send it yet */
				rx.rtp.top = 100;
			}
			uint32_t n = make_rtcp(plain, 1, 4);
			memcpy(buf, plain, n);
			struct csrtp_pkt p = pkt(buf, n, &tx);
			assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
			p = pkt(buf, p.len, &rx);
			assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 1);
			assert_int_equal(p.len, n);
			assert_memory_equal(buf, plain, n);
		}
	}
	/* a stream that sends no RTP switches SRTCP at once */
	struct csrtp_stream tx, rx_new;
	assert_int_equal(csrtp_stream_init(&tx, &k1, 0, 0), 0);
	assert_int_equal(csrtp_stream_rekey(&tx, &k2, 1000), 0);
	assert_int_equal(csrtp_stream_init(&rx_new, &k2, 0, 0), 0);
	uint32_t n = make_rtcp(buf, 1, 2);
	struct csrtp_pkt p = pkt(buf, n, &tx);
	assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
	p = pkt(buf, p.len, &rx_new);
	assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 1);
	csrtp_key_wipe(&k1);
	csrtp_key_wipe(&k2);
}

/* ---- AES-CM + HMAC-SHA1 (RFC 3711) ------------------------------------------- */

#define CM80 CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80
#define CM32 CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32

static void make_cm_key(struct csrtp_engine *e, struct csrtp_key *k, enum csrtp_profile prof,
			uint8_t seed)
{
	uint8_t key[16], salt[CSRTP_CM_SALT_LEN];
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(seed * 5 + i);
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(seed * 11 + i);
	assert_int_equal(csrtp_key_init_salt(e, k, prof, key, 16, salt, sizeof(salt)), 0);
}

/* prot (len octets) is accepted once on rx, coming out as plain (when not
 * NULL), then refused as a replay. */
static void accept_once(struct csrtp_engine *e, struct csrtp_stream *rx, int rtcp,
			const uint8_t *prot, size_t len, const uint8_t *plain, size_t plen)
{
	uint8_t buf[BUF];

	for (int again = 0; again <= 1; again++) {
		memcpy(buf, prot, len);
		struct csrtp_pkt p = pkt(buf, (uint32_t)len, rx);
		unsigned ok = rtcp ? csrtp_rtcp_unprotect_burst(e, &p, 1) :
				     csrtp_unprotect_burst(e, &p, 1);
		if (again) {
			assert_int_equal(ok, 0);
			assert_int_equal(p.status, CSRTP_ERR_REPLAY);
		} else if (ok != 1) {
			fail_msg("unprotect: %s", csrtp_status_str(p.status));
		} else if (plain != NULL) {
			assert_int_equal(p.len, plen);
			assert_memory_equal(buf, plain, plen);
		}
	}
}

/*
 * One srtp_aescm_sha1.json packet under prof, both ways, byte for byte.
 * Under _32 the SRTP tag is the leftmost 32 bits of the 80-bit one (RFC 3711
 * s. 4.2: the tag is the leftmost bits of the HMAC), so the expected packet
 * is the vector's without the last 6 octets; SRTCP keeps 80 bits in both.
 */
static void run_cm_vector(struct csrtp_engine *e, const struct vec_cm *v, enum csrtp_profile prof)
{
	struct csrtp_key k;
	struct csrtp_stream tx, rx;
	uint8_t buf[BUF];
	size_t want = v->prot.n - (!v->rtcp && prof == CM32 ? 6 : 0);
	uint32_t flags = v->rtcp && !v->e_flag ? CSRTP_F_RTCP_AUTH_ONLY : 0;

	assert_int_equal(csrtp_key_init_salt(e, &k, prof, v->master_key.p, v->master_key.n,
					    v->master_salt.p, v->master_salt.n), 0);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, flags), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, flags), 0);
	tx.roc_init = rx.roc_init = v->roc;
	tx.srtcp_next = v->srtcp_index;

	memcpy(buf, v->plain.p, v->plain.n);
	struct csrtp_pkt p = pkt(buf, (uint32_t)v->plain.n, &tx);
	unsigned ok = v->rtcp ? csrtp_rtcp_protect_burst(e, &p, 1) : csrtp_protect_burst(e, &p, 1);
	if (ok != 1)
		fail_msg("%s: protect: %s", v->id, csrtp_status_str(p.status));
	assert_int_equal(p.len, want);
	assert_memory_equal(buf, v->prot.p, want);

	accept_once(e, &rx, v->rtcp, v->prot.p, want, v->plain.p, v->plain.n);
	csrtp_key_wipe(&k);
}

/* The session keys a vector lists, from its master key by our KDF (the SRTP
 * labels 0x00-0x02 or the SRTCP ones 0x03-0x05, RFC 3711 s. 4.3.2). */
static void check_cm_session_keys(struct csrtp_engine *e, const struct vec_cm *v)
{
	uint8_t out[64];
	const struct { uint8_t label; const struct bytes *want; } d[] = {
		{ v->rtcp ? 0x03 : 0x00, &v->session_key },
		{ v->rtcp ? 0x04 : 0x01, &v->session_auth_key },
		{ v->rtcp ? 0x05 : 0x02, &v->session_salt },
	};
	assert_int_equal(v->master_salt.n, CSRTP_KDF_SALT_LEN);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(csrtp_kdf_derive(csrtp_engine_mgr(e), v->master_key.p,
						 v->master_key.n, v->master_salt.p, d[i].label,
						 out, d[i].want->n), 0);
		assert_memory_equal(out, d[i].want->p, d[i].want->n);
	}
}

/* Every srtp_aescm_sha1.json vector: the AES_CM_128_HMAC_SHA1_80 packets
 * under both 128-bit profiles, on every architecture the CPU has; the AES-256
 * ones (no DTLS-SRTP profile number, not an engine profile) down to their
 * session keys; the AES-192 extras are not run (the KDF has no AES-192). */
static void test_aescm_vectors_all_archs(void **state)
{
	(void)state;
	int ran = 0;
	unsigned packets = 0, kdf_only = 0;

	assert_int_equal(N_VEC_CM_MAIN, 3);
	for (size_t a = 0; a < sizeof(archs) / sizeof(archs[0]); a++) {
		struct csrtp_engine *e = csrtp_engine_create(archs[a]);
		if (e == NULL)
			continue;
		for (size_t i = 0; i < N_VEC_CM; i++) {
			const struct vec_cm *v = &vec_cm[i];
			if (strcmp(v->suite, "AES_CM_128_HMAC_SHA1_80") == 0) {
				check_cm_session_keys(e, v);
				run_cm_vector(e, v, CM80);
				run_cm_vector(e, v, CM32);
				packets++;
			} else if (v->master_key.n == 32) {
				check_cm_session_keys(e, v);
				kdf_only++;
			}
		}
		csrtp_engine_destroy(e);
		ran++;
	}
	assert_true(ran >= 1);
	assert_int_equal(packets, 2u * (unsigned)ran);
	assert_int_equal(kdf_only, 3u * (unsigned)ran);
}

/* Keys: the AES-CM profiles need their 14-octet salt (csrtp_key_init is the
 * GCM form, with 12), no session-key form; a wipe clears the HMAC state. */
static void test_aescm_key_init(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	uint8_t key[16] = { 1 }, salt[CSRTP_CM_SALT_LEN] = { 2 };

	assert_int_equal(csrtp_key_init(e, &k, CM80, key, 16, salt), -EINVAL);
	assert_int_equal(csrtp_key_init_salt(e, &k, CM80, key, 16, salt, 12), -EINVAL);
	assert_int_equal(csrtp_key_init_salt(e, &k, CM32, key, 32, salt, 14), -EINVAL);
	assert_int_equal(csrtp_key_init_salt(e, &k, CSRTP_PROFILE_AEAD_AES_128_GCM, key, 16,
					    salt, 14), -EINVAL);
	assert_int_equal(csrtp_key_init_session(e, &k, CM80, key, salt, key, salt, 16), -EINVAL);
	assert_int_equal(csrtp_key_init_salt(e, &k, CSRTP_PROFILE_AEAD_AES_128_GCM, key, 16,
					    salt, 12), 0);
	assert_int_equal(k.cm, 0);
	assert_int_equal(csrtp_key_init_salt(e, &k, CM32, key, 16, salt, 14), 0);
	assert_int_equal(k.cm, 1);
	assert_int_equal(k.cm_keys.rtp_tag_len, 4);
	csrtp_key_wipe(&k);
	static const struct csrtp_key zero;
	assert_memory_equal(&k, &zero, sizeof(k));
}

/* Every single-bit flip of an SRTP packet (CSRCs, extension, tag) and of an
 * SRTCP packet (E=1 and E=0) is refused under both profiles; the genuine
 * packet then verifies once and its replay is refused. */
static void test_aescm_every_bit_flip(void **state)
{
	struct csrtp_engine *e = *state;
	uint8_t orig[BUF], buf[BUF];

	for (int prof = CM80; prof <= CM32; prof++) {
		struct csrtp_key k;
		struct csrtp_stream tx, rx;
		uint32_t tl = (uint32_t)csrtp_profile_tag_len((enum csrtp_profile)prof);

		make_cm_key(e, &k, (enum csrtp_profile)prof, 3);
		assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
		assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
		uint32_t len = make_rtp(orig, 65535, 0xabcdef01, 2, 1, 40);
		struct csrtp_pkt p = pkt(orig, len, &tx);
		assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
		assert_int_equal(p.len, len + tl);
		len = p.len;
		for (uint32_t bit = 0; bit < len * 8; bit++) {
			memcpy(buf, orig, len);
			buf[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
			p = pkt(buf, len, &rx);
			assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
			assert_int_equal(p.status, expect_rtp_flip_tl(orig, len, bit, tl));
		}
		assert_false(rx.rtp.started);
		accept_once(e, &rx, 0, orig, len, NULL, 0);

		for (int auth_only = 0; auth_only <= 1; auth_only++) {
			uint32_t flags = auth_only ? CSRTP_F_RTCP_AUTH_ONLY : 0;
			assert_int_equal(csrtp_stream_init(&tx, &k, 0, flags), 0);
			assert_int_equal(csrtp_stream_init(&rx, &k, 0, flags), 0);
			len = make_rtcp(orig, 0x11223344, 6);
			p = pkt(orig, len, &tx);
			assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
			/* RFC 3711 s. 3.4: E||index, then an 80-bit tag */
			assert_int_equal(p.len, len + 4 + 10);
			assert_int_equal(orig[len] >> 7, !auth_only);
			len = p.len;
			for (uint32_t bit = 0; bit < len * 8; bit++) {
				memcpy(buf, orig, len);
				buf[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
				p = pkt(buf, len, &rx);
				assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 0);
				assert_int_equal(p.status, bit < 2 ? CSRTP_ERR_MALFORMED :
								     CSRTP_ERR_AUTH);
			}
			accept_once(e, &rx, 1, orig, len, NULL, 0);
		}
		csrtp_key_wipe(&k);
	}
}

/* Room: the 10- or 4-octet tag (which also holds the ROC while the MAC
 * runs), SRTCP's 14 octets; too short to hold a tag is refused. */
static void test_aescm_room_and_short(void **state)
{
	struct csrtp_engine *e = *state;
	uint8_t buf[BUF];

	for (int prof = CM80; prof <= CM32; prof++) {
		struct csrtp_key k;
		struct csrtp_stream tx, rx;
		uint32_t tl = (uint32_t)csrtp_profile_tag_len((enum csrtp_profile)prof);

		make_cm_key(e, &k, (enum csrtp_profile)prof, 4);
		assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
		assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
		uint32_t n = make_rtp(buf, 7, 1, 0, -1, 0);     /* empty payload */
		struct csrtp_pkt p = { .data = buf, .len = n, .cap = n + tl - 1, .stream = &tx };
		assert_int_equal(csrtp_protect_burst(e, &p, 1), 0);
		assert_int_equal(p.status, CSRTP_ERR_NO_ROOM);
		p.cap = n + tl;
		assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
		p = pkt(buf, p.len, &rx);
		assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 1);
		assert_int_equal(p.len, n);
		p = pkt(buf, 12 + tl - 1, &rx);
		assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
		assert_int_equal(p.status, CSRTP_ERR_TOO_SHORT);

		n = make_rtcp(buf, 1, 3);
		p = (struct csrtp_pkt){ .data = buf, .len = n, .cap = n + 13, .stream = &tx };
		assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 0);
		assert_int_equal(p.status, CSRTP_ERR_NO_ROOM);
		p.cap = n + 14;
		assert_int_equal(csrtp_rtcp_protect_burst(e, &p, 1), 1);
		p = pkt(buf, 8 + 13, &rx);
		assert_int_equal(csrtp_rtcp_unprotect_burst(e, &p, 1), 0);
		assert_int_equal(p.status, CSRTP_ERR_TOO_SHORT);
		csrtp_key_wipe(&k);
	}
}

/* A stream saved and restored (CSRTP_RESUME) under an AES-CM key: replays of
 * what the dead process accepted are refused, the sender goes on with its
 * ROC and never reuses an index. */
static void test_aescm_resume(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k;
	struct csrtp_stream tx, rx, tx2, rx2;
	struct csrtp_resume rt, rr;
	uint8_t a[BUF], b[BUF];

	make_cm_key(e, &k, CM80, 8);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	for (uint32_t i = 0; i < 10; i++) {
		uint32_t n = make_rtp(a, (uint16_t)(65530 + i), 1, 0, -1, 20);
		struct csrtp_pkt p = pkt(a, n, &tx);
		assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
		memcpy(b, a, p.len);
		p = pkt(a, p.len, &rx);
		assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 1);
	}
	csrtp_stream_save(&tx, &rt);
	csrtp_stream_save(&rx, &rr);
	assert_int_equal(rt.rtp, (UINT64_C(1) << 16) | 3);
	assert_int_equal(csrtp_stream_init(&tx2, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx2, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_restore(&tx2, &rt), 0);
	assert_int_equal(csrtp_stream_restore(&rx2, &rr), 0);
	/* the last packet again: refused by the restored receiver */
	struct csrtp_pkt p = pkt(b, 12 + 20 + 10, &rx2);
	assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_REPLAY);
	/* the restored sender refuses its last index, goes on past it (ROC 1) */
	uint32_t n = make_rtp(a, 3, 1, 0, -1, 20);
	p = pkt(a, n, &tx2);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 0);
	assert_int_equal(p.status, CSRTP_ERR_INDEX_REUSE);
	n = make_rtp(a, 4, 1, 0, -1, 20);
	p = pkt(a, n, &tx2);
	assert_int_equal(csrtp_protect_burst(e, &p, 1), 1);
	assert_int_equal(p.index, (UINT64_C(1) << 16) | 4);
	p = pkt(a, p.len, &rx2);
	assert_int_equal(csrtp_unprotect_burst(e, &p, 1), 1);
	csrtp_key_wipe(&k);
}

/* One batch of GCM and AES-CM streams, RTP and RTCP, with tampered packets:
 * each gets its own status (the classified groups are run separately). */
static void test_aescm_mixed_with_gcm(void **state)
{
	struct csrtp_engine *e = *state;
	enum { N = 100, NS = 4 };
	static uint8_t bufs[N][BUF], plain[N][BUF];
	uint32_t plen[N];
	struct csrtp_pkt p[N];
	struct csrtp_key k[NS];
	struct csrtp_stream tx[NS], rx[NS];

	make_key(e, &k[0], 16, 21);
	make_cm_key(e, &k[1], CM80, 22);
	make_cm_key(e, &k[2], CM32, 23);
	make_key(e, &k[3], 32, 24);
	for (int rtcp = 0; rtcp <= 1; rtcp++) {
		for (int s = 0; s < NS; s++) {
			assert_int_equal(csrtp_stream_init(&tx[s], &k[s], 0, 0), 0);
			assert_int_equal(csrtp_stream_init(&rx[s], &k[s], 0, 0), 0);
		}
		for (int i = 0; i < N; i++) {
			int s = (i * 7 + i / 5) % NS;
			plen[i] = rtcp ? make_rtcp(plain[i], (uint32_t)s, (uint32_t)(i % 9)) :
					 make_rtp(plain[i], (uint16_t)(65500 + i), (uint32_t)s,
						  i % 3, i % 4 - 1, (uint32_t)(i * 5));
			memcpy(bufs[i], plain[i], plen[i]);
			p[i] = pkt(bufs[i], plen[i], &tx[s]);
		}
		unsigned ok = rtcp ? csrtp_rtcp_protect_burst(e, p, N) : csrtp_protect_burst(e, p, N);
		assert_int_equal(ok, N);
		for (int i = 0; i < N; i++) {
			struct csrtp_stream *s = p[i].stream;
			int idx = (int)(s - tx);
			p[i] = pkt(bufs[i], p[i].len, &rx[idx]);
			if (i % 9 == 4)
				bufs[i][p[i].len - 1 - (uint32_t)(i % 3)] ^= 0x10;
		}
		ok = rtcp ? csrtp_rtcp_unprotect_burst(e, p, N) : csrtp_unprotect_burst(e, p, N);
		unsigned want = 0;
		for (int i = 0; i < N; i++) {
			if (i % 9 == 4) {
				assert_int_equal(p[i].status, CSRTP_ERR_AUTH);
				continue;
			}
			assert_int_equal(p[i].status, CSRTP_OK);
			assert_int_equal(p[i].len, plen[i]);
			assert_memory_equal(bufs[i], plain[i], plen[i]);
			want++;
		}
		assert_int_equal(ok, want);
	}
	for (int s = 0; s < NS; s++)
		csrtp_key_wipe(&k[s]);
}

static void test_profile_names(void **state)
{
	(void)state;
	assert_int_equal(csrtp_profile_from_name("AEAD_AES_128_GCM"), CSRTP_PROFILE_AEAD_AES_128_GCM);
	assert_int_equal(csrtp_profile_from_name("AEAD_AES_256_GCM"), CSRTP_PROFILE_AEAD_AES_256_GCM);
	assert_int_equal(csrtp_profile_from_name("AES_CM_128_HMAC_SHA1_80"),
			 CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(csrtp_profile_from_name("AES_CM_128_HMAC_SHA1_32"),
			 CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32);
	assert_int_equal(csrtp_profile_from_name("AES_CM_256_HMAC_SHA1_80"), CSRTP_PROFILE_NONE);
	/* the IANA DTLS-SRTP protection profile numbers (RFC 5764 s. 4.1.2) */
	assert_int_equal(CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80, 0x0001);
	assert_int_equal(CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32, 0x0002);
	assert_int_equal(csrtp_profile_key_len(CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32), 16);
	assert_int_equal(csrtp_profile_salt_len(CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80), 14);
	assert_int_equal(csrtp_profile_salt_len(CSRTP_PROFILE_AEAD_AES_256_GCM), 12);
	assert_int_equal(csrtp_profile_salt_len(CSRTP_PROFILE_NONE), 0);
	assert_int_equal(csrtp_profile_tag_len(CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80), 10);
	assert_int_equal(csrtp_profile_tag_len(CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32), 4);
	assert_int_equal(csrtp_profile_tag_len(CSRTP_PROFILE_AEAD_AES_128_GCM), 16);
	assert_string_equal(csrtp_profile_name(CSRTP_PROFILE_AEAD_AES_256_GCM), "AEAD_AES_256_GCM");
	assert_null(csrtp_profile_name(CSRTP_PROFILE_NONE));
	assert_int_equal(csrtp_profile_key_len(CSRTP_PROFILE_AEAD_AES_128_GCM), 16);
	assert_int_equal(csrtp_profile_key_len(CSRTP_PROFILE_AEAD_AES_256_GCM), 32);
	assert_string_equal(csrtp_status_str(CSRTP_ERR_AUTH), "auth failed");
	assert_string_equal(csrtp_status_str(CSRTP_STATUS_MAX), "unknown");
}

/* csrtp_engine_key_hot: whole lines, line 0 and the SRTP round keys and the
 * 8 GHASH powers every non-VAES architecture reads, an AES-CM key's SRTP
 * keys, and no further than the SRTP key (the SRTCP key is not prefetched). */
static void test_key_hot(void **state)
{
	(void)state;
	struct csrtp_engine *e = csrtp_engine_create(IMB_ARCH_NONE);
	assert_non_null(e);
	unsigned hot = csrtp_engine_key_hot(e);
	assert_int_equal(hot % 64, 0);
	assert_true(hot >= offsetof(struct csrtp_key, rtp_key) + 240 + 128);
	assert_true(hot >= offsetof(struct csrtp_key, cm_keys) +
			   offsetof(struct csrtp_cm_keys, rtp_tag_len) + 1);
	assert_true(hot <= offsetof(struct csrtp_key, rtcp_key));
	csrtp_engine_destroy(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7714_vectors_all_archs),
		cmocka_unit_test(test_selftest),
		cmocka_unit_test(test_rtp_every_bit_flip),
		cmocka_unit_test(test_rtcp_every_bit_flip),
		cmocka_unit_test(test_replay_and_window),
		cmocka_unit_test(test_late_packet_window_1024),
		cmocka_unit_test(test_sender_refuses_index_reuse),
		cmocka_unit_test(test_rtcp_replay),
		cmocka_unit_test(test_rtp_malformed),
		cmocka_unit_test(test_rtcp_malformed),
		cmocka_unit_test(test_no_room_no_key),
		cmocka_unit_test(test_key_exhaustion),
		cmocka_unit_test(test_mixed_batch),
		cmocka_unit_test(test_duplicate_in_batch),
		cmocka_unit_test(test_burst_jump_estimate),
		cmocka_unit_test(test_rekey_from_index),
		cmocka_unit_test(test_len_cap_overflow),
		cmocka_unit_test(test_window_size_limits),
		cmocka_unit_test(test_forged_first_packet),
		cmocka_unit_test(test_wiped_key_refused),
		cmocka_unit_test(test_rtcp_rekey_retry),
		cmocka_unit_test(test_profile_names),
		cmocka_unit_test(test_aescm_vectors_all_archs),
		cmocka_unit_test(test_aescm_key_init),
		cmocka_unit_test(test_aescm_every_bit_flip),
		cmocka_unit_test(test_aescm_room_and_short),
		cmocka_unit_test(test_aescm_resume),
		cmocka_unit_test(test_aescm_mixed_with_gcm),
		cmocka_unit_test(test_key_hot),
	};
	/* The whole suite with direct GCM calls (default), then with IMB bursts. */
	int fails = cmocka_run_group_tests_name("direct", tests, setup, teardown);
	fails += cmocka_run_group_tests_name("burst", tests, setup_burst, teardown);
	/* key changes at an index only the packets know (test_csrtp_rekey.c) */
	fails += _cmocka_run_group_tests("rekey direct", csrtp_rekey_tests, csrtp_rekey_ntests,
					 setup, teardown);
	fails += _cmocka_run_group_tests("rekey burst", csrtp_rekey_tests, csrtp_rekey_ntests,
					 setup_burst, teardown);
	/* MKI and key lifetime (test_csrtp_mki.c) */
	fails += _cmocka_run_group_tests("mki direct", csrtp_mki_tests, csrtp_mki_ntests,
					 setup, teardown);
	fails += _cmocka_run_group_tests("mki burst", csrtp_mki_tests, csrtp_mki_ntests,
					 setup_burst, teardown);
	/* the same key changes under the AES-CM profiles */
	csrtp_rekey_profile = CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80;
	fails += _cmocka_run_group_tests("rekey aes_cm_80", csrtp_rekey_tests, csrtp_rekey_ntests,
					 setup, teardown);
	csrtp_rekey_profile = CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32;
	fails += _cmocka_run_group_tests("rekey aes_cm_32", csrtp_rekey_tests, csrtp_rekey_ntests,
					 setup, teardown);
	/* and with MKIs: each packet names its key (test_csrtp_mki.c) */
	csrtp_rekey_mki_len = 4;
	fails += _cmocka_run_group_tests("rekey aes_cm_32 mki", csrtp_rekey_tests,
					 csrtp_rekey_ntests, setup, teardown);
	csrtp_rekey_profile = CSRTP_PROFILE_AEAD_AES_128_GCM;
	csrtp_rekey_mki_len = 1;
	fails += _cmocka_run_group_tests("rekey gcm mki", csrtp_rekey_tests, csrtp_rekey_ntests,
					 setup_burst, teardown);
	/* and with one MKI for every key: each packet names them all */
	csrtp_rekey_mki_same = true;
	fails += _cmocka_run_group_tests("rekey gcm mki shared", csrtp_rekey_tests,
					 csrtp_rekey_ntests, setup, teardown);
	csrtp_rekey_profile = CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80;
	fails += _cmocka_run_group_tests("rekey aes_cm_80 mki shared", csrtp_rekey_tests,
					 csrtp_rekey_ntests, setup_burst, teardown);
	return fails;
}
