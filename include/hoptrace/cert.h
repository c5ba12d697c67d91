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

/*
 * Checks the anchor's signature on `c` with `anchor_pk`. The verdict is
 * remembered in `c` for that key (it depends on nothing else), so checking
 * the same parsed certificate again costs nothing: one ht_cert must
 * therefore not be checked from two threads at once.
 */
int ht_cert_check_signature(const ht_cert *c, const uint8_t anchor_pk[HT_SIGN_PK_LEN]) HT_WUR;

/* The name of one role bit ("initiator"), or NULL. */
const char *ht_role_name(uint32_t role_bit);

/* Parses a role name into its bit; 0 when unknown. */
uint32_t ht_role_parse(const char *name);

/* Frees `c` (drops one reference, for a certificate from a cache). NULL is allowed. */
void ht_cert_free(ht_cert *c);

/*
 * A bounded cache of parsed certificates, for a receiver that sees the same
 * certificate in message after message (a hop answering one initiator's
 * requests): keyed by a BLAKE2b hash of the exact encoded bytes, confirmed
 * by comparing the bytes, least recently used out first. Only certificates
 * that parse are kept. A cached certificate keeps the verdict of its
 * signature check (ht_cert_check_signature), which is what makes a repeat
 * cheap; ht_trust_verify_cert still checks the anchor, dates, revocation
 * and roles against the trust store in force, every time, so a reload that
 * drops an anchor or revokes the certificate takes effect at once.
 */
typedef struct ht_cert_cache ht_cert_cache;

/* A cache of at most `max` (> 0) certificates. */
int ht_cert_cache_new(ht_cert_cache **out, size_t max) HT_WUR;

/*
 * As ht_cert_parse, with the same result for the same bytes; a hit returns
 * the cached parse (a reference: ht_cert_free it as usual). `cc` NULL: plain
 * ht_cert_parse.
 */
int ht_cert_cache_parse(ht_cert_cache *cc, const uint8_t *buf, size_t len, ht_cert **out) HT_WUR;

/* Empties the cache (certificates still referenced elsewhere live on). */
void ht_cert_cache_clear(ht_cert_cache *cc);

/* How many are held, and the hits and misses since it was made. */
void ht_cert_cache_stats(const ht_cert_cache *cc, size_t *entries, uint64_t *hits,
			 uint64_t *misses);

/* Frees the cache. NULL is allowed. */
void ht_cert_cache_free(ht_cert_cache *cc);

#endif
