/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_util.h - TSC timing helpers shared by the benchmarks. */
#ifndef CALLSEAL_BENCH_UTIL_H
#define CALLSEAL_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <x86intrin.h>

static inline uint64_t bench_tsc(void)
{
	return __rdtsc();
}

/* TSC ticks per second, measured against CLOCK_MONOTONIC over ~100 ms. */
double bench_tsc_hz(void);
/* Median of n doubles (sorts v). */
double bench_median(double *v, size_t n);
/* "AMD EPYC ..." from /proc/cpuinfo, or "unknown CPU". */
const char *bench_cpu_name(void);

/*
 * Rows for scripts/bench's report. When CALLSEAL_BENCH_CSV names a file, every
 * call appends one CSV line to it:
 *
 *   bench,table,row,column,value,unit
 *
 * bench is the program's name less "callseal-bench-" (srtp, dataplane, ...);
 * table, row and column are what the printed table calls them (commas and
 * quotes are replaced by spaces). Without the variable the calls do nothing,
 * so the printed tables stay the benchmarks' only output.
 */
void bench_csv(const char *table, const char *row, const char *column,
	       double value, const char *unit);

/*
 * One goal from the issues, as measured in this run: ratio is the measured
 * figure (e.g. callseal cost / bound cost) and goal the limit it must meet;
 * higher_is_better says which side of the limit passes. Printed as one line
 * ("goal NAME: 1.24x (goal <= 1.30x): met") and written to the CSV as
 * table "goals" with columns ratio, goal and met (1/0).
 */
void bench_goal(const char *name, double ratio, double goal, int higher_is_better);

#endif
