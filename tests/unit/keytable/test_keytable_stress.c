/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_keytable_stress.c - the key table under a writer churning add /
 * replace / schedule / delete at full speed while two reader threads do bulk
 * look-ups of 32 keys. Every entry carries check values derived from its key
 * bytes, so a reader that ever sees a torn, stale-mixed or misplaced entry
 * fails the test:
 *   - the last 8 bytes of each master key (current and next) are a hash of
 *     the rest of that key, its salt, the stream key, the entry's mode and
 *     profile (and the next key's from-index);
 *   - call_id holds the stream's index in the key universe and a hash of the
 *     stream key, so an entry returned for the wrong stream is caught;
 *   - per reader and stream, no copy is older than one an earlier batch saw
 *     (generations are table-wide and strictly increasing), so a stale
 *     copy is caught;
 *   - the writer publishes each stream's presence (a counter, odd while
 *     present); a stream present before and after a look-up must be found,
 *     exactly (not via a wildcard): otherwise the reader saw a false "not
 *     found", a probe that raced with a deletion's backward shift. To make
 *     that race frequent, a quarter of the streams hash into the same 1024
 *     home slots: long clusters that every deletion there shifts.
 *
 * Readers alternate keytable_lookup_bulk (full copies) and
 * keytable_lookup_bulk_ref + keytable_read_ref (the per-packet path).
 *
 * Three phases, TAP output ("ok N - ..."), exit status 1 on any failure:
 *   1 thread writer: writer thread + 2 reader threads on ONE mapping, so that
 *     ThreadSanitizer sees every access of the seqlock protocol (build with
 *     -Db_sanitize=thread: it must report nothing).
 *   2 process writer: the deployment shape, a writer process and 2 reader
 *     threads on a read-only mapping in another process.
 *   3 as 1, with readers stalled ~1 us at every 32nd step of a probe (the
 *     test hook keytable_probe_hook): deletions then shift entries past
 *     probing readers constantly, which is the race move_seq exists for.
 *     With the move_seq check removed from lib/keytable/reader.c, this test fails.
 * The key-table library (keytable_sources) is compiled into this test with -DKEYTABLE_TEST_HOOKS (the hook
 * is a NULL function pointer in phases 1 and 2).
 * KEYTABLE_STRESS_SECONDS sets each phase's length (default 4).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "callseal/keytable.h"

#define N_EXACT  3840u
#define N_WILD   256u                 /* one per (port, direction) */
#define N_KEYS   (N_EXACT + N_WILD)   /* = capacity: 8192 slots */
#define N_SLOTS  8192u
#define HOT_SLOTS 1024u               /* home slots of the clustered streams */

/* Under ThreadSanitizer (~20x slower) the volume floor is lower: there the
 * point is that TSan sees every access of the protocol, and reports none. */
#if defined(__SANITIZE_THREAD__)
#define TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSAN 1
#endif
#endif
#ifdef TSAN
#define MIN_LOOKUPS 100000ul
#else
#define MIN_LOOKUPS 1000000ul
#endif
#define N_READERS 2

static struct keytable_key universe[N_KEYS];

struct shared {                       /* MAP_SHARED: visible to a child writer */
	atomic_int stop;
	atomic_ulong ops;                 /* writer operations committed */
	atomic_int writer_failed;
	char msg[256];
	/* Presence, per stream: odd once its add has returned, even from just
	 * before its delete starts. A reader that reads the same odd value
	 * before and after a look-up knows the stream was in the table all
	 * along, so "not found" (or a wildcard answer) would be false. */
	atomic_ulong alive[N_KEYS];
};

/* A quarter of the streams are chosen so that their home slots fall in the
 * first HOT_SLOTS slots: long clusters, so deletions shift many entries past
 * probing readers all the time. */
static bool clustered(uint32_t idx)
{
	return idx < N_EXACT && (idx % 8 == 0 || idx % 8 == 1);
}

/* status of a ref found whose copy failed (-ESTALE: it changed since) */
#define ST_NO_COPY 3

struct reader_arg {
	struct keytable *t;
	struct shared *sh;
	uint64_t seed;
	unsigned long lookups, found, busy, batches, failures;
	atomic_ulong progress;            /* lookups, for the main thread */
	char msg[256];
};

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static uint64_t rnd(uint64_t *s)
{
	*s += UINT64_C(0x9E3779B97F4A7C15);
	return mix64(*s);
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = mix64(h ^ (b[i] + (i << 8)));
	return h;
}

/* The check over a master key: covers key[0 .. key_len-8), salt, stream key,
 * mode, profile and (for a next key) the from-index. */
static uint64_t master_check(const struct keytable_master *m, const struct keytable_key *k,
			     unsigned int mode, uint64_t from)
{
	uint64_t h = mix64(m->profile * 31u + mode * 7u + from);

	h = hash_bytes(h, m->key, (size_t)m->key_len - 8);
	h = hash_bytes(h, m->salt, sizeof(m->salt));
	/* ABI 4: the MKI and lifetime words are copied with the keys */
	h = hash_bytes(h, &m->mki_len, 1 + sizeof(m->mki));
	h = hash_bytes(h, &m->lifetime, sizeof(m->lifetime));
	return hash_bytes(h, k, sizeof(*k));
}

static void make_master(struct keytable_master *m, uint64_t *s, const struct keytable_key *k,
			unsigned int mode, uint64_t from)
{
	uint8_t key[32], salt[12];
	unsigned int len = (rnd(s) & 1) ? 32 : 16, i;
	uint64_t c;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)rnd(s);
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)rnd(s);
	if (keytable_master_set(m, len == 32 ? KEYTABLE_PROFILE_AEAD_AES_256_GCM :
				KEYTABLE_PROFILE_AEAD_AES_128_GCM, key, len, salt) != 0 ||
	    keytable_master_set_mki(m, key, rnd(s) % (KEYTABLE_MKI_MAX + 1)) != 0 ||
	    keytable_master_set_lifetime(m, rnd(s) & (KEYTABLE_LIFETIME_MAX - 1)) != 0)
		abort();
	c = master_check(m, k, mode, from);
	memcpy(m->key + len - 8, &c, 8);
}

static void make_call_id(uint8_t id[KEYTABLE_CALL_ID_BYTES], uint32_t idx)
{
	uint64_t h = hash_bytes(idx, &universe[idx], sizeof(universe[idx]));

	memset(id, 0, KEYTABLE_CALL_ID_BYTES);
	memcpy(id, &idx, 4);
	memcpy(id + 8, &h, 8);
}

static void build_universe(void)
{
	uint32_t i, c;

	for (i = 0; i < N_EXACT; i++) {
		uint16_t port = (uint16_t)(20000 + i % 128);
		unsigned int dir = 1 + (i / 128) % 2;

		for (c = 0;; c++) {
			if ((i / 256) % 2 == 0) {
				uint8_t a[4] = { (uint8_t)(10 + (c >> 8)), (uint8_t)c,
						 (uint8_t)(i >> 8), (uint8_t)i };

				keytable_key_ipv4(&universe[i], a, port, dir);
			} else {
				uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 };

				memcpy(a + 8, &c, 4);
				a[14] = (uint8_t)(i >> 8);
				a[15] = (uint8_t)i;
				keytable_key_ipv6(&universe[i], a, port, dir);
			}
			if (!clustered(i) ||
			    (keytable_hash(&universe[i]) & (N_SLOTS - 1)) < HOT_SLOTS)
				break;
		}
	}
	for (i = 0; i < N_WILD; i++)
		keytable_key_any(&universe[N_EXACT + i], (uint16_t)(20000 + i % 128),
				 1 + (i / 128) % 2);
}

/* ---- the writer ------------------------------------------------------------ */

struct model {
	bool live;
	uint8_t mode;
};

static void writer_churn(struct keytable *t, struct shared *sh, uint64_t seed)
{
	static struct model m[N_KEYS];
	struct keytable_master km;
	uint8_t id[KEYTABLE_CALL_ID_BYTES];
	unsigned long ops = 0;

	/* start from what the table holds (a previous writer's entries) */
	memset(m, 0, sizeof(m));
	{
		struct keytable_entry e;
		uint32_t cur = 0, idx;

		while (keytable_next(t, &cur, &e) == 1) {
			memcpy(&idx, e.call_id, 4);
			if (idx < N_KEYS) {
				m[idx].live = true;
				m[idx].mode = e.mode;
			}
		}
		keytable_wipe(&e, sizeof(e));
	}
	for (uint32_t i = 0; i < N_KEYS; i++)
		if (m[i].live)
			atomic_store(&sh->alive[i], 1);
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		uint64_t r = rnd(&seed);
		uint32_t i = (uint32_t)(r % N_KEYS);
		unsigned int what = (unsigned int)((r >> 32) % 10);
		int rc;

		if (!m[i].live) {
			unsigned int mode = 1 + (unsigned int)((r >> 40) & 1);

			make_master(&km, &seed, &universe[i], mode, 0);
			make_call_id(id, i);
			rc = keytable_add(t, &universe[i], mode, &km, id, NULL);
			/* present from here on (seq_cst, after the add's stores) */
			atomic_fetch_add(&sh->alive[i], 1);
			m[i].live = true;
			m[i].mode = (uint8_t)mode;
		} else if (what < 4) {
			/* absent from here on: before the delete's first store */
			atomic_fetch_add(&sh->alive[i], 1);
			rc = keytable_delete(t, &universe[i]);
			m[i].live = false;
		} else if (what < 7) {
			make_master(&km, &seed, &universe[i], m[i].mode, 0);
			rc = keytable_replace(t, &universe[i], &km, NULL);
		} else if (what < 9) {
			uint64_t from = rnd(&seed) & KEYTABLE_INDEX_MAX;

			make_master(&km, &seed, &universe[i], m[i].mode, from);
			rc = keytable_schedule(t, &universe[i], &km, from, NULL);
		} else {
			rc = keytable_schedule(t, &universe[i], NULL, 0, NULL);
		}
		if (rc != 0) {
			snprintf(sh->msg, sizeof(sh->msg), "writer op on stream %u: %d (%s)",
				 i, rc, keytable_last_error(t));
			atomic_store(&sh->writer_failed, 1);
			break;
		}
		if ((++ops & 255) == 0)
			atomic_store_explicit(&sh->ops, ops, memory_order_relaxed);
	}
	atomic_store(&sh->ops, ops);
	keytable_wipe(&km, sizeof(km));
}

static void *writer_thread(void *p)
{
	struct reader_arg *a = p;

	writer_churn(a->t, a->sh, a->seed);
	return NULL;
}

/* ---- the readers ----------------------------------------------------------- */

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

static bool check_master(const struct keytable_master *m, const struct keytable_key *k,
			 unsigned int mode, uint64_t from)
{
	uint64_t c;

	if (!((m->profile == KEYTABLE_PROFILE_AEAD_AES_128_GCM && m->key_len == 16) ||
	      (m->profile == KEYTABLE_PROFILE_AEAD_AES_256_GCM && m->key_len == 32)))
		return false;
	if (!zero(m->key + m->key_len, sizeof(m->key) - m->key_len) || m->salt_len != 12 ||
	    !zero(m->salt + 12, sizeof(m->salt) - 12) || m->reserved != 0 ||
	    m->mki_len > KEYTABLE_MKI_MAX || !zero(m->mki + m->mki_len, sizeof(m->mki) - m->mki_len))
		return false;
	memcpy(&c, m->key + m->key_len - 8, 8);
	return c == master_check(m, k, mode, from);
}

/* Why entry e (found for query q) is wrong, or NULL. */
static const char *check_entry(const struct keytable_entry *e, const struct keytable_key *q,
			       uint32_t *idx_out)
{
	uint8_t id[KEYTABLE_CALL_ID_BYTES];
	uint32_t idx;

	if (e->state != KEYTABLE_STATE_LIVE || (e->seq & 1))
		return "state/seq";
	memcpy(&idx, e->call_id, 4);
	if (idx >= N_KEYS)
		return "call id index";
	if (memcmp(&e->key, &universe[idx], sizeof(e->key)) != 0)
		return "entry key does not match its call id";
	make_call_id(id, idx);
	if (memcmp(id, e->call_id, sizeof(id)) != 0)
		return "call id check";
	if (memcmp(&e->key, q, sizeof(*q)) != 0) {
		/* only a wildcard for the same port and direction may answer */
		if (e->key.family != KEYTABLE_FAMILY_ANY || e->key.port != q->port ||
		    e->key.dir != q->dir || q->family == KEYTABLE_FAMILY_ANY)
			return "answer for another stream";
	}
	if (e->mode != KEYTABLE_MODE_E2EE && e->mode != KEYTABLE_MODE_STANDARD)
		return "mode";
	if (!check_master(&e->cur, &e->key, e->mode, 0))
		return "current key check value";
	if (e->flags & KEYTABLE_F_NEXT) {
		if (e->next_from_index > KEYTABLE_INDEX_MAX ||
		    !check_master(&e->next, &e->key, e->mode, e->next_from_index))
			return "next key check value";
	} else if (!zero(&e->next, sizeof(e->next)) || e->next_from_index != 0) {
		return "next key bytes left behind";
	}
	*idx_out = idx;
	return NULL;
}

static void *reader_thread(void *p)
{
	struct reader_arg *a = p;
	static _Thread_local uint64_t last_gen[N_KEYS];
	struct keytable_key q[KEYTABLE_BULK_MAX];
	struct keytable_entry out[KEYTABLE_BULK_MAX];
	struct keytable_ref refs[KEYTABLE_BULK_MAX];
	uint8_t st[KEYTABLE_BULK_MAX];
	uint64_t seen_gen[KEYTABLE_BULK_MAX];
	unsigned int i, k;

	memset(last_gen, 0, sizeof(last_gen));
	while (!atomic_load_explicit(&a->sh->stop, memory_order_relaxed)) {
		int n;

		uint32_t qi[KEYTABLE_BULK_MAX];
		unsigned long a0[KEYTABLE_BULK_MAX];
		bool present[KEYTABLE_BULK_MAX];

		for (i = 0; i < KEYTABLE_BULK_MAX; i++) {
			qi[i] = (uint32_t)(rnd(&a->seed) % N_KEYS);
			q[i] = universe[qi[i]];
			a0[i] = atomic_load(&a->sh->alive[qi[i]]);
		}
		/* odd batches take the per-packet path: refs, then a copy of each
		 * found entry by ref (which fails if it changed in between) */
		if (a->batches & 1) {
			n = keytable_lookup_bulk_ref(a->t, q, KEYTABLE_BULK_MAX, refs, st);
			for (i = 0; n >= 0 && i < KEYTABLE_BULK_MAX; i++) {
				int rc;

				if (st[i] != KEYTABLE_FOUND)
					continue;
				rc = keytable_read_ref(a->t, &refs[i], &out[i]);
				if (rc == 0 && out[i].generation != refs[i].generation) {
					snprintf(a->msg, sizeof(a->msg), "read_ref: generation");
					a->failures++;
				} else if (rc != 0 && rc != -ESTALE && rc != -EBUSY) {
					snprintf(a->msg, sizeof(a->msg), "read_ref: %d", rc);
					a->failures++;
				}
				if (rc != 0)
					st[i] = ST_NO_COPY;
			}
		} else {
			n = keytable_lookup_bulk(a->t, q, KEYTABLE_BULK_MAX, out, st, refs);
		}
		for (i = 0; i < KEYTABLE_BULK_MAX; i++)
			present[i] = (a0[i] & 1) && atomic_load(&a->sh->alive[qi[i]]) == a0[i];
		if (n < 0) {
			snprintf(a->msg, sizeof(a->msg), "lookup_bulk: %d", n);
			a->failures++;
			break;
		}
		a->batches++;
		a->lookups += KEYTABLE_BULK_MAX;
		atomic_store_explicit(&a->progress, a->lookups, memory_order_relaxed);
		a->found += (unsigned long)n;
		/* A batch is not one snapshot: each key's copy is consistent on
		 * its own, and keys of one batch are read (and retried) in no
		 * particular order. What holds is that every copy in this batch
		 * is at least as new as every copy of an earlier batch: so check
		 * against last_gen, and raise last_gen only after the batch. */
		uint32_t seen_idx[KEYTABLE_BULK_MAX];
		unsigned int nseen = 0;

		for (k = 0; k < KEYTABLE_BULK_MAX; k++) {
			const char *why;
			uint32_t idx = 0;

			if (st[k] == KEYTABLE_BUSY || st[k] == ST_NO_COPY)
				a->busy++;
			if (present[k] &&
			    (st[k] == KEYTABLE_NOT_FOUND || (st[k] == KEYTABLE_FOUND &&
			     memcmp(&out[k].key, &q[k], sizeof(q[k])) != 0))) {
				if (a->failures++ == 0)
					snprintf(a->msg, sizeof(a->msg), "batch %lu key %u: stream "
						 "%u present throughout, reported missing",
						 a->batches, k, qi[k]);
				continue;
			}
			if (st[k] != KEYTABLE_FOUND)
				continue;
			why = check_entry(&out[k], &q[k], &idx);
			if (why == NULL && out[k].generation < last_gen[idx])
				why = "generation older than one an earlier batch saw (stale copy)";
			if (why == NULL && refs[k].generation != out[k].generation)
				why = "ref generation";
			if (why != NULL) {
				if (a->failures++ == 0)
					snprintf(a->msg, sizeof(a->msg), "batch %lu key %u: %s",
						 a->batches, k, why);
				continue;
			}
			seen_idx[nseen] = idx;
			seen_gen[nseen++] = out[k].generation;
		}
		for (k = 0; k < nseen; k++)
			if (seen_gen[k] > last_gen[seen_idx[k]])
				last_gen[seen_idx[k]] = seen_gen[k];
		keytable_wipe(out, sizeof(out));
	}
	return NULL;
}

/* ---- phases ---------------------------------------------------------------- */

static double seconds(void)
{
	const char *s = getenv("KEYTABLE_STRESS_SECONDS");
	double v = s ? atof(s) : 4.0;

	return v > 0 ? v : 4.0;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Run the readers for secs, longer (up to 3 x secs) on a loaded machine
 * until they have done min_lookups. */
static bool run_readers(struct keytable *t, struct shared *sh, double secs,
			unsigned long min_lookups, unsigned long *lookups,
			unsigned long *found, unsigned long *busy, char *msg, size_t msglen,
			pthread_t *writer, double *elapsed)
{
	struct timespec t0, t1;
	struct reader_arg ra[N_READERS];
	pthread_t th[N_READERS];
	unsigned long failures = 0;
	unsigned int i;

	memset(ra, 0, sizeof(ra));
	for (i = 0; i < N_READERS; i++) {
		ra[i].t = t;
		ra[i].sh = sh;
		ra[i].seed = 1000 + i;
		if (pthread_create(&th[i], NULL, reader_thread, &ra[i]) != 0)
			abort();
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sleep_s(secs);
	for (double extra = 0; extra < 2 * secs; extra += 0.25) {
		unsigned long done = 0;

		for (i = 0; i < N_READERS; i++)
			done += atomic_load_explicit(&ra[i].progress, memory_order_relaxed);
		if (done >= min_lookups)
			break;
		sleep_s(0.25);
	}
	atomic_store(&sh->stop, 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	for (i = 0; i < N_READERS; i++)
		pthread_join(th[i], NULL);
	if (writer != NULL)
		pthread_join(*writer, NULL);
	*lookups = *found = *busy = 0;
	msg[0] = '\0';
	for (i = 0; i < N_READERS; i++) {
		*lookups += ra[i].lookups;
		*found += ra[i].found;
		*busy += ra[i].busy;
		failures += ra[i].failures;
		if (ra[i].failures && msg[0] == '\0')
			snprintf(msg, msglen, "reader %u: %lu bad entries, first: %.180s", i,
				 ra[i].failures, ra[i].msg);
	}
	return failures == 0;
}

static int report(int n, const char *what, bool ok, struct shared *sh, unsigned long lookups,
		  unsigned long found, unsigned long busy, double secs, const char *msg,
		  unsigned long min_lookups)
{
	unsigned long ops = atomic_load(&sh->ops);

	if (sh->writer_failed) {
		ok = false;
		msg = sh->msg;
	}
	if (lookups < min_lookups) {
		ok = false;
		msg = "too few look-ups for the test to matter";
	}
	printf("# %s: %lu writer ops (%.0f/s), %lu look-ups (%.1f M/s), %lu found, "
	       "%lu busy\n", what, ops, (double)ops / secs, lookups,
	       (double)lookups / secs / 1e6, found, busy);
	printf("%s %d - %s%s%s\n", ok ? "ok" : "not ok", n, what, ok ? "" : ": ",
	       ok ? "" : msg);
	return ok ? 0 : 1;
}

/* Phase 3's probe hook: every 32nd step between two slots, stall ~1 us, so
 * the writer shifts entries past a reader that is in the middle of a probe. */
static void stall(void)
{
	static _Thread_local unsigned int n;
	struct timespec a, b;

	if (++n % 32 != 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 1000);
}

/* Phases 1 and 3: writer thread and readers on the writer's own mapping. */
static int phase_threads(int n, const char *what, const char *name, struct shared *sh,
			 double secs, void (*hook)(void))
{
	char msg[256];
	struct reader_arg wa;
	struct keytable *t = NULL;
	unsigned long lookups, found, busy;
	pthread_t wt;
	bool ok;

	memset(sh, 0, sizeof(*sh));
	if (keytable_attach_writer(&t, name, NULL, msg, sizeof(msg)) != 0) {
		printf("not ok %d - %s: %s\n", n, what, msg);
		return 1;
	}
	memset(&wa, 0, sizeof(wa));
	wa.t = t;
	wa.sh = sh;
	wa.seed = 42 + (uint64_t)n;
	keytable_probe_hook = hook;           /* before the threads exist */
	if (pthread_create(&wt, NULL, writer_thread, &wa) != 0)
		abort();
	ok = run_readers(t, sh, secs, hook ? MIN_LOOKUPS / 10 : MIN_LOOKUPS, &lookups, &found,
			 &busy, msg, sizeof(msg), &wt, &secs);
	keytable_probe_hook = NULL;           /* after they are joined */
	keytable_detach(t);
	/* phase 3 is about interleavings, not volume */
	return report(n, what, ok, sh, lookups, found, busy, secs, msg,
		      hook ? MIN_LOOKUPS / 10 : MIN_LOOKUPS);
}

/* Phase 2: writer process, readers on a read-only mapping. */
static int phase_process(int n, const char *what, const char *name, struct shared *sh,
			 double secs)
{
	char msg[256];
	struct keytable *r = NULL;
	unsigned long lookups, found, busy;
	int st = 0;
	bool ok;
	pid_t pid;

	memset(sh, 0, sizeof(*sh));
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		struct keytable *w = NULL;

		if (keytable_attach_writer(&w, name, NULL, sh->msg, sizeof(sh->msg)) != 0) {
			atomic_store(&sh->writer_failed, 1);
			_exit(1);
		}
		writer_churn(w, sh, 4242);
		keytable_detach(w);
		_exit(0);
	}
	if (keytable_attach_reader(&r, name, msg, sizeof(msg)) != 0) {
		printf("not ok %d - %s: %s\n", n, what, msg);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return 1;
	}
	ok = run_readers(r, sh, secs, MIN_LOOKUPS, &lookups, &found, &busy, msg, sizeof(msg),
			 NULL, &secs);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		ok = false;
		snprintf(msg, sizeof(msg), "writer process failed (status 0x%x)", st);
	}
	keytable_detach(r);
	return report(n, what, ok, sh, lookups, found, busy, secs, msg, MIN_LOOKUPS);
}

int main(void)
{
	char name[64], err[KEYTABLE_ERR_MAX];
	struct keytable *t = NULL;
	struct keytable_info in;
	struct shared *sh;
	double secs = seconds();
	int fails = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	build_universe();
	snprintf(name, sizeof(name), "kt-stress-%d", (int)getpid());
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	printf("1..3\n");
	if (keytable_create(&t, name, N_KEYS, err, sizeof(err)) != 0) {
		printf("Bail out! create: %s\n", err);
		return 1;
	}
	keytable_info(t, &in);
	keytable_detach(t);
	if (in.slots != N_SLOTS) {
		printf("Bail out! %u slots, expected %u\n", in.slots, N_SLOTS);
		keytable_unlink(name, NULL, 0);
		return 1;
	}
	fails += phase_threads(1, "thread writer, 2 reader threads, one mapping", name, sh,
			       secs, NULL);
	fails += phase_process(2, "writer process, 2 reader threads, read-only mapping",
			       name, sh, secs);
	fails += phase_threads(3, "thread writer, 2 reader threads stalled mid-probe", name,
			       sh, secs, stall);
	keytable_unlink(name, NULL, 0);
	return fails ? 1 : 0;
}
