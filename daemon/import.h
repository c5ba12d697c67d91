/*
 * CDR import for one control connection: CSV bytes in chunks, parsed with
 * lib/cdr.c (trunk groups mapped by the configuration), stored in batches
 * by the store's writer thread (hd_store_submit_async), so the event loop
 * never waits for the disk. Each chunk is acknowledged, in order, through
 * the import's `ack` callback once every complete row fed so far is stored
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
/*
 * The owner stops reading when this many chunks are not acknowledged yet,
 * or this many parsed rows wait for room in the store (about 13 MB of
 * ht_cdr): enough that the store's writer finds full batches waiting
 * whenever it finishes a commit (docs/store.md).
 */
#define HD_IMPORT_WINDOW  32
#define HD_IMPORT_WAITING (4 * HD_IMPORT_BATCH)

typedef struct hd_import_error {
	uint64_t line;
	const char *reason; /* ht_csv_reason_name() token */
	char message[HD_IMPORT_MESSAGE_MAX];
} hd_import_error;

typedef struct hd_import_result {
	/* Cumulative. rejected and bytes: up to this chunk; imported and
	 * duplicates: every row stored so far, which may include rows of later
	 * chunks already fed (a batch may span chunks). */
	uint64_t imported, rejected, duplicates, bytes;
	const hd_import_error *errors; /* this chunk's refused rows */
	size_t n_errors;
	bool done;    /* the chunk with `last`: the import has ended */
	bool earlier; /* with an error: the import had stopped at an earlier chunk */
} hd_import_result;

typedef struct hd_import hd_import;

/*
 * A chunk's acknowledgement: rc is HT_OK, or the error that stopped the
 * import (HT_E_MALFORMED: the header row is unusable; a store error). `res`
 * and its errors are valid during the call only. Called in feed order from
 * hd_import_feed or hd_import_pump; it must not call the import.
 */
typedef void (*hd_import_ack_fn)(void *ud, int rc, const hd_import_result *res);

/* Starts an import into `d`'s store with `d`'s trunk map and country code. */
int hd_import_new(struct hd_daemon *d, hd_import_ack_fn ack, void *ud, hd_import **out);

/*
 * Feeds one chunk (`last` for the final one). Never waits: full batches go
 * to the store as it has room, the rest at the chunk's end or when the store
 * reports progress. After an error has stopped the import, every further
 * chunk up to the one with `last` is acknowledged with that error, unread.
 * HT_E_NOMEM when the chunk cannot even be queued (the owner drops the
 * connection: it cannot be acknowledged in order).
 */
int hd_import_feed(hd_import *im, const uint8_t *data, size_t len, bool last) HT_WUR;

/*
 * After the store has reported (hd_store_poll): gives the acknowledgements
 * that are due and hands the store a batch of the rows that wait for room.
 * One batch per call, so that one turn of the loop prepares at most one:
 * true when more could go now (call again on a later turn).
 */
bool hd_import_pump(hd_import *im);

/* Chunks fed and not yet acknowledged. */
size_t hd_import_unacked(const hd_import *im);
/* Enough is waiting that the owner should stop feeding for now. */
bool hd_import_full(const hd_import *im);
/* The chunk with `last` has been fed. */
bool hd_import_ending(const hd_import *im);
/* ... and acknowledged: the import is over. */
bool hd_import_over(const hd_import *im);

/* Stops the import; what the store still holds of it is released when
 * the store reports it (the import promises nothing unacknowledged). */
void hd_import_free(hd_import *im);

#endif
