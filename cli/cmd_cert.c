/* Certificate and revocation-list inspection: cert show/verify, crl show. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/fileio.h"
#include "hoptrace/keys.h"
#include "hoptrace/timefmt.h"
#include "hoptrace/trust.h"

/* Parses `argc/argv` of the form [--json] FILE. */
static int show_args(int argc, char **argv, bool *json, const char **file)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int c;
	*json = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (c != 'j')
			return usage_error("bad option '%s'", argv[optind - 1]);
		*json = true;
	}
	if (argc - optind != 1)
		return usage_error("exactly one FILE is required");
	*file = argv[optind];
	return EXIT_OK;
}

static int load_cert(const char *path, ht_cert **out)
{
	uint8_t *buf;
	size_t len;
	int ret = read_input(path, HT_CERT_MAX, &buf, &len);
	if (ret != EXIT_OK)
		return ret;
	int rc = ht_cert_parse(buf, len, out);
	free(buf);
	if (rc != HT_OK)
		return fail(EXIT_REJECTED, "%s: not a valid certificate: %s", path,
			    ht_strerror(rc));
	return EXIT_OK;
}

static void show_cert(struct out *o, const ht_cert_info *i)
{
	const char *roles[32];
	size_t nr = 0;
	for (uint32_t bit = 1; bit; bit <<= 1)
		if ((i->roles & bit) && ht_role_name(bit))
			roles[nr++] = ht_role_name(bit);
	out_str(o, "provider_id", i->provider_id);
	out_u64(o, "serial", i->serial);
	out_list(o, "roles", roles, nr);
	out_time(o, "not_before", i->not_before);
	out_time(o, "not_after", i->not_after);
	out_hex(o, "sign_key", i->sign_key, sizeof(i->sign_key));
	out_hex(o, "noise_key", i->noise_key, sizeof(i->noise_key));
	out_hex(o, "issuer", i->issuer, sizeof(i->issuer));
}

int cmd_cert_show(int argc, char **argv)
{
	bool json;
	const char *file = NULL;
	ht_cert *cert;
	int ret = show_args(argc, argv, &json, &file);
	if (ret != EXIT_OK)
		return ret;
	if ((ret = load_cert(file, &cert)) != EXIT_OK)
		return ret;
	struct out *o = out_new(json);
	show_cert(o, ht_cert_get_info(cert));
	ht_cert_free(cert);
	return out_finish(o);
}

int cmd_crl_show(int argc, char **argv)
{
	bool json;
	const char *file = NULL;
	int ret = show_args(argc, argv, &json, &file);
	if (ret != EXIT_OK)
		return ret;
	uint8_t *buf;
	size_t len;
	if ((ret = read_input(file, HT_CRL_MAX, &buf, &len)) != EXIT_OK)
		return ret;
	ht_crl *crl;
	int rc = ht_crl_parse(buf, len, &crl);
	free(buf);
	if (rc != HT_OK)
		return fail(EXIT_REJECTED, "%s: not a valid revocation list: %s", file,
			    ht_strerror(rc));
	const ht_crl_info *i = ht_crl_get_info(crl);
	struct out *o = out_new(json);
	out_u64(o, "number", i->number);
	out_time(o, "issued_at", i->issued_at);
	out_hex(o, "issuer", i->issuer, sizeof(i->issuer));
	out_u64_list(o, "serials", i->serials, i->n_serials);
	ht_crl_free(crl);
	return out_finish(o);
}

/* Why a certificate failed, with the fields that show it. */
/* Role bits as "initiator, ..." in `buf`, or "none". */
static const char *roles_text(uint32_t roles, char buf[HT_TIME_STR_MAX])
{
	buf[0] = 0;
	for (uint32_t bit = 1; bit; bit <<= 1) {
		const char *n = (roles & bit) ? ht_role_name(bit) : NULL;
		if (n && strlen(buf) + strlen(n) + 3 < HT_TIME_STR_MAX) {
			if (buf[0])
				strcat(buf, ", ");
			strcat(buf, n);
		}
	}
	return buf[0] ? buf : "none";
}

static void explain(const char *file, int rc, const ht_cert_info *i, uint64_t at, uint32_t required)
{
	char t1[HT_TIME_STR_MAX], t2[HT_TIME_STR_MAX];
	ht_time_format(at, t2);
	switch (rc) {
	case HT_E_EXPIRED:
		ht_time_format(i->not_after, t1);
		fail(EXIT_REJECTED,
		     "%s: verification failed: expired (not after %s, checked at %s)", file, t1,
		     t2);
		break;
	case HT_E_NOT_YET_VALID:
		ht_time_format(i->not_before, t1);
		fail(EXIT_REJECTED,
		     "%s: verification failed: not yet valid (not before %s, checked at %s)", file,
		     t1, t2);
		break;
	case HT_E_REVOKED:
		fail(EXIT_REJECTED, "%s: verification failed: revoked (serial %llu is on the list)",
		     file, (unsigned long long)i->serial);
		break;
	case HT_E_BAD_SIGNATURE:
		fail(EXIT_REJECTED,
		     "%s: verification failed: tampered (the anchor's signature does not verify)",
		     file);
		break;
	case HT_E_UNKNOWN_ANCHOR:
		fail(EXIT_REJECTED,
		     "%s: verification failed: wrong anchor (issued by %02x%02x%02x%02x..., "
		     "not a given anchor)",
		     file, i->issuer[0], i->issuer[1], i->issuer[2], i->issuer[3]);
		break;
	case HT_E_MISSING_ROLE:
		fail(EXIT_REJECTED,
		     "%s: verification failed: missing role (required: %s; the certificate has: "
		     "%s)",
		     file, roles_text(required, t1), roles_text(i->roles, t2));
		break;
	default:
		fail(EXIT_REJECTED, "%s: verification failed: %s", file, ht_strerror(rc));
	}
}

int cmd_cert_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"anchor", required_argument, NULL, 'a'}, {"crl", required_argument, NULL, 'l'},
		{"at", required_argument, NULL, 't'},     {"role", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},         {NULL, 0, NULL, 0},
	};
	const char *crl_path = NULL;
	uint64_t at = ht_time_now();
	uint32_t roles = 0;
	bool json = false;
	ht_trust *trust;
	ht_cert *cert = NULL;
	int c, rc, ret = EXIT_OK, anchors = 0;

	if (ht_trust_new(&trust) != HT_OK)
		return fail(EXIT_ERROR, "out of memory");
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if ((ret = trust_add_anchor_file(trust, optarg)) != EXIT_OK)
				goto out;
			anchors++;
			break;
		case 'l':
			crl_path = optarg;
			break;
		case 't':
			if (ht_time_parse_arg(optarg, &at) != HT_OK) {
				ret = usage_error("--at: '%s' is not a time", optarg);
				goto out;
			}
			break;
		case 'r': {
			uint32_t r = ht_role_parse(optarg);
			if (!r) {
				ret = usage_error("unknown role '%s' (known: initiator)", optarg);
				goto out;
			}
			roles |= r;
			break;
		}
		case 'j':
			json = true;
			break;
		default:
			ret = usage_error("bad option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (argc - optind != 1 || anchors == 0) {
		ret = usage_error(anchors ? "exactly one FILE is required"
					  : "at least one --anchor is required");
		goto out;
	}
	const char *file = argv[optind];

	if (crl_path && (ret = trust_add_crl_file(trust, crl_path)) != EXIT_OK)
		goto out;
	if ((ret = load_cert(file, &cert)) != EXIT_OK)
		goto out;
	const ht_cert_info *i = ht_cert_get_info(cert);
	rc = ht_trust_verify_cert(trust, cert, at, roles);
	if (json) {
		struct out *o = out_new(true);
		out_bool(o, "valid", rc == HT_OK);
		if (rc != HT_OK) {
			out_str(o, "error", ht_errname(rc));
			out_str(o, "reason", ht_strerror(rc));
		}
		out_time(o, "checked_at", at);
		show_cert(o, i);
		ret = out_finish(o);
		if (rc != HT_OK)
			ret = EXIT_REJECTED;
		goto out;
	}
	if (rc != HT_OK) {
		explain(file, rc, i, at, roles);
		ret = EXIT_REJECTED;
		goto out;
	}
	char na[HT_TIME_STR_MAX];
	ht_time_format(i->not_after, na);
	printf("%s: OK: %s, serial %llu, valid until %s\n", file, i->provider_id,
	       (unsigned long long)i->serial, na);
out:
	ht_cert_free(cert);
	ht_trust_free(trust);
	return ret;
}
