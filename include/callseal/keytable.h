/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keytable.h - the shared-memory key table: THE contract between control and
 * the dataplane (layout, ABI version, API). docs/keytable.md describes the
 * layout field by field, the concurrency protocol and crash recovery.
 *
 * One table is one POSIX shared-memory object, /dev/shm/callseal.<name>,
 * mode 0600, owned by the user that runs both halves:
 *
 *   [ struct keytable_header (4096 bytes) ][ slot 0 ][ slot 1 ] ... [ slot N-1 ]
 *
 * Each slot is one struct keytable_entry (256 bytes, 64-byte aligned); N is a
 * power of two, at least twice the capacity chosen at creation, so the table is
 * never more than half full. Slots form an open-addressing hash table with
 * linear probing and backward-shift deletion (no tombstones), keyed by
 * (local address, local UDP port, direction); the hash is keytable_hash().
 *
 * Roles:
 *   writer   exactly one (the control daemon): keytable_create() or
 *            keytable_attach_writer(). It holds an exclusive OFD lock on the
 *            shared-memory object for as long as it is attached; a second
 *            writer is refused with an error that names the holder's pid.
 *   readers  any number (dataplane worker lcores): keytable_attach_reader()
 *            maps the table PROT_READ, so they cannot change a key. Reads are
 *            lock-free and wait-free except for seqlock retries, which are
 *            bounded (a key that stays busy is reported KEYTABLE_BUSY).
 *
 * Concurrency: every slot carries a 64-bit sequence counter (seqlock): odd
 * while the writer rewrites it. Readers copy a slot with acquire loads and
 * accept the copy only if the counter was even and unchanged. The header's
 * move_seq is odd while a deletion shifts entries, so that a reader can tell
 * a true "not found" from one that raced with a shift. All memory orders are
 * stated in lib/keytable/ where they are used (the protocol in
 * keytable_internal.h, the reads in reader.c, the writes in writer.c).
 *
 * Dataplane use: per burst, keytable_lookup_bulk_ref() (one cache line per
 * key) gives each stream's slot and generation; expanded keys cached under
 * that generation are used as they are, and only a new generation costs a
 * copy (keytable_read_ref()) and a key expansion. keytable_lookup_bulk()
 * copies whole entries; keytable_changes() says whether anything at all
 * changed since a look-up.
 *
 * Keys: deleted and replaced key bytes are overwritten with zeros in the
 * table. No function prints or formats key bytes; error messages name tables,
 * streams (address, port, direction) and pids only.
 *
 * This library does not use DPDK. Errors: 0 or a negative errno; a human
 * message is left in the caller's err buffer (create/attach/unlink) or in the
 * handle (keytable_last_error()).
 */
#ifndef CALLSEAL_KEYTABLE_H
#define CALLSEAL_KEYTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- ABI identity ------------------------------------------------------- */

/* "CSKEYTBL" read as a little-endian uint64_t (a big-endian reader sees a bad
 * magic, which is the intended result: the layout is host-endian x86_64). */
#define KEYTABLE_MAGIC            UINT64_C(0x4C4254594B455343)
/* Bump on ANY change to the header, the entry, the hash or the protocol. */
#define KEYTABLE_ABI_VERSION      4u  /* 2: KEYTABLE_F_NEXT_ON_AUTH, KEYTABLE_F_PREV;
					3: 14-byte salts (AES-CM), salt_len;
					4: per master key an MKI and a lifetime
					   (64-byte masters, 256-byte entries) */
#define KEYTABLE_HEADER_SIZE      4096u
#define KEYTABLE_ENTRY_SIZE       256u
#define KEYTABLE_CACHE_LINE       64u

/* ---- sizes and limits --------------------------------------------------- */

#define KEYTABLE_NAME_MAX         64u   /* <name> in /dev/shm/callseal.<name> */
#define KEYTABLE_ERR_MAX          256u  /* a good size for err buffers */
#define KEYTABLE_BULK_MAX         32u   /* keys per keytable_lookup_bulk() */
#define KEYTABLE_CAPACITY_MAX     (1u << 26) /* entries; slots = 2^k >= 2 x capacity */
#define KEYTABLE_MASTER_KEY_MAX   32u   /* AES-256 master key */
#define KEYTABLE_MASTER_SALT_BYTES 12u  /* GCM: RFC 7714 section 11, 96-bit master salt */
#define KEYTABLE_MASTER_SALT_CM    14u  /* AES-CM: RFC 3711 section 8.2, 112 bits */
#define KEYTABLE_MASTER_SALT_MAX   14u  /* the salt field's size */
#define KEYTABLE_MKI_MAX          4u    /* RFC 3711 section 3.1: MKI bytes per key */
/* RFC 3711 section 9.2: at most 2^48 SRTP packets under one master key; the
 * largest lifetime keytable_master_set_lifetime() takes (0 = this maximum) */
#define KEYTABLE_LIFETIME_MAX     (UINT64_C(1) << 48)
#define KEYTABLE_CALL_ID_BYTES    16u
#define KEYTABLE_ADDR_BYTES       16u   /* IPv6; IPv4 uses the first 4 */
#define KEYTABLE_INDEX_MAX        ((UINT64_C(1) << 48) - 1) /* SRTP packet index */

/* SRTP protection profiles: the DTLS-SRTP protection-profile numbers of
 * RFC 5764 section 4.1.2 and RFC 7714 section 14.2 (IANA "DTLS-SRTP
 * Protection Profiles"). */
#define KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80 0x0001u /* 16-byte key, 14-byte salt */
#define KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32 0x0002u /* 16-byte key, 14-byte salt */
#define KEYTABLE_PROFILE_AEAD_AES_128_GCM 0x0007u /* 16-byte key, 12-byte salt */
#define KEYTABLE_PROFILE_AEAD_AES_256_GCM 0x0008u /* 32-byte key, 12-byte salt */

/* struct keytable_key.family */
#define KEYTABLE_FAMILY_ANY   0u  /* wildcard: any local address on this port */
#define KEYTABLE_FAMILY_IPV4  4u
#define KEYTABLE_FAMILY_IPV6  6u

/* struct keytable_key.dir: outbound, "local" is the source address; inbound,
 * the destination (see docs/architecture). */
#define KEYTABLE_DIR_IN       1u
#define KEYTABLE_DIR_OUT      2u

/* struct keytable_entry.mode */
#define KEYTABLE_MODE_E2EE     1u
#define KEYTABLE_MODE_STANDARD 2u

/* struct keytable_entry.state */
#define KEYTABLE_STATE_EMPTY  0u
#define KEYTABLE_STATE_LIVE   1u

/* struct keytable_entry.flags */
#define KEYTABLE_F_NEXT       0x01u /* next, next_from_index are valid */
/* with F_NEXT: next applies from the first packet that authenticates under it
 * (the receiver's switch point, found by the reader); next_from_index is 0 */
#define KEYTABLE_F_NEXT_ON_AUTH 0x02u
/* cur was a pending next key made current before it was known to be in use
 * (keytable_advance): a reader keeps the key this entry held as cur before,
 * and switches to cur, like to an on-auth next, at its first packet */
#define KEYTABLE_F_PREV       0x04u
/* keytable_schedule()'s from_index for "from the first packet that
 * authenticates under it" (KEYTABLE_F_NEXT_ON_AUTH) */
#define KEYTABLE_FROM_ON_AUTH UINT64_MAX

/* per-key status written by keytable_lookup_bulk() */
#define KEYTABLE_NOT_FOUND    0u
#define KEYTABLE_FOUND        1u
#define KEYTABLE_BUSY         2u  /* the writer kept the key busy (or died in the
				     middle of changing it): try again later */

/* ---- the stream key ----------------------------------------------------- */

/*
 * 24 bytes, stored verbatim in the entry and hashed as three 64-bit words.
 * Build it with keytable_key_ipv4/ipv6/any(): they zero every unused byte,
 * and a key with non-zero unused bytes never matches anything.
 */
struct keytable_key {
	uint8_t  addr[KEYTABLE_ADDR_BYTES]; /* network order; IPv4 in addr[0..3],
					       rest zero; all zero for ANY */
	uint16_t port;                      /* local UDP port, host order, != 0 */
	uint8_t  family;                    /* KEYTABLE_FAMILY_* */
	uint8_t  dir;                       /* KEYTABLE_DIR_* */
	uint32_t reserved;                  /* zero */
};

/* ---- one master key (current or next) ----------------------------------- */

struct keytable_master {
	uint16_t profile;                   /*  0: KEYTABLE_PROFILE_*, 0 = none */
	uint8_t  key_len;                   /*  2: 16 or 32, implied by profile */
	uint8_t  salt_len;                  /*  3: 12 (GCM) or 14 (AES-CM), implied
					       by profile */
	uint8_t  key[KEYTABLE_MASTER_KEY_MAX];  /*  4: bytes past key_len are zero */
	uint8_t  salt[KEYTABLE_MASTER_SALT_MAX]; /* 36: bytes past salt_len are zero */
	/* RFC 3711 section 3.1: the Master Key Identifier that SRTP/SRTCP
	 * packets under this key carry; mki_len 0 (no MKI) to KEYTABLE_MKI_MAX */
	uint8_t  mki_len;                   /* 50 */
	uint8_t  mki[KEYTABLE_MKI_MAX];     /* 51: bytes past mki_len are zero */
	uint8_t  reserved;                  /* 55: zero */
	/* RFC 4568 section 6.1 (SDES lifetime) / RFC 3711 section 9.2: packets
	 * this key may protect; 0 = the profile's maximum (2^48 SRTP packets) */
	uint64_t lifetime;                  /* 56 */
};

/* ---- one slot (and the copy a look-up returns) -------------------------- */

/*
 * Line 0 (bytes 0..63) holds everything a probe compares, so a probe that
 * does not match touches one cache line. Line 1 holds the current master key,
 * line 2 the next one, line 3 the call id and the change time.
 * In the table, the writer stores each 8-byte word with a release store and
 * readers load it with an acquire load (see lib/keytable/keytable_internal.h, "Seqlock").
 */
struct keytable_entry {
	uint64_t seq;            /*   0: seqlock counter, odd while written.
				    In a copy: the value the copy was taken at. */
	struct keytable_key key; /*   8: (address, port, direction) */
	uint8_t  state;          /*  32: KEYTABLE_STATE_* */
	uint8_t  mode;           /*  33: KEYTABLE_MODE_* */
	uint8_t  flags;          /*  34: KEYTABLE_F_* */
	uint8_t  reserved0;      /*  35 */
	uint32_t reserved1;      /*  36 */
	uint64_t generation;     /*  40: table-wide, strictly increasing; a new
				    value on every add, replace and schedule,
				    never reused: tag cached expanded keys
				    with it */
	uint64_t created_ns;     /*  48: CLOCK_REALTIME of the add */
	/* RFC 3711 section 3.3.1/8.1 <From, To>: the current master key applies
	 * To index next_from_index - 1; the next key From next_from_index on.
	 * 48-bit SRTP packet index (ROC << 16 | SEQ). Valid iff KEYTABLE_F_NEXT. */
	uint64_t next_from_index;/*  56 */
	struct keytable_master cur;  /*  64: current master key and salt */
	struct keytable_master next; /* 128: next master key (RFC 3711 <From,To>) */
	uint8_t  call_id[KEYTABLE_CALL_ID_BYTES]; /* 192: opaque, from control */
	uint64_t updated_ns;     /* 208: CLOCK_REALTIME of the last change */
	uint64_t reserved2[5];   /* 216: zero */
} __attribute__((aligned(KEYTABLE_CACHE_LINE)));

/* ---- the header --------------------------------------------------------- */

/*
 * Line 0: identity, written once at creation (magic last) and checked at
 * attach. Line 1: counters shared with readers. Line 2+: the writer's journal,
 * used only to recover from a writer that died in the middle of an operation.
 */
struct keytable_journal {
	uint32_t op;             /* KEYTABLE_JOP_*: 0 = idle */
	uint32_t slot;           /* slot being rewritten (ADD/REPLACE/SCHEDULE) */
	uint32_t hole;           /* DELETE: the current hole of the shift */
	uint32_t reserved0;
	uint64_t reserved1[6];
	struct keytable_entry undo; /* REPLACE/SCHEDULE: the slot's previous image;
				      zero otherwise and after every operation */
};

#define KEYTABLE_JOP_NONE     0u
#define KEYTABLE_JOP_ADD      1u
#define KEYTABLE_JOP_REPLACE  2u
#define KEYTABLE_JOP_SCHEDULE 3u
#define KEYTABLE_JOP_DELETE   4u

struct keytable_header {
	/* line 0: identity (written before magic; read-only afterwards) */
	uint64_t magic;          /*   0: KEYTABLE_MAGIC, stored last at creation */
	uint32_t abi_version;    /*   8: KEYTABLE_ABI_VERSION */
	uint32_t header_size;    /*  12: KEYTABLE_HEADER_SIZE */
	uint32_t entry_size;     /*  16: KEYTABLE_ENTRY_SIZE */
	uint32_t capacity;       /*  20: most live entries (writer refuses more) */
	uint32_t slot_bits;      /*  24: number of slots = 1 << slot_bits */
	uint32_t reserved0;      /*  28 */
	uint64_t table_bytes;    /*  32: header_size + entry_size << slot_bits */
	uint64_t created_ns;     /*  40: CLOCK_REALTIME */
	uint8_t  reserved1[16];  /*  48 */

	/* line 1: written by the writer (release), read by anyone (acquire) */
	uint64_t move_seq;       /*  64: odd while a delete shifts entries */
	uint64_t changes;        /*  72: +1 after every committed operation */
	uint32_t count;          /*  80: live entries */
	uint32_t wild_count;     /*  84: live wildcard entries; raised before
				    one becomes visible, lowered after one is
				    gone, so 0 means "no wildcard entry" */
	uint64_t generation;     /*  88: last generation handed out */
	uint32_t writer_pid;     /*  96: pid of the current or last writer
				    (the OFD lock is the authority) */
	uint32_t writer_epoch;   /* 100: +1 on every writer attach */
	uint64_t recoveries;     /* 104: operations rolled back or completed by
				    a writer after its predecessor died */
	uint8_t  reserved2[16];  /* 112 */

	/* line 2..: the writer's journal (readers never look at it) */
	struct keytable_journal journal; /* 128 */

	uint8_t  pad[KEYTABLE_HEADER_SIZE - 128 - 64 - KEYTABLE_ENTRY_SIZE];
};

_Static_assert(sizeof(struct keytable_key) == 24, "keytable_key is 24 bytes");
_Static_assert(sizeof(struct keytable_master) == 64, "keytable_master size");
_Static_assert(offsetof(struct keytable_master, key) == 4, "master key offset");
_Static_assert(offsetof(struct keytable_master, salt) == 36, "master salt offset");
_Static_assert(offsetof(struct keytable_master, mki_len) == 50, "master mki_len offset");
_Static_assert(offsetof(struct keytable_master, mki) == 51, "master mki offset");
_Static_assert(offsetof(struct keytable_master, lifetime) == 56, "master lifetime offset");
_Static_assert(sizeof(struct keytable_entry) == KEYTABLE_ENTRY_SIZE, "entry size");
_Static_assert(_Alignof(struct keytable_entry) == KEYTABLE_CACHE_LINE, "entry align");
_Static_assert(sizeof(struct keytable_journal) == 64 + KEYTABLE_ENTRY_SIZE, "journal size");
_Static_assert(sizeof(struct keytable_header) == KEYTABLE_HEADER_SIZE, "header size");
_Static_assert(offsetof(struct keytable_entry, key) == 8, "key offset");
_Static_assert(offsetof(struct keytable_entry, state) == 32, "state offset");
_Static_assert(offsetof(struct keytable_entry, generation) == 40, "gen offset");
_Static_assert(offsetof(struct keytable_entry, cur) == 64, "cur offset");
_Static_assert(offsetof(struct keytable_entry, mode) == 33, "mode offset");
_Static_assert(offsetof(struct keytable_entry, flags) == 34, "flags offset");
_Static_assert(offsetof(struct keytable_entry, created_ns) == 48, "created offset");
_Static_assert(offsetof(struct keytable_entry, next_from_index) == 56, "next_from offset");
_Static_assert(offsetof(struct keytable_entry, next) == 128, "next offset");
_Static_assert(offsetof(struct keytable_entry, call_id) == 192, "call_id offset");
_Static_assert(offsetof(struct keytable_entry, updated_ns) == 208, "updated offset");
_Static_assert(offsetof(struct keytable_entry, reserved2) == 216, "reserved2 offset");
_Static_assert(offsetof(struct keytable_header, move_seq) == 64, "move_seq offset");
_Static_assert(offsetof(struct keytable_header, journal) == 128, "journal offset");


/* ---- API ---------------------------------------------------------------- */

struct keytable;  /* opaque handle: one mapping of one table, writer or reader */

/* Where a look-up found an entry: enough to ask later, in one cache line,
 * whether a cached copy is still current (keytable_ref_current()). */
struct keytable_ref {
	uint32_t slot;
	uint32_t reserved;
	uint64_t generation;
};

/* What keytable_attach_writer() found and did (all zero for a clean table). */
struct keytable_recovery {
	uint32_t journal_op;     /* KEYTABLE_JOP_* the dead writer was in */
	uint32_t rolled_back;    /* 1: an add/replace/schedule was undone */
	uint32_t completed;      /* 1: an interrupted delete was finished */
	uint32_t wiped;          /* slots left mid-write outside the journal, wiped
				    (0 unless the table was damaged) */
	uint32_t prev_writer_pid;
	uint32_t reserved;
};

struct keytable_info {
	uint32_t abi_version;
	uint32_t capacity;       /* most live entries */
	uint32_t slots;          /* 1 << slot_bits */
	uint32_t count;          /* live entries */
	uint32_t wild_count;     /* live wildcard entries */
	uint32_t writer_pid;
	uint32_t writer_epoch;
	uint32_t reserved;
	uint64_t changes;
	uint64_t generation;     /* last generation handed out */
	uint64_t recoveries;
	uint64_t table_bytes;
	uint64_t created_ns;
	bool     writable;       /* this handle is the writer */
};

/* -- stream keys (these zero every unused byte) --
 * Inline: the dataplane builds one per packet. The compound literal zeroes
 * every member not named (the struct has no padding), so the bytes are those
 * of a memset then the fields: the hash and memcmp see the same key. */
static inline void keytable_key_ipv4(struct keytable_key *k, const uint8_t addr[4],
				     uint16_t port, unsigned int dir)
{
	*k = (struct keytable_key){ .port = port, .family = KEYTABLE_FAMILY_IPV4,
				    .dir = (uint8_t)dir };
	memcpy(k->addr, addr, 4);
}

static inline void keytable_key_ipv6(struct keytable_key *k,
				     const uint8_t addr[KEYTABLE_ADDR_BYTES],
				     uint16_t port, unsigned int dir)
{
	*k = (struct keytable_key){ .port = port, .family = KEYTABLE_FAMILY_IPV6,
				    .dir = (uint8_t)dir };
	memcpy(k->addr, addr, KEYTABLE_ADDR_BYTES);
}

static inline void keytable_key_any(struct keytable_key *k, uint16_t port, unsigned int dir)
{
	*k = (struct keytable_key){ .port = port, .family = KEYTABLE_FAMILY_ANY,
				    .dir = (uint8_t)dir };
}
/* The slot hash (part of the ABI): see docs/keytable.md, "Hash". */
uint64_t keytable_hash(const struct keytable_key *k);

/* Fill m for profile with a master key of key_len bytes and a salt of
 * salt_len bytes, both the profile's: keytable_master_key_len() and
 * keytable_master_salt_len(). 0 or -EINVAL. Wipe m with keytable_wipe()
 * when done with it. */
int keytable_master_set_salt(struct keytable_master *m, unsigned int profile,
			     const uint8_t *key, size_t key_len,
			     const uint8_t *salt, size_t salt_len)
	__attribute__((warn_unused_result));
/* Give m (filled by keytable_master_set_salt(), which clears both) an MKI
 * of mki_len bytes (0 = none, up to KEYTABLE_MKI_MAX; RFC 3711 section
 * 3.1), or a lifetime in packets (0 = the profile's maximum, at most
 * KEYTABLE_LIFETIME_MAX; RFC 4568 section 6.1). 0, or -EINVAL changing
 * nothing. */
int keytable_master_set_mki(struct keytable_master *m, const uint8_t *mki,
			    size_t mki_len) __attribute__((warn_unused_result));
int keytable_master_set_lifetime(struct keytable_master *m, uint64_t packets)
	__attribute__((warn_unused_result));
/* The GCM profiles' form: a 12-byte salt (AES-CM profiles are refused). */
int keytable_master_set(struct keytable_master *m, unsigned int profile,
			const uint8_t *key, size_t key_len,
			const uint8_t salt[KEYTABLE_MASTER_SALT_BYTES])
	__attribute__((warn_unused_result));
/* A profile's master key and salt lengths in bytes; 0 if unknown. */
unsigned int keytable_master_key_len(unsigned int profile);
unsigned int keytable_master_salt_len(unsigned int profile);
/* explicit_bzero() for a caller's copies of entries and master keys. */
void keytable_wipe(void *p, size_t len);

/* -- life cycle -- */

/* Whether name may name a table: 1 to KEYTABLE_NAME_MAX of A-Z a-z 0-9 . _ -,
 * not starting with '.'. 0, or -EINVAL with err saying what is wrong (for
 * option checks, before anything is created). */
int keytable_name_check(const char *name, char *err, size_t errlen);

/* Create /dev/shm/callseal.<name> (mode 0600, must not exist) able to hold
 * capacity entries (1..KEYTABLE_CAPACITY_MAX), and attach as its writer.
 * -EINVAL bad name/capacity, -EEXIST, -ENOSPC (/dev/shm full), -errno. */
int keytable_create(struct keytable **out, const char *name, uint32_t capacity,
		    char *err, size_t errlen) __attribute__((warn_unused_result));
/* Attach to an existing table as its single writer; recovers an operation
 * that a dead writer left half done (rec, if not NULL, says what was done).
 * -ENOENT, -EBUSY (another writer: err names its pid), -EACCES/-EPERM
 * (owner/mode), -EPROTO (magic/ABI/sizes/geometry), -EUCLEAN (damaged beyond
 * recovery: err names the table and what is wrong; nothing is changed).
 * Bounded whatever the file holds (docs/keytable.md, section 8). */
int keytable_attach_writer(struct keytable **out, const char *name,
			   struct keytable_recovery *rec, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Attach read-only (PROT_READ, pages pre-faulted). Same checks, no lock. */
int keytable_attach_reader(struct keytable **out, const char *name,
			   char *err, size_t errlen) __attribute__((warn_unused_result));
/* Unmap and close (a writer's lock is released). NULL is accepted. */
void keytable_detach(struct keytable *t);
/* Remove /dev/shm/callseal.<name>; refused (-EBUSY) while a writer holds it.
 * Attached readers keep their mapping until they detach. */
int keytable_unlink(const char *name, char *err, size_t errlen);

/* -- writer operations: 0 or -errno, message in keytable_last_error() --
 * Each also returns -EUCLEAN, changing nothing, on a table damaged behind
 * the writer's back (more live slots in a probe than the capacity allows,
 * or a delete whose cluster has no end): docs/keytable.md, section 8. */

/* Add a stream. mode: KEYTABLE_MODE_*; call_id may be NULL (all zero).
 * -EEXIST, -ENOSPC (capacity reached), -EINVAL, -EPERM (read-only handle).
 * *generation (if not NULL) gets the new entry's generation. */
int keytable_add(struct keytable *t, const struct keytable_key *k, unsigned int mode,
		 const struct keytable_master *cur,
		 const uint8_t call_id[KEYTABLE_CALL_ID_BYTES], uint64_t *generation);
/* Rekey: cur becomes the current key under a new generation; a scheduled next
 * key is dropped. The old key bytes are overwritten. -ENOENT if absent. */
int keytable_replace(struct keytable *t, const struct keytable_key *k,
		     const struct keytable_master *cur, uint64_t *generation);
/* Schedule next to apply from SRTP packet index from_index (RFC 3711
 * <From,To>; <= KEYTABLE_INDEX_MAX), or with KEYTABLE_FROM_ON_AUTH from the
 * first packet that authenticates under it (KEYTABLE_F_NEXT_ON_AUTH), under a
 * new generation; next == NULL cancels a scheduled key (its bytes are
 * overwritten). KEYTABLE_F_PREV is kept. -ENOENT if absent. */
int keytable_schedule(struct keytable *t, const struct keytable_key *k,
		      const struct keytable_master *next, uint64_t from_index,
		      uint64_t *generation);
/* Two rekeys in flight (a receiver's entry): the scheduled next key becomes
 * cur with KEYTABLE_F_PREV (readers keep the old cur until cur is seen in
 * use), and next is scheduled on auth, in one slot write under a new
 * generation. -ENOENT if absent, -EINVAL if no next key is scheduled. */
int keytable_advance(struct keytable *t, const struct keytable_key *k,
		     const struct keytable_master *next, uint64_t *generation);
/* Delete a stream; its key bytes are overwritten. -ENOENT if absent. */
int keytable_delete(struct keytable *t, const struct keytable_key *k);
/* The message for the last failed writer operation, or "". */
const char *keytable_last_error(const struct keytable *t);

/* -- reads (any handle; lock-free, no allocation, no system call) -- */

/*
 * Look up n (<= KEYTABLE_BULK_MAX) stream keys at once: for each, the exact
 * key first, then the wildcard (KEYTABLE_FAMILY_ANY) key for its port and
 * direction. status[i] gets KEYTABLE_FOUND (out[i] holds a consistent copy
 * of the entry, out[i].key says which key matched), KEYTABLE_NOT_FOUND or
 * KEYTABLE_BUSY (out[i] is then zeroed; also the answer of a damaged table
 * whose probe passes more live slots than its capacity). refs may be NULL.
 * Returns the number found, or -EINVAL if n > KEYTABLE_BULK_MAX.
 */
int keytable_lookup_bulk(const struct keytable *t, const struct keytable_key keys[],
			 unsigned int n, struct keytable_entry out[], uint8_t status[],
			 struct keytable_ref refs[]);
/*
 * The per-packet fast path: the same look-up (exact, then wildcard), but it
 * returns only where each key was found and its generation, in refs[i]
 * (zero unless status[i] is KEYTABLE_FOUND). It reads one cache line per key
 * instead of three. A worker that caches expanded keys tagged with their
 * generation uses its cache when refs[i].generation matches, and otherwise
 * copies the entry with keytable_read_ref() and expands it once.
 * Returns the number found, or -EINVAL if n > KEYTABLE_BULK_MAX.
 */
int keytable_lookup_bulk_ref(const struct keytable *t, const struct keytable_key keys[],
			     unsigned int n, struct keytable_ref refs[], uint8_t status[]);
/* Copy the entry ref points to, if its slot still holds that generation:
 * 0, -ESTALE (changed, moved or deleted: look it up again) or -EBUSY. */
int keytable_read_ref(const struct keytable *t, const struct keytable_ref *ref,
		      struct keytable_entry *out);
/* The exact key only (no wildcard fallback). 0, -ENOENT or -EBUSY. */
int keytable_get(const struct keytable *t, const struct keytable_key *k,
		 struct keytable_entry *out, struct keytable_ref *ref);
/* true iff the slot in ref still holds that generation (so a copy or the keys
 * expanded from it are current). One cache line, no retry loop. */
bool keytable_ref_current(const struct keytable *t, const struct keytable_ref *ref);
/* keytable_ref_current() for n (<= KEYTABLE_BULK_MAX) refs at once, every
 * slot's line prefetched first so that the misses overlap: current[i] is 1
 * iff refs[i] is current. Returns how many are, or -EINVAL if n is too big. */
int keytable_ref_current_bulk(const struct keytable *t, const struct keytable_ref refs[],
			      unsigned int n, uint8_t current[]);
/* Start loading the first line of the home slot of a key whose
 * keytable_hash() is hash (where most entries are), ahead of a ref check or
 * a look-up. */
void keytable_prefetch_home(const struct keytable *t, uint64_t hash);
/* The header's change counter: unchanged since a look-up began means every
 * copy taken by that look-up is still current. */
uint64_t keytable_changes(const struct keytable *t);
/*
 * List: start with *cursor = 0; returns 1 with an entry in out (and advances
 * *cursor), 0 at the end. The writer's own listing is exact; a reader's
 * listing made while the writer deletes may miss or repeat an entry that
 * moved (check keytable_changes() before and after).
 */
int keytable_next(const struct keytable *t, uint32_t *cursor, struct keytable_entry *out);
void keytable_info(const struct keytable *t, struct keytable_info *info);

#ifdef KEYTABLE_TEST_HOOKS
/* Test builds only (tests compile the library's sources with
 * -DKEYTABLE_TEST_HOOKS):
 * keytable_crash_countdown, when > 0, counts down at every crash point of the
 * writer and raises SIGKILL at 0 (tests/unit/keytable/test_keytable_crash.c);
 * keytable_probe_hook, when set, is called between the slots of a reader's
 * probe, to stall readers mid-probe (tests/unit/keytable/test_keytable_stress.c). */
extern long keytable_crash_countdown;
extern void (*keytable_probe_hook)(void);
#endif

#endif /* CALLSEAL_KEYTABLE_H */
