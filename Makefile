# Bureau — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin
DATA      ?= var
# Every Go package of the workspace (go.work): gateway and services/*.
PKGS      := bureau/...
CACHE     ?= $(HOME)/.cache/bureau
WEB_STAMP := web/node_modules/.package-lock.json

.PHONY: help run build web web-deps test test-go test-web test-helm vet fuzz bench bench-gateway bench-chat bench-files bench-meet clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

run: web build ## build everything and start the suite on http://localhost:8080 (embedded defaults, data in ./var)
	@mkdir -p $(DATA)
	@echo "Bureau: http://localhost:8080 — agents: alice.martin@interieur.gouv.fr, bruno.leroy@interieur.gouv.fr, chloe.bernard@finances.gouv.fr, david.petit@partenaire.example"
	./$(BIN)/bureau -data $(DATA)

build: ## build the binaries into bin/ (all-in-one bureau, gateway, chat, files, meet)
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/bureau  ./services/bureau/cmd/bureau
	$(GO) build -o $(BIN)/gateway ./gateway/cmd/gateway
	$(GO) build -o $(BIN)/chat    ./services/chat/cmd/chat
	$(GO) build -o $(BIN)/files   ./services/files/cmd/files
	$(GO) build -o $(BIN)/meet    ./services/meet/cmd/meet

$(WEB_STAMP): web/package-lock.json
	cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

web-deps: $(WEB_STAMP)

web: web-deps ## build the web app into web/dist
	cd web && npm run build --silent

test: ## install the real servers the tests need (as root, idempotent), then run every test
	bash scripts/install-test-deps.sh
	$(MAKE) --no-print-directory web
	$(MAKE) --no-print-directory vet test-web test-helm test-go

vet:
	$(GO) vet $(PKGS)
	$(GO) vet -tags goolm ./services/chat/e2eetest/
	@unformatted=$$(gofmt -l gateway services); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

test-go: ## Go tests with the race detector, against real Redis, PostgreSQL, MinIO, ClamAV, coturn, Chromium
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	# End-to-end encryption with mautrix-go's pure-Go crypto (build tag goolm).
	$(GO) test -race -count=1 -tags goolm ./services/chat/e2eetest/

test-web: web-deps ## web unit tests (vitest) and type check
	cd web && npm run typecheck --silent && npx vitest run

test-helm: ## lint and render the Helm chart, validate manifests and rendered configs offline
	bash scripts/check-helm.sh

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' gateway services | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$t $$f"; (cd $$t && $(GO) test -run XXX -fuzz "^$$f\$$" -fuzztime $${FUZZTIME:-30s} .) || exit 1; \
	  done; done

bench: bench-gateway bench-chat bench-files bench-meet ## every benchmark (prints figures)

bench-gateway: ## proxied req/s and p99: gateway vs direct vs nginx
	bash scripts/bench-gateway.sh

bench-chat: ## chat: 20 agents × 50 msgs in 5 rooms, observer /sync; SQLite then PostgreSQL (prints figures)
	bash scripts/bench-chat.sh

bench-files: ## files: 1 GiB up/down vs raw MinIO, 10 000-file listing, metadata ops/s
	bash scripts/bench-files.sh

bench-meet: ## SFU: 1 simulcast publisher → N subscribers, 5 audio → 50; CPU per stream and per packet, loss, latency
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/meet-load ./services/meet/cmd/meet-load
	./$(BIN)/meet-load -n $${MEET_SUBSCRIBERS:-10,50,100,150,300} -d $${MEET_DURATION:-10s}
	./$(BIN)/meet-load -audio 5 -n 50 -d $${MEET_DURATION:-10s}

clean:
	rm -rf $(BIN) web/dist
