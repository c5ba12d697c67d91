/* Big-endian integers of 1 to 8 octets, for the daemon's on-disk keys. */
#ifndef HD_BE_H
#define HD_BE_H

#include <stdint.h>

static inline void put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t get_be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

#endif
