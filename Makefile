# The two commands a new user runs: `make demo` and `make test`. Both set up first.
SHELL := /bin/bash
PY := .venv/bin/python
STAMP := .venv/.setup-stamp
SEED ?= 0
SCALE ?= 1
DEMO_DATA := outputs/demo/data-seed$(SEED)-scale$(SCALE)
RUN := outputs/runs/demo-$(shell date +%Y%m%d-%H%M%S)

.PHONY: setup demo test bench clean-outputs

$(STAMP): requirements.txt constraints.txt pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

BROWSER_STAMP := .venv/.browser-stamp
$(BROWSER_STAMP): $(STAMP) scripts/setup.sh
	bash scripts/setup.sh --browser
	touch $(BROWSER_STAMP)

demo: $(STAMP)
	@if [ ! -f "$(DEMO_DATA)_truth/truth.csv" ]; then \
	  rm -rf "$(DEMO_DATA)" "$(DEMO_DATA)_truth"; \
	  $(PY) -m onecard.cli synth --out "$(DEMO_DATA)" --seed $(SEED) --scale $(SCALE); \
	else echo "演示数据已存在：$(DEMO_DATA)"; fi
	$(PY) -m onecard.cli run --data "$(DEMO_DATA)" --out "$(RUN)" --workers 2 --ledger outputs/demo/ledger.sqlite
	$(PY) -m onecard.cli score --findings "$(RUN)/findings.csv" --truth "$(DEMO_DATA)_truth"
	@echo "报告位置：$(RUN)（各街道目录下的 review.html / review.pdf，及 district_summary.html）"

test: $(STAMP) $(BROWSER_STAMP)
	.venv/bin/lint-imports
	.venv/bin/ruff check --select F lib tests bench scripts
	$(PY) -m pytest -n 2 --dist loadfile -q -m "not browser"
	$(PY) -m pytest -q -m browser  # the real-browser test alone: no competition from the 2 workers

bench: $(STAMP)
	$(PY) bench/bench_run.py --repeat 3

clean-outputs:
	rm -rf outputs/demo outputs/runs
