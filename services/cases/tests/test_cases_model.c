/* The case model without a server: validation per field and code, defaults, the whole
 * transition table, resolved_at/closed_at, priority ranks, the JSON form, customer events, the
 * regex escaping of q, and which users may be assigned. */
#include "model.h"
#include "references.h"
#include "store.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define CUSTOMER "0123456789abcdef01234567"
#define USER     "89abcdef0123456789abcdef"
#define NOW      1790000000000LL

/* Validates `text` as a create (or patch) body and returns the errors array. */
static json_t *errors_of(const char *text, int patch)
{
    json_t *body = json_loads(text, JSON_DECODE_ANY, NULL);
    ck_assert_msg(body != NULL, "bad test JSON: %s", text);
    json_t *errors = json_array();
    if (patch) {
        case_patch p;
        case_patch_read(body, &p, errors);
        case_patch_clean(&p);
    } else {
        support_case c;
        case_create_read(body, NOW, &c, errors);
        support_case_clean(&c);
    }
    json_decref(body);
    return errors;
}

/* Asserts exactly one error, on `field` with `code`. */
static void expect_one(const char *text, int patch, const char *field, const char *code)
{
    json_t *errors = errors_of(text, patch);
    ck_assert_msg(json_array_size(errors) == 1, "%s: %zu errors", text, json_array_size(errors));
    json_t *e = json_array_get(errors, 0);
    ck_assert_str_eq(json_string_value(json_object_get(e, "field")), field);
    ck_assert_str_eq(json_string_value(json_object_get(e, "code")), code);
    json_decref(errors);
}

#define BASE "\"customer_id\":\"" CUSTOMER "\",\"title\":\"Printer\""

START_TEST(test_create_defaults)
{
    json_t *body = json_loads("{" BASE "}", 0, NULL);
    json_t *errors = json_array();
    support_case c;
    ck_assert_int_eq(case_create_read(body, NOW, &c, errors), 0);
    ck_assert_str_eq(c.customer_id, CUSTOMER);
    ck_assert_str_eq(c.title, "Printer");
    ck_assert_ptr_null(c.description);
    ck_assert_str_eq(c.assigned_to, "");
    ck_assert_str_eq(c.priority, "normal");
    ck_assert_str_eq(c.status, "new");
    ck_assert_int_eq(c.version, 1);
    ck_assert_int_eq(c.created_at, NOW);
    ck_assert_int_eq(c.updated_at, NOW);
    ck_assert_int_eq(c.resolved_at, 0);
    ck_assert_int_eq(c.closed_at, 0);
    support_case_clean(&c);
    json_decref(body);
    json_decref(errors);
}
END_TEST

START_TEST(test_create_with_every_field)
{
    json_t *body = json_loads("{" BASE ",\"description\":\"d\",\"assigned_to\":\"" USER
                              "\",\"priority\":\"urgent\",\"status\":\"closed\"}",
                              0, NULL);
    json_t *errors = json_array();
    support_case c;
    ck_assert_int_eq(case_create_read(body, NOW, &c, errors), 0);
    ck_assert_str_eq(c.description, "d");
    ck_assert_str_eq(c.assigned_to, USER);
    ck_assert_str_eq(c.priority, "urgent");
    ck_assert_str_eq(c.status, "closed");
    ck_assert_int_eq(c.closed_at, NOW);
    ck_assert_int_eq(c.resolved_at, 0);
    support_case_clean(&c);
    json_decref(body);
    json_decref(errors);

    body = json_loads("{" BASE ",\"status\":\"resolved\",\"assigned_to\":null}", 0, NULL);
    errors = json_array();
    ck_assert_int_eq(case_create_read(body, NOW, &c, errors), 0);
    ck_assert_int_eq(c.resolved_at, NOW);
    ck_assert_int_eq(c.closed_at, 0);
    support_case_clean(&c);
    json_decref(body);
    json_decref(errors);
}
END_TEST

START_TEST(test_create_field_errors)
{
    expect_one("{\"title\":\"x\"}", 0, "customer_id", "required");
    expect_one("{\"customer_id\":\"nope\",\"title\":\"x\"}", 0, "customer_id", "format");
    expect_one("{\"customer_id\":\"0123456789ABCDEF01234567\",\"title\":\"x\"}", 0, "customer_id",
               "format");
    expect_one("{\"customer_id\":5,\"title\":\"x\"}", 0, "customer_id", "type");
    expect_one("{\"customer_id\":{\"$gt\":\"\"},\"title\":\"x\"}", 0, "customer_id", "type");
    expect_one("{\"customer_id\":\"" CUSTOMER "\"}", 0, "title", "required");
    expect_one("{\"customer_id\":\"" CUSTOMER "\",\"title\":\"  \"}", 0, "title", "required");
    expect_one("{\"customer_id\":\"" CUSTOMER "\",\"title\":null}", 0, "title", "required");
    expect_one("{\"customer_id\":\"" CUSTOMER "\",\"title\":3}", 0, "title", "type");
    expect_one("{" BASE ",\"priority\":\"critical\"}", 0, "priority", "enum");
    expect_one("{" BASE ",\"priority\":null}", 0, "priority", "type");
    expect_one("{" BASE ",\"status\":\"done\"}", 0, "status", "enum");
    expect_one("{" BASE ",\"assigned_to\":\"bob\"}", 0, "assigned_to", "format");
    expect_one("{" BASE ",\"description\":7}", 0, "description", "type");
    expect_one("{" BASE ",\"id\":\"" USER "\"}", 0, "id", "read_only");
    expect_one("{" BASE ",\"version\":3}", 0, "version", "read_only");
    expect_one("{" BASE ",\"created_by\":\"" USER "\"}", 0, "created_by", "read_only");
    expect_one("{" BASE ",\"created_at\":\"x\"}", 0, "created_at", "read_only");
    expect_one("{" BASE ",\"updated_at\":\"x\"}", 0, "updated_at", "read_only");
    expect_one("{" BASE ",\"resolved_at\":null}", 0, "resolved_at", "read_only");
    expect_one("{" BASE ",\"closed_at\":null}", 0, "closed_at", "read_only");
    expect_one("{" BASE ",\"owner\":1}", 0, "owner", "unknown");
    expect_one("[1]", 0, "", "type");
}
END_TEST

START_TEST(test_lengths_in_code_points)
{
    char *title = malloc(4 * 201 + 64), *body = malloc(4 * 201 + 128);
    /* 200 two-byte characters pass, 201 fail */
    strcpy(title, "");
    for (int i = 0; i < 200; i++)
        strcat(title, "\xc3\xa9");
    sprintf(body, "{\"customer_id\":\"" CUSTOMER "\",\"title\":\"%s\"}", title);
    json_t *errors = errors_of(body, 0);
    ck_assert_int_eq(json_array_size(errors), 0);
    json_decref(errors);
    strcat(title, "\xc3\xa9");
    sprintf(body, "{\"customer_id\":\"" CUSTOMER "\",\"title\":\"%s\"}", title);
    expect_one(body, 0, "title", "length");
    free(title);
    free(body);

    char *desc = malloc(10002), *big = malloc(10200);
    memset(desc, 'a', 10000);
    desc[10000] = '\0';
    sprintf(big, "{" BASE ",\"description\":\"%s\"}", desc);
    errors = errors_of(big, 0);
    ck_assert_int_eq(json_array_size(errors), 0);
    json_decref(errors);
    strcat(desc, "a");
    sprintf(big, "{" BASE ",\"description\":\"%s\"}", desc);
    expect_one(big, 0, "description", "length");
    free(desc);
    free(big);
}
END_TEST

START_TEST(test_every_bad_field_once)
{
    json_t *errors = errors_of("{\"customer_id\":1,\"title\":\"\",\"priority\":\"x\",\"status\":1,"
                               "\"id\":\"a\",\"zzz\":true}",
                               0);
    ck_assert_int_eq(json_array_size(errors), 6);
    json_decref(errors);
}
END_TEST

START_TEST(test_patch_fields)
{
    expect_one("{\"customer_id\":\"" CUSTOMER "\"}", 1, "customer_id", "read_only");
    expect_one("{\"title\":\"\"}", 1, "title", "required");
    expect_one("{\"title\":null}", 1, "title", "type");
    expect_one("{\"status\":\"x\"}", 1, "status", "enum");
    expect_one("{\"version\":2}", 1, "version", "read_only");
    expect_one("{\"nope\":2}", 1, "nope", "unknown");
    expect_one("\"text\"", 1, "", "type");
    json_t *body = json_loads("{\"description\":null,\"assigned_to\":null,\"title\":\"t\","
                              "\"priority\":\"high\",\"status\":\"open\"}",
                              0, NULL);
    json_t *errors = json_array();
    case_patch p;
    ck_assert_int_eq(case_patch_read(body, &p, errors), 0);
    ck_assert(p.has_description && !p.description);
    ck_assert(p.has_assigned_to && p.assigned_to[0] == '\0');
    ck_assert(p.has_title && strcmp(p.title, "t") == 0);
    ck_assert(p.has_priority && strcmp(p.priority, "high") == 0);
    ck_assert(p.has_status && strcmp(p.status, "open") == 0);
    case_patch_clean(&p);
    json_decref(body);
    json_decref(errors);
}
END_TEST

/* The expected table: rows from, columns to, in case_statuses order. */
static const int allowed_table[6][6] = {
    /*            new open pend hold res  closed */
    /* new */ {1, 1, 1, 1, 1, 1},
    /* open */ {1, 1, 1, 1, 1, 1},
    /* pending */ {1, 1, 1, 1, 1, 1},
    /* on_hold */ {1, 1, 1, 1, 1, 1},
    /* resolved */ {1, 1, 1, 1, 1, 1},
    /* closed */ {0, 1, 0, 0, 0, 1},
};

START_TEST(test_transition_table)
{
    for (int from = 0; from < 6; from++) {
        for (int to = 0; to < 6; to++)
            ck_assert_msg(case_transition_allowed(case_statuses[from], case_statuses[to]) ==
                              allowed_table[from][to],
                          "%s -> %s", case_statuses[from], case_statuses[to]);
    }
    char targets[128];
    case_transition_targets("closed", targets, sizeof(targets));
    ck_assert_str_eq(targets, "open");
    case_transition_targets("new", targets, sizeof(targets));
    ck_assert_str_eq(targets, "open, pending, on_hold, resolved, closed");
}
END_TEST

START_TEST(test_resolved_and_closed_times)
{
    support_case c = {0};
    strcpy(c.status, "new");
    case_status_set(&c, "resolved", 10);
    ck_assert_int_eq(c.resolved_at, 10);
    ck_assert_int_eq(c.closed_at, 0);
    case_status_set(&c, "resolved", 20); /* same again: a no-op */
    ck_assert_int_eq(c.resolved_at, 10);
    case_status_set(&c, "closed", 30);
    ck_assert_int_eq(c.resolved_at, 0);
    ck_assert_int_eq(c.closed_at, 30);
    case_status_set(&c, "open", 40);
    ck_assert_int_eq(c.closed_at, 0);
    ck_assert_int_eq(c.resolved_at, 0);
    ck_assert_str_eq(c.status, "open");
}
END_TEST

START_TEST(test_patch_apply)
{
    support_case c = {0};
    c.title = strdup("a");
    strcpy(c.status, "new");
    strcpy(c.priority, "normal");
    case_patch p = {0};
    p.has_title = 1;
    p.title = strdup("a");
    p.has_status = 1;
    strcpy(p.status, "new");
    ck_assert_int_eq(case_patch_apply(&c, &p, 5), 0); /* nothing changes */
    strcpy(p.status, "resolved");
    ck_assert_int_eq(case_patch_apply(&c, &p, 5), 1);
    ck_assert_int_eq(c.resolved_at, 5);
    p.has_status = 0;
    p.has_description = 1; /* null clears; already null */
    ck_assert_int_eq(case_patch_apply(&c, &p, 6), 0);
    p.has_assigned_to = 1;
    strcpy(p.assigned_to, USER);
    ck_assert_int_eq(case_patch_apply(&c, &p, 6), 1);
    ck_assert_str_eq(c.assigned_to, USER);
    case_patch_clean(&p);
    support_case_clean(&c);
}
END_TEST

START_TEST(test_priority_rank)
{
    ck_assert_int_eq(case_priority_rank("low"), 1);
    ck_assert_int_eq(case_priority_rank("normal"), 2);
    ck_assert_int_eq(case_priority_rank("high"), 3);
    ck_assert_int_eq(case_priority_rank("urgent"), 4);
    ck_assert_int_eq(case_priority_rank("other"), 0);
}
END_TEST

START_TEST(test_json_every_field)
{
    support_case c = {0};
    strcpy(c.id, USER);
    strcpy(c.customer_id, CUSTOMER);
    c.title = strdup("t");
    strcpy(c.priority, "low");
    strcpy(c.status, "closed");
    strcpy(c.created_by, USER);
    c.created_at = c.updated_at = 1764151200000LL;
    c.closed_at = 1764151200123LL;
    c.version = 3;
    c.description = strdup("line 1\nline \"2\" \u00e9");
    crm_json_text text;
    crm_json_text_init(&text, 8);
    case_json_write(&text, &c);
    ck_assert_int_eq(text.failed, 0);
    json_error_t error;
    json_t *j = json_loads(text.text, 0, &error);
    ck_assert_msg(j != NULL, "not JSON: %s (%s)", text.text, error.text);
    crm_json_text_clean(&text);
    static const char *const fields[] = {"id",          "customer_id", "title",       "description",
                                         "assigned_to", "priority",    "status",      "created_by",
                                         "created_at",  "updated_at",  "resolved_at", "closed_at",
                                         "version",     NULL};
    for (int i = 0; fields[i]; i++)
        ck_assert_msg(json_object_get(j, fields[i]) != NULL, "missing %s", fields[i]);
    ck_assert_int_eq(json_object_size(j), 13);
    ck_assert_str_eq(json_string_value(json_object_get(j, "description")), "line 1\nline \"2\" é");
    ck_assert(json_is_null(json_object_get(j, "assigned_to")));
    ck_assert(json_is_null(json_object_get(j, "resolved_at")));
    ck_assert_str_eq(json_string_value(json_object_get(j, "closed_at")),
                     "2025-11-26T10:00:00.123Z");
    ck_assert_str_eq(json_string_value(json_object_get(j, "created_at")),
                     "2025-11-26T10:00:00.000Z");
    ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 3);
    json_decref(j);
    support_case_clean(&c);
}
END_TEST

START_TEST(test_event_parse)
{
    customer_event e;
    char err[128];
    const char *good =
        "{\"id\":\"e1\",\"type\":\"customer.deleted\",\"occurred_at\":"
        "\"2026-11-26T10:00:00.000Z\",\"customer_id\":\"" CUSTOMER "\",\"customer\":null}";
    ck_assert_int_eq(customer_event_parse(good, strlen(good), &e, err, sizeof(err)), 0);
    ck_assert_str_eq(e.type, "customer.deleted");
    ck_assert_str_eq(e.customer_id, CUSTOMER);
    ck_assert_str_eq(e.id, "e1");
    ck_assert(e.occurred_at > 0);
    static const char *const bad[] = {
        "not json",
        "[]",
        "{\"type\":\"customer.deleted\",\"occurred_at\":\"2026-11-26T10:00:00Z\","
        "\"customer_id\":\"" CUSTOMER "\"}",
        "{\"id\":\"e\",\"type\":\"order.deleted\",\"occurred_at\":\"2026-11-26T10:00:00Z\","
        "\"customer_id\":\"" CUSTOMER "\"}",
        "{\"id\":\"e\",\"type\":\"customer.deleted\",\"occurred_at\":\"yesterday\","
        "\"customer_id\":\"" CUSTOMER "\"}",
        "{\"id\":\"e\",\"type\":\"customer.deleted\",\"occurred_at\":\"2026-11-26T10:00:00Z\","
        "\"customer_id\":\"x\"}",
        "{\"id\":\"e\",\"type\":\"customer.deleted\",\"occurred_at\":\"2026-11-26T10:00:00Z\","
        "\"customer_id\":{\"$ne\":1}}",
        NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(customer_event_parse(bad[i], strlen(bad[i]), &e, err, sizeof(err)) == -1,
                      "accepted %s", bad[i]);
    ck_assert_int_eq(customer_event_parse(NULL, 0, &e, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_assignable_users)
{
    static const struct {
        const char *json;
        int ok;
    } cases[] = {
        {"{\"role\":\"agent\",\"disabled\":false}", 1},
        {"{\"role\":\"admin\",\"disabled\":false}", 1},
        {"{\"role\":\"viewer\",\"disabled\":false}", 0},
        {"{\"role\":\"agent\",\"disabled\":true}", 0},
        {"{\"role\":\"agent\"}", 0},
        {"{}", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *user = json_loads(cases[i].json, 0, NULL);
        ck_assert_msg(reference_user_assignable(user) == cases[i].ok, "%s", cases[i].json);
        json_decref(user);
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("cases_model");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, test_create_defaults);
    tcase_add_test(tc, test_create_with_every_field);
    tcase_add_test(tc, test_create_field_errors);
    tcase_add_test(tc, test_lengths_in_code_points);
    tcase_add_test(tc, test_every_bad_field_once);
    tcase_add_test(tc, test_patch_fields);
    tcase_add_test(tc, test_transition_table);
    tcase_add_test(tc, test_resolved_and_closed_times);
    tcase_add_test(tc, test_patch_apply);
    tcase_add_test(tc, test_priority_rank);
    tcase_add_test(tc, test_json_every_field);
    tcase_add_test(tc, test_event_parse);
    tcase_add_test(tc, test_assignable_users);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
