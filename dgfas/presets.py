"""Width / resolution presets: what a run costs.

``quick`` trains one method on one protocol in about one (ERM) to five
(multitask_meta) minutes on two CPU cores; ``paper`` is the 256-pixel,
full-width setting for GPU users; ``tiny`` exists for tests and builds its
data in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from dgfas.registry import Registry


@dataclass(frozen=True)
class Preset:
    """Attributes:
    image_size: side of the square face crops fed to the model.
    data_scale: synthetic dataset size name.
    model_overrides: model hyper-parameters the preset sets (e.g. width).
    steps: training steps.
    batch_per_domain: images per source domain per step, half live, half spoof.
    eval_every: steps between evaluations (model selection candidates).
    """

    name: str
    image_size: int
    data_scale: str
    model_overrides: tuple[tuple[str, object], ...]
    steps: int
    batch_per_domain: int
    eval_every: int


PRESETS: Registry[Preset] = Registry("preset")
for _preset in (
    Preset("tiny", 32, "tiny", (("width", 0.125),), steps=4, batch_per_domain=4, eval_every=2),
    Preset("quick", 64, "quick", (("width", 0.5),), steps=500, batch_per_domain=16, eval_every=50),
    Preset("paper", 256, "paper", (("width", 1.0),), steps=4000, batch_per_domain=32, eval_every=250),
):
    PRESETS.add(_preset.name, _preset)
get_preset = PRESETS.get
