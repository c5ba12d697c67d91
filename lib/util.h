/* Internal helpers shared by lib/ modules. Not part of the public API. */
#ifndef HT_LIB_UTIL_H
#define HT_LIB_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/err.h"

/* Lower-case hex of `len` bytes into `out` (2*len+1 bytes). */
void ht__hex(char *out, const uint8_t *in, size_t len);

/* Parses exactly 2*len hex digits into `out`; -1 on anything else. */
int ht__unhex(uint8_t *out, size_t len, const char *hex, size_t hexlen);

#endif
