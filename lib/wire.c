#include "wire.h"

#include <stdlib.h>

int ht__unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len, size_t max,
	       ProtobufCMessage **out)
{
	if (len > max)
		return HT_E_TOO_LARGE;
	if (!buf && len > 0)
		return HT_E_INVAL;
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
