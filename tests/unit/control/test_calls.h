/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the call manager unit tests (test_calls*.c, one executable): the
 * two sides and the fixture, the poll-loop driver and the checks on a call,
 * and the test cases that main() in test_calls.c runs. Each file has its own
 * err buffer.
 */
#ifndef CALLSEAL_TEST_CALLS_H
#define CALLSEAL_TEST_CALLS_H

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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

/* The rekey chain's generation of a leg's SRTP keys, as these tests count
 * it (0, then 2, 3, ...: 1 is the control channel's): from calls_info.rekeys
 * (0, 1, 2, ...), which is what the commands show. */
static inline uint32_t chain_gen(const struct calls_info *i)
{
	return i->rekeys ? i->rekeys + 1 : 0;
}

struct side {
	const char *tenant;
	char root[64], dir[96], table_name[64];
	struct store *st;
	struct keytable *kt;
	struct calls *cm;
	struct calls_info ev[16];   /* the last 16 events (a ring) */
	unsigned int n_ev;          /* events in all */
	unsigned int active_uncommitted;  /* calls announced active while their
					   * store record was not committed
					   * (must stay 0: teardown checks) */
	char log[16][CALLS_ERR_MAX];  /* the last 16 log lines (a ring) */
	unsigned int n_log;         /* log lines in all */
};

struct fixture {
	struct side a, b;   /* contoso (alice), fabrikam (bob) */
	uint8_t rec_pk[crypto_box_PUBLICKEYBYTES], rec_sk[crypto_box_SECRETKEYBYTES];
	int raw[64];        /* test-owned sockets */
	unsigned int n_raw;
};

typedef void (*step_fn)(struct fixture *f);

/* test_calls_fixture.c: the two sides and the fixture; the knobs below are
 * read by the next set-up (0 / NULL: table capacity 64, POOL, the default
 * per-source bound) */
extern unsigned int fixture_capacity, fixture_max_per_source;
extern const char *fixture_pool;
extern unsigned int fixture_history_s;
int setup_common(void **state, bool tofu, unsigned int timeout_ms, unsigned int max,
		 const char *tenant_b);
int side_start(struct fixture *f, struct side *s, bool tofu, unsigned int timeout_ms,
	       unsigned int max_attempts);
void user_pub(struct side *s, const char *user, uint8_t pk[32]);
void set_e2ee(struct side *s, const char *user, bool allowed, bool on);
const char *addr_of(uint16_t port);
int setup(void **state);
int setup_tofu(void **state);
int setup_short(void **state);
int setup_auto_rekey(void **state);
extern const uint16_t *fixture_offer_a, *fixture_offer_b;
extern size_t fixture_n_offer_a, fixture_n_offer_b;
int setup_aes_cm(void **state);
#define STATS_POLL_MS  50u      /* setup_stats: calls_config.stats_poll_ms */
#define STATS_GUARD_MS 1000u    /* setup_stats: calls_config.reuse_guard_ms */
int setup_stats(void **state);
bool logged(const struct side *s, const char *text);
int teardown(void **state);

/* test_calls_fixture.c: driving and checks */
uint64_t ms_now(void);
void drive(struct fixture *f, const unsigned int *count, unsigned int want,
	   unsigned int ms, step_fn step);
const struct calls_info *last(const struct side *s);
void entry(struct side *s, const char *addr, unsigned int dir, struct keytable_entry *e,
	   int want_rc);
uint32_t table_count(struct side *s);
bool master_eq(const struct keytable_master *x, const struct keytable_master *y);
void call_ok(struct fixture *f, char id[CALLS_ID_LEN + 1]);
enum callproto_mode check_call(struct fixture *f, const char *id);
void check_failed_clean(struct fixture *f);
void end_call(struct fixture *f, const char *id);
int count_fn(const struct calls_info *info, void *arg);

/* test_calls_attacks.c: stalls, bounded attempts, garbage, a relay that modifies bytes */
void test_stall_timeout(void **state);
void test_bounded_attempts(void **state);
void test_garbage(void **state);
void test_modified_bytes(void **state);

/* test_calls_bounds.c: handshake bounds (per source, in total, idle), the
 * dial budget, many calls at once */
int raw_connect_from(struct fixture *f, const char *src, uint16_t port);
bool wait_closed(struct fixture *f, int fd, unsigned int ms);
int setup_bounds(void **state);
int setup_many(void **state);
int teardown_many(void **state);
void test_per_source(void **state);
void test_dial_budget(void **state);
void test_many_calls(void **state);

/* test_calls_lifecycle.c: rekey, list and destroy, restart */
void test_rekey(void **state);
void test_auto_rekey(void **state);
void test_list_and_destroy(void **state);
void test_restart_resume(void **state);
void test_restart_entries_gone(void **state);
void test_aes_cm_call(void **state);
void test_offer_config(void **state);

/* test_calls_tenant.c: calls within a tenant (one manager; two sites) */
int setup_one_tenant(void **state);
void test_self_call_e2ee(void **state);
void test_self_call_standard(void **state);
void test_self_call_resume(void **state);
void test_two_sites(void **state);
void test_two_sites_impostor(void **state);

/* test_calls_legstats.c: the dataplane's counters, recovery from index reuse;
 * row_for: the dataplane's row of side s's entry (addr, dir), assigned to its
 * entry instance as a worker does */
struct dpstats;
struct dpstats_flow;
struct dpstats_flow *row_for(struct side *s, struct dpstats *w, const char *addr,
			     unsigned int dir);
void test_reuse_recovery(void **state);
void test_leg_stats(void **state);

/* test_calls_history.c: the call history (ended calls in the store), generations */
int setup_history_short(void **state);
int setup_history_none(void **state);
void test_history_ends(void **state);
void test_history_failed(void **state);
void test_history_retention(void **state);
void test_history_keep_none(void **state);
void test_generations(void **state);

#endif
