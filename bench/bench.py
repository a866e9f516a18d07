#!/usr/bin/env python3
"""bench.py - the benchmark harness behind scripts/bench.sh.

Starts the emulator, its peers (Azurite in memory and on disk) and its floors (a bare
libmicrohttpd server, `openssl speed`, `dd` on the data dir's disk) on loopback, measures them
side by side on this machine, and writes a Markdown report with ratios, medians over repeated
runs and every raw figure. The bars of issue 9 are reported (met / missed), never asserted.

    bench.py --build DIR [--smoke] [--repeats N] [--duration S] [--out FILE] [--only CASES]

Load comes from wrk (bench/wrk/bench.lua) and bench/driver.c (chsm-bench-driver).
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUB = "00000000-0000-0000-0000-000000000001"
TOKEN = "bench-token"
CALLER_OID = "00000000-0000-0000-0000-00000000c0de"  # who an opaque token is
# Azurite's well-known development account: both servers have it by default.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
BLOB_VERSION = "2021-08-06"
HSM_API = "2025-03-31"
RG_API = "2021-04-01"

ARGS = None
TMP = None
PROCS = []
RESULTS = {}   # case -> dict
NOTES = []


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- processes

def rss_kib(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler:
    """Samples a process's VmRSS every 20 ms while a case runs; .peak is the largest (KiB)."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            v = rss_kib(self.pid)
            if v:
                self.peak = max(self.peak, v)
            self._stop.wait(0.02)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def start(cmd, log_path, **kw):
    f = open(log_path, "ab")
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, start_new_session=True, **kw)
    PROCS.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in PROCS:
        PROCS.remove(p)


def stop_all():
    for p in list(PROCS):
        try:
            stop(p)
        except Exception:
            pass


def wait_http(host, port, path, tls, deadline_s=30.0, interval=0.0005):
    """Polls until path answers any HTTP status but 503 (returns it) or the deadline passes:
    a listener can answer 503 "starting" for the moment before the emulator calls itself ready."""
    ctx = ssl._create_unverified_context() if tls else None  # loopback probe only
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            c = (http.client.HTTPSConnection(host, port, context=ctx, timeout=2) if tls
                 else http.client.HTTPConnection(host, port, timeout=2))
            c.request("GET", path)
            st = c.getresponse().status
            c.close()
            if st != 503:
                return st
            time.sleep(interval)
        except (OSError, http.client.HTTPException):
            time.sleep(interval)
    return None


class Emulator:
    def __init__(self, name, flags=(), data_dir=None):
        self.name = name
        self.data = data_dir or os.path.join(TMP, "emu-" + name)
        os.makedirs(self.data, exist_ok=True)
        ready = os.path.join(self.data, "emulator.json")
        if os.path.exists(ready):
            os.remove(ready)
        in_memory = "--in-memory" in flags
        # --in-memory keeps emulator.json in its own temp dir: listen on known ports instead.
        listen = ("127.0.0.1:%d" % free_port(), "127.0.0.1:%d" % free_port()) if in_memory \
            else ("127.0.0.1:0", "127.0.0.1:0")
        self.t0 = time.monotonic()
        self.proc = start([os.path.join(ARGS.build, "chsm-emulator"), "--listen", listen[0],
                           "--blob-listen", listen[1], "--data-dir", self.data,
                           "--log-level", "warn"] + list(flags),
                          os.path.join(TMP, "emu-%s.log" % name))
        if in_memory:
            self.tls = "--no-tls" not in flags
            self.arm = "%s://%s" % ("https" if self.tls else "http", listen[0])
            self.blob = "%s://%s" % ("https" if self.tls else "http", listen[1])
            self.ca = None
        else:
            while not os.path.exists(ready) or os.path.getsize(ready) == 0:
                if self.proc.poll() is not None:
                    raise RuntimeError("emulator %s exited: see %s" % (name, TMP))
                time.sleep(0.0005)
            info = json.load(open(ready))
            self.arm, self.blob = info["armUrl"], info.get("blobUrl")
            self.ca = info.get("caCert")
            self.tls = self.arm.startswith("https")
        u = urllib.parse.urlparse(self.arm)
        self.host, self.port = u.hostname, u.port
        if wait_http(self.host, self.port, "/_emulator/health", self.tls) != 200:
            raise RuntimeError("emulator %s not healthy" % name)
        self.ready_ms = (time.monotonic() - self.t0) * 1000

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        stop(self.proc)

    def call(self, method, path, body=None, headers=None, url=None):
        """One HTTP call (curl-free): returns (status, headers dict lowercased, body bytes)."""
        u = urllib.parse.urlparse(url or (self.arm + path))
        ctx = ssl.create_default_context(cafile=self.ca) if u.scheme == "https" else None
        c = (http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60)
             if ctx else http.client.HTTPConnection(u.hostname, u.port, timeout=60))
        h = {"Authorization": "Bearer " + TOKEN}
        if body is not None and not isinstance(body, (bytes, bytearray)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c.request(method, u.path + ("?" + u.query if u.query else ""), body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hd = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hd, data

    def arm_ok(self, method, path, body=None):
        st, _, data = self.call(method, path, body)
        if st >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, st, data[:300]))
        return json.loads(data) if data else None


# ---------------------------------------------------------------- load tools

def wrk(url, mode_args, headers=(), conns=64, threads=2, duration=None):
    duration = duration or ARGS.duration
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration, "--timeout", "10s",
           "-s", os.path.join(ROOT, "bench", "wrk", "bench.lua")]
    for h in headers:
        cmd += ["-H", h]
    cmd += [url, "--"] + list(mode_args)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    m = re.search(r"^BENCHJSON (\{.*\})$", out.stdout, re.M)
    if not m:
        raise RuntimeError("wrk gave no result: %s %s" % (out.stdout[-500:], out.stderr[-500:]))
    r = json.loads(m.group(1))
    r["errors"] = (r["non2xx"] + r["connect_errors"] + r["read_errors"] + r["write_errors"]
                   + r["timeouts"])
    return r


def driver(mode, url, *opts):
    cmd = [os.path.join(ARGS.build, "chsm-bench-driver"), mode, url] + [str(o) for o in opts]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError("driver failed: %s" % out.stderr[-800:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def account_sas(account, key, permissions="rwdlac"):
    """An account SAS (service b, resource types sco) valid for a day, signed with key."""
    now = datetime.datetime.now(datetime.timezone.utc)
    st = (now - datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    se = (now + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sv = BLOB_VERSION
    to_sign = "\n".join([account, permissions, "b", "sco", st, se, "", "http,https", sv, ""]) + "\n"
    sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(),
                                    hashlib.sha256).digest()).decode()
    q = {"sv": sv, "ss": "b", "srt": "sco", "sp": permissions, "st": st, "se": se,
         "spr": "http,https", "sig": sig}
    return urllib.parse.urlencode(q)


# ---------------------------------------------------------------- peers

def azurite_bin():
    return os.path.join(ROOT, "bench", "node", "node_modules", ".bin", "azurite-blob")


def ensure_azurite():
    if os.path.exists(azurite_bin()):
        return True
    if shutil.which("npm") is None:
        NOTES.append("Azurite: npm is not installed, so the peer is missing from this run.")
        return False
    log("installing Azurite into bench/node (npm ci)")
    try:
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=os.path.join(ROOT, "bench", "node"), capture_output=True,
                           text=True, timeout=180)
        why = (r.stderr.strip().splitlines() or ["?"])[-1] if r.returncode else ""
    except (subprocess.TimeoutExpired, OSError) as e:
        why = str(e)
    if why or not os.path.exists(azurite_bin()):
        NOTES.append("Azurite could not be installed (npm ci: %s), so the peer is missing "
                     "from this run." % (why or "no azurite-blob"))
        return False
    return True


class Azurite:
    def __init__(self, mode):
        self.mode = mode
        port = free_port()
        cmd = [azurite_bin(), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--silent",
               "--disableTelemetry", "--skipApiVersionCheck"]
        if mode == "memory":
            cmd.append("--inMemoryPersistence")
        else:
            loc = os.path.join(TMP, "azurite-disk")
            shutil.rmtree(loc, ignore_errors=True)
            os.makedirs(loc)
            cmd += ["--location", loc]
        self.t0 = time.monotonic()
        self.proc = start(cmd, os.path.join(TMP, "azurite-%s.log" % mode))
        self.port = port
        self.blob = "http://127.0.0.1:%d" % port
        if wait_http("127.0.0.1", port, "/" + DEV_ACCOUNT + "?comp=list", False, 60,
                     0.002) is None:
            raise RuntimeError("Azurite (%s) did not start" % mode)
        self.ready_ms = (time.monotonic() - self.t0) * 1000

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        stop(self.proc)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Floor:
    def __init__(self, body_bytes, tls_dir=None):
        cmd = [os.path.join(ARGS.build, "chsm-bench-floor"), "--body-bytes", str(body_bytes)]
        if tls_dir:
            cmd += ["--tls-cert", os.path.join(tls_dir, "server.pem"),
                    "--tls-key", os.path.join(tls_dir, "server-key.pem")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        PROCS.append(self.proc)
        line = self.proc.stdout.readline()
        self.port = int(line.split()[1])
        self.url = "%s://127.0.0.1:%d" % ("https" if tls_dir else "http", self.port)

    def stop(self):
        stop(self.proc)


# ---------------------------------------------------------------- blob helpers

def blob_call(base, method, path, sas, body=b"", headers=None):
    u = urllib.parse.urlparse(base)
    ctx = ssl._create_unverified_context() if u.scheme == "https" else None
    c = (http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=120) if ctx
         else http.client.HTTPConnection(u.hostname, u.port, timeout=120))
    h = {"x-ms-version": BLOB_VERSION}
    h.update(headers or {})
    c.request(method, path + "?" + sas, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def blob_container(base, sas, name):
    st, data = blob_call(base, "PUT", "/%s/%s" % (DEV_ACCOUNT, name), "restype=container&" + sas)
    if st not in (201, 409):
        raise RuntimeError("create container on %s: %d %s" % (base, st, data[:300]))


# ---------------------------------------------------------------- cases

def cluster_path(rg, name):
    return ("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.HardwareSecurityModules/"
            "cloudHsmClusters/%s" % (SUB, rg, name))


def case_cold_start():
    """Process start to /_emulator/health 200, and Azurite's start to its first answer."""
    n = max(3, ARGS.repeats * 3)
    res = {}
    for label, flags, fresh in (("TLS, new data dir (generates the certificates)", [], True),
                                ("TLS, existing data dir", [], False),
                                ("plain HTTP, new data dir", ["--no-tls"], True),
                                ("in memory, plain HTTP", ["--no-tls", "--in-memory"], True)):
        runs = []
        data = os.path.join(TMP, "cold")
        if not fresh:
            shutil.rmtree(data, ignore_errors=True)
            Emulator("cold-prep", flags, data).stop()
        for _ in range(n):
            if fresh:
                shutil.rmtree(data, ignore_errors=True)
            e = Emulator("cold", flags, data)
            runs.append(e.ready_ms)
            e.stop()
        res[label] = runs
    if AZURITE:
        for mode in ("memory", "disk"):
            runs = []
            for _ in range(max(2, ARGS.repeats)):
                a = Azurite(mode)
                runs.append(a.ready_ms)
                a.stop()
            res["Azurite (%s)" % mode] = runs
    RESULTS["cold_start"] = res


def case_arm(emu_tls, emu_plain):
    """ARM GET of a cluster (TLS and plain) against the floor; PUT and PATCH rates."""
    out = {"get": {}, "write": {}}
    for emu in (emu_tls, emu_plain):
        emu.arm_ok("PUT", "/subscriptions/%s/resourcegroups/bench?api-version=%s" % (SUB, RG_API),
                   {"location": "westeurope"})
        emu.arm_ok("PUT", cluster_path("bench", "bench-get") + "?api-version=" + HSM_API,
                   {"location": "westeurope", "sku": {"family": "B", "name": "Standard_B1"}})
        emu.arm_ok("GET", cluster_path("bench", "bench-get") + "?api-version=" + HSM_API)
    path = cluster_path("bench", "bench-get") + "?api-version=" + HSM_API
    body_len = len(emu_plain.call("GET", path)[2])
    auth = ["Authorization: Bearer " + TOKEN]
    floors = {"tls": Floor(body_len, os.path.dirname(emu_tls.ca)), "plain": Floor(body_len)}
    try:
        for scheme, emu in (("tls", emu_tls), ("plain", emu_plain)):
            runs = {"emulator": [], "floor": [], "emulator_rss_peak_kib": []}
            for _ in range(ARGS.repeats):
                with RssSampler(emu.pid) as s:
                    runs["emulator"].append(wrk(emu.arm, ["get", path], auth))
                runs["emulator_rss_peak_kib"].append(s.peak)
                runs["floor"].append(wrk(floors[scheme].url, ["get", path], auth))
            out["get"][scheme] = runs
    finally:
        for f in floors.values():
            f.stop()
    out["body_bytes"] = body_len
    # Writes: every request is one SQLite transaction (WAL; synchronous=NORMAL by default).
    for label, emu in (("tls", emu_tls), ("plain", emu_plain)):
        runs = {"put": [], "patch": []}
        for _ in range(ARGS.repeats):
            runs["put"].append(wrk(emu.arm, [
                "put", "/subscriptions/%s/resourcegroups/w" % SUB, "?api-version=" + RG_API,
                '{"location":"westeurope","tags":{"bench":"put"}}'], auth))
            runs["patch"].append(wrk(emu.arm, ["patch", path], auth))
        out["write"][label] = runs
    RESULTS["arm"] = out


def case_arm_fsync():
    """PUT/PATCH with --fsync (synchronous=FULL: an fsync per commit, power-loss durable)."""
    emu = Emulator("fsync", ["--no-tls", "--fsync"])
    try:
        emu.arm_ok("PUT", "/subscriptions/%s/resourcegroups/bench?api-version=%s" % (SUB, RG_API),
                   {"location": "westeurope"})
        emu.arm_ok("PUT", cluster_path("bench", "bench-get") + "?api-version=" + HSM_API,
                   {"location": "westeurope", "sku": {"family": "B", "name": "Standard_B1"}})
        path = cluster_path("bench", "bench-get") + "?api-version=" + HSM_API
        auth = ["Authorization: Bearer " + TOKEN]
        runs = {"put": [], "patch": []}
        for _ in range(ARGS.repeats):
            runs["put"].append(wrk(emu.arm, [
                "put", "/subscriptions/%s/resourcegroups/w" % SUB, "?api-version=" + RG_API,
                '{"location":"westeurope"}'], auth))
            runs["patch"].append(wrk(emu.arm, ["patch", path], auth))
        RESULTS["arm_fsync"] = runs
    finally:
        emu.stop()


def blob_targets(emu_plain):
    t = [("emulator", emu_plain.blob, emu_plain.pid)]
    if AZURITE:
        for mode in ("memory", "disk"):
            a = Azurite(mode)
            t.append(("azurite-" + mode, a.blob, a.pid, a))
    return t


def case_blob_small(emu_plain):
    """Put Blob and Get Blob of 4 KiB, 64 connections, account SAS on every request."""
    sas = account_sas(DEV_ACCOUNT, DEV_KEY)
    out = {}
    for t in blob_targets(emu_plain):
        name, base, pid = t[0], t[1], t[2]
        try:
            blob_container(base, sas, "bench")
            st, _ = blob_call(base, "PUT", "/%s/bench/small" % DEV_ACCOUNT, sas, b"s" * 4096,
                              {"x-ms-blob-type": "BlockBlob"})
            if st != 201:
                raise RuntimeError("put small blob on %s: %d" % (name, st))
            runs = {"get": [], "put": [], "rss_peak_kib": [], "rss_idle_kib": rss_kib(pid)}
            hdr = ["x-ms-version: " + BLOB_VERSION]
            for _ in range(ARGS.repeats):
                with RssSampler(pid) as s:
                    runs["get"].append(wrk(base, [
                        "get", "/%s/bench/small?%s" % (DEV_ACCOUNT, sas)], hdr))
                    runs["put"].append(wrk(base, [
                        "blob-put", "/%s/bench/p" % DEV_ACCOUNT, sas, "4096", "1000"], hdr))
                runs["rss_peak_kib"].append(s.peak)
            out[name] = runs
        finally:
            if len(t) > 3:
                t[3].stop()
    RESULTS["blob_small"] = out


def curl_transfer(args):
    """Runs curl with -w JSON, returns (seconds, bytes)."""
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w",
                          '{"t":%{time_total},"up":%{size_upload},"down":%{size_download},'
                          '"code":%{http_code}}'] + args,
                         capture_output=True, text=True, timeout=600)
    r = json.loads(out.stdout)
    if r["code"] not in (200, 201):
        raise RuntimeError("curl %s: HTTP %d %s" % (args[-1][:80], r["code"], out.stderr))
    return r


def disk_write_mbps(directory, mib):
    """dd-style sequential write of mib MiB to directory (fdatasync at the end), MB/s."""
    path = os.path.join(directory, "dd-test")
    block = b"\0" * (1 << 20)
    t0 = time.monotonic()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    for _ in range(mib):
        os.write(fd, block)
    t_cache = time.monotonic() - t0
    os.fdatasync(fd)
    os.close(fd)
    t = time.monotonic() - t0
    os.remove(path)
    return {"synced_mbps": mib * 1.048576 / t, "page_cache_mbps": mib * 1.048576 / t_cache}


def case_blob_large(emu_plain):
    """One Put Blob and one Get Blob of 256 MiB (smoke: 16 MiB) per run; RSS sampled."""
    mib = 16 if ARGS.smoke else 256
    src = os.path.join(TMP, "large.bin")
    with open(src, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(mib):
            f.write(chunk)
    sas = account_sas(DEV_ACCOUNT, DEV_KEY)
    out = {"mib": mib, "disk": [disk_write_mbps(emu_plain.data, mib)
                                for _ in range(ARGS.repeats)]}
    for t in blob_targets(emu_plain):
        name, base, pid = t[0], t[1], t[2]
        try:
            blob_container(base, sas, "large")
            runs = {"up_mbps": [], "down_mbps": [], "rss_before_kib": rss_kib(pid),
                    "rss_peak_kib": []}
            url = "%s/%s/large/big?%s" % (base, DEV_ACCOUNT, sas)
            for _ in range(ARGS.repeats):
                with RssSampler(pid) as s:
                    up = curl_transfer(["-X", "PUT", "-H", "x-ms-version: " + BLOB_VERSION,
                                        "-H", "x-ms-blob-type: BlockBlob", "-H", "Expect:",
                                        "--data-binary", "@" + src, url])
                    down = curl_transfer(["-H", "x-ms-version: " + BLOB_VERSION, url])
                if up["up"] != mib << 20 or down["down"] != mib << 20:
                    raise RuntimeError("%s: short transfer %s %s" % (name, up, down))
                runs["up_mbps"].append(up["up"] / up["t"] / 1e6)
                runs["down_mbps"].append(down["down"] / down["t"] / 1e6)
                runs["rss_peak_kib"].append(s.peak)
            out[name] = runs
        finally:
            if len(t) > 3:
                t[3].stop()
    os.remove(src)
    RESULTS["blob_large"] = out


def hsm_login(emu, label, user, password, user_type="CU"):
    st, _, data = emu.call("POST", "/hsm/%s/login" % label,
                           {"userType": user_type, "username": user, "password": password})
    if st != 200:
        raise RuntimeError("login %s: %d %s" % (user, st, data[:200]))
    return json.loads(data)["session"]


def case_backup():
    """Backup and restore of a cluster holding 1k, 10k and 100k keys (--hsm-max-keys lifts the
    service's 3,200-handle limit for this load test)."""
    emu = Emulator("backup", ["--no-tls", "--fixture", "tutorial-ready", "--hsm-max-keys",
                              "100000"])
    try:
        rg = "dr-rg"
        src = emu.arm_ok("GET", cluster_path(rg, "chsm-src") + "?api-version=" + HSM_API)
        label = src["properties"]["hsms"][0]["fqdn"].split(".")[1]
        ident = list(src["identity"]["userAssignedIdentities"].keys())[0]
        session = hsm_login(emu, label, "cu1", "user1234")
        hdr = ["--header", "Authorization: HSM-Session " + session,
               "--header", "Content-Type: application/json"]
        sizes = [100, 400] if ARGS.smoke else ARGS.backup_sizes
        st, _, data = emu.call("GET", "/hsm/%s/keys" % label,
                               headers={"Authorization": "HSM-Session " + session})
        have = len(json.loads(data)["keys"])  # the fixture's handles (a key pair has two)
        container = "https://drbackups.blob.core.windows.net/backups"
        # The benchmark's own caller may read the container (the blob's size is reported).
        account_id = src["id"].split("/providers/")[0] + \
            "/providers/Microsoft.Storage/storageAccounts/drbackups"
        emu.arm_ok("PUT", account_id + "/providers/Microsoft.Authorization/roleAssignments/"
                   "5f0d2a8e-0c1b-4a57-9d3e-6b1f8f1c0b01?api-version=2022-04-01", {"properties": {
                       "roleDefinitionId": account_id.split("/resourceGroups/")[0] +
                       "/providers/Microsoft.Authorization/roleDefinitions/"
                       "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",  # Storage Blob Data Reader
                       "principalId": CALLER_OID, "principalType": "User"}})
        out = {"sizes": {}}
        for size in sizes:
            fill = driver("requests", emu.arm + "/hsm/%s/keys" % label, "--method", "POST",
                          "--body", '{"type":"AES","size":256,"label":"bench-{i}"}',
                          "--count", size - have, "--concurrency", 8, *hdr)
            if fill["requests"]["errors"]:
                raise RuntimeError("creating keys: %s" % fill)
            have = size
            runs = {"backup_ms": [], "restore_ms": [], "blob_bytes": None,
                    "key_create_rps": fill["requests"]["rps"]}
            for r in range(ARGS.repeats):
                body = os.path.join(TMP, "backup-status.json")
                b = driver("lro", emu.arm + cluster_path(rg, "chsm-src") + "/backup?api-version="
                           + HSM_API, "--body", json.dumps({"azureStorageBlobContainerUri":
                                                           container}),
                           "--header", "Authorization: Bearer " + TOKEN,
                           "--header", "Content-Type: application/json", "--save-body", body)
                status = json.load(open(body))
                if b["start"]["errors"] or b["poll"]["errors"] or \
                        status["properties"]["status"] != "Succeeded":
                    raise RuntimeError("backup failed: %s %s" % (b, status))
                backup_id = status["properties"]["backupId"]
                runs["backup_ms"].append(b["wall_ms"])
                dst = "bench-dst-%d-%d" % (size, r)
                emu.arm_ok("PUT", cluster_path(rg, dst) + "?api-version=" + HSM_API, {
                    "location": "westeurope", "sku": {"family": "B", "name": "Standard_B1"},
                    "identity": {"type": "UserAssigned", "userAssignedIdentities": {ident: {}}}})
                emu.arm_ok("GET", cluster_path(rg, dst) + "?api-version=" + HSM_API)
                rs = driver("lro", emu.arm + cluster_path(rg, dst) + "/restore?api-version="
                            + HSM_API, "--body", json.dumps({"azureStorageBlobContainerUri":
                                                            container, "backupId": backup_id}),
                            "--header", "Authorization: Bearer " + TOKEN,
                            "--header", "Content-Type: application/json", "--save-body", body)
                status = json.load(open(body))
                if rs["start"]["errors"] or rs["poll"]["errors"] or \
                        status["properties"]["status"] != "Succeeded":
                    raise RuntimeError("restore failed: %s %s" % (rs, status))
                runs["restore_ms"].append(rs["wall_ms"])
                runs["blob_bytes"] = backup_blob_bytes(emu, account_id, backup_id)
            # The process's peak so far (VmHWM only grows): for the largest size, its peak.
            runs["peak_rss_kib"] = rss_kib(emu.pid, "VmHWM")
            out["sizes"][size] = runs
        RESULTS["backup"] = out
    finally:
        emu.stop()


def backup_blob_bytes(emu, account_id, backup_id):
    """The size of the backup's blob, from a List Blobs of its container (small blobs live in
    the database, so the data dir's files do not tell)."""
    u = urllib.parse.urlparse(emu.blob)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request("GET", "/%s/backups?restype=container&comp=list&prefix=%s" % (
        account_id.rsplit("/", 1)[1], urllib.parse.quote(backup_id)),
        headers={"Authorization": "Bearer " + TOKEN, "x-ms-version": BLOB_VERSION})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status != 200:
        return None
    for b in ET.fromstring(data).iter("Blob"):
        length = b.find("Properties/Content-Length")
        if backup_id in (b.findtext("Name") or "") and length is not None:
            return int(length.text)
    return None


def case_openssl():
    """openssl speed -evp aes-256-gcm: the sealing floor (bytes/s at 16 KiB blocks)."""
    secs = 1 if ARGS.smoke else 3
    out = subprocess.run(["openssl", "speed", "-seconds", str(secs), "-bytes", "16384", "-evp",
                          "aes-256-gcm"], capture_output=True, text=True, timeout=120)
    m = re.search(r"^AES-256-GCM\s+([\d.]+)k", out.stdout, re.M | re.I)
    RESULTS["openssl"] = {"aes_256_gcm_16k_mbps": float(m.group(1)) * 1000 / 1e6 if m else None,
                          "raw": out.stdout.strip().splitlines()[-2:]}


def case_dr_run():
    """chsmctl dr run, zero operation durations, wall time of the whole tutorial."""
    emu = Emulator("dr", [])
    try:
        runs = []
        env = dict(os.environ, CHSM_ENDPOINT=emu.arm, CHSM_CA_CERT=emu.ca)
        for _ in range(max(3, ARGS.repeats * 2)):
            t0 = time.monotonic()
            r = subprocess.run([os.path.join(ARGS.build, "chsmctl"), "--quiet", "dr", "run"],
                               env=env, capture_output=True, text=True, timeout=120)
            t = (time.monotonic() - t0) * 1000
            if r.returncode != 0:
                raise RuntimeError("dr run failed (%d): %s" % (r.returncode, r.stderr[-500:]))
            runs.append(t)
        RESULTS["dr_run"] = {"wall_ms": runs}
    finally:
        emu.stop()


def case_lro():
    """10,000 resource group deletions in flight at once, each polled (Location) in rounds."""
    n_big = 1000 if ARGS.smoke else 10000
    n_small = 100
    poll_s = 2 if ARGS.smoke else 8
    out = {}
    for n in (n_small, n_big):
        emu = Emulator("lro-%d" % n, ["--no-tls", "--op-duration", "delete=600s"])
        try:
            mk = driver("requests", emu.arm + "/subscriptions/%s/resourcegroups/lro-{i}"
                        "?api-version=%s" % (SUB, RG_API), "--method", "PUT",
                        "--body", '{"location":"westeurope"}', "--count", n,
                        "--concurrency", 16, "--header", "Authorization: Bearer " + TOKEN,
                        "--header", "Content-Type: application/json")
            if mk["requests"]["errors"]:
                raise RuntimeError("creating resource groups: %s" % mk)
            rss0 = rss_kib(emu.pid)
            with RssSampler(emu.pid) as s:
                r = driver("lro", emu.arm + "/subscriptions/%s/resourcegroups/lro-{i}"
                           "?api-version=%s" % (SUB, RG_API), "--method", "DELETE",
                           "--count", n, "--concurrency", 64, "--poll-seconds", poll_s,
                           "--header", "Authorization: Bearer " + TOKEN)
            r["rss_before_kib"], r["rss_peak_kib"] = rss0, s.peak
            out[n] = r
        finally:
            emu.stop()
    RESULTS["lro"] = out


def case_idle_rss(emu_tls):
    time.sleep(0.5)
    RESULTS["idle_rss"] = {"emulator_after_start_kib": emu_tls.idle_rss,
                           "emulator_private_kib": emu_tls.idle_anon,
                           "emulator_now_kib": rss_kib(emu_tls.pid)}
    if AZURITE:
        for mode in ("memory", "disk"):
            a = Azurite(mode)
            try:
                blob_call(a.blob, "GET", "/" + DEV_ACCOUNT, "comp=list&" +
                          account_sas(DEV_ACCOUNT, DEV_KEY))
                time.sleep(0.5)
                RESULTS["idle_rss"]["azurite_%s_kib" % mode] = rss_kib(a.pid)
                RESULTS["idle_rss"]["azurite_%s_private_kib" % mode] = rss_kib(a.pid, "RssAnon")
            finally:
                a.stop()


# ---------------------------------------------------------------- report

def fmt(x, unit="", digits=0):
    if x is None:
        return "n/a"
    if isinstance(x, float) and digits == 0 and abs(x) < 10:
        digits = 2
    return ("{:,.%df}" % digits).format(x) + unit


def ratio(a, b):
    return a / b if a is not None and b else None


def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


def report():
    lines, bars = [], []
    R = RESULTS
    cpu = ""
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read()).group(1)
    except (OSError, AttributeError):
        pass
    load = open("/proc/loadavg").read().split()[:3]
    lines += ["# Benchmark results %s%s" % (STAMP, " (smoke run: not a measurement)"
                                            if ARGS.smoke else ""), "",
              "Command: `%s`" % ARGS.command, "",
              "Machine: %s, %d cores, %s, kernel %s; load average at start %s, at end %s."
              % (cpu or platform.machine(), os.cpu_count(), mem_total(), platform.release(),
                 " ".join(LOAD_START), " ".join(load)),
              "Emulator build: `%s` (%s). Each figure is the median of %d runs of %d s (wrk: 2 "
              "threads, 64 connections) unless noted; raw runs are at the end. Durability: "
              "the default store (SQLite WAL, synchronous=NORMAL: an acknowledged write survives "
              "any process crash) unless marked `--fsync` (power-loss durable)."
              % (ARGS.build, build_type(), ARGS.repeats, ARGS.duration), ""]
    if max(float(LOAD_START[0]), float(load[0])) >= 1.0:
        NOTES.insert(0, "the machine was busy during this run (load average above 1 with only "
                     "%d cores): other work shared the cores, so absolute figures are noisy; "
                     "compare the ratios of interleaved runs." % os.cpu_count())
    for n in NOTES:
        lines.append("Note: " + n)
    if NOTES:
        lines.append("")

    lines += ["## Bars", "", "| what | ours | peer / floor | ratio | bar | verdict |",
              "| --- | --- | --- | --- | --- | --- |"]

    def row(what, ours, peer, rat, bar, ok):
        lines.append("| %s | %s | %s | %s | %s | %s |" % (what, ours, peer, rat, bar, verdict(ok)))

    arm = R.get("arm")
    if arm:
        for scheme in ("tls", "plain"):
            g = arm["get"][scheme]
            e = median([x["rps"] for x in g["emulator"]])
            f = median([x["rps"] for x in g["floor"]])
            p99 = median([x["p99_ms"] for x in g["emulator"]])
            fp99 = median([x["p99_ms"] for x in g["floor"]])
            err = sum(x["errors"] for x in g["emulator"])
            rt = ratio(e, f)
            row("ARM GET cluster, %s" % scheme.upper() if scheme == "tls" else
                "ARM GET cluster, plain HTTP",
                "%s req/s, p99 %s ms%s" % (fmt(e), fmt(p99, digits=2),
                                          ", %d errors" % err if err else ""),
                "floor %s req/s, p99 %s ms" % (fmt(f), fmt(fp99, digits=2)),
                fmt(rt, "×", 2), "≥ 0.7× floor", rt is not None and rt >= 0.7 and not err)
        for scheme in ("tls", "plain"):
            w = arm["write"][scheme]
            for kind in ("put", "patch"):
                v = median([x["rps"] for x in w[kind]])
                err = sum(x["errors"] for x in w[kind])
                row("ARM %s (%s), WAL synchronous=NORMAL" % (kind.upper(), scheme),
                    "%s /s, p99 %s ms%s" % (fmt(v), fmt(median([x["p99_ms"] for x in w[kind]]),
                                                       digits=2),
                                           ", %d errors" % err if err else ""),
                    "", "", "≥ 5,000/s", v is not None and v >= 5000 and not err)
    fs = R.get("arm_fsync")
    if fs:
        for kind in ("put", "patch"):
            v = median([x["rps"] for x in fs[kind]])
            row("ARM %s (plain), `--fsync`" % kind.upper(),
                "%s /s, p99 %s ms" % (fmt(v), fmt(median([x["p99_ms"] for x in fs[kind]]),
                                                 digits=2)),
                "", "", "(reported)", None)
    bs = R.get("blob_small")
    if bs:
        for op in ("get", "put"):
            e = median([x["rps"] for x in bs["emulator"][op]])
            err = sum(x["errors"] for x in bs["emulator"][op])
            for peer in ("azurite-memory", "azurite-disk"):
                if peer not in bs:
                    row("Blob %s 4 KiB vs %s" % (op.capitalize(), peer), fmt(e) + " ops/s",
                        "missing", "n/a", "≥ 20×", None)
                    continue
                p = median([x["rps"] for x in bs[peer][op]])
                rt = ratio(e, p)
                row("Blob %s 4 KiB vs %s" % (op.capitalize(), peer),
                    "%s ops/s, p99 %s ms%s" % (fmt(e), fmt(median(
                        [x["p99_ms"] for x in bs["emulator"][op]]), digits=2),
                        ", %d errors" % err if err else ""),
                    "%s ops/s, p99 %s ms" % (fmt(p), fmt(median(
                        [x["p99_ms"] for x in bs[peer][op]]), digits=2)),
                    fmt(rt, "×", 1), "≥ 20×", rt is not None and rt >= 20 and not err)
    bl = R.get("blob_large")
    if bl:
        disk = median([d["synced_mbps"] for d in bl["disk"]])
        for d in ("up", "down"):
            e = median(bl["emulator"][d + "_mbps"])
            for peer in ("azurite-memory", "azurite-disk"):
                p = median(bl[peer][d + "_mbps"]) if peer in bl else None
                rt = ratio(e, p)
                row("Blob %d MiB %s vs %s" % (bl["mib"], "upload" if d == "up" else "download",
                                             peer),
                    fmt(e, " MB/s"), fmt(p, " MB/s") if p else "missing", fmt(rt, "×", 1),
                    "≥ 10×", None if rt is None else rt >= 10)
            rt = ratio(e, disk)
            row("Blob %d MiB %s vs disk sequential write (dd + fdatasync)"
                % (bl["mib"], "upload" if d == "up" else "download"),
                fmt(e, " MB/s"), fmt(disk, " MB/s"), fmt(rt, "×", 2), "≥ 0.5×",
                None if rt is None else rt >= 0.5)
        grow = max(bl["emulator"]["rss_peak_kib"]) - (bl["emulator"]["rss_before_kib"] or 0)
        row("Blob %d MiB: emulator RSS growth during transfers" % bl["mib"],
            fmt(grow / 1024, " MiB", 1), ", ".join(
                "%s %s MiB" % (p, fmt((max(bl[p]["rss_peak_kib"]) -
                                       (bl[p]["rss_before_kib"] or 0)) / 1024, digits=1))
                for p in ("azurite-memory", "azurite-disk") if p in bl) or "missing",
            "", "flat (streaming)", grow < 16 * 1024)
    bk = R.get("backup")
    if bk:
        sizes = sorted(bk["sizes"], key=int)
        for s in sizes:
            v = bk["sizes"][s]
            row("Backup, cluster with %s keys" % fmt(int(s)), fmt(median(v["backup_ms"]), " ms", 1),
                "", "", "(100k keys < 1 s)", None)
            row("Restore, cluster with %s keys" % fmt(int(s)),
                fmt(median(v["restore_ms"]), " ms", 1), "", "", "(100k keys < 1 s)", None)
        if len(sizes) >= 2:
            a, b = bk["sizes"][sizes[-2]], bk["sizes"][sizes[-1]]
            k = int(sizes[-1]) / int(sizes[-2])
            for what in ("backup_ms", "restore_ms"):
                rt = ratio(median(b[what]), median(a[what]))
                per_key = median(b[what]) / int(sizes[-1])
                proj = per_key * 100000
                row("%s: cost ratio %s→%s keys (linear = %.1f); projected for 100k keys"
                    % (what.split("_")[0].capitalize(), fmt(int(sizes[-2])), fmt(int(sizes[-1])), k),
                    "%s; %s ms" % (fmt(rt, "×", 2), fmt(proj, digits=0)), "", "",
                    "linear; < 1,000 ms", None if rt is None else (rt <= k * 1.3 and proj < 1000))
    ossl = R.get("openssl")
    if ossl and bk:
        s = sorted(bk["sizes"], key=int)[-1]
        v = bk["sizes"][s]
        if v["blob_bytes"] and ossl["aes_256_gcm_16k_mbps"]:
            floor_ms = v["blob_bytes"] / (ossl["aes_256_gcm_16k_mbps"] * 1e6) * 1000
            row("Backup sealing floor (%s-byte backup at openssl's AES-256-GCM speed %s)"
                % (fmt(v["blob_bytes"]), fmt(ossl["aes_256_gcm_16k_mbps"], " MB/s")),
                fmt(median(v["backup_ms"]), " ms", 1), fmt(floor_ms, " ms", 2),
                fmt(ratio(median(v["backup_ms"]), floor_ms), "×", 0), "(reported)", None)
    dr = R.get("dr_run")
    if dr:
        v = median(dr["wall_ms"])
        row("`chsmctl dr run`, zero operation durations", fmt(v, " ms", 1), "", "", "< 300 ms",
            v < 300)
    cs = R.get("cold_start")
    if cs:
        az = median(cs.get("Azurite (memory)", [])) if "Azurite (memory)" in cs else None
        for label, runs in cs.items():
            if label.startswith("Azurite"):
                continue
            v = median(runs)
            row("Cold start to health 200: " + label, fmt(v, " ms", 1),
                "Azurite (memory) " + fmt(az, " ms", 0) if az else "missing",
                fmt(ratio(az, v), "× faster", 0) if az else "n/a", "< 20 ms",
                v < 20 if "new data dir (generates" not in label else None)
        for label, runs in cs.items():
            if label.startswith("Azurite"):
                row("Cold start: " + label, fmt(median(runs), " ms", 0), "", "", "(peer)", None)
    ir = R.get("idle_rss")
    if ir:
        v = ir["emulator_after_start_kib"] / 1024
        peers = ", ".join("Azurite %s %s MiB" % (m, fmt(ir["azurite_%s_kib" % m] / 1024,
                                                         digits=1))
                          for m in ("memory", "disk") if ir.get("azurite_%s_kib" % m))
        row("Idle RSS after start (private, RssAnon: %s MiB; the rest is shared library "
            "pages)" % fmt((ir.get("emulator_private_kib") or 0) / 1024, digits=1),
            fmt(v, " MiB", 1), peers or "missing",
            fmt(ratio(ir.get("azurite_memory_kib"), ir["emulator_after_start_kib"]), "× less",
                0) if ir.get("azurite_memory_kib") else "n/a", "< 10 MiB", v < 10)
    if arm:
        peak = max(max(arm["get"][s]["emulator_rss_peak_kib"]) for s in ("tls", "plain")) / 1024
        azp = None
        if bs and "azurite-memory" in bs:
            azp = max(bs["azurite-memory"]["rss_peak_kib"]) / 1024
        row("RSS under the 64-connection ARM GET load (peak)", fmt(peak, " MiB", 1),
            "Azurite (memory) under 64-connection 4 KiB blob load %s MiB" % fmt(azp, digits=1)
            if azp else "missing", "", "< 64 MiB", peak < 64)
    if bs:
        peak = max(bs["emulator"]["rss_peak_kib"]) / 1024
        row("RSS under the 64-connection Blob 4 KiB load (peak)", fmt(peak, " MiB", 1),
            ", ".join("%s %s MiB" % (p, fmt(max(bs[p]["rss_peak_kib"]) / 1024, digits=1))
                      for p in ("azurite-memory", "azurite-disk") if p in bs) or "missing",
            "", "< 64 MiB", peak < 64)
    lr = R.get("lro")
    if lr:
        ks = sorted(lr, key=int)
        small, big = lr[ks[0]], lr[ks[-1]]
        errs = big["start"]["errors"] + big["poll"]["errors"]
        g50 = ratio(big["poll"]["p50_ms"], small["poll"]["p50_ms"])
        g99 = ratio(big["poll"]["p99_ms"], small["poll"]["p99_ms"])
        row("%s LROs in flight, polled by 64 connections" % fmt(int(ks[-1])),
            "%s polls (%s/s), p50 %s ms, p99 %s ms, %d errors, %s still in flight"
            % (fmt(big["poll"]["count"]), fmt(big["poll"]["rps"]), fmt(big["poll"]["p50_ms"],
                                                                       digits=2),
               fmt(big["poll"]["p99_ms"], digits=2), errs, fmt(big["in_flight_at_end"])),
            "%s in flight: p50 %s ms, p99 %s ms" % (fmt(int(ks[0])), fmt(
                small["poll"]["p50_ms"], digits=2), fmt(small["poll"]["p99_ms"], digits=2)),
            "p50 %s, p99 %s" % (fmt(g50, "×", 2), fmt(g99, "×", 2)), "no errors, ≤ 2× latency",
            errs == 0 and g50 is not None and g50 <= 2 and g99 <= 2)
        row("%s LRO starts (DELETE → 202 + Location)" % fmt(int(ks[-1])),
            "%s /s, p99 %s ms" % (fmt(big["start"]["rps"]), fmt(big["start"]["p99_ms"],
                                                                 digits=2)),
            "", "", "(reported)", None)
    lines += ["", "## Raw figures", "", "Every run of every case, as measured (JSON).", "",
              "```json", json.dumps(R, indent=1, sort_keys=True, default=str), "```", ""]
    return "\n".join(lines)


def mem_total():
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
        return "%.0f GiB RAM" % (kib / 1048576)
    except (OSError, AttributeError):
        return "? RAM"


def build_type():
    try:
        m = re.search(r"CMAKE_BUILD_TYPE:\w+=(\w*)",
                      open(os.path.join(ARGS.build, "CMakeCache.txt")).read())
        return m.group(1) if m else "?"
    except OSError:
        return "?"


# ---------------------------------------------------------------- main

AZURITE = False
STAMP = ""
LOAD_START = []
CASES = ["cold_start", "arm", "arm_fsync", "blob_small", "blob_large", "backup", "openssl",
         "dr_run", "lro", "idle_rss"]


def main():
    global ARGS, TMP, AZURITE, STAMP, LOAD_START
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--repeats", type=int)
    ap.add_argument("--duration", type=int)
    ap.add_argument("--out")
    ap.add_argument("--only", help="comma-separated cases: " + ",".join(CASES))
    ap.add_argument("--command", default="scripts/bench.sh")
    ap.add_argument("--backup-sizes", default="1000,10000,100000",
                    type=lambda s: [int(x) for x in s.split(",")],
                    help="key counts of the backup case (full runs)")
    ARGS = ap.parse_args()
    if ARGS.repeats is None:
        ARGS.repeats = 1 if ARGS.smoke else 3
    if ARGS.duration is None:
        ARGS.duration = 1 if ARGS.smoke else 5
    only = set(ARGS.only.split(",")) if ARGS.only else set(CASES)
    now = datetime.datetime.now()
    STAMP = now.strftime("%Y-%m-%d %H:%M")
    LOAD_START = open("/proc/loadavg").read().split()[:3]
    if not ARGS.out:
        ARGS.out = (os.path.join(tempfile.gettempdir(), "chsm-bench-smoke.md") if ARGS.smoke
                    else os.path.join(ROOT, "bench", "results", now.strftime("%Y-%m-%d") + ".md"))
    TMP = tempfile.mkdtemp(prefix="chsm-bench.")
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    failed = []
    try:
        AZURITE = ensure_azurite() if only & {"cold_start", "blob_small", "blob_large",
                                              "idle_rss"} else False
        emu_tls = Emulator("tls", [])
        time.sleep(0.3)  # let the worker threads settle
        emu_tls.idle_rss = rss_kib(emu_tls.pid)
        emu_tls.idle_anon = rss_kib(emu_tls.pid, "RssAnon")
        emu_plain = Emulator("plain", ["--no-tls"])
        steps = [("idle_rss", lambda: case_idle_rss(emu_tls)),
                 ("arm", lambda: case_arm(emu_tls, emu_plain)),
                 ("arm_fsync", case_arm_fsync),
                 ("blob_small", lambda: case_blob_small(emu_plain)),
                 ("blob_large", lambda: case_blob_large(emu_plain)),
                 ("openssl", case_openssl),
                 ("backup", case_backup),
                 ("dr_run", case_dr_run),
                 ("lro", case_lro),
                 ("cold_start", case_cold_start)]
        for name, fn in steps:
            if name not in only:
                continue
            log("case %s" % name)
            t0 = time.monotonic()
            try:
                fn()
            except Exception as e:  # a broken case is reported, the others still run
                failed.append(name)
                NOTES.append("case %s failed: %s" % (name, e))
                log("case %s FAILED: %s" % (name, e))
            log("case %s took %.1f s" % (name, time.monotonic() - t0))
        emu_tls.stop()
        emu_plain.stop()
        text = report()
        os.makedirs(os.path.dirname(os.path.abspath(ARGS.out)), exist_ok=True)
        with open(ARGS.out, "w") as f:
            f.write(text)
        log("report written to %s" % ARGS.out)
    finally:
        stop_all()
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
