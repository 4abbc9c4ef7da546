"""``dgfas submit`` on hostile submissions: nothing outside the submission is read, and no file is quoted.

Each case holds a secret marker somewhere a careless check would read and echo it: behind a
symbolic link, or in a file that is no score file. The refusal must be one line and the marker
must appear nowhere in what the command prints.
"""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_submission import submit_scores, valid_submission

REPO = Path(__file__).resolve().parents[1]
SECRET = "SECRET-MARKER do-not-print 0xC0FFEE"
REFUSED = "; a submission may hold only its own files and folders, so that nothing outside it is read"


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """The working folder, with the MLflow store in it: a submission that logs anything leaves ``mlflow.db``."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder beside the submission holding the secret, as a text file and as a protocol folder's files."""
    folder = tmp_path / "outside"
    folder.mkdir()
    for name in ("secret.txt", "source_val.frame.csv", "target_test.frame.csv"):
        (folder / name).write_text(f"{SECRET}\nsecond line {SECRET}\n")
    return folder


def _refusal(capsys, folder: Path, cache: Path) -> str:
    """The one line a refused submission prints; checks it quotes no secret and logged nothing."""
    assert submit_scores(folder, cache) == 2
    captured = capsys.readouterr()
    assert SECRET not in captured.err and SECRET not in captured.out
    assert not (folder.parent / "mlflow.db").exists()
    return captured.err


def test_a_score_file_linked_to_a_file_outside_is_refused_unread(workdir, outside, capsys):
    folder = workdir / "submission"
    (folder / "C-I").mkdir(parents=True)
    (folder / "C-I" / "source_val.frame.csv").write_text("video_id,frame,label,score\n")
    (folder / "C-I" / "target_test.frame.csv").symlink_to(outside / "secret.txt")
    err = _refusal(capsys, folder, workdir / "cache")
    assert err == f"dgfas: error: {folder}: 'C-I/target_test.frame.csv' is a symbolic link{REFUSED}\n"


def test_a_protocol_folder_linked_to_a_folder_outside_is_refused_unread(workdir, outside, capsys):
    folder = workdir / "submission"
    folder.mkdir()
    (folder / "C-I").symlink_to(outside, target_is_directory=True)
    err = _refusal(capsys, folder, workdir / "cache")
    assert err == f"dgfas: error: {folder}: 'C-I' is a symbolic link{REFUSED}\n"


def test_links_anywhere_are_refused_even_unread_ones_and_ones_that_stay_inside(workdir, outside, capsys):
    folder = workdir / "submission"
    (folder / "C-I" / "notes").mkdir(parents=True)
    (folder / "C-I" / "notes" / "readme.txt").symlink_to(outside / "secret.txt")  # a file dgfas never reads
    (folder / "C-I" / "source_val.frame.csv").write_text("video_id,frame,label,score\n")
    (folder / "C-I" / "target_test.frame.csv").symlink_to(folder / "C-I" / "source_val.frame.csv")  # inside
    err = _refusal(capsys, folder, workdir / "cache")
    assert err == (f"dgfas: error: {folder}: 'C-I/notes/readme.txt' is a symbolic link (and 1 more such path(s))"
                   f"{REFUSED}\n")


def test_a_pipe_for_a_score_file_is_refused_without_waiting_on_it(tmp_path):
    folder = tmp_path / "submission"
    (folder / "C-I").mkdir(parents=True)
    (folder / "C-I" / "source_val.frame.csv").write_text("video_id,frame,label,score\n")
    os.mkfifo(folder / "C-I" / "target_test.frame.csv")  # a read would block until someone writes
    done = subprocess.run(
        [sys.executable, "-m", "dgfas.cli", "submit", "--name", "outside", "--scores", str(folder), "--preset", "tiny",
         "--cache", str(tmp_path / "cache"), "--no-progress"],
        cwd=REPO, env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (f"dgfas: error: {folder}: 'C-I/target_test.frame.csv' is neither a file nor a folder "
                           f"(a pipe, socket or device){REFUSED}\n")
    assert not (tmp_path / "mlflow.db").exists()


def test_problems_quote_no_line_of_a_file_and_only_the_start_of_a_long_field(workdir, tiny_cache, capsys):
    folder = valid_submission(workdir / "submission", tiny_cache)
    target_file, val_file = folder / "C-I" / "target_test.frame.csv", folder / "C-I" / "source_val.frame.csv"
    target_file.write_text(f"{SECRET}\nsecond line {SECRET}\n")  # a copied file, not a link: read, never quoted
    source_val = pd.read_csv(val_file, dtype=str)
    long_score = "0." + "9" * 50 + SECRET  # not a number: its field is quoted, cut before the secret
    source_val.loc[1, "score"] = long_score
    source_val.to_csv(val_file, index=False)

    err = _refusal(capsys, folder, tiny_cache)
    assert err.splitlines() == [
        f"{val_file}: column 'score' is empty, not a number, NaN or infinite at line 3 "
        f"({long_score[:40]!r}... ({len(long_score)} characters))",
        f"{target_file}: missing column(s) ['video_id', 'frame', 'label', 'score']; a score file's first line is "
        "its header: video_id,frame,label,score and optionally attack_type,domain,subject",
        f"dgfas: error: {folder}: submission rejected with 2 problem(s); nothing was logged",
    ]
