"""``dgfas leaderboard``: write a suite's leaderboards from its MLflow runs, or compare its board with another's."""

from __future__ import annotations

import argparse
from pathlib import Path

from dgfas.cli.options import DEFAULT_PRESET, DeprecatedAlias, add_leaderboard_dir, add_verbose


def cmd_leaderboard(args: argparse.Namespace) -> int:
    import tempfile

    from dgfas.tracking.leaderboard import write_leaderboard

    def write(out: Path, html: bool) -> tuple[Path, ...]:
        return write_leaderboard(
            args.suite, out, threshold_rule=args.threshold_rule, level=args.level,
            selection_rule=args.selection_rule or None, method=args.method or None, html=html,
            draw_rule=args.draw_rule or None, include_stale=args.include_stale,
        )

    if args.compare is not None:
        import pandas as pd

        from dgfas.tracking.compare import compare, format_comparison, read_table

        other = read_table(args.compare)  # a bad file fails before the store is read
        with tempfile.TemporaryDirectory(prefix="dgfas-compare-") as scratch:
            ours = pd.concat([read_table(path) for path in write(Path(scratch), html=False) if path.suffix == ".csv"],
                             ignore_index=True)
        print(format_comparison(compare(ours, other), f"suite {args.suite}", str(args.compare)), end="")
        return 0
    for path in write(args.leaderboard_dir, args.html):
        print(path)
    return 0


def leaderboard_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", default=f"synthetic-{DEFAULT_PRESET}")
    add_leaderboard_dir(parser)
    parser.add_argument("--out", dest="leaderboard_dir", type=Path, action=DeprecatedAlias, replacement="--leaderboard-dir")
    parser.add_argument("--threshold-rule", choices=("dev_eer", "oracle_eer"), default="dev_eer")
    parser.add_argument("--level", choices=("frame", "video"), default="video")
    parser.add_argument("--selection-rule", default="", help="only runs selected by this rule (needed when a suite mixes rules)")
    parser.add_argument("--method", default="",
                        help="only this method and its variants (<method>[...]), written to <suite>-<method>.md and .csv")
    parser.add_argument("--draw-rule", default="",
                        help="how a sweep's hyper-parameter draws are chosen per cell: source_val (default), loso, "
                             "oracle")
    parser.add_argument("--include-stale", action="store_true",
                        help="also show runs of older code or protocol files, as rows marked (stale)")
    parser.add_argument("--html", action="store_true",
                        help="also write <suite>.html: sortable tables, ROC curves and predicted maps, self-contained")
    parser.add_argument("--compare", type=Path, default=None, metavar="OTHER.csv",
                        help="write nothing; print each cell of this store's board beside the same cell of OTHER.csv "
                             "(a leaderboard CSV or leaderboards/reported.csv), their difference and whether it lies "
                             "inside the combined 95%% interval")
    add_verbose(parser)
