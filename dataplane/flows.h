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
 * Validity: a flow is known to be current while the table's change counter
 * (keytable_changes) is the value it had when the flow was looked up; when the
 * counter moves, the flows a burst touches are looked up again in one bulk
 * call, so a deleted or replaced key stops being used at the next burst.
 * Streams follow their flow's generation lazily, before each use
 * (stream_follow in flows.c): outbound, a new current key applies from each
 * stream's next packet; inbound, an on-auth next key (and, for an advanced
 * entry, the current one a stream has not switched to yet) is pending in the
 * stream until a packet verifies under it; a next key with a from-index
 * applies at that index (RFC 3711 <From,To>). A flow holds up to three
 * expanded keys (previous, current, next), so rekeying loses nothing.
 * No DPDK in here.
 */
#ifndef CALLSEAL_FLOWS_H
#define CALLSEAL_FLOWS_H

#include <stdint.h>

#include "csrtp.h"
#include "callseal/dpstats.h"
#include "callseal/keytable.h"

/* Why a packet has no stream (flows_resolve's why[]). */
enum flows_why {
	FLOWS_OK = 0,
	FLOWS_NO_KEY,        /* no key-table entry (or it is being changed) */
	FLOWS_FULL,          /* flow/stream table or key pool full */
	FLOWS_BAD_KEY,       /* the entry's profile or key is unusable */
};

struct flows_cfg {
	uint32_t max_flows;     /* key-table entries used at once by this lcore */
	uint32_t max_streams;   /* SSRCs tracked at once by this lcore */
	unsigned window;        /* replay window, packets (0: default 128) */
	uint32_t stream_flags;  /* CSRTP_F_* for every stream */
};

struct flows_stats {
	uint64_t lookups;        /* keys looked up in the shared table */
	uint64_t expansions;     /* master keys expanded */
	uint64_t flows;          /* flows in use */
	uint64_t streams;        /* streams in use */
	uint64_t max_flows;      /* the configured limits */
	uint64_t max_streams;
};

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
 * Find the stream of each of n (<= KEYTABLE_BULK_MAX) media packets, given the
 * key-table key of its flow and its SSRC. out[i] is the stream, or NULL with
 * the reason in why[i]. Streams are created on first sight.
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

void flows_get_stats(const struct flows *f, struct flows_stats *s);

#endif /* CALLSEAL_FLOWS_H */
