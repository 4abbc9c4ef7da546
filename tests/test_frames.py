"""Frame sets: lazy row views over memory maps, the frame cache's format, fingerprints read from caches."""

import dataclasses

import numpy as np
import pytest

from dgfas.data.frame_cache import FrameCacheWriter, read_frame_cache, read_manifest, verify_frame_cache
from dgfas.data.frames import RowView, concat_frames, encode_unit_map, frames_fingerprint
from dgfas.errors import DgfasError


def _memmap(tmp_path, name, array):
    np.save(tmp_path / f"{name}.npy", array)
    return np.load(tmp_path / f"{name}.npy", mmap_mode="r")


@pytest.mark.parametrize(
    "key",
    [np.array([5, 1, 1, 7, 0]), np.array([[3, 2], [2, 9]]), np.array([], np.int64), np.array([-1, 4]),
     np.arange(10) % 3 == 0, slice(2, 9, 3), slice(None), 4, -2, [6, 2]],
)
def test_row_view_indexes_like_the_array_it_stands_for(tmp_path, key):
    base = np.arange(20 * 3 * 2, dtype=np.uint8).reshape(20, 3, 2)
    rows = np.array([19, 3, 4, 5, 6, 0, 12, 11, 2, 8])
    view = RowView.of(_memmap(tmp_path, "a", base)).take(rows)
    expected = base[rows][key]
    got = view[key]
    assert type(got) is np.ndarray and got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    assert len(view) == 10 and view.shape == (10, 3, 2) and view.dtype == np.uint8 and view.ndim == 3
    np.testing.assert_array_equal(np.asarray(view), base[rows])


def test_row_view_refuses_bad_rows(tmp_path):
    view = RowView.of(np.zeros((4, 2)))
    for key in (np.array([4]), np.array([-5]), np.ones(3, bool)):
        with pytest.raises(IndexError):
            view[key]
    with pytest.raises(TypeError, match="rows only"):
        view[0, 1]


def test_joined_views_of_several_bases_stay_lazy_and_read_right(tmp_path):
    a = _memmap(tmp_path, "a", np.arange(12, dtype=np.float32).reshape(6, 2))
    b = _memmap(tmp_path, "b", 100 + np.arange(8, dtype=np.float32).reshape(4, 2))
    joined = RowView.concat([RowView.of(a).take(np.array([4, 0])), b, RowView.of(a).take(slice(1, 3))])
    assert len(joined.sources) == 2 and joined.sources[0] is a and joined.sources[1] is b
    expected = np.concatenate([np.asarray(a)[[4, 0]], np.asarray(b), np.asarray(a)[1:3]])
    np.testing.assert_array_equal(np.asarray(joined), expected)
    rows = np.array([7, 0, 6, 0, 2])
    np.testing.assert_array_equal(joined[rows], expected[rows])
    with pytest.raises(ValueError, match="cannot join"):
        RowView.concat([a, np.zeros((2, 3), np.float32)])


def test_select_and_concat_keep_the_pixel_arrays_where_they_are(tmp_path, frames_factory):
    made = frames_factory("d", "train")
    frames = dataclasses.replace(made, images=_memmap(tmp_path, "images", made.images),
                                 depth=_memmap(tmp_path, "depth", made.depth))
    picked = frames.select(frames.label == 1).select(np.array([2, 0]))
    joined = concat_frames([picked, frames.select(np.array([1]))])
    for name in ("images", "depth"):
        view = getattr(joined, name)
        assert isinstance(view, RowView) and view.sources == (getattr(frames, name),)  # the same memory map
        rows = [*np.flatnonzero(made.label == 1)[[2, 0]], 1]
        np.testing.assert_array_equal(np.asarray(view), getattr(made, name)[rows])
    np.testing.assert_array_equal(joined.label, [1, 1, 0])
    assert isinstance(joined.label, np.ndarray) and joined.origin is None


def test_unit_maps_are_stored_as_value_times_255():
    values = np.array([-0.5, 0.0, 0.5, 1 / 255, 0.999, 1.0, 3.0], np.float16)
    np.testing.assert_array_equal(encode_unit_map(values), [0, 0, 128, 1, 255, 255, 255])
    stored = np.array([3, 200], np.uint8)
    assert encode_unit_map(stored) is stored


def _write(folder, frames, size=8, **changes):
    with FrameCacheWriter(folder, "dom", len(frames["images"]), size) as writer:
        for start in range(0, len(frames["images"]), 3):
            writer.append(**{k: v[start:start + 3] for k, v in {**frames, **changes}.items()})


def _video_frames(n=7, size=8, seed=0):
    rng = np.random.default_rng(seed)
    return {"images": rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8),
            "depth": rng.random((n, size, size)).astype(np.float16), "parsing": np.zeros((n, size, size), np.uint8),
            "reflection": np.zeros((n, size, size, 3), np.uint8), "pulse": np.zeros(n, np.float32),
            "label": np.arange(n) % 2, "attack_type": np.array(["none", "print"] * n)[:n],
            "video_id": np.array([f"dom/v{i // 3}" for i in range(n)]), "frame": np.arange(n) % 3,
            "subject": np.arange(n) // 3, "split": np.full(n, "train")}


def test_frame_cache_round_trip_maps_the_pixels_and_stores_a_fingerprint(tmp_path):
    frames = _video_frames()
    _write(tmp_path / "c", frames)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]  # the partial folder was renamed into place
    read = read_frame_cache(tmp_path / "c")
    assert isinstance(read.images, np.memmap) and isinstance(read.depth, np.memmap)
    assert not read.images.flags.writeable
    np.testing.assert_array_equal(read.images, frames["images"])
    np.testing.assert_array_equal(read.depth, encode_unit_map(frames["depth"]))
    np.testing.assert_array_equal(read.video_id, frames["video_id"])
    assert read.origin.sources == (read_manifest(tmp_path / "c")["fingerprint"],)
    _write(tmp_path / "same", frames)
    _write(tmp_path / "other", frames, label=1 - frames["label"])
    fingerprints = [read_manifest(tmp_path / n)["fingerprint"] for n in ("c", "same", "other")]
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]


def test_a_failed_or_short_write_leaves_no_cache(tmp_path):
    frames = _video_frames()
    with pytest.raises(ValueError, match="rows of"):
        _write(tmp_path / "c", frames, images=frames["images"][:, :4])
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="9 announced"):
        with FrameCacheWriter(tmp_path / "c", "dom", 9, 8) as writer:
            writer.append(**frames)
    assert read_manifest(tmp_path / "c") is None
    with pytest.raises(DgfasError, match="not a complete frame cache"):
        read_frame_cache(tmp_path / "c")


def _cut_short(path):
    path.write_bytes(path.read_bytes()[:-10])


def _break_header(path):
    data = bytearray(path.read_bytes())
    data[12] ^= 0xFF  # inside "{'descr': ..."
    path.write_bytes(bytes(data))


def _as_float(path):
    np.save(path, np.load(path).astype(np.float32))


@pytest.mark.parametrize(("name", "damage", "says"), [
    ("images.npy", _cut_short, "truncated: 1462 bytes, its header promises 1472"),
    ("video_id.npy", _break_header, "not a .npy array (its header does not parse)"),
    ("pulse.npy", lambda path: np.save(path, np.zeros(7, np.float64)), "holds float64 (7,), expected float32 (7,)"),
    ("images.npy", _as_float, "holds float32 (7, 8, 8, 3), expected uint8 (7, 8, 8, 3)"),
    ("frame.npy", lambda path: np.save(path, np.arange(6)), "holds int64 (6,), expected int64 (7,)"),
    ("manifest.json", lambda path: path.write_text('{"format": 1, "frames": '), "not JSON"),
])
def test_a_damaged_cache_is_named_in_one_line_and_deleted_never_loaded(tmp_path, capsys, name, damage, says):
    folder = tmp_path / "c"
    _write(folder, _video_frames())
    damage(folder / name)
    assert verify_frame_cache(folder) == [f"{folder / name}: {says}"]
    assert read_manifest(folder) is None
    assert capsys.readouterr().err == (f"dgfas: {folder / name}: {says}; deleted the damaged frame cache {folder} "
                                       "to build it again\n")
    assert not folder.exists()
    with pytest.raises(DgfasError, match="not a complete frame cache"):
        read_frame_cache(folder)


@pytest.mark.parametrize("name", ["images.npy", "attack_type.npy", "subject.npy"])
def test_verify_finds_a_changed_data_byte_that_opening_cannot_see(tmp_path, name):
    folder = tmp_path / "c"
    _write(folder, _video_frames())
    assert verify_frame_cache(folder) == []
    data = bytearray((folder / name).read_bytes())
    data[-4] ^= 0x01  # the low byte of the last text character, a byte of the last value or pixel
    (folder / name).write_bytes(bytes(data))
    assert read_manifest(folder) is not None and len(read_frame_cache(folder)) == 7
    assert verify_frame_cache(folder) == [f"{folder / name}: its data differs from the sha256 written with it in "
                                          "manifest.json"]


def test_fingerprint_of_cached_frames_names_cache_and_rows_without_reading_pixels(tmp_path, monkeypatch):
    frames = _video_frames()
    _write(tmp_path / "a", frames)
    _write(tmp_path / "b", frames, images=255 - frames["images"])
    a, b = read_frame_cache(tmp_path / "a"), read_frame_cache(tmp_path / "b")
    monkeypatch.setattr(RowView, "_read", lambda *args: pytest.fail("the fingerprint read pixels"))
    first = frames_fingerprint([a.select(np.array([0, 2])), a])
    assert first == frames_fingerprint([a.select(np.array([0, 2])), read_frame_cache(tmp_path / "a")])
    assert first != frames_fingerprint([a.select(np.array([0, 3])), a])  # other rows
    assert first != frames_fingerprint([b.select(np.array([0, 2])), a])  # other pixels, same labels
    joined = concat_frames([a.select(np.array([1])), b])
    assert joined.origin.sources == (a.origin.sources[0], b.origin.sources[0])
    assert frames_fingerprint([joined]) != frames_fingerprint([concat_frames([a.select(np.array([1])), a])])
