/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The callproto tests' harness: the three key pairs and profile lists, and a
 * simulation that passes frames between two control/proto/callproto.c state
 * machines in memory (with an optional tamper hook on every frame), with the
 * assertions the cases share.
 */
#include "test_callproto.h"

struct noise_keypair kp_alice, kp_bob, kp_mallory;

const uint16_t prof_both[] = { CALLPROTO_PROFILE_AEAD_AES_128_GCM,
			       CALLPROTO_PROFILE_AEAD_AES_256_GCM };
const uint16_t prof_128[] = { CALLPROTO_PROFILE_AEAD_AES_128_GCM };
const uint16_t prof_256[] = { CALLPROTO_PROFILE_AEAD_AES_256_GCM };

int group_setup(void **state)
{
	(void)state;
	if (noise_init() != 0)
		return -1;
	if (noise_keypair_generate(&kp_alice) || noise_keypair_generate(&kp_bob) ||
	    noise_keypair_generate(&kp_mallory))
		return -1;
	return 0;
}

/* ---- the simulation ------------------------------------------------------------ */

bool cb_accept(void *ctx, const char *user, const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	bool *accept = ctx;

	(void)user;
	(void)pub;
	return *accept;
}

struct callproto_local make_local(const struct side_cfg *c)
{
	struct callproto_local l = {
		.user = c->user,
		.static_private = c->kp->private_key,
		.e2ee_allowed = c->allowed,
		.e2ee_on = c->on,
		.profiles = c->profiles,
		.n_profiles = c->n_profiles,
		.media = { .family = 4, .addr = { 192, 0, 2, c->ip_last }, .port = c->port },
	};
	return l;
}

void sim_defaults(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	s->a = (struct side_cfg){ ALICE, &kp_alice, true, true, prof_both, 2, 10, 40000 };
	s->b = (struct side_cfg){ BOB, &kp_bob, true, true, prof_both, 2, 20, 50000 };
	s->a_accepts = s->b_accepts = true;
	s->use_callbacks = true;
}

void sim_create(struct sim *s)
{
	struct callproto_config ci = {
		.local = make_local(&s->a),
		.peer_user = s->b.user,
		.call_id = s->call_id,
	}, cr = { .local = make_local(&s->b) };

	if (s->use_callbacks) {
		ci.identity_cb = cb_accept;
		ci.identity_ctx = &s->a_accepts;
		cr.identity_cb = cb_accept;
		cr.identity_ctx = &s->b_accepts;
	}
	if (s->responder_late_local)
		cr.local = (struct callproto_local){ 0 };
	assert_int_equal(callproto_initiator_create(&s->i, &ci), 0);
	assert_int_equal(callproto_responder_create(&s->r, &cr), 0);
}

/* One side's local decisions (when not by callback). */
static bool sim_decide(struct sim *s, struct callproto *st, bool initiator)
{
	const char *why;
	enum callproto_status status = callproto_status(st, &why);

	if (status == CALLPROTO_NEED_CALLEE) {
		struct callproto_local l = make_local(&s->b);
		struct callproto_hello h;

		assert_int_equal(callproto_hello(st, &h), 0);
		assert_string_equal(h.callee, s->b.user);
		assert_int_equal(callproto_responder_set_local(st, &l), 0);
		return true;
	}
	if (status == CALLPROTO_NEED_IDENTITY) {
		uint8_t pub[NOISE_PUBLIC_KEY_LEN];
		struct callproto_result res;
		struct callproto_keys k;

		assert_int_equal(callproto_peer_static(st, pub), 0);
		memcpy(initiator ? s->i_seen_peer : s->r_seen_peer, pub, sizeof(pub));
		/* nothing derived before the decision */
		assert_int_equal(callproto_result(st, &res), -EAGAIN);
		assert_int_equal(callproto_rekey(st, 1, &k), -EAGAIN);
		int rc = callproto_identity_decide(st, initiator ? s->a_accepts : s->b_accepts);

		(void)rc;
		return true;
	}
	return false;
}

/* Move frames until neither side has anything more to say. */
void sim_pump(struct sim *s)
{
	bool moved = true;

	while (moved) {
		int k;

		moved = false;
		for (k = 0; k < 2; k++) {
			struct callproto *from = k == 0 ? s->i : s->r;
			struct callproto *to = k == 0 ? s->r : s->i;
			uint8_t buf[CALLPROTO_OUT_MAX + 8];
			size_t len = 0;
			int ret;

			moved |= sim_decide(s, from, k == 0);
			assert_int_equal(callproto_next_out(from, buf, CALLPROTO_OUT_MAX, &len), 0);
			if (len == 0)
				continue;
			moved = true;
			if (s->n_frames < MAX_FRAMES) {
				memcpy(s->frames[s->n_frames], buf, len);
				s->frame_len[s->n_frames] = len;
				s->frame_from_i[s->n_frames] = k == 0;
			}
			if (s->tamper && !s->tamper(s->tamper_ctx, s->n_frames, k == 0, buf, &len)) {
				s->n_frames++;
				continue;
			}
			s->n_frames++;
			ret = callproto_consume(to, buf, len);
			if (ret && k == 0 && !s->r_ret)
				s->r_ret = ret;
			if (ret && k == 1 && !s->i_ret)
				s->i_ret = ret;
		}
	}
}

void sim_run(struct sim *s)
{
	sim_create(s);
	sim_pump(s);
}

void sim_destroy(struct sim *s)
{
	callproto_destroy(s->i);
	callproto_destroy(s->r);
	s->i = s->r = NULL;
}

/* A failed side: nothing reachable. */
void assert_nothing_derived(struct callproto *st)
{
	struct callproto_result res;
	struct callproto_keys k;
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];

	assert_int_equal(callproto_status(st, NULL), CALLPROTO_FAILED);
	assert_int_equal(callproto_result(st, &res), -ECANCELED);
	assert_int_equal(callproto_rekey(st, 1, &k), -ECANCELED);
	assert_int_equal(callproto_peer_static(st, pub), -ECANCELED);
}

void assert_keys_equal(const struct callproto_srtp_key *x,
		       const struct callproto_srtp_key *y)
{
	assert_int_equal(x->profile, y->profile);
	assert_int_equal(x->key_len, y->key_len);
	assert_int_equal(x->salt_len, y->salt_len);
	assert_memory_equal(x->key, y->key, sizeof(x->key));
	assert_memory_equal(x->salt, y->salt, sizeof(x->salt));
}

void assert_keys_differ(const struct callproto_srtp_key *x,
			const struct callproto_srtp_key *y)
{
	assert_memory_not_equal(x->key, y->key, x->key_len);
	assert_memory_not_equal(x->salt, y->salt, x->salt_len);
}

/* Both sides done and in agreement; results in ri, rr. */
void assert_agree(struct sim *s, struct callproto_result *ri,
		  struct callproto_result *rr)
{
	const char *why_i, *why_r;

	assert_int_equal(callproto_status(s->i, &why_i), CALLPROTO_DONE);
	assert_int_equal(callproto_status(s->r, &why_r), CALLPROTO_DONE);
	assert_string_equal(why_i, why_r);
	assert_int_equal(callproto_result(s->i, ri), 0);
	assert_int_equal(callproto_result(s->r, rr), 0);
	assert_memory_equal(ri->call_id, rr->call_id, CALLPROTO_CALL_ID_LEN);
	assert_int_equal(ri->role, CALLPROTO_ROLE_INITIATOR);
	assert_int_equal(rr->role, CALLPROTO_ROLE_RESPONDER);
	assert_int_equal(ri->mode, rr->mode);
	assert_string_equal(ri->reason, rr->reason);
	assert_int_equal(ri->profile, rr->profile);
	assert_int_equal(ri->keys.generation, 0);
	assert_keys_equal(&ri->keys.tx, &rr->keys.rx);         /* i->r */
	assert_keys_equal(&ri->keys.rx, &rr->keys.tx);         /* r->i */
	assert_keys_differ(&ri->keys.tx, &ri->keys.rx);
	assert_int_equal(ri->keys.tx.key_len, callproto_profile_key_len(ri->profile));
	assert_int_equal(ri->keys.tx.salt_len, callproto_profile_salt_len(ri->profile));
	assert_int_equal(ri->keys.rx.salt_len, callproto_profile_salt_len(ri->profile));
	assert_string_equal(ri->security_code, rr->security_code);
	assert_memory_equal(ri->handshake_hash, rr->handshake_hash, NOISE_HASH_LEN);
	assert_string_equal(ri->local_user, rr->peer_user);
	assert_string_equal(ri->peer_user, rr->local_user);
	assert_memory_equal(&ri->peer_media, &rr->local_media, sizeof(ri->peer_media));
	assert_memory_equal(&rr->peer_media, &ri->local_media, sizeof(rr->peer_media));
}

/* "ddddd ddddd ddddd ddddd" */
void assert_code_format(const char *c)
{
	size_t i;

	assert_int_equal(strlen(c), CALLPROTO_SECURITY_CODE_LEN);
	for (i = 0; i < CALLPROTO_SECURITY_CODE_LEN; i++) {
		if (i % 6 == 5)
			assert_int_equal(c[i], ' ');
		else
			assert_true(c[i] >= '0' && c[i] <= '9');
	}
}
