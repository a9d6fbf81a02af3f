"""FASTA reading and FASTA-derived pair tables."""

from __future__ import annotations

import dataclasses
import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirlens.data.fasta import FastaRecord, iter_fasta, pairs_from_fasta, read_fasta
from mirlens.data.pairs import validate_pairs
from mirlens.errors import InputError, MirlensError


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# ------------------------------------------------------------------------------------------------ real files


def test_mirna_fasta(mitar_tests_dir):
    records = read_fasta(mitar_tests_dir / "mirna_multiple.fa")
    assert [r.id for r in records] == [
        "hsa-miR-1291", "hsa-miR-548d-5p", "hsa-miR-138-5p", "hsa-miR-99a-5p",
        "hsa-miR-22-5p", "hsa-miR-22-3p", "hsa-miR-21-5p",
    ]
    first = records[0]
    assert first == FastaRecord("hsa-miR-1291", "", "UGGCCCUGACUGAAGACCAGCAGU", 1, 1, 0)
    assert [r.record for r in records] == list(range(1, 8))
    assert [r.line for r in records] == list(range(1, 15, 2))


def test_target_fasta_dna_to_rna(mitar_tests_dir):
    records = read_fasta(mitar_tests_dir / "mrna_multiple_mixedLongShort.fa")
    assert len(records) == 7
    assert records[0].id == "1_long" and len(records[0].seq) == 373
    assert records[0].seq.startswith("CCCUCGAGGCUCCCUC")
    assert all(set(r.seq) <= set("ACGUN") for r in records)


def test_bare_sequence_file(mitar_tests_dir):
    path = mitar_tests_dir / "mirna_hsa-miR-139-5p.txt"
    (rec,) = read_fasta(path, allow_bare=True)
    assert rec == FastaRecord("mirna_hsa-miR-139-5p", "", "UCUACAGUGCACGUGUCUCCAGU", 1, 1, 0)
    with pytest.raises(InputError, match="before the first header"):
        read_fasta(path)


def test_pairs_from_real_fasta(mitar_tests_dir):
    df = pairs_from_fasta(mitar_tests_dir / "mirna_multiple.fa", mitar_tests_dir / "mrna_multiple_mixedLongShort.fa")
    validate_pairs(df)
    assert len(df) == 49
    assert df["label"].isna().all()
    assert df["mirna_id"].iloc[0] == "hsa-miR-1291" and df["target_id"].iloc[:7].tolist()[-1] == "7_long"
    targets = mitar_tests_dir / "mrna_multiple_mixedLongShort.fa"
    one = pairs_from_fasta(mitar_tests_dir / "mirna_hsa-miR-622.txt", targets)
    assert one["mirna_id"].unique().tolist() == ["mirna_hsa-miR-622"]
    assert one["mirna"].iloc[0] == "CAGUCUGCUGAGGUUGGAGC"


# ------------------------------------------------------------------------------------------------ hand-made files


def test_multiline_blank_lowercase_crlf_description(tmp_path):
    text = "\r\n>seq1 some gene; desc\r\nacgt\r\nAC GU\r\n\r\n>seq2\r\n  uuu  \r\n\r\n"
    records = read_fasta(write(tmp_path, "a.fa", text))
    assert records == [
        FastaRecord("seq1", "some gene; desc", "ACGUACGU", 1, 2, 0),
        FastaRecord("seq2", "", "UUU", 2, 6, 0),
    ]


def test_old_mac_line_endings_and_bom(tmp_path):
    records = read_fasta(write(tmp_path, "mac.fa", b"\xef\xbb\xbf>a\rACGU\r>b\rGG\r"))
    assert [(r.id, r.seq, r.line) for r in records] == [("a", "ACGU", 1), ("b", "GG", 3)]


def test_ambiguity_codes(tmp_path):
    path = write(tmp_path, "amb.fa", ">a\nACRY\n>b\nNNW\n")
    with pytest.warns(UserWarning, match=r"amb\.fa: 3 IUPAC"):
        records = read_fasta(path)
    assert [(r.seq, r.n_ambiguous) for r in records] == [("ACNN", 2), ("NNN", 1)]


def test_streaming_is_lazy(tmp_path):
    path = write(tmp_path, "lazy.fa", ">a\nACGU\n>b\nAC\n>c\nXX\n")
    it = iter_fasta(path)
    assert next(it).id == "a"
    assert next(it).id == "b"
    with pytest.raises(InputError, match="unknown letter"):
        next(it)


def test_record_is_frozen():
    rec = FastaRecord("a", "", "ACGU", 1, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.seq = "GG"  # type: ignore[misc]


def test_space_after_marker_is_not_part_of_the_id(tmp_path):
    (rec,) = read_fasta(write(tmp_path, "s.fa", ">  id1  the description \nACGU\n"))
    assert (rec.id, rec.description) == ("id1", "the description")


def test_bare_multiline_sequence(tmp_path):
    (rec,) = read_fasta(write(tmp_path, "my-mirna.txt", "\nUGAG\nguag\n\n"), allow_bare=True)
    assert (rec.id, rec.seq, rec.line) == ("my-mirna", "UGAGGUAG", 2)


ERROR_CASES = [
    # (name, content, allow_bare, record text or None, fragments)
    ("before.fa", "ACGU\n>a\nACGU\n", False, "line 1", ["before the first header"]),
    ("emptyid.fa", ">a\nAC\n>\nACGU\n", False, "line 3", ["empty header"]),
    ("emptyid2.fa", ">  \t \nACGU\n", False, "line 1", ["empty header"]),
    ("emptyseq.fa", ">a\n>b\nACGU\n", False, "record 'a', line 1", ["empty sequence"]),
    ("emptylast.fa", ">a\nAC\n\n>b\n\n", False, "record 'b', line 4", ["empty sequence"]),
    ("letter.fa", ">a\nACGU\n>b\nACGU\nAC1U\n", False, "record 'b', line 5", ["unknown letter '1'", "position 3"]),
    ("dup.fa", ">a\nAC\n>b\nGG\n>a x\nUU\n", False, "record 'a', line 5",
     ["duplicate id 'a'", "record 3 (line 5)", "record 1 (line 1)"]),
    ("empty.fa", "", False, None, ["empty file"]),
    ("blank.fa", "\n \n\r\n", True, None, ["empty file"]),
    ("bare.txt", "ACGU\n>a\nACGU\n", True, "line 2", ["bare"]),
    ("bareletter.txt", "ACGU\nACGZ\n", True, "record 'bareletter', line 2", ["unknown letter 'Z'"]),
]


@pytest.mark.parametrize(("name", "content", "allow_bare", "record", "fragments"), ERROR_CASES,
                         ids=[c[0] for c in ERROR_CASES])
def test_errors_name_file_record_and_problem(tmp_path, name, content, allow_bare, record, fragments):
    path = write(tmp_path, name, content)
    with pytest.raises(InputError) as exc_info:
        read_fasta(path, allow_bare=allow_bare)
    err = exc_info.value
    assert err.source == name
    assert err.record == record
    message = str(err)
    assert name in message
    if record is not None:
        assert record in message
    for fragment in fragments:
        assert fragment in message, message


def test_undecodable_and_missing(tmp_path):
    path = write(tmp_path, "bin.fa", b">a\nACGU\n>b\nAC\xc3\x28GU\n")
    with pytest.raises(InputError) as exc_info:
        read_fasta(path)
    assert exc_info.value.record == "line 4" and "UTF-8" in str(exc_info.value)
    with pytest.raises(InputError, match="file not found"):
        read_fasta(tmp_path / "nope.fa")
    with pytest.raises(InputError, match="not a file"):
        read_fasta(tmp_path)


def test_pairs_from_fasta_cross_product(tmp_path):
    mirnas = write(tmp_path, "m.fa", ">m1\nUGAG\n>m2\nACGU\n")
    targets = write(tmp_path, "t.fa", ">t1 x\nAAAA\n>t2\nCCCT\n>t3\nGG\n")
    df = validate_pairs(pairs_from_fasta(mirnas, targets))
    assert list(zip(df["mirna_id"], df["target_id"])) == [
        ("m1", "t1"), ("m1", "t2"), ("m1", "t3"), ("m2", "t1"), ("m2", "t2"), ("m2", "t3"),
    ]
    assert df["target"].tolist()[:3] == ["AAAA", "CCCU", "GG"]
    assert (df["source"] == "t.fa").all() and df["record"].tolist() == [1, 2, 3, 1, 2, 3]
    assert df["label"].isna().all() and df.attrs["n_ambiguous"] == 0


def test_pairs_from_fasta_mirna_too_long(tmp_path):
    mirnas = write(tmp_path, "m.fa", ">ok\nUGAG\n>long\n" + "A" * 27 + "\n")
    targets = write(tmp_path, "t.fa", ">t\nAAAA\n")
    with pytest.raises(InputError) as exc_info:
        pairs_from_fasta(mirnas, targets)
    assert exc_info.value.source == "m.fa" and exc_info.value.record == "record 'long', line 3"
    assert "27 nt" in str(exc_info.value) and "limit of 26" in str(exc_info.value)
    assert len(pairs_from_fasta(mirnas, targets, max_mirna_len=None)) == 2


# ------------------------------------------------------------------------------------------------ properties

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_TOKENS = [
    ">", ">a", ">b c", "\n", "\r\n", "\r", " ", "ACGU", "acgt", "RYK", "X", "1", "*", "-", "\ufeff", "\x00", "é",
]


def _check(records: list[FastaRecord]) -> None:
    assert records
    ids = [r.id for r in records]
    assert len(set(ids)) == len(ids)
    for i, r in enumerate(records, start=1):
        assert isinstance(r, FastaRecord) and r.record == i and r.id and r.seq
        assert set(r.seq) <= set("ACGUN")


@FUZZ
@given(data=st.binary(max_size=300), allow_bare=st.booleans())
def test_fuzz_bytes_never_crash(tmp_path, data, allow_bare):
    path = tmp_path / "fuzz.fa"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _check(read_fasta(path, allow_bare=allow_bare))
        except MirlensError:
            pass


@FUZZ
@given(parts=st.lists(st.sampled_from(_TOKENS) | st.text(max_size=4), max_size=40), allow_bare=st.booleans())
def test_fuzz_text_never_crash(tmp_path, parts, allow_bare):
    path = tmp_path / "fuzz.fa"
    path.write_text("".join(parts), encoding="utf-8", errors="surrogatepass")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _check(read_fasta(path, allow_bare=allow_bare))
        except MirlensError:
            pass


_record = st.tuples(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_|.", min_size=1, max_size=10),
    st.text(alphabet="abc xyz;=", max_size=15).map(str.strip),
    st.text(alphabet="ACGUN", min_size=1, max_size=200),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(_record, min_size=1, max_size=10, unique_by=lambda r: r[0]),
    width=st.integers(min_value=1, max_value=80),
    newline=st.sampled_from(["\n", "\r\n"]),
)
def test_round_trip(tmp_path, records, width, newline):
    lines = []
    for rid, desc, seq in records:
        lines.append(f">{rid} {desc}".rstrip())
        lines.extend(seq[i : i + width] for i in range(0, len(seq), width))
    path = tmp_path / "rt.fa"
    path.write_bytes((newline.join(lines) + newline).encode())
    got = read_fasta(path)
    assert [(r.id, r.description, r.seq) for r in got] == records
    assert [r.record for r in got] == list(range(1, len(records) + 1))
    header_lines = [i for i, line in enumerate(lines, start=1) if line.startswith(">")]
    assert [r.line for r in got] == header_lines
    df = pairs_from_fasta(path, path, max_mirna_len=None)
    assert len(df) == len(records) ** 2 and isinstance(df, pd.DataFrame)
