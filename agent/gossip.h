/*
 * gossip: drives the membership state machine (common/swim.c) on the loop.
 * Verified datagrams come in from the transport, one uv_timer_t fires at the
 * deadline swim_tick() returns, and the machine's sends go out through the
 * transport, sealed in the authenticated envelope (common/wire.c).
 */
#ifndef GOSSIP_H
#define GOSSIP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "swim.h"

struct gossip;
struct nodekey;
struct transport;
struct wire_msg;

/* The kinds of application claims the agent gossips (docs/membership.md,
 * "Application claims"): one list, so that two modules never take one kind. */
enum gossip_claim_kind {
	GOSSIP_CLAIM_LEADER = 1,  /* the leader's signed announcement (agent/election.c) */
	GOSSIP_CLAIM_NODE = 2,	  /* a node's own addresses, without an API token (leader.c) */
	GOSSIP_CLAIM_DRAIN = 3,	  /* the leader: a node is draining / must leave (autoscale.c) */
	GOSSIP_CLAIM_PROTECT = 4, /* a node's own `protect = yes` (autoscale.c) */
};

/* Observers of the membership, called after gossip has logged the event. */
struct gossip_hooks {
	/* A member appeared or changed (swim_ops.event); m borrowed for the
	 * call. Must not call back into gossip (swim is mid-update). */
	void (*member)(void *arg, const struct swim_member *m, enum swim_state old, bool is_new);
	/* An application claim arrived (swim_ops.claim): 0 takes it, a
	 * negative errno refuses it. Must not call back into gossip. */
	int (*claim)(void *arg, const struct swim_claim *c);
	void *arg;
};

struct gossip_opts {
	struct swim_config swim;
	uint64_t node_id;
	uint64_t incarnation;
	const struct nodekey *key;  /* this node's key (borrowed; outlives the gossip) */
	struct swim_addr self_addr; /* the advertised address */
	const char *name;
	const struct swim_addr *seeds;
	size_t nseeds;
	uint64_t leave_ms;	   /* how long a graceful leave keeps gossiping */
	struct gossip_hooks hooks; /* may be all NULL */
};

/* Starts gossiping through `tr` (borrowed). 0 or a negative errno. */
int gossip_start(uv_loop_t *loop, struct transport *tr, const struct gossip_opts *o,
		 struct gossip **out);

/* Asks these addresses for their state until one answers (swim_join). 0 or -EINVAL. */
int gossip_join(struct gossip *g, const struct swim_addr *seeds, size_t n);

/* Hands a verified datagram to the machine. */
void gossip_on_message(struct gossip *g, const struct wire_msg *msg, const struct sockaddr *from);

/* Our newest load sample. */
void gossip_set_load(struct gossip *g, const struct swim_load *load);

/* Graceful leave: gossips LEFT for o->leave_ms, then calls done (once). */
void gossip_leave(struct gossip *g, void (*done)(void *arg), void *arg);

const struct swim *gossip_swim(const struct gossip *g);
/* The transport it sends through (borrowed), for modules that send their
 * own message types to members (agent/histlog.c). */
struct transport *gossip_transport(const struct gossip *g);

/* swim_claim_register / swim_claim_publish on the loop (include/swim.h). */
int gossip_claim_register(struct gossip *g, uint8_t kind, uint32_t max_entries, bool pushpull);
int gossip_claim_publish(struct gossip *g, const struct swim_claim *c);

/* Closes the timer; the gossip state is freed in its close callback. Accepts NULL. */
void gossip_close(struct gossip *g);

/* swim_addr -> sockaddr (AF_INET or AF_INET6), for the transport. */
void gossip_addr_to_sockaddr(const struct swim_addr *a, struct sockaddr_storage *out);

/* "HOST[:PORT]" literal -> swim_addr. 0 or -EINVAL. */
int gossip_addr_parse(const char *s, uint16_t default_port, struct swim_addr *out);

#endif
