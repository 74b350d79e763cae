/*
 * Unit tests for common/hookmsg.c: the hook script's environment, the
 * webhook's JSON, the lifecycle answer, the loggable part of a URL, the
 * backoff.
 */
#include <errno.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "hookmsg.h"

static const struct hookmsg_event ev = {
	.event = "node_dead",
	.node_id = 9007199254740993ULL, /* 2^53 + 1: not a double */
	.node_name = "web-3\n\x1b[31m",
	.node_address = "10.0.0.3",
	.detail = "silent for 5s",
	.cluster = "prod",
	.self_id = 42,
	.term = 7,
	.time_ms = 1795298910123ULL,
};

static const char *
find(char **env, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; env[i] != NULL; i++)
		if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
			return env[i] + n + 1;
	return NULL;
}

TEST(hookmsg_env_sets_ours_and_drops_stale_ones)
{
	char b0[] = "PATH=/bin", b1[] = "MITOSIS_EVENT=stale", b2[] = "MITOSIS_X=1",
	     b3[] = "HOME=/";
	char *base[] = { b0, b1, b2, b3, NULL };
	char **env = NULL;
	size_t n = 0;

	ASSERT_OK(hookmsg_env(&ev, base, &env));
	ASSERT(strcmp(find(env, "MITOSIS_EVENT"), "node_dead") == 0);
	ASSERT(strcmp(find(env, "MITOSIS_NODE_ID"), "9007199254740993") == 0);
	ASSERT(strcmp(find(env, "MITOSIS_NODE_NAME"), "web-3??[31m") == 0);
	ASSERT(strcmp(find(env, "MITOSIS_NODE_ADDRESS"), "10.0.0.3") == 0);
	ASSERT(strcmp(find(env, "MITOSIS_DETAIL"), "silent for 5s") == 0);
	ASSERT(strcmp(find(env, "MITOSIS_CLUSTER"), "prod") == 0);
	ASSERT(strcmp(find(env, "MITOSIS_SELF_ID"), "42") == 0);
	ASSERT(strcmp(find(env, "MITOSIS_TERM"), "7") == 0);
	ASSERT(strcmp(find(env, "MITOSIS_TIME"), "1795298910123") == 0);
	ASSERT(strcmp(find(env, "PATH"), "/bin") == 0);
	ASSERT(find(env, "MITOSIS_X") == NULL);
	while (env[n] != NULL)
		n++;
	ASSERT_EQ(n, HOOKMSG_VARS + 2);
	hookmsg_env_free(env);
	hookmsg_env_free(NULL);
}

TEST(hookmsg_env_null_fields_are_empty)
{
	struct hookmsg_event e = { .event = "leader_changed" };
	char **env = NULL;

	ASSERT_OK(hookmsg_env(&e, NULL, &env));
	ASSERT(strcmp(find(env, "MITOSIS_NODE_NAME"), "") == 0);
	ASSERT(strcmp(find(env, "MITOSIS_NODE_ID"), "0") == 0);
	hookmsg_env_free(env);
}

TEST(hookmsg_json_fields)
{
	char *s = hookmsg_json(&ev);
	cJSON *o = cJSON_Parse(s);

	ASSERT(o != NULL);
	ASSERT(strcmp(cJSON_GetObjectItem(o, "event")->valuestring, "node_dead") == 0);
	ASSERT(strcmp(cJSON_GetObjectItem(o, "node_id")->valuestring, "9007199254740993") == 0);
	ASSERT(strcmp(cJSON_GetObjectItem(o, "node_name")->valuestring, "web-3??[31m") == 0);
	ASSERT(strcmp(cJSON_GetObjectItem(o, "from")->valuestring, "42") == 0);
	ASSERT(strcmp(cJSON_GetObjectItem(o, "time")->valuestring, "2026-11-21T22:08:30.123Z") ==
	       0);
	ASSERT_EQ(cJSON_GetObjectItem(o, "term")->valuedouble, 7);
	ASSERT(strchr(s, '\n') == NULL);
	cJSON_Delete(o);
	free(s);
}

TEST(hookmsg_answer_reads_more)
{
	uint64_t ms = 99;

	ASSERT_EQ(hookmsg_answer("", 0, &ms), 0);
	ASSERT_EQ(ms, 0);
	ASSERT_EQ(hookmsg_answer("draining\n", 9, &ms), 0);
	ASSERT_EQ(hookmsg_answer("draining\n  more 30s \n", 22, &ms), 1);
	ASSERT_EQ(ms, 30000);
	ASSERT_EQ(hookmsg_answer("more 2m", 7, &ms), 1);
	ASSERT_EQ(ms, 120000);
	ASSERT_EQ(hookmsg_answer("more 100h", 9, &ms), 1);
	ASSERT_EQ(ms, HOOKMSG_MORE_MAX_MS);
	ASSERT_EQ(hookmsg_answer("more soon", 9, &ms), -EINVAL);
	ASSERT_EQ(hookmsg_answer("more", 4, &ms), 0); /* not a request: no duration */
	ASSERT_EQ(hookmsg_answer("moreover 3s", 11, &ms), 0);
	/* Not NUL-terminated: only len bytes are read. */
	ASSERT_EQ(hookmsg_answer("more 5sXXXX", 7, &ms), 1);
	ASSERT_EQ(ms, 5000);
}

TEST(hookmsg_origin_hides_the_secret)
{
	char out[300];

	hookmsg_origin("https://hooks.example.com/services/T000/SECRET?token=abc", out,
		       sizeof(out));
	ASSERT(strcmp(out, "https://hooks.example.com") == 0);
	hookmsg_origin("http://user:pass@127.0.0.1:8080/x", out, sizeof(out));
	ASSERT(strcmp(out, "http://127.0.0.1:8080") == 0);
	hookmsg_origin("nonsense", out, sizeof(out));
	ASSERT(strcmp(out, "(not a URL)") == 0);
}

TEST(hookmsg_backoff_doubles_to_a_cap)
{
	ASSERT_EQ(hookmsg_backoff_ms(1, 0), 1000);
	ASSERT_EQ(hookmsg_backoff_ms(2, 0), 2000);
	ASSERT_EQ(hookmsg_backoff_ms(3, 0), 4000);
	ASSERT_EQ(hookmsg_backoff_ms(20, 0), 60000);
	ASSERT_EQ(hookmsg_backoff_ms(1, UINT32_MAX), 750);
	ASSERT_GE(hookmsg_backoff_ms(7, 12345), 45000);
}
