/* Unit tests for gateway/src/upstreams.c: instance lists from the CRM_*_URL settings,
 * round-robin order, and the cool-down that makes an instance that refused sit out (the 503
 * case when a whole group does). */
#include "upstreams.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static upstreams all;
static char err[256];

static int init(const char *auth, const char *customers, const char *cases)
{
    crm_settings settings = {0};
    settings.auth_url = (char *)auth;
    settings.customers_url = (char *)customers;
    settings.cases_url = (char *)cases;
    err[0] = '\0';
    return upstreams_init(&all, &settings, err, sizeof(err));
}

static void teardown(void)
{
    upstreams_clean(&all);
}

START_TEST(test_lists_are_split)
{
    ck_assert_int_eq(init("http://a:1/", "http://c1:2,http://c2:2//", "http://k:3/base"), 0);
    ck_assert_uint_eq(all.auth.count, 1);
    ck_assert_str_eq(all.auth.instances[0].url, "http://a:1");
    ck_assert_str_eq(all.auth.name, "auth");
    ck_assert_uint_eq(all.customers.count, 2);
    ck_assert_str_eq(all.customers.instances[1].url, "http://c2:2");
    ck_assert_str_eq(all.cases.instances[0].url, "http://k:3/base");
}
END_TEST

START_TEST(test_too_many_instances_name_the_setting)
{
    char list[1024] = "";
    for (int i = 0; i <= UPSTREAM_MAX_INSTANCES; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%shttp://h:%d", i ? "," : "",
                 1000 + i);
    ck_assert_int_eq(init("http://a:1", list, "http://k:3"), -1);
    ck_assert_ptr_nonnull(strstr(err, "CRM_CUSTOMERS_URL"));
}
END_TEST

START_TEST(test_round_robin)
{
    upstream_instance *order[UPSTREAM_MAX_INSTANCES];
    ck_assert_int_eq(init("http://a:1", "http://c0:2,http://c1:2,http://c2:2", "http://k:3"), 0);
    upstream_group *group = &all.customers;
    int first_seen[3] = {0};
    for (int round = 0; round < 6; round++) {
        ck_assert_uint_eq(upstream_group_pick(group, 1000, order), 3);
        /* Every instance once, in ring order from a start that moves one step each time. */
        size_t start = (size_t)(order[0] - group->instances);
        first_seen[start]++;
        for (size_t i = 0; i < 3; i++)
            ck_assert_ptr_eq(order[i], &group->instances[(start + i) % 3]);
    }
    ck_assert_int_eq(first_seen[0], 2);
    ck_assert_int_eq(first_seen[1], 2);
    ck_assert_int_eq(first_seen[2], 2);
}
END_TEST

START_TEST(test_cool_down)
{
    upstream_instance *order[UPSTREAM_MAX_INSTANCES];
    ck_assert_int_eq(init("http://a0:1,http://a1:1", "http://c:2", "http://k:3"), 0);
    upstream_group *group = &all.auth;
    upstream_instance_mark_down(&group->instances[0], 5000);
    for (int i = 0; i < 4; i++) { /* a0 cools down: tried last, whatever the ring position */
        ck_assert_uint_eq(upstream_group_pick(group, 5000 + UPSTREAM_COOLDOWN_MS - 1, order), 2);
        ck_assert_ptr_eq(order[0], &group->instances[1]);
        ck_assert_ptr_eq(order[1], &group->instances[0]);
    }
    /* Both cooling: both are still tried, rather than a 503 without trying. */
    upstream_instance_mark_down(&group->instances[1], 5500);
    ck_assert_uint_eq(upstream_group_pick(group, 5999, order), 2);
    ck_assert_ptr_ne(order[0], order[1]);
    ck_assert_uint_eq(upstream_group_pick(group, 6000, order), 2); /* a0 is back: first */
    ck_assert_ptr_eq(order[0], &group->instances[0]);
    ck_assert_ptr_eq(order[1], &group->instances[1]);
    ck_assert_uint_eq(upstream_group_pick(group, 6500, order), 2);
}
END_TEST

START_TEST(test_clean_accepts_null_and_twice)
{
    ck_assert_int_eq(init("http://a:1", "http://c:2", "http://k:3"), 0);
    upstreams_clean(&all);
    upstreams_clean(&all);
    upstreams_clean(NULL);
    ck_assert(upstream_now_ms() > 0);
}
END_TEST

static Suite *upstreams_suite(void)
{
    Suite *suite = suite_create("upstreams");
    TCase *tc = tcase_create("groups");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_lists_are_split);
    tcase_add_test(tc, test_too_many_instances_name_the_setting);
    tcase_add_test(tc, test_round_robin);
    tcase_add_test(tc, test_cool_down);
    tcase_add_test(tc, test_clean_accepts_null_and_twice);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(upstreams_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
