/* The customer model: the validation table per field and code, defaults, merge-patch rules,
 * the JSON form, the escaping of q and the list filters. */
#include "model.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *text)
{
    json_error_t error;
    json_t *value = json_loads(text, 0, &error);
    ck_assert_msg(value != NULL, "bad test JSON %s: %s", text, error.text);
    return value;
}

/* Validates `body` as a create (or patch) and asserts exactly one error, on `field` with
 * `code`. */
static void expect_one_error(int patch, const char *body, const char *field, const char *code)
{
    json_t *value = parse(body);
    json_t *errors = json_array();
    customer c;
    customer_patch p;
    size_t bad =
        patch ? customer_patch_read(value, &p, errors) : customer_create_read(value, &c, errors);
    ck_assert_msg(bad > 0, "%s: accepted", body);
    ck_assert_msg(json_array_size(errors) == 1, "%s: %zu errors", body, json_array_size(errors));
    const json_t *entry = json_array_get(errors, 0);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "field")), field);
    ck_assert_str_eq(json_string_value(json_object_get(entry, "code")), code);
    json_decref(errors);
    json_decref(value);
}

static char *repeat(char c, size_t n, const char *prefix, const char *suffix)
{
    char *text = malloc(strlen(prefix) + n + strlen(suffix) + 1);
    strcpy(text, prefix);
    memset(text + strlen(prefix), c, n);
    strcpy(text + strlen(prefix) + n, suffix);
    return text;
}

START_TEST(test_create_table)
{
    expect_one_error(0, "{}", "name", "required");
    expect_one_error(0, "{\"name\": \"\"}", "name", "required");
    expect_one_error(0, "{\"name\": \"  \\t \"}", "name", "required");
    expect_one_error(0, "{\"name\": null}", "name", "required");
    expect_one_error(0, "{\"name\": 42}", "name", "type");
    expect_one_error(0, "{\"name\": {\"$gt\": \"\"}}", "name", "type");
    expect_one_error(0, "{\"name\": [\"a\"]}", "name", "type");
    char *long_name = repeat('x', 201, "{\"name\": \"", "\"}");
    expect_one_error(0, long_name, "name", "length");
    free(long_name);
    expect_one_error(0, "{\"name\": \"a\", \"contact_info\": \"x\"}", "contact_info", "type");
    expect_one_error(0, "{\"name\": \"a\", \"contact_info\": {\"email\": \"nope\"}}",
                     "contact_info.email", "format");
    expect_one_error(0, "{\"name\": \"a\", \"contact_info\": {\"email\": {\"$ne\": 1}}}",
                     "contact_info.email", "type");
    char *long_email =
        repeat('a', 250, "{\"name\": \"a\", \"contact_info\": {\"email\": \"x@", ".io\"}}");
    expect_one_error(0, long_email, "contact_info.email", "length");
    free(long_email);
    expect_one_error(0, "{\"name\": \"a\", \"contact_info\": {\"phone\": \"call me\"}}",
                     "contact_info.phone", "format");
    char *long_phone =
        repeat('1', 33, "{\"name\": \"a\", \"contact_info\": {\"phone\": \"", "\"}}");
    expect_one_error(0, long_phone, "contact_info.phone", "length");
    free(long_phone);
    char *long_address =
        repeat('s', 501, "{\"name\": \"a\", \"contact_info\": {\"address\": \"", "\"}}");
    expect_one_error(0, long_address, "contact_info.address", "length");
    free(long_address);
    expect_one_error(0, "{\"name\": \"a\", \"contact_info\": {\"address\": 5}}",
                     "contact_info.address", "type");
    expect_one_error(0, "{\"name\": \"a\", \"contact_info\": {\"fax\": \"1\"}}", "contact_info.fax",
                     "unknown");
    expect_one_error(0, "{\"name\": \"a\", \"status\": \"vip\"}", "status", "enum");
    expect_one_error(0, "{\"name\": \"a\", \"status\": null}", "status", "type");
    expect_one_error(0, "{\"name\": \"a\", \"tags\": \"x\"}", "tags", "type");
    expect_one_error(0, "{\"name\": \"a\", \"tags\": [\"x\", \"y\", \"x\"]}", "tags[2]",
                     "duplicate");
    expect_one_error(0, "{\"name\": \"a\", \"tags\": [\"\"]}", "tags[0]", "length");
    expect_one_error(0, "{\"name\": \"a\", \"tags\": [\"ok\", {\"$gt\": 1}]}", "tags[1]", "type");
    char *long_tag = repeat('t', 41, "{\"name\": \"a\", \"tags\": [\"", "\"]}");
    expect_one_error(0, long_tag, "tags[0]", "length");
    free(long_tag);
    expect_one_error(0,
                     "{\"name\": \"a\", \"tags\": [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\","
                     "\"9\",\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\",\"18\",\"19\","
                     "\"20\",\"21\"]}",
                     "tags", "length");
    expect_one_error(0, "{\"name\": \"a\", \"id\": \"x\"}", "id", "read_only");
    expect_one_error(0, "{\"name\": \"a\", \"version\": 3}", "version", "read_only");
    expect_one_error(0, "{\"name\": \"a\", \"created_at\": \"x\"}", "created_at", "read_only");
    expect_one_error(0, "{\"name\": \"a\", \"updated_at\": \"x\"}", "updated_at", "read_only");
    expect_one_error(0, "{\"name\": \"a\", \"owner\": \"x\"}", "owner", "unknown");
}
END_TEST

START_TEST(test_one_entry_per_bad_field)
{
    json_t *body = parse("{\"name\": \"\", \"status\": \"x\", \"tags\": [\"a\", \"a\", \"\"], "
                         "\"contact_info\": {\"email\": \"no\", \"phone\": \"x\"}, \"_id\": 1}");
    json_t *errors = json_array();
    customer c;
    ck_assert_uint_gt(customer_create_read(body, &c, errors), 0);
    /* name, status, tags[1], tags[2], contact_info.email, contact_info.phone, _id */
    ck_assert_uint_eq(json_array_size(errors), 7);
    json_decref(errors);
    json_decref(body);
}
END_TEST

START_TEST(test_create_defaults_and_json)
{
    json_t *body = parse("{\"name\": \"Ada\"}");
    json_t *errors = json_array();
    customer c;
    ck_assert_uint_eq(customer_create_read(body, &c, errors), 0);
    ck_assert_str_eq(c.status, "lead");
    ck_assert_uint_eq(c.tag_count, 0);
    ck_assert_ptr_null(c.email);
    strcpy(c.id, "0123456789abcdef01234567");
    c.created_at = c.updated_at = 1764151200000LL;
    c.version = 1;
    json_t *out = customer_to_json(&c);
    json_t *want = parse("{\"id\": \"0123456789abcdef01234567\", \"name\": \"Ada\", "
                         "\"contact_info\": {\"email\": null, \"phone\": null, \"address\": null}, "
                         "\"status\": \"lead\", \"tags\": [], "
                         "\"created_at\": \"2025-11-26T10:00:00.000Z\", "
                         "\"updated_at\": \"2025-11-26T10:00:00.000Z\", \"version\": 1}");
    char *got = json_dumps(out, JSON_SORT_KEYS);
    ck_assert_msg(json_equal(out, want), "got %s", got);
    free(got);
    json_decref(want);
    json_decref(out);
    customer_clean(&c);
    json_decref(errors);
    json_decref(body);
}
END_TEST

static void customer_from_text(customer *c, const char *text)
{
    json_t *body = parse(text);
    json_t *errors = json_array();
    ck_assert_uint_eq(customer_create_read(body, c, errors), 0);
    json_decref(errors);
    json_decref(body);
}

/* The answers' writer and the events' tree give the same bytes, for every field filled or not,
 * strings that need escaping and non-ASCII ones. */
START_TEST(test_json_write_matches_the_tree)
{
    const char *bodies[] = {
        "{\"name\": \"Ada\"}",
        "{\"name\": \"Zoë \\\"the\\\" \\u0001 \\n Ångström 東京\", \"status\": \"active\", "
        "\"tags\": [\"vip\", \"a/b\", \"tab\\there\"], \"contact_info\": {\"email\": "
        "\"ada@example.com\", \"phone\": \"+44 20 7946 0958\", \"address\": \"1 Main "
        "St\\r\\nLondon\"}}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++) {
        customer c;
        customer_from_text(&c, bodies[i]);
        strcpy(c.id, "0123456789abcdef01234567");
        c.created_at = 1764151200123LL;
        c.updated_at = 1795000000999LL;
        c.version = 42;
        json_t *tree = customer_to_json(&c);
        char *want = json_dumps(tree, JSON_COMPACT | JSON_PRESERVE_ORDER);
        crm_json_text got;
        crm_json_text_init(&got, 16);
        customer_json_write(&got, &c);
        ck_assert_int_eq(got.failed, 0);
        ck_assert_msg(strcmp(got.text, want) == 0, "writer %s\ntree   %s", got.text, want);
        crm_json_text_clean(&got);
        free(want);
        json_decref(tree);
        customer_clean(&c);
    }
}
END_TEST

static int patch_text(customer *c, const char *text)
{
    json_t *body = parse(text);
    json_t *errors = json_array();
    customer_patch p;
    ck_assert_uint_eq(customer_patch_read(body, &p, errors), 0);
    int changed = customer_patch_apply(c, &p);
    customer_patch_clean(&p);
    json_decref(errors);
    json_decref(body);
    return changed;
}

START_TEST(test_merge_patch)
{
    customer c;
    customer_from_text(&c, "{\"name\": \"Ada\", \"status\": \"active\", \"tags\": [\"vip\"], "
                           "\"contact_info\": {\"email\": \"ada@example.com\", "
                           "\"phone\": \"+44 1\", \"address\": \"London\"}}");
    ck_assert_int_eq(patch_text(&c, "{}"), 0);
    ck_assert_int_eq(patch_text(&c, "{\"name\": \"Ada\", \"tags\": [\"vip\"]}"), 0);
    ck_assert_int_eq(patch_text(&c, "{\"contact_info\": {\"email\": null}}"), 1);
    ck_assert_ptr_null(c.email);
    ck_assert_str_eq(c.phone, "+44 1");
    ck_assert_str_eq(c.address, "London");
    ck_assert_int_eq(patch_text(&c, "{\"contact_info\": {\"phone\": \"2\"}}"), 1);
    ck_assert_str_eq(c.phone, "2");
    ck_assert_str_eq(c.address, "London");
    ck_assert_int_eq(patch_text(&c, "{\"contact_info\": null}"), 1);
    ck_assert_ptr_null(c.email);
    ck_assert_ptr_null(c.phone);
    ck_assert_ptr_null(c.address);
    ck_assert_int_eq(patch_text(&c, "{\"tags\": null}"), 1);
    ck_assert_uint_eq(c.tag_count, 0);
    ck_assert_int_eq(patch_text(&c, "{\"tags\": [\"a\", \"b\"], \"status\": \"churned\"}"), 1);
    ck_assert_uint_eq(c.tag_count, 2);
    ck_assert_str_eq(c.status, "churned");
    ck_assert_str_eq(c.name, "Ada");
    customer_clean(&c);
}
END_TEST

START_TEST(test_patch_table)
{
    expect_one_error(1, "{\"name\": null}", "name", "type");
    expect_one_error(1, "{\"name\": \" \"}", "name", "required");
    expect_one_error(1, "{\"version\": 2}", "version", "read_only");
    expect_one_error(1, "{\"id\": \"x\"}", "id", "read_only");
    expect_one_error(1, "{\"tags\": [\"a\", \"a\"]}", "tags[1]", "duplicate");
    expect_one_error(1, "{\"status\": {\"$ne\": \"lead\"}}", "status", "type");
    expect_one_error(1, "{\"deleted\": true}", "deleted", "unknown");
}
END_TEST

static char tag_seen[64]; /* filters->tag borrows from the query, gone after filters_from */

static int filters_from(const char *url, customer_filters *filters)
{
    static const char *const allowed[] = {
        "limit", "cursor", "sort", "status", "tag", "q", "created_after", "created_before", NULL};
    crm_query query;
    char err[160], key[1200];
    int rc = crm_query_parse(&query, url, allowed, err, sizeof(err));
    if (rc == 0)
        rc = customer_filters_read(&query, filters, key, sizeof(key), err, sizeof(err));
    snprintf(tag_seen, sizeof(tag_seen), "%s", rc == 0 && filters->tag ? filters->tag : "");
    filters->tag = NULL;
    crm_query_clean(&query);
    return rc;
}

START_TEST(test_filters)
{
    customer_filters f;
    ck_assert_int_eq(filters_from("/api/customers?status=lead,active", &f), 0);
    ck_assert_str_eq(f.statuses[0], "lead");
    ck_assert_str_eq(f.statuses[1], "active");
    ck_assert_ptr_null(f.statuses[2]);
    customer_filters_clean(&f);
    ck_assert_int_eq(filters_from("/api/customers?status=lead,lead", &f), -1);
    customer_filters_clean(&f);
    ck_assert_int_eq(filters_from("/api/customers?status=vip", &f), -1);
    customer_filters_clean(&f);
    ck_assert_int_eq(filters_from("/api/customers?status=lead,", &f), -1);
    customer_filters_clean(&f);
    ck_assert_int_eq(filters_from("/api/customers?status=", &f), -1);
    customer_filters_clean(&f);
    ck_assert_int_eq(filters_from("/api/customers?q=", &f), -1);
    customer_filters_clean(&f);
    ck_assert_int_eq(filters_from("/api/customers?q=a%2Eb", &f), 0);
    ck_assert_str_eq(f.q_pattern, "[aA]\\.[bB]");
    customer_filters_clean(&f);
    char *q200 = repeat('q', 200, "/api/customers?q=", "");
    ck_assert_int_eq(filters_from(q200, &f), 0);
    customer_filters_clean(&f);
    free(q200);
    char *q201 = repeat('q', 201, "/api/customers?q=", "");
    ck_assert_int_eq(filters_from(q201, &f), -1);
    customer_filters_clean(&f);
    free(q201);
    ck_assert_int_eq(filters_from("/api/customers?tag=", &f), -1);
    customer_filters_clean(&f);
    ck_assert_int_eq(filters_from("/api/customers?tag=vip", &f), 0);
    ck_assert_str_eq(tag_seen, "vip");
    customer_filters_clean(&f);
    ck_assert_int_eq(filters_from("/api/customers?created_after=yesterday", &f), -1);
    customer_filters_clean(&f);
    ck_assert_int_eq(filters_from("/api/customers?created_before=2026-11-26T10:00:00Z", &f), 0);
    ck_assert_int_eq(f.created_before, 1795687200000LL);
    ck_assert_int_eq(f.created_after, -1);
    customer_filters_clean(&f);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("customers_model");
    TCase *tc = tcase_create("model");
    tcase_add_test(tc, test_create_table);
    tcase_add_test(tc, test_one_entry_per_bad_field);
    tcase_add_test(tc, test_create_defaults_and_json);
    tcase_add_test(tc, test_json_write_matches_the_tree);
    tcase_add_test(tc, test_merge_patch);
    tcase_add_test(tc, test_patch_table);
    tcase_add_test(tc, test_filters);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
