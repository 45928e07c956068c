# Rune: the two entry points are `make demo` (a container through rune-run) and `make test`
# (everything CI runs). Both install what they need first.

CARGO ?= cargo
RUNE_RUN := target/release/rune-run
RUNE_SHIM := target/release/rune-shim

.PHONY: all deps build demo install lint test test-unit test-e2e test-riscv bench clean

PREFIX ?= /usr/local

all: build

deps:
	bash hack/install-deps.sh

build: deps
	$(CARGO) build --release --workspace --bins

demo: build
	bash hack/demo.sh $(RUNE_RUN)

install: build
	bash hack/install.sh $(PREFIX)

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-unit: deps
	$(CARGO) test --workspace --exclude rune-integration

# The end-to-end tests need root, runc and the release binary; they are #[ignore]d in a plain
# `cargo test` and run here.
test-e2e: build
	RUNE_RUN=$(CURDIR)/$(RUNE_RUN) RUNE_SHIM=$(CURDIR)/$(RUNE_SHIM) $(CARGO) test --no-fail-fast -p rune-integration --tests -- --include-ignored

# The riscv64 guest under QEMU: /dev/rune's tests (hack/riscv/test builds what it needs,
# cached under ~/.cache/rune/riscv; a fresh machine spends about 5 minutes on the kernel).
test-riscv:
	bash hack/riscv/test

test: build lint test-unit test-e2e test-riscv

bench: build
	bash hack/bench/run-true.sh
	bash hack/bench/clients.sh
	bash hack/bench/shim.sh
	bash hack/bench/vsmode.sh

clean:
	$(CARGO) clean
