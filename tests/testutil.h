/*
 * Helpers shared by the cmocka unit tests. Every helper asserts on failure,
 * so a test never runs on a broken fixture and never has to check them.
 */
#ifndef HT_TESTUTIL_H
#define HT_TESTUTIL_H

/* cmocka.h needs these first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#include <cmocka.h>

#include <protobuf-c/protobuf-c.h>

#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/envelope.h"
#include "hoptrace/keys.h"
#include "hoptrace/v1/cert.pb-c.h"

/*
 * The validity window most certificate tests use: 2026-01-01T00:00:00Z to
 * 2027-01-01T00:00:00Z. Fixed, so no test depends on the clock.
 */
#define TU_NOT_BEFORE 1767225600ULL
#define TU_NOT_AFTER  1798761600ULL
#define TU_MID        1780000000ULL /* a time inside the window */

/* A fresh directory under $TMPDIR (or /tmp); malloc'd path. */
char *tu_mkdtemp(void);

/* Removes `path` and everything below it (for tu_mkdtemp directories). */
void tu_rmtree(const char *path);

/* "dir/name" in a malloc'd buffer. */
char *tu_path(const char *dir, const char *name);

/* Reads a whole file into a malloc'd, NUL-terminated buffer. */
uint8_t *tu_read_file(const char *path, size_t *len);

/* Creates or truncates `path` with exactly `data` and then sets `mode`. */
void tu_write_file(const char *path, const void *data, size_t len, mode_t mode);

/* Number of entries in `dir`, not counting "." and "..". */
size_t tu_count_entries(const char *dir);

/* Permission bits of `path` (mode & 07777). */
mode_t tu_file_mode(const char *path);

/*
 * Deterministic keys: the seeds are `seed` repeated (and `seed` ^ 0x5a for a
 * provider's Noise key), so different seeds give unrelated keys.
 */
void tu_anchor_keys(ht_keys *k, uint8_t seed);
void tu_provider_keys(ht_keys *k, uint8_t seed);

/* Fills `info` for `provider` with the TU_NOT_BEFORE..TU_NOT_AFTER window. */
void tu_cert_info(ht_cert_info *info, const ht_keys *provider, const char *id, uint64_t serial,
		  uint32_t roles);

/* ht_cert_issue, asserted; malloc'd encoded certificate. */
uint8_t *tu_issue(const ht_cert_info *info, const ht_keys *anchor, size_t *len);

/* ht_cert_issue then ht_cert_parse, asserted. */
ht_cert *tu_issue_parsed(const ht_cert_info *info, const ht_keys *anchor);

/*
 * A hand-built Certificate message carrying `info` and `issuer_pk`, pointing
 * into `info` and `issuer_pk` (which must outlive it). Tests then break one
 * field and sign it with tu_sign_msg, to reach the parser's own checks.
 */
void tu_cert_msg(Hoptrace__V1__Certificate *c, const ht_cert_info *info,
		 const uint8_t issuer_pk[HT_SIGN_PK_LEN]);

/*
 * Encodes `body`, appends `extra` raw bytes (e.g. unknown fields; may be
 * NULL), and signs the result as `kind` with `signer` via ht_envelope_sign.
 */
uint8_t *tu_sign_msg(ht_kind kind, const ProtobufCMessage *body, const uint8_t *extra,
		     size_t extra_len, const ht_keys *signer, size_t *len);

/* ht_crl_issue at a fixed time, asserted; malloc'd encoded list. */
uint8_t *tu_crl_issue(const ht_keys *anchor, uint64_t number, const uint64_t *serials, size_t n,
		      size_t *len);

/* tu_crl_issue then ht_crl_parse, asserted. */
ht_crl *tu_crl_parsed(const ht_keys *anchor, uint64_t number, const uint64_t *serials, size_t n);

/*
 * Copies `len` bytes of `buf` and appends one unknown length-delimited
 * field (number 9) so that the result is exactly `target` bytes. Protobuf
 * readers skip unknown fields, so this pads a message without changing it.
 */
uint8_t *tu_pad_to(const uint8_t *buf, size_t len, size_t target);

/* A malloc'd copy of `len` bytes. */
uint8_t *tu_dup(const void *buf, size_t len);

#endif
