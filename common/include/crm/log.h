/* Logging: one JSON line per event on stderr with ts, level, service, request_id and msg.
 * The level is checked before any formatting. Never pass a password, token or key. */
#ifndef CRM_LOG_H
#define CRM_LOG_H

#include <jansson.h>

typedef enum crm_log_level {
    CRM_LOG_DEBUG = 0,
    CRM_LOG_INFO,
    CRM_LOG_WARN,
    CRM_LOG_ERROR,
} crm_log_level;

/* Set once by crm_log_init before threads start; read without locking afterwards. */
extern crm_log_level crm_log_threshold;

/* Names the service in every line and sets the threshold. Until called, lines name the
 * program and the threshold is info. */
void crm_log_init(const char *service, crm_log_level threshold);

/* Sends lines to `fd` instead of stderr (tests). */
void crm_log_set_fd(int fd);

/* The request id of the current thread's request, or NULL. Set by the HTTP middleware and the
 * Kafka consumer so every line a request causes carries its id. The string is copied. */
void crm_log_set_request_id(const char *request_id);
const char *crm_log_request_id(void);

/* Parses debug|info|warn|error into *level. Returns 0 or -1. */
int crm_log_level_parse(const char *text, long *level);

/* Writes one line unconditionally; use the CRM_LOG macros, which check the level first. */
void crm_log_write(crm_log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes one line with the members of `fields` (borrowed) added after msg. */
void crm_log_write_fields(crm_log_level level, json_t *fields, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* The same with the extra members already encoded, for the access line of every request:
 * `members` is JSON object members without braces ("\"status\":200"), trusted to be valid. */
void crm_log_write_members(crm_log_level level, const char *members, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#define CRM_LOG(level, ...)                                                                        \
    do {                                                                                           \
        if ((level) >= crm_log_threshold)                                                          \
            crm_log_write((level), __VA_ARGS__);                                                   \
    } while (0)

#define CRM_LOG_DEBUG(...) CRM_LOG(CRM_LOG_DEBUG, __VA_ARGS__)
#define CRM_LOG_INFO(...)  CRM_LOG(CRM_LOG_INFO, __VA_ARGS__)
#define CRM_LOG_WARN(...)  CRM_LOG(CRM_LOG_WARN, __VA_ARGS__)
#define CRM_LOG_ERROR(...) CRM_LOG(CRM_LOG_ERROR, __VA_ARGS__)

#endif
