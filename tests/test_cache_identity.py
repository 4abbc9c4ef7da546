"""A real corpus's cache folder is keyed by the code that prepares it, found by following the preparation's imports."""

import shutil

from dgfas.code_identity import PACKAGE_DIR
from dgfas.data.corpora.cache_identity import PREPARATION_ENTRY, preprocessing_files, preprocessing_modules
from dgfas.data.corpora.facemesh import default_model_path

#: Every file that shapes a prepared frame, as the hand-written list of the preprocessing hash once named them.
SHAPES_A_FRAME = {"data/corpora/cache.py", "data/corpora/prepare.py", "data/corpora/video.py", "data/corpora/faces.py",
                  "data/corpora/facemesh.py", "data/corpora/labels.py", "data/synthetic/render.py",
                  "data/synthetic/mesh.py", "data/synthetic/face_asset.npz"}


def test_the_preprocessing_hash_covers_every_file_that_shapes_a_prepared_frame():
    files = preprocessing_files()
    assert SHAPES_A_FRAME <= set(files)
    assert {"data/corpora/video_preparer.py", "data/corpora/cache_writer.py", "data/corpora/derive.py",
            "data/corpora/cache_identity.py", "data/corpora/prepare_report.py"} <= set(files)
    assert all(path.is_file() for path in files.values())
    assert (default_model_path().name in files) == default_model_path().is_file()


def test_only_the_preparation_packages_key_the_cache():
    modules = preprocessing_modules()
    assert all(name.startswith(("data/corpora/", "data/synthetic/")) for name in modules)
    # shading a synthetic face, generating the synthetic domains and loading a corpus for a run change no prepared frame
    assert not modules & {"data/synthetic/face_render.py", "data/synthetic/generate.py", "data/corpora/datasets.py"}


def test_a_module_split_off_the_preparation_keys_the_cache_with_no_list_to_edit(tmp_path):
    package = tmp_path / "dgfas"
    shutil.copytree(PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "data/corpora/crop_step.py").write_text('"""A step split off the preparer."""\n')
    labels = package / "data/corpora/labels.py"
    labels.write_text(labels.read_text().replace("import numpy as np\n",
                                                 "import numpy as np\n\nfrom dgfas.data.corpora import crop_step\n", 1))
    assert "data/corpora/crop_step.py" in preprocessing_modules(package)
    assert "data/corpora/crop_step.py" not in preprocessing_modules()
    assert PREPARATION_ENTRY in preprocessing_modules(package)
