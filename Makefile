# Thin wrapper over CMake: `make demo` and `make test` work on a fresh
# Debian 12 machine (the setup step installs what is missing).
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
JOBS ?= $(shell nproc)

.PHONY: all setup build demo test test-sanitize bench course clean

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

# The course scripts run under the sanitizers: three cheap ones (the Release
# suite runs them all).
SANITIZE_COURSE = dropout_arithmetic|gradient_descent_1d|activations

# The whole course, every verdict and picture, into out/course/REPORT.md.
course: build
	$(BUILD)/nnlua scripts/course/run.lua --out out/course

BENCHES = matmul elementwise overhead mlp_step cnn_step mlp_epoch cnn_epoch mlp_replay sort conv_variants knn models distributed

bench: build
	@bash scripts/setup.sh --bench
	@for b in $(BENCHES); do echo "== bench/$$b.lua"; $(BUILD)/nnlua bench/$$b.lua || exit 1; done

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD)
