/* The pages for people: GET /docs (the API reference: Redoc rendering /api/openapi.json, all of
 * it compiled into the binary, nothing fetched from elsewhere) and GET /problems, /problems/:slug
 * (what each problem `type` means, made from the problem table in common/src/problem.c). */
#ifndef GATEWAY_DOCS_H
#define GATEWAY_DOCS_H

#include "crm/http.h"
#include "crm/problem.h"

/* Registers GET /docs with its script and Redoc's bundle, GET /problems and GET /problems/:slug,
 * all public and not rate-limited. Returns 0 or -1. */
int docs_routes_add(crm_http_server *server);

/* Whether an Accept header asks for JSON rather than HTML: the best quality given to
 * application/json or application/problem+json beats the best given to text/html (by name or by
 * a wildcard). No header, or a tie, means HTML. */
int docs_prefers_json(const char *accept);

/* The page of problem type `kind`, or the index of every type when `kind` is
 * CRM_PROBLEM_KIND_MAX: HTML, or JSON when `json` is set (one {type, status, title, description}
 * object; the index as {"data": [...], "next_cursor": null}). Returns a NUL-terminated text the
 * caller frees, or NULL when out of memory. Thread-safe. */
char *docs_problem_page(crm_problem_kind kind, int json);

#endif
