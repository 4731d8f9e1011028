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
 */
#include <arpa/inet.h>
#include <errno.h>
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

	if ((argc != 4 && argc != 6) || sscanf(argv[2], "%63[0-9.]:%u", host, &port) != 2 ||
	    inet_pton(AF_INET, host, ip) != 1 || port > 65535 ||
	    sscanf(argv[3], "%u", &secs) != 1 ||
	    (argc == 6 && (sscanf(argv[4], "%u", &after) != 1 ||
			   sscanf(argv[5], "%llu", &reuse) != 1))) {
		fprintf(stderr, "usage: callseal-dpstats-writer TABLE IP:PORT SECONDS "
			"[AFTER_S INDEX_REUSE]\n");
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
