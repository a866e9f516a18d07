#!/usr/bin/env bash
# test_list_paging.sh - the tracked-resource lists the providers share
# (providers/answers.h chsm_provider_list_page): pages of 100 with a nextLink
# that continues where the page stopped, by resource group and subscription,
# rendered per provider, and the errors for a bad subscription or group.
. "$(dirname "$0")/lib.sh"

start_emulator
RGP=/subscriptions/$SUB/resourceGroups/paging
MSI=providers/Microsoft.ManagedIdentity/userAssignedIdentities
arm PUT "$RGP?api-version=2021-04-01" '{"location":"westeurope"}'
for i in $(seq -w 1 102); do
    arm PUT "$RGP/$MSI/id-$i?api-version=2023-01-31" '{"location":"westeurope"}'
done
check "identities created" eq "$STATUS" 201
count_() { printf '%s' "$1" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["value"]))'; }
arm GET "$RGP/$MSI?api-version=2023-01-31"
check "first page holds 100" eq "$(count_ "$BODY_OUT")" 100
NEXT=$(jq_ "$BODY_OUT" nextLink)
check "first page has a nextLink" contains "$NEXT" "$ARM$RGP/$MSI?"
check "first page starts at the first" eq "$(jq_ "$BODY_OUT" value.0.name)" id-001
arm GET "${NEXT#"$ARM"}"
check "second page holds the rest" eq "$(count_ "$BODY_OUT")" 2
check "second page continues" eq "$(jq_ "$BODY_OUT" value.0.name)" id-101
check "last page has no nextLink" eq "$(jq_ "$BODY_OUT" nextLink)" ""
arm GET "/subscriptions/$SUB/$MSI?api-version=2023-01-31"
check "by subscription pages too" eq "$(count_ "$BODY_OUT")" 100
arm GET "/subscriptions/not_a_subscription/$MSI?api-version=2023-01-31"
check "bad subscription" eq "$(jq_ "$BODY_OUT" error.code)" InvalidSubscriptionId
arm GET "/subscriptions/$SUB/resourceGroups/nope/$MSI?api-version=2023-01-31"
check "missing group" eq "$STATUS" 404
# Storage accounts are listed through their renderer (endpoints added), clusters through theirs.
arm PUT "$RGP/providers/Microsoft.Storage/storageAccounts/pagingacct?api-version=2023-05-01" '{"location":"westeurope","kind":"StorageV2","sku":{"name":"Standard_LRS"}}'
arm GET "$RGP/providers/Microsoft.Storage/storageAccounts?api-version=2023-05-01"
check "storage list renders endpoints" contains "$(jq_ "$BODY_OUT" value.0.properties.primaryEndpoints.blob)" pagingacct
arm PUT "$RGP/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters/pagingchsm?api-version=2025-03-31" '{"location":"westeurope","sku":{"family":"B","name":"Standard_B1"}}'
arm GET "$RGP/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters?api-version=2025-03-31"
check "cluster list shows it provisioned" eq "$(jq_ "$BODY_OUT" value.0.properties.provisioningState)" Succeeded
check "cluster list renders the nodes" eq "$(jq_ "$BODY_OUT" value.0.properties.hsms.0.state)" Running
finish
