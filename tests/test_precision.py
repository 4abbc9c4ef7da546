"""Run precision: what ``auto`` means, and every registered method training and scoring under bf16 autocast.

On the CPU autocast runs FFTs and linear algebra in fp32 by itself, which a
CUDA run does not; the tests therefore check the dtypes the methods hand to
such operations, not only that a CPU run survives.
"""

import dataclasses

import pytest
import torch

from dgfas.algorithms import ALGORITHMS, Batch, get_algorithm
from dgfas.algorithms.triplet import one_side_triplet_loss
from dgfas.config import with_overrides
from dgfas.data.frames import PARSING_CLASSES
from dgfas.errors import DgfasError
from dgfas.models import get_model
from dgfas.precision import autocast, in_fp32, resolve_precision

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("name", "device", "resolved"),
    [
        ("auto", "cuda", "bf16"),
        ("auto", "cpu", "fp32"),
        ("fp32", "cuda", "fp32"),
        ("bf16", "cuda", "bf16"),
        ("bf16", "cpu", "bf16"),
    ],
)
def test_resolve_precision_means_bf16_on_cuda_and_fp32_on_the_cpu(name, device, resolved):
    assert resolve_precision(name, torch.device(device)) == resolved


def test_unknown_precision_is_a_one_line_error_naming_the_setting():
    with pytest.raises(DgfasError, match=r"trainer\.precision") as error:
        resolve_precision("fp16", torch.device("cuda"))
    assert "\n" not in str(error.value) and "'fp16'" in str(error.value)


def test_bf16_autocasts_and_in_fp32_turns_it_off_for_a_region():
    layer = torch.nn.Linear(4, 4)
    x = torch.randn(2, 4)
    with autocast("fp32", CPU):
        assert layer(x).dtype == torch.float32
    with autocast("bf16", CPU):
        assert layer(x).dtype == torch.bfloat16
        with in_fp32(CPU):
            assert layer(x).dtype == torch.float32
        assert layer(x).dtype == torch.bfloat16


def test_a_forward_pass_after_an_optimizer_step_under_one_autocast_sees_the_new_weights():
    torch.manual_seed(0)
    layer = torch.nn.Linear(4, 4)
    optimizer = torch.optim.SGD(layer.parameters(), lr=1.0)
    x = torch.randn(2, 4)
    with autocast("bf16", CPU):
        before = layer(x)
        before.float().square().sum().backward()
        optimizer.step()
        after = layer(x)
    assert not torch.equal(before, after)


def _tiny_algorithm(name: str, domains: list[str]):
    cls = get_algorithm(name)
    config = cls.Config()
    entry = get_model(config.model)
    fields = {f.name for f in dataclasses.fields(entry.config)}
    return cls(config, with_overrides(entry.config(), {"width": 0.125} if "width" in fields else {}), domains)


def _synthetic_batch(algorithm, size: int = 32, videos: int = 4) -> Batch:
    """Half live, half spoof, every map the method asks for; clips of ``clip_length`` frames for a clip method."""
    label = torch.arange(videos).remainder(2).float()
    frames = (videos,) if algorithm.clip_length == 1 else (videos, algorithm.clip_length)
    per_frame = label.view(-1, *[1] * (len(frames) - 1)).expand(frames)  # (B,) or (B, T)
    image = torch.randn(*frames, 3, size, size) + per_frame[..., None, None, None]
    fields = {}
    if "depth" in algorithm.maps:
        fields["depth"] = per_frame[..., None, None, None] * torch.rand(*frames, 1, size, size)
    if "reflection" in algorithm.maps:
        fields["reflection"] = (1 - per_frame)[..., None, None, None] * torch.rand(*frames, 3, size, size) * 0.2
    if "parsing" in algorithm.maps:
        fields["parsing"] = torch.randint(0, len(PARSING_CLASSES), (*frames, size, size))
    if "pulse" in algorithm.maps:
        fields["pulse"] = per_frame * torch.sin(torch.arange(frames[-1]).float()).expand(frames)
    return Batch(image=image, label=label, **fields)


@pytest.mark.parametrize("name", ALGORITHMS.names())
def test_every_method_trains_and_scores_under_bf16_autocast(name):
    torch.manual_seed(0)
    domains = ["a", "b"]
    algorithm = _tiny_algorithm(name, domains)
    batches = {domain: _synthetic_batch(algorithm) for domain in domains}
    with autocast("bf16", CPU):
        for _ in range(2):
            losses = algorithm.update(batches)
            assert losses and all(torch.isfinite(torch.tensor(v)) for v in losses.values()), losses
        scores = algorithm.predict(batches["a"].image)
        frames = batches["a"].image if algorithm.clip_length == 1 else batches["a"].image[:, 0]
        maps = algorithm.predict_maps(frames)
    assert scores.dtype == torch.float32 and scores.shape == batches["a"].label.shape
    assert torch.all(torch.isfinite(scores) & (scores >= 0) & (scores <= 1))
    assert all(value.dtype == torch.float32 and torch.isfinite(value).all() for value in maps.values())


def test_auxiliary_hands_its_fft_float32_under_bf16_autocast(monkeypatch):
    # On the CPU autocast would cast the FFT's input itself; on CUDA it does not and cuFFT has no bf16 kernel.
    calls = []
    rfft = torch.fft.rfft

    def spy(signal, *args, **kwargs):
        calls.append((signal.dtype, torch.is_autocast_enabled(signal.device.type)))
        return rfft(signal, *args, **kwargs)

    monkeypatch.setattr(torch.fft, "rfft", spy)
    torch.manual_seed(0)
    algorithm = _tiny_algorithm("auxiliary", ["a", "b"])
    batches = {domain: _synthetic_batch(algorithm, videos=2) for domain in ("a", "b")}
    with autocast("bf16", CPU):
        algorithm.update(batches)
        algorithm.predict(batches["a"].image)
    assert len(calls) >= 3  # the predicted and target spectra in update, the predicted one in predict
    assert set(calls) == {(torch.float32, False)}


def test_triplet_distances_of_nearby_bf16_embeddings_are_computed_in_fp32():
    # Embeddings 0.01 apart: in bf16, 2 - 2 a·b would put a floor of about 0.06 under every distance.
    torch.manual_seed(0)
    embedding = torch.randn(1, 64) + 0.01 * torch.randn(8, 64)
    label = torch.tensor([1.0, 1, 1, 1, 0, 0, 0, 0])
    domain = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    reference = one_side_triplet_loss(embedding, label, domain, margin=0.02)
    with autocast("bf16", CPU):
        loss = one_side_triplet_loss(embedding.bfloat16(), label, domain, margin=0.02)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, reference, rtol=0.05, atol=0.0)
