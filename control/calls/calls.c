/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * calls.c - the call manager (calls.h, docs/calls.md).
 *
 * One struct conn per TCP connection: a call attempt while the handshake
 * runs, then the call's control channel. Frames are callseal/1 frames
 * (docs/handshake.md, "Framing"); after setup only CTRL frames (type 0x10,
 * authenticated with keys from generation 1 of the rekey chain) and ABORT
 * are accepted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "errbuf.h"
#include "calls.h"
#include "secmem.h"

#define FRAME_CTRL      0x10u
#define FRAME_ABORT     0x7fu
#define CTRL_END        1u
#define CTRL_REKEY      2u
#define CTRL_READY      3u   /* caller -> callee, once: CONFIRM was accepted */
#define CTRL_HDR        (CALLPROTO_FRAME_HDR + 1u + 8u)   /* len, type, counter */
#define CTRL_PLAIN_MAX  256u
#define CTRL_KEY_LEN    crypto_aead_chacha20poly1305_ietf_KEYBYTES
/* generation 1 of the rekey chain is the control channel's; SRTP uses 0, 2, 3... */
#define CTRL_GENERATION 1u

static const uint16_t offer[] = {
	CALLPROTO_PROFILE_AEAD_AES_256_GCM, CALLPROTO_PROFILE_AEAD_AES_128_GCM,
};

struct conn {
	struct conn *next;
	int fd;
	bool connecting;            /* caller: connect() in progress */
	bool active;                /* keys installed */
	bool confirmed;             /* both ends active: the caller at CONFIRM, the
				     * callee at the caller's READY (docs/calls.md) */
	bool installed_out, installed_in;
	bool stored;                /* a store record exists */
	bool have_want;             /* caller: remote_media given */
	bool learn;                 /* TOFU: record the peer's key once done */
	bool add_peer;              /* TOFU: the peer is not in the directory */
	struct callproto *cp;
	uint64_t deadline;          /* monotonic ms; attempts only */
	struct callproto_addr local_media, want_remote;
	char src[STORE_ADDR_MAX];   /* callee: where the connection came from */
	char why[CALLS_REASON_MAX]; /* our own reason for a failure, if any */
	struct calls_info info;
	uint8_t *ctl;               /* secmem_alloc: tx key || rx key */
	uint64_t tx_ctr, rx_ctr;
	uint32_t gen;               /* last chain generation asked */
	uint64_t last_from;
	size_t rlen, wlen;
	uint8_t rbuf[CALLS_CONN_BUF];
	uint8_t wbuf[CALLS_CONN_BUF];
};

struct calls {
	struct calls_config cfg;
	char tenant[STORE_NAME_MAX + 1];
	uint8_t recorder[CALLS_RECORDER_KEY_LEN];
	bool has_recorder;
	int lfd;
	int spare_fd;                 /* /dev/null, given up to shed a connection at EMFILE */
	uint16_t lport;
	struct callproto_addr pool_addr;
	uint16_t pool_lo, pool_hi;
	bool has_pool;
	unsigned int attempts;
	struct conn *conns;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Printable ASCII only (reasons go to the store and to logs). */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src && src[i] && i + 1 < cap; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

/* ---- addresses ------------------------------------------------------------- */

/* "a.b.c.d:port" or "[v6]:port" -> addr (port may be 0 when allow0). */
static int parse_addr(const char *s, struct callproto_addr *a, bool allow0)
{
	memset(a, 0, sizeof(*a));
	if (store_ip_port_parse(s, &a->family, a->addr, &a->port) < 0 ||
	    (!allow0 && a->port == 0))
		return -EINVAL;
	return 0;
}

/* A media address must be one a peer can send to: not 0.0.0.0 or ::. */
static int parse_media(const char *s, struct callproto_addr *a)
{
	if (parse_addr(s, a, false) < 0)
		return -EINVAL;
	return store_ip_unspecified(a->family, a->addr) ? -EADDRNOTAVAIL : 0;
}

static void format_addr(const struct callproto_addr *a, char *out, size_t cap)
{
	char h[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->addr, h, sizeof(h))) {
		errbuf_set(out, cap, "?");
		return;
	}
	if (a->family == 6)
		errbuf_set(out, cap, "[%s]:%u", h, a->port);
	else
		errbuf_set(out, cap, "%s:%u", h, a->port);
}

static socklen_t to_sockaddr(const struct callproto_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->addr, 4);
	return sizeof(*s4);
}

static bool addr_eq(const struct callproto_addr *a, const struct callproto_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, 16) == 0;
}

static void table_key(const struct callproto_addr *a, unsigned int dir, struct keytable_key *k)
{
	if (a->family == 6)
		keytable_key_ipv6(k, a->addr, a->port, dir);
	else
		keytable_key_ipv4(k, a->addr, a->port, dir);
}


void calls_code_groups(const char *digits, char out[CALLPROTO_SECURITY_CODE_LEN + 1])
{
	size_t i, o = 0;

	out[0] = '\0';
	if (!digits || strlen(digits) != STORE_SECURITY_CODE_LEN)
		return;
	for (i = 0; i < STORE_SECURITY_CODE_LEN; i++) {
		if (i && i % 5 == 0)
			out[o++] = ' ';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

/* ---- connection life ----------------------------------------------------------- */

static struct conn *find(const struct calls *cm, const char *id)
{
	for (struct conn *c = cm->conns; c; c = c->next)
		if (c->info.id[0] && strcmp(c->info.id, id) == 0)
			return c;
	return NULL;
}

static void unlink_conn(struct calls *cm, struct conn *c)
{
	for (struct conn **pp = &cm->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static void queue(struct conn *c, const uint8_t *p, size_t n, bool *overflow)
{
	if (c->wlen + n > sizeof(c->wbuf)) {
		*overflow = true;
		return;
	}
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
}

/* Move what callproto has to send into wbuf. */
static void pump(struct conn *c, bool *overflow)
{
	uint8_t f[CALLPROTO_OUT_MAX];
	size_t n;

	while (c->cp && callproto_next_out(c->cp, f, sizeof(f), &n) == 0 && n)
		queue(c, f, n, overflow);
}

/* Non-blocking write of wbuf. 0, or -errno on a broken connection. */
static int flush(struct conn *c)
{
	while (c->wlen && !c->connecting) {
		ssize_t w = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
		memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
		c->wlen -= (size_t)w;
	}
	return 0;
}

static void delete_entries(struct calls *cm, struct conn *c)
{
	struct keytable_key k;

	if (c->installed_out) {
		table_key(&c->local_media, KEYTABLE_DIR_OUT, &k);
		(void)keytable_delete(cm->cfg.table, &k);
		c->installed_out = false;
	}
	if (c->installed_in) {
		table_key(&c->local_media, KEYTABLE_DIR_IN, &k);
		(void)keytable_delete(cm->cfg.table, &k);
		c->installed_in = false;
	}
}

/* Final: wipe everything, tell the store and the daemon, close, free. */
static void finish(struct calls *cm, struct conn *c, enum calls_state state, const char *reason)
{
	char err[STORE_ERR_MAX];
	bool ovf = false;

	pump(c, &ovf);                /* a last ABORT / CONFIRM reject, if any */
	(void)flush(c);
	delete_entries(cm, c);
	callproto_destroy(c->cp);
	c->cp = NULL;
	if (c->ctl) {
		secmem_free(c->ctl);  /* wipes */
		c->ctl = NULL;
	}
	if (!c->active && cm->attempts)
		cm->attempts--;
	copy_text(c->info.reason, sizeof(c->info.reason), reason);
	c->info.state = state;
	if (c->stored)
		(void)store_call_end(cm->cfg.store, c->info.id,
				     state == CALLS_ENDED ? STORE_CALL_ENDED : STORE_CALL_FAILED,
				     c->info.reason, err, sizeof(err));
	if (cm->cfg.event)
		cm->cfg.event(cm->cfg.event_ctx, &c->info);
	if (c->fd >= 0)
		close(c->fd);
	unlink_conn(cm, c);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

/* The attempt fails: our reason if we set one, else callproto's. */
static void fail(struct calls *cm, struct conn *c, enum callproto_code code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct calls *cm, struct conn *c, enum callproto_code code, const char *fmt, ...)
{
	char why[CALLS_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->cp)
		(void)callproto_abort(c->cp, code);
	finish(cm, c, CALLS_FAILED, why);
}

/*
 * An active call lost its control connection (the peer's daemon restarted or
 * the connection broke): media goes on with the keys in the table; without a
 * channel END and REKEY cannot reach the peer, so the call can only be ended
 * on this side (docs/calls.md, "Restarts"). Never frees c.
 */
static void detach(struct calls *cm, struct conn *c, const char *why)
{
	callproto_destroy(c->cp);
	c->cp = NULL;
	if (c->ctl) {
		secmem_free(c->ctl);   /* wipes */
		c->ctl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rlen = c->wlen = 0;
	sodium_memzero(c->rbuf, sizeof(c->rbuf));
	c->info.detached = true;
	copy_text(c->info.detached_why, sizeof(c->info.detached_why), why);
	if (cm->cfg.event)
		cm->cfg.event(cm->cfg.event_ctx, &c->info);
}

/* An active call's connection is gone: detached once both ends were active;
 * a callee that never heard the caller's READY ends instead (the caller may
 * have refused CONFIRM and its ABORT been lost: docs/handshake.md). */
static void lost(struct calls *cm, struct conn *c, const char *why)
{
	char r[CALLS_REASON_MAX];

	if (c->confirmed) {
		detach(cm, c, why);
		return;
	}
	errbuf_set(r, sizeof(r), "%s before the caller confirmed the call; call ended", why);
	finish(cm, c, CALLS_ENDED, r);
}

/* ---- control channel (after setup) --------------------------------------------- */

static int derive_ctl(struct conn *c)
{
	struct callproto_keys k;
	uint8_t in[CALLPROTO_MASTER_KEY_MAX + CALLPROTO_MASTER_SALT_LEN];
	static const char label[] = "callseal/1 control channel";
	int rc;

	if ((rc = callproto_rekey(c->cp, CTRL_GENERATION, &k)) < 0)
		return rc;
	c->gen = CTRL_GENERATION;
	c->ctl = secmem_alloc(2 * CTRL_KEY_LEN);
	if (!c->ctl) {
		callproto_keys_wipe(&k);
		return -ENOMEM;
	}
	/* key = BLAKE2b-256(keyed by label, master key || salt) per direction */
	memcpy(in, k.tx.key, k.tx.key_len);
	memcpy(in + k.tx.key_len, k.tx.salt, CALLPROTO_MASTER_SALT_LEN);
	crypto_generichash(c->ctl, CTRL_KEY_LEN, in, k.tx.key_len + CALLPROTO_MASTER_SALT_LEN,
			   (const uint8_t *)label, sizeof(label) - 1);
	memcpy(in, k.rx.key, k.rx.key_len);
	memcpy(in + k.rx.key_len, k.rx.salt, CALLPROTO_MASTER_SALT_LEN);
	crypto_generichash(c->ctl + CTRL_KEY_LEN, CTRL_KEY_LEN, in,
			   k.rx.key_len + CALLPROTO_MASTER_SALT_LEN,
			   (const uint8_t *)label, sizeof(label) - 1);
	sodium_memzero(in, sizeof(in));
	callproto_keys_wipe(&k);
	return 0;
}

static void ctl_nonce_ad(const struct conn *c, uint64_t ctr, uint8_t nonce[12], uint8_t ad[25])
{
	memset(nonce, 0, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(ctr >> (56 - 8 * i));
	ad[0] = FRAME_CTRL;
	memcpy(ad + 1, nonce + 4, 8);
	memcpy(ad + 9, c->info.id, CALLS_ID_LEN);
}

static int ctl_send(struct conn *c, const uint8_t *plain, size_t n)
{
	uint8_t f[CTRL_HDR + CTRL_PLAIN_MAX + crypto_aead_chacha20poly1305_ietf_ABYTES];
	uint8_t nonce[12], ad[25];
	unsigned long long clen;
	size_t body;
	bool ovf = false;

	if (n > CTRL_PLAIN_MAX || !c->ctl)
		return -EINVAL;
	ctl_nonce_ad(c, c->tx_ctr, nonce, ad);
	crypto_aead_chacha20poly1305_ietf_encrypt(f + CTRL_HDR, &clen, plain, n, ad, sizeof(ad),
						  NULL, nonce, c->ctl);
	body = 1 + 8 + (size_t)clen;
	f[0] = (uint8_t)(body >> 8);
	f[1] = (uint8_t)body;
	f[2] = FRAME_CTRL;
	memcpy(f + 3, nonce + 4, 8);
	c->tx_ctr++;
	queue(c, f, CALLPROTO_FRAME_HDR + body, &ovf);
	return ovf ? -ENOBUFS : 0;
}

/* END with why, queued before a local end for a control-channel fault, so
 * the peer ends too rather than keep a call this side dropped. */
static void ctl_bye(struct conn *c, const char *why)
{
	uint8_t m[1 + CALLS_REASON_MAX];
	size_t n = strlen(why);

	if (n > CTRL_PLAIN_MAX - 1)
		n = CTRL_PLAIN_MAX - 1;
	m[0] = CTRL_END;
	memcpy(m + 1, why, n);
	(void)ctl_send(c, m, 1 + n);
}

static void be64put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t be64get(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Install generation g at from on both entries. promote: a next key still
 * scheduled from an earlier rekey first becomes the current key (the daemon
 * rekeys no more often than the traffic passes the previous from-index).
 */
static int install_next(struct calls *cm, struct conn *c, uint32_t g, uint64_t from,
			bool promote, char *err, size_t errlen)
{
	struct callproto_keys k;
	struct keytable_master m;
	struct keytable_entry e;
	struct keytable_key key;
	int rc, i;

	if (from > KEYTABLE_INDEX_MAX) {
		errbuf_set(err, errlen, "rekey: from-index %llu is past the largest SRTP index",
		       (unsigned long long)from);
		return -ERANGE;
	}
	if ((rc = callproto_rekey(c->cp, g, &k)) < 0) {
		errbuf_set(err, errlen, "rekey to generation %u refused (%s)", g, strerror(-rc));
		return rc;
	}
	for (i = 0; i < 2 && rc == 0; i++) {
		const struct callproto_srtp_key *s = i == 0 ? &k.tx : &k.rx;

		table_key(&c->local_media, i == 0 ? KEYTABLE_DIR_OUT : KEYTABLE_DIR_IN, &key);
		if (promote && keytable_get(cm->cfg.table, &key, &e, NULL) == 0 &&
		    (e.flags & KEYTABLE_F_NEXT))
			rc = keytable_replace(cm->cfg.table, &key, &e.next, NULL);
		keytable_wipe(&e, sizeof(e));
		if (rc == 0 && (rc = keytable_master_set(&m, s->profile, s->key, s->key_len,
							 s->salt)) == 0)
			rc = keytable_schedule(cm->cfg.table, &key, &m, from, NULL);
		keytable_wipe(&m, sizeof(m));
		if (rc < 0)
			errbuf_set(err, errlen, "key table: %s", keytable_last_error(cm->cfg.table));
	}
	callproto_keys_wipe(&k);
	if (rc == 0) {
		c->gen = g;
		c->last_from = from;
		c->info.generation = g;
		c->info.next_from_index = from;
	}
	return rc;
}

static bool ctl_frame(struct calls *cm, struct conn *c, const uint8_t *f, size_t n)
{
	uint8_t plain[CTRL_PLAIN_MAX + 1], nonce[12], ad[25];
	unsigned long long plen;
	char why[CALLS_REASON_MAX], err[CALLS_ERR_MAX];
	uint64_t ctr;

	if (n >= 4 && f[2] == FRAME_ABORT) {
		/* the initiator lost our CONFIRM (docs/handshake.md, last message) */
		finish(cm, c, CALLS_ENDED, "the peer aborted after setup (unauthenticated): "
		       "call ended");
		return false;
	}
	if (n < CTRL_HDR + crypto_aead_chacha20poly1305_ietf_ABYTES + 1 || f[2] != FRAME_CTRL ||
	    n > CTRL_HDR + CTRL_PLAIN_MAX + crypto_aead_chacha20poly1305_ietf_ABYTES) {
		ctl_bye(c, "malformed control message");
		finish(cm, c, CALLS_ENDED, "control channel: malformed message; call ended");
		return false;
	}
	ctr = be64get(f + 3);
	ctl_nonce_ad(c, ctr, nonce, ad);
	if (ctr != c->rx_ctr ||
	    crypto_aead_chacha20poly1305_ietf_decrypt(plain, &plen, NULL, f + CTRL_HDR,
						      n - CTRL_HDR, ad, sizeof(ad), nonce,
						      c->ctl + CTRL_KEY_LEN) != 0) {
		ctl_bye(c, "control message failed authentication");
		finish(cm, c, CALLS_ENDED, "control channel: message failed authentication; "
		       "call ended");
		return false;
	}
	c->rx_ctr++;
	if (plen == 1 && plain[0] == CTRL_READY && c->info.role == CALLPROTO_ROLE_RESPONDER &&
	    !c->confirmed) {
		c->confirmed = true;
		return true;
	}
	if (plen >= 1 && plain[0] == CTRL_END) {
		plain[plen] = '\0';
		errbuf_set(why, sizeof(why), "ended by the peer: %s", (const char *)plain + 1);
		finish(cm, c, CALLS_ENDED, why);
		return false;
	}
	if (plen == 13 && plain[0] == CTRL_REKEY) {
		uint32_t g = (uint32_t)plain[1] << 24 | (uint32_t)plain[2] << 16 |
			     (uint32_t)plain[3] << 8 | plain[4];
		uint64_t from = be64get(plain + 5);

		if (g < c->gen || (g == c->gen && c->info.role == CALLPROTO_ROLE_INITIATOR))
			return true;   /* stale, or a crossing rekey: the initiator's wins */
		if (g == c->gen && from == c->last_from)
			return true;
		if (install_next(cm, c, g, from, g != c->gen, err, sizeof(err)) < 0) {
			errbuf_set(why, sizeof(why), "peer's rekey failed: %s; call ended", err);
			finish(cm, c, CALLS_ENDED, why);
			return false;
		}
		return true;
	}
	ctl_bye(c, "unknown control message");
	finish(cm, c, CALLS_ENDED, "control channel: unknown message; call ended");
	return false;
}

/* ---- handshake decisions ------------------------------------------------------- */

/* The local user's side of the agreement; keys: locked memory for the private
 * key followed by its public key (STORE_PRIVATE_KEY_BYTES + _PUBLIC_KEY_BYTES). */
static int local_side(struct calls *cm, struct conn *c, const char *user, uint8_t *priv,
		      struct callproto_local *loc, char *err, size_t errlen)
{
	struct store_effective eff;
	int rc;

	if ((rc = store_user_effective_policy(cm->cfg.store, user, &eff, err, errlen)) < 0)
		return rc;
	/* priv: the private key, then its stored public key (saves an X25519) */
	if ((rc = store_user_private_key(cm->cfg.store, user, priv,
					 priv + STORE_PRIVATE_KEY_BYTES, err, errlen)) < 0)
		return rc;
	errbuf_set(c->info.local_user, sizeof(c->info.local_user), "%s", user);
	memset(loc, 0, sizeof(*loc));
	loc->static_private = priv;
	loc->static_public = priv + STORE_PRIVATE_KEY_BYTES;
	loc->e2ee_allowed = eff.intent.allowed;
	loc->e2ee_on = eff.intent.on;
	loc->e2ee_reason = eff.intent.allowed ? 0 :
		(eff.policy.source == POLICY_SRC_NONE ? CALLPROTO_INTENT_NO_POLICY
						      : CALLPROTO_INTENT_POLICY_DISABLED);
	loc->profiles = offer;
	loc->n_profiles = sizeof(offer) / sizeof(offer[0]);
	loc->media = c->local_media;
	return 0;
}

/* "user@tenant" names this manager's own tenant. */
static bool own_user(const struct calls *cm, const char *peer_id)
{
	char tenant[STORE_NAME_MAX + 1], err[STORE_ERR_MAX];

	return store_peer_id_parse(peer_id, NULL, tenant, err, sizeof(err)) == 0 &&
	       strcmp(tenant, cm->tenant) == 0;
}

/* The call (either role, detached ones too) that receives media on a, or NULL. */
static const struct conn *media_user(const struct calls *cm, const struct callproto_addr *a)
{
	for (const struct conn *c = cm->conns; c; c = c->next)
		if (addr_eq(&c->local_media, a))
			return c;
	return NULL;
}

/* Whether the key table already has a stream on a (a static key, say). */
static bool media_in_table(const struct calls *cm, const struct callproto_addr *a)
{
	struct keytable_entry e;
	struct keytable_key k;
	bool used = false;

	for (unsigned int d = KEYTABLE_DIR_IN; d <= KEYTABLE_DIR_OUT && !used; d++) {
		table_key(a, d, &k);
		used = keytable_get(cm->cfg.table, &k, &e, NULL) == 0;
		keytable_wipe(&e, sizeof(e));
	}
	return used;
}

/* The next pool port no call and no table stream of this manager receives
 * media on: 0, or -EBUSY when the pool is exhausted. */
static int pool_take(const struct calls *cm, struct callproto_addr *out)
{
	struct callproto_addr cand = cm->pool_addr;

	for (uint32_t p = cm->pool_lo; p <= cm->pool_hi; p++) {
		cand.port = (uint16_t)p;
		if (!media_user(cm, &cand) && !media_in_table(cm, &cand)) {
			*out = cand;
			return 0;
		}
	}
	return -EBUSY;
}

/* Responder after HELLO. */
static bool answer(struct calls *cm, struct conn *c)
{
	struct callproto_hello h;
	struct callproto_local loc;
	struct store_peer peer;
	char user[STORE_NAME_MAX + 1], tenant[STORE_NAME_MAX + 1], err[STORE_ERR_MAX];
	char who[STORE_NAME_MAX * 2 + 2];
	uint8_t *priv = NULL;
	int rc;

	if (callproto_hello(c->cp, &h) < 0) {
		fail(cm, c, CALLPROTO_CODE_INTERNAL, "internal: no hello");
		return false;
	}
	if (!store_call_id16_ok((const char *)h.call_id)) {
		fail(cm, c, CALLPROTO_CODE_PROTOCOL, "call id is not 16 characters of "
		     "[A-Za-z0-9._:@+-] (not starting with -)");
		return false;
	}
	memcpy(c->info.id, h.call_id, CALLS_ID_LEN);
	c->info.id[CALLS_ID_LEN] = '\0';
	copy_text(c->info.peer, sizeof(c->info.peer), h.caller);
	bool dup = false;

	for (const struct conn *x = cm->conns; x; x = x->next)
		dup |= x != c && strcmp(x->info.id, c->info.id) == 0;
	if (dup) {
		fail(cm, c, CALLPROTO_CODE_PROTOCOL, "call id %s is already in use", c->info.id);
		return false;
	}
	if (store_peer_id_parse(h.callee, user, tenant, err, sizeof(err)) < 0 ||
	    strcmp(tenant, cm->tenant) != 0 ||
	    store_user_effective_policy(cm->cfg.store, user, &(struct store_effective){0},
					err, sizeof(err)) < 0) {
		copy_text(who, sizeof(who), h.callee);
		fail(cm, c, CALLPROTO_CODE_UNKNOWN_CALLEE, "unknown callee %s", who);
		return false;
	}
	if (store_peer_id_parse(h.caller, NULL, NULL, err, sizeof(err)) < 0) {
		fail(cm, c, CALLPROTO_CODE_PROTOCOL, "caller: %s", err);
		return false;
	}
	rc = store_peer_show(cm->cfg.store, h.caller, &peer, err, sizeof(err));
	if (rc == -ENOENT && !cm->cfg.tofu) {
		fail(cm, c, CALLPROTO_CODE_IDENTITY_REFUSED, "caller %s is not in the peers "
		     "directory and trust on first use is off", c->info.peer);
		return false;
	}
	c->add_peer = rc == -ENOENT;
	if (!cm->has_pool) {
		fail(cm, c, CALLPROTO_CODE_DECLINED, "no media address pool: calls are not "
		     "answered here");
		return false;
	}
	if (pool_take(cm, &c->local_media) < 0) {
		fail(cm, c, CALLPROTO_CODE_DECLINED, "media address pool exhausted");
		return false;
	}
	format_addr(&c->local_media, c->info.local_media, sizeof(c->info.local_media));
	priv = secmem_alloc(STORE_PRIVATE_KEY_BYTES + STORE_PUBLIC_KEY_BYTES);
	if (!priv) {
		fail(cm, c, CALLPROTO_CODE_INTERNAL, "out of memory");
		return false;
	}
	rc = local_side(cm, c, user, priv, &loc, err, sizeof(err));
	loc.user = h.callee;
	if (rc == 0)
		rc = callproto_responder_set_local(c->cp, &loc);
	secmem_free(priv);
	if (rc < 0) {
		fail(cm, c, CALLPROTO_CODE_INTERNAL, "callee %s: %s", h.callee, err);
		return false;
	}
	/* no store record yet: an unauthenticated caller must not be able to
	 * write one (activate() adds it, before the keys go in) */
	return true;
}

/* NEED_IDENTITY: pinned must match; absent needs TOFU. Never frees c: the
 * status moves on (or to FAILED) and progress() acts on it. */
static void identity(struct calls *cm, struct conn *c)
{
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];
	struct store_peer peer;
	char err[STORE_ERR_MAX];
	bool ok = false;
	int rc;

	if (callproto_peer_static(c->cp, pub) < 0) {
		errbuf_set(c->why, sizeof(c->why), "internal: no peer key");
		(void)callproto_abort(c->cp, CALLPROTO_CODE_INTERNAL); /* progress() ends it */
		return;
	}
	rc = store_peer_show(cm->cfg.store, c->info.peer, &peer, err, sizeof(err));
	if (rc == 0 && peer.has_key) {
		ok = sodium_memcmp(pub, peer.public_key, sizeof(pub)) == 0;
		if (!ok)
			errbuf_set(c->why, sizeof(c->why), "identity key of %s does not match the "
				 "%s key on record: refused (possible man in the middle)",
				 c->info.peer, peer.pinned ? "pinned" : "learnt");
	} else if (rc == 0 || rc == -ENOENT) {
		ok = cm->cfg.tofu;
		c->learn = ok;
		if (!ok)
			errbuf_set(c->why, sizeof(c->why), "no identity key on record for %s and "
				 "trust on first use is off: refused", c->info.peer);
	} else {
		errbuf_set(c->why, sizeof(c->why), "peers directory: %s", err);
	}
	if (callproto_identity_decide(c->cp, ok) < 0 && !c->why[0])
		errbuf_set(c->why, sizeof(c->why), "internal: identity decision refused");
}

/* DONE: install keys, record the call. */
static bool activate(struct calls *cm, struct conn *c)
{
	struct callproto_result *r;
	struct keytable_master m;
	struct keytable_key k;
	struct store_call rec;
	char err[CALLS_ERR_MAX], serr[STORE_ERR_MAX];
	int rc = 0, i;

	r = secmem_alloc(sizeof(*r));
	if (!r) {
		fail(cm, c, CALLPROTO_CODE_INTERNAL, "out of memory");
		return false;
	}
	if ((rc = callproto_result(c->cp, r)) < 0) {
		secmem_free(r);
		fail(cm, c, CALLPROTO_CODE_INTERNAL, "internal: no result");
		return false;
	}
	format_addr(&r->peer_media, c->info.remote_media, sizeof(c->info.remote_media));
	if (!c->stored) {
		/* the callee's record, now that the caller is authenticated; before
		 * the keys, so a restart after a crash finds entries it can name */
		memset(&rec, 0, sizeof(rec));
		memcpy(rec.id, c->info.id, sizeof(rec.id));
		memcpy(rec.local_user, c->info.local_user, sizeof(rec.local_user));
		copy_text(rec.remote, sizeof(rec.remote), c->info.peer);
		rec.role = STORE_ROLE_RESPONDER;
		rec.mode = STORE_MODE_PENDING;
		rec.state = STORE_CALL_SETUP;
		memcpy(rec.local_media, c->info.local_media, sizeof(rec.local_media));
		if ((rc = store_call_add(cm->cfg.store, &rec, serr, sizeof(serr))) < 0)
			errbuf_set(err, sizeof(err), "store: %s", serr);
		else
			c->stored = true;
	}
	if (rc == 0 && c->have_want && !addr_eq(&r->peer_media, &c->want_remote)) {
		char want[STORE_ADDR_MAX];

		format_addr(&c->want_remote, want, sizeof(want));
		errbuf_set(err, sizeof(err), "the peer's media address %s is not the expected %s",
			 c->info.remote_media, want);
		rc = -EINVAL;
	}
	if (rc == 0 && c->learn) {
		rc = c->add_peer
			? store_peer_add(cm->cfg.store, c->info.peer, r->peer_static, c->src, false,
					 serr, sizeof(serr))
			: store_peer_learn_key(cm->cfg.store, c->info.peer, r->peer_static,
					       serr, sizeof(serr));
		if (rc < 0)
			errbuf_set(err, sizeof(err), "recording %s's key: %s", c->info.peer, serr);
	}
	/* caller: out = i->r (tx), in = r->i (rx); callee the reverse: callproto's
	 * tx/rx are already "as seen from this side". */
	for (i = 0; i < 2 && rc == 0; i++) {
		const struct callproto_srtp_key *s = i == 0 ? &r->keys.tx : &r->keys.rx;

		table_key(&c->local_media, i == 0 ? KEYTABLE_DIR_OUT : KEYTABLE_DIR_IN, &k);
		if ((rc = keytable_master_set(&m, s->profile, s->key, s->key_len, s->salt)) == 0)
			rc = keytable_add(cm->cfg.table, &k, r->mode == CALLPROTO_MODE_E2EE ?
					  KEYTABLE_MODE_E2EE : KEYTABLE_MODE_STANDARD, &m,
					  (const uint8_t *)c->info.id, NULL);
		keytable_wipe(&m, sizeof(m));
		if (rc < 0)
			errbuf_set(err, sizeof(err), "key table: %s",
				 keytable_last_error(cm->cfg.table));
		else if (i == 0)
			c->installed_out = true;
		else
			c->installed_in = true;
	}
	if (rc == 0 && (rc = derive_ctl(c)) < 0)
		errbuf_set(err, sizeof(err), "control channel keys: %s", strerror(-rc));
	if (rc == 0) {
		c->info.mode = r->mode;
		copy_text(c->info.reason, sizeof(c->info.reason), r->reason);
		errbuf_set(c->info.profile, sizeof(c->info.profile), "%s",
			 callproto_profile_name(r->profile));
		/* the code compares what only the two ends know: meaningful, and shown,
		 * for e2ee calls only */
		if (r->mode == CALLPROTO_MODE_E2EE)
			memcpy(c->info.security_code, r->security_code,
			       sizeof(c->info.security_code));
		memset(&rec, 0, sizeof(rec));
		memcpy(rec.id, c->info.id, sizeof(rec.id));
		rec.mode = r->mode == CALLPROTO_MODE_E2EE ? STORE_MODE_E2EE : STORE_MODE_STANDARD;
		memcpy(rec.reason, c->info.reason, sizeof(rec.reason) - 1);
		memcpy(rec.profile, c->info.profile, sizeof(rec.profile));
		for (size_t a = 0, b = 0; c->info.security_code[a] && b < STORE_SECURITY_CODE_LEN;
		     a++)
			if (c->info.security_code[a] != ' ')
				rec.security_code[b++] = c->info.security_code[a];
		memcpy(rec.local_media, c->info.local_media, sizeof(rec.local_media));
		memcpy(rec.remote_media, c->info.remote_media, sizeof(rec.remote_media));
		rec.state = STORE_CALL_ACTIVE;
		if ((rc = store_call_update(cm->cfg.store, &rec, serr, sizeof(serr))) < 0)
			errbuf_set(err, sizeof(err), "store: %s", serr);
	}
	callproto_result_wipe(r);
	secmem_free(r);
	if (rc < 0) {
		/* callproto is DONE (abort refuses): tell the peer ourselves */
		static const uint8_t abort_frame[4] = { 0, 2, FRAME_ABORT, CALLPROTO_CODE_INTERNAL };
		bool ovf = false;

		if (c->info.role == CALLPROTO_ROLE_RESPONDER) {
			/* drop the queued CONFIRM accept: the caller gets the ABORT */
			c->wlen = 0;
			callproto_destroy(c->cp);
			c->cp = NULL;
		}
		queue(c, abort_frame, sizeof(abort_frame), &ovf);
		finish(cm, c, CALLS_FAILED, err);
		return false;
	}
	c->active = true;
	if (c->info.role == CALLPROTO_ROLE_INITIATOR) {
		/* CONFIRM accepted: tell the callee, whose keys stay inert until it
		 * hears this (a lost connection before it ends the call there) */
		static const uint8_t ready[1] = { CTRL_READY };

		c->confirmed = true;
		(void)ctl_send(c, ready, sizeof(ready));
	}
	if (cm->attempts)
		cm->attempts--;
	c->info.state = CALLS_ACTIVE;
	if (cm->cfg.event)
		cm->cfg.event(cm->cfg.event_ctx, &c->info);
	return true;
}

/*
 * Drive one attempt after any event: decisions, then what to send.
 * Returns false when c was freed.
 */
static bool progress(struct calls *cm, struct conn *c)
{
	const char *reason;
	bool ovf = false;
	int rc;

	for (;;) {
		enum callproto_status s = callproto_status(c->cp, &reason);

		if (s == CALLPROTO_NEED_CALLEE) {
			if (!answer(cm, c))
				return false;
			continue;
		}
		if (s == CALLPROTO_NEED_IDENTITY) {
			identity(cm, c);
			continue;
		}
		if (s == CALLPROTO_FAILED) {
			char why[CALLS_REASON_MAX];

			errbuf_set(why, sizeof(why), "%s", c->why[0] ? c->why : reason);
			finish(cm, c, CALLS_FAILED, why);
			return false;
		}
		if (s == CALLPROTO_DONE && !c->active) {
			if (!activate(cm, c))
				return false;
		}
		break;
	}
	pump(c, &ovf);
	if (ovf) {
		fail(cm, c, CALLPROTO_CODE_INTERNAL, "send buffer full");
		return false;
	}
	if ((rc = flush(c)) < 0) {
		if (c->active)
			lost(cm, c, "the control connection broke");
		else
			fail(cm, c, CALLPROTO_CODE_INTERNAL, "connection broke: %s", strerror(-rc));
		return false;
	}
	return true;
}

/* ---- I/O ------------------------------------------------------------------------- */

/* Readable: take whole frames. Returns false when c was freed. */
static bool readable(struct calls *cm, struct conn *c)
{
	for (;;) {
		ssize_t r = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, MSG_DONTWAIT);
		size_t need;

		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return true;
			if (c->active)
				lost(cm, c, "the control connection broke");
			else
				fail(cm, c, CALLPROTO_CODE_INTERNAL, "connection broke: %s",
				     strerror(errno));
			return false;
		}
		if (r == 0) {
			if (c->active)
				lost(cm, c, "the peer closed the control connection");
			else
				fail(cm, c, CALLPROTO_CODE_PROTOCOL, "the peer closed the connection "
				     "in the middle of the handshake%s",
				     c->rlen ? " (truncated message)" : "");
			return false;
		}
		c->rlen += (size_t)r;
		while (c->rlen >= CALLPROTO_FRAME_HDR) {
			need = callproto_frame_need(c->rbuf, c->rlen);
			if (need == 0 || need > CALLPROTO_OUT_MAX) {
				const char *why = need == 0 ? "a zero-length frame"
					: "an oversized frame";

				if (c->active)
					ctl_bye(c, "malformed control message");
				if (c->active)
					finish(cm, c, CALLS_ENDED, need == 0
					       ? "control channel: zero-length frame; call ended"
					       : "control channel: oversized frame; call ended");
				else
					fail(cm, c, CALLPROTO_CODE_PROTOCOL, "the peer sent %s "
					     "(%zu octets, limit %u)", why, need, CALLPROTO_OUT_MAX);
				return false;
			}
			if (c->rlen < need)
				break;
			if (c->active) {
				uint8_t f[CALLPROTO_OUT_MAX];
				bool alive;

				memcpy(f, c->rbuf, need);
				memmove(c->rbuf, c->rbuf + need, c->rlen - need);
				c->rlen -= need;
				alive = ctl_frame(cm, c, f, need);
				sodium_memzero(f, sizeof(f));
				if (!alive || !progress(cm, c))
					return false;
				continue;
			}
			if (callproto_consume(c->cp, c->rbuf, need) < 0) {
				/* the status is FAILED now: progress() reports it */
			}
			memmove(c->rbuf, c->rbuf + need, c->rlen - need);
			c->rlen -= need;
			if (!progress(cm, c))
				return false;
		}
	}
}

static void accept_one(struct calls *cm)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct callproto_addr a;
	struct conn *c;
	int fd;

	if (cm->spare_fd < 0)           /* given up earlier and not got back */
		cm->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = accept4(cm->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if ((errno == EMFILE || errno == ENFILE) && cm->spare_fd >= 0) {
			/* out of descriptors: the pending connection would keep the
			 * listen socket readable and poll spinning. Give back the spare
			 * descriptor, take the connection and close it (the caller
			 * sees it closed), keep the spare again. */
			close(cm->spare_fd);
			fd = accept(cm->lfd, NULL, NULL);
			if (fd >= 0)
				close(fd);
			cm->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
		return;
	}
	if (cm->attempts >= cm->cfg.max_attempts) {
		close(fd);   /* bounded: the caller sees the connection closed */
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || callproto_responder_create(&c->cp, NULL) < 0) {
		free(c);
		close(fd);
		return;
	}
	memset(&a, 0, sizeof(a));
	if (ss.ss_family == AF_INET6) {
		a.family = 6;
		memcpy(a.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		a.port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		a.family = 4;
		memcpy(a.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		a.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	format_addr(&a, c->src, sizeof(c->src));
	c->fd = fd;
	c->info.role = CALLPROTO_ROLE_RESPONDER;
	c->info.state = CALLS_HANDSHAKE;
	c->deadline = now_ms() + cm->cfg.timeout_ms;
	c->next = cm->conns;
	cm->conns = c;
	cm->attempts++;
}

int calls_pollfds(const struct calls *cm, struct pollfd *fds, size_t cap)
{
	size_t n = 0;

	if (cm->lfd >= 0) {
		if (n == cap)
			return -ENOBUFS;
		fds[n++] = (struct pollfd){ .fd = cm->lfd, .events = POLLIN };
	}
	for (const struct conn *c = cm->conns; c; c = c->next) {
		if (c->fd < 0)
			continue;   /* detached */
		if (n == cap)
			return -ENOBUFS;
		fds[n++] = (struct pollfd){ .fd = c->fd,
			.events = (short)(POLLIN | ((c->connecting || c->wlen) ? POLLOUT : 0)) };
	}
	return (int)n;
}

int calls_timeout_ms(const struct calls *cm)
{
	uint64_t t = now_ms(), best = UINT64_MAX;

	for (const struct conn *c = cm->conns; c; c = c->next)
		if ((!c->active || !c->confirmed) && c->deadline < best)
			best = c->deadline;
	if (best == UINT64_MAX)
		return -1;
	return best <= t ? 0 : (int)(best - t > 60000 ? 60000 : best - t);
}

static struct conn *by_fd(struct calls *cm, int fd)
{
	for (struct conn *c = cm->conns; c; c = c->next)
		if (c->fd == fd && fd >= 0)
			return c;
	return NULL;
}

int calls_handle(struct calls *cm, const struct pollfd *fds, size_t n)
{
	struct conn *c, *nx;
	uint64_t t;

	for (size_t i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == cm->lfd && cm->lfd >= 0) {
			for (int k = 0; k < 16; k++)
				accept_one(cm);
			continue;
		}
		if (!(c = by_fd(cm, fds[i].fd)))
			continue;
		if (c->connecting) {
			int e = 0;
			socklen_t el = sizeof(e);

			if (!(fds[i].revents & (POLLOUT | POLLERR | POLLHUP)))
				continue;
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
				e = errno;
			if (e) {
				fail(cm, c, CALLPROTO_CODE_INTERNAL, "cannot connect to %s: %s",
				     c->info.peer, strerror(e));
				continue;
			}
			c->connecting = false;
			c->info.state = CALLS_HANDSHAKE;
			if (!progress(cm, c))
				continue;
		}
		if (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
			if (!readable(cm, c))
				continue;
		}
		if (fds[i].revents & POLLOUT)
			(void)progress(cm, c);
	}
	t = now_ms();
	for (c = cm->conns; c; c = nx) {
		nx = c->next;
		if (!c->active && t >= c->deadline)
			fail(cm, c, CALLPROTO_CODE_TIMEOUT, "timed out after %u ms (%s)",
			     cm->cfg.timeout_ms, c->connecting ? "connecting"
			     : "the peer did not complete the handshake");
		else if (c->active && !c->confirmed && t >= c->deadline) {
			ctl_bye(c, "the caller did not confirm the call in time");
			finish(cm, c, CALLS_ENDED, "the caller did not confirm the call in time; "
			       "call ended");
		}
	}
	return 0;
}

/* ---- commands ------------------------------------------------------------------ */

int calls_dial(struct calls *cm, const char *from_user, const char *to,
	       const char *local_media, const char *remote_media,
	       char id[CALLS_ID_LEN + 1], char *err, size_t errlen)
{
	struct callproto_config pc;
	struct store_peer peer;
	struct store_call rec;
	struct callproto_addr paddr;
	struct sockaddr_storage ss;
	socklen_t sl;
	uint8_t *priv = NULL, rnd[CALLS_ID_LEN / 2];
	char who[STORE_PEER_MAX + 1], serr[STORE_ERR_MAX];
	struct conn *c = NULL;
	const struct conn *x;
	int rc;

	if (!cm || !from_user || !to || !id)
		return -EINVAL;
	if (cm->attempts >= cm->cfg.max_attempts) {
		errbuf_set(err, errlen, "too many call attempts in progress (%u)", cm->cfg.max_attempts);
		return -EAGAIN;
	}
	if ((rc = store_peer_id_parse(to, NULL, NULL, serr, sizeof(serr))) < 0) {
		errbuf_set(err, errlen, "%s", serr);
		return rc;
	}
	if (own_user(cm, to)) {
		/* both legs would share one call id in one store and manager */
		errbuf_set(err, errlen, "calls between two users of one tenant are not supported "
		       "(docs/calls.md)");
		return -ENOTSUP;
	} else if ((rc = store_peer_show(cm->cfg.store, to, &peer, serr, sizeof(serr))) < 0) {
		if (rc == -ENOENT)
			errbuf_set(err, errlen, "%s is not in the peers directory (peer add)", to);
		else
			errbuf_set(err, errlen, "%s", serr);
		return rc;
	} else if (parse_addr(peer.address, &paddr, false) < 0) {
		errbuf_set(err, errlen, "peer %s: address %s is not a numeric IP:port", to,
		       peer.address);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	if (local_media ? parse_media(local_media, &c->local_media) < 0
			: (!cm->has_pool || pool_take(cm, &c->local_media) < 0)) {
		errbuf_set(err, errlen, local_media ? "--local-media: expected IP:port with a real "
			 "address (not 0.0.0.0 or ::)" : cm->has_pool ?
			 "media address pool exhausted" :
			 "no --local-media and no media address pool");
		rc = local_media ? -EINVAL : -EBUSY;
		goto out;
	}
	if (local_media && (x = media_user(cm, &c->local_media)) != NULL) {
		errbuf_set(err, errlen, "--local-media %s is in use by call %s", local_media,
		       x->info.id[0] ? x->info.id : "(in set-up)");
		rc = -EADDRINUSE;
		goto out;
	}
	if (local_media && media_in_table(cm, &c->local_media)) {
		errbuf_set(err, errlen, "--local-media %s already has a stream in the key table "
		       "(key list)", local_media);
		rc = -EADDRINUSE;
		goto out;
	}
	if (remote_media && parse_media(remote_media, &c->want_remote) < 0) {
		errbuf_set(err, errlen, "--remote-media: expected IP:port with a real address "
		       "(not 0.0.0.0 or ::)");
		rc = -EINVAL;
		goto out;
	}
	c->have_want = remote_media != NULL;
	format_addr(&c->local_media, c->info.local_media, sizeof(c->info.local_media));
	errbuf_set(c->info.peer, sizeof(c->info.peer), "%s", to);
	c->info.role = CALLPROTO_ROLE_INITIATOR;
	c->info.state = CALLS_CONNECTING;
	/* the call id: 16 hex digits (64 random bits), a valid store and table id */
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(c->info.id, sizeof(c->info.id), rnd, sizeof(rnd));
	priv = secmem_alloc(STORE_PRIVATE_KEY_BYTES + STORE_PUBLIC_KEY_BYTES);
	if (!priv) {
		rc = -ENOMEM;
		goto out;
	}
	memset(&pc, 0, sizeof(pc));
	if ((rc = local_side(cm, c, from_user, priv, &pc.local, serr, sizeof(serr))) < 0) {
		errbuf_set(err, errlen, "%s", serr);
		goto out;
	}
	errbuf_set(who, sizeof(who), "%s@%s", from_user, cm->tenant);
	pc.local.user = who;
	pc.peer_user = to;
	pc.call_id = (const uint8_t *)c->info.id;
	if ((rc = callproto_initiator_create(&c->cp, &pc)) < 0) {
		callproto_config_check(&pc, CALLPROTO_ROLE_INITIATOR, err, errlen);
		goto out;
	}
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.id, c->info.id, sizeof(rec.id));
	errbuf_set(rec.local_user, sizeof(rec.local_user), "%s", from_user);
	errbuf_set(rec.remote, sizeof(rec.remote), "%s", to);
	rec.role = STORE_ROLE_INITIATOR;
	rec.mode = STORE_MODE_PENDING;
	rec.state = STORE_CALL_SETUP;
	memcpy(rec.local_media, c->info.local_media, sizeof(rec.local_media));
	if ((rc = store_call_add(cm->cfg.store, &rec, serr, sizeof(serr))) < 0) {
		errbuf_set(err, errlen, "%s", serr);
		goto out;
	}
	c->stored = true;
	c->fd = socket(paddr.family == 6 ? AF_INET6 : AF_INET,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "socket: %s", strerror(errno));
		goto out;
	}
	sl = to_sockaddr(&paddr, &ss);
	if (connect(c->fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot connect to %s at %s: %s", to, peer.address,
		       strerror(errno));
		goto out;
	}
	c->connecting = true;
	c->deadline = now_ms() + cm->cfg.timeout_ms;
	{
		bool ovf = false;

		pump(c, &ovf);   /* HELLO, NOISE1: sent once connected */
	}
	memcpy(id, c->info.id, CALLS_ID_LEN + 1);
	c->next = cm->conns;
	cm->conns = c;
	cm->attempts++;
	rc = 0;
out:
	if (priv)
		secmem_free(priv);
	if (rc < 0 && c) {
		if (c->stored)
			(void)store_call_end(cm->cfg.store, c->info.id, STORE_CALL_FAILED,
					     err ? err : "dial failed", serr, sizeof(serr));
		callproto_destroy(c->cp);
		if (c->fd >= 0)
			close(c->fd);
		free(c);
	}
	return rc;
}

int calls_end(struct calls *cm, const char *id, char *err, size_t errlen)
{
	static const char bye[] = "\x01hung up";
	struct conn *c;

	if (!cm || !id || !(c = find(cm, id))) {
		errbuf_set(err, errlen, "no call '%s'", id ? id : "");
		return -ENOENT;
	}
	if (!c->active) {
		fail(cm, c, CALLPROTO_CODE_DECLINED, "cancelled locally");
		return 0;
	}
	if (c->info.detached) {
		finish(cm, c, CALLS_ENDED, "ended locally (no control connection: the peer "
		       "ends its side itself)");
		return 0;
	}
	(void)ctl_send(c, (const uint8_t *)bye, sizeof(bye) - 1);
	finish(cm, c, CALLS_ENDED, "ended locally");
	return 0;
}

int calls_rekey(struct calls *cm, const char *id, uint64_t current_index,
		char *err, size_t errlen)
{
	uint8_t msg[13];
	struct conn *c;
	uint64_t from;
	uint32_t g;
	int rc;

	if (!cm || !id || !(c = find(cm, id))) {
		errbuf_set(err, errlen, "no call '%s'", id ? id : "");
		return -ENOENT;
	}
	if (!c->active) {
		errbuf_set(err, errlen, "call %s is not active yet", id);
		return -EAGAIN;
	}
	if (c->info.detached) {
		errbuf_set(err, errlen, "call %s has no control connection (%s): it cannot be "
		       "rekeyed; end it and dial again", id, c->info.detached_why);
		return -ENOTCONN;
	}
	from = (current_index > c->last_from ? current_index : c->last_from) + CALLS_REKEY_AHEAD;
	g = c->gen + 1;
	if ((rc = install_next(cm, c, g, from, true, err, errlen)) < 0) {
		char why[CALLS_REASON_MAX];

		if (rc == -ERANGE)
			return rc;   /* nothing changed */
		/* the chain or the table moved on one side only: fail closed */
		errbuf_set(why, sizeof(why), "rekey failed: %s; call ended", err ? err : "");
		finish(cm, c, CALLS_ENDED, why);
		return rc;
	}
	msg[0] = CTRL_REKEY;
	msg[1] = (uint8_t)(g >> 24);
	msg[2] = (uint8_t)(g >> 16);
	msg[3] = (uint8_t)(g >> 8);
	msg[4] = (uint8_t)g;
	be64put(msg + 5, from);
	if ((rc = ctl_send(c, msg, sizeof(msg))) < 0) {
		errbuf_set(err, errlen, "control channel send buffer full");
		return rc;
	}
	(void)progress(cm, c);
	return 0;
}

int calls_show(const struct calls *cm, const char *id, struct calls_info *out)
{
	const struct conn *c = (cm && id) ? find(cm, id) : NULL;

	if (!c)
		return -ENOENT;
	*out = c->info;
	/* generation 1 belongs to the control channel: SRTP counts 0, 2, 3, ... */
	out->generation = c->gen <= CTRL_GENERATION ? 0 : c->gen;
	return 0;
}

int calls_list(const struct calls *cm, calls_list_fn fn, void *arg)
{
	struct calls_info info;
	int rc;

	for (const struct conn *c = cm->conns; c; c = c->next) {
		info = c->info;
		info.generation = c->gen <= CTRL_GENERATION ? 0 : c->gen;
		if ((rc = fn(&info, arg)) != 0)
			return rc;
	}
	return 0;
}

static const char *const features[] = {
	"record", "transcribe", "transfer", "park", "merge", "add-participant", "keys",
};

int calls_feature(struct calls *cm, const char *id, const char *feature,
		  uint8_t *sealed, size_t cap, size_t *sealed_len, char *err, size_t errlen)
{
	struct keytable_entry e;
	struct keytable_key k;
	uint8_t *plain;
	size_t i, o;
	struct conn *c;
	int rc = 0;

	if (!cm || !id || !feature)
		return -EINVAL;
	for (i = 0; i < sizeof(features) / sizeof(features[0]); i++)
		if (strcmp(feature, features[i]) == 0)
			break;
	if (i == sizeof(features) / sizeof(features[0])) {
		errbuf_set(err, errlen, "unknown feature '%s'", feature);
		return -EINVAL;
	}
	if (!(c = find(cm, id))) {
		errbuf_set(err, errlen, "no call '%s'", id);
		return -ENOENT;
	}
	if (!c->active) {
		errbuf_set(err, errlen, "call %s is not active yet", id);
		return -EAGAIN;
	}
	if (c->info.mode == CALLPROTO_MODE_E2EE) {
		errbuf_set(err, errlen, "%s", CALLS_E2EE_REFUSAL);
		return -EPERM;
	}
	if (strcmp(feature, "keys") != 0)
		return 0;
	if (!cm->has_recorder) {
		errbuf_set(err, errlen, "no compliance recorder is configured");
		return -EACCES;
	}
	if (!sealed || !sealed_len || cap < CALLS_KEYS_SEALED) {
		errbuf_set(err, errlen, "keys: buffer too small (%u octets needed)", CALLS_KEYS_SEALED);
		return -ENOBUFS;
	}
	plain = secmem_alloc(CALLS_KEYS_PLAIN);
	if (!plain)
		return -ENOMEM;
	/* call id || 2 x (dir, 0, profile BE16, key_len, 0, 0, 0, key[32], salt[12])
	 * for the out entry, then the in entry: the current keys */
	memcpy(plain, c->info.id, CALLS_ID_LEN);
	o = CALLS_ID_LEN;
	for (i = 0; i < 2 && rc == 0; i++) {
		unsigned int dir = i == 0 ? KEYTABLE_DIR_OUT : KEYTABLE_DIR_IN;

		table_key(&c->local_media, dir, &k);
		if ((rc = keytable_get(cm->cfg.table, &k, &e, NULL)) < 0) {
			errbuf_set(err, errlen, "key table: entry missing");
			break;
		}
		plain[o] = (uint8_t)dir;
		plain[o + 1] = 0;
		plain[o + 2] = (uint8_t)(e.cur.profile >> 8);
		plain[o + 3] = (uint8_t)e.cur.profile;
		plain[o + 4] = e.cur.key_len;
		memset(plain + o + 5, 0, 3);
		memcpy(plain + o + 8, e.cur.key, KEYTABLE_MASTER_KEY_MAX);
		memcpy(plain + o + 40, e.cur.salt, KEYTABLE_MASTER_SALT_BYTES);
		o += 8 + KEYTABLE_MASTER_KEY_MAX + KEYTABLE_MASTER_SALT_BYTES;
		keytable_wipe(&e, sizeof(e));
	}
	if (rc == 0 && crypto_box_seal(sealed, plain, CALLS_KEYS_PLAIN, cm->recorder) != 0)
		rc = -EIO;
	if (rc == 0)
		*sealed_len = CALLS_KEYS_SEALED;
	secmem_free(plain);
	return rc;
}

/* ---- life cycle ------------------------------------------------------------------ */

/* "IP:LO-HI": the address with port LO, and HI. */
static int parse_pool(const char *s, struct callproto_addr *a, uint16_t *hi)
{
	char buf[STORE_ADDR_MAX + 8], *dash, *end;
	unsigned long h;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	errbuf_set(buf, sizeof(buf), "%s", s);
	dash = strrchr(buf, '-');
	if (!dash || dash[1] < '0' || dash[1] > '9')
		return -EINVAL;
	*dash = '\0';
	errno = 0;
	h = strtoul(dash + 1, &end, 10);
	if (errno || *end || parse_media(buf, a) < 0 || h < a->port || h > 65535)
		return -EINVAL;
	*hi = (uint16_t)h;
	return 0;
}

int calls_addresses_check(const char *listen, const char *media_pool, char *err,
			  size_t errlen)
{
	struct callproto_addr a;
	uint16_t hi;

	if (media_pool && parse_pool(media_pool, &a, &hi) < 0) {
		errbuf_set(err, errlen, "--media-pool: expected IP:LO-HI with a real local address "
		       "(not 0.0.0.0 or ::) and ports 1 <= LO <= HI <= 65535, e.g. "
		       "192.0.2.1:20000-29999");
		return -EINVAL;
	}
	if (listen && parse_addr(listen, &a, true) < 0) {
		errbuf_set(err, errlen, "--listen: expected IP:port, e.g. 0.0.0.0:5070 or "
		       "[::]:5070 (port 0: any free port)");
		return -EINVAL;
	}
	return 0;
}

int calls_create(struct calls **out, const struct calls_config *cfg, char *err, size_t errlen)
{
	struct calls *cm;
	struct callproto_addr a;
	struct sockaddr_storage ss;
	socklen_t sl;
	int one = 1;

	if (!out || !cfg || !cfg->table || !cfg->store || !cfg->tenant ||
	    !store_name_valid(cfg->tenant)) {
		errbuf_set(err, errlen, "table, store and a valid tenant are required");
		return -EINVAL;
	}
	if (sodium_init() < 0) {
		errbuf_set(err, errlen, "libsodium failed to initialise");
		return -EIO;
	}
	if (strcmp(store_tenant(cfg->store), cfg->tenant) != 0) {
		errbuf_set(err, errlen, "the store belongs to tenant '%s', not '%s'",
		       store_tenant(cfg->store), cfg->tenant);
		return -EINVAL;
	}
	cm = calloc(1, sizeof(*cm));
	if (!cm)
		return -ENOMEM;
	cm->cfg = *cfg;
	cm->lfd = -1;
	cm->spare_fd = -1;
	errbuf_set(cm->tenant, sizeof(cm->tenant), "%s", cfg->tenant);
	cm->cfg.tenant = cm->tenant;
	cm->cfg.listen = NULL;
	cm->cfg.media_pool = NULL;
	if (!cm->cfg.timeout_ms)
		cm->cfg.timeout_ms = CALLS_DEFAULT_TIMEOUT_MS;
	if (!cm->cfg.max_attempts)
		cm->cfg.max_attempts = CALLS_DEFAULT_MAX_ATTEMPTS;
	if (cfg->recorder_public_key) {
		memcpy(cm->recorder, cfg->recorder_public_key, sizeof(cm->recorder));
		cm->has_recorder = true;
		cm->cfg.recorder_public_key = NULL;
	}
	if (calls_addresses_check(cfg->listen, cfg->media_pool, err, errlen) < 0) {
		free(cm);
		return -EINVAL;
	}
	if (cfg->media_pool) {
		(void)parse_pool(cfg->media_pool, &cm->pool_addr, &cm->pool_hi);
		cm->pool_lo = cm->pool_addr.port;
		cm->has_pool = true;
	}
	if (cfg->listen) {
		(void)parse_addr(cfg->listen, &a, true);
		cm->lfd = socket(a.family == 6 ? AF_INET6 : AF_INET,
				 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		sl = to_sockaddr(&a, &ss);
		if (cm->lfd < 0 ||
		    setsockopt(cm->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(cm->lfd, (struct sockaddr *)&ss, sl) < 0 || listen(cm->lfd, 64) < 0 ||
		    getsockname(cm->lfd, (struct sockaddr *)&ss, &sl) < 0) {
			int e = errno;

			errbuf_set(err, errlen, "listen on %s: %s", cfg->listen, strerror(e));
			if (cm->lfd >= 0)
				close(cm->lfd);
			free(cm);
			return -e;
		}
		cm->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		cm->lport = ntohs(ss.ss_family == AF_INET6
				  ? ((struct sockaddr_in6 *)&ss)->sin6_port
				  : ((struct sockaddr_in *)&ss)->sin_port);

	}
	*out = cm;
	return 0;
}

uint16_t calls_listen_port(const struct calls *cm)
{
	return cm ? cm->lport : 0;
}

void calls_destroy(struct calls *cm)
{
	if (!cm)
		return;
	while (cm->conns) {
		struct conn *c = cm->conns;

		if (c->active) {
			static const char bye[] = "\x01the peer's call manager shut down";

			(void)ctl_send(c, (const uint8_t *)bye, sizeof(bye) - 1);
			finish(cm, c, CALLS_ENDED, "call manager shut down");
		} else {
			fail(cm, c, CALLPROTO_CODE_DECLINED, "call manager shut down");
		}
	}
	if (cm->lfd >= 0)
		close(cm->lfd);
	if (cm->spare_fd >= 0)
		close(cm->spare_fd);
	sodium_memzero(cm, sizeof(*cm));
	free(cm);
}

void calls_release(struct calls *cm)
{
	struct conn *c, *nx;

	if (!cm)
		return;
	for (c = cm->conns; c; c = nx) {
		nx = c->next;
		if (!c->active) {
			fail(cm, c, CALLPROTO_CODE_DECLINED, "call manager shut down");
			continue;
		}
		/* keys and the store record stay: calls_resume() takes them over */
		callproto_destroy(c->cp);
		if (c->ctl)
			secmem_free(c->ctl);
		if (c->fd >= 0)
			close(c->fd);
		unlink_conn(cm, c);
		sodium_memzero(c, sizeof(*c));
		free(c);
	}
	if (cm->lfd >= 0)
		close(cm->lfd);
	if (cm->spare_fd >= 0)
		close(cm->spare_fd);
	sodium_memzero(cm, sizeof(*cm));
	free(cm);
}

/* ---- restart ------------------------------------------------------------------- */

struct live_calls {
	struct store_call *v;
	size_t n, cap;
};

static int push_live(const struct store_call *sc, void *arg)
{
	struct live_calls *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct store_call *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *sc;
	return 0;
}

/* The table entry at local media a, direction dir, belongs to call id. */
static bool entry_of(const struct calls *cm, const struct callproto_addr *a, unsigned int dir,
		     const char *id)
{
	struct keytable_entry e;
	struct keytable_key k;
	bool ok;

	table_key(a, dir, &k);
	ok = keytable_get(cm->cfg.table, &k, &e, NULL) == 0 &&
	     memcmp(e.call_id, id, CALLS_ID_LEN) == 0;
	keytable_wipe(&e, sizeof(e));
	return ok;
}

/* One active store call becomes a detached call of cm: 0, or -ENOENT when its
 * entries are not both in the table, -ENOMEM. */
static int resume_one(struct calls *cm, const struct store_call *sc)
{
	struct conn *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	if (strlen(sc->id) != CALLS_ID_LEN || parse_addr(sc->local_media, &c->local_media,
							  false) < 0 ||
	    !entry_of(cm, &c->local_media, KEYTABLE_DIR_OUT, sc->id) ||
	    !entry_of(cm, &c->local_media, KEYTABLE_DIR_IN, sc->id)) {
		free(c);
		return -ENOENT;
	}
	c->active = c->confirmed = c->stored = c->installed_out = c->installed_in = true;
	copy_text(c->info.id, sizeof(c->info.id), sc->id);
	copy_text(c->info.local_user, sizeof(c->info.local_user), sc->local_user);
	copy_text(c->info.peer, sizeof(c->info.peer), sc->remote);
	c->info.role = sc->role == STORE_ROLE_INITIATOR ? CALLPROTO_ROLE_INITIATOR
							 : CALLPROTO_ROLE_RESPONDER;
	c->info.state = CALLS_ACTIVE;
	c->info.mode = sc->mode == STORE_MODE_E2EE ? CALLPROTO_MODE_E2EE
						    : CALLPROTO_MODE_STANDARD;
	copy_text(c->info.reason, sizeof(c->info.reason), sc->reason);
	copy_text(c->info.profile, sizeof(c->info.profile), sc->profile);
	calls_code_groups(sc->security_code, c->info.security_code);
	copy_text(c->info.local_media, sizeof(c->info.local_media), sc->local_media);
	copy_text(c->info.remote_media, sizeof(c->info.remote_media), sc->remote_media);
	c->info.detached = true;
	copy_text(c->info.detached_why, sizeof(c->info.detached_why),
		  "callseal-control restarted");
	c->next = cm->conns;
	cm->conns = c;
	return 0;
}

int calls_resume(struct calls *cm, struct calls_resume_report *rep, char *err, size_t errlen)
{
	struct live_calls l = { 0 };
	struct keytable_key *drop = NULL;
	struct keytable_entry e;
	struct store_call sc;
	struct keytable_info ti;
	char serr[STORE_ERR_MAX], id[CALLS_ID_LEN + 1];
	size_t i, nd = 0;
	uint32_t cur = 0;
	int rc;

	if (!cm || !rep)
		return -EINVAL;
	memset(rep, 0, sizeof(*rep));
	if ((rc = store_call_list(cm->cfg.store, true, push_live, &l, serr, sizeof(serr))) < 0) {
		errbuf_set(err, errlen, "listing the calls of the previous run: %s", serr);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		const char *why = "callseal-control restarted during the set-up";

		if (l.v[i].state == STORE_CALL_ACTIVE) {
			if ((rc = resume_one(cm, &l.v[i])) == 0) {
				rep->resumed++;
				continue;
			}
			if (rc != -ENOENT)
				goto out;
			why = "its key table entries were gone after a restart";
		}
		(void)store_call_end(cm->cfg.store, l.v[i].id, STORE_CALL_FAILED, why,
				     serr, sizeof(serr));
		rep->failed++;
	}
	/* entries naming a call the store knows and no call here has: left by a
	 * daemon that stopped between the table and the store */
	keytable_info(cm->cfg.table, &ti);
	drop = calloc(ti.count ? ti.count : 1, sizeof(*drop));
	if (!drop) {
		rc = -ENOMEM;
		goto out;
	}
	while (nd < ti.count && keytable_next(cm->cfg.table, &cur, &e) == 1) {
		memcpy(id, e.call_id, CALLS_ID_LEN);
		id[CALLS_ID_LEN] = '\0';
		if (store_call_id16_ok((const char *)e.call_id) && !find(cm, id) &&
		    store_call_get(cm->cfg.store, id, &sc, serr, sizeof(serr)) == 0)
			drop[nd++] = e.key;
		keytable_wipe(&e, sizeof(e));
	}
	for (i = 0; i < nd; i++)
		if (keytable_delete(cm->cfg.table, &drop[i]) == 0)
			rep->removed++;
	rc = 0;
out:
	free(drop);
	free(l.v);
	return rc;
}
