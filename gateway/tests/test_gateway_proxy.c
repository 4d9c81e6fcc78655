/* End-to-end tests of crm-gateway, the real executable (argv[1]), in front of fake services that
 * run in this process (fake_upstream.c): one instance per service, limits off, CORS for
 * https://app.example, 127.0.0.2 trusted as a proxy, a 1 s upstream timeout. Routing, what
 * crosses in each direction, request ids, X-Forwarded-For, the answers the gateway gives itself
 * (401, 404, 405, 413, 504), CORS, keep-alive reuse and metrics. Each test counts what reached the
 * fakes, so "before any upstream is touched" is checked, not assumed. The gateway is stopped by the
 * last test (which checks a clean exit, so a leak the sanitizers find fails it), by the teardown,
 * at exit, and by the kernel if this process dies. */
#include "crm/http.h"
#include "fake_upstream.h"
#include "harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *token_alice, *token_forged, *token_expired;
static char bearer_alice[4096];
static fake_upstream *auth, *customers, *cases;
static gateway_process main_gw;

static const char UUID_PATTERN[] =
    "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$";

static void suite_setup(void)
{
    char a[128], c[128], k[128];
    signing_key stranger;
    ck_assert_int_eq(harness_key_setup(), 0);
    /* Signed by a key the gateway does not hold, under the kid of one it does. */
    ck_assert_int_eq(signing_key_make(&stranger, NULL), 0);
    snprintf(stranger.kid, sizeof(stranger.kid), "%s", harness_key.kid);
    token_alice = token_sign(&harness_key, "aaaaaaaaaaaaaaaaaaaaaaaa", "agent", 600);
    token_forged = token_sign(&stranger, "aaaaaaaaaaaaaaaaaaaaaaaa", "admin", 600);
    token_expired = token_sign(&harness_key, "aaaaaaaaaaaaaaaaaaaaaaaa", "agent", -600);
    signing_key_clean(&stranger);
    ck_assert(token_alice && token_forged && token_expired);
    bearer_header(bearer_alice, sizeof(bearer_alice), token_alice);

    auth = fake_upstream_start("auth");
    customers = fake_upstream_start("customers");
    cases = fake_upstream_start("cases");
    ck_assert(auth && customers && cases);
    harness_url_setting(a, sizeof(a), "CRM_AUTH_URL", fake_upstream_port(auth), 0);
    harness_url_setting(c, sizeof(c), "CRM_CUSTOMERS_URL", fake_upstream_port(customers), 0);
    harness_url_setting(k, sizeof(k), "CRM_CASES_URL", fake_upstream_port(cases), 0);
    const char *const settings[] = {a,
                                    c,
                                    k,
                                    "CRM_RATE_AUTH_PER_MINUTE=0",
                                    "CRM_RATE_API_PER_SECOND=0",
                                    "CRM_CORS_ORIGINS=https://app.example",
                                    "CRM_TRUSTED_PROXIES=127.0.0.2",
                                    "CRM_UPSTREAM_CONNECT_TIMEOUT_MS=500",
                                    "CRM_UPSTREAM_TIMEOUT_MS=1000",
                                    NULL};
    ck_assert_int_eq(gateway_process_start(&main_gw, harness_gateway_binary, "main",
                                           harness_public_key_file, settings),
                     0);
}

static void suite_teardown(void)
{
    gateway_process_kill_all();
    fake_upstream_stop(auth);
    fake_upstream_stop(customers);
    fake_upstream_stop(cases);
    free(token_alice);
    free(token_forged);
    free(token_expired);
    harness_key_clean();
}

static long upstream_total(void)
{
    return fake_upstream_requests(auth) + fake_upstream_requests(customers) +
           fake_upstream_requests(cases);
}

static void assert_routed(const char *method, const char *path, const char *service,
                          const char *target)
{
    reply r;
    const char *const headers[] = {bearer_alice, "Content-Type: application/json", NULL};
    request_options options = {.headers = headers};
    if (strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0) {
        options.body = "{}";
        options.body_len = 2;
    }
    http_call(&r, main_gw.port, method, path, &options);
    ck_assert_msg(r.status == 200, "%s %s: %ld %s", method, path, r.status, r.body);
    ck_assert_str_eq(echo_field(&r, "upstream"), service);
    ck_assert_str_eq(echo_field(&r, "method"), method);
    ck_assert_str_eq(echo_field(&r, "target"), target ? target : path);
    reply_clean(&r);
}

START_TEST(test_routes_reach_their_service)
{
    assert_routed("POST", "/api/auth/register", "auth", NULL);
    assert_routed("POST", "/api/auth/login", "auth", NULL);
    assert_routed("POST", "/api/auth/refresh", "auth", NULL);
    assert_routed("POST", "/api/auth/logout", "auth", NULL);
    assert_routed("GET", "/api/auth/jwks.json", "auth", NULL);
    assert_routed("GET", "/api/auth/me", "auth", NULL);
    assert_routed("GET", "/api/users", "auth", NULL);
    assert_routed("GET", "/api/users/0123456789abcdef01234567", "auth", NULL);
    assert_routed("PATCH", "/api/users/0123456789abcdef01234567", "auth", NULL);
    assert_routed("GET", "/api/customers", "customers", NULL);
    assert_routed("POST", "/api/customers", "customers", NULL);
    assert_routed("GET", "/api/customers/c1", "customers", NULL);
    assert_routed("PATCH", "/api/customers/c1", "customers", NULL);
    assert_routed("DELETE", "/api/customers/c1", "customers", NULL);
    assert_routed("GET", "/api/customers/c1/cases", "cases", NULL);
    assert_routed("GET", "/api/cases", "cases", NULL);
    assert_routed("POST", "/api/cases", "cases", NULL);
    assert_routed("GET", "/api/cases/k1", "cases", NULL);
    assert_routed("PATCH", "/api/cases/k1", "cases", NULL);
    assert_routed("DELETE", "/api/cases/k1", "cases", NULL);
    /* Query strings and percent-encoding travel untouched. */
    assert_routed("GET", "/api/customers?q=a%20b&tag=x%2Fy&name=%C3%A9&empty=", "customers", NULL);
    assert_routed("GET", "/api/customers/c%2F1/cases?status=open,new", "cases", NULL);
}
END_TEST

START_TEST(test_bodies_and_answers_are_relayed)
{
    reply r;
    static const char body[] = "{\"name\":\"Ada\"}";
    const char *const headers[] = {bearer_alice, "Content-Type: application/json", NULL};
    request_options options = {.headers = headers, .body = body, .body_len = strlen(body)};
    http_call(&r, main_gw.port, "POST", "/api/customers?fake_status=201", &options);
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(echo_header(&r, "content-type"), "application/json");
    ck_assert_str_eq(echo_header(&r, "content-length"), "14");
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "body_length")), 14);
    /* The answer: status, headers and body as the service sent them, minus hop-by-hop ones. */
    ck_assert_str_eq(reply_header(&r, "ETag"), "\"7\"");
    ck_assert_str_eq(reply_header(&r, "Location"), "/api/things/1");
    ck_assert_str_eq(reply_header(&r, "X-Upstream"), "customers");
    ck_assert_str_eq(reply_header(&r, "Content-Type"), "application/json");
    ck_assert_ptr_null(reply_header(&r, "Keep-Alive"));
    ck_assert_ptr_null(reply_header(&r, "Access-Control-Allow-Origin")); /* the service's "*" */
    ck_assert_str_ne(reply_header(&r, "X-Request-Id"), "upstream-own-id");
    reply_clean(&r);

    /* A DELETE without a body stays without one. */
    http_call(&r, main_gw.port, "DELETE", "/api/cases/k1?fake_status=204",
              &(request_options){.headers = (const char *const[]){bearer_alice, NULL}});
    ck_assert_int_eq(r.status, 204);
    ck_assert_uint_eq(r.len, 0);
    reply_clean(&r);
    /* "Accept:" makes the test's client send no Accept: the gateway must not add libcurl's. */
    http_call(&r, main_gw.port, "DELETE", "/api/cases/k1",
              &(request_options){.headers = (const char *const[]){bearer_alice, "Accept:", NULL}});
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(echo_header(&r, "content-length"));
    ck_assert_ptr_null(echo_header(&r, "content-type"));
    ck_assert_ptr_null(echo_header(&r, "accept"));
    ck_assert_ptr_null(echo_header(&r, "expect"));
    reply_clean(&r);

    /* A 304 has no body. */
    get_as(&r, &main_gw, "/api/customers/c1?fake_status=304", bearer_alice);
    ck_assert_int_eq(r.status, 304);
    ck_assert_uint_eq(r.len, 0);
    reply_clean(&r);
}
END_TEST

START_TEST(test_identity_headers_never_reach_a_service)
{
    reply r;
    const char *const headers[] = {bearer_alice,
                                   "X-User-Id: 000000000000000000000000",
                                   "X-User-Role: admin",
                                   "X-Principal: admin",
                                   "X-Auth-User: admin",
                                   "X-Authenticated-Userid: admin",
                                   "X-Forwarded-User: admin",
                                   "X-Remote-User: admin",
                                   "Remote-User: admin",
                                   "X-Role: admin",
                                   "X-Real-IP: 6.6.6.6",
                                   "Forwarded: for=6.6.6.6",
                                   "X-HTTP-Method-Override: DELETE",
                                   "X-Forwarded-Proto: https",
                                   "Connection: keep-alive, X-Hop",
                                   "X-Hop: secret",
                                   "X-Custom: kept",
                                   "User-Agent: tester/1",
                                   NULL};
    request_options options = {.headers = headers};
    http_call(&r, main_gw.port, "GET", "/api/customers", &options);
    ck_assert_int_eq(r.status, 200);
    json_t *seen = json_object_get(r.json, "headers");
    const char *key;
    json_t *value;
    json_object_foreach(seen, key, value)
    {
        ck_assert_msg(strncmp(key, "x-user", 6) != 0 && strncmp(key, "x-principal", 11) != 0 &&
                          strncmp(key, "x-auth", 6) != 0 && strcmp(key, "x-forwarded-user") != 0 &&
                          strcmp(key, "x-remote-user") != 0 && strcmp(key, "remote-user") != 0 &&
                          strcmp(key, "x-role") != 0 && strcmp(key, "x-real-ip") != 0 &&
                          strcmp(key, "forwarded") != 0 &&
                          strcmp(key, "x-http-method-override") != 0 &&
                          strcmp(key, "x-forwarded-proto") != 0 && strcmp(key, "x-hop") != 0,
                      "%s reached the service", key);
    }
    /* Authorization travels as sent: services verify it again. */
    ck_assert_str_eq(echo_header(&r, "authorization"), bearer_alice + strlen("Authorization: "));
    ck_assert_str_eq(echo_header(&r, "x-custom"), "kept");
    ck_assert_str_eq(echo_header(&r, "user-agent"), "tester/1");
    char host[64];
    snprintf(host, sizeof(host), "127.0.0.1:%d", fake_upstream_port(customers));
    ck_assert_str_eq(echo_header(&r, "host"), host); /* not the client's Host */
    reply_clean(&r);
}
END_TEST

START_TEST(test_request_ids)
{
    reply r;
    const char *const sane[] = {bearer_alice, "X-Request-Id: client-id.1:2_3", NULL};
    http_call(&r, main_gw.port, "GET", "/api/cases", &(request_options){.headers = sane});
    ck_assert_str_eq(reply_header(&r, "X-Request-Id"), "client-id.1:2_3");
    ck_assert_str_eq(echo_header(&r, "x-request-id"), "client-id.1:2_3");
    reply_clean(&r);

    const char *const insane[] = {bearer_alice, "X-Request-Id: not sane!", NULL};
    http_call(&r, main_gw.port, "GET", "/api/cases", &(request_options){.headers = insane});
    const char *id = reply_header(&r, "X-Request-Id");
    ck_assert_msg(matches(UUID_PATTERN, id), "%s", id);
    ck_assert_str_eq(echo_header(&r, "x-request-id"), id);
    reply_clean(&r);

    get_as(&r, &main_gw, "/api/cases", bearer_alice);
    id = reply_header(&r, "X-Request-Id");
    ck_assert_msg(matches(UUID_PATTERN, id), "%s", id);
    ck_assert_str_eq(echo_header(&r, "x-request-id"), id);
    reply_clean(&r);
}
END_TEST

START_TEST(test_forwarded_for)
{
    reply r;
    const char *const spoof[] = {bearer_alice, "X-Forwarded-For: 1.2.3.4",
                                 "X-Forwarded-Proto: https", NULL};
    /* From an untrusted peer the client's list is replaced. */
    http_call(&r, main_gw.port, "GET", "/api/customers", &(request_options){.headers = spoof});
    ck_assert_str_eq(echo_header(&r, "x-forwarded-for"), "127.0.0.1");
    ck_assert_ptr_null(echo_header(&r, "x-forwarded-proto"));
    reply_clean(&r);
    /* From the trusted proxy 127.0.0.2 it is kept and extended. */
    http_call(&r, main_gw.port, "GET", "/api/customers",
              &(request_options){.headers = spoof, .source = "127.0.0.2"});
    ck_assert_str_eq(echo_header(&r, "x-forwarded-for"), "1.2.3.4, 127.0.0.2");
    ck_assert_str_eq(echo_header(&r, "x-forwarded-proto"), "https");
    reply_clean(&r);
    http_call(&r, main_gw.port, "GET", "/api/customers",
              &(request_options){.headers = (const char *const[]){bearer_alice, NULL},
                                 .source = "127.0.0.2"});
    ck_assert_str_eq(echo_header(&r, "x-forwarded-for"), "127.0.0.2");
    reply_clean(&r);
}
END_TEST

START_TEST(test_unauthorized_before_any_upstream)
{
    char forged[4096], expired[4096];
    snprintf(forged, sizeof(forged), "Authorization: Bearer %s", token_forged);
    snprintf(expired, sizeof(expired), "Authorization: Bearer %s", token_expired);
    const char *const bad[] = {NULL,
                               "Authorization: Bearer",
                               "Authorization: Bearer not.a.jwt",
                               "Authorization: Basic YWRtaW46YWRtaW4=",
                               forged,
                               expired};
    const char *const paths[] = {"/api/customers", "/api/cases/k1", "/api/users", "/api/auth/me",
                                 "/api/customers/c1/cases"};
    long before = upstream_total();
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
            reply r;
            const char *const headers[] = {bad[i], "X-User-Role: admin", NULL};
            request_options options = {.headers = bad[i] ? headers : NULL};
            http_call(&r, main_gw.port, "GET", paths[p], &options);
            ck_assert_msg(r.status == 401, "%s with %s: %ld", paths[p], bad[i] ? bad[i] : "none",
                          r.status);
            ck_assert_str_eq(reply_header(&r, "WWW-Authenticate"), "Bearer");
            ck_assert_str_eq(reply_header(&r, "Content-Type"), "application/problem+json");
            ck_assert_str_eq(problem_type(&r), "/problems/unauthorized");
            ck_assert_ptr_nonnull(reply_header(&r, "X-Request-Id"));
            reply_clean(&r);
        }
    }
    ck_assert_int_eq(upstream_total(), before);
}
END_TEST

START_TEST(test_unknown_routes_and_methods)
{
    reply r;
    long before = upstream_total();
    static const char *const unknown[] = {"/api/nope", "/api", "/api/customers/c1/cases/k1",
                                          "/api/auth", "/nope"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        get_as(&r, &main_gw, unknown[i], bearer_alice);
        ck_assert_msg(r.status == 404, "%s: %ld", unknown[i], r.status);
        ck_assert_str_eq(problem_type(&r), "/problems/not-found");
        reply_clean(&r);
    }
    const char *const headers[] = {bearer_alice, NULL};
    http_call(&r, main_gw.port, "DELETE", "/api/customers", &(request_options){.headers = headers});
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(reply_header(&r, "Allow"), "GET, POST, OPTIONS");
    ck_assert_str_eq(problem_type(&r), "/problems/method-not-allowed");
    reply_clean(&r);
    http_call(&r, main_gw.port, "PUT", "/api/cases/k1", &(request_options){.headers = headers});
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(reply_header(&r, "Allow"), "GET, PATCH, DELETE, OPTIONS");
    reply_clean(&r);
    http_call(&r, main_gw.port, "GET", "/api/auth/login", NULL);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(reply_header(&r, "Allow"), "POST, OPTIONS");
    reply_clean(&r);
    ck_assert_int_eq(upstream_total(), before);
}
END_TEST

START_TEST(test_body_limit_before_any_upstream)
{
    reply r;
    size_t size = CRM_HTTP_MAX_BODY + 1;
    char *big = malloc(size);
    ck_assert_ptr_nonnull(big);
    memset(big, 'x', size);
    const char *const headers[] = {bearer_alice, "Content-Type: application/octet-stream", NULL};
    long before = upstream_total();
    request_options options = {.headers = headers, .body = big, .body_len = size};
    http_call(&r, main_gw.port, "POST", "/api/customers", &options);
    ck_assert_int_eq(r.status, 413);
    ck_assert_str_eq(problem_type(&r), "/problems/payload-too-large");
    reply_clean(&r);
    options.chunked = 1; /* no Content-Length: the received length decides */
    http_call(&r, main_gw.port, "PATCH", "/api/cases/k1", &options);
    ck_assert_int_eq(r.status, 413);
    reply_clean(&r);
    http_call(&r, main_gw.port, "POST", "/api/auth/login", &options); /* public routes too */
    ck_assert_int_eq(r.status, 413);
    reply_clean(&r);
    ck_assert_int_eq(upstream_total(), before);

    /* Exactly the limit passes, whatever its type: the services judge the content. */
    options = (request_options){.headers = headers, .body = big, .body_len = size - 1};
    http_call(&r, main_gw.port, "POST", "/api/customers", &options);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r.json, "body_length")), size - 1);
    ck_assert_str_eq(echo_header(&r, "content-type"), "application/octet-stream");
    reply_clean(&r);
    ck_assert_int_eq(upstream_total(), before + 1);
    free(big);
}
END_TEST

START_TEST(test_connections_are_kept_alive_and_reused)
{
    reply r;
    /* One client connection: one gateway worker, so at most one new upstream connection. */
    CURL *client = curl_easy_init();
    long connections = fake_upstream_connections(customers);
    long requests = fake_upstream_requests(customers);
    for (int i = 0; i < 40; i++) {
        http_call(&r, main_gw.port, "GET", "/api/customers",
                  &(request_options){.headers = (const char *const[]){bearer_alice, NULL},
                                     .handle = client});
        ck_assert_int_eq(r.status, 200);
        reply_clean(&r);
    }
    curl_easy_cleanup(client);
    ck_assert_int_eq(fake_upstream_requests(customers), requests + 40);
    ck_assert_int_le(fake_upstream_connections(customers), connections + 1);

    /* A new client connection each time: spread over the two workers, each reusing its own. */
    connections = fake_upstream_connections(customers);
    for (int i = 0; i < 40; i++) {
        get_as(&r, &main_gw, "/api/customers", bearer_alice);
        ck_assert_int_eq(r.status, 200);
        reply_clean(&r);
    }
    ck_assert_int_le(fake_upstream_connections(customers), connections + 2);
}
END_TEST

START_TEST(test_connections_outlive_client_connections)
{
    /* With a thread per client connection (CRM_HTTP_THREADS=0, the default), a new client
     * connection each time still reuses the upstream connections of the ones before. */
    static gateway_process per_connection_gw;
    char c[64];
    reply r;
    harness_url_setting(c, sizeof(c), "CRM_CUSTOMERS_URL", fake_upstream_port(customers), 0);
    const char *const settings[] = {c, "CRM_HTTP_THREADS=0", "CRM_RATE_API_PER_SECOND=0", NULL};
    ck_assert_int_eq(gateway_process_start(&per_connection_gw, harness_gateway_binary,
                                           "per-connection", harness_public_key_file, settings),
                     0);
    long connections = fake_upstream_connections(customers);
    long requests = fake_upstream_requests(customers);
    for (int i = 0; i < 40; i++) {
        get_as(&r, &per_connection_gw, "/api/customers", bearer_alice);
        ck_assert_int_eq(r.status, 200);
        reply_clean(&r);
    }
    ck_assert_int_eq(fake_upstream_requests(customers), requests + 40);
    ck_assert_int_le(fake_upstream_connections(customers), connections + 2);
    gateway_process_stop(&per_connection_gw);
}
END_TEST

START_TEST(test_upstream_timeout_is_504)
{
    reply r;
    get_as(&r, &main_gw, "/api/customers?fake_sleep_ms=4000", bearer_alice);
    ck_assert_int_eq(r.status, 504);
    ck_assert_str_eq(problem_type(&r), "/problems/upstream-timeout");
    ck_assert_msg(r.seconds < 3.0, "took %.2f s", r.seconds); /* the 1 s timeout, not the 4 s */
    ck_assert_ptr_null(reply_header(&r, "X-Upstream"));
    reply_clean(&r);
    get_as(&r, &main_gw, "/api/customers", bearer_alice); /* and the next one is fine */
    ck_assert_int_eq(r.status, 200);
    reply_clean(&r);
}
END_TEST

START_TEST(test_cors)
{
    reply r;
    const char *const allowed[] = {bearer_alice, "Origin: https://app.example", NULL};
    http_call(&r, main_gw.port, "GET", "/api/customers", &(request_options){.headers = allowed});
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(reply_header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    ck_assert_ptr_nonnull(strstr(reply_header(&r, "Access-Control-Expose-Headers"), "ETag"));
    ck_assert_ptr_nonnull(
        strstr(reply_header(&r, "Access-Control-Expose-Headers"), "RateLimit-Remaining"));
    ck_assert_ptr_nonnull(strstr(reply_header(&r, "Vary"), "Origin"));
    reply_clean(&r);

    const char *const other[] = {bearer_alice, "Origin: https://evil.example", NULL};
    http_call(&r, main_gw.port, "GET", "/api/customers", &(request_options){.headers = other});
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(reply_header(&r, "Access-Control-Allow-Origin"));
    ck_assert_ptr_null(reply_header(&r, "Access-Control-Expose-Headers"));
    reply_clean(&r);

    /* A page must be able to read a 401 to know it should refresh its token. */
    http_call(
        &r, main_gw.port, "GET", "/api/customers",
        &(request_options){.headers = (const char *const[]){"Origin: https://app.example", NULL}});
    ck_assert_int_eq(r.status, 401);
    ck_assert_str_eq(reply_header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    reply_clean(&r);

    long before = upstream_total();
    const char *const preflight[] = {
        "Origin: https://app.example", "Access-Control-Request-Method: PATCH",
        "Access-Control-Request-Headers: authorization, if-match", NULL};
    http_call(&r, main_gw.port, "OPTIONS", "/api/customers/c1",
              &(request_options){.headers = preflight});
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(reply_header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    ck_assert_str_eq(reply_header(&r, "Access-Control-Allow-Methods"), "GET, PATCH, DELETE");
    ck_assert_str_eq(reply_header(&r, "Access-Control-Allow-Headers"),
                     "Authorization, Content-Type, If-Match, If-None-Match, X-Request-Id");
    ck_assert_str_eq(reply_header(&r, "Access-Control-Max-Age"), "600");
    ck_assert_str_eq(reply_header(&r, "Allow"), "GET, PATCH, DELETE, OPTIONS");
    reply_clean(&r);

    const char *const refused[] = {"Origin: https://evil.example",
                                   "Access-Control-Request-Method: DELETE", NULL};
    http_call(&r, main_gw.port, "OPTIONS", "/api/customers/c1",
              &(request_options){.headers = refused});
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(reply_header(&r, "Allow"), "GET, PATCH, DELETE, OPTIONS");
    for (size_t i = 0; i < (size_t)u_map_count(&r.headers); i++)
        ck_assert_msg(strncasecmp(r.headers.keys[i], "Access-Control-", 15) != 0, "%s",
                      r.headers.keys[i]);
    reply_clean(&r);
    ck_assert_int_eq(upstream_total(), before); /* preflights never reach a service */
}
END_TEST

START_TEST(test_limits_off_means_no_ratelimit_headers)
{
    reply r;
    get_as(&r, &main_gw, "/api/customers", bearer_alice);
    ck_assert_ptr_null(reply_header(&r, "RateLimit-Limit"));
    reply_clean(&r);
    http_call(&r, main_gw.port, "POST", "/api/auth/login", NULL);
    ck_assert_ptr_null(reply_header(&r, "RateLimit-Limit"));
    reply_clean(&r);
}
END_TEST

static long metric(const char *text, const char *series)
{
    const char *at = text ? strstr(text, series) : NULL;
    return at ? strtol(at + strlen(series), NULL, 10) : -1;
}

START_TEST(test_upstream_metrics)
{
    reply r;
    get_as(&r, &main_gw, "/metrics", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_gt(metric(r.body, "crm_gateway_upstream_duration_seconds_count{service="
                                    "\"gateway\",upstream=\"customers\"} "),
                     0);
    ck_assert_int_gt(metric(r.body, "crm_gateway_upstream_requests_total{service=\"gateway\","
                                    "upstream=\"customers\",outcome=\"answered\"} "),
                     0);
    ck_assert_int_ge(metric(r.body, "crm_gateway_upstream_requests_total{service=\"gateway\","
                                    "upstream=\"customers\",outcome=\"timeout\"} "),
                     1);
    ck_assert_int_gt(metric(r.body, "crm_gateway_upstream_connections_total{service=\"gateway\","
                                    "upstream=\"customers\"} "),
                     0);
    ck_assert_ptr_nonnull(strstr(r.body, "crm_http_requests_total{service=\"gateway\",route=\"/"
                                         "api/customers/:id/cases\",method=\"GET\""));
    reply_clean(&r);
}
END_TEST

START_TEST(test_gateway_exits_cleanly)
{
    assert_clean_exit(&main_gw);
}
END_TEST

static Suite *gateway_proxy_suite(void)
{
    Suite *suite = suite_create("gateway proxy");
    TCase *tc = tcase_create("main gateway");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_test(tc, test_routes_reach_their_service);
    tcase_add_test(tc, test_bodies_and_answers_are_relayed);
    tcase_add_test(tc, test_identity_headers_never_reach_a_service);
    tcase_add_test(tc, test_request_ids);
    tcase_add_test(tc, test_forwarded_for);
    tcase_add_test(tc, test_unauthorized_before_any_upstream);
    tcase_add_test(tc, test_unknown_routes_and_methods);
    tcase_add_test(tc, test_body_limit_before_any_upstream);
    tcase_add_test(tc, test_connections_are_kept_alive_and_reused);
    tcase_add_test(tc, test_connections_outlive_client_connections);
    tcase_add_test(tc, test_upstream_timeout_is_504);
    tcase_add_test(tc, test_cors);
    tcase_add_test(tc, test_limits_off_means_no_ratelimit_headers);
    tcase_add_test(tc, test_upstream_metrics);
    tcase_add_test(tc, test_gateway_exits_cleanly);
    suite_add_tcase(suite, tc);
    return suite;
}

int main(int argc, char **argv)
{
    return harness_run(gateway_proxy_suite(), argc, argv);
}
