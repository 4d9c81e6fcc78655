/* Configuration: every CRM_* variable is declared once in a table (name, type, default, bounds)
 * and read once at start. A process names the variables it uses; a bad value stops it with exit
 * status 2 and a message naming the variable. */
#ifndef CRM_CONFIG_H
#define CRM_CONFIG_H

#include <stddef.h>

/* Every setting of every executable. Strings are owned by the struct (crm_settings_clean). */
typedef struct crm_settings {
    char *bind;
    long gateway_port;
    long auth_port;
    long customers_port;
    long cases_port;
    char *auth_url;      /* comma list of base URLs; derived from auth_port when unset */
    char *customers_url; /* idem */
    char *cases_url;     /* idem */
    char *mongo_uri;
    char *kafka_brokers;
    long kafka_partitions;
    char *jwt_private_key_file;
    char *jwt_public_key_files;
    long jwt_ttl_seconds;
    long refresh_ttl_seconds;
    char *bootstrap_admin_username;
    char *bootstrap_admin_password;
    long rate_auth_per_minute;
    long rate_api_per_second;
    char *trusted_proxies;
    long log_level; /* a crm_log_level */
    long http_threads;
    long http_connection_timeout_seconds;
    long http_max_connections;
    long http_max_connections_per_ip; /* 0: no limit per client address */
    long shutdown_grace_seconds;
    long http_max_headers;
    char *cors_origins; /* comma list of allowed origins; empty: no CORS */
    long upstream_connect_timeout_ms;
    long upstream_timeout_ms;
    long password_hash_memory_kib;  /* Argon2id memory cost */
    long password_hash_passes;      /* Argon2id time cost */
    long password_hash_concurrency; /* hashes at once; 0 = one per core but one, at least 1 */
} crm_settings;

/* Reads the variables named in `names` (a NULL-terminated list of CRM_* names) from the
 * environment into `settings`; every other field keeps its default. Returns 0, or -1 with a
 * message naming the variable in `err`. Unknown names in `names` are a programming error (-1). */
int crm_settings_load(crm_settings *settings, const char *const *names, char *err, size_t err_len);

/* crm_settings_load, but prints the message as a log line and exits with status 2 on error. */
void crm_settings_load_or_exit(crm_settings *settings, const char *const *names);

/* The integer setting `name` ("CRM_AUTH_PORT"), or -1 when there is no such integer setting. */
long crm_settings_get_long(const crm_settings *settings, const char *name);

/* Releases the strings the struct owns; accepts NULL. */
void crm_settings_clean(crm_settings *settings);

#endif
