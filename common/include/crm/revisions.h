/* Exactly-one-writer updates that hold on FerretDB as on MongoDB. FerretDB's conditional writes
 * are not atomic under concurrency (8 threads updating {_id, version: 1} saw 2 to 7 winners) but
 * a unique _id is: so a writer first claims version v+1 by inserting <revisions>/"<id>:<v+1>"
 * holding the new state, then sets the document from it. A writer that finds that revision taken
 * finishes the other's write if the document still lags (so a crash between the two writes heals
 * at the next change) and reports a conflict. */
#ifndef CRM_REVISIONS_H
#define CRM_REVISIONS_H

#include "crm/mongo.h"

typedef struct crm_revision_target {
    const char *collection;  /* the documents: "cases" */
    const char *revisions;   /* their revisions: "case_revisions" */
    const char *owner_field; /* the revision's link to its document: "case_id" */
} crm_revision_target;

/* Moves the document `id` (an ObjectId as text) from `expected_version` to the next one by
 * setting the fields of `state`, which must include "version": expected_version + 1. `extra`
 * (may be NULL) adds fields to the revision. Returns CRM_STORE_OK; CRM_STORE_CONFLICT when
 * another writer holds the next version (the document moved on, or is about to);
 * CRM_STORE_NOT_FOUND when the document is gone; or a failure. */
crm_store_status crm_revision_update(crm_mongo *mongo, const crm_revision_target *target,
                                     const char *id, long long expected_version,
                                     const bson_t *state, const bson_t *extra);

#endif
