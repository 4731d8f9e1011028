/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bench_store.c - the store alone, as one daemon uses it per call (issue 17):
 * per call, what control/calls does on one side: the user's effective policy,
 * private key and the peer's record read, the call record added, committed
 * (store_batch_flush: the daemon commits it before the keys go in), made
 * active, ended, and the poll loop's commit. The store in a fresh directory
 * under /var/tmp (a real file system, its type printed), or DIR.
 *
 *   callseal-bench-store [--quick] [--calls N] [--dir DIR]
 *
 * Prints calls per second of wall time and per CPU-second (the process's own
 * CPU time, so a loaded machine's waits do not count), microseconds of CPU
 * per call, and the store's own counters (statements prepared, commits).
 * Built with -DBENCH_STORE_V0 against a store without batches (before issue
 * 17) it runs the same calls without the flushes, for a side-by-side figure.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bench_util.h"
#include "store.h"

static char err[STORE_ERR_MAX];

static double now_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "callseal-bench-store: %s: %s\n", what, err);
		exit(1);
	}
	return rc;
}

static void flush(struct store *st)
{
#ifndef BENCH_STORE_V0
	check(store_batch_flush(st, err, sizeof(err)), "flush");
#else
	(void)st;
#endif
}

static void one_call(struct store *st, unsigned int i)
{
	uint8_t priv[STORE_PRIVATE_KEY_BYTES], pub[STORE_PUBLIC_KEY_BYTES];
	struct store_effective eff;
	struct store_peer peer;
	struct store_call c;

	memset(&c, 0, sizeof(c));
	snprintf(c.id, sizeof(c.id), "%016x", i);
	snprintf(c.local_user, sizeof(c.local_user), "alice");
	snprintf(c.remote, sizeof(c.remote), "bob@fabrikam");
	c.role = STORE_ROLE_INITIATOR;
	c.mode = STORE_MODE_PENDING;
	c.state = STORE_CALL_SETUP;
	snprintf(c.local_media, sizeof(c.local_media), "192.0.2.1:%u", 1024 + i % 60000);
	check(store_user_effective_policy(st, "alice", &eff, err, sizeof(err)), "policy");
	check(store_user_private_key(st, "alice", priv, pub, err, sizeof(err)), "key");
	sodium_memzero(priv, sizeof(priv));
	check(store_peer_show(st, "bob@fabrikam", &peer, err, sizeof(err)), "peer");
	check(store_call_add(st, &c, err, sizeof(err)), "add");
	flush(st);                          /* before the keys go in */
	c.state = STORE_CALL_ACTIVE;
	c.mode = STORE_MODE_STANDARD;
	snprintf(c.profile, sizeof(c.profile), "AEAD_AES_128_GCM");
	snprintf(c.remote_media, sizeof(c.remote_media), "192.0.2.2:40000");
	check(store_call_update(st, &c, err, sizeof(err)), "update");
	check(store_call_end_leg(st, c.id, STORE_ROLE_INITIATOR, STORE_CALL_ENDED, "done", err,
				 sizeof(err)), "end");
	flush(st);                          /* the poll loop's commit */
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static const char *fs_name(const char *dir)
{
	struct statfs sf;

	if (statfs(dir, &sf) < 0)
		return "?";
	switch ((unsigned long)sf.f_type) {
	case 0xEF53: return "ext4";
	case 0x01021994: return "tmpfs";
	case 0x58465342: return "xfs";
	case 0x9123683E: return "btrfs";
	case 0x794c7630: return "overlayfs";
	default: return "other";
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "calls", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char root[256] = "/var/tmp/callseal-bench-store.XXXXXX", state[300];
	const char *base = NULL;
	unsigned int calls = 3000, i;
	struct store *st;
	double w0, c0, wall, cpu;
	int opt;

	while ((opt = getopt_long(argc, argv, "qc:d:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'q': calls = 200; break;
		case 'c': calls = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'd': base = optarg; break;
		default:
			printf("usage: %s [--quick] [--calls N] [--dir DIR]\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (calls == 0 || calls > 1000000) {
		fprintf(stderr, "callseal-bench-store: --calls: 1 to 1,000,000\n");
		return 2;
	}
	if (base)
		snprintf(root, sizeof(root), "%s/callseal-bench-store.XXXXXX", base);
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(state, sizeof(state), "%s/state", root);
	check(store_open(state, "contoso", STORE_OPEN_CREATE, &st, err, sizeof(err)), "open");
	check(store_user_add(st, "alice", err, sizeof(err)), "user");
	check(store_policy_add(st, "open", POLICY_E2EE_USERS_CAN_TURN_ON, err, sizeof(err)),
	      "policy");
	check(store_assign(st, STORE_TARGET_TENANT, NULL, "open", err, sizeof(err)), "assign");
	check(store_peer_add(st, "bob@fabrikam", NULL, "192.0.2.9:5060", false, err,
			     sizeof(err)), "peer");
	for (i = 0; i < 20; i++)          /* warm */
		one_call(st, 1000000 + i);
	w0 = now_s(CLOCK_MONOTONIC);
	c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < calls; i++)
		one_call(st, i);
	wall = now_s(CLOCK_MONOTONIC) - w0;
	cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("the store alone, one side of each call (policy, key, peer read; record added, "
	       "committed, active, ended, committed), %s in %s\n", fs_name(root), root);
	printf("%u calls: %.0f calls/s, %.0f calls per CPU-second, %.1f us CPU per call\n",
	       calls, calls / wall, calls / cpu, cpu * 1e6 / calls);
	bench_csv("store alone", "calls", "rate", calls / wall, "/s");
	bench_csv("store alone", "calls", "per cpu-second", calls / cpu, "/s");
	bench_csv("store alone", "calls", "cpu per call", cpu * 1e6 / calls, "us");
#ifndef BENCH_STORE_V0
	{
		struct store_stats ss;

		store_stats(st, &ss);
		printf("store: %llu statements prepared, journal %s, %llu call records in %llu "
		       "commits, %llu commits with a sync\n", (unsigned long long)ss.prepares,
		       ss.wal ? "WAL" : "rollback", (unsigned long long)ss.records,
		       (unsigned long long)ss.batches, (unsigned long long)ss.full_commits);
	}
#endif
	store_close(st);
	return nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : 1;
}
