#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz (built by `make build-fuzz` into build/fuzz/bin).
#
#   fuzz.sh short BINARY NAME DIR  one short run (CTest, label fuzz): FUZZ_SHORT_SECONDS (6) from
#                                  the seed corpus and the regressions, new inputs kept in DIR/NAME
#                                  (under the build tree, never the repository)
#   fuzz.sh test BUILD             `make test`: every short run, two at a time, then the executions
#                                  of each
#   fuzz.sh long BUILD             `make fuzz`: FUZZ_SECONDS (300) per harness, FUZZ_JOBS (2) at a
#                                  time, the corpus kept in $CRM_CACHE/fuzz-corpus/NAME between runs
#
# Any crash, leak, undefined behaviour, timeout or broken invariant fails, naming the input
# libFuzzer saved. Make it a regression: copy it to tests/fuzz/regressions/NAME/ (the replay test
# then runs it in every build) and fix the code.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# libmongoc (linked, never used here) keeps its counters in /dev/shm/mongoc-<pid>, which a
# crashing harness would leave behind for a later process with that pid to trip over.
export MONGOC_DISABLE_SHM=1

# Runs BINARY (harness NAME) for SECONDS with CORPUS as its writable corpus; artifacts and the log
# go to OUT. Prints one line of figures; returns non-zero on any finding.
run() {
    local binary=$1 name=$2 seconds=$3 corpus=$4 out=$5
    local inputs=("$corpus" "$here/corpus/$name") options
    [[ -d $here/regressions/$name ]] && inputs+=("$here/regressions/$name")
    if [[ ! -x $binary ]]; then
        echo "fuzz $name: no harness binary $binary (make build-fuzz builds it with clang)" >&2
        return 1
    fi
    mkdir -p "$corpus" "$out/artifacts"
    options=(-max_total_time="$seconds" -print_final_stats=1 -max_len=4096 -timeout=10
        -rss_limit_mb=2048 -artifact_prefix="$out/artifacts/")
    [[ -f $here/dict/$name.dict ]] && options+=(-dict="$here/dict/$name.dict")
    local before after status executions log=$out/$name.log
    before=$(find "$corpus" -type f | wc -l)
    "$binary" "${options[@]}" "${inputs[@]}" >"$log" 2>&1
    status=$?
    after=$(find "$corpus" -type f | wc -l)
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if ((status != 0)) || [[ -z $executions ]]; then
        echo "fuzz $name: FAILED (libFuzzer status $status); its report ($log):" >&2
        grep -E -A40 'ERROR|runtime error|fuzz: |Test unit written' "$log" | head -60 >&2 ||
            tail -40 "$log" >&2
        for input in "$out"/artifacts/*; do
            [[ -f $input ]] &&
                echo "fuzz $name: input saved as $input: copy it to tests/fuzz/regressions/$name/ and fix" >&2
        done
        return 1
    fi
    printf 'fuzz %-16s %10d executions in %4d s (%6d/s), corpus %d (+%d)\n' "$name" \
        "$executions" "$seconds" $((executions / seconds)) "$after" $((after - before))
}

harnesses() {
    local bin=$1/bin
    compgen -G "$bin/fuzz_*" >/dev/null || {
        echo "fuzz: no harness in $bin (make build-fuzz)" >&2
        return 1
    }
    for binary in "$bin"/fuzz_*; do
        basename "$binary" | sed 's/^fuzz_//'
    done
}

case ${1:-} in
short)
    binary=$2 name=$3 dir=$4
    rm -rf "$dir/$name/artifacts" "$dir/$name.result"
    mkdir -p "$dir" # tee opens its file as the pipeline starts, before run makes the folders
    run "$binary" "$name" "${FUZZ_SHORT_SECONDS:-6}" "$dir/$name/corpus" "$dir/$name" |
        tee "$dir/$name.result"
    ;;
test)
    build=$2
    names=$(harnesses "$build") || exit 1
    status=0
    ctest --test-dir "$build" -L fuzz -j 2 --output-on-failure >"$build/fuzz-short.ctest.log" 2>&1 ||
        status=1
    for name in $names; do
        result=$build/fuzz-short/$name.result
        if [[ -s $result ]]; then
            cat "$result"
        else
            echo "fuzz $name: FAILED" >&2
            status=1
        fi
    done
    ((status == 0)) || {
        cat "$build/fuzz-short.ctest.log" >&2
        echo "fuzz: short runs failed (the CTest log above: $build/fuzz-short.ctest.log)" >&2
    }
    exit $status
    ;;
long)
    build=$2
    names=$(harnesses "$build") || exit 1
    seconds=${FUZZ_SECONDS:-300} jobs=${FUZZ_JOBS:-2}
    cache=${CRM_CACHE:-$HOME/.cache/crm}/fuzz-corpus
    out=$build/fuzz-long
    mkdir -p "$out"
    echo "fuzz: $seconds s per harness, $jobs at a time; corpora in $cache"
    for name in $names; do
        rm -rf "$out/$name/artifacts"
        (run "$build/bin/fuzz_$name" "$name" "$seconds" "$cache/$name" "$out/$name" \
            >"$out/$name.result") &
        while (($(jobs -r | wc -l) >= jobs)); do wait -n; done
    done
    wait
    status=0
    for name in $names; do
        if [[ -s $out/$name.result ]]; then cat "$out/$name.result"; else status=1; fi
    done
    ((status == 0)) || echo "fuzz: a harness failed; its report is above, its log in $out" >&2
    exit $status
    ;;
*)
    sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
esac
