# Rune: the two entry points are `make demo` (a container through rune-run) and `make test`
# (everything CI runs). Both install what they need first.

CARGO ?= cargo
RUNE_RUN := target/release/rune-run
RUNE_SHIM := target/release/rune-shim

.PHONY: all deps deps-build deps-e2e build demo install lint test test-unit test-e2e test-riscv bench clean

PREFIX ?= /usr/local

all: build

deps: deps-build deps-e2e

# What building and unit tests need; as a normal user this only checks (and names what is missing).
deps-build:
	bash hack/install-deps.sh build

# The peers, clients and daemons of the end-to-end tests (installs as root).
deps-e2e:
	bash hack/install-deps.sh e2e

build: deps-build
	$(CARGO) build --release --workspace --bins

demo: build deps-e2e
	bash hack/demo.sh $(RUNE_RUN)

install: build
	bash hack/install.sh $(PREFIX)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-unit: deps-build
	$(CARGO) test --workspace --exclude rune-integration

# The end-to-end tests need root, the clients and the release binary; they are #[ignore]d in a
# plain `cargo test` and run here, each file between two snapshots of the host (host-guard).
test-e2e: build deps-e2e
	RUNE_RUN=$(CURDIR)/$(RUNE_RUN) RUNE_SHIM=$(CURDIR)/$(RUNE_SHIM) bash hack/test-e2e.sh

# The riscv64 guest under QEMU: /dev/rune's tests (hack/riscv/test builds what it needs,
# cached under ~/.cache/rune/riscv; a fresh machine spends about 5 minutes on the kernel).
test-riscv:
	bash hack/riscv/test

test: build lint test-unit test-e2e test-riscv

bench: build deps-e2e
	bash hack/bench/run-true.sh
	bash hack/bench/clients.sh
	bash hack/bench/shim.sh
	bash hack/bench/vsmode.sh

clean:
	$(CARGO) clean
