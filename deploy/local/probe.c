/* crm-probe: answers whether the local stack's MongoDB or Kafka is ready, with the same client
 * libraries the services use, so "ready" means ready for them; and, as a container's health
 * check, whether the executable beside it answers.
 *   crm-probe mongo <uri>                          a ping answers
 *   crm-probe kafka <brokers> [<topic> <partitions>]  a broker answers (and the topic exists)
 *   crm-probe healthz <port setting>               GET /healthz answers 2xx on the port that
 *                                                  setting gives (CRM_AUTH_PORT: 8081 unless set),
 *                                                  read from the environment as the service does */
#include "crm/config.h"
#include "crm/kafka.h"
#include "crm/mongo.h"

#include <curl/curl.h>
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

static size_t discard(char *data, size_t size, size_t count, void *context)
{
    (void)data;
    (void)context;
    return size * count;
}

static int probe_healthz(const char *port_setting)
{
    const char *const names[] = {"CRM_BIND", port_setting, NULL};
    crm_settings settings;
    char err[256];
    char url[320];
    int status = 1;
    CURL *curl = NULL;

    size_t len = strlen(port_setting);
    if (len < 5 || strcmp(port_setting + len - 5, "_PORT") != 0) {
        fprintf(stderr, "crm-probe: %s is not a port setting\n", port_setting);
        return 2;
    }
    if (crm_settings_load(&settings, names, err, sizeof(err)) != 0) {
        fprintf(stderr, "crm-probe: %s\n", err);
        return 2;
    }
    /* A process bound to every address answers on the loopback one. */
    const char *host = strcmp(settings.bind, "0.0.0.0") == 0 ? "127.0.0.1" : settings.bind;
    snprintf(url, sizeof(url), "http://%s:%ld/healthz", host,
             crm_settings_get_long(&settings, port_setting));
    if (!(curl = curl_easy_init()))
        goto done;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 2000L);
    curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    CURLcode code = curl_easy_perform(curl);
    if (code != CURLE_OK) {
        fprintf(stderr, "crm-probe: %s: %s\n", url, curl_easy_strerror(code));
        goto done;
    }
    status = 0;
done:
    curl_easy_cleanup(curl);
    crm_settings_clean(&settings);
    return status;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "healthz") == 0)
        return probe_healthz(argv[2]);
    if (argc == 3 && strcmp(argv[1], "mongo") == 0)
        return probe_mongo(argv[2]);
    if ((argc == 3 || argc == 5) && strcmp(argv[1], "kafka") == 0)
        return probe_kafka(argv[2], argc == 5 ? argv[3] : NULL, argc == 5 ? argv[4] : NULL);
    fprintf(stderr, "usage: crm-probe mongo <uri> | kafka <brokers> [<topic> <partitions>] | "
                    "healthz <port setting>\n");
    return 2;
}
