/*
 * agent: the daemon. struct agent owns the one uv_loop_t and every subsystem
 * on it; agent_run() returns when the loop has stopped and every handle has
 * closed (two-phase shutdown on SIGINT/SIGTERM or a fatal start-up error).
 */
#ifndef AGENT_H
#define AGENT_H

struct cfg;
struct keyring;

/* Runs the agent until it stops. `cfg` and `kr` are borrowed. Returns the
 * process exit code: 0 after a clean shutdown, 1 when start-up failed (the
 * reason has been logged) or the loop did not close cleanly. */
int agent_run(const struct cfg *cfg, const struct keyring *kr);

#endif
