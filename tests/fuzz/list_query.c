/* Fuzz harness: the query strings of the four list endpoints (GET /api/customers, /api/cases,
 * /api/customers/:id/cases, /api/users) through what their routes run: crm_query_parse with the
 * endpoint's parameters, the service's filters, limit, sort and cursor (crm_list_params_read), and
 * the store's MongoDB filter and options. A rejected query must be answered with a 400 problem.
 *
 * Input: the first byte picks the endpoint; the rest is one parameter per line, "name=value"
 * (raw: the fuzzer writes its own %XX escapes), joined with '&'. Two spellings of a cursor line
 * reach past the cursor's integrity checks, which random bytes never pass:
 *   cursor=!TEXT   TEXT is base64url-encoded here (the cursor's JSON parser and its checks);
 *   cursor=@JSON   a cursor the endpoint itself would issue for the other parameters, with JSON
 *                  (or the text as a string) as the last row's sort value: such a cursor must be
 *                  accepted, as a client that follows next_cursor expects. */
#include "crm/http.h"
#include "crm/mongo.h"
#include "crm/problem.h"
#include "crm/query.h"
#include "crm/validate.h"
#include "fuzz_support.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

/* Each service's model.h and store.h, under names that do not collide (three model.h). */
#include "../../services/auth/src/store.h"
#include "../../services/cases/src/store.h"
#include "../../services/customers/src/store.h"

#define CALLER_ID   "0123456789abcdef01234567"
#define CUSTOMER_ID "89abcdef0123456789abcdef"
#define LAST_ROW_ID "fedcba9876543210fedcba98"

typedef enum endpoint { EP_CUSTOMERS, EP_CASES, EP_CUSTOMER_CASES, EP_USERS, ENDPOINTS } endpoint;

static const char *const paths[ENDPOINTS] = {"/api/customers", "/api/cases",
                                             "/api/customers/" CUSTOMER_ID "/cases", "/api/users"};

/* What one list request came to: a 400 with `err`, or a page query. */
typedef struct outcome {
    int ok;
    char err[160];
    crm_list_params list;
} outcome;

static int run_customers(const crm_query *query, outcome *out, bson_t *filter, bson_t *opts)
{
    customer_filters filters;
    char key[CUSTOMER_FILTERS_KEY_MAX];
    int rc = -1;
    if (customer_filters_read(query, &filters, key, sizeof(key), out->err, sizeof(out->err)) == 0 &&
        crm_list_params_read(&out->list, query, customer_sortable, key, out->err,
                             sizeof(out->err)) == 0) {
        FUZZ_CHECK(strlen(key) < sizeof(key) - 1); /* a cut key binds cursors to too little */
        customer_store_list_query(filter, opts, &out->list, &filters);
        rc = 0;
    }
    customer_filters_clean(&filters);
    return rc;
}

static int run_cases(const crm_query *query, int nested, outcome *out, bson_t *filter, bson_t *opts)
{
    case_filters filters;
    char *key = NULL;
    int rc = -1;
    if (case_filters_read(query, CALLER_ID, &filters, out->err, sizeof(out->err)) != 0)
        return -1;
    if (nested)
        snprintf(filters.customer_id, sizeof(filters.customer_id), "%s", CUSTOMER_ID);
    key = case_filters_key_new(query, &filters);
    FUZZ_CHECK(key != NULL);
    if (crm_list_params_read(&out->list, query, case_sortable, key, out->err, sizeof(out->err)) ==
        0) {
        FUZZ_CHECK(case_store_list_query(filter, opts, &out->list, &filters) == 0);
        rc = 0;
    }
    free(key);
    return rc;
}

static int run_users(const crm_query *query, outcome *out, bson_t *filter, bson_t *opts)
{
    user_filters filters;
    char key[160]; /* the route's */
    if (user_filters_read(query, &filters, out->err, sizeof(out->err)) != 0)
        return -1;
    user_filters_key(query, &filters, key, sizeof(key));
    if (crm_list_params_read(&out->list, query, user_sortable, key, out->err, sizeof(out->err)) !=
        0)
        return -1;
    user_store_list_query(filter, opts, &out->list, &filters);
    return 0;
}

static const char *const *params_of(endpoint which)
{
    switch (which) {
    case EP_CUSTOMERS:
        return customer_list_params;
    case EP_CASES:
        return case_list_params;
    case EP_CUSTOMER_CASES:
        return case_nested_list_params;
    default:
        return user_list_params;
    }
}

static const char *const *sortable_of(endpoint which)
{
    return which == EP_CUSTOMERS ? customer_sortable
           : which == EP_USERS   ? user_sortable
                                 : case_sortable;
}

static int in_list(const char *text, const char *const *list)
{
    for (size_t i = 0; list[i]; i++) {
        if (strcmp(text, list[i]) == 0)
            return 1;
    }
    return 0;
}

/* One request to `which` with the query string of `url`; fills `out`. */
static void run(endpoint which, const char *url, outcome *out)
{
    crm_query query;
    bson_t filter = BSON_INITIALIZER, opts = BSON_INITIALIZER;
    memset(out, 0, sizeof(*out));
    int rc = crm_query_parse(&query, url, params_of(which), out->err, sizeof(out->err));
    if (rc == 0) {
        if (which == EP_CUSTOMERS)
            rc = run_customers(&query, out, &filter, &opts);
        else if (which == EP_USERS)
            rc = run_users(&query, out, &filter, &opts);
        else
            rc = run_cases(&query, which == EP_CUSTOMER_CASES, out, &filter, &opts);
    }
    if (rc != 0) {
        struct _u_response response;
        ulfius_init_response(&response);
        crm_problem_send(&response, CRM_PROBLEM_BAD_PARAMETER, "%s", out->err);
        fuzz_expect_problem(&response, 400, 400);
        ulfius_clean_response(&response);
    } else {
        out->ok = 1;
        FUZZ_CHECK(out->list.limit >= 1 && out->list.limit <= 100);
        FUZZ_CHECK(in_list(out->list.sort_field, sortable_of(which)));
        FUZZ_CHECK(!out->list.after_value || crm_id_valid(out->list.after_id));
        FUZZ_CHECK(bson_validate(&filter, BSON_VALIDATE_UTF8, NULL));
        FUZZ_CHECK(bson_validate(&opts, BSON_VALIDATE_UTF8, NULL));
    }
    bson_destroy(&filter);
    bson_destroy(&opts);
    crm_query_clean(&query);
}

/* Appends `text` to the growing string *url. */
static void append(char **url, size_t *len, const char *text)
{
    size_t add = strlen(text);
    char *grown = realloc(*url, *len + add + 1);
    if (!grown)
        abort();
    memcpy(grown + *len, text, add + 1);
    *url = grown;
    *len += add;
}

static char *base64url(const void *data, size_t len)
{
    size_t size = sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(size);
    if (!out)
        abort();
    sodium_bin2base64(out, size, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* The sort value a test cursor carries: `text` as JSON when it is JSON, else as a string. NULL
 * when `text` is not valid UTF-8 (no row could hold it). */
static json_t *sort_value(const char *text)
{
    json_t *value = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    return value ? value : json_string(text);
}

/* Whether a row could carry `value` as its sort value: an integer (a time or a priority rank) or
 * a string no longer than the longest sortable text (a customer's name, 200 characters). */
static int row_value(const json_t *value)
{
    if (json_is_integer(value))
        return 1;
    if (!json_is_string(value))
        return 0;
    const char *text = json_string_value(value);
    return strlen(text) == json_string_length(value) && text[0] && crm_utf8_length(text) <= 200;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_fields lines;
    outcome first, second;
    const char *issue = NULL; /* the value of a "cursor=@" line */
    char *url = NULL;
    size_t len = 0;
    if (size == 0)
        return 0;
    fuzz_quiet();
    endpoint which = (endpoint)(data[0] % ENDPOINTS);
    fuzz_fields_split(&lines, data + 1, size - 1, '\n', FUZZ_MAX_FIELDS);
    append(&url, &len, paths[which]);
    append(&url, &len, "?");
    for (size_t i = 0; i < lines.count; i++) {
        const char *line = lines.field[i];
        if (strncmp(line, "cursor=@", 8) == 0 && !issue) {
            issue = line + 8;
            continue;
        }
        if (i)
            append(&url, &len, "&");
        if (strncmp(line, "cursor=!", 8) == 0) {
            char *encoded = base64url(line + 8, strlen(line + 8));
            append(&url, &len, "cursor=");
            append(&url, &len, encoded);
            free(encoded);
        } else {
            append(&url, &len, line);
        }
    }
    run(which, url, &first);
    json_t *value = issue ? sort_value(issue) : NULL;
    if (first.ok && value && !first.list.after_value) {
        /* The cursor of a page that ended on a row with this sort value. */
        char *cursor = crm_cursor_encode(&first.list, value, LAST_ROW_ID);
        FUZZ_CHECK(cursor != NULL);
        append(&url, &len, "&cursor=");
        append(&url, &len, cursor);
        free(cursor);
        run(which, url, &second);
        if (row_value(value)) {
            if (!second.ok)
                fprintf(stderr, "fuzz: the endpoint refused its own cursor: %s\n", second.err);
            FUZZ_CHECK(second.ok);
            FUZZ_CHECK(json_equal(second.list.after_value, value));
            FUZZ_CHECK(strcmp(second.list.after_id, LAST_ROW_ID) == 0);
        }
        crm_list_params_clean(&second.list);
    }
    json_decref(value);
    crm_list_params_clean(&first.list);
    free(url);
    fuzz_fields_clean(&lines);
    return 0;
}
