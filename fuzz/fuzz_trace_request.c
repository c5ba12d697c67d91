/*
 * Trace requests (ht_request_parse, ht_request_verify): parse, check the
 * parsed fields against the bounds of section 11 and a partial object's
 * contract, then verify against a trust store holding the fixed anchor and
 * a revocation list, at the request's creation, at a fixed time and past
 * its expiry; then the same body signed by the fixed provider, to reach the
 * checks behind the signature with fuzzed values.
 */
#include "fuzz_trace.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hoptrace/envelope.h"
#include "hoptrace/trace.h"
#include "hoptrace/trust.h"

static ht_trust *trust;
static ht_keys anchor, provider;

static void setup(void)
{
	fuzz_init();
	if (trust)
		return;
	fuzz_anchor_keys(&anchor);
	fuzz_provider_keys(&provider);
	const uint64_t revoked[] = {FUZZ_REVOKED_SERIAL_1, FUZZ_REVOKED_SERIAL_2};
	uint8_t *buf;
	size_t len;
	ht_crl *crl;
	if (ht_trust_new(&trust) != HT_OK || ht_trust_add_anchor(trust, anchor.sign_pk) != HT_OK ||
	    ht_crl_issue(&anchor, 1, 1700000000, revoked, 2, &buf, &len) != HT_OK)
		fuzz_fail("fuzz_trace_request: setup failed");
	if (ht_crl_parse(buf, len, &crl) != HT_OK || ht_trust_add_crl(trust, crl) != HT_OK)
		fuzz_fail("fuzz_trace_request: setup CRL failed");
	free(buf);
}

static bool usable_x25519(const uint8_t pk[32])
{
	static const uint8_t probe[32] = {1};
	uint8_t out[32];
	return crypto_scalarmult(out, probe, pk) == 0;
}

/* Verifies at `now`; checks the error set and its reason. Returns the error. */
static int verify_at(const ht_request *r, uint64_t now)
{
	ht_reason why = (ht_reason)77;
	int rc = ht_request_verify(r, trust, now, &why);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_UNKNOWN_ANCHOR || rc == HT_E_BAD_SIGNATURE ||
		   rc == HT_E_NOT_YET_VALID || rc == HT_E_EXPIRED || rc == HT_E_REVOKED ||
		   rc == HT_E_MISSING_ROLE || rc == HT_E_NOMEM);
	if (rc == HT_E_EXPIRED)
		FUZZ_CHECK(why == HT_REASON_CERT_EXPIRED || why == HT_REASON_EXPIRED);
	else
		FUZZ_CHECK(why == ht_reason_from_err(rc));
	/* The request's own times decide HT_REASON_EXPIRED. */
	const ht_request_info *i = ht_request_get(r);
	bool out_of_time = now > i->expires_ms || i->created_ms > now + (uint64_t)HT_CLOCK_SKEW_MS;
	if (rc == HT_OK)
		FUZZ_CHECK(!out_of_time);
	if (why == HT_REASON_EXPIRED)
		FUZZ_CHECK(out_of_time);
	return rc;
}

static void check_request(const uint8_t *data, size_t size, bool resigned)
{
	ht_request *r = NULL;
	int rc = ht_request_parse(data, size, &r);
	uint8_t peek[HT_TRACE_ID_LEN];
	bool peeked = ht_request_peek_trace_id(data, size, peek);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE || rc == HT_E_WRONG_KIND ||
			   rc == HT_E_WEAK_KEY || rc == HT_E_UNSUPPORTED_CRITICAL ||
			   rc == HT_E_NOMEM);
		FUZZ_CHECK((rc == HT_E_TOO_LARGE) == (size > HT_ENVELOPE_MAX));
		/* The critical check comes after the answer key: an object exists. */
		if (rc == HT_E_UNSUPPORTED_CRITICAL)
			FUZZ_CHECK(r != NULL);
		if (r) {
			FUZZ_CHECK(rc != HT_E_WEAK_KEY && rc != HT_E_TOO_LARGE &&
				   rc != HT_E_WRONG_KIND);
			const ht_request_info *i = ht_request_get(r);
			FUZZ_CHECK(usable_x25519(i->answer_pk));
			size_t el;
			const uint8_t *enc = ht_request_encoded(r, &el);
			FUZZ_CHECK(el == size && memcmp(enc, data, size) == 0);
			ht_reason why;
			FUZZ_CHECK(ht_request_verify(r, trust, FUZZ_TRACE_NOW_MS, &why) ==
				   HT_E_MALFORMED);
			FUZZ_CHECK(why == HT_REASON_MALFORMED);
			FUZZ_CHECK(!ht_request_matches(r, "12025550143", "12025550199"));
			if (peeked)
				FUZZ_CHECK(memcmp(peek, i->trace_id, HT_TRACE_ID_LEN) == 0);
		}
		ht_request_free(r);
		return;
	}
	FUZZ_CHECK(r != NULL);
	const ht_request_info *i = ht_request_get(r);
	FUZZ_CHECK(peeked && memcmp(peek, i->trace_id, HT_TRACE_ID_LEN) == 0);

	/* The bounds of section 11. */
	size_t idlen = strnlen(i->initiator_id, sizeof(i->initiator_id));
	FUZZ_CHECK(idlen < sizeof(i->initiator_id) && ht_provider_id_valid(i->initiator_id, idlen));
	const ht_cert *c = ht_request_cert(r);
	FUZZ_CHECK(c != NULL);
	FUZZ_CHECK(strcmp(ht_cert_get_info(c)->provider_id, i->initiator_id) == 0);
	FUZZ_CHECK(i->created_ms < i->expires_ms);
	FUZZ_CHECK(i->expires_ms - i->created_ms <= HT_LIFETIME_MAX_MS);
	FUZZ_CHECK(i->tolerance_ms <= HT_TOLERANCE_MAX_MS);
	FUZZ_CHECK(i->hop_limit >= 1 && i->hop_limit <= HT_HOP_LIMIT_MAX);
	FUZZ_CHECK(i->hint_bits <= HT_HINT_BITS_MAX);
	if (i->hint_bits < 16)
		FUZZ_CHECK((i->hint & (0xffffu >> i->hint_bits)) == 0);
	FUZZ_CHECK(usable_x25519(i->answer_pk));
	size_t ll = strnlen(i->label, sizeof(i->label));
	FUZZ_CHECK(ll <= HT_LABEL_MAX);
	for (size_t k = 0; k < ll; k++)
		FUZZ_CHECK((uint8_t)i->label[k] >= 0x20 && (uint8_t)i->label[k] != 0x7f);

	/* Exact bytes and identity. */
	size_t el;
	const uint8_t *enc = ht_request_encoded(r, &el);
	FUZZ_CHECK(el == size && memcmp(enc, data, size) == 0);
	ht_envelope *e;
	uint8_t id[HT_MSG_ID_LEN];
	rc = ht_envelope_parse(data, size, &e);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM);
	if (rc == HT_OK) {
		FUZZ_CHECK(ht_envelope_id(e, id) == HT_OK);
		FUZZ_CHECK(memcmp(id, ht_request_id(r), HT_MSG_ID_LEN) == 0);
		ht_envelope_free(e);
	}

	/* The commitment: the seeds' pair, and never a non-number. */
	uint8_t com[HT_COMMITMENT_LEN];
	FUZZ_CHECK(ht_call_commitment(i->salt, "12025550143", "12025550199", com) == HT_OK);
	FUZZ_CHECK(ht_request_matches(r, "12025550143", "12025550199") ==
		   (memcmp(com, i->commitment, sizeof(com)) == 0));
	FUZZ_CHECK(!ht_request_matches(r, "", "12025550199"));

	int at_created = verify_at(r, i->created_ms);
	verify_at(r, FUZZ_TRACE_NOW_MS);
	if (i->expires_ms < UINT64_MAX)
		FUZZ_CHECK(verify_at(r, i->expires_ms + 1) != HT_OK);
	if (at_created == HT_OK) {
		FUZZ_CHECK(ht_cert_get_info(c)->roles & HT_ROLE_INITIATOR);
		FUZZ_CHECK(verify_at(r, i->expires_ms) == HT_OK ||
			   /* the certificate may end in between */
			   i->expires_ms / 1000 >= ht_cert_get_info(c)->not_after);
	}
	/*
	 * Signed by the key its certificate names, and the certificate by the
	 * anchor: the signature is never the fault.
	 */
	if (resigned &&
	    memcmp(ht_cert_get_info(c)->sign_key, provider.sign_pk, HT_SIGN_PK_LEN) == 0 &&
	    ht_cert_check_signature(c, anchor.sign_pk) == HT_OK)
		FUZZ_CHECK(at_created != HT_E_BAD_SIGNATURE);
	ht_request_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	check_request(data, size, false);

	/* The body again, signed by the fixed provider. */
	ht_envelope *e;
	if (ht_envelope_parse(data, size, &e) != HT_OK)
		return 0;
	size_t body_len, len;
	const uint8_t *body = ht_envelope_body(e, &body_len);
	uint8_t *buf;
	if (ht_envelope_kind(e) == HT_KIND_TRACE_REQUEST &&
	    ht_envelope_sign(HT_KIND_TRACE_REQUEST, body, body_len, provider.sign_sk, &buf, &len) ==
		    HT_OK) {
		check_request(buf, len, true);
		free(buf);
	}
	ht_envelope_free(e);
	return 0;
}
