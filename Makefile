# `make benchmark` and `make test` are the README's two commands: each sets up
# .venv from scratch when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: setup benchmark test face-asset

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

benchmark: setup
	$(VENV)/bin/dgfas benchmark

test: setup
	$(VENV)/bin/python -m pytest

# Rebuilds dgfas/data/synthetic/face_asset.npz; needs MediaPipe 0.10.21, the
# last release whose wheel bundles the face-mesh model, in a venv of its own
# (it pins numpy<2).
face-asset:
	$(PYTHON) -m venv .venv-asset
	.venv-asset/bin/pip install --quiet mediapipe==0.10.21 scikit-image
	.venv-asset/bin/python -m dgfas.data.synthetic.build_face_asset
