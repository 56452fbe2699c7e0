/* OpenSSL's libcrypto, loaded with dlopen when a signature is to be checked (verify.c) or
 * a ServerCertificate added (repo/fetch.c). Linked, libcrypto.so is mapped and relocated
 * at every start: about 1.5 MiB of resident memory, 0.4 MiB of it private (its
 * relocated tables), for an install that checks no signature (docs/benchmarks.md,
 * "Memory"). SHA-256 does not need it: sha256.c. A file that includes this header calls
 * the functions below through the pointers crypto_dl_load() fills; include it after
 * the OpenSSL headers. */
#ifndef MO_CRYPTO_DL_H
#define MO_CRYPTO_DL_H

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "util/error.h"

/* Each member has the type of the function it points to, from OpenSSL's own headers. */
#define CRYPTO_DL_FN(name) __typeof__(name) *name
struct crypto_dl {
    CRYPTO_DL_FN(BIO_free);
    CRYPTO_DL_FN(BIO_new_file);
    CRYPTO_DL_FN(BIO_new_mem_buf);
    CRYPTO_DL_FN(BN_bin2bn);
    CRYPTO_DL_FN(BN_free);
    CRYPTO_DL_FN(CRYPTO_free);
    CRYPTO_DL_FN(CRYPTO_malloc);
    CRYPTO_DL_FN(d2i_PUBKEY);
    CRYPTO_DL_FN(ECDSA_SIG_free);
    CRYPTO_DL_FN(ECDSA_SIG_new);
    CRYPTO_DL_FN(ECDSA_SIG_set0);
    CRYPTO_DL_FN(ERR_clear_error);
    CRYPTO_DL_FN(EVP_DigestVerify);
    CRYPTO_DL_FN(EVP_DigestVerifyInit);
    CRYPTO_DL_FN(EVP_MD_CTX_free);
    CRYPTO_DL_FN(EVP_MD_CTX_new);
    CRYPTO_DL_FN(EVP_PKEY_free);
    CRYPTO_DL_FN(EVP_PKEY_get0_type_name);
    CRYPTO_DL_FN(EVP_PKEY_get_group_name);
    CRYPTO_DL_FN(EVP_PKEY_is_a);
    CRYPTO_DL_FN(EVP_sha256);
    CRYPTO_DL_FN(i2d_ECDSA_SIG);
    CRYPTO_DL_FN(OBJ_sn2nid);
    CRYPTO_DL_FN(PEM_read_bio);
    CRYPTO_DL_FN(PEM_read_bio_X509);
    CRYPTO_DL_FN(X509_free);
    CRYPTO_DL_FN(X509_STORE_add_cert);
};
#undef CRYPTO_DL_FN
extern struct crypto_dl crypto_dl;

/* Loads libcrypto.so.3 once (thread-safe). 0, or -1 with *err set; the functions above
 * may be called only after a 0. */
MO_MUST_CHECK int crypto_dl_load(struct error **err);

#ifndef CRYPTO_DL_IMPL
#define BIO_free crypto_dl.BIO_free
#define BIO_new_file crypto_dl.BIO_new_file
#define BIO_new_mem_buf crypto_dl.BIO_new_mem_buf
#define BN_bin2bn crypto_dl.BN_bin2bn
#define BN_free crypto_dl.BN_free
#define CRYPTO_free crypto_dl.CRYPTO_free
#define CRYPTO_malloc crypto_dl.CRYPTO_malloc
#define d2i_PUBKEY crypto_dl.d2i_PUBKEY
#define ECDSA_SIG_free crypto_dl.ECDSA_SIG_free
#define ECDSA_SIG_new crypto_dl.ECDSA_SIG_new
#define ECDSA_SIG_set0 crypto_dl.ECDSA_SIG_set0
#define ERR_clear_error crypto_dl.ERR_clear_error
#define EVP_DigestVerify crypto_dl.EVP_DigestVerify
#define EVP_DigestVerifyInit crypto_dl.EVP_DigestVerifyInit
#define EVP_MD_CTX_free crypto_dl.EVP_MD_CTX_free
#define EVP_MD_CTX_new crypto_dl.EVP_MD_CTX_new
#define EVP_PKEY_free crypto_dl.EVP_PKEY_free
#define EVP_PKEY_get0_type_name crypto_dl.EVP_PKEY_get0_type_name
#define EVP_PKEY_get_group_name crypto_dl.EVP_PKEY_get_group_name
#define EVP_PKEY_is_a crypto_dl.EVP_PKEY_is_a
#define EVP_sha256 crypto_dl.EVP_sha256
#define i2d_ECDSA_SIG crypto_dl.i2d_ECDSA_SIG
#define OBJ_sn2nid crypto_dl.OBJ_sn2nid
#define PEM_read_bio crypto_dl.PEM_read_bio
#define PEM_read_bio_X509 crypto_dl.PEM_read_bio_X509
#define X509_free crypto_dl.X509_free
#define X509_STORE_add_cert crypto_dl.X509_STORE_add_cert
#endif

#endif
