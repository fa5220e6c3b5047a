# Thin wrapper over CMake: `make demo` and `make test` work on a fresh
# Debian 12 machine (the setup step installs what is missing).
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
JOBS ?= $(shell nproc)

.PHONY: all setup build demo test test-sanitize fuzz fuzz-ci bench soak course clean

all: build

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/nnlua scripts/tour.lua
	$(BUILD)/nnlua scripts/fashion_mnist.lua --out out

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-sanitize: setup
	@cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=Debug -DNNLUA_SANITIZE=ON >/dev/null
	@cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && ctest --output-on-failure -j $(JOBS) -LE course
	cd $(SANITIZE_BUILD) && ctest --output-on-failure -j $(JOBS) -R '^course/($(SANITIZE_COURSE))$$'

# libFuzzer targets of every reader (tests/fuzz/README.md), built with
# clang in $(FUZZ_BUILD): fuzz runs each FUZZ_SECONDS or FUZZ_RUNS
# executions (-1: no limit), whichever comes first; fuzz-ci replays the
# committed corpus and regressions, then each 30 s with -seed=1.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?= -1

fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) JOBS=$(JOBS) bash tests/fuzz/run.sh long $(FUZZ_BUILD)

fuzz-ci: setup
	JOBS=$(JOBS) bash tests/fuzz/run.sh ci $(FUZZ_BUILD)

# The course scripts run under the sanitizers: three cheap ones (the Release
# suite runs them all).
SANITIZE_COURSE = dropout_arithmetic|gradient_descent_1d|activations

# The whole course, every verdict and picture, into out/course/REPORT.md.
course: build
	$(BUILD)/nnlua scripts/course/run.lua --out out/course

# Every benchmark (NAME:T: with --threads T; NAME,OPT=V: with --OPT V),
# about 16 minutes on 2 quiet cores; bench/report.lua writes what they
# measured to bench/RESULTS.md and its summary into README.md.
BENCHES = matmul matmul:2 elementwise overhead mlp_step cnn_step,reps=1 mlp_epoch cnn_epoch mlp_replay \
          sort conv_variants conv_variants:2 knn models distributed

bench: build
	@bash scripts/setup.sh --bench
	@$(BUILD)/nnlua bench/report.lua --out bench/RESULTS.md --readme README.md $(BENCHES)

# Issue 16: 20 epochs of the MLP; the engine's live bytes and the RSS must
# not grow after the first (minutes long, so not in BENCHES).
soak: build
	$(BUILD)/nnlua bench/soak.lua

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD) $(FUZZ_BUILD)
