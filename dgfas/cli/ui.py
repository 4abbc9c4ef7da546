"""``dgfas ui``: MLflow's UI on the tracking store, with the URL of each suite's runs table."""

from __future__ import annotations

import argparse

from dgfas.cli.options import add_verbose, integer


def cmd_ui(args: argparse.Namespace) -> int:
    from dgfas.tracking.ui import run_ui

    return run_ui(args.host, args.port)


def ui_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=integer(1), default=5000, help="port the UI listens on (default: 5000)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address the UI listens on (default: 127.0.0.1, this machine only)")
    add_verbose(parser)
