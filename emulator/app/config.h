/* config.h - the emulator's configuration: defaults, flags and their parsing. */
#ifndef CHSM_APP_CONFIG_H
#define CHSM_APP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CHSM_MAX_OP_DURATIONS 32
#define CHSM_MAX_FIXTURES 8

typedef struct chsm_op_duration {
    char kind[48]; /* operation kind or its last word: "backup" matches "cloudHsmClusters/backup" */
    int64_t ms;
    int steps; /* progress steps (1: none); arm/timing.h */
} chsm_op_duration;

enum chsm_log_level { CHSM_LOG_ERROR = 0, CHSM_LOG_WARN, CHSM_LOG_INFO, CHSM_LOG_DEBUG };

typedef struct chsm_config {
    char arm_host[64]; /* listen address of the ARM listener */
    int arm_port;      /* 0 picks a free port */
    char blob_host[64];
    int blob_port;
    char data_dir[1024];
    int in_memory;       /* keep state in memory (and blobs in a temp dir removed at exit) */
    int tls;             /* serve HTTPS (default) */
    char tls_cert[1024]; /* PEM chain; empty: generated into the data dir */
    char tls_key[1024];
    int threads;           /* libmicrohttpd pool size; 0 = number of cores */
    size_t arm_body_limit; /* bytes */
    size_t blob_body_limit;
    int request_timeout_s;
    int strict_auth;
    int loose_api_version;
    int log_level;
    chsm_op_duration op_durations[CHSM_MAX_OP_DURATIONS];
    int nop_durations;
    char faults_file[1024]; /* fault rules loaded at start */
    int seeded;             /* --seed given: deterministic ids */
    uint64_t seed;
    int no_control;   /* turn /_emulator/ QA controls off */
    int fsync;        /* fsync every commit: survive power loss, not only process crashes */
    int key_pool;     /* RSA-2048 keys kept ready (crypto/keypool.h); 0: none */
    int hsm_max_keys; /* key handles per simulated cluster (CHSM_HSM_MAX_KEYS by default) */
    char fixtures[CHSM_MAX_FIXTURES][1024]; /* loaded at start, in order */
    int nfixtures;
} chsm_config;

/* chsm_config_defaults fills cfg with the embedded defaults. */
void chsm_config_defaults(chsm_config *cfg);
/* chsm_config_parse applies command-line flags; returns 0, 1 when --help or
 * --version was handled (text in out), or CHSM_EINVAL with a message in out. */
int chsm_config_parse(chsm_config *cfg, int argc, char **argv, char *out, size_t outlen);
/* chsm_config_parse_duration parses "250ms", "2s", "1m" or a bare number of
 * seconds into ms; returns CHSM_EINVAL when malformed. */
int chsm_config_parse_duration(const char *text, int64_t *ms);
/* chsm_config_usage returns the --help text. */
const char *chsm_config_usage(void);

#endif
