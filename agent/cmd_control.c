/*
 * cmd_control: what `mitosis members` and `mitosis status` have in common.
 * Both pick the socket (-s PATH, else $MITOSIS_SOCKET, else the default the
 * agent uses), send one request, print the reply, and turn each way of
 * failing into one clear sentence and an exit code: "no agent is running" is
 * its own code (3), so scripts can tell it from a real failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cmd.h"
#include "cmd_control.h"
#include "control.h"

void
cmd_control_help_options(FILE *out)
{
	fprintf(out, "Options:\n"
		     "  --json     print the JSON document instead of the text\n"
		     "  -s PATH    the agent's control socket; default $MITOSIS_SOCKET, else\n"
		     "             " CONTROL_DEFAULT_PATH "\n"
		     "\nExit status: 0 success, 1 failure (permission denied, no answer, an error\n"
		     "from the agent), 2 usage error, 3 no agent is running.\n");
}

/* Prints the agent's {"error":"..."} reply; permission has its own words. */
static int
cmd_control_agent_error(const char *name, const char *path, const char *reply)
{
	cJSON *doc = cJSON_Parse(reply);
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
	const char *msg = cJSON_IsString(e) ? e->valuestring : "an unreadable error";

	if (strcmp(msg, "permission denied") == 0)
		fprintf(stderr,
			"mitosis %s: permission denied by the agent on %s (run as root or "
			"as the agent's user)\n",
			name, path);
	else
		fprintf(stderr, "mitosis %s: the agent on %s says: %s\n", name, path, msg);
	cJSON_Delete(doc);
	return 1;
}

static int
cmd_control_failed(const char *name, const char *path, int err)
{
	switch (err) {
	case -ENOENT:
	case -ECONNREFUSED:
		fprintf(stderr, "mitosis %s: no agent is running (nothing listens on %s)\n", name,
			path);
		return EXIT_NO_AGENT;
	case -EACCES:
	case -EPERM:
		fprintf(stderr,
			"mitosis %s: permission denied on %s (run as root or as the "
			"agent's user)\n",
			name, path);
		return 1;
	case -ETIMEDOUT:
		fprintf(stderr, "mitosis %s: the agent on %s did not answer within %d s\n", name,
			path, CONTROL_TIMEOUT_MS / 1000);
		return 1;
	default:
		fprintf(stderr, "mitosis %s: %s: %s\n", name, path, strerror(-err));
		return 1;
	}
}

static const char *
cmd_control_path(const char *flag)
{
	const char *env = getenv("MITOSIS_SOCKET");

	if (flag != NULL)
		return flag;
	return env != NULL && env[0] != '\0' ? env : CONTROL_DEFAULT_PATH;
}

/* getopt: --json, -s PATH, -h. Returns -1 to go on, else an exit code. */
static int
cmd_control_options(const char *name, int argc, char **argv, bool *json, const char **sock)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		if (c == 'j') {
			*json = true;
		} else if (c == 's') {
			*sock = optarg;
		} else if (c == 'h') {
			cmd_usage(stdout, name);
			cmd_control_help_options(stdout);
			return 0;
		} else {
			cmd_usage(stderr, name);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		cmd_usage(stderr, name);
		return EXIT_USAGE;
	}
	return -1;
}

int
cmd_control_run(const char *name, int argc, char **argv)
{
	const char *sock = NULL, *path;
	char request[64], *reply = NULL;
	bool json = false;
	size_t len;
	int r;

	if ((r = cmd_control_options(name, argc, argv, &json, &sock)) >= 0)
		return r;
	path = cmd_control_path(sock);
	snprintf(request, sizeof(request), "%s%s", name, json ? " json" : "");
	r = control_query(path, request, CONTROL_TIMEOUT_MS, &reply);
	if (r != 0)
		return cmd_control_failed(name, path, r);
	len = strlen(reply);
	if (len == 0) {
		fprintf(stderr,
			"mitosis %s: the agent on %s closed the connection without an "
			"answer (too many clients?)\n",
			name, path);
		r = 1;
	} else if (strncmp(reply, "{\"error\":", 9) == 0) {
		r = cmd_control_agent_error(name, path, reply);
	} else {
		fputs(reply, stdout);
		if (reply[len - 1] != '\n')
			putchar('\n');
		r = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
	}
	free(reply);
	return r;
}
