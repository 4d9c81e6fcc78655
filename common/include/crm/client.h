/* A small HTTP client for service-to-service reads (the cases service asks customers and auth
 * whether a referenced resource exists): libcurl handles shared by all threads through an idle
 * pool, so connections stay alive and are reused, short timeouts, and several instances tried
 * in turn. */
#ifndef CRM_CLIENT_H
#define CRM_CLIENT_H

#include <jansson.h>

typedef struct crm_client crm_client;

/* A client whose calls give up connecting after `connect_timeout_ms` and answering after
 * `timeout_ms`. Returns NULL when out of memory. Free with crm_client_free once no thread uses
 * it any more. Thread-safe: each call takes a handle of its own from the pool and gives it back. */
crm_client *crm_client_new(long connect_timeout_ms, long timeout_ms);
void crm_client_free(crm_client *client);

/* GET `path` from the first instance of `base_urls` (a comma list of base URLs) that answers,
 * sending `authorization` (the whole header value, may be NULL) and `request_id` (may be NULL).
 * Returns the HTTP status, or -1 when no instance answered (refused, timed out, broken). When
 * `body` is not NULL and the answer is JSON, *body is set to it (a new reference), else NULL. */
long crm_client_get(crm_client *client, const char *base_urls, const char *path,
                    const char *authorization, const char *request_id, json_t **body);

#endif
