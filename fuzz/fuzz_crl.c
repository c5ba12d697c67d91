/*
 * Revocation lists (ht_crl_parse): parse, check the serials are strictly
 * ascending and non-zero, look values up, check the signature with the fixed
 * anchor, and offer the list to a trust store holding that anchor; then the
 * same with the body signed by that anchor, which the fuzzer cannot forge.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/crl.h"
#include "hoptrace/envelope.h"
#include "hoptrace/trust.h"

static ht_keys anchor;

/*
 * Checks a parsed list (`data` is its encoding) against the structural rules
 * and offers it to a trust store holding the fixed anchor, which takes
 * ownership of it. Returns its signature check with the anchor key.
 */
static int check_crl(ht_crl *crl, const uint8_t *data, size_t size)
{
	const ht_crl_info *ci = ht_crl_get_info(crl);
	FUZZ_CHECK(ci->number != 0);
	/* At least one byte per serial on the wire. */
	FUZZ_CHECK(ci->n_serials <= size);
	FUZZ_CHECK(ci->n_serials == 0 || ci->serials != NULL);
	for (size_t i = 0; i < ci->n_serials; i++) {
		FUZZ_CHECK(ci->serials[i] != 0);
		FUZZ_CHECK(i == 0 || ci->serials[i] > ci->serials[i - 1]);
		FUZZ_CHECK(ht_crl_contains(crl, ci->serials[i]));
		/* Gaps between consecutive serials are not on the list. */
		if (i > 0 && ci->serials[i] - ci->serials[i - 1] > 1)
			FUZZ_CHECK(!ht_crl_contains(crl, ci->serials[i] - 1));
	}
	FUZZ_CHECK(!ht_crl_contains(crl, 0));
	if (ci->n_serials == 0) {
		FUZZ_CHECK(!ht_crl_contains(crl, 1));
		FUZZ_CHECK(!ht_crl_contains(crl, UINT64_MAX));
	} else {
		uint64_t first = ci->serials[0], last = ci->serials[ci->n_serials - 1];
		if (first > 1)
			FUZZ_CHECK(!ht_crl_contains(crl, first - 1));
		if (last < UINT64_MAX)
			FUZZ_CHECK(!ht_crl_contains(crl, last + 1));
		FUZZ_CHECK(ht_crl_contains(crl, UINT64_MAX) == (last == UINT64_MAX));
	}

	int trusted = memcmp(ci->issuer, anchor.sign_pk, HT_SIGN_PK_LEN) == 0;
	int sig = ht_crl_check_signature(crl, anchor.sign_pk);
	FUZZ_CHECK(sig == HT_OK || sig == HT_E_BAD_SIGNATURE);

	/* A store that trusts the fixed anchor takes the list only if it verifies. */
	ht_trust *t;
	if (ht_trust_new(&t) != HT_OK || ht_trust_add_anchor(t, anchor.sign_pk) != HT_OK)
		fuzz_fail("fuzz_crl: trust setup failed");
	int rc = ht_trust_add_crl(t, crl);
	if (!trusted)
		FUZZ_CHECK(rc == HT_E_UNKNOWN_ANCHOR);
	else if (sig != HT_OK)
		FUZZ_CHECK(rc == HT_E_BAD_SIGNATURE);
	else
		FUZZ_CHECK(rc == HT_OK);
	if (rc == HT_OK) {
		/* The store owns it now; the same list again is stale, not a double free. */
		ht_crl *again;
		FUZZ_CHECK(ht_crl_parse(data, size, &again) == HT_OK);
		FUZZ_CHECK(ht_trust_add_crl(t, again) == HT_E_STALE);
		ht_crl_free(again);
	} else {
		ht_crl_free(crl);
	}
	ht_trust_free(t);
	return sig;
}

/*
 * The same body signed by the fixed anchor: it must parse to the same list,
 * and reaches the trust store's acceptance with fuzzed values. Returns the
 * re-signed encoding (malloc'd) or NULL.
 */
static uint8_t *resign(const uint8_t *data, size_t size, const ht_crl *crl, size_t *out_len)
{
	ht_envelope *e;
	FUZZ_CHECK(ht_envelope_parse(data, size, &e) == HT_OK);
	size_t body_len;
	const uint8_t *body = ht_envelope_body(e, &body_len);
	uint8_t *buf;
	int rc = ht_envelope_sign(HT_KIND_REVOCATION_LIST, body, body_len, anchor.sign_sk, &buf,
				  out_len);
	ht_envelope_free(e);
	if (rc == HT_E_NOMEM)
		return NULL;
	FUZZ_CHECK(rc == HT_OK);
	ht_crl *c2;
	rc = ht_crl_parse(buf, *out_len, &c2);
	if (rc != HT_OK) {
		/* The canonical envelope can only outgrow the limit, never fail to parse. */
		FUZZ_CHECK(rc == HT_E_TOO_LARGE && *out_len > HT_CRL_MAX);
		free(buf);
		return NULL;
	}
	const ht_crl_info *a = ht_crl_get_info(crl), *b = ht_crl_get_info(c2);
	FUZZ_CHECK(memcmp(a->issuer, b->issuer, HT_SIGN_PK_LEN) == 0);
	FUZZ_CHECK(a->number == b->number && a->issued_at == b->issued_at);
	FUZZ_CHECK(a->n_serials == b->n_serials);
	FUZZ_CHECK(a->n_serials == 0 ||
		   memcmp(a->serials, b->serials, a->n_serials * sizeof(uint64_t)) == 0);
	ht_crl_free(c2);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int have_key;
	fuzz_init();
	if (!have_key) {
		fuzz_anchor_keys(&anchor);
		have_key = 1;
	}

	ht_crl *crl;
	int rc = ht_crl_parse(data, size, &crl);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE || rc == HT_E_WRONG_KIND ||
			   rc == HT_E_UNSUPPORTED_CRITICAL);
		FUZZ_CHECK(rc != HT_E_TOO_LARGE || size > HT_CRL_MAX);
		return 0;
	}
	FUZZ_CHECK(size <= HT_CRL_MAX);

	size_t len = 0;
	uint8_t *resigned = NULL;
	if (ht_crl_check_signature(crl, anchor.sign_pk) != HT_OK)
		resigned = resign(data, size, crl, &len);
	check_crl(crl, data, size);
	if (resigned) {
		ht_crl *c2;
		FUZZ_CHECK(ht_crl_parse(resigned, len, &c2) == HT_OK);
		FUZZ_CHECK(check_crl(c2, resigned, len) == HT_OK);
		free(resigned);
	}
	return 0;
}
