/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * quiesce.c - a port's peer going away must not crash the workers.
 *
 * DPDK's memif PMD (22.11, and upstream since) handles its peer's disconnect
 * in the EAL interrupt thread: memif_disconnect() clears the port's
 * "connected" flag with a plain store and at once munmap()s the shared
 * regions (rings and buffers) and frees their descriptors. eth_memif_rx/tx
 * test that flag once at entry and then copy to and from the regions with
 * nothing that holds the interrupt thread off: a worker inside a burst when
 * the peer goes (preempted, on a loaded machine, for a whole disconnect)
 * faults in the PMD's memcpy. No ethdev event comes first (memif raises no
 * link-status interrupt), and a callback would come too late anyway.
 *
 * So the unmap itself waits for the workers: this file defines munmap(),
 * which the executable exports (dataplane/meson.build) so that it interposes
 * libc's for every shared library, the PMDs included. Called from the EAL
 * interrupt thread while workers run, it asks every online worker to pass a
 * quiescent point (DPDK RCU QSBR: the top of the worker loop, outside any
 * burst) before the pages go. A worker that has passed it has seen the flag
 * clear (the token's release/acquire orders the PMD's store before it) and
 * does not touch the rings again. Any other caller, and this one once the
 * workers are offline, goes straight to libc. The wait is bounded: a worker
 * loop lasts microseconds (at most --idle-sleep plus the tx retries), and if
 * one has not come round within QUIESCE_MAX_MS the unmap goes ahead (logged)
 * rather than hang the interrupt thread for good.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_interrupts.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "dp.h"

#define QUIESCE_MAX_MS 5000

static int (*libc_munmap)(void *, size_t);

/* Look up the next munmap (libc's, or a sanitizer's in front of it) once,
 * before main; until then, and if there is none, the system call. */
__attribute__((constructor)) static void quiesce_resolve(void)
{
	libc_munmap = (int (*)(void *, size_t))dlsym(RTLD_NEXT, "munmap");
}

static void wait_workers(struct rte_rcu_qsbr *qs)
{
	const uint64_t hz = rte_get_timer_hz();
	const uint64_t deadline = rte_get_timer_cycles() + hz * QUIESCE_MAX_MS / 1000;
	uint64_t token = rte_rcu_qsbr_start(qs);

	while (rte_rcu_qsbr_check(qs, token, false) == 0) {
		if (rte_get_timer_cycles() > deadline) {
			fprintf(stderr, "callseal-dataplane: a worker did not come round in "
				"%d ms while a port's peer went away; unmapping anyway\n",
				QUIESCE_MAX_MS);
			return;
		}
		usleep(20);
	}
}

int munmap(void *addr, size_t len)
{
	struct rte_rcu_qsbr *qs = __atomic_load_n(&dp_qsbr, __ATOMIC_ACQUIRE);

	if (qs != NULL && rte_thread_is_intr())
		wait_workers(qs);
	if (libc_munmap != NULL)
		return libc_munmap(addr, len);
	return (int)syscall(SYS_munmap, addr, len);
}

int dp_quiesce_create(unsigned workers)
{
	size_t sz = rte_rcu_qsbr_get_memsize(workers);
	struct rte_rcu_qsbr *qs = rte_zmalloc("callseal_qsbr", sz, RTE_CACHE_LINE_SIZE);

	if (qs == NULL || rte_rcu_qsbr_init(qs, workers) != 0) {
		rte_free(qs);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < workers; i++)
		rte_rcu_qsbr_thread_register(qs, i);
	__atomic_store_n(&dp_qsbr, qs, __ATOMIC_RELEASE);
	return 0;
}

void dp_quiesce_destroy(void)
{
	struct rte_rcu_qsbr *qs = __atomic_exchange_n(&dp_qsbr, NULL, __ATOMIC_ACQ_REL);

	rte_free(qs);
}
