/* The HTTP server every executable runs: ulfius on libmicrohttpd, a thread per connection or a
 * pool of poll() workers.
 * ulfius sees one endpoint, "*": the request context is set up, then the route table is matched
 * here (router.h; ulfius's matcher split every registered pattern again on every request, about
 * 10% of the gateway's CPU), then the route runs, or a 405 answer for a known path with another
 * method, or a 404. */
#include "crm/http.h"

#include "crm/log.h"
#include "crm/metrics.h"
#include "crm/problem.h"
#include "crm/query.h"
#include "crm/router.h"
#include "crm/util.h"

#include <arpa/inet.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <ulfius.h>
#include <unistd.h>

#define MAX_JSON_DEPTH   32
#define MAX_PATH_METHODS 8
#define MAX_READINESS    8
/* Distinct live tokens remembered; about 400 bytes each, touched only when used. */
#define CRM_HTTP_TOKEN_CACHE_ENTRIES 1024

typedef struct route_slot {
    crm_route route;
    crm_http_server *server;
} route_slot;

/* One per distinct path pattern, in registration order: its routes, one per method, and the 405
 * answer with the methods it has. */
typedef struct path_slot {
    const char *pattern;
    char allow[96];
    route_slot *methods[MAX_PATH_METHODS];
    size_t method_count;
} path_slot;

typedef struct readiness {
    const char *name;
    crm_readiness_check check;
    void *context;
    int required;
} readiness;

struct crm_http_server {
    struct _u_instance instance;
    const crm_settings *settings;
    char service[32];
    long port;
    route_slot **route_blocks; /* one block per add_routes call; path slots point into them */
    size_t block_count;
    path_slot *paths;
    size_t path_count;
    readiness checks[MAX_READINESS];
    size_t check_count;
    crm_metrics *metrics;
    const crm_jwt_keyring *keys;
    crm_jwt_cache *token_cache; /* verified tokens: a client's next request skips the RSA check */
    crm_http_response_hook response_hook;
    void *response_hook_context;
    atomic_int in_flight;
    atomic_int draining;            /* set by stop: answers say Connection: close */
    _Atomic double last_request_at; /* monotonic seconds of the latest request's start */
    int running;
};

/* The whole ulfius callback chain of one request runs on one worker thread, so the request's
 * context can live in thread-local storage from the first callback to the last. */
static _Thread_local double request_started;
static _Thread_local crm_principal request_principal;
static _Thread_local int request_authenticated;

static const char *const known_methods[] = {"GET",    "HEAD",    "POST", "PUT",
                                            "DELETE", "OPTIONS", "PATCH"};

static const char *method_label(const char *method)
{
    for (size_t i = 0; i < sizeof(known_methods) / sizeof(known_methods[0]); i++) {
        if (strcmp(method, known_methods[i]) == 0)
            return known_methods[i];
    }
    return "OTHER"; /* hostile methods must not grow the metrics registry */
}

int crm_http_request_id_valid(const char *id)
{
    size_t len = 0;
    for (const char *p = id; *p; p++, len++) {
        char c = *p;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok || len >= 128)
            return 0;
    }
    return len >= 1;
}

/* Whether the path of a request target holds an encoded NUL. ulfius decodes path segments into
 * C strings, so "/things/<id>%00junk" would reach a handler as "/things/<id>": one resource with
 * endless spellings, which a filter, a cache or a log that sees the raw target would not
 * recognise. The query is checked where it is parsed (crm_query_parse). */
static int path_has_nul(const char *target)
{
    const char *nul = strstr(target, "%00");
    return nul && (size_t)(nul - target) < strcspn(target, "?#");
}

static void dispatch(crm_http_server *server, const struct _u_request *request,
                     struct _u_response *response);

static int callback_request(const struct _u_request *request, struct _u_response *response,
                            void *user_data)
{
    char generated[CRM_UUID_LEN];
    const char *id = u_map_get_case(request->map_header, "X-Request-Id");
    if (!id || !crm_http_request_id_valid(id)) {
        crm_uuid_v4(generated);
        id = generated;
    }
    crm_log_set_request_id(id);
    request_started = crm_monotonic_seconds();
    u_map_put(response->map_header, "X-Request-Id", id);
    crm_http_server *server = user_data;
    atomic_store(&server->last_request_at, request_started);
    /* While draining, every answer closes its connection, so the client (the gateway) stops
     * reusing it and opens its next connection to an instance that is staying. */
    if (atomic_load(&server->draining))
        u_map_put(response->map_header, "Connection", "close");
    if (u_map_count(request->map_header) > (int)server->settings->http_max_headers) {
        crm_problem_send(response, CRM_PROBLEM_HEADERS_TOO_LARGE, "at most %ld headers",
                         server->settings->http_max_headers);
        return U_CALLBACK_COMPLETE;
    }
    if (request->http_url && path_has_nul(request->http_url)) {
        crm_problem_send(response, CRM_PROBLEM_MALFORMED_REQUEST,
                         "the request path holds an encoded NUL (%%00)");
        return U_CALLBACK_COMPLETE;
    }
    dispatch(server, request, response);
    return U_CALLBACK_COMPLETE;
}

/* Runs the response hook, counts the request and writes its access line. Probes and scrapes log
 * at debug so they do not drown the requests people make. */
static void observe(crm_http_server *server, const char *route, const struct _u_request *request,
                    struct _u_response *response)
{
    if (server->response_hook)
        server->response_hook(request, response, server->response_hook_context);
    double seconds = crm_monotonic_seconds() - request_started;
    const char *method = method_label(request->http_verb);
    crm_metrics_observe_request(server->metrics, route, method, (unsigned int)response->status,
                                seconds);
    crm_log_level level = strcmp(route, "/healthz") == 0 || strcmp(route, "/readyz") == 0 ||
                                  strcmp(route, "/metrics") == 0
                              ? CRM_LOG_DEBUG
                              : CRM_LOG_INFO;
    if (level < crm_log_threshold)
        return;
    /* method is one of known_methods or "OTHER" and route one of our patterns or "unmatched":
     * nothing in them needs escaping. */
    char members[256];
    snprintf(members, sizeof(members),
             "\"method\":\"%s\",\"route\":\"%s\",\"status\":%ld,\"duration_ms\":%.3f", method,
             route, response->status, seconds * 1000.0);
    crm_log_write_members(level, members, "%s %s %ld", method, route, response->status);
}

const crm_principal *crm_http_principal(void)
{
    return request_authenticated ? &request_principal : NULL;
}

/* The token of an "Authorization: Bearer <token>" header, or NULL. */
static const char *bearer_token(const char *header)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    header += 7;
    while (*header == ' ')
        header++;
    return *header ? header : NULL;
}

static int role_allows(crm_access access, const char *role)
{
    if (access == CRM_ACCESS_ADMIN)
        return strcmp(role, "admin") == 0;
    if (access == CRM_ACCESS_AGENT)
        return strcmp(role, "admin") == 0 || strcmp(role, "agent") == 0;
    return 1;
}

/* Verifies the caller for the route's access level. Returns 0 to go on, or -1 after answering
 * 401 or 403. */
static int authorize_or_reply(const crm_http_server *server, crm_access access,
                              const struct _u_request *request, struct _u_response *response)
{
    request_authenticated = 0;
    if (access == CRM_ACCESS_PUBLIC)
        return 0;
    const char *header = u_map_get_case(request->map_header, "Authorization");
    if (!header && access == CRM_ACCESS_OPTIONAL)
        return 0;
    const char *token = bearer_token(header);
    if (!token) {
        crm_problem_send(response, CRM_PROBLEM_UNAUTHORIZED, "a bearer token is required");
        return -1;
    }
    crm_jwt_status status = server->keys
                                ? crm_jwt_verify_cached(server->keys, server->token_cache, token,
                                                        time(NULL), &request_principal)
                                : CRM_JWT_UNKNOWN_KID;
    if (status != CRM_JWT_OK) {
        crm_problem_send(response, CRM_PROBLEM_UNAUTHORIZED, "the token is invalid: %s",
                         crm_jwt_status_text(status));
        return -1;
    }
    if (!role_allows(access, request_principal.role)) {
        crm_problem_send(response, CRM_PROBLEM_FORBIDDEN, "the role %s may not do this",
                         request_principal.role);
        return -1;
    }
    request_authenticated = 1;
    return 0;
}

static void run_route(route_slot *slot, const struct _u_request *request,
                      struct _u_response *response)
{
    atomic_fetch_add(&slot->server->in_flight, 1);
    if (authorize_or_reply(slot->server, slot->route.access, request, response) == 0)
        slot->route.handler(request, response, slot->route.user_data);
    request_authenticated = 0;
    observe(slot->server, slot->route.pattern, request, response);
    atomic_fetch_sub(&slot->server->in_flight, 1);
}

/* Puts the path's ":name" values into request->map_url, where handlers read them (as ulfius
 * did, after the query's parameters: a path parameter wins over a query one of the same name). */
static int params_put(const struct _u_request *request, const crm_router_params *params)
{
    for (size_t i = 0; i < params->count; i++) {
        const crm_router_param *p = &params->items[i];
        char name[64];
        char *value = strndup(p->value, p->value_len);
        snprintf(name, sizeof(name), "%.*s", (int)p->name_len, p->name);
        int ok = value && u_map_put(request->map_url, name, value) == U_OK;
        free(value);
        if (!ok)
            return -1;
    }
    return 0;
}

/* The first pattern that matches the path and has the method runs; a path that matches but
 * not with this method is a 405 listing the first matching pattern's methods; else a 404. */
static void dispatch(crm_http_server *server, const struct _u_request *request,
                     struct _u_response *response)
{
    crm_router_params params;
    const char *path = request->url_path ? request->url_path : "";
    const path_slot *known = NULL;
    for (size_t i = 0; i < server->path_count; i++) {
        const path_slot *p = &server->paths[i];
        if (!crm_router_match(p->pattern, path, &params))
            continue;
        for (size_t m = 0; m < p->method_count; m++) {
            if (strcmp(p->methods[m]->route.method, request->http_verb) != 0)
                continue;
            if (params_put(request, &params) != 0) {
                crm_problem_send(response, CRM_PROBLEM_INTERNAL, "out of memory");
                observe(server, p->pattern, request, response);
                return;
            }
            run_route(p->methods[m], request, response);
            return;
        }
        if (!known)
            known = p;
    }
    if (known) {
        u_map_put(response->map_header, "Allow", known->allow);
        crm_problem_send(response, CRM_PROBLEM_METHOD_NOT_ALLOWED, "%s is not allowed here; use %s",
                         method_label(request->http_verb), known->allow);
        observe(server, known->pattern, request, response);
        return;
    }
    crm_problem_send(response, CRM_PROBLEM_NOT_FOUND, "no such route");
    observe(server, "unmatched", request, response);
}

/* ---- JSON in and out ---- */

/* The answer when a body could not be made: a fixed problem, made without allocating. */
static int send_internal_error(struct _u_response *response)
{
    static const char fallback[] = "{\"type\":\"/problems/internal\",\"title\":\"Internal "
                                   "error\",\"status\":500}";
    response->status = 500;
    ulfius_set_binary_body_response(response, 500, fallback, sizeof(fallback) - 1);
    u_map_put(response->map_header, "Content-Type", "application/problem+json");
    return U_CALLBACK_COMPLETE;
}

int crm_http_send_json_typed(struct _u_response *response, unsigned int status, json_t *body,
                             const char *content_type)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return send_internal_error(response);
    response->status = status;
    ulfius_set_binary_body_response(response, status, text, strlen(text));
    u_map_put(response->map_header, "Content-Type", content_type);
    free(text);
    return U_CALLBACK_COMPLETE;
}

int crm_http_send_json_text(struct _u_response *response, unsigned int status,
                            const crm_json_text *body)
{
    if (body->failed)
        return send_internal_error(response);
    response->status = status;
    ulfius_set_binary_body_response(response, status, body->text, body->len);
    u_map_put(response->map_header, "Content-Type", "application/json");
    return U_CALLBACK_COMPLETE;
}

int crm_http_send_json(struct _u_response *response, unsigned int status, json_t *body)
{
    return crm_http_send_json_typed(response, status, body, "application/json");
}

int crm_http_json_depth_ok(const char *text, size_t len, int max_depth)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++; /* skip the escaped character */
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return -1;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return 0;
}

/* application/json (or merge-patch+json) with no parameter but an optional UTF-8 charset. */
static int content_type_ok(const char *value, int merge_patch)
{
    if (!value)
        return 0;
    size_t media_len = strcspn(value, ";");
    while (media_len > 0 && value[media_len - 1] == ' ')
        media_len--;
    int media_ok = (media_len == 16 && strncasecmp(value, "application/json", 16) == 0) ||
                   (merge_patch && media_len == 28 &&
                    strncasecmp(value, "application/merge-patch+json", 28) == 0);
    if (!media_ok)
        return 0;
    const char *params = value + strcspn(value, ";");
    if (*params == '\0')
        return 1;
    params++;
    while (*params == ' ')
        params++;
    return strcasecmp(params, "charset=utf-8") == 0 || strcasecmp(params, "charset=\"utf-8\"") == 0;
}

int crm_http_read_json_or_reply(const struct _u_request *request, struct _u_response *response,
                                int merge_patch, json_t **body)
{
    json_error_t error;
    const char *length_header = u_map_get_case(request->map_header, "Content-Length");
    const char *text = request->binary_body;
    size_t len = request->binary_body_length;

    *body = NULL;
    if (!content_type_ok(u_map_get_case(request->map_header, "Content-Type"), merge_patch)) {
        crm_problem_send(response, CRM_PROBLEM_UNSUPPORTED_MEDIA_TYPE,
                         "send the body as application/json%s",
                         merge_patch ? " or application/merge-patch+json" : "");
        return -1;
    }
    /* ulfius truncates a body over max_post_body_size (the limit + 1) without telling. */
    if (len > CRM_HTTP_MAX_BODY || (length_header && strtoull(length_header, NULL, 10) >
                                                         (unsigned long long)CRM_HTTP_MAX_BODY)) {
        crm_problem_send(response, CRM_PROBLEM_PAYLOAD_TOO_LARGE, "bodies are limited to %d bytes",
                         CRM_HTTP_MAX_BODY);
        return -1;
    }
    if (len == 0 || !text) {
        crm_problem_send(response, CRM_PROBLEM_MALFORMED_REQUEST, "the request body is empty");
        return -1;
    }
    if (crm_http_json_depth_ok(text, len, MAX_JSON_DEPTH) != 0) {
        crm_problem_send(response, CRM_PROBLEM_MALFORMED_REQUEST,
                         "JSON nesting is limited to %d levels", MAX_JSON_DEPTH);
        return -1;
    }
    *body = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
    if (!*body) {
        /* jansson's message names the position and cause but never echoes the input; its text
         * for a \u0000 names a flag of the library, which means nothing to a client. */
        if (json_error_code(&error) == json_error_null_character)
            crm_problem_send(response, CRM_PROBLEM_MALFORMED_REQUEST,
                             "invalid JSON: a string holds \\u0000, which is not allowed");
        else
            crm_problem_send(response, CRM_PROBLEM_MALFORMED_REQUEST, "invalid JSON: %s at line %d",
                             error.text, error.line);
        return -1;
    }
    if (!json_is_object(*body)) {
        json_t *errors = json_array();
        crm_problem_errors_add(errors, "", "type", "the body must be a JSON object");
        crm_problem_send_validation(response, errors);
        json_decref(*body);
        *body = NULL;
        return -1;
    }
    return 0;
}

size_t crm_list_shown(const crm_list_params *list, size_t fetched)
{
    return fetched > (size_t)list->limit ? (size_t)list->limit : fetched;
}

/* The next page's cursor, or NULL when this page is the last; takes `last_value`. */
static char *next_cursor(const crm_list_params *list, size_t fetched, json_t *last_value,
                         const char *last_id)
{
    char *cursor = NULL;
    if (fetched > crm_list_shown(list, fetched) && last_value && last_id)
        cursor = crm_cursor_encode(list, last_value, last_id);
    json_decref(last_value);
    return cursor;
}

int crm_http_send_page(struct _u_response *response, const crm_list_params *list, json_t *data,
                       size_t fetched, json_t *last_value, const char *last_id)
{
    char *cursor = next_cursor(list, fetched, last_value, last_id);
    json_t *body = json_pack("{s:o, s:o}", "data", data, "next_cursor",
                             cursor ? json_string(cursor) : json_null());
    free(cursor);
    crm_http_send_json(response, 200, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

int crm_http_send_page_text(struct _u_response *response, const crm_list_params *list,
                            const crm_json_text *data, size_t fetched, json_t *last_value,
                            const char *last_id)
{
    char *cursor = next_cursor(list, fetched, last_value, last_id);
    crm_json_text body;
    crm_json_text_init(&body, data->len + 128);
    crm_json_text_lit(&body, "{\"data\":");
    if (data->failed)
        body.failed = 1;
    else
        crm_json_text_raw(&body, data->text, data->len);
    crm_json_text_lit(&body, ",\"next_cursor\":");
    crm_json_text_string(&body, cursor);
    crm_json_text_lit(&body, "}");
    free(cursor);
    crm_http_send_json_text(response, 200, &body);
    crm_json_text_clean(&body);
    return U_CALLBACK_COMPLETE;
}

const char *crm_http_path_id_or_reply(const struct _u_request *request,
                                      struct _u_response *response, const char *name)
{
    const char *id = u_map_get(request->map_url, name);
    if (id && crm_id_valid(id))
        return id;
    crm_problem_send(response, CRM_PROBLEM_BAD_PARAMETER, "%s must be 24 hexadecimal digits", name);
    return NULL;
}

/* ---- conditional requests ---- */

void crm_http_set_etag(struct _u_response *response, long long version)
{
    char tag[32];
    snprintf(tag, sizeof(tag), "\"%lld\"", version);
    u_map_put(response->map_header, "ETag", tag);
}

/* Whether the entity-tag list `header` holds the tag "<version>": strong comparison, or with
 * `weak` the weak one of If-None-Match (RFC 9110 8.8.3.2: W/"3" matches too, e.g. after a proxy
 * that compresses has weakened our tag). */
static int tag_list_has(const char *header, long long version, int weak)
{
    char tag[32];
    int len = snprintf(tag, sizeof(tag), "\"%lld\"", version);
    for (const char *p = header; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t item = strcspn(p, ",");
        size_t trimmed = item;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        const char *opaque = p;
        if (weak && trimmed >= 2 && strncmp(p, "W/", 2) == 0) {
            opaque += 2;
            trimmed -= 2;
        }
        if (trimmed == (size_t)len && strncmp(opaque, tag, (size_t)len) == 0)
            return 1;
        p += item;
    }
    return 0;
}

long long crm_http_if_match_version(const struct _u_request *request)
{
    const char *header = u_map_get_case(request->map_header, "If-Match");
    if (!header || strcmp(header, "*") == 0)
        return 0;
    /* Exactly the tags crm_http_set_etag writes: "03", "+3", " 3" or an overflowing number name
     * no version (strtoll would read them as one; found by tests/fuzz/http_headers). */
    const char *p = header;
    while (*p == ' ')
        p++;
    if (*p++ != '"' || *p < '1' || *p > '9')
        return -1;
    long long version = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (version > (LLONG_MAX - (*p - '0')) / 10)
            return -1;
        version = version * 10 + (*p - '0');
    }
    if (*p++ != '"')
        return -1;
    while (*p == ' ')
        p++;
    return *p == '\0' ? version : -1;
}

int crm_http_if_match_or_reply(const struct _u_request *request, struct _u_response *response,
                               long long version)
{
    const char *header = u_map_get_case(request->map_header, "If-Match");
    if (!header || strcmp(header, "*") == 0 || tag_list_has(header, version, 0))
        return 0;
    crm_problem_send(response, CRM_PROBLEM_PRECONDITION_FAILED,
                     "If-Match does not match the current version (\"%lld\")", version);
    return -1;
}

int crm_http_not_modified(const struct _u_request *request, struct _u_response *response,
                          long long version)
{
    const char *header = u_map_get_case(request->map_header, "If-None-Match");
    if (!header || (strcmp(header, "*") != 0 && !tag_list_has(header, version, 1)))
        return 0;
    ulfius_set_empty_body_response(response, 304);
    crm_http_set_etag(response, version);
    return 1;
}

/* ---- operational endpoints ---- */

static int handle_healthz(const struct _u_request *request, struct _u_response *response,
                          void *user_data)
{
    (void)request;
    (void)user_data;
    json_t *body = json_pack("{s:s}", "status", "ok");
    crm_http_send_json(response, 200, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

static int handle_readyz(const struct _u_request *request, struct _u_response *response,
                         void *user_data)
{
    (void)request;
    crm_http_server *server = user_data;
    const char *status = atomic_load(&server->draining) ? "draining" : "ready";
    json_t *checks = json_object();
    for (size_t i = 0; i < server->check_count; i++) {
        readiness *r = &server->checks[i];
        int up = r->check(r->context);
        json_object_set_new(checks, r->name, json_string(up ? "up" : "down"));
        if (!up && r->required && strcmp(status, "draining") != 0)
            status = "unavailable";
        else if (!up && strcmp(status, "ready") == 0)
            status = "degraded";
    }
    json_t *body = json_pack("{s:s, s:o}", "status", status, "checks", checks);
    int serving = strcmp(status, "ready") == 0 || strcmp(status, "degraded") == 0;
    crm_http_send_json(response, serving ? 200 : 503, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

static int handle_metrics(const struct _u_request *request, struct _u_response *response,
                          void *user_data)
{
    (void)request;
    crm_http_server *server = user_data;
    char *text = crm_metrics_render(server->metrics);
    if (!text)
        return crm_problem_send(response, CRM_PROBLEM_INTERNAL, "out of memory");
    ulfius_set_binary_body_response(response, 200, text, strlen(text));
    u_map_put(response->map_header, "Content-Type", "text/plain; version=0.0.4");
    free(text);
    return U_CALLBACK_COMPLETE;
}

/* ---- the server ---- */

crm_http_server *crm_http_server_new(const crm_settings *settings, const char *service, long port)
{
    crm_http_server *server = calloc(1, sizeof(*server));
    if (!server)
        return NULL;
    server->settings = settings;
    server->port = port;
    snprintf(server->service, sizeof(server->service), "%s", service);
    server->metrics = crm_metrics_new(service);
    server->token_cache = crm_jwt_cache_new(CRM_HTTP_TOKEN_CACHE_ENTRIES);
    if (!server->metrics || !server->token_cache ||
        ulfius_init_instance(&server->instance, (unsigned int)port, NULL, NULL) != U_OK) {
        crm_metrics_free(server->metrics);
        crm_jwt_cache_free(server->token_cache);
        free(server);
        return NULL;
    }
    server->instance.max_post_body_size = CRM_HTTP_MAX_BODY + 1;
    const crm_route operations[] = {
        {"GET", "/healthz", handle_healthz, server, CRM_ACCESS_PUBLIC},
        {"GET", "/readyz", handle_readyz, server, CRM_ACCESS_PUBLIC},
        {"GET", "/metrics", handle_metrics, server, CRM_ACCESS_PUBLIC},
    };
    if (crm_http_server_add_routes(server, operations, 3) != 0) {
        crm_http_server_free(server);
        return NULL;
    }
    return server;
}

struct crm_metrics *crm_http_server_metrics(crm_http_server *server)
{
    return server->metrics;
}

static path_slot *path_slot_for(crm_http_server *server, const char *pattern)
{
    for (size_t i = 0; i < server->path_count; i++) {
        if (strcmp(server->paths[i].pattern, pattern) == 0)
            return &server->paths[i];
    }
    return NULL;
}

int crm_http_server_add_routes(crm_http_server *server, const crm_route *routes, size_t count)
{
    /* Path slots point to route slots, so those live in blocks that never move; path slots may
     * move until the server starts. */
    route_slot *slots = calloc(count, sizeof(*slots));
    route_slot **blocks =
        realloc(server->route_blocks, (server->block_count + 1) * sizeof(*blocks));
    if (blocks)
        server->route_blocks = blocks;
    path_slot *paths = realloc(server->paths, (server->path_count + count) * sizeof(*paths));
    if (paths)
        server->paths = paths;
    if (!slots || !blocks || !paths) {
        free(slots);
        return -1;
    }
    server->route_blocks[server->block_count++] = slots;
    for (size_t i = 0; i < count; i++) {
        slots[i].route = routes[i];
        slots[i].server = server;
        path_slot *path = path_slot_for(server, routes[i].pattern);
        if (!path) {
            path = &server->paths[server->path_count++];
            memset(path, 0, sizeof(*path));
            path->pattern = routes[i].pattern;
        }
        if (path->method_count == MAX_PATH_METHODS)
            return -1;
        path->methods[path->method_count++] = &slots[i];
        size_t used = strlen(path->allow);
        snprintf(path->allow + used, sizeof(path->allow) - used, "%s%s", used ? ", " : "",
                 routes[i].method);
    }
    return 0;
}

void crm_http_server_set_keyring(crm_http_server *server, const crm_jwt_keyring *keys)
{
    server->keys = keys;
}

void crm_http_server_set_response_hook(crm_http_server *server, crm_http_response_hook hook,
                                       void *context)
{
    server->response_hook = hook;
    server->response_hook_context = context;
}

int crm_http_server_add_readiness(crm_http_server *server, const char *name,
                                  crm_readiness_check check, void *context, int required)
{
    if (server->check_count == MAX_READINESS)
        return -1;
    server->checks[server->check_count++] = (readiness){name, check, context, required};
    return 0;
}

/* Why the address cannot be listened on: libmicrohttpd does not say, so a socket of our own tries
 * (e.g. "Address already in use" when an outgoing connection holds the port as its source). */
static const char *listen_problem(const struct sockaddr_in *address)
{
    static _Thread_local char why[128];
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    snprintf(why, sizeof(why), "cause unknown");
    if (fd < 0)
        return why;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)address, sizeof(*address)) != 0 || listen(fd, 1) != 0)
        snprintf(why, sizeof(why), "%m"); /* glibc: strerror(errno), thread-safe */
    close(fd);
    return why;
}

int crm_http_server_start(crm_http_server *server)
{
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)server->port)};
    if (inet_pton(AF_INET, server->settings->bind, &address.sin_addr) != 1) {
        CRM_LOG_ERROR("CRM_BIND must be an IPv4 address, got \"%s\"", server->settings->bind);
        return -1;
    }
    if (ulfius_add_endpoint_by_val(&server->instance, "*", NULL, "*", 0, callback_request,
                                   server) != U_OK)
        return -1;

    /* Handlers block (on a service, on MongoDB, on Argon2): in a pool of workers one slow
     * request stalls every other connection that its worker owns, so by default each
     * connection has a thread of its own (CRM_HTTP_THREADS=0); a positive value keeps a pool of
     * that size. The pool polls with poll(), not epoll: libmicrohttpd 0.9.75's
     * MHD_quiesce_daemon races its epoll workers over removing the listening socket and aborts
     * the process when it loses (seen at SIGTERM in test_gateway_failover). Quiescing a poll()
     * worker goes through its inter-thread channel instead, with no race. */
    unsigned int pool = (unsigned int)server->settings->http_threads;
    unsigned int flags =
        pool > 0 ? MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC
                 : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC;
    struct MHD_OptionItem options[9];
    size_t n = 0;
    if (pool > 0)
        options[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)pool, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &address};
    options[n++] =
        (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                (intptr_t)server->settings->http_connection_timeout_seconds, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                           (intptr_t)server->settings->http_max_connections, NULL};
    options[n++] =
        (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                (intptr_t)server->settings->http_max_connections_per_ip, NULL};
    options[n++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)mhd_request_completed, NULL};
    options[n++] =
        (struct MHD_OptionItem){MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)ulfius_uri_logger, NULL};
    options[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (ulfius_start_framework_with_mhd_options(&server->instance, flags, options) != U_OK) {
        CRM_LOG_ERROR("cannot listen on %s:%ld: %s", server->settings->bind, server->port,
                      listen_problem(&address));
        return -1;
    }
    server->running = 1;
    if (pool > 0)
        CRM_LOG_INFO("listening on %s:%ld with %u workers", server->settings->bind, server->port,
                     pool);
    else
        CRM_LOG_INFO("listening on %s:%ld with a thread per connection", server->settings->bind,
                     server->port);
    return 0;
}

static unsigned int open_connections(crm_http_server *server)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->instance.mhd_daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

/* A drain that loses nothing: new connections are refused at once (a client such as the gateway
 * then sends elsewhere, knowing nothing was sent), requests on open connections are still
 * served and answered with Connection: close, and the open connections are cut only once none
 * is left, or nothing has arrived for a quiet second and nothing is in flight, or the grace
 * period is over. */
void crm_http_server_stop(crm_http_server *server, long grace_seconds)
{
    if (!server || !server->running)
        return;
    atomic_store(&server->draining, 1);
    MHD_socket listener = MHD_quiesce_daemon(server->instance.mhd_daemon);
    if (listener != MHD_INVALID_SOCKET)
        close(listener);
    const double quiet_seconds = 1.0;
    double deadline = crm_monotonic_seconds() + (double)grace_seconds;
    for (;;) {
        double now = crm_monotonic_seconds();
        int idle = atomic_load(&server->in_flight) == 0;
        if (now >= deadline || (idle && open_connections(server) == 0) ||
            (idle && now - atomic_load(&server->last_request_at) >= quiet_seconds))
            break;
        usleep(10000);
    }
    ulfius_stop_framework(&server->instance);
    server->running = 0;
}

void crm_http_server_free(crm_http_server *server)
{
    if (!server)
        return;
    crm_http_server_stop(server, 0);
    ulfius_clean_instance(&server->instance);
    for (size_t i = 0; i < server->block_count; i++)
        free(server->route_blocks[i]);
    free(server->route_blocks);
    free(server->paths);
    crm_metrics_free(server->metrics);
    crm_jwt_cache_free(server->token_cache);
    free(server);
}
