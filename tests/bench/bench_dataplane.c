/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callseal-bench-dataplane: the dataplane's burst path through real PMDs,
 * measured side by side with its parts in one run (the machines are shared
 * and noisy: compare ratios measured together, not figures across runs).
 *
 *   pipeline  rte_eth_rx_burst (net_ring port) + dp_process_burst +
 *             rte_eth_tx_burst (net_null port): worker.c's path, unchanged
 *   I/O only  the same with lc->crypto_off: rx, classify, key-table flow and
 *             SSRC stream look-up, header fix-up, tx; no AES-GCM
 *   raw       IMB_AESxxx_GCM_ENC/DEC per packet (12-byte AAD, in place) on
 *             the same packets' RTP payloads, with the flow's session key;
 *             AES-CM flows: the same packets' IMB_CIPHER_CNTR +
 *             IMB_AUTH_HMAC_SHA_1 jobs, all submitted, then flushed
 *             (multi-buffer)
 *   raw PMD   rte_eth_rx_burst (net_ring) + rte_eth_tx_burst (net_null) of
 *             the same frames, nothing in between: with raw, the bound of
 *             table 1 (the "I/O only" figure includes classification, the
 *             look-ups and the header fix-up, so it is not the raw PMD cost)
 *   no books  the pipeline on a second per-lcore context that keeps no
 *             books in shared memory: its totals in private memory, no
 *             statistics flow rows, no resume rows (what those cost: the
 *             pipeline against it, table 1)
 *
 * Before every burst an untimed generator on the same lcore allocates 32
 * mbufs, writes Ethernet/IPv4/UDP/RTP frames with fresh sequence numbers
 * (inbound: protected as real SRTP by its own csrtp engine with the flow's
 * master key) and enqueues them to the ring behind the rx port. Only the rx
 * burst, the processing and the tx burst are timed (TSC). Every packet must
 * come out encrypted or decrypted, or the benchmark stops: a benchmark that
 * measures drops is wrong.
 *
 * The workers count into a statistics area of their own (include/callseal/
 * dpstats.h: totals and a row per flow), as the dataplane does.
 *
 * Five tables: (1) one worker, one stream, AES-128/256-GCM and
 * AES_CM_128_HMAC_SHA1_80/_32, 160/1200-byte payloads; (2) one stream against many (default 100,000 key-table entries,
 * packets in random order); (3) one worker against two running at once;
 * (4) a flood of forged SRTP (random SSRCs, garbage tags) on one keyed flow
 * against that flow's real traffic (issue 14: every forged packet must cost
 * bounded work; they are all dropped as unverified, which it checks);
 * (5) many streams, 1 to 1,000,000, with a static key table and with a busy
 * control (issue 17; table_streams below).
 * Each figure is the median of the rounds; rounds interleave the variants.
 * Every printed row is also a CSV row for scripts/bench's report
 * (bench_csv), and the goals are bench_goal rows.
 *
 * usage: callseal-bench-dataplane [--quick] [--rounds N] [--bursts N]
 *                                 [--streams N] [--workers-max 1|2]
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_version.h>

#include "bench_cm.h"
#include "bench_util.h"
#include "dp.h"

/* ---- frames -------------------------------------------------------------- */

#define ETH_LEN      14
#define IP_OFF       ETH_LEN
#define UDP_OFF      (IP_OFF + 20)
#define RTP_OFF      (UDP_OFF + 8)          /* 42: no VLAN, no IP options */
#define RTP_HDR      CSRTP_RTP_HDR_LEN
#define MAX_PAYLOAD  1200
#define MAX_FRAME    (RTP_OFF + RTP_HDR + MAX_PAYLOAD + CSRTP_TAG_LEN)
#define REMOTE_PORT  5004
#define LOCAL_PORT0  20000
#define PORTS_PER_ADDR 25000u               /* local ports 20000-44999 per address */
#define STREAMS_MAX  1000000u

enum { ENC = 0, DEC = 1 };                  /* outbound (protect), inbound (unprotect) */
static const char *const dir_name[2] = { "encrypt", "decrypt" };
static const uint32_t sizes[] = { 160, 1200 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* Frame templates per direction and payload size; local address and port,
 * SSRC and sequence number are written per packet. */
static uint8_t tmpl[2][NSIZES][MAX_FRAME] __rte_cache_aligned;

/* ---- flows, as the generator sees them ----------------------------------- */

struct bflow {
	uint8_t addr[4];                 /* local IPv4 address */
	uint16_t port;                   /* local UDP port */
	uint16_t seq[2];                 /* next RTP sequence number per direction */
	uint32_t ssrc[2];
	const struct csrtp_key *gkey;    /* the generator's expansion of the master key */
	struct csrtp_stream gtx;         /* the remote sender of inbound SRTP */
};

/* A set of flows a variant cycles through. */
struct fset {
	struct bflow *fl;
	uint32_t n;
	uint32_t *order;                 /* a random permutation when n > 1 */
	uint32_t pos;
};

enum { SET_W0 = 0, SET_W1, SET_W0_256, SET_MANY, SET_W0_CM80, SET_W0_CM32, NSETS };
#define CM_FLOWS 2                  /* flows of SET_W0_CM80/_CM32, after the many */

/* ---- workers -------------------------------------------------------------- */

struct worker {
	struct dp_lcore lc;              /* the dataplane's own per-lcore context */
	struct dp_lcore bare;            /* the same without statistics or resume rows */
	struct dp_config cfg[2];         /* per direction: which port is which */
	unsigned lcore;
	uint16_t ring_port, null_port;
	struct rte_ring *rxr, *txr;
	struct rte_mempool *pool;
	struct csrtp_engine *gen;        /* the generator's engine; raw crypto's IMB_MGR */
	IMB_MGR *mgr;
	uint16_t scratch_seq;            /* for frames that no receiver checks */
	uint64_t *ticks;                 /* per-burst TSC cycles of one sample, x2 */
} __rte_cache_aligned;

static struct worker *workers[2];
static unsigned nworkers;
static struct fset sets[NSETS];
/* the key table while this process is its writer, removed by die() */
static struct keytable *table_writer;
static char table_name[KEYTABLE_NAME_MAX];
/* the workers' statistics area, removed by die() and at the end */
static struct dpstats *stats_area;
static struct dpstats *stats_area5;      /* table 5's */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "callseal-bench-dataplane: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (table_writer != NULL) {
		char err[KEYTABLE_ERR_MAX];
		keytable_detach(table_writer);
		keytable_unlink(table_name, err, sizeof(err));
	}
	dpstats_destroy(stats_area);
	dpstats_destroy(stats_area5);
	exit(1);
}

static void build_templates(void)
{
	static const uint8_t remote[4] = { 192, 0, 2, 1 };

	for (int d = 0; d < 2; d++) {
		for (size_t si = 0; si < NSIZES; si++) {
			uint8_t *b = tmpl[d][si];
			uint32_t rtplen = RTP_HDR + sizes[si] + (d == DEC ? CSRTP_TAG_LEN : 0);
			memset(b, 0, MAX_FRAME);
			/* Ethernet */
			memcpy(b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
			b[12] = 0x08;
			b[13] = 0x00;
			/* IPv4: the local address (outbound source, inbound destination)
			 * is written per packet */
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + IP_OFF);
			ip->version_ihl = 0x45;
			ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + rtplen));
			ip->time_to_live = 64;
			ip->next_proto_id = IPPROTO_UDP;
			memcpy(d == ENC ? &ip->dst_addr : &ip->src_addr, remote, 4);
			/* UDP: checksum 0 (none, RFC 768) */
			uint8_t *u = b + UDP_OFF;
			uint16_t rp = rte_cpu_to_be_16(REMOTE_PORT);
			uint16_t ul = rte_cpu_to_be_16((uint16_t)(8 + rtplen));
			memcpy(u + (d == ENC ? 2 : 0), &rp, 2);
			memcpy(u + 4, &ul, 2);
			/* RTP: V=2, PT 96 */
			uint8_t *r = b + RTP_OFF;
			r[0] = 0x80;
			r[1] = 96;
			for (uint32_t i = 0; i < sizes[si]; i++)
				r[RTP_HDR + i] = (uint8_t)(i * 7 + 3);
		}
	}
}

/*
 * Untimed: allocate DP_BURST mbufs and write frames of set s for direction d.
 * real: the flows' next sequence numbers (inbound: real SRTP from the flow's
 * remote sender); otherwise scratch sequence numbers and a zero tag, for the
 * variants where no engine looks at them, so that the flows see no gap.
 */
static void generate(struct worker *w, struct fset *s, int d, size_t si, bool real,
		     struct rte_mbuf **m, struct bflow **pf)
{
	const uint32_t rtplen = RTP_HDR + sizes[si];
	uint32_t flen = RTP_OFF + rtplen + (d == DEC ? CSRTP_TAG_LEN : 0);
	const uint32_t aoff = IP_OFF + (d == ENC ? 12 : 16);     /* local address */
	const uint32_t poff = UDP_OFF + (d == ENC ? 0 : 2);      /* local port */
	struct csrtp_pkt p[DP_BURST];

	if (rte_pktmbuf_alloc_bulk(w->pool, m, DP_BURST) != 0)
		die("mbuf pool of worker %u is empty", w->lcore);
	for (unsigned i = 0; i < DP_BURST; i++) {
		struct bflow *f = &s->fl[s->n > 1 ? s->order[s->pos] : 0];
		if (s->n > 1 && ++s->pos == s->n)
			s->pos = 0;
		pf[i] = f;
		uint8_t *b = rte_pktmbuf_mtod(m[i], uint8_t *);
		memcpy(b, tmpl[d][si], flen);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(b + IP_OFF);
		if (d == DEC && f->gkey->cm) {
			/* AES-CM: a 10- or 4-octet tag, not the template's 16 */
			flen = RTP_OFF + rtplen + f->gkey->cm_keys.rtp_tag_len;
			ip->total_length = rte_cpu_to_be_16((uint16_t)(flen - IP_OFF));
			uint16_t ul = rte_cpu_to_be_16((uint16_t)(flen - UDP_OFF));
			memcpy(b + UDP_OFF + 4, &ul, 2);
		}
		m[i]->data_len = (uint16_t)flen;
		m[i]->pkt_len = flen;
		memcpy(b + aoff, f->addr, 4);
		b[poff] = (uint8_t)(f->port >> 8);
		b[poff + 1] = (uint8_t)f->port;
		uint16_t seq = real ? f->seq[d]++ : w->scratch_seq++;
		uint8_t *r = b + RTP_OFF;
		r[2] = (uint8_t)(seq >> 8);
		r[3] = (uint8_t)seq;
		r[8] = (uint8_t)(f->ssrc[d] >> 24);
		r[9] = (uint8_t)(f->ssrc[d] >> 16);
		r[10] = (uint8_t)(f->ssrc[d] >> 8);
		r[11] = (uint8_t)f->ssrc[d];
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		p[i] = (struct csrtp_pkt){ .data = r, .len = rtplen,
					  .cap = rtplen + CSRTP_TAG_LEN, .stream = &f->gtx };
	}
	if (d == DEC && real && csrtp_protect_burst(w->gen, p, DP_BURST) != DP_BURST)
		die("the generator's SRTP sender refused a packet");
}

static void fail_drops(const struct worker *w, const struct dp_lcore *lc, const char *what,
		       unsigned n, unsigned nt, unsigned sent, uint64_t done)
{
	fprintf(stderr, "callseal-bench-dataplane: %s on lcore %u: %u received, %u to send, "
		"%u sent, %lu encrypted/decrypted of %u; drops:", what, w->lcore, n, nt, sent,
		(unsigned long)done, DP_BURST);
	for (int i = 0; i < DP_DROP_MAX; i++)
		if (lc->stats->drop[i])
			fprintf(stderr, " %s=%lu", dp_drop_name((enum dp_drop)i),
				(unsigned long)lc->stats->drop[i]);
	fprintf(stderr, "\n(a benchmark that measures drops measures the wrong thing)\n");
	dpstats_destroy(stats_area);
	dpstats_destroy(stats_area5);
	exit(1);
}

/* One burst through the pipeline of lc (one of w's, on its ports); returns
 * the TSC ticks of rx + process + tx. */
static uint64_t burst_lc(struct worker *w, struct dp_lcore *lc, struct fset *s, int d,
			 size_t si, bool crypto_off, const char *what)
{
	struct rte_mbuf *m[DP_BURST], *rx[DP_BURST], *tx[DP_BURST];
	struct bflow *pf[DP_BURST];
	const int from = d == ENC ? DP_PORT_INSIDE : DP_PORT_OUTSIDE;
	const int to = d == ENC ? DP_PORT_OUTSIDE : DP_PORT_INSIDE;

	generate(w, s, d, si, !crypto_off, m, pf);
	if (rte_ring_enqueue_burst(w->rxr, (void **)m, DP_BURST, NULL) != DP_BURST)
		die("rx ring of worker %u is full", w->lcore);
	lc->cfg = &w->cfg[d];
	lc->crypto_off = crypto_off;
	const uint64_t before = d == ENC ? lc->stats->encrypted : lc->stats->decrypted;

	uint64_t t0 = bench_tsc();
	uint16_t n = rte_eth_rx_burst(w->cfg[d].port[from], lc->queue, rx, DP_BURST);
	DP_STAT_ADD(lc, rx[from], n);
	uint16_t nt = dp_process_burst(lc, from, rx, n, tx);
	uint16_t sent = nt ? rte_eth_tx_burst(w->cfg[d].port[to], lc->queue, tx, nt) : 0;
	DP_STAT_ADD(lc, tx[to], sent);
	uint64_t t = bench_tsc() - t0;

	uint64_t done = (d == ENC ? lc->stats->encrypted : lc->stats->decrypted) - before;
	if (unlikely(n != DP_BURST || nt != n || sent != nt || done != n))
		fail_drops(w, lc, what, n, nt, sent, done);
	return t;
}

static uint64_t burst_pipeline(struct worker *w, struct fset *s, int d, size_t si,
			       bool crypto_off, bool bare)
{
	return burst_lc(w, bare ? &w->bare : &w->lc, s, d, si, crypto_off,
			crypto_off ? "pipeline (crypto off)" : bare ? "pipeline (no books)" :
			"pipeline");
}

static uint64_t burst_streams(struct worker *w, struct fset *s, size_t si);

static uint64_t rng(void);

/* One burst of forged SRTP on the flow of s: random SSRCs, a zero tag.
 * Returns the TSC ticks of rx + process + tx; every packet must be dropped
 * as unverified (a forged SSRC) and nothing sent. */
static uint64_t burst_flood(struct worker *w, struct fset *s, size_t si)
{
	struct rte_mbuf *m[DP_BURST], *rx[DP_BURST], *tx[DP_BURST];
	struct bflow *pf[DP_BURST];
	struct dp_lcore *lc = &w->lc;

	generate(w, s, DEC, si, false, m, pf);
	for (unsigned i = 0; i < DP_BURST; i++) {
		uint8_t *r = rte_pktmbuf_mtod_offset(m[i], uint8_t *, RTP_OFF);
		uint32_t ssrc = (uint32_t)(rng() >> 32);
		r[8] = (uint8_t)(ssrc >> 24);
		r[9] = (uint8_t)(ssrc >> 16);
		r[10] = (uint8_t)(ssrc >> 8);
		r[11] = (uint8_t)ssrc;
	}
	if (rte_ring_enqueue_burst(w->rxr, (void **)m, DP_BURST, NULL) != DP_BURST)
		die("rx ring of worker %u is full", w->lcore);
	lc->cfg = &w->cfg[DEC];
	lc->crypto_off = false;
	const uint64_t before = lc->stats->drop[DP_DROP_UNVERIFIED];

	uint64_t t0 = bench_tsc();
	uint16_t n = rte_eth_rx_burst(w->cfg[DEC].port[DP_PORT_OUTSIDE], lc->queue, rx, DP_BURST);
	DP_STAT_ADD(lc, rx[DP_PORT_OUTSIDE], n);
	uint16_t nt = dp_process_burst(lc, DP_PORT_OUTSIDE, rx, n, tx);
	uint16_t sent = nt ? rte_eth_tx_burst(w->cfg[DEC].port[DP_PORT_INSIDE], lc->queue, tx,
					      nt) : 0;
	uint64_t t = bench_tsc() - t0;

	if (unlikely(n != DP_BURST || nt != 0 ||
		     lc->stats->drop[DP_DROP_UNVERIFIED] - before != DP_BURST)) {
		fprintf(stderr, "callseal-bench-dataplane: a forged packet was not dropped as "
			"unverified (%u received, %u sent)\n", n, sent);
		dpstats_destroy(stats_area);
		exit(1);
	}
	return t;
}

/* AES-CM flows' raw crypto: CTR + HMAC-SHA1 jobs over the RTP payloads (MAC
 * over header || payload || 4 octets, as the ROC), all submitted, then
 * flushed: intel-ipsec-mb's multi-buffer lanes filled. Frees the mbufs. */
static uint64_t burst_raw_cm(struct worker *w, struct rte_mbuf **m, struct bflow **pf, int d,
			     size_t si)
{
	uint8_t tag[DP_BURST][12], iv[16] = { 1, 2, 3 };
	const uint32_t len = sizes[si];
	IMB_MGR *mgr = w->mgr;
	unsigned done = 0;

	uint64_t t0 = bench_tsc();
	for (unsigned i = 0; i < DP_BURST; i++) {
		uint8_t *r = rte_pktmbuf_mtod_offset(m[i], uint8_t *, RTP_OFF);
		bench_cm_job(IMB_GET_NEXT_JOB(mgr), &pf[i]->gkey->cm_keys, r, len, d == ENC, iv,
			     tag[i]);
		if (IMB_SUBMIT_JOB_NOCHECK(mgr) != NULL)
			done++;
	}
	while (IMB_FLUSH_JOB(mgr) != NULL)
		done++;
	uint64_t t = bench_tsc() - t0;
	if (done != DP_BURST)
		die("raw AES-CM: %u of %u jobs completed", done, DP_BURST);
	rte_pktmbuf_free_bulk(m, DP_BURST);
	return t;
}

/* One burst of the PMDs alone: the same frames rx from the ring port and tx
 * to net_null, nothing in between (the I/O part of table 1's bound). */
static uint64_t burst_pmd(struct worker *w, struct fset *s, int d, size_t si)
{
	struct rte_mbuf *m[DP_BURST], *rx[DP_BURST];
	struct bflow *pf[DP_BURST];
	const int from = d == ENC ? DP_PORT_INSIDE : DP_PORT_OUTSIDE;
	const int to = d == ENC ? DP_PORT_OUTSIDE : DP_PORT_INSIDE;

	generate(w, s, d, si, false, m, pf);
	if (rte_ring_enqueue_burst(w->rxr, (void **)m, DP_BURST, NULL) != DP_BURST)
		die("rx ring of worker %u is full", w->lcore);
	uint64_t t0 = bench_tsc();
	uint16_t n = rte_eth_rx_burst(w->cfg[d].port[from], w->lc.queue, rx, DP_BURST);
	uint16_t sent = n ? rte_eth_tx_burst(w->cfg[d].port[to], w->lc.queue, rx, n) : 0;
	uint64_t t = bench_tsc() - t0;
	if (unlikely(n != DP_BURST || sent != n))
		die("raw PMD: %u received, %u sent of %u", n, sent, DP_BURST);
	return t;
}

/* One burst of raw intel-ipsec-mb AES-GCM on the same frames' RTP payloads. */
static uint64_t burst_raw(struct worker *w, struct fset *s, int d, size_t si)
{
	struct rte_mbuf *m[DP_BURST];
	struct bflow *pf[DP_BURST];
	uint8_t tag[DP_BURST][CSRTP_TAG_LEN];
	static const uint8_t iv[CSRTP_IV_LEN] = { 1, 2, 3 };
	struct gcm_context_data ctx;
	const uint64_t len = sizes[si];
	IMB_MGR *mgr = w->mgr;

	generate(w, s, d, si, false, m, pf);
	if (pf[0]->gkey->cm)
		return burst_raw_cm(w, m, pf, d, si);
	uint64_t t0 = bench_tsc();
	for (unsigned i = 0; i < DP_BURST; i++) {
		uint8_t *r = rte_pktmbuf_mtod_offset(m[i], uint8_t *, RTP_OFF);
		const struct csrtp_key *k = pf[i]->gkey;
		if (k->key_len == 16) {
			if (d == ENC)
				IMB_AES128_GCM_ENC(mgr, &k->rtp_key, &ctx, r + RTP_HDR, r + RTP_HDR,
						   len, iv, r, RTP_HDR, tag[i], CSRTP_TAG_LEN);
			else
				IMB_AES128_GCM_DEC(mgr, &k->rtp_key, &ctx, r + RTP_HDR, r + RTP_HDR,
						   len, iv, r, RTP_HDR, tag[i], CSRTP_TAG_LEN);
		} else {
			if (d == ENC)
				IMB_AES256_GCM_ENC(mgr, &k->rtp_key, &ctx, r + RTP_HDR, r + RTP_HDR,
						   len, iv, r, RTP_HDR, tag[i], CSRTP_TAG_LEN);
			else
				IMB_AES256_GCM_DEC(mgr, &k->rtp_key, &ctx, r + RTP_HDR, r + RTP_HDR,
						   len, iv, r, RTP_HDR, tag[i], CSRTP_TAG_LEN);
		}
	}
	uint64_t t = bench_tsc() - t0;
	rte_pktmbuf_free_bulk(m, DP_BURST);
	return t;
}

enum { VAR_PIPE = 0, VAR_IO, VAR_RAW, VAR_BARE, VAR_PMD, VAR_FLOOD, VAR_STREAMS };

static uint64_t burst_var(struct worker *w, int var, struct fset *s, int d, size_t si)
{
	switch (var) {
	case VAR_STREAMS: return burst_streams(w, s, si);
	case VAR_RAW:   return burst_raw(w, s, d, si);
	case VAR_PMD:   return burst_pmd(w, s, d, si);
	case VAR_FLOOD: return burst_flood(w, s, si);
	case VAR_BARE:  return burst_pipeline(w, s, d, si, false, true);
	default:        return burst_pipeline(w, s, d, si, var == VAR_IO, false);
	}
}

/* Untimed warm-up: nb bursts, nothing recorded. */
static void warm_up(struct worker *w, int var, struct fset *s, int d, size_t si, unsigned nb)
{
	for (unsigned i = 0; i < nb; i++)
		(void)burst_var(w, var, s, d, si);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Bursts that took longer than this many times the sample's median burst
 * were interrupted or preempted (2 shared cores): left out of the mean. */
#define OUTLIER_X 3

static uint64_t bursts_total, bursts_left_out;

/*
 * One sample: nb bursts of one variant, each timed on its own. Returns TSC
 * cycles per packet: the mean of the bursts, without the interrupted ones.
 */
static double run_bursts(struct worker *w, int var, struct fset *s, int d, size_t si,
			 unsigned nb)
{
	uint64_t *t = w->ticks, sum = 0;
	unsigned kept = 0;

	for (unsigned i = 0; i < nb; i++)
		t[i] = burst_var(w, var, s, d, si);
	memcpy(t + nb, t, nb * sizeof(*t));
	qsort(t + nb, nb, sizeof(*t), cmp_u64);
	const uint64_t limit = OUTLIER_X * t[nb + nb / 2];
	for (unsigned i = 0; i < nb; i++) {
		if (t[i] <= limit) {
			sum += t[i];
			kept++;
		}
	}
	__atomic_add_fetch(&bursts_total, nb, __ATOMIC_RELAXED);
	__atomic_add_fetch(&bursts_left_out, nb - kept, __ATOMIC_RELAXED);
	return (double)sum / ((double)kept * DP_BURST);
}

/* ---- two workers at once -------------------------------------------------- */

struct job {
	struct worker *w;
	struct fset *s;
	int d;
	size_t si;
	unsigned bursts;
	unsigned expect;                 /* workers that start together */
	double cyc;                      /* cycles/packet (timed parts) */
	uint64_t wall;                   /* the whole loop, generator included */
};

static unsigned arrived;

static int job_run(void *arg)
{
	struct job *j = arg;
	/* start together: both lcores spin until both are here */
	__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < j->expect)
		rte_pause();
	uint64_t t0 = bench_tsc();
	j->cyc = run_bursts(j->w, VAR_PIPE, j->s, j->d, j->si, j->bursts);
	j->wall = bench_tsc() - t0;
	return 0;
}

/* Run jobs[0] on this lcore and jobs[1..n) on the workers' lcores, at once. */
static void run_jobs(struct job *jobs, unsigned n)
{
	__atomic_store_n(&arrived, 0, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < n; i++)
		jobs[i].expect = n;
	for (unsigned i = 1; i < n; i++)
		if (rte_eal_remote_launch(job_run, &jobs[i], jobs[i].w->lcore) != 0)
			die("cannot launch lcore %u", jobs[i].w->lcore);
	job_run(&jobs[0]);
	for (unsigned i = 1; i < n; i++)
		rte_eal_wait_lcore(jobs[i].w->lcore);
}

/* ---- set-up --------------------------------------------------------------- */

static void port_start(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	int ret, sock = rte_eth_dev_socket_id(port);

	memset(&conf, 0, sizeof(conf));
	if (sock < 0)
		sock = 0;
	if ((ret = rte_eth_dev_configure(port, 1, 1, &conf)) != 0 ||
	    (ret = rte_eth_rx_queue_setup(port, 0, 256, (unsigned)sock, NULL, pool)) != 0 ||
	    (ret = rte_eth_tx_queue_setup(port, 0, 256, (unsigned)sock, NULL)) != 0 ||
	    (ret = rte_eth_dev_start(port)) != 0)
		rte_exit(EXIT_FAILURE, "cannot start port %u: %s\n", port, rte_strerror(-ret));
}

static struct worker *worker_create(unsigned idx, unsigned lcore, const char *tname,
				    const struct keytable *t, uint32_t max_flows, unsigned max_bursts)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	struct worker *w = aligned_alloc(RTE_CACHE_LINE_SIZE, sizeof(*w));
	int ret;

	if (w == NULL)
		die("out of memory");
	memset(w, 0, sizeof(*w));
	w->lcore = lcore;
	int sock = (int)rte_lcore_to_socket_id(lcore);

	snprintf(name, sizeof(name), "bench_mb%u", idx);
	w->pool = rte_pktmbuf_pool_create(name, 2047, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, sock);
	if (w->pool == NULL)
		rte_exit(EXIT_FAILURE, "cannot create mbuf pool: %s\n", rte_strerror(rte_errno));

	/* rx: a ring-backed port the generator fills; tx: net_null, which frees */
	snprintf(name, sizeof(name), "bench_rx%u", idx);
	w->rxr = rte_ring_create(name, 64, sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "bench_tx%u", idx);
	w->txr = rte_ring_create(name, 64, sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->rxr == NULL || w->txr == NULL)
		rte_exit(EXIT_FAILURE, "cannot create rings: %s\n", rte_strerror(rte_errno));
	snprintf(name, sizeof(name), "bench_ring%u", idx);
	ret = rte_eth_from_rings(name, &w->rxr, 1, &w->txr, 1, (unsigned)sock);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "rte_eth_from_rings: %s\n", rte_strerror(rte_errno));
	w->ring_port = (uint16_t)ret;
	snprintf(name, sizeof(name), "net_null%u", idx);
	if (rte_eth_dev_get_port_by_name(name, &w->null_port) != 0)
		rte_exit(EXIT_FAILURE, "no port %s (EAL --vdev)\n", name);
	port_start(w->ring_port, w->pool);
	port_start(w->null_port, w->pool);

	/* encrypt: frames arrive on the inside (the ring port); decrypt: the
	 * same ring port plays the outside. Both leave through net_null. */
	for (int d = 0; d < 2; d++) {
		struct dp_config *c = &w->cfg[d];
		c->table = tname;
		c->port[d == ENC ? DP_PORT_INSIDE : DP_PORT_OUTSIDE] = w->ring_port;
		c->port[d == ENC ? DP_PORT_OUTSIDE : DP_PORT_INSIDE] = w->null_port;
		c->queues = 1;
		c->media_lo = 1024;
		c->media_hi = 65535;
		c->other_pass = true;
		c->max_flows = max_flows;
		c->max_streams = max_flows;
		c->window = 128;
		/* net_null offers no checksum offload: IPv4 header checksum in
		 * software, UDP checksum 0, as the dataplane does on such ports */
	}
	if ((ret = dp_lcore_init(&w->lc, &w->cfg[ENC], t, lcore, 0, dpstats_worker(stats_area, idx),
				 dpstats_flows(stats_area, idx))) != 0)
		die("dp_lcore_init: %s", strerror(-ret));
	/* the streams' resume rows, as callseal-dataplane gives them (there a
	 * shared mapping of /dev/shm; the same cost to the worker) */
	size_t rbytes = (size_t)dp_resume_rows(&w->cfg[ENC]) * sizeof(struct resume_row);
	void *rrows = mmap(NULL, rbytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	if (rrows == MAP_FAILED)
		die("resume rows: %s", strerror(errno));
	dp_lcore_resume(&w->lc, NULL, rrows);
	if ((ret = dp_lcore_init(&w->bare, &w->cfg[ENC], t, lcore, 0, NULL, NULL)) != 0)
		die("dp_lcore_init: %s", strerror(-ret));
	w->gen = csrtp_engine_create(IMB_ARCH_NONE);
	if (w->gen == NULL)
		die("intel-ipsec-mb has no usable architecture on this CPU");
	w->mgr = csrtp_engine_mgr(w->gen);
	w->scratch_seq = 0x8000;
	w->ticks = calloc(2 * (size_t)max_bursts, sizeof(*w->ticks));
	if (w->ticks == NULL)
		die("out of memory");
	return w;
}

static void worker_destroy(struct worker *w)
{
	dp_lcore_fini(&w->lc);
	dp_lcore_fini(&w->bare);
	csrtp_engine_destroy(w->gen);
	rte_eth_dev_stop(w->ring_port);
	rte_eth_dev_close(w->ring_port);
	rte_eth_dev_stop(w->null_port);
	rte_eth_dev_close(w->null_port);
	rte_ring_free(w->rxr);
	rte_ring_free(w->txr);
	rte_mempool_free(w->pool);
	free(w->ticks);
	free(w);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

/*
 * Flows 0, 1: one AES-128 stream each for workers 0 and 1; flow 2: one
 * AES-256 stream; flows 3..3+nmany: the many-stream set (AES-128); then one
 * AES_CM_128_HMAC_SHA1_80 and one _32 stream (CM_FLOWS). Each flow
 * has an outbound and an inbound key-table entry with the same master key.
 */
static struct bflow *flows_setup(struct keytable *t, uint32_t nmany, struct csrtp_engine *e,
				 struct csrtp_key **keys_out)
{
	const uint32_t nflows = 3 + nmany + CM_FLOWS;
	struct bflow *fl = calloc(nflows, sizeof(*fl));
	struct csrtp_key *keys = aligned_alloc(64, (size_t)nflows * sizeof(*keys));
	uint8_t call_id[KEYTABLE_CALL_ID_BYTES] = { 0 };

	if (fl == NULL || keys == NULL)
		die("out of memory for %u flows", nflows);
	for (uint32_t i = 0; i < nflows; i++) {
		struct bflow *f = &fl[i];
		unsigned prof = i == 2 ? KEYTABLE_PROFILE_AEAD_AES_256_GCM
				       : KEYTABLE_PROFILE_AEAD_AES_128_GCM;
		if (i >= 3 + nmany)
			prof = i == 3 + nmany ? KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80
					      : KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32;
		size_t kl = keytable_master_key_len(prof);
		size_t sl = keytable_master_salt_len(prof);
		uint8_t key[32], salt[CSRTP_MAX_SALT_LEN];
		struct keytable_master m;
		int ret;

		if (i < 3 || i >= 3 + nmany) {
			uint32_t a = i < 3 ? 1 + i : 4 + (i - 3 - nmany);
			f->addr[0] = 10; f->addr[1] = 0; f->addr[2] = 0; f->addr[3] = (uint8_t)a;
			f->port = LOCAL_PORT0;
		} else {
			uint32_t j = i - 3;
			f->addr[0] = 10; f->addr[1] = 1;
			f->addr[2] = (uint8_t)(j / PORTS_PER_ADDR); f->addr[3] = 1;
			f->port = (uint16_t)(LOCAL_PORT0 + j % PORTS_PER_ADDR);
		}
		f->seq[ENC] = f->seq[DEC] = 1;
		f->ssrc[ENC] = 0x10000000u + i;
		f->ssrc[DEC] = 0x20000000u + i;
		for (size_t b = 0; b < sizeof(key); b++)
			key[b] = (uint8_t)(rng() >> 56);
		for (size_t b = 0; b < sizeof(salt); b++)
			salt[b] = (uint8_t)(rng() >> 56);
		if (keytable_master_set_salt(&m, prof, key, kl, salt, sl) != 0)
			die("keytable_master_set_salt");
		for (int d = 0; d < 2; d++) {
			struct keytable_key k;
			keytable_key_ipv4(&k, f->addr, f->port, d == ENC ? KEYTABLE_DIR_OUT
									: KEYTABLE_DIR_IN);
			memcpy(call_id, &i, sizeof(i));
			if ((ret = keytable_add(t, &k, KEYTABLE_MODE_STANDARD, &m, call_id, NULL)) != 0)
				die("keytable_add: %s", keytable_last_error(t));
		}
		if (csrtp_key_init_salt(e, &keys[i], (enum csrtp_profile)prof, key, kl, salt, sl) != 0 ||
		    csrtp_stream_init(&f->gtx, &keys[i], 0, 0) != 0)
			die("csrtp_key_init");
		f->gkey = &keys[i];
		keytable_wipe(&m, sizeof(m));
		keytable_wipe(key, sizeof(key));
	}
	sets[SET_W0] = (struct fset){ .fl = &fl[0], .n = 1 };
	sets[SET_W1] = (struct fset){ .fl = &fl[1], .n = 1 };
	sets[SET_W0_256] = (struct fset){ .fl = &fl[2], .n = 1 };
	sets[SET_MANY] = (struct fset){ .fl = &fl[3], .n = nmany };
	sets[SET_W0_CM80] = (struct fset){ .fl = &fl[3 + nmany], .n = 1 };
	sets[SET_W0_CM32] = (struct fset){ .fl = &fl[4 + nmany], .n = 1 };
	if (nmany > 1) {
		uint32_t *o = malloc(nmany * sizeof(*o));
		if (o == NULL)
			die("out of memory");
		for (uint32_t j = 0; j < nmany; j++)
			o[j] = j;
		for (uint32_t j = nmany - 1; j > 0; j--) {   /* Fisher-Yates */
			uint32_t r = (uint32_t)(rng() % (j + 1));
			uint32_t x = o[j];
			o[j] = o[r];
			o[r] = x;
		}
		sets[SET_MANY].order = o;
	}
	*keys_out = keys;
	return fl;
}

/* The EAL's runtime folder (/var/run/dpdk/<prefix>) is per process here:
 * remove it at exit so that runs leave nothing behind. */
static void remove_runtime_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	rmdir(dir);
}

/* ---- reporting ------------------------------------------------------------ */

static double hz;

static double mpps(double cyc)
{
	return hz / cyc / 1e6;
}

static double median_of(double *v, unsigned n)
{
	return bench_median(v, n);
}

/* ---- table 5: many streams, with a busy control (issue 17) ----------------- */

/*
 * One worker encrypting 160-byte packets of 1, 100,000 and 1,000,000 streams
 * (--quick: 1 and 100,000), each stream its own key-table entry (one SSRC,
 * outbound), packets in random order, on a key table of its own; and the same
 * while a control thread on that table installs and deletes CHURN_RATE
 * entries a second each (calls starting and ending: other entries than the
 * measured ones, whose deletes shift entries around). The timed part is
 * the pipeline plus one flows_sweep, as the worker's poll loop does.
 */
#define CHURN_RATE 5000u            /* entries added and deleted per second */
#define CHURN_LIVE 1000u            /* churn entries live at once */
#define CHURN_TICK_NS 200000ull     /* the writer's pace: a tick each 200 us */

static struct {
	struct dp_lcore lc;
	struct keytable *wt;             /* the control's handle (writer) */
	pthread_t th;
	bool on, stop;                   /* churning; thread to end (atomics) */
	bool idle;                       /* the thread has seen on == false */
	uint64_t ops;                    /* adds + deletes done */
} st5;

static void churn_key(struct keytable_key *k, uint32_t i)
{
	const uint8_t a[4] = { 10, 3, (uint8_t)(i >> 8), (uint8_t)i };
	keytable_key_ipv4(k, a, 30000, KEYTABLE_DIR_OUT);
}

/* The control: while on, CHURN_RATE adds and as many deletes a second,
 * paced on CLOCK_MONOTONIC (a late tick catches up, so the rate holds). */
static void *churn_run(void *arg)
{
	cpu_set_t all;
	struct keytable_master m;
	uint8_t key[16], salt[KEYTABLE_MASTER_SALT_BYTES];
	uint32_t next = 0;           /* next churn entry to add (mod 65536) */
	uint64_t due = 0, done = 0;
	struct timespec t0, now;

	/* the EAL pinned the main thread (and so this one) to the worker's
	 * CPU: the control runs on the others, as callseal-control does beside
	 * a dataplane whose lcores have cores of their own (on one CPU, there) */
	CPU_ZERO(&all);
	for (long c = 0; c < sysconf(_SC_NPROCESSORS_ONLN) && c < CPU_SETSIZE; c++)
		if (c != *(const int *)arg)
			CPU_SET((int)c, &all);
	if (CPU_COUNT(&all) > 0)
		pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
	memset(key, 0x5a, sizeof(key));
	memset(salt, 0xa5, sizeof(salt));
	if (keytable_master_set(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, key, 16, salt) != 0)
		return NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!__atomic_load_n(&st5.stop, __ATOMIC_ACQUIRE)) {
		struct timespec tick = { 0, (long)CHURN_TICK_NS };
		clock_nanosleep(CLOCK_MONOTONIC, 0, &tick, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!__atomic_load_n(&st5.on, __ATOMIC_ACQUIRE)) {
			t0 = now;
			due = done = 0;
			__atomic_store_n(&st5.idle, true, __ATOMIC_RELEASE);
			continue;
		}
		due = (uint64_t)((now.tv_sec - t0.tv_sec) * 1000000000ll + (now.tv_nsec - t0.tv_nsec)) *
		      CHURN_RATE / 1000000000ull;
		uint64_t lim = done + 64;    /* a long stall catches up over ticks */
		for (; done < due && done < lim; done++) {
			struct keytable_key k;
			churn_key(&k, next);
			if (keytable_add(st5.wt, &k, KEYTABLE_MODE_STANDARD, &m, NULL, NULL) == 0)
				__atomic_add_fetch(&st5.ops, 1, __ATOMIC_RELAXED);
			churn_key(&k, (next - CHURN_LIVE) & 0xffff);
			if (keytable_delete(st5.wt, &k) == 0)
				__atomic_add_fetch(&st5.ops, 1, __ATOMIC_RELAXED);
			next = (next + 1) & 0xffff;
		}
	}
	keytable_wipe(&m, sizeof(m));
	return NULL;
}

static uint64_t burst_streams(struct worker *w, struct fset *s, size_t si)
{
	uint64_t t = burst_lc(w, &st5.lc, s, ENC, si, false, "pipeline (many streams)");
	uint64_t t0 = bench_tsc();
	flows_sweep(st5.lc.flows);
	return t + (bench_tsc() - t0);
}

static void table_streams(struct worker *w, bool quick, int rounds, int bursts,
			  unsigned warm, double *smp)
{
	const uint32_t nmax = quick ? 100000u : STREAMS_MAX;
	const uint32_t nset[3] = { 1, 100000u, STREAMS_MAX };
	const unsigned nsets = quick ? 2 : 3;
	const size_t si = 0;                        /* 160 bytes */
	char tname[KEYTABLE_NAME_MAX], err[KEYTABLE_ERR_MAX];
	struct keytable *rt;
	struct fset fs[3];

	printf("\nAES-128-GCM encrypt, %u-byte payload, 1 worker: streams (one key-table entry and "
	       "SSRC each, random order) on a table of %u, static vs a control adding and "
	       "deleting %u entries/s each; pipeline + flows_sweep, cycles/packet (Mpps)\n",
	       sizes[si], nmax, CHURN_RATE);
	/* the table and the worker's tables, sized for nmax as a dataplane
	 * configured for it would be */
	snprintf(tname, sizeof(tname), "bench-streams-%d", (int)getpid());
	double t_setup = (double)bench_tsc();
	if (keytable_create(&st5.wt, tname, nmax + 2 * CHURN_LIVE + 64, err, sizeof(err)) != 0)
		die("%s", err);
	table_writer = st5.wt;
	snprintf(table_name, sizeof(table_name), "%s", tname);
	struct bflow *fl = calloc(nmax, sizeof(*fl));
	uint32_t *order = malloc(nmax * sizeof(*order));
	if (fl == NULL || order == NULL)
		die("out of memory for %u streams", nmax);
	for (uint32_t j = 0; j < nmax; j++) {
		struct bflow *f = &fl[j];
		uint8_t key[16], salt[KEYTABLE_MASTER_SALT_BYTES];
		struct keytable_master m;
		struct keytable_key k;

		f->addr[0] = 10; f->addr[1] = 2;
		f->addr[2] = (uint8_t)(j / PORTS_PER_ADDR); f->addr[3] = 1;
		f->port = (uint16_t)(LOCAL_PORT0 + j % PORTS_PER_ADDR);
		f->seq[ENC] = 1;
		f->ssrc[ENC] = 0x30000000u + j;
		for (size_t b = 0; b < sizeof(key); b++)
			key[b] = (uint8_t)(rng() >> 56);
		for (size_t b = 0; b < sizeof(salt); b++)
			salt[b] = (uint8_t)(rng() >> 56);
		if (keytable_master_set(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, key, 16, salt) != 0)
			die("keytable_master_set");
		keytable_key_ipv4(&k, f->addr, f->port, KEYTABLE_DIR_OUT);
		if (keytable_add(st5.wt, &k, KEYTABLE_MODE_STANDARD, &m, NULL, NULL) != 0)
			die("keytable_add: %s", keytable_last_error(st5.wt));
		keytable_wipe(&m, sizeof(m));
		keytable_wipe(key, sizeof(key));
	}
	/* each set: the first n streams; one permutation of nmax, a smaller
	 * set takes its members below n in that order */
	for (unsigned v = 0; v < nsets; v++)
		fs[v] = (struct fset){ .fl = fl, .n = nset[v] };
	for (uint32_t j = 0; j < nmax; j++)
		order[j] = j;
	for (uint32_t j = nmax - 1; j > 0; j--) {
		uint32_t r = (uint32_t)(rng() % (j + 1)), x = order[j];
		order[j] = order[r];
		order[r] = x;
	}
	uint32_t *order_mid = malloc(nset[1] * sizeof(*order_mid));
	if (order_mid == NULL)
		die("out of memory");
	for (uint32_t j = 0, o = 0; j < nmax && o < nset[1]; j++)
		if (order[j] < nset[1])
			order_mid[o++] = order[j];
	fs[1].order = order_mid;
	if (nsets > 2)
		fs[2].order = order;
	if (keytable_attach_reader(&rt, tname, err, sizeof(err)) != 0)
		die("%s", err);
	struct dp_config cfg = w->cfg[ENC];
	cfg.table = tname;
	cfg.max_flows = cfg.max_streams = nmax + 64;
	if (dpstats_create(&stats_area5, tname, 1, dp_flow_rows(&cfg), err, sizeof(err)) != 0)
		die("%s", err);
	int ret = dp_lcore_init(&st5.lc, &cfg, rt, w->lcore, 0, dpstats_worker(stats_area5, 0),
				dpstats_flows(stats_area5, 0));
	if (ret != 0)
		die("dp_lcore_init: %s", strerror(-ret));
	size_t rbytes = (size_t)dp_resume_rows(&cfg) * sizeof(struct resume_row);
	void *rrows = mmap(NULL, rbytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	if (rrows == MAP_FAILED)
		die("resume rows: %s", strerror(errno));
	dp_lcore_resume(&st5.lc, NULL, rrows);
	static int worker_cpu;
	worker_cpu = sched_getcpu();
	if (pthread_create(&st5.th, NULL, churn_run, &worker_cpu) != 0)
		die("cannot start the control thread");
	/* every stream set up (looked up, key expanded, committed) untimed */
	warm_up(w, VAR_STREAMS, &fs[nsets - 1], ENC, si, 2 * (nmax + DP_BURST - 1) / DP_BURST + warm);
	t_setup = ((double)bench_tsc() - t_setup) / hz;
	size_t flow_b, stream_b;
	flows_state_bytes(&flow_b, &stream_b);
	printf("(set-up of %u entries and their flows: %.1f s; state per stream and direction, "
	       "one SSRC per entry: flow %zu B + expanded key %zu B (a flow's, shared by its "
	       "SSRCs) + SSRC stream %zu B + flow row %zu B + resume row %zu B)\n", nmax,
	       t_setup, flow_b, sizeof(struct csrtp_key), stream_b, sizeof(struct dpstats_flow),
	       sizeof(struct resume_row));

	printf("%10s %17s %17s %9s %8s %11s %11s %12s\n", "streams", "static", "busy control",
	       "busy/stat", "x 1 str", "lookups/kp", "refchk/kp", "control op/s");
	double med[3][2], lk[3][2], rc[3][2], busy_s = 0;
	uint64_t busy_ops = 0;
	for (unsigned v = 0; v < nsets; v++)
		warm_up(w, VAR_STREAMS, &fs[v], ENC, si, warm);
	for (int r = 0; r < rounds; r++) {
		for (unsigned v = 0; v < nsets; v++) {
			for (int b = 0; b < 2; b++) {
				struct flows_stats a = { 0 }, z = { 0 };
				uint64_t ops0 = __atomic_load_n(&st5.ops, __ATOMIC_RELAXED);
				struct timespec c0, c1;
				if (b == 0) {
					/* static: the control stopped, and every flow
					 * of the set has seen the table as it stays
					 * (one untimed pass) */
					__atomic_store_n(&st5.on, false, __ATOMIC_RELEASE);
					__atomic_store_n(&st5.idle, false, __ATOMIC_RELEASE);
					while (!__atomic_load_n(&st5.idle, __ATOMIC_ACQUIRE))
						usleep(100);
					warm_up(w, VAR_STREAMS, &fs[v], ENC, si,
						(nset[v] + DP_BURST - 1) / DP_BURST + warm);
					/* ... and the sweep has finished its pass */
					struct flows_stats q;
					unsigned k = 0;
					for (; k < 4 * nmax; k++) {
						flows_get_stats(st5.lc.flows, &q);
						if (!q.sweep_pending)
							break;
						warm_up(w, VAR_STREAMS, &fs[v], ENC, si, 1);
					}
					if (k == 4 * nmax)
						die("the sweep did not finish a pass in %u polls", k);
				} else {
					/* the control at its pace before timing */
					__atomic_store_n(&st5.on, true, __ATOMIC_RELEASE);
					warm_up(w, VAR_STREAMS, &fs[v], ENC, si, warm);
				}
				flows_get_stats(st5.lc.flows, &a);
				clock_gettime(CLOCK_MONOTONIC, &c0);
				smp[(v * 2 + b) * rounds + r] =
					run_bursts(w, VAR_STREAMS, &fs[v], ENC, si, (unsigned)bursts);
				clock_gettime(CLOCK_MONOTONIC, &c1);
				flows_get_stats(st5.lc.flows, &z);
				double kp = (double)bursts * DP_BURST / 1000.0;
				lk[v][b] = (double)(z.lookups - a.lookups) / kp;
				rc[v][b] = (double)(z.ref_checks - a.ref_checks) / kp;
				if (b == 1) {
					busy_s += (double)(c1.tv_sec - c0.tv_sec) +
						  (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
					busy_ops += __atomic_load_n(&st5.ops, __ATOMIC_RELAXED) - ops0;
				}
			}
		}
	}
	__atomic_store_n(&st5.on, false, __ATOMIC_RELEASE);
	for (unsigned v = 0; v < nsets; v++) {
		char row[32];
		for (int b = 0; b < 2; b++)
			med[v][b] = median_of(smp + (v * 2 + b) * rounds, (unsigned)rounds);
		snprintf(row, sizeof(row), "%u streams", nset[v]);
		printf("%10u %8.1f (%6.2f) %8.1f (%6.2f) %8.2fx %7.2fx %5.1f/%-5.1f %4.1f/%-6.1f "
		       "%12.0f\n", nset[v], med[v][0], mpps(med[v][0]), med[v][1], mpps(med[v][1]),
		       med[v][1] / med[v][0], med[v][0] / med[0][0], lk[v][0], lk[v][1], rc[v][0],
		       rc[v][1], (double)busy_ops / busy_s);
		bench_csv("streams", row, "static cyc/pkt", med[v][0], "cycles");
		bench_csv("streams", row, "busy cyc/pkt", med[v][1], "cycles");
		bench_csv("streams", row, "busy lookups/kpkt", lk[v][1], "count");
	}
	printf("(lookups/kp, refchk/kp: key-table look-ups and reference checks per 1000 "
	       "packets, static/busy, in the last round; control op/s: adds + deletes a second "
	       "over the timed busy rounds)\n");
	/* why, when missed: docs/benchmarks.md "Many streams with a busy
	 * control" has the profile (perf, cpu-clock samples) */
	static const char why_many[] =
		"each packet touches about 14 cache lines of its flow, stream, key and rows "
		"(about 3 KiB per stream and direction, over 300 MB at 100,000 streams both "
		"ways): in random order every one is a miss and, without hugepages, a TLB "
		"miss; perf puts about half the time in flows_resolve stalled on those lines "
		"and a tenth in AES-GCM";
	if (!bench_goal("streams 100000 / 1 stream (160 B encrypt)", med[1][0] / med[0][0],
			1.3, 0))
		bench_goal_why("streams 100000 / 1 stream (160 B encrypt)", "%s", why_many);
	if (nsets > 2) {
		if (!bench_goal("streams 1000000 / 1 stream (160 B encrypt)",
				med[2][0] / med[0][0], 1.5, 0))
			bench_goal_why("streams 1000000 / 1 stream (160 B encrypt)", "%s",
				       why_many);
	} else {
		printf("streams 1000000: skipped in --quick\n");
	}
	if (!bench_goal("busy control / static, 100000 streams", med[1][1] / med[1][0], 1.1, 0))
		bench_goal_why("busy control / static, 100000 streams",
			       "with the table changing all the time every burst checks its "
			       "flows' entries (one key-table line each, %.0f checks per 1000 "
			       "packets) and the sweep checks 8 idle flows per poll; the control "
			       "thread shares the machine's other core", rc[1][1]);

	__atomic_store_n(&st5.stop, true, __ATOMIC_RELEASE);
	pthread_join(st5.th, NULL);
	dp_lcore_fini(&st5.lc);
	munmap(rrows, rbytes);
	dpstats_destroy(stats_area5);
	stats_area5 = NULL;
	keytable_detach(rt);
	table_writer = NULL;
	keytable_detach(st5.wt);
	if (keytable_unlink(tname, err, sizeof(err)) != 0)
		die("%s", err);
	free(order_mid);
	free(order);
	free(fl);
}

int main(int argc, char **argv)
{
	int rounds = 15, bursts = 1000;
	long streams = 100000, workers_max = 2;
	bool quick = false;
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "bursts", required_argument, NULL, 'b' },
		{ "streams", required_argument, NULL, 's' },
		{ "workers-max", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "qr:b:s:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quick = true; rounds = 3; bursts = 300; break;
		case 'r': rounds = atoi(optarg); break;
		case 'b': bursts = atoi(optarg); break;
		case 's': streams = atol(optarg); break;
		case 'w': workers_max = atol(optarg); break;
		default:
			printf("usage: %s [--quick] [--rounds N] [--bursts N] [--streams N] "
			       "[--workers-max 1|2]\n", argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (rounds < 1 || rounds > 101 || bursts < 1 || bursts > 100000 ||
	    streams < 2 || streams > (long)STREAMS_MAX || workers_max < 1 || workers_max > 2) {
		fprintf(stderr, "callseal-bench-dataplane: --rounds 1-101, --bursts 1-100000, "
			"--streams 2-%u, --workers-max 1-2\n", STREAMS_MAX);
		return 2;
	}
	if (workers_max == 2 && sysconf(_SC_NPROCESSORS_ONLN) < 2)
		workers_max = 1;

	/* EAL: no hugepages, no PCI; one net_null tx port per worker */
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=callseal-bench-%d", (int)getpid());
	char *eal[] = { argv[0], "--no-huge", "--no-pci", "-m", "256", "--log-level=error",
			prefix, "-l", workers_max == 2 ? "0-1" : "0",
			"--vdev=net_null0", "--vdev=net_null1", NULL };
	int neal = workers_max == 2 ? 11 : 10;
	if (rte_eal_init(neal, eal) < 0)
		die("rte_eal_init failed: %s", rte_strerror(rte_errno));
	nworkers = rte_lcore_count() >= 2 ? 2 : 1;
	build_templates();

	/* the key table: created here, read through a reader mapping as the
	 * dataplane does, its name removed at once so that nothing is left behind */
	char *tname = table_name, err[KEYTABLE_ERR_MAX];
	struct keytable *wt, *rt;
	snprintf(tname, sizeof(table_name), "bench-dataplane-%d", (int)getpid());
	uint32_t nmany = (uint32_t)streams;
	if (keytable_create(&wt, tname, 2 * (3 + nmany + CM_FLOWS), err, sizeof(err)) != 0)
		die("%s", err);
	table_writer = wt;

	/* every flow's keys expanded once, here, for the generators and the raw
	 * variant (an expanded key is shared read-only by every engine) */
	struct csrtp_engine *setup_engine = csrtp_engine_create(IMB_ARCH_NONE);
	if (setup_engine == NULL)
		die("intel-ipsec-mb has no usable architecture on this CPU");
	struct csrtp_key *keys;
	hz = bench_tsc_hz();
	bench_meta("tsc", hz / 1e9, "GHz");
	bench_meta("cores online", (double)sysconf(_SC_NPROCESSORS_ONLN), "cores");
	bench_meta("streams many", nmany, "streams");
	double t_setup = (double)bench_tsc();
	struct bflow *fl = flows_setup(wt, nmany, setup_engine, &keys);
	csrtp_engine_destroy(setup_engine);
	if (keytable_attach_reader(&rt, tname, err, sizeof(err)) != 0)
		die("%s", err);
	table_writer = NULL;
	keytable_detach(wt);
	if (keytable_unlink(tname, err, sizeof(err)) != 0)
		die("%s", err);

	/* worker 0 holds the many-stream set too: both directions' flows. Both
	 * workers get flow tables of one size, as the dataplane's: the area has
	 * one row count for every worker (tables are mappings touched where used) */
	const uint32_t max_flows = 2 * (3 + nmany + CM_FLOWS) + 64;
	struct dp_config rows_cfg = { .max_flows = max_flows, .max_streams = max_flows };
	if (dpstats_create(&stats_area, tname, nworkers, dp_flow_rows(&rows_cfg), err,
			   sizeof(err)) != 0)
		die("%s", err);
	workers[0] = worker_create(0, rte_get_main_lcore(), tname, rt, max_flows,
				  (unsigned)(bursts > 64 ? bursts : 64));
	if (nworkers == 2)
		workers[1] = worker_create(1, rte_get_next_lcore(rte_get_main_lcore(), 1, 0),
					   tname, rt, max_flows,
					   (unsigned)(bursts > 64 ? bursts : 64));
	t_setup = ((double)bench_tsc() - t_setup) / hz;

	struct worker *w0 = workers[0];
	printf("callseal dataplane benchmark: %s, TSC %.2f GHz, %s, intel-ipsec-mb %s (%s)\n",
	       bench_cpu_name(), hz / 1e9, rte_version(), imb_get_version_str(),
	       csrtp_engine_arch_name(w0->lc.engine));
	printf("rx: net_ring port (rte_eth_from_rings) filled before each burst by an untimed "
	       "generator on the same lcore;\ntx: net_null (frees); bursts of %d; timed: rx burst + "
	       "dp_process_burst + tx burst (TSC);\nmedian of %d rounds x %d bursts (each burst timed; interrupted bursts left out), "
	       "rounds interleave the variants;\n IPv4, UDP checksum 0 (no offload on net_null)\n",
	       DP_BURST, rounds, bursts);
	printf("NOTE: %ld cores online, shared with other users' builds and tests: "
	       "figures are noisy, compare ratios within this run\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	printf("set-up (%u key-table entries, keys, ports): %.1f s\n\n",
	       2 * (3 + nmany + CM_FLOWS), t_setup);

	double *smp = calloc((size_t)rounds * 8, sizeof(double));
	if (smp == NULL)
		die("out of memory");
	const unsigned warm = quick ? 20 : 50;
	const double per = (double)bursts * DP_BURST;

	/* summary lines, printed at the end */
	char sum[64][200];
	int ns = 0;

	/* ---- table 1: one worker, one stream -------------------------------- */
	printf("1 worker, 1 stream: cycles/packet (Mpps); raw = the profile's raw "
	       "intel-ipsec-mb crypto, bound = raw PMD rx+tx + raw\n");
	printf("%-12s %7s %-8s %17s %17s %17s %15s %17s %7s %17s %9s\n", "profile", "payload",
	       "dir", "pipeline", "I/O only", "raw crypto", "pipe/(I/O+raw)", "no books",
	       "books", "bound", "pipe/bound");
	static const int t1_sets[] = { SET_W0, SET_W0_256, SET_W0_CM80, SET_W0_CM32 };
	static const char *const t1_prof[] = { "AES-128-GCM", "AES-256-GCM", "AES-CM-SHA1-80",
					       "AES-CM-SHA1-32" };
	double worst1 = 0, worst_books = -100, worst_bound = 0, worst_io = 0, worst_pmd = 0;
	char worst_bound_row[64] = "";
	for (size_t pi = 0; pi < sizeof(t1_sets) / sizeof(t1_sets[0]); pi++) {
		for (size_t si = 0; si < NSIZES; si++) {
			for (int d = 0; d < 2; d++) {
				struct fset *s = &sets[t1_sets[pi]];
				double med[VAR_PMD + 1];
				for (int v = 0; v <= VAR_PMD; v++)
					warm_up(w0, v, s, d, si, warm);
				for (int r = 0; r < rounds; r++)
					for (int v = 0; v <= VAR_PMD; v++)
						smp[v * rounds + r] =
							run_bursts(w0, v, s, d, si, (unsigned)bursts);
				for (int v = 0; v <= VAR_PMD; v++)
					med[v] = median_of(smp + v * rounds, (unsigned)rounds);
				double ratio = med[0] / (med[1] + med[2]);
				double books = (med[0] / med[3] - 1) * 100;
				double bound = med[VAR_PMD] + med[VAR_RAW];
				if (ratio > worst1)
					worst1 = ratio;
				if (books > worst_books)
					worst_books = books;
				printf("%-12s %7u %-8s %8.1f (%6.2f) %8.1f (%6.2f) %8.1f (%6.2f) %14.2fx "
				       "%8.1f (%6.2f) %+6.1f%% %8.1f (%6.2f) %8.2fx\n",
				       t1_prof[pi], sizes[si], dir_name[d], med[0], mpps(med[0]),
				       med[1], mpps(med[1]), med[2], mpps(med[2]), ratio,
				       med[3], mpps(med[3]), books, bound, mpps(bound),
				       med[0] / bound);
				char row[64];
				snprintf(row, sizeof(row), "%s %u %s", t1_prof[pi], sizes[si], dir_name[d]);
				static const char *const t1_col[VAR_PMD + 1] = {
					[VAR_PIPE] = "pipeline", [VAR_IO] = "I/O only",
					[VAR_RAW] = "raw crypto", [VAR_BARE] = "no books",
					[VAR_PMD] = "raw PMD" };
				for (int v = 0; v <= VAR_PMD; v++)
					bench_csv("1 worker 1 stream", row, t1_col[v], med[v], "cyc/pkt");
				bench_csv("1 worker 1 stream", row, "bound", bound, "cyc/pkt");
				bench_csv("1 worker 1 stream", row, "pipe/(I/O+raw)", ratio, "x");
				bench_csv("1 worker 1 stream", row, "pipe/bound", med[0] / bound, "x");
				bench_csv("1 worker 1 stream", row, "books", books, "%");
				if (sizes[si] == 160 && med[0] / bound > worst_bound) {
					worst_bound = med[0] / bound;
					worst_io = med[VAR_IO];
					worst_pmd = med[VAR_PMD];
					snprintf(worst_bound_row, sizeof(worst_bound_row), "%s", row);
				}
			}
		}
	}
	snprintf(sum[ns++], sizeof(sum[0]),
		 "pipeline / (I/O + raw crypto), 1 worker, 1 stream: worst %.2fx (goal <= 1.30x) %s",
		 worst1, worst1 <= 1.3 ? "met" : "NOT met");
	snprintf(sum[ns++], sizeof(sum[0]),
		 "books (statistics rows, worker totals in shared memory, resume rows) / none, "
		 "1 stream: worst %+.1f%% (goal < 3%%) %s", worst_books,
		 worst_books < 3 ? "met" : "NOT met (or noise: see docs/benchmarks.md)");
	snprintf(sum[ns++], sizeof(sum[0]),
		 "pipeline / bound (raw PMD rx+tx + raw crypto), 1 worker, 1 stream, 160 B: "
		 "worst %.2fx (goal <= 1.30x) %s", worst_bound, worst_bound <= 1.3 ? "met" : "NOT met");
	bench_goal("dataplane: pipeline / (I/O only + raw crypto), 1 stream", worst1, 1.3, 0);
	if (!bench_goal("dataplane: pipeline / bound (raw PMD + raw crypto), 1 stream, 160 B",
			worst_bound, 1.3, 0))
		bench_goal_why("dataplane: pipeline / bound (raw PMD + raw crypto), 1 stream, 160 B",
			       "worst row %s: I/O only %.0f cycles/packet against raw PMD %.0f: "
			       "beyond rx and tx the pipeline classifies each frame, looks up its "
			       "flow and stream, fixes the IP/UDP headers and keeps its books; the "
			       "SRTP engine's per-packet work comes on top", worst_bound_row,
			       worst_io, worst_pmd);
	if (!bench_goal("dataplane: books (statistics and resume rows) / none, 1 stream",
			1 + worst_books / 100, 1.03, 0))
		bench_goal_why("dataplane: books (statistics and resume rows) / none, 1 stream",
			       "one run's worst row; other load on the 2 shared cores lands in one "
			       "variant's rounds (docs/benchmarks.md: the median of runs is under 2%%)");

	/* ---- table 2: one stream against many -------------------------------- */
	printf("\nAES-128-GCM, 1 worker: 1 stream vs %u streams (key-table entries with "
	       "distinct local address/port, packets in random order): cycles/packet (Mpps)\n",
	       nmany);
	printf("%7s %-8s %17s %17s %8s %17s %17s %15s\n", "payload", "dir", "pipeline 1",
	       "pipeline many", "many/1", "I/O only many", "raw many", "pipe/(I/O+raw)");
	struct flows_stats fs0, fs1;
	double worst2 = 0;
	bool warmed[2] = { false, false };
	uint64_t exp_timed = 0;
	for (size_t si = 0; si < NSIZES; si++) {
		for (int d = 0; d < 2; d++) {
			struct fset *one = &sets[SET_W0], *many = &sets[SET_MANY];
			double med[4];
			if (!warmed[d]) {
				/* every flow looked up, its keys expanded and its stream
				 * created before timing: a one-off, not per packet */
				warm_up(w0, VAR_PIPE, many, d, si, (nmany + DP_BURST - 1) / DP_BURST + warm);
				warmed[d] = true;
			}
			warm_up(w0, VAR_PIPE, one, d, si, warm);
			warm_up(w0, VAR_PIPE, many, d, si, warm);
			warm_up(w0, VAR_IO, many, d, si, warm);
			warm_up(w0, VAR_RAW, many, d, si, warm);
			flows_get_stats(w0->lc.flows, &fs0);
			for (int r = 0; r < rounds; r++) {
				smp[0 * rounds + r] = run_bursts(w0, VAR_PIPE, one, d, si, (unsigned)bursts);
				smp[1 * rounds + r] = run_bursts(w0, VAR_PIPE, many, d, si, (unsigned)bursts);
				smp[2 * rounds + r] = run_bursts(w0, VAR_IO, many, d, si, (unsigned)bursts);
				smp[3 * rounds + r] = run_bursts(w0, VAR_RAW, many, d, si, (unsigned)bursts);
			}
			flows_get_stats(w0->lc.flows, &fs1);
			exp_timed += fs1.expansions - fs0.expansions;
			for (int v = 0; v < 4; v++)
				med[v] = median_of(smp + v * rounds, (unsigned)rounds);
			double ratio = med[1] / med[0];
			if (ratio > worst2)
				worst2 = ratio;
			printf("%7u %-8s %8.1f (%6.2f) %8.1f (%6.2f) %7.2fx %8.1f (%6.2f) %8.1f (%6.2f) %14.2fx\n",
			       sizes[si], dir_name[d], med[0], mpps(med[0]), med[1], mpps(med[1]), ratio,
			       med[2], mpps(med[2]), med[3], mpps(med[3]), med[1] / (med[2] + med[3]));
			/* rows "STREAMS streams PAYLOAD DIR": the report's cost-vs-streams plot */
			char row[64];
			snprintf(row, sizeof(row), "1 streams %u %s", sizes[si], dir_name[d]);
			bench_csv("cost vs streams", row, "pipeline", med[0], "cyc/pkt");
			snprintf(row, sizeof(row), "%u streams %u %s", nmany, sizes[si], dir_name[d]);
			bench_csv("cost vs streams", row, "pipeline", med[1], "cyc/pkt");
			bench_csv("cost vs streams", row, "I/O only", med[2], "cyc/pkt");
			bench_csv("cost vs streams", row, "raw crypto", med[3], "cyc/pkt");
			bench_csv("cost vs streams", row, "many/1", ratio, "x");
			bench_csv("cost vs streams", row, "pipe/(I/O+raw)", med[1] / (med[2] + med[3]), "x");
		}
	}
	printf("(flows in use %lu, streams %lu; key expansions during the timed rounds: %lu)\n",
	       (unsigned long)fs1.flows, (unsigned long)fs1.streams, (unsigned long)exp_timed);
	snprintf(sum[ns++], sizeof(sum[0]),
		 "%u streams / 1 stream: worst %.2fx (goal <= 1.30x) %s", nmany, worst2,
		 worst2 <= 1.3 ? "met" : "NOT met");
	{
		char g[96];
		snprintf(g, sizeof(g), "dataplane: %u streams / 1 stream, per packet", nmany);
		if (!bench_goal(g, worst2, 1.3, 0))
			bench_goal_why(g, "the per-stream state and expanded keys (about 2 KiB per "
				       "stream and direction) of %u streams in random order do not "
				       "stay in cache: the raw crypto alone with cold keys costs "
				       "several times its one-stream figure", nmany);
	}

	/* ---- table 3: one worker against two at once -------------------------- */
	if (nworkers == 2) {
		struct worker *w1 = workers[1];
		printf("\nAES-128-GCM, 1 stream per worker: 1 worker vs 2 at once (lcores %u and %u, "
		       "%ld cores on this machine, shared)\n", w0->lcore, w1->lcore,
		       sysconf(_SC_NPROCESSORS_ONLN));
		printf("%7s %-8s %13s %13s %13s %13s %9s %12s\n", "payload", "dir", "1w cyc/pkt",
		       "1w Mpps", "2w cyc/pkt", "2w Mpps sum", "scaling", "wall scaling");
		double worst3 = 1e9;
		for (size_t si = 0; si < NSIZES; si++) {
			for (int d = 0; d < 2; d++) {
				struct job j1[1] = { { .w = w0, .s = &sets[SET_W0], .d = d, .si = si,
						       .bursts = warm } };
				struct job j2[2] = {
					{ .w = w0, .s = &sets[SET_W0], .d = d, .si = si, .bursts = warm },
					{ .w = w1, .s = &sets[SET_W1], .d = d, .si = si, .bursts = warm },
				};
				run_jobs(j1, 1);
				run_jobs(j2, 2);
				j1[0].bursts = j2[0].bursts = j2[1].bursts = (unsigned)bursts;
				for (int r = 0; r < rounds; r++) {
					run_jobs(j1, 1);
					run_jobs(j2, 2);
					/* 0: 1w cyc/pkt, 1: 1w Mpps, 2: 2w mean cyc/pkt, 3: 2w Mpps
					 * (sum of the workers' timed rates), 4/5: wall Mpps 1w/2w
					 * (generator included; 2w: both packets over the longer wall) */
					smp[0 * rounds + r] = j1[0].cyc;
					smp[1 * rounds + r] = mpps(smp[0 * rounds + r]);
					double c0 = j2[0].cyc, c1 = j2[1].cyc;
					smp[2 * rounds + r] = (c0 + c1) / 2;
					smp[3 * rounds + r] = mpps(c0) + mpps(c1);
					smp[4 * rounds + r] = per * hz / (double)j1[0].wall / 1e6;
					uint64_t wl = j2[0].wall > j2[1].wall ? j2[0].wall : j2[1].wall;
					smp[5 * rounds + r] = 2 * per * hz / (double)wl / 1e6;
					smp[6 * rounds + r] = smp[3 * rounds + r] / smp[1 * rounds + r];
					smp[7 * rounds + r] = smp[5 * rounds + r] / smp[4 * rounds + r];
				}
				double med[8];
				for (int v = 0; v < 8; v++)
					med[v] = median_of(smp + v * rounds, (unsigned)rounds);
				if (med[6] < worst3)
					worst3 = med[6];
				printf("%7u %-8s %13.1f %13.2f %13.1f %13.2f %8.2fx %11.2fx\n",
				       sizes[si], dir_name[d], med[0], med[1], med[2], med[3], med[6], med[7]);
				/* rows "WORKERS workers PAYLOAD DIR": the report's scaling plot */
				char row[64];
				snprintf(row, sizeof(row), "1 workers %u %s", sizes[si], dir_name[d]);
				bench_csv("scaling", row, "Mpps", med[1], "Mpps");
				bench_csv("scaling", row, "cycles", med[0], "cyc/pkt");
				snprintf(row, sizeof(row), "2 workers %u %s", sizes[si], dir_name[d]);
				bench_csv("scaling", row, "Mpps", med[3], "Mpps");
				bench_csv("scaling", row, "cycles", med[2], "cyc/pkt");
				bench_csv("scaling", row, "scaling", med[6], "x");
				bench_csv("scaling", row, "wall scaling", med[7], "x");
			}
		}
		printf("(scaling: median over rounds of 2-worker Mpps / 1-worker Mpps, both from timed "
		       "parts; wall scaling: from\n the whole loops, generators included)\n");
		snprintf(sum[ns++], sizeof(sum[0]),
			 "2 workers / 1 worker: worst %.2fx (goal >= 1.80x) %s%s", worst3,
			 worst3 >= 1.8 ? "met" : "NOT met",
			 " (2 shared cores: the second worker competes with everything else)");
		if (!bench_goal("dataplane: 2 workers / 1 worker, Mpps", worst3, 1.8, 1))
			bench_goal_why("dataplane: 2 workers / 1 worker, Mpps",
				       "%ld cores shared with other users' builds and tests: the "
				       "second worker competes with everything else",
				       sysconf(_SC_NPROCESSORS_ONLN));
	} else {
		printf("\n1 worker vs 2: skipped (one lcore available)\n");
	}

	/* ---- table 4: a forged-SSRC flood against real traffic ------------------ */
	printf("\nAES-128-GCM decrypt, 1 worker, one keyed flow: real SRTP of its stream vs a "
	       "flood of forged SRTP (a random SSRC and a bad tag each: all dropped as "
	       "unverified), cycles/packet (Mpps)\n");
	printf("%7s %17s %17s %12s   %s\n", "payload", "real", "forged flood", "flood/real",
	       "flows: streams, tentative, evictions");
	double worst4 = 0;
	for (size_t si = 0; si < NSIZES; si++) {
		struct fset *s = &sets[SET_W0];
		double med[2];
		warm_up(w0, VAR_PIPE, s, DEC, si, warm);
		warm_up(w0, VAR_FLOOD, s, DEC, si, warm);
		for (int r = 0; r < rounds; r++) {
			smp[0 * rounds + r] = run_bursts(w0, VAR_PIPE, s, DEC, si, (unsigned)bursts);
			smp[1 * rounds + r] = run_bursts(w0, VAR_FLOOD, s, DEC, si, (unsigned)bursts);
		}
		for (int v = 0; v < 2; v++)
			med[v] = median_of(smp + v * rounds, (unsigned)rounds);
		if (med[1] / med[0] > worst4)
			worst4 = med[1] / med[0];
		flows_get_stats(w0->lc.flows, &fs1);
		printf("%7u %8.1f (%6.2f) %8.1f (%6.2f) %11.2fx   %lu, %lu, %lu\n", sizes[si],
		       med[0], mpps(med[0]), med[1], mpps(med[1]), med[1] / med[0],
		       (unsigned long)fs1.streams, (unsigned long)fs1.tentative,
		       (unsigned long)fs1.evictions);
		char row[32];
		snprintf(row, sizeof(row), "%u", sizes[si]);
		bench_csv("forged flood", row, "real", med[0], "cyc/pkt");
		bench_csv("forged flood", row, "forged flood", med[1], "cyc/pkt");
		bench_csv("forged flood", row, "flood/real", med[1] / med[0], "x");
	}
	snprintf(sum[ns++], sizeof(sum[0]),
		 "forged-SSRC flood / real traffic, per packet: worst %.2fx (goal <= 2.50x: "
		 "bounded work, no sweep; a new stream's set-up per packet) %s", worst4,
		 worst4 <= 2.5 ? "met" : "NOT met");
	bench_goal("dataplane: forged-SSRC flood / real traffic, per packet", worst4, 2.5, 0);

	/* ---- table 5: many streams, with a busy control ------------------------ */
	table_streams(w0, quick, rounds, bursts, warm, smp);

	printf("\n%.2f%% of the timed bursts took over %dx their sample's median (interrupted or "
	       "preempted) and were left out\n", 100.0 * (double)bursts_left_out / (double)bursts_total,
	       OUTLIER_X);
	bench_meta("bursts left out", 100.0 * (double)bursts_left_out / (double)bursts_total, "%");
	printf("\nratios vs goals\n");
	for (int i = 0; i < ns; i++)
		printf("  %s\n", sum[i]);

	free(smp);
	for (unsigned i = 0; i < nworkers; i++)
		worker_destroy(workers[i]);
	dpstats_destroy(stats_area);
	keytable_detach(rt);
	for (uint32_t i = 0; i < 3 + nmany + CM_FLOWS; i++)
		csrtp_key_wipe(&keys[i]);
	free(keys);
	free(sets[SET_MANY].order);
	free(fl);
	char rundir[PATH_MAX];
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	if (strstr(rundir, "callseal-bench-") != NULL)
		remove_runtime_dir(rundir);
	return 0;
}
