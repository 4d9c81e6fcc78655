/* A tiny HTTP/1.1 server standing in for a service in gateway tests: 127.0.0.1 on a free port,
 * keep-alive, Content-Length bodies, one thread per connection. It counts accepted connections
 * and requests, and answers with what it received, so a test sees what the gateway forwarded.
 *
 * The query string picks a behaviour:
 *   fake_sleep_ms=N  answer after N milliseconds
 *   fake_drop=1      read the request, then close the connection without answering
 *   fake_status=N    answer with status N
 * The answer is JSON: {"upstream": name, "method", "target", "headers": {lowercased name: value},
 * "body_length"}, with Content-Type, ETag, Location, X-Upstream, a Keep-Alive and a Connection
 * header (hop-by-hop: the gateway must drop them), Access-Control-Allow-Origin: * and an
 * X-Request-Id of its own (the gateway's must win). */
#ifndef GATEWAY_TESTS_FAKE_UPSTREAM_H
#define GATEWAY_TESTS_FAKE_UPSTREAM_H

typedef struct fake_upstream fake_upstream;

/* Starts listening and serving. Returns NULL on error. Stop with fake_upstream_stop. */
fake_upstream *fake_upstream_start(const char *name);

/* Closes the listener and every connection, joins every thread, frees; accepts NULL. */
void fake_upstream_stop(fake_upstream *upstream);

int fake_upstream_port(const fake_upstream *upstream);

/* TCP connections accepted, and complete requests read, since the start. */
long fake_upstream_connections(fake_upstream *upstream);
long fake_upstream_requests(fake_upstream *upstream);

#endif
