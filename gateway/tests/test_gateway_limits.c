/* End-to-end tests of crm-gateway's rate limits, against fake services in this process: 3
 * requests a minute per client address on the public auth routes, 1 a second (bursts of 2) per
 * user elsewhere. RateLimit-* headers on every limited answer, 429 problems with Retry-After, one
 * bucket per client or user, and a spoofed X-Forwarded-For that changes nothing. */
#include "fake_upstream.h"
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *token_alice, *token_bob;
static char bearer_alice[4096], bearer_bob[4096];
static fake_upstream *auth, *customers, *cases;
static gateway_process limits_gw;

static void suite_setup(void)
{
    char a[128], c[128], k[128];
    ck_assert_int_eq(harness_key_setup(), 0);
    token_alice = token_sign(&harness_key, "aaaaaaaaaaaaaaaaaaaaaaaa", "agent", 600);
    token_bob = token_sign(&harness_key, "bbbbbbbbbbbbbbbbbbbbbbbb", "viewer", 600);
    ck_assert(token_alice && token_bob);
    bearer_header(bearer_alice, sizeof(bearer_alice), token_alice);
    bearer_header(bearer_bob, sizeof(bearer_bob), token_bob);
    auth = fake_upstream_start("auth");
    customers = fake_upstream_start("customers");
    cases = fake_upstream_start("cases");
    ck_assert(auth && customers && cases);
    harness_url_setting(a, sizeof(a), "CRM_AUTH_URL", fake_upstream_port(auth), 0);
    harness_url_setting(c, sizeof(c), "CRM_CUSTOMERS_URL", fake_upstream_port(customers), 0);
    harness_url_setting(k, sizeof(k), "CRM_CASES_URL", fake_upstream_port(cases), 0);
    const char *const settings[] = {
        a, c, k, "CRM_RATE_AUTH_PER_MINUTE=3", "CRM_RATE_API_PER_SECOND=1", NULL};
    ck_assert_int_eq(gateway_process_start(&limits_gw, harness_gateway_binary, "limits",
                                           harness_public_key_file, settings),
                     0);
}

static void suite_teardown(void)
{
    gateway_process_kill_all();
    fake_upstream_stop(auth);
    fake_upstream_stop(customers);
    fake_upstream_stop(cases);
    free(token_alice);
    free(token_bob);
    harness_key_clean();
}

START_TEST(test_auth_routes_are_limited_per_client_address)
{
    reply r;
    long before = fake_upstream_requests(auth);
    for (int i = 0; i < 3; i++) {
        http_call(&r, limits_gw.port, "POST", "/api/auth/login", NULL);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(reply_header(&r, "RateLimit-Limit"), "3");
        ck_assert_int_eq(strtol(reply_header(&r, "RateLimit-Remaining"), NULL, 10), 2 - i);
        ck_assert_int_ge(strtol(reply_header(&r, "RateLimit-Reset"), NULL, 10), 1);
        ck_assert_ptr_null(reply_header(&r, "Retry-After"));
        reply_clean(&r);
    }
    /* One bucket for all four auth routes; a spoofed X-Forwarded-For changes nothing. */
    const char *const spoof[] = {"X-Forwarded-For: 9.9.9.9", NULL};
    http_call(&r, limits_gw.port, "POST", "/api/auth/register",
              &(request_options){.headers = spoof});
    ck_assert_int_eq(r.status, 429);
    ck_assert_str_eq(problem_type(&r), "/problems/rate-limited");
    ck_assert_str_eq(reply_header(&r, "RateLimit-Limit"), "3");
    ck_assert_str_eq(reply_header(&r, "RateLimit-Remaining"), "0");
    const char *retry = reply_header(&r, "Retry-After");
    ck_assert_ptr_nonnull(retry);
    ck_assert_msg(matches("^[1-9][0-9]*$", retry), "Retry-After: %s", retry);
    ck_assert_int_le(strtol(retry, NULL, 10), 20);
    reply_clean(&r);
    ck_assert_int_eq(fake_upstream_requests(auth), before + 3);

    /* Another client address has its own bucket. */
    http_call(&r, limits_gw.port, "POST", "/api/auth/login",
              &(request_options){.source = "127.0.0.3"});
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(reply_header(&r, "RateLimit-Remaining"), "2");
    reply_clean(&r);
}
END_TEST

START_TEST(test_api_routes_are_limited_per_user)
{
    reply r;
    int refused = 0;
    /* Bursts of twice the rate: two at once, then refusals (a token comes back each second, so
     * three more requests in a row cannot all pass). */
    for (int i = 0; i < 2; i++) {
        get_as(&r, &limits_gw, "/api/customers", bearer_alice);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(reply_header(&r, "RateLimit-Limit"), "2");
        reply_clean(&r);
    }
    for (int i = 0; i < 3; i++) {
        get_as(&r, &limits_gw, "/api/cases", bearer_alice);
        ck_assert_ptr_nonnull(reply_header(&r, "RateLimit-Remaining"));
        if (r.status == 429) {
            refused++;
            ck_assert_str_eq(reply_header(&r, "Retry-After"), "1");
            ck_assert_str_eq(problem_type(&r), "/problems/rate-limited");
        }
        reply_clean(&r);
    }
    ck_assert_int_ge(refused, 1);
    /* Another user is not affected, even from the same address. */
    get_as(&r, &limits_gw, "/api/customers", bearer_bob);
    ck_assert_int_eq(r.status, 200);
    reply_clean(&r);
    /* 401s are answered before a bucket is looked at. */
    get_as(&r, &limits_gw, "/api/customers", NULL);
    ck_assert_int_eq(r.status, 401);
    ck_assert_ptr_null(reply_header(&r, "RateLimit-Limit"));
    reply_clean(&r);
}
END_TEST

START_TEST(test_gateway_exits_cleanly)
{
    assert_clean_exit(&limits_gw);
}
END_TEST

static Suite *gateway_limits_suite(void)
{
    Suite *suite = suite_create("gateway limits");
    TCase *tc = tcase_create("limits gateway");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_test(tc, test_auth_routes_are_limited_per_client_address);
    tcase_add_test(tc, test_api_routes_are_limited_per_user);
    tcase_add_test(tc, test_gateway_exits_cleanly);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(int argc, char **argv)
{
    return harness_run(gateway_limits_suite(), argc, argv);
}
