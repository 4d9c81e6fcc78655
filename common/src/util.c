/* Clocks, timestamps and UUIDs shared by logging, problems and resources. */
#include "crm/util.h"

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>

void crm_time_format(const struct timespec *when, char *buf)
{
    struct tm tm;
    char seconds[20];
    gmtime_r(&when->tv_sec, &tm);
    strftime(seconds, sizeof(seconds), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, CRM_RFC3339_LEN, "%.19s.%03uZ", seconds,
             (unsigned)(when->tv_nsec / 1000000) % 1000u);
}

void crm_time_now(char *buf)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    crm_time_format(&now, buf);
}

long long crm_time_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

json_t *crm_time_json(long long milliseconds)
{
    char text[CRM_RFC3339_LEN];
    long long seconds = milliseconds / 1000, rest = milliseconds % 1000;
    if (rest < 0) { /* times before 1970 */
        rest += 1000;
        seconds--;
    }
    struct timespec when = {.tv_sec = (time_t)seconds, .tv_nsec = (long)rest * 1000000L};
    crm_time_format(&when, text);
    return json_string(text);
}

double crm_monotonic_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void crm_uuid_v4(char *buf)
{
    uint8_t b[16];
    randombytes_buf(b, sizeof(b)); /* libsodium: thread-safe, initialises itself */
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(buf, CRM_UUID_LEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}
