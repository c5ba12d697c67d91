/* Provider certificates: issuing, parsing and the structural rules. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/trust.h"

static ht_keys anchor, other_anchor, prov;

static int setup_keys(void **state)
{
	(void)state;
	tu_anchor_keys(&anchor, 0xa1);
	tu_anchor_keys(&other_anchor, 0xa2);
	tu_provider_keys(&prov, 0x51);
	return 0;
}

/* Signs a hand-built certificate message with the anchor and parses it. */
static int parse_msg(const Hoptrace__V1__Certificate *c, const uint8_t *extra, size_t extra_len,
		     ht_cert **out)
{
	size_t len;
	uint8_t *buf = tu_sign_msg(HT_KIND_CERTIFICATE, &c->base, extra, extra_len, &anchor, &len);
	ht_cert *cert = NULL;
	int rc = ht_cert_parse(buf, len, &cert);
	free(buf);
	if (out && rc == HT_OK)
		*out = cert;
	else
		ht_cert_free(cert);
	return rc;
}

/* HT_OK only when `buf` parses and verifies against the anchor at TU_MID. */
static int parse_and_verify(const uint8_t *buf, size_t len)
{
	ht_trust *t = NULL;
	assert_int_equal(ht_trust_new(&t), HT_OK);
	assert_int_equal(ht_trust_add_anchor(t, anchor.sign_pk), HT_OK);
	ht_cert *c = NULL;
	int rc = ht_cert_parse(buf, len, &c);
	if (rc == HT_OK)
		rc = ht_trust_verify_cert(t, c, TU_MID, 0);
	ht_cert_free(c);
	ht_trust_free(t);
	return rc;
}

static void test_roundtrip(void **state)
{
	(void)state;
	ht_cert_info in;
	tu_cert_info(&in, &prov, "carrier-1.example", 0x123456789abcULL, HT_ROLE_INITIATOR);
	/* The issuer comes from the anchor, whatever the caller put here. */
	memset(in.issuer, 0x77, sizeof(in.issuer));
	ht_cert *c = tu_issue_parsed(&in, &anchor);
	const ht_cert_info *i = ht_cert_get_info(c);
	assert_string_equal(i->provider_id, "carrier-1.example");
	assert_memory_equal(i->sign_key, prov.sign_pk, HT_SIGN_PK_LEN);
	assert_memory_equal(i->noise_key, prov.noise_pk, HT_NOISE_KEY_LEN);
	assert_memory_equal(i->issuer, anchor.sign_pk, HT_SIGN_PK_LEN);
	assert_int_equal(i->not_before, TU_NOT_BEFORE);
	assert_int_equal(i->not_after, TU_NOT_AFTER);
	assert_int_equal(i->serial, 0x123456789abcULL);
	assert_int_equal(i->roles, HT_ROLE_INITIATOR);
	assert_int_equal(ht_cert_check_signature(c, anchor.sign_pk), HT_OK);
	assert_int_equal(ht_cert_check_signature(c, other_anchor.sign_pk), HT_E_BAD_SIGNATURE);
	ht_cert_free(c);
}

/* Extreme but legal values survive the trip too. */
static void test_roundtrip_extremes(void **state)
{
	(void)state;
	ht_cert_info in;
	tu_cert_info(&in, &prov, "Z", UINT64_MAX, 0);
	in.not_before = 0;
	in.not_after = UINT64_MAX;
	ht_cert *c = tu_issue_parsed(&in, &anchor);
	const ht_cert_info *i = ht_cert_get_info(c);
	assert_int_equal(i->serial, UINT64_MAX);
	assert_int_equal(i->not_before, 0);
	assert_int_equal(i->not_after, UINT64_MAX);
	assert_int_equal(i->roles, 0);
	ht_cert_free(c);
}

static void test_roles(void **state)
{
	(void)state;
	ht_cert_info in;
	tu_cert_info(&in, &prov, "p1", 1, 0);
	ht_cert *c = tu_issue_parsed(&in, &anchor);
	assert_int_equal(ht_cert_get_info(c)->roles, 0);
	ht_cert_free(c);

	/* Role bits this version does not define cannot be issued. */
	uint8_t *out = NULL;
	size_t len;
	in.roles = 0x2;
	assert_int_equal(ht_cert_issue(&in, &anchor, &out, &len), HT_E_INVAL);
	in.roles = HT_ROLE_INITIATOR | 0x80000000u;
	assert_int_equal(ht_cert_issue(&in, &anchor, &out, &len), HT_E_INVAL);
}

/* Role numbers from a later version are tolerated and ignored (cert.proto). */
static void test_unknown_role_values_ignored(void **state)
{
	(void)state;
	ht_cert_info in;
	tu_cert_info(&in, &prov, "p1", 1, 0);
	Hoptrace__V1__Certificate m;
	tu_cert_msg(&m, &in, anchor.sign_pk);
	Hoptrace__V1__Role roles[] = {(Hoptrace__V1__Role)7, HOPTRACE__V1__ROLE__ROLE_INITIATOR,
				      (Hoptrace__V1__Role)0};
	m.roles = roles;
	m.n_roles = 3;
	ht_cert *c = NULL;
	assert_int_equal(parse_msg(&m, NULL, 0, &c), HT_OK);
	assert_int_equal(ht_cert_get_info(c)->roles, HT_ROLE_INITIATOR);
	ht_cert_free(c);

	m.n_roles = 1; /* only the unknown one */
	assert_int_equal(parse_msg(&m, NULL, 0, &c), HT_OK);
	assert_int_equal(ht_cert_get_info(c)->roles, 0);
	ht_cert_free(c);
}

static void test_role_names(void **state)
{
	(void)state;
	assert_int_equal(ht_role_parse("initiator"), HT_ROLE_INITIATOR);
	assert_string_equal(ht_role_name(HT_ROLE_INITIATOR), "initiator");
	assert_int_equal(ht_role_parse(ht_role_name(HT_ROLE_INITIATOR)), HT_ROLE_INITIATOR);
	assert_int_equal(ht_role_parse("Initiator"), 0);
	assert_int_equal(ht_role_parse("initiator "), 0);
	assert_int_equal(ht_role_parse("init"), 0);
	assert_int_equal(ht_role_parse(""), 0);
	assert_null(ht_role_name(0));
	assert_null(ht_role_name(0x2));
	assert_null(ht_role_name(HT_ROLE_INITIATOR | 0x2));
	assert_null(ht_role_name(0x80000000u));
}

static void test_provider_id_valid(void **state)
{
	(void)state;
	assert_true(ht_provider_id_valid("a", 1));
	assert_true(ht_provider_id_valid("Z", 1));
	assert_true(ht_provider_id_valid("9", 1));
	assert_true(ht_provider_id_valid("a.b_c-d", 7));
	assert_true(ht_provider_id_valid("0123456789abcdefghijABCDEFGHIJ.-", 32));
	/* The length is what counts, not a NUL. */
	assert_true(ht_provider_id_valid("abc!", 3));
	assert_false(ht_provider_id_valid("abc!", 4));
	assert_false(ht_provider_id_valid("ab\0cd", 5));
	assert_false(ht_provider_id_valid("", 0));
	assert_false(ht_provider_id_valid("0123456789abcdefghijABCDEFGHIJ.-x", 33));
	assert_false(ht_provider_id_valid("-ab", 3));
	assert_false(ht_provider_id_valid(".ab", 3));
	assert_false(ht_provider_id_valid("_ab", 3));
	assert_false(ht_provider_id_valid("a b", 3));
	assert_false(ht_provider_id_valid("a/b", 3));
	assert_false(ht_provider_id_valid("a:b", 3));
	assert_false(ht_provider_id_valid("caf\xc3\xa9", 5));
	assert_false(ht_provider_id_valid("a\x7f", 2));
}

/* IDs that ht_cert_issue must refuse. (An embedded NUL cannot reach it: the
 * ID is a C string there; the parser test covers that case.) */
static const char *const bad_ids[] = {
	"",
	"0123456789abcdefghijABCDEFGHIJ.-x", /* 33 characters */
	"a b",
	"-ab",
	".ab",
	"_ab",
	"caf\xc3\xa9",
	"tab\there",
	"a/b",
};
#define N_BAD_IDS (sizeof(bad_ids) / sizeof(bad_ids[0]))

static void test_bad_ids_at_issue(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_BAD_IDS; i++) {
		ht_cert_info in;
		tu_cert_info(&in, &prov, "x", 1, 0);
		memset(in.provider_id, 0, sizeof(in.provider_id));
		memcpy(in.provider_id, bad_ids[i],
		       strlen(bad_ids[i]) < 33 ? strlen(bad_ids[i]) : 33);
		uint8_t *out = NULL;
		size_t len;
		int rc = ht_cert_issue(&in, &anchor, &out, &len);
		if (rc != HT_E_BAD_PROVIDER_ID)
			fail_msg("id '%s': got %s", bad_ids[i], ht_errname(rc));
	}
}

/* A 33-character ID filling the whole array, with no terminating NUL. */
static void test_unterminated_id_at_issue(void **state)
{
	(void)state;
	ht_cert_info in;
	tu_cert_info(&in, &prov, "x", 1, 0);
	memset(in.provider_id, 'a', sizeof(in.provider_id));
	uint8_t *out = NULL;
	size_t len;
	assert_int_equal(ht_cert_issue(&in, &anchor, &out, &len), HT_E_BAD_PROVIDER_ID);
}

static void test_bad_ids_at_parse(void **state)
{
	(void)state;
	static const struct {
		const char *id;
		size_t len;
	} bad[] = {
		{"", 0},       {"0123456789abcdefghijABCDEFGHIJ.-x", 33},
		{"a b", 3},    {"-ab", 3},
		{".ab", 3},    {"caf\xc3\xa9", 5},
		{"ab\xe9", 3}, {"ab\0cd", 5},
		{"abc\0", 4},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ht_cert_info in;
		tu_cert_info(&in, &prov, "x", 1, 0);
		Hoptrace__V1__Certificate m;
		tu_cert_msg(&m, &in, anchor.sign_pk);
		m.provider_id.data = (uint8_t *)bad[i].id;
		m.provider_id.len = bad[i].len;
		int rc = parse_msg(&m, NULL, 0, NULL);
		if (rc != HT_E_BAD_PROVIDER_ID)
			fail_msg("id #%zu: got %s", i, ht_errname(rc));
	}
}

static void test_edge_ids_accepted(void **state)
{
	(void)state;
	static const char *const good[] = {"a", "7", "0123456789abcdefghijABCDEFGHIJ.-", "a.b_c-d",
					   "A-"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ht_cert_info in;
		tu_cert_info(&in, &prov, good[i], 1, 0);
		ht_cert *c = tu_issue_parsed(&in, &anchor);
		assert_string_equal(ht_cert_get_info(c)->provider_id, good[i]);
		ht_cert_free(c);
	}
}

static void test_issue_structure(void **state)
{
	(void)state;
	ht_cert_info in;
	uint8_t *out = NULL;
	size_t len;
	tu_cert_info(&in, &prov, "p1", 0, 0);
	assert_int_equal(ht_cert_issue(&in, &anchor, &out, &len), HT_E_INVAL);
	tu_cert_info(&in, &prov, "p1", 1, 0);
	in.not_after = in.not_before;
	assert_int_equal(ht_cert_issue(&in, &anchor, &out, &len), HT_E_INVAL);
	in.not_after = in.not_before - 1;
	assert_int_equal(ht_cert_issue(&in, &anchor, &out, &len), HT_E_INVAL);

	/* Only an anchor holding its secret can issue. */
	tu_cert_info(&in, &prov, "p1", 1, 0);
	ht_keys pub = ht_keys_public(&anchor);
	assert_int_equal(ht_cert_issue(&in, &pub, &out, &len), HT_E_INVAL);
	assert_int_equal(ht_cert_issue(&in, &prov, &out, &len), HT_E_INVAL);
}

static void test_parse_structure(void **state)
{
	(void)state;
	ht_cert_info in;
	Hoptrace__V1__Certificate m;
	uint8_t key33[33] = {0};

	tu_cert_info(&in, &prov, "p1", 0, 0);
	tu_cert_msg(&m, &in, anchor.sign_pk);
	assert_int_equal(parse_msg(&m, NULL, 0, NULL), HT_E_MALFORMED);

	tu_cert_info(&in, &prov, "p1", 1, 0);
	in.not_after = in.not_before;
	tu_cert_msg(&m, &in, anchor.sign_pk);
	assert_int_equal(parse_msg(&m, NULL, 0, NULL), HT_E_MALFORMED);
	in.not_after = in.not_before - 1;
	tu_cert_msg(&m, &in, anchor.sign_pk);
	assert_int_equal(parse_msg(&m, NULL, 0, NULL), HT_E_MALFORMED);

	static const size_t bad_lens[] = {0, 31, 33};
	tu_cert_info(&in, &prov, "p1", 1, 0);
	for (size_t i = 0; i < sizeof(bad_lens) / sizeof(bad_lens[0]); i++) {
		ProtobufCBinaryData k = {bad_lens[i], key33};
		tu_cert_msg(&m, &in, anchor.sign_pk);
		m.sign_key = k;
		assert_int_equal(parse_msg(&m, NULL, 0, NULL), HT_E_MALFORMED);
		tu_cert_msg(&m, &in, anchor.sign_pk);
		m.noise_key = k;
		assert_int_equal(parse_msg(&m, NULL, 0, NULL), HT_E_MALFORMED);
		tu_cert_msg(&m, &in, anchor.sign_pk);
		m.issuer = k;
		assert_int_equal(parse_msg(&m, NULL, 0, NULL), HT_E_MALFORMED);
	}

	/* The unbroken message parses: the failures above are the fields. */
	tu_cert_msg(&m, &in, anchor.sign_pk);
	assert_int_equal(parse_msg(&m, NULL, 0, NULL), HT_OK);
}

/*
 * Keys a certificate must not bind: Ed25519 keys of small order or not
 * canonically encoded, X25519 keys of small order (a zero shared secret).
 */
static const uint8_t weak_sign[][32] = {
	{0}, /* y = 0: a point of order 4 */
	{1}, /* the identity */
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, /* y = p - 1, order 2 */
	{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, /* y >= p: not canonical */
};
static const uint8_t weak_noise[][32] = {
	{0}, /* u = 0 */
	{1}, /* u = 1, order 4 */
};

static void test_weak_keys_at_issue(void **state)
{
	(void)state;
	uint8_t *out = NULL;
	size_t len;
	ht_cert_info in;
	for (size_t i = 0; i < sizeof(weak_sign) / sizeof(weak_sign[0]); i++) {
		tu_cert_info(&in, &prov, "p1", 1, 0);
		memcpy(in.sign_key, weak_sign[i], 32);
		int rc = ht_cert_issue(&in, &anchor, &out, &len);
		if (rc != HT_E_WEAK_KEY)
			fail_msg("weak sign key #%zu: got %s", i, ht_errname(rc));
	}
	for (size_t i = 0; i < sizeof(weak_noise) / sizeof(weak_noise[0]); i++) {
		tu_cert_info(&in, &prov, "p1", 1, 0);
		memcpy(in.noise_key, weak_noise[i], 32);
		int rc = ht_cert_issue(&in, &anchor, &out, &len);
		if (rc != HT_E_WEAK_KEY)
			fail_msg("weak noise key #%zu: got %s", i, ht_errname(rc));
	}
}

static void test_weak_keys_at_parse(void **state)
{
	(void)state;
	ht_cert_info in;
	Hoptrace__V1__Certificate m;
	for (size_t i = 0; i < sizeof(weak_sign) / sizeof(weak_sign[0]); i++) {
		tu_cert_info(&in, &prov, "p1", 1, 0);
		memcpy(in.sign_key, weak_sign[i], 32);
		tu_cert_msg(&m, &in, anchor.sign_pk);
		int rc = parse_msg(&m, NULL, 0, NULL);
		if (rc != HT_E_WEAK_KEY)
			fail_msg("weak sign key #%zu: got %s", i, ht_errname(rc));
	}
	for (size_t i = 0; i < sizeof(weak_noise) / sizeof(weak_noise[0]); i++) {
		tu_cert_info(&in, &prov, "p1", 1, 0);
		memcpy(in.noise_key, weak_noise[i], 32);
		tu_cert_msg(&m, &in, anchor.sign_pk);
		int rc = parse_msg(&m, NULL, 0, NULL);
		if (rc != HT_E_WEAK_KEY)
			fail_msg("weak noise key #%zu: got %s", i, ht_errname(rc));
	}
}

static void test_critical(void **state)
{
	(void)state;
	ht_cert_info in;
	Hoptrace__V1__Certificate m;
	tu_cert_info(&in, &prov, "p1", 1, HT_ROLE_INITIATOR);

	uint32_t known[] = {1, 2, 7};
	tu_cert_msg(&m, &in, anchor.sign_pk);
	m.critical = known;
	m.n_critical = 3;
	ht_cert *c = NULL;
	assert_int_equal(parse_msg(&m, NULL, 0, &c), HT_OK);
	assert_int_equal(ht_cert_get_info(c)->serial, 1);
	ht_cert_free(c);

	uint32_t unknown[] = {99};
	m.critical = unknown;
	m.n_critical = 1;
	assert_int_equal(parse_msg(&m, NULL, 0, NULL), HT_E_UNSUPPORTED_CRITICAL);

	/* One unknown among known ones is enough. */
	uint32_t mixed[] = {1, 6, 12};
	m.critical = mixed;
	m.n_critical = 3;
	assert_int_equal(parse_msg(&m, NULL, 0, NULL), HT_E_UNSUPPORTED_CRITICAL);
}

/* An extension nobody marked critical is skipped, and the signature holds. */
static void test_unknown_fields_ignored(void **state)
{
	(void)state;
	ht_cert_info in;
	Hoptrace__V1__Certificate m;
	tu_cert_info(&in, &prov, "p1", 42, HT_ROLE_INITIATOR);
	tu_cert_msg(&m, &in, anchor.sign_pk);
	static const uint8_t ext[] = {
		0xa0, 0x01, 0x05,                /* field 20, varint 5 */
		0xaa, 0x01, 0x03, 'n', 'e', 'w', /* field 21, 3 bytes */
		0x48, 0x01,                      /* field 9, varint 1 */
	};
	size_t len;
	uint8_t *buf = tu_sign_msg(HT_KIND_CERTIFICATE, &m.base, ext, sizeof(ext), &anchor, &len);
	ht_cert *c = NULL;
	assert_int_equal(ht_cert_parse(buf, len, &c), HT_OK);
	const ht_cert_info *i = ht_cert_get_info(c);
	assert_string_equal(i->provider_id, "p1");
	assert_int_equal(i->serial, 42);
	assert_int_equal(i->roles, HT_ROLE_INITIATOR);
	assert_int_equal(ht_cert_check_signature(c, anchor.sign_pk), HT_OK);
	ht_cert_free(c);
	assert_int_equal(parse_and_verify(buf, len), HT_OK);
	free(buf);
}

static void test_wrong_kind(void **state)
{
	(void)state;
	ht_cert *c = NULL;
	size_t len;
	uint64_t serial = 5;
	uint8_t *crl = tu_crl_issue(&anchor, 1, &serial, 1, &len);
	assert_int_equal(ht_cert_parse(crl, len, &c), HT_E_WRONG_KIND);
	free(crl);

	/* A good certificate body signed as another kind is not a certificate. */
	ht_cert_info in;
	Hoptrace__V1__Certificate m;
	tu_cert_info(&in, &prov, "p1", 1, 0);
	tu_cert_msg(&m, &in, anchor.sign_pk);
	uint8_t *buf = tu_sign_msg(HT_KIND_TRACE_REQUEST, &m.base, NULL, 0, &anchor, &len);
	assert_int_equal(ht_cert_parse(buf, len, &c), HT_E_WRONG_KIND);
	free(buf);
}

static void test_body_not_a_certificate(void **state)
{
	(void)state;
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	uint8_t *buf = NULL;
	size_t len;
	assert_int_equal(ht_envelope_sign(HT_KIND_CERTIFICATE, junk, sizeof(junk), anchor.sign_sk,
					  &buf, &len),
			 HT_OK);
	ht_cert *c = NULL;
	assert_int_equal(ht_cert_parse(buf, len, &c), HT_E_MALFORMED);
	free(buf);
}

static uint8_t *issued(size_t *len)
{
	ht_cert_info in;
	tu_cert_info(&in, &prov, "carrier-1", 1000, HT_ROLE_INITIATOR);
	return tu_issue(&in, &anchor, len);
}

static void test_bit_flips(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = issued(&len);
	assert_int_equal(parse_and_verify(buf, len), HT_OK);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			if (parse_and_verify(buf, len) == HT_OK)
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
	uint8_t *buf = issued(&len);
	for (size_t i = 0; i < len; i++) {
		buf[i] ^= 0xff;
		if (parse_and_verify(buf, len) == HT_OK)
			fail_msg("inverted byte %zu of %zu accepted", i, len);
		buf[i] ^= 0xff;
	}
	free(buf);
}

static void test_truncations(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = issued(&len);
	for (size_t n = 0; n < len; n++) {
		uint8_t *p = tu_dup(buf, n); /* exact size, for ASan */
		if (parse_and_verify(p, n) == HT_OK)
			fail_msg("prefix of %zu of %zu bytes accepted", n, len);
		free(p);
	}
	free(buf);
}

/* HT_CERT_MAX bytes is fine (padded with an unknown envelope field); one more is not. */
static void test_size_bound(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = issued(&len);
	uint8_t *p = tu_pad_to(buf, len, HT_CERT_MAX);
	assert_int_equal(parse_and_verify(p, HT_CERT_MAX), HT_OK);
	free(p);
	p = tu_pad_to(buf, len, HT_CERT_MAX + 1);
	ht_cert *c = NULL;
	assert_int_equal(ht_cert_parse(p, HT_CERT_MAX + 1, &c), HT_E_TOO_LARGE);
	free(p);
	free(buf);
}

/* The encoding is kept byte for byte, not re-encoded, even with extra fields. */
static void test_encoded_is_input(void **state)
{
	(void)state;
	size_t len;
	uint8_t *buf = issued(&len);
	ht_cert *c = NULL;
	assert_int_equal(ht_cert_parse(buf, len, &c), HT_OK);
	size_t elen = 0;
	const uint8_t *enc = ht_cert_encoded(c, &elen);
	assert_int_equal(elen, len);
	assert_memory_equal(enc, buf, len);
	ht_cert_free(c);

	uint8_t *p = tu_pad_to(buf, len, len + 40);
	uint8_t *copy = tu_dup(p, len + 40);
	assert_int_equal(ht_cert_parse(p, len + 40, &c), HT_OK);
	memset(p, 0, len + 40); /* the certificate must hold its own copy */
	enc = ht_cert_encoded(c, &elen);
	assert_int_equal(elen, len + 40);
	assert_memory_equal(enc, copy, len + 40);
	ht_cert_free(c);
	free(copy);
	free(p);
	free(buf);
}

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_roundtrip_extremes),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_unknown_role_values_ignored),
		cmocka_unit_test(test_role_names),
		cmocka_unit_test(test_provider_id_valid),
		cmocka_unit_test(test_bad_ids_at_issue),
		cmocka_unit_test(test_unterminated_id_at_issue),
		cmocka_unit_test(test_bad_ids_at_parse),
		cmocka_unit_test(test_edge_ids_accepted),
		cmocka_unit_test(test_issue_structure),
		cmocka_unit_test(test_parse_structure),
		cmocka_unit_test(test_weak_keys_at_issue),
		cmocka_unit_test(test_weak_keys_at_parse),
		cmocka_unit_test(test_critical),
		cmocka_unit_test(test_unknown_fields_ignored),
		cmocka_unit_test(test_wrong_kind),
		cmocka_unit_test(test_body_not_a_certificate),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_byte_inversions),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_size_bound),
		cmocka_unit_test(test_encoded_is_input),
	};
	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
