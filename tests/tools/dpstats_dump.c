/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpstats_dump.c - callseal-dpstats-dump: a test tool that attaches to a
 * dataplane's statistics area (/dev/shm/callseal.TABLE.stats) read-only,
 * independently of callseal-dataplane and callseal-control, and prints its
 * header, each worker's totals and their sum, and with --flow one key-table
 * entry's flow row summed over the workers (dpstats_read_flow).
 *
 * Text: "# table=T pid=P abi=A workers=W rows=R started_ns=S", then a line
 * per worker ("worker N lcore=L queue=Q rx_inside=... drop_auth=...") and a
 * "total ..." line, then "flow ADDR:PORT/DIR ..." (or "flow ... none").
 * --json: one object, {"table", "pid", "abi", "workers", "rows",
 * "started_ns", "total", "lcores": [...], "flow"}, where "total" and each
 * lcore have the members of callseal-dataplane's exit JSON (rx_inside ...
 * passed, "dropped": {reason: n}) plus last_rx_ns and the occupancy; "flow"
 * is null when no worker has a row for the key (no packet yet).
 * Drop-reason names are dpstats_drop_name()'s. Exit status 0, 1 if the area
 * cannot be read (the message says why: no dataplane, ABI, ...), 2 on usage.
 *
 * usage: callseal-dpstats-dump TABLE [--json] [--flow ADDR PORT in|out]
 *        (ADDR: IPv4, IPv6 or "any" for a wildcard entry's key)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callseal_version.h"
#include "callseal/dpstats.h"

static void usage(void)
{
	fprintf(stderr, "usage: callseal-dpstats-dump TABLE [--json] [--flow ADDR PORT in|out]\n");
	exit(2);
}

static int parse_key(const char *addr, const char *port, const char *dir,
		     struct keytable_key *k)
{
	uint8_t a[16];
	char *end;
	unsigned long p = strtoul(port, &end, 10);
	unsigned int d;

	if (*end != '\0' || p == 0 || p > 65535)
		return -1;
	if (strcmp(dir, "in") == 0)
		d = KEYTABLE_DIR_IN;
	else if (strcmp(dir, "out") == 0)
		d = KEYTABLE_DIR_OUT;
	else
		return -1;
	if (strcmp(addr, "any") == 0)
		keytable_key_any(k, (uint16_t)p, d);
	else if (inet_pton(AF_INET, addr, a) == 1)
		keytable_key_ipv4(k, a, (uint16_t)p, d);
	else if (inet_pton(AF_INET6, addr, a) == 1)
		keytable_key_ipv6(k, a, (uint16_t)p, d);
	else
		return -1;
	return 0;
}

/* One worker's (or the total's) counters: JSON members or text fields. */
static void print_counters(const struct dpstats_worker *w, unsigned int drops, bool json)
{
	const struct { const char *name; uint64_t v; } f[] = {
		{ "rx_inside", w->rx[DPSTATS_INSIDE] }, { "rx_outside", w->rx[DPSTATS_OUTSIDE] },
		{ "tx_inside", w->tx[DPSTATS_INSIDE] }, { "tx_outside", w->tx[DPSTATS_OUTSIDE] },
		{ "encrypted", w->encrypted }, { "decrypted", w->decrypted },
		{ "passed", w->passed }, { "last_rx_ns", w->last_rx_ns },
		{ "flows", w->flows }, { "streams", w->streams },
		{ "max_flows", w->max_flows }, { "max_streams", w->max_streams },
		{ "tentative", w->tentative }, { "max_tentative", w->max_tentative },
		{ "evictions", w->evictions },
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		printf(json ? "\"%s\": %" PRIu64 ", " : " %s=%" PRIu64, f[i].name, f[i].v);
	if (json)
		printf("\"dropped\": {");
	for (unsigned int d = 0; d < drops; d++) {
		if (json)
			printf("%s\"%s\": %" PRIu64, d ? ", " : "", dpstats_drop_name(d), w->drop[d]);
		else
			printf(" drop_%s=%" PRIu64, dpstats_drop_name(d), w->drop[d]);
	}
	if (json)
		printf("}");
}

static void print_flow(const char *name, int rc, const struct dpstats_flow *f, bool json)
{
	const struct { const char *name; uint64_t v; } v[] = {
		{ "entry_created_ns", f->entry_created_ns }, { "since_ns", f->since_ns },
		{ "generation", f->generation }, { "last_ns", f->last_ns },
		{ "packets", f->packets }, { "bytes", f->bytes }, { "auth", f->auth },
		{ "replay", f->replay }, { "index_reuse", f->index_reuse },
		{ "key_exhausted", f->key_exhausted }, { "other_drops", f->other_drops },
		{ "rows", f->seq },
	};

	if (rc != 0) {
		printf(json ? ", \"flow\": null" : "flow %s none\n", name);
		return;
	}
	printf(json ? ", \"flow\": {\"key\": \"%s\"" : "flow %s", name);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		printf(json ? ", \"%s\": %" PRIu64 : " %s=%" PRIu64, v[i].name, v[i].v);
	printf(json ? "}" : "\n");
}

int main(int argc, char **argv)
{
	char err[256], flow_name[128] = "";
	struct dpstats *s = NULL;
	struct dpstats_worker w, sum;
	struct dpstats_flow fl;
	struct keytable_key key;
	const char *table = NULL;
	bool json = false, want_flow = false;
	int rc, frc = -ENOENT;

	if (callseal_version_arg(argc, argv, "callseal-dpstats-dump"))
		return 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--flow") == 0) {
			if (i + 3 >= argc)
				usage();
			if (parse_key(argv[i + 1], argv[i + 2], argv[i + 3], &key) != 0) {
				fprintf(stderr, "callseal-dpstats-dump: --flow takes ADDR PORT in|out, "
					"not '%s %s %s'\n", argv[i + 1], argv[i + 2], argv[i + 3]);
				return 2;
			}
			snprintf(flow_name, sizeof(flow_name), "%s:%s/%s", argv[i + 1],
				 argv[i + 2], argv[i + 3]);
			want_flow = true;
			i += 3;
		} else if (argv[i][0] == '-' || table != NULL) {
			usage();
		} else {
			table = argv[i];
		}
	}
	if (table == NULL)
		usage();
	if ((rc = dpstats_attach(&s, table, err, sizeof(err))) != 0) {
		fprintf(stderr, "callseal-dpstats-dump: %s\n", err);
		return 1;
	}
	const struct dpstats_header *h = dpstats_header(s);
	unsigned int drops = h->drop_count < DPSTATS_DROP_COUNT ? h->drop_count : DPSTATS_DROP_COUNT;
	char tname[KEYTABLE_NAME_MAX + 1];

	memcpy(tname, h->table, KEYTABLE_NAME_MAX);
	tname[KEYTABLE_NAME_MAX] = '\0';
	if (json)
		printf("{\"table\": \"%s\", \"pid\": %u, \"abi\": %u, \"workers\": %u, "
		       "\"rows\": %u, \"started_ns\": %" PRIu64 ", \"lcores\": [", tname, h->pid,
		       h->abi_version, h->workers, h->rows, h->started_ns);
	else
		printf("# table=%s pid=%u abi=%u workers=%u rows=%u started_ns=%" PRIu64 "\n",
		       tname, h->pid, h->abi_version, h->workers, h->rows, h->started_ns);
	memset(&sum, 0, sizeof(sum));
	for (unsigned int i = 0; i < h->workers; i++) {
		if (dpstats_read_worker(s, i, &w) != 0)
			continue;
		dpstats_add(&sum, &w, DPSTATS_DROP_SLOTS);
		if (json)
			printf("%s{\"worker\": %u, \"lcore\": %u, \"queue\": %u, ", i ? ", " : "", i,
			       w.lcore_id, w.queue);
		else
			printf("worker %u lcore=%u queue=%u", i, w.lcore_id, w.queue);
		print_counters(&w, drops, json);
		printf(json ? "}" : "\n");
	}
	printf(json ? "], \"total\": {" : "total");
	print_counters(&sum, drops, json);
	printf(json ? "}" : "\n");
	if (want_flow) {
		frc = dpstats_read_flow(s, &key, 0, &fl);
		print_flow(flow_name, frc, &fl, json);
	} else if (json) {
		printf(", \"flow\": null");
	}
	if (json)
		printf("}\n");
	dpstats_detach(s);
	return 0;
}
