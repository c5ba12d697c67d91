/*
 * The evidence bundle: encoding, and ht_bundle_verify on a realistic trace
 * (bundle_fixture.h) and on that trace tampered in each field, both as a
 * relay would (the signature no longer verifies) and as a lying hop would
 * (re-signed by its own key, so only the chain can catch it).
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_fixture.h"
#include "hoptrace/trace.h"
#include "hoptrace/trust.h"
#include "hoptrace/v1/envelope.pb-c.h"
#include "hoptrace/v1/trace.pb-c.h"

static struct fx F;
static ht_trust *T;

static int setup(void **state)
{
	(void)state;
	fx_init(&F);
	T = fx_trust(&F, NULL, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	ht_trust_free(T);
	fx_free(&F);
	return 0;
}

/* The fixture's answers as they were built (tests edit F, then restore). */
static void reset(void)
{
	ht_trust_free(T);
	fx_free(&F);
	setup(NULL);
}

/* Verifies `b` and expects the failure `err` at `answer`, `why` in the sentence. */
static void expect_fail(const uint8_t *b, size_t len, const ht_trust *t, int err, ssize_t answer,
			const char *why)
{
	ht_bundle_report rep;
	int rc = ht_bundle_verify(b, len, t, &rep);
	if (rc != err || !strstr(rep.why, why) || rep.failed_answer != answer)
		print_message("got %s, answer %zd: %s\n", ht_errname(rc), rep.failed_answer,
			      rep.why);
	assert_int_equal(rc, err);
	assert_int_equal(rep.error, err);
	assert_int_equal(rep.failed_answer, answer);
	assert_non_null(strstr(rep.why, why));
	assert_null(rep.nodes);
	assert_int_equal(rep.n_nodes, 0);
	ht_bundle_report_free(&rep);
}

/* The fixture's bundle as it stands now, expected to fail like that. */
static void expect_fx_fail(int err, ssize_t answer, const char *why)
{
	size_t len;
	uint8_t *b = fx_bundle(&F, &len);
	expect_fail(b, len, T, err, answer, why);
	free(b);
}

static void verify_ok(const uint8_t *b, size_t len, const ht_trust *t, ht_bundle_report *rep)
{
	int rc = ht_bundle_verify(b, len, t, rep);
	if (rc != HT_OK)
		print_message("rejected: %s\n", rep->why);
	assert_int_equal(rc, HT_OK);
	assert_int_equal(rep->error, HT_OK);
	assert_int_equal(rep->failed_answer, -1);
}

/* ---- Tampering helpers -------------------------------------------------- */

/* The first occurrence of `needle` in `hay`, or NULL (memmem is not POSIX). */
static uint8_t *find(uint8_t *hay, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

/* An envelope of `kind` with `body` and the given signature, not re-signed. */
static uint8_t *envelope(uint32_t kind, const uint8_t *body, size_t body_len, const uint8_t *sig,
			 size_t *len)
{
	Hoptrace__V1__SignedEnvelope e = HOPTRACE__V1__SIGNED_ENVELOPE__INIT;
	e.kind = (Hoptrace__V1__MessageKind)kind;
	e.body.data = (uint8_t *)body;
	e.body.len = body_len;
	e.signature.data = (uint8_t *)sig;
	e.signature.len = HT_SIG_LEN;
	*len = protobuf_c_message_get_packed_size(&e.base);
	uint8_t *out = malloc(*len);
	assert_non_null(out);
	protobuf_c_message_pack(&e.base, out);
	return out;
}

enum amut {
	M_PROVIDER,      /* provider_id CARRIER-D -> CARRIER-E */
	M_ASKED_BY,      /* asked_by: last letter + 1 */
	M_HOP,           /* hop + 1 */
	M_STATUS,        /* REFUSED -> NOT_FOUND (reason cleared) */
	M_CALL_UPSTREAM, /* first call's upstream: last letter + 1 */
	M_CUSTOMER_REF,  /* first call's customer_ref: first letter upper-case */
	M_RECORD_TIME,   /* first call's record_time_ms + 1 */
	M_WINDOW_TIME,   /* window_time_ms + 1 */
	M_REQUEST_HASH,  /* request_hash first octet ^ 1 */
	M_CERT_OF_E,     /* certificate: CARRIER-E's */
	M_REASON,        /* reason -> 15 */
	M_ANSWERED,      /* answered_ms + 1 */
};

/*
 * Answer `i` of the fixture with one field changed in its body, then either
 * re-signed with `resign` or carrying its old signature (NULL).
 */
static void mutate(size_t i, enum amut m, const ht_keys *resign)
{
	ht_envelope *e;
	assert_int_equal(ht_envelope_parse(F.ans[i], F.ans_len[i], &e), HT_OK);
	size_t body_len;
	const uint8_t *body = ht_envelope_body(e, &body_len);
	Hoptrace__V1__HopAnswer *h = hoptrace__v1__hop_answer__unpack(NULL, body_len, body);
	assert_non_null(h);
	ProtobufCBinaryData saved = h->certificate;
	switch (m) {
	case M_PROVIDER:
		assert_int_equal(h->provider_id.len, strlen("CARRIER-D"));
		memcpy(h->provider_id.data, "CARRIER-E", h->provider_id.len);
		break;
	case M_ASKED_BY:
		h->asked_by.data[h->asked_by.len - 1]++;
		break;
	case M_HOP:
		h->hop++;
		break;
	case M_STATUS:
		assert_int_equal(h->status, HT_ANSWER_REFUSED);
		h->status = HOPTRACE__V1__ANSWER_STATUS__ANSWER_STATUS_NOT_FOUND;
		h->reason = 0;
		break;
	case M_CALL_UPSTREAM:
		h->calls[0]->upstream.data[h->calls[0]->upstream.len - 1]++;
		break;
	case M_CUSTOMER_REF:
		h->calls[0]->customer_ref.data[0] = 'C';
		break;
	case M_RECORD_TIME:
		h->calls[0]->record_time_ms++;
		break;
	case M_WINDOW_TIME:
		h->window_time_ms++;
		break;
	case M_REQUEST_HASH:
		h->request_hash.data[0] ^= 1;
		break;
	case M_CERT_OF_E:
		h->certificate.data = F.cert[FX_E];
		h->certificate.len = F.cert_len[FX_E];
		break;
	case M_REASON:
		h->reason = 15;
		break;
	case M_ANSWERED:
		h->answered_ms++;
		break;
	}
	size_t nb_len = protobuf_c_message_get_packed_size(&h->base), len;
	uint8_t *nb = malloc(nb_len), *out;
	assert_non_null(nb);
	protobuf_c_message_pack(&h->base, nb);
	h->certificate = saved;
	hoptrace__v1__hop_answer__free_unpacked(h, NULL);
	if (resign)
		assert_int_equal(ht_envelope_sign(HT_KIND_HOP_ANSWER, nb, nb_len, resign->sign_sk,
						  &out, &len),
				 HT_OK);
	else
		out = envelope(HT_KIND_HOP_ANSWER, nb, nb_len, ht_envelope_signature(e), &len);
	free(nb);
	ht_envelope_free(e);
	fx_set(&F, i, out, len);
}

/* The fixture's answer `i` changed by `m`, kept signature: rejected as `err`, `why`. */
static void relay_tamper(size_t i, enum amut m, int err, const char *why)
{
	reset();
	mutate(i, m, NULL);
	expect_fx_fail(err, (ssize_t)i, why);
}

/* The same change re-signed by the answering hop itself. */
static void hop_lies(size_t i, enum amut m, int err, ssize_t at, const char *why)
{
	reset();
	mutate(i, m, &F.keys[F.who[i]]);
	expect_fx_fail(err, at, why);
}

/*
 * A bundle made field by field, for what ht_bundle_encode refuses to make.
 * `crit` NULL: no critical list.
 */
static uint8_t *raw_bundle(uint32_t version, const char *calling, const char *called,
			   const uint32_t *crit, size_t ncrit, size_t *len)
{
	ProtobufCBinaryData *ans = calloc(F.n + 1, sizeof(*ans));
	assert_non_null(ans);
	for (size_t i = 0; i < F.n; i++) {
		ans[i].data = F.ans[i];
		ans[i].len = F.ans_len[i];
	}
	Hoptrace__V1__EvidenceBundle b = HOPTRACE__V1__EVIDENCE_BUNDLE__INIT;
	b.version = version;
	b.request.data = F.req;
	b.request.len = F.req_len;
	b.calling.data = (uint8_t *)calling;
	b.calling.len = strlen(calling);
	b.called.data = (uint8_t *)called;
	b.called.len = strlen(called);
	b.answers = ans;
	b.n_answers = F.n;
	b.exported_ms = F.created_ms + 5000;
	b.critical = (uint32_t *)crit;
	b.n_critical = ncrit;
	*len = protobuf_c_message_get_packed_size(&b.base);
	uint8_t *out = malloc(*len);
	assert_non_null(out);
	protobuf_c_message_pack(&b.base, out);
	free(ans);
	return out;
}

/* ---- The good bundle ---------------------------------------------------- */

static void test_good_bundle(void **state)
{
	(void)state;
	reset();
	size_t len;
	uint8_t *b = fx_bundle(&F, &len);
	ht_bundle_report rep;
	verify_ok(b, len, T, &rep);

	assert_string_equal(rep.request.initiator_id, "TRACEBACK-HQ");
	assert_int_equal(rep.request.created_ms, F.created_ms);
	assert_int_equal(rep.request.call_time_ms, F.call_time_ms);
	assert_int_equal(rep.request.hop_limit, 16);
	assert_int_equal(rep.request.hint_bits, 12);
	assert_string_equal(rep.request.label, FX_LABEL);
	assert_string_equal(rep.calling, F.calling);
	assert_string_equal(rep.called, F.called);
	assert_true(rep.origin_found);
	assert_int_equal(rep.n_open, 0);

	/* By hop, then bundle order; parents point one hop down (dead end: same hop). */
	static const struct {
		size_t answer;
		int who;
		uint32_t hop, status;
		ssize_t parent;
	} want[] = {
		{0, FX_T, 0, HT_ANSWER_FOUND, -1}, {1, FX_B, 1, HT_ANSWER_FOUND, 0},
		{2, FX_C, 2, HT_ANSWER_FOUND, 1},  {3, FX_C, 2, HT_ANSWER_DEAD_END, 2},
		{4, FX_D, 3, HT_ANSWER_FOUND, 2},  {5, FX_E, 3, HT_ANSWER_REFUSED, 2},
	};
	assert_int_equal(rep.n_nodes, 6);
	for (size_t k = 0; k < 6; k++) {
		const ht_bundle_node *n = &rep.nodes[k];
		assert_int_equal(n->answer, want[k].answer);
		assert_string_equal(n->info.provider_id, fx_ids[want[k].who]);
		assert_int_equal(n->info.hop, want[k].hop);
		assert_int_equal(n->info.status, want[k].status);
		assert_int_equal(n->parent, want[k].parent);
	}
	assert_int_equal(rep.nodes[2].info.n_calls, 3);
	assert_string_equal(rep.nodes[3].info.upstream, "CARRIER-X");
	assert_int_equal(rep.nodes[3].info.reason, HT_REASON_UPSTREAM_NOT_PARTICIPANT);
	assert_true(rep.nodes[4].info.calls[0].originated_here);
	assert_string_equal(rep.nodes[4].info.calls[0].customer_ref, FX_CUSTOMER);
	assert_int_equal(rep.nodes[5].info.reason, HT_REASON_POLICY_REFUSED);
	ht_bundle_report_free(&rep);
	assert_null(rep.nodes);
	ht_bundle_report_free(&rep); /* twice is harmless */
	free(b);
}

/* Answers in any order make the same tree. */
static void test_order_does_not_matter(void **state)
{
	(void)state;
	reset();
	struct fx g = F; /* shallow: the buffers stay F's */
	for (size_t i = 0; i < F.n; i++) {
		g.ans[i] = F.ans[F.n - 1 - i];
		g.ans_len[i] = F.ans_len[F.n - 1 - i];
	}
	size_t len;
	uint8_t *b = fx_bundle(&g, &len);
	ht_bundle_report rep;
	verify_ok(b, len, T, &rep);
	assert_int_equal(rep.n_nodes, 6);
	assert_int_equal(rep.nodes[0].answer, 5); /* T's, last in the bundle */
	assert_string_equal(rep.nodes[5].info.provider_id, "CARRIER-D"); /* hop 3, first of two */
	assert_int_equal(rep.nodes[5].parent, 3); /* C's FOUND, after its dead end */
	assert_int_equal(rep.nodes[3].info.status, HT_ANSWER_FOUND);
	assert_true(rep.origin_found);
	ht_bundle_report_free(&rep);
	free(b);
}

/* A branch nobody answered for is open, not an error. */
static void test_open_branches(void **state)
{
	(void)state;
	reset();
	fx_remove(&F, 5); /* E's refusal */
	size_t len;
	uint8_t *b = fx_bundle(&F, &len);
	ht_bundle_report rep;
	verify_ok(b, len, T, &rep);
	assert_int_equal(rep.n_nodes, 5);
	assert_int_equal(rep.n_open, 1);
	assert_true(rep.origin_found);
	ht_bundle_report_free(&rep);
	free(b);

	fx_remove(&F, 4); /* D's origin too */
	fx_remove(&F, 3); /* and C's dead end */
	b = fx_bundle(&F, &len);
	verify_ok(b, len, T, &rep);
	assert_int_equal(rep.n_open, 3);
	assert_false(rep.origin_found);
	ht_bundle_report_free(&rep);
	free(b);

	/* Only the request: verified, nothing found. */
	while (F.n)
		fx_remove(&F, 0);
	b = fx_bundle(&F, &len);
	verify_ok(b, len, T, &rep);
	assert_int_equal(rep.n_nodes, 0);
	assert_int_equal(rep.n_open, 0);
	assert_false(rep.origin_found);
	ht_bundle_report_free(&rep);
	free(b);
}

/* Two calls handed over by the same upstream are one branch. */
static void test_same_upstream_twice(void **state)
{
	(void)state;
	reset();
	ht_answer_info a = F.info[1];
	a.calls[1] = a.calls[0];
	a.calls[1].record_time_ms += 900;
	a.n_calls = 2;
	size_t len;
	fx_put(&F, 1, &a, FX_B);
	uint8_t *b = fx_bundle(&F, &len);
	ht_bundle_report rep;
	verify_ok(b, len, T, &rep);
	assert_int_equal(rep.n_open, 0);
	ht_bundle_report_free(&rep);
	free(b);

	/* The hop above may have matched around either call's record time. */
	ht_answer_info c = F.info[2];
	c.window_time_ms = a.calls[1].record_time_ms;
	fx_put(&F, 2, &c, FX_C);
	b = fx_bundle(&F, &len);
	verify_ok(b, len, T, &rep);
	ht_bundle_report_free(&rep);
	free(b);
}

/* ---- The request -------------------------------------------------------- */

/* A bundle of the fixture's answers with another request in it. */
static void with_request(uint8_t *req, size_t req_len)
{
	free(F.req);
	F.req = req;
	F.req_len = req_len;
}

static void test_request_body_byte(void **state)
{
	(void)state;
	reset();
	size_t len;
	uint8_t *b = fx_bundle(&F, &len);
	/* One letter of the label, inside the signed body. */
	uint8_t *p = find(b, len, "campaign", 8);
	assert_non_null(p);
	p[0] = 'C';
	expect_fail(b, len, T, HT_E_BAD_SIGNATURE, -1, "request signature does not verify");
	free(b);
}

static void test_request_signature(void **state)
{
	(void)state;
	reset();
	ht_envelope *e;
	assert_int_equal(ht_envelope_parse(F.req, F.req_len, &e), HT_OK);
	size_t len;
	uint8_t *b = fx_bundle(&F, &len);
	uint8_t *p = find(b, len, ht_envelope_signature(e), HT_SIG_LEN);
	assert_non_null(p);
	p[17] ^= 0x20;
	expect_fail(b, len, T, HT_E_BAD_SIGNATURE, -1, "request signature does not verify");
	free(b);
	ht_envelope_free(e);
}

static void test_request_not_parsing(void **state)
{
	(void)state;
	reset();
	uint8_t junk[] = {0x0a, 0x03, 'x', 'y', 'z'};
	with_request(tu_dup(junk, sizeof(junk)), sizeof(junk));
	expect_fx_fail(HT_E_MALFORMED, -1, "request does not parse");
	/* An answer envelope is not a request. */
	reset();
	with_request(tu_dup(F.ans[0], F.ans_len[0]), F.ans_len[0]);
	expect_fx_fail(HT_E_WRONG_KIND, -1, "request does not parse");
}

static void test_initiator_cert(void **state)
{
	(void)state;
	size_t cl, rl;
	uint8_t *c, *r;

	/* Issued by an anchor the verifier does not trust. */
	reset();
	c = fx_cert(&F, FX_I, &F.other_anchor, 100, HT_ROLE_INITIATOR, 1767225600, 1798761600, &cl);
	r = fx_request(&F, c, cl, 0x5e, 12, &rl);
	with_request(r, rl);
	expect_fx_fail(HT_E_UNKNOWN_ANCHOR, -1,
		       "initiator certificate (TRACEBACK-HQ, serial 100): not issued by a given "
		       "anchor");
	free(c);

	/* Without the initiator role. */
	reset();
	c = fx_cert(&F, FX_I, &F.anchor, 100, 0, 1767225600, 1798761600, &cl);
	r = fx_request(&F, c, cl, 0x5e, 12, &rl);
	with_request(r, rl);
	expect_fx_fail(HT_E_MISSING_ROLE, -1, "lacks the initiator role");
	free(c);

	/* Expired before the request was created (the answers' certificates do not matter). */
	reset();
	c = fx_cert(&F, FX_I, &F.anchor, 100, HT_ROLE_INITIATOR, 1767225600,
		    F.created_ms / 1000 - 1, &cl);
	r = fx_request(&F, c, cl, 0x5e, 12, &rl);
	with_request(r, rl);
	expect_fx_fail(HT_E_EXPIRED, -1,
		       "initiator certificate (TRACEBACK-HQ, serial 100): expired "
		       "at 2026-05-28T20:26:40Z");
	free(c);

	/* Not yet valid then. */
	reset();
	c = fx_cert(&F, FX_I, &F.anchor, 100, HT_ROLE_INITIATOR, F.created_ms / 1000 + 1,
		    1798761600, &cl);
	r = fx_request(&F, c, cl, 0x5e, 12, &rl);
	with_request(r, rl);
	expect_fx_fail(HT_E_NOT_YET_VALID, -1, "not yet valid at 2026-05-28T20:26:40Z");
	free(c);

	/* Revoked. */
	reset();
	const uint64_t serial = 100;
	size_t crl_len;
	uint8_t *crl = tu_crl_issue(&F.anchor, 1, &serial, 1, &crl_len);
	ht_trust *t = fx_trust(&F, crl, crl_len);
	size_t len;
	uint8_t *b = fx_bundle(&F, &len);
	expect_fail(b, len, t, HT_E_REVOKED, -1, "serial 100 is on the revocation list");
	free(b);
	free(crl);
	ht_trust_free(t);

	/* TRACEBACK-HQ's ID on a certificate for another key, signed by the real key. */
	reset();
	ht_keys ik = F.keys[FX_I];
	F.keys[FX_I] = F.keys[FX_E];
	c = fx_cert(&F, FX_I, &F.anchor, 100, HT_ROLE_INITIATOR, 1767225600, 1798761600, &cl);
	F.keys[FX_I] = ik;
	ht_envelope *e;
	assert_int_equal(ht_envelope_parse(F.req, F.req_len, &e), HT_OK);
	size_t body_len;
	const uint8_t *body = ht_envelope_body(e, &body_len);
	Hoptrace__V1__TraceRequest *q = hoptrace__v1__trace_request__unpack(NULL, body_len, body);
	assert_non_null(q);
	ProtobufCBinaryData saved = q->initiator_cert;
	q->initiator_cert.data = c;
	q->initiator_cert.len = cl;
	size_t nb_len = protobuf_c_message_get_packed_size(&q->base);
	uint8_t *nb = malloc(nb_len);
	assert_non_null(nb);
	protobuf_c_message_pack(&q->base, nb);
	q->initiator_cert = saved;
	hoptrace__v1__trace_request__free_unpacked(q, NULL);
	assert_int_equal(
		ht_envelope_sign(HT_KIND_TRACE_REQUEST, nb, nb_len, F.keys[FX_I].sign_sk, &r, &rl),
		HT_OK);
	with_request(r, rl);
	expect_fx_fail(HT_E_BAD_SIGNATURE, -1, "request signature does not verify");
	free(nb);
	ht_envelope_free(e);
	free(c);

	/* Another provider's certificate: it does not name the initiator. */
	reset();
	assert_int_equal(ht_envelope_parse(F.req, F.req_len, &e), HT_OK);
	body = ht_envelope_body(e, &body_len);
	q = hoptrace__v1__trace_request__unpack(NULL, body_len, body);
	assert_non_null(q);
	saved = q->initiator_cert;
	q->initiator_cert.data = F.cert[FX_T];
	q->initiator_cert.len = F.cert_len[FX_T];
	nb_len = protobuf_c_message_get_packed_size(&q->base);
	nb = malloc(nb_len);
	assert_non_null(nb);
	protobuf_c_message_pack(&q->base, nb);
	q->initiator_cert = saved;
	hoptrace__v1__trace_request__free_unpacked(q, NULL);
	assert_int_equal(
		ht_envelope_sign(HT_KIND_TRACE_REQUEST, nb, nb_len, F.keys[FX_T].sign_sk, &r, &rl),
		HT_OK);
	with_request(r, rl);
	expect_fx_fail(HT_E_MALFORMED, -1, "request does not parse");
	free(nb);
	ht_envelope_free(e);
}

/* ---- The opening -------------------------------------------------------- */

static void test_opening(void **state)
{
	(void)state;
	reset();
	size_t len;
	uint8_t *b;

	char num[HT_E164_BUF];
	snprintf(num, sizeof(num), "%s", F.calling);
	num[5] = num[5] == '9' ? '8' : (char)(num[5] + 1);
	b = raw_bundle(1, num, F.called, NULL, 0, &len);
	expect_fail(b, len, T, HT_E_BAD_SIGNATURE, -1, "do not match the request's commitment");
	free(b);

	snprintf(num, sizeof(num), "%s", F.called);
	num[10] = num[10] == '9' ? '8' : (char)(num[10] + 1);
	b = raw_bundle(1, F.calling, num, NULL, 0, &len);
	expect_fail(b, len, T, HT_E_BAD_SIGNATURE, -1, "do not match the request's commitment");
	free(b);

	/* Swapped. */
	b = raw_bundle(1, F.called, F.calling, NULL, 0, &len);
	expect_fail(b, len, T, HT_E_BAD_SIGNATURE, -1, "commitment");
	free(b);

	/* Not E.164 digits: formatting, too long, empty, a leading zero. */
	static const char *const bad[] = {"+12025550143", "1202555014312345", "", "02025550143",
					  "1202555014x"};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		b = raw_bundle(1, bad[k], F.called, NULL, 0, &len);
		expect_fail(b, len, T, HT_E_MALFORMED, -1,
			    "the calling number is not E.164 digits");
		free(b);
		b = raw_bundle(1, F.calling, bad[k], NULL, 0, &len);
		expect_fail(b, len, T, HT_E_MALFORMED, -1, "the called number is not E.164 digits");
		free(b);
	}
	/* A NUL inside. */
	Hoptrace__V1__EvidenceBundle eb = HOPTRACE__V1__EVIDENCE_BUNDLE__INIT;
	eb.version = 1;
	eb.request.data = F.req;
	eb.request.len = F.req_len;
	eb.exported_ms = 1;
	eb.calling.data = (uint8_t *)"1202555\0"
				     "143"; /* 11 octets, a NUL inside */
	eb.calling.len = 11;
	eb.called.data = (uint8_t *)F.called;
	eb.called.len = strlen(F.called);
	len = protobuf_c_message_get_packed_size(&eb.base);
	b = malloc(len);
	assert_non_null(b);
	protobuf_c_message_pack(&eb.base, b);
	expect_fail(b, len, T, HT_E_MALFORMED, -1, "the calling number is not E.164 digits");
	free(b);
}

/* The hint: a request whose hint does not belong to its numbers. */
static void test_hint(void **state)
{
	(void)state;
	reset();
	ht_envelope *e;
	assert_int_equal(ht_envelope_parse(F.req, F.req_len, &e), HT_OK);
	size_t body_len, rl;
	const uint8_t *body = ht_envelope_body(e, &body_len);
	Hoptrace__V1__TraceRequest *q = hoptrace__v1__trace_request__unpack(NULL, body_len, body);
	assert_non_null(q);
	assert_int_equal(q->hint_bits, 12);
	q->hint ^= 0x0010; /* the lowest given bit */
	size_t nb_len = protobuf_c_message_get_packed_size(&q->base);
	uint8_t *nb = malloc(nb_len), *r;
	assert_non_null(nb);
	protobuf_c_message_pack(&q->base, nb);
	hoptrace__v1__trace_request__free_unpacked(q, NULL);
	/* Signed by the initiator: only the opening can tell. */
	assert_int_equal(
		ht_envelope_sign(HT_KIND_TRACE_REQUEST, nb, nb_len, F.keys[FX_I].sign_sk, &r, &rl),
		HT_OK);
	free(nb);
	ht_envelope_free(e);
	with_request(r, rl);
	expect_fx_fail(HT_E_BAD_SIGNATURE, -1, "hint");

	/* No hint at all: nothing to check. */
	reset();
	uint8_t *r0 = fx_request(&F, F.cert[FX_I], F.cert_len[FX_I], 0x5e, 0, &rl);
	with_request(r0, rl);
	while (F.n)
		fx_remove(&F, 0);
	size_t len;
	uint8_t *b = fx_bundle(&F, &len);
	ht_bundle_report rep;
	verify_ok(b, len, T, &rep);
	assert_int_equal(rep.request.hint_bits, 0);
	ht_bundle_report_free(&rep);
	free(b);

	/* All 16 bits. */
	uint8_t *r16 = fx_request(&F, F.cert[FX_I], F.cert_len[FX_I], 0x5e, 16, &rl);
	with_request(r16, rl);
	b = fx_bundle(&F, &len);
	verify_ok(b, len, T, &rep);
	assert_int_equal(rep.request.hint, ht_call_hint(F.calling, F.called));
	ht_bundle_report_free(&rep);
	free(b);
}

/* ---- The answers, tampered on the way (signature kept) ------------------ */

static void test_relay_tampers_each_field(void **state)
{
	(void)state;
	/* A relay cannot re-sign: whatever it changes, the signature tells. */
	relay_tamper(1, M_ASKED_BY, HT_E_BAD_SIGNATURE,
		     "answer 1 (CARRIER-B, hop 1): signature does not verify");
	relay_tamper(1, M_HOP, HT_E_BAD_SIGNATURE,
		     "answer 1 (CARRIER-B, hop 2): signature does not verify");
	relay_tamper(5, M_STATUS, HT_E_BAD_SIGNATURE,
		     "answer 5 (CARRIER-E, hop 3): signature does not verify");
	relay_tamper(2, M_CALL_UPSTREAM, HT_E_BAD_SIGNATURE,
		     "answer 2 (CARRIER-C, hop 2): signature does not verify");
	relay_tamper(4, M_CUSTOMER_REF, HT_E_BAD_SIGNATURE,
		     "answer 4 (CARRIER-D, hop 3): signature does not verify");
	relay_tamper(4, M_RECORD_TIME, HT_E_BAD_SIGNATURE,
		     "answer 4 (CARRIER-D, hop 3): signature does not verify");
	relay_tamper(3, M_WINDOW_TIME, HT_E_BAD_SIGNATURE,
		     "answer 3 (CARRIER-C, hop 2): signature does not verify");
	relay_tamper(0, M_REQUEST_HASH, HT_E_BAD_SIGNATURE,
		     "answer 0 (CARRIER-T, hop 0): signature does not verify");
	relay_tamper(3, M_REASON, HT_E_BAD_SIGNATURE,
		     "answer 3 (CARRIER-C, hop 2): signature does not verify");
	relay_tamper(4, M_ANSWERED, HT_E_BAD_SIGNATURE,
		     "answer 4 (CARRIER-D, hop 3): signature does not verify");
	/* The provider is tied to the certificate before any signature is checked. */
	relay_tamper(4, M_PROVIDER, HT_E_MALFORMED,
		     "answer 4: provider_id CARRIER-E is not its certificate's (CARRIER-D)");
	relay_tamper(4, M_CERT_OF_E, HT_E_MALFORMED,
		     "answer 4: provider_id CARRIER-D is not its certificate's (CARRIER-E)");
}

static void test_answer_signature(void **state)
{
	(void)state;
	reset();
	ht_envelope *e;
	assert_int_equal(ht_envelope_parse(F.ans[4], F.ans_len[4], &e), HT_OK);
	uint8_t *p = find(F.ans[4], F.ans_len[4], ht_envelope_signature(e), HT_SIG_LEN);
	assert_non_null(p);
	ht_envelope_free(e);
	p[HT_SIG_LEN - 1] ^= 0x01;
	expect_fx_fail(HT_E_BAD_SIGNATURE, 4,
		       "answer 4 (CARRIER-D, hop 3): signature does not verify");
}

/* CARRIER-D's ID on a certificate with CARRIER-E's key: not D's signature. */
static void test_answer_cert_of_another_key(void **state)
{
	(void)state;
	reset();
	size_t cl;
	ht_keys dk = F.keys[FX_D];
	F.keys[FX_D] = F.keys[FX_E];
	uint8_t *c = fx_cert(&F, FX_D, &F.anchor, 104, 0, 1767225600, 1798761600, &cl);
	F.keys[FX_D] = dk;
	ht_envelope *e;
	assert_int_equal(ht_envelope_parse(F.ans[4], F.ans_len[4], &e), HT_OK);
	size_t body_len, len;
	const uint8_t *body = ht_envelope_body(e, &body_len);
	Hoptrace__V1__HopAnswer *h = hoptrace__v1__hop_answer__unpack(NULL, body_len, body);
	assert_non_null(h);
	ProtobufCBinaryData saved = h->certificate;
	h->certificate.data = c;
	h->certificate.len = cl;
	size_t nb_len = protobuf_c_message_get_packed_size(&h->base);
	uint8_t *nb = malloc(nb_len);
	assert_non_null(nb);
	protobuf_c_message_pack(&h->base, nb);
	h->certificate = saved;
	hoptrace__v1__hop_answer__free_unpacked(h, NULL);
	uint8_t *env = envelope(HT_KIND_HOP_ANSWER, nb, nb_len, ht_envelope_signature(e), &len);
	fx_set(&F, 4, env, len);
	free(nb);
	ht_envelope_free(e);
	free(c);
	expect_fx_fail(HT_E_BAD_SIGNATURE, 4,
		       "answer 4 (CARRIER-D, hop 3): signature does not verify");
}

static void test_answer_certificates(void **state)
{
	(void)state;
	size_t len;
	ht_answer_info a;

	/* D's certificate from an untrusted anchor (D signs with it). */
	reset();
	free(F.cert[FX_D]);
	F.cert[FX_D] = fx_cert(&F, FX_D, &F.other_anchor, 104, 0, 1767225600, 1798761600,
			       &F.cert_len[FX_D]);
	fx_put(&F, 4, &F.info[4], FX_D);
	expect_fx_fail(
		HT_E_UNKNOWN_ANCHOR, 4,
		"answer 4 (CARRIER-D, hop 3): certificate (serial 104): not issued by a given "
		"anchor");

	/* Answered after D's certificate expired: checked at answered_ms (before
	 * the answer's time is compared with the request's, spec 11.7.4). */
	reset();
	a = F.info[4];
	a.answered_ms = 1798761600000ULL;
	fx_put(&F, 4, &a, FX_D);
	expect_fx_fail(HT_E_EXPIRED, 4,
		       "answer 4 (CARRIER-D, hop 3): certificate (serial 104): expired at "
		       "2027-01-01T00:00:00Z");
	/* ... and a millisecond earlier, the certificate is valid but the answer is
	 * dated months after the request ended (step 15). */
	a.answered_ms--;
	fx_put(&F, 4, &a, FX_D);
	expect_fx_fail(HT_E_BAD_TIME, 4,
		       "answer 4 (CARRIER-D, hop 3): dated 2026-12-31T23:59:59Z, outside the "
		       "request's lifetime");

	/* A certificate that expired 10 s after the request was made: the evidence
	 * made before then stays good, and an answer at not_after is refused. */
	reset();
	uint64_t na = F.created_ms / 1000 + 10;
	free(F.cert[FX_D]);
	F.cert[FX_D] = fx_cert(&F, FX_D, &F.anchor, 104, 0, 1767225600, na, &F.cert_len[FX_D]);
	fx_put(&F, 4, &F.info[4], FX_D);
	uint8_t *b = fx_bundle(&F, &len);
	ht_bundle_report rep;
	verify_ok(b, len, T, &rep);
	ht_bundle_report_free(&rep);
	free(b);
	a = F.info[4];
	a.answered_ms = na * 1000;
	fx_put(&F, 4, &a, FX_D);
	expect_fx_fail(HT_E_EXPIRED, 4, "answer 4 (CARRIER-D, hop 3): certificate (serial 104)");

	/* E's certificate revoked. */
	reset();
	const uint64_t serial = 105;
	size_t crl_len;
	uint8_t *crl = tu_crl_issue(&F.anchor, 1, &serial, 1, &crl_len);
	ht_trust *t = fx_trust(&F, crl, crl_len);
	b = fx_bundle(&F, &len);
	expect_fail(b, len, t, HT_E_REVOKED, 5,
		    "answer 5 (CARRIER-E, hop 3): certificate (serial 105): revoked");
	free(b);
	free(crl);
	ht_trust_free(t);

	/* Not an answer: a request envelope in the answers. */
	reset();
	fx_set(&F, 2, tu_dup(F.req, F.req_len), F.req_len);
	expect_fx_fail(HT_E_WRONG_KIND, 2, "answer 2: does not parse");
}

/*
 * Spec 11.7.4, step 15: an answer is dated within its request's lifetime,
 * widened by the clock skew, so that a provider whose certificate has
 * expired cannot backdate answers to new requests. Both edges are inside.
 */
static void test_answer_time(void **state)
{
	(void)state;
	const uint64_t lo = F.created_ms - HT_CLOCK_SKEW_MS,
		       hi = F.created_ms + 60000 + HT_CLOCK_SKEW_MS;
	const struct {
		uint64_t at;
		int err;
	} cases[] = {{lo - 1, HT_E_BAD_TIME}, {lo, HT_OK}, {hi, HT_OK}, {hi + 1, HT_E_BAD_TIME}};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		reset();
		ht_answer_info a = F.info[3];
		a.answered_ms = cases[k].at;
		fx_put(&F, 3, &a, FX_C);
		size_t len;
		uint8_t *b = fx_bundle(&F, &len);
		ht_bundle_report rep;
		int rc = ht_bundle_verify(b, len, T, &rep);
		if (rc != cases[k].err)
			print_message("answered_ms %llu: %s (%s)\n",
				      (unsigned long long)cases[k].at, ht_errname(rc), rep.why);
		assert_int_equal(rc, cases[k].err);
		if (rc != HT_OK) {
			assert_int_equal(rep.failed_answer, 3);
			assert_non_null(strstr(rep.why, "outside the request's lifetime"));
		}
		ht_bundle_report_free(&rep);
		free(b);
	}

	/* The check alone, on the request's fields. */
	ht_request *r;
	assert_int_equal(ht_request_parse(F.req, F.req_len, &r), HT_OK);
	ht_answer_info a = F.info[0];
	a.answered_ms = lo;
	assert_int_equal(ht_answer_check_time(&a, ht_request_get(r)), HT_OK);
	a.answered_ms = lo - 1;
	assert_int_equal(ht_answer_check_time(&a, ht_request_get(r)), HT_E_BAD_TIME);
	assert_int_equal(ht_answer_check_time(NULL, ht_request_get(r)), HT_E_INVAL);
	assert_int_equal(ht_answer_check_time(&a, NULL), HT_E_INVAL);
	ht_request_free(r);
	reset();
}

/* ---- The answers, re-signed by a hop that lies: the chain catches it ---- */

static void test_hop_lies_each_field(void **state)
{
	(void)state;
	hop_lies(4, M_PROVIDER, HT_E_MALFORMED, 4,
		 "answer 4: provider_id CARRIER-E is not its certificate's (CARRIER-D)");
	hop_lies(0, M_ASKED_BY, HT_E_MALFORMED, 0,
		 "answer 0 (CARRIER-T, hop 0): asked by TRACEBACK-HR, but hop 0 is asked by the "
		 "initiator TRACEBACK-HQ");
	hop_lies(1, M_ASKED_BY, HT_E_MALFORMED, 1,
		 "answer 1 (CARRIER-B, hop 1): asked by CARRIER-U, but there is no FOUND answer "
		 "from CARRIER-U at hop 0");
	hop_lies(1, M_HOP, HT_E_MALFORMED, 1,
		 "answer 1 (CARRIER-B, hop 2): asked by CARRIER-T, but there is no FOUND answer "
		 "from CARRIER-T at hop 1");
	/* B names another upstream: C's answer hangs from nothing. */
	hop_lies(1, M_CALL_UPSTREAM, HT_E_MALFORMED, 2,
		 "answer 2 (CARRIER-C, hop 2): asked by CARRIER-B, but CARRIER-B's FOUND answer at "
		 "hop 1 (answer 1) does not name CARRIER-C as an upstream");
	/* B's record time and C's window time must agree, whichever moved. */
	hop_lies(1, M_RECORD_TIME, HT_E_MALFORMED, 2, "answer 2 (CARRIER-C, hop 2): window time");
	hop_lies(2, M_WINDOW_TIME, HT_E_MALFORMED, 2,
		 "is not the record time of a call CARRIER-C handed to CARRIER-B (answer 1)");
	hop_lies(5, M_WINDOW_TIME, HT_E_MALFORMED, 5, "answer 5 (CARRIER-E, hop 3): window time");
	hop_lies(0, M_REQUEST_HASH, HT_E_WRONG_REQUEST, 0,
		 "answer 0 (CARRIER-T, hop 0): bound to another request");
	/* A statement the hop may make: its own customer reference. */
	reset();
	mutate(4, M_CUSTOMER_REF, &F.keys[FX_D]);
	size_t len;
	uint8_t *b = fx_bundle(&F, &len);
	ht_bundle_report rep;
	verify_ok(b, len, T, &rep);
	assert_string_equal(rep.nodes[4].info.calls[0].customer_ref, "Cust-7f3a9b");
	ht_bundle_report_free(&rep);
	free(b);
}

/* C says it found nothing, yet its dead end and the hops above hang from it. */
static void test_status_changed(void **state)
{
	(void)state;
	reset();
	ht_answer_info a = F.info[2];
	a.status = HT_ANSWER_NOT_FOUND;
	a.n_calls = 0;
	fx_put(&F, 2, &a, FX_C);
	expect_fx_fail(HT_E_MALFORMED, 3,
		       "answer 3 (CARRIER-C, hop 2): dead end at CARRIER-X, but no FOUND answer "
		       "from CARRIER-C at hop 2 asked by CARRIER-B names CARRIER-X as an upstream");
	fx_remove(&F, 3);
	expect_fx_fail(HT_E_MALFORMED, 3,
		       "answer 3 (CARRIER-D, hop 3): asked by CARRIER-C, but there is no FOUND "
		       "answer from CARRIER-C at hop 2");

	/* A dead end at an upstream its FOUND answer never named. */
	reset();
	a = F.info[3];
	snprintf(a.upstream, sizeof(a.upstream), "CARRIER-Y");
	fx_put(&F, 3, &a, FX_C);
	expect_fx_fail(HT_E_MALFORMED, 3, "dead end at CARRIER-Y");

	/* A dead end that claims another asker than its FOUND answer. */
	reset();
	a = F.info[3];
	snprintf(a.asked_by, sizeof(a.asked_by), "CARRIER-T");
	fx_put(&F, 3, &a, FX_C);
	expect_fx_fail(HT_E_MALFORMED, 3, "asked by CARRIER-T names CARRIER-X");
}

static void test_answer_of_another_trace(void **state)
{
	(void)state;
	reset();
	size_t rl;
	uint8_t *other = fx_request(&F, F.cert[FX_I], F.cert_len[FX_I], 0x6f, 12, &rl);
	ht_answer_info a = F.info[4];
	fx_request_id(other, rl, a.request_hash);
	free(other);
	fx_put(&F, 4, &a, FX_D);
	expect_fx_fail(HT_E_WRONG_REQUEST, 4,
		       "answer 4 (CARRIER-D, hop 3): bound to another request");
}

static void test_answer_removed(void **state)
{
	(void)state;
	reset();
	fx_remove(&F, 1); /* B's: C's answer above it is an orphan */
	expect_fx_fail(HT_E_MALFORMED, 1,
		       "answer 1 (CARRIER-C, hop 2): asked by CARRIER-B, but there is no FOUND "
		       "answer from CARRIER-B at hop 1");
	reset();
	fx_remove(&F, 0); /* T's */
	expect_fx_fail(HT_E_MALFORMED, 0, "there is no FOUND answer from CARRIER-T at hop 0");
}

static void test_answer_duplicated(void **state)
{
	(void)state;
	reset();
	fx_append(&F, tu_dup(F.ans[4], F.ans_len[4]), F.ans_len[4]);
	expect_fx_fail(HT_E_MALFORMED, 6,
		       "answer 6 (CARRIER-D, hop 3): duplicate of answer 4 (same provider, hop "
		       "and status)");
	/* The same statement signed again, a moment later: still twice. */
	reset();
	ht_answer_info a = F.info[1];
	a.answered_ms += 5;
	size_t len;
	fx_add(&F, &a, FX_B);
	expect_fx_fail(HT_E_MALFORMED, 6, "duplicate of answer 1");
	/* Two FOUND answers of one hop that disagree. */
	reset();
	a = F.info[4];
	a.calls[0].attestation = 3;
	fx_add(&F, &a, FX_D);
	expect_fx_fail(HT_E_MALFORMED, 6, "duplicate of answer 4");

	/* Two dead ends of one hop at two upstreams are two statements. */
	reset();
	ht_answer_info c = F.info[2];
	c.calls[0] = F.info[2].calls[2]; /* CARRIER-X */
	c.calls[1] = F.info[2].calls[2];
	snprintf(c.calls[1].upstream, sizeof(c.calls[1].upstream), "CARRIER-Y");
	c.n_calls = 2;
	fx_put(&F, 2, &c, FX_C);
	a = F.info[3];
	snprintf(a.upstream, sizeof(a.upstream), "CARRIER-Y");
	a.reason = HT_REASON_UPSTREAM_UNREACHABLE;
	fx_add(&F, &a, FX_C);
	fx_remove(&F, 5); /* E and D no longer hang from C */
	fx_remove(&F, 4);
	uint8_t *b = fx_bundle(&F, &len);
	ht_bundle_report rep;
	verify_ok(b, len, T, &rep);
	assert_int_equal(rep.n_nodes, 5);
	assert_int_equal(rep.n_open, 0);
	assert_false(rep.origin_found);
	ht_bundle_report_free(&rep);
	free(b);
	/* The second one twice is a duplicate again. */
	fx_append(&F, tu_dup(F.ans[4], F.ans_len[4]), F.ans_len[4]);
	expect_fx_fail(HT_E_MALFORMED, 5, "duplicate of answer 4");
}

static void test_answer_moved(void **state)
{
	(void)state;
	/* D's answer claims hop 2, re-signed by D: it has no asker at hop 1. */
	hop_lies(4, M_HOP, HT_E_MALFORMED, 4,
		 "answer 4 (CARRIER-D, hop 4): asked by CARRIER-C, but there is no FOUND answer "
		 "from CARRIER-C at hop 3");
	reset();
	ht_answer_info a = F.info[4];
	a.hop = 2;
	fx_put(&F, 4, &a, FX_D);
	expect_fx_fail(
		HT_E_MALFORMED, 4,
		"answer 4 (CARRIER-D, hop 2): asked by CARRIER-C, but there is no FOUND answer "
		"from CARRIER-C at hop 1");
}

/* ---- Consortium initiator's own dead end, and a local initiator --------- */

static void test_initiator_dead_end(void **state)
{
	(void)state;
	size_t len;
	ht_answer_info d;
	memset(&d, 0, sizeof(d));
	reset();
	memcpy(d.request_hash, F.req_id, HT_MSG_ID_LEN);
	snprintf(d.provider_id, sizeof(d.provider_id), "%s", fx_ids[FX_I]);
	snprintf(d.asked_by, sizeof(d.asked_by), "%s", fx_ids[FX_I]);
	snprintf(d.upstream, sizeof(d.upstream), "%s", fx_ids[FX_T]);
	d.status = HT_ANSWER_DEAD_END;
	d.reason = HT_REASON_UPSTREAM_UNREACHABLE;
	d.answered_ms = F.created_ms + 3000;
	uint8_t *de = fx_sign(&F, &d, FX_I, &len);
	size_t de_len = len;

	/* The terminating carrier could not be reached: the only answer. */
	while (F.n)
		fx_remove(&F, 0);
	fx_append(&F, tu_dup(de, de_len), de_len);
	uint8_t *b = fx_bundle(&F, &len);
	ht_bundle_report rep;
	verify_ok(b, len, T, &rep);
	assert_int_equal(rep.n_nodes, 1);
	assert_int_equal(rep.nodes[0].parent, -1);
	assert_int_equal(rep.nodes[0].info.status, HT_ANSWER_DEAD_END);
	assert_false(rep.origin_found);
	assert_int_equal(rep.n_open, 0);
	ht_bundle_report_free(&rep);
	free(b);

	/* It went away after answering: its answers stay. */
	reset();
	fx_append(&F, tu_dup(de, de_len), de_len);
	b = fx_bundle(&F, &len);
	verify_ok(b, len, T, &rep);
	assert_int_equal(rep.n_nodes, 7);
	ht_bundle_report_free(&rep);
	free(b);

	/* Naming someone else than the hop-0 provider. */
	reset();
	snprintf(d.upstream, sizeof(d.upstream), "%s", fx_ids[FX_B]);
	fx_add(&F, &d, FX_I);
	expect_fx_fail(HT_E_MALFORMED, 6,
		       "answer 6 (TRACEBACK-HQ, hop 0): dead end at CARRIER-B, but no FOUND answer "
		       "from TRACEBACK-HQ at hop 0");

	/* Another provider cannot speak for the initiator at hop 0. */
	reset();
	snprintf(d.provider_id, sizeof(d.provider_id), "%s", fx_ids[FX_B]);
	snprintf(d.upstream, sizeof(d.upstream), "%s", fx_ids[FX_T]);
	fx_add(&F, &d, FX_B);
	expect_fx_fail(HT_E_MALFORMED, 6, "dead end at CARRIER-T");
	free(de);
}

/* An initiator that is the terminating carrier answers hop 0 itself. */
static void test_local_initiator(void **state)
{
	(void)state;
	reset();
	size_t len;
	ht_answer_info a = F.info[0];
	snprintf(a.provider_id, sizeof(a.provider_id), "%s", fx_ids[FX_I]);
	fx_put(&F, 0, &a, FX_I);
	ht_answer_info b1 = F.info[1];
	snprintf(b1.asked_by, sizeof(b1.asked_by), "%s", fx_ids[FX_I]);
	fx_put(&F, 1, &b1, FX_B);
	uint8_t *b = fx_bundle(&F, &len);
	ht_bundle_report rep;
	verify_ok(b, len, T, &rep);
	assert_string_equal(rep.nodes[0].info.provider_id, "TRACEBACK-HQ");
	assert_true(rep.origin_found);
	ht_bundle_report_free(&rep);
	free(b);
}

/* ---- The bundle itself -------------------------------------------------- */

static void test_bundle_framing(void **state)
{
	(void)state;
	reset();
	size_t len;
	uint8_t *b = fx_bundle(&F, &len);

	/* Truncated inside its last field, and in the middle. */
	expect_fail(b, len - 1, T, HT_E_MALFORMED, -1, "bundle does not decode");
	ht_bundle_report rep;
	for (size_t cut = 1; cut < len; cut += len / 7) {
		assert_int_not_equal(ht_bundle_verify(b, cut, T, &rep), HT_OK);
		assert_true(rep.why[0] != 0);
		ht_bundle_report_free(&rep);
	}
	/* Garbage, nothing. */
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	expect_fail(junk, sizeof(junk), T, HT_E_MALFORMED, -1, "bundle does not decode");
	expect_fail(NULL, 0, T, HT_E_UNSUPPORTED_VERSION, -1, "bundle version 0");
	expect_fail(b, len, NULL, HT_E_INVAL, -1, "invalid argument");
	assert_int_equal(ht_bundle_verify(b, len, T, NULL), HT_E_INVAL);

	/* Without its export time: what a cut between two fields leaves. */
	Hoptrace__V1__EvidenceBundle *d = hoptrace__v1__evidence_bundle__unpack(NULL, len, b);
	assert_non_null(d);
	d->exported_ms = 0;
	size_t l2 = protobuf_c_message_get_packed_size(&d->base);
	uint8_t *b2 = malloc(l2);
	assert_non_null(b2);
	protobuf_c_message_pack(&d->base, b2);
	hoptrace__v1__evidence_bundle__free_unpacked(d, NULL);
	expect_fail(b2, l2, T, HT_E_MALFORMED, -1, "bundle has no export time");
	free(b2);
	free(b);

	/* Version 2. */
	b = raw_bundle(2, F.calling, F.called, NULL, 0, &len);
	expect_fail(b, len, T, HT_E_UNSUPPORTED_VERSION, -1,
		    "bundle version 2 (this implementation reads version 1)");
	free(b);

	/* An unknown critical field, and known ones. */
	const uint32_t crit[] = {5, 9};
	b = raw_bundle(1, F.calling, F.called, crit, 2, &len);
	expect_fail(b, len, T, HT_E_UNSUPPORTED_CRITICAL, -1, "lists field 9 as critical");
	free(b);
	const uint32_t known[] = {1, 5, 15};
	b = raw_bundle(1, F.calling, F.called, known, 3, &len);
	verify_ok(b, len, T, &rep);
	ht_bundle_report_free(&rep);
	free(b);

	/* An unknown field is ignored (version 1's extension rule). */
	b = fx_bundle(&F, &len);
	uint8_t *ext = malloc(len + 2);
	assert_non_null(ext);
	memcpy(ext, b, len);
	ext[len] = 0x48; /* field 9, varint */
	ext[len + 1] = 0x01;
	verify_ok(ext, len + 2, T, &rep);
	ht_bundle_report_free(&rep);
	free(ext);
	free(b);
}

static void test_bundle_bounds(void **state)
{
	(void)state;
	reset();
	size_t len;
	uint8_t *b;
	ht_bundle_report rep;

	/* Larger than HT_BUNDLE_MAX, before any decoding. */
	b = calloc(1, HT_BUNDLE_MAX + 1);
	assert_non_null(b);
	expect_fail(b, HT_BUNDLE_MAX + 1, T, HT_E_TOO_LARGE, -1, "bundle is larger than");
	free(b);

	/* HT_BUNDLE_ANSWERS_MAX + 1 answers (tiny ones). */
	size_t n = HT_BUNDLE_ANSWERS_MAX + 1;
	ProtobufCBinaryData *ans = calloc(n, sizeof(*ans));
	assert_non_null(ans);
	for (size_t i = 0; i < n; i++) {
		ans[i].data = (uint8_t *)"x";
		ans[i].len = 1;
	}
	Hoptrace__V1__EvidenceBundle eb = HOPTRACE__V1__EVIDENCE_BUNDLE__INIT;
	eb.version = 1;
	eb.request.data = F.req;
	eb.request.len = F.req_len;
	eb.answers = ans;
	eb.n_answers = n;
	eb.exported_ms = 1;
	len = protobuf_c_message_get_packed_size(&eb.base);
	b = malloc(len);
	assert_non_null(b);
	protobuf_c_message_pack(&eb.base, b);
	expect_fail(b, len, T, HT_E_TOO_LARGE, -1, "bundle holds 1025 answers (at most 1024)");
	free(b);
	/* Exactly the maximum decodes, and the first tiny answer is refused. */
	eb.n_answers = n - 1;
	eb.calling.data = (uint8_t *)F.calling;
	eb.calling.len = strlen(F.calling);
	eb.called.data = (uint8_t *)F.called;
	eb.called.len = strlen(F.called);
	len = protobuf_c_message_get_packed_size(&eb.base);
	b = malloc(len);
	assert_non_null(b);
	protobuf_c_message_pack(&eb.base, b);
	expect_fail(b, len, T, HT_E_MALFORMED, 0, "answer 0: does not parse");
	free(b);

	/* ht_bundle_encode refuses what verify would. */
	const uint8_t **ap = calloc(n, sizeof(*ap));
	size_t *lens = calloc(n, sizeof(*lens));
	assert_non_null(ap);
	assert_non_null(lens);
	for (size_t i = 0; i < n; i++) {
		ap[i] = ans[i].data;
		lens[i] = 1;
	}
	assert_int_equal(
		ht_bundle_encode(F.req, F.req_len, F.calling, F.called, ap, lens, n, 1, &b, &len),
		HT_E_TOO_LARGE);
	assert_int_equal(ht_bundle_encode(F.req, F.req_len, F.calling, F.called, ap, lens, n - 1, 1,
					  &b, &len),
			 HT_OK);
	free(b);
	assert_int_equal(ht_bundle_encode(F.req, F.req_len, "+12025550143", F.called, NULL, NULL, 0,
					  1, &b, &len),
			 HT_E_INVAL);
	assert_int_equal(
		ht_bundle_encode(F.req, F.req_len, F.calling, "555", NULL, NULL, 0, 1, &b, &len),
		HT_E_INVAL);
	assert_int_equal(ht_bundle_encode(NULL, 0, F.calling, F.called, NULL, NULL, 0, 1, &b, &len),
			 HT_E_INVAL);
	assert_int_equal(
		ht_bundle_encode(F.req, F.req_len, F.calling, F.called, NULL, NULL, 0, 0, &b, &len),
		HT_E_INVAL); /* no export time */
	lens[3] = 0;
	assert_int_equal(
		ht_bundle_encode(F.req, F.req_len, F.calling, F.called, ap, lens, 5, 1, &b, &len),
		HT_E_INVAL);
	/* Larger than HT_BUNDLE_MAX in total. */
	uint8_t *big = calloc(1, HT_BUNDLE_MAX / 4);
	assert_non_null(big);
	for (size_t i = 0; i < 5; i++) {
		ap[i] = big;
		lens[i] = HT_BUNDLE_MAX / 4;
	}
	assert_int_equal(
		ht_bundle_encode(F.req, F.req_len, F.calling, F.called, ap, lens, 5, 1, &b, &len),
		HT_E_TOO_LARGE);
	free(big);
	free(ap);
	free(lens);
	free(ans);

	/* What ht_bundle_encode makes decodes to what went in. */
	b = fx_bundle(&F, &len);
	Hoptrace__V1__EvidenceBundle *d = hoptrace__v1__evidence_bundle__unpack(NULL, len, b);
	assert_non_null(d);
	assert_int_equal(d->version, 1);
	assert_int_equal(d->exported_ms, F.created_ms + 5000);
	assert_int_equal(d->n_answers, F.n);
	assert_memory_equal(d->request.data, F.req, F.req_len);
	assert_memory_equal(d->answers[3].data, F.ans[3], F.ans_len[3]);
	assert_int_equal(d->n_critical, 0);
	hoptrace__v1__evidence_bundle__free_unpacked(d, NULL);
	verify_ok(b, len, T, &rep);
	ht_bundle_report_free(&rep);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_bundle),
		cmocka_unit_test(test_order_does_not_matter),
		cmocka_unit_test(test_open_branches),
		cmocka_unit_test(test_same_upstream_twice),
		cmocka_unit_test(test_request_body_byte),
		cmocka_unit_test(test_request_signature),
		cmocka_unit_test(test_request_not_parsing),
		cmocka_unit_test(test_initiator_cert),
		cmocka_unit_test(test_opening),
		cmocka_unit_test(test_hint),
		cmocka_unit_test(test_relay_tampers_each_field),
		cmocka_unit_test(test_answer_signature),
		cmocka_unit_test(test_answer_cert_of_another_key),
		cmocka_unit_test(test_answer_certificates),
		cmocka_unit_test(test_answer_time),
		cmocka_unit_test(test_hop_lies_each_field),
		cmocka_unit_test(test_status_changed),
		cmocka_unit_test(test_answer_of_another_trace),
		cmocka_unit_test(test_answer_removed),
		cmocka_unit_test(test_answer_duplicated),
		cmocka_unit_test(test_answer_moved),
		cmocka_unit_test(test_initiator_dead_end),
		cmocka_unit_test(test_local_initiator),
		cmocka_unit_test(test_bundle_framing),
		cmocka_unit_test(test_bundle_bounds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
