/* HTTP in and out for accounts and tokens: parse, authorize, call the store, render. */
#include "routes.h"

#include "crm/log.h"
#include "crm/problem.h"
#include "crm/query.h"
#include "crm/util.h"
#include "model.h"
#include "passwords.h"
#include "store.h"
#include "tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ulfius.h>

#define LOGIN_MAX_FAILURES   5
#define LOGIN_WINDOW_MS      (15LL * 60 * 1000)
#define LOGIN_THROTTLE_KEY   64
#define USER_UPDATE_ATTEMPTS 5

static crm_service *service; /* set once by auth_routes_add, read-only afterwards */

static int reply_user(struct _u_response *response, unsigned int status, const user *u)
{
    json_t *body = user_to_json(u);
    crm_http_set_etag(response, u->version);
    crm_http_send_json(response, status, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

/* Answers a token pair: a new access token and a new refresh token in `family`. */
static int reply_token_pair(struct _u_response *response, const user *u, const char *family)
{
    char refresh[REFRESH_TOKEN_LEN], digest[REFRESH_DIGEST_LEN];
    refresh_token_new(refresh, digest);
    long long expires = crm_time_now_ms() + service->settings.refresh_ttl_seconds * 1000LL;
    crm_store_status status = refresh_store_insert(service->mongo, digest, u->id, family, expires);
    if (status != CRM_STORE_OK)
        return crm_problem_send_store(response, status);
    char *access = access_token_issue(u);
    if (!access)
        return crm_problem_send(response, CRM_PROBLEM_INTERNAL, "could not sign a token");
    json_t *body = json_pack("{s:s, s:s, s:I, s:s, s:o}", "access_token", access, "token_type",
                             "Bearer", "expires_in", (json_int_t)access_token_ttl(),
                             "refresh_token", refresh, "user", user_to_json(u));
    free(access);
    u_map_put(response->map_header, "Cache-Control", "no-store");
    crm_http_send_json(response, 200, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

/* Reads a JSON body and validates it with `validate`; answers the problem itself on failure. */
static int read_valid_body_or_reply(const struct _u_request *request, struct _u_response *response,
                                    size_t (*validate)(const json_t *, json_t *), json_t **body)
{
    if (crm_http_read_json_or_reply(request, response, 0, body) != 0)
        return -1;
    json_t *errors = json_array();
    if (validate(*body, errors) > 0) {
        crm_problem_send_validation(response, errors);
        json_decref(*body);
        *body = NULL;
        return -1;
    }
    json_decref(errors);
    return 0;
}

static const char *body_string(const json_t *body, const char *name)
{
    return json_string_value(json_object_get(body, name));
}

/* ---- register, login, refresh, logout ---- */

static int handle_register(const struct _u_request *request, struct _u_response *response,
                           void *user_data)
{
    (void)user_data;
    json_t *body = NULL;
    user u = {0};
    char hash[PASSWORD_HASH_MAX];
    const crm_principal *caller = crm_http_principal();

    if (crm_http_read_json_or_reply(request, response, 0, &body) != 0)
        return U_CALLBACK_COMPLETE;
    if (json_object_get(body, "role") && !(caller && strcmp(caller->role, "admin") == 0)) {
        json_decref(body);
        return crm_problem_send(response, CRM_PROBLEM_FORBIDDEN, "only an admin may set a role");
    }
    json_t *errors = json_array();
    if (register_body_validate(body, errors) > 0) {
        json_decref(body);
        return crm_problem_send_validation(response, errors);
    }
    json_decref(errors);

    username_normalize(body_string(body, "username"), u.username);
    snprintf(u.role, sizeof(u.role), "%s",
             json_object_get(body, "role") ? body_string(body, "role") : "agent");
    u.email = body_string(body, "email") ? strdup(body_string(body, "email")) : NULL;
    u.created_at = u.updated_at = crm_time_now_ms();
    u.version = 1;
    if (password_hash(body_string(body, "password"), hash) != 0) {
        json_decref(body);
        user_clean(&u);
        return crm_problem_send(response, CRM_PROBLEM_INTERNAL, "password hashing failed");
    }
    json_decref(body);
    u.password_hash = strdup(hash);
    sodium_memzero(hash, sizeof(hash));

    crm_store_status status = user_store_insert(service->mongo, &u);
    if (status == CRM_STORE_DUPLICATE) {
        crm_problem_send(response, CRM_PROBLEM_CONFLICT, "the username %s is taken", u.username);
    } else if (status != CRM_STORE_OK) {
        crm_problem_send_store(response, status);
    } else {
        char location[64];
        snprintf(location, sizeof(location), "/api/users/%s", u.id);
        u_map_put(response->map_header, "Location", location);
        reply_user(response, 201, &u);
        CRM_LOG_INFO("user %s registered as %s", u.id, u.role);
    }
    user_clean(&u);
    return U_CALLBACK_COMPLETE;
}

/* The throttle counts by the name as typed, lowercased, so unknown names are throttled too. */
static void throttle_key(const char *raw, char *key)
{
    size_t i = 0;
    for (; raw[i] && i < LOGIN_THROTTLE_KEY - 1; i++)
        key[i] = (char)((raw[i] >= 'A' && raw[i] <= 'Z') ? raw[i] + 32 : raw[i]);
    key[i] = '\0';
}

/* Answers 429 when the name has LOGIN_MAX_FAILURES failures in the window. Returns 1 then, 0 to
 * go on, -1 after answering a store failure. */
static int throttled_or_reply(struct _u_response *response, const char *key, long long now)
{
    long long times[LOGIN_MAX_FAILURES * 2];
    size_t count = 0;
    crm_store_status status =
        login_failures_recent(service->mongo, key, now - LOGIN_WINDOW_MS, times,
                              sizeof(times) / sizeof(times[0]), &count);
    if (status != CRM_STORE_OK) {
        crm_problem_send_store(response, status);
        return -1;
    }
    if (count < LOGIN_MAX_FAILURES)
        return 0;
    /* Logins reopen when enough of the failures have left the window. */
    long long reopen = times[count - LOGIN_MAX_FAILURES] + LOGIN_WINDOW_MS;
    char retry[24];
    snprintf(retry, sizeof(retry), "%lld",
             (reopen - now + 999) / 1000 > 0 ? (reopen - now + 999) / 1000 : 1);
    u_map_put(response->map_header, "Retry-After", retry);
    crm_problem_send(response, CRM_PROBLEM_RATE_LIMITED,
                     "too many failed logins for this username; retry in %s s", retry);
    return 1;
}

static int handle_login(const struct _u_request *request, struct _u_response *response,
                        void *user_data)
{
    (void)user_data;
    json_t *body = NULL;
    user u = {0};
    char key[LOGIN_THROTTLE_KEY], username[USERNAME_MAX + 1];
    long long now = crm_time_now_ms();

    if (read_valid_body_or_reply(request, response, login_body_validate, &body) != 0)
        return U_CALLBACK_COMPLETE;
    throttle_key(body_string(body, "username"), key);
    if (throttled_or_reply(response, key, now) != 0)
        goto done;

    crm_store_status status = CRM_STORE_NOT_FOUND;
    if (username_normalize(body_string(body, "username"), username) == 0)
        status = user_store_find_by_username(service->mongo, username, &u);
    if (status != CRM_STORE_OK && status != CRM_STORE_NOT_FOUND) {
        crm_problem_send_store(response, status);
        goto done;
    }
    /* Unknown, wrong and disabled cost one Argon2 verification each and answer alike. */
    int valid = password_verify(status == CRM_STORE_OK ? u.password_hash : NULL,
                                body_string(body, "password"));
    if (!valid || u.disabled) {
        login_failures_record(service->mongo, key, now, now - LOGIN_WINDOW_MS);
        crm_problem_send(response, CRM_PROBLEM_UNAUTHORIZED, "invalid username or password");
        goto done;
    }
    login_failures_clear(service->mongo, key);
    if (password_needs_rehash(u.password_hash)) {
        char hash[PASSWORD_HASH_MAX];
        if (password_hash(body_string(body, "password"), hash) == 0)
            user_store_set_password_hash(service->mongo, u.id, hash);
    }
    char family[CRM_UUID_LEN];
    crm_uuid_v4(family);
    reply_token_pair(response, &u, family);
done:
    json_decref(body);
    user_clean(&u);
    return U_CALLBACK_COMPLETE;
}

static int handle_refresh(const struct _u_request *request, struct _u_response *response,
                          void *user_data)
{
    (void)user_data;
    json_t *body = NULL;
    user u = {0};
    refresh_record record;
    char digest[REFRESH_DIGEST_LEN];

    if (read_valid_body_or_reply(request, response, refresh_body_validate, &body) != 0)
        return U_CALLBACK_COMPLETE;
    refresh_token_digest(body_string(body, "refresh_token"), digest);
    json_decref(body);

    crm_store_status status =
        refresh_store_spend(service->mongo, digest, crm_time_now_ms(), &record);
    if (status == CRM_STORE_REUSED) {
        /* A spent token came back: someone holds a copy. End the whole login. */
        refresh_store_revoke_family(service->mongo, record.family);
        CRM_LOG_WARN("refresh token reused: session of user %s revoked", record.user_id);
        return crm_problem_send(response, CRM_PROBLEM_UNAUTHORIZED, "the refresh token is invalid");
    }
    if (status == CRM_STORE_NOT_FOUND)
        return crm_problem_send(response, CRM_PROBLEM_UNAUTHORIZED, "the refresh token is invalid");
    if (status != CRM_STORE_OK)
        return crm_problem_send_store(response, status);
    status = user_store_find_by_id(service->mongo, record.user_id, &u);
    if (status == CRM_STORE_OK && !u.disabled) {
        reply_token_pair(response, &u, record.family);
    } else if (status == CRM_STORE_OK || status == CRM_STORE_NOT_FOUND) {
        refresh_store_revoke_family(service->mongo, record.family);
        crm_problem_send(response, CRM_PROBLEM_UNAUTHORIZED, "the refresh token is invalid");
    } else {
        crm_problem_send_store(response, status);
    }
    user_clean(&u);
    return U_CALLBACK_COMPLETE;
}

static int handle_logout(const struct _u_request *request, struct _u_response *response,
                         void *user_data)
{
    (void)user_data;
    json_t *body = NULL;
    refresh_record record;
    char digest[REFRESH_DIGEST_LEN];

    if (read_valid_body_or_reply(request, response, refresh_body_validate, &body) != 0)
        return U_CALLBACK_COMPLETE;
    refresh_token_digest(body_string(body, "refresh_token"), digest);
    json_decref(body);
    crm_store_status status = refresh_store_find(service->mongo, digest, &record);
    if (status == CRM_STORE_OK || status == CRM_STORE_REUSED)
        status = refresh_store_revoke_family(service->mongo, record.family);
    if (status == CRM_STORE_UNAVAILABLE)
        return crm_problem_send_store(response, status);
    ulfius_set_empty_body_response(response, 204);
    return U_CALLBACK_COMPLETE;
}

/* ---- me, keys, users ---- */

static int reply_user_by_id(const struct _u_request *request, struct _u_response *response,
                            const char *id)
{
    user u = {0};
    crm_store_status status = user_store_find_by_id(service->mongo, id, &u);
    if (status == CRM_STORE_NOT_FOUND)
        crm_problem_send(response, CRM_PROBLEM_NOT_FOUND, "no user with id %s", id);
    else if (status != CRM_STORE_OK)
        crm_problem_send_store(response, status);
    else if (!crm_http_not_modified(request, response, u.version))
        reply_user(response, 200, &u);
    user_clean(&u);
    return U_CALLBACK_COMPLETE;
}

static int handle_me(const struct _u_request *request, struct _u_response *response,
                     void *user_data)
{
    (void)user_data;
    return reply_user_by_id(request, response, crm_http_principal()->sub);
}

static int handle_jwks(const struct _u_request *request, struct _u_response *response,
                       void *user_data)
{
    (void)request;
    (void)user_data;
    json_t *keys = json_array();
    for (size_t i = 0; i < service->keys.count; i++) {
        const crm_jwt_key *k = &service->keys.keys[i];
        json_array_append_new(keys, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "use",
                                              "sig", "alg", "RS256", "kid", k->kid, "n",
                                              k->n_b64url, "e", k->e_b64url));
    }
    json_t *body = json_pack("{s:o}", "keys", keys);
    u_map_put(response->map_header, "Cache-Control", "public, max-age=300");
    crm_http_send_json(response, 200, body);
    json_decref(body);
    return U_CALLBACK_COMPLETE;
}

static json_t *user_sort_value(const user *u, const char *field)
{
    if (strcmp(field, "username") == 0)
        return json_string(u->username);
    return json_integer(u->created_at);
}

static int handle_users_list(const struct _u_request *request, struct _u_response *response,
                             void *user_data)
{
    (void)user_data;
    crm_query query;
    crm_list_params list = {0};
    user_filters filters;
    user *rows = NULL;
    size_t count = 0;
    char err[160], filters_key[160];

    if (crm_query_parse(&query, request->http_url, user_list_params, err, sizeof(err)) != 0 ||
        user_filters_read(&query, &filters, err, sizeof(err)) != 0) {
        crm_problem_send(response, CRM_PROBLEM_BAD_PARAMETER, "%s", err);
        goto done;
    }
    user_filters_key(&query, &filters, filters_key, sizeof(filters_key));
    if (crm_list_params_read(&list, &query, user_sortable, filters_key, err, sizeof(err)) != 0) {
        crm_problem_send(response, CRM_PROBLEM_BAD_PARAMETER, "%s", err);
        goto done;
    }
    crm_store_status status = user_store_list(service->mongo, &list, &filters, &rows, &count);
    if (status != CRM_STORE_OK) {
        crm_problem_send_store(response, status);
        goto done;
    }
    json_t *data = json_array();
    size_t shown = crm_list_shown(&list, count);
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(data, user_to_json(&rows[i]));
    crm_http_send_page(response, &list, data, count,
                       shown ? user_sort_value(&rows[shown - 1], list.sort_field) : NULL,
                       shown ? rows[shown - 1].id : NULL);
done:
    for (size_t i = 0; i < count; i++)
        user_clean(&rows[i]);
    free(rows);
    crm_list_params_clean(&list);
    crm_query_clean(&query);
    return U_CALLBACK_COMPLETE;
}

static int handle_user_get(const struct _u_request *request, struct _u_response *response,
                           void *user_data)
{
    (void)user_data;
    const char *id = crm_http_path_id_or_reply(request, response, "id");
    return id ? reply_user_by_id(request, response, id) : U_CALLBACK_COMPLETE;
}

/* Reads, applies the patch and writes back if the version is unchanged, retrying a concurrent
 * change unless the caller pinned a version with If-Match. */
static int handle_user_patch(const struct _u_request *request, struct _u_response *response,
                             void *user_data)
{
    (void)user_data;
    json_t *body = NULL;
    user_patch patch = {0};
    user u = {0};
    const char *id = crm_http_path_id_or_reply(request, response, "id");
    if (!id || crm_http_read_json_or_reply(request, response, 1, &body) != 0)
        return U_CALLBACK_COMPLETE;
    json_t *errors = json_array();
    if (user_patch_read(body, &patch, errors) > 0) {
        crm_problem_send_validation(response, errors);
        goto done;
    }
    json_decref(errors);
    if (strcmp(id, crm_http_principal()->sub) == 0 &&
        ((patch.has_role && strcmp(patch.role, "admin") != 0) ||
         (patch.has_disabled && patch.disabled))) {
        crm_problem_send(response, CRM_PROBLEM_CONFLICT,
                         "an admin cannot demote or disable themselves");
        goto done;
    }
    for (int attempt = 0; attempt < USER_UPDATE_ATTEMPTS; attempt++) {
        user_clean(&u);
        crm_store_status status = user_store_find_by_id(service->mongo, id, &u);
        if (status == CRM_STORE_NOT_FOUND) {
            crm_problem_send(response, CRM_PROBLEM_NOT_FOUND, "no user with id %s", id);
            goto done;
        }
        if (status != CRM_STORE_OK) {
            crm_problem_send_store(response, status);
            goto done;
        }
        if (crm_http_if_match_or_reply(request, response, u.version) != 0)
            goto done;
        long long read_version = u.version;
        if (!user_patch_apply(&u, &patch)) {
            reply_user(response, 200, &u);
            goto done;
        }
        u.version++;
        u.updated_at = crm_time_now_ms();
        status = user_store_update(service->mongo, &u, read_version);
        if (status == CRM_STORE_OK) {
            reply_user(response, 200, &u);
            CRM_LOG_INFO("user %s changed to version %lld", u.id, u.version);
            goto done;
        }
        if (status != CRM_STORE_CONFLICT) {
            crm_problem_send_store(response, status);
            goto done;
        }
        /* Changed underneath: with If-Match the next read answers 412; without, apply again. */
    }
    crm_problem_send(response, CRM_PROBLEM_CONFLICT, "the user keeps changing; try again");
done:
    json_decref(body);
    user_patch_clean(&patch);
    user_clean(&u);
    return U_CALLBACK_COMPLETE;
}

int auth_routes_add(crm_service *auth_service)
{
    service = auth_service;
    static const crm_route routes[] = {
        {"POST", "/api/auth/register", handle_register, NULL, CRM_ACCESS_OPTIONAL},
        {"POST", "/api/auth/login", handle_login, NULL, CRM_ACCESS_PUBLIC},
        {"POST", "/api/auth/refresh", handle_refresh, NULL, CRM_ACCESS_PUBLIC},
        {"POST", "/api/auth/logout", handle_logout, NULL, CRM_ACCESS_PUBLIC},
        {"GET", "/api/auth/me", handle_me, NULL, CRM_ACCESS_AUTHENTICATED},
        {"GET", "/api/auth/jwks.json", handle_jwks, NULL, CRM_ACCESS_PUBLIC},
        {"GET", "/api/users", handle_users_list, NULL, CRM_ACCESS_AUTHENTICATED},
        {"GET", "/api/users/:id", handle_user_get, NULL, CRM_ACCESS_AUTHENTICATED},
        {"PATCH", "/api/users/:id", handle_user_patch, NULL, CRM_ACCESS_ADMIN},
    };
    return crm_http_server_add_routes(service->http, routes, sizeof(routes) / sizeof(routes[0]));
}
