"""Leaderboard headers state each row's backbone, width and initialization, and say when rows mix initializations."""

import dataclasses

import pandas as pd

from dgfas.algorithms import ALGORITHMS, get_algorithm
from dgfas.models import MODELS, get_model
from dgfas.tracking.row_setup import METHODS_DOC, SETUP_COLUMNS, documented_methods, setup_lines


def _records(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Two seeds per (row name, backbone, width, weights)."""
    return pd.DataFrame(
        [(name, seed, model, width, weights) for name, model, width, weights in rows for seed in (0, 1)],
        columns=["method", "seed", *SETUP_COLUMNS],
    )


def test_each_row_states_backbone_width_and_initialization_and_points_to_its_method():
    lines = setup_lines(_records([
        ("erm", "resnet18", "0.5", "none"),
        ("basn[auxiliary=none]", "vgg16", "0.25", "none"),
    ]))
    assert "- Row `basn[auxiliary=none]`: vgg16 at width 0.25, random initialization (`docs/methods.md#basn`)" in lines
    assert "- Row `erm`: resnet18 at width 0.5, random initialization (`docs/methods.md#erm`)" in lines
    assert not any("Mixed" in line for line in lines)


def test_a_table_mixing_initializations_says_so_and_names_the_rows():
    lines = setup_lines(_records([
        ("erm", "resnet18", "1.0", "imagenet"),
        ("pyramid[model=cdcn]", "cdcn", "1.0", "none"),
        ("basn", "vgg16", "1.0", "/weights/vgg16-from-a-fas-run.pth"),
    ]))
    assert "- Row `erm`: resnet18 at width 1.0, ImageNet (torchvision) (`docs/methods.md#erm`)" in lines
    assert ("- Row `basn`: vgg16 at width 1.0, weights from `/weights/vgg16-from-a-fas-run.pth` "
            "(`docs/methods.md#basn`)") in lines
    mixed = [line for line in lines if line.startswith("- **Mixed initializations:**")]
    assert len(mixed) == 1
    assert "ImageNet (torchvision): `erm`" in mixed[0] and "random initialization: `pyramid[model=cdcn]`" in mixed[0]


def test_runs_of_one_row_with_different_setups_are_all_listed():
    records = pd.concat([_records([("erm", "resnet18", "0.5", "none")]),
                         _records([("erm", "resnet18", "0.5", "imagenet")])])
    (row,) = [line for line in setup_lines(records) if line.startswith("- Row `erm`")]
    assert "resnet18 at width 0.5, ImageNet (torchvision); resnet18 at width 0.5, random initialization" in row
    assert any(line.startswith("- **Mixed initializations:**") for line in setup_lines(records))


def test_records_without_the_params_read_as_not_recorded_and_a_plugin_has_no_entry():
    records = pd.DataFrame({"method": ["my_plugin", "erm"], "seed": [0, 0]})
    lines = setup_lines(records)
    assert "- Row `my_plugin`: not recorded by its runs (no entry in `docs/methods.md`)" in lines
    assert not any("Mixed" in line for line in lines)


def test_a_csv_of_records_reads_widths_as_numbers_and_they_still_show(tmp_path):
    path = tmp_path / "records.csv"
    _records([("erm", "resnet18", "0.5", "none")]).to_csv(path, index=False)
    assert "- Row `erm`: resnet18 at width 0.5, random initialization (`docs/methods.md#erm`)" in setup_lines(
        pd.read_csv(path))


def test_every_registered_method_has_a_section_in_the_methods_doc():
    assert set(ALGORITHMS) <= documented_methods(METHODS_DOC)


def test_every_run_logs_the_params_the_header_reads():
    """ResolvedRun.params logs ``algorithm.<field>`` and ``model.<field>``: every method names its backbone
    and every backbone has a width and weights."""
    for name in ALGORITHMS:
        assert "model" in {f.name for f in dataclasses.fields(get_algorithm(name).Config)}, name
    for name in MODELS:
        assert {"width", "weights"} <= {f.name for f in dataclasses.fields(get_model(name).config)}, name
