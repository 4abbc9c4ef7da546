"""Leaderboard steps: aggregate math, per-kind tables, rendering against golden files,
reported rows, writing, one method's variant board.

Regenerate the golden files after an intended change of output with
``DGFAS_UPDATE_GOLDEN=1 pytest tests/test_leaderboard.py`` and review the diff.
The golden files show intervals: their runs' score files are built from the
records by ``fixture_scores``; the by-hand tests render without them.
"""

import io
import math
import os
from pathlib import Path

import pandas as pd
import pytest
from fixture_scores import write_fixture_scores

from dgfas.cli import main
from dgfas.errors import DgfasError
from dgfas.protocols import get_protocol
from dgfas.tracking import stored_runs
from dgfas.tracking.aggregation import aggregate, literature_table
from dgfas.tracking.csv import render_csv
from dgfas.tracking.header import header_info
from dgfas.tracking.leaderboard import write_leaderboard
from dgfas.tracking.markdown import render_markdown
from dgfas.tracking.counted_runs import artifacts_in_folder, load_run_scores, one_run_per_cell, read_records_csv
from dgfas.tracking.reported import REPORTED_COLUMNS, REPORTED_CSV, read_reported
from dgfas.tracking.table_order import AVERAGE

TESTS = Path(__file__).resolve().parent
FIXTURE = TESTS / "fixtures" / "run_records.csv"
GOLDEN = TESTS / "golden"
SUITE = "synthetic-quick"


@pytest.fixture
def records() -> pd.DataFrame:
    return read_records_csv(FIXTURE)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """The fixture runs' score files, as the leaderboard fetches them."""
    return artifacts_in_folder(write_fixture_scores(read_records_csv(FIXTURE), tmp_path_factory.mktemp("scores")))


def _render(records: pd.DataFrame, artifacts=None, **rules: str) -> tuple[str, str]:
    scores = None if artifacts is None else load_run_scores(records, artifacts, **rules)
    aggregated = aggregate(records, scores=scores, **rules)
    info = header_info(records, **rules)
    literature = literature_table(records, info, artifacts=artifacts)
    reported = read_reported()
    return (
        render_markdown(aggregated, reported=reported, suite=SUITE, header_info=info, records=records,
                        literature=literature),
        render_csv(aggregated, reported=reported, suite=SUITE, header_info=info, literature=literature),
    )


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("DGFAS_UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8", newline="")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; DGFAS_UPDATE_GOLDEN=1 regenerates it"


def test_render_matches_golden_files(records, artifacts):
    markdown, csv_text = _render(records, artifacts)
    _check_golden("leaderboard.md", markdown)
    _check_golden("leaderboard.csv", csv_text)


def _cell(aggregated: pd.DataFrame, method: str, protocol: str) -> pd.Series:
    return aggregated.set_index(["method", "protocol"]).loc[(method, protocol)]


def _average(aggregated: pd.DataFrame, method: str, kind: str) -> pd.Series:
    rows = aggregated[(aggregated["protocol"] == AVERAGE) & (aggregated["protocol_kind"] == kind)]
    return rows.set_index("method").loc[method]


def test_aggregate_mean_and_standard_error_by_hand():
    # HTER 0.10, 0.12, 0.14: mean 0.12, sample std 0.02, SE 0.02 / sqrt(3).
    # HTER 0.20, 0.30 (one seed only of the other protocol's three): mean 0.25, SE 0.05.
    records = pd.DataFrame(
        {
            "method": ["m"] * 5,
            "protocol": ["OCI-M"] * 3 + ["OMI-C"] * 2,
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
    second = _cell(aggregated, "m", "OMI-C")
    assert (second["hter_mean"], second["hter_se"]) == (pytest.approx(0.25), pytest.approx(0.05))
    assert (second["auc_mean"], second["auc_se"]) == (pytest.approx(0.75), pytest.approx(0.05))
    average = _cell(aggregated, "m", AVERAGE)
    assert average["hter_mean"] == pytest.approx((0.12 + 0.25) / 2)
    assert average["hter_se"] == pytest.approx(math.sqrt((0.02 / math.sqrt(3)) ** 2 + 0.05**2) / 2)
    assert average["n_seeds"] == 2
    assert aggregated["protocol"].tolist() == ["OCI-M", "OMI-C", AVERAGE]
    assert set(aggregated["protocol_kind"]) == {"leave-one-out"}


def test_each_protocol_kind_has_its_own_average_by_hand():
    # One method, one protocol of each kind and a second cross-test:
    # leave-one-out OCI-M 0.10; limited-source MI-C 0.30; cross-test C-I 0.20, 0.40 -> 0.30 and
    # I-C 0.50 -> cross-test average (0.30 + 0.50) / 2 = 0.40. A mixed average would be 0.30.
    records = pd.DataFrame(
        {
            "method": ["m"] * 5,
            "protocol": ["I-C", "C-I", "C-I", "MI-C", "OCI-M"],
            "seed": [0, 0, 1, 0, 0],
            "target_test.video.hter.dev_eer": [0.50, 0.20, 0.40, 0.30, 0.10],
            "target_test.video.auc": [0.50, 0.80, 0.60, 0.70, 0.90],
        }
    )
    aggregated = aggregate(records)
    # Kinds in table order, the kind's Average after its own protocols.
    assert list(zip(aggregated["protocol_kind"], aggregated["protocol"])) == [
        ("leave-one-out", "OCI-M"),
        ("leave-one-out", AVERAGE),
        ("limited-source", "MI-C"),
        ("limited-source", AVERAGE),
        ("cross-test", "C-I"),
        ("cross-test", "I-C"),
        ("cross-test", AVERAGE),
    ]
    assert _average(aggregated, "m", "leave-one-out")["hter_mean"] == pytest.approx(0.10)
    assert _average(aggregated, "m", "limited-source")["hter_mean"] == pytest.approx(0.30)
    cross = _average(aggregated, "m", "cross-test")
    assert cross["hter_mean"] == pytest.approx(0.40)
    assert cross["auc_mean"] == pytest.approx(0.60)
    assert cross["n_seeds"] == 1
    # I-C has one seed, so no SE, so the cross-test average has none either.
    assert math.isnan(cross["hter_se"])


def test_five_domain_protocols_get_a_table_and_an_average_of_their_own():
    # OCI-M 0.10 (four domains) and OCIS-M 0.30, OCIM-S 0.50 (five): a mixed average would be 0.30.
    records = pd.DataFrame(
        {
            "method": ["m"] * 3,
            "protocol": ["OCIM-S", "OCIS-M", "OCI-M"],
            "seed": [0, 0, 0],
            "target_test.video.hter.dev_eer": [0.50, 0.30, 0.10],
            "target_test.video.auc": [0.50, 0.70, 0.90],
        }
    )
    aggregated = aggregate(records)
    assert list(zip(aggregated["protocol_kind"], aggregated["protocol"])) == [
        ("leave-one-out", "OCI-M"),
        ("leave-one-out", AVERAGE),
        ("leave-one-out-5", "OCIS-M"),
        ("leave-one-out-5", "OCIM-S"),
        ("leave-one-out-5", AVERAGE),
    ]
    assert _average(aggregated, "m", "leave-one-out-5")["hter_mean"] == pytest.approx(0.40)
    assert _average(aggregated, "m", "leave-one-out")["hter_mean"] == pytest.approx(0.10)


def test_intra_protocols_get_no_average_and_their_table_ranks_methods_by_name(records):
    # OULU-P1 and two folds of OULU-P3: a mean over them would weigh P3's folds as protocols.
    intra = pd.DataFrame(
        {
            "method": ["zeta", "zeta", "zeta", "alpha", "alpha", "alpha"],
            "protocol": ["OULU-P1", "OULU-P3@1", "OULU-P3@2"] * 2,
            "seed": [0] * 6,
            "target_test.video.hter.dev_eer": [0.10, 0.20, 0.30, 0.40, 0.50, 0.60],
            "target_test.video.auc": [0.90, 0.80, 0.70, 0.60, 0.50, 0.40],
        }
    )
    aggregated = aggregate(pd.concat([records, intra], ignore_index=True))
    of_intra = aggregated[aggregated["protocol_kind"] == "intra"]
    assert sorted(set(of_intra["protocol"])) == ["OULU-P1", "OULU-P3@1", "OULU-P3@2"]
    assert (aggregated["protocol_kind"] != "intra").any() and (aggregated["protocol"] == AVERAGE).any()
    info = header_info(records)
    markdown = render_markdown(aggregated, reported=read_reported(), suite=SUITE, header_info=info, records=records)
    section = _kind_sections(markdown)["Intra protocols"]
    header = next(line for line in section.splitlines() if line.startswith("| Method |"))
    assert header == "| Method | OULU-NPU P1 | OULU-NPU P3 fold 1 | OULU-NPU P3 fold 2 |"
    assert _methods_of(section)[:2] == ["alpha", "zeta"]  # by name: there is no average to rank by


def test_the_header_names_the_code_hash_of_each_backbone_a_method_ran_on(records):
    runs = records.assign(**{"algorithm.model": "resnet18"})
    assert "erm (resnet18)" not in header_info(runs).code_hashes  # one backbone: the method's name is enough
    first = runs["method"].iloc[0]
    other = runs[runs["method"] == first].assign(**{"algorithm.model": "cdcn", "code_hash": "cdcn0123"})
    hashes = header_info(pd.concat([runs, other], ignore_index=True)).code_hashes
    assert f"{first} (cdcn) cdcn0123" in hashes and f"{first} (resnet18) " in hashes


def test_intra_runs_get_a_board_of_their_own(records, tmp_path):
    # the fixture's cross-domain runs, and the same runs again as if of OULU-NPU P1
    first = records["protocol"].iloc[0]
    intra = records[records["protocol"] == first].assign(protocol="OULU-P1")
    paths = write_leaderboard(SUITE, tmp_path, records=pd.concat([records, intra], ignore_index=True))
    assert [path.name for path in paths] == [f"{SUITE}.md", f"{SUITE}.csv", f"{SUITE}-intra.md", f"{SUITE}-intra.csv"]
    cross, own = paths[0].read_text(), paths[2].read_text()
    assert "Intra protocols" not in _kind_sections(cross) and "OULU-NPU P1" not in cross
    assert list(_kind_sections(own)) == ["Intra protocols"]
    assert set(pd.read_csv(paths[3])["protocol"].dropna()) == {"OULU-P1"}
    # one method's variants stay on one board, whatever their protocols' kinds
    assert len(write_leaderboard(SUITE, tmp_path / "variants", records=intra, method=intra["method"].iloc[0])) == 2


def test_five_domain_protocols_render_in_a_table_of_their_own(records):
    five = records[records["protocol"] == "OCI-M"].assign(protocol="OCIS-M", run_id=lambda r: r["run_id"] + "-5")
    markdown, _ = _render(pd.concat([records, five], ignore_index=True))
    sections = _kind_sections(markdown)
    assert list(sections)[:2] == ["Leave-one-out protocols", "Leave-one-out-5 protocols"]
    assert "OCIS-M" not in sections["Leave-one-out protocols"]
    assert "O&C&I&S→M" in sections["Leave-one-out-5 protocols"]


def test_fixture_per_kind_averages_by_hand(records):
    aggregated = aggregate(records)
    # erm leave-one-out: OCI-M 0.10, 0.12, 0.14 -> 0.12 (SE 0.02/sqrt 3); OMI-C 0.20 x3 -> 0.20 (SE 0).
    loo = _average(aggregated, "erm", "leave-one-out")
    assert loo["hter_mean"] == pytest.approx(0.16)
    assert loo["hter_se"] == pytest.approx(0.02 / math.sqrt(3) / 2)
    # erm cross-test: C-I 0.30, 0.33, 0.36 -> 0.33 (SE 0.03/sqrt 3); I-C 0.40, 0.42, 0.44 -> 0.42 (SE 0.02/sqrt 3).
    cross = _average(aggregated, "erm", "cross-test")
    assert cross["hter_mean"] == pytest.approx(0.375)
    assert cross["hter_se"] == pytest.approx(math.sqrt(0.03**2 / 3 + 0.02**2 / 3) / 2)
    assert cross["auc_mean"] == pytest.approx(0.67)
    markdown, csv_text = _render(records)
    sections = _kind_sections(markdown)
    assert list(sections) == ["Leave-one-out protocols", "Limited-source protocols", "Cross-test protocols"]
    assert "| erm | 12.00 ± 1.15 / 92.00 ± 1.15 | 20.00 ± 0.00 / 85.00 ± 0.00 | 16.00 ± 0.58 / 88.50 ± 0.58 |" in (
        sections["Leave-one-out protocols"]
    )
    assert "| erm | 33.00 ± 1.73 / 72.00 ± 1.15 | 42.00 ± 1.15 / 62.00 ± 1.15 | 37.50 ± 1.04 / 67.00 ± 0.82 |" in (
        sections["Cross-test protocols"]
    )
    # Each table is ranked by its own average: ssdg leads leave-one-out (14.00), basn cross-test (28.00).
    assert _methods_of(sections["Leave-one-out protocols"]) == ["ssdg", "basn", "erm", "maddg"]
    assert _methods_of(sections["Cross-test protocols"]) == ["basn", "basn[auxiliary=none]", "erm", "ssdg"]
    board = pd.read_csv(io.StringIO(csv_text), keep_default_na=False)
    # The CSV goes kind by kind, each kind's methods in its table's order.
    computed = board[board["kind"] == "computed"]
    assert computed["protocol_kind"].drop_duplicates().tolist() == ["leave-one-out", "limited-source", "cross-test"]
    for kind, section in (("leave-one-out", "Leave-one-out protocols"), ("cross-test", "Cross-test protocols")):
        csv_methods = computed.loc[computed["protocol_kind"] == kind, "method"].drop_duplicates().tolist()
        assert csv_methods == _methods_of(sections[section])
    averages = board[board["protocol"] == AVERAGE]
    erm_averages = averages[averages["method"] == "erm"].set_index(["threshold_rule", "protocol_kind"])["hter_pct"]
    assert erm_averages.to_dict() == {
        ("dev_eer", "leave-one-out"): "16.0000", ("dev_eer", "cross-test"): "37.5000",
        # the literature-compatible rows: oracle checkpoint and threshold, 3 points lower in the fixture
        ("oracle_eer", "leave-one-out"): "11.0000", ("oracle_eer", "cross-test"): "32.5000",
    }


def _kind_sections(markdown: str) -> dict[str, str]:
    """Markdown of each kind's section (computed and reported tables), keyed by its heading."""
    parts = markdown.split("\n## ")[1:]
    return {part.split("\n", 1)[0]: part for part in parts}


def _methods_of(section: str) -> list[str]:
    """Row labels of a section's computed table, in order."""
    computed = section.split("### Computed", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in computed.splitlines() if line.startswith("| ")][2:]
    return [row.split(" | ", 1)[0].removeprefix("| ") for row in rows]


def test_a_method_appears_only_in_the_kinds_it_has_runs_of(records):
    markdown, csv_text = _render(records)
    sections = _kind_sections(markdown)
    # maddg needs two source domains: no cross-test runs, so no cross-test row (not a row of dashes).
    assert "maddg" in _methods_of(sections["Leave-one-out protocols"])
    assert _methods_of(sections["Limited-source protocols"]) == ["maddg"]
    assert "maddg" not in _methods_of(sections["Cross-test protocols"])
    # basn[auxiliary=none] has cross-test runs only.
    assert "basn[auxiliary=none]" not in _methods_of(sections["Leave-one-out protocols"])
    # ssdg has C-I but lacks I-C: it stays in the cross-test table without an average, ranked last,
    # while its leave-one-out average is unaffected.
    assert "| ssdg | 27.00 ± 2.00 / 82.00 ± 2.00 (n=2) | – | – |" in sections["Cross-test protocols"]
    assert "| ssdg | 10.00 ± 1.15 / 96.00 ± 0.58 | 18.00 ± 1.73 / 90.00 ± 1.15 | 14.00 ± 1.04 / 93.00 ± 0.65 |" in (
        sections["Leave-one-out protocols"]
    )
    computed = pd.read_csv(io.StringIO(csv_text), keep_default_na=False).query("kind == 'computed'")
    computed = computed[computed["threshold_rule"] == "dev_eer"]
    assert set(computed.loc[computed["method"] == "maddg", "protocol_kind"]) == {"leave-one-out", "limited-source"}
    ssdg_cross = computed[(computed["method"] == "ssdg") & (computed["protocol_kind"] == "cross-test")]
    assert ssdg_cross.set_index("protocol")["hter_pct"].to_dict() == {"C-I": "27.0000", AVERAGE: ""}


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
    markdown = render_markdown(aggregated, reported=read_reported(), suite=SUITE, header_info=info, records=records)
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


def test_one_run_per_cell_keeps_the_most_recent(records):
    repeated = pd.concat([records.assign(start_time=1), records.iloc[:1].assign(start_time=2)])
    repeated.iloc[-1, repeated.columns.get_loc("target_test.video.hter.dev_eer")] = 0.5
    kept = one_run_per_cell(repeated)
    assert len(kept) == len(records)
    first = kept[(kept["method"] == "erm") & (kept["protocol"] == "OCI-M") & (kept["seed"] == 0)]
    assert first["target_test.video.hter.dev_eer"].item() == 0.5


#: The code hash each fixture method has "now", for the stale-run tests.
NOW = {"erm": "e" * 16, "basn": "b" * 16, "maddg": "m" * 16, "ssdg": "s" * 16}


def _now(method: str, model: str | None) -> str:
    return NOW[method]


def _stored(records: pd.DataFrame) -> pd.DataFrame:
    """The fixture as a store gives it: every run current, with its code, torch and device columns."""
    return records.assign(
        start_time=range(len(records)), **{"algorithm.model": "resnet18"}, code_hash=records["method"].str.split("[").str[0].map(NOW),
        protocol_hash=[get_protocol(name).content_hash for name in records["protocol"]],
        protocol_file=[str(get_protocol(name).path) for name in records["protocol"]],
        torch_version="2.5.1", device_name="Some CPU",
    )


def _with_old_runs(records: pd.DataFrame) -> pd.DataFrame:
    """Two later runs of erm on OCI-M seed 0 that the current code did not compute: a changed
    method file, and a store from before code hashes were logged."""
    cell = records[(records["method"] == "erm") & (records["protocol"] == "OCI-M") & (records["seed"] == 0)]
    old = pd.concat([cell.assign(code_hash="0" * 16), cell.assign(code_hash=None)])
    old["start_time"] = [1000, 1001]
    old["target_test.video.hter.dev_eer"] = 0.99
    old["torch_version"] = "1.13.0"
    return pd.concat([records, old], ignore_index=True)


def test_runs_of_older_code_are_left_out_and_counted(records, tmp_path):
    stored = _stored(records)
    expected = write_leaderboard(SUITE, tmp_path / "current", records=stored, code_hashes=_now)[0].read_text()
    markdown = write_leaderboard(SUITE, tmp_path / "old", records=_with_old_runs(stored), code_hashes=_now)[0].read_text()
    # newer, but of other code: the board is the one of the current runs alone, plus the count
    assert "99.00" not in markdown
    assert markdown.replace("- Not counted: 2 run(s) of older code or protocol files "
                            "(`dgfas leaderboard --include-stale` shows them)\n", "") == expected
    assert f"basn {'b' * 16}, erm {'e' * 16}, maddg {'m' * 16}, ssdg {'s' * 16}" in markdown
    assert "- Computed with torch 2.5.1 on Some CPU;" in markdown and "1.13.0" not in markdown


def test_include_stale_shows_older_runs_in_rows_of_their_own(records, tmp_path):
    stored = _with_old_runs(_stored(records))
    markdown_path, csv_path = write_leaderboard(SUITE, tmp_path, records=stored, code_hashes=_now, include_stale=True)
    markdown = markdown_path.read_text()
    assert "- Stale rows, marked `(stale)`: 2 run(s) of older code or protocol files" in markdown
    assert "- Computed with torch 1.13.0; 2.5.1 on Some CPU;" in markdown
    # the newer of the two stale runs of the cell, alone in its row; erm's own row is unchanged
    assert "| erm (stale) | 99.00 / 90.00 (n=1) | – |" in markdown
    cells = pd.read_csv(csv_path).query("protocol == 'OCI-M' and selection_rule == 'source_val'")
    assert cells.set_index("method").loc[["erm (stale)", "erm"], "n_seeds"].tolist() == [1, 3]


def test_a_suite_of_stale_runs_only_is_refused_unless_asked_for(records, tmp_path):
    stored = _stored(records).assign(code_hash="0" * 16)
    with pytest.raises(DgfasError, match=r"no finished runs of the current code, only 39 .*--include-stale"):
        write_leaderboard(SUITE, tmp_path, records=stored, code_hashes=_now)
    markdown = write_leaderboard(SUITE, tmp_path, records=stored, code_hashes=_now, include_stale=True)[0].read_text()
    assert "| erm (stale) |" in markdown and "| erm |" not in markdown


def test_runs_of_an_edited_builtin_protocol_file_are_stale(records, tmp_path):
    stored = _stored(records)
    edited = stored["protocol"] == "OCI-M"
    stored.loc[edited, "protocol_hash"] = "f" * 16
    markdown = write_leaderboard(SUITE, tmp_path, records=stored, code_hashes=_now)[0].read_text()
    assert f"- Not counted: {int(edited.sum())} run(s) of older code or protocol files" in markdown
    assert "O&C&I→M |" not in markdown.split("### Computed", 1)[1].split("###", 1)[0]


def test_one_protocol_name_with_two_files_is_refused_naming_both(records, tmp_path):
    stored = _stored(records[records["protocol"] == "OCI-M"]).assign(protocol="mine")
    stored["protocol_hash"] = ["1" * 16 if seed == 0 else "2" * 16 for seed in stored["seed"]]
    stored["protocol_file"] = ["/a/mine.toml" if seed == 0 else "/b/mine.toml" for seed in stored["seed"]]
    with pytest.raises(DgfasError) as error:
        write_leaderboard(SUITE, tmp_path, records=stored, code_hashes=_now)
    message = str(error.value)
    assert "'mine'" in message and "/a/mine.toml (sha256 1111" in message and "/b/mine.toml (sha256 2222" in message
    assert "\n" not in message


def test_cli_include_stale_flag(records, artifacts, monkeypatch, tmp_path):
    stored = _with_old_runs(_stored(records))
    monkeypatch.setattr(stored_runs, "load_run_records", lambda suite: stored)
    monkeypatch.setattr(stored_runs, "download_artifacts", artifacts)
    monkeypatch.setattr("dgfas.tracking.leaderboard.current_code_hash", _now)
    assert main(["leaderboard", "--suite", SUITE, "--out", str(tmp_path), "--include-stale"]) == 0
    assert "| erm (stale) |" in (tmp_path / f"{SUITE}.md").read_text()
    assert main(["leaderboard", "--suite", SUITE, "--out", str(tmp_path)]) == 0
    assert "(stale)" not in (tmp_path / f"{SUITE}.md").read_text()


def test_reported_rows_only_for_protocols_in_the_suite(records):
    markdown, csv_text = _render(records[records["protocol"] == "OCI-M"])
    reported_part = markdown.split("### Reported in papers", 1)[1]
    assert "| Method | O&C&I→M | Citation |" in reported_part
    assert "MADDG (CVPR 2019), reported | 17.69 / 88.06 |" in reported_part
    # BASN's cross-test rows (C-I, I-C), the cross-test section and other leave-one-out columns stay out.
    assert "BASN" not in markdown and "O&M&I→C" not in markdown and "Cross-test" not in markdown
    reported_rows = pd.read_csv(io.StringIO(csv_text)).query("kind == 'reported'")
    assert set(reported_rows["protocol"]) == {"OCI-M"}
    assert len(reported_rows) == 11


def test_reported_rows_sit_in_the_section_of_their_protocol_kind(records):
    markdown, csv_text = _render(records)
    sections = _kind_sections(markdown)
    loo, cross = sections["Leave-one-out protocols"], sections["Cross-test protocols"]
    assert "| Auxiliary, reported | 27.6 / – | 28.4 / – | BASN, Kim et al., ICCVW 2019, Table 4 |" in cross
    assert "| Method | C→I | I→C | Citation |" in cross
    assert "MADDG (CVPR 2019), reported" in loo and "MADDG (CVPR 2019), reported" not in cross
    assert "Auxiliary, reported" not in loo
    # No paper reports the limited-source protocols: that section has no reported table.
    assert "### Reported" not in sections["Limited-source protocols"]
    reported_rows = pd.read_csv(io.StringIO(csv_text), keep_default_na=False).query("kind == 'reported'")
    assert reported_rows.groupby("protocol_kind")["protocol"].unique().map(sorted).to_dict() == {
        "cross-test": ["C-I", "I-C"],
        "leave-one-out": ["OCI-M", "OMI-C"],
    }


def test_oracle_threshold_is_named_in_every_computed_table_header(records):
    markdown, _ = _render(records, threshold_rule="oracle_eer")
    computed_tables = [part.split("\n### ", 1)[0].split("\n## ", 1)[0] for part in markdown.split("### Computed")[1:]]
    assert len(computed_tables) == 3
    for computed in computed_tables:
        header = next(line for line in computed.splitlines() if line.startswith("| Method"))
        assert all("(oracle)" in cell for cell in header.strip("| ").split(" | ")[1:])
        assert "oracle" in computed.splitlines()[0]
    honest, _ = _render(records)
    assert all("(oracle)" not in part.split("\n### ", 1)[0] for part in honest.split("### Computed")[1:])


def test_literature_compatible_table_sits_under_each_honest_one_with_its_row_order(records):
    markdown, _ = _render(records)
    for section in _kind_sections(markdown).values():
        literature = section.split("### Literature-compatible (oracle)", 1)[1].split("\n### ", 1)[0]
        rows = [line for line in literature.splitlines() if line.startswith("| ")]
        assert all("(oracle)" in cell for cell in rows[0].strip("| ").split(" | ")[1:])
        assert [row.split(" | ", 1)[0].removeprefix("| ") for row in rows[2:]] == _methods_of(section)
    assert "| erm | 7.00 ± 1.15 / 94.00 ± 1.15 | 15.00 ± 0.00 / 87.00 ± 0.00 | 11.00 ± 0.58 / 90.50 ± 0.58 |" in markdown
    # runs that never logged what the oracle selection would pick get no such table
    older = records.drop(columns=[c for c in records.columns if c.startswith("selection.")])
    assert "Literature-compatible" not in _render(older)[0]
    # nor does a board that already uses the oracle rules
    assert "Literature-compatible" not in _render(records.assign(selection_rule="oracle"), threshold_rule="oracle_eer")[0]


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


def test_write_leaderboard_to_a_file_names_it(records, tmp_path):
    occupied = tmp_path / "boards"
    occupied.write_text("not a folder")
    with pytest.raises(DgfasError, match=f"cannot write leaderboards to {occupied}: it is a file"):
        write_leaderboard(SUITE, occupied, records=records)
    assert occupied.read_text() == "not a folder"


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


def test_variant_board_keeps_one_method_and_its_variants(records, tmp_path):
    # A method whose name merely starts with "basn" is not a variant of basn.
    basnet = records[records["method"] == "erm"].assign(method="basnet")
    with_basnet = pd.concat([records, basnet], ignore_index=True)
    markdown_path, csv_path = write_leaderboard(SUITE, tmp_path, records=with_basnet, method="basn")
    assert (markdown_path.name, csv_path.name) == (f"{SUITE}-basn.md", f"{SUITE}-basn.csv")
    # The main board is not written (so never overwritten) by a variant board.
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"{SUITE}-basn.csv", f"{SUITE}-basn.md"]
    markdown = markdown_path.read_text(encoding="utf-8")
    assert markdown.startswith(f"# Leaderboard: {SUITE}, variants of `basn`\n")
    sections = _kind_sections(markdown)
    assert list(sections) == ["Leave-one-out protocols", "Cross-test protocols"]
    assert _methods_of(sections["Leave-one-out protocols"]) == ["basn"]
    assert _methods_of(sections["Cross-test protocols"]) == ["basn", "basn[auxiliary=none]"]
    # The averages are over the variants' own protocols: erm's I-C runs leave basn's table alone.
    assert "| basn[auxiliary=none] | 28.00 / 78.00 (n=1) | 36.00 / 70.00 (n=1) | 32.00 / 74.00 |" in markdown
    # No reported tables on a variant board (the papers' rows are named after papers).
    assert "Reported" not in markdown
    board = pd.read_csv(csv_path, keep_default_na=False)
    assert set(board["method"]) == {"basn", "basn[auxiliary=none]"}
    assert set(board["kind"]) == {"computed"}
    oracle_paths = write_leaderboard(SUITE, tmp_path, records=records, method="basn", threshold_rule="oracle_eer")
    assert [path.name for path in oracle_paths] == [f"{SUITE}-oracle_eer-basn.md", f"{SUITE}-oracle_eer-basn.csv"]


def test_variant_board_of_a_method_without_runs_names_it(records, tmp_path):
    with pytest.raises(DgfasError) as error:
        write_leaderboard(SUITE, tmp_path, records=records, method="bas")
    message = str(error.value)
    assert message.startswith(f"suite '{SUITE}' has no finished runs of method 'bas'")
    assert "methods with runs: ['basn', 'erm', 'maddg', 'ssdg']" in message and "\n" not in message
    assert not any(tmp_path.iterdir())


@pytest.fixture
def suite_in_mlflow(records, artifacts, monkeypatch) -> pd.DataFrame:
    """The fixture records and score files served as if from the MLflow store, every run current,
    so the CLI runs in-process."""
    stored = _stored(records)

    def load_run_records(suite: str) -> pd.DataFrame:
        if suite != SUITE:
            raise DgfasError(f"no MLflow experiment '{suite}'")
        return stored

    monkeypatch.setattr(stored_runs, "load_run_records", load_run_records)
    monkeypatch.setattr(stored_runs, "download_artifacts", artifacts)
    monkeypatch.setattr("dgfas.tracking.leaderboard.current_code_hash", _now)
    return stored


def test_cli_method_flag_writes_the_variant_board(suite_in_mlflow, tmp_path, capsys):
    assert main(["leaderboard", "--suite", SUITE, "--out", str(tmp_path), "--method", "basn"]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / f"{SUITE}-basn.md"), str(tmp_path / f"{SUITE}-basn.csv")]
    assert (tmp_path / f"{SUITE}-basn.md").read_text(encoding="utf-8").startswith(
        f"# Leaderboard: {SUITE}, variants of `basn`\n"
    )
    assert not (tmp_path / f"{SUITE}.md").exists()
    # Without the flag: the main board, every method.
    assert main(["leaderboard", "--suite", SUITE, "--out", str(tmp_path)]) == 0
    main_board = (tmp_path / f"{SUITE}.md").read_text(encoding="utf-8")
    assert main_board.startswith(f"# Leaderboard: {SUITE}\n") and "| maddg |" in main_board


def test_cli_method_flag_with_an_unknown_method_is_one_line(suite_in_mlflow, tmp_path, capsys):
    assert main(["leaderboard", "--suite", SUITE, "--leaderboard-dir", str(tmp_path), "--method", "nosuch"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dgfas: error: ") and "method 'nosuch'" in err and err.count("\n") == 1


def _sweep_run(method, seed, draw, source_eer, hter, oracle_hter, start, **more):
    """One C-I run record of a sweep: its draw, its source-validation EER and its target numbers."""
    return {"method": method, "protocol": "C-I", "seed": seed, "data_source": "synthetic", "preset": "quick",
            "selection_rule": "source_val", "start_time": start, "hparam_draw": draw,
            "source_val.video.eer": source_eer, "target_test.video.hter.dev_eer": hter,
            "target_test.video.hter.oracle_eer": oracle_hter, "target_test.video.auc": 1 - hter, **more}


def test_a_sweeps_draws_are_chosen_per_seed_and_ablations_keep_their_rows(tmp_path):
    def run(method, seed, draw, source_eer, hter, oracle_hter, start):
        return _sweep_run(method, seed, draw, source_eer, hter, oracle_hter, start,
                          **{"selection.oracle.target_test.video.hter.oracle_eer": oracle_hter,
                             "selection.oracle.target_test.video.auc": 1 - oracle_hter})

    records = pd.DataFrame([
        run("erm", 0, None, 0.20, 0.30, 0.10, 1),  # the defaults, run by `dgfas benchmark`: draw 0
        run("erm[lr=0.01]", 0, 1, 0.10, 0.40, 0.20, 2),  # best on source validation
        run("erm", 1, 0, 0.05, 0.20, 0.15, 3),
        run("erm[lr=0.01]", 1, 1, 0.15, 0.50, 0.05, 4),  # best on the target: the oracle's choice
        run("erm[augment=False]", 0, None, 0.30, 0.45, 0.40, 5),  # an ablation, not a draw
    ])
    records["hparam_draw"] = records["hparam_draw"].astype("Int64")
    markdown_path, _ = write_leaderboard(SUITE, tmp_path, records=records)
    markdown = markdown_path.read_text(encoding="utf-8")
    assert "- Hyper-parameters: per method, protocol and seed, the best of the defaults and 1 random draws by " \
           "`source_val`" in markdown
    computed, literature = markdown.split("### Computed", 1)[1].split("### Literature-compatible", 1)
    # seed 0 takes draw 1 (HTER 0.40), seed 1 the defaults (0.20): mean 30.00 ± 10.00
    assert "| erm | 30.00 ± 10.00 / 70.00 ± 10.00 |" in computed
    assert "| erm[augment=False] | 45.00 / 55.00 (n=1) |" in computed
    # the oracle chooses by target HTER: seed 0 the defaults (0.10), seed 1 draw 1 (0.05)
    assert "| erm | 7.50 ± 2.50 / 92.50 ± 2.50 |" in literature


def test_a_stale_draw_never_competes_with_current_ones(tmp_path):
    def run(method, seed, draw, source_eer, hter, start, code):
        return _sweep_run(method, seed, draw, source_eer, hter, hter, start,
                          **{"algorithm.model": "resnet18", "code_hash": code})

    records = pd.DataFrame([
        run("erm", 0, None, 0.20, 0.30, 1, NOW["erm"]),
        run("erm[lr=0.01]", 0, 1, 0.10, 0.40, 2, "0" * 16),  # best on source validation, but of older code
        run("erm", 1, 0, 0.05, 0.20, 3, NOW["erm"]),
    ])
    records["hparam_draw"] = records["hparam_draw"].astype("Int64")
    current = write_leaderboard(SUITE, tmp_path, records=records, code_hashes=_now)[0].read_text()
    assert "| erm | 25.00 ± 5.00 / 75.00 ± 5.00 |" in current and "(stale)" not in current.split("- Not counted")[1]
    both = write_leaderboard(SUITE, tmp_path, records=records, code_hashes=_now, include_stale=True)[0].read_text()
    assert "| erm | 25.00 ± 5.00 / 75.00 ± 5.00 |" in both and "| erm (stale) | 40.00 / 60.00 (n=1) |" in both


def test_a_cell_counts_the_seeds_whose_runs_logged_its_metric(records):
    """Runs made before the oracle-selection metrics were logged leave those cells with fewer seeds."""
    older = records.copy()
    column = "selection.oracle.target_test.video.hter.oracle_eer"
    first_seed = (older["method"] == "erm") & (older["protocol"] == "OCI-M") & (older["seed"] == 0)
    older.loc[first_seed, column] = float("nan")
    aggregated = aggregate(older, threshold_rule="oracle_eer", selection_rule="oracle")
    cell = _cell(aggregated, "erm", "OCI-M")
    assert cell["n_seeds"] == 2 and cell["hter_mean"] == pytest.approx(older.loc[
        (older["method"] == "erm") & (older["protocol"] == "OCI-M") & ~first_seed, column].mean())
    assert _cell(aggregate(older), "erm", "OCI-M")["n_seeds"] == 3  # the honest cell still has all three


def test_intervals_come_from_the_runs_score_files_and_the_csv_carries_them(records, artifacts):
    _, csv_text = _render(records, artifacts)
    board = pd.read_csv(io.StringIO(csv_text), keep_default_na=False)
    computed, reported = board[board["kind"] == "computed"], board[board["kind"] == "reported"]
    shown = computed[computed["hter_pct"] != ""]  # ssdg lacks I-C, so its cross-test average
    numbers = shown[["hter_pct_lo", "hter_pct", "hter_pct_hi"]].astype(float)
    assert ((numbers["hter_pct_lo"] <= numbers["hter_pct"]) & (numbers["hter_pct"] <= numbers["hter_pct_hi"])).all()
    assert set(shown["interval_unit"]) == {"subject"}
    assert (reported[["hter_pct_lo", "hter_delta_erm", "interval_unit", "code_hash"]] == "").all().all()
    # erm has no difference to itself; basn's is over the two seeds both ran: (24 + 26) / 2 - (30 + 33) / 2
    honest = computed[computed["threshold_rule"] == "dev_eer"].set_index(["method", "protocol"])
    assert (honest.loc["erm", "hter_delta_erm"] == "").all()
    assert float(honest.loc[("basn", "C-I"), "hter_delta_erm"]) == pytest.approx(-7.5)
    assert honest.loc[("basn", "C-I"), "code_hash"] == records.loc[records["method"] == "basn", "code_hash"].iloc[0]


def test_a_score_file_that_does_not_give_its_records_metric_is_refused(records, artifacts, tmp_path):
    def swapped(run_id, names, dst_dir):  # every erm OCI-M run served seed 0's file
        return artifacts("erm-OCI-M-seed0" if run_id.startswith("erm-OCI-M") else run_id, names, dst_dir)

    with pytest.raises(DgfasError, match=r"run erm-OCI-M-seed1 \(erm OCI-M seed 1\): its score file gives "
                                         r"target_test.video.hter.dev_eer = 0.100000, its record 0.120000") as error:
        write_leaderboard(SUITE, tmp_path, records=records, artifacts=swapped)
    assert "\n" not in str(error.value)


def test_cells_without_score_files_keep_the_standard_error_and_the_header_says_so(records, artifacts, tmp_path):
    def without_maddg(run_id, names, dst_dir):
        return {} if run_id.startswith("maddg") else artifacts(run_id, names, dst_dir)

    markdown_path, _ = write_leaderboard(SUITE, tmp_path, records=records, artifacts=without_maddg)
    markdown = markdown_path.read_text(encoding="utf-8")
    assert "- A cell without brackets: its runs' score files are not in the store" in markdown
    assert "| maddg | 16.00 ± 1.15 / 90.00 ± 1.15 | 22.00 ± 0.00 / 82.00 ± 0.00 | 19.00 ± 0.58 / 86.00 ± 0.58 |" in (
        markdown)
    assert "| erm | 12.00 [" in markdown
    # maddg's difference to erm has its value, from the records, but no interval
    assert "| maddg | +4.00 | +2.00 | +3.00 |" in markdown


def test_score_files_without_subjects_resample_videos_and_say_so(records, artifacts, tmp_path):
    def without_subjects(run_id, names, dst_dir):
        files = artifacts(run_id, names, dst_dir)
        for name, path in files.items():
            target = Path(dst_dir) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            pd.read_csv(path).drop(columns="subject").to_csv(target, index=False)
            files[name] = target
        return files

    markdown_path, csv_path = write_leaderboard(SUITE, tmp_path / "board", records=records[records["method"] == "erm"],
                                                artifacts=without_subjects)
    markdown = markdown_path.read_text(encoding="utf-8")
    assert "- (by video): the runs' score files carry no subject id" in markdown
    assert "| erm | 12.00 [" in markdown and "(by video) |" in markdown
    assert set(pd.read_csv(csv_path).query("kind == 'computed'")["interval_unit"]) == {"video"}


def _comparison(capsys, other: Path) -> list[str]:
    assert main(["leaderboard", "--suite", SUITE, "--compare", str(other)]) == 0
    return capsys.readouterr().out.splitlines()


def test_compare_with_the_same_board_finds_every_cell_equal_and_inside(suite_in_mlflow, tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = _comparison(capsys, GOLDEN / "leaderboard.csv")
    cells = [line.split() for line in lines[1:-1]]
    # every computed cell with a number, HTER and AUC, under both rule pairs
    golden = pd.read_csv(GOLDEN / "leaderboard.csv").query("kind == 'computed'").dropna(subset=["hter_pct"])
    assert len(cells) == 2 * len(golden)
    assert all(cell[7] == "+0.00" and cell[9] == "inside" for cell in cells)
    assert lines[-1].startswith(f"{len(cells)} of {len(cells)} differences lie inside")
    assert not any(tmp_path.iterdir()), "--compare writes nothing"


def test_compare_with_an_older_board_uses_its_seed_standard_error(suite_in_mlflow, tmp_path, capsys):
    older = pd.read_csv(GOLDEN / "leaderboard.csv", dtype=str, keep_default_na=False)
    ours = older.set_index(["method", "protocol", "threshold_rule"]).loc[("erm", "OCI-M", "dev_eer")]
    half_width = math.hypot((float(ours["hter_pct_hi"]) - float(ours["hter_pct_lo"])) / 2,
                            1.959964 * float(ours["hter_pct_se"]))
    older = older.drop(columns=[c for c in older.columns if c.endswith(("_lo", "_hi")) or "delta" in c])
    erm_oci = (older["method"] == "erm") & (older["protocol"] == "OCI-M") & (older["threshold_rule"] == "dev_eer")
    older.loc[erm_oci, "hter_pct"] = "40.0000"  # 28 points away from this store's 12.00
    older.to_csv(tmp_path / "older.csv", index=False)
    lines = _comparison(capsys, tmp_path / "older.csv")
    erm = next(line for line in lines if line.split()[:5] == ["erm", "OCI-M", "leave-one-out", "source_val/dev_eer",
                                                              "hter"])
    assert erm.split()[5:10] == ["12.00", "40.00", "-28.00", f"±{half_width:.2f}", "OUTSIDE"]
    assert erm.endswith("ours: 95% interval + other: 1.96·SE over seeds")


def test_compare_with_papers_matches_the_literature_rows_by_name(suite_in_mlflow, capsys):
    lines = _comparison(capsys, REPORTED_CSV)
    cells = [line.split() for line in lines[1:-1]]
    assert {(cell[0], cell[1], cell[3]) for cell in cells} == {
        ("maddg", "OCI-M", "oracle/oracle_eer"), ("maddg", "OMI-C", "oracle/oracle_eer"),
        ("basn", "C-I", "oracle/oracle_eer"), ("basn", "I-C", "oracle/oracle_eer"),
    }
    basn = next(cell for cell in cells if cell[:2] == ["basn", "C-I"])
    assert basn[4:8] == ["hter", "19.00", "23.60", "-4.60"]  # reported BASN C-I 23.6; basn has no reported AUC there


@pytest.mark.parametrize("content, message", [
    ("method,protocol\nerm,C-I\n", "neither a leaderboard CSV (missing columns ['kind', 'hter_pct', 'auc_pct'])"),
    ("kind,method,protocol,hter_pct,auc_pct\ncomputed,erm,C-I,twelve,90\n",
     "column 'hter_pct' has a non-number 'twelve' in data row 1"),
    ("", "not a readable CSV"),
    ("SECRET-MARKER not for print\nsecond line\n",  # any text file given by mistake: named, never quoted
     "neither a leaderboard CSV (missing columns ['kind', 'method', 'protocol', 'hter_pct', 'auc_pct'])"),
])
def test_compare_with_a_bad_file_is_a_one_line_error(suite_in_mlflow, tmp_path, capsys, content, message):
    bad = tmp_path / "other.csv"
    bad.write_text(content)
    assert main(["leaderboard", "--suite", SUITE, "--compare", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err and message in err
    assert not any(line in err for line in content.splitlines()), "at most a field is quoted, never a line"


@pytest.mark.parametrize("content", [b"", b"\xff\xfe not utf-8"])
def test_an_empty_or_binary_reported_file_is_a_one_line_error(tmp_path, content):
    bad = tmp_path / "reported.csv"
    bad.write_bytes(content)
    with pytest.raises(DgfasError, match="not a readable CSV") as error:
        read_reported(bad)
    assert str(bad) in str(error.value) and "\n" not in str(error.value)
