/*
 * CDR import as the daemon runs it: CSV in chunks cut anywhere, trunk groups
 * mapped by the configuration, rows handed to the store's writer thread
 * without waiting, each chunk acknowledged in order once its rows are
 * stored; bad rows reported by line, duplicates counted and stored once, and
 * an import that fails (bad header, a store that cannot write) answering
 * every later chunk of its stream with the error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static int open_with(void **state, uint64_t map_size)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char err[256];
	assert_int_equal(
		hd_config_parse("/x/h.conf", conf, strlen(conf), &fx->d.cfg, err, sizeof(err)), 0);
	fx->dir = tu_mkdtemp();
	hd_store_opts o = {.dir = fx->dir, .retention_days = 36500, .map_size = map_size};
	assert_int_equal(hd_store_open(&fx->d.store, &o), HT_OK);
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return open_with(state, 0);
}

/* A store whose files cannot grow past 256 KiB: commits fail once full. */
static int setup_small(void **state)
{
	return open_with(state, 256 << 10);
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
						i % 60, i % 10000);
			(*n_bad)++;
			continue;
		}
		len += (size_t)snprintf(
			s + len, cap - len, "%llu,+1 (202) 555-%04d,20255%05d,tg-orig,tg-transit\n",
			1767225600000ULL + (unsigned long long)i * 10, i % 10000, i / 10000);
	}
	return s;
}

#define MAX_ACKS 4096

/* The acknowledgements one import gave, in order. */
struct acks {
	hd_store *store;
	size_t n;
	int rc[MAX_ACKS];
	hd_import_result r[MAX_ACKS]; /* errors not kept */
	uint64_t records[MAX_ACKS];   /* what the store held when it was given */
	uint64_t lines[MAX_ACKS];     /* every refused row's line, in order */
	size_t n_lines;
};

static void on_ack(void *ud, int rc, const hd_import_result *r)
{
	struct acks *a = ud;
	assert_true(a->n < MAX_ACKS);
	a->rc[a->n] = rc;
	a->r[a->n] = *r;
	a->r[a->n].errors = NULL;
	for (size_t i = 0; i < r->n_errors; i++) {
		if (strcmp(r->errors[i].reason, ht_csv_reason_name(HT_CSV_BAD_HEADER)) != 0) {
			assert_string_equal(r->errors[i].reason,
					    ht_csv_reason_name(HT_CSV_UNKNOWN_TRUNK));
			assert_non_null(strstr(r->errors[i].message, "tg-nowhere"));
		}
		assert_true(a->n_lines < MAX_ACKS);
		a->lines[a->n_lines++] = r->errors[i].line;
	}
	hd_store_stats st;
	assert_int_equal(hd_store_stats_get(a->store, &st), HT_OK);
	a->records[a->n] = st.records;
	hd_store_stats_free(&st);
	a->n++;
}

/* Waits for the store as the daemon's loop does when woken, until every chunk is answered. */
static void drain(struct fixture *fx, hd_import *im)
{
	for (int i = 0; hd_import_unacked(im) > 0; i++) {
		assert_true(i < 1000); /* an import that never answers */
		size_t ins = 0, dup = 0;
		assert_int_equal(hd_store_flush(fx->d.store, &ins, &dup), HT_OK);
		assert_int_equal(ins + dup, 0); /* the import's batches are told, not held */
		hd_import_pump(im);
	}
}

/* Good rows among the first `bytes` of `csv` (rows of make_csv: one per line). */
static uint64_t good_rows_before(const char *csv, size_t bytes)
{
	uint64_t n = 0;
	const char *p = strchr(csv, '\n') + 1; /* the header */
	for (const char *e; (size_t)(p - csv) < bytes && (e = strchr(p, '\n')); p = e + 1)
		if ((size_t)(e - csv) < bytes && *p == '1') /* bad rows: RFC 3339 times */
			n++;
	return n;
}

/* Feeds `csv` in chunks of `chunk` bytes, draining the store every `window` chunks. */
static void import_csv(struct fixture *fx, struct acks *a, const char *csv, size_t chunk,
		       size_t window)
{
	size_t len = strlen(csv), k = 0;
	hd_import *im;
	memset(a, 0, sizeof(*a));
	a->store = fx->d.store;
	assert_int_equal(hd_import_new(&fx->d, on_ack, a, &im), HT_OK);
	for (size_t off = 0;; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		bool last = off + n == len;
		assert_int_equal(hd_import_feed(im, (const uint8_t *)csv + off, n, last), HT_OK);
		assert_false(hd_import_over(im) && !last);
		if (++k % window == 0 || last)
			drain(fx, im);
		if (last)
			break;
	}
	assert_true(hd_import_over(im));
	assert_int_equal(a->n, k); /* one answer per chunk */
	hd_import_free(im);
}

static void test_chunks_bad_rows_and_duplicates(void **state)
{
	struct fixture *fx = *state;
	int n_bad;
	char *csv = make_csv(3000, 100, &n_bad);
	size_t len = strlen(csv);
	assert_int_equal(n_bad, 30);
	struct acks *a = malloc(sizeof(*a));

	/* Chunks of 777 bytes, each answered before the next: rows are cut everywhere. */
	import_csv(fx, a, csv, 777, 1);
	for (size_t i = 0; i < a->n; i++) {
		size_t end = (i + 1) * 777 < len ? (i + 1) * 777 : len;
		assert_int_equal(a->rc[i], HT_OK);
		assert_int_equal(a->r[i].bytes, end);
		assert_int_equal(a->r[i].done, i + 1 == a->n);
		/* Acknowledged means stored: every good row that ended in the chunks so far. */
		assert_true(a->r[i].imported >= good_rows_before(csv, end));
		assert_true(a->records[i] >= a->r[i].imported);
	}
	hd_import_result *r = &a->r[a->n - 1];
	assert_int_equal(r->imported, 2970);
	assert_int_equal(r->rejected, 30);
	assert_int_equal(r->duplicates, 0);
	assert_int_equal(r->bytes, len);
	assert_int_equal(a->n_lines, 30);
	for (size_t i = 0; i < a->n_lines; i++)
		assert_int_equal(a->lines[i], 2 + 100 * i + 99); /* header is line 1 */

	/* The same file again in one chunk: every row a duplicate, none stored twice. */
	import_csv(fx, a, csv, len, 1);
	assert_int_equal(a->n, 1);
	assert_int_equal(a->r[0].imported, 0);
	assert_int_equal(a->r[0].duplicates, 2970);
	assert_int_equal(a->r[0].rejected, 30);
	assert_true(a->r[0].done);
	hd_store_stats st;
	assert_int_equal(hd_store_stats_get(fx->d.store, &st), HT_OK);
	assert_int_equal(st.records, 2970);
	hd_store_stats_free(&st);
	free(a);
	free(csv);
}

/*
 * A pipelining client: several chunks fed before the store has synced any.
 * Nothing waits; batches span chunks and wait for room in the store; the
 * answers still come one per chunk, in order, and add up exactly.
 */
static void test_pipelined_chunks(void **state)
{
	struct fixture *fx = *state;
	int n_bad;
	char *csv = make_csv(60000, 997, &n_bad);
	size_t len = strlen(csv), chunk = 65536;
	struct acks *a = malloc(sizeof(*a));

	import_csv(fx, a, csv, chunk, HD_IMPORT_WINDOW);
	uint64_t lines = 0;
	for (size_t i = 0; i < a->n; i++) {
		size_t end = (i + 1) * chunk < len ? (i + 1) * chunk : len;
		assert_int_equal(a->rc[i], HT_OK);
		assert_int_equal(a->r[i].bytes, end);
		assert_true(a->r[i].imported >= good_rows_before(csv, end));
		assert_true(a->records[i] >= a->r[i].imported);
		if (i > 0) {
			assert_true(a->r[i].imported >= a->r[i - 1].imported);
			assert_true(a->r[i].rejected >= a->r[i - 1].rejected);
		}
		lines = a->r[i].rejected;
	}
	assert_int_equal(lines, (uint64_t)n_bad);
	assert_int_equal(a->n_lines, (size_t)n_bad);
	for (size_t i = 0; i < a->n_lines; i++)
		assert_int_equal(a->lines[i], 2 + 997 * i + 996);
	assert_int_equal(a->r[a->n - 1].imported, 60000 - (uint64_t)n_bad);
	assert_int_equal(a->r[a->n - 1].duplicates, 0);
	hd_store_stats st;
	assert_int_equal(hd_store_stats_get(fx->d.store, &st), HT_OK);
	assert_int_equal(st.records, 60000 - (uint64_t)n_bad);
	hd_store_stats_free(&st);
	free(a);
	free(csv);
}

static atomic_int wakes;

static void count_wake(void *ud)
{
	(void)ud;
	atomic_fetch_add(&wakes, 1);
}

/*
 * The loop never waits. The store's room only grows when its owner collects
 * (hd_store_poll), so feeding with no poll in between fills the room, and
 * then rows wait in the import, which asks its owner to stop reading; no
 * chunk is answered before the store has reported. The writer's
 * notification says when to poll.
 */
static void test_never_waits(void **state)
{
	struct fixture *fx = *state;
	int n_bad;
	/* More rows than the store's room takes (at most a full batch per slot) and the waiting
	 * limit. */
	size_t room = hd_store_room(fx->d.store);
	int rows = (int)(room * HD_IMPORT_BATCH + HD_IMPORT_WAITING) + 1000;
	char *csv = make_csv(rows, 0, &n_bad);
	size_t len = strlen(csv), chunk = 262144, k = 0;
	struct acks *a = malloc(sizeof(*a));
	memset(a, 0, sizeof(*a));
	a->store = fx->d.store;
	atomic_store(&wakes, 0);
	hd_store_set_notify(fx->d.store, count_wake, NULL);

	hd_import *im;
	assert_int_equal(hd_import_new(&fx->d, on_ack, a, &im), HT_OK);
	for (size_t off = 0; off < len; off += chunk, k++)
		assert_int_equal(hd_import_feed(im, (const uint8_t *)csv + off,
						len - off < chunk ? len - off : chunk, false),
				 HT_OK);
	assert_int_equal(a->n, 0);
	assert_int_equal(hd_import_unacked(im), k);
	assert_int_equal(hd_store_room(fx->d.store), 0);
	assert_true(hd_import_full(im)); /* the rest waits */
	ht_cdr one;
	memset(&one, 0, sizeof(one));
	assert_int_equal(hd_store_submit_async(fx->d.store, &one, 1, NULL, NULL), HT_E_INVAL);

	/* The writer says when it is done with some; polling then never waits. */
	for (int i = 0; atomic_load(&wakes) == 0; i++) {
		assert_true(i < 3000); /* 30 s */
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	hd_store_poll(fx->d.store);
	hd_import_pump(im);
	assert_true(a->n > 0); /* the first chunk's batch was synced */
	assert_int_equal(a->rc[0], HT_OK);
	drain(fx, im);
	assert_int_equal(a->n, k);
	assert_false(hd_import_full(im));
	assert_int_equal(a->r[k - 1].imported, (uint64_t)rows);
	assert_false(hd_import_over(im));
	/* An empty last chunk with nothing to wait for is answered at once. */
	assert_int_equal(hd_import_feed(im, NULL, 0, true), HT_OK);
	assert_int_equal(a->n, k + 1);
	assert_true(a->r[k].done);
	assert_true(hd_import_over(im));
	hd_import_free(im);
	hd_store_set_notify(fx->d.store, NULL, NULL);
	free(a);
	free(csv);
}

/* A header that cannot be used stops the import; the rest of the stream is answered unread. */
static void test_bad_header_stops_the_stream(void **state)
{
	struct fixture *fx = *state;
	struct acks *a = malloc(sizeof(*a));
	const char *chunks[] = {
		"time,calling,nonsense\n1767225600000,12025550100,",
		"12025550101\n1767225600001,12025550100,12025550102\n",
		"",
	};
	memset(a, 0, sizeof(*a));
	a->store = fx->d.store;
	hd_import *im;
	assert_int_equal(hd_import_new(&fx->d, on_ack, a, &im), HT_OK);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(
			hd_import_feed(im, (const uint8_t *)chunks[i], strlen(chunks[i]), i == 2),
			HT_OK);
	assert_int_equal(a->n, 3);
	assert_int_equal(a->rc[0], HT_E_MALFORMED);
	assert_false(a->r[0].earlier);
	assert_int_equal(a->r[0].rejected, 1); /* the header, reported */
	for (size_t i = 1; i < 3; i++) {
		assert_int_equal(a->rc[i], HT_E_MALFORMED);
		assert_true(a->r[i].earlier);
		assert_int_equal(a->r[i].imported, 0);
	}
	assert_false(a->r[1].done);
	assert_true(a->r[2].done);
	assert_true(hd_import_over(im));
	hd_import_free(im);

	/* A new import after it starts from zero. */
	int n_bad;
	char *csv = make_csv(10, 0, &n_bad);
	import_csv(fx, a, csv, 100, 2);
	assert_int_equal(a->rc[a->n - 1], HT_OK);
	assert_int_equal(a->r[a->n - 1].imported, 10);
	free(csv);
	free(a);
}

/*
 * A store that cannot write (its file is full): the chunks acknowledged
 * before are stored, the first one that is not is answered with the error,
 * and every later chunk of the stream with "stopped earlier".
 */
static void test_store_failure(void **state)
{
	struct fixture *fx = *state;
	int n_bad;
	char *csv = make_csv(40000, 0, &n_bad);
	size_t len = strlen(csv), chunk = 4096;
	struct acks *a = malloc(sizeof(*a));
	import_csv(fx, a, csv, chunk, 1);
	size_t ok = 0, failed_at = a->n;
	for (size_t i = 0; i < a->n; i++) {
		if (a->rc[i] == HT_OK) {
			assert_int_equal(failed_at, a->n); /* no OK after an error */
			ok++;
			size_t end = (i + 1) * chunk < len ? (i + 1) * chunk : len;
			assert_true(a->r[i].imported >= good_rows_before(csv, end));
			assert_true(a->records[i] >= a->r[i].imported);
			continue;
		}
		if (failed_at == a->n) {
			failed_at = i;
			assert_false(a->r[i].earlier);
		} else {
			assert_true(a->r[i].earlier);
		}
	}
	assert_true(ok > 0);
	assert_true(failed_at < a->n);
	assert_true(a->r[a->n - 1].done);
	/* What was acknowledged is there. */
	hd_store_stats st;
	assert_int_equal(hd_store_stats_get(fx->d.store, &st), HT_OK);
	assert_true(st.records >= a->r[failed_at - 1].imported);
	hd_store_stats_free(&st);
	free(a);
	free(csv);
}

/* A connection that drops with batches in flight: the import goes once the store has told it. */
static void test_free_in_flight(void **state)
{
	struct fixture *fx = *state;
	int n_bad;
	char *csv = make_csv(12000, 0, &n_bad);
	struct acks *a = malloc(sizeof(*a));
	memset(a, 0, sizeof(*a));
	a->store = fx->d.store;
	hd_import *im;
	assert_int_equal(hd_import_new(&fx->d, on_ack, a, &im), HT_OK);
	assert_int_equal(hd_import_feed(im, (const uint8_t *)csv, strlen(csv), false), HT_OK);
	hd_import_free(im); /* before the store has reported */
	size_t ins = 0, dup = 0;
	assert_int_equal(hd_store_flush(fx->d.store, &ins, &dup), HT_OK);
	assert_int_equal(ins + dup, 0);
	assert_int_equal(a->n, 0); /* nobody to answer */
	free(a);
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
	struct acks *a = malloc(sizeof(*a));
	import_csv(fx, a, csv, sizeof(csv), 1);
	assert_int_equal(a->r[0].imported, 2);
	free(a);

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
		T(test_pipelined_chunks),
		T(test_never_waits),
		T(test_bad_header_stops_the_stream),
		cmocka_unit_test_setup_teardown(test_store_failure, setup_small, teardown),
		T(test_free_in_flight),
		T(test_mapping_and_normalisation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
