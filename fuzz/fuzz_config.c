/*
 * hoptraced's configuration file (hd_config_parse, daemon/config.h). A file
 * that is refused must say why in a message starting with its path. One that
 * is accepted must obey the documented rules, and its normalised form
 * (hd_config_print, as `hoptraced -n` shows it) must parse again and print
 * the same text: the round trip.
 *
 * This harness found that file names made absolute could outgrow a printed
 * line, and that libinih joined indented lines to the previous value; the
 * parser now refuses the first and turns the second off (corpus:
 * known_long_absolute_path, known_continuation_comment).
 */
#include "fuzz.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "config.h"
#include "hoptrace/cert.h"

#define CONF_DIR  "/fuzz/dir"
#define CONF_PATH CONF_DIR "/hoptraced.conf"

static void check_refused(const struct hd_config *c, const char *err)
{
	size_t pl = strlen(CONF_PATH);
	FUZZ_CHECK(err[0] != '\0');
	FUZZ_CHECK(strncmp(err, CONF_PATH, pl) == 0 && err[pl] == ':');
	/* hd_config_parse frees what it built. */
	FUZZ_CHECK(c->path == NULL && c->key_path == NULL && c->peers == NULL);
}

static void check_path(const char *p)
{
	FUZZ_CHECK(p != NULL && p[0] == '/');
}

static void check_addr(const char *a)
{
	char host[HD_ADDR_MAX];
	uint16_t port;
	uint8_t bin[16];
	FUZZ_CHECK(memchr(a, '\0', HD_ADDR_MAX) != NULL);
	FUZZ_CHECK(hd_addr_split(a, host, &port) == 0 && port != 0 && host[0] != '\0');
	/* Numeric only, an IPv6 one in brackets. */
	if (a[0] == '[')
		FUZZ_CHECK(inet_pton(AF_INET6, host, bin) == 1 ||
			   inet_pton(AF_INET, host, bin) == 1);
	else
		FUZZ_CHECK(inet_pton(AF_INET, host, bin) == 1);
}

/* The rules config.h and the example file promise for an accepted file. */
static void check_accepted(const struct hd_config *c)
{
	FUZZ_CHECK(c->path && strcmp(c->path, CONF_PATH) == 0);
	FUZZ_CHECK(ht_provider_id_valid(c->provider_id, strlen(c->provider_id)));
	check_path(c->key_path);
	check_path(c->cert_path);
	FUZZ_CHECK(c->n_anchors >= 1 && c->n_anchors <= HD_MAX_ANCHORS);
	for (size_t i = 0; i < c->n_anchors; i++)
		check_path(c->anchors[i]);
	if (c->crl_path)
		check_path(c->crl_path);
	FUZZ_CHECK(c->n_listen <= HD_MAX_LISTEN);
	for (size_t i = 0; i < c->n_listen; i++)
		check_addr(c->listen[i]);
	check_path(c->control_socket);
	check_path(c->state_dir);
	FUZZ_CHECK(strcmp(c->log_level, "error") == 0 || strcmp(c->log_level, "warn") == 0 ||
		   strcmp(c->log_level, "info") == 0 || strcmp(c->log_level, "debug") == 0);
	const struct hd_policy *p = &c->policy;
	FUZZ_CHECK(p->handshake_timeout_ms >= 100 && p->keepalive_ms >= 100);
	FUZZ_CHECK(p->backoff_min_ms >= 10 && p->backoff_min_ms <= p->backoff_max_ms);
	FUZZ_CHECK(p->dead_peer_ms > p->keepalive_ms);
	FUZZ_CHECK(p->send_queue_max >= 1);
	FUZZ_CHECK(c->n_peers <= HD_MAX_PEERS && (c->n_peers == 0) == (c->peers == NULL));
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct hd_peer_cfg *peer = &c->peers[i];
		FUZZ_CHECK(ht_provider_id_valid(peer->id, strlen(peer->id)));
		FUZZ_CHECK(strcmp(peer->id, c->provider_id) != 0);
		FUZZ_CHECK(hd_config_peer(c, peer->id) == peer); /* IDs are unique */
		if (peer->address[0])
			check_addr(peer->address);
	}
	FUZZ_CHECK(hd_config_peer(c, c->provider_id) == NULL);
}

/* The longest line of `text`, without its newline. */
static size_t longest_line(const char *text)
{
	size_t longest = 0;
	while (*text) {
		size_t n = strcspn(text, "\n");
		if (n > longest)
			longest = n;
		text += n + (text[n] == '\n');
	}
	return longest;
}

/* hd_config_print into a malloc'd string. */
static char *print(const struct hd_config *c, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);
	if (!f)
		fuzz_fail("fuzz_config: open_memstream failed");
	hd_config_print(c, f);
	if (fclose(f) != 0 || !text)
		fuzz_fail("fuzz_config: printing failed");
	return text;
}

/* Parses a printed form, which must be taken, and returns its print. */
static char *reprint(const char *text, size_t len, size_t *out_len)
{
	struct hd_config c;
	char err[512];
	err[0] = '\0';
	if (hd_config_parse(CONF_PATH, text, len, &c, err, sizeof(err)) != 0) {
		check_refused(&c, err);
		fprintf(stderr, "fuzz_config: the printed form is refused: %s\n%s", err, text);
		fuzz_fail("fuzz_config: round trip failed");
	}
	check_accepted(&c);
	char *out = print(&c, out_len);
	hd_config_free(&c);
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();

	struct hd_config c;
	char err[512];
	err[0] = '\0';
	if (hd_config_parse(CONF_PATH, (const char *)data, size, &c, err, sizeof(err)) != 0) {
		check_refused(&c, err);
		return 0;
	}
	check_accepted(&c);
	size_t len, len2;
	char *text = print(&c, &len);
	hd_config_free(&c);
	FUZZ_CHECK(strlen(text) == len);
	FUZZ_CHECK(longest_line(text) <= HD_CONFIG_MAX_LINE); /* printable means parsable */

	char *text2 = reprint(text, len, &len2);
	if (len2 != len || memcmp(text, text2, len) != 0) {
		fprintf(stderr, "fuzz_config: printed\n%s\nthen\n%s", text, text2);
		fuzz_fail("fuzz_config: round trip printed another text");
	}
	free(text);
	free(text2);
	return 0;
}
