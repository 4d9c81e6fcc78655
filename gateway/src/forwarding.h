/* What crosses the gateway besides the body: which headers pass in each direction, who the client
 * is, and the X-Forwarded-For an upstream sees. Pure functions over text, unit-tested. */
#ifndef GATEWAY_FORWARDING_H
#define GATEWAY_FORWARDING_H

#include <stddef.h>

struct sockaddr;

#define FORWARDING_MAX_PROXIES 32
#define FORWARDING_ADDRESS_LEN 64 /* an IPv6 address in text, or "unknown", plus NUL */

typedef struct forwarding_network {
    int family;               /* AF_INET or AF_INET6 */
    unsigned char bytes[16];  /* network address, 4 or 16 bytes */
    unsigned int prefix_bits; /* 32 or 128 for a single address */
} forwarding_network;

/* The proxies whose X-Forwarded-For is believed (CRM_TRUSTED_PROXIES). */
typedef struct forwarding_proxies {
    forwarding_network networks[FORWARDING_MAX_PROXIES];
    size_t count;
} forwarding_proxies;

/* Parses a comma list of IPv4 or IPv6 addresses and CIDR networks ("10.0.0.0/8, ::1"); empty
 * means none. Returns 0, or -1 with a message naming CRM_TRUSTED_PROXIES in `err`. */
int forwarding_proxies_parse(forwarding_proxies *proxies, const char *list, char *err,
                             size_t err_len);

/* Whether the textual address `address` lies in one of the networks (IPv4-mapped IPv6 addresses
 * count as IPv4). Anything that is not an address is not trusted. */
int forwarding_proxies_contains(const forwarding_proxies *proxies, const char *address);

/* Writes the peer's IPv4 address as text into `out` (FORWARDING_ADDRESS_LEN bytes), or "unknown".
 * ulfius copies only sizeof(struct sockaddr) of the peer address, so an IPv6 peer cannot be read
 * from it; the gateway listens on IPv4 only (CRM_BIND). */
void forwarding_peer_address(const struct sockaddr *address, char *out, size_t out_len);

/* The client's address: the peer itself, or, when the peer is a trusted proxy, the rightmost
 * address of `forwarded_for` (X-Forwarded-For, may be NULL) that is not a trusted proxy. The walk
 * stops at anything that is not an address; when every hop is trusted, the leftmost one wins. */
void forwarding_client_address(const forwarding_proxies *proxies, const char *peer,
                               const char *forwarded_for, char *out, size_t out_len);

/* The X-Forwarded-For an upstream sees: the incoming list with `peer` appended when the peer is
 * trusted, else just `peer` (a client's own list is dropped, and so is an incoming list holding a
 * CR or LF, which would end the header line upstream). Returns a string the caller frees, or NULL
 * when out of memory. */
char *forwarding_for_header(const char *peer, int peer_trusted, const char *incoming);

/* Whether a request header named `name` goes upstream. Dropped: hop-by-hop headers and the ones
 * `connection` (the request's Connection header, may be NULL) lists; what the gateway sets itself
 * (Host, Content-Length, Expect, X-Request-Id, X-Forwarded-For, Forwarded, X-Real-IP); identity a
 * client could forge (X-User-*, X-Principal-*, X-Auth-*, X-Forwarded-User, Remote-User ...);
 * method and URL overrides; and the other X-Forwarded-* unless `peer_trusted`. */
int forwarding_request_header_passes(const char *name, const char *connection, int peer_trusted);

/* Whether an upstream response header named `name` goes back to the client. Dropped: hop-by-hop
 * headers and the ones `connection` lists, the framing (Content-Length; the gateway frames its own
 * answer), X-Request-Id (the gateway's own stands) and Access-Control-* (CORS is the gateway's). */
int forwarding_response_header_passes(const char *name, const char *connection);

/* The key a client address is rate-limited under: the address itself, or its /64 network for
 * IPv6, since one host commonly holds a whole /64. */
void forwarding_rate_key(const char *client, char *out, size_t out_len);

#endif
