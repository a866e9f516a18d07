/* conditions.c - ETags, HTTP dates, conditional headers and metadata headers. */
#include "blob/internal.h"

#include "blob/names.h"
#include "blob/xml.h"
#include "util/ids.h"
#include "util/json.h"
#include "util/text.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void chsm_blob_new_etag(int64_t ms, char out[40])
{
    /* Azure's ETags are .NET ticks in hex; a random tail keeps two changes
     * within the same millisecond apart. */
    unsigned char r[2];
    chsm_ids_random(r, sizeof r);
    unsigned long long ticks = (unsigned long long)ms * 10000ULL + 621355968000000000ULL +
                               (unsigned)((r[0] << 8) | r[1]) % 10000u;
    snprintf(out, 40, "0x%llX", ticks);
}

void chsm_blob_quoted_etag(const char *etag, char *out, size_t outlen)
{
    snprintf(out, outlen, "\"%s\"", etag);
}

int chsm_blob_parse_http_date(const char *s, int64_t *ms)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const char *comma = strchr(s, ',');
    if (!comma)
        return CHSM_EINVAL;
    int d, y, h, mi, sec;
    char mon[4], zone[8];
    if (sscanf(comma + 1, " %2d %3s %4d %2d:%2d:%2d %7s", &d, mon, &y, &h, &mi, &sec, zone) != 7)
        return CHSM_EINVAL;
    if (strcmp(zone, "GMT") != 0 && strcmp(zone, "UTC") != 0)
        return CHSM_EINVAL;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, months[i]) == 0)
            m = i;
    if (m < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return CHSM_EINVAL;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = m;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return CHSM_EINVAL;
    *ms = (int64_t)t * 1000;
    return CHSM_OK;
}

/* etag_listed tells whether etag (unquoted) is one of the comma-separated,
 * possibly quoted or weak, tags of list. */
static int etag_listed(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && p[n - 1] == ' ')
            n--;
        const char *t = p;
        if (n >= 2 && t[0] == 'W' && t[1] == '/') {
            t += 2;
            n -= 2;
        }
        if (n >= 2 && t[0] == '"' && t[n - 1] == '"') {
            t++;
            n -= 2;
        }
        if (n == elen && memcmp(t, etag, n) == 0)
            return 1;
        p = end ? end + 1 : p + strlen(p);
    }
    return 0;
}

static int is_star(const char *v)
{
    while (*v == ' ')
        v++;
    return strncmp(v, "*", 1) == 0 && strspn(v + 1, " ") == strlen(v + 1);
}

int chsm_blob_check_conditions(const chsm_request *req, int exists, const char *etag,
                               int64_t modified_ms, int read)
{
    const char *if_match = chsm_request_header(req, "If-Match");
    const char *if_none = chsm_request_header(req, "If-None-Match");
    const char *if_since = chsm_request_header(req, "If-Modified-Since");
    const char *if_unsince = chsm_request_header(req, "If-Unmodified-Since");
    int64_t modified_s = modified_ms / 1000, when = 0;
    if (if_match) {
        if (!exists || (!is_star(if_match) && !etag_listed(if_match, etag)))
            return CHSM_BLOB_COND_FAILED;
    }
    if (if_unsince && chsm_blob_parse_http_date(if_unsince, &when) == CHSM_OK && exists &&
        modified_s > when / 1000)
        return CHSM_BLOB_COND_FAILED;
    if (if_none && exists) {
        if (is_star(if_none))
            return read ? CHSM_BLOB_COND_NOT_MODIFIED : CHSM_BLOB_COND_EXISTS;
        if (etag_listed(if_none, etag))
            return read ? CHSM_BLOB_COND_NOT_MODIFIED : CHSM_BLOB_COND_FAILED;
    }
    if (if_since && chsm_blob_parse_http_date(if_since, &when) == CHSM_OK && exists &&
        modified_s <= when / 1000)
        return read ? CHSM_BLOB_COND_NOT_MODIFIED : CHSM_BLOB_COND_FAILED;
    return CHSM_BLOB_COND_OK;
}

int chsm_blob_answer_conditions(chsm_blob_ctx *x, int cond, const char *exists_code,
                                const char *exists_message)
{
    switch (cond) {
    case CHSM_BLOB_COND_OK:
        return 0;
    case CHSM_BLOB_COND_NOT_MODIFIED:
        /* 304 carries no body; Azure still names the condition. */
        chsm_response_header(x->res, "x-ms-error-code", "ConditionNotMet", 1);
        chsm_blob_empty_answer(x, 304);
        return 1;
    case CHSM_BLOB_COND_EXISTS:
        chsm_blob_error(x, 409, exists_code, exists_message, NULL);
        return 1;
    case CHSM_BLOB_COND_BAD:
        chsm_blob_error(x, 400, "InvalidInput", "One of the request inputs is not valid.", NULL);
        return 1;
    default:
        chsm_blob_error(x, 412, "ConditionNotMet",
                        "The condition specified using HTTP conditional header(s) is not met.",
                        NULL);
        return 1;
    }
}

char *chsm_blob_metadata_from_headers(chsm_blob_ctx *x)
{
    cJSON *obj = cJSON_CreateObject();
    if (!obj) {
        chsm_blob_store_error(x, CHSM_ENOMEM);
        return NULL;
    }
    size_t total = 0;
    const chsm_request *req = x->req;
    for (size_t i = 0; i < req->nheaders; i++) {
        const char *h = req->headers[i].name;
        if (!chsm_starts_with_ci(h, "x-ms-meta-"))
            continue;
        const char *name = h + strlen("x-ms-meta-");
        const char *value = req->headers[i].value;
        int dup = 0;
        for (cJSON *it = obj->child; it; it = it->next)
            if (chsm_streq_ci(it->string, name))
                dup = 1;
        /* Values are stored as JSON text: bytes that are not UTF-8 cannot be kept. */
        if (!chsm_blob_valid_metadata_name(name) || dup || !chsm_utf8_valid(value, strlen(value))) {
            cJSON_Delete(obj);
            chsm_blob_error(x, 400, "InvalidMetadata",
                            "The metadata specified is invalid. It has characters that are not "
                            "permitted.",
                            NULL);
            return NULL;
        }
        total += strlen(name) + strlen(value);
        cJSON_AddItemToObject(obj, name, cJSON_CreateString(value));
    }
    if (total > CHSM_BLOB_MAX_METADATA) {
        cJSON_Delete(obj);
        chsm_blob_error(x, 400, "MetadataTooLarge",
                        "The size of the request metadata exceeds the maximum size permitted.",
                        NULL);
        return NULL;
    }
    char *text = chsm_json_print_owned(obj);
    cJSON_Delete(obj);
    if (!text)
        chsm_blob_store_error(x, CHSM_ENOMEM);
    return text;
}

void chsm_blob_metadata_to_headers(chsm_blob_ctx *x, const char *json)
{
    cJSON *obj = json ? cJSON_Parse(json) : NULL;
    for (cJSON *it = obj ? obj->child : NULL; it; it = it->next) {
        if (!cJSON_IsString(it))
            continue;
        char name[300];
        snprintf(name, sizeof name, "x-ms-meta-%s", it->string);
        chsm_response_header(x->res, name, it->valuestring, 0);
    }
    cJSON_Delete(obj);
}

void chsm_blob_metadata_to_xml(chsm_buf *b, const char *json)
{
    cJSON *obj = json ? cJSON_Parse(json) : NULL;
    chsm_xml_open(b, "Metadata");
    for (cJSON *it = obj ? obj->child : NULL; it; it = it->next)
        if (cJSON_IsString(it) && chsm_blob_valid_metadata_name(it->string))
            chsm_xml_elem(b, it->string, it->valuestring);
    chsm_xml_close(b, "Metadata");
    cJSON_Delete(obj);
}
