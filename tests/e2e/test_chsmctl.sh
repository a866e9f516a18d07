#!/usr/bin/env bash
# test_chsmctl.sh - chsmctl against a running emulator: help and exit codes,
# endpoint discovery (data dir, environment, flags), resource groups with
# --wait and operation URLs, identities and role assignments, and - when the
# emulator serves them (detected at runtime) - storage accounts and Cloud HSM
# clusters (create --wait, show, list, config, activate, set-identity, delete).
. "$(dirname "$0")/lib.sh"

CTL=${CHSM_BUILD_DIR:-$(dirname "$CHSM_EMULATOR")}/chsmctl
[ -x "$CTL" ] || { echo "chsmctl not built at $CTL"; exit 1; }

# ctl ARGS...: runs chsmctl; sets OUT (stdout), ERR (stderr) and RC.
ctl() {
    set +e
    "$CTL" "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    RC=$?
    set -e
    OUT=$(cat "$E2E_TMP/out")
    ERR=$(cat "$E2E_TMP/err")
    STATUS=$RC BODY_OUT="$OUT $ERR"
}
# missing_route: the last command failed because the emulator does not serve the route yet.
missing_route() { contains "$ERR$OUT" "[InvalidResourceType, HTTP 404]" || contains "$ERR$OUT" "No route matches"; }

start_emulator
export CHSM_DATA_DIR=$DATA
unset CHSM_ENDPOINT CHSM_CA_CERT CHSM_SUBSCRIPTION CHSM_RESOURCE_GROUP

# --- help, usage errors and exit codes ---
ctl --help
check "--help exits 0" eq "$RC" 0
check "--help documents exit codes" contains "$OUT" "5 cannot reach the emulator"
ctl --version
check "--version" contains "$OUT" "chsmctl "
ctl nosuchgroup
check "unknown group is a usage error" eq "$RC" 2
ctl group create
check "missing argument is a usage error" eq "$RC" 2
ctl group create rg-x --bogus
check "unknown option is a usage error" eq "$RC" 2
check "unknown option is named" contains "$ERR" "--bogus"
ctl --output yaml group show rg-x
check "bad --output is a usage error" eq "$RC" 2
for g in group identity cluster storage container role backup restore operation dr; do
    ctl "$g" --help
    check "$g --help" eq "$RC" 0
done
for gc in "group create" "group show" "group delete" "identity create" "identity show" \
    "identity delete" "cluster create" "cluster show" "cluster list" "cluster delete" \
    "cluster set-identity" "cluster activate" "cluster config" "storage create" "storage show" \
    "storage keys" "container create" "role assign" "role list" "role delete" "backup start" \
    "restore start" "operation show" "dr run"; do
    # shellcheck disable=SC2086
    ctl $gc --help
    check "$gc --help" eq "$RC" 0
    check "$gc --help prints usage" contains "$OUT" "usage: chsmctl $gc"
done
ctl mgmt --help
check "mgmt --help" contains "$OUT" "createUser <CO|CU>"
ctl util --help
check "util --help" contains "$OUT" "genRSAKeyPair"

# --- endpoint discovery ---
ctl --data-dir "$E2E_TMP/nowhere" group show rg-x
check "no emulator.json: exit 5" eq "$RC" 5
check "no emulator.json: says how to fix it" contains "$ERR" "CHSM_ENDPOINT"
ctl --endpoint https://127.0.0.1:1 --ca-cert "$CA" group show rg-x
check "unreachable endpoint: exit 5" eq "$RC" 5
check "unreachable endpoint: message" contains "$ERR" "cannot reach"
ctl --endpoint "$ARM" --ca-cert /dev/null group show rg-x
check "untrusted TLS: exit 5" eq "$RC" 5
CHSM_DATA_DIR=$E2E_TMP/nowhere CHSM_ENDPOINT=$ARM CHSM_CA_CERT=$CA ctl group create rg-env
check "environment endpoint works" eq "$RC" 0
check "environment endpoint created the group" eq "$(jq_ "$OUT" name)" rg-env
ctl --endpoint "$ARM" --ca-cert "$CA" --data-dir "$E2E_TMP/nowhere" group show rg-env
check "flag endpoint works" eq "$RC" 0
ctl --subscription 00000000-0000-0000-0000-0000000000b2 group show rg-env
check "another subscription does not see the group" eq "$RC" 3

# --- resource groups ---
ctl group create rg-one --location westeurope --tags env=test,team=hsm
check "group create" eq "$RC" 0
check "group create location" eq "$(jq_ "$OUT" location)" westeurope
check "group create tags" eq "$(jq_ "$OUT" tags.team)" hsm
ctl -o table group show rg-one
check "group show table" contains "$OUT" "rg-one"
check "group show table header" contains "$OUT" "LOCATION"
ctl group show rg-none
check "missing group: exit 3" eq "$RC" 3
check "missing group: ARM code on stderr" contains "$ERR" "ResourceGroupNotFound"
check "missing group: HTTP status" contains "$ERR" "HTTP 404"
ctl group delete rg-one --wait
check "group delete --wait" eq "$RC" 0
check "plain progress line per state (not a terminal)" contains "$ERR" "group delete: Succeeded"
ctl group show rg-one
check "deleted group is gone" eq "$RC" 3
ctl group create rg-two
ctl group delete rg-two
check "group delete without --wait" eq "$RC" 0
LOC=$(jq_ "$OUT" location)
check "group delete prints the operation URL" contains "$LOC" "$ARM/subscriptions/"
ctl operation show "$LOC"
check "operation show" eq "$RC" 0
ctl operation show "$LOC" --wait
check "operation show --wait" eq "$RC" 0
ctl operation show not-a-url
check "operation show bad URL is a usage error" eq "$RC" 2

# --- identities and role assignments ---
ctl group create rg-id
ctl identity create id-one -g rg-id
if [ "$RC" -ne 0 ] && missing_route; then
    echo "SKIPPED: identity/role section: the emulator does not serve Microsoft.ManagedIdentity"
else
    check "identity create" eq "$RC" 0
    PRINCIPAL=$(jq_ "$OUT" properties.principalId)
    check "identity has a principalId" test -n "$PRINCIPAL"
    ctl identity show id-one -g rg-id
    check "identity show" eq "$(jq_ "$OUT" properties.principalId)" "$PRINCIPAL"
    ctl identity show id-one
    check "-g is required" eq "$RC" 2
    CHSM_RESOURCE_GROUP=rg-id ctl identity show id-one
    check "CHSM_RESOURCE_GROUP" eq "$RC" 0
    ctl role assign --assignee id-one -g rg-id --role "Storage Blob Data Contributor"
    if [ "$RC" -ne 0 ] && missing_route; then
        echo "SKIPPED: role assignments: the emulator does not serve Microsoft.Authorization"
    else
        check "role assign by identity name" eq "$RC" 0
        check "role assign principal" eq "$(jq_ "$OUT" properties.principalId)" "$PRINCIPAL"
        check "role assign role" contains "$(jq_ "$OUT" properties.roleDefinitionId)" \
            ba92f5b4-2d11-453d-a403-e96b0029c9fe
        RA=$(jq_ "$OUT" name)
        ctl role list -g rg-id --assignee "$PRINCIPAL"
        check "role list finds it" contains "$OUT" "$RA"
        ctl role assign --assignee id-one -g rg-id --role "Storage Blob Data Janitor"
        check "unknown role is a usage error" eq "$RC" 2
        ctl role delete "$RA" -g rg-id
        check "role delete" eq "$RC" 0
        ctl role list -g rg-id --assignee "$PRINCIPAL"
        check "role list after delete" eq "$(jq_ "$OUT" 0.name)" ""
    fi
    ctl identity delete id-one -g rg-id
    check "identity delete" eq "$RC" 0
    ctl identity show id-one -g rg-id
    check "deleted identity: exit 3" eq "$RC" 3
fi

# --- storage ---
ctl group create rg-st
ctl storage create chsmctlst1 -g rg-st --allow-shared-key-access false --wait
if [ "$RC" -ne 0 ] && missing_route; then
    echo "SKIPPED: storage section: the emulator does not serve Microsoft.Storage"
else
    check "storage create --wait" eq "$RC" 0
    check "storage shared key off" eq "$(jq_ "$OUT" properties.allowSharedKeyAccess)" False
    ctl storage show chsmctlst1 -g rg-st
    check "storage show" eq "$(jq_ "$OUT" name)" chsmctlst1
    ctl storage keys chsmctlst1 -g rg-st
    check "storage keys" eq "$(jq_ "$OUT" keys.0.keyName)" key1
    ctl storage create chsmctlst1 -g rg-st --allow-shared-key-access maybe
    check "bad boolean is a usage error" eq "$RC" 2
    ctl container create backups --account chsmctlst1 -g rg-st
    check "container create" eq "$RC" 0
    ctl container show backups --account chsmctlst1 -g rg-st
    check "container show" eq "$(jq_ "$OUT" name)" backups
    ctl container create backups -g rg-st
    check "container create needs --account" eq "$RC" 2
fi

# --- Cloud HSM clusters ---
ctl group create rg-hsm
ctl identity create id-hsm -g rg-hsm
ctl cluster create chsmctl-c1 -g rg-hsm --identity id-hsm --wait
if [ "$RC" -ne 0 ] && missing_route; then
    echo "SKIPPED: cluster section: the emulator does not serve Microsoft.HardwareSecurityModules"
else
    check "cluster create --wait" eq "$RC" 0
    check "cluster provisioned" eq "$(jq_ "$OUT" properties.provisioningState)" Succeeded
    check "cluster not activated" eq "$(jq_ "$OUT" properties.activationState)" NotActivated
    check "progress lines while waiting" contains "$ERR" "cluster create: Succeeded"
    FQDN=$(jq_ "$OUT" properties.hsms.0.fqdn)
    check "cluster hsm1 fqdn" contains "$FQDN" ".cloudhsm.localhost"
    ctl -o table cluster show chsmctl-c1 -g rg-hsm
    check "cluster show table" contains "$OUT" "NotActivated"
    ctl cluster list -g rg-hsm
    check "cluster list" eq "$(jq_ "$OUT" 0.name)" chsmctl-c1
    ctl cluster list
    check "cluster list (subscription)" contains "$OUT" chsmctl-c1
    ctl cluster config chsmctl-c1 -g rg-hsm --out "$E2E_TMP/c1.cfg"
    check "cluster config" eq "$RC" 0
    check "cfg names hsm1" eq "$(json_get "$E2E_TMP/c1.cfg" servers.0.hostname)" "$FQDN"
    check "cfg names the emulator" eq "$(json_get "$E2E_TMP/c1.cfg" emulator.armUrl)" "$ARM"
    check "cfg names the CA" eq "$(json_get "$E2E_TMP/c1.cfg" emulator.caCert)" "$CA"
    ctl cluster activate chsmctl-c1 -g rg-hsm
    check "activate needs --password" eq "$RC" 2
    ctl cluster activate chsmctl-c1 -g rg-hsm --password short
    if [ "$RC" -ne 0 ] && missing_route; then
        echo "SKIPPED: activation: the emulator does not serve the HSM data plane"
    else
        check "too short a password is refused by the HSM" eq "$RC" 3
        ctl cluster activate chsmctl-c1 -g rg-hsm --password officer-pw1
        check "cluster activate" eq "$RC" 0
        check "cluster Active" eq "$(jq_ "$OUT" properties.activationState)" Active
        ctl cluster activate chsmctl-c1 -g rg-hsm --password officer-pw1
        check "activating twice fails (PRECO is gone)" eq "$RC" 3
    fi
    ctl identity create id-hsm2 -g rg-hsm
    ctl cluster set-identity chsmctl-c1 -g rg-hsm --identity id-hsm2
    check "cluster set-identity" eq "$RC" 0
    check "identity replaced" contains "$(jq_ "$OUT" identity.userAssignedIdentities)" id-hsm2
    ctl cluster create chsmctl-c1 -g rg-hsm --sku Standard_B99
    check "bad sku is an ARM error" eq "$RC" 3
    ctl cluster show chsmctl-nope -g rg-hsm
    check "missing cluster: exit 3" eq "$RC" 3
    check "missing cluster: code" contains "$ERR" "ResourceNotFound"
    ctl cluster delete chsmctl-c1 -g rg-hsm --wait
    check "cluster delete --wait" eq "$RC" 0
    ctl cluster show chsmctl-c1 -g rg-hsm
    check "deleted cluster is gone" eq "$RC" 3
fi

finish
