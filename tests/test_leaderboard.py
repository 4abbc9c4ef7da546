"""Leaderboard steps: aggregate math, rendering against golden files, reported rows, writing.

Regenerate the golden files after an intended change of output with
``DGFAS_UPDATE_GOLDEN=1 pytest tests/test_leaderboard.py`` and review the diff.
"""

import io
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from dgfas.errors import DgfasError
from dgfas.tracking.leaderboard import (
    AVERAGE,
    REPORTED_COLUMNS,
    REPORTED_CSV,
    aggregate,
    header_info,
    latest_per_seed,
    read_records_csv,
    read_reported,
    render_csv,
    render_markdown,
    write_leaderboard,
)

TESTS = Path(__file__).resolve().parent
FIXTURE = TESTS / "fixtures" / "run_records.csv"
GOLDEN = TESTS / "golden"
SUITE = "synthetic-quick"


@pytest.fixture
def records() -> pd.DataFrame:
    return read_records_csv(FIXTURE)


def _render(records: pd.DataFrame, **rules: str) -> tuple[str, str]:
    aggregated = aggregate(records, **rules)
    info = header_info(records, **rules)
    reported = read_reported()
    return (
        render_markdown(aggregated, reported=reported, suite=SUITE, header_info=info),
        render_csv(aggregated, reported=reported, suite=SUITE, header_info=info),
    )


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("DGFAS_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8", newline="")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; DGFAS_UPDATE_GOLDEN=1 regenerates it"


def test_render_matches_golden_files(records):
    markdown, csv_text = _render(records)
    _check_golden("leaderboard.md", markdown)
    _check_golden("leaderboard.csv", csv_text)


def _cell(aggregated: pd.DataFrame, method: str, protocol: str) -> pd.Series:
    return aggregated.set_index(["method", "protocol"]).loc[(method, protocol)]


def test_aggregate_mean_and_standard_error_by_hand():
    # HTER 0.10, 0.12, 0.14: mean 0.12, sample std 0.02, SE 0.02 / sqrt(3).
    # HTER 0.20, 0.30 (one seed only of the other protocol's three): mean 0.25, SE 0.05.
    records = pd.DataFrame(
        {
            "method": ["m"] * 5,
            "protocol": ["OCI-M"] * 3 + ["C-I"] * 2,
            "seed": [0, 1, 2, 0, 1],
            "target_test.video.hter.dev_eer": [0.10, 0.12, 0.14, 0.20, 0.30],
            "target_test.video.auc": [0.90, 0.90, 0.90, 0.80, 0.70],
        }
    )
    aggregated = aggregate(records)
    first = _cell(aggregated, "m", "OCI-M")
    assert first["n_seeds"] == 3
    assert first["hter_mean"] == pytest.approx(0.12)
    assert first["hter_se"] == pytest.approx(0.02 / math.sqrt(3))
    assert first["auc_se"] == pytest.approx(0.0)
    second = _cell(aggregated, "m", "C-I")
    assert (second["hter_mean"], second["hter_se"]) == (pytest.approx(0.25), pytest.approx(0.05))
    assert (second["auc_mean"], second["auc_se"]) == (pytest.approx(0.75), pytest.approx(0.05))
    average = _cell(aggregated, "m", AVERAGE)
    assert average["hter_mean"] == pytest.approx((0.12 + 0.25) / 2)
    assert average["hter_se"] == pytest.approx(math.sqrt((0.02 / math.sqrt(3)) ** 2 + 0.05**2) / 2)
    assert average["n_seeds"] == 2
    # Canonical protocol order (leave-one-out before cross-test), Average last.
    assert aggregated["protocol"].tolist() == ["OCI-M", "C-I", AVERAGE]


def test_aggregate_single_seed_has_no_standard_error_and_incomplete_method_no_average():
    records = pd.DataFrame(
        {
            "method": ["a", "a", "b"],
            "protocol": ["OCI-M", "OMI-C", "OCI-M"],
            "seed": [0, 0, 0],
            "target_test.video.hter.dev_eer": [0.1, 0.2, 0.3],
            "target_test.video.auc": [0.9, 0.8, 0.7],
        }
    )
    aggregated = aggregate(records)
    assert math.isnan(_cell(aggregated, "a", "OCI-M")["hter_se"])
    assert math.isnan(_cell(aggregated, "b", AVERAGE)["hter_mean"])
    assert _cell(aggregated, "a", AVERAGE)["hter_mean"] == pytest.approx(0.15)
    info = header_info(records.assign(data_source="synthetic", preset="quick", selection_rule="last"))
    markdown = render_markdown(aggregated, reported=read_reported(), suite=SUITE, header_info=info)
    assert "| a | 10.00 / 90.00 | 20.00 / 80.00 | 15.00 / 85.00 |" in markdown
    assert "| b | 30.00 / 70.00 | – | – |" in markdown


def test_aggregate_uses_the_requested_threshold_rule_and_level(records):
    oracle = _cell(aggregate(records, threshold_rule="oracle_eer"), "erm", "OCI-M")
    honest = _cell(aggregate(records), "erm", "OCI-M")
    frame = _cell(aggregate(records, level="frame"), "erm", "OCI-M")
    assert oracle["hter_mean"] == pytest.approx(0.10)
    assert honest["hter_mean"] == pytest.approx(0.12)
    assert frame["hter_mean"] == pytest.approx(0.13)


def test_aggregate_refuses_missing_metric_and_duplicate_seeds(records):
    with pytest.raises(DgfasError, match="target_test.frame.hter.oracle_eer"):
        aggregate(records, level="frame", threshold_rule="oracle_eer")
    with pytest.raises(DgfasError, match="unknown level"):
        aggregate(records, level="clip")
    with pytest.raises(DgfasError, match="several runs"):
        aggregate(pd.concat([records, records.iloc[:1]]))


def test_latest_per_seed_keeps_the_newest_run(records):
    repeated = pd.concat([records.assign(start_time=1), records.iloc[:1].assign(start_time=2)])
    repeated.iloc[-1, repeated.columns.get_loc("target_test.video.hter.dev_eer")] = 0.5
    kept = latest_per_seed(repeated)
    assert len(kept) == len(records)
    first = kept[(kept["method"] == "erm") & (kept["protocol"] == "OCI-M") & (kept["seed"] == 0)]
    assert first["target_test.video.hter.dev_eer"].item() == 0.5


def test_reported_rows_only_for_protocols_in_the_suite(records):
    markdown, csv_text = _render(records[records["protocol"] == "OCI-M"])
    reported_part = markdown.split("## Reported in papers", 1)[1]
    assert "| Method | O&C&I→M | Citation |" in reported_part
    assert "MADDG (CVPR 2019), reported | 17.69 / 88.06 |" in reported_part
    # BASN's cross-test rows (C-I, I-C) and other leave-one-out columns stay out.
    assert "BASN" not in markdown and "O&M&I→C" not in markdown
    reported_rows = pd.read_csv(io.StringIO(csv_text)).query("kind == 'reported'")
    assert set(reported_rows["protocol"]) == {"OCI-M"}
    assert len(reported_rows) == 11


def test_oracle_threshold_is_named_in_every_computed_table_header(records):
    markdown, _ = _render(records, threshold_rule="oracle_eer")
    computed = markdown.split("## Computed", 1)[1].split("## Reported", 1)[0]
    header = next(line for line in computed.splitlines() if line.startswith("| Method"))
    assert all("(oracle)" in cell for cell in header.strip("| ").split(" | ")[1:])
    assert "oracle" in computed.splitlines()[0]
    honest, _ = _render(records)
    assert "(oracle)" not in honest.split("## Reported", 1)[0]


def test_oracle_selection_rule_also_marks_the_table(records):
    markdown, _ = _render(records.assign(selection_rule="oracle"))
    assert "| Method | O&C&I→M (oracle) |" in markdown


def test_reported_csv_shape():
    reported = read_reported(REPORTED_CSV)
    assert tuple(reported.columns) == REPORTED_COLUMNS
    assert not reported.duplicated(["method", "protocol", "source"]).any()
    counts = reported.groupby("protocol").size().to_dict()
    # 11 leave-one-out rows per target (HTER and AUC), 11 cross-test rows (HTER only).
    assert counts == {"OCI-M": 11, "OMI-C": 11, "OCM-I": 11, "ICM-O": 11, "C-I": 11, "I-C": 11}
    cross = reported[reported["protocol"].isin(["C-I", "I-C"])]
    assert (cross["auc"] == "").all()
    assert reported.loc[(reported["method"] == "BASN") & (reported["protocol"] == "C-I"), "hter"].item() == "23.6"


def test_write_leaderboard_writes_both_files(records, tmp_path):
    markdown_path, csv_path = write_leaderboard(SUITE, tmp_path / "boards", records=records)
    assert (markdown_path.name, csv_path.name) == (f"{SUITE}.md", f"{SUITE}.csv")
    expected_markdown, expected_csv = _render(records)
    assert markdown_path.read_text(encoding="utf-8") == expected_markdown
    assert csv_path.read_text(encoding="utf-8") == expected_csv
    oracle_paths = write_leaderboard(SUITE, tmp_path / "boards", records=records, threshold_rule="oracle_eer")
    assert [path.name for path in oracle_paths] == [f"{SUITE}-oracle_eer.md", f"{SUITE}-oracle_eer.csv"]
    # No temporary files left behind.
    assert sorted(path.name for path in (tmp_path / "boards").iterdir()) == sorted(
        [f"{SUITE}.md", f"{SUITE}.csv", f"{SUITE}-oracle_eer.md", f"{SUITE}-oracle_eer.csv"]
    )


def test_write_leaderboard_refuses_mixed_selection_rules(records, tmp_path):
    mixed = records.assign(selection_rule=["last"] * 5 + ["source_val"] * (len(records) - 5))
    with pytest.raises(DgfasError, match="one selection_rule"):
        write_leaderboard(SUITE, tmp_path, records=mixed)
    markdown_path, _ = write_leaderboard(SUITE, tmp_path, records=mixed, selection_rule="source_val")
    assert markdown_path.name == f"{SUITE}.md"  # the default rule keeps the plain name
    markdown_path, _ = write_leaderboard(SUITE, tmp_path, records=mixed, selection_rule="last")
    assert markdown_path.name == f"{SUITE}-last.md"
    assert "Model selection: `last`" in markdown_path.read_text()
    with pytest.raises(DgfasError, match="no finished runs"):
        write_leaderboard(SUITE, tmp_path, records=records.iloc[:0])
