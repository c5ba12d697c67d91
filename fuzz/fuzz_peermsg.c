/*
 * Peer messages (ht_pmsg_decode): the plaintext of every transport frame.
 * A message that decodes must have only its type's fields set; one of a known
 * type must encode (ht_pmsg_encode) and decode again to the same fields, and
 * re-encoding that gives the same bytes. Unknown types must refuse to encode.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/peermsg.h"
#include "hoptrace/session.h"

static void check_same(const ht_pmsg *a, const ht_pmsg *b)
{
	FUZZ_CHECK(a->type == b->type);
	FUZZ_CHECK(a->nonce == b->nonce);
	FUZZ_CHECK(a->reason == b->reason);
	FUZZ_CHECK(strcmp(a->detail, b->detail) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();

	ht_pmsg m;
	int rc = ht_pmsg_decode(data, size, &m);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE);
		FUZZ_CHECK((rc == HT_E_TOO_LARGE) == (size > HT_PAYLOAD_MAX));
		return 0;
	}
	FUZZ_CHECK(size <= HT_PAYLOAD_MAX);
	FUZZ_CHECK(memchr(m.detail, '\0', sizeof(m.detail)) != NULL);
	FUZZ_CHECK(m.type == HT_PMSG_UNKNOWN || m.type == HT_PMSG_PING || m.type == HT_PMSG_PONG ||
		   m.type == HT_PMSG_ERROR);
	/* Only the type's own fields are set. */
	if (m.type != HT_PMSG_PING && m.type != HT_PMSG_PONG)
		FUZZ_CHECK(m.nonce == 0);
	if (m.type != HT_PMSG_ERROR)
		FUZZ_CHECK(m.reason == 0 && m.detail[0] == '\0');

	uint8_t *buf, *buf2;
	size_t len, len2;
	rc = ht_pmsg_encode(&m, &buf, &len);
	if (m.type == HT_PMSG_UNKNOWN) {
		FUZZ_CHECK(rc == HT_E_INVAL);
		return 0;
	}
	if (rc == HT_E_NOMEM)
		return 0;
	FUZZ_CHECK(rc == HT_OK);
	ht_pmsg again;
	FUZZ_CHECK(ht_pmsg_decode(buf, len, &again) == HT_OK);
	check_same(&m, &again);
	/* The encoding of decoded fields is canonical: a fixed point. */
	rc = ht_pmsg_encode(&again, &buf2, &len2);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM);
	if (rc == HT_OK) {
		FUZZ_CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
		free(buf2);
	}
	free(buf);
	return 0;
}
