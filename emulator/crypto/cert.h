/* cert.h - the emulator's TLS certificates.
 *
 * Without --tls-cert/--tls-key the emulator makes a throwaway CA and a leaf for
 * localhost names signed by it. The CA's private key is discarded at once, so the
 * CA certificate a user chooses to trust can never vouch for anything else. */
#ifndef CHSM_CRYPTO_CERT_H
#define CHSM_CRYPTO_CERT_H

#include <stddef.h>

/* The longest certificate or key PEM accepted (a chain of a few certificates fits). */
#define CHSM_CRYPTO_CERT_MAX_PEM (256 * 1024)

/* chsm_crypto_cert_generate makes a CA (EC P-256, 10 years) and an EC P-256 localhost leaf
 * (825 days) signed by it, returning both certificates and the leaf's PKCS#8 key as PEM;
 * all three caller frees; on failure describes the problem in err. */
int chsm_crypto_cert_generate(char **ca_cert_pem, char **leaf_cert_pem, char **leaf_key_pem,
                              char *err, size_t errlen);
/* chsm_crypto_cert_check_pair checks that the first certificate in cert_pem and the
 * unencrypted private key in key_pem parse and belong together; describes failures in err. */
int chsm_crypto_cert_check_pair(const char *cert_pem, const char *key_pem, char *err,
                                size_t errlen);
/* chsm_crypto_cert_verify_chain returns CHSM_OK if leaf_pem is signed by ca_pem, is currently
 * valid for TLS servers and names hostname_or_ip; CHSM_ECRYPTO if not, CHSM_EINVAL if a PEM
 * does not parse. */
int chsm_crypto_cert_verify_chain(const char *ca_pem, const char *leaf_pem,
                                  const char *hostname_or_ip);

#endif
