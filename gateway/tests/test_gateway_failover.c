/* End-to-end tests of crm-gateway's failure answers and retries, against fake services in this
 * process: auth on two instances that can drop a request unanswered, customers on a dead port then
 * a live instance, cases on a dead port only. Refused is 502 (an instance cooling down after a
 * refusal is tried last, not skipped); a request that was never sent moves on to the next
 * instance; one that may have reached an instance is never sent again, neither elsewhere nor (for
 * a write) to the same one. */
#include "fake_upstream.h"
#include "harness.h"
#include "crm/util.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *token_alice;
static char bearer_alice[4096];
static fake_upstream *flaky_a, *flaky_b, *fallback;
static gateway_process failover_gw;

static void suite_setup(void)
{
    char a[128], c[128], k[128];
    ck_assert_int_eq(harness_key_setup(), 0);
    token_alice = token_sign(&harness_key, "aaaaaaaaaaaaaaaaaaaaaaaa", "agent", 600);
    ck_assert_ptr_nonnull(token_alice);
    bearer_header(bearer_alice, sizeof(bearer_alice), token_alice);
    flaky_a = fake_upstream_start("flaky-a");
    flaky_b = fake_upstream_start("flaky-b");
    fallback = fake_upstream_start("fallback");
    ck_assert(flaky_a && flaky_b && fallback);
    harness_url_setting(a, sizeof(a), "CRM_AUTH_URL", fake_upstream_port(flaky_a),
                        fake_upstream_port(flaky_b));
    /* The live customers instance by name: resolved, then tried address by address
     * (on hosts where localhost gives ::1 first, that one refuses and the next is tried). */
    snprintf(c, sizeof(c), "CRM_CUSTOMERS_URL=http://127.0.0.1:%d,http://localhost:%d",
             (int)harness_dead_port(), fake_upstream_port(fallback));
    harness_url_setting(k, sizeof(k), "CRM_CASES_URL", harness_dead_port(), 0);
    const char *const settings[] = {
        a, c, k, "CRM_RATE_AUTH_PER_MINUTE=0", "CRM_RATE_API_PER_SECOND=0", NULL};
    ck_assert_int_eq(gateway_process_start(&failover_gw, harness_gateway_binary, "failover",
                                           harness_public_key_file, settings),
                     0);
}

static void suite_teardown(void)
{
    gateway_process_kill_all();
    fake_upstream_stop(flaky_a);
    fake_upstream_stop(flaky_b);
    fake_upstream_stop(fallback);
    free(token_alice);
    harness_key_clean();
}

/* The only instance refuses: 502 at once, and again while it cools down (an instance that
 * refused is tried last, never skipped, since it may be back already). */
START_TEST(test_refused_is_502_even_while_cooling_down)
{
    reply r;
    for (int i = 0; i < 2; i++) {
        double started = crm_monotonic_seconds();
        get_as(&r, &failover_gw, i ? "/api/cases/k1" : "/api/cases", bearer_alice);
        ck_assert_int_eq(r.status, 502);
        ck_assert_str_eq(problem_type(&r), "/problems/upstream-unavailable");
        ck_assert_ptr_null(strstr(r.body, "127.0.0.1")); /* no internal address leaks */
        ck_assert(crm_monotonic_seconds() - started < 0.5);
        reply_clean(&r);
    }
}
END_TEST

START_TEST(test_failover_to_the_next_instance)
{
    reply r;
    long before = fake_upstream_requests(fallback);
    for (int i = 0; i < 6; i++) {
        get_as(&r, &failover_gw, "/api/customers", bearer_alice);
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(echo_field(&r, "upstream"), "fallback");
        reply_clean(&r);
    }
    /* A write that was never sent may move on too. */
    const char *const headers[] = {bearer_alice, "Content-Type: application/json", NULL};
    for (int i = 0; i < 2; i++) {
        http_call(&r, failover_gw.port, "POST", "/api/customers",
                  &(request_options){.headers = headers, .body = "{}", .body_len = 2});
        ck_assert_int_eq(r.status, 200);
        ck_assert_str_eq(echo_field(&r, "upstream"), "fallback");
        reply_clean(&r);
    }
    ck_assert_int_eq(fake_upstream_requests(fallback), before + 8);
}
END_TEST

START_TEST(test_a_write_that_reached_a_service_is_never_replayed)
{
    reply r;
    CURL *client = curl_easy_init(); /* one client connection: one worker, one libcurl handle */
    request_options options = {.handle = client};
    /* Warm connections from this worker to both instances. */
    for (int i = 0; i < 4; i++) {
        http_call(&r, failover_gw.port, "GET", "/api/auth/jwks.json", &options);
        ck_assert_int_eq(r.status, 200);
        reply_clean(&r);
    }
    long before = fake_upstream_requests(flaky_a) + fake_upstream_requests(flaky_b);
    /* The instance reads the POST on a reused connection and closes without answering. libcurl
     * would resend it on a fresh connection; the gateway must not, nor try the other instance. */
    options.headers = (const char *const[]){"Content-Type: application/json", NULL};
    options.body = "{\"username\":\"u\",\"password\":\"p\"}";
    options.body_len = strlen(options.body);
    http_call(&r, failover_gw.port, "POST", "/api/auth/login?fake_drop=1", &options);
    ck_assert_int_eq(r.status, 502);
    ck_assert_str_eq(problem_type(&r), "/problems/upstream-unavailable");
    reply_clean(&r);
    ck_assert_int_eq(fake_upstream_requests(flaky_a) + fake_upstream_requests(flaky_b), before + 1);

    /* The same failure on a read is resent once on a fresh connection (reads are safe): the
     * counting above would have seen a replay. */
    options = (request_options){.handle = client};
    for (int i = 0; i < 2; i++) {
        http_call(&r, failover_gw.port, "GET", "/api/auth/jwks.json", &options);
        reply_clean(&r);
    }
    before = fake_upstream_requests(flaky_a) + fake_upstream_requests(flaky_b);
    http_call(&r, failover_gw.port, "GET", "/api/auth/jwks.json?fake_drop=1", &options);
    ck_assert_int_eq(r.status, 502);
    reply_clean(&r);
    ck_assert_int_eq(fake_upstream_requests(flaky_a) + fake_upstream_requests(flaky_b), before + 2);
    curl_easy_cleanup(client);
}
END_TEST

START_TEST(test_gateway_exits_cleanly)
{
    assert_clean_exit(&failover_gw);
}
END_TEST

static Suite *gateway_failover_suite(void)
{
    Suite *suite = suite_create("gateway failover");
    TCase *tc = tcase_create("failover gateway");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_test(tc, test_refused_is_502_even_while_cooling_down);
    tcase_add_test(tc, test_failover_to_the_next_instance);
    tcase_add_test(tc, test_a_write_that_reached_a_service_is_never_replayed);
    tcase_add_test(tc, test_gateway_exits_cleanly);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(int argc, char **argv)
{
    return harness_run(gateway_failover_suite(), argc, argv);
}
