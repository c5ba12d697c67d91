/*
 * Signed envelopes: a message kind, the exact encoded body, and an Ed25519
 * signature over a per-kind domain-separation string, one zero byte, and the
 * body (spec/protocol.md, "Signing"). Verification uses the received body
 * bytes as they are; nothing is ever re-encoded to check a signature.
 */
#ifndef HOPTRACE_ENVELOPE_H
#define HOPTRACE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "hoptrace/err.h"
#include "hoptrace/keys.h"

/* Largest encoded envelope accepted, in bytes (fits one transport frame). */
#define HT_ENVELOPE_MAX 60000
/* BLAKE2b-256 message identity (ht_envelope_id). */
#define HT_MSG_ID_LEN 32

/* Registry: spec/protocol.md, "Message kinds". Numbers are never reused. */
typedef enum ht_kind {
	HT_KIND_CERTIFICATE = 1,
	HT_KIND_REVOCATION_LIST = 2,
	HT_KIND_TRACE_REQUEST = 3,
	HT_KIND_HOP_ANSWER = 4,
} ht_kind;

typedef struct ht_envelope ht_envelope;

/*
 * The domain-separation string of `kind` (ASCII, no NUL inside), or NULL for
 * a kind this implementation does not know.
 */
const char *ht_kind_domain(ht_kind kind);

/*
 * Signs `body` as a message of `kind` with `sign_sk` and returns the encoded
 * envelope in a malloc'd buffer.
 */
int ht_envelope_sign(ht_kind kind, const uint8_t *body, size_t body_len,
		     const uint8_t sign_sk[HT_SIGN_SK_LEN], uint8_t **out, size_t *out_len) HT_WUR;

/*
 * Parses an encoded envelope: size bound (HT_E_TOO_LARGE), structure and a
 * 64-byte signature (HT_E_MALFORMED). Does not check the signature.
 */
int ht_envelope_parse(const uint8_t *buf, size_t len, ht_envelope **out) HT_WUR;

/* The kind number as received (possibly one this code does not know). */
uint32_t ht_envelope_kind(const ht_envelope *e);

/* The body exactly as received. */
const uint8_t *ht_envelope_body(const ht_envelope *e, size_t *len);

/* The 64-byte signature. */
const uint8_t *ht_envelope_signature(const ht_envelope *e);

/*
 * Checks that `e` is of `kind` (HT_E_WRONG_KIND) and that its signature
 * verifies under `sign_pk` (HT_E_BAD_SIGNATURE).
 */
int ht_envelope_verify(const ht_envelope *e, ht_kind kind,
		       const uint8_t sign_pk[HT_SIGN_PK_LEN]) HT_WUR;

/*
 * The message's identity: BLAKE2b-256 of its signing input (domain string,
 * zero byte, body). Later messages bind to earlier ones through it.
 */
int ht_envelope_id(const ht_envelope *e, uint8_t out[HT_MSG_ID_LEN]) HT_WUR;

/* Frees `e`. NULL is allowed. */
void ht_envelope_free(ht_envelope *e);

#endif
