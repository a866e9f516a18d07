"""test_sdk.py - the Azure SDK for Python as Debian ships it (python3-azure,
no pip) runs the Cloud HSM disaster-recovery scenario and the Blob operations
against chsm-emulator with configuration only.

tests/e2e/test_client_python.sh starts the emulator and sets ARM, BLOB, SUB,
TENANT, IDENTITY_ENDPOINT, IDENTITY_HEADER, REQUESTS_CA_BUNDLE and
SSL_CERT_FILE. The steps run in order (test_01 ... test_NN) and share state; a
failed step makes the steps that need its result fail with a clear message.
Ends with a "N passed, N failed" line.
"""
import base64
import inspect
import json
import os
import sys
import unittest
import uuid

from azure.core.configuration import Configuration
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline import policies
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.identity import ClientSecretCredential, ManagedIdentityCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy
from azure.mgmt.core.polling.arm_polling import ARMPolling
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.storage.blob import BlobServiceClient

ARM = os.environ.get("ARM", "")
BLOB = os.environ.get("BLOB", "")
SUB = os.environ.get("SUB", "00000000-0000-0000-0000-0000000000c2")
TENANT = os.environ.get("TENANT", "72f988bf-86f1-41af-91ab-2d7cd011db47")
RG = "py-dr-rg"
LOCATION = "westeurope"
SRC, DST = "py-src-hsm", "py-dst-hsm"
ACCOUNT = "pydr" + uuid.uuid4().hex[:12]
CONTAINER = "hsm-backups"
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
HSM_API = os.environ.get("HSM_API_VERSION", "2025-03-31")
ARM_SCOPE = ARM + "/.default"

# Shared state between the ordered steps.
S = {}


def claims(jwt):
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def sp_credential():
    # Instance discovery (a call to login.microsoftonline.com) must be off.
    # azure-identity 1.13.0b2 (Debian 12) names the switch instance_discovery=False;
    # 1.13.0 and later call it disable_instance_discovery=True. Unknown keywords
    # are silently ignored, so ask the signature which one this version has.
    from azure.identity._internal.msal_credentials import MsalCredential
    params = inspect.signature(MsalCredential.__init__).parameters
    switch = ({"disable_instance_discovery": True} if "disable_instance_discovery" in params
              else {"instance_discovery": False})
    return ClientSecretCredential(TENANT, "py-sdk-ci", "any-secret", authority=ARM, **switch)


def mgmt(cls):
    """An azure-mgmt-* client pointed at the emulator."""
    return cls(S["sp"], SUB, base_url=ARM, credential_scopes=[ARM_SCOPE], polling_interval=0.05)


def need(*keys):
    missing = [k for k in keys if k not in S]
    if missing:
        raise AssertionError("an earlier step did not produce: " + ", ".join(missing))


def hsm_client():
    """azure-mgmt-core's ARMPipelineClient, configured as generated clients do."""
    config = Configuration()
    config.headers_policy = policies.HeadersPolicy()
    config.user_agent_policy = policies.UserAgentPolicy(sdk_moniker="chsm-emulator-tests/1.0")
    config.proxy_policy = policies.ProxyPolicy()
    config.logging_policy = policies.NetworkTraceLoggingPolicy()
    config.http_logging_policy = ARMHttpLoggingPolicy()
    config.retry_policy = policies.RetryPolicy()
    config.custom_hook_policy = policies.CustomHookPolicy()
    config.redirect_policy = policies.RedirectPolicy()
    config.authentication_policy = ARMChallengeAuthenticationPolicy(S["sp"], ARM_SCOPE)
    return ARMPipelineClient(base_url=ARM, config=config)


def cluster_url(name, suffix=""):
    return (f"{ARM}/subscriptions/{SUB}/resourceGroups/{RG}/providers/"
            f"Microsoft.HardwareSecurityModules/cloudHsmClusters/{name}{suffix}"
            f"?api-version={HSM_API}")


def run(client, method, url, body=None):
    req = HttpRequest(method, url, json=body) if body is not None else HttpRequest(method, url)
    pipeline_response = client._pipeline.run(req, stream=False)  # what generated code calls
    status = pipeline_response.http_response.status_code
    if status >= 400:
        raise HttpResponseError(response=pipeline_response.http_response)
    return pipeline_response


def lro(client, method, url, body):
    """Starts an operation and follows it with ARMPolling, as generated SDKs do."""
    initial = run(client, method, url, body)

    def deserialize(pipeline_response):
        text = pipeline_response.http_response.text()
        return json.loads(text) if text else None

    return LROPoller(client, initial, deserialize, ARMPolling(0.05))


def get_json(client, url):
    return json.loads(run(client, "GET", url).http_response.text())


class DisasterRecovery(unittest.TestCase):
    def test_01_client_secret_credential(self):
        self.assertTrue(ARM and BLOB, "ARM and BLOB must be set (test_client_python.sh sets them)")
        S["sp"] = sp_credential()
        tok = S["sp"].get_token(ARM_SCOPE)
        c = claims(tok.token)
        self.assertEqual(c["tid"], TENANT)
        self.assertEqual(c["appid"], "py-sdk-ci")

    def test_02_managed_identity_credential(self):
        self.assertTrue(os.environ.get("IDENTITY_ENDPOINT", "").endswith("/msi/token"))
        tok = ManagedIdentityCredential().get_token(ARM_SCOPE)
        self.assertTrue(claims(tok.token).get("oid"))

    def test_02b_default_credential_from_environment(self):
        # EnvironmentCredential cannot be told to skip instance discovery; an
        # ADFS authority ({AZURE_AUTHORITY_HOST}/adfs) is never discovered.
        from azure.identity import DefaultAzureCredential
        env = {"AZURE_TENANT_ID": "adfs", "AZURE_CLIENT_ID": "py-env-ci",
               "AZURE_CLIENT_SECRET": "any-secret", "AZURE_AUTHORITY_HOST": ARM}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            cred = DefaultAzureCredential(exclude_managed_identity_credential=True)
            self.assertEqual(claims(cred.get_token(ARM_SCOPE).token)["appid"], "py-env-ci")
            rm = ResourceManagementClient(cred, SUB, base_url=ARM, credential_scopes=[ARM_SCOPE])
            list(rm.resource_groups.list())
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def test_03_resource_group(self):
        need("sp")
        rm = mgmt(ResourceManagementClient)
        rg = rm.resource_groups.create_or_update(RG, {"location": LOCATION})
        self.assertEqual(rg.name, RG)
        self.assertEqual(rm.resource_groups.get(RG).id, f"/subscriptions/{SUB}/resourceGroups/{RG}")

    def test_04_identity(self):
        need("sp")
        msi = mgmt(ManagedServiceIdentityClient)
        ident = msi.user_assigned_identities.create_or_update(RG, "py-dr-id", {"location": LOCATION})
        uuid.UUID(ident.principal_id)
        uuid.UUID(ident.client_id)
        S["identity"] = ident
        tok = ManagedIdentityCredential(client_id=ident.client_id).get_token(
            "https://storage.azure.com/.default")
        self.assertEqual(claims(tok.token)["oid"], ident.principal_id)

    def test_05_storage_account_and_container(self):
        need("sp")
        st = mgmt(StorageManagementClient)
        acct = st.storage_accounts.begin_create(RG, ACCOUNT, {
            "location": LOCATION,
            "kind": "StorageV2",
            "sku": {"name": "Standard_LRS"},
            "allow_shared_key_access": True,
        }).result()
        self.assertEqual(acct.name, ACCOUNT)
        endpoint = acct.primary_endpoints.blob
        self.assertTrue(endpoint and endpoint.startswith(BLOB),
                        f"primaryEndpoints.blob {endpoint} names the emulator's {BLOB}")
        keys = st.storage_accounts.list_keys(RG, ACCOUNT).keys
        self.assertEqual(len(keys), 2)
        container = st.blob_containers.create(RG, ACCOUNT, CONTAINER, {})
        self.assertEqual(container.name, CONTAINER)
        S["account"] = acct
        S["blob_endpoint"] = endpoint if endpoint.endswith("/") else endpoint + "/"
        S["key"] = keys[0].value

    def test_06_role_assignment(self):
        need("sp", "account", "identity")
        auth = mgmt(AuthorizationManagementClient)
        scope = S["account"].id
        ra = auth.role_assignments.create(scope, str(uuid.uuid4()), {
            "role_definition_id": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/"
                                  f"roleDefinitions/{BLOB_DATA_CONTRIBUTOR}",
            "principal_id": S["identity"].principal_id,
            "principal_type": "ServicePrincipal",
        })
        self.assertEqual(ra.principal_id, S["identity"].principal_id)
        listed = list(auth.role_assignments.list_for_scope(
            scope, filter=f"principalId eq '{S['identity'].principal_id}'"))
        self.assertTrue(any(r.role_definition_id.endswith(BLOB_DATA_CONTRIBUTOR) for r in listed))

    def test_07_clusters(self):
        need("sp", "identity")
        client = hsm_client()
        S["hsm"] = client
        for name in (SRC, DST):
            body = {
                "location": LOCATION,
                "sku": {"family": "B", "name": "Standard_B1"},
                "identity": {"type": "UserAssigned",
                             "userAssignedIdentities": {S["identity"].id: {}}},
                "properties": {},
            }
            cluster = lro(client, "PUT", cluster_url(name), body).result(timeout=60)
            self.assertEqual(cluster["properties"]["provisioningState"], "Succeeded")
            ids = {k.lower(): v for k, v in cluster["identity"]["userAssignedIdentities"].items()}
            self.assertEqual(ids[S["identity"].id.lower()]["principalId"],
                             S["identity"].principal_id)
        src = get_json(client, cluster_url(SRC))
        self.assertEqual(src["properties"]["activationState"], "NotActivated")
        fqdn = src["properties"]["hsms"][0]["fqdn"]
        self.assertRegex(fqdn, r"^hsm1\.[^.]+\.cloudhsm\.localhost$")
        S["label"] = fqdn.split(".")[1]

    def test_08_activate(self):
        need("hsm", "label")
        # The HSM data plane is not ARM: a plain pipeline without ARM auth.
        from azure.core import PipelineClient
        plain = PipelineClient(base_url=ARM)

        def post(path, body, session=None):
            headers = {"Authorization": "HSM-Session " + session} if session else {}
            req = HttpRequest("POST", f"{ARM}/hsm/{S['label']}{path}", json=body, headers=headers)
            resp = plain.send_request(req)
            self.assertEqual(resp.status_code, 200, f"POST {path}: {resp.text()}")
            return resp.json()

        login = post("/login", {"userType": "PRECO", "username": "admin",
                                "password": "tenantadmin"})
        info = post("/activate", {"newPassword": "Py-Dr-Passw0rd"}, login["session"])
        self.assertEqual(info["activationState"], "Active")
        src = get_json(S["hsm"], cluster_url(SRC))
        self.assertEqual(src["properties"]["activationState"], "Active")
        S["active"] = True

    def test_09_backup(self):
        need("hsm", "blob_endpoint", "active")
        S["container_uri"] = S["blob_endpoint"] + CONTAINER
        poller = lro(S["hsm"], "POST", cluster_url(SRC, "/backup"),
                     {"azureStorageBlobContainerUri": S["container_uri"]})
        self.assertEqual(poller.status(), "InProgress")  # 202: the job runs for 400 ms
        result = poller.result(timeout=60)
        self.assertEqual(result["properties"]["status"], "Succeeded", json.dumps(result))
        self.assertTrue(result["properties"]["backupId"].startswith("cloudhsm-"))
        S["backup_id"] = result["properties"]["backupId"]

    def test_10_restore(self):
        need("hsm", "backup_id")
        poller = lro(S["hsm"], "POST", cluster_url(DST, "/restore"),
                     {"azureStorageBlobContainerUri": S["container_uri"],
                      "backupId": S["backup_id"]})
        self.assertEqual(poller.status(), "InProgress")
        result = poller.result(timeout=60)
        self.assertEqual(result["properties"]["status"], "Succeeded", json.dumps(result))
        dst = get_json(S["hsm"], cluster_url(DST))
        self.assertEqual(dst["properties"]["activationState"], "Active")

    def blob_round_trip(self, service, tag):
        container = service.get_container_client(CONTAINER)
        name = f"{tag}/hello-{uuid.uuid4()}.txt"
        text = f"written by azure-storage-blob with {tag}".encode()
        container.upload_blob(name, text)
        self.assertIn(name, [b.name for b in container.list_blobs()])
        self.assertEqual(container.download_blob(name).readall(), text)
        container.delete_blob(name)
        self.assertFalse(container.get_blob_client(name).exists())

    def test_11_blob_connection_string(self):
        need("blob_endpoint", "key")
        cs = (f"DefaultEndpointsProtocol=https;AccountName={ACCOUNT};AccountKey={S['key']};"
              f"BlobEndpoint={S['blob_endpoint']}")
        self.blob_round_trip(BlobServiceClient.from_connection_string(cs), "connection-string")

    def test_12_blob_shared_key(self):
        need("blob_endpoint", "key")
        service = BlobServiceClient(S["blob_endpoint"],
                                    credential={"account_name": ACCOUNT, "account_key": S["key"]})
        self.blob_round_trip(service, "shared-key")

    def test_13_blob_token(self):
        need("blob_endpoint", "identity")
        cred = ManagedIdentityCredential(client_id=S["identity"].client_id)
        self.blob_round_trip(BlobServiceClient(S["blob_endpoint"], credential=cred), "token")

    def test_14_backup_blob_readable_with_token(self):
        need("blob_endpoint", "identity", "backup_id")
        cred = ManagedIdentityCredential(client_id=S["identity"].client_id)
        blob = BlobServiceClient(S["blob_endpoint"], credential=cred).get_blob_client(
            CONTAINER, S["backup_id"])
        self.assertGreater(blob.get_blob_properties().size, 0)

    def test_15_token_without_role_refused(self):
        need("blob_endpoint", "sp")
        service = BlobServiceClient(S["blob_endpoint"], credential=S["sp"])
        with self.assertRaises(HttpResponseError) as ctx:
            service.get_container_client(CONTAINER).upload_blob("denied.txt", b"x")
        self.assertEqual(ctx.exception.status_code, 403)
        self.assertEqual(ctx.exception.error_code, "AuthorizationPermissionMismatch")

    def test_16_strict_auth_refuses_other_audiences(self):
        # Run by test_client_python.sh under --strict-auth: a token the
        # emulator signed, but for another audience, is refused by ARM.
        if os.environ.get("CHSM_STRICT_AUTH") != "1":
            self.skipTest("the emulator runs without --strict-auth")
        need("sp")
        rm = ResourceManagementClient(S["sp"], SUB, base_url=ARM,
                                      credential_scopes=["https://graph.microsoft.com/.default"])
        with self.assertRaises(HttpResponseError) as ctx:
            rm.resource_groups.get(RG)
        self.assertEqual(ctx.exception.status_code, 401)


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(DisasterRecovery)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    if skipped:
        print(f"test_sdk: {skipped} skipped")
    print(f"test_sdk: {result.testsRun - failed - skipped} passed, {failed} failed")
    sys.exit(0 if failed == 0 and result.testsRun > 0 else 1)
