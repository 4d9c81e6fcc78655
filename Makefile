# The human entry point. Every target does its own prerequisites, so each works on a fresh clone.
#   make run    the whole stack in the foreground (Ctrl-C stops it)
#   make test   everything installed, built and tested
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export CRM_CACHE ?= $(HOME)/.cache/crm
JOBS := $(shell nproc 2>/dev/null || echo 2)
RELEASE := build/release
ASAN := build/asan
# The libFuzzer harnesses of tests/fuzz, built with clang (README.md, "Fuzzing").
FUZZ := build/fuzz
export FUZZ_SECONDS ?= 300
# The integration tests' own stack: its state and pid files live here (see tests/CMakeLists.txt).
ITEST_VAR := $(ASAN)/itest-var

.PHONY: help deps build build-asan build-fuzz run up down status seed test unit-test fuzz fuzz-api format clean soak memcheck bench

help:
	@echo "make run     start FerretDB, Kafka, the services and the gateway in the foreground"
	@echo "make up      the same, detached; 'make down' stops it; 'make status' shows it"
	@echo "make seed    load sample users, customers and cases into the running stack"
	@echo "make test    install what is missing, build, run every test (with a short run of each fuzzer)"
	@echo "make fuzz    long fuzzer runs: FUZZ_SECONDS=$(FUZZ_SECONDS) per harness, corpus kept in \$$CRM_CACHE"
	@echo "make fuzz-api  schemathesis with many test cases on a stack of its own"
	@echo "make deps    only install dependencies (cached in \$$CRM_CACHE = $(CRM_CACHE))"
	@echo "make format  clang-format every C file"
	@echo "make soak    drill: minutes of mixed load, then 0 errors, 0 records lost, flat memory"
	@echo "make memcheck drill: every executable under valgrind through the Postman collection"
	@echo "make bench   benchmark: each workload against the database floor, nginx and direct"

deps:
	@deploy/local/deps.sh

$(RELEASE)/CMakeCache.txt:
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN)/CMakeCache.txt:
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DCRM_SANITIZE=ON

build: deps $(RELEASE)/CMakeCache.txt
	cmake --build $(RELEASE) -j $(JOBS)

build-asan: deps $(ASAN)/CMakeCache.txt
	cmake --build $(ASAN) -j $(JOBS)

$(FUZZ)/CMakeCache.txt:
	cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCRM_FUZZ=ON

build-fuzz: deps $(FUZZ)/CMakeCache.txt
	cmake --build $(FUZZ) -j $(JOBS) --target crm_fuzzers

fuzz: build-fuzz
	@tests/fuzz/fuzz.sh long $(FUZZ)

run: build
	@deploy/local/stack.sh run

up: build
	@deploy/local/stack.sh up

down:
	@deploy/local/stack.sh down

status:
	@deploy/local/stack.sh status

# Sample data through the public API of the stack that runs (make run / make up); idempotent.
seed:
	@deploy/local/seed.sh

# Every test runs under ASan and UBSan: the unit tests, a short run of each fuzzer (clang's
# libFuzzer with ASan and UBSan), then the integration tests on a stack of their own made of the
# sanitized binaries (its cleanup fails on any sanitizer report in the logs). Whatever happens,
# that stack is stopped afterwards. The release tree is built too, so optimised builds keep
# compiling warning-free.
test: build build-asan build-fuzz
	@status=0; \
	ctest --test-dir $(ASAN) -L unit --output-on-failure -j $(JOBS) || status=1; \
	tests/fuzz/fuzz.sh test $(FUZZ) || status=1; \
	ctest --test-dir $(ASAN) -LE unit --output-on-failure || status=1; \
	if [[ -d $(ITEST_VAR)/run ]]; then CRM_VAR=$(ITEST_VAR) deploy/local/stack.sh down >/dev/null; fi; \
	exit $$status

# Drills: minutes long, on stacks of their own (ports 29xxx), never part of `make test`.
soak: build
	@tests/drills/soak.sh

memcheck: build
	@tests/drills/memcheck.sh

# schemathesis from api/openapi.yaml, SCHEMATHESIS_EXAMPLES (default 500) test cases per
# operation and phase, on a stack of its own that is stopped afterwards (tests/fuzz_api.sh).
fuzz-api: build
	@tests/fuzz_api.sh

# The benchmark (minutes; BENCH_SECONDS per row, BENCH_CONNECTIONS), on a stack of its own (ports
# 26xxx); prints the table and ratios and writes bench/RESULTS.md. Never part of make test.
bench: build
	@bench/bench.sh

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf build
