/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The call history (docs/calls.md, "Call history"): an ended or failed leg
 * stays in the store with who ended it and why, its start and end, the
 * security code and the dataplane's final counters (read before its entries
 * are deleted), and is forgotten after calls_config.history_s; and the key
 * table generations a leg shows (docs/calls.md, "Generations").
 */
#include "test_calls.h"

#include "callseal/dpstats.h"

static char err[CALLS_ERR_MAX];

int setup_history_short(void **state)
{
	int rc;

	fixture_history_s = 1;
	rc = setup(state);
	fixture_history_s = 0;
	return rc;
}

int setup_history_none(void **state)
{
	int rc;

	fixture_history_s = CALLS_HISTORY_NONE;
	rc = setup(state);
	fixture_history_s = 0;
	return rc;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The store's leg of side s: present, final. */
static void leg(struct side *s, const char *id, enum store_call_role role,
		struct store_call *c)
{
	assert_int_equal(store_call_get_leg(s->st, id, role, c, err, sizeof(err)), 0);
	assert_true(c->state == STORE_CALL_ENDED || c->state == STORE_CALL_FAILED);
	assert_true(c->ended_ms > 0);
}

/* The 20 digits of a code shown in groups of five. */
static void digits(const char *grouped, char out[STORE_SECURITY_CODE_LEN + 1])
{
	size_t o = 0;

	for (size_t i = 0; grouped[i] && o < STORE_SECURITY_CODE_LEN; i++)
		if (grouped[i] != ' ')
			out[o++] = grouped[i];
	out[o] = '\0';
}

/* A call ended by each side in turn: both stores keep both legs, with who
 * ended it, why, the code both saw, a start before the end, and the final
 * counters where a dataplane counted (bob's side), "none" where none ran. */
void test_history_ends(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1], code[STORE_SECURITY_CODE_LEN + 1];
	struct calls_info ia;
	struct store_call ca, cb;
	struct dpstats *w = NULL;
	struct dpstats_flow *o, *i;
	unsigned int a0;

	set_e2ee(&f->a, "alice", true, true);
	set_e2ee(&f->b, "bob", true, true);
	call_ok(f, id);
	assert_int_equal(calls_show(f->a.cm, id, &ia), 0);
	digits(ia.security_code, code);
	assert_int_equal(strlen(code), STORE_SECURITY_CODE_LEN);
	assert_int_equal(dpstats_create(&w, f->b.table_name, 2, 16, err, sizeof(err)), 0);
	o = row_for(&f->b, w, BOB_MEDIA, KEYTABLE_DIR_OUT);
	o->packets = 50; o->bytes = 8600; o->index_reuse = 1; o->key_exhausted = 2;
	o->other_drops = 3;
	i = row_for(&f->b, w, BOB_MEDIA, KEYTABLE_DIR_IN);
	i->packets = 40; i->bytes = 6880; i->auth = 4; i->replay = 5; i->other_drops = 6;
	end_call(f, id);                          /* alice hangs up */

	leg(&f->a, id, STORE_ROLE_INITIATOR, &ca);
	leg(&f->b, id, STORE_ROLE_RESPONDER, &cb);
	assert_int_equal(ca.ended_by, STORE_ENDER_LOCAL);
	assert_string_equal(ca.end_reason, "ended locally");
	assert_int_equal(cb.ended_by, STORE_ENDER_PEER);
	assert_string_equal(cb.end_reason, "ended by the peer: hung up");
	assert_string_equal(ca.security_code, code);
	assert_string_equal(cb.security_code, code);
	assert_string_equal(ca.reason, "end-to-end encrypted");   /* the mode's, kept */
	assert_int_equal(ca.mode, STORE_MODE_E2EE);
	assert_true(ca.active_ms > 0 && ca.ended_ms >= ca.active_ms);
	assert_true(cb.active_ms > 0 && cb.ended_ms >= cb.active_ms);
	assert_int_equal(ca.media, STORE_MEDIA_NONE);   /* no dataplane on alice's table */
	assert_int_equal(cb.media, STORE_MEDIA_READ);
	assert_true(cb.out.seen && cb.in.seen);
	assert_int_equal(cb.out.packets, 50);
	assert_int_equal(cb.out.bytes, 8600);
	assert_int_equal(cb.out.index_reuse, 1);
	assert_int_equal(cb.out.key_exhausted, 2);
	assert_int_equal(cb.out.other_drops, 3);
	assert_int_equal(cb.in.packets, 40);
	assert_int_equal(cb.in.bytes, 6880);
	assert_int_equal(cb.in.auth, 4);
	assert_int_equal(cb.in.replay, 5);
	assert_int_equal(cb.in.other_drops, 6);

	/* the next call, bob hangs up: no packets counted on his new entries */
	call_ok(f, id);
	a0 = f->a.n_ev;
	assert_int_equal(calls_end(f->b.cm, id, err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, a0 + 1, 3000, NULL);
	assert_int_equal(last(&f->a)->state, CALLS_ENDED);
	leg(&f->a, id, STORE_ROLE_INITIATOR, &ca);
	leg(&f->b, id, STORE_ROLE_RESPONDER, &cb);
	assert_int_equal(cb.ended_by, STORE_ENDER_LOCAL);
	assert_int_equal(ca.ended_by, STORE_ENDER_PEER);
	assert_string_equal(ca.end_reason, "ended by the peer: hung up");
	assert_int_equal(cb.media, STORE_MEDIA_READ);
	assert_false(cb.out.seen || cb.in.seen);
	dpstats_destroy(w);
}

/* A failed set-up keeps its reason: the caller refuses bob's key (its own
 * decision); a call to a callee that refuses alice's key is the peer's. */
void test_history_failed(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	uint8_t junk[32];
	struct store_call c;

	randombytes_buf(junk, sizeof(junk));
	assert_int_equal(store_peer_set(f->a.st, "bob@fabrikam", junk, NULL, true,
					err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, 1, 3000, NULL);
	check_failed_clean(f);
	leg(&f->a, id, STORE_ROLE_INITIATOR, &c);
	assert_int_equal(c.state, STORE_CALL_FAILED);
	assert_non_null(strstr(c.end_reason, "does not match the pinned key"));
	assert_int_equal(c.ended_by, STORE_ENDER_DAEMON);
	assert_int_equal(c.active_ms, 0);                 /* never had keys */
	assert_int_equal(c.media, STORE_MEDIA_UNKNOWN);

	user_pub(&f->b, "bob", junk);
	assert_int_equal(store_peer_set(f->a.st, "bob@fabrikam", junk, NULL, true,
					err, sizeof(err)), 0);
	randombytes_buf(junk, sizeof(junk));
	assert_int_equal(store_peer_set(f->b.st, "alice@contoso", junk, NULL, true,
					err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, 2, 3000, NULL);
	check_failed_clean(f);
	leg(&f->a, id, STORE_ROLE_INITIATOR, &c);
	assert_int_equal(c.state, STORE_CALL_FAILED);
	assert_int_equal(c.ended_by, STORE_ENDER_PEER);
	assert_true(c.end_reason[0] != '\0');
}

/* history_s = 1: both legs stay after the end, and are gone once a second
 * has passed since (the prune's own wake-up: nobody asks for it). */
void test_history_retention(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct store_call ca, cb;
	uint64_t deadline;
	bool gone = false;

	call_ok(f, id);
	end_call(f, id);
	leg(&f->a, id, STORE_ROLE_INITIATOR, &ca);
	leg(&f->b, id, STORE_ROLE_RESPONDER, &cb);
	assert_true(calls_timeout_ms(f->a.cm) <= 1000);   /* the prune's wake-up */
	deadline = ms_now() + 5000;
	while (!gone && ms_now() < deadline) {
		drive(f, NULL, 0, 20, NULL);
		gone = store_call_get(f->a.st, id, &ca, err, sizeof(err)) == -ENOENT &&
		       store_call_get(f->b.st, id, &cb, err, sizeof(err)) == -ENOENT;
		if (!gone)
			assert_true(wall_ms() < ca.ended_ms + 1000 + 1000);
	}
	assert_true(gone);
	assert_true(wall_ms() >= ca.ended_ms + 1000);      /* not before the retention */
	assert_true(calls_timeout_ms(f->a.cm) == -1);      /* nothing left to prune */
}

/* CALLS_HISTORY_NONE: an ended leg is forgotten at the next round. */
void test_history_keep_none(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct store_call c;
	unsigned int b0;

	call_ok(f, id);
	b0 = f->b.n_ev;
	assert_int_equal(calls_end(f->a.cm, id, err, sizeof(err)), 0);
	drive(f, &f->b.n_ev, b0 + 1, 3000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_ENDED);
	drive(f, NULL, 0, 20, NULL);
	assert_int_equal(store_call_get(f->a.st, id, &c, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_call_get(f->b.st, id, &c, err, sizeof(err)), -ENOENT);
}

/* A leg's generations are its entries' in the key table (what key list
 * shows); rekeys counts the call's new keys, the same on both sides. */
void test_generations(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct keytable_entry eo, ei;
	struct calls_info ia, ib;
	uint64_t deadline;

	call_ok(f, id);
	assert_int_equal(calls_show(f->a.cm, id, &ia), 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &eo, 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ei, 0);
	assert_true(eo.generation != 0 && ei.generation != 0);
	assert_int_equal(ia.generation_out, eo.generation);
	assert_int_equal(ia.generation_in, ei.generation);
	assert_int_equal(ia.rekeys, 0);
	assert_int_equal(calls_rekey(f->a.cm, id, 0, err, sizeof(err)), 0);
	deadline = ms_now() + 3000;
	do {
		drive(f, NULL, 0, 10, NULL);
		assert_int_equal(calls_show(f->a.cm, id, &ia), 0);
		assert_int_equal(calls_show(f->b.cm, id, &ib), 0);
	} while ((ia.generation_out == eo.generation || ib.rekeys != 1) && ms_now() < deadline);
	assert_int_equal(ia.rekeys, 1);
	assert_int_equal(ib.rekeys, 1);
	keytable_wipe(&eo, sizeof(eo));
	keytable_wipe(&ei, sizeof(ei));
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &eo, 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ei, 0);
	assert_int_equal(ia.generation_out, eo.generation);
	assert_int_equal(ia.generation_in, ei.generation);
	keytable_wipe(&eo, sizeof(eo));
	keytable_wipe(&ei, sizeof(ei));
	end_call(f, id);
}
