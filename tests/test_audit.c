/* The audit log on a real LMDB file: append, filter, limit, reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "testutil.h"

struct seen {
	hd_audit_entry e[32];
	size_t n;
};

static void keep(void *ud, const hd_audit_entry *e)
{
	struct seen *s = ud;
	if (s->n < 32)
		s->e[s->n] = *e;
	s->n++;
}

static hd_audit_entry entry(uint64_t t, uint8_t trace, const char *peer, const char *status)
{
	hd_audit_entry e;
	memset(&e, 0, sizeof(e));
	e.time_ms = t;
	memset(e.trace_id, trace, 16);
	snprintf(e.asking_peer, sizeof(e.asking_peer), "%s", peer);
	snprintf(e.initiator, sizeof(e.initiator), "CONSORTIUM");
	snprintf(e.status, sizeof(e.status), "%s", status);
	snprintf(e.disclosed, sizeof(e.disclosed), "%s",
		 strcmp(status, "found") == 0 ? "upstream TRANSIT-1" : "");
	return e;
}

static void test_append_list_filter_reopen(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	hd_audit *a;
	assert_int_equal(hd_audit_open(&a, dir, false), HT_OK);
	hd_audit_entry in[] = {
		entry(1000, 1, "TERM-CO", "found"),
		entry(1000, 2, "TERM-CO", "not_found"), /* same millisecond: both kept */
		entry(2000, 3, "OTHER", "refused:rate_limited"),
		entry(3000, 1, "OTHER", "found"),
	};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(hd_audit_append(a, &in[i]), HT_OK);

	struct seen s = {0};
	bool trunc;
	hd_audit_filter all = {0};
	assert_int_equal(hd_audit_list(a, &all, keep, &s, &trunc), HT_OK);
	assert_int_equal(s.n, 4);
	assert_false(trunc);
	for (size_t i = 0; i < 4; i++)
		assert_memory_equal(&s.e[i], &in[i], sizeof(in[i])); /* oldest first, exact */

	memset(&s, 0, sizeof(s));
	hd_audit_filter by_peer = {.peer = "OTHER"};
	assert_int_equal(hd_audit_list(a, &by_peer, keep, &s, &trunc), HT_OK);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.e[0].status, "refused:rate_limited");

	memset(&s, 0, sizeof(s));
	uint8_t t1[16];
	memset(t1, 1, 16);
	hd_audit_filter by_trace = {.trace_id = t1};
	assert_int_equal(hd_audit_list(a, &by_trace, keep, &s, &trunc), HT_OK);
	assert_int_equal(s.n, 2);

	memset(&s, 0, sizeof(s));
	hd_audit_filter window = {.since_ms = 1500, .until_ms = 2500};
	assert_int_equal(hd_audit_list(a, &window, keep, &s, &trunc), HT_OK);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.e[0].time_ms, 2000);

	memset(&s, 0, sizeof(s));
	hd_audit_filter limited = {.limit = 3};
	assert_int_equal(hd_audit_list(a, &limited, keep, &s, &trunc), HT_OK);
	assert_int_equal(s.n, 3);
	assert_true(trunc);

	/* Closed and reopened, the log is intact, and appends continue after it. */
	hd_audit_close(a);
	assert_int_equal(hd_audit_open(&a, dir, false), HT_OK);
	hd_audit_entry again = entry(1000, 9, "TERM-CO", "found");
	assert_int_equal(hd_audit_append(a, &again), HT_OK);
	memset(&s, 0, sizeof(s));
	assert_int_equal(hd_audit_list(a, &all, keep, &s, &trunc), HT_OK);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.e[2].trace_id[0], 9); /* after the two at 1000 ms */
	hd_audit_close(a);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_list_filter_reopen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
