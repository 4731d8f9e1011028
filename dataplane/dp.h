/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp.h - callseal-dataplane: configuration, per-lcore context, statistics.
 *
 * main.c   EAL, options, ports, key table, lcore launch, exit report
 * worker.c the per-lcore run-to-completion loop and the burst path
 * stats.c  statistics: totals, text and JSON reports, DPDK telemetry; the
 *          counters themselves live in the statistics area (lib/dpstats)
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
#include <rte_rcu_qsbr.h>

#include "classify.h"
#include "csrtp.h"
#include "flows.h"
#include "resume.h"
#include "callseal/dpstats.h"
#include "callseal/keytable.h"

#define DP_BURST        32      /* rx/tx burst, = KEYTABLE_BULK_MAX */
#define DP_MAX_QUEUES   64
#define DP_TX_RETRIES   64      /* a full tx queue: tries 1 us apart (as testpmd) */
#define DP_PORT_INSIDE  0
#define DP_PORT_OUTSIDE 1

/* Why a packet was dropped: DP_DROP_AUTH, ... generated from the one list,
 * DPSTATS_DROPS in include/callseal/dpstats.h (names, help, ABI slots).
 * INDEX_REUSE: outbound, an index already protected under the stream's key
 * (a restarted application reusing its SSRC): `call rekey` recovers it. */
enum dp_drop {
#define DP_DROP_ENUM(id, name, help) DP_DROP_##id = DPSTATS_DROP_##id,
	DPSTATS_DROPS(DP_DROP_ENUM)
#undef DP_DROP_ENUM
	DP_DROP_MAX = DPSTATS_DROP_COUNT
};
_Static_assert(DP_PORT_INSIDE == DPSTATS_INSIDE && DP_PORT_OUTSIDE == DPSTATS_OUTSIDE,
	       "port roles index the statistics area's rx[] and tx[]");

/* CLOCK_REALTIME from the TSC without a system call: ns = base_ns +
 * (tsc - base_tsc) * mult >> 32, computed once at start (dp_lcore_init). */
struct dp_clock {
	uint64_t base_tsc, base_ns, mult;
};

struct dp_config {
	const char *table;      /* key table name */
	uint16_t port[2];       /* port ids: inside, outside */
	uint16_t queues;        /* rx/tx queue pairs per port, one lcore each */
	uint16_t media_lo, media_hi;
	bool other_pass;        /* --other pass|drop */
	bool fragments_pass;    /* --fragments pass|drop */
	bool rss_5tuple;        /* --rss-5tuple: RSS on both sides if one is not offered */
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
	/* this worker's totals: its block in the statistics area, or own_stats
	 * when there is no area (benchmarks, tests). Counted in own_stats (hot,
	 * private) and stored into *stats: the packet path never loads from
	 * the shared mapping (a load there that misses stalls the burst). */
	struct dpstats_worker *stats;
	struct dp_clock clock;
	uint64_t occ_flows, occ_streams;   /* occupancy last stored in *stats */
	uint64_t occ_tentative, occ_evictions;
	struct dpstats_worker own_stats;
} __rte_cache_aligned;

/* Statistics are written by their lcore only and read by others (telemetry,
 * exit report, callseal-control through the area) with relaxed loads: no
 * locks, no atomics' read-modify-write; plain stores into the area. */
#define DP_STAT_SET(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define DP_STAT_ADD(lc, field, n) \
	DP_STAT_SET(&(lc)->stats->field, (lc)->own_stats.field += (n))

/* worker.c */
/* The flow rows per worker in the statistics area for cfg. */
uint32_t dp_flow_rows(const struct dp_config *cfg);
/* block, rows: this lcore's worker block and its dp_flow_rows(cfg) flow rows
 * in the statistics area (dpstats_worker(), dpstats_flows()); NULL, NULL for
 * none: the lcore counts its totals into a block of its own, no flow rows. */
int dp_lcore_init(struct dp_lcore *lc, const struct dp_config *cfg,
		  const struct keytable *t, unsigned lcore_id, uint16_t queue,
		  struct dpstats_worker *block, struct dpstats_flow *rows);
/* Restarts (resume.h): the stream-state rows per worker for cfg, and the
 * lcore's rows with what the last dataplane left (before its first burst). */
uint32_t dp_resume_rows(const struct dp_config *cfg);
void dp_lcore_resume(struct dp_lcore *lc, struct resume *r, struct resume_row *rows);
void dp_lcore_fini(struct dp_lcore *lc);
/* Classify, look up, protect (from the inside) or unprotect (from the
 * outside), fix headers. Writes the mbufs to send, in their arrival order,
 * to out[] (room for n) and returns how many; frees and counts the rest.
 * Any n: more than DP_BURST are processed DP_BURST at a time. */
uint16_t dp_process_burst(struct dp_lcore *lc, int from_port,
			  struct rte_mbuf **pkts, uint16_t n, struct rte_mbuf **out);
int dp_worker_main(void *arg);
extern volatile bool dp_force_quit;
/* The workers' quiescent-state variable (thread id = queue), NULL when there
 * is none (benchmarks): each worker is online while it polls and reports at
 * the top of its loop, outside any burst (quiesce.c says why). */
extern struct rte_rcu_qsbr *dp_qsbr;

/* quiesce.c (callseal-dataplane only) */
/* Make dp_qsbr for workers 0..workers-1: from then on a munmap() from the EAL
 * interrupt thread (a memif peer gone) waits until no worker is inside a
 * burst. 0 or -ENOMEM. */
int dp_quiesce_create(unsigned workers);
void dp_quiesce_destroy(void);

/* stats.c */
void dp_stats_sum(struct dpstats_worker *sum, const struct dp_lcore *lcs, unsigned n);
void dp_stats_print(FILE *f, const struct dp_lcore *lcs, unsigned n);
int dp_stats_write_json(const char *path, const struct dp_lcore *lcs, unsigned n);
int dp_stats_telemetry_register(const struct dp_lcore *lcs, unsigned n);
const char *dp_drop_name(enum dp_drop d);

#endif /* CALLSEAL_DP_H */
