"""Score files: validation errors, video-level aggregation, threshold rules, atomic writes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from dgfas import scores
from dgfas.errors import DgfasError
from dgfas.scores import evaluate_score_file, format_report, read_scores, video_level, write_scores

RESULT_KEYS = {
    "hter", "far", "frr", "apcer", "bpcer", "acer", "eer", "auc",
    "tpr_at_far_1pct", "threshold", "threshold_rule", "n_live", "n_spoof",
}  # fmt: skip

# Two frames per video.
# live   a: 0.9 0.7 -> 0.8      b: 0.2 0.4 -> 0.3
# print  c: 0.6 0.2 -> 0.4     replay d: 0.1 0.1 -> 0.1
VIDEOS_CSV = """video_id,frame,label,score,attack_type,domain
a,0,1,0.9,none,M
a,1,1,0.7,none,M
b,0,1,0.2,none,M
b,1,1,0.4,none,M
c,0,0,0.6,print,M
c,1,0,0.2,print,M
d,0,0,0.1,replay,M
d,1,0,0.1,replay,M
"""


def write(tmp_path: Path, text: str, name: str = "scores.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def one_frame_per_video(live: list[float], spoof: list[float]) -> str:
    rows = [f"v{i},0,1,{s}" for i, s in enumerate(live)]
    rows += [f"v{len(live) + i},0,0,{s}" for i, s in enumerate(spoof)]
    return "video_id,frame,label,score\n" + "\n".join(rows) + "\n"


def test_read_scores_types_and_columns(tmp_path: Path):
    table = read_scores(write(tmp_path, VIDEOS_CSV))
    assert list(table.columns) == ["video_id", "frame", "label", "score", "attack_type", "domain"]
    assert table["label"].dtype == "int64" and table["frame"].dtype == "int64"
    assert table["score"].dtype == "float64"
    assert table["score"].tolist() == [0.9, 0.7, 0.2, 0.4, 0.6, 0.2, 0.1, 0.1]


def test_a_valid_file_is_read_once_typed_and_as_its_text_would_be(tmp_path: Path, monkeypatch):
    path = write(tmp_path, VIDEOS_CSV.replace("domain\n", "domain,note\n").replace(",M\n", ",M,x\n"))
    as_text = scores._read_and_explain(path, ["video_id", "frame", "label", "score", "attack_type", "domain"])
    monkeypatch.setattr(scores, "read_score_text", lambda path: pytest.fail("a valid file was read as text"))
    table = read_scores(path)
    pd.testing.assert_frame_equal(table, as_text)  # the typed read and the text read that explains errors agree
    assert list(read_scores(path, optional=("domain",)).columns) == ["video_id", "frame", "label", "score", "domain"]


def test_a_short_line_leaves_its_missing_text_fields_empty(tmp_path: Path):
    table = read_scores(write(tmp_path, "video_id,frame,label,score,subject\na,0,1,0.9,7\nb,0,0,0.1\n"))
    assert table["subject"].tolist() == ["7", ""]


def test_a_line_with_a_field_too_many_is_refused_even_where_that_column_is_not_returned(tmp_path: Path):
    path = write(tmp_path, "video_id,frame,label,score,domain\na,0,1,0.9,M\nb,0,0,0.1,M,extra\n")
    with pytest.raises(DgfasError, match="not a parsable CSV"):
        read_scores(path, optional=())


def test_video_level_is_the_mean_frame_score(tmp_path: Path):
    videos = video_level(read_scores(write(tmp_path, VIDEOS_CSV)))
    assert videos["video_id"].tolist() == ["a", "b", "c", "d"]
    assert videos["score"].tolist() == pytest.approx([0.8, 0.3, 0.4, 0.1])
    assert videos["label"].tolist() == [1, 1, 0, 0]
    assert videos["attack_type"].tolist() == ["none", "none", "print", "replay"]
    assert videos["frame"].tolist() == [-1, -1, -1, -1]
    assert list(videos.columns) == ["video_id", "frame", "label", "score", "attack_type", "domain"]


@pytest.mark.parametrize("column", ["label", "attack_type", "domain"])
def test_video_with_inconsistent_frames_is_refused(tmp_path: Path, column: str):
    frames = read_scores(write(tmp_path, VIDEOS_CSV))
    frames.loc[1, column] = {"label": 0, "attack_type": "print", "domain": "O"}[column]
    with pytest.raises(DgfasError, match=f"scores.csv: video 'a' has frames with different {column} values"):
        video_level(frames, source="scores.csv")


def test_fixed_threshold_at_video_and_frame_level(tmp_path: Path):
    path = write(tmp_path, VIDEOS_CSV)
    # Video level at 0.35: live a (0.8) accepted, b (0.3) rejected -> FRR 1/2;
    # spoof c (0.4) accepted, d (0.1) rejected -> FAR 1/2, HTER 1/2;
    # APCER print 1, replay 0 -> APCER 1, ACER (1 + 1/2)/2 = 3/4.
    video = evaluate_score_file(path, threshold=0.35)
    assert set(video) == RESULT_KEYS
    assert (video["far"], video["frr"], video["hter"]) == pytest.approx((0.5, 0.5, 0.5))
    assert (video["apcer"], video["acer"]) == pytest.approx((1.0, 0.75))
    assert (video["n_live"], video["n_spoof"], video["threshold_rule"]) == (2, 2, "fixed")
    # Frame level at 0.35: live frames 0.9 0.7 0.2 0.4 -> 0.2 rejected, FRR 1/4;
    # spoof frames 0.6 0.2 0.1 0.1 -> 0.6 accepted, FAR 1/4.
    frame = evaluate_score_file(path, level="frame", threshold=0.35)
    assert (frame["far"], frame["frr"], frame["hter"]) == pytest.approx((0.25, 0.25, 0.25))
    assert (frame["n_live"], frame["n_spoof"]) == (4, 4)


def test_dev_threshold_is_applied_to_the_test_file(tmp_path: Path):
    # dev: live 0.6 0.7 0.8 0.9, spoof 0.1 0.2 0.3 0.75
    #   t=0.6: FAR 1/4, FRR 0 ; t=0.7: FAR 1/4 (0.75), FRR 1/4 (0.6) -> gap 0: dev EER threshold 0.7
    #   t=0.75: FAR 1/4, FRR 1/2
    dev = write(tmp_path, one_frame_per_video([0.6, 0.7, 0.8, 0.9], [0.1, 0.2, 0.3, 0.75]), "dev.csv")
    # test: live 0.5 0.66 0.9, spoof 0.65 0.1
    #   at 0.7 (dev_eer): lives 0.5 and 0.66 rejected -> FRR 2/3; no spoof accepted -> FAR 0; HTER 1/3
    #   oracle: t=0.5: FAR 1/2, FRR 0; t=0.65: FAR 1/2, FRR 1/3 (gap 1/6, the smallest);
    #   t=0.66: FAR 0, FRR 1/3 -> oracle threshold 0.65, HTER (1/2 + 1/3)/2 = 5/12
    test = write(tmp_path, one_frame_per_video([0.5, 0.66, 0.9], [0.65, 0.1]), "test.csv")
    honest = evaluate_score_file(test, dev_path=dev)
    assert (honest["threshold"], honest["threshold_rule"]) == (0.7, "dev_eer")
    assert (honest["far"], honest["frr"], honest["hter"]) == pytest.approx((0.0, 2 / 3, 1 / 3))
    oracle = evaluate_score_file(test)
    assert (oracle["threshold"], oracle["threshold_rule"]) == (0.65, "oracle_eer")
    assert oracle["hter"] == pytest.approx(5 / 12)
    # The threshold-free metrics do not depend on the rule.
    assert honest["eer"] == oracle["eer"] and honest["auc"] == oracle["auc"]


def test_dev_and_fixed_threshold_are_exclusive(tmp_path: Path):
    path = write(tmp_path, VIDEOS_CSV)
    with pytest.raises(DgfasError, match="not both"):
        evaluate_score_file(path, dev_path=path, threshold=0.5)


def test_unknown_level_is_refused(tmp_path: Path):
    with pytest.raises(DgfasError, match="unknown level 'clip'"):
        evaluate_score_file(write(tmp_path, VIDEOS_CSV), level="clip")


def test_report_names_the_rule(tmp_path: Path):
    path = write(tmp_path, VIDEOS_CSV)
    oracle = format_report(evaluate_score_file(path))
    assert "oracle_eer: oracle: EER threshold of the evaluated scores themselves" in oracle
    assert "HTER" in oracle and "AUC" in oracle and len(oracle.splitlines()) > 5
    dev = format_report(evaluate_score_file(path, dev_path=path))
    assert "dev_eer" in dev and "oracle" not in dev
    fixed = format_report(evaluate_score_file(path, threshold=0.35))
    assert "fixed" in fixed and " 50.00%" in fixed  # video-level HTER 1/2 from the hand-computed case


def test_result_is_json(tmp_path: Path):
    result = evaluate_score_file(write(tmp_path, VIDEOS_CSV))
    assert json.loads(json.dumps(result)) == result


HEADER = "video_id,frame,label,score\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty file"),
        (HEADER, "no data rows"),
        ("video_id,frame,label\na,0,1\n", "missing column(s) ['score']; a score file's first line is its header"),
        (
            HEADER + "a,0,1,0.9\nb,0,0,0.1\nc,0,0,abc\n",
            "column 'score' has a non-numeric value 'abc' in data row 3 (line 4)",
        ),
        (HEADER + "a,0,1,0.9\nb,0,0,\n", "column 'score' has an empty value in data row 2"),
        (HEADER + "a,0,1,nan\nb,0,0,0.1\n", "column 'score' has a NaN or infinite value 'nan' in data row 1"),
        (HEADER + "a,0,1,0.9\nb,0,0,inf\n", "column 'score' has a NaN or infinite value 'inf' in data row 2"),
        (HEADER + "a,0,2,0.9\nb,0,0,0.1\n", "column 'label' must be 0 (spoof) or 1 (live); got '2' in data row 1"),
        (HEADER + "a,0,live,0.9\nb,0,0,0.1\n", "column 'label' has a non-numeric value 'live'"),
        (HEADER + "a,0.5,1,0.9\nb,0,0,0.1\n", "column 'frame' has a non-integer value '0.5'"),
        (HEADER + ",0,1,0.9\nb,0,0,0.1\n", "column 'video_id' has an empty value in data row 1"),
        (HEADER + "a,0,1,0.9\nb,0,0,0.1,x,y,z\n", "not a parsable CSV"),
        (HEADER + "a,0,1,0.9\nb,0,1,0.1\n", "needs both live (label 1) and spoof (label 0) rows; found only live"),
        (HEADER + "a,0,0,0.9\nb,0,0,0.1\n", "found only spoof"),
        (HEADER + "a,0,1,0.9\na,1,0,0.1\n", "video 'a' has frames with different label values [0, 1]"),
    ],
)
def test_malformed_file_gives_one_line_naming_the_file(tmp_path: Path, text: str, problem: str):
    path = write(tmp_path, text)
    with pytest.raises(DgfasError) as error:
        evaluate_score_file(path)
    message = str(error.value)
    assert message.startswith(f"{path}: ")
    assert problem in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path):
    with pytest.raises(DgfasError, match=r"nothere\.csv: no such file"):
        read_scores(tmp_path / "nothere.csv")


def test_non_utf8_file(tmp_path: Path):
    path = tmp_path / "scores.csv"
    path.write_bytes(HEADER.encode() + b"\xff\xfe,0,1,0.9\n")
    with pytest.raises(DgfasError, match=r"scores\.csv: not UTF-8 text"):
        read_scores(path)


def test_malformed_dev_file_is_named(tmp_path: Path):
    test = write(tmp_path, VIDEOS_CSV)
    dev = write(tmp_path, HEADER + "a,0,1,0.9\n", "dev.csv")
    with pytest.raises(DgfasError, match=r"dev\.csv: needs both live"):
        evaluate_score_file(test, dev_path=dev)


def test_write_then_read_round_trips_and_leaves_no_temp_file(tmp_path: Path):
    frames = read_scores(write(tmp_path, VIDEOS_CSV, "source.csv"))
    frames.loc[0, "score"] = 0.1 + 0.2  # 0.30000000000000004: full precision must survive
    destination = tmp_path / "out" / "scores.csv"
    destination.parent.mkdir()
    write_scores(frames.assign(extra=1), destination)
    assert os.listdir(destination.parent) == ["scores.csv"]
    pd.testing.assert_frame_equal(read_scores(destination), frames)


def test_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path: Path, monkeypatch):
    destination = write(tmp_path, VIDEOS_CSV)

    def refuse(source: str, target: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_scores(read_scores(destination).assign(score=0.5), destination)
    assert os.listdir(tmp_path) == ["scores.csv"]
    assert destination.read_text() == VIDEOS_CSV


def test_write_without_a_required_column_is_refused(tmp_path: Path):
    with pytest.raises(DgfasError, match="without column 'score'"):
        write_scores(pd.DataFrame({"video_id": ["a"], "frame": [0], "label": [1]}), tmp_path / "s.csv")
    assert os.listdir(tmp_path) == []
