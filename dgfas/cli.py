"""The ``dgfas`` command line; ``main(argv)`` runs in-process for tests.

Every user-facing failure is a :class:`DgfasError` and comes out as one line,
``dgfas: error: ...``, with exit status 2. A subcommand imports what it needs
(torch, MLflow, the benchmark) only when it runs, and its options are added
only when it parses (:class:`_LazyParser`), so ``dgfas --help`` and ``dgfas
data index`` answer without loading torch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from dgfas import interrupts
from dgfas.errors import DgfasError
from dgfas.verbosity import verbose

#: The preset every command defaults to: the committed leaderboard's. ``make benchmark`` runs ``fast`` instead, a
#: smoke test sized to the ten-minute budget on two CPU cores (README, "Presets").
DEFAULT_PRESET = "quick"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line like every other dgfas failure: ``dgfas: error: argument --jobs: ...``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"dgfas: error: {message}\n")


def _integer(minimum: int) -> Callable[[str], int]:
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


def _finite(text: str) -> float:
    """An argparse type: a finite number (``nan`` would make every comparison false)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _csv_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _seeds(text: str) -> list[int]:
    """``--seeds 0,1,2`` as integers; anything else is one line naming the bad item."""
    seeds = []
    for item in _csv_list(text):
        if not item.isdecimal():
            raise DgfasError(f"--seeds: '{item}' is not an integer 0 or more (give comma-separated seeds, e.g. 0,1,2)")
        seeds.append(int(item))
    if not seeds:
        raise DgfasError("--seeds: no seed given (give comma-separated integers, e.g. 0,1,2)")
    return seeds


def _split_overrides(items: list[str]) -> dict[str, dict[str, str]]:
    """``algorithm.lr=1e-4`` -> {"algorithm": {"lr": "1e-4"}}; the group must be named."""
    from dgfas.config import parse_assignments

    groups: dict[str, dict[str, str]] = {"algorithm": {}, "model": {}, "trainer": {}}
    for key, value in parse_assignments(items).items():
        group, dot, name = key.partition(".")
        if not dot or group not in groups:
            raise DgfasError(f"override {key!r} must start with one of {sorted(groups)} (e.g. algorithm.lr=1e-4)")
        groups[group][name] = value
    return groups


def _specs(args: argparse.Namespace, protocols: list[str], methods: list[str], seeds: list[int]) -> list:
    """The jobs, each one's settings resolved and checked before the first builds data or logs a run."""
    from dgfas.trainer import RunSpec, resolve_settings

    overrides = _split_overrides(args.set)
    specs = [
        RunSpec(
            protocol=protocol,
            method=method,
            seed=seed,
            preset=args.preset,
            data_source=args.data,
            algorithm_overrides=overrides["algorithm"],
            model_overrides=overrides["model"],
            trainer_overrides=overrides["trainer"],
        )
        for protocol in protocols
        for method in methods
        for seed in seeds
    ]
    for spec in specs:
        resolve_settings(spec)
    return specs


def _validate_names(protocols: list[str], methods: list[str], preset: str, data: str) -> None:
    """Fail on a bad name before any data is generated or any run starts."""
    from dgfas.algorithms import get_algorithm
    from dgfas.data.sources import DATA_SOURCES
    from dgfas.presets import get_preset
    from dgfas.protocols import check_distinct, get_protocol

    get_preset(preset)
    DATA_SOURCES.get(data)
    for method in methods:
        get_algorithm(method)
    check_distinct([get_protocol(protocol) for protocol in protocols])


def _roots(items: list[str]) -> tuple[tuple[str, str], ...]:
    """``--root oulu=/data/OULU-NPU`` options as (corpus, folder) pairs."""
    from dgfas.data.corpora import CORPORA

    pairs = []
    for item in items:
        corpus, sep, folder = item.partition("=")
        if not sep or not corpus or not folder:
            raise DgfasError(f"--root {item!r}: expected CORPUS=FOLDER, e.g. oulu=/data/OULU-NPU")
        CORPORA.get(corpus)
        pairs.append((corpus, folder))
    return tuple(pairs)


def _run_data_options(args: argparse.Namespace):
    """Where a run's data lives and how a missing cache is built; the preset fills in size and scale."""
    from dgfas.data.registry import DataOptions

    return DataOptions(cache_dir=args.cache, workers=args.workers, progress=_progress(args),
                       roots=_roots(args.root), frames_per_video=args.frames_per_video)


def _grid(args: argparse.Namespace) -> tuple[list[str], list[str], list[int]]:
    """Protocols, methods and seeds of ``benchmark`` and ``sweep``; by default leave-one-out, every method, seed 0."""
    from dgfas.algorithms import ALGORITHMS
    from dgfas.protocols import LEAVE_ONE_OUT, expand_folds

    # a fold protocol named without its fold runs every fold (OULU-P3 -> OULU-P3@1, ..., OULU-P3@6)
    protocols = [name for given in _csv_list(args.protocols) for name in expand_folds(given)] if args.protocols \
        else list(LEAVE_ONE_OUT)
    methods = _csv_list(args.methods) if args.methods else ALGORITHMS.names()
    seeds = _seeds(args.seeds)
    _validate_names(protocols, methods, args.preset, args.data)
    return protocols, methods, seeds


def cmd_benchmark(args: argparse.Namespace) -> int:
    from dgfas.benchmark import run_benchmark

    protocols, methods, seeds = _grid(args)
    run_benchmark(
        _specs(args, protocols, methods, seeds),
        data=_run_data_options(args),
        runs_dir=args.runs_dir,
        leaderboard_dir=args.leaderboard_dir,
    )
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from dgfas.launchers import Failed, LauncherOptions
    from dgfas.sweep import run_sweep, with_draws, with_holdouts

    options = LauncherOptions(jobs=args.jobs, cluster=args.cluster, slurm_partition=args.slurm_partition,
                              timeout_min=args.timeout_min)
    protocols, methods, seeds = _grid(args)
    specs = with_draws(_specs(args, protocols, methods, seeds), args.draws)
    results = run_sweep(
        with_holdouts(specs) if args.loso else specs,
        data=_run_data_options(args),
        runs_dir=args.runs_dir,
        leaderboard_dir=args.leaderboard_dir,
        launcher=args.launcher,
        options=options,
        draw_rule="loso" if args.loso else None,
    )
    return 1 if any(isinstance(result, Failed) for result in results) else 0


def cmd_train(args: argparse.Namespace) -> int:
    from dgfas import distributed
    from dgfas.benchmark import run_job
    from dgfas.tracking.mlflow_store import open_store

    _validate_names([args.protocol], [args.method], args.preset, args.data)
    (spec,) = _specs(args, [args.protocol], [args.method], [args.seed])
    launch = distributed.from_environment()
    if launch is None or launch.is_main:  # the process that logs the run
        open_store([spec.suite])
    outcome = run_job(spec, data=_run_data_options(args), runs_dir=args.runs_dir)
    if launch is None or launch.is_main:  # under torchrun, process 0 answers for the run
        print(json.dumps({"run_key": outcome.run_key, "status": outcome.status, **outcome.metrics}, indent=1))
    return 0


def cmd_metrics(args: argparse.Namespace) -> int:
    from dgfas.scores import evaluate_score_file, format_report

    result = evaluate_score_file(args.scores, level=args.level, dev_path=args.dev, threshold=args.threshold)
    print(json.dumps(result) if args.json else format_report(result))
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    from dgfas.submission import SubmissionRejected, submit

    try:
        runs = submit(args.name, args.scores, preset=args.preset, data_source=args.data,
                      data=_run_data_options(args), selection_rule=args.selection_rule)
    except SubmissionRejected as rejected:
        for problem in rejected.problems:
            print(problem, file=sys.stderr)
        raise
    for run in runs:
        m = run.metrics
        print(f"{args.name} on {run.protocol}: HTER {100 * m['target_test.video.hter.dev_eer']:.1f}% "
              f"(dev_eer threshold), AUC {100 * m['target_test.video.auc']:.1f}%, MLflow run {run.run_id}")
    print(f"see it with: dgfas leaderboard --suite {args.data}-{args.preset}")
    return 0


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


def cmd_ui(args: argparse.Namespace) -> int:
    from dgfas.tracking.ui import run_ui

    return run_ui(args.host, args.port)


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
        progress=_progress(args),
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
    from dgfas.data.corpora.cache import PrepareConfig
    from dgfas.data.corpora.prepare import prepare_corpus

    config = PrepareConfig(frames_per_video=args.frames_per_video, size=args.size, margin=args.margin)
    index = index_corpus(args.dataset, args.root)
    if index.stray:
        print(f"{len(index.stray)} file(s) not indexed (not part of {args.dataset} as distributed)", file=sys.stderr)
    result = prepare_corpus(index, args.cache, config, no_face=args.no_face, workers=args.workers,
                            device=args.device, progress=_progress(args))
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


def cmd_list(args: argparse.Namespace) -> int:
    from dgfas.listing import registries

    for registry in registries():
        print(f"{registry.kind}s: {', '.join(registry.names())}")
    return 0


class _LazyParser(_Parser):
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


class _Version(argparse.Action):
    """``--version``: the package's version and the code hash of each method's runs, computed only when asked."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs) -> None:
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0,
                         help="print the version and the code hash each method's runs are keyed by (loads every method), "
                              "then exit")

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(_version_text())
        parser.exit()


def _version_text() -> str:
    """The version, then the code hash (:mod:`dgfas.code_identity`) a run records, per method on its default backbone.

    These are the hashes a leaderboard's header and each MLflow run's
    ``code_hash`` param show, so a run can be matched to the code in hand.
    """
    import dgfas
    from dgfas.algorithms import ALGORITHMS
    from dgfas.code_identity import code_hash, submission_code_hash

    rows = []
    for method in ALGORITHMS.names():
        model = getattr(ALGORITHMS.get(method).Config(), "model", None)  # as trainer.ResolvedRun.code_hash reads it
        rows.append((f"{method} ({model})" if model else method, code_hash(method, model)))
    rows.append(("submissions (dgfas submit)", submission_code_hash()))
    width = max(len(name) for name, _ in rows)
    return "\n".join([f"dgfas {dgfas.__version__}",
                      "code hash of a run (dgfas.code_identity), by method on its default backbone:",
                      *(f"  {name:<{width}}  {digest}" for name, digest in rows)])


class _DeprecatedAlias(argparse.Action):
    """An option's old name, kept for one release: it sets the new option and says on stderr to use the new name."""

    def __init__(self, option_strings: list[str], dest: str, replacement: str, **kwargs) -> None:
        self.replacement = replacement
        super().__init__(option_strings, dest, default=argparse.SUPPRESS,
                         help=f"deprecated name of {replacement}, removed in the next release", **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"dgfas: warning: {option_string} is deprecated and goes in the next release; use {self.replacement}",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def _add_leaderboard_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--leaderboard-dir", type=Path, default=Path("leaderboards"),
                        help="folder the leaderboards are written to (default: leaderboards)")


def _add_preset(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--preset", default=DEFAULT_PRESET, help=f"{what} (default: {DEFAULT_PRESET})")


def _add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars (default: only when standard error is a terminal; off a terminal, "
                             "benchmark and sweep print one line per finished job)")


def _add_verbose(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", action="store_true",
                        help="also show third-party libraries' INFO lines (TensorFlow Lite, MLflow)")


def _progress(args: argparse.Namespace) -> bool:
    """``--progress`` / ``--no-progress`` as given, else bars only on a terminal (not in a SLURM or CI log)."""
    return sys.stderr.isatty() if args.progress is None else args.progress


def _add_grid_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocols", default="", help="comma-separated protocol names (default: the four leave-one-out)")
    parser.add_argument("--methods", default="", help="comma-separated methods (default: every registered one)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    _add_leaderboard_dir(parser)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    from dgfas.paths import default_runs_dir

    _add_preset(parser, "tiny, fast, quick or paper")
    parser.add_argument("--data", default="synthetic", help="data source binding domain letters to datasets")
    parser.add_argument("--set", action="append", default=[], metavar="GROUP.KEY=VALUE",
                        help="override a hyper-parameter, e.g. algorithm.lr=1e-4, model.width=1.0, trainer.steps=50")
    parser.add_argument("--runs-dir", type=Path, default=default_runs_dir(), help="score files (default .dgfas/runs)")
    _add_data_options(parser)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    """Where data lives and how a missing cache is built: every command that loads a protocol's frames."""
    from dgfas.paths import default_cache_dir

    parser.add_argument("--cache", type=Path, default=default_cache_dir(), help="frame cache (default .dgfas/cache)")
    parser.add_argument("--workers", type=_integer(1), default=2, help="processes for building data caches")
    _add_progress(parser)
    _add_verbose(parser)
    parser.add_argument("--root", action="append", default=[], metavar="CORPUS=FOLDER",
                        help="where a real corpus lies, for --data real, e.g. --root oulu=/data/OULU-NPU")
    parser.add_argument("--frames-per-video", type=_integer(0), default=10,
                        help="frames a real corpus is prepared with, when its cache is missing (default 10)")


def _benchmark_options(parser: argparse.ArgumentParser) -> None:
    _add_grid_options(parser)
    _add_run_options(parser)


def _sweep_options(parser: argparse.ArgumentParser) -> None:
    from dgfas.launchers import LAUNCHERS

    _benchmark_options(parser)
    parser.add_argument("--draws", type=_integer(0), default=0,
                        help="random draws from each method's search space, besides its defaults (draw 0; default: 0)")
    parser.add_argument("--loso", action="store_true",
                        help="also train each job once per source domain without it, and choose draws by the mean EER "
                             "on the held-out source (leave-one-source-domain-out)")
    parser.add_argument("--launcher", default="sequential",
                        help=f"where jobs run: {', '.join(LAUNCHERS.names())} (default: sequential)")
    parser.add_argument("--jobs", type=_integer(1), default=1, help="jobs at a time: local's processes, Slurm's array parallelism")
    parser.add_argument("--cluster", choices=("local", "slurm"), default="local",
                        help="submitit's cluster: subprocesses here, or Slurm (default: local)")
    parser.add_argument("--slurm-partition", default="", help="Slurm partition (default: the cluster's)")
    parser.add_argument("--timeout-min", type=_integer(1), default=60, help="time limit of one submitit job in minutes (default 60)")


def _train_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", required=True, help="protocol name or .toml path")
    parser.add_argument("--method", required=True)
    parser.add_argument("--seed", type=_integer(0), default=0)
    _add_run_options(parser)


def _metrics_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scores", help="CSV with video_id,frame,label,score[,attack_type,domain]")
    rule = parser.add_mutually_exclusive_group()
    rule.add_argument("--dev", help="dev score file: use its EER threshold (classical PAD rule)")
    rule.add_argument("--threshold", type=_finite, help="a fixed threshold")
    parser.add_argument("--level", choices=("frame", "video"), default="video")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _submit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="the leaderboard row's name (not a registered method)")
    parser.add_argument("--scores", type=Path, required=True,
                        help="folder with <protocol>/source_val.frame.csv and <protocol>/target_test.frame.csv")
    _add_preset(parser, "the preset whose frames were scored")
    parser.add_argument("--data", default="synthetic", help="the data source whose frames were scored")
    parser.add_argument("--selection-rule", default="source_val", help="the model-selection rule the scores' model was chosen by")
    _add_data_options(parser)


def _leaderboard_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", default=f"synthetic-{DEFAULT_PRESET}")
    _add_leaderboard_dir(parser)
    parser.add_argument("--out", dest="leaderboard_dir", type=Path, action=_DeprecatedAlias, replacement="--leaderboard-dir")
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
    _add_verbose(parser)


def _ui_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=_integer(1), default=5000, help="port the UI listens on (default: 5000)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address the UI listens on (default: 127.0.0.1, this machine only)")
    _add_verbose(parser)


def _synthetic_options(parser: argparse.ArgumentParser) -> None:
    """``data generate`` and ``data audit``: the synthetic domains at a preset's image size and scale."""
    from dgfas.paths import default_cache_dir

    _add_preset(parser, "takes image size and scale from this preset")
    parser.add_argument("--scale", default="", help="dataset size: tiny, fast, quick or paper (default: the preset's)")
    parser.add_argument("--size", type=_integer(0), default=0, help="image side in pixels (default: the preset's)")
    parser.add_argument("--data-seed", type=_integer(0), default=0)
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument("--workers", type=_integer(1), default=2)
    _add_progress(parser)


def _index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", help="corpus adapter: casia, msu, oulu, replay, siw")
    parser.add_argument("root", type=Path, help="the corpus's root folder, as distributed")
    parser.add_argument("--out", type=Path, help="write the index CSV here (default: standard output)")
    parser.add_argument("--protocol", default="", help="only the videos this intra protocol selects, with their "
                        "role and fold (checked against the corpus's own lists where it ships them)")
    parser.add_argument("--fold", type=_integer(1), default=None, help="the protocol's fold (default: every fold)")


def _prepare_options(parser: argparse.ArgumentParser) -> None:
    from dgfas.data.corpora.faces import MARGIN
    from dgfas.data.corpora.prepare import DEFAULT_NO_FACE, NO_FACE_POLICIES
    from dgfas.paths import default_cache_dir

    parser.add_argument("dataset", help="corpus adapter: casia, msu, oulu, replay, siw")
    parser.add_argument("root", type=Path, help="the corpus's root folder, as distributed")
    parser.add_argument("--cache", type=Path, default=default_cache_dir())
    parser.add_argument("--frames-per-video", type=_integer(0), default=10, help="frames kept per video, uniformly spread (0: all)")
    parser.add_argument("--size", type=_integer(8), default=256, help="side of the square face crops (default 256)")
    parser.add_argument("--margin", type=_finite, default=MARGIN, help=f"context around the face box, per side (default {MARGIN})")
    parser.add_argument("--workers", type=_integer(1), default=2, help="processes, each with its own face detector")
    parser.add_argument("--device", default="cpu", help="torch device of the face detector")
    parser.add_argument("--no-face", choices=NO_FACE_POLICIES, default=None,
                        help="a video with no face in any frame: left out (skip) or cropped at its centre; default: "
                             f"as the cache was prepared, else {DEFAULT_NO_FACE}")
    _add_progress(parser)
    _add_verbose(parser)


def _verify_options(parser: argparse.ArgumentParser) -> None:
    from dgfas.paths import default_cache_dir

    parser.add_argument("--cache", type=Path, default=default_cache_dir(), help="frame cache (default .dgfas/cache)")


def build_parser() -> argparse.ArgumentParser:
    """The ``dgfas`` parser; each subcommand's options are added only when it parses (:class:`_LazyParser`)."""
    parser = _Parser(prog="dgfas", description="Domain-generalized face anti-spoofing benchmark")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_LazyParser)

    def command(group, name: str, handler: Callable[[argparse.Namespace], int], summary: str,
                options: Callable[[argparse.ArgumentParser], None] | None) -> None:
        group.add_parser(name, help=summary, configure=options).set_defaults(handler=handler)

    command(commands, "benchmark", cmd_benchmark,
            "run protocols x methods x seeds into MLflow and write the leaderboard", _benchmark_options)
    command(commands, "sweep", cmd_sweep, "benchmark x random hyper-parameter draws, run by a launcher", _sweep_options)
    command(commands, "train", cmd_train, "one run: a method on a protocol", _train_options)
    command(commands, "metrics", cmd_metrics, "HTER, EER, AUC, APCER/BPCER/ACER of a score file", _metrics_options)
    command(commands, "submit", cmd_submit, "check score files made outside dgfas and log them as a leaderboard row",
            _submit_options)
    command(commands, "leaderboard", cmd_leaderboard, "write leaderboards/<suite>.md and .csv from MLflow runs",
            _leaderboard_options)
    command(commands, "ui", cmd_ui, "start MLflow's UI on the tracking store and print the URL of each suite's runs "
            "table with the headline metrics", _ui_options)

    data = commands.add_parser("data", help="data caches").add_subparsers(
        dest="data_command", required=True, parser_class=_LazyParser)
    command(data, "generate", cmd_data_generate, "build the synthetic domains' cache", _synthetic_options)
    command(data, "audit", cmd_data_audit,
            "shortcut audit: can global image statistics tell live from spoof across domains?", _synthetic_options)
    command(data, "index", cmd_data_index, "index a real corpus's videos from its file names (no video is opened)",
            _index_options)
    command(data, "prepare", cmd_data_prepare,
            "decode, detect and crop faces, make auxiliary labels, cache the frames", _prepare_options)
    command(data, "verify", cmd_data_verify, "read every cache entry against the checksums written with it; "
            "one line per damaged entry, exit 1 if any", _verify_options)

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


if __name__ == "__main__":
    sys.exit(main())
