/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * attach.c - a table's life outside its slots: create, attach as the writer
 * (with the OFD writer lock, and recovery) or as a reader, the checks made
 * before mapping (name, owner, mode, size, header, layout, ABI version),
 * detach and unlink.
 */
#include "keytable_internal.h"
#include "errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- names, owner, mode and header ----------------------------------------- */

int keytable_name_check(const char *name, char *err, size_t errlen)
{
	size_t n;

	if (name == NULL || name[0] == '\0' || name[0] == '.') {
		errbuf_set(err, errlen, "table name is empty or starts with '.'");
		return -EINVAL;
	}
	for (n = 0; name[n] != '\0'; n++) {
		char c = name[n];

		if (n >= KEYTABLE_NAME_MAX) {
			errbuf_set(err, errlen, "table name is longer than %u characters",
			       KEYTABLE_NAME_MAX);
			return -EINVAL;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
			errbuf_set(err, errlen, "table name may use only A-Z a-z 0-9 . _ -");
			return -EINVAL;
		}
	}
	return 0;
}

static int table_path(const char *name, char path[sizeof(NAME_PREFIX) + KEYTABLE_NAME_MAX],
		      char *err, size_t errlen)
{
	int rc = keytable_name_check(name, err, errlen);

	if (rc == 0)
		snprintf(path, sizeof(NAME_PREFIX) + KEYTABLE_NAME_MAX, NAME_PREFIX "%s", name);
	return rc;
}

/* Owner and permission bits (0600 only), regular file. */
static int check_stat(const char *name, const struct stat *st, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		errbuf_set(err, errlen, "table callseal.%s is not a regular file", name);
		return -EINVAL;
	}
	if (st->st_uid != geteuid()) {
		errbuf_set(err, errlen, "table callseal.%s is owned by uid %u, not by this "
		       "user (uid %u): refusing it", name, (unsigned int)st->st_uid,
		       (unsigned int)geteuid());
		return -EPERM;
	}
	if ((st->st_mode & 0777) != 0600) {
		errbuf_set(err, errlen, "table callseal.%s has mode 0%03o: it must be 0600 "
		       "(owner only), refusing it", name, (unsigned int)(st->st_mode & 0777));
		return -EACCES;
	}
	return 0;
}

/* slot_bits for a capacity: the smallest power of two >= 2 x capacity, at
 * least 2^SLOT_BITS_MIN (so the table is at most half full). */
static uint32_t slot_bits_for(uint32_t capacity)
{
	uint32_t bits = SLOT_BITS_MIN;

	while ((UINT64_C(1) << bits) < 2 * (uint64_t)capacity)
		bits++;
	return bits;
}

/* Check a header (read with pread, before any mmap) against the file size:
 * the geometry must be the one keytable_create() makes for the capacity, and
 * the file exactly as long as it says. */
static int check_header(const char *name, const struct keytable_header *h, off_t size,
			char *err, size_t errlen)
{
	uint64_t bytes;

	if (size < (off_t)KEYTABLE_HEADER_SIZE) {
		errbuf_set(err, errlen, "table callseal.%s is too short (%lld bytes; the header "
		       "alone is %u): not a key table, or its creator died", name,
		       (long long)size, KEYTABLE_HEADER_SIZE);
		return -EPROTO;
	}
	if (h->magic != KEYTABLE_MAGIC) {
		errbuf_set(err, errlen, "table callseal.%s is not a callseal key table (bad magic "
		       "0x%016" PRIx64 "%s)", name, h->magic,
		       h->magic == 0 ? ": its creator died before finishing it" : "");
		return -EPROTO;
	}
	if (h->abi_version != KEYTABLE_ABI_VERSION) {
		errbuf_set(err, errlen, "table callseal.%s was made by ABI %u, this build "
		       "reads ABI %u (%s)", name, h->abi_version, KEYTABLE_ABI_VERSION,
		       h->abi_version < KEYTABLE_ABI_VERSION ?
		       "an older table: remove it and let this version's control re-create it" :
		       "a newer control made it: run a dataplane of the same version");
		return -EPROTO;
	}
	if (h->header_size != KEYTABLE_HEADER_SIZE || h->entry_size != KEYTABLE_ENTRY_SIZE) {
		errbuf_set(err, errlen, "table callseal.%s has a %u-byte header and %u-byte "
		       "entries; ABI %u has %u and %u", name, h->header_size,
		       h->entry_size, KEYTABLE_ABI_VERSION, KEYTABLE_HEADER_SIZE,
		       KEYTABLE_ENTRY_SIZE);
		return -EPROTO;
	}
	if (h->capacity == 0 || h->capacity > KEYTABLE_CAPACITY_MAX) {
		errbuf_set(err, errlen, "table callseal.%s has a bad geometry (capacity %u, "
		       "2^%u slots: the capacity is 1 to %u)", name, h->capacity,
		       h->slot_bits, KEYTABLE_CAPACITY_MAX);
		return -EPROTO;
	}
	if (h->slot_bits != slot_bits_for(h->capacity)) {
		errbuf_set(err, errlen, "table callseal.%s has a bad geometry (capacity %u, "
		       "2^%u slots: a table of capacity %u has 2^%u)", name, h->capacity,
		       h->slot_bits, h->capacity, slot_bits_for(h->capacity));
		return -EPROTO;
	}
	bytes = KEYTABLE_HEADER_SIZE + ((uint64_t)KEYTABLE_ENTRY_SIZE << h->slot_bits);
	if (h->table_bytes != bytes || (uint64_t)size != bytes) {
		errbuf_set(err, errlen, "table callseal.%s is %lld bytes but its header says "
		       "%" PRIu64 " (2^%u slots need %" PRIu64 "): truncated or damaged",
		       name, (long long)size, h->table_bytes, h->slot_bits, bytes);
		return -EPROTO;
	}
	return 0;
}

/* ---- the writer lock and the handle ---------------------------------------- */

/* The exclusive writer lock: an OFD lock on byte 0, released when the last
 * descriptor of this open file description closes (process exit included),
 * and not released by closing some other descriptor of the same file. */
static int take_lock(int fd)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 1,
	};

	return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

static int busy_error(int fd, const char *name, char *err, size_t errlen)
{
	struct keytable_header h;

	/* OFD locks do not report their holder (F_OFD_GETLK gives pid -1):
	 * every writer stores its pid in the header right after locking */
	memset(&h, 0, sizeof(h));
	if (pread(fd, &h, sizeof(h), 0) >= (ssize_t)offsetof(struct keytable_header,
							     writer_epoch) && h.writer_pid != 0)
		errbuf_set(err, errlen, "table callseal.%s is held by writer pid %u",
		       name, h.writer_pid);
	else
		errbuf_set(err, errlen, "table callseal.%s is held by another writer", name);
	return -EBUSY;
}

/* Keys stay out of core dumps (a file-backed shared mapping is not dumped
 * with the default coredump_filter either; this makes it explicit). */
static void no_dump(void *base, size_t bytes)
{
	(void)madvise(base, bytes, MADV_DONTDUMP);
}

static struct keytable *handle_new(const char *name)
{
	struct keytable *t = calloc(1, sizeof(*t));

	if (t != NULL) {
		t->fd = -1;
		snprintf(t->name, sizeof(t->name), "%s", name);
	}
	return t;
}

static void handle_free(struct keytable *t)
{
	if (t == NULL)
		return;
	if (t->hdr != NULL)
		munmap(t->hdr, t->map_bytes);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static void handle_map(struct keytable *t, void *base, const struct keytable_header *h)
{
	t->hdr = base;
	t->slots = (struct keytable_entry *)(void *)((char *)base + KEYTABLE_HEADER_SIZE);
	t->mask = (UINT32_C(1) << h->slot_bits) - 1;
	t->capacity = h->capacity;
}

/* ---- create / attach / detach ---------------------------------------------- */

int keytable_create(struct keytable **out, const char *name, uint32_t capacity,
		    char *err, size_t errlen)
{
	char path[sizeof(NAME_PREFIX) + KEYTABLE_NAME_MAX];
	struct keytable *t = NULL;
	struct keytable_header *h;
	uint32_t bits;
	uint64_t bytes;
	bool created = false;
	void *base;
	int rc;

	*out = NULL;
	rc = table_path(name, path, err, errlen);
	if (rc < 0)
		goto out;
	if (capacity == 0 || capacity > KEYTABLE_CAPACITY_MAX) {
		errbuf_set(err, errlen, "capacity %u for table callseal.%s is out of range "
		       "(1..%u)", capacity, name, KEYTABLE_CAPACITY_MAX);
		rc = -EINVAL;
		goto out;
	}
	bits = slot_bits_for(capacity);
	bytes = KEYTABLE_HEADER_SIZE + ((uint64_t)KEYTABLE_ENTRY_SIZE << bits);

	t = handle_new(name);
	if (t == NULL) {
		rc = -ENOMEM;
		errbuf_set(err, errlen, "out of memory");
		goto out;
	}
	t->fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (t->fd < 0) {
		rc = -errno;
		if (rc == -EEXIST)
			errbuf_set(err, errlen, "table callseal.%s already exists: attach to it, "
			       "or remove it first", name);
		else
			errbuf_set(err, errlen, "cannot create table callseal.%s: %s", name,
			       strerror(-rc));
		goto out;
	}
	created = true;
	/* exactly 0600 whatever the umask */
	if (fchmod(t->fd, 0600) < 0 || (rc = take_lock(t->fd)) < 0) {
		rc = rc < 0 ? rc : -errno;
		errbuf_set(err, errlen, "cannot set up table callseal.%s: %s", name, strerror(-rc));
		goto out;
	}
	/* fallocate reserves the pages now: a full /dev/shm is a clean
	 * ENOSPC here, never a SIGBUS on first touch later */
	if (fallocate(t->fd, 0, 0, (off_t)bytes) < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot make table callseal.%s %" PRIu64 " bytes "
		       "(capacity %u) in /dev/shm: %s", name, bytes, capacity, strerror(-rc));
		goto out;
	}
	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, t->fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot map table callseal.%s: %s", name, strerror(-rc));
		goto out;
	}
	t->map_bytes = bytes;
	no_dump(base, bytes);
	h = base;
	/* the pid first, so that a second writer can name us even now */
	h->writer_pid = (uint32_t)getpid();
	h->writer_epoch = 1;
	h->abi_version = KEYTABLE_ABI_VERSION;
	h->header_size = KEYTABLE_HEADER_SIZE;
	h->entry_size = KEYTABLE_ENTRY_SIZE;
	h->capacity = capacity;
	h->slot_bits = bits;
	h->table_bytes = bytes;
	h->created_ns = now_ns();
	/* release: the magic is stored last; whoever reads it sees the rest */
	st_rel(&h->magic, KEYTABLE_MAGIC);
	handle_map(t, base, h);
	t->writer = true;
	*out = t;
	t = NULL;
	rc = 0;
out:
	if (t != NULL) {
		if (created)
			shm_unlink(path);
		handle_free(t);
	}
	return rc;
}

/* Open, check owner/mode/header, map; the writer also locks and recovers. */
static int attach(struct keytable **out, const char *name, bool writer,
		  struct keytable_recovery *rec, char *err, size_t errlen)
{
	char path[sizeof(NAME_PREFIX) + KEYTABLE_NAME_MAX];
	struct keytable_recovery rec0;
	struct keytable_header h;
	struct keytable *t = NULL;
	struct stat st;
	ssize_t got;
	void *base;
	int rc;

	*out = NULL;
	memset(&rec0, 0, sizeof(rec0));
	rc = table_path(name, path, err, errlen);
	if (rc < 0)
		goto out;
	t = handle_new(name);
	if (t == NULL) {
		rc = -ENOMEM;
		errbuf_set(err, errlen, "out of memory");
		goto out;
	}
	t->fd = shm_open(path, (writer ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
	if (t->fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			errbuf_set(err, errlen, "table callseal.%s does not exist "
			       "(/dev/shm/callseal.%s)", name, name);
		else
			errbuf_set(err, errlen, "cannot open table callseal.%s: %s", name,
			       strerror(-rc));
		goto out;
	}
	if (fstat(t->fd, &st) < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot stat table callseal.%s: %s", name, strerror(-rc));
		goto out;
	}
	rc = check_stat(name, &st, err, errlen);
	if (rc < 0)
		goto out;
	if (writer) {
		rc = take_lock(t->fd);
		if (rc == -EAGAIN || rc == -EACCES) {
			rc = busy_error(t->fd, name, err, errlen);
			goto out;
		} else if (rc < 0) {
			errbuf_set(err, errlen, "cannot lock table callseal.%s: %s", name,
			       strerror(-rc));
			goto out;
		}
		/* re-read the size under the lock (a creator may have finished) */
		if (fstat(t->fd, &st) < 0) {
			rc = -errno;
			goto out;
		}
	}
	/* never mmap before the size and header are known good: a short or
	 * foreign file is an error, not a SIGBUS */
	memset(&h, 0, sizeof(h));
	if (st.st_size >= (off_t)sizeof(h)) {
		got = pread(t->fd, &h, sizeof(h), 0);
		if (got != (ssize_t)sizeof(h)) {
			rc = got < 0 ? -errno : -EPROTO;
			errbuf_set(err, errlen, "cannot read the header of table callseal.%s: %s",
			       name, got < 0 ? strerror(-rc) : "short read");
			goto out;
		}
	}
	rc = check_header(name, &h, st.st_size, err, errlen);
	if (rc < 0)
		goto out;
	base = mmap(NULL, h.table_bytes, writer ? PROT_READ | PROT_WRITE : PROT_READ,
		    MAP_SHARED | MAP_POPULATE, t->fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot map table callseal.%s: %s", name, strerror(-rc));
		goto out;
	}
	t->map_bytes = h.table_bytes;
	no_dump(base, h.table_bytes);
	handle_map(t, base, &h);
	if (writer) {
		t->writer = true;
		rec0.prev_writer_pid = t->hdr->writer_pid;
		rc = keytable_recover(t, &rec0, err, errlen);
		if (rc < 0)
			goto out;
		st32_rel(&t->hdr->writer_pid, (uint32_t)getpid());
		st32_rel(&t->hdr->writer_epoch, t->hdr->writer_epoch + 1);
	} else {
		/* a reader needs no descriptor: the mapping is enough */
		close(t->fd);
		t->fd = -1;
	}
	*out = t;
	t = NULL;
	rc = 0;
out:
	if (rec != NULL)
		*rec = rec0;
	handle_free(t);
	return rc;
}

int keytable_attach_writer(struct keytable **out, const char *name,
			   struct keytable_recovery *rec, char *err, size_t errlen)
{
	return attach(out, name, true, rec, err, errlen);
}

int keytable_attach_reader(struct keytable **out, const char *name,
			   char *err, size_t errlen)
{
	return attach(out, name, false, NULL, err, errlen);
}

void keytable_detach(struct keytable *t)
{
	handle_free(t);
}

int keytable_unlink(const char *name, char *err, size_t errlen)
{
	char path[sizeof(NAME_PREFIX) + KEYTABLE_NAME_MAX];
	struct stat st;
	int fd = -1, rc;

	rc = table_path(name, path, err, errlen);
	if (rc < 0)
		goto out;
	fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		errbuf_set(err, errlen, rc == -ENOENT ? "table callseal.%s does not exist" :
		       "cannot open table callseal.%s", name);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (st.st_uid != geteuid()) {
		rc = check_stat(name, &st, err, errlen);
		goto out;
	}
	rc = take_lock(fd);
	if (rc == -EAGAIN || rc == -EACCES) {
		rc = busy_error(fd, name, err, errlen);
		goto out;
	}
	if (shm_unlink(path) < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot remove table callseal.%s: %s", name, strerror(-rc));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
