# gpuscale front door. Each target installs missing Debian packages first (scripts/deps.sh).
#   make demo   release build, then `gpuscale simulate` on the bundled default scenario
#   make test   ASan+UBSan debug build (leak checks on), then the whole CTest suite
#   make bench  release build, then every benchmark in bench/
#   make image  release build, then its OCI image without a daemon (build/image/: OCI layout + tarball)
#   make fuzz   clang libFuzzer build, each harness for FUZZ_SECONDS on its seed corpus
#   make clean  remove build directories

BUILD_DEBUG   ?= build/debug
BUILD_RELEASE ?= build/release
BUILD_FUZZ    ?= build/fuzz
FUZZ_SECONDS  ?= 30
JOBS          ?= $(shell nproc 2>/dev/null || echo 2)
CC_DEBUG      ?= gcc

.PHONY: all deps debug release demo test bench fuzz clean clang kube-env image

all: release

deps:
	@bash scripts/deps.sh

$(BUILD_DEBUG)/build.ninja: | deps
	CC=$(CC_DEBUG) cmake -S . -B $(BUILD_DEBUG) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGS_SANITIZE=ON

$(BUILD_RELEASE)/build.ninja: | deps
	cmake -S . -B $(BUILD_RELEASE) -G Ninja -DCMAKE_BUILD_TYPE=Release

debug: $(BUILD_DEBUG)/build.ninja
	cmake --build $(BUILD_DEBUG) -j $(JOBS)

release: $(BUILD_RELEASE)/build.ninja
	cmake --build $(BUILD_RELEASE) -j $(JOBS)

demo: release
	$(BUILD_RELEASE)/gpuscale simulate

# The suite runs on the gcc ASan+UBSan build; the same tree must also compile warning-free
# under clang 14 (-Werror), checked first so a clang-only warning fails `make test` too.
test: clang release debug kube-env
	cd $(BUILD_DEBUG) && ctest --output-on-failure -j $(JOBS)

# The container image of the release build (scripts/build-image.sh; docs/deploy.md "The image"):
# $(IMAGE_OUT)/oci/ (OCI image layout) and $(IMAGE_OUT)/gpuscale-VERSION.tar (docker/podman load).
IMAGE_OUT    ?= build/image
IMAGE_NAME   ?= gpuscale
IMAGE_SOURCE ?=
image: release
	bash scripts/build-image.sh --binary $(BUILD_RELEASE)/gpuscale --out $(IMAGE_OUT) --name $(IMAGE_NAME) \
	  $(if $(IMAGE_SOURCE),--source $(IMAGE_SOURCE))

bench: release
	@set -e; for b in $(BUILD_RELEASE)/bench/bench_*; do \
	  [ -x "$$b" ] || continue; echo "== $$(basename $$b)"; "$$b"; done

fuzz: | deps
	CC=clang-14 cmake -S . -B $(BUILD_FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGS_FUZZ=ON
	cmake --build $(BUILD_FUZZ) -j $(JOBS)
	@set -e; for f in $(BUILD_FUZZ)/fuzz/fuzz_*; do \
	  [ -x "$$f" ] || continue; n=$$(basename $$f); c=fuzz/corpus/$${n#fuzz_}; \
	  mkdir -p $(BUILD_FUZZ)/corpus/$${n#fuzz_}; \
	  echo "== $$n for $(FUZZ_SECONDS)s"; \
	  "$$f" -max_total_time=$(FUZZ_SECONDS) $(BUILD_FUZZ)/corpus/$${n#fuzz_} $$c; done

# The Kubernetes v1.20.2 control plane the end-to-end tests run (built once from Debian's
# source package and cached outside the repo: scripts/kube-testenv.sh). Built here, before
# ctest, so the one-time build (minutes) does not count against a test's timeout. If it cannot
# be built, the tests that need it say why and are reported as skipped.
kube-env: | deps
	@bash scripts/kube-testenv.sh build || echo "make: the Kubernetes control plane could not be built; its tests will be skipped" >&2

# The same warning set under clang 14 with -Werror.
clang: | deps
	@[ -f build/clang/build.ninja ] || CC=clang-14 cmake -S . -B build/clang -G Ninja -DCMAKE_BUILD_TYPE=Debug
	cmake --build build/clang -j $(JOBS)

clean:
	rm -rf build
