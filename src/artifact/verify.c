/* manifest.sig verification (artifact-format.md §4): RSA PKCS#1 v1.5 with SHA-256
 * (any modulus size) and ECDSA P-256 with SHA-256, the signature given as raw
 * r||s (64 bytes, what mender-artifact writes) or ASN.1 DER (HSM signers). */
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "artifact/artifact_int.h"
#include "util/fs.h"
#include "util/mem.h"

#define KEY_FILE_MAX (64u * 1024)

enum key_kind { KEY_RSA, KEY_EC_P256 };

struct artifact_keys {
    EVP_PKEY **pk;
    enum key_kind *kind;
    size_t n;
};

size_t artifact_keys_count(const struct artifact_keys *keys) { return keys ? keys->n : 0; }

void artifact_keys_free(struct artifact_keys *keys)
{
    if (!keys)
        return;
    for (size_t i = 0; i < keys->n; i++)
        EVP_PKEY_free(keys->pk[i]);
    free(keys->pk);
    free(keys->kind);
    free(keys);
}

static EVP_PKEY *load_one(const char *path, enum key_kind *kind, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    if (fs_read_file(path, KEY_FILE_MAX, &buf, &len) < 0) {
        artifact_seterr(err, errlen, "%s: cannot read public key: %s", path, strerror(errno));
        return NULL;
    }
    /* Only "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo): read the PEM block
     * ourselves, since PEM_read_bio_PUBKEY also takes PKCS#1 "RSA PUBLIC KEY". */
    EVP_PKEY *pk = NULL;
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    char *pem_name = NULL, *pem_header = NULL;
    unsigned char *der = NULL;
    long derlen = 0;
    if (bio && PEM_read_bio(bio, &pem_name, &pem_header, &der, &derlen) == 1 && strcmp(pem_name, "PUBLIC KEY") == 0) {
        const unsigned char *p = der;
        pk = d2i_PUBKEY(NULL, &p, derlen);
        if (pk && p != der + derlen) { /* trailing bytes inside the block */
            EVP_PKEY_free(pk);
            pk = NULL;
        }
    }
    OPENSSL_free(pem_name);
    OPENSSL_free(pem_header);
    OPENSSL_free(der);
    BIO_free(bio);
    free(buf);
    ERR_clear_error();
    if (!pk) {
        artifact_seterr(err, errlen, "%s: not a PEM public key (expected -----BEGIN PUBLIC KEY-----)", path);
        return NULL;
    }
    if (EVP_PKEY_is_a(pk, "RSA")) {
        *kind = KEY_RSA;
        return pk;
    }
    if (EVP_PKEY_is_a(pk, "EC")) {
        char group[80] = "";
        size_t glen = 0;
        if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) == 1 &&
            OBJ_sn2nid(group) == NID_X9_62_prime256v1) {
            *kind = KEY_EC_P256;
            return pk;
        }
        ERR_clear_error();
        artifact_seterr(err, errlen, "%s: unsupported EC curve %s (only P-256)", path, group[0] ? group : "(unnamed)");
        EVP_PKEY_free(pk);
        return NULL;
    }
    artifact_seterr(err, errlen, "%s: unsupported key type %s (only RSA and EC P-256)", path,
                    EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "unknown");
    EVP_PKEY_free(pk);
    return NULL;
}

struct artifact_keys *artifact_keys_load(const struct strv *paths, char *err, size_t errlen)
{
    struct artifact_keys *keys = xcalloc(1, sizeof(*keys));
    size_t n = paths ? paths->n : 0;
    if (n) {
        keys->pk = xcalloc(n, sizeof(*keys->pk));
        keys->kind = xcalloc(n, sizeof(*keys->kind));
    }
    for (size_t i = 0; i < n; i++) {
        EVP_PKEY *pk = load_one(paths->v[i], &keys->kind[keys->n], err, errlen);
        if (!pk) {
            artifact_keys_free(keys);
            return NULL;
        }
        keys->pk[keys->n++] = pk;
    }
    return keys;
}

/* ---- base64 ------------------------------------------------------------------------- */

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Standard base64 with '=' padding, ASCII whitespace ignored, otherwise strict:
 * complete 4-character groups, padding only at the end, zero unused bits.
 * Returns a malloc'ed buffer, or NULL if invalid. */
static unsigned char *b64_decode(const char *in, size_t inlen, size_t *outlen)
{
    char *s = xmalloc(inlen + 1);
    size_t n = 0;
    for (size_t i = 0; i < inlen; i++)
        if (!is_ascii_space(in[i]))
            s[n++] = in[i];
    unsigned char *out = NULL;
    if (n == 0 || n % 4 != 0)
        goto bad;
    size_t pad = 0;
    if (s[n - 1] == '=')
        pad = s[n - 2] == '=' ? 2 : 1;
    out = xmalloc(n / 4 * 3);
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int v[4];
        for (int j = 0; j < 4; j++) {
            if (last && (size_t)j >= 4 - pad) {
                v[j] = 0;
                continue;
            }
            v[j] = b64val((unsigned char)s[i + j]);
            if (v[j] < 0)
                goto bad;
        }
        unsigned long w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 | (unsigned long)v[2] << 6 |
                          (unsigned long)v[3];
        if (last && pad == 2 && (v[1] & 0x0f))
            goto bad;
        if (last && pad == 1 && (v[2] & 0x03))
            goto bad;
        out[o++] = (unsigned char)(w >> 16);
        if (!(last && pad == 2))
            out[o++] = (unsigned char)(w >> 8);
        if (!(last && pad >= 1))
            out[o++] = (unsigned char)w;
    }
    free(s);
    *outlen = o;
    return out;
bad:
    free(s);
    free(out);
    return NULL;
}

/* ---- verification ------------------------------------------------------------------- */

/* Raw r||s (64 bytes) to DER. Returns an OPENSSL_malloc'ed buffer or NULL. */
static unsigned char *ec_raw_to_der(const unsigned char *sig, int *derlen)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return NULL;
    }
    int l = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    if (l <= 0) {
        OPENSSL_free(der);
        return NULL;
    }
    *derlen = l;
    return der;
}

static bool verify_one(EVP_PKEY *pk, const unsigned char *sig, size_t siglen, const unsigned char *msg,
                       size_t msglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
              EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

int artifact_verify_signature(const struct artifact_keys *keys, const char *sig_b64, size_t sig_len,
                              const unsigned char *manifest, size_t manifest_len, char *err, size_t errlen)
{
    if (!keys || keys->n == 0) {
        artifact_seterr(err, errlen, "no public keys to verify the manifest signature with");
        return -1;
    }
    size_t siglen = 0;
    unsigned char *sig = b64_decode(sig_b64 ? sig_b64 : "", sig_b64 ? sig_len : 0, &siglen);
    if (!sig) {
        artifact_seterr(err, errlen, "manifest.sig: invalid base64 signature");
        return -1;
    }
    bool ok = false;
    for (size_t i = 0; i < keys->n && !ok; i++) {
        if (keys->kind[i] == KEY_EC_P256 && siglen == 64) {
            int derlen = 0;
            unsigned char *der = ec_raw_to_der(sig, &derlen);
            if (der)
                ok = verify_one(keys->pk[i], der, (size_t)derlen, manifest, manifest_len);
            OPENSSL_free(der);
            if (ok)
                break;
        }
        /* RSA, ECDSA in DER form (a 64-byte DER signature is possible, if unlikely). */
        ok = verify_one(keys->pk[i], sig, siglen, manifest, manifest_len);
    }
    free(sig);
    if (!ok) {
        artifact_seterr(err, errlen, "wrong manifest signature or wrong key");
        return -1;
    }
    return 0;
}
