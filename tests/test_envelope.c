/* Signed envelopes: signing, parsing, verification and message identity. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hoptrace/envelope.h"
#include "hoptrace/v1/envelope.pb-c.h"

static const ht_kind all_kinds[] = {HT_KIND_CERTIFICATE, HT_KIND_REVOCATION_LIST,
				    HT_KIND_TRACE_REQUEST, HT_KIND_HOP_ANSWER};
#define N_KINDS (sizeof(all_kinds) / sizeof(all_kinds[0]))

/* An arbitrary body: zero bytes and high bytes included on purpose. */
static const uint8_t body[] = "a body\0with a zero byte and \xff\xfe high bytes";

static ht_keys signer, other;

static int setup_keys(void **state)
{
	(void)state;
	tu_anchor_keys(&signer, 0x11);
	tu_anchor_keys(&other, 0x22);
	return 0;
}

static uint8_t *sign(ht_kind kind, const uint8_t *b, size_t blen, size_t *len)
{
	uint8_t *out = NULL;
	assert_int_equal(ht_envelope_sign(kind, b, blen, signer.sign_sk, &out, len), HT_OK);
	return out;
}

/* An envelope made field by field, to build what ht_envelope_sign never would. */
static uint8_t *pack_envelope(uint32_t kind, const uint8_t *b, size_t blen, const uint8_t *sig,
			      size_t sig_len, size_t *len)
{
	Hoptrace__V1__SignedEnvelope e = HOPTRACE__V1__SIGNED_ENVELOPE__INIT;
	e.kind = (Hoptrace__V1__MessageKind)kind;
	e.body.data = (uint8_t *)b;
	e.body.len = blen;
	e.signature.data = (uint8_t *)sig;
	e.signature.len = sig_len;
	*len = hoptrace__v1__signed_envelope__get_packed_size(&e);
	uint8_t *out = malloc(*len + 1);
	assert_non_null(out);
	assert_int_equal(hoptrace__v1__signed_envelope__pack(&e, out), *len);
	return out;
}

/* HT_OK only when `buf` parses and verifies as `kind` under the signer's key. */
static int parse_and_verify(const uint8_t *buf, size_t len, ht_kind kind)
{
	ht_envelope *e = NULL;
	int rc = ht_envelope_parse(buf, len, &e);
	if (rc != HT_OK)
		return rc;
	rc = ht_envelope_verify(e, kind, signer.sign_pk);
	ht_envelope_free(e);
	return rc;
}

static void test_roundtrip(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_KINDS; k++) {
		size_t len;
		uint8_t *buf = sign(all_kinds[k], body, sizeof(body), &len);
		ht_envelope *e = NULL;
		assert_int_equal(ht_envelope_parse(buf, len, &e), HT_OK);
		assert_int_equal(ht_envelope_kind(e), all_kinds[k]);
		size_t blen;
		const uint8_t *b = ht_envelope_body(e, &blen);
		assert_int_equal(blen, sizeof(body));
		assert_memory_equal(b, body, sizeof(body));
		assert_int_equal(ht_envelope_verify(e, all_kinds[k], signer.sign_pk), HT_OK);

		/* The signature is Ed25519 over domain || 0x00 || body, checked here
		 * without the library's help. */
		const char *d = ht_kind_domain(all_kinds[k]);
		size_t dl = strlen(d);
		uint8_t *in = malloc(dl + 1 + sizeof(body));
		assert_non_null(in);
		memcpy(in, d, dl);
		in[dl] = 0;
		memcpy(in + dl + 1, body, sizeof(body));
		assert_int_equal(crypto_sign_verify_detached(ht_envelope_signature(e), in,
							     dl + 1 + sizeof(body), signer.sign_pk),
				 0);
		free(in);
		ht_envelope_free(e);
		free(buf);
	}
}

static void test_empty_body(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = sign(HT_KIND_HOP_ANSWER, NULL, 0, &len);
	ht_envelope *e = NULL;
	assert_int_equal(ht_envelope_parse(buf, len, &e), HT_OK);
	size_t blen = 99;
	(void)ht_envelope_body(e, &blen);
	assert_int_equal(blen, 0);
	assert_int_equal(ht_envelope_verify(e, HT_KIND_HOP_ANSWER, signer.sign_pk), HT_OK);
	assert_int_equal(ht_envelope_verify(e, HT_KIND_HOP_ANSWER, other.sign_pk),
			 HT_E_BAD_SIGNATURE);
	ht_envelope_free(e);
	free(buf);
}

static void test_wrong_key(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = sign(HT_KIND_TRACE_REQUEST, body, sizeof(body), &len);
	ht_envelope *e = NULL;
	assert_int_equal(ht_envelope_parse(buf, len, &e), HT_OK);
	assert_int_equal(ht_envelope_verify(e, HT_KIND_TRACE_REQUEST, other.sign_pk),
			 HT_E_BAD_SIGNATURE);
	ht_envelope_free(e);
	free(buf);
}

static void test_wrong_expected_kind(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = sign(HT_KIND_CERTIFICATE, body, sizeof(body), &len);
	ht_envelope *e = NULL;
	assert_int_equal(ht_envelope_parse(buf, len, &e), HT_OK);
	for (size_t k = 1; k < N_KINDS; k++)
		assert_int_equal(ht_envelope_verify(e, all_kinds[k], signer.sign_pk),
				 HT_E_WRONG_KIND);
	ht_envelope_free(e);
	free(buf);
}

/*
 * Domain separation: a signature made for kind A, moved into an envelope
 * that says kind B, must not verify as B.
 */
static void test_kind_rewrite(void **state)
{
	(void)state;
	for (size_t a = 0; a < N_KINDS; a++) {
		size_t len;
		uint8_t *buf = sign(all_kinds[a], body, sizeof(body), &len);
		ht_envelope *e = NULL;
		assert_int_equal(ht_envelope_parse(buf, len, &e), HT_OK);
		uint8_t sig[HT_SIG_LEN];
		memcpy(sig, ht_envelope_signature(e), HT_SIG_LEN);
		ht_envelope_free(e);
		free(buf);
		for (size_t b = 0; b < N_KINDS; b++) {
			if (a == b)
				continue;
			size_t rlen;
			uint8_t *r = pack_envelope(all_kinds[b], body, sizeof(body), sig,
						   HT_SIG_LEN, &rlen);
			ht_envelope *re = NULL;
			assert_int_equal(ht_envelope_parse(r, rlen, &re), HT_OK);
			assert_int_equal(ht_envelope_kind(re), all_kinds[b]);
			assert_int_equal(ht_envelope_verify(re, all_kinds[b], signer.sign_pk),
					 HT_E_BAD_SIGNATURE);
			assert_int_equal(ht_envelope_verify(re, all_kinds[a], signer.sign_pk),
					 HT_E_WRONG_KIND);
			ht_envelope_free(re);
			free(r);
		}
	}
}

/* Each single-bit flip at every position must be caught. */
static void test_bit_flips(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = sign(HT_KIND_TRACE_REQUEST, body, sizeof(body), &len);
	assert_int_equal(parse_and_verify(buf, len, HT_KIND_TRACE_REQUEST), HT_OK);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			int rc = parse_and_verify(buf, len, HT_KIND_TRACE_REQUEST);
			if (rc == HT_OK)
				fail_msg("flip of bit %d at byte %zu of %zu accepted", bit, i, len);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	free(buf);
}

static void test_byte_inversions(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = sign(HT_KIND_REVOCATION_LIST, body, sizeof(body), &len);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0xff;
		if (parse_and_verify(buf, len, HT_KIND_REVOCATION_LIST) == HT_OK)
			fail_msg("inverted byte %zu of %zu accepted", i, len);
		buf[i] ^= 0xff;
	}
	free(buf);
}

static void test_truncations(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = sign(HT_KIND_CERTIFICATE, body, sizeof(body), &len);
	for (size_t n = 0; n < len; n++) {
		/* A fresh allocation of exactly n bytes, so ASan sees any overread. */
		uint8_t *p = tu_dup(buf, n);
		if (parse_and_verify(p, n, HT_KIND_CERTIFICATE) == HT_OK)
			fail_msg("prefix of %zu of %zu bytes accepted", n, len);
		free(p);
	}
	free(buf);
}

static void test_size_bound(void **state)
{
	(void)state;
	/* The largest body whose envelope is exactly HT_ENVELOPE_MAX bytes:
	 * kind (2) + body tag and 3-byte length (4) + signature field (66). */
	size_t blen = HT_ENVELOPE_MAX - 72;
	uint8_t *b = calloc(1, blen + 1);
	assert_non_null(b);
	size_t len;
	uint8_t *buf = sign(HT_KIND_TRACE_REQUEST, b, blen, &len);
	assert_int_equal(len, HT_ENVELOPE_MAX);
	assert_int_equal(parse_and_verify(buf, len, HT_KIND_TRACE_REQUEST), HT_OK);
	free(buf);

	/* One more byte of body and signing refuses. */
	uint8_t *out = NULL;
	assert_int_equal(
		ht_envelope_sign(HT_KIND_TRACE_REQUEST, b, blen + 1, signer.sign_sk, &out, &len),
		HT_E_TOO_LARGE);
	free(b);

	/* Parsing refuses anything longer, before looking at the bytes. */
	uint8_t *big = calloc(1, HT_ENVELOPE_MAX + 1);
	assert_non_null(big);
	ht_envelope *e = NULL;
	assert_int_equal(ht_envelope_parse(big, HT_ENVELOPE_MAX + 1, &e), HT_E_TOO_LARGE);
	free(big);
}

static void test_signature_length(void **state)
{
	(void)state;
	uint8_t sig[HT_SIG_LEN + 1] = {0};
	static const size_t lens[] = {0, 1, 63, 65};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len;
		uint8_t *buf =
			pack_envelope(HT_KIND_CERTIFICATE, body, sizeof(body), sig, lens[i], &len);
		ht_envelope *e = NULL;
		assert_int_equal(ht_envelope_parse(buf, len, &e), HT_E_MALFORMED);
		free(buf);
	}
	/* 64 bytes parses (and then fails only at verification). */
	size_t len;
	uint8_t *buf =
		pack_envelope(HT_KIND_CERTIFICATE, body, sizeof(body), sig, HT_SIG_LEN, &len);
	assert_int_equal(parse_and_verify(buf, len, HT_KIND_CERTIFICATE), HT_E_BAD_SIGNATURE);
	free(buf);
}

static void test_kind_zero(void **state)
{
	(void)state;
	/* A real signature, so only the kind is wrong. */
	size_t len;
	uint8_t *good = sign(HT_KIND_CERTIFICATE, body, sizeof(body), &len);
	ht_envelope *e = NULL;
	assert_int_equal(ht_envelope_parse(good, len, &e), HT_OK);
	uint8_t sig[HT_SIG_LEN];
	memcpy(sig, ht_envelope_signature(e), HT_SIG_LEN);
	ht_envelope_free(e);
	free(good);

	uint8_t *buf = pack_envelope(0, body, sizeof(body), sig, HT_SIG_LEN, &len);
	assert_int_equal(ht_envelope_parse(buf, len, &e), HT_E_MALFORMED);
	free(buf);
	/* No bytes at all is kind 0 too. */
	assert_int_equal(ht_envelope_parse((const uint8_t *)"", 0, &e), HT_E_MALFORMED);
}

static void test_garbage(void **state)
{
	(void)state;
	static const uint8_t junk[][8] = {
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* endless varint tag */
		{0x08, 0x01, 0x12, 0x7f, 0x00, 0x00, 0x00, 0x00}, /* body runs off the end */
		{0x0b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, /* group wire type */
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		ht_envelope *e = NULL;
		assert_int_equal(ht_envelope_parse(junk[i], sizeof(junk[i]), &e), HT_E_MALFORMED);
	}
}

/* Fields this version does not know are skipped; the signature still holds. */
static void test_unknown_fields_ignored(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = sign(HT_KIND_TRACE_REQUEST, body, sizeof(body), &len);
	static const uint8_t extra[] = {
		0x28, 0x96, 0x01,            /* field 5, varint 150 */
		0x52, 0x03, 'a',  'b',  'c', /* field 10, 3 bytes */
		0x3d, 0x01, 0x02, 0x03, 0x04 /* field 7, fixed32 */
	};
	uint8_t *ext = malloc(len + sizeof(extra));
	assert_non_null(ext);
	memcpy(ext, buf, len);
	memcpy(ext + len, extra, sizeof(extra));
	assert_int_equal(parse_and_verify(ext, len + sizeof(extra), HT_KIND_TRACE_REQUEST), HT_OK);
	/* Also in front of the known fields. */
	memcpy(ext, extra, sizeof(extra));
	memcpy(ext + sizeof(extra), buf, len);
	assert_int_equal(parse_and_verify(ext, len + sizeof(extra), HT_KIND_TRACE_REQUEST), HT_OK);
	free(ext);
	free(buf);
}

/* A kind number from a later version parses but verifies as nothing known. */
static void test_unknown_kind(void **state)
{
	(void)state;
	uint8_t sig[HT_SIG_LEN] = {0};
	size_t len;
	uint8_t *buf = pack_envelope(99, body, sizeof(body), sig, HT_SIG_LEN, &len);
	ht_envelope *e = NULL;
	assert_int_equal(ht_envelope_parse(buf, len, &e), HT_OK);
	assert_int_equal(ht_envelope_kind(e), 99);
	for (size_t k = 0; k < N_KINDS; k++)
		assert_int_equal(ht_envelope_verify(e, all_kinds[k], signer.sign_pk),
				 HT_E_WRONG_KIND);
	uint8_t id[HT_MSG_ID_LEN];
	assert_int_equal(ht_envelope_id(e, id), HT_E_WRONG_KIND);
	ht_envelope_free(e);
	free(buf);

	/* Nor can one sign as a kind without a domain. */
	uint8_t *out = NULL;
	assert_int_not_equal(
		ht_envelope_sign((ht_kind)99, body, sizeof(body), signer.sign_sk, &out, &len),
		HT_OK);
	assert_int_not_equal(
		ht_envelope_sign((ht_kind)0, body, sizeof(body), signer.sign_sk, &out, &len),
		HT_OK);
}

static void envelope_id(ht_kind kind, const ht_keys *k, const uint8_t *b, size_t blen,
			uint8_t id[HT_MSG_ID_LEN])
{
	size_t len;
	uint8_t *buf = NULL;
	assert_int_equal(ht_envelope_sign(kind, b, blen, k->sign_sk, &buf, &len), HT_OK);
	ht_envelope *e = NULL;
	assert_int_equal(ht_envelope_parse(buf, len, &e), HT_OK);
	assert_int_equal(ht_envelope_id(e, id), HT_OK);
	ht_envelope_free(e);
	free(buf);
}

static void test_id(void **state)
{
	(void)state;
	uint8_t id[HT_MSG_ID_LEN], want[HT_MSG_ID_LEN], id2[HT_MSG_ID_LEN];
	envelope_id(HT_KIND_TRACE_REQUEST, &signer, body, sizeof(body), id);

	/* BLAKE2b-256 of domain || 0x00 || body, computed independently. */
	const char *d = ht_kind_domain(HT_KIND_TRACE_REQUEST);
	size_t dl = strlen(d);
	uint8_t in[128];
	assert_true(dl + 1 + sizeof(body) <= sizeof(in));
	memcpy(in, d, dl);
	in[dl] = 0;
	memcpy(in + dl + 1, body, sizeof(body));
	assert_int_equal(crypto_generichash(want, sizeof(want), in, dl + 1 + sizeof(body), NULL, 0),
			 0);
	assert_memory_equal(id, want, HT_MSG_ID_LEN);

	/* Another body, another identity. */
	uint8_t changed[sizeof(body)];
	memcpy(changed, body, sizeof(body));
	changed[0] ^= 1;
	envelope_id(HT_KIND_TRACE_REQUEST, &signer, changed, sizeof(changed), id2);
	assert_memory_not_equal(id, id2, HT_MSG_ID_LEN);
	envelope_id(HT_KIND_TRACE_REQUEST, &signer, body, sizeof(body) - 1, id2);
	assert_memory_not_equal(id, id2, HT_MSG_ID_LEN);

	/* Another kind, another identity, even for the same body. */
	envelope_id(HT_KIND_HOP_ANSWER, &signer, body, sizeof(body), id2);
	assert_memory_not_equal(id, id2, HT_MSG_ID_LEN);

	/* The identity is of the signed content, not of the signature. */
	envelope_id(HT_KIND_TRACE_REQUEST, &other, body, sizeof(body), id2);
	assert_memory_equal(id, id2, HT_MSG_ID_LEN);
}

static void test_domains(void **state)
{
	(void)state;
	for (size_t a = 0; a < N_KINDS; a++) {
		const char *d = ht_kind_domain(all_kinds[a]);
		assert_non_null(d);
		assert_true(strlen(d) > 0);
		/* ASCII, printable: the zero byte after it is the separator. */
		for (const char *p = d; *p; p++)
			assert_true(*p >= 0x20 && *p < 0x7f);
		for (size_t b = a + 1; b < N_KINDS; b++) {
			const char *e = ht_kind_domain(all_kinds[b]);
			assert_non_null(e);
			assert_string_not_equal(d, e);
		}
	}
	assert_null(ht_kind_domain((ht_kind)0));
	assert_null(ht_kind_domain((ht_kind)5));
	assert_null(ht_kind_domain((ht_kind)99));
	assert_null(ht_kind_domain((ht_kind)-1));
}

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_wrong_expected_kind),
		cmocka_unit_test(test_kind_rewrite),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_byte_inversions),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_signature_length),
		cmocka_unit_test(test_kind_zero),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_unknown_fields_ignored),
		cmocka_unit_test(test_unknown_kind),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_domains),
	};
	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
