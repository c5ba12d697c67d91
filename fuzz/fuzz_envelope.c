/*
 * Signed envelopes (ht_envelope_parse), the outer layer of every signed
 * message: parse, then verify as each known kind with a fixed key, take the
 * message identity, and check the accessors agree with the input.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/envelope.h"

static const ht_kind kinds[] = {
	HT_KIND_CERTIFICATE,
	HT_KIND_REVOCATION_LIST,
	HT_KIND_TRACE_REQUEST,
	HT_KIND_HOP_ANSWER,
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ht_keys anchor;
	static int have_key;
	fuzz_init();
	if (!have_key) {
		fuzz_anchor_keys(&anchor);
		have_key = 1;
	}

	ht_envelope *e;
	int rc = ht_envelope_parse(data, size, &e);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE);
		FUZZ_CHECK(rc != HT_E_TOO_LARGE || size > HT_ENVELOPE_MAX);
		return 0;
	}
	FUZZ_CHECK(size <= HT_ENVELOPE_MAX);

	uint32_t kind = ht_envelope_kind(e);
	FUZZ_CHECK(kind != 0);
	size_t body_len;
	const uint8_t *body = ht_envelope_body(e, &body_len);
	FUZZ_CHECK(body_len < size);
	FUZZ_CHECK(body_len == 0 || body != NULL);
	const uint8_t *sig = ht_envelope_signature(e);
	FUZZ_CHECK(sig != NULL);
	/* Touch every byte so ASan checks the claimed lengths. */
	uint8_t x = 0;
	for (size_t i = 0; i < body_len; i++)
		x ^= body[i];
	for (size_t i = 0; i < HT_SIG_LEN; i++)
		x ^= sig[i];
	(void)x;

	int verified = 0;
	for (size_t i = 0; i < NKINDS; i++) {
		rc = ht_envelope_verify(e, kinds[i], anchor.sign_pk);
		if (kind != (uint32_t)kinds[i]) {
			FUZZ_CHECK(rc == HT_E_WRONG_KIND);
			continue;
		}
		FUZZ_CHECK(rc == HT_OK || rc == HT_E_BAD_SIGNATURE);
		if (rc == HT_OK)
			verified = 1;
	}

	uint8_t id[HT_MSG_ID_LEN], id2[HT_MSG_ID_LEN];
	rc = ht_envelope_id(e, id);
	const char *domain = ht_kind_domain((ht_kind)kind);
	if (domain) {
		FUZZ_CHECK(rc == HT_OK);
		FUZZ_CHECK(ht_envelope_id(e, id2) == HT_OK);
		FUZZ_CHECK(memcmp(id, id2, sizeof(id)) == 0);
	} else {
		FUZZ_CHECK(rc == HT_E_WRONG_KIND);
		FUZZ_CHECK(!verified);
	}

	/*
	 * A verified envelope re-signed with the same key must carry the same
	 * signature (Ed25519 is deterministic) and the same identity.
	 */
	if (verified) {
		uint8_t *again;
		size_t again_len;
		rc = ht_envelope_sign((ht_kind)kind, body, body_len, anchor.sign_sk, &again,
				      &again_len);
		FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM);
		if (rc == HT_OK) {
			ht_envelope *e2;
			FUZZ_CHECK(ht_envelope_parse(again, again_len, &e2) == HT_OK);
			FUZZ_CHECK(memcmp(ht_envelope_signature(e2), sig, HT_SIG_LEN) == 0);
			FUZZ_CHECK(ht_envelope_id(e2, id2) == HT_OK);
			FUZZ_CHECK(memcmp(id, id2, sizeof(id)) == 0);
			ht_envelope_free(e2);
			free(again);
		}
	}

	ht_envelope_free(e);
	return 0;
}
