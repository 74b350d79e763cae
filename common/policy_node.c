/*
 * policy_node: builds the policy's view of one droplet (struct policy_node)
 * from the inventory (struct doapi_droplet) and the member table (struct
 * swim_member), with the small parsers that takes: DigitalOcean's status and
 * created_at, and the op tag.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "doapi.h"
#include "policy.h"

#define POLICY_OP_PREFIX   "mitosis-op-"
#define POLICY_PROTECT_TAG "mitosis-protect"

int
policy_parse_status(const char *s, enum policy_status *st)
{
	static const char *const names[] = { "new", "active", "off", "archive" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*st = (enum policy_status)i;
			return 0;
		}
	}
	return -EINVAL;
}

uint64_t
policy_op_id(const char *tag)
{
	size_t plen = strlen(POLICY_OP_PREFIX);
	uint64_t v = 0;

	if (strncmp(tag, POLICY_OP_PREFIX, plen) != 0 || strlen(tag) != plen + 12)
		return 0;
	for (const char *p = tag + plen; *p != '\0'; p++) {
		int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			return 0;
		v = v << 4 | (uint64_t)d;
	}
	return v;
}

/* Reads exactly n digits at s. */
static bool
policy_digits(const char *s, int n, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). */
static int64_t
policy_days(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = y / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

int
policy_parse_time(const char *s, uint64_t *unix_s)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, sec;
	const char *p = s + 19;

	if (strlen(s) < 20 || !policy_digits(s, 4, &y) || s[4] != '-' ||
	    !policy_digits(s + 5, 2, &mo) || s[7] != '-' || !policy_digits(s + 8, 2, &d) ||
	    s[10] != 'T' || !policy_digits(s + 11, 2, &h) || s[13] != ':' ||
	    !policy_digits(s + 14, 2, &mi) || s[16] != ':' || !policy_digits(s + 17, 2, &sec))
		return -EINVAL;
	if (*p == '.') { /* a fraction: read and dropped */
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
		if (p == s + 20)
			return -EINVAL;
	}
	if (strcmp(p, "Z") != 0 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	if (mo == 2 && d == 29 && (y % 4 != 0 || (y % 100 == 0 && y % 400 != 0)))
		return -EINVAL; /* not a leap year */
	*unix_s = (uint64_t)policy_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	return 0;
}

int
policy_node_from_droplet(struct policy_node *n, const struct doapi_droplet *d,
			 const char *cluster_tag, uint64_t price_uusd)
{
	int r = 0;

	memset(n, 0, sizeof(*n));
	n->id = d->id;
	n->price_uusd = price_uusd;
	if (policy_parse_status(d->status, &n->status) != 0) {
		n->status = POLICY_ST_ARCHIVE;
		r = -EINVAL;
	}
	if (d->created_at[0] != '\0' && policy_parse_time(d->created_at, &n->created_s) != 0) {
		n->created_s = 0;
		r = -EINVAL;
	}
	for (size_t i = 0; i < d->ntags && i < DOAPI_MAX_TAGS; i++) {
		if (n->op_id == 0)
			n->op_id = policy_op_id(d->tags[i]);
		if (strcmp(d->tags[i], POLICY_PROTECT_TAG) == 0)
			n->flags |= POLICY_NODE_PROTECT_TAG;
		if (cluster_tag != NULL && strcmp(d->tags[i], cluster_tag) == 0)
			n->flags |= POLICY_NODE_LISTED;
	}
	if (d->public_ipv4[0] != '\0' || d->private_ipv4[0] != '\0')
		n->flags |= POLICY_NODE_HAS_IPV4;
	return r;
}

void
policy_node_set_member(struct policy_node *n, const struct swim_member *m, bool load_valid)
{
	n->flags |= POLICY_NODE_MEMBER;
	if (load_valid)
		n->flags |= POLICY_NODE_LOAD_VALID;
	n->member_state = m->state;
	n->member_since_ms = m->state_since;
	n->load = m->load;
}
