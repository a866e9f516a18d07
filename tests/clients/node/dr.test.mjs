// dr.test.mjs - the official Azure SDK packages for JavaScript, unmodified, run
// the Cloud HSM disaster-recovery scenario and the Blob operations against
// chsm-emulator with configuration only (tests/e2e/test_client_js.sh starts
// the emulator and sets ARM, BLOB, IDENTITY_ENDPOINT, IDENTITY_HEADER and
// NODE_EXTRA_CA_CERTS). Run with `node --test`; the steps depend on each
// other and run in order, a failed step makes the ones after it fail too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import {
    ClientSecretCredential,
    DefaultAzureCredential,
    ManagedIdentityCredential,
} from "@azure/identity";
import { ResourceManagementClient } from "@azure/arm-resources";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { StorageManagementClient } from "@azure/arm-storage";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { ServiceClient, createSerializer } from "@azure/core-client";
import { createHttpPoller } from "@azure/core-lro";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";

const ARM = must("ARM");
const BLOB = must("BLOB");
const TENANT = process.env.TENANT ?? "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SUB = process.env.SUB ?? "00000000-0000-0000-0000-0000000000c1";
const RG = "js-dr-rg";
const LOCATION = "westeurope";
const SRC = "js-src-hsm";
const DST = "js-dst-hsm";
const ACCOUNT = `jsdr${randomUUID().replace(/-/g, "").slice(0, 12)}`;
const CONTAINER = "hsm-backups";
const BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
const HSM_API = process.env.HSM_API_VERSION ?? "2025-03-31";
const FAST = { updateIntervalInMs: 50 };

function must(name) {
    const v = process.env[name];
    if (!v) throw new Error(`${name} must be set (tests/e2e/test_client_js.sh sets it)`);
    return v;
}

function claims(jwt) {
    return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
}

// The credentials: a service principal from the emulated Entra ID token
// endpoint, and App Service-style managed identity tokens from $IDENTITY_ENDPOINT.
const sp = new ClientSecretCredential(TENANT, "js-sdk-ci", "any-secret", {
    authorityHost: ARM,
    disableInstanceDiscovery: true,
});
const armOptions = { endpoint: ARM };

// Shared state between the ordered steps.
const s = {};

test("ClientSecretCredential gets a token from {authorityHost}/{tenant}/oauth2/v2.0/token", async () => {
    const t = await sp.getToken(`${ARM}/.default`);
    const c = claims(t.token);
    assert.equal(c.tid, TENANT);
    assert.equal(c.appid, "js-sdk-ci");
    assert.ok(t.expiresOnTimestamp > Date.now());
});

test("ManagedIdentityCredential gets a token from IDENTITY_ENDPOINT (App Service 2019-08-01)", async () => {
    assert.ok(process.env.IDENTITY_ENDPOINT?.endsWith("/msi/token"));
    const t = await new ManagedIdentityCredential().getToken(`${ARM}/.default`);
    assert.ok(claims(t.token).oid);
});

test("DefaultAzureCredential from environment variables only (AZURE_TENANT_ID=adfs)", async () => {
    // No option can be passed through the environment to turn instance discovery
    // off; an ADFS authority ({AZURE_AUTHORITY_HOST}/adfs) is never discovered.
    const env = {
        AZURE_TENANT_ID: "adfs",
        AZURE_CLIENT_ID: "js-env-ci",
        AZURE_CLIENT_SECRET: "any-secret",
        AZURE_AUTHORITY_HOST: ARM,
    };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    try {
        const cred = new DefaultAzureCredential();
        const t = await cred.getToken(`${ARM}/.default`);
        assert.equal(claims(t.token).appid, "js-env-ci");
        const rm = new ResourceManagementClient(cred, SUB, armOptions);
        for await (const g of rm.resourceGroups.list()) void g;
    } finally {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
});

test("resource group (@azure/arm-resources)", async () => {
    const rm = new ResourceManagementClient(sp, SUB, armOptions);
    const rg = await rm.resourceGroups.createOrUpdate(RG, { location: LOCATION });
    assert.equal(rg.name, RG);
    assert.equal(rg.properties?.provisioningState, "Succeeded");
    const got = await rm.resourceGroups.get(RG);
    assert.equal(got.id, `/subscriptions/${SUB}/resourceGroups/${RG}`);
});

test("user-assigned identity (@azure/arm-msi)", async () => {
    const msi = new ManagedServiceIdentityClient(sp, SUB, armOptions);
    const id = await msi.userAssignedIdentities.createOrUpdate(RG, "js-dr-id", {
        location: LOCATION,
    });
    assert.match(id.principalId, /^[0-9a-f-]{36}$/);
    assert.match(id.clientId, /^[0-9a-f-]{36}$/);
    s.identity = id;
});

test("the identity's own token carries its principalId", async () => {
    const cred = new ManagedIdentityCredential({ clientId: s.identity.clientId });
    const t = await cred.getToken("https://storage.azure.com/.default");
    assert.equal(claims(t.token).oid, s.identity.principalId);
});

test("storage account, keys and container (@azure/arm-storage)", async () => {
    const st = new StorageManagementClient(sp, SUB, armOptions);
    const acct = await st.storageAccounts.create(
        RG,
        ACCOUNT,
        {
            location: LOCATION,
            kind: "StorageV2",
            sku: { name: "Standard_LRS" },
            allowSharedKeyAccess: true,
        },
        FAST,
    );
    assert.equal(acct.name, ACCOUNT);
    assert.equal(acct.provisioningState, "Succeeded");
    const blobEndpoint = acct.primaryEndpoints?.blob;
    assert.ok(blobEndpoint, "primaryEndpoints.blob is set");
    assert.ok(
        blobEndpoint.startsWith(BLOB),
        `primaryEndpoints.blob (${blobEndpoint}) names the emulator's blob endpoint ${BLOB}`,
    );
    const keys = await st.storageAccounts.listKeys(RG, ACCOUNT);
    assert.equal(keys.keys?.length, 2);
    const container = await st.blobContainers.create(RG, ACCOUNT, CONTAINER, {});
    assert.equal(container.name, CONTAINER);
    s.account = acct;
    s.blobEndpoint = blobEndpoint.endsWith("/") ? blobEndpoint : `${blobEndpoint}/`;
    s.key = keys.keys[0].value;
});

test("ARM addressed as localhost: primaryEndpoints.blob uses localhost and the Blob port", async () => {
    const viaLocalhost = ARM.replace("://127.0.0.1:", "://localhost:");
    assert.notEqual(viaLocalhost, ARM, "ARM is https://127.0.0.1:PORT in this test");
    const st = new StorageManagementClient(sp, SUB, { endpoint: viaLocalhost });
    const acct = await st.storageAccounts.getProperties(RG, ACCOUNT);
    const blobPort = new URL(BLOB).port;
    assert.equal(acct.primaryEndpoints?.blob, `https://localhost:${blobPort}/${ACCOUNT}/`);
    const service = new BlobServiceClient(
        acct.primaryEndpoints.blob,
        new StorageSharedKeyCredential(ACCOUNT, s.key),
    );
    assert.equal(await service.getContainerClient(CONTAINER).exists(), true);
});

test("role assignment: Storage Blob Data Contributor to the identity (@azure/arm-authorization)", async () => {
    const auth = new AuthorizationManagementClient(sp, SUB, armOptions);
    const scope = s.account.id;
    const ra = await auth.roleAssignments.create(scope, randomUUID(), {
        roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${BLOB_DATA_CONTRIBUTOR}`,
        principalId: s.identity.principalId,
        principalType: "ServicePrincipal",
    });
    assert.equal(ra.principalId, s.identity.principalId);
    assert.equal(ra.scope?.toLowerCase(), scope.toLowerCase());
    const found = [];
    for await (const r of auth.roleAssignments.listForScope(scope, {
        filter: `principalId eq '${s.identity.principalId}'`,
    })) {
        found.push(r);
    }
    assert.ok(found.some((r) => r.roleDefinitionId?.endsWith(BLOB_DATA_CONTRIBUTOR)));
});

// ---- Cloud HSM: there is no Cloud HSM SDK package on npm, so the calls are
// made the way generated SDKs make them: @azure/core-client's ServiceClient
// with operation specs, and @azure/core-lro's createHttpPoller.

const serializer = createSerializer({}, false);
const anyMapper = { type: { name: "any" } };
const errorMapper = {
    type: {
        name: "Composite",
        className: "ErrorResponse",
        modelProperties: { error: { serializedName: "error", type: { name: "any" } } },
    },
};
const P = {
    apiVersion: {
        parameterPath: "apiVersion",
        mapper: {
            serializedName: "api-version",
            required: true,
            isConstant: false,
            type: { name: "String" },
        },
    },
    subscriptionId: {
        parameterPath: "subscriptionId",
        mapper: { serializedName: "subscriptionId", required: true, type: { name: "String" } },
    },
    resourceGroupName: {
        parameterPath: "resourceGroupName",
        mapper: { serializedName: "resourceGroupName", required: true, type: { name: "String" } },
    },
    clusterName: {
        parameterPath: "clusterName",
        mapper: { serializedName: "cloudHsmClusterName", required: true, type: { name: "String" } },
    },
    body: {
        parameterPath: "body",
        mapper: { ...anyMapper, serializedName: "body", required: true },
    },
    contentType: {
        parameterPath: ["options", "contentType"],
        mapper: {
            defaultValue: "application/json",
            isConstant: true,
            serializedName: "Content-Type",
            type: { name: "String" },
        },
    },
    accept: {
        parameterPath: "accept",
        mapper: {
            defaultValue: "application/json",
            isConstant: true,
            serializedName: "Accept",
            type: { name: "String" },
        },
    },
};
const CLUSTER_PATH =
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}" +
    "/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/{cloudHsmClusterName}";

function spec(method, suffix, withBody) {
    return {
        path: CLUSTER_PATH + suffix,
        httpMethod: method,
        responses: {
            200: { bodyMapper: anyMapper },
            201: { bodyMapper: anyMapper },
            202: {},
            204: {},
            default: { bodyMapper: errorMapper },
        },
        requestBody: withBody ? P.body : undefined,
        queryParameters: [P.apiVersion],
        urlParameters: [P.subscriptionId, P.resourceGroupName, P.clusterName],
        headerParameters: withBody ? [P.contentType, P.accept] : [P.accept],
        mediaType: "json",
        serializer,
    };
}

const hsmClient = new ServiceClient({
    endpoint: ARM,
    credential: sp,
    credentialScopes: [`${ARM}/.default`],
});

// send runs one operation and returns core-lro's OperationResponse shape.
async function send(args, opSpec) {
    let raw;
    const flatResponse = await hsmClient.sendOperationRequest(
        {
            ...args,
            options: {
                onResponse: (r) => {
                    raw = r;
                },
            },
        },
        opSpec,
    );
    return {
        flatResponse,
        rawResponse: {
            statusCode: raw.status,
            headers: raw.headers.toJSON(),
            body: raw.parsedBody,
            request: { method: raw.request.method, url: raw.request.url },
        },
    };
}

// lro starts an operation and follows it with createHttpPoller, as generated SDKs do.
// polls counts the status requests the pollers sent.
const polls = { count: 0 };
function lro(args, opSpec, options = {}) {
    const { requestBody, ...getSpec } = opSpec;
    void requestBody;
    return createHttpPoller(
        {
            sendInitialRequest: () => send(args, opSpec),
            sendPollRequest: (path) => {
                polls.count++;
                return send(args, { ...getSpec, httpMethod: "GET", path });
            },
        },
        { intervalInMs: 50, ...options },
    );
}

function clusterArgs(name, body) {
    return { subscriptionId: SUB, resourceGroupName: RG, clusterName: name, apiVersion: HSM_API, body };
}

async function getCluster(name) {
    return (await send(clusterArgs(name), spec("GET", "", false))).flatResponse;
}

test("two Cloud HSM clusters with the identity (PUT through the poller, Body mode)", async () => {
    for (const name of [SRC, DST]) {
        const body = {
            location: LOCATION,
            sku: { family: "B", name: "Standard_B1" },
            identity: {
                type: "UserAssigned",
                userAssignedIdentities: { [s.identity.id]: {} },
            },
            properties: {},
        };
        const cluster = await lro(clusterArgs(name, body), spec("PUT", "", true)).pollUntilDone();
        assert.equal(cluster.properties.provisioningState, "Succeeded");
        const uai = cluster.identity?.userAssignedIdentities ?? {};
        const entry = Object.entries(uai).find(([k]) => k.toLowerCase() === s.identity.id.toLowerCase());
        assert.ok(entry, "the cluster names the identity");
        assert.equal(entry[1].principalId, s.identity.principalId);
    }
    const src = await getCluster(SRC);
    assert.equal(src.properties.activationState, "NotActivated");
    assert.match(src.properties.hsms[0].fqdn, /^hsm1\.[^.]+\.cloudhsm\.localhost$/);
    s.label = src.properties.hsms[0].fqdn.split(".")[1];
});

async function hsmCall(path, body, session) {
    const headers = { "Content-Type": "application/json" };
    if (session) headers.Authorization = `HSM-Session ${session}`;
    const r = await fetch(`${ARM}/hsm/${s.label}${path}`, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
    });
    const text = await r.text();
    assert.equal(r.status, 200, `POST ${path}: ${r.status} ${text}`);
    return JSON.parse(text);
}

test("activate the source cluster through the HSM data plane", async () => {
    const login = await hsmCall("/login", {
        userType: "PRECO",
        username: "admin",
        password: "tenantadmin",
    });
    assert.ok(login.session);
    const info = await hsmCall("/activate", { newPassword: "Js-Dr-Passw0rd" }, login.session);
    assert.equal(info.activationState, "Active");
    const src = await getCluster(SRC);
    assert.equal(src.properties.activationState, "Active");
});

test("backup of the source, followed with createHttpPoller (Location)", async () => {
    s.containerUri = `${s.blobEndpoint}${CONTAINER}`;
    let location;
    const before = polls.count;
    const poller = lro(
        clusterArgs(SRC, { azureStorageBlobContainerUri: s.containerUri }),
        spec("POST", "/backup", true),
        { withOperationLocation: (l) => (location = l) },
    );
    const result = await poller.pollUntilDone();
    assert.ok(location?.startsWith(`${ARM}/`), `Location ${location} is on the emulator`);
    assert.match(location, /\/backupOperationStatus\/[0-9a-f]{32}\?api-version=/);
    assert.ok(polls.count > before, "the poller polled the status URL");
    assert.equal(result.properties.status, "Succeeded", JSON.stringify(result));
    assert.match(result.properties.backupId, /^cloudhsm-/);
    s.backupId = result.properties.backupId;
});

test("restore into the destination, followed with createHttpPoller", async () => {
    const result = await lro(
        clusterArgs(DST, { azureStorageBlobContainerUri: s.containerUri, backupId: s.backupId }),
        spec("POST", "/restore", true),
    ).pollUntilDone();
    assert.equal(result.properties.status, "Succeeded", JSON.stringify(result));
    const dst = await getCluster(DST);
    assert.equal(dst.properties.activationState, "Active");
});

// ---- Blob data plane (@azure/storage-blob) with each kind of credential.

async function blobRoundTrip(service, tag) {
    const container = service.getContainerClient(CONTAINER);
    const name = `${tag}/hello-${randomUUID()}.txt`;
    const text = `written by @azure/storage-blob with ${tag}`;
    await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
    const names = [];
    for await (const b of container.listBlobsFlat()) names.push(b.name);
    assert.ok(names.includes(name), `${name} is listed`);
    const data = await container.getBlobClient(name).downloadToBuffer();
    assert.equal(data.toString("utf8"), text);
    await container.getBlobClient(name).delete();
    assert.equal(await container.getBlobClient(name).exists(), false);
}

test("blobs with a connection string (BlobEndpoint= the account's blob endpoint)", async () => {
    const cs =
        `DefaultEndpointsProtocol=https;AccountName=${ACCOUNT};AccountKey=${s.key};` +
        `BlobEndpoint=${s.blobEndpoint}`;
    await blobRoundTrip(BlobServiceClient.fromConnectionString(cs), "connection-string");
});

test("blobs with a shared key (StorageSharedKeyCredential)", async () => {
    const service = new BlobServiceClient(
        s.blobEndpoint,
        new StorageSharedKeyCredential(ACCOUNT, s.key),
    );
    await blobRoundTrip(service, "shared-key");
});

test("blobs with a token (the identity's ManagedIdentityCredential and its role)", async () => {
    const cred = new ManagedIdentityCredential({ clientId: s.identity.clientId });
    await blobRoundTrip(new BlobServiceClient(s.blobEndpoint, cred), "token");
});

test("the HSM backup is a blob of the container (read with the identity's token)", async () => {
    assert.ok(s.backupId, "the backup step produced a backupId");
    const cred = new ManagedIdentityCredential({ clientId: s.identity.clientId });
    const blob = new BlobServiceClient(s.blobEndpoint, cred)
        .getContainerClient(CONTAINER)
        .getBlobClient(s.backupId);
    const props = await blob.getProperties();
    assert.ok(props.contentLength > 0);
});

test("a token without a data role is refused (403 AuthorizationPermissionMismatch)", async () => {
    const service = new BlobServiceClient(s.blobEndpoint, sp);
    await assert.rejects(
        service.getContainerClient(CONTAINER).getBlockBlobClient("denied.txt").upload("x", 1),
        (e) => e.statusCode === 403 && e.code === "AuthorizationPermissionMismatch",
    );
});
