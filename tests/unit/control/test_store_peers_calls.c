/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control/store/store.c: every operation and refusal on peers and calls.
 */
#include "test_store.h"

static char err[STORE_ERR_MAX];

/* ---- peers -------------------------------------------------------------------------- */

void test_peers(void **state)
{
	struct fixture *f = *state;
	uint8_t k1[STORE_PUBLIC_KEY_BYTES], k2[STORE_PUBLIC_KEY_BYTES], zero[32] = { 0 };
	struct store_peer p;
	struct names l = { 0 };

	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));

	assert_int_equal(store_peer_add(f->st, "bob@fabrikam", k1, "203.0.113.5:7000",
					true, err, sizeof(err)), 0);
	assert_int_equal(store_peer_add(f->st, "dave@fabrikam", NULL, "198.51.100.7:7000",
					false, err, sizeof(err)), 0);
	assert_int_equal(store_peer_add(f->st, "bob@fabrikam", k2, "203.0.113.6:1", false, err,
					sizeof(err)), -EEXIST);
	/* refusals */
	assert_int_equal(store_peer_add(f->st, "bob", k1, "192.0.2.1:1", false, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(store_peer_add(f->st, "b b@fabrikam", k1, "192.0.2.1:1", false, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_add(f->st, "eve@fabrikam", k1, "h", false, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_add(f->st, "eve@fabrikam", k1, NULL, false, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_add(f->st, "eve@fabrikam", zero, "192.0.2.1:1", false, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_add(f->st, "eve@fabrikam", NULL, "192.0.2.1:1", true, err,
					sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "only a known key can be pinned"));

	assert_int_equal(store_peer_show(f->st, "bob@fabrikam", &p, err, sizeof(err)), 0);
	assert_true(p.has_key);
	assert_true(p.pinned);
	assert_memory_equal(p.public_key, k1, sizeof(k1));
	assert_string_equal(p.address, "203.0.113.5:7000");
	assert_int_equal(store_peer_show(f->st, "dave@fabrikam", &p, err, sizeof(err)), 0);
	assert_false(p.has_key);
	assert_false(p.pinned);
	assert_int_equal(store_peer_show(f->st, "eve@fabrikam", &p, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_peer_show(f->st, "eve", &p, err, sizeof(err)), -EINVAL);

	/* trust on first use */
	assert_int_equal(store_peer_learn_key(f->st, "dave@fabrikam", k2, err, sizeof(err)), 0);
	assert_int_equal(store_peer_show(f->st, "dave@fabrikam", &p, err, sizeof(err)), 0);
	assert_true(p.has_key);
	assert_false(p.pinned);
	assert_memory_equal(p.public_key, k2, sizeof(k2));
	assert_int_equal(store_peer_learn_key(f->st, "dave@fabrikam", k2, err, sizeof(err)), 0);
	/* a different key afterwards: refused, pinned or not */
	assert_int_equal(store_peer_learn_key(f->st, "dave@fabrikam", k1, err, sizeof(err)),
			 -EKEYREJECTED);
	assert_non_null(strstr(err, "man in the middle"));
	assert_int_equal(store_peer_learn_key(f->st, "bob@fabrikam", k2, err, sizeof(err)),
			 -EKEYREJECTED);
	assert_non_null(strstr(err, "pinned"));
	assert_int_equal(store_peer_learn_key(f->st, "bob@fabrikam", k1, err, sizeof(err)), 0);
	assert_int_equal(store_peer_learn_key(f->st, "eve@fabrikam", k1, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(store_peer_learn_key(f->st, "dave@fabrikam", zero, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(store_peer_learn_key(f->st, "dave@fabrikam", NULL, err, sizeof(err)),
			 -EINVAL);

	/* administrator update: key, address, pin */
	assert_int_equal(store_peer_set(f->st, "dave@fabrikam", k1, NULL, true, err,
					sizeof(err)), 0);
	assert_int_equal(store_peer_show(f->st, "dave@fabrikam", &p, err, sizeof(err)), 0);
	assert_memory_equal(p.public_key, k1, sizeof(k1));
	assert_true(p.pinned);
	assert_string_equal(p.address, "198.51.100.7:7000");
	assert_int_equal(store_peer_set(f->st, "dave@fabrikam", NULL, "[2001:db8::7]:7001",
					false, err, sizeof(err)), 0);
	assert_int_equal(store_peer_show(f->st, "dave@fabrikam", &p, err, sizeof(err)), 0);
	assert_memory_equal(p.public_key, k1, sizeof(k1));
	assert_false(p.pinned);
	assert_string_equal(p.address, "[2001:db8::7]:7001");
	assert_int_equal(store_peer_set(f->st, "eve@fabrikam", NULL, NULL, false, err,
					sizeof(err)), -ENOENT);
	assert_int_equal(store_peer_set(f->st, "dave@fabrikam", NULL, "bad", false, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_add(f->st, "erin@northwind", NULL, "203.0.113.9:9", false,
					err, sizeof(err)), 0);
	assert_int_equal(store_peer_set(f->st, "erin@northwind", NULL, NULL, true, err,
					sizeof(err)), -EINVAL);

	assert_int_equal(store_peer_list(f->st, collect_peer, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "bob@fabrikam:203.0.113.5:7000:1:1,"
			    "dave@fabrikam:[2001:db8::7]:7001:1:0,erin@northwind:203.0.113.9:9:0:0");

	assert_int_equal(store_peer_del(f->st, "erin@northwind", err, sizeof(err)), 0);
	assert_int_equal(store_peer_del(f->st, "erin@northwind", err, sizeof(err)), -ENOENT);
	assert_int_equal(store_peer_del(f->st, "erin", err, sizeof(err)), -EINVAL);
}

/* ---- calls ---------------------------------------------------------------------------- */

void test_calls(void **state)
{
	struct fixture *f = *state;
	struct store_call c, g;
	struct names l = { 0 };

	add_user(f, "alice");
	make_call(&c, "call-1", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EEXIST);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), 0);
	assert_string_equal(g.local_user, "alice");
	assert_string_equal(g.remote, "bob@fabrikam");
	assert_int_equal(g.role, STORE_ROLE_INITIATOR);
	assert_int_equal(g.mode, STORE_MODE_PENDING);
	assert_int_equal(g.state, STORE_CALL_SETUP);
	assert_string_equal(g.local_media, "192.0.2.1:40000");
	assert_string_equal(g.remote_media, "");
	assert_true(g.created > 0);
	assert_int_equal(g.ended, 0);

	/* refusals on add */
	make_call(&c, "call-2", "nobody");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -ENOENT);
	make_call(&c, "x", "alice");
	memset(c.id, 'x', sizeof(c.id));   /* 17 characters, no room for a NUL */
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_call_get(f->st, "this-id-is-too-long", &g, err, sizeof(err)),
			 -EINVAL);
	make_call(&c, "call 2", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	snprintf(c.remote, sizeof(c.remote), "bob");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	c.role = (enum store_call_role)9;
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	c.mode = (enum store_call_mode)9;
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	c.state = STORE_CALL_ENDED;
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	snprintf(c.security_code, sizeof(c.security_code), "1234567890123456789");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	snprintf(c.security_code, sizeof(c.security_code), "1234567890123456789x");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	c.mode = STORE_MODE_E2EE;     /* without its security code */
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	c.state = STORE_CALL_ACTIVE;  /* without mode and profile */
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	snprintf(c.remote_media, sizeof(c.remote_media), "nowhere");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "(remote media)"));
	make_call(&c, "call-2", "alice");
	snprintf(c.profile, sizeof(c.profile), "AES GCM");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	snprintf(c.reason, sizeof(c.reason), "line\nbreak");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);

	/* the handshake done: active, e2ee */
	make_call(&c, "call-1", "alice");
	c.mode = STORE_MODE_E2EE;
	c.state = STORE_CALL_ACTIVE;
	snprintf(c.profile, sizeof(c.profile), "AEAD_AES_256_GCM");
	snprintf(c.security_code, sizeof(c.security_code), "01234567890123456789");
	snprintf(c.reason, sizeof(c.reason), "both parties have turned on end-to-end encryption");
	snprintf(c.remote_media, sizeof(c.remote_media), "[2001:db8::2]:50000");
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), 0);
	assert_int_equal(g.mode, STORE_MODE_E2EE);
	assert_int_equal(g.state, STORE_CALL_ACTIVE);
	assert_string_equal(g.security_code, "01234567890123456789");
	assert_string_equal(g.profile, "AEAD_AES_256_GCM");
	assert_string_equal(g.remote_media, "[2001:db8::2]:50000");
	assert_int_equal(g.ended, 0);
	/* no going back to setup */
	c.state = STORE_CALL_SETUP;
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), -EINVAL);
	c.state = STORE_CALL_ACTIVE;
	snprintf(c.id, sizeof(c.id), "nocall");
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), -ENOENT);

	/* a second, standard call; the user cannot be deleted while they are live */
	make_call(&c, "call-2", "alice");
	c.role = STORE_ROLE_RESPONDER;
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_list(f->st, true, collect_call, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "call-1:active,call-2:setup");
	assert_int_equal(store_user_del(f->st, "alice", err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "2 call(s) in progress"));
	assert_int_equal(store_call_del(f->st, "call-1", err, sizeof(err)), -EBUSY);

	/* end */
	assert_int_equal(store_call_end(f->st, "call-1", STORE_CALL_ENDED, "hung up", err,
					sizeof(err)), 0);
	assert_int_equal(store_call_end(f->st, "call-1", STORE_CALL_ENDED, NULL, err,
					sizeof(err)), -EALREADY);
	assert_int_equal(store_call_end(f->st, "call-2", STORE_CALL_ACTIVE, NULL, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_call_end(f->st, "nocall", STORE_CALL_FAILED, NULL, err,
					sizeof(err)), -ENOENT);
	c.state = STORE_CALL_FAILED;
	snprintf(c.reason, sizeof(c.reason), "handshake failed");
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), -EALREADY);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), 0);
	assert_int_equal(g.state, STORE_CALL_ENDED);
	/* the end's reason apart; the mode's reason stays (schema version 4) */
	assert_string_equal(g.end_reason, "hung up");
	assert_string_equal(g.reason, "both parties have turned on end-to-end encryption");
	assert_int_equal(g.ended_by, STORE_ENDER_NONE);
	assert_true(g.active_ms > 0 && g.ended_ms >= g.active_ms);
	assert_true(g.ended >= g.created);
	assert_string_equal(g.security_code, "01234567890123456789");  /* kept */
	assert_int_equal(store_call_get(f->st, "call-2", &g, err, sizeof(err)), 0);
	assert_int_equal(g.state, STORE_CALL_FAILED);
	assert_int_equal(g.role, STORE_ROLE_RESPONDER);
	assert_string_equal(g.reason, "handshake failed");

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_call_list(f->st, true, collect_call, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "");
	assert_int_equal(store_call_list(f->st, false, collect_call, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "call-1:ended,call-2:failed");

	/* the user can go now; the history stays */
	assert_int_equal(store_user_del(f->st, "alice", err, sizeof(err)), 0);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), 0);
	assert_int_equal(store_call_del(f->st, "call-1", err, sizeof(err)), 0);
	assert_int_equal(store_call_del(f->st, "call-1", err, sizeof(err)), -ENOENT);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_call_get(f->st, "", &g, err, sizeof(err)), -EINVAL);
}

/* Issue 13: a call between two users of one daemon has both legs, (id,
 * initiator) and (id, responder), in one store. */
void test_call_legs(void **state)
{
	struct fixture *f = *state;
	struct store_call c, g;
	struct names l = { 0 };

	add_user(f, "alice");
	add_user(f, "carol");
	make_call(&c, "0123456789abcdef", "alice");
	snprintf(c.remote, sizeof(c.remote), "carol@%s", store_tenant(f->st));
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	make_call(&c, "0123456789abcdef", "carol");
	snprintf(c.remote, sizeof(c.remote), "alice@%s", store_tenant(f->st));
	c.role = STORE_ROLE_RESPONDER;
	snprintf(c.local_media, sizeof(c.local_media), "192.0.2.1:40002");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "responder leg"));

	/* each leg on its own; the id alone reads the caller's */
	assert_int_equal(store_call_get_leg(f->st, "0123456789abcdef", STORE_ROLE_RESPONDER, &g,
					    err, sizeof(err)), 0);
	assert_string_equal(g.local_user, "carol");
	assert_string_equal(g.local_media, "192.0.2.1:40002");
	assert_int_equal(store_call_get_leg(f->st, "0123456789abcdef", STORE_ROLE_INITIATOR, &g,
					    err, sizeof(err)), 0);
	assert_string_equal(g.local_user, "alice");
	assert_int_equal(store_call_get(f->st, "0123456789abcdef", &g, err, sizeof(err)), 0);
	assert_int_equal(g.role, STORE_ROLE_INITIATOR);

	/* update touches its leg only */
	c.mode = STORE_MODE_STANDARD;
	c.state = STORE_CALL_ACTIVE;
	snprintf(c.profile, sizeof(c.profile), "AEAD_AES_256_GCM");
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_get_leg(f->st, "0123456789abcdef", STORE_ROLE_INITIATOR, &g,
					    err, sizeof(err)), 0);
	assert_int_equal(g.state, STORE_CALL_SETUP);
	assert_int_equal(store_call_list(f->st, true, collect_call, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "0123456789abcdef:setup,0123456789abcdef:active");

	/* end one leg, then the rest; del needs both final */
	assert_int_equal(store_call_end_leg(f->st, "0123456789abcdef", STORE_ROLE_INITIATOR,
					    STORE_CALL_FAILED, "x", err, sizeof(err)), 0);
	assert_int_equal(store_call_end_leg(f->st, "0123456789abcdef", STORE_ROLE_INITIATOR,
					    STORE_CALL_ENDED, "x", err, sizeof(err)), -EALREADY);
	assert_int_equal(store_call_del(f->st, "0123456789abcdef", err, sizeof(err)), -EBUSY);
	assert_int_equal(store_call_end(f->st, "0123456789abcdef", STORE_CALL_ENDED, "bye", err,
					sizeof(err)), 0);
	assert_int_equal(store_call_get_leg(f->st, "0123456789abcdef", STORE_ROLE_RESPONDER, &g,
					    err, sizeof(err)), 0);
	assert_int_equal(g.state, STORE_CALL_ENDED);
	assert_int_equal(store_call_get_leg(f->st, "0123456789abcdef", STORE_ROLE_INITIATOR, &g,
					    err, sizeof(err)), 0);
	assert_int_equal(g.state, STORE_CALL_FAILED);
	assert_int_equal(store_call_end(f->st, "0123456789abcdef", STORE_CALL_ENDED, "bye", err,
					sizeof(err)), -EALREADY);
	assert_int_equal(store_call_del(f->st, "0123456789abcdef", err, sizeof(err)), 0);
	assert_int_equal(store_call_get_leg(f->st, "0123456789abcdef", STORE_ROLE_RESPONDER, &g,
					    err, sizeof(err)), -ENOENT);
}

/* Issue 15: an ended leg keeps who ended it, why, when, and the dataplane's
 * final counters; the list of ended legs is newest first; the prune forgets
 * at most its batch, the oldest first, never a live leg. */
void test_call_history(void **state)
{
	struct fixture *f = *state;
	struct store_call c, g;
	struct store_call_final fin;
	struct names l = { 0 };
	int64_t next = -1;

	add_user(f, "alice");
	/* call-1: active, ended by the peer, with counters (in never counted) */
	make_call(&c, "call-1", "alice");
	c.mode = STORE_MODE_STANDARD;
	c.state = STORE_CALL_ACTIVE;
	snprintf(c.profile, sizeof(c.profile), "AEAD_AES_256_GCM");
	snprintf(c.reason, sizeof(c.reason), "alice has not turned on end-to-end encryption");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	memset(&fin, 0, sizeof(fin));
	fin.ended_by = STORE_ENDER_PEER;
	fin.media = STORE_MEDIA_READ;
	fin.out = (struct store_call_dir){ .seen = true, .packets = 400, .bytes = 64000,
					   .index_reuse = 3, .key_exhausted = 0, .other_drops = 1 };
	fin.ended_by = (enum store_call_ender)9;
	assert_int_equal(store_call_finish_leg(f->st, "call-1", STORE_ROLE_INITIATOR,
					       STORE_CALL_ENDED, "x", &fin, err, sizeof(err)),
			 -EINVAL);
	fin.ended_by = STORE_ENDER_PEER;
	assert_int_equal(store_call_finish_leg(f->st, "call-1", STORE_ROLE_INITIATOR,
					       STORE_CALL_ENDED, "ended by the peer: hung up",
					       &fin, err, sizeof(err)), 0);
	assert_int_equal(store_call_finish_leg(f->st, "call-1", STORE_ROLE_INITIATOR,
					       STORE_CALL_ENDED, "again", &fin, err, sizeof(err)),
			 -EALREADY);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), 0);
	assert_int_equal(g.state, STORE_CALL_ENDED);
	assert_string_equal(g.end_reason, "ended by the peer: hung up");
	assert_string_equal(g.reason, "alice has not turned on end-to-end encryption");
	assert_int_equal(g.ended_by, STORE_ENDER_PEER);
	assert_int_equal(g.media, STORE_MEDIA_READ);
	assert_true(g.out.seen);
	assert_int_equal(g.out.packets, 400);
	assert_int_equal(g.out.bytes, 64000);
	assert_int_equal(g.out.index_reuse, 3);
	assert_int_equal(g.out.other_drops, 1);
	assert_false(g.in.seen);
	assert_int_equal(g.in.packets, 0);
	assert_true(g.active_ms > 0 && g.ended_ms >= g.active_ms);

	/* call-2: failed in its set-up, no dataplane statistics */
	make_call(&c, "call-2", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	fin.ended_by = STORE_ENDER_DAEMON;
	fin.media = STORE_MEDIA_NONE;
	assert_int_equal(store_call_finish_leg(f->st, "call-2", 0, STORE_CALL_FAILED,
					       "timed out after 5000 ms", &fin, err, sizeof(err)), 0);
	assert_int_equal(store_call_get(f->st, "call-2", &g, err, sizeof(err)), 0);
	assert_int_equal(g.state, STORE_CALL_FAILED);
	assert_int_equal(g.ended_by, STORE_ENDER_DAEMON);
	assert_int_equal(g.media, STORE_MEDIA_NONE);
	assert_false(g.out.seen);
	assert_int_equal(g.active_ms, 0);

	/* call-3: live */
	make_call(&c, "call-3", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);

	/* newest end first; the live one is not history */
	assert_int_equal(store_call_list_final(f->st, 10, collect_call, &l, err, sizeof(err)), 0);
	assert_true(strcmp(l.buf, "call-2:failed,call-1:ended") == 0 ||
		    strcmp(l.buf, "call-1:ended,call-2:failed") == 0);  /* same ms */
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_call_list_final(f->st, 1, collect_call, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);

	/* prune: nothing ended before the start of time; then one at a time */
	assert_int_equal(store_call_prune(f->st, 1, 1, &next, err, sizeof(err)), 0);
	assert_true(next > 0);
	assert_int_equal(store_call_prune(f->st, INT64_MAX, 1, &next, err, sizeof(err)), 1);
	assert_true(next > 0);                         /* one final leg left */
	assert_int_equal(store_call_prune(f->st, INT64_MAX, 64, &next, err, sizeof(err)), 1);
	assert_int_equal(next, 0);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_call_get(f->st, "call-2", &g, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_call_get(f->st, "call-3", &g, err, sizeof(err)), 0);
	assert_int_equal(store_call_prune(f->st, INT64_MAX, 64, &next, err, sizeof(err)), 0);
}
