/*
 * RFC 3339 times (ht_time_parse_rfc3339) and operator time arguments
 * (ht_time_parse_arg): a time that parses must format (ht_time_format) to text
 * that parses back to the same second.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();

	uint64_t ms;
	int rc = ht_time_parse_rfc3339((const char *)data, size, &ms);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_MALFORMED);
	if (rc == HT_OK) {
		/*
		 * Formatting drops the fraction, so compare seconds. This holds for
		 * a leap second too: whatever instant ":60" is read as, its second
		 * formats with a seconds field below 60 and so parses back to it.
		 */
		char buf[HT_TIME_STR_MAX];
		uint64_t secs = ms / 1000, ms2;
		ht_time_format(secs, buf);
		FUZZ_CHECK(memchr(buf, '\0', sizeof(buf)) != NULL);
		FUZZ_CHECK(ht_time_parse_rfc3339(buf, strlen(buf), &ms2) == HT_OK);
		FUZZ_CHECK(ms2 == secs * 1000);
	}

	/* The same bytes as a command-line argument (a C string). */
	char *arg = malloc(size + 1);
	if (!arg)
		return 0;
	if (size)
		memcpy(arg, data, size);
	arg[size] = 0;
	size_t len = strlen(arg);
	uint64_t secs;
	int rc2 = ht_time_parse_arg(arg, &secs);
	FUZZ_CHECK(rc2 == HT_OK || rc2 == HT_E_MALFORMED);
	if (len == size && rc == HT_OK)
		FUZZ_CHECK(rc2 == HT_OK && secs == ms / 1000);
	if (rc2 == HT_OK && strspn(arg, "0123456789") != len) {
		uint64_t ms3;
		FUZZ_CHECK(ht_time_parse_rfc3339(arg, len, &ms3) == HT_OK);
		FUZZ_CHECK(secs == ms3 / 1000);
	}
	free(arg);
	return 0;
}
