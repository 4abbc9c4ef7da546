"""Width / resolution presets: what a run costs.

``fast`` is what ``make benchmark`` runs: every registered method on the
four leave-one-out protocols within ten minutes of a fresh clone on two CPU
cores. ``quick`` trains one method on one protocol in one to five minutes
on two CPU cores and is the committed leaderboard's setting; ``paper`` is
the 256-pixel, full-width setting for GPU users; ``tiny`` exists for tests
and builds its data in seconds.

At equal width a VGG-16 step costs about 6× and a CDCN step about 19× a
ResNet-18 step at 64² (``benchmarks/method_step.py``), so the CPU presets
give those backbones narrower widths (``width_by_model``); ``paper`` runs
every backbone at full width and, on real data, starts every backbone that
has torchvision ImageNet weights from them, as the DG-FAS papers do
(``imagenet_on_real_data``). The CPU presets start from scratch: ImageNet
weights exist at width 1.0 only.
"""

from __future__ import annotations

from dataclasses import dataclass

from dgfas.registry import Registry


@dataclass(frozen=True)
class Preset:
    """Attributes:
    image_size: side of the square face crops fed to the model.
    data_scale: synthetic dataset size name.
    width: channel multiplier of every backbone that has one.
    steps: training steps.
    batch_per_domain: images per source domain per step, half live, half spoof.
    eval_every: steps between evaluations (model selection candidates).
    width_by_model: (model name, width) pairs overriding ``width``.
    imagenet_on_real_data: default ``model.weights`` to ``imagenet`` on real data for every
        backbone that has ImageNet weights; synthetic data always starts from scratch.
    purpose: what the preset's numbers can be used for, stated in every leaderboard of it,
        so a table from a smoke-test preset cannot be read as a ranking.
    """

    name: str
    image_size: int
    data_scale: str
    width: float
    steps: int
    batch_per_domain: int
    eval_every: int
    width_by_model: tuple[tuple[str, float], ...] = ()
    imagenet_on_real_data: bool = False
    purpose: str = ""

    def width_of(self, model: str) -> float:
        return dict(self.width_by_model).get(model, self.width)


PRESETS: Registry[Preset] = Registry("preset")
for _preset in (
    Preset("tiny", 32, "tiny", 0.125, steps=4, batch_per_domain=4, eval_every=2,
           purpose="for tests only: four steps on a handful of frames; its numbers mean nothing"),
    Preset("fast", 64, "fast", 0.25, steps=200, batch_per_domain=8, eval_every=50,
           width_by_model=(("vgg16", 0.125), ("cdcn", 0.125)),
           purpose="a smoke test that the whole benchmark runs (6 test subjects per domain, 200 steps); "
                   "it does not rank methods, several cells are near chance, and another CPU gives other cells"),
    Preset("quick", 64, "quick", 0.5, steps=500, batch_per_domain=16, eval_every=50,
           width_by_model=(("vgg16", 0.25), ("cdcn", 0.125)),
           purpose="the comparison two CPU cores can afford; compare rows by their intervals, not their means"),
    Preset("paper", 256, "paper", 1.0, steps=4000, batch_per_domain=32, eval_every=250, imagenet_on_real_data=True,
           purpose="the papers' setting: 256² crops, full-width backbones, 4000 steps"),
):
    PRESETS.add(_preset.name, _preset)
get_preset = PRESETS.get
