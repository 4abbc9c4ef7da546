# `make benchmark` and `make test` are the README's two commands: each sets up
# .venv from scratch when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
LEARN2LEARN := learn2learn==0.2.0
L2L_BUILD := $(VENV)/learn2learn-build
# Face models for `dgfas data prepare`. MTCNN's weights ship inside the
# facenet-pytorch wheel; FaceMesh's landmark model ships inside the
# mediapipe 0.10.21 wheel (the last one that bundles it), which pins numpy<2
# and is therefore never installed: the model file is taken out of it.
FACENET := facenet-pytorch==2.6.0
MEDIAPIPE_WHEEL := mediapipe==0.10.21
FACE_MODELS := $(VENV)/share/dgfas
MODEL_BUILD := $(VENV)/face-model-build

.PHONY: setup browser benchmark test face-asset

# learn2learn 0.2.0's shipped C files include longintrepr.h, which Python 3.11
# removed; re-generating them from its .pyx files with a current Cython makes
# the sdist build. Its declared dependencies (gym, gsutil, qpth, ...) are not
# needed for the MAML utilities dgfas uses, so it is installed without them.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet -e '.[test,meta-engines,real]' cython setuptools wheel
	rm -rf $(L2L_BUILD) && mkdir -p $(L2L_BUILD)
	$(VENV)/bin/pip download --quiet --no-deps --no-binary :all: $(LEARN2LEARN) -d $(L2L_BUILD)
	tar xzf $(L2L_BUILD)/learn2learn-0.2.0.tar.gz -C $(L2L_BUILD)
	cd $(L2L_BUILD)/learn2learn-0.2.0 && ../../bin/cython -3 --force learn2learn/data/*.pyx
	$(VENV)/bin/pip install --quiet --no-deps --no-build-isolation $(L2L_BUILD)/learn2learn-0.2.0
	rm -rf $(L2L_BUILD)
	# facenet-pytorch 2.6.0's metadata pins torch<2.3 and numpy<2; its MTCNN runs
	# on the torch and numpy installed here, so it goes in without its pins.
	$(VENV)/bin/pip install --quiet --no-deps $(FACENET)
	rm -rf $(MODEL_BUILD) && mkdir -p $(MODEL_BUILD) $(FACE_MODELS)
	$(VENV)/bin/pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
		--platform manylinux_2_28_x86_64 $(MEDIAPIPE_WHEEL) -d $(MODEL_BUILD)
	$(VENV)/bin/python -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])" \
		$(MODEL_BUILD)/mediapipe-0.10.21-*.whl mediapipe/modules/face_landmark/face_landmark.tflite $(MODEL_BUILD)
	mv $(MODEL_BUILD)/mediapipe/modules/face_landmark/face_landmark.tflite $(FACE_MODELS)/
	rm -rf $(MODEL_BUILD)
	touch $(STAMP)

setup: $(STAMP)

benchmark: setup
	$(VENV)/bin/dgfas benchmark --preset fast

# The HTML leaderboard's test renders the page in Debian's headless Chromium.
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

test: setup browser
	$(VENV)/bin/python -m pytest

# Rebuilds dgfas/data/synthetic/face_asset.npz; needs MediaPipe 0.10.21, the
# last release whose wheel bundles the face-mesh model, in a venv of its own
# (it pins numpy<2).
face-asset:
	$(PYTHON) -m venv .venv-asset
	.venv-asset/bin/pip install --quiet mediapipe==0.10.21 scikit-image pandas
	PYTHONPATH=. .venv-asset/bin/python tools/build_face_asset.py
