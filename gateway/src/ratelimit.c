/* A set-associative table of token buckets: a key hashes (with a per-process random seed, so
 * clients cannot aim at one set) to a set of WAYS slots behind one lock. Slots hold only the
 * 64-bit hash, never the key, so every slot has the same small size. */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define WAYS 8

typedef struct slot {
    uint64_t hash; /* 0: free */
    double tokens;
    double updated; /* when tokens was last brought up to date */
} slot;

typedef struct bucket_set {
    pthread_mutex_t lock;
    slot slots[WAYS];
} bucket_set;

struct ratelimit {
    double rate;
    double burst;
    uint64_t seed;
    size_t set_count; /* a power of two */
    bucket_set *sets;
};

/* FNV-1a over the key, then a finaliser so that the low bits (the set index) mix well. */
static uint64_t key_hash(uint64_t seed, const char *key)
{
    uint64_t h = 14695981039346656037ull ^ seed;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

ratelimit *ratelimit_new(double rate, long burst, size_t capacity)
{
    ratelimit *limiter = NULL;
    if (!(rate > 0) || burst <= 0)
        return NULL;
    limiter = calloc(1, sizeof(*limiter));
    if (!limiter)
        goto fail;
    limiter->rate = rate;
    limiter->burst = (double)burst;
    limiter->set_count = 1;
    while (limiter->set_count * WAYS < capacity)
        limiter->set_count *= 2;
    if (getrandom(&limiter->seed, sizeof(limiter->seed), 0) != (ssize_t)sizeof(limiter->seed))
        limiter->seed = (uint64_t)(uintptr_t)limiter; /* still unpredictable enough with ASLR */
    limiter->sets = calloc(limiter->set_count, sizeof(*limiter->sets));
    if (!limiter->sets)
        goto fail;
    for (size_t i = 0; i < limiter->set_count; i++)
        pthread_mutex_init(&limiter->sets[i].lock, NULL);
    return limiter;
fail:
    free(limiter);
    return NULL;
}

void ratelimit_free(ratelimit *limiter)
{
    if (!limiter)
        return;
    for (size_t i = 0; i < limiter->set_count; i++)
        pthread_mutex_destroy(&limiter->sets[i].lock);
    free(limiter->sets);
    free(limiter);
}

/* The tokens a slot holds at `now`; a clock that went backwards refills nothing. */
static double tokens_at(const ratelimit *limiter, const slot *s, double now)
{
    double elapsed = now > s->updated ? now - s->updated : 0;
    double tokens = s->tokens + elapsed * limiter->rate;
    return tokens < limiter->burst ? tokens : limiter->burst;
}

/* The slot of `hash` in `set`, or a slot to give it: a free one, else one whose bucket refilled
 * (forgetting it changes nothing), else the one idle longest. */
static slot *slot_for(const ratelimit *limiter, bucket_set *set, uint64_t hash, double now,
                      int *found)
{
    *found = 0;
    for (size_t i = 0; i < WAYS; i++) {
        if (set->slots[i].hash == hash) {
            *found = 1;
            return &set->slots[i];
        }
    }
    for (size_t i = 0; i < WAYS; i++) {
        slot *s = &set->slots[i];
        if (s->hash == 0 || tokens_at(limiter, s, now) >= limiter->burst)
            return s;
    }
    slot *oldest = &set->slots[0];
    for (size_t i = 1; i < WAYS; i++) {
        if (set->slots[i].updated < oldest->updated)
            oldest = &set->slots[i];
    }
    return oldest;
}

/* Whole seconds until `deficit` tokens are back, ignoring rounding dust. */
static long seconds_for(const ratelimit *limiter, double deficit)
{
    if (deficit <= 1e-9)
        return 0;
    return (long)ceil(deficit / limiter->rate - 1e-9);
}

int ratelimit_take(ratelimit *limiter, const char *key, double now, ratelimit_result *result)
{
    int found = 0;
    uint64_t hash = key_hash(limiter->seed, key);
    bucket_set *set = &limiter->sets[hash & (limiter->set_count - 1)];

    pthread_mutex_lock(&set->lock);
    slot *s = slot_for(limiter, set, hash, now, &found);
    if (found) {
        s->tokens = tokens_at(limiter, s, now);
    } else {
        s->hash = hash;
        s->tokens = limiter->burst;
    }
    if (!found || now > s->updated)
        s->updated = now;
    result->allowed = s->tokens >= 1.0;
    if (result->allowed)
        s->tokens -= 1.0;
    double tokens = s->tokens;
    pthread_mutex_unlock(&set->lock);

    result->limit = (long)limiter->burst;
    result->remaining = (long)floor(tokens + 1e-9);
    result->reset_seconds = seconds_for(limiter, limiter->burst - tokens);
    result->retry_after_seconds = 0;
    if (!result->allowed) {
        long wait = seconds_for(limiter, 1.0 - tokens);
        result->retry_after_seconds = wait >= 1 ? wait : 1;
    }
    return result->allowed;
}

size_t ratelimit_size(ratelimit *limiter)
{
    size_t used = 0;
    for (size_t i = 0; i < limiter->set_count; i++) {
        pthread_mutex_lock(&limiter->sets[i].lock);
        for (size_t k = 0; k < WAYS; k++)
            used += limiter->sets[i].slots[k].hash != 0;
        pthread_mutex_unlock(&limiter->sets[i].lock);
    }
    return used;
}

size_t ratelimit_capacity(const ratelimit *limiter)
{
    return limiter->set_count * WAYS;
}
