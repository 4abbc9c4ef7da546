from pathlib import Path

import pytest

from dgfas.data.sources import bind_domain
from dgfas.errors import DgfasError
from dgfas.protocols import LEAVE_ONE_OUT, PROTOCOL_ORDER, PROTOCOLS, get_protocol, load_protocol_file


def test_every_shipped_protocol_loads_and_is_named_after_its_file():
    assert set(PROTOCOLS.names()) == set(PROTOCOL_ORDER)
    for name in PROTOCOLS:
        protocol = get_protocol(name)
        assert protocol.name == name
        assert protocol.target not in protocol.sources


def test_leave_one_out_protocols_cover_the_four_domains():
    targets = {get_protocol(name).target for name in LEAVE_ONE_OUT}
    assert targets == {"O", "C", "I", "M"}
    for name in LEAVE_ONE_OUT:
        protocol = get_protocol(name)
        assert set(protocol.sources) | {protocol.target} == {"O", "C", "I", "M"}
    assert get_protocol("MI-C").sources == ("M", "I")
    assert get_protocol("C-I").sources == ("C",) and get_protocol("C-I").target == "I"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
name = "p"
sources = ["O", "C"]
target = "M"
[splits]
source_train = ["train"]
source_val = ["dev"]
target_test = ["test"]
"""


def test_a_minimal_protocol_file_gets_defaults(tmp_path):
    protocol = load_protocol_file(_write(tmp_path, GOOD))
    assert protocol.kind == "leave-one-out" and protocol.frames.train == 0
    assert get_protocol(str(tmp_path / "p.toml")).sources == ("O", "C")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace('target = "M"', 'target = "X"'), r"unknown domain 'X'; valid: \['C', 'I', 'M', 'O', 'S'\]"),
        (lambda t: 'colour = "red"\n' + t, r"unknown key\(s\) \['colour'\] in the protocol"),
        (lambda t: t.replace('["dev"]', '["val"]'), r"unknown split 'val' in splits.source_val"),
        (lambda t: t.replace('target_test = ["test"]', ""), r"missing key\(s\) \['target_test'\] in \[splits\]"),
        (lambda t: t.replace('target = "M"', 'target = "O"'), "target O is also a source"),
        (lambda t: t + "[frames]\ntrain = -1\n", "frames.train must be a whole number"),
        (lambda t: t.replace("[splits]", "[splits"), "not valid TOML"),
    ],
)
def test_bad_protocol_files_give_one_line_errors_naming_the_file(tmp_path, edit, message):
    path = _write(tmp_path, edit(GOOD))
    with pytest.raises(DgfasError, match=message) as info:
        load_protocol_file(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_unknown_protocol_name_lists_valid_ones():
    with pytest.raises(DgfasError, match=r"unknown protocol 'OCI-X'; valid: \["):
        get_protocol("OCI-X")


def test_data_source_binding():
    assert bind_domain("synthetic", "O") == "synth-oulu"
    with pytest.raises(DgfasError, match="no dataset for domain 'S'"):
        bind_domain("synthetic", "S")
    with pytest.raises(DgfasError, match="unknown data source 'imaginary'"):
        bind_domain("imaginary", "O")
