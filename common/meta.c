/*
 * meta: turns the metadata service's /metadata/v1.json body into a struct
 * meta_identity (see include/meta.h and ../shared/do-api/REFERENCE.md §1).
 *
 * The body comes over plain HTTP from a link-local address, so it is handled
 * like any other untrusted input: its size is capped, every field's type is
 * checked, and each error names the field as a JSON path
 * ("interfaces.public[0].ipv4.ip_address: ...") so an operator can find it.
 * Values quoted in errors go through log_escape(). Optional fields may be
 * missing or null; unknown keys are ignored, since DigitalOcean adds keys
 * (auth_key, dotty_*, ssh_info, ...) without notice.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "meta.h"
#include "util.h"

#define META_BODY_MAX	  (1024 * 1024)
#define META_HOSTNAME_MAX 255
/* JSON numbers are doubles to cJSON; above 2^53 - 1 two ids can read the same. */
#define META_ID_MAX 9007199254740991.0

struct meta_err {
	char *buf;
	size_t size;
};

static void meta_fail(struct meta_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
meta_fail(struct meta_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e->buf == NULL || e->size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(e->buf, e->size, fmt, ap);
	va_end(ap);
}

/* "an array", "a string"...: for "expected X, got Y" messages. */
static const char *
meta_kind(const cJSON *item)
{
	if (cJSON_IsObject(item))
		return "an object";
	if (cJSON_IsArray(item))
		return "an array";
	if (cJSON_IsString(item))
		return "a string";
	if (cJSON_IsNumber(item))
		return "a number";
	if (cJSON_IsBool(item))
		return "a boolean";
	if (cJSON_IsNull(item))
		return "null";
	return "an unknown value";
}

struct meta_identity *
meta_identity_new(void)
{
	return calloc(1, sizeof(struct meta_identity));
}

void
meta_identity_free(struct meta_identity *id)
{
	if (id == NULL)
		return;
	free(id->hostname);
	free(id->region);
	for (size_t i = 0; i < id->ntags; i++)
		free(id->tags[i]);
	free(id->tags);
	/* user_data may hold secrets despite docs/metadata.md; do not leave them in the heap. */
	if (id->user_data != NULL) {
		explicit_bzero(id->user_data, strlen(id->user_data));
		free(id->user_data);
	}
	free(id);
}

int
meta_has_tag(const struct meta_identity *id, const char *tag)
{
	if (id == NULL || tag == NULL)
		return 0;
	for (size_t i = 0; i < id->ntags; i++)
		if (id->tags[i] != NULL && strcmp(id->tags[i], tag) == 0)
			return 1;
	return 0;
}

/*
 * cJSON turns the escape \u0000 into a NUL that silently cuts the C string
 * ("web\u0000x" would become "web"), so a valid body holding one is refused.
 * Backslashes only occur inside strings of a valid body, and skipping the
 * escaped character keeps "\\u0000" (a backslash, then text) from matching.
 */
static bool
meta_find_nul_escape(const char *s, size_t len, size_t *at)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0) {
			*at = i;
			return true;
		}
		i++;
	}
	return false;
}

static bool
meta_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Checks the raw bytes that cJSON would not complain about. */
static int
meta_check_raw(const char *body, size_t len, struct meta_err *e)
{
	const char *nul;

	if (len > META_BODY_MAX) {
		meta_fail(e, "body: larger than 1 MiB");
		return -EINVAL;
	}
	if (len == 0) {
		meta_fail(e, "body: empty");
		return -EINVAL;
	}
	nul = memchr(body, '\0', len);
	if (nul != NULL) {
		meta_fail(e, "body: NUL byte at byte %zu", (size_t)(nul - body));
		return -EINVAL;
	}
	return 0;
}

/*
 * Parses the body into a cJSON tree. The error position comes from
 * return_parse_end, which is the offset cJSON_GetErrorPtr() would give but
 * read from this call rather than from cJSON's global, which another thread or
 * a later call may overwrite. It is clamped to the body all the same.
 */
static int
meta_parse_json(const char *body, size_t len, cJSON **root, struct meta_err *e)
{
	const char *end = NULL;
	size_t at;

	*root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	at = end != NULL && end >= body && end <= body + len ? (size_t)(end - body) : len;
	if (*root == NULL) {
		meta_fail(e, "body: not valid JSON near byte %zu", at);
		return -EINVAL;
	}
	while (at < len && meta_is_space(body[at]))
		at++;
	if (at < len) {
		meta_fail(e, "body: unexpected data after the JSON value at byte %zu", at);
		return -EINVAL;
	}
	if (meta_find_nul_escape(body, len, &at)) {
		meta_fail(e, "body: \\u0000 in a string at byte %zu", at);
		return -EINVAL;
	}
	if (!cJSON_IsObject(*root)) {
		meta_fail(e, "body: expected a JSON object, got %s", meta_kind(*root));
		return -EINVAL;
	}
	return 0;
}

static int
meta_get_droplet_id(const cJSON *root, uint64_t *out, struct meta_err *e)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "droplet_id");
	double d;

	if (item == NULL) {
		meta_fail(e, "droplet_id: missing");
		return -EINVAL;
	}
	/* The service sends a number; a string means something else is answering. */
	if (!cJSON_IsNumber(item)) {
		meta_fail(e, "droplet_id: expected a number, got %s", meta_kind(item));
		return -EINVAL;
	}
	d = item->valuedouble;
	/* !(d >= 1) is also true for NaN. */
	if (!(d >= 1.0)) {
		meta_fail(e, "droplet_id: not a positive integer");
		return -EINVAL;
	}
	if (d > META_ID_MAX) {
		meta_fail(e, "droplet_id: larger than 2^53 - 1");
		return -EINVAL;
	}
	if ((double)(uint64_t)d != d) {
		meta_fail(e, "droplet_id: not a positive integer");
		return -EINVAL;
	}
	*out = (uint64_t)d;
	return 0;
}

/* Copies the string `key` into *out; missing or null leaves *out NULL. */
static int
meta_get_string(const cJSON *root, const char *key, char **out, struct meta_err *e)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);

	if (item == NULL || cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsString(item) || item->valuestring == NULL) {
		meta_fail(e, "%s: expected a string, got %s", key, meta_kind(item));
		return -EINVAL;
	}
	*out = strdup(item->valuestring);
	if (*out == NULL) {
		meta_fail(e, "%s: out of memory", key);
		return -ENOMEM;
	}
	return 0;
}

static int
meta_get_hostname(const cJSON *root, char **out, struct meta_err *e)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, "hostname");
	size_t n;

	if (item == NULL || cJSON_IsNull(item)) {
		meta_fail(e, "hostname: missing");
		return -EINVAL;
	}
	if (!cJSON_IsString(item) || item->valuestring == NULL) {
		meta_fail(e, "hostname: expected a string, got %s", meta_kind(item));
		return -EINVAL;
	}
	n = strlen(item->valuestring);
	if (n == 0 || n > META_HOSTNAME_MAX) {
		meta_fail(e, n == 0 ? "hostname: empty" : "hostname: longer than 255 bytes");
		return -EINVAL;
	}
	return meta_get_string(root, "hostname", out, e);
}

/* Fills id->tags; null, missing or [] leave none. */
static int
meta_get_tags(const cJSON *root, struct meta_identity *id, struct meta_err *e)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(root, "tags");
	const cJSON *t;
	size_t n, i = 0;

	if (tags == NULL || cJSON_IsNull(tags))
		return 0;
	if (!cJSON_IsArray(tags)) {
		meta_fail(e, "tags: expected an array, got %s", meta_kind(tags));
		return -EINVAL;
	}
	n = (size_t)cJSON_GetArraySize(tags);
	if (n == 0)
		return 0;
	id->tags = calloc(n, sizeof(char *));
	if (id->tags == NULL)
		goto nomem;
	cJSON_ArrayForEach(t, tags)
	{
		if (!cJSON_IsString(t) || t->valuestring == NULL) {
			meta_fail(e, "tags[%zu]: not a string", i);
			return -EINVAL;
		}
		id->tags[i] = strdup(t->valuestring);
		if (id->tags[i] == NULL)
			goto nomem;
		id->ntags = ++i;
	}
	return 0;
nomem:
	meta_fail(e, "tags: out of memory");
	return -ENOMEM;
}

/*
 * Looks `key` up in `obj` and checks it is an object (`want_array` false) or
 * an array. Missing or null give *out NULL and 0. `path` names `obj`.
 */
static int
meta_get_child(const cJSON *obj, const char *path, const char *key, bool want_array,
	       const cJSON **out, struct meta_err *e)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (item == NULL || cJSON_IsNull(item))
		return 0;
	if (want_array ? !cJSON_IsArray(item) : !cJSON_IsObject(item)) {
		meta_fail(e, "%s%s%s: expected %s, got %s", path, *path != '\0' ? "." : "", key,
			  want_array ? "an array" : "an object", meta_kind(item));
		return -EINVAL;
	}
	*out = item;
	return 0;
}

/*
 * Reads interfaces.<type>[0].ipv4.ip_address into `dst` (left "" when any
 * step is missing or the array is empty). Only the first element counts,
 * which is what the per-path endpoints (interfaces/<type>/0/) serve.
 */
static int
meta_get_ipv4(const cJSON *ifaces, const char *type, char dst[16], struct meta_err *e)
{
	const cJSON *arr, *first, *ipv4, *addr;
	char path[64], q[48];
	int r;

	if ((r = meta_get_child(ifaces, "interfaces", type, true, &arr, e)) != 0 || arr == NULL)
		return r;
	first = cJSON_GetArrayItem(arr, 0);
	if (first == NULL)
		return 0;
	snprintf(path, sizeof(path), "interfaces.%s[0]", type);
	if (!cJSON_IsObject(first)) {
		meta_fail(e, "%s: expected an object, got %s", path, meta_kind(first));
		return -EINVAL;
	}
	if ((r = meta_get_child(first, path, "ipv4", false, &ipv4, e)) != 0 || ipv4 == NULL)
		return r;
	addr = cJSON_GetObjectItemCaseSensitive(ipv4, "ip_address");
	if (addr == NULL || cJSON_IsNull(addr))
		return 0;
	if (!cJSON_IsString(addr) || addr->valuestring == NULL) {
		meta_fail(e, "%s.ipv4.ip_address: expected a string, got %s", path,
			  meta_kind(addr));
		return -EINVAL;
	}
	if (!util_is_ipv4(addr->valuestring)) {
		log_escape(q, sizeof(q), addr->valuestring, strlen(addr->valuestring));
		meta_fail(e, "%s.ipv4.ip_address: \"%s\" is not an IPv4 address", path, q);
		return -EINVAL;
	}
	/* util_is_ipv4 allows at most 15 characters. */
	snprintf(dst, 16, "%s", addr->valuestring);
	return 0;
}

static int
meta_get_interfaces(const cJSON *root, struct meta_identity *id, struct meta_err *e)
{
	const cJSON *ifaces;
	int r;

	if ((r = meta_get_child(root, "", "interfaces", false, &ifaces, e)) != 0)
		return r;
	if (ifaces != NULL) {
		if ((r = meta_get_ipv4(ifaces, "public", id->public_ipv4, e)) != 0)
			return r;
		if ((r = meta_get_ipv4(ifaces, "private", id->private_ipv4, e)) != 0)
			return r;
	}
	if (id->public_ipv4[0] == '\0' && id->private_ipv4[0] == '\0') {
		meta_fail(e, "interfaces: no IPv4 address (public or private)");
		return -EINVAL;
	}
	return 0;
}

int
meta_parse(const char *body, size_t len, struct meta_identity **out, char *err, size_t errsize)
{
	struct meta_err e = { err, errsize };
	struct meta_identity *id = NULL;
	cJSON *root = NULL;
	int r;

	*out = NULL;
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if ((r = meta_check_raw(body, len, &e)) != 0)
		return r;
	/* A parse failure may also be cJSON running out of memory; it cannot
	 * tell us which, so both read as invalid JSON. */
	if ((r = meta_parse_json(body, len, &root, &e)) != 0)
		goto out;
	if ((id = meta_identity_new()) == NULL) {
		meta_fail(&e, "body: out of memory");
		r = -ENOMEM;
		goto out;
	}
	if ((r = meta_get_droplet_id(root, &id->droplet_id, &e)) != 0 ||
	    (r = meta_get_hostname(root, &id->hostname, &e)) != 0 ||
	    (r = meta_get_string(root, "region", &id->region, &e)) != 0 ||
	    (r = meta_get_string(root, "user_data", &id->user_data, &e)) != 0 ||
	    (r = meta_get_tags(root, id, &e)) != 0 || (r = meta_get_interfaces(root, id, &e)) != 0)
		goto out;
	*out = id;
	id = NULL;
out:
	meta_identity_free(id);
	cJSON_Delete(root);
	return r;
}
