/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callseal-pcapfwd - a DPDK forwarder that changes nothing, to prove the
 * integration-test path (rtpgen -> net_pcap -> a DPDK process -> net_pcap ->
 * srtpcheck) without the dataplane, and to show the stop rule that net_pcap
 * needs (it never signals the end of its input).
 *
 *   callseal-pcapfwd EAL-ARGS -- [--idle-ms N] [--max-ms N] [--copy FILE]
 *                                [--idle-sleep US]
 *
 * With two ports, frames from port 0 go out of port 1 and from port 1 out of
 * port 0 (like the dataplane's inside and outside); with one, out of the port
 * they came in. It stops after --idle-ms (default 300) without a frame, or
 * after --max-ms (default 30000) in all (0: never, for either), or on SIGINT or
 * SIGTERM, and prints {"rx":[N,N],"tx":[N,N],"dropped":N}.
 *
 * --copy FILE writes every frame it receives, both ways, to a pcap file
 * (Ethernet, microsecond timestamps from the wall clock, flushed after each
 * burst): scripts/demo runs it between two dataplanes' net_memif outside ports
 * as "the network between the sites", and the copy is what an eavesdropper on
 * that network sees. --idle-sleep US sleeps US microseconds after a poll of
 * both ports that received nothing (as callseal-dataplane --idle-sleep).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#define BURST      32
#define NB_MBUF    8191
#define RING_SIZE  1024

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static unsigned long arg_num(const char *name, const char *s, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || !*s || *end || s[0] == '-' || v > max)
		rte_exit(2, "%s: '%s' is not a number 0-%lu\n", name, s, max);
	return v;
}

/* --copy: a classic pcap file (LINKTYPE_ETHERNET) of every frame received */
static void copy_frames(FILE *f, struct rte_mbuf **b, uint16_t k)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	for (uint16_t i = 0; i < k; i++) {
		uint32_t len = rte_pktmbuf_pkt_len(b[i]);
		uint32_t hdr[4] = { (uint32_t)tv.tv_sec, (uint32_t)tv.tv_usec, len, len };
		fwrite(hdr, sizeof(hdr), 1, f);
		for (const struct rte_mbuf *m = b[i]; m; m = m->next)
			fwrite(rte_pktmbuf_mtod(m, const void *), m->data_len, 1, f);
	}
	fflush(f);
}

static void port_init(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf;
	int rc;

	memset(&conf, 0, sizeof(conf));
	if ((rc = rte_eth_dev_configure(port, 1, 1, &conf)) != 0 ||
	    (rc = rte_eth_rx_queue_setup(port, 0, RING_SIZE, rte_eth_dev_socket_id(port),
					 NULL, mp)) != 0 ||
	    (rc = rte_eth_tx_queue_setup(port, 0, RING_SIZE, rte_eth_dev_socket_id(port),
					 NULL)) != 0 ||
	    (rc = rte_eth_dev_start(port)) != 0)
		rte_exit(1, "port %u: set-up failed: %s\n", port, rte_strerror(-rc));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "idle-ms", required_argument, NULL, 'i' },
		{ "max-ms", required_argument, NULL, 'm' },
		{ "copy", required_argument, NULL, 'c' },
		{ "idle-sleep", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long idle_ms = 300, max_ms = 30000, dropped = 0, sleep_us = 0;
	FILE *copy = NULL;
	unsigned long rx[2] = { 0, 0 }, tx[2] = { 0, 0 };
	struct rte_mbuf *b[BURST];
	int n, c;

	n = rte_eal_init(argc, argv);
	if (n < 0)
		rte_exit(2, "EAL initialisation failed (check the EAL arguments)\n");
	argc -= n;
	argv += n;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'i')
			idle_ms = arg_num("--idle-ms", optarg, 86400000);
		else if (c == 'm')
			max_ms = arg_num("--max-ms", optarg, 86400000);
		else if (c == 's')
			sleep_us = arg_num("--idle-sleep", optarg, 100000);
		else if (c == 'c') {
			static const uint32_t gh[6] = { 0xa1b2c3d4, 2 | (4u << 16), 0, 0, 65535, 1 };
			if (!(copy = fopen(optarg, "wb")) || fwrite(gh, sizeof(gh), 1, copy) != 1 ||
			    fflush(copy) != 0)
				rte_exit(1, "--copy %s: %s\n", optarg, strerror(errno));
		} else
			rte_exit(2, "usage: callseal-pcapfwd EAL-ARGS -- [--idle-ms N] [--max-ms N] "
				 "[--copy FILE] [--idle-sleep US]\n");
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	uint16_t nports = rte_eth_dev_count_avail();
	if (nports < 1 || nports > 2)
		rte_exit(2, "need 1 or 2 ports (--vdev net_pcap0,...), found %u\n", nports);
	struct rte_mempool *mp = rte_pktmbuf_pool_create("pcapfwd", NB_MBUF, 256, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (!mp)
		rte_exit(1, "mbuf pool: %s\n", rte_strerror(rte_errno));
	for (uint16_t p = 0; p < nports; p++)
		port_init(p, mp);

	uint64_t hz = rte_get_tsc_hz(), start = rte_get_tsc_cycles(), last = start;
	while (!quit) {
		uint64_t now = rte_get_tsc_cycles();
		if ((idle_ms && now - last > idle_ms * hz / 1000) ||
		    (max_ms && now - start > max_ms * hz / 1000))
			break;
		int got = 0;
		for (uint16_t p = 0; p < nports; p++) {
			uint16_t k = rte_eth_rx_burst(p, 0, b, BURST);
			if (!k)
				continue;
			last = now;
			got = 1;
			rx[p] += k;
			if (copy)
				copy_frames(copy, b, k);
			uint16_t out = nports == 2 ? (uint16_t)(1 - p) : p;
			uint16_t s = rte_eth_tx_burst(out, 0, b, k);
			tx[out] += s;
			for (; s < k; s++, dropped++)
				rte_pktmbuf_free(b[s]);
		}
		if (!got && sleep_us)
			rte_delay_us_sleep((unsigned)sleep_us);
	}
	if (copy)
		fclose(copy);
	for (uint16_t p = 0; p < nports; p++) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	printf("{\"rx\":[%lu,%lu],\"tx\":[%lu,%lu],\"dropped\":%lu}\n",
	       rx[0], rx[1], tx[0], tx[1], dropped);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}
