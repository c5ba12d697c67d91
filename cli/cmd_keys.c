/* Key and certificate-authority commands: keygen, ca init/sign/revoke. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli.h"
#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/keys.h"
#include "hoptrace/timefmt.h"

static int keys_error(const char *path, int rc)
{
	if (rc == HT_E_IO)
		return fail(EXIT_ERROR, "%s: %s", path, strerror(errno));
	return fail(EXIT_ERROR, "%s: %s", path, ht_strerror(rc));
}

static int gen(int argc, char **argv, ht_key_role role)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *prefix = NULL;
	bool force = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:f", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			prefix = optarg;
			break;
		case 'f':
			force = true;
			break;
		default:
			return usage_error("bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!prefix || !*prefix)
		return usage_error("-o PREFIX is required");

	ht_keys k;
	int rc = ht_keys_generate(&k, role);
	if (rc == HT_OK)
		rc = ht_keys_write(&k, prefix, force);
	ht_keys_wipe(&k);
	if (rc != HT_OK)
		return keys_error(prefix, rc);
	printf("wrote %s.key (secret, mode 0600) and %s.pub\n", prefix, prefix);
	return EXIT_OK;
}

int cmd_keygen(int argc, char **argv)
{
	return gen(argc, argv, HT_KEYS_PROVIDER);
}

int cmd_ca_init(int argc, char **argv)
{
	return gen(argc, argv, HT_KEYS_ANCHOR);
}

/* --ca PREFIX names PREFIX.key; a path already ending in .key is used as is. */
static int load_ca(const char *arg, ht_keys *k)
{
	size_t n = strlen(arg);
	char *path = malloc(n + 5);
	if (!path)
		return fail(EXIT_ERROR, "out of memory");
	memcpy(path, arg, n + 1);
	if (n < 4 || strcmp(arg + n - 4, ".key") != 0)
		memcpy(path + n, ".key", 5);
	int rc = ht_keys_load_secret(path, HT_KEYS_ANCHOR, k);
	int ret = rc == HT_OK ? EXIT_OK : keys_error(path, rc);
	free(path);
	return ret;
}

int cmd_ca_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ca", required_argument, NULL, 'c'},
		{"id", required_argument, NULL, 'i'},
		{"pub", required_argument, NULL, 'p'},
		{"days", required_argument, NULL, 'd'},
		{"role", required_argument, NULL, 'r'},
		{"serial", required_argument, NULL, 's'},
		{"not-before", required_argument, NULL, 'n'},
		{"out", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *ca = NULL, *id = NULL, *pub = NULL, *out = NULL;
	uint64_t days = 0, serial = 0, not_before = ht_time_now();
	uint32_t roles = 0;
	bool force = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:f", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ca = optarg;
			break;
		case 'i':
			id = optarg;
			break;
		case 'p':
			pub = optarg;
			break;
		case 'd':
			if (!parse_u64(optarg, &days) || days < 1 || days > 36500)
				return usage_error("--days must be an integer from 1 to 36500");
			break;
		case 'r': {
			uint32_t r = ht_role_parse(optarg);
			if (!r)
				return usage_error("unknown role '%s' (known: initiator)", optarg);
			roles |= r;
			break;
		}
		case 's':
			if (!parse_u64(optarg, &serial) || serial == 0)
				return usage_error("--serial must be a positive integer");
			break;
		case 'n':
			if (ht_time_parse_arg(optarg, &not_before) != HT_OK)
				return usage_error("--not-before: '%s' is not a time", optarg);
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			force = true;
			break;
		default:
			return usage_error("bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!ca || !id || !pub || !days || !out)
		return usage_error("--ca, --id, --pub, --days and -o are required");
	if (!ht_provider_id_valid(id, strlen(id)))
		return usage_error("'%s': %s", id, ht_strerror(HT_E_BAD_PROVIDER_ID));
	if (serial == 0) {
		/* Random, below 2^53 so that JSON readers keep it exact. */
		do
			randombytes_buf(&serial, sizeof(serial));
		while ((serial &= (1ULL << 53) - 1) == 0);
	}

	ht_keys subject, anchor;
	int rc = ht_keys_load_public(pub, HT_KEYS_PROVIDER, &subject);
	if (rc != HT_OK)
		return keys_error(pub, rc);
	int ret = load_ca(ca, &anchor);
	if (ret != EXIT_OK)
		return ret;

	ht_cert_info info = {0};
	memcpy(info.provider_id, id, strlen(id) + 1);
	memcpy(info.sign_key, subject.sign_pk, HT_SIGN_PK_LEN);
	memcpy(info.noise_key, subject.noise_pk, HT_NOISE_KEY_LEN);
	info.not_before = not_before;
	info.not_after = not_before + days * 86400;
	info.serial = serial;
	info.roles = roles;
	uint8_t *cert;
	size_t len;
	rc = ht_cert_issue(&info, &anchor, &cert, &len);
	ht_keys_wipe(&anchor);
	if (rc != HT_OK)
		return fail(EXIT_ERROR, "cannot issue certificate: %s", ht_strerror(rc));
	ret = write_output(out, cert, len, force);
	free(cert);
	if (ret == EXIT_OK) {
		char nb[HT_TIME_STR_MAX], na[HT_TIME_STR_MAX];
		ht_time_format(info.not_before, nb);
		ht_time_format(info.not_after, na);
		printf("wrote %s: %s, serial %llu, valid %s to %s\n", out, id,
		       (unsigned long long)serial, nb, na);
	}
	return ret;
}

int cmd_ca_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
		{"ca", required_argument, NULL, 'c'},  {"serial", required_argument, NULL, 's'},
		{"crl", required_argument, NULL, 'l'}, {"out", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},     {NULL, 0, NULL, 0},
	};
	const char *ca = NULL, *existing = NULL, *out = NULL;
	uint64_t *serials = NULL;
	size_t n = 0;
	bool force = false;
	int c, ret = EXIT_OK;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":o:f", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			ca = optarg;
			break;
		case 's': {
			uint64_t s;
			if (!parse_u64(optarg, &s) || s == 0) {
				free(serials);
				return usage_error("--serial must be a positive integer");
			}
			uint64_t *ns = realloc(serials, (n + 1) * sizeof(*ns));
			if (!ns) {
				free(serials);
				return fail(EXIT_ERROR, "out of memory");
			}
			serials = ns;
			serials[n++] = s;
			break;
		}
		case 'l':
			existing = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			force = true;
			break;
		default:
			free(serials);
			return usage_error("bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc || !ca || !n || !out) {
		free(serials);
		if (optind != argc)
			return usage_error("unexpected argument '%s'", argv[optind]);
		return usage_error("--ca, --serial and -o are required");
	}

	ht_keys anchor;
	if ((ret = load_ca(ca, &anchor)) != EXIT_OK) {
		free(serials);
		return ret;
	}
	uint64_t number = 1;
	if (existing) {
		uint8_t *buf;
		size_t len;
		ht_crl *old = NULL;
		if ((ret = read_input(existing, HT_CRL_MAX, &buf, &len)) != EXIT_OK)
			goto out;
		int rc = ht_crl_parse(buf, len, &old);
		free(buf);
		if (rc == HT_OK)
			rc = ht_crl_check_signature(old, anchor.sign_pk);
		if (rc != HT_OK) {
			ht_crl_free(old);
			ret = fail(EXIT_ERROR, "%s: not a revocation list of this anchor: %s",
				   existing, ht_strerror(rc));
			goto out;
		}
		const ht_crl_info *oi = ht_crl_get_info(old);
		uint64_t *all = realloc(serials, (n + oi->n_serials) * sizeof(*all));
		if (!all) {
			ht_crl_free(old);
			ret = fail(EXIT_ERROR, "out of memory");
			goto out;
		}
		serials = all;
		memcpy(serials + n, oi->serials, oi->n_serials * sizeof(*all));
		n += oi->n_serials;
		number = oi->number + 1;
		ht_crl_free(old);
		/* Replacing the list being extended is the normal update. */
		if (strcmp(existing, out) == 0)
			force = true;
	}
	uint8_t *crl;
	size_t len;
	int rc = ht_crl_issue(&anchor, number, ht_time_now(), serials, n, &crl, &len);
	if (rc != HT_OK) {
		ret = fail(EXIT_ERROR, "cannot issue revocation list: %s", ht_strerror(rc));
		goto out;
	}
	ret = write_output(out, crl, len, force);
	free(crl);
	if (ret == EXIT_OK)
		printf("wrote %s: revocation list number %llu\n", out, (unsigned long long)number);
out:
	ht_keys_wipe(&anchor);
	free(serials);
	return ret;
}
