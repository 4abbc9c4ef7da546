"""``dgfas data``: build, audit, index, prepare and verify the data caches, one small command each.

The five share one module, as they share the ``data`` parent command: each
is short, and ``generate`` and ``audit`` take the same options.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dgfas.cli.options import add_preset, add_progress, add_verbose, finite, integer, progress
from dgfas.errors import DgfasError


def _data_options(args: argparse.Namespace):
    from dgfas.data.registry import DataOptions
    from dgfas.presets import get_preset

    preset = get_preset(args.preset)
    return DataOptions(
        cache_dir=args.cache,
        image_size=args.size or preset.image_size,
        scale=args.scale or preset.data_scale,
        seed=args.data_seed,
        workers=args.workers,
        progress=progress(args),
    )


def cmd_data_generate(args: argparse.Namespace) -> int:
    from dgfas.data.synthetic.domains import DOMAINS
    from dgfas.data.synthetic.generate import build_synthetic

    for name, path in build_synthetic(list(DOMAINS), _data_options(args)).items():
        print(f"{name}: {path}")
    return 0


def cmd_data_audit(args: argparse.Namespace) -> int:
    from dgfas.data.synthetic.audit import run_shortcut_audit

    result = run_shortcut_audit(_data_options(args))
    print(json.dumps(result, indent=1))
    return 0


def cmd_data_index(args: argparse.Namespace) -> int:
    from dgfas.data.corpora import index_corpus, write_index

    if args.fold is not None and not args.protocol:
        raise DgfasError("--fold needs --protocol")
    index = index_corpus(args.dataset, args.root)
    if args.protocol:
        from dgfas.data.intra import index_selection

        table = index_selection(index, args.protocol, args.fold)
    else:
        table = index.table()
    if args.out:
        print(f"index: {write_index(table, args.out)}", file=sys.stderr)
    else:
        print(table.to_csv(index=False, lineterminator="\n"), end="")
    if args.protocol:
        counts = table.groupby(["fold", "role"], sort=False).size().rename("videos").reset_index()
        print(f"{args.protocol}: {len(table)} selected video rows", file=sys.stderr)
        print(counts.to_string(index=False), file=sys.stderr)
    print(f"{args.dataset}: {len(index.videos)} videos", file=sys.stderr)
    print(index.summary().to_string(index=False), file=sys.stderr)
    if index.stray:
        shown = ", ".join(index.stray[:10]) + (", ..." if len(index.stray) > 10 else "")
        print(f"{len(index.stray)} file(s) not indexed (not part of {args.dataset} as distributed): {shown}", file=sys.stderr)
    return 0


def cmd_data_prepare(args: argparse.Namespace) -> int:
    from dgfas.data.corpora import index_corpus
    from dgfas.data.corpora.cache_identity import PrepareConfig
    from dgfas.data.corpora.prepare import prepare_corpus

    config = PrepareConfig(frames_per_video=args.frames_per_video, size=args.size, margin=args.margin)
    index = index_corpus(args.dataset, args.root)
    if index.stray:
        print(f"{len(index.stray)} file(s) not indexed (not part of {args.dataset} as distributed)", file=sys.stderr)
    result = prepare_corpus(index, args.cache, config, no_face=args.no_face, workers=args.workers,
                            device=args.device, progress=progress(args))
    print(result.summary())
    print(f"report: {result.folder / 'report.csv'}")
    return 0


def cmd_data_verify(args: argparse.Namespace) -> int:
    from dgfas.data.verify import verify_caches

    checked, problems = verify_caches(args.cache)
    for problem in problems:
        print(problem)
    print(f"{args.cache}: {checked} cache entries read against their checksums, {len(problems)} problem(s)",
          file=sys.stderr)
    return 1 if problems else 0


def synthetic_options(parser: argparse.ArgumentParser) -> None:
    """``data generate`` and ``data audit``: the synthetic domains at a preset's image size and scale."""
    from dgfas.paths import default_cache_dir

    add_preset(parser, "takes image size and scale from this preset")
    parser.add_argument("--scale", default="", help="dataset size: tiny, fast, quick or paper (default: the preset's)")
    parser.add_argument("--size", type=integer(0), default=0, help="image side in pixels (default: the preset's)")
    parser.add_argument("--data-seed", type=integer(0), default=0)
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument("--workers", type=integer(1), default=2)
    add_progress(parser)


def index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="corpus adapter: casia, msu, oulu, replay, siw")
    parser.add_argument("root", type=Path, help="the corpus's root folder, as distributed")
    parser.add_argument("--out", type=Path, help="write the index CSV here (default: standard output)")
    parser.add_argument("--protocol", default="", help="only the videos this intra protocol selects, with their "
                        "role and fold (checked against the corpus's own lists where it ships them)")
    parser.add_argument("--fold", type=integer(1), default=None, help="the protocol's fold (default: every fold)")


def prepare_options(parser: argparse.ArgumentParser) -> None:
    from dgfas.data.corpora.faces import MARGIN
    from dgfas.data.corpora.video_preparer import DEFAULT_NO_FACE, NO_FACE_POLICIES
    from dgfas.paths import default_cache_dir

    parser.add_argument("dataset", help="corpus adapter: casia, msu, oulu, replay, siw")
    parser.add_argument("root", type=Path, help="the corpus's root folder, as distributed")
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument("--frames-per-video", type=integer(0), default=10, help="frames kept per video, uniformly spread (0: all)")
    parser.add_argument("--size", type=integer(8), default=256, help="side of the square face crops (default 256)")
    parser.add_argument("--margin", type=finite, default=MARGIN, help=f"context around the face box, per side (default {MARGIN})")
    parser.add_argument("--workers", type=integer(1), default=2, help="processes, each with its own face detector")
    parser.add_argument("--device", default="cpu", help="torch device of the face detector")
    parser.add_argument("--no-face", choices=NO_FACE_POLICIES, default=None,
                        help="a video with no face in any frame: left out (skip) or cropped at its centre; default: "
                             f"as the cache was prepared, else {DEFAULT_NO_FACE}")
    add_progress(parser)
    add_verbose(parser)


def verify_options(parser: argparse.ArgumentParser) -> None:
    from dgfas.paths import default_cache_dir

    parser.add_argument("--cache", type=Path, default=default_cache_dir(), help="frame cache (default .dgfas/cache)")
