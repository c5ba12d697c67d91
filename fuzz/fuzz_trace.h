/*
 * Fixed values shared by the traceback harnesses (fuzz_trace_request.c,
 * fuzz_answer.c) and their seeds in gen_seeds.c, so that seeds verify inside
 * the harnesses and reach the code behind the checks.
 */
#ifndef HT_FUZZ_TRACE_H
#define HT_FUZZ_TRACE_H

#include <stdint.h>

#include <sodium.h>

#include "fuzz.h"

/*
 * The seeds' requests are created at this time and their answers given 1 s
 * later: inside the validity of gen_seeds.c's certificates (from 1764000000,
 * for a year).
 */
#define FUZZ_TRACE_NOW_MS 1765000000000ULL

/* The X25519 key pair that seed requests name and seed answers are sealed to. */
static inline void fuzz_answer_keypair(uint8_t pk[32], uint8_t sk[32])
{
	uint8_t seed[32];
	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(0x60 + i);
	if (crypto_box_seed_keypair(pk, sk, seed) != 0)
		fuzz_fail("crypto_box_seed_keypair failed");
}

/* The ephemeral secret of the seeds' sealed boxes (deterministic seeds). */
static inline void fuzz_seal_ephemeral(uint8_t esk[32])
{
	for (size_t i = 0; i < 32; i++)
		esk[i] = (uint8_t)(0x90 + i);
}

#endif
