/*
 * doapi: parsing and building DigitalOcean API v2 bodies (include/doapi.h).
 *
 * Parsers take what cJSON made of a body and check each field's type before
 * use; strings are copied into fixed buffers and a too-long one is an error
 * that names the field rather than a silent truncation. Absent optional
 * fields stay empty. Nothing here allocates except doapi_create_body().
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "doapi.h"

#define DOAPI_USER_DATA_MAX (64U * 1024)

static bool
doapi_fail(char *err, size_t errsize, const char *field, const char *why)
{
	if (errsize > 0)
		snprintf(err, errsize, "%s: %s", field, why);
	return false;
}

/* A non-negative integral number that fits an id (< 2^53, cJSON's doubles). */
static bool
doapi_get_id(const cJSON *v, uint64_t *out)
{
	double d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d)
		return false;
	*out = (uint64_t)d;
	return true;
}

/* Copies an optional string field; a non-string (other than null) or one
 * that does not fit is an error. */
static bool
doapi_get_str(const cJSON *obj, const char *key, char *dst, size_t size, bool required,
	      const char *field, char *err, size_t errsize)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	size_t n;

	dst[0] = '\0';
	if (v == NULL || cJSON_IsNull(v))
		return required ? doapi_fail(err, errsize, field, "missing") : true;
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return doapi_fail(err, errsize, field, "not a string");
	n = strlen(v->valuestring);
	if (n >= size)
		return doapi_fail(err, errsize, field, "too long");
	memcpy(dst, v->valuestring, n + 1);
	return true;
}

/* An optional boolean field: absent or null is false. */
static bool
doapi_get_bool(const cJSON *obj, const char *key, bool *dst, const char *field, char *err,
	       size_t errsize)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*dst = false;
	if (v == NULL || cJSON_IsNull(v))
		return true;
	if (!cJSON_IsBool(v))
		return doapi_fail(err, errsize, field, "not a boolean");
	*dst = cJSON_IsTrue(v);
	return true;
}

static bool
doapi_ipv4_valid(const char *s)
{
	unsigned parts = 0, val = 0, digits = 0;

	for (;; s++) {
		if (*s >= '0' && *s <= '9') {
			val = val * 10 + (unsigned)(*s - '0');
			if (++digits > 3 || val > 255)
				return false;
		} else if (*s == '.' || *s == '\0') {
			if (digits == 0)
				return false;
			parts++;
			if (*s == '\0')
				return parts == 4;
			if (parts > 3)
				return false;
			val = digits = 0;
		} else {
			return false;
		}
	}
}

/* networks.v4[]: the first entry of each type gives that address. */
static bool
doapi_parse_networks(const cJSON *obj, struct doapi_droplet *d, char *err, size_t errsize)
{
	const cJSON *nets = cJSON_GetObjectItemCaseSensitive(obj, "networks"), *v4, *e;
	char field[64];
	int i = 0;

	if (nets == NULL || cJSON_IsNull(nets))
		return true;
	if (!cJSON_IsObject(nets))
		return doapi_fail(err, errsize, "droplet.networks", "not an object");
	v4 = cJSON_GetObjectItemCaseSensitive(nets, "v4");
	if (v4 == NULL || cJSON_IsNull(v4))
		return true;
	if (!cJSON_IsArray(v4))
		return doapi_fail(err, errsize, "droplet.networks.v4", "not an array");
	cJSON_ArrayForEach(e, v4)
	{
		char type[16], ip[DOAPI_IPV4_LEN];
		char *dst;

		snprintf(field, sizeof(field), "droplet.networks.v4[%d].type", i);
		if (!cJSON_IsObject(e))
			return doapi_fail(err, errsize, field, "entry not an object");
		if (!doapi_get_str(e, "type", type, sizeof(type), true, field, err, errsize))
			return false;
		snprintf(field, sizeof(field), "droplet.networks.v4[%d].ip_address", i++);
		if (!doapi_get_str(e, "ip_address", ip, sizeof(ip), true, field, err, errsize))
			return false;
		if (!doapi_ipv4_valid(ip))
			return doapi_fail(err, errsize, field, "not an IPv4 address");
		dst = strcmp(type, "public") == 0    ? d->public_ipv4
		      : strcmp(type, "private") == 0 ? d->private_ipv4
						     : NULL;
		if (dst != NULL && dst[0] == '\0')
			memcpy(dst, ip, strlen(ip) + 1);
	}
	return true;
}

static bool
doapi_parse_tags(const cJSON *obj, struct doapi_droplet *d, char *err, size_t errsize)
{
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(obj, "tags"), *t;

	if (tags == NULL || cJSON_IsNull(tags))
		return true;
	if (!cJSON_IsArray(tags))
		return doapi_fail(err, errsize, "droplet.tags", "not an array");
	cJSON_ArrayForEach(t, tags)
	{
		if (!cJSON_IsString(t) || t->valuestring == NULL)
			return doapi_fail(err, errsize, "droplet.tags", "an item is not a string");
		if (strlen(t->valuestring) >= DOAPI_TAG_LEN)
			return doapi_fail(err, errsize, "droplet.tags", "a tag is too long");
		if (d->ntags < DOAPI_MAX_TAGS)
			memcpy(d->tags[d->ntags++], t->valuestring, strlen(t->valuestring) + 1);
	}
	return true;
}

/* region.slug and image.id: nested objects, either may be absent or null. */
static bool
doapi_parse_nested(const cJSON *obj, struct doapi_droplet *d, char *err, size_t errsize)
{
	const cJSON *region = cJSON_GetObjectItemCaseSensitive(obj, "region");
	const cJSON *image = cJSON_GetObjectItemCaseSensitive(obj, "image"), *id;

	if (region != NULL && !cJSON_IsNull(region)) {
		if (!cJSON_IsObject(region))
			return doapi_fail(err, errsize, "droplet.region", "not an object");
		if (!doapi_get_str(region, "slug", d->region, sizeof(d->region), false,
				   "droplet.region.slug", err, errsize))
			return false;
	}
	if (image != NULL && !cJSON_IsNull(image)) {
		if (!cJSON_IsObject(image))
			return doapi_fail(err, errsize, "droplet.image", "not an object");
		id = cJSON_GetObjectItemCaseSensitive(image, "id");
		if (id != NULL && !cJSON_IsNull(id) && !doapi_get_id(id, &d->image_id))
			return doapi_fail(err, errsize, "droplet.image.id", "not an id");
	}
	return true;
}

bool
doapi_droplet_parse(const cJSON *obj, struct doapi_droplet *d, char *err, size_t errsize)
{
	memset(d, 0, sizeof(*d));
	if (!cJSON_IsObject(obj))
		return doapi_fail(err, errsize, "droplet", "not an object");
	if (!doapi_get_id(cJSON_GetObjectItemCaseSensitive(obj, "id"), &d->id) || d->id == 0)
		return doapi_fail(err, errsize, "droplet.id", "missing or not an id");
	if (!doapi_get_str(obj, "name", d->name, sizeof(d->name), true, "droplet.name", err,
			   errsize) ||
	    !doapi_get_str(obj, "status", d->status, sizeof(d->status), true, "droplet.status", err,
			   errsize) ||
	    !doapi_get_str(obj, "size_slug", d->size_slug, sizeof(d->size_slug), false,
			   "droplet.size_slug", err, errsize) ||
	    !doapi_get_str(obj, "created_at", d->created_at, sizeof(d->created_at), false,
			   "droplet.created_at", err, errsize))
		return false;
	if (!doapi_get_bool(obj, "locked", &d->locked, "droplet.locked", err, errsize))
		return false;
	return doapi_parse_networks(obj, d, err, errsize) &&
	       doapi_parse_tags(obj, d, err, errsize) && doapi_parse_nested(obj, d, err, errsize);
}

int
doapi_droplets_parse(const cJSON *items, struct doapi_droplet **out, size_t *n, char *err,
		     size_t errsize)
{
	struct doapi_droplet *d;
	const cJSON *it;
	char why[160];
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (!cJSON_IsArray(items)) {
		doapi_fail(err, errsize, "droplets", "not an array");
		return -EBADMSG;
	}
	d = calloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(it, items)
	{
		if (!doapi_droplet_parse(it, &d[i], why, sizeof(why))) {
			snprintf(err, errsize, "droplets[%zu]: %s", i, why);
			free(d);
			return -EBADMSG;
		}
		i++;
	}
	*out = d;
	*n = i;
	return 0;
}

int
doapi_create_reply(const cJSON *root, struct doapi_droplet **out, size_t *n, char *err,
		   size_t errsize)
{
	const cJSON *one = cJSON_GetObjectItemCaseSensitive(root, "droplet");
	const cJSON *many = cJSON_GetObjectItemCaseSensitive(root, "droplets");
	int r;

	*out = NULL;
	*n = 0;
	if (many != NULL) {
		r = doapi_droplets_parse(many, out, n, err, errsize);
		if (r == 0 && *n == 0) {
			free(*out);
			*out = NULL;
			doapi_fail(err, errsize, "droplets", "empty");
			return -EBADMSG;
		}
		return r;
	}
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	if (!doapi_droplet_parse(one, *out, err, errsize)) {
		free(*out);
		*out = NULL;
		return -EBADMSG;
	}
	*n = 1;
	return 0;
}

uint64_t
doapi_snapshot_id(const cJSON *items, const char *name)
{
	const cJSON *it;
	uint64_t best = 0, id;

	cJSON_ArrayForEach(it, items)
	{
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");

		/* DO writes snapshot ids as numbers; a string id is not ours to guess. */
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0 &&
		    doapi_get_id(cJSON_GetObjectItemCaseSensitive(it, "id"), &id) && id > best)
			best = id;
	}
	return best;
}

bool
doapi_droplet_has_tag(const struct doapi_droplet *d, const char *tag)
{
	for (size_t i = 0; i < d->ntags; i++)
		if (strcmp(d->tags[i], tag) == 0)
			return true;
	return false;
}

bool
doapi_page_parse(const cJSON *root, const char *key, struct doapi_page *pg, char *err,
		 size_t errsize)
{
	const cJSON *links, *pages, *next, *meta, *total;

	memset(pg, 0, sizeof(*pg));
	pg->total = -1;
	if (!cJSON_IsObject(root))
		return doapi_fail(err, errsize, "page", "body is not an object");
	pg->items = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!cJSON_IsArray(pg->items))
		return doapi_fail(err, errsize, key, "missing or not an array");
	links = cJSON_GetObjectItemCaseSensitive(root, "links");
	if (links != NULL && !cJSON_IsNull(links)) {
		if (!cJSON_IsObject(links))
			return doapi_fail(err, errsize, "links", "not an object");
		pages = cJSON_GetObjectItemCaseSensitive(links, "pages");
		if (pages != NULL && !cJSON_IsNull(pages) && !cJSON_IsObject(pages))
			return doapi_fail(err, errsize, "links.pages", "not an object");
		next = cJSON_IsObject(pages) ? cJSON_GetObjectItemCaseSensitive(pages, "next")
					     : NULL;
		if (next != NULL && !cJSON_IsNull(next)) {
			if (!cJSON_IsString(next) || next->valuestring == NULL ||
			    next->valuestring[0] == '\0')
				return doapi_fail(err, errsize, "links.pages.next", "not a URL");
			pg->has_next = true;
			pg->next = next->valuestring;
		}
	}
	meta = cJSON_GetObjectItemCaseSensitive(root, "meta");
	total = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, "total") : NULL;
	if (total != NULL) {
		uint64_t t;

		if (!doapi_get_id(total, &t))
			return doapi_fail(err, errsize, "meta.total", "not a count");
		pg->total = (int64_t)t;
	}
	return true;
}

static const char *const doapi_action_names[] = {
	[DOAPI_ACTION_POWER_OFF] = "power_off",
	[DOAPI_ACTION_POWER_ON] = "power_on",
	[DOAPI_ACTION_RESIZE] = "resize",
	[DOAPI_ACTION_SNAPSHOT] = "snapshot",
};

const char *
doapi_action_name(enum doapi_action_type type)
{
	if ((size_t)type >= sizeof(doapi_action_names) / sizeof(doapi_action_names[0]))
		return "?";
	return doapi_action_names[type];
}

int
doapi_action_body(enum doapi_action_type type, const char *arg, char **out)
{
	bool with_arg = type == DOAPI_ACTION_RESIZE || type == DOAPI_ACTION_SNAPSHOT;
	cJSON *o;
	bool ok;

	*out = NULL;
	if ((size_t)type >= sizeof(doapi_action_names) / sizeof(doapi_action_names[0]) ||
	    (with_arg && (arg == NULL || arg[0] == '\0')))
		return -EINVAL;
	o = cJSON_CreateObject();
	ok = o != NULL && cJSON_AddStringToObject(o, "type", doapi_action_names[type]) != NULL;
	if (ok && type == DOAPI_ACTION_RESIZE)
		ok = cJSON_AddStringToObject(o, "size", arg) != NULL &&
		     cJSON_AddFalseToObject(o, "disk") != NULL;
	if (ok && type == DOAPI_ACTION_SNAPSHOT)
		ok = cJSON_AddStringToObject(o, "name", arg) != NULL;
	if (ok)
		*out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return *out != NULL ? 0 : -ENOMEM;
}

bool
doapi_action_parse(const cJSON *obj, struct doapi_action *a, char *err, size_t errsize)
{
	memset(a, 0, sizeof(*a));
	if (!cJSON_IsObject(obj))
		return doapi_fail(err, errsize, "action", "not an object");
	if (!doapi_get_id(cJSON_GetObjectItemCaseSensitive(obj, "id"), &a->id) || a->id == 0)
		return doapi_fail(err, errsize, "action.id", "missing or not an id");
	if (!doapi_get_str(obj, "status", a->status, sizeof(a->status), true, "action.status", err,
			   errsize) ||
	    !doapi_get_str(obj, "type", a->type, sizeof(a->type), false, "action.type", err,
			   errsize))
		return false;
	if (strcmp(a->status, "in-progress") != 0 && strcmp(a->status, "completed") != 0 &&
	    strcmp(a->status, "errored") != 0)
		return doapi_fail(err, errsize, "action.status", "unknown value");
	return true;
}

/* Appends s to out (at *pos) with control characters made '?'. */
static void
doapi_put(char *out, size_t outsize, size_t *pos, const char *s)
{
	for (; *s != '\0' && *pos + 1 < outsize; s++)
		out[(*pos)++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
	out[*pos] = '\0';
}

void
doapi_error_line(long status, const char *body, size_t len, char *out, size_t outsize)
{
	cJSON *root = body != NULL && len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
	const cJSON *alt = cJSON_GetObjectItemCaseSensitive(root, "error");
	char head[32];
	size_t pos = 0;

	if (outsize == 0)
		goto out;
	out[0] = '\0';
	snprintf(head, sizeof(head), "%ld", status);
	doapi_put(out, outsize, &pos, head);
	if (cJSON_IsString(id) && cJSON_IsString(msg)) {
		doapi_put(out, outsize, &pos, " ");
		doapi_put(out, outsize, &pos, id->valuestring);
		doapi_put(out, outsize, &pos, ": ");
		doapi_put(out, outsize, &pos, msg->valuestring);
	} else if (cJSON_IsString(msg) || cJSON_IsString(alt)) {
		doapi_put(out, outsize, &pos, ": ");
		doapi_put(out, outsize, &pos,
			  cJSON_IsString(msg) ? msg->valuestring : alt->valuestring);
	} else {
		pos = 0;
		snprintf(head, sizeof(head), "HTTP %ld", status);
		doapi_put(out, outsize, &pos, head);
	}
out:
	cJSON_Delete(root);
}

static bool
doapi_parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\r')
		end++;
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

bool
doapi_ratelimit_header(struct doapi_ratelimit *rl, const char *name, const char *value)
{
	int64_t v;

	if (name == NULL || value == NULL || !doapi_parse_int(value, &v))
		return false;
	if (strcasecmp(name, "ratelimit-limit") == 0) {
		rl->limit = v;
		rl->has_limit = true;
	} else if (strcasecmp(name, "ratelimit-remaining") == 0) {
		rl->remaining = v;
		rl->has_remaining = true;
	} else if (strcasecmp(name, "ratelimit-reset") == 0) {
		rl->reset = v;
		rl->has_reset = true;
	} else if (strcasecmp(name, "retry-after") == 0) {
		rl->retry_after = v;
		rl->has_retry_after = true;
	} else {
		return false;
	}
	return true;
}

/* Milliseconds from Unix time now until `reset`, within 1 s..DOAPI_RESET_CAP_S. */
static uint64_t
doapi_until_reset_ms(int64_t reset, int64_t now)
{
	int64_t d = reset - now;

	if (d < 1)
		d = 1;
	if (d > DOAPI_RESET_CAP_S)
		d = DOAPI_RESET_CAP_S;
	return (uint64_t)d * 1000;
}

void
doapi_limit_decide(long status, const struct doapi_ratelimit *rl, int64_t seen_left,
		   uint64_t seen_ago_ms, int64_t now, struct doapi_limit *out)
{
	uint64_t mins = seen_ago_ms / 60000 + 1;

	memset(out, 0, sizeof(*out));
	if (status != 429) {
		if (!rl->has_remaining || rl->remaining > 0 || !rl->has_reset)
			return;
		snprintf(out->why, sizeof(out->why),
			 "hourly quota is spent (ratelimit-remaining: 0 on an HTTP %ld)", status);
	} else if (rl->has_retry_after) {
		int64_t s = rl->retry_after < 0				? 0
			    : rl->retry_after > DOAPI_RETRY_AFTER_CAP_S ? DOAPI_RETRY_AFTER_CAP_S
									: rl->retry_after;

		snprintf(out->why, sizeof(out->why), "burst limit: 429 with retry-after: %lld s",
			 (long long)s);
		out->hold_ms = (uint64_t)s * 1000;
		return;
	} else if (seen_left >= 0 && (uint64_t)seen_left > DOAPI_BURST_PER_MIN * mins) {
		snprintf(out->why, sizeof(out->why),
			 "429 without retry-after, but %lld requests were left %llu s ago: a burst",
			 (long long)seen_left, (unsigned long long)(seen_ago_ms / 1000));
		return;
	} else if (!rl->has_reset) {
		snprintf(out->why, sizeof(out->why), "429 without retry-after or ratelimit-reset");
		return;
	} else {
		snprintf(out->why, sizeof(out->why),
			 "hourly quota is spent (429 without retry-after)");
	}
	out->hourly = true;
	out->hold_ms = doapi_until_reset_ms(rl->reset, now);
}

bool
doapi_name_valid(const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n > 255 || !isalnum((unsigned char)name[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '.' && name[i] != '-')
			return false;
	return true;
}

int
doapi_clone_name(const char *cluster, uint64_t unix_time, uint16_t rnd, char *out, size_t size)
{
	int n;

	if (cluster == NULL || cluster[0] == '\0')
		return -EINVAL;
	n = snprintf(out, size, "%s-%" PRIu64 "-%04x", cluster, unix_time, (unsigned)rnd);
	if (n < 0 || (size_t)n >= size || !doapi_name_valid(out))
		return -EINVAL;
	return 0;
}

void
doapi_op_tag(const uint8_t rnd[6], char out[DOAPI_OP_TAG_LEN])
{
	snprintf(out, DOAPI_OP_TAG_LEN, "mitosis-op-%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5]);
}

static bool
doapi_all_digits(const char *s)
{
	if (*s == '\0' || strlen(s) > 15)
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Checks the request; NULL when fine, else the reason. */
static const char *
doapi_create_check(const struct doapi_create *c)
{
	if (c->nnames == 0 || c->nnames > DOAPI_MAX_NAMES)
		return "names: 1 to 10 names";
	for (size_t i = 0; i < c->nnames; i++)
		if (!doapi_name_valid(c->names[i]))
			return "names: a name does not match DigitalOcean's pattern";
	if (c->image == 0 || c->image > 9007199254740992ULL)
		return "image: no snapshot id";
	if (c->size == NULL || c->size[0] == '\0')
		return "size: missing";
	if (c->user_data != NULL && strlen(c->user_data) > DOAPI_USER_DATA_MAX)
		return "user_data: larger than 64 KiB";
	for (size_t i = 0; i < c->nssh_keys; i++)
		if (c->ssh_keys[i] == NULL || c->ssh_keys[i][0] == '\0')
			return "ssh_keys: empty key";
	for (size_t i = 0; i < c->ntags; i++)
		if (c->tags[i] == NULL || c->tags[i][0] == '\0')
			return "tags: empty tag";
	return NULL;
}

static bool
doapi_add_strings(cJSON *root, const char *key, const char *const *v, size_t n, bool numeric)
{
	cJSON *arr = cJSON_AddArrayToObject(root, key);

	if (arr == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		cJSON *item = numeric && doapi_all_digits(v[i])
				      ? cJSON_CreateNumber((double)strtoull(v[i], NULL, 10))
				      : cJSON_CreateString(v[i]);

		if (item == NULL || !cJSON_AddItemToArray(arr, item)) {
			cJSON_Delete(item);
			return false;
		}
	}
	return true;
}

int
doapi_create_body(const struct doapi_create *c, char **out, char *err, size_t errsize)
{
	const char *why = doapi_create_check(c);
	cJSON *root = NULL;
	bool ok;
	int r = -ENOMEM;

	*out = NULL;
	if (why != NULL) {
		snprintf(err, errsize, "%s", why);
		return -EINVAL;
	}
	root = cJSON_CreateObject();
	if (root == NULL)
		goto out;
	ok = c->nnames == 1 ? cJSON_AddStringToObject(root, "name", c->names[0]) != NULL
			    : doapi_add_strings(root, "names", c->names, c->nnames, false);
	ok = ok && cJSON_AddNumberToObject(root, "image", (double)c->image) != NULL &&
	     cJSON_AddStringToObject(root, "size", c->size) != NULL;
	if (ok && c->region != NULL && c->region[0] != '\0')
		ok = cJSON_AddStringToObject(root, "region", c->region) != NULL;
	if (ok && c->vpc_uuid != NULL && c->vpc_uuid[0] != '\0')
		ok = cJSON_AddStringToObject(root, "vpc_uuid", c->vpc_uuid) != NULL;
	if (ok && c->nssh_keys > 0)
		ok = doapi_add_strings(root, "ssh_keys", c->ssh_keys, c->nssh_keys, true);
	ok = ok && doapi_add_strings(root, "tags", c->tags, c->ntags, false);
	if (ok && c->user_data != NULL)
		ok = cJSON_AddStringToObject(root, "user_data", c->user_data) != NULL;
	ok = ok && cJSON_AddTrueToObject(root, "monitoring") != NULL;
	if (ok && (*out = cJSON_PrintUnformatted(root)) != NULL)
		r = 0;
out:
	if (r != 0)
		snprintf(err, errsize, "out of memory");
	cJSON_Delete(root);
	return r;
}

int
doapi_clone_user_data(const char *cluster, const char *const *seeds, size_t nseeds, char **out)
{
	size_t cap = 768 + nseeds * 18, pos;
	char *buf;

	*out = NULL;
	if (cluster == NULL || !doapi_name_valid(cluster) || nseeds > 256)
		return -EINVAL;
	for (size_t i = 0; i < nseeds; i++)
		if (seeds[i] == NULL || !doapi_ipv4_valid(seeds[i]))
			return -EINVAL;
	buf = malloc(cap);
	if (buf == NULL)
		return -ENOMEM;
	/*
	 * A drop-in of its own, written whole (never appended to the baked
	 * file), and always written: a snapshot of a clone carries its
	 * parent's drop-in, which this replaces, so clones of clones and re-runs
	 * never hold a key twice or a stale seed.
	 */
	pos = (size_t)snprintf(buf, cap,
			       "#cloud-config\n# mitosis cluster: %s\n"
			       "write_files:\n  - path: " DOAPI_USER_DATA_DROPIN "\n"
			       "    permissions: '0644'\n    content: |\n"
			       "      # written by cloud-init from the clone's user-data\n",
			       cluster);
	if (nseeds > 0) {
		pos += (size_t)snprintf(buf + pos, cap - pos, "      seeds = ");
		for (size_t i = 0; i < nseeds; i++)
			pos += (size_t)snprintf(buf + pos, cap - pos, "%s%s", i > 0 ? ", " : "",
						seeds[i]);
		pos += (size_t)snprintf(buf + pos, cap - pos, "\n");
	}
	snprintf(buf + pos, cap - pos, "runcmd:\n  - [systemctl, restart, mitosis]\n");
	*out = buf;
	return 0;
}

char *
doapi_next_path(const char *next)
{
	const char *p = next != NULL ? strstr(next, "://") : NULL;
	size_t n;
	char *out;

	if (next == NULL)
		return NULL;
	if (p != NULL && (p = strchr(p + 3, '/')) == NULL)
		return NULL;
	if (p == NULL)
		p = next;
	if (p[0] != '/' || p[1] == '/')
		return NULL;
	for (const char *q = p; *q != '\0'; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return NULL;
	n = strlen(p) + sizeof("&per_page=200");
	out = malloc(n);
	if (out == NULL)
		return NULL;
	if (strstr(p, "per_page=") != NULL)
		snprintf(out, n, "%s", p);
	else
		snprintf(out, n, "%s%cper_page=200", p, strchr(p, '?') != NULL ? '&' : '?');
	return out;
}

enum doapi_refusal
doapi_refusal_kind(const cJSON *root)
{
	static const struct {
		const char *words;
		enum doapi_refusal kind;
	} known[] = {
		{ "pending event", DOAPI_REFUSAL_PENDING },
		{ "already powered off", DOAPI_REFUSAL_ALREADY_OFF },
		{ "already powered on", DOAPI_REFUSAL_ALREADY_ON },
		{ "is currently on", DOAPI_REFUSAL_STATE },
		{ "is currently off", DOAPI_REFUSAL_STATE },
	};
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");

	if (!cJSON_IsString(msg) || msg->valuestring == NULL)
		return DOAPI_REFUSAL_PERMANENT;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasestr(msg->valuestring, known[i].words) != NULL)
			return known[i].kind;
	return DOAPI_REFUSAL_PERMANENT;
}

/* An optional whole number in [lo, hi]; absent or null leaves *dst alone. */
static bool
doapi_get_uint(const cJSON *obj, const char *key, unsigned *dst, unsigned lo, unsigned hi,
	       char *err, size_t errsize)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char field[64];

	if (v == NULL || cJSON_IsNull(v))
		return true;
	snprintf(field, sizeof(field), "health_check.%s", key);
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi) ||
	    v->valuedouble != (double)(unsigned)v->valuedouble)
		return doapi_fail(err, errsize, field, "not a whole number in range");
	*dst = (unsigned)v->valuedouble;
	return true;
}

bool
doapi_health_check_parse(const cJSON *lb, struct doapi_health_check *hc, char *err, size_t errsize)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(lb, "health_check");

	*hc = (struct doapi_health_check){ .protocol = "http",
					   .port = 80,
					   .path = "/",
					   .interval_s = 10,
					   .timeout_s = 5,
					   .healthy_after = 3,
					   .unhealthy_after = 5 };
	if (h == NULL || cJSON_IsNull(h))
		return true;
	if (!cJSON_IsObject(h))
		return doapi_fail(err, errsize, "health_check", "not an object");
	if (!doapi_get_str(h, "protocol", hc->protocol, sizeof(hc->protocol), false,
			   "health_check.protocol", err, errsize) ||
	    !doapi_get_str(h, "path", hc->path, sizeof(hc->path), false, "health_check.path", err,
			   errsize))
		return false;
	if (hc->protocol[0] == '\0')
		snprintf(hc->protocol, sizeof(hc->protocol), "http");
	if (hc->path[0] == '\0')
		snprintf(hc->path, sizeof(hc->path), "/");
	if (strcmp(hc->protocol, "http") != 0 && strcmp(hc->protocol, "https") != 0 &&
	    strcmp(hc->protocol, "tcp") != 0)
		return doapi_fail(err, errsize, "health_check.protocol", "not http, https or tcp");
	if (hc->path[0] != '/' || strpbrk(hc->path, " \r\n\t") != NULL)
		return doapi_fail(err, errsize, "health_check.path", "not an absolute path");
	return doapi_get_uint(h, "port", &hc->port, 1, 65535, err, errsize) &&
	       doapi_get_uint(h, "check_interval_seconds", &hc->interval_s, 1, 3600, err,
			      errsize) &&
	       doapi_get_uint(h, "response_timeout_seconds", &hc->timeout_s, 1, 3600, err,
			      errsize) &&
	       doapi_get_uint(h, "healthy_threshold", &hc->healthy_after, 1, 3600, err, errsize) &&
	       doapi_get_uint(h, "unhealthy_threshold", &hc->unhealthy_after, 1, 3600, err,
			      errsize);
}

bool
doapi_health_reply_ok(const char *head, size_t len)
{
	/* "HTTP/1.1 200": the version's digits, one space, three digits. */
	if (len < 12 || memcmp(head, "HTTP/", 5) != 0 || !isdigit((unsigned char)head[5]) ||
	    head[6] != '.' || !isdigit((unsigned char)head[7]) || head[8] != ' ')
		return false;
	for (int i = 9; i < 12; i++)
		if (!isdigit((unsigned char)head[i]))
			return false;
	return (head[9] == '2' || head[9] == '3') &&
	       (len == 12 || head[12] == ' ' || head[12] == '\r' || head[12] == '\n');
}
