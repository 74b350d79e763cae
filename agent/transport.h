/*
 * transport: the agent's UDP socket. Every datagram that arrives goes through
 * wire_receive(), which checks and counts it; accepted messages go to the
 * handler (the membership protocol). Sending seals a payload
 * with wire_encode() and the agent's sender state.
 */
#ifndef TRANSPORT_H
#define TRANSPORT_H

#include <stdint.h>

#include <uv.h>

#include "wire.h"

struct transport;

typedef void transport_msg_fn(const struct wire_msg *msg, const struct sockaddr *from, void *arg);

/* Binds host:port (IPv4 or IPv6 literal) for node `node_id`. Returns 0 and a
 * new transport, or a negative errno (a libuv error translated) with nothing
 * left open. `kr` is borrowed. */
int transport_open(uv_loop_t *loop, const char *host, uint16_t port, const struct keyring *kr,
		   uint64_t cluster_id, uint64_t node_id, transport_msg_fn *on_msg, void *arg,
		   struct transport **out);

/* Another address peers reach us at (the advertised one): a first contact
 * sealed for it is taken. The bound address is added by transport_open.
 * 0, -EINVAL for a wildcard address, or -ENOSPC past WIRE_SELF_ADDRS. */
int transport_add_address(struct transport *t, const struct sockaddr *sa);

/*
 * Swaps the keyring (a reload on SIGHUP): datagrams are checked against `kr`
 * and sealed with its primary key from now on; replay windows are kept. `kr`
 * is borrowed and must outlive the transport or the next swap.
 */
void transport_set_keyring(struct transport *t, const struct keyring *kr);

/* Signs every datagram from now on (Ed25519, the sign_datagrams key), or not. */
void transport_set_signing(struct transport *t, bool on);

/* Seals and sends one message to node `to_id` at `to`; to_id 0 binds it to
 * the address instead (a seed whose id we do not know). 0 or a negative errno. */
int transport_send(struct transport *t, const struct sockaddr *to, uint64_t to_id, uint8_t type,
		   const void *payload, size_t len);

/* Counters: per verdict, and datagrams/bytes in and out. */
uint64_t transport_count(const struct transport *t, enum wire_verdict v);
void transport_io(const struct transport *t, uint64_t *dgrams_in, uint64_t *bytes_in,
		  uint64_t *dgrams_out, uint64_t *bytes_out);

/* Logs the counters in one line ("wire: in=... accept=... replay=..."). */
void transport_log_counts(const struct transport *t);

/* Closes the socket; the transport is freed in the close callback. Accepts NULL. */
void transport_close(struct transport *t);

#endif
