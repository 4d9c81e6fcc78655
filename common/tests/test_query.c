/* Unit tests for common/src/query.c: strict query-string parsing (unknown, repeated and
 * malformed parameters are errors), the shared list parameters (limit, sort, cursor), keyset
 * cursors bound to their sort and filters, crm_id_valid and crm_time_parse. Pure functions. */
#include "crm/query.h"

#include <check.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const list_allowed[] = {"limit", "cursor", "sort", "q", "status", NULL};
static const char *const sortable[] = {"created_at", "updated_at", "name", NULL};

#define ID1 "65f1c0ffee0000000000abcd"

/* Parses `url` and asserts success. */
static void parse_ok(crm_query *query, const char *url, const char *const *allowed)
{
    char err[160] = "";
    int rc = crm_query_parse(query, url, allowed, err, sizeof(err));
    ck_assert_msg(rc == 0, "%s: %s", url, err);
}

/* Parses `url`, asserts failure with a message containing `fragment`, and cleans up. */
static void parse_fails(const char *url, const char *const *allowed, const char *fragment)
{
    crm_query query;
    char err[160] = "";
    int rc = crm_query_parse(&query, url, allowed, err, sizeof(err));
    ck_assert_msg(rc == -1, "%s was accepted", url);
    ck_assert_msg(strstr(err, fragment) != NULL, "%s: message \"%s\" lacks \"%s\"", url, err,
                  fragment);
    crm_query_clean(&query);
}

/* ---- crm_query_parse ---- */

START_TEST(test_no_query)
{
    crm_query query;
    parse_ok(&query, "/api/things", list_allowed);
    ck_assert_uint_eq(query.count, 0);
    ck_assert_ptr_null(crm_query_get(&query, "limit"));
    crm_query_clean(&query);

    /* Nothing is allowed and nothing given: fine. */
    parse_ok(&query, "/api/things", NULL);
    ck_assert_uint_eq(query.count, 0);
    crm_query_clean(&query);
}
END_TEST

START_TEST(test_empty_query)
{
    static const char *const urls[] = {"/api/things?", "/api/things?&", "/api/things?&&&"};
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        crm_query query;
        parse_ok(&query, urls[i], list_allowed);
        ck_assert_uint_eq(query.count, 0);
        crm_query_clean(&query);
    }
}
END_TEST

START_TEST(test_values_are_read)
{
    crm_query query;
    parse_ok(&query, "/api/things?limit=5&sort=-name&q=abc", list_allowed);
    ck_assert_uint_eq(query.count, 3);
    ck_assert_str_eq(crm_query_get(&query, "limit"), "5");
    ck_assert_str_eq(crm_query_get(&query, "sort"), "-name");
    ck_assert_str_eq(crm_query_get(&query, "q"), "abc");
    ck_assert_ptr_null(crm_query_get(&query, "status"));
    ck_assert_str_eq(query.params[0].name, "limit");
    ck_assert_str_eq(query.params[2].name, "q");
    crm_query_clean(&query);
    ck_assert_uint_eq(query.count, 0);
    crm_query_clean(&query); /* twice is harmless */
    crm_query_clean(NULL);

    /* Only the first '=' splits; an empty value is a value. */
    parse_ok(&query, "/x?q=a=b&status=", list_allowed);
    ck_assert_str_eq(crm_query_get(&query, "q"), "a=b");
    ck_assert_str_eq(crm_query_get(&query, "status"), "");
    crm_query_clean(&query);

    /* Names only. */
    static const char *const ab[] = {"a", "b", NULL};
    parse_ok(&query, "/x?a&b", ab);
    ck_assert_uint_eq(query.count, 2);
    ck_assert_str_eq(crm_query_get(&query, "a"), "");
    ck_assert_str_eq(crm_query_get(&query, "b"), "");
    crm_query_clean(&query);
}
END_TEST

START_TEST(test_unknown_name)
{
    parse_fails("/x?bogus=1", list_allowed, "unknown parameter \"bogus\"");
    parse_fails("/x?limit=1&Limit=2", list_allowed, "unknown parameter \"Limit\"");
    parse_fails("/x?limit=1&=2", list_allowed, "unknown parameter \"\"");
    parse_fails("/x?$where=1", list_allowed, "unknown");
    parse_fails("/x?limit=1", NULL, "unknown parameter \"limit\"");
    static const char *const ab[] = {"a", "b", NULL};
    parse_fails("/x?a&c", ab, "unknown parameter \"c\"");
}
END_TEST

START_TEST(test_duplicate_name)
{
    parse_fails("/x?limit=1&limit=2", list_allowed, "parameter \"limit\" is given twice");
    parse_fails("/x?limit=1&limit=1", list_allowed, "twice");
    parse_fails("/x?q&q", list_allowed, "twice");
    /* The same name after decoding. */
    parse_fails("/x?limit=1&%6cimit=2", list_allowed, "parameter \"limit\" is given twice");
}
END_TEST

START_TEST(test_percent_decoding)
{
    crm_query query;
    parse_ok(&query, "/x?q=caf%C3%A9%20au+lait&status=a%2Bb%26c%3Dd%25", list_allowed);
    ck_assert_str_eq(crm_query_get(&query, "q"), "caf\xc3\xa9 au lait");
    ck_assert_str_eq(crm_query_get(&query, "status"), "a+b&c=d%");
    crm_query_clean(&query);

    /* Names are decoded too; lower and upper case hex. */
    parse_ok(&query, "/x?%6C%69mit=1&%73ort=%2dname&q=%e6%97%a5%F0%9F%98%80", list_allowed);
    ck_assert_str_eq(crm_query_get(&query, "limit"), "1");
    ck_assert_str_eq(crm_query_get(&query, "sort"), "-name");
    ck_assert_str_eq(crm_query_get(&query, "q"), "\xe6\x97\xa5\xf0\x9f\x98\x80");
    crm_query_clean(&query);

    /* '+' is a space, %2B a plus. */
    parse_ok(&query, "/x?q=a+b++c&status=%2B", list_allowed);
    ck_assert_str_eq(crm_query_get(&query, "q"), "a b  c");
    ck_assert_str_eq(crm_query_get(&query, "status"), "+");
    crm_query_clean(&query);

    /* An escape right at the end of the string. */
    parse_ok(&query, "/x?q=%41", list_allowed);
    ck_assert_str_eq(crm_query_get(&query, "q"), "A");
    crm_query_clean(&query);
}
END_TEST

START_TEST(test_bad_escapes)
{
    static const char *const urls[] = {
        "/x?q=%",    "/x?q=%G1",   "/x?q=%4",    "/x?q=%00",   "/x?q=abc%",    "/x?q=%1g",
        "/x?q=%%41", "/x?q=a%0",   "/x?q=%4&",   "/x?q=%-1",   "/x?q=a%00b",   "/x?%=1",
        "/x?q%00=1", "/x?q=%4%41", "/x?limit=%", "/x?q=%20%0", "/x?q=%+1&a=b",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
        parse_fails(urls[i], list_allowed, "malformed");
}
END_TEST

START_TEST(test_invalid_utf8_via_escapes)
{
    static const char *const urls[] = {
        "/x?q=%FF",       "/x?q=%C3",
        "/x?q=a%C3",      "/x?q=%C3%28",
        "/x?q=%ED%A0%80", "/x?q=%C0%AF",
        "/x?q=%E6%97",    "/x?q=%F0%9F%98",
        "/x?q=%80",       "/x?q=%F8%88%80%80%80",
        "/x?%FF=1",       "/x?q=ok&status=%FE",
    };
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
        parse_fails(urls[i], list_allowed, "malformed");
    /* Raw invalid bytes too. */
    parse_fails("/x?q=\xff", list_allowed, "malformed");
}
END_TEST

START_TEST(test_parameter_limit)
{
    static const char *const many[] = {"p0", "p1",  "p2",  "p3",  "p4",  "p5",  "p6",  "p7",  "p8",
                                       "p9", "p10", "p11", "p12", "p13", "p14", "p15", "p16", NULL};
    char url[512];
    size_t n = (size_t)snprintf(url, sizeof(url), "/x?");
    for (int i = 0; i < CRM_QUERY_MAX_PARAMS; i++)
        n += (size_t)snprintf(url + n, sizeof(url) - n, "%sp%d=%d", i ? "&" : "", i, i);
    crm_query query;
    parse_ok(&query, url, many);
    ck_assert_uint_eq(query.count, 16);
    ck_assert_str_eq(crm_query_get(&query, "p15"), "15");
    crm_query_clean(&query);

    snprintf(url + n, sizeof(url) - n, "&p16=16");
    parse_fails(url, many, "too many parameters");
}
END_TEST

/* ---- crm_list_params_read ---- */

/* Reads the list parameters of `url` with `filters_key`; returns the rc and leaves `err`. */
static int list_read(crm_list_params *list, const char *url, const char *filters_key, char *err,
                     size_t err_len)
{
    crm_query query;
    parse_ok(&query, url, list_allowed);
    err[0] = '\0';
    int rc = crm_list_params_read(list, &query, sortable, filters_key, err, err_len);
    crm_query_clean(&query);
    return rc;
}

static void list_ok(crm_list_params *list, const char *url, const char *filters_key)
{
    char err[160];
    int rc = list_read(list, url, filters_key, err, sizeof(err));
    ck_assert_msg(rc == 0, "%s: %s", url, err);
}

static void list_fails(const char *url, const char *filters_key, const char *fragment)
{
    crm_list_params list;
    char err[160];
    int rc = list_read(&list, url, filters_key, err, sizeof(err));
    ck_assert_msg(rc == -1, "%s was accepted", url);
    ck_assert_msg(strstr(err, fragment) != NULL, "%s: message \"%s\" lacks \"%s\"", url, err,
                  fragment);
    ck_assert_ptr_null(list.after_value);
    crm_list_params_clean(&list);
}

static void sha256_hex(const char *text, char out[65])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const unsigned char *)text, strlen(text));
    sodium_bin2hex(out, 65, hash, sizeof(hash));
}

START_TEST(test_list_defaults)
{
    crm_list_params list;
    char digest[65];
    list_ok(&list, "/x", "status=");
    ck_assert_int_eq(list.limit, 20);
    ck_assert_str_eq(list.sort_field, "created_at");
    ck_assert_int_eq(list.descending, 1);
    ck_assert_ptr_null(list.after_value);
    ck_assert_str_eq(list.after_id, "");
    sha256_hex("status=", digest);
    ck_assert_str_eq(list.filters_key, digest);
    crm_list_params_clean(&list);
    ck_assert_ptr_null(list.after_value);
    crm_list_params_clean(&list);
    crm_list_params_clean(NULL);
}
END_TEST

START_TEST(test_limit)
{
    static const struct {
        const char *url;
        long limit;
    } good[] = {{"/x?limit=1", 1},
                {"/x?limit=100", 100},
                {"/x?limit=20", 20},
                {"/x?limit=57", 57},
                {"/x?limit=007", 7}};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        crm_list_params list;
        list_ok(&list, good[i].url, "");
        ck_assert_int_eq(list.limit, good[i].limit);
        crm_list_params_clean(&list);
    }
    static const char *const bad[] = {
        "/x?limit=0",
        "/x?limit=101",
        "/x?limit=5x",
        "/x?limit=-1",
        "/x?limit=",
        "/x?limit=+5",
        "/x?limit=%205",
        "/x?limit=5+",
        "/x?limit=1.5",
        "/x?limit=1e2",
        "/x?limit=0x10",
        "/x?limit=abc",
        "/x?limit=99999999999999999999999",
        "/x?limit=-0",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        list_fails(bad[i], "", "limit must be an integer from 1 to 100");
}
END_TEST

START_TEST(test_sort)
{
    static const struct {
        const char *url;
        const char *field;
        int descending;
    } good[] = {
        {"/x?sort=name", "name", 0},
        {"/x?sort=-name", "name", 1},
        {"/x?sort=created_at", "created_at", 0},
        {"/x?sort=-created_at", "created_at", 1},
        {"/x?sort=updated_at", "updated_at", 0},
        {"/x?sort=%2Dupdated_at", "updated_at", 1},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        crm_list_params list;
        list_ok(&list, good[i].url, "");
        ck_assert_str_eq(list.sort_field, good[i].field);
        ck_assert_int_eq(list.descending, good[i].descending);
        ck_assert_int_eq(list.limit, 20);
        crm_list_params_clean(&list);
    }
    static const char *const bad[] = {
        "/x?sort=bogus", "/x?sort=-bogus", "/x?sort=-",     "/x?sort=",        "/x?sort=--name",
        "/x?sort=+name", "/x?sort=Name",   "/x?sort=name-", "/x?sort=name,id", "/x?sort=id",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        list_fails(bad[i], "", "sort must be one of the sortable fields");
}
END_TEST

/* ---- cursors ---- */

/* The cursor after (value, id) for the list read from `url` with `filters_key`. */
static char *cursor_for(const char *url, const char *filters_key, json_t *value, const char *id)
{
    crm_list_params list;
    list_ok(&list, url, filters_key);
    char *cursor = crm_cursor_encode(&list, value, id);
    ck_assert_ptr_nonnull(cursor);
    crm_list_params_clean(&list);
    return cursor;
}

/* `base` + "cursor=" + `cursor`. */
static char *url_with_cursor(const char *base, const char *cursor)
{
    size_t len = strlen(base) + strlen(cursor) + 16;
    char *url = malloc(len);
    ck_assert_ptr_nonnull(url);
    snprintf(url, len, "%s%scursor=%s", base, strchr(base, '?') ? "&" : "?", cursor);
    return url;
}

START_TEST(test_cursor_round_trip)
{
    static const char *const bases[] = {"/x", "/x?sort=name", "/x?sort=-name&limit=5",
                                        "/x?sort=updated_at"};
    /* The longest names a row may carry: 200 control characters, which JSON escapes to 1200
     * bytes (a cursor the lists could not read back; found by tests/fuzz/list_query), and 200
     * four-byte characters. */
    char controls[201], emoji[801];
    memset(controls, 0x01, 200);
    controls[200] = '\0';
    for (size_t i = 0; i < 200; i++)
        memcpy(emoji + 4 * i, "\xf0\x9f\x98\x80", 4);
    emoji[800] = '\0';
    json_t *values[] = {json_string("Bob"),    json_integer(1795687200123LL),
                        json_string(""),       json_string("caf\xc3\xa9 \"quoted\" & more"),
                        json_string(controls), json_string(emoji)};
    for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
        for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
            char *cursor = cursor_for(bases[b], "status=open", values[v], ID1);
            /* Opaque but URL-safe: base64url without padding. */
            ck_assert_uint_gt(strlen(cursor), 0);
            ck_assert_uint_eq(strspn(cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                             "0123456789-_"),
                              strlen(cursor));
            char *url = url_with_cursor(bases[b], cursor);
            crm_list_params list;
            list_ok(&list, url, "status=open");
            ck_assert_ptr_nonnull(list.after_value);
            ck_assert_msg(json_equal(list.after_value, values[v]), "value %zu differs", v);
            ck_assert_str_eq(list.after_id, ID1);
            crm_list_params_clean(&list);
            ck_assert_ptr_null(list.after_value);
            free(url);
            free(cursor);
        }
    }
    for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++)
        json_decref(values[v]);
}
END_TEST

START_TEST(test_cursor_bound_to_sort)
{
    json_t *value = json_string("Bob");
    char *cursor = cursor_for("/x?sort=-name", "", value, ID1);
    static const char *const others[] = {"/x?sort=name", "/x", "/x?sort=-created_at",
                                         "/x?sort=updated_at"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        char *url = url_with_cursor(others[i], cursor);
        list_fails(url, "", "sort");
        free(url);
    }
    /* The limit is not part of the binding. */
    char *url = url_with_cursor("/x?sort=-name&limit=3", cursor);
    crm_list_params list;
    list_ok(&list, url, "");
    ck_assert_int_eq(list.limit, 3);
    crm_list_params_clean(&list);
    free(url);
    free(cursor);
    json_decref(value);
}
END_TEST

START_TEST(test_cursor_bound_to_filters)
{
    json_t *value = json_integer(1795687200000LL);
    char *cursor = cursor_for("/x", "status=open&q=", value, ID1);
    char *url = url_with_cursor("/x", cursor);
    list_fails(url, "status=closed&q=", "filters");
    list_fails(url, "", "filters");
    list_fails(url, "status=open&q=x", "filters");
    crm_list_params list;
    list_ok(&list, url, "status=open&q=");
    ck_assert_int_eq(json_integer_value(list.after_value), 1795687200000LL);
    crm_list_params_clean(&list);
    free(url);
    free(cursor);
    json_decref(value);
}
END_TEST

static char *b64url(const char *text)
{
    size_t len = strlen(text);
    size_t out_len = sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(out_len);
    ck_assert_ptr_nonnull(out);
    sodium_bin2base64(out, out_len, (const unsigned char *)text, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* A cursor whose JSON is `format` with the default sort's filters digest for "" as %s. */
static void hand_cursor_fails(const char *format)
{
    char digest[65], json[512];
    sha256_hex("", digest);
    snprintf(json, sizeof(json), format, digest);
    char *cursor = b64url(json);
    char *url = url_with_cursor("/x", cursor);
    list_fails(url, "", "the cursor is not valid");
    free(url);
    free(cursor);
}

START_TEST(test_cursor_hand_made_is_accepted)
{
    /* The control for the shapes below: a well-formed hand-made cursor passes. */
    char digest[65], json[512];
    sha256_hex("", digest);
    snprintf(json, sizeof(json), "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5,\"id\":\"" ID1 "\"}",
             digest);
    char *cursor = b64url(json);
    char *url = url_with_cursor("/x", cursor);
    crm_list_params list;
    list_ok(&list, url, "");
    ck_assert_int_eq(json_integer_value(list.after_value), 5);
    ck_assert_str_eq(list.after_id, ID1);
    crm_list_params_clean(&list);
    free(url);
    free(cursor);
}
END_TEST

START_TEST(test_cursor_wrong_shape)
{
    static const char *const shapes[] = {
        "[]",
        "{}",
        "null",
        "\"%s\"",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"id\":\"" ID1 "\"}",
        "{\"s\":\"-created_at\",\"v\":5,\"id\":\"" ID1 "\"}",
        "{\"f\":\"%s\",\"v\":5,\"id\":\"" ID1 "\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5,\"id\":\"" ID1 "\",\"x\":1}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5,\"id\":\"" ID1 "\",\"id\":\"" ID1 "\"}",
        "{\"s\":1,\"f\":\"%s\",\"v\":5,\"id\":\"" ID1 "\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5,\"id\":5}",
        /* values that are neither string nor integer */
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":null,\"id\":\"" ID1 "\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":{\"$gt\":\"\"},\"id\":\"" ID1 "\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":[1],\"id\":\"" ID1 "\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":true,\"id\":\"" ID1 "\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":1.5,\"id\":\"" ID1 "\"}",
        /* bad ids */
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5,\"id\":\"\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5,\"id\":\"65F1C0FFEE0000000000ABCD\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5,\"id\":\"65f1c0ffee0000000000abc\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5,\"id\":\"65f1c0ffee0000000000abcde\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5,\"id\":\"65f1c0ffee0000000000abcg\"}",
        "{\"s\":\"-created_at\",\"f\":\"%s\",\"v\":5,\"id\":{\"$ne\":null}}",
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        hand_cursor_fails(shapes[i]);
}
END_TEST

START_TEST(test_cursor_garbage)
{
    json_t *value = json_string("Bob");
    char *good = cursor_for("/x", "", value, ID1);
    json_decref(value);
    size_t len = strlen(good);

    static const char *const garbage[] = {
        "", "!!!", "abc", "not a cursor", "%2F%2F%2F%2F", "eyJzIjoiLWNyZWF0ZWRfYXQifQ=="};
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        char *url = url_with_cursor("/x", garbage[i]);
        list_fails(url, "", "the cursor is not valid");
        free(url);
    }

    /* Tampered: a character that breaks the JSON, a cut, an extra character, padding, the
     * standard alphabet. */
    char *tampered = strdup(good);
    tampered[0] = tampered[0] == 'A' ? 'B' : 'A'; /* the '{' no longer decodes */
    char *url = url_with_cursor("/x", tampered);
    list_fails(url, "", "the cursor is not valid");
    free(url);
    free(tampered);

    tampered = strndup(good, len - 3);
    url = url_with_cursor("/x", tampered);
    list_fails(url, "", "the cursor is not valid");
    free(url);
    free(tampered);

    tampered = malloc(len + 3);
    snprintf(tampered, len + 3, "%s==", good);
    url = url_with_cursor("/x", tampered);
    list_fails(url, "", "the cursor is not valid");
    free(url);
    free(tampered);

    tampered = malloc(len + 3);
    snprintf(tampered, len + 3, "%sQQ", good);
    url = url_with_cursor("/x", tampered);
    list_fails(url, "", "the cursor is not valid");
    free(url);
    free(tampered);

    /* Too long to be a cursor. */
    char *huge = malloc(4001);
    memset(huge, 'e', 4000);
    huge[4000] = '\0';
    url = url_with_cursor("/x", huge);
    list_fails(url, "", "the cursor is not valid");
    free(url);
    free(huge);

    /* Still the control. */
    url = url_with_cursor("/x", good);
    crm_list_params list;
    list_ok(&list, url, "");
    crm_list_params_clean(&list);
    free(url);
    free(good);
}
END_TEST

/* ---- ids ---- */

START_TEST(test_id_valid)
{
    ck_assert_int_eq(crm_id_valid(ID1), 1);
    ck_assert_int_eq(crm_id_valid("000000000000000000000000"), 1);
    ck_assert_int_eq(crm_id_valid("0123456789abcdef01234567"), 1);
    ck_assert_int_eq(crm_id_valid("ffffffffffffffffffffffff"), 1);
    static const char *const bad[] = {
        "",
        "65f1c0ffee0000000000abc",   /* 23 */
        "65f1c0ffee0000000000abcde", /* 25 */
        "65F1C0FFEE0000000000ABCD",  /* upper case */
        "65f1c0ffee0000000000abcg",
        "65f1c0ffee0000000000abc ",
        " 65f1c0ffee0000000000abc",
        "65f1c0ffee00000-0000abcd",
        "zzzzzzzzzzzzzzzzzzzzzzzz",
        "me",
        "none",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(crm_id_valid(bad[i]) == 0, "\"%s\" accepted", bad[i]);
}
END_TEST

/* ---- times ---- */

START_TEST(test_time_parse_valid)
{
    static const struct {
        const char *text;
        long long ms;
    } cases[] = {
        {"2026-11-26T10:00:00Z", 1795687200000LL},
        {"2026-11-26T10:00:00.000Z", 1795687200000LL},
        {"2026-11-26T10:00:00.123Z", 1795687200123LL},
        {"2026-11-26T10:00:00.1Z", 1795687200100LL},
        {"2026-11-26T10:00:00.12Z", 1795687200120LL},
        {"2026-11-26T10:00:00.999999Z", 1795687200999LL}, /* truncated to milliseconds */
        {"2026-11-26T10:00:00.123456789Z", 1795687200123LL},
        {"2026-11-26t10:00:00z", 1795687200000LL},
        {"2026-11-26T10:00:00+00:00", 1795687200000LL},
        {"2026-11-26T10:00:00-00:00", 1795687200000LL},
        {"2026-11-26T11:00:00+01:00", 1795687200000LL},
        {"2026-11-26T05:30:00-04:30", 1795687200000LL},
        {"2026-11-26T15:45:00.250+05:45", 1795687200250LL},
        {"2026-11-27T09:59:00+23:59", 1795687200000LL},
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T00:00:00.001Z", 1},
        {"1969-12-31T23:59:59Z", -1000},
        {"1969-12-31T23:59:59.500Z", -500},
        {"2024-02-29T23:59:59Z", 1709251199000LL}, /* a leap day */
        {"2000-02-29T00:00:00Z", 951782400000LL},  /* divisible by 400: a leap year */
        {"2000-03-01T00:00:00Z", 951868800000LL},
        {"2026-01-01T00:00:00Z", 1767225600000LL},
        {"2025-12-31T23:00:00-01:00", 1767225600000LL},
        {"2099-12-31T23:59:59Z", 4102444799000LL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long ms = -42;
        ck_assert_msg(crm_time_parse(cases[i].text, &ms) == 0, "%s refused", cases[i].text);
        ck_assert_msg(ms == cases[i].ms, "%s: %lld, want %lld", cases[i].text, ms, cases[i].ms);
    }
}
END_TEST

START_TEST(test_time_parse_invalid)
{
    static const char *const cases[] = {
        "",
        "2026",
        "2026-11-26",
        "2026-11-26T10:00Z",
        "2026-11-26T10:00:00",  /* no zone */
        "2026-11-26 10:00:00Z", /* space */
        "2026-11-26T10:00:00ZZ",
        "2026-11-26T10:00:00Z ",
        " 2026-11-26T10:00:00Z",
        "2026-11-26T10:00:00.Z", /* a dot without digits */
        "2026-11-26T10:00:00.12a3Z",
        "2026-11-26T10:00:00+0100",
        "2026-11-26T10:00:00+01",
        "2026-11-26T10:00:00+01:00:00",
        "2026-11-26T10:00:00+1:00",
        "2026-11-26T10:00:00+24:00",
        "2026-11-26T10:00:00+01:60",
        "2026-11-26T10:00:00UTC",
        "2026/11/26T10:00:00Z",
        "2026-11-26T10-00-00Z",
        "26-11-26T10:00:00Z",
        "+2026-11-26T10:00:00Z",
        "2026-1-26T10:00:00Z",
        "2026-11-26T1:00:00Z",
        "20261126T100000Z",
        "abcd-ef-ghTij:kl:mnZ",
        "1795687200000",
        /* ranges */
        "2026-00-26T10:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-00T10:00:00Z",
        "2026-11-31T10:00:00Z",
        "2026-04-31T10:00:00Z",
        "2026-01-32T10:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-02-29T00:00:00Z", /* 2026 is not a leap year */
        "2025-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", /* divisible by 100, not by 400 */
        "2026-11-26T24:00:00Z",
        "2026-11-26T10:60:00Z",
        "2026-11-26T10:00:61Z",
        "2026-11-26T99:99:99Z",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long ms = -42;
        ck_assert_msg(crm_time_parse(cases[i], &ms) == -1, "%s accepted as %lld", cases[i], ms);
    }
}
END_TEST

static Suite *query_suite(void)
{
    Suite *suite = suite_create("query");
    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, test_no_query);
    tcase_add_test(parse, test_empty_query);
    tcase_add_test(parse, test_values_are_read);
    tcase_add_test(parse, test_unknown_name);
    tcase_add_test(parse, test_duplicate_name);
    tcase_add_test(parse, test_percent_decoding);
    tcase_add_test(parse, test_bad_escapes);
    tcase_add_test(parse, test_invalid_utf8_via_escapes);
    tcase_add_test(parse, test_parameter_limit);
    suite_add_tcase(suite, parse);

    TCase *list = tcase_create("list");
    tcase_add_test(list, test_list_defaults);
    tcase_add_test(list, test_limit);
    tcase_add_test(list, test_sort);
    tcase_add_test(list, test_cursor_round_trip);
    tcase_add_test(list, test_cursor_bound_to_sort);
    tcase_add_test(list, test_cursor_bound_to_filters);
    tcase_add_test(list, test_cursor_hand_made_is_accepted);
    tcase_add_test(list, test_cursor_wrong_shape);
    tcase_add_test(list, test_cursor_garbage);
    suite_add_tcase(suite, list);

    TCase *values = tcase_create("values");
    tcase_add_test(values, test_id_valid);
    tcase_add_test(values, test_time_parse_valid);
    tcase_add_test(values, test_time_parse_invalid);
    suite_add_tcase(suite, values);
    return suite;
}

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    SRunner *runner = srunner_create(query_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
