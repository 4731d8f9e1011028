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

#endif
