/*
 * gossip: the libuv shell around the membership core. Every event (a
 * datagram, the timer) ends with swim_tick() and the timer re-armed for the
 * deadline it returns, so the core's timers are exactly as late as the loop,
 * never later. Time is uv_now(): monotonic milliseconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <sodium.h>

#include "container.h"
#include "gossip.h"
#include "log.h"
#include "nodekey.h"
#include "transport.h"
#include "util.h"
#include "wire.h"
#include "xmalloc.h"

struct gossip {
	uv_timer_t timer;
	uv_timer_t leave_timer;
	uv_loop_t *loop;
	struct transport *tr;
	struct swim *swim;
	const struct nodekey *key;
	uint64_t leave_ms;
	void (*leave_done)(void *);
	void *leave_arg;
	unsigned open_handles;
	uint64_t send_errors;
	struct gossip_hooks hooks;
};

/* sockaddr -> swim_addr; -EAFNOSUPPORT for other families. */
static int
gossip_addr_from_sockaddr(const struct sockaddr *sa, struct swim_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		out->family = 4;
		out->port = ntohs(in->sin_port);
		memcpy(out->ip, &in->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		out->family = 6;
		out->port = ntohs(in6->sin6_port);
		memcpy(out->ip, &in6->sin6_addr, 16);
		return 0;
	}
	return -EAFNOSUPPORT;
}

void
gossip_addr_to_sockaddr(const struct swim_addr *a, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (a->family == 6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(a->port);
		memcpy(&in6->sin6_addr, a->ip, 16);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)out;

		in->sin_family = AF_INET;
		in->sin_port = htons(a->port);
		memcpy(&in->sin_addr, a->ip, 4);
	}
}

int
gossip_addr_parse(const char *s, uint16_t default_port, struct swim_addr *out)
{
	char host[64];
	uint16_t port;

	if (util_parse_hostport(s, default_port, host, sizeof(host), &port) != 0)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->port = port;
	if (inet_pton(AF_INET, host, out->ip) == 1) {
		out->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, out->ip) == 1) {
		out->family = 6;
		return 0;
	}
	return -EINVAL;
}

/* Formats "ip:port" or "[ip6]:port". Returns buf. */
static char *
gossip_addr_format(const struct swim_addr *a, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->family == 6) {
		inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, a->port);
	} else {
		inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, a->port);
	}
	return buf;
}

static void
gossip_on_send(void *arg, uint64_t to_id, const struct swim_addr *to, uint8_t type,
	       const uint8_t *payload, size_t len)
{
	struct gossip *g = arg;
	struct sockaddr_storage ss;
	int r;

	gossip_addr_to_sockaddr(to, &ss);
	r = transport_send(g->tr, (const struct sockaddr *)&ss, to_id, type, payload, len);
	if (r != 0) {
		char a[64];

		/* Loss is normal for the protocol; say it once in a while, not per datagram. */
		if (g->send_errors++ % 1000 == 0)
			log_warnx("gossip: send to %s: %s (%" PRIu64 " send errors so far)",
				  gossip_addr_format(to, a, sizeof(a)), strerror(-r),
				  g->send_errors);
	}
}

static void
gossip_on_event(void *arg, const struct swim_member *m, enum swim_state old, bool is_new)
{
	struct gossip *g = arg;
	char a[64], name[SWIM_NAME_MAX * 4];

	log_escape(name, sizeof(name), m->name, strnlen(m->name, sizeof(m->name)));
	gossip_addr_format(&m->addr, a, sizeof(a));
	if (is_new)
		log_info("member %" PRIu64 " \"%s\" %s: %s (incarnation %" PRIu64 ")", m->id, name,
			 a, swim_state_name(m->state), m->incarnation);
	else if (old != m->state)
		log_info("member %" PRIu64 " \"%s\" %s: %s -> %s (incarnation %" PRIu64 ")", m->id,
			 name, a, swim_state_name(old), swim_state_name(m->state), m->incarnation);
	else
		log_trace(TRACE_GOSSIP, "member %" PRIu64 ": load v%" PRIu32 " cpu %u mem %u",
			  m->id, m->load.version, m->load.cpu_permille, m->load.mem_permille);
	if (g->hooks.member != NULL)
		g->hooks.member(g->hooks.arg, m, old, is_new);
}

static int
gossip_on_claim(void *arg, const struct swim_claim *c)
{
	struct gossip *g = arg;

	if (g->hooks.claim == NULL)
		return -EPERM;
	return g->hooks.claim(g->hooks.arg, c);
}

static uint32_t
gossip_on_random(void *arg)
{
	return randombytes_random();
}

/* Member records, load samples and claims are signed with this node's key. */
static void
gossip_on_sign(void *arg, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	struct gossip *g = arg;

	nodekey_sign(g->key, msg, len, sig);
}

/* The core bounds incarnations and load versions by the wall clock. */
static uint64_t
gossip_on_wall(void *arg)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void gossip_on_timer(uv_timer_t *t);

/* Runs due timers and re-arms for the next deadline. */
static void
gossip_rearm(struct gossip *g)
{
	uint64_t now = uv_now(g->loop), next;

	next = swim_tick(g->swim, now);
	uv_timer_start(&g->timer, gossip_on_timer, next > now ? next - now : 0, 0);
}

static void
gossip_on_timer(uv_timer_t *t)
{
	gossip_rearm(container_of(t, struct gossip, timer));
}

int
gossip_start(uv_loop_t *loop, struct transport *tr, const struct gossip_opts *o,
	     struct gossip **out)
{
	struct swim_ops ops = { .send = gossip_on_send,
				.event = gossip_on_event,
				.random = gossip_on_random,
				.sign = gossip_on_sign,
				.wall = gossip_on_wall,
				.claim = gossip_on_claim };
	struct gossip *g = xcalloc(1, sizeof(*g));

	g->loop = loop;
	g->tr = tr;
	g->key = o->key;
	g->leave_ms = o->leave_ms;
	g->hooks = o->hooks;
	g->swim = swim_new(&o->swim, &ops, g, o->node_id, o->incarnation, &o->self_addr, o->name,
			   o->key->pk, uv_now(loop));
	if (g->swim == NULL) {
		free(g);
		return -EINVAL;
	}
	uv_timer_init(loop, &g->timer);
	uv_timer_init(loop, &g->leave_timer);
	g->open_handles = 2;
	if (o->nseeds > 0)
		swim_join(g->swim, o->seeds, o->nseeds, uv_now(loop));
	gossip_rearm(g);
	*out = g;
	return 0;
}

int
gossip_join(struct gossip *g, const struct swim_addr *seeds, size_t n)
{
	int r = swim_join(g->swim, seeds, n, uv_now(g->loop));

	gossip_rearm(g);
	return r;
}

void
gossip_on_message(struct gossip *g, const struct wire_msg *msg, const struct sockaddr *from)
{
	struct swim_addr a;

	if (gossip_addr_from_sockaddr(from, &a) != 0)
		return;
	swim_on_message(g->swim, msg->node_id, &a, msg->type, msg->payload, msg->payload_len,
			uv_now(g->loop));
	gossip_rearm(g);
}

void
gossip_set_load(struct gossip *g, const struct swim_load *load)
{
	swim_set_load(g->swim, load, uv_now(g->loop));
	gossip_rearm(g);
}

static void
gossip_on_left(uv_timer_t *t)
{
	struct gossip *g = container_of(t, struct gossip, leave_timer);
	void (*done)(void *) = g->leave_done;

	g->leave_done = NULL;
	if (done != NULL)
		done(g->leave_arg);
}

void
gossip_leave(struct gossip *g, void (*done)(void *arg), void *arg)
{
	log_info("gossip: leaving the cluster gracefully (%" PRIu64 " ms)", g->leave_ms);
	swim_leave(g->swim, uv_now(g->loop));
	g->leave_done = done;
	g->leave_arg = arg;
	gossip_rearm(g);
	uv_timer_start(&g->leave_timer, gossip_on_left, g->leave_ms, 0);
}

const struct swim *
gossip_swim(const struct gossip *g)
{
	return g->swim;
}

struct transport *
gossip_transport(const struct gossip *g)
{
	return g->tr;
}

int
gossip_claim_register(struct gossip *g, uint8_t kind, uint32_t max_entries, bool pushpull)
{
	return swim_claim_register(g->swim, kind, max_entries, pushpull);
}

int
gossip_claim_publish(struct gossip *g, const struct swim_claim *c)
{
	int r = swim_claim_publish(g->swim, c, uv_now(g->loop));

	gossip_rearm(g);
	return r;
}

static void
gossip_on_closed(uv_handle_t *h)
{
	struct gossip *g = h->data;

	if (--g->open_handles > 0)
		return;
	swim_free(g->swim);
	free(g);
}

void
gossip_close(struct gossip *g)
{
	if (g == NULL)
		return;
	g->timer.data = g->leave_timer.data = g;
	uv_close((uv_handle_t *)&g->timer, gossip_on_closed);
	uv_close((uv_handle_t *)&g->leave_timer, gossip_on_closed);
}
