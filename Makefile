# profbench — the front doors. `make run` measures, `make test` checks.
# Everything a fresh machine needs beyond the Rust toolchain is installed
# by the targets that need it.

CARGO    ?= cargo
MATRIX   ?= default
OUT      ?= results/latest
BIN      := target/release/profbench

.PHONY: all build run quick test stress lint fmt bench clean

all: build

build:
	$(CARGO) build --release --locked

## Run the default matrix (or MATRIX=quick|full|FILE.toml); results in $(OUT).
run: build
	$(BIN) run --matrix $(MATRIX) --out $(OUT)

## The one-minute matrix.
quick: build
	$(BIN) run --matrix quick --out $(OUT)

## Unit and integration tests. Sampler tests need a process each (one
## SIGPROF disposition per process): nextest gives them that; without it,
## one test thread at a time.
test:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --workspace --locked --no-fail-fast; \
	else \
		$(CARGO) test --workspace --locked -- --test-threads=1; \
	fi
	$(CARGO) test --workspace --locked --doc

## The stress test alone, with its figures (threads churned, signals, allocations in the handler).
stress:
	$(CARGO) test --release --locked -p harness --test stress -- --nocapture --test-threads=1

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
