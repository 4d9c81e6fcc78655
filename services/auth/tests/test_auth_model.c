/* Unit tests for the pure parts of the auth service: model.c (username rules, the validation
 * tables of register, login, refresh and PATCH, change detection, the public JSON form),
 * passwords.c (Argon2id at a small cost) and tokens.c (the signing key check at start, access
 * tokens that crm_jwt_verify accepts, refresh tokens and their digests). RSA keys are generated
 * at start and written as PEM files into a private temporary directory. */
#include "crm/jwt.h"
#include "model.h"
#include "passwords.h"
#include "tokens.h"

#include <check.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USER_ID "65f1c0ffee0000000000abcd"

/* Made once in main, before the runner forks. */
static char key_dir[64];
static char signing_key_file[128]; /* private */
static char signing_pub_file[128];
static char other_pub_file[128];
static char not_a_key_file[128];

/* ---- helpers ---- */

/* The errors of one validation as "field=code" pairs, checked against a NULL-terminated list
 * (any order, each once); the validator's count must equal the array's size. */
static void assert_errors(size_t bad, const json_t *errors, const char *const *expected)
{
    size_t want = 0;
    char *dump = json_dumps(errors, JSON_COMPACT);
    ck_assert_uint_eq(bad, json_array_size(errors));
    for (; expected[want]; want++) {
        size_t found = 0, i;
        json_t *entry;
        json_array_foreach(errors, i, entry)
        {
            char pair[128];
            snprintf(pair, sizeof(pair), "%s=%s",
                     json_string_value(json_object_get(entry, "field")),
                     json_string_value(json_object_get(entry, "code")));
            if (strcmp(pair, expected[want]) == 0)
                found++;
        }
        ck_assert_msg(found == 1, "%s found %zu times in %s", expected[want], found, dump);
    }
    ck_assert_msg(json_array_size(errors) == want, "%zu errors, want %zu: %s",
                  json_array_size(errors), want, dump);
    free(dump);
}

typedef size_t (*body_validator)(const json_t *body, json_t *errors);

/* Validates the JSON text `text` and expects exactly the `expected` errors. */
static void expect(body_validator validate, const char *text, const char *const *expected)
{
    json_error_t error;
    json_t *body = json_loads(text, JSON_REJECT_DUPLICATES, &error);
    ck_assert_msg(body != NULL, "test body %s: %s", text, error.text);
    json_t *errors = json_array();
    assert_errors(validate(body, errors), errors, expected);
    json_decref(errors);
    json_decref(body);
}

static void expect_one(body_validator validate, const char *text, const char *pair)
{
    const char *const expected[] = {pair, NULL};
    expect(validate, text, expected);
}

static void expect_none(body_validator validate, const char *text)
{
    const char *const expected[] = {NULL};
    expect(validate, text, expected);
}

/* `count` copies of `unit` into a new string. */
static char *repeat(const char *unit, size_t count)
{
    size_t len = strlen(unit);
    char *out = malloc(len * count + 1);
    ck_assert_ptr_nonnull(out);
    for (size_t i = 0; i < count; i++)
        memcpy(out + i * len, unit, len);
    out[len * count] = '\0';
    return out;
}

/* ---- username_normalize ---- */

START_TEST(test_username_normalize)
{
    static const struct {
        const char *raw;
        const char *normalized;
    } good[] = {
        {"alice", "alice"},
        {"Alice", "alice"},
        {"ALICE", "alice"},
        {"Al.Ice_9-X", "al.ice_9-x"},
        {"abc", "abc"},
        {"a.b", "a.b"},
        {"___", "___"},
        {"123", "123"},
        {"abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345"}, /* 32 */
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "abcdefghijklmnopqrstuvwxyz012345"},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char out[USERNAME_MAX + 1];
        memset(out, 'X', sizeof(out));
        ck_assert_msg(username_normalize(good[i].raw, out) == 0, "%s refused", good[i].raw);
        ck_assert_str_eq(out, good[i].normalized);
    }
    static const char *const bad[] = {
        "",
        "a",
        "ab",
        "AB",
        "abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
        "al ice",
        " alice",
        "alice ",
        "al@ice",
        "al/ice",
        "al+ice",
        "al:ice",
        "al\tice",
        "al\nice",
        "\xc3\xa9lan", /* é */
        "caf\xc3\xa9",
        "\xc3\x89LAN",
        "ali$ce",
        "al'ice",
        "al\"ice",
        "ali*",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char out[USERNAME_MAX + 1];
        ck_assert_msg(username_normalize(bad[i], out) == -1, "\"%s\" accepted", bad[i]);
    }
}
END_TEST

/* ---- register ---- */

START_TEST(test_register_valid)
{
    expect_none(register_body_validate, "{\"username\": \"alice\", \"password\": \"12345678\"}");
    expect_none(register_body_validate,
                "{\"username\": \"Alice.B\", \"password\": \"correct horse\","
                " \"email\": \"alice@example.com\"}");
    expect_none(register_body_validate,
                "{\"username\": \"alice\", \"password\": \"12345678\", \"email\": null}");
    static const char *const roles[] = {"admin", "agent", "viewer"};
    for (size_t i = 0; i < 3; i++) {
        char body[160];
        snprintf(body, sizeof(body),
                 "{\"username\": \"alice\", \"password\": \"12345678\", \"role\": \"%s\"}",
                 roles[i]);
        expect_none(register_body_validate, body);
    }
}
END_TEST

START_TEST(test_register_required)
{
    const char *const both[] = {"username=required", "password=required", NULL};
    expect(register_body_validate, "{}", both);
    expect(register_body_validate, "{\"username\": null, \"password\": null}", both);
    expect_one(register_body_validate, "{\"password\": \"12345678\"}", "username=required");
    expect_one(register_body_validate, "{\"username\": \"alice\"}", "password=required");
    /* Only white space is no password (API.md: a required string that is blank is invalid). */
    expect_one(register_body_validate, "{\"username\": \"alice\", \"password\": \"        \"}",
               "password=required");
    expect_one(register_body_validate, "{\"username\": \"alice\", \"password\": \"\"}",
               "password=required");
    /* Spaces inside a password are fine. */
    expect_none(register_body_validate, "{\"username\": \"alice\", \"password\": \" a b c d \"}");
}
END_TEST

START_TEST(test_register_username)
{
    expect_one(register_body_validate, "{\"username\": \"ab\", \"password\": \"12345678\"}",
               "username=length");
    expect_one(register_body_validate, "{\"username\": \"al ice\", \"password\": \"12345678\"}",
               "username=format");
    expect_one(register_body_validate,
               "{\"username\": \"abcdefghijklmnopqrstuvwxyz0123456\", \"password\": \"12345678\"}",
               "username=length");
    expect_one(register_body_validate, "{\"username\": \"\\u00e9lan\", \"password\": \"12345678\"}",
               "username=format");
    expect_one(register_body_validate, "{\"username\": \"   \", \"password\": \"12345678\"}",
               "username=required");
    /* Length counts characters: two é are too short, three are long enough but not a-z. */
    expect_one(register_body_validate,
               "{\"username\": \"\\u00e9\\u00e9\", \"password\": \"12345678\"}", "username=length");
    expect_one(register_body_validate,
               "{\"username\": \"\\u00e9\\u00e9\\u00e9\", \"password\": \"12345678\"}",
               "username=format");
    expect_none(register_body_validate, "{\"username\": \"ALICE\", \"password\": \"12345678\"}");
    expect_one(register_body_validate, "{\"username\": 42, \"password\": \"12345678\"}",
               "username=type");
    expect_one(register_body_validate,
               "{\"username\": {\"$gt\": \"\"}, \"password\": \"12345678\"}", "username=type");
    expect_one(register_body_validate, "{\"username\": [\"alice\"], \"password\": \"12345678\"}",
               "username=type");
}
END_TEST

START_TEST(test_register_password)
{
    char body[2048];
    char *p128 = repeat("p", 128), *p129 = repeat("p", 129);
    char *e7 = repeat("\xc3\xa9", 7), *e8 = repeat("\xc3\xa9", 8), *e128 = repeat("\xc3\xa9", 128);
    expect_one(register_body_validate, "{\"username\": \"alice\", \"password\": \"1234567\"}",
               "password=length");
    snprintf(body, sizeof(body), "{\"username\": \"alice\", \"password\": \"%s\"}", p128);
    expect_none(register_body_validate, body);
    snprintf(body, sizeof(body), "{\"username\": \"alice\", \"password\": \"%s\"}", p129);
    expect_one(register_body_validate, body, "password=length");
    /* Characters, not bytes: 7 é (14 bytes) are too short, 8 are enough, 128 (256 bytes) fit. */
    snprintf(body, sizeof(body), "{\"username\": \"alice\", \"password\": \"%s\"}", e7);
    expect_one(register_body_validate, body, "password=length");
    snprintf(body, sizeof(body), "{\"username\": \"alice\", \"password\": \"%s\"}", e8);
    expect_none(register_body_validate, body);
    snprintf(body, sizeof(body), "{\"username\": \"alice\", \"password\": \"%s\"}", e128);
    expect_none(register_body_validate, body);
    expect_one(register_body_validate, "{\"username\": \"alice\", \"password\": 12345678}",
               "password=type");
    expect_one(register_body_validate, "{\"username\": \"alice\", \"password\": true}",
               "password=type");
    free(p128);
    free(p129);
    free(e7);
    free(e8);
    free(e128);
}
END_TEST

START_TEST(test_register_email_role_unknown)
{
    char body[512];
    expect_one(register_body_validate,
               "{\"username\": \"alice\", \"password\": \"12345678\", \"email\": \"nope\"}",
               "email=format");
    expect_one(register_body_validate,
               "{\"username\": \"alice\", \"password\": \"12345678\", \"email\": \"\"}",
               "email=format");
    expect_one(register_body_validate,
               "{\"username\": \"alice\", \"password\": \"12345678\", \"email\": 1}", "email=type");
    /* 255 characters: too long even though it looks like an address. */
    char *local = repeat("a", 64), *label = repeat("b", 63), *last = repeat("c", 62);
    char address[300];
    snprintf(address, sizeof(address), "%s@%s.%s.%s", local, label, label, last);
    ck_assert_uint_eq(strlen(address), 255);
    snprintf(body, sizeof(body),
             "{\"username\": \"alice\", \"password\": \"12345678\", \"email\": \"%s\"}", address);
    expect_one(register_body_validate, body, "email=length");
    address[254] = '\0'; /* 254 characters: fine */
    snprintf(body, sizeof(body),
             "{\"username\": \"alice\", \"password\": \"12345678\", \"email\": \"%s\"}", address);
    expect_none(register_body_validate, body);
    free(local);
    free(label);
    free(last);

    expect_one(register_body_validate,
               "{\"username\": \"alice\", \"password\": \"12345678\", \"role\": \"superuser\"}",
               "role=enum");
    expect_one(register_body_validate,
               "{\"username\": \"alice\", \"password\": \"12345678\", \"role\": \"Admin\"}",
               "role=enum");
    expect_one(register_body_validate,
               "{\"username\": \"alice\", \"password\": \"12345678\", \"role\": null}",
               "role=type");
    expect_one(register_body_validate,
               "{\"username\": \"alice\", \"password\": \"12345678\", \"role\": [\"admin\"]}",
               "role=type");

    static const char *const read_only[] = {"id", "disabled", "version", "created_at",
                                            "updated_at"};
    for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
        char pair[64];
        snprintf(body, sizeof(body),
                 "{\"username\": \"alice\", \"password\": \"12345678\", \"%s\": \"x\"}",
                 read_only[i]);
        snprintf(pair, sizeof(pair), "%s=read_only", read_only[i]);
        expect_one(register_body_validate, body, pair);
    }
    static const char *const unknown[] = {"password_hash", "_id", "Username", "email_verified"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        char pair[64];
        snprintf(body, sizeof(body),
                 "{\"username\": \"alice\", \"password\": \"12345678\", \"%s\": \"x\"}",
                 unknown[i]);
        snprintf(pair, sizeof(pair), "%s=unknown", unknown[i]);
        expect_one(register_body_validate, body, pair);
    }

    /* Every field bad at once: one error each. */
    const char *const all[] = {"username=length", "password=length", "email=format",
                               "role=enum",       "extra=unknown",   NULL};
    expect(register_body_validate,
           "{\"username\": \"x\", \"password\": \"short\", \"email\": \"a@b\", \"role\": \"root\","
           " \"extra\": 1}",
           all);
}
END_TEST

/* ---- login and refresh ---- */

START_TEST(test_login_body)
{
    char body[2400];
    expect_none(login_body_validate, "{\"username\": \"alice\", \"password\": \"x\"}");
    /* Any string: a name that could never register just fails to log in. */
    expect_none(login_body_validate, "{\"username\": \"Al Ice!\", \"password\": \"x\"}");
    const char *const both[] = {"username=required", "password=required", NULL};
    expect(login_body_validate, "{}", both);
    expect(login_body_validate, "{\"username\": null, \"password\": null}", both);
    expect(login_body_validate, "{\"username\": \"\", \"password\": \"\"}", both);
    expect(login_body_validate, "{\"username\": \"  \", \"password\": \" \"}", both);
    expect_one(login_body_validate, "{\"username\": 1, \"password\": \"x\"}", "username=type");
    expect_one(login_body_validate, "{\"username\": \"alice\", \"password\": {\"$ne\": null}}",
               "password=type");
    char *u256 = repeat("u", 256), *u257 = repeat("u", 257);
    char *p1024 = repeat("p", 1024), *p1025 = repeat("p", 1025);
    snprintf(body, sizeof(body), "{\"username\": \"%s\", \"password\": \"%s\"}", u256, p1024);
    expect_none(login_body_validate, body);
    snprintf(body, sizeof(body), "{\"username\": \"%s\", \"password\": \"x\"}", u257);
    expect_one(login_body_validate, body, "username=length");
    snprintf(body, sizeof(body), "{\"username\": \"alice\", \"password\": \"%s\"}", p1025);
    expect_one(login_body_validate, body, "password=length");
    expect_one(login_body_validate,
               "{\"username\": \"alice\", \"password\": \"x\", \"remember_me\": true}",
               "remember_me=unknown");
    expect_one(login_body_validate,
               "{\"username\": \"alice\", \"password\": \"x\", \"role\": \"admin\"}",
               "role=unknown");
    free(u256);
    free(u257);
    free(p1024);
    free(p1025);
}
END_TEST

START_TEST(test_refresh_body)
{
    char body[400];
    expect_none(refresh_body_validate,
                "{\"refresh_token\": \"AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde\"}");
    expect_one(refresh_body_validate, "{}", "refresh_token=required");
    expect_one(refresh_body_validate, "{\"refresh_token\": null}", "refresh_token=required");
    expect_one(refresh_body_validate, "{\"refresh_token\": \"\"}", "refresh_token=required");
    expect_one(refresh_body_validate, "{\"refresh_token\": \"   \"}", "refresh_token=required");
    expect_one(refresh_body_validate, "{\"refresh_token\": 5}", "refresh_token=type");
    expect_one(refresh_body_validate, "{\"refresh_token\": {\"$gt\": \"\"}}", "refresh_token=type");
    char *t256 = repeat("t", 256), *t257 = repeat("t", 257);
    snprintf(body, sizeof(body), "{\"refresh_token\": \"%s\"}", t256);
    expect_none(refresh_body_validate, body);
    snprintf(body, sizeof(body), "{\"refresh_token\": \"%s\"}", t257);
    expect_one(refresh_body_validate, body, "refresh_token=length");
    free(t256);
    free(t257);
    const char *const two[] = {"refresh_token=required", "access_token=unknown", NULL};
    expect(refresh_body_validate, "{\"access_token\": \"x\"}", two);
}
END_TEST

/* ---- PATCH /api/users/:id ---- */

/* user_patch_read on `text`; returns the count and fills `patch` and `errors`. */
static size_t patch_read(const char *text, user_patch *patch, json_t *errors)
{
    json_t *body = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    ck_assert_ptr_nonnull(body);
    memset(patch, 0x5a, sizeof(*patch)); /* garbage: user_patch_read must clear it */
    size_t bad = user_patch_read(body, patch, errors);
    json_decref(body);
    return bad;
}

static void patch_fails(const char *text, const char *pair)
{
    user_patch patch;
    json_t *errors = json_array();
    size_t bad = patch_read(text, &patch, errors);
    const char *const expected[] = {pair, NULL};
    assert_errors(bad, errors, expected);
    ck_assert_int_eq(patch.has_role, 0);
    ck_assert_int_eq(patch.has_disabled, 0);
    ck_assert_int_eq(patch.has_email, 0);
    ck_assert_ptr_null(patch.email);
    user_patch_clean(&patch);
    json_decref(errors);
}

START_TEST(test_user_patch_read_fields)
{
    user_patch patch;
    json_t *errors = json_array();

    ck_assert_uint_eq(patch_read("{}", &patch, errors), 0);
    ck_assert_int_eq(patch.has_role + patch.has_disabled + patch.has_email, 0);
    ck_assert_ptr_null(patch.email);
    user_patch_clean(&patch);

    ck_assert_uint_eq(patch_read("{\"role\": \"viewer\"}", &patch, errors), 0);
    ck_assert_int_eq(patch.has_role, 1);
    ck_assert_str_eq(patch.role, "viewer");
    ck_assert_int_eq(patch.has_disabled + patch.has_email, 0);
    user_patch_clean(&patch);

    ck_assert_uint_eq(patch_read("{\"disabled\": true}", &patch, errors), 0);
    ck_assert_int_eq(patch.has_disabled, 1);
    ck_assert_int_eq(patch.disabled, 1);
    user_patch_clean(&patch);

    ck_assert_uint_eq(patch_read("{\"disabled\": false}", &patch, errors), 0);
    ck_assert_int_eq(patch.has_disabled, 1);
    ck_assert_int_eq(patch.disabled, 0);
    user_patch_clean(&patch);

    ck_assert_uint_eq(patch_read("{\"email\": \"a@example.com\"}", &patch, errors), 0);
    ck_assert_int_eq(patch.has_email, 1);
    ck_assert_str_eq(patch.email, "a@example.com");
    user_patch_clean(&patch);
    ck_assert_ptr_null(patch.email);

    /* null clears the email. */
    ck_assert_uint_eq(patch_read("{\"email\": null}", &patch, errors), 0);
    ck_assert_int_eq(patch.has_email, 1);
    ck_assert_ptr_null(patch.email);
    user_patch_clean(&patch);

    ck_assert_uint_eq(
        patch_read("{\"role\": \"admin\", \"disabled\": true, \"email\": \"b@example.org\"}",
                   &patch, errors),
        0);
    ck_assert_int_eq(patch.has_role + patch.has_disabled + patch.has_email, 3);
    ck_assert_str_eq(patch.role, "admin");
    ck_assert_int_eq(patch.disabled, 1);
    ck_assert_str_eq(patch.email, "b@example.org");
    user_patch_clean(&patch);

    ck_assert_uint_eq(json_array_size(errors), 0);
    json_decref(errors);
    user_patch_clean(NULL);
    user_clean(NULL);
}
END_TEST

START_TEST(test_user_patch_read_errors)
{
    patch_fails("{\"id\": \"" USER_ID "\"}", "id=read_only");
    patch_fails("{\"username\": \"bob\"}", "username=read_only");
    patch_fails("{\"created_at\": \"2026-11-26T10:00:00.000Z\"}", "created_at=read_only");
    patch_fails("{\"updated_at\": \"2026-11-26T10:00:00.000Z\"}", "updated_at=read_only");
    patch_fails("{\"version\": 7}", "version=read_only");
    patch_fails("{\"version\": null}", "version=read_only");
    patch_fails("{\"password\": \"12345678\"}", "password=unknown");
    patch_fails("{\"password_hash\": \"x\"}", "password_hash=unknown");
    patch_fails("{\"_id\": \"x\"}", "_id=unknown");
    patch_fails("{\"role\": \"root\"}", "role=enum");
    patch_fails("{\"role\": null}", "role=type");
    patch_fails("{\"role\": {\"$ne\": \"admin\"}}", "role=type");
    patch_fails("{\"disabled\": \"yes\"}", "disabled=type");
    patch_fails("{\"disabled\": 1}", "disabled=type");
    patch_fails("{\"disabled\": null}", "disabled=type");
    patch_fails("{\"email\": \"x\"}", "email=format");
    patch_fails("{\"email\": 3}", "email=type");

    /* One bad field spoils the whole patch: nothing is filled. */
    user_patch patch;
    json_t *errors = json_array();
    size_t bad = patch_read("{\"role\": \"admin\", \"email\": \"c@example.com\", \"version\": 2,"
                            " \"disabled\": \"no\"}",
                            &patch, errors);
    const char *const expected[] = {"version=read_only", "disabled=type", NULL};
    assert_errors(bad, errors, expected);
    ck_assert_int_eq(patch.has_role + patch.has_disabled + patch.has_email, 0);
    ck_assert_ptr_null(patch.email);
    user_patch_clean(&patch);
    json_decref(errors);
}
END_TEST

static user user_sample(void)
{
    user u;
    memset(&u, 0, sizeof(u));
    snprintf(u.id, sizeof(u.id), "%s", USER_ID);
    snprintf(u.username, sizeof(u.username), "alice");
    snprintf(u.role, sizeof(u.role), "agent");
    u.email = strdup("alice@example.com");
    u.password_hash = strdup("$argon2id$v=19$m=8192,t=1,p=1$secret-salt$secret-hash");
    u.created_at = 1795687200123LL;
    u.updated_at = 1795687260000LL;
    u.version = 2;
    return u;
}

START_TEST(test_user_patch_apply)
{
    user u = user_sample();
    user_patch patch;

    /* Nothing set: nothing changes. */
    memset(&patch, 0, sizeof(patch));
    ck_assert_int_eq(user_patch_apply(&u, &patch), 0);

    /* The same values: no change. */
    patch.has_role = 1;
    snprintf(patch.role, sizeof(patch.role), "agent");
    patch.has_disabled = 1;
    patch.disabled = 0;
    patch.has_email = 1;
    patch.email = strdup("alice@example.com");
    ck_assert_int_eq(user_patch_apply(&u, &patch), 0);
    ck_assert_str_eq(u.role, "agent");
    ck_assert_str_eq(u.email, "alice@example.com");
    user_patch_clean(&patch);

    /* Each field alone. */
    memset(&patch, 0, sizeof(patch));
    patch.has_role = 1;
    snprintf(patch.role, sizeof(patch.role), "viewer");
    ck_assert_int_eq(user_patch_apply(&u, &patch), 1);
    ck_assert_str_eq(u.role, "viewer");
    ck_assert_int_eq(user_patch_apply(&u, &patch), 0); /* applied twice: the second is a no-op */

    memset(&patch, 0, sizeof(patch));
    patch.has_disabled = 1;
    patch.disabled = 1;
    ck_assert_int_eq(user_patch_apply(&u, &patch), 1);
    ck_assert_int_eq(u.disabled, 1);
    ck_assert_int_eq(user_patch_apply(&u, &patch), 0);

    memset(&patch, 0, sizeof(patch));
    patch.has_email = 1;
    patch.email = strdup("new@example.com");
    ck_assert_int_eq(user_patch_apply(&u, &patch), 1);
    ck_assert_str_eq(u.email, "new@example.com");
    ck_assert_ptr_ne(u.email, patch.email); /* a copy: the patch still owns its own */
    ck_assert_int_eq(user_patch_apply(&u, &patch), 0);
    user_patch_clean(&patch);

    /* null clears; clearing again changes nothing; then set from nothing. */
    memset(&patch, 0, sizeof(patch));
    patch.has_email = 1;
    ck_assert_int_eq(user_patch_apply(&u, &patch), 1);
    ck_assert_ptr_null(u.email);
    ck_assert_int_eq(user_patch_apply(&u, &patch), 0);
    patch.email = strdup("back@example.com");
    ck_assert_int_eq(user_patch_apply(&u, &patch), 1);
    ck_assert_str_eq(u.email, "back@example.com");
    user_patch_clean(&patch);

    /* Identity fields are never touched. */
    ck_assert_str_eq(u.id, USER_ID);
    ck_assert_str_eq(u.username, "alice");
    ck_assert_int_eq(u.version, 2);
    user_clean(&u);
    ck_assert_ptr_null(u.email);
    ck_assert_ptr_null(u.password_hash);
}
END_TEST

START_TEST(test_user_to_json)
{
    user u = user_sample();
    json_t *json = user_to_json(&u);
    ck_assert_ptr_nonnull(json);
    json_t *want = json_loads("{\"id\": \"" USER_ID "\", \"username\": \"alice\","
                              " \"email\": \"alice@example.com\", \"role\": \"agent\","
                              " \"disabled\": false, \"created_at\": \"2026-11-26T10:00:00.123Z\","
                              " \"updated_at\": \"2026-11-26T10:01:00.000Z\", \"version\": 2}",
                              0, NULL);
    char *text = json_dumps(json, JSON_COMPACT);
    ck_assert_msg(json_equal(json, want), "got %s", text);
    ck_assert_ptr_null(strstr(text, "password"));
    ck_assert_ptr_null(strstr(text, "secret"));
    ck_assert_ptr_null(strstr(text, "_id"));
    free(text);
    json_decref(json);
    json_decref(want);

    /* No email: null, still present; disabled true. */
    free(u.email);
    u.email = NULL;
    u.disabled = 1;
    u.created_at = 0;
    u.updated_at = 1709251199999LL;
    u.version = 1;
    json = user_to_json(&u);
    want = json_loads("{\"id\": \"" USER_ID "\", \"username\": \"alice\", \"email\": null,"
                      " \"role\": \"agent\", \"disabled\": true,"
                      " \"created_at\": \"1970-01-01T00:00:00.000Z\","
                      " \"updated_at\": \"2024-02-29T23:59:59.999Z\", \"version\": 1}",
                      0, NULL);
    text = json_dumps(json, JSON_COMPACT);
    ck_assert_msg(json_equal(json, want), "got %s", text);
    ck_assert_uint_eq(json_object_size(json), 8);
    ck_assert(json_is_null(json_object_get(json, "email")));
    free(text);
    json_decref(json);
    json_decref(want);
    user_clean(&u);
}
END_TEST

/* ---- passwords ---- */

START_TEST(test_password_hash_and_verify)
{
    char hash[PASSWORD_HASH_MAX], other[PASSWORD_HASH_MAX];
    ck_assert_int_eq(passwords_init(8192, 1, 1), 0);
    ck_assert_int_eq(password_hash("correct horse battery", hash), 0);
    ck_assert_int_eq(strncmp(hash, "$argon2id$v=19$m=8192,t=1,p=1$", 30), 0);
    ck_assert_ptr_null(strstr(hash, "correct"));
    ck_assert_int_eq(password_verify(hash, "correct horse battery"), 1);
    ck_assert_int_eq(password_verify(hash, "correct horse batterY"), 0);
    ck_assert_int_eq(password_verify(hash, "correct horse battery "), 0);
    ck_assert_int_eq(password_verify(hash, ""), 0);
    ck_assert_int_eq(password_verify(NULL, "correct horse battery"), 0);
    ck_assert_int_eq(password_verify(NULL, "not a password: the cost of checking an unknown user"),
                     0);
    ck_assert_int_eq(password_verify("not a hash", "correct horse battery"), 0);

    /* Salted: the same password hashes differently, and both verify. */
    ck_assert_int_eq(password_hash("correct horse battery", other), 0);
    ck_assert_str_ne(hash, other);
    ck_assert_int_eq(password_verify(other, "correct horse battery"), 1);

    /* Multi-byte passwords. */
    ck_assert_int_eq(password_hash("p\xc3\xa4ssw\xc3\xb6rd", other), 0);
    ck_assert_int_eq(password_verify(other, "p\xc3\xa4ssw\xc3\xb6rd"), 1);
    ck_assert_int_eq(password_verify(other, "passwort"), 0);
    passwords_clean();
    passwords_clean(); /* twice is harmless */
}
END_TEST

START_TEST(test_password_needs_rehash)
{
    char hash[PASSWORD_HASH_MAX], newer[PASSWORD_HASH_MAX];
    ck_assert_int_eq(passwords_init(8192, 1, 1), 0);
    ck_assert_int_eq(password_hash("correct horse battery", hash), 0);
    ck_assert_int_eq(password_needs_rehash(hash), 0);
    passwords_clean();

    /* Other parameters: the old hash should be rehashed, but still verifies. */
    ck_assert_int_eq(passwords_init(16384, 2, 1), 0);
    ck_assert_int_eq(password_needs_rehash(hash), 1);
    ck_assert_int_eq(password_verify(hash, "correct horse battery"), 1);
    ck_assert_int_eq(password_hash("correct horse battery", newer), 0);
    ck_assert_int_eq(strncmp(newer, "$argon2id$v=19$m=16384,t=2,p=1$", 31), 0);
    ck_assert_int_eq(password_needs_rehash(newer), 0);
    passwords_clean();

    /* Only the number of passes differs. */
    ck_assert_int_eq(passwords_init(8192, 2, 1), 0);
    ck_assert_int_eq(password_needs_rehash(hash), 1);
    passwords_clean();
}
END_TEST

/* ---- tokens ---- */

/* A keyring of the comma-separated PEM files `files`. */
static void ring_load(crm_jwt_keyring *ring, const char *files)
{
    char err[256];
    memset(ring, 0, sizeof(*ring));
    ck_assert_msg(crm_jwt_keyring_load(ring, files, err, sizeof(err)) == 0, "%s", err);
}

START_TEST(test_tokens_init_needs_public_half)
{
    crm_jwt_keyring other, empty;
    char err[256] = "";
    ring_load(&other, other_pub_file);
    memset(&empty, 0, sizeof(empty));

    ck_assert_int_eq(tokens_init(signing_key_file, &other, 900, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "CRM_JWT_PUBLIC_KEY_FILES") != NULL, "%s", err);
    tokens_clean();

    err[0] = '\0';
    ck_assert_int_eq(tokens_init(signing_key_file, &empty, 900, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "CRM_JWT_PUBLIC_KEY_FILES") != NULL, "%s", err);

    /* A failed start followed by a good one (the same process) works and leaks nothing. */
    crm_jwt_keyring good;
    ring_load(&good, signing_pub_file);
    ck_assert_int_eq(tokens_init(signing_key_file, &good, 900, err, sizeof(err)), 0);
    tokens_clean();
    tokens_clean(); /* twice is harmless */
    crm_jwt_keyring_clean(&good);
    crm_jwt_keyring_clean(&other);
}
END_TEST

START_TEST(test_tokens_init_bad_private_key)
{
    crm_jwt_keyring good;
    char err[256] = "", missing[160];
    ring_load(&good, signing_pub_file);
    snprintf(missing, sizeof(missing), "%s/missing.pem", key_dir);
    ck_assert_int_eq(tokens_init(missing, &good, 900, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "CRM_JWT_PRIVATE_KEY_FILE") != NULL, "%s", err);
    ck_assert_int_eq(tokens_init(not_a_key_file, &good, 900, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, "CRM_JWT_PRIVATE_KEY_FILE") != NULL, "%s", err);
    tokens_clean();
    crm_jwt_keyring_clean(&good);
}
END_TEST

START_TEST(test_tokens_init_with_rotation)
{
    /* The keyring may hold more keys (a rotation), as long as ours is among them. */
    crm_jwt_keyring both;
    char err[256] = "", files[300];
    snprintf(files, sizeof(files), "%s,%s", other_pub_file, signing_pub_file);
    ring_load(&both, files);
    ck_assert_uint_eq(both.count, 2);
    ck_assert_msg(tokens_init(signing_key_file, &both, 900, err, sizeof(err)) == 0, "%s", err);
    tokens_clean();
    crm_jwt_keyring_clean(&both);
}
END_TEST

START_TEST(test_access_token_issue)
{
    crm_jwt_keyring good, other;
    crm_principal principal;
    char err[256] = "";
    ring_load(&good, signing_pub_file);
    ring_load(&other, other_pub_file);
    ck_assert_msg(tokens_init(signing_key_file, &good, 600, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(access_token_ttl(), 600);

    user u = user_sample();
    snprintf(u.role, sizeof(u.role), "viewer");
    time_t before = time(NULL);
    char *token = access_token_issue(&u);
    time_t after = time(NULL);
    ck_assert_ptr_nonnull(token);
    ck_assert_ptr_null(strstr(token, "secret"));

    ck_assert_int_eq(crm_jwt_verify(&good, token, time(NULL), &principal), CRM_JWT_OK);
    ck_assert_str_eq(principal.sub, USER_ID);
    ck_assert_str_eq(principal.username, "alice");
    ck_assert_str_eq(principal.role, "viewer");
    ck_assert_int_eq(principal.exp - principal.iat, 600);
    ck_assert_int_ge(principal.iat, (long long)before);
    ck_assert_int_le(principal.iat, (long long)after);
    ck_assert_uint_eq(strlen(principal.jti), 36);

    /* Expired once the ttl (plus the leeway) has passed; unknown to another keyring. */
    ck_assert_int_eq(crm_jwt_verify(&good, token, (time_t)principal.exp + 31, &principal),
                     CRM_JWT_EXPIRED);
    ck_assert_int_eq(crm_jwt_verify(&other, token, time(NULL), &principal), CRM_JWT_UNKNOWN_KID);

    /* Every token has its own jti. */
    char *second = access_token_issue(&u);
    crm_principal again;
    ck_assert_int_eq(crm_jwt_verify(&good, token, time(NULL), &principal), CRM_JWT_OK);
    ck_assert_int_eq(crm_jwt_verify(&good, second, time(NULL), &again), CRM_JWT_OK);
    ck_assert_str_ne(principal.jti, again.jti);

    free(token);
    free(second);
    user_clean(&u);
    tokens_clean();
    crm_jwt_keyring_clean(&good);
    crm_jwt_keyring_clean(&other);
}
END_TEST

START_TEST(test_refresh_tokens)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    enum { COUNT = 64 };
    char tokens[COUNT][REFRESH_TOKEN_LEN];
    for (int i = 0; i < COUNT; i++) {
        char digest[REFRESH_DIGEST_LEN], again[REFRESH_DIGEST_LEN];
        refresh_token_new(tokens[i], digest);
        ck_assert_uint_eq(strlen(tokens[i]), 43);
        ck_assert_uint_eq(strspn(tokens[i], alphabet), 43);
        ck_assert_uint_eq(strlen(digest), 64);
        ck_assert_uint_eq(strspn(digest, "0123456789abcdef"), 64);
        refresh_token_digest(tokens[i], again);
        ck_assert_str_eq(digest, again);
        ck_assert_str_ne(digest, tokens[i]);
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(tokens[i], tokens[j]);
    }
    /* The digest is SHA-256 in lowercase hex. */
    char digest[REFRESH_DIGEST_LEN];
    refresh_token_digest("abc", digest);
    ck_assert_str_eq(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    refresh_token_digest("", digest);
    ck_assert_str_eq(digest, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

static Suite *auth_model_suite(void)
{
    Suite *suite = suite_create("auth_model");
    TCase *model = tcase_create("model");
    tcase_add_test(model, test_username_normalize);
    tcase_add_test(model, test_register_valid);
    tcase_add_test(model, test_register_required);
    tcase_add_test(model, test_register_username);
    tcase_add_test(model, test_register_password);
    tcase_add_test(model, test_register_email_role_unknown);
    tcase_add_test(model, test_login_body);
    tcase_add_test(model, test_refresh_body);
    tcase_add_test(model, test_user_patch_read_fields);
    tcase_add_test(model, test_user_patch_read_errors);
    tcase_add_test(model, test_user_patch_apply);
    tcase_add_test(model, test_user_to_json);
    suite_add_tcase(suite, model);

    TCase *passwords = tcase_create("passwords");
    tcase_set_timeout(passwords, 60);
    tcase_add_test(passwords, test_password_hash_and_verify);
    tcase_add_test(passwords, test_password_needs_rehash);
    suite_add_tcase(suite, passwords);

    TCase *tokens = tcase_create("tokens");
    tcase_add_test(tokens, test_tokens_init_needs_public_half);
    tcase_add_test(tokens, test_tokens_init_bad_private_key);
    tcase_add_test(tokens, test_tokens_init_with_rotation);
    tcase_add_test(tokens, test_access_token_issue);
    tcase_add_test(tokens, test_refresh_tokens);
    suite_add_tcase(suite, tokens);
    return suite;
}

/* Writes `text` to `path`; returns 0 or -1. */
static int file_write(const char *path, const char *text)
{
    FILE *file = fopen(path, "wb");
    if (!file)
        return -1;
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, file) == len;
    return fclose(file) == 0 && ok ? 0 : -1;
}

/* Writes a fresh RSA key pair as PEM: the private half to `priv_path` (unless NULL), the public
 * half to `pub_path`. Returns 0 or -1. */
static int key_pair_write(const char *priv_path, const char *pub_path)
{
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    char *data = NULL, *text = NULL;
    int rc = -1;
    if (!pkey || !priv || !pub ||
        PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_PUBKEY(pub, pkey) != 1)
        goto done;
    long len = BIO_get_mem_data(priv, &data);
    text = strndup(data, (size_t)len);
    if (!text || (priv_path && file_write(priv_path, text) != 0))
        goto done;
    free(text);
    len = BIO_get_mem_data(pub, &data);
    text = strndup(data, (size_t)len);
    if (!text || file_write(pub_path, text) != 0)
        goto done;
    rc = 0;
done:
    free(text);
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(pkey);
    return rc;
}

int main(void)
{
    snprintf(key_dir, sizeof(key_dir), "/tmp/crm-test-auth-XXXXXX");
    if (!mkdtemp(key_dir))
        return EXIT_FAILURE;
    snprintf(signing_key_file, sizeof(signing_key_file), "%s/jwt.pem", key_dir);
    snprintf(signing_pub_file, sizeof(signing_pub_file), "%s/jwt.pub", key_dir);
    snprintf(other_pub_file, sizeof(other_pub_file), "%s/other.pub", key_dir);
    snprintf(not_a_key_file, sizeof(not_a_key_file), "%s/not-a-key.pem", key_dir);
    int ready = key_pair_write(signing_key_file, signing_pub_file) == 0 &&
                key_pair_write(NULL, other_pub_file) == 0 &&
                /* a PEM header around garbage; split so secret scanners do not see a key */
                file_write(not_a_key_file, "-----BEGIN PRIVATE"
                                           " KEY-----\nnope\n") == 0;

    int failed = 1;
    if (ready) {
        SRunner *runner = srunner_create(auth_model_suite());
        srunner_run_all(runner, CK_NORMAL);
        failed = srunner_ntests_failed(runner);
        srunner_free(runner);
    } else {
        fprintf(stderr, "cannot write the test keys into %s\n", key_dir);
    }
    unlink(signing_key_file);
    unlink(signing_pub_file);
    unlink(other_pub_file);
    unlink(not_a_key_file);
    rmdir(key_dir);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
