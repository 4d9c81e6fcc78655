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

/* Filters of GET /api/cases. */
typedef struct case_filters {
    const char *statuses[8];   /* NULL-terminated; empty: any */
    const char *priorities[5]; /* NULL-terminated; empty: any */
    int assigned;              /* 0 any, 1 to `assigned_to`, 2 unassigned */
    char assigned_to[CASE_ID_LEN];
    char customer_id[CASE_ID_LEN]; /* "" any */
    const char *q;                 /* a substring of the title, or NULL */
    int has_after, has_before;
    long long created_after, created_before; /* ms; after inclusive, before exclusive */
} case_filters;

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
