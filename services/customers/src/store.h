/* Every MongoDB query of the customers service. Nothing here knows about HTTP. Each function
 * returns a crm_store_status.
 *
 * Collections (see README.md for the why):
 * - customers: one document per customer, the state the API reads and lists; a deleted customer
 *   stays as a tombstone (deleted: true) until its customer.deleted event is published.
 * - customer_revisions: one document per change, _id "<customer id>:<version>", holding the full
 *   new state and the change's event (its outbox entry) with published: false. Inserting it is
 *   the commit point of a change: the unique _id lets exactly one writer create each version,
 *   and the event is written in the very same single-document write as the change. */
#ifndef CUSTOMERS_STORE_H
#define CUSTOMERS_STORE_H

#include "crm/mongo.h"
#include "crm/query.h"
#include "model.h"

#define CUSTOMERS          "customers"
#define CUSTOMER_REVISIONS "customer_revisions"

/* Creates the indexes the queries rely on (idempotent). */
crm_store_status customers_store_prepare(crm_mongo *mongo);

/* Records `c` (version 1, times set by the caller) with a new id written into c->id and its
 * customer.created event. `request_id` travels with the event (may be NULL). */
crm_store_status customer_store_insert(crm_mongo *mongo, customer *c, const char *request_id);

/* The live customer `id` (a valid id); CRM_STORE_NOT_FOUND for an unknown id or a tombstone. */
crm_store_status customer_store_find(crm_mongo *mongo, const char *id, customer *out);

/* Records `next` (version = expected_version + 1) with its customer.updated event, only if no
 * other change created that version first: exactly one of any number of concurrent callers with
 * the same expected version gets CRM_STORE_OK, the others CRM_STORE_CONFLICT. */
crm_store_status customer_store_update(crm_mongo *mongo, const customer *next,
                                       long long expected_version, const char *request_id);

/* Turns `current` into a tombstone (version + 1) with its customer.deleted event pending;
 * CRM_STORE_CONFLICT when another change took that version first. */
crm_store_status customer_store_delete(crm_mongo *mongo, const customer *current,
                                       const char *request_id);

/* Completes a change whose writer died between its two writes: when revision version + 1 of
 * `id` exists while the customer document is still at `version`, writes it there. Returns
 * CRM_STORE_OK when it applied one (the caller reads again), CRM_STORE_NOT_FOUND when there was
 * nothing to do. */
crm_store_status customer_store_heal(crm_mongo *mongo, const char *id, long long version);

/* The find of one page: the filter (tombstones out, the filters, then the keyset condition of
 * list's cursor) and the options (sort, limit), into `filter` and `opts` (initialised by the
 * caller). Exposed for tests and fuzzing; customer_store_list runs it. */
void customer_store_list_query(bson_t *filter, bson_t *opts, const crm_list_params *list,
                               const customer_filters *filters);

/* Filters as customer_filters (model.h). One page: up to list->limit + 1 live customers. The
 * caller releases rows with customer_clean each and free(rows). */
crm_store_status customer_store_list(crm_mongo *mongo, const crm_list_params *list,
                                     const customer_filters *filters, customer **rows,
                                     size_t *count);

/* ---- the outbox, for the relay ---- */

typedef struct outbox_event {
    char revision_id[48]; /* "<customer id>:<version>" */
    char customer_id[25];
    long long version;
    char type[24];         /* customer.created | customer.updated | customer.deleted */
    char request_id[129];  /* "" when none */
    char *value;           /* the Kafka message value (JSON), owned */
    long long recorded_at; /* ms */
} outbox_event;

void outbox_event_clean(outbox_event *event);

/* Up to `max` unpublished events, ordered by customer id, then version (so per customer in
 * the order of its changes). The caller cleans each event and frees *events. */
crm_store_status outbox_store_pending(crm_mongo *mongo, size_t max, outbox_event **events,
                                      size_t *count);

/* How many events wait to be published. */
crm_store_status outbox_store_backlog(crm_mongo *mongo, long long *count);

/* Writes the state of revision `event` into the customer document if that is exactly one
 * version behind (or missing, for version 1); a no-op otherwise. Idempotent. */
crm_store_status outbox_store_apply(crm_mongo *mongo, const outbox_event *event);

/* Marks the event published (after its delivery report). */
crm_store_status outbox_store_mark_published(crm_mongo *mongo, const outbox_event *event);

/* Deletes revisions published before `before` (ms), and tombstones older than that (left by a
 * removal that failed). A revision must outlive every writer that
 * may still try to create it (one that read the version before it), so `before` must lie
 * further back than any request can last. */
crm_store_status outbox_store_prune(crm_mongo *mongo, long long before);

/* Removes the tombstone of a customer whose customer.deleted event is published. */
crm_store_status outbox_store_remove_tombstone(crm_mongo *mongo, const char *customer_id);

#endif
