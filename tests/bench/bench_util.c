/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_tsc_hz(void)
{
	double t0 = now();
	uint64_t c0 = bench_tsc();
	while (now() - t0 < 0.1)
		;
	double t1 = now();
	uint64_t c1 = bench_tsc();
	return (double)(c1 - c0) / (t1 - t0);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_mean_kept(const double *v, size_t n, double limit_x, double *scratch,
		       size_t *left_out)
{
	double sum = 0, limit;
	size_t kept = 0;

	memcpy(scratch, v, n * sizeof(*v));
	limit = limit_x * bench_median(scratch, n);
	for (size_t i = 0; i < n; i++) {
		if (v[i] <= limit) {
			sum += v[i];
			kept++;
		}
	}
	*left_out += n - kept;
	return kept ? sum / (double)kept : 0;
}

const char *bench_cpu_name(void)
{
	static char name[128] = "unknown CPU";
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f == NULL)
		return name;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');
			if (c) {
				snprintf(name, sizeof(name), "%s", c + 2);
				name[strcspn(name, "\n")] = 0;
			}
			break;
		}
	}
	fclose(f);
	return name;
}

static void csv_field(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ',' || *s == '"' || *s == '\n' ? ' ' : *s, f);
}

void bench_csv(const char *table, const char *row, const char *column,
	       double value, const char *unit)
{
	const char *path = getenv("CALLSEAL_BENCH_CSV");
	if (path == NULL || *path == 0)
		return;
	FILE *f = fopen(path, "a");
	if (f == NULL) {
		fprintf(stderr, "bench: cannot append to %s: %s\n", path, strerror(errno));
		return;
	}
	const char *bench = program_invocation_short_name;
	if (strncmp(bench, "callseal-bench-", 15) == 0)
		bench += 15;
	const char *fields[] = { bench, table, row, column };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		csv_field(f, fields[i]);
		fputc(',', f);
	}
	fprintf(f, "%.6g,", value);
	csv_field(f, unit);
	fputc('\n', f);
	fclose(f);
}

int bench_goal(const char *name, double ratio, double goal, int higher_is_better)
{
	int met = higher_is_better ? ratio >= goal : ratio <= goal;
	printf("goal %s: %.2fx (goal %s %.2fx): %s\n", name, ratio,
	       higher_is_better ? ">=" : "<=", goal, met ? "met" : "NOT met");
	bench_csv("goals", name, "ratio", ratio, "x");
	bench_csv("goals", name, "goal", goal, higher_is_better ? "x min" : "x max");
	bench_csv("goals", name, "met", met, "bool");
	return met;
}

void bench_goal_why(const char *name, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	printf("  why: %s\n", text);
	bench_csv("goals", name, "why", 0, text);
}

void bench_meta(const char *what, double value, const char *unit)
{
	bench_csv("meta", what, "value", value, unit);
}
