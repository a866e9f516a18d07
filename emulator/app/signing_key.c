/* signing_key.c - loading or making the token signing key (see signing_key.h). */
#include "app/signing_key.h"

#include "app/app.h"
#include "app/files.h"
#include "crypto/jwt.h"
#include "store/settings.h"
#include "util/status.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Data dirs made before the key moved to a file keep it in this setting. */
#define LEGACY_SETTING "jwt.signing_key"
#define KEY_FILE "token-signing-key.pem"
#define KEY_FILE_MAX (64 * 1024)

struct chsm_signing_key {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int thread_started;
    int done;    /* generation finished (key set, or failed) */
    int durable; /* fsync the key file (--fsync) */
    chsm_jwt_key *key;
    char path[1200];
};

/* make_key generates and saves a new key; runs on its own thread. */
static void *make_key(void *arg)
{
    chsm_signing_key *sk = arg;
    chsm_jwt_key *key = NULL;
    int rc = chsm_crypto_jwt_key_generate(&key);
    char *pem = rc == CHSM_OK ? chsm_crypto_jwt_key_to_pem(key) : NULL;
    /* Saved before anyone can use it, so no token is ever signed by a key a
     * restart would lose. A file rather than the store: this thread must not
     * wait for the store's lock, which a caller waiting for the key may hold. */
    rc = pem ? chsm_write_file_atomic(sk->path, pem, strlen(pem), 0600, sk->durable) : CHSM_ENOMEM;
    free(pem);
    if (rc != CHSM_OK) {
        chsm_crypto_jwt_key_free(key);
        key = NULL;
    }
    pthread_mutex_lock(&sk->mu);
    sk->key = key;
    sk->done = 1;
    pthread_cond_broadcast(&sk->cv);
    pthread_mutex_unlock(&sk->mu);
    return NULL;
}

int chsm_signing_key_open(chsm_app *app, char *err, size_t errlen)
{
    chsm_signing_key *sk = calloc(1, sizeof *sk);
    if (!sk)
        return CHSM_ENOMEM;
    pthread_mutex_init(&sk->mu, NULL);
    pthread_cond_init(&sk->cv, NULL);
    snprintf(sk->path, sizeof sk->path, "%s/%s", app->data_dir, KEY_FILE);
    sk->durable = app->cfg.fsync;
    app->signing_key = sk;
    unsigned char *val = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = chsm_settings_get(app->store, LEGACY_SETTING, &val, &len);
    if (rc == CHSM_ENOTFOUND) {
        rc = chsm_read_file(sk->path, KEY_FILE_MAX, &text, &len);
        val = (unsigned char *)text;
    }
    if (rc == CHSM_OK) {
        rc = chsm_crypto_jwt_key_from_pem((const char *)val, &sk->key);
        free(val);
        sk->done = 1;
    } else if (rc == CHSM_ENOTFOUND) {
        rc = CHSM_OK; /* made by chsm_signing_key_start, or by the first get */
    }
    if (rc != CHSM_OK)
        snprintf(err, errlen, "cannot load or create the token signing key: %s",
                 chsm_status_str(rc));
    return rc;
}

/* start_locked starts the maker thread unless the key is there or coming (mu held). */
static int start_locked(chsm_signing_key *sk)
{
    if (sk->done || sk->thread_started)
        return CHSM_OK;
    if (pthread_create(&sk->thread, NULL, make_key, sk) != 0) {
        sk->done = 1; /* no key: token requests answer 500 rather than wait forever */
        return CHSM_ENOMEM;
    }
    sk->thread_started = 1;
    return CHSM_OK;
}

int chsm_signing_key_start(chsm_app *app)
{
    chsm_signing_key *sk = app->signing_key;
    if (!sk)
        return CHSM_EINVAL;
    pthread_mutex_lock(&sk->mu);
    int rc = start_locked(sk);
    pthread_mutex_unlock(&sk->mu);
    return rc;
}

chsm_jwt_key *chsm_signing_key_get(chsm_app *app)
{
    chsm_signing_key *sk = app->signing_key;
    if (!sk)
        return NULL;
    pthread_mutex_lock(&sk->mu);
    start_locked(sk);
    while (!sk->done)
        pthread_cond_wait(&sk->cv, &sk->mu);
    chsm_jwt_key *key = sk->key;
    pthread_mutex_unlock(&sk->mu);
    return key;
}

void chsm_signing_key_close(chsm_app *app)
{
    chsm_signing_key *sk = app->signing_key;
    if (!sk)
        return;
    if (sk->thread_started)
        pthread_join(sk->thread, NULL);
    chsm_crypto_jwt_key_free(sk->key);
    pthread_cond_destroy(&sk->cv);
    pthread_mutex_destroy(&sk->mu);
    free(sk);
    app->signing_key = NULL;
}
