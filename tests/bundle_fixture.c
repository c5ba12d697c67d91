#include "bundle_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define FX_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: fixture: %s\n", __FILE__, __LINE__, #cond);        \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

const char *const fx_ids[FX_NPROV] = {
	"TRACEBACK-HQ", "CARRIER-T", "CARRIER-B", "CARRIER-C", "CARRIER-D", "CARRIER-E",
};

/* 2026-01-01 .. 2027-01-01, and a request created on 2026-05-28. */
#define FX_NOT_BEFORE 1767225600ULL
#define FX_NOT_AFTER  1798761600ULL
#define FX_CREATED_MS 1780000000000ULL

static void seeded(ht_keys *k, ht_key_role role, uint8_t seed)
{
	uint8_t s[HT_SIGN_SEED_LEN], n[HT_NOISE_KEY_LEN];
	memset(s, seed, sizeof(s));
	memset(n, seed ^ 0x5a, sizeof(n));
	FX_CHECK(ht_keys_from_seeds(k, role, s, role == HT_KEYS_PROVIDER ? n : NULL) == HT_OK);
}

uint8_t *fx_cert(const struct fx *f, int p, const ht_keys *anchor, uint64_t serial, uint32_t roles,
		 uint64_t not_before, uint64_t not_after, size_t *len)
{
	ht_cert_info ci;
	memset(&ci, 0, sizeof(ci));
	snprintf(ci.provider_id, sizeof(ci.provider_id), "%s", fx_ids[p]);
	memcpy(ci.sign_key, f->keys[p].sign_pk, HT_SIGN_PK_LEN);
	memcpy(ci.noise_key, f->keys[p].noise_pk, HT_NOISE_KEY_LEN);
	ci.not_before = not_before;
	ci.not_after = not_after;
	ci.serial = serial;
	ci.roles = roles;
	uint8_t *out;
	FX_CHECK(ht_cert_issue(&ci, anchor, &out, len) == HT_OK);
	return out;
}

uint8_t *fx_request(const struct fx *f, const uint8_t *cert, size_t cert_len, uint8_t trace_byte,
		    uint32_t hint_bits, size_t *len)
{
	uint8_t tid[HT_TRACE_ID_LEN], salt[HT_SALT_LEN];
	memset(tid, trace_byte, sizeof(tid));
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(0x40 + i);
	ht_request_params p = {
		.calling = f->calling,
		.called = f->called,
		.created_ms = f->created_ms,
		.expires_ms = f->created_ms + 60000,
		.call_time_ms = f->call_time_ms,
		.tolerance_ms = 5000,
		.hop_limit = 16,
		.hint_bits = hint_bits,
		.label = FX_LABEL,
		.answer_pk = f->answer_pk,
		.trace_id = tid,
		.salt = salt,
	};
	uint8_t *out;
	FX_CHECK(ht_request_build(&p, &f->keys[FX_I], cert, cert_len, &out, len) == HT_OK);
	return out;
}

void fx_request_id(const uint8_t *req, size_t len, uint8_t id[HT_MSG_ID_LEN])
{
	ht_request *r = NULL;
	FX_CHECK(ht_request_parse(req, len, &r) == HT_OK);
	memcpy(id, ht_request_id(r), HT_MSG_ID_LEN);
	ht_request_free(r);
}

uint8_t *fx_sign(const struct fx *f, const ht_answer_info *a, int p, size_t *len)
{
	uint8_t *out;
	FX_CHECK(ht_answer_sign(a, &f->keys[p], f->cert[p], f->cert_len[p], &out, len) == HT_OK);
	return out;
}

void fx_set(struct fx *f, size_t i, uint8_t *env, size_t len)
{
	FX_CHECK(i < f->n);
	free(f->ans[i]);
	f->ans[i] = env;
	f->ans_len[i] = len;
}

void fx_append(struct fx *f, uint8_t *env, size_t len)
{
	FX_CHECK(f->n < FX_MAX_ANSWERS);
	f->ans[f->n] = env;
	f->ans_len[f->n] = len;
	memset(&f->info[f->n], 0, sizeof(f->info[0]));
	f->who[f->n] = -1;
	f->n++;
}

void fx_remove(struct fx *f, size_t i)
{
	FX_CHECK(i < f->n);
	free(f->ans[i]);
	for (size_t k = i; k + 1 < f->n; k++) {
		f->ans[k] = f->ans[k + 1];
		f->ans_len[k] = f->ans_len[k + 1];
		f->info[k] = f->info[k + 1];
		f->who[k] = f->who[k + 1];
	}
	f->n--;
}

void fx_put(struct fx *f, size_t i, const ht_answer_info *a, int p)
{
	size_t len;
	uint8_t *env = fx_sign(f, a, p, &len);
	fx_set(f, i, env, len);
}

void fx_add(struct fx *f, const ht_answer_info *a, int p)
{
	size_t len;
	uint8_t *env = fx_sign(f, a, p, &len);
	fx_append(f, env, len);
}

uint8_t *fx_bundle(const struct fx *f, size_t *len)
{
	uint8_t *out;
	FX_CHECK(ht_bundle_encode(f->req, f->req_len, f->calling, f->called,
				  (const uint8_t *const *)f->ans, f->ans_len, f->n,
				  f->created_ms + 5000, &out, len) == HT_OK);
	return out;
}

ht_trust *fx_trust(const struct fx *f, const uint8_t *crl, size_t crl_len)
{
	ht_trust *t;
	FX_CHECK(ht_trust_new(&t) == HT_OK);
	FX_CHECK(ht_trust_add_anchor(t, f->anchor.sign_pk) == HT_OK);
	if (crl) {
		ht_crl *c;
		FX_CHECK(ht_crl_parse(crl, crl_len, &c) == HT_OK);
		FX_CHECK(ht_trust_add_crl(t, c) == HT_OK);
	}
	return t;
}

/* An answer of the fixture's chain, signed and appended. */
static ht_answer_info *add(struct fx *f, int p, int asker, uint32_t status, uint32_t hop,
			   uint64_t window)
{
	FX_CHECK(f->n < FX_MAX_ANSWERS);
	ht_answer_info *a = &f->info[f->n];
	memset(a, 0, sizeof(*a));
	memcpy(a->request_hash, f->req_id, HT_MSG_ID_LEN);
	snprintf(a->provider_id, sizeof(a->provider_id), "%s", fx_ids[p]);
	snprintf(a->asked_by, sizeof(a->asked_by), "%s", fx_ids[asker]);
	a->status = status;
	a->hop = hop;
	a->window_time_ms = window;
	a->answered_ms = f->created_ms + 100 + 40 * hop + f->n;
	f->who[f->n] = p;
	return a;
}

static void call_from(ht_answer_info *a, const char *upstream, uint64_t record, uint8_t att)
{
	ht_matched_call *c = &a->calls[a->n_calls++];
	snprintf(c->upstream, sizeof(c->upstream), "%s", upstream);
	c->record_time_ms = record;
	c->attestation = att;
}

static void seal(struct fx *f)
{
	f->ans[f->n] = fx_sign(f, &f->info[f->n], f->who[f->n], &f->ans_len[f->n]);
	f->n++;
}

void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	FX_CHECK(ht_init() == HT_OK);
	seeded(&f->anchor, HT_KEYS_ANCHOR, 0xa1);
	seeded(&f->other_anchor, HT_KEYS_ANCHOR, 0xa2);
	for (int p = 0; p < FX_NPROV; p++) {
		seeded(&f->keys[p], HT_KEYS_PROVIDER, (uint8_t)(0x10 + p));
		f->cert[p] = fx_cert(f, p, &f->anchor, 100 + (uint64_t)p,
				     p == FX_I ? HT_ROLE_INITIATOR : 0, FX_NOT_BEFORE, FX_NOT_AFTER,
				     &f->cert_len[p]);
	}
	snprintf(f->calling, sizeof(f->calling), "12025550143");
	snprintf(f->called, sizeof(f->called), "13125550188");
	f->created_ms = FX_CREATED_MS;
	f->call_time_ms = FX_CREATED_MS - 600000;
	uint8_t sk[HT_ANSWER_SK_LEN];
	memset(sk, 0x77, sizeof(sk));
	crypto_scalarmult_base(f->answer_pk, sk);
	f->req = fx_request(f, f->cert[FX_I], f->cert_len[FX_I], 0x5e, 12, &f->req_len);
	fx_request_id(f->req, f->req_len, f->req_id);

	/* Each carrier's record of the call is a little earlier than the one below. */
	uint64_t t0 = f->call_time_ms + 120, t1 = t0 - 35, t2 = t1 - 20;
	ht_answer_info *a;

	a = add(f, FX_T, FX_I, HT_ANSWER_FOUND, 0, f->call_time_ms);
	call_from(a, fx_ids[FX_B], t0, 2);
	seal(f);

	a = add(f, FX_B, FX_T, HT_ANSWER_FOUND, 1, t0);
	call_from(a, fx_ids[FX_C], t1, 1);
	seal(f);

	a = add(f, FX_C, FX_B, HT_ANSWER_FOUND, 2, t1);
	call_from(a, fx_ids[FX_D], t2, 1);
	call_from(a, fx_ids[FX_E], t2 + 3, 0);
	call_from(a, "CARRIER-X", t2 + 7, 3);
	seal(f);

	a = add(f, FX_C, FX_B, HT_ANSWER_DEAD_END, 2, t1);
	snprintf(a->upstream, sizeof(a->upstream), "CARRIER-X");
	a->reason = HT_REASON_UPSTREAM_NOT_PARTICIPANT;
	seal(f);

	a = add(f, FX_D, FX_C, HT_ANSWER_FOUND, 3, t2);
	ht_matched_call *c = &a->calls[a->n_calls++];
	c->originated_here = true;
	snprintf(c->customer_ref, sizeof(c->customer_ref), FX_CUSTOMER);
	c->record_time_ms = t2 - 12;
	c->attestation = 1;
	c->has_origid = true;
	for (size_t i = 0; i < HT_ORIGID_LEN; i++)
		c->origid[i] = (uint8_t)(0xd0 + i);
	seal(f);

	a = add(f, FX_E, FX_C, HT_ANSWER_REFUSED, 3, t2 + 3);
	a->reason = HT_REASON_POLICY_REFUSED;
	seal(f);
}

void fx_free(struct fx *f)
{
	for (int p = 0; p < FX_NPROV; p++) {
		free(f->cert[p]);
		ht_keys_wipe(&f->keys[p]);
	}
	for (size_t i = 0; i < f->n; i++)
		free(f->ans[i]);
	free(f->req);
	ht_keys_wipe(&f->anchor);
	ht_keys_wipe(&f->other_anchor);
	memset(f, 0, sizeof(*f));
}
