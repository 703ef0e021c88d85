# napari-densitybuild: `make test` and `make demo` are all a new developer needs.
# Everything runs in .venv (created on first use).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch pinned to the CPU build (an unpinned torch pulls a multi-GB CUDA build)
TORCH  ?= torch==2.13.0
# The demo: build a model into the sample map (with its sequence), then score it against the
# true model of the sample.
DEMO_OUT ?= demo_out
BENCHMARKS ?= benchmarks/bench_io.py benchmarks/bench_classify.py benchmarks/bench_place.py \
	benchmarks/bench_pipeline.py benchmarks/bench_batch.py benchmarks/bench_model_maps.py
PYTEST_ARGS ?=
XVFB_RUN := $(shell command -v xvfb-run 2>/dev/null)

.PHONY: venv lint format test demo sample bench clean

venv: $(VENV)/.installed

# re-installs when pyproject.toml changes; `touch pyproject.toml` forces it
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# GUI and render tests need an X server: under xvfb-run when it is there, else they are skipped.
test: venv lint
ifneq ($(XVFB_RUN),)
	QT_QPA_PLATFORM=xcb $(XVFB_RUN) -a -s "-screen 0 1280x1024x24" \
		$(BIN)/python -m pytest $(PYTEST_ARGS)
else
	$(BIN)/python -m pytest -m "not render" $(PYTEST_ARGS)
endif

demo: venv
	mkdir -p $(DEMO_OUT)
	$(BIN)/densitybuild build sample_data/sample_map.mtz --out $(DEMO_OUT)/model.cif \
		--sequence sample_data/sample_sequence.fasta --report $(DEMO_OUT)/report.json
	$(BIN)/densitybuild info sample_data/sample_map.mtz $(DEMO_OUT)/model.cif
	$(BIN)/densitybuild evaluate --task build --map sample_data/sample_map.mtz \
		--model sample_data/sample_model.cif --built $(DEMO_OUT)/model.cif --out $(DEMO_OUT)

sample: venv
	$(BIN)/python scripts/make_sample_data.py

# Each benchmark prints a table and writes it, with the machine's details, to benchmarks/results/.
bench: venv
	for b in $(BENCHMARKS); do $(BIN)/python $$b || exit 1; done
ifneq ($(XVFB_RUN),)
	QT_QPA_PLATFORM=xcb $(XVFB_RUN) -a -s "-screen 0 1280x1024x24" $(BIN)/python benchmarks/bench_gui.py
endif

clean:
	rm -rf dist build .pytest_cache .ruff_cache
