/* Unit tests for gateway/src/cors.c: which origin lists are accepted, exact origin matching, and
 * the headers added to answers and preflights, driven in-process on ulfius request and response
 * structs (no sockets). */
#include "cors.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

static cors_policy policy;
static struct _u_request request;
static struct _u_response response;
static char err[256];

static void setup(void)
{
    ck_assert_int_eq(ulfius_init_request(&request), U_OK);
    ck_assert_int_eq(ulfius_init_response(&response), U_OK);
    memset(&policy, 0, sizeof(policy));
}

static void teardown(void)
{
    cors_policy_clean(&policy);
    ulfius_clean_request(&request);
    ulfius_clean_response(&response);
}

static void allow(const char *list)
{
    cors_policy_clean(&policy);
    ck_assert_msg(cors_policy_init(&policy, list, err, sizeof(err)) == 0, "%s: %s", list, err);
}

static const char *header(const char *name)
{
    return u_map_get_case(response.map_header, name);
}

START_TEST(test_origin_lists)
{
    allow("");
    ck_assert_uint_eq(policy.count, 0);
    allow(NULL);
    ck_assert_uint_eq(policy.count, 0);
    allow("https://app.example.com");
    ck_assert_uint_eq(policy.count, 1);
    allow(" https://app.example.com , http://localhost:3000,http://[::1]:8000, ");
    ck_assert_uint_eq(policy.count, 3);
    static const char *const bad[] = {
        "*",
        "null",
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/x",
        "ftp://app.example.com",
        "https://",
        "https://a.example:",
        "https://a.example:123456",
        "https://*.example.com",
        "https://a.example.com?x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cors_policy_clean(&policy);
        err[0] = '\0';
        ck_assert_msg(cors_policy_init(&policy, bad[i], err, sizeof(err)) == -1, "%s", bad[i]);
        ck_assert_ptr_nonnull(strstr(err, "CRM_CORS_ORIGINS"));
    }
}
END_TEST

START_TEST(test_origin_matching_is_exact)
{
    allow("https://app.example.com, http://localhost:3000");
    ck_assert(cors_origin_allowed(&policy, "https://app.example.com"));
    ck_assert(cors_origin_allowed(&policy, "HTTPS://APP.example.com"));
    ck_assert(cors_origin_allowed(&policy, "http://localhost:3000"));
    ck_assert(!cors_origin_allowed(&policy, "http://app.example.com"));      /* scheme */
    ck_assert(!cors_origin_allowed(&policy, "https://app.example.com:443")); /* port */
    ck_assert(!cors_origin_allowed(&policy, "https://evil.app.example.com"));
    ck_assert(!cors_origin_allowed(&policy, "https://app.example.com.evil.net"));
    ck_assert(!cors_origin_allowed(&policy, "http://localhost:30001"));
    ck_assert(!cors_origin_allowed(&policy, "http://localhost"));
    ck_assert(!cors_origin_allowed(&policy, "null"));
    ck_assert(!cors_origin_allowed(&policy, ""));
    ck_assert(!cors_origin_allowed(&policy, NULL));
}
END_TEST

START_TEST(test_allowed_origin_gets_headers)
{
    allow("https://app.example.com");
    u_map_put(request.map_header, "Origin", "https://app.example.com");
    cors_response_decorate(&policy, &request, &response);
    ck_assert_str_eq(header("Access-Control-Allow-Origin"), "https://app.example.com");
    ck_assert_str_eq(header("Access-Control-Expose-Headers"), CORS_EXPOSE_HEADERS);
    ck_assert_str_eq(header("Vary"), "Origin");
    ck_assert_ptr_null(header("Access-Control-Allow-Credentials"));
    ck_assert_ptr_nonnull(strstr(CORS_EXPOSE_HEADERS, "RateLimit-Remaining"));
    ck_assert_ptr_nonnull(strstr(CORS_EXPOSE_HEADERS, "Retry-After"));
}
END_TEST

START_TEST(test_other_origins_get_no_cors_headers)
{
    allow("https://app.example.com");
    u_map_put(request.map_header, "Origin", "https://evil.example.com");
    cors_response_decorate(&policy, &request, &response);
    ck_assert_ptr_null(header("Access-Control-Allow-Origin"));
    ck_assert_ptr_null(header("Access-Control-Expose-Headers"));
    ck_assert_str_eq(header("Vary"), "Origin"); /* caches keep the two answers apart */
}
END_TEST

START_TEST(test_no_origins_configured_adds_nothing)
{
    allow("");
    u_map_put(request.map_header, "Origin", "https://app.example.com");
    cors_response_decorate(&policy, &request, &response);
    ck_assert_int_eq(u_map_count(response.map_header), 0);
}
END_TEST

START_TEST(test_vary_is_merged)
{
    allow("https://app.example.com");
    u_map_put(response.map_header, "vary", "Accept-Encoding");
    cors_response_decorate(&policy, &request, &response);
    ck_assert_str_eq(header("Vary"), "Accept-Encoding, Origin");
    cors_response_decorate(&policy, &request, &response); /* not twice */
    ck_assert_str_eq(header("Vary"), "Accept-Encoding, Origin");
    ck_assert_int_eq(u_map_count(response.map_header), 1);
}
END_TEST

START_TEST(test_preflight)
{
    allow("https://app.example.com");
    u_map_put(request.map_header, "Origin", "https://app.example.com");
    u_map_put(request.map_header, "Access-Control-Request-Method", "PATCH");
    cors_preflight_decorate(&policy, &request, &response, "GET, PATCH, DELETE");
    ck_assert_str_eq(header("Access-Control-Allow-Methods"), "GET, PATCH, DELETE");
    ck_assert_str_eq(header("Access-Control-Allow-Headers"),
                     "Authorization, Content-Type, If-Match, If-None-Match, X-Request-Id");
    ck_assert_str_eq(header("Access-Control-Max-Age"), "600");
}
END_TEST

START_TEST(test_preflight_refused)
{
    allow("https://app.example.com");
    /* Another origin. */
    u_map_put(request.map_header, "Origin", "https://evil.example.com");
    u_map_put(request.map_header, "Access-Control-Request-Method", "PATCH");
    cors_preflight_decorate(&policy, &request, &response, "GET, PATCH");
    ck_assert_int_eq(u_map_count(response.map_header), 0);
    /* A plain OPTIONS, not a preflight. */
    u_map_put(request.map_header, "Origin", "https://app.example.com");
    u_map_remove_from_key(request.map_header, "Access-Control-Request-Method");
    cors_preflight_decorate(&policy, &request, &response, "GET, PATCH");
    ck_assert_int_eq(u_map_count(response.map_header), 0);
}
END_TEST

static Suite *cors_suite(void)
{
    Suite *suite = suite_create("cors");
    TCase *tc = tcase_create("policy");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_origin_lists);
    tcase_add_test(tc, test_origin_matching_is_exact);
    tcase_add_test(tc, test_allowed_origin_gets_headers);
    tcase_add_test(tc, test_other_origins_get_no_cors_headers);
    tcase_add_test(tc, test_no_origins_configured_adds_nothing);
    tcase_add_test(tc, test_vary_is_merged);
    tcase_add_test(tc, test_preflight);
    tcase_add_test(tc, test_preflight_refused);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(cors_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
