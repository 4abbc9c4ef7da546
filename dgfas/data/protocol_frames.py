"""The frames a run of a protocol trains and is scored on, at its preset's image size and scale.

A run and a score submission must see the very same frames, so both load
them here: the source training frames by domain, source validation and
target test, each sampled to the protocol's frames per video.
"""

from __future__ import annotations

import dataclasses

from dgfas.data.frames import FrameSet, concat_frames, sample_frames
from dgfas.data.registry import DataOptions, get_dataset
from dgfas.data.sources import bind_domain
from dgfas.presets import Preset
from dgfas.protocols import Protocol


def preset_data_options(preset: Preset, data: DataOptions) -> DataOptions:
    """``data`` at the preset's image size and dataset scale: the frames every run of the preset sees."""
    return dataclasses.replace(data, image_size=preset.image_size, scale=preset.data_scale)


def load_domain_frames(
    data_source: str, letter: str, splits: tuple[str, ...], per_video: int, options: DataOptions
) -> FrameSet:
    """Domain ``letter``'s frames of ``splits``, ``per_video`` frames kept per video."""
    loader = get_dataset(bind_domain(data_source, letter))
    return sample_frames(concat_frames([loader(split, options=options) for split in splits]), per_video)


def load_protocol_frames(
    protocol: Protocol, data_source: str, options: DataOptions, train_sources: list[str]
) -> tuple[dict[str, FrameSet], FrameSet, FrameSet]:
    """(source training frames by domain, source validation, target test) of a run of ``protocol``.

    An intra protocol's roles train, dev and test play the three parts, on
    its one domain (:mod:`dgfas.data.intra`); a cross-domain protocol takes
    its splits of its domains.
    """
    if protocol.kind == "intra":
        from dgfas.data.intra import load_role_frames

        roles = load_role_frames(protocol, data_source, options)
        return ({protocol.target: sample_frames(roles["train"], protocol.frames.train)},
                sample_frames(roles["dev"], protocol.frames.eval), sample_frames(roles["test"], protocol.frames.eval))
    source_train = {
        d: load_domain_frames(data_source, d, protocol.source_train, protocol.frames.train, options)
        for d in train_sources
    }
    return (source_train, *load_evaluation_frames(protocol, data_source, options))


def load_evaluation_frames(protocol: Protocol, data_source: str, options: DataOptions) -> tuple[FrameSet, FrameSet]:
    """(source validation, target test): the frames a run of ``protocol`` is scored on.

    Score submissions (:mod:`dgfas.submission`) are checked against these
    very frames, so a submitted score file covers what a dgfas run scores.
    """
    if protocol.kind == "intra":
        return load_protocol_frames(protocol, data_source, options, [protocol.target])[1:]
    source_val = concat_frames([
        load_domain_frames(data_source, d, protocol.source_val, protocol.frames.eval, options) for d in protocol.sources
    ])
    target_test = load_domain_frames(data_source, protocol.target, protocol.target_test, protocol.frames.eval, options)
    return source_val, target_test
