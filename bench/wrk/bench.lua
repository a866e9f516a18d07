-- bench.lua - the wrk script of scripts/bench.sh (wrk -s bench/wrk/bench.lua URL -- MODE ...).
--
-- Modes (the URL gives scheme, host and port; headers given with -H are sent too):
--   get PATH                    GET PATH on every request
--   put PATH_PREFIX SUFFIX BODY PUT PATH_PREFIX<thread>-<n>SUFFIX with BODY (JSON): a new
--                               resource on every request (ARM PUT, one transaction each)
--   patch PATH                  PATCH PATH with {"tags":{"n":"<thread>-<n>"}}: a changed
--                               document on every request
--   blob-put PATH_PREFIX QUERY BYTES KEEP
--                               PUT PATH_PREFIX<thread>-<n % KEEP>?QUERY with BYTES of body
--                               (a Block Blob Put Blob; KEEP bounds the number of blobs)
-- done() prints one line "BENCHJSON {...}" with requests/s, latency percentiles (ms) and
-- error counts, which scripts/bench.sh parses.

local threads = {}
local next_id = 0

function setup(thread)
    thread:set("tid", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

local mode, a1, a2, a3, a4
local n = 0
local blob_body

function init(args)
    mode, a1, a2, a3, a4 = args[1], args[2], args[3], args[4], args[5]
    if mode == "blob-put" then
        blob_body = string.rep("b", tonumber(a3))
    end
end

-- with_headers returns wrk.headers (Host and every -H) plus extra: wrk.format sends only the
-- table it is given.
local function with_headers(extra)
    local h = {}
    for k, v in pairs(wrk.headers) do h[k] = v end
    for k, v in pairs(extra) do h[k] = v end
    return h
end

function request()
    n = n + 1
    if mode == "get" then
        return wrk.format("GET", a1)
    elseif mode == "put" then
        return wrk.format("PUT", a1 .. tid .. "-" .. n .. a2,
            with_headers({ ["Content-Type"] = "application/json" }), a3)
    elseif mode == "patch" then
        return wrk.format("PATCH", a1, with_headers({ ["Content-Type"] = "application/json" }),
            '{"tags":{"n":"' .. tid .. "-" .. n .. '"}}')
    elseif mode == "blob-put" then
        local name = a1 .. tid .. "-" .. (n % tonumber(a4))
        return wrk.format("PUT", name .. "?" .. a2,
            with_headers({ ["x-ms-blob-type"] = "BlockBlob",
                ["Content-Type"] = "application/octet-stream" }),
            blob_body)
    end
    error("unknown mode " .. tostring(mode))
end

function done(summary, latency, requests)
    local secs = summary.duration / 1e6
    local e = summary.errors
    io.write(string.format(
        'BENCHJSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
        '"p99_ms":%.3f,"max_ms":%.3f,"bytes":%d,"non2xx":%d,"connect_errors":%d,' ..
        '"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
        summary.requests, secs, summary.requests / secs, latency:percentile(50) / 1000,
        latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
        summary.bytes, e.status, e.connect, e.read, e.write, e.timeout))
end
