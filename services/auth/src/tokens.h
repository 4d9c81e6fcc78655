/* Tokens the auth service issues: RS256 access tokens (claims per API.md) and opaque refresh
 * tokens, of which only a SHA-256 digest is ever stored. */
#ifndef AUTH_TOKENS_H
#define AUTH_TOKENS_H

#include "crm/jwt.h"
#include "model.h"

#include <stddef.h>

#define REFRESH_TOKEN_LEN  44 /* 32 random bytes, base64url without padding, plus NUL */
#define REFRESH_DIGEST_LEN 65 /* SHA-256 in hex plus NUL */

/* Reads the private signing key from `file` and checks that `public_keys` holds its public
 * half (else no verifier could accept our tokens). Returns 0, or -1 with a message in `err`. */
int tokens_init(const char *file, const crm_jwt_keyring *public_keys, long ttl_seconds, char *err,
                size_t err_len);
void tokens_clean(void);

/* Signs an access token for `u`. Returns a string the caller frees with free(), or NULL. */
char *access_token_issue(const user *u);

/* The access token lifetime in seconds (expires_in). */
long access_token_ttl(void);

/* A new random refresh token and its digest. */
void refresh_token_new(char token[REFRESH_TOKEN_LEN], char digest[REFRESH_DIGEST_LEN]);

/* The digest under which `token` is stored. */
void refresh_token_digest(const char *token, char digest[REFRESH_DIGEST_LEN]);

#endif
