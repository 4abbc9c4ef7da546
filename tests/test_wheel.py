"""The wheel works: built from the working tree and installed, it runs outside the repository.

The wheel is built with pip from a copy of the working tree (the files git
tracks or would track), so the build neither writes into the checkout nor
packs a stale ``build/`` folder, and installed with ``pip install --target``
into an empty folder. Its commands then run with that folder first on
``PYTHONPATH`` and a working directory outside the repository, on the test
environment's interpreter: torch, MLflow and the other dependencies come from
the test environment (installing them into a new venv would take minutes and
need the network), while dgfas and every file it reads come from the wheel;
each check says where they were read from.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import dgfas
from dgfas.cli import main
from dgfas.scores import evaluate_score_file

REPO = Path(__file__).resolve().parents[1]

#: The repository's top-level data files the wheel must carry, and where in the package it carries them.
SHIPPED = {"protocols/*.toml": "dgfas/builtin/protocols", "leaderboards/reported*.csv": "dgfas/builtin/leaderboards",
           "docs/methods.md": "dgfas/builtin/docs"}

SCORES = """video_id,frame,label,score,attack_type
v1,0,1,0.9,none
v2,0,1,0.4,none
v3,0,0,0.2,print
v4,0,0,0.6,replay
"""

#: Run by the installed package: where it was imported from and the files it reads.
_WHERE = """
import json
import dgfas
from dgfas.protocols import PROTOCOLS, PROTOCOLS_DIR, get_protocol
from dgfas.tracking.reported import REPORTED_CSV, read_reported
from dgfas.tracking.intra import REPORTED_INTRA_CSV, read_reported_intra
from dgfas.tracking.row_setup import METHODS_DOC, documented_methods
from dgfas.data.synthetic.mesh import ASSET_PATH
own = get_protocol("own.toml")
print(json.dumps({
    "package": dgfas.__file__, "protocols": str(PROTOCOLS_DIR), "reported": str(REPORTED_CSV),
    "reported_intra": str(REPORTED_INTRA_CSV), "methods_doc": str(METHODS_DOC), "face_asset": str(ASSET_PATH),
    "reported_rows": len(read_reported()), "reported_intra_rows": len(read_reported_intra()),
    "documented": sorted(documented_methods()), "own_protocol": [own.name, str(own.path)],
}))
"""


def _working_tree(destination: Path) -> None:
    """Copy the files git tracks or would track (untracked, not ignored) from the checkout to ``destination``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for relative in filter(None, listed):
        source = REPO / relative
        if source.is_file():  # a tracked file deleted in the working tree is left out, as the build would
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / relative)


def _pip(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", *args, "--quiet", "--no-deps", "--no-index"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the working tree as git sees it."""
    folder = tmp_path_factory.mktemp("tree")
    _working_tree(folder)
    return folder


@pytest.fixture(scope="module")
def wheel(tree, tmp_path_factory) -> Path:
    """The wheel built from ``tree``, with the build backend already installed (no network)."""
    dist = tmp_path_factory.mktemp("dist")
    _pip("wheel", "--no-build-isolation", "--wheel-dir", str(dist), str(tree))
    [built] = dist.glob("dgfas-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The folder the wheel is installed into."""
    site = tmp_path_factory.mktemp("site")
    _pip("install", "--target", str(site), str(wheel))
    return site


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    """A working directory outside the repository, holding a score file and a user's own protocol file."""
    folder = tmp_path_factory.mktemp("elsewhere")
    (folder / "scores.csv").write_text(SCORES)
    builtin = (REPO / "protocols" / "OCI-M.toml").read_text(encoding="utf-8")
    (folder / "own.toml").write_text(builtin.replace('name = "OCI-M"', 'name = "OWN-OCI-M"', 1), encoding="utf-8")
    return folder


def _run(installed: Path, elsewhere: Path, *argv: str) -> str:
    """Run ``argv`` (``dgfas ...`` as the wheel's script) in ``elsewhere`` with the installed package first on the path."""
    env = {**os.environ, "PYTHONPATH": str(installed)}
    if argv[0] == "dgfas":
        argv = (str(installed / "bin" / "dgfas"), *argv[1:])
    done = subprocess.run(argv, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_wheel_carries_every_module_and_data_file_of_the_package(tree, wheel):
    packed = {name for name in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in name}
    package = {path.relative_to(tree).as_posix() for path in (tree / "dgfas").rglob("*") if path.is_file()}
    shipped = {f"{folder}/{path.name}" for pattern, folder in SHIPPED.items() for path in tree.glob(pattern)}
    assert "dgfas/data/synthetic/face_asset.npz" in package and "dgfas/builtin/protocols/OULU-P1.toml" in shipped
    assert packed == package | shipped


def test_the_installed_wheel_reads_its_own_protocols_and_reported_numbers(installed, elsewhere):
    where = json.loads(_run(installed, elsewhere, sys.executable, "-c", _WHERE))
    assert Path(where["package"]).is_relative_to(installed), "the checkout's dgfas was imported, not the wheel's"
    for name in ("protocols", "reported", "reported_intra", "methods_doc", "face_asset"):
        assert Path(where[name]).is_relative_to(installed / "dgfas"), f"{name} read from {where[name]}"
    for pattern, folder in SHIPPED.items():
        for path in REPO.glob(pattern):
            assert (installed / folder / path.name).read_bytes() == path.read_bytes(), path
    assert where["reported_rows"] > 0 and where["reported_intra_rows"] > 0
    assert "erm" in where["documented"]
    assert where["own_protocol"] == ["OWN-OCI-M", "own.toml"], "a protocol given as a .toml path"


def test_dgfas_list_outside_the_repository_lists_the_builtin_protocols(installed, elsewhere):
    lines = _run(installed, elsewhere, "dgfas", "list").splitlines()
    [protocols] = [line for line in lines if line.startswith("protocols: ")]
    assert protocols.removeprefix("protocols: ").split(", ") == sorted(path.stem for path in REPO.glob("protocols/*.toml"))
    assert {"OULU-P1", "OCI-M", "ICM-O"} <= set(protocols.removeprefix("protocols: ").split(", "))


def test_dgfas_metrics_outside_the_repository_prints_the_hter(installed, elsewhere):
    report = _run(installed, elsewhere, "dgfas", "metrics", "scores.csv", "--threshold", "0.5")
    # v2 (live, 0.4) is rejected and v4 (replay, 0.6) accepted: FRR 1/2, FAR 1/2, HTER 50%
    assert "HTER         50.00%  (FAR 50.00%, FRR 50.00%)" in report.splitlines()
    in_checkout = evaluate_score_file(elsewhere / "scores.csv", level="video", threshold=0.5)
    assert json.loads(_run(installed, elsewhere, "dgfas", "metrics", "scores.csv", "--threshold", "0.5", "--json")) \
        == pytest.approx(in_checkout)


def test_dgfas_version_from_the_wheel_gives_the_checkouts_code_hashes(installed, elsewhere, capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    in_checkout = capsys.readouterr().out
    from_wheel = _run(installed, elsewhere, "dgfas", "--version")
    assert from_wheel.splitlines()[0] == f"dgfas {dgfas.__version__}"
    assert from_wheel == in_checkout, "a code hash depends on where the package is installed"
