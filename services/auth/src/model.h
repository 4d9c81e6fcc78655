/* The auth service's resources: users and the bodies that create and change them. Pure
 * functions: validation tables, defaults and the JSON form, unit-tested without a server. */
#ifndef AUTH_MODEL_H
#define AUTH_MODEL_H

#include "crm/query.h"

#include <jansson.h>
#include <stddef.h>

#define USERNAME_MAX 32
#define ROLE_MAX     8

/* A user as stored. The password hash never leaves the service. */
typedef struct user {
    char id[25];
    char username[USERNAME_MAX + 1];
    char *email;         /* NULL when unset; owned */
    char role[ROLE_MAX]; /* admin | agent | viewer */
    int disabled;
    char *password_hash;              /* owned */
    long long created_at, updated_at; /* milliseconds since the epoch */
    long long version;
} user;

/* A validated PATCH: which writable fields it sets. */
typedef struct user_patch {
    int has_role, has_disabled, has_email;
    char role[ROLE_MAX];
    int disabled;
    char *email; /* NULL clears; owned */
} user_patch;

void user_clean(user *u);
void user_patch_clean(user_patch *patch);

extern const char *const user_roles[]; /* NULL-terminated */

/* Lowercases `raw` into `out` (USERNAME_MAX + 1 bytes). Returns 0 when the result is 3..32 of
 * [a-z0-9._-], else -1. */
int username_normalize(const char *raw, char *out);

/* Validates a register body (username, password, email?, role?). Appends one error per bad field
 * to `errors` and returns how many. */
size_t register_body_validate(const json_t *body, json_t *errors);

/* Validates a login body (username, password). */
size_t login_body_validate(const json_t *body, json_t *errors);

/* Validates a refresh or logout body (refresh_token). */
size_t refresh_body_validate(const json_t *body, json_t *errors);

/* Validates a PATCH /api/users/:id body and fills `patch`. Returns the number of errors. */
size_t user_patch_read(const json_t *body, user_patch *patch, json_t *errors);

/* Applies `patch` to `u` in place. Returns 1 when something changed, else 0. */
int user_patch_apply(user *u, const user_patch *patch);

/* The public JSON form of a user (no password hash). A new reference, or NULL. */
json_t *user_to_json(const user *u);

/* Filters of GET /api/users. */
typedef struct user_filters {
    const char *roles[4]; /* NULL-terminated; empty: any role */
    int disabled;         /* -1 any, 0, 1 */
} user_filters;

/* The query parameters of GET /api/users and its sortable fields; NULL-terminated. */
extern const char *const user_list_params[];
extern const char *const user_sortable[];

/* Reads role (one or a comma list of distinct roles) and disabled from `query`. Returns 0, or -1
 * with a message in `err` (an empty item, an unknown role or a repeat is an error). */
int user_filters_read(const crm_query *query, user_filters *filters, char *err, size_t err_len);

/* The canonical form of the filters a cursor is bound to, into `key`. */
void user_filters_key(const crm_query *query, const user_filters *filters, char *key,
                      size_t key_len);

#endif
