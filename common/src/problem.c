/* Problem kinds as one table (status, slug, title) and the renderer every error goes through. */
#include "crm/problem.h"

#include "crm/http.h"
#include "crm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <ulfius.h>

typedef struct problem_type {
    unsigned int status;
    const char *slug;
    const char *title;
} problem_type;

static const problem_type problem_types[CRM_PROBLEM_KIND_MAX] = {
    [CRM_PROBLEM_MALFORMED_REQUEST] = {400, "malformed-request", "Malformed request"},
    [CRM_PROBLEM_BAD_PARAMETER] = {400, "bad-parameter", "Bad parameter"},
    [CRM_PROBLEM_UNAUTHORIZED] = {401, "unauthorized", "Unauthorized"},
    [CRM_PROBLEM_FORBIDDEN] = {403, "forbidden", "Forbidden"},
    [CRM_PROBLEM_NOT_FOUND] = {404, "not-found", "Not found"},
    [CRM_PROBLEM_METHOD_NOT_ALLOWED] = {405, "method-not-allowed", "Method not allowed"},
    [CRM_PROBLEM_CONFLICT] = {409, "conflict", "Conflict"},
    [CRM_PROBLEM_PRECONDITION_FAILED] = {412, "precondition-failed", "Precondition failed"},
    [CRM_PROBLEM_PAYLOAD_TOO_LARGE] = {413, "payload-too-large", "Payload too large"},
    [CRM_PROBLEM_UNSUPPORTED_MEDIA_TYPE] = {415, "unsupported-media-type",
                                            "Unsupported media type"},
    [CRM_PROBLEM_VALIDATION] = {422, "validation", "Validation failed"},
    [CRM_PROBLEM_RATE_LIMITED] = {429, "rate-limited", "Too many requests"},
    [CRM_PROBLEM_HEADERS_TOO_LARGE] = {431, "headers-too-large", "Request headers too large"},
    [CRM_PROBLEM_INTERNAL] = {500, "internal", "Internal error"},
    [CRM_PROBLEM_UPSTREAM_UNAVAILABLE] = {502, "upstream-unavailable", "Upstream unavailable"},
    [CRM_PROBLEM_SERVICE_UNAVAILABLE] = {503, "service-unavailable", "Service unavailable"},
    [CRM_PROBLEM_UPSTREAM_TIMEOUT] = {504, "upstream-timeout", "Upstream timeout"},
};

unsigned int crm_problem_status(crm_problem_kind kind)
{
    return problem_types[kind].status;
}

const char *crm_problem_slug(crm_problem_kind kind)
{
    return problem_types[kind].slug;
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
