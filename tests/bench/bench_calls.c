/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callseal-bench-calls: call set-ups per second on ONE core (one thread),
 * both sides of every call in this process, and where the set-up's cycles go.
 * Not a test: run it through scripts/bench, or alone.
 *
 * One set-up, as control/calls/calls.c drives the API (minus sockets and the store):
 *
 *   handshake   callproto_initiator_create (caller, call id of 16 hex digits
 *               as calls_dial draws it) and callproto_responder_create(NULL)
 *               (callee, as accept_one); every frame callproto_next_out()
 *               gives is passed in memory to the other side's
 *               callproto_consume(): HELLO, NOISE1, NOISE2, NOISE3, CONFIRM
 *               (Noise_XX_25519_ChaChaPoly_BLAKE2b). Decisions as progress():
 *               NEED_CALLEE -> callproto_hello + callproto_responder_set_local;
 *               each side's static key pair as local_side() passes it (the
 *               private key and the stored public key: no X25519 for it);
 *               NEED_IDENTITY -> callproto_peer_static, compared with the
 *               pinned key (sodium_memcmp), callproto_identity_decide(accept).
 *               callproto computes the generation-0 key schedule inside these
 *               steps (handshake hash, HKDF export, chain, security code,
 *               both SRTP keys), so that part of the derivation is counted
 *               here: it cannot be timed apart without changing callproto.c.
 *   derivation  per side, as activate(): a secmem_alloc'd result,
 *               callproto_result(), callproto_rekey(generation 1) (the control
 *               channel's keys, derive_ctl), the result wiped and freed. The
 *               two BLAKE2b-256 of derive_ctl and its secmem_alloc are not.
 *   install     per side, as activate(): out (tx) and in (rx) key,
 *               keytable_master_set + keytable_add (E2EE, call id) into one
 *               key table in /dev/shm (both sides' four entries; in real use
 *               each side has its own table and its own half).
 *   teardown    NOT part of a set-up, reported on its own: the four
 *               keytable_delete (as delete_entries) and both callproto_destroy.
 *
 * The phases are timed (TSC) one after the other for every set-up in the same
 * loop, and every call is also charged to the side that made it (a frame's
 * callproto_consume to the receiver): one side's cost is what one daemon pays
 * per call. A round is --calls set-ups; each figure is the median of the
 * rounds. Every set-up must end DONE on both sides with matching keys, mode
 * E2EE and the same security code, or the benchmark stops.
 *
 * Reference, in the same rounds: the raw libsodium X25519 calls
 * (crypto_scalarmult_curve25519_base, crypto_scalarmult_curve25519),
 * sodium_malloc and sodium_free (what each secret block cost before the
 * pool), and secmem_alloc and secmem_free (what it costs now). Linked with
 * -Wl,--wrap (see meson.build), the X25519, secmem and sodium_malloc calls
 * made during the set-ups (by callproto.c, noise.c, secmem.c and this file)
 * are counted, so the run says how many a set-up really performs; at exit
 * no secmem block may be in use, and once the pool is released no
 * sodium_malloc'd block may be left.
 *
 * usage: callseal-bench-calls [--quick] [--rounds N] [--calls N]
 *
 * Goal (the call set-up issue): >= 5,000 set-ups per second on one core.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bench_util.h"
#include "callproto.h"
#include "callseal/keytable.h"
#include "secmem.h"

#define GOAL_PER_S      5000.0
#define TABLE_CAPACITY  64u      /* entries are deleted after every set-up */
#define REF_KEYS        32u      /* scalars and points for the X25519 reference */
#define CHUNK           20u      /* set-ups between two reference samples */
#define REF_OPS         4u       /* reference calls of each kind per sample */
#define MAX_STEPS       8        /* exchanges per set-up before it counts as stuck */

enum { PH_HANDSHAKE, PH_DERIVE, PH_INSTALL, PH_TEARDOWN, NPHASE };
enum { REF_BASE, REF_VAR, REF_MALLOC, REF_FREE, REF_SALLOC, REF_SFREE, NREF };
/* one sample per round: the phases, set-up total, per side, the references */
enum { S_TOTAL = NPHASE, S_KDF, S_SIDE, S_REF = S_SIDE + 2, NSAMPLE = S_REF + NREF };

static const char *const phase_name[NPHASE] = {
	"handshake (callproto + Noise XX)", "key derivation (result, rekey)",
	"table install (4 x add)", "teardown (4 x delete, 2 x destroy)",
};

static const char *const user[2] = { "alice@bench.example", "bob@bench.example" };
/* what calls.c offers */
static const uint16_t offer[] = {
	CALLPROTO_PROFILE_AEAD_AES_256_GCM, CALLPROTO_PROFILE_AEAD_AES_128_GCM,
};

static volatile sig_atomic_t stop;

/* ---- counting the library's calls (-Wl,--wrap) ------------------------------ */

/* Calls made while a set-up (not its teardown) runs in a timed round; live:
 * sodium_malloc'd blocks not freed yet, over the whole run (a leak check). */
static struct {
	bool on;
	uint64_t x_base, x_var, malloc, free, salloc, sfree;
	int64_t live;
} counted;

#ifdef BENCH_WRAP
int __real_crypto_scalarmult_curve25519(unsigned char *q, const unsigned char *n,
					const unsigned char *p);
int __real_crypto_scalarmult_curve25519_base(unsigned char *q, const unsigned char *n);
void *__real_sodium_malloc(size_t size);
void __real_sodium_free(void *ptr);
int __wrap_crypto_scalarmult_curve25519(unsigned char *q, const unsigned char *n,
					const unsigned char *p);
int __wrap_crypto_scalarmult_curve25519_base(unsigned char *q, const unsigned char *n);
void *__wrap_sodium_malloc(size_t size);
void __wrap_sodium_free(void *ptr);
void *__real_secmem_alloc(size_t size);
void __real_secmem_free(void *ptr);
void *__wrap_secmem_alloc(size_t size);
void __wrap_secmem_free(void *ptr);

int __wrap_crypto_scalarmult_curve25519(unsigned char *q, const unsigned char *n,
					const unsigned char *p)
{
	counted.x_var += counted.on;
	return __real_crypto_scalarmult_curve25519(q, n, p);
}

int __wrap_crypto_scalarmult_curve25519_base(unsigned char *q, const unsigned char *n)
{
	counted.x_base += counted.on;
	return __real_crypto_scalarmult_curve25519_base(q, n);
}

void *__wrap_sodium_malloc(size_t size)
{
	void *p = __real_sodium_malloc(size);

	counted.malloc += counted.on;
	counted.live += p != NULL;
	return p;
}

void __wrap_sodium_free(void *ptr)
{
	counted.free += counted.on && ptr;
	counted.live -= ptr != NULL;
	__real_sodium_free(ptr);
}

void *__wrap_secmem_alloc(size_t size)
{
	counted.salloc += counted.on;
	return __real_secmem_alloc(size);
}

void __wrap_secmem_free(void *ptr)
{
	counted.sfree += counted.on && ptr;
	__real_secmem_free(ptr);
}
#endif

/* ---- one call --------------------------------------------------------------------- */

struct side {
	struct callproto *cp;
	struct callproto_result *r;          /* secmem_alloc'd during derivation */
	struct callproto_addr media;
	bool out_installed, in_installed;
	uint64_t cyc;                        /* set-up cycles spent in this side's calls */
};

struct call {
	struct side s[2];                    /* 0: caller (initiator), 1: callee */
	char id[CALLPROTO_CALL_ID_LEN + 1];  /* 16 hex digits, as calls_dial */
	uint64_t kdf;                        /* cycles in callproto_result + _rekey */
};

struct bench {
	struct keytable *table;
	char table_name[KEYTABLE_NAME_MAX];
	bool table_made;
	uint8_t *priv[2];                    /* sodium_malloc: static private keys */
	uint8_t pub[2][NOISE_PUBLIC_KEY_LEN];/* their public keys: stored, and pinned */
	uint64_t n;                          /* set-ups so far: media ports */
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void local_side(const struct bench *b, int i, const struct callproto_addr *media,
		       struct callproto_local *loc)
{
	memset(loc, 0, sizeof(*loc));
	loc->user = user[i];
	loc->static_private = b->priv[i];
	loc->static_public = b->pub[i];         /* as the store gives it */
	loc->e2ee_allowed = true;
	loc->e2ee_on = true;
	loc->profiles = offer;
	loc->n_profiles = sizeof(offer) / sizeof(offer[0]);
	loc->media = *media;
}

static void table_key(const struct callproto_addr *a, unsigned int dir, struct keytable_key *k)
{
	if (a->family == 6)
		keytable_key_ipv6(k, a->addr, a->port, dir);
	else
		keytable_key_ipv4(k, a->addr, a->port, dir);
}

/* Every frame side `from` has to send, into the other side. */
static int deliver(struct call *c, int from, bool *moved)
{
	struct side *src = &c->s[from], *dst = &c->s[1 - from];
	uint8_t f[CALLPROTO_OUT_MAX];
	uint64_t t0, t1;
	size_t n;
	int rc;

	for (;;) {
		t0 = bench_tsc();
		rc = callproto_next_out(src->cp, f, sizeof(f), &n);
		t1 = bench_tsc();
		src->cyc += t1 - t0;
		if (rc < 0 || n == 0)
			return rc;
		*moved = true;
		rc = callproto_consume(dst->cp, f, n);
		dst->cyc += bench_tsc() - t1;
		if (rc < 0)
			return rc;
	}
}

/* Side i's decisions until it waits for the peer (calls.c: progress()). */
static int decide_side(const struct bench *b, struct call *c, int i)
{
	struct side *sd = &c->s[i];
	int rc;

	for (;;) {
		switch (callproto_status(sd->cp, NULL)) {
		case CALLPROTO_NEED_CALLEE: {
			struct callproto_hello h;
			struct callproto_local loc;

			if ((rc = callproto_hello(sd->cp, &h)) < 0)
				return rc;
			if (strcmp(h.callee, user[1]) != 0)
				return -ENOENT;
			local_side(b, 1, &sd->media, &loc);
			loc.user = h.callee;
			if ((rc = callproto_responder_set_local(sd->cp, &loc)) < 0)
				return rc;
			break;
		}
		case CALLPROTO_NEED_IDENTITY: {
			uint8_t pub[NOISE_PUBLIC_KEY_LEN];
			bool ok;

			if ((rc = callproto_peer_static(sd->cp, pub)) < 0)
				return rc;
			ok = sodium_memcmp(pub, b->pub[1 - i], sizeof(pub)) == 0;
			if ((rc = callproto_identity_decide(sd->cp, ok)) < 0)
				return rc;
			break;
		}
		case CALLPROTO_FAILED:          /* run_calls() says why */
			return -EPROTO;
		default:                /* RUNNING, DONE */
			return 0;
		}
	}
}

static int decide(const struct bench *b, struct call *c, int i)
{
	uint64_t t0 = bench_tsc();
	int rc = decide_side(b, c, i);

	c->s[i].cyc += bench_tsc() - t0;
	return rc;
}

static int handshake(const struct bench *b, struct call *c)
{
	struct callproto_config pc;
	uint8_t rnd[CALLPROTO_CALL_ID_LEN / 2];
	uint64_t t0 = bench_tsc(), t1;
	int rc, step;

	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(c->id, sizeof(c->id), rnd, sizeof(rnd));
	memset(&pc, 0, sizeof(pc));
	local_side(b, 0, &c->s[0].media, &pc.local);
	pc.peer_user = user[1];
	pc.call_id = (const uint8_t *)c->id;
	rc = callproto_initiator_create(&c->s[0].cp, &pc);
	t1 = bench_tsc();
	c->s[0].cyc += t1 - t0;
	if (rc < 0)
		return rc;
	rc = callproto_responder_create(&c->s[1].cp, NULL);
	c->s[1].cyc += bench_tsc() - t1;
	if (rc < 0)
		return rc;
	for (step = 0; step < MAX_STEPS; step++) {
		bool moved = false;

		if ((rc = deliver(c, 0, &moved)) < 0 ||
		    (rc = decide(b, c, 1)) < 0 ||
		    (rc = deliver(c, 1, &moved)) < 0 ||
		    (rc = decide(b, c, 0)) < 0)
			return rc;
		if (callproto_status(c->s[0].cp, NULL) == CALLPROTO_DONE &&
		    callproto_status(c->s[1].cp, NULL) == CALLPROTO_DONE)
			return 0;
		if (!moved)
			break;
	}
	fprintf(stderr, "callseal-bench-calls: the handshake stalled\n");
	return -EPROTO;
}

static int derive(struct call *c)
{
	struct callproto_keys k;
	int i, rc = 0;

	for (i = 0; i < 2 && rc == 0; i++) {
		struct side *sd = &c->s[i];
		uint64_t t0 = bench_tsc();

		uint64_t t1 = 0, t2 = 0;

		if (!(sd->r = secmem_alloc(sizeof(*sd->r)))) {
			rc = -ENOMEM;
		} else {
			t1 = bench_tsc();
			if ((rc = callproto_result(sd->cp, sd->r)) == 0)
				rc = callproto_rekey(sd->cp, 1, &k);   /* derive_ctl's */
			t2 = bench_tsc();
		}
		callproto_keys_wipe(&k);
		sd->cyc += bench_tsc() - t0;
		c->kdf += t2 - t1;
	}
	return rc;
}

static void results_free(struct call *c)
{
	for (int i = 0; i < 2; i++) {
		uint64_t t0 = bench_tsc();

		if (c->s[i].r) {
			callproto_result_wipe(c->s[i].r);
			secmem_free(c->s[i].r);
			c->s[i].r = NULL;
		}
		c->s[i].cyc += bench_tsc() - t0;
	}
}

/* Untimed: both sides agree (keys crosswise, mode, profile, security code). */
static int check(const struct call *c)
{
	const struct callproto_result *a = c->s[0].r, *z = c->s[1].r;

	if (a->mode != CALLPROTO_MODE_E2EE || z->mode != CALLPROTO_MODE_E2EE ||
	    a->profile != CALLPROTO_PROFILE_AEAD_AES_256_GCM || a->profile != z->profile ||
	    sodium_memcmp(&a->keys.tx, &z->keys.rx, sizeof(a->keys.tx)) != 0 ||
	    sodium_memcmp(&a->keys.rx, &z->keys.tx, sizeof(a->keys.rx)) != 0 ||
	    strcmp(a->security_code, z->security_code) != 0) {
		fprintf(stderr, "callseal-bench-calls: the two sides do not agree\n");
		return -EPROTO;
	}
	return 0;
}

static int install(struct bench *b, struct call *c)
{
	struct keytable_master m;
	struct keytable_key k;
	int i, d, rc;

	for (i = 0; i < 2; i++) {
		struct side *sd = &c->s[i];
		uint64_t t0 = bench_tsc();

		for (d = 0; d < 2; d++) {
			const struct callproto_srtp_key *s = d == 0 ? &sd->r->keys.tx
								    : &sd->r->keys.rx;

			table_key(&sd->media, d == 0 ? KEYTABLE_DIR_OUT : KEYTABLE_DIR_IN, &k);
			rc = keytable_master_set(&m, s->profile, s->key, s->key_len, s->salt);
			if (rc == 0)
				rc = keytable_add(b->table, &k, sd->r->mode == CALLPROTO_MODE_E2EE ?
						  KEYTABLE_MODE_E2EE : KEYTABLE_MODE_STANDARD, &m,
						  (const uint8_t *)c->id, NULL);
			keytable_wipe(&m, sizeof(m));
			if (rc < 0) {
				fprintf(stderr, "callseal-bench-calls: key table: %s\n",
					keytable_last_error(b->table));
				return rc;
			}
			if (d == 0)
				sd->out_installed = true;
			else
				sd->in_installed = true;
		}
		sd->cyc += bench_tsc() - t0;
	}
	return 0;
}

/* Entries out, states destroyed; also the clean-up after a failure. */
static int teardown(struct bench *b, struct call *c)
{
	struct keytable_key k;
	int i, rc = 0, r;

	for (i = 0; i < 2; i++) {
		struct side *sd = &c->s[i];

		if (sd->out_installed) {
			table_key(&sd->media, KEYTABLE_DIR_OUT, &k);
			if ((r = keytable_delete(b->table, &k)) < 0 && rc == 0)
				rc = r;
			sd->out_installed = false;
		}
		if (sd->in_installed) {
			table_key(&sd->media, KEYTABLE_DIR_IN, &k);
			if ((r = keytable_delete(b->table, &k)) < 0 && rc == 0)
				rc = r;
			sd->in_installed = false;
		}
		callproto_destroy(sd->cp);
		sd->cp = NULL;
	}
	return rc;
}

/* n set-ups; cyc[phase] += TSC cycles, side[i] += the set-up cycles of side
 * i's own calls; count: count the library calls. */
static int run_calls(struct bench *b, unsigned int n, bool count, uint64_t cyc[NPHASE],
		     uint64_t side[2], uint64_t *kdf)
{
	struct call c;
	uint64_t t0, t1, t2, t3, t4, t5;
	unsigned int j;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	for (j = 0; j < n && rc == 0 && !stop; j++) {
		uint16_t port = (uint16_t)(16384 + 2 * (b->n % 16384));

		c.s[0].media = (struct callproto_addr){ .family = 4, .addr = { 10, 0, 0, 1 },
							.port = port };
		c.s[1].media = (struct callproto_addr){ .family = 4, .addr = { 10, 0, 0, 2 },
							.port = port };
		c.s[0].cyc = c.s[1].cyc = c.kdf = 0;
		counted.on = count;
		t0 = bench_tsc();
		rc = handshake(b, &c);
		t1 = bench_tsc();
		if (rc == 0)
			rc = derive(&c);
		t2 = bench_tsc();
		if (rc == 0)
			rc = check(&c);
		t3 = bench_tsc();
		if (rc == 0)
			rc = install(b, &c);
		t4 = bench_tsc();
		results_free(&c);               /* activate() frees its result here */
		t5 = bench_tsc();
		counted.on = false;
		if (rc == 0)
			rc = teardown(b, &c);
		cyc[PH_HANDSHAKE] += t1 - t0;
		cyc[PH_DERIVE] += (t2 - t1) + (t5 - t4);
		cyc[PH_INSTALL] += t4 - t3;
		cyc[PH_TEARDOWN] += bench_tsc() - t5;
		*kdf += c.kdf;
		side[0] += c.s[0].cyc;
		side[1] += c.s[1].cyc;
		b->n += rc == 0;
	}
	counted.on = false;
	if (rc < 0) {                           /* whatever the failed set-up left */
		for (int i = 0; i < 2; i++) {
			const char *why;

			if (c.s[i].cp && callproto_status(c.s[i].cp, &why) == CALLPROTO_FAILED)
				fprintf(stderr, "callseal-bench-calls: set-up %llu, %s's side: "
					"%s\n", (unsigned long long)b->n, user[i], why);
		}
		results_free(&c);
		(void)teardown(b, &c);
	}
	return rc < 0 ? rc : stop ? -EINTR : 0;
}

/* REF_OPS calls of each reference kind, interleaved with the set-ups so that
 * both meet the same machine; sum[kind] += TSC cycles. X25519 base, X25519
 * variable base, sodium_malloc (of a callproto_result's size), sodium_free,
 * secmem_alloc and secmem_free (the same size). */
static int run_refs(uint8_t sk[REF_KEYS][32], uint8_t pk[REF_KEYS][32], unsigned int k,
		    uint64_t sum[NREF])
{
	void *p[REF_OPS];
	uint8_t q[32];
	uint64_t t0;
	unsigned int i;
	int rc = 0;

	t0 = bench_tsc();
	for (i = 0; i < REF_OPS; i++)
		rc |= crypto_scalarmult_curve25519_base(q, sk[(k + i) % REF_KEYS]);
	sum[REF_BASE] += bench_tsc() - t0;
	t0 = bench_tsc();
	for (i = 0; i < REF_OPS; i++)
		rc |= crypto_scalarmult_curve25519(q, sk[(k + i) % REF_KEYS],
						   pk[(k + i + 1) % REF_KEYS]);
	sum[REF_VAR] += bench_tsc() - t0;
	t0 = bench_tsc();
	for (i = 0; i < REF_OPS; i++)
		p[i] = sodium_malloc(sizeof(struct callproto_result));
	sum[REF_MALLOC] += bench_tsc() - t0;
	t0 = bench_tsc();
	for (i = 0; i < REF_OPS; i++) {
		rc |= !p[i];
		sodium_free(p[i]);
	}
	sum[REF_FREE] += bench_tsc() - t0;
	t0 = bench_tsc();
	for (i = 0; i < REF_OPS; i++)
		p[i] = secmem_alloc(sizeof(struct callproto_result));
	sum[REF_SALLOC] += bench_tsc() - t0;
	t0 = bench_tsc();
	for (i = 0; i < REF_OPS; i++) {
		rc |= !p[i];
		secmem_free(p[i]);
	}
	sum[REF_SFREE] += bench_tsc() - t0;
	sodium_memzero(q, sizeof(q));
	return rc ? -EIO : 0;
}

static void usage(const char *argv0)
{
	printf("usage: %s [--quick] [--rounds N] [--calls N]\n"
	       "  --quick     3 rounds x 60 set-ups (well under a second)\n"
	       "  --rounds N  rounds, the median is reported (default 7, 1-101)\n"
	       "  --calls N   set-ups per round (default 600, 1-100000)\n", argv0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "calls", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b;
	char err[KEYTABLE_ERR_MAX];
	uint8_t (*sk)[32] = NULL, (*pk)[32] = NULL;
	double *smp = NULL, med[NSAMPLE], hz, per_s, setup, xx_min;
	int rounds = 7, calls = 600, opt, r, i, rc = 0;
	uint64_t total_calls = 0;
	struct keytable_info info;

	memset(&b, 0, sizeof(b));
	while ((opt = getopt_long(argc, argv, "qr:c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'q': rounds = 3; calls = 60; break;
		case 'r': rounds = atoi(optarg); break;
		case 'c': calls = atoi(optarg); break;
		case 'h': usage(argv[0]); goto out;
		default: rc = -EINVAL; goto out;
		}
	}
	if (optind != argc || rounds < 1 || rounds > 101 || calls < 1 || calls > 100000) {
		usage(argv[0]);
		rc = -EINVAL;
		goto out;
	}
	if (sodium_init() < 0) {
		rc = -EIO;
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* identities: each side pins the other's key (store_peer_show in calls.c) */
	for (i = 0; i < 2; i++) {
		if (!(b.priv[i] = sodium_malloc(NOISE_PRIVATE_KEY_LEN))) {
			rc = -ENOMEM;
			goto out;
		}
		randombytes_buf(b.priv[i], NOISE_PRIVATE_KEY_LEN);
		if (crypto_scalarmult_curve25519_base(b.pub[i], b.priv[i]) != 0) {
			rc = -EIO;
			goto out;
		}
	}
	sk = calloc(REF_KEYS, sizeof(*sk));
	pk = calloc(REF_KEYS, sizeof(*pk));
	smp = calloc((size_t)rounds * NSAMPLE, sizeof(*smp));
	if (!sk || !pk || !smp) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0; i < (int)REF_KEYS; i++) {
		uint8_t t[32];

		randombytes_buf(sk[i], sizeof(sk[i]));
		randombytes_buf(t, sizeof(t));
		rc = crypto_scalarmult_curve25519_base(pk[i], t) != 0 ? -EIO : 0;
		sodium_memzero(t, sizeof(t));
		if (rc < 0)
			goto out;
	}

	snprintf(b.table_name, sizeof(b.table_name), "bench-calls-%d", (int)getpid());
	(void)keytable_unlink(b.table_name, NULL, 0);
	if ((rc = keytable_create(&b.table, b.table_name, TABLE_CAPACITY, err, sizeof(err))) < 0) {
		fprintf(stderr, "callseal-bench-calls: %s\n", err);
		goto out;
	}
	b.table_made = true;

	hz = bench_tsc_hz();
	printf("callseal call set-up benchmark: %s, TSC %.2f GHz, libsodium %s (AVX %s), "
	       "one thread\n", bench_cpu_name(), hz / 1e9, sodium_version_string(),
	       sodium_runtime_has_avx() ? "yes" : "no");
	printf("both sides in this process, frames passed in memory; E2EE, %s; key table "
	       "/dev/shm/callseal.%s;\nmedian of %d rounds x %d set-ups, phases timed "
	       "one after the other in every set-up (TSC)\n",
	       callproto_profile_name(offer[0]), b.table_name, rounds, calls);

	{       /* warm-up: page faults, libsodium's first calls */
		uint64_t w[NPHASE] = { 0 }, ws[2] = { 0 }, wk = 0, wr[NREF] = { 0 };

		if ((rc = run_calls(&b, CHUNK, false, w, ws, &wk)) < 0 ||
		    (rc = run_refs(sk, pk, 0, wr)) < 0)
			goto out;
	}
	for (r = 0; r < rounds; r++) {
		uint64_t cyc[NPHASE] = { 0 }, side[2] = { 0 }, kdf = 0, ref[NREF] = { 0 };
		unsigned int done, n_ref = 0;

		for (done = 0; done < (unsigned int)calls; done += CHUNK) {
			unsigned int n = (unsigned int)calls - done < CHUNK ?
					 (unsigned int)calls - done : CHUNK;

			if ((rc = run_calls(&b, n, true, cyc, side, &kdf)) < 0 ||
			    (rc = run_refs(sk, pk, n_ref, ref)) < 0)
				goto out;
			n_ref += REF_OPS;
		}
		total_calls += (uint64_t)calls;
		for (i = 0; i < NPHASE; i++)
			smp[i * rounds + r] = (double)cyc[i] / calls;
		smp[S_TOTAL * rounds + r] = (double)(cyc[PH_HANDSHAKE] + cyc[PH_DERIVE] +
						     cyc[PH_INSTALL]) / calls;
		smp[S_KDF * rounds + r] = (double)kdf / calls;
		for (i = 0; i < 2; i++)
			smp[(S_SIDE + i) * rounds + r] = (double)side[i] / calls;
		for (i = 0; i < NREF; i++)
			smp[(S_REF + i) * rounds + r] = (double)ref[i] / n_ref;
	}
	keytable_info(b.table, &info);
	if (info.count != 0) {
		fprintf(stderr, "callseal-bench-calls: %u entries left in the table\n", info.count);
		rc = -EPROTO;
		goto out;
	}
	for (i = 0; i < NSAMPLE; i++)
		med[i] = bench_median(smp + (size_t)i * rounds, (size_t)rounds);

	setup = med[S_TOTAL];
	per_s = hz / setup;
	printf("\n%-42s %14s %11s %8s\n", "phase", "cycles/set-up", "us/set-up", "share");
	for (i = 0; i < PH_TEARDOWN; i++) {
		printf("%-42s %14.0f %11.1f %7.1f%%\n", phase_name[i], med[i], med[i] / hz * 1e6,
		       100.0 * med[i] / setup);
		if (i == PH_DERIVE)
			printf("%-42s %14.0f %11.1f %7.1f%%\n",
			       "  of which result + rekey (no malloc)", med[S_KDF],
			       med[S_KDF] / hz * 1e6, 100.0 * med[S_KDF] / setup);
	}
	printf("%-42s %14.0f %11.1f\n", "set-up (handshake + derivation + install)", setup,
	       setup / hz * 1e6);
	printf("%-42s %14.0f %11.1f   (not in the set-up)\n", phase_name[PH_TEARDOWN],
	       med[PH_TEARDOWN], med[PH_TEARDOWN] / hz * 1e6);
	printf("\nset-ups per second, one core: %.0f   goal >= %.0f: %s\n", per_s, GOAL_PER_S,
	       per_s >= GOAL_PER_S ? "met" : "NOT MET");
	bench_meta("tsc", hz / 1e9, "GHz");
	for (i = 0; i < PH_TEARDOWN; i++)
		bench_csv("set-up phases", phase_name[i], "cycles", med[i], "cyc/set-up");
	bench_csv("set-up phases", "key derivation: result + rekey alone", "cycles", med[S_KDF],
		  "cyc/set-up");
	bench_csv("set-up phases", "set-up", "cycles", setup, "cyc/set-up");
	bench_csv("set-up phases", "caller's side", "cycles", med[S_SIDE], "cyc/set-up");
	bench_csv("set-up phases", "callee's side", "cycles", med[S_SIDE + 1], "cyc/set-up");
	bench_csv("set-up phases", phase_name[PH_TEARDOWN], "cycles", med[PH_TEARDOWN],
		  "cyc/set-up");
	bench_csv("set-ups", "both sides on one core", "rate", per_s, "/s");
	bench_csv("set-ups", "one side (a daemon) per core", "rate",
		  2 * hz / (med[S_SIDE] + med[S_SIDE + 1]), "/s");
	if (!bench_goal("calls: set-ups/s both sides on one core / 5000", per_s / GOAL_PER_S,
			1.0, 1))
		bench_goal_why("calls: set-ups/s both sides on one core / 5000",
			       "the 8 X25519 of an XX handshake (both sides) alone allow %.0f/s "
			       "here; one daemon is one side of each call: %.0f/s per core",
			       hz / (2 * med[S_REF + REF_BASE] + 6 * med[S_REF + REF_VAR]),
			       2 * hz / (med[S_SIDE] + med[S_SIDE + 1]));
	printf("set-up + teardown per second, one core: %.0f\n",
	       hz / (setup + med[PH_TEARDOWN]));
	printf("per side (its own calls, set-up only): caller %.0f cycles, callee %.0f; "
	       "a process that is\n  one side of each call (as each daemon is) would "
	       "do ~%.0f set-ups/s per core\n", med[S_SIDE], med[S_SIDE + 1],
	       2 * hz / (med[S_SIDE] + med[S_SIDE + 1]));

	{
		double nb = (double)counted.x_base / (double)total_calls;
		double nv = (double)counted.x_var / (double)total_calls;
		double nm = (double)counted.malloc / (double)total_calls;
		double nf = (double)counted.free / (double)total_calls;
		double na = (double)counted.salloc / (double)total_calls;
		double ns = (double)counted.sfree / (double)total_calls;
		double xb = med[S_REF + REF_BASE], xv = med[S_REF + REF_VAR];
		double x_done = nb * xb + nv * xv;
		double m_done = nm * med[S_REF + REF_MALLOC] + nf * med[S_REF + REF_FREE] +
				na * med[S_REF + REF_SALLOC] + ns * med[S_REF + REF_SFREE];

		xx_min = 2 * xb + 6 * xv;
		bench_csv("references", "crypto_scalarmult_curve25519_base", "cycles", xb, "cyc");
		bench_csv("references", "crypto_scalarmult_curve25519", "cycles", xv, "cyc");
		bench_csv("references", "sodium_malloc", "cycles", med[S_REF + REF_MALLOC], "cyc");
		bench_csv("references", "sodium_free", "cycles", med[S_REF + REF_FREE], "cyc");
		bench_csv("references", "secmem_alloc", "cycles", med[S_REF + REF_SALLOC], "cyc");
		bench_csv("references", "secmem_free", "cycles", med[S_REF + REF_SFREE], "cyc");
		bench_csv("set-ups", "the 8 X25519 of XX alone (both sides)", "rate", hz / xx_min,
			  "/s");
		printf("\nreference, same rounds (cycles per call):\n");
		printf("  crypto_scalarmult_curve25519_base  %9.0f\n", xb);
		printf("  crypto_scalarmult_curve25519       %9.0f\n", xv);
		printf("  sodium_malloc (%4zu octets)         %9.0f\n",
		       sizeof(struct callproto_result), med[S_REF + REF_MALLOC]);
		printf("  sodium_free                        %9.0f\n", med[S_REF + REF_FREE]);
		printf("  secmem_alloc (same size)           %9.0f\n", med[S_REF + REF_SALLOC]);
		printf("  secmem_free                        %9.0f\n", med[S_REF + REF_SFREE]);
		printf("bare X25519 of an XX handshake, both sides (each side 1 keygen + 3 DH: "
		       "2 base + 6 variable in all):\n  %.0f cycles = %.1f%% of the set-up; "
		       "X25519 alone would allow %.0f set-ups/s\n",
		       xx_min, 100.0 * xx_min / setup, hz / xx_min);
#ifdef BENCH_WRAP
		printf("what a set-up performs (counted from callproto/noise and this "
		       "benchmark's activate() part):\n");
		printf("  X25519: %.2f base + %.2f variable = %.0f cycles = %.1f%% of the "
		       "set-up\n", nb, nv, x_done, 100.0 * x_done / setup);
		printf("  secret blocks: secmem_alloc %.2f + secmem_free %.2f, sodium_malloc "
		       "%.2f + sodium_free %.2f\n    = %.0f cycles = %.1f%% (2 frees more "
		       "fall in the teardown); the same blocks\n    from sodium_malloc "
		       "would cost %.0f cycles = %.1f%%\n", na, ns, nm, nf, m_done,
		       100.0 * m_done / setup,
		       na * med[S_REF + REF_MALLOC] + ns * med[S_REF + REF_FREE],
		       100.0 * (na * med[S_REF + REF_MALLOC] + ns * med[S_REF + REF_FREE]) /
		       setup);
		printf("  the rest (BLAKE2b, ChaCha20-Poly1305, frames, key table): %.0f "
		       "cycles = %.1f%%\n", setup - x_done - m_done,
		       100.0 * (setup - x_done - m_done) / setup);
#else
		(void)x_done;
		(void)m_done;
		printf("(not linked with --wrap: X25519 and sodium_malloc calls not counted)\n");
#endif
	}
out:
	if (b.table)
		keytable_detach(b.table);
	if (b.table_made)
		(void)keytable_unlink(b.table_name, NULL, 0);
	for (i = 0; i < 2; i++)
		sodium_free(b.priv[i]);         /* NULL is fine; wipes */
	free(sk);
	free(pk);
	free(smp);
	if (secmem_release() < 0) {     /* -EBUSY: a secret block not freed */
		struct secmem_stats ss;

		secmem_stats(&ss);
		fprintf(stderr, "callseal-bench-calls: %zu secmem blocks not freed\n",
			ss.in_use);
		if (rc == 0)
			rc = -EPROTO;
	}
#ifdef BENCH_WRAP
	if (counted.live != 0) {
		fprintf(stderr, "callseal-bench-calls: %lld sodium_malloc'd blocks not freed\n",
			(long long)counted.live);
		if (rc == 0)
			rc = -EPROTO;
	}
#endif
	if (rc < 0 && rc != -EINVAL)
		fprintf(stderr, "callseal-bench-calls: %s\n", strerror(-rc));
	return rc == 0 ? 0 : rc == -EINVAL ? 2 : 1;
}
