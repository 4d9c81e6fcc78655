/* CORS: the browser origins listed in CRM_CORS_ORIGINS (exact match, none by default) may call
 * the API from a web page; any other origin gets no CORS header at all, so browsers keep their
 * same-origin rule. Tokens travel in Authorization, never in cookies: no credentials mode. */
#ifndef GATEWAY_CORS_H
#define GATEWAY_CORS_H

#include <stddef.h>

struct _u_request;
struct _u_response;

#define CORS_MAX_ORIGINS 32

/* Headers a page may send and read, and how long a browser may cache a preflight. */
#define CORS_ALLOW_HEADERS "Authorization, Content-Type, If-Match, If-None-Match, X-Request-Id"
#define CORS_EXPOSE_HEADERS                                                                        \
    "ETag, Location, X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "        \
    "Retry-After"
#define CORS_MAX_AGE_SECONDS "600"

typedef struct cors_policy {
    char *origins[CORS_MAX_ORIGINS]; /* owned, lowercase */
    size_t count;
} cors_policy;

/* Parses a comma list of origins, each "http://host[:port]" or "https://host[:port]" without a
 * path ("*" and "null" are refused: a wildcard would hand the API to every page). Empty means
 * none. Returns 0, or -1 with a message naming CRM_CORS_ORIGINS in `err`; release with
 * cors_policy_clean either way. */
int cors_policy_init(cors_policy *policy, const char *list, char *err, size_t err_len);
void cors_policy_clean(cors_policy *policy);

/* Whether `origin` (an Origin header, may be NULL) is one of the listed origins (scheme and host
 * compare case-insensitively, as browsers serialise them in lowercase anyway). */
int cors_origin_allowed(const cors_policy *policy, const char *origin);

/* Adds CORS headers to any answer: for an allowed Origin, Access-Control-Allow-Origin (that
 * origin) and Access-Control-Expose-Headers; whenever origins are configured, Origin in Vary
 * (merged into an upstream's Vary), so caches keep answers for different origins apart. */
void cors_response_decorate(const cors_policy *policy, const struct _u_request *request,
                            struct _u_response *response);

/* Adds the preflight headers to an OPTIONS answer when the Origin is allowed and the request is a
 * preflight (it has Access-Control-Request-Method): Access-Control-Allow-Methods `methods`,
 * Access-Control-Allow-Headers and Access-Control-Max-Age. Adds nothing otherwise. */
void cors_preflight_decorate(const cors_policy *policy, const struct _u_request *request,
                             struct _u_response *response, const char *methods);

#endif
