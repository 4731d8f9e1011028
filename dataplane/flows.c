/* SPDX-License-Identifier: BSD-3-Clause */
/* flows.c - per-lcore flows (key-table entries in use) and SSRC streams. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "flows.h"
#include "hygiene.h"
#include "resume.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Longest probe in either table: past it, the table counts as full rather
 * than being scanned end to end (tombstones of old flows can pile up). */
#define PROBE_MAX 256
/* The statistics area's readers find a flow row by this same probe. */
_Static_assert(PROBE_MAX == DPSTATS_PROBE_MAX, "the flow rows' probe is the flows' probe");
/* Pool slots looked at for one new tentative stream: past the streams the
 * look-up's own packets hold (KEYTABLE_BULK_MAX), the first one not held is
 * taken unless it verified and cannot be committed (no room). */
#define TENT_TRIES (2 * KEYTABLE_BULK_MAX + 2)
#define FLOW_TENT FLOWS_FLOW_TENTATIVE
_Static_assert(FLOW_TENT >= KEYTABLE_BULK_MAX, "a new SSRC finds a tentative slot no packet "
	       "of its look-up holds");

enum { FLOW_EMPTY = 0, FLOW_LIVE, FLOW_DEAD };

/* Line 0 holds what every burst reads or writes: the key and state the
 * look-up checks, and the statistics row's counters (kept here, stored into
 * the row, so that counting loads nothing from the shared mapping). */
struct flow {
	struct keytable_key key;
	uint32_t state : 2;            /* FLOW_* */
	uint32_t pending : 1;          /* queued for look-up in this call */
	uint32_t wild : 1;             /* found through a wildcard entry: an
					  exact entry added later must take
					  over, so only an unchanged table
					  (changes) proves it current */
	/* the entry's slot when last looked up: with generation, the
	 * keytable_ref that proves the flow current after the table changed
	 * (< 2^27 slots: KEYTABLE_CAPACITY_MAX) */
	uint32_t ref_slot : 28;
	uint32_t incarnation;          /* new value whenever streams start over */
	uint64_t changes;              /* keytable_changes() when last looked up */
	uint64_t generation;           /* entry generation applied */
	uint64_t row_packets;          /* the statistics row's packets, bytes */
	uint64_t row_bytes;
	/* expanded keys, from the pool. prev: the entry's cur before it was
	 * advanced (KEYTABLE_F_PREV), for streams that have not switched yet.
	 * Keys move between these pointers rather than being re-expanded, so
	 * a stream can tell which of them it is using by its pointers. */
	struct csrtp_key *prev, *cur, *next;
	uint64_t next_from;            /* RFC 3711 <From,To> for next */
	uint32_t cur_serial;           /* +1 whenever cur changes */
	uint8_t on_auth;               /* KEYTABLE_F_NEXT_ON_AUTH: next from the
					  first packet that verifies under it */
	struct keytable_master cur_m;  /* what cur was expanded from */
	struct keytable_master next_m; /* what next was expanded from */
	uint64_t created_ns;           /* the entry instance applied (its created_ns) */
	/* its streams, all freed by flow_kill (so no stale stream is left
	 * for a sweep to find), and not touched by the new-slot memset:
	 * committed ones, a list through stream.fnext (index + 1; 0 ends), and
	 * tentative ones (SSRC, pool index + 1; 0 free) */
	uint32_t shead;
	uint32_t n_committed;
	uint16_t tn;                   /* tentative streams */
	uint8_t thand;                 /* round robin over tslot when full */
	uint32_t tssrc[FLOWS_FLOW_TENTATIVE];
	uint16_t tslot[FLOWS_FLOW_TENTATIVE];
	/* now_ns >> BUSY_SHIFT (about ms) of the first KEYTABLE_BUSY answer
	 * since the entry last answered, | 1 (0: none); in the last line's
	 * spare bytes, read only when the table answers BUSY */
	uint32_t busy_since;
} __attribute__((aligned(64)));
_Static_assert(offsetof(struct flow, row_bytes) < 64, "a flow's hot fields in one line");
_Static_assert(sizeof(struct flow) <= 448, "a flow stays 7 lines (docs/benchmarks.md's state)");
/* busy_since's unit, 2^20 ns: FLOWS_BUSY_NS is counted in it */
#define BUSY_SHIFT 20
_Static_assert((uint64_t)KEYTABLE_CAPACITY_MAX * 2 <= (UINT64_C(1) << 28), "ref_slot holds a slot");

struct stream {
	uint32_t flow;                 /* flow index + 1; 0 = empty slot */
	uint32_t ssrc;
	uint32_t incarnation;          /* the flow's, when set up */
	uint64_t generation;           /* the flow's generation applied to cs */
	uint32_t cur_serial;           /* the flow's cur_serial applied to cs */
	uint32_t epoch;                /* tentative: the last look-up that
					  handed it out (flows.epoch) */
	uint8_t tpos;                  /* tentative: its index in tslot */
	uint8_t row_ok;                /* its resume row names it (flows_persist) */
	uint32_t lineage;              /* sender rekeys of the stream (resume.h) */
	uint32_t fnext;                /* committed: the flow's next, index + 1 */
	struct csrtp_stream cs;
} __attribute__((aligned(64)));
/* What a packet reads of its stream (the slot's tag, cs.key, the sender's
 * window top and first bits) is in its first STREAM_HOT_LINES lines, which a
 * burst prefetches together (with many streams each is a miss). */
#define STREAM_HOT_LINES 3
_Static_assert(offsetof(struct stream, cs) + offsetof(struct csrtp_stream, rtp) +
	       offsetof(struct csrtp_window, bits) + 16 <= STREAM_HOT_LINES * 64,
	       "a stream's hot fields in its first lines");

struct flows {
	struct csrtp_engine *e;
	const struct keytable *t;
	struct flows_cfg cfg;
	uint32_t flow_mask, stream_mask;
	uint32_t n_flows, n_streams;
	struct flow *flow;
	struct stream *stream;
	struct dpstats_flow *rows;     /* the statistics area's rows: row i
					  mirrors flow slot i; NULL for none */
	struct resume *resume;         /* indexes carried over a restart */
	struct resume_row *srows;      /* resume rows: committed stream slot i
					  is row i, tentative pool slot j row
					  stream_mask + 1 + j; NULL for none */
	struct csrtp_key *pool;        /* expanded keys */
	/* free pool indices, a FIFO ring: a freed key's slot is taken again
	 * only after every other free slot, so that a stream still pointing at
	 * a key its flow dropped (it follows only at its next packet) does not
	 * find a new key of the same flow behind that pointer at once */
	uint32_t *pool_free;
	uint32_t pool_size, pool_n, pool_head;
	uint64_t lookups, expansions;
	uint64_t ref_checks;           /* flows checked by their entry's ref */
	unsigned last_nrc;             /* ref checks of the last flows_resolve */
	/* the stream table's hash key (per lcore, from getrandom) */
	uint64_t hk0, hk1;
	uint32_t flow_streams;         /* committed streams per flow */
	uint32_t epoch;                /* +1 per flows_resolve */
	/* tentative streams: a pool recycled round robin (oldest first) */
	struct stream *tpool;
	uint32_t tent_max, tent_hand, n_tent;
	uint64_t evictions, commits, visits;
	/* flows_sweep: the table's change counter of the last complete pass,
	 * and the pass under way (next slot, counter it started at) */
	uint64_t swept, sweep_from;
	uint32_t sweep_pos;
	bool sweeping, sweep_busy;
};

static uint32_t pow2_at_least(uint64_t n)
{
	uint32_t p = 16;
	while (p < n)
		p <<= 1;
	return p;
}

uint32_t flows_table_rows(const struct flows_cfg *cfg)
{
	return pow2_at_least(2ull * cfg->max_flows);
}

/* Stream table slots: twice max_streams, and room for the tentative pool
 * (1/16 of it) in the load; at least 1024. */
static uint32_t stream_table_slots(const struct flows_cfg *cfg)
{
	uint32_t n = pow2_at_least(2ull * cfg->max_streams);

	return n < 1024 ? 1024 : n;
}

static uint32_t tent_slots(const struct flows_cfg *cfg)
{
	uint32_t n = cfg->max_tentative;

	if (n == 0) {
		n = stream_table_slots(cfg) / 16;
		n = n < 64 ? 64 : n > 4096 ? 4096 : n;
	}
	return n;
}

uint32_t flows_resume_rows(const struct flows_cfg *cfg)
{
	return stream_table_slots(cfg) + tent_slots(cfg);
}

struct flow;
struct stream;
static void flow_kill(struct flows *f, struct flow *fl);
static void tent_free(struct flows *f, struct stream *t);
static void stream_tomb(struct flows *f, struct stream *c);
static void persist_one(struct flows *f, const struct csrtp_stream *cs);

/* The big tables: anonymous mappings, zeroed, asking for transparent huge
 * pages (with many streams their accesses are random: 4 KiB pages would miss
 * the TLB on every packet). Also keeps key material out of the malloc heap. */
static void *table_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_HUGEPAGE);       /* a hint: fine if refused */
	madvise(p, bytes, MADV_DONTDUMP);       /* keys never go into core dumps */
	return p;
}

static void table_free(void *p, size_t bytes)
{
	if (p != NULL)
		munmap(p, bytes);
}

struct flows *flows_create(struct csrtp_engine *e, const struct keytable *t,
			   const struct flows_cfg *cfg, struct dpstats_flow *rows)
{
	struct flows *f;

	if (cfg->max_flows == 0 || cfg->max_streams == 0 ||
	    cfg->max_flows > (1u << 24) || cfg->max_streams > (1u << 26) ||
	    cfg->window > CSRTP_REPLAY_WINDOW_MAX ||
	    (cfg->max_tentative != 0 && (cfg->max_tentative < 2 * KEYTABLE_BULK_MAX ||
					 cfg->max_tentative > UINT16_MAX)))
		return NULL;
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->e = e;
	f->t = t;
	f->cfg = *cfg;
	f->flow_mask = flows_table_rows(cfg) - 1;
	f->rows = rows;
	f->stream_mask = stream_table_slots(cfg) - 1;
	f->tent_max = tent_slots(cfg);
	f->flow_streams = cfg->max_flow_streams ? cfg->max_flow_streams :
			  FLOWS_FLOW_STREAMS_DEFAULT;
	if (f->flow_streams > cfg->max_streams)
		f->flow_streams = cfg->max_streams;
	f->epoch = 1;
	/* the stream table's key: who sends SSRCs cannot aim them at one
	 * probe sequence without knowing it */
	uint64_t hk[2];
	if (getrandom(hk, sizeof(hk), 0) != (ssize_t)sizeof(hk)) {
		free(f);
		return NULL;
	}
	f->hk0 = hk[0];
	f->hk1 = hk[1] | 1;
	explicit_bzero(hk, sizeof(hk));
	/* up to three keys per flow (previous, current, next), plus one being
	 * expanded; the pool is a mapping touched only where used */
	f->pool_size = 3 * cfg->max_flows + 8;
	f->flow = table_alloc(((size_t)f->flow_mask + 1) * sizeof(*f->flow));
	f->stream = table_alloc(((size_t)f->stream_mask + 1) * sizeof(*f->stream));
	f->pool = table_alloc((size_t)f->pool_size * sizeof(*f->pool));
	f->pool_free = calloc(f->pool_size, sizeof(*f->pool_free));
	f->tpool = table_alloc((size_t)f->tent_max * sizeof(*f->tpool));
	if (!f->flow || !f->stream || !f->pool || !f->pool_free || !f->tpool) {
		flows_destroy(f);
		return NULL;
	}
	/* expanded keys and the masters they came from: locked as touched (a
	 * refusal is counted; callseal-dataplane warns once) */
	(void)hygiene_lock(f->flow, ((size_t)f->flow_mask + 1) * sizeof(*f->flow));
	(void)hygiene_lock(f->pool, (size_t)f->pool_size * sizeof(*f->pool));
	for (uint32_t i = 0; i < f->pool_size; i++)
		f->pool_free[i] = i;
	f->pool_n = f->pool_size;
	f->pool_head = 0;
	return f;
}

void flows_set_resume(struct flows *f, struct resume *r, struct resume_row *rows)
{
	f->resume = r;
	f->srows = rows;
}

void flows_destroy(struct flows *f)
{
	if (f == NULL)
		return;
	/* wipe only the keys in use (the rest was never written) */
	if (f->flow)
		for (uint32_t i = 0; i <= f->flow_mask; i++)
			if (f->flow[i].state == FLOW_LIVE)
				flow_kill(f, &f->flow[i]);
	table_free(f->pool, (size_t)f->pool_size * sizeof(*f->pool));
	table_free(f->flow, ((size_t)f->flow_mask + 1) * sizeof(*f->flow));
	table_free(f->stream, ((size_t)f->stream_mask + 1) * sizeof(*f->stream));
	table_free(f->tpool, (size_t)f->tent_max * sizeof(*f->tpool));
	free(f->pool_free);
	free(f);
}

/* ---- key pool ------------------------------------------------------------ */

static struct csrtp_key *key_alloc(struct flows *f)
{
	uint32_t i;

	if (f->pool_n == 0)
		return NULL;
	i = f->pool_free[f->pool_head];
	f->pool_head = f->pool_head + 1 == f->pool_size ? 0 : f->pool_head + 1;
	f->pool_n--;
	return &f->pool[i];
}

static void key_free(struct flows *f, struct csrtp_key **k)
{
	if (*k == NULL)
		return;
	csrtp_key_wipe(*k);
	uint64_t tail = (uint64_t)f->pool_head + f->pool_n;

	f->pool_free[tail % f->pool_size] = (uint32_t)(*k - f->pool);
	f->pool_n++;
	*k = NULL;
}

/* Expand master m into *slot (allocating it if needed). 0 or FLOWS_*. */
static int key_expand(struct flows *f, struct csrtp_key **slot,
		      const struct keytable_master *m)
{
	if (*slot == NULL && (*slot = key_alloc(f)) == NULL)
		return FLOWS_FULL;
	f->expansions++;
	/* the profile's salt: 12 bytes (GCM) or 14 (AES-CM); the engine checks
	 * salt_len against the profile */
	if (m->salt_len > sizeof(m->salt) ||
	    csrtp_key_init_salt(f->e, *slot, (enum csrtp_profile)m->profile, m->key,
				m->key_len, m->salt, m->salt_len) != 0 ||
	    /* the key's MKI (RFC 3711 s. 3.1) and lifetime (s. 9.2), as an
	     * SDES line gave them (docs/keytable.md) */
	    csrtp_key_set_mki(*slot, m->mki, m->mki_len) != 0 ||
	    csrtp_key_set_lifetime(*slot, m->lifetime) != 0) {
		key_free(f, slot);
		return FLOWS_BAD_KEY;
	}
	return FLOWS_OK;
}

/* ---- flows --------------------------------------------------------------- */

static inline bool key_eq(const struct keytable_key *a, const struct keytable_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* The flow holding key, or the slot where it would go (*found = false);
 * UINT32_MAX if the table has no room. */
static uint32_t flow_find_h(struct flows *f, const struct keytable_key *k, uint64_t h,
			    bool *found)
{
	uint32_t i = (uint32_t)h & f->flow_mask;
	uint32_t reuse = UINT32_MAX;

	for (uint32_t n = 0; n <= f->flow_mask && n < PROBE_MAX; n++, i = (i + 1) & f->flow_mask) {
		struct flow *fl = &f->flow[i];
		if (fl->state == FLOW_EMPTY) {
			*found = false;
			return reuse != UINT32_MAX ? reuse : i;
		}
		if (key_eq(&fl->key, k)) {
			*found = true;
			return i;
		}
		if (fl->state == FLOW_DEAD && reuse == UINT32_MAX)
			reuse = i;              /* a tombstone: reusable */
	}
	*found = false;
	return reuse;
}

static inline uint32_t flow_find(struct flows *f, const struct keytable_key *k, bool *found)
{
	return flow_find_h(f, k, keytable_hash(k), found);
}

static void flow_kill(struct flows *f, struct flow *fl)
{
	/* its streams go with it: work bounded by its max_flow_streams, done
	 * when its key-table entry goes (the control's doing, never a packet's) */
	for (uint32_t j = 0; fl->tn > 0 && j < FLOW_TENT; j++)
		if (fl->tslot[j] != 0)
			tent_free(f, &f->tpool[fl->tslot[j] - 1]);
	for (uint32_t i = fl->shead; i != 0;) {
		struct stream *c = &f->stream[i - 1];

		i = c->fnext;
		stream_tomb(f, c);
	}
	fl->shead = 0;
	fl->n_committed = 0;
	key_free(f, &fl->prev);
	key_free(f, &fl->cur);
	key_free(f, &fl->next);
	explicit_bzero(&fl->cur_m, sizeof(fl->cur_m));
	explicit_bzero(&fl->next_m, sizeof(fl->next_m));
	if (fl->state == FLOW_LIVE)
		f->n_flows--;
	fl->state = FLOW_DEAD;
	fl->busy_since = 0;
	fl->incarnation++;
}

/* Bring a flow up to date with its key-table entry. 0 or FLOWS_*. */
static int flow_apply(struct flows *f, struct flow *fl, const struct keytable_entry *en)
{
	int ret;

	if (csrtp_profile_key_len((enum csrtp_profile)en->cur.profile) != en->cur.key_len) {
		ret = FLOWS_BAD_KEY;
		goto dead;
	}
	bool revived = fl->state != FLOW_LIVE;
	bool advanced = !revived && (en->flags & KEYTABLE_F_PREV);
	if (revived || memcmp(&fl->cur_m, &en->cur, sizeof(en->cur)) != 0) {
		/* a new current key (add, replace, advance). old: the key the
		 * entry's cur held before this write, kept as prev if advanced */
		struct csrtp_key *old = fl->cur;

		fl->cur = NULL;
		if (!revived && fl->next != NULL &&
		    memcmp(&fl->next_m, &en->cur, sizeof(en->cur)) == 0) {
			/* the scheduled key became cur: moved, not re-expanded */
			fl->cur = fl->next;
			fl->next = NULL;
			explicit_bzero(&fl->next_m, sizeof(fl->next_m));
		} else if (advanced && fl->next != NULL) {
			/* advanced more than once since this flow last looked
			 * (two rekeys in flight, written between two packets):
			 * the entry's cur before this write was our pending
			 * next (the key streams switched to on auth, which the
			 * sender may still use), not our cur, which is older */
			key_free(f, &old);
			old = fl->next;
			fl->next = NULL;
			explicit_bzero(&fl->next_m, sizeof(fl->next_m));
		}
		/* free before expanding: at most three keys, plus one below */
		key_free(f, &fl->prev);
		fl->prev = old;
		if (fl->cur == NULL && (ret = key_expand(f, &fl->cur, &en->cur)) != FLOWS_OK)
			goto dead;
		if (!advanced)
			key_free(f, &fl->prev);
		fl->cur_m = en->cur;
		fl->cur_serial++;
	} else if (!advanced) {
		key_free(f, &fl->prev);
	}
	if (en->flags & KEYTABLE_F_NEXT) {
		if (fl->next == NULL || memcmp(&fl->next_m, &en->next, sizeof(en->next)) != 0) {
			/* a new key in a new slot: a stream using the key this
			 * replaces must not find another key behind its pointer */
			struct csrtp_key *nk = NULL;

			if ((ret = key_expand(f, &nk, &en->next)) != FLOWS_OK)
				goto dead;
			key_free(f, &fl->next);
			fl->next = nk;
			fl->next_m = en->next;
		}
		fl->next_from = en->next_from_index;
		fl->on_auth = (en->flags & KEYTABLE_F_NEXT_ON_AUTH) != 0;
	} else if (fl->next != NULL) {
		key_free(f, &fl->next);
		explicit_bzero(&fl->next_m, sizeof(fl->next_m));
	}
	if (revived) {
		fl->incarnation++;              /* streams start over */
		f->n_flows++;
	}
	fl->state = FLOW_LIVE;
	fl->generation = en->generation;
	fl->created_ns = en->created_ns;
	return FLOWS_OK;
dead:
	flow_kill(f, fl);
	return ret;
}

/* ---- streams ------------------------------------------------------------- */

/* The stream table's hash of (flow slot + 1, SSRC), keyed per lcore: the
 * SSRC is the sender's choice (anyone's, for a forged packet), so the probe
 * sequence it lands on must not be predictable. A 64x64->128-bit multiply by
 * a random odd constant of the key-xored input, folded (wyhash's "mum"): one
 * multiply, as cheap as the unkeyed Fibonacci hash it replaces, and a blind
 * attacker cannot make SSRCs collide (SipHash would guard even against one
 * who sees timings, at ~20 ns a packet; nothing here leaks the slot but the
 * probe length, and probes are bounded). */
static inline uint32_t stream_hash(const struct flows *f, uint32_t flow, uint32_t ssrc)
{
	unsigned __int128 p = (unsigned __int128)(((uint64_t)flow << 32 | ssrc) ^ f->hk0) * f->hk1;

	return (uint32_t)((uint64_t)p ^ (uint64_t)(p >> 64));
}

#define STREAM_TOMB UINT32_MAX    /* stream.flow of a reclaimed slot */

/* A committed stream's slot becomes a tombstone (reused by a new stream
 * whose probe meets it; a probe goes on past it). */
static void stream_tomb(struct flows *f, struct stream *c)
{
	explicit_bzero(&c->cs, sizeof(c->cs));
	c->flow = STREAM_TOMB;
	c->fnext = 0;
	f->n_streams--;
}

static struct stream *stream_find(struct flows *f, uint32_t tag, uint32_t ssrc,
				  struct stream **reuse)
{
	uint32_t i = stream_hash(f, tag, ssrc) & f->stream_mask;   /* prefetched by caller */
	uint32_t n;
	struct stream *st = NULL;

	*reuse = NULL;
	for (n = 0; n <= f->stream_mask && n < PROBE_MAX; n++, i = (i + 1) & f->stream_mask) {
		struct stream *c = &f->stream[i];
		if (c->flow == tag && c->ssrc == ssrc) {
			st = c;
			break;
		}
		if (c->flow == 0) {
			if (*reuse == NULL)
				*reuse = c;
			break;
		}
		if (*reuse == NULL && c->flow == STREAM_TOMB)
			*reuse = c;
	}
	f->visits += n + 1;
	return st;
}

/* ---- tentative streams ---------------------------------------------------- */

/* Tentative stream t leaves the pool and its flow's set, its state wiped. */
static void tent_free(struct flows *f, struct stream *t)
{
	struct flow *fl = &f->flow[t->flow - 1];

	fl->tslot[t->tpos] = 0;
	fl->tn--;
	f->n_tent--;
	explicit_bzero(&t->cs, sizeof(t->cs));
	t->flow = 0;
}

/* Commit tentative stream t, which has verified: its state moves into the
 * stream table (at reuse, stream_find's answer for it, if known). NULL: no
 * room (the table or the flow at its limit, or no slot within the probe);
 * t stays tentative. */
static struct stream *tent_commit(struct flows *f, struct stream *t, struct stream *reuse)
{
	struct flow *fl = &f->flow[t->flow - 1];

	if (reuse == NULL && stream_find(f, t->flow, t->ssrc, &reuse) != NULL)
		return NULL;            /* cannot be: one stream per (flow, SSRC) */
	if (reuse == NULL || fl->n_committed >= f->flow_streams ||
	    f->n_streams >= f->cfg.max_streams)
		return NULL;
	f->n_streams++;
	reuse->flow = t->flow;
	reuse->ssrc = t->ssrc;
	reuse->incarnation = t->incarnation;
	reuse->generation = t->generation;
	reuse->cur_serial = t->cur_serial;
	reuse->cs = t->cs;
	reuse->lineage = t->lineage;
	reuse->row_ok = 0;             /* another slot: another row */
	reuse->fnext = fl->shead;
	fl->shead = (uint32_t)(reuse - f->stream) + 1;
	fl->n_committed++;
	f->commits++;
	tent_free(f, t);
	/* its row moves with it now: its tentative slot's row may be taken by
	 * the next new SSRC before this stream sends again */
	if (f->srows != NULL)
		persist_one(f, &reuse->cs);
	return reuse;
}

/* Make tentative stream t's slot free for a new one: committed if it has
 * verified, dropped (evicted) if not. false: it stays, because a packet of
 * this look-up holds it, or it verified and there is no room to commit it
 * (it is never dropped: its replay window is all that refuses replays). */
static bool tent_reclaim(struct flows *f, struct stream *t)
{
	if (t->epoch == f->epoch)
		return false;
	if (flows_stream_verified(&t->cs))
		return tent_commit(f, t, NULL) != NULL;
	tent_free(f, t);
	f->evictions++;
	return true;
}

/* A tentative stream for a new SSRC of flow fl: a free place in the flow's
 * set and the pool's next slot; the pool is recycled round robin, so the
 * slot taken is the one filled longest ago. A flow whose set is full
 * recycles its own, round robin. NULL: none could be freed in a bounded
 * number of tries (all held by this look-up's packets or verified and
 * uncommittable). */
static struct stream *tent_alloc(struct flows *f, struct flow *fl, uint32_t tag, uint32_t ssrc)
{
	struct stream *t = NULL;
	uint32_t pos = 0, n = 0;

	if (fl->tn < FLOW_TENT) {
		while (fl->tslot[pos] != 0)
			pos++;
		for (; n < TENT_TRIES && t == NULL; n++) {
			struct stream *c = &f->tpool[f->tent_hand];

			f->tent_hand = f->tent_hand + 1 == f->tent_max ? 0 : f->tent_hand + 1;
			if (c->flow == 0 || tent_reclaim(f, c))
				t = c;
		}
	} else {
		for (; n < FLOW_TENT && t == NULL; n++) {
			uint32_t j = fl->thand;
			struct stream *c = &f->tpool[fl->tslot[j] - 1];

			fl->thand = (uint8_t)((j + 1) % FLOW_TENT);
			if (tent_reclaim(f, c)) {
				t = c;
				pos = j;
			}
		}
	}
	f->visits += n;
	if (t == NULL)
		return NULL;
	fl->tssrc[pos] = ssrc;
	fl->tslot[pos] = (uint16_t)(t - f->tpool + 1);
	fl->tn++;
	f->n_tent++;
	t->flow = tag;
	t->ssrc = ssrc;
	t->tpos = (uint8_t)pos;
	t->epoch = f->epoch;
	return t;
}

/* The stream of an SSRC that has no committed one (reuse: stream_find's
 * answer): its tentative stream, committed now if it has verified and no
 * packet of this look-up holds it, or a new tentative stream. */
static struct stream *tent_get(struct flows *f, struct flow *fl, uint32_t tag, uint32_t ssrc,
			       struct stream *reuse, int *why)
{
	for (uint32_t j = 0; fl->tn > 0 && j < FLOW_TENT; j++) {
		if (fl->tslot[j] == 0 || fl->tssrc[j] != ssrc)
			continue;
		struct stream *t = &f->tpool[fl->tslot[j] - 1], *c;

		if (t->epoch != f->epoch && flows_stream_verified(&t->cs) &&
		    (c = tent_commit(f, t, reuse)) != NULL)
			return c;
		t->epoch = f->epoch;
		return t;
	}
	/* a new SSRC: only where it could be committed (fail closed: a full
	 * table refuses new SSRCs, as before there were tentative streams) */
	struct stream *t = NULL;
	if (fl->n_committed < f->flow_streams && f->n_streams < f->cfg.max_streams)
		t = tent_alloc(f, fl, tag, ssrc);
	if (t == NULL) {
		*why = FLOWS_FULL;
		return NULL;
	}
	t->incarnation = fl->incarnation - 1;   /* force set-up */
	return t;
}

/* The sender's new key from its next packet (csrtp_stream_sender_rekey): a
 * new lineage of its resume rows (resume.h: a later lineage supersedes). */
static void sender_rekey(struct stream *st, const struct csrtp_key *k)
{
	csrtp_stream_sender_rekey(&st->cs, k);
	st->lineage++;
}

static inline bool flow_holds(const struct flow *fl, const struct csrtp_key *k)
{
	return k != NULL && (k == fl->prev || k == fl->cur || k == fl->next);
}

/*
 * A stream follows its flow's new generation (docs/keytable.md 5.5, 6):
 *  - outbound, a new current key: from the stream's next packet on, index
 *    and ROC kept, a fresh window (csrtp_stream_sender_rekey);
 *  - inbound: the stream keeps the key it is using while the flow still
 *    holds it (the previous one of an advanced entry: the sender has not
 *    switched yet); the keys after it are pending, tried when a packet fails
 *    and made current by the first packet that verifies (on-auth next);
 *  - a next key with a from-index (an operator's key rekey --from-index):
 *    RFC 3711 <From,To> at that index, on either side.
 * Keys the flow no longer holds are dropped from the stream.
 */
static void stream_follow(const struct flow *fl, struct stream *st)
{
	struct csrtp_stream *cs = &st->cs;
	bool out = fl->key.dir == KEYTABLE_DIR_OUT;

	if (fl->next != NULL && !fl->on_auth) {
		if (out && st->cur_serial != fl->cur_serial)
			sender_rekey(st, fl->cur);
		csrtp_stream_set_keys(cs, fl->cur, NULL, NULL, NULL);
		/* refused only for a next key with another MKI length (one
		 * length per stream, RFC 3711 s. 3.1): the stream stays on cur
		 * until the table makes next current */
		(void)csrtp_stream_rekey(cs, fl->next, fl->next_from);
	} else if (out) {
		if (st->cur_serial != fl->cur_serial || cs->key != fl->cur)
			sender_rekey(st, fl->cur);
	} else {
		const struct csrtp_key *a = NULL, *b = NULL;
		const struct csrtp_key *nx = fl->on_auth ? fl->next : NULL;

		if (cs->key == fl->cur) {
			a = nx;
		} else if (fl->prev != NULL && cs->key == fl->prev) {
			a = fl->cur;
			b = nx;
		} else if (nx == NULL || cs->key != nx) {
			/* a key the flow no longer holds (replaced): cur at once */
			csrtp_stream_set_keys(cs, fl->cur, NULL, cs->pending[0], cs->pending[1]);
			a = nx;
		}
		if (!flow_holds(fl, cs->prev_key))
			csrtp_stream_set_keys(cs, cs->key, NULL, cs->pending[0], cs->pending[1]);
		if ((a != NULL || b != NULL || !cs->skipped || !flow_holds(fl, cs->pending[0])) &&
		    csrtp_stream_pending(cs, a, b) != 0) {
			/* a new key with another MKI length (one length per
			 * stream, RFC 3711 s. 3.1) cannot overlap the old one:
			 * the flow's current key at once */
			csrtp_stream_set_keys(cs, fl->cur, NULL, NULL, NULL);
		}
	}
	st->cur_serial = fl->cur_serial;
}

static struct stream *stream_get(struct flows *f, uint32_t fi, uint32_t ssrc, int *why)
{
	struct flow *fl = &f->flow[fi];
	uint32_t tag = fi + 1;
	struct stream *reuse;
	struct stream *st = stream_find(f, tag, ssrc, &reuse);

	if (unlikely(st == NULL) && (st = tent_get(f, fl, tag, ssrc, reuse, why)) == NULL)
		return NULL;
	if (unlikely(st->incarnation != fl->incarnation)) {
		/* new SSRC, or its flow's keys started over: fresh ROC and window */
		if (csrtp_stream_init(&st->cs, fl->cur, f->cfg.window, f->cfg.stream_flags)) {
			*why = FLOWS_BAD_KEY;
			return NULL;
		}
		st->incarnation = fl->incarnation;
		st->generation = 0;
		st->cur_serial = fl->cur_serial;
		st->row_ok = 0;
		st->lineage = 0;
		/* a stream a dead dataplane used: where it stopped (resume.h;
		 * rows are checked at load: restore cannot refuse them) */
		struct csrtp_resume rs;
		if (unlikely(f->resume != NULL) &&
		    resume_take(f->resume, &fl->key, fl->created_ns, ssrc, &rs, &st->lineage))
			(void)csrtp_stream_restore(&st->cs, &rs);
	}
	if (unlikely(st->generation != fl->generation)) {
		stream_follow(fl, st);
		st->generation = fl->generation;
	}
	return st;
}

/* ---- resume rows -------------------------------------------------------------- */

static void persist_one(struct flows *f, const struct csrtp_stream *cs)
{
	struct stream *st = (struct stream *)(void *)((char *)(uintptr_t)cs -
						      offsetof(struct stream, cs));
	/* a committed slot (row i) or a tentative one (after them) */
	uintptr_t p = (uintptr_t)st, base = (uintptr_t)f->stream;
	size_t i = p - base < ((size_t)f->stream_mask + 1) * sizeof(*st)
		   ? (size_t)(st - f->stream)
		   : (size_t)f->stream_mask + 1 + (size_t)(st - f->tpool);
	struct csrtp_resume rs;

	csrtp_stream_save(cs, &rs);
	if (likely(st->row_ok)) {
		resume_row_store(&f->srows[i], false, NULL, 0, 0, &rs, st->lineage);
	} else {
		const struct flow *fl = &f->flow[st->flow - 1];

		resume_row_store(&f->srows[i], true, &fl->key, fl->created_ns, st->ssrc, &rs,
				 st->lineage);
		st->row_ok = 1;
	}
}

void flows_persist(struct flows *f, const struct csrtp_pkt pkts[], unsigned n)
{
	const struct csrtp_stream *last = NULL;

	if (f->srows == NULL)
		return;
	for (unsigned i = 0; i < n; i++) {
		if (pkts[i].stream == last || pkts[i].stream == NULL)
			continue;
		last = pkts[i].stream;
		/* a stream nothing has verified on (forged SSRCs) has used no
		 * index: it takes no row */
		if (flows_stream_verified(last))
			persist_one(f, last);
	}
}

/* ---- statistics rows -------------------------------------------------------- */

/* The row of flow slot fi has just been looked up in the table (entry en):
 * a new key in the slot, or another instance of the entry (deleted and
 * added again), starts the row over; its generation follows the flow's.
 * Only this lcore writes its rows: plain (relaxed) stores. */
static void row_follow(struct flows *f, uint32_t fi, bool new_key,
		       const struct keytable_entry *en, uint64_t now_ns)
{
	struct dpstats_flow *row = &f->rows[fi];
	const struct flow *fl = &f->flow[fi];

	if (new_key || row->seq == 0 || row->entry_created_ns != en->created_ns) {
		dpstats_flow_assign(row, &fl->key, en->created_ns, now_ns);
		f->flow[fi].row_packets = f->flow[fi].row_bytes = 0;
	}
	if (fl->state == FLOW_LIVE && row->generation != fl->generation)
		__atomic_store_n(&row->generation, fl->generation, __ATOMIC_RELAXED);
}

/* ---- resolve ------------------------------------------------------------- */

/* Live flow fi's entry answered KEYTABLE_BUSY at now_ns: its keys serve the
 * packets of this burst (fidx[i] == fi) for FLOWS_BUSY_NS (in 2^20 ns
 * steps) from the first such answer; after that they are refused
 * (FLOWS_NO_KEY) until the entry answers. A clock that went back counts as
 * past the bound. */
static void busy_hold(struct flows *f, uint32_t fi, const uint32_t fidx[], unsigned n,
		      uint8_t why[], uint64_t now_ns)
{
	struct flow *fl = &f->flow[fi];

	const uint32_t t = (uint32_t)(now_ns >> BUSY_SHIFT);

	if (fl->busy_since == 0) {
		fl->busy_since = t | 1;         /* 0 is "none" */
		return;
	}
	if ((uint32_t)(t - fl->busy_since) <= (uint32_t)(FLOWS_BUSY_NS >> BUSY_SHIFT))
		return;
	for (unsigned i = 0; i < n; i++)
		if (fidx[i] == fi)
			why[i] = FLOWS_NO_KEY;
}

void flows_resolve(struct flows *f, const struct keytable_key keys[],
		   const uint32_t ssrcs[], unsigned n,
		   struct csrtp_stream *out[], uint8_t why[],
		   struct dpstats_flow *rows_out[], uint64_t now_ns)
{
	uint64_t changes = keytable_changes(f->t);
	uint32_t fidx[KEYTABLE_BULK_MAX];
	struct keytable_key lk[KEYTABLE_BULK_MAX];
	uint32_t lk_pkt[KEYTABLE_BULK_MAX];   /* a packet index per look-up */
	unsigned nl = 0;

	if (n > KEYTABLE_BULK_MAX)
		n = KEYTABLE_BULK_MAX;
	f->epoch++;                 /* streams handed out before are free to go */

	/* 0. hash every key and prefetch its flow slot, so that the misses of
	 * a burst over many flows overlap; while flows need ref checks (the
	 * last burst had some: a control is busy), their entries' home slots
	 * too (the same hash), so that 1b finds its lines on their way */
	uint64_t hash[KEYTABLE_BULK_MAX];
	const bool pf_table = f->last_nrc != 0;
	for (unsigned i = 0; i < n; i++) {
		hash[i] = keytable_hash(&keys[i]);
		__builtin_prefetch(&f->flow[(uint32_t)hash[i] & f->flow_mask]);
		if (pf_table)
			keytable_prefetch_home(f->t, hash[i]);
	}

	/* 1. local flows that are known current need no look-up: the table
	 * has not changed since they were looked up, or (after a change) the
	 * slot of their entry still holds the generation they applied, so
	 * the change was another entry's (a per-entry check, 1b) */
	struct keytable_ref refs[KEYTABLE_BULK_MAX];
	uint32_t rc_flow[KEYTABLE_BULK_MAX], rc_pkt[KEYTABLE_BULK_MAX];
	unsigned nrc = 0;
	for (unsigned i = 0; i < n; i++) {
		bool found;
		uint32_t fi = flow_find_h(f, &keys[i], hash[i], &found);
		struct flow *fl = found ? &f->flow[fi] : NULL;
		fidx[i] = found ? fi : UINT32_MAX;
		why[i] = FLOWS_OK;
		if (found && fl->state == FLOW_LIVE && fl->changes == changes)
			continue;
		if (found && fl->pending)
			continue;                   /* already queued by a packet before */
		if (found && fl->state == FLOW_LIVE && !fl->wild) {
			fl->pending = 1;
			refs[nrc] = (struct keytable_ref){ .slot = fl->ref_slot,
							   .generation = fl->generation };
			rc_flow[nrc] = fi;
			rc_pkt[nrc++] = i;
			continue;
		}
		if (found)
			fl->pending = 1;
		else {
			/* not here yet: queue one look-up per distinct key */
			bool dup = false;
			for (unsigned j = 0; j < nl && !dup; j++)
				dup = key_eq(&lk[j], &keys[i]);
			if (dup)
				continue;
		}
		lk[nl] = keys[i];
		lk_pkt[nl] = i;
		nl++;
	}

	f->last_nrc = nrc;
	/* 1b. one line of the shared table per flow. Current after changes
	 * was read: every write not in that count moves it again, and the
	 * flow is checked again then. Not current (changed, deleted, moved
	 * by a delete's shift, or mid-write): looked up below. */
	if (nrc > 0) {
		uint8_t cur[KEYTABLE_BULK_MAX];

		keytable_ref_current_bulk(f->t, refs, nrc, cur);
		f->ref_checks += nrc;
		for (unsigned j = 0; j < nrc; j++) {
			struct flow *fl = &f->flow[rc_flow[j]];

			if (cur[j]) {
				fl->changes = changes;
				fl->pending = 0;
				continue;
			}
			lk[nl] = fl->key;
			lk_pkt[nl] = rc_pkt[j];
			nl++;
		}
	}

	/* 2. one bulk look-up in the shared table for the rest */
	if (nl > 0) {
		struct keytable_entry en[KEYTABLE_BULK_MAX];
		uint8_t st[KEYTABLE_BULK_MAX];

		keytable_lookup_bulk(f->t, lk, nl, en, st, refs);
		f->lookups += nl;
		for (unsigned j = 0; j < nl; j++) {
			bool found;
			uint32_t fi = flow_find(f, &lk[j], &found);
			struct flow *fl = fi == UINT32_MAX ? NULL : &f->flow[fi];

			if (fl != NULL)
				fl->pending = 0;
			if (st[j] == KEYTABLE_BUSY) {
				/* the writer is mid-change (its write takes
				 * microseconds): keep the keys we had and ask
				 * again, for FLOWS_BUSY_NS. Past that the writer
				 * died mid-write (the next one to attach recovers
				 * the slot) or stalls, and the entry the keys
				 * came from may be gone: drop the flow's packets
				 * until the table answers (docs/keytable.md 5.2) */
				if (found && fl->state == FLOW_LIVE)
					busy_hold(f, fi, fidx, n, why, now_ns);
				continue;
			}
			if (st[j] == KEYTABLE_NOT_FOUND) {
				if (found) {
					if (fl->state == FLOW_LIVE)
						flow_kill(f, fl);
					fl->changes = changes;
				}
				continue;               /* unknown keys leave no state */
			}
			if (fl == NULL || (!found && f->n_flows >= f->cfg.max_flows)) {
				why[lk_pkt[j]] = FLOWS_FULL;
				continue;
			}
			if (!found) {
				memset(fl, 0, offsetof(struct flow, incarnation));
				fl->key = lk[j];
				fl->state = FLOW_DEAD;   /* flow_apply brings it up */
			}
			/* deleted and added again since we last looked (a call
			 * ended, the next one got the port before a packet of
			 * either): another instance, so start over as if the
			 * deletion had been seen, or the old instance's streams
			 * would never turn stale and fill the stream table */
			if (found && fl->state == FLOW_LIVE && fl->created_ns != en[j].created_ns)
				flow_kill(f, fl);
			if (fl->state != FLOW_LIVE || fl->generation != en[j].generation)
				flow_apply(f, fl, &en[j]);
			fl->changes = changes;
			fl->busy_since = 0;
			fl->ref_slot = refs[j].slot;
			fl->wild = !key_eq(&en[j].key, &lk[j]) ? 1 : 0;
			if (f->rows != NULL)
				row_follow(f, fi, !found, &en[j], now_ns);
		}
		explicit_bzero(en, sizeof(en));
	}

	/* 3. each packet's stream: prefetch their slots first (the lines a
	 * packet reads, and the resume row it will write) */
	for (unsigned i = 0; i < n; i++) {
		if (why[i] != FLOWS_OK || fidx[i] == UINT32_MAX)
			continue;
		uint32_t si = stream_hash(f, fidx[i] + 1, ssrcs[i]) & f->stream_mask;
		const char *p = (const char *)&f->stream[si];
		for (unsigned l = 0; l < STREAM_HOT_LINES; l++)
			__builtin_prefetch(p + 64 * l);
		if (f->srows != NULL)
			__builtin_prefetch(&f->srows[si], 1);
	}
	for (unsigned i = 0; i < n; i++) {
		out[i] = NULL;
		if (rows_out != NULL)
			rows_out[i] = NULL;
		if (why[i] != FLOWS_OK)
			continue;
		bool found;
		uint32_t fi = fidx[i] != UINT32_MAX ? fidx[i] :
			      flow_find_h(f, &keys[i], hash[i], &found);
		if (fi == UINT32_MAX || f->flow[fi].state != FLOW_LIVE ||
		    !key_eq(&f->flow[fi].key, &keys[i])) {
			why[i] = FLOWS_NO_KEY;
			continue;
		}
		if (rows_out != NULL && f->rows != NULL) {
			rows_out[i] = &f->rows[fi];
			/* written after the crypto: fetched now (both lines) */
			if (i == 0 || rows_out[i - 1] != rows_out[i]) {
				__builtin_prefetch(&f->rows[fi], 1);
				__builtin_prefetch(&f->rows[fi].packets, 1);
			}
		}
		int w = FLOWS_OK;
		struct stream *s = stream_get(f, fi, ssrcs[i], &w);
		if (s == NULL) {
			why[i] = (uint8_t)w;
			continue;
		}
		out[i] = &s->cs;
	}
}

void flows_row_add(struct flows *f, struct dpstats_flow *row, uint64_t pkts,
		   uint64_t bytes, uint64_t now_ns)
{
	struct flow *fl = &f->flow[row - f->rows];

	fl->row_packets += pkts;
	fl->row_bytes += bytes;
	__atomic_store_n(&row->packets, fl->row_packets, __ATOMIC_RELAXED);
	__atomic_store_n(&row->bytes, fl->row_bytes, __ATOMIC_RELAXED);
	__atomic_store_n(&row->last_ns, now_ns, __ATOMIC_RELAXED);
}

/* ---- sweep --------------------------------------------------------------- */

/* The sweep found live flow fi's entry at ref with another generation than
 * the flow applied: the same instance rekeyed (replace, schedule, advance)
 * is applied now, as a packet would; another instance (deleted and added
 * again), or the exact entry where the flow used the wildcard or the other
 * way round, drops the flow. Either way no key the entry no longer holds
 * stays in memory. 1 if the flow was dropped, 0 if kept, -1 if the entry
 * could not be read (changed again or mid-write: another pass). */
static int sweep_follow(struct flows *f, uint32_t fi, const struct keytable_ref *ref)
{
	struct flow *fl = &f->flow[fi];
	struct keytable_entry en;
	int ret = -1;

	if (keytable_read_ref(f->t, ref, &en) != 0)
		goto out;
	if (en.created_ns != fl->created_ns || key_eq(&en.key, &fl->key) == (bool)fl->wild ||
	    flow_apply(f, fl, &en) != FLOWS_OK) {
		if (fl->state == FLOW_LIVE)
			flow_kill(f, fl);
		ret = 1;
		goto out;
	}
	fl->changes = f->sweep_from;
	fl->ref_slot = ref->slot;
	fl->busy_since = 0;
	if (f->rows != NULL && f->rows[fi].generation != fl->generation)
		__atomic_store_n(&f->rows[fi].generation, fl->generation, __ATOMIC_RELAXED);
	ret = 0;
out:
	explicit_bzero(&en, sizeof(en));
	return ret;
}

static unsigned sweep_step(struct flows *f)
{
	struct keytable_key lk[KEYTABLE_BULK_MAX];
	struct keytable_ref refs[KEYTABLE_BULK_MAX];
	uint8_t st[KEYTABLE_BULK_MAX];
	uint32_t idx[KEYTABLE_BULK_MAX];
	unsigned nl = 0, dropped = 0;
	uint32_t end;

	if (!f->sweeping) {
		uint64_t changes = keytable_changes(f->t);

		if (likely(changes == f->swept))
			return 0;
		if (f->n_flows == 0) {          /* nothing to drop */
			f->swept = changes;
			return 0;
		}
		f->sweeping = true;
		f->sweep_busy = false;
		f->sweep_from = changes;
		f->sweep_pos = 0;
	}
	/* the live flows among the next slots, at most one bulk look-up */
	end = f->sweep_pos + FLOWS_SWEEP_SLOTS;
	if (end > f->flow_mask + 1 || end < f->sweep_pos)
		end = f->flow_mask + 1;
	while (f->sweep_pos < end && nl < FLOWS_SWEEP_FLOWS) {
		const struct flow *fl = &f->flow[f->sweep_pos];

		/* a flow checked since the pass began has seen every delete
		 * the pass is for (a packet's check read a later counter) */
		if (fl->state == FLOW_LIVE && fl->changes < f->sweep_from) {
			idx[nl] = f->sweep_pos;
			lk[nl++] = fl->key;
		}
		f->sweep_pos++;
	}
	/* a flow whose entry's slot still holds its generation is kept (one
	 * line each); the others are looked up, by reference only: no key
	 * bytes are copied out of the table */
	if (nl > 0) {
		uint8_t cur[KEYTABLE_BULK_MAX];
		unsigned nq = 0;

		for (unsigned j = 0; j < nl; j++)
			refs[j] = (struct keytable_ref){ .slot = f->flow[idx[j]].ref_slot,
							 .generation = f->flow[idx[j]].generation };
		keytable_ref_current_bulk(f->t, refs, nl, cur);
		f->ref_checks += nl;
		for (unsigned j = 0; j < nl; j++) {
			if (!cur[j]) {
				idx[nq] = idx[j];
				lk[nq++] = lk[j];
			}
		}
		nl = nq;
	}
	if (nl > 0 && keytable_lookup_bulk_ref(f->t, lk, nl, refs, st) >= 0) {
		f->lookups += nl;
		for (unsigned j = 0; j < nl; j++) {
			struct flow *fl = &f->flow[idx[j]];

			if (st[j] == KEYTABLE_NOT_FOUND) {
				flow_kill(f, fl);
				dropped++;
			} else if (st[j] == KEYTABLE_BUSY) {
				f->sweep_busy = true;   /* mid-change: another pass */
			} else if (refs[j].generation == fl->generation) {
				/* the same entry (generations are never reused),
				 * moved by a delete's shift: its new slot is the
				 * reference from now on, so later passes and
				 * packets check one line again, not look it up */
				fl->ref_slot = refs[j].slot;
				fl->changes = f->sweep_from;
			} else {
				int r = sweep_follow(f, idx[j], &refs[j]);

				if (r > 0)
					dropped++;
				else if (r < 0)
					f->sweep_busy = true;
			}
		}
	}
	if (f->sweep_pos > f->flow_mask) {
		f->sweeping = false;
		if (!f->sweep_busy)
			f->swept = f->sweep_from;
	}
	return dropped;
}

unsigned flows_sweep(struct flows *f)
{
	return sweep_step(f);
}

unsigned flows_sweep_idle(struct flows *f)
{
	unsigned dropped = 0;

	for (unsigned i = 0; i < FLOWS_SWEEP_IDLE_STEPS; i++) {
		dropped += sweep_step(f);
		if (!f->sweeping)
			break;                  /* the pass is done (or none due) */
	}
	return dropped;
}

void flows_get_stats(const struct flows *f, struct flows_stats *s)
{
	s->lookups = f->lookups;
	s->ref_checks = f->ref_checks;
	s->sweep_pending = f->sweeping || keytable_changes(f->t) != f->swept;
	s->expansions = f->expansions;
	s->flows = f->n_flows;
	s->streams = f->n_streams;
	s->max_flows = f->cfg.max_flows;
	s->max_streams = f->cfg.max_streams;
	s->tentative = f->n_tent;
	s->max_tentative = f->tent_max;
	s->evictions = f->evictions;
	s->commits = f->commits;
	s->visits = f->visits;
}

void flows_state_bytes(size_t *flow, size_t *stream)
{
	*flow = sizeof(struct flow);
	*stream = sizeof(struct stream);
}
