#!/usr/bin/env python3
"""soakload.py - the clients of tests/stress/soak.sh (standard library only, threads).

    soakload.py CLIENTS SECONDS PID

Runs CLIENTS threads, each with its own keep-alive HTTPS connections, for SECONDS, picking
mixed operations at random:

  arm-counter  read one of 4 shared resource groups, PUT its tag n+1 with If-Match: ETag;
               a 412 means another writer won: re-read and retry. Every acknowledged increment
               is counted, so at the end n must equal the count (no lost update).
  arm-write    PUT a client-owned resource group with a tag, GET it back, compare.
  arm-read     GET the source cluster; list resource groups.
  blob-own     PUT a client-owned blob with random content (up to 256 KiB), GET it, compare MD5.
  blob-counter read one of 4 shared blobs holding a number, PUT n+1 with If-Match (Blob ETag).
  hsm          generate an AES key, encrypt and decrypt random data, compare, delete the key;
               or 32 random bytes.

Every answer is counted by status; a 5xx, a transport error, a mismatch or a lost update is a
failure. The emulator's RSS (VmRSS of PID) is sampled every 2 s. Prints one JSON summary.
Environment: ARM, BLOB, CA, TOKEN, SUB, SOAK_RG, HSM (data-plane base path /hsm/{label}),
SESSIONS (space-separated CU session tokens).
"""
import base64
import email.utils
import hashlib
import hmac
import http.client
import json
import os
import random
import ssl
import sys
import threading
import time
import urllib.parse

DEVKEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
          "KBHBeksoGMGw==")
COUNTERS = 4


def env(k):
    return os.environ.get(k, "")


class Conn:
    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=env("CA"))
        self.ctx.check_hostname = False
        self.c = None

    def request(self, method, path, body=None, headers=None):
        if self.c is None:
            self.c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                                 timeout=60)
        try:
            self.c.request(method, path, body=body, headers=headers or {})
            r = self.c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        except (OSError, http.client.HTTPException):
            self.c.close()
            self.c = None
            raise


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.status = {}
        self.ops = {}
        self.failures = []
        self.increments = {}
        self.blob_increments = {}
        self.conflicts = 0

    def count(self, status):
        with self.lock:
            self.status[status] = self.status.get(status, 0) + 1

    def op(self, name):
        with self.lock:
            self.ops[name] = self.ops.get(name, 0) + 1

    def fail(self, text):
        with self.lock:
            if len(self.failures) < 50:
                self.failures.append(text)
            self.status["failures"] = self.status.get("failures", 0) + 1


ST = Stats()


def call(conn, method, path, body=None, headers=None):
    try:
        st, h, data = conn.request(method, path, body, headers)
    except (OSError, http.client.HTTPException) as e:
        ST.count("transport")
        ST.fail(f"{method} {path}: {e!r}")
        return None, {}, b""
    ST.count(st)
    if st >= 500:
        ST.fail(f"{method} {path}: {st} {data[:200]!r}")
    return st, h, data


def arm(conn, method, path, body=None, extra=None):
    h = {"Authorization": "Bearer " + env("TOKEN")}
    if extra:
        h.update(extra)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    st, hdrs, out = call(conn, method, path, data, h)
    try:
        doc = json.loads(out) if out else {}
    except ValueError:
        doc = {}
    return st, hdrs, doc


def rg(name):
    return f"/subscriptions/{env('SUB')}/resourcegroups/{name}?api-version=2021-04-01"


def blob_headers(method, path, length, extra=None):
    h = {"x-ms-version": "2025-05-05", "x-ms-date": email.utils.formatdate(usegmt=True)}
    if method == "PUT":
        h["x-ms-blob-type"] = "BlockBlob"
    h.update(extra or {})
    lower = {k.lower(): v for k, v in h.items()}
    canon = "".join(f"{k}:{lower[k]}\n" for k in sorted(lower) if k.startswith("x-ms-"))
    sts = "\n".join([method, "", "", str(length) if length else "", "", "", "", "",
                     lower.get("if-match", ""), "", "", ""]) + "\n" + canon + \
        "/devstoreaccount1" + path
    mac = hmac.new(base64.b64decode(DEVKEY), sts.encode(), hashlib.sha256)
    h["Authorization"] = "SharedKey devstoreaccount1:" + base64.b64encode(mac.digest()).decode()
    h["Content-Length"] = str(length)
    return h


def blob(conn, method, name, data=b"", extra=None):
    path = f"/devstoreaccount1/soak/{name}"
    return call(conn, method, path, data if method == "PUT" else None,
                blob_headers(method, path, len(data) if method == "PUT" else 0, extra))


def op_arm_counter(c, rnd):
    k = rnd.randrange(COUNTERS)
    for _ in range(200):
        st, h, doc = arm(c["arm"], "GET", rg(f"soak-counter-{k}"))
        if st != 200:
            return
        n = int(doc.get("tags", {}).get("n", "0"))
        st, _, _ = arm(c["arm"], "PUT", rg(f"soak-counter-{k}"),
                       {"location": "uksouth", "tags": {"n": str(n + 1)}},
                       {"If-Match": h.get("etag", "")})
        if st == 200:
            with ST.lock:
                ST.increments[k] = ST.increments.get(k, 0) + 1
            return
        if st != 412:
            ST.fail(f"counter PUT answered {st}")
            return
        with ST.lock:
            ST.conflicts += 1
    ST.fail("counter: 200 conflicts in a row")


def op_arm_write(c, rnd):
    name = f"soak-c{c['id']}-{rnd.randrange(4)}"
    v = str(rnd.randrange(1 << 30))
    st, _, _ = arm(c["arm"], "PUT", rg(name), {"location": "uksouth", "tags": {"v": v}})
    if st not in (200, 201):
        return
    st, _, doc = arm(c["arm"], "GET", rg(name))
    if st != 200 or doc.get("tags", {}).get("v") != v:
        ST.fail(f"resource group {name}: wrote {v}, read {st} {doc.get('tags')}")


def op_arm_read(c, rnd):
    if rnd.random() < 0.5:
        arm(c["arm"], "GET", env("SRC") + "?api-version=2025-03-31")
    else:
        arm(c["arm"], "GET", f"/subscriptions/{env('SUB')}/resourcegroups?api-version=2021-04-01")


def op_blob_own(c, rnd):
    name = f"c{c['id']}-{rnd.randrange(8)}"
    data = os.urandom(rnd.choice([0, 100, 4096, 65536, 262144]))
    st, _, _ = blob(c["blob"], "PUT", name, data)
    if st != 201:
        return
    st, _, got = blob(c["blob"], "GET", name)
    if st != 200 or hashlib.md5(got).digest() != hashlib.md5(data).digest():
        ST.fail(f"blob {name}: read back {st}, {len(got)} of {len(data)} bytes")


def op_blob_counter(c, rnd):
    k = rnd.randrange(COUNTERS)
    for _ in range(200):
        st, h, data = blob(c["blob"], "GET", f"counter-{k}")
        if st != 200:
            return
        n = int(data or b"0")
        st, _, _ = blob(c["blob"], "PUT", f"counter-{k}", str(n + 1).encode(),
                        {"If-Match": h.get("etag", "")})
        if st == 201:
            with ST.lock:
                ST.blob_increments[k] = ST.blob_increments.get(k, 0) + 1
            return
        if st != 412:
            ST.fail(f"blob counter PUT answered {st}")
            return
        with ST.lock:
            ST.conflicts += 1
    ST.fail("blob counter: 200 conflicts in a row")


def op_hsm(c, rnd):
    h = {"Authorization": "HSM-Session " + c["session"], "Content-Type": "application/json"}
    base = env("HSM")
    if rnd.random() < 0.3:
        call(c["arm"], "GET", base + "/random?bytes=32", None, h)
        return
    st, _, out = call(c["arm"], "POST", base + "/keys",
                      json.dumps({"type": "AES", "size": 256}).encode(), h)
    if st != 201:
        return
    handle = json.loads(out)["keys"][0]["handle"]
    data = base64.b64encode(os.urandom(48)).decode()
    st, _, out = call(c["arm"], "POST", f"{base}/keys/{handle}/encrypt",
                      json.dumps({"mechanism": "AES-GCM", "data": data}).encode(), h)
    if st == 200:
        enc = json.loads(out)
        body = {"mechanism": "AES-GCM", "ciphertext": enc.get("ciphertext"), "iv": enc.get("iv")}
        if "tag" in enc:
            body["tag"] = enc["tag"]
        st, _, out = call(c["arm"], "POST", f"{base}/keys/{handle}/decrypt",
                          json.dumps(body).encode(), h)
        if st != 200 or json.loads(out).get("data") != data:
            ST.fail(f"HSM decrypt of key {handle}: {st} {out[:200]!r}")
    else:
        ST.fail(f"HSM encrypt with key {handle}: {st} {out[:200]!r}")
    call(c["arm"], "DELETE", f"{base}/keys/{handle}", None, h)


OPS = [(op_arm_counter, 2), (op_arm_write, 2), (op_arm_read, 2), (op_blob_own, 2),
       (op_blob_counter, 2), (op_hsm, 1)]


def client(i, deadline, sessions):
    rnd = random.Random(i * 7919 + int(time.time()))
    c = {"id": i, "arm": Conn(env("ARM")), "blob": Conn(env("BLOB")),
         "session": sessions[i % len(sessions)]}
    names = [f for f, w in OPS for _ in range(w)]
    while time.monotonic() < deadline:
        f = rnd.choice(names)
        ST.op(f.__name__[3:])
        try:
            f(c, rnd)
        except Exception as e:  # a malformed answer is a failure, not a crash of the driver
            ST.fail(f"{f.__name__}: {e!r}")


def rss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    clients, seconds, pid = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    sessions = env("SESSIONS").split()
    start = time.monotonic()
    deadline = start + seconds
    threads = [threading.Thread(target=client, args=(i, deadline, sessions), daemon=True)
               for i in range(clients)]
    for t in threads:
        t.start()
    samples = []
    while any(t.is_alive() for t in threads):
        r = rss_kib(pid)
        if r is not None:
            samples.append((round(time.monotonic() - start, 1), r))
        time.sleep(2)
    for t in threads:
        t.join()
    # Lost updates: the counters' final values against the acknowledged increments.
    a = Conn(env("ARM"))
    b = Conn(env("BLOB"))
    lost = []
    for k in range(COUNTERS):
        st, _, doc = arm(a, "GET", rg(f"soak-counter-{k}"))
        n = int(doc.get("tags", {}).get("n", "-1"))
        if n != ST.increments.get(k, 0):
            lost.append(f"resource group counter {k}: {n}, acknowledged {ST.increments.get(k, 0)}")
        st, _, data = blob(b, "GET", f"counter-{k}")
        n = int(data or b"-1")
        if n != ST.blob_increments.get(k, 0):
            lost.append(f"blob counter {k}: {n}, acknowledged {ST.blob_increments.get(k, 0)}")
    total = sum(v for k, v in ST.status.items() if isinstance(k, int))
    print(json.dumps({
        "clients": clients, "seconds": round(time.monotonic() - start, 1), "requests": total,
        "status": {str(k): v for k, v in sorted(ST.status.items(), key=lambda x: str(x[0]))},
        "ops": ST.ops, "conflicts": ST.conflicts,
        "increments": sum(ST.increments.values()) + sum(ST.blob_increments.values()),
        "lost_updates": lost, "failures": ST.failures, "rss_kib": samples}))


if __name__ == "__main__":
    main()
