# What a person types: make run, make test, make bench, make fuzz.
# Each target installs what is missing first (scripts/install-deps), so they
# work on a fresh Debian 12 machine. The build itself is CMake in build/.

BUILD_DIR := build
# scripts/test-all configures build/ with the same flags; keep them in step so
# the two never force each other to rebuild everything.
CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g" \
	-DHUBBUB_WERROR=ON

RUN_ARGS ?=
# Passed through to bench/run and scripts/fuzz-all, only when given.
ifdef QUICK
export QUICK
endif
ifdef FUZZ_SECONDS
export FUZZ_SECONDS
endif

.PHONY: all build deps run test bench fuzz clean

all: build

deps:
	@scripts/install-deps

build: deps
	CC=gcc cmake --log-level=WARNING -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j2

run: build
	@if [ ! -x $(BUILD_DIR)/hubbub ]; then \
	  echo "make run: $(BUILD_DIR)/hubbub was not built (no src/cli yet?)" >&2; exit 1; fi
	@echo "make run: the demo chat is at http://127.0.0.1:3000/ (Ctrl-C stops it)"
	@exec $(BUILD_DIR)/hubbub --listen 127.0.0.1:3000 --app demo $(RUN_ARGS)

test: deps
	@scripts/test-all

# Benchmarks measure a Release build of their own, in build-bench/.
bench: deps
	CC=gcc cmake --log-level=WARNING -S . -B build-bench -DCMAKE_BUILD_TYPE=Release
	cmake --build build-bench -j2
	@HUBBUB_BIN=build-bench/hubbub exec bench/run

fuzz: deps
	@scripts/fuzz-all

clean:
	rm -rf $(BUILD_DIR) build-asan build-fuzz build-bench
