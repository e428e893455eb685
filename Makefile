# The two commands of the README; each bootstraps what it needs on a fresh machine.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: bootstrap demo test lint stack-up stack-down

bootstrap:
	@bash infra/local/bootstrap.sh

demo: bootstrap
	$(BIN)/vigie demo $(if $(SECONDS),--seconds $(SECONDS))

# The test fixtures start their own Kafka and MinIO (own ports and state folder); the camera
# tests need real peers (GStreamer's RTSP server) from Debian packages.
test: bootstrap
	@bash infra/local/test-peers.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -rs --durations=12

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

stack-up: bootstrap
	$(BIN)/vigie stack up

stack-down: bootstrap
	$(BIN)/vigie stack down
