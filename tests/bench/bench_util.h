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
/* Mean of the n samples in v without those over limit_x times their median
 * (interrupted or preempted on a shared machine); adds the number left out
 * to *left_out. scratch holds n doubles. */
double bench_mean_kept(const double *v, size_t n, double limit_x, double *scratch,
		       size_t *left_out);
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
 * table "goals" with columns ratio, goal and met (1/0). Returns met.
 */
int bench_goal(const char *name, double ratio, double goal, int higher_is_better);

/*
 * Why a goal is missed (or what its figure means), for the report: one row
 * "goals,NAME,why,0,TEXT" (the text in the unit field, commas replaced by
 * spaces). Call it after bench_goal with the same name, when the benchmark
 * knows a reason; the report prints it beside a goal that is NOT met.
 */
void bench_goal_why(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Facts about the run for the report: table "meta", e.g.
 * bench_meta("tsc", bench_tsc_hz() / 1e9, "GHz"). */
void bench_meta(const char *what, double value, const char *unit);

#endif
