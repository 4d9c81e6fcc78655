/* MongoDB access: one client pool per process (error API 2), a client popped per operation and
 * pushed back at once, and the readiness ping. */
#ifndef CRM_MONGO_H
#define CRM_MONGO_H

#include "crm/query.h"

#include <mongoc/mongoc.h>
#include <stddef.h>

/* What a store function tells its caller; routes map it to HTTP with crm_problem_send_store. */
typedef enum crm_store_status {
    CRM_STORE_OK = 0,
    CRM_STORE_NOT_FOUND,   /* no such document (or not in the state asked for) */
    CRM_STORE_DUPLICATE,   /* a unique index refused the write */
    CRM_STORE_CONFLICT,    /* the document changed since it was read (version) */
    CRM_STORE_REUSED,      /* a one-time thing (a refresh token) used again */
    CRM_STORE_UNAVAILABLE, /* the database did not answer */
} crm_store_status;

typedef struct crm_mongo crm_mongo;

/* Opens a pool on `uri` for `database`, naming connections after `app_name`. No connection is
 * made yet. Returns NULL with a message in `err` (the URI is never echoed: it may hold a
 * password). Free with crm_mongo_free. */
crm_mongo *crm_mongo_new(const char *uri, const char *database, const char *app_name, char *err,
                         size_t err_len);
void crm_mongo_free(crm_mongo *mongo);

/* Takes a client from the pool (blocks while all are in use); give it back with crm_mongo_push. */
mongoc_client_t *crm_mongo_pop(crm_mongo *mongo);
void crm_mongo_push(crm_mongo *mongo, mongoc_client_t *client);

/* The collection `name` of this process's database, on a client popped from the pool. The
 * caller destroys the collection, then pushes the client. */
mongoc_collection_t *crm_mongo_collection(crm_mongo *mongo, mongoc_client_t *client,
                                          const char *name);

/* One operation's client and collection, popped from and pushed back to the pool. */
typedef struct crm_mongo_session {
    crm_mongo *mongo;
    mongoc_client_t *client;
    mongoc_collection_t *collection;
} crm_mongo_session;

crm_mongo_session crm_mongo_session_open(crm_mongo *mongo, const char *collection);
void crm_mongo_session_close(crm_mongo_session *session);

/* The status of a failed operation: CRM_STORE_DUPLICATE for error 11000, else (logged without
 * the server's text) CRM_STORE_UNAVAILABLE. */
crm_store_status crm_store_failure(const bson_error_t *error, const char *what);

/* Appends the keyset condition that continues a list after the cursor's row:
 * {$or: [{F: {$lt: v}}, {F: v, _id: {$lt: id}}]} descending ($gt ascending). Integer cursor
 * values are BSON dates (created_at, updated_at). Nothing when the list has no cursor. */
void crm_mongo_append_keyset(bson_t *filter, const crm_list_params *list);

/* The same for a sort field holding plain integers (a rank, not a date). */
void crm_mongo_append_keyset_integer(bson_t *filter, const crm_list_params *list);

/* Appends {sort: {F: ±1, _id: ±1}, limit: list->limit + 1} to find options. */
void crm_mongo_append_page(bson_t *opts, const crm_list_params *list);

/* Finds the first document of `collection` matching `filter` and copies it into `out` (which
 * the caller then bson_destroy()s), or only tells whether it exists when `out` is NULL.
 * CRM_STORE_OK, CRM_STORE_NOT_FOUND or a failure. */
crm_store_status crm_mongo_find_one(crm_mongo *mongo, const char *collection, const bson_t *filter,
                                    bson_t *out);

/* Appends {field: {$in: [values...]}} (values NULL-terminated). */
void crm_mongo_append_in(bson_t *doc, const char *field, const char *const *values);

/* `text` as a regex matching it literally and ASCII-case-insensitively (the `q` filters): every
 * ASCII letter becomes a class of its two cases ("a" -> "[aA]"), every other ASCII character but
 * a digit is escaped with a backslash, bytes >= 0x80 are kept. No quantifier or group survives,
 * so no input can make the database backtrack. A string the caller frees, or NULL. */
char *crm_regex_literal(const char *text);

/* Creates the index `name` on `collection` over `keys` (e.g. {"username": 1}) if it does not
 * exist; `unique` makes duplicates fail with error 11000. Returns 0, or -1 with `error` set.
 * (libmongoc 1.23 has no index-model API: this sends createIndexes itself.) */
int crm_mongo_index_ensure(crm_mongo *mongo, const char *collection, const bson_t *keys,
                           const char *name, int unique, bson_error_t *error);

/* 1 when the server answers a ping (bounded by the URI's serverSelectionTimeoutMS), else 0.
 * The signature fits crm_readiness_check. */
int crm_mongo_ping(void *mongo);

#endif
