/* Unit tests for common/src/jwt.c: every libjwt 1.10.2 trap from NOTES.md, the claim rules of
 * API.md "Auth", the RS256 signature check, the RFC 7638 thumbprint and the keyring loader. Tokens
 * are signed with libjwt, as the auth service signs them, to prove that the two agree; libjwt is
 * also shown accepting the trap tokens that crm_jwt_verify refuses. Keys are generated at run
 * time. */
#include "crm/jwt.h"

#include <check.h>
#include <gnutls/abstract.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* RFC 7638 section 3.1: the example key and its thumbprint. */
static const char RFC_N[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY3"
    "68QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4"
    "lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
static const char RFC_E[] = "AQAB";
static const char RFC_KID[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/* Generated once in main, before the runner forks, and shared read-only by every test. */
static time_t now;
static char *priv1;
static char *pub1;
static char *priv2;
static char *pub2;
static char kid1[64];
static char kid2[64];

/* Per-test keyrings: ring1 holds key 1, ring12 both keys (a rotation). */
static crm_jwt_keyring ring1;
static crm_jwt_keyring ring12;

typedef struct claims {
    const char *iss;
    const char *aud;
    const char *sub;
    const char *username;
    const char *role;
    const char *jti;
    long exp;
    long nbf;
    long iat;
    bool no_exp;
    bool no_iat;
    bool with_nbf;
    const char *extra;        /* a JSON object merged last: wrong types, arrays */
    const char *extra_header; /* a JSON object merged into the header */
} claims;

static claims good_claims(void)
{
    return (claims){.iss = "crm-auth",
                    .aud = "crm-api",
                    .sub = "65f1c0ffee0000000000abcd",
                    .username = "alice",
                    .role = "agent",
                    .jti = "5d1e3c8a-1b2f-4c11-9a3e-0e8f7c6b5a49",
                    .exp = (long)now + 900,
                    .iat = (long)now};
}

/* Returns the PEM text of a key, or NULL. Used from main too, so it asserts nothing. */
static char *pem_of(EVP_PKEY *pkey, bool private)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    char *out = NULL;
    long len = 0;
    int ok = 0;

    if (!bio)
        return NULL;
    ok = private ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_bio_PUBKEY(bio, pkey);
    len = BIO_get_mem_data(bio, &data);
    if (ok == 1 && len > 0)
        out = strndup(data, (size_t)len);
    BIO_free(bio);
    return out;
}

static bool gen_rsa(unsigned int bits, char **priv, char **pub)
{
    EVP_PKEY *pkey = EVP_RSA_gen(bits);

    *priv = pkey ? pem_of(pkey, true) : NULL;
    *pub = pkey ? pem_of(pkey, false) : NULL;
    EVP_PKEY_free(pkey);
    return *priv && *pub;
}

static char *b64url_bytes(const unsigned char *in, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(len / 3 * 4 + 4);
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;

    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < len; i++) {
        acc = ((acc << 8) | in[i]) & 0xffff;
        for (bits += 8; bits >= 6; bits -= 6)
            out[n++] = alphabet[(acc >> (bits - 6)) & 0x3f];
    }
    if (bits > 0)
        out[n++] = alphabet[(acc << (6 - bits)) & 0x3f];
    out[n] = '\0';
    return out;
}

/* Decodes base64url (lax: for building test input only) into `out`; returns the byte count. */
static size_t b64url_to_bytes(const char *s, unsigned char *out, size_t cap)
{
    size_t len = strlen(s);
    char *std = malloc(len + 4);
    unsigned char *bin = malloc(len + 4);
    size_t i = 0;
    int n = 0;

    ck_assert_ptr_nonnull(std);
    ck_assert_ptr_nonnull(bin);
    for (i = 0; i < len; i++)
        std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (i % 4)
        std[i++] = '=';
    std[i] = '\0';
    n = EVP_DecodeBlock(bin, (const unsigned char *)std, (int)i);
    ck_assert_int_ge(n, 0);
    n -= (int)(i - len); /* EVP_DecodeBlock counts the padding as zero bytes */
    ck_assert_int_ge(n, 0);
    ck_assert_uint_le((size_t)n, cap);
    memcpy(out, bin, (size_t)n);
    free(bin);
    free(std);
    return (size_t)n;
}

static char *b64url(const char *s)
{
    return b64url_bytes((const unsigned char *)s, strlen(s));
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t len = strlen(a) + strlen(b) + strlen(c) + 3;
    char *out = malloc(len);

    ck_assert_ptr_nonnull(out);
    snprintf(out, len, "%s.%s.%s", a, b, c);
    return out;
}

/* A compact token from two JSON texts and a signature segment, without libjwt. */
static char *hand_token(const char *header_json, const char *payload_json, const char *sig)
{
    char *h = b64url(header_json);
    char *p = b64url(payload_json);
    char *token = join3(h, p, sig);

    free(h);
    free(p);
    return token;
}

/* A token signed with OpenSSL directly, for headers and payloads that libjwt's encoder would
 * rewrite (it forces typ to "JWT") or could not produce (duplicate members), and for signatures
 * that RS256 does not allow (another digest, PSS padding) under an RS256 header. */
static char *rsa_token(const char *priv, const char *header_json, const char *payload_json,
                       const EVP_MD *md, int padding)
{
    BIO *bio = BIO_new_mem_buf(priv, -1);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    char *h = b64url(header_json);
    char *p = b64url(payload_json);
    char *input = join3(h, p, "");
    unsigned char sig[512];
    size_t sig_len = sizeof sig;
    char *s = NULL;
    char *token = NULL;

    ck_assert_ptr_nonnull(pkey);
    ck_assert_ptr_nonnull(ctx);
    input[strlen(input) - 1] = '\0'; /* "h.p." -> "h.p", the signing input */
    ck_assert_int_eq(EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey), 1);
    ck_assert_int_eq(EVP_PKEY_CTX_set_rsa_padding(pctx, padding), 1);
    ck_assert_int_eq(
        EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, strlen(input)), 1);
    s = b64url_bytes(sig, sig_len);
    token = join3(h, p, s);
    free(s);
    free(input);
    free(p);
    free(h);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return token;
}

/* An RS256 token as RFC 7518 3.3 defines it: PKCS#1 v1.5 padding, SHA-256. */
static char *rs256_token(const char *priv, const char *header_json, const char *payload_json)
{
    return rsa_token(priv, header_json, payload_json, EVP_sha256(), RSA_PKCS1_PADDING);
}

/* The claims of good_claims() as JSON text, with `extra` members appended verbatim. */
static void good_payload(char *buf, size_t len, const char *extra)
{
    claims c = good_claims();

    snprintf(buf, len,
             "{\"iss\":\"crm-auth\",\"aud\":\"crm-api\",\"sub\":\"%s\",\"username\":\"alice\","
             "\"role\":\"agent\",\"exp\":%ld,\"iat\":%ld%s}",
             c.sub, c.exp, c.iat, extra);
}

static void add_str(jwt_t *jwt, const char *name, const char *value)
{
    if (value)
        ck_assert_int_eq(jwt_add_grant(jwt, name, value), 0);
}

/* Signs `c` with libjwt, as the auth service does. A NULL kid leaves the header without one. */
static char *sign_alg(jwt_alg_t alg, const char *key, const char *kid, const claims *c)
{
    jwt_t *jwt = NULL;
    char *token = NULL;

    ck_assert_int_eq(jwt_new(&jwt), 0);
    ck_assert_int_eq(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)strlen(key)), 0);
    if (kid)
        ck_assert_int_eq(jwt_add_header(jwt, "kid", kid), 0);
    add_str(jwt, "iss", c->iss);
    add_str(jwt, "aud", c->aud);
    add_str(jwt, "sub", c->sub);
    add_str(jwt, "username", c->username);
    add_str(jwt, "role", c->role);
    add_str(jwt, "jti", c->jti);
    if (!c->no_exp)
        ck_assert_int_eq(jwt_add_grant_int(jwt, "exp", c->exp), 0);
    if (!c->no_iat)
        ck_assert_int_eq(jwt_add_grant_int(jwt, "iat", c->iat), 0);
    if (c->with_nbf)
        ck_assert_int_eq(jwt_add_grant_int(jwt, "nbf", c->nbf), 0);
    if (c->extra)
        ck_assert_int_eq(jwt_add_grants_json(jwt, c->extra), 0);
    if (c->extra_header)
        ck_assert_int_eq(jwt_add_headers_json(jwt, c->extra_header), 0);
    token = jwt_encode_str(jwt);
    ck_assert_ptr_nonnull(token);
    jwt_free(jwt);
    return token;
}

static char *sign(const char *priv, const char *kid, const claims *c)
{
    return sign_alg(JWT_ALG_RS256, priv, kid, c);
}

/* Verifies against ring1 at `now`. */
static crm_jwt_status check(const char *token)
{
    crm_principal p;

    return crm_jwt_verify(&ring1, token, now, &p);
}

/* Signs `c` with key 1 and verifies it. */
static crm_jwt_status check_claims(const claims *c)
{
    char *token = sign(priv1, kid1, c);
    crm_jwt_status status = check(token);

    free(token);
    return status;
}

static void rings_setup(void)
{
    char err[256] = "";

    memset(&ring1, 0, sizeof ring1);
    memset(&ring12, 0, sizeof ring12);
    ck_assert_msg(crm_jwt_keyring_add_pem(&ring1, pub1, strlen(pub1), err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(crm_jwt_keyring_add_pem(&ring12, pub1, strlen(pub1), err, sizeof err), 0);
    ck_assert_int_eq(crm_jwt_keyring_add_pem(&ring12, pub2, strlen(pub2), err, sizeof err), 0);
}

static void rings_teardown(void)
{
    crm_jwt_keyring_clean(&ring1);
    crm_jwt_keyring_clean(&ring12);
}

/* ---- valid tokens ---- */

START_TEST(test_valid_token)
{
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    crm_principal p;

    ck_assert_int_eq(crm_jwt_verify(&ring1, token, now, &p), CRM_JWT_OK);
    ck_assert_str_eq(p.sub, "65f1c0ffee0000000000abcd");
    ck_assert_str_eq(p.username, "alice");
    ck_assert_str_eq(p.role, "agent");
    ck_assert_str_eq(p.jti, c.jti);
    ck_assert_int_eq(p.iat, (long long)now);
    ck_assert_int_eq(p.exp, (long long)now + 900);
    free(token);
}
END_TEST

START_TEST(test_optional_claims_absent)
{
    claims c = good_claims();
    char *token = NULL;
    crm_principal p;

    c.jti = NULL;
    c.no_iat = true;
    token = sign(priv1, kid1, &c);
    ck_assert_int_eq(crm_jwt_verify(&ring1, token, now, &p), CRM_JWT_OK);
    ck_assert_str_eq(p.jti, "");
    ck_assert_int_eq(p.iat, 0);
    free(token);
}
END_TEST

START_TEST(test_every_role)
{
    static const char *roles[] = {"admin", "agent", "viewer"};
    claims c = good_claims();

    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        c.role = roles[i];
        ck_assert_int_eq(check_claims(&c), CRM_JWT_OK);
    }
}
END_TEST

START_TEST(test_rotation_both_keys_verify)
{
    claims c = good_claims();
    char *t1 = sign(priv1, kid1, &c);
    char *t2 = sign(priv2, kid2, &c);
    crm_principal p;

    ck_assert_int_eq(crm_jwt_verify(&ring12, t1, now, &p), CRM_JWT_OK);
    ck_assert_int_eq(crm_jwt_verify(&ring12, t2, now, &p), CRM_JWT_OK);
    /* The ring with key 1 only does not know key 2. */
    ck_assert_int_eq(crm_jwt_verify(&ring1, t2, now, &p), CRM_JWT_UNKNOWN_KID);
    free(t1);
    free(t2);
}
END_TEST

/* ---- algorithm traps ---- */

START_TEST(test_alg_none)
{
    claims c = good_claims();
    char *signed_token = sign(priv1, kid1, &c);
    char *payload = strchr(signed_token, '.') + 1;
    char header[128];
    char *h = NULL;
    char *token = NULL;
    jwt_t *jwt = NULL;

    snprintf(header, sizeof header, "{\"alg\":\"none\",\"kid\":\"%s\"}", kid1);
    h = b64url(header);
    *strchr(payload, '.') = '\0';
    token = join3(h, payload, "");

    /* The trap: libjwt alone accepts it when given no key. */
    ck_assert_int_eq(jwt_decode(&jwt, token, NULL, 0), 0);
    jwt_free(jwt);

    ck_assert_int_eq(check(token), CRM_JWT_BAD_ALG);
    free(token);
    free(h);
    free(signed_token);
}
END_TEST

START_TEST(test_hs256_with_public_pem)
{
    claims c = good_claims();
    char *token = sign_alg(JWT_ALG_HS256, pub1, kid1, &c);
    jwt_t *jwt = NULL;

    /* The trap: libjwt accepts it when given the public PEM as the key. */
    ck_assert_int_eq(jwt_decode(&jwt, token, (const unsigned char *)pub1, (int)strlen(pub1)), 0);
    ck_assert_int_eq(jwt_get_alg(jwt), JWT_ALG_HS256);
    jwt_free(jwt);

    ck_assert_int_eq(check(token), CRM_JWT_BAD_ALG);
    /* The same with the stored, re-encoded PEM of the keyring. */
    free(token);
    token = sign_alg(JWT_ALG_HS256, ring1.keys[0].pem, kid1, &c);
    ck_assert_int_eq(check(token), CRM_JWT_BAD_ALG);
    free(token);
}
END_TEST

START_TEST(test_hmac_signature_under_rs256_header)
{
    /* An HS256 token keyed with our public PEM (the one libjwt accepts), relabelled as RS256:
     * the signature is checked as RSA whatever it is, so the 32 bytes of an HMAC never pass. */
    claims c = good_claims();
    char *hs = sign_alg(JWT_ALG_HS256, ring1.keys[0].pem, kid1, &c);
    char *payload = strchr(hs, '.') + 1;
    char *sig = strchr(payload, '.') + 1;
    char header[128];
    char *h = NULL;
    char *token = NULL;

    payload[-1] = '\0';
    sig[-1] = '\0';
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid1);
    h = b64url(header);
    token = join3(h, payload, sig);
    ck_assert_int_eq(check(token), CRM_JWT_BAD_SIGNATURE);
    free(token);
    free(h);
    free(hs);
}
END_TEST

START_TEST(test_alg_compared_exactly)
{
    /* libjwt matches alg names without case; "rs256" is not RS256 for us. */
    char header[128];
    char *token = NULL;

    snprintf(header, sizeof header, "{\"alg\":\"rs256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid1);
    token = hand_token(header, "{}", "c2ln");
    ck_assert_int_eq(check(token), CRM_JWT_BAD_ALG);
    free(token);
}
END_TEST

START_TEST(test_alg_missing_or_not_string)
{
    char header[128];
    char *token = NULL;

    snprintf(header, sizeof header, "{\"kid\":\"%s\"}", kid1);
    token = hand_token(header, "{}", "c2ln");
    ck_assert_int_eq(check(token), CRM_JWT_BAD_ALG);
    free(token);
    snprintf(header, sizeof header, "{\"alg\":[\"RS256\"],\"kid\":\"%s\"}", kid1);
    token = hand_token(header, "{}", "c2ln");
    ck_assert_int_eq(check(token), CRM_JWT_BAD_ALG);
    free(token);
}
END_TEST

START_TEST(test_duplicate_header_member)
{
    /* Two alg members: the first parser to see the second would disagree with the other. */
    char header[160];
    char *token = NULL;

    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"%s\"}", kid1);
    token = hand_token(header, "{}", "");
    ck_assert_int_eq(check(token), CRM_JWT_MALFORMED);
    free(token);
}
END_TEST

START_TEST(test_crit_header_refused)
{
    /* RFC 7515 4.1.11: an extension we do not understand must not be ignored. */
    claims c = good_claims();

    c.extra_header = "{\"crit\":[\"exp\"]}";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
}
END_TEST

START_TEST(test_typ_other_than_jwt)
{
    /* Like libjwt, a string typ other than "JWT" (any case) is refused: another kind of token. */
    char header[160];
    char payload[512];
    char *token = NULL;

    good_payload(payload, sizeof payload, "");
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid1);
    token = rs256_token(priv1, header, payload);
    ck_assert_int_eq(check(token), CRM_JWT_OK);
    free(token);
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"typ\":\"jwt\",\"kid\":\"%s\"}", kid1);
    token = rs256_token(priv1, header, payload);
    ck_assert_int_eq(check(token), CRM_JWT_OK);
    free(token);
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid1);
    token = rs256_token(priv1, header, payload);
    ck_assert_int_eq(check(token), CRM_JWT_OK);
    free(token);
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}", kid1);
    token = rs256_token(priv1, header, payload);
    ck_assert_int_eq(check(token), CRM_JWT_MALFORMED);
    free(token);
}
END_TEST

START_TEST(test_duplicate_claim)
{
    /* Correctly signed, but with two role members: libjwt's parser keeps the last one. */
    char header[128];
    char payload[512];
    char *token = NULL;
    jwt_t *jwt = NULL;

    good_payload(payload, sizeof payload, ",\"role\":\"admin\"");
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid1);
    token = rs256_token(priv1, header, payload);
    ck_assert_int_eq(jwt_decode(&jwt, token, (const unsigned char *)ring1.keys[0].pem,
                                (int)ring1.keys[0].pem_len),
                     0);
    ck_assert_str_eq(jwt_get_grant(jwt, "role"), "admin");
    jwt_free(jwt);
    ck_assert_int_eq(check(token), CRM_JWT_MALFORMED);
    free(token);
}
END_TEST

START_TEST(test_noncanonical_base64)
{
    /* The unused low bits of a last base64url character must be zero; otherwise two spellings
     * decode to the same header. Both partial lengths (2 and 3 characters mod 4) are tried. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char header[128];
    char *h = NULL;
    char *token = NULL;
    size_t len = 0;
    int v = 0;

    for (size_t rest = 2; rest <= 3; rest++) {
        snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid1);
        for (h = b64url(header); strlen(h) % 4 != rest; h = b64url(header)) {
            free(h);
            strcat(header, " ");
        }
        len = strlen(h);
        v = (int)(strchr(alphabet, h[len - 1]) - alphabet);
        ck_assert_int_eq(v & 1, 0);
        h[len - 1] = alphabet[v | 1];
        token = join3(h, "e30", "c2ln");
        ck_assert_msg(check(token) == CRM_JWT_MALFORMED, "%zu characters mod 4", rest);
        free(token);
        free(h);
    }
}
END_TEST

START_TEST(test_nul_in_claim)
{
    /* "al\u0000ice" would read as "al" through a C string; jansson refuses it already, and the
     * verifier would too. */
    char header[128];
    char payload[512];
    char *token = NULL;

    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid1);
    good_payload(payload, sizeof payload, ",\"jti\":\"a\\u0000b\"");
    token = rs256_token(priv1, header, payload);
    ck_assert_int_eq(check(token), CRM_JWT_MALFORMED);
    free(token);
}
END_TEST

/* ---- key selection and signatures ---- */

START_TEST(test_unknown_kid)
{
    claims c = good_claims();
    char *token = sign(priv1, "not-a-known-thumbprint", &c);

    ck_assert_int_eq(check(token), CRM_JWT_UNKNOWN_KID);
    free(token);
}
END_TEST

START_TEST(test_missing_kid)
{
    claims c = good_claims();
    char *token = sign(priv1, NULL, &c);

    ck_assert_int_eq(check(token), CRM_JWT_UNKNOWN_KID);
    free(token);
}
END_TEST

START_TEST(test_kid_not_a_string)
{
    char *token = hand_token("{\"alg\":\"RS256\",\"kid\":42}", "{}", "c2ln");

    ck_assert_int_eq(check(token), CRM_JWT_UNKNOWN_KID);
    free(token);
}
END_TEST

START_TEST(test_empty_keyring)
{
    crm_jwt_keyring empty = {0};
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    crm_principal p;

    ck_assert_int_eq(crm_jwt_verify(&empty, token, now, &p), CRM_JWT_UNKNOWN_KID);
    free(token);
}
END_TEST

START_TEST(test_other_key_claiming_kid)
{
    claims c = good_claims();
    char *token = sign(priv2, kid1, &c);

    ck_assert_int_eq(check(token), CRM_JWT_BAD_SIGNATURE);
    free(token);
}
END_TEST

START_TEST(test_tampered_payload)
{
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    char *dot1 = strchr(token, '.');
    char *dot2 = strchr(dot1 + 1, '.');
    char payload[512];
    char *p = NULL;
    char *forged = NULL;

    /* The same claims with role raised to admin, spliced between the original header and
     * signature. */
    snprintf(payload, sizeof payload,
             "{\"aud\":\"crm-api\",\"exp\":%ld,\"iat\":%ld,\"iss\":\"crm-auth\",\"jti\":\"%s\","
             "\"role\":\"admin\",\"sub\":\"%s\",\"username\":\"alice\"}",
             c.exp, c.iat, c.jti, c.sub);
    p = b64url(payload);
    *dot1 = '\0';
    forged = join3(token, p, dot2 + 1);
    ck_assert_int_eq(check(forged), CRM_JWT_BAD_SIGNATURE);
    free(forged);
    free(p);
    free(token);
}
END_TEST

START_TEST(test_tampered_signature)
{
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    char *sig = strrchr(token, '.') + 1;

    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(check(token), CRM_JWT_BAD_SIGNATURE);
    /* OpenSSL's reasons for the refusal are not left behind for the thread's next user. */
    ck_assert_uint_eq(ERR_peek_error(), 0);
    free(token);
}
END_TEST

/* `token` with its signature segment replaced by `sig` (raw bytes). */
static char *with_signature(const char *token, const unsigned char *sig, size_t sig_len)
{
    char *head = strndup(token, (size_t)(strrchr(token, '.') - token));
    char *s = b64url_bytes(sig, sig_len);
    size_t len = 0;
    char *out = NULL;

    ck_assert_ptr_nonnull(head);
    len = strlen(head) + strlen(s) + 2;
    out = malloc(len);
    ck_assert_ptr_nonnull(out);
    snprintf(out, len, "%s.%s", head, s);
    free(s);
    free(head);
    return out;
}

START_TEST(test_signature_length_must_be_modulus_size)
{
    /* The genuine 256 signature bytes pass; one short, the same number with a leading zero byte
     * (a lax big-number reader would take it) or with a trailing byte do not. OpenSSL 3.0 also
     * refuses these lengths; crm_jwt_verify checks them itself so as not to depend on that. */
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    unsigned char sig[258] = {0};
    size_t sig_len = b64url_to_bytes(strrchr(token, '.') + 1, sig + 1, sizeof sig - 1);
    char *forged = NULL;

    ck_assert_uint_eq(sig_len, 256);
    forged = with_signature(token, sig + 1, 256);
    ck_assert_str_eq(forged, token);
    ck_assert_int_eq(check(forged), CRM_JWT_OK);
    free(forged);
    forged = with_signature(token, sig + 1, 255);
    ck_assert_int_eq(check(forged), CRM_JWT_BAD_SIGNATURE);
    free(forged);
    forged = with_signature(token, sig, 257);
    ck_assert_int_eq(check(forged), CRM_JWT_BAD_SIGNATURE);
    free(forged);
    forged = with_signature(token, sig + 1, 257);
    ck_assert_int_eq(check(forged), CRM_JWT_BAD_SIGNATURE);
    free(forged);
    free(token);
}
END_TEST

START_TEST(test_signature_spelled_noncanonically)
{
    /* 256 bytes take 342 characters, the last one carrying 4 unused bits. Setting one gives a
     * spelling that a lax decoder reads as the genuine signature; it is refused as malformed. */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    char *last = token + strlen(token) - 1;
    int v = (int)(strchr(alphabet, *last) - alphabet);

    ck_assert_uint_eq(strlen(strrchr(token, '.') + 1), 342);
    ck_assert_int_eq(v & 0x0f, 0);
    *last = alphabet[v | 1];
    ck_assert_int_eq(check(token), CRM_JWT_MALFORMED);
    free(token);
}
END_TEST

START_TEST(test_signature_digest_and_padding_pinned)
{
    /* A valid RSA signature by the right key, but with SHA-512 or with PSS padding, under an
     * RS256 header: the token does not get to choose either. */
    char header[128];
    char payload[512];
    char *token = NULL;

    good_payload(payload, sizeof payload, "");
    snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid1);
    token = rsa_token(priv1, header, payload, EVP_sha256(), RSA_PKCS1_PADDING);
    ck_assert_int_eq(check(token), CRM_JWT_OK);
    free(token);
    token = rsa_token(priv1, header, payload, EVP_sha512(), RSA_PKCS1_PADDING);
    ck_assert_int_eq(check(token), CRM_JWT_BAD_SIGNATURE);
    free(token);
    token = rsa_token(priv1, header, payload, EVP_sha256(), RSA_PKCS1_PSS_PADDING);
    ck_assert_int_eq(check(token), CRM_JWT_BAD_SIGNATURE);
    free(token);
}
END_TEST

/* ---- time claims ---- */

START_TEST(test_exp_leeway)
{
    claims c = good_claims();

    c.iat = (long)now - 1000;
    c.exp = (long)now - 31;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_EXPIRED);
    c.exp = (long)now - 30;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_OK);
    c.exp = (long)now - 29;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_OK);
}
END_TEST

START_TEST(test_nbf_leeway)
{
    claims c = good_claims();

    c.with_nbf = true;
    c.nbf = (long)now + 31;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_NOT_YET_VALID);
    c.nbf = (long)now + 30;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_OK);
    c.nbf = (long)now + 29;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_OK);
}
END_TEST

START_TEST(test_iat_in_future)
{
    claims c = good_claims();

    c.iat = (long)now + 31;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_NOT_YET_VALID);
    c.iat = (long)now + 29;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_OK);
}
END_TEST

START_TEST(test_exp_missing)
{
    claims c = good_claims();

    c.no_exp = true;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
}
END_TEST

START_TEST(test_exp_as_string)
{
    claims c = good_claims();
    char extra[64];

    /* A far-future exp as a string: a lax reader (strtol, jwt_get_grant) would let it pass. */
    c.no_exp = true;
    snprintf(extra, sizeof extra, "{\"exp\":\"%ld\"}", (long)now + 900);
    c.extra = extra;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
}
END_TEST

START_TEST(test_exp_as_real)
{
    claims c = good_claims();
    char extra[64];

    c.no_exp = true;
    snprintf(extra, sizeof extra, "{\"exp\":%ld.5}", (long)now + 900);
    c.extra = extra;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
}
END_TEST

START_TEST(test_nbf_and_iat_wrong_type)
{
    claims c = good_claims();

    c.extra = "{\"nbf\":\"0\"}";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
    c.extra = "{\"iat\":null}";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
}
END_TEST

/* ---- issuer and audience ---- */

START_TEST(test_wrong_issuer)
{
    claims c = good_claims();

    c.iss = "evil-auth";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_BAD_ISSUER);
    c.iss = "CRM-AUTH";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_BAD_ISSUER);
    c.iss = NULL;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_BAD_ISSUER);
}
END_TEST

START_TEST(test_wrong_audience)
{
    claims c = good_claims();

    c.aud = "other-api";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_BAD_AUDIENCE);
}
END_TEST

START_TEST(test_missing_audience)
{
    claims c = good_claims();

    c.aud = NULL;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_BAD_AUDIENCE);
}
END_TEST

START_TEST(test_audience_array)
{
    claims c = good_claims();

    c.aud = NULL;
    c.extra = "{\"aud\":[\"billing\",\"crm-api\"]}";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_OK);
    c.extra = "{\"aud\":[\"billing\",\"crm-api-2\"]}";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_BAD_AUDIENCE);
    c.extra = "{\"aud\":[]}";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_BAD_AUDIENCE);
    c.extra = "{\"aud\":{\"crm-api\":true}}";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_BAD_AUDIENCE);
}
END_TEST

/* ---- principal claims ---- */

START_TEST(test_missing_sub)
{
    claims c = good_claims();

    c.sub = NULL;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
}
END_TEST

START_TEST(test_principal_claims_wrong_type_or_size)
{
    claims c = good_claims();
    char extra[160];

    c.sub = NULL;
    c.extra = "{\"sub\":12345}";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
    c = good_claims();
    c.sub = "";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
    c = good_claims();
    c.username = NULL;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
    c = good_claims();
    c.role = NULL;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);

    /* 64 characters do not fit username[64]: refused, never truncated. */
    c = good_claims();
    snprintf(extra, sizeof extra, "{\"username\":\"%064d\"}", 0);
    c.extra = extra;
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
    snprintf(extra, sizeof extra, "{\"username\":\"%063d\"}", 0);
    ck_assert_int_eq(check_claims(&c), CRM_JWT_OK);

    c = good_claims();
    c.extra = "{\"jti\":7}";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
}
END_TEST

START_TEST(test_unknown_role)
{
    claims c = good_claims();

    c.role = "root";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
    c.role = "Admin";
    ck_assert_int_eq(check_claims(&c), CRM_JWT_MALFORMED);
}
END_TEST

/* ---- malformed input ---- */

START_TEST(test_garbage)
{
    static const char *bad[] = {
        "",
        "a.b",
        "...",
        "a.b.c.d",
        "abc",
        "!!.!!.!!",
        "eyJhbGciOiJSUzI1NiJ9=.e30.c2ln", /* padding */
        "e30.e30.c2ln",                   /* {} header: no alg, but first not RS256 */
        "bm90IGpzb24.e30.c2ln",           /* "not json" */
        "W10.e30.c2ln",                   /* [] */
        "eyJhbGciOiJSUzI1NiJ9+.e30.c2ln", /* '+' is base64, not base64url */
    };
    crm_principal p;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        crm_jwt_status s = crm_jwt_verify(&ring1, bad[i], now, &p);

        if (i == 7)
            ck_assert_msg(s == CRM_JWT_BAD_ALG, "case %zu: %d", i, s);
        else
            ck_assert_msg(s == CRM_JWT_MALFORMED, "case %zu: %d", i, s);
    }
}
END_TEST

START_TEST(test_bad_payload_or_signature_segment)
{
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    char *payload = strchr(token, '.');
    char *sig = strchr(payload + 1, '.');
    char *forged = NULL;

    /* Split in place: token is then the header. */
    *payload++ = '\0';
    *sig++ = '\0';
    forged = join3(token, "bm90IGpzb24", sig); /* payload "not json" */
    ck_assert_int_eq(check(forged), CRM_JWT_MALFORMED);
    free(forged);
    forged = join3(token, "", sig);
    ck_assert_int_eq(check(forged), CRM_JWT_MALFORMED);
    free(forged);
    forged = join3(token, payload, "");
    ck_assert_int_eq(check(forged), CRM_JWT_MALFORMED);
    free(forged);
    forged = join3(token, payload, "c2ln=");
    ck_assert_int_eq(check(forged), CRM_JWT_MALFORMED);
    free(forged);
    /* Sanity: the pieces put back together still verify. */
    forged = join3(token, payload, sig);
    ck_assert_int_eq(check(forged), CRM_JWT_OK);
    free(forged);
    free(token);
}
END_TEST

START_TEST(test_huge_token)
{
    claims c = good_claims();
    char *extra = malloc(9000);
    char *token = NULL;

    /* Correctly signed but over 8 KiB: refused before any parsing. */
    ck_assert_ptr_nonnull(extra);
    memcpy(extra, "{\"pad\":\"", 8);
    memset(extra + 8, 'x', 8000);
    strcpy(extra + 8008, "\"}");
    c.extra = extra;
    token = sign(priv1, kid1, &c);
    ck_assert_uint_gt(strlen(token), 8192);
    ck_assert_int_eq(check(token), CRM_JWT_MALFORMED);
    free(token);
    free(extra);
}
END_TEST

START_TEST(test_null_arguments_and_cleared_principal)
{
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    crm_principal p;

    ck_assert_int_eq(crm_jwt_verify(NULL, token, now, &p), CRM_JWT_MALFORMED);
    ck_assert_int_eq(crm_jwt_verify(&ring1, NULL, now, &p), CRM_JWT_MALFORMED);
    ck_assert_int_eq(crm_jwt_verify(&ring1, token, now, NULL), CRM_JWT_MALFORMED);
    /* A failure leaves no identity behind for a careless caller. */
    memset(&p, 'x', sizeof p);
    ck_assert_int_eq(crm_jwt_verify(&ring1, token, now + 3600, &p), CRM_JWT_EXPIRED);
    ck_assert_str_eq(p.sub, "");
    ck_assert_str_eq(p.role, "");
    free(token);
}
END_TEST

START_TEST(test_status_text)
{
    for (int s = CRM_JWT_OK; s <= CRM_JWT_BAD_AUDIENCE; s++) {
        const char *text = crm_jwt_status_text((crm_jwt_status)s);

        ck_assert_ptr_nonnull(text);
        ck_assert_str_ne(text, "unknown status");
    }
    ck_assert_str_eq(crm_jwt_status_text(CRM_JWT_EXPIRED), "expired");
}
END_TEST

/* ---- thread safety ---- */

#define THREADS     8
#define ITERATIONS  200
#define LOOP_VERIFY 10000

/* A good token and a forged one for one thread; every thread shares ring12's parsed keys. */
typedef struct thread_work {
    const char *good;
    const char *forged;
} thread_work;

static void *verify_many(void *arg)
{
    const thread_work *w = arg;
    long failures = 0;
    crm_principal p;

    for (int i = 0; i < ITERATIONS; i++) {
        if (crm_jwt_verify(&ring12, w->good, now, &p) != CRM_JWT_OK || strcmp(p.username, "alice"))
            failures++;
        if (crm_jwt_verify(&ring12, w->forged, now, &p) != CRM_JWT_BAD_SIGNATURE)
            failures++;
    }
    return (void *)failures;
}

START_TEST(test_concurrent_verify)
{
    /* Each key is one EVP_PKEY shared by all threads; successes and refusals interleave. */
    claims c = good_claims();
    char *good[2] = {sign(priv1, kid1, &c), sign(priv2, kid2, &c)};
    char *forged[2] = {sign(priv2, kid1, &c), sign(priv1, kid2, &c)};
    thread_work work[2] = {{good[0], forged[0]}, {good[1], forged[1]}};
    pthread_t threads[THREADS];
    void *failures = NULL;

    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, verify_many, &work[i % 2]), 0);
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(threads[i], &failures), 0);
        ck_assert_ptr_null(failures);
    }
    for (int i = 0; i < 2; i++) {
        free(good[i]);
        free(forged[i]);
    }
}
END_TEST

static double seconds_since(const struct timespec *start)
{
    struct timespec end;

    clock_gettime(CLOCK_MONOTONIC, &end);
    return (double)(end.tv_sec - start->tv_sec) + (double)(end.tv_nsec - start->tv_nsec) / 1e9;
}

START_TEST(test_verify_after_many)
{
    /* Nothing accumulates across calls (OpenSSL error queue, contexts, key references). The rate
     * is printed for a reader, never asserted: it depends on the machine and on sanitizers. */
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    struct timespec start;
    crm_principal p;
    long failures = 0;
    double elapsed = 0;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int i = 0; i < LOOP_VERIFY; i++) {
        if (crm_jwt_verify(&ring1, token, now, &p) != CRM_JWT_OK)
            failures++;
    }
    elapsed = seconds_since(&start);
    printf("test_verify_after_many: %d verifies in %.3f s, %.0f verifies/s (one thread)\n",
           LOOP_VERIFY, elapsed, elapsed > 0 ? LOOP_VERIFY / elapsed : 0.0);
    fflush(stdout);

    ck_assert_int_eq(failures, 0);
    memset(&p, 'x', sizeof p);
    ck_assert_int_eq(crm_jwt_verify(&ring1, token, now, &p), CRM_JWT_OK);
    ck_assert_str_eq(p.username, "alice");
    ck_assert_str_eq(p.role, "agent");
    ck_assert_uint_eq(ERR_peek_error(), 0);
    free(token);
}
END_TEST

/* ---- thumbprint and keys ---- */

static BIGNUM *bn_from_b64url(const char *s)
{
    unsigned char *bin = malloc(strlen(s) + 1);
    size_t n = 0;
    BIGNUM *bn = NULL;

    ck_assert_ptr_nonnull(bin);
    n = b64url_to_bytes(s, bin, strlen(s) + 1);
    ck_assert_uint_gt(n, 0);
    bn = BN_bin2bn(bin, (int)n, NULL);
    ck_assert_ptr_nonnull(bn);
    free(bin);
    return bn;
}

/* The RFC 7638 example key, built from n and e, as a PEM public key. */
static char *rfc7638_pem(void)
{
    BIGNUM *n = bn_from_b64url(RFC_N);
    BIGNUM *e = bn_from_b64url(RFC_E);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *pkey = NULL;
    char *pem = NULL;

    ck_assert_ptr_nonnull(bld);
    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n), 1);
    ck_assert_int_eq(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e), 1);
    params = OSSL_PARAM_BLD_to_param(bld);
    ck_assert_ptr_nonnull(params);
    ck_assert_int_eq(EVP_PKEY_fromdata_init(ctx), 1);
    ck_assert_int_eq(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params), 1);
    pem = pem_of(pkey, false);
    ck_assert_ptr_nonnull(pem);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(e);
    BN_free(n);
    return pem;
}

START_TEST(test_thumbprint_rfc7638_vector)
{
    char *pem = rfc7638_pem();
    char kid[64];
    crm_jwt_keyring ring = {0};
    char err[256] = "";

    ck_assert_int_eq(crm_jwt_thumbprint(pem, strlen(pem), kid, sizeof kid), 0);
    ck_assert_str_eq(kid, RFC_KID);

    /* The keyring computes the same kid and the JWK members the JWK Set publishes. */
    ck_assert_msg(crm_jwt_keyring_add_pem(&ring, pem, strlen(pem), err, sizeof err) == 0, "%s",
                  err);
    ck_assert_uint_eq(ring.count, 1);
    ck_assert_str_eq(ring.keys[0].kid, RFC_KID);
    ck_assert_str_eq(ring.keys[0].n_b64url, RFC_N);
    ck_assert_str_eq(ring.keys[0].e_b64url, RFC_E);
    ck_assert_uint_eq(ring.keys[0].pem_len, strlen(ring.keys[0].pem));
    /* The parsed key that verification uses: the same 2048-bit RSA key. */
    ck_assert_ptr_nonnull(ring.keys[0].pkey);
    unsigned int bits = 0;
    ck_assert_int_eq(gnutls_pubkey_get_pk_algorithm(ring.keys[0].pkey, &bits), GNUTLS_PK_RSA);
    ck_assert_uint_eq(bits, 2048);
    crm_jwt_keyring_clean(&ring);
    free(pem);
}
END_TEST

START_TEST(test_thumbprint_private_matches_public)
{
    char from_priv[64];
    char from_pub[64];

    ck_assert_int_eq(crm_jwt_thumbprint(priv1, strlen(priv1), from_priv, sizeof from_priv), 0);
    ck_assert_int_eq(crm_jwt_thumbprint(pub1, strlen(pub1), from_pub, sizeof from_pub), 0);
    ck_assert_str_eq(from_priv, from_pub);
    ck_assert_str_eq(from_pub, kid1);
    ck_assert_uint_eq(strlen(kid1), 43);
    ck_assert_str_ne(kid1, kid2);
}
END_TEST

START_TEST(test_thumbprint_refuses_bad_input)
{
    char kid[64];
    const char *junk = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";

    ck_assert_int_eq(crm_jwt_thumbprint(pub1, strlen(pub1), kid, 43), -1); /* no room for NUL */
    ck_assert_int_eq(crm_jwt_thumbprint(junk, strlen(junk), kid, sizeof kid), -1);
    ck_assert_int_eq(crm_jwt_thumbprint("", 0, kid, sizeof kid), -1);
    ck_assert_int_eq(crm_jwt_thumbprint(NULL, 0, kid, sizeof kid), -1);
}
END_TEST

START_TEST(test_non_rsa_key_refused)
{
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    char *priv = NULL;
    char *pub = NULL;
    char kid[64];
    char err[256] = "";
    crm_jwt_keyring ring = {0};

    ck_assert_ptr_nonnull(ec);
    priv = pem_of(ec, true);
    pub = pem_of(ec, false);
    ck_assert_ptr_nonnull(priv);
    ck_assert_ptr_nonnull(pub);
    ck_assert_int_eq(crm_jwt_thumbprint(pub, strlen(pub), kid, sizeof kid), -1);
    ck_assert_int_eq(crm_jwt_thumbprint(priv, strlen(priv), kid, sizeof kid), -1);
    ck_assert_int_eq(crm_jwt_keyring_add_pem(&ring, pub, strlen(pub), err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "RSA"));
    ck_assert_uint_eq(ring.count, 0);
    crm_jwt_keyring_clean(&ring);
    free(pub);
    free(priv);
    EVP_PKEY_free(ec);
}
END_TEST

START_TEST(test_add_pem_refusals)
{
    crm_jwt_keyring ring = {0};
    char err[256] = "";
    char *small_priv = NULL;
    char *small_pub = NULL;

    ck_assert_int_eq(crm_jwt_keyring_add_pem(&ring, priv1, strlen(priv1), err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "private key"));
    ck_assert_int_eq(crm_jwt_keyring_add_pem(&ring, "hello", 5, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a PEM public key"));
    ck_assert(gen_rsa(1024, &small_priv, &small_pub));
    ck_assert_int_eq(crm_jwt_keyring_add_pem(&ring, small_pub, strlen(small_pub), err, sizeof err),
                     -1);
    ck_assert_ptr_nonnull(strstr(err, "1024 bits"));
    ck_assert_int_eq(crm_jwt_keyring_add_pem(&ring, pub1, strlen(pub1), err, sizeof err), 0);
    ck_assert_int_eq(crm_jwt_keyring_add_pem(&ring, pub1, strlen(pub1), err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "already"));
    ck_assert_uint_eq(ring.count, 1);
    /* err may be omitted. */
    ck_assert_int_eq(crm_jwt_keyring_add_pem(&ring, "x", 1, NULL, 0), -1);
    crm_jwt_keyring_clean(&ring);
    free(small_priv);
    free(small_pub);
}
END_TEST

START_TEST(test_keyring_clean_accepts_null_and_zeroed)
{
    crm_jwt_keyring ring = {0};

    crm_jwt_keyring_clean(NULL);
    crm_jwt_keyring_clean(&ring);
    crm_jwt_keyring_clean(&ring);
    ck_assert_ptr_null(ring.keys);
    ck_assert_uint_eq(ring.count, 0);
}
END_TEST

/* ---- keyring loader ---- */

/* A scratch directory with files; removed by dir_remove whatever the test found. */
typedef struct scratch {
    char dir[256];
    char paths[3][300];
    int count;
} scratch;

static void scratch_init(scratch *s)
{
    const char *tmp = getenv("TMPDIR");

    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s/crm_test_jwt_XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(s->dir));
}

static const char *scratch_file(scratch *s, const char *name, const char *content)
{
    char *path = s->paths[s->count++];
    char built[sizeof s->paths[0]];
    FILE *f = NULL;

    /* Built apart first: gcc -O2 cannot tell that path and s->dir never overlap. */
    snprintf(built, sizeof built, "%s/%s", s->dir, name);
    memcpy(path, built, sizeof built);
    f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(content, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static void scratch_remove(scratch *s)
{
    for (int i = 0; i < s->count; i++)
        unlink(s->paths[i]);
    rmdir(s->dir);
}

START_TEST(test_load_two_files)
{
    scratch s;
    crm_jwt_keyring ring = {0};
    char list[1024];
    char err[512] = "";
    int rc = 0;

    scratch_init(&s);
    /* Spaces and empty entries are skipped. */
    snprintf(list, sizeof list, " %s , ,%s,", scratch_file(&s, "k1.pem", pub1),
             scratch_file(&s, "k2.pem", pub2));
    rc = crm_jwt_keyring_load(&ring, list, err, sizeof err);
    scratch_remove(&s);

    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_uint_eq(ring.count, 2);
    ck_assert_str_eq(ring.keys[0].kid, kid1);
    ck_assert_str_eq(ring.keys[1].kid, kid2);
    ck_assert_str_eq(ring.keys[0].e_b64url, "AQAB");
    crm_jwt_keyring_clean(&ring);
}
END_TEST

START_TEST(test_load_missing_file)
{
    scratch s;
    crm_jwt_keyring ring = {0};
    char list[1024];
    char missing[300];
    char err[512] = "";
    int rc = 0;

    scratch_init(&s);
    snprintf(missing, sizeof missing, "%s/absent.pem", s.dir);
    snprintf(list, sizeof list, "%s,%s", scratch_file(&s, "k1.pem", pub1), missing);
    rc = crm_jwt_keyring_load(&ring, list, err, sizeof err);
    scratch_remove(&s);

    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, missing) != NULL, "message does not name the file: %s", err);
    /* All or nothing: the good first file is not left loaded. */
    ck_assert_uint_eq(ring.count, 0);
    crm_jwt_keyring_clean(&ring);
}
END_TEST

START_TEST(test_load_not_a_key)
{
    scratch s;
    crm_jwt_keyring ring = {0};
    const char *path = NULL;
    char err[512] = "";
    int rc = 0;

    scratch_init(&s);
    path = scratch_file(&s, "notes.txt", "this is not a key\n");
    rc = crm_jwt_keyring_load(&ring, path, err, sizeof err);
    scratch_remove(&s);

    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err, "notes.txt") != NULL, "message does not name the file: %s", err);
    ck_assert_uint_eq(ring.count, 0);
}
END_TEST

START_TEST(test_load_empty_list)
{
    crm_jwt_keyring ring = {0};
    char err[256] = "";

    ck_assert_int_eq(crm_jwt_keyring_load(&ring, " , ,", err, sizeof err), -1);
    ck_assert_str_ne(err, "");
    ck_assert_int_eq(crm_jwt_keyring_load(&ring, "", err, sizeof err), -1);
    ck_assert_int_eq(crm_jwt_keyring_load(&ring, NULL, err, sizeof err), -1);
    ck_assert_uint_eq(ring.count, 0);
}
END_TEST

/* ---- the verified-token cache ---- */

START_TEST(test_cache_answers_like_verify)
{
    crm_jwt_cache *cache = crm_jwt_cache_new(8);
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    crm_principal p;

    ck_assert_ptr_nonnull(cache);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token, now, &p), CRM_JWT_OK);
    ck_assert_uint_eq(crm_jwt_cache_hits(cache), 0);
    memset(&p, 'x', sizeof p);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token, now, &p), CRM_JWT_OK);
    ck_assert_uint_eq(crm_jwt_cache_hits(cache), 1);
    ck_assert_str_eq(p.sub, c.sub);
    ck_assert_str_eq(p.username, "alice");
    ck_assert_str_eq(p.role, "agent");
    ck_assert_str_eq(p.jti, c.jti);
    ck_assert_int_eq(p.exp, c.exp);
    ck_assert_int_eq(p.iat, c.iat);
    free(token);
    crm_jwt_cache_free(cache);
}
END_TEST

START_TEST(test_cache_expires_with_the_token)
{
    crm_jwt_cache *cache = crm_jwt_cache_new(8);
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    crm_principal p;
    time_t last_second = (time_t)c.exp + CRM_JWT_LEEWAY_SECONDS;

    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token, now, &p), CRM_JWT_OK);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token, last_second, &p), CRM_JWT_OK);
    ck_assert_uint_eq(crm_jwt_cache_hits(cache), 1);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token, last_second + 1, &p),
                     CRM_JWT_EXPIRED);
    ck_assert_str_eq(p.sub, ""); /* cleared, as crm_jwt_verify clears it */
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token, last_second + 1, &p),
                     CRM_JWT_EXPIRED);
    ck_assert_uint_eq(crm_jwt_cache_hits(cache), 1);
    free(token);
    crm_jwt_cache_free(cache);
}
END_TEST

START_TEST(test_cache_not_yet_valid_at_an_earlier_now)
{
    /* Cached when valid; asked again with a clock before its nbf: the full answer, not OK. */
    crm_jwt_cache *cache = crm_jwt_cache_new(8);
    claims c = good_claims();
    c.with_nbf = true;
    c.nbf = (long)now;
    char *token = sign(priv1, kid1, &c);
    crm_principal p;

    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token, now, &p), CRM_JWT_OK);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token, now - 600, &p),
                     CRM_JWT_NOT_YET_VALID);
    ck_assert_uint_eq(crm_jwt_cache_hits(cache), 0);
    free(token);
    crm_jwt_cache_free(cache);
}
END_TEST

START_TEST(test_cache_never_outlives_its_key)
{
    /* Verified with key 2 while both keys were accepted; once key 2 is gone from the keyring
     * the cached answer is not used. */
    crm_jwt_cache *cache = crm_jwt_cache_new(8);
    claims c = good_claims();
    char *token = sign(priv2, kid2, &c);
    crm_principal p;

    ck_assert_int_eq(crm_jwt_verify_cached(&ring12, cache, token, now, &p), CRM_JWT_OK);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token, now, &p), CRM_JWT_UNKNOWN_KID);
    ck_assert_uint_eq(crm_jwt_cache_hits(cache), 0);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring12, cache, token, now, &p), CRM_JWT_OK);
    free(token);
    crm_jwt_cache_free(cache);
}
END_TEST

START_TEST(test_cache_keeps_no_failure)
{
    crm_jwt_cache *cache = crm_jwt_cache_new(8);
    claims c = good_claims();
    char *token = sign(priv1, kid1, &c);
    char *forged = strdup(token);
    crm_principal p;

    /* The last signature character changed: another token, never served from the cache. */
    char *last = forged + strlen(forged) - 1;
    *last = *last == 'A' ? 'Q' : 'A';
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token, now, &p), CRM_JWT_OK);
    for (int i = 0; i < 2; i++)
        ck_assert_int_ne(crm_jwt_verify_cached(&ring1, cache, forged, now, &p), CRM_JWT_OK);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, token + 1, now, &p),
                     crm_jwt_verify(&ring1, token + 1, now, &p));
    ck_assert_uint_eq(crm_jwt_cache_hits(cache), 0);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, NULL, token, now, &p), CRM_JWT_OK);
    free(forged);
    free(token);
    crm_jwt_cache_free(cache);
    crm_jwt_cache_free(NULL);
}
END_TEST

START_TEST(test_cache_is_bounded)
{
    /* More tokens than slots: each still verifies, as a hit or by the full check, and the
     * most recent ones are hits. */
    enum { TOKENS = 40 };
    crm_jwt_cache *cache = crm_jwt_cache_new(4);
    char *tokens[TOKENS];
    crm_principal p;
    char sub[32];

    for (int i = 0; i < TOKENS; i++) {
        claims c = good_claims();
        snprintf(sub, sizeof sub, "65f1c0ffee00000000%06d", i);
        c.sub = sub;
        tokens[i] = sign(priv1, kid1, &c);
        ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, tokens[i], now, &p), CRM_JWT_OK);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < TOKENS; i++) {
            snprintf(sub, sizeof sub, "65f1c0ffee00000000%06d", i);
            ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, tokens[i], now, &p), CRM_JWT_OK);
            ck_assert_str_eq(p.sub, sub);
        }
    }
    ck_assert_uint_le(crm_jwt_cache_hits(cache), 2 * TOKENS);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, tokens[TOKENS - 1], now, &p), CRM_JWT_OK);
    unsigned long hits = crm_jwt_cache_hits(cache);
    ck_assert_int_eq(crm_jwt_verify_cached(&ring1, cache, tokens[TOKENS - 1], now, &p), CRM_JWT_OK);
    ck_assert_uint_eq(crm_jwt_cache_hits(cache), hits + 1);
    for (int i = 0; i < TOKENS; i++)
        free(tokens[i]);
    crm_jwt_cache_free(cache);
}
END_TEST

static Suite *jwt_suite(void)
{
    Suite *s = suite_create("jwt");
    TCase *verify = tcase_create("verify");
    TCase *repeat = tcase_create("repeat");
    TCase *keys = tcase_create("keys");
    TCase *cache = tcase_create("cache");

    tcase_add_checked_fixture(verify, rings_setup, rings_teardown);
    tcase_add_test(verify, test_valid_token);
    tcase_add_test(verify, test_optional_claims_absent);
    tcase_add_test(verify, test_every_role);
    tcase_add_test(verify, test_rotation_both_keys_verify);
    tcase_add_test(verify, test_alg_none);
    tcase_add_test(verify, test_hs256_with_public_pem);
    tcase_add_test(verify, test_hmac_signature_under_rs256_header);
    tcase_add_test(verify, test_alg_compared_exactly);
    tcase_add_test(verify, test_alg_missing_or_not_string);
    tcase_add_test(verify, test_duplicate_header_member);
    tcase_add_test(verify, test_crit_header_refused);
    tcase_add_test(verify, test_typ_other_than_jwt);
    tcase_add_test(verify, test_duplicate_claim);
    tcase_add_test(verify, test_nul_in_claim);
    tcase_add_test(verify, test_noncanonical_base64);
    tcase_add_test(verify, test_unknown_kid);
    tcase_add_test(verify, test_missing_kid);
    tcase_add_test(verify, test_kid_not_a_string);
    tcase_add_test(verify, test_empty_keyring);
    tcase_add_test(verify, test_other_key_claiming_kid);
    tcase_add_test(verify, test_tampered_payload);
    tcase_add_test(verify, test_tampered_signature);
    tcase_add_test(verify, test_signature_length_must_be_modulus_size);
    tcase_add_test(verify, test_signature_spelled_noncanonically);
    tcase_add_test(verify, test_signature_digest_and_padding_pinned);
    tcase_add_test(verify, test_exp_leeway);
    tcase_add_test(verify, test_nbf_leeway);
    tcase_add_test(verify, test_iat_in_future);
    tcase_add_test(verify, test_exp_missing);
    tcase_add_test(verify, test_exp_as_string);
    tcase_add_test(verify, test_exp_as_real);
    tcase_add_test(verify, test_nbf_and_iat_wrong_type);
    tcase_add_test(verify, test_wrong_issuer);
    tcase_add_test(verify, test_wrong_audience);
    tcase_add_test(verify, test_missing_audience);
    tcase_add_test(verify, test_audience_array);
    tcase_add_test(verify, test_missing_sub);
    tcase_add_test(verify, test_principal_claims_wrong_type_or_size);
    tcase_add_test(verify, test_unknown_role);
    tcase_add_test(verify, test_garbage);
    tcase_add_test(verify, test_bad_payload_or_signature_segment);
    tcase_add_test(verify, test_huge_token);
    tcase_add_test(verify, test_null_arguments_and_cleared_principal);
    tcase_add_test(verify, test_status_text);
    suite_add_tcase(s, verify);

    /* Apart, with room beyond Check's 4 s default: a slow machine or valgrind must not turn
     * these into failures, since speed is not what they check. */
    tcase_add_checked_fixture(repeat, rings_setup, rings_teardown);
    tcase_set_timeout(repeat, 120);
    tcase_add_test(repeat, test_concurrent_verify);
    tcase_add_test(repeat, test_verify_after_many);
    suite_add_tcase(s, repeat);

    tcase_add_checked_fixture(cache, rings_setup, rings_teardown);
    tcase_add_test(cache, test_cache_answers_like_verify);
    tcase_add_test(cache, test_cache_expires_with_the_token);
    tcase_add_test(cache, test_cache_not_yet_valid_at_an_earlier_now);
    tcase_add_test(cache, test_cache_never_outlives_its_key);
    tcase_add_test(cache, test_cache_keeps_no_failure);
    tcase_add_test(cache, test_cache_is_bounded);
    suite_add_tcase(s, cache);

    tcase_add_test(keys, test_thumbprint_rfc7638_vector);
    tcase_add_test(keys, test_thumbprint_private_matches_public);
    tcase_add_test(keys, test_thumbprint_refuses_bad_input);
    tcase_add_test(keys, test_non_rsa_key_refused);
    tcase_add_test(keys, test_add_pem_refusals);
    tcase_add_test(keys, test_keyring_clean_accepts_null_and_zeroed);
    tcase_add_test(keys, test_load_two_files);
    tcase_add_test(keys, test_load_missing_file);
    tcase_add_test(keys, test_load_not_a_key);
    tcase_add_test(keys, test_load_empty_list);
    suite_add_tcase(s, keys);
    return s;
}

int main(void)
{
    SRunner *sr = NULL;
    int failed = 0;

    now = time(NULL);
    if (!gen_rsa(2048, &priv1, &pub1) || !gen_rsa(2048, &priv2, &pub2) ||
        crm_jwt_thumbprint(pub1, strlen(pub1), kid1, sizeof kid1) != 0 ||
        crm_jwt_thumbprint(pub2, strlen(pub2), kid2, sizeof kid2) != 0) {
        fprintf(stderr, "cannot generate the test keys or their thumbprints\n");
        return EXIT_FAILURE;
    }

    sr = srunner_create(jwt_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(priv1);
    free(pub1);
    free(priv2);
    free(pub2);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
