/*
 * The audit log on a real LMDB file: append, filter, limit, reopen; group
 * commit on libuv's thread pool: order, batching, and durability of every
 * acknowledged entry when the process is killed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

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

/* Records the order callbacks run in. */
struct acks {
	hd_audit *a;
	uv_loop_t *loop;
	uint32_t order[2048];
	size_t n;
	int bad_rc;
	bool chain; /* the first callback submits one more entry */
};

struct ack {
	struct acks *acks;
	uint32_t idx;
};

static void on_ack(void *ud, int rc)
{
	struct ack *k = ud;
	struct acks *s = k->acks;
	if (rc != HT_OK)
		s->bad_rc = rc;
	/* Synced before the callback: a reader sees the entry now (every 10th checked). */
	struct seen got = {0};
	bool trunc;
	uint8_t tid[16] = {0};
	memcpy(tid, &k->idx, sizeof(k->idx));
	hd_audit_filter f = {.trace_id = tid};
	if (k->idx % 10 == 0 &&
	    (hd_audit_list(s->a, &f, keep, &got, &trunc) != HT_OK || got.n != 1))
		s->bad_rc = -1000;
	s->order[s->n++] = k->idx;
	if (s->chain) {
		s->chain = false;
		static struct ack extra;
		extra.acks = s;
		extra.idx = 9999;
		hd_audit_entry e = entry(5000, 0, "LATE", "found");
		memset(e.trace_id, 0, 16);
		memcpy(e.trace_id, &extra.idx, sizeof(extra.idx));
		assert_int_equal(hd_audit_submit(s->a, s->loop, &e, on_ack, &extra), HT_OK);
	}
}

struct order_check {
	uint32_t next;
	bool ok;
};

static void check_order(void *ud, const hd_audit_entry *e)
{
	struct order_check *c = ud;
	uint32_t idx;
	memcpy(&idx, e->trace_id, sizeof(idx));
	if (idx != c->next)
		c->ok = false;
	c->next++;
}

static void test_group_commit_order(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	static struct acks s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(hd_audit_open(&s.a, dir, false), HT_OK);
	s.loop = &loop;
	s.chain = true;
	static struct ack k[1500];
	/* All at the same millisecond: only the sequence orders them. */
	for (uint32_t i = 0; i < 1500; i++) {
		k[i] = (struct ack){&s, i};
		hd_audit_entry e = entry(4000, 0, "TERM-CO", i % 2 ? "found" : "not_found");
		memset(e.trace_id, 0, 16);
		memcpy(e.trace_id, &i, sizeof(i));
		assert_int_equal(hd_audit_submit(s.a, &loop, &e, on_ack, &k[i]), HT_OK);
	}
	assert_int_equal(hd_audit_pending(s.a), 1500);
	/* Nothing has been called back before the loop runs. */
	assert_int_equal(s.n, 0);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(s.bad_rc, 0);
	assert_int_equal(s.n, 1501);
	assert_int_equal(hd_audit_pending(s.a), 0);
	for (uint32_t i = 0; i < 1500; i++)
		assert_int_equal(s.order[i], i);
	assert_int_equal(s.order[1500], 9999); /* submitted from a callback, last */
	uint64_t commits, entries;
	hd_audit_counts(s.a, &commits, &entries);
	assert_int_equal(entries, 1501);
	/* Grouped: the first alone, then the rest in batches of at most 1024. */
	assert_true(commits >= 3 && commits <= 4);

	/* The log holds them in submission order. */
	struct order_check c = {0, true};
	bool trunc;
	hd_audit_filter f = {.since_ms = 4000, .until_ms = 4000};
	assert_int_equal(hd_audit_list(s.a, &f, check_order, &c, &trunc), HT_OK);
	assert_true(c.ok);
	assert_int_equal(c.next, 1500);
	hd_audit_close(s.a);
	assert_int_equal(uv_loop_close(&loop), 0);
	tu_rmtree(dir);
	free(dir);
}

static void test_group_commit_log_order(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	static struct acks s;
	memset(&s, 0, sizeof(s));
	assert_int_equal(hd_audit_open(&s.a, dir, false), HT_OK);
	s.loop = &loop;
	static struct ack k[1200];
	for (uint32_t i = 0; i < 1200; i++) {
		k[i] = (struct ack){&s, i};
		hd_audit_entry e = entry(7000, 0, "TERM-CO", "found");
		memset(e.trace_id, 0, 16);
		memcpy(e.trace_id, &i, sizeof(i));
		assert_int_equal(hd_audit_submit(s.a, &loop, &e, on_ack, &k[i]), HT_OK);
		/* A blocking append meanwhile, at another time, does not disturb them. */
		if (i == 600) {
			hd_audit_entry x = entry(8000, 0xee, "SYNC", "found");
			assert_int_equal(hd_audit_append(s.a, &x), HT_OK);
		}
	}
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(s.bad_rc, 0);
	struct order_check c = {0, true};
	bool trunc;
	hd_audit_filter f = {.since_ms = 7000, .until_ms = 7000};
	assert_int_equal(hd_audit_list(s.a, &f, check_order, &c, &trunc), HT_OK);
	assert_true(c.ok);
	assert_int_equal(c.next, 1200);
	hd_audit_close(s.a);
	assert_int_equal(uv_loop_close(&loop), 0);
	tu_rmtree(dir);
	free(dir);
}

/* The child: submits entries forever, writing each acknowledged index to `fd`. */
static struct child {
	hd_audit *a;
	uv_loop_t *loop;
	int fd;
	uint32_t next;
	uint32_t idx[64];
} child;

static void child_submit(struct child *c);

static void child_ack(void *ud, int rc)
{
	uint32_t *idx = ud;
	if (rc != HT_OK)
		_exit(3);
	if (write(child.fd, idx, sizeof(*idx)) != sizeof(*idx))
		_exit(4);
	child_submit(&child);
}

static void child_submit(struct child *c)
{
	uint32_t i = c->next++;
	uint32_t *k = &c->idx[i % 64];
	*k = i;
	hd_audit_entry e = entry(6000 + i, 0, "TERM-CO", "found");
	memset(e.trace_id, 0, 16);
	memcpy(e.trace_id, &i, sizeof(i));
	if (hd_audit_submit(c->a, c->loop, &e, child_ack, k) != HT_OK)
		_exit(5);
}

static void test_acknowledged_survive_kill(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		uv_loop_t loop;
		if (uv_loop_init(&loop) != 0 || hd_audit_open(&child.a, dir, false) != HT_OK)
			_exit(2);
		child.loop = &loop;
		child.fd = fds[1];
		/* 64 in flight at once, so commits carry several. */
		for (int i = 0; i < 64; i++)
			child_submit(&child);
		uv_run(&loop, UV_RUN_DEFAULT);
		_exit(6);
	}
	close(fds[1]);
	/* Read acknowledgements until 300 arrived, then kill the writer mid-stream. */
	uint32_t n = 0, idx, max = 0;
	while (n < 300 && read(fds[0], &idx, sizeof(idx)) == sizeof(idx)) {
		max = idx > max ? idx : max;
		n++;
	}
	assert_int_equal(n, 300);
	kill(pid, SIGKILL);
	/* Those acknowledged between our last read and the kill count too. */
	while (read(fds[0], &idx, sizeof(idx)) == sizeof(idx))
		max = idx > max ? idx : max;
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(fds[0]);

	hd_audit *a;
	assert_int_equal(hd_audit_open(&a, dir, false), HT_OK);
	struct order_check c = {0, true};
	bool trunc;
	hd_audit_filter f = {.since_ms = 6000, .until_ms = 6000 + 100000};
	assert_int_equal(hd_audit_list(a, &f, check_order, &c, &trunc), HT_OK);
	/* The log is a prefix of what was submitted (0, 1, 2, ...: no holes), and
	 * holds every acknowledged entry. */
	assert_true(c.ok);
	assert_true(c.next > max);
	hd_audit_close(a);
	tu_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_list_filter_reopen),
		cmocka_unit_test(test_group_commit_order),
		cmocka_unit_test(test_group_commit_log_order),
		cmocka_unit_test(test_acknowledged_survive_kill),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
