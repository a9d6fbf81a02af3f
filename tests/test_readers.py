"""Pair-file readers (mitar / plain / parquet) and the pair table."""

from __future__ import annotations

import time
import warnings

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirlens.data.pairs import PAIR_COLUMNS, concat_pairs, empty_pairs, make_pairs, validate_pairs
from mirlens.data.readers import read_pairs
from mirlens.errors import InputError, MirlensError

MITAR_HEADER = "miRNA ID\tmiRNA Seq (3'-->5')\tmRNA Accession Number\tTarget Site\tlabel"
MITAR_FILES = [
    "data_DeepMirTar_removeMisMissing_remained_seed1122.txt",
    "data_DeepMirTar_removeMisMissing_indTest_seed1122.txt",
    "data_miRaw_noL_noMisMissing_indTest_seed1122.txt",
    "data_miRaw_IndTest_noRepeats_3folds.txt",
    "data_DeepMirTar_miRAW_noRepeats_3folds.txt",
    "data_DeepMirTar_IndTest_noRepeats_3folds.txt",
    "data_DeepMirTar_test.txt",
    "data_DeepMirTar_S1_S2.txt",
]


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def assert_input_error(exc_info, source: str, record: int | None, *fragments: str) -> None:
    err = exc_info.value
    assert err.source == source
    assert err.record == record
    message = str(err)
    assert source in message
    if record is not None:
        assert f"record {record}" in message
    for fragment in fragments:
        assert fragment in message, message


# ------------------------------------------------------------------------------------------------ real files


@pytest.mark.parametrize("name", MITAR_FILES)
def test_every_mitar_file_reads(mitar_data_dir, name):
    df = read_pairs(mitar_data_dir / name)
    validate_pairs(df)
    assert tuple(df.columns) == PAIR_COLUMNS
    assert (df["source"] == name).all()
    assert df["label"].notna().all()
    assert df.attrs["n_ambiguous"] == 0
    # DNA targets became RNA
    assert not df["target"].str.contains("T").any()


def test_orientation_first_row(mitar_data_dir):
    df = read_pairs(mitar_data_dir / "data_DeepMirTar_removeMisMissing_indTest_seed1122.txt")
    assert len(df) == 96
    first = df.iloc[0]
    # the file holds CAGACAGUUAAGUAUCCAGUA (3'->5'); in memory the miRNA is 5'->3'
    assert first["mirna"] == "AUGACCUAUGAAUUGACAGAC"
    assert first["mirna_id"] == "MIMAT0000272"
    assert first["target_id"] == "NM_001071"
    assert first["target"] == "AUCUGACAAUGCUGAGGUUAU"
    assert first["label"] == 1
    assert first["record"] == 1


def test_dna_targets_become_rna(mitar_data_dir):
    df = read_pairs(mitar_data_dir / "data_DeepMirTar_removeMisMissing_indTest_seed1122.txt")
    row = df[df["record"] == 36].iloc[0]  # this line's target is written in DNA letters
    assert row["target"] == "UUGGUUUCCUAUCCUUUGCUGCC"
    miraw = read_pairs(mitar_data_dir / "data_miRaw_noL_noMisMissing_indTest_seed1122.txt")
    assert miraw.iloc[0]["target"] == "GGCCAGGCCGCCCCGGACACUGACUCCAACUACCUCCGUG"
    assert miraw.iloc[0]["mirna"] == "UGAGGUAGUAGGUUGUAUGGUU"  # hsa-let-7c-5p, 5'->3'


def test_header_detection(mitar_data_dir):
    with_header = read_pairs(mitar_data_dir / "data_DeepMirTar_removeMisMissing_remained_seed1122.txt")
    assert len(with_header) == 7758
    assert with_header["record"].iloc[0] == 2  # line 1 is the header
    assert with_header["label"].value_counts().to_dict() == {1: 3908, 0: 3850}
    without = read_pairs(mitar_data_dir / "data_DeepMirTar_removeMisMissing_indTest_seed1122.txt", fmt="mitar")
    assert without["record"].iloc[0] == 1


def test_large_file_is_fast(mitar_data_dir):
    path = mitar_data_dir / "data_miRaw_IndTest_noRepeats_3folds.txt"
    start = time.perf_counter()
    df = read_pairs(path)
    elapsed = time.perf_counter() - start
    assert len(df) == 41863
    assert elapsed < 1.5, f"reading {path.name} took {elapsed:.2f} s"


def test_gene_level_layout(gene_level_dir):
    df = read_pairs(gene_level_dir / "dev_gene_level.tsv")
    validate_pairs(df)
    assert len(df) == 2964
    assert df["label"].value_counts().to_dict() == {1: 2690, 0: 274}
    first = df.iloc[0]
    assert first["mirna"] == "UGAGGUAGUAAGUUGUAUUGUU"  # plain layout: 5'->3' as written, not reversed
    assert first["target_id"] == "ENSG00000167123"
    assert first["target"].startswith("GUCCAGGUGAUGACUGC")
    assert first["record"] == 2


# ------------------------------------------------------------------------------------------------ plain layouts


def test_plain_tsv_with_and_without_label(tmp_path):
    path = write(tmp_path, "p.tsv", "mirna_id\tmirna\ttarget_id\ttarget\nm1\tUGAGGUAG\tt1\tACGTACGT\n")
    df = read_pairs(path)
    assert df.iloc[0]["mirna"] == "UGAGGUAG"
    assert df.iloc[0]["target"] == "ACGUACGU"
    assert df["label"].isna().all() and str(df["label"].dtype) == "Int8"
    text = (
        "mirna_id\tmirna\ttarget_id\ttarget\tlabel\n"
        "m1\tACGU\tt1\tACGU\t1\nm2\tACGU\tt2\tACGU\t\nm3\tAC\tt3\tAC\t0\n"
    )
    labelled = write(tmp_path, "q.tsv", text)
    assert read_pairs(labelled)["label"].tolist() == [1, pd.NA, 0]


def test_plain_csv_sniffing_extra_columns_and_order(tmp_path):
    text = "score,target,label,mirna_id,target_id,mirna\n0.5,acgu,0,m1,t1,ugag\n"
    for name in ("p.csv", "p.dat", "p.txt"):  # .txt means tab, but a header with only commas is sniffed
        df = read_pairs(write(tmp_path, name, text))
        assert df.iloc[0][["mirna_id", "mirna", "target_id", "target", "label"]].tolist() == [
            "m1", "UGAG", "t1", "ACGU", 0,
        ]


def test_quoted_csv(tmp_path):
    path = write(tmp_path, "q.csv", 'mirna_id,mirna,target_id,target\n"miR-1, a",ACGU,"t1",ACGU\n')
    assert read_pairs(path).iloc[0]["mirna_id"] == "miR-1, a"


def test_windows_line_endings_blank_lines_bom(tmp_path):
    text = (
        "\ufeffmirna_id\tmirna\ttarget_id\ttarget\tlabel\r\n"
        "\r\nm1\tACGU\tt1\tACGU\t1\r\n   \r\nm2\tAC\tt2\tGU\t0\r\n"
    )
    df = read_pairs(write(tmp_path, "w.tsv", text))
    assert df["mirna_id"].tolist() == ["m1", "m2"]
    assert df["record"].tolist() == [3, 5]
    mitar = "m1\tUGCA\tt1\tACGT\t1\r\n\r\nm2\tUGCA\tt2\tACGT\t0\r\n"
    df = read_pairs(write(tmp_path, "w.txt", mitar))
    assert df["mirna"].tolist() == ["ACGU", "ACGU"]
    assert df["record"].tolist() == [1, 3]


def test_mitar_with_header_and_auto_detection(tmp_path):
    path = write(tmp_path, "m.txt", f"{MITAR_HEADER}\nmiR-1\tUGCA\tNM_1\tACGT\t1\n")
    df = read_pairs(path)
    assert df.iloc[0]["mirna"] == "ACGU" and df.iloc[0]["record"] == 2
    # the same header is not taken for a plain header
    assert read_pairs(path, fmt="mitar").equals(df)


def test_gene_level_aliases(tmp_path):
    path = write(tmp_path, "g.tsv", "mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\nm\tACGU\tENSG1\tTTTT\t1\n")
    df = read_pairs(path, fmt="plain")
    assert df.iloc[0][["mirna", "target_id", "target"]].tolist() == ["ACGU", "ENSG1", "UUUU"]


def test_parquet(tmp_path):
    frame = pd.DataFrame(
        {"mirna_id": ["a", "b"], "mirna": ["acgu", "UUUU"], "target_id": ["x", "y"],
         "target": ["ACGT", "GGGG"], "label": [1.0, None]}
    )
    for suffix in (".parquet", ".pq"):
        path = tmp_path / f"p{suffix}"
        frame.to_parquet(path)
        df = read_pairs(path)
        validate_pairs(df)
        assert df["mirna"].tolist() == ["ACGU", "UUUU"]
        assert df["target"].tolist() == ["ACGU", "GGGG"]
        assert df["label"].tolist() == [1, pd.NA]
        assert df["record"].tolist() == [1, 2]


def test_max_mirna_len(tmp_path):
    path = write(tmp_path, "long.txt", "m\t" + "A" * 30 + "\tt\tACGU\t1\n")
    with pytest.raises(InputError) as exc_info:
        read_pairs(path)
    assert_input_error(exc_info, "long.txt", 1, "30 nt", "limit of 26")
    assert len(read_pairs(path, max_mirna_len=None)) == 1
    with pytest.raises(InputError, match="limit of 20"):
        read_pairs(write(tmp_path, "l2.txt", "m\t" + "A" * 21 + "\tt\tACGU\t1\n"), max_mirna_len=20)


def test_ambiguity_codes_warn_once_and_count(tmp_path):
    path = write(tmp_path, "amb.txt", "m\tACGR\tt\tAYSN\t1\nm\tACGU\tt\tWWAC\t0\n")
    with pytest.warns(UserWarning, match=r"amb\.txt: 5 IUPAC") as record:
        df = read_pairs(path)
    assert len([w for w in record if "IUPAC" in str(w.message)]) == 1
    assert df.attrs["n_ambiguous"] == 5
    assert df["mirna"].iloc[0] == "NGCA" and df["target"].tolist() == ["ANNN", "NNAC"]


# ------------------------------------------------------------------------------------------------ errors

ERROR_CASES = [
    # (file name, content, fmt, record, fragments)
    ("cols.txt", "m\tACGU\tt\tACGU\t1\nm\tACGU\tt\tACGU\n", "auto", 2, ["expected 5", "found 4"]),
    ("cols6.txt", "m\tACGU\tt\tACGU\t1\t\n", "mitar", 1, ["found 6"]),
    ("label.txt", "m\tACGU\tt\tACGU\t1\nm\tACGU\tt\tACGU\t2\n", "auto", 2, ["label must be 0 or 1", "'2'"]),
    ("nolabel.txt", "m\tACGU\tt\tACGU\t\n", "auto", 1, ["label must be 0 or 1"]),
    ("emptymir.txt", "m\t\tt\tACGU\t1\n", "auto", 1, ["empty miRNA sequence"]),
    ("emptytar.txt", "m\tACGU\tt\t \t1\n", "auto", 1, ["empty target sequence"]),
    ("letter.txt", "m\tACGU\tt\tACGU\t1\n\nm\tACGU\tt\tACXU\t1\n", "auto", 3,
     ["target sequence", "unknown letter 'X'", "position 3"]),
    ("mirletter.txt", "m\tAC-U\tt\tACGU\t1\n", "auto", 1, ["miRNA sequence", "unknown letter '-'"]),
    ("emptyid.txt", "\tACGU\tt\tACGU\t1\n", "auto", 1, ["empty miRNA id"]),
    ("emptytid.txt", "m\tACGU\t\tACGU\t1\n", "auto", 1, ["empty target id"]),
    ("empty.txt", "", "auto", None, ["empty file"]),
    ("blank.txt", "\n  \n\r\n", "auto", None, ["empty file"]),
    ("hdronly.txt", MITAR_HEADER + "\n", "auto", None, ["no pairs found"]),
    ("hdronly.tsv", "mirna_id\tmirna\ttarget_id\ttarget\n", "auto", None, ["no pairs found"]),
    ("missing.tsv", "mirna_id\tmirna\ttarget\tlabel\nm\tACGU\tACGU\t1\n", "auto", 1,
     ["missing required column", "target_id"]),
    ("missing2.csv", "id,seq\nm,ACGU\n", "plain", 1, ["missing required column", "mirna_id", "target"]),
    ("dup.tsv", "mirna_id\tmirna\tmirna\ttarget_id\ttarget\nm\tA\tA\tt\tA\n", "plain", 1, ["appears twice"]),
    ("plaincols.tsv", "mirna_id\tmirna\ttarget_id\ttarget\nm\tACGU\tt\n", "auto", 2, ["expected 4", "found 3"]),
    ("plainlabel.csv", "mirna_id,mirna,target_id,target,label\nm,ACGU,t,ACGU,yes\n", "auto", 2, ["'yes'"]),
    ("plainasmitar.tsv", "mirna_id\tmirna\ttarget_id\ttarget\nm\tACGU\tt\tACGU\n", "mitar", 1, ["fmt='plain'"]),
]


@pytest.mark.parametrize(
    ("name", "content", "fmt", "record", "fragments"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_errors_name_file_record_and_problem(tmp_path, name, content, fmt, record, fragments):
    path = write(tmp_path, name, content)
    with pytest.raises(InputError) as exc_info:
        read_pairs(path, fmt=fmt)
    assert_input_error(exc_info, name, record, *fragments)


def test_undecodable_bytes(tmp_path):
    path = write(tmp_path, "bin.txt", b"m\tACGU\tt\tACGU\t1\nm\tACGU\tt\tACGU\t0\nm\t\xff\xfe\tt\tA\t1\n")
    with pytest.raises(InputError) as exc_info:
        read_pairs(path)
    assert_input_error(exc_info, "bin.txt", 3, "UTF-8", "0xff")


def test_missing_file_directory_and_bad_format(tmp_path):
    with pytest.raises(InputError) as exc_info:
        read_pairs(tmp_path / "nope.txt")
    assert_input_error(exc_info, "nope.txt", None, "file not found", str(tmp_path / "nope.txt"))
    with pytest.raises(InputError, match="not a file"):
        read_pairs(tmp_path)
    with pytest.raises(InputError, match="unknown pair file format 'xml'"):
        read_pairs(write(tmp_path, "a.txt", "m\tA\tt\tA\t1\n"), fmt="xml")


def test_bad_parquet(tmp_path):
    with pytest.raises(InputError) as exc_info:
        read_pairs(write(tmp_path, "bad.parquet", b"PAR1 not really"))
    assert_input_error(exc_info, "bad.parquet", None, "Parquet")
    path = tmp_path / "cols.parquet"
    pd.DataFrame({"mirna_id": ["a"], "mirna": ["A"]}).to_parquet(path)
    with pytest.raises(InputError, match="missing required column.*target_id"):
        read_pairs(path)
    path = tmp_path / "seq.parquet"
    frame = pd.DataFrame({"mirna_id": ["a", "b"], "mirna": ["A", None], "target_id": ["x", "y"], "target": ["A", "C"]})
    frame.to_parquet(path)
    with pytest.raises(InputError) as exc_info:
        read_pairs(path)
    assert_input_error(exc_info, "seq.parquet", 2, "empty miRNA sequence")


# ------------------------------------------------------------------------------------------------ pair table


def test_empty_concat_and_validate():
    empty = empty_pairs()
    assert tuple(empty.columns) == PAIR_COLUMNS and len(empty) == 0
    validate_pairs(empty)
    a = make_pairs(mirna_id=["m"], mirna=["ACGU"], target_id=["t"], target=["GG"], label=[1], source="a", record=[1],
                   n_ambiguous=2)
    b = make_pairs(mirna_id=["n"], mirna=["UU"], target_id=["u"], target=["CC"], label=[None], source="b", record=[7],
                   n_ambiguous=1)
    both = validate_pairs(concat_pairs([a, b]))
    assert both["source"].tolist() == ["a", "b"] and both.attrs["n_ambiguous"] == 3
    assert both.index.tolist() == [0, 1]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda df: df.drop(columns="source"), "columns must be"),
        (lambda df: df[list(reversed(df.columns))], "columns must be"),
        (lambda df: df.assign(mirna=["ACGT", "AC"]), "clean RNA"),
        (lambda df: df.assign(target=["ACGU", ""]), "clean RNA"),
        (lambda df: df.assign(label=pd.array([1, 2], dtype="Int8")), "label must be"),
        (lambda df: df.assign(label=[1.0, 0.0]), "dtype Int8"),
        (lambda df: df.assign(record=["1", "2"]), "record"),
        (lambda df: df.assign(mirna_id=[1, 2]), "strings"),
    ],
)
def test_validate_pairs_rejects(change, fragment):
    good = make_pairs(mirna_id=["m", "n"], mirna=["ACGU", "AC"], target_id=["t", "u"], target=["ACGU", "GG"],
                      label=[1, 0], source="f.txt", record=[1, 2])
    validate_pairs(good)
    with pytest.raises(InputError, match=fragment):
        validate_pairs(change(good))


def test_validate_pairs_names_the_row():
    df = make_pairs(mirna_id=["m", "n"], mirna=["ACGU", "ACXU"], target_id=["t", "u"], target=["A", "G"],
                    label=[1, 0], source="f.txt", record=[3, 9])
    with pytest.raises(InputError) as exc_info:
        validate_pairs(df)
    assert exc_info.value.source == "f.txt" and exc_info.value.record == 9


# ------------------------------------------------------------------------------------------------ properties

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

_TOKENS = [
    "\t", "\n", "\r\n", "\r", ",", " ", '"', "ACGU", "acgt", "RYN", "X", "0", "1", "2", "miR-1", "NM_1", "",
    "mirna_id", "mirna", "target_id", "target", "label", "mirna_seq", "mrna_id", "mrna_seq", MITAR_HEADER,
    "m\tUGCA\tt\tACGT\t1\n", "\ufeff", "\x00", "é",
]


def _check_result(df: pd.DataFrame) -> None:
    validate_pairs(df)
    assert len(df) > 0


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".txt", ".tsv", ".csv", ".dat", ".parquet"]))
def test_fuzz_bytes_never_crash(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _check_result(read_pairs(path))
        except MirlensError:
            pass


@FUZZ
@given(
    parts=st.lists(st.sampled_from(_TOKENS) | st.text(max_size=5), max_size=40),
    suffix=st.sampled_from([".txt", ".tsv", ".csv"]),
    fmt=st.sampled_from(["auto", "mitar", "plain"]),
    max_len=st.sampled_from([None, 3, 26]),
)
def test_fuzz_text_never_crash(tmp_path, parts, suffix, fmt, max_len):
    path = tmp_path / f"fuzz{suffix}"
    path.write_text("".join(parts), encoding="utf-8", errors="surrogatepass")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _check_result(read_pairs(path, fmt=fmt, max_mirna_len=max_len))
        except MirlensError:
            pass


_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:|", min_size=1, max_size=12)
_pair = st.tuples(
    _ids, st.text(alphabet="ACGUN", min_size=1, max_size=26), _ids, st.text(alphabet="ACGUN", min_size=1, max_size=60),
    st.sampled_from([0, 1]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_pair, min_size=1, max_size=20), with_mitar_header=st.booleans())
def test_round_trip_plain_and_mitar(tmp_path, rows, with_mitar_header):
    mirna_id, mirna, target_id, target, label = (list(c) for c in zip(*rows))
    expected = make_pairs(mirna_id=mirna_id, mirna=mirna, target_id=target_id, target=target, label=label,
                          source="x", record=list(range(1, len(rows) + 1)))

    def compare(df, first_record):
        got = df.drop(columns=["source", "record"])
        assert got.equals(expected.drop(columns=["source", "record"]))
        assert df["record"].tolist() == list(range(first_record, first_record + len(rows)))

    plain = tmp_path / "rt.tsv"
    plain.write_text("mirna_id\tmirna\ttarget_id\ttarget\tlabel\n"
                     + "".join(f"{a}\t{b}\t{c}\t{d}\t{e}\n" for a, b, c, d, e in rows))
    compare(read_pairs(plain), 2)

    csv_path = tmp_path / "rt.csv"
    expected.drop(columns=["source", "record"]).to_csv(csv_path, index=False)
    compare(read_pairs(csv_path), 2)

    mitar = tmp_path / "rt.txt"
    header = MITAR_HEADER + "\n" if with_mitar_header else ""
    mitar.write_text(header + "".join(f"{a}\t{b[::-1]}\t{c}\t{d}\t{e}\n" for a, b, c, d, e in rows))
    compare(read_pairs(mitar), 2 if with_mitar_header else 1)
    compare(read_pairs(mitar, fmt="mitar"), 2 if with_mitar_header else 1)
