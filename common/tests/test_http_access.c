/* Unit tests for the access levels of common/src/http.c (crm_access, crm_http_server_set_keyring,
 * crm_http_principal) and its conditional-request helpers (crm_http_set_etag,
 * crm_http_if_match_or_reply, crm_http_if_match_version, crm_http_not_modified). A real
 * crm_http_server on a free loopback port, driven with libcurl; tokens are signed with libjwt as
 * the auth service signs them, with RSA keys generated at start. Every handler counts its calls,
 * so a test can prove that a refused request never reached it. */
#include "crm/config.h"
#include "crm/http.h"
#include "crm/jwt.h"
#include "crm/log.h"

#include "http_test_support.h"

#include <check.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ulfius.h>
#include <unistd.h>

#define USER_ID "65f1c0ffee0000000000abcd"

/* Made once in main, before the runner forks. */
static char *signing_priv; /* in the server's keyring */
static char *signing_pub;
static char signing_kid[64];
static char *foreign_priv; /* not in the keyring */
static char foreign_kid[64];

static crm_settings settings;
static crm_jwt_keyring keyring;
static crm_http_server *server;
static long port;
static FILE *log_sink;
static atomic_int calls;

/* ---- test routes ---- */

/* Answers who the caller is: {"principal": null | {sub, username, role}, "thread": tid}. */
static int handle_whoami(const struct _u_request *request, struct _u_response *response,
                         void *user_data)
{
    (void)request;
    (void)user_data;
    atomic_fetch_add(&calls, 1);
    const crm_principal *principal = crm_http_principal();
    json_t *who = principal ? json_pack("{s:s, s:s, s:s}", "sub", principal->sub, "username",
                                        principal->username, "role", principal->role)
                            : json_null();
    json_t *body = json_pack("{s:o, s:I}", "principal", who, "thread", (json_int_t)gettid());
    crm_http_send_json(response, 200, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

/* The resource behind the conditional helpers is at version 3. */
#define VERSION 3

static int handle_etag(const struct _u_request *request, struct _u_response *response,
                       void *user_data)
{
    (void)request;
    (void)user_data;
    json_t *body = json_pack("{s:i}", "version", VERSION);
    crm_http_set_etag(response, VERSION);
    crm_http_send_json(response, 200, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

static int handle_if_match(const struct _u_request *request, struct _u_response *response,
                           void *user_data)
{
    (void)user_data;
    atomic_fetch_add(&calls, 1);
    if (crm_http_if_match_or_reply(request, response, VERSION) != 0)
        return U_CALLBACK_COMPLETE;
    json_t *body = json_pack("{s:b}", "written", 1);
    crm_http_set_etag(response, VERSION + 1);
    crm_http_send_json(response, 200, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

static int handle_if_match_version(const struct _u_request *request, struct _u_response *response,
                                   void *user_data)
{
    (void)user_data;
    json_t *body = json_pack("{s:I}", "version", (json_int_t)crm_http_if_match_version(request));
    crm_http_send_json(response, 200, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

static int handle_conditional_get(const struct _u_request *request, struct _u_response *response,
                                  void *user_data)
{
    if (crm_http_not_modified(request, response, VERSION))
        return U_CALLBACK_COMPLETE;
    return handle_etag(request, response, user_data);
}

static const crm_route routes[] = {
    {"GET", "/authenticated", handle_whoami, NULL, CRM_ACCESS_AUTHENTICATED},
    {"GET", "/agent", handle_whoami, NULL, CRM_ACCESS_AGENT},
    {"GET", "/admin", handle_whoami, NULL, CRM_ACCESS_ADMIN},
    {"GET", "/public", handle_whoami, NULL, CRM_ACCESS_PUBLIC},
    {"GET", "/optional", handle_whoami, NULL, CRM_ACCESS_OPTIONAL},
    {"GET", "/etag", handle_etag, NULL, CRM_ACCESS_PUBLIC},
    {"PATCH", "/if-match", handle_if_match, NULL, CRM_ACCESS_PUBLIC},
    {"GET", "/if-match-version", handle_if_match_version, NULL, CRM_ACCESS_PUBLIC},
    {"GET", "/conditional", handle_conditional_get, NULL, CRM_ACCESS_PUBLIC},
};

/* ---- fixture ---- */

static void setup(void)
{
    char err[256];
    log_sink = tmpfile();
    ck_assert_ptr_nonnull(log_sink);
    crm_log_set_fd(fileno(log_sink));
    ck_assert_int_eq(crm_settings_load(&settings, NULL, err, sizeof(err)), 0);
    settings.http_threads = 2;
    settings.shutdown_grace_seconds = 0;
    memset(&keyring, 0, sizeof(keyring));
    ck_assert_msg(
        crm_jwt_keyring_add_pem(&keyring, signing_pub, strlen(signing_pub), err, sizeof(err)) == 0,
        "%s", err);
    ck_assert_str_eq(keyring.keys[0].kid, signing_kid);
    atomic_store(&calls, 0);
    port = http_test_free_port();
}

static void teardown(void)
{
    crm_http_server_free(server);
    server = NULL;
    crm_jwt_keyring_clean(&keyring);
    crm_settings_clean(&settings);
    crm_log_set_fd(STDERR_FILENO);
    fclose(log_sink);
}

/* Starts the server with `threads` workers, with the keyring or without one. */
static void serve(int with_keyring, long threads)
{
    settings.http_threads = threads;
    server = crm_http_server_new(&settings, "test", port);
    ck_assert_ptr_nonnull(server);
    ck_assert_int_eq(crm_http_server_add_routes(server, routes, sizeof(routes) / sizeof(routes[0])),
                     0);
    if (with_keyring)
        crm_http_server_set_keyring(server, &keyring);
    ck_assert_int_eq(crm_http_server_start(server), 0);
}

/* ---- tokens ---- */

typedef struct token_spec {
    const char *priv;
    const char *kid;
    const char *sub;
    const char *username;
    const char *role;
    long long iat;
    long long exp;
} token_spec;

static token_spec spec_for(const char *username, const char *role)
{
    long long now = (long long)time(NULL);
    return (token_spec){signing_priv, signing_kid, USER_ID, username, role, now, now + 900};
}

/* Signs a token with libjwt (RS256, kid), as the auth service does. Free with free(). */
static char *token_make(const token_spec *spec)
{
    jwt_t *jwt = NULL;
    ck_assert_int_eq(jwt_new(&jwt), 0);
    ck_assert_int_eq(
        jwt_set_alg(jwt, JWT_ALG_RS256, (const unsigned char *)spec->priv, (int)strlen(spec->priv)),
        0);
    ck_assert_int_eq(jwt_add_header(jwt, "kid", spec->kid), 0);
    ck_assert_int_eq(jwt_add_grant(jwt, "iss", CRM_JWT_ISSUER), 0);
    ck_assert_int_eq(jwt_add_grant(jwt, "aud", CRM_JWT_AUDIENCE), 0);
    ck_assert_int_eq(jwt_add_grant(jwt, "sub", spec->sub), 0);
    ck_assert_int_eq(jwt_add_grant(jwt, "username", spec->username), 0);
    ck_assert_int_eq(jwt_add_grant(jwt, "role", spec->role), 0);
    ck_assert_int_eq(jwt_add_grant(jwt, "jti", "5d1e3c8a-1b2f-4c11-9a3e-0e8f7c6b5a49"), 0);
    ck_assert_int_eq(jwt_add_grant_int(jwt, "iat", (long)spec->iat), 0);
    ck_assert_int_eq(jwt_add_grant_int(jwt, "exp", (long)spec->exp), 0);
    char *token = jwt_encode_str(jwt);
    ck_assert_ptr_nonnull(token);
    jwt_free(jwt);
    return token;
}

static char *token_for(const char *username, const char *role)
{
    token_spec spec = spec_for(username, role);
    return token_make(&spec);
}

/* GET `path` with an Authorization header (NULL: none). */
static void get_as(reply *r, const char *path, const char *authorization)
{
    char line[8192]; /* room for any header value the tests build */
    snprintf(line, sizeof(line), "Authorization: %s", authorization ? authorization : "");
    const char *const headers[] = {line, NULL};
    http_test_request(r, port, "GET", path, NULL, NULL, 0, 0, authorization ? headers : NULL);
}

/* GET `path` with "Authorization: Bearer <token>". */
static void get_with_token(reply *r, const char *path, const char *token)
{
    char value[4096];
    snprintf(value, sizeof(value), "Bearer %s", token);
    get_as(r, path, value);
}

/* A 401 problem with WWW-Authenticate: Bearer. */
static void assert_unauthorized(const reply *r)
{
    char value[128];
    assert_problem(r, 401, "unauthorized");
    ck_assert_uint_eq(reply_header(r, "WWW-Authenticate", value, sizeof(value)), 1);
    ck_assert_str_eq(value, "Bearer");
}

static void assert_forbidden(const reply *r)
{
    char value[128];
    assert_problem(r, 403, "forbidden");
    ck_assert_uint_eq(reply_header(r, "WWW-Authenticate", value, sizeof(value)), 0);
}

/* A 200 from handle_whoami without a principal. */
static void assert_anonymous(const reply *r)
{
    ck_assert_msg(r->status == 200, "status %ld; body %s", r->status, r->body ? r->body : "");
    ck_assert_ptr_nonnull(r->json);
    ck_assert(json_is_null(json_object_get(r->json, "principal")));
}

/* A 200 from handle_whoami that saw the principal (USER_ID, username, role). */
static void assert_principal(const reply *r, const char *username, const char *role)
{
    ck_assert_msg(r->status == 200, "status %ld; body %s", r->status, r->body ? r->body : "");
    ck_assert_ptr_nonnull(r->json);
    json_t *who = json_object_get(r->json, "principal");
    ck_assert_msg(json_is_object(who), "no principal: %s", r->body);
    ck_assert_uint_eq(json_object_size(who), 3);
    ck_assert_str_eq(member_string(who, "sub"), USER_ID);
    ck_assert_str_eq(member_string(who, "username"), username);
    ck_assert_str_eq(member_string(who, "role"), role);
}

/* ---- authenticated routes ---- */

START_TEST(test_authenticated_without_token)
{
    reply r;
    serve(1, 2);
    get_as(&r, "/authenticated", NULL);
    assert_unauthorized(&r);
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 0);
}
END_TEST

START_TEST(test_authenticated_other_schemes)
{
    char *token = token_for("vera", "viewer");
    char raw[4096], basic_token[4096];
    snprintf(raw, sizeof(raw), "%s", token); /* the token without a scheme */
    snprintf(basic_token, sizeof(basic_token), "Basic %s", token);
    const char *const values[] = {
        "Basic xyz", "Basic dmVyYTpzZWNyZXQ=",   "Bearer", "Bearer ",  "Token abc",
        "Bearerabc", "Digest username=\"vera\"", raw,      basic_token};
    serve(1, 2);
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        reply r;
        get_as(&r, "/authenticated", values[i]);
        ck_assert_msg(r.status == 401, "Authorization \"%.40s\" answered %ld", values[i], r.status);
        assert_unauthorized(&r);
        reply_clean(&r);
    }
    ck_assert_int_eq(atomic_load(&calls), 0);
    free(token);
}
END_TEST

START_TEST(test_authenticated_bad_tokens)
{
    long long now = (long long)time(NULL);
    token_spec expired = spec_for("vera", "viewer");
    expired.iat = now - 7200;
    expired.exp = now - 3600;
    token_spec foreign = spec_for("vera", "viewer");
    foreign.priv = foreign_priv;
    foreign.kid = foreign_kid;
    token_spec impostor = spec_for("vera", "admin"); /* a foreign key under our kid */
    impostor.priv = foreign_priv;
    token_spec future = spec_for("vera", "viewer");
    future.iat = now + 3600;
    future.exp = now + 4500;

    char *expired_token = token_make(&expired);
    char *foreign_token = token_make(&foreign);
    char *impostor_token = token_make(&impostor);
    char *future_token = token_make(&future);
    char *good = token_for("vera", "viewer");
    char *tampered = strdup(good);
    char *dot = strrchr(tampered, '.');
    dot[1] = dot[1] == 'A' ? 'B' : 'A'; /* the signature's first character */
    char *other_payload = strdup(good);
    char *first_dot = strchr(other_payload, '.');
    first_dot[3] = first_dot[3] == 'A' ? 'B' : 'A'; /* a claim byte */

    const char *const tokens[] = {"abc",         "abc.def.ghi", "a.b",
                                  expired_token, foreign_token, impostor_token,
                                  future_token,  tampered,      other_payload};
    serve(1, 2);
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        reply r;
        get_with_token(&r, "/authenticated", tokens[i]);
        ck_assert_msg(r.status == 401, "token %zu answered %ld", i, r.status);
        assert_unauthorized(&r);
        reply_clean(&r);
    }
    ck_assert_int_eq(atomic_load(&calls), 0);

    /* The control: the untampered token passes. */
    reply r;
    get_with_token(&r, "/authenticated", good);
    assert_principal(&r, "vera", "viewer");
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 1);

    free(expired_token);
    free(foreign_token);
    free(impostor_token);
    free(future_token);
    free(good);
    free(tampered);
    free(other_payload);
}
END_TEST

START_TEST(test_authenticated_valid_viewer)
{
    char *token = token_for("vera", "viewer");
    char value[4096];
    reply r;
    serve(1, 2);
    get_with_token(&r, "/authenticated", token);
    assert_principal(&r, "vera", "viewer");
    ck_assert_str_eq(r.content_type, "application/json");
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 1);

    /* The scheme is case-insensitive (RFC 9110 11.1). */
    snprintf(value, sizeof(value), "bearer %s", token);
    get_as(&r, "/authenticated", value);
    assert_principal(&r, "vera", "viewer");
    reply_clean(&r);
    snprintf(value, sizeof(value), "BEARER %s", token);
    get_as(&r, "/authenticated", value);
    assert_principal(&r, "vera", "viewer");
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 3);
    free(token);
}
END_TEST

/* ---- roles ---- */

static void expect_role(const char *path, const char *role, long status)
{
    char *token = token_for(role, role);
    reply r;
    int before = atomic_load(&calls);
    get_with_token(&r, path, token);
    ck_assert_msg(r.status == status, "%s as %s answered %ld", path, role, r.status);
    if (status == 200) {
        assert_principal(&r, role, role);
        ck_assert_int_eq(atomic_load(&calls), before + 1);
    } else {
        assert_forbidden(&r);
        ck_assert_int_eq(atomic_load(&calls), before);
    }
    reply_clean(&r);
    free(token);
}

START_TEST(test_agent_route)
{
    serve(1, 2);
    expect_role("/agent", "viewer", 403);
    expect_role("/agent", "agent", 200);
    expect_role("/agent", "admin", 200);
    /* A valid token does not replace the role check: no token is still 401. */
    reply r;
    get_as(&r, "/agent", NULL);
    assert_unauthorized(&r);
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 2);
}
END_TEST

START_TEST(test_admin_route)
{
    serve(1, 2);
    expect_role("/admin", "viewer", 403);
    expect_role("/admin", "agent", 403);
    expect_role("/admin", "admin", 200);
    reply r;
    get_as(&r, "/admin", "Basic xyz");
    assert_unauthorized(&r);
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 1);
}
END_TEST

START_TEST(test_authenticated_route_takes_every_role)
{
    serve(1, 2);
    expect_role("/authenticated", "viewer", 200);
    expect_role("/authenticated", "agent", 200);
    expect_role("/authenticated", "admin", 200);
}
END_TEST

/* ---- public and optional ---- */

START_TEST(test_public_route)
{
    char *token = token_for("adam", "admin");
    reply r;
    serve(1, 2);
    get_as(&r, "/public", NULL);
    assert_anonymous(&r);
    reply_clean(&r);
    /* A token is not even looked at: a valid one gives no principal, a bad one no 401. */
    get_with_token(&r, "/public", token);
    assert_anonymous(&r);
    reply_clean(&r);
    get_with_token(&r, "/public", "abc.def.ghi");
    assert_anonymous(&r);
    reply_clean(&r);
    get_as(&r, "/public", "Basic xyz");
    assert_anonymous(&r);
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 4);
    free(token);
}
END_TEST

START_TEST(test_optional_route)
{
    char *token = token_for("alice", "agent");
    token_spec expired = spec_for("alice", "agent");
    expired.iat -= 7200;
    expired.exp = expired.iat + 900;
    char *expired_token = token_make(&expired);
    reply r;
    serve(1, 2);

    get_as(&r, "/optional", NULL);
    assert_anonymous(&r);
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 1);

    get_with_token(&r, "/optional", token);
    assert_principal(&r, "alice", "agent");
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 2);

    /* A token that is present must be valid. */
    get_with_token(&r, "/optional", "abc.def.ghi");
    assert_unauthorized(&r);
    reply_clean(&r);
    get_with_token(&r, "/optional", expired_token);
    assert_unauthorized(&r);
    reply_clean(&r);
    get_as(&r, "/optional", "Basic xyz");
    assert_unauthorized(&r);
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 2);
    free(token);
    free(expired_token);
}
END_TEST

START_TEST(test_without_keyring)
{
    char *token = token_for("adam", "admin");
    reply r;
    serve(0, 2);
    static const char *const guarded[] = {"/authenticated", "/agent", "/admin"};
    for (size_t i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++) {
        get_with_token(&r, guarded[i], token);
        assert_unauthorized(&r);
        reply_clean(&r);
        get_as(&r, guarded[i], NULL);
        assert_unauthorized(&r);
        reply_clean(&r);
    }
    /* A token on an optional route cannot be checked either. */
    get_with_token(&r, "/optional", token);
    assert_unauthorized(&r);
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 0);

    get_as(&r, "/optional", NULL);
    assert_anonymous(&r);
    reply_clean(&r);
    get_with_token(&r, "/public", token);
    assert_anonymous(&r);
    reply_clean(&r);
    ck_assert_int_eq(atomic_load(&calls), 2);
    free(token);
}
END_TEST

START_TEST(test_principal_does_not_leak)
{
    /* One worker: every request runs on the same thread, so a principal left in its
     * thread-local storage would show. */
    char *admin = token_for("adam", "admin");
    char *viewer = token_for("vera", "viewer");
    reply r;
    serve(1, 1);

    get_with_token(&r, "/optional", admin);
    assert_principal(&r, "adam", "admin");
    json_int_t thread = json_integer_value(json_object_get(r.json, "thread"));
    reply_clean(&r);

    get_as(&r, "/optional", NULL);
    assert_anonymous(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "thread")), thread);
    reply_clean(&r);

    /* After an authenticated route too, and after a 403 whose token did verify. */
    get_with_token(&r, "/authenticated", admin);
    assert_principal(&r, "adam", "admin");
    reply_clean(&r);
    get_as(&r, "/public", NULL);
    assert_anonymous(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "thread")), thread);
    reply_clean(&r);

    get_with_token(&r, "/admin", viewer);
    assert_forbidden(&r);
    reply_clean(&r);
    get_as(&r, "/optional", NULL);
    assert_anonymous(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "thread")), thread);
    reply_clean(&r);

    /* And after a 401 on an optional route. */
    get_with_token(&r, "/optional", viewer);
    assert_principal(&r, "vera", "viewer");
    reply_clean(&r);
    get_with_token(&r, "/optional", "abc.def.ghi");
    assert_unauthorized(&r);
    reply_clean(&r);
    get_as(&r, "/optional", NULL);
    assert_anonymous(&r);
    reply_clean(&r);

    /* Outside any request there is no principal. */
    ck_assert_ptr_null(crm_http_principal());
    free(admin);
    free(viewer);
}
END_TEST

/* ---- conditional requests ---- */

/* Sends `method` `path` with `header` (a full header line, or NULL). */
static void send_with(reply *r, const char *method, const char *path, const char *header)
{
    const char *const headers[] = {header, NULL};
    http_test_request(r, port, method, path, NULL, NULL, 0, 0, header ? headers : NULL);
}

START_TEST(test_set_etag)
{
    char value[64];
    reply r;
    serve(1, 2);
    send_with(&r, "GET", "/etag", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(reply_header(&r, "ETag", value, sizeof(value)), 1);
    ck_assert_str_eq(value, "\"3\"");
    reply_clean(&r);
}
END_TEST

START_TEST(test_if_match_or_reply)
{
    static const struct {
        const char *header;
        long status;
    } cases[] = {
        {NULL, 200},
        {"If-Match: *", 200},
        {"If-Match: \"3\"", 200},
        {"If-Match: \"1\", \"3\"", 200},
        {"If-Match: \"3\", \"1\"", 200},
        {"If-Match: \"1\",\"2\",\"3\"", 200},
        {"If-Match: \"2\"", 412},
        {"If-Match: \"4\"", 412},
        {"If-Match: W/\"3\"", 412},
        {"If-Match: \"1\", W/\"3\"", 412},
        {"If-Match: \"1\", \"2\"", 412},
        {"If-Match: 3", 412},
        {"If-Match: \"03\"", 412},
        {"If-Match: \"33\"", 412},
        {"If-Match: \"\"", 412},
        {"If-Match: \"3", 412},
        {"If-Match: **", 412},
    };
    serve(1, 2);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reply r;
        char value[64];
        send_with(&r, "PATCH", "/if-match", cases[i].header);
        ck_assert_msg(r.status == cases[i].status, "%s answered %ld",
                      cases[i].header ? cases[i].header : "(no If-Match)", r.status);
        if (cases[i].status == 412) {
            assert_problem(&r, 412, "precondition-failed");
            ck_assert_ptr_nonnull(strstr(member_string(r.json, "detail"), "\"3\""));
            ck_assert_uint_eq(reply_header(&r, "ETag", value, sizeof(value)), 0);
        } else {
            ck_assert(json_is_true(json_object_get(r.json, "written")));
            reply_header(&r, "ETag", value, sizeof(value));
            ck_assert_str_eq(value, "\"4\"");
        }
        reply_clean(&r);
    }
    /* The handler ran every time and decided itself. */
    ck_assert_int_eq(atomic_load(&calls), (int)(sizeof(cases) / sizeof(cases[0])));
}
END_TEST

START_TEST(test_if_match_version)
{
    static const struct {
        const char *header;
        long long version;
    } cases[] = {
        {NULL, 0},
        {"If-Match: *", 0},
        {"If-Match: \"3\"", 3},
        {"If-Match: \"1\"", 1},
        {"If-Match: \"9007199254740993\"", 9007199254740993LL},
        {"If-Match: W/\"3\"", -1},
        {"If-Match: 3", -1},
        {"If-Match: \"abc\"", -1},
        {"If-Match: \"\"", -1},
        {"If-Match: \"0\"", -1},
        {"If-Match: \"-2\"", -1},
        {"If-Match: \"3\"x", -1},
        {"If-Match: \"3", -1},
        {"If-Match: \"3x\"", -1},
        /* Tags the server never wrote, though strtoll reads a number in them (tests/fuzz). */
        {"If-Match: \"03\"", -1},
        {"If-Match: \"+3\"", -1},
        {"If-Match: \" 3\"", -1},
        {"If-Match: \"9223372036854775807\"", 9223372036854775807LL},
        {"If-Match: \"9223372036854775808\"", -1},
        {"If-Match: \"99999999999999999999\"", -1},
    };
    serve(1, 2);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reply r;
        send_with(&r, "GET", "/if-match-version", cases[i].header);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(json_integer_value(json_object_get(r.json, "version")) == cases[i].version,
                      "%s gave %s", cases[i].header ? cases[i].header : "(no If-Match)", r.body);
        reply_clean(&r);
    }
}
END_TEST

START_TEST(test_not_modified)
{
    static const struct {
        const char *header;
        long status;
    } cases[] = {
        {NULL, 200},
        {"If-None-Match: \"3\"", 304},
        {"If-None-Match: *", 304},
        {"If-None-Match: \"2\", \"3\"", 304},
        {"If-None-Match: \"1\",\"3\"", 304},
        {"If-None-Match: W/\"3\"", 304}, /* If-None-Match compares weakly (RFC 9110 13.1.2) */
        {"If-None-Match: \"1\", W/\"3\"", 304},
        {"If-None-Match: \"2\"", 200},
        {"If-None-Match: W/\"2\"", 200},
        {"If-None-Match: \"33\"", 200},
        {"If-None-Match: 3", 200},
        {"If-None-Match: \"\"", 200},
    };
    serve(1, 2);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reply r;
        char value[64];
        send_with(&r, "GET", "/conditional", cases[i].header);
        ck_assert_msg(r.status == cases[i].status, "%s answered %ld",
                      cases[i].header ? cases[i].header : "(no If-None-Match)", r.status);
        ck_assert_uint_eq(reply_header(&r, "ETag", value, sizeof(value)), 1);
        ck_assert_str_eq(value, "\"3\"");
        if (cases[i].status == 304) {
            ck_assert_uint_eq(r.len, 0);
            ck_assert_ptr_null(r.body);
        } else {
            ck_assert_int_eq(json_integer_value(json_object_get(r.json, "version")), 3);
        }
        reply_clean(&r);
    }
}
END_TEST

static Suite *http_access_suite(void)
{
    Suite *suite = suite_create("http_access");

    TCase *access = tcase_create("access");
    tcase_add_checked_fixture(access, setup, teardown);
    tcase_set_timeout(access, 60);
    tcase_add_test(access, test_authenticated_without_token);
    tcase_add_test(access, test_authenticated_other_schemes);
    tcase_add_test(access, test_authenticated_bad_tokens);
    tcase_add_test(access, test_authenticated_valid_viewer);
    tcase_add_test(access, test_agent_route);
    tcase_add_test(access, test_admin_route);
    tcase_add_test(access, test_authenticated_route_takes_every_role);
    tcase_add_test(access, test_public_route);
    tcase_add_test(access, test_optional_route);
    tcase_add_test(access, test_without_keyring);
    tcase_add_test(access, test_principal_does_not_leak);
    suite_add_tcase(suite, access);

    TCase *conditional = tcase_create("conditional");
    tcase_add_checked_fixture(conditional, setup, teardown);
    tcase_set_timeout(conditional, 60);
    tcase_add_test(conditional, test_set_etag);
    tcase_add_test(conditional, test_if_match_or_reply);
    tcase_add_test(conditional, test_if_match_version);
    tcase_add_test(conditional, test_not_modified);
    suite_add_tcase(suite, conditional);
    return suite;
}

/* PEM text of a key, or NULL. */
static char *pem_of(EVP_PKEY *pkey, int private)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out = NULL;
    if (!bio)
        return NULL;
    int ok = private ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
                     : PEM_write_bio_PUBKEY(bio, pkey);
    long len = BIO_get_mem_data(bio, &data);
    if (ok == 1 && len > 0)
        out = strndup(data, (size_t)len);
    BIO_free(bio);
    return out;
}

/* A fresh RSA key pair as PEM, and its kid. Returns 0 or -1. */
static int key_make(char **priv, char **pub, char kid[64])
{
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    *priv = pkey ? pem_of(pkey, 1) : NULL;
    char *public_pem = pkey ? pem_of(pkey, 0) : NULL;
    EVP_PKEY_free(pkey);
    int rc = *priv && public_pem && crm_jwt_thumbprint(*priv, strlen(*priv), kid, 64) == 0 ? 0 : -1;
    if (pub)
        *pub = public_pem;
    else
        free(public_pem);
    return rc;
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return EXIT_FAILURE;
    if (key_make(&signing_priv, &signing_pub, signing_kid) != 0 ||
        key_make(&foreign_priv, NULL, foreign_kid) != 0) {
        fprintf(stderr, "cannot generate the test keys\n");
        return EXIT_FAILURE;
    }
    SRunner *runner = srunner_create(http_access_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    free(signing_priv);
    free(signing_pub);
    free(foreign_priv);
    curl_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
