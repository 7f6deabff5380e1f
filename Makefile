# estat-aws-mcp developer entry points. Every target creates/updates its own
# virtual environment from pinned versions, so a fresh clone needs nothing
# installed by hand besides python3 (3.11+).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8080
PYTEST_ARGS ?=
# make test runs the suite on this many pytest-xdist workers (tests/conftest.py says how it groups them).
PYTEST_WORKERS ?= 2

.PHONY: install run stdio test lint format bench charts clean e2e-tools e2e-rie e2e-oidc e2e-conformance test-prerequisites scan deploy destroy

# checkov pins conflict with ours: it lives in its own venv, at a pinned version.
SCAN_VENV     := .venv-scan
SCAN_STAMP    := $(SCAN_VENV)/.installed-stamp
CHECKOV_PIN   := checkov==3.3.30
EXAMPLE       ?= public-url
REGION        ?= ap-northeast-1
ARCHITECTURE  ?= arm64
DEPLOY_ARGS   ?=

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: the MCP server over streamable HTTP on 127.0.0.1:8080 (embedded local default)
run: $(STAMP)
	$(BIN)/estat-aws-mcp serve --http --host $(HOST) --port $(PORT)

## make stdio: the same server over stdio
stdio: $(STAMP)
	$(BIN)/python -m estat_aws_mcp

## make test: lint, scans and the whole suite (installs first). The installs and checks before the suite
## are independent and run side by side (-j 4), each one's output kept together.
test:
	@$(MAKE) --no-print-directory -j 4 --output-sync=target test-prerequisites
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

## make e2e-tools: into .tools/, the Lambda Runtime Interface Emulator (from the aws-sam-cli==1.170.0
## wheel, `pip download --no-deps`), @modelcontextprotocol/inspector@0.15.0 (npm), the OpenID Provider
## of the OAuth tests (oidc-provider@9.13.3, `npm ci` from tests/oauth_proxy/oidc_upstream) and the MCP
## conformance suite (@modelcontextprotocol/conformance@0.1.13, `npm ci` from tests/conformance/suite); all idempotent
## (three independent installs: `make -j` runs them side by side, as `make test` does)
e2e-tools: e2e-rie e2e-oidc e2e-conformance

e2e-rie: $(STAMP)
	$(BIN)/python -m tests.lambda_handler.rie

e2e-oidc: $(STAMP)
	$(BIN)/python -m tests.oauth_proxy.oidc_upstream

e2e-conformance: $(STAMP)
	$(BIN)/python -m tests.conformance.mcp_conformance

test-prerequisites: $(STAMP) e2e-tools scan lint

$(SCAN_STAMP): Makefile
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --disable-pip-version-check '$(CHECKOV_PIN)'
	@touch $(SCAN_STAMP)

## make scan: checkov and trivy over terraform/ and the Dockerfile, offline; any finding without an
## inline justification fails (tests/terraform/test_scan_suppressions.py checks the justifications), and so
## does a file checkov cannot parse (it would otherwise go unscanned with only a count in the summary)
scan: $(STAMP) $(SCAN_STAMP)
	@out=$$($(SCAN_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform -d terraform); \
	status=$$?; echo "$$out"; \
	if echo "$$out" | grep -q "Parsing errors"; then \
	  echo "checkov could not parse a file under terraform/ (run it with -o json: results.parsing_errors)"; exit 1; fi; \
	exit $$status
	$(SCAN_VENV)/bin/checkov --quiet --compact --skip-download --framework dockerfile -f Dockerfile
	$(BIN)/trivy config --quiet --skip-check-update --exit-code 1 terraform
	$(BIN)/trivy config --quiet --skip-check-update --exit-code 1 Dockerfile

## make deploy: ECR, docker buildx build + push, then everything else pinned by digest (README: Deploy to AWS)
deploy: $(STAMP)
	$(BIN)/estat-aws-mcp deploy --example $(EXAMPLE) --region $(REGION) --architecture $(ARCHITECTURE) $(DEPLOY_ARGS)

## make destroy: every resource of the deployment (the SSM parameters you created stay)
destroy: $(STAMP)
	$(BIN)/estat-aws-mcp destroy --example $(EXAMPLE) --region $(REGION) $(DEPLOY_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench image
	$(BIN)/ruff format --check src tests bench image

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench image
	$(BIN)/ruff format src tests bench image

bench: $(STAMP)
	$(BIN)/python -m bench

## make charts: the example PNGs of docs/charts.md (docs/images/chart-*.png), drawn by chart_dataset from
## the fake e-Stat's SYNTHETIC prefecture table
charts: $(STAMP)
	$(BIN)/python -m tests.charts.examples docs/images

clean:
	rm -rf $(VENV) $(SCAN_VENV) .pytest_cache .ruff_cache build dist src/*.egg-info
