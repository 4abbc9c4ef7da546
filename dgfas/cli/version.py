"""``dgfas --version``: the package's version and the code hash each method's runs are keyed by."""

from __future__ import annotations

import argparse


class Version(argparse.Action):
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
        model = getattr(ALGORITHMS.get(method).Config(), "model", None)  # as run.ResolvedRun.code_hash reads it
        rows.append((f"{method} ({model})" if model else method, code_hash(method, model)))
    rows.append(("submissions (dgfas submit)", submission_code_hash()))
    width = max(len(name) for name, _ in rows)
    return "\n".join([f"dgfas {dgfas.__version__}",
                      "code hash of a run (dgfas.code_identity), by method on its default backbone:",
                      *(f"  {name:<{width}}  {digest}" for name, digest in rows)])
