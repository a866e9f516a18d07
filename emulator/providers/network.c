/* network.c - the little of Microsoft.Network the DR tutorial touches:
 * virtual networks with their subnets, and private endpoints.
 *
 * Documents are stored as the client sent them plus the read-only fields
 * clients read back (provisioningState Succeeded, resourceGuid, etag, ids).
 * Subnets live inline in their network's document and are also served as
 * the child resource .../virtualNetworks/{vnet}/subnets/{subnet}. A private
 * endpoint gets a fabricated network interface id and one private IP of its
 * subnet per FQDN of its target (customDnsConfigs), and is linked from its
 * subnet's privateEndpoints. No operation is long-running: PUT answers 201
 * or 200 with provisioningState Succeeded, which is terminal for every
 * poller. */
#include "providers/answers.h"
#include "providers/provider.h"

#include "app/app.h"
#include "arm/errors.h"
#include "arm/names.h"
#include "arm/resource.h"
#include "arm/versions.h"
#include "hsm/model.h"
#include "hsm/repo.h"
#include "store/resources.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NET "Microsoft.Network"
#define VNET_TYPE NET "/virtualNetworks"
#define SUBNET_TYPE NET "/virtualNetworks/subnets"
#define PE_TYPE NET "/privateEndpoints"
#define PLS_CONN_TYPE NET "/privateEndpoints/privateLinkServiceConnections"
#define MAX_FQDNS 8

static void not_found(chsm_response *res, const char *type, const char *name, const char *rg)
{
    chsm_arm_error(res, 404, "ResourceNotFound",
                   "The Resource '%s/%s' under resource group '%s' was not found. For more "
                   "details please go to https://aka.ms/ARMResourceNotFoundFix",
                   type, name, rg);
}

/* check_net_name applies Microsoft.Network's rule: letters, digits, '_', '.'
 * and '-', starting with a letter or digit, ending with one or '_'. */
static int check_net_name(chsm_response *res, const char *kind, const char *name, size_t min,
                          size_t max)
{
    if (chsm_arm_check_name(res, kind, name, min, max, "-_."))
        return 1;
    if (!isalnum((unsigned char)name[0])) {
        chsm_arm_error_target(res, 400, "InvalidResourceName", kind,
                              "The %s name '%.100s' is invalid: it must start with a letter or a "
                              "digit.",
                              kind, name);
        return 1;
    }
    return 0;
}

static char *normalized_location(const char *loc)
{
    char *out = malloc(strlen(loc) + 1);
    size_t n = 0;
    if (!out)
        return NULL;
    for (const char *p = loc; *p; p++)
        if (*p != ' ')
            out[n++] = (char)tolower((unsigned char)*p);
    out[n] = '\0';
    return out;
}

static void new_etag(char *out, size_t outlen)
{
    char uuid[37];
    chsm_uuid(uuid);
    snprintf(out, outlen, "W/\"%s\"", uuid);
}

/* common_put_checks reads the route's group and body; answers and returns
 * NULL on failure. location is normalized (caller frees). */
static cJSON *common_put_checks(chsm_request *req, chsm_response *res, char **location)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    *location = NULL;
    if (chsm_arm_require_resource_group(req, res, sub, rg))
        return NULL;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return NULL;
    const char *loc = chsm_json_str(in, "location");
    if (!loc || !*loc) {
        chsm_arm_error_target(res, 400, "LocationRequired", "location",
                              "The location property is required for this definition.");
        cJSON_Delete(in);
        return NULL;
    }
    if (chsm_arm_check_tags(cJSON_GetObjectItem(in, "tags"), res)) {
        cJSON_Delete(in);
        return NULL;
    }
    *location = normalized_location(loc);
    if (!*location) {
        chsm_provider_store_error(res, CHSM_ENOMEM);
        cJSON_Delete(in);
        return NULL;
    }
    return in;
}

/* envelope starts a tracked resource document: id, name, type, location, tags, etag. */
static cJSON *envelope(const char *id, const char *name, const char *type, const char *location,
                       const cJSON *tags, const char *etag)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "id", id);
    cJSON_AddStringToObject(doc, "name", name);
    cJSON_AddStringToObject(doc, "type", type);
    cJSON_AddStringToObject(doc, "location", location);
    cJSON_AddItemToObject(doc, "tags",
                          cJSON_IsObject(tags) ? cJSON_Duplicate(tags, 1) : cJSON_CreateObject());
    cJSON_AddStringToObject(doc, "etag", etag);
    return doc;
}

/* ---- subnets (inline in the network document) ---- */

static cJSON *subnets_of(cJSON *vnet)
{
    cJSON *props = chsm_json_obj(vnet, "properties");
    cJSON *arr = props ? cJSON_GetObjectItem(props, "subnets") : NULL;
    if (!cJSON_IsArray(arr) && props) {
        arr = cJSON_CreateArray();
        chsm_json_set(props, "subnets", arr);
    }
    return arr;
}

static cJSON *find_subnet(cJSON *vnet, const char *name)
{
    cJSON *s;
    cJSON_ArrayForEach(s, subnets_of(vnet))
    {
        if (chsm_streq_ci(chsm_json_str(s, "name"), name))
            return s;
    }
    return NULL;
}

/* subnet_in_use tells whether a subnet document has private endpoints. */
static int subnet_in_use(const cJSON *subnet)
{
    const cJSON *pes = cJSON_GetObjectItem(chsm_json_obj(subnet, "properties"), "privateEndpoints");
    return cJSON_GetArraySize(pes) > 0;
}

static void in_use_error(chsm_response *res, const cJSON *subnet)
{
    const cJSON *pes = cJSON_GetObjectItem(chsm_json_obj(subnet, "properties"), "privateEndpoints");
    chsm_arm_error(res, 400, "InUseSubnetCannotBeDeleted",
                   "Subnet %s is in use by %s and cannot be deleted. In order to delete the "
                   "subnet, delete all the resources within the subnet.",
                   chsm_json_str(subnet, "name"), chsm_json_str(cJSON_GetArrayItem(pes, 0), "id"));
}

/* make_subnet builds a subnet document from the client's {name?, properties}
 * keeping the read-only links of the previous one. */
static cJSON *make_subnet(const char *vnet_id, const char *name, const cJSON *in,
                          const cJSON *previous, const char *etag)
{
    cJSON *s = cJSON_CreateObject();
    chsm_buf id = {0};
    chsm_buf_printf(&id, "%s/subnets/%s", vnet_id, name);
    cJSON_AddStringToObject(s, "id", id.data ? id.data : "");
    chsm_buf_free(&id);
    cJSON_AddStringToObject(s, "name", name);
    cJSON_AddStringToObject(s, "type", SUBNET_TYPE);
    cJSON_AddStringToObject(s, "etag", etag);
    const cJSON *in_props = chsm_json_obj(in, "properties");
    cJSON *p = cJSON_IsObject(in_props) ? cJSON_Duplicate(in_props, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(s, "properties", p);
    chsm_json_set_str(p, "provisioningState", "Succeeded");
    if (!chsm_json_str(p, "privateEndpointNetworkPolicies"))
        chsm_json_set_str(p, "privateEndpointNetworkPolicies", "Disabled");
    if (!chsm_json_str(p, "privateLinkServiceNetworkPolicies"))
        chsm_json_set_str(p, "privateLinkServiceNetworkPolicies", "Enabled");
    const cJSON *old_pes =
        cJSON_GetObjectItem(chsm_json_obj(previous, "properties"), "privateEndpoints");
    cJSON_DeleteItemFromObjectCaseSensitive(p, "privateEndpoints");
    if (cJSON_GetArraySize(old_pes) > 0)
        cJSON_AddItemToObject(p, "privateEndpoints", cJSON_Duplicate(old_pes, 1));
    return s;
}

/* set_etag gives the network and all its subnets one new etag, as Azure does. */
static void set_etag(cJSON *vnet)
{
    char etag[48];
    new_etag(etag, sizeof etag);
    chsm_json_set_str(vnet, "etag", etag);
    cJSON *s;
    cJSON_ArrayForEach(s, subnets_of(vnet))
    {
        chsm_json_set_str(s, "etag", etag);
    }
}

/* ---- virtual networks ---- */

static char *vnet_id_of(chsm_request *req)
{
    return chsm_arm_resource_id(chsm_request_param(req, "subscriptionId"),
                                chsm_request_param(req, "resourceGroupName"), VNET_TYPE,
                                chsm_request_param(req, "virtualNetworkName"));
}

/* put_vnet_record stores doc as the route's network with id and name (borrowed). */
static int put_vnet_record(chsm_request *req, const char *id, const char *name, cJSON *doc,
                           int64_t created_ms)
{
    chsm_resource r = {.id = (char *)id,
                       .type = VNET_TYPE,
                       .name = (char *)name,
                       .subscription = (char *)chsm_request_param(req, "subscriptionId"),
                       .resource_group = (char *)chsm_request_param(req, "resourceGroupName"),
                       .body = doc,
                       .created_ms = created_ms};
    return chsm_resources_put(req->app->store, &r);
}

static void put_vnet(chsm_request *req, chsm_response *res)
{
    const char *name = chsm_request_param(req, "virtualNetworkName");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    if (check_net_name(res, "virtualNetworks", name, 2, 64))
        return;
    char *loc = NULL;
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    cJSON *in = common_put_checks(req, res, &loc);
    cJSON *doc = NULL;
    char *id = vnet_id_of(req);
    chsm_resource old = {0};
    int existed = 0;
    if (!in || !id)
        goto fail;
    rc = chsm_resources_get(s, id, &old);
    existed = rc == CHSM_OK;
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        chsm_provider_store_error(res, rc);
        goto fail;
    }
    const char *old_loc = existed ? chsm_json_str(old.body, "location") : NULL;
    if (old_loc && !chsm_streq_ci(old_loc, loc)) {
        chsm_arm_error_target(res, 409, "InvalidResourceLocation", "location",
                              "The resource '%s' already exists in location '%s' in resource "
                              "group '%s'. A resource with the same name cannot be created in "
                              "location '%s'. Please select a new resource name.",
                              name, old_loc, rg, loc);
        goto fail;
    }
    char etag[48];
    new_etag(etag, sizeof etag);
    const char *rid = existed ? old.id : id;
    doc = envelope(rid, existed ? old.name : name, VNET_TYPE, loc, cJSON_GetObjectItem(in, "tags"),
                   etag);
    const cJSON *in_props = chsm_json_obj(in, "properties");
    cJSON *p = cJSON_IsObject(in_props) ? cJSON_Duplicate(in_props, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "properties", p);
    chsm_json_set_str(p, "provisioningState", "Succeeded");
    const char *guid =
        existed ? chsm_json_str(chsm_json_obj(old.body, "properties"), "resourceGuid") : NULL;
    char fresh[37];
    chsm_uuid(fresh);
    chsm_json_set_str(p, "resourceGuid", guid ? guid : fresh);
    if (!cJSON_GetObjectItem(p, "virtualNetworkPeerings"))
        cJSON_AddItemToObject(p, "virtualNetworkPeerings", cJSON_CreateArray());
    if (!cJSON_GetObjectItem(p, "enableDdosProtection"))
        cJSON_AddFalseToObject(p, "enableDdosProtection");
    /* The body's subnets replace the old ones; one still holding a private
     * endpoint cannot go. */
    const cJSON *space = cJSON_GetObjectItem(p, "addressSpace");
    const cJSON *prefixes = cJSON_GetObjectItem(space, "addressPrefixes");
    int prefixes_ok = !space || (cJSON_IsObject(space) && (!prefixes || cJSON_IsArray(prefixes)));
    if (cJSON_IsArray(prefixes)) {
        const cJSON *pf;
        cJSON_ArrayForEach(pf, prefixes)
        {
            if (!cJSON_IsString(pf))
                prefixes_ok = 0;
        }
    }
    if (!prefixes_ok) {
        chsm_arm_error_target(res, 400, "InvalidRequestFormat", "properties.addressSpace",
                              "addressSpace.addressPrefixes must be an array of strings.");
        goto fail;
    }
    const cJSON *in_subnets = cJSON_GetObjectItem(p, "subnets");
    if (in_subnets && !cJSON_IsArray(in_subnets)) {
        chsm_arm_error_target(res, 400, "InvalidRequestFormat", "properties.subnets",
                              "The subnets property must be an array.");
        goto fail;
    }
    cJSON *subnets = cJSON_CreateArray();
    const cJSON *sn;
    cJSON_ArrayForEach(sn, in_subnets)
    {
        const char *sname = chsm_json_str(sn, "name");
        if (!sname || check_net_name(res, "subnets", sname, 1, 80)) {
            if (!sname)
                chsm_arm_error_target(res, 400, "InvalidRequestFormat", "properties.subnets",
                                      "Every subnet needs a name.");
            cJSON_Delete(subnets);
            goto fail;
        }
        cJSON *dup;
        cJSON_ArrayForEach(dup, subnets)
        {
            if (chsm_streq_ci(chsm_json_str(dup, "name"), sname)) {
                chsm_arm_error(res, 400, "DuplicateResourceName",
                               "Resource %s has two child resources with the same name (%s).", rid,
                               sname);
                cJSON_Delete(subnets);
                goto fail;
            }
        }
        cJSON_AddItemToArray(
            subnets,
            make_subnet(rid, sname, sn, existed ? find_subnet(old.body, sname) : NULL, etag));
    }
    cJSON *old_sn;
    cJSON *old_subnets = existed ? subnets_of(old.body) : NULL;
    cJSON_ArrayForEach(old_sn, old_subnets)
    {
        int kept = 0;
        cJSON *n2;
        cJSON_ArrayForEach(n2, subnets)
        {
            kept |= chsm_streq_ci(chsm_json_str(n2, "name"), chsm_json_str(old_sn, "name"));
        }
        if (!kept && subnet_in_use(old_sn)) {
            in_use_error(res, old_sn);
            cJSON_Delete(subnets);
            goto fail;
        }
    }
    chsm_json_set(p, "subnets", subnets);
    rc = put_vnet_record(req, rid, existed ? old.name : name, doc, old.created_ms);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, existed ? 200 : 201, doc);
    if (rc == CHSM_OK)
        doc = NULL;
    goto out;
fail:
    chsm_store_rollback(s);
out:
    cJSON_Delete(doc);
    cJSON_Delete(in);
    chsm_resource_clear(&old);
    free(loc);
    free(id);
}

/* load_vnet_ loads the route's network: 0 when found; 1 after answering an
 * error; 2 when it does not exist and missing_ok (nothing answered). */
static int load_vnet_(chsm_request *req, chsm_response *res, chsm_resource *r, int missing_ok)
{
    const char *rg = chsm_request_param(req, "resourceGroupName");
    memset(r, 0, sizeof *r);
    if (chsm_arm_require_resource_group(req, res, chsm_request_param(req, "subscriptionId"), rg))
        return 1;
    char *id = vnet_id_of(req);
    int rc = id ? chsm_resources_get(req->app->store, id, r) : CHSM_ENOMEM;
    free(id);
    if (rc == CHSM_ENOTFOUND && missing_ok)
        return 2;
    if (rc == CHSM_ENOTFOUND)
        not_found(res, VNET_TYPE, chsm_request_param(req, "virtualNetworkName"), rg);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    return rc != CHSM_OK;
}

/* load_vnet answers 404 (or 400/500) and returns nonzero unless the route's network exists. */
static int load_vnet(chsm_request *req, chsm_response *res, chsm_resource *r)
{
    return load_vnet_(req, res, r, 0);
}

static void get_vnet(chsm_request *req, chsm_response *res)
{
    chsm_resource r;
    if (load_vnet(req, res, &r))
        return;
    chsm_arm_json(res, 200, r.body);
    r.body = NULL;
    chsm_resource_clear(&r);
}

static void delete_vnet(chsm_request *req, chsm_response *res)
{
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    chsm_resource r;
    int missing = load_vnet_(req, res, &r, 1);
    if (missing) {
        chsm_store_rollback(s);
        if (missing == 2)
            chsm_arm_json(res, 204, NULL); /* deleting what is not there */
        return;
    }
    cJSON *sn;
    cJSON_ArrayForEach(sn, subnets_of(r.body))
    {
        if (subnet_in_use(sn)) {
            chsm_store_rollback(s);
            in_use_error(res, sn);
            chsm_resource_clear(&r);
            return;
        }
    }
    rc = chsm_resources_delete(s, r.id);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    chsm_resource_clear(&r);
    if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, NULL);
}

/* list_type answers a list of type in the route's subscription (and group). */
static void list_type(chsm_request *req, chsm_response *res, const char *type)
{
    const char *sub = chsm_request_param(req, "subscriptionId");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    if (!chsm_provider_list_scope_ok(req, res, sub, rg))
        return;
    chsm_resource_query q = {.type = type, .subscription = sub, .resource_group = rg};
    chsm_provider_list_all(req, res, &q);
}

static void list_vnets(chsm_request *req, chsm_response *res)
{
    list_type(req, res, VNET_TYPE);
}

/* ---- subnets as child resources ---- */

static void subnet_not_found(chsm_response *res, const char *vnet_id, const char *name)
{
    chsm_arm_error(res, 404, "NotFound", "Resource %s/subnets/%s not found.", vnet_id, name);
}

static void get_subnet(chsm_request *req, chsm_response *res)
{
    chsm_resource r;
    if (load_vnet(req, res, &r))
        return;
    const char *name = chsm_request_param(req, "subnetName");
    cJSON *sn = find_subnet(r.body, name);
    if (!sn)
        subnet_not_found(res, r.id, name);
    else
        chsm_arm_json(res, 200, cJSON_Duplicate(sn, 1));
    chsm_resource_clear(&r);
}

static void list_subnets(chsm_request *req, chsm_response *res)
{
    chsm_resource r;
    if (load_vnet(req, res, &r))
        return;
    chsm_arm_json(res, 200, chsm_arm_list_body(cJSON_Duplicate(subnets_of(r.body), 1), NULL));
    chsm_resource_clear(&r);
}

static void put_subnet(chsm_request *req, chsm_response *res)
{
    const char *name = chsm_request_param(req, "subnetName");
    if (check_net_name(res, "subnets", name, 1, 80))
        return;
    cJSON *in = chsm_arm_body_object(req, res, 1);
    if (!in)
        return;
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        cJSON_Delete(in);
        return;
    }
    chsm_resource r;
    if (load_vnet(req, res, &r)) {
        chsm_store_rollback(s);
        cJSON_Delete(in);
        return;
    }
    cJSON *old = find_subnet(r.body, name);
    int existed = old != NULL;
    cJSON *fresh = make_subnet(r.id, existed ? chsm_json_str(old, "name") : name, in, old, "");
    if (existed)
        cJSON_ReplaceItemViaPointer(subnets_of(r.body), old, fresh);
    else
        cJSON_AddItemToArray(subnets_of(r.body), fresh);
    set_etag(r.body);
    rc = put_vnet_record(req, r.id, r.name, r.body, r.created_ms);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, existed ? 200 : 201, cJSON_Duplicate(fresh, 1));
    chsm_resource_clear(&r);
    cJSON_Delete(in);
}

static void delete_subnet(chsm_request *req, chsm_response *res)
{
    const char *name = chsm_request_param(req, "subnetName");
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    chsm_resource r;
    if (load_vnet(req, res, &r)) {
        chsm_store_rollback(s);
        return;
    }
    cJSON *sn = find_subnet(r.body, name);
    if (!sn) {
        chsm_store_rollback(s);
        chsm_arm_json(res, 204, NULL);
    } else if (subnet_in_use(sn)) {
        chsm_store_rollback(s);
        in_use_error(res, sn);
    } else {
        cJSON_Delete(cJSON_DetachItemViaPointer(subnets_of(r.body), sn));
        set_etag(r.body);
        rc = put_vnet_record(req, r.id, r.name, r.body, r.created_ms);
        if (rc == CHSM_OK)
            rc = chsm_store_commit(s);
        else
            chsm_store_rollback(s);
        if (rc != CHSM_OK)
            chsm_provider_store_error(res, rc);
        else
            chsm_arm_json(res, 200, NULL);
    }
    chsm_resource_clear(&r);
}

/* ---- private endpoints ---- */

/* split_subnet_id writes the network id of a subnet id and returns a pointer
 * to the subnet name in it, or NULL when id is not
 * ".../providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{name}". */
static const char *split_subnet_id(const char *id, char *vnet_id, size_t len)
{
    const char *marker = "/providers/" VNET_TYPE "/";
    if (!id || !chsm_starts_with_ci(id, "/subscriptions/"))
        return NULL;
    const char *p = NULL;
    for (const char *q = id; *q; q++)
        if (chsm_starts_with_ci(q, marker))
            p = q;
    if (!p)
        return NULL;
    const char *vnet = p + strlen(marker);
    const char *slash = strchr(vnet, '/');
    if (!slash || slash == vnet || !chsm_starts_with_ci(slash, "/subnets/"))
        return NULL;
    const char *name = slash + strlen("/subnets/");
    if (!*name || strchr(name, '/') || (size_t)(slash - id) >= len)
        return NULL;
    snprintf(vnet_id, len, "%.*s", (int)(slash - id), id);
    return name;
}

/* target_fqdns writes the names a private endpoint to target/group resolves:
 * the Blob-style host of a storage account, the three HSM nodes of a Cloud
 * HSM cluster, or a made-up privatelink name. Returns how many. */
static int target_fqdns(chsm_app *app, const char *target, const char *group,
                        char fqdns[MAX_FQDNS][256])
{
    const char *last = target ? strrchr(target, '/') : NULL;
    const char *name = last ? last + 1 : "endpoint";
    char lname[128];
    snprintf(lname, sizeof lname, "%s", name);
    for (char *c = lname; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    const char *g = group && *group ? group : "default";
    chsm_hsm_cluster c;
    if (target && chsm_hsm_repo_cluster_get(app->store, target, &c) == CHSM_OK) {
        for (int i = 0; i < 3; i++)
            chsm_hsm_node_fqdn(c.label, i + 1, fqdns[i], sizeof fqdns[i]);
        return 3;
    }
    char lower_target[600];
    snprintf(lower_target, sizeof lower_target, "%s", target ? target : "");
    for (char *p = lower_target; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    if (strstr(lower_target, "/providers/microsoft.storage/storageaccounts/"))
        snprintf(fqdns[0], sizeof fqdns[0], "%s.%s.core.windows.net", lname, g);
    else
        snprintf(fqdns[0], sizeof fqdns[0], "%s.privatelink.%s.azure.net", lname, g);
    for (char *p = fqdns[0]; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return 1;
}

/* subnet_base parses the subnet's first prefix "a.b.c.d/n" into a host-order address. */
static unsigned long subnet_base(const cJSON *subnet)
{
    const cJSON *p = chsm_json_obj(subnet, "properties");
    const char *prefix = chsm_json_str(p, "addressPrefix");
    if (!prefix)
        prefix =
            cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "addressPrefixes"), 0));
    unsigned a, b, c, d, bits;
    if (!prefix || sscanf(prefix, "%u.%u.%u.%u/%u", &a, &b, &c, &d, &bits) != 5 || a > 255 ||
        b > 255 || c > 255 || d > 255 || bits > 30)
        return (10ul << 24); /* 10.0.0.0 */
    unsigned long addr = ((unsigned long)a << 24) | (b << 16) | (c << 8) | d;
    unsigned long mask = bits ? (0xfffffffful << (32 - bits)) & 0xfffffffful : 0;
    return addr & mask;
}

/* ip_used tells whether ip is already an address of a private endpoint in subnet_id. */
static int ip_used(const chsm_resource *pes, size_t n, const char *subnet_id, const char *self,
                   const char *ip)
{
    for (size_t i = 0; i < n; i++) {
        if (chsm_streq_ci(pes[i].id, self))
            continue;
        const cJSON *p = chsm_json_obj(pes[i].body, "properties");
        if (!chsm_streq_ci(chsm_json_str(chsm_json_obj(p, "subnet"), "id"), subnet_id))
            continue;
        const cJSON *cfg;
        cJSON_ArrayForEach(cfg, cJSON_GetObjectItem(p, "customDnsConfigs"))
        {
            const cJSON *addr;
            cJSON_ArrayForEach(addr, cJSON_GetObjectItem(cfg, "ipAddresses"))
            {
                if (cJSON_IsString(addr) && strcmp(addr->valuestring, ip) == 0)
                    return 1;
            }
        }
    }
    return 0;
}

/* render_connections copies the client's connections with ids, type, etag
 * and state (auto-approved, or Pending for manual ones). */
static cJSON *render_connections(const cJSON *in, const char *pe_id, const char *etag, int manual)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *c;
    cJSON_ArrayForEach(c, in)
    {
        const char *cname = chsm_json_str(c, "name");
        cJSON *o = cJSON_CreateObject();
        chsm_buf id = {0};
        chsm_buf_printf(&id, "%s/%s/%s", pe_id,
                        manual ? "manualPrivateLinkServiceConnections"
                               : "privateLinkServiceConnections",
                        cname ? cname : "connection");
        cJSON_AddStringToObject(o, "id", id.data ? id.data : "");
        chsm_buf_free(&id);
        cJSON_AddStringToObject(o, "name", cname ? cname : "connection");
        cJSON_AddStringToObject(o, "type", PLS_CONN_TYPE);
        cJSON_AddStringToObject(o, "etag", etag);
        const cJSON *ip = chsm_json_obj(c, "properties");
        cJSON *p = cJSON_IsObject(ip) ? cJSON_Duplicate(ip, 1) : cJSON_CreateObject();
        cJSON_AddItemToObject(o, "properties", p);
        chsm_json_set_str(p, "provisioningState", "Succeeded");
        cJSON *st = cJSON_CreateObject();
        cJSON_AddStringToObject(st, "status", manual ? "Pending" : "Approved");
        cJSON_AddStringToObject(st, "description", manual ? "" : "Auto-Approved");
        cJSON_AddStringToObject(st, "actionsRequired", "None");
        chsm_json_set(p, "privateLinkServiceConnectionState", st);
        cJSON_AddItemToArray(out, o);
    }
    return out;
}

/* link_subnet adds (add) or removes pe_id in the subnet's privateEndpoints. */
static void link_subnet(cJSON *subnet, const char *pe_id, int add)
{
    cJSON *p = chsm_json_obj(subnet, "properties");
    if (!p)
        return;
    cJSON *pes = cJSON_GetObjectItem(p, "privateEndpoints");
    if (!cJSON_IsArray(pes)) {
        pes = cJSON_CreateArray();
        chsm_json_set(p, "privateEndpoints", pes);
    }
    cJSON *e = pes->child;
    while (e) {
        cJSON *next = e->next;
        if (chsm_streq_ci(chsm_json_str(e, "id"), pe_id))
            cJSON_Delete(cJSON_DetachItemViaPointer(pes, e));
        e = next;
    }
    if (add) {
        cJSON *ref = cJSON_CreateObject();
        cJSON_AddStringToObject(ref, "id", pe_id);
        cJSON_AddItemToArray(pes, ref);
    } else if (cJSON_GetArraySize(pes) == 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(p, "privateEndpoints");
    }
}

static char *pe_id_of(chsm_request *req)
{
    return chsm_arm_resource_id(chsm_request_param(req, "subscriptionId"),
                                chsm_request_param(req, "resourceGroupName"), PE_TYPE,
                                chsm_request_param(req, "privateEndpointName"));
}

static void put_pe(chsm_request *req, chsm_response *res)
{
    const char *name = chsm_request_param(req, "privateEndpointName");
    const char *rg = chsm_request_param(req, "resourceGroupName");
    const char *sub = chsm_request_param(req, "subscriptionId");
    if (check_net_name(res, "privateEndpoints", name, 2, 64))
        return;
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    char *loc = NULL;
    cJSON *in = common_put_checks(req, res, &loc);
    char *id = pe_id_of(req);
    chsm_resource old = {0}, vnet = {0};
    chsm_resource *pes = NULL;
    size_t npes = 0;
    cJSON *doc = NULL;
    if (!in || !id)
        goto fail;
    rc = chsm_resources_get(s, id, &old);
    int existed = rc == CHSM_OK;
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        chsm_provider_store_error(res, rc);
        goto fail;
    }
    const char *old_loc = existed ? chsm_json_str(old.body, "location") : NULL;
    if (old_loc && !chsm_streq_ci(old_loc, loc)) {
        chsm_arm_error_target(res, 409, "InvalidResourceLocation", "location",
                              "The resource '%s' already exists in location '%s' in resource "
                              "group '%s'. A resource with the same name cannot be created in "
                              "location '%s'. Please select a new resource name.",
                              name, old_loc, rg, loc);
        goto fail;
    }
    const cJSON *in_props = chsm_json_obj(in, "properties");
    const char *subnet_id = chsm_json_str(chsm_json_obj(in_props, "subnet"), "id");
    char vnet_id[600];
    const char *subnet_name = split_subnet_id(subnet_id, vnet_id, sizeof vnet_id);
    if (!subnet_name) {
        chsm_arm_error_target(res, 400, "InvalidRequestFormat", "properties.subnet.id",
                              "The private endpoint needs properties.subnet.id, a subnet id "
                              ".../providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/"
                              "{name}.");
        goto fail;
    }
    const char *old_subnet =
        existed
            ? chsm_json_str(chsm_json_obj(chsm_json_obj(old.body, "properties"), "subnet"), "id")
            : NULL;
    if (old_subnet && !chsm_streq_ci(old_subnet, subnet_id)) {
        chsm_arm_error_target(res, 400, "CannotChangePrivateEndpointSubnet", "properties.subnet.id",
                              "The subnet of private endpoint %s cannot be changed from %s.", id,
                              old_subnet);
        goto fail;
    }
    rc = chsm_resources_get(s, vnet_id, &vnet);
    cJSON *subnet = rc == CHSM_OK ? find_subnet(vnet.body, subnet_name) : NULL;
    if (rc != CHSM_OK && rc != CHSM_ENOTFOUND) {
        chsm_provider_store_error(res, rc);
        goto fail;
    }
    if (!subnet) {
        chsm_arm_error(res, 400, "InvalidResourceReference",
                       "Resource %s referenced by resource %s was not found. Please make sure "
                       "that the referenced resource exists, and that both resources are in the "
                       "same region.",
                       subnet_id, id);
        goto fail;
    }
    const cJSON *conns = cJSON_GetObjectItem(in_props, "privateLinkServiceConnections");
    const cJSON *manual = cJSON_GetObjectItem(in_props, "manualPrivateLinkServiceConnections");
    if (cJSON_GetArraySize(conns) + cJSON_GetArraySize(manual) == 0) {
        chsm_arm_error_target(res, 400, "InvalidRequestFormat",
                              "properties.privateLinkServiceConnections",
                              "A private endpoint needs one private link service connection.");
        goto fail;
    }
    char etag[48];
    new_etag(etag, sizeof etag);
    const char *rid = existed ? old.id : id;
    doc = envelope(rid, existed ? old.name : name, PE_TYPE, loc, cJSON_GetObjectItem(in, "tags"),
                   etag);
    cJSON *p = cJSON_IsObject(in_props) ? cJSON_Duplicate(in_props, 1) : cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "properties", p);
    chsm_json_set_str(p, "provisioningState", "Succeeded");
    const cJSON *oldp = existed ? chsm_json_obj(old.body, "properties") : NULL;
    const char *guid = chsm_json_str(oldp, "resourceGuid");
    char fresh[37];
    chsm_uuid(fresh);
    chsm_json_set_str(p, "resourceGuid", guid ? guid : fresh);
    cJSON *subnet_ref = cJSON_CreateObject();
    cJSON_AddStringToObject(subnet_ref, "id", chsm_json_str(subnet, "id"));
    chsm_json_set(p, "subnet", subnet_ref);
    chsm_json_set(p, "privateLinkServiceConnections", render_connections(conns, rid, etag, 0));
    chsm_json_set(p, "manualPrivateLinkServiceConnections",
                  render_connections(manual, rid, etag, 1));
    /* The network interface and the addresses stay what they were. */
    const cJSON *old_nics = cJSON_GetObjectItem(oldp, "networkInterfaces");
    if (cJSON_GetArraySize(old_nics) > 0) {
        chsm_json_set(p, "networkInterfaces", cJSON_Duplicate(old_nics, 1));
    } else {
        const char *nic_name = chsm_json_str(in_props, "customNetworkInterfaceName");
        char uuid[37];
        chsm_uuid(uuid);
        chsm_buf nic = {0};
        if (nic_name && *nic_name)
            chsm_buf_printf(
                &nic, "/subscriptions/%s/resourceGroups/%s/providers/" NET "/networkInterfaces/%s",
                sub, rg, nic_name);
        else
            chsm_buf_printf(&nic,
                            "/subscriptions/%s/resourceGroups/%s/providers/" NET
                            "/networkInterfaces/%s.nic.%s",
                            sub, rg, name, uuid);
        cJSON *nics = cJSON_CreateArray();
        cJSON *n0 = cJSON_CreateObject();
        cJSON_AddStringToObject(n0, "id", nic.data ? nic.data : "");
        chsm_buf_free(&nic);
        cJSON_AddItemToArray(nics, n0);
        chsm_json_set(p, "networkInterfaces", nics);
    }
    chsm_json_set(p, "ipConfigurations", cJSON_CreateArray());
    const cJSON *old_dns = cJSON_GetObjectItem(oldp, "customDnsConfigs");
    if (cJSON_GetArraySize(old_dns) > 0) {
        chsm_json_set(p, "customDnsConfigs", cJSON_Duplicate(old_dns, 1));
    } else {
        chsm_resource_query q = {.type = PE_TYPE, .subscription = sub};
        rc = chsm_resources_list(s, &q, &pes, &npes);
        if (rc != CHSM_OK) {
            chsm_provider_store_error(res, rc);
            goto fail;
        }
        const cJSON *first = cJSON_GetArrayItem(conns, 0);
        if (!first)
            first = cJSON_GetArrayItem(manual, 0);
        const cJSON *fp = chsm_json_obj(first, "properties");
        char fqdns[MAX_FQDNS][256];
        int nf = target_fqdns(
            req->app, chsm_json_str(fp, "privateLinkServiceId"),
            cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(fp, "groupIds"), 0)),
            fqdns);
        unsigned long base = subnet_base(subnet);
        unsigned long host = 4; /* Azure keeps .0-.3 */
        cJSON *dns = cJSON_CreateArray();
        for (int i = 0; i < nf; i++) {
            char ip[20];
            do {
                unsigned long a = base + host++;
                snprintf(ip, sizeof ip, "%lu.%lu.%lu.%lu", (a >> 24) & 255, (a >> 16) & 255,
                         (a >> 8) & 255, a & 255);
            } while (ip_used(pes, npes, chsm_json_str(subnet, "id"), rid, ip) && host < 65536);
            cJSON *cfg = cJSON_CreateObject();
            cJSON_AddStringToObject(cfg, "fqdn", fqdns[i]);
            cJSON *ips = cJSON_AddArrayToObject(cfg, "ipAddresses");
            cJSON_AddItemToArray(ips, cJSON_CreateString(ip));
            cJSON_AddItemToArray(dns, cfg);
        }
        chsm_json_set(p, "customDnsConfigs", dns);
    }
    link_subnet(subnet, rid, 1);
    set_etag(vnet.body);
    chsm_resource r = {.id = (char *)rid,
                       .type = PE_TYPE,
                       .name = existed ? old.name : (char *)name,
                       .subscription = (char *)sub,
                       .resource_group = (char *)rg,
                       .body = doc,
                       .created_ms = old.created_ms};
    rc = chsm_resources_put(s, &r);
    if (rc == CHSM_OK)
        rc = chsm_resources_put(s, &vnet);
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
    } else {
        chsm_arm_json(res, existed ? 200 : 201, doc);
        doc = NULL;
    }
    goto out;
fail:
    chsm_store_rollback(s);
out:
    chsm_resources_free(pes, npes);
    cJSON_Delete(doc);
    cJSON_Delete(in);
    chsm_resource_clear(&old);
    chsm_resource_clear(&vnet);
    free(loc);
    free(id);
}

/* load_pe is load_vnet_ for the route's private endpoint. */
static int load_pe(chsm_request *req, chsm_response *res, chsm_resource *r, int missing_ok)
{
    const char *rg = chsm_request_param(req, "resourceGroupName");
    memset(r, 0, sizeof *r);
    if (chsm_arm_require_resource_group(req, res, chsm_request_param(req, "subscriptionId"), rg))
        return 1;
    char *id = pe_id_of(req);
    int rc = id ? chsm_resources_get(req->app->store, id, r) : CHSM_ENOMEM;
    free(id);
    if (rc == CHSM_ENOTFOUND && missing_ok)
        return 2;
    if (rc == CHSM_ENOTFOUND)
        not_found(res, PE_TYPE, chsm_request_param(req, "privateEndpointName"), rg);
    else if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    return rc != CHSM_OK;
}

static void get_pe(chsm_request *req, chsm_response *res)
{
    chsm_resource r;
    if (load_pe(req, res, &r, 0))
        return;
    chsm_arm_json(res, 200, r.body);
    r.body = NULL;
    chsm_resource_clear(&r);
}

static void delete_pe(chsm_request *req, chsm_response *res)
{
    chsm_store *s = req->app->store;
    int rc = chsm_store_begin(s);
    if (rc != CHSM_OK) {
        chsm_provider_store_error(res, rc);
        return;
    }
    chsm_resource r, vnet = {0};
    int missing = load_pe(req, res, &r, 1);
    if (missing) {
        chsm_store_rollback(s);
        if (missing == 2)
            chsm_arm_json(res, 204, NULL);
        return;
    }
    /* Unlink it from its subnet, if the network is still there. */
    const char *subnet_id =
        chsm_json_str(chsm_json_obj(chsm_json_obj(r.body, "properties"), "subnet"), "id");
    char vnet_id[600];
    const char *subnet_name = split_subnet_id(subnet_id, vnet_id, sizeof vnet_id);
    rc = chsm_resources_delete(s, r.id);
    if (rc == CHSM_OK && subnet_name && chsm_resources_get(s, vnet_id, &vnet) == CHSM_OK) {
        cJSON *sn = find_subnet(vnet.body, subnet_name);
        if (sn) {
            link_subnet(sn, r.id, 0);
            set_etag(vnet.body);
            rc = chsm_resources_put(s, &vnet);
        }
    }
    if (rc == CHSM_OK)
        rc = chsm_store_commit(s);
    else
        chsm_store_rollback(s);
    chsm_resource_clear(&r);
    chsm_resource_clear(&vnet);
    if (rc != CHSM_OK)
        chsm_provider_store_error(res, rc);
    else
        chsm_arm_json(res, 200, NULL);
}

static void list_pes(chsm_request *req, chsm_response *res)
{
    list_type(req, res, PE_TYPE);
}

#define SUBP "/subscriptions/{subscriptionId}"
#define RGP SUBP "/resourceGroups/{resourceGroupName}"
#define VN "/providers/" VNET_TYPE
#define VNN VN "/{virtualNetworkName}"
#define SN VNN "/subnets/{subnetName}"
#define PE "/providers/" PE_TYPE
#define PEN PE "/{privateEndpointName}"
#define V chsm_api_network

static const chsm_route routes[] = {
    {"GET", SUBP VN, list_vnets, "virtualNetworks/list", V, 0},
    {"GET", RGP VN, list_vnets, "virtualNetworks/list", V, 0},
    {"PUT", RGP VNN, put_vnet, "virtualNetworks/write", V, 0},
    {"GET", RGP VNN, get_vnet, "virtualNetworks/read", V, 0},
    {"DELETE", RGP VNN, delete_vnet, "virtualNetworks/delete", V, 0},
    {"GET", RGP VNN "/subnets", list_subnets, "virtualNetworks/subnets/list", V, 0},
    {"PUT", RGP SN, put_subnet, "virtualNetworks/subnets/write", V, 0},
    {"GET", RGP SN, get_subnet, "virtualNetworks/subnets/read", V, 0},
    {"DELETE", RGP SN, delete_subnet, "virtualNetworks/subnets/delete", V, 0},
    {"GET", SUBP PE, list_pes, "privateEndpoints/list", V, 0},
    {"GET", RGP PE, list_pes, "privateEndpoints/list", V, 0},
    {"PUT", RGP PEN, put_pe, "privateEndpoints/write", V, 0},
    {"GET", RGP PEN, get_pe, "privateEndpoints/read", V, 0},
    {"DELETE", RGP PEN, delete_pe, "privateEndpoints/delete", V, 0},
};

const chsm_provider chsm_provider_network = {"Microsoft.Network", routes, CHSM_COUNT(routes), NULL};
