from pathlib import Path

import pytest

from dgfas.data.sources import DATA_SOURCES, DOMAINS, bind_domain
from dgfas.errors import DgfasError
from dgfas.protocols import (
    PROTOCOLS,
    check_distinct,
    get_protocol,
    load_protocol_file,
    protocol_names,
)
from dgfas.protocols.builtin import in_table_order

LEAVE_ONE_OUT = protocol_names("leave-one-out")
LEAVE_ONE_OUT_5 = protocol_names("leave-one-out-5")
PROTOCOL_ORDER = protocol_names()


def test_every_shipped_protocol_loads_and_is_named_after_its_file():
    assert set(PROTOCOLS.names()) == set(PROTOCOL_ORDER)
    for name in PROTOCOLS:
        protocol = get_protocol(name)
        assert protocol.name == name
        # an intra protocol's one domain is its source and its target
        assert (protocol.target in protocol.sources) == (protocol.kind == "intra")


def test_leave_one_out_protocols_cover_the_four_domains():
    targets = {get_protocol(name).target for name in LEAVE_ONE_OUT}
    assert targets == {"O", "C", "I", "M"}
    for name in LEAVE_ONE_OUT:
        protocol = get_protocol(name)
        assert set(protocol.sources) | {protocol.target} == {"O", "C", "I", "M"}
    assert get_protocol("MI-C").sources == ("M", "I")
    assert get_protocol("C-I").sources == ("C",) and get_protocol("C-I").target == "I"


def test_five_domain_leave_one_out_protocols_hold_out_each_domain_once():
    """SiW joins the cross-domain family: each of O, C, I, M, S unseen once, the other four the sources,
    named like the four-domain files (sources, then the target) and of a kind of their own."""
    protocols = [get_protocol(name) for name in LEAVE_ONE_OUT_5]
    assert sorted(p.target for p in protocols) == ["C", "I", "M", "O", "S"]
    for protocol in protocols:
        assert len(protocol.sources) == 4 and set(protocol.sources) | {protocol.target} == {"O", "C", "I", "M", "S"}
        assert protocol.name == f"{''.join(protocol.sources)}-{protocol.target}"
        assert protocol.title == f"{'&'.join(protocol.sources)}→{protocol.target}"
        assert protocol.kind == "leave-one-out-5"
    # the four-domain ones keep their sources in the same order, S added last
    for four, five in zip(LEAVE_ONE_OUT, LEAVE_ONE_OUT_5):
        assert get_protocol(five).sources == (*get_protocol(four).sources, "S")
    assert {bind_domain("synthetic", "S"), bind_domain("real", "S")} == {"synth-siw", "siw"}


def test_tables_list_the_shipped_protocols_in_the_papers_order():
    """The order is read from the files (kind, then ``order``, then name); these are the rows tables print."""
    assert PROTOCOL_ORDER == ("OCI-M", "OMI-C", "OCM-I", "ICM-O", "OCIS-M", "OMIS-C", "OCMS-I", "ICMS-O", "OCIM-S",
                              "MI-C", "MI-O", "C-I", "I-C", "OULU-P1", "OULU-P2", "OULU-P3", "OULU-P4",
                              "SiW-P1", "SiW-P2", "SiW-P3")
    assert protocol_names("intra", target="S") == ("SiW-P1", "SiW-P2", "SiW-P3")
    assert protocol_names("cross-test", target="S") == ()
    with pytest.raises(DgfasError, match=r"unknown protocol kind 'loo'; valid: \['leave-one-out', "):
        protocol_names("loo")


def _placed(tmp_path: Path, name: str, kind: str, order: int | None):
    path = tmp_path / f"{name}.toml"
    path.write_text(GOOD.replace('name = "p"', f'name = "{name}"\nkind = "{kind}"'
                                 + ("" if order is None else f"\norder = {order}")), encoding="utf-8")
    return load_protocol_file(path)


def test_a_protocol_is_placed_by_kind_then_order_then_name(tmp_path):
    protocols = [_placed(tmp_path, "b", "cross-test", None), _placed(tmp_path, "a", "cross-test", None),
                 _placed(tmp_path, "z", "cross-test", 1), _placed(tmp_path, "y", "leave-one-out", 2),
                 _placed(tmp_path, "x", "leave-one-out", 1)]
    assert [p.name for p in in_table_order(protocols)] == ["x", "y", "z", "a", "b"]
    clash = [_placed(tmp_path, "c", "cross-test", 1), _placed(tmp_path, "d", "cross-test", 1)]
    with pytest.raises(DgfasError, match=r"c.toml and .*d.toml: two cross-test protocols with order = 1"):
        in_table_order(clash)
    # the same order in two kinds is no clash
    assert [p.name for p in in_table_order([clash[0], _placed(tmp_path, "e", "leave-one-out", 1)])] == ["e", "c"]


def test_every_data_source_binds_each_domain_letter():
    for source in ("synthetic", "real"):
        assert list(DATA_SOURCES.get(source)) == list(DOMAINS)
    assert bind_domain("synthetic", "O", intra=True) == "synth-oulu-intra"
    assert bind_domain("real", "O", intra=True) == "oulu"


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
        (lambda t: "order = 0\n" + t, r"order must be a whole number >= 1 \(its place among its kind's\), got 0"),
        (lambda t: 'order = "first"\n' + t, "order must be a whole number >= 1"),
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
    with pytest.raises(DgfasError, match=r"no dataset for domain 'X'; it binds \['C', 'I', 'M', 'O', 'S'\]"):
        bind_domain("synthetic", "X")
    with pytest.raises(DgfasError, match="unknown data source 'imaginary'"):
        bind_domain("imaginary", "O")


def test_a_protocols_identity_is_its_content(tmp_path):
    builtin = get_protocol("OCI-M")
    copy = tmp_path / "copy.toml"
    copy.write_bytes(builtin.path.read_bytes())
    assert get_protocol(str(copy)).content_hash == builtin.content_hash
    assert builtin.as_params()["protocol_hash"] == builtin.content_hash
    assert get_protocol("OMI-C").content_hash != builtin.content_hash


def test_a_file_named_like_a_builtin_protocol_with_other_content_is_refused_naming_both(tmp_path):
    builtin = get_protocol("OCI-M")
    changed = tmp_path / "mine.toml"
    changed.write_text(builtin.path.read_text(encoding="utf-8").replace("[frames]", "# edited\n[frames]", 1)
                       + "\n# edited\n")
    with pytest.raises(DgfasError) as error:
        get_protocol(str(changed))
    message = str(error.value)
    assert "'OCI-M'" in message and str(changed) in message and str(builtin.path) in message and "\n" not in message


def test_two_loaded_files_with_one_name_and_different_content_are_refused(tmp_path):
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    text = 'name = "mine"\nsources = ["O", "C"]\ntarget = "I"\n[splits]\nsource_train = ["train"]\n' \
           'source_val = ["dev"]\ntarget_test = ["test"]\n'
    first.write_text(text)
    second.write_text(text.replace('["O", "C"]', '["O", "M"]'))
    check_distinct([load_protocol_file(first), load_protocol_file(first)])
    with pytest.raises(DgfasError, match=f"named 'mine' .*{first}.* and {second}"):
        check_distinct([load_protocol_file(first), load_protocol_file(second)])


def test_a_benchmark_of_two_files_with_one_name_stops_before_any_run(tmp_path, capsys):
    from dgfas.cli import main

    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text('name = "mine"\nsources = ["O", "C"]\ntarget = "I"\n[splits]\nsource_train = ["train"]\n'
                     'source_val = ["dev"]\ntarget_test = ["test"]\n')
    second.write_text(first.read_text().replace('"I"', '"M"'))
    assert main(["benchmark", "--protocols", f"{first},{second}", "--methods", "erm", "--preset", "tiny",
                 "--cache", str(tmp_path / "cache"), "--runs-dir", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dgfas: error: two protocol files named 'mine'") and err.count("\n") == 1
    assert not (tmp_path / "cache").exists() and not (tmp_path / "runs").exists()
