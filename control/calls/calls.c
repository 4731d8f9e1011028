/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * calls.c - the call manager's life and its commands (calls.h,
 * docs/calls.md): create, destroy, release; dial, end, show, list, features.
 *
 * Where the rest is:
 *   conn.c       TCP connections: accept, poll, frames in and out, deadlines,
 *                the end of a connection
 *   handshake.c  decisions while the key agreement runs, key install at DONE
 *   channel.c    the control channel after set-up: READY, END, REKEY
 *   media.c      media addresses and the media pool
 *   addr.c       IP:port parsing and printing
 *   resume.c     start-up after a restart
 *   calls_internal.h  struct calls and struct conn, shared by those files
 * The key agreement itself is control/proto/callproto.c (docs/handshake.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "errbuf.h"
#include "calls_internal.h"
#include "secmem.h"

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

/* "user@tenant" names a user of this manager's own store (not merely its
 * tenant: another site of the same tenant has users of its own). */
static bool own_user(struct calls *cm, const char *peer_id)
{
	uint8_t pub[STORE_PUBLIC_KEY_BYTES];

	return handshake_local_user_key(cm, peer_id, pub) == 0;
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
	if (cm->dials >= cm->cfg.max_attempts) {
		/* our own budget: incoming handshakes count against another */
		cm->stats.refused_dials++;
		errbuf_set(err, errlen, "too many outgoing call attempts in progress (%u)",
			   cm->cfg.max_attempts);
		return -EAGAIN;
	}
	if ((rc = store_peer_id_parse(to, NULL, NULL, serr, sizeof(serr))) < 0) {
		errbuf_set(err, errlen, "%s", serr);
		return rc;
	}
	if (own_user(cm, to)) {
		/* a call within the tenant, both users here: this manager dials its
		 * own listener, and the callee's leg is answered like any other
		 * (docs/calls.md, "Calls within a tenant") */
		char tu[STORE_NAME_MAX + 1];

		(void)store_peer_id_parse(to, tu, NULL, serr, sizeof(serr));
		if (strcmp(tu, from_user) == 0) {
			errbuf_set(err, errlen, "%s cannot call themselves", from_user);
			return -EINVAL;
		}
		if (cm->lfd < 0) {
			errbuf_set(err, errlen, "a call to %s (a user of this daemon) goes through "
				   "this daemon's own listener: start it with --listen", to);
			return -ENOTCONN;
		}
		memset(&peer, 0, sizeof(peer));
		paddr = cm->self_addr;
		addr_format(&paddr, peer.address, sizeof(peer.address));
	} else if ((rc = store_peer_show(cm->cfg.store, to, &peer, serr, sizeof(serr))) < 0) {
		if (rc == -ENOENT)
			errbuf_set(err, errlen, "%s is not in the peers directory (peer add)", to);
		else
			errbuf_set(err, errlen, "%s", serr);
		return rc;
	} else if (addr_parse(peer.address, &paddr, false) < 0) {
		errbuf_set(err, errlen, "peer %s: address %s is not a numeric IP:port", to,
		       peer.address);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	if (local_media ? media_parse(local_media, &c->local_media) < 0
			: (!cm->has_pool || media_pool_take(cm, c) < 0)) {
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
	media_hold(cm, c);   /* a pool port given as --local-media is used too */
	if (remote_media && media_parse(remote_media, &c->want_remote) < 0) {
		errbuf_set(err, errlen, "--remote-media: expected IP:port with a real address "
		       "(not 0.0.0.0 or ::)");
		rc = -EINVAL;
		goto out;
	}
	c->have_want = remote_media != NULL;
	c->local_peer = own_user(cm, to);
	addr_format(&c->local_media, c->info.local_media, sizeof(c->info.local_media));
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
	if ((rc = handshake_local(cm, c, from_user, NULL, priv, &pc.local, serr,
				   sizeof(serr))) < 0) {
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
	sl = addr_sockaddr(&paddr, &ss);
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

		conn_pump(c, &ovf);   /* HELLO, NOISE1: sent once connected */
	}
	if ((rc = conn_link(cm, c)) < 0) {
		errbuf_set(err, errlen, "out of memory");
		goto out;
	}
	memcpy(id, c->info.id, CALLS_ID_LEN + 1);
	c->dial_counted = true;
	cm->dials++;
	if (c->local_peer)
		conn_self_dial(cm, c);
	rc = 0;
out:
	if (priv)
		secmem_free(priv);
	if (rc < 0 && c) {
		static const struct store_call_final by_daemon = {
			.ended_by = STORE_ENDER_DAEMON };

		if (c->stored)
			(void)store_call_finish_leg(cm->cfg.store, c->info.id, STORE_ROLE_INITIATOR,
						    STORE_CALL_FAILED, err ? err : "dial failed",
						    &by_daemon, serr, sizeof(serr));
		conn_free(cm, c);   /* not linked: frees what it holds */
	}
	return rc;
}

/* One leg of calls_end. */
static void end_leg(struct calls *cm, struct conn *c)
{
	static const char bye[] = "\x01hung up";

	c->ender = STORE_ENDER_LOCAL;
	if (!c->active) {
		conn_fail(cm, c, CALLPROTO_CODE_DECLINED, "cancelled locally");
		return;
	}
	if (c->info.detached) {
		conn_finish(cm, c, CALLS_ENDED, "ended locally (no control connection: the peer "
			    "ends its side itself)");
		return;
	}
	(void)channel_send(c, (const uint8_t *)bye, sizeof(bye) - 1);
	conn_finish(cm, c, CALLS_ENDED, "ended locally");
}

/* Every leg of the call this manager holds: both, for a call between two of
 * its users (docs/calls.md). */
int calls_end(struct calls *cm, const char *id, char *err, size_t errlen)
{
	struct conn *c;

	if (!cm || !id || !(c = conn_find(cm, id))) {
		errbuf_set(err, errlen, "no call '%s'", id ? id : "");
		return -ENOENT;
	}
	end_leg(cm, c);
	if ((c = conn_find(cm, id)) != NULL)
		end_leg(cm, c);
	return 0;
}

/* A leg as the commands show it: its rekeys (generation 1 of the chain is
 * the control channel's: SRTP keys are 0, then 2, 3, ...) and the key
 * table's generations of its two entries, read by reference (no key copied). */
static void leg_info(const struct calls *cm, const struct conn *c, struct calls_info *out)
{
	struct keytable_key k[2];
	struct keytable_ref ref[2];
	uint8_t st[2];

	*out = c->info;
	out->rekeys = conn_rekeys(c);
	out->generation_out = out->generation_in = 0;
	if (!c->installed_out && !c->installed_in)
		return;
	addr_table_key(&c->local_media, KEYTABLE_DIR_OUT, &k[0]);
	addr_table_key(&c->local_media, KEYTABLE_DIR_IN, &k[1]);
	if (keytable_lookup_bulk_ref(cm->cfg.table, k, 2, ref, st) < 0)
		return;
	if (c->installed_out && st[0] == KEYTABLE_FOUND)
		out->generation_out = ref[0].generation;
	if (c->installed_in && st[1] == KEYTABLE_FOUND)
		out->generation_in = ref[1].generation;
}

int calls_show_leg(const struct calls *cm, const char *id, enum callproto_role role,
		   struct calls_info *out)
{
	const struct conn *c = (cm && id) ? conn_find_leg(cm, id, role) : NULL;

	if (!c)
		return -ENOENT;
	leg_info(cm, c, out);
	return 0;
}

int calls_show(const struct calls *cm, const char *id, struct calls_info *out)
{
	const struct conn *c = (cm && id) ? conn_find(cm, id) : NULL;

	if (!c)
		return -ENOENT;
	leg_info(cm, c, out);
	return 0;
}

int calls_list(const struct calls *cm, calls_list_fn fn, void *arg)
{
	struct calls_info info;
	int rc;

	for (const struct conn *c = cm->conns; c; c = c->next) {
		leg_info(cm, c, &info);
		if ((rc = fn(&info, arg)) != 0)
			return rc;
	}
	return 0;
}

/*
 * One entry of the recorder's blob (docs/calls.md "Recorder blob"): dir, 0,
 * profile (BE16), key_len, then v1: 0, 0, 0, key[32], salt[12]; v2: salt_len,
 * 0, 0, key[32], salt[14]. The key table keeps the bytes past key_len and
 * salt_len zero, so the padding is zero. Returns the entry's length.
 */
static size_t keys_entry_put(uint8_t *p, bool v2, unsigned int dir,
			     const struct keytable_master *m)
{
	size_t salt_field = v2 ? KEYTABLE_MASTER_SALT_MAX : KEYTABLE_MASTER_SALT_BYTES;

	p[0] = (uint8_t)dir;
	p[1] = 0;
	p[2] = (uint8_t)(m->profile >> 8);
	p[3] = (uint8_t)m->profile;
	p[4] = m->key_len;
	p[5] = v2 ? m->salt_len : 0;
	p[6] = 0;
	p[7] = 0;
	memcpy(p + CALLS_KEYS_ENTRY_HDR, m->key, KEYTABLE_MASTER_KEY_MAX);
	memcpy(p + CALLS_KEYS_ENTRY_HDR + KEYTABLE_MASTER_KEY_MAX, m->salt, salt_field);
	return CALLS_KEYS_ENTRY_HDR + KEYTABLE_MASTER_KEY_MAX + salt_field;
}

int calls_feature(struct calls *cm, const char *id, const char *feature,
		  uint8_t *sealed, size_t cap, size_t *sealed_len, char *err, size_t errlen)
{
	static const unsigned int dirs[2] = { KEYTABLE_DIR_OUT, KEYTABLE_DIR_IN };
	struct keytable_entry e[2];
	struct keytable_key k;
	uint8_t *plain = NULL;
	size_t i, o, plain_len, need;
	struct conn *c;
	bool v2 = false;
	int rc = 0;

	if (!cm || !id || !feature)
		return -EINVAL;
	/* the features: policy.h's one list (also the command table's rows) */
	if (!policy_feature_find(feature)) {
		errbuf_set(err, errlen, "unknown feature '%s'", feature);
		return -EINVAL;
	}
	if (!(c = conn_find(cm, id))) {
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
	if (!sealed || !sealed_len) {
		errbuf_set(err, errlen, "keys: no buffer");
		return -EINVAL;
	}
	/* the current keys of the out entry, then the in entry */
	memset(e, 0, sizeof(e));
	for (i = 0; i < 2; i++) {
		addr_table_key(&c->local_media, dirs[i], &k);
		if ((rc = keytable_get(cm->cfg.table, &k, &e[i], NULL)) < 0) {
			errbuf_set(err, errlen, "key table: entry missing");
			goto out;
		}
		if (e[i].cur.key_len > KEYTABLE_MASTER_KEY_MAX ||
		    e[i].cur.salt_len > KEYTABLE_MASTER_SALT_MAX) {
			errbuf_set(err, errlen, "key table: entry malformed");
			rc = -EIO;
			goto out;
		}
		/* v1 (no version octet) stays for GCM calls so that recorders that
		 * know only v1 keep opening them; a 14-octet salt needs v2 */
		if (e[i].cur.salt_len != KEYTABLE_MASTER_SALT_BYTES)
			v2 = true;
	}
	plain_len = v2 ? CALLS_KEYS_PLAIN_V2 : CALLS_KEYS_PLAIN_V1;
	need = v2 ? CALLS_KEYS_SEALED_V2 : CALLS_KEYS_SEALED_V1;
	if (cap < need) {
		errbuf_set(err, errlen, "keys: buffer too small (%zu octets needed)", need);
		rc = -ENOBUFS;
		goto out;
	}
	if (!(plain = secmem_alloc(CALLS_KEYS_PLAIN_V2))) {
		rc = -ENOMEM;
		goto out;
	}
	o = 0;
	if (v2) {
		plain[0] = CALLS_KEYS_V2;
		memset(plain + 1, 0, CALLS_KEYS_V2_HDR - 1);
		o = CALLS_KEYS_V2_HDR;
	}
	memcpy(plain + o, c->info.id, CALLS_ID_LEN);
	o += CALLS_ID_LEN;
	for (i = 0; i < 2; i++)
		o += keys_entry_put(plain + o, v2, dirs[i], &e[i].cur);
	if (o != plain_len || crypto_box_seal(sealed, plain, plain_len, cm->recorder) != 0)
		rc = -EIO;
	else
		*sealed_len = need;
out:
	keytable_wipe(e, sizeof(e));
	secmem_free(plain);     /* wipes; NULL is a no-op */
	return rc;
}

/* ---- life cycle ------------------------------------------------------------------ */

int calls_addresses_check(const char *listen, const char *media_pool, char *err,
			  size_t errlen)
{
	struct callproto_addr a;
	uint16_t hi;

	if (media_pool && media_pool_parse(media_pool, &a, &hi) < 0) {
		errbuf_set(err, errlen, "--media-pool: expected IP:LO-HI with a real local address "
		       "(not 0.0.0.0 or ::) and ports 1 <= LO <= HI <= 65535, e.g. "
		       "192.0.2.1:20000-29999");
		return -EINVAL;
	}
	if (listen && addr_parse(listen, &a, true) < 0) {
		errbuf_set(err, errlen, "--listen: expected IP:port, e.g. 0.0.0.0:5070 or "
		       "[::]:5070 (port 0: any free port)");
		return -EINVAL;
	}
	return 0;
}

/* The configured offer: known profiles, each once, 1..CALLPROTO_MAX_PROFILES. */
static int offer_check(const struct calls_config *cfg, char *err, size_t errlen)
{
	size_t i, j;

	if (!cfg->profiles)
		return 0;
	if (cfg->n_profiles == 0 || cfg->n_profiles > CALLPROTO_MAX_PROFILES) {
		errbuf_set(err, errlen, "SRTP profiles: offer 1..%d of them",
			   CALLPROTO_MAX_PROFILES);
		return -EINVAL;
	}
	for (i = 0; i < cfg->n_profiles; i++) {
		if (!callproto_profile_key_len(cfg->profiles[i])) {
			errbuf_set(err, errlen, "SRTP profiles: 0x%04x is not one this side "
				   "can key", cfg->profiles[i]);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (cfg->profiles[j] == cfg->profiles[i]) {
				errbuf_set(err, errlen, "SRTP profiles: %s is offered twice",
					   callproto_profile_name(cfg->profiles[i]));
				return -EINVAL;
			}
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
	if (offer_check(cfg, err, errlen) < 0)
		return -EINVAL;
	cm = calloc(1, sizeof(*cm));
	if (!cm)
		return -ENOMEM;
	cm->cfg = *cfg;
	if (cfg->profiles) {
		memcpy(cm->offer, cfg->profiles, cfg->n_profiles * sizeof(cm->offer[0]));
		cm->n_offer = cfg->n_profiles;
	} else {
		cm->n_offer = callproto_profiles_default(cm->offer);
	}
	cm->cfg.profiles = NULL;      /* copied: cm->offer */
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
	cm->max_per_source = cfg->max_per_source ? cfg->max_per_source
						 : CALLS_DEFAULT_MAX_PER_SOURCE;
	if (cm->max_per_source > cm->cfg.max_attempts)
		cm->max_per_source = cm->cfg.max_attempts;
	cm->idle_ms = cfg->idle_ms ? cfg->idle_ms : CALLS_DEFAULT_IDLE_MS;
	if (cm->idle_ms > cm->cfg.timeout_ms)
		cm->idle_ms = cm->cfg.timeout_ms;
	if (cfg->recorder_public_key) {
		memcpy(cm->recorder, cfg->recorder_public_key, sizeof(cm->recorder));
		cm->has_recorder = true;
		cm->cfg.recorder_public_key = NULL;
	}
	if (calls_addresses_check(cfg->listen, cfg->media_pool, err, errlen) < 0 ||
	    legstats_init(cm, cfg, err, errlen) < 0) {
		free(cm);
		return -EINVAL;
	}
	cm->cfg.stats_table = NULL;   /* copied: cm->ls.f.table */
	history_init(cm, cfg->history_s);
	if (cfg->media_pool) {
		(void)media_pool_parse(cfg->media_pool, &cm->pool_addr, &cm->pool_hi);
		cm->pool_lo = cm->pool_addr.port;
		cm->has_pool = true;
		if (media_pool_init(cm) < 0) {
			errbuf_set(err, errlen, "out of memory for the media pool");
			free(cm);
			return -ENOMEM;
		}
	}
	if (cfg->listen) {
		(void)addr_parse(cfg->listen, &a, true);
		cm->lfd = socket(a.family == 6 ? AF_INET6 : AF_INET,
				 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		sl = addr_sockaddr(&a, &ss);
		if (cm->lfd < 0 ||
		    setsockopt(cm->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(cm->lfd, (struct sockaddr *)&ss, sl) < 0 ||
		    listen(cm->lfd, CALLS_LISTEN_BACKLOG) < 0 ||
		    getsockname(cm->lfd, (struct sockaddr *)&ss, &sl) < 0) {
			int e = errno;

			errbuf_set(err, errlen, "listen on %s: %s", cfg->listen, strerror(e));
			if (cm->lfd >= 0)
				close(cm->lfd);
			media_pool_free(cm);
			free(cm);
			return -e;
		}
		cm->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		cm->lport = ntohs(ss.ss_family == AF_INET6
				  ? ((struct sockaddr_in6 *)&ss)->sin6_port
				  : ((struct sockaddr_in *)&ss)->sin_port);
		/* its own address, for calls between two of its users: the
		 * loopback address when it listens on every address */
		cm->self_addr = a;
		cm->self_addr.port = cm->lport;
		{
			static const uint8_t zero[16];

			if (memcmp(a.addr, zero, sizeof(zero)) == 0) {
				if (a.family == 6)
					cm->self_addr.addr[15] = 1;
				else
					memcpy(cm->self_addr.addr, "\x7f\0\0\x01", 4);
			}
		}

	}
	*out = cm;
	return 0;
}

uint16_t calls_listen_port(const struct calls *cm)
{
	return cm ? cm->lport : 0;
}

/* The manager itself, once its connections are gone. */
static void free_manager(struct calls *cm)
{
	if (cm->lfd >= 0)
		close(cm->lfd);
	if (cm->spare_fd >= 0)
		close(cm->spare_fd);
	media_pool_free(cm);
	free(cm->fdmap);
	legstats_fini(cm);
	sodium_memzero(cm, sizeof(*cm));
	free(cm);
}

void calls_destroy(struct calls *cm)
{
	if (!cm)
		return;
	while (cm->conns) {
		struct conn *c = cm->conns;

		c->ender = STORE_ENDER_DAEMON;
		if (c->active) {
			static const char bye[] = "\x01the peer's call manager shut down";

			(void)channel_send(c, (const uint8_t *)bye, sizeof(bye) - 1);
			conn_finish(cm, c, CALLS_ENDED, "call manager shut down");
		} else {
			conn_fail(cm, c, CALLPROTO_CODE_DECLINED, "call manager shut down");
		}
	}
	free_manager(cm);
}

void calls_release(struct calls *cm)
{
	struct conn *c, *nx;

	if (!cm)
		return;
	for (c = cm->conns; c; c = nx) {
		nx = c->next;
		if (!c->active) {
			conn_fail(cm, c, CALLPROTO_CODE_DECLINED, "call manager shut down");
			continue;
		}
		/* keys and the store record stay: calls_resume() takes them over */
		conn_free(cm, c);
	}
	free_manager(cm);
}
