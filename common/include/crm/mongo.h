/* MongoDB access: one client pool per process (error API 2), a client popped per operation and
 * pushed back at once, and the readiness ping. */
#ifndef CRM_MONGO_H
#define CRM_MONGO_H

#include <mongoc/mongoc.h>
#include <stddef.h>

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

/* Creates the index `name` on `collection` over `keys` (e.g. {"username": 1}) if it does not
 * exist; `unique` makes duplicates fail with error 11000. Returns 0, or -1 with `error` set.
 * (libmongoc 1.23 has no index-model API: this sends createIndexes itself.) */
int crm_mongo_index_ensure(crm_mongo *mongo, const char *collection, const bson_t *keys,
                           const char *name, int unique, bson_error_t *error);

/* 1 when the server answers a ping (bounded by the URI's serverSelectionTimeoutMS), else 0.
 * The signature fits crm_readiness_check. */
int crm_mongo_ping(void *mongo);

#endif
