/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dataplane's counters of a call and the automatic recovery from index
 * reuse (control/calls/legstats.c, docs/calls.md "Index reuse"). The test is
 * the dataplane here: it creates the statistics area of a side's key table
 * (dpstats_create, as its only writer) and places the call's rows exactly
 * where the dataplane's flow probe would (tests/unit/dpstats/dpstats_place.h), then moves the counters and drives both managers.
 */
#include "test_calls.h"

#include "callseal/dpstats.h"
#include "../dpstats/dpstats_place.h"

static char err[CALLS_ERR_MAX];

/* The dataplane's row for side s's entry (addr, dir): assigned to the
 * entry instance (its created_ns), as a worker does when it first applies it. */
struct dpstats_flow *row_for(struct side *s, struct dpstats *w, const char *addr,
			     unsigned int dir)
{
	struct keytable_entry e;
	struct dpstats_flow *r;
	struct keytable_key k;

	entry(s, addr, dir, &e, 0);
	k = e.key;
	r = dpstats_place(w, 0, &k);
	dpstats_flow_assign(r, &k, e.created_ns, dpstats_place_now_ns());
	keytable_wipe(&e, sizeof(e));
	return r;
}

static uint32_t generation(struct side *s, const char *id)
{
	struct calls_info in;

	assert_int_equal(calls_show(s->cm, id, &in), 0);
	return chain_gen(&in);
}

/* Drive until both sides are at generation g with both OUT entries
 * replaced (changed from *ao / *bo, which get the new ones), or fail. */
static void wait_generation(struct fixture *f, const char *id, uint32_t g,
			    struct keytable_entry *ao, struct keytable_entry *bo)
{
	struct keytable_entry a, b;
	uint64_t end = ms_now() + 3000;

	while (ms_now() < end) {
		drive(f, NULL, 0, 10, NULL);
		entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &a, 0);
		entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &b, 0);
		if (generation(&f->a, id) == g && generation(&f->b, id) == g &&
		    !master_eq(&a.cur, &ao->cur) && !master_eq(&b.cur, &bo->cur)) {
			*ao = a;
			*bo = b;
			keytable_wipe(&a, sizeof(a));
			keytable_wipe(&b, sizeof(b));
			return;
		}
		keytable_wipe(&a, sizeof(a));
		keytable_wipe(&b, sizeof(b));
	}
	fail_msg("generation %u not installed on both sides (a at %u, b at %u)", g,
		 generation(&f->a, id), generation(&f->b, id));
}

/* Drive until s has logged text (within ms), or fail. */
static void wait_log(struct fixture *f, struct side *s, const char *text, unsigned int ms)
{
	uint64_t end = ms_now() + ms;

	while (ms_now() < end && !logged(s, text))
		drive(f, NULL, 0, 5, NULL);
	if (!logged(s, text))
		fail_msg("not logged: %s (last: %s)", text,
			 s->n_log ? s->log[(s->n_log - 1) % 16] : "-");
}

/* The keys after a rekey, as test_rekey checks them after `call rekey`:
 * senders at once, receivers keep the old key with the new one on auth. */
static void check_rekeyed(struct fixture *f, const struct keytable_entry *ao,
			  const struct keytable_entry *bo)
{
	struct keytable_entry ai, bi;

	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ai, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi, 0);
	assert_int_equal(ao->flags, 0);
	assert_int_equal(bo->flags, 0);
	assert_int_equal(ai.flags & (KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH),
			 KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH);
	assert_int_equal(bi.flags & (KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH),
			 KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH);
	assert_true(master_eq(&bi.next, &ao->cur));
	assert_true(master_eq(&ai.next, &bo->cur));
	keytable_wipe(&ai, sizeof(ai));
	keytable_wipe(&bi, sizeof(bi));
}

/* Whether s logged the recovery of call id for n packets. */
static bool reuse_logged(const struct side *s, const char *id, unsigned int n)
{
	char want[256];

	snprintf(want, sizeof(want), "call %s: the application reused RTP/RTCP indexes on "
		 "its outbound stream (%u packets refused as index_reuse): rekeying", id, n);
	return logged(s, want);
}

static void store_reuse(struct dpstats_flow *r, uint64_t v)
{
	__atomic_store_n(&r->index_reuse, v, __ATOMIC_RELAXED);
}

/* index_reuse rising on alice's OUT row rekeys the call by itself, once per
 * storm guard; a replaced area (a restarted dataplane) is a reset, not an
 * increase. */
void test_reuse_recovery(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct keytable_entry ao, bo;
	struct calls_leg_stats st;
	struct dpstats *w = NULL;
	struct dpstats_flow *r;
	uint64_t end;

	call_ok(f, id);
	check_call(f, id);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo, 0);
	/* no area: polled without a word, nothing rekeyed */
	drive(f, NULL, 0, 3 * STATS_POLL_MS, NULL);
	assert_false(logged(&f->a, "dataplane statistics"));

	/* the dataplane appears, its row with packets but no reuse yet */
	assert_int_equal(dpstats_create(&w, f->a.table_name, 1, 64, err, sizeof(err)), 0);
	r = row_for(&f->a, w, ALICE_MEDIA, KEYTABLE_DIR_OUT);
	r->packets = 100;
	r->bytes = 17200;
	wait_log(f, &f->a, "dataplane statistics of table", 2000);
	assert_true(logged(&f->a, "attached (callseal-dataplane pid"));
	assert_int_equal(generation(&f->a, id), 0);

	/* the application restarted: 5 packets refused as index_reuse */
	store_reuse(r, 5);
	wait_generation(f, id, 2, &ao, &bo);
	check_rekeyed(f, &ao, &bo);
	assert_true(reuse_logged(&f->a, id, 5));
	assert_int_equal(calls_leg_stats(f->a.cm, id, CALLPROTO_ROLE_INITIATOR, &st), 0);
	assert_int_equal(st.auto_rekeys, 1);
	assert_true(st.dataplane);
	assert_true(st.out.seen);
	assert_int_equal(st.out.index_reuse, 5);
	assert_int_equal(st.out.packets, 100);
	assert_int_equal(calls_leg_stats(f->b.cm, id, CALLPROTO_ROLE_RESPONDER, &st), 0);
	assert_int_equal(st.auto_rekeys, 0);    /* bob's sender did not reuse */

	/* more refused within the storm guard (the packets until the peer's
	 * answer replaced the OUT entry): no second rekey, not even once the
	 * guard is over */
	store_reuse(r, 9);
	end = ms_now() + STATS_GUARD_MS + 4 * STATS_POLL_MS;
	while (ms_now() < end)
		drive(f, NULL, 0, 10, NULL);
	assert_int_equal(generation(&f->a, id), 2);
	assert_int_equal(generation(&f->b, id), 2);
	/* past the guard, still reusing: recovered again, counting from 9 */
	store_reuse(r, 10);
	wait_generation(f, id, 3, &ao, &bo);
	check_rekeyed(f, &ao, &bo);
	assert_true(reuse_logged(&f->a, id, 1));
	assert_int_equal(calls_leg_stats(f->a.cm, id, CALLPROTO_ROLE_INITIATOR, &st), 0);
	assert_int_equal(st.auto_rekeys, 2);

	/* the dataplane restarts, once the guard is over: a new area, its
	 * counters from zero (3 < 10): a reset, not an increase (not from 0
	 * either), and the new area's value is the baseline */
	end = ms_now() + STATS_GUARD_MS + 2 * STATS_POLL_MS;
	while (ms_now() < end)
		drive(f, NULL, 0, 10, NULL);
	dpstats_destroy(w);
	assert_int_equal(dpstats_create(&w, f->a.table_name, 1, 64, err, sizeof(err)), 0);
	r = row_for(&f->a, w, ALICE_MEDIA, KEYTABLE_DIR_OUT);
	store_reuse(r, 3);
	wait_log(f, &f->a, "replaced (callseal-dataplane pid", 2000);
	drive(f, NULL, 0, 4 * STATS_POLL_MS, NULL);
	assert_int_equal(generation(&f->a, id), 3);
	store_reuse(r, 4);
	wait_generation(f, id, 4, &ao, &bo);
	assert_true(reuse_logged(&f->a, id, 1));

	/* the dataplane stops: said once */
	dpstats_destroy(w);
	wait_log(f, &f->a, "gone (callseal-dataplane stopped?)", 2000);
	assert_int_equal(calls_leg_stats(f->a.cm, id, CALLPROTO_ROLE_INITIATOR, &st), 0);
	assert_false(st.dataplane);
	assert_int_equal(st.auto_rekeys, 3);
	end_call(f, id);
	keytable_wipe(&ao, sizeof(ao));
	keytable_wipe(&bo, sizeof(bo));
}

/* calls_leg_stats: no area, no row yet, both directions' counters. */
void test_leg_stats(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct calls_leg_stats st;
	struct dpstats *w = NULL;
	struct dpstats_flow *o, *i;

	call_ok(f, id);
	assert_int_equal(calls_leg_stats(f->a.cm, id, CALLPROTO_ROLE_INITIATOR, &st), 0);
	assert_false(st.dataplane);
	assert_string_equal(st.table, f->a.table_name);
	assert_int_equal(calls_leg_stats(f->a.cm, id, CALLPROTO_ROLE_RESPONDER, &st), -ENOENT);
	assert_int_equal(calls_leg_stats(f->a.cm, "0123456789abcdef", CALLPROTO_ROLE_INITIATOR,
					 &st), -ENOENT);

	assert_int_equal(dpstats_create(&w, f->b.table_name, 2, 16, err, sizeof(err)), 0);
	assert_int_equal(calls_leg_stats(f->b.cm, id, CALLPROTO_ROLE_RESPONDER, &st), 0);
	assert_true(st.dataplane);
	assert_false(st.out.seen);               /* no packets yet */
	assert_false(st.in.seen);

	o = row_for(&f->b, w, BOB_MEDIA, KEYTABLE_DIR_OUT);
	o->packets = 50; o->bytes = 8600; o->index_reuse = 1; o->key_exhausted = 2;
	o->other_drops = 3; o->last_ns = 1234;
	i = row_for(&f->b, w, BOB_MEDIA, KEYTABLE_DIR_IN);
	i->packets = 40; i->bytes = 6880; i->auth = 4; i->replay = 5; i->other_drops = 6;
	i->last_ns = 5678;
	/* a row of the same key for another entry instance (an earlier call on
	 * the port) is not this call's */
	struct keytable_key k2 = o->key;
	struct dpstats_flow *other = dpstats_place(w, 1, &k2);

	dpstats_flow_assign(other, &k2, o->entry_created_ns - 1, dpstats_place_now_ns());
	other->packets = 999;
	assert_int_equal(calls_leg_stats(f->b.cm, id, CALLPROTO_ROLE_RESPONDER, &st), 0);
	assert_true(st.out.seen);
	assert_int_equal(st.out.packets, 50);
	assert_int_equal(st.out.bytes, 8600);
	assert_int_equal(st.out.index_reuse, 1);
	assert_int_equal(st.out.key_exhausted, 2);
	assert_int_equal(st.out.other_drops, 3);
	assert_int_equal(st.out.last_ns, 1234);
	assert_true(st.in.seen);
	assert_int_equal(st.in.packets, 40);
	assert_int_equal(st.in.bytes, 6880);
	assert_int_equal(st.in.auth, 4);
	assert_int_equal(st.in.replay, 5);
	assert_int_equal(st.in.other_drops, 6);
	assert_int_equal(st.in.last_ns, 5678);
	assert_int_equal(st.auto_rekeys, 0);
	dpstats_destroy(w);
	end_call(f, id);
}
