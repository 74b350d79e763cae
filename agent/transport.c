/*
 * transport: one uv_udp_t, receive path through wire_receive(). The receive
 * buffer is a single static-size slab owned by the transport: libuv hands it
 * back on every read, and nothing keeps a pointer into it after the handler
 * returns, so there is no per-datagram allocation.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "container.h"
#include "log.h"
#include "transport.h"
#include "xmalloc.h"

/* Larger than any valid datagram, so oversized ones are seen whole and counted. */
#define TRANSPORT_RECV_BUF 2048

struct transport {
	uv_udp_t sock;
	struct wire_sender sender;
	struct wire_receiver *rx;
	transport_msg_fn *on_msg;
	void *arg;
	uint64_t dgrams_in, bytes_in, dgrams_out, bytes_out;
	char buf[TRANSPORT_RECV_BUF];
};

static void
transport_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct transport *t = container_of((uv_udp_t *)(void *)h, struct transport, sock);

	*buf = uv_buf_init(t->buf, sizeof(t->buf));
}

/* Wall-clock milliseconds: envelope stamps are bound to it (include/wire.h). */
static uint64_t
transport_wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

/* sockaddr -> the envelope's address binding. -EAFNOSUPPORT for other families. */
static int
transport_wire_addr(const struct sockaddr *sa, struct wire_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		out->family = 4;
		memcpy(out->ip, &in->sin_addr, 4);
		out->port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		out->family = 6;
		memcpy(out->ip, &in6->sin6_addr, 16);
		out->port = ntohs(in6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

/* The address bytes a budget is keyed by: IP and port, without padding. */
static size_t
transport_src_key(const struct sockaddr *sa, uint8_t *key)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		memcpy(key, &in->sin_addr, 4);
		memcpy(key + 4, &in->sin_port, 2);
		return 6;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		memcpy(key, &in6->sin6_addr, 16);
		memcpy(key + 16, &in6->sin6_port, 2);
		return 18;
	}
	return 0;
}

static void
transport_on_recv(uv_udp_t *sock, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
		  unsigned flags)
{
	struct transport *t = container_of(sock, struct transport, sock);
	struct wire_msg msg;
	enum wire_verdict v;
	uint8_t key[18];
	size_t klen;

	if (nread < 0) {
		log_warnx("udp: receive: %s", uv_strerror((int)nread));
		return;
	}
	if (from == NULL)
		return; /* nothing more to read this round */
	t->dgrams_in++;
	t->bytes_in += (uint64_t)nread;
	if (flags & UV_UDP_PARTIAL) {
		/* Cut by the kernel: longer than our buffer, so longer than any datagram. */
		(void)wire_receive(t->rx, (const uint8_t *)buf->base, WIRE_MAX_DATAGRAM + 1, NULL,
				   0, uv_now(sock->loop), transport_wall_ms(), &msg);
		return;
	}
	klen = transport_src_key(from, key);
	v = wire_receive(t->rx, (const uint8_t *)buf->base, (size_t)nread, key, klen,
			 uv_now(sock->loop), transport_wall_ms(), &msg);
	if (v == WIRE_ACCEPT && t->on_msg != NULL)
		t->on_msg(&msg, from, t->arg);
}

int
transport_open(uv_loop_t *loop, const char *host, uint16_t port, const struct keyring *kr,
	       uint64_t cluster_id, uint64_t node_id, transport_msg_fn *on_msg, void *arg,
	       struct transport **out)
{
	struct sockaddr_storage ss;
	struct transport *t;
	int r;

	if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
	    uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)
		return -EINVAL;
	t = xcalloc(1, sizeof(*t));
	t->rx = wire_receiver_new(cluster_id, node_id, kr, NULL);
	if (t->rx == NULL)
		fatalx("wire_receiver_new: out of memory");
	/* A first contact is bound to the address it was sent to: ours. */
	(void)transport_add_address(t, (const struct sockaddr *)&ss);
	wire_sender_init(&t->sender, kr, cluster_id, node_id);
	t->on_msg = on_msg;
	t->arg = arg;
	uv_udp_init(loop, &t->sock);
	r = uv_udp_bind(&t->sock, (const struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_udp_recv_start(&t->sock, transport_on_alloc, transport_on_recv);
	if (r != 0) {
		transport_close(t);
		return r; /* libuv errors are negative errno values on Unix */
	}
	*out = t;
	return 0;
}

int
transport_add_address(struct transport *t, const struct sockaddr *sa)
{
	static const uint8_t any[16];
	struct wire_addr a;
	int r;

	if ((r = transport_wire_addr(sa, &a)) != 0)
		return r;
	if (memcmp(a.ip, any, a.family == 4 ? 4 : 16) == 0)
		return -EINVAL; /* nobody sends to 0.0.0.0 */
	r = wire_receiver_add_address(t->rx, &a);
	return r == -EEXIST ? 0 : r;
}

void
transport_set_keyring(struct transport *t, const struct keyring *kr)
{
	wire_receiver_set_keyring(t->rx, kr);
	/* The sender reads its primary key at every wire_encode(). */
	t->sender.kr = kr;
}

void
transport_set_signing(struct transport *t, bool on)
{
	t->sender.sign = on;
}

int
transport_send(struct transport *t, const struct sockaddr *to, uint64_t to_id, uint8_t type,
	       const void *payload, size_t len)
{
	uint8_t dgram[WIRE_MAX_DATAGRAM];
	struct wire_addr bind;
	size_t n;
	uv_buf_t b;
	int r;

	if (to_id == 0 && (r = transport_wire_addr(to, &bind)) != 0)
		return r;
	r = wire_encode(&t->sender, type, payload, len, to_id, &bind, transport_wall_ms(), dgram,
			sizeof(dgram), &n);
	if (r != 0)
		return r;
	b = uv_buf_init((char *)dgram, (unsigned)n);
	r = uv_udp_try_send(&t->sock, &b, 1, to);
	if (r < 0)
		return r;
	t->dgrams_out++;
	t->bytes_out += n;
	return 0;
}

uint64_t
transport_count(const struct transport *t, enum wire_verdict v)
{
	return wire_receiver_count(t->rx, v);
}

void
transport_io(const struct transport *t, uint64_t *dgrams_in, uint64_t *bytes_in,
	     uint64_t *dgrams_out, uint64_t *bytes_out)
{
	*dgrams_in = t->dgrams_in;
	*bytes_in = t->bytes_in;
	*dgrams_out = t->dgrams_out;
	*bytes_out = t->bytes_out;
}

void
transport_log_counts(const struct transport *t)
{
	char line[512];
	size_t n;

	n = (size_t)snprintf(line, sizeof(line), "in=%llu out=%llu",
			     (unsigned long long)t->dgrams_in, (unsigned long long)t->dgrams_out);
	for (int v = 0; v < WIRE_VERDICT_COUNT && n < sizeof(line); v++)
		n += (size_t)snprintf(
			line + n, sizeof(line) - n, " %s=%llu",
			wire_verdict_name((enum wire_verdict)v),
			(unsigned long long)wire_receiver_count(t->rx, (enum wire_verdict)v));
	log_info("wire: %s", line);
}

static void
transport_on_closed(uv_handle_t *h)
{
	struct transport *t = container_of((uv_udp_t *)(void *)h, struct transport, sock);

	wire_receiver_free(t->rx);
	free(t);
}

void
transport_close(struct transport *t)
{
	if (t == NULL)
		return;
	uv_close((uv_handle_t *)&t->sock, transport_on_closed);
}
