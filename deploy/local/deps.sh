#!/usr/bin/env bash
# Installs everything the project needs, idempotently: Debian packages, FerretDB (built through
# the Go module proxy), the Kafka jars (from Maven Central), newman, Redocly CLI and Redoc (from
# npm), schemathesis and the checkers of the deployment files (from PyPI; kustomize through the Go
# module proxy if need be). Downloads and
# builds are cached under $CRM_CACHE (default ~/.cache/crm), never in the checkout; a second run
# does nothing. Redoc's bundle (npm) is cached there too, for the gateway's build to compile in.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/versions.sh"
CRM_CACHE=${CRM_CACHE:-$HOME/.cache/crm}
mkdir -p "$CRM_CACHE"
CRM_CACHE=$(cd "$CRM_CACHE" && pwd)

steps=8
step() { printf '[deps %d/%d] %s\n' "$1" "$steps" "$2"; }
fail() { printf 'deps: %s\n' "$*" >&2; exit 1; }

# ---- 1. Debian packages -------------------------------------------------------------------
debian_packages=(
    build-essential cmake pkg-config git curl jq openssl ca-certificates procps
    libulfius-dev libmicrohttpd-dev libmongoc-dev libjansson-dev libjwt-dev librdkafka-dev
    libsodium-dev libssl-dev check libsubunit-dev clang-format kcat
    clang libclang-rt-14-dev chromium
    openjdk-17-jre-headless maven python3-yaml python3-venv wrk valgrind nginx
)
step 1 "Debian packages"
if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    fail "this is not a Debian-like system: install the equivalents of: ${debian_packages[*]}"
fi
missing=()
for p in "${debian_packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done
# A JDK or Maven installed outside apt (a tarball, sdkman) is as good as Debian's.
if command -v java >/dev/null; then missing=("${missing[@]/openjdk-17-jre-headless/}"); fi
if command -v mvn >/dev/null; then missing=("${missing[@]/maven/}"); fi
# Node.js (newman, Redocly CLI) likewise; Debian 12's nodejs 18 is too old for Redocly CLI 2 (step 5
# says so): install Node.js 20.19 or newer from nodejs.org or NodeSource instead.
if ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]} == 0)); then
    echo "           all ${#debian_packages[@]} present"
else
    echo "           installing: ${missing[*]}"
    sudo=()
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || fail "run as root or install sudo, then: apt-get install ${missing[*]}"
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# ---- 2. Go toolchain ----------------------------------------------------------------------
step 2 "Go >= 1.24 (builds FerretDB)"
ferretdb_bin=$CRM_CACHE/ferretdb/$FERRETDB_VERSION/ferretdb
if [[ -x $ferretdb_bin ]]; then
    echo "           not needed: FerretDB is built already" # so a copied cache works offline
elif ! command -v go >/dev/null; then
    fail "Go is missing. Debian 12's golang-go (1.19) is too old: install Go 1.24 or newer from go.dev/dl into /usr/local/go and put /usr/local/go/bin on PATH, then run 'make deps' again"
else
    go_version=$(go env GOVERSION | sed 's/^go//')
    go_minor=$(cut -d. -f2 <<<"$go_version")
    if [[ $(cut -d. -f1 <<<"$go_version") -lt 1 ]] || ((go_minor < 24)); then
        fail "Go $go_version is too old to build FerretDB $FERRETDB_VERSION: install Go 1.24 or newer (go.dev/dl), put it first on PATH, then run 'make deps' again"
    fi
    echo "           go $go_version"
fi

# ---- 3. FerretDB ----------------------------------------------------------------------------
step 3 "FerretDB $FERRETDB_VERSION (first build: a few minutes)"
if [[ -x $ferretdb_bin ]]; then
    echo "           cached: $ferretdb_bin"
else
    export GOMODCACHE=$CRM_CACHE/go/mod GOCACHE=$CRM_CACHE/go/build GOFLAGS=-modcacherw
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    # `go install ...@version` builds a binary that panics (its version.txt is generated, not in
    # the module): build from a copy of the module with the file written in.
    src=$(cd "$work" && go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | jq -r .Dir)
    [[ -d $src ]] || fail "could not download FerretDB $FERRETDB_VERSION through the Go module proxy ($(go env GOPROXY))"
    cp -r "$src" "$work/ferretdb"
    chmod -R u+w "$work/ferretdb"
    echo "$FERRETDB_VERSION" >"$work/ferretdb/build/version/version.txt"
    mkdir -p "$(dirname "$ferretdb_bin")"
    (cd "$work/ferretdb" && go build -trimpath -o "$ferretdb_bin.tmp" ./cmd/ferretdb)
    mv "$ferretdb_bin.tmp" "$ferretdb_bin"
    rm -rf "$work"
    trap - EXIT
    echo "           built: $ferretdb_bin"
fi

# ---- 4. Kafka ----------------------------------------------------------------------------------
step 4 "Kafka $KAFKA_VERSION jars from Maven Central"
kafka_dir=$CRM_CACHE/kafka/$KAFKA_LIBS_KEY
if [[ -f $kafka_dir/complete ]]; then
    echo "           cached: $kafka_dir/libs"
else
    rm -rf "$kafka_dir"
    mkdir -p "$kafka_dir"
    mvn -q -B -f "$here/kafka/pom.xml" -Dmaven.repo.local="$CRM_CACHE/m2" \
        -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$kafka_dir/libs" \
        >"$CRM_CACHE/kafka/maven.log" 2>&1 ||
        fail "Maven could not fetch Kafka $KAFKA_VERSION (is Maven Central reachable?); see $CRM_CACHE/kafka/maven.log"
    touch "$kafka_dir/complete"
    echo "           fetched: $(ls "$kafka_dir/libs" | wc -l) jars"
fi

# ---- 5. newman and Redocly CLI -----------------------------------------------------------------
# The runner of the Postman collection (tests/postman) and the OpenAPI linter of the openapi_lint
# test (api/openapi.yaml), from npm into the cache, each pinned. The cache key is the list of pins:
# every package must be installed at its pinned version, so changing a pin reinstalls.
# Node.js comes from step 1 (Debian's nodejs) when the machine has none.
npm_pins=(newman@6.2.2 @redocly/cli@2.77.0)
step 5 "${npm_pins[*]} (npm; run the Postman collection, lint the OpenAPI document)"
npm_dir=$CRM_CACHE/npm
npm_bins=("$npm_dir/node_modules/.bin/newman" "$npm_dir/node_modules/.bin/redocly")
npm_installed() {
    local pin bin
    for bin in "${npm_bins[@]}"; do [[ -x $bin ]] || return 1; done
    for pin in "${npm_pins[@]}"; do
        [[ $(jq -r .version "$npm_dir/node_modules/${pin%@*}/package.json" 2>/dev/null) == "${pin##*@}" ]] ||
            return 1
    done
}
if npm_installed; then
    echo "           cached: ${npm_bins[*]}"
else
    node_help="install Node.js 20.19 or newer with npm (nodejs.org, or NodeSource's Debian packages), put node and npm on PATH, then run 'make deps' again"
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        fail "node or npm is missing: $node_help"
    fi
    # @redocly/cli 2 wants Node.js >= 20.19 (newman 6 is content with 18).
    node_version=$(node -p 'process.versions.node')
    IFS=. read -r node_major node_minor _ <<<"$node_version"
    ((node_major > 20 || (node_major == 20 && node_minor >= 19))) ||
        fail "Node.js $node_version is too old for ${npm_pins[*]}: $node_help"
    mkdir -p "$npm_dir"
    npm install --prefix "$npm_dir" --no-audit --no-fund "${npm_pins[@]}" >"$npm_dir/install.log" 2>&1 ||
        fail "npm could not install ${npm_pins[*]} (is the npm registry reachable?); see $npm_dir/install.log"
    npm_installed || fail "npm finished but ${npm_bins[*]} are not ${npm_pins[*]}; see $npm_dir/install.log"
    echo "           installed: ${npm_bins[*]}"
fi

# ---- 6. schemathesis -------------------------------------------------------------------------
# The API fuzzer of tests/integration/schemathesis.sh and `make fuzz-api`, from PyPI into a venv
# of Debian's python3 (step 1) in the cache, every package pinned by
# tests/schemathesis/requirements.txt; the venv's name carries that file's hash.
step 6 "schemathesis $SCHEMATHESIS_VERSION (PyPI; fuzzes the API from api/openapi.yaml)"
st_dir=$CRM_CACHE/python/schemathesis-$SCHEMATHESIS_KEY
st_requirements=$here/../../tests/schemathesis/requirements.txt
if [[ -f $st_dir/complete ]] && [[ -x $st_dir/bin/schemathesis ]]; then
    echo "           cached: $st_dir/bin/schemathesis"
else
    rm -rf "$st_dir"
    mkdir -p "$(dirname "$st_dir")"
    /usr/bin/python3 -m venv "$st_dir" >"$st_dir.log" 2>&1 ||
        fail "python3 could not make a venv (is python3-venv installed?); see $st_dir.log"
    "$st_dir/bin/pip" install -q --disable-pip-version-check --no-input -r "$st_requirements" \
        >>"$st_dir.log" 2>&1 ||
        fail "pip could not install schemathesis $SCHEMATHESIS_VERSION (is PyPI reachable?); see $st_dir.log"
    [[ $("$st_dir/bin/schemathesis" --version 2>/dev/null) == *" $SCHEMATHESIS_VERSION" ]] ||
        fail "pip finished but $st_dir/bin/schemathesis is not schemathesis $SCHEMATHESIS_VERSION; see $st_dir.log"
    touch "$st_dir/complete"
    echo "           installed: $st_dir/bin/schemathesis"
fi

# ---- 7. Deployment checkers --------------------------------------------------------------------
# No Docker engine or cluster runs here, so tests/deploy validates the files offline:
# check-jsonschema (it carries the Compose specification's schema) and kubernetes-validate (it
# carries Kubernetes' API schemas) from PyPI into a venv of the cache; kustomize v5 through the Go
# module proxy, only where kubectl does not embed it (kubectl 1.27 and newer do).
step 7 "deployment checkers (check-jsonschema, kubernetes-validate, kustomize v5)"
tools_dir=$CRM_CACHE/deploy-tools
tools_spec="check-jsonschema==$CHECK_JSONSCHEMA_VERSION kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
if [[ -x $tools_dir/venv/bin/kubernetes-validate && $(cat "$tools_dir/installed" 2>/dev/null) == "$tools_spec" ]]; then
    echo "           cached: $tools_dir/venv"
else
    rm -rf "$tools_dir"
    mkdir -p "$tools_dir"
    /usr/bin/python3 -m venv "$tools_dir/venv" >"$tools_dir/install.log" 2>&1 ||
        fail "could not make a Python venv (Debian: apt-get install python3-venv); see $tools_dir/install.log"
    # shellcheck disable=SC2086 # two requirement specifiers
    "$tools_dir/venv/bin/pip" install --disable-pip-version-check $tools_spec >>"$tools_dir/install.log" 2>&1 ||
        fail "pip could not install $tools_spec (is PyPI reachable?); see $tools_dir/install.log"
    echo "$tools_spec" >"$tools_dir/installed"
    echo "           installed: $tools_spec"
fi
kubectl_kustomize=$( (kubectl version --client -o json 2>/dev/null || true) | jq -r '.kustomizeVersion // empty' 2>/dev/null || true)
kustomize_bin=$CRM_CACHE/kustomize/$KUSTOMIZE_VERSION/kustomize
if [[ $kubectl_kustomize == v5* ]]; then
    echo "           kustomize: kubectl's $kubectl_kustomize"
elif [[ -x $kustomize_bin ]]; then
    echo "           cached: $kustomize_bin"
else
    mkdir -p "$(dirname "$kustomize_bin")"
    GOMODCACHE=$CRM_CACHE/go/mod GOCACHE=$CRM_CACHE/go/build GOFLAGS=-modcacherw GOBIN=$(dirname "$kustomize_bin") \
        go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" ||
        fail "could not build kustomize $KUSTOMIZE_VERSION through the Go module proxy ($(go env GOPROXY))"
    echo "           built: $kustomize_bin"
fi

# ---- 8. Redoc ----------------------------------------------------------------------------------
# GET /docs renders the OpenAPI document with Redoc's standalone bundle, which the gateway's build
# compiles in (gateway/CMakeLists.txt). Only the package's tarball is fetched (npm pack: no
# dependency tree, no install scripts) and checked against the integrity pinned in versions.sh.
step 8 "Redoc $REDOC_VERSION (npm; the /docs page)"
redoc_dir=$CRM_CACHE/redoc/$REDOC_VERSION
if [[ -f $redoc_dir/redoc.standalone.js ]]; then
    echo "           cached: $redoc_dir/redoc.standalone.js"
else
    command -v npm >/dev/null || fail "npm is missing: install Node.js with npm (step 5 needs it too), then run 'make deps' again"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "redoc@$REDOC_VERSION" >"$work/pack.log" 2>&1) ||
        fail "npm could not fetch redoc $REDOC_VERSION (is the npm registry reachable?): $(tail -n 3 "$work/pack.log")"
    integrity=sha512-$(openssl dgst -sha512 -binary "$work/redoc-$REDOC_VERSION.tgz" | base64 -w0)
    [[ $integrity == "$REDOC_INTEGRITY" ]] ||
        fail "redoc-$REDOC_VERSION.tgz has integrity $integrity, not the $REDOC_INTEGRITY pinned in deploy/local/versions.sh"
    tar -xzf "$work/redoc-$REDOC_VERSION.tgz" -C "$work" package/bundles/redoc.standalone.js \
        package/bundles/redoc.standalone.js.LICENSE.txt package/LICENSE
    mkdir -p "$redoc_dir"
    cp "$work/package/LICENSE" "$work/package/bundles/redoc.standalone.js.LICENSE.txt" "$redoc_dir/"
    cp "$work/package/bundles/redoc.standalone.js" "$redoc_dir/redoc.standalone.js.tmp"
    mv "$redoc_dir/redoc.standalone.js.tmp" "$redoc_dir/redoc.standalone.js"
    rm -rf "$work"
    trap - EXIT
    echo "           fetched: $redoc_dir/redoc.standalone.js"
fi
echo "deps: ready (cache: $CRM_CACHE)"
