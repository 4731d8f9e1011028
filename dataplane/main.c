/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callseal-dataplane: EAL, options, ports, the key table, lcore launch and
 * the exit report. The packet path is in worker.c.
 */
/* rte_intr_instance_alloc(), rte_intr_type_set(), rte_intr_fd_set(): the
 * way into the EAL interrupt thread at exit; experimental in DPDK 22.11 */
#define ALLOW_EXPERIMENTAL_API

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_interrupts.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <rte_version.h>

#include "callseal_version.h"
#include "dp.h"
#include "hygiene.h"
#include "opts.h"
#include "resume.h"

#define NB_RXD 1024
#define NB_TXD 1024
#define MBUF_CACHE 256

static const char usage_text[] =
"usage: callseal-dataplane [EAL options] -- [options]\n"
"\n"
"Encrypts RTP/RTCP arriving on the inside port into SRTP/SRTCP (AES-GCM,\n"
"RFC 7714) sent out of the outside port, and decrypts SRTP/SRTCP arriving on\n"
"the outside port into RTP/RTCP sent out of the inside port, with the keys that\n"
"callseal-control keeps in a shared-memory key table. Media on a media port\n"
"with no key is dropped, never forwarded in plaintext.\n"
"\n"
"options:\n"
"  --table NAME          key table to attach read-only (default: callseal),\n"
"                        /dev/shm/callseal.NAME, made by callseal-control\n"
"  --inside PORT         port id facing the local media application (default 0)\n"
"  --outside PORT        port id facing the network (default 1)\n"
"  --queues N            rx/tx queue pairs per port, RSS, one worker lcore per\n"
"                        queue pair: give EAL at least N lcores (default 1).\n"
"                        With N > 1 each port hashes on its local side only\n"
"                        (the outside port on the destination address and\n"
"                        port, the inside port on the source), so a stream\n"
"                        stays on one worker whatever its remote address; a\n"
"                        NIC that cannot is refused, unless --rss-5tuple\n"
"  --rss-5tuple          with --queues N > 1 on a NIC that cannot hash on one\n"
"                        side: hash the 5-tuple, accepting that a replayed\n"
"                        packet with a changed source port may reach another\n"
"                        worker and be accepted there once (docs/deployment.md)\n"
"  --media-ports LO-HI   local UDP ports that carry media (default 1024-65535);\n"
"                        RTP/RTCP (RFC 7983, RFC 5761) on them without a key is\n"
"                        dropped as \"no stream\"\n"
"  --other pass|drop     non-media: ARP, ICMP, STUN, DTLS, signalling\n"
"                        (default pass, unchanged)\n"
"  --fragments pass|drop IP fragments (default drop)\n"
"  --idle-exit MS        exit after MS ms with no packet received (pcap runs)\n"
"  --idle-sleep US       after a poll of every port that received nothing, sleep\n"
"                        US microseconds, 0-100000 (default 0: busy polling, a\n"
"                        whole core per worker); e.g. 100 on a shared machine\n"
"                        (costs up to US us of latency after a quiet spell)\n"
"  --stats-json FILE     write the final statistics as JSON (also printed)\n"
"  --max-flows N         key-table entries in use at once per worker (default 65536)\n"
"  --max-streams N       SSRCs per worker (default 131072)\n"
"  --replay-window N     SRTP/SRTCP replay window, 64-1024 packets (default 128)\n"
"  --dumpable            stay dumpable (debugging: core files, ptrace by the\n"
"                        same user); default non-dumpable, as keys are in memory\n"
"  --help                this text\n"
"  --version             one line: the version, the ABIs of the key table, the\n"
"                        statistics area and the resume object, intel-ipsec-mb\n"
"                        and DPDK; like --help it needs no EAL environment\n"
"\n"
"Errors are one line saying what to do. Exit status: 0 after SIGINT, SIGTERM or\n"
"--idle-exit; 1 if it cannot start; 2 on bad options (callseal options go\n"
"after --, EAL options before it).\n"
"\n"
"example (two pcap ports, no NIC, no hugepages):\n"
"  callseal-dataplane --no-huge --no-pci -m 256 --file-prefix dp1 -l 0 \\\n"
"    --vdev 'net_pcap0,rx_pcap=rtp.pcap,tx_pcap=inside-out.pcap' \\\n"
"    --vdev 'net_pcap1,rx_pcap=srtp.pcap,tx_pcap=outside-out.pcap' \\\n"
"    -- --table demo --idle-exit 200 --stats-json stats.json\n"
"\n"
"Live counters: DPDK telemetry command /callseal/stats (and /callseal/stats,N\n"
"for worker N) on /var/run/dpdk/<file-prefix>/dpdk_telemetry.v2, and the\n"
"statistics area /dev/shm/callseal.NAME.stats (totals per worker, counters per\n"
"key-table entry; docs/dpstats.md), removed at exit. One dataplane per key\n"
"table: a second one is refused with the first one's pid.\n";

/* The statistics area: removed on every exit (the normal end, dp_fail()
 * through atexit, SIGINT/SIGTERM/SIGHUP through the normal end). */
static struct dpstats *stats_area;
/* The streams' indexes across restarts (resume.h): never removed. */
static struct resume *resume;

static void stats_area_remove(void)
{
	dpstats_destroy(stats_area);
	stats_area = NULL;
}

static void on_signal(int sig)
{
	(void)sig;
	dp_force_quit = true;
}

/* exit statuses (as callseal-control's) */
#define EXIT_START 1   /* could not start: the message says what to fix */
#define EXIT_USAGE 2   /* bad options: nothing was started */

static bool eal_up;    /* rte_eal_init() succeeded: cleanup on exit */

/*
 * One line "callseal-dataplane: WHAT" on stderr, then exit with status: the
 * dataplane's own errors, instead of rte_exit()'s "EAL: Error - exiting with
 * code" banner. Like rte_exit(), it releases the EAL first (once it is up);
 * exit() then runs the atexit handlers (the statistics area).
 */
__attribute__((format(printf, 2, 3), noreturn))
static void dp_fail(int status, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fflush(stdout);     /* EAL's usage, if it printed one, comes first */
	fprintf(stderr, "callseal-dataplane: %s\n", line);
	if (eal_up)
		rte_eal_cleanup();
	exit(status);
}

/* Parse an unsigned number in [lo, hi]; -1 on error. */
static long parse_num(const char *s, long lo, long hi)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

enum { O_TABLE = 256, O_INSIDE, O_OUTSIDE, O_QUEUES, O_MEDIA, O_OTHER, O_FRAG,
       O_IDLE, O_SLEEP, O_JSON, O_FLOWS, O_STREAMS, O_WINDOW, O_DUMPABLE,
       O_RSS5, O_HELP };
static const struct option dp_options[] = {
	{ "table", required_argument, NULL, O_TABLE },
	{ "inside", required_argument, NULL, O_INSIDE },
	{ "outside", required_argument, NULL, O_OUTSIDE },
	{ "queues", required_argument, NULL, O_QUEUES },
	{ "media-ports", required_argument, NULL, O_MEDIA },
	{ "other", required_argument, NULL, O_OTHER },
	{ "fragments", required_argument, NULL, O_FRAG },
	{ "idle-exit", required_argument, NULL, O_IDLE },
	{ "idle-sleep", required_argument, NULL, O_SLEEP },
	{ "stats-json", required_argument, NULL, O_JSON },
	{ "max-flows", required_argument, NULL, O_FLOWS },
	{ "max-streams", required_argument, NULL, O_STREAMS },
	{ "replay-window", required_argument, NULL, O_WINDOW },
	{ "dumpable", no_argument, NULL, O_DUMPABLE },
	{ "rss-5tuple", no_argument, NULL, O_RSS5 },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Print what is wrong with the options (one line) and return -1. */
static int parse_args(int argc, char **argv, struct dp_config *c)
{
	long v;
	int o;

	*c = (struct dp_config){
		.table = "callseal", .port = { 0, 1 }, .queues = 1,
		.media_lo = 1024, .media_hi = 65535, .other_pass = true,
		.max_flows = 65536, .max_streams = 131072, .window = 128,
	};
	optind = 0;      /* glibc: start afresh */
	opterr = 0;      /* our own messages */
	while ((o = getopt_long(argc, argv, ":", dp_options, NULL)) != -1) {
		const char *a = optarg;
		char terr[128];
		switch (o) {
		case O_TABLE:
			if (keytable_name_check(a, terr, sizeof(terr)) != 0) {
				fprintf(stderr, "callseal-dataplane: --table: %s\n", terr);
				return -1;
			}
			c->table = a;
			break;
		case O_INSIDE:
		case O_OUTSIDE:
			if ((v = parse_num(a, 0, RTE_MAX_ETHPORTS - 1)) < 0) {
				fprintf(stderr, "callseal-dataplane: --%s takes a port id, not '%s'\n",
					o == O_INSIDE ? "inside" : "outside", a);
				return -1;
			}
			c->port[o == O_INSIDE ? DP_PORT_INSIDE : DP_PORT_OUTSIDE] = (uint16_t)v;
			break;
		case O_QUEUES:
			if ((v = parse_num(a, 1, DP_MAX_QUEUES)) < 0) {
				fprintf(stderr, "callseal-dataplane: --queues takes 1-%d, not '%s'\n",
					DP_MAX_QUEUES, a);
				return -1;
			}
			c->queues = (uint16_t)v;
			break;
		case O_MEDIA: {
			unsigned lo, hi;
			char extra;
			if (sscanf(a, "%u-%u%c", &lo, &hi, &extra) != 2 || lo < 1 || hi > 65535 ||
			    lo > hi) {
				fprintf(stderr, "callseal-dataplane: --media-ports takes LO-HI within "
					"1-65535, e.g. 10000-20000, not '%s'\n", a);
				return -1;
			}
			c->media_lo = (uint16_t)lo;
			c->media_hi = (uint16_t)hi;
			break;
		}
		case O_OTHER:
		case O_FRAG:
			if (strcmp(a, "pass") != 0 && strcmp(a, "drop") != 0) {
				fprintf(stderr, "callseal-dataplane: --%s takes pass or drop, not '%s'\n",
					o == O_OTHER ? "other" : "fragments", a);
				return -1;
			}
			if (o == O_OTHER)
				c->other_pass = strcmp(a, "pass") == 0;
			else
				c->fragments_pass = strcmp(a, "pass") == 0;
			break;
		case O_IDLE:
			if ((v = parse_num(a, 1, 86400000)) < 0) {
				fprintf(stderr, "callseal-dataplane: --idle-exit takes milliseconds, "
					"not '%s'\n", a);
				return -1;
			}
			c->idle_exit_ms = (uint32_t)v;
			break;
		case O_SLEEP:
			if ((v = parse_num(a, 0, 100000)) < 0) {
				fprintf(stderr, "callseal-dataplane: --idle-sleep takes microseconds, "
					"0-100000, not '%s'\n", a);
				return -1;
			}
			c->idle_sleep_us = (uint32_t)v;
			break;
		case O_JSON:
			c->stats_json = a;
			break;
		case O_FLOWS:
		case O_STREAMS:
			if ((v = parse_num(a, 1, o == O_FLOWS ? (1L << 24) : (1L << 26))) < 0) {
				fprintf(stderr, "callseal-dataplane: --%s takes a count, not '%s'\n",
					o == O_FLOWS ? "max-flows" : "max-streams", a);
				return -1;
			}
			if (o == O_FLOWS)
				c->max_flows = (uint32_t)v;
			else
				c->max_streams = (uint32_t)v;
			break;
		case O_WINDOW:
			if ((v = parse_num(a, 64, CSRTP_REPLAY_WINDOW_MAX)) < 0) {
				fprintf(stderr, "callseal-dataplane: --replay-window takes 64-%d, "
					"not '%s'\n", CSRTP_REPLAY_WINDOW_MAX, a);
				return -1;
			}
			c->window = (uint32_t)v;
			break;
		case O_DUMPABLE:
			c->dumpable = true;
			break;
		case O_RSS5:
			c->rss_5tuple = true;
			break;
		case O_HELP:
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			fprintf(stderr, "callseal-dataplane: %s needs a value (see --help)\n",
				argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "callseal-dataplane: %s (see --help; EAL options go "
				"before --)\n", opts_unknown_getopt(argv[optind - 1],
								   dp_options, terr,
								   sizeof(terr)));
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "callseal-dataplane: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

static void port_init(struct dp_config *c, int role, struct rte_mempool *pool)
{
	uint16_t port = c->port[role];
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	int ret;

	if (!rte_eth_dev_is_valid_port(port))
		dp_fail(EXIT_START, "%s port %u does not exist (%u ports: add --vdev "
			 "or bind a NIC)", role == DP_PORT_INSIDE ? "inside" : "outside",
			 port, rte_eth_dev_count_avail());
	if ((ret = rte_eth_dev_info_get(port, &info)) != 0)
		dp_fail(EXIT_START, "port %u: no device info: %s", port, strerror(-ret));
	if (c->queues > info.max_rx_queues || c->queues > info.max_tx_queues)
		dp_fail(EXIT_START, "port %u (%s) has at most %u rx / %u tx queues; "
			 "lower --queues", port, info.driver_name, info.max_rx_queues,
			 info.max_tx_queues);

	memset(&conf, 0, sizeof(conf));
	if (c->queues > 1) {
		/* A stream's state (ROC, replay window) lives in one worker and is
		 * found by the local address and port only, so every packet of it
		 * must reach that worker whatever its remote address and port
		 * (unauthenticated: a replay with another source port must not
		 * meet a fresh window elsewhere). Hash on the local side: the
		 * destination of what the outside port receives, the source of
		 * what the inside port receives. */
		const uint64_t types = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP;
		const uint64_t local = role == DP_PORT_OUTSIDE
			? RTE_ETH_RSS_L3_DST_ONLY | RTE_ETH_RSS_L4_DST_ONLY
			: RTE_ETH_RSS_L3_SRC_ONLY | RTE_ETH_RSS_L4_SRC_ONLY;
		uint64_t hf = info.flow_type_rss_offloads & types;

		if (hf != 0 && (info.flow_type_rss_offloads & local) == local)
			hf |= local;
		else if (hf != 0 && !c->rss_5tuple)
			dp_fail(EXIT_START, "%s port %u (%s) cannot hash on its local address "
				"and port only (RSS %s_ONLY): with --queues %u a stream could "
				"reach two workers; use --queues 1, a NIC that can, or "
				"--rss-5tuple to accept that (docs/deployment.md)",
				role == DP_PORT_INSIDE ? "inside" : "outside", port,
				info.driver_name, role == DP_PORT_OUTSIDE ? "L3/L4_DST" : "L3/L4_SRC",
				c->queues);
		if (hf == 0)
			printf("callseal-dataplane: %s port %u (%s) offers no RSS: every packet "
			       "arrives on queue 0 (the other %u workers idle on it)\n",
			       role == DP_PORT_INSIDE ? "inside" : "outside", port,
			       info.driver_name, c->queues - 1);
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = hf;
	}
	/* checksums in hardware when the port can do both IPv4 and UDP */
	uint64_t want = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	if ((info.tx_offload_capa & want) == want) {
		conf.txmode.offloads |= want;
		c->tx_cksum_offload[role] = true;
	}
	if ((ret = rte_eth_dev_configure(port, c->queues, c->queues, &conf)) != 0)
		dp_fail(EXIT_START, "port %u: configure: %s", port, strerror(-ret));
	uint16_t nrx = NB_RXD, ntx = NB_TXD;
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	for (uint16_t q = 0; q < c->queues; q++) {
		int sock = rte_eth_dev_socket_id(port);
		if ((ret = rte_eth_rx_queue_setup(port, q, nrx, sock < 0 ? 0 : (unsigned)sock,
						  NULL, pool)) != 0 ||
		    (ret = rte_eth_tx_queue_setup(port, q, ntx, sock < 0 ? 0 : (unsigned)sock,
						  NULL)) != 0)
			dp_fail(EXIT_START, "port %u queue %u: %s", port, q, strerror(-ret));
	}
	/* a memif client cannot start until its server listens: retry a while */
	for (int tries = 0; (ret = rte_eth_dev_start(port)) != 0 && tries < 100; tries++)
		rte_delay_ms(100);
	if (ret != 0)
		dp_fail(EXIT_START, "port %u: start: %s", port, strerror(-ret));
	rte_eth_promiscuous_enable(port);   /* a bump in the wire sees every frame */
}

/* Wait (up to 10 s) until both links are up, so that the first packets are
 * not lost to a peer still connecting (memif, a NIC still negotiating). */
static void wait_links(const struct dp_config *c)
{
	for (int ms = 0; ms <= 10000; ms += 50) {
		int up = 0;
		for (int r = 0; r < 2; r++) {
			struct rte_eth_link link;
			if (rte_eth_link_get_nowait(c->port[r], &link) == 0 &&
			    link.link_status == RTE_ETH_LINK_UP)
				up++;
		}
		if (up == 2)
			return;
		rte_delay_ms(50);
	}
	fprintf(stderr, "callseal-dataplane: a link is still down after 10 s; forwarding "
		"anyway (packets to a down link count as tx_full)\n");
}

/*
 * At exit the ports are stopped and closed in the EAL interrupt thread, after
 * the workers have returned: the memif PMD handles its peer's disconnect in
 * that thread (memif_disconnect frees and unmaps the regions) with no lock
 * against rte_eth_dev_stop() from another thread, so a peer that stops at the
 * same time as we do would free them twice. In that thread the two come one
 * after the other.
 *
 * The way in is an eventfd registered as an interrupt source at start (its
 * handle in malloc memory, never unregistered), not an EAL alarm: every
 * (un)registration makes the interrupt thread rebuild its list of sources,
 * and that list keeps the memif PMD's listener (a server port is closed
 * without unregistering it) with a handle in DPDK memory. Rebuilt after
 * rte_eal_cleanup() has unmapped that memory, it faults in rte_intr_fd_get();
 * rte_eal_cleanup() unregisters the alarm source if any alarm was ever set.
 * Closing the ports unregisters their control channels (a rebuild too), so a
 * second, empty call follows: it runs after that rebuild (the thread reads its
 * wake-up pipe, written first, before our eventfd) and only then does main go
 * on to rte_eal_cleanup().
 */
static struct rte_intr_handle *intr_call_handle;
static int intr_call_fd = -1;
static void (*intr_call_fn)(const struct dp_config *);
static bool intr_call_done;

static void intr_call_cb(void *arg)
{
	uint64_t v;

	if (read(intr_call_fd, &v, sizeof(v)) != sizeof(v))
		return;
	if (intr_call_fn != NULL)
		intr_call_fn(arg);
	__atomic_store_n(&intr_call_done, true, __ATOMIC_RELEASE);
}

static void intr_call_init(const struct dp_config *c)
{
	struct rte_intr_handle *h = rte_intr_instance_alloc(RTE_INTR_INSTANCE_F_PRIVATE);
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (h == NULL || fd < 0 || rte_intr_type_set(h, RTE_INTR_HANDLE_EXT) != 0 ||
	    rte_intr_fd_set(h, fd) != 0 ||
	    rte_intr_callback_register(h, intr_call_cb, (void *)(uintptr_t)c) != 0) {
		fprintf(stderr, "callseal-dataplane: no way into the EAL interrupt thread: "
			"the ports will be closed from the main thread at exit\n");
		if (fd >= 0)
			close(fd);
		rte_intr_instance_free(h);
		return;
	}
	intr_call_handle = h;
	intr_call_fd = fd;
}

/* Run fn (NULL: nothing) in the interrupt thread; -1 if that did not happen
 * within 5 s. */
static int intr_call(void (*fn)(const struct dp_config *))
{
	uint64_t one = 1;

	if (intr_call_handle == NULL)
		return -1;
	intr_call_fn = fn;
	__atomic_store_n(&intr_call_done, false, __ATOMIC_RELEASE);
	if (write(intr_call_fd, &one, sizeof(one)) != sizeof(one))
		return -1;
	for (int ms = 0; ms < 5000; ms++) {
		if (__atomic_load_n(&intr_call_done, __ATOMIC_ACQUIRE))
			return 0;
		rte_delay_us_sleep(1000);
	}
	return -1;
}

static void ports_close(const struct dp_config *c)
{
	for (int r = 0; r < 2; r++) {
		rte_eth_dev_stop(c->port[r]);
		rte_eth_dev_close(c->port[r]);
	}
}

static void ports_shutdown(const struct dp_config *c)
{
	if (intr_call_handle == NULL) {
		ports_close(c);
		return;
	}
	if (intr_call(ports_close) != 0 || intr_call(NULL) != 0)
		fprintf(stderr, "callseal-dataplane: the EAL interrupt thread did not "
			"close the ports within 5 s; exiting without\n");
}

/*
 * Our options before "--" (or with no "--" at all) would reach EAL, which
 * prints its whole usage: say where they go instead, exit 2.
 */
static void check_separator(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		size_t n = strcspn(a + 2, "=");

		if (strncmp(a, "--", 2) != 0)
			continue;
		for (const struct option *o = dp_options; o->name != NULL; o++) {
			if (strlen(o->name) == n && strncmp(a + 2, o->name, n) == 0)
				dp_fail(EXIT_USAGE, "--%s is a callseal option: put callseal "
					"options after --, as in callseal-dataplane [EAL options] "
					"-- --%s ... (see --help)", o->name, o->name);
		}
	}
}

int main(int argc, char **argv)
{
	static struct dp_config cfg;
	static struct dp_lcore lcs[DP_MAX_QUEUES];
	char err[KEYTABLE_ERR_MAX];
	struct keytable *table = NULL;
	unsigned nl = 0, lcore;
	int ret;

	/* --help and --version before EAL, so that they work without a DPDK
	 * environment (no hugepages, no ports) and without "--" */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			char extra[128];

			snprintf(extra, sizeof(extra), "key-table ABI %u, statistics ABI %u, "
				 "resume format %u, intel-ipsec-mb %s, %s",
				 (unsigned)KEYTABLE_ABI_VERSION, (unsigned)DPSTATS_ABI_VERSION,
				 (unsigned)RESUME_VERSION, imb_get_version_str(), rte_version());
			callseal_version_print(stdout, "callseal-dataplane", extra);
			return 0;
		}
	}

	/* our options, before EAL: a mistake costs no EAL start (or its usage) */
	check_separator(argc, argv);
	{
		char *ours[argc + 1];
		int n = 1, i = 1;

		while (i < argc && strcmp(argv[i], "--") != 0)
			i++;
		ours[0] = "callseal-dataplane";
		for (i++; i < argc; i++)
			ours[n++] = argv[i];
		ours[n] = NULL;
		if (parse_args(n, ours, &cfg) != 0)
			exit(EXIT_USAGE);
	}
	if (cfg.port[DP_PORT_INSIDE] == cfg.port[DP_PORT_OUTSIDE])
		dp_fail(EXIT_USAGE, "--inside and --outside must be different ports");

	ret = rte_eal_init(argc, argv);
	if (ret < 0 && rte_errno == EINVAL)
		dp_fail(EXIT_USAGE, "EAL refused its options (see its message; callseal "
			"options go after --)");
	if (ret < 0)
		dp_fail(EXIT_START, "EAL initialisation failed: check the EAL options (no "
			"hugepages? add --no-huge -m 256; another process? add --file-prefix "
			"NAME)");
	eal_up = true;
	if ((ret = hygiene_dumpable(cfg.dumpable)) != 0)
		dp_fail(EXIT_START, "prctl(PR_SET_DUMPABLE): %s", strerror(-ret));
	if (rte_lcore_count() < cfg.queues)
		dp_fail(EXIT_START, "--queues %u needs %u lcores, EAL gave %u: use -l 0-%u",
			 cfg.queues, cfg.queues, rte_lcore_count(), cfg.queues - 1);

	if (keytable_attach_reader(&table, cfg.table, err, sizeof(err)) != 0)
		dp_fail(EXIT_START, "key table: %s (start callseal-control --table %s "
			 "first)", err, cfg.table);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	/* the statistics area, one block per worker, a flow row per flow slot;
	 * its lock makes this the only dataplane on the table */
	ret = dpstats_create(&stats_area, cfg.table, cfg.queues, dp_flow_rows(&cfg), err,
			     sizeof(err));
	if (ret != 0)
		dp_fail(EXIT_START, "%s", err);
	atexit(stats_area_remove);

	/* the streams' indexes the last dataplane on this table left: each
	 * stream goes on where it stopped (resume.h; the object stays) */
	struct resume_report rrep;
	ret = resume_open(&resume, cfg.table, table, cfg.queues, dp_resume_rows(&cfg), &rrep,
			  err, sizeof(err));
	if (ret != 0)
		dp_fail(EXIT_START, "%s", err);
	if (rrep.had_old)
		printf("callseal-dataplane: resuming %llu stream(s) where the last dataplane "
		       "on table %s stopped (%llu of keys since deleted dropped)\n",
		       (unsigned long long)rrep.carried, cfg.table,
		       (unsigned long long)rrep.dropped);

	unsigned nb_mbufs = 2u * cfg.queues * (NB_RXD + NB_TXD) +
			    rte_lcore_count() * (MBUF_CACHE + 2 * DP_BURST) + 1024;
	struct rte_mempool *pool = rte_pktmbuf_pool_create("callseal_mbufs", nb_mbufs,
		MBUF_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (pool == NULL)
		dp_fail(EXIT_START, "cannot allocate %u mbufs: raise EAL -m", nb_mbufs);
	port_init(&cfg, DP_PORT_INSIDE, pool);
	port_init(&cfg, DP_PORT_OUTSIDE, pool);
	wait_links(&cfg);
	intr_call_init(&cfg);

	/* one worker per queue pair: the main lcore first, then the others */
	lcore = rte_get_main_lcore();
	for (;;) {
		if ((ret = dp_lcore_init(&lcs[nl], &cfg, table, lcore, (uint16_t)nl,
					 dpstats_worker(stats_area, nl),
					 dpstats_flows(stats_area, nl))) != 0)
			dp_fail(EXIT_START, "lcore %u: %s", lcore, ret == -ENOTSUP ?
				 "this CPU has no AES-NI: intel-ipsec-mb cannot run" :
				 "out of memory for the flow tables: lower --max-flows/--max-streams");
		dp_lcore_resume(&lcs[nl], resume, resume_rows(resume, nl));
		if (++nl == cfg.queues)
			break;
		lcore = rte_get_next_lcore(lcore, 1, 0);
	}
	if (hygiene_lock_refused(&ret))
		fprintf(stderr, "callseal-dataplane: warning: cannot lock the key memory "
			"(%s): keys may reach swap; run as root or raise RLIMIT_MEMLOCK\n",
			strerror(ret));
	const char *failed = NULL;
	if (csrtp_selftest(lcs[0].engine, &failed) != 0)
		dp_fail(EXIT_START, "SRTP engine self-test failed at %s", failed);

	printf("callseal-dataplane: inside port %u, outside port %u, %u queue(s), "
	       "lcores", cfg.port[0], cfg.port[1], cfg.queues);
	for (unsigned i = 0; i < nl; i++)
		printf(" %u", lcs[i].lcore_id);
	printf(", crypto intel-ipsec-mb %s %s (self-test passed), table %s, media ports "
	       "%u-%u, other %s, fragments %s, checksums %s/%s\n",
	       imb_get_version_str(), csrtp_engine_arch_name(lcs[0].engine), cfg.table,
	       cfg.media_lo, cfg.media_hi, cfg.other_pass ? "pass" : "drop",
	       cfg.fragments_pass ? "pass" : "drop",
	       cfg.tx_cksum_offload[0] ? "offload" : "software",
	       cfg.tx_cksum_offload[1] ? "offload" : "software");
	fflush(stdout);
	dp_stats_telemetry_register(lcs, nl);
	if (dp_quiesce_create(nl) != 0)
		dp_fail(EXIT_START, "out of memory for the workers' quiescent states: "
			 "raise EAL -m");

	for (unsigned i = 1; i < nl; i++)
		rte_eal_remote_launch(dp_worker_main, &lcs[i], lcs[i].lcore_id);
	dp_worker_main(&lcs[0]);
	rte_eal_mp_wait_lcore();

	dp_stats_print(stdout, lcs, nl);
	if (cfg.stats_json && (ret = dp_stats_write_json(cfg.stats_json, lcs, nl)) != 0)
		fprintf(stderr, "callseal-dataplane: cannot write %s: %s\n", cfg.stats_json,
			strerror(-ret));

	/* the workers have returned (and are offline): now the ports */
	ports_shutdown(&cfg);
	dp_quiesce_destroy();
	for (unsigned i = 0; i < nl; i++) {
		dp_lcore_fini(&lcs[i]);
		/* telemetry may still ask: it reads a copy from now on */
		lcs[i].own_stats = *lcs[i].stats;
		__atomic_store_n(&lcs[i].stats, &lcs[i].own_stats, __ATOMIC_RELEASE);
	}
	stats_area_remove();
	resume_close(resume);
	keytable_detach(table);
	rte_eal_cleanup();
	return 0;
}
