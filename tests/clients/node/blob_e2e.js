// blob_e2e.js - drives the emulator's Blob endpoint with the official
// @azure/storage-blob SDK. Prints one "PASS name" or "FAIL name: why" line per
// check; tests/e2e/test_blob_sdk.sh counts them.
//
//   node blob_e2e.js write  BLOB_URL ACCOUNT KEY CONTAINER STATE_FILE
//   node blob_e2e.js verify BLOB_URL ACCOUNT KEY CONTAINER STATE_FILE
//
// write: a full round (create, upload, list, range-read, 64 MiB multi-block
// upload and byte-for-byte download, conditions, delete) and records the big
// blob's SHA-256 in STATE_FILE; verify: after a restart, the data is there.
"use strict";

const {
  BlobServiceClient,
  StorageSharedKeyCredential,
} = require("@azure/storage-blob");
const crypto = require("crypto");
const fs = require("fs");

const [mode, blobUrl, account, key, containerName, stateFile] = process.argv.slice(2);
let failures = 0;

async function check(name, fn) {
  try {
    await fn();
    console.log(`PASS ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}: ${e && e.message ? e.message.split("\n")[0] : e}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg || "assertion failed");
}

async function collect(iter) {
  const out = [];
  for await (const x of iter) out.push(x);
  return out;
}

function service() {
  if (account === "devstoreaccount1") {
    // The Azurite-style connection string, as developers write it.
    const cs =
      `DefaultEndpointsProtocol=https;AccountName=${account};AccountKey=${key};` +
      `BlobEndpoint=${blobUrl}/${account};`;
    return BlobServiceClient.fromConnectionString(cs);
  }
  return new BlobServiceClient(`${blobUrl}/${account}`, new StorageSharedKeyCredential(account, key));
}

const BIG = 64 * 1024 * 1024 + 12345; // not a multiple of the block size

async function write() {
  const svc = service();
  const container = svc.getContainerClient(containerName);
  await check("create container", async () => {
    const r = await container.create({ metadata: { purpose: "sdk" } });
    assert(r.etag, "no etag");
  });
  await check("create container twice fails with ContainerAlreadyExists", async () => {
    try {
      await container.create();
      throw new Error("second create succeeded");
    } catch (e) {
      assert(e.statusCode === 409 && e.code === "ContainerAlreadyExists", `got ${e.statusCode} ${e.code}`);
    }
  });
  await check("list containers", async () => {
    const all = await collect(svc.listContainers({ prefix: containerName, includeMetadata: true }));
    const mine = all.find((c) => c.name === containerName);
    assert(mine, "container not listed");
    assert(mine.metadata && mine.metadata.purpose === "sdk", "metadata not listed");
  });
  const small = container.getBlockBlobClient("docs/hello.txt");
  await check("upload small blob", async () => {
    await small.upload("hello sdk world", 15, {
      metadata: { color: "blue" },
      blobHTTPHeaders: { blobContentType: "text/plain" },
    });
  });
  await check("properties and metadata", async () => {
    const p = await small.getProperties();
    assert(p.contentLength === 15, `length ${p.contentLength}`);
    assert(p.contentType === "text/plain", `type ${p.contentType}`);
    assert(p.metadata.color === "blue", "metadata");
    assert(p.contentMD5 && p.contentMD5.length === 16, "content md5");
  });
  await check("range read", async () => {
    const buf = await small.downloadToBuffer(6, 3);
    assert(buf.toString() === "sdk", `got '${buf.toString()}'`);
  });
  await check("download stream with offset", async () => {
    const r = await small.download(10);
    const chunks = [];
    for await (const c of r.readableStreamBody) chunks.push(c);
    assert(Buffer.concat(chunks).toString() === "world", "body");
    assert(r.contentRange === "bytes 10-14/15", `range ${r.contentRange}`);
  });
  await check("create-only upload of an existing blob fails", async () => {
    try {
      await small.upload("x", 1, { conditions: { ifNoneMatch: "*" } });
      throw new Error("overwrote");
    } catch (e) {
      assert(e.statusCode === 409 && e.code === "BlobAlreadyExists", `got ${e.statusCode} ${e.code}`);
    }
  });
  await check("if-match with a stale etag fails", async () => {
    try {
      await small.setMetadata({ a: "b" }, { conditions: { ifMatch: '"0x1"' } });
      throw new Error("accepted");
    } catch (e) {
      assert(e.statusCode === 412 && e.code === "ConditionNotMet", `got ${e.statusCode} ${e.code}`);
    }
  });
  await check("set metadata", async () => {
    await small.setMetadata({ shape: "round" });
    const p = await small.getProperties();
    assert(p.metadata.shape === "round" && !p.metadata.color, "metadata replaced");
  });
  for (const n of ["docs/a/1.txt", "docs/a/2.txt", "top.txt"]) {
    await container.getBlockBlobClient(n).upload(n, n.length);
  }
  await check("list flat with metadata", async () => {
    const all = await collect(container.listBlobsFlat({ includeMetadata: true }));
    const names = all.map((b) => b.name);
    assert(names.join(",") === "docs/a/1.txt,docs/a/2.txt,docs/hello.txt,top.txt", names.join(","));
    const hello = all.find((b) => b.name === "docs/hello.txt");
    assert(hello.metadata.shape === "round", "metadata in listing");
    assert(hello.properties.contentLength === 15, "length in listing");
  });
  await check("list by hierarchy", async () => {
    const all = await collect(container.listBlobsByHierarchy("/", { prefix: "docs/" }));
    const prefixes = all.filter((x) => x.kind === "prefix").map((x) => x.name);
    const blobs = all.filter((x) => x.kind === "blob").map((x) => x.name);
    assert(prefixes.join(",") === "docs/a/", `prefixes ${prefixes}`);
    assert(blobs.join(",") === "docs/hello.txt", `blobs ${blobs}`);
  });
  await check("list in pages", async () => {
    const pages = await collect(container.listBlobsFlat().byPage({ maxPageSize: 3 }));
    assert(pages.length === 2, `pages ${pages.length}`);
    assert(pages[0].segment.blobItems.length === 3, "first page");
    assert(pages[1].segment.blobItems.length === 1, "second page");
  });

  const big = container.getBlockBlobClient("big/64mib.bin");
  const data = crypto.randomBytes(BIG);
  const sha = crypto.createHash("sha256").update(data).digest("hex");
  await check("multi-block upload of 64 MiB", async () => {
    await big.uploadData(data, {
      blockSize: 4 * 1024 * 1024,
      maxSingleShotSize: 1024 * 1024,
      concurrency: 4,
    });
  });
  await check("block list has 17 committed blocks", async () => {
    const bl = await big.getBlockList("committed");
    assert(bl.committedBlocks.length === 17, `blocks ${bl.committedBlocks.length}`);
    assert(bl.blobContentLength === BIG, `length ${bl.blobContentLength}`);
  });
  await check("download of 64 MiB equals the upload", async () => {
    const back = await big.downloadToBuffer(0, undefined, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
    assert(back.length === BIG, `length ${back.length}`);
    assert(Buffer.compare(back, data) === 0, "bytes differ");
  });
  await check("range read across blocks", async () => {
    const off = 4 * 1024 * 1024 - 10;
    const part = await big.downloadToBuffer(off, 20);
    assert(Buffer.compare(part, data.subarray(off, off + 20)) === 0, "range bytes differ");
  });
  fs.writeFileSync(stateFile, sha);

  await check("delete blob", async () => {
    const gone = container.getBlockBlobClient("top.txt");
    await gone.delete();
    assert(!(await gone.exists()), "still exists");
  });
  await check("get deleted blob fails with BlobNotFound", async () => {
    try {
      await container.getBlockBlobClient("top.txt").getProperties();
      throw new Error("found");
    } catch (e) {
      assert(e.statusCode === 404, `got ${e.statusCode}`);
    }
  });
  await check("account info", async () => {
    const info = await svc.getAccountInfo();
    assert(info.accountKind === "StorageV2", `kind ${info.accountKind}`);
  });
}

async function verify() {
  const svc = service();
  const container = svc.getContainerClient(containerName);
  await check("container survives restart", async () => {
    assert(await container.exists(), "container gone");
  });
  await check("small blob survives restart", async () => {
    const buf = await container.getBlockBlobClient("docs/hello.txt").downloadToBuffer();
    assert(buf.toString() === "hello sdk world", "content");
  });
  await check("64 MiB blob survives restart byte for byte", async () => {
    const back = await container.getBlockBlobClient("big/64mib.bin").downloadToBuffer();
    const sha = crypto.createHash("sha256").update(back).digest("hex");
    assert(sha === fs.readFileSync(stateFile, "utf8"), "sha256 differs");
  });
  await check("deleted blob stays deleted", async () => {
    assert(!(await container.getBlockBlobClient("top.txt").exists()), "came back");
  });
  await check("delete container", async () => {
    await container.delete();
    assert(!(await container.exists()), "still exists");
  });
}

(mode === "write" ? write() : verify())
  .catch((e) => {
    failures++;
    console.log(`FAIL ${mode}: ${e && e.message}`);
  })
  .then(() => process.exit(failures ? 1 : 0));
