/* Fuzz harness: crm_jwt_verify, which every process runs on the Authorization header, against a
 * keyring of one RSA key made at start (2048 bits, in memory: no key is stored anywhere) and a
 * fixed clock.
 *
 * Input: the first byte picks the mode.
 *   even: the rest is the token as a client sends it. Without the private key nothing may verify,
 *         so CRM_JWT_OK here is a forgery and aborts.
 *   odd:  the rest is "HEADER\nCLAIMS\nTAIL": both JSON texts are base64url-encoded and signed
 *         here with the key (RS256), "@KID@" in HEADER standing for the key's kid, then TAIL is
 *         appended. This reaches what only a signed token reaches: the claims, times, issuer,
 *         audience and role. A token that verifies must carry what check_claims promises. */
#include "crm/jwt.h"
#include "fuzz_support.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1767225600 /* 2026-01-01T00:00:00Z */

static crm_jwt_keyring ring;
static EVP_PKEY *private_key;

static void key_make(void)
{
    char err[256];
    char *pem = NULL;
    if (private_key)
        return;
    private_key = EVP_RSA_gen(2048);
    BIO *bio = BIO_new(BIO_s_mem());
    if (!private_key || !bio || PEM_write_bio_PUBKEY(bio, private_key) != 1)
        abort();
    long len = BIO_get_mem_data(bio, &pem);
    if (crm_jwt_keyring_add_pem(&ring, pem, (size_t)len, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz: %s\n", err);
        abort();
    }
    BIO_free(bio);
}

static char *base64url(const unsigned char *data, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(len / 3 * 4 + 5);
    size_t n = 0;
    if (!out)
        abort();
    for (size_t i = 0; i < len; i += 3) {
        unsigned long chunk = (unsigned long)data[i] << 16;
        if (i + 1 < len)
            chunk |= (unsigned long)data[i + 1] << 8;
        if (i + 2 < len)
            chunk |= data[i + 2];
        out[n++] = alphabet[(chunk >> 18) & 63];
        out[n++] = alphabet[(chunk >> 12) & 63];
        if (i + 1 < len)
            out[n++] = alphabet[(chunk >> 6) & 63];
        if (i + 2 < len)
            out[n++] = alphabet[chunk & 63];
    }
    out[n] = '\0';
    return out;
}

/* `text` with every "@KID@" replaced by the key's kid. */
static char *kid_put(const char *text)
{
    const char *kid = ring.keys[0].kid;
    size_t count = 0;
    for (const char *p = strstr(text, "@KID@"); p; p = strstr(p + 5, "@KID@"))
        count++;
    char *out = malloc(strlen(text) + count * strlen(kid) + 1), *o = out;
    if (!out)
        abort();
    for (const char *p = text; *p;) {
        if (strncmp(p, "@KID@", 5) == 0) {
            o = stpcpy(o, kid);
            p += 5;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* "b64(header).b64(claims).b64(RS256 signature)" followed by `tail`. */
static char *token_sign(const char *header, const char *claims, const char *tail)
{
    char *h = base64url((const unsigned char *)header, strlen(header));
    char *c = base64url((const unsigned char *)claims, strlen(claims));
    char *input = NULL, *token = NULL;
    unsigned char signature[512];
    size_t signature_len = sizeof(signature);
    if (asprintf(&input, "%s.%s", h, c) < 0)
        abort();
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, private_key) != 1 ||
        EVP_DigestSign(ctx, signature, &signature_len, (const unsigned char *)input,
                       strlen(input)) != 1)
        abort();
    EVP_MD_CTX_free(ctx);
    char *s = base64url(signature, signature_len);
    if (asprintf(&token, "%s.%s%s", input, s, tail) < 0)
        abort();
    free(s);
    free(input);
    free(c);
    free(h);
    return token;
}

static int str_member_is(const json_t *object, const char *name, const char *value)
{
    const json_t *member = json_object_get(object, name);
    return json_is_string(member) && strcmp(json_string_value(member), value) == 0;
}

/* What a verified token promises, checked against its claims read independently. */
static void check_verified(const crm_principal *p, const char *claims_text)
{
    json_t *claims = json_loads(claims_text, 0, NULL);
    FUZZ_CHECK(json_is_object(claims));
    FUZZ_CHECK(str_member_is(claims, "iss", CRM_JWT_ISSUER));
    FUZZ_CHECK(p->sub[0] && p->username[0]);
    FUZZ_CHECK(str_member_is(claims, "sub", p->sub));
    FUZZ_CHECK(str_member_is(claims, "role", p->role));
    FUZZ_CHECK(strcmp(p->role, "admin") == 0 || strcmp(p->role, "agent") == 0 ||
               strcmp(p->role, "viewer") == 0);
    FUZZ_CHECK(p->exp >= (long long)NOW - CRM_JWT_LEEWAY_SECONDS);
    FUZZ_CHECK(p->iat <= (long long)NOW + CRM_JWT_LEEWAY_SECONDS);
    json_decref(claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    crm_principal principal;
    fuzz_fields parts;
    if (size == 0)
        return 0;
    key_make();
    if ((data[0] & 1) == 0) {
        fuzz_fields_split(&parts, data + 1, size - 1, '\0', 1);
        crm_jwt_status status = crm_jwt_verify(&ring, parts.field[0], NOW, &principal);
        FUZZ_CHECK(status != CRM_JWT_OK);
        FUZZ_CHECK(principal.sub[0] == '\0' && principal.role[0] == '\0');
        FUZZ_CHECK(crm_jwt_status_text(status) != NULL);
        fuzz_fields_clean(&parts);
        return 0;
    }
    fuzz_fields_split(&parts, data + 1, size - 1, '\n', 3);
    char *header = kid_put(fuzz_field(&parts, 0));
    char *token = token_sign(header, fuzz_field(&parts, 1), fuzz_field(&parts, 2));
    crm_jwt_status status = crm_jwt_verify(&ring, token, NOW, &principal);
    if (status == CRM_JWT_OK) {
        FUZZ_CHECK(fuzz_field(&parts, 2)[0] == '\0'); /* a tail breaks the signature or shape */
        check_verified(&principal, fuzz_field(&parts, 1));
    } else {
        FUZZ_CHECK(principal.sub[0] == '\0');
    }
    free(token);
    free(header);
    fuzz_fields_clean(&parts);
    return 0;
}
