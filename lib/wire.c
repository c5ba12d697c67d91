#include "wire.h"

#include <stdbool.h>
#include <stdlib.h>

/* A varint of at most `max` octets at p[0..n): its value and length, or false. */
static bool varint(const uint8_t *p, size_t n, size_t max, uint64_t *v, size_t *used)
{
	uint64_t x = 0;
	for (size_t i = 0; i < n && i < max; i++) {
		if (i < 10)
			x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = x;
			*used = i + 1;
			return true;
		}
	}
	return false;
}

/*
 * spec/protocol.md 2.6, D2: field number 0 is malformed however its tag is
 * written. protobuf-c refuses the one-octet tag 00 but reads a longer one
 * (80 00) as an unknown field, so the records are walked first, into every
 * embedded message the schema defines. protobuf-c checks the rest of D1 to
 * D5 the same way (tags and lengths of at most 5 octets, varints of at most
 * 10, the wire types): this walk refuses nothing else that it accepts.
 */
static bool field0_free(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
			unsigned depth)
{
	size_t i = 0;
	while (i < n) {
		uint64_t tag, v;
		size_t k;
		if (!varint(p + i, n - i, 5, &tag, &k) || tag >> 3 == 0)
			return false;
		i += k;
		switch (tag & 7) {
		case 0:
			if (!varint(p + i, n - i, 10, &v, &k))
				return false;
			i += k;
			break;
		case 1:
		case 5: {
			size_t w = (tag & 7) == 1 ? 8 : 4;
			if (n - i < w)
				return false;
			i += w;
			break;
		}
		case 2: {
			if (!varint(p + i, n - i, 5, &v, &k) || v > n - i - k)
				return false;
			i += k;
			/* A 5-octet tag holds a field number of up to 32 bits. */
			const ProtobufCFieldDescriptor *f =
				desc ? protobuf_c_message_descriptor_get_field(desc,
									       (unsigned)(tag >> 3))
				     : NULL;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    (depth >= 8 ||
			     !field0_free(f->descriptor, p + i, (size_t)v, depth + 1)))
				return false;
			i += (size_t)v;
			break;
		}
		default:
			return false;
		}
	}
	return true;
}

int ht__unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len, size_t max,
	       ProtobufCMessage **out)
{
	if (len > max)
		return HT_E_TOO_LARGE;
	if (!buf && len > 0)
		return HT_E_INVAL;
	if (len > 0 && !field0_free(desc, buf, len, 0))
		return HT_E_MALFORMED;
	ProtobufCMessage *m =
		protobuf_c_message_unpack(desc, NULL, len, buf ? buf : (const uint8_t *)"");
	if (!m)
		return HT_E_MALFORMED;
	*out = m;
	return HT_OK;
}

int ht__pack(const ProtobufCMessage *m, uint8_t **out, size_t *out_len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(n ? n : 1);
	if (!b)
		return HT_E_NOMEM;
	if (protobuf_c_message_pack(m, b) != n) {
		free(b);
		return HT_E_INVAL;
	}
	*out = b;
	*out_len = n;
	return HT_OK;
}

int ht__check_critical(const ProtobufCMessageDescriptor *desc, const uint32_t *critical, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!protobuf_c_message_descriptor_get_field(desc, critical[i]))
			return HT_E_UNSUPPORTED_CRITICAL;
	return HT_OK;
}
