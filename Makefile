# Thin wrappers over scripts/: the README's two commands are `make run` and `make test`.
.PHONY: run test fast lint bench smoke
run:
	scripts/run.sh
test:
	scripts/test.sh
fast:
	scripts/test.sh -m "not e2e and not slow"
lint:
	.venv/bin/ruff check .
bench:
	.venv/bin/python bench/bench_explainers.py
smoke:
	scripts/setup.sh && .venv/bin/python scripts/smoke.py
