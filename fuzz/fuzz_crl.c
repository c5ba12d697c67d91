/*
 * Revocation lists (ht_crl_parse): parse, check the serials are strictly
 * ascending and non-zero, look values up, check the signature with the fixed
 * anchor, and offer the list to a trust store holding that anchor.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/crl.h"
#include "hoptrace/trust.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ht_keys anchor;
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
	rc = ht_trust_add_crl(t, crl);
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
	return 0;
}
