#include "initiator.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sodium.h>
#include <uv.h>

#include "be.h"
#include "hoptraced.h"
#include "log.h"
#include "trace.h"

/* ==== The durable store: STATE_DIR/traces.mdb ============================== */

/*
 * Three tables. "traces": trace ID -> the trace record. "answers": trace ID
 * || index (4 octets, big-endian) -> one answer as received. "by_time":
 * created_ms (8, big-endian) || trace ID -> nothing, for newest-first lists.
 * Records start with a format octet so that a later version can read them.
 */
#define REC_FORMAT     1
#define TRACES_MAPSIZE (4ULL << 30)

struct hd_traces {
	MDB_env *env;
	MDB_dbi traces, answers, by_time;
	char *path;
};

const char *hd_trace_status_name(int status)
{
	switch (status) {
	case HD_TS_RUNNING:
		return HT_CTL_TRACE_RUNNING;
	case HD_TS_COMPLETE:
		return HT_CTL_TRACE_COMPLETE;
	case HD_TS_TIMED_OUT:
		return HT_CTL_TRACE_TIMED_OUT;
	case HD_TS_INTERRUPTED:
		return HT_CTL_TRACE_INTERRUPTED;
	case HD_TS_FAILED:
		return HT_CTL_TRACE_FAILED;
	default:
		return "unknown";
	}
}

void hd_trace_rec_clear(hd_trace_rec *r)
{
	if (!r)
		return;
	free(r->request);
	sodium_memzero(r, sizeof(*r));
}

/* A bounded writer (len of cap used) and reader (pos of len read) for records. */
struct buf {
	uint8_t *p;
	size_t len, cap, pos;
	bool bad;
};

static void put_bytes(struct buf *b, const void *v, size_t n)
{
	if (b->bad || n > b->cap - b->len) {
		b->bad = true;
		return;
	}
	memcpy(b->p + b->len, v, n);
	b->len += n;
}

static void put_int(struct buf *b, uint64_t v, int n)
{
	uint8_t t[8];
	put_be(t, v, n);
	put_bytes(b, t, (size_t)n);
}

static void put_str(struct buf *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	put_int(b, n, 1);
	put_bytes(b, s, n);
}

static const uint8_t *get_bytes(struct buf *b, size_t n)
{
	if (b->bad || n > b->len - b->pos) {
		b->bad = true;
		return NULL;
	}
	const uint8_t *p = b->p + b->pos;
	b->pos += n;
	return p;
}

static uint64_t get_int(struct buf *b, int n)
{
	const uint8_t *p = get_bytes(b, (size_t)n);
	return p ? get_be(p, n) : 0;
}

static void get_str(struct buf *b, char *dst, size_t max)
{
	size_t n = (size_t)get_int(b, 1);
	const uint8_t *p = n > max ? (b->bad = true, NULL) : get_bytes(b, n);
	if (!p)
		n = 0;
	memcpy(dst, p ? (const char *)p : "", n);
	dst[n] = 0;
}

#define REC_FIXED (1 + 1 + 4 * 8 + 2 * 4 + 1 + 2 * 32 + 5 * (1 + 128) + 4)

/* Encodes `r` into a malloc'd buffer (the caller wipes it: it may hold the key). */
static int rec_encode(const hd_trace_rec *r, uint8_t **out, size_t *out_len)
{
	struct buf b = {.cap = REC_FIXED + r->request_len};
	if (!(b.p = malloc(b.cap)))
		return HT_E_NOMEM;
	static const uint8_t zero[HT_ANSWER_SK_LEN];
	put_int(&b, REC_FORMAT, 1);
	put_int(&b, (uint64_t)r->status, 1);
	put_int(&b, r->created_ms, 8);
	put_int(&b, r->call_time_ms, 8);
	put_int(&b, r->started_ms, 8);
	put_int(&b, r->finished_ms, 8);
	put_int(&b, r->n_answers, 4);
	put_int(&b, r->n_dropped, 4);
	put_int(&b, r->has_sk, 1);
	put_bytes(&b, r->answer_pk, HT_ANSWER_PK_LEN);
	put_bytes(&b, r->has_sk ? r->answer_sk : zero, HT_ANSWER_SK_LEN);
	put_str(&b, r->calling, HT_E164_BUF - 1);
	put_str(&b, r->called, HT_E164_BUF - 1);
	put_str(&b, r->to, HT_PROVIDER_ID_MAX);
	put_str(&b, r->origin, HT_PROVIDER_ID_MAX);
	put_str(&b, r->label, HT_LABEL_MAX);
	put_int(&b, r->request_len, 4);
	put_bytes(&b, r->request, r->request_len);
	if (b.bad) {
		sodium_memzero(b.p, b.cap);
		free(b.p);
		return HT_E_INVAL;
	}
	*out = b.p;
	*out_len = b.len;
	return HT_OK;
}

/* Decodes a stored record; the request is copied only when `with_request`. */
static int rec_decode(const MDB_val *k, const MDB_val *v, hd_trace_rec *r, bool with_request)
{
	memset(r, 0, sizeof(*r));
	if (k->mv_size != HT_TRACE_ID_LEN)
		return HT_E_MALFORMED;
	memcpy(r->id, k->mv_data, HT_TRACE_ID_LEN);
	struct buf b = {.p = v->mv_data, .len = v->mv_size};
	if (get_int(&b, 1) != REC_FORMAT)
		return HT_E_MALFORMED;
	r->status = (int)get_int(&b, 1);
	r->created_ms = get_int(&b, 8);
	r->call_time_ms = get_int(&b, 8);
	r->started_ms = get_int(&b, 8);
	r->finished_ms = get_int(&b, 8);
	r->n_answers = (uint32_t)get_int(&b, 4);
	r->n_dropped = (uint32_t)get_int(&b, 4);
	r->has_sk = get_int(&b, 1) != 0;
	const uint8_t *pk = get_bytes(&b, HT_ANSWER_PK_LEN);
	const uint8_t *sk = get_bytes(&b, HT_ANSWER_SK_LEN);
	if (pk)
		memcpy(r->answer_pk, pk, HT_ANSWER_PK_LEN);
	if (sk && r->has_sk)
		memcpy(r->answer_sk, sk, HT_ANSWER_SK_LEN);
	get_str(&b, r->calling, HT_E164_BUF - 1);
	get_str(&b, r->called, HT_E164_BUF - 1);
	get_str(&b, r->to, HT_PROVIDER_ID_MAX);
	get_str(&b, r->origin, HT_PROVIDER_ID_MAX);
	get_str(&b, r->label, HT_LABEL_MAX);
	size_t n = (size_t)get_int(&b, 4);
	const uint8_t *req = get_bytes(&b, n);
	if (b.bad || r->n_answers > HT_CTL_TRACE_ANSWERS_MAX) {
		sodium_memzero(r, sizeof(*r));
		return HT_E_MALFORMED;
	}
	if (with_request) {
		if (!(r->request = malloc(n ? n : 1))) {
			sodium_memzero(r, sizeof(*r));
			return HT_E_NOMEM;
		}
		memcpy(r->request, req, n);
		r->request_len = n;
	}
	return HT_OK;
}

static int db_err(const hd_traces *t, const char *what, int rc)
{
	log_error("traces %s: %s: %s", t->path, what, mdb_strerror(rc));
	return rc == ENOMEM || rc == MDB_MAP_FULL ? HT_E_NOMEM : HT_E_IO;
}

static int put_rec(hd_traces *t, MDB_txn *txn, const hd_trace_rec *r, unsigned flags)
{
	uint8_t *v;
	size_t n;
	int rc = rec_encode(r, &v, &n);
	if (rc != HT_OK)
		return rc;
	MDB_val k = {HT_TRACE_ID_LEN, (void *)r->id}, val = {n, v};
	int mrc = mdb_put(txn, t->traces, &k, &val, flags);
	sodium_memzero(v, n);
	free(v);
	if (mrc == MDB_KEYEXIST)
		return HT_E_EXISTS;
	return mrc ? db_err(t, "write", mrc) : HT_OK;
}

static int get_rec(hd_traces *t, MDB_txn *txn, const uint8_t id[HT_TRACE_ID_LEN], hd_trace_rec *r,
		   bool with_request, bool *found)
{
	MDB_val k = {HT_TRACE_ID_LEN, (void *)id}, v;
	int rc = mdb_get(txn, t->traces, &k, &v);
	*found = rc == 0;
	if (rc == MDB_NOTFOUND)
		return HT_OK;
	if (rc)
		return db_err(t, "read", rc);
	rc = rec_decode(&k, &v, r, with_request);
	if (rc == HT_E_MALFORMED)
		log_error("traces %s: an undecodable trace record", t->path);
	return rc;
}

void hd_traces_close(hd_traces *t)
{
	if (!t)
		return;
	if (t->env)
		mdb_env_close(t->env);
	free(t->path);
	free(t);
}

/* Marks what an earlier run left running as interrupted, keeping its answers. */
static int mark_interrupted(hd_traces *t, uint64_t now_ms, size_t *count)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	*count = 0;
	int rc = mdb_txn_begin(t->env, NULL, 0, &txn);
	if (rc)
		return db_err(t, "begin", rc);
	if ((rc = mdb_cursor_open(txn, t->traces, &cur)) != 0) {
		mdb_txn_abort(txn);
		return db_err(t, "cursor", rc);
	}
	int hrc = HT_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && hrc == HT_OK;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		hd_trace_rec r;
		if (rec_decode(&k, &v, &r, true) != HT_OK || r.status != HD_TS_RUNNING) {
			hd_trace_rec_clear(&r);
			continue;
		}
		r.status = HD_TS_INTERRUPTED;
		r.finished_ms = now_ms;
		r.has_sk = false;
		uint8_t *nv;
		size_t n;
		hrc = rec_encode(&r, &nv, &n);
		if (hrc == HT_OK) {
			MDB_val val = {n, nv};
			if ((rc = mdb_cursor_put(cur, &k, &val, MDB_CURRENT)) != 0)
				hrc = db_err(t, "write", rc);
			free(nv);
		}
		if (hrc == HT_OK)
			(*count)++;
		hd_trace_rec_clear(&r);
	}
	mdb_cursor_close(cur);
	if (hrc == HT_OK && rc != MDB_NOTFOUND)
		hrc = db_err(t, "scan", rc);
	if (hrc != HT_OK) {
		mdb_txn_abort(txn);
		return hrc;
	}
	rc = mdb_txn_commit(txn);
	return rc ? db_err(t, "commit", rc) : HT_OK;
}

int hd_traces_open(hd_traces **out, const char *dir, uint64_t now_ms, size_t *interrupted)
{
	hd_traces *t = calloc(1, sizeof(*t));
	if (!t)
		return HT_E_NOMEM;
	size_t n = strlen(dir) + 16;
	if (!(t->path = malloc(n))) {
		free(t);
		return HT_E_NOMEM;
	}
	snprintf(t->path, n, "%s/traces.mdb", dir);
	MDB_txn *txn = NULL;
	int rc = mdb_env_create(&t->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(t->env, 3);
	if (!rc)
		rc = mdb_env_set_mapsize(t->env, TRACES_MAPSIZE);
	/* 0600: the records of running traces hold their answer secret keys. */
	if (!rc)
		rc = mdb_env_open(t->env, t->path, MDB_NOSUBDIR | MDB_NOTLS, 0600);
	if (!rc)
		rc = mdb_txn_begin(t->env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "traces", MDB_CREATE, &t->traces);
	if (!rc)
		rc = mdb_dbi_open(txn, "answers", MDB_CREATE, &t->answers);
	if (!rc)
		rc = mdb_dbi_open(txn, "by_time", MDB_CREATE, &t->by_time);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc) {
		if (txn)
			mdb_txn_abort(txn);
		int hrc = db_err(t, "open", rc);
		hd_traces_close(t);
		return hrc;
	}
	size_t count;
	int hrc = mark_interrupted(t, now_ms, &count);
	if (hrc != HT_OK) {
		hd_traces_close(t);
		return hrc;
	}
	if (interrupted)
		*interrupted = count;
	*out = t;
	return HT_OK;
}

/* Puts a new trace and its by_time entry in the open write transaction. */
static int create_in(hd_traces *t, MDB_txn *txn, const hd_trace_rec *r)
{
	int hrc = put_rec(t, txn, r, MDB_NOOVERWRITE);
	if (hrc == HT_OK) {
		uint8_t key[8 + HT_TRACE_ID_LEN];
		put_be(key, r->created_ms, 8);
		memcpy(key + 8, r->id, HT_TRACE_ID_LEN);
		MDB_val k = {sizeof(key), key}, v = {0, NULL};
		int rc = mdb_put(txn, t->by_time, &k, &v, 0);
		if (rc)
			hrc = db_err(t, "write", rc);
	}
	return hrc;
}

/* Commits `txn` (synced, unless nested) when `hrc` is HT_OK, else aborts it. */
static int txn_end(hd_traces *t, MDB_txn *txn, int hrc)
{
	if (hrc != HT_OK) {
		mdb_txn_abort(txn);
		return hrc;
	}
	int rc = mdb_txn_commit(txn);
	return rc ? db_err(t, "commit", rc) : HT_OK;
}

int hd_traces_create(hd_traces *t, const hd_trace_rec *r)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(t->env, NULL, 0, &txn);
	return rc ? db_err(t, "begin", rc) : txn_end(t, txn, create_in(t, txn, r));
}

/* An answer record: format, received_ms, sealed, verdict, the octets. */
static int put_answer(hd_traces *t, MDB_txn *txn, const uint8_t id[HT_TRACE_ID_LEN], uint32_t index,
		      const hd_trace_answer *a)
{
	struct buf b = {.cap = 1 + 8 + 1 + 1 + HD_VERDICT_MAX + 4 + a->len};
	if (!(b.p = malloc(b.cap)))
		return HT_E_NOMEM;
	put_int(&b, REC_FORMAT, 1);
	put_int(&b, a->received_ms, 8);
	put_int(&b, a->sealed, 1);
	put_str(&b, a->verdict, HD_VERDICT_MAX);
	put_int(&b, a->len, 4);
	put_bytes(&b, a->data, a->len);
	int hrc = b.bad ? HT_E_INVAL : HT_OK;
	if (hrc == HT_OK) {
		uint8_t key[HT_TRACE_ID_LEN + 4];
		memcpy(key, id, HT_TRACE_ID_LEN);
		put_be(key + HT_TRACE_ID_LEN, index, 4);
		MDB_val k = {sizeof(key), key}, v = {b.len, b.p};
		int rc = mdb_put(txn, t->answers, &k, &v, 0);
		if (rc)
			hrc = db_err(t, "write", rc);
	}
	free(b.p);
	return hrc;
}

/* What one write does to a trace: answers to append, and maybe its end. */
struct update {
	const uint8_t *id;
	const hd_trace_answer *a;
	const char *const *origins;
	size_t n;
	uint32_t dropped;
	int status; /* 0: still running */
	uint64_t finished_ms;
};

/* Applies `u` in the open write transaction; HT_E_INVAL for an unknown trace. */
static int update_in(hd_traces *t, MDB_txn *txn, const struct update *u)
{
	hd_trace_rec r;
	bool found;
	memset(&r, 0, sizeof(r));
	int hrc = get_rec(t, txn, u->id, &r, true, &found);
	if (hrc == HT_OK && !found)
		hrc = HT_E_INVAL;
	for (size_t i = 0; i < u->n && hrc == HT_OK; i++) {
		if (r.n_answers >= HT_CTL_TRACE_ANSWERS_MAX) {
			r.n_dropped++;
			continue;
		}
		hrc = put_answer(t, txn, u->id, r.n_answers, &u->a[i]);
		r.n_answers++;
		if (!r.origin[0] && u->origins && u->origins[i])
			snprintf(r.origin, sizeof(r.origin), "%s", u->origins[i]);
	}
	r.n_dropped += u->dropped;
	if (u->status) {
		r.status = u->status;
		r.finished_ms = u->finished_ms;
		r.has_sk = false;
	}
	if (hrc == HT_OK)
		hrc = put_rec(t, txn, &r, 0);
	hd_trace_rec_clear(&r);
	return hrc;
}

static int update_txn(hd_traces *t, const struct update *u)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(t->env, NULL, 0, &txn);
	return rc ? db_err(t, "begin", rc) : txn_end(t, txn, update_in(t, txn, u));
}

int hd_traces_add_answers(hd_traces *t, const uint8_t id[HT_TRACE_ID_LEN], const hd_trace_answer *a,
			  const char *const *origins, size_t n)
{
	struct update u = {.id = id, .a = a, .origins = origins, .n = n};
	return update_txn(t, &u);
}

int hd_traces_finish(hd_traces *t, const uint8_t id[HT_TRACE_ID_LEN], int status,
		     uint64_t finished_ms)
{
	if (status <= HD_TS_RUNNING)
		return HT_E_INVAL;
	struct update u = {.id = id, .status = status, .finished_ms = finished_ms};
	return update_txn(t, &u);
}

int hd_traces_get(hd_traces *t, const uint8_t id[HT_TRACE_ID_LEN], hd_trace_rec *out, bool *found)
{
	MDB_txn *txn;
	memset(out, 0, sizeof(*out));
	int rc = mdb_txn_begin(t->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return db_err(t, "begin", rc);
	int hrc = get_rec(t, txn, id, out, true, found);
	mdb_txn_abort(txn);
	return hrc;
}

int hd_traces_answers(hd_traces *t, const uint8_t id[HT_TRACE_ID_LEN], uint32_t from,
		      hd_trace_answer_fn fn, void *ud)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc = mdb_txn_begin(t->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return db_err(t, "begin", rc);
	if ((rc = mdb_cursor_open(txn, t->answers, &cur)) != 0) {
		mdb_txn_abort(txn);
		return db_err(t, "cursor", rc);
	}
	uint8_t seek[HT_TRACE_ID_LEN + 4];
	memcpy(seek, id, HT_TRACE_ID_LEN);
	put_be(seek + HT_TRACE_ID_LEN, from, 4);
	MDB_val k = {sizeof(seek), seek}, v;
	int hrc = HT_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != sizeof(seek) || memcmp(k.mv_data, id, HT_TRACE_ID_LEN) != 0)
			break;
		hd_trace_answer a;
		memset(&a, 0, sizeof(a));
		struct buf b = {.p = v.mv_data, .len = v.mv_size};
		bool fmt = get_int(&b, 1) == REC_FORMAT;
		a.received_ms = get_int(&b, 8);
		a.sealed = get_int(&b, 1) != 0;
		get_str(&b, a.verdict, HD_VERDICT_MAX);
		a.len = (size_t)get_int(&b, 4);
		a.data = get_bytes(&b, a.len);
		if (!fmt || b.bad) {
			log_error("traces %s: an undecodable answer record", t->path);
			continue;
		}
		uint32_t index = (uint32_t)get_be((const uint8_t *)k.mv_data + HT_TRACE_ID_LEN, 4);
		if (fn(ud, index, &a) != 0)
			break;
	}
	if (rc != 0 && rc != MDB_NOTFOUND)
		hrc = db_err(t, "scan", rc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return hrc;
}

int hd_traces_list(hd_traces *t, size_t limit, hd_trace_visit_fn fn, void *ud, bool *truncated)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	*truncated = false;
	int rc = mdb_txn_begin(t->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return db_err(t, "begin", rc);
	if ((rc = mdb_cursor_open(txn, t->by_time, &cur)) != 0) {
		mdb_txn_abort(txn);
		return db_err(t, "cursor", rc);
	}
	MDB_val k, v;
	size_t n = 0;
	int hrc = HT_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_LAST); rc == 0 && hrc == HT_OK;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		if (k.mv_size != 8 + HT_TRACE_ID_LEN)
			continue;
		if (n == limit) {
			*truncated = true;
			break;
		}
		hd_trace_rec r;
		bool found;
		hrc = get_rec(t, txn, (const uint8_t *)k.mv_data + 8, &r, false, &found);
		if (hrc == HT_E_MALFORMED)
			hrc = HT_OK; /* logged; list the others */
		else if (hrc == HT_OK && found) {
			fn(ud, &r);
			n++;
		}
		sodium_memzero(&r, sizeof(r));
	}
	if (hrc == HT_OK && rc != 0 && rc != MDB_NOTFOUND)
		hrc = db_err(t, "scan", rc);
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return hrc;
}

/* ==== The daemon's initiator ================================================= */

/* An answer waiting for its commit. */
struct pending {
	hd_trace_answer a; /* a.data points at buf */
	uint8_t *buf;
	char origin[HT_PROVIDER_ID_MAX + 1];
};

/*
 * A trace in memory, from trace start until its end is committed. What is
 * still to be written (need_create, pend, dropped, end_pending) is moved by
 * a batch into the w_ fields, which then belong to the worker thread until
 * the batch completes; the loop thread fills the others meanwhile.
 */
struct itrace {
	struct hd_initiator *in;
	uint8_t id[HT_TRACE_ID_LEN];
	uint8_t request_id[HT_MSG_ID_LEN];
	uint8_t pk[HT_ANSWER_PK_LEN], sk[HT_ANSWER_SK_LEN];
	uint64_t created_ms, expires_ms, call_time_ms;
	uint32_t tolerance_ms, hop_limit;
	char initiator[HT_PROVIDER_ID_MAX + 1];
	hd_trace_rec *rec; /* the record to create (with the request), until it is */
	hd_initiator_started_fn started_fn;
	void *started_ud;
	bool started;         /* the engine has it: its events may come */
	int status;           /* 0 while it runs, then how it ended */
	uint64_t finished_ms; /* when it ended (not when that was committed) */
	uv_timer_t timer;     /* the request's expiry, plus grace */
	bool has_timer, timer_closed;
	uint32_t n_answers; /* kept, committed or not */
	ht_answer_info *ok; /* the answers kept as "ok", in arrival order */
	size_t n_ok, cap_ok;
	/* To write in the next batch. */
	bool need_create, end_pending;
	struct pending *pend;
	size_t n_pend, cap_pend;
	uint32_t dropped; /* answers over the limit, not yet counted on disk */
	int fails;        /* batches in a row that could not write it */
	/* In the batch in flight. */
	bool in_batch, w_create;
	int w_status, w_rc;
	uint64_t w_finished_ms;
	uint32_t w_dropped;
	struct pending *w_pend;
	size_t w_n;
	struct itrace *w_next;
	struct itrace *next;
};

/* A read waiting for batch number `batch` to complete (hd_initiator_sync). */
struct waiter {
	hd_initiator_synced_fn fn;
	void *ud;
	uint64_t batch;
	struct waiter *next;
};

struct hd_initiator {
	struct hd_daemon *d;
	hd_traces *db;
	struct itrace *traces; /* every trace in memory, newest first */
	uv_timer_t flush;      /* answers wait at most HD_INITIATOR_FLUSH_MS */
	bool flush_closed, stopping;
	bool due;         /* start a batch as soon as none is in flight */
	bool dispatching; /* running a completed batch's callbacks */
	/* The batch in flight: one at a time, LMDB having one writer. */
	uv_work_t work;
	struct itrace *batch;
	bool inflight;
	int batch_rc;
	uint64_t n_started, n_done; /* batches */
	struct waiter *waiters, **waiters_tail;
};

static void hex_id(const uint8_t id[HT_TRACE_ID_LEN], char out[2 * HT_TRACE_ID_LEN + 1])
{
	sodium_bin2hex(out, 2 * HT_TRACE_ID_LEN + 1, id, HT_TRACE_ID_LEN);
}

static void pending_free(struct pending *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].buf);
}

static bool dirty(const struct itrace *it)
{
	return it->need_create || it->n_pend || it->dropped || it->end_pending;
}

static bool any_dirty(const struct hd_initiator *in)
{
	for (const struct itrace *it = in->traces; it; it = it->next)
		if (dirty(it))
			return true;
	return false;
}

/* Called last by the loop's callbacks: a stopped initiator goes once all is written. */
static void initiator_maybe_free(struct hd_initiator *in)
{
	if (in->stopping && in->flush_closed && !in->traces && !in->inflight && !in->waiters) {
		hd_traces_close(in->db);
		free(in);
	}
}

/* Frees a trace that has ended, once nothing of it is left to write. */
static void trace_maybe_free(struct itrace *it)
{
	if (!it->status || it->in_batch || dirty(it) || (it->has_timer && !it->timer_closed))
		return;
	struct hd_initiator *in = it->in;
	for (struct itrace **pp = &in->traces; *pp; pp = &(*pp)->next) {
		if (*pp == it) {
			*pp = it->next;
			break;
		}
	}
	pending_free(it->pend, it->n_pend);
	free(it->pend);
	free(it->ok);
	if (it->rec) {
		hd_trace_rec_clear(it->rec);
		free(it->rec);
	}
	sodium_memzero(it, sizeof(*it));
	free(it);
}

static void on_trace_closed(uv_handle_t *h)
{
	struct itrace *it = h->data;
	struct hd_initiator *in = it->in;
	it->timer_closed = true;
	trace_maybe_free(it);
	initiator_maybe_free(in);
}

static void on_flush_closed(uv_handle_t *h)
{
	struct hd_initiator *in = h->data;
	in->flush_closed = true;
	initiator_maybe_free(in);
}

/* ---- the batches: every write, on the thread pool ---- */

/* One trace's part of a batch, in a nested transaction: a bad part undoes only itself. */
static int write_one(hd_traces *t, MDB_txn *parent, const struct itrace *it)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(t->env, parent, 0, &txn);
	if (rc)
		return db_err(t, "begin", rc);
	int hrc = it->w_create ? create_in(t, txn, it->rec) : HT_OK;
	if (hrc == HT_OK && (it->w_n || it->w_dropped || it->w_status)) {
		size_t n = it->w_n ? it->w_n : 1;
		hd_trace_answer *as = calloc(n, sizeof(*as));
		const char **origins = calloc(n, sizeof(*origins));
		hrc = as && origins ? HT_OK : HT_E_NOMEM;
		for (size_t i = 0; i < it->w_n && hrc == HT_OK; i++) {
			as[i] = it->w_pend[i].a;
			origins[i] = it->w_pend[i].origin;
		}
		struct update u = {.id = it->id,
				   .a = as,
				   .origins = origins,
				   .n = it->w_n,
				   .dropped = it->w_dropped,
				   .status = it->w_status,
				   .finished_ms = it->w_finished_ms};
		if (hrc == HT_OK)
			hrc = update_in(t, txn, &u);
		free(as);
		free(origins);
	}
	return txn_end(t, txn, hrc);
}

/* The worker: the whole batch in one write transaction, committed and synced once. */
static void batch_work(uv_work_t *w)
{
	struct hd_initiator *in = w->data;
	hd_traces *t = in->db;
	MDB_txn *txn;
	int rc = mdb_txn_begin(t->env, NULL, 0, &txn);
	if (rc) {
		in->batch_rc = db_err(t, "begin", rc);
		return;
	}
	for (struct itrace *it = in->batch; it; it = it->w_next)
		it->w_rc = write_one(t, txn, it);
	in->batch_rc = txn_end(t, txn, HT_OK);
}

/* Moves what `it` has to write into the batch being made. */
static void batch_take(struct itrace *it)
{
	it->in_batch = true;
	it->w_create = it->need_create;
	it->need_create = false;
	it->w_pend = it->pend;
	it->w_n = it->n_pend;
	it->pend = NULL;
	it->n_pend = it->cap_pend = 0;
	it->w_dropped = it->dropped;
	it->dropped = 0;
	it->w_status = it->end_pending ? it->status : 0;
	it->w_finished_ms = it->finished_ms;
	it->end_pending = false;
}

static void batch_done(uv_work_t *w, int status);
static void on_flush(uv_timer_t *t);

/* Sends everything there is to write to the pool as one batch, unless one is in flight. */
static void batch_start(struct hd_initiator *in)
{
	if (in->inflight || in->dispatching || !in->due)
		return;
	in->due = false;
	struct itrace *head = NULL, **tail = &head;
	for (struct itrace *it = in->traces; it; it = it->next) {
		if (dirty(it)) {
			batch_take(it);
			*tail = it;
			tail = &it->w_next;
		}
	}
	if (!head)
		return;
	if (!in->flush_closed)
		uv_timer_stop(&in->flush); /* what waited goes now */
	in->batch = head;
	in->inflight = true;
	in->n_started++;
	in->work.data = in;
	/* It cannot fail: libuv refuses only a NULL work function. */
	(void)uv_queue_work(in->d->loop, &in->work, batch_work, batch_done);
}

/* The batch in flight is done: the writes of `it` failed with `rc`. */
static void write_failed(struct itrace *it, int rc)
{
	char hex[2 * HT_TRACE_ID_LEN + 1];
	hex_id(it->id, hex);
	it->fails++;
	if (it->status && it->fails >= HD_INITIATOR_RETRIES) {
		log_error("trace %s: %zu answers%s not stored after %d tries: %s", hex, it->w_n,
			  it->w_status ? " and its end" : "", it->fails, ht_strerror(rc));
		pending_free(it->w_pend, it->w_n);
		free(it->w_pend);
		it->w_pend = NULL;
		it->w_n = 0;
		return;
	}
	log_error("trace %s: cannot store %zu answers%s, will try again: %s", hex, it->w_n,
		  it->w_status ? " and its end" : "", ht_strerror(rc));
	/* Back in front of what arrived meanwhile, for the next batch. */
	if (it->w_n) {
		struct pending *all = realloc(it->w_pend, (it->w_n + it->n_pend) * sizeof(*all));
		if (!all) {
			log_error("trace %s: out of memory: %zu answers lost", hex, it->w_n);
			pending_free(it->w_pend, it->w_n);
			free(it->w_pend);
		} else {
			if (it->n_pend)
				memcpy(all + it->w_n, it->pend, it->n_pend * sizeof(*all));
			free(it->pend);
			it->pend = all;
			it->n_pend += it->w_n;
			it->cap_pend = it->n_pend;
		}
	}
	it->w_pend = NULL;
	it->w_n = 0;
	it->dropped += it->w_dropped;
	if (it->w_status)
		it->end_pending = true;
}

static void trace_created(struct itrace *it, int rc);

/* Calls the reads waiting for a batch now done (all of them when nothing is left to write). */
static void fire_waiters(struct hd_initiator *in)
{
	bool idle = !in->inflight && !any_dirty(in);
	struct waiter *ready = NULL, **rt = &ready;
	for (struct waiter **pp = &in->waiters; *pp;) {
		struct waiter *w = *pp;
		if (idle || w->batch <= in->n_done) {
			*pp = w->next;
			w->next = NULL;
			*rt = w;
			rt = &w->next;
		} else {
			pp = &w->next;
		}
	}
	in->waiters_tail = &in->waiters;
	while (*in->waiters_tail)
		in->waiters_tail = &(*in->waiters_tail)->next;
	for (struct waiter *w = ready, *next; w; w = next) {
		next = w->next;
		w->fn(w->ud);
		free(w);
	}
}

static void batch_done(uv_work_t *w, int status)
{
	struct hd_initiator *in = w->data;
	int brc = status == 0 ? in->batch_rc : HT_E_IO;
	struct itrace *batch = in->batch;
	bool failed = false;
	in->batch = NULL;
	in->inflight = false;
	in->n_done++;
	/* Callbacks may start traces, end them or ask to sync: batch_start waits till after. */
	in->dispatching = true;
	for (struct itrace *it = batch, *next; it; it = next) {
		next = it->w_next;
		it->w_next = NULL;
		it->in_batch = false;
		int rc = brc != HT_OK ? brc : it->w_rc;
		if (it->w_create) {
			trace_created(it, rc);
		} else if (rc != HT_OK) {
			write_failed(it, rc);
			failed = true;
		} else {
			pending_free(it->w_pend, it->w_n);
			free(it->w_pend);
			it->w_pend = NULL;
			it->w_n = 0;
			it->fails = 0;
		}
		trace_maybe_free(it);
	}
	in->dispatching = false;
	/* A failed write is tried again a flush interval later (at once when stopping). */
	if (failed && in->stopping)
		in->due = true;
	else if (failed && !uv_is_active((uv_handle_t *)&in->flush))
		uv_timer_start(&in->flush, on_flush, HD_INITIATOR_FLUSH_MS, 0);
	batch_start(in);
	fire_waiters(in);
	initiator_maybe_free(in);
}

static void on_flush(uv_timer_t *t)
{
	struct hd_initiator *in = t->data;
	in->due = true;
	batch_start(in);
}

static struct itrace *find_running(struct hd_initiator *in, const uint8_t id[HT_TRACE_ID_LEN])
{
	for (struct itrace *it = in->traces; it; it = it->next)
		if (it->started && !it->status && memcmp(it->id, id, HT_TRACE_ID_LEN) == 0)
			return it;
	return NULL;
}

/*
 * Ends a running trace now (finished_ms): its last answers and its end go
 * in the next batch, which starts at once; its key is dropped.
 */
static void trace_end(struct itrace *it, int status, bool cancel)
{
	struct hd_initiator *in = it->in;
	char hex[2 * HT_TRACE_ID_LEN + 1];
	if (it->status)
		return;
	hex_id(it->id, hex);
	if (cancel)
		hd_trace_local_cancel(in->d, it->id);
	it->status = status;
	it->finished_ms = hd_now_ms();
	it->end_pending = true;
	log_info("trace %s %s: %u answers", hex, hd_trace_status_name(status), it->n_answers);
	sodium_memzero(it->sk, sizeof(it->sk));
	if (it->has_timer) {
		uv_timer_stop(&it->timer);
		uv_close((uv_handle_t *)&it->timer, on_trace_closed);
	}
	in->due = true;
	batch_start(in);
}

static void on_expired(uv_timer_t *t)
{
	trace_end(t->data, HD_TS_TIMED_OUT, true);
}

/* The verdict for an answer that fails `err`: the error token (spec 10.1). */
static const char *verdict_for(int err)
{
	return ht_errname(err);
}

/* Doubles the array at *arr (of *cap entries of `size` octets); false when out of memory. */
static bool grow(void **arr, size_t *cap, size_t size)
{
	size_t nc = *cap ? 2 * *cap : 8;
	void *n = realloc(*arr, nc * size);
	if (!n)
		return false;
	*arr = n;
	*cap = nc;
	return true;
}

/*
 * Whether two answers make the same statement (a replay, a relay's copy):
 * one provider, one hop, one status; refusals are per asker and dead ends
 * per upstream. The rules here and in linked() are ht_bundle_verify's, so
 * that the answers kept as "ok" also verify as evidence.
 */
static bool same_statement(const ht_answer_info *a, const ht_answer_info *b)
{
	if (a->hop != b->hop || a->status != b->status || strcmp(a->provider_id, b->provider_id))
		return false;
	if (a->status == HT_ANSWER_REFUSED)
		return strcmp(a->asked_by, b->asked_by) == 0;
	if (a->status == HT_ANSWER_DEAD_END)
		return strcmp(a->upstream, b->upstream) == 0;
	return true;
}

static const ht_answer_info *found_of(const struct itrace *it, const char *provider, uint32_t hop)
{
	for (size_t j = 0; j < it->n_ok; j++)
		if (it->ok[j].status == HT_ANSWER_FOUND && it->ok[j].hop == hop &&
		    strcmp(it->ok[j].provider_id, provider) == 0)
			return &it->ok[j];
	return NULL;
}

/* The call of FOUND answer `f` that `upstream` handed on, or NULL. */
static const ht_matched_call *call_from(const ht_answer_info *f, const char *upstream)
{
	for (size_t k = 0; k < f->n_calls; k++)
		if (!f->calls[k].originated_here && strcmp(f->calls[k].upstream, upstream) == 0)
			return &f->calls[k];
	return NULL;
}

/*
 * Whether `a` hangs below what is kept: hop 0 was asked by the initiator;
 * any other hop by a provider whose FOUND answer one hop down names it as
 * an upstream, with the window time of that call; a dead end belongs to its
 * provider's FOUND answer (or is the initiator's own, for a terminating
 * carrier it could not reach). Hops answer before they forward, and relays
 * keep the order, so a good answer's parent has always arrived first.
 */
static bool linked(const struct itrace *it, const ht_answer_info *a)
{
	if (a->status == HT_ANSWER_DEAD_END) {
		const ht_answer_info *f = found_of(it, a->provider_id, a->hop);
		if (f)
			return call_from(f, a->upstream) && strcmp(f->asked_by, a->asked_by) == 0;
		if (a->hop != 0 || strcmp(a->provider_id, it->initiator) ||
		    strcmp(a->asked_by, it->initiator) || !strcmp(a->upstream, it->initiator))
			return false;
		for (size_t j = 0; j < it->n_ok; j++)
			if (it->ok[j].hop == 0 &&
			    (strcmp(it->ok[j].provider_id, it->initiator) == 0
				     ? it->ok[j].status != HT_ANSWER_DEAD_END
				     : strcmp(it->ok[j].provider_id, a->upstream) != 0))
				return false;
		return true;
	}
	if (a->hop == 0)
		return strcmp(a->asked_by, it->initiator) == 0;
	const ht_answer_info *f = found_of(it, a->asked_by, a->hop - 1);
	if (!f)
		return false;
	for (size_t k = 0; k < f->n_calls; k++)
		if (!f->calls[k].originated_here &&
		    strcmp(f->calls[k].upstream, a->provider_id) == 0 &&
		    f->calls[k].record_time_ms == a->window_time_ms)
			return true;
	return false;
}

static void set_verdict(struct pending *p, const char *v)
{
	snprintf(p->a.verdict, sizeof(p->a.verdict), "%s", v);
}

/*
 * Judges one opened answer: it parses, verifies against our trust and this
 * request, was signed at a time that fits the trace, says nothing already
 * kept, and hangs below the answers kept. Sets the verdict and, for a good
 * FOUND answer with a call originated at its hop, the origin.
 */
static void judge(struct itrace *it, const uint8_t *env, size_t len, struct pending *p)
{
	struct hd_daemon *d = it->in->d;
	ht_answer *a = NULL;
	int rc = ht_answer_parse(env, len, &a);
	if (rc == HT_OK)
		rc = ht_answer_verify(a, d->trust, it->request_id);
	if (rc != HT_OK) {
		set_verdict(p, verdict_for(rc));
		ht_answer_free(a);
		return;
	}
	const ht_answer_info *ai = ht_answer_get(a);
	/* Step 15 of spec 11.7.4, as ht_bundle_verify checks it. */
	const ht_request_info ri = {.created_ms = it->created_ms, .expires_ms = it->expires_ms};
	bool dup = false;
	for (size_t i = 0; i < it->n_ok && !dup; i++)
		dup = same_statement(&it->ok[i], ai);
	if (ht_answer_check_time(ai, &ri) != HT_OK)
		set_verdict(p, HD_VERDICT_BAD_TIME);
	else if (dup)
		set_verdict(p, HD_VERDICT_DUPLICATE);
	else if (!linked(it, ai))
		set_verdict(p, HD_VERDICT_UNLINKED);
	else if (it->n_ok == it->cap_ok && !grow((void **)&it->ok, &it->cap_ok, sizeof(*it->ok)))
		set_verdict(p, "internal");
	else {
		it->ok[it->n_ok++] = *ai;
		set_verdict(p, HD_VERDICT_OK);
		if (ai->status == HT_ANSWER_FOUND)
			for (size_t i = 0; i < ai->n_calls; i++)
				if (ai->calls[i].originated_here) {
					snprintf(p->origin, sizeof(p->origin), "%s",
						 ai->provider_id);
					break;
				}
	}
	ht_answer_free(a);
}

static void log_answer(const struct itrace *it, const struct pending *p)
{
	char hex[2 * HT_TRACE_ID_LEN + 1];
	hex_id(it->id, hex);
	ht_answer *a = NULL;
	if (!p->a.sealed && ht_answer_parse(p->a.data, p->a.len, &a) == HT_OK) {
		const ht_answer_info *ai = ht_answer_get(a);
		bool ok = strcmp(p->a.verdict, HD_VERDICT_OK) == 0;
		hd_log(ok ? HD_LOG_INFO : HD_LOG_WARN, "trace %s: hop %u %s %s%s%s: %s%s", hex,
		       ai->hop, ai->provider_id, ht_answer_status_name(ai->status),
		       ai->upstream[0] ? " " : "", ai->upstream, ok ? "" : "rejected, ",
		       p->a.verdict);
		ht_answer_free(a);
	} else {
		log_warn("trace %s: answer %u rejected: %s", hex, it->n_answers, p->a.verdict);
	}
}

static void on_answer(struct itrace *it, const uint8_t *sealed, size_t len)
{
	struct hd_initiator *in = it->in;
	if (it->n_answers >= HT_CTL_TRACE_ANSWERS_MAX) {
		it->dropped++;
		return;
	}
	if (it->n_pend == it->cap_pend &&
	    !grow((void **)&it->pend, &it->cap_pend, sizeof(*it->pend))) {
		it->dropped++;
		return;
	}
	struct pending *p = &it->pend[it->n_pend];
	memset(p, 0, sizeof(*p));
	uint64_t now = hd_now_ms();
	p->a.received_ms = now;
	uint8_t *env;
	size_t env_len;
	if (ht_unseal(sealed, len, it->pk, it->sk, &env, &env_len) == HT_OK) {
		judge(it, env, env_len, p);
		p->buf = env;
		p->a.len = env_len;
	} else {
		/* Kept as received: what a relay sent that was not sealed to us. */
		snprintf(p->a.verdict, sizeof(p->a.verdict), HD_VERDICT_UNDECRYPTABLE);
		p->a.sealed = true;
		if (!(p->buf = malloc(len ? len : 1))) {
			it->dropped++;
			return;
		}
		memcpy(p->buf, sealed, len);
		p->a.len = len;
	}
	p->a.data = p->buf;
	log_answer(it, p);
	it->n_pend++;
	it->n_answers++;
	if (!in->flush_closed && !uv_is_active((uv_handle_t *)&in->flush))
		uv_timer_start(&in->flush, on_flush, HD_INITIATOR_FLUSH_MS, 0);
}

void hd_initiator_on_event(void *ud, const uint8_t trace_id[16], enum hd_trace_event ev,
			   const uint8_t *sealed, size_t len)
{
	struct hd_initiator *in = ud;
	struct itrace *it = find_running(in, trace_id);
	if (!it) {
		char hex[2 * HT_TRACE_ID_LEN + 1];
		hex_id(trace_id, hex);
		log_debug("trace %s: an event after it ended, dropped", hex);
		return;
	}
	if (ev == HD_TRACE_EV_ANSWER)
		on_answer(it, sealed, len);
	else if (ev == HD_TRACE_EV_COMPLETE)
		trace_end(it, HD_TS_COMPLETE, false);
}

hd_traces *hd_initiator_traces(struct hd_daemon *d)
{
	struct hd_initiator *in = d->initiator;
	return in ? in->db : NULL;
}

int hd_initiator_init(struct hd_daemon *d)
{
	struct hd_initiator *in = calloc(1, sizeof(*in));
	if (!in)
		return HT_E_NOMEM;
	size_t interrupted = 0;
	int rc = hd_traces_open(&in->db, d->cfg.state_dir, hd_now_ms(), &interrupted);
	if (rc != HT_OK) {
		free(in);
		return rc;
	}
	if (interrupted)
		log_warn("traces: %zu traces left running by the last run marked interrupted",
			 interrupted);
	in->d = d;
	in->waiters_tail = &in->waiters;
	uv_timer_init(d->loop, &in->flush);
	in->flush.data = in;
	d->initiator = in;
	return HT_OK;
}

void hd_initiator_fini(struct hd_daemon *d)
{
	struct hd_initiator *in = d->initiator;
	if (!in)
		return;
	d->initiator = NULL;
	in->stopping = true;
	for (struct itrace *it = in->traces; it; it = it->next)
		if (it->started && !it->status)
			trace_end(it, HD_TS_INTERRUPTED, true);
	/* What is still to write goes now; the database closes once it is written. */
	uv_close((uv_handle_t *)&in->flush, on_flush_closed);
	in->due = true;
	batch_start(in);
}

int hd_initiator_sync(struct hd_daemon *d, hd_initiator_synced_fn fn, void *ud, bool *later)
{
	struct hd_initiator *in = d->initiator;
	*later = false;
	if (!in)
		return HT_E_INVAL;
	bool more = any_dirty(in);
	if (!more && !in->inflight)
		return HT_OK;
	struct waiter *w = malloc(sizeof(*w));
	if (!w)
		return HT_E_NOMEM;
	w->fn = fn;
	w->ud = ud;
	/* What is held now goes in the next batch, or is in the one in flight. */
	w->batch = in->n_started + (more ? 1 : 0);
	w->next = NULL;
	*in->waiters_tail = w;
	in->waiters_tail = &w->next;
	*later = true;
	if (more) {
		in->due = true;
		batch_start(in);
	}
	return HT_OK;
}

/* The batch that created `it` is done: start it in the engine and say so. */
static void trace_created(struct itrace *it, int rc)
{
	struct hd_initiator *in = it->in;
	char hex[2 * HT_TRACE_ID_LEN + 1], why[256] = "";
	hex_id(it->id, hex);
	hd_trace_rec *rec = it->rec;
	it->rec = NULL;
	pending_free(it->w_pend, it->w_n); /* none: answers come after the start */
	free(it->w_pend);
	it->w_pend = NULL;
	it->w_n = 0;
	if (rc != HT_OK) {
		/* Not stored, never sent: it is forgotten. */
		snprintf(why, sizeof(why), "cannot store the trace: %s", ht_strerror(rc));
		log_error("trace %s: %s", hex, why);
		it->status = HD_TS_FAILED;
		sodium_memzero(it->sk, sizeof(it->sk));
	} else if (in->stopping) {
		rc = HT_E_INVAL;
		snprintf(why, sizeof(why), "the daemon is stopping");
		it->status = HD_TS_INTERRUPTED;
		it->finished_ms = hd_now_ms();
		it->end_pending = true;
		in->due = true; /* batch_done starts it */
		sodium_memzero(it->sk, sizeof(it->sk));
	} else {
		uint64_t now = hd_now_ms();
		uv_timer_init(in->d->loop, &it->timer);
		it->timer.data = it;
		it->has_timer = true;
		uv_timer_start(&it->timer, on_expired,
			       (it->expires_ms > now ? it->expires_ms - now : 0) +
				       HD_INITIATOR_GRACE_MS,
			       0);
		it->started = true;
		rc = hd_trace_local_start(in->d, rec->request, rec->request_len,
					  rec->to[0] ? rec->to : NULL, hd_initiator_on_event, in);
		if (rc != HT_OK) {
			snprintf(why, sizeof(why), "the trace engine did not start trace %s: %s",
				 hex, ht_strerror(rc));
			trace_end(it, HD_TS_FAILED, false);
		} else {
			log_info("trace %s started%s%s: call at %llu ms +/- %u ms, hop limit %u",
				 hex, rec->to[0] ? " via " : "", rec->to,
				 (unsigned long long)it->call_time_ms, it->tolerance_ms,
				 it->hop_limit);
		}
	}
	hd_trace_rec_clear(rec);
	free(rec);
	it->started_fn(it->started_ud, rc, it->id, why);
}

int hd_initiator_start(struct hd_daemon *d, const ht_ctl_trace_start *q, hd_initiator_started_fn fn,
		       void *ud, char *why, size_t whylen)
{
	struct hd_initiator *in = d->initiator;
	const char *cc = d->cfg.country_code;
	char calling[HT_E164_BUF], called[HT_E164_BUF];
	ht_e164_reason r1 = HT_E164_OK, r2 = HT_E164_OK;
	if (!in) {
		snprintf(why, whylen, "the daemon is stopping");
		return HT_E_INVAL;
	}
	if (!(ht_cert_get_info(d->my_cert)->roles & HT_ROLE_INITIATOR)) {
		snprintf(why, whylen,
			 "this daemon's certificate does not have the initiator role: only "
			 "initiators start traces");
		return HT_E_MISSING_ROLE;
	}
	if (ht_e164_normalize_why(q->calling, strlen(q->calling), cc, calling, &r1) != HT_OK ||
	    ht_e164_normalize_why(q->called, strlen(q->called), cc, called, &r2) != HT_OK) {
		snprintf(why, whylen, "the %s number '%s' does not normalise to E.164: %s",
			 r1 != HT_E164_OK ? "calling" : "called",
			 r1 != HT_E164_OK ? q->calling : q->called,
			 ht_e164_reason_text(r1 != HT_E164_OK ? r1 : r2));
		return HT_E_INVAL;
	}
	if (q->time_ms == 0) {
		snprintf(why, whylen, "the call time is missing");
		return HT_E_INVAL;
	}
	if (q->to[0] &&
	    (strcmp(q->to, d->cfg.provider_id) == 0 || !hd_config_peer(&d->cfg, q->to))) {
		snprintf(why, whylen, "'%s' is not one of this daemon's configured peers", q->to);
		return HT_E_NOT_A_PEER;
	}

	uint8_t pk[HT_ANSWER_PK_LEN], sk[HT_ANSWER_SK_LEN];
	crypto_box_keypair(pk, sk);
	/* The trace's time starts here: its synced create is part of it. */
	uint64_t now = hd_now_ms();
	ht_request_params p = {
		.calling = calling,
		.called = called,
		.created_ms = now,
		.expires_ms = now + (uint64_t)d->cfg.trace.lifetime_s * 1000,
		.call_time_ms = q->time_ms,
		.tolerance_ms = q->tolerance_ms ? q->tolerance_ms : d->cfg.trace.tolerance_ms,
		.hop_limit = d->cfg.trace.hop_limit,
		.hint_bits = d->cfg.trace.hint_bits,
		.label = q->label[0] ? q->label : NULL,
		.answer_pk = pk,
	};
	uint8_t *req = NULL;
	size_t req_len = 0;
	ht_request *r = NULL;
	struct itrace *it = NULL;
	hd_trace_rec *rec = calloc(1, sizeof(*rec));
	int rc = rec ? ht_request_build(&p, &d->keys, d->cert, d->cert_len, &req, &req_len)
		     : HT_E_NOMEM;
	if (rc == HT_OK)
		rc = ht_request_parse(req, req_len, &r);
	if (rc != HT_OK) {
		snprintf(why, whylen, "cannot build the request: %s", ht_strerror(rc));
		goto out;
	}
	if (!(it = calloc(1, sizeof(*it)))) {
		rc = HT_E_NOMEM;
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	const ht_request_info *ri = ht_request_get(r);
	memcpy(rec->id, ri->trace_id, HT_TRACE_ID_LEN);
	rec->status = HD_TS_RUNNING;
	rec->created_ms = ri->created_ms;
	rec->call_time_ms = ri->call_time_ms;
	rec->started_ms = now;
	rec->has_sk = true;
	memcpy(rec->answer_pk, pk, sizeof(pk));
	memcpy(rec->answer_sk, sk, sizeof(sk));
	memcpy(rec->calling, calling, sizeof(calling));
	memcpy(rec->called, called, sizeof(called));
	snprintf(rec->to, sizeof(rec->to), "%s", q->to);
	snprintf(rec->label, sizeof(rec->label), "%s", ri->label);
	rec->request = req;
	rec->request_len = req_len;
	req = NULL;

	it->in = in;
	memcpy(it->id, rec->id, HT_TRACE_ID_LEN);
	memcpy(it->request_id, ht_request_id(r), HT_MSG_ID_LEN);
	memcpy(it->pk, pk, sizeof(pk));
	memcpy(it->sk, sk, sizeof(sk));
	it->created_ms = ri->created_ms;
	it->expires_ms = ri->expires_ms;
	it->call_time_ms = ri->call_time_ms;
	it->tolerance_ms = ri->tolerance_ms;
	it->hop_limit = ri->hop_limit;
	snprintf(it->initiator, sizeof(it->initiator), "%s", ri->initiator_id);
	it->started_fn = fn;
	it->started_ud = ud;
	/* Durable before anyone sees the request: the engine gets it once this is written. */
	it->rec = rec;
	rec = NULL;
	it->need_create = true;
	it->next = in->traces;
	in->traces = it;
	it = NULL;
	in->due = true;
	batch_start(in);
out:
	free(it);
	free(req);
	ht_request_free(r);
	if (rec) {
		hd_trace_rec_clear(rec);
		free(rec);
	}
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

/* ---- show, list, export ---------------------------------------------------- */

static int find_trace(struct hd_initiator *in, const uint8_t id[HT_TRACE_ID_LEN], hd_trace_rec *rec,
		      char *why, size_t whylen)
{
	bool found = false;
	int rc = hd_traces_get(in->db, id, rec, &found);
	if (rc == HT_OK && !found) {
		char hex[2 * HT_TRACE_ID_LEN + 1];
		hex_id(id, hex);
		snprintf(why, whylen, "no trace %s was started here", hex);
		return HT_E_INVAL;
	}
	if (rc != HT_OK)
		snprintf(why, whylen, "cannot read the traces: %s", ht_strerror(rc));
	return rc;
}

/* Copies a provider ID if it is one (stored answers are ours, but checked). */
static void copy_id(char *dst, const char *src)
{
	size_t n = strlen(src);
	if (n <= HT_PROVIDER_ID_MAX && (n == 0 || ht_provider_id_valid(src, n)))
		memcpy(dst, src, n + 1);
	else
		dst[0] = 0;
}

static void fill_hop(ht_ctl_hop *h, const hd_trace_answer *a)
{
	memset(h, 0, sizeof(*h));
	h->received_ms = a->received_ms;
	ht_ctl_text_clean(h->verdict, sizeof(h->verdict), a->verdict, strlen(a->verdict));
	ht_answer *ans = NULL;
	if (a->sealed || ht_answer_parse(a->data, a->len, &ans) != HT_OK)
		return;
	const ht_answer_info *ai = ht_answer_get(ans);
	copy_id(h->provider_id, ai->provider_id);
	copy_id(h->asked_by, ai->asked_by);
	copy_id(h->upstream, ai->upstream);
	h->hop = ai->hop;
	snprintf(h->status, sizeof(h->status), "%s", ht_answer_status_name(ai->status));
	if (ai->reason)
		snprintf(h->reason, sizeof(h->reason), "%s", ht_reason_name(ai->reason));
	h->answered_ms = ai->answered_ms;
	h->window_time_ms = ai->window_time_ms;
	h->n_calls = ai->n_calls < HT_CTL_HOP_CALLS_MAX ? ai->n_calls : HT_CTL_HOP_CALLS_MAX;
	for (size_t i = 0; i < h->n_calls; i++) {
		const ht_matched_call *c = &ai->calls[i];
		ht_ctl_hop_call *o = &h->calls[i];
		copy_id(o->upstream, c->upstream);
		o->originated_here = c->originated_here;
		ht_ctl_text_clean(o->customer_ref, sizeof(o->customer_ref), c->customer_ref,
				  strlen(c->customer_ref));
		o->record_time_ms = c->record_time_ms;
		o->attestation = c->attestation >= 1 && c->attestation <= 3
					 ? (char)('A' + c->attestation - 1)
					 : 0;
		o->has_origid = c->has_origid;
		memcpy(o->origid, c->origid, sizeof(o->origid));
	}
	ht_answer_free(ans);
}

struct hops_out {
	ht_ctl_trace *t;
	size_t cap;
};

static int add_hop(void *ud, uint32_t index, const hd_trace_answer *a)
{
	struct hops_out *o = ud;
	(void)index;
	if (o->t->n_answers == o->cap)
		return 1;
	fill_hop(&o->t->answers[o->t->n_answers++], a);
	return 0;
}

int hd_initiator_show(struct hd_daemon *d, const uint8_t id[HT_TRACE_ID_LEN], uint32_t from,
		      ht_ctl_trace *out, char *why, size_t whylen)
{
	struct hd_initiator *in = d->initiator;
	hd_trace_rec rec;
	memset(out, 0, sizeof(*out));
	if (!in) {
		snprintf(why, whylen, "the daemon is stopping");
		return HT_E_INVAL;
	}
	int rc = find_trace(in, id, &rec, why, whylen);
	if (rc != HT_OK)
		return rc;
	memcpy(out->trace_id, rec.id, HT_TRACE_ID_LEN);
	memcpy(out->calling, rec.calling, sizeof(out->calling));
	memcpy(out->called, rec.called, sizeof(out->called));
	copy_id(out->to, rec.to);
	ht_ctl_text_clean(out->label, sizeof(out->label), rec.label, strlen(rec.label));
	snprintf(out->status, sizeof(out->status), "%s", hd_trace_status_name(rec.status));
	out->call_time_ms = rec.call_time_ms;
	out->created_ms = rec.created_ms;
	out->started_ms = rec.started_ms;
	out->finished_ms = rec.finished_ms;
	out->answers_total = rec.n_answers;
	out->answers_dropped = rec.n_dropped;
	out->from = from < rec.n_answers ? from : rec.n_answers;
	ht_request *r;
	if (ht_request_parse(rec.request, rec.request_len, &r) == HT_OK) {
		const ht_request_info *ri = ht_request_get(r);
		copy_id(out->initiator, ri->initiator_id);
		out->tolerance_ms = ri->tolerance_ms;
		out->hop_limit = ri->hop_limit;
		out->expires_ms = ri->expires_ms;
		ht_request_free(r);
	}
	struct hops_out o = {out, rec.n_answers - out->from};
	hd_trace_rec_clear(&rec);
	if (o.cap == 0)
		return HT_OK;
	if (!(out->answers = calloc(o.cap, sizeof(*out->answers)))) {
		snprintf(why, whylen, "out of memory");
		return HT_E_NOMEM;
	}
	rc = hd_traces_answers(in->db, id, out->from, add_hop, &o);
	if (rc != HT_OK) {
		snprintf(why, whylen, "cannot read the answers: %s", ht_strerror(rc));
		free(out->answers);
		out->answers = NULL;
		out->n_answers = 0;
	}
	return rc;
}

struct list_out {
	ht_ctl_trace_list *l;
	size_t cap;
};

static void add_entry(void *ud, const hd_trace_rec *r)
{
	struct list_out *o = ud;
	if (o->l->n == o->cap)
		return;
	ht_ctl_trace_entry *e = &o->l->entries[o->l->n++];
	memcpy(e->trace_id, r->id, HT_TRACE_ID_LEN);
	e->created_ms = r->created_ms;
	e->call_time_ms = r->call_time_ms;
	snprintf(e->status, sizeof(e->status), "%s", hd_trace_status_name(r->status));
	e->answers = r->n_answers;
	copy_id(e->origin, r->origin);
	ht_ctl_text_clean(e->label, sizeof(e->label), r->label, strlen(r->label));
}

int hd_initiator_list(struct hd_daemon *d, uint32_t limit, ht_ctl_trace_list *out, char *why,
		      size_t whylen)
{
	struct hd_initiator *in = d->initiator;
	memset(out, 0, sizeof(*out));
	if (!in) {
		snprintf(why, whylen, "the daemon is stopping");
		return HT_E_INVAL;
	}
	if (limit == 0 || limit > HT_CTL_TRACE_LIST_MAX)
		limit = limit ? HT_CTL_TRACE_LIST_MAX : HT_CTL_TRACE_LIST_DEFAULT;
	if (!(out->entries = calloc(limit, sizeof(*out->entries)))) {
		snprintf(why, whylen, "out of memory");
		return HT_E_NOMEM;
	}
	struct list_out o = {out, limit};
	int rc = hd_traces_list(in->db, limit, add_entry, &o, &out->truncated);
	if (rc != HT_OK) {
		snprintf(why, whylen, "cannot read the traces: %s", ht_strerror(rc));
		free(out->entries);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

/* The answers an export takes: copies of those with verdict "ok". */
struct ok_answers {
	uint8_t **data;
	size_t *lens;
	size_t n, cap;
	uint64_t last_ms;
	int rc;
};

static int add_ok(void *ud, uint32_t index, const hd_trace_answer *a)
{
	struct ok_answers *o = ud;
	(void)index;
	if (a->received_ms > o->last_ms)
		o->last_ms = a->received_ms;
	if (a->sealed || strcmp(a->verdict, HD_VERDICT_OK) != 0 || o->n == o->cap)
		return 0;
	if (!(o->data[o->n] = malloc(a->len ? a->len : 1))) {
		o->rc = HT_E_NOMEM;
		return 1;
	}
	memcpy(o->data[o->n], a->data, a->len);
	o->lens[o->n++] = a->len;
	return 0;
}

int hd_initiator_export(struct hd_daemon *d, const uint8_t id[HT_TRACE_ID_LEN], uint64_t offset,
			ht_ctl_trace_export *out, char *why, size_t whylen)
{
	struct hd_initiator *in = d->initiator;
	hd_trace_rec rec;
	memset(out, 0, sizeof(*out));
	if (!in) {
		snprintf(why, whylen, "the daemon is stopping");
		return HT_E_INVAL;
	}
	int rc = find_trace(in, id, &rec, why, whylen);
	if (rc != HT_OK)
		return rc;
	size_t cap = rec.n_answers ? rec.n_answers : 1;
	struct ok_answers o = {calloc(cap, sizeof(uint8_t *)),
			       calloc(cap, sizeof(size_t)),
			       0,
			       rec.n_answers,
			       rec.started_ms,
			       HT_OK};
	if (!o.data || !o.lens)
		rc = HT_E_NOMEM;
	if (rc == HT_OK)
		rc = hd_traces_answers(in->db, id, 0, add_ok, &o);
	if (rc == HT_OK)
		rc = o.rc;
	uint8_t *bundle = NULL;
	size_t len = 0;
	if (rc == HT_OK)
		rc = ht_bundle_encode(rec.request, rec.request_len, rec.calling, rec.called,
				      (const uint8_t *const *)o.data, o.lens, o.n,
				      rec.finished_ms ? rec.finished_ms : o.last_ms, &bundle, &len);
	if (rc == HT_OK && len > HT_CTL_EXPORT_MAX)
		rc = HT_E_TOO_LARGE;
	if (rc != HT_OK)
		snprintf(why, whylen, "cannot make the evidence bundle: %s", ht_strerror(rc));
	else if (offset > len) {
		snprintf(why, whylen, "offset %llu is past the end of the bundle (%zu octets)",
			 (unsigned long long)offset, len);
		rc = HT_E_INVAL;
	} else {
		size_t piece = len - (size_t)offset;
		if (piece > HT_CTL_EXPORT_CHUNK_MAX)
			piece = HT_CTL_EXPORT_CHUNK_MAX;
		crypto_generichash(out->digest, HT_CTL_DIGEST_LEN, bundle, len, NULL, 0);
		out->total = len;
		out->offset = offset;
		out->answers = (uint32_t)o.n;
		if (piece && !(out->data = malloc(piece))) {
			snprintf(why, whylen, "out of memory");
			rc = HT_E_NOMEM;
		} else if (piece) {
			memcpy(out->data, bundle + offset, piece);
			out->len = piece;
		}
	}
	for (size_t i = 0; i < o.n; i++)
		free(o.data[i]);
	free(o.data);
	free(o.lens);
	free(bundle);
	hd_trace_rec_clear(&rec);
	return rc;
}
