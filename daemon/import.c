#include "import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptraced.h"
#include "log.h"

/* Parsed rows waiting for room in the store: up to HD_IMPORT_BATCH. */
struct rows {
	ht_cdr *r;
	size_t n;
};

/* A chunk fed and not yet acknowledged. */
struct chunk {
	uint64_t rows_end;        /* good rows parsed up to its end */
	uint64_t rejected, bytes; /* cumulative, up to its end */
	hd_import_error *errors;
	size_t n_errors;
	int rc;       /* it stopped the import, or came after that */
	bool earlier; /* came after that: not read */
	bool last;
	struct chunk *next;
};

/* A batch with the store; the import lives until the store has told it. */
struct batch {
	hd_import *im;
	size_t n;
};

struct hd_import {
	struct hd_daemon *d;
	ht_csv_parser *parser;
	hd_import_ack_fn ack;
	void *ack_ud;
	struct rows *bufs; /* oldest first; only the last one may be short */
	size_t n_bufs, cap_bufs;
	size_t waiting; /* rows in bufs */
	ht_cdr *spare;  /* an emptied buffer, for the next one */
	/* Good rows: parsed; handed to the store; in batches the store has
	 * committed and synced. A batch may span chunks, and the store reports
	 * batches in the order they were handed over. */
	uint64_t parsed, submitted, stored;
	size_t in_store; /* batches the store has not reported yet */
	struct chunk *head, **tail;
	size_t n_chunks;
	hd_import_error *errors; /* the chunk being parsed */
	size_t n_errors, cap_errors;
	uint64_t imported, duplicates, rejected, bytes;
	int rc; /* what stopped the import: nothing more is parsed nor stored */
	bool ending, over, freed;
};

static ht_trunk_kind trunk_map(void *ud, const char *name, size_t len,
			       char provider[HT_PROVIDER_ID_MAX + 1])
{
	struct hd_daemon *d = ud;
	const struct hd_trunk_cfg *t = hd_config_trunk(&d->cfg, name, len);
	if (!t)
		return HT_TRUNK_UNKNOWN;
	if (t->local)
		return HT_TRUNK_LOCAL;
	strcpy(provider, t->provider_id);
	return HT_TRUNK_PEER;
}

static void drop_rows(hd_import *im)
{
	for (size_t i = 0; i < im->n_bufs; i++)
		free(im->bufs[i].r);
	im->n_bufs = 0;
	im->waiting = 0;
}

/* The import ends here: rows not with the store yet are dropped. */
static void stop(hd_import *im, int rc)
{
	if (!im->rc)
		im->rc = rc;
	drop_rows(im);
}

static void on_stored(void *ud, int rc, size_t inserted, size_t duplicates)
{
	struct batch *b = ud;
	hd_import *im = b->im;
	size_t n = b->n;
	free(b);
	im->in_store--;
	im->imported += inserted;
	im->duplicates += duplicates;
	if (rc == HT_OK)
		im->stored += n;
	else
		stop(im, rc);
	if (im->freed && im->in_store == 0)
		free(im);
}

/* A new last buffer, for the next rows. */
static struct rows *buf_add(hd_import *im)
{
	if (im->n_bufs == im->cap_bufs) {
		size_t nc = im->cap_bufs ? 2 * im->cap_bufs : 4;
		struct rows *nb = realloc(im->bufs, nc * sizeof(*nb));
		if (!nb)
			return NULL;
		im->bufs = nb;
		im->cap_bufs = nc;
	}
	ht_cdr *r = im->spare;
	im->spare = NULL;
	if (!r && !(r = malloc(HD_IMPORT_BATCH * sizeof(*r))))
		return NULL;
	struct rows *b = &im->bufs[im->n_bufs++];
	b->r = r;
	b->n = 0;
	return b;
}

/*
 * Whether the oldest waiting rows can go to the store now, as a batch:
 * a full buffer always, the last short one only when `partial` (between
 * chunks: nothing more may come before the client hears back). While the
 * store is busy, rows wait and make full batches: fewer, larger commits.
 */
static bool can_submit(hd_import *im, bool partial)
{
	return !im->rc && im->n_bufs > 0 && im->bufs[0].n > 0 &&
	       (partial || im->bufs[0].n == HD_IMPORT_BATCH) && hd_store_room(im->d->store) > 0;
}

/* Hands the store at most `max` batches (each is prepared in this thread). */
static void submit(hd_import *im, bool partial, size_t max)
{
	for (; max > 0 && can_submit(im, partial); max--) {
		struct rows *b = &im->bufs[0];
		struct batch *bt = malloc(sizeof(*bt));
		int rc = HT_E_NOMEM;
		if (bt) {
			bt->im = im;
			bt->n = b->n;
			rc = hd_store_submit_async(im->d->store, b->r, b->n, on_stored, bt);
		}
		if (rc != HT_OK) {
			free(bt);
			stop(im, rc);
			return;
		}
		im->in_store++;
		im->submitted += b->n;
		im->waiting -= b->n;
		if (im->spare)
			free(b->r);
		else
			im->spare = b->r;
		memmove(&im->bufs[0], &im->bufs[1], --im->n_bufs * sizeof(im->bufs[0]));
	}
}

static int on_row(void *ud, const ht_csv_row *row)
{
	hd_import *im = ud;
	if (row->cdr) {
		struct rows *b = im->n_bufs ? &im->bufs[im->n_bufs - 1] : NULL;
		if ((!b || b->n == HD_IMPORT_BATCH) && !(b = buf_add(im)))
			return HT_E_NOMEM;
		b->r[b->n++] = *row->cdr;
		im->parsed++;
		im->waiting++;
		if (b->n == HD_IMPORT_BATCH)
			submit(im, false, 1);
		return im->rc;
	}
	im->rejected++;
	if (im->n_errors == im->cap_errors) {
		size_t nc = im->cap_errors ? im->cap_errors * 2 : 64;
		hd_import_error *ne = realloc(im->errors, nc * sizeof(*ne));
		if (!ne)
			return HT_E_NOMEM;
		im->errors = ne;
		im->cap_errors = nc;
	}
	hd_import_error *e = &im->errors[im->n_errors++];
	e->line = row->line;
	e->reason = ht_csv_reason_name(row->reason);
	snprintf(e->message, sizeof(e->message), "%s", row->message);
	return 0;
}

int hd_import_new(struct hd_daemon *d, hd_import_ack_fn ack, void *ud, hd_import **out)
{
	hd_import *im = calloc(1, sizeof(*im));
	if (!im)
		return HT_E_NOMEM;
	im->d = d;
	im->ack = ack;
	im->ack_ud = ud;
	im->tail = &im->head;
	ht_csv_options o = {
		.trunk_map = trunk_map,
		.trunk_ud = d,
		.default_cc = d->cfg.country_code,
	};
	int rc = ht_csv_parser_new(&o, &im->parser);
	if (rc != HT_OK) {
		hd_import_free(im);
		return rc;
	}
	*out = im;
	return HT_OK;
}

/*
 * Acknowledges the chunks that are due, in order: a chunk once the store
 * holds every good row up to its end; after a stop, once the store has
 * reported every batch (rows of the chunks before may still be stored),
 * with the error.
 */
static void emit(hd_import *im)
{
	while (im->head && !im->freed) {
		struct chunk *c = im->head;
		int rc = c->rc;
		if (rc == HT_OK && im->stored < c->rows_end) {
			if (!im->rc || im->in_store > 0)
				return; /* the store has not reported yet */
			rc = im->rc;
		}
		if (!(im->head = c->next))
			im->tail = &im->head;
		im->n_chunks--;
		im->over = c->last;
		hd_import_result r = {
			.imported = im->imported,
			.rejected = c->rejected,
			.duplicates = im->duplicates,
			.bytes = c->bytes,
			.errors = c->errors,
			.n_errors = c->n_errors,
			.done = c->last,
			.earlier = c->earlier,
		};
		im->ack(im->ack_ud, rc, &r);
		free(c->errors);
		free(c);
	}
}

int hd_import_feed(hd_import *im, const uint8_t *data, size_t len, bool last)
{
	struct chunk *c = calloc(1, sizeof(*c));
	if (!c)
		return HT_E_NOMEM;
	if (im->rc) {
		c->rc = im->rc; /* the stream goes on to its end, unread */
		c->earlier = true;
	} else {
		int rc = len ? ht_csv_feed(im->parser, data, len, on_row, im) : HT_OK;
		if (rc == HT_OK && last)
			rc = ht_csv_finish(im->parser, on_row, im);
		if (rc == HT_OK)
			rc = im->rc; /* the store refused a batch handed over meanwhile */
		else
			stop(im, rc);
		c->rc = rc;
		c->errors = im->errors;
		c->n_errors = im->n_errors;
		im->errors = NULL;
		im->n_errors = im->cap_errors = 0;
	}
	im->bytes += len;
	c->rows_end = im->parsed;
	c->rejected = im->rejected;
	c->bytes = im->bytes;
	c->last = last;
	*im->tail = c;
	im->tail = &c->next;
	im->n_chunks++;
	im->ending |= last;
	submit(im, true, 1);
	emit(im);
	return HT_OK;
}

bool hd_import_pump(hd_import *im)
{
	if (im->freed)
		return false;
	submit(im, true, 1);
	emit(im);
	return can_submit(im, true);
}

size_t hd_import_unacked(const hd_import *im)
{
	return im->n_chunks;
}

bool hd_import_full(const hd_import *im)
{
	return im->n_chunks >= HD_IMPORT_WINDOW || im->waiting >= HD_IMPORT_WAITING;
}

bool hd_import_ending(const hd_import *im)
{
	return im->ending;
}

bool hd_import_over(const hd_import *im)
{
	return im->over;
}

void hd_import_free(hd_import *im)
{
	if (!im)
		return;
	im->freed = true;
	ht_csv_parser_free(im->parser);
	im->parser = NULL;
	drop_rows(im);
	free(im->bufs);
	free(im->spare);
	free(im->errors);
	im->bufs = NULL;
	im->spare = NULL;
	im->errors = NULL;
	while (im->head) {
		struct chunk *c = im->head;
		im->head = c->next;
		free(c->errors);
		free(c);
	}
	if (im->in_store == 0)
		free(im);
}
