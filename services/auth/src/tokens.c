/* Access tokens signed with libjwt (RS256, kid = RFC 7638 thumbprint), refresh tokens from
 * libsodium's generator. */
#include "tokens.h"

#include "crm/util.h"

#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *private_pem;
static size_t private_pem_len;
static char signing_kid[64];
static long ttl;

static char *file_read(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    char *text = NULL;
    if (!file)
        return NULL;
    if (fseek(file, 0, SEEK_END) != 0)
        goto done;
    long size = ftell(file);
    if (size <= 0 || size > 65536 || fseek(file, 0, SEEK_SET) != 0)
        goto done;
    text = malloc((size_t)size + 1);
    if (text && fread(text, 1, (size_t)size, file) != (size_t)size) {
        free(text);
        text = NULL;
    }
    if (text) {
        text[size] = '\0';
        *len = (size_t)size;
    }
done:
    fclose(file);
    return text;
}

int tokens_init(const char *file, const crm_jwt_keyring *public_keys, long ttl_seconds, char *err,
                size_t err_len)
{
    tokens_clean(); /* a second init replaces the key instead of leaking it */
    ttl = ttl_seconds;
    private_pem = file_read(file, &private_pem_len);
    if (!private_pem) {
        snprintf(err, err_len, "CRM_JWT_PRIVATE_KEY_FILE: cannot read %s", file);
        return -1;
    }
    if (crm_jwt_thumbprint(private_pem, private_pem_len, signing_kid, sizeof(signing_kid)) != 0) {
        snprintf(err, err_len, "CRM_JWT_PRIVATE_KEY_FILE: %s is not an RSA private key", file);
        tokens_clean();
        return -1;
    }
    for (size_t i = 0; i < public_keys->count; i++) {
        if (strcmp(public_keys->keys[i].kid, signing_kid) == 0)
            return 0;
    }
    snprintf(err, err_len,
             "CRM_JWT_PUBLIC_KEY_FILES does not hold the public half of the signing key (kid %s)",
             signing_kid);
    tokens_clean();
    return -1;
}

void tokens_clean(void)
{
    if (private_pem)
        sodium_memzero(private_pem, private_pem_len);
    free(private_pem);
    private_pem = NULL;
}

long access_token_ttl(void)
{
    return ttl;
}

char *access_token_issue(const user *u)
{
    jwt_t *jwt = NULL;
    char *token = NULL;
    char jti[CRM_UUID_LEN];
    long long now = (long long)time(NULL);

    crm_uuid_v4(jti);
    if (jwt_new(&jwt) != 0)
        return NULL;
    if (jwt_set_alg(jwt, JWT_ALG_RS256, (const unsigned char *)private_pem, (int)private_pem_len) !=
            0 ||
        jwt_add_header(jwt, "kid", signing_kid) != 0 ||
        jwt_add_grant(jwt, "iss", CRM_JWT_ISSUER) != 0 ||
        jwt_add_grant(jwt, "aud", CRM_JWT_AUDIENCE) != 0 || jwt_add_grant(jwt, "sub", u->id) != 0 ||
        jwt_add_grant(jwt, "username", u->username) != 0 ||
        jwt_add_grant(jwt, "role", u->role) != 0 || jwt_add_grant(jwt, "jti", jti) != 0 ||
        jwt_add_grant_int(jwt, "iat", now) != 0 || jwt_add_grant_int(jwt, "exp", now + ttl) != 0)
        goto done;
    token = jwt_encode_str(jwt);
done:
    jwt_free(jwt);
    return token;
}

void refresh_token_digest(const char *token, char digest[REFRESH_DIGEST_LEN])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(digest, REFRESH_DIGEST_LEN, hash, sizeof(hash));
}

void refresh_token_new(char token[REFRESH_TOKEN_LEN], char digest[REFRESH_DIGEST_LEN])
{
    unsigned char random[32];
    randombytes_buf(random, sizeof(random));
    sodium_bin2base64(token, REFRESH_TOKEN_LEN, random, sizeof(random),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    refresh_token_digest(token, digest);
}
