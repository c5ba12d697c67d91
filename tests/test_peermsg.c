/* Peer messages: every member of PeerMessage, both ways, and bad lengths. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/peermsg.h"
#include "hoptrace/session.h"
#include "hoptrace/trace.h"
#include "hoptrace/v1/peer.pb-c.h"

/* Encodes `m`, decodes the result, and returns the decoded message. */
static ht_pmsg roundtrip(const ht_pmsg *m)
{
	uint8_t *buf = NULL;
	size_t len;
	assert_int_equal(ht_pmsg_encode(m, &buf, &len), HT_OK);
	ht_pmsg got;
	assert_int_equal(ht_pmsg_decode(buf, len, &got), HT_OK);
	free(buf);
	return got;
}

static void test_ping_pong_error(void **state)
{
	(void)state;
	ht_pmsg m = {.type = HT_PMSG_PING, .nonce = UINT64_MAX};
	ht_pmsg got = roundtrip(&m);
	assert_int_equal(got.type, HT_PMSG_PING);
	assert_int_equal(got.nonce, UINT64_MAX);
	assert_null(got.data);
	ht_pmsg_clear(&got);

	m = (ht_pmsg){.type = HT_PMSG_ERROR, .reason = HT_REASON_DUPLICATE};
	strcpy(m.detail, "seen it");
	got = roundtrip(&m);
	assert_int_equal(got.type, HT_PMSG_ERROR);
	assert_int_equal(got.reason, HT_REASON_DUPLICATE);
	assert_string_equal(got.detail, "seen it");
	assert_false(got.has_trace_id);
	ht_pmsg_clear(&got);

	/* With the trace it is about. */
	m.has_trace_id = true;
	memset(m.trace_id, 0x5c, sizeof(m.trace_id));
	got = roundtrip(&m);
	assert_true(got.has_trace_id);
	assert_memory_equal(got.trace_id, m.trace_id, 16);
	ht_pmsg_clear(&got);
}

static void test_trace_forward(void **state)
{
	(void)state;
	uint8_t req[300];
	for (size_t i = 0; i < sizeof(req); i++)
		req[i] = (uint8_t)i;
	ht_pmsg m = {.type = HT_PMSG_TRACE_FORWARD,
		     .data = req,
		     .data_len = sizeof(req),
		     .hop = 3,
		     .window_time_ms = 1780000000123ULL,
		     .budget_ms = 4500};
	ht_pmsg got = roundtrip(&m);
	assert_int_equal(got.type, HT_PMSG_TRACE_FORWARD);
	assert_int_equal(got.data_len, sizeof(req));
	assert_memory_equal(got.data, req, sizeof(req));
	assert_ptr_not_equal(got.data, req);
	assert_int_equal(got.hop, 3);
	assert_int_equal(got.window_time_ms, 1780000000123ULL);
	assert_int_equal(got.budget_ms, 4500);
	assert_false(got.has_trace_id);
	ht_pmsg_clear(&got);
	assert_null(got.data);
	assert_int_equal(got.type, HT_PMSG_UNKNOWN);

	/* The largest request envelope fits; one more octet, or none, does not. */
	uint8_t *big = calloc(1, HT_ENVELOPE_MAX + 1);
	assert_non_null(big);
	m.data = big;
	m.data_len = HT_ENVELOPE_MAX;
	got = roundtrip(&m);
	assert_int_equal(got.data_len, HT_ENVELOPE_MAX);
	ht_pmsg_clear(&got);
	uint8_t *buf;
	size_t len;
	m.data_len = HT_ENVELOPE_MAX + 1;
	assert_int_equal(ht_pmsg_encode(&m, &buf, &len), HT_E_INVAL);
	m.data_len = 0;
	assert_int_equal(ht_pmsg_encode(&m, &buf, &len), HT_E_INVAL);
	m.data = NULL;
	m.data_len = 10;
	assert_int_equal(ht_pmsg_encode(&m, &buf, &len), HT_E_INVAL);
	free(big);
}

static void test_trace_answer_complete(void **state)
{
	(void)state;
	uint8_t sealed[HT_SEAL_OVERHEAD + 200];
	memset(sealed, 0xee, sizeof(sealed));
	ht_pmsg m = {.type = HT_PMSG_TRACE_ANSWER, .data = sealed, .data_len = sizeof(sealed)};
	memset(m.trace_id, 0x42, 16);
	ht_pmsg got = roundtrip(&m);
	assert_int_equal(got.type, HT_PMSG_TRACE_ANSWER);
	assert_true(got.has_trace_id);
	assert_memory_equal(got.trace_id, m.trace_id, 16);
	assert_int_equal(got.data_len, sizeof(sealed));
	assert_memory_equal(got.data, sealed, sizeof(sealed));
	ht_pmsg_clear(&got);

	uint8_t *buf;
	size_t len;
	m.data_len = HT_SEAL_OVERHEAD - 1;
	assert_int_equal(ht_pmsg_encode(&m, &buf, &len), HT_E_INVAL);
	m.data_len = HT_SEAL_OVERHEAD;
	got = roundtrip(&m);
	assert_int_equal(got.data_len, HT_SEAL_OVERHEAD);
	ht_pmsg_clear(&got);
	uint8_t *big = calloc(1, HT_ENVELOPE_MAX + HT_SEAL_OVERHEAD + 1);
	assert_non_null(big);
	m.data = big;
	m.data_len = HT_ENVELOPE_MAX + HT_SEAL_OVERHEAD;
	got = roundtrip(&m);
	ht_pmsg_clear(&got);
	m.data_len++;
	assert_int_equal(ht_pmsg_encode(&m, &buf, &len), HT_E_INVAL);
	free(big);

	m = (ht_pmsg){.type = HT_PMSG_TRACE_COMPLETE};
	memset(m.trace_id, 0x17, 16);
	got = roundtrip(&m);
	assert_int_equal(got.type, HT_PMSG_TRACE_COMPLETE);
	assert_true(got.has_trace_id);
	assert_memory_equal(got.trace_id, m.trace_id, 16);
	assert_null(got.data);
	ht_pmsg_clear(&got);

	m = (ht_pmsg){.type = HT_PMSG_UNKNOWN};
	assert_int_equal(ht_pmsg_encode(&m, &buf, &len), HT_E_INVAL);
	m.type = (ht_pmsg_type)3;
	assert_int_equal(ht_pmsg_encode(&m, &buf, &len), HT_E_INVAL);
}

/* Packs a hand-built PeerMessage and decodes it. */
static int decode_msg(const Hoptrace__V1__PeerMessage *pm, ht_pmsg *out)
{
	size_t n = protobuf_c_message_get_packed_size(&pm->base);
	uint8_t *b = malloc(n + 1);
	assert_non_null(b);
	assert_int_equal(protobuf_c_message_pack(&pm->base, b), n);
	int rc = ht_pmsg_decode(b, n, out);
	free(b);
	if (rc != HT_OK) {
		/* Nothing left to free, nothing half-filled. */
		assert_null(out->data);
		assert_int_equal(out->type, HT_PMSG_UNKNOWN);
	}
	return rc;
}

static void test_decode_bad_lengths(void **state)
{
	(void)state;
	uint8_t bytes[HT_ENVELOPE_MAX + HT_SEAL_OVERHEAD + 1] = {0};
	Hoptrace__V1__PeerMessage pm = HOPTRACE__V1__PEER_MESSAGE__INIT;
	Hoptrace__V1__TraceForward f = HOPTRACE__V1__TRACE_FORWARD__INIT;
	Hoptrace__V1__TraceAnswer a = HOPTRACE__V1__TRACE_ANSWER__INIT;
	Hoptrace__V1__TraceComplete c = HOPTRACE__V1__TRACE_COMPLETE__INIT;
	Hoptrace__V1__Error e = HOPTRACE__V1__ERROR__INIT;
	ht_pmsg out;

	pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_TRACE_FORWARD;
	pm.trace_forward = &f;
	f.request.data = bytes;
	assert_int_equal(decode_msg(&pm, &out), HT_E_MALFORMED); /* empty request */
	f.request.len = HT_ENVELOPE_MAX + 1;
	assert_int_equal(decode_msg(&pm, &out), HT_E_MALFORMED);
	f.request.len = 1;
	assert_int_equal(decode_msg(&pm, &out), HT_OK);
	ht_pmsg_clear(&out);

	pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_TRACE_ANSWER;
	pm.trace_answer = &a;
	a.trace_id.data = bytes;
	a.trace_id.len = 16;
	a.sealed_answer.data = bytes;
	a.sealed_answer.len = HT_SEAL_OVERHEAD;
	assert_int_equal(decode_msg(&pm, &out), HT_OK);
	ht_pmsg_clear(&out);
	a.sealed_answer.len = HT_SEAL_OVERHEAD - 1;
	assert_int_equal(decode_msg(&pm, &out), HT_E_MALFORMED);
	a.sealed_answer.len = HT_ENVELOPE_MAX + HT_SEAL_OVERHEAD + 1;
	assert_int_equal(decode_msg(&pm, &out), HT_E_MALFORMED);
	a.sealed_answer.len = HT_SEAL_OVERHEAD;
	a.trace_id.len = 15;
	assert_int_equal(decode_msg(&pm, &out), HT_E_MALFORMED);
	a.trace_id.len = 17;
	assert_int_equal(decode_msg(&pm, &out), HT_E_MALFORMED);
	a.trace_id.len = 0;
	assert_int_equal(decode_msg(&pm, &out), HT_E_MALFORMED);

	pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_TRACE_COMPLETE;
	pm.trace_complete = &c;
	c.trace_id.data = bytes;
	assert_int_equal(decode_msg(&pm, &out), HT_E_MALFORMED);
	c.trace_id.len = 32;
	assert_int_equal(decode_msg(&pm, &out), HT_E_MALFORMED);
	c.trace_id.len = 16;
	assert_int_equal(decode_msg(&pm, &out), HT_OK);
	ht_pmsg_clear(&out);

	pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_ERROR;
	pm.error = &e;
	e.reason = HOPTRACE__V1__REASON__REASON_RATE_LIMITED;
	e.trace_id.data = bytes;
	e.trace_id.len = 8;
	assert_int_equal(decode_msg(&pm, &out), HT_E_MALFORMED);
	e.trace_id.len = 0;
	assert_int_equal(decode_msg(&pm, &out), HT_OK);
	assert_false(out.has_trace_id);
	assert_int_equal(out.reason, HT_REASON_RATE_LIMITED);
	ht_pmsg_clear(&out);
}

/* A member this version does not know (field 9) is ignored, not refused. */
static void test_unknown_member(void **state)
{
	(void)state;
	static const uint8_t unk[] = {0x4a, 0x02, 0x08, 0x01};
	ht_pmsg out;
	assert_int_equal(ht_pmsg_decode(unk, sizeof(unk), &out), HT_OK);
	assert_int_equal(out.type, HT_PMSG_UNKNOWN);
	ht_pmsg_clear(&out);
	/* The reserved draft numbers 3 and 4 too. */
	static const uint8_t draft[] = {0x1a, 0x00};
	assert_int_equal(ht_pmsg_decode(draft, sizeof(draft), &out), HT_OK);
	assert_int_equal(out.type, HT_PMSG_UNKNOWN);
	static const uint8_t junk[] = {0x32, 0x05, 0x0a};
	assert_int_equal(ht_pmsg_decode(junk, sizeof(junk), &out), HT_E_MALFORMED);
	ht_pmsg_clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_pong_error),
		cmocka_unit_test(test_trace_forward),
		cmocka_unit_test(test_trace_answer_complete),
		cmocka_unit_test(test_decode_bad_lengths),
		cmocka_unit_test(test_unknown_member),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
