#define CRYPTO_DL_IMPL 1
#include "artifact/crypto_dl.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/dl.h"

struct crypto_dl crypto_dl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *load_error; /* why load() failed; set once, kept for every later caller */

#define SYM(name)                               \
    {                                           \
#name, offsetof(struct crypto_dl, name) \
    }
static const struct dl_symbol symbols[] = {
    SYM(BIO_free),
    SYM(BIO_new_file),
    SYM(BIO_new_mem_buf),
    SYM(BN_bin2bn),
    SYM(BN_free),
    SYM(CRYPTO_free),
    SYM(CRYPTO_malloc),
    SYM(d2i_PUBKEY),
    SYM(ECDSA_SIG_free),
    SYM(ECDSA_SIG_new),
    SYM(ECDSA_SIG_set0),
    SYM(ERR_clear_error),
    SYM(EVP_DigestVerify),
    SYM(EVP_DigestVerifyInit),
    SYM(EVP_MD_CTX_free),
    SYM(EVP_MD_CTX_new),
    SYM(EVP_PKEY_free),
    SYM(EVP_PKEY_get0_type_name),
    SYM(EVP_PKEY_get_group_name),
    SYM(EVP_PKEY_is_a),
    SYM(EVP_sha256),
    SYM(i2d_ECDSA_SIG),
    SYM(OBJ_sn2nid),
    SYM(PEM_read_bio),
    SYM(PEM_read_bio_X509),
    SYM(X509_free),
    SYM(X509_STORE_add_cert),
};

static void load(void)
{
    (void)dl_load_table("libcrypto.so.3", symbols, sizeof(symbols) / sizeof(symbols[0]), &crypto_dl, sizeof(crypto_dl),
                        &load_error);
}

int crypto_dl_load(struct error **err)
{
    pthread_once(&once, load);
    if (crypto_dl.EVP_sha256)
        return 0;
    return error_set(err, 0, "%s", load_error);
}
