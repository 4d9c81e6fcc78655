/* Access-token verification shared by the gateway and every service, and the key helpers the
 * auth service needs to publish its keys. Tokens are signed with libjwt 1.10.2 by the auth
 * service, but verified here without it; what closes each of its traps (NOTES.md):
 * - alg "none", HS256 keyed with our public PEM, any other alg: the header's alg must be exactly
 *   "RS256", and the signature is only ever checked as RSASSA-PKCS1-v1_5 with SHA-256 against
 *   an RSA key parsed at load, so no token can choose the algorithm or use a key as an HMAC
 *   secret. An empty or wrongly sized signature never verifies.
 * - no exp/nbf/iss/aud checks: exp, nbf and iat are checked here with a 30 s leeway, iss and
 *   aud exactly.
 * - one key per decode: the key is chosen by `kid` (RFC 7638 thumbprint), an unknown kid is
 *   refused.
 * - last-wins duplicate members: header and claims are parsed here, duplicates refused, and the
 *   signature covers the very bytes those claims were read from.
 * - PEM re-parsed on every decode (slow, under a global lock): each key is parsed once, at load. */
#ifndef CRM_JWT_H
#define CRM_JWT_H

#include <stddef.h>
#include <time.h>

#define CRM_JWT_ISSUER         "crm-auth"
#define CRM_JWT_AUDIENCE       "crm-api"
#define CRM_JWT_LEEWAY_SECONDS 30

/* One RSA public key that verifiers accept. */
typedef struct crm_jwt_key {
    char kid[64]; /* RFC 7638 thumbprint, base64url without padding */
    char *pem;    /* the key re-encoded as PEM text, owned (for tools and tests) */
    size_t pem_len;
    char *n_b64url; /* modulus, base64url, owned (for the JWK Set) */
    char *e_b64url; /* exponent, base64url, owned */
    void *pkey;     /* gnutls_pubkey_t, parsed once at load, owned; opaque so that users of
                     * this header need no GnuTLS headers */
} crm_jwt_key;

/* The set of accepted public keys. Immutable after loading, so safe to share between threads
 * (verifiers only read the parsed keys; see crm_jwt_verify). */
typedef struct crm_jwt_keyring {
    crm_jwt_key *keys;
    size_t count;
} crm_jwt_keyring;

/* The verified identity a token carries. */
typedef struct crm_principal {
    char sub[64]; /* user id */
    char username[64];
    char role[16]; /* admin | agent | viewer */
    char jti[64];
    long long iat;
    long long exp;
} crm_principal;

typedef enum crm_jwt_status {
    CRM_JWT_OK = 0,
    CRM_JWT_MALFORMED,   /* not three base64url segments, bad header JSON, missing claims */
    CRM_JWT_BAD_ALG,     /* any alg but RS256 (none, HS256 ...) */
    CRM_JWT_UNKNOWN_KID, /* no kid, or a kid that is not in the keyring */
    CRM_JWT_BAD_SIGNATURE,
    CRM_JWT_EXPIRED,       /* exp more than the leeway in the past */
    CRM_JWT_NOT_YET_VALID, /* nbf or iat more than the leeway in the future */
    CRM_JWT_BAD_ISSUER,
    CRM_JWT_BAD_AUDIENCE,
} crm_jwt_status;

/* Loads every PEM public key named in the comma-separated `files` list. Returns 0, or -1 with a
 * message naming the file in `err`. The caller releases the keyring with crm_jwt_keyring_clean. */
int crm_jwt_keyring_load(crm_jwt_keyring *ring, const char *files, char *err, size_t err_len);

/* Adds one PEM public key given as text (used by tests and by the loader). Returns 0 or -1. */
int crm_jwt_keyring_add_pem(crm_jwt_keyring *ring, const char *pem, size_t pem_len, char *err,
                            size_t err_len);

/* Releases what the keyring owns; accepts a zeroed or NULL keyring. */
void crm_jwt_keyring_clean(crm_jwt_keyring *ring);

/* Computes the RFC 7638 thumbprint of a PEM RSA key (public or private) into `kid` (at least
 * 44 bytes). Returns 0 or -1. */
int crm_jwt_thumbprint(const char *pem, size_t pem_len, char *kid, size_t kid_len);

/* Verifies `token` (the compact JWT, without "Bearer ") against `ring` at time `now`.
 * On CRM_JWT_OK fills `principal`; on any other status clears it. Thread-safe: any number of
 * threads may verify against one keyring at once. */
crm_jwt_status crm_jwt_verify(const crm_jwt_keyring *ring, const char *token, time_t now,
                              crm_principal *principal);

/* A bounded cache of verified tokens, so that a client sending the same token again costs a
 * BLAKE2b-256 hash instead of an RSA verification and two JSON parses. Entries are keyed by the
 * hash of the whole token and hold what verification found; only tokens that verified are stored.
 * A hit answers exactly as crm_jwt_verify would at `now`: expired once exp (plus the leeway) is
 * past, and never when the key that verified the token is no longer in the keyring it is asked
 * with (key rotation). Collisions in the table simply replace the older entry. Thread-safe. */
typedef struct crm_jwt_cache crm_jwt_cache;

/* A cache of at most `entries` tokens (rounded up to a power of two), or NULL. */
crm_jwt_cache *crm_jwt_cache_new(size_t entries);

/* Releases the cache; accepts NULL. */
void crm_jwt_cache_free(crm_jwt_cache *cache);

/* crm_jwt_verify through the cache (a NULL cache verifies without one). Same results. */
crm_jwt_status crm_jwt_verify_cached(const crm_jwt_keyring *ring, crm_jwt_cache *cache,
                                     const char *token, time_t now, crm_principal *principal);

/* How many verifications the cache has answered (tests, diagnostics). */
unsigned long crm_jwt_cache_hits(crm_jwt_cache *cache);

/* A short, stable, log-safe reason for a status ("expired", "bad signature" ...). */
const char *crm_jwt_status_text(crm_jwt_status status);

#endif
