#include "hoptrace/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

int ht_file_read(const char *path, size_t max, bool secret, uint8_t **buf, size_t *len)
{
	/*
	 * O_NONBLOCK so that opening a FIFO with no writer cannot hang us before
	 * the regular-file check below refuses it; reads of regular files never
	 * block, so it changes nothing else.
	 */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return HT_E_IO;

	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return HT_E_IO;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return HT_E_IO;
	}
	/* A secret must be ours (or root's) and closed to everyone else. */
	if (secret &&
	    ((st.st_mode & (S_IRWXG | S_IRWXO)) || (st.st_uid != geteuid() && st.st_uid != 0))) {
		close(fd);
		return HT_E_KEY_PERMS;
	}
	if ((uintmax_t)st.st_size > max) {
		close(fd);
		return HT_E_TOO_LARGE;
	}

	/* Read up to max+1 so a file that grew since fstat is still caught. */
	uint8_t *b = malloc(max + 2);
	if (!b) {
		close(fd);
		return HT_E_NOMEM;
	}
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, b + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			if (secret)
				sodium_memzero(b, max + 2);
			free(b);
			close(fd);
			errno = e;
			return HT_E_IO;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max)
			break;
	}
	close(fd);
	if (n > max) {
		if (secret)
			sodium_memzero(b, max + 2);
		free(b);
		return HT_E_TOO_LARGE;
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return HT_OK;
}

static int fsync_dir_of(const char *path)
{
	char *copy = strdup(path);
	if (!copy)
		return HT_E_NOMEM;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return HT_E_IO;
	int rc = fsync(fd) == 0 ? HT_OK : HT_E_IO;
	close(fd);
	return rc;
}

int ht_file_write(const char *path, const void *data, size_t len, mode_t mode, bool force)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (!tmp)
		return HT_E_NOMEM;
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp.XXXXXX", 12);

	int fd = mkstemp(tmp);
	if (fd < 0) {
		free(tmp);
		return HT_E_IO;
	}
	int rc = HT_OK;
	const uint8_t *p = data;
	size_t left = len;
	if (fchmod(fd, mode) != 0)
		rc = HT_E_IO;
	while (rc == HT_OK && left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = HT_E_IO;
			break;
		}
		p += w;
		left -= (size_t)w;
	}
	if (rc == HT_OK && fsync(fd) != 0)
		rc = HT_E_IO;
	int e = errno;
	if (close(fd) != 0 && rc == HT_OK) {
		e = errno;
		rc = HT_E_IO;
	}
	if (rc == HT_OK) {
		if (force) {
			if (rename(tmp, path) != 0) {
				e = errno;
				rc = HT_E_IO;
			}
		} else if (link(tmp, path) != 0) {
			/* link() never replaces: the no-clobber rename. */
			e = errno;
			rc = e == EEXIST ? HT_E_EXISTS : HT_E_IO;
		}
	}
	unlink(tmp); /* after rename it no longer exists; harmless */
	free(tmp);
	if (rc == HT_OK)
		rc = fsync_dir_of(path);
	else
		errno = e;
	return rc;
}
