/* The outbox relay: a thread that publishes the customers' pending events to Kafka. */
#ifndef CUSTOMERS_RELAY_H
#define CUSTOMERS_RELAY_H

#include "crm/service.h"

/* The producer's delivery-report callback (crm_service_spec.kafka_delivery). */
void customer_relay_delivered(rd_kafka_t *kafka, const rd_kafka_message_t *message, void *opaque);

/* Starts the relay thread on service->mongo and service->kafka. Returns 0 or -1. */
int customer_relay_start(crm_service *service);

/* Stops the thread (waits for the batch in flight, then purges what Kafka has not taken) and
 * joins it; a no-op when it does not run. */
void customer_relay_stop(void);

#endif
