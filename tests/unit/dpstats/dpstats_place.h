/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpstats_place.h - for tests and test tools that write a statistics area as
 * the dataplane would (test_dpstats.c, test_calls_legstats.c,
 * tools/dpstats_writer.c): where the dataplane's flows put a key's row, and
 * the clock its row times are in. Not part of lib/dpstats: the dataplane
 * places rows by its own flow table (dataplane/flows.c), never by this.
 */
#ifndef CALLSEAL_TESTS_DPSTATS_PLACE_H
#define CALLSEAL_TESTS_DPSTATS_PLACE_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "callseal/dpstats.h"
#include "callseal/keytable.h"

/* The row the flows' probe gives key k on worker w (docs/dpstats.md section
 * 4): the key table's hash, then the next rows until an unused one or k's. */
static inline struct dpstats_flow *dpstats_place(struct dpstats *s, unsigned int w,
						 const struct keytable_key *k)
{
	uint32_t rows = dpstats_header(s)->rows;
	uint32_t i = (uint32_t)keytable_hash(k) & (rows - 1);
	struct dpstats_flow *r = dpstats_flows(s, w);

	while (r[i].seq != 0 && memcmp(&r[i].key, k, sizeof(*k)) != 0)
		i = (i + 1) & (rows - 1);
	return &r[i];
}

/* CLOCK_REALTIME in ns, as the area's since_ns and last_ns are. */
static inline uint64_t dpstats_place_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
