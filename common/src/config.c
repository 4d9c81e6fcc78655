/* The one table of CRM_* variables and the one reader for it (STYLE.md rule 8). */
#include "crm/config.h"

#include "crm/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum setting_type {
    SETTING_INT,       /* decimal integer within [min, max] */
    SETTING_STRING,    /* string of min..max bytes */
    SETTING_URL_LIST,  /* comma list of http:// base URLs; derived from a port when unset */
    SETTING_MONGO_URI, /* mongodb:// or mongodb+srv:// */
    SETTING_LOG_LEVEL, /* debug | info | warn | error */
} setting_type;

typedef struct setting {
    const char *name;
    setting_type type;
    size_t offset;
    const char *default_value; /* NULL: empty */
    long min, max;             /* value bounds for ints, length bounds for strings */
    size_t port_offset;        /* SETTING_URL_LIST: the port its default is derived from */
} setting;

#define AT(field) offsetof(crm_settings, field)

static const setting settings_table[] = {
    {"CRM_BIND", SETTING_STRING, AT(bind), "127.0.0.1", 1, 255, 0},
    {"CRM_GATEWAY_PORT", SETTING_INT, AT(gateway_port), "8080", 1, 65535, 0},
    {"CRM_AUTH_PORT", SETTING_INT, AT(auth_port), "8081", 1, 65535, 0},
    {"CRM_CUSTOMERS_PORT", SETTING_INT, AT(customers_port), "8082", 1, 65535, 0},
    {"CRM_CASES_PORT", SETTING_INT, AT(cases_port), "8083", 1, 65535, 0},
    {"CRM_AUTH_URL", SETTING_URL_LIST, AT(auth_url), NULL, 0, 4096, AT(auth_port)},
    {"CRM_CUSTOMERS_URL", SETTING_URL_LIST, AT(customers_url), NULL, 0, 4096, AT(customers_port)},
    {"CRM_CASES_URL", SETTING_URL_LIST, AT(cases_url), NULL, 0, 4096, AT(cases_port)},
    {"CRM_MONGO_URI", SETTING_MONGO_URI, AT(mongo_uri),
     "mongodb://127.0.0.1:27017/?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000", 10, 4096, 0},
    {"CRM_KAFKA_BROKERS", SETTING_STRING, AT(kafka_brokers), "127.0.0.1:9092", 1, 4096, 0},
    {"CRM_KAFKA_PARTITIONS", SETTING_INT, AT(kafka_partitions), "3", 1, 1024, 0},
    {"CRM_JWT_PRIVATE_KEY_FILE", SETTING_STRING, AT(jwt_private_key_file), "var/keys/jwt.pem", 1,
     4096, 0},
    {"CRM_JWT_PUBLIC_KEY_FILES", SETTING_STRING, AT(jwt_public_key_files), "var/keys/jwt.pub", 1,
     8192, 0},
    {"CRM_JWT_TTL_SECONDS", SETTING_INT, AT(jwt_ttl_seconds), "900", 60, 86400, 0},
    {"CRM_REFRESH_TTL_SECONDS", SETTING_INT, AT(refresh_ttl_seconds), "2592000", 300, 31536000, 0},
    {"CRM_BOOTSTRAP_ADMIN_USERNAME", SETTING_STRING, AT(bootstrap_admin_username), "admin", 3, 32,
     0},
    {"CRM_BOOTSTRAP_ADMIN_PASSWORD", SETTING_STRING, AT(bootstrap_admin_password), NULL, 0, 128, 0},
    {"CRM_RATE_AUTH_PER_MINUTE", SETTING_INT, AT(rate_auth_per_minute), "20", 0, 1000000, 0},
    {"CRM_RATE_API_PER_SECOND", SETTING_INT, AT(rate_api_per_second), "50", 0, 1000000, 0},
    {"CRM_TRUSTED_PROXIES", SETTING_STRING, AT(trusted_proxies), NULL, 0, 4096, 0},
    {"CRM_LOG_LEVEL", SETTING_LOG_LEVEL, AT(log_level), "info", 0, 0, 0},
    /* 0 = a thread per connection: handlers block on the database, upstreams and Argon2. */
    {"CRM_HTTP_THREADS", SETTING_INT, AT(http_threads), "0", 0, 1024, 0},
    {"CRM_HTTP_CONNECTION_TIMEOUT_SECONDS", SETTING_INT, AT(http_connection_timeout_seconds), "30",
     1, 3600, 0},
    {"CRM_HTTP_MAX_CONNECTIONS", SETTING_INT, AT(http_max_connections), "1024", 16, 65536, 0},
    /* A client that sends a byte now and then is never idle, so only a cap per address keeps
     * one client from holding every connection (slowloris). 0: none; set it where clients
     * connect directly (the gateway), never behind a proxy that all traffic comes through. */
    {"CRM_HTTP_MAX_CONNECTIONS_PER_IP", SETTING_INT, AT(http_max_connections_per_ip), "0", 0, 65536,
     0},
    {"CRM_SHUTDOWN_GRACE_SECONDS", SETTING_INT, AT(shutdown_grace_seconds), "10", 0, 300, 0},
    {"CRM_HTTP_MAX_HEADERS", SETTING_INT, AT(http_max_headers), "100", 8, 1000, 0},
    {"CRM_CORS_ORIGINS", SETTING_STRING, AT(cors_origins), NULL, 0, 4096, 0},
    {"CRM_UPSTREAM_CONNECT_TIMEOUT_MS", SETTING_INT, AT(upstream_connect_timeout_ms), "1000", 10,
     60000, 0},
    {"CRM_UPSTREAM_TIMEOUT_MS", SETTING_INT, AT(upstream_timeout_ms), "10000", 100, 600000, 0},
    /* OWASP's minimum for Argon2id: 19 MiB, 2 passes (about 20 ms here, against 200 ms for
     * libsodium's INTERACTIVE 64 MiB); raise both on hardware that allows it. */
    {"CRM_PASSWORD_HASH_MEMORY_KIB", SETTING_INT, AT(password_hash_memory_kib), "19456", 8192,
     4194304, 0},
    {"CRM_PASSWORD_HASH_PASSES", SETTING_INT, AT(password_hash_passes), "2", 1, 20, 0},
    {"CRM_PASSWORD_HASH_CONCURRENCY", SETTING_INT, AT(password_hash_concurrency), "0", 0, 256, 0},
};

#define SETTINGS_COUNT (sizeof(settings_table) / sizeof(settings_table[0]))

static const setting *setting_find(const char *name)
{
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        if (strcmp(settings_table[i].name, name) == 0)
            return &settings_table[i];
    }
    return NULL;
}

static long *long_at(crm_settings *settings, size_t offset)
{
    return (long *)((char *)settings + offset);
}

static char **string_at(crm_settings *settings, size_t offset)
{
    return (char **)((char *)settings + offset);
}

static int parse_long(const char *text, long *out)
{
    char *end = NULL;
    if (text[0] == '\0' || (text[0] != '-' && (text[0] < '0' || text[0] > '9')))
        return -1;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = value;
    return 0;
}

static int url_list_valid(const char *text)
{
    const char *item = text;
    while (*item) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        if (len <= 7 || strncmp(item, "http://", 7) != 0 || memchr(item, ' ', len))
            return 0;
        if (!comma)
            return 1;
        item = comma + 1;
    }
    return 0; /* empty or trailing comma */
}

static int set_string(crm_settings *settings, const setting *s, const char *value)
{
    char **slot = string_at(settings, s->offset);
    char *copy = strdup(value ? value : "");
    if (!copy)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* Applies one textual value (from the environment or the default) to its field. */
static int setting_apply(crm_settings *settings, const setting *s, const char *value, char *err,
                         size_t err_len)
{
    size_t len = value ? strlen(value) : 0;
    long number = 0;

    switch (s->type) {
    case SETTING_INT:
        if (parse_long(value ? value : "", &number) != 0 || number < s->min || number > s->max) {
            snprintf(err, err_len, "%s must be an integer from %ld to %ld, got \"%.64s\"", s->name,
                     s->min, s->max, value ? value : "");
            return -1;
        }
        *long_at(settings, s->offset) = number;
        return 0;
    case SETTING_LOG_LEVEL:
        if (crm_log_level_parse(value ? value : "", &number) != 0) {
            snprintf(err, err_len, "%s must be one of debug, info, warn, error, got \"%.64s\"",
                     s->name, value ? value : "");
            return -1;
        }
        *long_at(settings, s->offset) = number;
        return 0;
    case SETTING_URL_LIST:
        if (len > 0 && !url_list_valid(value)) {
            snprintf(err, err_len, "%s must be a comma list of http:// base URLs, got \"%.64s\"",
                     s->name, value);
            return -1;
        }
        break;
    case SETTING_MONGO_URI:
        if (strncmp(value ? value : "", "mongodb://", 10) != 0 &&
            strncmp(value ? value : "", "mongodb+srv://", 14) != 0) {
            snprintf(err, err_len, "%s must start with mongodb:// or mongodb+srv://", s->name);
            return -1;
        }
        break;
    case SETTING_STRING:
        break;
    }
    if ((long)len < s->min || (long)len > s->max) {
        snprintf(err, err_len, "%s must be %ld to %ld characters long", s->name, s->min, s->max);
        return -1;
    }
    if (set_string(settings, s, value) != 0) {
        snprintf(err, err_len, "%s: out of memory", s->name);
        return -1;
    }
    return 0;
}

/* Fills an unset URL list from its port: one local instance. */
static int derive_url(crm_settings *settings, const setting *s)
{
    char url[64];
    if (s->type != SETTING_URL_LIST || (*string_at(settings, s->offset))[0] != '\0')
        return 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%ld", *long_at(settings, s->port_offset));
    return set_string(settings, s, url);
}

int crm_settings_load(crm_settings *settings, const char *const *names, char *err, size_t err_len)
{
    memset(settings, 0, sizeof(*settings));
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        if (setting_apply(settings, &settings_table[i], settings_table[i].default_value, err,
                          err_len) != 0)
            goto fail;
    }
    for (size_t i = 0; names && names[i]; i++) {
        const setting *s = setting_find(names[i]);
        if (!s) {
            snprintf(err, err_len, "%s is not a known setting", names[i]);
            goto fail;
        }
        const char *value = getenv(s->name);
        /* An empty variable means unset, as in a .env line without a value. */
        if (value && value[0] != '\0' && setting_apply(settings, s, value, err, err_len) != 0)
            goto fail;
    }
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        if (derive_url(settings, &settings_table[i]) != 0) {
            snprintf(err, err_len, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    crm_settings_clean(settings);
    return -1;
}

void crm_settings_load_or_exit(crm_settings *settings, const char *const *names)
{
    char err[256];
    if (crm_settings_load(settings, names, err, sizeof(err)) == 0)
        return;
    crm_log_write(CRM_LOG_ERROR, "configuration error: %s", err);
    exit(2);
}

long crm_settings_get_long(const crm_settings *settings, const char *name)
{
    const setting *s = setting_find(name);
    if (!s || s->type != SETTING_INT)
        return -1;
    return *(const long *)((const char *)settings + s->offset);
}

void crm_settings_clean(crm_settings *settings)
{
    if (!settings)
        return;
    for (size_t i = 0; i < SETTINGS_COUNT; i++) {
        const setting *s = &settings_table[i];
        if (s->type == SETTING_INT || s->type == SETTING_LOG_LEVEL)
            continue;
        char **slot = string_at(settings, s->offset);
        free(*slot);
        *slot = NULL;
    }
}
