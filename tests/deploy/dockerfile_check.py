#!/usr/bin/python3
"""deploy/docker/Dockerfile, checked without a Docker engine.

The heart of it: no image can be built here, so each runtime stage's package list is compared
with what the release binary really links: the NEEDED entries of the executable and of crm-probe
(the health check), resolved by `ldd` and owned, per `dpkg -S`, by exactly the packages the stage
installs (libc6 comes with the base image). A library the code starts to link, or a package the
code no longer needs, fails here. Also: pinned base images, one builder and runtime base, a
non-root user, the health check on the executable's own port setting, CRM_* only configuration,
and a builder that has every build dependency deps.sh installs and every directory CMake reads.
"""
import os
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from deploylib import EXECUTABLES, Report, image_pinned, port_setting, read, settings_table, SOURCE  # noqa: E402

DOCKERFILE = "deploy/docker/Dockerfile"
BIN_DIR = os.environ.get("CRM_RELEASE_BIN_DIR") or os.path.join(SOURCE, "build/release/bin")
BASE_PACKAGES = {"libc6"}  # essential: in every Debian image


def instructions(text):
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            keyword, _, rest = current.strip().partition(" ")
            logical.append((keyword.upper(), rest.strip()))
        current = ""
    return logical


def parse(text):
    """Global ARG defaults and the stages: {name: {"from", "parent", "lines"}} in order."""
    args, stages, stage = {}, {}, None
    for keyword, rest in instructions(text):
        if keyword == "ARG" and stage is None:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            match = re.match(r"(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), match.group(1))
            name = match.group(2) or f"stage{len(stages)}"
            stage = {"from": image, "parent": image if image in stages else None, "lines": []}
            stages[name] = stage
        elif stage is not None:
            stage["lines"].append((keyword, rest))
    return args, stages


def apt_packages(lines):
    """Packages named by `apt-get install` in a stage's RUN instructions."""
    packages = set()
    for keyword, rest in lines:
        if keyword != "RUN":
            continue
        for command in re.split(r"&&|;", rest):
            words = shlex.split(command)
            if "apt-get" in words and "install" in words:
                after = words[words.index("install") + 1:]
                packages |= {w for w in after if not w.startswith("-")}
    return packages


def stage_chain(stages, name):
    chain = []
    while name:
        chain.append(name)
        name = stages[name]["parent"]
    return chain


def effective(stages, name, keyword):
    """The last value of an instruction along the stage's chain (USER, ENTRYPOINT...)."""
    for stage in stage_chain(stages, name):
        values = [rest for k, rest in stages[stage]["lines"] if k == keyword]
        if values:
            return values[-1]
    return None


def linked_libraries(binary):
    """The paths (as ldd resolves them) of the shared libraries `binary` names as NEEDED."""
    if not os.access(binary, os.X_OK):
        sys.exit(f"FAIL: {binary} is missing: build the release tree first (make build)")
    dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    sonames = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
    return {soname: paths.get(soname) for soname in sonames}


def package_owners(paths):
    """{path: Debian package} in one `dpkg -S` (it reads the whole database each time). Debian 12
    merged /lib into /usr/lib, but dpkg knows each file under one of the two names."""
    aliases = {}
    for path in paths:
        aliases[path] = path
        aliases[path[4:] if path.startswith("/usr/") else "/usr" + path] = path
    out = subprocess.run(["dpkg", "-S", *aliases], capture_output=True, text=True).stdout
    owners = {}
    for line in out.splitlines():
        package, _, path = line.partition(": ")
        if path in aliases:
            owners[aliases[path]] = package.split(",")[0].split(":")[0].strip()
    return owners


def needed_packages(binaries, report):
    """{binary: packages owning the shared libraries it links}."""
    linked = {b: linked_libraries(b) for b in binaries}
    owners = package_owners({p for libraries in linked.values() for p in libraries.values() if p})
    result = {}
    for binary, libraries in linked.items():
        result[binary] = set()
        for soname, path in libraries.items():
            if report.check(path, f"{os.path.basename(binary)}: ldd does not resolve {soname}") and \
                    report.check(path in owners, f"{os.path.basename(binary)}: no Debian package owns {path}"):
                result[binary].add(owners[path])
    return result


def main():
    report = Report()
    text = read(DOCKERFILE)
    args, stages = parse(text)
    table = settings_table()

    # Base images: pinned, and one Debian release for building and running.
    for name, stage in stages.items():
        if stage["parent"] is None:
            report.check(image_pinned(stage["from"]), f"stage {name}: base image {stage['from']} is not pinned to a version")
    if not report.check("builder" in stages and "runtime" in stages, "stages `builder` and `runtime` are required"):
        report.finish()
    report.check(stages["builder"]["from"] == stages["runtime"]["from"],
                 "builder and runtime must start from the same image (the libraries linked are the ones run)")
    report.ok(f"base image {stages['runtime']['from']}, pinned, shared by builder and runtime")

    # The builder has every build dependency deps.sh installs for the developers...
    deps = read("deploy/local/deps.sh")
    listed = re.search(r"debian_packages=\((.*?)\)", deps, re.S).group(1).split()
    # (libclang-rt-*-dev is the libFuzzer runtime of the fuzz build, which no image makes.)
    build_deps = {p for p in listed if re.match(r"lib.*-dev$|check$|pkg-config$|cmake$|build-essential$|python3-yaml$", p)
                  and not p.startswith("libclang-rt-")}
    missing = build_deps - apt_packages(stages["builder"]["lines"])
    report.check(not missing, f"builder lacks build dependencies that deps.sh installs: {sorted(missing)}")
    # ...and copies every directory the CMake build reads.
    copied = {rest.split()[0].rstrip("/") for k, rest in stages["builder"]["lines"] if k == "COPY" and "--from" not in rest}
    needed_dirs = set(re.findall(r"add_subdirectory\(([\w./-]+)\)", read("CMakeLists.txt")))
    for root, dirs, files in os.walk(SOURCE):
        dirs[:] = [d for d in dirs if d not in ("build", "var", ".git")]  # outputs, state, history
        if "CMakeLists.txt" in files:
            cmake_text = open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8").read()
            needed_dirs |= {d.split("/")[0] for d in re.findall(r"\$\{CMAKE_SOURCE_DIR\}/([\w.-]+)/", cmake_text)}
    needed_dirs.discard("build")  # where the release tree is, not a source
    uncopied = {d for d in needed_dirs if not any(c == "." or d == c or d.startswith(c + "/") for c in copied)}
    report.check(not uncopied, f"builder does not COPY directories the build reads: {sorted(uncopied)}")
    report.ok(f"builder: {len(build_deps)} build dependencies, copies {sorted(copied)}")

    # Configuration only through known CRM_* variables.
    for name, stage in stages.items():
        for keyword, rest in stage["lines"]:
            if keyword == "ENV":
                for variable in re.findall(r"(\w+)=", rest):
                    report.check(variable in table, f"stage {name}: ENV {variable} is not a CRM_* setting of config.c")

    binaries = [os.path.join(BIN_DIR, b) for b in ["crm-probe", *EXECUTABLES]]
    packages = needed_packages(binaries, report)
    probe_packages = packages[binaries[0]]
    for executable in EXECUTABLES:
        if not report.check(executable in stages, f"no stage (target) named {executable}"):
            continue
        chain = stage_chain(stages, executable)
        report.check("runtime" in chain, f"{executable} does not build on the runtime stage")
        installed = set().union(*(apt_packages(stages[s]["lines"]) for s in chain))
        needed = (packages[os.path.join(BIN_DIR, executable)] | probe_packages) - BASE_PACKAGES
        missing, extra = needed - installed, installed - needed
        report.check(not missing, f"{executable}: the image lacks packages its libraries come from: {sorted(missing)}")
        report.check(not extra, f"{executable}: the image installs packages no library of it needs: {sorted(extra)}")
        if not missing and not extra:
            report.ok(f"{executable}: installs exactly the {len(needed)} packages of its shared libraries: {' '.join(sorted(needed))}")

        user = effective(stages, executable, "USER") or "root"
        report.check(re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", user), f"{executable}: USER {user} is not a numeric non-root id")
        lines = stages[executable]["lines"]
        copies = [rest for k, rest in lines if k == "COPY"]
        binary = f"/usr/local/bin/{executable}"
        report.check(any(c.split() == ["--from=builder", f"/build/bin/{executable}", binary] for c in copies),
                     f"{executable}: does not COPY its own binary from the builder to {binary}")
        report.check(effective(stages, executable, "ENTRYPOINT") == f'["{binary}"]', f"{executable}: ENTRYPOINT must be [\"{binary}\"]")
        setting = port_setting(executable)
        health = effective(stages, executable, "HEALTHCHECK") or ""
        report.check(health.endswith(f'CMD ["/usr/local/bin/crm-probe", "healthz", "{setting}"]'),
                     f"{executable}: HEALTHCHECK must run crm-probe healthz {setting}")
        expose = effective(stages, executable, "EXPOSE")
        report.check(expose == table[setting], f"{executable}: EXPOSE {expose}, but {setting} defaults to {table[setting]}")
        report.ok(f"{executable}: user {user}, health check on {setting} ({table[setting]}), entrypoint {binary}")

    ignored = set(read(".dockerignore").split())
    for entry in (".git", ".env", "secrets/", "build/", "var/"):
        report.check(entry in ignored, f".dockerignore must keep {entry} out of the build context")
    report.ok(".dockerignore keeps .git, .env, secrets/, build/ and var/ out of the build context")
    report.finish()


if __name__ == "__main__":
    main()
