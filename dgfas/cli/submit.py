"""``dgfas submit``: check score files made outside dgfas and log them as a leaderboard row."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dgfas.cli.options import add_preset
from dgfas.cli.runs import add_data_options, run_data_options


def cmd_submit(args: argparse.Namespace) -> int:
    from dgfas.metric_names import TARGET_AUC, TARGET_HTER
    from dgfas.submission import submit
    from dgfas.submitted_scores import SubmissionRejected

    try:
        runs = submit(args.name, args.scores, preset=args.preset, data_source=args.data,
                      data=run_data_options(args), selection_rule=args.selection_rule)
    except SubmissionRejected as rejected:
        for problem in rejected.problems:
            print(problem, file=sys.stderr)
        raise
    for run in runs:
        m = run.metrics
        print(f"{args.name} on {run.protocol}: HTER {100 * m[TARGET_HTER]:.1f}% "
              f"(dev_eer threshold), AUC {100 * m[TARGET_AUC]:.1f}%, MLflow run {run.run_id}")
    print(f"see it with: dgfas leaderboard --suite {args.data}-{args.preset}")
    return 0


def submit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="the leaderboard row's name (not a registered method)")
    parser.add_argument("--scores", type=Path, required=True,
                        help="folder with <protocol>/source_val.frame.csv and <protocol>/target_test.frame.csv")
    add_preset(parser, "the preset whose frames were scored")
    parser.add_argument("--data", default="synthetic", help="the data source whose frames were scored")
    parser.add_argument("--selection-rule", default="source_val", help="the model-selection rule the scores' model was chosen by")
    add_data_options(parser)
