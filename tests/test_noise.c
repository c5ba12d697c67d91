/*
 * Noise: every public vector of Noise_*_25519_ChaChaPoly_BLAKE2b reproduced
 * byte for byte, then everything the handshake and transport must refuse.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "hoptrace/noise.h"

/* The Cacophony vectors; the copy in tests/data first (NOTICE there). */
#define VECTORS_FILE "cacophony-25519-chachapoly-blake2b.json"
static const char *const vector_paths[] = {
	HT_SOURCE_DIR "/tests/data/noise/" VECTORS_FILE,
	HT_SOURCE_DIR "/../shared/vectors/noise/" VECTORS_FILE,
};

/* Message buffers: the largest message fits. */
static uint8_t msg_buf[HT_NOISE_MAX_MSG + 1];
static uint8_t pl_buf[HT_NOISE_MAX_MSG + 1];

/* ---- vectors ------------------------------------------------------------- */

/* The hex string at `key` of `obj`, decoded into a malloc'd buffer; NULL when absent. */
static uint8_t *hex_field(const json_t *obj, const char *key, size_t *len)
{
	const json_t *j = json_object_get(obj, key);
	if (!j) {
		*len = 0;
		return NULL;
	}
	const char *s = json_string_value(j);
	assert_non_null(s);
	size_t sl = strlen(s);
	assert_true(sl % 2 == 0);
	uint8_t *b = malloc(sl / 2 + 1);
	assert_non_null(b);
	size_t bl = 0;
	assert_int_equal(sodium_hex2bin(b, sl / 2 + 1, s, sl, NULL, &bl, NULL), 0);
	assert_int_equal(bl, sl / 2);
	*len = bl;
	return b;
}

/* A 32-byte key field, or NULL when absent. */
static uint8_t *key_field(const json_t *obj, const char *key)
{
	size_t len;
	uint8_t *k = hex_field(obj, key, &len);
	if (k)
		assert_int_equal(len, 32);
	return k;
}

static ht_noise_pattern pattern_named(const char *name)
{
	char buf[HT_NOISE_NAME_MAX];
	for (int p = HT_NOISE_NN; p <= HT_NOISE_XX; p++) {
		assert_int_equal(ht_noise_protocol_name((ht_noise_pattern)p, buf, sizeof(buf)),
				 HT_OK);
		if (strcmp(buf, name) == 0)
			return (ht_noise_pattern)p;
	}
	fail_msg("unknown protocol %s", name);
	return 0;
}

static void check_payload(const json_t *m, const uint8_t *got, size_t got_len)
{
	size_t len;
	uint8_t *want = hex_field(m, "payload", &len);
	assert_non_null(want);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(want);
}

/* Runs one vector on both sides; returns the number of messages checked. */
static size_t run_vector(const json_t *v, ht_noise_pattern *pattern)
{
	const char *name = json_string_value(json_object_get(v, "protocol_name"));
	assert_non_null(name);
	ht_noise_pattern p = pattern_named(name);
	*pattern = p;

	size_t ipro_len, rpro_len, hh_len;
	uint8_t *ipro = hex_field(v, "init_prologue", &ipro_len);
	uint8_t *rpro = hex_field(v, "resp_prologue", &rpro_len);
	uint8_t *is = key_field(v, "init_static"), *rs_ = key_field(v, "resp_static");
	uint8_t *ie = key_field(v, "init_ephemeral"), *re = key_field(v, "resp_ephemeral");
	uint8_t *irs = key_field(v, "init_remote_static");
	uint8_t *rrs = key_field(v, "resp_remote_static");
	uint8_t *hh = hex_field(v, "handshake_hash", &hh_len);
	assert_non_null(ie);
	assert_non_null(re);
	assert_non_null(hh);
	assert_int_equal(hh_len, HT_NOISE_HASH_LEN);

	/* [0] the initiator, [1] the responder. */
	ht_noise_hs hs[2];
	assert_int_equal(ht_noise_init(&hs[0], p, true, ipro, ipro_len, is, irs), HT_OK);
	assert_int_equal(ht_noise_init(&hs[1], p, false, rpro, rpro_len, rs_, rrs), HT_OK);
	assert_int_equal(ht_noise_set_ephemeral(&hs[0], ie), HT_OK);
	assert_int_equal(ht_noise_set_ephemeral(&hs[1], re), HT_OK);

	const json_t *msgs = json_object_get(v, "messages");
	size_t n = json_array_size(msgs), i = 0;
	assert_true(n > 0);

	/* Handshake: the initiator writes the even messages. */
	for (; !ht_noise_done(&hs[0]); i++) {
		assert_true(i < n);
		ht_noise_hs *w = &hs[i % 2], *r = &hs[1 - i % 2];
		assert_true(ht_noise_is_my_turn(w));
		assert_false(ht_noise_is_my_turn(r));
		assert_false(ht_noise_done(r));
		const json_t *m = json_array_get(msgs, i);
		size_t pl_len, ct_len, out_len, got_len;
		uint8_t *pl = hex_field(m, "payload", &pl_len);
		uint8_t *ct = hex_field(m, "ciphertext", &ct_len);
		assert_non_null(ct);
		assert_int_equal(
			ht_noise_write_message(w, pl, pl_len, msg_buf, sizeof(msg_buf), &out_len),
			HT_OK);
		assert_int_equal(out_len, ct_len);
		assert_memory_equal(msg_buf, ct, ct_len);
		assert_int_equal(
			ht_noise_read_message(r, ct, ct_len, pl_buf, sizeof(pl_buf), &got_len),
			HT_OK);
		check_payload(m, pl_buf, got_len);
		free(pl);
		free(ct);
	}
	assert_true(ht_noise_done(&hs[1]));
	assert_false(ht_noise_is_my_turn(&hs[0]));
	assert_false(ht_noise_is_my_turn(&hs[1]));
	assert_true(i >= 2);

	/* The handshake hash, and each side learned the other's static key. */
	uint8_t h0[HT_NOISE_HASH_LEN], h1[HT_NOISE_HASH_LEN];
	assert_int_equal(ht_noise_handshake_hash(&hs[0], h0), HT_OK);
	assert_int_equal(ht_noise_handshake_hash(&hs[1], h1), HT_OK);
	assert_memory_equal(h0, hh, HT_NOISE_HASH_LEN);
	assert_memory_equal(h1, hh, HT_NOISE_HASH_LEN);
	uint8_t pk[32];
	if (rs_) {
		assert_int_equal(crypto_scalarmult_base(pk, rs_), 0);
		assert_non_null(ht_noise_remote_static(&hs[0]));
		assert_memory_equal(ht_noise_remote_static(&hs[0]), pk, 32);
	} else {
		assert_null(ht_noise_remote_static(&hs[0]));
	}
	if (is) {
		assert_int_equal(crypto_scalarmult_base(pk, is), 0);
		assert_non_null(ht_noise_remote_static(&hs[1]));
		assert_memory_equal(ht_noise_remote_static(&hs[1]), pk, 32);
	} else {
		assert_null(ht_noise_remote_static(&hs[1]));
	}

	/* Transport: sides keep alternating. */
	ht_noise_cipher send[2], recv[2];
	assert_int_equal(ht_noise_split(&hs[0], &send[0], &recv[0]), HT_OK);
	assert_int_equal(ht_noise_split(&hs[1], &send[1], &recv[1]), HT_OK);
	size_t transport = 0;
	for (; i < n; i++, transport++) {
		int w = (int)(i % 2), r = 1 - w;
		const json_t *m = json_array_get(msgs, i);
		size_t pl_len, ct_len, out_len, got_len;
		uint8_t *pl = hex_field(m, "payload", &pl_len);
		uint8_t *ct = hex_field(m, "ciphertext", &ct_len);
		assert_non_null(ct);
		assert_int_equal(ht_noise_encrypt(&send[w], NULL, 0, pl, pl_len, msg_buf,
						  sizeof(msg_buf), &out_len),
				 HT_OK);
		assert_int_equal(out_len, ct_len);
		assert_memory_equal(msg_buf, ct, ct_len);
		assert_int_equal(ht_noise_decrypt(&recv[r], NULL, 0, ct, ct_len, pl_buf,
						  sizeof(pl_buf), &got_len),
				 HT_OK);
		check_payload(m, pl_buf, got_len);
		free(pl);
		free(ct);
	}
	assert_true(transport > 0);

	free(ipro);
	free(rpro);
	free(is);
	free(rs_);
	free(ie);
	free(re);
	free(irs);
	free(rrs);
	free(hh);
	return n;
}

static void test_vectors(void **state)
{
	(void)state;
	json_t *root = NULL;
	json_error_t jerr;
	for (size_t i = 0; i < sizeof(vector_paths) / sizeof(vector_paths[0]) && !root; i++)
		if (access(vector_paths[i], R_OK) == 0)
			root = json_load_file(vector_paths[i], 0, &jerr);
	assert_non_null(root);
	const json_t *vectors = json_object_get(root, "vectors");
	size_t nv = json_array_size(vectors);
	size_t per_pattern[HT_NOISE_XX + 1] = {0}, total = 0, messages = 0;
	for (size_t i = 0; i < nv; i++) {
		ht_noise_pattern p;
		messages += run_vector(json_array_get(vectors, i), &p);
		per_pattern[p]++;
		total++;
	}
	/* Nothing skipped, and every pattern exercised. */
	assert_int_equal(total, nv);
	for (int p = HT_NOISE_NN; p <= HT_NOISE_XX; p++)
		assert_true(per_pattern[p] > 0);
	print_message("noise vectors: NN %zu, KK %zu, XK %zu, IK %zu, XX %zu (%zu messages)\n",
		      per_pattern[HT_NOISE_NN], per_pattern[HT_NOISE_KK], per_pattern[HT_NOISE_XK],
		      per_pattern[HT_NOISE_IK], per_pattern[HT_NOISE_XX], messages);
	json_decref(root);
}

/* ---- fixtures: an XX pair with fixed keys --------------------------------- */

#define PROLOGUE "hoptrace test"

static void fill(uint8_t k[32], uint8_t start)
{
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(start + i);
}

typedef struct xx {
	ht_noise_hs i, r;
	uint8_t m[3][256];
	size_t m_len[3];
} xx;

static void xx_init(xx *x)
{
	uint8_t is[32], rs[32], ie[32], re[32];
	fill(is, 0x10);
	fill(rs, 0x40);
	fill(ie, 0x70);
	fill(re, 0xa0);
	assert_int_equal(ht_noise_init(&x->i, HT_NOISE_XX, true, (const uint8_t *)PROLOGUE,
				       strlen(PROLOGUE), is, NULL),
			 HT_OK);
	assert_int_equal(ht_noise_init(&x->r, HT_NOISE_XX, false, (const uint8_t *)PROLOGUE,
				       strlen(PROLOGUE), rs, NULL),
			 HT_OK);
	assert_int_equal(ht_noise_set_ephemeral(&x->i, ie), HT_OK);
	assert_int_equal(ht_noise_set_ephemeral(&x->r, re), HT_OK);
}

static const char *const xx_payloads[3] = {"hello", "certificate of the responder",
					   "certificate of the initiator"};

/* Writes message `k` (0, 1, 2) of the XX pair into x->m[k]. */
static void xx_write(xx *x, int k)
{
	ht_noise_hs *w = k % 2 ? &x->r : &x->i;
	assert_int_equal(ht_noise_write_message(w, (const uint8_t *)xx_payloads[k],
						strlen(xx_payloads[k]), x->m[k], sizeof(x->m[k]),
						&x->m_len[k]),
			 HT_OK);
}

/* Reads `msg` as message `k` on the receiving side; returns the result. */
static int xx_read_raw(xx *x, int k, const uint8_t *msg, size_t len, size_t *got)
{
	ht_noise_hs *r = k % 2 ? &x->i : &x->r;
	return ht_noise_read_message(r, msg, len, pl_buf, sizeof(pl_buf), got);
}

/* The same, and on success the payload must be message k's. */
static int xx_read(xx *x, int k, const uint8_t *msg, size_t len)
{
	size_t got;
	int rc = xx_read_raw(x, k, msg, len, &got);
	if (rc == HT_OK) {
		assert_int_equal(got, strlen(xx_payloads[k]));
		assert_memory_equal(pl_buf, xx_payloads[k], got);
	}
	return rc;
}

/* A complete XX handshake and split. */
static void xx_run(xx *x, ht_noise_cipher *i_send, ht_noise_cipher *i_recv, ht_noise_cipher *r_send,
		   ht_noise_cipher *r_recv)
{
	xx_init(x);
	for (int k = 0; k < 3; k++) {
		xx_write(x, k);
		assert_int_equal(xx_read(x, k, x->m[k], x->m_len[k]), HT_OK);
	}
	assert_true(ht_noise_done(&x->i));
	assert_true(ht_noise_done(&x->r));
	assert_int_equal(ht_noise_split(&x->i, i_send, i_recv), HT_OK);
	assert_int_equal(ht_noise_split(&x->r, r_send, r_recv), HT_OK);
}

/* A dead handshake refuses everything. */
static void assert_dead(ht_noise_hs *hs)
{
	size_t len;
	uint8_t h[HT_NOISE_HASH_LEN];
	ht_noise_cipher a, b;
	assert_true(ht_noise_failed(hs));
	assert_false(ht_noise_is_my_turn(hs));
	assert_false(ht_noise_done(hs));
	assert_null(ht_noise_remote_static(hs));
	assert_int_equal(ht_noise_write_message(hs, NULL, 0, msg_buf, sizeof(msg_buf), &len),
			 HT_E_INVAL);
	assert_int_equal(ht_noise_read_message(hs, msg_buf, 200, pl_buf, sizeof(pl_buf), &len),
			 HT_E_INVAL);
	assert_int_equal(ht_noise_handshake_hash(hs, h), HT_E_INVAL);
	assert_int_equal(ht_noise_split(hs, &a, &b), HT_E_INVAL);
	assert_int_equal(ht_noise_set_ephemeral(hs, h), HT_E_INVAL);
	assert_true(ht_noise_failed(hs));
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* ---- API rules -------------------------------------------------------------- */

static void test_protocol_names(void **state)
{
	(void)state;
	static const char *const want[] = {
		[HT_NOISE_NN] = "Noise_NN_25519_ChaChaPoly_BLAKE2b",
		[HT_NOISE_KK] = "Noise_KK_25519_ChaChaPoly_BLAKE2b",
		[HT_NOISE_XK] = "Noise_XK_25519_ChaChaPoly_BLAKE2b",
		[HT_NOISE_IK] = "Noise_IK_25519_ChaChaPoly_BLAKE2b",
		[HT_NOISE_XX] = "Noise_XX_25519_ChaChaPoly_BLAKE2b",
	};
	char buf[HT_NOISE_NAME_MAX];
	for (int p = HT_NOISE_NN; p <= HT_NOISE_XX; p++) {
		assert_int_equal(ht_noise_protocol_name((ht_noise_pattern)p, buf, sizeof(buf)),
				 HT_OK);
		assert_string_equal(buf, want[p]);
		size_t exact = strlen(want[p]) + 1;
		assert_int_equal(ht_noise_protocol_name((ht_noise_pattern)p, buf, exact), HT_OK);
		assert_int_equal(ht_noise_protocol_name((ht_noise_pattern)p, buf, exact - 1),
				 HT_E_INVAL);
	}
	assert_int_equal(ht_noise_protocol_name((ht_noise_pattern)0, buf, sizeof(buf)), HT_E_INVAL);
	assert_int_equal(ht_noise_protocol_name((ht_noise_pattern)6, buf, sizeof(buf)), HT_E_INVAL);
	assert_int_equal(ht_noise_protocol_name(HT_NOISE_XX, NULL, 40), HT_E_INVAL);
}

/* Exactly the keys each side of each pattern needs (the table in noise.h). */
static void test_init_key_rules(void **state)
{
	(void)state;
	static const struct {
		ht_noise_pattern p;
		bool i_s, i_rs, r_s, r_rs;
	} rules[] = {
		{HT_NOISE_NN, false, false, false, false}, {HT_NOISE_KK, true, true, true, true},
		{HT_NOISE_XK, true, true, true, false},    {HT_NOISE_IK, true, true, true, false},
		{HT_NOISE_XX, true, false, true, false},
	};
	uint8_t k[32], pk[32];
	fill(k, 1);
	assert_int_equal(crypto_scalarmult_base(pk, k), 0);
	ht_noise_hs hs;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		for (int side = 0; side < 2; side++) {
			bool init = side == 0;
			bool need_s = init ? rules[i].i_s : rules[i].r_s;
			bool need_rs = init ? rules[i].i_rs : rules[i].r_rs;
			for (int combo = 0; combo < 4; combo++) {
				bool give_s = combo & 1, give_rs = combo & 2;
				int want =
					give_s == need_s && give_rs == need_rs ? HT_OK : HT_E_INVAL;
				assert_int_equal(ht_noise_init(&hs, rules[i].p, init, NULL, 0,
							       give_s ? k : NULL,
							       give_rs ? pk : NULL),
						 want);
				if (want == HT_OK) {
					assert_true(ht_noise_is_my_turn(&hs) == init);
					assert_false(ht_noise_failed(&hs));
				} else {
					assert_dead(&hs);
				}
				ht_noise_wipe(&hs);
			}
		}
	}
	assert_int_equal(ht_noise_init(&hs, (ht_noise_pattern)0, true, NULL, 0, NULL, NULL),
			 HT_E_INVAL);
	assert_int_equal(ht_noise_init(&hs, (ht_noise_pattern)6, true, NULL, 0, NULL, NULL),
			 HT_E_INVAL);
	assert_int_equal(ht_noise_init(&hs, HT_NOISE_NN, true, NULL, 3, NULL, NULL), HT_E_INVAL);
	assert_int_equal(ht_noise_init(NULL, HT_NOISE_NN, true, NULL, 0, NULL, NULL), HT_E_INVAL);
}

/* Random ephemerals (the normal case): both sides agree, runs differ. */
static void test_random_ephemeral_xx(void **state)
{
	(void)state;
	uint8_t is[32], rs[32], ipk[32], rpk[32];
	fill(is, 0x10);
	fill(rs, 0x40);
	assert_int_equal(crypto_scalarmult_base(ipk, is), 0);
	assert_int_equal(crypto_scalarmult_base(rpk, rs), 0);
	uint8_t first_m1[64];
	for (int run = 0; run < 2; run++) {
		ht_noise_hs i, r;
		assert_int_equal(ht_noise_init(&i, HT_NOISE_XX, true, NULL, 0, is, NULL), HT_OK);
		assert_int_equal(ht_noise_init(&r, HT_NOISE_XX, false, NULL, 0, rs, NULL), HT_OK);
		assert_null(ht_noise_remote_static(&i));
		assert_null(ht_noise_remote_static(&r));
		uint8_t m[256], p[256];
		size_t ml, pl;
		assert_int_equal(ht_noise_write_message(&i, NULL, 0, m, sizeof(m), &ml), HT_OK);
		assert_int_equal(ml, 32);
		if (run == 0)
			memcpy(first_m1, m, ml);
		else
			assert_memory_not_equal(first_m1, m, ml);
		assert_int_equal(ht_noise_read_message(&r, m, ml, NULL, 0, &pl), HT_OK);
		assert_int_equal(pl, 0);
		assert_null(ht_noise_remote_static(&r));
		assert_int_equal(ht_noise_write_message(&r, NULL, 0, m, sizeof(m), &ml), HT_OK);
		assert_int_equal(ml, 32 + 48 + 16);
		assert_int_equal(ht_noise_read_message(&i, m, ml, p, sizeof(p), &pl), HT_OK);
		assert_memory_equal(ht_noise_remote_static(&i), rpk, 32);
		assert_int_equal(
			ht_noise_write_message(&i, (const uint8_t *)"x", 1, m, sizeof(m), &ml),
			HT_OK);
		assert_int_equal(ml, 48 + 1 + 16);
		assert_int_equal(ht_noise_read_message(&r, m, ml, p, sizeof(p), &pl), HT_OK);
		assert_int_equal(pl, 1);
		assert_memory_equal(ht_noise_remote_static(&r), ipk, 32);

		uint8_t hi[64], hr[64];
		assert_int_equal(ht_noise_handshake_hash(&i, hi), HT_OK);
		assert_int_equal(ht_noise_handshake_hash(&r, hr), HT_OK);
		assert_memory_equal(hi, hr, 64);

		ht_noise_cipher is_, ir, rs_, rr;
		assert_int_equal(ht_noise_split(&i, &is_, &ir), HT_OK);
		assert_int_equal(ht_noise_split(&r, &rs_, &rr), HT_OK);
		assert_memory_equal(is_.k, rr.k, 32);
		assert_memory_equal(ir.k, rs_.k, 32);
		assert_memory_not_equal(is_.k, ir.k, 32);
		/* Both directions, with associated data. */
		static const uint8_t ad[] = "ad";
		assert_int_equal(ht_noise_encrypt(&is_, ad, 2, (const uint8_t *)"ping", 4, m,
						  sizeof(m), &ml),
				 HT_OK);
		assert_int_equal(ht_noise_decrypt(&rr, ad, 2, m, ml, p, sizeof(p), &pl), HT_OK);
		assert_int_equal(pl, 4);
		assert_memory_equal(p, "ping", 4);
		assert_int_equal(ht_noise_encrypt(&rs_, NULL, 0, NULL, 0, m, sizeof(m), &ml),
				 HT_OK);
		assert_int_equal(ml, 16);
		assert_int_equal(ht_noise_decrypt(&ir, NULL, 0, m, ml, NULL, 0, &pl), HT_OK);
		assert_int_equal(pl, 0);
		/* Other associated data does not decrypt. */
		assert_int_equal(ht_noise_encrypt(&is_, ad, 2, (const uint8_t *)"ping", 4, m,
						  sizeof(m), &ml),
				 HT_OK);
		assert_int_equal(ht_noise_decrypt(&rr, ad, 1, m, ml, p, sizeof(p), &pl),
				 HT_E_DECRYPT);
	}
}

static void test_set_ephemeral_rules(void **state)
{
	(void)state;
	xx x;
	xx_init(&x);
	uint8_t e[32];
	fill(e, 0x33);
	/* Allowed again before use. */
	assert_int_equal(ht_noise_set_ephemeral(&x.i, e), HT_OK);
	xx_write(&x, 0);
	assert_memory_equal(x.m[0], x.i.e_pk, 32);
	assert_int_equal(ht_noise_set_ephemeral(&x.i, e), HT_E_INVAL);
	assert_int_equal(ht_noise_set_ephemeral(&x.i, NULL), HT_E_INVAL);
	assert_int_equal(ht_noise_set_ephemeral(NULL, e), HT_E_INVAL);
	ht_noise_wipe(&x.i);
	ht_noise_wipe(&x.r);
}

static void test_split_rules(void **state)
{
	(void)state;
	xx x;
	ht_noise_cipher a, b, c, d;
	uint8_t h[64];
	xx_init(&x);
	/* Not before the handshake is done. */
	assert_int_equal(ht_noise_split(&x.i, &a, &b), HT_E_INVAL);
	assert_int_equal(ht_noise_handshake_hash(&x.i, h), HT_E_INVAL);
	xx_write(&x, 0);
	assert_int_equal(xx_read(&x, 0, x.m[0], x.m_len[0]), HT_OK);
	xx_write(&x, 1);
	assert_int_equal(xx_read(&x, 1, x.m[1], x.m_len[1]), HT_OK);
	assert_int_equal(ht_noise_split(&x.i, &a, &b), HT_E_INVAL);
	xx_write(&x, 2);
	/* The initiator is done once it wrote the last message. */
	assert_true(ht_noise_done(&x.i));
	assert_false(ht_noise_done(&x.r));
	assert_int_equal(ht_noise_split(&x.i, &a, &a), HT_E_INVAL);
	assert_int_equal(ht_noise_split(&x.i, &a, &b), HT_OK);
	assert_int_equal(xx_read(&x, 2, x.m[2], x.m_len[2]), HT_OK);
	assert_int_equal(ht_noise_split(&x.r, &c, &d), HT_OK);
	/* Once only. */
	assert_int_equal(ht_noise_split(&x.i, &a, &b), HT_E_INVAL);
	/* Secrets wiped; the hash and the remote key stay. */
	assert_true(all_zero(x.i.ck, sizeof(x.i.ck)));
	assert_true(all_zero(x.i.cs.k, sizeof(x.i.cs.k)));
	assert_true(all_zero(x.i.s_sk, sizeof(x.i.s_sk)));
	assert_true(all_zero(x.i.e_sk, sizeof(x.i.e_sk)));
	assert_true(all_zero(x.r.s_sk, sizeof(x.r.s_sk)));
	assert_true(all_zero(x.r.e_sk, sizeof(x.r.e_sk)));
	assert_true(ht_noise_done(&x.i));
	assert_int_equal(ht_noise_handshake_hash(&x.i, h), HT_OK);
	assert_non_null(ht_noise_remote_static(&x.i));
	assert_memory_equal(ht_noise_remote_static(&x.i), x.r.s_pk, 32);
	/* No more messages either way. */
	size_t len;
	assert_int_equal(ht_noise_write_message(&x.i, NULL, 0, msg_buf, sizeof(msg_buf), &len),
			 HT_E_INVAL);
	assert_int_equal(ht_noise_write_message(&x.r, NULL, 0, msg_buf, sizeof(msg_buf), &len),
			 HT_E_INVAL);
	/* The initiator sends with c1, the responder receives with it. */
	assert_memory_equal(a.k, d.k, 32);
	assert_memory_equal(b.k, c.k, 32);
	assert_int_equal(a.n, 0);
	assert_int_equal(b.n, 0);
}

static void test_wipe(void **state)
{
	(void)state;
	xx x;
	xx_init(&x);
	xx_write(&x, 0);
	ht_noise_wipe(&x.i);
	assert_true(all_zero(x.i.s_sk, 32));
	assert_true(all_zero(x.i.e_sk, 32));
	assert_true(all_zero(x.i.ck, 64));
	assert_dead(&x.i);
	ht_noise_wipe(NULL);

	ht_noise_cipher c;
	memset(&c, 0xaa, sizeof(c));
	c.n = 0;
	ht_noise_cipher_wipe(&c);
	assert_true(all_zero(c.k, 32));
	size_t len;
	assert_int_equal(ht_noise_encrypt(&c, NULL, 0, NULL, 0, msg_buf, sizeof(msg_buf), &len),
			 HT_E_INVAL);
	ht_noise_cipher_wipe(NULL);
	ht_noise_wipe(&x.r);
}

/* ---- rejections: handshake ------------------------------------------------- */

/* One flipped bit anywhere in any XX message and the handshake fails. */
static void test_xx_bit_flips(void **state)
{
	(void)state;
	xx ref;
	xx_init(&ref);
	for (int k = 0; k < 3; k++) {
		xx_write(&ref, k);
		assert_int_equal(xx_read(&ref, k, ref.m[k], ref.m_len[k]), HT_OK);
	}
	size_t flips = 0;
	for (int k = 0; k < 3; k++) {
		for (size_t byte = 0; byte < ref.m_len[k]; byte++) {
			xx x;
			xx_init(&x);
			for (int j = 0; j < k; j++) {
				xx_write(&x, j);
				assert_int_equal(xx_read(&x, j, x.m[j], x.m_len[j]), HT_OK);
			}
			xx_write(&x, k);
			assert_int_equal(x.m_len[k], ref.m_len[k]);
			assert_memory_equal(x.m[k], ref.m[k], ref.m_len[k]);
			x.m[k][byte] ^= (uint8_t)(1u << (byte % 8));
			size_t got;
			int rc = xx_read_raw(&x, k, x.m[k], x.m_len[k], &got);
			ht_noise_hs *victim = k % 2 ? &x.i : &x.r;
			if (k == 0) {
				/*
				 * Message 1 is not authenticated yet: the responder
				 * takes it, and the initiator refuses the reply
				 * because the two transcripts differ.
				 */
				assert_int_equal(rc, HT_OK);
				xx_write(&x, 1);
				rc = xx_read(&x, 1, x.m[1], x.m_len[1]);
				victim = &x.i;
			}
			assert_int_equal(rc, HT_E_DECRYPT);
			assert_dead(victim);
			ht_noise_wipe(&x.i);
			ht_noise_wipe(&x.r);
			flips++;
		}
	}
	assert_int_equal(flips, ref.m_len[0] + ref.m_len[1] + ref.m_len[2]);
}

/* Every truncation of every XX message, and one byte too many, fails. */
static void test_xx_truncated(void **state)
{
	(void)state;
	for (int k = 0; k < 3; k++) {
		xx ref;
		xx_init(&ref);
		for (int j = 0; j <= k; j++) {
			xx_write(&ref, j);
			if (j < k)
				assert_int_equal(xx_read(&ref, j, ref.m[j], ref.m_len[j]), HT_OK);
		}
		/* Lengths 0 .. len - 1, then len + 1. */
		for (size_t len = 0; len <= ref.m_len[k] + 1; len++) {
			if (len == ref.m_len[k])
				continue;
			xx x = ref;
			uint8_t *m = tu_dup(x.m[k], len ? len : 1);
			if (len > ref.m_len[k])
				m[len - 1] = 0;
			size_t got;
			int rc = xx_read_raw(&x, k, m, len, &got);
			free(m);
			/* Fixed-size parts: e (32), then s (48) and tags. */
			size_t overhead = k == 0 ? 32 : k == 1 ? 32 + 48 + 16 : 48 + 16;
			if (k == 0 && len >= 32) {
				/* Only the plaintext payload is shorter or longer. */
				assert_int_equal(rc, HT_OK);
				xx_write(&x, 1);
				rc = xx_read(&x, 1, x.m[1], x.m_len[1]);
				assert_int_equal(rc, HT_E_DECRYPT);
				assert_dead(&x.i);
			} else {
				assert_int_equal(rc,
						 len < overhead ? HT_E_MALFORMED : HT_E_DECRYPT);
				assert_dead(k % 2 ? &x.i : &x.r);
			}
			ht_noise_wipe(&x.i);
			ht_noise_wipe(&x.r);
		}
		ht_noise_wipe(&ref.i);
		ht_noise_wipe(&ref.r);
	}
}

/* Writing or reading out of turn is refused. */
static void test_out_of_turn(void **state)
{
	(void)state;
	xx x;
	size_t len;
	xx_init(&x);
	/* The responder may not write first; that leaves it usable. */
	assert_false(ht_noise_is_my_turn(&x.r));
	assert_int_equal(ht_noise_write_message(&x.r, NULL, 0, msg_buf, sizeof(msg_buf), &len),
			 HT_E_INVAL);
	assert_false(ht_noise_failed(&x.r));
	/* The initiator may not read first; a failed read kills it. */
	assert_int_equal(ht_noise_read_message(&x.i, msg_buf, 96, pl_buf, sizeof(pl_buf), &len),
			 HT_E_INVAL);
	assert_dead(&x.i);

	xx_init(&x);
	xx_write(&x, 0);
	/* Twice in a row. */
	assert_int_equal(ht_noise_write_message(&x.i, NULL, 0, msg_buf, sizeof(msg_buf), &len),
			 HT_E_INVAL);
	assert_false(ht_noise_failed(&x.i));
	assert_int_equal(xx_read(&x, 0, x.m[0], x.m_len[0]), HT_OK);
	assert_int_equal(xx_read(&x, 0, x.m[0], x.m_len[0]), HT_E_INVAL);
	assert_dead(&x.r);
	ht_noise_wipe(&x.i);
}

/* Remote ephemerals of small order make the DH, and so the handshake, fail. */
static void test_small_order_ephemeral(void **state)
{
	(void)state;
	/* u = 0 and u = 1: of order 4 and 1. */
	static const uint8_t points[2][32] = {{0}, {1}};
	for (size_t p = 0; p < 2; p++) {
		/* The responder takes message 1 (no DH yet) but fails to answer. */
		xx x;
		size_t len;
		xx_init(&x);
		uint8_t m1[32];
		memcpy(m1, points[p], 32);
		assert_int_equal(ht_noise_read_message(&x.r, m1, 32, NULL, 0, &len), HT_OK);
		assert_int_equal(
			ht_noise_write_message(&x.r, NULL, 0, msg_buf, sizeof(msg_buf), &len),
			HT_E_WEAK_KEY);
		assert_dead(&x.r);
		ht_noise_wipe(&x.i);

		/* The initiator refuses such a key in message 2. */
		xx_init(&x);
		xx_write(&x, 0);
		assert_int_equal(xx_read(&x, 0, x.m[0], x.m_len[0]), HT_OK);
		xx_write(&x, 1);
		memcpy(x.m[1], points[p], 32);
		assert_int_equal(xx_read(&x, 1, x.m[1], x.m_len[1]), HT_E_WEAK_KEY);
		assert_dead(&x.i);
		ht_noise_wipe(&x.r);
	}
}

/* A remote static key of small order given in advance fails at its DH. */
static void test_small_order_static(void **state)
{
	(void)state;
	uint8_t s[32], zero[32] = {0}, e[32];
	size_t len;
	fill(s, 0x10);
	fill(e, 0x70);
	ht_noise_hs hs;
	assert_int_equal(ht_noise_init(&hs, HT_NOISE_IK, true, NULL, 0, s, zero), HT_OK);
	assert_int_equal(ht_noise_set_ephemeral(&hs, e), HT_OK);
	assert_int_equal(ht_noise_write_message(&hs, NULL, 0, msg_buf, sizeof(msg_buf), &len),
			 HT_E_WEAK_KEY);
	assert_dead(&hs);
}

/* Wrong prologue or wrong pre-known static key: the peer cannot decrypt. */
static void test_mismatched_context(void **state)
{
	(void)state;
	uint8_t is[32], rs[32], rpk[32], other_pk[32];
	size_t len, got;
	fill(is, 0x10);
	fill(rs, 0x40);
	assert_int_equal(crypto_scalarmult_base(rpk, rs), 0);
	uint8_t other_sk[32];
	fill(other_sk, 0x99);
	assert_int_equal(crypto_scalarmult_base(other_pk, other_sk), 0);

	/* IK towards the wrong key: the responder refuses message 1. */
	ht_noise_hs i, r;
	assert_int_equal(ht_noise_init(&i, HT_NOISE_IK, true, NULL, 0, is, other_pk), HT_OK);
	assert_int_equal(ht_noise_init(&r, HT_NOISE_IK, false, NULL, 0, rs, NULL), HT_OK);
	assert_int_equal(ht_noise_write_message(&i, NULL, 0, msg_buf, sizeof(msg_buf), &len),
			 HT_OK);
	assert_int_equal(ht_noise_read_message(&r, msg_buf, len, pl_buf, sizeof(pl_buf), &got),
			 HT_E_DECRYPT);
	assert_dead(&r);
	ht_noise_wipe(&i);

	/* Same key, different prologues. */
	assert_int_equal(ht_noise_init(&i, HT_NOISE_IK, true, (const uint8_t *)"a", 1, is, rpk),
			 HT_OK);
	assert_int_equal(ht_noise_init(&r, HT_NOISE_IK, false, (const uint8_t *)"b", 1, rs, NULL),
			 HT_OK);
	assert_int_equal(ht_noise_write_message(&i, NULL, 0, msg_buf, sizeof(msg_buf), &len),
			 HT_OK);
	assert_int_equal(ht_noise_read_message(&r, msg_buf, len, pl_buf, sizeof(pl_buf), &got),
			 HT_E_DECRYPT);
	assert_dead(&r);
	ht_noise_wipe(&i);
}

/* After a failed read, even the genuine message is refused. */
static void test_failed_read_stays_failed(void **state)
{
	(void)state;
	xx x;
	xx_init(&x);
	xx_write(&x, 0);
	assert_int_equal(xx_read(&x, 0, x.m[0], x.m_len[0]), HT_OK);
	xx_write(&x, 1);
	uint8_t bad[256];
	memcpy(bad, x.m[1], x.m_len[1]);
	bad[40] ^= 1;
	assert_int_equal(xx_read(&x, 1, bad, x.m_len[1]), HT_E_DECRYPT);
	assert_int_equal(xx_read(&x, 1, x.m[1], x.m_len[1]), HT_E_INVAL);
	assert_dead(&x.i);
	assert_true(all_zero(x.i.s_sk, 32));
	assert_true(all_zero(x.i.e_sk, 32));
	assert_true(all_zero(x.i.ck, 64));
	ht_noise_wipe(&x.r);
}

/* Messages over 65535 bytes are refused; exactly 65535 is fine. */
static void test_size_limits(void **state)
{
	(void)state;
	xx x;
	size_t len, got;
	static uint8_t big[HT_NOISE_MAX_MSG + 2];
	memset(big, 0x42, sizeof(big));
	xx_init(&x);
	/* Message 1 is e (32) and the plaintext payload. */
	assert_int_equal(ht_noise_write_message(&x.i, big, HT_NOISE_MAX_MSG - 31, msg_buf,
						sizeof(msg_buf), &len),
			 HT_E_TOO_LARGE);
	assert_int_equal(
		ht_noise_write_message(&x.i, big, SIZE_MAX, msg_buf, sizeof(msg_buf), &len),
		HT_E_TOO_LARGE);
	/* Too small an output buffer. */
	assert_int_equal(ht_noise_write_message(&x.i, big, 10, msg_buf, 41, &len), HT_E_INVAL);
	assert_false(ht_noise_failed(&x.i));
	assert_true(ht_noise_is_my_turn(&x.i));
	assert_int_equal(ht_noise_write_message(&x.i, big, HT_NOISE_MAX_MSG - 32, msg_buf,
						sizeof(msg_buf), &len),
			 HT_OK);
	assert_int_equal(len, HT_NOISE_MAX_MSG);
	/* The largest message reads; one byte more does not. */
	ht_noise_hs r2 = x.r;
	assert_int_equal(ht_noise_read_message(&x.r, msg_buf, len, pl_buf, sizeof(pl_buf), &got),
			 HT_OK);
	assert_int_equal(got, HT_NOISE_MAX_MSG - 32);
	memcpy(big, msg_buf, len);
	assert_int_equal(ht_noise_read_message(&r2, big, len + 1, pl_buf, sizeof(pl_buf), &got),
			 HT_E_TOO_LARGE);
	assert_dead(&r2);
	/* A payload buffer too small is a failed read too. */
	ht_noise_wipe(&x.i);
	ht_noise_wipe(&x.r);
	xx_init(&x);
	xx_write(&x, 0);
	assert_int_equal(ht_noise_read_message(&x.r, x.m[0], x.m_len[0], pl_buf, 4, &got),
			 HT_E_INVAL);
	assert_dead(&x.r);
	ht_noise_wipe(&x.i);

	/* Transport: plaintext up to 65519, ciphertext up to 65535. */
	ht_noise_cipher is, ir, rs, rr;
	xx_run(&x, &is, &ir, &rs, &rr);
	assert_int_equal(ht_noise_encrypt(&is, NULL, 0, big, HT_NOISE_MAX_PLAINTEXT + 1, msg_buf,
					  sizeof(msg_buf), &len),
			 HT_E_TOO_LARGE);
	assert_int_equal(is.n, 0);
	assert_int_equal(ht_noise_encrypt(&is, NULL, 0, big, 10, msg_buf, 25, &len), HT_E_INVAL);
	assert_int_equal(is.n, 0);
	assert_int_equal(ht_noise_encrypt(&is, NULL, 0, big, HT_NOISE_MAX_PLAINTEXT, msg_buf,
					  sizeof(msg_buf), &len),
			 HT_OK);
	assert_int_equal(len, HT_NOISE_MAX_MSG);
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, msg_buf, len, pl_buf, sizeof(pl_buf), &got),
			 HT_OK);
	assert_int_equal(got, HT_NOISE_MAX_PLAINTEXT);
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, big, HT_NOISE_MAX_MSG + 1, pl_buf,
					  sizeof(pl_buf), &got),
			 HT_E_TOO_LARGE);
	/* Too small an output buffer. */
	assert_int_equal(ht_noise_encrypt(&rs, NULL, 0, big, 10, msg_buf, sizeof(msg_buf), &len),
			 HT_OK);
	assert_int_equal(ht_noise_decrypt(&ir, NULL, 0, msg_buf, len, pl_buf, 9, &got), HT_E_INVAL);
	assert_true(ir.n == UINT64_MAX);
	assert_true(rr.n == UINT64_MAX);
}

/* ---- rejections: transport --------------------------------------------------- */

/* Replayed, reordered or tampered messages fail, and the cipher stays dead. */
static void test_transport_replay_and_failure(void **state)
{
	(void)state;
	xx x;
	ht_noise_cipher is, ir, rs, rr;
	uint8_t m1[64], m2[64], m3[64];
	size_t l1, l2, l3, got;
	xx_run(&x, &is, &ir, &rs, &rr);
	assert_int_equal(
		ht_noise_encrypt(&is, NULL, 0, (const uint8_t *)"one", 3, m1, sizeof(m1), &l1),
		HT_OK);
	assert_int_equal(
		ht_noise_encrypt(&is, NULL, 0, (const uint8_t *)"two", 3, m2, sizeof(m2), &l2),
		HT_OK);
	assert_int_equal(
		ht_noise_encrypt(&is, NULL, 0, (const uint8_t *)"three", 5, m3, sizeof(m3), &l3),
		HT_OK);
	assert_int_equal(is.n, 3);
	assert_memory_not_equal(m1, m2, l1);
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, m1, l1, pl_buf, sizeof(pl_buf), &got),
			 HT_OK);
	assert_memory_equal(pl_buf, "one", 3);
	/* A replay: the nonce has moved on. */
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, m1, l1, pl_buf, sizeof(pl_buf), &got),
			 HT_E_DECRYPT);
	/* Dead now: even the next genuine message is refused. */
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, m2, l2, pl_buf, sizeof(pl_buf), &got),
			 HT_E_INVAL);
	assert_true(all_zero(rr.k, 32));
	assert_true(rr.n == UINT64_MAX);

	/* Reordered. */
	ht_noise_wipe(&x.i);
	ht_noise_wipe(&x.r);
	xx_run(&x, &is, &ir, &rs, &rr);
	assert_int_equal(
		ht_noise_encrypt(&is, NULL, 0, (const uint8_t *)"one", 3, m1, sizeof(m1), &l1),
		HT_OK);
	assert_int_equal(
		ht_noise_encrypt(&is, NULL, 0, (const uint8_t *)"two", 3, m2, sizeof(m2), &l2),
		HT_OK);
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, m2, l2, pl_buf, sizeof(pl_buf), &got),
			 HT_E_DECRYPT);
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, m1, l1, pl_buf, sizeof(pl_buf), &got),
			 HT_E_INVAL);

	/* Tampered, then the genuine one; a message in the wrong direction. */
	xx_run(&x, &is, &ir, &rs, &rr);
	assert_int_equal(
		ht_noise_encrypt(&is, NULL, 0, (const uint8_t *)"one", 3, m1, sizeof(m1), &l1),
		HT_OK);
	m1[0] ^= 0x80;
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, m1, l1, pl_buf, sizeof(pl_buf), &got),
			 HT_E_DECRYPT);
	m1[0] ^= 0x80;
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, m1, l1, pl_buf, sizeof(pl_buf), &got),
			 HT_E_INVAL);
	assert_int_equal(ht_noise_decrypt(&ir, NULL, 0, m1, l1, pl_buf, sizeof(pl_buf), &got),
			 HT_E_DECRYPT);
	/* Shorter than a tag. */
	assert_int_equal(ht_noise_decrypt(&rs, NULL, 0, m1, 15, pl_buf, sizeof(pl_buf), &got),
			 HT_E_MALFORMED);
	assert_int_equal(rs.n, UINT64_MAX);
}

/* n = 2^64 - 1 is reserved: never used to encrypt or decrypt. */
static void test_nonce_exhaustion(void **state)
{
	(void)state;
	xx x;
	ht_noise_cipher is, ir, rs, rr;
	uint8_t m[64];
	size_t len, got;
	xx_run(&x, &is, &ir, &rs, &rr);
	is.n = UINT64_MAX;
	assert_int_equal(
		ht_noise_encrypt(&is, NULL, 0, (const uint8_t *)"x", 1, m, sizeof(m), &len),
		HT_E_INVAL);
	assert_true(is.n == UINT64_MAX);

	/* The last usable nonce works on both sides, then both refuse. */
	is.n = UINT64_MAX - 1;
	rr.n = UINT64_MAX - 1;
	assert_int_equal(
		ht_noise_encrypt(&is, NULL, 0, (const uint8_t *)"x", 1, m, sizeof(m), &len), HT_OK);
	assert_true(is.n == UINT64_MAX);
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, m, len, pl_buf, sizeof(pl_buf), &got),
			 HT_OK);
	assert_true(rr.n == UINT64_MAX);
	assert_int_equal(
		ht_noise_encrypt(&is, NULL, 0, (const uint8_t *)"x", 1, m, sizeof(m), &len),
		HT_E_INVAL);
	assert_int_equal(ht_noise_decrypt(&rr, NULL, 0, m, len, pl_buf, sizeof(pl_buf), &got),
			 HT_E_INVAL);
}

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_protocol_names),
		cmocka_unit_test(test_init_key_rules),
		cmocka_unit_test(test_random_ephemeral_xx),
		cmocka_unit_test(test_set_ephemeral_rules),
		cmocka_unit_test(test_split_rules),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_xx_bit_flips),
		cmocka_unit_test(test_xx_truncated),
		cmocka_unit_test(test_out_of_turn),
		cmocka_unit_test(test_small_order_ephemeral),
		cmocka_unit_test(test_small_order_static),
		cmocka_unit_test(test_mismatched_context),
		cmocka_unit_test(test_failed_read_stays_failed),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_transport_replay_and_failure),
		cmocka_unit_test(test_nonce_exhaustion),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
