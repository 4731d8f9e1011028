/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * resume.h - what lets a restarted dataplane go on where the dead one
 * stopped: each SSRC stream's indexes (csrtp_resume: the highest SRTP index
 * protected or accepted, the SRTCP index), kept in a shared-memory object
 * beside the key table, /dev/shm/callseal.<table>.resume (mode 0600), that
 * outlives the dataplane (kill -9 included) and holds no key material.
 *
 * Without it a restarted dataplane starts every stream at ROC 0 with an empty
 * replay window: outbound, an index already protected under the stream's key
 * is protected again once the stream had wrapped (AES-GCM nonce reuse), and
 * the peer's receiver fails every packet (its ROC went on); inbound, a packet
 * captured before the restart is accepted once more.
 *
 *   [ struct resume_header (4096 bytes) ]
 *   [ carried rows: streams restored at start, not yet seen since ]
 *   [ worker 0: rows x struct resume_row ][ worker 1 ] ...
 *
 * A worker's row i mirrors stream slot i of its flows (committed slots, then
 * the tentative pool): one writer per row, plain stores, and a stream's row is
 * stored after its packets' crypto and before they are sent (flows_persist),
 * so every index that reached the wire is in the object. At start
 * (resume_open, the statistics area's lock held: the only dataplane on the
 * table) the old object's rows are merged per (key, entry created_ns, SSRC)
 * (the latest lineage wins; within one, a window's top over a rekey's resume
 * point, then the highest index), those whose key-table entry instance is gone are
 * dropped, and the rest become the new object's carried rows and the map a
 * new stream is restored from (resume_take) once. The old object is replaced
 * atomically (rename), so a dataplane killed again at any point leaves a
 * readable object behind. Row identity is written under a seqlock (seq odd
 * while assigned; such a row is skipped at load).
 * No DPDK in here (unit-tested).
 */
#ifndef CALLSEAL_RESUME_H
#define CALLSEAL_RESUME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "csrtp.h"
#include "callseal/keytable.h"

/* "CSRESUME" read as a little-endian uint64_t */
#define RESUME_MAGIC        UINT64_C(0x454d555345525343)
#define RESUME_VERSION      2u    /* 2: lineage */
#define RESUME_HEADER_SIZE  4096u
#define RESUME_ROW_SIZE     64u
#define RESUME_SUFFIX       ".resume"

/* One stream's indexes. 64 bytes. */
struct resume_row {
	uint64_t seq;              /*  0: 0 = never used; odd while assigned */
	struct keytable_key key;   /*  8: the stream's flow (key-table key) */
	uint64_t created_ns;       /* 32: its entry instance (created_ns) */
	uint32_t ssrc;             /* 40 */
	uint32_t flags;            /* 44: csrtp_resume.flags */
	uint64_t rtp;              /* 48: csrtp_resume.rtp */
	uint32_t rtcp;             /* 56: csrtp_resume.rtcp */
	uint32_t lineage;          /* 60: the stream's sender rekeys so far: a
				      later lineage supersedes an earlier one
				      whatever its indexes (a sender rekey may
				      start its window lower) */
};
_Static_assert(sizeof(struct resume_row) == RESUME_ROW_SIZE, "resume row size");

struct resume_header {
	uint64_t magic;            /* stored last */
	uint32_t version;
	uint32_t row_size;
	uint32_t workers;
	uint32_t rows;             /* rows per worker */
	uint64_t carried;          /* carried rows */
	uint64_t bytes;            /* the whole object */
	uint64_t started_ns;       /* CLOCK_REALTIME of the dataplane's start */
	uint32_t pid;
	uint32_t reserved;
	uint8_t  table[KEYTABLE_NAME_MAX];
	uint8_t  pad[RESUME_HEADER_SIZE - 56 - KEYTABLE_NAME_MAX];
};
_Static_assert(sizeof(struct resume_header) == RESUME_HEADER_SIZE, "resume header size");

struct resume;

struct resume_report {
	uint64_t found;            /* valid rows in the old object */
	uint64_t carried;          /* streams carried (entry instance still in the table) */
	uint64_t dropped;          /* rows of entries gone */
	bool had_old;              /* an old object was there */
};

/*
 * The dataplane, at start, holding the table's statistics lock: load the old
 * object (if any) against key table t and create the new one for workers
 * blocks of rows rows. 0; -EPROTO for an old object this build cannot read
 * (damaged, another version, another owner or mode): err says what to do
 * (nothing is replaced); -EINVAL, -ENOMEM, -errno.
 */
int resume_open(struct resume **out, const char *table, const struct keytable *t,
		unsigned int workers, uint32_t rows, struct resume_report *rep,
		char *err, size_t errlen) __attribute__((warn_unused_result));
/* Unmap (the object stays for the next start). NULL is accepted. */
void resume_close(struct resume *r);
/* Worker w's rows. */
struct resume_row *resume_rows(struct resume *r, unsigned int w);
/*
 * The carried indexes of (key, created_ns, ssrc), each handed out once (to the
 * first stream set up for it; any lcore may ask, concurrently). true and *out
 * filled, or false. r may be NULL.
 */
bool resume_take(struct resume *r, const struct keytable_key *key, uint64_t created_ns,
		 uint32_t ssrc, struct csrtp_resume *out, uint32_t *lineage);

/* Store stream state st into row (the writer: its lcore). The identity is
 * written under the row's seqlock when assign is true. */
static inline void resume_row_store(struct resume_row *row, bool assign,
				    const struct keytable_key *key, uint64_t created_ns,
				    uint32_t ssrc, const struct csrtp_resume *st,
				    uint32_t lineage)
{
	uint64_t seq = 0;

	if (assign) {
		seq = __atomic_load_n(&row->seq, __ATOMIC_RELAXED) | 1;
		__atomic_store_n(&row->seq, seq, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		row->key = *key;
		row->created_ns = created_ns;
		row->ssrc = ssrc;
	}
	/* values before the flags that say they are there */
	__atomic_store_n(&row->lineage, lineage, __ATOMIC_RELAXED);
	__atomic_store_n(&row->rtp, st->rtp, __ATOMIC_RELAXED);
	__atomic_store_n(&row->rtcp, st->rtcp, __ATOMIC_RELAXED);
	__atomic_store_n(&row->flags, st->flags, __ATOMIC_RELEASE);
	if (assign)
		__atomic_store_n(&row->seq, seq + 1, __ATOMIC_RELEASE);
}

#endif /* CALLSEAL_RESUME_H */
