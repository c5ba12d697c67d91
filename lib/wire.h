/*
 * Internal: the one place where outside bytes become protobuf-c messages.
 * Every decoder in lib/ goes through ht__unpack, which enforces the size
 * bound before protobuf-c sees a byte.
 */
#ifndef HT_LIB_WIRE_H
#define HT_LIB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "hoptrace/envelope.h"
#include "hoptrace/err.h"

/*
 * Decodes `len` bytes as `desc`, refusing more than `max` bytes
 * (HT_E_TOO_LARGE) or bytes that do not parse (HT_E_MALFORMED).
 */
int ht__unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len, size_t max,
	       ProtobufCMessage **out) HT_WUR;

/*
 * Encodes `m` into a malloc'd buffer.
 */
int ht__pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len) HT_WUR;

/*
 * The extension rule (spec/protocol.md, "Extensions"): every field number a
 * message lists as critical must be a field this implementation knows.
 */
int ht__check_critical(const ProtobufCMessageDescriptor *desc, const uint32_t *critical,
		       size_t n) HT_WUR;

/*
 * Parses an envelope of `kind` (at most `max` bytes) and decodes its body as
 * `desc`. The signature is not checked: the caller knows which key to use.
 * On success the caller owns *env and *body.
 */
int ht__open_signed(const uint8_t *buf, size_t len, size_t max, ht_kind kind,
		    const ProtobufCMessageDescriptor *desc, ht_envelope **env,
		    ProtobufCMessage **body) HT_WUR;

#endif
