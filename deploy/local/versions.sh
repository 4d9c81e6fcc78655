# Versions of the embedded default's servers, the docs page's Redoc and the checking tools: one
# place, read by deps.sh, stack.sh, the gateway's build and tests/deploy.
# shellcheck shell=bash
FERRETDB_VERSION=v1.24.2
KAFKA_VERSION=4.1.2
# Redoc renders GET /docs; its standalone bundle is compiled into crm-gateway. The integrity is
# the npm registry's for this version: a tarball that differs is refused.
REDOC_VERSION=2.5.1
REDOC_INTEGRITY=sha512-LmqA+4A3CmhTllGG197F0arUpmChukAj9klfSdxNRemT9Hr07xXr7OGKu4PHzBs359sgrJ+4JwmOlM7nxLPGMg==
# The Kafka classpath is cached per pom content, so editing the pom fetches a fresh one.
KAFKA_LIBS_KEY=$KAFKA_VERSION-$(sha256sum "$(dirname "${BASH_SOURCE[0]}")/kafka/pom.xml" | cut -c1-12)
# schemathesis (tests/integration/schemathesis.sh, make fuzz-api): its venv is cached per
# requirements file, so changing a pin installs a fresh one.
SCHEMATHESIS_VERSION=4.32.5
SCHEMATHESIS_KEY=$SCHEMATHESIS_VERSION-$(sha256sum "$(dirname "${BASH_SOURCE[0]}")/../../tests/schemathesis/requirements.txt" | cut -c1-12)
# The offline checkers of docker-compose.yml and deploy/k8s (tests/deploy; kustomize is built only
# where kubectl does not embed kustomize v5).
CHECK_JSONSCHEMA_VERSION=0.39.0
KUBERNETES_VALIDATE_VERSION=1.37.0
KUSTOMIZE_VERSION=v5.5.0
