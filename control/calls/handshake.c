/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handshake.c - the manager's decisions while a call's key agreement
 * (control/proto/callproto.h) runs: the local user's key and policy, the
 * callee and its media address at HELLO, the peer's identity key against
 * the peers directory, and at DONE the keys into the key table and the call
 * into the store.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "errbuf.h"
#include "calls_internal.h"
#include "secmem.h"

/* callproto's keys go into the key table as they are: the same profile ids
 * and salt lengths (include/callseal/keytable.h) */
_Static_assert(CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_80 ==
	       KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80 &&
	       CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_32 ==
	       KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32 &&
	       CALLPROTO_PROFILE_AEAD_AES_128_GCM == KEYTABLE_PROFILE_AEAD_AES_128_GCM &&
	       CALLPROTO_PROFILE_AEAD_AES_256_GCM == KEYTABLE_PROFILE_AEAD_AES_256_GCM,
	       "callproto and the key table number the profiles alike");
_Static_assert(CALLPROTO_MASTER_SALT_GCM == KEYTABLE_MASTER_SALT_BYTES &&
	       CALLPROTO_MASTER_SALT_CM == KEYTABLE_MASTER_SALT_CM &&
	       CALLPROTO_MASTER_KEY_MAX == KEYTABLE_MASTER_KEY_MAX,
	       "callproto's key and salt lengths are the key table's");

/* The local user's side of the agreement; keys: locked memory for the private
 * key followed by its public key (STORE_PRIVATE_KEY_BYTES + _PUBLIC_KEY_BYTES). */
int handshake_local(struct calls *cm, struct conn *c, const char *user,
		    const struct store_effective *known, uint8_t *priv,
		    struct callproto_local *loc, char *err, size_t errlen)
{
	struct store_effective eff;
	int rc;

	if (known)
		eff = *known;
	else if ((rc = store_user_effective_policy(cm->cfg.store, user, &eff, err, errlen)) < 0)
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
		eff.intent.compliance ? CALLPROTO_INTENT_COMPLIANCE_RECORDING :
		(eff.policy.source == POLICY_SRC_NONE ? CALLPROTO_INTENT_NO_POLICY
						      : CALLPROTO_INTENT_POLICY_DISABLED);
	loc->profiles = cm->offer;
	loc->n_profiles = cm->n_offer;
	loc->media = c->local_media;
	return 0;
}

/*
 * peer_id ("user@tenant") is a user of this manager's own store: 0 with the
 * user's public key, else -ENOENT (another tenant, or a user of this tenant
 * at another site: the peers directory speaks for those).
 */
int handshake_local_user_key(struct calls *cm, const char *peer_id,
			     uint8_t pub[STORE_PUBLIC_KEY_BYTES])
{
	char user[STORE_NAME_MAX + 1], tenant[STORE_NAME_MAX + 1], err[STORE_ERR_MAX];
	struct store_user u;

	if (store_peer_id_parse(peer_id, user, tenant, err, sizeof(err)) < 0 ||
	    strcmp(tenant, cm->tenant) != 0 ||
	    store_user_show(cm->cfg.store, user, &u, err, sizeof(err)) < 0)
		return -ENOENT;
	memcpy(pub, u.public_key, STORE_PUBLIC_KEY_BYTES);
	return 0;
}

/*
 * Whether another connection already holds call id for c. The one exception:
 * the caller's leg of a call between two users of this manager, answered
 * here by c (the same id, the other role, and the parties crosswise).
 */
static bool id_taken(const struct calls *cm, const struct conn *c, const char *callee)
{
	for (const struct conn *x = cm->conns; x; x = x->next) {
		char me[STORE_PEER_MAX + 1];

		if (x == c || strcmp(x->info.id, c->info.id) != 0)
			continue;
		errbuf_set(me, sizeof(me), "%s@%s", x->info.local_user, cm->tenant);
		if (x->info.role == CALLPROTO_ROLE_INITIATOR && x->local_peer &&
		    strcmp(x->info.peer, callee) == 0 && strcmp(me, c->info.peer) == 0)
			continue;   /* any second callee leg is caught as x itself */
		return true;
	}
	return false;
}

/* Responder after HELLO. */
static bool answer(struct calls *cm, struct conn *c)
{
	struct callproto_hello h;
	struct callproto_local loc;
	struct store_effective eff;
	struct store_peer peer;
	char user[STORE_NAME_MAX + 1], tenant[STORE_NAME_MAX + 1], err[STORE_ERR_MAX];
	char who[STORE_NAME_MAX * 2 + 2];
	uint8_t *priv = NULL;
	int rc;

	if (callproto_hello(c->cp, &h) < 0) {
		conn_fail(cm, c, CALLPROTO_CODE_INTERNAL, "internal: no hello");
		return false;
	}
	if (!store_call_id16_ok((const char *)h.call_id)) {
		conn_fail(cm, c, CALLPROTO_CODE_PROTOCOL, "call id is not 16 characters of "
			  "[A-Za-z0-9._:@+-] (not starting with -)");
		return false;
	}
	memcpy(c->info.id, h.call_id, CALLS_ID_LEN);
	c->info.id[CALLS_ID_LEN] = '\0';
	copy_text(c->info.peer, sizeof(c->info.peer), h.caller);
	if (id_taken(cm, c, h.callee)) {
		conn_fail(cm, c, CALLPROTO_CODE_PROTOCOL, "call id %s is already in use", c->info.id);
		return false;
	}
	if (store_peer_id_parse(h.callee, user, tenant, err, sizeof(err)) < 0 ||
	    strcmp(tenant, cm->tenant) != 0 ||
	    store_user_effective_policy(cm->cfg.store, user, &eff, err, sizeof(err)) < 0) {
		copy_text(who, sizeof(who), h.callee);
		conn_fail(cm, c, CALLPROTO_CODE_UNKNOWN_CALLEE, "unknown callee %s", who);
		return false;
	}
	if (store_peer_id_parse(h.caller, NULL, NULL, err, sizeof(err)) < 0) {
		conn_fail(cm, c, CALLPROTO_CODE_PROTOCOL, "caller: %s", err);
		return false;
	}
	{
		uint8_t pub[STORE_PUBLIC_KEY_BYTES];

		/* a user of this store: identified by its own key (identity()),
		 * never by the peers directory or trust on first use */
		c->local_peer = handshake_local_user_key(cm, h.caller, pub) == 0;
	}
	rc = c->local_peer ? 0 : store_peer_show(cm->cfg.store, h.caller, &peer, err, sizeof(err));
	if (rc == -ENOENT && !cm->cfg.tofu) {
		conn_fail(cm, c, CALLPROTO_CODE_IDENTITY_REFUSED, "caller %s is not in the peers "
			  "directory and trust on first use is off", c->info.peer);
		return false;
	}
	c->add_peer = rc == -ENOENT;
	if (!cm->has_pool) {
		conn_fail(cm, c, CALLPROTO_CODE_DECLINED, "no media address pool: calls are not "
			  "answered here");
		return false;
	}
	if (media_pool_take(cm, c) < 0) {
		conn_fail(cm, c, CALLPROTO_CODE_BUSY, "media address pool exhausted");
		return false;
	}
	{
		struct keytable_info ti;

		/* a call's two entries must fit: refuse now (BUSY), before the
		 * handshake goes on, rather than abort it at the install */
		keytable_info(cm->cfg.table, &ti);
		if (ti.count + 2 > ti.capacity) {
			conn_fail(cm, c, CALLPROTO_CODE_BUSY, "the key table is full (%u of %u "
				  "entries): no room for another call", ti.count, ti.capacity);
			return false;
		}
	}
	addr_format(&c->local_media, c->info.local_media, sizeof(c->info.local_media));
	priv = secmem_alloc(STORE_PRIVATE_KEY_BYTES + STORE_PUBLIC_KEY_BYTES);
	if (!priv) {
		conn_fail(cm, c, CALLPROTO_CODE_INTERNAL, "out of memory");
		return false;
	}
	/* the policy just read (nothing in between can change it: one poll-loop
	 * step) */
	rc = handshake_local(cm, c, user, &eff, priv, &loc, err, sizeof(err));
	loc.user = h.callee;
	if (rc == 0)
		rc = callproto_responder_set_local(c->cp, &loc);
	secmem_free(priv);
	if (rc < 0) {
		conn_fail(cm, c, CALLPROTO_CODE_INTERNAL, "callee %s: %s", h.callee, err);
		return false;
	}
	/* no store record yet: an unauthenticated caller must not be able to
	 * write one (activate() adds it, before the keys go in) */
	return true;
}

/* NEED_IDENTITY: pinned must match; absent needs TOFU. Never frees c: the
 * status moves on (or to FAILED) and handshake_progress() acts on it. */
static void identity(struct calls *cm, struct conn *c)
{
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];
	struct store_peer peer;
	char err[STORE_ERR_MAX];
	bool ok = false;
	int rc;

	if (callproto_peer_static(c->cp, pub) < 0) {
		errbuf_set(c->why, sizeof(c->why), "internal: no peer key");
		(void)callproto_abort(c->cp, CALLPROTO_CODE_INTERNAL); /* handshake_progress() ends it */
		return;
	}
	if (c->local_peer) {
		/* a user of this store (a call within the tenant): its key is the
		 * one in the users table, nothing else is accepted */
		uint8_t own[STORE_PUBLIC_KEY_BYTES];

		ok = handshake_local_user_key(cm, c->info.peer, own) == 0 &&
		     sodium_memcmp(pub, own, sizeof(pub)) == 0;
		if (!ok)
			errbuf_set(c->why, sizeof(c->why), "identity key of %s does not match the "
				   "key of that user of this daemon: refused (possible man in the "
				   "middle)", c->info.peer);
		sodium_memzero(own, sizeof(own));
		if (callproto_identity_decide(c->cp, ok) < 0 && !c->why[0])
			errbuf_set(c->why, sizeof(c->why), "internal: identity decision refused");
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
		conn_fail(cm, c, CALLPROTO_CODE_INTERNAL, "out of memory");
		return false;
	}
	if ((rc = callproto_result(c->cp, r)) < 0) {
		secmem_free(r);
		conn_fail(cm, c, CALLPROTO_CODE_INTERNAL, "internal: no result");
		return false;
	}
	addr_format(&r->peer_media, c->info.remote_media, sizeof(c->info.remote_media));
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

		addr_format(&c->want_remote, want, sizeof(want));
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
	/* the call's record, active with its mode, profile, security code and
	 * media, is committed before its keys go in (store.h "Durability"): a
	 * daemon killed after the install finds it at the restart and takes the
	 * call over; one killed before finds an active call without entries
	 * and marks it failed. A restart deletes only entries whose call the
	 * store knows, so no key is ever in the table without its record. */
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
		rec.role = conn_store_role(c);
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
	if (rc == 0 && (rc = store_batch_flush(cm->cfg.store, serr, sizeof(serr))) < 0)
		errbuf_set(err, sizeof(err), "store: %s", serr);
	/* caller: out = i->r (tx), in = r->i (rx); callee the reverse: callproto's
	 * tx/rx are already "as seen from this side". */
	for (i = 0; i < 2 && rc == 0; i++) {
		const struct callproto_srtp_key *s = i == 0 ? &r->keys.tx : &r->keys.rx;

		addr_table_key(&c->local_media, i == 0 ? KEYTABLE_DIR_OUT : KEYTABLE_DIR_IN, &k);
		if ((rc = keytable_master_set_salt(&m, s->profile, s->key, s->key_len, s->salt,
						   s->salt_len)) == 0)
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
	if (rc == 0 && (rc = channel_derive(c)) < 0)
		errbuf_set(err, sizeof(err), "control channel keys: %s", strerror(-rc));
	callproto_result_wipe(r);
	secmem_free(r);
	if (rc < 0) {
		/* callproto is DONE (abort refuses): tell the peer ourselves; a
		 * table that filled since answer() checked it is BUSY too */
		const uint8_t abort_frame[4] = { 0, 2, FRAME_ABORT,
			rc == -ENOSPC ? CALLPROTO_CODE_BUSY : CALLPROTO_CODE_INTERNAL };
		bool ovf = false;

		if (c->info.role == CALLPROTO_ROLE_RESPONDER) {
			/* drop the queued CONFIRM accept: the caller gets the ABORT */
			c->wlen = 0;
			callproto_destroy(c->cp);
			c->cp = NULL;
		}
		conn_queue(c, abort_frame, sizeof(abort_frame), &ovf);
		conn_finish(cm, c, CALLS_FAILED, err);
		return false;
	}
	c->active = true;
	if (c->info.role == CALLPROTO_ROLE_INITIATOR) {
		/* CONFIRM accepted: tell the callee, whose keys stay inert until it
		 * hears this (a lost connection before it ends the call there) */
		static const uint8_t ready[1] = { CTRL_READY };

		c->confirmed = true;
		(void)channel_send(c, ready, sizeof(ready));
	}
	conn_settled(cm, c);   /* authenticated: no longer a handshake in progress */
	c->info.state = CALLS_ACTIVE;
	if (cm->cfg.event)
		cm->cfg.event(cm->cfg.event_ctx, &c->info);
	return true;
}

/*
 * Drive one attempt after any event: decisions, then what to send.
 * Returns false when c was freed.
 */
bool handshake_progress(struct calls *cm, struct conn *c)
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
			conn_finish(cm, c, CALLS_FAILED, why);
			return false;
		}
		if (s == CALLPROTO_DONE && !c->active) {
			if (!activate(cm, c))
				return false;
		}
		break;
	}
	conn_pump(c, &ovf);
	if (ovf) {
		conn_fail(cm, c, CALLPROTO_CODE_INTERNAL, "send buffer full");
		return false;
	}
	if ((rc = conn_flush(c)) < 0) {
		if (c->active)
			conn_lost(cm, c, "the control connection broke");
		else
			conn_fail(cm, c, CALLPROTO_CODE_INTERNAL, "connection broke: %s", strerror(-rc));
		return false;
	}
	return true;
}
