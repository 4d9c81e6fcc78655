/* Every MongoDB query of the cases service: cases, their revisions (the arbiter of concurrent
 * updates) and the tombstones of deleted customers. Nothing here knows about HTTP. Each function
 * returns a crm_store_status. */
#ifndef CASES_STORE_H
#define CASES_STORE_H

#include "crm/mongo.h"
#include "crm/query.h"
#include "model.h"

/* Creates the indexes the queries rely on (idempotent). */
crm_store_status cases_store_prepare(crm_mongo *mongo);

/* Inserts `c` with a new id (written into c->id). */
crm_store_status case_store_insert(crm_mongo *mongo, support_case *c);

/* Creates a case unless its customer was deleted: inserts, then looks for the customer's
 * tombstone and, if there is one, deletes the case again (CRM_STORE_CONFLICT). The cascade
 * writes the tombstone before deleting, so whatever the interleaving either the cascade's
 * delete sees this case or this check sees the tombstone: no case outlives its customer. */
crm_store_status case_store_create(crm_mongo *mongo, support_case *c);

crm_store_status case_store_find(crm_mongo *mongo, const char *id, support_case *out);

/* Writes `c` (its new state, c->version = expected_version + 1) if nobody else wrote version
 * c->version first. Exactly one of any number of concurrent writers from one version wins, on
 * FerretDB too: the winner is the one whose revision `<id>:<version>` the unique _id accepted.
 * CRM_STORE_CONFLICT for a loser (after it finished a winner's write that a crash or a slow
 * winner left half done), CRM_STORE_NOT_FOUND when the case is gone. */
crm_store_status case_store_update(crm_mongo *mongo, const support_case *c,
                                   long long expected_version);

/* Deletes a case (and its revisions); with `expected_version` > 0 only at that version
 * (CRM_STORE_CONFLICT when it moved on). CRM_STORE_NOT_FOUND when there is no such case. */
crm_store_status case_store_delete(crm_mongo *mongo, const char *id, long long expected_version);

/* The find of one page: the filter (the filters, then the keyset condition of list's cursor) and
 * the options (sort, limit; priority sorts by its stored rank), into `filter` and `opts`
 * (initialised by the caller). Exposed for tests and fuzzing; case_store_list runs it. Returns 0,
 * or -1 when out of memory. */
int case_store_list_query(bson_t *filter, bson_t *opts, const crm_list_params *list,
                          const case_filters *f);

/* One page: up to list->limit + 1 rows. Sort fields created_at, updated_at, priority. The
 * caller releases rows with support_case_clean each and free(rows). */
crm_store_status case_store_list(crm_mongo *mongo, const crm_list_params *list,
                                 const case_filters *filters, support_case **rows, size_t *count);

/* Deletes every case of a customer; *deleted tells how many. */
crm_store_status case_store_delete_by_customer(crm_mongo *mongo, const char *customer_id,
                                               long long *deleted);

/* Records that a customer was deleted (idempotent: the id is the _id). */
crm_store_status tombstone_store_insert(crm_mongo *mongo, const char *customer_id,
                                        long long deleted_at);

/* CRM_STORE_OK when the customer was deleted, CRM_STORE_NOT_FOUND when not. */
crm_store_status tombstone_store_find(crm_mongo *mongo, const char *customer_id);

#endif
