/* Unit tests for common/src/http.c: a real crm_http_server on a free loopback port, driven with
 * libcurl. Routes, 404 and 405 problems, request ids, /healthz, /readyz, /metrics and every rule of
 * crm_http_read_json_or_reply; plus the pure helpers crm_http_json_depth_ok and
 * crm_http_request_id_valid. Every test frees its server; one test proves that no thread or socket
 * outlives it. */
#include "crm/config.h"
#include "crm/http.h"
#include "crm/log.h"
#include "crm/metrics.h"
#include "http_test_support.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <dirent.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <ulfius.h>
#include <unistd.h>

static const char UUID_PATTERN[] =
    "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";

static crm_settings settings;
static crm_http_server *server;
static long port;
static FILE *log_sink;

/* ---- test routes ---- */

static int send_handler_name(struct _u_response *response, unsigned int status, const char *name)
{
    json_t *body = json_pack("{s:s}", "handler", name);
    crm_http_send_json(response, status, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

static int handle_list(const struct _u_request *request, struct _u_response *response,
                       void *user_data)
{
    (void)request;
    (void)user_data;
    return send_handler_name(response, 200, "list");
}

static int handle_create(const struct _u_request *request, struct _u_response *response,
                         void *user_data)
{
    (void)request;
    (void)user_data;
    return send_handler_name(response, 201, "create");
}

static int handle_get(const struct _u_request *request, struct _u_response *response,
                      void *user_data)
{
    (void)user_data;
    json_t *body = json_pack("{s:s?}", "id", u_map_get(request->map_url, "id"));
    crm_http_send_json(response, 200, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

static int echo(const struct _u_request *request, struct _u_response *response, int merge_patch)
{
    json_t *body = NULL;
    if (crm_http_read_json_or_reply(request, response, merge_patch, &body) != 0) {
        ck_assert_ptr_null(body);
        return U_CALLBACK_COMPLETE;
    }
    crm_http_send_json(response, 200, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

static int handle_echo(const struct _u_request *request, struct _u_response *response,
                       void *user_data)
{
    (void)user_data;
    return echo(request, response, 0);
}

static int handle_patch(const struct _u_request *request, struct _u_response *response,
                        void *user_data)
{
    (void)user_data;
    return echo(request, response, 1);
}

static atomic_int slow_entered;

static int handle_slow(const struct _u_request *request, struct _u_response *response,
                       void *user_data)
{
    (void)request;
    (void)user_data;
    atomic_store(&slow_entered, 1);
    usleep(300000);
    return send_handler_name(response, 200, "slow");
}

static const crm_route test_routes[] = {
    {"GET", "/things", handle_list, NULL, CRM_ACCESS_PUBLIC},    /* 200 */
    {"POST", "/things", handle_create, NULL, CRM_ACCESS_PUBLIC}, /* 201 */
    {"GET", "/things/:id", handle_get, NULL, CRM_ACCESS_PUBLIC}, /* echoes the id */
    {"POST", "/echo", handle_echo, NULL, CRM_ACCESS_PUBLIC},     /* echoes the body */
    {"PATCH", "/echo", handle_patch, NULL, CRM_ACCESS_PUBLIC},   /* idem, merge patch allowed */
    {"GET", "/slow", handle_slow, NULL, CRM_ACCESS_PUBLIC},      /* answers after 300 ms */
};

static int check_up(void *context)
{
    (void)context;
    return 1;
}

static int check_down(void *context)
{
    (void)context;
    return 0;
}

/* ---- server lifecycle ---- */

static crm_http_server *server_create(long on_port)
{
    crm_http_server *created = crm_http_server_new(&settings, "test", on_port);
    ck_assert_ptr_nonnull(created);
    ck_assert_int_eq(crm_http_server_add_routes(created, test_routes,
                                                sizeof(test_routes) / sizeof(test_routes[0])),
                     0);
    return created;
}

static void server_start(void)
{
    ck_assert_int_eq(crm_http_server_start(server), 0);
}

static void setup(void)
{
    char err[256];
    log_sink = tmpfile();
    ck_assert_ptr_nonnull(log_sink);
    crm_log_set_fd(fileno(log_sink));
    ck_assert_int_eq(crm_settings_load(&settings, NULL, err, sizeof(err)), 0);
    settings.http_threads = 2;
    settings.shutdown_grace_seconds = 0;
    port = http_test_free_port();
    server = server_create(port);
}

static void teardown(void)
{
    crm_http_server_free(server);
    server = NULL;
    crm_settings_clean(&settings);
    crm_log_set_fd(STDERR_FILENO);
    fclose(log_sink);
}

/* ---- the client ---- */

/* The shared client (http_test_support.h) against this file's server. */
static void http_full(reply *r, const char *method, const char *path, const char *content_type,
                      const char *body, size_t len, int chunked, const char *const *headers)
{
    http_test_request(r, port, method, path, content_type, body, len, chunked, headers);
}

static void assert_hooked(const reply *r, const char *expected)
{
    char hooked[64];
    reply_header(r, "X-Hooked", hooked, sizeof(hooked));
    ck_assert_str_eq(hooked, expected);
}

static void http(reply *r, const char *method, const char *path)
{
    http_full(r, method, path, NULL, NULL, 0, 0, NULL);
}

static void http_with_id(reply *r, const char *method, const char *path, const char *id)
{
    char line[512];
    snprintf(line, sizeof(line), "X-Request-Id: %s", id);
    const char *const headers[] = {line, NULL};
    http_full(r, method, path, NULL, NULL, 0, 0, headers);
}

static void post_json(reply *r, const char *path, const char *content_type, const char *body)
{
    http_full(r, "POST", path, content_type, body, body ? strlen(body) : 0, 0, NULL);
}

static int matches(const char *pattern, const char *text)
{
    regex_t re;
    ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    int rc = regexec(&re, text, 0, NULL, 0);
    regfree(&re);
    return rc == 0;
}

static void assert_echoed(const reply *r, const char *sent)
{
    ck_assert_msg(r->status == 200, "status %ld; body %s", r->status, r->body ? r->body : "");
    ck_assert_str_eq(r->content_type, "application/json");
    json_t *want = json_loads(sent, 0, NULL);
    ck_assert_ptr_nonnull(want);
    ck_assert_msg(json_equal(r->json, want), "echo %s differs from %s", r->body, sent);
    json_decref(want);
}

/* ---- routes, 404, 405 ---- */

START_TEST(test_routes_answer)
{
    reply r;
    server_start();
    http(&r, "GET", "/things");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "application/json");
    ck_assert_str_eq(member_string(r.json, "handler"), "list");
    reply_clean(&r);

    post_json(&r, "/things", "application/json", "{}");
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(member_string(r.json, "handler"), "create");
    reply_clean(&r);

    http(&r, "GET", "/things/abc123");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(member_string(r.json, "id"), "abc123");
    reply_clean(&r);

    http(&r, "GET", "/things/64b7f0c2a1b2c3d4e5f60718?x=1");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(member_string(r.json, "id"), "64b7f0c2a1b2c3d4e5f60718");
    reply_clean(&r);
}
END_TEST

/* ulfius decodes a path segment into a C string: "%00" would cut it short, so that
 * "/things/<id>%00junk" reached the handler as "/things/<id>". */
START_TEST(test_encoded_nul_in_path_is_400)
{
    static const char *const paths[] = {"/things/64b7f0c2a1b2c3d4e5f60718%00",
                                        "/things/64b7f0c2a1b2c3d4e5f60718%00junk", "/things%00",
                                        "/nope/%00/x"};
    server_start();
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        reply r;
        http(&r, "GET", paths[i]);
        ck_assert_msg(r.status == 400, "GET %s answered %ld", paths[i], r.status);
        assert_problem(&r, 400, "malformed-request");
        reply_clean(&r);
    }
    reply r;
    http(&r, "GET", "/things/64b7f0c2a1b2c3d4e5f60718?x=%2500");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(member_string(r.json, "id"), "64b7f0c2a1b2c3d4e5f60718");
    reply_clean(&r);
}
END_TEST

START_TEST(test_unknown_path_is_404)
{
    static const char *const paths[] = {"/nope",   "/",          "/thingsx",   "/things/a/b",
                                        "/echo/1", "/healthz/x", "/api/things"};
    server_start();
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        reply r;
        http(&r, "GET", paths[i]);
        ck_assert_msg(r.status == 404, "GET %s answered %ld", paths[i], r.status);
        assert_problem(&r, 404, "not-found");
        ck_assert_str_eq(r.allow, "");
        reply_clean(&r);
    }
    reply r;
    http(&r, "DELETE", "/nope");
    assert_problem(&r, 404, "not-found");
    reply_clean(&r);
}
END_TEST

START_TEST(test_wrong_method_is_405)
{
    static const struct {
        const char *method;
        const char *path;
        const char *allow;
    } cases[] = {
        {"DELETE", "/things", "GET, POST"}, {"PUT", "/things", "GET, POST"},
        {"PATCH", "/things", "GET, POST"},  {"DELETE", "/things/42", "GET"},
        {"POST", "/things/42", "GET"},      {"GET", "/echo", "POST, PATCH"},
        {"POST", "/healthz", "GET"},        {"DELETE", "/metrics", "GET"},
        {"BREW", "/things", "GET, POST"},
    };
    server_start();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reply r;
        http(&r, cases[i].method, cases[i].path);
        ck_assert_msg(r.status == 405, "%s %s answered %ld", cases[i].method, cases[i].path,
                      r.status);
        assert_problem(&r, 405, "method-not-allowed");
        ck_assert_str_eq(r.allow, cases[i].allow);
        reply_clean(&r);
    }
}
END_TEST

/* ---- request ids ---- */

START_TEST(test_valid_request_id_is_echoed)
{
    reply r;
    server_start();
    http_with_id(&r, "GET", "/things", "abc-1.2:3_x");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.request_id, "abc-1.2:3_x");
    ck_assert_uint_eq(r.request_id_count, 1);
    reply_clean(&r);

    char longest[129];
    memset(longest, 'a', 128);
    longest[128] = '\0';
    http_with_id(&r, "GET", "/things", longest);
    ck_assert_str_eq(r.request_id, longest);
    reply_clean(&r);

    /* The problem body carries the same id. */
    http_with_id(&r, "GET", "/nope", "abc-1.2:3_x");
    assert_problem(&r, 404, "not-found");
    ck_assert_str_eq(member_string(r.json, "request_id"), "abc-1.2:3_x");
    reply_clean(&r);

    http_with_id(&r, "DELETE", "/things", "Z9");
    assert_problem(&r, 405, "method-not-allowed");
    ck_assert_str_eq(member_string(r.json, "request_id"), "Z9");
    reply_clean(&r);
}
END_TEST

START_TEST(test_invalid_request_id_is_replaced)
{
    char too_long[130];
    memset(too_long, 'a', 129);
    too_long[129] = '\0';
    const char *const invalid[] = {too_long,     "has space",   "a/b",
                                   "semi;colon", "caf\xc3\xa9", "quote\"d"};
    server_start();
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        reply r;
        http_with_id(&r, "GET", "/nope", invalid[i]);
        ck_assert_msg(matches(UUID_PATTERN, r.request_id), "id \"%s\" was answered with \"%s\"",
                      invalid[i], r.request_id);
        ck_assert_uint_eq(r.request_id_count, 1);
        assert_problem(&r, 404, "not-found");
        reply_clean(&r);
    }
}
END_TEST

START_TEST(test_missing_request_id_is_generated)
{
    reply a, b;
    server_start();
    http(&a, "GET", "/things");
    http(&b, "GET", "/things");
    ck_assert_msg(matches(UUID_PATTERN, a.request_id), "\"%s\"", a.request_id);
    ck_assert_msg(matches(UUID_PATTERN, b.request_id), "\"%s\"", b.request_id);
    ck_assert_str_ne(a.request_id, b.request_id);
    reply_clean(&a);
    reply_clean(&b);

    /* A valid id on one request does not stick to the worker thread for the next one. */
    for (int i = 0; i < 8; i++) {
        http_with_id(&a, "GET", "/things", "sticky");
        reply_clean(&a);
    }
    for (int i = 0; i < 8; i++) {
        http(&a, "GET", "/nope");
        ck_assert(matches(UUID_PATTERN, a.request_id));
        ck_assert_str_eq(member_string(a.json, "request_id"), a.request_id);
        reply_clean(&a);
    }
}
END_TEST

/* ---- operational endpoints ---- */

START_TEST(test_healthz)
{
    reply r;
    server_start();
    http(&r, "GET", "/healthz");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.content_type, "application/json");
    ck_assert_ptr_nonnull(r.json);
    ck_assert(matches(UUID_PATTERN, r.request_id));
    reply_clean(&r);
}
END_TEST

/* GETs /readyz and checks the status, the body's status and its checks map. */
static void assert_readyz(long status, const char *state, const char *checks_json)
{
    reply r;
    http(&r, "GET", "/readyz");
    ck_assert_msg(r.status == status, "status %ld, want %ld; body %s", r.status, status, r.body);
    ck_assert_str_eq(r.content_type, "application/json");
    ck_assert_ptr_nonnull(r.json);
    ck_assert_uint_eq(json_object_size(r.json), 2);
    ck_assert_str_eq(member_string(r.json, "status"), state);
    json_t *want = json_loads(checks_json, 0, NULL);
    ck_assert_msg(json_equal(json_object_get(r.json, "checks"), want), "checks %s, want %s", r.body,
                  checks_json);
    json_decref(want);
    reply_clean(&r);
}

START_TEST(test_readyz_without_checks)
{
    server_start();
    assert_readyz(200, "ready", "{}");
}
END_TEST

START_TEST(test_readyz_all_up)
{
    ck_assert_int_eq(crm_http_server_add_readiness(server, "mongodb", check_up, NULL, 1), 0);
    ck_assert_int_eq(crm_http_server_add_readiness(server, "kafka", check_up, NULL, 0), 0);
    server_start();
    assert_readyz(200, "ready", "{\"mongodb\": \"up\", \"kafka\": \"up\"}");
}
END_TEST

START_TEST(test_readyz_required_down)
{
    ck_assert_int_eq(crm_http_server_add_readiness(server, "mongodb", check_down, NULL, 1), 0);
    ck_assert_int_eq(crm_http_server_add_readiness(server, "kafka", check_up, NULL, 0), 0);
    server_start();
    assert_readyz(503, "unavailable", "{\"mongodb\": \"down\", \"kafka\": \"up\"}");
}
END_TEST

START_TEST(test_readyz_optional_down)
{
    ck_assert_int_eq(crm_http_server_add_readiness(server, "mongodb", check_up, NULL, 1), 0);
    ck_assert_int_eq(crm_http_server_add_readiness(server, "kafka", check_down, NULL, 0), 0);
    server_start();
    assert_readyz(200, "degraded", "{\"mongodb\": \"up\", \"kafka\": \"down\"}");
}
END_TEST

START_TEST(test_readyz_required_wins_in_any_order)
{
    ck_assert_int_eq(crm_http_server_add_readiness(server, "kafka", check_down, NULL, 0), 0);
    ck_assert_int_eq(crm_http_server_add_readiness(server, "mongodb", check_down, NULL, 1), 0);
    ck_assert_int_eq(crm_http_server_add_readiness(server, "auth", check_down, NULL, 0), 0);
    server_start();
    assert_readyz(503, "unavailable",
                  "{\"kafka\": \"down\", \"mongodb\": \"down\", \"auth\": \"down\"}");
}
END_TEST

START_TEST(test_readiness_capacity)
{
    int added = 0;
    while (added < 100 && crm_http_server_add_readiness(server, "dep", check_up, NULL, 0) == 0)
        added++;
    ck_assert_int_ge(added, 4);
    ck_assert_int_lt(added, 100);
}
END_TEST

/* The value of the series line that starts with `prefix`, or -1 when there is none. */
static long series_value(const char *text, const char *prefix)
{
    size_t len = strlen(prefix);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, prefix, len) == 0 && p[len] == ' ')
            return strtol(p + len + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

static void hook_mark(const struct _u_request *request, struct _u_response *response, void *context)
{
    char value[64];
    snprintf(value, sizeof(value), "%s %s %ld", (const char *)context, request->http_verb,
             response->status);
    u_map_put(response->map_header, "X-Hooked", value);
}

START_TEST(test_response_hook_sees_every_answer)
{
    reply r;
    const crm_route private_route[] = {
        {"GET", "/private", handle_list, NULL, CRM_ACCESS_AUTHENTICATED},
    };
    ck_assert_int_eq(crm_http_server_add_routes(server, private_route, 1), 0);
    crm_http_server_set_response_hook(server, hook_mark, "ctx");
    server_start();
    http(&r, "GET", "/things");
    assert_hooked(&r, "ctx GET 200");
    reply_clean(&r);
    http(&r, "DELETE", "/things");
    assert_hooked(&r, "ctx DELETE 405");
    reply_clean(&r);
    http(&r, "GET", "/no/such/path");
    assert_hooked(&r, "ctx GET 404");
    reply_clean(&r);
    http(&r, "GET", "/private"); /* no token: 401 before the handler */
    ck_assert_int_eq(r.status, 401);
    assert_hooked(&r, "ctx GET 401");
    reply_clean(&r);
    post_json(&r, "/echo", "text/plain", "{}");
    assert_hooked(&r, "ctx POST 415");
    reply_clean(&r);
}
END_TEST

START_TEST(test_metrics_use_route_patterns)
{
    reply r;
    server_start();
    http(&r, "GET", "/things/abc");
    reply_clean(&r);
    http(&r, "GET", "/things/xyz");
    reply_clean(&r);
    http(&r, "GET", "/things");
    reply_clean(&r);
    http(&r, "DELETE", "/things");
    reply_clean(&r);
    http(&r, "GET", "/no/such/path");
    reply_clean(&r);
    http(&r, "BREW", "/things/abc");
    reply_clean(&r);
    post_json(&r, "/echo", "text/plain", "{}");
    reply_clean(&r);

    http(&r, "GET", "/metrics");
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(strncmp(r.content_type, "text/plain", 10), 0);
    const char *text = r.body;
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(series_value(text, "crm_http_requests_total{service=\"test\",route=\"/things/"
                                        ":id\",method=\"GET\",status=\"200\"}"),
                     2);
    ck_assert_int_eq(series_value(text, "crm_http_requests_total{service=\"test\",route=\"/"
                                        "things\",method=\"GET\",status=\"200\"}"),
                     1);
    ck_assert_int_eq(series_value(text, "crm_http_requests_total{service=\"test\",route=\"/"
                                        "things\",method=\"DELETE\",status=\"405\"}"),
                     1);
    ck_assert_int_eq(series_value(text, "crm_http_requests_total{service=\"test\",route=\"/"
                                        "echo\",method=\"POST\",status=\"415\"}"),
                     1);
    ck_assert_int_eq(series_value(text, "crm_http_request_duration_seconds_count{service=\"test\","
                                        "route=\"/things/:id\",method=\"GET\"}"),
                     2);
    /* Raw paths and unknown methods never become labels. */
    ck_assert_ptr_null(strstr(text, "/things/abc"));
    ck_assert_ptr_null(strstr(text, "/things/xyz"));
    ck_assert_ptr_null(strstr(text, "/no/such/path"));
    ck_assert_ptr_null(strstr(text, "BREW"));
    reply_clean(&r);
}
END_TEST

/* ---- request bodies ---- */

START_TEST(test_body_content_types)
{
    static const struct {
        const char *content_type;
        long status;
    } cases[] = {
        {NULL, 415},
        {"text/plain", 415},
        {"application/x-www-form-urlencoded", 415},
        {"application/jsonx", 415},
        {"application/json-patch+json", 415},
        {"application/merge-patch+json", 415}, /* only where the flag is set */
        {"application/json; charset=latin1", 415},
        {"application/json", 200},
        {"application/json; charset=utf-8", 200},
        {"application/json;charset=UTF-8", 200},
        {"Application/JSON", 200},
    };
    server_start();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reply r;
        post_json(&r, "/echo", cases[i].content_type, "{\"a\":1}");
        ck_assert_msg(r.status == cases[i].status, "Content-Type %s answered %ld",
                      cases[i].content_type ? cases[i].content_type : "(none)", r.status);
        if (cases[i].status == 415)
            assert_problem(&r, 415, "unsupported-media-type");
        else
            assert_echoed(&r, "{\"a\":1}");
        reply_clean(&r);
    }
}
END_TEST

START_TEST(test_merge_patch_only_with_flag)
{
    reply r;
    server_start();
    http_full(&r, "PATCH", "/echo", "application/merge-patch+json", "{\"a\":null}", 10, 0, NULL);
    assert_echoed(&r, "{\"a\":null}");
    reply_clean(&r);
    http_full(&r, "PATCH", "/echo", "application/json", "{\"a\":2}", 7, 0, NULL);
    assert_echoed(&r, "{\"a\":2}");
    reply_clean(&r);
    http_full(&r, "PATCH", "/echo", "text/plain", "{\"a\":2}", 7, 0, NULL);
    assert_problem(&r, 415, "unsupported-media-type");
    reply_clean(&r);
    post_json(&r, "/echo", "application/merge-patch+json", "{\"a\":2}");
    assert_problem(&r, 415, "unsupported-media-type");
    reply_clean(&r);
}
END_TEST

START_TEST(test_malformed_bodies_are_400)
{
    static const char *const bodies[] = {
        "",
        "{",
        "{\"a\":1,}",
        "{'a':1}",
        "{\"a\":1} x",
        "{\"a\":1}{\"b\":2}",
        "{\"a\":1,\"a\":2}",
        "{\"o\":{\"k\":1,\"k\":1}}",
        "{\"a\":\"\xff\"}",
        "{\"a\":\"\xc3\x28\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "{\"\xff\":1}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":NaN}",
    };
    server_start();
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        reply r;
        post_json(&r, "/echo", "application/json", bodies[i]);
        ck_assert_msg(r.status == 400, "body %zu (%s) answered %ld", i, bodies[i], r.status);
        assert_problem(&r, 400, "malformed-request");
        reply_clean(&r);
    }
}
END_TEST

/* A \u0000 escape is refused as malformed (strings stay NUL-terminated), in words of the API
 * rather than jansson's, whose text names one of its flags. */
START_TEST(test_nul_escape_is_400_in_plain_words)
{
    reply r;
    server_start();
    post_json(&r, "/echo", "application/json", "{\"name\":\"a\\u0000b\"}");
    assert_problem(&r, 400, "malformed-request");
    const char *detail = json_string_value(json_object_get(r.json, "detail"));
    ck_assert_ptr_nonnull(detail);
    ck_assert_msg(strstr(detail, "\\u0000") != NULL, "detail: %s", detail);
    ck_assert_msg(strstr(detail, "JSON_") == NULL, "detail names a jansson flag: %s", detail);
    reply_clean(&r);
}
END_TEST

START_TEST(test_body_without_content_is_400)
{
    reply r;
    server_start();
    http_full(&r, "POST", "/echo", "application/json", NULL, 0, 0, NULL);
    assert_problem(&r, 400, "malformed-request");
    reply_clean(&r);
}
END_TEST

/* `{"a":` + (depth - 1) arrays + `}`: an object nested `depth` deep. */
static char *nested(int depth)
{
    char *text = malloc((size_t)depth * 2 + 16);
    size_t n = (size_t)sprintf(text, "{\"a\":");
    for (int i = 1; i < depth; i++)
        text[n++] = '[';
    for (int i = 1; i < depth; i++)
        text[n++] = ']';
    text[n++] = '}';
    text[n] = '\0';
    return text;
}

START_TEST(test_nesting_limit)
{
    reply r;
    server_start();
    char *ok = nested(32);
    post_json(&r, "/echo", "application/json", ok);
    assert_echoed(&r, ok);
    reply_clean(&r);
    free(ok);

    char *deep = nested(33);
    post_json(&r, "/echo", "application/json", deep);
    assert_problem(&r, 400, "malformed-request");
    reply_clean(&r);
    free(deep);

    char *very_deep = nested(100000);
    post_json(&r, "/echo", "application/json", very_deep);
    assert_problem(&r, 400, "malformed-request");
    reply_clean(&r);
    free(very_deep);

    /* Brackets inside strings do not nest. */
    const char *stringy =
        "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"{{{{{{{{{{{{{{{{{{{{"
        "{{{{{{{{{{{{{{{{{{{{\"}";
    post_json(&r, "/echo", "application/json", stringy);
    assert_echoed(&r, stringy);
    reply_clean(&r);
}
END_TEST

START_TEST(test_non_object_body_is_422)
{
    static const char *const bodies[] = {"[1,2]", "[]", "\"text\"", "42", "null", "true"};
    server_start();
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        reply r;
        post_json(&r, "/echo", "application/json", bodies[i]);
        ck_assert_msg(r.status == 422, "body %s answered %ld", bodies[i], r.status);
        assert_problem(&r, 422, "validation");
        json_t *errors = json_object_get(r.json, "errors");
        ck_assert_uint_eq(json_array_size(errors), 1);
        ck_assert_str_eq(member_string(json_array_get(errors, 0), "field"), "");
        ck_assert_str_eq(member_string(json_array_get(errors, 0), "code"), "type");
        reply_clean(&r);
    }
}
END_TEST

/* A JSON object `{"s":"aaa..."}` of exactly `size` bytes. */
static char *object_of_size(size_t size)
{
    char *text = malloc(size + 1);
    ck_assert_ptr_nonnull(text);
    memcpy(text, "{\"s\":\"", 6);
    memset(text + 6, 'a', size - 8);
    memcpy(text + size - 2, "\"}", 2);
    text[size] = '\0';
    return text;
}

START_TEST(test_body_size_limit)
{
    reply r;
    server_start();
    char *exact = object_of_size(CRM_HTTP_MAX_BODY);
    post_json(&r, "/echo", "application/json", exact);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(member_string(r.json, "s") + CRM_HTTP_MAX_BODY - 9, "a");
    ck_assert_uint_eq(strlen(member_string(r.json, "s")), CRM_HTTP_MAX_BODY - 8);
    reply_clean(&r);
    free(exact);

    char *over = object_of_size(CRM_HTTP_MAX_BODY + 1);
    post_json(&r, "/echo", "application/json", over);
    assert_problem(&r, 413, "payload-too-large");
    reply_clean(&r);

    /* Without Content-Length (chunked) the limit holds as well. */
    http_full(&r, "POST", "/echo", "application/json", over, CRM_HTTP_MAX_BODY + 1, 1, NULL);
    assert_problem(&r, 413, "payload-too-large");
    reply_clean(&r);
    free(over);

    char *far_over = object_of_size(3 * CRM_HTTP_MAX_BODY);
    http_full(&r, "POST", "/echo", "application/json", far_over, 3 * CRM_HTTP_MAX_BODY, 1, NULL);
    assert_problem(&r, 413, "payload-too-large");
    reply_clean(&r);
    free(far_over);

    const char *small = "{\"chunked\":true}";
    http_full(&r, "POST", "/echo", "application/json", small, strlen(small), 1, NULL);
    assert_echoed(&r, small);
    reply_clean(&r);
}
END_TEST

START_TEST(test_valid_bodies_are_echoed)
{
    static const char *const bodies[] = {
        "{}",
        " \n{ \"a\" : [1, 2.5, true, null, {\"b\": \"c\"}] }\n ",
        "{\"text\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 \\u00e9 \\\" \\\\ ]}\"}",
        "{\"a\":1,\"A\":2}",
    };
    server_start();
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        reply r;
        post_json(&r, "/echo", "application/json", bodies[i]);
        assert_echoed(&r, bodies[i]);
        reply_clean(&r);
    }
}
END_TEST

/* ---- lifecycle ---- */

static int count_entries(const char *path)
{
    DIR *dir = opendir(path);
    ck_assert_ptr_nonnull(dir);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] != '.')
            count++;
    }
    closedir(dir);
    return count;
}

START_TEST(test_nothing_left_behind)
{
    /* The fixture's server is not started yet: free it, then measure. */
    crm_http_server_free(server);
    server = NULL;
    int threads = count_entries("/proc/self/task");
    int fds = count_entries("/proc/self/fd");
    for (int round = 0; round < 3; round++) {
        server = server_create(port);
        server_start();
        ck_assert_int_gt(count_entries("/proc/self/task"), threads);
        reply r;
        http(&r, "GET", "/things");
        ck_assert_int_eq(r.status, 200);
        reply_clean(&r);
        post_json(&r, "/echo", "application/json", "[1]");
        ck_assert_int_eq(r.status, 422);
        reply_clean(&r);
        if (round == 1)
            crm_http_server_stop(server, 1); /* stop, then free */
        crm_http_server_free(server);
        server = NULL;
        ck_assert_int_eq(count_entries("/proc/self/task"), threads);
        ck_assert_int_eq(count_entries("/proc/self/fd"), fds);
    }
}
END_TEST

START_TEST(test_stopped_server_refuses_connections)
{
    reply r;
    server_start();
    http(&r, "GET", "/healthz");
    ck_assert_int_eq(r.status, 200);
    reply_clean(&r);
    crm_http_server_stop(server, 0);

    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%ld/healthz", port);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    CURLcode rc = curl_easy_perform(curl);
    curl_easy_cleanup(curl);
    ck_assert_int_eq(rc, CURLE_COULDNT_CONNECT);
    crm_http_server_stop(server, 0); /* a second stop is harmless */
}
END_TEST

static void *slow_client(void *arg)
{
    reply *r = arg;
    http(r, "GET", "/slow");
    return NULL;
}

START_TEST(test_stop_waits_for_in_flight_requests)
{
    reply r;
    pthread_t client;
    server_start();
    atomic_store(&slow_entered, 0);
    ck_assert_int_eq(pthread_create(&client, NULL, slow_client, &r), 0);
    while (!atomic_load(&slow_entered))
        usleep(1000);
    crm_http_server_stop(server, 5);
    ck_assert_int_eq(pthread_join(client, NULL), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(member_string(r.json, "handler"), "slow");
    reply_clean(&r);
}
END_TEST

START_TEST(test_port_taken)
{
    server_start();
    crm_http_server *second = server_create(port);
    ck_assert_int_eq(crm_http_server_start(second), -1);
    crm_http_server_free(second);

    /* The first server still answers. */
    reply r;
    http(&r, "GET", "/healthz");
    ck_assert_int_eq(r.status, 200);
    reply_clean(&r);
}
END_TEST

/* The server closes its side first (a kept-alive client connection), leaving the port in
 * TIME_WAIT: a restarted server must still bind it. */
START_TEST(test_restart_on_same_port)
{
    char url[64];
    long status = 0;
    server_start();
    snprintf(url, sizeof(url), "http://127.0.0.1:%ld/healthz", port);
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_test_discard);
    ck_assert_int_eq(curl_easy_perform(curl), CURLE_OK);
    crm_http_server_free(server);
    server = server_create(port);
    server_start();
    ck_assert_int_eq(curl_easy_perform(curl), CURLE_OK);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    ck_assert_int_eq(status, 200);
    curl_easy_cleanup(curl);
}
END_TEST

START_TEST(test_port_taken_by_other_socket)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    ck_assert_int_eq(crm_http_server_start(server), -1);
    close(fd);
}
END_TEST

START_TEST(test_bad_bind_address)
{
    free(settings.bind);
    settings.bind = strdup("localhost");
    ck_assert_int_eq(crm_http_server_start(server), -1);
}
END_TEST

START_TEST(test_free_null)
{
    crm_http_server_free(NULL);
    crm_http_server_stop(NULL, 0);
}
END_TEST

START_TEST(test_server_metrics_registry)
{
    crm_metrics *metrics = crm_http_server_metrics(server);
    ck_assert_ptr_nonnull(metrics);
    crm_metrics_counter_add(metrics, "crm_test_events_total", "Test events.", 3);
    server_start();
    reply r;
    http(&r, "GET", "/metrics");
    ck_assert_int_eq(series_value(r.body, "crm_test_events_total{service=\"test\"}"), 3);
    reply_clean(&r);
}
END_TEST

/* ---- pure helpers ---- */

static int depth_ok(const char *text, int max_depth)
{
    return crm_http_json_depth_ok(text, strlen(text), max_depth);
}

START_TEST(test_json_depth_ok)
{
    ck_assert_int_eq(depth_ok("", 0), 0);
    ck_assert_int_eq(depth_ok("1", 0), 0);
    ck_assert_int_eq(depth_ok("{}", 0), -1);
    ck_assert_int_eq(depth_ok("{}", 1), 0);
    ck_assert_int_eq(depth_ok("[[]]", 2), 0);
    ck_assert_int_eq(depth_ok("[[]]", 1), -1);
    ck_assert_int_eq(depth_ok("{\"a\":[{\"b\":[]}]}", 4), 0);
    ck_assert_int_eq(depth_ok("{\"a\":[{\"b\":[]}]}", 3), -1);
    /* Siblings do not add up. */
    ck_assert_int_eq(depth_ok("[[],[],[],[],[],[],[],[],[],[],[],[],[],[]]", 2), 0);
    ck_assert_int_eq(depth_ok("[{},{},[[]]]", 2), -1);
    /* Brackets inside strings do not count. */
    ck_assert_int_eq(depth_ok("\"[[[[{{{{\"", 0), 0);
    ck_assert_int_eq(depth_ok("{\"[[[[\":\"]]]]{{{{\"}", 1), 0);
    /* An escaped quote does not end the string... */
    ck_assert_int_eq(depth_ok("[\"\\\"[[[[\"]", 1), 0);
    /* ...but an escaped backslash before the quote does. */
    ck_assert_int_eq(depth_ok("[\"\\\\\",[[]]]", 3), 0);
    ck_assert_int_eq(depth_ok("[\"\\\\\",[[]]]", 2), -1);
    /* Only `len` bytes are read. */
    ck_assert_int_eq(crm_http_json_depth_ok("[[[[", 1, 1), 0);
    ck_assert_int_eq(crm_http_json_depth_ok("[[[[", 2, 1), -1);

    char *ok = nested(32), *deep = nested(33);
    ck_assert_int_eq(depth_ok(ok, 32), 0);
    ck_assert_int_eq(depth_ok(deep, 32), -1);
    free(ok);
    free(deep);
}
END_TEST

START_TEST(test_request_id_valid)
{
    char id[200];
    ck_assert_int_eq(crm_http_request_id_valid("abc-1.2:3_x"), 1);
    ck_assert_int_eq(crm_http_request_id_valid("a"), 1);
    ck_assert_int_eq(crm_http_request_id_valid("AZaz09._:-"), 1);
    ck_assert_int_eq(crm_http_request_id_valid("0b7e5c4e-3f4a-4c1d-9b1e-2f3a4b5c6d7e"), 1);
    ck_assert_int_eq(crm_http_request_id_valid(""), 0);
    ck_assert_int_eq(crm_http_request_id_valid("has space"), 0);
    ck_assert_int_eq(crm_http_request_id_valid("a/b"), 0);
    ck_assert_int_eq(crm_http_request_id_valid("a\nb"), 0);
    ck_assert_int_eq(crm_http_request_id_valid("a\tb"), 0);
    ck_assert_int_eq(crm_http_request_id_valid("caf\xc3\xa9"), 0);
    ck_assert_int_eq(crm_http_request_id_valid("a+b"), 0);
    ck_assert_int_eq(crm_http_request_id_valid("a\"b"), 0);
    ck_assert_int_eq(crm_http_request_id_valid("a,b"), 0);
    memset(id, 'x', sizeof(id));
    id[128] = '\0';
    ck_assert_int_eq(crm_http_request_id_valid(id), 1);
    id[128] = 'x';
    id[129] = '\0';
    ck_assert_int_eq(crm_http_request_id_valid(id), 0);
    id[127] = ' ';
    id[128] = '\0';
    ck_assert_int_eq(crm_http_request_id_valid(id), 0);
}
END_TEST

static Suite *http_suite(void)
{
    Suite *suite = suite_create("http");

    TCase *serve = tcase_create("serve");
    tcase_add_checked_fixture(serve, setup, teardown);
    tcase_set_timeout(serve, 60);
    tcase_add_test(serve, test_routes_answer);
    tcase_add_test(serve, test_unknown_path_is_404);
    tcase_add_test(serve, test_encoded_nul_in_path_is_400);
    tcase_add_test(serve, test_wrong_method_is_405);
    tcase_add_test(serve, test_valid_request_id_is_echoed);
    tcase_add_test(serve, test_invalid_request_id_is_replaced);
    tcase_add_test(serve, test_missing_request_id_is_generated);
    tcase_add_test(serve, test_healthz);
    tcase_add_test(serve, test_readyz_without_checks);
    tcase_add_test(serve, test_readyz_all_up);
    tcase_add_test(serve, test_readyz_required_down);
    tcase_add_test(serve, test_readyz_optional_down);
    tcase_add_test(serve, test_readyz_required_wins_in_any_order);
    tcase_add_test(serve, test_readiness_capacity);
    tcase_add_test(serve, test_metrics_use_route_patterns);
    tcase_add_test(serve, test_response_hook_sees_every_answer);
    tcase_add_test(serve, test_server_metrics_registry);
    suite_add_tcase(suite, serve);

    TCase *bodies = tcase_create("bodies");
    tcase_add_checked_fixture(bodies, setup, teardown);
    tcase_set_timeout(bodies, 60);
    tcase_add_test(bodies, test_body_content_types);
    tcase_add_test(bodies, test_merge_patch_only_with_flag);
    tcase_add_test(bodies, test_malformed_bodies_are_400);
    tcase_add_test(bodies, test_body_without_content_is_400);
    tcase_add_test(bodies, test_nul_escape_is_400_in_plain_words);
    tcase_add_test(bodies, test_nesting_limit);
    tcase_add_test(bodies, test_non_object_body_is_422);
    tcase_add_test(bodies, test_body_size_limit);
    tcase_add_test(bodies, test_valid_bodies_are_echoed);
    suite_add_tcase(suite, bodies);

    TCase *lifecycle = tcase_create("lifecycle");
    tcase_add_checked_fixture(lifecycle, setup, teardown);
    tcase_set_timeout(lifecycle, 60);
    tcase_add_test(lifecycle, test_nothing_left_behind);
    tcase_add_test(lifecycle, test_stopped_server_refuses_connections);
    tcase_add_test(lifecycle, test_stop_waits_for_in_flight_requests);
    tcase_add_test(lifecycle, test_port_taken);
    tcase_add_test(lifecycle, test_restart_on_same_port);
    tcase_add_test(lifecycle, test_port_taken_by_other_socket);
    tcase_add_test(lifecycle, test_bad_bind_address);
    tcase_add_test(lifecycle, test_free_null);
    suite_add_tcase(suite, lifecycle);

    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, test_json_depth_ok);
    tcase_add_test(pure, test_request_id_valid);
    suite_add_tcase(suite, pure);
    return suite;
}

int main(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return EXIT_FAILURE;
    SRunner *runner = srunner_create(http_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    curl_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
