/*
 * The control protocol (hoptrace/control.h): the input is a byte stream fed
 * to the frame reader in two chunks; every frame it yields, and the whole
 * input as one body, is decoded as a request and as a response. Whatever
 * decodes must encode again and decode to the same values, and the server
 * checks must answer with a response that encodes.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/control.h"

static void check_request(const uint8_t *body, size_t len)
{
	ht_ctl_request req, again;
	int rc = ht_ctl_decode_request(body, len, &req);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE);
		FUZZ_CHECK(rc != HT_E_TOO_LARGE || len > HT_CTL_MAX_FRAME);
	} else {
		uint8_t *buf;
		size_t n;
		FUZZ_CHECK(req.type == HT_CTL_NONE || req.type == HT_CTL_HELLO ||
			   req.type == HT_CTL_STATUS || req.type == HT_CTL_PEERS);
		rc = ht_ctl_encode_request(&req, &buf, &n);
		FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM);
		if (rc == HT_OK) {
			FUZZ_CHECK(ht_ctl_decode_request(buf, n, &again) == HT_OK);
			FUZZ_CHECK(again.version == req.version && again.type == req.type);
			free(buf);
		}
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
		uint8_t *buf;
		size_t n;
		int erc = ht_ctl_encode_response(&resp, &buf, &n);
		FUZZ_CHECK(erc == HT_OK || erc == HT_E_NOMEM);
		if (erc == HT_OK)
			free(buf);
	}
}

static bool same_text(const char *a, const char *b)
{
	return strcmp(a, b) == 0 && ht_ctl_text_valid(a, strlen(a));
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

static void check_response(const uint8_t *body, size_t len)
{
	ht_ctl_response resp, again;
	int rc = ht_ctl_decode_response(body, len, &resp);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE);
		FUZZ_CHECK(resp.peers == NULL && resp.n_peers == 0);
		return;
	}
	FUZZ_CHECK(len <= HT_CTL_MAX_FRAME);
	FUZZ_CHECK(resp.n_peers <= HT_CTL_MAX_PEERS);
	FUZZ_CHECK(resp.type == HT_CTL_PEERS || resp.n_peers == 0);
	FUZZ_CHECK((resp.n_peers == 0) == (resp.peers == NULL));
	FUZZ_CHECK(ht_ctl_text_valid(resp.detail, strlen(resp.detail)));
	(void)ht_ctl_result_name(resp.result);

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
		ht_ctl_response_clear(&again);
		free(buf);
	}
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
