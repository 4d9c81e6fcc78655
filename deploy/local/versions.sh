# Versions of the embedded default's servers: one place, read by deps.sh and stack.sh.
# shellcheck shell=bash
FERRETDB_VERSION=v1.24.2
KAFKA_VERSION=4.1.2
# The Kafka classpath is cached per pom content, so editing the pom fetches a fresh one.
KAFKA_LIBS_KEY=$KAFKA_VERSION-$(sha256sum "$(dirname "${BASH_SOURCE[0]}")/kafka/pom.xml" | cut -c1-12)
