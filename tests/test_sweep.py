"""``dgfas sweep`` through ``main(argv)``: every launcher on tiny jobs, reruns skip, interrupted jobs resume."""

import pytest

import dgfas.benchmark
from dgfas.algorithms import get_algorithm
from dgfas.cli import main
from dgfas.hparams import draw_hparams
from dgfas.run import RunSpec
from dgfas.training_state import TrainingState


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One frame cache for the module: the tiny synthetic data is built once."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _sweep(workdir, cache, *extra):
    return main(
        [
            "sweep", "--preset", "tiny", "--protocols", "C-I", "--no-progress", "--cache", str(cache),
            "--runs-dir", str(workdir / "runs"), "--leaderboard-dir", str(workdir / "boards"), *extra,
        ]
    )


def _in_test_process_only(*args, **kwargs):
    raise AssertionError("a job ran in the test's process")


def _assert_jobs_are_children_of_the_sweep() -> None:
    """Every job's run, logged in whichever process ran it, is a child of the sweep command's one parent run."""
    from mlflow import MlflowClient

    from dgfas.tracking.run_contract import INVOCATION_TAG

    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("synthetic-tiny").experiment_id])
    (parent,) = (run for run in runs if run.data.tags.get(INVOCATION_TAG) == "sweep")
    assert {run.data.tags.get("mlflow.parentRunId") for run in runs if run is not parent} == {parent.info.run_id}


@pytest.mark.slow
def test_sequential_sweep_draws_hyperparameters_tags_draws_and_reports_unsupported_jobs(workdir, cache, capsys):
    from dgfas.tracking.stored_runs import load_run_records

    assert _sweep(workdir, cache, "--methods", "erm,multitask_meta", "--draws", "1") == 0
    err = capsys.readouterr().err
    drawn = draw_hparams(get_algorithm("erm").search_space, seed=0, draw=1)
    variant = f"erm[lr={drawn['lr']}, weight_decay={drawn['weight_decay']}]"
    assert "[1/4] erm on C-I seed 0 draw 0: HTER" in err
    assert f"[2/4] {variant} on C-I seed 0 draw 1: HTER" in err
    assert "[3/4] multitask_meta on C-I seed 0 draw 0: not run: multitask_meta with meta or triplet" in err
    assert "[4/4] multitask_meta on C-I seed 0 draw 1: not run:" in err

    records = load_run_records("synthetic-tiny").sort_values("hparam_draw")
    assert records[["method", "hparam_draw"]].values.tolist() == [["erm", 0], [variant, 1]]
    board = (workdir / "boards" / "synthetic-tiny.md").read_text()
    # one row per method: per seed, the draw with the lower source-validation EER
    assert "the best of the defaults and 1 random draws by `source_val`" in board
    assert "| erm |" in board and f"| {variant} |" not in board


@pytest.mark.slow
def test_interrupted_sweep_resumes_only_the_unfinished_job_then_skips_everything(workdir, cache, capsys, monkeypatch):
    from mlflow import MlflowClient

    save = TrainingState.save
    crashed = []

    def save_then_crash_once(state, path):
        save(state, path)
        if not crashed:
            crashed.append(path)
            raise RuntimeError("node lost")

    monkeypatch.setattr(TrainingState, "save", save_then_crash_once)
    assert _sweep(workdir, cache, "--methods", "erm", "--seeds", "0,1") == 1
    err = capsys.readouterr().err
    assert "[1/2] erm on C-I seed 0 draw 0: failed: RuntimeError: node lost" in err
    assert "[2/2] erm on C-I seed 1 draw 0: HTER" in err
    assert "1 failed, run the same command again to retry them" in err
    assert crashed[0].is_file()  # the checkpoint the failed job left

    assert _sweep(workdir, cache, "--methods", "erm", "--seeds", "0,1") == 0
    err = capsys.readouterr().err
    assert "[1/2] erm on C-I seed 0 draw 0: HTER" in err
    assert "[2/2] erm on C-I seed 1 draw 0: already finished, skipped" in err
    assert not crashed[0].exists()
    client = MlflowClient()
    experiment = client.get_experiment_by_name("synthetic-tiny").experiment_id
    resumed = client.search_runs([experiment], "metrics.resumed_from_checkpoint = 1")
    assert [(run.data.tags["dgfas.seed"], run.info.status) for run in resumed] == [("0", "FINISHED")]

    assert _sweep(workdir, cache, "--methods", "erm", "--seeds", "0,1") == 0
    assert capsys.readouterr().err.count("already finished, skipped") == 2


@pytest.mark.slow
def test_local_launcher_runs_jobs_in_worker_processes(workdir, cache, capsys, monkeypatch):
    from dgfas.tracking.stored_runs import load_run_records

    monkeypatch.setattr(dgfas.benchmark, "run_job", _in_test_process_only)  # spawned workers import the real one
    assert _sweep(workdir, cache, "--methods", "erm", "--seeds", "0,1", "--launcher", "local", "--jobs", "2") == 0
    err = capsys.readouterr().err
    assert "erm on C-I seed 0 draw 0: HTER" in err and "erm on C-I seed 1 draw 0: HTER" in err
    assert sorted(load_run_records("synthetic-tiny")["seed"]) == [0, 1]
    _assert_jobs_are_children_of_the_sweep()


@pytest.mark.slow
def test_submitit_launcher_runs_jobs_as_local_subprocesses(workdir, cache, capsys, monkeypatch):
    from dgfas.tracking.stored_runs import load_run_records

    monkeypatch.setattr(dgfas.benchmark, "run_job", _in_test_process_only)
    code = _sweep(workdir, cache, "--methods", "erm", "--seeds", "0,1", "--launcher", "submitit", "--cluster", "local",
                  "--timeout-min", "5")
    err = capsys.readouterr().err
    assert code == 0, err
    assert "erm on C-I seed 0 draw 0: HTER" in err and "erm on C-I seed 1 draw 0: HTER" in err
    assert sorted(load_run_records("synthetic-tiny")["seed"]) == [0, 1]
    assert len(list((workdir / "runs" / "submitit").glob("*/*_result.pkl"))) == 2
    _assert_jobs_are_children_of_the_sweep()


def test_unknown_launcher_and_bad_job_count_are_one_line_errors(workdir, cache, capsys):
    assert _sweep(workdir, cache, "--methods", "erm", "--launcher", "slurmm") == 2
    assert capsys.readouterr().err == "dgfas: error: unknown launcher 'slurmm'; valid: ['local', 'sequential', 'submitit']\n"
    with pytest.raises(SystemExit) as exit_status:  # argparse checks the flag's type and exits
        _sweep(workdir, cache, "--methods", "erm", "--launcher", "local", "--jobs", "0")
    assert exit_status.value.code == 2
    assert capsys.readouterr().err == "dgfas: error: argument --jobs: must be an integer >= 1, got '0'\n"


@pytest.mark.slow
def test_loso_sweep_trains_one_holdout_run_per_source_and_chooses_draws_by_them(workdir, cache, capsys):
    from dgfas.tracking.draws import choose_draws
    from dgfas.tracking.stored_runs import load_run_records

    assert _sweep(workdir, cache, "--methods", "erm", "--protocols", "MI-C", "--draws", "1", "--loso") == 0
    err = capsys.readouterr().err
    assert "erm on MI-C seed 0 draw 0 without M: HTER" in err and "without I: HTER" in err

    records = load_run_records("synthetic-tiny")
    assert len(records) == 2 * 3  # per draw: the run on M and I, one without M, one without I
    holdouts = records[records["holdout_source"].notna()]
    assert sorted(holdouts["holdout_source"]) == ["I", "I", "M", "M"]
    # the choice, by hand: the draw whose holdout runs have the lower mean held-out EER
    mean_eer = holdouts.groupby("hparam_draw")["source_val.video.eer"].mean()
    chosen = choose_draws(records, "loso")
    assert len(chosen) == 1 and chosen["hparam_draw"].iloc[0] == mean_eer.idxmin()
    board = (workdir / "boards" / "synthetic-tiny.md").read_text()
    assert "draws by `loso`" in board and "without" not in board


def test_holdout_source_must_be_a_source_of_a_multi_source_protocol(tmp_path):
    from dgfas.data.registry import DataOptions
    from dgfas.errors import DgfasError
    from dgfas.run import resolve

    for protocol, holdout in (("MI-C", "C"), ("C-I", "C")):
        with pytest.raises(DgfasError, match="holdout source"):
            resolve(RunSpec(protocol=protocol, method="erm", preset="tiny", holdout_source=holdout),
                    DataOptions(tmp_path))
