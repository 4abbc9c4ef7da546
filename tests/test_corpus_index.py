"""The corpus-index framework shared by every adapter."""

import pandas as pd
import pytest

from dgfas.data.corpora import CORPORA, CorpusIndex, VideoEntry, index_corpus, write_index
from dgfas.errors import DgfasError


def _index(tmp_path):
    return CorpusIndex(
        corpus="toy",
        root=tmp_path,
        videos=[
            VideoEntry("b/2.avi", "test", "spoof", "replay", 2, {"phone": 3}),
            VideoEntry("a/1.avi", "train", "live", "none", 1, {"phone": 1, "light": "adverse"}),
        ],
        stray=["a/readme.txt"],
    )


def test_a_table_has_the_index_columns_first_and_is_sorted_by_path(tmp_path):
    table = _index(tmp_path).table()
    assert list(table.columns) == ["relative_path", "split", "label", "attack_type", "subject", "light", "phone"]
    assert list(table["relative_path"]) == ["a/1.avi", "b/2.avi"]


def test_the_index_is_written_as_csv(tmp_path):
    path = write_index(_index(tmp_path), tmp_path / "out" / "index.csv")
    assert list(pd.read_csv(path)["subject"]) == [1, 2]


def test_summary_counts_videos_and_subjects_per_split(tmp_path):
    summary = _index(tmp_path).summary()
    assert set(zip(summary["split"], summary["label"], summary["videos"], summary["subjects"])) == {
        ("train", "live", 1, 1), ("test", "spoof", 1, 1)}


def test_an_entry_whose_label_and_attack_type_disagree_is_refused():
    with pytest.raises(ValueError, match="disagree"):
        VideoEntry("x.avi", "train", "live", "print", 1)
    with pytest.raises(ValueError, match="bad entry"):
        VideoEntry("x.avi", "devel", "live", "none", 1)


def test_every_corpus_is_registered_and_a_missing_root_is_a_one_line_error(tmp_path):
    assert CORPORA.names() == ["casia", "msu", "oulu", "replay", "siw"]
    with pytest.raises(DgfasError, match="not a folder") as error:
        index_corpus("oulu", tmp_path / "missing")
    assert "\n" not in str(error.value)
    with pytest.raises(DgfasError, match="unknown corpus adapter 'oulu-npu'"):
        index_corpus("oulu-npu", tmp_path)
