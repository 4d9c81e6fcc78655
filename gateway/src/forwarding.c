/* Header policy, trusted proxies and client addresses: the rules of forwarding.h as tables and
 * small walks over text, with no I/O. */
#include "forwarding.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* RFC 9110 section 7.6.1, plus the Proxy-* family and the old Keep-Alive. */
static const char *const hop_by_hop[] = {
    "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade",
};

/* Request headers the gateway sets itself or must never let a client choose. */
static const char *const request_dropped[] = {
    "host",
    "content-length",
    "expect",
    "x-request-id",
    "x-forwarded-for",
    "forwarded",
    "x-real-ip",
    "remote-user",
    /* the method and URL the gateway routed are the ones the upstream sees */
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-original-url",
    "x-original-uri",
    "x-rewrite-url",
};

/* Identity a client could forge if a service ever trusted it: dropped whatever the peer. */
static const char *const identity_prefixes[] = {
    "x-user",
    "x-principal",
    "x-auth",
    "x-remote-user",
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-preferred-username",
    "x-forwarded-groups",
    "x-forwarded-access-token",
    "x-role",
    "x-consumer-",
    "x-credential-",
    "x-anonymous-consumer",
    "x-identity",
    "x-jwt",
    "x-client-cert",
    "x-ssl-client",
};

static const char *const response_dropped[] = {"content-length", "x-request-id"};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

static int in_list(const char *name, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strcasecmp(name, list[i]) == 0)
            return 1;
    }
    return 0;
}

static int has_prefix(const char *name, const char *prefix)
{
    return strncasecmp(name, prefix, strlen(prefix)) == 0;
}

/* Whether the comma list `connection` names `name` as one of its tokens. */
static int connection_lists(const char *connection, const char *name)
{
    size_t name_len = strlen(name);
    for (const char *p = connection; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && (p[trimmed - 1] == ' ' || p[trimmed - 1] == '\t'))
            trimmed--;
        if (trimmed == name_len && trimmed > 0 && strncasecmp(p, name, name_len) == 0)
            return 1;
        p += len;
    }
    return 0;
}

static int hop_by_hop_header(const char *name, const char *connection)
{
    return in_list(name, hop_by_hop, COUNT(hop_by_hop)) || has_prefix(name, "proxy-") ||
           connection_lists(connection, name);
}

/* RFC 9110's token: the only characters a field name may hold. */
static int field_name_valid(const char *name)
{
    if (!name[0])
        return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              strchr("!#$%&'*+-.^_`|~", *p)))
            return 0;
    }
    return 1;
}

int forwarding_request_header_passes(const char *name, const char *connection, int peer_trusted)
{
    /* A name that is no token ("Transfer-Encoding; x") could read upstream as another header. */
    if (!field_name_valid(name) || hop_by_hop_header(name, connection) ||
        in_list(name, request_dropped, COUNT(request_dropped)))
        return 0;
    for (size_t i = 0; i < COUNT(identity_prefixes); i++) {
        if (has_prefix(name, identity_prefixes[i]))
            return 0;
    }
    if (has_prefix(name, "x-forwarded-")) /* -host, -proto, -port, -prefix */
        return peer_trusted;
    return 1;
}

int forwarding_response_header_passes(const char *name, const char *connection)
{
    return !hop_by_hop_header(name, connection) &&
           !in_list(name, response_dropped, COUNT(response_dropped)) &&
           !has_prefix(name, "access-control-");
}

/* ---- addresses ---- */

/* Parses one textual address into family and bytes; IPv4-mapped IPv6 becomes IPv4. */
static int address_parse(const char *text, int *family, unsigned char bytes[16])
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (inet_pton(AF_INET, text, bytes) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, bytes) != 1)
        return -1;
    *family = AF_INET6;
    if (memcmp(bytes, mapped, sizeof(mapped)) == 0) {
        memmove(bytes, bytes + 12, 4);
        *family = AF_INET;
    }
    return 0;
}

static int network_contains(const forwarding_network *network, int family,
                            const unsigned char bytes[16])
{
    if (network->family != family)
        return 0;
    unsigned int full = network->prefix_bits / 8, rest = network->prefix_bits % 8;
    if (memcmp(network->bytes, bytes, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (network->bytes[full] & mask) == (bytes[full] & mask);
}

static int network_parse(const char *item, forwarding_network *network)
{
    char text[FORWARDING_ADDRESS_LEN];
    const char *slash = strchr(item, '/');
    size_t len = slash ? (size_t)(slash - item) : strlen(item);
    if (len == 0 || len >= sizeof(text))
        return -1;
    memcpy(text, item, len);
    text[len] = '\0';
    memset(network, 0, sizeof(*network));
    if (address_parse(text, &network->family, network->bytes) != 0)
        return -1;
    unsigned int max = network->family == AF_INET ? 32 : 128;
    network->prefix_bits = max;
    if (slash) {
        char *end = NULL;
        if (slash[1] < '0' || slash[1] > '9')
            return -1;
        unsigned long bits = strtoul(slash + 1, &end, 10);
        if (*end != '\0' || bits > max)
            return -1;
        network->prefix_bits = (unsigned int)bits;
    }
    /* Clear host bits so "10.1.2.3/8" means 10.0.0.0/8. */
    for (unsigned int bit = network->prefix_bits; bit < max; bit++)
        network->bytes[bit / 8] &= (unsigned char)~(0x80 >> (bit % 8));
    return 0;
}

int forwarding_proxies_parse(forwarding_proxies *proxies, const char *list, char *err,
                             size_t err_len)
{
    char item[128];
    memset(proxies, 0, sizeof(*proxies));
    for (const char *p = list ? list : ""; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed == 0) {
            p += len;
            continue;
        }
        snprintf(item, sizeof(item), "%.*s", (int)trimmed, p);
        if (proxies->count == FORWARDING_MAX_PROXIES) {
            snprintf(err, err_len, "CRM_TRUSTED_PROXIES lists more than %d networks",
                     FORWARDING_MAX_PROXIES);
            return -1;
        }
        if (trimmed >= sizeof(item) ||
            network_parse(item, &proxies->networks[proxies->count]) != 0) {
            snprintf(err, err_len,
                     "CRM_TRUSTED_PROXIES must list IP addresses or CIDR networks, got \"%.64s\"",
                     item);
            return -1;
        }
        proxies->count++;
        p += len;
    }
    return 0;
}

int forwarding_proxies_contains(const forwarding_proxies *proxies, const char *address)
{
    int family = 0;
    unsigned char bytes[16] = {0};
    if (proxies->count == 0 || address_parse(address, &family, bytes) != 0)
        return 0;
    for (size_t i = 0; i < proxies->count; i++) {
        if (network_contains(&proxies->networks[i], family, bytes))
            return 1;
    }
    return 0;
}

void forwarding_peer_address(const struct sockaddr *address, char *out, size_t out_len)
{
    snprintf(out, out_len, "unknown");
    if (address && address->sa_family == AF_INET &&
        !inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)address)->sin_addr, out,
                   (socklen_t)out_len))
        snprintf(out, out_len, "unknown");
}

void forwarding_client_address(const forwarding_proxies *proxies, const char *peer,
                               const char *forwarded_for, char *out, size_t out_len)
{
    char hop[FORWARDING_ADDRESS_LEN];
    int family;
    unsigned char bytes[16];

    snprintf(out, out_len, "%s", peer);
    if (!forwarded_for || !forwarding_proxies_contains(proxies, peer))
        return;
    /* Walk from the right: each hop was appended by the one after it. */
    const char *end = forwarded_for + strlen(forwarded_for);
    while (end > forwarded_for) {
        const char *start = end;
        while (start > forwarded_for && start[-1] != ',')
            start--;
        const char *first = start, *last = end;
        while (first < last && (*first == ' ' || *first == '\t'))
            first++;
        while (last > first && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        size_t len = (size_t)(last - first);
        if (len == 0 || len >= sizeof(hop))
            return;
        memcpy(hop, first, len);
        hop[len] = '\0';
        if (address_parse(hop, &family, bytes) != 0)
            return; /* garbage: keep the last hop we could believe */
        snprintf(out, out_len, "%s", hop);
        if (!forwarding_proxies_contains(proxies, hop))
            return;
        end = start > forwarded_for ? start - 1 : start;
    }
}

char *forwarding_for_header(const char *peer, int peer_trusted, const char *incoming)
{
    char *value = NULL;
    if (!peer_trusted || !incoming || incoming[0] == '\0' || strpbrk(incoming, "\r\n"))
        return strdup(peer);
    if (asprintf(&value, "%s, %s", incoming, peer) < 0)
        return NULL;
    return value;
}

void forwarding_rate_key(const char *client, char *out, size_t out_len)
{
    int family = 0;
    unsigned char bytes[16] = {0};
    char network[FORWARDING_ADDRESS_LEN];
    snprintf(out, out_len, "%s", client);
    if (address_parse(client, &family, bytes) != 0 || family != AF_INET6)
        return;
    memset(bytes + 8, 0, 8);
    if (inet_ntop(AF_INET6, bytes, network, sizeof(network)))
        snprintf(out, out_len, "%s/64", network);
}
