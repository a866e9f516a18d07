/* xml.c - XML writer and a small strict parser (no DTDs, no external entities). */
#include "blob/xml.h"

#include "util/text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_MAX_DEPTH 32
#define XML_MAX_NODES 200000

void chsm_xml_begin(chsm_buf *b)
{
    chsm_buf_puts(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>");
}

void chsm_xml_text(chsm_buf *b, const char *text)
{
    if (!text)
        return;
    const char *run = text;
    for (const char *p = text; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            break;
        }
        if (rep) {
            chsm_buf_append(b, run, (size_t)(p - run));
            chsm_buf_puts(b, rep);
            run = p + 1;
        }
    }
    chsm_buf_puts(b, run);
}

void chsm_xml_open(chsm_buf *b, const char *tag)
{
    chsm_buf_printf(b, "<%s>", tag);
}

void chsm_xml_close(chsm_buf *b, const char *tag)
{
    chsm_buf_printf(b, "</%s>", tag);
}

void chsm_xml_elem(chsm_buf *b, const char *tag, const char *text)
{
    if (!text || !*text) {
        chsm_buf_printf(b, "<%s />", tag);
        return;
    }
    chsm_xml_open(b, tag);
    chsm_xml_text(b, text);
    chsm_xml_close(b, tag);
}

void chsm_xml_elem_u64(chsm_buf *b, const char *tag, uint64_t n)
{
    chsm_buf_printf(b, "<%s>%" PRIu64 "</%s>", tag, n, tag);
}

/* ---- parser ---- */

typedef struct parser {
    const char *p, *end;
    char *err;
    size_t errlen;
    size_t nodes;
} parser;

static int fail(parser *ps, const char *msg)
{
    if (ps->err && ps->errlen)
        snprintf(ps->err, ps->errlen, "%s", msg);
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':' || (unsigned char)c >= 0x80;
}

static int starts(parser *ps, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lit, n) == 0;
}

/* skip_until moves past the next occurrence of lit; -1 if absent. */
static int skip_until(parser *ps, const char *lit)
{
    size_t n = strlen(lit);
    while ((size_t)(ps->end - ps->p) >= n) {
        if (memcmp(ps->p, lit, n) == 0) {
            ps->p += n;
            return 0;
        }
        ps->p++;
    }
    return -1;
}

static void skip_space(parser *ps)
{
    while (ps->p < ps->end && is_space(*ps->p))
        ps->p++;
}

/* skip_misc skips whitespace, comments and processing instructions. */
static int skip_misc(parser *ps)
{
    for (;;) {
        skip_space(ps);
        if (starts(ps, "<!--")) {
            if (skip_until(ps, "-->") < 0)
                return fail(ps, "unterminated comment");
        } else if (starts(ps, "<?")) {
            if (skip_until(ps, "?>") < 0)
                return fail(ps, "unterminated processing instruction");
        } else if (starts(ps, "<!")) {
            return fail(ps, "DTDs are not accepted");
        } else {
            return 0;
        }
    }
}

static char *read_name(parser *ps)
{
    const char *s = ps->p;
    while (ps->p < ps->end && is_name_char(*ps->p))
        ps->p++;
    if (ps->p == s)
        return NULL;
    return chsm_strndup(s, (size_t)(ps->p - s));
}

static void put_utf8(chsm_buf *b, unsigned long cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    chsm_buf_append(b, out, n);
}

/* decode_entity reads one &...; at ps->p into b. */
static int decode_entity(parser *ps, chsm_buf *b)
{
    const char *semi = memchr(ps->p, ';', (size_t)(ps->end - ps->p));
    if (!semi || semi - ps->p > 12)
        return fail(ps, "malformed entity reference");
    size_t n = (size_t)(semi - ps->p) + 1;
    static const struct {
        const char *ent;
        char ch;
    } named[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strlen(named[i].ent) == n && memcmp(ps->p, named[i].ent, n) == 0) {
            chsm_buf_append(b, &named[i].ch, 1);
            ps->p = semi + 1;
            return 0;
        }
    }
    if (n > 3 && ps->p[1] == '#') {
        int hex = ps->p[2] == 'x';
        const char *digits = ps->p + (hex ? 3 : 2);
        if (digits == semi)
            return fail(ps, "malformed character reference");
        unsigned long cp = 0;
        for (const char *d = digits; d < semi; d++) {
            int v;
            if (*d >= '0' && *d <= '9')
                v = *d - '0';
            else if (hex && *d >= 'a' && *d <= 'f')
                v = *d - 'a' + 10;
            else if (hex && *d >= 'A' && *d <= 'F')
                v = *d - 'A' + 10;
            else
                return fail(ps, "malformed character reference");
            cp = cp * (hex ? 16 : 10) + (unsigned long)v;
            if (cp > 0x10FFFF)
                return fail(ps, "character reference out of range");
        }
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail(ps, "character reference out of range");
        put_utf8(b, cp);
        ps->p = semi + 1;
        return 0;
    }
    return fail(ps, "unknown entity (only the five XML entities are accepted)");
}

static chsm_xml_node *parse_element(parser *ps, int depth);

static int add_child(chsm_xml_node *parent, chsm_xml_node *child)
{
    chsm_xml_node **c = realloc(parent->children, (parent->nchildren + 1) * sizeof *c);
    if (!c)
        return -1;
    parent->children = c;
    c[parent->nchildren++] = child;
    return 0;
}

/* skip_attributes validates name="value" pairs up to '>' or '/>'. */
static int skip_attributes(parser *ps)
{
    for (;;) {
        skip_space(ps);
        if (ps->p >= ps->end)
            return fail(ps, "unterminated start tag");
        if (*ps->p == '>' || *ps->p == '/')
            return 0;
        char *an = read_name(ps);
        if (!an)
            return fail(ps, "malformed attribute");
        free(an);
        skip_space(ps);
        if (ps->p >= ps->end || *ps->p != '=')
            return fail(ps, "attribute without a value");
        ps->p++;
        skip_space(ps);
        if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\''))
            return fail(ps, "unquoted attribute value");
        char q = *ps->p++;
        const char *close = memchr(ps->p, q, (size_t)(ps->end - ps->p));
        if (!close)
            return fail(ps, "unterminated attribute value");
        ps->p = close + 1;
    }
}

static chsm_xml_node *parse_element(parser *ps, int depth)
{
    if (depth > XML_MAX_DEPTH) {
        fail(ps, "elements nested too deeply");
        return NULL;
    }
    if (++ps->nodes > XML_MAX_NODES) {
        fail(ps, "too many elements");
        return NULL;
    }
    if (ps->p >= ps->end || *ps->p != '<') {
        fail(ps, "expected an element");
        return NULL;
    }
    ps->p++;
    chsm_xml_node *n = calloc(1, sizeof *n);
    if (!n) {
        fail(ps, "out of memory");
        return NULL;
    }
    chsm_buf text = {0};
    n->name = read_name(ps);
    if (!n->name) {
        fail(ps, "malformed element name");
        goto bad;
    }
    if (skip_attributes(ps) < 0)
        goto bad;
    if (*ps->p == '/') {
        ps->p++;
        if (ps->p >= ps->end || *ps->p != '>') {
            fail(ps, "malformed empty-element tag");
            goto bad;
        }
        ps->p++;
        n->text = chsm_strdup("");
        if (!n->text)
            goto bad;
        return n;
    }
    ps->p++; /* '>' */
    for (;;) {
        if (ps->p >= ps->end) {
            fail(ps, "unterminated element");
            goto bad;
        }
        if (starts(ps, "</")) {
            ps->p += 2;
            char *close = read_name(ps);
            int same = close && strcmp(close, n->name) == 0;
            free(close);
            skip_space(ps);
            if (!same || ps->p >= ps->end || *ps->p != '>') {
                fail(ps, "mismatched end tag");
                goto bad;
            }
            ps->p++;
            break;
        }
        if (starts(ps, "<!--")) {
            if (skip_until(ps, "-->") < 0) {
                fail(ps, "unterminated comment");
                goto bad;
            }
            continue;
        }
        if (starts(ps, "<![CDATA[")) {
            ps->p += 9;
            const char *s = ps->p;
            if (skip_until(ps, "]]>") < 0) {
                fail(ps, "unterminated CDATA section");
                goto bad;
            }
            chsm_buf_append(&text, s, (size_t)(ps->p - 3 - s));
            continue;
        }
        if (starts(ps, "<?")) {
            if (skip_until(ps, "?>") < 0) {
                fail(ps, "unterminated processing instruction");
                goto bad;
            }
            continue;
        }
        if (*ps->p == '<') {
            chsm_xml_node *child = parse_element(ps, depth + 1);
            if (!child)
                goto bad;
            if (add_child(n, child) < 0) {
                chsm_xml_free(child);
                fail(ps, "out of memory");
                goto bad;
            }
            continue;
        }
        if (*ps->p == '&') {
            if (decode_entity(ps, &text) < 0)
                goto bad;
            continue;
        }
        const char *s = ps->p;
        while (ps->p < ps->end && *ps->p != '<' && *ps->p != '&')
            ps->p++;
        chsm_buf_append(&text, s, (size_t)(ps->p - s));
    }
    if (text.failed) {
        fail(ps, "out of memory");
        goto bad;
    }
    n->text = text.len ? chsm_buf_steal(&text) : chsm_strdup("");
    chsm_buf_free(&text);
    if (!n->text)
        goto bad;
    return n;
bad:
    chsm_buf_free(&text);
    chsm_xml_free(n);
    return NULL;
}

chsm_xml_node *chsm_xml_parse(const char *data, size_t len, char *err, size_t errlen)
{
    parser ps = {data, data + len, err, errlen, 0};
    if (err && errlen)
        err[0] = '\0';
    if (memchr(data, '\0', len)) {
        fail(&ps, "the document contains a NUL byte");
        return NULL;
    }
    /* A UTF-8 byte order mark is allowed before the declaration. */
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3;
    if (skip_misc(&ps) < 0)
        return NULL;
    chsm_xml_node *root = parse_element(&ps, 0);
    if (!root)
        return NULL;
    if (skip_misc(&ps) < 0 || ps.p != ps.end) {
        if (ps.p != ps.end)
            fail(&ps, "content after the root element");
        chsm_xml_free(root);
        return NULL;
    }
    return root;
}

const chsm_xml_node *chsm_xml_child(const chsm_xml_node *n, const char *name)
{
    for (size_t i = 0; n && i < n->nchildren; i++)
        if (strcmp(n->children[i]->name, name) == 0)
            return n->children[i];
    return NULL;
}

void chsm_xml_free(chsm_xml_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nchildren; i++)
        chsm_xml_free(n->children[i]);
    free(n->children);
    free(n->name);
    free(n->text);
    free(n);
}
