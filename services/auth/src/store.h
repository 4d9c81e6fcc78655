/* Every MongoDB query of the auth service: users, refresh tokens and the login-failure log.
 * Nothing here knows about HTTP. Each function returns a crm_store_status. */
#ifndef AUTH_STORE_H
#define AUTH_STORE_H

#include "crm/mongo.h"
#include "crm/query.h"
#include "model.h"

/* Creates the indexes the queries rely on (idempotent). */
crm_store_status auth_store_prepare(crm_mongo *mongo);

/* Inserts `u` with a new id (written into u->id). */
crm_store_status user_store_insert(crm_mongo *mongo, user *u);
crm_store_status user_store_find_by_username(crm_mongo *mongo, const char *username, user *out);
crm_store_status user_store_find_by_id(crm_mongo *mongo, const char *id, user *out);

/* Writes u's role, disabled, email, updated_at and version (expected_version + 1) only if the
 * stored version is still `expected_version`, arbitrated by user_revisions (crm/revisions.h):
 * of concurrent writers exactly one wins; CRM_STORE_CONFLICT for the others. */
crm_store_status user_store_update(crm_mongo *mongo, const user *u, long long expected_version);
crm_store_status user_store_set_password_hash(crm_mongo *mongo, const char *id, const char *hash);

/* The find of one page: the filter (the filters, then the keyset condition of list's cursor) and
 * the options (sort, limit), into `filter` and `opts` (initialised by the caller). Exposed for
 * tests and fuzzing; user_store_list runs it. */
void user_store_list_query(bson_t *filter, bson_t *opts, const crm_list_params *list,
                           const user_filters *filters);

/* One page: up to list->limit + 1 rows (one more than asked tells whether a next page exists).
 * The caller releases rows with user_clean each and free(rows). */
crm_store_status user_store_list(crm_mongo *mongo, const crm_list_params *list,
                                 const user_filters *filters, user **rows, size_t *count);

/* A refresh token's record. */
typedef struct refresh_record {
    char user_id[25];
    char family[37]; /* every token of one login shares it */
} refresh_record;

crm_store_status refresh_store_insert(crm_mongo *mongo, const char *digest, const char *user_id,
                                      const char *family, long long expires_at);

/* Marks a live token spent and returns its record; STORE_REUSED with the record when it was
 * already spent; STORE_NOT_FOUND when unknown, revoked or expired. */
crm_store_status refresh_store_spend(crm_mongo *mongo, const char *digest, long long now,
                                     refresh_record *out);

/* Revokes every token of a family (reuse detected, or logout). */
crm_store_status refresh_store_revoke_family(crm_mongo *mongo, const char *family);

/* The family of a token whatever its state, for logout. */
crm_store_status refresh_store_find(crm_mongo *mongo, const char *digest, refresh_record *out);

/* Times (ms) of the failed logins for `username` since `since`, oldest first, at most `max`. */
crm_store_status login_failures_recent(crm_mongo *mongo, const char *username, long long since,
                                       long long *times, size_t max, size_t *count);
crm_store_status login_failures_record(crm_mongo *mongo, const char *username, long long now,
                                       long long forget_before);
crm_store_status login_failures_clear(crm_mongo *mongo, const char *username);

#endif
