/*
 * Hop answers and sealed boxes (ht_answer_parse, ht_answer_verify,
 * ht_unseal). The input is parsed as a HopAnswer envelope: the fields must
 * obey the bounds of section 11, verification's errors are the documented
 * ones and the binding to the request is checked; an answer whose
 * certificate is the fixed provider's is signed again with ht_answer_sign
 * (which must accept whatever the parser accepted) and parses to the same
 * fields. The same body signed by the fixed provider reaches the checks
 * behind the signature. The input is also opened as a sealed box with the
 * fixed answer key; what opens is parsed as an answer in turn.
 */
#include "fuzz_trace.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/envelope.h"
#include "hoptrace/trace.h"
#include "hoptrace/trust.h"

static ht_trust *trust;
static ht_keys anchor, provider;
static uint8_t ans_pk[32], ans_sk[32];

static void setup(void)
{
	fuzz_init();
	if (trust)
		return;
	fuzz_anchor_keys(&anchor);
	fuzz_provider_keys(&provider);
	fuzz_answer_keypair(ans_pk, ans_sk);
	const uint64_t revoked[] = {FUZZ_REVOKED_SERIAL_1, FUZZ_REVOKED_SERIAL_2};
	uint8_t *buf;
	size_t len;
	ht_crl *crl;
	if (ht_trust_new(&trust) != HT_OK || ht_trust_add_anchor(trust, anchor.sign_pk) != HT_OK ||
	    ht_crl_issue(&anchor, 1, 1700000000, revoked, 2, &buf, &len) != HT_OK)
		fuzz_fail("fuzz_answer: setup failed");
	if (ht_crl_parse(buf, len, &crl) != HT_OK || ht_trust_add_crl(trust, crl) != HT_OK)
		fuzz_fail("fuzz_answer: setup CRL failed");
	free(buf);
}

static bool id_ok(const char *id, bool may_be_empty)
{
	size_t n = strnlen(id, HT_PROVIDER_ID_MAX + 1);
	if (n > HT_PROVIDER_ID_MAX)
		return false;
	return (may_be_empty && n == 0) || ht_provider_id_valid(id, n);
}

static void check_info(const ht_answer_info *i)
{
	FUZZ_CHECK(id_ok(i->provider_id, false));
	FUZZ_CHECK(id_ok(i->asked_by, false));
	FUZZ_CHECK(id_ok(i->upstream, true));
	FUZZ_CHECK(i->hop < HT_HOP_LIMIT_MAX);
	FUZZ_CHECK(i->n_calls <= HT_ANSWER_CALLS_MAX);
	switch (i->status) {
	case HT_ANSWER_FOUND:
		FUZZ_CHECK(i->n_calls >= 1 && i->reason == 0 && i->upstream[0] == 0);
		break;
	case HT_ANSWER_NOT_FOUND:
		FUZZ_CHECK(i->n_calls == 0 && i->reason == 0 && i->upstream[0] == 0);
		break;
	case HT_ANSWER_REFUSED:
		FUZZ_CHECK(i->n_calls == 0 && i->reason != 0 && i->upstream[0] == 0);
		break;
	case HT_ANSWER_DEAD_END:
		FUZZ_CHECK(i->n_calls == 0 && i->reason != 0 && i->upstream[0] != 0);
		break;
	default:
		FUZZ_CHECK(!"status out of range");
	}
	for (size_t k = 0; k < i->n_calls; k++) {
		const ht_matched_call *c = &i->calls[k];
		FUZZ_CHECK(id_ok(c->upstream, true));
		FUZZ_CHECK((c->upstream[0] != 0) != c->originated_here);
		size_t rl = strnlen(c->customer_ref, sizeof(c->customer_ref));
		FUZZ_CHECK(rl <= HT_CUSTOMER_REF_MAX);
		if (!c->originated_here)
			FUZZ_CHECK(rl == 0);
		for (size_t j = 0; j < rl; j++)
			FUZZ_CHECK(c->customer_ref[j] >= 0x20 && c->customer_ref[j] <= 0x7e);
		FUZZ_CHECK(c->attestation <= 3);
	}
}

static int verify(const ht_answer *a, const uint8_t *rid)
{
	int rc = ht_answer_verify(a, trust, rid);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_UNKNOWN_ANCHOR || rc == HT_E_BAD_SIGNATURE ||
		   rc == HT_E_NOT_YET_VALID || rc == HT_E_EXPIRED || rc == HT_E_REVOKED ||
		   rc == HT_E_WRONG_REQUEST || rc == HT_E_NOMEM);
	return rc;
}

static void check_answer(const uint8_t *data, size_t size, bool resigned, int depth)
{
	ht_answer *a = (ht_answer *)&size;
	int rc = ht_answer_parse(data, size, &a);
	if (rc != HT_OK) {
		FUZZ_CHECK(a == NULL);
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE || rc == HT_E_WRONG_KIND ||
			   rc == HT_E_UNSUPPORTED_CRITICAL || rc == HT_E_NOMEM);
		FUZZ_CHECK((rc == HT_E_TOO_LARGE) == (size > HT_ENVELOPE_MAX));
		return;
	}
	const ht_answer_info *i = ht_answer_get(a);
	check_info(i);
	const ht_cert *c = ht_answer_cert(a);
	FUZZ_CHECK(strcmp(ht_cert_get_info(c)->provider_id, i->provider_id) == 0);
	size_t el;
	const uint8_t *enc = ht_answer_encoded(a, &el);
	FUZZ_CHECK(el == size && memcmp(enc, data, size) == 0);

	/* Bound to its own request_hash only. */
	int rc_own = verify(a, i->request_hash);
	FUZZ_CHECK(rc_own != HT_E_WRONG_REQUEST);
	uint8_t other[HT_MSG_ID_LEN];
	memcpy(other, i->request_hash, sizeof(other));
	other[0] ^= 1;
	int rc_other = verify(a, other);
	FUZZ_CHECK(rc_other == (rc_own == HT_OK ? HT_E_WRONG_REQUEST : rc_own));

	bool mine = memcmp(ht_cert_get_info(c)->sign_key, provider.sign_pk, HT_SIGN_PK_LEN) == 0;
	/* The certificate's own signature can be the fault; the answer's cannot. */
	if (resigned && mine && ht_cert_check_signature(c, anchor.sign_pk) == HT_OK)
		FUZZ_CHECK(rc_own != HT_E_BAD_SIGNATURE);
	if (mine && depth == 0) {
		/* What the parser accepts, the signer accepts, and it comes back the same. */
		size_t cl, len;
		const uint8_t *cert = ht_cert_encoded(c, &cl);
		uint8_t *buf;
		rc = ht_answer_sign(i, &provider, cert, cl, &buf, &len);
		FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM || rc == HT_E_TOO_LARGE);
		if (rc == HT_OK) {
			ht_answer *b;
			rc = ht_answer_parse(buf, len, &b);
			FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM);
			if (rc == HT_OK) {
				FUZZ_CHECK(memcmp(ht_answer_get(b), i, sizeof(*i)) == 0);
				int rc2 = verify(b, i->request_hash);
				/* Only the answer's own signature can have changed. */
				if (ht_cert_check_signature(c, anchor.sign_pk) == HT_OK)
					FUZZ_CHECK(rc2 ==
						   (rc_own == HT_E_BAD_SIGNATURE ? HT_OK : rc_own));
				else
					FUZZ_CHECK(rc2 == rc_own);
				ht_answer_free(b);
			}
			free(buf);
		}
	}
	ht_answer_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	check_answer(data, size, false, 0);

	/* The body again, signed by the fixed provider. */
	ht_envelope *e;
	if (ht_envelope_parse(data, size, &e) == HT_OK) {
		size_t body_len, len;
		const uint8_t *body = ht_envelope_body(e, &body_len);
		uint8_t *buf;
		if (ht_envelope_kind(e) == HT_KIND_HOP_ANSWER &&
		    ht_envelope_sign(HT_KIND_HOP_ANSWER, body, body_len, provider.sign_sk, &buf,
				     &len) == HT_OK) {
			check_answer(buf, len, true, 0);
			free(buf);
		}
		ht_envelope_free(e);
	}

	/* As a sealed box to the fixed answer key. */
	uint8_t *open;
	size_t open_len;
	int rc = ht_unseal(data, size, ans_pk, ans_sk, &open, &open_len);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_DECRYPT || rc == HT_E_NOMEM);
	if (size < HT_SEAL_OVERHEAD)
		FUZZ_CHECK(rc == HT_E_DECRYPT);
	if (rc == HT_OK) {
		FUZZ_CHECK(open_len == size - HT_SEAL_OVERHEAD);
		/* Sealing it again with the same ephemeral key gives the same box. */
		uint8_t *box;
		size_t box_len;
		uint8_t esk[32], epk[32];
		fuzz_seal_ephemeral(esk);
		FUZZ_CHECK(crypto_scalarmult_base(epk, esk) == 0);
		if (memcmp(epk, data, 32) == 0 &&
		    ht_seal(open, open_len, ans_pk, esk, &box, &box_len) == HT_OK) {
			FUZZ_CHECK(box_len == size && memcmp(box, data, size) == 0);
			free(box);
		}
		check_answer(open, open_len, false, 1);
		free(open);
	}
	return 0;
}
