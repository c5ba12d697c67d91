/*
 * A misbehaving client for the integration tests: connects to a daemon's
 * peer port, sends one kind of bad input, and reports whether and when the
 * daemon closed the connection.
 *
 * usage: ht_probe HOST PORT garbage|oversized|silent SECONDS
 *        ht_probe /UNIX/SOCKET - garbage|oversized|silent SECONDS
 *   garbage    text that is not a HopTrace preamble
 *   oversized  a valid preamble, then a frame announcing 65535 octets that
 *              never arrive in full
 *   silent     nothing at all
 * Prints "closed after N ms" or "still open after N ms"; exits 0 unless the
 * probe itself failed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: ht_probe HOST PORT garbage|oversized|silent SECONDS\n");
		return 2;
	}
	int fd;
	if (argv[1][0] == '/') { /* a Unix socket: the control socket */
		struct sockaddr_un su = {.sun_family = AF_UNIX};
		snprintf(su.sun_path, sizeof(su.sun_path), "%s", argv[1]);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&su, sizeof(su)) != 0) {
			perror("connect");
			return 1;
		}
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_port = htons((uint16_t)atoi(argv[2]))};
		if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1)
			return 2;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			perror("connect");
			return 1;
		}
	}
	long long t0 = now_ms();
	uint8_t buf[8 + 2 + 100];
	size_t len = 0;
	if (strcmp(argv[3], "garbage") == 0) {
		memcpy(buf, "this is not a hoptrace peer\n", 28);
		len = 28;
	} else if (strcmp(argv[3], "oversized") == 0) {
		memcpy(buf, "HOPTRC\0\1", 8);
		buf[8] = 0xff;
		buf[9] = 0xff;
		memset(buf + 10, 0x41, 100);
		len = sizeof(buf);
	} else if (strcmp(argv[3], "silent") != 0) {
		return 2;
	}
	if (len && write(fd, buf, len) != (ssize_t)len) {
		perror("write");
		return 1;
	}
	long long limit = atoi(argv[4]) * 1000LL;
	for (;;) {
		long long left = limit - (now_ms() - t0);
		if (left <= 0) {
			printf("still open after %lld ms\n", now_ms() - t0);
			return 0;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)left) > 0) {
			char tmp[4096];
			ssize_t r = read(fd, tmp, sizeof(tmp));
			if (r <= 0) {
				printf("closed after %lld ms\n", now_ms() - t0);
				return 0;
			}
			/* The daemon's preamble and handshake bytes: keep reading. */
		}
	}
}
