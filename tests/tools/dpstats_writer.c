/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpstats_writer.c - callseal-dpstats-writer: a test tool that plays the
 * dataplane's part in its statistics area (include/callseal/dpstats.h) for
 * the integration scripts, before and besides the real dataplane:
 *
 *   callseal-dpstats-writer TABLE IP:PORT SECONDS [AFTER_S INDEX_REUSE]
 *
 * creates /dev/shm/callseal.TABLE.stats (1 worker, 64 rows), places the rows
 * of the key-table entries (IP:PORT, out) and (IP:PORT, in) where the flows'
 * probe would, for their entry instance (created_ns, read from the table
 * read-only), with fixed counters (out: 100 packets, 17200 bytes; in: 90
 * packets, 15480 bytes, 2 replay), raises out's index_reuse to INDEX_REUSE
 * after AFTER_S seconds, and removes the area after SECONDS. Prints "ready"
 * once the rows are in place. No key bytes are printed or kept.
 *
 *   callseal-dpstats-writer --totals TABLE WORKERS
 *
 * (no key table needed) creates /dev/shm/callseal.TABLE.stats with WORKERS
 * worker blocks whose totals are set to a fixed pattern: worker w has lcore
 * w + 1, queue w, rx_inside 1000 + w, rx_outside 2000 + w, tx_inside
 * 3000 + w, tx_outside 4000 + w, encrypted 5000 + w, decrypted 6000 + w,
 * passed 7000 + w, drop[d] 10 x (d + 1) + w, flows 10 + w of 1024, streams
 * 20 + w of 4096, tentative w of 256, evictions 30 + w. Prints "ready pid
 * PID"; each SIGUSR1 adds 500 to every worker's rx_inside and encrypted and
 * 7 to its auth drops, then prints "bumped N" (N bumps so far). SIGTERM or
 * SIGINT: removes the area and exits 0 (SIGKILL leaves it, as a dead
 * dataplane does).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "callseal_version.h"
#include "callseal/dpstats.h"
#include "callseal/keytable.h"
#include "../unit/dpstats/dpstats_place.h"

/* The row of key on worker 0, where the flows' probe places it, assigned to
 * the entry's instance. NULL without the entry. */
static struct dpstats_flow *row(struct dpstats *s, struct keytable *t, const uint8_t ip[4],
				uint16_t port, unsigned int dir)
{
	struct dpstats_flow *r;
	struct keytable_entry e;
	struct keytable_key k;
	uint64_t created;

	keytable_key_ipv4(&k, ip, port, dir);
	if (keytable_get(t, &k, &e, NULL) != 0)
		return NULL;
	created = e.created_ns;
	keytable_wipe(&e, sizeof(e));
	r = dpstats_place(s, 0, &k);
	dpstats_flow_assign(r, &k, created, dpstats_place_now_ns());
	return r;
}

/* --totals TABLE WORKERS: worker totals only, bumped on SIGUSR1. */
static int totals(const char *table, const char *nw)
{
	struct dpstats *s = NULL;
	unsigned int workers, bumps = 0;
	sigset_t set;
	char err[256];
	int sig;

	if (sscanf(nw, "%u", &workers) != 1 || workers == 0 || workers > DPSTATS_WORKERS_MAX) {
		fprintf(stderr, "callseal-dpstats-writer: --totals: WORKERS is 1..%u\n",
			DPSTATS_WORKERS_MAX);
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (dpstats_create(&s, table, workers, 16, err, sizeof(err)) != 0) {
		fprintf(stderr, "callseal-dpstats-writer: %s\n", err);
		return 1;
	}
	for (unsigned int w = 0; w < workers; w++) {
		struct dpstats_worker *b = dpstats_worker(s, w);

		b->lcore_id = w + 1;
		b->queue = (uint16_t)w;
		b->rx[DPSTATS_INSIDE] = 1000 + w;
		b->rx[DPSTATS_OUTSIDE] = 2000 + w;
		b->tx[DPSTATS_INSIDE] = 3000 + w;
		b->tx[DPSTATS_OUTSIDE] = 4000 + w;
		b->encrypted = 5000 + w;
		b->decrypted = 6000 + w;
		b->passed = 7000 + w;
		for (unsigned int d = 0; d < DPSTATS_DROP_COUNT; d++)
			b->drop[d] = 10 * (d + 1) + w;
		b->flows = 10 + w;
		b->max_flows = 1024;
		b->streams = 20 + w;
		b->max_streams = 4096;
		b->tentative = w;
		b->max_tentative = 256;
		b->evictions = 30 + w;
		b->last_rx_ns = dpstats_place_now_ns();
	}
	printf("ready pid %d\n", (int)getpid());
	fflush(stdout);
	while (sigwait(&set, &sig) == 0 && sig == SIGUSR1) {
		for (unsigned int w = 0; w < workers; w++) {
			struct dpstats_worker *b = dpstats_worker(s, w);

			__atomic_store_n(&b->rx[DPSTATS_INSIDE], b->rx[DPSTATS_INSIDE] + 500,
					 __ATOMIC_RELAXED);
			__atomic_store_n(&b->encrypted, b->encrypted + 500, __ATOMIC_RELAXED);
			__atomic_store_n(&b->drop[DPSTATS_DROP_AUTH], b->drop[DPSTATS_DROP_AUTH] + 7,
					 __ATOMIC_RELAXED);
		}
		printf("bumped %u\n", ++bumps);
		fflush(stdout);
	}
	dpstats_destroy(s);
	return 0;
}

int main(int argc, char **argv)
{
	char err[256], host[64];
	struct dpstats *s = NULL;
	struct keytable *t = NULL;
	struct dpstats_flow *o, *in;
	unsigned int port, secs, after = 0;
	unsigned long long reuse = 0;
	uint8_t ip[4];

	if (callseal_version_arg(argc, argv, "callseal-dpstats-writer"))
		return 0;
	if (argc == 4 && strcmp(argv[1], "--totals") == 0)
		return totals(argv[2], argv[3]);
	if ((argc != 4 && argc != 6) || sscanf(argv[2], "%63[0-9.]:%u", host, &port) != 2 ||
	    inet_pton(AF_INET, host, ip) != 1 || port > 65535 ||
	    sscanf(argv[3], "%u", &secs) != 1 ||
	    (argc == 6 && (sscanf(argv[4], "%u", &after) != 1 ||
			   sscanf(argv[5], "%llu", &reuse) != 1))) {
		fprintf(stderr, "usage: callseal-dpstats-writer TABLE IP:PORT SECONDS "
			"[AFTER_S INDEX_REUSE]\n"
			"       callseal-dpstats-writer --totals TABLE WORKERS\n");
		return 2;
	}
	if (keytable_attach_reader(&t, argv[1], err, sizeof(err)) != 0 ||
	    dpstats_create(&s, argv[1], 1, 64, err, sizeof(err)) != 0) {
		fprintf(stderr, "callseal-dpstats-writer: %s\n", err);
		keytable_detach(t);
		return 1;
	}
	o = row(s, t, ip, (uint16_t)port, KEYTABLE_DIR_OUT);
	in = row(s, t, ip, (uint16_t)port, KEYTABLE_DIR_IN);
	if (!o || !in) {
		fprintf(stderr, "callseal-dpstats-writer: no entries for %s in table %s\n",
			argv[2], argv[1]);
		dpstats_destroy(s);
		keytable_detach(t);
		return 1;
	}
	o->packets = 100;
	o->bytes = 17200;
	o->last_ns = dpstats_place_now_ns();
	in->packets = 90;
	in->bytes = 15480;
	in->replay = 2;
	in->last_ns = dpstats_place_now_ns();
	printf("ready\n");
	fflush(stdout);
	for (unsigned int i = 0; i < secs; i++) {
		if (argc == 6 && i == after)
			__atomic_store_n(&o->index_reuse, (uint64_t)reuse, __ATOMIC_RELAXED);
		sleep(1);
	}
	dpstats_destroy(s);
	keytable_detach(t);
	return 0;
}
