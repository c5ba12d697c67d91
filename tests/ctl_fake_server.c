/*
 * A stand-in for hoptraced's control socket, so the CLI can be tested end
 * to end without the daemon (tests/ctl_cli_test.sh). It serves connections
 * one at a time with the library's codec and server checks (ht_ctl_admit)
 * and answers with fixed data.
 *
 *   usage: ctl_fake_server MODE SOCKET
 *
 * MODE is one of:
 *   ok       answer hello, status and peers with the fixed data below
 *   empty    like ok, with no peers and no provider ID
 *   version  behave as a server of control protocol version 2: refuse every
 *            client with UNSUPPORTED_VERSION, then close
 *   error    answer hello, then fail every other request with ERROR
 *   silent   accept and read, never answer (the client's timeout)
 *   garbage  answer with a length prefix over the limit
 *
 * Prints "ready" on stdout once it is listening; runs until killed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hoptrace/control.h"

static const char *mode;

/* 2026-01-01T00:00:00Z, in ms. */
#define T0 1767225600000ULL

static const ht_ctl_status fixed_status = {
	.daemon_version = "0.1.0-fake",
	.provider_id = "carrier-a",
	.uptime_s = 7380,
	.peers_up = 1,
	.peers_total = 3,
	.msgs_in = 1200,
	.msgs_out = 3400,
	.bytes_in = 1572864,
	.bytes_out = 2048,
	.handshakes_ok = 5,
	.handshakes_failed = 1,
	.conns_refused = 3,
};

static const ht_ctl_peer fixed_peers[] = {
	{
		.provider_id = "carrier-b",
		.address = "192.0.2.10:7443",
		.state = HT_CTL_STATE_ESTABLISHED,
		.since_ms = T0 + 123,
		.last_seen_ms = T0 + 60000,
		.rtt_us = 12345,
		.msgs_in = 100,
		.msgs_out = 200,
		.bytes_in = 4096,
		.bytes_out = 8192,
	},
	{
		.provider_id = "carrier-c",
		.address = "[2001:db8::1]:7443",
		.state = HT_CTL_STATE_BACKOFF,
		.since_ms = T0 + 3600000,
		.last_error = "connect: Connection refused \xe2\x80\x94 retrying",
	},
	{
		.address = "peer.example.net:7443",
		.state = HT_CTL_STATE_CONNECTING,
		.since_ms = T0,
	},
};

static void die(const char *what)
{
	fprintf(stderr, "ctl_fake_server: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int send_response(int fd, const ht_ctl_response *resp)
{
	uint8_t *body, *frame;
	size_t body_len, frame_len;
	if (ht_ctl_encode_response(resp, &body, &body_len) != HT_OK)
		return -1;
	int rc = ht_ctl_frame(body, body_len, &frame, &frame_len);
	free(body);
	if (rc != HT_OK)
		return -1;
	const uint8_t *p = frame;
	while (frame_len > 0) {
		ssize_t w = send(fd, p, frame_len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		frame_len -= (size_t)w;
	}
	free(frame);
	return frame_len == 0 ? 0 : -1;
}

/* Answers one request; returns -1 when the connection is to be closed. */
static int answer(int fd, const uint8_t *body, size_t len, bool *hello_done)
{
	ht_ctl_request req;
	ht_ctl_response resp;
	int32_t res;

	if (!strcmp(mode, "silent"))
		return 0;
	if (!strcmp(mode, "garbage")) {
		static const uint8_t big[] = {0x7f, 0xff, 0xff, 0xff, 0x00};
		(void)!send(fd, big, sizeof(big), MSG_NOSIGNAL);
		return -1;
	}
	if (!strcmp(mode, "version")) {
		ht_ctl_response_set(&resp, HT_CTL_RESULT_UNSUPPORTED_VERSION,
				    "unsupported control protocol version: the client speaks "
				    "version 1, this server speaks version 2");
		resp.version = 2;
		send_response(fd, &resp);
		return -1;
	}

	res = ht_ctl_admit(body, len, *hello_done, &req, &resp);
	if (res == HT_CTL_RESULT_OK && req.type == HT_CTL_HELLO) {
		*hello_done = true;
	} else if (res == HT_CTL_RESULT_OK && !strcmp(mode, "error")) {
		ht_ctl_response_set(&resp, HT_CTL_RESULT_ERROR, "the peer table is not ready");
	} else if (res == HT_CTL_RESULT_OK && req.type == HT_CTL_STATUS) {
		resp.status = fixed_status;
		if (!strcmp(mode, "empty")) {
			resp.status.provider_id[0] = 0;
			resp.status.peers_up = resp.status.peers_total = 0;
		}
	} else if (res == HT_CTL_RESULT_OK && req.type == HT_CTL_PEERS) {
		if (strcmp(mode, "empty") != 0) {
			resp.n_peers = sizeof(fixed_peers) / sizeof(fixed_peers[0]);
			resp.peers = (ht_ctl_peer *)fixed_peers;
		}
	}
	if (send_response(fd, &resp) != 0)
		return -1;
	return ht_ctl_result_closes(res) ? -1 : 0;
}

static void serve(int fd)
{
	ht_ctl_reader r;
	bool hello_done = false;
	uint8_t buf[4096];
	ht_ctl_reader_init(&r);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		const uint8_t *p = buf;
		size_t left = (size_t)n, used;
		while (left > 0) {
			const uint8_t *body;
			size_t body_len;
			if (ht_ctl_reader_feed(&r, p, left, &used) != HT_OK) {
				ht_ctl_response resp;
				ht_ctl_response_set(&resp, HT_CTL_RESULT_MALFORMED,
						    "frame length over the limit");
				send_response(fd, &resp);
				goto out;
			}
			p += used;
			left -= used;
			if (ht_ctl_reader_frame(&r, &body, &body_len) &&
			    answer(fd, body, body_len, &hello_done) != 0)
				goto out;
		}
	}
out:
	ht_ctl_reader_free(&r);
	close(fd);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = {"ok", "empty", "version", "error", "silent", "garbage"};
	bool known = false;
	if (argc == 3)
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			known |= !strcmp(argv[1], modes[i]);
	if (!known) {
		fprintf(stderr, "usage: ctl_fake_server ok|empty|version|error|silent|garbage "
				"SOCKET\n");
		return 2;
	}
	mode = argv[1];
	signal(SIGPIPE, SIG_IGN);

	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(argv[2]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ctl_fake_server: socket path too long\n");
		return 1;
	}
	strcpy(sa.sun_path, argv[2]);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	/* As the daemon does: never more open than HT_CTL_SOCKET_MODE. */
	mode_t old = umask(0777 & ~HT_CTL_SOCKET_MODE);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die(argv[2]);
	umask(old);
	if (listen(lfd, 8) != 0)
		die("listen");
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			die("accept");
		serve(fd);
	}
}
