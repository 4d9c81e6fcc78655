"""Shared by the offline deployment checks: where things are, what the code reads, reporting.

The truth about settings is the code: common/src/config.c (every CRM_* with its default) and
each executable's `settings_used[]` in its main.c. The checks compare the deployment files
with it, so a setting added to a service without being deployed fails here.
"""
import os
import re
import subprocess
import sys

SOURCE = os.environ.get("CRM_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
CACHE = os.environ.get("CRM_CACHE") or os.path.expanduser("~/.cache/crm")

# executable -> (main.c, the setting giving its port)
EXECUTABLES = {
    "crm-gateway": ("gateway/src/main.c", "CRM_GATEWAY_PORT"),
    "crm-auth": ("services/auth/src/main.c", "CRM_AUTH_PORT"),
    "crm-customers": ("services/customers/src/main.c", "CRM_CUSTOMERS_PORT"),
    "crm-cases": ("services/cases/src/main.c", "CRM_CASES_PORT"),
}

# Versions of the checking tools, installed by deploy/local/deps.sh into $CRM_CACHE.
TOOLS_VENV = os.path.join(CACHE, "deploy-tools", "venv")
KUBERNETES_VERSION = "1.32.0"  # the API the manifests are validated against (kubectl v1.32)


def read(relative):
    with open(os.path.join(SOURCE, relative), encoding="utf-8") as f:
        return f.read()


def settings_table():
    """{name: default or None} from config.c's table, in table order."""
    text = read("common/src/config.c")
    pattern = re.compile(r'\{"(CRM_[A-Z0-9_]+)",\s*SETTING_\w+,\s*AT\(\w+\),\s*("(?:[^"\\]|\\.)*"|NULL)')
    table = {}
    for name, default in pattern.findall(text):
        table[name] = None if default == "NULL" else default[1:-1]
    if len(table) < 20:
        sys.exit(f"FAIL: could read only {len(table)} settings from common/src/config.c")
    return table


def value_problem(name, value):
    """What config.c would refuse in `value` for setting `name` (None: accepted), so a bad value
    fails here rather than as exit status 2 in a pod. An empty value means unset: the default."""
    text = read("common/src/config.c")
    match = re.search(r'\{"' + re.escape(name) + r'",\s*SETTING_(\w+),\s*AT\(\w+\),\s*(?:"(?:[^"\\]|\\.)*"|NULL),\s*(-?\d+),\s*(-?\d+)', text)
    if not match:
        return f"{name} is not a setting of config.c"
    kind, low, high = match.group(1), int(match.group(2)), int(match.group(3))
    value = str(value)
    if value == "":
        return None
    if kind == "INT" and not (re.fullmatch(r"-?\d+", value) and low <= int(value) <= high):
        return f"{name}={value}: must be an integer from {low} to {high}"
    if kind == "LOG_LEVEL" and value not in ("debug", "info", "warn", "error"):
        return f"{name}={value}: must be debug, info, warn or error"
    if kind == "URL_LIST" and not all(len(u) > 7 and u.startswith("http://") and " " not in u for u in value.split(",")):
        return f"{name}={value}: must be a comma list of http:// base URLs"
    if kind == "MONGO_URI" and not value.startswith(("mongodb://", "mongodb+srv://")):
        return f"{name}: must start with mongodb:// or mongodb+srv://"
    if kind in ("STRING", "URL_LIST", "MONGO_URI") and not low <= len(value) <= high:
        return f"{name}: must be {low} to {high} characters long"
    return None


def settings_used(executable):
    """The CRM_* names an executable reads (its main.c's settings_used[])."""
    text = read(EXECUTABLES[executable][0])
    block = re.search(r"settings_used\[\]\s*=\s*\{(.*?)\};", text, re.S)
    if not block:
        sys.exit(f"FAIL: no settings_used[] in {EXECUTABLES[executable][0]}")
    return set(re.findall(r'"(CRM_[A-Z0-9_]+)"', block.group(1)))


def port_setting(executable):
    return EXECUTABLES[executable][1]


class Report:
    """Collects every failure instead of stopping at the first, then exits 1 if any."""

    def __init__(self):
        self.failures = 0
        self.failures_before = 0  # at the previous ok(): a section with a failure prints no ok

    def check(self, condition, message):
        if not condition:
            self.fail(message)
        return bool(condition)

    def fail(self, message):
        self.failures += 1
        print(f"FAIL: {message}")

    def ok(self, message):
        if self.failures == self.failures_before:
            print(f"ok: {message}")
        self.failures_before = self.failures

    def finish(self):
        if self.failures:
            print(f"{self.failures} check(s) failed")
            sys.exit(1)


def tool(name):
    """A checking tool from the venv deps.sh makes; a missing tool is a failure, never a skip."""
    path = os.path.join(TOOLS_VENV, "bin", name)
    if not os.access(path, os.X_OK):
        sys.exit(f"FAIL: {path} is missing: run `make deps` (deploy/local/deps.sh installs it)")
    return path


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, **kwargs)


def image_pinned(image):
    """A digest, or name:tag where the tag names a version down to at least the minor one
    (mongo:7.0.16, debian:12.12-slim): `latest`, `bookworm-slim` or `mongo:7` move under you."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return False
    return re.match(r"v?\d+\.\d+", tag) is not None
