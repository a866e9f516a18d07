/* snapshot.c - format-2 snapshots (binary, one record per key) and the reading of both formats.
 *
 * Format 2 payload (big-endian, docs/backup-format.md):
 *   u32 format (2)
 *   u32 H, then H bytes of JSON: {"cluster": {...}, "users": [...]}
 *   u32 K, the number of keys, then K records:
 *     u64 source handle, u32 M, M bytes: the key object as stored (JSON, with owner and
 *     sharedWith), u16 N, N bytes: the key material in the clear
 * and nothing after the last record. */
#include "hsm/snapshot.h"

#include "app/app.h"
#include "crypto/keys.h"
#include "hsm/model.h"
#include "hsm/repo.h"
#include "util/json.h"
#include "util/status.h"
#include "util/text.h"

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where a checked format-2 record's parts are, as offsets into the payload: the import
 * does not read the records again. */
typedef struct key_ref {
    uint32_t meta_off, meta_len, material_off;
    uint32_t key_id_off, klass_off, owner_off;
    uint16_t material_len, key_id_len, klass_len, owner_len; /* lengths as raw JSON text */
} key_ref;

struct chsm_hsm_snapshot {
    int format;
    cJSON *tree; /* format 1: the whole document; format 2: the header */
    const unsigned char *payload;
    size_t nkeys;
    key_ref *refs;     /* format 2: nkeys of them */
    char (*names)[32]; /* format 2: the users' names lowercased, sorted */
    size_t nnames;
};

static int bad(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "the backup content is invalid: %s", what);
    return CHSM_EINVAL;
}

/* ---- writing ---- */

typedef struct write_ctx {
    chsm_backup_writer *w;
    chsm_hsm_sealer *sealer;
    uint32_t count;
    unsigned char plain[CHSM_CRYPTO_KEY_MAX_DER];
} write_ctx;

/* write_key appends one record: the row's key object as stored and its material opened. */
static int write_key(void *ctx_, const chsm_hsm_key_row *row)
{
    write_ctx *ctx = ctx_;
    if (row->sealed_len <= CHSM_HSM_SEAL_OVERHEAD ||
        row->sealed_len > CHSM_CRYPTO_KEY_MAX_DER + CHSM_HSM_SEAL_OVERHEAD ||
        row->meta_len > CHSM_HSM_SNAPSHOT_MAX_META)
        return CHSM_EIO;
    size_t n = row->sealed_len - CHSM_HSM_SEAL_OVERHEAD;
    int rc =
        chsm_hsm_sealer_open(ctx->sealer, row->handle, row->sealed, row->sealed_len, ctx->plain);
    if (rc != CHSM_OK)
        return rc;
    chsm_backup_writer_put_u64(ctx->w, (uint64_t)row->handle);
    chsm_backup_writer_put_u32(ctx->w, (uint32_t)row->meta_len);
    chsm_backup_writer_put(ctx->w, row->meta, row->meta_len);
    chsm_backup_writer_put_u16(ctx->w, (unsigned)n);
    chsm_backup_writer_put(ctx->w, ctx->plain, n);
    chsm_crypto_key_wipe(ctx->plain, n);
    ctx->count++;
    return ctx->w->failed;
}

/* header_json is the cluster and its users (caller frees). */
static char *header_json(const chsm_hsm_cluster *c, const chsm_hsm_user *users, size_t nusers)
{
    cJSON *root = chsm_hsm_snapshot_head(CHSM_HSM_SNAPSHOT_FORMAT_2, c, users, nusers);
    char *text = root ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

int chsm_hsm_snapshot_write(struct chsm_app *app, const char *resource_id, chsm_backup_writer *w)
{
    chsm_hsm_cluster c;
    int rc = chsm_hsm_repo_cluster_get(app->store, resource_id, &c);
    if (rc != CHSM_OK)
        return rc;
    chsm_hsm_user *users = NULL;
    size_t nusers = 0;
    rc = chsm_hsm_repo_users_list(app->store, resource_id, &users, &nusers);
    if (rc != CHSM_OK)
        return rc;
    char *header = header_json(&c, users, nusers);
    free(users);
    if (!header)
        return CHSM_ENOMEM;
    size_t hlen = strlen(header);
    chsm_backup_writer_put_u32(w, CHSM_HSM_SNAPSHOT_FORMAT_2);
    chsm_backup_writer_put_u32(w, (uint32_t)hlen);
    chsm_backup_writer_put(w, header, hlen);
    chsm_crypto_key_wipe(header, hlen); /* password hashes */
    free(header);
    /* Room for the keys up front: growing a buffer of tens of MB copies it. */
    int count = chsm_hsm_repo_keys_count(app->store, resource_id);
    if (count < 0)
        return count;
    chsm_backup_writer_reserve(w, (size_t)count * 512);
    size_t count_at = chsm_backup_writer_payload_len(w);
    chsm_backup_writer_put_u32(w, 0); /* the key count, patched below */
    write_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return CHSM_ENOMEM;
    ctx->w = w;
    rc = chsm_hsm_sealer_new(app, &c, &ctx->sealer);
    if (rc == CHSM_OK)
        rc = chsm_hsm_repo_keys_each(app->store, resource_id, write_key, ctx);
    if (rc == CHSM_OK)
        chsm_backup_writer_patch_u32(w, count_at, ctx->count);
    chsm_hsm_sealer_free(ctx->sealer);
    chsm_crypto_key_wipe(ctx->plain, sizeof ctx->plain);
    free(ctx);
    if (rc == CHSM_OK && w->failed)
        rc = w->failed;
    return rc;
}

/* ---- a bounded reader over the payload ---- */

typedef struct reader {
    const unsigned char *p;
    size_t len, pos;
} reader;

static int get_u16(reader *r, unsigned *v)
{
    if (r->len - r->pos < 2)
        return 0;
    *v = ((unsigned)r->p[r->pos] << 8) | r->p[r->pos + 1];
    r->pos += 2;
    return 1;
}

static int get_u32(reader *r, uint32_t *v)
{
    if (r->len - r->pos < 4)
        return 0;
    const unsigned char *b = r->p + r->pos;
    *v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    r->pos += 4;
    return 1;
}

static int get_u64(reader *r, uint64_t *v)
{
    if (r->len - r->pos < 8)
        return 0;
    *v = 0;
    for (int i = 0; i < 8; i++)
        *v = (*v << 8) | r->p[r->pos + (size_t)i];
    r->pos += 8;
    return 1;
}

/* get_span points at the next n bytes. */
static int get_span(reader *r, size_t n, const unsigned char **out)
{
    if (r->len - r->pos < n)
        return 0;
    *out = r->p + r->pos;
    r->pos += n;
    return 1;
}

/* ---- a strict JSON scanner for one key object, without allocating ----
 *
 * It checks that the stored text is exactly one JSON object (RFC 8259: UTF-8, no raw control
 * characters, no \u0000 or lone surrogates, nesting at most SCAN_DEPTH) and picks out the
 * top-level members a restore needs, matching names in any case as cJSON_GetObjectItem does.
 * A wanted name that appears twice is refused: readers would see only the first. */

#define SCAN_DEPTH 32
#define SCAN_MAX_SHARES 1024

typedef struct span {
    const char *p; /* raw JSON text of a string's contents (between the quotes), or NULL */
    size_t n;
} span;

typedef struct key_fields {
    span key_id, klass, type, owner;
    size_t nshares;
    int has_shared_with;          /* the member exists (an array of strings) */
    int has_forbidden;            /* a "handle" or "material" member (they are not stored) */
    span shares[SCAN_MAX_SHARES]; /* last: only nshares of them are set */
} key_fields;

typedef struct scanner {
    const char *p, *end;
} scanner;

static void skip_ws(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return 0;
        *v = (*v << 4) | (unsigned)d;
    }
    return 1;
}

/* utf8_len is the length of the well-formed UTF-8 sequence at p (0 if it is not one). */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* plain_char[c] is 1 for a byte that stands for itself in a JSON string: printable ASCII other
 * than '"' (0x22) and '\\' (0x5c). */
#define ONES16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char plain_char[256] = {
    [0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20-0x2f */
    ONES16,                                                  /* 0x30-0x3f */
    ONES16,                                                  /* 0x40-0x4f */
    1,          1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50-0x5f */
    ONES16,                                                  /* 0x60-0x6f */
    ONES16,                                                  /* 0x70-0x7f */
};

/* plain_word tells whether 8 bytes are all plain string characters: none is '"', '\\', a
 * control character (< 0x20) or non-ASCII (>= 0x80). Uses the "has a byte below n" test
 * (v - n * ones) & ~v & highs, exact for n <= 0x80, on v, v ^ '"' and v ^ '\\'. */
static int plain_word(const char *p)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t v;
    memcpy(&v, p, 8);
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    uint64_t bad = (v & highs) | ((v - ones * 0x20) & ~v & highs) | ((q - ones) & ~q & highs) |
                   ((b - ones) & ~b & highs);
    return bad == 0;
}

/* scan_string checks a string at s->p (at its opening quote) and leaves s->p after it; out gets
 * its raw contents. */
static int scan_string(scanner *s, span *out)
{
    if (s->p >= s->end || *s->p != '"')
        return 0;
    const char *start = ++s->p;
    for (;;) {
        /* the common case: a run of plain ASCII (not '"', '\\' or a control character) */
        const char *p = s->p, *end = s->end;
        while (end - p >= 8 && plain_word(p))
            p += 8;
        while (p < end && plain_char[(unsigned char)*p])
            p++;
        s->p = p;
        if (p >= end || *p == '"')
            break;
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            if (s->end - s->p < 2)
                return 0;
            char e = s->p[1];
            if (e == 'u') {
                unsigned v, lo;
                if (s->end - s->p < 6 || !hex4(s->p + 2, &v) || v == 0)
                    return 0;
                s->p += 6;
                if (v >= 0xDC00 && v <= 0xDFFF)
                    return 0; /* a low surrogate first */
                if (v >= 0xD800 && v <= 0xDBFF) {
                    if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
                        !hex4(s->p + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return 0;
                    s->p += 6;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == '\0')
                return 0;
            s->p += 2;
            continue;
        }
        size_t n = utf8_len((const unsigned char *)s->p, (const unsigned char *)s->end);
        if (!n)
            return 0;
        s->p += n;
    }
    if (s->p >= s->end)
        return 0;
    out->p = start;
    out->n = (size_t)(s->p - start);
    s->p++;
    return 1;
}

static int scan_number(scanner *s)
{
    const char *p = s->p;
    if (p < s->end && *p == '-')
        p++;
    if (p >= s->end || !isdigit((unsigned char)*p))
        return 0;
    if (*p == '0')
        p++;
    else
        while (p < s->end && isdigit((unsigned char)*p))
            p++;
    if (p < s->end && *p == '.') {
        p++;
        if (p >= s->end || !isdigit((unsigned char)*p))
            return 0;
        while (p < s->end && isdigit((unsigned char)*p))
            p++;
    }
    if (p < s->end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < s->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= s->end || !isdigit((unsigned char)*p))
            return 0;
        while (p < s->end && isdigit((unsigned char)*p))
            p++;
    }
    s->p = p;
    return 1;
}

static int scan_literal(scanner *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return 0;
    s->p += n;
    return 1;
}

static int scan_value(scanner *s, int depth);

/* scan_members scans an object's members after its '{' (up to and with its '}'); at depth 1
 * the wanted members go into f (NULL below the top level). */
static int scan_members(scanner *s, int depth, key_fields *f);

static int scan_array(scanner *s, int depth)
{
    s->p++; /* '[' */
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 1;
    }
    for (;;) {
        if (!scan_value(s, depth + 1))
            return 0;
        skip_ws(s);
        if (s->p >= s->end)
            return 0;
        if (*s->p == ']') {
            s->p++;
            return 1;
        }
        if (*s->p++ != ',')
            return 0;
        skip_ws(s);
    }
}

static int scan_value(scanner *s, int depth)
{
    if (depth > SCAN_DEPTH)
        return 0;
    skip_ws(s);
    if (s->p >= s->end)
        return 0;
    span ignored;
    switch (*s->p) {
    case '{':
        s->p++;
        return scan_members(s, depth, NULL);
    case '[':
        return scan_array(s, depth);
    case '"':
        return scan_string(s, &ignored);
    case 't':
        return scan_literal(s, "true");
    case 'f':
        return scan_literal(s, "false");
    case 'n':
        return scan_literal(s, "null");
    default:
        return scan_number(s);
    }
}

/* The top-level members a restore reads, as member_kind classifies names. */
enum { M_OTHER, M_KEY_ID, M_CLASS, M_TYPE, M_OWNER, M_SHARED_WITH, M_FORBIDDEN };

/* member_kind classifies a member name's raw text in any case, as cJSON_GetObjectItem matches
 * names. Names with escapes are M_OTHER (no wanted name needs one). */
static int member_kind(const span *name)
{
    static const struct {
        const char *word;
        size_t n;
        int kind;
    } words[] = {{"keyid", 5, M_KEY_ID},
                 {"class", 5, M_CLASS},
                 {"type", 4, M_TYPE},
                 {"owner", 5, M_OWNER},
                 {"sharedwith", 10, M_SHARED_WITH},
                 {"handle", 6, M_FORBIDDEN},
                 {"material", 8, M_FORBIDDEN}};
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
        if (name->n != words[w].n)
            continue;
        size_t i = 0; /* the words are lowercase letters: c | 0x20 folds only letters to them */
        while (i < name->n && ((unsigned char)name->p[i] | 0x20) == words[w].word[i])
            i++;
        if (i == name->n)
            return words[w].kind;
    }
    return M_OTHER;
}

/* take_string scans a wanted string member's value into *out (twice: refused). */
static int take_string(scanner *s, span *out)
{
    if (out->p)
        return 0;
    skip_ws(s);
    return scan_string(s, out);
}

/* take_shares scans sharedWith: an array of strings. */
static int take_shares(scanner *s, key_fields *f)
{
    if (f->has_shared_with)
        return 0;
    f->has_shared_with = 1;
    skip_ws(s);
    if (s->p >= s->end || *s->p != '[')
        return 0;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 1;
    }
    for (;;) {
        if (f->nshares == SCAN_MAX_SHARES || !scan_string(s, &f->shares[f->nshares]))
            return 0;
        f->nshares++;
        skip_ws(s);
        if (s->p >= s->end)
            return 0;
        if (*s->p == ']') {
            s->p++;
            return 1;
        }
        if (*s->p++ != ',')
            return 0;
        skip_ws(s);
    }
}

static int scan_members(scanner *s, int depth, key_fields *f)
{
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 1;
    }
    for (;;) {
        span name;
        skip_ws(s);
        if (!scan_string(s, &name))
            return 0;
        skip_ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            return 0;
        int ok, kind = f ? member_kind(&name) : M_OTHER;
        if (kind == M_KEY_ID)
            ok = take_string(s, &f->key_id);
        else if (kind == M_CLASS)
            ok = take_string(s, &f->klass);
        else if (kind == M_TYPE)
            ok = take_string(s, &f->type);
        else if (kind == M_OWNER)
            ok = take_string(s, &f->owner);
        else if (kind == M_SHARED_WITH)
            ok = take_shares(s, f);
        else {
            if (kind == M_FORBIDDEN)
                f->has_forbidden = 1;
            ok = scan_value(s, depth + 1);
        }
        if (!ok)
            return 0;
        skip_ws(s);
        if (s->p >= s->end)
            return 0;
        if (*s->p == '}') {
            s->p++;
            return 1;
        }
        if (*s->p++ != ',')
            return 0;
    }
}

/* scan_key_object checks that text is exactly one JSON object and fills f. */
static int scan_key_object(const char *text, size_t n, key_fields *f)
{
    memset(f, 0, offsetof(key_fields, shares));
    scanner s = {text, text + n};
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return 0;
    s.p++;
    if (!scan_members(&s, 1, f))
        return 0;
    skip_ws(&s);
    return s.p == s.end;
}

/* plain_text decodes a string's raw contents into out when they are printable ASCII (what
 * keyIds, classes, types and usernames are; a keyId may hold '"' or '\\', which JSON escapes),
 * NUL-terminated; 0 otherwise. */
static int plain_text(const char *raw, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)raw[i];
        if (c == '\\') { /* checked by scan_string: a complete escape follows */
            char e = raw[++i];
            if (e == 'u') {
                if (!hex4(raw + i + 1, &c))
                    return 0;
                i += 4;
            } else {
                c = e == '"' || e == '\\' || e == '/' ? (unsigned char)e : 0;
            }
        }
        if (c < 0x20 || c > 0x7e || o + 1 >= outlen)
            return 0;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return o > 0;
}

/* ---- reading ---- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* user_known tells whether a snapshot user is named name (any case). */
static int user_known(const chsm_hsm_snapshot *snap, const char *name)
{
    char low[32];
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof low)
        return 0;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    return bsearch(low, snap->names, snap->nnames, sizeof *snap->names, name_cmp) != NULL;
}

/* A key record read and checked: its fields point into the payload or into the struct. */
typedef struct key_record {
    uint64_t handle;
    const char *meta;
    size_t meta_len;
    const unsigned char *material;
    size_t material_len;
    char key_id[129];
    char klass[8];
    char type[16];
    char owner[32];
    key_fields f;
} key_record;

/* read_record reads and checks the next key record of r. */
static int read_record(const chsm_hsm_snapshot *snap, reader *r, key_record *k, char *err,
                       size_t errlen)
{
    uint32_t m;
    unsigned n;
    const unsigned char *meta;
    if (!get_u64(r, &k->handle) || !get_u32(r, &m) || m > CHSM_HSM_SNAPSHOT_MAX_META ||
        !get_span(r, m, &meta) || !get_u16(r, &n) || n == 0 || n > CHSM_CRYPTO_KEY_MAX_DER ||
        !get_span(r, n, &k->material))
        return bad(err, errlen, "a key record is truncated or malformed");
    k->meta = (const char *)meta;
    k->meta_len = m;
    k->material_len = n;
    if (!scan_key_object(k->meta, m, &k->f) || k->f.has_forbidden || !k->f.key_id.p ||
        !plain_text(k->f.key_id.p, k->f.key_id.n, k->key_id, sizeof k->key_id) || !k->f.klass.p ||
        !plain_text(k->f.klass.p, k->f.klass.n, k->klass, sizeof k->klass) || !k->f.type.p ||
        !plain_text(k->f.type.p, k->f.type.n, k->type, sizeof k->type) || !k->f.owner.p ||
        !plain_text(k->f.owner.p, k->f.owner.n, k->owner, sizeof k->owner) ||
        k->f.key_id.n > UINT16_MAX || k->f.owner.n > UINT16_MAX || k->f.klass.n > UINT16_MAX)
        return bad(err, errlen, "a key entry is malformed");
    if (!chsm_hsm_material_fits(k->klass, k->type, k->material, k->material_len))
        return bad(err, errlen, "a key's material does not match its type");
    if (!user_known(snap, k->owner))
        return bad(err, errlen, "a role assignment names an unknown user");
    for (size_t i = 0; i < k->f.nshares; i++) {
        char who[32];
        if (!plain_text(k->f.shares[i].p, k->f.shares[i].n, who, sizeof who) ||
            !user_known(snap, who))
            return bad(err, errlen, "a role assignment names an unknown user");
    }
    return CHSM_OK;
}

/* open_v2 reads the header and checks every record. */
static int open_v2(chsm_hsm_snapshot *snap, const unsigned char *payload, size_t n, int max_keys,
                   char *err, size_t errlen)
{
    reader r = {payload, n, 0};
    uint32_t format, hlen, count;
    const unsigned char *header;
    if (!get_u32(&r, &format) || format != CHSM_HSM_SNAPSHOT_FORMAT_2)
        return bad(err, errlen, "unknown snapshot format");
    if (!get_u32(&r, &hlen) || !get_span(&r, hlen, &header))
        return bad(err, errlen, "the header is truncated");
    char jerr[128];
    int rc = chsm_json_parse_rc((const char *)header, hlen, &snap->tree, jerr, sizeof jerr);
    if (rc == CHSM_ENOMEM)
        return rc;
    if (rc != CHSM_OK || !cJSON_IsObject(snap->tree))
        return bad(err, errlen, "the header is not a JSON object");
    const cJSON *fmt = cJSON_GetObjectItem(snap->tree, "format");
    if (!cJSON_IsNumber(fmt) || fmt->valuedouble != CHSM_HSM_SNAPSHOT_FORMAT_2)
        return bad(err, errlen, "unknown snapshot format");
    const cJSON *users = cJSON_GetObjectItem(snap->tree, "users");
    rc = chsm_hsm_check_users(users, err, errlen);
    if (rc != CHSM_OK)
        return rc;
    size_t nusers = (size_t)cJSON_GetArraySize(users);
    snap->names = calloc(nusers, sizeof *snap->names);
    if (!snap->names)
        return CHSM_ENOMEM;
    const cJSON *u;
    cJSON_ArrayForEach(u, users)
    {
        const char *name = chsm_json_str(u, "username"); /* checked: 1..31 bytes */
        size_t i = 0;
        for (; name[i]; i++)
            snap->names[snap->nnames][i] = (char)tolower((unsigned char)name[i]);
        snap->names[snap->nnames][i] = '\0';
        snap->nnames++;
    }
    qsort(snap->names, snap->nnames, sizeof *snap->names, name_cmp);
    if (!get_u32(&r, &count))
        return bad(err, errlen, "the key count is missing");
    if (max_keys < 0 || count > (uint32_t)max_keys)
        return bad(err, errlen, "too many or no users, or too many keys");
    /* A record takes at least 8 + 4 + 2 + 1 bytes: a count the payload cannot hold is refused
     * before anything is allocated for it. */
    if (count > (n - r.pos) / 15)
        return bad(err, errlen, "a key record is truncated or malformed");
    snap->payload = payload;
    snap->nkeys = count;
    snap->refs = malloc((count ? count : 1) * sizeof *snap->refs);
    key_record *k = malloc(sizeof *k);
    rc = snap->refs && k ? CHSM_OK : CHSM_ENOMEM;
    for (uint32_t i = 0; rc == CHSM_OK && i < count; i++) {
        rc = read_record(snap, &r, k, err, errlen);
        if (rc != CHSM_OK)
            break;
        key_ref *ref = &snap->refs[i];
        ref->meta_off = (uint32_t)((const unsigned char *)k->meta - payload);
        ref->meta_len = (uint32_t)k->meta_len;
        ref->material_off = (uint32_t)(k->material - payload);
        ref->material_len = (uint16_t)k->material_len;
        ref->key_id_off = (uint32_t)((const unsigned char *)k->f.key_id.p - payload);
        ref->key_id_len = (uint16_t)k->f.key_id.n;
        ref->klass_off = (uint32_t)((const unsigned char *)k->f.klass.p - payload);
        ref->klass_len = (uint16_t)k->f.klass.n;
        ref->owner_off = (uint32_t)((const unsigned char *)k->f.owner.p - payload);
        ref->owner_len = (uint16_t)k->f.owner.n;
    }
    free(k);
    if (rc == CHSM_OK && r.pos != r.len)
        rc = bad(err, errlen, "trailing bytes after the last key");
    return rc;
}

int chsm_hsm_snapshot_open(int blob_version, const unsigned char *payload, size_t n, int max_keys,
                           chsm_hsm_snapshot **out, char *err, size_t errlen)
{
    *out = NULL;
    chsm_hsm_snapshot *snap = calloc(1, sizeof *snap);
    if (!snap)
        return CHSM_ENOMEM;
    int rc;
    if (blob_version == 1) {
        snap->format = 1;
        snap->tree = cJSON_ParseWithLength((const char *)payload, n);
        rc = snap->tree ? CHSM_OK : CHSM_EINVAL;
        if (rc != CHSM_OK) {
            snprintf(err, errlen, "its content is not valid JSON");
        } else {
            rc = chsm_hsm_snapshot_check(snap->tree, max_keys, err, errlen);
            snap->nkeys = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(snap->tree, "keys"));
        }
    } else if (blob_version == 2) {
        snap->format = 2;
        rc = open_v2(snap, payload, n, max_keys, err, errlen);
    } else {
        rc = bad(err, errlen, "unknown snapshot format");
    }
    if (rc != CHSM_OK) {
        chsm_hsm_snapshot_free(snap);
        return rc;
    }
    *out = snap;
    return CHSM_OK;
}

size_t chsm_hsm_snapshot_keys(const chsm_hsm_snapshot *snap)
{
    return snap ? snap->nkeys : 0;
}

void chsm_hsm_snapshot_free(chsm_hsm_snapshot *snap)
{
    if (!snap)
        return;
    cJSON_Delete(snap->tree);
    free(snap->refs);
    free(snap->names);
    free(snap);
}

/* ---- importing ---- */

/* copy_part decodes a checked string of the payload at off (n bytes of JSON text) into out. */
static void copy_part(const unsigned char *payload, uint32_t off, size_t n, char *out,
                      size_t outlen)
{
    if (!plain_text((const char *)payload + off, n, out, outlen))
        out[0] = '\0'; /* not reached: open checked it */
}

/* import_v2 stores the checked records under new handles of c, sealed for c, their key objects
 * as they were stored. */
static int import_v2(struct chsm_app *app, const char *resource_id, const chsm_hsm_snapshot *snap,
                     chsm_hsm_cluster *c)
{
    unsigned char *sealed = malloc(CHSM_CRYPTO_KEY_MAX_DER + CHSM_HSM_SEAL_OVERHEAD);
    if (!sealed)
        return CHSM_ENOMEM;
    chsm_hsm_sealer *sl = NULL;
    chsm_hsm_key_inserter *ins = NULL;
    int rc = chsm_hsm_sealer_new(app, c, &sl);
    if (rc == CHSM_OK)
        rc = chsm_hsm_repo_key_inserter_new(app->store, resource_id, snap->nkeys, &ins);
    for (size_t i = 0; rc == CHSM_OK && i < snap->nkeys; i++) {
        const key_ref *ref = &snap->refs[i];
        char key_id[129], klass[8], owner[32];
        copy_part(snap->payload, ref->key_id_off, ref->key_id_len, key_id, sizeof key_id);
        copy_part(snap->payload, ref->klass_off, ref->klass_len, klass, sizeof klass);
        copy_part(snap->payload, ref->owner_off, ref->owner_len, owner, sizeof owner);
        chsm_hsm_key_row row;
        memset(&row, 0, sizeof row);
        row.handle = c->next_handle++;
        row.key_id = key_id;
        row.klass = klass;
        row.owner = owner;
        row.meta = (const char *)snap->payload + ref->meta_off;
        row.meta_len = ref->meta_len;
        row.sealed = sealed;
        row.sealed_len = ref->material_len + (size_t)CHSM_HSM_SEAL_OVERHEAD;
        rc = chsm_hsm_sealer_seal(sl, row.handle, snap->payload + ref->material_off,
                                  ref->material_len, sealed);
        if (rc == CHSM_OK)
            rc = chsm_hsm_repo_key_inserter_add(ins, &row);
    }
    int frc = chsm_hsm_repo_key_inserter_finish(ins);
    if (rc == CHSM_OK)
        rc = frc;
    chsm_hsm_sealer_free(sl);
    chsm_crypto_key_wipe(sealed, CHSM_CRYPTO_KEY_MAX_DER + CHSM_HSM_SEAL_OVERHEAD);
    free(sealed);
    return rc;
}

int chsm_hsm_snapshot_import(struct chsm_app *app, const char *resource_id,
                             const chsm_hsm_snapshot *snap, char *err, size_t errlen)
{
    if (snap->format == 1)
        return chsm_hsm_import(app, resource_id, snap->tree, err, errlen);
    chsm_hsm_cluster c;
    int rc = chsm_hsm_repo_cluster_get(app->store, resource_id, &c);
    if (rc != CHSM_OK) {
        snprintf(err, errlen, "the destination cluster has no HSM state");
        return rc;
    }
    int max_user_id = 1;
    rc = chsm_hsm_import_users(app, resource_id, cJSON_GetObjectItem(snap->tree, "users"),
                               &max_user_id);
    if (rc != CHSM_OK)
        return rc;
    c.next_user_id = max_user_id + 1;
    rc = import_v2(app, resource_id, snap, &c);
    if (rc != CHSM_OK)
        return rc;
    snprintf(c.activation, sizeof c.activation, "%s", CHSM_HSM_ACTIVE);
    c.activated_ms = chsm_now_ms();
    return chsm_hsm_repo_cluster_update(app->store, &c);
}
