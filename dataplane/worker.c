/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * worker.c - the per-lcore packet path, run to completion:
 *   rx burst -> classify every frame -> bulk look-up of the media's streams ->
 *   one csrtp batch per kind (RTP, RTCP) -> fix lengths and checksums ->
 *   tx burst to the other port, in arrival order.
 * No allocation, lock or system call on this path; drops are counted by
 * reason, never logged. Counters go into this worker's block of the
 * statistics area (include/callseal/dpstats.h): totals, occupancy, and per
 * flow (one row per key-table entry instance) what got through and why the
 * rest did not, counted after the crypto. Each stream's indexes are stored in
 * its resume row before its packets are sent (resume.h: restarts).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "byteorder.h"
#include "dp.h"

volatile bool dp_force_quit;
struct rte_rcu_qsbr *dp_qsbr;

/* Per-packet verdicts while a burst is processed. */
enum { V_SEND = 0, V_DROP, V_MEDIA };

static void flows_cfg_of(const struct dp_config *cfg, struct flows_cfg *fc)
{
	*fc = (struct flows_cfg){
		.max_flows = cfg->max_flows,
		.max_streams = cfg->max_streams,
		.window = cfg->window,
	};
}

uint32_t dp_flow_rows(const struct dp_config *cfg)
{
	struct flows_cfg fc;

	flows_cfg_of(cfg, &fc);
	return flows_table_rows(&fc);
}

/* The TSC -> CLOCK_REALTIME conversion, once (the TSC is invariant on the
 * CPUs DPDK runs on; the drift against NTP over a run is ppm). */
static void clock_init(struct dp_clock *c)
{
	struct timespec ts;
	uint64_t hz = rte_get_tsc_hz();

	clock_gettime(CLOCK_REALTIME, &ts);
	c->base_tsc = rte_rdtsc();
	c->base_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	c->mult = hz ? (uint64_t)(((unsigned __int128)1000000000u << 32) / hz) : 0;
}

static inline uint64_t clock_now_ns(const struct dp_clock *c)
{
	uint64_t d = rte_rdtsc() - c->base_tsc;

	return c->base_ns + (uint64_t)(((unsigned __int128)d * c->mult) >> 32);
}

int dp_lcore_init(struct dp_lcore *lc, const struct dp_config *cfg,
		  const struct keytable *t, unsigned lcore_id, uint16_t queue,
		  struct dpstats_worker *block, struct dpstats_flow *rows)
{
	memset(lc, 0, sizeof(*lc));
	lc->lcore_id = lcore_id;
	lc->queue = queue;
	lc->cfg = cfg;
	lc->table = t;
	lc->ccfg.media_lo = cfg->media_lo;
	lc->ccfg.media_hi = cfg->media_hi;
	lc->stats = block != NULL ? block : &lc->own_stats;
	lc->stats->lcore_id = lcore_id;
	lc->stats->queue = queue;
	DP_STAT_SET(&lc->stats->max_flows, cfg->max_flows);
	DP_STAT_SET(&lc->stats->max_streams, cfg->max_streams);
	clock_init(&lc->clock);
	lc->engine = csrtp_engine_create(IMB_ARCH_NONE);
	if (lc->engine == NULL)
		return -ENOTSUP;
	struct flows_cfg fc;
	flows_cfg_of(cfg, &fc);
	lc->flows = flows_create(lc->engine, t, &fc, rows);
	if (lc->flows == NULL) {
		csrtp_engine_destroy(lc->engine);
		lc->engine = NULL;
		return -ENOMEM;
	}
	struct flows_stats fs;
	flows_get_stats(lc->flows, &fs);
	DP_STAT_SET(&lc->stats->max_tentative, fs.max_tentative);
	return 0;
}

uint32_t dp_resume_rows(const struct dp_config *cfg)
{
	struct flows_cfg fc;

	flows_cfg_of(cfg, &fc);
	return flows_resume_rows(&fc);
}

void dp_lcore_resume(struct dp_lcore *lc, struct resume *r, struct resume_row *rows)
{
	flows_set_resume(lc->flows, r, rows);
}

void dp_lcore_fini(struct dp_lcore *lc)
{
	flows_destroy(lc->flows);          /* wipes expanded keys */
	csrtp_engine_destroy(lc->engine);
	lc->flows = NULL;
	lc->engine = NULL;
}

/* Ones'-complement sum for the UDP checksum over IPv6 (RFC 8200 s. 8.1):
 * pseudo-header (addresses, UDP length, next header 17) and the datagram. */
static uint16_t udp6_cksum(const uint8_t *ip6, const uint8_t *udp, uint32_t ulen)
{
	uint32_t sum = __rte_raw_cksum(ip6 + 8, 32, 0);
	sum += rte_cpu_to_be_32(ulen) >> 16;
	sum += rte_cpu_to_be_32(ulen) & 0xffff;
	sum += rte_cpu_to_be_16(IPPROTO_UDP);
	sum = __rte_raw_cksum(udp, ulen, sum);
	uint16_t c = (uint16_t)~__rte_raw_cksum_reduce(sum);
	return c == 0 ? 0xffff : c;     /* 0 means "no checksum": not for IPv6 */
}

/*
 * RFC 791 s. 3.1 header checksum of an IPv4 header without options (what
 * the classifier's fast path takes) with total length tot_be (network
 * order) and a zero checksum field: the same ones'-complement sum as
 * rte_ipv4_cksum() over the written header (RFC 1071 s. 2: any word size,
 * folded; in host order, stored as is). It reads only the bytes that the
 * fix-up does not write - no load waits on those two stores - and takes
 * the new length from the register.
 */
static inline uint16_t ipv4_cksum20(const uint8_t *ip, uint16_t tot_be)
{
	uint16_t h0, h8;
	uint32_t w4, w12, w16;

	memcpy(&h0, ip, 2);                 /* version, IHL, DSCP */
	memcpy(&w4, ip + 4, 4);             /* identification, flags, offset */
	memcpy(&h8, ip + 8, 2);             /* TTL, protocol */
	memcpy(&w12, ip + 12, 4);           /* addresses */
	memcpy(&w16, ip + 16, 4);
	uint64_t sum = (uint64_t)h0 + tot_be + w4 + h8 + w12 + w16;
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * The UDP payload at r->payload_off changed length from r->payload_len to
 * newlen: fix UDP length, IP length, IPv4 header checksum, UDP checksum
 * (offloaded when the tx port can; else 0 for IPv4, RFC 768, and computed
 * for IPv6, where it is mandatory), and the mbuf's lengths. The IP length
 * is computed, not read back and adjusted: the classifier took the frame as
 * media only where the UDP datagram ends the IP packet.
 */
static void fix_headers(struct rte_mbuf *m, uint8_t *d, const struct classify_result *r,
			uint32_t newlen, bool offload)
{
	const uint32_t l3_len = (uint32_t)(r->l4_off - r->l3_off);   /* with options */
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(d + r->l4_off);
	uint32_t ulen = 8 + newlen;

	udp->dgram_len = rte_cpu_to_be_16((uint16_t)ulen);
	udp->dgram_cksum = 0;
	const uint16_t frame_len = (uint16_t)(r->payload_off + newlen);
	m->data_len = frame_len;                /* drops any Ethernet pad */
	m->pkt_len = frame_len;

	if (!r->ipv6) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + r->l3_off);
		const uint16_t tot_be = rte_cpu_to_be_16((uint16_t)(l3_len + ulen));
		ip->total_length = tot_be;
		ip->hdr_checksum = 0;
		if (offload) {
			m->l2_len = r->l3_off;
			m->l3_len = (uint16_t)l3_len;
			m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
				       RTE_MBUF_F_TX_UDP_CKSUM;
			udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		} else {
			ip->hdr_checksum = l3_len == sizeof(*ip) ?
					   ipv4_cksum20((const uint8_t *)ip, tot_be) :
					   rte_ipv4_cksum(ip);
		}
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)(d + r->l3_off);
		/* extension headers and the datagram */
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(l3_len - sizeof(*ip6) + ulen));
		udp->dgram_cksum = udp6_cksum((const uint8_t *)ip6, (const uint8_t *)udp, ulen);
	}
}

static inline enum dp_drop drop_reason(enum csrtp_status st)
{
	switch (st) {
	case CSRTP_ERR_AUTH:          return DP_DROP_AUTH;
	case CSRTP_ERR_REPLAY:        return DP_DROP_REPLAY;
	case CSRTP_ERR_NO_ROOM:       return DP_DROP_NO_ROOM;
	case CSRTP_ERR_KEY_EXHAUSTED: return DP_DROP_KEY_EXHAUSTED;
	case CSRTP_ERR_NO_KEY:        return DP_DROP_NO_STREAM;
	case CSRTP_ERR_INDEX_REUSE:   return DP_DROP_INDEX_REUSE;
	case CSRTP_ERR_BAD_MKI:       return DP_DROP_BAD_MKI;
	case CSRTP_ERR_KEY_EXPIRED:   return DP_DROP_KEY_EXPIRED;
	default:                      return DP_DROP_MALFORMED;
	}
}

/* A packet of a flow row that did not get through: counted by reason. */
static inline void row_drop(struct dpstats_flow *row, enum csrtp_status st)
{
	uint64_t *c;

	switch (st) {
	case CSRTP_ERR_AUTH:          c = &row->auth; break;
	case CSRTP_ERR_REPLAY:        c = &row->replay; break;
	case CSRTP_ERR_INDEX_REUSE:   c = &row->index_reuse; break;
	case CSRTP_ERR_KEY_EXHAUSTED: /* the key's end: index limit or lifetime */
	case CSRTP_ERR_KEY_EXPIRED:   c = &row->key_exhausted; break;
	default:                      c = &row->other_drops; break;
	}
	DP_STAT_SET(c, *c + 1);
}

/* pkts packets of bytes plaintext bytes of a row got through at now_ns
 * (flows.c keeps the sums in the flow: only stores into the area). */
static inline void row_add(struct flows *f, struct dpstats_flow *row, uint64_t pkts,
			   uint64_t bytes, uint64_t now_ns)
{
	if (row != NULL && pkts != 0)
		flows_row_add(f, row, pkts, bytes, now_ns);
}

/* Occupancy into the worker's block, only when it changed. */
static inline void occupancy(struct dp_lcore *lc)
{
	struct flows_stats fs;

	flows_get_stats(lc->flows, &fs);
	if (unlikely(fs.flows != lc->occ_flows || fs.streams != lc->occ_streams)) {
		lc->occ_flows = fs.flows;
		lc->occ_streams = fs.streams;
		DP_STAT_SET(&lc->stats->flows, fs.flows);
		DP_STAT_SET(&lc->stats->streams, fs.streams);
	}
	if (unlikely(fs.tentative != lc->occ_tentative || fs.evictions != lc->occ_evictions)) {
		lc->occ_tentative = fs.tentative;
		lc->occ_evictions = fs.evictions;
		DP_STAT_SET(&lc->stats->tentative, fs.tentative);
		DP_STAT_SET(&lc->stats->evictions, fs.evictions);
	}
}

static uint16_t process_burst(struct dp_lcore *lc, int from_port,
			      struct rte_mbuf **pkts, uint16_t n, struct rte_mbuf **out);

/* Any n: DP_BURST at a time (the per-burst arrays below hold DP_BURST), so
 * that every mbuf is sent or freed. */
uint16_t dp_process_burst(struct dp_lcore *lc, int from_port,
			  struct rte_mbuf **pkts, uint16_t n, struct rte_mbuf **out)
{
	uint16_t nout = 0;
	for (uint32_t i = 0; i < n; i += DP_BURST) {
		uint16_t c = (uint16_t)(n - i < DP_BURST ? n - i : DP_BURST);
		nout = (uint16_t)(nout + process_burst(lc, from_port, pkts + i, c, out + nout));
	}
	return nout;
}

/* One burst of n <= DP_BURST. */
static uint16_t process_burst(struct dp_lcore *lc, int from_port,
			      struct rte_mbuf **pkts, uint16_t n, struct rte_mbuf **out)
{
	const struct dp_config *cfg = lc->cfg;
	const int outbound = from_port == DP_PORT_INSIDE;
	const enum classify_dir cdir = outbound ? CLASSIFY_OUTBOUND : CLASSIFY_INBOUND;
	const int to_port = outbound ? DP_PORT_OUTSIDE : DP_PORT_INSIDE;
	struct classify_result cr[DP_BURST];
	uint8_t *data[DP_BURST];
	uint32_t dlen[DP_BURST];
	uint16_t room[DP_BURST];           /* tailroom */
	uint8_t chained[DP_BURST];         /* more than one segment */
	uint8_t verdict[DP_BURST];
	/* media, in arrival order */
	uint16_t mi[DP_BURST];
	uint32_t mcap[DP_BURST];           /* room from the payload on */
	struct keytable_key keys[DP_BURST];
	uint32_t ssrcs[DP_BURST];
	struct csrtp_stream *streams[DP_BURST];
	struct dpstats_flow *rows[DP_BURST];
	uint8_t why[DP_BURST];
	/* one batch per kind */
	struct csrtp_pkt batch[2][DP_BURST];
	uint16_t bidx[2][DP_BURST];
	struct dpstats_flow *brow[2][DP_BURST];
	unsigned nb[2] = { 0, 0 };
	unsigned nm = 0;
	uint64_t drops[DP_DROP_MAX] = { 0 };
	uint64_t passed = 0, crypted = 0;

	/* the burst's time: its flows' last_ns, the worker's last_rx_ns */
	const uint64_t now_ns = clock_now_ns(&lc->clock);
	DP_STAT_SET(&lc->stats->last_rx_ns, now_ns);

	/* 1. classify the whole burst in one pass, then act on each frame's
	 * kind. What the burst needs of its mbufs is read once, here, and
	 * every frame's first line is asked for at once: the misses overlap
	 * while the rest of the burst is read and classified. */
	for (uint16_t i = 0; i < n; i++) {
		const struct rte_mbuf *m = pkts[i];
		data[i] = rte_pktmbuf_mtod(m, uint8_t *);
		rte_prefetch0(data[i]);
		dlen[i] = m->data_len;
		room[i] = rte_pktmbuf_tailroom(m);
		chained[i] = m->nb_segs > 1 || m->pkt_len != m->data_len;
	}
	classify_burst(&lc->ccfg, cdir, (const uint8_t *const *)data, dlen, n, cr);
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *d = data[i];
		struct classify_result *r = &cr[i];

		verdict[i] = V_DROP;
		switch (r->kind) {
		case CLASSIFY_RTP:
		case CLASSIFY_RTCP: {
			if (unlikely(chained[i])) {
				drops[DP_DROP_CHAINED]++;
				break;
			}
			const uint8_t *p = d + r->payload_off;
			uint32_t ssrc_off = r->kind == CLASSIFY_RTP ? 8 : 4;
			if (unlikely(r->payload_len < ssrc_off + 4)) {
				drops[DP_DROP_MALFORMED]++;
				break;
			}
			unsigned dir = outbound ? KEYTABLE_DIR_OUT : KEYTABLE_DIR_IN;
			if (r->ipv6)
				keytable_key_ipv6(&keys[nm], d + r->local_addr_off,
						  r->local_port, dir);
			else
				keytable_key_ipv4(&keys[nm], d + r->local_addr_off,
						  r->local_port, dir);
			ssrcs[nm] = get_be32(p + ssrc_off);
			mcap[nm] = (uint32_t)(dlen[i] - r->payload_off) + room[i];
			mi[nm++] = i;
			verdict[i] = V_MEDIA;
			break;
		}
		case CLASSIFY_FRAGMENT:
			/* never the first fragment of media: without it the
			 * datagram cannot be reassembled */
			if (cfg->fragments_pass && !r->media_frag)
				verdict[i] = V_SEND;
			else
				drops[DP_DROP_FRAGMENT]++;
			break;
		case CLASSIFY_MALFORMED:
			drops[DP_DROP_MALFORMED]++;
			break;
		case CLASSIFY_ICMP_MEDIA:         /* whatever --other says */
			drops[DP_DROP_ICMP_MEDIA]++;
			break;
		default:                          /* other, STUN, DTLS */
			if (cfg->other_pass)
				verdict[i] = V_SEND;
			else
				drops[DP_DROP_OTHER]++;
			break;
		}
		passed += verdict[i] == V_SEND;
	}

	/* 2. streams of the media, one bulk look-up */
	if (nm > 0) {
		flows_resolve(lc->flows, keys, ssrcs, nm, streams, why, rows, now_ns);
		occupancy(lc);
	}

	/* 3. sort media into one batch per kind; the batches' counts in
	 * registers (nb[k]++ in the loop: each packet waits on the last one's
	 * store of it) */
	unsigned n0 = 0, n1 = 0;
	for (unsigned j = 0; j < nm; j++) {
		uint16_t i = mi[j];
		if (unlikely(streams[j] == NULL)) {
			drops[why[j] == FLOWS_FULL ? DP_DROP_TABLE_FULL : DP_DROP_NO_STREAM]++;
			if (rows[j] != NULL)
				row_drop(rows[j], CSRTP_ERR_NO_KEY);
			verdict[i] = V_DROP;
			continue;
		}
		const unsigned k = cr[i].kind == CLASSIFY_RTCP, b = k ? n1 : n0;
		batch[k][b] = (struct csrtp_pkt){
			.data = data[i] + cr[i].payload_off,
			.len = cr[i].payload_len,
			.cap = mcap[j],
			.stream = streams[j],
		};
		brow[k][b] = rows[j];
		bidx[k][b] = i;
		n0 += !k;
		n1 += k;
	}
	nb[0] = n0;
	nb[1] = n1;

	/* 4. warm every stream's key before the AES-GCM (many streams: the
	 * misses overlap), then one engine batch per kind */
	const struct csrtp_key *last = NULL;
	const unsigned hot = csrtp_engine_key_hot(lc->engine);
	for (int k = 0; k < 2; k++)
		for (unsigned j = 0; j < nb[k]; j++) {
			const struct csrtp_key *key = batch[k][j].stream->key;
			if (key != last && key != NULL)
				csrtp_key_prefetch_hot(key, hot);
			last = key;
		}

	if (likely(!lc->crypto_off)) {
		if (outbound) {
			if (nb[0])
				csrtp_protect_burst(lc->engine, batch[0], nb[0]);
			if (nb[1])
				csrtp_rtcp_protect_burst(lc->engine, batch[1], nb[1]);
		} else {
			if (nb[0])
				csrtp_unprotect_burst(lc->engine, batch[0], nb[0]);
			if (nb[1])
				csrtp_rtcp_unprotect_burst(lc->engine, batch[1], nb[1]);
		}
	}

	/* 5. fix headers of what succeeded; count per flow row, the packets of
	 * a run that share a row (one stream: the whole burst) added at once.
	 * Bytes: the plaintext's, before protect or after unprotect. */
	bool offload = cfg->tx_cksum_offload[to_port];
	struct dpstats_flow *run = NULL;
	uint64_t run_pkts = 0, run_bytes = 0;
	for (int k = 0; k < 2; k++) {
		for (unsigned j = 0; j < nb[k]; j++) {
			struct csrtp_pkt *cp = &batch[k][j];
			uint16_t i = bidx[k][j];
			if (unlikely(brow[k][j] != run)) {
				row_add(lc->flows, run, run_pkts, run_bytes, now_ns);
				run = brow[k][j];
				run_pkts = run_bytes = 0;
			}
			if (unlikely(cp->status != CSRTP_OK)) {
				enum dp_drop d = drop_reason((enum csrtp_status)cp->status);
				/* a tag failure on a stream nothing verified on: a
				 * forged SSRC (flows.h, tentative streams) */
				if (d == DP_DROP_AUTH && !flows_stream_verified(cp->stream))
					d = DP_DROP_UNVERIFIED;
				drops[d]++;
				if (run != NULL)
					row_drop(run, (enum csrtp_status)cp->status);
				verdict[i] = V_DROP;
				continue;
			}
			run_pkts++;
			run_bytes += outbound ? cr[i].payload_len : cp->len;
			fix_headers(pkts[i], data[i], &cr[i], cp->len, offload);
			verdict[i] = V_SEND;
			crypted++;
		}
	}
	row_add(lc->flows, run, run_pkts, run_bytes, now_ns);

	/* 5b. the streams' indexes, stored before any of it is sent: a
	 * dataplane killed now leaves what reached the wire (resume.h) */
	flows_persist(lc->flows, batch[0], nb[0]);
	flows_persist(lc->flows, batch[1], nb[1]);

	/* 6. what goes out, in arrival order; free the rest */
	uint16_t nout = 0;
	struct rte_mbuf *dead[DP_BURST];
	unsigned ndead = 0;
	for (uint16_t i = 0; i < n; i++) {
		if (verdict[i] == V_SEND)
			out[nout++] = pkts[i];
		else
			dead[ndead++] = pkts[i];
	}
	if (ndead)
		rte_pktmbuf_free_bulk(dead, ndead);

	for (int d = 0; d < DP_DROP_MAX; d++)
		if (drops[d])
			DP_STAT_ADD(lc, drop[d], drops[d]);
	if (passed)
		DP_STAT_ADD(lc, passed, passed);
	if (crypted) {
		if (outbound)
			DP_STAT_ADD(lc, encrypted, crypted);
		else
			DP_STAT_ADD(lc, decrypted, crypted);
	}
	return nout;
}

/* Receive on one port, process, send on the other. Returns packets received. */
static uint16_t pump(struct dp_lcore *lc, int from)
{
	const struct dp_config *cfg = lc->cfg;
	struct rte_mbuf *rx[DP_BURST], *tx[DP_BURST];
	int to = from == DP_PORT_INSIDE ? DP_PORT_OUTSIDE : DP_PORT_INSIDE;

	uint16_t n = rte_eth_rx_burst(cfg->port[from], lc->queue, rx, DP_BURST);
	if (n == 0)
		return 0;
	DP_STAT_ADD(lc, rx[from], n);
	uint16_t nt = dp_process_burst(lc, from, rx, n, tx);
	uint16_t sent = nt ? rte_eth_tx_burst(cfg->port[to], lc->queue, tx, nt) : 0;
	/* a full queue drains in microseconds at line rate: a bounded retry
	 * before dropping (only on this failure branch) */
	for (unsigned int r = 0; unlikely(sent < nt) && r < DP_TX_RETRIES; r++) {
		rte_delay_us(1);
		sent += rte_eth_tx_burst(cfg->port[to], lc->queue, tx + sent,
					 (uint16_t)(nt - sent));
	}
	if (unlikely(sent < nt)) {
		DP_STAT_ADD(lc, drop[DP_DROP_TX_FULL], nt - sent);
		rte_pktmbuf_free_bulk(tx + sent, nt - sent);
	}
	DP_STAT_ADD(lc, tx[to], sent);
	return n;
}

/* The lcores' most recent receive, for --idle-exit (TSC). */
static volatile uint64_t last_rx_tsc;

int dp_worker_main(void *arg)
{
	struct dp_lcore *lc = arg;
	const struct dp_config *cfg = lc->cfg;
	const uint64_t hz = rte_get_tsc_hz();
	const uint64_t idle = (uint64_t)cfg->idle_exit_ms * hz / 1000;
	uint64_t next_check = 0;
	struct rte_rcu_qsbr *qs = __atomic_load_n(&dp_qsbr, __ATOMIC_ACQUIRE);

	if (idle)
		__atomic_store_n(&last_rx_tsc, rte_rdtsc(), __ATOMIC_RELAXED);
	if (qs != NULL)
		rte_rcu_qsbr_thread_online(qs, lc->queue);
	while (!dp_force_quit) {
		/* quiescent: outside any burst (a port's peer may go now) */
		if (qs != NULL)
			rte_rcu_qsbr_quiescent(qs, lc->queue);
		uint16_t got = pump(lc, DP_PORT_INSIDE);
		got += pump(lc, DP_PORT_OUTSIDE);
		/* ended calls' keys wiped without a packet; an empty poll has
		 * time for more of the pass */
		if (got)
			flows_sweep(lc->flows);
		else
			flows_sweep_idle(lc->flows);
		/* --idle-sleep: back off after an empty poll of every port, as DPDK's
		 * power-aware examples do, so that a shared core is not burnt
		 * spinning; the next poll comes at most US microseconds later. */
		if (!got && cfg->idle_sleep_us)
			rte_delay_us_sleep(cfg->idle_sleep_us);
		if (idle == 0)
			continue;
		uint64_t now = rte_rdtsc();
		if (got)
			__atomic_store_n(&last_rx_tsc, now, __ATOMIC_RELAXED);
		else if (now > next_check) {
			/* --idle-exit: no lcore has received anything for that long */
			next_check = now + hz / 1000;
			if (now - __atomic_load_n(&last_rx_tsc, __ATOMIC_RELAXED) > idle)
				dp_force_quit = true;
		}
	}
	if (qs != NULL)
		rte_rcu_qsbr_thread_offline(qs, lc->queue);
	return 0;
}
