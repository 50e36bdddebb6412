# The two commands of the README:
#   make demo   sample data loaded into the embedded ClickHouse, dashboards served
#   make test   the whole test suite against real ClickHouse, SMTP and Chromium
export PATH := /usr/local/go/bin:$(PATH)
ADDR ?= 127.0.0.1:8080
GO ?= go

.PHONY: deps build demo test fuzz bench bench-large clean

deps:
	@deploy/install-deps.sh

build:
	$(GO) build -o bin/pipelens ./cmd/pipelens

demo: deps build
	bin/pipelens demo --addr $(ADDR)

test: deps
	$(GO) vet ./...
	$(MAKE) fuzz
	$(GO) test -count=1 -p 1 -timeout 40m $$($(GO) list ./... | grep -v '/parity$$')
	# The same answers on 18.16 and current ClickHouse (chDB): -v prints how many
	# statements and answers it compared.
	$(GO) test -count=1 -v -timeout 20m ./parity
	# The packages that run goroutines (the load pipeline, heartbeat, uploads,
	# lease, the embedded server's lifecycle, shared page computations, session
	# revocations, the alert schedule and outbox): once more under the race
	# detector. -short skips only the planted-anomaly sweeps (11 samples, 84
	# days of single-goroutine evaluation each), which the run above made.
	$(GO) test -race -short -count=1 -p 1 -timeout 30m ./ingest ./schemas ./dashboards ./alerts

# Each fuzz target for a fixed number of inputs (go test allows one -fuzz target per
# run; a count, not a duration: a duration can end in a spurious "context deadline
# exceeded" failure).
FUZZ_TIME ?= 20000x
fuzz:
	@set -e; grep -rlE '^func Fuzz' --include='*_test.go' . | while read -r file; do \
	  pkg=$$(dirname $$file); \
	  for f in $$(grep -oE '^func Fuzz[A-Za-z0-9_]+' $$file | cut -d' ' -f2); do \
	    echo "fuzz $$pkg $$f ($(FUZZ_TIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZ_TIME) $$pkg > /tmp/pipelens-fuzz.log 2>&1 || { cat /tmp/pipelens-fuzz.log; exit 1; }; \
	  done; \
	done

bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

clean:
	rm -rf bin .pipelens
