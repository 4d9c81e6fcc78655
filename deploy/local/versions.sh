# Versions of the embedded default's servers and of the docs page's Redoc: one place, read by
# deps.sh, stack.sh and the gateway's build.
# shellcheck shell=bash
FERRETDB_VERSION=v1.24.2
KAFKA_VERSION=4.1.2
# Redoc renders GET /docs; its standalone bundle is compiled into crm-gateway. The integrity is
# the npm registry's for this version: a tarball that differs is refused.
REDOC_VERSION=2.5.1
REDOC_INTEGRITY=sha512-LmqA+4A3CmhTllGG197F0arUpmChukAj9klfSdxNRemT9Hr07xXr7OGKu4PHzBs359sgrJ+4JwmOlM7nxLPGMg==
# The Kafka classpath is cached per pom content, so editing the pom fetches a fresh one.
KAFKA_LIBS_KEY=$KAFKA_VERSION-$(sha256sum "$(dirname "${BASH_SOURCE[0]}")/kafka/pom.xml" | cut -c1-12)
