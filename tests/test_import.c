/*
 * CDR import as the daemon runs it: CSV in chunks cut anywhere, trunk groups
 * mapped by the configuration, rows stored in batches, bad rows reported by
 * line, duplicates counted and stored once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hoptraced.h"
#include "import.h"
#include "testutil.h"

static const char conf[] = "[identity]\nprovider_id = TERM-CO\nkey = k\ncertificate = c\n"
			   "[trust]\nanchor = a\n"
			   "[store]\ncountry_code = 1\n"
			   "[trunks]\ntg-transit = TRANSIT-1\ntg-orig = ORIG-TEL\n"
			   "tg-cust = local\n";

struct fixture {
	struct hd_daemon d;
	char *dir;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];
	assert_int_equal(
		hd_config_parse("/x/h.conf", conf, strlen(conf), &fx->d.cfg, err, sizeof(err)), 0);
	fx->dir = tu_mkdtemp();
	hd_store_opts o = {.dir = fx->dir, .retention_days = 36500};
	assert_int_equal(hd_store_open(&fx->d.store, &o), HT_OK);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	hd_store_close(fx->d.store);
	hd_config_free(&fx->d.cfg);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

/* A CSV of `n` good rows and a bad one every `bad_every` rows (0: none). */
static char *make_csv(int n, int bad_every, int *n_bad)
{
	size_t cap = 128 + (size_t)n * 128;
	char *s = malloc(cap);
	size_t len = (size_t)snprintf(s, cap, "time,calling,called,in_trunk,out_trunk\n");
	*n_bad = 0;
	for (int i = 0; i < n; i++) {
		if (bad_every && i % bad_every == bad_every - 1) {
			len += (size_t)snprintf(s + len, cap - len,
						"2026-01-01T00:00:%02dZ,+1202555%04d,12025550000,"
						"tg-nowhere,tg-transit\n",
						i % 60, i);
			(*n_bad)++;
			continue;
		}
		len += (size_t)snprintf(s + len, cap - len,
					"%llu,+1 (202) 555-%04d,2025550000,tg-orig,tg-transit\n",
					1767225600000ULL + (unsigned long long)i * 10, i);
	}
	return s;
}

static void test_chunks_bad_rows_and_duplicates(void **state)
{
	struct fixture *fx = *state;
	int n_bad;
	char *csv = make_csv(3000, 100, &n_bad);
	size_t len = strlen(csv);
	assert_int_equal(n_bad, 30);

	hd_import *im;
	assert_int_equal(hd_import_new(&fx->d, &im), HT_OK);
	hd_import_result r;
	uint64_t lines_seen[64];
	size_t n_lines = 0;
	/* Chunks of 777 bytes: rows are cut everywhere. */
	for (size_t off = 0; off < len; off += 777) {
		size_t n = len - off < 777 ? len - off : 777;
		assert_int_equal(hd_import_feed(im, (const uint8_t *)csv + off, n, false, &r),
				 HT_OK);
		for (size_t i = 0; i < r.n_errors; i++) {
			assert_string_equal(r.errors[i].reason,
					    ht_csv_reason_name(HT_CSV_UNKNOWN_TRUNK));
			assert_non_null(strstr(r.errors[i].message, "tg-nowhere"));
			lines_seen[n_lines++] = r.errors[i].line;
		}
		/* Acknowledged means stored: the store holds every row imported so far. */
		hd_store_stats st;
		assert_int_equal(hd_store_stats_get(fx->d.store, &st), HT_OK);
		assert_int_equal(st.records, r.imported);
		hd_store_stats_free(&st);
	}
	assert_int_equal(hd_import_feed(im, NULL, 0, true, &r), HT_OK);
	assert_true(r.done);
	assert_int_equal(r.imported, 2970);
	assert_int_equal(r.rejected, 30);
	assert_int_equal(r.duplicates, 0);
	assert_int_equal(r.bytes, len);
	assert_int_equal(n_lines, 30);
	for (size_t i = 0; i < n_lines; i++)
		assert_int_equal(lines_seen[i], 2 + 100 * i + 99); /* header is line 1 */
	hd_import_free(im);

	/* The same file again: every row a duplicate, none stored twice. */
	assert_int_equal(hd_import_new(&fx->d, &im), HT_OK);
	assert_int_equal(hd_import_feed(im, (const uint8_t *)csv, len, true, &r), HT_OK);
	assert_int_equal(r.imported, 0);
	assert_int_equal(r.duplicates, 2970);
	assert_int_equal(r.rejected, 30);
	hd_import_free(im);
	hd_store_stats st;
	assert_int_equal(hd_store_stats_get(fx->d.store, &st), HT_OK);
	assert_int_equal(st.records, 2970);
	hd_store_stats_free(&st);
	free(csv);
}

static int first(void *ud, const ht_cdr *r)
{
	*(ht_cdr *)ud = *r;
	return 1;
}

static void test_mapping_and_normalisation(void **state)
{
	struct fixture *fx = *state;
	const char csv[] = "time,calling,called,in_trunk,out_trunk,customer_ref,attestation\n"
			   "2026-01-01T00:00:00.250Z,2025550143,+44 20 7946 0958,tg-cust,"
			   "tg-transit,acct-7,A\n"
			   "2026-01-01T00:00:01Z,12025550144,2025550100,tg-transit,tg-cust,,\n";
	hd_import *im;
	hd_import_result r;
	assert_int_equal(hd_import_new(&fx->d, &im), HT_OK);
	assert_int_equal(hd_import_feed(im, (const uint8_t *)csv, strlen(csv), true, &r), HT_OK);
	assert_int_equal(r.imported, 2);
	hd_import_free(im);

	ht_cdr got;
	memset(&got, 0, sizeof(got));
	assert_int_equal(hd_store_lookup(fx->d.store, "TRANSIT-1",
					 hd_store_hint("12025550143", "442079460958"), 16,
					 1767225600000ULL, 1767225601000ULL, first, &got),
			 HT_OK);
	assert_int_equal(got.time_ms, 1767225600250ULL);
	assert_string_equal(got.upstream, ""); /* originated here */
	assert_string_equal(got.customer_ref, "acct-7");
	assert_int_equal(got.attestation, 'A');
	memset(&got, 0, sizeof(got));
	assert_int_equal(hd_store_lookup(fx->d.store, "",
					 hd_store_hint("12025550144", "12025550100"), 16,
					 1767225600000ULL, 1767225602000ULL, first, &got),
			 HT_OK);
	assert_string_equal(got.upstream, "TRANSIT-1"); /* terminated here */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		T(test_chunks_bad_rows_and_duplicates),
		T(test_mapping_and_normalisation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
