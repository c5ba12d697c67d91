/*
 * The call-record store on a real LMDB in a temporary folder: insert and
 * look up, window edges, the hint, duplicates, partitions across midnight,
 * retention, statistics, and reopening.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store.h"
#include "testutil.h"

#define DAY HD_STORE_DAY_MS
#define T0  (20000 * DAY + 12 * 3600000ULL) /* noon, 2024-10-04 UTC */

static ht_cdr rec(uint64_t t, const char *calling, const char *called, const char *up,
		  const char *down)
{
	ht_cdr r;
	memset(&r, 0, sizeof(r));
	r.time_ms = t;
	snprintf(r.calling, sizeof(r.calling), "%s", calling);
	snprintf(r.called, sizeof(r.called), "%s", called);
	snprintf(r.upstream, sizeof(r.upstream), "%s", up);
	snprintf(r.downstream, sizeof(r.downstream), "%s", down);
	return r;
}

struct found {
	ht_cdr recs[64];
	size_t n;
};

static int collect(void *ud, const ht_cdr *r)
{
	struct found *f = ud;
	if (f->n < 64)
		f->recs[f->n] = *r;
	f->n++;
	return 0;
}

struct fixture {
	char *dir;
	hd_store *s;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	fx->dir = tu_mkdtemp();
	hd_store_opts o = {.dir = fx->dir, .retention_days = 90};
	assert_int_equal(hd_store_open(&fx->s, &o), HT_OK);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	hd_store_close(fx->s);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
	return 0;
}

static size_t lookup(hd_store *s, const char *down, const char *calling, const char *called,
		     uint64_t from, uint64_t to, struct found *f)
{
	memset(f, 0, sizeof(*f));
	assert_int_equal(
		hd_store_lookup(s, down, hd_store_hint(calling, called), 16, from, to, collect, f),
		HT_OK);
	return f->n;
}

static void test_insert_lookup_roundtrip(void **state)
{
	struct fixture *fx = *state;
	ht_cdr r = rec(T0, "12025550143", "442079460958", "ORIG-TEL", "TRANSIT-1");
	r.attestation = 'B';
	r.has_origid = true;
	for (int i = 0; i < 16; i++)
		r.origid[i] = (uint8_t)(0xa0 + i);
	strcpy(r.call_id, "abc123@sbc.example");
	size_t ins, dup;
	assert_int_equal(hd_store_insert(fx->s, &r, 1, &ins, &dup), HT_OK);
	assert_int_equal(ins, 1);
	assert_int_equal(dup, 0);
	struct found f;
	assert_int_equal(lookup(fx->s, "TRANSIT-1", r.calling, r.called, T0, T0, &f), 1);
	assert_memory_equal(&f.recs[0], &r, sizeof(r));

	/* An originated-here call keeps its customer reference; "" is here. */
	ht_cdr o = rec(T0 + 5, "12025550100", "12025550199", "", "TRANSIT-1");
	strcpy(o.customer_ref, "cust-42");
	assert_int_equal(hd_store_insert(fx->s, &o, 1, &ins, &dup), HT_OK);
	assert_int_equal(lookup(fx->s, "TRANSIT-1", o.calling, o.called, T0, T0 + 10, &f), 1);
	assert_string_equal(f.recs[0].customer_ref, "cust-42");
	assert_string_equal(f.recs[0].upstream, "");
}

static void test_window_edges(void **state)
{
	struct fixture *fx = *state;
	ht_cdr r = rec(T0, "12025550143", "12025550000", "A", "B");
	size_t ins, dup;
	assert_int_equal(hd_store_insert(fx->s, &r, 1, &ins, &dup), HT_OK);
	struct found f;
	assert_int_equal(lookup(fx->s, "B", r.calling, r.called, T0 - 5000, T0 + 5000, &f), 1);
	assert_int_equal(lookup(fx->s, "B", r.calling, r.called, T0, T0 + 5000, &f), 1);
	assert_int_equal(lookup(fx->s, "B", r.calling, r.called, T0 - 5000, T0, &f), 1);
	assert_int_equal(lookup(fx->s, "B", r.calling, r.called, T0 + 1, T0 + 5000, &f), 0);
	assert_int_equal(lookup(fx->s, "B", r.calling, r.called, T0 - 5000, T0 - 1, &f), 0);
	/* Another downstream peer, or the terminated-here view, does not see it. */
	assert_int_equal(lookup(fx->s, "C", r.calling, r.called, T0 - 5000, T0 + 5000, &f), 0);
	assert_int_equal(lookup(fx->s, "", r.calling, r.called, T0 - 5000, T0 + 5000, &f), 0);
	assert_int_equal(lookup(fx->s, "A", r.calling, r.called, T0 - 5000, T0 + 5000, &f), 0);
}

static void test_terminated_here(void **state)
{
	struct fixture *fx = *state;
	ht_cdr r = rec(T0, "12025550143", "12025550000", "TRANSIT-1", "");
	size_t ins, dup;
	assert_int_equal(hd_store_insert(fx->s, &r, 1, &ins, &dup), HT_OK);
	struct found f;
	assert_int_equal(lookup(fx->s, "", r.calling, r.called, T0 - 10, T0 + 10, &f), 1);
	assert_string_equal(f.recs[0].upstream, "TRANSIT-1");
	assert_string_equal(f.recs[0].downstream, "");
}

static void test_hint_narrows(void **state)
{
	struct fixture *fx = *state;
	/* 200 calls to one peer in one second, different number pairs. */
	ht_cdr rs[200];
	for (int i = 0; i < 200; i++) {
		char calling[16];
		snprintf(calling, sizeof(calling), "1202555%04d", i);
		rs[i] = rec(T0 + (uint64_t)i, calling, "12025550000", "A", "B");
	}
	size_t ins, dup;
	assert_int_equal(hd_store_insert(fx->s, rs, 200, &ins, &dup), HT_OK);
	assert_int_equal(ins, 200);
	struct found f;
	/* Full hint: only pairs with that digest (almost surely just the one). */
	size_t n = lookup(fx->s, "B", rs[77].calling, rs[77].called, T0, T0 + 1000, &f);
	assert_true(n >= 1 && n <= 2);
	bool seen = false;
	for (size_t i = 0; i < n; i++)
		seen |= strcmp(f.recs[i].calling, rs[77].calling) == 0;
	assert_true(seen);
	/* No hint bits: every call in the window. */
	memset(&f, 0, sizeof(f));
	assert_int_equal(hd_store_lookup(fx->s, "B", 0, 0, T0, T0 + 1000, collect, &f), HT_OK);
	assert_int_equal(f.n, 200);
	/* 4 hint bits: a sixteenth, roughly, and always including the call. */
	memset(&f, 0, sizeof(f));
	uint16_t h = hd_store_hint(rs[77].calling, rs[77].called);
	assert_int_equal(hd_store_lookup(fx->s, "B", h, 4, T0, T0 + 1000, collect, &f), HT_OK);
	assert_true(f.n >= 1 && f.n < 60);
}

static void test_duplicates_stored_once(void **state)
{
	struct fixture *fx = *state;
	ht_cdr r[3] = {rec(T0, "12025550143", "12025550000", "A", "B"),
		       rec(T0, "12025550143", "12025550000", "A", "B"),
		       rec(T0, "12025550143", "12025550000", "X", "B")};
	size_t ins, dup;
	assert_int_equal(hd_store_insert(fx->s, r, 3, &ins, &dup), HT_OK);
	assert_int_equal(ins, 2); /* the third differs in its upstream: a second leg */
	assert_int_equal(dup, 1);
	assert_int_equal(hd_store_insert(fx->s, r, 1, &ins, &dup), HT_OK);
	assert_int_equal(ins, 0);
	assert_int_equal(dup, 1);
	struct found f;
	assert_int_equal(lookup(fx->s, "B", r[0].calling, r[0].called, T0, T0, &f), 2);
}

static void test_partitions_across_midnight(void **state)
{
	struct fixture *fx = *state;
	uint64_t midnight = 20001 * DAY;
	ht_cdr r[2] = {rec(midnight - 1000, "12025550143", "12025550000", "A", "B"),
		       rec(midnight + 1000, "12025550143", "12025550000", "A", "B")};
	size_t ins, dup;
	assert_int_equal(hd_store_insert(fx->s, r, 2, &ins, &dup), HT_OK);
	assert_int_equal(ins, 2);
	struct found f;
	assert_int_equal(
		lookup(fx->s, "B", r[0].calling, r[0].called, midnight - 5000, midnight + 5000, &f),
		2);
	hd_store_stats st;
	assert_int_equal(hd_store_stats_get(fx->s, &st), HT_OK);
	assert_int_equal(st.partitions, 2);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.first_ms, midnight - 1000);
	assert_int_equal(st.last_ms, midnight + 1000);
	hd_store_stats_free(&st);
}

static void test_retention_drops_whole_days(void **state)
{
	struct fixture *fx = *state;
	ht_cdr r[3] = {rec(T0 - 100 * DAY, "12025550143", "12025550000", "A", "B"),
		       rec(T0 - 95 * DAY, "12025550143", "12025550000", "A", "B"),
		       rec(T0 - 10 * DAY, "12025550143", "12025550000", "A", "B")};
	size_t ins, dup, dropped;
	assert_int_equal(hd_store_insert(fx->s, r, 3, &ins, &dup), HT_OK);
	assert_int_equal(tu_count_entries(fx->dir), 6); /* 3 files, 3 lock files */
	assert_int_equal(hd_store_expire(fx->s, T0, &dropped), HT_OK);
	assert_int_equal(dropped, 2);
	assert_int_equal(tu_count_entries(fx->dir), 2);
	struct found f;
	assert_int_equal(lookup(fx->s, "B", r[0].calling, r[0].called, 0, T0, &f), 1);
	assert_int_equal(f.recs[0].time_ms, r[2].time_ms);
	/* A partition still inside the period stays, to the day. */
	assert_int_equal(hd_store_expire(fx->s, T0 + 70 * DAY, &dropped), HT_OK);
	assert_int_equal(dropped, 0);
}

static void test_stats_per_peer_and_reopen(void **state)
{
	struct fixture *fx = *state;
	ht_cdr r[4] = {rec(T0, "12025550143", "12025550000", "A", "B"),
		       rec(T0 + 1, "12025550144", "12025550000", "A", "C"),
		       rec(T0 + 2, "12025550145", "12025550000", "", "B"),
		       rec(T0 + 3, "12025550146", "12025550000", "C", "")};
	size_t ins, dup;
	assert_int_equal(hd_store_insert(fx->s, r, 4, &ins, &dup), HT_OK);
	/* Close and reopen: everything is still there. */
	hd_store_close(fx->s);
	hd_store_opts o = {.dir = fx->dir, .retention_days = 90};
	assert_int_equal(hd_store_open(&fx->s, &o), HT_OK);
	hd_store_stats st;
	assert_int_equal(hd_store_stats_get(fx->s, &st), HT_OK);
	assert_int_equal(st.records, 4);
	assert_true(st.bytes_on_disk > 0);
	uint64_t a_up = 0, b_down = 0, c_up = 0, c_down = 0, here_up = 0, here_down = 0;
	for (size_t i = 0; i < st.n_peers; i++) {
		const hd_store_peer_count *p = &st.peers[i];
		if (!strcmp(p->provider_id, "A"))
			a_up = p->as_upstream;
		if (!strcmp(p->provider_id, "B"))
			b_down = p->as_downstream;
		if (!strcmp(p->provider_id, "C"))
			c_up = p->as_upstream, c_down = p->as_downstream;
		if (!strcmp(p->provider_id, ""))
			here_up = p->as_upstream, here_down = p->as_downstream;
	}
	assert_int_equal(a_up, 2);
	assert_int_equal(b_down, 2);
	assert_int_equal(c_up, 1);
	assert_int_equal(c_down, 1);
	assert_int_equal(here_up, 1);
	assert_int_equal(here_down, 1);
	hd_store_stats_free(&st);
	struct found f;
	assert_int_equal(lookup(fx->s, "C", r[1].calling, r[1].called, T0, T0 + 10, &f), 1);
	/* New peers after reopening get new indices, old ones keep theirs. */
	ht_cdr more = rec(T0 + 9, "12025550147", "12025550000", "D", "C");
	assert_int_equal(hd_store_insert(fx->s, &more, 1, &ins, &dup), HT_OK);
	assert_int_equal(lookup(fx->s, "C", more.calling, more.called, T0, T0 + 10, &f), 1);
	assert_string_equal(f.recs[0].upstream, "D");
}

static void test_invalid_records_refused(void **state)
{
	struct fixture *fx = *state;
	ht_cdr bad[] = {
		rec(T0, "0202555", "12025550000", "A", "B"),             /* leading zero */
		rec(1ULL << 48, "12025550143", "12025550000", "A", "B"), /* past year 10889 */
		rec(T0, "1202555x143", "12025550000", "A", "B"),         /* not digits */
		rec(T0, "12025550143", "12025550000", "bad id", "B"),    /* provider ID */
		rec(T0, "", "12025550000", "A", "B"),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t ins = 9, dup = 9;
		assert_int_equal(hd_store_insert(fx->s, &bad[i], 1, &ins, &dup), HT_E_INVAL);
		assert_int_equal(ins, 0);
	}
	ht_cdr r = rec(T0, "12025550143", "12025550000", "A", "B");
	r.attestation = 'D';
	size_t ins, dup;
	assert_int_equal(hd_store_insert(fx->s, &r, 1, &ins, &dup), HT_E_INVAL);
	struct found f;
	memset(&f, 0, sizeof(f));
	assert_int_equal(hd_store_lookup(fx->s, "B", 0, 0, 0, T0 + DAY, collect, &f), HT_OK);
	assert_int_equal(f.n, 0);
}

static void test_compaction(void **state)
{
	struct fixture *fx = *state;
	/* 5000 calls over a day, plus a second leg of one (same key, other data). */
	static ht_cdr rs[5001];
	for (int i = 0; i < 5000; i++) {
		char calling[16];
		snprintf(calling, sizeof(calling), "1202555%04d", i);
		rs[i] = rec(T0 + (uint64_t)i * 1000, calling, "12025550000", i % 2 ? "A" : "",
			    i % 3 ? "B" : "C");
	}
	rs[5000] = rs[10];
	strcpy(rs[5000].upstream, "X");
	size_t ins, dup;
	for (int i = 0; i < 5001; i += 500) /* small batches: half-full pages */
		assert_int_equal(hd_store_insert(fx->s, rs + i, i + 500 <= 5001 ? 500 : 5001 - i,
						 &ins, &dup),
				 HT_OK);
	hd_store_stats before, after;
	assert_int_equal(hd_store_stats_get(fx->s, &before), HT_OK);
	assert_int_equal(before.records, 5001);

	uint32_t *days;
	size_t n;
	assert_int_equal(hd_store_compactable(fx->s, (uint32_t)(T0 / DAY) + 1, &days, &n), HT_OK);
	assert_int_equal(n, 1);
	assert_int_equal(hd_store_compact(fx->s, days[0]), HT_OK);
	free(days);
	/* Done once: no longer offered. */
	assert_int_equal(hd_store_compactable(fx->s, (uint32_t)(T0 / DAY) + 1, &days, &n), HT_OK);
	assert_int_equal(n, 0);
	free(days);

	assert_int_equal(hd_store_stats_get(fx->s, &after), HT_OK);
	assert_int_equal(after.records, 5001);
	assert_true(after.bytes_on_disk < before.bytes_on_disk);
	assert_int_equal(after.first_ms, before.first_ms);
	assert_int_equal(after.last_ms, before.last_ms);
	assert_int_equal(after.n_peers, before.n_peers);
	hd_store_stats_free(&before);
	hd_store_stats_free(&after);
	struct found f;
	for (int i = 0; i < 5000; i += 97) {
		size_t want = i == 10 ? 2 : 1;
		assert_int_equal(lookup(fx->s, i % 3 ? "B" : "C", rs[i].calling, rs[i].called,
					rs[i].time_ms, rs[i].time_ms, &f),
				 want);
		assert_string_equal(f.recs[0].calling, rs[i].calling);
	}
	assert_int_equal(lookup(fx->s, "B", rs[10].calling, rs[10].called, rs[10].time_ms,
				rs[10].time_ms, &f),
			 2);
	/* Still writable, and a duplicate is still a duplicate. */
	assert_int_equal(hd_store_insert(fx->s, &rs[7], 1, &ins, &dup), HT_OK);
	assert_int_equal(dup, 1);
	/* A write during the copy makes the swap refuse: nothing is lost. */
	hd_store_compaction *job;
	assert_int_equal(hd_store_compact_begin(fx->s, (uint32_t)(T0 / DAY), &job), HT_OK);
	assert_int_equal(hd_store_compact_run(job), HT_OK);
	ht_cdr late = rec(T0 + 7, "12025559999", "12025550000", "A", "B");
	assert_int_equal(hd_store_insert(fx->s, &late, 1, &ins, &dup), HT_OK);
	/* Retention keeps off a partition being copied. */
	size_t dropped;
	assert_int_equal(hd_store_expire(fx->s, T0 + 1000 * DAY, &dropped), HT_OK);
	assert_int_equal(dropped, 0);
	assert_int_equal(hd_store_compact_finish(fx->s, job, HT_OK), HT_E_STALE);
	assert_int_equal(
		lookup(fx->s, "B", late.calling, late.called, late.time_ms, late.time_ms, &f), 1);
	assert_int_equal(tu_count_entries(fx->dir), 2); /* no .tmp left behind */
}

/* The stats' count for provider `id` ("" = here), as downstream; -1 if not listed. */
static long peer_down(hd_store *s, const char *id)
{
	hd_store_stats st;
	assert_int_equal(hd_store_stats_get(s, &st), HT_OK);
	long n = -1;
	for (size_t i = 0; i < st.n_peers; i++)
		if (strcmp(st.peers[i].provider_id, id) == 0)
			n = (long)st.peers[i].as_downstream;
	hd_store_stats_free(&st);
	return n;
}

/*
 * Pipelined batches, as the import submits them: up to four are with the
 * writer (a submit acknowledges the batches before those), a batch may
 * bring new peers while the ones before it (with their own new peers) are
 * still being committed, and the caller may reuse its buffer at once.
 */
static void test_submit_pipeline(void **state)
{
	struct fixture *fx = *state;
	ht_cdr a[3] = {rec(T0, "12025550101", "12025550000", "P-1", "P-2"),
		       rec(T0 + 1, "12025550102", "12025550000", "", "P-2"),
		       rec(T0 + 2, "12025550103", "12025550000", "P-1", "")};
	ht_cdr keep[3];
	memcpy(keep, a, sizeof(a));
	ht_cdr b[2] = {rec(T0 + 3, "12025550104", "12025550000", "P-3", "P-2"),
		       rec(T0 + 4, "12025550105", "12025550000", "P-2", "P-4")};
	size_t ins = 0, dup = 0;
	struct found f;
	assert_int_equal(hd_store_submit(fx->s, a, 3, &ins, &dup), HT_OK);
	assert_int_equal(ins, 0);   /* nothing acknowledged yet */
	memset(a, 0x5a, sizeof(a)); /* the store has its own copy */
	assert_int_equal(hd_store_submit(fx->s, b, 2, &ins, &dup), HT_OK);
	assert_int_equal(ins, 0);
	ht_cdr b2 = rec(T0 + 10, "12025550111", "12025550000", "P-3", "P-9");
	assert_int_equal(hd_store_submit(fx->s, &b2, 1, &ins, &dup), HT_OK);
	assert_int_equal(ins, 0);
	ht_cdr b3 = rec(T0 + 11, "12025550112", "12025550000", "", "P-9");
	assert_int_equal(hd_store_submit(fx->s, &b3, 1, &ins, &dup), HT_OK);
	assert_int_equal(ins, 3); /* a is committed and synced */
	/* A synchronous insert must not overtake a submitted batch. */
	size_t i2, d2;
	assert_int_equal(hd_store_insert(fx->s, b, 1, &i2, &d2), HT_E_INVAL);
	assert_int_equal(hd_store_flush(fx->s, &ins, &dup), HT_OK);
	assert_int_equal(ins, 7);
	assert_int_equal(dup, 0);
	assert_int_equal(hd_store_flush(fx->s, &ins, &dup), HT_OK); /* nothing left */
	assert_int_equal(ins, 7);
	assert_int_equal(lookup(fx->s, "P-9", b2.calling, b2.called, T0, T0 + 10, &f), 1);
	assert_memory_equal(&f.recs[0], &b2, sizeof(b2));
	assert_int_equal(lookup(fx->s, "P-2", keep[0].calling, keep[0].called, T0, T0, &f), 1);
	assert_memory_equal(&f.recs[0], &keep[0], sizeof(keep[0]));
	assert_int_equal(lookup(fx->s, "", keep[2].calling, keep[2].called, T0, T0 + 9, &f), 1);
	assert_string_equal(f.recs[0].upstream, "P-1");
	assert_int_equal(lookup(fx->s, "P-4", b[1].calling, b[1].called, T0, T0 + 9, &f), 1);
	assert_memory_equal(&f.recs[0], &b[1], sizeof(b[1]));
	assert_int_equal(peer_down(fx->s, "P-2"), 3);
	assert_int_equal(peer_down(fx->s, "P-9"), 2);

	/* Duplicates are counted when their batch is collected. */
	ins = dup = 0;
	assert_int_equal(hd_store_submit(fx->s, b, 2, &ins, &dup), HT_OK);
	assert_int_equal(hd_store_flush(fx->s, &ins, &dup), HT_OK);
	assert_int_equal(ins, 0);
	assert_int_equal(dup, 2);

	/* A bad batch is refused whole, with its new peer, while the good one
	 * before it stands and is acknowledged by the same call. */
	ht_cdr c = rec(T0 + 5, "12025550106", "12025550000", "", "P-5");
	ht_cdr bad[2] = {rec(T0 + 6, "12025550107", "12025550000", "", "P-6"),
			 rec(T0 + 7, "12025550108", "0123", "", "P-6")};
	ins = dup = 0;
	assert_int_equal(hd_store_submit(fx->s, &c, 1, &ins, &dup), HT_OK);
	assert_int_equal(hd_store_submit(fx->s, bad, 2, &ins, &dup), HT_E_INVAL);
	assert_int_equal(hd_store_flush(fx->s, &ins, &dup), HT_OK);
	assert_int_equal(ins, 1);
	assert_int_equal(lookup(fx->s, "P-6", bad[0].calling, bad[0].called, T0, T0 + 9, &f), 0);
	assert_int_equal(peer_down(fx->s, "P-6"), -1);
	assert_int_equal(peer_down(fx->s, "P-5"), 1);
	/* The refused batch's peer index goes to the next new peer. */
	ht_cdr d = rec(T0 + 8, "12025550109", "12025550000", "", "P-7");
	assert_int_equal(hd_store_insert(fx->s, &d, 1, &ins, &dup), HT_OK);
	assert_int_equal(lookup(fx->s, "P-7", d.calling, d.called, T0, T0 + 9, &f), 1);
	assert_string_equal(f.recs[0].downstream, "P-7");
	assert_int_equal(peer_down(fx->s, "P-7"), 1);

	/* Closing waits for a submitted batch: it is there after a reopen. */
	ht_cdr e = rec(T0 + 9, "12025550110", "12025550000", "P-8", "P-2");
	ins = 0;
	assert_int_equal(hd_store_submit(fx->s, &e, 1, &ins, &dup), HT_OK);
	hd_store_close(fx->s);
	hd_store_opts o = {.dir = fx->dir, .retention_days = 90};
	assert_int_equal(hd_store_open(&fx->s, &o), HT_OK);
	assert_int_equal(lookup(fx->s, "P-2", e.calling, e.called, T0, T0 + 9, &f), 1);
	assert_string_equal(f.recs[0].upstream, "P-8");
}

/* Many batches back to back, across midnight: the pipeline loses and repeats nothing. */
static void test_submit_many(void **state)
{
	struct fixture *fx = *state;
	enum { N = 20000, B = 700 };
	ht_cdr *rs = calloc(N, sizeof(*rs));
	assert_non_null(rs);
	uint64_t start = 20001 * DAY - N / 2 * 10;
	for (int i = 0; i < N; i++) {
		char calling[16], up[16], down[16];
		snprintf(calling, sizeof(calling), "1202%07d", i);
		snprintf(up, sizeof(up), "U-%d", i % 37);
		snprintf(down, sizeof(down), "D-%d", (i * 7) % 301);
		rs[i] = rec(start + (uint64_t)i * 10, calling, "12025550000", i % 5 ? up : "",
			    i % 11 ? down : "");
	}
	size_t ins = 0, dup = 0;
	for (int i = 0; i < N; i += B)
		assert_int_equal(hd_store_submit(fx->s, rs + i, N - i < B ? N - i : B, &ins, &dup),
				 HT_OK);
	assert_int_equal(hd_store_flush(fx->s, &ins, &dup), HT_OK);
	assert_int_equal(ins, N);
	assert_int_equal(dup, 0);
	hd_store_stats st;
	assert_int_equal(hd_store_stats_get(fx->s, &st), HT_OK);
	assert_int_equal(st.records, N);
	assert_int_equal(st.partitions, 2);
	hd_store_stats_free(&st);
	struct found f;
	for (int i = 0; i < N; i += 13) {
		assert_int_equal(lookup(fx->s, rs[i].downstream, rs[i].calling, rs[i].called,
					rs[i].time_ms, rs[i].time_ms, &f),
				 1);
		assert_memory_equal(&f.recs[0], &rs[i], sizeof(rs[i]));
	}
	free(rs);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		T(test_insert_lookup_roundtrip),
		T(test_window_edges),
		T(test_terminated_here),
		T(test_hint_narrows),
		T(test_duplicates_stored_once),
		T(test_partitions_across_midnight),
		T(test_retention_drops_whole_days),
		T(test_stats_per_peer_and_reopen),
		T(test_invalid_records_refused),
		T(test_compaction),
		T(test_submit_pipeline),
		T(test_submit_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
