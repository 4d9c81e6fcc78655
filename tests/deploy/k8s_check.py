#!/usr/bin/python3
"""deploy/k8s, checked without a cluster: the base and each overlay are rendered with kustomize v5
(`kubectl kustomize`, or the kustomize deps.sh builds where kubectl is older), validated strictly
against Kubernetes' API schemas (kubernetes-validate: an unknown or misspelt field fails), and
every object is held to the rules of deploy/k8s/README.md:

- labels app.kubernetes.io/name and part-of=crm everywhere, images pinned to a version;
- each executable: a Deployment (2+ replicas, readiness on /readyz, liveness and startup on
  /healthz, requests and limits, non-root, read-only root, no privilege escalation, no
  capabilities, a preStop pause that with the drain fits the grace period), a Service whose
  target port its pods expose, an HPA and a PDB that select it; the Ingress for the gateway only;
- each executable is given every CRM_* variable its main.c reads, values that config.c accepts,
  upstream URLs naming the right Service and port, worker threads and password-hash concurrency
  sized from the CPU limit (a process sees the node's cores, not its limit), a memory limit that
  holds the hashes in flight; secrets only from Secrets, the signing key and admin password for
  crm-auth only, every Secret either rendered or documented in base/secret.example.yaml;
- the NetworkPolicies allow exactly the flows in EXPECTED_FLOWS, computed pod by pod and port by
  port the way a CNI enforces them.
"""
import json
import os
import re
import shutil
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from deploylib import (EXECUTABLES, KUBERNETES_VERSION, CACHE, SOURCE, Report, image_pinned,  # noqa: E402
                       port_setting, read, run, settings_table, settings_used, tool, value_problem)

K8S = os.path.join(SOURCE, "deploy/k8s")
RENDERS = ["base", "overlays/dev", "overlays/production"]
NAMESPACE = "crm"
WORKLOADS = {"gateway": "crm-gateway", "auth": "crm-auth", "customers": "crm-customers", "cases": "crm-cases"}
PRESTOP_KAFKA_FLUSH = 5  # seconds crm_service_clean gives the producer to flush after the drain

# Where the pods of each flow end live. MongoDB and Kafka are pods of the render where it has
# them (overlays/dev), else where the render's policies expect them; the rest is outside.
OUTSIDE = {
    "ingress-controller": ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}),
    "dns": ("kube-system", {"k8s-app": "kube-dns"}),
    "elsewhere": ("default", {"app": "anything"}),
}
DATA_STORES = {
    "base": {"mongo": (NAMESPACE, {"app.kubernetes.io/name": "mongo"}), "kafka": (NAMESPACE, {"app.kubernetes.io/name": "kafka"})},
    "overlays/dev": {},
    "overlays/production": {"mongo": ("mongodb", {"app": "crm-mongodb-svc"}),
                            "kafka": ("kafka", {"strimzi.io/cluster": "crm-kafka", "strimzi.io/kind": "Kafka"})},
}
PORTS = [(p, "TCP") for p in (8080, 8081, 8082, 8083, 27017, 9092, 9093, 53, 22)] + [(53, "UDP")]
EXPECTED_FLOWS = {
    ("ingress-controller", "gateway", 8080, "TCP"),
    ("gateway", "auth", 8081, "TCP"), ("gateway", "customers", 8082, "TCP"), ("gateway", "cases", 8083, "TCP"),
    ("cases", "customers", 8082, "TCP"), ("cases", "auth", 8081, "TCP"),
    ("auth", "mongo", 27017, "TCP"), ("customers", "mongo", 27017, "TCP"), ("cases", "mongo", 27017, "TCP"),
    ("customers", "kafka", 9092, "TCP"), ("cases", "kafka", 9092, "TCP"),
    ("mongo", "mongo", 27017, "TCP"),
}


# ---- rendering ----------------------------------------------------------------------------------

def kustomize_command():
    """`kubectl kustomize` when kubectl embeds kustomize v5, else the one deps.sh built."""
    kubectl = shutil.which("kubectl")
    if kubectl:
        version = run([kubectl, "version", "--client", "-o", "json"])
        if version.returncode == 0 and json.loads(version.stdout).get("kustomizeVersion", "").startswith("v5"):
            return [kubectl, "kustomize"]
    versions = read("deploy/local/versions.sh")
    wanted = re.search(r"^KUSTOMIZE_VERSION=(\S+)", versions, re.M).group(1)
    built = os.path.join(CACHE, "kustomize", wanted, "kustomize")
    if not os.access(built, os.X_OK):
        sys.exit(f"FAIL: no kustomize v5: kubectl is missing or older than 1.27, and {built} is missing: run `make deps`")
    return [built, "build"]


def render(command, path, report):
    result = run(command + [os.path.join(K8S, path)])
    if not report.check(result.returncode == 0, f"{path}: kustomize failed: {result.stderr}"):
        return []
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as rendered:
        rendered.write(result.stdout)
        rendered.flush()
        valid = run([tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, rendered.name])
        report.check(valid.returncode == 0 and "ERROR" not in valid.stdout,
                     f"{path}: not valid against Kubernetes {KUBERNETES_VERSION}'s schemas:\n{valid.stdout}{valid.stderr}")
    return [o for o in yaml.safe_load_all(result.stdout) if o]


# ---- helpers -------------------------------------------------------------------------------------

def labels_match(selector, labels):
    """A LabelSelector (matchLabels and matchExpressions) against a label set."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def quantity(value):
    """CPU in cores or memory in bytes from a Kubernetes quantity."""
    value = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def name_of(obj):
    return f"{obj['kind']}/{obj['metadata']['name']}"


def workloads(objects):
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet")]


def pod_labels(workload):
    return workload["spec"]["template"]["metadata"].get("labels") or {}


# ---- every object ----------------------------------------------------------------------------------

def check_objects(report, path, objects):
    for obj in objects:
        labels = obj["metadata"].get("labels") or {}
        report.check(labels.get("app.kubernetes.io/name") and labels.get("app.kubernetes.io/part-of") == "crm",
                     f"{path}: {name_of(obj)} lacks the labels app.kubernetes.io/name and app.kubernetes.io/part-of=crm")
        if obj["kind"] != "Namespace":
            report.check(obj["metadata"].get("namespace") == NAMESPACE, f"{path}: {name_of(obj)} is not in namespace {NAMESPACE}")
    namespaces = [o for o in objects if o["kind"] == "Namespace"]
    report.check(len(namespaces) == 1 and namespaces[0]["metadata"]["labels"].get("pod-security.kubernetes.io/enforce") == "restricted",
                 f"{path}: namespace {NAMESPACE} must enforce the restricted Pod Security Standard")
    report.ok(f"{path}: {len(objects)} objects, all labelled, all in namespace {NAMESPACE} (restricted)")


def check_pods(report, path, objects):
    for workload in workloads(objects):
        what = f"{path}: {name_of(workload)}"
        spec = workload["spec"]
        template = spec["template"]["spec"]
        report.check(labels_match(spec["selector"], pod_labels(workload)), f"{what}: its selector does not match its pods")
        report.check(template.get("automountServiceAccountToken") is False, f"{what}: must not mount a service account token")
        pod_security = template.get("securityContext") or {}
        report.check(pod_security.get("runAsNonRoot") is True and pod_security.get("runAsUser", 0) > 0,
                     f"{what}: must run as a non-root user")
        report.check((pod_security.get("seccompProfile") or {}).get("type") == "RuntimeDefault", f"{what}: seccomp RuntimeDefault is required")
        for container in template["containers"] + (template.get("initContainers") or []):
            where = f"{what} container {container['name']}"
            report.check(image_pinned(container["image"]), f"{where}: image {container['image']} is not pinned to a version")
            report.check(container.get("imagePullPolicy") == "IfNotPresent", f"{where}: imagePullPolicy must be IfNotPresent")
            security = container.get("securityContext") or {}
            report.check(security.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation must be false")
            report.check(security.get("readOnlyRootFilesystem") is True, f"{where}: the root filesystem must be read-only")
            report.check(security.get("privileged") is not True, f"{where}: must not be privileged")
            report.check((security.get("capabilities") or {}).get("drop") == ["ALL"], f"{where}: must drop ALL capabilities")
            resources = container.get("resources") or {}
            for kind in ("cpu", "memory"):
                request = (resources.get("requests") or {}).get(kind)
                limit = (resources.get("limits") or {}).get(kind)
                if report.check(request and limit, f"{where}: needs a {kind} request and limit"):
                    report.check(quantity(request) <= quantity(limit), f"{where}: {kind} request above its limit")
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                report.check(probe in container, f"{where}: has no {probe}")
            ports = {p.get("name") for p in container.get("ports") or []} | {p["containerPort"] for p in container.get("ports") or []}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                handler = (container.get(probe) or {}).get("httpGet") or (container.get(probe) or {}).get("tcpSocket")
                if handler:
                    report.check(handler["port"] in ports, f"{where}: {probe} targets port {handler['port']}, which it does not expose")
    report.ok(f"{path}: every pod non-root, seccomp, read-only root, no privilege escalation, no capabilities, "
              "pinned images, requests and limits, three probes on exposed ports")


def check_executables(report, path, objects, table, secret_keys):
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    config_maps = {n: o.get("data", {}) for n, o in by_kind.get("ConfigMap", {}).items()}
    secrets = {n: set((o.get("data") or {}) | (o.get("stringData") or {})) for n, o in by_kind.get("Secret", {}).items()}
    services = by_kind.get("Service", {})
    deployments = by_kind.get("Deployment", {})
    report.check(set(deployments) == set(WORKLOADS), f"{path}: Deployments {sorted(deployments)}, expected {sorted(WORKLOADS)}")

    def secret_known(name, key):
        base_name = re.sub(r"-[a-z0-9]{10}$", "", name)  # a generated Secret carries a hash
        if name in secrets:
            return key in secrets[name]
        return key in secret_keys.get(base_name, set()) if base_name == name else False

    for name, deployment in deployments.items():
        executable = WORKLOADS.get(name)
        if not executable:
            continue
        what = f"{path}: Deployment/{name}"
        spec = deployment["spec"]
        template = spec["template"]["spec"]
        container = template["containers"][0]
        report.check(len(template["containers"]) == 1 and container["name"] == name, f"{what}: one container named {name}")
        report.check(container["image"].rsplit(":", 1)[0].endswith(executable), f"{what}: runs {container['image']}, not {executable}")
        report.check(spec.get("replicas", 1) >= 2, f"{what}: needs at least 2 replicas")
        report.check((spec.get("strategy", {}).get("rollingUpdate") or {}).get("maxUnavailable") == 0,
                     f"{what}: a rollout must not take a serving pod away first (maxUnavailable: 0)")
        # Probes on the right paths.
        report.check((container.get("readinessProbe", {}).get("httpGet") or {}).get("path") == "/readyz", f"{what}: readiness must be GET /readyz")
        report.check((container.get("livenessProbe", {}).get("httpGet") or {}).get("path") == "/healthz", f"{what}: liveness must be GET /healthz")
        report.check((container.get("startupProbe", {}).get("httpGet") or {}).get("path") == "/healthz", f"{what}: startup must be GET /healthz")

        # The environment: every setting the executable reads, from a known source.
        env = {}
        for source in container.get("envFrom") or []:
            config_map = source.get("configMapRef", {}).get("name")
            report.check(config_map in config_maps, f"{what}: envFrom names ConfigMap {config_map}, which is not rendered")
            env.update({k: ("configmap", v) for k, v in config_maps.get(config_map, {}).items()})
        for variable in container.get("env") or []:
            report.check(variable["name"] not in env, f"{what}: {variable['name']} is set twice")
            if "value" in variable:
                env[variable["name"]] = ("literal", variable["value"])
            else:
                ref = variable["valueFrom"].get("secretKeyRef")
                report.check(ref, f"{what}: {variable['name']} must be a value or come from a Secret")
                if ref:
                    report.check(secret_known(ref["name"], ref["key"]),
                                 f"{what}: {variable['name']} reads Secret {ref['name']} key {ref['key']}: neither rendered nor in base/secret.example.yaml")
                env[variable["name"]] = ("secret", ref and ref["name"])
        missing = settings_used(executable) - set(env)
        report.check(not missing, f"{what}: {executable} reads but is not given: {sorted(missing)}")
        for variable, (source, value) in env.items():
            if not report.check(variable in table, f"{what}: {variable} is not a setting of config.c"):
                continue
            if source != "secret":
                problem = value_problem(variable, value)
                report.check(problem is None, f"{what}: {problem}")
        for variable in ("CRM_BOOTSTRAP_ADMIN_PASSWORD", "CRM_MONGO_URI"):
            if variable in env:
                report.check(env[variable][0] == "secret", f"{what}: {variable} holds credentials: it must come from a Secret")
        report.check(("CRM_BOOTSTRAP_ADMIN_PASSWORD" in [v["name"] for v in container.get("env") or []]) == (name == "auth"),
                     f"{what}: only auth is given the admin password")
        report.check(env.get("CRM_BIND", (None, None))[1] == "0.0.0.0", f"{what}: CRM_BIND must be 0.0.0.0")
        port = int(env.get(port_setting(executable), (None, table[port_setting(executable)]))[1])
        report.check(any(p["containerPort"] == port and p.get("name") == "http" for p in container.get("ports") or []),
                     f"{what}: listens on {port} ({port_setting(executable)}) but does not expose it as port `http`")
        for upstream in ("auth", "customers", "cases"):
            url = env.get(f"CRM_{upstream.upper()}_URL", (None, None))[1]
            if url and f"CRM_{upstream.upper()}_URL" in settings_used(executable):
                service = services.get(upstream, {})
                service_ports = [p["port"] for p in service.get("spec", {}).get("ports") or []]
                report.check(re.fullmatch(rf"http://{upstream}:(\d+)", url) and int(url.rsplit(":", 1)[1]) in service_ports,
                             f"{what}: CRM_{upstream.upper()}_URL={url} does not name Service {upstream} and one of its ports {service_ports}")

        # Sizing: the process counts the node's cores, so threads and hashes are set explicitly.
        cpu_limit = quantity(container["resources"]["limits"]["cpu"])
        memory_limit = quantity(container["resources"]["limits"]["memory"])
        threads = int(env.get("CRM_HTTP_THREADS", ("", "0"))[1] or 0)
        report.check(threads > 0, f"{what}: CRM_HTTP_THREADS must be set (0 means 4 per core of the node, not of the limit)")
        if "CRM_PASSWORD_HASH_CONCURRENCY" in settings_used(executable):
            hashes = int(env.get("CRM_PASSWORD_HASH_CONCURRENCY", ("", "0"))[1] or 0)
            report.check(1 <= hashes <= max(1, round(cpu_limit)), f"{what}: CRM_PASSWORD_HASH_CONCURRENCY must be 1..CPU limit, is {hashes}")
            hash_kib = int(env.get("CRM_PASSWORD_HASH_MEMORY_KIB", ("", table["CRM_PASSWORD_HASH_MEMORY_KIB"]))[1])
            needed = 64 * 2**20 + hashes * hash_kib * 1024  # measured RSS ~20 MB, with room
            report.check(memory_limit >= needed, f"{what}: memory limit {memory_limit / 2**20:.0f} MiB cannot hold {hashes} hashes of {hash_kib} KiB")

        # Secrets as files: the signing key for auth only, every key file on a mounted Secret.
        mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts") or []}
        volumes = {v["name"]: v for v in template.get("volumes") or []}
        secret_dirs = {}
        for volume_name, mount_path in mounts.items():
            volume = volumes.get(volume_name, {})
            if "secret" in volume:
                secret = volume["secret"]
                keys = [i["path"] for i in secret.get("items") or []] or sorted(secrets.get(secret["secretName"], secret_keys.get(secret["secretName"], set())))
                for key in [i["key"] for i in secret.get("items") or []] or keys:
                    report.check(secret_known(secret["secretName"], key), f"{what}: mounts Secret {secret['secretName']} key {key}: unknown")
                secret_dirs.update({f"{mount_path}/{k}": secret["secretName"] for k in keys})
                report.check(secret["secretName"] != "crm-auth-secrets" or name == "auth", f"{what}: only auth may mount crm-auth-secrets")
        for variable in ("CRM_JWT_PRIVATE_KEY_FILE", "CRM_JWT_PUBLIC_KEY_FILES"):
            if variable in env:
                for file in str(env[variable][1]).split(","):
                    report.check(file in secret_dirs, f"{what}: {variable} names {file}, which no mounted Secret provides")

        # Shutdown: endpoints drain during preStop, then the process drains, then Kafka flushes.
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command") or []
        if report.check(len(pre_stop) == 2 and pre_stop[0] == "sleep", f"{what}: preStop must be `sleep N`"):
            grace = int(env.get("CRM_SHUTDOWN_GRACE_SECONDS", ("", table["CRM_SHUTDOWN_GRACE_SECONDS"]))[1])
            needed = int(pre_stop[1]) + grace + PRESTOP_KAFKA_FLUSH
            report.check(template.get("terminationGracePeriodSeconds", 30) > needed,
                         f"{what}: terminationGracePeriodSeconds must exceed preStop {pre_stop[1]} s + drain {grace} s + flush {PRESTOP_KAFKA_FLUSH} s")

    report.ok(f"{path}: each executable gets every CRM_* it reads, secrets only from Secrets, the signing key and "
              "admin password for auth only, URLs to the right Services, threads and hashes sized from the limits, "
              "a preStop pause that fits the grace period")


def check_wiring(report, path, objects):
    """Services, HPAs, PDBs and the Ingress point at things that exist and select real pods."""
    all_workloads = workloads(objects)
    for service in (o for o in objects if o["kind"] == "Service"):
        what = f"{path}: {name_of(service)}"
        selected = [w for w in all_workloads if labels_match({"matchLabels": service["spec"]["selector"]}, pod_labels(w))]
        if not report.check(selected, f"{what}: selects no pods"):
            continue
        for port in service["spec"]["ports"]:
            for workload in selected:
                exposed = [(p.get("name"), p["containerPort"]) for c in workload["spec"]["template"]["spec"]["containers"] for p in c.get("ports") or []]
                target = port.get("targetPort", port["port"])
                report.check(any(target in pair for pair in exposed), f"{what}: port {port['port']} targets {target}, which {name_of(workload)} does not expose")
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    hpas = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"]
    pdbs = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    for name, deployment in deployments.items():
        mine = [h for h in hpas if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}]
        if report.check(len(mine) == 1, f"{path}: Deployment/{name} needs exactly one HorizontalPodAutoscaler"):
            hpa = mine[0]["spec"]
            report.check(2 <= hpa["minReplicas"] <= hpa["maxReplicas"] and hpa["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["maxReplicas"],
                         f"{path}: HPA/{name}: replicas {deployment['spec']['replicas']} outside minReplicas..maxReplicas, or minReplicas < 2")
        mine = [p for p in pdbs if labels_match(p["spec"]["selector"], pod_labels(deployment))]
        if report.check(len(mine) == 1, f"{path}: Deployment/{name} needs exactly one PodDisruptionBudget"):
            report.check(mine[0]["spec"].get("maxUnavailable") == 1, f"{path}: PDB/{name}: maxUnavailable 1 lets nodes drain one pod at a time")
    ingresses = [o for o in objects if o["kind"] == "Ingress"]
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    backends = [p["backend"]["service"] for i in ingresses for r in i["spec"]["rules"] for p in r["http"]["paths"]]
    report.check(ingresses and all(b["name"] == "gateway" for b in backends), f"{path}: an Ingress must exist and lead to the gateway only")
    for backend in backends:
        ports = services.get(backend["name"], {}).get("spec", {}).get("ports") or []
        report.check(any(backend["port"].get("name") == p.get("name") or backend["port"].get("number") == p["port"] for p in ports),
                     f"{path}: the Ingress names port {backend['port']} of Service {backend['name']}, which it lacks")
    report.ok(f"{path}: every Service selects pods exposing its target ports; one HPA and one PDB per Deployment; "
              "the Ingress leads to the gateway only")


# ---- network policies -----------------------------------------------------------------------------

def peer_matches(peer, policy_namespace, pod):
    namespace, labels = pod
    if "ipBlock" in peer:
        return None  # not modelled: refused by the caller
    namespace_ok = labels_match(peer["namespaceSelector"], {"kubernetes.io/metadata.name": namespace}) \
        if "namespaceSelector" in peer else namespace == policy_namespace
    pod_ok = labels_match(peer["podSelector"], labels) if "podSelector" in peer else True
    return namespace_ok and pod_ok


def port_matches(rule, port, protocol):
    if not rule.get("ports"):
        return True
    for entry in rule["ports"]:
        if entry.get("protocol", "TCP") != protocol:
            continue
        if "port" not in entry or entry["port"] == port or (entry.get("endPort") and entry["port"] <= port <= entry["endPort"]):
            return True
    return False


def direction_allows(policies, pod, other, port, protocol, direction):
    """Whether the policies selecting `pod` let traffic in (from `other`) or out (to `other`)."""
    namespace, labels = pod
    policy_type, rules_key, peers_key = ("Ingress", "ingress", "from") if direction == "in" else ("Egress", "egress", "to")
    selecting = [p for p in policies if p["metadata"]["namespace"] == namespace and policy_type in p["spec"]["policyTypes"]
                 and labels_match(p["spec"]["podSelector"], labels)]
    if not selecting:
        return True  # not isolated in this direction
    for policy in selecting:
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(peer_matches(peer, namespace, other) for peer in peers)) and port_matches(rule, port, protocol):
                return True
    return False


def check_network(report, path, objects):
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    failures_before = report.failures
    for policy in policies:
        report.check("policyTypes" in policy["spec"], f"{path}: NetworkPolicy/{policy['metadata']['name']} must state its policyTypes")
        for rule in (policy["spec"].get("ingress") or []) + (policy["spec"].get("egress") or []):
            for peer in (rule.get("from") or []) + (rule.get("to") or []):
                report.check("ipBlock" not in peer, f"{path}: NetworkPolicy/{policy['metadata']['name']}: ipBlock peers are not checked: name pods")
            for entry in rule.get("ports") or []:
                report.check(isinstance(entry.get("port"), int), f"{path}: NetworkPolicy/{policy['metadata']['name']}: use port numbers")
    if report.failures > failures_before:
        return
    pods = {w["metadata"]["name"]: (NAMESPACE, pod_labels(w)) for w in workloads(objects)}
    for store, where in DATA_STORES[path].items():
        pods.setdefault(store, where)
    pods.update(OUTSIDE)
    report.check({"mongo", "kafka"} <= set(pods), f"{path}: where MongoDB and Kafka run is unknown")
    for policy in policies:
        report.check(any(labels_match(policy["spec"]["podSelector"], labels) for ns, labels in pods.values() if ns == NAMESPACE)
                     or path == "base" and policy["metadata"]["name"] in DATA_STORES["base"],
                     f"{path}: NetworkPolicy/{policy['metadata']['name']} selects no pod")
    inside = {name for name, (ns, _) in pods.items() if ns == NAMESPACE}
    expected = {f for f in EXPECTED_FLOWS if f[0] in inside or f[1] in inside}
    expected |= {(name, "dns", 53, protocol) for name in inside for protocol in ("UDP", "TCP")}
    allowed = set()
    for source, source_pod in pods.items():
        for destination, destination_pod in pods.items():
            if source not in inside and destination not in inside:
                continue  # between two pods outside: not ours to police
            for port, protocol in PORTS:
                if direction_allows(policies, source_pod, destination_pod, port, protocol, "out") and \
                        direction_allows(policies, destination_pod, source_pod, port, protocol, "in"):
                    allowed.add((source, destination, port, protocol))
    for flow in sorted(allowed - expected):
        report.fail(f"{path}: the NetworkPolicies allow a flow that does not exist: {flow[0]} -> {flow[1]}:{flow[2]}/{flow[3]}")
    for flow in sorted(expected - allowed):
        report.fail(f"{path}: the NetworkPolicies block a flow the CRM needs: {flow[0]} -> {flow[1]}:{flow[2]}/{flow[3]}")
    report.ok(f"{path}: the NetworkPolicies allow exactly {len(expected)} flows among {len(pods)} pods "
              f"({len(PORTS)} ports each), the ones that exist")


def secret_template(report):
    """base/secret.example.yaml: the Secrets to create, with their keys, holding no value."""
    text = read("deploy/k8s/base/secret.example.yaml")
    keys = {}
    for secret in (s for s in yaml.safe_load_all(text) if s):
        report.check(secret["kind"] == "Secret", "base/secret.example.yaml holds Secrets only")
        values = secret.get("stringData") or {}
        report.check(all(v == "" for v in values.values()) and not secret.get("data"), f"secret.example.yaml: {secret['metadata']['name']} must hold no value")
        keys[secret["metadata"]["name"]] = set(values)
    resources = yaml.safe_load(read("deploy/k8s/base/kustomization.yaml")).get("resources") or []
    report.check("secret.example.yaml" not in resources, "secret.example.yaml must not be a resource (an apply would blank the real Secrets)")
    valid = run([tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, os.path.join(K8S, "base/secret.example.yaml")])
    report.check(valid.returncode == 0 and "ERROR" not in valid.stdout, f"secret.example.yaml is not valid: {valid.stdout}")
    report.ok(f"base/secret.example.yaml: {len(keys)} Secrets to create, no value in git, not applied by the base")
    return keys


def main():
    report = Report()
    table = settings_table()
    command = kustomize_command()
    report.ok(f"renderer: {' '.join(os.path.basename(c) for c in command)}")
    secret_keys = secret_template(report)
    for path in RENDERS:
        objects = render(command, path, report)
        if not objects:
            continue
        report.ok(f"{path}: renders, valid against Kubernetes {KUBERNETES_VERSION} (strict)")
        check_objects(report, path, objects)
        check_pods(report, path, objects)
        check_executables(report, path, objects, table, secret_keys)
        check_wiring(report, path, objects)
        check_network(report, path, objects)
    report.finish()


if __name__ == "__main__":
    main()
