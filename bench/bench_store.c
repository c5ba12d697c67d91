/*
 * bench_store: the call-record store (daemon/store.c) against SQLite, in one
 * run on the same synthetic records (gen.h). See bench/README.md.
 *
 * Phases, one at a time, each on a fresh database in a temporary folder:
 *   1. store insert: records generated in memory, batches committed durably;
 *   2. SQLite insert, the same records and batches;
 *   3. store CSV import: CSV text -> ht_csv parser -> store, in-process;
 *   4. SQLite CSV import, the same;
 *   5. record counts and bytes on disk of 1 and 2;
 *   6. look-ups of random existing calls in 1 and 2, warm, interleaved rounds;
 *   7. compaction of the store's finished days (bytes per record after it),
 *      and SQLite's VACUUM for comparison.
 * Every looked-up call must be found by both engines and the counts must
 * agree, or the run fails (exit 1): this is also the `make test` smoke check.
 * Figures are printed one per line as
 *   BENCH <name> <value> <unit> ratio_vs_sqlite=<store/sqlite>
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <sqlite3.h>

#include "gen.h"
#include "log.h"
#include "sqlite_baseline.h"
#include "store.h"

#ifndef BENCH_BUILD_TYPE
#define BENCH_BUILD_TYPE "?"
#endif

#define N_WINDOWS 20 /* insert rate is also reported per twentieth of the run */

struct cfg {
	bench_gen_opts gen;
	size_t batch;
	size_t n_targets;
	unsigned rounds;
	uint64_t tol_ms;
	size_t csv_sample;
	bool store_only, no_csv, store_nosync, sqlite_normal, quiet;
	const char *tmp_parent;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "bench_store: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* ---- files ---- */

static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (!p)
		die("%s", "out of memory");
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static void rmtree(const char *path)
{
	struct stat sb;
	if (lstat(path, &sb) != 0)
		return;
	if (S_ISDIR(sb.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d))) {
				if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
					continue;
				char *sub = path_join(path, e->d_name);
				rmtree(sub);
				free(sub);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void rm_sqlite(const char *db)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	for (size_t i = 0; i < 4; i++) {
		size_t n = strlen(db) + 10;
		char *p = malloc(n);
		if (!p)
			die("%s", "out of memory");
		snprintf(p, n, "%s%s", db, sfx[i]);
		unlink(p);
		free(p);
	}
}

/* Median time of a 4 KiB write + fdatasync in `dir`: the floor under a durable commit. */
static double fsync_floor_us(const char *dir)
{
	char *p = path_join(dir, "fsync-probe");
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	double t[41];
	size_t n = 0;
	char buf[4096];
	memset(buf, 'x', sizeof(buf));
	if (fd >= 0) {
		for (; n < 41; n++) {
			double t0 = now_s();
			if (pwrite(fd, buf, sizeof(buf), (off_t)(n % 8) * 4096) !=
				    (ssize_t)sizeof(buf) ||
			    fdatasync(fd) != 0)
				break;
			t[n] = (now_s() - t0) * 1e6;
		}
		close(fd);
	}
	unlink(p);
	free(p);
	if (n == 0)
		return 0;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && t[j - 1] > t[j]; j--) {
			double x = t[j];
			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	return t[n / 2];
}

struct ins_result {
	double secs, user, sys; /* wall and CPU time inside the timed calls */
	double main_cpu;        /* of that CPU time, the calling thread's (user + sys) */
	uint64_t written;       /* bytes the process wrote (write(2) and the like) */
	uint64_t records, inserted, dups;
	double win[N_WINDOWS]; /* rate per twentieth of the run */
	size_t n_win;
};

/* Bytes this process has written so far (wchar of /proc/self/io); 0 if unknown. */
static uint64_t io_written(void)
{
	FILE *f = fopen("/proc/self/io", "r");
	char line[128];
	unsigned long long v = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "wchar: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Timing of the measured calls: wall, user and system CPU, bytes written. */
struct meter {
	double wall;
	struct rusage ru, ru_thread;
	uint64_t wchar;
};

static void meter_start(struct meter *m)
{
	m->wchar = io_written();
	getrusage(RUSAGE_SELF, &m->ru);
	getrusage(RUSAGE_THREAD, &m->ru_thread);
	m->wall = now_s();
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* Adds the time since meter_start to r; returns the wall time. */
static double meter_stop(const struct meter *m, struct ins_result *r)
{
	double dt = now_s() - m->wall;
	struct rusage ru, rt;
	getrusage(RUSAGE_SELF, &ru);
	getrusage(RUSAGE_THREAD, &rt);
	r->main_cpu += tv_s(rt.ru_utime) - tv_s(m->ru_thread.ru_utime) + tv_s(rt.ru_stime) -
		       tv_s(m->ru_thread.ru_stime);
	r->secs += dt;
	r->user += tv_s(ru.ru_utime) - tv_s(m->ru.ru_utime);
	r->sys += tv_s(ru.ru_stime) - tv_s(m->ru.ru_stime);
	r->written += io_written() - m->wchar;
	return dt;
}

/* ---- engines ---- */

struct engine {
	const char *name;
	hd_store *store;
	sqlb *sql;
	unsigned hint_bits; /* of the store's look-ups; SQLite uses all 16 */
};

/*
 * One batch. The store takes it as hoptraced's import does: hd_store_submit
 * returns once the previous batch is committed and synced (its counts are
 * added), while this one commits on the store's writer thread; eng_flush
 * waits for the last one. SQLite commits each batch before returning.
 */
static int eng_insert(struct engine *e, const ht_cdr *recs, size_t n, uint64_t *ins, uint64_t *dup)
{
	if (e->store) {
		size_t a = 0, b = 0;
		int rc = hd_store_submit(e->store, recs, n, &a, &b);
		*ins += a;
		*dup += b;
		if (rc != HT_OK)
			fprintf(stderr, "bench_store: store insert: %s\n", ht_strerror(rc));
		return rc == HT_OK ? 0 : -1;
	}
	if (sqlb_insert(e->sql, recs, n))
		return -1;
	*ins += n;
	return 0;
}

static int eng_flush(struct engine *e, uint64_t *ins, uint64_t *dup)
{
	if (!e->store)
		return 0;
	size_t a = 0, b = 0;
	int rc = hd_store_flush(e->store, &a, &b);
	*ins += a;
	*dup += b;
	if (rc != HT_OK)
		fprintf(stderr, "bench_store: store insert: %s\n", ht_strerror(rc));
	return rc == HT_OK ? 0 : -1;
}

/*
 * Batches per timed stretch: the records (or CSV text) of a stretch are
 * generated first, untimed; then its batches go in back to back, and the
 * clock stops only once the last one is committed and synced. So no
 * commit overlaps the generator (which would flatter the store), at the
 * cost of the stretch's last commits overlapping nothing.
 */
static size_t stretch_batches(const struct cfg *c)
{
	uint64_t b = c->gen.n / N_WINDOWS / c->batch;
	return b < 1 ? 1 : b > 10 ? 10 : (size_t)b;
}

static int eng_lookup(struct engine *e, const char *down, uint16_t hint, uint64_t from, uint64_t to,
		      hd_store_visit_fn fn, void *ud)
{
	if (e->store)
		return hd_store_lookup(e->store, down, hint, e->hint_bits, from, to, fn, ud) ==
				       HT_OK
			       ? 0
			       : -1;
	return sqlb_lookup(e->sql, down, hint, from, to, fn, ud);
}

static uint64_t eng_records(struct engine *e)
{
	uint64_t n = 0;
	if (e->store) {
		hd_store_stats st;
		if (hd_store_stats_get(e->store, &st) == HT_OK) {
			n = st.records;
			hd_store_stats_free(&st);
		}
	} else if (sqlb_count(e->sql, &n)) {
		n = 0;
	}
	return n;
}

static int eng_open(struct engine *e, const char *name, const char *path, bool store, bool nosync,
		    bool sync_full)
{
	memset(e, 0, sizeof(*e));
	e->name = name;
	e->hint_bits = 16;
	if (store) {
		hd_store_opts o = {.dir = path, .retention_days = 100000, .no_sync = nosync};
		return hd_store_open(&e->store, &o) == HT_OK ? 0 : -1;
	}
	return sqlb_open(&e->sql, path, sync_full);
}

static void eng_close(struct engine *e)
{
	hd_store_close(e->store);
	sqlb_close(e->sql);
	e->store = NULL;
	e->sql = NULL;
}

/* ---- insert phases ---- */

struct targets {
	ht_cdr *recs;
	size_t n, cap;
	uint64_t seen;
	bench_rng rng;
};

/* Reservoir sampling: a uniform sample of the whole stream. */
static void sample(struct targets *t, const ht_cdr *recs, size_t n)
{
	for (size_t i = 0; i < n; i++, t->seen++) {
		if (t->n < t->cap) {
			t->recs[t->n++] = recs[i];
		} else {
			uint64_t j = bench_rng_next(&t->rng) % (t->seen + 1);
			if (j < t->cap)
				t->recs[j] = recs[i];
		}
	}
}

struct progress {
	const char *what;
	uint64_t total, next;
	double t_start;
	bool quiet;
};

static void progress(struct progress *p, uint64_t done, double busy)
{
	if (p->quiet || p->total < 1000000 || done < p->next)
		return;
	fprintf(stderr, "  %s: %llu/%llu (%.0f/s while inserting, %.0f s elapsed)\n", p->what,
		(unsigned long long)done, (unsigned long long)p->total,
		busy > 0 ? (double)done / busy : 0.0, now_s() - p->t_start);
	p->next += p->total / 10 ? p->total / 10 : 1;
}

static void win_close(struct ins_result *r, double *w_t, uint64_t *w_n, uint64_t total,
		      uint64_t done)
{
	if (r->n_win < N_WINDOWS && done * N_WINDOWS >= (r->n_win + 1) * total && *w_t > 0) {
		r->win[r->n_win++] = (double)*w_n / *w_t;
		*w_t = 0;
		*w_n = 0;
	}
}

static int phase_insert(const struct cfg *c, struct engine *e, struct targets *t,
			struct ins_result *r)
{
	memset(r, 0, sizeof(*r));
	bench_gen *g = bench_gen_new(&c->gen);
	size_t nb = stretch_batches(c);
	ht_cdr *recs = malloc(nb * c->batch * sizeof(ht_cdr));
	size_t *len = malloc(nb * sizeof(size_t));
	if (!g || !recs || !len)
		die("%s", "out of memory");
	struct progress pr = {e->name, c->gen.n, c->gen.n / 10, now_s(), c->quiet};
	double w_t = 0;
	uint64_t w_n = 0;
	int rc = 0;
	for (;;) {
		size_t k = 0, got = 0;
		while (k < nb && (len[k] = bench_gen_next(g, recs + k * c->batch, c->batch)) > 0)
			got += len[k++];
		if (!k)
			break;
		if (interrupted) {
			printf("INFO %s interrupted after %llu records: %.0f records/s while "
			       "inserting, %.0f bytes written per record\n",
			       e->name, (unsigned long long)r->records,
			       r->secs > 0 ? (double)r->records / r->secs : 0.0,
			       r->records ? (double)r->written / (double)r->records : 0.0);
			rc = -1;
			break;
		}
		if (t)
			for (size_t i = 0; i < k; i++)
				sample(t, recs + i * c->batch, len[i]);
		struct meter m;
		meter_start(&m);
		for (size_t i = 0; i < k && !rc; i++)
			rc = eng_insert(e, recs + i * c->batch, len[i], &r->inserted, &r->dups);
		if (eng_flush(e, &r->inserted, &r->dups))
			rc = -1;
		double dt = meter_stop(&m, r);
		if (rc)
			break;
		r->records += got;
		w_t += dt;
		w_n += got;
		win_close(r, &w_t, &w_n, c->gen.n, r->records);
		progress(&pr, r->records, r->secs);
	}
	free(len);
	free(recs);
	bench_gen_free(g);
	return rc;
}

struct csv_ctx {
	struct engine *e;
	ht_cdr *batch;
	size_t n, cap;
	struct ins_result *r;
	uint64_t refused;
	int err;
};

static int flush_batch(struct csv_ctx *x)
{
	if (x->n && eng_insert(x->e, x->batch, x->n, &x->r->inserted, &x->r->dups))
		x->err = -1;
	x->n = 0;
	return x->err;
}

static int on_row(void *ud, const ht_csv_row *row)
{
	struct csv_ctx *x = ud;
	if (!row->cdr) {
		if (x->refused++ < 5)
			fprintf(stderr, "bench_store: CSV line %llu refused: %s\n",
				(unsigned long long)row->line, row->message);
		return 0;
	}
	x->batch[x->n++] = *row->cdr;
	x->r->records++;
	return x->n == x->cap ? flush_batch(x) : 0;
}

static int phase_csv(const struct cfg *c, struct engine *e, struct ins_result *r,
		     uint64_t *csv_bytes)
{
	memset(r, 0, sizeof(*r));
	bench_gen *g = bench_gen_new(&c->gen);
	ht_cdr *recs = malloc(c->batch * sizeof(ht_cdr));
	size_t nb = stretch_batches(c);
	size_t cap = nb * c->batch * BENCH_GEN_CSV_ROW_MAX;
	char *text = malloc(cap);
	struct csv_ctx x = {
		.e = e, .cap = c->batch, .r = r, .batch = malloc(c->batch * sizeof(ht_cdr))};
	if (!g || !recs || !text || !x.batch)
		die("%s", "out of memory");
	ht_csv_options po = {.trunk_map = bench_gen_trunk_map, .trunk_ud = g, .default_cc = "1"};
	ht_csv_parser *p;
	if (ht_csv_parser_new(&po, &p) != HT_OK)
		die("%s", "cannot create the CSV parser");
	struct progress pr = {e->name, c->gen.n, c->gen.n / 10, now_s(), c->quiet};
	const char *hdr = bench_gen_csv_header();
	*csv_bytes = strlen(hdr);
	double w_t = 0;
	uint64_t w_n = 0, prev = 0;
	struct meter m;
	meter_start(&m);
	int rc = ht_csv_feed(p, (const uint8_t *)hdr, strlen(hdr), on_row, &x);
	meter_stop(&m, r);
	while (!rc && !x.err) {
		/* A stretch of batches as text, untimed. */
		size_t len = 0, k, nbat = 0;
		while (nbat < nb && (k = bench_gen_next(g, recs, c->batch)) > 0) {
			size_t l = bench_gen_csv(g, recs, k, text + len, cap - len);
			if (!l)
				die("%s", "CSV buffer too small");
			len += l;
			nbat++;
		}
		if (!nbat)
			break;
		if (interrupted) {
			rc = -1;
			break;
		}
		*csv_bytes += len;
		/* Fed in 64 KiB reads, as from a file or a socket; timed until the
		 * stretch's last complete batch is committed and synced. */
		meter_start(&m);
		for (size_t off = 0; off < len && !rc; off += 65536) {
			size_t piece = len - off < 65536 ? len - off : 65536;
			rc = ht_csv_feed(p, (const uint8_t *)text + off, piece, on_row, &x);
		}
		if (eng_flush(e, &r->inserted, &r->dups))
			x.err = -1;
		double dt = meter_stop(&m, r);
		w_t += dt;
		w_n += r->records - prev;
		prev = r->records;
		win_close(r, &w_t, &w_n, c->gen.n, r->records);
		progress(&pr, r->records, r->secs);
	}
	if (!rc && !x.err) {
		meter_start(&m);
		rc = ht_csv_finish(p, on_row, &x);
		if (!rc)
			rc = flush_batch(&x);
		if (eng_flush(e, &r->inserted, &r->dups))
			x.err = -1;
		meter_stop(&m, r);
	}
	if (x.refused) {
		fprintf(stderr, "bench_store: %llu CSV rows refused\n",
			(unsigned long long)x.refused);
		rc = -1;
	}
	ht_csv_parser_free(p);
	free(x.batch);
	free(text);
	free(recs);
	bench_gen_free(g);
	return rc || x.err ? -1 : 0;
}

/* ---- look-ups ---- */

static bool same(const ht_cdr *a, const ht_cdr *b)
{
	return a->time_ms == b->time_ms && !strcmp(a->calling, b->calling) &&
	       !strcmp(a->called, b->called) && !strcmp(a->upstream, b->upstream) &&
	       !strcmp(a->downstream, b->downstream) && a->attestation == b->attestation &&
	       !strcmp(a->customer_ref, b->customer_ref) && a->has_origid == b->has_origid &&
	       (!a->has_origid || !memcmp(a->origid, b->origid, 16)) &&
	       !strcmp(a->call_id, b->call_id);
}

struct match {
	const ht_cdr *want;
	bool found;
	uint64_t candidates;
};

static int on_candidate(void *ud, const ht_cdr *r)
{
	struct match *m = ud;
	m->candidates++;
	/* What the traceback does: compare the numbers and the time. */
	if (!m->found && same(r, m->want))
		m->found = true;
	return 0;
}

struct round {
	double rate, p99_us, p50_us;
	uint64_t missing, candidates;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int lookup_round(const struct cfg *c, struct engine *e, const struct targets *t, double *lat,
			struct round *out)
{
	memset(out, 0, sizeof(*out));
	double t_start = now_s();
	for (size_t i = 0; i < t->n; i++) {
		const ht_cdr *w = &t->recs[i];
		struct match m = {.want = w};
		double t0 = now_s();
		uint16_t hint = hd_store_hint(w->calling, w->called);
		uint64_t from = w->time_ms > c->tol_ms ? w->time_ms - c->tol_ms : 0;
		if (eng_lookup(e, w->downstream, hint, from, w->time_ms + c->tol_ms, on_candidate,
			       &m))
			return -1;
		lat[i] = (now_s() - t0) * 1e6;
		out->missing += !m.found;
		out->candidates += m.candidates;
	}
	double secs = now_s() - t_start;
	out->rate = (double)t->n / secs;
	qsort(lat, t->n, sizeof(double), cmp_double);
	out->p99_us = lat[(size_t)((double)(t->n - 1) * 0.99)];
	out->p50_us = lat[(t->n - 1) / 2];
	return 0;
}

/* An untimed pass that every target is found. */
static int verify(const struct cfg *c, struct engine *e, const struct targets *t)
{
	double *lat = malloc(t->n * sizeof(double));
	struct round r;
	if (!lat)
		die("%s", "out of memory");
	int rc = lookup_round(c, e, t, lat, &r);
	free(lat);
	if (rc)
		return -1;
	if (r.missing) {
		fprintf(stderr, "bench_store: FAIL: %s: %llu of %zu existing calls not found\n",
			e->name, (unsigned long long)r.missing, t->n);
		return -1;
	}
	return 0;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the LMDB files, examined after the run ---- */

static void lmdb_report(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	uint64_t entries = 0, leaf = 0, branch = 0, ovf = 0, freep = 0, last = 0, psize = 0;
	unsigned depth = 0, parts = 0;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (l < 4 || strcmp(de->d_name + l - 4, ".mdb"))
			continue;
		char *p = path_join(dir, de->d_name);
		MDB_env *env;
		MDB_txn *txn;
		MDB_dbi dbi;
		MDB_stat ms;
		MDB_envinfo ei;
		if (mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 4) == 0 &&
		    mdb_env_open(env, p, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOTLS, 0) == 0 &&
		    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
			if (mdb_dbi_open(txn, "calls", 0, &dbi) == 0 &&
			    mdb_stat(txn, dbi, &ms) == 0) {
				entries += ms.ms_entries;
				leaf += ms.ms_leaf_pages;
				branch += ms.ms_branch_pages;
				ovf += ms.ms_overflow_pages;
				psize = ms.ms_psize;
				if (ms.ms_depth > depth)
					depth = ms.ms_depth;
			}
			/* The free list: each value is a list of page numbers, its length first. */
			MDB_cursor *cur;
			MDB_val k, v;
			if (mdb_cursor_open(txn, 0, &cur) == 0) {
				while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
					if (v.mv_size >= sizeof(size_t))
						freep += *(const size_t *)v.mv_data;
				mdb_cursor_close(cur);
			}
			if (mdb_env_info(env, &ei) == 0)
				last += ei.me_last_pgno + 1;
			mdb_txn_abort(txn);
			parts++;
		}
		mdb_env_close(env);
		free(p);
	}
	closedir(d);
	if (!entries)
		return;
	printf("INFO store.lmdb partitions=%u entries=%llu depth=%u leaf_pages=%llu "
	       "branch_pages=%llu overflow_pages=%llu free_pages=%llu file_pages=%llu "
	       "page_size=%llu\n",
	       parts, (unsigned long long)entries, depth, (unsigned long long)leaf,
	       (unsigned long long)branch, (unsigned long long)ovf, (unsigned long long)freep,
	       (unsigned long long)last, (unsigned long long)psize);
	printf("INFO store.lmdb bytes_per_record: tree %.1f (leaves %.1f), free pages %.1f, "
	       "file %.1f\n",
	       (double)(leaf + branch + ovf) * (double)psize / (double)entries,
	       (double)leaf * (double)psize / (double)entries,
	       (double)freep * (double)psize / (double)entries,
	       (double)last * (double)psize / (double)entries);
}

/* ---- the machine ---- */

static void machine(void)
{
	char model[256] = "?";
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f) {
		char line[512];
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "model name", 10)) {
				char *v = strchr(line, ':');
				if (v) {
					v += 1 + (v[1] == ' ');
					v[strcspn(v, "\n")] = 0;
					snprintf(model, sizeof(model), "%s", v);
				}
				break;
			}
		}
		fclose(f);
	}
	struct utsname u;
	if (uname(&u) != 0)
		snprintf(u.release, sizeof(u.release), "?");
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("# machine: nproc=%ld cpu=\"%s\" kernel=%s date=%s\n", sysconf(_SC_NPROCESSORS_ONLN),
	       model, u.release, date);
	printf("# software: lmdb %d.%d.%d, sqlite %s, build %s\n", MDB_VERSION_MAJOR,
	       MDB_VERSION_MINOR, MDB_VERSION_PATCH, sqlite3_libversion(), BENCH_BUILD_TYPE);
}

/* ---- options ---- */

static uint64_t parse_count(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		die("bad number: %s", s);
	if (*end == 'k' || *end == 'K')
		v *= 1e3, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1e6, end++;
	else if (*end == 'G' || *end == 'g')
		v *= 1e9, end++;
	if (*end)
		die("bad number: %s", s);
	return (uint64_t)(v + 0.5);
}

static void usage(void)
{
	puts("usage: bench_store [-n N] [options]\n"
	     "  -n N              records (k, M suffixes; default 10M)\n"
	     "  --store-only      the store alone (no SQLite): for the 100M run\n"
	     "  --no-csv          skip the CSV import phases\n"
	     "  --sqlite-normal   also insert into SQLite with synchronous=NORMAL (INFO line)\n"
	     "  --store-nosync    store commits not synced (diagnostic; says so in the output)\n"
	     "  --batch N         records per transaction (default 10000)\n"
	     "  --lookups N       random existing calls looked up per round (default 20000)\n"
	     "  --rounds N        look-up rounds per engine; medians are reported (default 5)\n"
	     "  --tolerance-ms N  look-up window is time +- N (default 5000)\n"
	     "  --seed N          generator seed (default 1)\n"
	     "  --peers N         interconnect peers (default 300)\n"
	     "  --span-hours H    time span of the records (default 24)\n"
	     "  --origid-frac F   fraction of records with an origid (default 0)\n"
	     "  --callid-frac F   fraction of records with a SIP Call-ID (default 0)\n"
	     "  --csv-epoch       CSV times as epoch ms (default RFC 3339 with ms)\n"
	     "  --tmp DIR         parent of the temporary folder (default $TMPDIR or /tmp)\n"
	     "  --csv-sample N    print the first N records as CSV and exit\n"
	     "  -q                no progress lines on stderr");
}

static void parse_args(int argc, char **argv, struct cfg *c)
{
	memset(c, 0, sizeof(*c));
	bench_gen_defaults(&c->gen, 10000000);
	c->batch = 10000;
	c->n_targets = 20000;
	c->rounds = 5;
	c->tol_ms = 5000;
	c->tmp_parent = getenv("TMPDIR");
	if (!c->tmp_parent || !c->tmp_parent[0])
		c->tmp_parent = "/tmp";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define VAL() (v ? (i++, v) : (die("%s needs a value", a), ""))
		if (!strcmp(a, "-n"))
			c->gen.n = parse_count(VAL());
		else if (!strcmp(a, "--store-only"))
			c->store_only = true;
		else if (!strcmp(a, "--no-csv"))
			c->no_csv = true;
		else if (!strcmp(a, "--sqlite-normal"))
			c->sqlite_normal = true;
		else if (!strcmp(a, "--store-nosync"))
			c->store_nosync = true;
		else if (!strcmp(a, "--batch"))
			c->batch = (size_t)parse_count(VAL());
		else if (!strcmp(a, "--lookups"))
			c->n_targets = (size_t)parse_count(VAL());
		else if (!strcmp(a, "--rounds"))
			c->rounds = (unsigned)parse_count(VAL());
		else if (!strcmp(a, "--tolerance-ms"))
			c->tol_ms = parse_count(VAL());
		else if (!strcmp(a, "--seed"))
			c->gen.seed = parse_count(VAL());
		else if (!strcmp(a, "--peers"))
			c->gen.n_peers = (unsigned)parse_count(VAL());
		else if (!strcmp(a, "--span-hours"))
			c->gen.span_ms = (uint64_t)(strtod(VAL(), NULL) * 3600000.0);
		else if (!strcmp(a, "--origid-frac"))
			c->gen.origid_frac = strtod(VAL(), NULL);
		else if (!strcmp(a, "--callid-frac"))
			c->gen.call_id_frac = strtod(VAL(), NULL);
		else if (!strcmp(a, "--csv-epoch"))
			c->gen.csv_epoch_ms = 1;
		else if (!strcmp(a, "--tmp"))
			c->tmp_parent = VAL();
		else if (!strcmp(a, "--csv-sample"))
			c->csv_sample = (size_t)parse_count(VAL());
		else if (!strcmp(a, "-q"))
			c->quiet = true;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage();
			exit(0);
		} else {
			usage();
			exit(2);
		}
#undef VAL
	}
	if (c->gen.n == 0 || c->batch == 0 || c->n_targets == 0 || c->rounds == 0 ||
	    c->gen.span_ms == 0 || c->gen.n_peers == 0 || c->gen.n_peers > 60000)
		die("%s", "-n, --batch, --lookups, --rounds, --span-hours and --peers must be > 0");
	if (c->n_targets > c->gen.n)
		c->n_targets = (size_t)c->gen.n;
}

/* The first records of the stream as CSV, for people to look at. */
static int csv_sample(const struct cfg *c)
{
	bench_gen *g = bench_gen_new(&c->gen);
	ht_cdr *recs = malloc(c->csv_sample * sizeof(ht_cdr));
	char *text = malloc(c->csv_sample * BENCH_GEN_CSV_ROW_MAX);
	if (!g || !recs || !text)
		die("%s", "out of memory");
	size_t k = bench_gen_next(g, recs, c->csv_sample);
	fputs(bench_gen_csv_header(), stdout);
	fwrite(text, 1, bench_gen_csv(g, recs, k, text, c->csv_sample * BENCH_GEN_CSV_ROW_MAX),
	       stdout);
	free(text);
	free(recs);
	bench_gen_free(g);
	return 0;
}

/* ---- main ---- */

static char *g_tmp; /* removed on every exit */

static void cleanup(void)
{
	if (g_tmp) {
		rmtree(g_tmp);
		free(g_tmp);
		g_tmp = NULL;
	}
}

static void bench_line(const char *name, double v, int decimals, const char *unit, double base,
		       bool have_base)
{
	char val[64];
	snprintf(val, sizeof(val), "%.*f", decimals, v);
	if (have_base && base > 0)
		printf("BENCH %s %s %s ratio_vs_sqlite=%.2f\n", name, val, unit, v / base);
	else
		printf("BENCH %s %s %s ratio_vs_sqlite=n/a\n", name, val, unit);
}

static void window_info(const char *name, const struct ins_result *r)
{
	double cpu = r->user + r->sys;
	printf("INFO %s %.1f s: cpu user %.1f s + sys %.1f s (%.0f%% busy, %.2f us per record; "
	       "calling thread %.1f s, %.0f%% busy; other threads %.1f s, %.0f%% busy), %.0f "
	       "bytes written per record\n",
	       name, r->secs, r->user, r->sys, r->secs > 0 ? 100 * cpu / r->secs : 0,
	       r->records ? 1e6 * cpu / (double)r->records : 0.0, r->main_cpu,
	       r->secs > 0 ? 100 * r->main_cpu / r->secs : 0, cpu - r->main_cpu,
	       r->secs > 0 ? 100 * (cpu - r->main_cpu) / r->secs : 0,
	       r->records ? (double)r->written / (double)r->records : 0.0);
	if (r->n_win < 2)
		return;
	double w[N_WINDOWS];
	memcpy(w, r->win, sizeof(w));
	double med = median(w, r->n_win); /* sorts w */
	printf("INFO %s per-twentieth rate: first %.0f, last %.0f, min %.0f, median %.0f, max "
	       "%.0f /s\n",
	       name, r->win[0], r->win[r->n_win - 1], w[0], med, w[r->n_win - 1]);
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "bench_store: FAIL: " __VA_ARGS__);                                \
		fputc('\n', stderr);                                                               \
		ok = false;                                                                        \
	} while (0)

int main(int argc, char **argv)
{
	struct cfg c;
	parse_args(argc, argv, &c);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (c.csv_sample)
		return csv_sample(&c);
	hd_log_set_level("warn");

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	g_tmp = path_join(c.tmp_parent, "hoptrace-bench-XXXXXX");
	if (!mkdtemp(g_tmp))
		die("cannot create a folder under %s", c.tmp_parent);
	atexit(cleanup);

	printf("# bench_store: n=%llu seed=%llu batch=%zu peers=%u span=%.1fh originated=%.2f "
	       "terminated=%.2f origid=%.2f call_id=%.2f csv_time=%s lookups=%zux%u tol=+-%llums "
	       "hint_bits=16\n",
	       (unsigned long long)c.gen.n, (unsigned long long)c.gen.seed, c.batch, c.gen.n_peers,
	       (double)c.gen.span_ms / 3600000.0, c.gen.originated, c.gen.terminated,
	       c.gen.origid_frac, c.gen.call_id_frac, c.gen.csv_epoch_ms ? "epoch_ms" : "rfc3339",
	       c.n_targets, c.rounds, (unsigned long long)c.tol_ms);
	machine();
	printf("# store: %s; sqlite: %s\n",
	       c.store_nosync ? "NOT SYNCED (--store-nosync, diagnostic only)"
			      : "each batch committed and fsynced",
	       c.store_only ? "not run (--store-only)"
			    : "WAL, synchronous=FULL (each commit fsynced), prepared statements, "
			      "index (down, hint, time)");
	printf("INFO floor.fdatasync_4k %.0f us (median of 41, in %s)\n", fsync_floor_us(g_tmp),
	       c.tmp_parent);

	bool ok = true;
	bool sql = !c.store_only;
	struct targets t = {.cap = c.n_targets, .recs = malloc(c.n_targets * sizeof(ht_cdr))};
	if (!t.recs)
		die("%s", "out of memory");
	bench_rng_seed(&t.rng, c.gen.seed ^ 0x5eed5eed5eedULL);

	char *store_dir = path_join(g_tmp, "store");
	char *sql_path = path_join(g_tmp, "sqlite.db");
	struct engine st, sq;
	struct ins_result ri_st, ri_sq, rc_st = {0}, rc_sq = {0};
	uint64_t csv_bytes = 0;
	memset(&sq, 0, sizeof(sq));

	/* 1, 2: insert. */
	if (eng_open(&st, "store insert", store_dir, true, c.store_nosync, true))
		die("%s", "cannot open the store");
	if (phase_insert(&c, &st, &t, &ri_st))
		FAIL("store insert");
	if (ok && sql) {
		if (eng_open(&sq, "sqlite insert", sql_path, false, false, true))
			die("%s", "cannot open SQLite");
		if (phase_insert(&c, &sq, NULL, &ri_sq))
			FAIL("sqlite insert");
	}
	if (ok && sql && c.sqlite_normal) {
		struct engine e;
		struct ins_result r;
		char *p = path_join(g_tmp, "sqlite-normal.db");
		if (eng_open(&e, "sqlite insert (synchronous=NORMAL)", p, false, false, false))
			die("%s", "cannot open SQLite");
		if (phase_insert(&c, &e, NULL, &r))
			FAIL("sqlite insert (NORMAL)");
		else
			printf("INFO sqlite.insert_sync_normal %.0f records/s (WAL, "
			       "synchronous=NORMAL: "
			       "commits not fsynced)\n",
			       (double)r.records / r.secs);
		eng_close(&e);
		rm_sqlite(p);
		free(p);
	}

	/* 3, 4: CSV import, each into a fresh database, checked, then removed. */
	if (ok && !c.no_csv) {
		char *p = path_join(g_tmp, "store-csv");
		struct engine e;
		if (eng_open(&e, "store CSV import", p, true, c.store_nosync, true))
			die("%s", "cannot open the store");
		if (phase_csv(&c, &e, &rc_st, &csv_bytes))
			FAIL("store CSV import");
		else if (eng_records(&e) != ri_st.inserted)
			FAIL("store CSV import: %llu records, the insert phase stored %llu",
			     (unsigned long long)eng_records(&e),
			     (unsigned long long)ri_st.inserted);
		else if (verify(&c, &e, &t))
			FAIL("store CSV import: look-ups");
		eng_close(&e);
		rmtree(p);
		free(p);
	}
	if (ok && sql && !c.no_csv) {
		char *p = path_join(g_tmp, "sqlite-csv.db");
		struct engine e;
		if (eng_open(&e, "sqlite CSV import", p, false, false, true))
			die("%s", "cannot open SQLite");
		if (phase_csv(&c, &e, &rc_sq, &csv_bytes))
			FAIL("sqlite CSV import");
		else if (eng_records(&e) != c.gen.n)
			FAIL("sqlite CSV import: %llu rows, expected %llu",
			     (unsigned long long)eng_records(&e), (unsigned long long)c.gen.n);
		else if (verify(&c, &e, &t))
			FAIL("sqlite CSV import: look-ups");
		eng_close(&e);
		rm_sqlite(p);
		free(p);
	}

	/* 5: counts and bytes. */
	double bpr_st = 0, bpr_sq = 0;
	uint64_t n_st = 0, n_sq = 0;
	if (ok) {
		hd_store_stats s;
		if (hd_store_stats_get(st.store, &s) != HT_OK)
			die("%s", "store stats");
		n_st = s.records;
		bpr_st = (double)s.bytes_on_disk / (double)s.records;
		printf("INFO store.records %llu inserted, %llu duplicates, %zu partitions; as "
		       "written: %llu bytes on disk, %.1f bytes/record\n",
		       (unsigned long long)s.records, (unsigned long long)ri_st.dups, s.partitions,
		       (unsigned long long)s.bytes_on_disk, bpr_st);
		hd_store_stats_free(&s);
		if (n_st != ri_st.inserted || ri_st.inserted + ri_st.dups != c.gen.n)
			FAIL("store holds %llu records; %llu inserted + %llu duplicates of %llu",
			     (unsigned long long)n_st, (unsigned long long)ri_st.inserted,
			     (unsigned long long)ri_st.dups, (unsigned long long)c.gen.n);
	}
	if (ok && sql) {
		uint64_t b;
		if (sqlb_count(sq.sql, &n_sq) || sqlb_bytes(sq.sql, &b))
			die("%s", "sqlite stats");
		bpr_sq = (double)b / (double)n_sq;
		printf("INFO sqlite.records %llu rows, %llu bytes on disk (db + wal after a "
		       "checkpoint)\n",
		       (unsigned long long)n_sq, (unsigned long long)b);
		if (n_sq != c.gen.n || n_sq != n_st + ri_st.dups)
			FAIL("sqlite holds %llu rows, the store %llu (+ %llu duplicates), "
			     "generated "
			     "%llu",
			     (unsigned long long)n_sq, (unsigned long long)n_st,
			     (unsigned long long)ri_st.dups, (unsigned long long)c.gen.n);
	}

	/* 6: look-ups, warm: one untimed pass each, then interleaved rounds. */
	struct round *r_st = calloc(c.rounds, sizeof(struct round));
	struct round *r_sq = calloc(c.rounds, sizeof(struct round));
	double *lat = malloc(t.n * sizeof(double));
	if (!r_st || !r_sq || !lat)
		die("%s", "out of memory");
	if (ok && (verify(&c, &st, &t) || (sql && verify(&c, &sq, &t))))
		FAIL("look-ups");
	for (unsigned i = 0; ok && i < c.rounds && !interrupted; i++) {
		if (lookup_round(&c, &st, &t, lat, &r_st[i]) ||
		    (sql && lookup_round(&c, &sq, &t, lat, &r_sq[i])))
			FAIL("look-up round %u", i);
		else if (r_st[i].missing || (sql && r_sq[i].missing))
			FAIL("look-up round %u: store missed %llu, sqlite missed %llu", i,
			     (unsigned long long)r_st[i].missing,
			     (unsigned long long)r_sq[i].missing);
		else if (sql && r_st[i].candidates != r_sq[i].candidates)
			FAIL("look-up round %u: the store visited %llu candidates, sqlite %llu", i,
			     (unsigned long long)r_st[i].candidates,
			     (unsigned long long)r_sq[i].candidates);
	}
	/* A request may carry fewer hint bits: more candidates per look-up. */
	for (unsigned bits = 8;; bits -= 8) {
		if (!ok || interrupted)
			break;
		struct round r;
		struct targets sub = t;
		sub.n = t.n < 5000 ? t.n : 5000;
		st.hint_bits = bits;
		if (lookup_round(&c, &st, &sub, lat, &r) || r.missing)
			FAIL("look-ups with %u hint bits", bits);
		else
			printf("INFO store.lookup with %u hint bits: %.1f candidates per look-up, "
			       "%.0f lookups/s, p99 %.1f us (one round)\n",
			       bits, (double)r.candidates / (double)sub.n, r.rate, r.p99_us);
		st.hint_bits = 16;
		if (bits == 0)
			break;
	}

	/* 7: compaction of the finished days, as hoptraced does on a worker thread;
	 * bytes per record are counted after it: what a carrier keeps for months. */
	struct ins_result cp = {0};
	struct round r_cp = {0};
	double bpr_live = bpr_st;
	if (ok && !interrupted) {
		uint32_t *days;
		size_t nd;
		if (hd_store_compactable(st.store, UINT32_MAX, &days, &nd) != HT_OK)
			die("%s", "store compactable");
		struct meter m;
		meter_start(&m);
		for (size_t i = 0; i < nd; i++) {
			int rc = hd_store_compact(st.store, days[i]);
			if (rc != HT_OK)
				FAIL("compaction of day %u: %s", (unsigned)days[i],
				     ht_strerror(rc));
		}
		meter_stop(&m, &cp);
		cp.records = n_st;
		free(days);
		hd_store_stats s;
		if (hd_store_stats_get(st.store, &s) != HT_OK)
			die("%s", "store stats");
		bpr_st = (double)s.bytes_on_disk / (double)s.records;
		printf("INFO store.compaction %zu partitions in %.1f s (%.0f records/s, cpu %.1f "
		       "s): "
		       "%llu bytes on disk, %.1f bytes/record (as written: %.1f)\n",
		       nd, cp.secs, (double)n_st / cp.secs, cp.user + cp.sys,
		       (unsigned long long)s.bytes_on_disk, bpr_st, bpr_live);
		if (s.records != n_st)
			FAIL("after compaction the store holds %llu records, before %llu",
			     (unsigned long long)s.records, (unsigned long long)n_st);
		hd_store_stats_free(&s);
		if (ok && verify(&c, &st, &t))
			FAIL("look-ups after compaction");
		if (ok && lookup_round(&c, &st, &t, lat, &r_cp) == 0)
			printf("INFO store.lookup after compaction: %.0f lookups/s, p99 %.1f us "
			       "(one "
			       "round, warm)\n",
			       r_cp.rate, r_cp.p99_us);
	}
	if (ok && sql && !interrupted) {
		double t0 = now_s();
		uint64_t b;
		if (sqlb_vacuum(sq.sql) || sqlb_bytes(sq.sql, &b))
			FAIL("sqlite vacuum");
		else
			printf("INFO sqlite.vacuum %.1f s: %.1f bytes/record after VACUUM (as "
			       "written: "
			       "%.1f); store compacted / sqlite vacuumed = %.2f\n",
			       now_s() - t0, (double)b / (double)n_sq, bpr_sq,
			       bpr_st / ((double)b / (double)n_sq));
	}
	if (interrupted)
		FAIL("interrupted");

	if (ok) {
		double v[2][4][64];
		unsigned nr = c.rounds < 64 ? c.rounds : 64;
		for (unsigned i = 0; i < nr; i++) {
			v[0][0][i] = r_st[i].rate;
			v[0][1][i] = r_st[i].p99_us;
			v[0][2][i] = r_st[i].p50_us;
			v[1][0][i] = r_sq[i].rate;
			v[1][1][i] = r_sq[i].p99_us;
			v[1][2][i] = r_sq[i].p50_us;
		}
		double lk_st = median(v[0][0], nr), p99_st = median(v[0][1], nr);
		double lk_sq = sql ? median(v[1][0], nr) : 0,
		       p99_sq = sql ? median(v[1][1], nr) : 0;
		printf("INFO lookup: %.2f candidates visited per look-up (hint 16 bits, +-%llu "
		       "ms); "
		       "p50 store %.1f us%s",
		       (double)r_st[0].candidates / (double)t.n, (unsigned long long)c.tol_ms,
		       median(v[0][2], nr), sql ? "" : "\n");
		if (sql)
			printf(", sqlite %.1f us\n", median(v[1][2], nr));
		window_info("store.insert", &ri_st);
		if (sql)
			window_info("sqlite.insert", &ri_sq);
		if (!c.no_csv) {
			printf("INFO csv: %llu bytes of CSV text, %.1f bytes/row\n",
			       (unsigned long long)csv_bytes, (double)csv_bytes / (double)c.gen.n);
			window_info("store.import_csv", &rc_st);
			if (sql)
				window_info("sqlite.import_csv", &rc_sq);
		}
		double ins_st = (double)ri_st.records / ri_st.secs;
		double ins_sq = sql ? (double)ri_sq.records / ri_sq.secs : 0;
		bench_line("store.insert", ins_st, 0, "records/s", ins_sq, sql);
		if (!c.no_csv)
			bench_line("store.import_csv", (double)rc_st.records / rc_st.secs, 0,
				   "rows/s", sql ? (double)rc_sq.records / rc_sq.secs : 0, sql);
		bench_line("store.bytes_per_record", bpr_st, 1, "bytes", bpr_sq, sql);
		bench_line("store.lookup", lk_st, 0, "lookups/s", lk_sq, sql);
		bench_line("store.lookup_p99", p99_st, 1, "us", p99_sq, sql);
		if (sql) {
			printf("INFO sqlite: insert %.0f records/s", ins_sq);
			if (!c.no_csv)
				printf(", import_csv %.0f rows/s",
				       (double)rc_sq.records / rc_sq.secs);
			printf(", %.1f bytes/record, %.0f lookups/s, p99 %.1f us\n", bpr_sq, lk_sq,
			       p99_sq);
		}
	}

	eng_close(&st);
	eng_close(&sq);
	if (ok)
		lmdb_report(store_dir);
	free(r_st);
	free(r_sq);
	free(lat);
	free(t.recs);
	free(store_dir);
	free(sql_path);
	if (!ok)
		return 1;
	return 0;
}
