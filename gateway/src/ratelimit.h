/* Token buckets for the gateway's rate limits, keyed by client address or user id, in a
 * fixed-size table: thread-safe, and its memory never grows whatever keys clients send. */
#ifndef GATEWAY_RATELIMIT_H
#define GATEWAY_RATELIMIT_H

#include <stddef.h>

typedef struct ratelimit ratelimit;

/* The outcome of one take, in the units of the RateLimit-* and Retry-After headers. */
typedef struct ratelimit_result {
    int allowed;
    long limit;               /* the bucket's size (the burst): RateLimit-Limit */
    long remaining;           /* whole tokens left after this take: RateLimit-Remaining */
    long reset_seconds;       /* until the bucket is full again: RateLimit-Reset */
    long retry_after_seconds; /* when refused: until one token is back, at least 1; else 0 */
} ratelimit_result;

/* A limiter that refills `rate` tokens per second up to `burst` tokens and remembers at most
 * about `capacity` keys (rounded up to a power of two, at least 8). Returns NULL when `rate` or
 * `burst` is not positive or memory runs out. Release with ratelimit_free. */
ratelimit *ratelimit_new(double rate, long burst, size_t capacity);
void ratelimit_free(ratelimit *limiter);

/* Takes one token from the bucket of `key` at time `now` (seconds on a monotonic clock, passed
 * in so tests can drive time). A key seen for the first time starts with a full bucket. When the
 * table is full, the key evicted is one whose bucket has refilled (it holds no information), else
 * the one idle longest. Fills `result` and returns result->allowed. Thread-safe. */
int ratelimit_take(ratelimit *limiter, const char *key, double now, ratelimit_result *result);

/* How many keys the table holds now, and at most. */
size_t ratelimit_size(ratelimit *limiter);
size_t ratelimit_capacity(const ratelimit *limiter);

#endif
