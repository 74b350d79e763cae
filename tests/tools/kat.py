#!/usr/bin/env python3
"""Known-answer vectors for the signed and tagged structures, computed without
libsodium: hashlib's BLAKE2b and the pure-Python Ed25519 of RFC 8032 section 6
(below, as printed there). The C unit tests (tests/unit/test_wire.c,
tests/unit/test_swim_codec.c) hold the hex this prints; docs/protocol.md and
docs/membership.md quote it. Standard library only.

    python3 tests/tools/kat.py          # prints every vector
"""
import hashlib
import struct
import base64

# ---- RFC 8032, 6. Ed25519 (reference implementation) ----------------------
p = 2**255 - 19
q = 2**252 + 27742317777372353535851937790883648493


def sha512(s):
    return hashlib.sha512(s).digest()


def modp_inv(x):
    return pow(x, p - 2, p)


d = -121665 * modp_inv(121666) % p


def point_add(P, Q):
    A, B = (P[1] - P[0]) * (Q[1] - Q[0]) % p, (P[1] + P[0]) * (Q[1] + Q[0]) % p
    C, D = 2 * P[3] * Q[3] * d % p, 2 * P[2] * Q[2] % p
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)


def point_mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = point_add(Q, P)
        P = point_add(P, P)
        s >>= 1
    return Q


def point_equal(P, Q):
    if (P[0] * Q[2] - Q[0] * P[2]) % p != 0:
        return False
    if (P[1] * Q[2] - Q[1] * P[2]) % p != 0:
        return False
    return True


modp_sqrt_m1 = pow(2, (p - 1) // 4, p)


def recover_x(y, sign):
    if y >= p:
        return None
    x2 = (y * y - 1) * modp_inv(d * y * y + 1)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p != 0:
        x = x * modp_sqrt_m1 % p
    if (x * x - x2) % p != 0:
        return None
    if (x & 1) != sign:
        x = p - x
    return x


g_y = 4 * modp_inv(5) % p
g_x = recover_x(g_y, 0)
G = (g_x, g_y, 1, g_x * g_y % p)


def point_compress(P):
    zinv = modp_inv(P[2])
    x, y = P[0] * zinv % p, P[1] * zinv % p
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def secret_expand(secret):
    h = sha512(secret)
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return (a, h[32:])


def secret_to_public(secret):
    a, _ = secret_expand(secret)
    return point_compress(point_mul(a, G))


def sign(secret, msg):
    a, prefix = secret_expand(secret)
    A = point_compress(point_mul(a, G))
    r = int.from_bytes(sha512(prefix + msg), "little") % q
    R = point_mul(r, G)
    Rs = point_compress(R)
    h = int.from_bytes(sha512(Rs + A + msg), "little") % q
    s = (r + h * a) % q
    return Rs + int.to_bytes(s, 32, "little")


# ---- mitosis ----------------------------------------------------------------
def b2b(data, size, key=b"", salt=b"", person=b""):
    return hashlib.blake2b(data, digest_size=size, key=key, salt=salt, person=person).digest()


def kdf(secret, subkey_id, ctx=b"mitosis_"):
    """libsodium 1.0.18 crypto_kdf_derive_from_key."""
    return b2b(b"", 32, key=secret, salt=struct.pack("<Q", subkey_id) + b"\0" * 8,
               person=ctx + b"\0" * 8)


def cluster_id(name):
    return b2b(b"mitosis cluster " + name.encode(), 32)[:8]


SECRET0 = bytes(range(32))
SIGN_SEED = kdf(SECRET0, 1)
TAG_KEY = kdf(SECRET0, 2)
SIGN_PK = secret_to_public(SIGN_SEED)
KEY_ID = b2b(SIGN_PK, 32)[:4]


def envelope(typ, payload, node, stamp, bind, signed=False, bind_addr=False):
    """A version 3 datagram; `bind` is the receiver's id (8 bytes BE) or address (19 bytes)."""
    t = typ | (0x80 if signed else 0) | (0x40 if bind_addr else 0)
    hdr = b"mi" + bytes([3, t]) + struct.pack(">H", len(payload)) + cluster_id("test")[:4] + KEY_ID
    hdr += struct.pack(">QQ", node, stamp)
    body = hdr + payload
    if signed:
        body += sign(SIGN_SEED, body)
    return body + b2b(bind + body, 16, key=TAG_KEY)


def addr4(a, b, c, dd, port):
    return bytes([4, a, b, c, dd]) + b"\0" * 12 + struct.pack(">H", port)


# ---- membership records (common/swim_codec.c, docs/membership.md) ---------
NODE_SEED = bytes(range(32))  # a node key's seed (state_dir/node.key)
NODE_PK = secret_to_public(NODE_SEED)
CLUSTER = cluster_id("test")


def ctx(name):
    return name.encode().ljust(16, b"\0")


def addr_canon(fam, ip, port):
    return bytes([fam]) + ip.ljust(16, b"\0") + struct.pack(">H", port)


def member_signed(mid, inc, left, ip, port, name):
    return (ctx("mitosis member") + CLUSTER + struct.pack(">QQ", mid, inc) + bytes([3 if left else 0])
            + addr_canon(4, ip, port) + bytes([len(name)]) + name + NODE_PK)


def load_fields(version, cpu, load1, mem):
    return struct.pack(">IHHH", version, cpu, load1, mem)


def load_signed(mid, version, cpu, load1, mem, custom):
    return (ctx("mitosis load") + CLUSTER + struct.pack(">Q", mid) + bytes([1 if custom is not None else 0])
            + load_fields(version, cpu, load1, mem) + struct.pack(">q", custom or 0))


def app_body(kind, subject, version, origin, data):
    return bytes([kind]) + struct.pack(">QQQ", subject, version, origin) + bytes([len(data)]) + data


def swim_vectors():
    mid, inc, ip, port, name = 7, 0x0102030405060708, bytes([10, 0, 0, 7]), 7946, b"w1"
    m_msg = member_signed(mid, inc, False, ip, port, name)
    m_sig = sign(NODE_SEED, m_msg)
    member = (bytes([1 | 0x10]) + struct.pack(">QQ", mid, inc) + bytes([4]) + ip + struct.pack(">H", port)
              + bytes([len(name)]) + name + NODE_PK + m_sig)
    l_msg = load_signed(mid, 1700000000, 300, 100, 50, -5)
    l_sig = sign(NODE_SEED, l_msg)
    load = (bytes([3 | 0x08]) + struct.pack(">Q", mid) + load_fields(1700000000, 300, 100, 50)
            + struct.pack(">q", -5) + l_sig)
    a_msg = ctx("mitosis app") + CLUSTER + app_body(1, 0, 5, mid, b"leader")
    a_sig = sign(NODE_SEED, a_msg)
    app = bytes([4]) + app_body(1, 0, 5, mid, b"leader") + a_sig
    c_msg = ctx("mitosis accuse") + CLUSTER + struct.pack(">QQ", mid, inc) + bytes([2]) + struct.pack(">Q", 0x99)
    c_sig = sign(NODE_SEED, c_msg)  # the accuser's key (node 0x99's, here the same seed)
    accuse = bytes([2 | 0x08]) + struct.pack(">QQQ", mid, inc, 0x99) + c_sig
    payload = bytes([2, 4]) + member + accuse + load + app  # GOSSIP: version, count
    print("node key pk", NODE_PK.hex())
    print("member signed", m_msg.hex())
    print("member sig", m_sig.hex())
    print("load signed", l_msg.hex())
    print("load sig", l_sig.hex())
    print("app signed", a_msg.hex())
    print("app sig", a_sig.hex())
    print("accuse signed", c_msg.hex())
    print("accuse sig", c_sig.hex())
    print("gossip payload (%d bytes: member %d, accuse %d, load %d, app %d)" %
          (len(payload), len(member), len(accuse), len(load), len(app)))
    print(payload.hex())


def main():
    print("key id", KEY_ID.hex(), "sign pk", SIGN_PK.hex(), "tag key", TAG_KEY.hex())
    stamp = 1700000000000 << 12
    to = struct.pack(">Q", 43)
    print("v3 unsigned, bound to node 43:")
    print(envelope(3, b"hello", 42, stamp, to).hex())
    print("v3 signed, bound to node 43:")
    print(envelope(3, b"hello", 42, stamp, to, signed=True).hex())
    print("v3 unsigned, bound to 10.0.0.7:7950:")
    print(envelope(3, b"hello", 42, stamp, addr4(10, 0, 0, 7, 7950), bind_addr=True).hex())
    swim_vectors()


if __name__ == "__main__":
    main()
