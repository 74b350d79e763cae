/*
 * agent: the daemon. struct agent owns the one uv_loop_t and every subsystem
 * on it; agent_run() returns when the loop has stopped and every handle has
 * closed (two-phase shutdown on SIGINT/SIGTERM or a fatal start-up error).
 * SIGHUP reloads what can change while the agent runs (docs/operations.md).
 */
#ifndef AGENT_H
#define AGENT_H

struct cfg;
struct keyring;

/*
 * Reads the configuration again for SIGHUP, as it was read at start (the same
 * file and flags). Returns a new configuration, which the agent frees, or
 * NULL when it has errors, which the function has logged. Called on the loop.
 */
typedef struct cfg *agent_reload_fn(void *arg);

/* Runs the agent until it stops. `cfg` and `kr` are borrowed; `reload` (with
 * `reload_arg`) is called on each SIGHUP. Returns the process exit code: 0
 * after a clean shutdown, 1 when start-up failed (the reason has been logged)
 * or the loop did not close cleanly. */
int agent_run(const struct cfg *cfg, const struct keyring *kr, agent_reload_fn *reload,
	      void *reload_arg);

#endif
