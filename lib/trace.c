#include "hoptrace/trace.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hoptrace/v1/cert.pb-c.h"
#include "hoptrace/v1/trace.pb-c.h"
#include "wire.h"

/* ---- Reason codes ------------------------------------------------------- */

static const char *const reason_names[] = {
	[HT_REASON_UNSPECIFIED] = "unspecified",
	[HT_REASON_MALFORMED] = "malformed",
	[HT_REASON_BAD_SIGNATURE] = "bad_signature",
	[HT_REASON_UNKNOWN_ANCHOR] = "unknown_anchor",
	[HT_REASON_CERT_NOT_YET_VALID] = "cert_not_yet_valid",
	[HT_REASON_CERT_EXPIRED] = "cert_expired",
	[HT_REASON_CERT_REVOKED] = "cert_revoked",
	[HT_REASON_MISSING_ROLE] = "missing_role",
	[HT_REASON_UNSUPPORTED_CRITICAL] = "unsupported_critical",
	[HT_REASON_EXPIRED] = "expired",
	[HT_REASON_HOP_LIMIT] = "hop_limit",
	[HT_REASON_DUPLICATE] = "duplicate",
	[HT_REASON_RATE_LIMITED] = "rate_limited",
	[HT_REASON_NOT_A_PEER] = "not_a_peer",
	[HT_REASON_UNSUPPORTED_VERSION] = "unsupported_version",
	[HT_REASON_INTERNAL] = "internal",
	[HT_REASON_POLICY_REFUSED] = "policy_refused",
	[HT_REASON_UPSTREAM_NOT_PARTICIPANT] = "upstream_not_participant",
	[HT_REASON_UPSTREAM_UNREACHABLE] = "upstream_unreachable",
	[HT_REASON_UPSTREAM_TIMED_OUT] = "upstream_timed_out",
};

const char *ht_reason_name(uint32_t reason)
{
	if (reason >= sizeof(reason_names) / sizeof(reason_names[0]))
		return "unknown";
	return reason_names[reason];
}

/* spec/protocol.md section 10.3. */
ht_reason ht_reason_from_err(int err)
{
	switch (err) {
	case HT_OK:
		return HT_REASON_UNSPECIFIED;
	case HT_E_MALFORMED:
	case HT_E_TOO_LARGE:
	case HT_E_WRONG_KIND:
	case HT_E_BAD_PROVIDER_ID:
	case HT_E_WEAK_KEY:
	case HT_E_DECRYPT:
	case HT_E_WRONG_REQUEST:
		return HT_REASON_MALFORMED;
	case HT_E_BAD_SIGNATURE:
	case HT_E_KEY_MISMATCH:
		return HT_REASON_BAD_SIGNATURE;
	case HT_E_UNKNOWN_ANCHOR:
		return HT_REASON_UNKNOWN_ANCHOR;
	case HT_E_NOT_YET_VALID:
		return HT_REASON_CERT_NOT_YET_VALID;
	case HT_E_EXPIRED:
		return HT_REASON_CERT_EXPIRED;
	case HT_E_REVOKED:
		return HT_REASON_CERT_REVOKED;
	case HT_E_MISSING_ROLE:
		return HT_REASON_MISSING_ROLE;
	case HT_E_UNSUPPORTED_CRITICAL:
		return HT_REASON_UNSUPPORTED_CRITICAL;
	case HT_E_NOT_A_PEER:
	case HT_E_WRONG_PEER:
		return HT_REASON_NOT_A_PEER;
	case HT_E_UNSUPPORTED_VERSION:
		return HT_REASON_UNSUPPORTED_VERSION;
	default:
		return HT_REASON_INTERNAL;
	}
}

const char *ht_answer_status_name(uint32_t status)
{
	switch (status) {
	case HT_ANSWER_FOUND:
		return "found";
	case HT_ANSWER_NOT_FOUND:
		return "not_found";
	case HT_ANSWER_REFUSED:
		return "refused";
	case HT_ANSWER_DEAD_END:
		return "dead_end";
	default:
		return "unknown";
	}
}

/* ---- Helpers ------------------------------------------------------------ */

/*
 * An X25519 public key that is not of small order: one for which every
 * Diffie-Hellman result is not a constant. The points of order dividing 8
 * on the curve and its twist have these seven u-coordinates (little-endian,
 * the unused top bit cleared, as X25519 does): 0, 1, the two of order 8,
 * p - 1, and the non-reduced p and p + 1. Comparing with them is what a
 * scalar multiplication by a probe would tell (lib/cert.c does that), at a
 * fraction of the cost; every request parse runs this. tests/test_trace.c
 * checks the two agree.
 */
static bool x25519_usable(const uint8_t pk[32])
{
	static const uint8_t small[7][32] = {
		{0},
		{1},
		{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
		 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
		 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
		{0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
		 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
		 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
		{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	};
	uint8_t k[32];
	memcpy(k, pk, sizeof(k));
	k[31] &= 0x7f;
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		if (memcmp(k, small[i], sizeof(k)) == 0)
			return false;
	return true;
}

/*
 * Label text: well-formed UTF-8 (no overlong forms, surrogates or code
 * points above U+10FFFF) without C0, DEL or C1 control characters.
 */
static bool text_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		uint32_t cp;
		size_t n;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += n + 1;
	}
	return true;
}

/* Customer references: printable ASCII. */
static bool printable(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* Copies a provider ID of `len` bytes into a NUL-terminated buffer. */
static bool copy_id(char dst[HT_PROVIDER_ID_MAX + 1], const ProtobufCBinaryData *b,
		    bool may_be_empty)
{
	if (b->len == 0 && may_be_empty) {
		dst[0] = 0;
		return true;
	}
	if (!ht_provider_id_valid((const char *)b->data, b->len))
		return false;
	memcpy(dst, b->data, b->len);
	dst[b->len] = 0;
	return true;
}

static bool id_valid(const char *id)
{
	return ht_provider_id_valid(id, strnlen(id, HT_PROVIDER_ID_MAX + 1));
}

/* A mask of the top `bits` bits of a 16-bit hint. */
static uint32_t hint_mask(uint32_t bits)
{
	return bits == 0 ? 0 : (0xffffu << (16 - bits)) & 0xffffu;
}

/* ---- The blinded call --------------------------------------------------- */

static const uint8_t zero_byte = 0;

int ht_call_commitment(const uint8_t salt[HT_SALT_LEN], const char *calling, const char *called,
		       uint8_t out[HT_COMMITMENT_LEN])
{
	static const char dom[] = "hoptrace/v1 call";
	if (!calling || !called || !ht_e164_digits_valid(calling, strlen(calling)) ||
	    !ht_e164_digits_valid(called, strlen(called)))
		return HT_E_INVAL;
	crypto_generichash_state st;
	crypto_generichash_init(&st, salt, HT_SALT_LEN, HT_COMMITMENT_LEN);
	crypto_generichash_update(&st, (const uint8_t *)dom, sizeof(dom) - 1);
	crypto_generichash_update(&st, &zero_byte, 1);
	crypto_generichash_update(&st, (const uint8_t *)calling, strlen(calling));
	crypto_generichash_update(&st, &zero_byte, 1);
	crypto_generichash_update(&st, (const uint8_t *)called, strlen(called));
	crypto_generichash_final(&st, out, HT_COMMITMENT_LEN);
	return HT_OK;
}

uint16_t ht_call_hint(const char *calling, const char *called)
{
	static const char dom[] = "hoptrace/v1 number-hint";
	uint8_t h[32];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)dom, sizeof(dom) - 1);
	crypto_generichash_update(&st, &zero_byte, 1);
	crypto_generichash_update(&st, (const uint8_t *)calling, strlen(calling));
	crypto_generichash_update(&st, &zero_byte, 1);
	crypto_generichash_update(&st, (const uint8_t *)called, strlen(called));
	crypto_generichash_final(&st, h, sizeof(h));
	return (uint16_t)(h[0] << 8 | h[1]);
}

/* ---- TraceRequest -------------------------------------------------------- */

struct ht_request {
	ht_request_info info;
	bool complete; /* every check of ht_request_parse passed */
	ht_envelope *env;
	ht_cert *cert; /* NULL when parsing stopped before it */
	uint8_t *raw;
	size_t raw_len;
	uint8_t id[HT_MSG_ID_LEN];
};

/* The time bounds shared by building and parsing. */
static bool times_valid(uint64_t created, uint64_t expires, uint32_t tolerance, uint32_t hop_limit)
{
	return created < expires && expires - created <= HT_LIFETIME_MAX_MS &&
	       tolerance <= HT_TOLERANCE_MAX_MS && hop_limit >= 1 && hop_limit <= HT_HOP_LIMIT_MAX;
}

int ht_request_build(const ht_request_params *p, const ht_keys *initiator, const uint8_t *cert,
		     size_t cert_len, uint8_t **out, size_t *out_len)
{
	if (!p || !initiator || !initiator->has_secret || !cert || !out || !out_len ||
	    !p->calling || !p->called || !p->answer_pk)
		return HT_E_INVAL;
	if (!times_valid(p->created_ms, p->expires_ms, p->tolerance_ms, p->hop_limit) ||
	    p->hint_bits > HT_HINT_BITS_MAX)
		return HT_E_INVAL;
	size_t label_len = p->label ? strlen(p->label) : 0;
	if (label_len > HT_LABEL_MAX || !text_valid((const uint8_t *)p->label, label_len))
		return HT_E_INVAL;
	if (!x25519_usable(p->answer_pk))
		return HT_E_WEAK_KEY;

	uint8_t salt[HT_SALT_LEN], tid[HT_TRACE_ID_LEN], com[HT_COMMITMENT_LEN];
	if (p->salt)
		memcpy(salt, p->salt, sizeof(salt));
	else
		randombytes_buf(salt, sizeof(salt));
	if (p->trace_id)
		memcpy(tid, p->trace_id, sizeof(tid));
	else
		randombytes_buf(tid, sizeof(tid));
	int rc = ht_call_commitment(salt, p->calling, p->called, com);
	if (rc != HT_OK)
		return rc;

	ht_cert *c;
	if ((rc = ht_cert_parse(cert, cert_len, &c)) != HT_OK)
		return rc;
	const ht_cert_info *ci = ht_cert_get_info(c);
	if (memcmp(ci->sign_key, initiator->sign_pk, HT_SIGN_PK_LEN) != 0) {
		ht_cert_free(c);
		return HT_E_INVAL;
	}

	Hoptrace__V1__TraceRequest q = HOPTRACE__V1__TRACE_REQUEST__INIT;
	q.trace_id.data = tid;
	q.trace_id.len = sizeof(tid);
	q.initiator_id.data = (uint8_t *)ci->provider_id;
	q.initiator_id.len = strlen(ci->provider_id);
	q.initiator_cert.data = (uint8_t *)cert;
	q.initiator_cert.len = cert_len;
	q.created_ms = p->created_ms;
	q.expires_ms = p->expires_ms;
	q.call_time_ms = p->call_time_ms;
	q.tolerance_ms = p->tolerance_ms;
	q.hop_limit = p->hop_limit;
	q.salt.data = salt;
	q.salt.len = sizeof(salt);
	q.call_commitment.data = com;
	q.call_commitment.len = sizeof(com);
	q.answer_key.data = (uint8_t *)p->answer_pk;
	q.answer_key.len = HT_ANSWER_PK_LEN;
	q.hint = ht_call_hint(p->calling, p->called) & hint_mask(p->hint_bits);
	q.hint_bits = p->hint_bits;
	q.label.data = (uint8_t *)p->label;
	q.label.len = label_len;

	uint8_t *body;
	size_t body_len;
	rc = ht__pack(&q.base, &body, &body_len);
	ht_cert_free(c);
	if (rc != HT_OK)
		return rc;
	rc = ht_envelope_sign(HT_KIND_TRACE_REQUEST, body, body_len, initiator->sign_sk, out,
			      out_len);
	free(body);
	return rc;
}

/* Every check after the answer key, filling r->info as it goes. */
static int request_fill(ht_request *r, const Hoptrace__V1__TraceRequest *q, ht_cert_cache *certs)
{
	ht_request_info *i = &r->info;
	int rc = ht__check_critical(q->base.descriptor, q->critical, q->n_critical);
	if (rc != HT_OK)
		return rc;
	if (q->trace_id.len != HT_TRACE_ID_LEN ||
	    !copy_id(i->initiator_id, &q->initiator_id, false))
		return HT_E_MALFORMED;
	rc = ht_cert_cache_parse(certs, q->initiator_cert.data, q->initiator_cert.len, &r->cert);
	if (rc != HT_OK)
		return rc == HT_E_NOMEM ? rc : HT_E_MALFORMED;
	if (strcmp(ht_cert_get_info(r->cert)->provider_id, i->initiator_id) != 0)
		return HT_E_MALFORMED;
	if (!times_valid(q->created_ms, q->expires_ms, q->tolerance_ms, q->hop_limit))
		return HT_E_MALFORMED;
	i->created_ms = q->created_ms;
	i->expires_ms = q->expires_ms;
	i->call_time_ms = q->call_time_ms;
	i->tolerance_ms = q->tolerance_ms;
	i->hop_limit = q->hop_limit;
	if (q->salt.len != HT_SALT_LEN || q->call_commitment.len != HT_COMMITMENT_LEN)
		return HT_E_MALFORMED;
	memcpy(i->salt, q->salt.data, HT_SALT_LEN);
	memcpy(i->commitment, q->call_commitment.data, HT_COMMITMENT_LEN);
	if (q->hint_bits > HT_HINT_BITS_MAX || q->hint > 0xffffu ||
	    (q->hint & ~hint_mask(q->hint_bits)) != 0)
		return HT_E_MALFORMED;
	i->hint = (uint16_t)q->hint;
	i->hint_bits = q->hint_bits;
	if (q->label.len > HT_LABEL_MAX || !text_valid(q->label.data, q->label.len))
		return HT_E_MALFORMED;
	if (q->label.len)
		memcpy(i->label, q->label.data, q->label.len);
	i->label[q->label.len] = 0;
	return HT_OK;
}

int ht_request_parse(const uint8_t *buf, size_t len, ht_request **out)
{
	return ht_request_parse_cached(buf, len, NULL, out);
}

int ht_request_parse_cached(const uint8_t *buf, size_t len, ht_cert_cache *certs, ht_request **out)
{
	*out = NULL;
	ht_envelope *env;
	ProtobufCMessage *m;
	int rc = ht__open_signed(buf, len, HT_ENVELOPE_MAX, HT_KIND_TRACE_REQUEST,
				 &hoptrace__v1__trace_request__descriptor, &env, &m);
	if (rc != HT_OK)
		return rc;
	Hoptrace__V1__TraceRequest *q = (Hoptrace__V1__TraceRequest *)m;
	/* Without a usable answer key nothing can be sealed back: no object. */
	if (q->answer_key.len != HT_ANSWER_PK_LEN || !x25519_usable(q->answer_key.data)) {
		rc = q->answer_key.len != HT_ANSWER_PK_LEN ? HT_E_MALFORMED : HT_E_WEAK_KEY;
		protobuf_c_message_free_unpacked(m, NULL);
		ht_envelope_free(env);
		return rc;
	}
	ht_request *r = calloc(1, sizeof(*r));
	uint8_t *raw = malloc(len);
	if (!r || !raw) {
		free(r);
		free(raw);
		protobuf_c_message_free_unpacked(m, NULL);
		ht_envelope_free(env);
		return HT_E_NOMEM;
	}
	memcpy(raw, buf, len);
	r->raw = raw;
	r->raw_len = len;
	r->env = env;
	if ((rc = ht_envelope_id(env, r->id)) == HT_OK) {
		memcpy(r->info.answer_pk, q->answer_key.data, HT_ANSWER_PK_LEN);
		if (q->trace_id.len == HT_TRACE_ID_LEN)
			memcpy(r->info.trace_id, q->trace_id.data, HT_TRACE_ID_LEN);
		rc = request_fill(r, q, certs);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	r->complete = rc == HT_OK;
	*out = r;
	return rc;
}

bool ht_request_peek_trace_id(const uint8_t *buf, size_t len, uint8_t out[HT_TRACE_ID_LEN])
{
	ht_envelope *env;
	ProtobufCMessage *m;
	if (ht__open_signed(buf, len, HT_ENVELOPE_MAX, HT_KIND_TRACE_REQUEST,
			    &hoptrace__v1__trace_request__descriptor, &env, &m) != HT_OK)
		return false;
	const Hoptrace__V1__TraceRequest *q = (const Hoptrace__V1__TraceRequest *)m;
	bool ok = q->trace_id.len == HT_TRACE_ID_LEN;
	if (ok)
		memcpy(out, q->trace_id.data, HT_TRACE_ID_LEN);
	protobuf_c_message_free_unpacked(m, NULL);
	ht_envelope_free(env);
	return ok;
}

int ht_request_verify(const ht_request *r, const ht_trust *trust, uint64_t now_ms,
		      ht_reason *reason)
{
	ht_reason dummy;
	if (!reason)
		reason = &dummy;
	int rc = HT_E_MALFORMED;
	if (!r->complete)
		goto out;
	rc = ht_trust_verify_cert(trust, r->cert, now_ms / 1000, HT_ROLE_INITIATOR);
	if (rc != HT_OK)
		goto out;
	rc = ht_envelope_verify(r->env, HT_KIND_TRACE_REQUEST, ht_cert_get_info(r->cert)->sign_key);
	if (rc != HT_OK)
		goto out;
	if (now_ms > r->info.expires_ms || (r->info.created_ms > HT_CLOCK_SKEW_MS &&
					    r->info.created_ms - HT_CLOCK_SKEW_MS > now_ms)) {
		*reason = HT_REASON_EXPIRED;
		return HT_E_EXPIRED;
	}
out:
	*reason = ht_reason_from_err(rc);
	return rc;
}

const ht_request_info *ht_request_get(const ht_request *r)
{
	return &r->info;
}

const uint8_t *ht_request_id(const ht_request *r)
{
	return r->id;
}

const uint8_t *ht_request_encoded(const ht_request *r, size_t *len)
{
	*len = r->raw_len;
	return r->raw;
}

const ht_cert *ht_request_cert(const ht_request *r)
{
	return r->cert;
}

bool ht_request_matches(const ht_request *r, const char *calling, const char *called)
{
	uint8_t c[HT_COMMITMENT_LEN];
	if (!r->complete || ht_call_commitment(r->info.salt, calling, called, c) != HT_OK)
		return false;
	return sodium_memcmp(c, r->info.commitment, sizeof(c)) == 0;
}

void ht_request_free(ht_request *r)
{
	if (!r)
		return;
	ht_envelope_free(r->env);
	ht_cert_free(r->cert);
	free(r->raw);
	free(r);
}

/* ---- HopAnswer ---------------------------------------------------------- */

struct ht_answer {
	ht_answer_info info;
	ht_envelope *env;
	ht_cert *cert;
	uint8_t *raw;
	size_t raw_len;
};

static bool call_valid(const ht_matched_call *c)
{
	size_t ref_len = strnlen(c->customer_ref, HT_CUSTOMER_REF_MAX + 1);
	if (c->attestation > 3 || ref_len > HT_CUSTOMER_REF_MAX ||
	    !printable((const uint8_t *)c->customer_ref, ref_len))
		return false;
	/* Exactly one of: handed over by an upstream, or placed by a customer. */
	if (c->originated_here)
		return c->upstream[0] == 0;
	return id_valid(c->upstream) && ref_len == 0;
}

/* The structural rules of a HopAnswer, shared by signing and parsing. */
static bool answer_valid(const ht_answer_info *a)
{
	if (!id_valid(a->provider_id) || !id_valid(a->asked_by) || a->hop >= HT_HOP_LIMIT_MAX)
		return false;
	bool has_upstream = a->upstream[0] != 0;
	switch (a->status) {
	case HT_ANSWER_FOUND:
		if (a->n_calls < 1 || a->n_calls > HT_ANSWER_CALLS_MAX)
			return false;
		for (size_t k = 0; k < a->n_calls; k++)
			if (!call_valid(&a->calls[k]))
				return false;
		return a->reason == 0 && !has_upstream;
	case HT_ANSWER_NOT_FOUND:
		return a->n_calls == 0 && a->reason == 0 && !has_upstream;
	case HT_ANSWER_REFUSED:
		return a->n_calls == 0 && a->reason != 0 && !has_upstream;
	case HT_ANSWER_DEAD_END:
		return a->n_calls == 0 && a->reason != 0 && id_valid(a->upstream);
	default:
		return false;
	}
}

bool ht_answer_info_valid(const ht_answer_info *a)
{
	return a && answer_valid(a);
}

/* Encodes and signs an answer whose certificate has been checked to be the hop's. */
static int answer_sign(const ht_answer_info *a, const ht_keys *hop, const uint8_t *cert,
		       size_t cert_len, uint8_t **out, size_t *out_len)
{
	int rc;
	Hoptrace__V1__MatchedCall calls[HT_ANSWER_CALLS_MAX];
	Hoptrace__V1__MatchedCall *callp[HT_ANSWER_CALLS_MAX];
	for (size_t k = 0; k < a->n_calls; k++) {
		const ht_matched_call *s = &a->calls[k];
		Hoptrace__V1__MatchedCall *d = &calls[k];
		hoptrace__v1__matched_call__init(d);
		d->upstream.data = (uint8_t *)s->upstream;
		d->upstream.len = strlen(s->upstream);
		d->originated_here = s->originated_here;
		d->customer_ref.data = (uint8_t *)s->customer_ref;
		d->customer_ref.len = strlen(s->customer_ref);
		d->record_time_ms = s->record_time_ms;
		d->attestation = (Hoptrace__V1__Attestation)s->attestation;
		if (s->has_origid) {
			d->origid.data = (uint8_t *)s->origid;
			d->origid.len = HT_ORIGID_LEN;
		}
		callp[k] = d;
	}
	Hoptrace__V1__HopAnswer h = HOPTRACE__V1__HOP_ANSWER__INIT;
	h.request_hash.data = (uint8_t *)a->request_hash;
	h.request_hash.len = HT_MSG_ID_LEN;
	h.provider_id.data = (uint8_t *)a->provider_id;
	h.provider_id.len = strlen(a->provider_id);
	h.asked_by.data = (uint8_t *)a->asked_by;
	h.asked_by.len = strlen(a->asked_by);
	h.status = (Hoptrace__V1__AnswerStatus)a->status;
	h.reason = (Hoptrace__V1__Reason)a->reason;
	h.answered_ms = a->answered_ms;
	h.hop = a->hop;
	h.n_calls = a->n_calls;
	h.calls = callp;
	h.upstream.data = (uint8_t *)a->upstream;
	h.upstream.len = strlen(a->upstream);
	h.certificate.data = (uint8_t *)cert;
	h.certificate.len = cert_len;
	h.window_time_ms = a->window_time_ms;

	uint8_t *body;
	size_t body_len;
	if ((rc = ht__pack(&h.base, &body, &body_len)) != HT_OK)
		return rc;
	rc = ht_envelope_sign(HT_KIND_HOP_ANSWER, body, body_len, hop->sign_sk, out, out_len);
	free(body);
	return rc;
}

int ht_answer_sign(const ht_answer_info *a, const ht_keys *hop, const uint8_t *cert,
		   size_t cert_len, uint8_t **out, size_t *out_len)
{
	if (!a || !hop || !hop->has_secret || !cert || !out || !out_len || !answer_valid(a))
		return HT_E_INVAL;
	/*
	 * The hop's own certificate, checked when the daemon loaded it: here
	 * only that it names this provider and key. Decoding it is cheap;
	 * ht_cert_parse's key checks are not. (ht_answer_sign_cert skips even
	 * the decoding.)
	 */
	ht_envelope *env;
	ProtobufCMessage *m;
	int rc = ht__open_signed(cert, cert_len, HT_CERT_MAX, HT_KIND_CERTIFICATE,
				 &hoptrace__v1__certificate__descriptor, &env, &m);
	if (rc != HT_OK)
		return rc;
	const Hoptrace__V1__Certificate *ci = (const Hoptrace__V1__Certificate *)m;
	bool mine = ci->provider_id.len == strlen(a->provider_id) &&
		    memcmp(ci->provider_id.data, a->provider_id, ci->provider_id.len) == 0 &&
		    ci->sign_key.len == HT_SIGN_PK_LEN &&
		    memcmp(ci->sign_key.data, hop->sign_pk, HT_SIGN_PK_LEN) == 0;
	protobuf_c_message_free_unpacked(m, NULL);
	ht_envelope_free(env);
	if (!mine)
		return HT_E_INVAL;
	return answer_sign(a, hop, cert, cert_len, out, out_len);
}

int ht_answer_sign_cert(const ht_answer_info *a, const ht_keys *hop, const ht_cert *cert,
			uint8_t **out, size_t *out_len)
{
	if (!a || !hop || !hop->has_secret || !cert || !out || !out_len || !answer_valid(a))
		return HT_E_INVAL;
	const ht_cert_info *ci = ht_cert_get_info(cert);
	if (strcmp(ci->provider_id, a->provider_id) != 0 ||
	    memcmp(ci->sign_key, hop->sign_pk, HT_SIGN_PK_LEN) != 0)
		return HT_E_INVAL;
	size_t len;
	const uint8_t *raw = ht_cert_encoded(cert, &len);
	return answer_sign(a, hop, raw, len, out, out_len);
}

/* Copies the wire fields into `i`, checking every length on the way. */
static int answer_fill(ht_answer_info *i, const Hoptrace__V1__HopAnswer *h)
{
	if (h->request_hash.len != HT_MSG_ID_LEN ||
	    !copy_id(i->provider_id, &h->provider_id, false) ||
	    !copy_id(i->asked_by, &h->asked_by, false) ||
	    !copy_id(i->upstream, &h->upstream, true) || h->n_calls > HT_ANSWER_CALLS_MAX)
		return HT_E_MALFORMED;
	memcpy(i->request_hash, h->request_hash.data, HT_MSG_ID_LEN);
	i->status = (uint32_t)h->status;
	i->reason = (uint32_t)h->reason;
	i->answered_ms = h->answered_ms;
	i->hop = h->hop;
	i->window_time_ms = h->window_time_ms;
	i->n_calls = h->n_calls;
	for (size_t k = 0; k < h->n_calls; k++) {
		const Hoptrace__V1__MatchedCall *s = h->calls[k];
		ht_matched_call *d = &i->calls[k];
		if (!copy_id(d->upstream, &s->upstream, true) ||
		    s->customer_ref.len > HT_CUSTOMER_REF_MAX ||
		    !printable(s->customer_ref.data, s->customer_ref.len) ||
		    (s->origid.len != 0 && s->origid.len != HT_ORIGID_LEN) ||
		    (uint32_t)s->attestation > 3)
			return HT_E_MALFORMED;
		d->originated_here = s->originated_here;
		if (s->customer_ref.len)
			memcpy(d->customer_ref, s->customer_ref.data, s->customer_ref.len);
		d->customer_ref[s->customer_ref.len] = 0;
		d->record_time_ms = s->record_time_ms;
		d->attestation = (uint8_t)s->attestation;
		d->has_origid = s->origid.len == HT_ORIGID_LEN;
		if (d->has_origid)
			memcpy(d->origid, s->origid.data, HT_ORIGID_LEN);
	}
	return answer_valid(i) ? HT_OK : HT_E_MALFORMED;
}

int ht_answer_parse(const uint8_t *buf, size_t len, ht_answer **out)
{
	*out = NULL;
	ht_envelope *env;
	ProtobufCMessage *m;
	int rc = ht__open_signed(buf, len, HT_ENVELOPE_MAX, HT_KIND_HOP_ANSWER,
				 &hoptrace__v1__hop_answer__descriptor, &env, &m);
	if (rc != HT_OK)
		return rc;
	const Hoptrace__V1__HopAnswer *h = (const Hoptrace__V1__HopAnswer *)m;
	ht_answer *a = calloc(1, sizeof(*a));
	if (!a) {
		rc = HT_E_NOMEM;
		goto fail;
	}
	a->env = env;
	if ((rc = ht__check_critical(m->descriptor, h->critical, h->n_critical)) != HT_OK)
		goto fail;
	if ((rc = answer_fill(&a->info, h)) != HT_OK)
		goto fail;
	rc = ht_cert_parse(h->certificate.data, h->certificate.len, &a->cert);
	if (rc != HT_OK) {
		rc = rc == HT_E_NOMEM ? rc : HT_E_MALFORMED;
		goto fail;
	}
	if (strcmp(ht_cert_get_info(a->cert)->provider_id, a->info.provider_id) != 0) {
		rc = HT_E_MALFORMED;
		goto fail;
	}
	if (!(a->raw = malloc(len))) {
		rc = HT_E_NOMEM;
		goto fail;
	}
	memcpy(a->raw, buf, len);
	a->raw_len = len;
	protobuf_c_message_free_unpacked(m, NULL);
	*out = a;
	return HT_OK;
fail:
	protobuf_c_message_free_unpacked(m, NULL);
	if (a)
		ht_answer_free(a);
	else
		ht_envelope_free(env);
	return rc;
}

int ht_answer_verify(const ht_answer *a, const ht_trust *trust,
		     const uint8_t request_id[HT_MSG_ID_LEN])
{
	int rc = ht_trust_verify_cert(trust, a->cert, a->info.answered_ms / 1000, 0);
	if (rc != HT_OK)
		return rc;
	/* ht_answer_parse already tied provider_id to the certificate. */
	rc = ht_envelope_verify(a->env, HT_KIND_HOP_ANSWER, ht_cert_get_info(a->cert)->sign_key);
	if (rc != HT_OK)
		return rc;
	if (sodium_memcmp(a->info.request_hash, request_id, HT_MSG_ID_LEN) != 0)
		return HT_E_WRONG_REQUEST;
	return HT_OK;
}

const ht_answer_info *ht_answer_get(const ht_answer *a)
{
	return &a->info;
}

const uint8_t *ht_answer_encoded(const ht_answer *a, size_t *len)
{
	*len = a->raw_len;
	return a->raw;
}

const ht_cert *ht_answer_cert(const ht_answer *a)
{
	return a->cert;
}

void ht_answer_free(ht_answer *a)
{
	if (!a)
		return;
	ht_envelope_free(a->env);
	ht_cert_free(a->cert);
	free(a->raw);
	free(a);
}

/* ---- Sealing ------------------------------------------------------------ */

int ht_seal(const uint8_t *msg, size_t len, const uint8_t pk[HT_ANSWER_PK_LEN],
	    const uint8_t *eph_sk, uint8_t **out, size_t *out_len)
{
	if ((!msg && len) || !pk || !out || !out_len || len > SIZE_MAX - HT_SEAL_OVERHEAD)
		return HT_E_INVAL;
	uint8_t esk[crypto_box_SECRETKEYBYTES], epk[crypto_box_PUBLICKEYBYTES];
	uint8_t nonce[crypto_box_NONCEBYTES];
	int rc = HT_OK;
	if (eph_sk) {
		memcpy(esk, eph_sk, sizeof(esk));
		if (crypto_scalarmult_base(epk, esk) != 0)
			rc = HT_E_INVAL;
	} else if (crypto_box_keypair(epk, esk) != 0) {
		rc = HT_E_CRYPTO;
	}
	uint8_t *b = NULL;
	if (rc == HT_OK && !(b = malloc(HT_SEAL_OVERHEAD + len)))
		rc = HT_E_NOMEM;
	if (rc == HT_OK) {
		/* libsodium's sealed-box nonce: BLAKE2b-192(epk || pk). */
		crypto_generichash_state st;
		crypto_generichash_init(&st, NULL, 0, sizeof(nonce));
		crypto_generichash_update(&st, epk, sizeof(epk));
		crypto_generichash_update(&st, pk, HT_ANSWER_PK_LEN);
		crypto_generichash_final(&st, nonce, sizeof(nonce));
		memcpy(b, epk, sizeof(epk));
		if (crypto_box_easy(b + sizeof(epk), msg ? msg : (const uint8_t *)"", len, nonce,
				    pk, esk) != 0)
			rc = HT_E_WEAK_KEY; /* the recipient key is of small order */
	}
	sodium_memzero(esk, sizeof(esk));
	sodium_memzero(nonce, sizeof(nonce));
	if (rc != HT_OK) {
		free(b);
		return rc;
	}
	*out = b;
	*out_len = HT_SEAL_OVERHEAD + len;
	return HT_OK;
}

int ht_unseal(const uint8_t *box, size_t len, const uint8_t pk[HT_ANSWER_PK_LEN],
	      const uint8_t sk[HT_ANSWER_SK_LEN], uint8_t **out, size_t *out_len)
{
	if ((!box && len) || !pk || !sk || !out || !out_len)
		return HT_E_INVAL;
	if (len < HT_SEAL_OVERHEAD)
		return HT_E_DECRYPT;
	size_t n = len - HT_SEAL_OVERHEAD;
	uint8_t *m = malloc(n ? n : 1);
	if (!m)
		return HT_E_NOMEM;
	if (crypto_box_seal_open(m, box, len, pk, sk) != 0) {
		free(m);
		return HT_E_DECRYPT;
	}
	*out = m;
	*out_len = n;
	return HT_OK;
}
