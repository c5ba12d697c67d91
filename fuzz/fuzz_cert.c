/*
 * Provider certificates (ht_cert_parse): parse, check the accessors against
 * the structural rules, then verify against a trust store holding the fixed
 * anchor and a revocation list from it, at times around the validity period;
 * then the same body signed by that anchor, to reach the checks behind the
 * signature with fuzzed values.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hoptrace/cert.h"
#include "hoptrace/envelope.h"
#include "hoptrace/trust.h"

static ht_trust *trust;
static ht_keys anchor;

static void setup(void)
{
	fuzz_init();
	if (trust)
		return;
	fuzz_anchor_keys(&anchor);
	const uint64_t revoked[] = {FUZZ_REVOKED_SERIAL_1, FUZZ_REVOKED_SERIAL_2};
	uint8_t *buf;
	size_t len;
	ht_crl *crl;
	if (ht_trust_new(&trust) != HT_OK || ht_trust_add_anchor(trust, anchor.sign_pk) != HT_OK ||
	    ht_crl_issue(&anchor, 1, 1700000000, revoked, 2, &buf, &len) != HT_OK)
		fuzz_fail("fuzz_cert: setup failed");
	if (ht_crl_parse(buf, len, &crl) != HT_OK || ht_trust_add_crl(trust, crl) != HT_OK)
		fuzz_fail("fuzz_cert: setup CRL failed");
	free(buf);
	/* `trust` lives for the whole process; LeakSanitizer sees it reachable. */
}

static void check_same_info(const ht_cert_info *a, const ht_cert_info *b)
{
	FUZZ_CHECK(strcmp(a->provider_id, b->provider_id) == 0);
	FUZZ_CHECK(memcmp(a->sign_key, b->sign_key, sizeof(a->sign_key)) == 0);
	FUZZ_CHECK(memcmp(a->noise_key, b->noise_key, sizeof(a->noise_key)) == 0);
	FUZZ_CHECK(memcmp(a->issuer, b->issuer, sizeof(a->issuer)) == 0);
	FUZZ_CHECK(a->not_before == b->not_before);
	FUZZ_CHECK(a->not_after == b->not_after);
	FUZZ_CHECK(a->serial == b->serial);
	FUZZ_CHECK(a->roles == b->roles);
}

/*
 * Checks a parsed certificate against the structural rules and the trust
 * store's verification order. Returns its signature check with the anchor key.
 */
static int check_cert(const ht_cert *c, const uint8_t *data, size_t size)
{
	size_t enc_len;
	const uint8_t *enc = ht_cert_encoded(c, &enc_len);
	FUZZ_CHECK(enc_len == size);
	FUZZ_CHECK(memcmp(enc, data, size) == 0);

	const ht_cert_info *i = ht_cert_get_info(c);
	size_t idlen = strnlen(i->provider_id, sizeof(i->provider_id));
	FUZZ_CHECK(idlen < sizeof(i->provider_id));
	FUZZ_CHECK(ht_provider_id_valid(i->provider_id, idlen));
	FUZZ_CHECK(i->serial != 0);
	FUZZ_CHECK(i->not_before < i->not_after);
	FUZZ_CHECK((i->roles & ~HT_ROLES_KNOWN) == 0);
	/* Usable keys only: a prime-order Ed25519 point, an X25519 key not of small order. */
	static const uint8_t probe[32] = {1};
	uint8_t shared[32];
	FUZZ_CHECK(crypto_core_ed25519_is_valid_point(i->sign_key));
	FUZZ_CHECK(crypto_scalarmult(shared, probe, i->noise_key) == 0);
	for (uint32_t bit = 1; bit != 0; bit <<= 1) {
		const char *name = ht_role_name(bit);
		FUZZ_CHECK((name != NULL) == ((bit & HT_ROLES_KNOWN) != 0));
		if (name)
			FUZZ_CHECK(ht_role_parse(name) == bit);
	}

	int trusted = memcmp(i->issuer, anchor.sign_pk, HT_SIGN_PK_LEN) == 0;
	int sig = ht_cert_check_signature(c, anchor.sign_pk);
	FUZZ_CHECK(sig == HT_OK || sig == HT_E_BAD_SIGNATURE);
	int revoked = i->serial == FUZZ_REVOKED_SERIAL_1 || i->serial == FUZZ_REVOKED_SERIAL_2;

	/* Each verification checks an Ed25519 signature: keep the grid small. */
	const uint64_t times[] = {0, i->not_before, i->not_after - 1, i->not_after};
	const uint32_t required[] = {0, HT_ROLE_INITIATOR};
	for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
		for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++) {
			uint64_t now = times[t];
			int rc = ht_trust_verify_cert(trust, c, now, required[r]);
			int want;
			if (!trusted)
				want = HT_E_UNKNOWN_ANCHOR;
			else if (sig != HT_OK)
				want = HT_E_BAD_SIGNATURE;
			else if (now < i->not_before)
				want = HT_E_NOT_YET_VALID;
			else if (now >= i->not_after)
				want = HT_E_EXPIRED;
			else if (revoked)
				want = HT_E_REVOKED;
			else if ((i->roles & required[r]) != required[r])
				want = HT_E_MISSING_ROLE;
			else
				want = HT_OK;
			FUZZ_CHECK(rc == want);
		}
	}
	return sig;
}

/*
 * The fuzzer cannot forge signatures, so the checks behind the signature
 * (dates, revocation, roles) would only ever see the seeds' values. The same
 * body signed by the fixed anchor reaches them with the fuzzed values.
 */
static void check_resigned(const ht_cert *c)
{
	size_t len, body_len, buf_len;
	const uint8_t *enc = ht_cert_encoded(c, &len);
	ht_envelope *e;
	FUZZ_CHECK(ht_envelope_parse(enc, len, &e) == HT_OK);
	const uint8_t *body = ht_envelope_body(e, &body_len);
	uint8_t *buf;
	int rc = ht_envelope_sign(HT_KIND_CERTIFICATE, body, body_len, anchor.sign_sk, &buf,
				  &buf_len);
	ht_envelope_free(e);
	if (rc == HT_E_NOMEM)
		return;
	FUZZ_CHECK(rc == HT_OK);
	ht_cert *c2;
	rc = ht_cert_parse(buf, buf_len, &c2);
	if (rc == HT_OK) {
		check_same_info(ht_cert_get_info(c), ht_cert_get_info(c2));
		FUZZ_CHECK(check_cert(c2, buf, buf_len) == HT_OK);
		ht_cert_free(c2);
	} else {
		/* The canonical envelope can only outgrow the limit, never fail to parse. */
		FUZZ_CHECK(rc == HT_E_TOO_LARGE && buf_len > HT_CERT_MAX);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();

	ht_cert *c;
	int rc = ht_cert_parse(data, size, &c);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE || rc == HT_E_WRONG_KIND ||
			   rc == HT_E_BAD_PROVIDER_ID || rc == HT_E_UNSUPPORTED_CRITICAL ||
			   rc == HT_E_WEAK_KEY);
		FUZZ_CHECK(rc != HT_E_TOO_LARGE || size > HT_CERT_MAX);
		return 0;
	}
	FUZZ_CHECK(size <= HT_CERT_MAX);
	if (check_cert(c, data, size) != HT_OK)
		check_resigned(c);
	ht_cert_free(c);
	return 0;
}
