/* RFC 9457 problem responses: the one place where an error becomes an HTTP status and body. */
#ifndef CRM_PROBLEM_H
#define CRM_PROBLEM_H

#include "crm/mongo.h"

#include <jansson.h>

struct _u_response;

typedef enum crm_problem_kind {
    CRM_PROBLEM_MALFORMED_REQUEST = 0,  /* 400 */
    CRM_PROBLEM_BAD_PARAMETER,          /* 400 */
    CRM_PROBLEM_UNAUTHORIZED,           /* 401, adds WWW-Authenticate: Bearer */
    CRM_PROBLEM_FORBIDDEN,              /* 403 */
    CRM_PROBLEM_NOT_FOUND,              /* 404 */
    CRM_PROBLEM_METHOD_NOT_ALLOWED,     /* 405; the caller sets Allow */
    CRM_PROBLEM_CONFLICT,               /* 409 */
    CRM_PROBLEM_PRECONDITION_FAILED,    /* 412 */
    CRM_PROBLEM_PAYLOAD_TOO_LARGE,      /* 413 */
    CRM_PROBLEM_UNSUPPORTED_MEDIA_TYPE, /* 415 */
    CRM_PROBLEM_VALIDATION,             /* 422 */
    CRM_PROBLEM_RATE_LIMITED,           /* 429; the caller sets Retry-After */
    CRM_PROBLEM_HEADERS_TOO_LARGE,      /* 431: too many request headers */
    CRM_PROBLEM_INTERNAL,               /* 500 */
    CRM_PROBLEM_UPSTREAM_UNAVAILABLE,   /* 502 */
    CRM_PROBLEM_SERVICE_UNAVAILABLE,    /* 503 */
    CRM_PROBLEM_UPSTREAM_TIMEOUT,       /* 504 */
    CRM_PROBLEM_KIND_MAX
} crm_problem_kind;

/* The HTTP status of a kind. */
unsigned int crm_problem_status(crm_problem_kind kind);

/* The slug of a kind ("not-found"); its type is "/problems/<slug>". */
const char *crm_problem_slug(crm_problem_kind kind);

/* The title of a kind ("Not found"), the same in every problem of that kind. */
const char *crm_problem_title(crm_problem_kind kind);

/* A few sentences for people: when a kind is answered and what to do about it. Plain text, with
 * `backquotes` around member names; the gateway's /problems pages and /docs show it. */
const char *crm_problem_description(crm_problem_kind kind);

/* The kind whose slug is `slug`, or CRM_PROBLEM_KIND_MAX when none is (or `slug` is NULL). */
crm_problem_kind crm_problem_kind_of_slug(const char *slug);

/* Builds the problem object (type, title, status, detail, request_id). Returns a new reference
 * the caller releases with json_decref, or NULL when out of memory. */
json_t *crm_problem_new(crm_problem_kind kind, const char *detail, const char *request_id);

/* Appends one entry to a 422 `errors` array. */
void crm_problem_errors_add(json_t *errors, const char *field, const char *code,
                            const char *message);

/* Answers `response` with a problem of `kind`; detail is printf-formatted. Returns
 * U_CALLBACK_COMPLETE so a handler can `return crm_problem_send(...)`. */
int crm_problem_send(struct _u_response *response, crm_problem_kind kind, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers 422 with `errors` (one entry per bad field; the reference is stolen) and a detail
 * that counts them. Returns U_CALLBACK_COMPLETE. */
int crm_problem_send_validation(struct _u_response *response, json_t *errors);

/* Answers a store failure: 503 when the database is unavailable, else 500 (a status the
 * caller should have handled). Returns U_CALLBACK_COMPLETE. */
int crm_problem_send_store(struct _u_response *response, crm_store_status status);

#endif
