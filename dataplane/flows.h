/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flows.h - a worker lcore's view of the key table: flows and SSRC streams.
 *
 * A flow is one key-table entry as this lcore uses it: (local address, local
 * port, direction) -> the entry's generation and the SRTP session keys
 * expanded from its master keys (once per generation, never per packet).
 * A stream is one SSRC on a flow: its csrtp_stream (ROC, replay windows,
 * SRTCP index). Both tables are allocated at start and owned by one lcore:
 * no locks, no allocation on the packet path.
 *
 * Validity, per entry: a flow is known to be current while the table's
 * change counter (keytable_changes) is the value it had when the flow was
 * last checked; when the counter moves, the flows a burst touches check their
 * entry's reference (its slot and generation, keytable_ref_current_bulk: one
 * line of the table each), and only those whose entry changed, went or moved
 * (a delete's shift) are looked up again in one bulk call. So another
 * entry's add or delete costs a flow one line, not a look-up and a copy, and
 * a deleted or replaced key stops being used at the next burst. A flow found
 * through a wildcard entry is looked up again after any change (an exact
 * entry added for its address takes over).
 * Streams follow their flow's generation lazily, before each use
 * (stream_follow in flows.c): outbound, a new current key applies from each
 * stream's next packet; inbound, an on-auth next key (and, for an advanced
 * entry, the current one a stream has not switched to yet) is pending in the
 * stream until a packet verifies under it; a next key with a from-index
 * applies at that index (RFC 3711 <From,To>). A flow holds up to three
 * expanded keys (previous, current, next), so rekeying loses nothing.
 *
 * Hostile input (docs/dataplane.md "Hostile input"): a stream is tentative
 * until csrtp has let a packet of it through (unprotect verified one, or
 * protect sealed one); only then is it committed to the stream table, which
 * max_streams bounds. Tentative streams live in a small per-lcore pool, at
 * most FLOWS_FLOW_TENTATIVE per flow, and are recycled oldest first while
 * nothing has verified under them, so forged SSRCs cost each packet bounded
 * work and hold no permanent slot. The stream table's hash is keyed with a
 * per-lcore random key.
 * No DPDK in here.
 */
#ifndef CALLSEAL_FLOWS_H
#define CALLSEAL_FLOWS_H

#include <stddef.h>
#include <stdint.h>

#include "csrtp.h"
#include "callseal/dpstats.h"
#include "callseal/keytable.h"

/* Why a packet has no stream (flows_resolve's why[]). */
enum flows_why {
	FLOWS_OK = 0,
	FLOWS_NO_KEY,        /* no key-table entry (or it is being changed) */
	FLOWS_FULL,          /* flow/stream table or key pool full, the flow
				at max_flow_streams, or no tentative slot */
	FLOWS_BAD_KEY,       /* the entry's profile or key is unusable */
};

/* Tentative streams per flow: at least one look-up's packets, so that a
 * new SSRC always finds a slot that no other packet of its burst holds. */
#define FLOWS_FLOW_TENTATIVE     32u
/* Committed streams per flow unless configured (flows_cfg.max_flow_streams). */
#define FLOWS_FLOW_STREAMS_DEFAULT 1024u

struct flows_cfg {
	uint32_t max_flows;     /* key-table entries used at once by this lcore */
	uint32_t max_streams;   /* committed SSRC streams at once by this lcore */
	uint32_t max_flow_streams; /* committed streams per flow (0: the default,
				      FLOWS_FLOW_STREAMS_DEFAULT, at most max_streams) */
	uint32_t max_tentative; /* tentative streams per lcore (0: 1/16 of the
				   stream table, 64-4096); 64-65535 */
	unsigned window;        /* replay window, packets (0: default 128) */
	uint32_t stream_flags;  /* CSRTP_F_* for every stream */
};

struct flows_stats {
	uint64_t lookups;        /* keys looked up in the shared table (by
				    packets and by the sweep) */
	uint64_t ref_checks;     /* flows found current (or not) by their
				    entry's reference after the table changed
				    (by a look-up or by the sweep) */
	uint64_t sweep_pending;  /* 1: a sweep pass is under way or due */
	uint64_t expansions;     /* master keys expanded */
	uint64_t flows;          /* flows in use */
	uint64_t streams;        /* committed streams in use */
	uint64_t max_flows;      /* the configured limits */
	uint64_t max_streams;
	uint64_t tentative;      /* tentative streams in use */
	uint64_t max_tentative;  /* the pool's size */
	uint64_t evictions;      /* tentative streams dropped unverified */
	uint64_t commits;        /* tentative streams committed */
	uint64_t visits;         /* stream slots visited (probes, sweeps,
				    recycling): work, for the tests */
};

/* A packet of the stream has got through csrtp: unprotect verified it, or
 * protect sealed it (csrtp moves a window only for such a packet; a sender's
 * rekey keeps resume, its SRTCP its index). A stream that fails this has
 * never authenticated anything: its tag failures are forged or misdirected
 * packets (the worker counts them as "unverified", not "auth"). */
static inline int flows_stream_verified(const struct csrtp_stream *cs)
{
	return cs->rtp.started | cs->rtcp.started | cs->resume | (cs->srtcp_next != 0);
}

struct flows;

/* Slots in the flow table flows_create makes for cfg (a power of 2): the
 * statistics area's flow rows per worker (include/callseal/dpstats.h). */
uint32_t flows_table_rows(const struct flows_cfg *cfg);

/* NULL on bad configuration or out of memory. rows: the worker's flow rows
 * in the statistics area, flows_table_rows(cfg) of them, row i mirroring
 * flow slot i; NULL for none (unit tests, benchmarks without an area). */
struct flows *flows_create(struct csrtp_engine *e, const struct keytable *t,
			   const struct flows_cfg *cfg, struct dpstats_flow *rows);
/* Wipes every expanded key. */
void flows_destroy(struct flows *f);

/*
 * Restarts (dataplane/resume.h). rows: this lcore's resume rows,
 * flows_resume_rows(cfg) of them (stream slot i mirrored by row i); r: what a
 * dead dataplane left, each new stream restored from it (resume_take) before
 * its first packet. Either may be NULL. Call before the first flows_resolve.
 */
struct resume;
struct resume_row;
uint32_t flows_resume_rows(const struct flows_cfg *cfg);
void flows_set_resume(struct flows *f, struct resume *r, struct resume_row *rows);
/*
 * Store the indexes of the streams of pkts (after their crypto, before they
 * are sent: whatever reaches the wire is in the rows when the process dies).
 * Consecutive packets of one stream cost one store. Nothing without rows.
 */
void flows_persist(struct flows *f, const struct csrtp_pkt pkts[], unsigned n);

/*
 * Find the stream of each of n (<= KEYTABLE_BULK_MAX) media packets, given the
 * key-table key of its flow and its SSRC. out[i] is the stream, or NULL with
 * the reason in why[i]. A new SSRC gets a tentative stream (committed
 * once a packet of it has got through csrtp: flows_stream_verified); every
 * stream handed out stays valid until the next call.
 *
 * rows_out (NULL: not wanted): the flow row each packet counts into, NULL
 * where there is none (no rows, or no live flow for its key); it is set
 * also where out[i] is NULL because the stream table is full. A row is
 * (re)assigned, with now_ns (CLOCK_REALTIME) as its start, when its slot
 * takes a key or the flow meets another instance of its entry (another
 * created_ns: deleted and added again); its generation follows the flow's.
 */
void flows_resolve(struct flows *f, const struct keytable_key keys[],
		   const uint32_t ssrcs[], unsigned n,
		   struct csrtp_stream *out[], uint8_t why[],
		   struct dpstats_flow *rows_out[], uint64_t now_ns);

/* Count pkts packets of bytes plaintext bytes into row (one of rows_out's)
 * at now_ns: the sums are kept in the flow and stored into the row, so that
 * the packet path does not load from the shared mapping. */
void flows_row_add(struct flows *f, struct dpstats_flow *row, uint64_t pkts,
		   uint64_t bytes, uint64_t now_ns);

/*
 * Drop the flows whose key-table entry is gone (a call ended, a key was
 * deleted, or deleted and added again; a wildcard flow's wildcard went)
 * without waiting for a packet of theirs, wiping their keys and the master
 * keys they were expanded from; apply a replaced or rekeyed entry (the old
 * key wiped), and take a moved entry's new slot as the flow's reference.
 * After each change of the table one pass over the flow table, at most
 * FLOWS_SWEEP_SLOTS slots and FLOWS_SWEEP_FLOWS live flows per call (call it
 * once per poll: a call costs one load while the table is unchanged). A
 * live flow costs one line of the key table (its reference), and nothing if
 * a packet of it has checked it since the pass began. Under a control that never stops changing the
 * table, passes follow each other: the per-call bounds are the cost on every
 * poll (docs/dataplane.md). Returns the flows dropped by this call.
 */
#define FLOWS_SWEEP_SLOTS 256
#define FLOWS_SWEEP_FLOWS 8
unsigned flows_sweep(struct flows *f);
/*
 * flows_sweep for a poll that received nothing (it has time): up to
 * FLOWS_SWEEP_IDLE_STEPS flows_sweep calls while a pass is under way, so at
 * most FLOWS_SWEEP_IDLE_STEPS * FLOWS_SWEEP_FLOWS live flows (256 lines of
 * the key table, ~13 us) and 32 times the slots. A pass over 100k idle
 * flows takes ~390 idle polls instead of 12,500.
 */
#define FLOWS_SWEEP_IDLE_STEPS 32
unsigned flows_sweep_idle(struct flows *f);

/* How long a flow whose entry answers KEYTABLE_BUSY (its slot mid-write)
 * keeps using the keys it has, from the first such answer (flows_resolve's
 * now_ns); after it, its packets are refused as FLOWS_NO_KEY until the
 * entry answers. A write takes microseconds: only a writer that died or
 * stalls mid-write holds a slot this long. */
#define FLOWS_BUSY_NS (10ull * 1000 * 1000)

void flows_get_stats(const struct flows *f, struct flows_stats *s);
/* The bytes of one flow and of one SSRC stream in their tables (each table
 * has twice the slots of its limit), for the benchmarks' state figures. */
void flows_state_bytes(size_t *flow, size_t *stream);

#endif /* CALLSEAL_FLOWS_H */
