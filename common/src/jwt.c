/* Access-token verification (RS256 only, key chosen by kid) and the RSA key helpers behind the
 * keyring and JWK Set. libjwt is not used here: its jwt_decode re-parses the PEM key on every call
 * (about 285 us with OpenSSL 3, under a global lock), so the signature is checked against a key
 * parsed once at load, and every other rule is ours too. The RSA work is GnuTLS's, not
 * OpenSSL's: every executable already loads GnuTLS (libmicrohttpd, ulfius and libcurl link it),
 * while initialising OpenSSL made about 1.8 MB of libcrypto resident in each process. */
#include "crm/jwt.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

/* Our tokens are well under 1 KiB; the bound keeps a hostile header from costing much. */
#define MAX_TOKEN_LEN    8192
#define MAX_KEY_FILE_LEN (64 * 1024)
#define MIN_RSA_BITS     2048
#define THUMBPRINT_LEN   43 /* base64url of a SHA-256 digest, unpadded */

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    if (!err || err_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    return c == '_' ? 63 : -1;
}

/* Strict base64url without padding: '=', any character outside the alphabet, an impossible
 * length or non-zero unused bits are refused, so a segment has exactly one spelling. */
static bool b64url_valid(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (b64url_value(s[i]) < 0)
            return false;
    }
    switch (len % 4) {
    case 1:
        return false;
    case 2:
        return (b64url_value(s[len - 1]) & 0x0f) == 0;
    case 3:
        return (b64url_value(s[len - 1]) & 0x03) == 0;
    default:
        return true;
    }
}

/* Decodes a valid segment into `out` (room for len * 3 / 4 bytes); returns the byte count. */
static size_t b64url_decode(const char *s, size_t len, unsigned char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        acc = ((acc << 6) | (uint32_t)b64url_value(s[i])) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    return n;
}

/* Returns a NUL-terminated base64url text without padding, or NULL; the caller frees it. */
static char *b64url_encode(const unsigned char *in, size_t len)
{
    char *out = malloc(len / 3 * 4 + 4);
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        acc = ((acc << 8) | in[i]) & 0xffff;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = B64URL[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0)
        out[n++] = B64URL[(acc << (6 - bits)) & 0x3f];
    out[n] = '\0';
    return out;
}

/* Decodes one token segment into a JSON object. Duplicate members are refused: two `alg` or two
 * `role` members would let two parsers disagree on what the token says. */
static json_t *decode_json_object(const char *s, size_t len)
{
    unsigned char *buf = NULL;
    json_t *obj = NULL;
    size_t n = 0;

    if (len == 0 || !b64url_valid(s, len))
        return NULL;
    buf = malloc(len / 4 * 3 + 3);
    if (!buf)
        goto fail;
    n = b64url_decode(s, len, buf);
    obj = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
    if (obj && !json_is_object(obj)) {
        json_decref(obj);
        obj = NULL;
    }
fail:
    free(buf);
    return obj;
}

/* Exact comparison: a JSON string may hold a NUL that strcmp would stop at. */
static bool json_str_eq(const json_t *v, const char *s)
{
    size_t len = strlen(s);

    return json_is_string(v) && json_string_length(v) == len &&
           memcmp(json_string_value(v), s, len) == 0;
}

static const crm_jwt_key *find_key(const crm_jwt_keyring *ring, const json_t *kid)
{
    if (!json_is_string(kid))
        return NULL;
    for (size_t i = 0; i < ring->count; i++) {
        if (json_str_eq(kid, ring->keys[i].kid))
            return &ring->keys[i];
    }
    return NULL;
}

/* Checks the header before any key is touched. Only "RS256", compared exactly: this is what shuts
 * out alg "none" and HS256 keyed with our public PEM, since check_signature then applies RS256
 * whatever else the token says. No extension we would have to understand (RFC 7515 `crit`). A
 * `typ`, when present, must be "JWT" (any case, RFC 7515 4.1.9), as libjwt requires: a token that
 * declares itself another kind is not one of our access tokens (RFC 8725 3.11). */
static crm_jwt_status check_header(const json_t *header, const crm_jwt_keyring *ring,
                                   const crm_jwt_key **key)
{
    const json_t *typ = json_object_get(header, "typ");

    if (!json_str_eq(json_object_get(header, "alg"), "RS256"))
        return CRM_JWT_BAD_ALG;
    if (json_object_get(header, "crit"))
        return CRM_JWT_MALFORMED;
    if (typ && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0))
        return CRM_JWT_MALFORMED;
    *key = find_key(ring, json_object_get(header, "kid"));
    return *key ? CRM_JWT_OK : CRM_JWT_UNKNOWN_KID;
}

/* Reads an integer claim: 1 when present, 0 when absent, -1 when of another JSON type (a string
 * or a real such as 1.7e9 must not pass for a time). */
static int int_claim(const json_t *claims, const char *name, long long *value)
{
    const json_t *v = json_object_get(claims, name);

    if (!v)
        return 0;
    if (!json_is_integer(v))
        return -1;
    *value = json_integer_value(v);
    return 1;
}

/* Copies a string claim; refuses another type, an empty value, and a value that does not fit
 * (never truncate: a cut identifier could name someone else). An absent optional claim is "". */
static bool copy_str_claim(const json_t *claims, const char *name, bool required, char *dst,
                           size_t dst_len)
{
    const json_t *v = json_object_get(claims, name);
    size_t len = 0;

    dst[0] = '\0';
    if (!v)
        return !required;
    if (!json_is_string(v))
        return false;
    len = json_string_length(v);
    if (len == 0 || len >= dst_len || strlen(json_string_value(v)) != len)
        return false;
    memcpy(dst, json_string_value(v), len + 1);
    return true;
}

static bool role_known(const char *role)
{
    return strcmp(role, "admin") == 0 || strcmp(role, "agent") == 0 || strcmp(role, "viewer") == 0;
}

static bool audience_ok(const json_t *aud)
{
    if (json_is_array(aud)) {
        for (size_t i = 0; i < json_array_size(aud); i++) {
            if (json_str_eq(json_array_get(aud, i), CRM_JWT_AUDIENCE))
                return true;
        }
        return false;
    }
    return json_str_eq(aud, CRM_JWT_AUDIENCE);
}

/* Shape first (so a wrongly typed claim is MALFORMED whatever its value), then time, issuer and
 * audience. `now` is the caller's clock, trusted; claim values are not, so the leeway is always
 * applied on the `now` side where it cannot overflow. */
static crm_jwt_status check_claims(const json_t *claims, time_t now, crm_principal *out)
{
    long long t = (long long)now;
    long long exp = 0;
    long long nbf = 0;
    long long iat = 0;
    int has_nbf = int_claim(claims, "nbf", &nbf);
    int has_iat = int_claim(claims, "iat", &iat);

    if (int_claim(claims, "exp", &exp) != 1 || has_nbf < 0 || has_iat < 0)
        return CRM_JWT_MALFORMED;
    if (!copy_str_claim(claims, "sub", true, out->sub, sizeof out->sub) ||
        !copy_str_claim(claims, "username", true, out->username, sizeof out->username) ||
        !copy_str_claim(claims, "role", true, out->role, sizeof out->role) ||
        !copy_str_claim(claims, "jti", false, out->jti, sizeof out->jti) || !role_known(out->role))
        return CRM_JWT_MALFORMED;
    if (t < LLONG_MIN + CRM_JWT_LEEWAY_SECONDS || t > LLONG_MAX - CRM_JWT_LEEWAY_SECONDS)
        return CRM_JWT_MALFORMED;

    if (exp < t - CRM_JWT_LEEWAY_SECONDS)
        return CRM_JWT_EXPIRED;
    if ((has_nbf && nbf > t + CRM_JWT_LEEWAY_SECONDS) ||
        (has_iat && iat > t + CRM_JWT_LEEWAY_SECONDS))
        return CRM_JWT_NOT_YET_VALID;
    if (!json_str_eq(json_object_get(claims, "iss"), CRM_JWT_ISSUER))
        return CRM_JWT_BAD_ISSUER;
    if (!audience_ok(json_object_get(claims, "aud")))
        return CRM_JWT_BAD_AUDIENCE;

    out->exp = exp;
    out->iat = has_iat ? iat : 0;
    return CRM_JWT_OK;
}

/* RS256 (RFC 7518 3.3): RSASSA-PKCS1-v1_5 with SHA-256, over the signing input "header.payload"
 * exactly as received; the caller has checked that `sig_b64` is strict base64url. The algorithm,
 * digest and padding are fixed here (GNUTLS_SIGN_RSA_SHA256 is PKCS#1 v1.5; PSS is another
 * algorithm), never read from the token. Any failure, an allocation failure included, is a bad
 * signature: doubt never lets a token through.
 *
 * Threads: the key is shared by all of them and only read while verifying. */
static crm_jwt_status check_signature(const crm_jwt_key *key, const char *input, size_t input_len,
                                      const char *sig_b64, size_t sig_b64_len)
{
    unsigned char *sig = NULL;
    crm_jwt_status status = CRM_JWT_BAD_SIGNATURE;
    unsigned int bits = 0;

    /* A key filled in by hand, without the parsed key, verifies nothing. */
    if (!key->pkey || input_len > UINT_MAX)
        goto fail;
    if (gnutls_pubkey_get_pk_algorithm(key->pkey, &bits) != GNUTLS_PK_RSA || bits == 0)
        goto fail;
    size_t mod_len = (bits + 7) / 8;
    /* An RSA signature is exactly as long as the modulus (RFC 8017 8.2.2), so a short or long
     * one is refused before GnuTLS sees it. For strict base64url without padding, len * 3 / 4 is
     * the exact decoded size. */
    if (sig_b64_len * 3 / 4 != mod_len)
        goto fail;
    sig = malloc(mod_len);
    if (!sig || b64url_decode(sig_b64, sig_b64_len, sig) != mod_len)
        goto fail;
    const gnutls_datum_t data = {(unsigned char *)input, (unsigned int)input_len};
    const gnutls_datum_t signature = {sig, (unsigned int)mod_len};
    if (gnutls_pubkey_verify_data2(key->pkey, GNUTLS_SIGN_RSA_SHA256, 0, &data, &signature) >= 0)
        status = CRM_JWT_OK;
fail:
    free(sig);
    return status;
}

/* The whole check of crm_jwt_verify; on success also says which key signed the token and from
 * when on it is valid (what the cache needs to answer exactly as this function would). */
static crm_jwt_status verify_full(const crm_jwt_keyring *ring, const char *token, time_t now,
                                  crm_principal *principal, const crm_jwt_key **signer,
                                  long long *valid_from)
{
    json_t *header = NULL;
    json_t *claims = NULL;
    const crm_jwt_key *key = NULL;
    const char *dot1 = NULL;
    const char *dot2 = NULL;
    crm_principal found = {0};
    crm_jwt_status status = CRM_JWT_MALFORMED;
    *signer = NULL;
    size_t len = 0;
    size_t sig_len = 0;

    if (principal)
        memset(principal, 0, sizeof *principal);
    if (!ring || !token || !principal)
        return CRM_JWT_MALFORMED;
    len = strnlen(token, MAX_TOKEN_LEN + 1);
    if (len > MAX_TOKEN_LEN)
        return CRM_JWT_MALFORMED;
    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return CRM_JWT_MALFORMED;

    header = decode_json_object(token, (size_t)(dot1 - token));
    if (!header)
        goto fail;
    status = check_header(header, ring, &key);
    if (status != CRM_JWT_OK)
        goto fail;

    /* The claims are read from a strict parse of the payload (duplicate members refused), and the
     * signature is checked over the very segment bytes they were decoded from, so what is signed
     * and what is believed cannot differ. */
    status = CRM_JWT_MALFORMED;
    claims = decode_json_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    sig_len = len - (size_t)(dot2 + 1 - token);
    if (!claims || sig_len == 0 || !b64url_valid(dot2 + 1, sig_len))
        goto fail;
    status = check_signature(key, token, (size_t)(dot2 - token), dot2 + 1, sig_len);
    if (status != CRM_JWT_OK)
        goto fail;

    status = check_claims(claims, now, &found);
    if (status == CRM_JWT_OK) {
        long long nbf = 0;
        *principal = found;
        *signer = key;
        *valid_from = found.iat;
        if (int_claim(claims, "nbf", &nbf) == 1 && nbf > *valid_from)
            *valid_from = nbf;
    }
fail:
    json_decref(claims);
    json_decref(header);
    return status;
}

crm_jwt_status crm_jwt_verify(const crm_jwt_keyring *ring, const char *token, time_t now,
                              crm_principal *principal)
{
    const crm_jwt_key *signer = NULL;
    long long valid_from = 0;
    return verify_full(ring, token, now, principal, &signer, &valid_from);
}

/* ---- the verified-token cache ---- */

typedef struct cache_entry {
    unsigned char digest[crypto_generichash_BYTES]; /* BLAKE2b of the whole compact token */
    char kid[64];                                   /* the key that verified it */
    long long valid_from;                           /* max(iat, nbf) */
    crm_principal principal;                        /* holds exp */
    int used;
} cache_entry;

struct crm_jwt_cache {
    pthread_mutex_t lock;
    size_t mask; /* slots - 1, slots a power of two */
    unsigned long hits;
    cache_entry *slots;
};

crm_jwt_cache *crm_jwt_cache_new(size_t entries)
{
    size_t slots = 1;
    crm_jwt_cache *cache = calloc(1, sizeof(*cache));
    if (!cache)
        return NULL;
    while (slots < entries && slots < ((size_t)1 << 20))
        slots <<= 1;
    cache->mask = slots - 1;
    /* calloc: pages stay untouched, so memory grows only with the tokens actually seen. */
    cache->slots = calloc(slots, sizeof(*cache->slots));
    if (!cache->slots || pthread_mutex_init(&cache->lock, NULL) != 0) {
        free(cache->slots);
        free(cache);
        return NULL;
    }
    return cache;
}

void crm_jwt_cache_free(crm_jwt_cache *cache)
{
    if (!cache)
        return;
    pthread_mutex_destroy(&cache->lock);
    sodium_memzero(cache->slots, (cache->mask + 1) * sizeof(*cache->slots));
    free(cache->slots);
    free(cache);
}

unsigned long crm_jwt_cache_hits(crm_jwt_cache *cache)
{
    pthread_mutex_lock(&cache->lock);
    unsigned long hits = cache->hits;
    pthread_mutex_unlock(&cache->lock);
    return hits;
}

static bool ring_has_kid(const crm_jwt_keyring *ring, const char *kid)
{
    for (size_t i = 0; i < ring->count; i++) {
        if (strcmp(ring->keys[i].kid, kid) == 0 && ring->keys[i].pkey)
            return true;
    }
    return false;
}

/* Looks the digest up. Returns CRM_JWT_OK with the principal for a live entry, CRM_JWT_EXPIRED
 * for one whose time is over (and drops it), or -1 when the token is not there (or was verified
 * by a key the ring no longer holds, or is not yet valid at `now`): then the full check runs. */
static int cache_lookup(crm_jwt_cache *cache, const crm_jwt_keyring *ring,
                        const unsigned char *digest, long long now, crm_principal *principal)
{
    int result = -1;
    uint32_t slot;
    memcpy(&slot, digest, sizeof(slot));
    pthread_mutex_lock(&cache->lock);
    cache_entry *entry = &cache->slots[slot & cache->mask];
    if (entry->used && memcmp(entry->digest, digest, sizeof(entry->digest)) == 0) {
        if (!ring_has_kid(ring, entry->kid)) {
            entry->used = 0;
        } else if (entry->principal.exp < now - CRM_JWT_LEEWAY_SECONDS) {
            entry->used = 0;
            result = CRM_JWT_EXPIRED;
        } else if (entry->valid_from <= now + CRM_JWT_LEEWAY_SECONDS) {
            *principal = entry->principal;
            cache->hits++;
            result = CRM_JWT_OK;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    return result;
}

static void cache_store(crm_jwt_cache *cache, const unsigned char *digest, const crm_jwt_key *key,
                        long long valid_from, const crm_principal *principal)
{
    uint32_t slot;
    memcpy(&slot, digest, sizeof(slot));
    pthread_mutex_lock(&cache->lock);
    cache_entry *entry = &cache->slots[slot & cache->mask];
    memcpy(entry->digest, digest, sizeof(entry->digest));
    snprintf(entry->kid, sizeof(entry->kid), "%s", key->kid);
    entry->valid_from = valid_from;
    entry->principal = *principal;
    entry->used = 1;
    pthread_mutex_unlock(&cache->lock);
}

crm_jwt_status crm_jwt_verify_cached(const crm_jwt_keyring *ring, crm_jwt_cache *cache,
                                     const char *token, time_t now, crm_principal *principal)
{
    unsigned char digest[crypto_generichash_BYTES];
    const crm_jwt_key *signer = NULL;
    long long valid_from = 0;
    size_t len = 0;

    if (!cache || !ring || !token || !principal)
        return crm_jwt_verify(ring, token, now, principal);
    memset(principal, 0, sizeof *principal);
    len = strnlen(token, MAX_TOKEN_LEN + 1);
    if (len > MAX_TOKEN_LEN)
        return CRM_JWT_MALFORMED;
    /* BLAKE2b-256, not SHA-256: as collision-resistant, and libsodium's BLAKE2b takes 0.97 us
     * for a 700-byte token where its portable SHA-256 takes 2.63 (on every request). */
    crypto_generichash(digest, sizeof digest, (const unsigned char *)token, len, NULL, 0);
    int cached = cache_lookup(cache, ring, digest, (long long)now, principal);
    if (cached >= 0)
        return (crm_jwt_status)cached;
    crm_jwt_status status = verify_full(ring, token, now, principal, &signer, &valid_from);
    if (status == CRM_JWT_OK)
        cache_store(cache, digest, signer, valid_from, principal);
    return status;
}

const char *crm_jwt_status_text(crm_jwt_status status)
{
    switch (status) {
    case CRM_JWT_OK:
        return "ok";
    case CRM_JWT_MALFORMED:
        return "malformed token";
    case CRM_JWT_BAD_ALG:
        return "algorithm not allowed";
    case CRM_JWT_UNKNOWN_KID:
        return "unknown key id";
    case CRM_JWT_BAD_SIGNATURE:
        return "bad signature";
    case CRM_JWT_EXPIRED:
        return "expired";
    case CRM_JWT_NOT_YET_VALID:
        return "not yet valid";
    case CRM_JWT_BAD_ISSUER:
        return "bad issuer";
    case CRM_JWT_BAD_AUDIENCE:
        return "bad audience";
    }
    return "unknown status";
}

/* Reads the PEM public key of the text, or else (when allowed) its private key's public half. */
static gnutls_pubkey_t read_pem_key(const char *pem, size_t pem_len, bool allow_private)
{
    gnutls_pubkey_t pubkey = NULL;
    gnutls_privkey_t privkey = NULL;

    if (!pem || pem_len == 0 || pem_len > INT_MAX || gnutls_pubkey_init(&pubkey) < 0)
        return NULL;
    const gnutls_datum_t text = {(unsigned char *)pem, (unsigned int)pem_len};
    if (gnutls_pubkey_import(pubkey, &text, GNUTLS_X509_FMT_PEM) >= 0)
        return pubkey;
    /* No password callback: an encrypted private key is refused, never prompted for. */
    if (allow_private && gnutls_privkey_init(&privkey) >= 0 &&
        gnutls_privkey_import_x509_raw(privkey, &text, GNUTLS_X509_FMT_PEM, NULL, 0) >= 0 &&
        gnutls_pubkey_import_privkey(pubkey, privkey, 0, 0) >= 0) {
        gnutls_privkey_deinit(privkey);
        return pubkey;
    }
    if (privkey)
        gnutls_privkey_deinit(privkey);
    gnutls_pubkey_deinit(pubkey);
    return NULL;
}

/* The key's RSA size in bits, or 0 when it is not an RSA (PKCS#1 v1.5) key. */
static unsigned int rsa_bits(gnutls_pubkey_t pubkey)
{
    unsigned int bits = 0;
    return gnutls_pubkey_get_pk_algorithm(pubkey, &bits) == GNUTLS_PK_RSA ? bits : 0;
}

/* Computes the JWK members n and e (when asked) and the RFC 7638 thumbprint of an RSA key. The
 * integers come without leading zero bytes (RFC 7518 6.3.1). */
static int rsa_jwk(gnutls_pubkey_t pubkey, char **n_out, char **e_out, char *kid, size_t kid_len)
{
    gnutls_datum_t n = {NULL, 0}, e = {NULL, 0};
    char *n_b64 = NULL;
    char *e_b64 = NULL;
    char *json = NULL;
    char *digest_b64 = NULL;
    unsigned char digest[crypto_hash_sha256_BYTES];
    size_t json_len = 0;
    int rc = -1;

    if (kid_len < THUMBPRINT_LEN + 1)
        goto fail;
    if (gnutls_pubkey_export_rsa_raw2(pubkey, &n, &e, GNUTLS_EXPORT_FLAG_NO_LZ) < 0 ||
        n.size == 0 || e.size == 0)
        goto fail;
    n_b64 = b64url_encode(n.data, n.size);
    e_b64 = b64url_encode(e.data, e.size);
    if (!n_b64 || !e_b64)
        goto fail;

    /* RFC 7638 3.2: the required members only, in lexicographic order, without white space. */
    json_len = strlen(n_b64) + strlen(e_b64) + sizeof "{\"e\":\"\",\"kty\":\"RSA\",\"n\":\"\"}";
    json = malloc(json_len);
    if (!json)
        goto fail;
    snprintf(json, json_len, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e_b64, n_b64);
    crypto_hash_sha256(digest, (const unsigned char *)json, strlen(json));
    digest_b64 = b64url_encode(digest, sizeof digest);
    if (!digest_b64 || strlen(digest_b64) != THUMBPRINT_LEN)
        goto fail;
    memcpy(kid, digest_b64, THUMBPRINT_LEN + 1);

    if (n_out) {
        *n_out = n_b64;
        n_b64 = NULL;
    }
    if (e_out) {
        *e_out = e_b64;
        e_b64 = NULL;
    }
    rc = 0;
fail:
    free(digest_b64);
    free(json);
    free(e_b64);
    free(n_b64);
    gnutls_free(e.data);
    gnutls_free(n.data);
    return rc;
}

int crm_jwt_thumbprint(const char *pem, size_t pem_len, char *kid, size_t kid_len)
{
    gnutls_pubkey_t pubkey = NULL;
    int rc = -1;

    if (!kid || kid_len < THUMBPRINT_LEN + 1)
        return -1;
    kid[0] = '\0';
    pubkey = read_pem_key(pem, pem_len, true);
    if (!pubkey || rsa_bits(pubkey) == 0)
        goto fail;
    rc = rsa_jwk(pubkey, NULL, NULL, kid, kid_len);
fail:
    if (pubkey)
        gnutls_pubkey_deinit(pubkey);
    return rc;
}

static void key_clean(crm_jwt_key *key)
{
    if (key->pkey)
        gnutls_pubkey_deinit(key->pkey);
    free(key->pem);
    free(key->n_b64url);
    free(key->e_b64url);
    memset(key, 0, sizeof *key);
}

int crm_jwt_keyring_add_pem(crm_jwt_keyring *ring, const char *pem, size_t pem_len, char *err,
                            size_t err_len)
{
    gnutls_pubkey_t pubkey = NULL;
    gnutls_datum_t encoded = {NULL, 0};
    crm_jwt_key *grown = NULL;
    crm_jwt_key key = {0};
    unsigned int bits = 0;
    int rc = -1;

    if (!ring || !pem) {
        set_err(err, err_len, "no keyring or no key");
        return -1;
    }
    /* Verifiers hold public keys only; a private key here means one was copied where it must
     * not be, so say so rather than quietly using its public half. */
    if (memmem(pem, pem_len, "PRIVATE KEY", strlen("PRIVATE KEY"))) {
        set_err(err, err_len, "holds a private key; verifiers take PEM public keys only");
        return -1;
    }
    pubkey = read_pem_key(pem, pem_len, false);
    if (!pubkey) {
        set_err(err, err_len, "not a PEM public key");
        goto fail;
    }
    if (gnutls_pubkey_get_pk_algorithm(pubkey, &bits) != GNUTLS_PK_RSA) {
        set_err(err, err_len, "not an RSA key (tokens are signed with RS256)");
        goto fail;
    }
    if (bits < MIN_RSA_BITS) {
        set_err(err, err_len, "RSA key of %u bits, at least %d needed", bits, MIN_RSA_BITS);
        goto fail;
    }
    if (rsa_jwk(pubkey, &key.n_b64url, &key.e_b64url, key.kid, sizeof key.kid) != 0) {
        set_err(err, err_len, "cannot compute the key's thumbprint");
        goto fail;
    }
    for (size_t i = 0; i < ring->count; i++) {
        if (strcmp(ring->keys[i].kid, key.kid) == 0) {
            set_err(err, err_len, "the same key is already loaded");
            goto fail;
        }
    }

    /* The PEM is kept re-encoded from the parsed key, so that it too is exactly the key that the
     * kid names, whatever else the input text held. */
    if (gnutls_pubkey_export2(pubkey, GNUTLS_X509_FMT_PEM, &encoded) < 0 || encoded.size == 0) {
        set_err(err, err_len, "cannot encode the key");
        goto fail;
    }
    if (!(key.pem = malloc((size_t)encoded.size + 1))) {
        set_err(err, err_len, "out of memory");
        goto fail;
    }
    memcpy(key.pem, encoded.data, encoded.size);
    key.pem[encoded.size] = '\0';
    key.pem_len = encoded.size;

    grown = realloc(ring->keys, (ring->count + 1) * sizeof *grown);
    if (!grown) {
        set_err(err, err_len, "out of memory");
        goto fail;
    }
    ring->keys = grown;
    /* Verification uses this very key, the one the kid was computed from; it is parsed here
     * once instead of on every verify. */
    key.pkey = pubkey;
    pubkey = NULL;
    ring->keys[ring->count++] = key; /* the ring owns the strings and the key now */
    memset(&key, 0, sizeof key);
    rc = 0;
fail:
    key_clean(&key);
    gnutls_free(encoded.data);
    if (pubkey)
        gnutls_pubkey_deinit(pubkey);
    return rc;
}

/* Reads a whole key file into a NUL-terminated buffer the caller frees. */
static int read_file(const char *path, char **text, size_t *text_len, char *why, size_t why_len)
{
    FILE *f = NULL;
    char *buf = NULL;
    size_t n = 0;
    int rc = -1;

    f = fopen(path, "rb");
    if (!f) {
        set_err(why, why_len, "cannot open: %m"); /* glibc's %m: strerror(errno), thread-safe */
        goto fail;
    }
    buf = malloc(MAX_KEY_FILE_LEN + 1);
    if (!buf) {
        set_err(why, why_len, "out of memory");
        goto fail;
    }
    n = fread(buf, 1, MAX_KEY_FILE_LEN + 1, f);
    if (ferror(f)) {
        set_err(why, why_len, "cannot read: %m");
        goto fail;
    }
    if (n > MAX_KEY_FILE_LEN) {
        set_err(why, why_len, "larger than %d bytes", MAX_KEY_FILE_LEN);
        goto fail;
    }
    buf[n] = '\0';
    *text = buf;
    *text_len = n;
    buf = NULL;
    rc = 0;
fail:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

static char *trim(char *s)
{
    char *end = NULL;

    while (isspace((unsigned char)*s))
        s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *end = '\0';
    return s;
}

int crm_jwt_keyring_load(crm_jwt_keyring *ring, const char *files, char *err, size_t err_len)
{
    char *list = NULL;
    char *entry = NULL;
    char *next = NULL;
    char *path = NULL;
    char *pem = NULL;
    char why[256];
    size_t pem_len = 0;
    size_t start = 0;
    int rc = -1;

    if (!ring || !files) {
        set_err(err, err_len, "no keyring or no key file list");
        return -1;
    }
    start = ring->count;
    list = strdup(files);
    if (!list) {
        set_err(err, err_len, "out of memory");
        goto fail;
    }
    for (entry = list; entry; entry = next) {
        next = strchr(entry, ',');
        if (next)
            *next++ = '\0';
        path = trim(entry);
        if (*path == '\0')
            continue;
        if (read_file(path, &pem, &pem_len, why, sizeof why) != 0 ||
            crm_jwt_keyring_add_pem(ring, pem, pem_len, why, sizeof why) != 0) {
            set_err(err, err_len, "%s: %s", path, why);
            goto fail;
        }
        free(pem);
        pem = NULL;
    }
    if (ring->count == start) {
        set_err(err, err_len, "the key file list names no file");
        goto fail;
    }
    rc = 0;
fail:
    /* All or nothing: a partly loaded list would hide the bad file until rotation. */
    while (rc != 0 && ring->count > start)
        key_clean(&ring->keys[--ring->count]);
    free(pem);
    free(list);
    return rc;
}

void crm_jwt_keyring_clean(crm_jwt_keyring *ring)
{
    if (!ring)
        return;
    for (size_t i = 0; i < ring->count; i++)
        key_clean(&ring->keys[i]);
    free(ring->keys);
    ring->keys = NULL;
    ring->count = 0;
}
