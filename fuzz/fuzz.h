/*
 * Shared declarations for the libFuzzer harnesses in fuzz/. Each harness
 * defines LLVMFuzzerTestOneInput; it is linked either with libFuzzer
 * (-DHT_FUZZ=ON, clang) or with replay.c, which feeds it corpus files so the
 * normal build re-runs every seed and past reproducer as a ctest.
 */
#ifndef HT_FUZZ_FUZZ_H
#define HT_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "hoptrace/keys.h"

/* The libFuzzer entry point: returns 0; aborts when an invariant breaks. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ht_init() once per process; aborts if the crypto library cannot start. */
void fuzz_init(void);

/*
 * The fixed, deterministic keys shared by the harnesses and gen_seeds.c, so
 * that seeds signed by the "anchor" verify inside the harnesses and reach the
 * code behind signature checks. The "other" anchor is a second, untrusted one.
 */
void fuzz_anchor_keys(ht_keys *k);
void fuzz_other_anchor_keys(ht_keys *k);
void fuzz_provider_keys(ht_keys *k);

/* Serials on the revocation list fuzz_cert installs in its trust store. */
#define FUZZ_REVOKED_SERIAL_1 1000
#define FUZZ_REVOKED_SERIAL_2 1002

/* Prints `what` to stderr and aborts, so the fuzzer records a crash. */
_Noreturn void fuzz_fail(const char *what);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fuzz_fail(__FILE__ ": invariant failed: " #cond);                          \
	} while (0)

#endif
