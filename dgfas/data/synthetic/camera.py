"""The capture pipeline: what a domain's camera does to the light in front of it.

Lives and spoofs go through exactly the same pipeline with settings drawn from
the same distribution, so nothing here can tell them apart: optics blur,
sensor resolution, vignetting, white balance, auto-exposure, sensor noise,
tone curve, sharpening and JPEG are nuisance factors, not liveness cues. What
differs between domains is the distribution (a low-resolution webcam versus a
phone camera), which is what a model can overfit.

Scenes arrive at twice the output resolution so that fine medium patterns
(halftone dots, display sub-pixels) alias into moiré the way they do on a real
sensor before being averaged down.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from dgfas.errors import DgfasError

#: Rec. 601 luma weights, used for auto-exposure.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class Camera:
    """A camera model: ranges every per-video setting is drawn from.

    Attributes:
        name: e.g. ``nexus5-front``.
        resolution: effective sensor resolution relative to the output crop,
            drawn uniformly; below 1 the face was captured with fewer pixels
            than the crop has (low-resolution webcams, distant faces).
        blur: optics/defocus Gaussian sigma, in output pixels.
        read_noise: signal-independent noise std.
        shot_noise: signal-dependent noise variance factor.
        jpeg_quality: JPEG quality range.
        white_balance: mean (r, g, b) gains, the camera's colour bias.
        white_balance_jitter: std of the log gains around that bias.
        saturation: colour saturation factor range.
        gamma: tone-curve exponent range (output = x ** (1 / gamma)).
        contrast: S-curve strength range (0 = linear).
        sharpen: unsharp-mask amount range.
        vignette: corner darkening range.
        exposure: auto-exposure target for the mean luma of the centre.
        auto_white_balance: strength of grey-world white balance (0 = none,
            1 = full), before the camera's own colour bias.
        black_offset: black point: negative lifts blacks (lens flare, a
            cheap sensor's offset), positive crushes them.
    """

    name: str
    resolution: tuple[float, float] = (1.0, 1.0)
    blur: tuple[float, float] = (0.3, 0.6)
    read_noise: tuple[float, float] = (0.005, 0.015)
    shot_noise: tuple[float, float] = (0.0005, 0.002)
    jpeg_quality: tuple[int, int] = (80, 95)
    white_balance: tuple[float, float, float] = (1.0, 1.0, 1.0)
    white_balance_jitter: float = 0.04
    saturation: tuple[float, float] = (0.9, 1.1)
    gamma: tuple[float, float] = (0.9, 1.1)
    contrast: tuple[float, float] = (0.0, 0.2)
    sharpen: tuple[float, float] = (0.0, 0.3)
    vignette: tuple[float, float] = (0.0, 0.15)
    exposure: tuple[float, float] = (0.38, 0.52)
    auto_white_balance: tuple[float, float] = (0.5, 0.9)
    black_offset: tuple[float, float] = (-0.06, 0.04)


@dataclass(frozen=True)
class CaptureSettings:
    """One video's camera settings (fixed over its frames)."""

    resolution: float
    blur: float
    read_noise: float
    shot_noise: float
    jpeg_quality: int
    gains: tuple[float, float, float]
    saturation: float
    gamma: float
    contrast: float
    sharpen: float
    vignette: float
    exposure: float
    auto_white_balance: float
    black_offset: float


def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def draw_settings(rng: np.random.Generator, camera: Camera) -> CaptureSettings:
    """Draw one video's settings; called identically for lives and spoofs."""
    gains = np.asarray(camera.white_balance) * np.exp(rng.normal(0.0, camera.white_balance_jitter, 3))
    return CaptureSettings(
        resolution=min(1.0, _uniform(rng, camera.resolution)),
        blur=_uniform(rng, camera.blur),
        read_noise=_uniform(rng, camera.read_noise),
        shot_noise=_uniform(rng, camera.shot_noise),
        jpeg_quality=int(rng.integers(camera.jpeg_quality[0], camera.jpeg_quality[1] + 1)),
        gains=tuple(float(g) for g in gains / gains[1]),
        saturation=_uniform(rng, camera.saturation),
        gamma=_uniform(rng, camera.gamma),
        contrast=_uniform(rng, camera.contrast),
        sharpen=_uniform(rng, camera.sharpen),
        vignette=_uniform(rng, camera.vignette),
        exposure=_uniform(rng, camera.exposure),
        auto_white_balance=_uniform(rng, camera.auto_white_balance),
        black_offset=_uniform(rng, camera.black_offset),
    )


@lru_cache(maxsize=64)
def _blur_kernel(sigma: float, shrink: int) -> tuple[np.ndarray, int]:
    """Taps of a Gaussian followed by a ``shrink``-wide box, and the Gaussian's radius.

    The Gaussian is ``scipy.ndimage.gaussian_filter``'s (truncated at 4 sigma),
    so :func:`gaussian_blur` gives what it gives.
    """
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    gaussian = np.exp(-0.5 * (offsets / sigma) ** 2) if sigma > 0 else np.ones(1)
    taps = np.convolve(gaussian / gaussian.sum(), np.full(shrink, 1.0 / shrink)).astype(np.float32)
    taps.setflags(write=False)
    return taps, radius


def gaussian_blur(image: np.ndarray, sigma: float, shrink: int = 1) -> np.ndarray:
    """Blur the two pixel axes of a float32 (H, W[, C]) image, then average ``shrink`` x ``shrink`` blocks.

    ``scipy.ndimage.gaussian_filter(image, (sigma, sigma, 0), mode="nearest")``
    followed by a box resize to (H / shrink, W / shrink), as sums of shifted
    slices: scipy filters line by line in float64, several times slower on
    these images, and the block average only needs every ``shrink``-th row.
    Every slice is a block of whole rows or of contiguous columns of the
    (H, W * C) image, so each sum runs over contiguous memory. The kernel is
    symmetric: mirrored taps are added before they are weighted.
    """
    taps, radius = _blur_kernel(float(sigma), shrink)
    last = len(taps) - 1
    image = np.asarray(image, dtype=np.float32)
    height, width = image.shape[:2]
    channels = image.shape[2] if image.ndim == 3 else 1

    def convolve(window: Callable[[int], np.ndarray]) -> np.ndarray:
        """sum_k taps[k] * window(k)"""
        out = window(last // 2) * taps[last // 2] if last % 2 == 0 else np.zeros_like(window(0))
        for k in range((last + 1) // 2):
            pair = window(k) + window(last - k)
            pair *= taps[k]
            out += pair
        return out

    def pad(array: np.ndarray, axis: int) -> np.ndarray:
        """Repeat the edges (``mode="nearest"``) by the kernel's reach along ``axis``."""
        return np.concatenate([np.repeat(array.take([0], axis), radius, axis), array,
                               np.repeat(array.take([-1], axis), radius + shrink - 1, axis)], axis=axis)

    rows = height // shrink
    padded = pad(image.reshape(height, width * channels), 0)
    blurred = convolve(lambda k: padded[k : k + shrink * rows : shrink])  # (rows, W * C)
    # along x at every pixel (a window is a contiguous block of columns), then every shrink-th pixel
    padded = pad(blurred.reshape(rows, width, channels), 1).reshape(rows, -1)
    blurred = convolve(lambda k: padded[:, k * channels : (k + width) * channels]).reshape(rows, width, channels)
    if shrink > 1:
        blurred = np.ascontiguousarray(blurred[:, ::shrink])
    return blurred if image.ndim == 3 else blurred[..., 0]


@lru_cache(maxsize=4)
def _squared_radius(size: int) -> np.ndarray:
    """(size, size) float32 squared distance from the image centre, 1 at the middle of each side."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    radius2 = ((xx - size / 2 + 0.5) ** 2 + (yy - size / 2 + 0.5) ** 2) / (size / 2) ** 2
    radius2.setflags(write=False)
    return radius2


def resize(image: np.ndarray, size: int, *, smooth: bool = True) -> np.ndarray:
    """Resize a float (H, W[, C]) image to (size, size[, C]).

    Box filtering when shrinking (what a sensor's pixels do), bilinear when
    enlarging; ``smooth=False`` is nearest neighbour, for label maps.
    """
    if image.shape[0] == size and image.shape[1] == size:
        return image
    if not smooth:
        rows = ((np.arange(size) + 0.5) * image.shape[0] / size).astype(int)
        cols = ((np.arange(size) + 0.5) * image.shape[1] / size).astype(int)
        return image[rows][:, cols]
    shrinking = size < image.shape[0]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    channels = image[..., None] if image.ndim == 2 else image
    out = np.stack(
        [np.asarray(Image.fromarray(channels[..., c].astype(np.float32), mode="F").resize((size, size), method))
         for c in range(channels.shape[-1])],
        axis=-1,
    )
    return out[..., 0] if image.ndim == 2 else out


def capture(scene: np.ndarray, settings: CaptureSettings, rng: np.random.Generator, size: int) -> np.ndarray:
    """Turn a (2*size, 2*size, 3) float scene in [0, 1] into a (size, size, 3) uint8 frame.

    ``rng`` only draws this frame's sensor noise, so consecutive frames of a
    video differ by noise and motion, not by camera settings.
    """
    # optics blur at the scene's resolution, then the sensor's pixels: box filter to the output size
    if scene.shape[:2] != (2 * size, 2 * size):
        raise DgfasError(f"capture needs a scene of {2 * size} px for {size} px frames, got {scene.shape[:2]}")
    image = gaussian_blur(scene, 2.0 * settings.blur, shrink=2)
    if settings.resolution < 0.999:
        native = max(8, int(round(size * settings.resolution)))
        image = resize(resize(image, native), size)
    # Each step works in place on this frame's own array: the steps are cheap, passes over memory are not.
    image *= (1.0 - settings.vignette / 2.0 * _squared_radius(size))[..., None]
    channel_means = np.maximum(image.mean(axis=(0, 1)), 1e-3)
    grey_world = (channel_means.mean() / channel_means) ** settings.auto_white_balance
    image *= (grey_world * np.asarray(settings.gains)).astype(np.float32)
    luma = image @ LUMA
    # saturation: luma + s (image - luma)
    image *= settings.saturation
    image += ((1.0 - settings.saturation) * luma)[..., None]
    centre = luma[size // 4 : size - size // 4, size // 4 : size - size // 4]
    # (auto-exposure) centre-weighted metering, as phones and webcams do: the
    # centre is the face for lives and spoofs alike, and the whole frame counts
    # too, so a bright paper margin or bezel darkens the frame instead of making
    # spoof frames brighter than live ones (a global-statistics shortcut).
    metered = 0.3 * float(centre.mean()) + 0.7 * float(luma.mean())
    gain = float(np.clip(settings.exposure / max(metered, 1e-3), 0.3, 4.0))  # a Python float keeps float32
    image *= gain
    np.maximum(image, 0.0, out=image)
    # black point: (image - black_offset) / (1 - black_offset)
    image -= settings.black_offset
    image *= 1.0 / (1.0 - settings.black_offset)
    noise = np.clip(image, 0.0, 1.0)
    noise *= settings.shot_noise
    noise += settings.read_noise**2
    np.sqrt(noise, out=noise)
    noise *= rng.standard_normal(image.shape).astype(np.float32)
    image += noise
    np.clip(image, 0.0, 1.0, out=image)
    np.power(image, 1.0 / settings.gamma, out=image)
    # (S-curve) blend with smoothstep: (1 - contrast) image + contrast image^2 (3 - 2 image); 0 leaves it linear
    smooth = 3.0 - 2.0 * image
    smooth *= image
    smooth *= image
    smooth *= settings.contrast
    image *= 1.0 - settings.contrast
    image += smooth
    if settings.sharpen > 0:
        blurred = gaussian_blur(image, 0.8)
        image += settings.sharpen * (image - blurred)
    frame = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return jpeg(frame, settings.jpeg_quality)


def jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip a uint8 RGB frame through JPEG at ``quality``."""
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))
