/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The call manager under attack: a connection that stalls (timeouts),
 * bounded attempts, garbage, and a relay between alice and bob that modifies
 * one byte of the handshake at each offset.
 */
#include "test_calls.h"

static char err[CALLS_ERR_MAX];

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

void test_stall_timeout(void **state)
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
	drive(f, &f->a.n_ev, 1, 10000, NULL);
	assert_true(ms_now() - t0 >= 290);
	check_failed_clean(f);
	assert_non_null(strstr(last(&f->a)->reason, "timed out"));
	/* no attempt deadline left: the next wake-up is the history's prune
	 * (the failed call's record, 7 days away; the loop wakes every 60 s) */
	assert_true(calls_timeout_ms(f->a.cm) >= 59000);

	/* a connection to bob that says nothing: closed at the idle time
	 * (min(idle_ms, timeout_ms) = 300 ms here), counted, with its reason */
	struct calls_stats st;
	int fd = raw_connect(f, calls_listen_port(f->b.cm));

	t0 = ms_now();
	assert_true(wait_closed(f, fd, 10000));
	assert_true(ms_now() - t0 >= 290);
	calls_stats(f->b.cm, &st);
	assert_int_equal(st.idle_closed, 1);
	assert_int_equal(st.incoming, 0);
	drive(f, &f->b.n_ev, 1, 10000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_FAILED);
	assert_non_null(strstr(last(&f->b)->reason, "timed out after 300 ms (the peer sent nothing)"));

	/* half a HELLO, then nothing: an attempt that stalls, failed at the
	 * handshake deadline with its reason */
	static const uint8_t half[] = { 0, 40, 0x01, 1, 2 };

	fd = raw_connect(f, calls_listen_port(f->b.cm));
	assert_int_equal(send(fd, half, sizeof(half), 0), (ssize_t)sizeof(half));
	drive(f, &f->b.n_ev, 2, 10000, NULL);
	assert_int_equal(last(&f->b)->state, CALLS_FAILED);
	assert_non_null(strstr(last(&f->b)->reason, "did not complete the handshake"));
	assert_int_equal(table_count(&f->b), 0);
	calls_stats(f->b.cm, &st);
	assert_int_equal(st.idle_closed, 1);
}

void test_bounded_attempts(void **state)
{
	struct fixture *f = *state;
	struct calls_stats st;
	uint16_t port = calls_listen_port(f->b.cm);
	int fds[4];

	/* max_attempts 2, four sources (the per-source bound is not what is
	 * tried here). Two idle connections fill the incoming handshakes; a
	 * third evicts the oldest idle one, at once */
	fds[0] = raw_connect_from(f, "127.0.0.2", port);
	drive(f, NULL, 0, 20, NULL);
	fds[1] = raw_connect_from(f, "127.0.0.3", port);
	drive(f, NULL, 0, 20, NULL);
	fds[2] = raw_connect_from(f, "127.0.0.4", port);
	assert_true(wait_closed(f, fds[0], 3000));
	calls_stats(f->b.cm, &st);
	assert_int_equal(st.evicted_idle, 1);
	assert_int_equal(st.incoming, 2);
	/* the two left speak (one octet of a frame): no longer idle, so a
	 * fourth connection finds none to evict and is closed itself */
	assert_int_equal(send(fds[1], "\0", 1, 0), 1);
	assert_int_equal(send(fds[2], "\0", 1, 0), 1);
	fds[3] = raw_connect_from(f, "127.0.0.5", port);
	assert_true(wait_closed(f, fds[3], 3000));
	calls_stats(f->b.cm, &st);
	assert_int_equal(st.refused_full, 1);
	assert_int_equal(st.evicted_idle, 1);
	assert_int_equal(st.incoming, 2);
	/* the two that spoke fail at the handshake deadline, with an event each */
	drive(f, &f->b.n_ev, 2, 3000, NULL);
	assert_int_equal(f->b.n_ev, 2);
	for (unsigned int i = 0; i < f->b.n_ev; i++)
		assert_int_equal(f->b.ev[i].state, CALLS_FAILED);
	calls_stats(f->b.cm, &st);
	assert_int_equal(st.incoming, 0);
}

void test_garbage(void **state)
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
void test_modified_bytes(void **state)
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
