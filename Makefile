# The user-facing commands. The build itself is CMake (CMakeLists.txt).
#   make run     install what is missing, build, serve examples/app on :3000
#   make test    build (plain and ASan+UBSan) and run every test
#   make bench   cairn against nginx, ratios into bench/RESULTS.md
#   make fuzz    run every libFuzzer harness (FUZZ_SECONDS each, default 60)
#   make install PREFIX=/usr/local DESTDIR=
PREFIX ?= /usr/local
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps build build-asan build-fuzz run test bench fuzz install clean

all: build

deps:
	@scripts/deps.sh build

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j$(JOBS)

build-asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCN_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j$(JOBS)

build-fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCN_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j$(JOBS)

run: build
	@build/cairn build examples/app
	@cd examples/app && ../../build/cairn start

test:
	@scripts/deps.sh test
	@$(MAKE) --no-print-directory build build-asan build-fuzz
	@tests/run.sh

bench:
	@scripts/deps.sh bench
	@$(MAKE) --no-print-directory build
	@bench/run.sh

fuzz: build-fuzz
	@fuzz/run.sh $(FUZZ_SECONDS)

install: build
	@DESTDIR=$(DESTDIR) cmake --install build --prefix $(PREFIX) >/dev/null
	@echo "installed into $(DESTDIR)$(PREFIX)"

clean:
	rm -rf build build-asan build-fuzz
