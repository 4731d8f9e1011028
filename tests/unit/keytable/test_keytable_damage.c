/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A damaged key table never hangs or crashes (issue 14). Each test forges a
 * damaged table by writing the shared-memory file directly through the
 * documented layout (docs/keytable.md, sections 3 and 8), then attaches,
 * looks up and changes it in a forked child under alarm(): a child that does
 * not finish in BOUND_S seconds fails the test ("hung") instead of hanging
 * the suite, and a child killed by a signal fails it ("crashed").
 *
 * The children do not use cmocka's assertions (a failing one would go on
 * running the rest of the suite in the child): they CHECK, write the first
 * failure to a pipe and exit 1; the parent turns that into fail_msg().
 */
#include "test_keytable.h"

#include <time.h>

#define BOUND_S 10u   /* each child's work takes milliseconds when correct */

struct child {
	struct fx *f;
	char *why;
	size_t whylen;
};

#define CHECK(c, ...) do {                                              \
		if (!(c)) {                                             \
			snprintf(ch->why, ch->whylen, "line %d: ", __LINE__); \
			snprintf(ch->why + strlen(ch->why),             \
				 ch->whylen - strlen(ch->why), __VA_ARGS__); \
			return false;                                   \
		}                                                       \
	} while (0)

/* Run fn in a child under alarm(BOUND_S); fail the test if it hangs,
 * crashes or reports a failure. */
static void run_bounded(struct fx *f, bool (*fn)(struct child *), const char *what)
{
	char why[512] = "";
	ssize_t got = 0, n;
	int p[2], st;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct child c = { .f = f, .why = why, .whylen = sizeof(why) };
		bool ok;

		close(p[0]);
		alarm(BOUND_S);
		ok = fn(&c);
		if (!ok && write(p[1], why, strlen(why)) < 0)
			_exit(2);
		_exit(ok ? 0 : 1);
	}
	close(p[1]);
	while ((n = read(p[0], why + got, sizeof(why) - 1 - (size_t)got)) > 0)
		got += n;
	why[got] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		fail_msg("%s: did not finish in %u s (hung)", what, BOUND_S);
	if (WIFSIGNALED(st))
		fail_msg("%s: crashed with signal %d", what, WTERMSIG(st));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s: %s", what, why);
}

/* ---- forging ---------------------------------------------------------------- */

static off_t slot_off(uint32_t slot)
{
	return (off_t)KEYTABLE_HEADER_SIZE + (off_t)slot * KEYTABLE_ENTRY_SIZE;
}

static void put(struct fx *f, off_t off, const void *p, size_t n)
{
	int fd = shm_fd(f);

	assert_int_equal(pwrite(fd, p, n, off), (ssize_t)n);
	close(fd);
}

static void put32(struct fx *f, size_t off, uint32_t v)
{
	put(f, (off_t)off, &v, sizeof(v));
}

static void put64(struct fx *f, size_t off, uint64_t v)
{
	put(f, (off_t)off, &v, sizeof(v));
}

static void get_slot(struct fx *f, uint32_t s, struct keytable_entry *e)
{
	int fd = shm_fd(f);

	assert_int_equal(pread(fd, e, sizeof(*e), slot_off(s)), (ssize_t)sizeof(*e));
	close(fd);
}

/* A valid LIVE image whose key has its home at slot s of a table of
 * `slots` slots (found by trying ports), so that a look-up finds it. */
static void live_at_home(struct keytable_entry *e, uint32_t s, uint32_t slots)
{
	uint32_t port;

	memset(e, 0, sizeof(*e));
	for (port = 1; port < 65536; port++) {
		key4(&e->key, (uint8_t)(s + 1), (uint16_t)port, KEYTABLE_DIR_IN);
		if ((keytable_hash(&e->key) & (slots - 1)) == s)
			break;
	}
	assert_true(port < 65536);
	e->seq = 2;
	e->state = KEYTABLE_STATE_LIVE;
	e->mode = KEYTABLE_MODE_STANDARD;
	e->generation = s + 1;
	master(&e->cur, KEYTABLE_PROFILE_AEAD_AES_128_GCM, (uint8_t)s);
	memcpy(e->call_id, call_id, sizeof(e->call_id));
}

/* Every one of the table's `slots` slots LIVE, each key at its home. */
static void fill_every_slot(struct fx *f, uint32_t slots)
{
	struct keytable_entry e;
	uint32_t s;

	for (s = 0; s < slots; s++) {
		live_at_home(&e, s, slots);
		put(f, slot_off(s), &e, sizeof(e));
	}
}

/* A key in no slot: live_at_home() uses 10.0.0.x keys, inbound. */
static void absent_key(struct keytable_key *k)
{
	const uint8_t a[4] = { 192, 0, 2, 77 };

	keytable_key_ipv4(k, a, 4242, KEYTABLE_DIR_OUT);
}

static bool has(const char *s, const char *needle)
{
	return strstr(s, needle) != NULL;
}

/* Reader look-ups of every kind on whatever the table holds: each must end
 * with a status it documents (checked), in bounded time (run_bounded). */
static bool reader_survives(struct child *ch, const struct keytable_key *present,
			    unsigned int want_present, unsigned int want_absent)
{
	struct keytable *r = NULL;
	struct keytable_key keys[2], wild;
	struct keytable_entry out[2], e;
	struct keytable_ref refs[2];
	uint32_t cursor = 0;
	uint8_t st[2];
	int rc, n;

	rc = keytable_attach_reader(&r, ch->f->name, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == 0, "reader attach: %d %s", rc, ch->f->err);
	keys[0] = *present;
	absent_key(&keys[1]);
	keytable_key_any(&wild, 4242, KEYTABLE_DIR_OUT);
	n = keytable_lookup_bulk(r, keys, 2, out, st, refs);
	CHECK(n >= 0 && st[0] == want_present && st[1] == want_absent,
	      "bulk look-up: %d found, status %u %u, want %u %u", n, st[0], st[1],
	      want_present, want_absent);
	n = keytable_lookup_bulk_ref(r, keys, 2, refs, st);
	CHECK(n >= 0 && st[0] == want_present && st[1] == want_absent,
	      "bulk ref look-up: status %u %u, want %u %u", st[0], st[1], want_present,
	      want_absent);
	rc = keytable_get(r, &keys[1], &e, NULL);
	CHECK(rc == (want_absent == KEYTABLE_BUSY ? -EBUSY : -ENOENT),
	      "get of an absent key: %d", rc);
	rc = keytable_get(r, &wild, &e, NULL);
	CHECK(rc == -EBUSY || rc == -ENOENT, "get of a wildcard key: %d", rc);
	if (st[0] == KEYTABLE_FOUND) {
		CHECK(keytable_read_ref(r, &refs[0], &e) == 0, "read_ref of a found key");
		CHECK(keytable_ref_current(r, &refs[0]), "ref_current of a found key");
	}
	/* a listing ends: at most one entry per slot, or -EBUSY */
	for (n = 0; (rc = keytable_next(r, &cursor, &e)) == 1; n++)
		CHECK(n < 1 << 20, "keytable_next does not end");
	CHECK(rc == 0 || rc == -EBUSY, "keytable_next: %d", rc);
	keytable_detach(r);
	return true;
}

/* ---- the reported hang: every slot live, a delete pending ----------------- */

static bool full_pending_delete(struct child *ch)
{
	struct keytable *t = NULL;
	struct keytable_recovery rec;
	struct keytable_entry e;
	char want[96];
	int rc;

	rc = keytable_attach_writer(&t, ch->f->name, &rec, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == -EUCLEAN && t == NULL, "writer attach: %d (%s), want -EUCLEAN", rc,
	      ch->f->err);
	snprintf(want, sizeof(want), "table callseal.%s", ch->f->name);
	CHECK(has(ch->f->err, want) && has(ch->f->err, "16 of its 16 slots are live") &&
	      has(ch->f->err, "capacity 8") && has(ch->f->err, "cannot recover"),
	      "message: %s", ch->f->err);
	CHECK(rec.journal_op == KEYTABLE_JOP_DELETE, "rec.journal_op %u", rec.journal_op);
	/* readers: a present key is found, an absent one is BUSY (its probe
	 * crossed more live slots than a table can hold), and nothing hangs */
	live_at_home(&e, 5, 16);
	return reader_survives(ch, &e.key, KEYTABLE_FOUND, KEYTABLE_BUSY);
}

void test_damage_full_pending_delete(void **state)
{
	struct fx *f = *state;
	struct keytable_entry before, after;

	keytable_detach(make(f, 8));            /* 16 slots */
	fill_every_slot(f, 16);
	put32(f, offsetof(struct keytable_header, count), 8);
	put32(f, offsetof(struct keytable_header, journal.hole), 3);
	put32(f, offsetof(struct keytable_header, journal.op), KEYTABLE_JOP_DELETE);
	put64(f, offsetof(struct keytable_header, move_seq), 1);
	get_slot(f, 3, &before);
	run_bounded(f, full_pending_delete, "writer attach of a full table with a pending delete");
	/* refused before changing anything */
	get_slot(f, 3, &after);
	assert_memory_equal(&before, &after, sizeof(before));
}

/* ---- journal fields out of range ----------------------------------------- */

static const struct {
	uint32_t op, slot, hole;
	const char *msg;
} bad_journals[] = {
	{ KEYTABLE_JOP_ADD, 16, 0, "journal is damaged (op 1, slot 16, hole 0: slot 16 is "
				   "out of range, the table has 16 slots)" },
	{ KEYTABLE_JOP_REPLACE, UINT32_MAX, 0, "slot 4294967295 is out of range" },
	{ KEYTABLE_JOP_SCHEDULE, 1000, 0, "slot 1000 is out of range" },
	{ KEYTABLE_JOP_DELETE, 0, 16, "hole 16 is out of range" },
	{ 5, 0, 0, "journal is damaged (op 5, slot 0, hole 0: unknown op)" },
	{ UINT32_MAX, 0, 0, "unknown op" },
};

static unsigned int bad_journal;

static bool journal_refused(struct child *ch)
{
	struct keytable *t = NULL;
	struct keytable_entry e;
	int rc;

	rc = keytable_attach_writer(&t, ch->f->name, NULL, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == -EUCLEAN && t == NULL, "writer attach: %d (%s)", rc, ch->f->err);
	CHECK(has(ch->f->err, bad_journals[bad_journal].msg) &&
	      has(ch->f->err, "remove the table and re-create it"),
	      "message \"%s\" lacks \"%s\"", ch->f->err, bad_journals[bad_journal].msg);
	live_at_home(&e, 2, 16);
	return reader_survives(ch, &e.key, KEYTABLE_FOUND, KEYTABLE_NOT_FOUND);
}

void test_damage_journal_fields(void **state)
{
	struct fx *f = *state;
	struct keytable_entry e;

	keytable_detach(make(f, 8));
	live_at_home(&e, 2, 16);
	put(f, slot_off(2), &e, sizeof(e));
	put32(f, offsetof(struct keytable_header, count), 1);
	put(f, offsetof(struct keytable_header, journal.undo), &e, sizeof(e));
	for (bad_journal = 0; bad_journal < sizeof(bad_journals) / sizeof(bad_journals[0]);
	     bad_journal++) {
		put32(f, offsetof(struct keytable_header, journal.slot),
		      bad_journals[bad_journal].slot);
		put32(f, offsetof(struct keytable_header, journal.hole),
		      bad_journals[bad_journal].hole);
		put32(f, offsetof(struct keytable_header, journal.op),
		      bad_journals[bad_journal].op);
		run_bounded(f, journal_refused, bad_journals[bad_journal].msg);
	}
}

/* A replace whose undo image is of another stream than its slot holds. */
static bool undo_mismatch(struct child *ch)
{
	struct keytable *t = NULL;
	int rc;

	rc = keytable_attach_writer(&t, ch->f->name, NULL, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == -EUCLEAN && t == NULL, "writer attach: %d (%s)", rc, ch->f->err);
	CHECK(has(ch->f->err, "journal is damaged (op 2, slot 2") &&
	      has(ch->f->err, "its undo image is not the stream slot 2 holds"),
	      "message: %s", ch->f->err);
	return true;
}

void test_damage_undo_mismatch(void **state)
{
	struct fx *f = *state;
	struct keytable_entry e, other;

	keytable_detach(make(f, 8));
	live_at_home(&e, 2, 16);
	live_at_home(&other, 7, 16);
	put(f, slot_off(2), &e, sizeof(e));
	put32(f, offsetof(struct keytable_header, count), 1);
	put(f, offsetof(struct keytable_header, journal.undo), &other, sizeof(other));
	put32(f, offsetof(struct keytable_header, journal.slot), 2);
	put32(f, offsetof(struct keytable_header, journal.op), KEYTABLE_JOP_REPLACE);
	run_bounded(f, undo_mismatch, "replace with another stream's undo image");
}

/* ---- geometry inconsistent with the file --------------------------------- */

static const char *geometry_msg;

static bool geometry_refused(struct child *ch)
{
	struct keytable *t = NULL;
	int rc;

	rc = keytable_attach_reader(&t, ch->f->name, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == -EPROTO && t == NULL, "reader attach: %d (%s)", rc, ch->f->err);
	CHECK(has(ch->f->err, geometry_msg), "reader: \"%s\" lacks \"%s\"", ch->f->err,
	      geometry_msg);
	rc = keytable_attach_writer(&t, ch->f->name, NULL, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == -EPROTO && t == NULL, "writer attach: %d (%s)", rc, ch->f->err);
	CHECK(has(ch->f->err, geometry_msg), "writer: \"%s\" lacks \"%s\"", ch->f->err,
	      geometry_msg);
	return true;
}

static void geometry(struct fx *f, uint32_t cap, uint32_t bits, uint64_t bytes,
		     off_t size, const char *msg)
{
	int fd;

	put32(f, offsetof(struct keytable_header, capacity), cap);
	put32(f, offsetof(struct keytable_header, slot_bits), bits);
	put64(f, offsetof(struct keytable_header, table_bytes), bytes);
	fd = shm_fd(f);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
	geometry_msg = msg;
	run_bounded(f, geometry_refused, msg);
}

void test_damage_geometry(void **state)
{
	struct fx *f = *state;
	const uint64_t b4 = KEYTABLE_HEADER_SIZE + 16 * KEYTABLE_ENTRY_SIZE;
	const uint64_t b5 = KEYTABLE_HEADER_SIZE + 32 * KEYTABLE_ENTRY_SIZE;

	keytable_detach(make(f, 8));
	/* slot_bits too big for the file (header says 32 slots, file has 16) */
	geometry(f, 16, 5, b5, (off_t)b4, "is 8192 bytes but its header says 12288");
	/* table_bytes disagrees with slot_bits (file fits table_bytes) */
	geometry(f, 8, 4, b5, (off_t)b5, "truncated or damaged");
	/* truncated in the middle of a slot */
	geometry(f, 8, 4, b4, (off_t)b4 - 100, "is 8092 bytes but its header says 8192");
	/* more slots than the capacity calls for, the file to match */
	geometry(f, 8, 5, b5, (off_t)b5, "bad geometry (capacity 8, 2^5 slots: a table of "
		 "capacity 8 has 2^4)");
	/* a capacity past KEYTABLE_CAPACITY_MAX */
	geometry(f, KEYTABLE_CAPACITY_MAX + 1, 28,
		 KEYTABLE_HEADER_SIZE + ((uint64_t)KEYTABLE_ENTRY_SIZE << 28), (off_t)b4,
		 "bad geometry (capacity 67108865");
	/* slot_bits past 31 and 0 */
	geometry(f, 8, 200, b4, (off_t)b4, "bad geometry (capacity 8, 2^200 slots");
	geometry(f, 8, 0, b4, (off_t)b4, "bad geometry (capacity 8, 2^0 slots");
	/* and back: the same file attaches again */
	put32(f, offsetof(struct keytable_header, slot_bits), 4);
	put64(f, offsetof(struct keytable_header, table_bytes), b4);
	{
		struct keytable *t = NULL;
		int fd = shm_fd(f);

		assert_int_equal(ftruncate(fd, (off_t)b4), 0);
		close(fd);
		assert_int_equal(keytable_attach_reader(&t, f->name, f->err, sizeof(f->err)), 0);
		keytable_detach(t);
	}
}

/* ---- seq stuck odd ---------------------------------------------------------- */

static bool all_odd(struct child *ch)
{
	struct keytable *t = NULL;
	struct keytable_entry e;
	int rc;

	/* readers: every look-up is BUSY, quickly */
	live_at_home(&e, 4, 128);
	if (!reader_survives(ch, &e.key, KEYTABLE_BUSY, KEYTABLE_BUSY))
		return false;
	/* the writer refuses: more slots mid-write than damage can explain */
	rc = keytable_attach_writer(&t, ch->f->name, NULL, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == -EUCLEAN && t == NULL, "writer attach: %d (%s)", rc, ch->f->err);
	CHECK(has(ch->f->err, "128 of its 128 slots are stuck mid-write") &&
	      has(ch->f->err, "cannot recover"), "message: %s", ch->f->err);
	return true;
}

static bool some_odd(struct child *ch)
{
	struct keytable *t = NULL;
	struct keytable_recovery rec;
	struct keytable_entry e;
	struct keytable_info in;
	uint32_t s;
	int rc;

	rc = keytable_attach_writer(&t, ch->f->name, &rec, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == 0, "writer attach: %d (%s)", rc, ch->f->err);
	CHECK(rec.journal_op == KEYTABLE_JOP_NONE && rec.wiped == 3, "wiped %u", rec.wiped);
	keytable_info(t, &in);
	CHECK(in.count == 5 && in.wild_count == 0 && in.recoveries == 1,
	      "count %u wild_count %u recoveries %lu", in.count, in.wild_count,
	      (unsigned long)in.recoveries);
	for (s = 10; s < 18; s++) {
		live_at_home(&e, s, 128);
		rc = keytable_get(t, &e.key, &e, NULL);
		CHECK(rc == (s < 13 ? -ENOENT : 0), "slot %u: %d", s, rc);
	}
	keytable_detach(t);
	return true;
}

void test_damage_seq_odd(void **state)
{
	struct fx *f = *state;
	struct keytable_entry e;
	uint32_t s;

	keytable_detach(make(f, 64));           /* 128 slots */
	for (s = 0; s < 128; s++) {
		if (s % 2)
			live_at_home(&e, s, 128);
		else
			memset(&e, 0, sizeof(e));
		e.seq = 7;                      /* odd: a write that never ended */
		put(f, slot_off(s), &e, sizeof(e));
	}
	put32(f, offsetof(struct keytable_header, count), 64);
	run_bounded(f, all_odd, "every slot odd");

	/* a few odd slots and an idle journal that knows nothing of them:
	 * wiped (and the shift run from each), the count corrected */
	memset(&e, 0, sizeof(e));
	for (s = 0; s < 128; s++)
		put(f, slot_off(s), &e, sizeof(e));
	for (s = 10; s < 18; s++) {
		live_at_home(&e, s, 128);
		e.seq = s < 13 ? 7 : 2;
		put(f, slot_off(s), &e, sizeof(e));
	}
	/* and counters that disagree with the slots (an underflowed count) */
	put32(f, offsetof(struct keytable_header, count), UINT32_MAX);
	put32(f, offsetof(struct keytable_header, wild_count), 3);
	run_bounded(f, some_odd, "three odd slots");
}

/* ---- counters that disagree with the slots, journal idle ------------------ */

static bool counters(struct child *ch)
{
	struct keytable *t = NULL;
	struct keytable_recovery rec;
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_info in;
	int rc;

	rc = keytable_attach_writer(&t, ch->f->name, &rec, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == 0, "writer attach: %d (%s)", rc, ch->f->err);
	keytable_info(t, &in);
	CHECK(in.count == 3 && in.wild_count == 1 && in.recoveries == 1,
	      "count %u wild_count %u recoveries %lu", in.count, in.wild_count,
	      (unsigned long)in.recoveries);
	CHECK(rec.journal_op == 0 && rec.rolled_back + rec.completed + rec.wiped == 0,
	      "rec %u %u %u %u", rec.journal_op, rec.rolled_back, rec.completed, rec.wiped);
	/* the recounted table takes new entries again */
	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 9);
	absent_key(&k);
	rc = keytable_add(t, &k, KEYTABLE_MODE_STANDARD, &m, NULL, NULL);
	CHECK(rc == 0, "add: %d (%s)", rc, keytable_last_error(t));
	keytable_detach(t);
	return true;
}

void test_damage_counters(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 8);
	struct keytable_master m;
	struct keytable_key k;
	unsigned int i;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	for (i = 0; i < 2; i++) {
		key4(&k, (uint8_t)i, 5004, KEYTABLE_DIR_IN);
		assert_int_equal(keytable_add(t, &k, 1, &m, NULL, NULL), 0);
	}
	keytable_key_any(&k, 5004, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, 1, &m, NULL, NULL), 0);
	keytable_detach(t);
	/* a count that underflowed, a wild_count that says "none" */
	put32(f, offsetof(struct keytable_header, count), UINT32_MAX);
	put32(f, offsetof(struct keytable_header, wild_count), 0);
	run_bounded(f, counters, "count and wild_count wrong, journal idle");
}

/* ---- a table damaged under an attached writer ----------------------------- */

static bool writer_ops(struct child *ch)
{
	struct keytable *t = NULL;
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry e, e2;
	uint32_t s;
	int rc, fd;

	rc = keytable_attach_writer(&t, ch->f->name, NULL, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == 0, "writer attach: %d (%s)", rc, ch->f->err);
	/* someone fills every slot behind the writer's back */
	fd = shm_open(ch->f->path, O_RDWR, 0);
	CHECK(fd >= 0, "open");
	for (s = 0; s < 16; s++) {
		live_at_home(&e, s, 16);
		CHECK(pwrite(fd, &e, sizeof(e), slot_off(s)) == (ssize_t)sizeof(e), "pwrite");
	}
	close(fd);
	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 99);
	absent_key(&k);
	rc = keytable_add(t, &k, KEYTABLE_MODE_STANDARD, &m, NULL, NULL);
	CHECK(rc == -EUCLEAN, "add: %d (%s)", rc, keytable_last_error(t));
	CHECK(has(keytable_last_error(t), "is damaged") &&
	      has(keytable_last_error(t), "192.0.2.77:4242/out"),
	      "add: %s", keytable_last_error(t));
	rc = keytable_replace(t, &k, &m, NULL);
	CHECK(rc == -EUCLEAN, "replace of an absent key: %d (%s)", rc,
	      keytable_last_error(t));
	live_at_home(&e, 6, 16);
	rc = keytable_delete(t, &e.key);
	CHECK(rc == -EUCLEAN, "delete: %d (%s)", rc, keytable_last_error(t));
	CHECK(has(keytable_last_error(t), "nothing was deleted"), "delete: %s",
	      keytable_last_error(t));
	/* nothing changed: the entry is still there, the journal idle */
	rc = keytable_get(t, &e.key, &e2, NULL);
	CHECK(rc == 0 && e2.generation == e.generation, "get after refused delete: %d", rc);
	CHECK(t != NULL, "handle");
	keytable_detach(t);
	/* and the next writer refuses the table */
	rc = keytable_attach_writer(&t, ch->f->name, NULL, ch->f->err, sizeof(ch->f->err));
	CHECK(rc == -EUCLEAN && has(ch->f->err, "16 of its 16 slots are live"),
	      "second writer attach: %d (%s)", rc, ch->f->err);
	return reader_survives(ch, &e.key, KEYTABLE_FOUND, KEYTABLE_BUSY);
}

void test_damage_writer_ops(void **state)
{
	struct fx *f = *state;

	keytable_detach(make(f, 8));
	run_bounded(f, writer_ops, "add and delete in a table filled behind the writer");
}
