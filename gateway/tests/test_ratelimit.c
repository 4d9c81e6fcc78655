/* Unit tests for gateway/src/ratelimit.c: bucket arithmetic driven by an injected clock, the
 * header values it yields, per-key isolation, a table that stays bounded under a spray of keys,
 * eviction that forgets idle buckets first, and exact counts under concurrent takes. */
#include "ratelimit.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static ratelimit *limiter;

static void teardown(void)
{
    ratelimit_free(limiter);
    limiter = NULL;
}

static ratelimit_result take(const char *key, double now)
{
    ratelimit_result result;
    int allowed = ratelimit_take(limiter, key, now, &result);
    ck_assert_int_eq(allowed, result.allowed);
    return result;
}

START_TEST(test_disabled_or_invalid_limits_make_no_limiter)
{
    ck_assert_ptr_null(ratelimit_new(0, 10, 64));
    ck_assert_ptr_null(ratelimit_new(1, 0, 64));
    ck_assert_ptr_null(ratelimit_new(-1, 10, 64));
    ratelimit_free(NULL);
}
END_TEST

START_TEST(test_burst_then_refusal_then_refill)
{
    limiter = ratelimit_new(1.0, 2, 64); /* 1 per second, bursts of 2 */
    ck_assert_ptr_nonnull(limiter);
    ratelimit_result r = take("k", 100.0);
    ck_assert(r.allowed);
    ck_assert_int_eq(r.limit, 2);
    ck_assert_int_eq(r.remaining, 1);
    ck_assert_int_eq(r.reset_seconds, 1);
    ck_assert_int_eq(r.retry_after_seconds, 0);

    r = take("k", 100.0);
    ck_assert(r.allowed);
    ck_assert_int_eq(r.remaining, 0);
    ck_assert_int_eq(r.reset_seconds, 2);

    r = take("k", 100.0);
    ck_assert(!r.allowed);
    ck_assert_int_eq(r.remaining, 0);
    ck_assert_int_eq(r.retry_after_seconds, 1);
    ck_assert_int_eq(r.reset_seconds, 2);

    /* Half a token back: still refused, and Retry-After never says 0. */
    r = take("k", 100.5);
    ck_assert(!r.allowed);
    ck_assert_int_eq(r.retry_after_seconds, 1);

    r = take("k", 101.0); /* one whole token */
    ck_assert(r.allowed);
    ck_assert_int_eq(r.remaining, 0);

    /* Long idle: the bucket fills up to the burst, never beyond. */
    r = take("k", 1000.0);
    ck_assert(r.allowed);
    ck_assert_int_eq(r.remaining, 1);
}
END_TEST

START_TEST(test_per_minute_arithmetic)
{
    /* CRM_RATE_AUTH_PER_MINUTE=20: 1/3 token per second, bursts of 20. */
    limiter = ratelimit_new(20.0 / 60.0, 20, 64);
    ck_assert_ptr_nonnull(limiter);
    ratelimit_result r;
    for (int i = 0; i < 20; i++) {
        r = take("1.2.3.4", 0.0);
        ck_assert(r.allowed);
        ck_assert_int_eq(r.remaining, 19 - i);
    }
    ck_assert_int_eq(r.reset_seconds, 60);
    r = take("1.2.3.4", 0.0);
    ck_assert(!r.allowed);
    ck_assert_int_eq(r.retry_after_seconds, 3);
    r = take("1.2.3.4", 2.0);
    ck_assert(!r.allowed);
    ck_assert_int_eq(r.retry_after_seconds, 1);
    r = take("1.2.3.4", 3.0);
    ck_assert(r.allowed);
}
END_TEST

START_TEST(test_keys_are_independent)
{
    limiter = ratelimit_new(1.0, 1, 64);
    ck_assert_ptr_nonnull(limiter);
    ck_assert(take("user:a", 5.0).allowed);
    ck_assert(!take("user:a", 5.0).allowed);
    ck_assert(take("user:b", 5.0).allowed);
    ck_assert(take("ip:10.0.0.1", 5.0).allowed);
    ck_assert(!take("user:b", 5.0).allowed);
}
END_TEST

START_TEST(test_clock_going_backwards_refills_nothing)
{
    limiter = ratelimit_new(1.0, 1, 64);
    ck_assert_ptr_nonnull(limiter);
    ck_assert(take("k", 50.0).allowed);
    ck_assert(!take("k", 10.0).allowed);
    ck_assert(!take("k", 50.5).allowed);
    ck_assert(take("k", 51.0).allowed);
}
END_TEST

START_TEST(test_table_is_bounded)
{
    char key[64];
    limiter = ratelimit_new(1.0, 5, 1024);
    ck_assert_ptr_nonnull(limiter);
    size_t capacity = ratelimit_capacity(limiter);
    ck_assert_uint_ge(capacity, 1024);
    ck_assert_uint_le(capacity, 2048);
    /* A client spraying a million distinct addresses or tokens. */
    for (int i = 0; i < 1000000; i++) {
        snprintf(key, sizeof(key), "ip:10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        take(key, (double)i / 1000.0);
    }
    ck_assert_uint_le(ratelimit_size(limiter), capacity);
    ck_assert_uint_gt(ratelimit_size(limiter), capacity / 2);
}
END_TEST

START_TEST(test_eviction_forgets_refilled_buckets_first)
{
    char key[32];
    limiter = ratelimit_new(1.0, 2, 8); /* one set of 8 slots */
    ck_assert_ptr_nonnull(limiter);
    ck_assert_uint_eq(ratelimit_capacity(limiter), 8);
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof(key), "idle-%d", i);
        ck_assert(take(key, 0.0).allowed); /* one token left each */
    }
    ck_assert(take("victim", 0.5).allowed);
    ck_assert(take("victim", 0.5).allowed); /* drained */
    /* At 1.5 s the seven idle buckets are full again (they hold nothing worth keeping); the
     * victim is at 1 token. A newcomer must push out an idle one, not the victim. */
    ck_assert(take("newcomer", 1.5).allowed);
    ck_assert_uint_eq(ratelimit_size(limiter), 8);
    ratelimit_result r = take("victim", 1.5);
    ck_assert(r.allowed);
    ck_assert_int_eq(r.remaining, 0); /* a forgotten victim would have started full: 1 */
    ck_assert(!take("victim", 1.5).allowed);
}
END_TEST

START_TEST(test_full_table_evicts_the_longest_idle)
{
    char key[32];
    limiter = ratelimit_new(0.001, 2, 8);
    ck_assert_ptr_nonnull(limiter);
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        take(key, (double)i); /* none refills in time: no bucket is idle */
    }
    take("k0", 10.0); /* k1 is now the one idle longest */
    take("new", 11.0);
    ck_assert_uint_eq(ratelimit_size(limiter), 8);
    ck_assert_int_eq(take("k0", 11.0).remaining, 0);  /* kept: 2 - 1 - 1 */
    ck_assert_int_eq(take("k1", 11.0).remaining, 1);  /* forgotten: starts full again */
    ck_assert_int_eq(take("new", 11.0).remaining, 0); /* kept */
}
END_TEST

#define THREADS 4
#define TAKES   2000

static void *taker(void *arg)
{
    long allowed = 0;
    ratelimit_result r;
    (void)arg;
    for (int i = 0; i < TAKES; i++)
        allowed += ratelimit_take(limiter, "shared", 7.0, &r);
    return (void *)allowed;
}

START_TEST(test_concurrent_takes_are_exact)
{
    pthread_t threads[THREADS];
    long total = 0;
    limiter = ratelimit_new(0.000001, 3000, 64);
    ck_assert_ptr_nonnull(limiter);
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, taker, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        void *allowed = NULL;
        ck_assert_int_eq(pthread_join(threads[i], &allowed), 0);
        total += (long)allowed;
    }
    ck_assert_int_eq(total, 3000);
}
END_TEST

static Suite *ratelimit_suite(void)
{
    Suite *suite = suite_create("ratelimit");
    TCase *tc = tcase_create("buckets");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_disabled_or_invalid_limits_make_no_limiter);
    tcase_add_test(tc, test_burst_then_refusal_then_refill);
    tcase_add_test(tc, test_per_minute_arithmetic);
    tcase_add_test(tc, test_keys_are_independent);
    tcase_add_test(tc, test_clock_going_backwards_refills_nothing);
    tcase_add_test(tc, test_table_is_bounded);
    tcase_add_test(tc, test_eviction_forgets_refilled_buckets_first);
    tcase_add_test(tc, test_full_table_evicts_the_longest_idle);
    tcase_add_test(tc, test_concurrent_takes_are_exact);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(ratelimit_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
