/*
 * Peer messages (ht_pmsg_decode): the plaintext of every transport frame.
 * A message that decodes must have only its type's fields set, and the
 * traceback members their lengths (a request envelope, a sealed box, 16-octet
 * trace IDs); one of a known type must encode (ht_pmsg_encode) and decode
 * again to the same fields, and re-encoding that gives the same bytes.
 * Unknown types must refuse to encode. A failed decode leaves nothing behind.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/envelope.h"
#include "hoptrace/peermsg.h"
#include "hoptrace/session.h"
#include "hoptrace/trace.h"

static void check_same(const ht_pmsg *a, const ht_pmsg *b)
{
	FUZZ_CHECK(a->type == b->type);
	FUZZ_CHECK(a->nonce == b->nonce);
	FUZZ_CHECK(a->reason == b->reason);
	FUZZ_CHECK(strcmp(a->detail, b->detail) == 0);
	FUZZ_CHECK(a->has_trace_id == b->has_trace_id);
	FUZZ_CHECK(memcmp(a->trace_id, b->trace_id, sizeof(a->trace_id)) == 0);
	FUZZ_CHECK(a->data_len == b->data_len);
	FUZZ_CHECK((a->data == NULL) == (b->data == NULL));
	if (a->data_len)
		FUZZ_CHECK(memcmp(a->data, b->data, a->data_len) == 0);
	FUZZ_CHECK(a->hop == b->hop);
	FUZZ_CHECK(a->window_time_ms == b->window_time_ms);
	FUZZ_CHECK(a->budget_ms == b->budget_ms);
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();

	ht_pmsg m;
	int rc = ht_pmsg_decode(data, size, &m);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE || rc == HT_E_NOMEM);
		FUZZ_CHECK((rc == HT_E_TOO_LARGE) == (size > HT_PAYLOAD_MAX));
		FUZZ_CHECK(m.data == NULL && m.type == HT_PMSG_UNKNOWN);
		return 0;
	}
	FUZZ_CHECK(size <= HT_PAYLOAD_MAX);
	FUZZ_CHECK(memchr(m.detail, '\0', sizeof(m.detail)) != NULL);
	FUZZ_CHECK(m.type == HT_PMSG_UNKNOWN || m.type == HT_PMSG_PING || m.type == HT_PMSG_PONG ||
		   m.type == HT_PMSG_ERROR || m.type == HT_PMSG_TRACE_FORWARD ||
		   m.type == HT_PMSG_TRACE_ANSWER || m.type == HT_PMSG_TRACE_COMPLETE);
	/* Only the type's own fields are set. */
	if (m.type != HT_PMSG_PING && m.type != HT_PMSG_PONG)
		FUZZ_CHECK(m.nonce == 0);
	if (m.type != HT_PMSG_ERROR)
		FUZZ_CHECK(m.reason == 0 && m.detail[0] == '\0');
	if (m.type != HT_PMSG_TRACE_FORWARD)
		FUZZ_CHECK(m.hop == 0 && m.window_time_ms == 0 && m.budget_ms == 0);
	if (m.type == HT_PMSG_TRACE_ANSWER || m.type == HT_PMSG_TRACE_COMPLETE)
		FUZZ_CHECK(m.has_trace_id);
	else if (m.type != HT_PMSG_ERROR)
		FUZZ_CHECK(!m.has_trace_id);
	if (!m.has_trace_id)
		FUZZ_CHECK(all_zero(m.trace_id, sizeof(m.trace_id)));
	if (m.type == HT_PMSG_TRACE_FORWARD)
		FUZZ_CHECK(m.data && m.data_len >= 1 && m.data_len <= HT_ENVELOPE_MAX);
	else if (m.type == HT_PMSG_TRACE_ANSWER)
		FUZZ_CHECK(m.data && m.data_len >= HT_SEAL_OVERHEAD &&
			   m.data_len <= HT_ENVELOPE_MAX + HT_SEAL_OVERHEAD);
	else
		FUZZ_CHECK(m.data == NULL && m.data_len == 0);

	uint8_t *buf, *buf2;
	size_t len, len2;
	rc = ht_pmsg_encode(&m, &buf, &len);
	if (m.type == HT_PMSG_UNKNOWN) {
		FUZZ_CHECK(rc == HT_E_INVAL);
		return 0;
	}
	if (rc == HT_E_NOMEM) {
		ht_pmsg_clear(&m);
		return 0;
	}
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
	ht_pmsg_clear(&again);
	ht_pmsg_clear(&m);
	return 0;
}
