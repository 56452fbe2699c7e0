/* manifest.sig verification (docs/artifact-format.md): RSA PKCS#1 v1.5 with SHA-256
 * (any modulus size) and ECDSA P-256 with SHA-256, the signature given as raw
 * r||s (64 bytes, what mender-artifact writes) or ASN.1 DER (HSM signers). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "artifact/artifact.h"
#include "artifact/artifact_int.h"
#include "artifact/crypto_dl.h"
#include "util/fs.h"
#include "util/mem.h"

#define KEY_FILE_MAX (64u * 1024)

enum key_kind { KEY_RSA, KEY_EC_P256 };

struct artifact_keys {
    EVP_PKEY **pk;
    enum key_kind *kind;
    size_t n;
};

MO_DEFINE_POINTER_CLEANUP(evp_pkey_freep, EVP_PKEY *, EVP_PKEY_free)
MO_DEFINE_POINTER_CLEANUP(bio_freep, BIO *, BIO_free)
MO_DEFINE_POINTER_CLEANUP(ecdsa_sig_freep, ECDSA_SIG *, ECDSA_SIG_free)
MO_DEFINE_POINTER_CLEANUP(bn_freep, BIGNUM *, BN_free)
MO_DEFINE_POINTER_CLEANUP(evp_md_ctx_freep, EVP_MD_CTX *, EVP_MD_CTX_free)
/* OPENSSL_free is a macro: a function to point the cleanup at. */
static inline void openssl_freep(void *p)
{
    if (*(void **)p)
        OPENSSL_free(*(void **)p);
}
#define _cleanup_openssl_ _cleanup_(openssl_freep)

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

/* Only "-----BEGIN PUBLIC KEY-----" (SubjectPublicKeyInfo): the PEM block is read here,
 * since PEM_read_bio_PUBKEY also takes PKCS#1 "RSA PUBLIC KEY". NULL if it is not one. */
static EVP_PKEY *parse_spki_pem(const char *buf, size_t len)
{
    _cleanup_(bio_freep) BIO *bio = BIO_new_mem_buf(buf, (int)len);
    _cleanup_openssl_ char *pem_name = NULL;
    _cleanup_openssl_ char *pem_header = NULL;
    _cleanup_openssl_ unsigned char *der = NULL;
    long derlen = 0;
    if (!bio || PEM_read_bio(bio, &pem_name, &pem_header, &der, &derlen) != 1 || strcmp(pem_name, "PUBLIC KEY") != 0)
        return NULL;
    const unsigned char *p = der;
    _cleanup_(evp_pkey_freep) EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, derlen);
    if (!pk || p != der + derlen) /* trailing bytes inside the block */
        return NULL;
    return TAKE_PTR(pk);
}

/* One key file. Messages leave the path out: the caller puts it in front. */
static EVP_PKEY *load_one(const char *path, enum key_kind *kind, struct error **err)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    if (fs_read_file(path, KEY_FILE_MAX, &buf, &len) < 0) {
        error_set_errno(err, errno, "cannot read public key");
        return NULL;
    }
    _cleanup_(evp_pkey_freep) EVP_PKEY *pk = parse_spki_pem(buf, len);
    ERR_clear_error();
    if (!pk) {
        error_set(err, 0, "not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
        return NULL;
    }
    if (EVP_PKEY_is_a(pk, "RSA")) {
        *kind = KEY_RSA;
        return TAKE_PTR(pk);
    }
    if (EVP_PKEY_is_a(pk, "EC")) {
        char group[80] = "";
        size_t glen = 0;
        if (EVP_PKEY_get_group_name(pk, group, sizeof(group), &glen) == 1 &&
            OBJ_sn2nid(group) == NID_X9_62_prime256v1) {
            *kind = KEY_EC_P256;
            return TAKE_PTR(pk);
        }
        ERR_clear_error();
        error_set(err, 0, "unsupported EC curve %s (only P-256)", group[0] ? group : "(unnamed)");
        return NULL;
    }
    error_set(err, 0, "unsupported key type %s (only RSA and EC P-256)",
              EVP_PKEY_get0_type_name(pk) ? EVP_PKEY_get0_type_name(pk) : "unknown");
    return NULL;
}

struct artifact_keys *artifact_keys_load(const struct strv *paths, struct error **err)
{
    _cleanup_artifact_keys_ struct artifact_keys *keys = xcalloc(1, sizeof(*keys));
    size_t n = paths ? paths->n : 0;
    if (n && crypto_dl_load(err) != 0) {
        artifact_error_one_line(err);
        return NULL;
    }
    if (n) {
        keys->pk = xcalloc(n, sizeof(*keys->pk));
        keys->kind = xcalloc(n, sizeof(*keys->kind));
    }
    for (size_t i = 0; i < n; i++) {
        EVP_PKEY *pk = load_one(paths->v[i], &keys->kind[keys->n], err);
        if (!pk) {
            error_prefix(err, "%s", paths->v[i]);
            artifact_error_one_line(err);
            return NULL;
        }
        keys->pk[keys->n++] = pk;
    }
    return TAKE_PTR(keys);
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
    _cleanup_free_ char *s = xmalloc(inlen + 1);
    size_t n = 0;
    for (size_t i = 0; i < inlen; i++)
        if (!is_ascii_space(in[i]))
            s[n++] = in[i];
    if (n == 0 || n % 4 != 0)
        return NULL;
    size_t pad = 0;
    if (s[n - 1] == '=')
        pad = s[n - 2] == '=' ? 2 : 1;
    _cleanup_free_ unsigned char *out = xmalloc(n / 4 * 3);
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
                return NULL;
        }
        unsigned long w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 | (unsigned long)v[2] << 6 |
                          (unsigned long)v[3];
        if ((last && pad == 2 && (v[1] & 0x0f)) || (last && pad == 1 && (v[2] & 0x03)))
            return NULL; /* unused bits set */
        out[o++] = (unsigned char)(w >> 16);
        if (!(last && pad == 2))
            out[o++] = (unsigned char)(w >> 8);
        if (!(last && pad >= 1))
            out[o++] = (unsigned char)w;
    }
    *outlen = o;
    return TAKE_PTR(out);
}

/* ---- verification ------------------------------------------------------------------- */

/* Raw r||s (64 bytes) to DER. Returns an OPENSSL_malloc'ed buffer or NULL. */
static unsigned char *ec_raw_to_der(const unsigned char *sig, int *derlen)
{
    _cleanup_(ecdsa_sig_freep) ECDSA_SIG *es = ECDSA_SIG_new();
    _cleanup_(bn_freep) BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    _cleanup_(bn_freep) BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
        return NULL;
    r = s = NULL; /* es owns them now */
    _cleanup_openssl_ unsigned char *der = NULL;
    int l = i2d_ECDSA_SIG(es, &der);
    if (l <= 0)
        return NULL;
    *derlen = l;
    return TAKE_PTR(der);
}

static bool verify_one(EVP_PKEY *pk, const unsigned char *sig, size_t siglen, const unsigned char *msg, size_t msglen)
{
    _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
              EVP_DigestVerify(ctx, sig, siglen, msg, msglen) == 1;
    ERR_clear_error();
    return ok;
}

/* Any key verifies sig (raw r||s or DER for EC, PKCS#1 v1.5 for RSA). */
static bool verify_any(const struct artifact_keys *keys, const unsigned char *sig, size_t siglen,
                       const unsigned char *manifest, size_t manifest_len)
{
    for (size_t i = 0; i < keys->n; i++) {
        if (keys->kind[i] == KEY_EC_P256 && siglen == 64) {
            int derlen = 0;
            _cleanup_openssl_ unsigned char *der = ec_raw_to_der(sig, &derlen);
            if (der && verify_one(keys->pk[i], der, (size_t)derlen, manifest, manifest_len))
                return true;
        }
        /* RSA, ECDSA in DER form (a 64-byte DER signature is possible, if unlikely). */
        if (verify_one(keys->pk[i], sig, siglen, manifest, manifest_len))
            return true;
    }
    return false;
}

int artifact_verify_signature(const struct artifact_keys *keys, const char *sig_b64, size_t sig_len,
                              const unsigned char *manifest, size_t manifest_len, struct error **err)
{
    assert(manifest || manifest_len == 0);
    if (!keys || keys->n == 0)
        return error_set(err, 0, "no public keys to verify the manifest signature with");
    size_t siglen = 0;
    _cleanup_free_ unsigned char *sig = b64_decode(sig_b64 ? sig_b64 : "", sig_b64 ? sig_len : 0, &siglen);
    if (!sig)
        return error_set(err, 0, "manifest.sig: invalid base64 signature");
    if (!verify_any(keys, sig, siglen, manifest, manifest_len))
        return error_set(err, 0, "wrong manifest signature or wrong key");
    return 0;
}
