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

.PHONY: install run stdio test lint format bench clean e2e-tools

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

## make test: the whole suite (installs first)
test: $(STAMP) e2e-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make e2e-tools: into .tools/, the Lambda Runtime Interface Emulator (from the aws-sam-cli==1.170.0
## wheel, `pip download --no-deps`) and @modelcontextprotocol/inspector@0.15.0 (npm); both idempotent
e2e-tools: $(STAMP)
	$(BIN)/python -m tests.lambda_handler.rie

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist src/*.egg-info
