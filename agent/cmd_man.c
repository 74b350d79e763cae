/*
 * cmd_man: mitosis(8) and mitosis.conf(5) as roff (cmd_man.h). Text from the
 * tables is escaped for roff here (a backslash, a '-', a '.' or '\'' that
 * starts a line); help text is laid out by its shape: a line that starts
 * with two blanks and a '-' is an option (its term ends at the first run of
 * two blanks), deeper-indented lines continue it, anything else is prose.
 * The prose that is not in any table (syntax, files, exit status) is kept
 * here, short, and points at the documentation for the rest.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cmd_man.h"
#include "xmalloc.h"

/* Writes s escaped for roff; `start` says whether s begins an output line.
 * `code` spans (between backticks) come out bold. */
static void
man_text(FILE *out, const char *s, bool start)
{
	bool bold = false;

	if (start && (*s == '.' || *s == '\''))
		fputs("\\&", out);
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-')
			fputs("\\-", out);
		else if (*s == '`')
			fputs((bold = !bold) ? "\\fB" : "\\fR", out);
		else
			fputc(*s, out);
	}
	if (bold)
		fputs("\\fR", out);
}

/* An option's term: words starting with '-' bold, metavariables italic. */
static void
man_term(FILE *out, const char *term, size_t len)
{
	char *t = xasprintf("%.*s", (int)len, term), *save = NULL;
	bool first = true;

	for (char *w = strtok_r(t, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
		if (!first)
			fputc(' ', out);
		fputs(w[0] == '-' ? "\\fB" : w[0] == '[' || w[0] == '|' ? "\\fR" : "\\fI", out);
		man_text(out, w, false);
		fputs("\\fR", out);
		first = false;
	}
	fputc('\n', out);
	free(t);
}

/* Lays out one verb's help text (see the file comment). */
static void
man_help(FILE *out, const char *help)
{
	char *copy = xstrdup(help), *line, *save = NULL;
	bool in_list = false, para = true;

	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		size_t lead = strspn(line, " ");

		if (lead == 2 && line[2] == '-') {
			const char *gap = strstr(line + 2, "  ");
			size_t tlen = gap != NULL ? (size_t)(gap - line - 2) : strlen(line + 2);

			fputs(".TP\n", out);
			man_term(out, line + 2, tlen);
			if (gap != NULL) {
				man_text(out, gap + strspn(gap, " "), true);
				fputc('\n', out);
			}
			in_list = true;
			continue;
		}
		if (lead < 3 && (in_list || para)) {
			fputs(".PP\n", out);
			in_list = para = false;
		}
		man_text(out, line + lead, true);
		fputc('\n', out);
		/* strtok_r skips empty lines: a paragraph ends where two newlines were. */
		if (save != NULL && *save == '\n')
			para = true;
	}
	free(copy);
}

/* The help text a verb prints, as a string (caller frees). */
static char *
man_verb_help(const struct cmd_entry *c)
{
	char *buf = NULL, *copy;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		fatalx("out of memory");
	if (c->help != NULL)
		c->help(f);
	if (fclose(f) != 0 || buf == NULL)
		fatalx("out of memory");
	/* A copy: the stream's buffer is not one to write into once it is closed. */
	copy = xstrdup(buf);
	free(buf);
	return copy;
}

/* Every configuration key as a flag of `agent` (and of the verbs that take --KEY VALUE). */
static void
man_key_flags(FILE *out)
{
	size_t n;
	const struct cfg_key_info *keys = cfg_keys(&n);

	fputs(".PP\nEvery key of\n.BR mitosis.conf (5)\nis also a flag, which overrides the "
	      "files:\n",
	      out);
	for (size_t i = 0; i < n; i++) {
		char flag[80];

		snprintf(flag, sizeof(flag), "--%s %s", keys[i].name, keys[i].type);
		for (char *p = flag + 2; *p != ' '; p++)
			*p = *p == '_' ? '-' : *p;
		fputs(".TP\n", out);
		man_term(out, flag, strlen(flag));
		man_text(out, keys[i].help, true);
		if (keys[i].def[0] != '\0') {
			fputs(" Default: ", out);
			man_text(out, keys[i].def, false);
			fputc('.', out);
		}
		fputc('\n', out);
	}
}

/* One verb: its synopsis, summary and options. */
static void
man_verb(FILE *out, const struct cmd_entry *c)
{
	char *help = man_verb_help(c), *keys;

	fputs(".SS \"", out);
	man_text(out, c->name, false);
	fputs("\"\n.B mitosis\n", out);
	man_text(out, c->usage, true);
	fputs("\n.PP\n", out);
	man_text(out, c->summary, true);
	fputs(".\n", out);
	/* The agent's key-flags come from the key table itself, with their types. */
	keys = strcmp(c->name, "agent") == 0 ? strstr(help, "\nEvery configuration key") : NULL;
	if (keys != NULL)
		keys[1] = '\0';
	man_help(out, help);
	if (keys != NULL)
		man_key_flags(out);
	free(help);
}

static void
man_page8(const struct cmd_entry *const *table, FILE *out)
{
	fputs(".TH MITOSIS 8 \"\" \"mitosis " MITOSIS_VERSION "\" \"mitosis manual\"\n"
	      ".SH NAME\nmitosis \\- self\\-scaling cluster agent for DigitalOcean droplets\n"
	      ".SH SYNOPSIS\n.B mitosis\n.I command\n.RI [ options ]\n"
	      ".SH DESCRIPTION\n"
	      ".B mitosis\njoins droplets into a cluster: every node reads its identity from the "
	      "droplet metadata service and gossips its membership and load to its peers over "
	      "authenticated UDP.\nThe cloud verbs clone, snapshot, resize and retire droplets "
	      "through the DigitalOcean API, and registrars keep DNS records, load balancers and "
	      "HAProxy in step with the members.\n"
	      ".PP\nThe daemon is\n.BR \"mitosis agent\" ,\nrun by systemd as\n.BR mitosis.service "
	      ";"
	      "\nits configuration is described in\n.BR mitosis.conf (5).\n"
	      "Its HTTP requests run in a helper,\n.BR mitosis\\-http ,\n"
	      "which it starts beside itself when it has requests.\n"
	      ".SH COMMANDS\n",
	      out);
	for (size_t i = 0; table[i] != NULL; i++)
		if (table[i]->name[0] != '_')
			man_verb(out, table[i]);
	fputs(".SH EXIT STATUS\n"
	      ".TP\n0\nSuccess; for \\fBagent\\fR, a clean shutdown after SIGINT or SIGTERM.\n"
	      ".TP\n1\nFailure: an invalid configuration or secret file, no identity, a bind "
	      "error, an API error.\n"
	      ".TP\n2\nUsage error: an unknown command or flag, a missing or extra argument.\n"
	      ".TP\n3\n\\fBmembers\\fR, \\fBstatus\\fR: no agent is running.\n"
	      ".SH SIGNALS\n"
	      ".TP\nSIGTERM, SIGINT\nLeave gracefully: out of every registrar, then gossip the "
	      "departure for \\fBleave_timeout\\fR; a second signal stops at once.\n"
	      ".TP\nSIGHUP\nRead the configuration, its drop-ins and the keyring again.\n"
	      ".SH ENVIRONMENT\n"
	      ".TP\n.B MITOSIS_SOCKET\nThe control socket of \\fBmembers\\fR and \\fBstatus\\fR.\n"
	      ".TP\n.B NOTIFY_SOCKET\nSet by systemd: the agent notifies READY=1, STATUS=, "
	      "WATCHDOG=1 and STOPPING=1 there (with \\fBWATCHDOG_USEC\\fR).\n"
	      ".TP\n.B MITOSIS_HTTP_HELPER\nThe HTTP helper to run instead of the "
	      "\\fBmitosis\\-http\\fR beside the binary (tests).\n"
	      ".SH FILES\n"
	      ".TP\n.I /etc/mitosis/mitosis.conf\nThe configuration; drop-ins in "
	      "\\fI/etc/mitosis/conf.d/*.conf\\fR.\n"
	      ".TP\n.I /etc/mitosis/cluster.key\nThe cluster keyring, owned by the agent's user, "
	      "mode 0600.\n"
	      ".TP\n.I /run/mitosis/mitosis.sock\nThe control socket.\n"
	      ".TP\n.I /var/lib/mitosis\nThe node's state.\n"
	      ".SH SEE ALSO\n.BR mitosis.conf (5),\n.BR systemd.service (5),\n"
	      ".BR cloud\\-init (1)\n",
	      out);
}

static void
man_keys(FILE *out)
{
	size_t n;
	const struct cfg_key_info *keys = cfg_keys(&n);

	for (size_t i = 0; i < n; i++) {
		fputs(".TP\n\\fB", out);
		man_text(out, keys[i].name, false);
		fputs("\\fR = \\fI", out);
		man_text(out, keys[i].type, false);
		fputs("\\fR\n", out);
		man_text(out, keys[i].help, true);
		fputs("\n.br\nDefault: ", out);
		man_text(out, keys[i].def[0] != '\0' ? keys[i].def : "none", false);
		fputs(". Values: ", out);
		man_text(out, keys[i].range, false);
		fputs(".\n", out);
	}
}

static void
man_page5(FILE *out)
{
	fputs(".TH MITOSIS.CONF 5 \"\" \"mitosis " MITOSIS_VERSION "\" \"mitosis manual\"\n"
	      ".SH NAME\nmitosis.conf \\- configuration of the mitosis agent\n"
	      ".SH SYNOPSIS\n.I /etc/mitosis/mitosis.conf\n.br\n.I /etc/mitosis/conf.d/*.conf\n"
	      ".SH DESCRIPTION\n"
	      ".B mitosis agent\nreads one file, \\fI/etc/mitosis/mitosis.conf\\fR unless "
	      "\\fB\\-c\\fR names another, then its drop-ins, then applies its \\fB\\-\\-key\\fR "
	      "flags.\n\\fBmitosis agent \\-n\\fR checks them and prints \\(lqconfiguration "
	      "OK\\(rq or every error as \\fIFILE\\fR:\\fILINE\\fR: \\fImessage\\fR;\n"
	      "\\fBmitosis agent \\-n \\-\\-show\\-origin\\fR also prints where each key was set.\n"
	      ".SH SYNTAX\n"
	      "One \\fIkey\\fR = \\fIvalue\\fR per line; blanks around the key, the '=' and the "
	      "value are ignored.\nA line whose first non-blank character is '#' is a comment.\n"
	      "An unquoted value runs to the end of the line, or to a '#' that starts it or "
	      "follows a blank.\nA value may be written in double quotes, with the escapes "
	      "\\e\" and \\e\\e.\nEvery key needs a value; a key may be given once per file; "
	      "unknown keys are errors.\nA line is at most 4096 bytes, a file at most 1 MiB.\n"
	      ".SH DROP-INS\n"
	      "After the main file, every file of the directory \\fIconf.d\\fR beside it whose "
	      "name ends in \\fI.conf\\fR and does not start with '.' is read, in bytewise name "
	      "order.\nA key set in two files takes the value of the later one.\n"
	      "Flags override every file.\nUser-data writes its own drop-in, "
	      "\\fI/etc/mitosis/conf.d/50\\-user\\-data.conf\\fR, whole.\n"
	      ".SH KEYS\n",
	      out);
	man_keys(out);
	fputs(".SH VALUE TYPES\n"
	      ".TP\n.I duration\nA number with a unit: ms, s, m, h (250ms, 1.5s, 2m); a bare 0.\n"
	      ".TP\n.I integer\nDecimal digits only.\n"
	      ".TP\n.I hostport\nIPV4, IPV4:PORT, [IPV6] or [IPV6]:PORT; addresses, not names.\n"
	      ".TP\n.I list\nComma-separated items; an empty item is an error; at most 64.\n"
	      ".TP\n.I boolean\nyes or no (true/false, on/off, 1/0).\n"
	      ".SH SECRET FILES\n"
	      "\\fBkey_file\\fR and \\fBtoken_file\\fR are refused unless they are regular files, "
	      "owned by the user the agent runs as (\\fBmitosis\\fR under systemd), and "
	      "readable by nobody else (mode 0600 or 0400).\n"
	      "Never put a secret in droplet user-data.\n"
	      ".SH EXAMPLE\n.EX\ncluster = web\nkey_file = /etc/mitosis/cluster.key\n"
	      "metrics_listen = 127.0.0.1:9950\n.EE\n"
	      ".SH SEE ALSO\n.BR mitosis (8)\n",
	      out);
}

int
cmd_man_page(const struct cmd_entry *const *table, const char *section, FILE *out)
{
	if (strcmp(section, "8") == 0)
		man_page8(table, out);
	else if (strcmp(section, "5") == 0)
		man_page5(out);
	else
		return -EINVAL;
	return 0;
}
