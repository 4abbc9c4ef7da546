"""``dgfas list``: the names in every registry (named ``list_`` so that it shadows no builtin in the package)."""

from __future__ import annotations

import argparse


def cmd_list(args: argparse.Namespace) -> int:
    from dgfas.listing import registries

    for registry in registries():
        print(f"{registry.kind}s: {', '.join(registry.names())}")
    return 0
