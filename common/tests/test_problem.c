/* Unit tests for common/src/problem.c: every kind maps to the status and slug of API.md's
 * table, problem objects have the RFC 9457 members, and the senders fill a ulfius response
 * in-process (status, Content-Type, WWW-Authenticate, body). */
#include "crm/log.h"
#include "crm/problem.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

/* API.md "Errors: RFC 9457 problem details", written out independently of the code. */
static const struct {
    crm_problem_kind kind;
    unsigned int status;
    const char *slug;
} expected[] = {
    {CRM_PROBLEM_MALFORMED_REQUEST, 400, "malformed-request"},
    {CRM_PROBLEM_BAD_PARAMETER, 400, "bad-parameter"},
    {CRM_PROBLEM_UNAUTHORIZED, 401, "unauthorized"},
    {CRM_PROBLEM_FORBIDDEN, 403, "forbidden"},
    {CRM_PROBLEM_NOT_FOUND, 404, "not-found"},
    {CRM_PROBLEM_METHOD_NOT_ALLOWED, 405, "method-not-allowed"},
    {CRM_PROBLEM_CONFLICT, 409, "conflict"},
    {CRM_PROBLEM_PRECONDITION_FAILED, 412, "precondition-failed"},
    {CRM_PROBLEM_PAYLOAD_TOO_LARGE, 413, "payload-too-large"},
    {CRM_PROBLEM_UNSUPPORTED_MEDIA_TYPE, 415, "unsupported-media-type"},
    {CRM_PROBLEM_VALIDATION, 422, "validation"},
    {CRM_PROBLEM_RATE_LIMITED, 429, "rate-limited"},
    {CRM_PROBLEM_HEADERS_TOO_LARGE, 431, "headers-too-large"},
    {CRM_PROBLEM_INTERNAL, 500, "internal"},
    {CRM_PROBLEM_UPSTREAM_UNAVAILABLE, 502, "upstream-unavailable"},
    {CRM_PROBLEM_SERVICE_UNAVAILABLE, 503, "service-unavailable"},
    {CRM_PROBLEM_UPSTREAM_TIMEOUT, 504, "upstream-timeout"},
};

#define EXPECTED_COUNT ((int)(sizeof(expected) / sizeof(expected[0])))

static struct _u_response response;
static FILE *log_sink;

static void setup(void)
{
    ck_assert_int_eq(ulfius_init_response(&response), U_OK);
    crm_log_set_request_id(NULL);
    /* crm_problem_send logs internal errors; keep them out of the test output. */
    log_sink = tmpfile();
    crm_log_set_fd(fileno(log_sink));
}

static void teardown(void)
{
    ulfius_clean_response(&response);
    crm_log_set_fd(2);
    fclose(log_sink);
}

/* The response body parsed as JSON; the caller releases it. */
static json_t *response_json(void)
{
    json_error_t error;
    ck_assert_ptr_nonnull(response.binary_body);
    json_t *body = json_loadb(response.binary_body, response.binary_body_length,
                              JSON_REJECT_DUPLICATES, &error);
    ck_assert_msg(body != NULL, "body is not JSON: %s", error.text);
    return body;
}

static const char *member_string(json_t *object, const char *key)
{
    json_t *value = json_object_get(object, key);
    ck_assert_msg(json_is_string(value), "member %s is not a string", key);
    return json_string_value(value);
}

START_TEST(test_table_covers_every_kind)
{
    ck_assert_int_eq(EXPECTED_COUNT, CRM_PROBLEM_KIND_MAX);
    for (int i = 0; i < EXPECTED_COUNT; i++)
        ck_assert_int_eq(expected[i].kind, i);
}
END_TEST

START_TEST(test_status_and_slug)
{
    crm_problem_kind kind = expected[_i].kind;
    ck_assert_uint_eq(crm_problem_status(kind), expected[_i].status);
    ck_assert_ptr_nonnull(crm_problem_slug(kind));
    ck_assert_str_eq(crm_problem_slug(kind), expected[_i].slug);
}
END_TEST

START_TEST(test_new_members)
{
    crm_problem_kind kind = expected[_i].kind;
    char type[64];
    snprintf(type, sizeof(type), "/problems/%s", expected[_i].slug);

    json_t *problem = crm_problem_new(kind, "something specific", "rid-42");
    ck_assert_ptr_nonnull(problem);
    ck_assert_uint_eq(json_object_size(problem), 5);
    ck_assert_str_eq(member_string(problem, "type"), type);
    ck_assert_uint_gt(strlen(member_string(problem, "title")), 0);
    ck_assert(json_is_integer(json_object_get(problem, "status")));
    ck_assert_int_eq(json_integer_value(json_object_get(problem, "status")), expected[_i].status);
    ck_assert_str_eq(member_string(problem, "detail"), "something specific");
    ck_assert_str_eq(member_string(problem, "request_id"), "rid-42");
    json_decref(problem);

    /* Without a request id the member is omitted, not null. */
    problem = crm_problem_new(kind, "detail", NULL);
    ck_assert_ptr_nonnull(problem);
    ck_assert_uint_eq(json_object_size(problem), 4);
    ck_assert_ptr_null(json_object_get(problem, "request_id"));
    ck_assert_str_eq(member_string(problem, "type"), type);
    json_decref(problem);
}
END_TEST

START_TEST(test_titles_are_distinct)
{
    for (int i = 0; i < EXPECTED_COUNT; i++) {
        json_t *a = crm_problem_new(expected[i].kind, NULL, NULL);
        for (int j = i + 1; j < EXPECTED_COUNT; j++) {
            json_t *b = crm_problem_new(expected[j].kind, NULL, NULL);
            ck_assert_str_ne(member_string(a, "title"), member_string(b, "title"));
            json_decref(b);
        }
        json_decref(a);
    }
}
END_TEST

START_TEST(test_new_exact_not_found)
{
    json_t *problem = crm_problem_new(CRM_PROBLEM_NOT_FOUND, "no such case", "abc");
    /* API.md fixes every member but the title's wording. */
    ck_assert_int_eq(json_object_del(problem, "title"), 0);
    json_t *want = json_pack("{s:s, s:i, s:s, s:s}", "type", "/problems/not-found", "status", 404,
                             "detail", "no such case", "request_id", "abc");
    ck_assert(json_equal(problem, want));
    json_decref(want);
    json_decref(problem);
}
END_TEST

START_TEST(test_new_without_detail)
{
    json_t *problem = crm_problem_new(CRM_PROBLEM_CONFLICT, NULL, NULL);
    ck_assert_ptr_nonnull(problem);
    /* detail is always present: the title stands in. */
    ck_assert_str_eq(member_string(problem, "detail"), member_string(problem, "title"));
    json_decref(problem);
}
END_TEST

START_TEST(test_new_with_invalid_utf8_detail)
{
    json_t *problem =
        crm_problem_new(CRM_PROBLEM_BAD_PARAMETER, "bad id \"\xff\xfe\" in path", "rid-1");
    ck_assert_ptr_nonnull(problem);
    ck_assert_str_eq(member_string(problem, "type"), "/problems/bad-parameter");
    ck_assert_int_eq(json_integer_value(json_object_get(problem, "status")), 400);
    ck_assert(json_is_string(json_object_get(problem, "detail")));
    ck_assert_str_eq(member_string(problem, "request_id"), "rid-1");
    char *text = json_dumps(problem, 0);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_null(strchr(text, '\xff'));
    free(text);
    json_decref(problem);
}
END_TEST

START_TEST(test_errors_add)
{
    json_t *errors = json_array();
    crm_problem_errors_add(errors, "contact_info.email", "format", "not an email address");
    crm_problem_errors_add(errors, "tags[1]", "duplicate", "repeats tags[0]");
    crm_problem_errors_add(errors, "", "type", "the body must be a JSON object");
    ck_assert_uint_eq(json_array_size(errors), 3);

    json_t *want =
        json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s, s:s}]", "field",
                  "contact_info.email", "code", "format", "message", "not an email address",
                  "field", "tags[1]", "code", "duplicate", "message", "repeats tags[0]", "field",
                  "", "code", "type", "message", "the body must be a JSON object");
    ck_assert(json_equal(errors, want));
    for (size_t i = 0; i < 3; i++)
        ck_assert_uint_eq(json_object_size(json_array_get(errors, i)), 3);
    json_decref(want);
    json_decref(errors);
}
END_TEST

/* Every kind has what its /problems page shows: a title matching the problem objects, and a
 * description of a few sentences; and its slug leads back to it. */
START_TEST(test_page_texts)
{
    crm_problem_kind kind = expected[_i].kind;
    json_t *problem = crm_problem_new(kind, NULL, NULL);
    ck_assert_str_eq(crm_problem_title(kind), member_string(problem, "title"));
    json_decref(problem);
    const char *description = crm_problem_description(kind);
    ck_assert_ptr_nonnull(description);
    size_t len = strlen(description);
    ck_assert_msg(len >= 40, "%s: description too short", expected[_i].slug);
    ck_assert_msg(description[len - 1] == '.', "%s: description is not a sentence",
                  expected[_i].slug);
    /* Markdown tables (the /docs page) and HTML (the /problems pages) take it as it is. */
    ck_assert_ptr_null(strpbrk(description, "|<>&\n"));
    ck_assert_int_eq(crm_problem_kind_of_slug(expected[_i].slug), kind);
}
END_TEST

START_TEST(test_kind_of_unknown_slug)
{
    ck_assert_int_eq(crm_problem_kind_of_slug("teapot"), CRM_PROBLEM_KIND_MAX);
    ck_assert_int_eq(crm_problem_kind_of_slug(""), CRM_PROBLEM_KIND_MAX);
    ck_assert_int_eq(crm_problem_kind_of_slug("not-found/"), CRM_PROBLEM_KIND_MAX);
    ck_assert_int_eq(crm_problem_kind_of_slug(NULL), CRM_PROBLEM_KIND_MAX);
}
END_TEST

START_TEST(test_send)
{
    crm_log_set_request_id("req-7");
    int rc = crm_problem_send(&response, CRM_PROBLEM_CONFLICT, "cannot move from %s to %s",
                              "closed", "pending");
    ck_assert_int_eq(rc, U_CALLBACK_COMPLETE);
    ck_assert_int_eq(response.status, 409);
    ck_assert_str_eq(u_map_get_case(response.map_header, "Content-Type"),
                     "application/problem+json");
    ck_assert_ptr_null(u_map_get_case(response.map_header, "WWW-Authenticate"));
    json_t *body = response_json();
    ck_assert_str_eq(member_string(body, "type"), "/problems/conflict");
    ck_assert_int_eq(json_integer_value(json_object_get(body, "status")), 409);
    ck_assert_str_eq(member_string(body, "detail"), "cannot move from closed to pending");
    ck_assert_str_eq(member_string(body, "request_id"), "req-7");
    json_decref(body);
}
END_TEST

START_TEST(test_send_every_kind)
{
    char type[64];
    snprintf(type, sizeof(type), "/problems/%s", expected[_i].slug);
    crm_problem_send(&response, expected[_i].kind, "x");
    ck_assert_uint_eq(response.status, expected[_i].status);
    json_t *body = response_json();
    ck_assert_str_eq(member_string(body, "type"), type);
    ck_assert_int_eq(json_integer_value(json_object_get(body, "status")), expected[_i].status);
    ck_assert_ptr_null(json_object_get(body, "request_id")); /* none set */
    json_decref(body);
}
END_TEST

START_TEST(test_send_unauthorized_challenge)
{
    crm_problem_send(&response, CRM_PROBLEM_UNAUTHORIZED, "token expired");
    ck_assert_int_eq(response.status, 401);
    ck_assert_str_eq(u_map_get_case(response.map_header, "WWW-Authenticate"), "Bearer");
}
END_TEST

START_TEST(test_send_invalid_utf8_detail)
{
    crm_problem_send(&response, CRM_PROBLEM_NOT_FOUND, "no route %s", "/\xc3\x28");
    ck_assert_int_eq(response.status, 404);
    json_t *body = response_json();
    ck_assert_str_eq(member_string(body, "type"), "/problems/not-found");
    json_decref(body);
}
END_TEST

START_TEST(test_send_validation)
{
    crm_log_set_request_id("req-8");
    json_t *errors = json_array();
    crm_problem_errors_add(errors, "name", "required", "is required");
    crm_problem_errors_add(errors, "tags[1]", "duplicate", "repeats tags[0]");
    int rc = crm_problem_send_validation(&response, errors); /* steals errors */
    ck_assert_int_eq(rc, U_CALLBACK_COMPLETE);
    ck_assert_int_eq(response.status, 422);
    ck_assert_str_eq(u_map_get_case(response.map_header, "Content-Type"),
                     "application/problem+json");
    json_t *body = response_json();
    ck_assert_uint_eq(json_object_size(body), 6);
    ck_assert_str_eq(member_string(body, "type"), "/problems/validation");
    ck_assert_str_eq(member_string(body, "title"), "Validation failed");
    ck_assert_int_eq(json_integer_value(json_object_get(body, "status")), 422);
    ck_assert_str_eq(member_string(body, "detail"), "2 fields are invalid");
    ck_assert_str_eq(member_string(body, "request_id"), "req-8");
    json_t *got = json_object_get(body, "errors");
    ck_assert_uint_eq(json_array_size(got), 2);
    ck_assert_str_eq(member_string(json_array_get(got, 0), "field"), "name");
    ck_assert_str_eq(member_string(json_array_get(got, 0), "code"), "required");
    ck_assert_str_eq(member_string(json_array_get(got, 1), "field"), "tags[1]");
    json_decref(body);
}
END_TEST

START_TEST(test_send_validation_one_field)
{
    json_t *errors = json_array();
    crm_problem_errors_add(errors, "", "type", "the body must be a JSON object");
    crm_problem_send_validation(&response, errors);
    json_t *body = response_json();
    ck_assert_str_eq(member_string(body, "detail"), "1 field is invalid");
    ck_assert_str_eq(member_string(json_array_get(json_object_get(body, "errors"), 0), "field"),
                     "");
    json_decref(body);
}
END_TEST

static Suite *problem_suite(void)
{
    Suite *suite = suite_create("problem");
    TCase *tc = tcase_create("objects");
    tcase_add_test(tc, test_table_covers_every_kind);
    tcase_add_loop_test(tc, test_status_and_slug, 0, EXPECTED_COUNT);
    tcase_add_loop_test(tc, test_new_members, 0, EXPECTED_COUNT);
    tcase_add_test(tc, test_titles_are_distinct);
    tcase_add_test(tc, test_new_exact_not_found);
    tcase_add_test(tc, test_new_without_detail);
    tcase_add_test(tc, test_new_with_invalid_utf8_detail);
    tcase_add_test(tc, test_errors_add);
    tcase_add_loop_test(tc, test_page_texts, 0, EXPECTED_COUNT);
    tcase_add_test(tc, test_kind_of_unknown_slug);
    suite_add_tcase(suite, tc);

    TCase *send = tcase_create("send");
    tcase_add_checked_fixture(send, setup, teardown);
    tcase_add_test(send, test_send);
    tcase_add_loop_test(send, test_send_every_kind, 0, EXPECTED_COUNT);
    tcase_add_test(send, test_send_unauthorized_challenge);
    tcase_add_test(send, test_send_invalid_utf8_detail);
    tcase_add_test(send, test_send_validation);
    tcase_add_test(send, test_send_validation_one_field);
    suite_add_tcase(suite, send);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(problem_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
