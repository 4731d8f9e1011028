/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The call manager's bounds (docs/calls.md, "Bounds"): incoming handshakes
 * per source and in total, the own dials' budget apart from them, and
 * hundreds of calls at once (the descriptor map and the media pool map:
 * correctness, not timing).
 */
#include "test_calls.h"

static char err[CALLS_ERR_MAX];

/* A blocking TCP connection from src (a 127.0.0.x address) to 127.0.0.1:port. */
int raw_connect_from(struct fixture *f, const char *src, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_in from = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, src, &from.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_true(f->n_raw < sizeof(f->raw) / sizeof(f->raw[0]));
	f->raw[f->n_raw++] = fd;
	return fd;
}

/* Drive both managers until the manager closed fd (end of stream), at most
 * ms: whether it did. */
bool wait_closed(struct fixture *f, int fd, unsigned int ms)
{
	uint64_t end = ms_now() + ms;
	char b;

	while (ms_now() < end) {
		ssize_t r = recv(fd, &b, 1, MSG_DONTWAIT);

		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
		drive(f, NULL, 0, 5, NULL);
	}
	return false;
}

/* Still open after the managers ran ms more. */
static bool still_open(struct fixture *f, int fd, unsigned int ms)
{
	char b;

	drive(f, NULL, 0, ms, NULL);
	return recv(fd, &b, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* max_attempts 16 per budget, 3 per source */
int setup_bounds(void **state)
{
	int rc;

	fixture_max_per_source = 3;
	rc = setup_common(state, false, 3000, 16, "fabrikam");
	fixture_max_per_source = 0;
	return rc;
}

static void e2ee_both(struct fixture *f)
{
	set_e2ee(&f->a, "alice", true, true);
	set_e2ee(&f->b, "bob", true, true);
}

/* A source at its bound gets its extra connections closed at once, while a
 * caller from another address gets through (e2ee). */
void test_per_source(void **state)
{
	struct fixture *f = *state;
	struct calls_stats st;
	uint16_t port = calls_listen_port(f->b.cm);
	char id[CALLS_ID_LEN + 1];
	int fds[6];

	e2ee_both(f);
	for (int i = 0; i < 5; i++)
		fds[i] = raw_connect_from(f, "127.0.0.2", port);
	/* the fourth and fifth: closed; the first three held */
	assert_true(wait_closed(f, fds[3], 3000));
	assert_true(wait_closed(f, fds[4], 3000));
	for (int i = 0; i < 3; i++)
		assert_true(still_open(f, fds[i], i == 0 ? 50 : 0));
	calls_stats(f->b.cm, &st);
	assert_int_equal(st.refused_source, 2);
	assert_int_equal(st.incoming, 3);
	assert_int_equal(st.max_per_source, 3);
	/* alice's daemon connects from 127.0.0.1: through, e2ee */
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_E2EE);
	/* 127.0.0.2 is still at its bound */
	fds[5] = raw_connect_from(f, "127.0.0.2", port);
	assert_true(wait_closed(f, fds[5], 3000));
	calls_stats(f->b.cm, &st);
	assert_int_equal(st.refused_source, 3);
	end_call(f, id);
}

/*
 * The incoming handshakes full of strangers who spoke and stall: a new caller
 * is refused until they time out, but the daemon's own dials have a budget
 * of their own and go out; and the own dials' bound (max_attempts) refuses
 * the next dial with -EAGAIN while incoming calls are still answered.
 */
void test_dial_budget(void **state)
{
	struct fixture *f = *state;
	struct calls_stats st;
	uint16_t port = calls_listen_port(f->b.cm);
	char id[CALLS_ID_LEN + 1], src[32];
	unsigned int a0, b0;
	int fd;

	e2ee_both(f);
	for (int i = 0; i < 16; i++) {
		snprintf(src, sizeof(src), "127.0.0.%d", 10 + i);
		fd = raw_connect_from(f, src, port);
		assert_int_equal(send(fd, "\0", 1, 0), 1);   /* spoke: not idle */
	}
	snprintf(src, sizeof(src), "127.0.0.%d", 40);
	fd = raw_connect_from(f, src, port);
	assert_true(wait_closed(f, fd, 3000));
	calls_stats(f->b.cm, &st);
	assert_int_equal(st.incoming, 16);
	assert_int_equal(st.refused_full, 1);
	/* bob dials alice: his own budget */
	a0 = f->a.n_ev;
	b0 = f->b.n_ev;
	assert_int_equal(calls_dial(f->b.cm, "bob", "alice@contoso", NULL, NULL, id, err,
				    sizeof(err)), 0);
	drive(f, &f->b.n_ev, b0 + 1, 3000, NULL);
	drive(f, &f->a.n_ev, a0 + 1, 3000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_ACTIVE);
	assert_int_equal(last(&f->a)->state, CALLS_ACTIVE);
	assert_int_equal(last(&f->a)->mode, CALLPROTO_MODE_E2EE);
	assert_int_equal(calls_end(f->b.cm, id, err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, a0 + 2, 3000, NULL);
	assert_int_equal(last(&f->a)->state, CALLS_ENDED);

	/* alice's own dials: to a bob that accepts and never answers */
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(l >= 0);
	f->raw[f->n_raw++] = l;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 64), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(store_peer_set(f->a.st, "bob@fabrikam", NULL,
					addr_of(ntohs(sa.sin_port)), true, err, sizeof(err)), 0);
	for (int i = 0; i < 16; i++) {
		char media[32];

		snprintf(media, sizeof(media), "127.0.0.1:%d", 41000 + i);
		assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", media, NULL, id,
					    err, sizeof(err)), 0);
	}
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", "127.0.0.1:41100", NULL,
				    id, err, sizeof(err)), -EAGAIN);
	assert_non_null(strstr(err, "too many outgoing call attempts in progress (16)"));
	calls_stats(f->a.cm, &st);
	assert_int_equal(st.dials, 16);
	assert_int_equal(st.refused_dials, 1);
	assert_int_equal(st.incoming, 0);
	/* ...while alice still answers bob: her incoming handshakes are another
	 * budget */
	b0 = f->b.n_ev;
	assert_int_equal(calls_dial(f->b.cm, "bob", "alice@contoso", NULL, NULL, id, err,
				    sizeof(err)), 0);
	drive(f, &f->b.n_ev, b0 + 1, 3000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_ACTIVE);
}

/* ---- many calls at once ------------------------------------------------------------ */

#define MANY        300u
#define MANY_BATCH  50u
#define MANY_POOL   "127.0.0.1:50000-50399"
#define MANY_LO     50000u

int setup_many(void **state)
{
	int rc;

	fixture_capacity = 2048;
	fixture_pool = MANY_POOL;
	fixture_max_per_source = 64;   /* every set-up comes from alice's one address */
	rc = setup_common(state, false, 10000, 0, "fabrikam");
	fixture_capacity = 0;
	fixture_pool = NULL;
	fixture_max_per_source = 0;
	return rc;
}

int teardown_many(void **state)
{
	return teardown(state);
}

/* One round of both managers' poll loops, with room for every descriptor. */
static void pump(struct fixture *f, int ms)
{
	static struct pollfd fds[2 * 2048];
	int na = calls_pollfds(f->a.cm, fds, 2048);
	int nb = calls_pollfds(f->b.cm, fds + na, 2048);

	assert_true(na >= 0 && nb >= 0);
	poll(fds, (nfds_t)(na + nb), ms);
	calls_handle(f->a.cm, fds, (size_t)na);
	calls_handle(f->b.cm, fds + na, (size_t)nb);
}

struct tally {
	unsigned int active, other;
	uint32_t min_gen;
};

static int tally_fn(const struct calls_info *in, void *arg)
{
	struct tally *t = arg;

	if (in->state == CALLS_ACTIVE && !in->detached) {
		t->active++;
		if (chain_gen(in) < t->min_gen)
			t->min_gen = chain_gen(in);
	} else {
		t->other++;
	}
	return 0;
}

static struct tally tally_of(struct side *s)
{
	struct tally t = { .min_gen = UINT32_MAX };

	assert_int_equal(calls_list(s->cm, tally_fn, &t), 0);
	return t;
}

/* Drive until both sides hold exactly n active calls and nothing else, and
 * every call is at generation gen or later. */
static void until_active(struct fixture *f, unsigned int n, uint32_t gen)
{
	uint64_t end = ms_now() + 60000;
	struct tally ta, tb;

	do {
		pump(f, 5);
		ta = tally_of(&f->a);
		tb = tally_of(&f->b);
	} while (ms_now() < end && !(ta.active == n && tb.active == n && ta.other == 0 &&
				     tb.other == 0 && (n == 0 || (ta.min_gen >= gen &&
								  tb.min_gen >= gen))));
	if (!(ta.active == n && tb.active == n && ta.other == 0 && tb.other == 0))
		fail_msg("want %u active: alice %u (+%u), bob %u (+%u)", n, ta.active, ta.other,
			 tb.active, tb.other);
	if (n && (ta.min_gen < gen || tb.min_gen < gen))
		fail_msg("want generation %u: alice %u, bob %u", gen, ta.min_gen, tb.min_gen);
}

/* Dial calls [from, to): alice's media 127.0.0.1:40000+i, bob's from his
 * pool; at most MANY_BATCH in set-up at once. */
static void dial_range(struct fixture *f, char (*ids)[CALLS_ID_LEN + 1], unsigned int from,
		       unsigned int to, unsigned int up_before)
{
	for (unsigned int i = from; i < to; i += MANY_BATCH) {
		unsigned int n = to - i < MANY_BATCH ? to - i : MANY_BATCH;

		for (unsigned int k = i; k < i + n; k++) {
			char media[32];

			snprintf(media, sizeof(media), "127.0.0.1:%u", 40000u + k);
			assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", media, NULL,
						    ids[k], err, sizeof(err)), 0);
		}
		until_active(f, up_before + (i - from) + n, 0);
	}
}

/* Bob's media port of call id (his pool). */
static unsigned int bob_port(struct fixture *f, const char *id)
{
	struct calls_info in;
	unsigned int port = 0;

	assert_int_equal(calls_show(f->b.cm, id, &in), 0);
	assert_int_equal(sscanf(in.local_media, "127.0.0.1:%u", &port), 1);
	assert_true(port >= MANY_LO && port < MANY_LO + 400u);
	return port;
}

/*
 * MANY calls up at once between the two managers (600 connections in one
 * poll set); each call's keys crosswise and its pool port its own; every
 * call rekeyed at once over its own control channel (a frame given to the
 * wrong connection fails authentication and ends the call); a third ended
 * and as many dialled again, which get exactly the pool ports freed (the
 * lowest free first); then all ended, nothing left.
 */
void test_many_calls(void **state)
{
	struct fixture *f = *state;
	static char ids[MANY + MANY / 3][CALLS_ID_LEN + 1];
	static bool port_used[400];
	unsigned int freed[MANY / 3], n_freed = 0;
	struct calls_stats st;

	memset(port_used, 0, sizeof(port_used));
	dial_range(f, ids, 0, MANY, 0);
	for (unsigned int i = 0; i < MANY; i++) {
		struct calls_info ia, ib;
		struct keytable_entry ao, bi;
		char media[32];
		unsigned int p = bob_port(f, ids[i]);

		assert_false(port_used[p - MANY_LO]);
		port_used[p - MANY_LO] = true;
		assert_int_equal(calls_show(f->a.cm, ids[i], &ia), 0);
		assert_int_equal(calls_show(f->b.cm, ids[i], &ib), 0);
		snprintf(media, sizeof(media), "127.0.0.1:%u", 40000u + i);
		assert_string_equal(ia.local_media, media);
		assert_string_equal(ib.remote_media, media);
		assert_string_equal(ia.remote_media, ib.local_media);
		entry(&f->a, ia.local_media, KEYTABLE_DIR_OUT, &ao, 0);
		entry(&f->b, ib.local_media, KEYTABLE_DIR_IN, &bi, 0);
		assert_true(master_eq(&ao.cur, &bi.cur));
		assert_memory_equal(bi.call_id, ids[i], CALLS_ID_LEN);
		keytable_wipe(&ao, sizeof(ao));
		keytable_wipe(&bi, sizeof(bi));
	}
	/* the lowest ports first: 50000..50000+MANY-1, each once */
	for (unsigned int p = 0; p < MANY; p++)
		assert_true(port_used[p]);
	assert_int_equal(table_count(&f->a), 2 * MANY);
	assert_int_equal(table_count(&f->b), 2 * MANY);
	calls_stats(f->a.cm, &st);
	assert_int_equal(st.dials, 0);
	calls_stats(f->b.cm, &st);
	assert_int_equal(st.incoming, 0);

	/* every call rekeyed at once: generation 2 on both sides of each */
	for (unsigned int i = 0; i < MANY; i++)
		assert_int_equal(calls_rekey(f->a.cm, ids[i], 0, err, sizeof(err)), 0);
	until_active(f, MANY, 2);

	/* bob ends every third call; as many new calls get exactly those ports */
	for (unsigned int i = 0; i < MANY; i += 3) {
		freed[n_freed++] = bob_port(f, ids[i]);
		port_used[freed[n_freed - 1] - MANY_LO] = false;
		assert_int_equal(calls_end(f->b.cm, ids[i], err, sizeof(err)), 0);
	}
	until_active(f, MANY - n_freed, 0);
	dial_range(f, ids, MANY, MANY + n_freed, MANY - n_freed);
	for (unsigned int i = MANY; i < MANY + n_freed; i++) {
		unsigned int p = bob_port(f, ids[i]);

		assert_false(port_used[p - MANY_LO]);
		port_used[p - MANY_LO] = true;
	}
	for (unsigned int p = 0; p < 400; p++)
		assert_int_equal(port_used[p], p < MANY);

	/* all ended from alice's side */
	for (unsigned int i = 0; i < MANY + n_freed; i++)
		if (i >= MANY || i % 3 != 0)
			assert_int_equal(calls_end(f->a.cm, ids[i], err, sizeof(err)), 0);
	until_active(f, 0, 0);
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(table_count(&f->b), 0);
}
