#!/usr/bin/env bash
# test_cloudhsm_contract.sh - Cloud HSM responses against the swagger schemas of both
# api-versions (tests/contract/validate.py): cluster GET/list, PUT/PATCH answers, private
# endpoint connections, private link resources, the operations list, error bodies; and the
# DELETE long-running operation (202 + Location to an operation URL, then 204).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cloudhsm_lib.sh"
start_emulator

RG=contractrg
must create_rg $RG
must create_identity $RG cid
C=$(cluster_path $RG ctr1)
L=$(rg_path $RG)/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters

for v in 2025-03-31 2024-06-30-preview; do
    must create_cluster $RG ctr1 "$MSI_ID" $v
    check "$v PUT validates" contract PUT "$C" $v
    arm GET "$C?api-version=$v"
    check "$v GET 200" eq "$STATUS" 200
    check "$v GET validates" contract GET "$C" $v
    arm PATCH "$C?api-version=$v" '{"tags":{"k":"v"}}'
    check "$v PATCH 200" eq "$STATUS" 200
    check "$v PATCH validates" contract PATCH "$C" $v
    arm GET "$L?api-version=$v"
    check "$v list by RG validates" contract GET "$L" $v
    check "$v list has the cluster" eq "$(jq_ "$BODY_OUT" value.0.name)" ctr1
    arm GET "/subscriptions/$SUB/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters?api-version=$v"
    check "$v list by subscription validates" \
        contract GET "/subscriptions/$SUB/providers/Microsoft.HardwareSecurityModules/cloudHsmClusters" $v
    arm PUT "$C/privateEndpointConnections/pe1?api-version=$v" \
        '{"properties":{"privateEndpoint":{},"privateLinkServiceConnectionState":{"status":"approved","description":"ok"}}}'
    check "$v PEC PUT 200" eq "$STATUS" 200
    check "$v PEC status canonical" eq "$(jq_ "$BODY_OUT" properties.privateLinkServiceConnectionState.status)" Approved
    check "$v PEC PUT validates" contract PUT "$C/privateEndpointConnections/pe1" $v
    arm GET "$C/privateEndpointConnections/pe1?api-version=$v"
    check "$v PEC GET validates" contract GET "$C/privateEndpointConnections/pe1" $v
    arm GET "$C/privateEndpointConnections?api-version=$v"
    check "$v PEC list validates" contract GET "$C/privateEndpointConnections" $v
    arm GET "$C?api-version=$v"
    check "$v cluster shows its PEC" eq "$(jq_ "$BODY_OUT" properties.privateEndpointConnections.0.name)" pe1
    arm PUT "$C/privateEndpointConnections/pe2?api-version=$v" '{"properties":{}}'
    check "$v PEC without state: 400" eq "$STATUS" 400
    arm DELETE "$C/privateEndpointConnections/pe1?api-version=$v"
    check "$v PEC DELETE 202" eq "$STATUS" 202
    arm GET "$(header Location)"
    check "$v PEC delete done" eq "$STATUS" 204
    arm DELETE "$C/privateEndpointConnections/pe1?api-version=$v"
    check "$v PEC DELETE again 204" eq "$STATUS" 204
    arm GET "$C/privateLinkResources?api-version=$v"
    check "$v private link resources validate" contract GET "$C/privateLinkResources" $v
    check "$v group cloudHsm" eq "$(jq_ "$BODY_OUT" value.0.properties.groupId)" cloudHsm
    arm GET "$(cluster_path $RG missing)?api-version=$v"
    check "$v 404" eq "$STATUS" 404
    check "$v 404 code" eq "$(jq_ "$BODY_OUT" error.code)" ResourceNotFound
    check "$v error body validates" contract GET "$(cluster_path $RG missing)" $v

    # A body that breaks the schema must be caught (the validator itself is under test).
    arm GET "$C?api-version=$v"
    BODY_OUT=$(printf '%s' "$BODY_OUT" | sed 's/"NotActivated"/"Sleeping"/')
    check "$v validator rejects a bad enum" fails contract GET "$C" $v

    arm DELETE "$C?api-version=$v"
    check "$v DELETE 202" eq "$STATUS" 202
    loc=$(header Location)
    check "$v DELETE Location is an operation URL" contains "$loc" "/operationResults/"
    check "$v DELETE Retry-After" eq "$(header Retry-After)" 1
    arm GET "$loc"
    check "$v delete operation done" eq "$STATUS" 204
    arm GET "$C?api-version=$v"
    check "$v gone" eq "$STATUS" 404
    arm DELETE "$C?api-version=$v"
    check "$v DELETE when gone: 204" eq "$STATUS" 204
done

arm GET "/providers/Microsoft.HardwareSecurityModules/operations?api-version=2025-03-31"
check "operations list 200" eq "$STATUS" 200
check "operations list validates" contract GET "/providers/Microsoft.HardwareSecurityModules/operations" 2025-03-31

finish
