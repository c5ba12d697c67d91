/*
 * Carrier and trust-anchor keys, and the key files that hold them.
 *
 * A provider (carrier) has an Ed25519 signing key and an X25519 Noise static
 * key; a trust anchor has an Ed25519 signing key only. Key files are text,
 * documented in spec/protocol.md ("Key files"): PREFIX.key holds the secrets
 * and is written with mode 0600; PREFIX.pub holds the public halves.
 */
#ifndef HOPTRACE_KEYS_H
#define HOPTRACE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/err.h"

#define HT_SIGN_PK_LEN   32
#define HT_SIGN_SEED_LEN 32
#define HT_SIGN_SK_LEN   64 /* libsodium form: seed || public key */
#define HT_SIG_LEN       64
#define HT_NOISE_KEY_LEN 32

/* Longest key file accepted, in bytes. */
#define HT_KEYFILE_MAX 4096

typedef enum ht_key_role {
	HT_KEYS_PROVIDER = 1, /* signing key and Noise static key */
	HT_KEYS_ANCHOR = 2,   /* signing key only */
} ht_key_role;

typedef struct ht_keys {
	ht_key_role role;
	bool has_secret; /* sign_sk / noise_sk are set */
	uint8_t sign_pk[HT_SIGN_PK_LEN];
	uint8_t sign_sk[HT_SIGN_SK_LEN];
	uint8_t noise_pk[HT_NOISE_KEY_LEN]; /* providers only */
	uint8_t noise_sk[HT_NOISE_KEY_LEN];
} ht_keys;

/*
 * Initialises the crypto library. Call once before anything else; safe to
 * call again.
 */
int ht_init(void) HT_WUR;

/* The library version, "MAJOR.MINOR.PATCH". */
const char *ht_version(void);

/* Fills `k` with fresh random keys for `role`. */
int ht_keys_generate(ht_keys *k, ht_key_role role) HT_WUR;

/*
 * Derives keys deterministically from a 32-byte Ed25519 seed and, for a
 * provider, a 32-byte X25519 secret (`noise_sk`, NULL for an anchor). For test
 * vectors; production keys come from ht_keys_generate().
 */
int ht_keys_from_seeds(ht_keys *k, ht_key_role role, const uint8_t sign_seed[HT_SIGN_SEED_LEN],
		       const uint8_t *noise_sk) HT_WUR;

/* Returns a copy of `k` without its secret halves. */
ht_keys ht_keys_public(const ht_keys *k);

/*
 * Serialises `k` as key-file text: the secret file when `secret` is true (`k`
 * must hold secrets), else the public file. Returns the malloc'd,
 * NUL-terminated text in *out, or NULL on allocation failure.
 */
int ht_keys_format(const ht_keys *k, bool secret, char **out) HT_WUR;

/*
 * Parses key-file text of either kind (secret or public, provider or anchor).
 * Checks the header, that exactly the type's fields are present, once each,
 * as 64 hex digits. Public keys are derived from a secret file, never read
 * from it. Does not check permissions.
 */
int ht_keys_parse(const char *text, size_t len, ht_keys *out) HT_WUR;

/*
 * Writes PREFIX.key (mode 0600) and PREFIX.pub (mode 0644) atomically. Fails
 * with HT_E_EXISTS if either exists and `force` is false.
 */
int ht_keys_write(const ht_keys *k, const char *prefix, bool force) HT_WUR;

/*
 * Loads a secret key file of `role`. Refuses (HT_E_KEY_PERMS) a file that
 * group or others may access or that another user (not root) owns; anything
 * that is not a regular file is HT_E_IO.
 */
int ht_keys_load_secret(const char *path, ht_key_role role, ht_keys *out) HT_WUR;

/* Loads a public key file of `role`; a secret file is HT_E_WRONG_KEY_TYPE. */
int ht_keys_load_public(const char *path, ht_key_role role, ht_keys *out) HT_WUR;

/* Overwrites the secret halves of `k` with zeros. */
void ht_keys_wipe(ht_keys *k);

#endif
