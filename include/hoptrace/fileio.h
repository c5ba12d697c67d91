/* Whole-file reads with a bound, and atomic writes. */
#ifndef HOPTRACE_FILEIO_H
#define HOPTRACE_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hoptrace/err.h"

/*
 * Reads a whole regular file of at most `max` bytes into a malloc'd buffer
 * (NUL-terminated for convenience, the NUL not counted in *len). When
 * `secret` is true, refuses a file whose mode grants group or others any
 * access, or that is owned by someone other than the effective user or root
 * (HT_E_KEY_PERMS). Larger files fail with HT_E_TOO_LARGE; system
 * errors with HT_E_IO and errno set.
 */
int ht_file_read(const char *path, size_t max, bool secret, uint8_t **buf, size_t *len) HT_WUR;

/*
 * Writes `data` to `path` atomically (temporary file beside it, fsync,
 * rename, fsync of the directory) with permissions `mode`. Without `force`,
 * fails with HT_E_EXISTS rather than replace an existing file.
 */
int ht_file_write(const char *path, const void *data, size_t len, mode_t mode, bool force) HT_WUR;

#endif
