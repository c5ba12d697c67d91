/*
 * The control protocol (hoptrace/control.h): the input is a byte stream fed
 * to the frame reader in two chunks; every frame it yields, and the whole
 * input as one body, is decoded as a request and as a response. Whatever
 * decodes must encode again and decode to the same values, and the server
 * checks must answer with a response that encodes. A decoded response cut to
 * size for a server (ht_ctl_response_fit) must still encode.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/control.h"

static bool same_text(const char *a, const char *b)
{
	return strcmp(a, b) == 0 && ht_ctl_text_valid(a, strlen(a));
}

static bool same_request(const ht_ctl_request *a, const ht_ctl_request *b)
{
	if (a->version != b->version || a->type != b->type)
		return false;
	switch (a->type) {
	case HT_CTL_CDR_IMPORT:
		return a->import.len == b->import.len && a->import.last == b->import.last &&
		       a->import.total_bytes == b->import.total_bytes &&
		       (a->import.len == 0 ||
			memcmp(a->import.data, b->import.data, a->import.len) == 0);
	case HT_CTL_CDR_LOOKUP:
		return same_text(a->lookup.calling, b->lookup.calling) &&
		       same_text(a->lookup.called, b->lookup.called) &&
		       a->lookup.time_ms == b->lookup.time_ms &&
		       a->lookup.tolerance_ms == b->lookup.tolerance_ms;
	case HT_CTL_AUDIT:
		return a->audit.since_ms == b->audit.since_ms &&
		       a->audit.until_ms == b->audit.until_ms &&
		       same_text(a->audit.peer, b->audit.peer) &&
		       a->audit.has_trace_id == b->audit.has_trace_id &&
		       memcmp(a->audit.trace_id, b->audit.trace_id, HT_CTL_TRACE_ID_LEN) == 0 &&
		       a->audit.limit == b->audit.limit;
	case HT_CTL_TRACE_START:
		return same_text(a->trace_start.calling, b->trace_start.calling) &&
		       same_text(a->trace_start.called, b->trace_start.called) &&
		       same_text(a->trace_start.to, b->trace_start.to) &&
		       same_text(a->trace_start.label, b->trace_start.label) &&
		       a->trace_start.time_ms == b->trace_start.time_ms &&
		       a->trace_start.tolerance_ms == b->trace_start.tolerance_ms;
	case HT_CTL_TRACE_SHOW:
	case HT_CTL_TRACE_LIST:
	case HT_CTL_TRACE_EXPORT:
		return memcmp(a->trace.trace_id, b->trace.trace_id, HT_CTL_TRACE_ID_LEN) == 0 &&
		       a->trace.from == b->trace.from && a->trace.offset == b->trace.offset &&
		       a->trace.limit == b->trace.limit;
	default:
		return true;
	}
}

static void check_request(const uint8_t *body, size_t len)
{
	ht_ctl_request req, again;
	int rc = ht_ctl_decode_request(body, len, &req);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE || rc == HT_E_NOMEM);
		FUZZ_CHECK(rc != HT_E_TOO_LARGE || len > HT_CTL_MAX_FRAME);
		FUZZ_CHECK(req.import.data == NULL && req.type == HT_CTL_NONE);
	} else {
		uint8_t *buf;
		size_t n;
		FUZZ_CHECK(req.type == HT_CTL_NONE || req.type == HT_CTL_HELLO ||
			   req.type == HT_CTL_STATUS || req.type == HT_CTL_PEERS ||
			   req.type == HT_CTL_CDR_IMPORT || req.type == HT_CTL_CDR_STATS ||
			   req.type == HT_CTL_CDR_LOOKUP || req.type == HT_CTL_AUDIT ||
			   req.type == HT_CTL_TRACE_START || req.type == HT_CTL_TRACE_SHOW ||
			   req.type == HT_CTL_TRACE_LIST || req.type == HT_CTL_TRACE_EXPORT);
		FUZZ_CHECK(req.import.len <= HT_CTL_IMPORT_CHUNK_MAX);
		FUZZ_CHECK(req.type != HT_CTL_AUDIT ||
			   (req.audit.limit >= 1 && req.audit.limit <= HT_CTL_AUDIT_MAX));
		FUZZ_CHECK(req.type != HT_CTL_TRACE_LIST ||
			   (req.trace.limit >= 1 && req.trace.limit <= HT_CTL_TRACE_LIST_MAX));
		FUZZ_CHECK(req.trace_start.tolerance_ms <= HT_CTL_TOLERANCE_MAX_MS);
		rc = ht_ctl_encode_request(&req, &buf, &n);
		FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM);
		if (rc == HT_OK) {
			FUZZ_CHECK(ht_ctl_decode_request(buf, n, &again) == HT_OK);
			FUZZ_CHECK(same_request(&again, &req));
			ht_ctl_request_clear(&again);
			free(buf);
		}
		ht_ctl_request_clear(&req);
	}

	for (int hello_done = 0; hello_done < 2; hello_done++) {
		ht_ctl_response resp;
		int32_t res = ht_ctl_admit(body, len, hello_done, &req, &resp);
		FUZZ_CHECK(res == resp.result && resp.version == HT_CTL_VERSION);
		FUZZ_CHECK((res == HT_CTL_RESULT_MALFORMED) == (rc != HT_OK));
		FUZZ_CHECK(res != HT_CTL_RESULT_OK || resp.type == req.type);
		FUZZ_CHECK(res == HT_CTL_RESULT_OK || resp.type == HT_CTL_NONE);
		FUZZ_CHECK(ht_ctl_text_valid(resp.detail, strlen(resp.detail)));
		if (res != HT_CTL_RESULT_OK)
			FUZZ_CHECK(ht_ctl_result_closes(res) ||
				   res == HT_CTL_RESULT_UNKNOWN_REQUEST);
		ht_ctl_request_clear(&req);
		uint8_t *buf;
		size_t n;
		int erc = ht_ctl_encode_response(&resp, &buf, &n);
		FUZZ_CHECK(erc == HT_OK || erc == HT_E_NOMEM);
		if (erc == HT_OK)
			free(buf);
	}
}

static bool same_peer(const ht_ctl_peer *a, const ht_ctl_peer *b)
{
	return same_text(a->provider_id, b->provider_id) && same_text(a->address, b->address) &&
	       same_text(a->state, b->state) && same_text(a->last_error, b->last_error) &&
	       a->since_ms == b->since_ms && a->last_seen_ms == b->last_seen_ms &&
	       a->rtt_us == b->rtt_us && a->msgs_in == b->msgs_in && a->msgs_out == b->msgs_out &&
	       a->bytes_in == b->bytes_in && a->bytes_out == b->bytes_out;
}

static bool same_status(const ht_ctl_status *a, const ht_ctl_status *b)
{
	return same_text(a->daemon_version, b->daemon_version) &&
	       same_text(a->provider_id, b->provider_id) && a->uptime_s == b->uptime_s &&
	       a->peers_up == b->peers_up && a->peers_total == b->peers_total &&
	       a->msgs_in == b->msgs_in && a->msgs_out == b->msgs_out &&
	       a->bytes_in == b->bytes_in && a->bytes_out == b->bytes_out &&
	       a->handshakes_ok == b->handshakes_ok &&
	       a->handshakes_failed == b->handshakes_failed && a->conns_refused == b->conns_refused;
}

static bool same_record(const ht_cdr *a, const ht_cdr *b)
{
	return a->time_ms == b->time_ms && same_text(a->calling, b->calling) &&
	       same_text(a->called, b->called) && same_text(a->upstream, b->upstream) &&
	       same_text(a->downstream, b->downstream) &&
	       same_text(a->customer_ref, b->customer_ref) && same_text(a->call_id, b->call_id) &&
	       a->attestation == b->attestation && a->has_origid == b->has_origid &&
	       memcmp(a->origid, b->origid, sizeof(a->origid)) == 0;
}

static bool same_hop(const ht_ctl_hop *a, const ht_ctl_hop *b)
{
	if (!(same_text(a->provider_id, b->provider_id) && same_text(a->asked_by, b->asked_by) &&
	      same_text(a->status, b->status) && same_text(a->reason, b->reason) &&
	      same_text(a->upstream, b->upstream) && same_text(a->verdict, b->verdict) &&
	      a->hop == b->hop && a->answered_ms == b->answered_ms &&
	      a->window_time_ms == b->window_time_ms && a->received_ms == b->received_ms &&
	      a->n_calls == b->n_calls && a->n_calls <= HT_CTL_HOP_CALLS_MAX))
		return false;
	for (size_t i = 0; i < a->n_calls; i++) {
		const ht_ctl_hop_call *x = &a->calls[i], *y = &b->calls[i];
		if (!(same_text(x->upstream, y->upstream) &&
		      same_text(x->customer_ref, y->customer_ref) &&
		      x->originated_here == y->originated_here &&
		      x->record_time_ms == y->record_time_ms && x->attestation == y->attestation &&
		      x->has_origid == y->has_origid &&
		      memcmp(x->origid, y->origid, sizeof(x->origid)) == 0))
			return false;
	}
	return true;
}

static bool same_trace_entry(const ht_ctl_trace_entry *a, const ht_ctl_trace_entry *b)
{
	return memcmp(a->trace_id, b->trace_id, sizeof(a->trace_id)) == 0 &&
	       a->created_ms == b->created_ms && same_text(a->status, b->status) &&
	       a->answers == b->answers && same_text(a->origin, b->origin) &&
	       same_text(a->label, b->label) && a->call_time_ms == b->call_time_ms;
}

static bool same_audit_entry(const ht_ctl_audit_entry *a, const ht_ctl_audit_entry *b)
{
	return a->time_ms == b->time_ms && a->has_trace_id == b->has_trace_id &&
	       memcmp(a->trace_id, b->trace_id, sizeof(a->trace_id)) == 0 &&
	       same_text(a->asking_peer, b->asking_peer) && same_text(a->initiator, b->initiator) &&
	       same_text(a->status, b->status) && same_text(a->disclosed, b->disclosed);
}

/* The bodies of the new commands, after a round trip. */
static void check_same_body(const ht_ctl_response *a, const ht_ctl_response *b)
{
	const ht_ctl_import_progress *pa = &a->progress, *pb = &b->progress;
	const ht_ctl_cdr_stats *sa = &a->cdr_stats, *sb = &b->cdr_stats;
	switch (a->type) {
	case HT_CTL_CDR_IMPORT:
		FUZZ_CHECK(pa->rows_imported == pb->rows_imported &&
			   pa->rows_rejected == pb->rows_rejected &&
			   pa->rows_duplicate == pb->rows_duplicate &&
			   pa->bytes_acked == pb->bytes_acked &&
			   pa->errors_omitted == pb->errors_omitted && pa->done == pb->done &&
			   pa->n_errors == pb->n_errors);
		for (size_t i = 0; i < pa->n_errors; i++)
			FUZZ_CHECK(pa->errors[i].line == pb->errors[i].line &&
				   same_text(pa->errors[i].reason, pb->errors[i].reason) &&
				   same_text(pa->errors[i].message, pb->errors[i].message));
		break;
	case HT_CTL_CDR_STATS:
		FUZZ_CHECK(sa->records == sb->records && sa->partitions == sb->partitions &&
			   sa->first_ms == sb->first_ms && sa->last_ms == sb->last_ms &&
			   sa->bytes_on_disk == sb->bytes_on_disk &&
			   sa->peers_truncated == sb->peers_truncated &&
			   sa->n_peers == sb->n_peers);
		for (size_t i = 0; i < sa->n_peers; i++)
			FUZZ_CHECK(same_text(sa->peers[i].provider_id, sb->peers[i].provider_id) &&
				   sa->peers[i].as_upstream == sb->peers[i].as_upstream &&
				   sa->peers[i].as_downstream == sb->peers[i].as_downstream);
		break;
	case HT_CTL_CDR_LOOKUP:
		FUZZ_CHECK(a->lookup.n == b->lookup.n &&
			   a->lookup.truncated == b->lookup.truncated);
		for (size_t i = 0; i < a->lookup.n; i++)
			FUZZ_CHECK(same_record(&a->lookup.records[i], &b->lookup.records[i]));
		break;
	case HT_CTL_AUDIT:
		FUZZ_CHECK(a->audit.n == b->audit.n && a->audit.truncated == b->audit.truncated);
		for (size_t i = 0; i < a->audit.n; i++)
			FUZZ_CHECK(same_audit_entry(&a->audit.entries[i], &b->audit.entries[i]));
		break;
	case HT_CTL_TRACE_START:
		FUZZ_CHECK(memcmp(a->started, b->started, sizeof(a->started)) == 0);
		break;
	case HT_CTL_TRACE_SHOW: {
		const ht_ctl_trace *ta = &a->trace, *tb = &b->trace;
		FUZZ_CHECK(memcmp(ta->trace_id, tb->trace_id, sizeof(ta->trace_id)) == 0 &&
			   same_text(ta->initiator, tb->initiator) &&
			   same_text(ta->calling, tb->calling) &&
			   same_text(ta->called, tb->called) && same_text(ta->label, tb->label) &&
			   same_text(ta->to, tb->to) && same_text(ta->status, tb->status) &&
			   ta->call_time_ms == tb->call_time_ms &&
			   ta->tolerance_ms == tb->tolerance_ms && ta->hop_limit == tb->hop_limit &&
			   ta->created_ms == tb->created_ms && ta->expires_ms == tb->expires_ms &&
			   ta->started_ms == tb->started_ms && ta->finished_ms == tb->finished_ms &&
			   ta->answers_total == tb->answers_total &&
			   ta->answers_dropped == tb->answers_dropped && ta->from == tb->from &&
			   ta->n_answers == tb->n_answers);
		FUZZ_CHECK(ta->from + ta->n_answers <= ta->answers_total);
		for (size_t i = 0; i < ta->n_answers; i++)
			FUZZ_CHECK(same_hop(&ta->answers[i], &tb->answers[i]));
		break;
	}
	case HT_CTL_TRACE_LIST:
		FUZZ_CHECK(a->traces.n == b->traces.n &&
			   a->traces.truncated == b->traces.truncated);
		for (size_t i = 0; i < a->traces.n; i++)
			FUZZ_CHECK(same_trace_entry(&a->traces.entries[i], &b->traces.entries[i]));
		break;
	case HT_CTL_TRACE_EXPORT:
		FUZZ_CHECK(a->bundle.len == b->bundle.len && a->bundle.offset == b->bundle.offset &&
			   a->bundle.total == b->bundle.total &&
			   a->bundle.answers == b->bundle.answers &&
			   memcmp(a->bundle.digest, b->bundle.digest, HT_CTL_DIGEST_LEN) == 0 &&
			   (a->bundle.len == 0 ||
			    memcmp(a->bundle.data, b->bundle.data, a->bundle.len) == 0));
		FUZZ_CHECK(a->bundle.offset + a->bundle.len <= a->bundle.total &&
			   a->bundle.total <= HT_CTL_EXPORT_MAX);
		break;
	default:
		break;
	}
}

/* Lists are allocated exactly when they have entries, and only for their type. */
static void check_lists(const ht_ctl_response *r)
{
	FUZZ_CHECK((r->progress.n_errors == 0) == (r->progress.errors == NULL));
	FUZZ_CHECK((r->cdr_stats.n_peers == 0) == (r->cdr_stats.peers == NULL));
	FUZZ_CHECK((r->lookup.n == 0) == (r->lookup.records == NULL));
	FUZZ_CHECK((r->audit.n == 0) == (r->audit.entries == NULL));
	FUZZ_CHECK(r->type == HT_CTL_CDR_IMPORT || r->progress.n_errors == 0);
	FUZZ_CHECK(r->type == HT_CTL_CDR_STATS || r->cdr_stats.n_peers == 0);
	FUZZ_CHECK(r->type == HT_CTL_CDR_LOOKUP || r->lookup.n == 0);
	FUZZ_CHECK(r->type == HT_CTL_AUDIT || r->audit.n == 0);
	FUZZ_CHECK((r->trace.n_answers == 0) == (r->trace.answers == NULL));
	FUZZ_CHECK((r->traces.n == 0) == (r->traces.entries == NULL));
	FUZZ_CHECK((r->bundle.len == 0) == (r->bundle.data == NULL));
	FUZZ_CHECK(r->type == HT_CTL_TRACE_SHOW || r->trace.n_answers == 0);
	FUZZ_CHECK(r->type == HT_CTL_TRACE_LIST || r->traces.n == 0);
	FUZZ_CHECK(r->type == HT_CTL_TRACE_EXPORT || r->bundle.len == 0);
	FUZZ_CHECK(r->trace.n_answers <= HT_CTL_TRACE_ANSWERS_MAX);
	FUZZ_CHECK(r->traces.n <= HT_CTL_TRACE_LIST_MAX);
	FUZZ_CHECK(r->bundle.len <= HT_CTL_EXPORT_CHUNK_MAX);
	FUZZ_CHECK(r->progress.n_errors <= HT_CTL_MAX_ROW_ERRORS);
	FUZZ_CHECK(r->cdr_stats.n_peers <= HT_CTL_MAX_STATS_PEERS);
	FUZZ_CHECK(r->lookup.n <= HT_CTL_LOOKUP_MAX && r->audit.n <= HT_CTL_AUDIT_MAX);
}

static void check_response(const uint8_t *body, size_t len)
{
	ht_ctl_response resp, again;
	int rc = ht_ctl_decode_response(body, len, &resp);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE);
		FUZZ_CHECK(resp.peers == NULL && resp.n_peers == 0);
		check_lists(&resp);
		return;
	}
	FUZZ_CHECK(len <= HT_CTL_MAX_FRAME);
	FUZZ_CHECK(resp.n_peers <= HT_CTL_MAX_PEERS);
	FUZZ_CHECK(resp.type == HT_CTL_PEERS || resp.n_peers == 0);
	FUZZ_CHECK((resp.n_peers == 0) == (resp.peers == NULL));
	FUZZ_CHECK(ht_ctl_text_valid(resp.detail, strlen(resp.detail)));
	check_lists(&resp);
	(void)ht_ctl_result_name(resp.result);
	(void)ht_ctl_type_name(resp.type);

	uint8_t *buf;
	size_t n;
	rc = ht_ctl_encode_response(&resp, &buf, &n);
	/*
	 * Canonical re-encoding is never longer, except that a result read from
	 * a short varint is written sign-extended (at most 5 octets more).
	 */
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM ||
		   (rc == HT_E_TOO_LARGE && len > HT_CTL_MAX_FRAME - 8));
	if (rc == HT_OK) {
		FUZZ_CHECK(ht_ctl_decode_response(buf, n, &again) == HT_OK);
		FUZZ_CHECK(again.version == resp.version && again.result == resp.result &&
			   again.type == resp.type && again.n_peers == resp.n_peers);
		FUZZ_CHECK(same_text(again.detail, resp.detail));
		if (resp.type == HT_CTL_STATUS)
			FUZZ_CHECK(same_status(&again.status, &resp.status));
		for (size_t i = 0; i < resp.n_peers; i++)
			FUZZ_CHECK(same_peer(&again.peers[i], &resp.peers[i]));
		check_same_body(&again, &resp);
		ht_ctl_response_clear(&again);
		free(buf);
	}

	/* What a server cuts to size encodes, within the frame. */
	ht_ctl_response cut = resp;
	size_t dropped = ht_ctl_response_fit(&cut);
	rc = ht_ctl_encode_response(&cut, &buf, &n);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM ||
		   (rc == HT_E_TOO_LARGE && len > HT_CTL_MAX_FRAME - 8 &&
		    cut.type != HT_CTL_CDR_IMPORT && cut.type != HT_CTL_CDR_STATS &&
		    cut.type != HT_CTL_CDR_LOOKUP && cut.type != HT_CTL_AUDIT &&
		    cut.type != HT_CTL_TRACE_SHOW && cut.type != HT_CTL_TRACE_LIST));
	if (rc == HT_OK) {
		FUZZ_CHECK(n <= HT_CTL_MAX_FRAME);
		free(buf);
	}
	FUZZ_CHECK(dropped == 0 || cut.type == HT_CTL_CDR_IMPORT || cut.lookup.truncated ||
		   cut.audit.truncated || cut.cdr_stats.peers_truncated || cut.traces.truncated ||
		   (cut.type == HT_CTL_TRACE_SHOW &&
		    cut.trace.from + cut.trace.n_answers < cut.trace.answers_total));
	ht_ctl_response_clear(&resp);
}

/* Feeds one chunk, checking every frame it completes. Returns false on error. */
static bool feed(ht_ctl_reader *r, const uint8_t *p, size_t n)
{
	while (n > 0) {
		const uint8_t *body;
		size_t len, used;
		int rc = ht_ctl_reader_feed(r, p, n, &used);
		FUZZ_CHECK(used <= n);
		if (rc != HT_OK) {
			FUZZ_CHECK(rc == HT_E_TOO_LARGE || rc == HT_E_NOMEM);
			FUZZ_CHECK(!ht_ctl_reader_frame(r, &body, &len));
			return false;
		}
		p += used;
		n -= used;
		if (ht_ctl_reader_frame(r, &body, &len)) {
			FUZZ_CHECK(body != NULL && len <= HT_CTL_MAX_FRAME);
			FUZZ_CHECK(!ht_ctl_reader_partial(r));
			check_request(body, len);
			check_response(body, len);
		} else {
			FUZZ_CHECK(n == 0);
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();

	/* Where the stream is cut in two depends on its last octet. */
	size_t split = size ? (size / 2 + data[size - 1]) % (size + 1) : 0;
	ht_ctl_reader r;
	ht_ctl_reader_init(&r);
	if (feed(&r, data, split))
		feed(&r, data + split, size - split);
	ht_ctl_reader_free(&r);

	check_request(data, size);
	check_response(data, size);
	return 0;
}
