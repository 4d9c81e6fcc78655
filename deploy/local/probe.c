/* crm-probe: answers whether the local stack's MongoDB or Kafka is ready, with the same client
 * libraries the services use, so "ready" means ready for them.
 *   crm-probe mongo <uri>                          a ping answers
 *   crm-probe kafka <brokers> [<topic> <partitions>]  a broker answers (and the topic exists) */
#include "crm/kafka.h"
#include "crm/mongo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int probe_mongo(const char *uri)
{
    char err[256];
    crm_mongo *mongo = crm_mongo_new(uri, "admin", "crm-probe", err, sizeof(err));
    if (!mongo) {
        fprintf(stderr, "crm-probe: %s\n", err);
        return 1;
    }
    int up = crm_mongo_ping(mongo);
    crm_mongo_free(mongo);
    return up ? 0 : 1;
}

static int probe_kafka(const char *brokers, const char *topic, const char *partitions)
{
    char err[512];
    int status = 1;
    rd_kafka_t *kafka = crm_kafka_producer_new(brokers, "crm-probe", NULL, NULL, err, sizeof(err));
    if (!kafka) {
        fprintf(stderr, "crm-probe: %s\n", err);
        return 1;
    }
    if (!crm_kafka_ping(kafka))
        goto done;
    if (topic &&
        crm_kafka_topic_ensure(kafka, topic, atoi(partitions), 5000, err, sizeof(err)) != 0) {
        fprintf(stderr, "crm-probe: %s\n", err);
        goto done;
    }
    status = 0;
done:
    rd_kafka_destroy(kafka);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "mongo") == 0)
        return probe_mongo(argv[2]);
    if ((argc == 3 || argc == 5) && strcmp(argv[1], "kafka") == 0)
        return probe_kafka(argv[2], argc == 5 ? argv[3] : NULL, argc == 5 ? argv[4] : NULL);
    fprintf(stderr, "usage: crm-probe mongo <uri> | kafka <brokers> [<topic> <partitions>]\n");
    return 2;
}
