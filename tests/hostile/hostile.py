#!/usr/bin/env python3
"""hostile.py - runs the hostile input catalogue (cases.txt) against a running emulator.

    hostile.py CASES_FILE    (environment: ARM, BLOB, CA, TOKEN, SUB, RG, CLUSTER, HSM,
                              SESSION, MHSM, MTOKEN, STACCT; see test_hostile.sh)

Every case is sent over a raw (TLS) socket, byte for byte as written, so nothing
normalises it the way curl or an HTTP library would. After each case the
emulator must answer /_emulator/health, and its state (GET /_emulator/state,
without the HSM sessions' last-used times) must be exactly what it was before.

Case lines (blank lines and lines starting with # are skipped), split like a shell:

    NAME LISTENER EXPECT METHOD TARGET [options]

LISTENER  arm | blob
EXPECT    4xx | NNN (exact) | close (the server hangs up, or answers 4xx, within a bound)
METHOD    an HTTP method (sent as written), or one of the special kinds:
          RAW     TARGET is the whole request, escapes decoded (no headers added)
          PLAIN   TARGET is a whole request sent WITHOUT TLS to the TLS port
          TLSCUT  TARGET is how many bytes of a real ClientHello to send before stalling
          TLSJUNK TARGET is raw bytes (escapes decoded) sent as the first TLS bytes
          STALL   TARGET is a request sent, then the client goes silent
          TRICKLE TARGET is a request sent one byte every 0.3 s (at most --for seconds)
options   -H 'Name: value'  add a header (escapes decoded; repeat for duplicates)
          -d DATA           the body (escapes decoded); Content-Length is added
          --cl N            send Content-Length N instead of the body's length
          --no-cl           send no Content-Length
          --noauth          no default Authorization header
          --sign            Blob: sign with Shared Key (devstoreaccount1's development key)
          --host H          Host header instead of 127.0.0.1:PORT
          --for SECS        TRICKLE: how long to keep trickling
Expansions in TARGET, headers and DATA: {SUB} {RG} {CLUSTER} {HSM} {SESSION} {MHSM}
{MTOKEN} {TOKEN} {STACCT} {PORT}, and {rep:TEXT:N} (TEXT repeated N times).
Escapes (\\r \\n \\t \\x00 \\xff ...) are decoded after expansion, so \\xff is one raw byte.
"""
import base64
import codecs
import email.utils
import hashlib
import hmac
import json
import os
import re
import shlex
import socket
import ssl
import sys
import threading
import time
import urllib.parse

DEVKEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
          "KBHBeksoGMGw==")
READ_LIMIT = 20.0  # seconds a case may take to be answered
CLOSE_LIMIT = float(os.environ.get("HOSTILE_CLOSE_LIMIT", "12"))  # idle timeout + slack


def env(name):
    return os.environ.get(name, "")


def split_url(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port


VARS = {k: env(k) for k in ("SUB", "RG", "CLUSTER", "HSM", "SESSION", "MHSM", "MTOKEN", "TOKEN",
                            "STACCT")}


def expand(text, port):
    def rep(m):
        return m.group(1) * int(m.group(2))

    text = re.sub(r"\{rep:(.*?):(\d+)\}", rep, text)
    for k, v in VARS.items():
        text = text.replace("{" + k + "}", v)
    text = text.replace("{PORT}", str(port))
    return text


def decode(text):
    """Escapes to bytes: '\\xff' is the byte 0xff, not the UTF-8 of U+00FF."""
    if "\\" not in text:
        return text.encode("utf-8")
    raw = text.encode("utf-8").decode("latin-1")
    return codecs.decode(raw, "unicode_escape").encode("latin-1")


def tls_context():
    ctx = ssl.create_default_context(cafile=env("CA"))
    ctx.check_hostname = False
    return ctx


def connect(port, tls=True):
    raw = socket.create_connection(("127.0.0.1", port), timeout=READ_LIMIT)
    if not tls:
        return raw
    return tls_context().wrap_socket(raw, server_hostname="localhost")


def read_response(s, limit):
    """Reads until EOF, a complete response or limit seconds. Returns (status or None, data,
    closed, seconds)."""
    start = time.monotonic()
    data = b""
    closed = False
    while True:
        left = limit - (time.monotonic() - start)
        if left <= 0:
            break
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except (ConnectionError, ssl.SSLError, OSError):
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if m and len(body) >= int(m.group(1)):
                break
    status = None
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    if m:
        status = int(m.group(1))
    return status, data, closed, time.monotonic() - start


def sign_shared_key(method, target, headers, body):
    """Signs over the bytes that go on the wire (escapes decoded), as the server sees them."""
    target = decode(target).decode("latin-1")
    path, _, query = target.partition("?")
    h = {}
    for line in headers:
        name, _, value = decode(line).decode("latin-1").partition(":")
        h[name.strip().lower()] = value.strip()
    length = str(len(body)) if body else ""
    parts = [method, h.get("content-encoding", ""), h.get("content-language", ""), length,
             h.get("content-md5", ""), h.get("content-type", ""), h.get("date", ""),
             h.get("if-modified-since", ""), h.get("if-match", ""), h.get("if-none-match", ""),
             h.get("if-unmodified-since", ""), h.get("range", "")]
    canon = "".join(f"{k}:{h[k]}\n" for k in sorted(h) if k.startswith("x-ms-"))
    res = "/devstoreaccount1" + urllib.parse.unquote(path, encoding="latin-1")
    params = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True,
                                              encoding="latin-1"):
        params.setdefault(name.lower(), []).append(value)
    for name in sorted(params):
        res += "\n" + name + ":" + ",".join(sorted(params[name]))
    sts = "\n".join(parts) + "\n" + canon + res
    mac = hmac.new(base64.b64decode(DEVKEY), sts.encode("latin-1"), hashlib.sha256)
    return "SharedKey devstoreaccount1:" + base64.b64encode(mac.digest()).decode()


def build(case, port):
    method, target, opts = case["method"], case["target"], case["opts"]
    headers = [expand(h, port) for h in opts["headers"]]
    body = decode(expand(opts["data"], port)) if opts["data"] is not None else b""
    names = {h.split(":", 1)[0].strip().lower() for h in headers}
    out = []
    if "host" not in names:
        out.append("Host: " + (opts["host"] or f"127.0.0.1:{port}"))
    if case["listener"] == "blob":
        if "x-ms-version" not in names:
            headers.append("x-ms-version: 2025-05-05")
        if "x-ms-date" not in names:
            headers.append("x-ms-date: " + email.utils.formatdate(usegmt=True))
    if opts["sign"]:
        headers.append("Authorization: " + sign_shared_key(method, target, headers, body))
    elif not opts["noauth"] and "authorization" not in names and case["listener"] == "arm":
        headers.append("Authorization: Bearer " + VARS["TOKEN"])
    out += headers
    if opts["cl"] is not None:
        out.append("Content-Length: " + opts["cl"])
    elif not opts["no_cl"] and (body or method in ("PUT", "POST", "PATCH")):
        out.append(f"Content-Length: {len(body)}")
    out.append("Connection: close")
    head = f"{method} {target} HTTP/1.1\r\n"
    return decode(head) + b"".join(decode(h) + b"\r\n" for h in out) + b"\r\n" + body


def client_hello(n):
    """The first n bytes of a real TLS ClientHello (made with an in-memory handshake)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outg.read()
    return hello[:n]


def run_case(case):
    port = case["port"]
    kind = case["method"]
    target = expand(case["target"], port)
    start = time.monotonic()
    if kind == "RAW":
        s = connect(port)
        s.sendall(decode(target))
        return read_response(s, READ_LIMIT)
    if kind == "PLAIN":
        s = connect(port, tls=False)
        s.sendall(decode(target))
        return read_response(s, READ_LIMIT)
    if kind in ("TLSCUT", "TLSJUNK"):
        s = connect(port, tls=False)
        s.sendall(client_hello(int(target)) if kind == "TLSCUT" else decode(target))
        return read_response(s, CLOSE_LIMIT)
    if kind == "STALL":
        s = connect(port)
        s.sendall(decode(target))
        return read_response(s, CLOSE_LIMIT)
    if kind == "TRICKLE":
        s = connect(port)
        data = decode(target)
        limit = float(case["opts"]["for"] or "3")
        for i in range(len(data)):
            if time.monotonic() - start > limit:
                break
            try:
                s.sendall(data[i:i + 1])
            except OSError:
                return None, b"", True, time.monotonic() - start
            time.sleep(0.3)
        status, data, closed, took = read_response(s, CLOSE_LIMIT)
        return status, data, closed, time.monotonic() - start
    case = dict(case, target=target)
    req = build(case, port)
    s = connect(port)
    try:
        s.sendall(req)
    except OSError:
        pass  # the server may answer and hang up before reading everything
    return read_response(s, READ_LIMIT)


def parse_cases(path):
    cases = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            # Backslashes are not shell escapes here: they stay for decode() ("\\x00").
            lexer = shlex.shlex(line, posix=True)
            lexer.whitespace_split = True
            lexer.escape = ""
            lexer.commenters = ""
            words = list(lexer)
            if len(words) < 5:
                sys.exit(f"{path}:{lineno}: need NAME LISTENER EXPECT METHOD TARGET")
            name, listener, expect, method, target = words[:5]
            opts = {"headers": [], "data": None, "cl": None, "no_cl": False, "noauth": False,
                    "sign": False, "host": None, "for": None}
            i = 5
            while i < len(words):
                w = words[i]
                if w == "-H":
                    opts["headers"].append(words[i + 1])
                    i += 2
                elif w == "-d":
                    opts["data"] = words[i + 1]
                    i += 2
                elif w in ("--cl", "--host", "--for"):
                    opts[w[2:]] = words[i + 1]
                    i += 2
                elif w in ("--no-cl", "--noauth", "--sign"):
                    opts[w[2:].replace("-", "_")] = True
                    i += 1
                else:
                    sys.exit(f"{path}:{lineno}: unknown option {w}")
            if listener not in ("arm", "blob"):
                sys.exit(f"{path}:{lineno}: listener must be arm or blob")
            cases.append({"name": name, "listener": listener, "expect": expect, "method": method,
                          "target": target, "opts": opts, "line": lineno})
    names = [c["name"] for c in cases]
    dups = {n for n in names if names.count(n) > 1}
    if dups:
        sys.exit(f"{path}: duplicate case names: {sorted(dups)}")
    return cases


_control = {"conn": None}


def control(path):
    """GET on the control surface over one kept-alive connection (reopened after an error)."""
    import http.client
    _, port = split_url(env("ARM"))
    for attempt in (0, 1):
        if _control["conn"] is None:
            _control["conn"] = http.client.HTTPSConnection("127.0.0.1", port,
                                                           context=tls_context(),
                                                           timeout=READ_LIMIT)
        try:
            _control["conn"].request("GET", path)
            r = _control["conn"].getresponse()
            return r.status, r.read()
        except (OSError, http.client.HTTPException):
            _control["conn"].close()
            _control["conn"] = None
            if attempt == 1:
                return None, b""
    return None, b""


def state():
    status, body = control("/_emulator/state")
    if status != 200:
        return None
    # Invalid UTF-8 in the export is itself a finding: it shows up as a difference.
    doc = json.loads(body.decode("utf-8", "replace"))
    sessions = doc["tables"].get("hsm_sessions")
    if sessions:  # a session's last use moves with every authenticated call
        i = sessions["columns"].index("last_used_ms")
        for row in sessions["rows"]:
            row[i] = None
    return doc


def diff(before, after):
    out = []
    for t in sorted(set(before["tables"]) | set(after["tables"])):
        a = before["tables"].get(t, {}).get("rows")
        b = after["tables"].get(t, {}).get("rows")
        if a != b:
            out.append(f"{t}: {len(a or [])} -> {len(b or [])} rows")
            for row in (b or []):
                if row not in (a or []):
                    out.append(f"  new/changed: {json.dumps(row)[:300]}")
    return out


def outcome_ok(expect, status, closed, took):
    """A 5xx only passes when the case names it exactly (505 for HTTP/2.0, 501 for features
    the emulator documents as not implemented)."""
    if status is not None and status >= 500 and expect != str(status):
        return False
    if expect == "4xx":
        return status is not None and 400 <= status < 500
    if expect == "close":
        if status is not None:
            return 400 <= status < 500
        return closed and took <= CLOSE_LIMIT + 2
    return status == int(expect)


def main():
    cases = parse_cases(sys.argv[1])
    only = os.environ.get("HOSTILE_ONLY")
    if only:
        cases = [c for c in cases if re.search(only, c["name"])]
    arm_port = split_url(env("ARM"))[1]
    blob_port = split_url(env("BLOB"))[1]
    before = state()
    if before is None:
        sys.exit("hostile: cannot export the state before the run")
    failures = 0
    tally = {}
    for c in cases:
        c["port"] = arm_port if c["listener"] == "arm" else blob_port

    def attempt(c):
        try:
            return run_case(c)
        except (OSError, ssl.SSLError) as e:
            return None, repr(e).encode(), True, 0.0

    # The cases that end in a closed connection wait for the idle timeout: they run all at
    # once (which also shows slow clients do not hold up the others), then the checks.
    slow = [c for c in cases if c["expect"] == "close"]
    results = {}
    threads = [threading.Thread(target=lambda c=c: results.__setitem__(c["name"], attempt(c)))
               for c in slow]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    order = [(c, True) for c in slow] + [(c, False) for c in cases if c["expect"] != "close"]
    for c, batched in order:
        status, data, closed, took = results[c["name"]] if batched else attempt(c)
        key = str(status) if status is not None else "closed"
        tally[key] = tally.get(key, 0) + 1
        ok = outcome_ok(c["expect"], status, closed, took)
        hs, _ = control("/_emulator/health")
        after = state()
        changed = diff(before, after) if after is not None else ["state export failed"]
        if not ok or hs != 200 or changed:
            failures += 1
            first = data.split(b"\r\n", 1)[0][:120]
            body = data.partition(b"\r\n\r\n")[2][:300]
            print(f"FAIL {c['name']} (line {c['line']}): expected {c['expect']}, got "
                  f"{key} in {took:.1f}s {first!r} {body!r}; health {hs}")
            for d in changed:
                print("  state " + d)
            if after is not None:
                before = after
        elif os.environ.get("HOSTILE_VERBOSE"):
            print(f"ok   {c['name']}: {key} in {took:.1f}s")
    outcomes = ", ".join(f"{k} x{v}" for k, v in sorted(tally.items()))
    print(f"hostile: {len(cases)} cases, {failures} failed; outcomes: {outcomes}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
