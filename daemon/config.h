/*
 * hoptraced's configuration: an INI file parsed by libinih, checked strictly
 * (unknown sections and keys, bad values and missing keys are errors naming
 * file:line), and printed back in a normalised form (`hoptraced -n`).
 */
#ifndef HD_CONFIG_H
#define HD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hoptrace/cert.h"

#define HD_CONFIG_MAX_BYTES (1 << 20)
#define HD_CONFIG_MAX_LINE  190 /* libinih's line buffer is 200 bytes */
/* Longest file name once made absolute, so that `-n` output parses again. */
#define HD_CONFIG_MAX_PATH   170
#define HD_STR_(x)           #x
#define HD_STR(x)            HD_STR_(x)
#define HD_MAX_PEERS         1024
#define HD_MAX_LISTEN        8
#define HD_MAX_ANCHORS       16
#define HD_ADDR_MAX          64 /* "host:port", IPv6 in brackets */
#define HD_DEFAULT_SOCKET    "/run/hoptrace/hoptraced.sock"
#define HD_DEFAULT_STATE_DIR "/var/lib/hoptrace"

struct hd_peer_cfg {
	char id[HT_PROVIDER_ID_MAX + 1];
	char address[HD_ADDR_MAX]; /* empty: the peer dials us, we never dial it */
};

#define HD_TRUNK_NAME_MAX 64
#define HD_MAX_TRUNKS     65536

/* [trunks]: a trunk-group name of the CDR exports and what it faces. */
struct hd_trunk_cfg {
	char name[HD_TRUNK_NAME_MAX + 1];
	bool local;                               /* this carrier's own customers */
	char provider_id[HT_PROVIDER_ID_MAX + 1]; /* else: the carrier it faces */
};

#define HD_MAX_INITIATORS 64

/* [policy] disclose_customer: what a FOUND answer says about our own customer. */
enum hd_disclose {
	HD_DISCLOSE_OPAQUE = 0, /* keyed hash of the reference: stable, not reversible */
	HD_DISCLOSE_REFERENCE,  /* the reference as stored */
	HD_DISCLOSE_NONE,       /* nothing */
};

const char *hd_disclose_name(enum hd_disclose v);

struct hd_policy {
	uint32_t handshake_timeout_ms;
	uint32_t keepalive_ms;
	uint32_t dead_peer_ms;
	uint32_t backoff_min_ms;
	uint32_t backoff_max_ms;
	uint32_t send_queue_max; /* messages queued per peer before backpressure */
	/* Traceback requests: a token bucket per peer. */
	uint32_t requests_per_second;
	uint32_t burst;
	/* Providers whose traces this daemon answers; none = any certified initiator. */
	char (*initiators)[HT_PROVIDER_ID_MAX + 1];
	size_t n_initiators;
	enum hd_disclose disclose_customer;
};

/* [trace]: what this daemon puts in the requests it starts. */
struct hd_trace_cfg {
	uint32_t hop_limit;    /* 1..32 */
	uint32_t lifetime_s;   /* request expiry after creation, 1..3600 */
	uint32_t tolerance_ms; /* default matching window, 0..300000 */
	uint32_t hint_bits;    /* 0..16 */
};

struct hd_config {
	char *path; /* the file it was read from */
	char provider_id[HT_PROVIDER_ID_MAX + 1];
	char *key_path;
	char *cert_path;
	char *anchors[HD_MAX_ANCHORS];
	size_t n_anchors;
	char *crl_path; /* NULL: none */
	char listen[HD_MAX_LISTEN][HD_ADDR_MAX];
	size_t n_listen;
	char *control_socket;
	char *state_dir;
	char *log_level; /* error, warn, info, debug */
	struct hd_policy policy;
	struct hd_peer_cfg *peers;
	size_t n_peers;
	uint32_t retention_days; /* [store] */
	char country_code[4];    /* [store] for national numbers; "" = none */
	struct hd_trunk_cfg *trunks;
	size_t n_trunks;
	struct hd_trace_cfg trace;
};

/*
 * Parses the configuration text `text` (`len` bytes, from `path`, whose
 * folder anchors relative file names). On failure returns -1 and writes
 * "path:line: problem" (or "path: problem") into `err`.
 */
int hd_config_parse(const char *path, const char *text, size_t len, struct hd_config *out,
		    char *err, size_t errlen);

/* Reads and parses the file at `path`, as hd_config_parse. */
int hd_config_load(const char *path, struct hd_config *out, char *err, size_t errlen);

/* Prints `c` normalised: every key, defaults filled in, absolute paths. */
void hd_config_print(const struct hd_config *c, FILE *f);

/* Looks up a trunk group by name (`len` bytes); NULL if not mapped. */
const struct hd_trunk_cfg *hd_config_trunk(const struct hd_config *c, const char *name, size_t len);

/* Whether [policy] initiators lets `id` start traces here (an empty list: anyone). */
bool hd_config_initiator_allowed(const struct hd_config *c, const char *id);

/* Looks up a configured peer by provider ID; NULL if not configured. */
const struct hd_peer_cfg *hd_config_peer(const struct hd_config *c, const char *id);

/*
 * Splits "host:port" or "[v6]:port" into `host` (at least HD_ADDR_MAX bytes)
 * and `port`; -1 when malformed. Configured addresses must also be numeric
 * (no name resolution: a daemon should not depend on DNS to reach peers).
 */
int hd_addr_split(const char *addr, char *host, uint16_t *port);

void hd_config_free(struct hd_config *c);

#endif
