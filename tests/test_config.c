/*
 * hoptraced's configuration: parse, print, parse again (the round trip), and
 * every error naming file:line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static const char good[] = "; a comment\n"
			   "[identity]\n"
			   "provider_id = TERM-CO\n"
			   "key = keys/term.key\n"
			   "certificate = /etc/hoptrace/term.cert\n"
			   "[trust]\n"
			   "anchor = anchor.pub\n"
			   "anchor = anchor2.pub\n"
			   "revocation_list = anchor.crl\n"
			   "[listen]\n"
			   "address = 127.0.0.1:7400\n"
			   "address = [::1]:7400\n"
			   "[control]\n"
			   "socket = ctl.sock\n"
			   "[policy]\n"
			   "keepalive_ms = 2000\n"
			   "initiators = TERM-CO  CONSORTIUM\n"
			   "disclose_customer = reference\n"
			   "[trace]\n"
			   "hop_limit = 8\n"
			   "[peer TRANSIT-1]\n"
			   "address = 192.0.2.1:7400\n"
			   "[peer ORIG-TEL]\n"
			   "address =\n";

static char *print_config(const struct hd_config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	hd_config_print(c, f);
	fclose(f);
	return buf;
}

static void test_parse_good(void **state)
{
	(void)state;
	struct hd_config c;
	char err[256] = "";
	assert_int_equal(
		hd_config_parse("/etc/hoptrace/h.conf", good, strlen(good), &c, err, sizeof(err)),
		0);
	assert_string_equal(c.provider_id, "TERM-CO");
	assert_string_equal(c.key_path, "/etc/hoptrace/keys/term.key");
	assert_string_equal(c.cert_path, "/etc/hoptrace/term.cert");
	assert_int_equal(c.n_anchors, 2);
	assert_string_equal(c.anchors[1], "/etc/hoptrace/anchor2.pub");
	assert_string_equal(c.crl_path, "/etc/hoptrace/anchor.crl");
	assert_int_equal(c.n_listen, 2);
	assert_string_equal(c.listen[1], "[::1]:7400");
	assert_string_equal(c.control_socket, "/etc/hoptrace/ctl.sock");
	assert_string_equal(c.state_dir, HD_DEFAULT_STATE_DIR);
	assert_int_equal(c.policy.keepalive_ms, 2000);
	assert_int_equal(c.policy.handshake_timeout_ms, 5000); /* default */
	assert_int_equal(c.policy.n_initiators, 2);
	assert_string_equal(c.policy.initiators[1], "CONSORTIUM");
	assert_int_equal(c.policy.disclose_customer, HD_DISCLOSE_REFERENCE);
	assert_int_equal(c.trace.hop_limit, 8);
	assert_int_equal(c.trace.lifetime_s, 60); /* default */
	assert_int_equal(c.n_peers, 2);
	assert_non_null(hd_config_peer(&c, "ORIG-TEL"));
	assert_string_equal(hd_config_peer(&c, "ORIG-TEL")->address, "");
	assert_string_equal(hd_config_peer(&c, "TRANSIT-1")->address, "192.0.2.1:7400");
	assert_null(hd_config_peer(&c, "NOBODY"));
	hd_config_free(&c);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct hd_config a, b;
	char err[256];
	assert_int_equal(hd_config_parse("/x/h.conf", good, strlen(good), &a, err, sizeof(err)), 0);
	char *p1 = print_config(&a);
	assert_int_equal(hd_config_parse("/x/h.conf", p1, strlen(p1), &b, err, sizeof(err)), 0);
	char *p2 = print_config(&b);
	assert_string_equal(p1, p2);
	free(p1);
	free(p2);
	hd_config_free(&a);
	hd_config_free(&b);
}

/* Parses `text` and requires failure with an error containing `want`. */
static void bad(const char *text, const char *want)
{
	struct hd_config c;
	char err[256] = "";
	if (hd_config_parse("/etc/h.conf", text, strlen(text), &c, err, sizeof(err)) == 0) {
		hd_config_free(&c);
		fail_msg("accepted: %s", text);
	}
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

#define ID "[identity]\nprovider_id = A\nkey = k\ncertificate = c\n[trust]\nanchor = a\n"

static void test_errors_name_lines(void **state)
{
	(void)state;
	bad(ID "[listen]\naddress = nowhere\n", "/etc/h.conf:8: 'nowhere' is not an address");
	bad(ID "[listen]\naddress = 1.2.3.4:0\n", "/etc/h.conf:8:");
	bad(ID "[listen]\naddress = 1.2.3.4:65536\n", "/etc/h.conf:8:");
	bad(ID "[listen]\naddress = ::1:7400\n", "/etc/h.conf:8:");
	bad(ID "[listen]\naddress = localhost:7400\n", "/etc/h.conf:8: 'localhost:7400'");
	bad(ID "[listen]\naddress = [fe80::zz]:7400\n", "/etc/h.conf:8:");
	bad(ID "[bogus]\nkey = 1\n", "/etc/h.conf:8: unknown key 'key' in [bogus]");
	bad(ID "[identity]\ncolour = blue\n", "/etc/h.conf:8: unknown key 'colour'");
	bad(ID "[policy]\nkeepalive_ms = soon\n", "/etc/h.conf:8: keepalive_ms must be an integer");
	bad(ID "[policy]\nkeepalive_ms = -5\n", "/etc/h.conf:8:");
	bad(ID "[policy]\nkeepalive_ms = 99999999999\n", "/etc/h.conf:8:");
	bad(ID "[policy]\nwarp = 9\n", "/etc/h.conf:8: unknown key 'warp' in [policy]");
	bad(ID "[identity]\nkey = again\n", "/etc/h.conf:8: [identity] key given twice");
	bad(ID "[peer B]\naddress = 1.2.3.4:5\n[peer B]\naddress = 1.2.3.4:6\n",
	    "/etc/h.conf:10: [peer B] given twice");
	bad(ID "[peer bad id]\naddress = 1.2.3.4:5\n", "/etc/h.conf:8: [peer bad id]");
	bad(ID "[peer B]\nport = 5\n", "/etc/h.conf:8: unknown key 'port' in [peer B]");
	bad(ID "[peer A]\naddress = 1.2.3.4:5\n", "own provider ID");
	bad(ID "[log]\nlevel = loud\n", "/etc/h.conf:8: log level");
	bad(ID "this line has no equals sign\n", "/etc/h.conf:7: syntax error");
	bad("[identity]\nprovider_id = bad id\n", "/etc/h.conf:2: provider_id 'bad id'");
}

static void test_errors_whole_file(void **state)
{
	(void)state;
	bad("[identity]\nkey = k\ncertificate = c\n[trust]\nanchor = a\n",
	    "/etc/h.conf: [identity] provider_id is required");
	bad("[identity]\nprovider_id = A\nkey = k\ncertificate = c\n",
	    "/etc/h.conf: [trust] anchor is required");
	bad(ID "[policy]\nbackoff_min_ms = 900\nbackoff_max_ms = 800\n", "backoff_min_ms exceeds");
	bad(ID "[policy]\nkeepalive_ms = 900\ndead_peer_ms = 800\n", "dead_peer_ms must exceed");
}

static void test_errors_bytes(void **state)
{
	(void)state;
	char text[512];
	snprintf(text, sizeof(text), ID "[listen]\naddress = 1.2.3.4:5%0200d\n", 0);
	bad(text, "/etc/h.conf:8: line longer than");
	struct hd_config c;
	char err[256];
	const char nul[] = "[identity]\nprovider_id = A\0B\n";
	assert_int_equal(hd_config_parse("/etc/h.conf", nul, sizeof(nul) - 1, &c, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "/etc/h.conf:2: NUL byte"));
}

/* Found by fuzz_config: each once misparsed. */
static void test_fuzz_findings(void **state)
{
	(void)state;
	/* An indented section header is a section, not part of the previous value. */
	const char *indented =
		ID "[listen]\naddress = 127.0.0.1:1\n  [peer B]\n  address = 1.2.3.4:5\n";
	struct hd_config c;
	char err[256] = "";
	assert_int_equal(
		hd_config_parse("/etc/h.conf", indented, strlen(indented), &c, err, sizeof(err)),
		0);
	assert_non_null(hd_config_peer(&c, "B"));
	assert_string_equal(c.anchors[0], "/etc/a");
	hd_config_free(&c);
	/* The first error is the one reported, with its own line. */
	bad("garbage line\n" ID "[log]\nlevel = loud\n", "/etc/h.conf:1: syntax error");
	/* A file name too long to print back is refused when read. */
	char longpath[512];
	snprintf(longpath, sizeof(longpath), "[identity]\nkey = %0175d\n", 0);
	bad(longpath, "/etc/h.conf:2: file name");
	bad("[identity]\nkey =\n", "/etc/h.conf:2: file name '/etc/' is empty");
}

static void test_store_and_trunks(void **state)
{
	(void)state;
	const char *t = ID "[store]\nretention_days = 540\ncountry_code = 1\n"
			   "[trunks]\nzeta = TRANSIT-1\nalpha-01 = local\nmid.7 = ORIG-TEL\n";
	struct hd_config c;
	char err[256] = "";
	assert_int_equal(hd_config_parse("/etc/h.conf", t, strlen(t), &c, err, sizeof(err)), 0);
	assert_int_equal(c.retention_days, 540);
	assert_string_equal(c.country_code, "1");
	assert_int_equal(c.n_trunks, 3);
	const struct hd_trunk_cfg *tr = hd_config_trunk(&c, "zeta", 4);
	assert_non_null(tr);
	assert_false(tr->local);
	assert_string_equal(tr->provider_id, "TRANSIT-1");
	assert_true(hd_config_trunk(&c, "alpha-01", 8)->local);
	assert_non_null(hd_config_trunk(&c, "mid.7xxx", 5)); /* by length */
	assert_null(hd_config_trunk(&c, "mid", 3));
	assert_null(hd_config_trunk(&c, "nope", 4));
	hd_config_free(&c);

	struct hd_config d;
	assert_int_equal(hd_config_parse("/etc/h.conf", ID, strlen(ID), &d, err, sizeof(err)), 0);
	assert_int_equal(d.retention_days, 90); /* default */
	assert_string_equal(d.country_code, "");
	hd_config_free(&d);

	bad(ID "[store]\nretention_days = 0\n", "/etc/h.conf:8: retention_days");
	bad(ID "[store]\ncountry_code = 01\n", "/etc/h.conf:8: country_code");
	bad(ID "[store]\ncountry_code = 1234\n", "/etc/h.conf:8: country_code");
	bad(ID "[store]\ncountry_code = 44\n", "/etc/h.conf:8: country_code '44' is not supported");
	bad(ID "[trunks]\ntg = not a provider\n", "/etc/h.conf:8: trunk group 'tg'");
	bad(ID "[trunks]\nbad name! = local\n", "/etc/h.conf:8:");
	bad(ID "[trunks]\ntg = local\ntg = TRANSIT-1\n", "[trunks] tg given twice");
}

static void test_trace_keys(void **state)
{
	(void)state;
	struct hd_config c;
	char err[256] = "";
	/* Defaults. */
	assert_int_equal(hd_config_parse("/etc/h.conf", ID, strlen(ID), &c, err, sizeof(err)), 0);
	assert_int_equal(c.policy.requests_per_second, 50);
	assert_int_equal(c.policy.burst, 100);
	assert_int_equal(c.policy.n_initiators, 0);
	assert_int_equal(c.policy.disclose_customer, HD_DISCLOSE_OPAQUE);
	assert_true(hd_config_initiator_allowed(&c, "ANYONE"));
	assert_int_equal(c.trace.hop_limit, 16);
	assert_int_equal(c.trace.lifetime_s, 60);
	assert_int_equal(c.trace.tolerance_ms, 5000);
	assert_int_equal(c.trace.hint_bits, 12);
	char *printed = print_config(&c);
	assert_non_null(strstr(printed, "\nrequests_per_second = 50\nburst = 100\ninitiators =\n"
					"disclose_customer = opaque\n\n[trace]\nhop_limit = 16\n"
					"lifetime_s = 60\ntolerance_ms = 5000\nhint_bits = 12\n"));
	free(printed);
	hd_config_free(&c);

	const char *t = ID "[policy]\nrequests_per_second = 1000000\nburst = 1\n"
			   "initiators = \tCONSORTIUM TERM-CO\ndisclose_customer = none\n"
			   "[trace]\nhop_limit = 32\nlifetime_s = 3600\ntolerance_ms = 0\n"
			   "hint_bits = 0\n";
	assert_int_equal(hd_config_parse("/etc/h.conf", t, strlen(t), &c, err, sizeof(err)), 0);
	assert_int_equal(c.policy.requests_per_second, 1000000);
	assert_int_equal(c.policy.burst, 1);
	assert_int_equal(c.policy.n_initiators, 2);
	assert_string_equal(c.policy.initiators[0], "CONSORTIUM");
	assert_string_equal(c.policy.initiators[1], "TERM-CO");
	assert_true(hd_config_initiator_allowed(&c, "TERM-CO"));
	assert_false(hd_config_initiator_allowed(&c, "TERM"));
	assert_false(hd_config_initiator_allowed(&c, "OTHER"));
	assert_int_equal(c.policy.disclose_customer, HD_DISCLOSE_NONE);
	assert_int_equal(c.trace.hop_limit, 32);
	assert_int_equal(c.trace.lifetime_s, 3600);
	assert_int_equal(c.trace.tolerance_ms, 0);
	assert_int_equal(c.trace.hint_bits, 0);
	/* Printed back, it parses to the same thing. */
	printed = print_config(&c);
	assert_non_null(strstr(printed, "\ninitiators = CONSORTIUM TERM-CO\n"));
	struct hd_config again;
	assert_int_equal(
		hd_config_parse("/etc/h.conf", printed, strlen(printed), &again, err, sizeof(err)),
		0);
	assert_int_equal(again.policy.n_initiators, 2);
	assert_int_equal(again.policy.disclose_customer, HD_DISCLOSE_NONE);
	assert_int_equal(again.trace.lifetime_s, 3600);
	free(printed);
	hd_config_free(&again);
	hd_config_free(&c);

	bad(ID "[policy]\nrequests_per_second = 0\n",
	    "/etc/h.conf:8: requests_per_second must be an integer from 1 to 1000000");
	bad(ID "[policy]\nburst = 1000001\n", "/etc/h.conf:8: burst");
	bad(ID "[policy]\ninitiators = A b@d\n", "/etc/h.conf:8: initiators: 'b@d' is not");
	bad(ID "[policy]\ninitiators = X Y X\n", "/etc/h.conf:8: initiators: 'X' given twice");
	bad(ID "[policy]\ninitiators = X\ninitiators = Y\n", "/etc/h.conf:9: [policy] initiators");
	bad(ID "[policy]\ndisclose_customer = all\n",
	    "/etc/h.conf:8: disclose_customer must be opaque, reference or none");
	bad(ID "[trace]\nhop_limit = 0\n",
	    "/etc/h.conf:8: hop_limit must be an integer from 1 to 32");
	bad(ID "[trace]\nhop_limit = 33\n", "/etc/h.conf:8: hop_limit");
	bad(ID "[trace]\nlifetime_s = 3601\n",
	    "/etc/h.conf:8: lifetime_s must be an integer from 1 to 3600");
	bad(ID "[trace]\nlifetime_s = 0\n", "/etc/h.conf:8: lifetime_s");
	bad(ID "[trace]\ntolerance_ms = 300001\n", "/etc/h.conf:8: tolerance_ms");
	bad(ID "[trace]\nhint_bits = 17\n",
	    "/etc/h.conf:8: hint_bits must be an integer from 0 to 16");
	bad(ID "[trace]\nhint_bits = -1\n", "/etc/h.conf:8: hint_bits");
	bad(ID "[trace]\nhops = 3\n", "/etc/h.conf:8: unknown key 'hops' in [trace]");
	bad(ID "[trace]\nhop_limit = 3\nhop_limit = 4\n",
	    "/etc/h.conf:9: [trace] hop_limit given twice");
}

static void test_addr_split(void **state)
{
	(void)state;
	char host[HD_ADDR_MAX];
	uint16_t port;
	assert_int_equal(hd_addr_split("10.0.0.1:7400", host, &port), 0);
	assert_string_equal(host, "10.0.0.1");
	assert_int_equal(port, 7400);
	assert_int_equal(hd_addr_split("[2001:db8::1]:443", host, &port), 0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(port, 443);
	assert_int_equal(hd_addr_split("host", host, &port), -1);
	assert_int_equal(hd_addr_split(":80", host, &port), -1);
	assert_int_equal(hd_addr_split("h:", host, &port), -1);
	assert_int_equal(hd_addr_split("h:123456", host, &port), -1);
	assert_int_equal(hd_addr_split("[::1]7400", host, &port), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),        cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_errors_name_lines), cmocka_unit_test(test_errors_whole_file),
		cmocka_unit_test(test_errors_bytes),      cmocka_unit_test(test_addr_split),
		cmocka_unit_test(test_fuzz_findings),     cmocka_unit_test(test_store_and_trunks),
		cmocka_unit_test(test_trace_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
