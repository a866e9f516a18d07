/* names.c - account, container, blob and metadata naming rules. */
#include "blob/names.h"

#include <string.h>

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int chsm_blob_check_account_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 3 || n > 24)
        return CHSM_BLOB_NAME_BAD_LENGTH;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(name[i]))
            return CHSM_BLOB_NAME_BAD_CHARS;
    return CHSM_BLOB_NAME_OK;
}

int chsm_blob_check_container_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '-') {
            if (i == 0 || i == n - 1 || name[i + 1] == '-')
                return CHSM_BLOB_NAME_BAD_CHARS;
        } else if (!is_lower_alnum(c)) {
            return CHSM_BLOB_NAME_BAD_CHARS;
        }
    }
    if (n < 3 || n > 63)
        return CHSM_BLOB_NAME_BAD_LENGTH;
    return CHSM_BLOB_NAME_OK;
}

/* utf8_chars counts the characters of s, or returns -1 if s is not valid
 * UTF-8 (overlong forms, surrogates and code points past U+10FFFF included). */
static long utf8_chars(const unsigned char *s)
{
    long count = 0;
    while (*s) {
        unsigned c = *s;
        int extra;
        unsigned cp;
        if (c < 0x80) {
            extra = 0;
            cp = c;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return -1;
        }
        s++;
        for (int i = 0; i < extra; i++, s++) {
            if ((*s & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (*s & 0x3F);
        }
        static const unsigned min_cp[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        count++;
    }
    return count;
}

int chsm_blob_check_blob_name(const char *name)
{
    if (!name || !*name)
        return CHSM_BLOB_NAME_BAD_LENGTH;
    long chars = utf8_chars((const unsigned char *)name);
    if (chars < 0)
        return CHSM_BLOB_NAME_BAD_CHARS;
    if (chars > CHSM_BLOB_MAX_NAME)
        return CHSM_BLOB_NAME_BAD_LENGTH;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7F || *p == '\\')
            return CHSM_BLOB_NAME_BAD_CHARS;
    /* Dot segments would be folded away by URL normalisation (and must never
     * reach anything path-like); a trailing '.' or '/' likewise. */
    const char *seg = name;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t n = slash ? (size_t)(slash - seg) : strlen(seg);
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return CHSM_BLOB_NAME_BAD_CHARS;
        if (!slash)
            break;
        seg = slash + 1;
    }
    size_t len = strlen(name);
    if (name[len - 1] == '.' || name[len - 1] == '/')
        return CHSM_BLOB_NAME_BAD_CHARS;
    return CHSM_BLOB_NAME_OK;
}

int chsm_blob_valid_metadata_name(const char *name)
{
    if (!name || !*name || strlen(name) > 256)
        return 0;
    for (size_t i = 0; name[i]; i++) {
        char c = name[i];
        int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return 0;
    }
    return 1;
}
