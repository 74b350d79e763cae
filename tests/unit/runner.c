/*
 * Unit-test runner: runs every registered TEST() in a forked child with a
 * timeout, so a crash or a hang fails one test and not the run. Usage:
 *   unit-tests [-l] [-t SECONDS] [FILTER...]
 * A FILTER is a substring of the test or file name. The last line printed is
 * "N passed, N failed, 0 skipped" (the same line as every other suite; a unit
 * test has nothing it could lack, so none is ever skipped).
 */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct harness_test {
	const char *name;
	const char *file;
	harness_fn *fn;
};

static struct harness_test tests[1024];
static size_t ntests;
static char tmpdir[256];

void
harness_register(const char *name, const char *file, harness_fn *fn)
{
	if (ntests == sizeof(tests) / sizeof(tests[0])) {
		fprintf(stderr, "harness: too many tests\n");
		exit(2);
	}
	tests[ntests].name = name;
	tests[ntests].file = file;
	tests[ntests].fn = fn;
	ntests++;
}

void
harness_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

const char *
harness_tmpdir(void)
{
	return tmpdir;
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
cmp_test(const void *a, const void *b)
{
	const struct harness_test *x = a, *y = b;
	int c = strcmp(x->file, y->file);

	return c != 0 ? c : strcmp(x->name, y->name);
}

static bool
selected(const struct harness_test *t, int argc, char **argv)
{
	if (argc == 0)
		return true;
	for (int i = 0; i < argc; i++)
		if (strstr(t->name, argv[i]) != NULL || strstr(t->file, argv[i]) != NULL)
			return true;
	return false;
}

/* Runs one test in a child; returns true when it passed. */
static bool
run_one(const struct harness_test *t, unsigned timeout_s)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int status;
	pid_t pid;

	snprintf(tmpdir, sizeof(tmpdir), "%s/mitosis-unit-XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "harness: mkdtemp: %s\n", strerror(errno));
		return false;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		return false;
	}
	if (pid == 0) {
		alarm(timeout_s);
		t->fn();
		fflush(NULL);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "    killed by signal %d%s\n", WTERMSIG(status),
			WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
		return false;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int
main(int argc, char **argv)
{
	unsigned timeout_s = 30, passed = 0, failed = 0;
	bool list = false;
	int opt;

	while ((opt = getopt(argc, argv, "lt:")) != -1) {
		switch (opt) {
		case 'l':
			list = true;
			break;
		case 't':
			timeout_s = (unsigned)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: unit-tests [-l] [-t SECONDS] [FILTER...]\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	qsort(tests, ntests, sizeof(tests[0]), cmp_test);
	for (size_t i = 0; i < ntests; i++) {
		const struct harness_test *t = &tests[i];
		struct timespec a, b;
		bool ok;

		if (!selected(t, argc, argv))
			continue;
		if (list) {
			printf("%s %s\n", t->file, t->name);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &a);
		ok = run_one(t, timeout_s);
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("%s %-40s %6.3fs  %s\n", ok ? "PASS" : "FAIL", t->name,
		       (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
		       t->file);
		fflush(stdout);
		if (ok)
			passed++;
		else
			failed++;
	}
	if (!list)
		printf("%u passed, %u failed, 0 skipped\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
