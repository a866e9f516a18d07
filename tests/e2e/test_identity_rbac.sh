#!/usr/bin/env bash
# test_identity_rbac.sh - the supporting providers of the Cloud HSM DR
# tutorial over HTTPS with curl: user-assigned identities (and the IMDS token
# of one), role assignments at resource group and resource scope with their
# lists and errors, role definitions by name, custom roles, and the
# Microsoft.Network virtual networks, subnets and private endpoints.
. "$(dirname "$0")/lib.sh"

start_emulator
RV=api-version=2021-04-01
MV=api-version=2023-01-31
AV=api-version=2022-04-01
NV=api-version=2024-05-01
RGS=/subscriptions/$SUB/resourceGroups
RG=$RGS/rg-dr
AUTHZ=providers/Microsoft.Authorization
BLOB_CONTRIB=ba92f5b4-2d11-453d-a403-e96b0029c9fe
BLOB_READER=2a2b9908-6ea1-4ae2-8e65-a410df84e7d1
RA1=11111111-0000-4000-8000-000000000001
RA2=11111111-0000-4000-8000-000000000002
RA3=11111111-0000-4000-8000-000000000003
OTHER=99999999-0000-4000-8000-000000000009

arm PUT "$RG?$RV" '{"location":"westeurope"}'
check "create rg" eq "$STATUS" 201
arm PUT "$RGS/rg-dr0?$RV" '{"location":"westeurope"}'
check "create rg-dr0" eq "$STATUS" 201

# --- user-assigned identities ---
MSI=$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/hsm-msi
arm PUT "$MSI?$MV" '{"Location":"West Europe","tags":{"app":"dr"}}'
check "create identity is 201" eq "$STATUS" 201
check "identity id uses resourcegroups" eq "$(jq_ "$BODY_OUT" id)" \
    "/subscriptions/$SUB/resourcegroups/rg-dr/providers/Microsoft.ManagedIdentity/userAssignedIdentities/hsm-msi"
check "identity type" eq "$(jq_ "$BODY_OUT" type)" Microsoft.ManagedIdentity/userAssignedIdentities
check "location normalized" eq "$(jq_ "$BODY_OUT" location)" westeurope
PRINCIPAL=$(jq_ "$BODY_OUT" properties.principalId)
CLIENT=$(jq_ "$BODY_OUT" properties.clientId)
check "principalId is a uuid" python3 -c "import uuid,sys; uuid.UUID(sys.argv[1])" "$PRINCIPAL"
check "clientId is a uuid" python3 -c "import uuid,sys; uuid.UUID(sys.argv[1])" "$CLIENT"
check "tenantId set" test -n "$(jq_ "$BODY_OUT" properties.tenantId)"
arm PUT "$MSI?api-version=2024-11-30" '{"location":"westeurope","tags":{"app":"dr2"}}'
check "update identity is 200 (any api-version)" eq "$STATUS" 200
check "principalId never changes" eq "$(jq_ "$BODY_OUT" properties.principalId)" "$PRINCIPAL"
check "clientId never changes" eq "$(jq_ "$BODY_OUT" properties.clientId)" "$CLIENT"
arm PUT "$MSI?$MV" '{"location":"eastus"}'
check "moving an identity is 409" eq "$STATUS" 409
arm PATCH "$RGS/RG-DR/providers/Microsoft.ManagedIdentity/userAssignedIdentities/HSM-MSI?$MV" '{"tags":{"p":"q"}}'
check "patch identity (any case)" eq "$STATUS" 200
check "patch replaced tags" eq "$(jq_ "$BODY_OUT" tags.p)" q
arm GET "$MSI?$MV"
check "get identity" eq "$(jq_ "$BODY_OUT" properties.clientId)" "$CLIENT"
arm GET "$MSI?api-version="
check "api-version still required" eq "$STATUS" 400
arm PUT "$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x?$MV" '{"location":"westeurope"}'
check "short identity name is 400" eq "$STATUS" 400
check "short name code" eq "$(jq_ "$BODY_OUT" error.code)" InvalidResourceName
arm PUT "$RGS/nope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/idx?$MV" '{"location":"westeurope"}'
check "identity in missing rg is 404" eq "$(jq_ "$BODY_OUT" error.code)" ResourceGroupNotFound
arm PUT "$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/no-loc?$MV" '{}'
check "identity without location is 400" eq "$(jq_ "$BODY_OUT" error.code)" LocationRequired
arm PUT "$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/second-msi?$MV" '{"location":"westeurope"}'
check "second identity" eq "$STATUS" 201
arm GET "$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities?$MV"
check "list by rg" eq "$(jq_ "$BODY_OUT" value.1.name)" second-msi
arm GET "/subscriptions/$SUB/providers/Microsoft.ManagedIdentity/userAssignedIdentities?$MV"
check "list by subscription" eq "$(jq_ "$BODY_OUT" value.0.name)" hsm-msi
arm GET "$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gone?$MV"
check "missing identity is 404" eq "$(jq_ "$BODY_OUT" error.code)" ResourceNotFound
arm DELETE "$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/second-msi?$MV"
check "delete identity is 200" eq "$STATUS" 200
arm DELETE "$RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/second-msi?$MV"
check "delete again is 204" eq "$STATUS" 204

# The IMDS token of the identity names its principal.
TOKEN_JSON=$(curl -sS $(ca_opt) -H "Metadata: true" \
    "$ARM/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/&client_id=$CLIENT")
ACCESS=$(jq_ "$TOKEN_JSON" access_token)
CLAIMS=$(printf '%s' "$ACCESS" | cut -d. -f2 | python3 -c '
import base64, sys
s = sys.stdin.read().strip(); s += "=" * (-len(s) % 4)
print(base64.urlsafe_b64decode(s).decode())')
check "IMDS token oid is the principalId" eq "$(jq_ "$CLAIMS" oid)" "$PRINCIPAL"
check "IMDS token appid is the clientId" eq "$(jq_ "$CLAIMS" appid)" "$CLIENT"

# --- role definitions ---
arm GET "/subscriptions/$SUB/$AUTHZ/roleDefinitions?$AV&%24filter=roleName%20eq%20%27Storage%20Blob%20Data%20Contributor%27"
check "role by name: one" eq "$(jq_ "$BODY_OUT" value.1)" ""
check "role by name: the id" eq "$(jq_ "$BODY_OUT" value.0.id)" \
    "/subscriptions/$SUB/$AUTHZ/roleDefinitions/$BLOB_CONTRIB"
check "role by name: data actions" contains "$(jq_ "$BODY_OUT" value.0.properties.permissions.0.dataActions)" \
    "containers/blobs/write"
arm GET "$RG/$AUTHZ/roleDefinitions?$AV&%24filter=roleName+eq+%27managed+hsm+crypto+user%27"
check "role by name at rg scope, any case" eq "$(jq_ "$BODY_OUT" value.0.name)" 21dbd100-6940-42c2-9190-5d6cb909625b
arm GET "/subscriptions/$SUB/$AUTHZ/roleDefinitions?$AV&%24filter=roleName%20eq%20%27No%20Such%20Role%27"
check "unknown role name: empty list" eq "$(jq_ "$BODY_OUT" value)" "[]"
arm GET "/subscriptions/$SUB/$AUTHZ/roleDefinitions/$BLOB_READER?$AV"
check "get built-in role" eq "$(jq_ "$BODY_OUT" properties.roleName)" "Storage Blob Data Reader"
check "built-in type" eq "$(jq_ "$BODY_OUT" properties.type)" BuiltInRole
arm GET "/$AUTHZ/roleDefinitions/$BLOB_READER?$AV"
check "tenant-level role id" eq "$(jq_ "$BODY_OUT" id)" "/$AUTHZ/roleDefinitions/$BLOB_READER"
arm GET "/subscriptions/$SUB/$AUTHZ/roleDefinitions/00000000-0000-4000-8000-00000000dead?$AV"
check "missing role is 404" eq "$STATUS" 404
check "missing role code" eq "$(jq_ "$BODY_OUT" error.code)" RoleDefinitionDoesNotExist
arm GET "/subscriptions/$SUB/$AUTHZ/roleDefinitions?api-version=1999-01-01"
check "unknown authorization api-version" eq "$(jq_ "$BODY_OUT" error.code)" InvalidApiVersionParameter

# --- role assignments ---
ROLE_ID=/subscriptions/$SUB/$AUTHZ/roleDefinitions/$BLOB_CONTRIB
arm PUT "$RG/$AUTHZ/roleAssignments/$RA1?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$PRINCIPAL\"}}"
check "assign at rg is 201" eq "$STATUS" 201
check "assignment id" eq "$(jq_ "$BODY_OUT" id)" "$RG/$AUTHZ/roleAssignments/$RA1"
check "assignment scope" eq "$(jq_ "$BODY_OUT" properties.scope)" "$RG"
check "identity resolved as service principal" eq "$(jq_ "$BODY_OUT" properties.principalType)" ServicePrincipal
arm PUT "$RG/$AUTHZ/roleAssignments/$RA1?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$PRINCIPAL\",\"description\":\"dr\"}}"
check "same assignment again is 200" eq "$STATUS" 200
arm PUT "$RG/$AUTHZ/roleAssignments/$RA1?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$OTHER\"}}"
check "changing the principal is 409" eq "$(jq_ "$BODY_OUT" error.code)" RoleAssignmentUpdateNotPermitted
arm PUT "$RGS/RG-DR/$AUTHZ/roleAssignments/$RA2?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$PRINCIPAL\"}}"
check "same principal+role+scope under another name is 409" eq "$STATUS" 409
check "RoleAssignmentExists" eq "$(jq_ "$BODY_OUT" error.code)" RoleAssignmentExists
arm PUT "$RG/$AUTHZ/roleAssignments/not-a-guid?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$PRINCIPAL\"}}"
check "name not a GUID" eq "$(jq_ "$BODY_OUT" error.code)" InvalidRoleAssignmentId
arm PUT "$RG/$AUTHZ/roleAssignments/$RA2?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$SUB/$AUTHZ/roleDefinitions/00000000-0000-4000-8000-00000000dead\",\"principalId\":\"$PRINCIPAL\"}}"
check "unknown role is 404" eq "$STATUS" 404
check "unknown role code" eq "$(jq_ "$BODY_OUT" error.code)" RoleDefinitionDoesNotExist
arm PUT "$RG/$AUTHZ/roleAssignments/$RA2?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$PRINCIPAL\",\"principalType\":\"User\"}}"
check "an identity is not a User" eq "$(jq_ "$BODY_OUT" error.code)" UnmatchedPrincipalType
arm PUT "$RG/$AUTHZ/roleAssignments/$RA2?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$OTHER\",\"scope\":\"/subscriptions/$SUB\"}}"
check "body scope must match the URI" eq "$(jq_ "$BODY_OUT" error.code)" InvalidCreateRoleAssignmentRequest
arm PUT "$RGS/nope/$AUTHZ/roleAssignments/$RA2?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$OTHER\"}}"
check "scope in a missing rg" eq "$(jq_ "$BODY_OUT" error.code)" ResourceGroupNotFound
arm PUT "$RG/providers/Microsoft.Storage/storageAccounts/nosuchacct/$AUTHZ/roleAssignments/$RA2?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$OTHER\"}}"
check "scope of a missing resource is 404" eq "$STATUS" 404
check "missing resource code" eq "$(jq_ "$BODY_OUT" error.code)" ResourceNotFound
arm PUT "/subscriptions/$SUB/resourceGroups/$AUTHZ/roleAssignments/$RA2?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$OTHER\"}}"
check "malformed scope is 400" eq "$(jq_ "$BODY_OUT" error.code)" InvalidScope
arm PUT "$RG/$AUTHZ/roleAssignments/$RA2?$AV" '{"properties":{"principalId":"x"}}'
check "roleDefinitionId required" eq "$STATUS" 400

# A resource scope: the identity itself is a resource that exists.
arm PUT "$MSI/$AUTHZ/roleAssignments/$RA2?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"/providers/Microsoft.Authorization/roleDefinitions/$BLOB_READER\",\"principalId\":\"$OTHER\",\"principalType\":\"ServicePrincipal\"}}"
check "assign at a resource scope" eq "$STATUS" 201
check "resource scope echoed" eq "$(jq_ "$BODY_OUT" properties.scope)" "$MSI"
# Subscription scope, another principal.
arm PUT "/subscriptions/$SUB/$AUTHZ/roleAssignments/$RA3?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"$ROLE_ID\",\"principalId\":\"$OTHER\"}}"
check "assign at subscription" eq "$STATUS" 201
check "principalType defaults to User" eq "$(jq_ "$BODY_OUT" properties.principalType)" User

# Lists.
count() { printf '%s' "$BODY_OUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["value"]))'; }
arm GET "$RG/$AUTHZ/roleAssignments?$AV"
check "rg list: at, above and below" eq "$(count)" 3
arm GET "$RG/$AUTHZ/roleAssignments?$AV&%24filter=atScope()"
check "rg list atScope(): at and above" eq "$(count)" 2
arm GET "/subscriptions/$SUB/$AUTHZ/roleAssignments?$AV&%24filter=principalId%20eq%20%27$PRINCIPAL%27"
check "subscription list by principal" eq "$(count)" 1
check "subscription list by principal: the rg one" eq "$(jq_ "$BODY_OUT" value.0.name)" "$RA1"
arm GET "/subscriptions/$SUB/$AUTHZ/roleAssignments?$AV&%24filter=assignedTo(%27$OTHER%27)"
check "assignedTo()" eq "$(count)" 2
arm GET "/subscriptions/$SUB/$AUTHZ/roleAssignments?$AV&%24filter=atScope()+and+assignedTo(%27$OTHER%27)"
check "atScope() and assignedTo()" eq "$(count)" 1
arm GET "$RGS/rg-dr0/$AUTHZ/roleAssignments?$AV"
check "rg-dr0 does not see rg-dr's assignments" eq "$(count)" 1
arm GET "/subscriptions/$SUB/$AUTHZ/roleAssignments?$AV&%24filter=roleName%20eq%20%27x%27"
check "unsupported filter is 400" eq "$STATUS" 400
arm GET "$RG/$AUTHZ/roleAssignments/$RA1?$AV"
check "get assignment" eq "$(jq_ "$BODY_OUT" properties.description)" dr
arm GET "$RG/$AUTHZ/roleAssignments/$RA3?$AV"
check "get assignment at the wrong scope is 404" eq "$(jq_ "$BODY_OUT" error.code)" RoleAssignmentNotFound

# --- custom roles ---
CUSTOM=22222222-0000-4000-8000-000000000001
CUSTOM_BODY="{\"properties\":{\"roleName\":\"DR blob writer\",\"type\":\"CustomRole\",\"assignableScopes\":[\"/subscriptions/$SUB\"],\"permissions\":[{\"dataActions\":[\"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*\"],\"notDataActions\":[\"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete\"]}]}}"
arm PUT "/subscriptions/$SUB/$AUTHZ/roleDefinitions/$CUSTOM?$AV" "$CUSTOM_BODY"
check "create custom role is 201" eq "$STATUS" 201
check "custom type" eq "$(jq_ "$BODY_OUT" properties.type)" CustomRole
arm PUT "/subscriptions/$SUB/$AUTHZ/roleDefinitions/22222222-0000-4000-8000-000000000002?$AV" "$CUSTOM_BODY"
check "duplicate role name is 409" eq "$(jq_ "$BODY_OUT" error.code)" RoleDefinitionWithSameNameExists
arm PUT "/subscriptions/$SUB/$AUTHZ/roleDefinitions/$BLOB_READER?$AV" "$CUSTOM_BODY"
check "a built-in role cannot be replaced" eq "$STATUS" 400
arm GET "$RG/$AUTHZ/roleDefinitions?$AV&%24filter=roleName%20eq%20%27DR%20blob%20writer%27"
check "custom role found by name under its scope" eq "$(jq_ "$BODY_OUT" value.0.name)" "$CUSTOM"
arm GET "$RGS/rg-dr0/$AUTHZ/roleAssignments/$RA1?$AV"
arm PUT "$RGS/rg-dr0/$AUTHZ/roleAssignments/$RA1?$AV" \
    "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/$SUB/$AUTHZ/roleDefinitions/$CUSTOM\",\"principalId\":\"$PRINCIPAL\"}}"
check "assign the custom role" eq "$STATUS" 201
arm DELETE "/subscriptions/$SUB/$AUTHZ/roleDefinitions/$CUSTOM?$AV"
check "an assigned custom role cannot be deleted" eq "$(jq_ "$BODY_OUT" error.code)" RoleDefinitionHasAssignments

# --- deletes ---
arm DELETE "$RGS/rg-dr0/$AUTHZ/roleAssignments/$RA1?$AV"
check "delete assignment is 200" eq "$STATUS" 200
check "delete returns the assignment" eq "$(jq_ "$BODY_OUT" name)" "$RA1"
arm DELETE "$RGS/rg-dr0/$AUTHZ/roleAssignments/$RA1?$AV"
check "delete again is 204" eq "$STATUS" 204
arm DELETE "/subscriptions/$SUB/$AUTHZ/roleDefinitions/$CUSTOM?$AV"
check "delete custom role" eq "$STATUS" 200
arm GET "/subscriptions/$SUB/$AUTHZ/roleDefinitions/$CUSTOM?$AV"
check "custom role gone" eq "$STATUS" 404
# Deleting the group removes the assignments scoped in it.
arm DELETE "$RG?$RV"
check "delete rg" eq "$STATUS" 202
arm GET "$(header Location)"
arm GET "/subscriptions/$SUB/$AUTHZ/roleAssignments?$AV"
check "only the subscription assignment is left" eq "$(count)" 1

# --- Microsoft.Network ---
NRG=$RGS/rg-net
arm PUT "$NRG?$RV" '{"location":"westeurope"}'
VNET=$NRG/providers/Microsoft.Network/virtualNetworks/vnet-dr
arm PUT "$VNET?$NV" '{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.1.0.0/16"]},"subnets":[{"name":"default","properties":{"addressPrefix":"10.1.0.0/24"}}]}}'
check "create vnet is 201" eq "$STATUS" 201
check "vnet provisioned" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Succeeded
check "vnet etag" contains "$(jq_ "$BODY_OUT" etag)" 'W/"'
check "vnet address space kept" eq "$(jq_ "$BODY_OUT" properties.addressSpace.addressPrefixes.0)" 10.1.0.0/16
check "inline subnet id" eq "$(jq_ "$BODY_OUT" properties.subnets.0.id)" "$VNET/subnets/default"
check "inline subnet provisioned" eq "$(jq_ "$BODY_OUT" properties.subnets.0.properties.provisioningState)" Succeeded
GUID1=$(jq_ "$BODY_OUT" properties.resourceGuid)
arm PUT "$VNET/subnets/pe-subnet?$NV" '{"properties":{"addressPrefix":"10.1.2.0/24"}}'
check "create child subnet is 201" eq "$STATUS" 201
check "child subnet type" eq "$(jq_ "$BODY_OUT" type)" Microsoft.Network/virtualNetworks/subnets
arm GET "$VNET/subnets?$NV"
check "list subnets" eq "$(jq_ "$BODY_OUT" value.1.name)" pe-subnet
arm GET "$VNET?$NV"
check "vnet shows the child subnet" eq "$(jq_ "$BODY_OUT" properties.subnets.1.name)" pe-subnet
check "resourceGuid stays" eq "$(jq_ "$BODY_OUT" properties.resourceGuid)" "$GUID1"
arm GET "$VNET/subnets/nope?$NV"
check "missing subnet is 404" eq "$STATUS" 404
arm PUT "$NRG/providers/Microsoft.Network/virtualNetworks/-bad?$NV" '{"location":"westeurope"}'
check "bad vnet name" eq "$(jq_ "$BODY_OUT" error.code)" InvalidResourceName
arm PUT "$RGS/nope/providers/Microsoft.Network/virtualNetworks/v1?$NV" '{"location":"westeurope"}'
check "vnet in missing rg" eq "$(jq_ "$BODY_OUT" error.code)" ResourceGroupNotFound

PE=$NRG/providers/Microsoft.Network/privateEndpoints/pe-blob
ACCT_ID=/subscriptions/$SUB/resourceGroups/rg-net/providers/Microsoft.Storage/storageAccounts/drbackups
arm PUT "$PE?$NV" "{\"location\":\"westeurope\",\"properties\":{\"subnet\":{\"id\":\"$VNET/subnets/pe-subnet\"},\"privateLinkServiceConnections\":[{\"name\":\"blob\",\"properties\":{\"privateLinkServiceId\":\"$ACCT_ID\",\"groupIds\":[\"blob\"]}}]}}"
check "create private endpoint is 201" eq "$STATUS" 201
check "pe provisioned" eq "$(jq_ "$BODY_OUT" properties.provisioningState)" Succeeded
check "pe fqdn" eq "$(jq_ "$BODY_OUT" properties.customDnsConfigs.0.fqdn)" drbackups.blob.core.windows.net
check "pe ip from the subnet" eq "$(jq_ "$BODY_OUT" properties.customDnsConfigs.0.ipAddresses.0)" 10.1.2.4
check "pe nic" contains "$(jq_ "$BODY_OUT" properties.networkInterfaces.0.id)" "/providers/Microsoft.Network/networkInterfaces/pe-blob.nic."
check "pe connection approved" eq "$(jq_ "$BODY_OUT" properties.privateLinkServiceConnections.0.properties.privateLinkServiceConnectionState.status)" Approved
NIC=$(jq_ "$BODY_OUT" properties.networkInterfaces.0.id)
arm PUT "$PE?$NV" "{\"location\":\"westeurope\",\"tags\":{\"t\":\"1\"},\"properties\":{\"subnet\":{\"id\":\"$VNET/subnets/pe-subnet\"},\"privateLinkServiceConnections\":[{\"name\":\"blob\",\"properties\":{\"privateLinkServiceId\":\"$ACCT_ID\",\"groupIds\":[\"blob\"]}}]}}"
check "update pe is 200" eq "$STATUS" 200
check "nic kept on update" eq "$(jq_ "$BODY_OUT" properties.networkInterfaces.0.id)" "$NIC"
arm PUT "$NRG/providers/Microsoft.Network/privateEndpoints/pe-two?$NV" "{\"location\":\"westeurope\",\"properties\":{\"subnet\":{\"id\":\"$VNET/subnets/pe-subnet\"},\"manualPrivateLinkServiceConnections\":[{\"name\":\"m\",\"properties\":{\"privateLinkServiceId\":\"$ACCT_ID\",\"groupIds\":[\"blob\"]}}]}}"
check "second pe gets the next ip" eq "$(jq_ "$BODY_OUT" properties.customDnsConfigs.0.ipAddresses.0)" 10.1.2.5
check "manual connection pending" eq "$(jq_ "$BODY_OUT" properties.manualPrivateLinkServiceConnections.0.properties.privateLinkServiceConnectionState.status)" Pending
arm PUT "$NRG/providers/Microsoft.Network/privateEndpoints/pe-bad?$NV" "{\"location\":\"westeurope\",\"properties\":{\"subnet\":{\"id\":\"$VNET/subnets/nope\"},\"privateLinkServiceConnections\":[{\"name\":\"b\",\"properties\":{\"privateLinkServiceId\":\"$ACCT_ID\",\"groupIds\":[\"blob\"]}}]}}"
check "pe on a missing subnet" eq "$(jq_ "$BODY_OUT" error.code)" InvalidResourceReference
arm GET "$VNET/subnets/pe-subnet?$NV"
check "subnet lists its private endpoints" eq "$(jq_ "$BODY_OUT" properties.privateEndpoints.0.id)" "$PE"
arm DELETE "$VNET/subnets/pe-subnet?$NV"
check "subnet in use cannot go" eq "$(jq_ "$BODY_OUT" error.code)" InUseSubnetCannotBeDeleted
arm PUT "$VNET?$NV" '{"location":"westeurope","properties":{"addressSpace":{"addressPrefixes":["10.1.0.0/16"]},"subnets":[{"name":"default","properties":{"addressPrefix":"10.1.0.0/24"}}]}}'
check "a PUT dropping a used subnet is refused" eq "$(jq_ "$BODY_OUT" error.code)" InUseSubnetCannotBeDeleted
arm GET "$NRG/providers/Microsoft.Network/privateEndpoints?$NV"
check "list pes by rg" eq "$(count)" 2
arm GET "/subscriptions/$SUB/providers/Microsoft.Network/virtualNetworks?$NV"
check "list vnets by subscription" eq "$(count)" 1
arm DELETE "$PE?$NV"
check "delete pe" eq "$STATUS" 200
arm DELETE "$NRG/providers/Microsoft.Network/privateEndpoints/pe-two?$NV"
arm DELETE "$PE?$NV"
check "delete pe again is 204" eq "$STATUS" 204
arm GET "$VNET/subnets/pe-subnet?$NV"
check "subnet unlinked" eq "$(jq_ "$BODY_OUT" properties.privateEndpoints)" ""
arm DELETE "$VNET/subnets/pe-subnet?$NV"
check "delete subnet" eq "$STATUS" 200
arm DELETE "$VNET?$NV"
check "delete vnet" eq "$STATUS" 200
arm GET "$VNET?$NV"
check "vnet gone" eq "$(jq_ "$BODY_OUT" error.code)" ResourceNotFound

finish
