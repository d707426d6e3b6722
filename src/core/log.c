/* Line-oriented logging; see include/atoll/log.h. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "atoll/limits.h"
#include "atoll/log.h"

static pthread_once_t log_once = PTHREAD_ONCE_INIT;
static enum atl_log_level log_level = ATL_LOG_INFO;
static FILE *log_stream;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static void log_init(void)
{
	const char *e = getenv("ATOLL_LOG");

	if (e == NULL)
		return;
	if (strcasecmp(e, "debug") == 0)
		log_level = ATL_LOG_DEBUG;
	else if (strcasecmp(e, "info") == 0)
		log_level = ATL_LOG_INFO;
	else if (strcasecmp(e, "warn") == 0)
		log_level = ATL_LOG_WARN;
	else if (strcasecmp(e, "error") == 0)
		log_level = ATL_LOG_ERROR;
	else if (strcasecmp(e, "off") == 0)
		log_level = ATL_LOG_OFF;
}

void atl_log_set_level(enum atl_log_level lvl)
{
	(void)pthread_once(&log_once, log_init);
	log_level = lvl;
}

enum atl_log_level atl_log_get_level(void)
{
	(void)pthread_once(&log_once, log_init);
	return log_level;
}

void atl_log_set_stream(FILE *f)
{
	pthread_mutex_lock(&log_mu);
	log_stream = f;
	pthread_mutex_unlock(&log_mu);
}

size_t atl_log_escape(const char *in, size_t in_len, char *out, size_t out_cap)
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;

	if (out_cap == 0)
		return 0;
	for (size_t i = 0; i < in_len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= out_cap)
				break;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= out_cap)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hx[c >> 4];
			out[o++] = hx[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

void atl_log(enum atl_log_level lvl, const char *module, const char *fmt, ...)
{
	static const char *const names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
	char msg[ATL_LOG_LINE_MAX], clean[ATL_LOG_LINE_MAX], ts[32];
	struct tm tm;
	time_t now;
	va_list ap;
	FILE *f;

	(void)pthread_once(&log_once, log_init);
	if (lvl < log_level || lvl >= ATL_LOG_OFF)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A message may carry untrusted text: keep each record on one line. */
	(void)atl_log_escape(msg, strlen(msg), clean, sizeof(clean));
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&log_mu);
	f = log_stream != NULL ? log_stream : stderr;
	fprintf(f, "%s %s %s: %s\n", ts, names[lvl], module, clean);
	fflush(f);
	pthread_mutex_unlock(&log_mu);
}
