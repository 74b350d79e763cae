/*
 * hookmsg: the event hooks' environment, JSON, answer and backoff
 * (include/hookmsg.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "hookmsg.h"
#include "util.h"

#define HOOKMSG_BACKOFF_BASE_MS 1000
#define HOOKMSG_BACKOFF_CAP_MS	60000

/* s cut to HOOKMSG_TEXT_MAX - 1 bytes, with anything not printable as '?'. */
static void
hookmsg_clean(char out[HOOKMSG_TEXT_MAX], const char *s)
{
	size_t i = 0;

	for (; s != NULL && s[i] != '\0' && i < HOOKMSG_TEXT_MAX - 1; i++)
		out[i] = s[i] >= 0x20 && s[i] <= 0x7e ? s[i] : '?';
	out[i] = '\0';
}

static char *
hookmsg_var(const char *name, const char *value)
{
	char clean[HOOKMSG_TEXT_MAX], *out;
	size_t n;

	hookmsg_clean(clean, value);
	n = strlen(name) + strlen(clean) + 2;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%s=%s", name, clean);
	return out;
}

static char *
hookmsg_var_u64(const char *name, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	return hookmsg_var(name, num);
}

void
hookmsg_env_free(char **env)
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

int
hookmsg_env(const struct hookmsg_event *ev, char *const *base, char ***out)
{
	size_t nbase = 0, k = HOOKMSG_VARS;
	char **env;
	bool ok = true;

	while (base != NULL && base[nbase] != NULL)
		nbase++;
	*out = NULL;
	if ((env = calloc(HOOKMSG_VARS + nbase + 1, sizeof(*env))) == NULL)
		return -ENOMEM;
	env[0] = hookmsg_var("MITOSIS_EVENT", ev->event);
	env[1] = hookmsg_var_u64("MITOSIS_NODE_ID", ev->node_id);
	env[2] = hookmsg_var("MITOSIS_NODE_NAME", ev->node_name);
	env[3] = hookmsg_var("MITOSIS_NODE_ADDRESS", ev->node_address);
	env[4] = hookmsg_var("MITOSIS_DETAIL", ev->detail);
	env[5] = hookmsg_var("MITOSIS_CLUSTER", ev->cluster);
	env[6] = hookmsg_var_u64("MITOSIS_SELF_ID", ev->self_id);
	env[7] = hookmsg_var_u64("MITOSIS_TERM", ev->term);
	env[8] = hookmsg_var_u64("MITOSIS_TIME", ev->time_ms);
	for (size_t i = 0; i < HOOKMSG_VARS; i++)
		ok = ok && env[i] != NULL;
	for (size_t i = 0; ok && i < nbase; i++) {
		if (strncmp(base[i], "MITOSIS_", 8) == 0)
			continue;
		ok = (env[k++] = strdup(base[i])) != NULL;
	}
	if (!ok) {
		/* calloc'ed: the NULL holes end the walk early, so free by index. */
		for (size_t i = 0; i < HOOKMSG_VARS + nbase; i++)
			free(env[i]);
		free(env);
		return -ENOMEM;
	}
	*out = env;
	return 0;
}

/* "2026-11-21T22:08:30.123Z" from unix ms. */
static void
hookmsg_time(uint64_t ms, char *out, size_t size)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(ms % 1000));
}

static void
hookmsg_json_str(cJSON *o, const char *name, const char *v)
{
	char clean[HOOKMSG_TEXT_MAX];

	hookmsg_clean(clean, v);
	cJSON_AddStringToObject(o, name, clean);
}

/* Ids as strings: a droplet id may pass 2^53, which a double cannot hold. */
static void
hookmsg_json_id(cJSON *o, const char *name, uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRIu64, v);
	cJSON_AddStringToObject(o, name, num);
}

char *
hookmsg_json(const struct hookmsg_event *ev)
{
	cJSON *o = cJSON_CreateObject();
	char t[80], *out;

	if (o == NULL)
		return NULL;
	hookmsg_time(ev->time_ms, t, sizeof(t));
	hookmsg_json_str(o, "event", ev->event);
	hookmsg_json_id(o, "node_id", ev->node_id);
	hookmsg_json_str(o, "node_name", ev->node_name);
	hookmsg_json_str(o, "node_address", ev->node_address);
	hookmsg_json_str(o, "detail", ev->detail);
	hookmsg_json_str(o, "cluster", ev->cluster);
	hookmsg_json_id(o, "from", ev->self_id);
	cJSON_AddNumberToObject(o, "term", (double)ev->term);
	cJSON_AddStringToObject(o, "time", t);
	cJSON_AddNumberToObject(o, "time_ms", (double)ev->time_ms);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

/* One line, blanks trimmed: 1 and *more_ms for "more DURATION", 0 for
 * anything else, -EINVAL for "more" with a bad duration. */
static int
hookmsg_line(const char *s, size_t n, uint64_t *more_ms)
{
	char buf[64];
	uint64_t ms;

	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	if (n < 5 || strncmp(s, "more", 4) != 0 || (s[4] != ' ' && s[4] != '\t'))
		return 0;
	s += 5, n -= 5;
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (util_parse_duration_ms(buf, 0, UINT64_MAX / 2, &ms) != 0)
		return -EINVAL;
	*more_ms = ms < HOOKMSG_MORE_MAX_MS ? ms : HOOKMSG_MORE_MAX_MS;
	return 1;
}

int
hookmsg_answer(const char *text, size_t len, uint64_t *more_ms)
{
	size_t start = 0;

	*more_ms = 0;
	for (size_t i = 0; i <= len; i++) {
		int r;

		if (i < len && text[i] != '\n')
			continue;
		if ((r = hookmsg_line(text + start, i - start, more_ms)) != 0)
			return r;
		start = i + 1;
	}
	return 0;
}

void
hookmsg_origin(const char *url, char *out, size_t size)
{
	const char *p = strstr(url, "://"), *host, *end, *at;
	size_t n;

	if (p == NULL) {
		snprintf(out, size, "(not a URL)");
		return;
	}
	host = p + 3;
	end = host + strcspn(host, "/?#");
	/* user:password@host: the user part is a secret too. */
	for (at = end; at > host && at[-1] != '@'; at--)
		;
	if (at > host)
		host = at;
	n = (size_t)(end - host);
	snprintf(out, size, "%.*s://%.*s", (int)(p - url), url, (int)(n > 255 ? 255 : n), host);
}

uint64_t
hookmsg_backoff_ms(unsigned attempt, uint32_t rnd)
{
	uint64_t d = HOOKMSG_BACKOFF_BASE_MS;

	for (unsigned i = 1; i < attempt && d < HOOKMSG_BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > HOOKMSG_BACKOFF_CAP_MS)
		d = HOOKMSG_BACKOFF_CAP_MS;
	return d - (d / 4) * rnd / UINT32_MAX;
}
