/* The cascade: a thread that consumes crm.customers.v1 in the group crm-cases and, on
 * customer.deleted, records a tombstone and deletes the customer's cases before committing. */
#ifndef CASES_EVENTS_H
#define CASES_EVENTS_H

#include "crm/service.h"

/* Starts the consumer thread on service->kafka. Returns 0 or -1. */
int cases_events_start(crm_service *service);

/* Stops the thread and waits for it; the message in hand, if any, stays uncommitted. The
 * consumer itself is closed by crm_service_clean. Accepts a service whose thread never started. */
void cases_events_stop(void);

/* Handles one event value at `now` (ms): 0 when done (committable: handled, ignored, or
 * malformed and logged), -1 when the database failed and the message must be retried.
 * Exposed for tests. */
int cases_event_handle(crm_mongo *mongo, const char *value, size_t len, long long now,
                       long long *occurred_at);

#endif
