/*
 * What a verifier trusts: anchor public keys and, per anchor, the newest
 * revocation list it has seen. Certificate verification is here because it
 * needs all of it (spec/protocol.md, "Certificate verification").
 */
#ifndef HOPTRACE_TRUST_H
#define HOPTRACE_TRUST_H

#include <stdint.h>

#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/err.h"

#define HT_TRUST_MAX_ANCHORS 16

typedef struct ht_trust ht_trust;

/* An empty trust store: no anchors, so every certificate is refused. */
int ht_trust_new(ht_trust **out) HT_WUR;

/* Frees `t` and the revocation lists it owns. NULL is allowed. */
void ht_trust_free(ht_trust *t);

/*
 * Exchanges the contents of `a` and `b`, so that a holder of `a` sees a
 * freshly built store without its pointer changing (configuration reloads).
 */
void ht_trust_swap(ht_trust *a, ht_trust *b);

/*
 * For a reload: HT_E_STALE if `next` would un-revoke anything `prev` holds,
 * that is, for an anchor of both, `prev` holds a revocation list and `next`
 * holds none or one with a lower number. HT_OK otherwise.
 */
int ht_trust_check_rollback(const ht_trust *prev, const ht_trust *next) HT_WUR;

/* Adds an anchor public key; adding one twice is harmless. */
int ht_trust_add_anchor(ht_trust *t, const uint8_t anchor_pk[HT_SIGN_PK_LEN]) HT_WUR;

/*
 * Adds a revocation list after checking that its issuer is an anchor
 * (HT_E_UNKNOWN_ANCHOR) and its signature (HT_E_BAD_SIGNATURE). A list whose
 * number is not above the one held for that anchor is refused (HT_E_STALE),
 * so an old list cannot un-revoke a certificate. Takes ownership of `crl` on
 * success only.
 */
int ht_trust_add_crl(ht_trust *t, ht_crl *crl) HT_WUR;

/*
 * Verifies `c` at time `now` (seconds since the epoch), in this order:
 * issuer is an anchor (HT_E_UNKNOWN_ANCHOR), signature (HT_E_BAD_SIGNATURE),
 * now >= not_before (HT_E_NOT_YET_VALID), now < not_after (HT_E_EXPIRED),
 * serial not revoked (HT_E_REVOKED), every bit of `required_roles` present
 * (HT_E_MISSING_ROLE).
 */
int ht_trust_verify_cert(const ht_trust *t, const ht_cert *c, uint64_t now,
			 uint32_t required_roles) HT_WUR;

#endif
