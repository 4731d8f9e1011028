/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * resume.c - the streams' indexes across dataplane restarts (resume.h):
 * load and merge the old object, create its successor, hand out what was
 * carried. Runs at start (resume_open) and on a new stream (resume_take).
 */
#include "resume.h"
#include "errbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SHM_DIR   "/dev/shm/callseal."
#define PATH_LEN  (sizeof(SHM_DIR) + KEYTABLE_NAME_MAX + sizeof(RESUME_SUFFIX) + 24)
#define ROWS_MAX  (UINT32_C(1) << 28)

/* One carried stream: the merged rows of one (key, created_ns, ssrc). */
struct carried {
	struct keytable_key key;
	uint64_t created_ns;
	uint32_t ssrc;
	uint8_t taken;             /* handed out (resume_take) */
	uint32_t lineage;          /* resume_row.lineage */
	struct csrtp_resume st;
};

struct resume {
	void *base;
	size_t bytes;
	uint32_t workers, rows;
	struct carried *c;         /* sorted by (key, created_ns, ssrc) */
	size_t n;
};

static uint64_t object_bytes(uint64_t workers, uint64_t rows, uint64_t carried)
{
	return RESUME_HEADER_SIZE + (carried + workers * rows) * RESUME_ROW_SIZE;
}

static int cmp_id(const struct keytable_key *ka, uint64_t ca, uint32_t sa,
		  const struct keytable_key *kb, uint64_t cb, uint32_t sb)
{
	int d = memcmp(ka, kb, sizeof(*ka));

	if (d != 0)
		return d;
	if (ca != cb)
		return ca < cb ? -1 : 1;
	return sa < sb ? -1 : sa > sb;
}

static int cmp_carried(const void *a, const void *b)
{
	const struct carried *x = a, *y = b;

	return cmp_id(&x->key, x->created_ns, x->ssrc, &y->key, y->created_ns, y->ssrc);
}

/* Two saved states of one stream: the one that went further. A later lineage
 * (more sender rekeys) supersedes: its window may have started below the
 * earlier one's top (an application that reused indexes, under the new key).
 * Within one lineage a window (RTP) comes after the rekey's resume point
 * (REKEYED) and indexes only grow; where two still disagree, the higher is
 * the safe one: it refuses more, never re-uses. */
static void merge(struct carried *ca, const struct carried *cb)
{
	const uint32_t rtp = CSRTP_RESUME_RTP | CSRTP_RESUME_REKEYED;
	const uint32_t rtcp = CSRTP_RESUME_RTCP_RX | CSRTP_RESUME_RTCP_TX;
	struct csrtp_resume *a = &ca->st;
	const struct csrtp_resume *b = &cb->st;

	if (cb->lineage != ca->lineage) {
		if (cb->lineage > ca->lineage) {
			uint32_t keep = a->flags & rtcp, was = a->rtcp;

			*a = *b;
			ca->lineage = cb->lineage;
			/* the SRTCP index is the stream's, not the key's: it only grows */
			if (keep && (!(a->flags & rtcp) || was > a->rtcp)) {
				a->rtcp = was;
				a->flags = (a->flags & ~rtcp) | keep;
			}
		}
		return;
	}
	bool b_window = b->flags & CSRTP_RESUME_RTP, a_window = a->flags & CSRTP_RESUME_RTP;
	if ((b->flags & rtp) && (!(a->flags & rtp) || (b_window && !a_window) ||
				 (b_window == a_window && b->rtp > a->rtp))) {
		a->rtp = b->rtp;
		a->flags = (a->flags & ~rtp) | (b->flags & rtp);
	}
	if ((b->flags & rtcp) && (!(a->flags & rtcp) || b->rtcp > a->rtcp)) {
		a->rtcp = b->rtcp;
		a->flags = (a->flags & ~rtcp) | (b->flags & rtcp);
	}
}

static int make_path(char *path, const char *table, const char *tail, char *err,
		     size_t errlen)
{
	char why[128];

	/* the key table's own rule: the names it accepts, and no others */
	if (keytable_name_check(table, why, sizeof(why)) < 0) {
		errbuf_set(err, errlen, "resume: %s", why);
		return -EINVAL;
	}
	snprintf(path, PATH_LEN, SHM_DIR "%s" RESUME_SUFFIX "%s", table, tail);
	return 0;
}

/* ---- load the old object -------------------------------------------------- */

struct loaded {
	struct carried *c;
	size_t n, cap;
};

static int add_row(struct loaded *l, const struct resume_row *row)
{
	struct resume_row r;
	uint64_t s1 = __atomic_load_n(&row->seq, __ATOMIC_ACQUIRE);

	if (s1 == 0 || (s1 & 1))
		return 0;                  /* never used, or its writer died assigning it */
	memcpy(&r, row, sizeof(r));
	if (r.flags == 0)
		return 0;                  /* nothing used yet */
	/* what csrtp_stream_restore would refuse is damage: the whole object
	 * is refused (the stream must not start again at 0) */
	struct csrtp_stream probe;
	struct csrtp_resume st = { .rtp = r.rtp, .rtcp = r.rtcp, .flags = r.flags };
	if ((r.flags & ~(CSRTP_RESUME_RTP | CSRTP_RESUME_REKEYED | CSRTP_RESUME_RTCP_RX |
			 CSRTP_RESUME_RTCP_TX)) ||
	    csrtp_stream_init(&probe, NULL, 0, 0) != 0 || csrtp_stream_restore(&probe, &st) != 0)
		return -EPROTO;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct carried *c = realloc(l->c, cap * sizeof(*c));

		if (c == NULL)
			return -ENOMEM;
		l->c = c;
		l->cap = cap;
	}
	l->c[l->n++] = (struct carried){
		.key = r.key, .created_ns = r.created_ns, .ssrc = r.ssrc, .lineage = r.lineage,
		.st = { .rtp = r.rtp, .rtcp = r.rtcp, .flags = r.flags },
	};
	return 0;
}

/* Is the entry instance a stream's flow used (its key, exact or the port's
 * wildcard, as the flows look it up; its created_ns) gone from the table?
 * A slot being written (-EBUSY) is not gone: when in doubt a row is kept. */
static bool entry_gone(const struct keytable *t, const struct keytable_key *k,
		       uint64_t created_ns)
{
	struct keytable_entry e;
	struct keytable_key any;
	int rc = keytable_get(t, k, &e, NULL);

	if (rc == -ENOENT && k->family != KEYTABLE_FAMILY_ANY) {
		keytable_key_any(&any, k->port, k->dir);
		rc = keytable_get(t, &any, &e, NULL);
	}
	bool gone = rc == -ENOENT || (rc == 0 && e.created_ns != created_ns);

	keytable_wipe(&e, sizeof(e));
	return gone;
}

/* Sort, merge duplicates, keep what the table still holds (the entry
 * instance: key and created_ns). */
static void settle(struct loaded *l, const struct keytable *t, struct resume_report *rep)
{
	size_t o = 0;

	if (l->n == 0)
		return;
	qsort(l->c, l->n, sizeof(*l->c), cmp_carried);
	for (size_t i = 0; i < l->n; i++) {
		if (o > 0 && cmp_carried(&l->c[o - 1], &l->c[i]) == 0) {
			merge(&l->c[o - 1], &l->c[i]);
			continue;
		}
		l->c[o++] = l->c[i];
	}
	l->n = o;
	o = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (entry_gone(t, &l->c[i].key, l->c[i].created_ns))
			rep->dropped++;
		else
			l->c[o++] = l->c[i];
	}
	l->n = o;
}

/* An old object that cannot be read: what to do (nothing is replaced). */
static void refuse(char *err, size_t errlen, const char *path, const char *why)
{
	errbuf_set(err, errlen, "%s: %s. The streams of the keys in the table cannot be "
		   "resumed (their indexes would start again at 0 and could be protected "
		   "twice): end every call on the table and replace its static keys (key "
		   "del, key add with new keys, on both sides), then remove %s and start "
		   "again", path, why, path);
}

static int load_old(const char *path, struct loaded *l, struct resume_report *rep,
		    char *err, size_t errlen)
{
	struct resume_header h;
	struct stat st;
	void *base = MAP_FAILED;
	int fd, rc = 0;
	const char *why = NULL;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		rc = -errno;
		errbuf_set(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return rc;
	}
	rep->had_old = true;
	memset(&h, 0, sizeof(h));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 0777) != 0600)
		why = "not a regular file of this user with mode 0600";
	else if (st.st_size < (off_t)sizeof(h) ||
		 pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.magic != RESUME_MAGIC)
		why = "not a callseal resume object";
	else if (h.version != RESUME_VERSION)
		why = "written by another version of callseal-dataplane";
	else if (h.row_size != RESUME_ROW_SIZE || h.workers == 0 || h.workers > 1024 ||
		 h.rows > ROWS_MAX || h.carried > (uint64_t)h.workers * ROWS_MAX ||
		 h.bytes != object_bytes(h.workers, h.rows, h.carried) ||
		 (uint64_t)st.st_size != h.bytes)
		why = "bad geometry: damaged";
	if (why == NULL) {
		base = mmap(NULL, h.bytes, PROT_READ, MAP_SHARED, fd, 0);
		if (base == MAP_FAILED)
			why = "cannot be mapped";
	}
	if (why != NULL) {
		refuse(err, errlen, path, why);
		rc = -EPROTO;
		goto out;
	}
	const struct resume_row *rows = (const void *)((const char *)base + RESUME_HEADER_SIZE);
	uint64_t total = h.carried + (uint64_t)h.workers * h.rows;

	for (uint64_t i = 0; i < total && rc == 0; i++)
		rc = add_row(l, &rows[i]);
	if (rc == -EPROTO) {
		refuse(err, errlen, path, "a row holds an index out of range: damaged");
		goto out;
	}
	rep->found = l->n;
out:
	if (base != MAP_FAILED)
		munmap(base, h.bytes);
	close(fd);
	return rc;
}

/* ---- the new object ----------------------------------------------------------- */

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Temporary objects a dataplane killed while making one left behind (this
 * one holds the table's statistics lock: no other is making one now). */
static void remove_tmps(const char *table)
{
	char prefix[PATH_LEN];
	struct dirent *d;
	DIR *dir = opendir("/dev/shm");
	size_t n;

	if (dir == NULL)
		return;
	n = (size_t)snprintf(prefix, sizeof(prefix), "callseal.%s" RESUME_SUFFIX ".tmp", table);
	while ((d = readdir(dir)) != NULL)
		if (strncmp(d->d_name, prefix, n) == 0)
			(void)unlinkat(dirfd(dir), d->d_name, 0);
	closedir(dir);
}

static int create_new(struct resume *r, const char *path, const char *table,
		      char *err, size_t errlen)
{
	char tmp[PATH_LEN];
	struct resume_header *h;
	int fd, rc;

	if ((rc = make_path(tmp, table, ".tmp", err, errlen)) < 0)
		return rc;
	remove_tmps(table);
	snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), "%u",
		 (unsigned)getpid() % 100000000u);
	(void)unlink(tmp);
	r->bytes = (size_t)object_bytes(r->workers, r->rows, r->n);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	/* 0600 whatever the umask (the next start refuses any other mode);
	 * populated now, so that no worker takes a page fault for a row */
	if (fd < 0 || fchmod(fd, 0600) != 0 || ftruncate(fd, (off_t)r->bytes) != 0 ||
	    (r->base = mmap(NULL, r->bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			    fd, 0)) == MAP_FAILED) {
		rc = -errno;
		errbuf_set(err, errlen, "resume: cannot create %s (%zu bytes): %s", tmp,
			   r->bytes, strerror(errno));
		r->base = NULL;
		goto out;
	}
	h = r->base;
	h->version = RESUME_VERSION;
	h->row_size = RESUME_ROW_SIZE;
	h->workers = r->workers;
	h->rows = r->rows;
	h->carried = r->n;
	h->bytes = r->bytes;
	h->started_ns = realtime_ns();
	h->pid = (uint32_t)getpid();
	memcpy(h->table, table, strlen(table));
	struct resume_row *rows = (void *)((char *)r->base + RESUME_HEADER_SIZE);
	for (size_t i = 0; i < r->n; i++) {
		rows[i] = (struct resume_row){
			.seq = 2, .key = r->c[i].key, .created_ns = r->c[i].created_ns,
			.ssrc = r->c[i].ssrc, .flags = r->c[i].st.flags,
			.rtp = r->c[i].st.rtp, .rtcp = r->c[i].st.rtcp,
			.lineage = r->c[i].lineage,
		};
	}
	__atomic_store_n(&h->magic, RESUME_MAGIC, __ATOMIC_RELEASE);
	/* complete before it replaces the old one: a crash leaves one or the other */
	if (rename(tmp, path) != 0) {
		rc = -errno;
		errbuf_set(err, errlen, "resume: cannot publish %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		(void)unlink(tmp);
	if (fd >= 0)
		close(fd);
	return rc;
}

int resume_open(struct resume **out, const char *table, const struct keytable *t,
		unsigned int workers, uint32_t rows, struct resume_report *rep,
		char *err, size_t errlen)
{
	char path[PATH_LEN];
	struct loaded l = { 0 };
	struct resume *r;
	int rc;

	*out = NULL;
	memset(rep, 0, sizeof(*rep));
	if (workers == 0 || workers > 1024 || rows == 0 || rows > ROWS_MAX) {
		errbuf_set(err, errlen, "resume: %u workers of %u rows: out of range", workers, rows);
		return -EINVAL;
	}
	if ((rc = make_path(path, table, "", err, errlen)) < 0)
		return rc;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->workers = workers;
	r->rows = rows;
	if ((rc = load_old(path, &l, rep, err, errlen)) < 0)
		goto fail;
	settle(&l, t, rep);
	r->c = l.c;
	r->n = l.n;
	l.c = NULL;
	rep->carried = r->n;
	if ((rc = create_new(r, path, table, err, errlen)) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	free(l.c);
	resume_close(r);
	return rc;
}

void resume_close(struct resume *r)
{
	if (r == NULL)
		return;
	if (r->base != NULL)
		munmap(r->base, r->bytes);
	free(r->c);
	free(r);
}

struct resume_row *resume_rows(struct resume *r, unsigned int w)
{
	return (struct resume_row *)(void *)((char *)r->base + RESUME_HEADER_SIZE) + r->n +
	       (size_t)w * r->rows;
}

bool resume_take(struct resume *r, const struct keytable_key *key, uint64_t created_ns,
		 uint32_t ssrc, struct csrtp_resume *out, uint32_t *lineage)
{
	size_t lo = 0, hi;

	if (r == NULL || r->n == 0)
		return false;
	hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = cmp_id(&r->c[mid].key, r->c[mid].created_ns, r->c[mid].ssrc,
			       key, created_ns, ssrc);

		if (d == 0) {
			if (__atomic_exchange_n(&r->c[mid].taken, 1, __ATOMIC_ACQ_REL))
				return false;   /* another stream took it */
			*out = r->c[mid].st;
			*lineage = r->c[mid].lineage;
			return true;
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}
