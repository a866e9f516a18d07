#!/usr/bin/env python3
"""blobreq.py - one Blob REST request for the end-to-end tests, standard library only.

Signs with Shared Key (--account/--key) the way the Azure SDKs do, or sends a
bearer token, a SAS (already in the URL) or nothing. Prints the status code;
writes the body and the response headers to files.

    blobreq.py METHOD URL [--account A --key K] [--bearer T] [-H 'Name: value']...
               [--data TEXT | --data-file F] [--body-out F] [--headers-out F]
               [--cacert CA] [--sign-path P] [--print-sts]

Also:  blobreq.py sas ACCOUNT KEY key=value...   prints a SAS query string
       (account SAS when ss/srt are given, else a service SAS; cr=container,
       bl=blob name for the canonical resource).
       blobreq.py truncated URL CA DECLARED SENT   sends a PUT whose body stops
       short of its Content-Length and hangs up.
"""
import base64
import email.utils
import hashlib
import hmac
import http.client
import socket
import ssl
import sys
import urllib.parse


def canonical_resource(account, path, query):
    out = "/" + account + (path or "/")
    params = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        params.setdefault(name.lower(), []).append(value)
    for name in sorted(params):
        out += "\n" + name + ":" + ",".join(sorted(params[name]))
    return out


def string_to_sign(method, headers, account, path, query):
    h = {k.lower(): v for k, v in headers.items()}
    length = h.get("content-length", "")
    if length == "0":
        length = ""
    parts = [method, h.get("content-encoding", ""), h.get("content-language", ""), length,
             h.get("content-md5", ""), h.get("content-type", ""), h.get("date", ""),
             h.get("if-modified-since", ""), h.get("if-match", ""), h.get("if-none-match", ""),
             h.get("if-unmodified-since", ""), h.get("range", "")]
    canon = "".join(f"{k}:{h[k].strip()}\n" for k in sorted(h) if k.startswith("x-ms-"))
    return "\n".join(parts) + "\n" + canon + canonical_resource(account, path, query)


def sign(key, text):
    mac = hmac.new(base64.b64decode(key), text.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def sas(args):
    account, key = args[0], args[1]
    f = dict(a.split("=", 1) for a in args[2:])
    sv = f.get("sv", "2025-05-05")
    if "ss" in f or "srt" in f:
        parts = [account, f.get("sp", ""), f.get("ss", ""), f.get("srt", ""), f.get("st", ""),
                 f.get("se", ""), f.get("sip", ""), f.get("spr", ""), sv]
        if sv >= "2020-12-06":
            parts.append(f.get("ses", ""))
        sts = "\n".join(parts) + "\n"
        q = {k: f[k] for k in ("sp", "ss", "srt", "st", "se", "sip", "spr", "ses") if f.get(k)}
    else:
        res = "/blob/" + account + "/" + f.get("cr", "")
        if f.get("sr") == "b":
            res += "/" + f.get("bl", "")
        parts = [f.get("sp", ""), f.get("st", ""), f.get("se", ""), res, f.get("si", ""),
                 f.get("sip", ""), f.get("spr", ""), sv]
        if sv >= "2018-11-09":
            parts += [f.get("sr", ""), ""]
        if sv >= "2020-12-06":
            parts.append(f.get("ses", ""))
        parts += [f.get(k, "") for k in ("rscc", "rscd", "rsce", "rscl", "rsct")]
        sts = "\n".join(parts)
        q = {k: f[k] for k in ("sp", "st", "se", "sr", "sip", "spr", "ses") if f.get(k)}
    q["sv"] = sv
    q["sig"] = sign(key, sts)
    print(urllib.parse.urlencode(q, quote_via=urllib.parse.quote))


def truncated(url, cacert, declared, sent):
    u = urllib.parse.urlsplit(url)
    raw = socket.create_connection((u.hostname, u.port), timeout=10)
    s = raw
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=cacert)
        s = ctx.wrap_socket(raw, server_hostname=u.hostname)
    path = u.path + ("?" + u.query if u.query else "")
    head = (f"PUT {path} HTTP/1.1\r\nHost: {u.netloc}\r\nx-ms-blob-type: BlockBlob\r\n"
            f"x-ms-version: 2025-05-05\r\nContent-Length: {declared}\r\n\r\n")
    s.sendall(head.encode() + b"x" * int(sent))
    s.close()
    print("sent")


def main(argv):
    if argv and argv[0] == "sas":
        return sas(argv[1:])
    if argv and argv[0] == "truncated":
        return truncated(*argv[1:5])
    method, url = argv[0], argv[1]
    opts = {"headers": {}, "data": None}
    i = 2
    while i < len(argv):
        a = argv[i]
        if a == "-H":
            name, value = argv[i + 1].split(":", 1)
            opts["headers"][name.strip()] = value.strip()
            i += 2
        elif a == "--data":
            opts["data"] = argv[i + 1].encode()
            i += 2
        elif a == "--data-file":
            with open(argv[i + 1], "rb") as f:
                opts["data"] = f.read()
            i += 2
        elif a == "--print-sts":
            opts["print_sts"] = True
            i += 1
        else:
            opts[a.lstrip("-").replace("-", "_")] = argv[i + 1]
            i += 2
    u = urllib.parse.urlsplit(url)
    headers = dict(opts["headers"])
    headers.setdefault("x-ms-version", "2025-05-05")
    headers.setdefault("x-ms-date", email.utils.formatdate(usegmt=True))
    body = opts["data"]
    if body is not None or method in ("PUT", "POST"):
        headers["Content-Length"] = str(len(body or b""))
    if opts.get("account"):
        path = opts.get("sign_path", u.path)
        sts = string_to_sign(method, headers, opts["account"], path, u.query)
        if opts.get("print_sts"):
            sys.stderr.write(repr(sts) + "\n")
        headers["Authorization"] = f"SharedKey {opts['account']}:{sign(opts['key'], sts)}"
    elif opts.get("bearer"):
        headers["Authorization"] = "Bearer " + opts["bearer"]
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=opts.get("cacert"))
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=600)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    if opts.get("host"):
        headers["Host"] = opts["host"]
    conn.putrequest(method, u.path + ("?" + u.query if u.query else ""), skip_host="Host" in headers,
                    skip_accept_encoding=True)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    if body:
        try:
            conn.send(body)
        except OSError:
            pass  # the server may answer (413) and close before reading it all
    resp = conn.getresponse()
    data = resp.read()
    if opts.get("body_out"):
        with open(opts["body_out"], "wb") as f:
            f.write(data)
    if opts.get("headers_out"):
        with open(opts["headers_out"], "w") as f:
            for k, v in resp.getheaders():
                f.write(f"{k}: {v}\n")
    print(resp.status)


if __name__ == "__main__":
    main(sys.argv[1:])
