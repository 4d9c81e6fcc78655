#!/usr/bin/python3
"""docker-compose.yml, checked without a Docker engine.

It parses, and validates against the Compose specification's JSON schema (check-jsonschema's
copy, installed by deps.sh). Then the rules of our deployment: every service has a health check
and starts only once what it depends on is healthy; pulled images are pinned to a version and
built ones name a Dockerfile target; only the gateway publishes a port; each executable gets
exactly the CRM_* variables its main.c reads (no typo, nothing missing), with defaults equal to
config.c's; upstream URLs point at the right service and port; the private key and the admin
password reach crm-auth only; every variable the file interpolates is in .env.example.
"""
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from deploylib import (EXECUTABLES, SOURCE, Report, image_pinned, port_setting, read, run,  # noqa: E402
                       settings_table, settings_used, tool, value_problem)

COMPOSE = "docker-compose.yml"
INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
DATA_STORES = {"mongo": "/data/db", "kafka": "/var/lib/kafka/data"}


def executable_of(service):
    target = (service.get("build") or {}).get("target")
    return target if target in EXECUTABLES else None


def check_schema(report):
    result = run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", os.path.join(SOURCE, COMPOSE)])
    report.check(result.returncode == 0, f"{COMPOSE} does not follow the Compose specification:\n{result.stdout}{result.stderr}")
    report.ok("valid against the Compose specification's schema")


def check_services(report, services):
    for name, service in services.items():
        health = service.get("healthcheck") or {}
        report.check(health.get("test") and not health.get("disable"), f"service {name} has no health check")
        for dependency, how in (service.get("depends_on") or {}).items():
            report.check(dependency in services, f"service {name} depends on unknown service {dependency}")
            report.check((how or {}).get("condition") == "service_healthy",
                         f"service {name} must wait for {dependency} with condition: service_healthy")
        if "build" in service:
            report.check(executable_of(service), f"service {name} builds no Dockerfile target named after an executable")
            report.check(service["build"].get("dockerfile") == "deploy/docker/Dockerfile", f"service {name} must build deploy/docker/Dockerfile")
        image = service.get("image", "")
        report.check(image_pinned(image), f"service {name}: image {image!r} is not pinned to a version")
        report.check(("ports" in service) == (name == "gateway"), f"service {name}: only the gateway publishes a port")
    report.ok(f"{len(services)} services, each with a health check and a pinned image; "
              "depends_on waits for service_healthy; only the gateway publishes a port")

    for store, path in DATA_STORES.items():
        mounts = [v.split(":") for v in services.get(store, {}).get("volumes", []) if isinstance(v, str)]
        report.check(any(m[1] == path and m[0] in (COMPOSE_DOC.get("volumes") or {}) for m in mounts if len(m) > 1),
                     f"service {store} must keep {path} on a named data volume")
    kafka_env = services.get("kafka", {}).get("environment", {})
    report.check(set(str(kafka_env.get("KAFKA_PROCESS_ROLES", "")).split(",")) == {"broker", "controller"},
                 "kafka must run in KRaft mode as broker and controller")
    report.check(kafka_env.get("KAFKA_LOG_DIRS") == DATA_STORES["kafka"], "kafka must keep its log dirs on its data volume")
    mongo_command = services.get("mongo", {}).get("command", [])
    replica_set = mongo_command[mongo_command.index("--replSet") + 1] if "--replSet" in mongo_command else None
    report.check(replica_set, "mongo must run as a replica set (--replSet)")
    report.check("rs.initiate" in str(services.get("mongo", {}).get("healthcheck")),
                 "mongo's health check must initiate the replica set")
    report.ok(f"mongo: replica set {replica_set}, data on a volume; kafka: KRaft, data on a volume")
    return replica_set


def check_settings(report, services, replica_set):
    table = settings_table()
    for name, service in services.items():
        executable = executable_of(service)
        if not executable:
            continue
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        given = {k for k in env if k.startswith("CRM_")}
        wanted = settings_used(executable)
        report.check(not wanted - given, f"service {name} ({executable}) reads but is not given: {sorted(wanted - given)}")
        report.check(not given - wanted, f"service {name} ({executable}) is given settings it never reads: {sorted(given - wanted)}")
        for variable, value in env.items():
            literal = INTERPOLATION.sub(lambda m: m.group(3) if m.group(2).endswith("-") else "", value)
            problem = value_problem(variable, literal)
            report.check(problem is None, f"service {name}: {problem}")
            for inner, operator, default in INTERPOLATION.findall(value):
                if operator.endswith("-"):
                    report.check(inner == variable and default == (table.get(variable) or ""),
                                 f"service {name}: {variable}={value}: the default must be config.c's {table.get(variable)!r}")
        report.check(env.get("CRM_BIND") == "0.0.0.0", f"service {name} must listen on 0.0.0.0")
        report.check(env.get(port_setting(executable)) == table[port_setting(executable)],
                     f"service {name}: {port_setting(executable)} must be the default port {table[port_setting(executable)]}")
        report.check(service["healthcheck"]["test"] == ["CMD", "/usr/local/bin/crm-probe", "healthz", port_setting(executable)],
                     f"service {name}: the health check must be crm-probe healthz {port_setting(executable)}")
        if "CRM_MONGO_URI" in env:
            report.check(re.match(r"mongodb://mongo:27017/", env["CRM_MONGO_URI"]) and f"replicaSet={replica_set}" in env["CRM_MONGO_URI"],
                         f"service {name}: CRM_MONGO_URI must reach mongo:27017 as replica set {replica_set}")
        if "CRM_KAFKA_BROKERS" in env:
            report.check(env["CRM_KAFKA_BROKERS"] == "kafka:9092", f"service {name}: CRM_KAFKA_BROKERS must be kafka:9092")
        for upstream in ("auth", "customers", "cases"):
            url = env.get(f"CRM_{upstream.upper()}_URL")
            if url is None:
                continue
            target_env = services.get(upstream, {}).get("environment", {})
            port = str(target_env.get(f"CRM_{upstream.upper()}_PORT"))
            report.check(url == f"http://{upstream}:{port}", f"service {name}: CRM_{upstream.upper()}_URL={url}, but {upstream} listens on {port}")
            report.check(env.get(f"CRM_{upstream.upper()}_PORT") == port, f"service {name}: CRM_{upstream.upper()}_PORT disagrees with {upstream}'s")
        hardened = service.get("read_only") is True and service.get("cap_drop") == ["ALL"] \
            and "no-new-privileges:true" in service.get("security_opt", [])
        report.check(hardened, f"service {name}: read_only, cap_drop ALL and no-new-privileges are required")
        grace = int(table["CRM_SHUTDOWN_GRACE_SECONDS"])
        stop = service.get("stop_grace_period", "10s")
        report.check(re.fullmatch(r"\d+s", stop) and int(stop[:-1]) >= grace + 5,
                     f"service {name}: stop_grace_period {stop} leaves no time to drain ({grace} s) and flush Kafka (5 s)")
    report.ok("each executable gets exactly the CRM_* variables its main.c reads, with config.c's defaults; URLs match the services' ports")


def check_secrets(report, services):
    secrets = COMPOSE_DOC.get("secrets") or {}
    for name, service in services.items():
        env = service.get("environment") or {}
        mounted = set(service.get("secrets") or [])
        for variable in ("CRM_JWT_PRIVATE_KEY_FILE", "CRM_JWT_PUBLIC_KEY_FILES"):
            if variable in env:
                secret = str(env[variable]).removeprefix("/run/secrets/")
                report.check(secret in mounted and secret in secrets, f"service {name}: {variable} must name a secret the service mounts")
        report.check(("jwt_private_key" in mounted) == (name == "auth"), f"service {name}: only auth may mount the private key")
        report.check(("CRM_BOOTSTRAP_ADMIN_PASSWORD" in env) == (name == "auth"), f"service {name}: only auth gets the admin password")
    password = services["auth"]["environment"]["CRM_BOOTSTRAP_ADMIN_PASSWORD"]
    report.check(password == "${CRM_BOOTSTRAP_ADMIN_PASSWORD:?set CRM_BOOTSTRAP_ADMIN_PASSWORD in .env}",
                 "auth's admin password must come from .env, required, with no default")
    for secret in secrets.values():
        report.check(re.fullmatch(r"\$\{CRM_\w+:\?[^}]+\}", str(secret.get("file"))), f"secret file {secret.get('file')} must come from .env, required")
    example = set(re.findall(r"^(\w+)=", read(".env.example"), re.M))
    interpolated = set(v for v, _, _ in INTERPOLATION.findall(read(COMPOSE)))
    report.check(not interpolated - example, f"variables the compose file reads from .env but .env.example lacks: {sorted(interpolated - example)}")
    report.ok(f"secrets from .env: the private key and the admin password reach auth only; {len(interpolated)} variables, all in .env.example")


def main():
    global COMPOSE_DOC
    report = Report()
    COMPOSE_DOC = yaml.safe_load(read(COMPOSE))
    services = COMPOSE_DOC.get("services") or {}
    report.check(set(services) == {"mongo", "kafka", "auth", "customers", "cases", "gateway"},
                 f"unexpected set of services: {sorted(services)}")
    check_schema(report)
    replica_set = check_services(report, services)
    check_settings(report, services, replica_set)
    check_secrets(report, services)
    report.finish()


if __name__ == "__main__":
    main()
