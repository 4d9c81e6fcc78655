#!/usr/bin/env bash
# Installs everything the project needs, idempotently: Debian packages, FerretDB (built through
# the Go module proxy), the Kafka jars (from Maven Central) and newman (from npm). Downloads and
# builds are cached under $CRM_CACHE (default ~/.cache/crm), never in the checkout; a second run
# does nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/versions.sh"
CRM_CACHE=${CRM_CACHE:-$HOME/.cache/crm}
mkdir -p "$CRM_CACHE"
CRM_CACHE=$(cd "$CRM_CACHE" && pwd)

steps=5
step() { printf '[deps %d/%d] %s\n' "$1" "$steps" "$2"; }
fail() { printf 'deps: %s\n' "$*" >&2; exit 1; }

# ---- 1. Debian packages -------------------------------------------------------------------
debian_packages=(
    build-essential cmake pkg-config git curl jq openssl ca-certificates procps
    libulfius-dev libmicrohttpd-dev libmongoc-dev libjansson-dev libjwt-dev librdkafka-dev
    libsodium-dev libssl-dev check libsubunit-dev clang-format kcat
    openjdk-17-jre-headless maven python3-yaml wrk valgrind nginx
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
# Node.js (newman) likewise; Debian 12's nodejs 18 is new enough when there is none.
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
if ! command -v go >/dev/null; then
    fail "Go is missing. Debian 12's golang-go (1.19) is too old: install Go 1.24 or newer from go.dev/dl into /usr/local/go and put /usr/local/go/bin on PATH, then run 'make deps' again"
fi
go_version=$(go env GOVERSION | sed 's/^go//')
go_minor=$(cut -d. -f2 <<<"$go_version")
if [[ $(cut -d. -f1 <<<"$go_version") -lt 1 ]] || ((go_minor < 24)); then
    fail "Go $go_version is too old to build FerretDB $FERRETDB_VERSION: install Go 1.24 or newer (go.dev/dl), put it first on PATH, then run 'make deps' again"
fi
echo "           go $go_version"

# ---- 3. FerretDB ----------------------------------------------------------------------------
step 3 "FerretDB $FERRETDB_VERSION (first build: a few minutes)"
ferretdb_bin=$CRM_CACHE/ferretdb/$FERRETDB_VERSION/ferretdb
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

# ---- 5. newman ---------------------------------------------------------------------------------
# The runner of the Postman collection (tests/postman), from npm into the cache. Node.js comes
# from step 1 (Debian's nodejs) when the machine has none.
newman_version=6.2.2
step 5 "newman $newman_version (npm; runs the Postman collection)"
npm_dir=$CRM_CACHE/npm
newman_bin=$npm_dir/node_modules/.bin/newman
newman_installed() {
    [[ -x $newman_bin ]] &&
        [[ $(jq -r .version "$npm_dir/node_modules/newman/package.json" 2>/dev/null) == "$newman_version" ]]
}
if newman_installed; then
    echo "           cached: $newman_bin"
else
    node_help="install Node.js 18 or newer with npm (nodejs.org, or NodeSource's Debian packages), put node and npm on PATH, then run 'make deps' again"
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        fail "node or npm is missing: $node_help"
    fi
    node_major=$(node -p 'process.versions.node.split(".")[0]')
    ((node_major >= 18)) || fail "Node.js $(node --version) is too old for newman $newman_version: $node_help"
    mkdir -p "$npm_dir"
    npm install --prefix "$npm_dir" --no-audit --no-fund "newman@$newman_version" >"$npm_dir/install.log" 2>&1 ||
        fail "npm could not install newman $newman_version (is the npm registry reachable?); see $npm_dir/install.log"
    newman_installed || fail "npm finished but $newman_bin is not newman $newman_version; see $npm_dir/install.log"
    echo "           installed: $newman_bin"
fi
echo "deps: ready (cache: $CRM_CACHE)"
