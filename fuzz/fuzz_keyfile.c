/*
 * Key files (ht_keys_parse), secret or public, provider or anchor: parse; a
 * file that parses must format back (ht_keys_format) to text that parses to
 * the same keys.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

static void check_same(const ht_keys *a, const ht_keys *b)
{
	FUZZ_CHECK(a->role == b->role);
	FUZZ_CHECK(a->has_secret == b->has_secret);
	FUZZ_CHECK(memcmp(a->sign_pk, b->sign_pk, sizeof(a->sign_pk)) == 0);
	FUZZ_CHECK(memcmp(a->sign_sk, b->sign_sk, sizeof(a->sign_sk)) == 0);
	FUZZ_CHECK(memcmp(a->noise_pk, b->noise_pk, sizeof(a->noise_pk)) == 0);
	FUZZ_CHECK(memcmp(a->noise_sk, b->noise_sk, sizeof(a->noise_sk)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();

	ht_keys k;
	int rc = ht_keys_parse((const char *)data, size, &k);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE);
		FUZZ_CHECK(rc != HT_E_TOO_LARGE || size > HT_KEYFILE_MAX);
		return 0;
	}
	FUZZ_CHECK(size <= HT_KEYFILE_MAX);
	FUZZ_CHECK(k.role == HT_KEYS_PROVIDER || k.role == HT_KEYS_ANCHOR);
	static const uint8_t zero[HT_SIGN_SK_LEN];
	if (!k.has_secret) {
		FUZZ_CHECK(memcmp(k.sign_sk, zero, sizeof(k.sign_sk)) == 0);
		FUZZ_CHECK(memcmp(k.noise_sk, zero, sizeof(k.noise_sk)) == 0);
	}
	if (k.role == HT_KEYS_ANCHOR) {
		FUZZ_CHECK(memcmp(k.noise_pk, zero, sizeof(k.noise_pk)) == 0);
		FUZZ_CHECK(memcmp(k.noise_sk, zero, sizeof(k.noise_sk)) == 0);
	}

	/* The file's own kind round-trips exactly. */
	char *text;
	rc = ht_keys_format(&k, k.has_secret, &text);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM);
	if (rc == HT_OK) {
		ht_keys k2;
		FUZZ_CHECK(ht_keys_parse(text, strlen(text), &k2) == HT_OK);
		check_same(&k, &k2);
		ht_keys_wipe(&k2);
		free(text);
	}

	/* A secret file's public half is the public file of the same keys. */
	if (k.has_secret) {
		ht_keys pub = ht_keys_public(&k);
		rc = ht_keys_format(&k, false, &text);
		FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM);
		if (rc == HT_OK) {
			ht_keys k2;
			FUZZ_CHECK(ht_keys_parse(text, strlen(text), &k2) == HT_OK);
			check_same(&pub, &k2);
			free(text);
		}
	}

	ht_keys_wipe(&k);
	return 0;
}
