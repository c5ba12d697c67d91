#include "hoptrace/peermsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptrace/envelope.h"
#include "hoptrace/session.h"
#include "hoptrace/trace.h"
#include "hoptrace/v1/peer.pb-c.h"
#include "wire.h"

/* A sealed HopAnswer envelope: at least the box overhead, at most a box of
 * the largest envelope. */
#define SEALED_MIN HT_SEAL_OVERHEAD
#define SEALED_MAX (HT_ENVELOPE_MAX + HT_SEAL_OVERHEAD)

static bool forward_len_ok(size_t n)
{
	return n >= 1 && n <= HT_ENVELOPE_MAX;
}

static bool sealed_len_ok(size_t n)
{
	return n >= SEALED_MIN && n <= SEALED_MAX;
}

int ht_pmsg_encode(const ht_pmsg *m, uint8_t **out, size_t *out_len)
{
	Hoptrace__V1__PeerMessage pm = HOPTRACE__V1__PEER_MESSAGE__INIT;
	Hoptrace__V1__Ping ping = HOPTRACE__V1__PING__INIT;
	Hoptrace__V1__Pong pong = HOPTRACE__V1__PONG__INIT;
	Hoptrace__V1__Error err = HOPTRACE__V1__ERROR__INIT;
	Hoptrace__V1__TraceForward fwd = HOPTRACE__V1__TRACE_FORWARD__INIT;
	Hoptrace__V1__TraceAnswer ans = HOPTRACE__V1__TRACE_ANSWER__INIT;
	Hoptrace__V1__TraceComplete done = HOPTRACE__V1__TRACE_COMPLETE__INIT;
	ProtobufCBinaryData tid = {sizeof(m->trace_id), (uint8_t *)m->trace_id};
	switch (m->type) {
	case HT_PMSG_PING:
		ping.nonce = m->nonce;
		pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_PING;
		pm.ping = &ping;
		break;
	case HT_PMSG_PONG:
		pong.nonce = m->nonce;
		pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_PONG;
		pm.pong = &pong;
		break;
	case HT_PMSG_ERROR:
		err.reason = (Hoptrace__V1__Reason)m->reason;
		err.detail = (char *)m->detail;
		if (m->has_trace_id)
			err.trace_id = tid;
		pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_ERROR;
		pm.error = &err;
		break;
	case HT_PMSG_TRACE_FORWARD:
		if (!m->data || !forward_len_ok(m->data_len))
			return HT_E_INVAL;
		fwd.request.data = m->data;
		fwd.request.len = m->data_len;
		fwd.hop = m->hop;
		fwd.window_time_ms = m->window_time_ms;
		fwd.budget_ms = m->budget_ms;
		pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_TRACE_FORWARD;
		pm.trace_forward = &fwd;
		break;
	case HT_PMSG_TRACE_ANSWER:
		if (!m->data || !sealed_len_ok(m->data_len))
			return HT_E_INVAL;
		ans.trace_id = tid;
		ans.sealed_answer.data = m->data;
		ans.sealed_answer.len = m->data_len;
		pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_TRACE_ANSWER;
		pm.trace_answer = &ans;
		break;
	case HT_PMSG_TRACE_COMPLETE:
		done.trace_id = tid;
		pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_TRACE_COMPLETE;
		pm.trace_complete = &done;
		break;
	default:
		return HT_E_INVAL;
	}
	int rc = ht__pack(&pm.base, out, out_len);
	if (rc == HT_OK && *out_len > HT_PAYLOAD_MAX) {
		free(*out);
		rc = HT_E_TOO_LARGE;
	}
	return rc;
}

/* A malloc'd copy of `b` into out->data. */
static int take(ht_pmsg *out, const ProtobufCBinaryData *b)
{
	out->data = malloc(b->len);
	if (!out->data)
		return HT_E_NOMEM;
	memcpy(out->data, b->data, b->len);
	out->data_len = b->len;
	return HT_OK;
}

static int copy_trace_id(ht_pmsg *out, const ProtobufCBinaryData *b)
{
	if (b->len != sizeof(out->trace_id))
		return HT_E_MALFORMED;
	memcpy(out->trace_id, b->data, b->len);
	out->has_trace_id = true;
	return HT_OK;
}

int ht_pmsg_decode(const uint8_t *buf, size_t len, ht_pmsg *out)
{
	ProtobufCMessage *m;
	memset(out, 0, sizeof(*out));
	int rc = ht__unpack(&hoptrace__v1__peer_message__descriptor, buf, len, HT_PAYLOAD_MAX, &m);
	if (rc != HT_OK)
		return rc;
	Hoptrace__V1__PeerMessage *pm = (Hoptrace__V1__PeerMessage *)m;
	switch (pm->msg_case) {
	case HOPTRACE__V1__PEER_MESSAGE__MSG_PING:
		out->type = HT_PMSG_PING;
		out->nonce = pm->ping->nonce;
		break;
	case HOPTRACE__V1__PEER_MESSAGE__MSG_PONG:
		out->type = HT_PMSG_PONG;
		out->nonce = pm->pong->nonce;
		break;
	case HOPTRACE__V1__PEER_MESSAGE__MSG_ERROR:
		out->type = HT_PMSG_ERROR;
		out->reason = (uint32_t)pm->error->reason;
		snprintf(out->detail, sizeof(out->detail), "%s", pm->error->detail);
		/* trace_id is optional: absent (empty) or a whole trace ID. */
		if (pm->error->trace_id.len)
			rc = copy_trace_id(out, &pm->error->trace_id);
		break;
	case HOPTRACE__V1__PEER_MESSAGE__MSG_TRACE_FORWARD: {
		const Hoptrace__V1__TraceForward *f = pm->trace_forward;
		out->type = HT_PMSG_TRACE_FORWARD;
		if (!forward_len_ok(f->request.len)) {
			rc = HT_E_MALFORMED;
			break;
		}
		out->hop = f->hop;
		out->window_time_ms = f->window_time_ms;
		out->budget_ms = f->budget_ms;
		rc = take(out, &f->request);
		break;
	}
	case HOPTRACE__V1__PEER_MESSAGE__MSG_TRACE_ANSWER: {
		const Hoptrace__V1__TraceAnswer *a = pm->trace_answer;
		out->type = HT_PMSG_TRACE_ANSWER;
		if (!sealed_len_ok(a->sealed_answer.len)) {
			rc = HT_E_MALFORMED;
			break;
		}
		if ((rc = copy_trace_id(out, &a->trace_id)) == HT_OK)
			rc = take(out, &a->sealed_answer);
		break;
	}
	case HOPTRACE__V1__PEER_MESSAGE__MSG_TRACE_COMPLETE:
		out->type = HT_PMSG_TRACE_COMPLETE;
		rc = copy_trace_id(out, &pm->trace_complete->trace_id);
		break;
	default:
		out->type = HT_PMSG_UNKNOWN;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	if (rc != HT_OK)
		ht_pmsg_clear(out);
	return rc;
}

void ht_pmsg_clear(ht_pmsg *m)
{
	if (!m)
		return;
	free(m->data);
	memset(m, 0, sizeof(*m));
}
