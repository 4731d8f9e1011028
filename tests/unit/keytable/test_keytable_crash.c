/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_keytable_crash.c - kill the key table's writer in the middle of its
 * work and check that the next writer and a reader find a consistent table.
 *
 * The key-table library (keytable_sources) is compiled into this test with -DKEYTABLE_TEST_HOOKS: the
 * writer then has numbered crash points (between its journal stores, inside
 * every slot rewrite, between the steps of a shift) and raises SIGKILL when
 * keytable_crash_countdown reaches zero.
 *
 * The writer runs in a child process and logs to shared memory, around every
 * operation, which stream it is changing and the state each stream was last
 * committed in. After each kill the parent attaches as the new writer (which
 * recovers the table) and checks, through the API and by reading the file
 * through the documented layout:
 *   - every stream's entry is in its last committed state, except the one
 *     being changed, which is in its old or its new state (an interrupted
 *     replace or schedule is never lost: it rolls back);
 *   - every entry passes its check values (master-key bytes carry a hash of
 *     the rest of the key, its salt and the stream key; call_id names the
 *     stream): no half-written entry;
 *   - no stream appears twice, each is reachable by look-up, absent ones are
 *     not found, count and wild_count match;
 *   - no slot is left odd, move_seq is even, the journal is idle and holds
 *     no key bytes;
 *   - a freshly attached reader finds every committed stream.
 * A reader thread also does bulk look-ups, with the same checks, all along.
 *
 * TAP:
 *   1 every crash point of add, replace, schedule, cancel and delete (sweep)
 *   2 every crash point of the recovery of an interrupted delete (sweep)
 *   3 50 kills at random crash points during churn
 *   4 50 kill -9 from outside at random times during churn
 *   5 the reader thread saw no bad entry throughout
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

#define N_EXACT   480u
#define N_WILD    32u
#define N_KEYS    (N_EXACT + N_WILD)    /* = capacity: 1024 slots */
#define N_SLOTS   1024u
#define HOT_SLOTS 32u                   /* homes of the clustered streams */
#define KILLS     50

enum { OP_ADD = 1, OP_DELETE, OP_REPLACE, OP_SCHEDULE, OP_CANCEL };

struct wlog {                           /* MAP_SHARED: written by the child */
	atomic_int inflight;            /* 1 while an operation is under way */
	atomic_uint inflight_idx;
	atomic_int inflight_op;
	atomic_int done;                /* the child finished its work */
	atomic_bool live[N_KEYS];       /* last committed state */
	atomic_ulong gen[N_KEYS];
	atomic_bool sched[N_KEYS];
};

static struct keytable_key universe[N_KEYS];
static struct wlog *lg;
static char name[64];
static atomic_int stop_reader;
static unsigned long reader_bad, reader_lookups;
static char reader_msg[200];

/* ---- streams and check values (as in test_keytable_stress.c) -------------- */

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

static uint64_t master_check(const struct keytable_master *m, const struct keytable_key *k,
			     uint64_t from)
{
	uint64_t h = mix64(m->profile * 31u + from);

	h = hash_bytes(h, m->key, (size_t)m->key_len - 8);
	h = hash_bytes(h, m->salt, sizeof(m->salt));
	return hash_bytes(h, k, sizeof(*k));
}

static void make_master(struct keytable_master *m, uint64_t *s, const struct keytable_key *k,
			uint64_t from)
{
	uint8_t key[32], salt[12];
	unsigned int len = (rnd(s) & 1) ? 32 : 16, i;
	uint64_t c;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)rnd(s);
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)rnd(s);
	if (keytable_master_set(m, len == 32 ? KEYTABLE_PROFILE_AEAD_AES_256_GCM :
				KEYTABLE_PROFILE_AEAD_AES_128_GCM, key, len, salt) != 0)
		abort();
	c = master_check(m, k, from);
	memcpy(m->key + len - 8, &c, 8);
}

static void make_call_id(uint8_t id[KEYTABLE_CALL_ID_BYTES], uint32_t idx)
{
	uint64_t h = hash_bytes(idx, &universe[idx], sizeof(universe[idx]));

	memset(id, 0, KEYTABLE_CALL_ID_BYTES);
	memcpy(id, &idx, 4);
	memcpy(id + 8, &h, 8);
}

static bool clustered(uint32_t idx)
{
	return idx < N_EXACT && idx % 4 == 0;
}

static void build_universe(void)
{
	uint32_t i, c;

	for (i = 0; i < N_EXACT; i++) {
		for (c = 0;; c++) {
			uint8_t a[4] = { (uint8_t)(10 + (c >> 8)), (uint8_t)c,
					 (uint8_t)(i >> 8), (uint8_t)i };

			keytable_key_ipv4(&universe[i], a, (uint16_t)(30000 + i % 32),
					  1 + (i / 32) % 2);
			if (!clustered(i) ||
			    (keytable_hash(&universe[i]) & (N_SLOTS - 1)) < HOT_SLOTS)
				break;
		}
	}
	for (i = 0; i < N_WILD; i++)
		keytable_key_any(&universe[N_EXACT + i], (uint16_t)(30000 + i % 16),
				 1 + (i / 16) % 2);
}

static bool zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		if (*b++)
			return false;
	return true;
}

static bool master_ok(const struct keytable_master *m, const struct keytable_key *k,
		      uint64_t from)
{
	uint64_t c;

	if (!((m->profile == KEYTABLE_PROFILE_AEAD_AES_128_GCM && m->key_len == 16) ||
	      (m->profile == KEYTABLE_PROFILE_AEAD_AES_256_GCM && m->key_len == 32)))
		return false;
	if (!zero(m->key + m->key_len, sizeof(m->key) - m->key_len))
		return false;
	memcpy(&c, m->key + m->key_len - 8, 8);
	return c == master_check(m, k, from);
}

/* NULL if e is a whole, self-consistent entry of stream *idx. */
static const char *entry_bad(const struct keytable_entry *e, uint32_t *idx)
{
	uint8_t id[KEYTABLE_CALL_ID_BYTES];

	if (e->state != KEYTABLE_STATE_LIVE || (e->seq & 1))
		return "state/seq";
	memcpy(idx, e->call_id, 4);
	if (*idx >= N_KEYS || memcmp(&e->key, &universe[*idx], sizeof(e->key)) != 0)
		return "key does not match call id";
	make_call_id(id, *idx);
	if (memcmp(id, e->call_id, sizeof(id)) != 0)
		return "call id check";
	if (!master_ok(&e->cur, &e->key, 0))
		return "current key check";
	if (e->flags & KEYTABLE_F_NEXT) {
		if (!master_ok(&e->next, &e->key, e->next_from_index))
			return "next key check";
	} else if (!zero(&e->next, sizeof(e->next)) || e->next_from_index) {
		return "next key bytes left behind";
	}
	return NULL;
}

/* ---- the writer (child) ----------------------------------------------------- */

/* One logged operation on stream i. */
static int do_op(struct keytable *t, int op, uint32_t i, uint64_t *seed)
{
	struct keytable_master km;
	uint8_t id[KEYTABLE_CALL_ID_BYTES];
	uint64_t gen = 0, from = rnd(seed) & KEYTABLE_INDEX_MAX;
	int rc;

	atomic_store(&lg->inflight_idx, i);
	atomic_store(&lg->inflight_op, op);
	atomic_store(&lg->inflight, 1);
	switch (op) {
	case OP_ADD:
		make_master(&km, seed, &universe[i], 0);
		make_call_id(id, i);
		rc = keytable_add(t, &universe[i], KEYTABLE_MODE_E2EE, &km, id, &gen);
		break;
	case OP_DELETE:
		rc = keytable_delete(t, &universe[i]);
		break;
	case OP_REPLACE:
		make_master(&km, seed, &universe[i], 0);
		rc = keytable_replace(t, &universe[i], &km, &gen);
		break;
	case OP_SCHEDULE:
		make_master(&km, seed, &universe[i], from);
		rc = keytable_schedule(t, &universe[i], &km, from, &gen);
		break;
	default:
		rc = keytable_schedule(t, &universe[i], NULL, 0, &gen);
		break;
	}
	if (rc == 0) {
		atomic_store(&lg->live[i], op != OP_DELETE);
		atomic_store(&lg->gen[i], gen);
		atomic_store(&lg->sched[i], op == OP_SCHEDULE);
	}
	atomic_store(&lg->inflight, 0);
	keytable_wipe(&km, sizeof(km));
	return rc;
}

static void churn(struct keytable *t, uint64_t seed)
{
	for (;;) {
		uint64_t r = rnd(&seed);
		uint32_t i = (uint32_t)(r % N_KEYS);
		unsigned int what = (unsigned int)((r >> 32) % 10);
		int op;

		if (!atomic_load(&lg->live[i]))
			op = OP_ADD;
		else if (what < 4)
			op = OP_DELETE;
		else if (what < 7)
			op = OP_REPLACE;
		else if (what < 9)
			op = OP_SCHEDULE;
		else
			op = OP_CANCEL;
		if (do_op(t, op, i, &seed) != 0)
			_exit(3);
	}
}

/* ---- the checks (parent) ------------------------------------------------------ */

#define CHECK(c, ...) do { \
	if (!(c)) { \
		snprintf(why, whylen, __VA_ARGS__); \
		goto out; \
	} \
} while (0)

/*
 * Attach as the new writer (recovering), check everything, then bring the
 * log up to date with what the in-flight operation turned out to be.
 * Returns true if consistent; else why says what is wrong.
 */
static bool verify(struct keytable_recovery *rec, char *why, size_t whylen)
{
	static uint8_t seen[N_KEYS];
	static uint64_t seen_gen[N_KEYS];
	struct keytable *t = NULL, *r = NULL;
	struct keytable_entry e;
	struct keytable_info in;
	char path[128], err[KEYTABLE_ERR_MAX];
	uint32_t cur = 0, idx, s, listed = 0, wild = 0;
	int inflight = atomic_load(&lg->inflight), op = atomic_load(&lg->inflight_op), rc;
	uint32_t fi = atomic_load(&lg->inflight_idx);
	bool ok = false;
	uint8_t *file = NULL;
	FILE *fp = NULL;

	memset(seen, 0, sizeof(seen));
	rc = keytable_attach_writer(&t, name, rec, err, sizeof(err));
	CHECK(rc == 0, "new writer refused: %s", err);
	while ((rc = keytable_next(t, &cur, &e)) == 1) {
		const char *bad = entry_bad(&e, &idx);

		CHECK(bad == NULL, "slot %u: %s", cur - 1, bad);
		CHECK(!seen[idx], "stream %u listed twice", idx);
		seen[idx] = 1;
		seen_gen[idx] = e.generation;
		listed++;
		if (e.key.family == KEYTABLE_FAMILY_ANY)
			wild++;
		if (inflight && idx == fi) {
			bool old = atomic_load(&lg->live[idx]) &&
				   e.generation == atomic_load(&lg->gen[idx]);

			CHECK(old || (op != OP_DELETE && e.generation > atomic_load(&lg->gen[idx])),
			      "in-flight stream %u (op %d): generation %llu is neither old nor "
			      "new", idx, op, (unsigned long long)e.generation);
		} else {
			CHECK(atomic_load(&lg->live[idx]), "stream %u present, committed deleted",
			      idx);
			CHECK(e.generation == atomic_load(&lg->gen[idx]), "stream %u: generation "
			      "%llu, committed %llu", idx, (unsigned long long)e.generation,
			      (unsigned long long)atomic_load(&lg->gen[idx]));
			CHECK(!!(e.flags & KEYTABLE_F_NEXT) == atomic_load(&lg->sched[idx]),
			      "stream %u: next key flag", idx);
		}
		keytable_wipe(&e, sizeof(e));
	}
	CHECK(rc == 0, "listing: %d", rc);
	for (idx = 0; idx < N_KEYS; idx++) {
		if (inflight && idx == fi) {
			/* an interrupted replace/schedule/cancel rolls back: never lost */
			CHECK(seen[idx] || op == OP_ADD || op == OP_DELETE,
			      "in-flight stream %u (op %d) lost", idx, op);
		} else {
			CHECK(seen[idx] == atomic_load(&lg->live[idx]), "stream %u: committed %s, "
			      "%s", idx, atomic_load(&lg->live[idx]) ? "present" : "deleted",
			      seen[idx] ? "listed" : "missing");
		}
		rc = keytable_get(t, &universe[idx], &e, NULL);
		CHECK(rc == (seen[idx] ? 0 : -ENOENT), "stream %u: get %d", idx, rc);
		CHECK(!seen[idx] || e.generation == seen_gen[idx], "stream %u: get gen", idx);
	}
	keytable_info(t, &in);
	CHECK(in.count == listed, "count %u, listed %u", in.count, listed);
	CHECK(in.wild_count == wild, "wild_count %u, listed %u", in.wild_count, wild);

	/* the file itself, through the documented layout */
	snprintf(path, sizeof(path), "/dev/shm/callseal.%s", name);
	file = malloc(in.table_bytes);
	fp = fopen(path, "rb");
	CHECK(file != NULL && fp != NULL && fread(file, 1, in.table_bytes, fp) == in.table_bytes,
	      "cannot read %s", path);
	{
		const struct keytable_header *h = (const void *)file;
		const struct keytable_entry *sl = (const void *)(file + KEYTABLE_HEADER_SIZE);

		CHECK(h->journal.op == KEYTABLE_JOP_NONE, "journal op %u", h->journal.op);
		CHECK(zero(&h->journal.undo, sizeof(h->journal.undo)), "journal undo not wiped");
		CHECK(!(h->move_seq & 1), "move_seq odd");
		for (s = 0; s < in.slots; s++) {
			CHECK(!(sl[s].seq & 1), "slot %u odd", s);
			CHECK(sl[s].state == KEYTABLE_STATE_LIVE ||
			      zero((const char *)&sl[s] + 8, sizeof(sl[s]) - 8),
			      "empty slot %u not wiped", s);
		}
	}
	keytable_detach(t);
	t = NULL;

	/* a new reader sees every committed stream */
	rc = keytable_attach_reader(&r, name, err, sizeof(err));
	CHECK(rc == 0, "reader refused: %s", err);
	for (idx = 0; idx < N_KEYS; idx++) {
		rc = keytable_get(r, &universe[idx], &e, NULL);
		CHECK(rc == (seen[idx] ? 0 : -ENOENT), "reader: stream %u: %d", idx, rc);
	}

	/* bring the log up to date with the in-flight operation's outcome */
	if (inflight) {
		atomic_store(&lg->live[fi], seen[fi]);
		atomic_store(&lg->gen[fi], seen[fi] ? seen_gen[fi] : 0);
		if (seen[fi]) {
			rc = keytable_get(r, &universe[fi], &e, NULL);
			atomic_store(&lg->sched[fi], rc == 0 && (e.flags & KEYTABLE_F_NEXT));
		}
		atomic_store(&lg->inflight, 0);
	}
	ok = true;
out:
	keytable_wipe(&e, sizeof(e));
	if (fp != NULL)
		fclose(fp);
	free(file);
	keytable_detach(t);
	keytable_detach(r);
	return ok;
}

/* ---- the reader thread ---------------------------------------------------------- */

static void *reader(void *p)
{
	struct keytable *r = p;
	struct keytable_key q[KEYTABLE_BULK_MAX];
	struct keytable_entry out[KEYTABLE_BULK_MAX];
	uint8_t st[KEYTABLE_BULK_MAX];
	uint64_t seed = 99;
	unsigned int i;

	while (!atomic_load_explicit(&stop_reader, memory_order_relaxed)) {
		for (i = 0; i < KEYTABLE_BULK_MAX; i++)
			q[i] = universe[rnd(&seed) % N_KEYS];
		if (keytable_lookup_bulk(r, q, KEYTABLE_BULK_MAX, out, st, NULL) < 0)
			abort();
		reader_lookups += KEYTABLE_BULK_MAX;
		for (i = 0; i < KEYTABLE_BULK_MAX; i++) {
			uint32_t idx;
			const char *bad;

			if (st[i] != KEYTABLE_FOUND)
				continue;
			bad = entry_bad(&out[i], &idx);
			if (bad != NULL && reader_bad++ == 0)
				snprintf(reader_msg, sizeof(reader_msg), "%s", bad);
		}
		keytable_wipe(out, sizeof(out));
	}
	return NULL;
}

/* ---- runs ------------------------------------------------------------------------- */

/* Fork a writer child: it attaches (its countdown set before or after the
 * attach), then runs fn. Returns the child's wait status. */
static int run_child(long countdown, bool count_attach, int (*fn)(struct keytable *, void *),
		     void *arg, int kill_after_us)
{
	pid_t pid = fork();
	int st = 0;

	if (pid < 0)
		abort();
	if (pid == 0) {
		struct keytable *t = NULL;

		if (count_attach)
			keytable_crash_countdown = countdown;
		if (keytable_attach_writer(&t, name, NULL, NULL, 0) != 0)
			_exit(2);
		if (!count_attach)
			keytable_crash_countdown = countdown;
		_exit(fn(t, arg));
	}
	if (kill_after_us > 0) {
		usleep((useconds_t)kill_after_us);
		kill(pid, SIGKILL);
	}
	if (waitpid(pid, &st, 0) != pid)
		abort();
	return st;
}

static bool killed(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

struct one_op {
	int op;
	uint32_t idx;
};

static int child_one_op(struct keytable *t, void *arg)
{
	struct one_op *o = arg;
	uint64_t seed = 7;

	return do_op(t, o->op, o->idx, &seed) == 0 ? 0 : 3;
}

static int child_nothing(struct keytable *t, void *arg)
{
	(void)t;
	(void)arg;
	return 0;
}

static int child_churn(struct keytable *t, void *arg)
{
	churn(t, *(uint64_t *)arg);
	return 0;
}

/* A fresh table with the first 24 clustered streams (long clusters), one
 * wildcard, and a next key scheduled on stream 8. */
static void setup_table(void)
{
	struct keytable *t = NULL;
	uint64_t seed = 1;
	uint32_t i;

	keytable_unlink(name, NULL, 0);
	memset(lg, 0, sizeof(*lg));
	if (keytable_create(&t, name, N_KEYS, NULL, 0) != 0)
		abort();
	for (i = 0; i < 24 * 4; i += 4)
		if (do_op(t, OP_ADD, i, &seed) != 0)
			abort();
	if (do_op(t, OP_ADD, N_EXACT, &seed) != 0 || do_op(t, OP_SCHEDULE, 8, &seed) != 0)
		abort();
	keytable_detach(t);
}

/* Test 1: for each operation, kill at crash point 1, 2, ... until the
 * operation completes without reaching the countdown. */
static bool sweep_ops(unsigned int *points, char *why, size_t whylen)
{
	static const struct one_op ops[] = {
		{ OP_ADD, 25 * 4 },          /* into the cluster */
		{ OP_ADD, N_EXACT + 1 },     /* a wildcard */
		{ OP_REPLACE, 4 },
		{ OP_SCHEDULE, 12 },
		{ OP_CANCEL, 8 },
		{ OP_DELETE, 0 },            /* first of the cluster: a long shift */
		{ OP_DELETE, 40 },
		{ OP_DELETE, N_EXACT },      /* the wildcard */
	};
	struct keytable_recovery rec;
	unsigned int o;
	long k;

	for (o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		for (k = 1;; k++) {
			int st;

			setup_table();
			st = run_child(k, false, child_one_op, (void *)&ops[o], 0);
			if (!killed(st) && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
				snprintf(why, whylen, "op %d: child status 0x%x", ops[o].op, st);
				return false;
			}
			if (!verify(&rec, why, whylen)) {
				size_t n = strlen(why);

				snprintf(why + n, whylen - n, " (op %d, crash point %ld)",
					 ops[o].op, k);
				return false;
			}
			if (!killed(st))
				break;          /* ran to completion: every point done */
			(*points)++;
		}
	}
	return true;
}

/* Test 2: interrupt a delete mid-shift, then kill the recovering writer at
 * each of its crash points in turn; the next writer must still recover. */
static bool sweep_recovery(unsigned int *points, char *why, size_t whylen)
{
	struct one_op del = { OP_DELETE, 0 };
	struct keytable_recovery rec;
	long k;

	for (k = 1;; k++) {
		int st;

		setup_table();
		st = run_child(12, false, child_one_op, &del, 0);   /* mid-shift */
		if (!killed(st)) {
			snprintf(why, whylen, "the delete did not die mid-shift");
			return false;
		}
		st = run_child(k, true, child_nothing, NULL, 0);
		if (!killed(st) && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			snprintf(why, whylen, "recovering child status 0x%x", st);
			return false;
		}
		if (!verify(&rec, why, whylen)) {
			size_t n = strlen(why);

			snprintf(why + n, whylen - n, " (recovery crash point %ld)", k);
			return false;
		}
		if (!killed(st))
			break;
		(*points)++;
	}
	return true;
}

/* Tests 3 and 4: churn, kill (at a random crash point, or from outside at
 * a random time), verify; KILLS times on one table that lives on. */
static bool kills(bool outside, unsigned int *recovered, char *why, size_t whylen)
{
	struct keytable_recovery rec;
	uint64_t seed = outside ? 777 : 555;
	int n;

	for (n = 0; n < KILLS; n++) {
		uint64_t cseed = rnd(&seed);
		int st;

		if (outside)
			st = run_child(0, false, child_churn, &cseed,
				       1000 + (int)(rnd(&seed) % 15000));
		else
			st = run_child(1 + (long)(rnd(&seed) % 20000), false, child_churn,
				       &cseed, 0);
		if (!killed(st)) {
			snprintf(why, whylen, "kill %d: writer status 0x%x", n, st);
			return false;
		}
		if (!verify(&rec, why, whylen)) {
			size_t len = strlen(why);

			snprintf(why + len, whylen - len, " (kill %d)", n);
			return false;
		}
		if (rec.journal_op != KEYTABLE_JOP_NONE)
			(*recovered)++;
	}
	return true;
}

int main(void)
{
	struct keytable *r = NULL;
	struct timespec t0, t1;
	pthread_t th;
	char why[300];
	unsigned int points = 0, rpoints = 0, rec_a = 0, rec_b = 0;
	int fails = 0;
	bool ok;

	setvbuf(stdout, NULL, _IOLBF, 0);
	build_universe();
	snprintf(name, sizeof(name), "kt-crash-%d", (int)getpid());
	lg = mmap(NULL, sizeof(*lg), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lg == MAP_FAILED)
		return 1;
	printf("1..5\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);

	why[0] = '\0';
	ok = sweep_ops(&points, why, sizeof(why));
	printf("%s 1 - every crash point of add/replace/schedule/cancel/delete (%u kills)%s%s\n",
	       ok ? "ok" : "not ok", points, ok ? "" : ": ", ok ? "" : why);
	fails += !ok;

	ok = sweep_recovery(&rpoints, why, sizeof(why));
	printf("%s 2 - every crash point of recovering a delete (%u kills)%s%s\n",
	       ok ? "ok" : "not ok", rpoints, ok ? "" : ": ", ok ? "" : why);
	fails += !ok;

	/* 3 and 4 share one table, with a reader attached throughout */
	setup_table();
	if (keytable_attach_reader(&r, name, why, sizeof(why)) != 0 ||
	    pthread_create(&th, NULL, reader, r) != 0) {
		printf("Bail out! reader: %s\n", why);
		return 1;
	}
	ok = kills(false, &rec_a, why, sizeof(why));
	printf("%s 3 - %d kills at random crash points during churn (%u mid-operation)%s%s\n",
	       ok ? "ok" : "not ok", KILLS, rec_a, ok ? "" : ": ", ok ? "" : why);
	fails += !ok;
	ok = kills(true, &rec_b, why, sizeof(why));
	printf("%s 4 - %d kill -9 at random times during churn (%u mid-operation)%s%s\n",
	       ok ? "ok" : "not ok", KILLS, rec_b, ok ? "" : ": ", ok ? "" : why);
	fails += !ok;

	atomic_store(&stop_reader, 1);
	pthread_join(th, NULL);
	keytable_detach(r);
	ok = reader_bad == 0 && reader_lookups > 0;
	printf("%s 5 - reader thread: %lu look-ups across kills and recoveries, %lu bad%s%s\n",
	       ok ? "ok" : "not ok", reader_lookups, reader_bad, ok ? "" : ": ", reader_msg);
	fails += !ok;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %.1f s\n", (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	keytable_unlink(name, NULL, 0);
	return fails ? 1 : 0;
}
