#include "hoptrace/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptrace/v1/control.pb-c.h"
#include "wire.h"

/* A reader keeps a buffer up to this size between frames; larger ones go. */
#define READER_KEEP (64u * 1024u)

/*
 * Length of the UTF-8 character at `s` (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF) and its code point, or 0 if none starts there.
 */
static size_t utf8_char(const uint8_t *s, size_t len, uint32_t *cp)
{
	uint8_t b = s[0];
	size_t n;
	uint8_t lo = 0x80, hi = 0xbf; /* range of the second octet */
	if (b < 0x80) {
		*cp = b;
		return 1;
	} else if (b >= 0xc2 && b <= 0xdf) {
		n = 2;
		*cp = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		n = 3;
		*cp = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0; /* overlong */
		else if (b == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		n = 4;
		*cp = b & 0x07;
		if (b == 0xf0)
			lo = 0x90; /* overlong */
		else if (b == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3f);
	}
	return n;
}

static bool allowed(uint32_t cp)
{
	return cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f);
}

bool ht_ctl_text_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	while (len > 0) {
		uint32_t cp;
		size_t n = utf8_char(p, len, &cp);
		if (n == 0 || !allowed(cp))
			return false;
		p += n;
		len -= n;
	}
	return true;
}

void ht_ctl_text_clean(char *dst, size_t size, const char *src, size_t len)
{
	const uint8_t *p = (const uint8_t *)src;
	size_t o = 0;
	if (size == 0)
		return;
	while (len > 0) {
		uint32_t cp;
		size_t n = utf8_char(p, len, &cp);
		const uint8_t *from = p;
		size_t take = n;
		if (n == 0 || !allowed(cp)) {
			from = (const uint8_t *)"?";
			take = 1;
			n = n ? n : 1;
		}
		if (o + take >= size)
			break;
		memcpy(dst + o, from, take);
		o += take;
		p += n;
		len -= n;
	}
	dst[o] = 0;
}

const char *ht_ctl_result_name(int32_t result)
{
	switch (result) {
	case HT_CTL_RESULT_OK:
		return "ok";
	case HT_CTL_RESULT_ERROR:
		return "error";
	case HT_CTL_RESULT_UNSUPPORTED_VERSION:
		return "unsupported version";
	case HT_CTL_RESULT_UNKNOWN_REQUEST:
		return "unknown request";
	case HT_CTL_RESULT_MALFORMED:
		return "malformed";
	case HT_CTL_RESULT_HELLO_REQUIRED:
		return "hello required";
	default:
		return "unknown result";
	}
}

bool ht_ctl_result_closes(int32_t result)
{
	return result == HT_CTL_RESULT_UNSUPPORTED_VERSION || result == HT_CTL_RESULT_MALFORMED ||
	       result == HT_CTL_RESULT_HELLO_REQUIRED;
}

/* Encoding: points `b` at the text in `s` (an array of max + 1 chars). */
static int put_text(ProtobufCBinaryData *b, const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);
	if (n > max || !ht_ctl_text_valid(s, n))
		return HT_E_INVAL;
	b->data = (uint8_t *)s;
	b->len = n;
	return HT_OK;
}

static int put_provider_id(ProtobufCBinaryData *b, const char *s)
{
	int rc = put_text(b, s, HT_PROVIDER_ID_MAX);
	if (rc == HT_OK && b->len > 0 && !ht_provider_id_valid(s, b->len))
		rc = HT_E_INVAL;
	return rc;
}

/* Decoding: copies checked text into `dst` (max + 1 chars). */
static int get_text(char *dst, size_t max, const ProtobufCBinaryData *b)
{
	if (b->len > max || !ht_ctl_text_valid((const char *)b->data, b->len))
		return HT_E_MALFORMED;
	if (b->len)
		memcpy(dst, b->data, b->len);
	dst[b->len] = 0;
	return HT_OK;
}

static int get_provider_id(char *dst, const ProtobufCBinaryData *b)
{
	if (b->len > 0 && !ht_provider_id_valid((const char *)b->data, b->len))
		return HT_E_MALFORMED;
	return get_text(dst, HT_PROVIDER_ID_MAX, b);
}

int ht_ctl_encode_request(const ht_ctl_request *req, uint8_t **out, size_t *out_len)
{
	Hoptrace__V1__ControlRequest m = HOPTRACE__V1__CONTROL_REQUEST__INIT;
	Hoptrace__V1__HelloRequest hello = HOPTRACE__V1__HELLO_REQUEST__INIT;
	Hoptrace__V1__StatusRequest status = HOPTRACE__V1__STATUS_REQUEST__INIT;
	Hoptrace__V1__PeersRequest peers = HOPTRACE__V1__PEERS_REQUEST__INIT;

	m.version = req->version;
	switch (req->type) {
	case HT_CTL_NONE:
		break;
	case HT_CTL_HELLO:
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_HELLO;
		m.hello = &hello;
		break;
	case HT_CTL_STATUS:
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_STATUS;
		m.status = &status;
		break;
	case HT_CTL_PEERS:
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_PEERS;
		m.peers = &peers;
		break;
	default:
		return HT_E_INVAL;
	}
	return ht__pack(&m.base, out, out_len);
}

int ht_ctl_decode_request(const uint8_t *buf, size_t len, ht_ctl_request *out)
{
	ProtobufCMessage *pm;
	memset(out, 0, sizeof(*out));
	int rc = ht__unpack(&hoptrace__v1__control_request__descriptor, buf, len, HT_CTL_MAX_FRAME,
			    &pm);
	if (rc != HT_OK)
		return rc;
	const Hoptrace__V1__ControlRequest *m = (const Hoptrace__V1__ControlRequest *)pm;
	out->version = m->version;
	switch (m->req_case) {
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_HELLO:
		out->type = HT_CTL_HELLO;
		break;
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_STATUS:
		out->type = HT_CTL_STATUS;
		break;
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_PEERS:
		out->type = HT_CTL_PEERS;
		break;
	default:
		out->type = HT_CTL_NONE;
	}
	protobuf_c_message_free_unpacked(pm, NULL);
	return HT_OK;
}

static int put_status(Hoptrace__V1__StatusResponse *m, const ht_ctl_status *s)
{
	int rc = put_text(&m->daemon_version, s->daemon_version, HT_CTL_DAEMON_VERSION_MAX);
	if (rc == HT_OK)
		rc = put_provider_id(&m->provider_id, s->provider_id);
	m->uptime_s = s->uptime_s;
	m->peers_up = s->peers_up;
	m->peers_total = s->peers_total;
	m->msgs_in = s->msgs_in;
	m->msgs_out = s->msgs_out;
	m->bytes_in = s->bytes_in;
	m->bytes_out = s->bytes_out;
	m->handshakes_ok = s->handshakes_ok;
	m->handshakes_failed = s->handshakes_failed;
	m->conns_refused = s->conns_refused;
	return rc;
}

static int put_peer(Hoptrace__V1__PeerInfo *m, const ht_ctl_peer *p)
{
	int rc = put_provider_id(&m->provider_id, p->provider_id);
	if (rc == HT_OK)
		rc = put_text(&m->address, p->address, HT_CTL_ADDRESS_MAX);
	if (rc == HT_OK)
		rc = put_text(&m->state, p->state, HT_CTL_STATE_MAX);
	if (rc == HT_OK)
		rc = put_text(&m->last_error, p->last_error, HT_CTL_DETAIL_MAX);
	m->since_ms = p->since_ms;
	m->last_seen_ms = p->last_seen_ms;
	m->rtt_us = p->rtt_us;
	m->msgs_in = p->msgs_in;
	m->msgs_out = p->msgs_out;
	m->bytes_in = p->bytes_in;
	m->bytes_out = p->bytes_out;
	return rc;
}

int ht_ctl_encode_response(const ht_ctl_response *resp, uint8_t **out, size_t *out_len)
{
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	Hoptrace__V1__HelloResponse hello = HOPTRACE__V1__HELLO_RESPONSE__INIT;
	Hoptrace__V1__StatusResponse status = HOPTRACE__V1__STATUS_RESPONSE__INIT;
	Hoptrace__V1__PeersResponse peers = HOPTRACE__V1__PEERS_RESPONSE__INIT;
	Hoptrace__V1__PeerInfo *infos = NULL;
	Hoptrace__V1__PeerInfo **ptrs = NULL;
	int rc;

	m.version = resp->version;
	m.result = (Hoptrace__V1__ControlResult)resp->result;
	if ((rc = put_text(&m.detail, resp->detail, HT_CTL_DETAIL_MAX)) != HT_OK)
		return rc;
	switch (resp->type) {
	case HT_CTL_NONE:
		break;
	case HT_CTL_HELLO:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_HELLO;
		m.hello = &hello;
		break;
	case HT_CTL_STATUS:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_STATUS;
		m.status = &status;
		if ((rc = put_status(&status, &resp->status)) != HT_OK)
			return rc;
		break;
	case HT_CTL_PEERS:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_PEERS;
		m.peers = &peers;
		if (resp->n_peers > HT_CTL_MAX_PEERS)
			return HT_E_TOO_LARGE;
		if (resp->n_peers == 0)
			break;
		if (!resp->peers)
			return HT_E_INVAL;
		infos = calloc(resp->n_peers, sizeof(*infos));
		ptrs = calloc(resp->n_peers, sizeof(*ptrs));
		if (!infos || !ptrs) {
			rc = HT_E_NOMEM;
			goto out;
		}
		for (size_t i = 0; i < resp->n_peers; i++) {
			Hoptrace__V1__PeerInfo init = HOPTRACE__V1__PEER_INFO__INIT;
			infos[i] = init;
			ptrs[i] = &infos[i];
			if ((rc = put_peer(&infos[i], &resp->peers[i])) != HT_OK)
				goto out;
		}
		peers.n_peers = resp->n_peers;
		peers.peers = ptrs;
		break;
	default:
		return HT_E_INVAL;
	}
	rc = ht__pack(&m.base, out, out_len);
	if (rc == HT_OK && *out_len > HT_CTL_MAX_FRAME) {
		free(*out);
		*out = NULL;
		rc = HT_E_TOO_LARGE;
	}
out:
	free(infos);
	free(ptrs);
	return rc;
}

static int get_status(ht_ctl_status *s, const Hoptrace__V1__StatusResponse *m)
{
	int rc = get_text(s->daemon_version, HT_CTL_DAEMON_VERSION_MAX, &m->daemon_version);
	if (rc == HT_OK)
		rc = get_provider_id(s->provider_id, &m->provider_id);
	s->uptime_s = m->uptime_s;
	s->peers_up = m->peers_up;
	s->peers_total = m->peers_total;
	s->msgs_in = m->msgs_in;
	s->msgs_out = m->msgs_out;
	s->bytes_in = m->bytes_in;
	s->bytes_out = m->bytes_out;
	s->handshakes_ok = m->handshakes_ok;
	s->handshakes_failed = m->handshakes_failed;
	s->conns_refused = m->conns_refused;
	return rc;
}

static int get_peer(ht_ctl_peer *p, const Hoptrace__V1__PeerInfo *m)
{
	int rc = get_provider_id(p->provider_id, &m->provider_id);
	if (rc == HT_OK)
		rc = get_text(p->address, HT_CTL_ADDRESS_MAX, &m->address);
	if (rc == HT_OK)
		rc = get_text(p->state, HT_CTL_STATE_MAX, &m->state);
	if (rc == HT_OK)
		rc = get_text(p->last_error, HT_CTL_DETAIL_MAX, &m->last_error);
	p->since_ms = m->since_ms;
	p->last_seen_ms = m->last_seen_ms;
	p->rtt_us = m->rtt_us;
	p->msgs_in = m->msgs_in;
	p->msgs_out = m->msgs_out;
	p->bytes_in = m->bytes_in;
	p->bytes_out = m->bytes_out;
	return rc;
}

int ht_ctl_decode_response(const uint8_t *buf, size_t len, ht_ctl_response *out)
{
	ProtobufCMessage *pm;
	memset(out, 0, sizeof(*out));
	int rc = ht__unpack(&hoptrace__v1__control_response__descriptor, buf, len, HT_CTL_MAX_FRAME,
			    &pm);
	if (rc != HT_OK)
		return rc;
	const Hoptrace__V1__ControlResponse *m = (const Hoptrace__V1__ControlResponse *)pm;
	out->version = m->version;
	out->result = (int32_t)m->result;
	if ((rc = get_text(out->detail, HT_CTL_DETAIL_MAX, &m->detail)) != HT_OK)
		goto fail;
	switch (m->resp_case) {
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_HELLO:
		out->type = HT_CTL_HELLO;
		break;
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_STATUS:
		out->type = HT_CTL_STATUS;
		if ((rc = get_status(&out->status, m->status)) != HT_OK)
			goto fail;
		break;
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_PEERS: {
		const Hoptrace__V1__PeersResponse *p = m->peers;
		out->type = HT_CTL_PEERS;
		if (p->n_peers > HT_CTL_MAX_PEERS) {
			rc = HT_E_TOO_LARGE;
			goto fail;
		}
		if (p->n_peers == 0)
			break;
		if (!(out->peers = calloc(p->n_peers, sizeof(*out->peers)))) {
			rc = HT_E_NOMEM;
			goto fail;
		}
		out->n_peers = p->n_peers;
		for (size_t i = 0; i < p->n_peers; i++)
			if ((rc = get_peer(&out->peers[i], p->peers[i])) != HT_OK)
				goto fail;
		break;
	}
	default:
		out->type = HT_CTL_NONE;
	}
	protobuf_c_message_free_unpacked(pm, NULL);
	return HT_OK;
fail:
	protobuf_c_message_free_unpacked(pm, NULL);
	ht_ctl_response_clear(out);
	return rc;
}

void ht_ctl_response_clear(ht_ctl_response *r)
{
	if (!r)
		return;
	free(r->peers);
	memset(r, 0, sizeof(*r));
}

void ht_ctl_response_set(ht_ctl_response *r, int32_t result, const char *detail)
{
	memset(r, 0, sizeof(*r));
	r->version = HT_CTL_VERSION;
	r->result = result;
	if (detail)
		ht_ctl_text_clean(r->detail, sizeof(r->detail), detail, strlen(detail));
}

int32_t ht_ctl_admit(const uint8_t *body, size_t len, bool hello_done, ht_ctl_request *req,
		     ht_ctl_response *resp)
{
	char detail[HT_CTL_DETAIL_MAX + 1];
	int rc = ht_ctl_decode_request(body, len, req);
	if (rc != HT_OK) {
		snprintf(detail, sizeof(detail), "request does not decode: %s", ht_strerror(rc));
		ht_ctl_response_set(resp, HT_CTL_RESULT_MALFORMED, detail);
	} else if (req->version != HT_CTL_VERSION) {
		snprintf(detail, sizeof(detail),
			 "unsupported control protocol version: the client speaks version %lu, "
			 "this server speaks version %d",
			 (unsigned long)req->version, HT_CTL_VERSION);
		ht_ctl_response_set(resp, HT_CTL_RESULT_UNSUPPORTED_VERSION, detail);
	} else if (!hello_done && req->type != HT_CTL_HELLO) {
		ht_ctl_response_set(resp, HT_CTL_RESULT_HELLO_REQUIRED,
				    "the first request on a connection must be hello");
	} else if (req->type == HT_CTL_NONE) {
		ht_ctl_response_set(resp, HT_CTL_RESULT_UNKNOWN_REQUEST,
				    "the request carries no command this server knows");
	} else {
		ht_ctl_response_set(resp, HT_CTL_RESULT_OK, NULL);
		resp->type = req->type;
	}
	return resp->result;
}

int ht_ctl_frame(const uint8_t *body, size_t len, uint8_t **out, size_t *out_len)
{
	if (len > HT_CTL_MAX_FRAME)
		return HT_E_TOO_LARGE;
	if (!body && len > 0)
		return HT_E_INVAL;
	uint8_t *b = malloc(HT_CTL_PREFIX_LEN + len);
	if (!b)
		return HT_E_NOMEM;
	b[0] = (uint8_t)(len >> 24);
	b[1] = (uint8_t)(len >> 16);
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	if (len)
		memcpy(b + HT_CTL_PREFIX_LEN, body, len);
	*out = b;
	*out_len = HT_CTL_PREFIX_LEN + len;
	return HT_OK;
}

void ht_ctl_reader_init(ht_ctl_reader *r)
{
	memset(r, 0, sizeof(*r));
}

void ht_ctl_reader_free(ht_ctl_reader *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

static bool complete(const ht_ctl_reader *r)
{
	return r->err == HT_OK && r->got >= HT_CTL_PREFIX_LEN &&
	       r->got - HT_CTL_PREFIX_LEN == r->body_len;
}

int ht_ctl_reader_feed(ht_ctl_reader *r, const uint8_t *data, size_t len, size_t *used)
{
	size_t u = 0;
	*used = 0;
	if (r->err != HT_OK)
		return r->err;
	if (complete(r)) {
		r->got = 0;
		r->body_len = 0;
		if (r->cap > READER_KEEP) {
			free(r->buf);
			r->buf = NULL;
			r->cap = 0;
		}
	}
	while (u < len && r->got < HT_CTL_PREFIX_LEN) {
		r->prefix[r->got++] = data[u++];
		if (r->got < HT_CTL_PREFIX_LEN)
			continue;
		uint32_t n = (uint32_t)r->prefix[0] << 24 | (uint32_t)r->prefix[1] << 16 |
			     (uint32_t)r->prefix[2] << 8 | r->prefix[3];
		if (n > HT_CTL_MAX_FRAME) {
			*used = u;
			return r->err = HT_E_TOO_LARGE;
		}
		if (n > r->cap) {
			free(r->buf);
			r->cap = 0;
			if (!(r->buf = malloc(n))) {
				*used = u;
				return r->err = HT_E_NOMEM;
			}
			r->cap = n;
		}
		r->body_len = n;
	}
	if (r->got >= HT_CTL_PREFIX_LEN) {
		size_t want = r->body_len - (r->got - HT_CTL_PREFIX_LEN);
		size_t take = len - u < want ? len - u : want;
		if (take) {
			memcpy(r->buf + (r->got - HT_CTL_PREFIX_LEN), data + u, take);
			r->got += take;
			u += take;
		}
	}
	*used = u;
	return HT_OK;
}

bool ht_ctl_reader_frame(const ht_ctl_reader *r, const uint8_t **body, size_t *len)
{
	if (!complete(r))
		return false;
	*body = r->buf ? r->buf : (const uint8_t *)"";
	*len = r->body_len;
	return true;
}

bool ht_ctl_reader_partial(const ht_ctl_reader *r)
{
	return r->got > 0 && !complete(r);
}
