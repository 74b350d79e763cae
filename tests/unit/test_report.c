/*
 * Unit tests for common/report.c: the JSON documents are parsed back with
 * cJSON and every field checked; the text table is checked for alignment
 * with a long, escaped peer name; the status text for its figures.
 */
#include <arpa/inet.h>
#include <math.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "report.h"

#define NOW 1000000000ULL

static struct swim_member
mk(uint64_t id, const char *name, enum swim_state st, const char *ip, uint16_t port)
{
	struct swim_member m;

	memset(&m, 0, sizeof(m));
	m.id = id;
	m.incarnation = 1700000000000ULL + id;
	m.state = st;
	snprintf(m.name, sizeof(m.name), "%s", name);
	if (strchr(ip, ':') != NULL) {
		m.addr.family = 6;
		ASSERT_EQ(inet_pton(AF_INET6, ip, m.addr.ip), 1);
	} else {
		m.addr.family = 4;
		ASSERT_EQ(inet_pton(AF_INET, ip, m.addr.ip), 1);
	}
	m.addr.port = port;
	m.updated = NOW - 1500;
	return m;
}

static void
set_load(struct swim_member *m, uint32_t version, uint16_t cpu, uint16_t load1, uint16_t mem,
	 bool has_custom, int64_t custom)
{
	m->load.version = version;
	m->load.cpu_permille = cpu;
	m->load.load1_permille = load1;
	m->load.mem_permille = mem;
	m->load.has_custom = has_custom;
	m->load.custom_milli = custom;
	m->load_updated = NOW - 800;
}

/* Three members: us (web-1), a peer with a custom metric on IPv6, and a
 * newcomer with no sample yet. */
struct fixture {
	struct swim_member m[3];
	const struct swim_member *p[3];
};

static void
fixture_init(struct fixture *f)
{
	f->m[0] = mk(4242, "web-2", SWIM_SUSPECT, "2001:db8::7", 7950);
	set_load(&f->m[0], 12, 123, 250, 410, true, -1500);
	f->m[1] = mk(17, "web-1", SWIM_ALIVE, "10.0.0.2", 7950);
	set_load(&f->m[1], 3, 1000, 1234, 5, false, 0);
	f->m[2] = mk(99, "new", SWIM_ALIVE, "10.0.0.9", 7951);
	f->m[2].updated = NOW + 5; /* in the future: age reads 0, not a huge number */
	for (int i = 0; i < 3; i++)
		f->p[i] = &f->m[i];
}

static double
num(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(it))
		harness_fail(__FILE__, __LINE__, "\"%s\" is not a number", key);
	return it->valuedouble;
}

static void
assert_null(const cJSON *obj, const char *key)
{
	if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, key)))
		harness_fail(__FILE__, __LINE__, "\"%s\" is not null", key);
}

static const char *
str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsString(it))
		harness_fail(__FILE__, __LINE__, "\"%s\" is not a string", key);
	return it->valuestring;
}

#define ASSERT_NUM(obj, key, v) ASSERT_TRUE(fabs(num((obj), (key)) - (v)) < 1e-9)

TEST(report_members_json_fields)
{
	struct fixture f;
	char *s;
	cJSON *doc, *e, *load;

	fixture_init(&f);
	s = report_members_json(f.p, 3, 17, NOW);
	ASSERT_NOT_NULL(s);
	doc = cJSON_Parse(s);
	ASSERT_NOT_NULL(doc);
	ASSERT_TRUE(cJSON_IsArray(doc));
	ASSERT_EQ(cJSON_GetArraySize(doc), 3);
	/* Sorted by name: new, web-1, web-2. */
	e = cJSON_GetArrayItem(doc, 1);
	ASSERT_NUM(e, "id", 17);
	ASSERT_STR_EQ(str(e, "name"), "web-1");
	ASSERT_STR_EQ(str(e, "addr"), "10.0.0.2:7950");
	ASSERT_STR_EQ(str(e, "state"), swim_state_name(SWIM_ALIVE));
	ASSERT_NUM(e, "incarnation", 1700000000017.0);
	ASSERT_TRUE(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "self")));
	ASSERT_NUM(e, "age_ms", 1500);
	ASSERT_NUM(e, "load_age_ms", 800);
	load = cJSON_GetObjectItemCaseSensitive(e, "load");
	ASSERT_NUM(load, "version", 3);
	ASSERT_NUM(load, "cpu", 1.0);
	ASSERT_NUM(load, "load1_per_cpu", 1.234);
	ASSERT_NUM(load, "mem", 0.005);
	assert_null(load, "custom");

	e = cJSON_GetArrayItem(doc, 2);
	ASSERT_NUM(e, "id", 4242);
	ASSERT_STR_EQ(str(e, "addr"), "[2001:db8::7]:7950");
	ASSERT_STR_EQ(str(e, "state"), swim_state_name(SWIM_SUSPECT));
	ASSERT_TRUE(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e, "self")));
	load = cJSON_GetObjectItemCaseSensitive(e, "load");
	ASSERT_NUM(load, "version", 12);
	ASSERT_NUM(load, "cpu", 0.123);
	ASSERT_NUM(load, "load1_per_cpu", 0.25);
	ASSERT_NUM(load, "mem", 0.41);
	ASSERT_NUM(load, "custom", -1.5);

	e = cJSON_GetArrayItem(doc, 0);
	ASSERT_STR_EQ(str(e, "name"), "new");
	ASSERT_NUM(e, "age_ms", 0);
	assert_null(e, "load_age_ms");
	load = cJSON_GetObjectItemCaseSensitive(e, "load");
	ASSERT_NUM(load, "version", 0);
	assert_null(load, "cpu");
	assert_null(load, "load1_per_cpu");
	assert_null(load, "mem");
	assert_null(load, "custom");
	/* Decimal text exactly as written, not through a double. */
	ASSERT_STR_CONTAINS(s,
			    "\"cpu\":0.123,\"load1_per_cpu\":0.25,\"mem\":0.41,\"custom\":-1.5}");
	cJSON_Delete(doc);
	free(s);
}

TEST(report_members_json_exact_and_hostile)
{
	struct swim_member m = mk(UINT64_MAX - 2, "", SWIM_DEAD, "192.0.2.1", 1);
	const struct swim_member *p = &m;
	char *s;
	cJSON *doc;

	m.incarnation = (1ULL << 53) + 1;
	memcpy(m.name, "a\"b\\c\x01\xff", 8);
	set_load(&m, 1, 0, 0, 0, true, INT64_MIN);
	s = report_members_json(&p, 1, 0, NOW);
	ASSERT_NOT_NULL(s);
	ASSERT_STR_CONTAINS(s, "\"id\":18446744073709551613,");
	ASSERT_STR_CONTAINS(s, "\"incarnation\":9007199254740993,");
	ASSERT_STR_CONTAINS(s, "\"custom\":-9223372036854775.808}");
	doc = cJSON_Parse(s);
	ASSERT_NOT_NULL(doc);
	/* Not UTF-8 (0xff), so it arrives as the log_escape form. */
	ASSERT_STR_EQ(str(cJSON_GetArrayItem(doc, 0), "name"), "a\\\"b\\\\c\\x01\\xff");
	cJSON_Delete(doc);
	free(s);

	/* Valid UTF-8 passes through; a quote is JSON-escaped by cJSON. */
	snprintf(m.name, sizeof(m.name),
		 "w\xc3\xa9"
		 "b \"1\"");
	s = report_members_json(&p, 1, 0, NOW);
	doc = cJSON_Parse(s);
	ASSERT_NOT_NULL(doc);
	ASSERT_STR_EQ(str(cJSON_GetArrayItem(doc, 0), "name"), "w\xc3\xa9"
							       "b \"1\"");
	cJSON_Delete(doc);
	free(s);

	/* An overlong encoding and a lone surrogate are not UTF-8. */
	snprintf(m.name, sizeof(m.name), "\xc0\xaf|\xed\xa0\x80");
	s = report_members_json(&p, 1, 0, NOW);
	ASSERT_STR_CONTAINS(s, "\"name\":\"\\\\xc0\\\\xaf|\\\\xed\\\\xa0\\\\x80\"");
	free(s);

	/* An overlong three-byte form of '/'. */
	snprintf(m.name, sizeof(m.name), "\xe0\x80\xaf");
	s = report_members_json(&p, 1, 0, NOW);
	ASSERT_STR_CONTAINS(s, "\"name\":\"\\\\xe0\\\\x80\\\\xaf\"");
	free(s);

	/* A name filling all 64 bytes with no NUL is cut, never overread. */
	memset(m.name, 'x', sizeof(m.name));
	s = report_members_json(&p, 1, 0, NOW);
	doc = cJSON_Parse(s);
	ASSERT_NOT_NULL(doc);
	ASSERT_EQ(strlen(str(cJSON_GetArrayItem(doc, 0), "name")), 64);
	cJSON_Delete(doc);
	free(s);
}

TEST(report_members_json_empty)
{
	char *s = report_members_json(NULL, 0, 1, NOW);

	ASSERT_STR_EQ(s, "[]");
	free(s);
}

/* Where a column starts: the offset of its title in the header line. */
static size_t
col_start(const char *header, const char *title)
{
	const char *p = strstr(header, title);

	ASSERT_NOT_NULL(p);
	return (size_t)(p - header);
}

TEST(report_members_text_alignment)
{
	struct fixture f;
	const struct swim_member *p[4];
	struct swim_member hostile;
	char *s, *lines[6], *save = NULL;
	size_t n = 0, len0, name_col, state_col;

	fixture_init(&f);
	hostile = mk(7, "", SWIM_LEFT, "10.0.0.77", 7950);
	/* 63 bytes, every one of them expanding under escaping. */
	memset(hostile.name, '\x01', sizeof(hostile.name) - 1);
	hostile.name[0] = '"';
	hostile.updated = NOW - 3723000; /* 1h02m03s */
	hostile.incarnation = 5;	 /* numbers are right-aligned */
	for (int i = 0; i < 3; i++)
		p[i] = f.p[i];
	p[3] = &hostile;
	s = report_members_text(p, 4, 17, NOW);
	ASSERT_NOT_NULL(s);
	for (char *l = strtok_r(s, "\n", &save); l != NULL && n < 6;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	ASSERT_EQ(n, 5);
	ASSERT_EQ(strncmp(lines[0], "ID    NAME", 10), 0);
	len0 = strlen(lines[0]);
	name_col = col_start(lines[0], "NAME");
	state_col = col_start(lines[0], "STATE");
	for (size_t i = 1; i < n; i++) {
		ASSERT_EQ(strlen(lines[i]), len0);
		ASSERT_EQ(lines[i][name_col - 1], ' ');
		ASSERT_NE(lines[i][name_col], ' ');
		ASSERT_EQ(lines[i][state_col - 1], ' ');
		ASSERT_NE(lines[i][state_col], ' ');
	}
	/* Sorted by name: the hostile one (starts with '"') comes first. */
	ASSERT_STR_CONTAINS(lines[1], "7     \\\"\\x01\\x01");
	ASSERT_STR_CONTAINS(lines[1], "  left                 5       -");
	ASSERT_EQ(strstr(lines[1], "\x01"), NULL);
	ASSERT_STR_CONTAINS(lines[1], "  -  1h02m");
	/* "new": no sample yet, age in the future reads 0ms. */
	ASSERT_STR_CONTAINS(lines[2], "99    new");
	ASSERT_STR_CONTAINS(lines[2], "1700000000099       -      -      -       -    0ms");
	ASSERT_STR_CONTAINS(lines[3], "17*   web-1");
	ASSERT_STR_CONTAINS(lines[3], "10.0.0.2:7950");
	ASSERT_STR_CONTAINS(lines[3], "1700000000017  100.0%   1.23   0.5%       -   1.5s");
	ASSERT_STR_CONTAINS(lines[4], "4242  web-2");
	ASSERT_STR_CONTAINS(lines[4], "[2001:db8::7]:7950");
	ASSERT_STR_CONTAINS(lines[4], "  12.3%   0.25  41.0%    -1.5   1.5s");
	free(s);
}

TEST(report_members_text_empty)
{
	char *s = report_members_text(NULL, 0, 1, NOW);

	ASSERT_STR_EQ(s, "ID  NAME  ADDRESS  STATE  INC  CPU  LOAD1  MEM  CUSTOM  AGE\n");
	free(s);
}

static void
status_init(struct report_status *st, const struct fixture *f)
{
	memset(st, 0, sizeof(*st));
	st->node_id = 17;
	st->name = "web-1";
	st->cluster = "web-tier";
	st->incarnation = 1700000000017ULL;
	st->addr = f->m[1].addr;
	st->uptime_ms = 7384000; /* 2h03m04s */
	report_status_tally(st, f->p, 3);
	st->dgrams_in = 1234;
	st->dgrams_out = 1200;
	st->bytes_in = 56789;
	st->bytes_out = 55000;
	for (int v = 0; v < WIRE_VERDICT_COUNT; v++)
		st->verdicts[v] = (uint64_t)v * 10;
	st->verdicts[WIRE_ACCEPT] = 1100;
	st->verdicts[WIRE_DROP_REPLAY] = 0;
	st->swim = (struct swim_stats){ .probes = 1,
					.probe_acks = 2,
					.indirect_probes = 3,
					.nacks_sent = 4,
					.nacks_received = 5,
					.suspicions = 6,
					.refutations = 7,
					.deaths = 8,
					.leaves = 9,
					.joins = 10,
					.msgs_in = 11,
					.msgs_out = 12,
					.bytes_out = 13,
					.decode_errors = 14,
					.confirm_probes = 15,
					.awareness = 16,
					.bad_signatures = 17,
					.key_mismatches = 18,
					.out_of_bounds = 19,
					.unsigned_claims = 20,
					.joining_full = 21,
					.joins_failed = 22,
					.verify_dropped = 23,
					.replies_refused = 24,
					.claims = 25 };
}

TEST(report_status_tally_counts)
{
	struct fixture f;
	struct report_status st;

	fixture_init(&f);
	status_init(&st, &f);
	ASSERT_EQ(st.by_state[SWIM_ALIVE], 2);
	ASSERT_EQ(st.by_state[SWIM_SUSPECT], 1);
	ASSERT_EQ(st.by_state[SWIM_DEAD], 0);
	ASSERT_EQ(st.by_state[SWIM_LEFT], 0);
	/* Only web-1 is ALIVE with a sample. */
	ASSERT_EQ(st.mean.members, 1);
	ASSERT_EQ(st.mean.cpu_permille, 1000);
	ASSERT_EQ(st.mean.custom_members, 0);
}

TEST(report_status_json_fields)
{
	struct fixture f;
	struct report_status st;
	cJSON *doc, *o;
	char *s;

	fixture_init(&f);
	status_init(&st, &f);
	f.m[2].load.version = 1; /* now "new" counts too: cpu 0, custom none */
	report_status_tally(&st, f.p, 3);
	s = report_status_json(&st);
	ASSERT_NOT_NULL(s);
	doc = cJSON_Parse(s);
	ASSERT_NOT_NULL(doc);
	ASSERT_NUM(doc, "id", 17);
	ASSERT_STR_EQ(str(doc, "name"), "web-1");
	ASSERT_STR_EQ(str(doc, "cluster"), "web-tier");
	ASSERT_STR_EQ(str(doc, "addr"), "10.0.0.2:7950");
	ASSERT_NUM(doc, "incarnation", 1700000000017.0);
	ASSERT_NUM(doc, "uptime_ms", 7384000);
	o = cJSON_GetObjectItemCaseSensitive(doc, "members");
	ASSERT_NUM(o, swim_state_name(SWIM_ALIVE), 2);
	ASSERT_NUM(o, swim_state_name(SWIM_SUSPECT), 1);
	ASSERT_NUM(o, swim_state_name(SWIM_DEAD), 0);
	ASSERT_NUM(o, swim_state_name(SWIM_LEFT), 0);
	ASSERT_NUM(o, "total", 3);
	o = cJSON_GetObjectItemCaseSensitive(doc, "mean_load");
	ASSERT_NUM(o, "members", 2);
	ASSERT_NUM(o, "cpu", 0.5);
	ASSERT_NUM(o, "load1_per_cpu", 0.617);
	ASSERT_NUM(o, "mem", 0.002);
	assert_null(o, "custom");
	ASSERT_NUM(o, "custom_members", 0);
	o = cJSON_GetObjectItemCaseSensitive(doc, "datagrams");
	ASSERT_NUM(o, "in", 1234);
	ASSERT_NUM(o, "out", 1200);
	ASSERT_NUM(o, "bytes_in", 56789);
	ASSERT_NUM(o, "bytes_out", 55000);
	ASSERT_NUM(o, "accepted", 1100);
	o = cJSON_GetObjectItemCaseSensitive(o, "drops");
	ASSERT_EQ(cJSON_GetArraySize(o), WIRE_VERDICT_COUNT - 1);
	for (int v = 1; v < WIRE_VERDICT_COUNT; v++)
		ASSERT_NUM(o, wire_verdict_name((enum wire_verdict)v),
			   v == WIRE_DROP_REPLAY ? 0 : v * 10);
	o = cJSON_GetObjectItemCaseSensitive(doc, "swim");
	ASSERT_EQ(cJSON_GetArraySize(o), 25);
	ASSERT_NUM(o, "probes", 1);
	ASSERT_NUM(o, "probe_acks", 2);
	ASSERT_NUM(o, "indirect_probes", 3);
	ASSERT_NUM(o, "nacks_sent", 4);
	ASSERT_NUM(o, "nacks_received", 5);
	ASSERT_NUM(o, "suspicions", 6);
	ASSERT_NUM(o, "refutations", 7);
	ASSERT_NUM(o, "deaths", 8);
	ASSERT_NUM(o, "leaves", 9);
	ASSERT_NUM(o, "joins", 10);
	ASSERT_NUM(o, "msgs_in", 11);
	ASSERT_NUM(o, "msgs_out", 12);
	ASSERT_NUM(o, "bytes_out", 13);
	ASSERT_NUM(o, "decode_errors", 14);
	ASSERT_NUM(o, "confirm_probes", 15);
	ASSERT_NUM(o, "awareness", 16);
	ASSERT_NUM(o, "bad_signatures", 17);
	ASSERT_NUM(o, "key_mismatches", 18);
	ASSERT_NUM(o, "out_of_bounds", 19);
	ASSERT_NUM(o, "unsigned_claims", 20);
	ASSERT_NUM(o, "joining_full", 21);
	ASSERT_NUM(o, "joins_failed", 22);
	ASSERT_NUM(o, "verify_dropped", 23);
	ASSERT_NUM(o, "replies_refused", 24);
	ASSERT_NUM(o, "claims", 25);
	cJSON_Delete(doc);
	free(s);
}

TEST(report_status_json_no_samples_and_custom_mean)
{
	struct report_status st;
	cJSON *doc, *o;
	char *s;

	memset(&st, 0, sizeof(st));
	s = report_status_json(&st);
	doc = cJSON_Parse(s);
	ASSERT_NOT_NULL(doc);
	ASSERT_STR_EQ(str(doc, "name"), "");
	ASSERT_STR_EQ(str(doc, "addr"), "-");
	o = cJSON_GetObjectItemCaseSensitive(doc, "mean_load");
	ASSERT_NUM(o, "members", 0);
	assert_null(o, "cpu");
	assert_null(o, "load1_per_cpu");
	assert_null(o, "mem");
	assert_null(o, "custom");
	cJSON_Delete(doc);
	free(s);
	st.mean.members = 3;
	st.mean.custom_members = 2;
	st.mean.custom_milli = 120500;
	s = report_status_json(&st);
	ASSERT_STR_CONTAINS(s, "\"custom\":120.5,\"custom_members\":2}");
	free(s);
}

TEST(report_status_text_lines)
{
	struct fixture f;
	struct report_status st;
	char *s, want[128];

	fixture_init(&f);
	status_init(&st, &f);
	st.name = "evil\n\"name\"";
	s = report_status_text(&st);
	ASSERT_NOT_NULL(s);
	ASSERT_STR_CONTAINS(s, "node 17 \"evil\\x0a\\\"name\\\"\" at 10.0.0.2:7950, cluster "
			       "\"web-tier\", incarnation 1700000000017, up 2h03m\n");
	snprintf(want, sizeof(want), "members: 3 (2 %s, 1 %s, 0 %s, 0 %s)\n",
		 swim_state_name(SWIM_ALIVE), swim_state_name(SWIM_SUSPECT),
		 swim_state_name(SWIM_DEAD), swim_state_name(SWIM_LEFT));
	ASSERT_STR_CONTAINS(s, want);
	ASSERT_STR_CONTAINS(s, "mean load over 1 alive member: cpu 100.0%, load1/cpu 1.23, "
			       "mem 0.5%\n");
	ASSERT_STR_CONTAINS(s, "datagrams: in 1234 (56789 bytes), out 1200 (55000 bytes), "
			       "accepted 1100\n");
	ASSERT_STR_CONTAINS(
		s, "drops: truncated 10, oversized 20, malformed 30, wrong-cluster 40, "
		   "unknown-key 50, bad-tag 60, over-budget 70, bad-signature 90, stale 100, "
		   "future 110\n");
	ASSERT_STR_CONTAINS(s, "swim: probes 1 (15 confirming), acks 2, indirect 3, nacks 4/5 "
			       "sent/received, suspicions 6, refutations 7, deaths 8, leaves 9, "
			       "joins 10, decode errors 14, awareness 16\n");
	free(s);

	memset(&st, 0, sizeof(st));
	st.mean.members = 2;
	st.mean.custom_members = 1;
	st.mean.custom_milli = -250;
	s = report_status_text(&st);
	ASSERT_STR_CONTAINS(s, "members: 0 (0 ");
	ASSERT_STR_CONTAINS(s, ", custom -0.25 (1 reporting)\n");
	ASSERT_STR_CONTAINS(s, "drops: none\n");
	free(s);
	st.mean.members = 0;
	s = report_status_text(&st);
	ASSERT_STR_CONTAINS(s, "mean load: no samples from alive members yet\n");
	free(s);
}
