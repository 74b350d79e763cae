/*
 * cmd_control: `mitosis members` and `mitosis status`, which ask a running
 * agent over its control socket; the agent renders the table or the JSON
 * (common/report.c), these only ask and print.
 * Both pick the socket (-s PATH, else the control_socket of -c FILE, else
 * $MITOSIS_SOCKET, else the default the agent uses), send one request, print the reply, and turn
 * each way of failing into one clear sentence and an exit code: "no agent is running" is its own
 * code (3), so scripts can tell it from a real failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "cmd.h"
#include "cmd_control.h"
#include "control.h"
#include "history.h"
#include "xmalloc.h"

static void
cmd_control_help_options(FILE *out)
{
	fprintf(out, "Options:\n"
		     "  --json     print the JSON document instead of the text\n"
		     "  -s PATH    the agent's control socket; default $MITOSIS_SOCKET, else\n"
		     "             " CONTROL_DEFAULT_PATH "\n"
		     "  -c FILE    take the socket from the control_socket of this configuration\n"
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

/* ---- what both share ---- */

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

struct cmd_control_args {
	bool json;
	bool operands;	    /* the verb takes operands (leader), and --yes */
	bool yes;	    /* --yes */
	bool counted;	    /* the verb takes -n N (history) */
	const char *n;	    /* -n N */
	const char *sock;   /* -s PATH */
	const char *config; /* -c FILE */
};

/* The socket: -s, else -c FILE's control_socket, else $MITOSIS_SOCKET, else the
 * default. NULL after printing why the configuration could not be read. */
static char *
cmd_control_path(const struct cmd_control_args *a)
{
	const char *env = getenv("MITOSIS_SOCKET");
	struct cfg *cfg;
	char *path;

	if (a->sock != NULL)
		return xstrdup(a->sock);
	if (a->config != NULL) {
		if ((cfg = cmd_load_config(a->config, NULL, 0, false)) == NULL)
			return NULL;
		path = xstrdup(cfg->control_socket);
		cfg_free(cfg);
		return path;
	}
	return xstrdup(env != NULL && env[0] != '\0' ? env : CONTROL_DEFAULT_PATH);
}

/* getopt: --json, -s PATH, -c FILE, -h, and for a verb with operands --yes.
 * Returns -1 to go on, else an exit code. */
static int
cmd_control_options(const struct cmd_entry *cmd, int argc, char **argv, struct cmd_control_args *a)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	/* Without operands, --yes is unknown: the same table minus its last row. */
	static const struct option plain[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct option *o = a->operands ? opts : plain;
	const char *shorts = a->operands ? ":s:c:hy" : a->counted ? ":s:c:hn:" : ":s:c:h";
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shorts, o, NULL)) != -1) {
		if (c == 'n' && a->counted) {
			a->n = optarg;
		} else if (c == 'y') {
			a->yes = true;
		} else if (c == 'j') {
			a->json = true;
		} else if (c == 's') {
			a->sock = optarg;
		} else if (c == 'c') {
			a->config = optarg;
		} else if (c == 'h') {
			cmd_usage(stdout, cmd);
			cmd->help(stdout);
			return 0;
		} else {
			return cmd_bad_option(cmd, c, argv, o);
		}
	}
	if (optind != argc && !a->operands) {
		cmd_usage(stderr, cmd);
		return EXIT_USAGE;
	}
	return -1;
}

/* Sends one request to the agent on `path` and prints its reply; the exit code. */
static int
cmd_control_ask(const char *name, const char *path, const char *request)
{
	char *reply = NULL;
	size_t len;
	int r;

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

static int
cmd_control_run(const struct cmd_entry *cmd, int argc, char **argv)
{
	struct cmd_control_args a = { 0 };
	char request[64], *path;
	int r;

	if ((r = cmd_control_options(cmd, argc, argv, &a)) >= 0)
		return r;
	if ((path = cmd_control_path(&a)) == NULL)
		return 1;
	snprintf(request, sizeof(request), "%s%s", cmd->name, a.json ? " json" : "");
	r = cmd_control_ask(cmd->name, path, request);
	free(path);
	return r;
}

/* ---- members ---- */

static int cmd_members_main(int argc, char **argv);
static void cmd_members_help(FILE *out);

const struct cmd_entry cmd_members_entry = {
	"members",
	cmd_members_main,
	"members [--json] [-s PATH | -c FILE]",
	"list the cluster's members as this node's agent sees them",
	cmd_members_help,
};

static void
cmd_members_help(FILE *out)
{
	cmd_control_help_options(out);
	fprintf(out,
		"\nColumns: ID (* marks this node), NAME, ADDRESS, STATE (alive, suspect, dead,\n"
		"left), INC (incarnation), CPU (utilisation, averaged over load_window), LOAD1\n"
		"(1-minute load average per CPU), MEM (memory in use), CUSTOM (the custom "
		"metric),\n"
		"AGE (since anything about the member last changed). '-' is a value not known\n"
		"yet. Member names come from peers and are printed escaped.\n");
}

static int
cmd_members_main(int argc, char **argv)
{
	return cmd_control_run(&cmd_members_entry, argc, argv);
}

/* ---- status ---- */

static int cmd_status_main(int argc, char **argv);
static void cmd_status_help(FILE *out);

const struct cmd_entry cmd_status_entry = {
	"status",
	cmd_status_main,
	"status [--json] [-s PATH | -c FILE]",
	"show this node's view: members by state, mean load, traffic, drops",
	cmd_status_help,
};

static void
cmd_status_help(FILE *out)
{
	cmd_control_help_options(out);
	fprintf(out,
		"\nThe mean load is over the alive members that have sent a sample; the custom\n"
		"metric's mean is over those that report one. docs/load.md describes every\n"
		"field of the JSON document.\n");
}

static int
cmd_status_main(int argc, char **argv)
{
	return cmd_control_run(&cmd_status_entry, argc, argv);
}

/* ---- leader ---- */

static int cmd_leader_main(int argc, char **argv);
static void cmd_leader_help(FILE *out);

const struct cmd_entry cmd_leader_entry = {
	"leader",
	cmd_leader_main,
	"leader [transfer [NODE] | step-down | force-recover [--yes]] [--json] [-s PATH | -c FILE]",
	"show who leads the cluster; hand leadership over, step down, or recover a lost quorum",
	cmd_leader_help,
};

static void
cmd_leader_help(FILE *out)
{
	cmd_control_help_options(out);
	fprintf(out,
		"  --yes      force-recover without asking (needed when stdin is not a terminal)\n"
		"\nWithout a command: the leader, its term and lease left, this node's role,\n"
		"the voter set and which voters are alive, the admission mode, and when the\n"
		"quorum is lost, the recovery step.\n"
		"  transfer [NODE]  (on the leader) hand leadership to NODE, a caught-up voter, "
		"or\n"
		"                   to the best one; a new term begins at once\n"
		"  step-down        (on the leader) give up the lease without naming a successor\n"
		"  force-recover    make THIS node the only voter, in a new term, after a "
		"majority\n"
		"                   of the voters is gone for good. Unsafe while the old majority\n"
		"                   still runs somewhere (two leaders would act): "
		"docs/election.md,\n"
		"                   \"Lost quorum and force-recover\", says when it is safe.\n");
}

/* force-recover asks first: the operator must know the old voters are gone. */
static bool
cmd_leader_confirm(const struct cmd_control_args *a)
{
	char line[64];

	if (a->yes)
		return true;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr,
			"mitosis leader force-recover: stdin is not a terminal; confirm with "
			"--yes\n");
		return false;
	}
	fprintf(stderr,
		"force-recover makes this node the only voter. It is SAFE only if the missing\n"
		"voters are gone for good (destroyed, not just unreachable): if the old majority\n"
		"still runs behind a partition, two leaders will act. Type 'force-recover' to go "
		"on: ");
	if (fgets(line, sizeof(line), stdin) == NULL)
		return false;
	line[strcspn(line, "\n")] = '\0';
	return strcmp(line, "force-recover") == 0;
}

/* The request line for argv's operands; NULL after printing a usage error. */
static char *
cmd_leader_request(const struct cmd_control_args *a, int argc, char **argv)
{
	const char *verb = optind < argc ? argv[optind] : NULL;
	int extra = argc - optind - 1;
	char *end;

	if (verb == NULL)
		return xasprintf("leader%s", a->json ? " json" : "");
	if (strcmp(verb, "transfer") == 0 && extra <= 1) {
		if (extra == 0)
			return xstrdup("leader transfer");
		if (strtoull(argv[optind + 1], &end, 10) == 0 || *end != '\0') {
			fprintf(stderr, "mitosis leader transfer: '%s' is not a node id\n",
				argv[optind + 1]);
			return NULL;
		}
		return xasprintf("leader transfer %s", argv[optind + 1]);
	}
	if ((strcmp(verb, "step-down") == 0 || strcmp(verb, "force-recover") == 0) && extra == 0)
		return xasprintf("leader %s", verb);
	fprintf(stderr, "mitosis leader: unknown command or extra operands at '%s'\n", verb);
	cmd_usage(stderr, &cmd_leader_entry);
	return NULL;
}

static int
cmd_leader_main(int argc, char **argv)
{
	struct cmd_control_args a = { .operands = true };
	char *path, *request;
	int r;

	if ((r = cmd_control_options(&cmd_leader_entry, argc, argv, &a)) >= 0)
		return r;
	if ((request = cmd_leader_request(&a, argc, argv)) == NULL)
		return EXIT_USAGE;
	if (strcmp(request, "leader force-recover") == 0 && !cmd_leader_confirm(&a)) {
		fprintf(stderr, "mitosis leader force-recover: not confirmed; nothing done\n");
		free(request);
		return 1;
	}
	if ((path = cmd_control_path(&a)) == NULL) {
		free(request);
		return 1;
	}
	r = cmd_control_ask("leader", path, request);
	free(request);
	free(path);
	return r;
}

/* ---- history ---- */

static int cmd_history_main(int argc, char **argv);
static void cmd_history_help(FILE *out);

const struct cmd_entry cmd_history_entry = {
	"history",
	cmd_history_main,
	"history [--json] [-n N] [-s PATH | -c FILE]",
	"show the leader's recent scaling decisions and their outcomes, from any node",
	cmd_history_help,
};

static void
cmd_history_help(FILE *out)
{
	cmd_control_help_options(out);
	fprintf(out,
		"  -n N       only the newest N records\n"
		"\nOne line a record, oldest first: time, the leader's term, the operation id,\n"
		"decision or outcome, the action and its reason. Every node holds the same\n"
		"recent records (the last %d), replicated from the leader and kept in\n"
		"state_dir, so any node answers, after a failover too. docs/policy.md,\n"
		"\"History\", describes the fields of the JSON document.\n",
		HISTORY_KEEP);
}

static int
cmd_history_main(int argc, char **argv)
{
	struct cmd_control_args a = { .counted = true };
	char request[64], *path, *end = NULL;
	unsigned long long n = 0;
	int r;

	if ((r = cmd_control_options(&cmd_history_entry, argc, argv, &a)) >= 0)
		return r;
	if (a.n != NULL && ((n = strtoull(a.n, &end, 10)) == 0 || *end != '\0' || n > 100000)) {
		fprintf(stderr, "mitosis history: -n '%s' is not a record count (1..100000)\n",
			a.n);
		return EXIT_USAGE;
	}
	if ((path = cmd_control_path(&a)) == NULL)
		return 1;
	snprintf(request, sizeof(request), "history%s", a.json ? " json" : "");
	if (n > 0)
		snprintf(request + strlen(request), sizeof(request) - strlen(request), " %llu", n);
	r = cmd_control_ask("history", path, request);
	free(path);
	return r;
}

/* ---- _history-append (TEST ONLY) ---- */

static int cmd_history_append_main(int argc, char **argv);

/* Hidden: the integration tests make the leader append a record with it. */
const struct cmd_entry cmd_history_append_entry = {
	"_history-append",
	cmd_history_append_main,
	"_history-append TEXT [-s PATH | -c FILE]",
	"TEST ONLY: make the leader append a decision record holding TEXT",
	NULL,
};

static int
cmd_history_append_main(int argc, char **argv)
{
	struct cmd_control_args a = { .operands = true };
	char *path, *request;
	int r;

	if ((r = cmd_control_options(&cmd_history_append_entry, argc, argv, &a)) >= 0)
		return r;
	if (optind + 1 != argc || strlen(argv[optind]) >= HISTORY_TEXT_MAX) {
		cmd_usage(stderr, &cmd_history_append_entry);
		return EXIT_USAGE;
	}
	if ((path = cmd_control_path(&a)) == NULL)
		return 1;
	request = xasprintf("_history-append %s", argv[optind]);
	r = cmd_control_ask("_history-append", path, request);
	free(request);
	free(path);
	return r;
}

/* ---- policy ---- */

static int cmd_policy_main(int argc, char **argv);
static void cmd_policy_help(FILE *out);

const struct cmd_entry cmd_policy_entry = {
	"policy",
	cmd_policy_main,
	"policy [--dry-run | --act] [--json] [-s PATH | -c FILE]",
	"show the effective scaling policy; make the running agent decide only, or act again",
	cmd_policy_help,
};

static void
cmd_policy_help(FILE *out)
{
	cmd_control_help_options(out);
	fprintf(out,
		"  --dry-run            from now on, this agent's policy decides and logs only:\n"
		"                       no mutating call (as policy_dry_run = yes; until --act\n"
		"                       or a restart; ask it of every node a failover may elect)\n"
		"  --act                act again (as configured: policy_dry_run = no)\n"
		"\nEvery key of docs/policy.md's \"Configuration\" with the value the agent uses,\n"
		"and whether the policy runs here: it needs token_file, clone_image and\n"
		"clone_size, and only the leader decides. `mitosis status` shows its live view.\n");
}

static int
cmd_policy_main(int argc, char **argv)
{
	struct cmd_control_args a = { 0 };
	char **rest = xcalloc((size_t)argc + 1, sizeof(*rest));
	const char *mode = "";
	char request[64], *path;
	int n = 0, r;

	/* --dry-run and --act are this verb's own; the rest is the common set. */
	for (int i = 0; i < argc; i++) {
		if (i > 0 && strcmp(argv[i], "--dry-run") == 0)
			mode = " dry-run on";
		else if (i > 0 && strcmp(argv[i], "--act") == 0)
			mode = " dry-run off";
		else
			rest[n++] = argv[i];
	}
	if ((r = cmd_control_options(&cmd_policy_entry, n, rest, &a)) >= 0) {
		free(rest);
		return r;
	}
	free(rest);
	if ((path = cmd_control_path(&a)) == NULL)
		return 1;
	snprintf(request, sizeof(request), "policy%s%s", mode, a.json ? " json" : "");
	r = cmd_control_ask("policy", path, request);
	free(path);
	return r;
}
