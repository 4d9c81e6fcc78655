/* HTTP in and out for customers: parse, authorize, call the store, render. */
#include "routes.h"

#include "crm/log.h"
#include "crm/problem.h"
#include "crm/query.h"
#include "crm/util.h"
#include "model.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

#define CUSTOMER_WRITE_ATTEMPTS 5

static crm_service *service; /* set once by customers_routes_add, read-only afterwards */

static int reply_customer(struct _u_response *response, unsigned int status, const customer *c)
{
    crm_json_text body;
    crm_json_text_init(&body, 512);
    customer_json_write(&body, c);
    crm_http_set_etag(response, c->version);
    crm_http_send_json_text(response, status, &body);
    crm_json_text_clean(&body);
    return U_CALLBACK_COMPLETE;
}

static int reply_not_found(struct _u_response *response, const char *id)
{
    return crm_problem_send(response, CRM_PROBLEM_NOT_FOUND, "no customer with id %s", id);
}

/* Reads the live customer `id`, first completing a change left half-written (store.c). Returns
 * 0 with *out filled, or -1 after answering 404 or 503. */
static int find_or_reply(struct _u_response *response, const char *id, customer *out)
{
    for (int attempt = 0; attempt < CUSTOMER_WRITE_ATTEMPTS; attempt++) {
        customer_clean(out);
        crm_store_status status = customer_store_find(service->mongo, id, out);
        if (status == CRM_STORE_OK)
            status = customer_store_heal(service->mongo, id, out->version);
        if (status == CRM_STORE_NOT_FOUND)
            return out->id[0] ? 0 : (reply_not_found(response, id), -1);
        if (status != CRM_STORE_OK) {
            crm_problem_send_store(response, status);
            return -1;
        }
        /* healed: read again */
    }
    return 0;
}

static int handle_create(const struct _u_request *request, struct _u_response *response,
                         void *user_data)
{
    (void)user_data;
    json_t *body = NULL;
    customer c = {0};
    if (crm_http_read_json_or_reply(request, response, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    json_t *errors = json_array();
    size_t bad = customer_create_read(body, &c, errors);
    json_decref(body);
    if (bad > 0)
        return crm_problem_send_validation(response, errors);
    json_decref(errors);
    c.created_at = c.updated_at = crm_time_now_ms();
    c.version = 1;
    crm_store_status status = customer_store_insert(service->mongo, &c, crm_log_request_id());
    if (status != CRM_STORE_OK) {
        crm_problem_send_store(response, status);
    } else {
        char location[64];
        snprintf(location, sizeof(location), "/api/customers/%s", c.id);
        u_map_put(response->map_header, "Location", location);
        reply_customer(response, 201, &c);
        CRM_LOG_INFO("customer %s created", c.id);
    }
    customer_clean(&c);
    return U_CALLBACK_COMPLETE;
}

static int handle_get(const struct _u_request *request, struct _u_response *response,
                      void *user_data)
{
    (void)user_data;
    customer c = {0};
    const char *id = crm_http_path_id_or_reply(request, response, "id");
    if (!id)
        return U_CALLBACK_COMPLETE;
    crm_store_status status = customer_store_find(service->mongo, id, &c);
    if (status == CRM_STORE_NOT_FOUND)
        reply_not_found(response, id);
    else if (status != CRM_STORE_OK)
        crm_problem_send_store(response, status);
    else if (!crm_http_not_modified(request, response, c.version))
        reply_customer(response, 200, &c);
    customer_clean(&c);
    return U_CALLBACK_COMPLETE;
}

/* Reads, applies the merge patch and records the next version; the revision arbiter (store.c)
 * lets exactly one concurrent writer of a version win. A loser reads again: with If-Match it
 * then answers 412, without it applies the patch to the newer state. */
static int handle_patch(const struct _u_request *request, struct _u_response *response,
                        void *user_data)
{
    (void)user_data;
    json_t *body = NULL;
    customer_patch patch = {0};
    customer current = {0}, next = {0};
    const char *id = crm_http_path_id_or_reply(request, response, "id");
    if (!id || crm_http_read_json_or_reply(request, response, 1, &body) != 0)
        return U_CALLBACK_COMPLETE;
    json_t *errors = json_array();
    if (customer_patch_read(body, &patch, errors) > 0) {
        crm_problem_send_validation(response, errors);
        goto done;
    }
    json_decref(errors);
    for (int attempt = 0; attempt < CUSTOMER_WRITE_ATTEMPTS; attempt++) {
        customer_clean(&next);
        memset(&next, 0, sizeof(next));
        if (find_or_reply(response, id, &current) != 0 ||
            crm_http_if_match_or_reply(request, response, current.version) != 0)
            goto done;
        customer_copy(&next, &current);
        if (!customer_patch_apply(&next, &patch)) {
            reply_customer(response, 200, &current);
            goto done;
        }
        next.version = current.version + 1;
        next.updated_at = crm_time_now_ms();
        crm_store_status status =
            customer_store_update(service->mongo, &next, current.version, crm_log_request_id());
        if (status == CRM_STORE_OK) {
            reply_customer(response, 200, &next);
            CRM_LOG_INFO("customer %s changed to version %lld", id, next.version);
            goto done;
        }
        if (status != CRM_STORE_CONFLICT) {
            crm_problem_send_store(response, status);
            goto done;
        }
    }
    crm_problem_send(response, CRM_PROBLEM_CONFLICT, "the customer keeps changing; try again");
done:
    json_decref(body);
    customer_patch_clean(&patch);
    customer_clean(&current);
    customer_clean(&next);
    return U_CALLBACK_COMPLETE;
}

static int handle_delete(const struct _u_request *request, struct _u_response *response,
                         void *user_data)
{
    (void)user_data;
    customer current = {0};
    const char *id = crm_http_path_id_or_reply(request, response, "id");
    if (!id)
        return U_CALLBACK_COMPLETE;
    for (int attempt = 0; attempt < CUSTOMER_WRITE_ATTEMPTS; attempt++) {
        if (find_or_reply(response, id, &current) != 0 ||
            crm_http_if_match_or_reply(request, response, current.version) != 0)
            goto done;
        crm_store_status status =
            customer_store_delete(service->mongo, &current, crm_log_request_id());
        if (status == CRM_STORE_OK) {
            ulfius_set_empty_body_response(response, 204);
            CRM_LOG_INFO("customer %s deleted", id);
            goto done;
        }
        if (status != CRM_STORE_CONFLICT) {
            crm_problem_send_store(response, status);
            goto done;
        }
    }
    crm_problem_send(response, CRM_PROBLEM_CONFLICT, "the customer keeps changing; try again");
done:
    customer_clean(&current);
    return U_CALLBACK_COMPLETE;
}

static json_t *sort_value(const customer *c, const char *field)
{
    if (strcmp(field, "name") == 0)
        return json_string(c->name ? c->name : "");
    if (strcmp(field, "updated_at") == 0)
        return json_integer(c->updated_at);
    return json_integer(c->created_at);
}

static int handle_list(const struct _u_request *request, struct _u_response *response,
                       void *user_data)
{
    (void)user_data;
    crm_query query;
    crm_list_params list = {0};
    customer_filters filters = {0};
    customer *rows = NULL;
    size_t count = 0;
    char err[160];
    char *filters_key = malloc(CUSTOMER_FILTERS_KEY_MAX);

    if (!filters_key) {
        memset(&query, 0, sizeof(query));
        crm_problem_send(response, CRM_PROBLEM_INTERNAL, "out of memory");
        goto done;
    }
    if (crm_query_parse(&query, request->http_url, customer_list_params, err, sizeof(err)) != 0 ||
        customer_filters_read(&query, &filters, filters_key, CUSTOMER_FILTERS_KEY_MAX, err,
                              sizeof(err)) != 0 ||
        crm_list_params_read(&list, &query, customer_sortable, filters_key, err, sizeof(err)) !=
            0) {
        crm_problem_send(response, CRM_PROBLEM_BAD_PARAMETER, "%s", err);
        goto done;
    }
    crm_store_status status = customer_store_list(service->mongo, &list, &filters, &rows, &count);
    if (status != CRM_STORE_OK) {
        crm_problem_send_store(response, status);
        goto done;
    }
    crm_json_text data;
    size_t shown = crm_list_shown(&list, count);
    crm_json_text_init(&data, 512 * (shown + 1));
    crm_json_text_lit(&data, "[");
    for (size_t i = 0; i < shown; i++) {
        if (i > 0)
            crm_json_text_lit(&data, ",");
        customer_json_write(&data, &rows[i]);
    }
    crm_json_text_lit(&data, "]");
    crm_http_send_page_text(response, &list, &data, count,
                            shown ? sort_value(&rows[shown - 1], list.sort_field) : NULL,
                            shown ? rows[shown - 1].id : NULL);
    crm_json_text_clean(&data);
done:
    for (size_t i = 0; i < count; i++)
        customer_clean(&rows[i]);
    free(rows);
    free(filters_key);
    customer_filters_clean(&filters);
    crm_list_params_clean(&list);
    crm_query_clean(&query);
    return U_CALLBACK_COMPLETE;
}

int customers_routes_add(crm_service *customers_service)
{
    service = customers_service;
    static const crm_route routes[] = {
        {"GET", "/api/customers", handle_list, NULL, CRM_ACCESS_AUTHENTICATED},
        {"POST", "/api/customers", handle_create, NULL, CRM_ACCESS_AGENT},
        {"GET", "/api/customers/:id", handle_get, NULL, CRM_ACCESS_AUTHENTICATED},
        {"PATCH", "/api/customers/:id", handle_patch, NULL, CRM_ACCESS_AGENT},
        {"DELETE", "/api/customers/:id", handle_delete, NULL, CRM_ACCESS_ADMIN},
    };
    return crm_http_server_add_routes(service->http, routes, sizeof(routes) / sizeof(routes[0]));
}
