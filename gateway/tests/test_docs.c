/* Unit tests for gateway/src/docs.c: content negotiation of the problem pages, and a page, HTML
 * and JSON, for every problem kind of common/src/problem.c, plus the index listing them all. */
#include "docs.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_prefers_json)
{
    static const struct {
        const char *accept;
        int json;
    } cases[] = {
        {"application/json", 1},
        {"application/problem+json", 1},
        {"APPLICATION/JSON", 1},
        {"application/*", 1},
        {"text/html, application/json;q=0.9", 0},
        {"text/html;q=0.5, application/json", 1},
        {"application/json;q=0.5, */*;q=0.1", 1},
        {"text/*;q=0.9, application/json;q=0.8", 0},
        /* The most specific range decides: text/html is refused, so JSON wins. */
        {"text/html;q=0, */*", 1},
        /* What browsers and curl send: HTML. */
        {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 0},
        {"*/*", 0},
        {"", 0},
        {"image/png", 0},
        {" , ;q=1,", 0},
        {"application/jsonx", 0},
    };
    ck_assert_int_eq(docs_prefers_json(NULL), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ck_assert_msg(docs_prefers_json(cases[i].accept) == cases[i].json, "Accept: %s",
                      cases[i].accept);
}
END_TEST

START_TEST(test_every_kind_has_an_html_page)
{
    crm_problem_kind kind = (crm_problem_kind)_i;
    char expected[256];
    char *page = docs_problem_page(kind, 0);
    ck_assert_ptr_nonnull(page);
    ck_assert_ptr_nonnull(strstr(page, "<!DOCTYPE html>"));
    snprintf(expected, sizeof(expected), "<h1>%u %s</h1>", crm_problem_status(kind),
             crm_problem_title(kind));
    ck_assert_msg(strstr(page, expected), "no %s in the page of %s", expected,
                  crm_problem_slug(kind));
    snprintf(expected, sizeof(expected), "<code>/problems/%s</code>", crm_problem_slug(kind));
    ck_assert_ptr_nonnull(strstr(page, expected));
    /* The description's first words (before any `code` span) are on the page. */
    const char *description = crm_problem_description(kind);
    snprintf(expected, sizeof(expected), "%.*s", (int)strcspn(description, "`"), description);
    ck_assert_ptr_nonnull(strstr(page, expected));
    ck_assert_ptr_null(strstr(page, "<script"));
    free(page);
}
END_TEST

START_TEST(test_every_kind_has_a_json_page)
{
    crm_problem_kind kind = (crm_problem_kind)_i;
    char type[64];
    snprintf(type, sizeof(type), "/problems/%s", crm_problem_slug(kind));
    char *page = docs_problem_page(kind, 1);
    ck_assert_ptr_nonnull(page);
    json_t *want =
        json_pack("{s:s, s:i, s:s, s:s}", "type", type, "status", (int)crm_problem_status(kind),
                  "title", crm_problem_title(kind), "description", crm_problem_description(kind));
    json_t *got = json_loads(page, JSON_REJECT_DUPLICATES, NULL);
    ck_assert_msg(got && json_equal(got, want), "%s", page);
    json_decref(got);
    json_decref(want);
    free(page);
}
END_TEST

START_TEST(test_index_lists_every_kind)
{
    char *html = docs_problem_page(CRM_PROBLEM_KIND_MAX, 0);
    char *text = docs_problem_page(CRM_PROBLEM_KIND_MAX, 1);
    ck_assert_ptr_nonnull(html);
    ck_assert_ptr_nonnull(text);
    json_t *index = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    ck_assert_ptr_nonnull(index);
    ck_assert(json_is_null(json_object_get(index, "next_cursor")));
    json_t *data = json_object_get(index, "data");
    ck_assert_uint_eq(json_array_size(data), CRM_PROBLEM_KIND_MAX);
    for (int kind = 0; kind < CRM_PROBLEM_KIND_MAX; kind++) {
        char type[64], link[128];
        snprintf(type, sizeof(type), "/problems/%s", crm_problem_slug(kind));
        snprintf(link, sizeof(link), "<a href=\"%s\">", type);
        ck_assert_msg(strstr(html, link), "the index has no %s", link);
        json_t *entry = json_array_get(data, (size_t)kind);
        ck_assert_str_eq(json_string_value(json_object_get(entry, "type")), type);
        ck_assert_int_eq(json_integer_value(json_object_get(entry, "status")),
                         crm_problem_status(kind));
    }
    json_decref(index);
    free(text);
    free(html);
}
END_TEST

static Suite *docs_suite(void)
{
    Suite *suite = suite_create("docs");
    TCase *tc = tcase_create("pages");
    tcase_add_test(tc, test_prefers_json);
    tcase_add_loop_test(tc, test_every_kind_has_an_html_page, 0, CRM_PROBLEM_KIND_MAX);
    tcase_add_loop_test(tc, test_every_kind_has_a_json_page, 0, CRM_PROBLEM_KIND_MAX);
    tcase_add_test(tc, test_index_lists_every_kind);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(docs_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
