/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The call manager tests' fixture: two managers, "contoso" (alice) and
 * "fabrikam" (bob), each with its own key table and store, over 127.0.0.1
 * TCP; a poll loop that drives them; and the checks on a call (keys
 * crosswise in the tables, mode and reason from the stores' policies).
 */
#include "test_calls.h"

static char err[CALLS_ERR_MAX];

static unsigned int seq;

/* for the set-ups that need more (test_calls_bounds.c): 0 / NULL = the usual */
unsigned int fixture_capacity, fixture_max_per_source;
const char *fixture_pool;

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
	if (info->state == CALLS_ACTIVE && !info->detached) {
		struct store_stats ss;

		/* a call goes active only once its record is committed, before
		 * its keys went in (docs/operations.md, "Durability of the store") */
		store_stats(s->st, &ss);
		if (ss.pending)
			s->active_uncommitted++;
	}
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
	if (keytable_create(&s->kt, s->table_name, fixture_capacity ? fixture_capacity : 64,
			    e, sizeof(e)) != 0) {
		fprintf(stderr, "keytable_create: %s\n", e);
		return -1;
	}
	return 0;
}

/* calls_config.history_s for the managers the next set-up starts (0: the
 * default); set by a test's set-up, cleared by teardown */
unsigned int fixture_history_s;
/* calls_config.profiles of side a's and side b's manager for the next
 * set-up (NULL: the default offer); set by a test's set-up, cleared after it */
const uint16_t *fixture_offer_a, *fixture_offer_b;
size_t fixture_n_offer_a, fixture_n_offer_b;
/* calls_config.rekey_interval_s for the managers the next set-up starts */
static unsigned int fixture_rekey_interval_s;
/* the dataplane's statistics (legstats.c) for the managers the next set-up
 * starts: each reads its own table's area; 0 = off */
static unsigned int fixture_stats_poll_ms, fixture_reuse_guard_ms;

/* The manager's log lines: the last one and how many. */
static void on_log(void *ctx, const char *line)
{
	struct side *s = ctx;

	snprintf(s->log[s->n_log++ % (sizeof(s->log) / sizeof(s->log[0]))],
		 sizeof(s->log[0]), "%s", line);
}

/* Whether one of the last log lines of s contains text. */
bool logged(const struct side *s, const char *text)
{
	unsigned int n = sizeof(s->log) / sizeof(s->log[0]);

	for (unsigned int i = 0; i < n && i < s->n_log; i++)
		if (strstr(s->log[(s->n_log - 1 - i) % n], text))
			return true;
	return false;
}

int side_start(struct fixture *f, struct side *s, bool tofu, unsigned int timeout_ms,
	       unsigned int max_attempts)
{
	struct calls_config cfg = {
		.table = s->kt, .store = s->st, .tenant = s->tenant, .listen = "127.0.0.1:0",
		.timeout_ms = timeout_ms, .media_pool = fixture_pool ? fixture_pool : POOL,
		.tofu = tofu, .max_attempts = max_attempts,
		.max_per_source = fixture_max_per_source, .recorder_public_key = f->rec_pk,
		.rekey_interval_s = fixture_rekey_interval_s,
		.stats_table = fixture_stats_poll_ms ? s->table_name : NULL,
		.stats_poll_ms = fixture_stats_poll_ms, .reuse_guard_ms = fixture_reuse_guard_ms,
		.history_s = fixture_history_s, .event = on_event, .log = on_log, .event_ctx = s,
		.profiles = s == &f->b ? fixture_offer_b : fixture_offer_a,
		.n_profiles = s == &f->b ? fixture_n_offer_b : fixture_n_offer_a,
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

void user_pub(struct side *s, const char *user, uint8_t pk[32])
{
	struct store_user u;

	assert_int_equal(store_user_show(s->st, user, &u, err, sizeof(err)), 0);
	memcpy(pk, u.public_key, 32);
}

void set_e2ee(struct side *s, const char *user, bool allowed, bool on)
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

const char *addr_of(uint16_t port)
{
	snprintf(peer_addr, sizeof(peer_addr), "127.0.0.1:%u", port);
	return peer_addr;
}

/* Standard set-up: alice@contoso and bob@fabrikam know each other, pinned;
 * one tenant (two sites): bob is bob@contoso at the second manager. */
int setup_common(void **state, bool tofu, unsigned int timeout_ms, unsigned int max,
		 const char *tenant_b)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t pa[32], pb[32];
	char bob[64];

	if (!f || sodium_init() < 0)
		return -1;
	crypto_box_keypair(f->rec_pk, f->rec_sk);
	snprintf(bob, sizeof(bob), "bob@%s", tenant_b);
	if (side_open(&f->a, "contoso") || side_open(&f->b, tenant_b) ||
	    side_start(f, &f->a, tofu, timeout_ms, max) ||
	    side_start(f, &f->b, tofu, timeout_ms, max))
		return -1;
	if (store_user_add(f->a.st, "alice", err, sizeof(err)) ||
	    store_user_add(f->b.st, "bob", err, sizeof(err)))
		return -1;
	user_pub(&f->a, "alice", pa);
	user_pub(&f->b, "bob", pb);
	if (store_peer_add(f->a.st, bob, pb, addr_of(calls_listen_port(f->b.cm)),
			   true, err, sizeof(err)) ||
	    store_peer_add(f->b.st, "alice@contoso", pa, addr_of(calls_listen_port(f->a.cm)),
			   true, err, sizeof(err)))
		return -1;
	*state = f;
	return 0;
}

int setup(void **state)
{
	return setup_common(state, false, 3000, 0, "fabrikam");
}

/* Two sites of one tenant: the second manager is contoso too (bob@contoso). */
int setup_one_tenant(void **state)
{
	return setup_common(state, false, 3000, 0, "contoso");
}

int setup_tofu(void **state)
{
	return setup_common(state, true, 3000, 0, "fabrikam");
}

int setup_short(void **state)
{
	return setup_common(state, false, 300, 2, "fabrikam");
}

/* The standard set-up with an automatic rekey every second on both managers. */
int setup_auto_rekey(void **state)
{
	int rc;

	fixture_rekey_interval_s = 1;
	rc = setup_common(state, false, 0, 0, "fabrikam");
	fixture_rekey_interval_s = 0;
	return rc;
}

/* The standard set-up where bob's manager offers only AES_CM_128_HMAC_SHA1_80
 * (a site whose other leg needs AES-CM); alice's offers the default. */
int setup_aes_cm(void **state)
{
	static const uint16_t cm80[] = { CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_80 };
	int rc;

	fixture_offer_b = cm80;
	fixture_n_offer_b = 1;
	rc = setup_common(state, false, 3000, 0, "fabrikam");
	fixture_offer_b = NULL;
	fixture_n_offer_b = 0;
	return rc;
}

/* The standard set-up with the dataplane's statistics read every 50 ms and
 * a storm guard of STATS_GUARD_MS (test_calls_legstats.c). */
int setup_stats(void **state)
{
	int rc;

	fixture_stats_poll_ms = STATS_POLL_MS;
	fixture_reuse_guard_ms = STATS_GUARD_MS;
	rc = setup_common(state, false, 3000, 0, "fabrikam");
	fixture_stats_poll_ms = fixture_reuse_guard_ms = 0;
	return rc;
}

int teardown(void **state)
{
	struct fixture *f = *state;
	int rc = 0;

	if (f->a.active_uncommitted || f->b.active_uncommitted) {
		fprintf(stderr, "calls announced active with their store record not committed: "
			"%u (contoso), %u (fabrikam)\n", f->a.active_uncommitted,
			f->b.active_uncommitted);
		rc = -1;
	}
	side_close(&f->a);
	side_close(&f->b);
	for (unsigned int i = 0; i < f->n_raw; i++)
		if (f->raw[i] >= 0)
			close(f->raw[i]);
	free(f);
	return rc;
}

/* ---- driving ---------------------------------------------------------------------- */

uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Run both managers until *count reaches want or ms pass. */
void drive(struct fixture *f, const unsigned int *count, unsigned int want,
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

const struct calls_info *last(const struct side *s)
{
	return s->n_ev ? &s->ev[(s->n_ev - 1) % (sizeof(s->ev) / sizeof(s->ev[0]))] : NULL;
}

void entry(struct side *s, const char *addr, unsigned int dir, struct keytable_entry *e,
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

uint32_t table_count(struct side *s)
{
	struct keytable_info i;

	keytable_info(s->kt, &i);
	return i.count;
}

bool master_eq(const struct keytable_master *x, const struct keytable_master *y)
{
	return x->profile == y->profile && x->key_len == y->key_len &&
	       memcmp(x->key, y->key, sizeof(x->key)) == 0 &&
	       memcmp(x->salt, y->salt, sizeof(x->salt)) == 0;
}

/* A call alice -> bob, both active; id out. */
void call_ok(struct fixture *f, char id[CALLS_ID_LEN + 1])
{
	unsigned int a0 = f->a.n_ev, b0 = f->b.n_ev;
	char bob[64];

	snprintf(bob, sizeof(bob), "bob@%s", f->b.tenant);
	assert_int_equal(calls_dial(f->a.cm, "alice", bob, ALICE_MEDIA, BOB_MEDIA,
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
enum callproto_mode check_call(struct fixture *f, const char *id)
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

void check_failed_clean(struct fixture *f)
{
	assert_non_null(last(&f->a));
	assert_int_equal(last(&f->a)->state, CALLS_FAILED);
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(table_count(&f->b), 0);
}

void end_call(struct fixture *f, const char *id)
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

int count_fn(const struct calls_info *info, void *arg)
{
	(void)info;
	(*(unsigned int *)arg)++;
	return 0;
}
