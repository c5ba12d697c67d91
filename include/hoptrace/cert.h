/*
 * Provider certificates: a trust anchor's signed statement binding a provider
 * ID to the provider's Ed25519 signing key and X25519 Noise static key, for a
 * validity period, with a serial and roles (spec/protocol.md, "Certificates").
 * Verification against anchors, time and revocation is in hoptrace/trust.h.
 */
#ifndef HOPTRACE_CERT_H
#define HOPTRACE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/err.h"
#include "hoptrace/keys.h"

#define HT_PROVIDER_ID_MAX 32
/* Largest encoded certificate envelope accepted, in bytes. */
#define HT_CERT_MAX 2048

/* Role bits; the wire carries role numbers (bit n-1 for role n). */
#define HT_ROLE_INITIATOR 0x1u
#define HT_ROLES_KNOWN    HT_ROLE_INITIATOR

typedef struct ht_cert_info {
	char provider_id[HT_PROVIDER_ID_MAX + 1];
	uint8_t sign_key[HT_SIGN_PK_LEN];
	uint8_t noise_key[HT_NOISE_KEY_LEN];
	uint8_t issuer[HT_SIGN_PK_LEN]; /* the anchor's public key */
	uint64_t not_before;            /* seconds since the epoch, inclusive */
	uint64_t not_after;             /* seconds since the epoch, exclusive */
	uint64_t serial;                /* non-zero */
	uint32_t roles;                 /* HT_ROLE_* bits */
} ht_cert_info;

typedef struct ht_cert ht_cert;

/*
 * True when `id` (`len` bytes, no NUL needed) is a valid provider ID: 1 to 32
 * characters from A-Z a-z 0-9 '.' '_' '-', the first a letter or digit.
 */
bool ht_provider_id_valid(const char *id, size_t len);

/*
 * Issues a certificate for `info` signed by `anchor` (which must hold its
 * secret). The issuer field is taken from the anchor, not from `info`.
 * Returns the encoded envelope in a malloc'd buffer.
 */
int ht_cert_issue(const ht_cert_info *info, const ht_keys *anchor, uint8_t **out,
		  size_t *out_len) HT_WUR;

/*
 * Parses an encoded certificate envelope and checks its structure: size,
 * kind, critical fields, provider ID, key lengths, non-zero serial,
 * not_before < not_after, usable keys (HT_E_WEAK_KEY). Does not check the
 * signature or any dates.
 */
int ht_cert_parse(const uint8_t *buf, size_t len, ht_cert **out) HT_WUR;

/* The parsed fields; valid while `c` lives. */
const ht_cert_info *ht_cert_get_info(const ht_cert *c);

/* The certificate's encoded envelope, exactly as parsed. */
const uint8_t *ht_cert_encoded(const ht_cert *c, size_t *len);

/* Checks the anchor's signature on `c` with `anchor_pk`. */
int ht_cert_check_signature(const ht_cert *c, const uint8_t anchor_pk[HT_SIGN_PK_LEN]) HT_WUR;

/* The name of one role bit ("initiator"), or NULL. */
const char *ht_role_name(uint32_t role_bit);

/* Parses a role name into its bit; 0 when unknown. */
uint32_t ht_role_parse(const char *name);

/* Frees `c`. NULL is allowed. */
void ht_cert_free(ht_cert *c);

#endif
