/* Reference checks: a 200 means it exists, a 404 that it does not; anything else (refused,
 * timed out, 5xx, or an answer we cannot read) means we cannot tell, and the request is 503. */
#include "references.h"

#include "crm/log.h"

#include <stdio.h>
#include <string.h>

static reference_status ask(crm_client *client, const char *urls, const char *path,
                            const char *authorization, const char *request_id, json_t **body)
{
    long status = crm_client_get(client, urls, path, authorization, request_id, body);
    if (status == 200)
        return REFERENCE_OK;
    if (status == 404)
        return REFERENCE_MISSING;
    CRM_LOG_WARN("reference check %s: upstream answered %ld", path, status);
    return REFERENCE_UNAVAILABLE;
}

reference_status reference_customer(crm_client *client, const char *customers_urls, const char *id,
                                    const char *authorization, const char *request_id)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/customers/%s", id);
    return ask(client, customers_urls, path, authorization, request_id, NULL);
}

int reference_user_assignable(const json_t *user)
{
    const char *role = json_string_value(json_object_get(user, "role"));
    const json_t *disabled = json_object_get(user, "disabled");
    return role && (strcmp(role, "agent") == 0 || strcmp(role, "admin") == 0) &&
           json_is_false(disabled);
}

reference_status reference_assignee(crm_client *client, const char *auth_urls, const char *id,
                                    const char *authorization, const char *request_id)
{
    char path[64];
    json_t *user = NULL;
    snprintf(path, sizeof(path), "/api/users/%s", id);
    reference_status status = ask(client, auth_urls, path, authorization, request_id, &user);
    if (status == REFERENCE_OK && !json_is_object(user))
        status = REFERENCE_UNAVAILABLE;
    else if (status == REFERENCE_OK && !reference_user_assignable(user))
        status = REFERENCE_MISSING;
    json_decref(user);
    return status;
}
