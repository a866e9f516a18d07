"""test_mhsm_sdk.py - the Azure SDK for Python (Debian's python3-azure) drives
the Managed HSM data plane and Azure Backup against the emulator started with
the cvm-cmk fixture: azure-keyvault-keys (keys, backup/restore), azure-keyvault-
administration (local RBAC: role definitions and assignments) and
azure-mgmt-recoveryservicesbackup (enable protection, its operation status).
Prints "test_mhsm_sdk: N passed, N failed"."""
import os
import socket
import sys
import time
import uuid

ARM = os.environ["ARM"]
SUB = os.environ["SUB"]
TENANT = os.environ["TENANT"]
PORT = ARM.rsplit(":", 1)[1]
ADMIN = "00000000-0000-0000-0000-00000000c0de"  # the fixture's HSM administrator
BMS = "6a4b2f8e-1c3d-4e5f-9a7b-262044b1e2ce"  # the Backup Management Service's object id
RG = "cvm-rg"

# {name}.managedhsm.localhost resolves to loopback (glibc does not do that by itself).
_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _getaddrinfo

from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.keyvault.administration import (  # noqa: E402
    KeyVaultAccessControlClient, KeyVaultRoleScope)

PASSED = 0
FAILED = 0


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
    else:
        FAILED += 1
        print(f"FAIL: {name} {detail}")


def credential(client_id):
    import inspect
    from azure.identity._internal.msal_credentials import MsalCredential
    params = inspect.signature(MsalCredential.__init__).parameters
    switch = ({"disable_instance_discovery": True} if "disable_instance_discovery" in params
              else {"instance_discovery": False})
    return ClientSecretCredential(TENANT, client_id, "any-secret", authority=ARM, **switch)


HSM_URL = f"https://cvmhsm.managedhsm.localhost:{PORT}"
cred = credential(ADMIN)

try:
    keys = KeyClient(HSM_URL, cred, verify_challenge_resource=False)
    k = keys.get_key("cvm-cmk")
    check("get the fixture's CMK", k.name == "cvm-cmk" and k.key_type == "RSA-HSM", k.key_type)
    check("exportable", k.properties.exportable is True)
    new = keys.create_rsa_key("py-key", size=2048, hardware_protected=True)
    check("create RSA key", new.id.startswith(f"{HSM_URL}/keys/py-key/"), new.id)
    names = sorted(p.name for p in keys.list_properties_of_keys())
    check("list keys", names == ["cvm-cmk", "py-key"], str(names))
    blob = keys.backup_key("py-key")
    check("backup returns bytes", isinstance(blob, bytes) and len(blob) > 100)
    keys.begin_delete_key("py-key").wait()
    keys.purge_deleted_key("py-key")
    restored = keys.restore_key_backup(blob)
    check("restore round trip", restored.id == new.id, restored.id)
    check("same public key", restored.key.n == new.key.n)

    acl = KeyVaultAccessControlClient(HSM_URL, cred, verify_challenge_resource=False)
    defs = {d.role_name: d for d in acl.list_role_definitions(KeyVaultRoleScope.GLOBAL)}
    check("built-in Crypto User", "Managed HSM Crypto User" in defs, str(list(defs)))
    user = defs["Managed HSM Crypto User"]
    check("Crypto User id", user.name == "21dbd100-6940-42c2-9190-5d6cb909625b", user.name)

    # Enable protection with the mgmt SDK: fails without a grant, works with one.
    from azure.mgmt.recoveryservicesbackup.activestamp import RecoveryServicesBackupClient
    from azure.mgmt.recoveryservicesbackup.activestamp.models import (
        AzureIaaSComputeVMProtectedItem, ProtectedItemResource)
    arm_cred = credential("py-sdk-ci")
    rsb = RecoveryServicesBackupClient(arm_cred, SUB, base_url=ARM,
                                       credential_scopes=[ARM + "/.default"])
    vault = "cvm-vault"
    vm_id = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachines/cvm1"
    policy_id = (f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.RecoveryServices"
                 f"/vaults/{vault}/backupPolicies/EnhancedPolicy")
    container = "IaasVMContainer;iaasvmcontainerv2;cvm-rg;cvm1"
    item = "VM;iaasvmcontainerv2;cvm-rg;cvm1"

    def protect():
        headers = {}
        rsb.protected_items.create_or_update(
            vault, RG, "Azure", container, item,
            ProtectedItemResource(properties=AzureIaaSComputeVMProtectedItem(
                source_resource_id=vm_id, policy_id=policy_id)),
            cls=lambda resp, body, hdrs: headers.update(resp.http_response.headers))
        op = headers["Azure-AsyncOperation"].split("?")[0].rsplit("/", 1)[1]
        for _ in range(100):
            st = rsb.backup_operation_statuses.get(vault, RG, op)
            if st.status != "InProgress":
                return st
            time.sleep(0.05)
        return st

    st = protect()
    check("no grant: Failed", st.status == "Failed", st.status)
    check("no grant: code", st.error and st.error.code == "UserErrorKeyVaultPermissionsNotConfigured",
          str(st.error))
    ra = acl.create_role_assignment(KeyVaultRoleScope.KEYS, user.id, BMS,
                                    name=str(uuid.uuid4()))
    check("assignment at /keys", ra.properties.scope == "/keys", ra.properties.scope)
    st = protect()
    check("with Crypto User on all keys: Succeeded", st.status == "Succeeded", st.status)
    job = rsb.job_details.get(vault, RG, st.properties.job_id)
    check("ConfigureBackup job", job.properties.operation == "ConfigureBackup",
          job.properties.operation)
    acl.delete_role_assignment(KeyVaultRoleScope.KEYS, ra.name)
    remaining = [a.properties.principal_id for a in acl.list_role_assignments(KeyVaultRoleScope.KEYS)]
    check("assignment deleted", BMS not in remaining, str(remaining))
except Exception as e:  # noqa: BLE001 - report any SDK failure as a test failure
    import traceback
    traceback.print_exc()
    check("no exception", False, repr(e))

print(f"test_mhsm_sdk: {PASSED} passed, {FAILED} failed")
sys.exit(1 if FAILED else 0)
