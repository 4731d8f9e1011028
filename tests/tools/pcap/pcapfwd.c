/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callseal-pcapfwd - a DPDK forwarder that changes nothing, to prove the
 * integration-test path (rtpgen -> net_pcap -> a DPDK process -> net_pcap ->
 * srtpcheck) without the dataplane, and to show the stop rule that net_pcap
 * needs (it never signals the end of its input).
 *
 *   callseal-pcapfwd EAL-ARGS -- [--idle-ms N] [--max-ms N]
 *
 * With two ports, frames from port 0 go out of port 1 and from port 1 out of
 * port 0 (like the dataplane's inside and outside); with one, out of the port
 * they came in. It stops after --idle-ms (default 300) without a frame, or
 * after --max-ms (default 30000) in all, and prints
 * {"rx":[N,N],"tx":[N,N],"dropped":N}.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
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

static unsigned long arg_ms(const char *name, const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v == 0)
		rte_exit(2, "%s: '%s' is not a positive number of milliseconds\n", name, s);
	return v;
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
		{ NULL, 0, NULL, 0 },
	};
	unsigned long idle_ms = 300, max_ms = 30000, dropped = 0;
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
			idle_ms = arg_ms("--idle-ms", optarg);
		else if (c == 'm')
			max_ms = arg_ms("--max-ms", optarg);
		else
			rte_exit(2, "usage: callseal-pcapfwd EAL-ARGS -- [--idle-ms N] [--max-ms N]\n");
	}

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
	for (;;) {
		uint64_t now = rte_get_tsc_cycles();
		if (now - last > idle_ms * hz / 1000 || now - start > max_ms * hz / 1000)
			break;
		for (uint16_t p = 0; p < nports; p++) {
			uint16_t k = rte_eth_rx_burst(p, 0, b, BURST);
			if (!k)
				continue;
			last = now;
			rx[p] += k;
			uint16_t out = nports == 2 ? (uint16_t)(1 - p) : p;
			uint16_t s = rte_eth_tx_burst(out, 0, b, k);
			tx[out] += s;
			for (; s < k; s++, dropped++)
				rte_pktmbuf_free(b[s]);
		}
	}
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
