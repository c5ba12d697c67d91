#include "hoptrace/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptrace/e164.h"
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

const char *ht_ctl_type_name(ht_ctl_type type)
{
	switch (type) {
	case HT_CTL_HELLO:
		return "hello";
	case HT_CTL_STATUS:
		return "status";
	case HT_CTL_PEERS:
		return "peers";
	case HT_CTL_CDR_IMPORT:
		return "cdr import";
	case HT_CTL_CDR_STATS:
		return "cdr stats";
	case HT_CTL_CDR_LOOKUP:
		return "cdr lookup";
	case HT_CTL_AUDIT:
		return "audit";
	case HT_CTL_TRACE_START:
		return "trace start";
	case HT_CTL_TRACE_SHOW:
		return "trace show";
	case HT_CTL_TRACE_LIST:
		return "trace list";
	case HT_CTL_TRACE_EXPORT:
		return "trace export";
	default:
		return "unknown";
	}
}

/* Encoding: points `b` at an optional 16-octet value. */
static void put_bytes16(ProtobufCBinaryData *b, bool has, const uint8_t *v)
{
	b->data = has ? (uint8_t *)v : NULL;
	b->len = has ? 16 : 0;
}

/* Decoding: an optional 16-octet value, empty or exactly 16 octets. */
static int get_bytes16(bool *has, uint8_t *dst, const ProtobufCBinaryData *b)
{
	if (b->len != 0 && b->len != 16)
		return HT_E_MALFORMED;
	*has = b->len == 16;
	if (*has)
		memcpy(dst, b->data, 16);
	return HT_OK;
}

/* Decoding: a required trace ID, exactly 16 octets. */
static int get_id16(uint8_t *dst, const ProtobufCBinaryData *b)
{
	if (b->len != 16)
		return HT_E_MALFORMED;
	memcpy(dst, b->data, 16);
	return HT_OK;
}

static int put_trace_start(Hoptrace__V1__TraceStartRequest *m, const ht_ctl_trace_start *t)
{
	int rc = put_text(&m->calling, t->calling, HT_CTL_NUMBER_MAX);
	if (rc == HT_OK)
		rc = put_text(&m->called, t->called, HT_CTL_NUMBER_MAX);
	if (rc == HT_OK)
		rc = put_provider_id(&m->to, t->to);
	if (rc == HT_OK)
		rc = put_text(&m->label, t->label, HT_CTL_LABEL_MAX);
	if (rc == HT_OK && t->tolerance_ms > HT_CTL_TOLERANCE_MAX_MS)
		rc = HT_E_INVAL;
	m->time_ms = t->time_ms;
	m->tolerance_ms = t->tolerance_ms;
	return rc;
}

static int get_trace_start(ht_ctl_trace_start *t, const Hoptrace__V1__TraceStartRequest *m)
{
	int rc = get_text(t->calling, HT_CTL_NUMBER_MAX, &m->calling);
	if (rc == HT_OK)
		rc = get_text(t->called, HT_CTL_NUMBER_MAX, &m->called);
	if (rc == HT_OK)
		rc = get_provider_id(t->to, &m->to);
	if (rc == HT_OK)
		rc = get_text(t->label, HT_CTL_LABEL_MAX, &m->label);
	if (rc == HT_OK && m->tolerance_ms > HT_CTL_TOLERANCE_MAX_MS)
		rc = HT_E_MALFORMED;
	t->time_ms = m->time_ms;
	t->tolerance_ms = m->tolerance_ms;
	return rc;
}

int ht_ctl_encode_request(const ht_ctl_request *req, uint8_t **out, size_t *out_len)
{
	Hoptrace__V1__ControlRequest m = HOPTRACE__V1__CONTROL_REQUEST__INIT;
	Hoptrace__V1__HelloRequest hello = HOPTRACE__V1__HELLO_REQUEST__INIT;
	Hoptrace__V1__StatusRequest status = HOPTRACE__V1__STATUS_REQUEST__INIT;
	Hoptrace__V1__PeersRequest peers = HOPTRACE__V1__PEERS_REQUEST__INIT;
	Hoptrace__V1__CdrImportChunk chunk = HOPTRACE__V1__CDR_IMPORT_CHUNK__INIT;
	Hoptrace__V1__CdrStatsRequest stats = HOPTRACE__V1__CDR_STATS_REQUEST__INIT;
	Hoptrace__V1__CdrLookupRequest lookup = HOPTRACE__V1__CDR_LOOKUP_REQUEST__INIT;
	Hoptrace__V1__AuditRequest audit = HOPTRACE__V1__AUDIT_REQUEST__INIT;
	Hoptrace__V1__TraceStartRequest start = HOPTRACE__V1__TRACE_START_REQUEST__INIT;
	Hoptrace__V1__TraceShowRequest show = HOPTRACE__V1__TRACE_SHOW_REQUEST__INIT;
	Hoptrace__V1__TraceListRequest list = HOPTRACE__V1__TRACE_LIST_REQUEST__INIT;
	Hoptrace__V1__TraceExportRequest exp = HOPTRACE__V1__TRACE_EXPORT_REQUEST__INIT;
	int rc = HT_OK;

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
	case HT_CTL_CDR_IMPORT:
		if (req->import.len > HT_CTL_IMPORT_CHUNK_MAX ||
		    (!req->import.data && req->import.len > 0))
			return HT_E_INVAL;
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_CDR_IMPORT;
		m.cdr_import = &chunk;
		chunk.data.data = req->import.data;
		chunk.data.len = req->import.len;
		chunk.last = req->import.last;
		chunk.total_bytes = req->import.total_bytes;
		break;
	case HT_CTL_CDR_STATS:
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_CDR_STATS;
		m.cdr_stats = &stats;
		break;
	case HT_CTL_CDR_LOOKUP:
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_CDR_LOOKUP;
		m.cdr_lookup = &lookup;
		rc = put_text(&lookup.calling, req->lookup.calling, HT_CTL_NUMBER_MAX);
		if (rc == HT_OK)
			rc = put_text(&lookup.called, req->lookup.called, HT_CTL_NUMBER_MAX);
		lookup.time_ms = req->lookup.time_ms;
		lookup.tolerance_ms = req->lookup.tolerance_ms;
		break;
	case HT_CTL_AUDIT:
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_AUDIT;
		m.audit = &audit;
		rc = put_provider_id(&audit.peer, req->audit.peer);
		put_bytes16(&audit.trace_id, req->audit.has_trace_id, req->audit.trace_id);
		audit.since_ms = req->audit.since_ms;
		audit.until_ms = req->audit.until_ms;
		audit.limit = req->audit.limit;
		break;
	case HT_CTL_TRACE_START:
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_START;
		m.trace_start = &start;
		rc = put_trace_start(&start, &req->trace_start);
		break;
	case HT_CTL_TRACE_SHOW:
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_SHOW;
		m.trace_show = &show;
		put_bytes16(&show.trace_id, true, req->trace.trace_id);
		show.from = req->trace.from;
		break;
	case HT_CTL_TRACE_LIST:
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_LIST;
		m.trace_list = &list;
		list.limit = req->trace.limit;
		break;
	case HT_CTL_TRACE_EXPORT:
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_EXPORT;
		m.trace_export = &exp;
		put_bytes16(&exp.trace_id, true, req->trace.trace_id);
		exp.offset = req->trace.offset;
		break;
	default:
		return HT_E_INVAL;
	}
	if (rc != HT_OK)
		return rc;
	return ht__pack(&m.base, out, out_len);
}

static int get_request(ht_ctl_request *out, const Hoptrace__V1__ControlRequest *m)
{
	int rc = HT_OK;
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
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_CDR_IMPORT: {
		const Hoptrace__V1__CdrImportChunk *c = m->cdr_import;
		out->type = HT_CTL_CDR_IMPORT;
		if (c->data.len > HT_CTL_IMPORT_CHUNK_MAX)
			return HT_E_MALFORMED;
		if (c->data.len > 0) {
			if (!(out->import.data = malloc(c->data.len)))
				return HT_E_NOMEM;
			memcpy(out->import.data, c->data.data, c->data.len);
			out->import.len = c->data.len;
		}
		out->import.last = c->last;
		out->import.total_bytes = c->total_bytes;
		break;
	}
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_CDR_STATS:
		out->type = HT_CTL_CDR_STATS;
		break;
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_CDR_LOOKUP: {
		const Hoptrace__V1__CdrLookupRequest *l = m->cdr_lookup;
		out->type = HT_CTL_CDR_LOOKUP;
		rc = get_text(out->lookup.calling, HT_CTL_NUMBER_MAX, &l->calling);
		if (rc == HT_OK)
			rc = get_text(out->lookup.called, HT_CTL_NUMBER_MAX, &l->called);
		out->lookup.time_ms = l->time_ms;
		out->lookup.tolerance_ms = l->tolerance_ms;
		break;
	}
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_AUDIT: {
		const Hoptrace__V1__AuditRequest *a = m->audit;
		out->type = HT_CTL_AUDIT;
		rc = get_provider_id(out->audit.peer, &a->peer);
		if (rc == HT_OK)
			rc = get_bytes16(&out->audit.has_trace_id, out->audit.trace_id,
					 &a->trace_id);
		out->audit.since_ms = a->since_ms;
		out->audit.until_ms = a->until_ms;
		out->audit.limit = a->limit == 0                 ? HT_CTL_AUDIT_DEFAULT
				   : a->limit > HT_CTL_AUDIT_MAX ? HT_CTL_AUDIT_MAX
								 : a->limit;
		break;
	}
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_START:
		out->type = HT_CTL_TRACE_START;
		rc = get_trace_start(&out->trace_start, m->trace_start);
		break;
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_SHOW:
		out->type = HT_CTL_TRACE_SHOW;
		rc = get_id16(out->trace.trace_id, &m->trace_show->trace_id);
		out->trace.from = m->trace_show->from;
		break;
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_LIST: {
		uint32_t lim = m->trace_list->limit;
		out->type = HT_CTL_TRACE_LIST;
		out->trace.limit = lim == 0                      ? HT_CTL_TRACE_LIST_DEFAULT
				   : lim > HT_CTL_TRACE_LIST_MAX ? HT_CTL_TRACE_LIST_MAX
								 : lim;
		break;
	}
	case HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_EXPORT:
		out->type = HT_CTL_TRACE_EXPORT;
		rc = get_id16(out->trace.trace_id, &m->trace_export->trace_id);
		out->trace.offset = m->trace_export->offset;
		break;
	default:
		out->type = HT_CTL_NONE;
	}
	return rc;
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
	rc = get_request(out, m);
	protobuf_c_message_free_unpacked(pm, NULL);
	if (rc != HT_OK)
		ht_ctl_request_clear(out);
	return rc;
}

void ht_ctl_request_clear(ht_ctl_request *r)
{
	if (!r)
		return;
	free(r->import.data);
	memset(r, 0, sizeof(*r));
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

static int put_row_error(Hoptrace__V1__RowError *m, const ht_ctl_row_error *e)
{
	int rc = put_text(&m->reason, e->reason, HT_CTL_REASON_MAX);
	if (rc == HT_OK)
		rc = put_text(&m->message, e->message, HT_CTL_ROW_MESSAGE_MAX);
	m->line = e->line;
	return rc;
}

static int put_peer_count(Hoptrace__V1__PeerCount *m, const ht_ctl_peer_count *p)
{
	m->as_upstream = p->as_upstream;
	m->as_downstream = p->as_downstream;
	return put_provider_id(&m->provider_id, p->provider_id);
}

/* A record's number: E.164 digits in an array of HT_E164_BUF chars. */
static int put_digits(ProtobufCBinaryData *b, const char *s)
{
	size_t n = strnlen(s, HT_E164_BUF);
	if (n >= HT_E164_BUF || !ht_e164_digits_valid(s, n))
		return HT_E_INVAL;
	b->data = (uint8_t *)s;
	b->len = n;
	return HT_OK;
}

static int put_record(Hoptrace__V1__CdrRecord *m, const ht_cdr *r)
{
	int rc = put_digits(&m->calling, r->calling);
	if (rc == HT_OK)
		rc = put_digits(&m->called, r->called);
	if (rc == HT_OK)
		rc = put_provider_id(&m->upstream, r->upstream);
	if (rc == HT_OK)
		rc = put_provider_id(&m->downstream, r->downstream);
	if (rc == HT_OK)
		rc = put_text(&m->customer_ref, r->customer_ref, HT_CDR_CUSTOMER_REF_MAX);
	if (rc == HT_OK)
		rc = put_text(&m->call_id, r->call_id, HT_CDR_CALL_ID_MAX);
	if (r->attestation == 'A' || r->attestation == 'B' || r->attestation == 'C') {
		m->attestation.data = (uint8_t *)&r->attestation;
		m->attestation.len = 1;
	} else if (r->attestation != 0 && rc == HT_OK) {
		rc = HT_E_INVAL;
	}
	put_bytes16(&m->origid, r->has_origid, r->origid);
	m->time_ms = r->time_ms;
	return rc;
}

static int put_audit_entry(Hoptrace__V1__AuditEntry *m, const ht_ctl_audit_entry *e)
{
	int rc = put_provider_id(&m->asking_peer, e->asking_peer);
	if (rc == HT_OK)
		rc = put_provider_id(&m->initiator, e->initiator);
	if (rc == HT_OK)
		rc = put_text(&m->status, e->status, HT_CTL_AUDIT_STATUS_MAX);
	if (rc == HT_OK)
		rc = put_text(&m->disclosed, e->disclosed, HT_CTL_DISCLOSED_MAX);
	put_bytes16(&m->trace_id, e->has_trace_id, e->trace_id);
	m->time_ms = e->time_ms;
	return rc;
}

/* An attestation octet (0, 'A', 'B', 'C') as the control protocol's text. */
static int put_attestation(ProtobufCBinaryData *b, const char *a)
{
	if (*a == 'A' || *a == 'B' || *a == 'C') {
		b->data = (uint8_t *)a;
		b->len = 1;
	} else if (*a != 0) {
		return HT_E_INVAL;
	}
	return HT_OK;
}

static int put_hop_call(Hoptrace__V1__TraceHopCall *m, const ht_ctl_hop_call *c)
{
	int rc = put_provider_id(&m->upstream, c->upstream);
	if (rc == HT_OK)
		rc = put_text(&m->customer_ref, c->customer_ref, HT_CTL_CUSTOMER_REF_MAX);
	if (rc == HT_OK)
		rc = put_attestation(&m->attestation, &c->attestation);
	put_bytes16(&m->origid, c->has_origid, c->origid);
	m->originated_here = c->originated_here;
	m->record_time_ms = c->record_time_ms;
	return rc;
}

/* A TraceHop and room for its calls, so one allocation serves a whole answer. */
struct hop_msg {
	Hoptrace__V1__TraceHop m;
	Hoptrace__V1__TraceHopCall calls[HT_CTL_HOP_CALLS_MAX];
	Hoptrace__V1__TraceHopCall *ptrs[HT_CTL_HOP_CALLS_MAX];
};

static int put_hop(struct hop_msg *hm, const ht_ctl_hop *h)
{
	Hoptrace__V1__TraceHop *m = &hm->m;
	hoptrace__v1__trace_hop__init(m);
	if (h->n_calls > HT_CTL_HOP_CALLS_MAX)
		return HT_E_INVAL;
	int rc = put_provider_id(&m->provider_id, h->provider_id);
	if (rc == HT_OK)
		rc = put_provider_id(&m->asked_by, h->asked_by);
	if (rc == HT_OK)
		rc = put_text(&m->status, h->status, HT_CTL_ANSWER_STATUS_MAX);
	if (rc == HT_OK)
		rc = put_text(&m->reason, h->reason, HT_CTL_REASON_MAX);
	if (rc == HT_OK)
		rc = put_provider_id(&m->upstream, h->upstream);
	if (rc == HT_OK)
		rc = put_text(&m->verdict, h->verdict, HT_CTL_VERDICT_MAX);
	for (size_t i = 0; i < h->n_calls && rc == HT_OK; i++) {
		hoptrace__v1__trace_hop_call__init(&hm->calls[i]);
		hm->ptrs[i] = &hm->calls[i];
		rc = put_hop_call(&hm->calls[i], &h->calls[i]);
	}
	m->n_calls = h->n_calls;
	m->calls = h->n_calls ? hm->ptrs : NULL;
	m->hop = h->hop;
	m->answered_ms = h->answered_ms;
	m->window_time_ms = h->window_time_ms;
	m->received_ms = h->received_ms;
	return rc;
}

static int put_trace_entry(Hoptrace__V1__TraceListEntry *m, const ht_ctl_trace_entry *e)
{
	int rc = put_text(&m->status, e->status, HT_CTL_TRACE_STATUS_MAX);
	if (rc == HT_OK)
		rc = put_provider_id(&m->origin, e->origin);
	if (rc == HT_OK)
		rc = put_text(&m->label, e->label, HT_CTL_LABEL_MAX);
	put_bytes16(&m->trace_id, true, e->trace_id);
	m->created_ms = e->created_ms;
	m->answers = e->answers;
	m->call_time_ms = e->call_time_ms;
	return rc;
}

/* The one list an encoding allocates (message structs and pointers to them). */
struct scratch {
	void *items;
	void *ptrs;
};

/*
 * Checks a list of `n` entries at `src` against `max`, and allocates `n`
 * message structs of `size` octets and `n` pointers. HT_OK with nothing
 * allocated when `n` is 0.
 */
static int list_alloc(struct scratch *sc, size_t n, const void *src, size_t max, size_t size)
{
	if (n > max)
		return HT_E_TOO_LARGE;
	if (n == 0)
		return HT_OK;
	if (!src)
		return HT_E_INVAL;
	sc->items = calloc(n, size);
	sc->ptrs = calloc(n, sizeof(void *));
	return sc->items && sc->ptrs ? HT_OK : HT_E_NOMEM;
}

/*
 * Fills the repeated field (*n_out, *ptrs_out) of generated messages of
 * type T, made from the `n` entries of `src` with INIT and PUT.
 */
#define PUT_LIST(T, INIT, PUT, sc, n, src, max, n_out, ptrs_out)                                   \
	do {                                                                                       \
		int rc_ = list_alloc((sc), (n), (src), (max), sizeof(T));                          \
		if (rc_ != HT_OK || (n) == 0)                                                      \
			return rc_;                                                                \
		T *items_ = (sc)->items;                                                           \
		T **ptrs_ = (sc)->ptrs;                                                            \
		for (size_t i_ = 0; i_ < (n); i_++) {                                              \
			INIT(&items_[i_]);                                                         \
			ptrs_[i_] = &items_[i_];                                                   \
			if ((rc_ = PUT(&items_[i_], &(src)[i_])) != HT_OK)                         \
				return rc_;                                                        \
		}                                                                                  \
		*(n_out) = (n);                                                                    \
		*(ptrs_out) = ptrs_;                                                               \
		return HT_OK;                                                                      \
	} while (0)

static int put_peers(Hoptrace__V1__PeersResponse *m, const ht_ctl_response *r, struct scratch *sc)
{
	PUT_LIST(Hoptrace__V1__PeerInfo, hoptrace__v1__peer_info__init, put_peer, sc, r->n_peers,
		 r->peers, HT_CTL_MAX_PEERS, &m->n_peers, &m->peers);
}

static int put_progress(Hoptrace__V1__CdrImportProgress *m, const ht_ctl_import_progress *p,
			struct scratch *sc)
{
	m->rows_imported = p->rows_imported;
	m->rows_rejected = p->rows_rejected;
	m->rows_duplicate = p->rows_duplicate;
	m->bytes_acked = p->bytes_acked;
	m->errors_omitted = p->errors_omitted;
	m->done = p->done;
	PUT_LIST(Hoptrace__V1__RowError, hoptrace__v1__row_error__init, put_row_error, sc,
		 p->n_errors, p->errors, HT_CTL_MAX_ROW_ERRORS, &m->n_errors, &m->errors);
}

static int put_cdr_stats(Hoptrace__V1__CdrStatsResponse *m, const ht_ctl_cdr_stats *s,
			 struct scratch *sc)
{
	m->records = s->records;
	m->partitions = s->partitions;
	m->first_ms = s->first_ms;
	m->last_ms = s->last_ms;
	m->bytes_on_disk = s->bytes_on_disk;
	m->peers_truncated = s->peers_truncated;
	PUT_LIST(Hoptrace__V1__PeerCount, hoptrace__v1__peer_count__init, put_peer_count, sc,
		 s->n_peers, s->peers, HT_CTL_MAX_STATS_PEERS, &m->n_peers, &m->peers);
}

static int put_lookup(Hoptrace__V1__CdrLookupResponse *m, const ht_ctl_cdr_records *l,
		      struct scratch *sc)
{
	m->truncated = l->truncated;
	PUT_LIST(Hoptrace__V1__CdrRecord, hoptrace__v1__cdr_record__init, put_record, sc, l->n,
		 l->records, HT_CTL_LOOKUP_MAX, &m->n_records, &m->records);
}

static int put_audit(Hoptrace__V1__AuditResponse *m, const ht_ctl_audit_list *a, struct scratch *sc)
{
	m->truncated = a->truncated;
	PUT_LIST(Hoptrace__V1__AuditEntry, hoptrace__v1__audit_entry__init, put_audit_entry, sc,
		 a->n, a->entries, HT_CTL_AUDIT_MAX, &m->n_entries, &m->entries);
}

static int put_trace(Hoptrace__V1__TraceShowResponse *m, const ht_ctl_trace *t, struct scratch *sc)
{
	int rc = put_provider_id(&m->initiator, t->initiator);
	if (rc == HT_OK && (t->calling[0] || t->called[0]))
		rc = put_digits(&m->calling, t->calling);
	if (rc == HT_OK && (t->calling[0] || t->called[0]))
		rc = put_digits(&m->called, t->called);
	if (rc == HT_OK)
		rc = put_text(&m->label, t->label, HT_CTL_LABEL_MAX);
	if (rc == HT_OK)
		rc = put_provider_id(&m->to, t->to);
	if (rc == HT_OK)
		rc = put_text(&m->status, t->status, HT_CTL_TRACE_STATUS_MAX);
	if (rc != HT_OK)
		return rc;
	if (t->answers_total > HT_CTL_TRACE_ANSWERS_MAX || t->from > t->answers_total ||
	    t->n_answers > t->answers_total - t->from)
		return t->n_answers > HT_CTL_TRACE_ANSWERS_MAX ? HT_E_TOO_LARGE : HT_E_INVAL;
	put_bytes16(&m->trace_id, true, t->trace_id);
	m->call_time_ms = t->call_time_ms;
	m->tolerance_ms = t->tolerance_ms;
	m->hop_limit = t->hop_limit;
	m->created_ms = t->created_ms;
	m->expires_ms = t->expires_ms;
	m->started_ms = t->started_ms;
	m->finished_ms = t->finished_ms;
	m->answers_total = t->answers_total;
	m->answers_dropped = t->answers_dropped;
	m->from = t->from;
	if ((rc = list_alloc(sc, t->n_answers, t->answers, HT_CTL_TRACE_ANSWERS_MAX,
			     sizeof(struct hop_msg))) != HT_OK ||
	    t->n_answers == 0)
		return rc;
	struct hop_msg *items = sc->items;
	Hoptrace__V1__TraceHop **ptrs = sc->ptrs;
	for (size_t i = 0; i < t->n_answers; i++) {
		ptrs[i] = &items[i].m;
		if ((rc = put_hop(&items[i], &t->answers[i])) != HT_OK)
			return rc;
	}
	m->n_answers = t->n_answers;
	m->answers = ptrs;
	return HT_OK;
}

static int put_trace_list(Hoptrace__V1__TraceListResponse *m, const ht_ctl_trace_list *l,
			  struct scratch *sc)
{
	m->truncated = l->truncated;
	PUT_LIST(Hoptrace__V1__TraceListEntry, hoptrace__v1__trace_list_entry__init,
		 put_trace_entry, sc, l->n, l->entries, HT_CTL_TRACE_LIST_MAX, &m->n_traces,
		 &m->traces);
}

static int put_export(Hoptrace__V1__TraceExportResponse *m, const ht_ctl_trace_export *e)
{
	if (e->len > HT_CTL_EXPORT_CHUNK_MAX)
		return HT_E_TOO_LARGE;
	if ((!e->data && e->len > 0) || e->total > HT_CTL_EXPORT_MAX || e->offset > e->total ||
	    e->len > e->total - e->offset)
		return HT_E_INVAL;
	m->data.data = e->data;
	m->data.len = e->len;
	m->offset = e->offset;
	m->total = e->total;
	m->digest.data = (uint8_t *)e->digest;
	m->digest.len = HT_CTL_DIGEST_LEN;
	m->answers = e->answers;
	return HT_OK;
}

int ht_ctl_encode_response(const ht_ctl_response *resp, uint8_t **out, size_t *out_len)
{
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	Hoptrace__V1__HelloResponse hello = HOPTRACE__V1__HELLO_RESPONSE__INIT;
	Hoptrace__V1__StatusResponse status = HOPTRACE__V1__STATUS_RESPONSE__INIT;
	Hoptrace__V1__PeersResponse peers = HOPTRACE__V1__PEERS_RESPONSE__INIT;
	Hoptrace__V1__CdrImportProgress progress = HOPTRACE__V1__CDR_IMPORT_PROGRESS__INIT;
	Hoptrace__V1__CdrStatsResponse stats = HOPTRACE__V1__CDR_STATS_RESPONSE__INIT;
	Hoptrace__V1__CdrLookupResponse lookup = HOPTRACE__V1__CDR_LOOKUP_RESPONSE__INIT;
	Hoptrace__V1__AuditResponse audit = HOPTRACE__V1__AUDIT_RESPONSE__INIT;
	Hoptrace__V1__TraceStartResponse started = HOPTRACE__V1__TRACE_START_RESPONSE__INIT;
	Hoptrace__V1__TraceShowResponse show = HOPTRACE__V1__TRACE_SHOW_RESPONSE__INIT;
	Hoptrace__V1__TraceListResponse list = HOPTRACE__V1__TRACE_LIST_RESPONSE__INIT;
	Hoptrace__V1__TraceExportResponse exp = HOPTRACE__V1__TRACE_EXPORT_RESPONSE__INIT;
	struct scratch sc = {NULL, NULL};
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
		rc = put_status(&status, &resp->status);
		break;
	case HT_CTL_PEERS:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_PEERS;
		m.peers = &peers;
		rc = put_peers(&peers, resp, &sc);
		break;
	case HT_CTL_CDR_IMPORT:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_CDR_IMPORT;
		m.cdr_import = &progress;
		rc = put_progress(&progress, &resp->progress, &sc);
		break;
	case HT_CTL_CDR_STATS:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_CDR_STATS;
		m.cdr_stats = &stats;
		rc = put_cdr_stats(&stats, &resp->cdr_stats, &sc);
		break;
	case HT_CTL_CDR_LOOKUP:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_CDR_LOOKUP;
		m.cdr_lookup = &lookup;
		rc = put_lookup(&lookup, &resp->lookup, &sc);
		break;
	case HT_CTL_AUDIT:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_AUDIT;
		m.audit = &audit;
		rc = put_audit(&audit, &resp->audit, &sc);
		break;
	case HT_CTL_TRACE_START:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_START;
		m.trace_start = &started;
		put_bytes16(&started.trace_id, true, resp->started);
		break;
	case HT_CTL_TRACE_SHOW:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_SHOW;
		m.trace_show = &show;
		rc = put_trace(&show, &resp->trace, &sc);
		break;
	case HT_CTL_TRACE_LIST:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_LIST;
		m.trace_list = &list;
		rc = put_trace_list(&list, &resp->traces, &sc);
		break;
	case HT_CTL_TRACE_EXPORT:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_EXPORT;
		m.trace_export = &exp;
		rc = put_export(&exp, &resp->bundle);
		break;
	default:
		return HT_E_INVAL;
	}
	if (rc == HT_OK)
		rc = ht__pack(&m.base, out, out_len);
	if (rc == HT_OK && *out_len > HT_CTL_MAX_FRAME) {
		free(*out);
		*out = NULL;
		rc = HT_E_TOO_LARGE;
	}
	free(sc.items);
	free(sc.ptrs);
	return rc;
}

/* Octets a repeated field's entry of `body` octets takes (field numbers < 16). */
static size_t entry_len(size_t body)
{
	size_t n = 1 + 1 + body;
	for (size_t v = body; v >= 0x80; v >>= 7)
		n++;
	return n;
}

/*
 * The encoded size of one list entry of resp->type; put_* failures do not
 * matter here, as the encoding will refuse the entry anyway.
 */
static size_t entry_size(const ht_ctl_response *resp, size_t i)
{
	switch (resp->type) {
	case HT_CTL_CDR_IMPORT: {
		Hoptrace__V1__RowError m = HOPTRACE__V1__ROW_ERROR__INIT;
		(void)put_row_error(&m, &resp->progress.errors[i]);
		return entry_len(protobuf_c_message_get_packed_size(&m.base));
	}
	case HT_CTL_CDR_STATS: {
		Hoptrace__V1__PeerCount m = HOPTRACE__V1__PEER_COUNT__INIT;
		(void)put_peer_count(&m, &resp->cdr_stats.peers[i]);
		return entry_len(protobuf_c_message_get_packed_size(&m.base));
	}
	case HT_CTL_CDR_LOOKUP: {
		Hoptrace__V1__CdrRecord m = HOPTRACE__V1__CDR_RECORD__INIT;
		(void)put_record(&m, &resp->lookup.records[i]);
		return entry_len(protobuf_c_message_get_packed_size(&m.base));
	}
	case HT_CTL_TRACE_SHOW: {
		struct hop_msg hm;
		(void)put_hop(&hm, &resp->trace.answers[i]);
		return entry_len(protobuf_c_message_get_packed_size(&hm.m.base));
	}
	case HT_CTL_TRACE_LIST: {
		Hoptrace__V1__TraceListEntry m = HOPTRACE__V1__TRACE_LIST_ENTRY__INIT;
		(void)put_trace_entry(&m, &resp->traces.entries[i]);
		return entry_len(protobuf_c_message_get_packed_size(&m.base));
	}
	default: {
		Hoptrace__V1__AuditEntry m = HOPTRACE__V1__AUDIT_ENTRY__INIT;
		(void)put_audit_entry(&m, &resp->audit.entries[i]);
		return entry_len(protobuf_c_message_get_packed_size(&m.base));
	}
	}
}

size_t ht_ctl_response_fit(ht_ctl_response *resp)
{
	size_t *n, max;
	switch (resp->type) {
	case HT_CTL_CDR_IMPORT:
		n = &resp->progress.n_errors;
		max = HT_CTL_MAX_ROW_ERRORS;
		break;
	case HT_CTL_CDR_STATS:
		n = &resp->cdr_stats.n_peers;
		max = HT_CTL_MAX_STATS_PEERS;
		break;
	case HT_CTL_CDR_LOOKUP:
		n = &resp->lookup.n;
		max = HT_CTL_LOOKUP_MAX;
		break;
	case HT_CTL_AUDIT:
		n = &resp->audit.n;
		max = HT_CTL_AUDIT_MAX;
		break;
	case HT_CTL_TRACE_SHOW:
		n = &resp->trace.n_answers;
		max = HT_CTL_TRACE_ANSWERS_MAX;
		break;
	case HT_CTL_TRACE_LIST:
		n = &resp->traces.n;
		max = HT_CTL_TRACE_LIST_MAX;
		break;
	default:
		return 0;
	}
	if (*n == 0)
		return 0;

	/*
	 * The response without its list, flags set and counters at their
	 * widest; the body's length prefix grows by at most 3 octets with it.
	 */
	ht_ctl_response base = *resp;
	base.progress.n_errors = base.cdr_stats.n_peers = base.lookup.n = base.audit.n = 0;
	base.trace.n_answers = base.traces.n = 0;
	base.progress.errors_omitted = UINT64_MAX;
	base.cdr_stats.peers_truncated = base.lookup.truncated = base.audit.truncated = true;
	base.traces.truncated = true;
	uint8_t *buf;
	size_t base_len = 0;
	if (ht_ctl_encode_response(&base, &buf, &base_len) == HT_OK)
		free(buf);
	size_t budget = HT_CTL_MAX_FRAME - base_len - 3, used = 0, keep = 0;
	while (keep < *n && keep < max) {
		size_t sz = entry_size(resp, keep);
		if (sz > budget - used)
			break;
		used += sz;
		keep++;
	}
	size_t dropped = *n - keep;
	if (dropped == 0)
		return 0;
	switch (resp->type) {
	case HT_CTL_CDR_IMPORT:
		resp->progress.errors_omitted += dropped;
		break;
	case HT_CTL_CDR_STATS:
		resp->cdr_stats.peers_truncated = true;
		break;
	case HT_CTL_CDR_LOOKUP:
		resp->lookup.truncated = true;
		break;
	case HT_CTL_AUDIT:
		resp->audit.truncated = true;
		break;
	case HT_CTL_TRACE_LIST:
		resp->traces.truncated = true;
		break;
	default:
		break; /* trace answers: from + n_answers < answers_total says it */
	}
	*n = keep;
	return dropped;
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

static int get_row_error(ht_ctl_row_error *e, const Hoptrace__V1__RowError *m)
{
	int rc = get_text(e->reason, HT_CTL_REASON_MAX, &m->reason);
	if (rc == HT_OK)
		rc = get_text(e->message, HT_CTL_ROW_MESSAGE_MAX, &m->message);
	e->line = m->line;
	return rc;
}

static int get_peer_count(ht_ctl_peer_count *p, const Hoptrace__V1__PeerCount *m)
{
	p->as_upstream = m->as_upstream;
	p->as_downstream = m->as_downstream;
	return get_provider_id(p->provider_id, &m->provider_id);
}

static int get_digits(char *dst, const ProtobufCBinaryData *b)
{
	if (!ht_e164_digits_valid((const char *)b->data, b->len))
		return HT_E_MALFORMED;
	return get_text(dst, HT_E164_BUF - 1, b);
}

static int get_record(ht_cdr *r, const Hoptrace__V1__CdrRecord *m)
{
	int rc = get_digits(r->calling, &m->calling);
	if (rc == HT_OK)
		rc = get_digits(r->called, &m->called);
	if (rc == HT_OK)
		rc = get_provider_id(r->upstream, &m->upstream);
	if (rc == HT_OK)
		rc = get_provider_id(r->downstream, &m->downstream);
	if (rc == HT_OK)
		rc = get_text(r->customer_ref, HT_CDR_CUSTOMER_REF_MAX, &m->customer_ref);
	if (rc == HT_OK)
		rc = get_text(r->call_id, HT_CDR_CALL_ID_MAX, &m->call_id);
	if (rc == HT_OK)
		rc = get_bytes16(&r->has_origid, r->origid, &m->origid);
	if (rc == HT_OK && m->attestation.len > 0) {
		char a = m->attestation.len == 1 ? (char)m->attestation.data[0] : 0;
		if (a == 'A' || a == 'B' || a == 'C')
			r->attestation = a;
		else
			rc = HT_E_MALFORMED;
	}
	r->time_ms = m->time_ms;
	return rc;
}

static int get_audit_entry(ht_ctl_audit_entry *e, const Hoptrace__V1__AuditEntry *m)
{
	int rc = get_provider_id(e->asking_peer, &m->asking_peer);
	if (rc == HT_OK)
		rc = get_provider_id(e->initiator, &m->initiator);
	if (rc == HT_OK)
		rc = get_text(e->status, HT_CTL_AUDIT_STATUS_MAX, &m->status);
	if (rc == HT_OK)
		rc = get_text(e->disclosed, HT_CTL_DISCLOSED_MAX, &m->disclosed);
	if (rc == HT_OK)
		rc = get_bytes16(&e->has_trace_id, e->trace_id, &m->trace_id);
	e->time_ms = m->time_ms;
	return rc;
}

static int get_attestation(char *dst, const ProtobufCBinaryData *b)
{
	if (b->len == 0)
		return HT_OK;
	char a = b->len == 1 ? (char)b->data[0] : 0;
	if (a != 'A' && a != 'B' && a != 'C')
		return HT_E_MALFORMED;
	*dst = a;
	return HT_OK;
}

static int get_hop_call(ht_ctl_hop_call *c, const Hoptrace__V1__TraceHopCall *m)
{
	int rc = get_provider_id(c->upstream, &m->upstream);
	if (rc == HT_OK)
		rc = get_text(c->customer_ref, HT_CTL_CUSTOMER_REF_MAX, &m->customer_ref);
	if (rc == HT_OK)
		rc = get_attestation(&c->attestation, &m->attestation);
	if (rc == HT_OK)
		rc = get_bytes16(&c->has_origid, c->origid, &m->origid);
	c->originated_here = m->originated_here;
	c->record_time_ms = m->record_time_ms;
	return rc;
}

static int get_hop(ht_ctl_hop *h, const Hoptrace__V1__TraceHop *m)
{
	if (m->n_calls > HT_CTL_HOP_CALLS_MAX)
		return HT_E_TOO_LARGE;
	int rc = get_provider_id(h->provider_id, &m->provider_id);
	if (rc == HT_OK)
		rc = get_provider_id(h->asked_by, &m->asked_by);
	if (rc == HT_OK)
		rc = get_text(h->status, HT_CTL_ANSWER_STATUS_MAX, &m->status);
	if (rc == HT_OK)
		rc = get_text(h->reason, HT_CTL_REASON_MAX, &m->reason);
	if (rc == HT_OK)
		rc = get_provider_id(h->upstream, &m->upstream);
	if (rc == HT_OK)
		rc = get_text(h->verdict, HT_CTL_VERDICT_MAX, &m->verdict);
	for (size_t i = 0; i < m->n_calls && rc == HT_OK; i++)
		rc = get_hop_call(&h->calls[i], m->calls[i]);
	h->n_calls = m->n_calls;
	h->hop = m->hop;
	h->answered_ms = m->answered_ms;
	h->window_time_ms = m->window_time_ms;
	h->received_ms = m->received_ms;
	return rc;
}

static int get_trace_entry(ht_ctl_trace_entry *e, const Hoptrace__V1__TraceListEntry *m)
{
	int rc = get_id16(e->trace_id, &m->trace_id);
	if (rc == HT_OK)
		rc = get_text(e->status, HT_CTL_TRACE_STATUS_MAX, &m->status);
	if (rc == HT_OK)
		rc = get_provider_id(e->origin, &m->origin);
	if (rc == HT_OK)
		rc = get_text(e->label, HT_CTL_LABEL_MAX, &m->label);
	e->created_ms = m->created_ms;
	e->answers = m->answers;
	e->call_time_ms = m->call_time_ms;
	return rc;
}

/*
 * Decodes the `n` generated messages at `src` into a malloc'd array of T
 * at *out (count at *n_out) with GET, refusing more than `max`.
 */
#define GET_LIST(T, GET, n, src, max, n_out, out)                                                  \
	do {                                                                                       \
		if ((n) > (max))                                                                   \
			return HT_E_TOO_LARGE;                                                     \
		if ((n) == 0)                                                                      \
			return HT_OK;                                                              \
		T *items_ = calloc((n), sizeof(T));                                                \
		if (!items_)                                                                       \
			return HT_E_NOMEM;                                                         \
		*(out) = items_;                                                                   \
		*(n_out) = (n);                                                                    \
		for (size_t i_ = 0; i_ < (n); i_++) {                                              \
			int rc_ = GET(&items_[i_], (src)[i_]);                                     \
			if (rc_ != HT_OK)                                                          \
				return rc_;                                                        \
		}                                                                                  \
		return HT_OK;                                                                      \
	} while (0)

static int get_peers(ht_ctl_response *out, const Hoptrace__V1__PeersResponse *m)
{
	GET_LIST(ht_ctl_peer, get_peer, m->n_peers, m->peers, HT_CTL_MAX_PEERS, &out->n_peers,
		 &out->peers);
}

static int get_progress(ht_ctl_import_progress *p, const Hoptrace__V1__CdrImportProgress *m)
{
	p->rows_imported = m->rows_imported;
	p->rows_rejected = m->rows_rejected;
	p->rows_duplicate = m->rows_duplicate;
	p->bytes_acked = m->bytes_acked;
	p->errors_omitted = m->errors_omitted;
	p->done = m->done;
	GET_LIST(ht_ctl_row_error, get_row_error, m->n_errors, m->errors, HT_CTL_MAX_ROW_ERRORS,
		 &p->n_errors, &p->errors);
}

static int get_cdr_stats(ht_ctl_cdr_stats *s, const Hoptrace__V1__CdrStatsResponse *m)
{
	s->records = m->records;
	s->partitions = m->partitions;
	s->first_ms = m->first_ms;
	s->last_ms = m->last_ms;
	s->bytes_on_disk = m->bytes_on_disk;
	s->peers_truncated = m->peers_truncated;
	GET_LIST(ht_ctl_peer_count, get_peer_count, m->n_peers, m->peers, HT_CTL_MAX_STATS_PEERS,
		 &s->n_peers, &s->peers);
}

static int get_lookup(ht_ctl_cdr_records *l, const Hoptrace__V1__CdrLookupResponse *m)
{
	l->truncated = m->truncated;
	GET_LIST(ht_cdr, get_record, m->n_records, m->records, HT_CTL_LOOKUP_MAX, &l->n,
		 &l->records);
}

static int get_audit(ht_ctl_audit_list *a, const Hoptrace__V1__AuditResponse *m)
{
	a->truncated = m->truncated;
	GET_LIST(ht_ctl_audit_entry, get_audit_entry, m->n_entries, m->entries, HT_CTL_AUDIT_MAX,
		 &a->n, &a->entries);
}

static int get_trace_answers(ht_ctl_trace *t, const Hoptrace__V1__TraceShowResponse *m)
{
	GET_LIST(ht_ctl_hop, get_hop, m->n_answers, m->answers, HT_CTL_TRACE_ANSWERS_MAX,
		 &t->n_answers, &t->answers);
}

static int get_trace(ht_ctl_trace *t, const Hoptrace__V1__TraceShowResponse *m)
{
	int rc = get_id16(t->trace_id, &m->trace_id);
	if (rc == HT_OK)
		rc = get_provider_id(t->initiator, &m->initiator);
	/* Both numbers, or neither (a response made of defaults). */
	if (rc == HT_OK && (m->calling.len || m->called.len))
		rc = get_digits(t->calling, &m->calling);
	if (rc == HT_OK && (m->calling.len || m->called.len))
		rc = get_digits(t->called, &m->called);
	if (rc == HT_OK)
		rc = get_text(t->label, HT_CTL_LABEL_MAX, &m->label);
	if (rc == HT_OK)
		rc = get_provider_id(t->to, &m->to);
	if (rc == HT_OK)
		rc = get_text(t->status, HT_CTL_TRACE_STATUS_MAX, &m->status);
	if (rc != HT_OK)
		return rc;
	if (m->n_answers > HT_CTL_TRACE_ANSWERS_MAX)
		return HT_E_TOO_LARGE;
	if (m->answers_total > HT_CTL_TRACE_ANSWERS_MAX || m->from > m->answers_total ||
	    m->n_answers > m->answers_total - m->from)
		return HT_E_MALFORMED;
	t->call_time_ms = m->call_time_ms;
	t->tolerance_ms = m->tolerance_ms;
	t->hop_limit = m->hop_limit;
	t->created_ms = m->created_ms;
	t->expires_ms = m->expires_ms;
	t->started_ms = m->started_ms;
	t->finished_ms = m->finished_ms;
	t->answers_total = m->answers_total;
	t->answers_dropped = m->answers_dropped;
	t->from = m->from;
	return get_trace_answers(t, m);
}

static int get_trace_list(ht_ctl_trace_list *l, const Hoptrace__V1__TraceListResponse *m)
{
	l->truncated = m->truncated;
	GET_LIST(ht_ctl_trace_entry, get_trace_entry, m->n_traces, m->traces, HT_CTL_TRACE_LIST_MAX,
		 &l->n, &l->entries);
}

static int get_export(ht_ctl_trace_export *e, const Hoptrace__V1__TraceExportResponse *m)
{
	if (m->data.len > HT_CTL_EXPORT_CHUNK_MAX)
		return HT_E_TOO_LARGE;
	if (m->total > HT_CTL_EXPORT_MAX || m->offset > m->total ||
	    m->data.len > m->total - m->offset || m->digest.len != HT_CTL_DIGEST_LEN)
		return HT_E_MALFORMED;
	if (m->data.len > 0) {
		if (!(e->data = malloc(m->data.len)))
			return HT_E_NOMEM;
		memcpy(e->data, m->data.data, m->data.len);
		e->len = m->data.len;
	}
	memcpy(e->digest, m->digest.data, HT_CTL_DIGEST_LEN);
	e->offset = m->offset;
	e->total = m->total;
	e->answers = m->answers;
	return HT_OK;
}

static int get_body(ht_ctl_response *out, const Hoptrace__V1__ControlResponse *m)
{
	switch (m->resp_case) {
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_HELLO:
		out->type = HT_CTL_HELLO;
		return HT_OK;
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_STATUS:
		out->type = HT_CTL_STATUS;
		return get_status(&out->status, m->status);
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_PEERS:
		out->type = HT_CTL_PEERS;
		return get_peers(out, m->peers);
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_CDR_IMPORT:
		out->type = HT_CTL_CDR_IMPORT;
		return get_progress(&out->progress, m->cdr_import);
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_CDR_STATS:
		out->type = HT_CTL_CDR_STATS;
		return get_cdr_stats(&out->cdr_stats, m->cdr_stats);
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_CDR_LOOKUP:
		out->type = HT_CTL_CDR_LOOKUP;
		return get_lookup(&out->lookup, m->cdr_lookup);
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_AUDIT:
		out->type = HT_CTL_AUDIT;
		return get_audit(&out->audit, m->audit);
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_START:
		out->type = HT_CTL_TRACE_START;
		return get_id16(out->started, &m->trace_start->trace_id);
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_SHOW:
		out->type = HT_CTL_TRACE_SHOW;
		return get_trace(&out->trace, m->trace_show);
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_LIST:
		out->type = HT_CTL_TRACE_LIST;
		return get_trace_list(&out->traces, m->trace_list);
	case HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_EXPORT:
		out->type = HT_CTL_TRACE_EXPORT;
		return get_export(&out->bundle, m->trace_export);
	default:
		out->type = HT_CTL_NONE;
		return HT_OK;
	}
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
	rc = get_text(out->detail, HT_CTL_DETAIL_MAX, &m->detail);
	if (rc == HT_OK)
		rc = get_body(out, m);
	protobuf_c_message_free_unpacked(pm, NULL);
	if (rc != HT_OK)
		ht_ctl_response_clear(out);
	return rc;
}

void ht_ctl_response_clear(ht_ctl_response *r)
{
	if (!r)
		return;
	free(r->peers);
	free(r->progress.errors);
	free(r->cdr_stats.peers);
	free(r->lookup.records);
	free(r->audit.entries);
	free(r->trace.answers);
	free(r->traces.entries);
	free(r->bundle.data);
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
