#include "import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptraced.h"
#include "log.h"

struct hd_import {
	struct hd_daemon *d;
	ht_csv_parser *parser;
	ht_cdr *batch;
	size_t n_batch;
	hd_import_error *errors;
	size_t n_errors, cap_errors;
	uint64_t imported, rejected, duplicates, bytes;
	int store_err; /* a failed insert ends the import */
	bool bad_header;
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

/*
 * A full batch goes to the store's writer thread (hd_store_submit) while
 * parsing goes on; the call adds the counts of earlier batches, now
 * committed and synced. Every feed ends with a flush, so no batch is in
 * flight between feeds (nor counted for another connection's import).
 */
static int submit(hd_import *im)
{
	if (im->n_batch == 0 || im->store_err)
		return im->store_err;
	size_t ins = 0, dup = 0;
	int rc = hd_store_submit(im->d->store, im->batch, im->n_batch, &ins, &dup);
	im->imported += ins;
	im->duplicates += dup;
	im->n_batch = 0;
	if (rc != HT_OK)
		im->store_err = rc;
	return im->store_err;
}

/* Stores the rows so far and waits until all are committed and synced. */
static int flush(hd_import *im)
{
	submit(im);
	size_t ins = 0, dup = 0;
	int rc = hd_store_flush(im->d->store, &ins, &dup);
	im->imported += ins;
	im->duplicates += dup;
	if (rc != HT_OK && !im->store_err)
		im->store_err = rc;
	return im->store_err;
}

static int on_row(void *ud, const ht_csv_row *row)
{
	hd_import *im = ud;
	if (row->cdr) {
		im->batch[im->n_batch++] = *row->cdr;
		if (im->n_batch == HD_IMPORT_BATCH && submit(im) != HT_OK)
			return im->store_err; /* stops the parser with the store's error */
		return 0;
	}
	im->rejected++;
	if (row->reason == HT_CSV_BAD_HEADER)
		im->bad_header = true;
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

int hd_import_new(struct hd_daemon *d, hd_import **out)
{
	hd_import *im = calloc(1, sizeof(*im));
	if (!im)
		return HT_E_NOMEM;
	im->d = d;
	im->batch = malloc(HD_IMPORT_BATCH * sizeof(*im->batch));
	ht_csv_options o = {
		.trunk_map = trunk_map,
		.trunk_ud = d,
		.default_cc = d->cfg.country_code,
	};
	int rc = im->batch ? ht_csv_parser_new(&o, &im->parser) : HT_E_NOMEM;
	if (rc != HT_OK) {
		hd_import_free(im);
		return rc;
	}
	*out = im;
	return HT_OK;
}

int hd_import_feed(hd_import *im, const uint8_t *data, size_t len, bool last, hd_import_result *res)
{
	im->n_errors = 0;
	int rc = HT_OK;
	if (len)
		rc = ht_csv_feed(im->parser, data, len, on_row, im);
	if (rc == HT_OK && last)
		rc = ht_csv_finish(im->parser, on_row, im);
	/* Everything complete in this chunk is stored before the reply. */
	flush(im);
	im->bytes += len;
	memset(res, 0, sizeof(*res));
	res->imported = im->imported;
	res->rejected = im->rejected;
	res->duplicates = im->duplicates;
	res->bytes = im->bytes;
	res->errors = im->errors;
	res->n_errors = im->n_errors;
	res->done = last;
	if (im->store_err)
		return im->store_err;
	return rc;
}

void hd_import_free(hd_import *im)
{
	if (!im)
		return;
	ht_csv_parser_free(im->parser);
	free(im->batch);
	free(im->errors);
	free(im);
}
