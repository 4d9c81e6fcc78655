/* HTTP in and out for cases: parse, authorize, check references, call the store, render. */
#include "routes.h"

#include "crm/client.h"
#include "crm/log.h"
#include "crm/problem.h"
#include "crm/query.h"
#include "crm/util.h"
#include "crm/validate.h"
#include "model.h"
#include "references.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

#define CASE_UPDATE_ATTEMPTS 8
/* Reference checks run inside a request that the gateway waits for: keep them well inside its
 * own upstream timeout. */
#define REFERENCE_TIMEOUT_MS 3000

static crm_service *service; /* set once by cases_routes_add, read-only afterwards */
static crm_client *client;

static int reply_case(struct _u_response *response, unsigned int status, const support_case *c)
{
    crm_json_text body;
    crm_json_text_init(&body, 768);
    case_json_write(&body, c);
    crm_http_set_etag(response, c->version);
    crm_http_send_json_text(response, status, &body);
    crm_json_text_clean(&body);
    return U_CALLBACK_COMPLETE;
}

static const char *authorization_of(const struct _u_request *request)
{
    return u_map_get_case(request->map_header, "Authorization");
}

/* Adds a `reference` error for a missing referent; returns -1 (and answers 503) when the owner
 * could not tell. */
static int reference_note(reference_status status, const char *field, const char *message,
                          json_t *errors, struct _u_response *response)
{
    if (status == REFERENCE_UNAVAILABLE) {
        crm_problem_send(response, CRM_PROBLEM_SERVICE_UNAVAILABLE,
                         "a service that must confirm %s is unavailable; try again", field);
        return -1;
    }
    if (status == REFERENCE_MISSING)
        crm_problem_errors_add(errors, field, "reference", message);
    return 0;
}

static int check_assignee(const struct _u_request *request, struct _u_response *response,
                          const char *assigned_to, json_t *errors)
{
    if (!assigned_to[0])
        return 0;
    reference_status status = reference_assignee(client, service->settings.auth_url, assigned_to,
                                                 authorization_of(request), crm_log_request_id());
    return reference_note(status, "assigned_to", "no enabled agent or admin has this id", errors,
                          response);
}

/* ---- lists ---- */

static json_t *case_sort_value(const support_case *c, const char *field)
{
    if (strcmp(field, "priority") == 0)
        return json_integer(case_priority_rank(c->priority));
    if (strcmp(field, "updated_at") == 0)
        return json_integer(c->updated_at);
    return json_integer(c->created_at);
}

/* Answers one page of cases; `customer_id` (or NULL) is the nested route's customer. */
static int reply_list(const struct _u_request *request, struct _u_response *response,
                      const char *customer_id)
{
    crm_query query;
    crm_list_params list = {0};
    case_filters filters;
    support_case *rows = NULL;
    size_t count = 0;
    char err[160];
    char *filters_key = NULL;
    if (crm_query_parse(&query, request->http_url,
                        customer_id ? case_nested_list_params : case_list_params, err,
                        sizeof(err)) != 0 ||
        case_filters_read(&query, crm_http_principal()->sub, &filters, err, sizeof(err)) != 0) {
        crm_problem_send(response, CRM_PROBLEM_BAD_PARAMETER, "%s", err);
        goto done;
    }
    if (customer_id)
        snprintf(filters.customer_id, sizeof(filters.customer_id), "%s", customer_id);
    filters_key = case_filters_key_new(&query, &filters);
    if (!filters_key) {
        crm_problem_send(response, CRM_PROBLEM_INTERNAL, "out of memory");
        goto done;
    }
    if (crm_list_params_read(&list, &query, case_sortable, filters_key, err, sizeof(err)) != 0) {
        crm_problem_send(response, CRM_PROBLEM_BAD_PARAMETER, "%s", err);
        goto done;
    }
    crm_store_status status = case_store_list(service->mongo, &list, &filters, &rows, &count);
    if (status != CRM_STORE_OK) {
        crm_problem_send_store(response, status);
        goto done;
    }
    crm_json_text data;
    size_t shown = crm_list_shown(&list, count);
    crm_json_text_init(&data, 768 * (shown + 1));
    crm_json_text_lit(&data, "[");
    for (size_t i = 0; i < shown; i++) {
        if (i > 0)
            crm_json_text_lit(&data, ",");
        case_json_write(&data, &rows[i]);
    }
    crm_json_text_lit(&data, "]");
    crm_http_send_page_text(response, &list, &data, count,
                            shown ? case_sort_value(&rows[shown - 1], list.sort_field) : NULL,
                            shown ? rows[shown - 1].id : NULL);
    crm_json_text_clean(&data);
done:
    for (size_t i = 0; i < count; i++)
        support_case_clean(&rows[i]);
    free(rows);
    free(filters_key);
    crm_list_params_clean(&list);
    crm_query_clean(&query);
    return U_CALLBACK_COMPLETE;
}

static int handle_list(const struct _u_request *request, struct _u_response *response,
                       void *user_data)
{
    (void)user_data;
    return reply_list(request, response, NULL);
}

static int handle_customer_cases(const struct _u_request *request, struct _u_response *response,
                                 void *user_data)
{
    (void)user_data;
    const char *id = crm_http_path_id_or_reply(request, response, "id");
    if (!id)
        return U_CALLBACK_COMPLETE;
    reference_status status = reference_customer(client, service->settings.customers_url, id,
                                                 authorization_of(request), crm_log_request_id());
    if (status == REFERENCE_MISSING)
        return crm_problem_send(response, CRM_PROBLEM_NOT_FOUND, "no customer with id %s", id);
    if (status != REFERENCE_OK)
        return crm_problem_send(response, CRM_PROBLEM_SERVICE_UNAVAILABLE,
                                "the customers service is unavailable; try again");
    return reply_list(request, response, id);
}

/* ---- one case ---- */

static int handle_get(const struct _u_request *request, struct _u_response *response,
                      void *user_data)
{
    (void)user_data;
    support_case c = {0};
    const char *id = crm_http_path_id_or_reply(request, response, "id");
    if (!id)
        return U_CALLBACK_COMPLETE;
    crm_store_status status = case_store_find(service->mongo, id, &c);
    if (status == CRM_STORE_NOT_FOUND)
        crm_problem_send(response, CRM_PROBLEM_NOT_FOUND, "no case with id %s", id);
    else if (status != CRM_STORE_OK)
        crm_problem_send_store(response, status);
    else if (!crm_http_not_modified(request, response, c.version))
        reply_case(response, 200, &c);
    support_case_clean(&c);
    return U_CALLBACK_COMPLETE;
}

/* Checks the references, then creates through case_store_create, which closes the race with a
 * concurrent deletion of the customer. */
static int handle_create(const struct _u_request *request, struct _u_response *response,
                         void *user_data)
{
    (void)user_data;
    json_t *body = NULL;
    support_case c = {0};
    if (crm_http_read_json_or_reply(request, response, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    json_t *errors = json_array();
    if (case_create_read(body, crm_time_now_ms(), &c, errors) > 0) {
        crm_problem_send_validation(response, errors);
        goto done;
    }
    reference_status customer =
        reference_customer(client, service->settings.customers_url, c.customer_id,
                           authorization_of(request), crm_log_request_id());
    if (reference_note(customer, "customer_id", "no customer has this id", errors, response) != 0 ||
        check_assignee(request, response, c.assigned_to, errors) != 0) {
        json_decref(errors);
        goto done;
    }
    if (json_array_size(errors) > 0) {
        crm_problem_send_validation(response, errors);
        goto done;
    }
    json_decref(errors);
    snprintf(c.created_by, sizeof(c.created_by), "%.24s", crm_http_principal()->sub);
    crm_store_status status = case_store_create(service->mongo, &c);
    if (status == CRM_STORE_CONFLICT) {
        errors = json_array();
        crm_problem_errors_add(errors, "customer_id", "reference", "no customer has this id");
        crm_problem_send_validation(response, errors);
    } else if (status != CRM_STORE_OK) {
        crm_problem_send_store(response, status);
    } else {
        char location[64];
        snprintf(location, sizeof(location), "/api/cases/%s", c.id);
        u_map_put(response->map_header, "Location", location);
        reply_case(response, 201, &c);
        CRM_LOG_INFO("case %s created for customer %s", c.id, c.customer_id);
    }
done:
    json_decref(body);
    support_case_clean(&c);
    return U_CALLBACK_COMPLETE;
}

/* Reads, applies and writes back through the store's revision arbiter; a concurrent change is
 * retried, unless the caller pinned a version with If-Match (then the re-read answers 412). */
static int handle_patch(const struct _u_request *request, struct _u_response *response,
                        void *user_data)
{
    (void)user_data;
    json_t *body = NULL;
    case_patch patch = {0};
    support_case c = {0};
    const char *id = crm_http_path_id_or_reply(request, response, "id");
    if (!id || crm_http_read_json_or_reply(request, response, 1, &body) != 0)
        return U_CALLBACK_COMPLETE;
    json_t *errors = json_array();
    if (case_patch_read(body, &patch, errors) > 0) {
        crm_problem_send_validation(response, errors);
        goto done;
    }
    if (patch.has_assigned_to &&
        check_assignee(request, response, patch.assigned_to, errors) != 0) {
        json_decref(errors);
        goto done;
    }
    if (json_array_size(errors) > 0) {
        crm_problem_send_validation(response, errors);
        goto done;
    }
    json_decref(errors);
    for (int attempt = 0; attempt < CASE_UPDATE_ATTEMPTS; attempt++) {
        support_case_clean(&c);
        crm_store_status status = case_store_find(service->mongo, id, &c);
        if (status == CRM_STORE_NOT_FOUND) {
            crm_problem_send(response, CRM_PROBLEM_NOT_FOUND, "no case with id %s", id);
            goto done;
        }
        if (status != CRM_STORE_OK) {
            crm_problem_send_store(response, status);
            goto done;
        }
        if (crm_http_if_match_or_reply(request, response, c.version) != 0)
            goto done;
        if (patch.has_status && !case_transition_allowed(c.status, patch.status)) {
            char targets[128];
            case_transition_targets(c.status, targets, sizeof(targets));
            crm_problem_send(response, CRM_PROBLEM_CONFLICT,
                             "a %s case cannot move to %s; allowed: %s", c.status, patch.status,
                             targets);
            goto done;
        }
        long long read_version = c.version;
        long long now = crm_time_now_ms();
        if (!case_patch_apply(&c, &patch, now)) {
            reply_case(response, 200, &c);
            goto done;
        }
        c.version++;
        c.updated_at = now;
        status = case_store_update(service->mongo, &c, read_version);
        if (status == CRM_STORE_OK) {
            reply_case(response, 200, &c);
            CRM_LOG_INFO("case %s changed to version %lld", c.id, c.version);
            goto done;
        }
        if (status == CRM_STORE_NOT_FOUND) {
            crm_problem_send(response, CRM_PROBLEM_NOT_FOUND, "no case with id %s", id);
            goto done;
        }
        if (status != CRM_STORE_CONFLICT) {
            crm_problem_send_store(response, status);
            goto done;
        }
    }
    crm_problem_send(response, CRM_PROBLEM_CONFLICT, "the case keeps changing; try again");
done:
    json_decref(body);
    case_patch_clean(&patch);
    support_case_clean(&c);
    return U_CALLBACK_COMPLETE;
}

static int handle_delete(const struct _u_request *request, struct _u_response *response,
                         void *user_data)
{
    (void)user_data;
    support_case c = {0};
    const char *id = crm_http_path_id_or_reply(request, response, "id");
    if (!id)
        return U_CALLBACK_COMPLETE;
    long long expected = crm_http_if_match_version(request);
    crm_store_status status = CRM_STORE_OK;
    if (expected < 0) { /* a weak or malformed tag: 412, but 404 first for a missing case */
        status = case_store_find(service->mongo, id, &c);
        support_case_clean(&c);
        if (status == CRM_STORE_OK)
            return crm_problem_send(response, CRM_PROBLEM_PRECONDITION_FAILED,
                                    "If-Match does not match the case's current version");
    } else {
        status = case_store_delete(service->mongo, id, expected);
    }
    if (status == CRM_STORE_NOT_FOUND)
        return crm_problem_send(response, CRM_PROBLEM_NOT_FOUND, "no case with id %s", id);
    if (status == CRM_STORE_CONFLICT)
        return crm_problem_send(response, CRM_PROBLEM_PRECONDITION_FAILED,
                                "If-Match does not match the case's current version");
    if (status != CRM_STORE_OK)
        return crm_problem_send_store(response, status);
    CRM_LOG_INFO("case %s deleted", id);
    ulfius_set_empty_body_response(response, 204);
    return U_CALLBACK_COMPLETE;
}

int cases_routes_add(crm_service *cases_service)
{
    service = cases_service;
    const crm_settings *s = &service->settings;
    long timeout = s->upstream_timeout_ms < REFERENCE_TIMEOUT_MS ? s->upstream_timeout_ms
                                                                 : REFERENCE_TIMEOUT_MS;
    client = crm_client_new(s->upstream_connect_timeout_ms, timeout);
    if (!client)
        return -1;
    static const crm_route routes[] = {
        {"GET", "/api/cases", handle_list, NULL, CRM_ACCESS_AUTHENTICATED},
        {"POST", "/api/cases", handle_create, NULL, CRM_ACCESS_AGENT},
        {"GET", "/api/cases/:id", handle_get, NULL, CRM_ACCESS_AUTHENTICATED},
        {"PATCH", "/api/cases/:id", handle_patch, NULL, CRM_ACCESS_AGENT},
        {"DELETE", "/api/cases/:id", handle_delete, NULL, CRM_ACCESS_ADMIN},
        {"GET", "/api/customers/:id/cases", handle_customer_cases, NULL, CRM_ACCESS_AUTHENTICATED},
    };
    return crm_http_server_add_routes(service->http, routes, sizeof(routes) / sizeof(routes[0]));
}

void cases_routes_clean(void)
{
    crm_client_free(client);
    client = NULL;
}
