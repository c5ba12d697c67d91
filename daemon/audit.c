#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "be.h"
#include "log.h"

/* An entry waiting for its batch, and whom to tell once it is synced. */
struct job {
	hd_audit_entry e;
	hd_audit_done_fn fn;
	void *ud;
	struct job *next;
};

/* One group commit: the jobs it carries, on the thread pool. */
struct batch {
	uv_work_t work;
	hd_audit *a;
	struct job *head;
	size_t n;
	int rc;
};

struct hd_audit {
	MDB_env *env;
	MDB_dbi dbi;
	uint32_t seq; /* orders entries within one millisecond; touched in write txns only */
	char *path;
	/* Group commit (loop thread only): jobs queued while a batch is in flight. */
	uv_loop_t *loop;
	struct job *q_head, **q_tail;
	size_t queued;
	struct batch batch; /* the one in flight, if `inflight` */
	struct batch *inflight;
	bool dispatching; /* running a batch's callbacks */
	uint64_t commits, committed;
};

int hd_audit_open(hd_audit **out, const char *dir, bool no_sync)
{
	hd_audit *a = calloc(1, sizeof(*a));
	if (!a)
		return HT_E_NOMEM;
	size_t n = strlen(dir) + 16;
	a->path = malloc(n);
	if (!a->path) {
		free(a);
		return HT_E_NOMEM;
	}
	snprintf(a->path, n, "%s/audit.mdb", dir);
	a->q_tail = &a->q_head;
	MDB_txn *txn = NULL;
	int rc = mdb_env_create(&a->env);
	if (!rc)
		rc = mdb_env_set_mapsize(a->env, 16ULL << 30);
	if (!rc)
		rc = mdb_env_open(a->env, a->path,
				  MDB_NOSUBDIR | MDB_NOTLS | (no_sync ? MDB_NOSYNC : 0), 0640);
	if (!rc)
		rc = mdb_txn_begin(a->env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, NULL, 0, &a->dbi);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc) {
		if (txn)
			mdb_txn_abort(txn);
		log_error("audit log %s: %s", a->path, mdb_strerror(rc));
		hd_audit_close(a);
		return HT_E_IO;
	}
	*out = a;
	return HT_OK;
}

void hd_audit_close(hd_audit *a)
{
	if (!a)
		return;
	if (a->inflight || a->queued)
		log_error("audit log %s: closed with %zu entries not committed", a->path,
			  a->queued + (a->inflight ? a->inflight->n : 0));
	for (struct job *j = a->q_head, *next; j; j = next) {
		next = j->next;
		free(j);
	}
	if (a->env)
		mdb_env_close(a->env);
	free(a->path);
	free(a);
}

/* One length-prefixed text field. */
static uint8_t *put_text(uint8_t *p, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	*p++ = (uint8_t)n;
	memcpy(p, s, n);
	return p + n;
}

static const uint8_t *get_text(const uint8_t *p, const uint8_t *end, char *out, size_t max)
{
	if (!p || p >= end || *p > max || (size_t)(end - p - 1) < *p)
		return NULL;
	memcpy(out, p + 1, *p);
	out[*p] = 0;
	return p + 1 + *p;
}

/* Puts one entry in the open write transaction `txn`. */
static int put_entry(hd_audit *a, MDB_txn *txn, const hd_audit_entry *e)
{
	uint8_t key[12],
		val[16 + 4 + 2 * HT_PROVIDER_ID_MAX + HD_AUDIT_STATUS_MAX + HD_AUDIT_DISCLOSED_MAX];
	put_be(key, e->time_ms, 8);
	put_be(key + 8, a->seq++, 4);
	uint8_t *p = val;
	memcpy(p, e->trace_id, 16);
	p += 16;
	p = put_text(p, e->asking_peer, HT_PROVIDER_ID_MAX);
	p = put_text(p, e->initiator, HT_PROVIDER_ID_MAX);
	p = put_text(p, e->status, HD_AUDIT_STATUS_MAX);
	p = put_text(p, e->disclosed, HD_AUDIT_DISCLOSED_MAX);
	MDB_val k = {sizeof(key), key}, v = {(size_t)(p - val), val};
	int rc = mdb_put(txn, a->dbi, &k, &v, MDB_NOOVERWRITE);
	/* A restart resets seq: step past an entry of the same instant. */
	while (rc == MDB_KEYEXIST) {
		/* LMDB points v at the existing entry: aim it back at ours. */
		put_be(key + 8, a->seq++, 4);
		v.mv_size = (size_t)(p - val);
		v.mv_data = val;
		rc = mdb_put(txn, a->dbi, &k, &v, MDB_NOOVERWRITE);
	}
	return rc;
}

/*
 * Writes entries in one transaction, committed and synced once. LMDB's
 * writer lock serialises this between the loop thread and the pool, which
 * is also what keeps `seq` consistent.
 */
static int write_entries(hd_audit *a, const struct job *jobs, const hd_audit_entry *one)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(a->env, NULL, 0, &txn);
	if (!rc) {
		if (one)
			rc = put_entry(a, txn, one);
		for (const struct job *j = jobs; j && !rc; j = j->next)
			rc = put_entry(a, txn, &j->e);
		if (rc)
			mdb_txn_abort(txn);
		else
			rc = mdb_txn_commit(txn);
	}
	if (rc) {
		log_error("audit log %s: append: %s", a->path, mdb_strerror(rc));
		return rc == ENOMEM ? HT_E_NOMEM : HT_E_IO;
	}
	return HT_OK;
}

int hd_audit_append(hd_audit *a, const hd_audit_entry *e)
{
	return write_entries(a, NULL, e);
}

/* ---- group commit ---- */

static void batch_start(hd_audit *a);

static void batch_work(uv_work_t *w)
{
	struct batch *b = w->data;
	b->rc = write_entries(b->a, b->head, NULL);
}

/* Tells each job its result, in order, and frees it. */
static void finish_jobs(struct job *j, int rc)
{
	for (struct job *next; j; j = next) {
		next = j->next;
		j->fn(j->ud, rc);
		free(j);
	}
}

static void batch_done(uv_work_t *w, int status)
{
	struct batch *b = w->data;
	hd_audit *a = b->a;
	int rc = status == 0 ? b->rc : HT_E_IO;
	a->inflight = NULL;
	if (rc == HT_OK) {
		a->commits++;
		a->committed += b->n;
	}
	/* Callbacks may queue more: those go together in the next batch. */
	struct job *done = b->head;
	b->head = NULL;
	a->dispatching = true;
	finish_jobs(done, rc);
	a->dispatching = false;
	batch_start(a);
}

/* Sends everything queued to the pool as one batch, unless one is in flight. */
static void batch_start(hd_audit *a)
{
	if (a->inflight || a->dispatching || !a->q_head)
		return;
	/* One batch at a time: it lives in `a`, so starting one cannot fail for memory. */
	struct batch *b = &a->batch;
	memset(b, 0, sizeof(*b));
	b->a = a;
	/* Bounded transactions: at most HD_AUDIT_BATCH_MAX entries per commit. */
	struct job **pp = &a->q_head;
	while (*pp && b->n < HD_AUDIT_BATCH_MAX) {
		pp = &(*pp)->next;
		b->n++;
	}
	b->head = a->q_head;
	a->q_head = *pp;
	*pp = NULL;
	if (!a->q_head)
		a->q_tail = &a->q_head;
	a->queued -= b->n;
	b->work.data = b;
	a->inflight = b;
	int rc = uv_queue_work(a->loop, &b->work, batch_work, batch_done);
	if (rc != 0) {
		log_error("audit log %s: cannot queue a commit: %s", a->path, uv_strerror(rc));
		a->inflight = NULL;
		finish_jobs(b->head, HT_E_IO);
	}
}

int hd_audit_submit(hd_audit *a, uv_loop_t *loop, const hd_audit_entry *e, hd_audit_done_fn fn,
		    void *ud)
{
	struct job *j = malloc(sizeof(*j));
	if (!j)
		return HT_E_NOMEM;
	j->e = *e;
	j->fn = fn;
	j->ud = ud;
	j->next = NULL;
	a->loop = loop;
	*a->q_tail = j;
	a->q_tail = &j->next;
	a->queued++;
	batch_start(a);
	return HT_OK;
}

size_t hd_audit_pending(const hd_audit *a)
{
	return a->queued + (a->inflight ? a->inflight->n : 0);
}

void hd_audit_counts(const hd_audit *a, uint64_t *commits, uint64_t *entries)
{
	*commits = a->commits;
	*entries = a->committed;
}

int hd_audit_list(hd_audit *a, const hd_audit_filter *f, hd_audit_visit_fn fn, void *ud,
		  bool *truncated)
{
	*truncated = false;
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc = mdb_txn_begin(a->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return HT_E_IO;
	if ((rc = mdb_cursor_open(txn, a->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return HT_E_IO;
	}
	uint8_t seek[12] = {0};
	put_be(seek, f->since_ms, 8);
	MDB_val k = {sizeof(seek), seek}, v;
	size_t n = 0;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 12 || v.mv_size < 16)
			continue;
		hd_audit_entry e;
		memset(&e, 0, sizeof(e));
		e.time_ms = get_be(k.mv_data, 8);
		if (f->until_ms && e.time_ms > f->until_ms)
			break;
		const uint8_t *p = v.mv_data, *end = p + v.mv_size;
		memcpy(e.trace_id, p, 16);
		p = get_text(p + 16, end, e.asking_peer, HT_PROVIDER_ID_MAX);
		p = get_text(p, end, e.initiator, HT_PROVIDER_ID_MAX);
		p = get_text(p, end, e.status, HD_AUDIT_STATUS_MAX);
		p = get_text(p, end, e.disclosed, HD_AUDIT_DISCLOSED_MAX);
		if (!p) {
			log_error("audit log %s: undecodable entry", a->path);
			continue;
		}
		if (f->peer && f->peer[0] && strcmp(f->peer, e.asking_peer) != 0)
			continue;
		if (f->trace_id && memcmp(f->trace_id, e.trace_id, 16) != 0)
			continue;
		if (f->limit && n == f->limit) {
			*truncated = true;
			break;
		}
		fn(ud, &e);
		n++;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return rc == 0 || rc == MDB_NOTFOUND ? HT_OK : HT_E_IO;
}
