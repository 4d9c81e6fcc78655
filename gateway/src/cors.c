/* The CORS policy of cors.h: a short list of origins compared exactly, and the headers that
 * follow from a match. */
#include "cors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ulfius.h>

/* "http(s)://host[:port]": a scheme, then a host of letters, digits, dots, dashes (or a bracketed
 * IPv6 literal), an optional port, and nothing else. */
static int origin_valid(const char *origin, size_t len)
{
    size_t i;
    if (len > 7 && strncmp(origin, "http://", 7) == 0)
        i = 7;
    else if (len > 8 && strncmp(origin, "https://", 8) == 0)
        i = 8;
    else
        return 0;
    size_t host_start = i;
    if (origin[i] == '[') {
        while (i < len && origin[i] != ']')
            i++;
        if (i == len)
            return 0;
        i++;
    } else {
        while (i < len &&
               (isalnum((unsigned char)origin[i]) || origin[i] == '.' || origin[i] == '-'))
            i++;
    }
    if (i == host_start)
        return 0;
    if (i < len && origin[i] == ':') {
        size_t digits = 0;
        for (i++; i < len && isdigit((unsigned char)origin[i]); i++)
            digits++;
        if (digits == 0 || digits > 5)
            return 0;
    }
    return i == len;
}

int cors_policy_init(cors_policy *policy, const char *list, char *err, size_t err_len)
{
    memset(policy, 0, sizeof(*policy));
    for (const char *p = list ? list : ""; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed == 0) {
            p += len;
            continue;
        }
        if (!origin_valid(p, trimmed)) {
            snprintf(err, err_len,
                     "CRM_CORS_ORIGINS must list origins such as https://app.example.com (no path, "
                     "no wildcard), got \"%.*s\"",
                     (int)(trimmed < 64 ? trimmed : 64), p);
            return -1;
        }
        if (policy->count == CORS_MAX_ORIGINS) {
            snprintf(err, err_len, "CRM_CORS_ORIGINS lists more than %d origins", CORS_MAX_ORIGINS);
            return -1;
        }
        char *origin = strndup(p, trimmed);
        if (!origin) {
            snprintf(err, err_len, "out of memory");
            return -1;
        }
        for (char *c = origin; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        policy->origins[policy->count++] = origin;
        p += len;
    }
    return 0;
}

void cors_policy_clean(cors_policy *policy)
{
    if (!policy)
        return;
    for (size_t i = 0; i < policy->count; i++)
        free(policy->origins[i]);
    memset(policy, 0, sizeof(*policy));
}

int cors_origin_allowed(const cors_policy *policy, const char *origin)
{
    if (!origin)
        return 0;
    for (size_t i = 0; i < policy->count; i++) {
        if (strcasecmp(policy->origins[i], origin) == 0)
            return 1;
    }
    return 0;
}

/* Adds `token` to the response's Vary unless it is already there (any case). */
static void vary_add(struct _u_response *response, const char *token)
{
    const char *current = u_map_get_case(response->map_header, "Vary");
    if (!current || current[0] == '\0') {
        u_map_put(response->map_header, "Vary", token);
        return;
    }
    if (strcmp(current, "*") == 0 || strcasestr(current, token))
        return;
    char *merged = NULL;
    if (asprintf(&merged, "%s, %s", current, token) < 0)
        return;
    u_map_remove_from_key_case(response->map_header, "Vary");
    u_map_put(response->map_header, "Vary", merged);
    free(merged);
}

void cors_response_decorate(const cors_policy *policy, const struct _u_request *request,
                            struct _u_response *response)
{
    if (policy->count == 0)
        return;
    vary_add(response, "Origin");
    const char *origin = u_map_get_case(request->map_header, "Origin");
    if (!cors_origin_allowed(policy, origin))
        return;
    u_map_put(response->map_header, "Access-Control-Allow-Origin", origin);
    u_map_put(response->map_header, "Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
}

void cors_preflight_decorate(const cors_policy *policy, const struct _u_request *request,
                             struct _u_response *response, const char *methods)
{
    if (!cors_origin_allowed(policy, u_map_get_case(request->map_header, "Origin")) ||
        !u_map_get_case(request->map_header, "Access-Control-Request-Method"))
        return;
    u_map_put(response->map_header, "Access-Control-Allow-Methods", methods);
    u_map_put(response->map_header, "Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
    u_map_put(response->map_header, "Access-Control-Max-Age", CORS_MAX_AGE_SECONDS);
}
