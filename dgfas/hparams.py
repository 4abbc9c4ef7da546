"""Random hyper-parameter draws for sweeps, as in DomainBed.

Each algorithm declares where its hyper-parameters may be drawn from as a
class attribute next to its code (``search_space``, a name -> distribution
mapping). Every value is drawn from a generator of its own, seeded by a hash
of (seed, draw index, parameter name), so adding a parameter to a space
leaves the other parameters' draws unchanged and a draw can be repeated on
any machine without a saved list of values.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from dgfas.errors import DgfasError


def seed_hash(*args: Any) -> int:
    """DomainBed's ``seed_hash``: an int in [0, 2**31) from the md5 of ``repr(args)``.

    md5 rather than ``hash``, which Python salts per process for strings.
    """
    return int(hashlib.md5(repr(args).encode("utf-8")).hexdigest(), 16) % (2**31)


def _three_digits(value: float) -> float:
    # Three significant digits keep variant names readable (``lr=0.00123``) and
    # survive the str() round trip of MLflow params exactly.
    return float(f"{value:.3g}")


@dataclass(frozen=True)
class LogUniform:
    """A positive value whose logarithm is uniform in [log low, log high]: learning rates, loss weights."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 < self.low < self.high:
            raise DgfasError(f"LogUniform needs 0 < low < high, got low={self.low}, high={self.high}")

    def draw(self, rng: np.random.Generator) -> float:
        return _three_digits(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass(frozen=True)
class Uniform:
    """A value uniform in [low, high]: margins and other bounded quantities."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise DgfasError(f"Uniform needs low < high, got low={self.low}, high={self.high}")

    def draw(self, rng: np.random.Generator) -> float:
        return _three_digits(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class Choice:
    """One of a few options, equally likely: switches and discrete settings."""

    options: tuple[Any, ...]

    def __post_init__(self) -> None:
        if not self.options:
            raise DgfasError("Choice needs at least one option")

    def draw(self, rng: np.random.Generator) -> Any:
        # Index a Python tuple so a bool or str option keeps its type (numpy's choice would not).
        return self.options[int(rng.integers(len(self.options)))]


Distribution = LogUniform | Uniform | Choice


def draw_hparams(space: Mapping[str, Distribution], *, seed: int, draw: int) -> dict[str, Any]:
    """Draw ``draw`` of a search space for ``seed``: name -> value.

    Draw 0 is the method's defaults (an empty dict), so a sweep always
    includes the configuration the method is published with.
    """
    if draw < 0:
        raise DgfasError(f"a draw index must be 0 or more, got {draw}")
    if draw == 0:
        return {}
    return {name: space[name].draw(np.random.default_rng(seed_hash(seed, draw, name))) for name in sorted(space)}
