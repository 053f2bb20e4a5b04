# profbench — the front doors. `make run` measures, `make test` checks.
# Everything a fresh machine needs beyond the Rust toolchain is installed
# by the targets that need it.

CARGO    ?= cargo
MATRIX   ?= default
OUT      ?= results/latest
BIN      := $(or $(CARGO_TARGET_DIR),target)/release/profbench

.PHONY: all build run quick test stress lint fmt bench gate baseline gate-false-alarms clean plots html-check

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

## Regenerate the report and charts of every committed run under results/
## (run.json, or run.json.gz for the large published ones; results/latest/
## is scratch and skipped). `profbench report` writes
## report.md, report.html and plots/*.svg|png next to each run.json.
plots: build
	@set -e; runs=$$(find results \( -name run.json -o -name run.json.gz \) -not -path 'results/latest/*' 2>/dev/null | sort); \
	if [ -z "$$runs" ]; then echo "no committed runs under results/"; exit 0; fi; \
	for run in $$runs; do echo "== $$run"; $(BIN) report "$$run"; done

## Screenshot an HTML report in headless Chromium (Debian's chromium,
## installed if missing) to check it renders: HTML=path/to/report.html,
## the picture goes to $(SHOT).
HTML ?= results/published/2-core/report.html
SHOT ?= target/html-check.png
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
html-check:
	@test -f "$(HTML)" || { echo "no $(HTML): run make plots first"; exit 2; }
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }
	@mkdir -p $(dir $(SHOT))
	@profile=$$(mktemp -d); \
	chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir=$$profile --hide-scrollbars --window-size=1400,3000 \
		--screenshot=$(abspath $(SHOT)) file://$(abspath $(HTML)) 2>/dev/null; \
	status=$$?; rm -rf $$profile; test $$status = 0 && echo "screenshot: $(SHOT)"

## The regression gate: the quick matrix, held against results/gate.toml
## and results/baseline.json. Exit 1 names the failed rules and cells.
GATE_OUT ?= results/latest/gate
gate: build
	$(BIN) run --matrix quick --out $(GATE_OUT)
	$(BIN) gate $(GATE_OUT)/run.json

## Record a new gate baseline on this machine; commit results/baseline.json.
baseline: build
	$(BIN) run --matrix quick --out results/latest/baseline
	cp results/latest/baseline/run.json results/baseline.json

## The gate's false alarms: N gate runs on the unchanged tree (N=20: ~30 min).
N ?= 20
gate-false-alarms: build
	scripts/gate-false-alarms.sh $(N)

## What the sampler costs (criterion) and how right it is (the quick matrix).
bench:
	$(CARGO) bench --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
