/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp_process_burst (dataplane/worker.c, compiled in unchanged) with more
 * packets than DP_BURST: every mbuf is sent or freed (issue 14: the rest
 * used to be neither), in arrival order, and those past DP_BURST are really
 * processed (encrypted, classified, dropped); and --fragments pass never
 * passes the first fragment of media. Needs DPDK's EAL for the mbuf
 * pool: --no-huge --no-pci -m 256 and a file prefix of its own; no port.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dp.h"

#define POOL_N     511
#define KEYED_PORT 15000     /* has an OUT key */
#define BARE_PORT  15002     /* media port without a key */

enum { F_KEYED = 0, F_ARP, F_BAD_CHAIN, F_NO_KEY, F_KINDS };

static struct rte_mempool *pool;
static struct keytable *table;
static char tname[64];
static struct dp_config cfg;
static struct dp_lcore lc;

/* An IPv4 RTP frame from 10.0.0.1:port (the inside sends it), or the same
 * in IPv6 behind 9 destination-options headers (one more than the
 * classifier walks), or an ARP request. Returns the frame length. */
static uint16_t frame(uint8_t *f, int kind, uint16_t seq)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	uint16_t n = 12, port = kind == F_NO_KEY ? BARE_PORT : KEYED_PORT;
	uint8_t rtp[12 + 20] = { 0x80, 0x60, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 1,
				 0x11, 0x22, 0x33, 0x44 };
	memcpy(f, mac, 12);
	if (kind == F_ARP) {
		f[n++] = 0x08; f[n++] = 0x06;
		memset(f + n, 0, 28);
		f[n + 1] = 1; f[n + 2] = 0x08; f[n + 4] = 6; f[n + 5] = 4; f[n + 7] = 1;
		return (uint16_t)(n + 28 + 18);         /* padded to 60 */
	}
	uint16_t ulen = 8 + sizeof(rtp);
	if (kind == F_BAD_CHAIN) {
		f[n++] = 0x86; f[n++] = 0xdd;
		uint16_t pl = (uint16_t)(9 * 8 + ulen);
		uint8_t h6[40] = { 0x60, 0, 0, 0, (uint8_t)(pl >> 8), (uint8_t)pl, 60, 64 };
		h6[8] = 0x20; h6[23] = 1;               /* 2000::1 -> 2000::2 */
		h6[24] = 0x20; h6[39] = 2;
		memcpy(f + n, h6, 40);
		n += 40;
		for (int i = 0; i < 9; i++, n += 8) {
			memset(f + n, 0, 8);
			f[n] = i == 8 ? 17 : 60;
		}
	} else {
		f[n++] = 0x08; f[n++] = 0x00;
		uint16_t tot = (uint16_t)(20 + ulen);
		uint8_t h4[20] = { 0x45, 0, (uint8_t)(tot >> 8), (uint8_t)tot, 0, 0, 0x40, 0, 64, 17,
				   0, 0, 10, 0, 0, 1, 10, 0, 0, 2 };
		memcpy(f + n, h4, 20);
		n += 20;
	}
	uint8_t udp[8] = { (uint8_t)(port >> 8), (uint8_t)port, 0x9c, 0x40,
			   (uint8_t)(ulen >> 8), (uint8_t)ulen, 0, 0 };
	memcpy(f + n, udp, 8);
	memcpy(f + n + 8, rtp, sizeof(rtp));
	return (uint16_t)(n + ulen);
}

static int setup(void **state)
{
	(void)state;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=callseal-test-burst-%d", (int)getpid());
	char *eal[] = { "test_dp_burst", "--no-huge", "--no-pci", "-m", "256",
			"--log-level=error", prefix, "-l", "0", NULL };
	if (rte_eal_init(9, eal) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	pool = rte_pktmbuf_pool_create("burst", POOL_N, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL)
		return -1;

	char err[KEYTABLE_ERR_MAX];
	snprintf(tname, sizeof(tname), "test-burst-%d", (int)getpid());
	if (keytable_create(&table, tname, 8, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	struct keytable_master m;
	uint8_t key[16] = { 1, 2, 3 }, salt[KEYTABLE_MASTER_SALT_BYTES] = { 4, 5, 6 };
	struct keytable_key k;
	static const uint8_t addr[4] = { 10, 0, 0, 1 };
	keytable_key_ipv4(&k, addr, KEYED_PORT, KEYTABLE_DIR_OUT);
	if (keytable_master_set(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, key, sizeof(key), salt) != 0 ||
	    keytable_add(table, &k, KEYTABLE_MODE_STANDARD, &m, NULL, NULL) != 0)
		return -1;
	keytable_wipe(&m, sizeof(m));

	cfg = (struct dp_config){ .table = tname, .port = { 0, 1 }, .queues = 1,
				  .media_lo = 10000, .media_hi = 20000, .other_pass = true,
				  .max_flows = 16, .max_streams = 16, .window = 128 };
	/* no statistics area: the lcore counts into a private block */
	return dp_lcore_init(&lc, &cfg, table, 0, 0, NULL, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char err[KEYTABLE_ERR_MAX];
	dp_lcore_fini(&lc);
	keytable_detach(table);
	keytable_unlink(tname, err, sizeof(err));
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 0;
}

/* n frames (kinds in turn) through one dp_process_burst call from the inside. */
static void one_call(uint16_t n)
{
	static uint16_t seq = 1;
	struct rte_mbuf *pkts[POOL_N], *out[POOL_N];
	uint16_t len[POOL_N];
	unsigned avail = rte_mempool_avail_count(pool);

	assert_true(n <= POOL_N);
	if (n > 0)            /* (DPDK 22.11 refuses a bulk of 0) */
		assert_int_equal(rte_pktmbuf_alloc_bulk(pool, pkts, n), 0);
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *d = rte_pktmbuf_mtod(pkts[i], uint8_t *);
		len[i] = frame(d, i % F_KINDS, seq++);
		pkts[i]->data_len = len[i];
		pkts[i]->pkt_len = len[i];
	}
	struct rte_mbuf *in[POOL_N];
	memcpy(in, pkts, n * sizeof(pkts[0]));

	uint16_t nout = dp_process_burst(&lc, DP_PORT_INSIDE, pkts, n, out);

	/* what is sent: the keyed RTP (encrypted: 16 bytes of tag more) and the
	 * ARP (unchanged), in arrival order; the rest was freed */
	uint16_t want = 0;
	for (uint16_t i = 0; i < n; i++) {
		int kind = i % F_KINDS;
		if (kind != F_KEYED && kind != F_ARP)
			continue;
		if (want >= nout)
			fail_msg("n=%u: frame %u (kind %d) not sent", n, i, kind);
		if (out[want] != in[i])
			fail_msg("n=%u: out[%u] is not frame %u", n, want, i);
		assert_int_equal(out[want]->data_len, len[i] + (kind == F_KEYED ? 16 : 0));
		want++;
	}
	assert_int_equal(nout, want);
	rte_pktmbuf_free_bulk(out, nout);
	/* nothing kept: every mbuf is back in the pool */
	assert_int_equal(rte_mempool_avail_count(pool), avail);
}

static void test_burst_sizes(void **state)
{
	(void)state;
	static const uint16_t sizes[] = { 0, 1, DP_BURST - 1, DP_BURST, DP_BURST + 1,
					  2 * DP_BURST + 5, 100, 400 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		one_call(sizes[i]);
}

/* The IPv4 header's own checksum and lengths, and the UDP length, of a sent
 * frame whose payload grew by tag bytes (len: the frame before). */
static void assert_fixed(const struct rte_mbuf *m, uint16_t len, uint32_t tag)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t ihl = 4u * (d[14] & 0x0f);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(d + 14);

	assert_int_equal(m->data_len, len + tag);
	assert_int_equal(m->pkt_len, len + tag);
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), len + tag - 14);
	assert_int_equal((d[14 + ihl + 4] << 8) | d[14 + ihl + 5], len + tag - 14 - ihl);
	/* RFC 1071: the sum over a header with a right checksum is all ones */
	assert_int_equal(rte_raw_cksum(ip, ihl), 0xffff);
}

/* One burst of every kind, and keyed RTP with IPv4 options too (the full
 * parse, not the classifier's fast path): every sent frame's IP and UDP
 * lengths and IPv4 header checksum are right, and the counters count each
 * packet once, by what happened to it. */
static void test_headers_and_counters(void **state)
{
	(void)state;
	enum { N = DP_BURST };
	struct rte_mbuf *pkts[N], *out[N], *in[N];
	uint16_t len[N];
	struct dpstats_worker before = lc.own_stats;
	unsigned want[F_KINDS] = { 0 }, opts = 0;

	assert_int_equal(rte_pktmbuf_alloc_bulk(pool, pkts, N), 0);
	for (uint16_t i = 0; i < N; i++) {
		uint8_t *d = rte_pktmbuf_mtod(pkts[i], uint8_t *);
		int kind = i % F_KINDS;
		len[i] = frame(d, kind, (uint16_t)(1000 + i));
		if (kind == F_KEYED && i % 8 == 0) {   /* 4 bytes of NOP options */
			memmove(d + 38, d + 34, len[i] - 34u);
			memset(d + 34, 1, 4);
			d[14] = 0x46;
			d[17] = (uint8_t)(d[17] + 4);
			len[i] = (uint16_t)(len[i] + 4);
			opts++;
		}
		pkts[i]->data_len = pkts[i]->pkt_len = len[i];
		want[kind]++;
	}
	assert_true(opts > 0);
	memcpy(in, pkts, sizeof(in));
	uint16_t nout = dp_process_burst(&lc, DP_PORT_INSIDE, pkts, N, out);
	assert_int_equal(nout, want[F_KEYED] + want[F_ARP]);
	for (uint16_t i = 0, o = 0; i < N; i++) {
		int kind = i % F_KINDS;
		if (kind == F_KEYED)
			assert_fixed(out[o], len[i], 16);
		if (kind == F_KEYED || kind == F_ARP)
			assert_ptr_equal(out[o++], in[i]);
	}
	rte_pktmbuf_free_bulk(out, nout);

	const struct dpstats_worker *a = &lc.own_stats;
	assert_int_equal(a->encrypted - before.encrypted, want[F_KEYED]);
	assert_int_equal(a->passed - before.passed, want[F_ARP]);
	assert_int_equal(a->drop[DP_DROP_MALFORMED] - before.drop[DP_DROP_MALFORMED],
			 want[F_BAD_CHAIN]);
	assert_int_equal(a->drop[DP_DROP_NO_STREAM] - before.drop[DP_DROP_NO_STREAM],
			 want[F_NO_KEY]);
	uint64_t drops = 0;
	for (int d = 0; d < DP_DROP_MAX; d++)
		drops += a->drop[d] - before.drop[d];
	assert_int_equal(drops, want[F_BAD_CHAIN] + want[F_NO_KEY]);
}

/* --fragments pass: a later fragment passes, the first fragment of UDP on a
 * media port never does (docs/dataplane.md, "Fragments"). */
static void test_fragments_pass(void **state)
{
	(void)state;
	struct rte_mbuf *pkts[3], *out[3];
	unsigned avail = rte_mempool_avail_count(pool);
	assert_int_equal(rte_pktmbuf_alloc_bulk(pool, pkts, 3), 0);
	for (int i = 0; i < 3; i++) {
		uint8_t *d = rte_pktmbuf_mtod(pkts[i], uint8_t *);
		uint16_t len = frame(d, F_NO_KEY, 7);
		if (i == 0)
			d[14 + 6] = 0x20;                       /* MF, offset 0: first */
		else if (i == 1)
			d[14 + 7] = 0x03;                       /* offset 24: later */
		else {
			d[14 + 6] = 0x20;                       /* first, off the media ports */
			d[34] = 0x23; d[35] = 0x28;             /* source port 9000 */
		}
		pkts[i]->data_len = pkts[i]->pkt_len = len;
	}
	struct rte_mbuf *later = pkts[1], *other = pkts[2];
	cfg.fragments_pass = true;
	uint16_t nout = dp_process_burst(&lc, DP_PORT_INSIDE, pkts, 3, out);
	cfg.fragments_pass = false;
	assert_int_equal(nout, 2);
	assert_ptr_equal(out[0], later);
	assert_ptr_equal(out[1], other);
	rte_pktmbuf_free_bulk(out, nout);
	assert_int_equal(rte_mempool_avail_count(pool), avail);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_sizes),
		cmocka_unit_test(test_fragments_pass),
		cmocka_unit_test(test_headers_and_counters),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
