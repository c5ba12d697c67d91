/*
 * The control-socket client shared by every command that talks to the
 * running daemon (status, peers, cdr, audit): connect, hello, one request at
 * a time, each wait bounded by a deadline (spec/control.md). Plain blocking
 * POSIX socket I/O; the CLI does not use libuv.
 */
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hoptrace/control.h"

/* --- the client ----------------------------------------------------------- */

struct ctl_client {
	int fd;
	const char *path;
	uint64_t deadline; /* CLOCK_MONOTONIC, ms */
	ht_ctl_reader rd;
	uint8_t buf[16384]; /* received, not yet fed to rd: buf[off..len) */
	size_t off, len;
	/* Received while a send waited (pipelining): early[early_off..early_len),
	 * before anything in buf. */
	uint8_t *early;
	size_t early_off, early_len, early_cap;
};

uint64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int remaining(const struct ctl_client *c)
{
	uint64_t now = clock_ms(CLOCK_MONOTONIC);
	return now >= c->deadline ? 0 : (int)(c->deadline - now);
}

/* Waits for `events` on the socket; false on timeout (errno = ETIMEDOUT). */
static bool wait_for(struct ctl_client *c, short events)
{
	struct pollfd p = {.fd = c->fd, .events = events};
	for (;;) {
		int n = poll(&p, 1, remaining(c));
		if (n > 0)
			return true;
		if (n == 0) {
			errno = ETIMEDOUT;
			return false;
		}
		if (errno != EINTR)
			return false;
	}
}

const char *ctl_socket_path(const char *opt)
{
	const char *env = getenv(HT_CTL_SOCKET_ENV);
	if (opt)
		return opt;
	return env && *env ? env : HT_CTL_SOCKET_DEFAULT;
}

static int no_daemon(const struct ctl_client *c, int err)
{
	return fail(EXIT_ERROR, "cannot connect to %s: %s (is hoptraced running?)", c->path,
		    strerror(err));
}

static int do_connect(struct ctl_client *c)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof(sa.sun_path))
		return fail(EXIT_ERROR, "%s: socket path too long (at most %zu bytes)", c->path,
			    sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return fail(EXIT_ERROR, "socket: %s", strerror(errno));
	int fl = fcntl(c->fd, F_GETFL);
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return fail(EXIT_ERROR, "fcntl: %s", strerror(errno));
	for (;;) {
		if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return EXIT_OK;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN) {
			/* Linux: the listen queue is full. Try again shortly. */
			if (remaining(c) == 0)
				return no_daemon(c, ETIMEDOUT);
			poll(NULL, 0, 50);
			continue;
		}
		if (errno != EINPROGRESS)
			return no_daemon(c, errno);
		break;
	}
	int err = 0;
	socklen_t len = sizeof(err);
	if (!wait_for(c, POLLOUT))
		return no_daemon(c, errno);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	return err ? no_daemon(c, err) : EXIT_OK;
}

/* Keeps what the daemon sent while we were sending; 0 at its end. */
static ssize_t read_early(struct ctl_client *c)
{
	if (c->early_off > 0) {
		memmove(c->early, c->early + c->early_off, c->early_len - c->early_off);
		c->early_len -= c->early_off;
		c->early_off = 0;
	}
	if (c->early_cap - c->early_len < 65536) {
		size_t nc = c->early_cap ? 2 * c->early_cap : 262144;
		uint8_t *nb = realloc(c->early, nc);
		if (!nb)
			return -1;
		c->early = nb;
		c->early_cap = nc;
	}
	ssize_t n = recv(c->fd, c->early + c->early_len, c->early_cap - c->early_len, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 1;
	if (n > 0)
		c->early_len += (size_t)n;
	return n;
}

/*
 * Sends all of `p`. While the socket is full, what the daemon sends is read
 * and kept: a pipelining client that stopped reading until its send is done
 * could wait for a daemon that waits for it to read.
 */
static int send_all(struct ctl_client *c, const uint8_t *p, size_t n)
{
	bool reading = true;
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pf = {.fd = c->fd,
					    .events = POLLOUT | (reading ? POLLIN : 0)};
			int k = poll(&pf, 1, remaining(c));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return fail(EXIT_ERROR, "%s: sending to hoptraced: %s", c->path,
					    k == 0 ? strerror(ETIMEDOUT) : strerror(errno));
			if (reading && (pf.revents & (POLLIN | POLLHUP))) {
				ssize_t r = read_early(c);
				if (r < 0)
					return fail(EXIT_ERROR, "%s: receiving from hoptraced: %s",
						    c->path, strerror(errno));
				reading = r > 0; /* at its end: the send fails next */
			}
			continue;
		}
		return fail(EXIT_ERROR, "%s: sending to hoptraced: %s", c->path,
			    w < 0 ? strerror(errno) : "nothing sent");
	}
	return EXIT_OK;
}

static int send_request(struct ctl_client *c, const ht_ctl_request *req)
{
	uint8_t *body, *frame;
	size_t body_len, frame_len;
	int rc = ht_ctl_encode_request(req, &body, &body_len);
	if (rc != HT_OK)
		return fail(EXIT_ERROR, "encoding the request: %s", ht_strerror(rc));
	rc = ht_ctl_frame(body, body_len, &frame, &frame_len);
	free(body);
	if (rc != HT_OK)
		return fail(EXIT_ERROR, "encoding the request: %s", ht_strerror(rc));
	int ret = send_all(c, frame, frame_len);
	free(frame);
	return ret;
}

/* Reads one frame and decodes it as a response into `resp`. */
static int recv_response(struct ctl_client *c, int timeout_s, ht_ctl_response *resp)
{
	for (;;) {
		while (c->off < c->len) {
			const uint8_t *body;
			size_t body_len, used;
			int rc =
				ht_ctl_reader_feed(&c->rd, c->buf + c->off, c->len - c->off, &used);
			if (rc != HT_OK)
				return fail(EXIT_ERROR, "%s: bad response from hoptraced: %s",
					    c->path, ht_strerror(rc));
			c->off += used;
			if (!ht_ctl_reader_frame(&c->rd, &body, &body_len))
				continue;
			rc = ht_ctl_decode_response(body, body_len, resp);
			if (rc != HT_OK)
				return fail(EXIT_ERROR, "%s: bad response from hoptraced: %s",
					    c->path, ht_strerror(rc));
			return EXIT_OK;
		}
		if (c->early_off < c->early_len) {
			/* What came while sending, first. */
			size_t k = c->early_len - c->early_off;
			k = k < sizeof(c->buf) ? k : sizeof(c->buf);
			memcpy(c->buf, c->early + c->early_off, k);
			c->early_off += k;
			if (c->early_off == c->early_len)
				c->early_off = c->early_len = 0;
			c->off = 0;
			c->len = k;
			continue;
		}
		if (!wait_for(c, POLLIN)) {
			if (errno == ETIMEDOUT)
				return fail(EXIT_ERROR, "%s: no answer from hoptraced within %d s",
					    c->path, timeout_s);
			return fail(EXIT_ERROR, "%s: poll: %s", c->path, strerror(errno));
		}
		ssize_t n = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0)
			return fail(EXIT_ERROR, "%s: receiving from hoptraced: %s", c->path,
				    strerror(errno));
		if (n == 0)
			return fail(EXIT_ERROR, "%s: hoptraced closed the connection%s", c->path,
				    ht_ctl_reader_partial(&c->rd) ? " in the middle of a response"
								  : " without answering");
		c->off = 0;
		c->len = (size_t)n;
	}
}

/* Reads the next response, to a request of type `type`, by the deadline set. */
static int recv_checked(struct ctl_client *c, int type, int timeout_ms, ht_ctl_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	int ret = recv_response(c, (timeout_ms + 999) / 1000, resp);
	if (ret != EXIT_OK)
		return ret;
	if (resp->result == HT_CTL_RESULT_UNSUPPORTED_VERSION || resp->version != HT_CTL_VERSION)
		ret = fail(EXIT_ERROR,
			   "%s: hoptraced speaks control protocol version %lu, this hoptrace "
			   "speaks version %d%s%s",
			   c->path, (unsigned long)resp->version, HT_CTL_VERSION,
			   resp->detail[0] ? ": " : "", resp->detail);
	else if (resp->result == HT_CTL_RESULT_UNKNOWN_REQUEST)
		ret = fail(EXIT_ERROR,
			   "%s: hoptraced does not know the %s request (is it older than this "
			   "hoptrace?)%s%s",
			   c->path, ht_ctl_type_name((ht_ctl_type)type),
			   resp->detail[0] ? ": " : "", resp->detail);
	else if (resp->result != HT_CTL_RESULT_OK)
		ret = fail(EXIT_ERROR, "%s: hoptraced refused the %s request: %s%s%s", c->path,
			   ht_ctl_type_name((ht_ctl_type)type), ht_ctl_result_name(resp->result),
			   resp->detail[0] ? ": " : "", resp->detail);
	else if ((int)resp->type != type)
		ret = fail(EXIT_ERROR, "%s: hoptraced answered a %s request with %s", c->path,
			   ht_ctl_type_name((ht_ctl_type)type), ht_ctl_type_name(resp->type));
	if (ret != EXIT_OK)
		ht_ctl_response_clear(resp);
	return ret;
}

int ctl_client_call(struct ctl_client *c, const ht_ctl_request *req, int timeout_ms,
		    ht_ctl_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	c->deadline = clock_ms(CLOCK_MONOTONIC) + (uint64_t)timeout_ms;
	int ret = send_request(c, req);
	return ret == EXIT_OK ? recv_checked(c, req->type, timeout_ms, resp) : ret;
}

int ctl_client_send(struct ctl_client *c, const ht_ctl_request *req, int timeout_ms)
{
	c->deadline = clock_ms(CLOCK_MONOTONIC) + (uint64_t)timeout_ms;
	return send_request(c, req);
}

bool ctl_client_readable(struct ctl_client *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	return c->off < c->len || c->early_off < c->early_len || poll(&p, 1, 0) > 0;
}

int ctl_client_recv(struct ctl_client *c, int type, int timeout_ms, ht_ctl_response *resp)
{
	c->deadline = clock_ms(CLOCK_MONOTONIC) + (uint64_t)timeout_ms;
	return recv_checked(c, type, timeout_ms, resp);
}

void ctl_client_close(struct ctl_client *c)
{
	if (!c)
		return;
	ht_ctl_reader_free(&c->rd);
	if (c->fd >= 0)
		close(c->fd);
	free(c->early);
	free(c);
}

int ctl_client_open(const char *path, struct ctl_client **out)
{
	struct ctl_client *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c)
		return fail(EXIT_ERROR, "out of memory");
	c->fd = -1;
	c->path = path;
	ht_ctl_reader_init(&c->rd);
	c->deadline = clock_ms(CLOCK_MONOTONIC) + CTL_CONNECT_TIMEOUT_MS;
	int ret = do_connect(c);
	if (ret == EXIT_OK) {
		ht_ctl_request hello = {.version = HT_CTL_VERSION, .type = HT_CTL_HELLO};
		ht_ctl_response resp;
		ret = ctl_client_call(c, &hello, remaining(c), &resp);
		ht_ctl_response_clear(&resp);
	}
	if (ret != EXIT_OK) {
		ctl_client_close(c);
		return ret;
	}
	*out = c;
	return EXIT_OK;
}

const char *ctl_client_path(const struct ctl_client *c)
{
	return c->path;
}

int ctl_simple_opts(int argc, char **argv, const char **sock, bool *json)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	*sock = NULL;
	*json = false;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":s:", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			*sock = optarg;
			break;
		case 'j':
			*json = true;
			break;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	*sock = ctl_socket_path(*sock);
	if (!**sock)
		return usage_error("the socket path is empty");
	return EXIT_OK;
}

int ctl_one_call(const char *sock, const ht_ctl_request *req, ht_ctl_response *resp)
{
	struct ctl_client *c;
	memset(resp, 0, sizeof(*resp));
	int ret = ctl_client_open(sock, &c);
	if (ret == EXIT_OK)
		ret = ctl_client_call(c, req, CTL_REPLY_TIMEOUT_MS, resp);
	ctl_client_close(c);
	return ret;
}
