/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callseal-pcapfwd - a DPDK forwarder that changes nothing, to prove the
 * integration-test path (rtpgen -> net_pcap -> a DPDK process -> net_pcap ->
 * srtpcheck) without the dataplane, and to show the stop rule that net_pcap
 * needs (it never signals the end of its input).
 *
 *   callseal-pcapfwd EAL-ARGS -- [--idle-ms N] [--max-ms N] [--copy FILE]
 *                                [--idle-sleep US] [--delay-ms MS] [--help]
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
 *
 * --delay-ms MS (0, the default: none) makes it a long link: every frame is
 * held MS ms after it was received (rte_get_timer_cycles at rx) before it is
 * sent on, in order. Each direction has a FIFO of DELAY_FIFO frames; a frame
 * that finds its FIFO full is dropped and counted ("delay_full" in the exit
 * line); a frame the output port does not take stays at its FIFO's head for
 * the next round. The idle stop waits for both FIFOs to drain; frames still held at a
 * signal are freed and counted ("held_at_exit").
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

#include "callseal_version.h"

#define BURST      32
#define NB_MBUF    8191
#define RING_SIZE  1024
#define DELAY_FIFO 2048    /* frames held per direction by --delay-ms (power of 2) */

/* --delay-ms: the frames of one direction waiting for their time, in order */
struct delay_fifo {
	struct rte_mbuf *m[DELAY_FIFO];
	uint64_t due[DELAY_FIFO];     /* rx timer cycles + the delay */
	uint32_t head, tail;          /* free-running; count = tail - head */
};

static struct delay_fifo fifo[2];

static const char usage_text[] =
	"usage: callseal-pcapfwd EAL-ARGS -- [--idle-ms N] [--max-ms N] [--copy FILE]\n"
	"                                    [--idle-sleep US] [--delay-ms MS] [--help]\n"
	"\n"
	"Forwards port 0 -> 1 and 1 -> 0 unchanged (one port: back out of itself).\n"
	"  --idle-ms N      stop after N ms without a frame (default 300; 0 = never);\n"
	"                   with --delay-ms, only once no frame is held\n"
	"  --max-ms N       stop after N ms in all (default 30000; 0 = never)\n"
	"  --copy FILE      write every frame received, both ways, to a pcap file\n"
	"  --idle-sleep US  sleep US microseconds after a poll that received nothing\n"
	"  --delay-ms MS    hold every frame MS ms before forwarding it, in order\n"
	"                   (default 0: none); a FIFO of " RTE_STR(DELAY_FIFO) " frames per direction,\n"
	"                   a frame that finds it full is dropped (\"delay_full\")\n"
	"Stops on SIGINT/SIGTERM too; prints {\"rx\":[N,N],\"tx\":[N,N],\"dropped\":N,\n"
	"\"delay_full\":N,\"held_at_exit\":N,\"link_down\":N} (dropped: the output port did\n"
	"not take them after 1,000 tries; with --delay-ms they wait in the FIFO instead;\n"
	"link_down: it had no link, e.g. a memif peer not yet connected).\n";

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
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long idle_ms = 300, max_ms = 30000, dropped = 0, sleep_us = 0;
	unsigned long delay_ms = 0, delay_full = 0, held_at_exit = 0, link_down = 0;
	FILE *copy = NULL;
	unsigned long rx[2] = { 0, 0 }, tx[2] = { 0, 0 };
	struct rte_mbuf *b[BURST];
	int n, c;

	if (callseal_version_arg(argc, argv, "callseal-pcapfwd"))
		return 0;
	/* --help after "--": no EAL needed for that */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			for (int j = i + 1; j < argc; j++)
				if (!strcmp(argv[j], "--help")) {
					fputs(usage_text, stdout);
					return 0;
				}
			break;
		}
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
		else if (c == 'd')
			delay_ms = arg_num("--delay-ms", optarg, 10000);
		else if (c == 'h') {
			fputs(usage_text, stdout);
			rte_eal_cleanup();
			return 0;
		}
		else if (c == 'c') {
			static const uint32_t gh[6] = { 0xa1b2c3d4, 2 | (4u << 16), 0, 0, 65535, 1 };
			if (!(copy = fopen(optarg, "wb")) || fwrite(gh, sizeof(gh), 1, copy) != 1 ||
			    fflush(copy) != 0)
				rte_exit(1, "--copy %s: %s\n", optarg, strerror(errno));
		} else
			rte_exit(2, "%s", usage_text);
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
	uint64_t delay = delay_ms * rte_get_timer_hz() / 1000;
	while (!quit) {
		uint64_t now = rte_get_tsc_cycles();
		uint32_t held = (fifo[0].tail - fifo[0].head) + (fifo[1].tail - fifo[1].head);
		if ((idle_ms && !held && now - last > idle_ms * hz / 1000) ||
		    (max_ms && now - start > max_ms * hz / 1000))
			break;
		int got = 0;
		for (uint16_t p = 0; p < nports; p++) {
			uint16_t out = nports == 2 ? (uint16_t)(1 - p) : p;
			uint16_t k = rte_eth_rx_burst(p, 0, b, BURST);
			if (k) {
				last = now;
				got = 1;
				rx[p] += k;
				if (copy)
					copy_frames(copy, b, k);
			}
			if (delay) {
				/* hold: append to this direction's FIFO, stamped */
				struct delay_fifo *f = &fifo[p];
				uint64_t due = rte_get_timer_cycles() + delay;
				for (uint16_t i = 0; i < k; i++) {
					if (f->tail - f->head == DELAY_FIFO) {
						rte_pktmbuf_free(b[i]);
						delay_full++;
						continue;
					}
					f->m[f->tail % DELAY_FIFO] = b[i];
					f->due[f->tail % DELAY_FIFO] = due;
					f->tail++;
				}
				/* release: the frames at the head whose time has come;
				 * they leave the FIFO only once sent (below) */
				uint64_t t = rte_get_timer_cycles();
				k = 0;
				while (k < BURST && f->head + k != f->tail &&
				       f->due[(f->head + k) % DELAY_FIFO] <= t) {
					b[k] = f->m[(f->head + k) % DELAY_FIFO];
					k++;
				}
				if (k)
					got = 1;
			}
			if (!k)
				continue;
			struct rte_eth_link link;
			if (rte_eth_link_get_nowait(out, &link) == 0 && !link.link_status) {
				/* no peer on that port yet (a memif client not connected) */
				for (uint16_t i = 0; i < k; i++)
					rte_pktmbuf_free(b[i]);
				link_down += k;
				if (delay)
					fifo[p].head += k;
				continue;
			}
			uint16_t s = rte_eth_tx_burst(out, 0, b, k);
			if (delay) {
				/* a frame the output did not take stays at the FIFO's head
				 * and goes out on a later round, in order */
				fifo[p].head += s;
				tx[out] += s;
				continue;
			}
			/* no FIFO: a slow peer's ring gets a few more tries (a wire
			 * would queue), then the rest is dropped and counted */
			for (int tries = 0; s < k && tries < 1000; tries++) {
				rte_pause();
				s += rte_eth_tx_burst(out, 0, b + s, (uint16_t)(k - s));
			}
			tx[out] += s;
			for (; s < k; s++, dropped++)
				rte_pktmbuf_free(b[s]);
		}
		if (!got && sleep_us)
			rte_delay_us_sleep((unsigned)sleep_us);
	}
	for (int d = 0; d < 2; d++)
		for (; fifo[d].head != fifo[d].tail; fifo[d].head++, held_at_exit++)
			rte_pktmbuf_free(fifo[d].m[fifo[d].head % DELAY_FIFO]);
	if (copy)
		fclose(copy);
	for (uint16_t p = 0; p < nports; p++) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	printf("{\"rx\":[%lu,%lu],\"tx\":[%lu,%lu],\"dropped\":%lu,\"delay_full\":%lu,"
	       "\"held_at_exit\":%lu,\"link_down\":%lu}\n", rx[0], rx[1], tx[0], tx[1], dropped,
	       delay_full, held_at_exit, link_down);
	rte_mempool_free(mp);
	rte_eal_cleanup();
	return 0;
}
