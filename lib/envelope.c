#include "hoptrace/envelope.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hoptrace/v1/envelope.pb-c.h"
#include "wire.h"

struct ht_envelope {
	Hoptrace__V1__SignedEnvelope *msg;
};

/* Registry: spec/protocol.md, "Message kinds". */
static const char *const domains[] = {
	[HT_KIND_CERTIFICATE] = "hoptrace/v1 certificate",
	[HT_KIND_REVOCATION_LIST] = "hoptrace/v1 revocation-list",
	[HT_KIND_TRACE_REQUEST] = "hoptrace/v1 trace-request",
	[HT_KIND_HOP_ANSWER] = "hoptrace/v1 hop-answer",
};

const char *ht_kind_domain(ht_kind kind)
{
	if ((unsigned)kind >= sizeof(domains) / sizeof(domains[0]))
		return NULL;
	return domains[kind];
}

/* domain || 0x00 || body, in a malloc'd buffer. */
static int signing_input(ht_kind kind, const uint8_t *body, size_t body_len, uint8_t **out,
			 size_t *out_len)
{
	const char *d = ht_kind_domain(kind);
	if (!d)
		return HT_E_WRONG_KIND;
	size_t dl = strlen(d);
	if (body_len > HT_ENVELOPE_MAX)
		return HT_E_TOO_LARGE;
	uint8_t *b = malloc(dl + 1 + body_len);
	if (!b)
		return HT_E_NOMEM;
	memcpy(b, d, dl);
	b[dl] = 0;
	if (body_len)
		memcpy(b + dl + 1, body, body_len);
	*out = b;
	*out_len = dl + 1 + body_len;
	return HT_OK;
}

int ht_envelope_sign(ht_kind kind, const uint8_t *body, size_t body_len,
		     const uint8_t sign_sk[HT_SIGN_SK_LEN], uint8_t **out, size_t *out_len)
{
	uint8_t *in, sig[HT_SIG_LEN];
	size_t in_len;
	int rc = signing_input(kind, body, body_len, &in, &in_len);
	if (rc != HT_OK)
		return rc;
	crypto_sign_detached(sig, NULL, in, in_len, sign_sk);
	free(in);

	Hoptrace__V1__SignedEnvelope env = HOPTRACE__V1__SIGNED_ENVELOPE__INIT;
	env.kind = (Hoptrace__V1__MessageKind)kind;
	env.body.data = (uint8_t *)body;
	env.body.len = body_len;
	env.signature.data = sig;
	env.signature.len = sizeof(sig);
	rc = ht__pack(&env.base, out, out_len);
	if (rc == HT_OK && *out_len > HT_ENVELOPE_MAX) {
		free(*out);
		rc = HT_E_TOO_LARGE;
	}
	return rc;
}

int ht_envelope_parse(const uint8_t *buf, size_t len, ht_envelope **out)
{
	ProtobufCMessage *m;
	int rc = ht__unpack(&hoptrace__v1__signed_envelope__descriptor, buf, len, HT_ENVELOPE_MAX,
			    &m);
	if (rc != HT_OK)
		return rc;
	Hoptrace__V1__SignedEnvelope *msg = (Hoptrace__V1__SignedEnvelope *)m;
	if (msg->kind == 0 || msg->signature.len != HT_SIG_LEN) {
		protobuf_c_message_free_unpacked(m, NULL);
		return HT_E_MALFORMED;
	}
	ht_envelope *e = malloc(sizeof(*e));
	if (!e) {
		protobuf_c_message_free_unpacked(m, NULL);
		return HT_E_NOMEM;
	}
	e->msg = msg;
	*out = e;
	return HT_OK;
}

uint32_t ht_envelope_kind(const ht_envelope *e)
{
	return (uint32_t)e->msg->kind;
}

const uint8_t *ht_envelope_body(const ht_envelope *e, size_t *len)
{
	*len = e->msg->body.len;
	return e->msg->body.data;
}

const uint8_t *ht_envelope_signature(const ht_envelope *e)
{
	return e->msg->signature.data;
}

int ht_envelope_verify(const ht_envelope *e, ht_kind kind, const uint8_t sign_pk[HT_SIGN_PK_LEN])
{
	if (ht_envelope_kind(e) != (uint32_t)kind)
		return HT_E_WRONG_KIND;
	uint8_t *in;
	size_t in_len;
	int rc = signing_input(kind, e->msg->body.data, e->msg->body.len, &in, &in_len);
	if (rc != HT_OK)
		return rc;
	if (crypto_sign_verify_detached(e->msg->signature.data, in, in_len, sign_pk) != 0)
		rc = HT_E_BAD_SIGNATURE;
	free(in);
	return rc;
}

int ht_envelope_id(const ht_envelope *e, uint8_t out[HT_MSG_ID_LEN])
{
	const char *d = ht_kind_domain((ht_kind)ht_envelope_kind(e));
	if (!d)
		return HT_E_WRONG_KIND;
	static const uint8_t zero = 0;
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, HT_MSG_ID_LEN);
	crypto_generichash_update(&st, (const uint8_t *)d, strlen(d));
	crypto_generichash_update(&st, &zero, 1);
	crypto_generichash_update(&st, e->msg->body.data, e->msg->body.len);
	crypto_generichash_final(&st, out, HT_MSG_ID_LEN);
	return HT_OK;
}

void ht_envelope_free(ht_envelope *e)
{
	if (!e)
		return;
	protobuf_c_message_free_unpacked(&e->msg->base, NULL);
	free(e);
}

int ht__open_signed(const uint8_t *buf, size_t len, size_t max, ht_kind kind,
		    const ProtobufCMessageDescriptor *desc, ht_envelope **env,
		    ProtobufCMessage **body)
{
	if (len > max)
		return HT_E_TOO_LARGE;
	ht_envelope *e;
	int rc = ht_envelope_parse(buf, len, &e);
	if (rc != HT_OK)
		return rc;
	if (ht_envelope_kind(e) != (uint32_t)kind) {
		ht_envelope_free(e);
		return HT_E_WRONG_KIND;
	}
	rc = ht__unpack(desc, e->msg->body.data, e->msg->body.len, max, body);
	if (rc != HT_OK) {
		ht_envelope_free(e);
		return rc;
	}
	*env = e;
	return HT_OK;
}
