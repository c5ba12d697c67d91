/* Error texts and names: what logs, JSON output and scripts rely on. */
#include "testutil.h"

#include <limits.h>
#include <string.h>

#include "hoptrace/err.h"

/* What an unknown code gets; the known codes must never fall back to it. */
static const char *generic_text(void)
{
	return ht_strerror(HT_E_LAST - 1);
}

static void test_every_code_has_own_text(void **state)
{
	(void)state;
	const char *generic = generic_text();
	for (int e = HT_E_NOMEM; e >= HT_E_LAST; e--) {
		const char *t = ht_strerror(e);
		assert_non_null(t);
		assert_true(strlen(t) > 0);
		assert_string_not_equal(t, generic);
		assert_string_not_equal(t, ht_strerror(HT_OK));
		for (int f = e - 1; f >= HT_E_LAST; f--)
			assert_string_not_equal(t, ht_strerror(f));
	}
}

static void test_every_code_has_own_name(void **state)
{
	(void)state;
	for (int e = HT_E_NOMEM; e >= HT_E_LAST; e--) {
		const char *n = ht_errname(e);
		assert_non_null(n);
		assert_true(strlen(n) > 0);
		assert_string_not_equal(n, "unknown");
		assert_string_not_equal(n, ht_errname(HT_OK));
		for (int f = e - 1; f >= HT_E_LAST; f--)
			assert_string_not_equal(n, ht_errname(f));
	}
}

/* Names go into JSON and scripts: short lower-case tokens, no spaces. */
static void test_names_are_tokens(void **state)
{
	(void)state;
	for (int e = HT_OK; e >= HT_E_LAST; e--) {
		const char *n = ht_errname(e);
		assert_true(strlen(n) <= 32);
		for (const char *p = n; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
	}
	/* The examples the header promises. */
	assert_string_equal(ht_errname(HT_E_EXPIRED), "expired");
	assert_string_equal(ht_errname(HT_E_REVOKED), "revoked");
}

static void test_unknown_codes(void **state)
{
	(void)state;
	const int unknown[] = {HT_E_LAST - 1, HT_E_LAST - 100, 1, 42, INT_MAX, INT_MIN};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_string_equal(ht_errname(unknown[i]), "unknown");
		assert_non_null(ht_strerror(unknown[i]));
		assert_string_equal(ht_strerror(unknown[i]), generic_text());
	}
	/* The generic sentence is not mistaken for success either. */
	assert_string_not_equal(generic_text(), ht_strerror(HT_OK));
}

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_has_own_text),
		cmocka_unit_test(test_every_code_has_own_name),
		cmocka_unit_test(test_names_are_tokens),
		cmocka_unit_test(test_unknown_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
