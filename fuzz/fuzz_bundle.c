/*
 * Evidence bundles (ht_bundle_verify) with the fixed anchor and carriers of
 * the test fixture (tests/bundle_fixture.c): the report is consistent with
 * the result (a tree whose parents are FOUND answers one hop down, or a
 * failure with a sentence and no tree). Then the same bundle with the
 * request and every answer whose certificate is one of the fixture's
 * re-signed by that carrier, the answers re-bound to the request, so that
 * fuzzed contents get past the signatures and reach the chain checks;
 * verifying it must not fail where the original passed.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "bundle_fixture.h"
#include "hoptrace/trace.h"
#include "hoptrace/trust.h"
#include "hoptrace/v1/trace.pb-c.h"

static struct fx fx;
static ht_trust *trust;

/* The rules every report obeys; `n_answers` is how many the bundle holds, if known. */
static void check_report(int rc, const ht_bundle_report *rep, size_t size)
{
	FUZZ_CHECK(rc == rep->error);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE || rc == HT_E_WRONG_KIND ||
			   rc == HT_E_UNSUPPORTED_CRITICAL || rc == HT_E_UNSUPPORTED_VERSION ||
			   rc == HT_E_BAD_SIGNATURE || rc == HT_E_UNKNOWN_ANCHOR ||
			   rc == HT_E_NOT_YET_VALID || rc == HT_E_EXPIRED || rc == HT_E_REVOKED ||
			   rc == HT_E_MISSING_ROLE || rc == HT_E_WEAK_KEY ||
			   rc == HT_E_WRONG_REQUEST || rc == HT_E_BAD_PROVIDER_ID);
		FUZZ_CHECK(rep->why[0] != 0);
		FUZZ_CHECK(memchr(rep->why, 0, sizeof(rep->why)) != NULL);
		FUZZ_CHECK(rep->nodes == NULL && rep->n_nodes == 0);
		FUZZ_CHECK(rep->failed_answer >= -1 && (size_t)(rep->failed_answer + 1) <= size);
		return;
	}
	FUZZ_CHECK(rep->failed_answer == -1 && rep->why[0] == 0);
	FUZZ_CHECK(rep->n_nodes <= HT_BUNDLE_ANSWERS_MAX && rep->n_nodes <= size);
	FUZZ_CHECK(rep->n_nodes == 0 || rep->nodes != NULL);
	bool origin = false;
	size_t upstreams = 0;
	for (size_t k = 0; k < rep->n_nodes; k++) {
		const ht_bundle_node *n = &rep->nodes[k];
		const ht_answer_info *a = &n->info;
		FUZZ_CHECK(n->answer < rep->n_nodes);
		for (size_t j = 0; j < k; j++)
			FUZZ_CHECK(rep->nodes[j].answer != n->answer);
		FUZZ_CHECK(k == 0 || rep->nodes[k - 1].info.hop <= a->hop);
		FUZZ_CHECK(a->status >= HT_ANSWER_FOUND && a->status <= HT_ANSWER_DEAD_END);
		FUZZ_CHECK(n->parent >= -1 && n->parent < (ssize_t)rep->n_nodes);
		if (n->parent < 0) {
			/* Hop 0, asked by the initiator, or the initiator's own dead end. */
			FUZZ_CHECK(a->hop == 0);
			FUZZ_CHECK(strcmp(a->asked_by, rep->request.initiator_id) == 0);
			if (a->status == HT_ANSWER_DEAD_END)
				FUZZ_CHECK(strcmp(a->provider_id, rep->request.initiator_id) == 0);
		} else {
			const ht_answer_info *p = &rep->nodes[n->parent].info;
			FUZZ_CHECK(p->status == HT_ANSWER_FOUND);
			if (a->status == HT_ANSWER_DEAD_END) {
				FUZZ_CHECK(p->hop == a->hop);
				FUZZ_CHECK(strcmp(p->provider_id, a->provider_id) == 0);
			} else {
				FUZZ_CHECK(p->hop + 1 == a->hop);
				FUZZ_CHECK(strcmp(p->provider_id, a->asked_by) == 0);
			}
		}
		for (size_t c = 0; c < a->n_calls && a->status == HT_ANSWER_FOUND; c++) {
			origin |= a->calls[c].originated_here;
			upstreams += !a->calls[c].originated_here;
		}
	}
	FUZZ_CHECK(origin == rep->origin_found);
	FUZZ_CHECK(rep->n_open <= upstreams);
	FUZZ_CHECK(ht_e164_digits_valid(rep->calling, strlen(rep->calling)));
	FUZZ_CHECK(ht_e164_digits_valid(rep->called, strlen(rep->called)));
}

static int verify(const uint8_t *data, size_t size, ht_bundle_report *rep)
{
	int rc = ht_bundle_verify(data, size, trust, rep);
	check_report(rc, rep, size);
	return rc;
}

/* The fixture carrier whose key `cert` certifies, or -1. */
static int signer_of(const ProtobufCBinaryData *cert)
{
	ht_cert *c;
	if (ht_cert_parse(cert->data, cert->len, &c) != HT_OK)
		return -1;
	int who = -1;
	for (int p = 0; p < FX_NPROV && who < 0; p++)
		if (memcmp(ht_cert_get_info(c)->sign_key, fx.keys[p].sign_pk, HT_SIGN_PK_LEN) == 0)
			who = p;
	ht_cert_free(c);
	return who;
}

/*
 * `env` re-signed by the fixture carrier its body's certificate names (and,
 * for an answer, bound to `request_id` when given). NULL when it cannot be.
 */
static uint8_t *resign(const ProtobufCBinaryData *env, ht_kind kind, const uint8_t *request_id,
		       size_t *out_len)
{
	ht_envelope *e;
	if (ht_envelope_parse(env->data, env->len, &e) != HT_OK)
		return NULL;
	uint8_t *out = NULL;
	size_t body_len;
	const uint8_t *body = ht_envelope_body(e, &body_len);
	if (ht_envelope_kind(e) != (uint32_t)kind)
		goto done;
	if (kind == HT_KIND_TRACE_REQUEST) {
		Hoptrace__V1__TraceRequest *q =
			hoptrace__v1__trace_request__unpack(NULL, body_len, body);
		if (!q)
			goto done;
		int who = signer_of(&q->initiator_cert);
		hoptrace__v1__trace_request__free_unpacked(q, NULL);
		if (who >= 0 && ht_envelope_sign(kind, body, body_len, fx.keys[who].sign_sk, &out,
						 out_len) != HT_OK)
			out = NULL;
		goto done;
	}
	Hoptrace__V1__HopAnswer *h = hoptrace__v1__hop_answer__unpack(NULL, body_len, body);
	if (!h)
		goto done;
	int who = signer_of(&h->certificate);
	if (who >= 0) {
		if (request_id && h->request_hash.len == HT_MSG_ID_LEN)
			memcpy(h->request_hash.data, request_id, HT_MSG_ID_LEN);
		size_t nb_len = protobuf_c_message_get_packed_size(&h->base);
		uint8_t *nb = malloc(nb_len ? nb_len : 1);
		if (nb) {
			protobuf_c_message_pack(&h->base, nb);
			if (ht_envelope_sign(kind, nb, nb_len, fx.keys[who].sign_sk, &out,
					     out_len) != HT_OK)
				out = NULL;
			free(nb);
		}
	}
	hoptrace__v1__hop_answer__free_unpacked(h, NULL);
done:
	ht_envelope_free(e);
	return out;
}

/* The bundle with every envelope re-signed where a fixture key can; NULL if it does not decode. */
static uint8_t *resign_bundle(const uint8_t *data, size_t size, size_t *out_len)
{
	Hoptrace__V1__EvidenceBundle *b = hoptrace__v1__evidence_bundle__unpack(NULL, size, data);
	if (!b)
		return NULL;
	size_t n = b->n_answers;
	uint8_t **fresh = calloc(n + 1, sizeof(*fresh));
	ProtobufCBinaryData *orig = calloc(n + 1, sizeof(*orig));
	uint8_t *out = NULL;
	if (!fresh || !orig)
		goto done;
	/* Slot n is the request. */
	size_t len;
	orig[n] = b->request;
	uint8_t id[HT_MSG_ID_LEN], *rid = NULL;
	if ((fresh[n] = resign(&b->request, HT_KIND_TRACE_REQUEST, NULL, &len)) != NULL) {
		b->request.data = fresh[n];
		b->request.len = len;
	}
	ht_request *r = NULL;
	if (ht_request_parse(b->request.data, b->request.len, &r) == HT_OK) {
		memcpy(id, ht_request_id(r), HT_MSG_ID_LEN);
		rid = id;
	}
	ht_request_free(r);
	for (size_t i = 0; i < n; i++) {
		orig[i] = b->answers[i];
		if ((fresh[i] = resign(&b->answers[i], HT_KIND_HOP_ANSWER, rid, &len)) != NULL) {
			b->answers[i].data = fresh[i];
			b->answers[i].len = len;
		}
	}
	*out_len = protobuf_c_message_get_packed_size(&b->base);
	if ((out = malloc(*out_len ? *out_len : 1)) != NULL)
		protobuf_c_message_pack(&b->base, out);
	/* Give the decoder back its own buffers before freeing. */
	b->request = orig[n];
	for (size_t i = 0; i < n; i++)
		b->answers[i] = orig[i];
done:
	if (fresh)
		for (size_t i = 0; i <= n; i++)
			free(fresh[i]);
	free(fresh);
	free(orig);
	hoptrace__v1__evidence_bundle__free_unpacked(b, NULL);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	fuzz_init();
	if (!ready) {
		fx_init(&fx);
		trust = fx_trust(&fx, NULL, 0);
		ready = true;
	}

	ht_bundle_report rep;
	int rc = verify(data, size, &rep);
	size_t n_nodes = rep.n_nodes;
	ht_bundle_report_free(&rep);
	FUZZ_CHECK(rep.nodes == NULL);

	size_t len;
	uint8_t *again = resign_bundle(data, size, &len);
	if (!again) {
		FUZZ_CHECK(rc != HT_OK);
		return 0;
	}
	int rc2 = verify(again, len, &rep);
	if (rc == HT_OK) {
		/* Ed25519 is deterministic: the same signatures, the same verdict. */
		FUZZ_CHECK(rc2 == HT_OK);
		FUZZ_CHECK(rep.n_nodes == n_nodes);
	}
	ht_bundle_report_free(&rep);
	free(again);
	return 0;
}
