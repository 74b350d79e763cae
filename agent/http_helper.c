/*
 * http_helper: main() of `mitosis-http`, the process that runs the agent's
 * HTTP requests so that the agent itself does not map libcurl, OpenSSL and
 * their dependencies (docs/architecture.md, "HTTP helper").
 *
 * It reads request and cancel frames (include/httpframe.h) on stdin, runs the
 * requests concurrently on the libcurl engine (http_curl.c), and writes one
 * response frame per request on stdout, cancelled ones included. When stdin
 * reaches EOF it cancels what is pending, flushes stdout and exits 0. A frame
 * it cannot take (which the agent never sends) ends it with exit status 2; an
 * I/O error on its pipes with 1.
 *
 * Its lifetime is its stdin's: SIGINT, SIGTERM and SIGHUP are ignored, so that
 * a Ctrl-C or a service stop aimed at the agent's whole process group does not
 * fail the requests of an agent that is still shutting down cleanly; the agent
 * closes the pipe, or its death does. Nothing here logs a header, a body or a
 * URL.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <sodium.h>
#include <uv.h>

#include "container.h"
#include "http_curl.h"
#include "httpframe.h"
#include "log.h"
#include "xmalloc.h"

#define HTTP_HELPER_READ_SIZE (64U * 1024)

enum http_helper_exit {
	HTTP_HELPER_EXIT_OK = 0,
	HTTP_HELPER_EXIT_IO = 1,
	HTTP_HELPER_EXIT_PROTOCOL = 2,
};

struct http_helper_job;

struct http_helper {
	uv_loop_t loop;
	uv_pipe_t in;
	uv_pipe_t out;
	uv_shutdown_t shutdown;
	struct http_curl *curl;
	struct httpframe_reader rd;
	LIST_HEAD(, http_helper_job) jobs;
	bool stopping;
	int exit_code;
	uint8_t rbuf[HTTP_HELPER_READ_SIZE];
};

/* One request the agent sent that has not been answered yet. */
struct http_helper_job {
	struct http_helper *hh;
	uint32_t id;
	struct http_curl_req *req;
	LIST_ENTRY(http_helper_job) entry;
};

struct http_helper_write {
	uv_write_t w;
	struct http_helper *hh;
	uint8_t *buf;
	size_t len;
};

static void http_helper_stop(struct http_helper *hh, int code);

static void
http_helper_on_written(uv_write_t *w, int status)
{
	struct http_helper_write *hw = container_of(w, struct http_helper_write, w);
	struct http_helper *hh = hw->hh;

	httpframe_buf_free(hw->buf, hw->len);
	free(hw);
	if (status < 0 && status != UV_ECANCELED && !hh->stopping) {
		log_warnx("stdout: %s", uv_strerror(status));
		http_helper_stop(hh, HTTP_HELPER_EXIT_IO);
	}
}

/* Queues a frame on stdout; takes buf. */
static void
http_helper_write(struct http_helper *hh, uint8_t *buf, size_t len)
{
	struct http_helper_write *hw = xcalloc(1, sizeof(*hw));
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int r;

	hw->hh = hh;
	hw->buf = buf;
	hw->len = len;
	r = uv_write(&hw->w, (uv_stream_t *)&hh->out, &b, 1, http_helper_on_written);
	if (r != 0) {
		httpframe_buf_free(buf, len);
		free(hw);
		log_warnx("stdout: %s", uv_strerror(r));
		http_helper_stop(hh, HTTP_HELPER_EXIT_IO);
	}
}

/* curl's error text, cut to what a frame carries and to printable ASCII. */
static void
http_helper_errmsg(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] != '\0' && i + 1 < size; i++)
		dst[i] = src[i] >= 0x20 && src[i] <= 0x7e ? src[i] : '?';
	dst[i] = '\0';
}

/* Writes the response frame for request `id`. */
static void
http_helper_answer(struct http_helper *hh, uint32_t id, const struct http_response *resp)
{
	struct httpframe_response rs = { .id = id };
	char errmsg[HTTPFRAME_MAX_ERRMSG + 1], why[HTTPFRAME_MAX_ERRMSG + 1];
	enum httpframe_err e;
	uint8_t *buf;
	size_t len;

	rs.err = resp->err < -4095 || resp->err > 0 ? -EIO : resp->err;
	if (rs.err == 0 && (resp->status < 0 || resp->status > 999))
		rs.err = -EPROTO;
	if (rs.err == 0) {
		rs.status = (unsigned)resp->status;
	} else {
		http_helper_errmsg(errmsg, sizeof(errmsg),
				   resp->err == rs.err ? resp->errmsg : "bad HTTP status");
		rs.errmsg = errmsg;
	}
	rs.headers = resp->headers;
	rs.headers_len = strlen(resp->headers);
	rs.body = resp->body;
	rs.body_len = resp->body_len;
	e = httpframe_encode_response(&rs, &buf, &len);
	if (e != HTTPFRAME_OK && e != HTTPFRAME_NO_MEMORY) {
		/* What the server sent cannot be framed (a NUL in its headers). */
		memset(&rs, 0, sizeof(rs));
		rs.id = id;
		rs.err = -EPROTO;
		snprintf(why, sizeof(why), "response cannot be passed on: %s",
			 httpframe_err_name(e));
		rs.errmsg = why;
		e = httpframe_encode_response(&rs, &buf, &len);
	}
	if (e != HTTPFRAME_OK)
		fatalx("cannot encode a response: %s", httpframe_err_name(e));
	http_helper_write(hh, buf, len);
}

static void
http_helper_on_done(struct http_curl_req *req, const struct http_response *resp, void *arg)
{
	struct http_helper_job *job = arg;
	struct http_helper *hh = job->hh;

	LIST_REMOVE(job, entry);
	if (!hh->stopping)
		http_helper_answer(hh, job->id, resp);
	free(job);
}

static struct http_helper_job *
http_helper_find(struct http_helper *hh, uint32_t id)
{
	struct http_helper_job *j;

	LIST_FOREACH(j, &hh->jobs, entry)
		if (j->id == id)
			return j;
	return NULL;
}

/* Starts a decoded request; a request curl refuses is answered at once. */
static enum httpframe_err
http_helper_request(struct http_helper *hh, const uint8_t *p, size_t n)
{
	struct httpframe_request *fr;
	struct http_request rq;
	struct http_helper_job *job;
	enum httpframe_err e;
	int r;

	if ((e = httpframe_decode_request(p, n, &fr)) != HTTPFRAME_OK)
		return e;
	if (http_helper_find(hh, fr->id) != NULL) {
		httpframe_request_free(fr);
		return HTTPFRAME_BAD_ID;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = fr->method;
	rq.url = fr->url;
	rq.body = fr->body;
	rq.body_len = fr->body_len;
	rq.headers = fr->headers;
	rq.timeout_ms = fr->timeout_ms;
	rq.source_address = fr->source_address;
	job = xcalloc(1, sizeof(*job));
	job->hh = hh;
	job->id = fr->id;
	r = http_curl_start(hh->curl, &rq, http_helper_on_done, job, &job->req);
	httpframe_request_free(fr);
	if (r != 0) {
		struct http_response resp = { .err = r };

		snprintf(resp.errmsg, sizeof(resp.errmsg), "cannot start request: %s",
			 strerror(-r));
		resp.body = resp.headers = (char *)(uintptr_t) "";
		http_helper_answer(hh, job->id, &resp);
		free(job);
		return HTTPFRAME_OK;
	}
	LIST_INSERT_HEAD(&hh->jobs, job, entry);
	return HTTPFRAME_OK;
}

static void
http_helper_on_frame(struct http_helper *hh, const uint8_t *p, size_t n)
{
	enum httpframe_type type;
	enum httpframe_err e;
	uint32_t id;

	e = httpframe_peek(p, n, &type, &id);
	if (e == HTTPFRAME_OK && type == HTTPFRAME_REQUEST) {
		e = http_helper_request(hh, p, n);
	} else if (e == HTTPFRAME_OK && type == HTTPFRAME_CANCEL) {
		e = httpframe_decode_cancel(p, n, &id);
		if (e == HTTPFRAME_OK) {
			struct http_helper_job *job = http_helper_find(hh, id);

			/* Unknown: it has finished and its answer is on its way. */
			if (job != NULL)
				http_curl_cancel(job->req);
		}
	} else if (e == HTTPFRAME_OK) {
		e = HTTPFRAME_BAD_TYPE;
	}
	if (e != HTTPFRAME_OK) {
		log_warnx("stdin: refused a frame: %s", httpframe_err_name(e));
		http_helper_stop(hh, HTTP_HELPER_EXIT_PROTOCOL);
	}
}

static void
http_helper_on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct http_helper *hh = container_of((uv_pipe_t *)(void *)handle, struct http_helper, in);

	*buf = uv_buf_init((char *)hh->rbuf, sizeof(hh->rbuf));
}

static void
http_helper_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct http_helper *hh = container_of((uv_pipe_t *)(void *)stream, struct http_helper, in);
	size_t off = 0, used, flen;
	enum httpframe_err e;
	uint8_t *frame;

	if (nread == UV_EOF) {
		http_helper_stop(hh, HTTP_HELPER_EXIT_OK);
		return;
	}
	if (nread < 0) {
		log_warnx("stdin: %s", uv_strerror((int)nread));
		http_helper_stop(hh, HTTP_HELPER_EXIT_IO);
		return;
	}
	while (off < (size_t)nread && !hh->stopping) {
		e = httpframe_reader_feed(&hh->rd, hh->rbuf + off, (size_t)nread - off, &used,
					  &frame, &flen);
		off += used;
		if (e != HTTPFRAME_OK) {
			log_warnx("stdin: refused a frame: %s", httpframe_err_name(e));
			http_helper_stop(hh, HTTP_HELPER_EXIT_PROTOCOL);
			break;
		}
		if (frame != NULL) {
			http_helper_on_frame(hh, frame, flen);
			httpframe_buf_free(frame, flen);
		}
	}
	/* The bytes may hold a request's bearer token. */
	sodium_memzero(hh->rbuf, (size_t)nread);
}

static void
http_helper_on_out_shut(uv_shutdown_t *req, int status)
{
	struct http_helper *hh = container_of(req, struct http_helper, shutdown);

	uv_close((uv_handle_t *)&hh->out, NULL);
}

/* Once curl is gone: flush the answers already queued, then close stdout. */
static void
http_helper_on_curl_closed(void *arg)
{
	struct http_helper *hh = arg;

	hh->curl = NULL;
	if (uv_shutdown(&hh->shutdown, (uv_stream_t *)&hh->out, http_helper_on_out_shut) != 0)
		uv_close((uv_handle_t *)&hh->out, NULL);
}

/* Stops reading, cancels what is pending (unanswered: nobody is listening
 * any more) and lets the loop end. The first exit code sticks. */
static void
http_helper_stop(struct http_helper *hh, int code)
{
	if (hh->stopping)
		return;
	hh->stopping = true;
	hh->exit_code = code;
	uv_read_stop((uv_stream_t *)&hh->in);
	uv_close((uv_handle_t *)&hh->in, NULL);
	httpframe_reader_reset(&hh->rd);
	http_curl_close(hh->curl, http_helper_on_curl_closed, hh);
}

static int
http_helper_version(void)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);

	printf("mitosis-http %s (%s)\n", MITOSIS_VERSION, MITOSIS_GITREV);
	printf("libcurl %s (%s), libuv %s\n", cv->version,
	       cv->ssl_version != NULL ? cv->ssl_version : "no TLS", uv_version_string());
	return 0;
}

static int
http_helper_run(struct http_helper *hh)
{
	int r;

	uv_loop_init(&hh->loop);
	uv_pipe_init(&hh->loop, &hh->in, 0);
	uv_pipe_init(&hh->loop, &hh->out, 0);
	if ((r = uv_pipe_open(&hh->in, 0)) != 0 || (r = uv_pipe_open(&hh->out, 1)) != 0)
		fatalx("stdin/stdout: %s (run by mitosis, not by hand)", uv_strerror(r));
	if ((hh->curl = http_curl_new(&hh->loop)) == NULL)
		fatalx("cannot set up libcurl");
	httpframe_reader_init(&hh->rd);
	r = uv_read_start((uv_stream_t *)&hh->in, http_helper_on_alloc, http_helper_on_read);
	if (r != 0)
		fatalx("stdin: %s", uv_strerror(r));
	uv_run(&hh->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&hh->loop) != 0)
		log_warnx("loop: handles still open at exit");
	return hh->exit_code;
}

int
main(int argc, char **argv)
{
	struct http_helper *hh;
	int code;

	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
		return http_helper_version();
	if (argc != 1) {
		fprintf(stderr, "usage: mitosis-http\n"
				"Started by mitosis: HTTP requests in frames on stdin, answers on "
				"stdout (docs/architecture.md).\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	log_init("mitosis-http", LOG_LEVEL_INFO, 0);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("libcurl initialisation failed");
	hh = xcalloc(1, sizeof(*hh));
	LIST_INIT(&hh->jobs);
	code = http_helper_run(hh);
	free(hh);
	curl_global_cleanup();
	return code;
}
