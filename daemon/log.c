#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum hd_log_level max_level = HD_LOG_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};

void hd_log_set_level(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(names[i], name) == 0)
			max_level = (enum hd_log_level)i;
}

void hd_log(enum hd_log_level level, const char *fmt, ...)
{
	if (level > max_level)
		return;
	/* One write per line so lines from a busy loop never interleave. */
	char line[1024];
	int n = snprintf(line, sizeof(line), "hoptraced: %s: ", names[level]);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	/* One event, one line: text from peers cannot forge log lines. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
	fflush(stderr);
}
