/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/calls/calls.c (the call manager, docs/calls.md): two
 * managers, "contoso" (alice) and "fabrikam" (bob), each with its own key
 * table and store, over 127.0.0.1 TCP, driven by a poll loop here. Keys
 * crosswise in the tables, mode and reason from the stores' policies,
 * pinned / TOFU identities, timeouts, garbage, bounded attempts, a relay that
 * modifies one byte, end, rekey, feature checks and the recorder's keys.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "calls.h"

#define ALICE_MEDIA "127.0.0.1:40000"
#define POOL        "127.0.0.1:50000-50009"
#define BOB_MEDIA   "127.0.0.1:50000"   /* the first pool address */

struct side {
	const char *tenant;
	char root[64], dir[96], table_name[64];
	struct store *st;
	struct keytable *kt;
	struct calls *cm;
	struct calls_info ev[16];   /* the last 16 events (a ring) */
	unsigned int n_ev;          /* events in all */
};

struct fixture {
	struct side a, b;   /* contoso (alice), fabrikam (bob) */
	uint8_t rec_pk[crypto_box_PUBLICKEYBYTES], rec_sk[crypto_box_SECRETKEYBYTES];
	int raw[8];         /* test-owned sockets */
	unsigned int n_raw;
};

static char err[CALLS_ERR_MAX];
static unsigned int seq;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void on_event(void *ctx, const struct calls_info *info)
{
	struct side *s = ctx;

	s->ev[s->n_ev++ % (sizeof(s->ev) / sizeof(s->ev[0]))] = *info;
}

static int side_open(struct side *s, const char *tenant)
{
	char e[STORE_ERR_MAX];

	s->tenant = tenant;
	snprintf(s->root, sizeof(s->root), "/tmp/callseal-calls-XXXXXX");
	if (!mkdtemp(s->root))
		return -1;
	snprintf(s->dir, sizeof(s->dir), "%s/state", s->root);
	if (store_open(s->dir, tenant, STORE_OPEN_CREATE, &s->st, e, sizeof(e)) != 0) {
		fprintf(stderr, "store_open: %s\n", e);
		return -1;
	}
	snprintf(s->table_name, sizeof(s->table_name), "test-calls-%d-%u-%s", (int)getpid(),
		 seq++, tenant);
	if (keytable_create(&s->kt, s->table_name, 64, e, sizeof(e)) != 0) {
		fprintf(stderr, "keytable_create: %s\n", e);
		return -1;
	}
	return 0;
}

static int side_start(struct fixture *f, struct side *s, bool tofu, unsigned int timeout_ms,
		      unsigned int max_attempts)
{
	struct calls_config cfg = {
		.table = s->kt, .store = s->st, .tenant = s->tenant, .listen = "127.0.0.1:0",
		.timeout_ms = timeout_ms, .media_pool = POOL, .tofu = tofu,
		.max_attempts = max_attempts, .recorder_public_key = f->rec_pk,
		.event = on_event, .event_ctx = s,
	};

	if (calls_create(&s->cm, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "calls_create: %s\n", err);
		return -1;
	}
	return 0;
}

static void side_close(struct side *s)
{
	calls_destroy(s->cm);
	s->cm = NULL;
	if (s->kt) {
		keytable_detach(s->kt);
		keytable_unlink(s->table_name, NULL, 0);
	}
	if (s->st)
		store_close(s->st);
	nftw(s->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void user_pub(struct side *s, const char *user, uint8_t pk[32])
{
	struct store_user u;

	assert_int_equal(store_user_show(s->st, user, &u, err, sizeof(err)), 0);
	memcpy(pk, u.public_key, 32);
}

static void set_e2ee(struct side *s, const char *user, bool allowed, bool on)
{
	struct store_policy p;

	if (store_policy_show(s->st, "allow", &p, err, sizeof(err)) != 0)
		assert_int_equal(store_policy_add(s->st, "allow", POLICY_E2EE_USERS_CAN_TURN_ON,
						  err, sizeof(err)), 0);
	if (allowed)
		assert_int_equal(store_assign(s->st, STORE_TARGET_USER, user, "allow",
					      err, sizeof(err)), 0);
	assert_int_equal(store_user_set_e2ee(s->st, user, on, err, sizeof(err)), 0);
}

static char peer_addr[64];

static const char *addr_of(uint16_t port)
{
	snprintf(peer_addr, sizeof(peer_addr), "127.0.0.1:%u", port);
	return peer_addr;
}

/* Standard set-up: alice@contoso and bob@fabrikam know each other, pinned. */
static int setup_common(void **state, bool tofu, unsigned int timeout_ms, unsigned int max)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t pa[32], pb[32];

	if (!f || sodium_init() < 0)
		return -1;
	crypto_box_keypair(f->rec_pk, f->rec_sk);
	if (side_open(&f->a, "contoso") || side_open(&f->b, "fabrikam") ||
	    side_start(f, &f->a, tofu, timeout_ms, max) ||
	    side_start(f, &f->b, tofu, timeout_ms, max))
		return -1;
	if (store_user_add(f->a.st, "alice", err, sizeof(err)) ||
	    store_user_add(f->b.st, "bob", err, sizeof(err)))
		return -1;
	user_pub(&f->a, "alice", pa);
	user_pub(&f->b, "bob", pb);
	if (store_peer_add(f->a.st, "bob@fabrikam", pb, addr_of(calls_listen_port(f->b.cm)),
			   true, err, sizeof(err)) ||
	    store_peer_add(f->b.st, "alice@contoso", pa, addr_of(calls_listen_port(f->a.cm)),
			   true, err, sizeof(err)))
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_common(state, false, 3000, 0);
}

static int setup_tofu(void **state)
{
	return setup_common(state, true, 3000, 0);
}

static int setup_short(void **state)
{
	return setup_common(state, false, 300, 2);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	side_close(&f->a);
	side_close(&f->b);
	for (unsigned int i = 0; i < f->n_raw; i++)
		if (f->raw[i] >= 0)
			close(f->raw[i]);
	free(f);
	return 0;
}

/* ---- driving ---------------------------------------------------------------------- */

typedef void (*step_fn)(struct fixture *f);

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run both managers until *count reaches want or ms pass. */
static void drive(struct fixture *f, const unsigned int *count, unsigned int want,
		  unsigned int ms, step_fn step)
{
	uint64_t end = ms_now() + ms;
	struct pollfd fds[64];

	while (ms_now() < end && (!count || *count < want)) {
		int na = calls_pollfds(f->a.cm, fds, 32);
		int nb = calls_pollfds(f->b.cm, fds + na, 32);

		assert_true(na >= 0 && nb >= 0);
		poll(fds, (nfds_t)(na + nb), 5);
		calls_handle(f->a.cm, fds, (size_t)na);
		calls_handle(f->b.cm, fds + na, (size_t)nb);
		if (step)
			step(f);
	}
}

static const struct calls_info *last(const struct side *s)
{
	return s->n_ev ? &s->ev[(s->n_ev - 1) % (sizeof(s->ev) / sizeof(s->ev[0]))] : NULL;
}

static void entry(struct side *s, const char *addr, unsigned int dir, struct keytable_entry *e,
		  int want_rc)
{
	struct keytable_key k;
	uint8_t ip[4];
	char host[32];
	unsigned int port;

	assert_int_equal(sscanf(addr, "%31[0-9.]:%u", host, &port), 2);
	assert_int_equal(inet_pton(AF_INET, host, ip), 1);
	keytable_key_ipv4(&k, ip, (uint16_t)port, dir);
	assert_int_equal(keytable_get(s->kt, &k, e, NULL), want_rc);
}

static uint32_t table_count(struct side *s)
{
	struct keytable_info i;

	keytable_info(s->kt, &i);
	return i.count;
}

static bool master_eq(const struct keytable_master *x, const struct keytable_master *y)
{
	return x->profile == y->profile && x->key_len == y->key_len &&
	       memcmp(x->key, y->key, sizeof(x->key)) == 0 &&
	       memcmp(x->salt, y->salt, sizeof(x->salt)) == 0;
}

/* A call alice -> bob, both active; id out. */
static void call_ok(struct fixture *f, char id[CALLS_ID_LEN + 1])
{
	unsigned int a0 = f->a.n_ev, b0 = f->b.n_ev;

	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, BOB_MEDIA,
				    id, err, sizeof(err)), 0);
	drive(f, &f->b.n_ev, b0 + 1, 3000, NULL);
	drive(f, &f->a.n_ev, a0 + 1, 3000, NULL);
	assert_int_equal(f->a.n_ev, a0 + 1);
	assert_int_equal(f->b.n_ev, b0 + 1);
	if (last(&f->a)->state != CALLS_ACTIVE)
		fprintf(stderr, "caller: %s\ncallee: %s\n", last(&f->a)->reason, last(&f->b)->reason);
	assert_int_equal(last(&f->a)->state, CALLS_ACTIVE);
	assert_int_equal(last(&f->b)->state, CALLS_ACTIVE);
}

/* Keys crosswise, same id, mode and code; returns the mode. */
static enum callproto_mode check_call(struct fixture *f, const char *id)
{
	struct calls_info ia, ib;
	struct keytable_entry ao, ai, bo, bi;
	struct store_call ca, cb;

	assert_int_equal(calls_show(f->a.cm, id, &ia), 0);
	assert_int_equal(calls_show(f->b.cm, id, &ib), 0);
	assert_string_equal(ia.id, ib.id);
	assert_int_equal(ia.mode, ib.mode);
	assert_string_equal(ia.reason, ib.reason);
	assert_string_equal(ia.security_code, ib.security_code);
	/* 20 digits in groups of five for e2ee; none for a standard call */
	assert_int_equal(strlen(ia.security_code), ia.mode == CALLPROTO_MODE_E2EE ? 23 : 0);
	assert_string_equal(ia.profile, "AEAD_AES_256_GCM");
	assert_string_equal(ia.local_media, ALICE_MEDIA);
	assert_string_equal(ia.remote_media, BOB_MEDIA);
	assert_string_equal(ib.local_media, BOB_MEDIA);
	assert_string_equal(ib.remote_media, ALICE_MEDIA);
	assert_int_equal(ia.state, CALLS_ACTIVE);

	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao, 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ai, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi, 0);
	assert_true(master_eq(&ao.cur, &bi.cur));
	assert_true(master_eq(&ai.cur, &bo.cur));
	assert_false(master_eq(&ao.cur, &ai.cur));
	assert_int_equal(ao.cur.key_len, 32);
	assert_memory_equal(ao.call_id, id, 16);
	assert_memory_equal(bi.call_id, id, 16);
	unsigned int km = ia.mode == CALLPROTO_MODE_E2EE ? KEYTABLE_MODE_E2EE
							  : KEYTABLE_MODE_STANDARD;
	assert_int_equal(ao.mode, km);
	assert_int_equal(ai.mode, km);
	assert_int_equal(bo.mode, km);
	assert_int_equal(bi.mode, km);

	assert_int_equal(store_call_get(f->a.st, id, &ca, err, sizeof(err)), 0);
	assert_int_equal(store_call_get(f->b.st, id, &cb, err, sizeof(err)), 0);
	assert_int_equal(ca.state, STORE_CALL_ACTIVE);
	assert_int_equal(cb.state, STORE_CALL_ACTIVE);
	assert_string_equal(ca.security_code, cb.security_code);
	char g[24];

	calls_code_groups(ca.security_code, g);
	assert_string_equal(g, ia.security_code);
	assert_int_equal(ca.role, STORE_ROLE_INITIATOR);
	assert_int_equal(cb.role, STORE_ROLE_RESPONDER);
	assert_string_equal(ca.profile, "AEAD_AES_256_GCM");
	assert_string_equal(ca.local_media, ALICE_MEDIA);
	assert_string_equal(cb.local_media, BOB_MEDIA);
	assert_int_equal(ca.mode, ia.mode == CALLPROTO_MODE_E2EE ? STORE_MODE_E2EE
								 : STORE_MODE_STANDARD);
	keytable_wipe(&ao, sizeof(ao));
	keytable_wipe(&ai, sizeof(ai));
	keytable_wipe(&bo, sizeof(bo));
	keytable_wipe(&bi, sizeof(bi));
	return ia.mode;
}

static void check_failed_clean(struct fixture *f)
{
	assert_non_null(last(&f->a));
	assert_int_equal(last(&f->a)->state, CALLS_FAILED);
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(table_count(&f->b), 0);
}

static void end_call(struct fixture *f, const char *id)
{
	struct keytable_entry e;
	struct store_call c;
	unsigned int b0 = f->b.n_ev;

	assert_int_equal(calls_end(f->a.cm, id, err, sizeof(err)), 0);
	drive(f, &f->b.n_ev, b0 + 1, 3000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_ENDED);
	assert_non_null(strstr(last(&f->b)->reason, "ended by the peer"));
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &e, -ENOENT);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &e, -ENOENT);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &e, -ENOENT);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &e, -ENOENT);
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(table_count(&f->b), 0);
	assert_int_equal(store_call_get(f->a.st, id, &c, err, sizeof(err)), 0);
	assert_int_equal(c.state, STORE_CALL_ENDED);
	assert_int_equal(store_call_get(f->b.st, id, &c, err, sizeof(err)), 0);
	assert_int_equal(c.state, STORE_CALL_ENDED);
	assert_int_equal(calls_show(f->a.cm, id, &(struct calls_info){0}), -ENOENT);
	assert_int_equal(calls_show(f->b.cm, id, &(struct calls_info){0}), -ENOENT);
}

/* ---- tests -------------------------------------------------------------------------- */

static const char *const media_features[] = {
	"record", "transcribe", "transfer", "park", "merge", "add-participant", "keys",
};

static void test_e2ee_call(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	uint8_t sealed[CALLS_KEYS_SEALED];
	size_t n = 0;

	set_e2ee(&f->a, "alice", true, true);
	set_e2ee(&f->b, "bob", true, true);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_E2EE);
	assert_string_equal(last(&f->a)->reason, "end-to-end encrypted");
	for (size_t i = 0; i < sizeof(media_features) / sizeof(media_features[0]); i++) {
		err[0] = '\0';
		assert_int_equal(calls_feature(f->a.cm, id, media_features[i], sealed,
					       sizeof(sealed), &n, err, sizeof(err)), -EPERM);
		assert_string_equal(err, "not available while the call is end-to-end encrypted");
		assert_int_equal(calls_feature(f->b.cm, id, media_features[i], sealed,
					       sizeof(sealed), &n, err, sizeof(err)), -EPERM);
		assert_string_equal(err, CALLS_E2EE_REFUSAL);
	}
	assert_int_equal(calls_feature(f->a.cm, id, "fly", NULL, 0, NULL, err, sizeof(err)),
			 -EINVAL);
	end_call(f, id);
}

static void test_standard_modes(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];

	/* bob has no policy at all */
	set_e2ee(&f->a, "alice", true, true);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_STANDARD);
	assert_string_equal(last(&f->a)->reason, "bob@fabrikam's policy does not allow "
			    "end-to-end encryption (no policy assigned)");
	end_call(f, id);
	/* bob allowed but not turned on */
	set_e2ee(&f->b, "bob", true, false);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_STANDARD);
	assert_string_equal(last(&f->b)->reason,
			    "bob@fabrikam has not turned on end-to-end encryption");
	end_call(f, id);
	/* both on: e2ee; alice off: standard naming alice */
	set_e2ee(&f->b, "bob", true, true);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_E2EE);
	end_call(f, id);
	set_e2ee(&f->a, "alice", true, false);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_STANDARD);
	assert_string_equal(last(&f->a)->reason,
			    "alice@contoso has not turned on end-to-end encryption");
	end_call(f, id);
}

static void test_standard_features(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	uint8_t sealed[CALLS_KEYS_SEALED], plain[CALLS_KEYS_PLAIN];
	struct keytable_entry out, in;
	size_t n = 0;

	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_STANDARD);
	for (size_t i = 0; i + 1 < sizeof(media_features) / sizeof(media_features[0]); i++)
		assert_int_equal(calls_feature(f->a.cm, id, media_features[i], NULL, 0, NULL,
					       err, sizeof(err)), 0);
	assert_int_equal(calls_feature(f->b.cm, id, "keys", sealed, sizeof(sealed), &n,
				       err, sizeof(err)), 0);
	assert_int_equal(n, CALLS_KEYS_SEALED);
	assert_int_equal(crypto_box_seal_open(plain, sealed, n, f->rec_pk, f->rec_sk), 0);
	assert_memory_equal(plain, id, 16);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &out, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &in, 0);
	assert_int_equal(plain[16], KEYTABLE_DIR_OUT);
	assert_int_equal(plain[16 + 4], 32);
	assert_memory_equal(plain + 16 + 8, out.cur.key, 32);
	assert_memory_equal(plain + 16 + 40, out.cur.salt, 12);
	assert_int_equal(plain[68], KEYTABLE_DIR_IN);
	assert_memory_equal(plain + 68 + 8, in.cur.key, 32);
	/* a wrong recorder key cannot open it */
	uint8_t pk2[32], sk2[32];

	crypto_box_keypair(pk2, sk2);
	assert_int_not_equal(crypto_box_seal_open(plain, sealed, n, pk2, sk2), 0);
	assert_int_equal(calls_feature(f->b.cm, id, "keys", sealed, 10, &n, err, sizeof(err)),
			 -ENOBUFS);
	end_call(f, id);
}

static void test_pinned_mismatch(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	uint8_t junk[32];
	struct store_call c;

	/* the callee has a different key pinned for alice */
	randombytes_buf(junk, sizeof(junk));
	assert_int_equal(store_peer_set(f->b.st, "alice@contoso", junk, NULL, true,
					err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, 1, 3000, NULL);
	drive(f, &f->b.n_ev, 1, 1000, NULL);
	check_failed_clean(f);
	assert_int_equal(last(&f->b)->state, CALLS_FAILED);
	assert_non_null(strstr(last(&f->b)->reason, "does not match the pinned key"));
	assert_int_equal(store_call_get(f->a.st, id, &c, err, sizeof(err)), 0);
	assert_int_equal(c.state, STORE_CALL_FAILED);
	/* the callee writes a record only for an authenticated caller */
	assert_int_equal(store_call_get(f->b.st, id, &c, err, sizeof(err)), -ENOENT);

	/* the caller has a different key pinned for bob */
	user_pub(&f->a, "alice", junk);
	assert_int_equal(store_peer_set(f->b.st, "alice@contoso", junk, NULL, true,
					err, sizeof(err)), 0);
	randombytes_buf(junk, sizeof(junk));
	assert_int_equal(store_peer_set(f->a.st, "bob@fabrikam", junk, NULL, true,
					err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, 2, 3000, NULL);
	drive(f, &f->b.n_ev, 2, 1000, NULL);
	check_failed_clean(f);
	assert_non_null(strstr(last(&f->a)->reason, "does not match the pinned key"));
	assert_int_equal(last(&f->b)->state, CALLS_FAILED);
	assert_int_equal(calls_show(f->a.cm, id, &(struct calls_info){0}), -ENOENT);
}

static void test_tofu(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct store_peer p;
	uint8_t pa[32], pb[32];

	/* the caller knows bob's address but not his key; the callee does not
	 * know alice at all */
	assert_int_equal(store_peer_del(f->a.st, "bob@fabrikam", err, sizeof(err)), 0);
	assert_int_equal(store_peer_add(f->a.st, "bob@fabrikam", NULL,
					addr_of(calls_listen_port(f->b.cm)), false,
					err, sizeof(err)), 0);
	assert_int_equal(store_peer_del(f->b.st, "alice@contoso", err, sizeof(err)), 0);
	call_ok(f, id);
	check_call(f, id);
	user_pub(&f->a, "alice", pa);
	user_pub(&f->b, "bob", pb);
	assert_int_equal(store_peer_show(f->a.st, "bob@fabrikam", &p, err, sizeof(err)), 0);
	assert_true(p.has_key);
	assert_memory_equal(p.public_key, pb, 32);
	assert_int_equal(store_peer_show(f->b.st, "alice@contoso", &p, err, sizeof(err)), 0);
	assert_true(p.has_key);
	assert_memory_equal(p.public_key, pa, 32);
	end_call(f, id);
	/* now learnt: a different key is refused */
	uint8_t junk[32];

	randombytes_buf(junk, sizeof(junk));
	assert_int_equal(store_peer_set(f->a.st, "bob@fabrikam", junk, NULL, false,
					err, sizeof(err)), 0);
	unsigned int a0 = f->a.n_ev;

	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, a0 + 1, 3000, NULL);
	check_failed_clean(f);
	assert_non_null(strstr(last(&f->a)->reason, "does not match"));
}

static void test_no_tofu_unknown(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];

	/* without TOFU: the callee does not know alice -> refused */
	assert_int_equal(store_peer_del(f->b.st, "alice@contoso", err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, 1, 3000, NULL);
	drive(f, &f->b.n_ev, 1, 1000, NULL);
	check_failed_clean(f);
	assert_non_null(strstr(last(&f->b)->reason, "trust on first use is off"));
	/* the caller knows bob without a key -> refused at NOISE2 */
	uint8_t pa[32];

	user_pub(&f->a, "alice", pa);
	assert_int_equal(store_peer_add(f->b.st, "alice@contoso", pa,
					addr_of(calls_listen_port(f->a.cm)), true,
					err, sizeof(err)), 0);
	assert_int_equal(store_peer_del(f->a.st, "bob@fabrikam", err, sizeof(err)), 0);
	assert_int_equal(store_peer_add(f->a.st, "bob@fabrikam", NULL,
					addr_of(calls_listen_port(f->b.cm)), false,
					err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, 2, 3000, NULL);
	check_failed_clean(f);
	assert_non_null(strstr(last(&f->a)->reason, "trust on first use is off"));
	/* unknown callee, unknown peer in dial */
	assert_int_equal(calls_dial(f->a.cm, "alice", "carol@nowhere", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), -ENOENT);
	assert_int_equal(calls_dial(f->a.cm, "nobody", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), -ENOENT);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", "nonsense", NULL, id,
				    err, sizeof(err)), -EINVAL);
}

static int raw_listener(struct fixture *f, uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	f->raw[f->n_raw++] = fd;
	return fd;
}

static int raw_connect(struct fixture *f, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	f->raw[f->n_raw++] = fd;
	return fd;
}

static void test_stall_timeout(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	uint16_t port;
	uint64_t t0;

	/* a "bob" that accepts and never answers */
	raw_listener(f, &port);
	assert_int_equal(store_peer_set(f->a.st, "bob@fabrikam", NULL, addr_of(port), true,
					err, sizeof(err)), 0);
	t0 = ms_now();
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	assert_true(calls_timeout_ms(f->a.cm) >= 0);
	drive(f, &f->a.n_ev, 1, 3000, NULL);
	assert_true(ms_now() - t0 >= 290);
	check_failed_clean(f);
	assert_non_null(strstr(last(&f->a)->reason, "timed out"));
	assert_int_equal(calls_timeout_ms(f->a.cm), -1);

	/* a caller that connects to bob and says nothing */
	raw_connect(f, calls_listen_port(f->b.cm));
	drive(f, &f->b.n_ev, 1, 3000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_FAILED);
	assert_non_null(strstr(last(&f->b)->reason, "timed out"));
	assert_int_equal(table_count(&f->b), 0);
}

static void test_bounded_attempts(void **state)
{
	struct fixture *f = *state;
	char b;
	int fds[3];

	/* max_attempts 2: the third connection is closed at once */
	for (int i = 0; i < 3; i++) {
		fds[i] = raw_connect(f, calls_listen_port(f->b.cm));
		drive(f, NULL, 0, 50, NULL);
	}
	assert_int_equal(recv(fds[2], &b, 1, 0), 0);
	struct calls_info info;
	unsigned int n = 0;

	(void)info;
	drive(f, &f->b.n_ev, 2, 3000, NULL);
	for (unsigned int i = 0; i < f->b.n_ev; i++)
		n += f->b.ev[i].state == CALLS_FAILED;
	assert_int_equal(n, 2);
}

static void test_garbage(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	static const char http[] = "GET / HTTP/1.0\r\n\r\n";
	static const uint8_t zero[] = { 0, 0 };
	static const uint8_t bad_type[] = { 0, 3, 0x42, 1, 2 };
	static const uint8_t trunc_hello[] = { 0, 40, 0x01, 1, 2, 3 };
	int fd;

	fd = raw_connect(f, calls_listen_port(f->b.cm));
	assert_int_equal(send(fd, http, sizeof(http) - 1, 0), (ssize_t)(sizeof(http) - 1));
	drive(f, &f->b.n_ev, 1, 3000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_FAILED);
	assert_non_null(strstr(last(&f->b)->reason, "oversized"));

	fd = raw_connect(f, calls_listen_port(f->b.cm));
	assert_int_equal(send(fd, zero, sizeof(zero), 0), 2);
	drive(f, &f->b.n_ev, 2, 3000, NULL);
	assert_non_null(strstr(last(&f->b)->reason, "zero-length"));

	fd = raw_connect(f, calls_listen_port(f->b.cm));
	assert_int_equal(send(fd, bad_type, sizeof(bad_type), 0), (ssize_t)sizeof(bad_type));
	drive(f, &f->b.n_ev, 3, 3000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_FAILED);

	fd = raw_connect(f, calls_listen_port(f->b.cm));
	assert_int_equal(send(fd, trunc_hello, sizeof(trunc_hello), 0),
			 (ssize_t)sizeof(trunc_hello));
	shutdown(fd, SHUT_WR);
	drive(f, &f->b.n_ev, 4, 3000, NULL);
	assert_non_null(strstr(last(&f->b)->reason, "truncated"));
	assert_int_equal(table_count(&f->b), 0);

	/* still serving */
	call_ok(f, id);
	check_call(f, id);
	end_call(f, id);
}

static int count_fn(const struct calls_info *info, void *arg)
{
	(void)info;
	(*(unsigned int *)arg)++;
	return 0;
}

/* ---- a relay between alice and bob that flips one byte ------------------------------ */

static struct {
	int lfd, a, b;            /* listener, alice's side, bob's side */
	long flip;                /* offset in the chosen stream; -1 = none */
	bool to_bob;              /* flip in alice -> bob (else bob -> alice) */
	size_t seen[2];
	uint16_t bob_port;
} relay;

static void relay_pump(int from, int to, size_t *seen, bool flip_here)
{
	uint8_t buf[4096];
	ssize_t r;

	while ((r = recv(from, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if (flip_here && relay.flip >= 0 && (size_t)relay.flip >= *seen &&
		    (size_t)relay.flip < *seen + (size_t)r)
			buf[relay.flip - (long)*seen] ^= 0x01;
		*seen += (size_t)r;
		(void)send(to, buf, (size_t)r, MSG_NOSIGNAL);
	}
	if (r == 0) {
		shutdown(to, SHUT_WR);
	}
}

static void relay_step(struct fixture *f)
{
	(void)f;
	if (relay.a < 0) {
		relay.a = accept(relay.lfd, NULL, NULL);
		if (relay.a >= 0) {
			struct sockaddr_in sa = { .sin_family = AF_INET,
						  .sin_port = htons(relay.bob_port) };

			sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			relay.b = socket(AF_INET, SOCK_STREAM, 0);
			assert_int_equal(connect(relay.b, (struct sockaddr *)&sa, sizeof(sa)), 0);
		}
		return;
	}
	relay_pump(relay.a, relay.b, &relay.seen[0], relay.to_bob);
	relay_pump(relay.b, relay.a, &relay.seen[1], !relay.to_bob);
}

static void relay_reset(long flip, bool to_bob)
{
	relay.a = relay.b = -1;
	relay.seen[0] = relay.seen[1] = 0;
	relay.flip = flip;
	relay.to_bob = to_bob;
}

static void relay_close(void)
{
	if (relay.a >= 0)
		close(relay.a);
	if (relay.b >= 0)
		close(relay.b);
	relay.a = relay.b = -1;
}

/* The caller's READY control frame (len, 0x10, counter, 1 octet + tag). */
#define READY_FRAME (2u + 1u + 8u + 1u + 16u)

/* Every byte of the handshake, in both directions, flipped in turn: each
 * attempt fails on both sides, nothing is installed, the managers go on.
 * The caller's READY after it, flipped: the call ends on both sides. */
static void test_modified_bytes(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	uint16_t port;
	size_t len[2];
	unsigned int a0, b0, cases = 0;

	relay.lfd = raw_listener(f, &port);
	relay.bob_port = calls_listen_port(f->b.cm);
	assert_int_equal(store_peer_set(f->a.st, "bob@fabrikam", NULL, addr_of(port), true,
					err, sizeof(err)), 0);
	/* a clean call through the relay measures both streams */
	relay_reset(-1, true);
	a0 = f->a.n_ev;
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, a0 + 1, 3000, relay_step);
	assert_int_equal(last(&f->a)->state, CALLS_ACTIVE);
	drive(f, NULL, 0, 50, relay_step);
	len[0] = relay.seen[0];
	len[1] = relay.seen[1];
	assert_true(len[0] > 100 && len[1] > 100);
	/* losing the control connection detaches the call on both sides: the
	 * keys stay (media goes on), rekey is refused, call end works locally */
	b0 = f->b.n_ev;
	relay_close();
	drive(f, &f->a.n_ev, a0 + 2, 3000, NULL);
	assert_int_equal(last(&f->a)->state, CALLS_ACTIVE);
	assert_true(last(&f->a)->detached);
	drive(f, &f->b.n_ev, b0 + 1, 3000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_ACTIVE);
	assert_true(last(&f->b)->detached);
	assert_int_equal(table_count(&f->a), 2);
	assert_int_equal(table_count(&f->b), 2);
	assert_int_equal(calls_rekey(f->a.cm, id, 0, err, sizeof(err)), -ENOTCONN);
	assert_int_equal(calls_end(f->a.cm, id, err, sizeof(err)), 0);
	assert_int_equal(last(&f->a)->state, CALLS_ENDED);
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(table_count(&f->b), 2);
	assert_int_equal(calls_end(f->b.cm, id, err, sizeof(err)), 0);
	assert_int_equal(last(&f->b)->state, CALLS_ENDED);
	assert_int_equal(table_count(&f->b), 0);

	for (int dir = 0; dir < 2; dir++) {
		for (size_t off = 0; off < len[dir]; off++) {
			unsigned int live = 0;

			a0 = f->a.n_ev;
			b0 = f->b.n_ev;
			relay_reset((long)off, dir == 0);
			assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA,
						    NULL, id, err, sizeof(err)), 0);
			drive(f, &f->a.n_ev, a0 + 1, 3000, relay_step);
			assert_int_equal(f->a.n_ev, a0 + 1);
			if (dir == 0 && off >= len[0] - READY_FRAME) {
				/* the caller's READY modified: bob refuses it and sends
				 * END, so the call the caller had ends on both sides */
				assert_int_equal(last(&f->a)->state, CALLS_ACTIVE);
				drive(f, &f->a.n_ev, a0 + 2, 3000, relay_step);
				assert_int_equal(last(&f->a)->state, CALLS_ENDED);
				drive(f, &f->b.n_ev, b0 + 2, 3000, relay_step);
				assert_int_equal(last(&f->b)->state, CALLS_ENDED);
				relay_close();
				assert_int_equal(table_count(&f->a), 0);
				assert_int_equal(table_count(&f->b), 0);
				cases++;
				continue;
			}
			if (last(&f->a)->state != CALLS_FAILED)
				fprintf(stderr, "dir %d offset %zu: %s\n", dir, off,
					last(&f->a)->reason);
			assert_int_equal(last(&f->a)->state, CALLS_FAILED);
			/* bob's side ends too: failed, or (CONFIRM modified) ended by
			 * the caller's ABORT or the closed connection */
			for (int k = 0; k < 300; k++) {
				drive(f, NULL, 0, 10, relay_step);
				if (f->b.n_ev > b0 && last(&f->b)->state != CALLS_ACTIVE)
					break;
			}
			relay_close();
			assert_true(f->b.n_ev > b0);
			assert_true(last(&f->b)->state == CALLS_FAILED ||
				    last(&f->b)->state == CALLS_ENDED);
			assert_int_equal(table_count(&f->a), 0);
			assert_int_equal(table_count(&f->b), 0);
			assert_int_equal(calls_list(f->a.cm, count_fn, &live), 0);
			assert_int_equal(calls_list(f->b.cm, count_fn, &live), 0);
			assert_int_equal(live, 0);
			cases++;
		}
	}
	assert_int_equal(cases, len[0] + len[1]);
	/* and the managers still serve a clean call */
	relay_reset(-1, true);
	a0 = f->a.n_ev;
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, a0 + 1, 3000, relay_step);
	assert_int_equal(last(&f->a)->state, CALLS_ACTIVE);
	relay_close();
}

static void test_rekey(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct keytable_entry ao, ai, bo, bi, ao2, bi2;
	struct calls_info ia, ib;

	set_e2ee(&f->a, "alice", true, true);
	set_e2ee(&f->b, "bob", true, true);
	call_ok(f, id);
	check_call(f, id);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao, 0);
	assert_int_equal(ao.flags & KEYTABLE_F_NEXT, 0);

	assert_int_equal(calls_rekey(f->a.cm, id, 1000, err, sizeof(err)), 0);
	for (int i = 0; i < 200; i++) {
		drive(f, NULL, 0, 10, NULL);
		assert_int_equal(calls_show(f->b.cm, id, &ib), 0);
		if (ib.generation == 2)
			break;
	}
	assert_int_equal(calls_show(f->a.cm, id, &ia), 0);
	assert_int_equal(ia.generation, 2);
	assert_int_equal(ib.generation, 2);
	assert_int_equal(ia.next_from_index, 1000 + CALLS_REKEY_AHEAD);
	assert_int_equal(ib.next_from_index, 1000 + CALLS_REKEY_AHEAD);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao, 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ai, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi, 0);
	assert_true(ao.flags & KEYTABLE_F_NEXT);
	assert_true(bi.flags & KEYTABLE_F_NEXT);
	assert_true(ai.flags & KEYTABLE_F_NEXT);
	assert_true(bo.flags & KEYTABLE_F_NEXT);
	assert_int_equal(ao.next_from_index, 1000 + CALLS_REKEY_AHEAD);
	assert_int_equal(bi.next_from_index, ao.next_from_index);
	assert_int_equal(bo.next_from_index, ai.next_from_index);
	assert_true(master_eq(&ao.next, &bi.next));
	assert_true(master_eq(&ai.next, &bo.next));
	assert_false(master_eq(&ao.next, &ao.cur));
	assert_false(master_eq(&ao.next, &ai.next));
	assert_true(master_eq(&ao.cur, &bi.cur));

	/* bob rekeys next: generation 2 becomes current on both, 3 is next */
	assert_int_equal(calls_rekey(f->b.cm, id, 0, err, sizeof(err)), 0);
	for (int i = 0; i < 200; i++) {
		drive(f, NULL, 0, 10, NULL);
		assert_int_equal(calls_show(f->a.cm, id, &ia), 0);
		if (ia.generation == 3)
			break;
	}
	assert_int_equal(ia.generation, 3);
	assert_int_equal(ia.next_from_index, 1000 + 2 * CALLS_REKEY_AHEAD);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao2, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi2, 0);
	assert_true(master_eq(&ao2.cur, &ao.next));
	assert_true(master_eq(&bi2.cur, &bi.next));
	assert_true(master_eq(&ao2.next, &bi2.next));
	assert_int_equal(ao2.next_from_index, bi2.next_from_index);
	assert_int_equal(ao2.mode, KEYTABLE_MODE_E2EE);

	assert_int_equal(calls_rekey(f->a.cm, "nosuchcall", 0, err, sizeof(err)), -ENOENT);
	end_call(f, id);
	keytable_wipe(&ao, sizeof(ao));
	keytable_wipe(&ai, sizeof(ai));
	keytable_wipe(&bo, sizeof(bo));
	keytable_wipe(&bi, sizeof(bi));
}

static void test_list_and_destroy(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	unsigned int n = 0;
	struct store_call c;

	call_ok(f, id);
	assert_int_equal(calls_list(f->a.cm, count_fn, &n), 0);
	assert_int_equal(n, 1);
	/* shutting alice's manager down ends the call at bob's */
	calls_destroy(f->a.cm);
	f->a.cm = NULL;
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(store_call_get(f->a.st, id, &c, err, sizeof(err)), 0);
	assert_int_equal(c.state, STORE_CALL_ENDED);
	struct pollfd fds[8];

	for (int i = 0; i < 200 && f->b.n_ev < 2; i++) {
		int nb = calls_pollfds(f->b.cm, fds, 8);

		poll(fds, (nfds_t)nb, 10);
		calls_handle(f->b.cm, fds, (size_t)nb);
	}
	assert_int_equal(last(&f->b)->state, CALLS_ENDED);
	assert_int_equal(table_count(&f->b), 0);
}

/* A control restart: release keeps the call (entries, store), the peer
 * detaches; the next manager on the same table and store resumes it
 * detached, shows the same call, ends it (entries gone); entries a crashed
 * manager left for a failed call are removed, static ones are not. */
static void test_restart_resume(void **state)
{
	struct fixture *f = *state;
	struct calls_resume_report rr;
	struct keytable_master m;
	struct keytable_key k;
	struct store_call sc;
	struct calls_info in, before;
	char id[CALLS_ID_LEN + 1];
	static const uint8_t ip[4] = { 127, 0, 0, 1 };
	uint8_t key[32] = { 1 }, salt[12] = { 2 };
	unsigned int b0;

	call_ok(f, id);
	assert_int_equal(calls_show(f->a.cm, id, &before), 0);
	b0 = f->b.n_ev;
	calls_release(f->a.cm);
	f->a.cm = NULL;
	assert_int_equal(table_count(&f->a), 2);
	assert_int_equal(store_call_get(f->a.st, id, &sc, err, sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_ACTIVE);
	/* bob's side: detached, keys kept */
	f->a.cm = NULL;
	{
		struct pollfd fds[8];
		uint64_t end = ms_now() + 3000;

		while (f->b.n_ev == b0 && ms_now() < end) {
			int nb = calls_pollfds(f->b.cm, fds, 8);

			poll(fds, (nfds_t)nb, 5);
			calls_handle(f->b.cm, fds, (size_t)nb);
		}
	}
	assert_int_equal(last(&f->b)->state, CALLS_ACTIVE);
	assert_true(last(&f->b)->detached);
	assert_int_equal(table_count(&f->b), 2);

	/* a crashed run's leftovers: a failed call's entry, and a static entry */
	assert_int_equal(keytable_master_set(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, key, 32,
					     salt), 0);
	keytable_key_ipv4(&k, ip, 41000, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(f->a.kt, &k, KEYTABLE_MODE_E2EE, &m,
				      (const uint8_t *)"00000000deadbeef", NULL), 0);
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.id, sizeof(sc.id), "00000000deadbeef");
	snprintf(sc.local_user, sizeof(sc.local_user), "alice");
	snprintf(sc.remote, sizeof(sc.remote), "bob@fabrikam");
	sc.role = STORE_ROLE_INITIATOR;
	sc.mode = STORE_MODE_PENDING;
	sc.state = STORE_CALL_SETUP;
	snprintf(sc.local_media, sizeof(sc.local_media), "127.0.0.1:41000");
	assert_int_equal(store_call_add(f->a.st, &sc, err, sizeof(err)), 0);
	keytable_key_ipv4(&k, ip, 41001, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(f->a.kt, &k, KEYTABLE_MODE_STANDARD, &m,
				      (const uint8_t *)"static-key-0001\0", NULL), 0);
	keytable_wipe(&m, sizeof(m));
	assert_int_equal(table_count(&f->a), 4);

	assert_int_equal(side_start(f, &f->a, false, 3000, 0), 0);
	assert_int_equal(calls_resume(f->a.cm, &rr, err, sizeof(err)), 0);
	assert_int_equal(rr.resumed, 1);
	assert_int_equal(rr.failed, 1);
	assert_int_equal(rr.removed, 1);
	assert_int_equal(table_count(&f->a), 3);
	assert_int_equal(store_call_get(f->a.st, "00000000deadbeef", &sc, err, sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_FAILED);
	assert_int_equal(calls_show(f->a.cm, id, &in), 0);
	assert_true(in.detached);
	assert_int_equal(in.state, CALLS_ACTIVE);
	assert_int_equal(in.mode, before.mode);
	assert_string_equal(in.security_code, before.security_code);
	assert_string_equal(in.peer, before.peer);
	assert_string_equal(in.local_media, before.local_media);
	assert_int_equal(calls_rekey(f->a.cm, id, 0, err, sizeof(err)), -ENOTCONN);
	/* the pool does not hand out a resumed call's media port */
	assert_int_equal(calls_end(f->a.cm, id, err, sizeof(err)), 0);
	assert_int_equal(table_count(&f->a), 1);   /* the static entry */
	assert_int_equal(store_call_get(f->a.st, id, &sc, err, sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_ENDED);
	assert_int_equal(calls_end(f->b.cm, id, err, sizeof(err)), 0);
	assert_int_equal(table_count(&f->b), 0);
	/* a second resume finds nothing to do */
	assert_int_equal(calls_resume(f->a.cm, &rr, err, sizeof(err)), 0);
	assert_int_equal(rr.resumed + rr.failed + rr.removed, 0);
}

/* An active call whose entries are gone at restart is marked failed. */
static void test_restart_entries_gone(void **state)
{
	struct fixture *f = *state;
	struct calls_resume_report rr;
	struct store_call sc;
	struct keytable_key k;
	static const uint8_t ip[4] = { 127, 0, 0, 1 };
	char id[CALLS_ID_LEN + 1];

	call_ok(f, id);
	calls_release(f->a.cm);
	f->a.cm = NULL;
	keytable_key_ipv4(&k, ip, 40000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_delete(f->a.kt, &k), 0);
	assert_int_equal(side_start(f, &f->a, false, 3000, 0), 0);
	assert_int_equal(calls_resume(f->a.cm, &rr, err, sizeof(err)), 0);
	assert_int_equal(rr.resumed, 0);
	assert_int_equal(rr.failed, 1);
	assert_int_equal(rr.removed, 1);   /* the out entry that was left */
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(store_call_get(f->a.st, id, &sc, err, sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_FAILED);
	assert_int_equal(calls_show(f->a.cm, id, &(struct calls_info){ 0 }), -ENOENT);
}

/* Two users of one tenant: refused with a clear reason, nothing changes. */
static void test_same_tenant(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];

	assert_int_equal(store_user_add(f->a.st, "carol", err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "carol@contoso", NULL, NULL, id,
				    err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "not supported"));
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(calls_list(f->a.cm, NULL, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_e2ee_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_standard_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_standard_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinned_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tofu, setup_tofu, teardown),
		cmocka_unit_test_setup_teardown(test_no_tofu_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stall_timeout, setup_short, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_attempts, setup_short, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modified_bytes, setup_short, teardown),
		cmocka_unit_test_setup_teardown(test_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_and_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_entries_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_tenant, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
