/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Calls within a tenant (issue 13, docs/calls.md "Calls within a tenant"):
 * two users of one manager (it dials its own listener; both legs, caller and
 * callee, under one call id in one store and one key table), and two
 * managers serving the same tenant (one organisation, two sites).
 */
#include "test_calls.h"

static char err[CALLS_ERR_MAX];

#define POOL0 "127.0.0.1:50000"   /* the caller leg: first pool address */
#define POOL1 "127.0.0.1:50001"   /* the callee leg: the next one */

/* alice -> carol, both users of side a: both legs active; id out. */
static void self_call(struct fixture *f, char id[CALLS_ID_LEN + 1])
{
	unsigned int a0 = f->a.n_ev;

	assert_int_equal(store_user_add(f->a.st, "carol", err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "carol@contoso", NULL, NULL, id, err,
				    sizeof(err)), 0);
	drive(f, &f->a.n_ev, a0 + 2, 3000, NULL);
	assert_int_equal(f->a.n_ev, a0 + 2);
	if (f->a.ev[a0 % 16].state != CALLS_ACTIVE || f->a.ev[(a0 + 1) % 16].state != CALLS_ACTIVE)
		fprintf(stderr, "legs: %s / %s\n", f->a.ev[a0 % 16].reason, f->a.ev[(a0 + 1) % 16].reason);
	assert_int_equal(f->a.ev[a0 % 16].state, CALLS_ACTIVE);
	assert_int_equal(f->a.ev[(a0 + 1) % 16].state, CALLS_ACTIVE);
}

/* Both legs on side a: the same call, keys crosswise, distinct media. */
static enum callproto_mode check_legs(struct fixture *f, const char *id)
{
	struct calls_info ic, ir, any;
	struct keytable_entry co, ci, ro, ri;
	struct store_call sc, sr;
	unsigned int n = 0, km;
	char g[24];

	assert_int_equal(calls_show_leg(f->a.cm, id, CALLPROTO_ROLE_INITIATOR, &ic), 0);
	assert_int_equal(calls_show_leg(f->a.cm, id, CALLPROTO_ROLE_RESPONDER, &ir), 0);
	assert_int_equal(calls_show(f->a.cm, id, &any), 0);
	assert_int_equal(any.role, CALLPROTO_ROLE_INITIATOR);   /* the caller's leg */
	assert_string_equal(ic.id, id);
	assert_string_equal(ir.id, id);
	assert_string_equal(ic.local_user, "alice");
	assert_string_equal(ic.peer, "carol@contoso");
	assert_string_equal(ir.local_user, "carol");
	assert_string_equal(ir.peer, "alice@contoso");
	assert_int_equal(ic.state, CALLS_ACTIVE);
	assert_int_equal(ir.state, CALLS_ACTIVE);
	assert_false(ic.detached || ir.detached);
	assert_int_equal(ic.mode, ir.mode);
	assert_string_equal(ic.reason, ir.reason);
	assert_string_equal(ic.security_code, ir.security_code);
	assert_int_equal(strlen(ic.security_code), ic.mode == CALLPROTO_MODE_E2EE ? 23 : 0);
	assert_string_equal(ic.profile, "AEAD_AES_256_GCM");
	assert_string_equal(ir.profile, ic.profile);
	assert_string_equal(ic.local_media, POOL0);
	assert_string_equal(ir.local_media, POOL1);
	assert_string_equal(ic.remote_media, POOL1);
	assert_string_equal(ir.remote_media, POOL0);
	assert_int_equal(calls_list(f->a.cm, count_fn, &n), 0);
	assert_int_equal(n, 2);

	/* four entries, each leg's own, crosswise: our out = their in */
	assert_int_equal(table_count(&f->a), 4);
	entry(&f->a, POOL0, KEYTABLE_DIR_OUT, &co, 0);
	entry(&f->a, POOL0, KEYTABLE_DIR_IN, &ci, 0);
	entry(&f->a, POOL1, KEYTABLE_DIR_OUT, &ro, 0);
	entry(&f->a, POOL1, KEYTABLE_DIR_IN, &ri, 0);
	assert_true(master_eq(&co.cur, &ri.cur));
	assert_true(master_eq(&ci.cur, &ro.cur));
	assert_false(master_eq(&co.cur, &ci.cur));
	km = ic.mode == CALLPROTO_MODE_E2EE ? KEYTABLE_MODE_E2EE : KEYTABLE_MODE_STANDARD;
	assert_int_equal(co.mode, km);
	assert_int_equal(ci.mode, km);
	assert_int_equal(ro.mode, km);
	assert_int_equal(ri.mode, km);
	assert_memory_equal(co.call_id, id, 16);
	assert_memory_equal(ri.call_id, id, 16);
	keytable_wipe(&co, sizeof(co));
	keytable_wipe(&ci, sizeof(ci));
	keytable_wipe(&ro, sizeof(ro));
	keytable_wipe(&ri, sizeof(ri));

	/* two store records, one per leg */
	assert_int_equal(store_call_get_leg(f->a.st, id, STORE_ROLE_INITIATOR, &sc, err,
					    sizeof(err)), 0);
	assert_int_equal(store_call_get_leg(f->a.st, id, STORE_ROLE_RESPONDER, &sr, err,
					    sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_ACTIVE);
	assert_int_equal(sr.state, STORE_CALL_ACTIVE);
	assert_string_equal(sc.local_user, "alice");
	assert_string_equal(sr.local_user, "carol");
	assert_string_equal(sc.security_code, sr.security_code);
	calls_code_groups(sc.security_code, g);
	assert_string_equal(g, ic.security_code);
	assert_int_equal(sc.mode, sr.mode);
	assert_string_equal(sc.local_media, POOL0);
	assert_string_equal(sr.local_media, POOL1);
	return ic.mode;
}

/* One leg of a call: its manager, role and media address. */
struct leg {
	struct side *s;
	enum callproto_role role;
	const char *media;
};

/* The rekey invariant (docs/calls.md "Rekey"): leg x rekeyed the call from
 * generation g - 1 (or 0) to g; y is the peer leg, in the same manager or at
 * another site. Drives until both legs show generation g and both OUT entries
 * hold new keys (x's OUT is replaced only on y's REKEY_ACK), then checks: each
 * OUT entry was replaced (no next key), each IN entry keeps the key it had and
 * holds the peer leg's new OUT key pending on auth (from-index 0, no
 * from-index decided by the control), and the two directions' keys differ. */
static void check_rekeyed(struct fixture *f, const char *id, uint32_t g,
			  const struct leg *x, const struct leg *y)
{
	struct keytable_entry xo0, xi0, yo0, yi0, xo, xi, yo, yi;
	struct calls_info ix, iy;
	bool done = false;

	entry(x->s, x->media, KEYTABLE_DIR_OUT, &xo0, 0);
	entry(x->s, x->media, KEYTABLE_DIR_IN, &xi0, 0);
	entry(y->s, y->media, KEYTABLE_DIR_OUT, &yo0, 0);
	entry(y->s, y->media, KEYTABLE_DIR_IN, &yi0, 0);
	assert_int_equal(calls_rekey(x->s->cm, id, 0, err, sizeof(err)), 0);
	for (int i = 0; i < 300 && !done; i++) {
		drive(f, NULL, 0, 10, NULL);
		assert_int_equal(calls_show_leg(x->s->cm, id, x->role, &ix), 0);
		assert_int_equal(calls_show_leg(y->s->cm, id, y->role, &iy), 0);
		entry(x->s, x->media, KEYTABLE_DIR_OUT, &xo, 0);
		entry(y->s, y->media, KEYTABLE_DIR_OUT, &yo, 0);
		done = chain_gen(&ix) == g && chain_gen(&iy) == g &&
		       !master_eq(&xo.cur, &xo0.cur) && !master_eq(&yo.cur, &yo0.cur);
		keytable_wipe(&xo, sizeof(xo));
		keytable_wipe(&yo, sizeof(yo));
	}
	if (!done)
		fail_msg("generation %u: legs at %u and %u, or an OUT entry not replaced", g,
			 chain_gen(&ix), chain_gen(&iy));
	entry(x->s, x->media, KEYTABLE_DIR_OUT, &xo, 0);
	entry(x->s, x->media, KEYTABLE_DIR_IN, &xi, 0);
	entry(y->s, y->media, KEYTABLE_DIR_OUT, &yo, 0);
	entry(y->s, y->media, KEYTABLE_DIR_IN, &yi, 0);
	/* senders: replaced, nothing pending */
	assert_int_equal(xo.flags, 0);
	assert_int_equal(yo.flags, 0);
	/* receivers: the old key kept, the peer's new one pending on auth */
	assert_int_equal(xi.flags, KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH);
	assert_int_equal(yi.flags, KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH);
	assert_int_equal(xi.next_from_index, 0);
	assert_int_equal(yi.next_from_index, 0);
	assert_true(master_eq(&xi.cur, &xi0.cur));
	assert_true(master_eq(&yi.cur, &yi0.cur));
	assert_true(master_eq(&yi.next, &xo.cur));     /* crosswise */
	assert_true(master_eq(&xi.next, &yo.cur));
	assert_false(master_eq(&xo.cur, &yo.cur));
	assert_memory_equal(xi.call_id, id, 16);
	assert_memory_equal(yi.call_id, id, 16);
	struct keytable_entry *all[] = { &xo0, &xi0, &yo0, &yi0, &xo, &xi, &yo, &yi };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		keytable_wipe(all[i], sizeof(*all[i]));
}

/* calls_end(id) ends both legs at once: entries and records. */
static void end_both(struct fixture *f, const char *id)
{
	struct store_call sc;
	unsigned int a0 = f->a.n_ev;

	assert_int_equal(calls_end(f->a.cm, id, err, sizeof(err)), 0);
	assert_int_equal(f->a.n_ev, a0 + 2);
	assert_int_equal(f->a.ev[a0 % 16].state, CALLS_ENDED);
	assert_int_equal(f->a.ev[(a0 + 1) % 16].state, CALLS_ENDED);
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(store_call_get_leg(f->a.st, id, STORE_ROLE_INITIATOR, &sc, err,
					    sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_ENDED);
	assert_int_equal(store_call_get_leg(f->a.st, id, STORE_ROLE_RESPONDER, &sc, err,
					    sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_ENDED);
	assert_int_equal(calls_show(f->a.cm, id, &(struct calls_info){ 0 }), -ENOENT);
	assert_int_equal(calls_end(f->a.cm, id, err, sizeof(err)), -ENOENT);
	drive(f, NULL, 0, 100, NULL);   /* nothing more arrives */
	assert_int_equal(f->a.n_ev, a0 + 2);
}

/* Two users of one manager, both allowed and on: e2ee, one code on both legs;
 * features refused; a rekey reaches both legs (check_rekeyed); end ends
 * both. */
void test_self_call_e2ee(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];

	set_e2ee(&f->a, "alice", true, true);
	assert_int_equal(store_user_add(f->a.st, "dave", err, sizeof(err)), 0);
	/* alice cannot call herself */
	assert_int_equal(calls_dial(f->a.cm, "alice", "alice@contoso", NULL, NULL, id, err,
				    sizeof(err)), -EINVAL);
	assert_int_equal(table_count(&f->a), 0);
	self_call(f, id);   /* carol: no policy yet, so... */
	assert_int_equal(check_legs(f, id), CALLPROTO_MODE_STANDARD);
	end_both(f, id);
	set_e2ee(&f->a, "carol", true, true);
	{
		unsigned int a0 = f->a.n_ev;

		assert_int_equal(calls_dial(f->a.cm, "alice", "carol@contoso", NULL, NULL, id, err,
					    sizeof(err)), 0);
		drive(f, &f->a.n_ev, a0 + 2, 3000, NULL);
	}
	assert_int_equal(check_legs(f, id), CALLPROTO_MODE_E2EE);
	assert_int_equal(calls_feature(f->a.cm, id, "record", NULL, 0, NULL, err, sizeof(err)),
			 -EPERM);
	assert_string_equal(err, CALLS_E2EE_REFUSAL);

	/* rekey through the caller leg's channel: the callee leg follows, like a
	 * remote peer; keys crosswise, the receivers' on auth */
	check_rekeyed(f, id, 2, &(struct leg){ &f->a, CALLPROTO_ROLE_INITIATOR, POOL0 },
		      &(struct leg){ &f->a, CALLPROTO_ROLE_RESPONDER, POOL1 });
	end_both(f, id);
}

/* Standard (carol's policy disabled): the same reason on both legs, no code,
 * features allowed, the recorder gets the keys; the store keeps both legs. */
void test_self_call_standard(void **state)
{
	struct fixture *f = *state;
	uint8_t sealed[CALLS_KEYS_SEALED_MAX];
	size_t n = 0;
	char id[CALLS_ID_LEN + 1];
	struct calls_info ic;

	set_e2ee(&f->a, "alice", true, true);
	self_call(f, id);
	assert_int_equal(check_legs(f, id), CALLPROTO_MODE_STANDARD);
	assert_int_equal(calls_show(f->a.cm, id, &ic), 0);
	assert_non_null(strstr(ic.reason, "carol@contoso"));
	assert_int_equal(calls_feature(f->a.cm, id, "record", NULL, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(calls_feature(f->a.cm, id, "keys", sealed, sizeof(sealed), &n, err,
				       sizeof(err)), 0);
	assert_int_equal(n, CALLS_KEYS_SEALED_V1);   /* GCM: v1 */
	end_both(f, id);
}

/* A restart with both legs up: both resume detached (each leg's own
 * entries), end ends both. */
void test_self_call_resume(void **state)
{
	struct fixture *f = *state;
	struct calls_resume_report rr;
	struct calls_info ic, ir;
	char id[CALLS_ID_LEN + 1];

	self_call(f, id);
	check_legs(f, id);
	calls_release(f->a.cm);
	f->a.cm = NULL;
	assert_int_equal(table_count(&f->a), 4);
	assert_int_equal(side_start(f, &f->a, false, 3000, 0), 0);
	assert_int_equal(calls_resume(f->a.cm, &rr, err, sizeof(err)), 0);
	assert_int_equal(rr.resumed, 2);
	assert_int_equal(rr.failed, 0);
	assert_int_equal(rr.removed, 0);
	assert_int_equal(table_count(&f->a), 4);
	assert_int_equal(calls_show_leg(f->a.cm, id, CALLPROTO_ROLE_INITIATOR, &ic), 0);
	assert_int_equal(calls_show_leg(f->a.cm, id, CALLPROTO_ROLE_RESPONDER, &ir), 0);
	assert_true(ic.detached && ir.detached);
	assert_string_equal(ic.local_media, POOL0);
	assert_string_equal(ir.local_media, POOL1);
	end_both(f, id);
}

/* Two managers of one tenant (two sites): alice@contoso at a, dave@contoso at
 * b, each in the other's peers directory; calls both ways, e2ee and
 * standard, checked like calls between tenants, and a rekey from the
 * callee's site. */
void test_two_sites(void **state)
{
	struct fixture *f = *state;
	struct calls_info ia, ib;
	char id[CALLS_ID_LEN + 1];
	unsigned int a0, b0;

	/* the fixture's bob: dave's site holds him; b's tenant is contoso too */
	call_ok(f, id);     /* alice -> bob@contoso, standard */
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_STANDARD);
	end_call(f, id);
	set_e2ee(&f->a, "alice", true, true);
	set_e2ee(&f->b, "bob", true, true);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_E2EE);
	/* the callee's site rekeys: the same invariant across two key tables */
	check_rekeyed(f, id, 2, &(struct leg){ &f->b, CALLPROTO_ROLE_RESPONDER, BOB_MEDIA },
		      &(struct leg){ &f->a, CALLPROTO_ROLE_INITIATOR, ALICE_MEDIA });
	end_call(f, id);

	/* the other way: the caller is of this tenant but not a user here */
	a0 = f->a.n_ev;
	b0 = f->b.n_ev;
	assert_int_equal(calls_dial(f->b.cm, "bob", "alice@contoso", NULL, NULL, id, err,
				    sizeof(err)), 0);
	drive(f, &f->b.n_ev, b0 + 1, 3000, NULL);
	drive(f, &f->a.n_ev, a0 + 1, 3000, NULL);
	assert_int_equal(calls_show(f->a.cm, id, &ia), 0);
	assert_int_equal(calls_show(f->b.cm, id, &ib), 0);
	assert_int_equal(ia.state, CALLS_ACTIVE);
	assert_int_equal(ib.state, CALLS_ACTIVE);
	assert_int_equal(ia.mode, CALLPROTO_MODE_E2EE);
	assert_string_equal(ia.security_code, ib.security_code);
	assert_int_equal(ia.role, CALLPROTO_ROLE_RESPONDER);
	assert_int_equal(calls_end(f->b.cm, id, err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, a0 + 2, 3000, NULL);
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(table_count(&f->b), 0);
}

/* Site b has a user of the same name as one of site a: calling a as
 * "carol@contoso" is refused by the identity check (carol is a user of a,
 * whose own key is the only one accepted), and a records nothing. */
void test_two_sites_impostor(void **state)
{
	struct fixture *f = *state;
	struct store_call sc;
	char id[CALLS_ID_LEN + 1];
	unsigned int b0 = f->b.n_ev;

	assert_int_equal(store_user_add(f->a.st, "carol", err, sizeof(err)), 0);
	assert_int_equal(store_user_add(f->b.st, "carol", err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->b.cm, "carol", "alice@contoso", NULL, NULL, id, err,
				    sizeof(err)), 0);
	drive(f, &f->b.n_ev, b0 + 1, 3000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_FAILED);
	drive(f, NULL, 0, 100, NULL);
	assert_non_null(strstr(last(&f->a)->reason, "does not match the key of that user"));
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(table_count(&f->b), 0);
	assert_int_equal(store_call_get(f->a.st, id, &sc, err, sizeof(err)), -ENOENT);
}
