#!/usr/bin/env python3
"""A small stand-in for the DigitalOcean metadata service, for integration tests.

Serves GET /metadata/v1.json (and /metadata/v1/id, /hostname) on 127.0.0.1 from a
JSON file, or misbehaves on purpose:
  --mode ok        answer with the body (default)
  --mode hang      accept the connection, never answer (a blackholed service)
  --mode status    answer every request with --status (e.g. 500)
  --mode flaky     fail the first --fail-first requests with 500, then answer
Prints the port it listens on as its first stdout line. Exits after --lifetime
seconds at most, so a forgotten server never outlives its test.
"""
import argparse
import http.server
import json
import socketserver
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--body", help="file with the v1.json body")
    ap.add_argument("--mode", default="ok", choices=["ok", "hang", "status", "flaky"])
    ap.add_argument("--status", type=int, default=500)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    if not args.host.startswith("127."):
        sys.exit("fake_metadata: refusing to listen outside 127.0.0.0/8")
    body = b"{}"
    if args.body:
        with open(args.body, "rb") as f:
            body = f.read()
    state = {"requests": 0}
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            sys.stderr.write("fake_metadata: " + (fmt % a) + "\n")

        def do_GET(self):
            with lock:
                state["requests"] += 1
                n = state["requests"]
            if args.mode == "hang":
                time.sleep(args.lifetime)
                return
            if args.mode == "status" or (args.mode == "flaky" and n <= args.fail_first):
                self.send_response(args.status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path == "/metadata/v1.json":
                out, ctype = body, "application/json"
            elif self.path == "/metadata/v1/id":
                out, ctype = str(json.loads(body).get("droplet_id", "")).encode(), "text/plain"
            elif self.path == "/metadata/v1/hostname":
                out, ctype = str(json.loads(body).get("hostname", "")).encode(), "text/plain"
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True

    srv = Server((args.host, 0), Handler)
    print(srv.server_address[1], flush=True)
    threading.Timer(args.lifetime, lambda: srv.shutdown()).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
