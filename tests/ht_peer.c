/*
 * A HopTrace peer for the integration tests, built on the library's session
 * core and nothing of the daemon's: it dials a daemon with whatever key and
 * certificate it is given (valid or not, matching or not) and reports
 * whether the daemon let the session up.
 *
 * usage: ht_peer KEYFILE CERTFILE ANCHOR.pub HOST:PORT EXPECTED-ID [VERSION]
 * Prints "established" (exit 0), or "refused: ..." / "closed: ..." (exit 1);
 * exit 2 for usage or local errors.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hoptrace/fileio.h"
#include "hoptrace/session.h"
#include "hoptrace/timefmt.h"

static int write_all(int fd, const uint8_t *b, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, b, n);
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 6 && argc != 7) {
		fprintf(stderr,
			"usage: ht_peer KEY CERT ANCHOR.pub HOST:PORT EXPECTED-ID [VERSION]\n");
		return 2;
	}
	if (ht_init() != HT_OK)
		return 2;
	ht_keys keys, anchor;
	uint8_t *cert;
	size_t cert_len;
	ht_trust *trust;
	if (ht_keys_load_secret(argv[1], HT_KEYS_PROVIDER, &keys) != HT_OK ||
	    ht_file_read(argv[2], HT_CERT_MAX, false, &cert, &cert_len) != HT_OK ||
	    ht_keys_load_public(argv[3], HT_KEYS_ANCHOR, &anchor) != HT_OK ||
	    ht_trust_new(&trust) != HT_OK || ht_trust_add_anchor(trust, anchor.sign_pk) != HT_OK) {
		fprintf(stderr, "ht_peer: cannot load key, certificate or anchor\n");
		return 2;
	}
	char host[64];
	const char *colon = strrchr(argv[4], ':');
	if (!colon || (size_t)(colon - argv[4]) >= sizeof(host))
		return 2;
	memcpy(host, argv[4], (size_t)(colon - argv[4]));
	host[colon - argv[4]] = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(colon + 1))};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || fd < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("ht_peer: connect");
		return 2;
	}

	ht_session_config sc = {
		.initiator = true,
		.keys = &keys,
		.cert = cert,
		.cert_len = cert_len,
		.trust = trust,
		.now = ht_time_now(),
		.expected_peer = argv[5],
	};
	ht_session *s;
	if (ht_session_new(&s, &sc) != HT_OK)
		return 2;
	uint8_t pre[HT_PREAMBLE_LEN];
	ht_preamble(pre);
	if (argc == 7) {
		int v = atoi(argv[6]);
		pre[6] = (uint8_t)(v >> 8);
		pre[7] = (uint8_t)v;
	}
	uint8_t *frame;
	size_t flen;
	if (write_all(fd, pre, sizeof(pre)) != 0 || ht_session_pending(s, &frame, &flen) != HT_OK ||
	    write_all(fd, frame, flen) != 0) {
		fprintf(stderr, "ht_peer: cannot send\n");
		return 2;
	}
	free(frame);

	uint8_t their_pre[HT_PREAMBLE_LEN];
	size_t pre_have = 0;
	ht_frame_reader *rd = calloc(1, sizeof(*rd));
	uint8_t buf[4096];
	int result = 1;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 5000) <= 0) {
			printf("closed: no answer within 5 s\n");
			break;
		}
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0) {
			printf("closed: the daemon closed the connection\n");
			break;
		}
		size_t off = 0;
		while (pre_have < HT_PREAMBLE_LEN && off < (size_t)n) {
			their_pre[pre_have++] = buf[off++];
			uint16_t v;
			if (pre_have == HT_PREAMBLE_LEN &&
			    ht_preamble_check(their_pre, &v) != HT_OK) {
				printf("refused: the daemon's preamble is not version %d\n",
				       HT_PROTOCOL_VERSION);
				goto out;
			}
		}
		while (off < (size_t)n) {
			size_t used, mlen;
			const uint8_t *msg;
			int rc = ht_frame_reader_push(rd, buf + off, (size_t)n - off, &used, &msg,
						      &mlen);
			off += used;
			if (rc < 0) {
				printf("closed: malformed frame\n");
				goto out;
			}
			if (rc == 0)
				continue;
			ht_session_event ev;
			const uint8_t *pt;
			size_t plen;
			rc = ht_session_recv(s, msg, mlen, &ev, &pt, &plen);
			if (rc != HT_OK) {
				printf("refused: %s\n", ht_strerror(rc));
				goto out;
			}
			if (ht_session_pending(s, &frame, &flen) != HT_OK)
				goto out;
			if (frame) {
				int w = write_all(fd, frame, flen);
				free(frame);
				if (w != 0)
					goto out;
			}
		}
		if (ht_session_established(s)) {
			/* The daemon decides after our message 3: wait for its verdict. */
			struct pollfd q = {.fd = fd, .events = POLLIN};
			if (poll(&q, 1, 1000) > 0 && read(fd, buf, sizeof(buf)) == 0) {
				printf("closed: the daemon closed the connection after message "
				       "3\n");
				break;
			}
			printf("established\n");
			result = 0;
			break;
		}
	}
out:
	free(rd);
	ht_session_free(s);
	ht_trust_free(trust);
	free(cert);
	close(fd);
	return result;
}
