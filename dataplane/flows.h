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
};

struct flows;

/* NULL on bad configuration or out of memory. */
struct flows *flows_create(struct csrtp_engine *e, const struct keytable *t,
			   const struct flows_cfg *cfg);
/* Wipes every expanded key. */
void flows_destroy(struct flows *f);

/*
 * Find the stream of each of n (<= KEYTABLE_BULK_MAX) media packets, given the
 * key-table key of its flow and its SSRC. out[i] is the stream, or NULL with
 * the reason in why[i]. Streams are created on first sight.
 */
void flows_resolve(struct flows *f, const struct keytable_key keys[],
		   const uint32_t ssrcs[], unsigned n,
		   struct csrtp_stream *out[], uint8_t why[]);

/*
 * Drop the flows whose key-table entry is gone (a call ended, a key was
 * deleted) without waiting for a packet of theirs, wiping their keys and the
 * master keys they were expanded from. After each change of the table one
 * pass over the flow table, at most FLOWS_SWEEP_SLOTS slots per call (call
 * it once per poll: a call costs one load while the table is unchanged).
 * Returns the flows dropped by this call.
 */
#define FLOWS_SWEEP_SLOTS 256
unsigned flows_sweep(struct flows *f);

void flows_get_stats(const struct flows *f, struct flows_stats *s);

#endif /* CALLSEAL_FLOWS_H */
