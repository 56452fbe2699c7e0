/* manifest.sig verification (docs/artifact-format.md, signatures): keys generated at test time
 * with the openssl CLI, signatures made with the OpenSSL API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "testutil.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "artifact/artifact.h"
#include "util/mem.h"
#include "util/strv.h"

static char tmpdir[] = "/tmp/mo-test-verify-XXXXXX";

static const unsigned char manifest[] =
    "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  data/0000/payload.bin\n"
    "ecb9ca240027f116d7f859d92370f17b9c65c2749b9348601fe2bc2647c51067  header.tar\n"
    "96bcd965947569404798bcbdb614f103db5a004eb6e364cfc162c146890ea35b  version\n";
#define MANIFEST_LEN (sizeof(manifest) - 1)

static char *path_of(const char *name) { return xasprintf("%s/%s", tmpdir, name); }

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    /* Main keys, a second key of each kind (the wrong key), and keys we refuse. */
    int rc = test_sh("cd %s && "
                     "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa.key 2>/dev/null && "
                     "openssl pkey -in rsa.key -pubout -out rsa.pub && "
                     "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2.key 2>/dev/null && "
                     "openssl pkey -in rsa2.key -pubout -out rsa2.pub && "
                     "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key && "
                     "openssl pkey -in ec.key -pubout -out ec.pub && "
                     "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec2.key && "
                     "openssl pkey -in ec2.key -pubout -out ec2.pub && "
                     "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.key && "
                     "openssl pkey -in p384.key -pubout -out p384.pub && "
                     "openssl genpkey -algorithm ED25519 -out ed.key && "
                     "openssl pkey -in ed.key -pubout -out ed.pub && "
                     "openssl rsa -in rsa.key -RSAPublicKey_out -out rsa-pkcs1.pub 2>/dev/null && "
                     "printf 'garbage\\n' > garbage.pub",
                     tmpdir);
    return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    test_sh("rm -rf %s", tmpdir);
    return 0;
}

static struct artifact_keys *load(const char *a, const char *b, const char *c)
{
    struct strv p = { 0 };
    const char *names[] = { a, b, c };
    for (int i = 0; i < 3; i++)
        if (names[i])
            strv_push_owned(&p, path_of(names[i]));
    _cleanup_error_ struct error *err = NULL;
    struct artifact_keys *k = artifact_keys_load(&p, &err);
    if (!k)
        print_error("artifact_keys_load: %s\n", error_message(err));
    strv_free(&p);
    return k;
}

static EVP_PKEY *load_private(const char *name)
{
    char *p = path_of(name);
    FILE *f = fopen(p, "r");
    free(p);
    assert_non_null(f);
    EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    assert_non_null(pk);
    return pk;
}

/* Signs msg with the private key `name`; DER for ECDSA; optional RSA-PSS padding. */
static unsigned char *sign(const char *name, const unsigned char *msg, size_t len, size_t *siglen, bool pss)
{
    EVP_PKEY *pk = load_private(name);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    assert_int_equal(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), NULL, pk), 1);
    if (pss)
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
    size_t n = 0;
    assert_int_equal(EVP_DigestSign(ctx, NULL, &n, msg, len), 1);
    unsigned char *sig = xmalloc(n);
    assert_int_equal(EVP_DigestSign(ctx, sig, &n, msg, len), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pk);
    *siglen = n;
    return sig;
}

/* DER ECDSA signature to raw r||s (64 bytes), as mender-artifact writes it. */
static unsigned char *der_to_raw(const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    assert_non_null(es);
    unsigned char *raw = xmalloc(64);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32), 32);
    assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32), 32);
    ECDSA_SIG_free(es);
    return raw;
}

static char *b64(const unsigned char *buf, size_t len)
{
    char *out = xmalloc(4 * ((len + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, buf, (int)len);
    return out;
}

/* The message of the last verification ("" when it passed), for the assertions. */
static char last[512];

static int verify_len(const struct artifact_keys *k, const char *sig, size_t len, const unsigned char *msg)
{
    _cleanup_error_ struct error *e = NULL;
    int rc = artifact_verify_signature(k, sig, len, msg, MANIFEST_LEN, &e);
    assert_true((rc == 0) == (e == NULL));
    snprintf(last, sizeof(last), "%s", e ? error_message(e) : "");
    return rc;
}

static int verify(const struct artifact_keys *k, const char *sig) { return verify_len(k, sig, strlen(sig), manifest); }

/* ---- key loading ---------------------------------------------------------------- */

static void keys_load_rsa_and_ec(void **state)
{
    (void)state;
    struct artifact_keys *k = load("rsa.pub", "ec.pub", "rsa2.pub");
    assert_non_null(k);
    assert_int_equal(artifact_keys_count(k), 3);
    artifact_keys_free(k);
    assert_int_equal(artifact_keys_count(NULL), 0);

    struct strv none = { 0 };
    k = artifact_keys_load(&none, NULL);
    assert_non_null(k);
    assert_int_equal(artifact_keys_count(k), 0);
    artifact_keys_free(k);
}

static void expect_load_error(const char *name, const char *want)
{
    struct strv p = { 0 };
    strv_push_owned(&p, path_of("rsa.pub")); /* a good key first: the whole load fails anyway */
    strv_push_owned(&p, path_of(name));
    _cleanup_error_ struct error *err = NULL;
    struct artifact_keys *k = artifact_keys_load(&p, &err);
    strv_free(&p);
    assert_null(k);
    if (!strstr(error_message(err), want))
        fail_msg("%s: got \"%s\", want \"%s\"", name, error_message(err), want);
    assert_non_null(strstr(error_message(err), name));
}

static void keys_load_errors(void **state)
{
    (void)state;
    expect_load_error("missing.pub", "cannot read public key");
    expect_load_error("rsa.key", "not a PEM public key");       /* a private key */
    expect_load_error("rsa-pkcs1.pub", "not a PEM public key"); /* BEGIN RSA PUBLIC KEY */
    expect_load_error("garbage.pub", "not a PEM public key");
    expect_load_error("p384.pub", "unsupported EC curve");
    expect_load_error("ed.pub", "unsupported key type");
}

/* ---- RSA ------------------------------------------------------------------------- */

static void rsa_good(void **state)
{
    (void)state;
    size_t n;
    unsigned char *sig = sign("rsa.key", manifest, MANIFEST_LEN, &n, false);
    assert_int_equal(n, 384); /* 3072 bits */
    char *s = b64(sig, n);
    assert_int_equal(strlen(s), 512);
    struct artifact_keys *k = load("rsa.pub", NULL, NULL);
    assert_int_equal(verify(k, s), 0);
    /* Several keys: any one verifying is enough. */
    struct artifact_keys *k3 = load("ec.pub", "rsa2.pub", "rsa.pub");
    assert_int_equal(verify(k3, s), 0);
    artifact_keys_free(k3);
    artifact_keys_free(k);
    free(s);
    free(sig);
}

static void rsa_whitespace_tolerated(void **state)
{
    (void)state;
    size_t n;
    unsigned char *sig = sign("rsa.key", manifest, MANIFEST_LEN, &n, false);
    char *s = b64(sig, n);
    /* Wrapped at 64 columns with CRLF, leading blanks, a trailing newline. */
    size_t l = strlen(s);
    char *w = xmalloc(l * 2 + 16);
    size_t o = 0;
    w[o++] = ' ';
    w[o++] = '\t';
    for (size_t i = 0; i < l; i++) {
        w[o++] = s[i];
        if (i % 64 == 63) {
            w[o++] = '\r';
            w[o++] = '\n';
        }
    }
    w[o++] = '\n';
    w[o] = '\0';
    struct artifact_keys *k = load("rsa.pub", NULL, NULL);
    assert_int_equal(verify(k, w), 0);
    artifact_keys_free(k);
    free(w);
    free(s);
    free(sig);
}

static void rsa_wrong_key_or_data(void **state)
{
    (void)state;
    size_t n;
    unsigned char *sig = sign("rsa.key", manifest, MANIFEST_LEN, &n, false);
    char *s = b64(sig, n);

    struct artifact_keys *k = load("rsa2.pub", "ec.pub", NULL);
    assert_int_equal(verify(k, s), -1);
    assert_string_equal(last, "wrong manifest signature or wrong key");
    artifact_keys_free(k);

    /* The right key, but one manifest byte changed. */
    k = load("rsa.pub", NULL, NULL);
    unsigned char m2[sizeof(manifest)];
    memcpy(m2, manifest, sizeof(manifest));
    m2[3] ^= 1;
    assert_int_equal(verify_len(k, s, strlen(s), m2), -1);
    assert_non_null(strstr(last, "wrong manifest signature"));

    /* A truncated signature. */
    char *t = b64(sig, n - 1);
    assert_int_equal(verify(k, t), -1);
    assert_non_null(strstr(last, "wrong manifest signature"));
    free(t);

    /* RSA-PSS is not PKCS#1 v1.5. */
    size_t pn;
    unsigned char *pss = sign("rsa.key", manifest, MANIFEST_LEN, &pn, true);
    char *ps = b64(pss, pn);
    assert_int_equal(verify(k, ps), -1);
    assert_non_null(strstr(last, "wrong manifest signature"));
    free(ps);
    free(pss);

    artifact_keys_free(k);
    free(s);
    free(sig);
}

/* ---- ECDSA ----------------------------------------------------------------------- */

static void ec_der_and_raw(void **state)
{
    (void)state;
    size_t n;
    unsigned char *der = sign("ec.key", manifest, MANIFEST_LEN, &n, false);
    assert_true(n >= 8 && n <= 72);
    unsigned char *raw = der_to_raw(der, n);
    char *sd = b64(der, n);
    char *sr = b64(raw, 64);
    assert_int_equal(strlen(sr), 88);
    assert_string_equal(sr + 86, "==");

    struct artifact_keys *k = load("ec.pub", NULL, NULL);
    assert_int_equal(verify(k, sd), 0);
    assert_int_equal(verify(k, sr), 0);
    artifact_keys_free(k);

    /* Among other keys. */
    k = load("rsa.pub", "ec2.pub", "ec.pub");
    assert_int_equal(verify(k, sr), 0);
    assert_int_equal(verify(k, sd), 0);
    artifact_keys_free(k);

    /* Wrong EC key, and RSA keys only. */
    k = load("ec2.pub", NULL, NULL);
    assert_int_equal(verify(k, sr), -1);
    assert_string_equal(last, "wrong manifest signature or wrong key");
    assert_int_equal(verify(k, sd), -1);
    assert_string_equal(last, "wrong manifest signature or wrong key");
    artifact_keys_free(k);
    k = load("rsa.pub", "rsa2.pub", NULL);
    assert_int_equal(verify(k, sr), -1);
    assert_int_equal(verify(k, sd), -1);
    artifact_keys_free(k);

    /* A corrupted raw signature (s changed) and a 63-byte one. */
    k = load("ec.pub", NULL, NULL);
    raw[40] ^= 0x80;
    char *bad = b64(raw, 64);
    assert_int_equal(verify(k, bad), -1);
    free(bad);
    bad = b64(raw, 63);
    assert_int_equal(verify(k, bad), -1);
    free(bad);
    artifact_keys_free(k);

    free(sd);
    free(sr);
    free(raw);
    free(der);
}

/* ---- base64 ---------------------------------------------------------------------- */

static void garbage_base64(void **state)
{
    (void)state;
    struct artifact_keys *k = load("rsa.pub", "ec.pub", NULL);
    const char *bad[] = {
        "",             /* nothing */
        " \n\t ",       /* only blanks */
        "not base64!!", /* bad alphabet */
        "QUJD-A==",     /* URL-safe alphabet */
        "QUJDRA",       /* missing padding */
        "QUJDR",        /* incomplete group */
        "QU=DRA==",     /* padding in the middle */
        "QUJDRA==QUJD", /* data after padding */
        "Q===",         /* too much padding */
        "====",
        "QUJDRB==", /* non-zero unused bits */
        "QUJDRE=",  /* wrong padding length */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (verify(k, bad[i]) != -1)
            fail_msg("\"%s\" was accepted", bad[i]);
        if (!strstr(last, "invalid base64"))
            fail_msg("\"%s\": %s", bad[i], last);
    }
    /* Valid base64 of garbage bytes: a signature failure. */
    assert_int_equal(verify(k, "QUJDRA=="), -1);
    assert_string_equal(last, "wrong manifest signature or wrong key");
    /* NUL byte inside the given length. */
    assert_int_equal(verify_len(k, "QUJD\0A==", 8, manifest), -1);
    assert_non_null(strstr(last, "invalid base64"));
    artifact_keys_free(k);
}

static void no_keys(void **state)
{
    (void)state;
    assert_int_equal(verify_len(NULL, "QUJDRA==", 8, manifest), -1);
    assert_true(last[0] != '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_load_rsa_and_ec),
        cmocka_unit_test(keys_load_errors),
        cmocka_unit_test(rsa_good),
        cmocka_unit_test(rsa_whitespace_tolerated),
        cmocka_unit_test(rsa_wrong_key_or_data),
        cmocka_unit_test(ec_der_and_raw),
        cmocka_unit_test(garbage_base64),
        cmocka_unit_test(no_keys),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
