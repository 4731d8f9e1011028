/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpstats.c - the dataplane's statistics area (include/callseal/dpstats.h):
 * create and replace (the dataplane), attach and read (everyone else).
 * No DPDK; the per-packet counting is done by the dataplane's workers with
 * plain stores into the layout the header defines.
 */
#include "callseal/dpstats.h"
#include "errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHM_DIR   "/dev/shm/callseal."
#define PATH_MAX_ (sizeof(SHM_DIR) + KEYTABLE_NAME_MAX + sizeof(DPSTATS_SUFFIX) + 24)
#define ROWS_MAX  (UINT32_C(1) << 25)
#define SEQ_TRIES 64u      /* a row being reassigned: re-reads before skipping it */

struct dpstats {
	int fd;                /* the writer keeps it open: its OFD lock */
	bool writer;
	void *base;
	size_t bytes;
	dev_t dev;
	ino_t ino;
	char path[PATH_MAX_];
};

static const char *const drop_names[] = {
#define DROP_NAME(id, name, help) [DPSTATS_DROP_##id] = #name,
	DPSTATS_DROPS(DROP_NAME)
#undef DROP_NAME
};
static const char *const drop_helps[] = {
#define DROP_HELP(id, name, help) [DPSTATS_DROP_##id] = help,
	DPSTATS_DROPS(DROP_HELP)
#undef DROP_HELP
};

const char *dpstats_drop_name(unsigned int d)
{
	return d < DPSTATS_DROP_COUNT ? drop_names[d] : "unknown";
}

const char *dpstats_drop_help(unsigned int d)
{
	return d < DPSTATS_DROP_COUNT ? drop_helps[d] : "unknown";
}

const char *dpstats_port_name(unsigned int p)
{
	static const char *const names[DPSTATS_PORTS] = {
		[DPSTATS_INSIDE] = "inside", [DPSTATS_OUTSIDE] = "outside",
	};

	return p < DPSTATS_PORTS ? names[p] : "unknown";
}

#define COUNTER_ROW(member, n, kind, prom_name, help_text) \
	[DPSTATS_COUNTER_##member] = { .name = #member, .prom = #prom_name, .help = help_text, \
		.offset = offsetof(struct dpstats_worker, member), \
		.ports = sizeof(((struct dpstats_worker *)0)->member) / sizeof(uint64_t), \
		.counter = DPSTATS_KIND_##kind },
#define DPSTATS_KIND_COUNTER true
#define DPSTATS_KIND_GAUGE   false
const struct dpstats_counter dpstats_counters[DPSTATS_COUNTER_COUNT] = {
	DPSTATS_COUNTERS(COUNTER_ROW)
};
#undef COUNTER_ROW
/* PORTS rows are arrays by port role, ONE rows single values */
#define PORTS_CHECK(member, n, kind, prom, help) \
	_Static_assert(sizeof(((struct dpstats_worker *)0)->member) / sizeof(uint64_t) == \
		       DPSTATS_SIZE_##n, #member " matches its PORTS/ONE");
#define DPSTATS_SIZE_PORTS DPSTATS_PORTS
#define DPSTATS_SIZE_ONE   1
DPSTATS_COUNTERS(PORTS_CHECK)
#undef PORTS_CHECK

void dpstats_add(struct dpstats_worker *sum, const struct dpstats_worker *w,
		 unsigned int drops)
{
	for (unsigned int i = 0; i < DPSTATS_COUNTER_COUNT; i++) {
		const struct dpstats_counter *c = &dpstats_counters[i];
		uint64_t *dst = (uint64_t *)(void *)((char *)sum + c->offset);

		for (unsigned int p = 0; p < c->ports; p++)
			dst[p] += dpstats_value(w, c, p);
	}
	for (unsigned int d = 0; d < drops && d < DPSTATS_DROP_SLOTS; d++)
		sum->drop[d] += w->drop[d];
	if (w->last_rx_ns > sum->last_rx_ns)
		sum->last_rx_ns = w->last_rx_ns;
}

static uint64_t area_bytes(uint32_t workers, uint32_t rows)
{
	return DPSTATS_HEADER_SIZE +
	       (uint64_t)workers * (DPSTATS_WORKER_SIZE + (uint64_t)rows * DPSTATS_FLOW_SIZE);
}

static int make_path(char *path, const char *table, const char *tail, char *err,
		     size_t errlen)
{
	char why[128];

	/* the key table's own rule: the names it accepts, and no others */
	if (keytable_name_check(table, why, sizeof(why)) < 0) {
		errbuf_set(err, errlen, "statistics: %s", why);
		return -EINVAL;
	}
	snprintf(path, PATH_MAX_, SHM_DIR "%s" DPSTATS_SUFFIX "%s", table, tail);
	return 0;
}

static int lock_fd(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };

	return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the writer ------------------------------------------------------------- */

/* A fresh, locked, initialised area under a temporary name. */
static int create_tmp(struct dpstats *s, const char *tmp, const char *table,
		      uint32_t workers, uint32_t rows, char *err, size_t errlen)
{
	struct dpstats_header *h;
	int rc = 0;

	s->bytes = (size_t)area_bytes(workers, rows);
	s->fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s->fd < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "statistics: cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((rc = lock_fd(s->fd)) < 0 || ftruncate(s->fd, (off_t)s->bytes) != 0) {
		rc = rc < 0 ? rc : -errno;
		errbuf_set(err, errlen, "statistics: cannot size %s to %zu bytes: %s", tmp,
			   s->bytes, strerror(-rc));
		goto out;
	}
	s->base = mmap(NULL, s->bytes, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		rc = -errno;
		errbuf_set(err, errlen, "statistics: cannot map %s: %s", tmp, strerror(errno));
		goto out;
	}
	h = s->base;
	h->abi_version = DPSTATS_ABI_VERSION;
	h->header_size = DPSTATS_HEADER_SIZE;
	h->worker_size = DPSTATS_WORKER_SIZE;
	h->flow_size = DPSTATS_FLOW_SIZE;
	h->workers = workers;
	h->rows = rows;
	h->area_bytes = s->bytes;
	h->started_ns = realtime_ns();
	h->pid = (uint32_t)getpid();
	h->drop_count = DPSTATS_DROP_COUNT;
	memcpy(h->table, table, strlen(table));
	for (unsigned int w = 0; w < workers; w++)
		dpstats_worker(s, w)->rows = rows;
	__atomic_store_n(&h->magic, DPSTATS_MAGIC, __ATOMIC_RELEASE);
out:
	return rc;
}

/* Why the area is busy: the live writer's pid, from its header. */
static int busy(int fd, const char *path, char *err, size_t errlen)
{
	struct dpstats_header h;

	memset(&h, 0, sizeof(h));
	if (pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && h.pid != 0)
		errbuf_set(err, errlen, "statistics area %s is held by callseal-dataplane pid "
			   "%u: one dataplane per key table", path, h.pid);
	else
		errbuf_set(err, errlen, "statistics area %s is held by another dataplane", path);
	return -EBUSY;
}

int dpstats_create(struct dpstats **out, const char *table, unsigned int workers,
		   uint32_t rows, char *err, size_t errlen)
{
	struct dpstats *s = NULL;
	char tmp[PATH_MAX_];
	int old = -1, rc;
	struct stat st;

	*out = NULL;
	if (workers == 0 || workers > DPSTATS_WORKERS_MAX || rows == 0 || rows > ROWS_MAX ||
	    (rows & (rows - 1)) != 0) {
		errbuf_set(err, errlen, "statistics: %u workers of %u rows: out of range",
			   workers, rows);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->fd = -1;
	s->writer = true;
	if ((rc = make_path(s->path, table, "", err, errlen)) < 0)
		goto fail;
	if ((rc = make_path(tmp, table, ".tmp", err, errlen)) < 0)
		goto fail;
	/* one temporary name per pid: a crash of this pid left it */
	snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), "%u", (unsigned)getpid() % 100000000u);
	(void)unlink(tmp);

	/* A stale area (its writer gone) is locked while it is replaced, so a
	 * second dataplane starting at the same time finds it busy. */
	old = open(s->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (old >= 0 && lock_fd(old) < 0) {
		rc = busy(old, s->path, err, errlen);
		goto fail;
	}
	if ((rc = create_tmp(s, tmp, table, workers, rows, err, errlen)) < 0)
		goto fail;
	/* replace the stale one, or appear where none was (link: never over
	 * an area another dataplane created meanwhile) */
	if (old >= 0 ? rename(tmp, s->path) != 0 : link(tmp, s->path) != 0) {
		rc = errno == EEXIST ? -EBUSY : -errno;
		errbuf_set(err, errlen, "statistics: cannot publish %s: %s", s->path,
			   errno == EEXIST ? "another dataplane created it meanwhile" :
			   strerror(errno));
		(void)unlink(tmp);
		goto fail;
	}
	if (old < 0)
		(void)unlink(tmp);
	if (fstat(s->fd, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	if (old >= 0)
		close(old);
	*out = s;
	return 0;
fail:
	if (old >= 0)
		close(old);
	if (s->base != NULL)
		munmap(s->base, s->bytes);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
	return rc;
}

void dpstats_destroy(struct dpstats *s)
{
	struct stat st;

	if (s == NULL)
		return;
	/* remove the path only while it is still ours */
	if (s->writer && stat(s->path, &st) == 0 && st.st_ino == s->ino && st.st_dev == s->dev)
		(void)unlink(s->path);
	dpstats_detach(s);
}

struct dpstats_worker *dpstats_worker(struct dpstats *s, unsigned int w)
{
	const struct dpstats_header *h = s->base;

	return (struct dpstats_worker *)(void *)((char *)s->base + DPSTATS_HEADER_SIZE +
		(size_t)w * (DPSTATS_WORKER_SIZE + (size_t)h->rows * DPSTATS_FLOW_SIZE));
}

struct dpstats_flow *dpstats_flows(struct dpstats *s, unsigned int w)
{
	return (struct dpstats_flow *)(void *)((char *)dpstats_worker(s, w) +
					       DPSTATS_WORKER_SIZE);
}

void dpstats_flow_assign(struct dpstats_flow *row, const struct keytable_key *key,
			 uint64_t entry_created_ns, uint64_t now_ns)
{
	uint64_t seq = row->seq;

	/* seqlock: odd while the identity changes; readers retry (the
	 * counters are reset under it too, so no reader mixes two entries) */
	__atomic_store_n(&row->seq, seq | 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	row->key = *key;
	row->entry_created_ns = entry_created_ns;
	row->since_ns = now_ns;
	row->generation = 0;
	row->last_ns = 0;
	row->packets = row->bytes = row->auth = row->replay = 0;
	row->index_reuse = row->key_exhausted = row->other_drops = 0;
	__atomic_store_n(&row->seq, (seq | 1) + 1, __ATOMIC_RELEASE);
}

/* ---- readers ---------------------------------------------------------------- */

static int check_header(const char *path, const struct dpstats_header *h, off_t size,
			char *err, size_t errlen)
{
	if (size < (off_t)DPSTATS_HEADER_SIZE || h->magic != DPSTATS_MAGIC) {
		errbuf_set(err, errlen, "%s is not a callseal statistics area (%s)", path,
			   size < (off_t)DPSTATS_HEADER_SIZE ? "too short" : "bad magic");
		return -EPROTO;
	}
	if (h->abi_version != DPSTATS_ABI_VERSION) {
		errbuf_set(err, errlen, "%s was written by statistics ABI %u; this build "
			   "reads ABI %u: run a control and a dataplane of one version",
			   path, h->abi_version, DPSTATS_ABI_VERSION);
		return -EPROTO;
	}
	if (h->header_size != DPSTATS_HEADER_SIZE || h->worker_size != DPSTATS_WORKER_SIZE ||
	    h->flow_size != DPSTATS_FLOW_SIZE || h->workers == 0 ||
	    h->workers > DPSTATS_WORKERS_MAX || h->rows == 0 || h->rows > ROWS_MAX ||
	    (h->rows & (h->rows - 1)) != 0 || h->drop_count > DPSTATS_DROP_SLOTS ||
	    h->area_bytes != area_bytes(h->workers, h->rows) ||
	    (uint64_t)size != h->area_bytes) {
		errbuf_set(err, errlen, "%s has a bad geometry (%u workers of %u rows, %lld "
			   "bytes): damaged", path, h->workers, h->rows, (long long)size);
		return -EPROTO;
	}
	return 0;
}

int dpstats_attach(struct dpstats **out, const char *table, char *err, size_t errlen)
{
	struct dpstats_header h;
	struct dpstats *s;
	struct stat st;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->fd = -1;
	if ((rc = make_path(s->path, table, "", err, errlen)) < 0)
		goto fail;
	s->fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (s->fd < 0) {
		rc = -errno;
		errbuf_set(err, errlen, rc == -ENOENT ? "no statistics for table %s: no "
			   "callseal-dataplane serves it" : "cannot open statistics of "
			   "table %s", table);
		goto fail;
	}
	if (fstat(s->fd, &st) != 0) {
		rc = -errno;
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0777) != 0600) {
		rc = st.st_uid != geteuid() ? -EPERM : -EACCES;
		errbuf_set(err, errlen, "%s must be a regular file of this user with mode "
			   "0600: refusing it", s->path);
		goto fail;
	}
	memset(&h, 0, sizeof(h));
	if (pread(s->fd, &h, sizeof(h), 0) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = check_header(s->path, &h, st.st_size, err, errlen)) < 0)
		goto fail;
	s->bytes = (size_t)h.area_bytes;
	s->base = mmap(NULL, s->bytes, PROT_READ, MAP_SHARED, s->fd, 0);
	if (s->base == MAP_FAILED) {
		s->base = NULL;
		rc = -errno;
		errbuf_set(err, errlen, "cannot map %s: %s", s->path, strerror(errno));
		goto fail;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	close(s->fd);          /* a reader needs only the mapping */
	s->fd = -1;
	*out = s;
	return 0;
fail:
	dpstats_detach(s);
	return rc;
}

void dpstats_detach(struct dpstats *s)
{
	if (s == NULL)
		return;
	if (s->base != NULL)
		munmap(s->base, s->bytes);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

bool dpstats_stale(const struct dpstats *s)
{
	struct stat st;

	return stat(s->path, &st) != 0 || st.st_ino != s->ino || st.st_dev != s->dev;
}

const struct dpstats_header *dpstats_header(const struct dpstats *s)
{
	return s->base;
}

static inline uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

int dpstats_read_worker(const struct dpstats *s, unsigned int w, struct dpstats_worker *out)
{
	const struct dpstats_header *h = s->base;
	const uint64_t *src;
	uint64_t *dst = (uint64_t *)(void *)out;

	if (w >= h->workers)
		return -EINVAL;
	src = (const uint64_t *)(const void *)dpstats_worker((struct dpstats *)(uintptr_t)s, w);
	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = ld(&src[i]);
	return 0;
}

/* One consistent copy of a row: false if it was being reassigned throughout. */
static bool row_copy(const struct dpstats_flow *row, struct dpstats_flow *out, bool *unused)
{
	for (unsigned int t = 0; t < SEQ_TRIES; t++) {
		uint64_t s1 = __atomic_load_n(&row->seq, __ATOMIC_ACQUIRE);

		*unused = s1 == 0;
		if (s1 == 0)
			return false;
		if (s1 & 1)
			continue;
		const uint64_t *src = (const uint64_t *)(const void *)row;
		uint64_t *dst = (uint64_t *)(void *)out;
		for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
			dst[i] = ld(&src[i]);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&row->seq, __ATOMIC_RELAXED) == s1)
			return true;
	}
	return false;
}

int dpstats_read_flow(const struct dpstats *s, const struct keytable_key *key,
		      uint64_t entry_created_ns, struct dpstats_flow *out)
{
	const struct dpstats_header *h = s->base;
	const uint32_t mask = h->rows - 1;
	const uint32_t probes = h->rows < DPSTATS_PROBE_MAX ? h->rows : DPSTATS_PROBE_MAX;
	const uint64_t hash = keytable_hash(key);

	memset(out, 0, sizeof(*out));
	for (unsigned int w = 0; w < h->workers; w++) {
		const struct dpstats_flow *rows = dpstats_flows((struct dpstats *)(uintptr_t)s, w);
		uint32_t i = (uint32_t)hash & mask;

		for (uint32_t n = 0; n < probes; n++, i = (i + 1) & mask) {
			struct dpstats_flow r;
			bool unused;

			if (!row_copy(&rows[i], &r, &unused)) {
				if (unused)
					break;          /* the probe ends: not on this worker */
				continue;
			}
			if (memcmp(&r.key, key, sizeof(*key)) != 0)
				continue;
			if (entry_created_ns != 0 && r.entry_created_ns != entry_created_ns)
				break;                  /* another instance of the key */
			if (out->seq == 0 || r.generation > out->generation) {
				out->key = r.key;
				out->entry_created_ns = r.entry_created_ns;
				out->generation = r.generation;
			}
			if (out->seq == 0 || r.since_ns < out->since_ns)
				out->since_ns = r.since_ns;
			if (r.last_ns > out->last_ns)
				out->last_ns = r.last_ns;
			out->packets += r.packets;
			out->bytes += r.bytes;
			out->auth += r.auth;
			out->replay += r.replay;
			out->index_reuse += r.index_reuse;
			out->key_exhausted += r.key_exhausted;
			out->other_drops += r.other_drops;
			out->seq++;
			break;                          /* one row per key per worker */
		}
	}
	return out->seq > 0 ? 0 : -ENOENT;
}

int dpstats_writer_alive(const struct dpstats *s)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	struct stat st;
	int fd, rc;

	fd = open(s->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) != 0)
		rc = -errno;
	else if (st.st_ino != s->ino || st.st_dev != s->dev)
		rc = 0;                          /* another area now: not ours */
	else if (fcntl(fd, F_OFD_GETLK, &fl) != 0)
		rc = -errno;
	else
		rc = fl.l_type != F_UNLCK;       /* the writer holds byte 0 */
	close(fd);
	return rc;
}

/* ---- following a table's area ------------------------------------------------ */

int dpstats_follow_init(struct dpstats_follow *f, const char *table, char *err,
			size_t errlen)
{
	size_t n = table != NULL ? strlen(table) : 0;

	memset(f, 0, sizeof(*f));
	f->last_rc = -ENOENT;                 /* absent at start: nothing to say */
	if (n >= sizeof(f->table)) {
		errbuf_set(err, errlen, "statistics: key table name longer than %zu characters",
			   sizeof(f->table) - 1);
		return -EINVAL;
	}
	memcpy(f->table, n ? table : "", n + 1);
	return 0;
}

enum dpstats_follow_event dpstats_follow(struct dpstats_follow *f, char *err, size_t errlen)
{
	bool gone = false;
	int rc, last = f->last_rc;

	if (f->table[0] == '\0' || (f->area && !dpstats_stale(f->area)))
		return DPSTATS_FOLLOW_QUIET;
	if (f->area) {
		/* its dataplane stopped or was replaced: the new one counts from 0 */
		dpstats_detach(f->area);
		f->area = NULL;
		gone = true;
	}
	if (errlen)
		err[0] = '\0';
	rc = f->last_rc = dpstats_attach(&f->area, f->table, err, errlen);
	if (rc == 0) {
		f->epoch++;
		return gone ? DPSTATS_FOLLOW_REPLACED : DPSTATS_FOLLOW_ATTACHED;
	}
	if (gone)
		return DPSTATS_FOLLOW_GONE;
	return rc != last && rc != -ENOENT ? DPSTATS_FOLLOW_FAILED : DPSTATS_FOLLOW_QUIET;
}

void dpstats_follow_fini(struct dpstats_follow *f)
{
	dpstats_detach(f->area);
	f->area = NULL;
}
