/* Revocation lists: issuing, parsing, lookup and signatures. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/cert.h"
#include "hoptrace/crl.h"

static ht_keys anchor, other_anchor, prov;

static int setup_keys(void **state)
{
	(void)state;
	tu_anchor_keys(&anchor, 0xc1);
	tu_anchor_keys(&other_anchor, 0xc2);
	tu_provider_keys(&prov, 0x61);
	return 0;
}

/* A hand-built list signed by the anchor, for what ht_crl_issue never makes. */
static int parse_list(uint64_t number, const uint64_t *serials, size_t n, const uint32_t *critical,
		      size_t n_critical, ht_crl **out)
{
	Hoptrace__V1__RevocationList l = HOPTRACE__V1__REVOCATION_LIST__INIT;
	l.issuer.data = anchor.sign_pk;
	l.issuer.len = HT_SIGN_PK_LEN;
	l.number = number;
	l.issued_at = 1770000000;
	l.serials = (uint64_t *)serials;
	l.n_serials = n;
	l.critical = (uint32_t *)critical;
	l.n_critical = n_critical;
	size_t len;
	uint8_t *buf = tu_sign_msg(HT_KIND_REVOCATION_LIST, &l.base, NULL, 0, &anchor, &len);
	ht_crl *crl = NULL;
	int rc = ht_crl_parse(buf, len, &crl);
	free(buf);
	if (out && rc == HT_OK)
		*out = crl;
	else
		ht_crl_free(crl);
	return rc;
}

/* HT_OK only when `buf` parses and its signature verifies under the anchor. */
static int parse_and_check(const uint8_t *buf, size_t len)
{
	ht_crl *crl = NULL;
	int rc = ht_crl_parse(buf, len, &crl);
	if (rc == HT_OK)
		rc = ht_crl_check_signature(crl, anchor.sign_pk);
	ht_crl_free(crl);
	return rc;
}

static void test_issue_sorts_and_dedups(void **state)
{
	(void)state;
	const uint64_t in[] = {5, 3, 9, 3, 5, 1, UINT64_MAX, 9};
	size_t len;
	uint8_t *buf = NULL;
	assert_int_equal(
		ht_crl_issue(&anchor, 7, 1780000000, in, sizeof(in) / sizeof(in[0]), &buf, &len),
		HT_OK);
	ht_crl *crl = NULL;
	assert_int_equal(ht_crl_parse(buf, len, &crl), HT_OK);
	free(buf);
	const ht_crl_info *i = ht_crl_get_info(crl);
	const uint64_t want[] = {1, 3, 5, 9, UINT64_MAX};
	assert_int_equal(i->n_serials, 5);
	assert_memory_equal(i->serials, want, sizeof(want));
	assert_int_equal(i->number, 7);
	assert_int_equal(i->issued_at, 1780000000);
	assert_memory_equal(i->issuer, anchor.sign_pk, HT_SIGN_PK_LEN);
	ht_crl_free(crl);
}

static void test_issue_refusals(void **state)
{
	(void)state;
	uint8_t *buf = NULL;
	size_t len;
	const uint64_t with_zero[] = {4, 0, 2};
	assert_int_equal(ht_crl_issue(&anchor, 1, 0, with_zero, 3, &buf, &len), HT_E_INVAL);
	const uint64_t one = 1;
	assert_int_equal(ht_crl_issue(&anchor, 0, 0, &one, 1, &buf, &len), HT_E_INVAL);
	ht_keys pub = ht_keys_public(&anchor);
	assert_int_equal(ht_crl_issue(&pub, 1, 0, &one, 1, &buf, &len), HT_E_INVAL);
	assert_int_equal(ht_crl_issue(&prov, 1, 0, &one, 1, &buf, &len), HT_E_INVAL);
}

static void test_empty_list(void **state)
{
	(void)state;
	ht_crl *crl = tu_crl_parsed(&anchor, 1, NULL, 0);
	assert_int_equal(ht_crl_get_info(crl)->n_serials, 0);
	assert_false(ht_crl_contains(crl, 0));
	assert_false(ht_crl_contains(crl, 1));
	assert_false(ht_crl_contains(crl, UINT64_MAX));
	assert_int_equal(ht_crl_check_signature(crl, anchor.sign_pk), HT_OK);
	ht_crl_free(crl);
}

static void test_contains(void **state)
{
	(void)state;
	uint64_t s[200];
	for (size_t i = 0; i < 200; i++)
		s[i] = 2 * (i + 1); /* 2, 4, ..., 400 */
	s[199] = UINT64_MAX - 1;
	ht_crl *crl = tu_crl_parsed(&anchor, 3, s, 200);
	for (size_t i = 0; i < 199; i++) {
		assert_true(ht_crl_contains(crl, 2 * (i + 1)));
		assert_false(ht_crl_contains(crl, 2 * (i + 1) + 1));
	}
	assert_true(ht_crl_contains(crl, UINT64_MAX - 1));
	assert_false(ht_crl_contains(crl, UINT64_MAX));
	assert_false(ht_crl_contains(crl, 0));
	assert_false(ht_crl_contains(crl, 1));
	ht_crl_free(crl);
}

static void test_parse_hand_built(void **state)
{
	(void)state;
	/* The well-formed control. */
	const uint64_t sorted[] = {1, 2, 10};
	ht_crl *crl = NULL;
	assert_int_equal(parse_list(4, sorted, 3, NULL, 0, &crl), HT_OK);
	assert_true(ht_crl_contains(crl, 10));
	assert_int_equal(ht_crl_get_info(crl)->number, 4);
	ht_crl_free(crl);

	const uint64_t unsorted[] = {1, 10, 2};
	assert_int_equal(parse_list(4, unsorted, 3, NULL, 0, NULL), HT_E_MALFORMED);
	const uint64_t descending[] = {3, 2};
	assert_int_equal(parse_list(4, descending, 2, NULL, 0, NULL), HT_E_MALFORMED);
	const uint64_t dup[] = {1, 2, 2, 3};
	assert_int_equal(parse_list(4, dup, 4, NULL, 0, NULL), HT_E_MALFORMED);
	const uint64_t zero_first[] = {0, 1};
	assert_int_equal(parse_list(4, zero_first, 2, NULL, 0, NULL), HT_E_MALFORMED);
	const uint64_t zero_only[] = {0};
	assert_int_equal(parse_list(4, zero_only, 1, NULL, 0, NULL), HT_E_MALFORMED);
	assert_int_equal(parse_list(0, sorted, 3, NULL, 0, NULL), HT_E_MALFORMED);
	assert_int_equal(parse_list(0, NULL, 0, NULL, 0, NULL), HT_E_MALFORMED);
}

static void test_parse_issuer_length(void **state)
{
	(void)state;
	static const size_t lens[] = {0, 31, 33};
	uint8_t key[33] = {0};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		Hoptrace__V1__RevocationList l = HOPTRACE__V1__REVOCATION_LIST__INIT;
		l.issuer.data = key;
		l.issuer.len = lens[i];
		l.number = 1;
		size_t len;
		uint8_t *buf =
			tu_sign_msg(HT_KIND_REVOCATION_LIST, &l.base, NULL, 0, &anchor, &len);
		ht_crl *crl = NULL;
		assert_int_equal(ht_crl_parse(buf, len, &crl), HT_E_MALFORMED);
		free(buf);
	}
}

static void test_critical(void **state)
{
	(void)state;
	const uint64_t s[] = {1};
	const uint32_t known[] = {4, 2};
	assert_int_equal(parse_list(1, s, 1, known, 2, NULL), HT_OK);
	const uint32_t unknown[] = {4, 99};
	assert_int_equal(parse_list(1, s, 1, unknown, 2, NULL), HT_E_UNSUPPORTED_CRITICAL);
}

static void test_signature(void **state)
{
	(void)state;
	const uint64_t s[] = {8, 9};
	ht_crl *crl = tu_crl_parsed(&anchor, 2, s, 2);
	assert_int_equal(ht_crl_check_signature(crl, anchor.sign_pk), HT_OK);
	assert_int_equal(ht_crl_check_signature(crl, other_anchor.sign_pk), HT_E_BAD_SIGNATURE);
	ht_crl_free(crl);

	/* A list naming the anchor as issuer but signed by someone else. */
	Hoptrace__V1__RevocationList l = HOPTRACE__V1__REVOCATION_LIST__INIT;
	l.issuer.data = anchor.sign_pk;
	l.issuer.len = HT_SIGN_PK_LEN;
	l.number = 99;
	size_t len;
	uint8_t *buf = tu_sign_msg(HT_KIND_REVOCATION_LIST, &l.base, NULL, 0, &other_anchor, &len);
	assert_int_equal(ht_crl_parse(buf, len, &crl), HT_OK);
	assert_int_equal(ht_crl_check_signature(crl, anchor.sign_pk), HT_E_BAD_SIGNATURE);
	ht_crl_free(crl);
	free(buf);
}

static void test_wrong_kind(void **state)
{
	(void)state;
	ht_cert_info in;
	tu_cert_info(&in, &prov, "p1", 1, 0);
	size_t len;
	uint8_t *cert = tu_issue(&in, &anchor, &len);
	ht_crl *crl = NULL;
	assert_int_equal(ht_crl_parse(cert, len, &crl), HT_E_WRONG_KIND);
	free(cert);
}

static uint8_t *issued(size_t *len)
{
	const uint64_t s[] = {3, 1000, 123456789};
	return tu_crl_issue(&anchor, 12, s, 3, len);
}

static void test_bit_flips(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = issued(&len);
	assert_int_equal(parse_and_check(buf, len), HT_OK);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			if (parse_and_check(buf, len) == HT_OK)
				fail_msg("flip of bit %d at byte %zu of %zu accepted", bit, i, len);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	free(buf);
}

static void test_truncations(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = issued(&len);
	for (size_t n = 0; n < len; n++) {
		uint8_t *p = tu_dup(buf, n);
		if (parse_and_check(p, n) == HT_OK)
			fail_msg("prefix of %zu of %zu bytes accepted", n, len);
		free(p);
	}
	free(buf);
}

static void test_size_bound(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = issued(&len);
	uint8_t *p = tu_pad_to(buf, len, HT_CRL_MAX);
	assert_int_equal(parse_and_check(p, HT_CRL_MAX), HT_OK);
	free(p);
	p = tu_pad_to(buf, len, HT_CRL_MAX + 1);
	ht_crl *crl = NULL;
	assert_int_equal(ht_crl_parse(p, HT_CRL_MAX + 1, &crl), HT_E_TOO_LARGE);
	free(p);
	free(buf);
}

/* A realistic long list: thousands of serials, given in reverse. */
static void test_long_list(void **state)
{
	(void)state;
	enum { N = 5000 };
	uint64_t *s = malloc(N * sizeof(*s));
	assert_non_null(s);
	for (size_t i = 0; i < N; i++)
		s[i] = (uint64_t)(N - i) * 1000003ULL;
	ht_crl *crl = tu_crl_parsed(&anchor, 1, s, N);
	const ht_crl_info *info = ht_crl_get_info(crl);
	assert_int_equal(info->n_serials, N);
	for (size_t i = 1; i < N; i++)
		assert_true(info->serials[i - 1] < info->serials[i]);
	for (size_t i = 0; i < N; i++)
		assert_true(ht_crl_contains(crl, s[i]));
	assert_false(ht_crl_contains(crl, 1000004ULL));
	ht_crl_free(crl);
	free(s);
}

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_sorts_and_dedups),
		cmocka_unit_test(test_issue_refusals),
		cmocka_unit_test(test_empty_list),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_parse_hand_built),
		cmocka_unit_test(test_parse_issuer_length),
		cmocka_unit_test(test_critical),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_wrong_kind),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_long_list),
	};
	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
