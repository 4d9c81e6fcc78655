#!/usr/bin/env bash
# GET /docs as a person sees it: headless Chromium (Debian's, from deploy/local/deps.sh) opens the
# page with every host name but 127.0.0.1 unresolvable, and the DOM it renders must hold the
# document's title, every operation's summary and the problem types; Chromium's network log must
# show that the page asked nothing of any other origin. A screenshot is kept as an artifact.
# Before that, over curl: the headers of the page and of Redoc's bundle, and a page (HTML and JSON)
# for every problem type, reachable from the `type` of a real problem.
. "$(dirname "$0")/lib.sh"
: "${CRM_GATEWAY_PORT:?the gateway port}" "${CRM_VAR:?the stack state directory}"
origin=http://127.0.0.1:$CRM_GATEWAY_PORT
artifacts=${CRM_ARTIFACT_DIR:-$CRM_VAR/artifacts}
chromium=$(command -v chromium || true)
[[ -n $chromium ]] || fail "chromium is not installed: run deploy/local/deps.sh (or make deps), which installs Debian's chromium"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- the page and its assets ----
header() { grep -i "^$1:" "$2" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ *//'; }
[[ $(curl -s -D "$work/h" -o "$work/index.html" -w '%{http_code}' "$origin/docs") == 200 ]] || fail "GET /docs"
[[ $(header content-type "$work/h") == "text/html; charset=utf-8" ]] || fail "/docs Content-Type: $(header content-type "$work/h")"
csp=$(header content-security-policy "$work/h")
[[ $csp == *"default-src 'none'"* && $csp == *"script-src 'self';"* ]] || fail "/docs CSP: $csp"
# Every source the policy allows is the gateway itself, data: or blob:: never another host.
sources=$(tr ';' '\n' <<<"$csp" | awk '{ $1 = ""; print }' | tr ' ' '\n' | grep -v '^$' | sort -u | tr '\n' ' ')
[[ $sources == "'none' 'self' 'unsafe-inline' blob: data: " ]] || fail "/docs CSP allows: $sources"
[[ $(header x-content-type-options "$work/h") == nosniff ]] || fail "/docs without nosniff"
bundle=$(grep -o '/docs/redoc-[0-9.]*\.standalone\.js' "$work/index.html") || fail "/docs names no Redoc bundle"
code=$(curl -s -D "$work/h" -o "$work/redoc.js" -w '%{http_code}' "$origin$bundle")
[[ $code == 200 ]] || fail "GET $bundle: $code"
[[ $(header content-type "$work/h") == "text/javascript; charset=utf-8" ]] || fail "$bundle Content-Type"
[[ $(header cache-control "$work/h") == *immutable* ]] || fail "$bundle Cache-Control: $(header cache-control "$work/h")"
size=$(stat -c %s "$work/redoc.js")
((size > 500000)) || fail "$bundle is only $size bytes"
zipped=$(curl -s -D "$work/h" -H 'Accept-Encoding: gzip' "$origin$bundle" | tee "$work/redoc.js.gz" | wc -c)
[[ $(header content-encoding "$work/h") == gzip ]] || fail "$bundle is not gzipped for a client that accepts it"
gunzip -c "$work/redoc.js.gz" | cmp -s - "$work/redoc.js" || fail "$bundle gzipped differs from plain"
pass "/docs: HTML with a strict CSP ($csp); $bundle $size bytes, $zipped gzipped"

# ---- the problem pages ----
index=$(curl -sf -H 'Accept: application/json' "$origin/problems") || fail "GET /problems (JSON)"
kinds=$(jq '.data | length' <<<"$index")
((kinds >= 17)) || fail "/problems lists $kinds types: $index"
curl -sf "$origin/problems" >"$work/problems.html" || fail "GET /problems (HTML)"
for ((i = 0; i < kinds; i++)); do
    entry=$(jq -c ".data[$i]" <<<"$index")
    type=$(jq -r .type <<<"$entry") title=$(jq -r .title <<<"$entry")
    grep -qF "<a href=\"$type\">" "$work/problems.html" || fail "the /problems page does not link $type"
    [[ $(curl -s -D "$work/h" -o "$work/page.html" -w '%{http_code}' "$origin$type") == 200 ]] || fail "GET $type"
    [[ $(header content-type "$work/h") == "text/html; charset=utf-8" ]] || fail "$type Content-Type"
    grep -qF "<h1>$(jq -r .status <<<"$entry") $title</h1>" "$work/page.html" || fail "$type page lacks its title"
    json=$(curl -sf -H 'Accept: application/problem+json' "$origin$type") || fail "GET $type (JSON)"
    [[ $(jq -c . <<<"$json") == "$entry" ]] || fail "$type as JSON: $json, the index says $entry"
done
# The type of a problem the API really answers resolves to its page.
type=$(curl -s "$origin/api/customers" | jq -r .type)
[[ $type == /problems/unauthorized ]] || fail "GET /api/customers without a token: $type"
[[ $(http_status "$origin$type") == 200 ]] || fail "$type does not resolve"
body=$(curl -s -D "$work/h" "$origin/problems/no-such-type")
[[ $(jq -r .status <<<"$body") == 404 && $(header content-type "$work/h") == application/problem+json ]] ||
    fail "unknown problem type: $body"
pass "/problems: $kinds types, each with an HTML and a JSON page; an API problem's type resolves"

# ---- the page in Chromium ----
spec=$(curl -sf "$origin/api/openapi.json") || fail "GET /api/openapi.json"
title=$(jq -r .info.title <<<"$spec")
mapfile -t summaries < <(jq -r '.paths[][] | objects | .summary // empty' <<<"$spec")
((${#summaries[@]} >= 10)) || fail "the document has only ${#summaries[@]} operation summaries"
mkdir -p "$artifacts"
screenshot=$artifacts/docs.png
rm -f "$screenshot"
# The flags the machine needs (no background networking: its connections are refused here); every
# host but 127.0.0.1 unresolvable, so a page that needed a CDN or a web font would not render.
started=$(date +%s%N) status=0
timeout 180 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-features=AutofillServerCommunication --user-data-dir="$work/profile" \
    --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" --log-net-log="$work/net.json" \
    --virtual-time-budget=30000 --window-size=1280,1600 --hide-scrollbars \
    --screenshot="$screenshot" --dump-dom "$origin/docs" >"$work/dom.html" 2>"$work/chromium.log" ||
    status=$?
if ((status != 0)); then
    grep -v dbus "$work/chromium.log" | tail -n 20 >&2
    fail "chromium exited with status $status"
fi
elapsed=$((($(date +%s%N) - started) / 1000000))
if ! grep -q 'id="redoc"[^>]*data-state="rendered"' "$work/dom.html"; then
    grep -o 'data-state="[a-z]*"' "$work/dom.html" >&2 || true
    grep -F 'CONSOLE' "$work/chromium.log" | tail -n 10 >&2 || true
    fail "Redoc did not render /docs (no data-state=\"rendered\"; $(wc -c <"$work/dom.html") bytes of DOM)"
fi
html_text() { sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g' <<<"$1"; }
grep -qF "$(html_text "$title")" "$work/dom.html" || fail "the DOM lacks the title \"$title\""
for summary in "${summaries[@]}"; do
    grep -qF -- "$(html_text "$summary")" "$work/dom.html" || fail "the DOM lacks the operation \"$summary\""
done
grep -q '>Problem types<' "$work/dom.html" || fail "the DOM lacks the Problem types section"
for type in $(jq -r '.data[].type' <<<"$index"); do
    grep -qF "href=\"$type\"" "$work/dom.html" || fail "the DOM does not link $type"
done
pass "Chromium rendered /docs in $elapsed ms: \"$title\", all ${#summaries[@]} operation summaries, $kinds problem types"

# Every request the page itself made (its initiator is the page's origin) went to the gateway.
netlog='.constants.logEventTypes.URL_REQUEST_START_JOB as $start
    | [.events[] | select(.type == $start and .phase == 1 and .params.initiator == $origin)
       | .params.url]'
page_urls=$(jq -c --arg origin "$origin" "$netlog" "$work/net.json") || fail "chromium's network log is not JSON"
for path in "$bundle" /docs/docs.js /api/openapi.json /problems; do
    jq -e --arg url "$origin$path" 'index($url) != null' <<<"$page_urls" >/dev/null ||
        fail "the network log has no request for $path: $page_urls"
done
outside=$(jq -r --arg origin "$origin/" '.[] | select(startswith($origin) | not)' <<<"$page_urls")
[[ -z $outside ]] || fail "the page made requests outside the gateway: $outside"
pass "the page's $(jq length <<<"$page_urls") requests all went to $origin"

[[ $(head -c 8 "$screenshot" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "no PNG screenshot at $screenshot"
pass "screenshot: $screenshot ($(stat -c %s "$screenshot") bytes)"
