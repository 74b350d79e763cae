/*
 * libFuzzer harness for common/doapi.c: any byte string, parsed as JSON, goes
 * through the droplet, page and action parsers (as the whole body and as the
 * value under the envelope key), the droplet-array, create-answer and
 * snapshot-listing parsers, the 422 classifier, the health-check parser
 * and the error-line builder; the whole input is also a health check's reply; the part before
 * the first ':' and after it also go through the rate-limit header parser.
 * A short input is also a links.pages.next URL for doapi_next_path().
 * Each must succeed with its invariants or fail with a NUL-terminated
 * message; never crash, leak or read outside the input.
 * Seeds: tests/fuzz/corpus/doapi/ (copies of tests/data/doapi/).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "doapi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_droplet(const cJSON *obj)
{
	struct doapi_droplet d;
	char err[128];

	err[0] = '\0';
	if (doapi_droplet_parse(obj, &d, err, sizeof(err))) {
		if (d.id == 0 || d.ntags > DOAPI_MAX_TAGS)
			abort();
		if (strlen(d.public_ipv4) >= DOAPI_IPV4_LEN ||
		    strlen(d.private_ipv4) >= DOAPI_IPV4_LEN)
			abort();
	} else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL) {
		abort();
	}
}

static void
check_page_action(const cJSON *root)
{
	struct doapi_page pg;
	struct doapi_action a;
	char err[128];

	if (doapi_page_parse(root, "droplets", &pg, err, sizeof(err))) {
		if (!cJSON_IsArray(pg.items) || (pg.has_next && pg.next == NULL))
			abort();
	}
	if (doapi_action_parse(cJSON_GetObjectItemCaseSensitive(root, "action"), &a, err,
			       sizeof(err)) &&
	    a.id == 0)
		abort();
}

/* Arrays of droplets (a listing, a create's answer) and snapshot listings. */
static void
check_arrays(const cJSON *root)
{
	struct doapi_droplet *d = NULL;
	size_t n = 0;
	char err[128];

	if (doapi_droplets_parse(cJSON_GetObjectItemCaseSensitive(root, "droplets"), &d, &n, err,
				 sizeof(err)) == 0) {
		for (size_t i = 0; i < n; i++)
			if (d[i].id == 0)
				abort();
	} else if (d != NULL || n != 0 || memchr(err, '\0', sizeof(err)) == NULL) {
		abort();
	}
	free(d);
	d = NULL;
	if (doapi_create_reply(root, &d, &n, err, sizeof(err)) == 0 && (n == 0 || d == NULL))
		abort();
	free(d);
	/* The named snapshot's id is one of the items', or 0. */
	(void)doapi_snapshot_id(cJSON_GetObjectItemCaseSensitive(root, "snapshots"), "web");
}

/* A 422's meaning is one of the kinds; a health check is in range or refused. */
static void
check_refusal_health(const cJSON *root)
{
	struct doapi_health_check hc;
	char err[128];

	if ((unsigned)doapi_refusal_kind(root) > DOAPI_REFUSAL_STATE)
		abort();
	err[0] = '\0';
	if (doapi_health_check_parse(cJSON_GetObjectItemCaseSensitive(root, "load_balancer"), &hc,
				     err, sizeof(err))) {
		if (hc.port < 1 || hc.port > 65535 || hc.interval_s < 1 || hc.healthy_after < 1 ||
		    hc.path[0] != '/' || strpbrk(hc.path, "\r\n ") != NULL)
			abort();
	} else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL) {
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *root = cJSON_ParseWithLength((const char *)data, size);
	struct doapi_ratelimit rl;
	char line[64], name[64], value[64];
	const uint8_t *colon = memchr(data, ':', size);

	check_droplet(root);
	check_droplet(cJSON_GetObjectItemCaseSensitive(root, "droplet"));
	check_page_action(root);
	check_arrays(root);
	check_refusal_health(root);
	/* A health check's reply: a pass needs a 2xx or 3xx status line. */
	if (doapi_health_reply_ok((const char *)data, size) &&
	    (size < 12 || memcmp(data, "HTTP/", 5) != 0 || (data[9] != '2' && data[9] != '3')))
		abort();
	doapi_error_line(500, (const char *)data, size, line, sizeof(line));
	if (memchr(line, '\0', sizeof(line)) == NULL)
		abort();
	for (const char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			abort();
	if (colon != NULL && (size_t)(colon - data) < sizeof(name) &&
	    size - (size_t)(colon - data) - 1 < sizeof(value)) {
		memcpy(name, data, (size_t)(colon - data));
		name[colon - data] = '\0';
		memcpy(value, colon + 1, size - (size_t)(colon - data) - 1);
		value[size - (size_t)(colon - data) - 1] = '\0';
		memset(&rl, 0, sizeof(rl));
		doapi_ratelimit_header(&rl, name, value);
	}
	if (size < 512) {
		char str[512], *path;

		memcpy(str, data, size);
		str[size] = '\0';
		path = doapi_next_path(str);
		if (path != NULL &&
		    (path[0] != '/' || path[1] == '/' || strstr(path, "per_page=") == NULL))
			abort();
		free(path);
	}
	cJSON_Delete(root);
	return 0;
}
