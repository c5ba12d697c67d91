/*
 * Checks the committed vectors in spec/vectors/ against the library, the way
 * another implementation would use them: derive keys from the seeds, verify
 * signatures over the given signing inputs, recompute message identities,
 * and reject every rejection vector with its expected error. (The
 * vectors_regenerate test separately requires the generator to reproduce
 * the files byte for byte.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/envelope.h"
#include "hoptrace/keys.h"
#include "hoptrace/trust.h"

static json_t *load(const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/spec/vectors/%s", HT_SOURCE_DIR, name);
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);
	if (!j)
		fail_msg("%s: %s (line %d)", path, err.text, err.line);
	return j;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* Decodes the hex string at `key` into a malloc'd buffer. */
static uint8_t *unhex(json_t *o, const char *key, size_t *len)
{
	const char *h = str(o, key);
	size_t n = strlen(h) / 2;
	uint8_t *b = malloc(n ? n : 1);
	assert_non_null(b);
	size_t got;
	assert_int_equal(sodium_hex2bin(b, n, h, strlen(h), NULL, &got, NULL), 0);
	assert_int_equal(got, n);
	*len = n;
	return b;
}

static void unhex32(json_t *o, const char *key, uint8_t out[32])
{
	size_t n;
	uint8_t *b = unhex(o, key, &n);
	assert_int_equal(n, 32);
	memcpy(out, b, 32);
	free(b);
}

static void test_keys(void **state)
{
	(void)state;
	json_t *j = load("keys.json");
	const char *who[] = {"anchor", "provider"};
	for (int i = 0; i < 2; i++) {
		json_t *o = json_object_get(j, who[i]);
		uint8_t seed[32], pk[32], nsk[32], npk[32];
		unhex32(o, "sign_seed_hex", seed);
		unhex32(o, "sign_key_hex", pk);
		ht_keys k, parsed;
		bool prov = i == 1;
		if (prov) {
			unhex32(o, "noise_secret_hex", nsk);
			unhex32(o, "noise_key_hex", npk);
		}
		assert_int_equal(ht_keys_from_seeds(&k, prov ? HT_KEYS_PROVIDER : HT_KEYS_ANCHOR,
						    seed, prov ? nsk : NULL),
				 HT_OK);
		assert_memory_equal(k.sign_pk, pk, 32);
		if (prov)
			assert_memory_equal(k.noise_pk, npk, 32);

		/* The key files parse back to the same keys. */
		const char *sec = str(o, "secret_file"), *pub = str(o, "public_file");
		assert_int_equal(ht_keys_parse(sec, strlen(sec), &parsed), HT_OK);
		assert_true(parsed.has_secret);
		assert_memory_equal(parsed.sign_sk, k.sign_sk, HT_SIGN_SK_LEN);
		assert_int_equal(ht_keys_parse(pub, strlen(pub), &parsed), HT_OK);
		assert_false(parsed.has_secret);
		assert_memory_equal(parsed.sign_pk, pk, 32);
		if (prov)
			assert_memory_equal(parsed.noise_pk, npk, 32);
	}
	json_decref(j);
}

/* Checks signing input, signature and identity of one envelope vector. */
static void check_signed(json_t *v, const uint8_t signer[32], ht_kind kind)
{
	size_t env_len, body_len, si_len, sig_len, id_len;
	uint8_t *env = unhex(v, "envelope_hex", &env_len);
	uint8_t *body = unhex(v, "body_hex", &body_len);
	uint8_t *si = unhex(v, "signing_input_hex", &si_len);
	uint8_t *sig = unhex(v, "signature_hex", &sig_len);
	uint8_t *id = unhex(v, "message_id_hex", &id_len);

	/* Signing input = domain || 0x00 || body, from the spec's rule alone. */
	const char *domain = str(v, "domain");
	size_t dl = strlen(domain);
	assert_int_equal(si_len, dl + 1 + body_len);
	assert_memory_equal(si, domain, dl);
	assert_int_equal(si[dl], 0);
	assert_memory_equal(si + dl + 1, body, body_len);
	assert_string_equal(ht_kind_domain(kind), domain);
	assert_int_equal(sig_len, HT_SIG_LEN);
	assert_int_equal(crypto_sign_verify_detached(sig, si, si_len, signer), 0);
	uint8_t h[32];
	crypto_generichash(h, sizeof(h), si, si_len, NULL, 0);
	assert_int_equal(id_len, 32);
	assert_memory_equal(h, id, 32);

	/* And the library agrees on the envelope. */
	ht_envelope *e;
	assert_int_equal(ht_envelope_parse(env, env_len, &e), HT_OK);
	assert_int_equal(ht_envelope_kind(e), kind);
	size_t bl;
	const uint8_t *b = ht_envelope_body(e, &bl);
	assert_int_equal(bl, body_len);
	assert_memory_equal(b, body, body_len);
	assert_int_equal(ht_envelope_verify(e, kind, signer), HT_OK);
	uint8_t lid[32];
	assert_int_equal(ht_envelope_id(e, lid), HT_OK);
	assert_memory_equal(lid, id, 32);
	ht_envelope_free(e);
	free(env);
	free(body);
	free(si);
	free(sig);
	free(id);
}

static void anchor_key(uint8_t pk[32])
{
	json_t *k = load("keys.json");
	unhex32(json_object_get(k, "anchor"), "sign_key_hex", pk);
	json_decref(k);
}

static void test_certificate(void **state)
{
	(void)state;
	uint8_t apk[32];
	anchor_key(apk);
	json_t *v = load("certificate.json");
	check_signed(v, apk, HT_KIND_CERTIFICATE);

	size_t len;
	uint8_t *env = unhex(v, "envelope_hex", &len);
	ht_cert *c;
	assert_int_equal(ht_cert_parse(env, len, &c), HT_OK);
	json_t *f = json_object_get(v, "fields");
	const ht_cert_info *i = ht_cert_get_info(c);
	assert_string_equal(i->provider_id, str(f, "provider_id"));
	assert_int_equal(i->serial, json_integer_value(json_object_get(f, "serial")));
	assert_int_equal(i->not_before, json_integer_value(json_object_get(f, "not_before")));
	assert_int_equal(i->not_after, json_integer_value(json_object_get(f, "not_after")));
	assert_int_equal(i->roles, HT_ROLE_INITIATOR);
	uint8_t k[32];
	unhex32(f, "sign_key_hex", k);
	assert_memory_equal(i->sign_key, k, 32);
	unhex32(f, "noise_key_hex", k);
	assert_memory_equal(i->noise_key, k, 32);
	assert_memory_equal(i->issuer, apk, 32);
	ht_cert_free(c);
	free(env);
	json_decref(v);
}

static void test_revocation_list(void **state)
{
	(void)state;
	uint8_t apk[32];
	anchor_key(apk);
	json_t *v = load("revocation-list.json");
	check_signed(v, apk, HT_KIND_REVOCATION_LIST);
	size_t len;
	uint8_t *env = unhex(v, "envelope_hex", &len);
	ht_crl *crl;
	assert_int_equal(ht_crl_parse(env, len, &crl), HT_OK);
	const ht_crl_info *i = ht_crl_get_info(crl);
	json_t *serials = json_object_get(json_object_get(v, "fields"), "serials");
	assert_int_equal(i->n_serials, json_array_size(serials));
	for (size_t k = 0; k < i->n_serials; k++)
		assert_int_equal(i->serials[k], json_integer_value(json_array_get(serials, k)));
	assert_int_equal(i->number, 1);
	ht_crl_free(crl);
	free(env);
	json_decref(v);
}

static void test_trace_request(void **state)
{
	(void)state;
	json_t *v = load("trace-request.json");
	uint8_t pk[32];
	unhex32(v, "signer_sign_key_hex", pk);
	check_signed(v, pk, HT_KIND_TRACE_REQUEST);

	/* The signer is the certified provider. */
	json_t *c = load("certificate.json");
	uint8_t ck[32];
	unhex32(json_object_get(c, "fields"), "sign_key_hex", ck);
	assert_memory_equal(ck, pk, 32);
	json_decref(c);
	json_decref(v);
}

static void test_rejections(void **state)
{
	(void)state;
	json_t *v = load("rejections.json");
	json_t *lj = load("revocation-list.json");
	uint8_t apk[32];
	unhex32(v, "anchor_sign_key_hex", apk);
	size_t crl_len;
	uint8_t *crl_bytes = unhex(lj, "envelope_hex", &crl_len);

	json_t *list = json_object_get(v, "vectors");
	assert_true(json_array_size(list) >= 10);
	size_t idx;
	json_t *r;
	json_array_foreach(list, idx, r)
	{
		ht_trust *t;
		assert_int_equal(ht_trust_new(&t), HT_OK);
		assert_int_equal(ht_trust_add_anchor(t, apk), HT_OK);
		if (json_is_true(json_object_get(r, "with_revocation_list"))) {
			ht_crl *crl;
			assert_int_equal(ht_crl_parse(crl_bytes, crl_len, &crl), HT_OK);
			assert_int_equal(ht_trust_add_crl(t, crl), HT_OK);
		}
		uint32_t roles = 0;
		size_t ri;
		json_t *role;
		json_array_foreach(json_object_get(r, "required_roles"), ri, role) roles |=
			ht_role_parse(json_string_value(role));

		size_t len;
		uint8_t *b = unhex(r, "certificate_hex", &len);
		ht_cert *c = NULL;
		int rc = ht_cert_parse(b, len, &c);
		if (rc == HT_OK)
			rc = ht_trust_verify_cert(
				t, c,
				(uint64_t)json_integer_value(json_object_get(r, "check_time")),
				roles);
		const char *want = str(r, "expected_error");
		if (strcmp(ht_errname(rc), want) != 0)
			fail_msg("rejection vector %s: got %s, want %s", str(r, "name"),
				 ht_errname(rc), want);
		ht_cert_free(c);
		ht_trust_free(t);
		free(b);
	}
	free(crl_bytes);
	json_decref(lj);
	json_decref(v);
}

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_certificate),
		cmocka_unit_test(test_revocation_list),
		cmocka_unit_test(test_trace_request),
		cmocka_unit_test(test_rejections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
