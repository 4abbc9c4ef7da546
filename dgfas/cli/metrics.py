"""``dgfas metrics``: HTER, EER, AUC and APCER/BPCER/ACER of a score file, as a report or one JSON object."""

from __future__ import annotations

import argparse
import json

from dgfas.cli.options import finite


def cmd_metrics(args: argparse.Namespace) -> int:
    from dgfas.scores import evaluate_score_file, format_report

    result = evaluate_score_file(args.scores, level=args.level, dev_path=args.dev, threshold=args.threshold)
    print(json.dumps(result) if args.json else format_report(result))
    return 0


def metrics_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scores", help="CSV with video_id,frame,label,score[,attack_type,domain]")
    rule = parser.add_mutually_exclusive_group()
    rule.add_argument("--dev", help="dev score file: use its EER threshold (classical PAD rule)")
    rule.add_argument("--threshold", type=finite, help="a fixed threshold")
    parser.add_argument("--level", choices=("frame", "video"), default="video")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
