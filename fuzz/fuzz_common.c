/* Helpers shared by every harness and by gen_seeds.c (see fuzz.h). */
#include "fuzz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Noreturn void fuzz_fail(const char *what)
{
	fprintf(stderr, "%s\n", what);
	abort();
}

void fuzz_init(void)
{
	static bool done;
	if (done)
		return;
	if (ht_init() != HT_OK)
		fuzz_fail("ht_init failed");
	done = true;
}

/* 32 bytes counting up from `start`. */
static void pattern(uint8_t out[32], uint8_t start)
{
	for (size_t i = 0; i < 32; i++)
		out[i] = (uint8_t)(start + i);
}

static void from_seeds(ht_keys *k, ht_key_role role, uint8_t sign_start, uint8_t noise_start)
{
	uint8_t seed[HT_SIGN_SEED_LEN], noise[HT_NOISE_KEY_LEN];
	pattern(seed, sign_start);
	pattern(noise, noise_start);
	if (ht_keys_from_seeds(k, role, seed, role == HT_KEYS_PROVIDER ? noise : NULL) != HT_OK)
		fuzz_fail("ht_keys_from_seeds failed");
}

void fuzz_anchor_keys(ht_keys *k)
{
	from_seeds(k, HT_KEYS_ANCHOR, 0xa0, 0);
}

void fuzz_other_anchor_keys(ht_keys *k)
{
	from_seeds(k, HT_KEYS_ANCHOR, 0x50, 0);
}

void fuzz_provider_keys(ht_keys *k)
{
	from_seeds(k, HT_KEYS_PROVIDER, 0x10, 0x30);
}
