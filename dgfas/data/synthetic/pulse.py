"""A heart beat in the skin colour of live faces (remote photoplethysmography).

Blood volume under the skin rises and falls with every heart beat, and
haemoglobin absorbs green light most (then blue, then red), so a camera sees
the skin's colour, mostly its green, change a little at the heart rate. rPPG
methods (Liu et al., CVPR 2018, "Learning Deep Models for Face Anti-Spoofing:
Binary or Auxiliary Supervision") recover that signal from a few seconds of
video and use it as a liveness cue; this module gives the synthetic live
faces such a signal, with the waveform kept as ground truth.

The waveform is a fundamental at the heart rate plus a weaker second
harmonic, ``s(θ) = sin θ + 0.3 sin(2θ + ψ)`` with ``θ = 2π f t + φ``: the
harmonic makes the beat asymmetric (fast systolic rise, slow fall), its
relative phase ``ψ`` gives each person their own pulse shape. ``s`` is
divided by its peak ``max |s|`` over one period, so the waveform has zero
mean and unit peak whatever ``ψ``: the amplitude in the pixels is then the
drawn amplitude, and the rPPG target has the same range in every video.

A pulse is drawn from its own random stream of the video's seed, so adding
it leaves every other draw of a video (camera, light, pose, medium)
unchanged, and :func:`dgfas.data.synthetic.shoot.video_pulse` tells the
heart rate without rendering.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dgfas.data.frames import PARSING_CLASSES

#: Heart rates in Hz (42-180 beats per minute: rest to exercise).
HEART_RATE = (0.7, 3.0)
#: Peak relative change of the skin's green; real rPPG signals are ~1-2 %.
AMPLITUDE = (0.01, 0.025)
#: Second harmonic relative to the fundamental.
HARMONIC = 0.3
#: Relative modulation per channel (R, G, B): haemoglobin absorbs green
#: most, then blue, and little red, so the pulse is strongest in green.
CHANNEL_WEIGHTS = (0.35, 1.0, 0.55)
#: Parsing classes of bare, perfused skin. Brows and hair hide the skin,
#: eyes have none, lips (and the mouth interior they include) pulse too.
SKIN_CLASSES = tuple(PARSING_CLASSES.index(name) for name in ("skin", "nose", "lips"))
#: Seed-sequence entry that makes a video's pulse stream distinct from its main one.
_PULSE_STREAM = 7919
#: Parsing id -> is skin: a table lookup, faster than ``np.isin`` per frame.
_IS_SKIN = np.isin(np.arange(len(PARSING_CLASSES)), SKIN_CLASSES)


@dataclass(frozen=True)
class Pulse:
    """One person's heart beat as seen by a camera.

    Attributes:
        rate: heart rate in Hz.
        phase: phase ``φ`` of the fundamental at t = 0, radians.
        shape: phase ``ψ`` of the second harmonic relative to the fundamental.
        amplitude: peak relative change of the skin's green.
    """

    rate: float
    phase: float
    shape: float
    amplitude: float

    def waveform(self, times: np.ndarray) -> np.ndarray:
        """(T,) seconds -> (T,) float32 normalised pulse in [-1, 1]."""
        return (_shape(self.shape, 2 * np.pi * self.rate * np.asarray(times, np.float64) + self.phase)
                / _peak(self.shape)).astype(np.float32)

    def modulate(self, image: np.ndarray, parsing: np.ndarray, time: float, gain: float = 1.0) -> np.ndarray:
        """The skin of ``image`` at ``time``: multiplied by ``1 + gain * amplitude * p(t) * w``.

        Args:
            image: (R, R, 3) float32 rendered frame, before any camera.
            parsing: (R, R) its face parsing; only :data:`SKIN_CLASSES` change.
            time: seconds since the start of the video.
            gain: 1 for a live face; below 1 where the pulse is seen through
                a medium (a replayed recording).

        Returns:
            (R, R, 3) float32, a new array.
        """
        factor = 1.0 + gain * self.amplitude * float(self.waveform(np.array([time]))[0]) * np.asarray(
            CHANNEL_WEIGHTS, np.float32
        )
        skin = _IS_SKIN[parsing][..., None]  # (R, R, 1)
        out = np.array(image, dtype=np.float32)
        np.multiply(out, factor, out=out, where=skin)
        return out


def _shape(shape: float, theta: np.ndarray) -> np.ndarray:
    return np.sin(theta) + HARMONIC * np.sin(2 * theta + shape)


def _peak(shape: float) -> float:
    """max |s| over one period (the sum of sines has no closed-form peak)."""
    return float(np.abs(_shape(shape, np.linspace(0.0, 2 * np.pi, 1024, endpoint=False))).max())


def draw_pulse(rng: np.random.Generator) -> Pulse:
    """Draw a heart rate, phase, pulse shape and amplitude."""
    return Pulse(
        rate=float(rng.uniform(*HEART_RATE)),
        phase=float(rng.uniform(0.0, 2 * np.pi)),
        shape=float(rng.uniform(0.0, 2 * np.pi)),
        amplitude=float(rng.uniform(*AMPLITUDE)),
    )


def pulse_rng(seed: int, domain_index: int, subject: int, video_index: int) -> np.random.Generator:
    """The random stream of one video's pulse, apart from its main stream."""
    return np.random.default_rng(np.random.SeedSequence([seed, domain_index, subject, video_index, _PULSE_STREAM]))
