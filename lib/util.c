#include "util.h"

#include <sodium.h>

void ht__hex(char *out, const uint8_t *in, size_t len)
{
	sodium_bin2hex(out, 2 * len + 1, in, len);
}

int ht__unhex(uint8_t *out, size_t len, const char *hex, size_t hexlen)
{
	size_t got = 0;
	const char *end = NULL;
	if (hexlen != 2 * len)
		return -1;
	if (sodium_hex2bin(out, len, hex, hexlen, NULL, &got, &end) != 0)
		return -1;
	if (got != len || end != hex + hexlen)
		return -1;
	return 0;
}
