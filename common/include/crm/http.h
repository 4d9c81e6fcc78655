/* HTTP serving over ulfius: a thread per connection or a worker pool, a route table with metrics
 * and request ids, JSON bodies checked for size and type, problem answers for unknown routes and
 * methods, and the operational endpoints /healthz, /readyz and /metrics. */
#ifndef CRM_HTTP_H
#define CRM_HTTP_H

#include "crm/config.h"
#include "crm/json_text.h"
#include "crm/jwt.h"
#include "crm/query.h"

#include <jansson.h>
#include <stddef.h>

struct _u_request;
struct _u_response;

#define CRM_HTTP_MAX_BODY (1024 * 1024) /* 1 MiB, API.md */

/* A handler answers the request and returns U_CALLBACK_COMPLETE. */
typedef int (*crm_http_handler)(const struct _u_request *request, struct _u_response *response,
                                void *user_data);

/* Who may call a route. The zero value requires a valid token: a route someone forgot to
 * classify is closed, not open. */
typedef enum crm_access {
    CRM_ACCESS_AUTHENTICATED = 0, /* any valid token (admin, agent, viewer) */
    CRM_ACCESS_AGENT,             /* agent or admin */
    CRM_ACCESS_ADMIN,             /* admin only */
    CRM_ACCESS_PUBLIC,            /* no token looked at */
    CRM_ACCESS_OPTIONAL,          /* no token is fine; a token that is present must be valid */
} crm_access;

/* One line of a service's route table. `pattern` uses ulfius syntax ("/api/cases/:id"). The
 * token check and the role check run before the handler: a 401 (with WWW-Authenticate) or 403
 * problem is answered without calling it. */
typedef struct crm_route {
    const char *method;
    const char *pattern;
    crm_http_handler handler;
    void *user_data;
    crm_access access;
} crm_route;

/* A readiness check: returns 1 when the dependency answers. A required dependency that is down
 * makes /readyz answer 503 "unavailable"; an optional one makes it 200 "degraded". */
typedef int (*crm_readiness_check)(void *context);

typedef struct crm_http_server crm_http_server;

/* Creates a server for `service` listening on settings->bind:port. Returns NULL on error. The
 * settings must outlive the server. Free with crm_http_server_free. */
crm_http_server *crm_http_server_new(const crm_settings *settings, const char *service, long port);

/* Registers `count` routes. Call before crm_http_server_start. Returns 0 or -1. */
int crm_http_server_add_routes(crm_http_server *server, const crm_route *routes, size_t count);

/* Adds a dependency to /readyz under `name` ("mongodb", "kafka", ...). Returns 0 or -1. */
int crm_http_server_add_readiness(crm_http_server *server, const char *name,
                                  crm_readiness_check check, void *context, int required);

/* The public keys that verify bearer tokens (borrowed; must outlive the server). Without them
 * every route but public ones answers 401. */
void crm_http_server_set_keyring(crm_http_server *server, const crm_jwt_keyring *keys);

/* Called with every answer a route, the token check (401, 403) or the 404 and 405 fallbacks
 * produce, just before it is sent: the gateway adds its CORS headers there. Runs on the worker
 * thread that answered; must not block. */
typedef void (*crm_http_response_hook)(const struct _u_request *request,
                                       struct _u_response *response, void *context);

/* Sets the response hook (NULL removes it). Call before crm_http_server_start. */
void crm_http_server_set_response_hook(crm_http_server *server, crm_http_response_hook hook,
                                       void *context);

/* The verified identity of the current request (valid inside a handler), or NULL when the route
 * is public or no token came with an optional one. */
const crm_principal *crm_http_principal(void);

/* Starts serving. Returns 0, or -1 (port taken, ...) after logging why. */
int crm_http_server_start(crm_http_server *server);

/* Drains, then stops: refuses new connections at once, answers requests on open ones with
 * Connection: close (and /readyz with 503 "draining"), and closes them when none is left, after a
 * quiet second with nothing in flight, or after `grace_seconds`. */
void crm_http_server_stop(crm_http_server *server, long grace_seconds);

/* Releases the server; accepts NULL. Stops it first if it still runs. */
void crm_http_server_free(crm_http_server *server);

/* The service's metrics registry, for service-specific series. */
struct crm_metrics *crm_http_server_metrics(crm_http_server *server);

/* Reads the request body as JSON into *body (a new reference) or answers the problem itself:
 * 415 for a content type other than application/json (or application/merge-patch+json when
 * `merge_patch` is set), 413 over CRM_HTTP_MAX_BODY, 400 for empty or malformed JSON, duplicate
 * keys, invalid UTF-8 or nesting deeper than 32. Returns 0 when *body is set, -1 when a problem
 * was sent. */
int crm_http_read_json_or_reply(const struct _u_request *request, struct _u_response *response,
                                int merge_patch, json_t **body);

/* Validates JSON text without building it: 0 when nesting is at most `max_depth`, else -1.
 * Exposed for tests and fuzzing. */
int crm_http_json_depth_ok(const char *text, size_t len, int max_depth);

/* Answers `status` with `body` (borrowed) as application/json. Returns U_CALLBACK_COMPLETE. */
int crm_http_send_json(struct _u_response *response, unsigned int status, json_t *body);

/* Same with an explicit content type (application/problem+json). */
int crm_http_send_json_typed(struct _u_response *response, unsigned int status, json_t *body,
                             const char *content_type);

/* Answers `status` with JSON already written (json_text.h) as application/json; a text that
 * ran out of memory answers 500. Returns U_CALLBACK_COMPLETE. */
int crm_http_send_json_text(struct _u_response *response, unsigned int status,
                            const crm_json_text *body);

/* Answers 200 with a list page {data, next_cursor}. The store fetched `fetched` rows for a page
 * of list->limit (one more means a next page exists); `data` (stolen) holds the rows shown;
 * `last_value` (stolen; may be NULL when nothing is shown) and `last_id` are the sort value and
 * id of the last row shown, from which the next cursor is made. Returns U_CALLBACK_COMPLETE. */
int crm_http_send_page(struct _u_response *response, const crm_list_params *list, json_t *data,
                       size_t fetched, json_t *last_value, const char *last_id);

/* The same with the rows already written: `data` holds the JSON array of the rows shown. */
int crm_http_send_page_text(struct _u_response *response, const crm_list_params *list,
                            const crm_json_text *data, size_t fetched, json_t *last_value,
                            const char *last_id);

/* The number of fetched rows a page shows: at most list->limit. */
size_t crm_list_shown(const crm_list_params *list, size_t fetched);

/* The path parameter `name` (":id") when it is a valid id (24 lowercase hex digits), else
 * NULL after answering 400 bad-parameter. */
const char *crm_http_path_id_or_reply(const struct _u_request *request,
                                      struct _u_response *response, const char *name);

/* Sets `ETag: "<version>"` (strong). */
void crm_http_set_etag(struct _u_response *response, long long version);

/* Checks If-Match against the resource's current `version`: absent or `*` or a list holding
 * "<version>" passes (0); anything else, weak tags included, answers 412 (-1). */
int crm_http_if_match_or_reply(const struct _u_request *request, struct _u_response *response,
                               long long version);

/* The version an If-Match header demands: 0 when absent or `*`, -1 when it names no strong
 * tag, else the version (for conditional writes that compare in the database). */
long long crm_http_if_match_version(const struct _u_request *request);

/* When If-None-Match holds "<version>" or W/"<version>" (the weak comparison RFC 9110 asks for
 * here) or `*`, answers 304 with the ETag and returns 1. */
int crm_http_not_modified(const struct _u_request *request, struct _u_response *response,
                          long long version);

/* Whether `id` is a valid client request id: 1..128 of [A-Za-z0-9._:-]. */
int crm_http_request_id_valid(const char *id);

#endif
