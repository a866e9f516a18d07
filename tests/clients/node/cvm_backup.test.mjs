// cvm_backup.test.mjs - the official Azure SDK packages for JavaScript,
// unmodified, drive the confidential VM backup scenario against chsm-emulator
// loaded with the cvm-cmk fixture (tests/e2e/test_cvm_backup_js.sh starts it
// and sets ARM, SUB and NODE_EXTRA_CA_CERTS): @azure/keyvault-keys on the
// Managed HSM data plane (challenge auth, keys, backup, 403 for a principal
// without a role) and @azure/arm-recoveryservicesbackup for Azure Backup
// (refresh, protectable items, protection failing without the grant and
// succeeding with it, on-demand backup, jobs, recovery points, restore).
// Steps run in order and depend on each other.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

import { ClientSecretCredential } from "@azure/identity";
import { KeyClient } from "@azure/keyvault-keys";
import { RecoveryServicesBackupClient } from "@azure/arm-recoveryservicesbackup";

const ARM = must("ARM");
const TENANT = process.env.TENANT ?? "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SUB = must("SUB");
const RG = "cvm-rg";
const VAULT = "cvm-vault";
const HSM = "cvmhsm";
const KEY = "cvm-cmk";
const ADMIN = "00000000-0000-0000-0000-00000000c0de"; // the fixture's HSM administrator
const BMS = "6a4b2f8e-1c3d-4e5f-9a7b-262044b1e2ce"; // the Backup Management Service
const CRYPTO_USER = "21dbd100-6940-42c2-9190-5d6cb909625b";
const VM_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/cvm1`;
const VAULT_ID = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.RecoveryServices/vaults/${VAULT}`;
const MESSAGE =
    "Azure Backup Service does not have sufficient permissions to Key Vault for Backup of Encrypted Virtual Machines.";

function must(name) {
    const v = process.env[name];
    if (!v) throw new Error(`${name} must be set (tests/e2e/test_cvm_backup_js.sh sets it)`);
    return v;
}

function credential(clientId) {
    return new ClientSecretCredential(TENANT, clientId, "any-secret", {
        authorityHost: ARM,
        disableInstanceDiscovery: true,
    });
}
const admin = credential(ADMIN);
// The data plane by path ({armUrl}/mhsm/{name}); the challenge names
// managedhsm.azure.net, which is not this host, hence the verification switch.
const hsmUrl = `${ARM}/mhsm/${HSM}`;
const keyOptions = { disableChallengeResourceVerification: true };
const keys = new KeyClient(hsmUrl, admin, keyOptions);
const backup = new RecoveryServicesBackupClient(admin, SUB, { endpoint: ARM });

// The status URL of the last 202, captured from the raw response.
let lastAsync = "";
const capture = {
    onResponse: (raw) => {
        lastAsync = raw.headers.get("azure-asyncoperation") ?? "";
    },
};
function opIdOf(url) {
    return new URL(url).pathname.split("/").pop();
}
async function waitOperation(opId) {
    for (let i = 0; i < 200; i++) {
        const st = await backup.backupOperationStatuses.get(VAULT, RG, opId);
        if (st.status !== "InProgress") return st;
        await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("operation did not end");
}

// A Managed HSM local role assignment through the data plane's REST API (the
// keyvault-admin package is not in the registry the tests use).
async function assignRole(scope, role, principal) {
    const t = await admin.getToken("https://managedhsm.azure.net/.default");
    const name = randomUUID();
    const res = await fetch(
        `${hsmUrl}${scope === "/" ? "" : scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=7.4`,
        {
            method: "PUT",
            headers: { Authorization: `Bearer ${t.token}`, "Content-Type": "application/json" },
            body: JSON.stringify({
                properties: {
                    roleDefinitionId: `Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/${role}`,
                    principalId: principal,
                },
            }),
        },
    );
    assert.equal(res.status, 201, await res.text());
    return name;
}

const s = {};

test("KeyClient reads the CVM's customer-managed key through the 401 challenge", async () => {
    const k = await keys.getKey(KEY);
    assert.equal(k.name, KEY);
    assert.equal(k.keyType, "RSA-HSM");
    assert.ok(k.id.includes(`/keys/${KEY}/`));
    assert.equal(k.properties.exportable, true);
    assert.ok(k.properties.releasePolicy);
});

test("KeyClient creates, lists and backs up a key", async () => {
    const k = await keys.createRsaKey("js-key", { keySize: 2048, hsm: true });
    assert.equal(k.keyType, "RSA-HSM");
    const names = [];
    for await (const p of keys.listPropertiesOfKeys()) names.push(p.name);
    assert.ok(names.includes("js-key") && names.includes(KEY), names.join(","));
    const blob = await keys.backupKey("js-key");
    assert.ok(blob && blob.length > 100);
});

test("KeyClient as a principal without a role gets 403 AccessDenied", async () => {
    const other = new KeyClient(hsmUrl, credential(randomUUID()), keyOptions);
    await assert.rejects(other.getKey(KEY), (e) => {
        assert.equal(e.statusCode, 403);
        assert.equal(e.code, "AccessDenied");
        assert.match(e.message, /Not authorized to access Microsoft.KeyVault\/managedHsm\/keys\/read\/action on '\/keys\/cvm-cmk'/);
        return true;
    });
});

test("refresh containers and find the confidential VM among the protectable items", async () => {
    await backup.protectionContainers.refresh(VAULT, RG, "Azure");
    const items = [];
    for await (const it of backup.backupProtectableItems.list(VAULT, RG, {
        filter: "backupManagementType eq 'AzureIaasVM'",
    }))
        items.push(it);
    const vm = items.find((it) => it.properties.virtualMachineId?.toLowerCase() === VM_ID.toLowerCase());
    assert.ok(vm, JSON.stringify(items));
    const parts = vm.id.split("/");
    s.container = parts[parts.indexOf("protectionContainers") + 1];
    s.item = parts[parts.indexOf("protectableItems") + 1];
    assert.equal(s.item.toLowerCase(), "vm;iaasvmcontainerv2;cvm-rg;cvm1");
});

async function protect() {
    lastAsync = "";
    await backup.protectedItems.createOrUpdate(
        VAULT,
        RG,
        "Azure",
        s.container,
        s.item,
        {
            properties: {
                protectedItemType: "Microsoft.Compute/virtualMachines",
                sourceResourceId: VM_ID,
                policyId: `${VAULT_ID}/backupPolicies/EnhancedPolicy`,
            },
        },
        capture,
    );
    assert.ok(lastAsync.includes("/operationsStatus/"), lastAsync);
    return waitOperation(opIdOf(lastAsync));
}

test("enabling protection without the grant fails with UserErrorKeyVaultPermissionsNotConfigured", async () => {
    const st = await protect();
    assert.equal(st.status, "Failed");
    assert.equal(st.error.code, "UserErrorKeyVaultPermissionsNotConfigured");
    assert.equal(st.error.message, MESSAGE);
    await assert.rejects(backup.protectedItems.get(VAULT, RG, "Azure", s.container, s.item), (e) => e.statusCode === 404);
});

test("after Managed HSM Crypto User on the key, protection succeeds", async () => {
    await assignRole(`/keys/${KEY}`, CRYPTO_USER, BMS);
    const st = await protect();
    assert.equal(st.status, "Succeeded", JSON.stringify(st));
    const job = await backup.jobDetails.get(VAULT, RG, st.properties.jobId);
    assert.equal(job.properties.operation, "ConfigureBackup");
    assert.equal(job.properties.status, "Completed");
    const item = await backup.protectedItems.get(VAULT, RG, "Azure", s.container, s.item);
    assert.equal(item.properties.protectionState, "IRPending");
    assert.equal(item.properties.policyName, "EnhancedPolicy");
});

test("on-demand backup makes a Backup job and a recovery point with the key backup", async () => {
    lastAsync = "";
    await backup.backups.trigger(VAULT, RG, "Azure", s.container, s.item, {
        properties: { objectType: "IaasVMBackupRequest" },
    }, capture);
    const st = await waitOperation(opIdOf(lastAsync));
    assert.equal(st.status, "Succeeded");
    const job = await backup.jobDetails.get(VAULT, RG, st.properties.jobId);
    assert.equal(job.properties.operation, "Backup");
    assert.equal(job.properties.status, "Completed");
    const rps = [];
    for await (const rp of backup.recoveryPoints.list(VAULT, RG, "Azure", s.container, s.item)) rps.push(rp);
    assert.equal(rps.length, 1);
    s.rp = rps[0].name;
    const p = rps[0].properties;
    assert.equal(p.objectType, "IaasVMRecoveryPoint");
    assert.equal(p.securityType, "ConfidentialVM");
    assert.ok(p.keyAndSecret.kekDetails.keyBackupData.length > 100);
    assert.ok(p.keyAndSecret.kekDetails.keyUrl.includes(`/keys/${KEY}/`));
});

test("jobs list with a filter", async () => {
    const jobs = [];
    for await (const j of backup.backupJobs.list(VAULT, RG, { filter: "operation eq 'Backup' and status eq 'Completed'" }))
        jobs.push(j);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].properties.entityFriendlyName, "cvm1");
});

test("restore the recovery point's disks into another resource group", async () => {
    const sa = `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/jscvmrestore`;
    const t = await admin.getToken(`${ARM}/.default`);
    const put = async (path, body) => {
        const r = await fetch(`${ARM}${path}`, {
            method: "PUT",
            headers: { Authorization: `Bearer ${t.token}`, "Content-Type": "application/json" },
            body: JSON.stringify(body),
        });
        assert.ok(r.status < 300, await r.text());
    };
    await put(`${sa}?api-version=2023-05-01`, { location: "uaenorth", sku: { name: "Standard_LRS" }, kind: "StorageV2" });
    await put(`/subscriptions/${SUB}/resourcegroups/js-restore-rg?api-version=2021-04-01`, { location: "uaenorth" });
    lastAsync = "";
    await backup.restores.beginTriggerAndWait(
        VAULT,
        RG,
        "Azure",
        s.container,
        s.item,
        s.rp,
        {
            properties: {
                objectType: "IaasVMRestoreRequest",
                recoveryPointId: s.rp,
                recoveryType: "RestoreDisks",
                sourceResourceId: VM_ID,
                storageAccountId: sa,
                region: "uaenorth",
                targetResourceGroupId: `/subscriptions/${SUB}/resourceGroups/js-restore-rg`,
                originalStorageAccountOption: false,
                createNewCloudService: false,
                encryptionDetails: { encryptionEnabled: false },
            },
        },
        { updateIntervalInMs: 50, ...capture },
    );
    const jobs = [];
    for await (const j of backup.backupJobs.list(VAULT, RG, { filter: "operation eq 'Restore'" })) jobs.push(j);
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0].properties.status, "Completed");
    const bag = jobs[0].properties.extendedInfo.propertyBag;
    assert.equal(bag["Target resource group"], "js-restore-rg");
    const disk = await fetch(`${ARM}${bag["Restored Disks"]}?api-version=2023-09-01`, {
        headers: { Authorization: `Bearer ${t.token}` },
    });
    assert.equal(disk.status, 200);
    const d = await disk.json();
    assert.equal(d.properties.securityProfile.securityType, "ConfidentialVM_DiskEncryptedWithCustomerKey");
});
