/*
 * A realistic trace, built with the library, for the evidence-bundle tests
 * (test_bundle.c) and the CLI test's bundle maker (mk_bundle.c): an anchor,
 * an initiator (a consortium node that asks the terminating carrier) and
 * five carriers, one request, and six answers:
 *
 *   0  CARRIER-T  hop 0  FOUND      asked by TRACEBACK-HQ, call from CARRIER-B
 *   1  CARRIER-B  hop 1  FOUND      asked by CARRIER-T, call from CARRIER-C
 *   2  CARRIER-C  hop 2  FOUND      asked by CARRIER-B, calls from CARRIER-D,
 *                                   CARRIER-E and CARRIER-X (a fork)
 *   3  CARRIER-C  hop 2  DEAD_END   at CARRIER-X, upstream_not_participant
 *   4  CARRIER-D  hop 3  FOUND      originated here, customer "cust-7f3a9b"
 *   5  CARRIER-E  hop 3  REFUSED    policy_refused
 *
 * Every failure aborts: a test never runs on a broken fixture.
 */
#ifndef HT_TESTS_BUNDLE_FIXTURE_H
#define HT_TESTS_BUNDLE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "hoptrace/trace.h"

enum { FX_I, FX_T, FX_B, FX_C, FX_D, FX_E, FX_NPROV };
#define FX_MAX_ANSWERS 32
#define FX_CUSTOMER    "cust-7f3a9b"
#define FX_LABEL       "robocall campaign 2026-05 (tax scam)"

extern const char *const fx_ids[FX_NPROV];

struct fx {
	ht_keys anchor, other_anchor;
	ht_keys keys[FX_NPROV];
	uint8_t *cert[FX_NPROV];
	size_t cert_len[FX_NPROV];
	char calling[HT_E164_BUF], called[HT_E164_BUF];
	uint64_t created_ms, call_time_ms;
	uint8_t answer_pk[HT_ANSWER_PK_LEN];
	uint8_t *req;
	size_t req_len;
	uint8_t req_id[HT_MSG_ID_LEN];
	/* The answers as signed, and what each says (info[i] signed by who[i]). */
	size_t n;
	uint8_t *ans[FX_MAX_ANSWERS];
	size_t ans_len[FX_MAX_ANSWERS];
	ht_answer_info info[FX_MAX_ANSWERS];
	int who[FX_MAX_ANSWERS];
};

/* Keys, certificates (valid through 2026), the request and the six answers. */
void fx_init(struct fx *f);
void fx_free(struct fx *f);

/* A certificate for provider `p`'s keys: `anchor`, `serial`, `roles`, validity in seconds. */
uint8_t *fx_cert(const struct fx *f, int p, const ht_keys *anchor, uint64_t serial, uint32_t roles,
		 uint64_t not_before, uint64_t not_after, size_t *len);

/* The fixture's request signed by the initiator with `cert`; `trace_byte` fills trace_id. */
uint8_t *fx_request(const struct fx *f, const uint8_t *cert, size_t cert_len, uint8_t trace_byte,
		    uint32_t hint_bits, size_t *len);

/* ht_request_id of an encoded request. */
void fx_request_id(const uint8_t *req, size_t len, uint8_t id[HT_MSG_ID_LEN]);

/* `a` signed by provider `p` with its certificate. */
uint8_t *fx_sign(const struct fx *f, const ht_answer_info *a, int p, size_t *len);

/* Answer list edits; fx_set and fx_append take ownership of `env`. */
void fx_set(struct fx *f, size_t i, uint8_t *env, size_t len);
void fx_append(struct fx *f, uint8_t *env, size_t len);
void fx_remove(struct fx *f, size_t i);
/* `a` signed by provider `p`, as answer `i` or appended. */
void fx_put(struct fx *f, size_t i, const ht_answer_info *a, int p);
void fx_add(struct fx *f, const ht_answer_info *a, int p);

/* ht_bundle_encode of the request, the opening and the answers. */
uint8_t *fx_bundle(const struct fx *f, size_t *len);

/* ht_trust with the fixture's anchor; NULL crl or an encoded revocation list. */
ht_trust *fx_trust(const struct fx *f, const uint8_t *crl, size_t crl_len);

#endif
