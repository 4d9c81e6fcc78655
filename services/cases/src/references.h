/* The references a case holds to other services' resources, checked by asking their owners over
 * HTTP (never their databases), with the caller's Authorization header. */
#ifndef CASES_REFERENCES_H
#define CASES_REFERENCES_H

#include "crm/client.h"

typedef enum reference_status {
    REFERENCE_OK = 0,
    REFERENCE_MISSING,     /* the owner says it does not exist (or is not eligible) */
    REFERENCE_UNAVAILABLE, /* the owner did not answer, or answered 5xx: never guess */
} reference_status;

/* Whether the customer `id` exists: GET {customers_urls}/api/customers/<id>. */
reference_status reference_customer(crm_client *client, const char *customers_urls, const char *id,
                                    const char *authorization, const char *request_id);

/* Whether `id` is an enabled agent or admin: GET {auth_urls}/api/users/<id>. */
reference_status reference_assignee(crm_client *client, const char *auth_urls, const char *id,
                                    const char *authorization, const char *request_id);

/* Whether a user answer (GET /api/users/:id, 200) may be assigned cases: an agent or admin
 * that is not disabled. Exposed for tests. */
int reference_user_assignable(const json_t *user);

#endif
