/* Problem kinds as one table (status, slug, title, description) and the renderer every error goes
 * through. */
#include "crm/problem.h"

#include "crm/http.h"
#include "crm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <ulfius.h>

typedef struct problem_type {
    unsigned int status;
    const char *slug;
    const char *title;
    const char *description; /* for people: when it happens and what to do (the /problems pages) */
} problem_type;

static const problem_type problem_types[CRM_PROBLEM_KIND_MAX] = {
    [CRM_PROBLEM_MALFORMED_REQUEST] =
        {400, "malformed-request", "Malformed request",
         "The request could not be read: an empty body where one is needed, malformed JSON, "
         "duplicate keys, nesting deeper than 32 levels, invalid UTF-8, or a malformed request "
         "target. Fix the request: sent again unchanged it fails the same way."},
    [CRM_PROBLEM_BAD_PARAMETER] =
        {400, "bad-parameter", "Bad parameter",
         "A query parameter or a path segment is wrong: a parameter the endpoint does not list, "
         "one given twice or malformed, a cursor from a query with another sort or other filters, "
         "or an id that is not 24 lowercase hexadecimal digits. The detail names it."},
    [CRM_PROBLEM_UNAUTHORIZED] =
        {401, "unauthorized", "Unauthorized",
         "The route needs a valid access token and the request has none, or a malformed, expired "
         "or forged one; a failed login answers this too, whatever the reason. The answer carries "
         "WWW-Authenticate: Bearer. Log in again (POST /api/auth/login) or get a new token pair "
         "with POST /api/auth/refresh."},
    [CRM_PROBLEM_FORBIDDEN] = {403, "forbidden", "Forbidden",
                               "The token is valid but its role may not do this: a viewer "
                               "writing, an agent deleting, anyone but an admin setting a role. "
                               "An admin can change the account's role."},
    [CRM_PROBLEM_NOT_FOUND] = {404, "not-found", "Not found",
                               "No resource has this id (an id of valid syntax that names "
                               "nothing, or a resource deleted since), or no route has this "
                               "path."},
    [CRM_PROBLEM_METHOD_NOT_ALLOWED] = {405, "method-not-allowed", "Method not allowed",
                                        "The path exists but not with this method; the Allow "
                                        "header lists the methods it has."},
    [CRM_PROBLEM_CONFLICT] =
        {409, "conflict", "Conflict",
         "The request conflicts with the current state: a username already taken, an admin "
         "demoting or disabling themselves, a change overtaken by concurrent ones too often, or "
         "a case status change the workflow forbids (the detail lists the allowed targets)."},
    [CRM_PROBLEM_PRECONDITION_FAILED] =
        {412, "precondition-failed", "Precondition failed",
         "If-Match names a version that is not the current one: the resource changed since you "
         "read it. Read it again, reapply your change and send it with the new ETag."},
    [CRM_PROBLEM_PAYLOAD_TOO_LARGE] = {413, "payload-too-large", "Payload too large",
                                       "The request body is larger than 1 MiB (1,048,576 bytes)."},
    [CRM_PROBLEM_UNSUPPORTED_MEDIA_TYPE] =
        {415, "unsupported-media-type", "Unsupported media type",
         "The body is not sent as Content-Type: application/json (PATCH also accepts "
         "application/merge-patch+json)."},
    [CRM_PROBLEM_VALIDATION] =
        {422, "validation", "Validation failed",
         "The JSON is well formed but the body is not an object or some fields are invalid. "
         "`errors` has one entry per bad field: `field` (like contact_info.email or tags[1]), "
         "`code` (required, type, length, format, enum, range, unknown, read_only, reference or "
         "duplicate) and `message`."},
    [CRM_PROBLEM_RATE_LIMITED] =
        {429, "rate-limited", "Too many requests",
         "Too many requests: the gateway's limit per client address (register, login, refresh, "
         "logout) or per user (everything else), or the login throttle after 5 failed logins for "
         "one username within 15 minutes. Wait the seconds Retry-After gives, then retry."},
    [CRM_PROBLEM_HEADERS_TOO_LARGE] = {431, "headers-too-large", "Request headers too large",
                                       "The request has more header fields than the server "
                                       "accepts (CRM_HTTP_MAX_HEADERS, 100 by default)."},
    [CRM_PROBLEM_INTERNAL] = {500, "internal", "Internal error",
                              "A bug: the server failed in a way it did not expect. It is logged "
                              "with the request id; report that id."},
    [CRM_PROBLEM_UPSTREAM_UNAVAILABLE] =
        {502, "upstream-unavailable", "Upstream unavailable",
         "The gateway could not reach the service behind this route: every instance refused or "
         "dropped the connection. Retry shortly; the gateway's /readyz shows which service is "
         "down."},
    [CRM_PROBLEM_SERVICE_UNAVAILABLE] =
        {503, "service-unavailable", "Service unavailable",
         "The service cannot do its work right now: the gateway has no healthy instance for the "
         "route, or the service's database or a service it must ask is unreachable. Retry "
         "shortly; /readyz says what is down."},
    [CRM_PROBLEM_UPSTREAM_TIMEOUT] =
        {504, "upstream-timeout", "Upstream timeout",
         "The service behind this route did not answer within the gateway's timeout "
         "(CRM_UPSTREAM_TIMEOUT_MS). A write may or may not have happened: read before you "
         "retry it."},
};

unsigned int crm_problem_status(crm_problem_kind kind)
{
    return problem_types[kind].status;
}

const char *crm_problem_slug(crm_problem_kind kind)
{
    return problem_types[kind].slug;
}

const char *crm_problem_title(crm_problem_kind kind)
{
    return problem_types[kind].title;
}

const char *crm_problem_description(crm_problem_kind kind)
{
    return problem_types[kind].description;
}

crm_problem_kind crm_problem_kind_of_slug(const char *slug)
{
    for (int kind = 0; slug && kind < CRM_PROBLEM_KIND_MAX; kind++) {
        if (strcmp(problem_types[kind].slug, slug) == 0)
            return (crm_problem_kind)kind;
    }
    return CRM_PROBLEM_KIND_MAX;
}

json_t *crm_problem_new(crm_problem_kind kind, const char *detail, const char *request_id)
{
    char type[64];
    const problem_type *p = &problem_types[kind];
    snprintf(type, sizeof(type), "/problems/%s", p->slug);
    json_t *problem =
        json_pack("{s:s, s:s, s:i, s:s, s:s*}", "type", type, "title", p->title, "status",
                  (int)p->status, "detail", detail ? detail : p->title, "request_id", request_id);
    if (!problem && detail) /* a detail quoting invalid UTF-8 input: keep the title */
        return crm_problem_new(kind, NULL, request_id);
    return problem;
}

void crm_problem_errors_add(json_t *errors, const char *field, const char *code,
                            const char *message)
{
    json_array_append_new(
        errors, json_pack("{s:s, s:s, s:s}", "field", field, "code", code, "message", message));
}

static int send_problem(struct _u_response *response, crm_problem_kind kind, json_t *problem)
{
    if (kind == CRM_PROBLEM_UNAUTHORIZED)
        u_map_put(response->map_header, "WWW-Authenticate", "Bearer");
    if (kind == CRM_PROBLEM_INTERNAL)
        CRM_LOG_ERROR("internal error answered: %s",
                      json_string_value(json_object_get(problem, "detail")));
    crm_http_send_json_typed(response, problem_types[kind].status, problem,
                             "application/problem+json");
    json_decref(problem);
    return U_CALLBACK_COMPLETE;
}

int crm_problem_send(struct _u_response *response, crm_problem_kind kind, const char *format, ...)
{
    char detail[512];
    va_list args;
    va_start(args, format);
    vsnprintf(detail, sizeof(detail), format, args);
    va_end(args);
    return send_problem(response, kind, crm_problem_new(kind, detail, crm_log_request_id()));
}

int crm_problem_send_validation(struct _u_response *response, json_t *errors)
{
    char detail[64];
    size_t count = json_array_size(errors);
    snprintf(detail, sizeof(detail), "%zu field%s invalid", count, count == 1 ? " is" : "s are");
    json_t *problem = crm_problem_new(CRM_PROBLEM_VALIDATION, detail, crm_log_request_id());
    json_object_set_new(problem, "errors", errors);
    return send_problem(response, CRM_PROBLEM_VALIDATION, problem);
}

int crm_problem_send_store(struct _u_response *response, crm_store_status status)
{
    if (status == CRM_STORE_UNAVAILABLE)
        return crm_problem_send(response, CRM_PROBLEM_SERVICE_UNAVAILABLE,
                                "the database is unavailable; try again shortly");
    return crm_problem_send(response, CRM_PROBLEM_INTERNAL, "unexpected store status %d", status);
}
