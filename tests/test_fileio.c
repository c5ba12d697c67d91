/* Bounded whole-file reads and atomic, no-clobber writes. */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hoptrace/fileio.h"

static int setup_dir(void **state)
{
	*state = tu_mkdtemp();
	return 0;
}

static int teardown_dir(void **state)
{
	tu_rmtree(*state);
	free(*state);
	return 0;
}

static const char data1[] = "first contents\n";
static const char data2[] = "the second, longer contents\n";

static void assert_file_is(const char *path, const char *want)
{
	size_t len;
	uint8_t *b = tu_read_file(path, &len);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(b, want, len);
	free(b);
}

static void test_write_read_roundtrip(void **state)
{
	char *p = tu_path(*state, "f");
	assert_int_equal(ht_file_write(p, data1, strlen(data1), 0644, false), HT_OK);
	assert_file_is(p, data1);
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(ht_file_read(p, 1024, false, &buf, &len), HT_OK);
	assert_int_equal(len, strlen(data1));
	assert_memory_equal(buf, data1, len);
	assert_int_equal(buf[len], 0); /* NUL-terminated for convenience */
	free(buf);
	free(p);
}

static void test_empty_file(void **state)
{
	char *p = tu_path(*state, "empty");
	assert_int_equal(ht_file_write(p, "", 0, 0600, false), HT_OK);
	uint8_t *buf = NULL;
	size_t len = 99;
	assert_int_equal(ht_file_read(p, 0, true, &buf, &len), HT_OK);
	assert_int_equal(len, 0);
	assert_int_equal(buf[0], 0);
	free(buf);
	free(p);
}

/* The mode is exactly what was asked, whatever the umask. */
static void test_write_mode(void **state)
{
	static const mode_t modes[] = {0600, 0644, 0640, 0400, 0666};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char name[16];
		snprintf(name, sizeof(name), "m%zu", i);
		char *p = tu_path(*state, name);
		mode_t old = umask(i % 2 ? 077 : 0);
		int rc = ht_file_write(p, data1, strlen(data1), modes[i], false);
		umask(old);
		assert_int_equal(rc, HT_OK);
		assert_int_equal(tu_file_mode(p), modes[i]);
		free(p);
	}
}

static void test_write_refuses_overwrite(void **state)
{
	char *p = tu_path(*state, "f");
	assert_int_equal(ht_file_write(p, data1, strlen(data1), 0644, false), HT_OK);
	assert_int_equal(ht_file_write(p, data2, strlen(data2), 0600, false), HT_E_EXISTS);
	assert_file_is(p, data1);
	assert_int_equal(tu_file_mode(p), 0644);
	/* Nothing left behind: the refused write's temporary file is gone. */
	assert_int_equal(tu_count_entries(*state), 1);
	free(p);
}

static void test_write_force_replaces(void **state)
{
	char *p = tu_path(*state, "f");
	assert_int_equal(ht_file_write(p, data2, strlen(data2), 0644, false), HT_OK);
	assert_int_equal(ht_file_write(p, data1, strlen(data1), 0600, true), HT_OK);
	assert_file_is(p, data1);
	assert_int_equal(tu_file_mode(p), 0600);
	assert_int_equal(tu_count_entries(*state), 1);
	/* force also works when there is nothing to replace */
	char *q = tu_path(*state, "g");
	assert_int_equal(ht_file_write(q, data2, strlen(data2), 0644, true), HT_OK);
	assert_file_is(q, data2);
	assert_int_equal(tu_count_entries(*state), 2);
	free(q);
	free(p);
}

/* Replacing is a rename: a reader holding the old file keeps the old bytes. */
static void test_write_is_atomic_replace(void **state)
{
	char *p = tu_path(*state, "f");
	assert_int_equal(ht_file_write(p, data1, strlen(data1), 0644, false), HT_OK);
	FILE *old = fopen(p, "rb");
	assert_non_null(old);
	struct stat before, after;
	assert_int_equal(stat(p, &before), 0);
	assert_int_equal(ht_file_write(p, data2, strlen(data2), 0644, true), HT_OK);
	assert_int_equal(stat(p, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	char got[64] = {0};
	assert_int_equal(fread(got, 1, sizeof(got) - 1, old), strlen(data1));
	assert_string_equal(got, data1);
	fclose(old);
	assert_file_is(p, data2);
	free(p);
}

static void test_write_failures_leave_nothing(void **state)
{
	/* Into a directory that does not exist. */
	char *p = tu_path(*state, "missing/f");
	assert_int_equal(ht_file_write(p, data1, strlen(data1), 0644, false), HT_E_IO);
	assert_int_equal(ht_file_write(p, data1, strlen(data1), 0644, true), HT_E_IO);
	free(p);
	/* Over a directory, even with force. */
	char *d = tu_path(*state, "sub");
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(ht_file_write(d, data1, strlen(data1), 0644, true), HT_E_IO);
	assert_int_equal(ht_file_write(d, data1, strlen(data1), 0644, false), HT_E_EXISTS);
	assert_int_equal(tu_count_entries(*state), 1);
	assert_int_equal(tu_count_entries(d), 0);
	free(d);
}

static void test_read_bound(void **state)
{
	char *p = tu_path(*state, "f");
	char buf100[100];
	memset(buf100, 'z', sizeof(buf100));
	tu_write_file(p, buf100, sizeof(buf100), 0644);
	uint8_t *b = NULL;
	size_t len = 0;
	assert_int_equal(ht_file_read(p, 100, false, &b, &len), HT_OK);
	assert_int_equal(len, 100);
	assert_memory_equal(b, buf100, 100);
	free(b);
	b = NULL;
	assert_int_equal(ht_file_read(p, 99, false, &b, &len), HT_E_TOO_LARGE);
	assert_null(b);
	assert_int_equal(ht_file_read(p, 0, false, &b, &len), HT_E_TOO_LARGE);
	free(p);
}

static void test_read_secret_permissions(void **state)
{
	char *p = tu_path(*state, "k");
	tu_write_file(p, data1, strlen(data1), 0600);
	uint8_t *b = NULL;
	size_t len;
	assert_int_equal(ht_file_read(p, 100, true, &b, &len), HT_OK);
	free(b);
	static const mode_t refused[] = {0640, 0604, 0644, 0660, 0610, 0601};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(chmod(p, refused[i]), 0);
		b = NULL;
		int rc = ht_file_read(p, 100, true, &b, &len);
		if (rc != HT_E_KEY_PERMS)
			fail_msg("mode %04o: got %s", (unsigned)refused[i], ht_errname(rc));
		assert_null(b);
		/* Only a secret read cares. */
		assert_int_equal(ht_file_read(p, 100, false, &b, &len), HT_OK);
		free(b);
	}
	assert_int_equal(chmod(p, 0400), 0);
	assert_int_equal(ht_file_read(p, 100, true, &b, &len), HT_OK);
	free(b);
	free(p);
}

/* A secret file owned by someone else is refused even at mode 0600. Only
 * root can make such a file, so others skip this case. */
static void test_read_secret_foreign_owner(void **state)
{
	if (geteuid() != 0)
		skip();
	char *p = tu_path(*state, "k");
	tu_write_file(p, data1, strlen(data1), 0600);
	uint8_t *b = NULL;
	size_t len;
	/* Root's own files are fine. */
	assert_int_equal(ht_file_read(p, 100, true, &b, &len), HT_OK);
	free(b);
	b = NULL;
	assert_int_equal(chown(p, 65534, (gid_t)-1), 0);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(ht_file_read(p, 100, true, &b, &len), HT_E_KEY_PERMS);
	assert_null(b);
	/* Ownership matters only for secrets. */
	assert_int_equal(ht_file_read(p, 100, false, &b, &len), HT_OK);
	free(b);
	free(p);
}

static void test_read_missing(void **state)
{
	char *p = tu_path(*state, "nope");
	uint8_t *b = NULL;
	size_t len;
	errno = 0;
	assert_int_equal(ht_file_read(p, 100, false, &b, &len), HT_E_IO);
	assert_int_equal(errno, ENOENT);
	free(p);
}

static void on_alarm(int sig)
{
	(void)sig;
	/* Only async-signal-safe calls here. */
	static const char msg[] = "ht_file_read blocked on a non-regular file\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(2);
}

/* Directories, devices and FIFOs are refused, and promptly: a FIFO with no
 * writer must not block the reader. */
static void test_read_not_regular(void **state)
{
	uint8_t *b = NULL;
	size_t len;
	signal(SIGALRM, on_alarm);
	alarm(10);
	assert_int_equal(ht_file_read(*state, 100, false, &b, &len), HT_E_IO);
	assert_int_equal(ht_file_read(*state, 100, true, &b, &len), HT_E_IO);
	if (access("/dev/null", R_OK) == 0)
		assert_int_equal(ht_file_read("/dev/null", 100, false, &b, &len), HT_E_IO);
	char *fifo = tu_path(*state, "fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(ht_file_read(fifo, 100, false, &b, &len), HT_E_IO);
	assert_int_equal(ht_file_read(fifo, 100, true, &b, &len), HT_E_IO);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	assert_null(b);
	free(fifo);
}

#define DIRTEST(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		DIRTEST(test_write_read_roundtrip),
		DIRTEST(test_empty_file),
		DIRTEST(test_write_mode),
		DIRTEST(test_write_refuses_overwrite),
		DIRTEST(test_write_force_replaces),
		DIRTEST(test_write_is_atomic_replace),
		DIRTEST(test_write_failures_leave_nothing),
		DIRTEST(test_read_bound),
		DIRTEST(test_read_secret_permissions),
		DIRTEST(test_read_secret_foreign_owner),
		DIRTEST(test_read_missing),
		DIRTEST(test_read_not_regular),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
