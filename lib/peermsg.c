#include "hoptrace/peermsg.h"

#include <stdio.h>
#include <string.h>

#include "hoptrace/session.h"
#include "hoptrace/v1/peer.pb-c.h"
#include "wire.h"

int ht_pmsg_encode(const ht_pmsg *m, uint8_t **out, size_t *out_len)
{
	Hoptrace__V1__PeerMessage pm = HOPTRACE__V1__PEER_MESSAGE__INIT;
	Hoptrace__V1__Ping ping = HOPTRACE__V1__PING__INIT;
	Hoptrace__V1__Pong pong = HOPTRACE__V1__PONG__INIT;
	Hoptrace__V1__Error err = HOPTRACE__V1__ERROR__INIT;
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
		pm.msg_case = HOPTRACE__V1__PEER_MESSAGE__MSG_ERROR;
		pm.error = &err;
		break;
	default:
		return HT_E_INVAL;
	}
	return ht__pack(&pm.base, out, out_len);
}

int ht_pmsg_decode(const uint8_t *buf, size_t len, ht_pmsg *out)
{
	ProtobufCMessage *m;
	int rc = ht__unpack(&hoptrace__v1__peer_message__descriptor, buf, len, HT_PAYLOAD_MAX, &m);
	if (rc != HT_OK)
		return rc;
	Hoptrace__V1__PeerMessage *pm = (Hoptrace__V1__PeerMessage *)m;
	memset(out, 0, sizeof(*out));
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
		break;
	default:
		out->type = HT_PMSG_UNKNOWN;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return HT_OK;
}
