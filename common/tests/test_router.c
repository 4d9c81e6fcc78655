/* Unit tests for common/src/router.c: literal and ":name" segments, empty segments skipped as
 * ulfius skipped them, lengths that must match exactly, and the parameters' values. */
#include "crm/router.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static crm_router_params params;

static int match(const char *pattern, const char *path)
{
    return crm_router_match(pattern, path, &params);
}

static void assert_param(size_t i, const char *name, const char *value)
{
    ck_assert_uint_gt(params.count, i);
    ck_assert_uint_eq(params.items[i].name_len, strlen(name));
    ck_assert_int_eq(memcmp(params.items[i].name, name, strlen(name)), 0);
    ck_assert_uint_eq(params.items[i].value_len, strlen(value));
    ck_assert_int_eq(memcmp(params.items[i].value, value, strlen(value)), 0);
}

START_TEST(test_literals)
{
    ck_assert(match("/api/customers", "/api/customers"));
    ck_assert_uint_eq(params.count, 0);
    ck_assert(match("/api/customers", "/api//customers/"));
    ck_assert(!match("/api/customers", "/api/customer"));
    ck_assert(!match("/api/customers", "/api/customersx"));
    ck_assert(!match("/api/customers", "/api"));
    ck_assert(!match("/api/customers", "/api/customers/x"));
    ck_assert(!match("/api/customers", "/API/customers")); /* case matters */
    ck_assert(!match("/docs", ""));
    ck_assert(match("/docs/docs.js", "/docs/docs.js"));
}
END_TEST

START_TEST(test_parameters)
{
    ck_assert(match("/api/customers/:id", "/api/customers/65f1c0ffee0000000000abcd"));
    assert_param(0, "id", "65f1c0ffee0000000000abcd");
    ck_assert(match("/api/customers/:id/cases", "/api/customers/abc/cases/"));
    assert_param(0, "id", "abc");
    ck_assert(!match("/api/customers/:id", "/api/customers"));
    ck_assert(!match("/api/customers/:id", "/api/customers/"));
    ck_assert(!match("/api/customers/:id", "/api/customers/a/b"));
    ck_assert(!match("/api/customers/:id/cases", "/api/customers/a/notes"));
    ck_assert(match("/:a/:b/:c/:d", "/1/2/3/4"));
    assert_param(3, "d", "4");
    ck_assert(!match("/:a/:b/:c/:d/:e", "/1/2/3/4/5")); /* more than CRM_ROUTER_MAX_PARAMS */
}
END_TEST

static Suite *router_suite(void)
{
    Suite *suite = suite_create("router");
    TCase *tc = tcase_create("match");
    tcase_add_test(tc, test_literals);
    tcase_add_test(tc, test_parameters);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(router_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
