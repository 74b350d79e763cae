#!/usr/bin/env python3
"""Capture one UDP datagram on the loopback interface and replay it: what an
outsider on the path does (docs/protocol.md, "Threat model"). Root only (a
raw AF_PACKET socket); the test that uses it skips without root.

    capture.py capture --src IP --dst IP --dport PORT --out FILE [--timeout S]
        writes the first matching UDP payload to FILE (hex) and exits 0,
        or exits 1 at the timeout
    capture.py replay --file FILE --to IP:PORT [--listen S]
        sends the captured bytes to IP:PORT from a fresh socket (no member's
        address) and prints "replies N bytes M" received within S seconds
Standard library only; bounded in time and count.
"""
import argparse
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def capture(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind(("lo", 0))
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.dst)
    end = time.time() + a.timeout
    while time.time() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.time()))
        if not r:
            continue
        frame, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue  # loopback shows each packet twice: take it once
        ip = frame[14:]  # loopback frames carry a zero Ethernet header
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        if ip[12:16] != src or ip[16:20] != dst:
            continue
        sport, dport, ulen = struct.unpack(">HHH", ip[ihl:ihl + 6])
        if dport != a.dport:
            continue
        payload = ip[ihl + 8:ihl + ulen]
        with open(a.out, "w") as f:
            f.write(payload.hex() + "\n")
        return 0
    return 1


def replay(a):
    data = bytes.fromhex(open(a.file).read().strip())
    host, port = a.to.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.sendto(data, (host, int(port)))
    n = nbytes = 0
    end = time.time() + a.listen
    while time.time() < end and n < 10000:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.time()))
        if r:
            nbytes += len(s.recv(65535))
            n += 1
    print("replies %d bytes %d" % (n, nbytes))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("--src", required=True)
    c.add_argument("--dst", required=True)
    c.add_argument("--dport", type=int, required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--timeout", type=float, default=10)
    r = sub.add_parser("replay")
    r.add_argument("--file", required=True)
    r.add_argument("--to", required=True)
    r.add_argument("--listen", type=float, default=2)
    a = p.parse_args()
    return capture(a) if a.cmd == "capture" else replay(a)


if __name__ == "__main__":
    sys.exit(main())
