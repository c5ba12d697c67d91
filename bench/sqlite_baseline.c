/* The SQLite baseline (sqlite_baseline.h). */
#include "sqlite_baseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#define MAX_PEERS 65536
#define HASH_CAP  (2 * MAX_PEERS)

struct sqlb {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *ins, *sel, *peer_ins, *begin, *commit;
	/* Peer names <-> ids, cached as the store caches its peer table. */
	char (*names)[HT_PROVIDER_ID_MAX + 1];
	uint32_t n_names;
	int32_t *hash; /* open addressing: id, or -1 */
};

static int fail(sqlb *b, const char *what)
{
	fprintf(stderr, "sqlite: %s: %s\n", what, sqlite3_errmsg(b->db));
	return -1;
}

static int exec(sqlb *b, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(b->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite: %s: %s\n", sql, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

/* The id of provider `id`, "" = 0; -1 if unknown. */
static int32_t peer_find(const sqlb *b, const char *id)
{
	if (!id[0])
		return 0;
	for (uint32_t i = name_hash(id) % HASH_CAP;; i = (i + 1) % HASH_CAP) {
		int32_t v = b->hash[i];
		if (v < 0)
			return -1;
		if (strcmp(b->names[v], id) == 0)
			return v;
	}
}

/* The id of `id`, added to the peers table (in the open transaction) if new. */
static int peer_id(sqlb *b, const char *id, int32_t *out)
{
	int32_t v = peer_find(b, id);
	if (v >= 0) {
		*out = v;
		return 0;
	}
	if (b->n_names >= MAX_PEERS)
		return -1;
	v = (int32_t)b->n_names;
	sqlite3_bind_int(b->peer_ins, 1, v);
	sqlite3_bind_text(b->peer_ins, 2, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(b->peer_ins);
	sqlite3_reset(b->peer_ins);
	if (rc != SQLITE_DONE)
		return fail(b, "insert peer");
	snprintf(b->names[v], sizeof(b->names[v]), "%s", id);
	uint32_t i = name_hash(id) % HASH_CAP;
	while (b->hash[i] >= 0)
		i = (i + 1) % HASH_CAP;
	b->hash[i] = v;
	b->n_names++;
	*out = v;
	return 0;
}

static int prepare(sqlb *b, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(b->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
		return fail(b, sql);
	return 0;
}

int sqlb_open(sqlb **out, const char *path, bool sync_full)
{
	*out = NULL;
	sqlb *b = calloc(1, sizeof(*b));
	if (!b)
		return -1;
	b->names = calloc(MAX_PEERS, sizeof(*b->names));
	b->hash = malloc(HASH_CAP * sizeof(int32_t));
	b->path = strdup(path);
	if (!b->names || !b->hash || !b->path) {
		sqlb_close(b);
		return -1;
	}
	memset(b->hash, 0xff, HASH_CAP * sizeof(int32_t));
	b->n_names = 1; /* 0 = here */
	if (sqlite3_open_v2(path, &b->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		fail(b, path);
		sqlb_close(b);
		return -1;
	}
	char sql[512];
	snprintf(sql, sizeof(sql),
		 "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-65536;"
		 "PRAGMA mmap_size=2147418112;",
		 sync_full ? "FULL" : "NORMAL");
	if (exec(b, sql) ||
	    exec(b, "CREATE TABLE peers(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
		    "CREATE TABLE calls(time INTEGER NOT NULL, calling INTEGER NOT NULL,"
		    " called INTEGER NOT NULL, up INTEGER NOT NULL, down INTEGER NOT NULL,"
		    " hint INTEGER NOT NULL, attest INTEGER, customer_ref TEXT, origid BLOB,"
		    " call_id TEXT);"
		    "CREATE INDEX calls_key ON calls(down, hint, time);") ||
	    prepare(b,
		    "INSERT INTO calls(time, calling, called, up, down, hint, attest,"
		    " customer_ref, origid, call_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
		    "?10)",
		    &b->ins) ||
	    prepare(b,
		    "SELECT time, calling, called, up, attest, customer_ref, origid, call_id"
		    " FROM calls WHERE down = ?1 AND hint = ?2 AND time BETWEEN ?3 AND ?4",
		    &b->sel) ||
	    prepare(b, "INSERT INTO peers(id, name) VALUES (?1, ?2)", &b->peer_ins) ||
	    prepare(b, "BEGIN", &b->begin) || prepare(b, "COMMIT", &b->commit)) {
		sqlb_close(b);
		return -1;
	}
	*out = b;
	return 0;
}

void sqlb_close(sqlb *b)
{
	if (!b)
		return;
	sqlite3_finalize(b->ins);
	sqlite3_finalize(b->sel);
	sqlite3_finalize(b->peer_ins);
	sqlite3_finalize(b->begin);
	sqlite3_finalize(b->commit);
	if (b->db)
		sqlite3_close(b->db);
	free(b->names);
	free(b->hash);
	free(b->path);
	free(b);
}

static int step_done(sqlb *b, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : fail(b, what);
}

int sqlb_insert(sqlb *b, const ht_cdr *recs, size_t n)
{
	if (step_done(b, b->begin, "begin"))
		return -1;
	sqlite3_stmt *st = b->ins;
	for (size_t i = 0; i < n; i++) {
		const ht_cdr *r = &recs[i];
		int32_t up, down;
		if (peer_id(b, r->upstream, &up) || peer_id(b, r->downstream, &down))
			goto abort;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)r->time_ms);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)strtoull(r->calling, NULL, 10));
		sqlite3_bind_int64(st, 3, (sqlite3_int64)strtoull(r->called, NULL, 10));
		sqlite3_bind_int(st, 4, up);
		sqlite3_bind_int(st, 5, down);
		sqlite3_bind_int(st, 6, hd_store_hint(r->calling, r->called));
		if (r->attestation)
			sqlite3_bind_int(st, 7, r->attestation - 'A' + 1);
		else
			sqlite3_bind_null(st, 7);
		if (r->customer_ref[0])
			sqlite3_bind_text(st, 8, r->customer_ref, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 8);
		if (r->has_origid)
			sqlite3_bind_blob(st, 9, r->origid, 16, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 9);
		if (r->call_id[0])
			sqlite3_bind_text(st, 10, r->call_id, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 10);
		if (step_done(b, st, "insert"))
			goto abort;
	}
	if (step_done(b, b->commit, "commit"))
		goto abort;
	return 0;
abort:
	exec(b, "ROLLBACK");
	return -1;
}

int sqlb_lookup(sqlb *b, const char *downstream, uint16_t hint, uint64_t from_ms, uint64_t to_ms,
		hd_store_visit_fn fn, void *ud)
{
	int32_t down = peer_find(b, downstream);
	if (down < 0)
		return 0;
	sqlite3_stmt *st = b->sel;
	sqlite3_bind_int(st, 1, down);
	sqlite3_bind_int(st, 2, hint);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)from_ms);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)to_ms);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ht_cdr r;
		memset(&r, 0, sizeof(r));
		r.time_ms = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(r.calling, sizeof(r.calling), "%lld",
			 (long long)sqlite3_column_int64(st, 1));
		snprintf(r.called, sizeof(r.called), "%lld",
			 (long long)sqlite3_column_int64(st, 2));
		int up = sqlite3_column_int(st, 3);
		if (up < 0 || (uint32_t)up >= b->n_names) {
			sqlite3_reset(st);
			return -1;
		}
		if (up)
			memcpy(r.upstream, b->names[up], sizeof(r.upstream));
		snprintf(r.downstream, sizeof(r.downstream), "%s", downstream);
		int a = sqlite3_column_int(st, 4);
		r.attestation = (char)(a >= 1 && a <= 3 ? 'A' + a - 1 : 0);
		const unsigned char *t = sqlite3_column_text(st, 5);
		if (t)
			snprintf(r.customer_ref, sizeof(r.customer_ref), "%s", (const char *)t);
		if (sqlite3_column_bytes(st, 6) == 16) {
			memcpy(r.origid, sqlite3_column_blob(st, 6), 16);
			r.has_origid = true;
		}
		t = sqlite3_column_text(st, 7);
		if (t)
			snprintf(r.call_id, sizeof(r.call_id), "%s", (const char *)t);
		if (fn(ud, &r))
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : fail(b, "lookup");
}

int sqlb_count(sqlb *b, uint64_t *rows)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(b->db, "SELECT count(*) FROM calls", -1, &st, NULL) != SQLITE_OK)
		return fail(b, "count");
	int rc = sqlite3_step(st);
	*rows = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : fail(b, "count");
}

int sqlb_vacuum(sqlb *b)
{
	return exec(b, "VACUUM;");
}

static uint64_t file_bytes(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (uint64_t)sb.st_blocks * 512 : 0;
}

int sqlb_bytes(sqlb *b, uint64_t *bytes)
{
	if (exec(b, "PRAGMA wal_checkpoint(TRUNCATE);"))
		return -1;
	size_t n = strlen(b->path) + 8;
	char *wal = malloc(n);
	if (!wal)
		return -1;
	snprintf(wal, n, "%s-wal", b->path);
	*bytes = file_bytes(b->path) + file_bytes(wal);
	free(wal);
	return 0;
}
