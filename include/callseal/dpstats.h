/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpstats.h - the dataplane's statistics area: THE contract between
 * callseal-dataplane (its only writer) and whoever reads its counters without
 * DPDK (callseal-control, callsealctl, tests). docs/dpstats.md describes it
 * field by field.
 *
 * One area is one POSIX shared-memory object beside the key table it counts
 * for, /dev/shm/callseal.<table>.stats, mode 0600, created by the dataplane at
 * start (a stale one left by a dead dataplane is replaced) and removed at its
 * exit. The dataplane holds an exclusive OFD lock on it while it runs: a
 * second dataplane on the same table is refused with the holder's pid.
 *
 *   [ struct dpstats_header (4096 bytes) ]
 *   [ worker 0: struct dpstats_worker ][ worker 0: rows x struct dpstats_flow ]
 *   [ worker 1: ... ] ...
 *
 * Single writer per worker block: each worker lcore writes only its own block,
 * with plain 64-bit stores (relaxed atomics), never a read-modify-write and
 * never a cache line shared with another lcore. Readers load with relaxed
 * loads: every counter is monotonic while the dataplane runs; a total is the
 * sum over workers.
 *
 * Flow rows: a worker's row i mirrors slot i of its flow table (dataplane/
 * flows.c): a flow is placed by linear probing from keytable_hash(key) &
 * (rows - 1), at most DPSTATS_PROBE_MAX rows, and a row once used is never
 * empty again (it may be taken over by another key). So a reader finds a
 * stream key's row by the same probe: it stops at a row never used (seq 0)
 * or after DPSTATS_PROBE_MAX rows. A row's counters belong to one key-table
 * entry instance, named by (key, entry_created_ns): when the worker applies an
 * entry with another created_ns (the key was deleted and added again, e.g. a
 * new call on the same port) it resets the row. A row is (re)assigned under
 * its seqlock (seq odd while written); counters are not under it.
 *
 * No key material is ever written here.
 */
#ifndef CALLSEAL_DPSTATS_H
#define CALLSEAL_DPSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callseal/keytable.h"

/* "CSDPSTAT" read as a little-endian uint64_t */
#define DPSTATS_MAGIC         UINT64_C(0x5441545350445343)
/* Bump on ANY change to the header, the worker block, the row or the names. */
#define DPSTATS_ABI_VERSION   4u
#define DPSTATS_HEADER_SIZE   4096u
#define DPSTATS_WORKER_SIZE   1024u
#define DPSTATS_FLOW_SIZE     128u
#define DPSTATS_WORKERS_MAX   128u
#define DPSTATS_PROBE_MAX     256u      /* = flows.c's longest probe */
#define DPSTATS_DROP_SLOTS    32u       /* room for drop reasons in the layout */
#define DPSTATS_SUFFIX        ".stats"  /* /dev/shm/callseal.<table>.stats */

/*
 * Why a packet was dropped: THE list. The dataplane's enum, its exit JSON,
 * telemetry, callsealctl and the Prometheus names are all generated from it.
 * X(ID, name, help). Append only (the index is the ABI's drop[] slot).
 */
#define DPSTATS_DROPS(X) \
	X(AUTH,          auth,          "SRTP/SRTCP authentication tag did not verify") \
	X(REPLAY,        replay,        "replayed or older than the replay window") \
	X(MALFORMED,     malformed,     "bad frame, IP, UDP, RTP or RTCP header") \
	X(NO_STREAM,     no_stream,     "media on a media port with no key") \
	X(NO_ROOM,       no_room,       "no tailroom for the authentication tag") \
	X(TX_FULL,       tx_full,       "the transmit queue did not take it") \
	X(FRAGMENT,      fragment,      "IP fragment (--fragments drop)") \
	X(OTHER,         other,         "non-media traffic (--other drop)") \
	X(CHAINED,       chained,       "media in a chained (multi-segment) mbuf") \
	X(KEY_EXHAUSTED, key_exhausted, "SRTP/SRTCP index limit of the key reached") \
	X(TABLE_FULL,    table_full,    "the worker's flow or stream table is full") \
	X(INDEX_REUSE,   index_reuse,   "outbound index already protected under the stream's key") \
	X(UNVERIFIED,    unverified,    "tag did not verify on an SSRC nothing has verified on yet (forged)") \
	X(ICMP_MEDIA,    icmp_media,    "outbound ICMP error quoting a media datagram (plaintext media)") \
	X(BAD_MKI,       bad_mki,       "SRTP/SRTCP MKI names none of the stream's keys") \
	X(KEY_EXPIRED,   key_expired,   "the key's lifetime in packets is used up on the stream")

enum dpstats_drop {
#define DPSTATS_DROP_ENUM(id, name, help) DPSTATS_DROP_##id,
	DPSTATS_DROPS(DPSTATS_DROP_ENUM)
#undef DPSTATS_DROP_ENUM
	DPSTATS_DROP_COUNT
};
_Static_assert(DPSTATS_DROP_COUNT <= DPSTATS_DROP_SLOTS, "drop reasons fit the layout");

/* port roles: index of rx[] and tx[]; dpstats_port_name() names them */
#define DPSTATS_INSIDE  0u
#define DPSTATS_OUTSIDE 1u
#define DPSTATS_PORTS   2u

/*
 * A worker block's counters and gauges (the drops apart: DPSTATS_DROPS), by
 * the names every reader shows: THE list. The exit JSON, telemetry and
 * callsealctl stats name a member by its name, a per-port pair (PORTS: an
 * array indexed by port role) as name_<port> ("rx_inside"); Prometheus as
 * callseal_dataplane_<prom>, "_total" appended to a COUNTER, a pair with the
 * label port="<port>". X(member, PORTS|ONE, COUNTER|GAUGE, prom, help).
 * A COUNTER only grows while the dataplane runs; a GAUGE is set.
 */
#define DPSTATS_COUNTERS(X) \
	X(rx,            PORTS, COUNTER, packets_received,      "frames received, by port role") \
	X(tx,            PORTS, COUNTER, packets_sent,          "frames sent, by port role") \
	X(encrypted,     ONE,   COUNTER, encrypted,             "RTP -> SRTP and RTCP -> SRTCP") \
	X(decrypted,     ONE,   COUNTER, decrypted,             "SRTP -> RTP and SRTCP -> RTCP") \
	X(passed,        ONE,   COUNTER, passed,                "non-media forwarded unchanged") \
	X(flows,         ONE,   GAUGE,   flows,                 "flows (key-table entries) in use") \
	X(max_flows,     ONE,   GAUGE,   flows_max,             "flows a worker holds at most (--max-flows)") \
	X(streams,       ONE,   GAUGE,   streams,               "committed SSRC streams in use") \
	X(max_streams,   ONE,   GAUGE,   streams_max,           "committed streams a worker holds at most (--max-streams)") \
	X(tentative,     ONE,   GAUGE,   tentative_streams,     "tentative SSRC streams in use (no packet verified on them yet)") \
	X(max_tentative, ONE,   GAUGE,   tentative_streams_max, "the size of a worker's tentative pool") \
	X(evictions,     ONE,   COUNTER, tentative_evictions,   "tentative streams recycled before any packet verified (forged or misdirected SSRCs)")

enum dpstats_counter_id {
#define DPSTATS_COUNTER_ENUM(member, ports, kind, prom, help) DPSTATS_COUNTER_##member,
	DPSTATS_COUNTERS(DPSTATS_COUNTER_ENUM)
#undef DPSTATS_COUNTER_ENUM
	DPSTATS_COUNTER_COUNT
};

/* One row of DPSTATS_COUNTERS, to walk at run time (dpstats_counters[]). */
struct dpstats_counter {
	const char *name;        /* "rx", "encrypted" */
	const char *prom;        /* "packets_received" */
	const char *help;
	uint16_t offset;         /* of the member in struct dpstats_worker */
	uint8_t ports;           /* DPSTATS_PORTS (an array by port role) or 1 */
	bool counter;            /* COUNTER (else GAUGE) */
};

/* One worker's totals: one lcore writes them. 1024 bytes, 64-byte aligned. */
struct dpstats_worker {
	/* line 0: identity, written before the worker starts */
	uint32_t lcore_id;       /*   0 */
	uint16_t queue;          /*   4 */
	uint16_t reserved0;      /*   6 */
	uint32_t rows;           /*   8: flow rows after this block (power of 2) */
	uint32_t reserved1;      /*  12 */
	uint64_t reserved2[6];   /*  16 */
	/* line 1: packets */
	uint64_t rx[2];          /*  64: by port role */
	uint64_t tx[2];          /*  80 */
	uint64_t encrypted;      /*  96: RTP -> SRTP, RTCP -> SRTCP */
	uint64_t decrypted;      /* 104: SRTP -> RTP, SRTCP -> RTCP */
	uint64_t passed;         /* 112: non-media forwarded unchanged */
	uint64_t last_rx_ns;     /* 120: CLOCK_REALTIME of the last received burst */
	/* lines 2..5: drops by reason (enum dpstats_drop) */
	uint64_t drop[DPSTATS_DROP_SLOTS]; /* 128 */
	/* line 6: occupancy, set (not added) by the worker */
	uint64_t flows;          /* 384: flows in use */
	uint64_t streams;        /* 392: committed SSRC streams in use */
	uint64_t max_flows;      /* 400 */
	uint64_t max_streams;    /* 408 */
	uint64_t tentative;      /* 416: tentative streams in use (ABI 2) */
	uint64_t max_tentative;  /* 424: the tentative pool's size (ABI 2) */
	uint64_t evictions;      /* 432: tentative streams dropped unverified,
				    a count (ABI 2) */
	uint64_t reserved3;      /* 440 */
	uint8_t  pad[DPSTATS_WORKER_SIZE - 448];
} __attribute__((aligned(64)));

/* One flow (one key-table entry as one worker uses it). 128 bytes. */
struct dpstats_flow {
	/* line 0: identity, under seq */
	uint64_t seq;             /*   0: 0 = never used; odd while (re)assigned */
	struct keytable_key key;  /*   8: the flow's stream key */
	uint64_t entry_created_ns;/*  32: keytable_entry.created_ns of the entry
				     the counters belong to */
	uint64_t since_ns;        /*  40: CLOCK_REALTIME the counters started */
	uint64_t generation;      /*  48: last entry generation applied */
	uint64_t last_ns;         /*  56: CLOCK_REALTIME of the last packet that
				     got through (burst time) */
	/* line 1: counters */
	uint64_t packets;         /*  64: protected or unprotected and sent on */
	uint64_t bytes;           /*  72: their RTP/RTCP bytes (plaintext side) */
	uint64_t auth;            /*  80: dropped: tag did not verify */
	uint64_t replay;          /*  88: dropped: replayed or too old */
	uint64_t index_reuse;     /*  96: dropped: index already protected */
	uint64_t key_exhausted;   /* 104: dropped: index limit or lifetime */
	uint64_t other_drops;     /* 112: dropped for another reason */
	uint64_t reserved;        /* 120 */
} __attribute__((aligned(64)));

struct dpstats_header {
	/* line 0: identity (written before magic, read-only afterwards) */
	uint64_t magic;           /*   0: DPSTATS_MAGIC, stored last */
	uint32_t abi_version;     /*   8 */
	uint32_t header_size;     /*  12 */
	uint32_t worker_size;     /*  16 */
	uint32_t flow_size;       /*  20 */
	uint32_t workers;         /*  24: worker blocks */
	uint32_t rows;            /*  28: flow rows per worker (power of 2) */
	uint64_t area_bytes;      /*  32: the whole object */
	uint64_t started_ns;      /*  40: CLOCK_REALTIME the dataplane started */
	uint32_t pid;             /*  48: the dataplane's pid */
	uint32_t drop_count;      /*  52: DPSTATS_DROP_COUNT of the writer */
	uint8_t  table[KEYTABLE_NAME_MAX]; /* 56: key table name, NUL-padded */
	uint8_t  pad[DPSTATS_HEADER_SIZE - 120];
};

_Static_assert(sizeof(struct dpstats_worker) == DPSTATS_WORKER_SIZE, "worker size");
_Static_assert(sizeof(struct dpstats_flow) == DPSTATS_FLOW_SIZE, "flow row size");
_Static_assert(sizeof(struct dpstats_header) == DPSTATS_HEADER_SIZE, "header size");
_Static_assert(offsetof(struct dpstats_worker, rx) == 64, "rx offset");
_Static_assert(offsetof(struct dpstats_worker, drop) == 128, "drop offset");
_Static_assert(offsetof(struct dpstats_worker, flows) == 384, "flows offset");
_Static_assert(offsetof(struct dpstats_worker, tentative) == 416, "tentative offset");
_Static_assert(offsetof(struct dpstats_flow, packets) == 64, "packets offset");

/* ---- API (lib/dpstats; no DPDK) -------------------------------------------- */

struct dpstats;   /* opaque: one mapping, writer or reader */

/* The name of drop reason d ("auth", ...) or "unknown"; its help text. */
const char *dpstats_drop_name(unsigned int d);
const char *dpstats_drop_help(unsigned int d);
/* "inside", "outside" (DPSTATS_INSIDE, DPSTATS_OUTSIDE), or "unknown". */
const char *dpstats_port_name(unsigned int p);
/* DPSTATS_COUNTERS, in its order: DPSTATS_COUNTER_COUNT rows. */
extern const struct dpstats_counter dpstats_counters[DPSTATS_COUNTER_COUNT];
/* Counter c of a worker block (port: its role, for a per-port pair). */
static inline uint64_t dpstats_value(const struct dpstats_worker *w,
				     const struct dpstats_counter *c, unsigned int port)
{
	return ((const uint64_t *)(const void *)((const char *)w + c->offset))[port];
}
/* Add w's counters, gauges and drops (the first drops of them) into sum;
 * sum's last_rx_ns is the latest. A total over workers. */
void dpstats_add(struct dpstats_worker *sum, const struct dpstats_worker *w,
		 unsigned int drops);

/* Writer (the dataplane): create /dev/shm/callseal.<table>.stats for workers
 * blocks of rows flow rows each (rows a power of 2), replacing one whose
 * writer is gone; take the OFD lock. -EBUSY (a live writer: err names its
 * pid), -EINVAL, -ENOSPC, -errno. */
int dpstats_create(struct dpstats **out, const char *table, unsigned int workers,
		   uint32_t rows, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Remove the area (the writer, at exit) and unmap. NULL is accepted. */
void dpstats_destroy(struct dpstats *s);
/* The writer's blocks. */
struct dpstats_worker *dpstats_worker(struct dpstats *s, unsigned int w);
struct dpstats_flow *dpstats_flows(struct dpstats *s, unsigned int w);
/* Writer: (re)assign row to the entry instance (key, created_ns): zero its
 * counters under the row's seqlock. */
void dpstats_flow_assign(struct dpstats_flow *row, const struct keytable_key *key,
			 uint64_t entry_created_ns, uint64_t now_ns);

/* Reader: attach read-only. -ENOENT (no dataplane), -EPROTO (magic, ABI,
 * sizes), -EPERM/-EACCES (owner, mode), -errno. */
int dpstats_attach(struct dpstats **out, const char *table, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void dpstats_detach(struct dpstats *s);
/* true if the dataplane that wrote this mapping has gone or been replaced
 * (the object was unlinked or is another one): detach and attach again. */
bool dpstats_stale(const struct dpstats *s);
const struct dpstats_header *dpstats_header(const struct dpstats *s);
/* Reader: worker w's totals, copied with relaxed loads. -EINVAL if w is out
 * of range. */
int dpstats_read_worker(const struct dpstats *s, unsigned int w, struct dpstats_worker *out);
/* Reader: the sum over workers of the rows of one key-table entry instance
 * (key, entry_created_ns; 0 matches any instance). out's identity fields:
 * key, entry_created_ns and generation of the newest row, since_ns the oldest,
 * last_ns the newest; seq = the number of rows summed. 0, or -ENOENT if no
 * worker has a row for it (no packet yet). */
int dpstats_read_flow(const struct dpstats *s, const struct keytable_key *key,
		      uint64_t entry_created_ns, struct dpstats_flow *out);
/* Reader: 1 while the dataplane that made this area runs (it holds the
 * area's lock), 0 when it has died (its counters are frozen) or the area was
 * replaced or removed; -errno if it cannot be told. A stat, an open and an
 * fcntl of /dev/shm: no waiting. */
int dpstats_writer_alive(const struct dpstats *s);

/*
 * Reader: one table's area followed across dataplane restarts. dpstats_follow()
 * attaches when the area appears and again when dpstats_stale() says it was
 * replaced or removed (a new area counts from 0: epoch tells readings of two
 * areas apart), and says what changed, for the caller's log.
 */
struct dpstats_follow {
	struct dpstats *area;              /* attached and current; NULL: none */
	uint64_t epoch;                    /* +1 at every attach */
	int last_rc;                       /* the last attach's result */
	char table[KEYTABLE_NAME_MAX];     /* "" = follow nothing */
};
enum dpstats_follow_event {
	DPSTATS_FOLLOW_QUIET,      /* nothing new: still attached, or still absent */
	DPSTATS_FOLLOW_ATTACHED,   /* attached (none before) */
	DPSTATS_FOLLOW_REPLACED,   /* the area was replaced: attached to the new one */
	DPSTATS_FOLLOW_GONE,       /* the area went and none is there now */
	DPSTATS_FOLLOW_FAILED,     /* attaching failed for a new reason (not its
				    * absence): err says why */
};
/* table NULL or "": follow nothing. -EINVAL (err says why) for a name too long. */
int dpstats_follow_init(struct dpstats_follow *f, const char *table, char *err,
			size_t errlen);
enum dpstats_follow_event dpstats_follow(struct dpstats_follow *f, char *err, size_t errlen);
void dpstats_follow_fini(struct dpstats_follow *f);

#endif /* CALLSEAL_DPSTATS_H */
