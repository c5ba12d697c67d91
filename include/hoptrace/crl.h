/*
 * Revocation lists: a trust anchor's signed list of the certificate serials
 * it has revoked (spec/protocol.md, "Revocation"). A list with a higher
 * number from the same anchor replaces a lower one.
 */
#ifndef HOPTRACE_CRL_H
#define HOPTRACE_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/envelope.h"
#include "hoptrace/err.h"
#include "hoptrace/keys.h"

/* Largest encoded revocation list accepted, in bytes. */
#define HT_CRL_MAX HT_ENVELOPE_MAX

typedef struct ht_crl_info {
	uint8_t issuer[HT_SIGN_PK_LEN];
	uint64_t number;
	uint64_t issued_at; /* seconds since the epoch */
	size_t n_serials;
	const uint64_t *serials; /* strictly ascending, non-zero */
} ht_crl_info;

typedef struct ht_crl ht_crl;

/*
 * Issues list `number` at `issued_at` revoking `serials` (any order, repeats
 * allowed: they are sorted and merged), signed by `anchor`.
 */
int ht_crl_issue(const ht_keys *anchor, uint64_t number, uint64_t issued_at,
		 const uint64_t *serials, size_t n, uint8_t **out, size_t *out_len) HT_WUR;

/*
 * Parses an encoded revocation-list envelope and checks its structure (size,
 * kind, issuer length, strictly ascending non-zero serials, critical fields).
 * Does not check the signature.
 */
int ht_crl_parse(const uint8_t *buf, size_t len, ht_crl **out) HT_WUR;

/* The parsed fields; valid while `crl` lives. */
const ht_crl_info *ht_crl_get_info(const ht_crl *crl);

/* True when `serial` is on the list. */
bool ht_crl_contains(const ht_crl *crl, uint64_t serial);

/* Checks the anchor's signature on `crl` with `anchor_pk`. */
int ht_crl_check_signature(const ht_crl *crl, const uint8_t anchor_pk[HT_SIGN_PK_LEN]) HT_WUR;

/* Frees `crl`. NULL is allowed. */
void ht_crl_free(ht_crl *crl);

#endif
