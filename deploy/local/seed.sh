#!/usr/bin/env bash
# make seed: loads a realistic sample dataset into a running stack through its public API, so that
# lists, filters and pagination can be tried at once: 6 agents and a viewer, 300 customers and 500
# cases across every status, priority, tag and agent (word lists in seed-data.json; the same data
# on every run, as it is derived from the record's number).
#   deploy/local/seed.sh            load into the stack of this checkout (ports from .env / CRM_*)
#   deploy/local/seed.sh --dataset  print the dataset as JSON lines and touch nothing
# Idempotent: seeded customers carry the tag `seed` and are known by their email, cases by their
# title, users by their name; whatever exists already is skipped. It copes with the gateway's
# default rate limits: a 429 waits the Retry-After it gives (per user, so the work is spread over
# the seeded agents' logins). SEED_PARALLEL (default 4) requests are in flight at once;
# SEED_CUSTOMERS and SEED_CASES make a smaller (or larger) dataset, the first records of the full one.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
started=$(date +%s%N)
say() { printf 'seed: %s\n' "$*"; }
fail() { printf 'seed: %s\n' "$*" >&2; exit 1; }
for tool in curl jq openssl xargs; do
    command -v "$tool" >/dev/null || fail "$tool is missing: run 'make deps'"
done

# ---- the dataset ----------------------------------------------------------------------------
# Every choice is a function of the record's number (a hash of it), so two runs make the same
# records and the second finds them all.
dataset() {
    [[ ${SEED_CUSTOMERS:-1}${SEED_CASES:-1} =~ ^[0-9]+$ ]] || fail "SEED_CUSTOMERS and SEED_CASES are counts"
    jq -c -n --slurpfile d "$here/seed-data.json" --argjson customers "${SEED_CUSTOMERS:-null}" \
        --argjson cases "${SEED_CASES:-null}" '
    $d[0] as $d | ($customers // $d.customers) as $n_customers | ($cases // $d.cases) as $n_cases
    | def mix: (. * . + 12345) % 67108859; # squaring modulo the prime 2^26 - 5: exact in a double
      def rnd($i; $salt): ((($i + 1) * 7919 + ($salt + 1) * 104729) % 67108859 | mix | mix | mix) / 67108859;
      def pick($list; $i; $salt): $list[(rnd($i; $salt) * ($list | length)) | floor];
      def weighted($pairs; $i; $salt):
        (rnd($i; $salt) * ($pairs | map(.[1]) | add)) as $r
        | first(foreach $pairs[] as $p (0; . + $p[1]; if . > $r then $p[0] else empty end));
      def digits($i; $salt; $n): (rnd($i; $salt) * pow(10; $n) | floor | tostring) as $s
        | ("0" * ($n - ($s | length))) + $s;
      def fold: ascii_downcase | gsub("ü"; "ue") | gsub("ö"; "oe") | gsub("ä"; "ae")
        | gsub("ø"; "o") | gsub("[éèê]"; "e") | gsub("[áã]"; "a") | gsub("ç"; "c");
      def fill($ref): gsub("\\{ref\\}"; $ref);
      ($d.users | map(select(.role == "agent") | .username)) as $agents
    | ($d.company_words | length) as $nw
    | [range(0; $n_customers) as $i
        | ($i % $nw) as $w
        | (((($i / $nw) | floor) + 7 * $w) % ($d.company_trades | length)) as $t
        | "\($d.company_words[$w]) \($d.company_trades[$t])" as $base
        | pick($d.places; $i; 3) as $place
        | "\(pick($d.first_names; $i; 1)).\(pick($d.last_names; $i; 2))" as $person
        | ($person | fold | gsub("[^a-z.]"; "")) as $local
        | ($base | fold | gsub("[^a-z0-9]+"; "-")) as $domain
        | ([range(0; rnd($i; 9) * 4 | floor) as $k | pick($d.tags; $i; 10 + $k)] | unique) as $tags
        | {kind: "customer", key: "\($local)@\($domain).example",
           creator: (if rnd($i; 11) < 0.3 then "admin" else pick($agents; $i; 12) end),
           body: {name: "\($base) \(pick($d.legal_forms; $i; 4))",
                  status: weighted($d.customer_statuses; $i; 5),
                  tags: (["seed"] + $tags),
                  contact_info: {
                    email: "\($local)@\($domain).example",
                    phone: (if rnd($i; 6) < 0.12 then null
                            elif ($place.phone | endswith("555-")) then $place.phone + "01" + digits($i; 7; 2)
                            else $place.phone + digits($i; 7; 3) + " " + digits($i; 8; 4) end),
                    address: (if rnd($i; 13) < 0.2 then null
                              else "\(1 + (rnd($i; 14) * 180 | floor)) \(pick($place.streets; $i; 15)), \($place.city_line), \($place.country)" end)}}}
      ] as $customers
    | ($d.users[] | {kind: "user", key: .username, body: .}),
      $customers[],
      (range(0; $n_cases) as $i
        | pick($d.case_templates; $i; 20) as $template
        | (10000 + $i * 173 + (rnd($i; 21) * 100 | floor) | tostring) as $ref
        # A few customers have many cases, most have one or two.
        | (if rnd($i; 22) < 0.35 then ($i * 7) % 25 else (rnd($i; 23) * $n_customers | floor) end) as $c
        | weighted($d.case_statuses; $i; 24) as $status
        | (if ($status == "new" and rnd($i; 25) < 0.6) or rnd($i; 26) < 0.05 then null
           else pick($agents; $i; 27) end) as $assignee
        | {kind: "case", key: ($template.title | fill($ref)), customer: $customers[$c].key,
           assignee: $assignee,
           creator: (if $assignee != null and rnd($i; 28) < 0.7 then $assignee
                     elif rnd($i; 29) < 0.5 then "admin" else pick($agents; $i; 30) end),
           body: {title: ($template.title | fill($ref)), description: ($template.description | fill($ref)),
                  priority: weighted($d.case_priorities; $i; 31), status: $status}})'
}

if [[ ${1:-} == --dataset ]]; then
    dataset
    exit 0
fi
[[ $# == 0 ]] || fail "usage: $0 [--dataset]"

# ---- the stack ------------------------------------------------------------------------------
. "$here/env.sh"
base=http://127.0.0.1:$CRM_GATEWAY_PORT
curl -fsS -o /dev/null --max-time 5 "$base/readyz" 2>/dev/null ||
    fail "no stack answers at $base: start one with 'make up' (or 'make run' in another terminal); CRM_GATEWAY_PORT and .env say where it is"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tokens" "$work/io"
export base work
admin=$CRM_BOOTSTRAP_ADMIN_USERNAME

# call METHOD PATH USER [BODY]: one request as USER (its token in $work/tokens), repeated politely:
# after a 429 it waits the Retry-After seconds, after a 502 or 503 or a refused connection (nothing
# was done) one second; at most 60 tries. A timeout is not retried (a create may have happened):
# running the seed again picks up from there. Sets STATUS and BODY.
call() {
    local method=$1 path=$2 user=$3 body=${4:-} try rc wait
    local io=$work/io/$BASHPID
    local -a args=(-s -X "$method" --max-time 30 -D "$io.h" -o "$io.b" -w '%{http_code}'
        -H 'Content-Type: application/json')
    [[ -f $work/tokens/$user ]] && args+=(-H "Authorization: Bearer $(<"$work/tokens/$user")")
    [[ -n $body ]] && args+=(--data-binary "$body")
    for ((try = 1; try <= 60; try++)); do
        rc=0
        STATUS=$(curl "${args[@]}" "$base$path") || rc=$?
        BODY=$(cat "$io.b" 2>/dev/null || true)
        if [[ $STATUS == 429 ]]; then
            wait=$(grep -i '^retry-after:' "$io.h" | tr -dc '0-9')
            echo "$path" >>"$work/throttled"
            sleep "${wait:-1}.$((RANDOM % 10))"
        elif [[ $STATUS == 502 || $STATUS == 503 || $rc == 7 ]]; then
            sleep 1
        else
            break
        fi
    done
    ((rc == 0 || rc == 7)) || { echo "seed: $method $path: curl failed ($rc); run the seed again" >&2; return 1; }
}

# walk PATH USER: every item of a list, following next_cursor, one JSON line each.
walk() {
    local path=$1 user=$2 cursor=
    while :; do
        call GET "$path${cursor:+&cursor=$cursor}" "$user"
        [[ $STATUS == 200 ]] || fail "GET $path answered $STATUS: $BODY"
        jq -c '.data[]' <<<"$BODY"
        cursor=$(jq -r '.next_cursor // empty | @uri' <<<"$BODY")
        [[ -n $cursor ]] || break
    done
}

login() {
    local user=$1 password=$2
    call POST /api/auth/login none "$(jq -nc --arg u "$user" --arg p "$password" '{username: $u, password: $p}')"
    [[ $STATUS == 200 ]] || return 1
    (umask 077 && jq -r .access_token <<<"$BODY" >"$work/tokens/$user")
}

# create LINE: one POST from a "key<TAB>user<TAB>path<TAB>body" line; prints "key<TAB>id".
create() {
    local key user path body
    IFS=$'\t' read -r key user path body <<<"$1"
    call POST "$path" "$user" "$body" || return 1
    if [[ $STATUS != 201 ]]; then
        echo "seed: POST $path for $key answered $STATUS: $BODY" >&2
        return 1
    fi
    [[ $BODY =~ \"id\":\"([0-9a-f]{24})\" ]] || { echo "seed: no id in $BODY" >&2; return 1; }
    printf '%s\t%s\n' "$key" "${BASH_REMATCH[1]}"
}
export -f call create

# create_all FILE WHAT: the lines of FILE through `create`, SEED_PARALLEL workers at a time, each
# taking 20 lines (one bash per 20 records, not per record).
create_all() {
    local phase_started=$(date +%s%N) lines
    lines=$(grep -c . "$1" || true)
    ((lines > 0)) || return 0
    xargs -d '\n' -n 20 -P "${SEED_PARALLEL:-4}" bash -c \
        'status=0; for line; do create "$line" || status=1; done; exit $status' _ <"$1" ||
        fail "some records could not be created (above); what was created stays, so run the seed again"
    say "$2: $lines created in $((($(date +%s%N) - phase_started) / 1000000)) ms" >&2
}

dataset >"$work/dataset"
login "$admin" "$CRM_BOOTSTRAP_ADMIN_PASSWORD" || fail "the admin '$admin' cannot log in ($STATUS): is $base the stack of this checkout's $CRM_VAR?"

# ---- users ----------------------------------------------------------------------------------
password_file=$CRM_VAR/seed-password
if [[ ! -s $password_file ]]; then
    (umask 077 && openssl rand -base64 12 | tr -d '\n' >"$password_file")
fi
password=$(<"$password_file")
# The lists below are TSV files (key, id); `table` makes one a jq object, once per jq run (-n).
tables='def table($text): reduce ($text | split("\n")[] | select(. != "") | split("\t")) as $row
    ({}; .[$row[0]] = ($row[1] // true));'
walk "/api/users?limit=100" "$admin" | jq -r '[.username, .id] | @tsv' >"$work/users"
jq -nr --rawfile have "$work/users" --arg admin "$admin" --arg password "$password" "$tables"'
    table($have) as $have
    | inputs | select(.kind == "user" and $have[.key] == null)
    | [.key, $admin, "/api/auth/register", (.body + {password: $password} | tojson)] | @tsv' \
    "$work/dataset" >"$work/users.todo"
create_all "$work/users.todo" users >>"$work/users"
users_new=$(grep -c . "$work/users.todo" || true)

# ---- customers ------------------------------------------------------------------------------
walk "/api/customers?tag=seed&limit=100" "$admin" | jq -r '[.contact_info.email // "", .id] | @tsv' >"$work/customers"
jq -nr --rawfile have "$work/customers" "$tables"'
    table($have) as $have
    | inputs | select(.kind == "customer" and $have[.key] == null)
    | [.key, .creator, "/api/customers", (.body | tojson)] | @tsv' "$work/dataset" >"$work/customers.todo"

# ---- cases (known by title among all cases) ------------------------------------------------------
walk "/api/cases?limit=100" "$admin" | jq -r .title >"$work/cases"
jq -nr --rawfile have "$work/cases" "$tables"'
    table($have) as $have | inputs | select(.kind == "case" and $have[.key] == null) | .key' \
    "$work/dataset" >"$work/cases.missing"

# The agents log in only when there is something for them to create; one who cannot (a seed
# password lost, an account disabled) leaves its share to the admin.
need_agents=$( (cut -f2 "$work/customers.todo"
    jq -nr --rawfile missing "$work/cases.missing" "$tables"'
        table($missing) as $missing | inputs | select(.kind == "case" and $missing[.key]) | .creator' \
        "$work/dataset") | sort -u | grep -vx "$admin" || true)
for agent in $need_agents; do
    login "$agent" "$password" || say "cannot log in as $agent ($STATUS): the admin creates its records"
done
for agent in $need_agents; do
    [[ -f $work/tokens/$agent ]] || sed -i "s/\t$agent\t/\t$admin\t/" "$work/customers.todo"
done

create_all "$work/customers.todo" customers >>"$work/customers"
customers_new=$(grep -c . "$work/customers.todo" || true)

jq -nr --rawfile customers "$work/customers" --rawfile users "$work/users" \
    --rawfile missing "$work/cases.missing" --arg admin "$admin" \
    --arg tokens "$(ls "$work/tokens")" "$tables"'
    table($customers) as $customer_ids | table($users) as $user_ids | table($missing) as $missing
    | table($tokens) as $logged_in
    | inputs | select(.kind == "case" and $missing[.key])
    | if $customer_ids[.customer] == null then
        ["SKIP", "seed: skipping \"\(.key)\": its customer \(.customer) has no `seed` tag any more"] | @tsv
      else
        [.key, (if $logged_in[.creator] then .creator else $admin end), "/api/cases",
         (.body + {customer_id: $customer_ids[.customer],
                   assigned_to: (if .assignee then $user_ids[.assignee] else null end)} | tojson)]
        | @tsv
      end' "$work/dataset" >"$work/cases.all"
grep '^SKIP' "$work/cases.all" | cut -f2- >&2 || true
grep -v '^SKIP' "$work/cases.all" >"$work/cases.todo" || true
create_all "$work/cases.todo" cases >/dev/null
cases_new=$(grep -c . "$work/cases.todo" || true)

# ---- summary --------------------------------------------------------------------------------
count() { jq -c "select(.kind == \"$1\")" "$work/dataset" | wc -l; }
elapsed=$((($(date +%s%N) - started) / 1000000))
throttled=0
[[ -f $work/throttled ]] && throttled=$(wc -l <"$work/throttled")
say "done in $((elapsed / 1000)).$((elapsed % 1000 / 100)) s at $base: $(count user) users ($users_new new), $(count customer) customers ($customers_new new), $(count case) cases ($cases_new new); $throttled waits for the rate limit (429)"
cat <<TEXT

  The seeded customers have the tag \`seed\`. Agents: $(jq -r 'select(.kind == "user" and .body.role == "agent") | .key' "$work/dataset" | tr '\n' ' ')
  and the viewer sam.viewer log in with the password in $password_file. Try, with the
  TOKEN from the banner of 'make run':
    curl -s '$base/api/customers?tag=seed&status=active&sort=name&limit=5' -H "Authorization: Bearer \$TOKEN"
    curl -s '$base/api/cases?priority=urgent,high&status=open&limit=5' -H "Authorization: Bearer \$TOKEN"

TEXT
