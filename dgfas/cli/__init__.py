"""The ``dgfas`` command line; ``main(argv)`` runs in-process for tests.

Every user-facing failure is a :class:`DgfasError` and comes out as one line,
``dgfas: error: ...``, with exit status 2. Each subcommand lives in its own
module of this package, which imports what the command needs (torch, MLflow,
the benchmark) only when it runs; its options are added only when it parses
(:class:`~dgfas.cli.options.LazyParser`), so ``dgfas --help`` and ``dgfas data
index`` answer without loading torch.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from dgfas import interrupts
from dgfas.cli.benchmark import benchmark_options, cmd_benchmark
from dgfas.cli.data import (
    cmd_data_audit,
    cmd_data_generate,
    cmd_data_index,
    cmd_data_prepare,
    cmd_data_verify,
    index_options,
    prepare_options,
    synthetic_options,
    verify_options,
)
from dgfas.cli.leaderboard import cmd_leaderboard, leaderboard_options
from dgfas.cli.list_ import cmd_list
from dgfas.cli.metrics import cmd_metrics, metrics_options
from dgfas.cli.options import LazyParser, Parser
from dgfas.cli.submit import cmd_submit, submit_options
from dgfas.cli.sweep import cmd_sweep, sweep_options
from dgfas.cli.train import cmd_train, train_options
from dgfas.cli.ui import cmd_ui, ui_options
from dgfas.cli.version import Version
from dgfas.errors import DgfasError
from dgfas.verbosity import verbose


def build_parser() -> argparse.ArgumentParser:
    """The ``dgfas`` parser; each subcommand's options are added only when it parses (:class:`LazyParser`)."""
    parser = Parser(prog="dgfas", description="Domain-generalized face anti-spoofing benchmark")
    parser.add_argument("--version", action=Version)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=LazyParser)

    def command(group, name: str, handler: Callable[[argparse.Namespace], int], summary: str,
                options: Callable[[argparse.ArgumentParser], None] | None) -> None:
        group.add_parser(name, help=summary, configure=options).set_defaults(handler=handler)

    command(commands, "benchmark", cmd_benchmark,
            "run protocols x methods x seeds into MLflow and write the leaderboard", benchmark_options)
    command(commands, "sweep", cmd_sweep, "benchmark x random hyper-parameter draws, run by a launcher", sweep_options)
    command(commands, "train", cmd_train, "one run: a method on a protocol", train_options)
    command(commands, "metrics", cmd_metrics, "HTER, EER, AUC, APCER/BPCER/ACER of a score file", metrics_options)
    command(commands, "submit", cmd_submit, "check score files made outside dgfas and log them as a leaderboard row",
            submit_options)
    command(commands, "leaderboard", cmd_leaderboard, "write leaderboards/<suite>.md and .csv from MLflow runs",
            leaderboard_options)
    command(commands, "ui", cmd_ui, "start MLflow's UI on the tracking store and print the URL of each suite's runs "
            "table with the headline metrics", ui_options)

    data = commands.add_parser("data", help="data caches").add_subparsers(
        dest="data_command", required=True, parser_class=LazyParser)
    command(data, "generate", cmd_data_generate, "build the synthetic domains' cache", synthetic_options)
    command(data, "audit", cmd_data_audit,
            "shortcut audit: can global image statistics tell live from spoof across domains?", synthetic_options)
    command(data, "index", cmd_data_index, "index a real corpus's videos from its file names (no video is opened)",
            index_options)
    command(data, "prepare", cmd_data_prepare,
            "decode, detect and crop faces, make auxiliary labels, cache the frames", prepare_options)
    command(data, "verify", cmd_data_verify, "read every cache entry against the checksums written with it; "
            "one line per damaged entry, exit 1 if any", verify_options)

    command(commands, "list", cmd_list, "every registered protocol, method, model, dataset, rule", None)
    return parser


@contextlib.contextmanager
def _stop_signals() -> Iterator[None]:
    """SIGTERM and SIGINT go to :func:`dgfas.interrupts.handle` while a command runs; the previous handlers come back after.

    SIGINT is left alone where it is ignored (a job started in the background
    by a non-interactive shell), as Python leaves it.
    """
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    stop_signals = [signal.SIGTERM] + ([signal.SIGINT] if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN else [])
    previous = {signum: signal.signal(signum, interrupts.handle) for signum in stop_signals}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> int:
    """Run one command; exit 2 on a :class:`DgfasError`, 130 on Ctrl-C and 143 on SIGTERM (128 + the signal)."""
    args = build_parser().parse_args(argv)
    try:
        with _stop_signals(), verbose(getattr(args, "verbose", False)):
            return args.handler(args)
    except DgfasError as err:
        print(f"dgfas: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        signum = signal.SIGTERM if isinstance(interrupt, interrupts.Terminated) else signal.SIGINT
        print(f"dgfas: {signum.name}: finished runs are kept, the next run resumes from the last checkpoint",
              file=sys.stderr)
        return 128 + signum
