/*
 * CDR import for one control connection: CSV bytes in chunks, parsed with
 * lib/cdr.c (trunk groups mapped by the configuration), stored in batches.
 * When hd_import_feed returns, every complete row fed so far is stored
 * durably or reported as refused: the control reply is the acknowledgement.
 */
#ifndef HD_IMPORT_H
#define HD_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/cdr.h"

struct hd_daemon;

#define HD_IMPORT_BATCH       10000
#define HD_IMPORT_MESSAGE_MAX 160

typedef struct hd_import_error {
	uint64_t line;
	const char *reason; /* ht_csv_reason_name() token */
	char message[HD_IMPORT_MESSAGE_MAX];
} hd_import_error;

typedef struct hd_import_result {
	uint64_t imported, rejected, duplicates, bytes; /* cumulative */
	const hd_import_error *errors;                  /* this call's refused rows */
	size_t n_errors;
	bool done; /* the last chunk has been processed */
} hd_import_result;

typedef struct hd_import hd_import;

/* Starts an import into `d`'s store with `d`'s trunk map and country code. */
int hd_import_new(struct hd_daemon *d, hd_import **out);

/*
 * Feeds one chunk (`last` for the final one). Fills `res`; its errors stay
 * valid until the next call. Returns HT_OK, or an error for the store or a
 * header that makes the import impossible (then the import is over).
 */
int hd_import_feed(hd_import *im, const uint8_t *data, size_t len, bool last,
		   hd_import_result *res);

void hd_import_free(hd_import *im);

#endif
