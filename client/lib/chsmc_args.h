/* chsmc_args.h - command-line parsing for chsmctl and the utility shells:
 * GNU-style long options (--name VALUE, --name=VALUE, -x VALUE), shell-like
 * splitting of a command line, and the utilities' "-flag value" arguments. */
#ifndef CHSMC_ARGS_H
#define CHSMC_ARGS_H

#include <stddef.h>

#define CHSMC_MAX_OPTS 48
#define CHSMC_MAX_POSITIONALS 32

/* One accepted option. */
typedef struct chsmc_opt_spec {
    const char *name; /* long name without "--", e.g. "resource-group" */
    char short_name;  /* e.g. 'g', or 0 */
    int takes_value;  /* 1: needs a value; 0: a flag */
} chsmc_opt_spec;

/* The result of parsing: values[i] belongs to specs[i] (NULL when absent; a
 * given flag has the value "1"); positionals in order. Pointers point into argv. */
typedef struct chsmc_opts {
    const chsmc_opt_spec *specs;
    size_t nspecs;
    const char *values[CHSMC_MAX_OPTS];
    const char *positionals[CHSMC_MAX_POSITIONALS];
    int npositionals;
} chsmc_opts;

/* chsmc_opts_parse parses argv[0..argc) (no program name) against specs. "--" ends
 * options. Returns CHSMC_OK, or CHSMC_EUSAGE with a message in err (unknown option,
 * missing value, value given to a flag, too many positionals). */
int chsmc_opts_parse(const chsmc_opt_spec *specs, size_t nspecs, int argc, char **argv,
                     chsmc_opts *out, char *err, size_t errlen);
/* chsmc_opts_get returns the value of the option with long name, or NULL. */
const char *chsmc_opts_get(const chsmc_opts *o, const char *name);
/* chsmc_opts_has tells whether the option with long name was given. */
int chsmc_opts_has(const chsmc_opts *o, const char *name);

/* chsmc_split_line splits a command line into words: blanks separate, '...' and
 * "..." quote (backslash escapes inside double quotes and outside quotes), '#' at the
 * start of a word begins a comment. Returns CHSMC_OK with *argv (caller frees with
 * chsmc_argv_free) and *argc, or CHSMC_EUSAGE for an unterminated quote. */
int chsmc_split_line(const char *line, char ***argv, int *argc);
/* chsmc_argv_free frees what chsmc_split_line returned. */
void chsmc_argv_free(char **argv, int argc);

/* chsmc_dash_value returns the word after the first "-flag" (exact, case-sensitive)
 * in argv, or NULL when absent or last. */
const char *chsmc_dash_value(int argc, char **argv, const char *flag);
/* chsmc_dash_flag tells whether "-flag" occurs in argv. */
int chsmc_dash_flag(int argc, char **argv, const char *flag);
/* chsmc_dash_check verifies that every word of argv is a known "-flag" (from
 * with_value, each followed by a value, or from bare flags) or the value of one.
 * Lists are NULL-terminated. Returns CHSMC_OK or CHSMC_EUSAGE with a message. */
int chsmc_dash_check(int argc, char **argv, const char *const *with_value, const char *const *bare,
                     char *err, size_t errlen);

/* chsmc_parse_int parses a whole decimal integer in [min, max]; CHSMC_OK or CHSMC_EUSAGE. */
int chsmc_parse_int(const char *s, long long min, long long max, long long *out);

#endif
