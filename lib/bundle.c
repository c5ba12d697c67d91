/*
 * The evidence bundle (trace.proto EvidenceBundle) and its offline check:
 * the request, the opening of its commitment, every answer, and the chain
 * that links the answers into a tree (/work/trace-design.md, "Evidence
 * verification"). No I/O and no clock: every time checked is one the
 * evidence itself states.
 */
#include "hoptrace/trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptrace/timefmt.h"
#include "hoptrace/v1/trace.pb-c.h"
#include "wire.h"

#define BUNDLE_VERSION 1

int ht_bundle_encode(const uint8_t *request, size_t request_len, const char *calling,
		     const char *called, const uint8_t *const *answers, const size_t *answer_lens,
		     size_t n_answers, uint64_t exported_ms, uint8_t **out, size_t *out_len)
{
	if (!request || request_len == 0 || !calling || !called || !out || !out_len ||
	    (n_answers && (!answers || !answer_lens)) || exported_ms == 0)
		return HT_E_INVAL;
	if (!ht_e164_digits_valid(calling, strlen(calling)) ||
	    !ht_e164_digits_valid(called, strlen(called)))
		return HT_E_INVAL;
	if (n_answers > HT_BUNDLE_ANSWERS_MAX)
		return HT_E_TOO_LARGE;
	ProtobufCBinaryData *ans = calloc(n_answers ? n_answers : 1, sizeof(*ans));
	if (!ans)
		return HT_E_NOMEM;
	for (size_t i = 0; i < n_answers; i++) {
		if (!answers[i] || answer_lens[i] == 0) {
			free(ans);
			return HT_E_INVAL;
		}
		ans[i].data = (uint8_t *)answers[i];
		ans[i].len = answer_lens[i];
	}
	Hoptrace__V1__EvidenceBundle b = HOPTRACE__V1__EVIDENCE_BUNDLE__INIT;
	b.version = BUNDLE_VERSION;
	b.request.data = (uint8_t *)request;
	b.request.len = request_len;
	b.calling.data = (uint8_t *)calling;
	b.calling.len = strlen(calling);
	b.called.data = (uint8_t *)called;
	b.called.len = strlen(called);
	b.answers = ans;
	b.n_answers = n_answers;
	b.exported_ms = exported_ms;
	if (protobuf_c_message_get_packed_size(&b.base) > HT_BUNDLE_MAX) {
		free(ans);
		return HT_E_TOO_LARGE;
	}
	int rc = ht__pack(&b.base, out, out_len);
	free(ans);
	return rc;
}

/* ---- Verification ------------------------------------------------------- */

struct vctx {
	const ht_trust *trust;
	ht_bundle_report *rep;
	const ht_request_info *req;
	ht_answer **ans;
	size_t n;
	ssize_t *parent; /* per answer, in bundle order */
};

/* Records the first failure: the error, which answer, and the sentence. */
__attribute__((format(printf, 4, 5))) static int reject(ht_bundle_report *rep, int err,
							ssize_t answer, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->why, sizeof(rep->why), fmt, ap);
	va_end(ap);
	rep->error = err;
	rep->failed_answer = answer;
	return err;
}

/* "answer 3 (CARRIER-C, hop 2)" for the messages about a parsed answer. */
static const char *answer_name(const struct vctx *v, size_t i, char *buf, size_t n)
{
	const ht_answer_info *a = ht_answer_get(v->ans[i]);
	snprintf(buf, n, "answer %zu (%s, hop %u)", i, a->provider_id, a->hop);
	return buf;
}

/* What is wrong with a certificate that ht_trust_verify_cert refused at `at`. */
static void cert_why(int rc, const ht_cert_info *c, uint64_t at, char *buf, size_t n)
{
	char t1[HT_TIME_STR_MAX], t2[HT_TIME_STR_MAX];
	ht_time_format(at, t2);
	switch (rc) {
	case HT_E_UNKNOWN_ANCHOR:
		snprintf(buf, n, "not issued by a given anchor (issuer %02x%02x%02x%02x...)",
			 c->issuer[0], c->issuer[1], c->issuer[2], c->issuer[3]);
		break;
	case HT_E_BAD_SIGNATURE:
		snprintf(buf, n, "the anchor's signature on it does not verify");
		break;
	case HT_E_NOT_YET_VALID:
		ht_time_format(c->not_before, t1);
		snprintf(buf, n, "not yet valid at %s (not before %s)", t2, t1);
		break;
	case HT_E_EXPIRED:
		ht_time_format(c->not_after, t1);
		snprintf(buf, n, "expired at %s (not after %s)", t2, t1);
		break;
	case HT_E_REVOKED:
		snprintf(buf, n, "revoked (serial %llu is on the revocation list)",
			 (unsigned long long)c->serial);
		break;
	case HT_E_MISSING_ROLE:
		snprintf(buf, n, "lacks the initiator role");
		break;
	default:
		snprintf(buf, n, "%s", ht_strerror(rc));
	}
}

/*
 * Why an answer envelope did not parse, as precisely as the bytes allow:
 * its certificate or its provider ID when the body decodes.
 */
static void answer_parse_why(const uint8_t *buf, size_t len, int rc, char *why, size_t n)
{
	ht_envelope *env;
	ProtobufCMessage *m;
	if (rc != HT_E_MALFORMED ||
	    ht__open_signed(buf, len, HT_ENVELOPE_MAX, HT_KIND_HOP_ANSWER,
			    &hoptrace__v1__hop_answer__descriptor, &env, &m) != HT_OK) {
		snprintf(why, n, "does not parse: %s", ht_strerror(rc));
		return;
	}
	const Hoptrace__V1__HopAnswer *h = (const Hoptrace__V1__HopAnswer *)m;
	ht_cert *c = NULL;
	int crc = ht_cert_parse(h->certificate.data, h->certificate.len, &c);
	if (crc != HT_OK) {
		snprintf(why, n, "its certificate does not parse: %s", ht_strerror(crc));
	} else if (h->provider_id.len != strlen(ht_cert_get_info(c)->provider_id) ||
		   memcmp(h->provider_id.data, ht_cert_get_info(c)->provider_id,
			  h->provider_id.len) != 0) {
		if (ht_provider_id_valid((const char *)h->provider_id.data, h->provider_id.len))
			snprintf(why, n, "provider_id %.*s is not its certificate's (%s)",
				 (int)h->provider_id.len, (const char *)h->provider_id.data,
				 ht_cert_get_info(c)->provider_id);
		else
			snprintf(why, n,
				 "provider_id is not a provider ID (its certificate's is %s)",
				 ht_cert_get_info(c)->provider_id);
	} else {
		snprintf(why, n,
			 "does not parse: a field is missing, out of bounds or "
			 "inconsistent with its status");
	}
	ht_cert_free(c);
	protobuf_c_message_free_unpacked(m, NULL);
	ht_envelope_free(env);
}

/* The request: parses, certificate and role at created_ms, signature. */
static int check_request(struct vctx *v, const Hoptrace__V1__EvidenceBundle *b, ht_request **out)
{
	ht_bundle_report *rep = v->rep;
	ht_request *r = NULL;
	int rc = ht_request_parse(b->request.data, b->request.len, &r);
	if (rc != HT_OK) {
		ht_request_free(r);
		return reject(rep, rc, -1, "request does not parse: %s", ht_strerror(rc));
	}
	*out = r;
	const ht_request_info *ri = ht_request_get(r);
	rep->request = *ri;
	v->req = &rep->request;

	const ht_cert_info *ci = ht_cert_get_info(ht_request_cert(r));
	uint64_t at = ri->created_ms / 1000;
	rc = ht_trust_verify_cert(v->trust, ht_request_cert(r), at, HT_ROLE_INITIATOR);
	if (rc != HT_OK) {
		char why[160];
		cert_why(rc, ci, at, why, sizeof(why));
		return reject(rep, rc, -1, "initiator certificate (%s, serial %llu): %s",
			      ci->provider_id, (unsigned long long)ci->serial, why);
	}
	ht_reason reason;
	rc = ht_request_verify(r, v->trust, ri->created_ms, &reason);
	if (rc == HT_E_BAD_SIGNATURE)
		return reject(rep, rc, -1, "request signature does not verify");
	if (rc != HT_OK)
		return reject(rep, rc, -1, "request does not verify: %s (%s)", ht_strerror(rc),
			      ht_reason_name(reason));
	return HT_OK;
}

/* The opening: E.164 digits, the commitment, the hint's top hint_bits. */
static int check_opening(struct vctx *v, const Hoptrace__V1__EvidenceBundle *b, const ht_request *r)
{
	ht_bundle_report *rep = v->rep;
	const ProtobufCBinaryData *nums[2] = {&b->calling, &b->called};
	char *dst[2] = {rep->calling, rep->called};
	static const char *const names[2] = {"calling", "called"};
	for (int k = 0; k < 2; k++) {
		if (nums[k]->len >= HT_E164_BUF ||
		    !ht_e164_digits_valid((const char *)nums[k]->data, nums[k]->len))
			return reject(rep, HT_E_MALFORMED, -1,
				      "opening: the %s number is not E.164 digits", names[k]);
		memcpy(dst[k], nums[k]->data, nums[k]->len);
		dst[k][nums[k]->len] = 0;
	}
	if (!ht_request_matches(r, rep->calling, rep->called))
		return reject(rep, HT_E_BAD_SIGNATURE, -1,
			      "opening: calling %s and called %s do not match the request's "
			      "commitment",
			      rep->calling, rep->called);
	uint32_t bits = v->req->hint_bits;
	if (bits > 0) {
		uint16_t mask = (uint16_t)(0xffffu << (16 - bits));
		uint16_t hint = ht_call_hint(rep->calling, rep->called) & mask;
		if (hint != v->req->hint)
			return reject(rep, HT_E_BAD_SIGNATURE, -1,
				      "opening: the request's hint %04x (top %u bits) is not the "
				      "numbers' hint %04x",
				      v->req->hint, bits, hint);
	}
	return HT_OK;
}

int ht_answer_check_time(const ht_answer_info *a, const ht_request_info *req)
{
	if (!a || !req)
		return HT_E_INVAL;
	/* Before the request existed, or after it ended: not an answer to it. A
	 * hop that refuses a request from too far in the future (reason 9) signs
	 * more than the skew before created_ms, and such a refusal fails here. */
	uint64_t lo = req->created_ms > HT_CLOCK_SKEW_MS ? req->created_ms - HT_CLOCK_SKEW_MS : 0;
	uint64_t hi = req->expires_ms > UINT64_MAX - HT_CLOCK_SKEW_MS
			      ? UINT64_MAX
			      : req->expires_ms + HT_CLOCK_SKEW_MS;
	return a->answered_ms < lo || a->answered_ms > hi ? HT_E_BAD_TIME : HT_OK;
}

/* Each answer: parses, certificate at answered_ms, signature, binding, time. */
static int check_answers(struct vctx *v, const Hoptrace__V1__EvidenceBundle *b, const ht_request *r)
{
	ht_bundle_report *rep = v->rep;
	char name[96], why[160];
	for (size_t i = 0; i < v->n; i++) {
		const uint8_t *buf = b->answers[i].data;
		size_t len = b->answers[i].len;
		int rc = ht_answer_parse(buf, len, &v->ans[i]);
		if (rc != HT_OK) {
			v->ans[i] = NULL;
			answer_parse_why(buf, len, rc, why, sizeof(why));
			return reject(rep, rc, (ssize_t)i, "answer %zu: %s", i, why);
		}
		const ht_answer_info *a = ht_answer_get(v->ans[i]);
		const ht_cert *c = ht_answer_cert(v->ans[i]);
		const ht_cert_info *ci = ht_cert_get_info(c);
		answer_name(v, i, name, sizeof(name));
		uint64_t at = a->answered_ms / 1000;
		rc = ht_trust_verify_cert(v->trust, c, at, 0);
		if (rc != HT_OK) {
			cert_why(rc, ci, at, why, sizeof(why));
			return reject(rep, rc, (ssize_t)i, "%s: certificate (serial %llu): %s",
				      name, (unsigned long long)ci->serial, why);
		}
		rc = ht_answer_verify(v->ans[i], v->trust, ht_request_id(r));
		if (rc == HT_E_BAD_SIGNATURE)
			return reject(rep, rc, (ssize_t)i, "%s: signature does not verify", name);
		if (rc == HT_E_WRONG_REQUEST)
			return reject(rep, rc, (ssize_t)i,
				      "%s: bound to another request (request_hash is not this "
				      "request's identity)",
				      name);
		if (rc != HT_OK)
			return reject(rep, rc, (ssize_t)i, "%s: does not verify: %s", name,
				      ht_strerror(rc));
		rc = ht_answer_check_time(a, v->req);
		if (rc != HT_OK) {
			char t1[HT_TIME_STR_MAX], t2[HT_TIME_STR_MAX], t3[HT_TIME_STR_MAX];
			ht_time_format(a->answered_ms / 1000, t1);
			ht_time_format(v->req->created_ms / 1000, t2);
			ht_time_format(v->req->expires_ms / 1000, t3);
			return reject(rep, rc, (ssize_t)i,
				      "%s: dated %s, outside the request's lifetime (%s to %s) "
				      "widened by %u s",
				      name, t1, t2, t3, HT_CLOCK_SKEW_MS / 1000);
		}
	}
	return HT_OK;
}

static const ht_answer_info *info(const struct vctx *v, size_t i)
{
	return ht_answer_get(v->ans[i]);
}

/* Whether FOUND answer `f` has a call handed over by `upstream`. */
static bool lists_upstream(const ht_answer_info *f, const char *upstream)
{
	for (size_t k = 0; k < f->n_calls; k++)
		if (!f->calls[k].originated_here && strcmp(f->calls[k].upstream, upstream) == 0)
			return true;
	return false;
}

/* The FOUND answer of `provider` at `hop`, or -1 (duplicates are refused). */
static ssize_t found_of(const struct vctx *v, const char *provider, uint32_t hop)
{
	for (size_t j = 0; j < v->n; j++) {
		const ht_answer_info *f = info(v, j);
		if (f->status == HT_ANSWER_FOUND && f->hop == hop &&
		    strcmp(f->provider_id, provider) == 0)
			return (ssize_t)j;
	}
	return -1;
}

/*
 * Two answers that say the same thing twice: one provider, one hop, one
 * status. A refusal is per asker (a provider refuses a second asker as a
 * duplicate), a dead end per upstream (one for each upstream that failed).
 */
static bool same_statement(const ht_answer_info *a, const ht_answer_info *b)
{
	if (a->hop != b->hop || a->status != b->status || strcmp(a->provider_id, b->provider_id))
		return false;
	if (a->status == HT_ANSWER_REFUSED)
		return strcmp(a->asked_by, b->asked_by) == 0;
	if (a->status == HT_ANSWER_DEAD_END)
		return strcmp(a->upstream, b->upstream) == 0;
	return true;
}

/*
 * The initiator's own dead end at hop 0 (a consortium initiator whose
 * terminating carrier could not be reached): it asked, so asked_by is
 * itself, it answered nothing else at hop 0, and the upstream it names is
 * the provider of every other hop-0 answer.
 */
static bool initiator_dead_end(const struct vctx *v, const ht_answer_info *d)
{
	const char *init = v->req->initiator_id;
	if (d->hop != 0 || strcmp(d->provider_id, init) || strcmp(d->asked_by, init) ||
	    strcmp(d->upstream, init) == 0)
		return false;
	for (size_t j = 0; j < v->n; j++) {
		const ht_answer_info *o = info(v, j);
		if (o->hop != 0)
			continue;
		if (strcmp(o->provider_id, init) == 0 ? o->status != HT_ANSWER_DEAD_END
						      : strcmp(o->provider_id, d->upstream) != 0)
			return false;
	}
	return true;
}

/* The chain: every answer hangs below the answer that asked it. */
static int check_chain(struct vctx *v)
{
	ht_bundle_report *rep = v->rep;
	const char *init = v->req->initiator_id;
	char name[96];
	for (size_t i = 0; i < v->n; i++) {
		const ht_answer_info *a = info(v, i);
		answer_name(v, i, name, sizeof(name));
		for (size_t j = 0; j < i; j++)
			if (same_statement(info(v, j), a))
				return reject(rep, HT_E_MALFORMED, (ssize_t)i,
					      "%s: duplicate of answer %zu (same provider, hop and "
					      "status)",
					      name, j);

		if (a->status == HT_ANSWER_DEAD_END) {
			/* A dead end belongs to its provider's FOUND answer at the same hop. */
			ssize_t f = found_of(v, a->provider_id, a->hop);
			if (f >= 0 && lists_upstream(info(v, (size_t)f), a->upstream) &&
			    strcmp(info(v, (size_t)f)->asked_by, a->asked_by) == 0) {
				v->parent[i] = f;
				continue;
			}
			if (initiator_dead_end(v, a)) {
				v->parent[i] = -1;
				continue;
			}
			return reject(rep, HT_E_MALFORMED, (ssize_t)i,
				      "%s: dead end at %s, but no FOUND answer from %s at hop %u "
				      "asked by %s names %s as an upstream",
				      name, a->upstream, a->provider_id, a->hop, a->asked_by,
				      a->upstream);
		}

		if (a->hop == 0) {
			if (strcmp(a->asked_by, init) != 0)
				return reject(
					rep, HT_E_MALFORMED, (ssize_t)i,
					"%s: asked by %s, but hop 0 is asked by the initiator "
					"%s",
					name, a->asked_by, init);
			v->parent[i] = -1;
			continue;
		}

		ssize_t f = found_of(v, a->asked_by, a->hop - 1);
		if (f < 0)
			return reject(rep, HT_E_MALFORMED, (ssize_t)i,
				      "%s: asked by %s, but there is no FOUND answer from %s at "
				      "hop %u",
				      name, a->asked_by, a->asked_by, a->hop - 1);
		const ht_answer_info *p = info(v, (size_t)f);
		if (!lists_upstream(p, a->provider_id))
			return reject(rep, HT_E_MALFORMED, (ssize_t)i,
				      "%s: asked by %s, but %s's FOUND answer at hop %u (answer "
				      "%zd) does not name %s as an upstream",
				      name, a->asked_by, a->asked_by, a->hop - 1, f,
				      a->provider_id);
		bool window_ok = false;
		for (size_t k = 0; k < p->n_calls && !window_ok; k++)
			window_ok = !p->calls[k].originated_here &&
				    strcmp(p->calls[k].upstream, a->provider_id) == 0 &&
				    p->calls[k].record_time_ms == a->window_time_ms;
		if (!window_ok)
			return reject(rep, HT_E_MALFORMED, (ssize_t)i,
				      "%s: window time %llu is not the record time of a call "
				      "%s handed to %s (answer %zd)",
				      name, (unsigned long long)a->window_time_ms, a->provider_id,
				      a->asked_by, f);
		v->parent[i] = f;
	}
	return HT_OK;
}

/* Whether FOUND answer `f`'s upstream `u` got an answer or a dead end. */
static bool branch_closed(const struct vctx *v, size_t f, const char *u)
{
	const ht_answer_info *p = info(v, f);
	for (size_t j = 0; j < v->n; j++) {
		const ht_answer_info *a = info(v, j);
		if (v->parent[j] != (ssize_t)f)
			continue;
		if (a->status == HT_ANSWER_DEAD_END
			    ? strcmp(a->upstream, u) == 0
			    : a->hop == p->hop + 1 && strcmp(a->provider_id, u) == 0)
			return true;
	}
	return false;
}

static int cmp_hop(const void *x, const void *y)
{
	const ht_bundle_node *a = x, *b = y;
	if (a->info.hop != b->info.hop)
		return a->info.hop < b->info.hop ? -1 : 1;
	return a->answer < b->answer ? -1 : a->answer > b->answer;
}

/* The tree in hop order, open branches and whether an origin was reached. */
static int build_report(struct vctx *v)
{
	ht_bundle_report *rep = v->rep;
	rep->nodes = calloc(v->n ? v->n : 1, sizeof(*rep->nodes));
	ssize_t *where = calloc(v->n ? v->n : 1, sizeof(*where));
	if (!rep->nodes || !where) {
		free(where);
		return reject(rep, HT_E_NOMEM, -1, "out of memory");
	}
	for (size_t i = 0; i < v->n; i++) {
		rep->nodes[i].info = *info(v, i);
		rep->nodes[i].answer = i;
	}
	qsort(rep->nodes, v->n, sizeof(*rep->nodes), cmp_hop);
	for (size_t k = 0; k < v->n; k++)
		where[rep->nodes[k].answer] = (ssize_t)k;
	for (size_t k = 0; k < v->n; k++) {
		ssize_t p = v->parent[rep->nodes[k].answer];
		rep->nodes[k].parent = p < 0 ? -1 : where[p];
	}
	rep->n_nodes = v->n;
	free(where);

	for (size_t i = 0; i < v->n; i++) {
		const ht_answer_info *a = info(v, i);
		if (a->status != HT_ANSWER_FOUND)
			continue;
		for (size_t k = 0; k < a->n_calls; k++) {
			const ht_matched_call *c = &a->calls[k];
			if (c->originated_here) {
				rep->origin_found = true;
				continue;
			}
			/* Count each upstream once per answer. */
			bool seen = false;
			for (size_t e = 0; e < k && !seen; e++)
				seen = !a->calls[e].originated_here &&
				       strcmp(a->calls[e].upstream, c->upstream) == 0;
			if (!seen && !branch_closed(v, i, c->upstream))
				rep->n_open++;
		}
	}
	return HT_OK;
}

int ht_bundle_verify(const uint8_t *buf, size_t len, const ht_trust *trust, ht_bundle_report *rep)
{
	if (!rep)
		return HT_E_INVAL;
	memset(rep, 0, sizeof(*rep));
	rep->failed_answer = -1;
	if ((!buf && len) || !trust)
		return reject(rep, HT_E_INVAL, -1, "invalid argument");

	ProtobufCMessage *m;
	int rc =
		ht__unpack(&hoptrace__v1__evidence_bundle__descriptor, buf, len, HT_BUNDLE_MAX, &m);
	if (rc == HT_E_TOO_LARGE)
		return reject(rep, rc, -1, "bundle is larger than %u octets", HT_BUNDLE_MAX);
	if (rc != HT_OK)
		return reject(rep, rc, -1, "bundle does not decode (truncated or not a bundle)");
	const Hoptrace__V1__EvidenceBundle *b = (const Hoptrace__V1__EvidenceBundle *)m;

	struct vctx v = {.trust = trust, .rep = rep, .n = b->n_answers};
	ht_request *r = NULL;
	if (b->version != BUNDLE_VERSION) {
		rc = reject(rep, HT_E_UNSUPPORTED_VERSION, -1,
			    "bundle version %u (this implementation reads version %u)", b->version,
			    BUNDLE_VERSION);
		goto out;
	}
	if (ht__check_critical(m->descriptor, b->critical, b->n_critical) != HT_OK) {
		uint32_t unknown = 0;
		for (size_t k = 0; k < b->n_critical && !unknown; k++)
			if (!protobuf_c_message_descriptor_get_field(m->descriptor, b->critical[k]))
				unknown = b->critical[k];
		rc = reject(rep, HT_E_UNSUPPORTED_CRITICAL, -1,
			    "bundle lists field %u as critical, which this implementation does "
			    "not know",
			    unknown);
		goto out;
	}
	if (b->n_answers > HT_BUNDLE_ANSWERS_MAX) {
		rc = reject(rep, HT_E_TOO_LARGE, -1, "bundle holds %zu answers (at most %u)",
			    b->n_answers, HT_BUNDLE_ANSWERS_MAX);
		goto out;
	}
	/* Encoders write exported_ms last: a bundle cut short between two fields has none. */
	if (b->exported_ms == 0) {
		rc = reject(rep, HT_E_MALFORMED, -1, "bundle has no export time (truncated?)");
		goto out;
	}
	v.ans = calloc(v.n ? v.n : 1, sizeof(*v.ans));
	v.parent = calloc(v.n ? v.n : 1, sizeof(*v.parent));
	if (!v.ans || !v.parent) {
		rc = reject(rep, HT_E_NOMEM, -1, "out of memory");
		goto out;
	}
	if ((rc = check_request(&v, b, &r)) != HT_OK || (rc = check_opening(&v, b, r)) != HT_OK ||
	    (rc = check_answers(&v, b, r)) != HT_OK || (rc = check_chain(&v)) != HT_OK)
		goto out;
	rc = build_report(&v);
out:
	if (rc != HT_OK) {
		free(rep->nodes);
		rep->nodes = NULL;
		rep->n_nodes = 0;
		rep->n_open = 0;
		rep->origin_found = false;
	}
	if (v.ans)
		for (size_t i = 0; i < v.n; i++)
			ht_answer_free(v.ans[i]);
	free(v.ans);
	free(v.parent);
	ht_request_free(r);
	protobuf_c_message_free_unpacked(m, NULL);
	return rc;
}

void ht_bundle_report_free(ht_bundle_report *rep)
{
	if (!rep)
		return;
	free(rep->nodes);
	rep->nodes = NULL;
	rep->n_nodes = 0;
}
