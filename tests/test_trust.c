/* Certificate verification against anchors, time, revocation and roles. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/trust.h"

static ht_keys anchor_a, anchor_b, prov;

/* Per-test: a trust store holding anchor A, and A's certificate, serial 100. */
struct fix {
	ht_trust *t;
	ht_cert *cert;
};

static int setup_keys(void **state)
{
	(void)state;
	tu_anchor_keys(&anchor_a, 0xaa);
	tu_anchor_keys(&anchor_b, 0xbb);
	tu_provider_keys(&prov, 0x71);
	return 0;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(ht_trust_new(&f->t), HT_OK);
	assert_int_equal(ht_trust_add_anchor(f->t, anchor_a.sign_pk), HT_OK);
	ht_cert_info in;
	tu_cert_info(&in, &prov, "carrier-a", 100, HT_ROLE_INITIATOR);
	f->cert = tu_issue_parsed(&in, &anchor_a);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	ht_cert_free(f->cert);
	ht_trust_free(f->t);
	free(f);
	return 0;
}

/* Adds a list that must be accepted (the store then owns it). */
static void add_crl_ok(ht_trust *t, const ht_keys *anchor, uint64_t number, const uint64_t *serials,
		       size_t n)
{
	ht_crl *crl = tu_crl_parsed(anchor, number, serials, n);
	assert_int_equal(ht_trust_add_crl(t, crl), HT_OK);
}

/* Adds a list that must be refused with `want` (we still own it). */
static void add_crl_refused(ht_trust *t, ht_crl *crl, int want)
{
	int rc = ht_trust_add_crl(t, crl);
	ht_crl_free(crl);
	assert_int_equal(rc, want);
}

static ht_cert *cert_with(const ht_keys *anchor, uint64_t serial, uint32_t roles)
{
	ht_cert_info in;
	tu_cert_info(&in, &prov, "carrier-x", serial, roles);
	return tu_issue_parsed(&in, anchor);
}

static void test_verify_ok(void **state)
{
	struct fix *f = *state;
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_OK);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, HT_ROLE_INITIATOR), HT_OK);
}

static void test_unknown_anchor(void **state)
{
	(void)state;
	ht_trust *t = NULL;
	assert_int_equal(ht_trust_new(&t), HT_OK);
	ht_cert *c = cert_with(&anchor_a, 1, 0);
	assert_int_equal(ht_trust_verify_cert(t, c, TU_MID, 0), HT_E_UNKNOWN_ANCHOR);
	assert_int_equal(ht_trust_add_anchor(t, anchor_b.sign_pk), HT_OK);
	assert_int_equal(ht_trust_verify_cert(t, c, TU_MID, 0), HT_E_UNKNOWN_ANCHOR);
	/* A provider's own key is no anchor either. */
	assert_int_equal(ht_trust_add_anchor(t, prov.sign_pk), HT_OK);
	assert_int_equal(ht_trust_verify_cert(t, c, TU_MID, 0), HT_E_UNKNOWN_ANCHOR);
	assert_int_equal(ht_trust_add_anchor(t, anchor_a.sign_pk), HT_OK);
	assert_int_equal(ht_trust_verify_cert(t, c, TU_MID, 0), HT_OK);
	ht_cert_free(c);
	ht_trust_free(t);
}

/* A certificate naming anchor A as issuer but signed by anchor B. */
static void test_bad_signature(void **state)
{
	struct fix *f = *state;
	ht_cert_info in;
	tu_cert_info(&in, &prov, "carrier-a", 100, HT_ROLE_INITIATOR);
	Hoptrace__V1__Certificate m;
	tu_cert_msg(&m, &in, anchor_a.sign_pk);
	size_t len;
	uint8_t *buf = tu_sign_msg(HT_KIND_CERTIFICATE, &m.base, NULL, 0, &anchor_b, &len);
	ht_cert *forged = NULL;
	assert_int_equal(ht_cert_parse(buf, len, &forged), HT_OK);
	free(buf);
	assert_int_equal(ht_trust_verify_cert(f->t, forged, TU_MID, 0), HT_E_BAD_SIGNATURE);
	/* Trusting B as well changes nothing: the signature must be the issuer's. */
	assert_int_equal(ht_trust_add_anchor(f->t, anchor_b.sign_pk), HT_OK);
	assert_int_equal(ht_trust_verify_cert(f->t, forged, TU_MID, 0), HT_E_BAD_SIGNATURE);
	ht_cert_free(forged);
}

static void test_not_yet_valid(void **state)
{
	struct fix *f = *state;
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_NOT_BEFORE - 1, 0),
			 HT_E_NOT_YET_VALID);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, 0, 0), HT_E_NOT_YET_VALID);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_NOT_BEFORE, 0), HT_OK);
}

static void test_expired(void **state)
{
	struct fix *f = *state;
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_NOT_AFTER, 0), HT_E_EXPIRED);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, UINT64_MAX, 0), HT_E_EXPIRED);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_NOT_AFTER - 1, 0), HT_OK);
}

static void test_revoked(void **state)
{
	struct fix *f = *state;
	ht_cert *other = cert_with(&anchor_a, 101, 0);
	const uint64_t s[] = {99, 100};
	add_crl_ok(f->t, &anchor_a, 1, s, 2);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_E_REVOKED);
	assert_int_equal(ht_trust_verify_cert(f->t, other, TU_MID, 0), HT_OK);
	ht_cert_free(other);
}

static void test_missing_role(void **state)
{
	struct fix *f = *state;
	ht_cert *plain = cert_with(&anchor_a, 7, 0);
	assert_int_equal(ht_trust_verify_cert(f->t, plain, TU_MID, HT_ROLE_INITIATOR),
			 HT_E_MISSING_ROLE);
	assert_int_equal(ht_trust_verify_cert(f->t, plain, TU_MID, 0), HT_OK);
	/* A role bit nobody can hold is missing even from the initiator. */
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, HT_ROLE_INITIATOR | 0x2),
			 HT_E_MISSING_ROLE);
	ht_cert_free(plain);
}

/* The checks run in the documented order, so the first failure is reported. */
static void test_check_order(void **state)
{
	struct fix *f = *state;
	ht_cert *plain = cert_with(&anchor_a, 100, 0); /* same serial, no role */
	const uint64_t s = 100;
	add_crl_ok(f->t, &anchor_a, 1, &s, 1);
	assert_int_equal(ht_trust_verify_cert(f->t, plain, TU_NOT_BEFORE - 1, HT_ROLE_INITIATOR),
			 HT_E_NOT_YET_VALID);
	assert_int_equal(ht_trust_verify_cert(f->t, plain, TU_NOT_AFTER, HT_ROLE_INITIATOR),
			 HT_E_EXPIRED);
	assert_int_equal(ht_trust_verify_cert(f->t, plain, TU_MID, HT_ROLE_INITIATOR),
			 HT_E_REVOKED);

	ht_trust *empty = NULL;
	assert_int_equal(ht_trust_new(&empty), HT_OK);
	assert_int_equal(ht_trust_verify_cert(empty, plain, TU_NOT_AFTER, HT_ROLE_INITIATOR),
			 HT_E_UNKNOWN_ANCHOR);
	ht_trust_free(empty);
	ht_cert_free(plain);
}

static void test_crl_from_non_anchor(void **state)
{
	struct fix *f = *state;
	const uint64_t s = 100;
	add_crl_refused(f->t, tu_crl_parsed(&anchor_b, 1, &s, 1), HT_E_UNKNOWN_ANCHOR);
	/* Nothing was revoked by it. */
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_OK);
}

static void test_tampered_crl(void **state)
{
	struct fix *f = *state;
	const uint64_t s = 100;
	/* The last byte of an envelope is in the signature. */
	size_t len;
	uint8_t *buf = tu_crl_issue(&anchor_a, 1, &s, 1, &len);
	buf[len - 1] ^= 0x01;
	ht_crl *crl = NULL;
	assert_int_equal(ht_crl_parse(buf, len, &crl), HT_OK);
	free(buf);
	add_crl_refused(f->t, crl, HT_E_BAD_SIGNATURE);

	/* A list naming anchor A as issuer, signed by B. */
	Hoptrace__V1__RevocationList l = HOPTRACE__V1__REVOCATION_LIST__INIT;
	l.issuer.data = anchor_a.sign_pk;
	l.issuer.len = HT_SIGN_PK_LEN;
	l.number = 5;
	l.serials = (uint64_t *)&s;
	l.n_serials = 1;
	buf = tu_sign_msg(HT_KIND_REVOCATION_LIST, &l.base, NULL, 0, &anchor_b, &len);
	assert_int_equal(ht_crl_parse(buf, len, &crl), HT_OK);
	free(buf);
	add_crl_refused(f->t, crl, HT_E_BAD_SIGNATURE);

	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_OK);
}

/* An old list cannot replace a newer one, so it cannot un-revoke. */
static void test_stale_crl(void **state)
{
	struct fix *f = *state;
	const uint64_t s = 100;
	add_crl_ok(f->t, &anchor_a, 2, &s, 1);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_E_REVOKED);
	add_crl_refused(f->t, tu_crl_parsed(&anchor_a, 1, NULL, 0), HT_E_STALE);
	add_crl_refused(f->t, tu_crl_parsed(&anchor_a, 2, NULL, 0), HT_E_STALE);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_E_REVOKED);

	/* A newer list replaces it, and then is what counts. */
	const uint64_t s2 = 555;
	add_crl_ok(f->t, &anchor_a, 3, &s2, 1);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_OK);
	ht_cert *c555 = cert_with(&anchor_a, 555, 0);
	assert_int_equal(ht_trust_verify_cert(f->t, c555, TU_MID, 0), HT_E_REVOKED);
	ht_cert_free(c555);
	add_crl_refused(f->t, tu_crl_parsed(&anchor_a, 2, &s, 1), HT_E_STALE);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_OK);
}

/* Serials are per issuer: B revoking its 100 does not touch A's 100. */
static void test_two_anchors(void **state)
{
	struct fix *f = *state;
	assert_int_equal(ht_trust_add_anchor(f->t, anchor_b.sign_pk), HT_OK);
	ht_cert *cert_b = cert_with(&anchor_b, 100, 0);
	ht_cert *cert_a2 = cert_with(&anchor_a, 200, 0);
	const uint64_t s100 = 100, s200 = 200;
	add_crl_ok(f->t, &anchor_b, 1, &s100, 1);
	assert_int_equal(ht_trust_verify_cert(f->t, cert_b, TU_MID, 0), HT_E_REVOKED);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_OK);

	/* A's own list, numbered independently of B's. */
	add_crl_ok(f->t, &anchor_a, 1, &s200, 1);
	assert_int_equal(ht_trust_verify_cert(f->t, cert_a2, TU_MID, 0), HT_E_REVOKED);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_OK);
	assert_int_equal(ht_trust_verify_cert(f->t, cert_b, TU_MID, 0), HT_E_REVOKED);
	ht_cert_free(cert_b);
	ht_cert_free(cert_a2);
}

static void test_anchor_twice(void **state)
{
	struct fix *f = *state;
	const uint64_t s = 100;
	add_crl_ok(f->t, &anchor_a, 1, &s, 1);
	/* Re-adding keeps the anchor's list in force... */
	assert_int_equal(ht_trust_add_anchor(f->t, anchor_a.sign_pk), HT_OK);
	assert_int_equal(ht_trust_add_anchor(f->t, anchor_a.sign_pk), HT_OK);
	assert_int_equal(ht_trust_verify_cert(f->t, f->cert, TU_MID, 0), HT_E_REVOKED);
	/* ...and uses no slot: the other HT_TRUST_MAX_ANCHORS - 1 still fit. */
	for (int i = 1; i < HT_TRUST_MAX_ANCHORS; i++) {
		ht_keys k;
		tu_anchor_keys(&k, (uint8_t)i);
		assert_int_equal(ht_trust_add_anchor(f->t, k.sign_pk), HT_OK);
	}
	ht_keys extra;
	tu_anchor_keys(&extra, 0xfe);
	assert_int_equal(ht_trust_add_anchor(f->t, extra.sign_pk), HT_E_TOO_LARGE);
}

static void test_too_many_anchors(void **state)
{
	(void)state;
	ht_trust *t = NULL;
	assert_int_equal(ht_trust_new(&t), HT_OK);
	ht_keys k;
	for (int i = 0; i < HT_TRUST_MAX_ANCHORS; i++) {
		tu_anchor_keys(&k, (uint8_t)(0x30 + i));
		assert_int_equal(ht_trust_add_anchor(t, k.sign_pk), HT_OK);
	}
	assert_int_equal(ht_trust_add_anchor(t, anchor_a.sign_pk), HT_E_TOO_LARGE);
	/* Refused means not added. */
	ht_cert *c = cert_with(&anchor_a, 1, 0);
	assert_int_equal(ht_trust_verify_cert(t, c, TU_MID, 0), HT_E_UNKNOWN_ANCHOR);
	/* A full store still takes an anchor it already has, and still works. */
	tu_anchor_keys(&k, 0x30);
	assert_int_equal(ht_trust_add_anchor(t, k.sign_pk), HT_OK);
	ht_cert *c2 = cert_with(&k, 2, 0);
	assert_int_equal(ht_trust_verify_cert(t, c2, TU_MID, 0), HT_OK);
	ht_cert_free(c);
	ht_cert_free(c2);
	ht_trust_free(t);
}

/* A reload must not un-revoke: an older list, or none, for an anchor is stale. */
static void test_check_rollback(void **state)
{
	(void)state;
	const uint64_t s = 7;
	ht_trust *prev, *next;
	assert_int_equal(ht_trust_new(&prev), HT_OK);
	assert_int_equal(ht_trust_add_anchor(prev, anchor_a.sign_pk), HT_OK);
	assert_int_equal(ht_trust_add_anchor(prev, anchor_b.sign_pk), HT_OK);
	add_crl_ok(prev, &anchor_a, 5, &s, 1);

	/* Same anchors, a newer or equal list: fine. */
	assert_int_equal(ht_trust_new(&next), HT_OK);
	assert_int_equal(ht_trust_add_anchor(next, anchor_a.sign_pk), HT_OK);
	add_crl_ok(next, &anchor_a, 5, &s, 1);
	assert_int_equal(ht_trust_check_rollback(prev, next), HT_OK);
	ht_trust_free(next);

	/* An older list: stale. */
	assert_int_equal(ht_trust_new(&next), HT_OK);
	assert_int_equal(ht_trust_add_anchor(next, anchor_a.sign_pk), HT_OK);
	add_crl_ok(next, &anchor_a, 4, NULL, 0);
	assert_int_equal(ht_trust_check_rollback(prev, next), HT_E_STALE);
	ht_trust_free(next);

	/* No list at all for an anchor that had one: stale. */
	assert_int_equal(ht_trust_new(&next), HT_OK);
	assert_int_equal(ht_trust_add_anchor(next, anchor_a.sign_pk), HT_OK);
	assert_int_equal(ht_trust_check_rollback(prev, next), HT_E_STALE);
	ht_trust_free(next);

	/* The anchor itself removed: nothing to roll back. */
	assert_int_equal(ht_trust_new(&next), HT_OK);
	assert_int_equal(ht_trust_add_anchor(next, anchor_b.sign_pk), HT_OK);
	assert_int_equal(ht_trust_check_rollback(prev, next), HT_OK);
	ht_trust_free(next);
	ht_trust_free(prev);
}

#define FIX(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		FIX(test_verify_ok),
		cmocka_unit_test(test_unknown_anchor),
		FIX(test_bad_signature),
		FIX(test_not_yet_valid),
		FIX(test_expired),
		FIX(test_revoked),
		FIX(test_missing_role),
		FIX(test_check_order),
		FIX(test_crl_from_non_anchor),
		FIX(test_tampered_crl),
		FIX(test_stale_crl),
		FIX(test_two_anchors),
		FIX(test_anchor_twice),
		cmocka_unit_test(test_too_many_anchors),
		cmocka_unit_test(test_check_rollback),
	};
	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
