"""The parser classes, argument types and options that several ``dgfas`` subcommands share.

It imports the standard library only, so every subcommand's module can build
on it and ``dgfas --help`` still answers without loading torch.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

#: The preset every command defaults to: the committed leaderboard's. ``make benchmark`` runs ``fast`` instead, a
#: smoke test sized to the ten-minute budget on two CPU cores (README, "Presets").
DEFAULT_PRESET = "quick"


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line like every other dgfas failure: ``dgfas: error: argument --jobs: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"dgfas: error: {message}\n")


class LazyParser(Parser):
    """A subcommand's parser whose options are added when that subcommand parses.

    Some options' help names registered things (launchers, face policies),
    and finding them imports the modules that register them; deferring that
    to the subcommand that is run keeps ``dgfas --help`` and the light
    commands free of torch, MLflow and the benchmark.

    Args:
        configure: adds the parser's options; None for one that has none of its own.
    """

    def __init__(self, *args, configure: Callable[[argparse.ArgumentParser], None] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._configure = configure

    def parse_known_args(self, args=None, namespace=None):
        if self._configure is not None:
            configure, self._configure = self._configure, None
            configure(self)
        return super().parse_known_args(args, namespace)


def integer(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum``; argparse's error names the flag."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    return parse


def finite(text: str) -> float:
    """An argparse type: a finite number (``nan`` would make every comparison false)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


class DeprecatedAlias(argparse.Action):
    """An option's old name, kept for one release: it sets the new option and says on stderr to use the new name."""

    def __init__(self, option_strings: list[str], dest: str, replacement: str, **kwargs) -> None:
        self.replacement = replacement
        super().__init__(option_strings, dest, default=argparse.SUPPRESS,
                         help=f"deprecated name of {replacement}, removed in the next release", **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"dgfas: warning: {option_string} is deprecated and goes in the next release; use {self.replacement}",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_leaderboard_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leaderboard-dir", type=Path, default=Path("leaderboards"),
                        help="folder the leaderboards are written to (default: leaderboards)")


def add_preset(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--preset", default=DEFAULT_PRESET, help=f"{what} (default: {DEFAULT_PRESET})")


def add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars (default: only when standard error is a terminal; off a terminal, "
                             "benchmark and sweep print one line per finished job)")


def add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true",
                        help="also show third-party libraries' INFO lines (TensorFlow Lite, MLflow)")


def progress(args: argparse.Namespace) -> bool:
    """``--progress`` / ``--no-progress`` as given, else bars only on a terminal (not in a SLURM or CI log)."""
    return sys.stderr.isatty() if args.progress is None else args.progress
