"""How long the command line takes to answer, and how much memory it needs, before any real work.

Each command runs in a fresh interpreter under ``python -X importtime``; the
figures are the minimum over ``--repeats`` runs of: the wall-clock time of
the whole command (what a user waits for; ``-X importtime`` adds a little),
the import time (the sum of ``-X importtime``'s self times, wall clock), the
process's CPU time (user + system; above the wall clock once numpy is
imported, since each OpenBLAS thread spins as it starts) and its peak resident
memory (``wait4``'s ``ru_maxrss``, what
``/usr/bin/time -v`` reports), with whether torch was imported. The goal is
``dgfas --help``, ``dgfas list`` and ``dgfas data index`` on a small tree in
under 0.5 s and 150 MB. On a busy machine wall-clock figures (import time
included) inflate with the load; CPU time and memory do not.

``data index`` reads a small CASIA-FASD tree of empty files (2 subjects per
split, 48 videos) that the script writes to a temporary folder, so its figures
are import time, not file listing. ``--source`` measures another checkout of
dgfas (e.g. one of an older commit) with the same commands.

    python benchmarks/cli_startup.py [--repeats 3] [--source DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: Runs ``dgfas`` with the arguments after ``-c``'s code, as the installed ``dgfas`` script does.
RUN_CLI = "import sys; from dgfas.cli import main; sys.exit(main(sys.argv[1:]))"
CASIA_STEMS = [*map(str, range(1, 9)), "HR_1", "HR_2", "HR_3", "HR_4"]


@dataclass(frozen=True)
class Startup:
    wall_s: float
    import_s: float
    cpu_s: float
    max_rss_mb: float
    imports_torch: bool


def write_casia_tree(root: Path, subjects: int = 2) -> Path:
    """CASIA-FASD's distributed layout with ``subjects`` subjects per split, every video an empty file."""
    for folder in ("train_release", "test_release"):
        for subject in range(1, subjects + 1):
            (root / folder / str(subject)).mkdir(parents=True, exist_ok=True)
            for stem in CASIA_STEMS:
                (root / folder / str(subject) / f"{stem}.avi").touch()
    return root


def measure(args: list[str], source: Path, scratch: Path) -> Startup:
    """One run of ``dgfas args`` with ``source`` first on the path; a failing command is an error."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))}
    with open(scratch / "stdout", "wb") as out, open(scratch / "stderr", "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-X", "importtime", "-c", RUN_CLI, *args],
                                   stdout=out, stderr=err, env=env, cwd=scratch)
        _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = (scratch / "stderr").read_text(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"dgfas {' '.join(args)} exited {process.returncode}: {stderr[-2000:]}")
    self_us, modules = 0, set()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        self_us += int(own)
        modules.add(name.strip())
    return Startup(wall_s, self_us / 1e6, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, "torch" in modules)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per command; the minimum is shown (default 3)")
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="the checkout whose dgfas is measured (default: this one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dgfas-cli-startup-") as folder:
        scratch = Path(folder)
        tree = write_casia_tree(scratch / "casia")
        commands = {
            "dgfas --help": ["--help"],
            "dgfas list": ["list"],
            "dgfas data index casia (48 videos)": ["data", "index", "casia", str(tree), "--out", str(scratch / "i.csv")],
            "dgfas benchmark --help": ["benchmark", "--help"],
        }
        print(f"dgfas from {args.source}; minimum of {args.repeats} runs each")
        print(f"{'command':<36} {'wall s':>7} {'import s':>9} {'CPU s':>7} {'max RSS MB':>11}  torch imported")
        for name, command in commands.items():
            runs = [measure(command, args.source.resolve(), scratch) for _ in range(args.repeats)]
            print(f"{name:<36} {min(r.wall_s for r in runs):>7.2f} {min(r.import_s for r in runs):>9.2f} {min(r.cpu_s for r in runs):>7.2f} "
                  f"{min(r.max_rss_mb for r in runs):>11.0f}  {'yes' if any(r.imports_torch for r in runs) else 'no'}")


if __name__ == "__main__":
    main()
