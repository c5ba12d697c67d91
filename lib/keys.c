#include "hoptrace/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "hoptrace/fileio.h"
#include "util.h"

#ifndef HT_VERSION_STRING
#define HT_VERSION_STRING "0.0.0"
#endif

int ht_init(void)
{
	return sodium_init() < 0 ? HT_E_CRYPTO : HT_OK;
}

const char *ht_version(void)
{
	return HT_VERSION_STRING;
}

/* Key-file vocabulary: spec/protocol.md, "Key files". */
#define KF_MAGIC        "hoptrace-key v1 "
#define KF_SIGN_SEED    "sign-seed"
#define KF_NOISE_SECRET "noise-secret"
#define KF_SIGN_KEY     "sign-key"
#define KF_NOISE_KEY    "noise-key"

static const char *type_name(ht_key_role role, bool secret)
{
	if (role == HT_KEYS_PROVIDER)
		return secret ? "provider-secret" : "provider-public";
	return secret ? "anchor-secret" : "anchor-public";
}

int ht_keys_from_seeds(ht_keys *k, ht_key_role role, const uint8_t sign_seed[HT_SIGN_SEED_LEN],
		       const uint8_t *noise_sk)
{
	if (role != HT_KEYS_PROVIDER && role != HT_KEYS_ANCHOR)
		return HT_E_INVAL;
	if ((role == HT_KEYS_PROVIDER) != (noise_sk != NULL))
		return HT_E_INVAL;
	memset(k, 0, sizeof(*k));
	k->role = role;
	k->has_secret = true;
	if (crypto_sign_seed_keypair(k->sign_pk, k->sign_sk, sign_seed) != 0)
		return HT_E_CRYPTO;
	if (noise_sk) {
		memcpy(k->noise_sk, noise_sk, HT_NOISE_KEY_LEN);
		if (crypto_scalarmult_base(k->noise_pk, k->noise_sk) != 0) {
			ht_keys_wipe(k);
			return HT_E_CRYPTO;
		}
	}
	return HT_OK;
}

int ht_keys_generate(ht_keys *k, ht_key_role role)
{
	uint8_t seed[HT_SIGN_SEED_LEN], noise[HT_NOISE_KEY_LEN];
	randombytes_buf(seed, sizeof(seed));
	randombytes_buf(noise, sizeof(noise));
	int rc = ht_keys_from_seeds(k, role, seed, role == HT_KEYS_PROVIDER ? noise : NULL);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(noise, sizeof(noise));
	return rc;
}

ht_keys ht_keys_public(const ht_keys *k)
{
	ht_keys p = *k;
	ht_keys_wipe(&p);
	return p;
}

void ht_keys_wipe(ht_keys *k)
{
	sodium_memzero(k->sign_sk, sizeof(k->sign_sk));
	sodium_memzero(k->noise_sk, sizeof(k->noise_sk));
	k->has_secret = false;
}

int ht_keys_format(const ht_keys *k, bool secret, char **out)
{
	if (secret && !k->has_secret)
		return HT_E_INVAL;
	if (k->role != HT_KEYS_PROVIDER && k->role != HT_KEYS_ANCHOR)
		return HT_E_INVAL;

	char a[2 * 32 + 1], b[2 * 32 + 1];
	const char *who = k->role == HT_KEYS_PROVIDER ? "provider" : "trust anchor";
	if (secret) {
		ht__hex(a, k->sign_sk, HT_SIGN_SEED_LEN);
		ht__hex(b, k->noise_sk, HT_NOISE_KEY_LEN);
	} else {
		ht__hex(a, k->sign_pk, HT_SIGN_PK_LEN);
		ht__hex(b, k->noise_pk, HT_NOISE_KEY_LEN);
	}
	size_t cap = 512;
	char *s = malloc(cap);
	if (!s) {
		sodium_memzero(a, sizeof(a));
		sodium_memzero(b, sizeof(b));
		return HT_E_NOMEM;
	}
	int n = snprintf(s, cap, "# HopTrace %s %s key.%s\n%s%s\n%s %s\n", who,
			 secret ? "secret" : "public",
			 secret ? " Keep it private: mode 0600, never share it." : "", KF_MAGIC,
			 type_name(k->role, secret), secret ? KF_SIGN_SEED : KF_SIGN_KEY, a);
	if (k->role == HT_KEYS_PROVIDER && n > 0 && (size_t)n < cap)
		n += snprintf(s + n, cap - (size_t)n, "%s %s\n",
			      secret ? KF_NOISE_SECRET : KF_NOISE_KEY, b);
	sodium_memzero(a, sizeof(a));
	sodium_memzero(b, sizeof(b));
	if (n < 0 || (size_t)n >= cap) {
		sodium_memzero(s, cap);
		free(s);
		return HT_E_INVAL;
	}
	*out = s;
	return HT_OK;
}

/* One "name hex" field of a key file, found at most once. */
struct kf_field {
	const char *name;
	uint8_t val[32];
	bool seen;
};

int ht_keys_parse(const char *text, size_t len, ht_keys *out)
{
	if (len > HT_KEYFILE_MAX)
		return HT_E_TOO_LARGE;

	struct kf_field f[4] = {
		{KF_SIGN_SEED, {0}, false},
		{KF_NOISE_SECRET, {0}, false},
		{KF_SIGN_KEY, {0}, false},
		{KF_NOISE_KEY, {0}, false},
	};
	int rc = HT_E_MALFORMED;
	bool have_header = false, secret = false;
	ht_key_role role = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos;
		pos += ll + (nl ? 1 : 0);
		if (ll > 0 && line[ll - 1] == '\r')
			ll--;
		if (memchr(line, '\0', ll))
			goto out;
		if (ll == 0 || line[0] == '#')
			continue;

		if (!have_header) {
			size_t ml = strlen(KF_MAGIC);
			if (ll <= ml || memcmp(line, KF_MAGIC, ml) != 0)
				goto out;
			const char *t = line + ml;
			size_t tl = ll - ml;
			static const struct {
				const char *name;
				ht_key_role role;
				bool secret;
			} types[] = {
				{"provider-secret", HT_KEYS_PROVIDER, true},
				{"provider-public", HT_KEYS_PROVIDER, false},
				{"anchor-secret", HT_KEYS_ANCHOR, true},
				{"anchor-public", HT_KEYS_ANCHOR, false},
			};
			for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
				if (strlen(types[i].name) == tl &&
				    memcmp(types[i].name, t, tl) == 0) {
					role = types[i].role;
					secret = types[i].secret;
					have_header = true;
				}
			}
			if (!have_header)
				goto out;
			continue;
		}

		const char *sp = memchr(line, ' ', ll);
		if (!sp)
			goto out;
		size_t nl_name = (size_t)(sp - line);
		struct kf_field *hit = NULL;
		for (size_t i = 0; i < 4; i++)
			if (strlen(f[i].name) == nl_name && memcmp(f[i].name, line, nl_name) == 0)
				hit = &f[i];
		if (!hit || hit->seen)
			goto out;
		if (ht__unhex(hit->val, 32, sp + 1, ll - nl_name - 1) != 0)
			goto out;
		hit->seen = true;
	}
	if (!have_header)
		goto out;

	/* Exactly the fields the type defines. */
	bool prov = role == HT_KEYS_PROVIDER;
	bool want[4] = {secret, secret && prov, !secret, !secret && prov};
	for (size_t i = 0; i < 4; i++)
		if (f[i].seen != want[i])
			goto out;

	if (secret) {
		rc = ht_keys_from_seeds(out, role, f[0].val, prov ? f[1].val : NULL);
	} else {
		memset(out, 0, sizeof(*out));
		out->role = role;
		memcpy(out->sign_pk, f[2].val, 32);
		if (prov)
			memcpy(out->noise_pk, f[3].val, 32);
		rc = HT_OK;
	}
out:
	sodium_memzero(f, sizeof(f));
	return rc;
}

int ht_keys_write(const ht_keys *k, const char *prefix, bool force)
{
	size_t pl = strlen(prefix);
	char *kpath = malloc(pl + 5), *ppath = malloc(pl + 5);
	char *ktext = NULL, *ptext = NULL;
	int rc = HT_E_NOMEM;
	if (!kpath || !ppath)
		goto out;
	memcpy(kpath, prefix, pl);
	memcpy(kpath + pl, ".key", 5);
	memcpy(ppath, prefix, pl);
	memcpy(ppath + pl, ".pub", 5);

	if ((rc = ht_keys_format(k, true, &ktext)) != HT_OK)
		goto out;
	if ((rc = ht_keys_format(k, false, &ptext)) != HT_OK)
		goto out;
	/* Check both names first so a refusal leaves no half-written pair. */
	if (!force && (access(kpath, F_OK) == 0 || access(ppath, F_OK) == 0)) {
		rc = HT_E_EXISTS;
		goto out;
	}
	if ((rc = ht_file_write(kpath, ktext, strlen(ktext), 0600, force)) != HT_OK)
		goto out;
	rc = ht_file_write(ppath, ptext, strlen(ptext), 0644, force);
	if (rc != HT_OK && !force)
		unlink(kpath); /* no secret half without its public half */
out:
	if (ktext) {
		sodium_memzero(ktext, strlen(ktext));
		free(ktext);
	}
	free(ptext);
	free(kpath);
	free(ppath);
	return rc;
}

static int load(const char *path, ht_key_role role, bool secret, ht_keys *out)
{
	uint8_t *buf;
	size_t len;
	int rc = ht_file_read(path, HT_KEYFILE_MAX, secret, &buf, &len);
	if (rc != HT_OK)
		return rc;
	ht_keys k;
	rc = ht_keys_parse((const char *)buf, len, &k);
	sodium_memzero(buf, len);
	free(buf);
	if (rc != HT_OK)
		return rc;
	if (k.role != role || k.has_secret != secret) {
		ht_keys_wipe(&k);
		return HT_E_WRONG_KEY_TYPE;
	}
	*out = k;
	sodium_memzero(&k, sizeof(k));
	return HT_OK;
}

int ht_keys_load_secret(const char *path, ht_key_role role, ht_keys *out)
{
	return load(path, role, true, out);
}

int ht_keys_load_public(const char *path, ht_key_role role, ht_keys *out)
{
	return load(path, role, false, out);
}
