/* args.c - option parsing, line splitting and utility-style arguments. */
#include "chsmc_args.h"

#include "chsmc.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find_long(const chsmc_opt_spec *specs, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(specs[i].name) == len && strncmp(specs[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static int find_short(const chsmc_opt_spec *specs, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (specs[i].short_name && specs[i].short_name == c)
            return (int)i;
    return -1;
}

int chsmc_opts_parse(const chsmc_opt_spec *specs, size_t nspecs, int argc, char **argv,
                     chsmc_opts *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->specs = specs;
    out->nspecs = nspecs;
    if (nspecs > CHSMC_MAX_OPTS) {
        snprintf(err, errlen, "too many option specifications");
        return CHSMC_EUSAGE;
    }
    int only_positionals = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int idx = -1;
        const char *value = NULL;
        if (!only_positionals && strcmp(a, "--") == 0) {
            only_positionals = 1;
            continue;
        }
        if (!only_positionals && a[0] == '-' && a[1] == '-' && a[2]) {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            idx = find_long(specs, nspecs, name, len);
            if (idx < 0) {
                snprintf(err, errlen, "unknown option '--%.*s'", (int)len, name);
                return CHSMC_EUSAGE;
            }
            if (eq) {
                if (!specs[idx].takes_value) {
                    snprintf(err, errlen, "option '--%s' takes no value", specs[idx].name);
                    return CHSMC_EUSAGE;
                }
                value = eq + 1;
            }
        } else if (!only_positionals && a[0] == '-' && a[1] && a[1] != '-' && !a[2]) {
            idx = find_short(specs, nspecs, a[1]);
            if (idx < 0) {
                snprintf(err, errlen, "unknown option '%s'", a);
                return CHSMC_EUSAGE;
            }
        } else if (!only_positionals && a[0] == '-' && a[1] && a[1] != '-' &&
                   !isdigit((unsigned char)a[1])) {
            snprintf(err, errlen, "unknown option '%s' (long options start with --)", a);
            return CHSMC_EUSAGE;
        } else {
            if (out->npositionals >= CHSMC_MAX_POSITIONALS) {
                snprintf(err, errlen, "too many arguments");
                return CHSMC_EUSAGE;
            }
            out->positionals[out->npositionals++] = a;
            continue;
        }
        if (specs[idx].takes_value && !value) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option '--%s' needs a value", specs[idx].name);
                return CHSMC_EUSAGE;
            }
            value = argv[++i];
        }
        out->values[idx] = specs[idx].takes_value ? value : "1";
    }
    return CHSMC_OK;
}

const char *chsmc_opts_get(const chsmc_opts *o, const char *name)
{
    for (size_t i = 0; i < o->nspecs; i++)
        if (strcmp(o->specs[i].name, name) == 0)
            return o->values[i];
    return NULL;
}

int chsmc_opts_has(const chsmc_opts *o, const char *name)
{
    return chsmc_opts_get(o, name) != NULL;
}

void chsmc_argv_free(char **argv, int argc)
{
    if (!argv)
        return;
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

static int push_word(char ***argv, int *argc, int *cap, chsmc_buf *w)
{
    if (*argc + 1 >= *cap) {
        int ncap = *cap ? *cap * 2 : 8;
        char **n = realloc(*argv, (size_t)ncap * sizeof *n);
        if (!n)
            return CHSMC_ENOMEM;
        *argv = n;
        *cap = ncap;
    }
    if (!w->data && chsmc_buf_append(w, "", 0) != CHSMC_OK)
        return CHSMC_ENOMEM;
    (*argv)[(*argc)++] = w->data;
    (*argv)[*argc] = NULL;
    memset(w, 0, sizeof *w);
    return CHSMC_OK;
}

int chsmc_split_line(const char *line, char ***argv_out, int *argc_out)
{
    char **argv = NULL;
    int argc = 0, cap = 0, rc = CHSMC_OK;
    chsmc_buf w = {0};
    int in_word = 0;
    const char *p = line;
    while (rc == CHSMC_OK) {
        char c = *p;
        if (c == '\0' || c == '\n' || c == '\r' || ((c == ' ' || c == '\t') && in_word)) {
            if (in_word)
                rc = push_word(&argv, &argc, &cap, &w);
            in_word = 0;
            if (c == '\0')
                break;
            p++;
            continue;
        }
        if (c == ' ' || c == '\t') {
            p++;
            continue;
        }
        if (c == '#' && !in_word)
            break;
        in_word = 1;
        if (c == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end) {
                rc = CHSMC_EUSAGE;
                break;
            }
            rc = chsmc_buf_append(&w, p + 1, (size_t)(end - p - 1));
            p = end + 1;
        } else if (c == '"') {
            p++;
            while (*p && *p != '"' && rc == CHSMC_OK) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                rc = chsmc_buf_append(&w, p, 1);
                p++;
            }
            if (*p != '"') {
                rc = CHSMC_EUSAGE;
                break;
            }
            p++;
        } else {
            if (c == '\\' && p[1])
                p++;
            rc = chsmc_buf_append(&w, p, 1);
            p++;
        }
    }
    if (rc == CHSMC_OK && !argv) {
        argv = calloc(1, sizeof *argv);
        if (!argv)
            rc = CHSMC_ENOMEM;
    }
    chsmc_buf_free(&w);
    if (rc != CHSMC_OK) {
        chsmc_argv_free(argv, argc);
        *argv_out = NULL;
        *argc_out = 0;
        return rc;
    }
    *argv_out = argv;
    *argc_out = argc;
    return CHSMC_OK;
}

const char *chsmc_dash_value(int argc, char **argv, const char *flag)
{
    for (int i = 0; i + 1 < argc; i++)
        if (argv[i][0] == '-' && strcmp(argv[i] + 1, flag) == 0)
            return argv[i + 1];
    return NULL;
}

int chsmc_dash_flag(int argc, char **argv, const char *flag)
{
    for (int i = 0; i < argc; i++)
        if (argv[i][0] == '-' && strcmp(argv[i] + 1, flag) == 0)
            return 1;
    return 0;
}

static int in_list(const char *const *list, const char *s)
{
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

int chsmc_dash_check(int argc, char **argv, const char *const *with_value, const char *const *bare,
                     char *err, size_t errlen)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            snprintf(err, errlen, "unexpected argument '%s'", a);
            return CHSMC_EUSAGE;
        }
        if (in_list(bare, a + 1))
            continue;
        if (!in_list(with_value, a + 1)) {
            snprintf(err, errlen, "unknown option '%s'", a);
            return CHSMC_EUSAGE;
        }
        if (i + 1 >= argc) {
            snprintf(err, errlen, "option '%s' needs a value", a);
            return CHSMC_EUSAGE;
        }
        i++;
    }
    return CHSMC_OK;
}

int chsmc_parse_int(const char *s, long long min, long long max, long long *out)
{
    if (!s || !*s)
        return CHSMC_EUSAGE;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < min || v > max)
        return CHSMC_EUSAGE;
    *out = v;
    return CHSMC_OK;
}
