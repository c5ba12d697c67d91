/* Leveled logging to stderr, one line per event, for journald. */
#ifndef HD_LOG_H
#define HD_LOG_H

enum hd_log_level { HD_LOG_ERROR = 0, HD_LOG_WARN, HD_LOG_INFO, HD_LOG_DEBUG };

/* Sets the most verbose level printed, from a name (error/warn/info/debug). */
void hd_log_set_level(const char *name);

void hd_log(enum hd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) hd_log(HD_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  hd_log(HD_LOG_WARN, __VA_ARGS__)
#define log_info(...)  hd_log(HD_LOG_INFO, __VA_ARGS__)
#define log_debug(...) hd_log(HD_LOG_DEBUG, __VA_ARGS__)

#endif
