# Atoll top-level Makefile: thin wrapper over CMake.
#   make deps   install Debian packages (apt-get; safe to re-run)
#   make build  normal build, programs in build/bin/
#   make asan   AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   make test   deps + both builds + the whole CTest suite under both
#   make demo   deps + build + the end-to-end demo
#   make bench  benchmarks (bench/), ratios printed
#   make fuzz   libFuzzer targets with clang in build-fuzz/
#   make clean
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=
TEE        ?= sim

.PHONY: all deps build asan test test-build test-asan demo bench fuzz clean

all: build

deps:
	@bash scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DATL_SANITIZE=ON

asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

test-build: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

test-asan: asan
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

test: deps
	$(MAKE) test-build
	$(MAKE) test-asan

demo: deps build
	@TEE=$(TEE) bash scripts/demo.sh $(BUILD)

bench: deps build
	@bash bench/run.sh $(BUILD)

$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DATL_FUZZ=ON

fuzz: deps $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@echo "libFuzzer binaries are in $(FUZZ_BUILD)/fuzz/; run e.g. $(FUZZ_BUILD)/fuzz/envelope_fuzz fuzz/corpus/envelope"

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
