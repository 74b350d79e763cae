/*
 * haproxy_cfg: the text side of the HAProxy registrar, pure. Server names
 * (`mitosis-<id>`), runtime API command lines (HAProxy 2.6 management guide,
 * "add server", "set server", "del server", "show servers state"), the parser
 * of `show servers state` output, and the haproxy.cfg backend section that
 * `mitosis haproxy-config` prints (DOProxy's `generate`).
 *
 * Names and addresses are checked before they go into a command: the runtime
 * API takes ';' and newlines as command separators, so anything outside
 * [A-Za-z0-9_.:-] in a backend name, or an address that is not dotted IPv4,
 * is refused with -EINVAL rather than sent.
 */
#ifndef HAPROXY_CFG_H
#define HAPROXY_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HAPROXY_CFG_NAME_MAX 64 /* server and backend names, NUL included */
#define HAPROXY_CFG_ADDR_MAX 64
#define HAPROXY_CFG_CMD_MAX  256 /* one command line, newline and NUL included */
#define HAPROXY_CFG_PREFIX   "mitosis-"

/* srv_admin_state bits (HAProxy's SRV_ADMF_*). */
#define HAPROXY_ADMF_FMAINT 0x01U
#define HAPROXY_ADMF_IMAINT 0x02U
#define HAPROXY_ADMF_CMAINT 0x04U
#define HAPROXY_ADMF_FDRAIN 0x08U
#define HAPROXY_ADMF_IDRAIN 0x10U
#define HAPROXY_ADMF_RMAINT 0x20U
#define HAPROXY_ADMF_HMAINT 0x40U
#define HAPROXY_ADMF_MAINT  0x67U /* any maintenance bit */
#define HAPROXY_ADMF_DRAIN  0x18U

enum haproxy_cfg_state { HAPROXY_STATE_READY, HAPROXY_STATE_DRAIN, HAPROXY_STATE_MAINT };

/* One row of `show servers state`. */
struct haproxy_server {
	char name[HAPROXY_CFG_NAME_MAX];
	char addr[HAPROXY_CFG_ADDR_MAX];
	unsigned port;	      /* 0 when the output has no srv_port column */
	unsigned op_state;    /* 0 stopped, 1 starting, 2 running, 3 stopping */
	unsigned admin_state; /* HAPROXY_ADMF_* bits */
};

/* A member for the generated backend. */
struct haproxy_member {
	uint64_t id;
	const char *name; /* node name, for the comment; may be NULL */
	const char *ip;	  /* dotted IPv4 */
};

/* True for a name HAProxy accepts and the runtime API cannot misread. */
bool haproxy_cfg_name_valid(const char *s);
/* True for dotted-quad IPv4. */
bool haproxy_cfg_ipv4_valid(const char *s);

/* "mitosis-<id>" into buf. 0, or -ENOSPC when buf is too small. */
int haproxy_cfg_server_name(uint64_t id, char *buf, size_t size);
/* The node id from a "mitosis-<id>" name; false for any other name. */
bool haproxy_cfg_server_id(const char *name, uint64_t *id);

/*
 * Command lines, each ending in "\n", written into buf: 0, -EINVAL for a bad
 * backend, server name, address or port, -ENOSPC when buf is too small.
 *   add:    "add server BACKEND/NAME IP:PORT check"
 *   state:  "set server BACKEND/NAME state ready|drain|maint"
 *   health: "enable health BACKEND/NAME"
 *   del:    "del server BACKEND/NAME"
 *   show:   "show servers state BACKEND"
 */
int haproxy_cfg_cmd_add(const char *backend, const char *name, const char *ip, unsigned port,
			char *buf, size_t size);
int haproxy_cfg_cmd_state(const char *backend, const char *name, enum haproxy_cfg_state st,
			  char *buf, size_t size);
int haproxy_cfg_cmd_health(const char *backend, const char *name, char *buf, size_t size);
int haproxy_cfg_cmd_del(const char *backend, const char *name, char *buf, size_t size);
int haproxy_cfg_cmd_show(const char *backend, char *buf, size_t size);

/*
 * Whether a reply means success. `add server` answers "New server
 * registered.", `del server` "Server deleted.", `set server` and `enable
 * health` nothing at all; any other text is HAProxy's error message.
 */
bool haproxy_cfg_reply_ok(const char *reply);

/*
 * Parses `show servers state [BACKEND]` output (`len` bytes, need not be
 * NUL-terminated): a version line ("1"), a "# be_id be_name ..." header that
 * names the columns, then one row per server; rows of other backends are
 * skipped when `backend` is not NULL. Returns 0 with *out (caller frees; NULL
 * when none) and *n, or -EINVAL with a message in err (an unknown version, a
 * missing header or column, a short row, a bad number), or -ENOMEM.
 */
int haproxy_cfg_parse_state(const char *text, size_t len, const char *backend,
			    struct haproxy_server **out, size_t *n, char *err, size_t errsize);

/* True when the server takes new traffic by admin state (no maint, no drain). */
bool haproxy_cfg_server_ready(const struct haproxy_server *s);

/*
 * A complete haproxy.cfg backend section for these members: a comment header
 * (what made it, how many members), `balance roundrobin`, `option httpchk`,
 * and `server mitosis-<id> IP:PORT check` per member, sorted by id. Returns
 * 0 and a malloc'd text in *out, -EINVAL for a bad backend name or address,
 * -ENOMEM.
 */
int haproxy_cfg_backend(const char *backend, const struct haproxy_member *m, size_t n,
			unsigned port, char **out);

#endif
