/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.c - dataplane statistics: sums, the exit report, JSON, telemetry.
 * The counters are the workers' blocks of the statistics area (or their own
 * blocks without one); drop-reason names are dpstats_drop_name()'s.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_telemetry.h>

#include "dp.h"

const char *dp_drop_name(enum dp_drop d)
{
	return dpstats_drop_name((unsigned)d);
}

static inline uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void add(struct dpstats_worker *sum, const struct dpstats_worker *s)
{
	for (int p = 0; p < 2; p++) {
		sum->rx[p] += ld(&s->rx[p]);
		sum->tx[p] += ld(&s->tx[p]);
	}
	sum->encrypted += ld(&s->encrypted);
	sum->decrypted += ld(&s->decrypted);
	sum->passed += ld(&s->passed);
	for (int d = 0; d < DP_DROP_MAX; d++)
		sum->drop[d] += ld(&s->drop[d]);
}

void dp_stats_sum(struct dpstats_worker *sum, const struct dp_lcore *lcs, unsigned n)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned i = 0; i < n; i++)
		add(sum, lcs[i].stats);
}

/* One stats object as JSON members (no braces). */
static void json_members(FILE *f, const struct dpstats_worker *s)
{
	fprintf(f, "\"rx_inside\": %lu, \"rx_outside\": %lu, \"tx_inside\": %lu, "
		"\"tx_outside\": %lu, \"encrypted\": %lu, \"decrypted\": %lu, "
		"\"passed\": %lu, \"dropped\": {",
		s->rx[DP_PORT_INSIDE], s->rx[DP_PORT_OUTSIDE], s->tx[DP_PORT_INSIDE],
		s->tx[DP_PORT_OUTSIDE], s->encrypted, s->decrypted, s->passed);
	for (int d = 0; d < DP_DROP_MAX; d++)
		fprintf(f, "%s\"%s\": %lu", d ? ", " : "", dp_drop_name((enum dp_drop)d), s->drop[d]);
	fprintf(f, "}");
}

static void json(FILE *f, const struct dp_lcore *lcs, unsigned n)
{
	struct dpstats_worker sum;
	dp_stats_sum(&sum, lcs, n);
	fprintf(f, "{\"total\": {");
	json_members(f, &sum);
	fprintf(f, "}, \"lcores\": [");
	for (unsigned i = 0; i < n; i++) {
		struct dpstats_worker one;
		memset(&one, 0, sizeof(one));
		add(&one, lcs[i].stats);
		fprintf(f, "%s{\"lcore\": %u, \"queue\": %u, ", i ? ", " : "",
			lcs[i].lcore_id, lcs[i].queue);
		json_members(f, &one);
		fprintf(f, "}");
	}
	fprintf(f, "]}\n");
}

void dp_stats_print(FILE *f, const struct dp_lcore *lcs, unsigned n)
{
	fprintf(f, "callseal-dataplane statistics: ");
	json(f, lcs, n);
}

int dp_stats_write_json(const char *path, const struct dp_lcore *lcs, unsigned n)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -errno;
	json(f, lcs, n);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -errno;
	return 0;
}

/* ---- DPDK telemetry: /callseal/stats --------------------------------------- */

static const struct dp_lcore *tel_lcs;
static unsigned tel_n;

static void tel_fill(struct rte_tel_data *d, const struct dpstats_worker *s)
{
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "rx_inside", s->rx[DP_PORT_INSIDE]);
	rte_tel_data_add_dict_u64(d, "rx_outside", s->rx[DP_PORT_OUTSIDE]);
	rte_tel_data_add_dict_u64(d, "tx_inside", s->tx[DP_PORT_INSIDE]);
	rte_tel_data_add_dict_u64(d, "tx_outside", s->tx[DP_PORT_OUTSIDE]);
	rte_tel_data_add_dict_u64(d, "encrypted", s->encrypted);
	rte_tel_data_add_dict_u64(d, "decrypted", s->decrypted);
	rte_tel_data_add_dict_u64(d, "passed", s->passed);
	/* "dropped": {reason: n}, the exit JSON's object and names */
	struct rte_tel_data *dropped = rte_tel_data_alloc();
	if (dropped == NULL)
		return;
	rte_tel_data_start_dict(dropped);
	for (int i = 0; i < DP_DROP_MAX; i++)
		rte_tel_data_add_dict_u64(dropped, dp_drop_name((enum dp_drop)i), s->drop[i]);
	if (rte_tel_data_add_dict_container(d, "dropped", dropped, 0) != 0)
		rte_tel_data_free(dropped);
}

static int tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd;
	struct dpstats_worker sum;

	if (params != NULL && *params != '\0') {
		/* /callseal/stats,N: one lcore's (by its index in the worker list) */
		char *end;
		unsigned long i = strtoul(params, &end, 10);
		if (*end != '\0' || i >= tel_n)
			return -EINVAL;
		memset(&sum, 0, sizeof(sum));
		add(&sum, tel_lcs[i].stats);
	} else {
		dp_stats_sum(&sum, tel_lcs, tel_n);
	}
	tel_fill(d, &sum);
	return 0;
}

int dp_stats_telemetry_register(const struct dp_lcore *lcs, unsigned n)
{
	tel_lcs = lcs;
	tel_n = n;
	return rte_telemetry_register_cmd("/callseal/stats", tel_stats,
		"callseal-dataplane counters, total; with a parameter N, worker N's");
}
