/* The control protocol: codec, text rules, server checks, framing, reader. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptrace/control.h"
#include "hoptrace/v1/control.pb-c.h"

/* Encodes `r` and decodes it again into `out`, asserting both succeed. */
static void response_round_trip(const ht_ctl_response *r, ht_ctl_response *out)
{
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_response(r, &buf, &len), HT_OK);
	assert_true(len <= HT_CTL_MAX_FRAME);
	assert_int_equal(ht_ctl_decode_response(buf, len, out), HT_OK);
	free(buf);
}

static void assert_status_equal(const ht_ctl_status *a, const ht_ctl_status *b)
{
	assert_string_equal(a->daemon_version, b->daemon_version);
	assert_string_equal(a->provider_id, b->provider_id);
	assert_true(a->uptime_s == b->uptime_s && a->peers_up == b->peers_up &&
		    a->peers_total == b->peers_total && a->msgs_in == b->msgs_in &&
		    a->msgs_out == b->msgs_out && a->bytes_in == b->bytes_in &&
		    a->bytes_out == b->bytes_out && a->handshakes_ok == b->handshakes_ok &&
		    a->handshakes_failed == b->handshakes_failed &&
		    a->conns_refused == b->conns_refused);
}

static void assert_peer_equal(const ht_ctl_peer *a, const ht_ctl_peer *b)
{
	assert_string_equal(a->provider_id, b->provider_id);
	assert_string_equal(a->address, b->address);
	assert_string_equal(a->state, b->state);
	assert_string_equal(a->last_error, b->last_error);
	assert_true(a->since_ms == b->since_ms && a->last_seen_ms == b->last_seen_ms &&
		    a->rtt_us == b->rtt_us && a->msgs_in == b->msgs_in &&
		    a->msgs_out == b->msgs_out && a->bytes_in == b->bytes_in &&
		    a->bytes_out == b->bytes_out);
}

/* `c` repeated `n` times, NUL-terminated, into `dst`. */
static void fill(char *dst, char c, size_t n)
{
	memset(dst, c, n);
	dst[n] = 0;
}

/* A peer with every field at its longest and every number at its largest. */
static void widest_peer(ht_ctl_peer *p)
{
	memset(p, 0, sizeof(*p));
	fill(p->provider_id, 'p', HT_PROVIDER_ID_MAX);
	fill(p->address, 'a', HT_CTL_ADDRESS_MAX);
	fill(p->state, 's', HT_CTL_STATE_MAX);
	fill(p->last_error, 'e', HT_CTL_DETAIL_MAX);
	p->since_ms = p->last_seen_ms = p->rtt_us = UINT64_MAX;
	p->msgs_in = p->msgs_out = p->bytes_in = p->bytes_out = UINT64_MAX;
}

/* Packs a generated message into a malloc'd buffer. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len ? *len : 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

static void test_request_round_trip(void **state)
{
	(void)state;
	static const ht_ctl_type types[] = {
		HT_CTL_NONE,        HT_CTL_HELLO,      HT_CTL_STATUS,     HT_CTL_PEERS,
		HT_CTL_CDR_IMPORT,  HT_CTL_CDR_STATS,  HT_CTL_CDR_LOOKUP, HT_CTL_AUDIT,
		HT_CTL_TRACE_START, HT_CTL_TRACE_SHOW, HT_CTL_TRACE_LIST, HT_CTL_TRACE_EXPORT,
	};
	static const uint32_t versions[] = {HT_CTL_VERSION, 0, 2, UINT32_MAX};
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		for (size_t v = 0; v < 4; v++) {
			ht_ctl_request req = {.version = versions[v], .type = types[t]}, out;
			uint8_t *buf;
			size_t len;
			assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
			assert_int_equal(ht_ctl_decode_request(buf, len, &out), HT_OK);
			assert_int_equal(out.version, versions[v]);
			assert_int_equal(out.type, types[t]);
			free(buf);
		}

	/* The hello of version 1, byte for byte: version 1, empty field 8. */
	ht_ctl_request hello = {.version = 1, .type = HT_CTL_HELLO};
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_request(&hello, &buf, &len), HT_OK);
	static const uint8_t want[] = {0x08, 0x01, 0x42, 0x00};
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	free(buf);

	/* An empty body is a request of version 0 with no command. */
	ht_ctl_request out;
	assert_int_equal(ht_ctl_decode_request(NULL, 0, &out), HT_OK);
	assert_int_equal(out.version, 0);
	assert_int_equal(out.type, HT_CTL_NONE);

	ht_ctl_request bad = {.version = 1, .type = (ht_ctl_type)99};
	assert_int_equal(ht_ctl_encode_request(&bad, &buf, &len), HT_E_INVAL);
}

static void test_response_round_trip_hello_and_errors(void **state)
{
	(void)state;
	static const int32_t results[] = {
		HT_CTL_RESULT_OK,
		HT_CTL_RESULT_ERROR,
		HT_CTL_RESULT_UNSUPPORTED_VERSION,
		HT_CTL_RESULT_UNKNOWN_REQUEST,
		HT_CTL_RESULT_MALFORMED,
		HT_CTL_RESULT_HELLO_REQUIRED,
		42, /* a newer server's code */
		-1,
	};
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		ht_ctl_response r, out;
		ht_ctl_response_set(&r, results[i],
				    i ? "caf\xc3\xa9 \xf0\x9f\x93\x9e failed" : NULL);
		r.type = i == 0 ? HT_CTL_HELLO : HT_CTL_NONE;
		response_round_trip(&r, &out);
		assert_int_equal(out.version, HT_CTL_VERSION);
		assert_int_equal(out.result, results[i]);
		assert_string_equal(out.detail, r.detail);
		assert_int_equal(out.type, r.type);
		assert_int_equal(out.n_peers, 0);
		assert_null(out.peers);
		ht_ctl_response_clear(&out);
	}

	/* An empty body: version 0, OK, no command. */
	ht_ctl_response out;
	assert_int_equal(ht_ctl_decode_response((const uint8_t *)"", 0, &out), HT_OK);
	assert_int_equal(out.version, 0);
	assert_int_equal(out.result, HT_CTL_RESULT_OK);
	assert_int_equal(out.type, HT_CTL_NONE);
}

static void test_status_round_trip(void **state)
{
	(void)state;
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_STATUS;
	snprintf(r.status.daemon_version, sizeof(r.status.daemon_version), "0.1.0");
	snprintf(r.status.provider_id, sizeof(r.status.provider_id), "carrier-a");
	r.status.uptime_s = 7380;
	r.status.peers_up = 2;
	r.status.peers_total = 3;
	r.status.msgs_in = 1;
	r.status.msgs_out = 2;
	r.status.bytes_in = 3;
	r.status.bytes_out = 4;
	r.status.handshakes_ok = 5;
	r.status.handshakes_failed = 6;
	r.status.conns_refused = 7;
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_STATUS);
	assert_status_equal(&out.status, &r.status);
	ht_ctl_response_clear(&out);

	/* Longest strings, largest numbers, and the empty provider ID. */
	fill(r.status.daemon_version, 'v', HT_CTL_DAEMON_VERSION_MAX);
	fill(r.status.provider_id, 'x', HT_PROVIDER_ID_MAX);
	r.status.uptime_s = r.status.msgs_in = r.status.msgs_out = UINT64_MAX;
	r.status.bytes_in = r.status.bytes_out = r.status.conns_refused = UINT64_MAX;
	r.status.handshakes_ok = r.status.handshakes_failed = UINT64_MAX;
	r.status.peers_up = r.status.peers_total = UINT32_MAX;
	response_round_trip(&r, &out);
	assert_status_equal(&out.status, &r.status);
	ht_ctl_response_clear(&out);
	r.status.provider_id[0] = 0;
	response_round_trip(&r, &out);
	assert_status_equal(&out.status, &r.status);
	ht_ctl_response_clear(&out);
}

static void test_peers_round_trip(void **state)
{
	(void)state;
	ht_ctl_peer peers[3];
	memset(peers, 0, sizeof(peers));
	snprintf(peers[0].provider_id, sizeof(peers[0].provider_id), "carrier-b");
	snprintf(peers[0].address, sizeof(peers[0].address), "192.0.2.1:7443");
	snprintf(peers[0].state, sizeof(peers[0].state), HT_CTL_STATE_ESTABLISHED);
	peers[0].since_ms = 1767225600123;
	peers[0].last_seen_ms = 1767225660000;
	peers[0].rtt_us = 850;
	peers[0].msgs_in = 10;
	peers[0].msgs_out = 20;
	peers[0].bytes_in = 300;
	peers[0].bytes_out = 400;
	snprintf(peers[1].address, sizeof(peers[1].address), "[2001:db8::1]:7443");
	snprintf(peers[1].state, sizeof(peers[1].state), HT_CTL_STATE_BACKOFF);
	snprintf(peers[1].last_error, sizeof(peers[1].last_error),
		 "handshake: certificate expired \xe2\x80\x94 renew it");
	widest_peer(&peers[2]);

	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_PEERS;
	r.peers = peers;
	r.n_peers = 3;
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_PEERS);
	assert_int_equal(out.n_peers, 3);
	for (size_t i = 0; i < 3; i++)
		assert_peer_equal(&out.peers[i], &peers[i]);
	ht_ctl_response_clear(&out);
	assert_null(out.peers);

	/* No peers: an empty list, nothing allocated. */
	r.n_peers = 0;
	r.peers = NULL;
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_PEERS);
	assert_int_equal(out.n_peers, 0);
	assert_null(out.peers);

	/* Peers announced but missing. */
	uint8_t *buf;
	size_t len;
	r.n_peers = 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
}

/*
 * HT_CTL_MAX_PEERS of the widest peers, with the longest detail and the
 * widest result, still fit one frame; one more peer is refused both ways.
 */
static void test_peers_limit(void **state)
{
	(void)state;
	ht_ctl_peer *peers = calloc(HT_CTL_MAX_PEERS + 1, sizeof(*peers));
	assert_non_null(peers);
	for (size_t i = 0; i <= HT_CTL_MAX_PEERS; i++)
		widest_peer(&peers[i]);
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, -1, NULL); /* a negative enum takes 10 octets */
	fill(r.detail, 'd', HT_CTL_DETAIL_MAX);
	r.version = UINT32_MAX;
	r.type = HT_CTL_PEERS;
	r.peers = peers;
	r.n_peers = HT_CTL_MAX_PEERS;
	response_round_trip(&r, &out);
	assert_int_equal(out.n_peers, HT_CTL_MAX_PEERS);
	assert_peer_equal(&out.peers[HT_CTL_MAX_PEERS - 1], &peers[0]);
	ht_ctl_response_clear(&out);

	uint8_t *buf;
	size_t len;
	r.n_peers = HT_CTL_MAX_PEERS + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_TOO_LARGE);

	/* Hand-built: small peers, one too many. */
	Hoptrace__V1__PeerInfo info = HOPTRACE__V1__PEER_INFO__INIT;
	Hoptrace__V1__PeerInfo **ptrs = calloc(HT_CTL_MAX_PEERS + 1, sizeof(*ptrs));
	assert_non_null(ptrs);
	for (size_t i = 0; i <= HT_CTL_MAX_PEERS; i++)
		ptrs[i] = &info;
	Hoptrace__V1__PeersResponse pr = HOPTRACE__V1__PEERS_RESPONSE__INIT;
	pr.peers = ptrs;
	pr.n_peers = HT_CTL_MAX_PEERS + 1;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	m.version = 1;
	m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_PEERS;
	m.peers = &pr;
	buf = pack(&m.base, &len);
	assert_int_equal(ht_ctl_decode_response(buf, len, &out), HT_E_TOO_LARGE);
	assert_null(out.peers);
	free(buf);
	pr.n_peers = HT_CTL_MAX_PEERS;
	buf = pack(&m.base, &len);
	assert_int_equal(ht_ctl_decode_response(buf, len, &out), HT_OK);
	assert_int_equal(out.n_peers, HT_CTL_MAX_PEERS);
	ht_ctl_response_clear(&out);
	free(buf);
	free(ptrs);
	free(peers);
}

/* A stream of frames: three responses, an empty frame, a request. */
static uint8_t *make_stream(size_t *len, uint8_t **bodies, size_t *body_lens, size_t *n)
{
	ht_ctl_peer p;
	widest_peer(&p);
	ht_ctl_response r;
	ht_ctl_request q = {.version = 1, .type = HT_CTL_PEERS};
	uint8_t *stream = NULL;
	*len = 0;
	*n = 0;
	for (int i = 0; i < 5; i++) {
		uint8_t *body;
		size_t blen;
		if (i == 3) {
			body = malloc(1);
			assert_non_null(body);
			blen = 0;
		} else if (i == 4) {
			assert_int_equal(ht_ctl_encode_request(&q, &body, &blen), HT_OK);
		} else {
			ht_ctl_response_set(&r, HT_CTL_RESULT_OK, i == 1 ? "second" : NULL);
			r.type = HT_CTL_PEERS;
			r.peers = &p;
			r.n_peers = i == 2 ? 1 : 0;
			assert_int_equal(ht_ctl_encode_response(&r, &body, &blen), HT_OK);
		}
		uint8_t *frame;
		size_t flen;
		assert_int_equal(ht_ctl_frame(body, blen, &frame, &flen), HT_OK);
		assert_int_equal(flen, blen + HT_CTL_PREFIX_LEN);
		stream = realloc(stream, *len + flen);
		assert_non_null(stream);
		memcpy(stream + *len, frame, flen);
		*len += flen;
		free(frame);
		bodies[*n] = body;
		body_lens[*n] = blen;
		(*n)++;
	}
	return stream;
}

/* Feeds `stream` in chunks of `chunk` octets and checks every frame. */
static void read_stream(const uint8_t *stream, size_t len, size_t chunk, uint8_t **bodies,
			const size_t *body_lens, size_t n)
{
	ht_ctl_reader r;
	size_t got = 0, off = 0;
	ht_ctl_reader_init(&r);
	assert_false(ht_ctl_reader_partial(&r));
	while (off < len) {
		size_t c = len - off < chunk ? len - off : chunk;
		const uint8_t *p = stream + off;
		while (c > 0) {
			const uint8_t *body;
			size_t blen, used;
			assert_int_equal(ht_ctl_reader_feed(&r, p, c, &used), HT_OK);
			assert_true(used <= c);
			p += used;
			c -= used;
			off += used;
			if (ht_ctl_reader_frame(&r, &body, &blen)) {
				assert_true(got < n);
				assert_non_null(body);
				assert_int_equal(blen, body_lens[got]);
				if (blen)
					assert_memory_equal(body, bodies[got], blen);
				got++;
				assert_false(ht_ctl_reader_partial(&r));
			} else {
				assert_int_equal(c, 0);
				assert_true(ht_ctl_reader_partial(&r));
			}
		}
	}
	assert_int_equal(got, n);
	ht_ctl_reader_free(&r);
}

static void test_reader_one_byte_at_a_time(void **state)
{
	(void)state;
	uint8_t *bodies[5];
	size_t lens[5], n, len;
	uint8_t *stream = make_stream(&len, bodies, lens, &n);
	read_stream(stream, len, 1, bodies, lens, n);
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
	free(stream);
}

static void test_reader_chunks(void **state)
{
	(void)state;
	uint8_t *bodies[5];
	size_t lens[5], n, len;
	uint8_t *stream = make_stream(&len, bodies, lens, &n);
	static const size_t chunks[] = {2, 3, 5, 7, 100, 4096, 1 << 20};
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		read_stream(stream, len, chunks[i], bodies, lens, n);
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
	free(stream);
}

static void test_reader_oversize(void **state)
{
	(void)state;
	static const uint8_t over[] = {0x00, 0x10, 0x00, 0x01, 0xaa}; /* 1 MiB + 1 */
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
	ht_ctl_reader r;
	size_t used;
	const uint8_t *body;
	size_t blen;

	ht_ctl_reader_init(&r);
	assert_int_equal(ht_ctl_reader_feed(&r, over, sizeof(over), &used), HT_E_TOO_LARGE);
	assert_int_equal(used, 4);
	assert_null(r.buf); /* nothing allocated for it */
	assert_false(ht_ctl_reader_frame(&r, &body, &blen));
	/* Sticky: the stream cannot be resynchronised. */
	assert_int_equal(ht_ctl_reader_feed(&r, over + 4, 1, &used), HT_E_TOO_LARGE);
	assert_int_equal(used, 0);
	ht_ctl_reader_free(&r);

	/* The same one octet at a time. */
	ht_ctl_reader_init(&r);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ht_ctl_reader_feed(&r, &huge[i], 1, &used), HT_OK);
		assert_int_equal(used, 1);
	}
	assert_int_equal(ht_ctl_reader_feed(&r, &huge[3], 1, &used), HT_E_TOO_LARGE);
	assert_null(r.buf);
	ht_ctl_reader_free(&r);

	/* Exactly the limit is accepted. */
	static const uint8_t max[] = {0x00, 0x10, 0x00, 0x00};
	uint8_t *big = calloc(1, HT_CTL_MAX_FRAME);
	assert_non_null(big);
	ht_ctl_reader_init(&r);
	assert_int_equal(ht_ctl_reader_feed(&r, max, 4, &used), HT_OK);
	assert_int_equal(ht_ctl_reader_feed(&r, big, HT_CTL_MAX_FRAME, &used), HT_OK);
	assert_int_equal(used, HT_CTL_MAX_FRAME);
	assert_true(ht_ctl_reader_frame(&r, &body, &blen));
	assert_int_equal(blen, HT_CTL_MAX_FRAME);
	/* After a large frame the buffer is released. */
	assert_int_equal(ht_ctl_reader_feed(&r, max, 1, &used), HT_OK);
	assert_null(r.buf);
	ht_ctl_reader_free(&r);
	free(big);

	/* The frame writer and the decoders have the same limit. */
	uint8_t *out;
	size_t out_len;
	ht_ctl_request q;
	ht_ctl_response resp;
	uint8_t *zeros = calloc(1, HT_CTL_MAX_FRAME + 1);
	assert_non_null(zeros);
	assert_int_equal(ht_ctl_frame(zeros, HT_CTL_MAX_FRAME + 1, &out, &out_len), HT_E_TOO_LARGE);
	assert_int_equal(ht_ctl_decode_request(zeros, HT_CTL_MAX_FRAME + 1, &q), HT_E_TOO_LARGE);
	assert_int_equal(ht_ctl_decode_response(zeros, HT_CTL_MAX_FRAME + 1, &resp),
			 HT_E_TOO_LARGE);
	free(zeros);
}

static void test_frame(void **state)
{
	(void)state;
	uint8_t body[300];
	uint8_t *out;
	size_t len;
	memset(body, 0x5a, sizeof(body));
	assert_int_equal(ht_ctl_frame(body, sizeof(body), &out, &len), HT_OK);
	assert_int_equal(len, 304);
	static const uint8_t prefix[] = {0x00, 0x00, 0x01, 0x2c};
	assert_memory_equal(out, prefix, 4);
	assert_memory_equal(out + 4, body, sizeof(body));
	free(out);
	assert_int_equal(ht_ctl_frame(NULL, 0, &out, &len), HT_OK);
	assert_int_equal(len, 4);
	static const uint8_t zero[] = {0, 0, 0, 0};
	assert_memory_equal(out, zero, 4);
	free(out);
	assert_int_equal(ht_ctl_frame(NULL, 1, &out, &len), HT_E_INVAL);
}

static void test_truncated_and_garbage(void **state)
{
	(void)state;
	ht_ctl_peer p;
	widest_peer(&p);
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, "some detail");
	r.type = HT_CTL_PEERS;
	r.peers = &p;
	r.n_peers = 1;
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_OK);
	/* Every proper prefix cuts a record short (the peers record is last). */
	size_t malformed = 0;
	for (size_t cut = 0; cut < len; cut++) {
		int rc = ht_ctl_decode_response(buf, cut, &out);
		assert_true(rc == HT_OK || rc == HT_E_MALFORMED);
		if (rc == HT_OK)
			assert_int_not_equal(out.type, HT_CTL_PEERS);
		else
			assert_null(out.peers);
		malformed += rc == HT_E_MALFORMED;
		ht_ctl_response_clear(&out);
	}
	assert_true(malformed >= len - 3); /* only cuts between records decode */
	free(buf);

	static const uint8_t garbage[][6] = {
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* a varint tag that does not end */
		{0x0b, 0x00, 0x00, 0x00, 0x00, 0x00}, /* wire type 3 (group start) */
		{0x00, 0x01, 0x02, 0x03, 0x04, 0x05}, /* field number 0 */
		{0x1a, 0x7f, 0x41, 0x41, 0x41, 0x41}, /* length past the end */
		{0x08, 0x01, 0x42, 0x05, 0x00, 0x00}, /* hello body runs past the end */
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		ht_ctl_request q;
		assert_int_equal(ht_ctl_decode_response(garbage[i], 6, &out), HT_E_MALFORMED);
		assert_int_equal(ht_ctl_decode_request(garbage[i], 6, &q), HT_E_MALFORMED);
	}
	/* A known field with the wrong wire type: version as bytes. */
	static const uint8_t wrong_type[] = {0x0a, 0x01, 0x01};
	ht_ctl_request q;
	assert_int_equal(ht_ctl_decode_request(wrong_type, sizeof(wrong_type), &q), HT_E_MALFORMED);
}

/* Decodes a hand-built response with one text field set to `len` octets of `s`. */
static int decode_with(int which, const char *s, size_t len)
{
	Hoptrace__V1__PeerInfo info = HOPTRACE__V1__PEER_INFO__INIT;
	Hoptrace__V1__PeerInfo *ptrs[1] = {&info};
	Hoptrace__V1__PeersResponse pr = HOPTRACE__V1__PEERS_RESPONSE__INIT;
	Hoptrace__V1__StatusResponse st = HOPTRACE__V1__STATUS_RESPONSE__INIT;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	ProtobufCBinaryData b = {len, (uint8_t *)s};
	m.version = 1;
	pr.peers = ptrs;
	pr.n_peers = 1;
	switch (which) {
	case 0:
		m.detail = b;
		break;
	case 1:
	case 2:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_STATUS;
		m.status = &st;
		if (which == 1)
			st.daemon_version = b;
		else
			st.provider_id = b;
		break;
	default:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_PEERS;
		m.peers = &pr;
		if (which == 3)
			info.provider_id = b;
		else if (which == 4)
			info.address = b;
		else if (which == 5)
			info.state = b;
		else
			info.last_error = b;
	}
	size_t n;
	uint8_t *buf = pack(&m.base, &n);
	ht_ctl_response out;
	int rc = ht_ctl_decode_response(buf, n, &out);
	if (rc == HT_OK) {
		/* What decoded is exactly what was sent. */
		const char *got = which == 0   ? out.detail
				  : which == 1 ? out.status.daemon_version
				  : which == 2 ? out.status.provider_id
				  : which == 3 ? out.peers[0].provider_id
				  : which == 4 ? out.peers[0].address
				  : which == 5 ? out.peers[0].state
					       : out.peers[0].last_error;
		assert_int_equal(strlen(got), len);
		assert_memory_equal(got, s, len);
	} else {
		assert_null(out.peers);
	}
	ht_ctl_response_clear(&out);
	free(buf);
	return rc;
}

static void test_overlong_strings(void **state)
{
	(void)state;
	static const size_t max[] = {
		HT_CTL_DETAIL_MAX,  HT_CTL_DAEMON_VERSION_MAX, HT_PROVIDER_ID_MAX,
		HT_PROVIDER_ID_MAX, HT_CTL_ADDRESS_MAX,        HT_CTL_STATE_MAX,
		HT_CTL_DETAIL_MAX,
	};
	char s[HT_CTL_DETAIL_MAX + 2];
	memset(s, 'a', sizeof(s));
	for (int w = 0; w < 7; w++) {
		assert_int_equal(decode_with(w, s, 0), HT_OK);
		assert_int_equal(decode_with(w, s, max[w]), HT_OK);
		assert_int_equal(decode_with(w, s, max[w] + 1), HT_E_MALFORMED);
		/* A NUL, an escape, invalid UTF-8: never reach a terminal. */
		assert_int_equal(decode_with(w, "a\0b", 3), HT_E_MALFORMED);
		assert_int_equal(decode_with(w, "a\x1b[2J", 5), HT_E_MALFORMED);
		assert_int_equal(decode_with(w, "a\xff", 2), HT_E_MALFORMED);
	}
	/* Provider IDs are empty or valid provider IDs. */
	assert_int_equal(decode_with(2, "carrier-1", 9), HT_OK);
	assert_int_equal(decode_with(3, "carrier-1", 9), HT_OK);
	assert_int_equal(decode_with(2, "bad id", 6), HT_E_MALFORMED);
	assert_int_equal(decode_with(3, "-leading", 8), HT_E_MALFORMED);
	/* Other text may be any allowed UTF-8. */
	static const char utf8[] = "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x93\x9e";
	assert_int_equal(decode_with(6, utf8, sizeof(utf8) - 1), HT_OK);
	assert_int_equal(decode_with(5, "r\xc3\xa9tabli", 8), HT_OK);
}

static void test_encode_refusals(void **state)
{
	(void)state;
	ht_ctl_response r;
	uint8_t *buf;
	size_t len;

	/* Not NUL-terminated within the array. */
	ht_ctl_response_set(&r, HT_CTL_RESULT_ERROR, NULL);
	memset(r.detail, 'x', sizeof(r.detail));
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);

	/* Not valid text. */
	ht_ctl_response_set(&r, HT_CTL_RESULT_ERROR, NULL);
	snprintf(r.detail, sizeof(r.detail), "line\nbreak");
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);

	/* A bad provider ID in status and in a peer. */
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_STATUS;
	snprintf(r.status.provider_id, sizeof(r.status.provider_id), "no spaces");
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	ht_ctl_peer p;
	memset(&p, 0, sizeof(p));
	snprintf(p.provider_id, sizeof(p.provider_id), ".dot");
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_PEERS;
	r.peers = &p;
	r.n_peers = 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	p.provider_id[0] = 0;
	fill(p.state, 's', HT_CTL_STATE_MAX);
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_OK);
	free(buf);
	memset(p.state, 's', sizeof(p.state)); /* unterminated */
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);

	/* A type that is not a command. */
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = (ht_ctl_type)7;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
}

static void test_version_mismatch(void **state)
{
	(void)state;
	ht_ctl_request req = {.version = 2, .type = HT_CTL_HELLO}, got;
	ht_ctl_response resp, out;
	uint8_t *buf;
	size_t len;

	/* A client of version 2 says hello to a server of version 1. */
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	assert_int_equal(ht_ctl_admit(buf, len, false, &got, &resp),
			 HT_CTL_RESULT_UNSUPPORTED_VERSION);
	free(buf);
	assert_int_equal(got.version, 2);
	assert_int_equal(got.type, HT_CTL_HELLO);
	assert_int_equal(resp.version, HT_CTL_VERSION);
	assert_int_equal(resp.type, HT_CTL_NONE);
	assert_non_null(strstr(resp.detail, "client speaks version 2"));
	assert_non_null(strstr(resp.detail, "server speaks version 1"));
	assert_true(ht_ctl_result_closes(resp.result));
	response_round_trip(&resp, &out);
	assert_int_equal(out.result, HT_CTL_RESULT_UNSUPPORTED_VERSION);
	assert_string_equal(out.detail, resp.detail);

	/* Also after a good hello, and for version 0 (an empty request). */
	req.version = 0;
	req.type = HT_CTL_STATUS;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	assert_int_equal(len, 2);
	assert_int_equal(ht_ctl_admit(buf, len, true, &got, &resp),
			 HT_CTL_RESULT_UNSUPPORTED_VERSION);
	free(buf);
	assert_int_equal(ht_ctl_admit(NULL, 0, true, &got, &resp),
			 HT_CTL_RESULT_UNSUPPORTED_VERSION);

	/* A server of version 2 answers a client of version 1. */
	ht_ctl_response_set(&resp, HT_CTL_RESULT_UNSUPPORTED_VERSION,
			    "the client speaks version 1, this server speaks version 2");
	resp.version = 2;
	response_round_trip(&resp, &out);
	assert_int_equal(out.version, 2);
	assert_int_equal(out.result, HT_CTL_RESULT_UNSUPPORTED_VERSION);
}

static int32_t admit(ht_ctl_type type, bool hello_done, ht_ctl_response *resp)
{
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = type}, got;
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	int32_t res = ht_ctl_admit(buf, len, hello_done, &got, resp);
	free(buf);
	assert_int_equal(res, resp->result);
	assert_int_equal(resp->version, HT_CTL_VERSION);
	return res;
}

static void test_admit(void **state)
{
	(void)state;
	ht_ctl_response resp;
	ht_ctl_request got;

	/* Hello first. */
	assert_int_equal(admit(HT_CTL_STATUS, false, &resp), HT_CTL_RESULT_HELLO_REQUIRED);
	assert_true(ht_ctl_result_closes(resp.result));
	assert_int_equal(admit(HT_CTL_NONE, false, &resp), HT_CTL_RESULT_HELLO_REQUIRED);
	assert_int_equal(admit(HT_CTL_HELLO, false, &resp), HT_CTL_RESULT_OK);
	assert_int_equal(resp.type, HT_CTL_HELLO);
	assert_string_equal(resp.detail, "");

	/* Then the commands; a second hello is harmless. */
	assert_int_equal(admit(HT_CTL_HELLO, true, &resp), HT_CTL_RESULT_OK);
	assert_int_equal(admit(HT_CTL_STATUS, true, &resp), HT_CTL_RESULT_OK);
	assert_int_equal(resp.type, HT_CTL_STATUS);
	assert_int_equal(admit(HT_CTL_PEERS, true, &resp), HT_CTL_RESULT_OK);
	assert_int_equal(resp.type, HT_CTL_PEERS);
	assert_int_equal(admit(HT_CTL_NONE, true, &resp), HT_CTL_RESULT_UNKNOWN_REQUEST);
	assert_false(ht_ctl_result_closes(resp.result));
	assert_int_equal(resp.type, HT_CTL_NONE);

	/* A command of a newer version (field 99) is unknown, not malformed. */
	static const uint8_t newer[] = {0x08, 0x01, 0x9a, 0x06, 0x00};
	assert_int_equal(ht_ctl_admit(newer, sizeof(newer), true, &got, &resp),
			 HT_CTL_RESULT_UNKNOWN_REQUEST);
	assert_int_equal(got.type, HT_CTL_NONE);

	/* Bytes that do not decode. */
	static const uint8_t junk[] = {0x08};
	assert_int_equal(ht_ctl_admit(junk, sizeof(junk), true, &got, &resp),
			 HT_CTL_RESULT_MALFORMED);
	assert_true(ht_ctl_result_closes(resp.result));
	assert_int_equal(got.version, 0);
	assert_non_null(strstr(resp.detail, "does not decode"));

	/* Every response admit makes encodes. */
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_response(&resp, &buf, &len), HT_OK);
	free(buf);
}

static void test_unknown_response_parts(void **state)
{
	(void)state;
	/* A newer server's command 99 and result 9, with a detail. */
	static const uint8_t newer[] = {0x08, 0x01, 0x10, 0x09, 0x1a, 0x01, 0x78, 0x9a, 0x06, 0x00};
	ht_ctl_response out;
	assert_int_equal(ht_ctl_decode_response(newer, sizeof(newer), &out), HT_OK);
	assert_int_equal(out.type, HT_CTL_NONE);
	assert_int_equal(out.result, 9);
	assert_string_equal(out.detail, "x");
	assert_string_equal(ht_ctl_result_name(out.result), "unknown result");
	assert_false(ht_ctl_result_closes(out.result));

	assert_string_equal(ht_ctl_result_name(HT_CTL_RESULT_OK), "ok");
	assert_string_equal(ht_ctl_result_name(HT_CTL_RESULT_UNSUPPORTED_VERSION),
			    "unsupported version");
	assert_string_equal(ht_ctl_result_name(HT_CTL_RESULT_HELLO_REQUIRED), "hello required");
}

static void test_text_rules(void **state)
{
	(void)state;
	static const char *const good[] = {
		"",
		"plain ASCII ~",
		"caf\xc3\xa9",
		"\xc2\xa0",         /* U+00A0, just past the C1 controls */
		"\xe2\x80\x94",     /* U+2014 */
		"\xef\xbf\xbd",     /* U+FFFD */
		"\xf0\x9f\x93\x9e", /* U+1F4DE */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF */
	};
	static const char *const bad[] = {
		"\t",
		"\n",
		"\x1b",
		"\x7f",
		"\xc2\x85",         /* U+0085, a C1 control */
		"\xc2\x9b",         /* U+009B, CSI */
		"\xc0\x80",         /* overlong NUL */
		"\xe0\x80\xaf",     /* overlong '/' */
		"\xed\xa0\x80",     /* a surrogate */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"\xf8\x88\x80\x80\x80",
		"\x80",
		"\xc3",
		"\xe2\x80",
		"\xff",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(ht_ctl_text_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(ht_ctl_text_valid(bad[i], strlen(bad[i])));
	assert_false(ht_ctl_text_valid("a\0b", 3));

	char out[16];
	ht_ctl_text_clean(out, sizeof(out),
			  "a\nb\xff"
			  "c\xc2\x85"
			  "d",
			  8);
	assert_string_equal(out, "a?b?c?d");
	assert_true(ht_ctl_text_valid(out, strlen(out)));
	/* Truncation keeps whole characters only. */
	ht_ctl_text_clean(out, 5, "ab\xe2\x80\x94", 5);
	assert_string_equal(out, "ab");
	ht_ctl_text_clean(out, 6, "ab\xe2\x80\x94", 5);
	assert_string_equal(out, "ab\xe2\x80\x94");
	ht_ctl_text_clean(out, 1, "abc", 3);
	assert_string_equal(out, "");

	/* ht_ctl_response_set cleans and truncates the detail. */
	char longer[600];
	memset(longer, 'z', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	longer[3] = '\r';
	ht_ctl_response r;
	ht_ctl_response_set(&r, HT_CTL_RESULT_ERROR, longer);
	assert_int_equal(strlen(r.detail), HT_CTL_DETAIL_MAX);
	assert_int_equal(r.detail[3], '?');
	assert_true(ht_ctl_text_valid(r.detail, strlen(r.detail)));
}

/* Encodes `req`, decodes it again into `out`, asserting both succeed. */
static void request_round_trip(const ht_ctl_request *req, ht_ctl_request *out)
{
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_request(req, &buf, &len), HT_OK);
	assert_int_equal(ht_ctl_decode_request(buf, len, out), HT_OK);
	assert_int_equal(out->version, req->version);
	assert_int_equal(out->type, req->type);
	free(buf);
}

/* Packs a hand-built request and decodes it. */
static int decode_request_msg(Hoptrace__V1__ControlRequest *m, ht_ctl_request *out)
{
	size_t len;
	uint8_t *buf = pack(&m->base, &len);
	int rc = ht_ctl_decode_request(buf, len, out);
	free(buf);
	return rc;
}

/* Packs a hand-built response and decodes it. */
static int decode_response_msg(Hoptrace__V1__ControlResponse *m, ht_ctl_response *out)
{
	size_t len;
	uint8_t *buf = pack(&m->base, &len);
	int rc = ht_ctl_decode_response(buf, len, out);
	free(buf);
	return rc;
}

static void test_cdr_import_request(void **state)
{
	(void)state;
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_CDR_IMPORT}, out;
	static const char csv[] = "time,calling,called\n2026-01-01T00:00:00Z,+12025550143,";
	req.import.data = (uint8_t *)csv;
	req.import.len = sizeof(csv) - 1;
	req.import.total_bytes = 123456789;
	request_round_trip(&req, &out);
	assert_int_equal(out.import.len, sizeof(csv) - 1);
	assert_memory_equal(out.import.data, csv, sizeof(csv) - 1);
	assert_true(out.import.data != req.import.data); /* the request's own copy */
	assert_false(out.import.last);
	assert_true(out.import.total_bytes == 123456789);
	ht_ctl_request_clear(&out);
	assert_null(out.import.data);
	assert_int_equal(out.type, HT_CTL_NONE);

	/* The last chunk may be empty; the largest chunk is accepted. */
	req.import.data = NULL;
	req.import.len = 0;
	req.import.last = true;
	req.import.total_bytes = 0;
	request_round_trip(&req, &out);
	assert_true(out.import.last);
	assert_int_equal(out.import.len, 0);
	assert_null(out.import.data);
	ht_ctl_request_clear(&out);
	uint8_t *big = malloc(HT_CTL_IMPORT_CHUNK_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', HT_CTL_IMPORT_CHUNK_MAX + 1);
	req.import.data = big;
	req.import.len = HT_CTL_IMPORT_CHUNK_MAX;
	request_round_trip(&req, &out);
	assert_int_equal(out.import.len, HT_CTL_IMPORT_CHUNK_MAX);
	ht_ctl_request_clear(&out);

	/* One octet more is refused both ways; data missing is refused. */
	uint8_t *buf;
	size_t len;
	req.import.len = HT_CTL_IMPORT_CHUNK_MAX + 1;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_E_INVAL);
	req.import.data = NULL;
	req.import.len = 1;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_E_INVAL);
	Hoptrace__V1__CdrImportChunk c = HOPTRACE__V1__CDR_IMPORT_CHUNK__INIT;
	Hoptrace__V1__ControlRequest m = HOPTRACE__V1__CONTROL_REQUEST__INIT;
	m.version = 1;
	m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_CDR_IMPORT;
	m.cdr_import = &c;
	c.data.data = big;
	c.data.len = HT_CTL_IMPORT_CHUNK_MAX + 1;
	assert_int_equal(decode_request_msg(&m, &out), HT_E_MALFORMED);
	assert_null(out.import.data);
	assert_int_equal(out.type, HT_CTL_NONE);
	free(big);
}

static void test_cdr_stats_and_lookup_requests(void **state)
{
	(void)state;
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_CDR_STATS}, out;
	uint8_t *buf;
	size_t len;
	/* cdr stats, byte for byte: version 1, empty field 12. */
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	static const uint8_t want[] = {0x08, 0x01, 0x62, 0x00};
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	free(buf);

	memset(&req, 0, sizeof(req));
	req.version = HT_CTL_VERSION;
	req.type = HT_CTL_CDR_LOOKUP;
	snprintf(req.lookup.calling, sizeof(req.lookup.calling), "+1 (202) 555-0143");
	fill(req.lookup.called, '9', HT_CTL_NUMBER_MAX);
	req.lookup.time_ms = 1767225600123;
	req.lookup.tolerance_ms = UINT32_MAX;
	request_round_trip(&req, &out);
	assert_string_equal(out.lookup.calling, req.lookup.calling);
	assert_string_equal(out.lookup.called, req.lookup.called);
	assert_true(out.lookup.time_ms == 1767225600123);
	assert_true(out.lookup.tolerance_ms == UINT32_MAX);
	ht_ctl_request_clear(&out);

	/* Numbers that are not text, or unterminated, are not sent. */
	snprintf(req.lookup.called, sizeof(req.lookup.called), "202\n555");
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_E_INVAL);
	memset(req.lookup.called, '1', sizeof(req.lookup.called));
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_E_INVAL);

	/* Nor received: over 32 octets, a control character. */
	Hoptrace__V1__CdrLookupRequest l = HOPTRACE__V1__CDR_LOOKUP_REQUEST__INIT;
	Hoptrace__V1__ControlRequest m = HOPTRACE__V1__CONTROL_REQUEST__INIT;
	char digits[HT_CTL_NUMBER_MAX + 1];
	memset(digits, '5', sizeof(digits));
	m.version = 1;
	m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_CDR_LOOKUP;
	m.cdr_lookup = &l;
	l.calling.data = (uint8_t *)digits;
	l.calling.len = HT_CTL_NUMBER_MAX;
	assert_int_equal(decode_request_msg(&m, &out), HT_OK);
	assert_int_equal(strlen(out.lookup.calling), HT_CTL_NUMBER_MAX);
	assert_string_equal(out.lookup.called, "");
	l.calling.len = HT_CTL_NUMBER_MAX + 1;
	assert_int_equal(decode_request_msg(&m, &out), HT_E_MALFORMED);
	assert_int_equal(out.type, HT_CTL_NONE);
	l.calling.len = 3;
	l.called.data = (uint8_t *)"1\x1b"
				   "2";
	l.called.len = 3;
	assert_int_equal(decode_request_msg(&m, &out), HT_E_MALFORMED);
}

static void test_audit_request(void **state)
{
	(void)state;
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_AUDIT}, out;
	req.audit.since_ms = 1;
	req.audit.until_ms = UINT64_MAX;
	snprintf(req.audit.peer, sizeof(req.audit.peer), "carrier-b");
	req.audit.has_trace_id = true;
	for (int i = 0; i < HT_CTL_TRACE_ID_LEN; i++)
		req.audit.trace_id[i] = (uint8_t)(0xf0 + i);
	req.audit.limit = 42;
	request_round_trip(&req, &out);
	assert_true(out.audit.since_ms == 1 && out.audit.until_ms == UINT64_MAX);
	assert_string_equal(out.audit.peer, "carrier-b");
	assert_true(out.audit.has_trace_id);
	assert_memory_equal(out.audit.trace_id, req.audit.trace_id, HT_CTL_TRACE_ID_LEN);
	assert_int_equal(out.audit.limit, 42);

	/* No filters; the limit is read as 1 to 10000. */
	static const uint32_t sent[] = {0, 1, HT_CTL_AUDIT_MAX, HT_CTL_AUDIT_MAX + 1, UINT32_MAX};
	static const uint32_t read[] = {HT_CTL_AUDIT_DEFAULT, 1, HT_CTL_AUDIT_MAX, HT_CTL_AUDIT_MAX,
					HT_CTL_AUDIT_MAX};
	memset(&req.audit, 0, sizeof(req.audit));
	for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
		req.audit.limit = sent[i];
		request_round_trip(&req, &out);
		assert_int_equal(out.audit.limit, read[i]);
		assert_false(out.audit.has_trace_id);
		assert_string_equal(out.audit.peer, "");
		assert_true(out.audit.since_ms == 0 && out.audit.until_ms == 0);
	}

	/* A peer that is not a provider ID, both ways. */
	uint8_t *buf;
	size_t len;
	snprintf(req.audit.peer, sizeof(req.audit.peer), "not valid");
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_E_INVAL);
	Hoptrace__V1__AuditRequest a = HOPTRACE__V1__AUDIT_REQUEST__INIT;
	Hoptrace__V1__ControlRequest m = HOPTRACE__V1__CONTROL_REQUEST__INIT;
	m.version = 1;
	m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_AUDIT;
	m.audit = &a;
	a.peer.data = (uint8_t *)"-bad";
	a.peer.len = 4;
	assert_int_equal(decode_request_msg(&m, &out), HT_E_MALFORMED);
	/* A trace ID is empty or 16 octets. */
	static const uint8_t id[17] = {1};
	a.peer.len = 0;
	for (size_t n = 0; n <= 17; n++) {
		a.trace_id.data = (uint8_t *)id;
		a.trace_id.len = n;
		int rc = decode_request_msg(&m, &out);
		assert_int_equal(rc, n == 0 || n == 16 ? HT_OK : HT_E_MALFORMED);
		if (rc == HT_OK)
			assert_int_equal(out.audit.has_trace_id, n == 16);
	}
}

/* A row error with both texts at their longest. */
static void widest_row_error(ht_ctl_row_error *e)
{
	memset(e, 0, sizeof(*e));
	e->line = UINT64_MAX;
	fill(e->reason, 'r', HT_CTL_REASON_MAX);
	fill(e->message, 'm', HT_CTL_ROW_MESSAGE_MAX);
}

static void test_import_progress(void **state)
{
	(void)state;
	ht_ctl_row_error errs[3];
	memset(errs, 0, sizeof(errs));
	errs[0].line = 7;
	snprintf(errs[0].reason, sizeof(errs[0].reason), "bad_time");
	snprintf(errs[0].message, sizeof(errs[0].message), "time: \"yesterday\" is not a time");
	errs[1].line = 9;
	snprintf(errs[1].reason, sizeof(errs[1].reason), "unknown_trunk");
	widest_row_error(&errs[2]);

	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_CDR_IMPORT;
	r.progress.rows_imported = 1000;
	r.progress.rows_rejected = 3;
	r.progress.rows_duplicate = UINT64_MAX;
	r.progress.bytes_acked = 262144;
	r.progress.errors = errs;
	r.progress.n_errors = 3;
	r.progress.errors_omitted = 5;
	r.progress.done = true;
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_CDR_IMPORT);
	assert_true(out.progress.rows_imported == 1000 && out.progress.rows_rejected == 3 &&
		    out.progress.rows_duplicate == UINT64_MAX &&
		    out.progress.bytes_acked == 262144 && out.progress.errors_omitted == 5);
	assert_true(out.progress.done);
	assert_int_equal(out.progress.n_errors, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_true(out.progress.errors[i].line == errs[i].line);
		assert_string_equal(out.progress.errors[i].reason, errs[i].reason);
		assert_string_equal(out.progress.errors[i].message, errs[i].message);
	}
	ht_ctl_response_clear(&out);
	assert_null(out.progress.errors);

	/* No errors: nothing allocated. */
	r.progress.n_errors = 0;
	r.progress.errors = NULL;
	response_round_trip(&r, &out);
	assert_int_equal(out.progress.n_errors, 0);
	assert_null(out.progress.errors);

	/* Refusals: too long, not text, announced but missing, too many. */
	uint8_t *buf;
	size_t len;
	r.progress.errors = errs;
	r.progress.n_errors = 3;
	memset(errs[2].reason, 'r', sizeof(errs[2].reason));
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	widest_row_error(&errs[2]);
	errs[2].message[3] = '\t';
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	widest_row_error(&errs[2]);
	r.progress.errors = NULL;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	ht_ctl_row_error *many = calloc(HT_CTL_MAX_ROW_ERRORS + 1, sizeof(*many));
	assert_non_null(many);
	r.progress.errors = many;
	r.progress.n_errors = HT_CTL_MAX_ROW_ERRORS;
	response_round_trip(&r, &out);
	assert_int_equal(out.progress.n_errors, HT_CTL_MAX_ROW_ERRORS);
	ht_ctl_response_clear(&out);
	r.progress.n_errors = HT_CTL_MAX_ROW_ERRORS + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_TOO_LARGE);
	free(many);

	/* Hand-built: a reason over its limit, one error too many. */
	Hoptrace__V1__RowError e = HOPTRACE__V1__ROW_ERROR__INIT;
	Hoptrace__V1__RowError **ptrs = calloc(HT_CTL_MAX_ROW_ERRORS + 1, sizeof(*ptrs));
	assert_non_null(ptrs);
	for (size_t i = 0; i <= HT_CTL_MAX_ROW_ERRORS; i++)
		ptrs[i] = &e;
	Hoptrace__V1__CdrImportProgress p = HOPTRACE__V1__CDR_IMPORT_PROGRESS__INIT;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	m.version = 1;
	m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_CDR_IMPORT;
	m.cdr_import = &p;
	p.errors = ptrs;
	p.n_errors = HT_CTL_MAX_ROW_ERRORS + 1;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_TOO_LARGE);
	assert_null(out.progress.errors);
	p.n_errors = 1;
	char reason[HT_CTL_REASON_MAX + 1];
	memset(reason, 'r', sizeof(reason));
	e.reason.data = (uint8_t *)reason;
	e.reason.len = HT_CTL_REASON_MAX + 1;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	assert_null(out.progress.errors);
	e.reason.len = HT_CTL_REASON_MAX;
	assert_int_equal(decode_response_msg(&m, &out), HT_OK);
	assert_int_equal(out.progress.n_errors, 1);
	ht_ctl_response_clear(&out);
	free(ptrs);
}

static void test_cdr_stats_response(void **state)
{
	(void)state;
	ht_ctl_peer_count peers[3];
	memset(peers, 0, sizeof(peers));
	peers[0].as_upstream = 10; /* "" = here */
	peers[0].as_downstream = 20;
	snprintf(peers[1].provider_id, sizeof(peers[1].provider_id), "carrier-b");
	peers[1].as_upstream = UINT64_MAX;
	fill(peers[2].provider_id, 'z', HT_PROVIDER_ID_MAX);
	peers[2].as_downstream = 1;

	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_CDR_STATS;
	r.cdr_stats.records = 123456789012ULL;
	r.cdr_stats.partitions = 90;
	r.cdr_stats.first_ms = 1767225600000;
	r.cdr_stats.last_ms = 1767225600000 + 89 * 86400000ULL;
	r.cdr_stats.bytes_on_disk = 5ULL << 40;
	r.cdr_stats.peers = peers;
	r.cdr_stats.n_peers = 3;
	r.cdr_stats.peers_truncated = true;
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_CDR_STATS);
	assert_true(out.cdr_stats.records == r.cdr_stats.records &&
		    out.cdr_stats.partitions == 90 &&
		    out.cdr_stats.first_ms == r.cdr_stats.first_ms &&
		    out.cdr_stats.last_ms == r.cdr_stats.last_ms &&
		    out.cdr_stats.bytes_on_disk == r.cdr_stats.bytes_on_disk);
	assert_true(out.cdr_stats.peers_truncated);
	assert_int_equal(out.cdr_stats.n_peers, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(out.cdr_stats.peers[i].provider_id, peers[i].provider_id);
		assert_true(out.cdr_stats.peers[i].as_upstream == peers[i].as_upstream);
		assert_true(out.cdr_stats.peers[i].as_downstream == peers[i].as_downstream);
	}
	ht_ctl_response_clear(&out);

	/* An empty store. */
	memset(&r.cdr_stats, 0, sizeof(r.cdr_stats));
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_CDR_STATS);
	assert_true(out.cdr_stats.records == 0 && out.cdr_stats.first_ms == 0);
	assert_null(out.cdr_stats.peers);

	/* A bad provider ID, both ways; too many peers. */
	uint8_t *buf;
	size_t len;
	snprintf(peers[1].provider_id, sizeof(peers[1].provider_id), "carrier b");
	r.cdr_stats.peers = peers;
	r.cdr_stats.n_peers = 3;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	r.cdr_stats.n_peers = HT_CTL_MAX_STATS_PEERS + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_TOO_LARGE);
	Hoptrace__V1__PeerCount pc = HOPTRACE__V1__PEER_COUNT__INIT;
	Hoptrace__V1__PeerCount *ptrs[1] = {&pc};
	Hoptrace__V1__CdrStatsResponse st = HOPTRACE__V1__CDR_STATS_RESPONSE__INIT;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	m.version = 1;
	m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_CDR_STATS;
	m.cdr_stats = &st;
	st.peers = ptrs;
	st.n_peers = 1;
	pc.provider_id.data = (uint8_t *)"a b";
	pc.provider_id.len = 3;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	assert_null(out.cdr_stats.peers);
}

/* A record with every field set, and one with only the required ones. */
static void sample_records(ht_cdr *r)
{
	memset(r, 0, 2 * sizeof(*r));
	r[0].time_ms = 1767225600123;
	snprintf(r[0].calling, sizeof(r[0].calling), "12025550143");
	snprintf(r[0].called, sizeof(r[0].called), "442079460958");
	snprintf(r[0].upstream, sizeof(r[0].upstream), "carrier-b");
	snprintf(r[0].downstream, sizeof(r[0].downstream), "carrier-c");
	r[0].attestation = 'A';
	r[0].has_origid = true;
	for (int i = 0; i < 16; i++)
		r[0].origid[i] = (uint8_t)(i * 17);
	fill(r[0].call_id, 'c', HT_CDR_CALL_ID_MAX);
	r[1].time_ms = 0;
	snprintf(r[1].calling, sizeof(r[1].calling), "123456789012345");
	snprintf(r[1].called, sizeof(r[1].called), "1234567");
	snprintf(r[1].customer_ref, sizeof(r[1].customer_ref), "acct 42 \xe2\x80\x94 Caf\xc3\xa9");
}

static void assert_record_equal(const ht_cdr *a, const ht_cdr *b)
{
	assert_true(a->time_ms == b->time_ms);
	assert_string_equal(a->calling, b->calling);
	assert_string_equal(a->called, b->called);
	assert_string_equal(a->upstream, b->upstream);
	assert_string_equal(a->downstream, b->downstream);
	assert_string_equal(a->customer_ref, b->customer_ref);
	assert_int_equal(a->attestation, b->attestation);
	assert_int_equal(a->has_origid, b->has_origid);
	assert_memory_equal(a->origid, b->origid, 16);
	assert_string_equal(a->call_id, b->call_id);
}

static void test_lookup_response(void **state)
{
	(void)state;
	ht_cdr recs[2];
	sample_records(recs);
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_CDR_LOOKUP;
	r.lookup.records = recs;
	r.lookup.n = 2;
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_CDR_LOOKUP);
	assert_int_equal(out.lookup.n, 2);
	assert_false(out.lookup.truncated);
	for (size_t i = 0; i < 2; i++)
		assert_record_equal(&out.lookup.records[i], &recs[i]);
	ht_ctl_response_clear(&out);

	/* Every attestation; none found. */
	static const char att[] = {0, 'A', 'B', 'C'};
	for (size_t i = 0; i < sizeof(att); i++) {
		recs[1].attestation = att[i];
		response_round_trip(&r, &out);
		assert_int_equal(out.lookup.records[1].attestation, att[i]);
		ht_ctl_response_clear(&out);
	}
	r.lookup.n = 0;
	r.lookup.records = NULL;
	r.lookup.truncated = true;
	response_round_trip(&r, &out);
	assert_int_equal(out.lookup.n, 0);
	assert_true(out.lookup.truncated);
	assert_null(out.lookup.records);
}

static void test_lookup_response_refusals(void **state)
{
	(void)state;
	ht_cdr recs[2];
	ht_ctl_response r, out;
	uint8_t *buf;
	size_t len;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_CDR_LOOKUP;
	r.lookup.records = recs;
	r.lookup.n = 2;

	/* Numbers that are not E.164 digits, a bad attestation, bad text. */
	sample_records(recs);
	snprintf(recs[1].calling, sizeof(recs[1].calling), "+12025550143");
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	sample_records(recs);
	snprintf(recs[0].called, sizeof(recs[0].called), "0123456789");
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	sample_records(recs);
	memset(recs[0].called, '1', sizeof(recs[0].called)); /* unterminated */
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	sample_records(recs);
	recs[0].attestation = 'a';
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	sample_records(recs);
	recs[1].customer_ref[0] = (char)0xe9; /* Latin-1: the server cleans it first */
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	sample_records(recs);
	r.lookup.n = HT_CTL_LOOKUP_MAX + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_TOO_LARGE);

	/* Hand-built records that break the rules. */
	Hoptrace__V1__CdrRecord rec = HOPTRACE__V1__CDR_RECORD__INIT;
	Hoptrace__V1__CdrRecord *ptrs[1] = {&rec};
	Hoptrace__V1__CdrLookupResponse lr = HOPTRACE__V1__CDR_LOOKUP_RESPONSE__INIT;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	m.version = 1;
	m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_CDR_LOOKUP;
	m.cdr_lookup = &lr;
	lr.records = ptrs;
	lr.n_records = 1;
	ProtobufCBinaryData good = {11, (uint8_t *)"12025550143"};
	rec.calling = rec.called = good;
	assert_int_equal(decode_response_msg(&m, &out), HT_OK);
	assert_string_equal(out.lookup.records[0].called, "12025550143");
	ht_ctl_response_clear(&out);
	static const struct {
		int field;
		const char *v;
		size_t len;
	} bad[] = {
		{0, "", 0},                  /* calling empty */
		{0, "1202555014312345", 16}, /* 16 digits */
		{1, "120255a0143", 11},
		{2, "carrier b", 9}, /* upstream */
		{3, ".x", 2},        /* downstream */
		{4, "AB", 2},        /* attestation */
		{4, "a", 1},
		{5, "0123456789abcdef0", 17}, /* origid */
		{5, "0123456789abcde", 15},
		{6, "a\x7f", 2}, /* call_id */
		{7, "\xff", 1},  /* customer_ref */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		Hoptrace__V1__CdrRecord init = HOPTRACE__V1__CDR_RECORD__INIT;
		rec = init;
		rec.calling = rec.called = good;
		ProtobufCBinaryData b = {bad[i].len, (uint8_t *)bad[i].v};
		ProtobufCBinaryData *f[] = {&rec.calling,    &rec.called,      &rec.upstream,
					    &rec.downstream, &rec.attestation, &rec.origid,
					    &rec.call_id,    &rec.customer_ref};
		*f[bad[i].field] = b;
		assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
		assert_null(out.lookup.records);
	}
	/* One record too many. */
	Hoptrace__V1__CdrRecord init = HOPTRACE__V1__CDR_RECORD__INIT;
	rec = init;
	rec.calling = rec.called = good;
	Hoptrace__V1__CdrRecord **many = calloc(HT_CTL_LOOKUP_MAX + 1, sizeof(*many));
	assert_non_null(many);
	for (size_t i = 0; i <= HT_CTL_LOOKUP_MAX; i++)
		many[i] = &rec;
	lr.records = many;
	lr.n_records = HT_CTL_LOOKUP_MAX + 1;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_TOO_LARGE);
	lr.n_records = HT_CTL_LOOKUP_MAX;
	assert_int_equal(decode_response_msg(&m, &out), HT_OK);
	assert_int_equal(out.lookup.n, HT_CTL_LOOKUP_MAX);
	ht_ctl_response_clear(&out);
	free(many);
}

static void widest_audit_entry(ht_ctl_audit_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->time_ms = UINT64_MAX;
	e->has_trace_id = true;
	memset(e->trace_id, 0xee, sizeof(e->trace_id));
	fill(e->asking_peer, 'a', HT_PROVIDER_ID_MAX);
	fill(e->initiator, 'i', HT_PROVIDER_ID_MAX);
	fill(e->status, 's', HT_CTL_AUDIT_STATUS_MAX);
	fill(e->disclosed, 'd', HT_CTL_DISCLOSED_MAX);
}

static void test_audit_response(void **state)
{
	(void)state;
	ht_ctl_audit_entry es[3];
	memset(es, 0, sizeof(es));
	es[0].time_ms = 1767225600123;
	es[0].has_trace_id = true;
	memset(es[0].trace_id, 0xab, 16);
	snprintf(es[0].asking_peer, sizeof(es[0].asking_peer), "carrier-b");
	snprintf(es[0].initiator, sizeof(es[0].initiator), "itg");
	snprintf(es[0].status, sizeof(es[0].status), "answered");
	snprintf(es[0].disclosed, sizeof(es[0].disclosed), "upstream carrier-a");
	snprintf(es[1].status, sizeof(es[1].status), "refused");
	widest_audit_entry(&es[2]);

	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_AUDIT;
	r.audit.entries = es;
	r.audit.n = 3;
	r.audit.truncated = true;
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_AUDIT);
	assert_int_equal(out.audit.n, 3);
	assert_true(out.audit.truncated);
	for (size_t i = 0; i < 3; i++) {
		const ht_ctl_audit_entry *a = &out.audit.entries[i], *b = &es[i];
		assert_true(a->time_ms == b->time_ms);
		assert_int_equal(a->has_trace_id, b->has_trace_id);
		assert_memory_equal(a->trace_id, b->trace_id, 16);
		assert_string_equal(a->asking_peer, b->asking_peer);
		assert_string_equal(a->initiator, b->initiator);
		assert_string_equal(a->status, b->status);
		assert_string_equal(a->disclosed, b->disclosed);
	}
	ht_ctl_response_clear(&out);

	/* Refusals: a bad initiator, a status too long, too many entries. */
	uint8_t *buf;
	size_t len;
	snprintf(es[1].initiator, sizeof(es[1].initiator), "bad id");
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	es[1].initiator[0] = 0;
	memset(es[1].status, 's', sizeof(es[1].status));
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	es[1].status[0] = 0;
	r.audit.n = HT_CTL_AUDIT_MAX + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_TOO_LARGE);

	Hoptrace__V1__AuditEntry e = HOPTRACE__V1__AUDIT_ENTRY__INIT;
	Hoptrace__V1__AuditEntry *ptrs[1] = {&e};
	Hoptrace__V1__AuditResponse ar = HOPTRACE__V1__AUDIT_RESPONSE__INIT;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	m.version = 1;
	m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_AUDIT;
	m.audit = &ar;
	ar.entries = ptrs;
	ar.n_entries = 1;
	assert_int_equal(decode_response_msg(&m, &out), HT_OK);
	ht_ctl_response_clear(&out);
	e.trace_id.data = (uint8_t *)"0123456789abcdef";
	e.trace_id.len = 8;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	e.trace_id.len = 16;
	e.disclosed.data = (uint8_t *)"line\nbreak";
	e.disclosed.len = 10;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	e.disclosed.len = 4;
	e.asking_peer.data = (uint8_t *)"x y";
	e.asking_peer.len = 3;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	assert_null(out.audit.entries);
}

/* Row errors that cannot all fit: the rest are counted, and the response fits. */
static void test_fit_row_errors(void **state)
{
	(void)state;
	size_t n = HT_CTL_MAX_ROW_ERRORS + 100;
	ht_ctl_row_error *errs = calloc(n, sizeof(*errs));
	assert_non_null(errs);
	for (size_t i = 0; i < n; i++)
		widest_row_error(&errs[i]);
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	fill(r.detail, 'd', HT_CTL_DETAIL_MAX);
	r.type = HT_CTL_CDR_IMPORT;
	r.progress.errors = errs;
	r.progress.n_errors = n;
	r.progress.errors_omitted = 7;
	size_t dropped = ht_ctl_response_fit(&r);
	assert_true(dropped >= 100);
	assert_int_equal(r.progress.n_errors, n - dropped);
	assert_true(r.progress.errors_omitted == 7 + dropped);
	response_round_trip(&r, &out);
	assert_int_equal(out.progress.n_errors, n - dropped);
	ht_ctl_response_clear(&out);
	/* Nothing more to drop. */
	assert_int_equal(ht_ctl_response_fit(&r), 0);

	/* Small errors: only the count limit applies. */
	for (size_t i = 0; i < n; i++) {
		errs[i].message[0] = 0;
		errs[i].line = i;
	}
	r.progress.n_errors = n;
	r.progress.errors_omitted = 0;
	assert_int_equal(ht_ctl_response_fit(&r), 100);
	assert_int_equal(r.progress.n_errors, HT_CTL_MAX_ROW_ERRORS);
	assert_true(r.progress.errors_omitted == 100);
	assert_true(errs[0].line == 0); /* the first ones are kept */
	free(errs);

	/* Other types are left alone. */
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_STATUS;
	assert_int_equal(ht_ctl_response_fit(&r), 0);
}

/* Audit entries that cannot all fit: the newest go, the oldest stay. */
static void test_fit_audit_and_lookup(void **state)
{
	(void)state;
	size_t n = HT_CTL_AUDIT_MAX;
	ht_ctl_audit_entry *es = calloc(n, sizeof(*es));
	assert_non_null(es);
	for (size_t i = 0; i < n; i++) {
		widest_audit_entry(&es[i]);
		es[i].time_ms = i;
	}
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_AUDIT;
	r.audit.entries = es;
	r.audit.n = n;
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_TOO_LARGE);
	size_t dropped = ht_ctl_response_fit(&r);
	assert_true(dropped > 0 && dropped < n);
	assert_true(r.audit.truncated);
	assert_int_equal(r.audit.n, n - dropped);
	assert_true(es[0].time_ms == 0);
	assert_true(es[r.audit.n - 1].time_ms == n - dropped - 1);
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_OK);
	assert_true(len <= HT_CTL_MAX_FRAME);
	/* Close to the limit: the estimate is not wasteful. */
	assert_true(len > HT_CTL_MAX_FRAME - 2 * 400);
	free(buf);
	free(es);

	/* Lookup records fit as they are; one too many is cut from the end. */
	ht_cdr *recs = calloc(HT_CTL_LOOKUP_MAX + 1, sizeof(*recs));
	assert_non_null(recs);
	for (size_t i = 0; i <= HT_CTL_LOOKUP_MAX; i += 2)
		sample_records(&recs[i < HT_CTL_LOOKUP_MAX ? i : i - 1]);
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_CDR_LOOKUP;
	r.lookup.records = recs;
	r.lookup.n = HT_CTL_LOOKUP_MAX;
	assert_int_equal(ht_ctl_response_fit(&r), 0);
	assert_false(r.lookup.truncated);
	r.lookup.n = HT_CTL_LOOKUP_MAX + 1;
	assert_int_equal(ht_ctl_response_fit(&r), 1);
	assert_true(r.lookup.truncated);
	response_round_trip(&r, &out);
	assert_int_equal(out.lookup.n, HT_CTL_LOOKUP_MAX);
	ht_ctl_response_clear(&out);
	free(recs);

	/* Stats peers: the count limit. */
	ht_ctl_peer_count *pc = calloc(HT_CTL_MAX_STATS_PEERS + 5, sizeof(*pc));
	assert_non_null(pc);
	for (size_t i = 0; i < HT_CTL_MAX_STATS_PEERS + 5; i++) {
		fill(pc[i].provider_id, 'p', HT_PROVIDER_ID_MAX);
		pc[i].as_upstream = pc[i].as_downstream = UINT64_MAX;
	}
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_CDR_STATS;
	r.cdr_stats.peers = pc;
	r.cdr_stats.n_peers = HT_CTL_MAX_STATS_PEERS + 5;
	assert_int_equal(ht_ctl_response_fit(&r), 5);
	assert_true(r.cdr_stats.peers_truncated);
	/* The widest peers at the limit still fit one frame. */
	response_round_trip(&r, &out);
	assert_int_equal(out.cdr_stats.n_peers, HT_CTL_MAX_STATS_PEERS);
	ht_ctl_response_clear(&out);
	free(pc);
}

/* The octets of spec/control.md, section 12, for the new commands. */
static void test_spec_examples(void **state)
{
	(void)state;
	uint8_t *buf;
	size_t len;
	ht_ctl_request req = {.version = 1, .type = HT_CTL_CDR_IMPORT};
	req.import.last = true;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	static const uint8_t chunk[] = {0x08, 0x01, 0x5a, 0x02, 0x10, 0x01};
	assert_int_equal(len, sizeof(chunk));
	assert_memory_equal(buf, chunk, sizeof(chunk));
	free(buf);

	ht_ctl_response r;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_CDR_IMPORT;
	r.progress.rows_imported = 2;
	r.progress.done = true;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_OK);
	static const uint8_t done[] = {0x08, 0x01, 0x5a, 0x04, 0x08, 0x02, 0x38, 0x01};
	assert_int_equal(len, sizeof(done));
	assert_memory_equal(buf, done, sizeof(done));
	free(buf);

	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_CDR_STATS;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_OK);
	static const uint8_t stats[] = {0x08, 0x01, 0x62, 0x00};
	assert_int_equal(len, sizeof(stats));
	assert_memory_equal(buf, stats, sizeof(stats));
	free(buf);

	/* trace list with limit 5, and the empty list. */
	req = (ht_ctl_request){.version = 1, .type = HT_CTL_TRACE_LIST};
	req.trace.limit = 5;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	static const uint8_t list[] = {0x08, 0x01, 0x8a, 0x01, 0x02, 0x08, 0x05};
	assert_int_equal(len, sizeof(list));
	assert_memory_equal(buf, list, sizeof(list));
	free(buf);
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_TRACE_LIST;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_OK);
	static const uint8_t none[] = {0x08, 0x01, 0x8a, 0x01, 0x00};
	assert_int_equal(len, sizeof(none));
	assert_memory_equal(buf, none, sizeof(none));
	free(buf);

	/* trace show of 00 01 .. 0f from its third answer. */
	req = (ht_ctl_request){.version = 1, .type = HT_CTL_TRACE_SHOW};
	for (int i = 0; i < 16; i++)
		req.trace.trace_id[i] = (uint8_t)i;
	req.trace.from = 2;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	static const uint8_t show[] = {0x08, 0x01, 0x82, 0x01, 0x14, 0x0a, 0x10, 0x00, 0x01,
				       0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
				       0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x02};
	assert_int_equal(len, sizeof(show));
	assert_memory_equal(buf, show, sizeof(show));
	uint8_t *frame;
	size_t flen;
	assert_int_equal(ht_ctl_frame(buf, len, &frame, &flen), HT_OK);
	assert_int_equal(frame[3], 0x19); /* the length prefix */
	free(frame);
	free(buf);
}

static void test_admit_new_commands(void **state)
{
	(void)state;
	static const ht_ctl_type types[] = {
		HT_CTL_CDR_IMPORT,  HT_CTL_CDR_STATS,  HT_CTL_CDR_LOOKUP, HT_CTL_AUDIT,
		HT_CTL_TRACE_START, HT_CTL_TRACE_SHOW, HT_CTL_TRACE_LIST, HT_CTL_TRACE_EXPORT,
	};
	ht_ctl_response resp;
	ht_ctl_request got;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(admit(types[i], false, &resp), HT_CTL_RESULT_HELLO_REQUIRED);
		assert_int_equal(admit(types[i], true, &resp), HT_CTL_RESULT_OK);
		assert_int_equal(resp.type, types[i]);
		assert_string_not_equal(ht_ctl_type_name(types[i]), "unknown");
	}
	assert_string_equal(ht_ctl_type_name(HT_CTL_CDR_IMPORT), "cdr import");
	assert_string_equal(ht_ctl_type_name(HT_CTL_AUDIT), "audit");
	assert_string_equal(ht_ctl_type_name(HT_CTL_TRACE_START), "trace start");
	assert_string_equal(ht_ctl_type_name(HT_CTL_TRACE_EXPORT), "trace export");
	assert_string_equal(ht_ctl_type_name((ht_ctl_type)99), "unknown");

	/* An import chunk is the request's own; the caller clears it. */
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_CDR_IMPORT};
	req.import.data = (uint8_t *)"a,b\n";
	req.import.len = 4;
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	assert_int_equal(ht_ctl_admit(buf, len, true, &got, &resp), HT_CTL_RESULT_OK);
	assert_int_equal(got.import.len, 4);
	assert_memory_equal(got.import.data, "a,b\n", 4);
	ht_ctl_request_clear(&got);
	/* Before hello, it is decoded and refused; still cleared by the caller. */
	assert_int_equal(ht_ctl_admit(buf, len, false, &got, &resp), HT_CTL_RESULT_HELLO_REQUIRED);
	ht_ctl_request_clear(&got);
	free(buf);

	/* A command body that breaks its rules is malformed: the server closes. */
	Hoptrace__V1__AuditRequest a = HOPTRACE__V1__AUDIT_REQUEST__INIT;
	Hoptrace__V1__ControlRequest m = HOPTRACE__V1__CONTROL_REQUEST__INIT;
	m.version = 1;
	m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_AUDIT;
	m.audit = &a;
	a.trace_id.data = (uint8_t *)"short";
	a.trace_id.len = 5;
	buf = pack(&m.base, &len);
	assert_int_equal(ht_ctl_admit(buf, len, true, &got, &resp), HT_CTL_RESULT_MALFORMED);
	assert_true(ht_ctl_result_closes(resp.result));
	assert_int_equal(got.type, HT_CTL_NONE);
	free(buf);
}

/* ---- trace commands ------------------------------------------------------ */

static void test_trace_start_request(void **state)
{
	(void)state;
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_TRACE_START}, out;
	ht_ctl_trace_start *t = &req.trace_start;
	snprintf(t->calling, sizeof(t->calling), "+1 (202) 555-0143");
	fill(t->called, '9', HT_CTL_NUMBER_MAX);
	t->time_ms = 1767225600123;
	t->tolerance_ms = HT_CTL_TOLERANCE_MAX_MS;
	fill(t->to, 't', HT_PROVIDER_ID_MAX);
	snprintf(t->label, sizeof(t->label), "campaign \xe2\x80\x94 IRS");
	request_round_trip(&req, &out);
	assert_string_equal(out.trace_start.calling, t->calling);
	assert_string_equal(out.trace_start.called, t->called);
	assert_true(out.trace_start.time_ms == 1767225600123);
	assert_int_equal(out.trace_start.tolerance_ms, HT_CTL_TOLERANCE_MAX_MS);
	assert_string_equal(out.trace_start.to, t->to);
	assert_string_equal(out.trace_start.label, t->label);

	/* The longest label; no peer, tolerance 0 (the server's default). */
	fill(t->label, 'l', HT_CTL_LABEL_MAX);
	t->to[0] = 0;
	t->tolerance_ms = 0;
	request_round_trip(&req, &out);
	assert_string_equal(out.trace_start.label, t->label);
	assert_string_equal(out.trace_start.to, "");
	assert_int_equal(out.trace_start.tolerance_ms, 0);

	/* Not sent: a tolerance over the maximum, a bad peer, a label with a line break. */
	uint8_t *buf;
	size_t len;
	t->tolerance_ms = HT_CTL_TOLERANCE_MAX_MS + 1;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_E_INVAL);
	t->tolerance_ms = 0;
	snprintf(t->to, sizeof(t->to), "no spaces");
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_E_INVAL);
	t->to[0] = 0;
	snprintf(t->label, sizeof(t->label), "two\nlines");
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_E_INVAL);

	/* Nor received. */
	Hoptrace__V1__TraceStartRequest st = HOPTRACE__V1__TRACE_START_REQUEST__INIT;
	Hoptrace__V1__ControlRequest m = HOPTRACE__V1__CONTROL_REQUEST__INIT;
	m.version = 1;
	m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_START;
	m.trace_start = &st;
	assert_int_equal(decode_request_msg(&m, &out), HT_OK); /* empty: the server refuses */
	assert_int_equal(out.type, HT_CTL_TRACE_START);
	st.tolerance_ms = HT_CTL_TOLERANCE_MAX_MS + 1;
	assert_int_equal(decode_request_msg(&m, &out), HT_E_MALFORMED);
	assert_int_equal(out.type, HT_CTL_NONE);
	st.tolerance_ms = 0;
	char label[HT_CTL_LABEL_MAX + 1];
	memset(label, 'l', sizeof(label));
	st.label.data = (uint8_t *)label;
	st.label.len = HT_CTL_LABEL_MAX + 1;
	assert_int_equal(decode_request_msg(&m, &out), HT_E_MALFORMED);
	st.label.len = HT_CTL_LABEL_MAX;
	assert_int_equal(decode_request_msg(&m, &out), HT_OK);
	st.to.data = (uint8_t *)"-x";
	st.to.len = 2;
	assert_int_equal(decode_request_msg(&m, &out), HT_E_MALFORMED);
}

static void test_trace_queries(void **state)
{
	(void)state;
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_TRACE_SHOW}, out;
	for (int i = 0; i < HT_CTL_TRACE_ID_LEN; i++)
		req.trace.trace_id[i] = (uint8_t)(0xa0 + i);
	req.trace.from = 7;
	request_round_trip(&req, &out);
	assert_memory_equal(out.trace.trace_id, req.trace.trace_id, HT_CTL_TRACE_ID_LEN);
	assert_int_equal(out.trace.from, 7);

	req.type = HT_CTL_TRACE_EXPORT;
	req.trace.offset = 524288;
	request_round_trip(&req, &out);
	assert_memory_equal(out.trace.trace_id, req.trace.trace_id, HT_CTL_TRACE_ID_LEN);
	assert_true(out.trace.offset == 524288);

	/* List limits read as 1 to 1000. */
	static const uint32_t sent[] = {0, 1, HT_CTL_TRACE_LIST_MAX, HT_CTL_TRACE_LIST_MAX + 1,
					UINT32_MAX};
	static const uint32_t read[] = {HT_CTL_TRACE_LIST_DEFAULT, 1, HT_CTL_TRACE_LIST_MAX,
					HT_CTL_TRACE_LIST_MAX, HT_CTL_TRACE_LIST_MAX};
	memset(&req, 0, sizeof(req));
	req.version = HT_CTL_VERSION;
	req.type = HT_CTL_TRACE_LIST;
	for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
		req.trace.limit = sent[i];
		request_round_trip(&req, &out);
		assert_int_equal(out.trace.limit, read[i]);
	}

	/* show and export need a trace ID of exactly 16 octets. */
	static const uint8_t id[17] = {1};
	Hoptrace__V1__TraceShowRequest sh = HOPTRACE__V1__TRACE_SHOW_REQUEST__INIT;
	Hoptrace__V1__TraceExportRequest ex = HOPTRACE__V1__TRACE_EXPORT_REQUEST__INIT;
	Hoptrace__V1__ControlRequest m = HOPTRACE__V1__CONTROL_REQUEST__INIT;
	m.version = 1;
	for (size_t n = 0; n <= 17; n++) {
		sh.trace_id.data = ex.trace_id.data = (uint8_t *)id;
		sh.trace_id.len = ex.trace_id.len = n;
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_SHOW;
		m.trace_show = &sh;
		assert_int_equal(decode_request_msg(&m, &out), n == 16 ? HT_OK : HT_E_MALFORMED);
		m.req_case = HOPTRACE__V1__CONTROL_REQUEST__REQ_TRACE_EXPORT;
		m.trace_export = &ex;
		assert_int_equal(decode_request_msg(&m, &out), n == 16 ? HT_OK : HT_E_MALFORMED);
	}
}

/* An answer with every field at its longest and all its calls. */
static void widest_hop(ht_ctl_hop *h)
{
	memset(h, 0, sizeof(*h));
	fill(h->provider_id, 'p', HT_PROVIDER_ID_MAX);
	fill(h->asked_by, 'a', HT_PROVIDER_ID_MAX);
	fill(h->status, 's', HT_CTL_ANSWER_STATUS_MAX);
	fill(h->reason, 'r', HT_CTL_REASON_MAX);
	fill(h->upstream, 'u', HT_PROVIDER_ID_MAX);
	fill(h->verdict, 'v', HT_CTL_VERDICT_MAX);
	h->hop = UINT32_MAX;
	h->answered_ms = h->window_time_ms = h->received_ms = UINT64_MAX;
	h->n_calls = HT_CTL_HOP_CALLS_MAX;
	for (size_t i = 0; i < HT_CTL_HOP_CALLS_MAX; i++) {
		ht_ctl_hop_call *c = &h->calls[i];
		fill(c->upstream, 'c', HT_PROVIDER_ID_MAX);
		fill(c->customer_ref, 'x', HT_CTL_CUSTOMER_REF_MAX);
		c->originated_here = true;
		c->record_time_ms = UINT64_MAX;
		c->attestation = 'C';
		c->has_origid = true;
		memset(c->origid, 0x77, sizeof(c->origid));
	}
}

static void sample_trace(ht_ctl_trace *t, ht_ctl_hop *hops, size_t n)
{
	memset(t, 0, sizeof(*t));
	memset(t->trace_id, 0x5c, sizeof(t->trace_id));
	snprintf(t->initiator, sizeof(t->initiator), "carrier-a");
	snprintf(t->calling, sizeof(t->calling), "12025550143");
	snprintf(t->called, sizeof(t->called), "12025550199");
	t->call_time_ms = 1767225600123;
	t->tolerance_ms = 5000;
	t->hop_limit = 16;
	snprintf(t->label, sizeof(t->label), "IRS campaign");
	t->created_ms = 1767225700000;
	t->expires_ms = 1767225760000;
	snprintf(t->status, sizeof(t->status), HT_CTL_TRACE_COMPLETE);
	t->started_ms = 1767225700001;
	t->finished_ms = 1767225700042;
	t->answers = hops;
	t->n_answers = n;
	t->answers_total = (uint32_t)n + 2;
	t->answers_dropped = 3;
	t->from = 2;
}

static void assert_hop_equal(const ht_ctl_hop *a, const ht_ctl_hop *b)
{
	assert_string_equal(a->provider_id, b->provider_id);
	assert_string_equal(a->asked_by, b->asked_by);
	assert_string_equal(a->status, b->status);
	assert_string_equal(a->reason, b->reason);
	assert_string_equal(a->upstream, b->upstream);
	assert_string_equal(a->verdict, b->verdict);
	assert_true(a->hop == b->hop && a->answered_ms == b->answered_ms &&
		    a->window_time_ms == b->window_time_ms && a->received_ms == b->received_ms);
	assert_int_equal(a->n_calls, b->n_calls);
	for (size_t i = 0; i < a->n_calls; i++) {
		const ht_ctl_hop_call *x = &a->calls[i], *y = &b->calls[i];
		assert_string_equal(x->upstream, y->upstream);
		assert_string_equal(x->customer_ref, y->customer_ref);
		assert_true(x->originated_here == y->originated_here &&
			    x->record_time_ms == y->record_time_ms &&
			    x->attestation == y->attestation && x->has_origid == y->has_origid);
		assert_memory_equal(x->origid, y->origid, sizeof(x->origid));
	}
}

static void test_trace_show_response(void **state)
{
	(void)state;
	ht_ctl_hop hops[3];
	memset(hops, 0, sizeof(hops));
	snprintf(hops[0].provider_id, sizeof(hops[0].provider_id), "carrier-a");
	snprintf(hops[0].asked_by, sizeof(hops[0].asked_by), "carrier-a");
	snprintf(hops[0].status, sizeof(hops[0].status), "found");
	snprintf(hops[0].verdict, sizeof(hops[0].verdict), "ok");
	hops[0].n_calls = 1;
	snprintf(hops[0].calls[0].upstream, sizeof(hops[0].calls[0].upstream), "carrier-b");
	hops[0].calls[0].record_time_ms = 1767225600100;
	hops[0].calls[0].attestation = 'A';
	snprintf(hops[1].verdict, sizeof(hops[1].verdict), "decrypt_failed"); /* unreadable */
	hops[1].received_ms = 1767225700020;
	widest_hop(&hops[2]);

	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_TRACE_SHOW;
	sample_trace(&r.trace, hops, 3);
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_TRACE_SHOW);
	const ht_ctl_trace *a = &out.trace, *b = &r.trace;
	assert_memory_equal(a->trace_id, b->trace_id, HT_CTL_TRACE_ID_LEN);
	assert_string_equal(a->initiator, b->initiator);
	assert_string_equal(a->calling, b->calling);
	assert_string_equal(a->called, b->called);
	assert_string_equal(a->label, b->label);
	assert_string_equal(a->to, "");
	assert_string_equal(a->status, HT_CTL_TRACE_COMPLETE);
	assert_true(a->call_time_ms == b->call_time_ms && a->tolerance_ms == b->tolerance_ms &&
		    a->hop_limit == b->hop_limit && a->created_ms == b->created_ms &&
		    a->expires_ms == b->expires_ms && a->started_ms == b->started_ms &&
		    a->finished_ms == b->finished_ms);
	assert_int_equal(a->answers_total, 5);
	assert_int_equal(a->answers_dropped, 3);
	assert_int_equal(a->from, 2);
	assert_int_equal(a->n_answers, 3);
	for (size_t i = 0; i < 3; i++)
		assert_hop_equal(&a->answers[i], &hops[i]);
	ht_ctl_response_clear(&out);
	assert_null(out.trace.answers);

	/* Not sent: answers past the total, a total over the limit, a bad number,
	 * an attestation that is not A, B or C, more calls than an answer holds. */
	uint8_t *buf;
	size_t len;
	r.trace.answers_total = 4;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	r.trace.from = 0;
	r.trace.answers_total = HT_CTL_TRACE_ANSWERS_MAX + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	r.trace.answers_total = 3;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_OK);
	free(buf);
	snprintf(r.trace.calling, sizeof(r.trace.calling), "0123");
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	snprintf(r.trace.calling, sizeof(r.trace.calling), "12025550143");
	hops[0].calls[0].attestation = 'D';
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	hops[0].calls[0].attestation = 0;
	hops[0].n_calls = HT_CTL_HOP_CALLS_MAX + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	hops[0].n_calls = 1;
	fill(hops[1].verdict, 'v', HT_CTL_VERDICT_MAX);
	hops[1].verdict[3] = '\t';
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	snprintf(hops[1].verdict, sizeof(hops[1].verdict), "ok");

	/* Nor received. */
	Hoptrace__V1__TraceHopCall c = HOPTRACE__V1__TRACE_HOP_CALL__INIT;
	Hoptrace__V1__TraceHopCall *cs[HT_CTL_HOP_CALLS_MAX + 1];
	Hoptrace__V1__TraceHop h = HOPTRACE__V1__TRACE_HOP__INIT;
	Hoptrace__V1__TraceHop *hs[1] = {&h};
	Hoptrace__V1__TraceShowResponse sh = HOPTRACE__V1__TRACE_SHOW_RESPONSE__INIT;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	static const uint8_t id[16] = {9};
	for (size_t i = 0; i <= HT_CTL_HOP_CALLS_MAX; i++)
		cs[i] = &c;
	m.version = 1;
	m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_SHOW;
	m.trace_show = &sh;
	sh.trace_id.data = (uint8_t *)id;
	sh.trace_id.len = 16;
	sh.calling.data = sh.called.data = (uint8_t *)"12025550143";
	sh.calling.len = sh.called.len = 11;
	sh.answers = hs;
	sh.n_answers = 1;
	sh.answers_total = 1;
	h.calls = cs;
	h.n_calls = HT_CTL_HOP_CALLS_MAX;
	assert_int_equal(decode_response_msg(&m, &out), HT_OK);
	assert_int_equal(out.trace.n_answers, 1);
	assert_int_equal(out.trace.answers[0].n_calls, HT_CTL_HOP_CALLS_MAX);
	ht_ctl_response_clear(&out);
	h.n_calls = HT_CTL_HOP_CALLS_MAX + 1;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_TOO_LARGE);
	assert_null(out.trace.answers);
	h.n_calls = 1;
	c.attestation.data = (uint8_t *)"AB";
	c.attestation.len = 2;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	c.attestation.len = 0;
	sh.from = 1; /* the one answer would be number 2 of 1 */
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	sh.from = 0;
	sh.answers_total = HT_CTL_TRACE_ANSWERS_MAX + 1;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	sh.answers_total = 1;
	sh.trace_id.len = 0;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	sh.trace_id.len = 16;
	sh.called.len = 0; /* both numbers, or neither */
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	sh.calling.len = 0;
	assert_int_equal(decode_response_msg(&m, &out), HT_OK);
	ht_ctl_response_clear(&out);
	sh.calling.len = sh.called.len = 11;
	h.verdict.data = (uint8_t *)"ok\x1b[2J";
	h.verdict.len = 6;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	h.verdict.len = 2;
	assert_int_equal(decode_response_msg(&m, &out), HT_OK);
	assert_string_equal(out.trace.answers[0].verdict, "ok");
	ht_ctl_response_clear(&out);
}

/* Answers that do not fit one frame: the first ones are listed, the rest asked for again. */
static void test_fit_trace_answers(void **state)
{
	(void)state;
	size_t n = HT_CTL_TRACE_ANSWERS_MAX;
	ht_ctl_hop *hops = calloc(n, sizeof(*hops));
	assert_non_null(hops);
	for (size_t i = 0; i < n; i++) {
		widest_hop(&hops[i]);
		hops[i].hop = (uint32_t)i;
	}
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_TRACE_SHOW;
	sample_trace(&r.trace, hops, n);
	r.trace.from = 0;
	r.trace.answers_total = (uint32_t)n;
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_TOO_LARGE);
	size_t dropped = ht_ctl_response_fit(&r);
	assert_true(dropped > 0 && dropped < n);
	assert_int_equal(r.trace.n_answers, n - dropped);
	response_round_trip(&r, &out);
	assert_true(out.trace.from + out.trace.n_answers < out.trace.answers_total);
	assert_int_equal(out.trace.answers[out.trace.n_answers - 1].hop, n - dropped - 1);
	ht_ctl_response_clear(&out);
	assert_int_equal(ht_ctl_response_fit(&r), 0);

	/* Each next page starts where the last one stopped, until all are listed. */
	size_t next = n - dropped, pages = 1;
	while (next < n) {
		r.trace.from = (uint32_t)next;
		r.trace.answers = hops + next;
		r.trace.n_answers = n - next;
		ht_ctl_response_fit(&r);
		assert_true(r.trace.n_answers > 0);
		response_round_trip(&r, &out);
		assert_int_equal(out.trace.from, next);
		assert_int_equal(out.trace.answers[0].hop, next);
		next += out.trace.n_answers;
		ht_ctl_response_clear(&out);
		pages++;
	}
	assert_int_equal(next, n);
	assert_true(pages >= 2 && pages <= 4);
	free(hops);
}

static void test_trace_start_list_responses(void **state)
{
	(void)state;
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_TRACE_START;
	memset(r.started, 0x42, sizeof(r.started));
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_TRACE_START);
	assert_memory_equal(out.started, r.started, HT_CTL_TRACE_ID_LEN);

	/* A start response needs its trace ID. */
	Hoptrace__V1__TraceStartResponse st = HOPTRACE__V1__TRACE_START_RESPONSE__INIT;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	m.version = 1;
	m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_START;
	m.trace_start = &st;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);

	size_t n = HT_CTL_TRACE_LIST_MAX;
	ht_ctl_trace_entry *es = calloc(n + 1, sizeof(*es));
	assert_non_null(es);
	for (size_t i = 0; i <= n; i++) {
		memset(es[i].trace_id, (int)i, sizeof(es[i].trace_id));
		es[i].created_ms = UINT64_MAX - i;
		fill(es[i].status, 's', HT_CTL_TRACE_STATUS_MAX);
		es[i].answers = UINT32_MAX;
		fill(es[i].origin, 'o', HT_PROVIDER_ID_MAX);
		fill(es[i].label, 'l', HT_CTL_LABEL_MAX);
		es[i].call_time_ms = UINT64_MAX;
	}
	snprintf(es[1].status, sizeof(es[1].status), HT_CTL_TRACE_RUNNING);
	es[1].origin[0] = 0;
	es[1].label[0] = 0;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_TRACE_LIST;
	r.traces.entries = es;
	r.traces.n = n; /* the widest list at its limit fits one frame */
	assert_int_equal(ht_ctl_response_fit(&r), 0);
	response_round_trip(&r, &out);
	assert_int_equal(out.traces.n, n);
	assert_false(out.traces.truncated);
	for (size_t i = 0; i < 2; i++) {
		const ht_ctl_trace_entry *a = &out.traces.entries[i], *b = &es[i];
		assert_memory_equal(a->trace_id, b->trace_id, HT_CTL_TRACE_ID_LEN);
		assert_true(a->created_ms == b->created_ms && a->answers == b->answers &&
			    a->call_time_ms == b->call_time_ms);
		assert_string_equal(a->status, b->status);
		assert_string_equal(a->origin, b->origin);
		assert_string_equal(a->label, b->label);
	}
	ht_ctl_response_clear(&out);

	/* One too many: refused as it is, cut by fit. */
	uint8_t *buf;
	size_t len;
	r.traces.n = n + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_TOO_LARGE);
	assert_int_equal(ht_ctl_response_fit(&r), 1);
	assert_true(r.traces.truncated);
	response_round_trip(&r, &out);
	assert_true(out.traces.truncated);
	ht_ctl_response_clear(&out);
	snprintf(es[0].origin, sizeof(es[0].origin), "not an id");
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	free(es);

	Hoptrace__V1__TraceListEntry e = HOPTRACE__V1__TRACE_LIST_ENTRY__INIT;
	Hoptrace__V1__TraceListEntry *ps[1] = {&e};
	Hoptrace__V1__TraceListResponse lr = HOPTRACE__V1__TRACE_LIST_RESPONSE__INIT;
	m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_LIST;
	m.trace_list = &lr;
	lr.traces = ps;
	lr.n_traces = 1;
	e.trace_id.data = (uint8_t *)"0123456789abcdef";
	e.trace_id.len = 16;
	assert_int_equal(decode_response_msg(&m, &out), HT_OK);
	ht_ctl_response_clear(&out);
	e.trace_id.len = 0; /* every entry names its trace */
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	e.trace_id.len = 16;
	e.status.data = (uint8_t *)"complete-and-more";
	e.status.len = HT_CTL_TRACE_STATUS_MAX + 1;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
}

static void test_trace_export_response(void **state)
{
	(void)state;
	uint8_t *chunk = malloc(HT_CTL_EXPORT_CHUNK_MAX + 1);
	assert_non_null(chunk);
	for (size_t i = 0; i <= HT_CTL_EXPORT_CHUNK_MAX; i++)
		chunk[i] = (uint8_t)i;
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_TRACE_EXPORT;
	r.bundle.data = chunk;
	r.bundle.len = HT_CTL_EXPORT_CHUNK_MAX;
	r.bundle.offset = HT_CTL_EXPORT_MAX - HT_CTL_EXPORT_CHUNK_MAX;
	r.bundle.total = HT_CTL_EXPORT_MAX;
	memset(r.bundle.digest, 0xd1, sizeof(r.bundle.digest));
	r.bundle.answers = 6;
	response_round_trip(&r, &out);
	assert_int_equal(out.bundle.len, HT_CTL_EXPORT_CHUNK_MAX);
	assert_memory_equal(out.bundle.data, chunk, HT_CTL_EXPORT_CHUNK_MAX);
	assert_true(out.bundle.offset == r.bundle.offset && out.bundle.total == r.bundle.total);
	assert_memory_equal(out.bundle.digest, r.bundle.digest, HT_CTL_DIGEST_LEN);
	assert_int_equal(out.bundle.answers, 6);
	ht_ctl_response_clear(&out);
	assert_null(out.bundle.data);

	/* Not sent: a piece too large, past the total, a total over the limit, no data. */
	uint8_t *buf;
	size_t len;
	r.bundle.len = HT_CTL_EXPORT_CHUNK_MAX + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_TOO_LARGE);
	r.bundle.len = 10;
	r.bundle.offset = r.bundle.total - 9;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	r.bundle.offset = 0;
	r.bundle.total = HT_CTL_EXPORT_MAX + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	r.bundle.total = 10;
	r.bundle.data = NULL;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);

	/* Nor received. */
	Hoptrace__V1__TraceExportResponse ex = HOPTRACE__V1__TRACE_EXPORT_RESPONSE__INIT;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	m.version = 1;
	m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_TRACE_EXPORT;
	m.trace_export = &ex;
	ex.data.data = chunk;
	ex.data.len = 100;
	ex.total = 100;
	ex.digest.data = chunk;
	ex.digest.len = HT_CTL_DIGEST_LEN;
	assert_int_equal(decode_response_msg(&m, &out), HT_OK);
	ht_ctl_response_clear(&out);
	ex.offset = 1; /* one octet past the end */
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	ex.offset = UINT64_MAX; /* no wrap-around */
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	ex.offset = 0;
	ex.digest.len = 31;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	ex.digest.len = HT_CTL_DIGEST_LEN;
	ex.total = HT_CTL_EXPORT_MAX + 1;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_MALFORMED);
	ex.total = HT_CTL_EXPORT_MAX;
	ex.data.len = HT_CTL_EXPORT_CHUNK_MAX + 1;
	assert_int_equal(decode_response_msg(&m, &out), HT_E_TOO_LARGE);
	assert_null(out.bundle.data);
	free(chunk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_response_round_trip_hello_and_errors),
		cmocka_unit_test(test_status_round_trip),
		cmocka_unit_test(test_peers_round_trip),
		cmocka_unit_test(test_peers_limit),
		cmocka_unit_test(test_reader_one_byte_at_a_time),
		cmocka_unit_test(test_reader_chunks),
		cmocka_unit_test(test_reader_oversize),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_truncated_and_garbage),
		cmocka_unit_test(test_overlong_strings),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_version_mismatch),
		cmocka_unit_test(test_admit),
		cmocka_unit_test(test_unknown_response_parts),
		cmocka_unit_test(test_text_rules),
		cmocka_unit_test(test_cdr_import_request),
		cmocka_unit_test(test_cdr_stats_and_lookup_requests),
		cmocka_unit_test(test_audit_request),
		cmocka_unit_test(test_import_progress),
		cmocka_unit_test(test_cdr_stats_response),
		cmocka_unit_test(test_lookup_response),
		cmocka_unit_test(test_lookup_response_refusals),
		cmocka_unit_test(test_audit_response),
		cmocka_unit_test(test_fit_row_errors),
		cmocka_unit_test(test_fit_audit_and_lookup),
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_admit_new_commands),
		cmocka_unit_test(test_trace_start_request),
		cmocka_unit_test(test_trace_queries),
		cmocka_unit_test(test_trace_show_response),
		cmocka_unit_test(test_fit_trace_answers),
		cmocka_unit_test(test_trace_start_list_responses),
		cmocka_unit_test(test_trace_export_response),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
