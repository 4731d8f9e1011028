/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * channel.c - a call's control channel once its keys are in (docs/calls.md):
 * CTRL frames (type 0x10) over the call's TCP connection, sealed with
 * ChaCha20-Poly1305 under keys from generation 1 of the rekey chain; the
 * caller's READY, END, and REKEY (calls_rekey(), and the peer's REKEY).
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "errbuf.h"
#include "calls_internal.h"
#include "secmem.h"

int channel_derive(struct conn *c)
{
	struct callproto_keys k;
	uint8_t in[CALLPROTO_MASTER_KEY_MAX + CALLPROTO_MASTER_SALT_MAX];
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
	/* key = BLAKE2b-256(keyed by label, master key || salt) per direction,
	 * the profile's lengths (12-octet salt for GCM, 14 for AES-CM) */
	for (int d = 0; d < 2; d++) {
		const struct callproto_srtp_key *s = d == 0 ? &k.tx : &k.rx;

		memcpy(in, s->key, s->key_len);
		memcpy(in + s->key_len, s->salt, s->salt_len);
		crypto_generichash(c->ctl + d * CTRL_KEY_LEN, CTRL_KEY_LEN, in,
				   (size_t)s->key_len + s->salt_len,
				   (const uint8_t *)label, sizeof(label) - 1);
	}
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

int channel_send(struct conn *c, const uint8_t *plain, size_t n)
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
	conn_queue(c, f, CALLPROTO_FRAME_HDR + body, &ovf);
	return ovf ? -ENOBUFS : 0;
}

/* END with why, queued before a local end for a control-channel fault, so
 * the peer ends too rather than keep a call this side dropped. */
void channel_bye(struct conn *c, const char *why)
{
	uint8_t m[1 + CALLS_REASON_MAX];
	size_t n = strlen(why);

	if (n > CTRL_PLAIN_MAX - 1)
		n = CTRL_PLAIN_MAX - 1;
	m[0] = CTRL_END;
	memcpy(m + 1, why, n);
	(void)channel_send(c, m, 1 + n);
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
 * Install generation g (docs/calls.md, "Rekey"). in: our IN entry gets the
 * peer's next key on auth (advanced if a next key is still pending: two
 * rekeys in flight). out: our OUT entry gets our next key at once; only once
 * the peer's IN entry holds it (its REKEY or REKEY_ACK said so).
 */
static int install_gen(struct calls *cm, struct conn *c, uint32_t g, bool in, bool out,
		       char *err, size_t errlen)
{
	struct callproto_keys k;
	struct keytable_master m;
	struct keytable_entry e;
	struct keytable_key key;
	int rc;

	if ((rc = callproto_rekey(c->cp, g, &k)) < 0) {
		errbuf_set(err, errlen, "rekey to generation %u refused (%s)", g, strerror(-rc));
		return rc;
	}
	if (in) {
		addr_table_key(&c->local_media, KEYTABLE_DIR_IN, &key);
		rc = keytable_master_set_salt(&m, k.rx.profile, k.rx.key, k.rx.key_len,
					      k.rx.salt, k.rx.salt_len);
		if (rc == 0 && keytable_get(cm->cfg.table, &key, &e, NULL) == 0 &&
		    (e.flags & KEYTABLE_F_NEXT))
			rc = keytable_advance(cm->cfg.table, &key, &m, NULL);
		else if (rc == 0)
			rc = keytable_schedule(cm->cfg.table, &key, &m, KEYTABLE_FROM_ON_AUTH, NULL);
		keytable_wipe(&e, sizeof(e));
		keytable_wipe(&m, sizeof(m));
	}
	if (rc == 0 && out) {
		addr_table_key(&c->local_media, KEYTABLE_DIR_OUT, &key);
		rc = keytable_master_set_salt(&m, k.tx.profile, k.tx.key, k.tx.key_len,
					      k.tx.salt, k.tx.salt_len);
		if (rc == 0)
			rc = keytable_replace(cm->cfg.table, &key, &m, NULL);
		keytable_wipe(&m, sizeof(m));
	}
	if (rc < 0)
		errbuf_set(err, errlen, "key table: %s", keytable_last_error(cm->cfg.table));
	callproto_keys_wipe(&k);
	if (rc == 0 && in) {
		c->gen = g;
		c->info.next_from_index = 0;
		c->rekey_ms[1] = c->rekey_ms[0];
		c->rekey_ms[0] = c->auto_ms = now_ms();
	}
	if (rc == 0 && out)
		c->out_gen = g;
	return rc;
}

static int send_rekey(struct conn *c, uint8_t type, uint32_t g)
{
	uint8_t msg[13];

	msg[0] = type;
	msg[1] = (uint8_t)(g >> 24);
	msg[2] = (uint8_t)(g >> 16);
	msg[3] = (uint8_t)(g >> 8);
	msg[4] = (uint8_t)g;
	be64put(msg + 5, CTRL_FROM_ON_AUTH);
	return channel_send(c, msg, type == CTRL_REKEY ? 13 : 5);
}

bool channel_frame(struct calls *cm, struct conn *c, const uint8_t *f, size_t n)
{
	uint8_t plain[CTRL_PLAIN_MAX + 1], nonce[12], ad[25];
	unsigned long long plen;
	char why[CALLS_REASON_MAX], err[CALLS_ERR_MAX];
	uint64_t ctr;

	if (n >= 4 && f[2] == FRAME_ABORT) {
		/* the initiator lost our CONFIRM (docs/handshake.md, last message) */
		c->ender = STORE_ENDER_PEER;
		conn_finish(cm, c, CALLS_ENDED, "the peer aborted after setup (unauthenticated): "
			    "call ended");
		return false;
	}
	if (n < CTRL_HDR + crypto_aead_chacha20poly1305_ietf_ABYTES + 1 || f[2] != FRAME_CTRL ||
	    n > CTRL_HDR + CTRL_PLAIN_MAX + crypto_aead_chacha20poly1305_ietf_ABYTES) {
		channel_bye(c, "malformed control message");
		conn_finish(cm, c, CALLS_ENDED, "control channel: malformed message; call ended");
		return false;
	}
	ctr = be64get(f + 3);
	ctl_nonce_ad(c, ctr, nonce, ad);
	if (ctr != c->rx_ctr ||
	    crypto_aead_chacha20poly1305_ietf_decrypt(plain, &plen, NULL, f + CTRL_HDR,
						      n - CTRL_HDR, ad, sizeof(ad), nonce,
						      c->ctl + CTRL_KEY_LEN) != 0) {
		channel_bye(c, "control message failed authentication");
		conn_finish(cm, c, CALLS_ENDED, "control channel: message failed authentication; "
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
		c->ender = STORE_ENDER_PEER;
		conn_finish(cm, c, CALLS_ENDED, why);
		return false;
	}
	if ((plen == 13 && plain[0] == CTRL_REKEY) || (plen == 5 && plain[0] == CTRL_REKEY_ACK)) {
		uint32_t g = (uint32_t)plain[1] << 24 | (uint32_t)plain[2] << 16 |
			     (uint32_t)plain[3] << 8 | plain[4];
		bool ack = plain[0] == CTRL_REKEY_ACK;
		int rc = 0;

		if (!ack && be64get(plain + 5) != CTRL_FROM_ON_AUTH) {
			channel_bye(c, "rekey at a from-index: protocol too old");
			conn_finish(cm, c, CALLS_ENDED, "control channel: the peer's rekey names a "
				    "from-index (an older callseal): call ended");
			return false;
		}
		if (g < c->gen || (g == c->gen && c->out_gen >= g) || (ack && g != c->gen))
			return true;   /* stale, or done already */
		if (g == c->gen) {
			/* our own REKEY's answer, or the peer's REKEY of the same
			 * generation crossing ours: its IN entry holds our key */
			rc = install_gen(cm, c, g, false, true, err, sizeof(err));
		} else if (!ack) {
			/* the peer's IN entry holds our next key already: both at once */
			rc = install_gen(cm, c, g, true, true, err, sizeof(err));
			if (rc == 0 && (rc = send_rekey(c, CTRL_REKEY_ACK, g)) < 0)
				errbuf_set(err, sizeof(err), "control channel send buffer full");
		}
		if (rc < 0) {
			errbuf_set(why, sizeof(why), "peer's rekey failed: %s; call ended", err);
			channel_bye(c, "rekey failed");
			conn_finish(cm, c, CALLS_ENDED, why);
			return false;
		}
		return true;
	}
	channel_bye(c, "unknown control message");
	conn_finish(cm, c, CALLS_ENDED, "control channel: unknown message; call ended");
	return false;
}

int calls_rekey(struct calls *cm, const char *id, uint64_t current_index,
		char *err, size_t errlen)
{
	struct conn *c;
	uint32_t g;
	int rc;

	(void)current_index;   /* the dataplanes find the switch point */
	if (!cm || !id || !(c = conn_find(cm, id))) {
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
	if (c->rekey_ms[1] != 0 && now_ms() - c->rekey_ms[1] < CALLS_REKEY_GAP_MS) {
		errbuf_set(err, errlen, "call %s: two rekeys are already in flight (the "
		       "previous rekey may not be in use yet); try again in a second", id);
		return -EBUSY;
	}
	g = c->gen + 1;
	/* our IN entry first: the peer may switch as soon as it reads REKEY;
	 * our OUT entry when it answers (its IN entry then holds our key) */
	if ((rc = install_gen(cm, c, g, true, false, err, errlen)) < 0) {
		char why[CALLS_REASON_MAX];

		/* the chain or the table moved on one side only: fail closed */
		errbuf_set(why, sizeof(why), "rekey failed: %s; call ended", err ? err : "");
		channel_bye(c, "rekey failed");
		conn_finish(cm, c, CALLS_ENDED, why);
		return rc;
	}
	if ((rc = send_rekey(c, CTRL_REKEY, g)) < 0) {
		errbuf_set(err, errlen, "control channel send buffer full");
		return rc;
	}
	(void)handshake_progress(cm, c);
	return 0;
}
