/* Small helpers every module needs: clocks, RFC 3339 timestamps, UUIDs. */
#ifndef CRM_UTIL_H
#define CRM_UTIL_H

#include <stddef.h>
#include <time.h>

#define CRM_RFC3339_LEN 25 /* "2026-11-26T10:00:00.000Z" plus NUL */
#define CRM_UUID_LEN    37 /* 36 characters plus NUL */

/* Formats `when` as RFC 3339 UTC with milliseconds into buf (CRM_RFC3339_LEN bytes). */
void crm_time_format(const struct timespec *when, char *buf);

/* `milliseconds` since the epoch formatted as crm_time_format does. */
void crm_time_format_ms(long long milliseconds, char *buf);

/* The current wall-clock time formatted as crm_time_format does. */
void crm_time_now(char *buf);

/* Milliseconds since the epoch, now (resources store times as BSON dates). */
long long crm_time_now_ms(void);

/* A JSON string of `milliseconds` formatted as crm_time_format does (a new reference). */
struct json_t *crm_time_json(long long milliseconds);

/* Seconds on the monotonic clock, for durations. */
double crm_monotonic_seconds(void);

/* A random (version 4) UUID in lowercase into buf (CRM_UUID_LEN bytes). Thread-safe. */
void crm_uuid_v4(char *buf);

#endif
