/* Password hashing with Argon2id (libsodium), with a bound on hashes computed at once so a
 * login storm cannot take every worker or blow memory up. */
#ifndef AUTH_PASSWORDS_H
#define AUTH_PASSWORDS_H

#include <sodium.h>
#include <stddef.h>

#define PASSWORD_HASH_MAX crypto_pwhash_STRBYTES

/* Sets the cost (memory in KiB, passes) and the number of concurrent hashes (0: one per core
 * but one, at least one),
 * and starts computing, on a thread of its own, the dummy hash that unknown users are checked
 * against. Returns 0 or -1. passwords_clean waits for that thread. */
int passwords_init(long memory_kib, long passes, long concurrency);
void passwords_clean(void);

/* Hashes `password` into `out` (PASSWORD_HASH_MAX bytes). Returns 0 or -1. */
int password_hash(const char *password, char out[PASSWORD_HASH_MAX]);

/* 1 when `password` matches `hash`, else 0. With `hash` NULL it checks against the dummy hash
 * and returns 0, so an unknown user costs as much time as a wrong password. */
int password_verify(const char *hash, const char *password);

/* 1 when `hash` was made with other parameters than the current ones. */
int password_needs_rehash(const char *hash);

#endif
