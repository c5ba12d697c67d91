/*
 * Peer messages: the plaintext of every transport frame of a session is one
 * PeerMessage (spec/protocol.md sections 8.5 and 11).
 */
#ifndef HOPTRACE_PEERMSG_H
#define HOPTRACE_PEERMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/err.h"

typedef enum ht_pmsg_type {
	HT_PMSG_UNKNOWN = 0, /* a message this version does not know: ignore it */
	HT_PMSG_PING = 1,
	HT_PMSG_PONG = 2,
	HT_PMSG_ERROR = 5,
	HT_PMSG_TRACE_FORWARD = 6,
	HT_PMSG_TRACE_ANSWER = 7,
	HT_PMSG_TRACE_COMPLETE = 8,
} ht_pmsg_type;

typedef struct ht_pmsg {
	ht_pmsg_type type;
	uint64_t nonce;  /* ping, pong */
	uint32_t reason; /* error: a Reason code */
	char detail[256];
	/* error (optional), trace_answer, trace_complete */
	bool has_trace_id;
	uint8_t trace_id[16];
	/* trace_forward: the request envelope; trace_answer: the sealed answer.
	 * Decoding mallocs it (free with ht_pmsg_clear); encoding reads it. */
	uint8_t *data;
	size_t data_len;
	/* trace_forward */
	uint32_t hop;
	uint64_t window_time_ms;
	uint32_t budget_ms;
} ht_pmsg;

/*
 * Encodes `m` into a malloc'd buffer. HT_E_INVAL for a type it cannot send
 * or data of a wrong length (trace_forward: 1..HT_ENVELOPE_MAX octets;
 * trace_answer: HT_SEAL_OVERHEAD..HT_ENVELOPE_MAX + HT_SEAL_OVERHEAD);
 * HT_E_TOO_LARGE above HT_PAYLOAD_MAX.
 */
int ht_pmsg_encode(const ht_pmsg *m, uint8_t **out, size_t *out_len) HT_WUR;

/*
 * Decodes a transport payload. Messages of a type this version does not
 * know decode as HT_PMSG_UNKNOWN (extension rule); bytes that do not parse
 * are HT_E_MALFORMED, and so are the length rules above broken, a
 * trace_id that is not 16 octets (trace_answer, trace_complete; error:
 * empty or 16). On failure `out` is cleared and holds nothing to free.
 */
int ht_pmsg_decode(const uint8_t *buf, size_t len, ht_pmsg *out) HT_WUR;

/* Frees what ht_pmsg_decode allocated and zeroes `m`. */
void ht_pmsg_clear(ht_pmsg *m);

#endif
