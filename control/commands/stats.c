/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.c - the stats command of callseal-control: the dataplane's counters
 * from the statistics area of the daemon's table (include/callseal/dpstats.h,
 * docs/operations.md "Statistics"), as text, JSON or the Prometheus text
 * format 0.0.4.
 *
 * The area is followed with dpstats_follow() (attached when it appears,
 * again when its dataplane is replaced). A request reads it live: memory
 * loads, a stat(2) and an fcntl(2) of /dev/shm, never a wait. Rates come from
 * two readings kept here, each with its CLOCK_MONOTONIC time: a request at
 * least STATS_INTERVAL_NS after the newest reading makes a new one (the
 * newest becomes the previous), so the rates cover the interval between the
 * last two readings (at least 1 s, as long as requests are apart); the
 * first reading of an area has no rate. A new area (a restarted dataplane)
 * starts over.
 *
 * Every name printed comes from DPSTATS_COUNTERS and DPSTATS_DROPS (the one
 * list of each) or from the table of this file's own gauges. The Prometheus
 * text has one generator, stats_prometheus(): `stats --prometheus` and the
 * HTTP server of --metrics (control/daemon/metrics.c) both call it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "callseal/dpstats.h"
#include "handler.h"

#define STATS_INTERVAL_NS 1000000000u   /* readings at least 1 s apart */
#define PROM_PREFIX       "callseal_dataplane_"
#define NS                1000000000u

struct ctl_stats {
	struct dpstats_follow f;
	char why[ADMIN_MSG_MAX / 2];       /* why the last attach failed */
	uint64_t epoch;                    /* f.epoch of the readings */
	unsigned int workers;              /* of the readings */
	struct dpstats_worker *live, *prev, *cur;   /* workers each */
	uint64_t prev_ns, cur_ns;          /* CLOCK_MONOTONIC; 0: no reading */
};

int stats_create(struct ctl *c, char *err, size_t errlen)
{
	struct ctl_stats *st = calloc(1, sizeof(*st));
	int rc;

	if (st == NULL)
		return -ENOMEM;
	if ((rc = dpstats_follow_init(&st->f, c->table_name, err, errlen)) < 0) {
		free(st);
		return rc;
	}
	c->stats = st;
	return 0;
}

void stats_destroy(struct ctl *c)
{
	struct ctl_stats *st = c->stats;

	if (st == NULL)
		return;
	dpstats_follow_fini(&st->f);
	free(st->live);
	free(st);
	c->stats = NULL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

/* The area current and read into st->live; the readings moved on. 0, or
 * -ENOENT (no area: st->why may say why), -ENOMEM. */
static int take(struct ctl_stats *st)
{
	const struct dpstats_header *h;
	char err[sizeof(st->why)];
	uint64_t t;

	if (dpstats_follow(&st->f, err, sizeof(err)) == DPSTATS_FOLLOW_FAILED)
		snprintf(st->why, sizeof(st->why), "%s", err);
	if (st->f.area == NULL)
		return -ENOENT;
	h = dpstats_header(st->f.area);
	if (st->epoch != st->f.epoch || st->workers != h->workers) {
		/* another area: its counters start from 0, no rate across */
		struct dpstats_worker *w = calloc(3 * (size_t)h->workers, sizeof(*w));

		if (w == NULL)
			return -ENOMEM;
		free(st->live);
		st->live = w;
		st->prev = w + h->workers;
		st->cur = w + 2 * (size_t)h->workers;
		st->workers = h->workers;
		st->epoch = st->f.epoch;
		st->prev_ns = st->cur_ns = 0;
	}
	for (unsigned int i = 0; i < st->workers; i++)
		(void)dpstats_read_worker(st->f.area, i, &st->live[i]);
	t = mono_ns();
	if (st->cur_ns == 0 || t - st->cur_ns >= STATS_INTERVAL_NS) {
		struct dpstats_worker *old = st->prev;

		st->prev = st->cur;
		st->prev_ns = st->cur_ns;
		st->cur = old;
		st->cur_ns = t;
		memcpy(st->cur, st->live, st->workers * sizeof(*st->cur));
	}
	return 0;
}

/* ---- output ------------------------------------------------------------------ */

__attribute__((format(printf, 2, 3)))
static void out(const struct stats_emit *e, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		e->write(e->ctx, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* What one view (the total, or one worker) shows: its counters now, and the
 * two readings the rates come from (NULL: no rate). */
struct view {
	struct dpstats_worker now, a, b;
	bool rate;
	double secs;
};

static unsigned int drops_of(const struct dpstats_header *h)
{
	return h->drop_count < DPSTATS_DROP_COUNT ? h->drop_count : DPSTATS_DROP_COUNT;
}

static uint64_t dropped(const struct dpstats_worker *w, unsigned int drops)
{
	uint64_t n = 0;

	for (unsigned int d = 0; d < drops; d++)
		n += w->drop[d];
	return n;
}

/* Worker i's view, or the total's (i = workers). */
static void view_of(const struct ctl_stats *st, unsigned int i, unsigned int drops,
		    struct view *v)
{
	unsigned int lo = i < st->workers ? i : 0, hi = i < st->workers ? i + 1 : st->workers;

	memset(v, 0, sizeof(*v));
	for (unsigned int k = lo; k < hi; k++) {
		dpstats_add(&v->now, &st->live[k], drops);
		dpstats_add(&v->a, &st->prev[k], drops);
		dpstats_add(&v->b, &st->cur[k], drops);
	}
	v->rate = st->prev_ns != 0;
	v->secs = v->rate ? (double)(st->cur_ns - st->prev_ns) / NS : 0;
	if (i < st->workers) {
		v->now.lcore_id = st->live[i].lcore_id;
		v->now.queue = st->live[i].queue;
	}
}

/* The counter's name as text and JSON show it: "rx_inside", "encrypted". */
static const char *shown(const struct dpstats_counter *c, unsigned int p, char buf[64])
{
	if (c->ports == 1)
		snprintf(buf, 64, "%s", c->name);
	else
		snprintf(buf, 64, "%s_%s", c->name, dpstats_port_name(p));
	return buf;
}

/* A per-second rate of a counter between the two readings. */
static double per_s(uint64_t a, uint64_t b, double secs)
{
	return secs > 0 && b >= a ? (double)(b - a) / secs : 0;
}

/* The rows [from, to) of DPSTATS_COUNTERS: "name value" (or, rates, the
 * counters' "name n.n/s"), sep between. */
static void text_rows(const struct stats_emit *e, const struct view *v, unsigned int from,
		      unsigned int to, bool rates)
{
	const char *sep = "";
	char nb[64];

	for (unsigned int i = from; i < to; i++) {
		const struct dpstats_counter *c = &dpstats_counters[i];

		for (unsigned int p = 0; p < c->ports; p++) {
			if (rates && !c->counter)
				continue;
			if (rates)
				out(e, "%s%s %.1f/s", sep, shown(c, p, nb),
				    per_s(dpstats_value(&v->a, c, p), dpstats_value(&v->b, c, p),
					  v->secs));
			else
				out(e, "%s%s %" PRIu64, sep, shown(c, p, nb),
				    dpstats_value(&v->now, c, p));
			sep = ", ";
		}
	}
}

static void text_view(const struct stats_emit *e, const char *lead, const struct view *v,
		      unsigned int drops)
{
	uint64_t n = dropped(&v->now, drops);

	out(e, "%s: ", lead);
	text_rows(e, v, 0, DPSTATS_COUNTER_flows, false);
	out(e, "\n  dropped %" PRIu64, n);
	/* the reasons that dropped something (--json and --prometheus list all) */
	for (unsigned int d = 0, k = 0; d < drops; d++)
		if (v->now.drop[d] != 0)
			out(e, "%s%s %" PRIu64, k++ ? ", " : ": ", dpstats_drop_name(d),
			    v->now.drop[d]);
	out(e, "\n  ");
	text_rows(e, v, DPSTATS_COUNTER_flows, DPSTATS_COUNTER_COUNT, false);
	if (!v->rate) {
		out(e, "\n  rate: n/a (first reading)\n");
		return;
	}
	out(e, "\n  rate over the last %.2f s: ", v->secs);
	text_rows(e, v, 0, DPSTATS_COUNTER_flows, true);
	out(e, ", dropped %.1f/s\n", per_s(dropped(&v->a, drops), dropped(&v->b, drops),
					    v->secs));
}

/* A JSON object's members of one view (no braces). */
static void json_view(const struct stats_emit *e, const struct view *v, unsigned int drops)
{
	char nb[64];

	for (unsigned int i = 0; i < DPSTATS_COUNTER_COUNT; i++) {
		const struct dpstats_counter *c = &dpstats_counters[i];

		for (unsigned int p = 0; p < c->ports; p++)
			out(e, "\"%s\": %" PRIu64 ", ", shown(c, p, nb), dpstats_value(&v->now, c, p));
	}
	out(e, "\"last_rx_ns\": %" PRIu64 ", \"dropped\": {", v->now.last_rx_ns);
	for (unsigned int d = 0; d < drops; d++)
		out(e, "%s\"%s\": %" PRIu64, d ? ", " : "", dpstats_drop_name(d), v->now.drop[d]);
	out(e, "}, \"rates\": ");
	if (!v->rate) {
		out(e, "null");
		return;
	}
	out(e, "{");
	for (unsigned int i = 0; i < DPSTATS_COUNTER_COUNT; i++) {
		const struct dpstats_counter *c = &dpstats_counters[i];

		for (unsigned int p = 0; c->counter && p < c->ports; p++)
			out(e, "\"%s\": %.3f, ", shown(c, p, nb),
			    per_s(dpstats_value(&v->a, c, p), dpstats_value(&v->b, c, p), v->secs));
	}
	out(e, "\"dropped\": %.3f}", per_s(dropped(&v->a, drops), dropped(&v->b, drops), v->secs));
}

/* ---- Prometheus text format 0.0.4 --------------------------------------------- */

/* This file's own gauges, besides DPSTATS_COUNTERS and the drops. */
enum { G_UP, G_START, G_WORKERS, G_COUNT };
static const struct { const char *name, *help; } gauges[G_COUNT] = {
	[G_UP] = { "up", "1 while the table's callseal-dataplane runs (its statistics area is "
		   "there and it holds the area's lock), else 0" },
	[G_START] = { "start_time_seconds", "when the running (or last) callseal-dataplane "
		      "started, seconds since the epoch" },
	[G_WORKERS] = { "workers", "worker lcores (queue pairs) of the dataplane" },
};
#define LABEL_WORKER "worker"
#define LABEL_PORT   "port"
#define LABEL_REASON "reason"
#define DROPPED_NAME "dropped"
#define DROPPED_HELP "packets dropped, by reason (DPSTATS_DROPS; docs/operations.md " \
		     "\"Statistics\" says what each means and what to do)"

/* "# HELP" and "# TYPE" of a family; name gets its full name. */
static void family(const struct stats_emit *e, const char *base, bool counter, const char *help,
		   char name[96])
{
	snprintf(name, 96, PROM_PREFIX "%s%s", base, counter ? "_total" : "");
	out(e, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, counter ? "counter" : "gauge");
}

static void prometheus(const struct stats_emit *e, const struct ctl_stats *st, bool up)
{
	const struct dpstats_header *h = st->f.area ? dpstats_header(st->f.area) : NULL;
	unsigned int drops = h ? drops_of(h) : 0;
	char name[96];

	family(e, gauges[G_UP].name, false, gauges[G_UP].help, name);
	out(e, "%s %d\n", name, up ? 1 : 0);
	if (h == NULL)
		return;
	family(e, gauges[G_START].name, false, gauges[G_START].help, name);
	out(e, "%s %" PRIu64 ".%09" PRIu64 "\n", name, h->started_ns / NS, h->started_ns % NS);
	family(e, gauges[G_WORKERS].name, false, gauges[G_WORKERS].help, name);
	out(e, "%s %u\n", name, st->workers);
	for (unsigned int i = 0; i < DPSTATS_COUNTER_COUNT; i++) {
		const struct dpstats_counter *c = &dpstats_counters[i];

		family(e, c->prom, c->counter, c->help, name);
		for (unsigned int w = 0; w < st->workers; w++)
			for (unsigned int p = 0; p < c->ports; p++)
				if (c->ports == 1)
					out(e, "%s{" LABEL_WORKER "=\"%u\"} %" PRIu64 "\n", name, w,
					    dpstats_value(&st->live[w], c, p));
				else
					out(e, "%s{" LABEL_WORKER "=\"%u\"," LABEL_PORT "=\"%s\"} %"
					    PRIu64 "\n", name, w, dpstats_port_name(p),
					    dpstats_value(&st->live[w], c, p));
	}
	family(e, DROPPED_NAME, true, DROPPED_HELP, name);
	for (unsigned int w = 0; w < st->workers; w++)
		for (unsigned int d = 0; d < drops; d++)
			out(e, "%s{" LABEL_WORKER "=\"%u\"," LABEL_REASON "=\"%s\"} %" PRIu64 "\n",
			    name, w, dpstats_drop_name(d), st->live[w].drop[d]);
}

int stats_prometheus(struct ctl *c, const struct stats_emit *e)
{
	struct ctl_stats *st = c->stats;
	int rc = take(st);

	if (rc == -ENOMEM)
		return rc;
	/* always an answer: up 0 without a running dataplane */
	prometheus(e, st, rc == 0 && dpstats_writer_alive(st->f.area) == 1);
	return 0;
}

/* ---- the command ---------------------------------------------------------------- */

static void to_reply(void *ctx, const char *s, size_t n)
{
	admin_out_write(ctx, s, n);
}

static void text(const struct stats_emit *e, const struct ctl_stats *st, int alive)
{
	const struct dpstats_header *h = dpstats_header(st->f.area);
	unsigned int drops = drops_of(h);
	char tb[KEYSPEC_TIME_STR], lead[96];
	struct view v;

	out(e, "dataplane of table %s: callseal-dataplane pid %u, %s, started %s, %u worker%s\n",
	    st->f.table, h->pid, alive == 1 ? "running" : alive == 0 ?
	    "not running (its last counters)" : "running or not (cannot tell)",
	    keyspec_format_time(h->started_ns, tb), st->workers, st->workers == 1 ? "" : "s");
	view_of(st, st->workers, drops, &v);
	text_view(e, "total", &v, drops);
	for (unsigned int w = 0; w < st->workers; w++) {
		view_of(st, w, drops, &v);
		snprintf(lead, sizeof(lead), "worker %u (lcore %u, queue %u)", w, v.now.lcore_id,
			 v.now.queue);
		text_view(e, lead, &v, drops);
	}
}

static void json(const struct stats_emit *e, const struct ctl_stats *st, int alive)
{
	const struct dpstats_header *h = dpstats_header(st->f.area);
	unsigned int drops = drops_of(h);
	struct view v;

	/* a table name is A-Z a-z 0-9 . _ - (keytable.h): nothing to escape */
	out(e, "{\"table\": \"%s\", \"up\": %s, \"pid\": %u, \"started_ns\": %" PRIu64 ", \"abi\": %u, "
	    "\"interval_s\": ", st->f.table, alive == 1 ? "true" : "false", h->pid, h->started_ns,
	    h->abi_version);
	view_of(st, st->workers, drops, &v);
	if (v.rate)
		out(e, "%.3f", v.secs);
	else
		out(e, "null");
	out(e, ", \"total\": {");
	json_view(e, &v, drops);
	out(e, "}, \"workers\": [");
	for (unsigned int w = 0; w < st->workers; w++) {
		view_of(st, w, drops, &v);
		out(e, "%s{\"worker\": %u, \"lcore\": %u, \"queue\": %u, ", w ? ", " : "", w,
		    v.now.lcore_id, v.now.queue);
		json_view(e, &v, drops);
		out(e, "}");
	}
	out(e, "]}\n");
}

int cmd_stats(struct ctl *c, int argc, const char *const argv[], char *msg, size_t msglen)
{
	struct ctl_stats *st = c->stats;
	const struct stats_emit e = { to_reply, &c->out };
	struct opts_parsed p;
	int rc, alive;

	/* checked again here (the socket is not trusted) */
	if ((rc = commands_table[c->cmd].check(c->cmd, argc, argv, msg, msglen)) < 0 ||
	    (rc = commands_opts(c->cmd, argc, argv, &p, msg, msglen)) < 0)
		return rc;
	msg[0] = '\0';
	rc = opts_has(&p, "prometheus") ? stats_prometheus(c, &e) : take(st);
	if (rc == -ENOMEM) {
		snprintf(msg, msglen, "stats: out of memory");
		return rc;
	}
	if (opts_has(&p, "prometheus"))
		return 0;
	if (rc < 0) {
		if (st->f.last_rc != -ENOENT && st->why[0] != '\0')
			snprintf(msg, msglen, "no dataplane statistics for table %s: %s",
				 st->f.table, st->why);
		else
			snprintf(msg, msglen, "no dataplane statistics for table %s (is "
				 "callseal-dataplane running?)", st->f.table);
		return -ENOENT;
	}
	alive = dpstats_writer_alive(st->f.area);
	if (opts_has(&p, "json"))
		json(&e, st, alive);
	else
		text(&e, st, alive);
	if (alive == 0) {
		/* the counters above are a dead dataplane's: no dataplane runs */
		snprintf(msg, msglen, "callseal-dataplane pid %u of table %s is not running: "
			 "these are its last counters (is callseal-dataplane running?)",
			 dpstats_header(st->f.area)->pid, st->f.table);
		return -ESRCH;
	}
	return 0;
}
