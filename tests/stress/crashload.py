#!/usr/bin/env python3
"""crashload.py - the workload and the checks of tests/stress/crash.sh (standard library only).

    crashload.py load   LOG TRIAL   run writes until killed; log every attempt and every
                                    acknowledged (2xx) answer to LOG, one JSON line each
    crashload.py verify LOG [TRIAL] after a restart (TRIAL's records, or all of them): every
                                    acknowledged write is there, no blob is torn, every
                                    acknowledged operation ends, no cluster is half-restored

Environment: ARM, BLOB, CA, TOKEN, SUB, RG (the stress resource group), MSI_ID (identity with
Blob access to the backup container), BACKUP_URI (the backup container's URL), SRC (the source
cluster's path), HSM_V; CRASH_DEBUG=1 prints unexpected answers.

The workload, in a loop: a new resource group with a tag; a tag update of one "counter" group
(its acknowledged values only go up, so a lost update shows); a blob upload (new names and
overwrites of one hot blob; sizes up to 1.5 MiB, so bodies spilled to temp files are covered);
and one step of a disaster-recovery flow per trial: create a destination cluster, back the
source cluster up, restore the backup into the destination.
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
import time
import urllib.parse

DEVKEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
          "KBHBeksoGMGw==")
ACCOUNT = "devstoreaccount1"
CONTAINER = "crash"
TERMINAL = ("Succeeded", "Failed", "Canceled")


def env(k):
    return os.environ.get(k, "")


class Conn:
    """One keep-alive HTTPS connection per listener; reconnects after an error."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=env("CA"))
        self.ctx.check_hostname = False
        self.c = None

    def request(self, method, path, body=None, headers=None, timeout=10):
        headers = dict(headers or {})
        for attempt in (0, 1):
            if self.c is None:
                self.c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                                     timeout=timeout)
            try:
                self.c.request(method, path, body=body, headers=headers)
                r = self.c.getresponse()
                data = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (OSError, http.client.HTTPException):
                self.c.close()
                self.c = None
                if attempt == 1 or body is not None and method != "GET":
                    raise
        raise OSError("unreachable")


def arm(conn, method, path, body=None):
    headers = {"Authorization": "Bearer " + env("TOKEN")}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    status, h, out = conn.request(method, path, data, headers)
    try:
        doc = json.loads(out) if out else {}
    except ValueError:
        doc = {}
    return status, h, doc


def blob_headers(method, path, length):
    h = {"x-ms-version": "2025-05-05", "x-ms-date": email.utils.formatdate(usegmt=True)}
    if method == "PUT":
        h["x-ms-blob-type"] = "BlockBlob"
    canon = "".join(f"{k}:{h[k]}\n" for k in sorted(h) if k.startswith("x-ms-"))
    sts = "\n".join([method, "", "", str(length) if length else "", "", "", "", "", "", "", "",
                     ""]) + "\n" + canon + "/" + ACCOUNT + path
    mac = hmac.new(base64.b64decode(DEVKEY), sts.encode(), hashlib.sha256)
    h["Authorization"] = f"SharedKey {ACCOUNT}:{base64.b64encode(mac.digest()).decode()}"
    h["Content-Length"] = str(length)
    return h


def blob_put(conn, name, data):
    path = f"/{ACCOUNT}/{CONTAINER}/{name}"
    status, _, out = conn.request("PUT", path, data,
                                  blob_headers("PUT", path, len(data)))
    if status != 201 and env("CRASH_DEBUG"):
        print(out[:300], file=sys.stderr)
    return status


def blob_get(conn, name):
    path = f"/{ACCOUNT}/{CONTAINER}/{name}"
    status, _, data = conn.request("GET", path, None,
                                   blob_headers("GET", path, 0))
    return status, data


def rg_path(name):
    return f"/subscriptions/{env('SUB')}/resourcegroups/{name}"


def cluster_path(name):
    return (f"/subscriptions/{env('SUB')}/resourceGroups/{env('RG')}/providers/"
            f"Microsoft.HardwareSecurityModules/cloudHsmClusters/{name}")


def rebase(url):
    """An operation URL from before a restart, on the new port."""
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


class Log:
    def __init__(self, path, trial):
        self.f = open(path, "a", buffering=1)
        self.trial = trial

    def __call__(self, **rec):
        rec["trial"] = self.trial
        self.f.write(json.dumps(rec) + "\n")
        self.f.flush()


def load(logpath, trial):
    log = Log(logpath, trial)
    a = Conn(env("ARM"))
    b = Conn(env("BLOB"))
    hv = env("HSM_V")
    rnd = random.Random(os.getpid() ^ int(time.time() * 1000))
    dst = f"dst{trial}"
    dr = {"step": "create", "url": None}
    i = 0
    while True:
        i += 1
        # A new resource group, then the counter group's tag.
        name = f"crash-{trial}-{i}"
        st, _, _ = arm(a, "PUT", rg_path(name) + "?api-version=2021-04-01",
                       {"location": "uksouth", "tags": {"n": str(i)}})
        if st in (200, 201):
            log(kind="rg", name=name, n=str(i))
        n = trial * 100000 + i
        log(kind="counter-try", n=n)
        st, _, _ = arm(a, "PUT", rg_path("crash-counter") + "?api-version=2021-04-01",
                       {"location": "uksouth", "tags": {"n": str(n)}})
        if st in (200, 201):
            log(kind="counter", n=n)
        # A blob: a new one, or an overwrite of the hot one.
        size = rnd.choice([0, 1, 1000, 70000, 300000, 1572864])
        data = os.urandom(size)
        md5 = hashlib.md5(data).hexdigest()
        bname = "hot" if rnd.random() < 0.3 else f"b-{trial}-{i}"
        log(kind="blob-try", name=bname, md5=md5)
        st = blob_put(b, bname, data)
        if st == 201:
            log(kind="blob", name=bname, md5=md5)
        elif env("CRASH_DEBUG"):
            print(f"blob {bname}: {st}", file=sys.stderr)
        # One step of the DR flow.
        if dr["step"] == "create":
            st, h, _ = arm(a, "PUT", cluster_path(dst) + f"?api-version={hv}", {
                "sku": {"family": "B", "name": "Standard_B1"}, "location": "uksouth",
                "identity": {"type": "UserAssigned",
                             "userAssignedIdentities": {env("MSI_ID"): {}}}})
            if st in (200, 201):
                log(kind="cluster", name=dst, url=h.get("azure-asyncoperation"))
                dr["step"] = "wait-create"
        elif dr["step"] == "wait-create":
            st, _, doc = arm(a, "GET", cluster_path(dst) + f"?api-version={hv}")
            state = doc.get("properties", {}).get("provisioningState")
            if state == "Succeeded":
                dr["step"] = "backup"
        elif dr["step"] == "backup":
            st, h, _ = arm(a, "POST", cluster_path("src") + f"/backup?api-version={hv}",
                           {"azureStorageBlobContainerUri": env("BACKUP_URI")})
            if st == 202:
                log(kind="backup", url=h.get("location"))
                dr.update(step="wait-backup", url=h.get("location"))
        elif dr["step"] == "wait-backup":
            st, _, doc = arm(a, "GET", rebase(dr["url"]))
            props = doc.get("properties", {})
            if props.get("status") in TERMINAL:
                log(kind="backup-done", url=dr["url"])
            if props.get("status") == "Succeeded":
                dr.update(step="restore", backup=props.get("backupId"))
            elif props.get("status") in TERMINAL:
                dr["step"] = "backup"
        elif dr["step"] == "restore":
            st, h, _ = arm(a, "POST", cluster_path(dst) + f"/restore?api-version={hv}",
                           {"azureStorageBlobContainerUri": env("BACKUP_URI"),
                            "backupId": dr["backup"]})
            if st == 202:
                log(kind="restore", name=dst, url=h.get("location"))
                dr.update(step="wait-restore", url=h.get("location"))
        elif dr["step"] == "wait-restore":
            st, _, doc = arm(a, "GET", rebase(dr["url"]))
            if doc.get("properties", {}).get("status") in TERMINAL:
                log(kind="restore-done", url=dr["url"])
                dr["step"] = "done"


def poll_terminal(a, url, deadline):
    while True:
        st, _, doc = arm(a, "GET", rebase(url))
        status = doc.get("properties", {}).get("status") or doc.get("status")
        if status in TERMINAL:
            return status
        if time.monotonic() > deadline:
            return f"stuck ({st} {status})"
        time.sleep(0.1)


def hsm_login(conn, label, user, password):
    body = json.dumps({"userType": "CU", "username": user, "password": password}).encode()
    st, _, out = conn.request("POST", f"/hsm/{label}/login", body,
                              {"Content-Type": "application/json"})
    return json.loads(out).get("session") if st == 200 else None


def verify(logpath, only_trial=None):
    # A line cut short by the kill of the workload is not a record.
    everything = [json.loads(line) for line in open(logpath) if line.strip().endswith("}")]
    # The counter and the hot blob span trials; the rest is checked for one trial (after its
    # restart) or for all of them (at the end).
    recs = [r for r in everything if only_trial is None or r["trial"] == only_trial or
            r["kind"].startswith("counter") or r.get("name") == "hot"]
    a = Conn(env("ARM"))
    b = Conn(env("BLOB"))
    hv = env("HSM_V")
    problems = []
    counts = {"rg": 0, "blob": 0, "operation": 0, "cluster": 0}
    deadline = time.monotonic() + 30
    # Resource groups: every acknowledged one, with its tag.
    for r in recs:
        if r["kind"] == "rg":
            counts["rg"] += 1
            st, _, doc = arm(a, "GET", rg_path(r["name"]) + "?api-version=2021-04-01")
            if st != 200 or doc.get("tags", {}).get("n") != r["n"]:
                problems.append(f"acknowledged resource group {r['name']} lost: {st} {doc}")
    # The counter: at least the last acknowledged value, and a value that was sent.
    acked = [r["n"] for r in recs if r["kind"] == "counter"]
    tried = {r["n"] for r in recs if r["kind"] == "counter-try"}
    if acked:
        st, _, doc = arm(a, "GET", rg_path("crash-counter") + "?api-version=2021-04-01")
        n = int(doc.get("tags", {}).get("n", "-1"))
        if n < max(acked) or n not in tried:
            problems.append(f"counter lost an update: {n}, last acknowledged {max(acked)}")
    # Blobs: the content is the last acknowledged upload or one tried after it; never torn.
    by_name = {}
    for r in recs:
        if r["kind"] in ("blob-try", "blob"):
            by_name.setdefault(r["name"], []).append(r)
    for name, rs in by_name.items():
        last_ack = max((i for i, r in enumerate(rs) if r["kind"] == "blob"), default=None)
        if last_ack is None:
            continue
        counts["blob"] += 1
        allowed = {r["md5"] for r in rs[last_ack:]}
        st, data = blob_get(b, name)
        got = hashlib.md5(data).hexdigest() if st == 200 else f"status {st}"
        if got not in allowed:
            problems.append(f"blob {name}: content {got} is none of {sorted(allowed)}")
    # Operations: every acknowledged one ends.
    for r in recs:
        if r["kind"] in ("backup", "restore", "cluster") and r.get("url"):
            counts["operation"] += 1
            status = poll_terminal(a, r["url"], deadline)
            if status not in TERMINAL:
                problems.append(f"{r['kind']} operation {r['url']} {status}")
    # Clusters: provisioned or failed, never stuck; a destination is fully restored (Active
    # with the source's key), untouched (NotActivated) or Failed.
    for r in recs:
        if r["kind"] != "cluster":
            continue
        counts["cluster"] += 1
        while True:
            st, _, doc = arm(a, "GET", cluster_path(r["name"]) + f"?api-version={hv}")
            props = doc.get("properties", {})
            if props.get("provisioningState") in TERMINAL or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if props.get("provisioningState") not in TERMINAL:
            problems.append(f"cluster {r['name']} stuck: {props.get('provisioningState')}")
            continue
        act = props.get("activationState")
        if act == "Active":
            label = props["hsms"][0]["fqdn"].split(".")[1]
            session = hsm_login(a, label, "cu1", "user1234")
            found = None
            if session:
                st, _, out = a.request("GET", f"/hsm/{label}/keys?keyId=crashkey", None,
                                       {"Authorization": "HSM-Session " + session})
                found = json.loads(out).get("keys") if st == 200 else None
            if not found:
                problems.append(f"cluster {r['name']} Active but half-restored (CU login or "
                                f"key missing)")
        elif act not in ("NotActivated", "Failed", "NotDefined"):
            problems.append(f"cluster {r['name']} in activation state {act}")
    print(f"verified {counts['rg']} resource groups, {counts['blob']} blobs, "
          f"{counts['operation']} operations, {counts['cluster']} clusters: "
          f"{len(problems)} problems")
    for p in problems:
        print("PROBLEM " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1] == "load":
        try:
            load(sys.argv[2], int(sys.argv[3]))
        except (OSError, http.client.HTTPException, ValueError):
            sys.exit(0)  # the emulator went away: that is the point
    else:
        sys.exit(verify(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else None))
