#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lmdb.h>
#include <sodium.h>

#include "hoptrace/cert.h"
#include "be.h"
#include "log.h"

/*
 * On-disk layout (docs/store.md). One LMDB file per UTC day,
 * DIR/cdr-YYYYMMDD.mdb, holding three databases:
 *   calls  key  down(2) bucket(2) hint(2) ms(2), big-endian: the call's
 *              time is day * 86400000 + bucket * 10000 + ms. One
 *              downstream peer's calls are contiguous, by 10-second bucket,
 *              then by hint, then by time: a look-up seeks straight to its
 *              hint in one or two buckets, and time-ordered imports write
 *              into the newest bucket of each peer only, so a commit
 *              rewrites few pages;
 *          data calling(7) called(7) up(2) flags(1) [origid(16)]
 *              [len(1) customer_ref] [len(1) call_id]; sorted duplicates
 *              (MDB_DUPSORT), so a record stored twice is found, not added;
 *   peers  provider ID -> index(2); index 0 is "here";
 *   meta   "span" -> first_ms(8) last_ms(8); "c" index(2) -> up(8) down(8).
 */
#define KEY_LEN   8
#define BUCKET_MS 10000ULL
#define VAL_MAX   (17 + 16 + 1 + 64 + 1 + 128)
#define F_ORIGID  0x04
#define F_CREF    0x08
#define F_CALLID  0x10

struct partition {
	uint32_t day; /* days since the epoch */
	char *path;
	MDB_env *env;
	MDB_dbi calls, peers, meta;
	/* index -> provider ID; [0] is "" (here) */
	char (*names)[HT_PROVIDER_ID_MAX + 1];
	size_t n_names; /* durable names; up to n_prov with provisional ones */
	size_t n_prov;
	bool compacting; /* a compaction copy is reading it: retention waits */
	/* provider ID -> index, open addressing; 0 = empty slot */
	uint16_t *slots;
	size_t n_slots;
};

static size_t name_hash(const char *s)
{
	size_t h = 14695981039346656037ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/*
 * The index of `id` among the first `limit` names, or 0. Slots may point at
 * provisional names of an aborted transaction: the name comparison skips
 * them.
 */
static uint16_t name_find(const struct partition *p, const char *id, size_t limit)
{
	if (!p->n_slots)
		return 0;
	for (size_t i = name_hash(id) & (p->n_slots - 1);; i = (i + 1) & (p->n_slots - 1)) {
		uint16_t idx = p->slots[i];
		if (!idx)
			return 0;
		if (idx < limit && strcmp(p->names[idx], id) == 0)
			return idx;
	}
}

static int name_add(struct partition *p, uint16_t idx)
{
	if ((size_t)(idx + 1) * 2 > p->n_slots) { /* keep the table at most half full */
		size_t n = p->n_slots ? p->n_slots * 2 : 64;
		while ((size_t)(idx + 1) * 2 > n)
			n *= 2;
		uint16_t *ns = calloc(n, sizeof(*ns));
		if (!ns)
			return ENOMEM;
		free(p->slots);
		p->slots = ns;
		p->n_slots = n;
		for (size_t j = 1; j < idx; j++)
			if (p->names[j][0])
				name_add(p, (uint16_t)j);
	}
	size_t i = name_hash(p->names[idx]) & (p->n_slots - 1);
	while (p->slots[i])
		i = (i + 1) & (p->n_slots - 1);
	p->slots[i] = idx;
	return 0;
}

/*
 * Inserts go in two steps. The owner's thread prepares a batch (checks,
 * encodes, hashes the hints, resolves peer indexes, sorts); the writer
 * thread puts it into LMDB, commits and syncs. hd_store_submit prepares
 * the next batch while the writer commits earlier ones, so the commit's
 * disk writes overlap the CPU work. Up to MAX_INFLIGHT batches are with
 * the writer; it takes all that wait, and commits consecutive ones of one
 * partition in one transaction (group commit: a commit rewrites the newest
 * leaf pages of each peer whatever the batch size, so fewer, larger
 * commits write fewer bytes per record); each is acknowledged only once
 * that is synced. The
 * in-memory peer tables are only touched by the owner's thread: a batch's
 * new peers get provisional indexes (below n_prov), which the writer puts
 * with the batch and which become durable (below n_names) when the owner
 * collects the result. After a failure the writer refuses every batch
 * until the owner has collected them all (later batches may use the failed
 * one's provisional peers).
 */
#define MAX_INFLIGHT 4
struct sort_ent;

/* One partition's share of a batch: one transaction. */
struct day_job {
	struct partition *p;
	size_t off, n;               /* its records: kvs[off..off+n) */
	struct sort_ent *sorted;     /* their order by key */
	size_t names_from, names_to; /* peer indexes first used here: put with it */
	size_t added, dup;
	int lmdb_rc; /* the writer's LMDB error; -1: refused after another failed */
	bool done;   /* committed */
	const char *what;
};

enum job_state { J_FREE, J_QUEUED, J_RUNNING, J_DONE };

/* A batch's working memory: one being prepared, MAX_INFLIGHT with the writer. */
struct job {
	enum job_state state; /* under the store's mutex once handed over */
	struct kv *kvs;
	uint8_t *vals; /* the values, packed: a batch's working set stays in cache */
	struct sort_ent *ord, *tmp;
	size_t *which;
	size_t cap;
	uint64_t *counts; /* per peer index: up, down; all zero between batches */
	struct day_job *days;
	size_t n_days, cap_days;
	hd_store_done_fn done; /* hd_store_submit_async: told instead of held */
	void *done_ud;
};

struct hd_store {
	char *dir;
	hd_store_opts opts;
	struct partition **parts; /* sorted by day */
	size_t n_parts;

	struct job jobs[MAX_INFLIGHT + 1];
	/* Collected results not yet reported by hd_store_submit/flush. */
	size_t held_ins, held_dup;
	int held_rc;

	pthread_t writer;
	bool writer_started;
	pthread_mutex_t mu; /* guards the rest */
	pthread_cond_t cv;
	bool writer_stop;
	bool poisoned;                  /* a batch failed: refuse until all are collected */
	struct job *fifo[MAX_INFLIGHT]; /* handed over, not collected; oldest first */
	size_t n_fifo;
	void (*notify)(void *ud); /* the writer wakes the owner's loop (hd_store_set_notify) */
	void *notify_ud;
};

static void collect(hd_store *s);
static void job_free(struct job *j);

static int lmdb_err(int rc, const char *what, const char *path)
{
	log_error("store: %s %s: %s", what, path, mdb_strerror(rc));
	return rc == ENOMEM ? HT_E_NOMEM : HT_E_IO;
}

/* E.164 digits (1-15, no leading zero) as an integer; -1 if not. */
static int digits_to_u64(const char *s, uint64_t *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > 15 || s[0] == '0')
		return -1;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

uint16_t hd_store_hint(const char *calling, const char *called)
{
	static const char dom[] = "hoptrace/v1 number-hint";
	static const uint8_t zero = 0;
	uint8_t h[32];
	size_t a = strlen(calling), b = strlen(called);
	/* The whole message fits one BLAKE2b block for E.164 numbers: one call
	 * hashes it, with no state to set up or copy. */
	uint8_t m[128];
	if (sizeof(dom) + a + 1 + b <= sizeof(m)) {
		memcpy(m, dom, sizeof(dom)); /* with its NUL: the 0x00 separator */
		memcpy(m + sizeof(dom), calling, a);
		m[sizeof(dom) + a] = 0;
		memcpy(m + sizeof(dom) + a + 1, called, b);
		crypto_generichash(h, sizeof(h), m, sizeof(dom) + a + 1 + b, NULL, 0);
	} else {
		crypto_generichash_state st;
		crypto_generichash_init(&st, NULL, 0, sizeof(h));
		crypto_generichash_update(&st, (const uint8_t *)dom, sizeof(dom) - 1);
		crypto_generichash_update(&st, &zero, 1);
		crypto_generichash_update(&st, (const uint8_t *)calling, a);
		crypto_generichash_update(&st, &zero, 1);
		crypto_generichash_update(&st, (const uint8_t *)called, b);
		crypto_generichash_final(&st, h, sizeof(h));
	}
	return (uint16_t)(h[0] << 8 | h[1]);
}

/* ---- partitions ---- */

static uint32_t day_of(uint64_t ms)
{
	return (uint32_t)(ms / HD_STORE_DAY_MS);
}

static char *part_path(const char *dir, uint32_t day)
{
	/* Civil date of `day` for a name people can read. */
	int64_t z = (int64_t)day + 719468;
	int64_t era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	long long y = (long long)yoe + era * 400 + (m <= 2);
	size_t n = strlen(dir) + 32;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/cdr-%04lld%02u%02u.mdb", dir, y, m, d);
	return p;
}

/* Parses "cdr-YYYYMMDD.mdb" into a day number; -1 if not a partition. */
static int parse_part_name(const char *name, uint32_t *day)
{
	unsigned y, m, d;
	char tail[8];
	if (strlen(name) != 16 || sscanf(name, "cdr-%4u%2u%2u%4s", &y, &m, &d, tail) != 4 ||
	    strcmp(tail, ".mdb") != 0 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	unsigned yoe = (unsigned)(yy - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + (int64_t)doe - 719468;
	if (days < 0)
		return -1;
	*day = (uint32_t)days;
	return 0;
}

static void part_free(struct partition *p)
{
	if (!p)
		return;
	if (p->env)
		mdb_env_close(p->env);
	free(p->names);
	free(p->slots);
	free(p->path);
	free(p);
}

/* Loads the peer index table of a partition into memory. */
static int load_names(struct partition *p, MDB_txn *txn)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, p->peers, &cur);
	if (rc)
		return rc;
	p->n_names = 1;
	p->names = calloc(HD_STORE_MAX_PEERS + 1, sizeof(*p->names));
	if (!p->names) {
		mdb_cursor_close(cur);
		return ENOMEM;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (v.mv_size != 2 || k.mv_size == 0 || k.mv_size > HT_PROVIDER_ID_MAX) {
			mdb_cursor_close(cur);
			return MDB_CORRUPTED;
		}
		uint16_t idx = (uint16_t)get_be(v.mv_data, 2);
		if (idx == 0) {
			mdb_cursor_close(cur);
			return MDB_CORRUPTED;
		}
		memcpy(p->names[idx], k.mv_data, k.mv_size);
		p->names[idx][k.mv_size] = 0;
		if (idx >= p->n_names)
			p->n_names = (size_t)idx + 1;
		if (name_add(p, idx) != 0) {
			mdb_cursor_close(cur);
			return ENOMEM;
		}
	}
	mdb_cursor_close(cur);
	p->n_prov = p->n_names;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int part_open(hd_store *s, uint32_t day, struct partition **out)
{
	struct partition *p = calloc(1, sizeof(*p));
	if (!p)
		return HT_E_NOMEM;
	p->day = day;
	p->path = part_path(s->dir, day);
	if (!p->path) {
		free(p);
		return HT_E_NOMEM;
	}
	MDB_txn *txn = NULL;
	int rc = mdb_env_create(&p->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(p->env, 4);
	if (!rc)
		rc = mdb_env_set_mapsize(p->env, s->opts.map_size);
	if (!rc)
		rc = mdb_env_open(p->env, p->path,
				  MDB_NOSUBDIR | MDB_NOTLS | (s->opts.no_sync ? MDB_NOSYNC : 0),
				  0640);
	if (!rc)
		rc = mdb_txn_begin(p->env, NULL, 0, &txn);
	if (!rc)
		rc = mdb_dbi_open(txn, "calls", MDB_CREATE | MDB_DUPSORT, &p->calls);
	if (!rc)
		rc = mdb_dbi_open(txn, "peers", MDB_CREATE, &p->peers);
	if (!rc)
		rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &p->meta);
	if (!rc)
		rc = load_names(p, txn);
	if (!rc) {
		rc = mdb_txn_commit(txn);
		txn = NULL;
	}
	if (rc) {
		if (txn)
			mdb_txn_abort(txn);
		int e = lmdb_err(rc, "open", p->path);
		part_free(p);
		return e;
	}
	*out = p;
	return HT_OK;
}

/* The partition for `day`, opened or created; kept sorted by day. */
static int part_get(hd_store *s, uint32_t day, bool create, struct partition **out)
{
	size_t i = 0;
	while (i < s->n_parts && s->parts[i]->day < day)
		i++;
	if (i < s->n_parts && s->parts[i]->day == day) {
		*out = s->parts[i];
		return HT_OK;
	}
	if (!create) {
		*out = NULL;
		return HT_OK;
	}
	if (s->n_parts == HD_STORE_MAX_PARTITIONS)
		return HT_E_TOO_LARGE;
	struct partition **np = realloc(s->parts, (s->n_parts + 1) * sizeof(*np));
	if (!np)
		return HT_E_NOMEM;
	s->parts = np;
	struct partition *p;
	int rc = part_open(s, day, &p);
	if (rc != HT_OK)
		return rc;
	memmove(&s->parts[i + 1], &s->parts[i], (s->n_parts - i) * sizeof(*np));
	s->parts[i] = p;
	s->n_parts++;
	*out = p;
	return HT_OK;
}

int hd_store_open(hd_store **out, const hd_store_opts *opts)
{
	/* libsodium picks its fastest BLAKE2b for this CPU here; without it the
	 * hint runs the portable code (hoptraced has called it already). */
	if (sodium_init() < 0)
		return HT_E_CRYPTO;
	hd_store *s = calloc(1, sizeof(*s));
	if (!s)
		return HT_E_NOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->opts = *opts;
	if (!s->opts.map_size)
		s->opts.map_size = 64ULL << 30;
	s->dir = strdup(opts->dir);
	if (!s->dir) {
		free(s);
		return HT_E_NOMEM;
	}
	if (mkdir(s->dir, 0750) != 0 && errno != EEXIST) {
		log_error("store: mkdir %s: %s", s->dir, strerror(errno));
		hd_store_close(s);
		return HT_E_IO;
	}
	DIR *d = opendir(s->dir);
	if (!d) {
		log_error("store: %s: %s", s->dir, strerror(errno));
		hd_store_close(s);
		return HT_E_IO;
	}
	struct dirent *e;
	int rc = HT_OK;
	while (rc == HT_OK && (e = readdir(d))) {
		uint32_t day;
		struct partition *p;
		size_t nl = strlen(e->d_name);
		if (nl > 8 && strncmp(e->d_name, "cdr-", 4) == 0 &&
		    (strcmp(e->d_name + nl - 4, ".tmp") == 0 ||
		     strcmp(e->d_name + nl - 9, ".tmp-lock") == 0)) {
			/* An interrupted compaction: the partition itself is intact. */
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
			unlink(path);
			continue;
		}
		if (parse_part_name(e->d_name, &day) == 0)
			rc = part_get(s, day, true, &p);
	}
	closedir(d);
	if (rc != HT_OK) {
		hd_store_close(s);
		return rc;
	}
	*out = s;
	return HT_OK;
}

void hd_store_close(hd_store *s)
{
	if (!s)
		return;
	collect(s); /* an unflushed batch: committed or not, nobody hears of it */
	if (s->writer_started) {
		pthread_mutex_lock(&s->mu);
		s->writer_stop = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->writer, NULL);
	}
	for (size_t i = 0; i < s->n_parts; i++)
		part_free(s->parts[i]);
	free(s->parts);
	free(s->dir);
	for (size_t i = 0; i <= MAX_INFLIGHT; i++)
		job_free(&s->jobs[i]);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

/* ---- insert ---- */

struct kv {
	uint64_t key;     /* the key's 8 big-endian bytes as an integer: same order */
	uint32_t val_off; /* the value: vals[val_off..+val_len) of its job */
	uint16_t val_len, up, down;
};

/* A record's key and its place in the batch, for sorting. */
struct sort_ent {
	uint64_t key;
	size_t i;
};

static void job_free(struct job *j)
{
	free(j->kvs);
	free(j->vals);
	free(j->ord);
	free(j->tmp);
	free(j->which);
	free(j->counts);
	free(j->days);
	memset(j, 0, sizeof(*j));
}

static int job_reserve(struct job *j, size_t n)
{
	if (!j->counts && !(j->counts = calloc(HD_STORE_MAX_PEERS + 1, 2 * sizeof(uint64_t))))
		return HT_E_NOMEM;
	if (n <= j->cap)
		return HT_OK;
	free(j->kvs);
	free(j->vals);
	free(j->ord);
	free(j->tmp);
	free(j->which);
	j->kvs = malloc(n * sizeof(*j->kvs));
	j->vals = n <= UINT32_MAX / VAL_MAX ? malloc(n * VAL_MAX) : NULL;
	j->ord = malloc(n * sizeof(*j->ord));
	j->tmp = malloc(n * sizeof(*j->tmp));
	j->which = malloc(n * sizeof(*j->which));
	j->cap = n;
	if (!j->kvs || !j->vals || !j->ord || !j->tmp || !j->which) {
		uint64_t *c = j->counts;
		j->counts = NULL;
		job_free(j);
		j->counts = c;
		return HT_E_NOMEM;
	}
	return HT_OK;
}

/*
 * Sorts a[0..n) by key: least significant byte first, a stable counting
 * pass per byte, skipping the bytes all keys share (a batch spans a few
 * buckets of a few hundred peers). Returns a or tmp, whichever holds the
 * result.
 */
static struct sort_ent *radix_sort(struct sort_ent *a, struct sort_ent *tmp, size_t n)
{
	size_t cnt[KEY_LEN][256];
	memset(cnt, 0, sizeof(cnt));
	for (size_t i = 0; i < n; i++)
		for (unsigned b = 0; b < KEY_LEN; b++)
			cnt[b][(a[i].key >> (8 * b)) & 0xff]++;
	for (unsigned b = 0; b < KEY_LEN && n > 1; b++) {
		size_t *c = cnt[b];
		if (c[(a[0].key >> (8 * b)) & 0xff] == n)
			continue; /* one value: the pass would not move anything */
		size_t sum = 0;
		for (unsigned v = 0; v < 256; v++) {
			size_t x = c[v];
			c[v] = sum;
			sum += x;
		}
		for (size_t i = 0; i < n; i++)
			tmp[c[(a[i].key >> (8 * b)) & 0xff]++] = a[i];
		struct sort_ent *t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

/* The call time a key of partition `p` stands for. */
static uint64_t key_time(const struct partition *p, const uint8_t *key)
{
	return (uint64_t)p->day * HD_STORE_DAY_MS + get_be(key + 2, 2) * BUCKET_MS +
	       get_be(key + 6, 2);
}

/*
 * The index of provider `id` in `p`; a new one gets the next provisional
 * index (owner's thread), put by the writer with the batch. HT_E_INVAL for
 * an invalid ID (names in the table were checked when added).
 */
static int peer_index(struct partition *p, const char *id, uint16_t *idx)
{
	if (!id[0]) {
		*idx = 0;
		return HT_OK;
	}
	uint16_t found = name_find(p, id, p->n_prov);
	if (found) {
		*idx = found;
		return HT_OK;
	}
	size_t len = strnlen(id, HT_PROVIDER_ID_MAX + 1);
	if (!ht_provider_id_valid(id, len))
		return HT_E_INVAL;
	if (p->n_prov > HD_STORE_MAX_PEERS)
		return HT_E_TOO_LARGE;
	memcpy(p->names[p->n_prov], id, len + 1);
	*idx = (uint16_t)p->n_prov++;
	return name_add(p, *idx) ? HT_E_NOMEM : HT_OK;
}

/* The key and value of `r`, but for the peer indexes (peer_index). */
static int encode(const ht_cdr *r, struct kv *kv, uint8_t *v)
{
	uint64_t a, b;
	if (digits_to_u64(r->calling, &a) || digits_to_u64(r->called, &b) ||
	    r->time_ms >= (1ULL << 48))
		return -1;
	put_be(v, a, 7);
	put_be(v + 7, b, 7);
	/* v[14..15]: upstream index, filled in once known */
	uint8_t flags = 0;
	switch (r->attestation) {
	case 0:
		break;
	case 'A':
		flags = 1;
		break;
	case 'B':
		flags = 2;
		break;
	case 'C':
		flags = 3;
		break;
	default:
		return -1;
	}
	size_t n = 17;
	if (r->has_origid) {
		flags |= F_ORIGID;
		memcpy(v + n, r->origid, 16);
		n += 16;
	}
	size_t cl = strnlen(r->customer_ref, sizeof(r->customer_ref));
	if (cl == sizeof(r->customer_ref))
		return -1;
	if (cl) {
		flags |= F_CREF;
		v[n++] = (uint8_t)cl;
		memcpy(v + n, r->customer_ref, cl);
		n += cl;
	}
	size_t il = strnlen(r->call_id, sizeof(r->call_id));
	if (il == sizeof(r->call_id))
		return -1;
	if (il) {
		flags |= F_CALLID;
		v[n++] = (uint8_t)il;
		memcpy(v + n, r->call_id, il);
		n += il;
	}
	v[16] = flags;
	kv->val_len = (uint16_t)n;
	uint64_t in_day = r->time_ms % HD_STORE_DAY_MS;
	/* down(2), filled in once known; bucket(2) hint(2) ms(2) */
	kv->key = (in_day / BUCKET_MS) << 32 |
		  (uint64_t)hd_store_hint(r->calling, r->called) << 16 | in_day % BUCKET_MS;
	return 0;
}

/* Meta counters of a partition, read-modify-written in `txn`. */
static int meta_add(struct partition *p, MDB_txn *txn, uint16_t idx, uint64_t up, uint64_t down)
{
	uint8_t key[3] = {'c'};
	put_be(key + 1, idx, 2);
	MDB_val k = {3, key}, v;
	uint8_t buf[16] = {0};
	int rc = mdb_get(txn, p->meta, &k, &v);
	if (rc == 0 && v.mv_size == 16)
		memcpy(buf, v.mv_data, 16);
	else if (rc != MDB_NOTFOUND && rc != 0)
		return rc;
	put_be(buf, get_be(buf, 8) + up, 8);
	put_be(buf + 8, get_be(buf + 8, 8) + down, 8);
	v.mv_size = 16;
	v.mv_data = buf;
	return mdb_put(txn, p->meta, &k, &v, 0);
}

static int span_update(struct partition *p, MDB_txn *txn, uint64_t lo, uint64_t hi)
{
	MDB_val k = {4, "span"}, v;
	uint8_t buf[16];
	int rc = mdb_get(txn, p->meta, &k, &v);
	if (rc == 0 && v.mv_size == 16) {
		uint64_t a = get_be(v.mv_data, 8), b = get_be((uint8_t *)v.mv_data + 8, 8);
		if (a < lo)
			lo = a;
		if (b > hi)
			hi = b;
	} else if (rc != MDB_NOTFOUND && rc != 0) {
		return rc;
	}
	put_be(buf, lo, 8);
	put_be(buf + 8, hi, 8);
	v.mv_size = 16;
	v.mv_data = buf;
	return mdb_put(txn, p->meta, &k, &v, 0);
}

/*
 * Writer thread: puts the shares of one partition of n batches (jobs[i],
 * days[i]) in one transaction. Counts go to jobs[0]'s counters.
 */
static int commit_days(struct job **jobs, struct day_job **days, size_t n)
{
	struct partition *p = days[0]->p;
	uint64_t *cnt = jobs[0]->counts;
	MDB_txn *txn;
	const char **what = &days[0]->what;
	*what = "begin";
	int rc = mdb_txn_begin(p->env, NULL, 0, &txn);
	if (rc)
		return rc;
	*what = "insert into";
	uint64_t lo = UINT64_MAX, hi = 0;
	size_t added = 0, names_to = 0;
	for (size_t b = 0; b < n && !rc; b++) {
		struct job *j = jobs[b];
		struct day_job *d = days[b];
		names_to = d->names_to;
		for (size_t i = d->names_from; i < d->names_to && !rc; i++) {
			uint8_t ib[2];
			put_be(ib, i, 2);
			MDB_val k = {strlen(p->names[i]), p->names[i]}, v = {2, ib};
			rc = mdb_put(txn, p->peers, &k, &v, MDB_NOOVERWRITE);
		}
		/* Key order, through one cursor: each put starts near the last one. */
		MDB_cursor *cur = NULL;
		if (!rc)
			rc = mdb_cursor_open(txn, p->calls, &cur);
		for (size_t r = 0; r < d->n && !rc; r++) {
			struct kv *x = &j->kvs[d->sorted[r].i];
			uint8_t key[KEY_LEN];
			put_be(key, x->key, KEY_LEN);
			MDB_val k = {KEY_LEN, key}, v = {x->val_len, j->vals + x->val_off};
			rc = mdb_cursor_put(cur, &k, &v, MDB_NODUPDATA);
			if (rc == MDB_KEYEXIST) {
				d->dup++;
				rc = 0;
				continue;
			}
			if (rc)
				break;
			d->added++;
			cnt[2 * x->up]++;
			cnt[2 * x->down + 1]++;
			uint64_t t = key_time(p, key);
			if (t < lo)
				lo = t;
			if (t > hi)
				hi = t;
		}
		if (cur)
			mdb_cursor_close(cur);
		added += d->added;
	}
	for (size_t i = 0; i < names_to; i++) {
		if ((cnt[2 * i] || cnt[2 * i + 1]) && !rc)
			rc = meta_add(p, txn, (uint16_t)i, cnt[2 * i], cnt[2 * i + 1]);
		cnt[2 * i] = cnt[2 * i + 1] = 0;
	}
	if (!rc && added)
		rc = span_update(p, txn, lo, hi);
	if (rc) {
		mdb_txn_abort(txn);
		return rc;
	}
	*what = "commit";
	if ((rc = mdb_txn_commit(txn)) != 0)
		return rc;
	for (size_t b = 0; b < n; b++)
		days[b]->done = true;
	return 0;
}

/*
 * Writer thread: commits the batches taken together, in order; a run of
 * batches of the same single partition in one transaction. Returns false
 * at the first failure, after which nothing more is committed.
 */
static bool commit_group(struct job **g, size_t n, bool refuse)
{
	for (size_t b = 0; b < n;) {
		size_t e = b + 1;
		while (e < n && g[b]->n_days == 1 && g[e]->n_days == 1 &&
		       g[e]->days[0].p == g[b]->days[0].p)
			e++;
		if (refuse) {
			for (; b < e; b++)
				for (size_t i = 0; i < g[b]->n_days; i++)
					g[b]->days[i].lmdb_rc = -1;
			continue;
		}
		if (e > b + 1) {
			struct day_job *d[MAX_INFLIGHT];
			for (size_t k = b; k < e; k++)
				d[k - b] = &g[k]->days[0];
			int rc = commit_days(g + b, d, e - b);
			for (size_t k = b; k < e; k++)
				d[k - b]->lmdb_rc = rc ? -1 : 0;
			d[0]->lmdb_rc = rc;
			refuse = rc != 0;
			b = e;
			continue;
		}
		for (size_t i = 0; i < g[b]->n_days; i++) {
			struct day_job *d = &g[b]->days[i];
			if (refuse) {
				d->lmdb_rc = -1;
				continue;
			}
			d->lmdb_rc = commit_days(&g[b], &d, 1);
			/* Partition by partition, as hd_store_insert promises. */
			if (d->lmdb_rc)
				refuse = true;
		}
		b = e;
	}
	return !refuse;
}

static void *writer_main(void *arg)
{
	hd_store *s = arg;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct job *g[MAX_INFLIGHT];
		size_t n = 0;
		for (size_t i = 0; i < s->n_fifo; i++)
			if (s->fifo[i]->state == J_QUEUED) {
				s->fifo[i]->state = J_RUNNING;
				g[n++] = s->fifo[i];
			}
		if (!n) {
			if (s->writer_stop)
				break;
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		bool refuse = s->poisoned;
		pthread_mutex_unlock(&s->mu);
		bool ok = commit_group(g, n, refuse);
		pthread_mutex_lock(&s->mu);
		if (!ok)
			s->poisoned = true;
		for (size_t i = 0; i < n; i++)
			g[i]->state = J_DONE;
		pthread_cond_broadcast(&s->cv);
		if (s->notify)
			s->notify(s->notify_ud);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Forgets every provisional peer index: after a failure, or a batch dropped. */
static void drop_provisional(hd_store *s)
{
	for (size_t i = 0; i < s->n_parts; i++)
		s->parts[i]->n_prov = s->parts[i]->n_names;
}

/* Waits for the oldest batch handed over, if any, and holds its result. */
static void collect_one(hd_store *s)
{
	pthread_mutex_lock(&s->mu);
	if (!s->n_fifo) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	struct job *j = s->fifo[0];
	while (j->state != J_DONE)
		pthread_cond_wait(&s->cv, &s->mu);
	memmove(&s->fifo[0], &s->fifo[1], --s->n_fifo * sizeof(s->fifo[0]));
	j->state = J_FREE;
	if (!s->n_fifo)
		s->poisoned = false; /* every batch after the failure is collected */
	pthread_mutex_unlock(&s->mu);
	bool failed = false;
	size_t ins = 0, dup = 0;
	int jrc = HT_OK;
	for (size_t i = 0; i < j->n_days; i++) {
		struct day_job *d = &j->days[i];
		if (d->done) {
			d->p->n_names = d->names_to; /* its new peers are durable now */
			ins += d->added;
			dup += d->dup;
		} else if (!failed) {
			failed = true;
			jrc = HT_E_IO; /* refused: an earlier batch failed */
			if (d->lmdb_rc > 0 || d->lmdb_rc < -1)
				jrc = lmdb_err(d->lmdb_rc, d->what, d->p->path);
		}
	}
	if (failed)
		drop_provisional(s);
	hd_store_done_fn done = j->done;
	j->done = NULL;
	if (done) {
		done(j->done_ud, jrc, ins, dup);
		return;
	}
	s->held_ins += ins;
	s->held_dup += dup;
	if (jrc != HT_OK && s->held_rc == HT_OK)
		s->held_rc = jrc;
}

/* Waits for every batch handed over and holds the results. */
static void collect(hd_store *s)
{
	for (;;) {
		pthread_mutex_lock(&s->mu);
		size_t n = s->n_fifo;
		pthread_mutex_unlock(&s->mu);
		if (!n)
			return;
		collect_one(s);
	}
}

/* Hands job `j` to the writer thread, started on first use. */
static int hand_over(hd_store *s, struct job *j)
{
	if (!s->writer_started) {
		s->writer_stop = false;
		if (pthread_create(&s->writer, NULL, writer_main, s) != 0)
			return HT_E_IO;
		s->writer_started = true;
	}
	pthread_mutex_lock(&s->mu);
	j->state = J_QUEUED;
	s->fifo[s->n_fifo++] = j;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return HT_OK;
}

/* Takes back the provisional peer indexes of a batch that is not handed over. */
static void unprepare(struct job *j)
{
	for (size_t i = j->n_days; i-- > 0;)
		j->days[i].p->n_prov = j->days[i].names_from;
	j->n_days = 0;
}

/* Reports the held results, and clears them. */
static int report(hd_store *s, size_t *inserted, size_t *duplicates)
{
	int rc = s->held_rc;
	*inserted += s->held_ins;
	*duplicates += s->held_dup;
	s->held_ins = s->held_dup = 0;
	s->held_rc = HT_OK;
	return rc;
}

/*
 * Owner's thread: groups a batch by day and prepares each day's share in
 * `j`: encoded, peer indexes resolved (new ones provisional), sorted.
 */
static int prepare(hd_store *s, struct job *j, const ht_cdr *recs, size_t n)
{
	j->n_days = 0;
	int rc = job_reserve(j, n);
	size_t done = 0, *which = j->which, vo = 0;
	/* Group by day: usually one, two around midnight. */
	while (rc == HT_OK && done < n) {
		uint32_t day = UINT32_MAX;
		for (size_t i = 0; i < n; i++) {
			uint32_t dd = day_of(recs[i].time_ms);
			if (dd < day && (done == 0 || dd > day_of(recs[which[done - 1]].time_ms)))
				day = dd;
		}
		size_t start = done;
		for (size_t i = 0; i < n; i++)
			if (day_of(recs[i].time_ms) == day)
				which[done++] = i;
		struct partition *p;
		if ((rc = part_get(s, day, true, &p)) != HT_OK)
			break;
		if (j->n_days == j->cap_days) {
			size_t nc = j->cap_days ? 2 * j->cap_days : 4;
			struct day_job *nd = realloc(j->days, nc * sizeof(*nd));
			if (!nd) {
				rc = HT_E_NOMEM;
				break;
			}
			j->days = nd;
			j->cap_days = nc;
		}
		struct day_job *d = &j->days[j->n_days++];
		memset(d, 0, sizeof(*d));
		d->p = p;
		d->off = start;
		d->n = done - start;
		d->names_from = p->n_prov;
		for (size_t i = start; i < done && rc == HT_OK; i++) {
			const ht_cdr *r = &recs[which[i]];
			struct kv *x = &j->kvs[i];
			x->val_off = (uint32_t)vo;
			if (encode(r, x, j->vals + vo) != 0) {
				rc = HT_E_INVAL;
				break;
			}
			rc = peer_index(p, r->upstream, &x->up);
			if (rc == HT_OK)
				rc = peer_index(p, r->downstream, &x->down);
			x->key |= (uint64_t)x->down << 48;
			put_be(j->vals + vo + 14, x->up, 2);
			vo += x->val_len;
			j->ord[i].key = x->key;
			j->ord[i].i = i;
		}
		d->names_to = p->n_prov;
		/* Key order: neighbouring records share pages, as in a merge. */
		if (rc == HT_OK)
			d->sorted = radix_sort(j->ord + start, j->tmp + start, d->n);
	}
	return rc;
}

int hd_store_submit(hd_store *s, const ht_cdr *recs, size_t n, size_t *inserted, size_t *duplicates)
{
	struct job *j = NULL;
	pthread_mutex_lock(&s->mu);
	if (s->n_fifo == MAX_INFLIGHT) {
		/* Filled by hd_store_submit_async: make room as below. */
		pthread_mutex_unlock(&s->mu);
		collect_one(s);
		pthread_mutex_lock(&s->mu);
	}
	for (size_t i = 0; i <= MAX_INFLIGHT && !j; i++)
		if (s->jobs[i].state == J_FREE) /* one is: at most MAX_INFLIGHT - 1 are not */
			j = &s->jobs[i];
	pthread_mutex_unlock(&s->mu);
	int rc = n ? prepare(s, j, recs, n) : HT_OK;
	if (rc != HT_OK)
		unprepare(j);
	else if (n && s->held_rc == HT_OK && (rc = hand_over(s, j)) != HT_OK)
		unprepare(j);
	/* Keep a free slot: wait for the oldest (committed and synced, or failed). */
	pthread_mutex_lock(&s->mu);
	bool full = s->n_fifo == MAX_INFLIGHT;
	pthread_mutex_unlock(&s->mu);
	if (full)
		collect_one(s);
	int prev = report(s, inserted, duplicates);
	if (prev != HT_OK) {
		/* Batches after a failure are refused: their peers are not kept. */
		drop_provisional(s);
		return prev;
	}
	return rc;
}

size_t hd_store_room(hd_store *s)
{
	pthread_mutex_lock(&s->mu);
	size_t room = MAX_INFLIGHT - s->n_fifo;
	pthread_mutex_unlock(&s->mu);
	return room;
}

int hd_store_submit_async(hd_store *s, const ht_cdr *recs, size_t n, hd_store_done_fn done,
			  void *ud)
{
	struct job *j = NULL;
	pthread_mutex_lock(&s->mu);
	/* With MAX_INFLIGHT - 1 or fewer handed over, a job is free. */
	for (size_t i = 0; i <= MAX_INFLIGHT && !j && s->n_fifo < MAX_INFLIGHT; i++)
		if (s->jobs[i].state == J_FREE)
			j = &s->jobs[i];
	pthread_mutex_unlock(&s->mu);
	if (!j || !n || !done)
		return HT_E_INVAL;
	int rc = prepare(s, j, recs, n);
	if (rc == HT_OK) {
		j->done = done;
		j->done_ud = ud;
		if ((rc = hand_over(s, j)) != HT_OK)
			j->done = NULL;
	}
	if (rc != HT_OK)
		unprepare(j);
	return rc;
}

void hd_store_poll(hd_store *s)
{
	for (;;) {
		pthread_mutex_lock(&s->mu);
		bool ready = s->n_fifo > 0 && s->fifo[0]->state == J_DONE;
		pthread_mutex_unlock(&s->mu);
		if (!ready)
			return;
		collect_one(s);
	}
}

void hd_store_set_notify(hd_store *s, void (*fn)(void *ud), void *ud)
{
	pthread_mutex_lock(&s->mu);
	s->notify = fn;
	s->notify_ud = ud;
	pthread_mutex_unlock(&s->mu);
}

int hd_store_flush(hd_store *s, size_t *inserted, size_t *duplicates)
{
	collect(s);
	return report(s, inserted, duplicates);
}

int hd_store_insert(hd_store *s, const ht_cdr *recs, size_t n, size_t *inserted, size_t *duplicates)
{
	*inserted = *duplicates = 0;
	pthread_mutex_lock(&s->mu);
	bool pending = s->n_fifo > 0;
	pthread_mutex_unlock(&s->mu);
	if (pending || s->held_rc != HT_OK || s->held_ins || s->held_dup)
		return HT_E_INVAL; /* a submitted batch is not flushed */
	int rc = hd_store_submit(s, recs, n, inserted, duplicates);
	int frc = hd_store_flush(s, inserted, duplicates);
	return rc != HT_OK ? rc : frc;
}

/* ---- lookup ---- */

/* The inverse of digits_to_u64: at most 15 digits, else -1. */
static int u64_to_digits(uint64_t v, char out[16])
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(tmp));
	if (v || n > 15)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = 0;
	return 0;
}

static int decode(struct partition *p, const MDB_val *k, const MDB_val *v, ht_cdr *r)
{
	const uint8_t *b = v->mv_data;
	if (v->mv_size < 17 || k->mv_size != KEY_LEN)
		return -1;
	memset(r, 0, sizeof(*r));
	r->time_ms = key_time(p, k->mv_data);
	if (u64_to_digits(get_be(b, 7), r->calling) || u64_to_digits(get_be(b + 7, 7), r->called))
		return -1;
	size_t up = get_be(b + 14, 2), down = get_be(k->mv_data, 2);
	if (up >= p->n_prov || down >= p->n_prov)
		return -1;
	strcpy(r->upstream, p->names[up]);
	strcpy(r->downstream, p->names[down]);
	uint8_t flags = b[16];
	r->attestation = (char)((flags & 3) ? "\0ABC"[flags & 3] : 0);
	size_t n = 17;
	if (flags & F_ORIGID) {
		if (v->mv_size < n + 16)
			return -1;
		r->has_origid = true;
		memcpy(r->origid, b + n, 16);
		n += 16;
	}
	if (flags & F_CREF) {
		if (v->mv_size < n + 1 || v->mv_size < n + 1 + b[n] ||
		    b[n] >= sizeof(r->customer_ref))
			return -1;
		memcpy(r->customer_ref, b + n + 1, b[n]);
		n += 1 + b[n];
	}
	if (flags & F_CALLID) {
		if (v->mv_size < n + 1 || v->mv_size < n + 1 + b[n] || b[n] >= sizeof(r->call_id))
			return -1;
		memcpy(r->call_id, b + n + 1, b[n]);
		n += 1 + b[n];
	}
	return n == v->mv_size ? 0 : -1;
}

static int lookup_part(struct partition *p, const char *downstream, uint16_t hlo, uint16_t hhi,
		       uint64_t from, uint64_t to, hd_store_visit_fn fn, void *ud, bool *stop)
{
	uint16_t down = 0;
	if (downstream[0]) {
		down = name_find(p, downstream, p->n_prov);
		if (!down)
			return HT_OK; /* never handed this peer a call that day */
	}
	MDB_txn *txn;
	MDB_cursor *cur;
	int rc = mdb_txn_begin(p->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return lmdb_err(rc, "read", p->path);
	if ((rc = mdb_cursor_open(txn, p->calls, &cur)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_err(rc, "cursor", p->path);
	}
	/* The window within this day, as buckets and milliseconds. */
	uint64_t day0 = (uint64_t)p->day * HD_STORE_DAY_MS;
	uint64_t lo = from > day0 ? from - day0 : 0;
	uint64_t hi = to - day0 < HD_STORE_DAY_MS ? to - day0 : HD_STORE_DAY_MS - 1;
	uint8_t seek[KEY_LEN];
	rc = 0;
	for (uint64_t b = lo / BUCKET_MS; b <= hi / BUCKET_MS && !*stop; b++) {
		/* Hints hlo..hhi of one bucket are one contiguous key range. */
		put_be(seek, down, 2);
		put_be(seek + 2, b, 2);
		put_be(seek + 4, hlo, 2);
		put_be(seek + 6, 0, 2);
		MDB_val k = {KEY_LEN, seek}, v;
		for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
		     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
			const uint8_t *kb = k.mv_data;
			if (k.mv_size != KEY_LEN || get_be(kb, 2) != down ||
			    get_be(kb + 2, 2) != b || get_be(kb + 4, 2) > hhi)
				break;
			uint64_t t = b * BUCKET_MS + get_be(kb + 6, 2);
			if (t < lo || t > hi)
				continue;
			ht_cdr r;
			if (decode(p, &k, &v, &r) != 0) {
				log_error("store: %s: undecodable record", p->path);
				continue;
			}
			if (fn(ud, &r)) {
				*stop = true;
				break;
			}
		}
		if (rc != 0 && rc != MDB_NOTFOUND) {
			mdb_cursor_close(cur);
			mdb_txn_abort(txn);
			return lmdb_err(rc, "lookup", p->path);
		}
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return HT_OK;
}

int hd_store_lookup(hd_store *s, const char *downstream, uint16_t hint, unsigned hint_bits,
		    uint64_t from_ms, uint64_t to_ms, hd_store_visit_fn fn, void *ud)
{
	if (hint_bits > 16 || from_ms > to_ms)
		return HT_E_INVAL;
	uint16_t mask = hint_bits ? (uint16_t)(0xffffu << (16 - hint_bits)) : 0;
	uint16_t hlo = hint & mask, hhi = (uint16_t)(hint | (uint16_t)~mask);
	bool stop = false;
	for (size_t i = 0; i < s->n_parts && !stop; i++) {
		struct partition *p = s->parts[i];
		if (p->day < day_of(from_ms) || p->day > day_of(to_ms))
			continue;
		int rc = lookup_part(p, downstream, hlo, hhi, from_ms, to_ms, fn, ud, &stop);
		if (rc != HT_OK)
			return rc;
	}
	return HT_OK;
}

struct match {
	const char *calling, *called;
	hd_store_visit_fn fn;
	void *ud;
};

/* The hint narrows; the numbers decide. */
static int match_pair(void *ud, const ht_cdr *r)
{
	struct match *m = ud;
	if (strcmp(r->calling, m->calling) != 0 || strcmp(r->called, m->called) != 0)
		return 0;
	return m->fn(m->ud, r);
}

int hd_store_find_call(hd_store *s, const char *calling, const char *called, uint64_t from_ms,
		       uint64_t to_ms, hd_store_visit_fn fn, void *ud)
{
	if (from_ms > to_ms)
		return HT_E_INVAL;
	uint16_t h = hd_store_hint(calling, called);
	struct match m = {calling, called, fn, ud};
	bool stop = false;
	for (size_t i = 0; i < s->n_parts && !stop; i++) {
		struct partition *p = s->parts[i];
		if (p->day < day_of(from_ms) || p->day > day_of(to_ms))
			continue;
		for (size_t idx = 0; idx < p->n_prov && !stop; idx++) {
			int rc = lookup_part(p, p->names[idx], h, h, from_ms, to_ms, match_pair, &m,
					     &stop);
			if (rc != HT_OK)
				return rc;
		}
	}
	return HT_OK;
}

/* ---- compaction ---- */

struct hd_store_compaction {
	struct partition *p; /* kept from retention while the job lives */
	uint64_t map_size;
	size_t txnid; /* the partition's last transaction when copied */
	char *tmp;
};

static bool is_compacted(struct partition *p)
{
	MDB_txn *txn;
	bool yes = false;
	if (mdb_txn_begin(p->env, NULL, MDB_RDONLY, &txn) == 0) {
		MDB_val k = {9, "compacted"}, v;
		yes = mdb_get(txn, p->meta, &k, &v) == 0;
		mdb_txn_abort(txn);
	}
	return yes;
}

int hd_store_compactable(hd_store *s, uint32_t before_day, uint32_t **days, size_t *n)
{
	*days = malloc((s->n_parts ? s->n_parts : 1) * sizeof(**days));
	*n = 0;
	if (!*days)
		return HT_E_NOMEM;
	for (size_t i = 0; i < s->n_parts; i++)
		if (s->parts[i]->day < before_day && !is_compacted(s->parts[i]))
			(*days)[(*n)++] = s->parts[i]->day;
	return HT_OK;
}

/* Copies every entry of `from` into `to` in key order with MDB_APPEND. */
static int copy_dbi(MDB_txn *rt, MDB_dbi from, MDB_txn *wt, MDB_dbi to, bool dups)
{
	MDB_cursor *rc_, *wc;
	int rc = mdb_cursor_open(rt, from, &rc_);
	if (rc)
		return rc;
	if ((rc = mdb_cursor_open(wt, to, &wc)) != 0) {
		mdb_cursor_close(rc_);
		return rc;
	}
	MDB_val k, v;
	for (rc = mdb_cursor_get(rc_, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(rc_, &k, &v, MDB_NEXT)) {
		rc = mdb_cursor_put(wc, &k, &v, dups ? MDB_APPEND | MDB_APPENDDUP : MDB_APPEND);
		if (rc == MDB_KEYEXIST && dups) /* the next duplicate of the same key */
			rc = mdb_cursor_put(wc, &k, &v, MDB_APPENDDUP);
		if (rc)
			break;
	}
	mdb_cursor_close(wc);
	mdb_cursor_close(rc_);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int hd_store_compact_begin(hd_store *s, uint32_t day, hd_store_compaction **job)
{
	struct partition *p;
	int rc = part_get(s, day, false, &p);
	if (rc != HT_OK || !p || p->compacting)
		return rc == HT_OK ? HT_E_INVAL : rc;
	hd_store_compaction *j = calloc(1, sizeof(*j));
	if (!j)
		return HT_E_NOMEM;
	size_t n = strlen(p->path) + 8;
	j->tmp = malloc(n);
	if (!j->tmp) {
		free(j);
		return HT_E_NOMEM;
	}
	snprintf(j->tmp, n, "%s.tmp", p->path);
	j->p = p;
	j->map_size = s->opts.map_size;
	p->compacting = true;
	*job = j;
	return HT_OK;
}

int hd_store_compact_run(hd_store_compaction *j)
{
	struct partition *p = j->p;
	int rc;

	MDB_env *env = NULL;
	MDB_txn *rt = NULL, *wt = NULL;
	MDB_dbi calls, peers, meta;
	rc = mdb_txn_begin(p->env, NULL, MDB_RDONLY, &rt);
	if (!rc) {
		j->txnid = mdb_txn_id(rt);
		rc = mdb_env_create(&env);
	}
	if (!rc)
		rc = mdb_env_set_maxdbs(env, 4);
	if (!rc)
		rc = mdb_env_set_mapsize(env, j->map_size);
	if (!rc)
		rc = mdb_env_open(env, j->tmp, MDB_NOSUBDIR | MDB_NOTLS | MDB_NOSYNC, 0640);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &wt);
	if (!rc)
		rc = mdb_dbi_open(wt, "calls", MDB_CREATE | MDB_DUPSORT, &calls);
	if (!rc)
		rc = mdb_dbi_open(wt, "peers", MDB_CREATE, &peers);
	if (!rc)
		rc = mdb_dbi_open(wt, "meta", MDB_CREATE, &meta);
	if (!rc)
		rc = copy_dbi(rt, p->calls, wt, calls, true);
	if (!rc)
		rc = copy_dbi(rt, p->peers, wt, peers, false);
	if (!rc)
		rc = copy_dbi(rt, p->meta, wt, meta, false);
	if (!rc) {
		MDB_val k = {9, "compacted"}, v = {1, "1"};
		rc = mdb_put(wt, meta, &k, &v, 0);
	}
	if (!rc) {
		rc = mdb_txn_commit(wt);
		wt = NULL;
	}
	if (!rc)
		rc = mdb_env_sync(env, 1); /* durable before it can replace the original */
	if (wt)
		mdb_txn_abort(wt);
	if (rt)
		mdb_txn_abort(rt);
	if (env)
		mdb_env_close(env);
	char lock[4096];
	snprintf(lock, sizeof(lock), "%s-lock", j->tmp);
	unlink(lock);
	if (rc) {
		/* Not logged here: this may run on a worker thread. */
		unlink(j->tmp);
		return HT_E_IO;
	}
	return HT_OK;
}

int hd_store_compact_finish(hd_store *s, hd_store_compaction *j, int run_result)
{
	struct partition *p = j->p;
	int rc = run_result;
	MDB_envinfo info;
	collect(s); /* the partition may be closed below: no batch may be on it */
	p->compacting = false;
	if (rc != HT_OK) {
		log_error("store: compacting %s failed; will try again later", p->path);
	} else if (mdb_env_info(p->env, &info) != 0 || info.me_last_txnid != j->txnid) {
		rc = HT_E_STALE; /* written meanwhile: try again later */
		unlink(j->tmp);
	} else {
		size_t i = 0;
		while (s->parts[i] != p)
			i++;
		uint32_t day = p->day;
		mdb_env_close(p->env); /* the owner's thread: no reader is open */
		p->env = NULL;
		if (rename(j->tmp, p->path) != 0) {
			log_error("store: compaction of %s not installed: %s", p->path,
				  strerror(errno));
			unlink(j->tmp);
			rc = HT_E_IO;
		}
		/* Reopen whichever file is now in place. */
		struct partition *np;
		part_free(p);
		int orc = part_open(s, day, &np);
		if (orc != HT_OK) {
			memmove(&s->parts[i], &s->parts[i + 1], (s->n_parts - i - 1) * sizeof(np));
			s->n_parts--;
			rc = orc;
		} else {
			s->parts[i] = np;
			if (rc == HT_OK)
				log_info("store: compacted %s", np->path);
		}
	}
	free(j->tmp);
	free(j);
	return rc;
}

int hd_store_compact(hd_store *s, uint32_t day)
{
	hd_store_compaction *j;
	int rc = hd_store_compact_begin(s, day, &j);
	return rc == HT_OK ? hd_store_compact_finish(s, j, hd_store_compact_run(j)) : rc;
}

/* ---- retention ---- */

int hd_store_expire(hd_store *s, uint64_t now_ms, size_t *dropped)
{
	collect(s); /* the writer may be using a partition */
	*dropped = 0;
	uint64_t keep_ms = (uint64_t)s->opts.retention_days * HD_STORE_DAY_MS;
	size_t keep = 0;
	for (size_t i = 0; i < s->n_parts; i++) {
		struct partition *p = s->parts[i];
		uint64_t end = ((uint64_t)p->day + 1) * HD_STORE_DAY_MS;
		if (end + keep_ms > now_ms || p->compacting) {
			s->parts[keep++] = p;
			continue;
		}
		/* Whole days only: close, then remove the file and its lock. */
		char lock[4096];
		snprintf(lock, sizeof(lock), "%s-lock", p->path);
		mdb_env_close(p->env);
		p->env = NULL;
		if (unlink(p->path) != 0)
			log_warn("store: remove %s: %s", p->path, strerror(errno));
		unlink(lock);
		log_info("store: dropped expired partition %s", p->path);
		part_free(p);
		(*dropped)++;
	}
	s->n_parts = keep;
	return HT_OK;
}

/* ---- stats ---- */

int hd_store_stats_get(hd_store *s, hd_store_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->partitions = s->n_parts;
	for (size_t i = 0; i < s->n_parts; i++) {
		struct partition *p = s->parts[i];
		struct stat sb;
		if (stat(p->path, &sb) == 0)
			st->bytes_on_disk += (uint64_t)sb.st_blocks * 512;
		MDB_txn *txn;
		int rc = mdb_txn_begin(p->env, NULL, MDB_RDONLY, &txn);
		if (rc)
			return lmdb_err(rc, "read", p->path);
		MDB_stat ms;
		if (mdb_stat(txn, p->calls, &ms) == 0)
			st->records += ms.ms_entries;
		MDB_val k = {4, "span"}, v;
		if (mdb_get(txn, p->meta, &k, &v) == 0 && v.mv_size == 16) {
			uint64_t a = get_be(v.mv_data, 8), b = get_be((uint8_t *)v.mv_data + 8, 8);
			if (!st->first_ms || a < st->first_ms)
				st->first_ms = a;
			if (b > st->last_ms)
				st->last_ms = b;
		}
		for (size_t idx = 0; idx < p->n_names; idx++) {
			uint8_t key[3] = {'c'};
			put_be(key + 1, idx, 2);
			MDB_val ck = {3, key}, cv;
			if (mdb_get(txn, p->meta, &ck, &cv) != 0 || cv.mv_size != 16)
				continue;
			size_t j;
			for (j = 0; j < st->n_peers; j++)
				if (strcmp(st->peers[j].provider_id, p->names[idx]) == 0)
					break;
			if (j == st->n_peers) {
				hd_store_peer_count *np =
					realloc(st->peers, (st->n_peers + 1) * sizeof(*np));
				if (!np) {
					mdb_txn_abort(txn);
					hd_store_stats_free(st);
					return HT_E_NOMEM;
				}
				st->peers = np;
				memset(&np[j], 0, sizeof(np[j]));
				strcpy(np[j].provider_id, p->names[idx]);
				st->n_peers++;
			}
			st->peers[j].as_upstream += get_be(cv.mv_data, 8);
			st->peers[j].as_downstream += get_be((uint8_t *)cv.mv_data + 8, 8);
		}
		mdb_txn_abort(txn);
	}
	return HT_OK;
}

void hd_store_stats_free(hd_store_stats *st)
{
	free(st->peers);
	memset(st, 0, sizeof(*st));
}
