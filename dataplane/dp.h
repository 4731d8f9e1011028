/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp.h - callseal-dataplane: configuration, per-lcore context, statistics.
 *
 * main.c   EAL, options, ports, key table, lcore launch, exit report
 * worker.c the per-lcore run-to-completion loop and the burst path
 * stats.c  statistics: totals, text and JSON reports, DPDK telemetry
 * flows.c  the lcore's flows and SSRC streams (no DPDK)
 * classify.c, csrtp*.c  frame parsing and the SRTP engine (no DPDK)
 */
#ifndef CALLSEAL_DP_H
#define CALLSEAL_DP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_mbuf.h>

#include "classify.h"
#include "csrtp.h"
#include "flows.h"
#include "callseal/keytable.h"

#define DP_BURST        32      /* rx/tx burst, = KEYTABLE_BULK_MAX */
#define DP_MAX_QUEUES   64
#define DP_TX_RETRIES   64      /* a full tx queue: tries 1 us apart (as testpmd) */
#define DP_PORT_INSIDE  0
#define DP_PORT_OUTSIDE 1

/* Why a packet was dropped. */
enum dp_drop {
	DP_DROP_AUTH = 0,       /* SRTP/SRTCP tag did not verify */
	DP_DROP_REPLAY,         /* replayed or too old */
	DP_DROP_MALFORMED,      /* bad frame, IP, UDP, RTP or RTCP */
	DP_DROP_NO_STREAM,      /* media on a media port with no key */
	DP_DROP_NO_ROOM,        /* no tailroom for the tag */
	DP_DROP_TX_FULL,        /* the tx queue did not take it */
	DP_DROP_FRAGMENT,       /* IP fragment (--fragments drop) */
	DP_DROP_OTHER,          /* non-media (--other drop) */
	DP_DROP_CHAINED,        /* media in a chained mbuf */
	DP_DROP_KEY_EXHAUSTED,  /* SRTP/SRTCP index limit: needs a rekey */
	DP_DROP_TABLE_FULL,     /* this lcore's flow/stream tables are full */
	DP_DROP_INDEX_REUSE,    /* outbound: an index already protected under the
				   stream's key (a restarted application reusing
				   its SSRC): `call rekey` recovers it */
	DP_DROP_MAX
};

struct dp_stats {
	uint64_t rx[2];         /* per port role: DP_PORT_INSIDE, DP_PORT_OUTSIDE */
	uint64_t tx[2];
	uint64_t encrypted;     /* RTP -> SRTP and RTCP -> SRTCP */
	uint64_t decrypted;     /* SRTP -> RTP and SRTCP -> RTCP */
	uint64_t passed;        /* non-media forwarded unchanged */
	uint64_t drop[DP_DROP_MAX];
};

struct dp_config {
	const char *table;      /* key table name */
	uint16_t port[2];       /* port ids: inside, outside */
	uint16_t queues;        /* rx/tx queue pairs per port, one lcore each */
	uint16_t media_lo, media_hi;
	bool other_pass;        /* --other pass|drop */
	bool fragments_pass;    /* --fragments pass|drop */
	uint32_t idle_exit_ms;  /* 0: run until signalled */
	uint32_t idle_sleep_us; /* sleep after an empty poll of all ports; 0: busy poll */
	const char *stats_json; /* write final stats here */
	uint32_t max_flows, max_streams, window;
	bool tx_cksum_offload[2]; /* port can do IPv4 + UDP checksums */
	bool dumpable;          /* --dumpable: leave PR_SET_DUMPABLE on */
};

/* One worker lcore: one queue pair on each port. Owned by that lcore alone. */
struct dp_lcore {
	unsigned lcore_id;
	uint16_t queue;
	bool crypto_off;        /* benchmarks only: the pipeline without AES-GCM */
	const struct dp_config *cfg;
	struct classify_cfg ccfg;
	struct csrtp_engine *engine;
	struct flows *flows;
	const struct keytable *table;
	struct dp_stats stats __rte_cache_aligned;
} __rte_cache_aligned;

/* Statistics are written by their lcore only and read by others (telemetry,
 * exit report) with relaxed loads: no locks, no atomics' read-modify-write. */
#define DP_STAT_ADD(lc, field, n) \
	__atomic_store_n(&(lc)->stats.field, (lc)->stats.field + (n), __ATOMIC_RELAXED)

/* worker.c */
int dp_lcore_init(struct dp_lcore *lc, const struct dp_config *cfg,
		  const struct keytable *t, unsigned lcore_id, uint16_t queue);
void dp_lcore_fini(struct dp_lcore *lc);
/* Classify, look up, protect (from the inside) or unprotect (from the
 * outside), fix headers. Writes the mbufs to send, in their arrival order,
 * to out[] and returns how many; frees and counts the rest. */
uint16_t dp_process_burst(struct dp_lcore *lc, int from_port,
			  struct rte_mbuf **pkts, uint16_t n, struct rte_mbuf **out);
int dp_worker_main(void *arg);
extern volatile bool dp_force_quit;

/* stats.c */
void dp_stats_sum(struct dp_stats *sum, const struct dp_lcore *lcs, unsigned n);
void dp_stats_print(FILE *f, const struct dp_lcore *lcs, unsigned n);
int dp_stats_write_json(const char *path, const struct dp_lcore *lcs, unsigned n);
int dp_stats_telemetry_register(const struct dp_lcore *lcs, unsigned n);
const char *dp_drop_name(enum dp_drop d);

#endif /* CALLSEAL_DP_H */
