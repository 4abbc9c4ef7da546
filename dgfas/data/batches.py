"""Training batches and model inputs, assembled where the model runs.

Frames stay uint8 (and maps in their compact dtypes) until the last moment:
rows are gathered, mirrored and only then converted to float and normalized
with ImageNet statistics, on the device that trains. Where the source-training
frames fit within ``TrainerConfig.device_cache_share`` of an accelerator's
memory they are uploaded once and every batch is gathered on the device;
where they do not, a background thread assembles the next step's batches in
pinned memory and copies them without blocking. On the CPU rows are read
straight from the frame arrays (memory maps of the cache), so the corpus is
never copied into RAM.

Rows and flips are drawn by the run's numpy generator in a fixed order
(domain by domain, each step), whichever path assembles them, so one seed
gives one sequence of batches.
"""

from __future__ import annotations

import functools
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from dgfas.algorithms.base import IMAGENET_MEAN, IMAGENET_STD, Batch
from dgfas.data.clips import VideoClips
from dgfas.data.frames import FrameSet
from dgfas.errors import DgfasError

# x / 255 normalized is x * _SCALE - _SHIFT per channel: one fused multiply-add per value.
_SCALE = 1.0 / (255.0 * torch.tensor(IMAGENET_STD))
_SHIFT = torch.tensor(IMAGENET_MEAN) / torch.tensor(IMAGENET_STD)

#: Rows uploaded at a time when a domain's frames are cached on the device,
#: so the upload never holds more than this many frames in host memory.
_UPLOAD_ROWS = 1024


@functools.lru_cache(maxsize=16)
def _row_constants(width: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(W * 3,) scale and negated shift laid out like one row of interleaved RGB pixels."""
    return _SCALE.repeat(width).to(device), (-_SHIFT).repeat(width).to(device)


def normalize(images: torch.Tensor, memory_format: torch.memory_format = torch.channels_last) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float normalized with ImageNet statistics, on ``images``' device.

    The arithmetic runs on rows of interleaved pixels (N, H, W * 3) against a
    per-row pattern of the channel constants: broadcasting (3,) constants over
    channels-last pixels would make the innermost loop three values long, which
    is several times slower on a CPU. The result is a channels-last view of
    that buffer; another ``memory_format`` costs one more copy.
    """
    n, h, w, c = images.shape
    scale, neg_shift = _row_constants(w, images.device)
    x = torch.addcmul(neg_shift, images.reshape(n, h, w * c), scale)  # (N, H, W * 3) float
    return x.view(n, h, w, c).permute(0, 3, 1, 2).contiguous(memory_format=memory_format)


def to_input(
    images: np.ndarray | torch.Tensor, device: torch.device, memory_format: torch.memory_format = torch.channels_last
) -> torch.Tensor:
    """(N, H, W, 3) uint8 -> (N, 3, H, W) normalized float on ``device``; only uint8 crosses to the device."""
    tensor = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(images))
    return normalize(tensor.to(device, non_blocking=True), memory_format)


def map_tensor(name: str, values: torch.Tensor) -> torch.Tensor:
    """Gathered ground truth (N, ...) in the layout and dtype of :class:`Batch`.

    uint8 depth and reflection maps hold value * 255 and are scaled back to
    [0, 1]; float maps are used as they are.
    """
    if name == "parsing":
        return values.long()
    x = values.float()
    if values.dtype == torch.uint8:
        x.div_(255.0)
    if name == "depth":
        return x.unsqueeze(1)
    if name == "reflection":
        return x.permute(0, 3, 1, 2)
    return x


def _nbytes(array: Any) -> int:
    return int(np.prod(array.shape)) * np.dtype(array.dtype).itemsize


class FrameTensors:
    """One domain's frames and the maps a method needs, as the batches are cut from them.

    With ``cache`` the arrays are uploaded to ``device`` once (in slices, so
    the host never holds a second copy) and batches are gathered there;
    otherwise each batch reads its rows from the arrays, through pinned
    memory when ``device`` is an accelerator.
    """

    def __init__(self, frames: FrameSet, maps: tuple[str, ...], device: torch.device,
                 memory_format: torch.memory_format = torch.channels_last, cache: bool = False) -> None:
        for name in maps:
            if getattr(frames, name) is None:
                raise DgfasError(f"domain {frames.domain} has no {name} maps, which this method needs")
        self.frames = frames
        self.maps = maps
        self.device = device
        self.memory_format = memory_format
        self.cached = {name: _upload(getattr(frames, name), device) for name in ("images", *maps)} if cache else {}

    @staticmethod
    def nbytes(frames: FrameSet, maps: tuple[str, ...]) -> int:
        """Bytes the images and ``maps`` of ``frames`` take, on the host or on a device."""
        return sum(_nbytes(getattr(frames, name)) for name in ("images", *maps))

    def _gather(self, name: str, flat: np.ndarray, index: torch.Tensor | None, flipped: np.ndarray | None) -> torch.Tensor:
        """(N, ...) rows of one array on the device; on the CPU ``flipped`` rows come back mirrored."""
        if name in self.cached:
            return self.cached[name].index_select(0, index)
        host = np.ascontiguousarray(getattr(self.frames, name)[flat])  # a fresh copy of the rows
        if self.device.type == "cpu":
            if flipped is not None:
                _mirror_rows(host, flipped)
            return torch.from_numpy(host)
        return torch.from_numpy(host).pin_memory().to(self.device, non_blocking=True)

    def batch(self, rows: np.ndarray, flip: np.ndarray | None) -> Batch:
        """Tensors for ``rows``; ``flip`` (bool per row, or per clip) mirrors images and maps alike.

        ``rows`` is (B,) for single frames or (B, T) for clips; every tensor
        then has the same leading dimensions, e.g. images (B, T, 3, H, W), and
        a clip is flipped as a whole.
        """
        lead = rows.shape
        flat = rows.reshape(-1)
        index = torch.from_numpy(flat).to(self.device) if self.cached else None
        flipped = mirror = None
        if flip is not None:
            per_row = np.broadcast_to(flip.reshape(flip.shape + (1,) * (rows.ndim - 1)), lead).reshape(-1)
            flipped = np.flatnonzero(per_row)
            if self.device.type != "cpu":  # an accelerator mirrors a whole batch in one torch.where
                mirror = torch.from_numpy(np.ascontiguousarray(per_row)).to(self.device)

        def gathered(name: str) -> torch.Tensor:
            values = self._gather(name, flat, index, flipped)  # (N, H, W[, C]) or (N,)
            if mirror is None or values.dim() == 1:
                return values
            return torch.where(mirror.view(-1, *[1] * (values.dim() - 1)), values.flip(2), values)

        image = normalize(gathered("images"), self.memory_format)
        label = self.frames.label[rows if rows.ndim == 1 else rows[:, 0]].astype(np.float32)
        batch = Batch(image=image.view(*lead, *image.shape[1:]), label=torch.from_numpy(label).to(self.device))
        for name in self.maps:
            tensor = map_tensor(name, gathered(name))
            setattr(batch, name, tensor.reshape(*lead, *tensor.shape[1:]))
        return batch


def _mirror_rows(values: np.ndarray, rows: np.ndarray) -> None:
    """Mirror the width axis of ``rows`` of a C-contiguous (N, H, W[, C]) array in place.

    Each pixel is viewed as one opaque item, so numpy copies a reversed row
    of W items rather than 3 W bytes. It runs on one core: torch's flip is
    faster on an idle machine but spreads every row over its thread pool,
    which costs milliseconds a row when other processes hold the cores.
    """
    if values.ndim < 3:
        return
    pixels = values
    if values.ndim == 4:  # (N, H, W) items of C values each
        pixels = values.view(np.dtype((np.void, values.dtype.itemsize * values.shape[3])))[..., 0]
    for row in rows:
        pixels[row] = pixels[row, :, ::-1]


def _upload(array: Any, device: torch.device) -> torch.Tensor:
    first = torch.from_numpy(np.ascontiguousarray(array[:1]))
    tensor = torch.empty((len(array), *first.shape[1:]), dtype=first.dtype, device=device)
    for start in range(0, len(array), _UPLOAD_ROWS):
        part = slice(start, start + _UPLOAD_ROWS)
        tensor[part].copy_(torch.from_numpy(np.ascontiguousarray(array[part])))
    return tensor


def make_batch(
    frames: FrameSet, rows: np.ndarray, maps: tuple[str, ...], device: torch.device, flip: np.ndarray | None,
    memory_format: torch.memory_format = torch.channels_last,
) -> Batch:
    """One batch of ``rows`` read from ``frames`` (see :meth:`FrameTensors.batch`)."""
    return FrameTensors(frames, maps, device, memory_format).batch(rows, flip)


class BalancedSampler:
    """Endless balanced draws from one domain: half live, half spoof.

    The items are frames for frame methods and videos for clip methods. Each
    class is walked through a fresh permutation per pass, so every item is
    seen once before any is seen twice.
    """

    def __init__(self, label: np.ndarray, domain: str, rng: np.random.Generator) -> None:
        self.rng = rng
        self.pools = [np.flatnonzero(label == c) for c in (1, 0)]
        self.orders = [np.empty(0, dtype=np.int64) for _ in self.pools]
        if any(len(p) == 0 for p in self.pools):
            missing = "live" if len(self.pools[0]) == 0 else "spoof"
            raise DgfasError(f"domain {domain} has no {missing} training frames")

    def _take(self, cls: int, n: int) -> np.ndarray:
        taken = []
        while n > 0:
            if len(self.orders[cls]) == 0:
                self.orders[cls] = self.rng.permutation(self.pools[cls])
            part, self.orders[cls] = self.orders[cls][:n], self.orders[cls][n:]
            taken.append(part)
            n -= len(part)
        return np.concatenate(taken)

    def draw(self, batch_size: int) -> np.ndarray:
        live = batch_size // 2
        return np.concatenate([self._take(0, live), self._take(1, batch_size - live)])


class DomainBatches:
    """Draws one domain's training batches: single frames, or clips for a clip method.

    A clip method gets ``batch_per_domain // clip_length`` clips (at least
    one live and one spoof), so a step sees about as many images either way.
    """

    def __init__(self, frames: FrameSet, clip_length: int, rng: np.random.Generator) -> None:
        self.rng = rng
        self.clips = VideoClips(frames, clip_length) if clip_length > 1 else None
        label = self.clips.label if self.clips is not None else frames.label
        self.sampler = BalancedSampler(label, frames.domain, rng)

    def draw_rows(self, batch_per_domain: int) -> np.ndarray:
        """(B,) frame rows, or (B, T) rows of B clips."""
        if self.clips is None:
            return self.sampler.draw(batch_per_domain)
        videos = self.sampler.draw(max(2, batch_per_domain // self.clips.length))
        return self.clips.random_clips(videos, self.rng)


class TrainingBatches:
    """Every step's batches of the source domains, drawn in order and assembled where the model runs.

    On an accelerator the frames are cached on the device when
    :meth:`FrameTensors.nbytes` of all domains stays within ``cache_share``
    of its memory; otherwise a background thread assembles the next step
    while the current one trains (``prefetch`` forces the choice). Either way the draws happen here, in the
    caller's thread, so :meth:`state` (the generator and sampler state right
    after the last delivered step's draws) resumes the exact sequence, even
    though the prefetcher has already drawn one step further.
    """

    def __init__(self, source_train: dict[str, FrameSet], maps: tuple[str, ...], clip_length: int,
                 batch_per_domain: int, augment: bool, rng: np.random.Generator, device: torch.device,
                 memory_format: torch.memory_format = torch.channels_last, cache_share: float = 0.5,
                 prefetch: bool | None = None) -> None:
        self.rng = rng
        self.batch_per_domain = batch_per_domain
        self.augment = augment
        self.samplers = {d: DomainBatches(fs, clip_length, rng) for d, fs in source_train.items()}
        needed = sum(FrameTensors.nbytes(fs, maps) for fs in source_train.values())
        self.on_device = (device.type == "cuda"
                          and needed <= cache_share * torch.cuda.get_device_properties(device).total_memory)
        self.tensors = {d: FrameTensors(fs, maps, device, memory_format, cache=self.on_device)
                        for d, fs in source_train.items()}
        if prefetch is None:
            prefetch = device.type == "cuda" and not self.on_device
        self._prefetcher = ThreadPoolExecutor(1, "dgfas-batches") if prefetch else None
        self._pending: Future | None = None
        self._state = self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        return {
            "numpy_rng": self.rng.bit_generator.state,
            "sampler_orders": {d: list(s.sampler.orders) for d, s in self.samplers.items()},
        }

    def state(self) -> dict[str, Any]:
        """What resumes the sequence after the last step :meth:`next` returned."""
        return self._state

    def load_state(self, state: dict[str, Any]) -> None:
        if self._pending is not None:
            raise RuntimeError("cannot restore batch state while a step is prefetched")
        self.rng.bit_generator.state = state["numpy_rng"]
        for domain, orders in state["sampler_orders"].items():
            self.samplers[domain].sampler.orders = list(orders)
        self._state = self._snapshot()

    def _draw(self) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
        draws = []
        for domain, sampler in self.samplers.items():
            rows = sampler.draw_rows(self.batch_per_domain)
            flip = self.rng.random(len(rows)) < 0.5 if self.augment else None
            draws.append((domain, rows, flip))
        return draws

    def _assemble(self, draws: list[tuple[str, np.ndarray, np.ndarray | None]]) -> dict[str, Batch]:
        return {domain: self.tensors[domain].batch(rows, flip) for domain, rows, flip in draws}

    def next(self, prefetch: bool = True) -> dict[str, Batch]:
        """This step's batches by domain; with ``prefetch`` the prefetcher (if any) starts on the next step's."""
        if self._pending is not None:
            batches, self._pending = self._pending.result(), None
        else:
            batches = self._assemble(self._draw())
        self._state = self._snapshot()
        if self._prefetcher is not None and prefetch:
            self._pending = self._prefetcher.submit(self._assemble, self._draw())
        return batches

    def close(self) -> None:
        if self._prefetcher is not None:
            self._prefetcher.shutdown(wait=True, cancel_futures=True)
            self._pending = None
