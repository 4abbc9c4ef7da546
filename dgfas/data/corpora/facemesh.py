"""MediaPipe FaceMesh's 468 landmarks on a face crop, run with LiteRT.

The model is the ``face_landmark.tflite`` of the mediapipe 0.10.21 wheel
(``make setup`` copies it out), run on its own: the crop already comes from
a face detector, so MediaPipe's detection and tracking graph is not needed.
Its vertex ids are the first 468 vertices of the synthetic face asset
(:mod:`dgfas.data.synthetic.mesh`), which is what lets
:mod:`dgfas.data.corpora.labels` place that asset on a real face.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from dgfas.errors import DgfasError
from dgfas.verbosity import native_info_held_back

#: Side of the model's square input.
INPUT_SIZE = 192
#: Face-presence logit above which the landmarks are kept (probability 0.5).
#: Faces give about 10 to 36; skimage's cat, coffee, rocket, brick, noise
#: and flat grey give -12 to -3.
PRESENCE_LOGIT = 0.0


def default_model_path() -> Path:
    """``$DGFAS_FACE_LANDMARK_MODEL``, else ``<venv>/share/dgfas/face_landmark.tflite``."""
    default = Path(sys.prefix) / "share" / "dgfas" / "face_landmark.tflite"
    return Path(os.environ.get("DGFAS_FACE_LANDMARK_MODEL", default))


class FaceMesh:
    """One LiteRT interpreter of the FaceMesh landmark model (not thread-safe: one per worker).

    Args:
        model_path: the ``.tflite`` file; :func:`default_model_path` if None.
    """

    def __init__(self, model_path: Path | None = None):
        from ai_edge_litert.interpreter import Interpreter

        path = default_model_path() if model_path is None else Path(model_path)
        if not path.is_file():
            raise DgfasError(
                f"FaceMesh model {path} is missing; make setup fetches it from the mediapipe 0.10.21 wheel"
            )
        self._interpreter = Interpreter(model_path=str(path))
        with native_info_held_back():  # TensorFlow Lite announces its XNNPACK delegate here, once per process
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._landmarks, self._presence = outputs["conv2d_21"], outputs["conv2d_31"]

    def landmarks(self, crop: np.ndarray) -> np.ndarray | None:
        """The 468 landmarks of the face filling ``crop``, or None when it shows no face.

        Args:
            crop: (H, W, 3) uint8 RGB face crop with some margin around the face
                (the pipeline's crops have 20% of the box side on each side).

        Returns:
            (468, 3) float32: x, y in the crop's pixels (0 at the top-left
            corner) and z, scaled like x, with larger z nearer the camera (the
            model's own z is the other way round); z's origin is arbitrary.
        """
        if crop.ndim != 3 or crop.shape[2] != 3:
            raise DgfasError(f"FaceMesh needs an (H, W, 3) RGB crop, got shape {crop.shape}")
        resized = Image.fromarray(crop.astype(np.uint8)).resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
        batch = (np.asarray(resized, dtype=np.float32) / 255.0)[None]  # (1, 192, 192, 3)
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        if float(self._interpreter.get_tensor(self._presence).ravel()[0]) <= PRESENCE_LOGIT:
            return None
        points = self._interpreter.get_tensor(self._landmarks).reshape(468, 3).astype(np.float32)
        scale = np.array([crop.shape[1], crop.shape[0], crop.shape[1]], dtype=np.float32) / INPUT_SIZE
        return points * scale * np.array([1.0, 1.0, -1.0], dtype=np.float32)
