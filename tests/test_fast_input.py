"""Column-wise reading and encoding give exactly what the row-by-row code gives, errors included."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mirlens.data import readers
from mirlens.data.alphabet import TOKENS
from mirlens.data.encoding import MIRNA_SLOT, encode_pairs
from mirlens.data.readers import read_pairs
from mirlens.errors import InputError
from mirlens.predict.score import pair_names

LETTERS = list("ACGUTNacgutnRYKM")


def random_file(n: int, seed: int, *, header: str | None, sep: str = "\t", crlf: bool = False) -> str:
    rng = np.random.default_rng(seed)
    out = [header] if header else []
    for i in range(n):
        m = "".join(rng.choice(LETTERS, int(rng.integers(15, 26))))
        t = "".join(rng.choice(LETTERS, int(rng.integers(1, 60))))
        label = str(rng.integers(0, 2)) if header is None or "label" in header else None
        fields = [f" m{i % 37} ", m, f"t{i}", f" {t}"] + ([label] if label is not None else [])
        out.append(sep.join(fields))
        if rng.random() < 0.05:
            out.append("   ")  # blank lines keep the numbering
    return ("\r\n" if crlf else "\n").join(out) + "\n"


def row_by_row(path, text: str, fmt: str) -> pd.DataFrame:
    rows = readers._RowCollector(path.name, readers.DEFAULT_MAX_MIRNA_LEN)
    lines = list(readers._numbered_lines(text))
    if fmt == "mitar":
        readers._parse_mitar(lines, rows)
    else:
        readers._parse_plain(lines, path, rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rows.table()


@pytest.mark.parametrize("name, header, sep, fmt, crlf", [
    ("a.txt", None, "\t", "mitar", False),
    ("b.txt", "miRNA ID\tmiRNA Seq (3'-->5')\tmRNA\tTarget Site\tlabel", "\t", "mitar", True),
    ("c.tsv", "mirna_id\tmirna\ttarget_id\ttarget\tlabel", "\t", "plain", False),
    ("d.csv", "mirna_id,mirna,target_id,target", ",", "plain", True),
])
def test_column_wise_reading_equals_the_row_by_row_reader(tmp_path, name, header, sep, fmt, crlf):
    text = random_file(3000, seed=len(name) + len(sep), header=header, sep=sep, crlf=crlf)
    path = tmp_path / name
    path.write_bytes(text.encode())
    expected = row_by_row(path, text.replace("\r\n", "\n"), fmt)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        got = read_pairs(path)
    pd.testing.assert_frame_equal(got, expected)
    assert got.attrs == expected.attrs and got.attrs["n_ambiguous"] > 0


@pytest.mark.parametrize("bad_row, bad, fragment", [
    (2500, "ACXU", "unknown letter 'X' at position 3"),
    (2999, "", "empty target sequence"),
])
def test_a_late_bad_row_is_named_by_its_line(tmp_path, bad_row, bad, fragment):
    lines = random_file(3000, seed=5, header=None).splitlines()
    data_lines = [i for i, x in enumerate(lines) if x.strip()]
    k = data_lines[bad_row]
    fields = lines[k].split("\t")
    fields[3] = bad
    lines[k] = "\t".join(fields)
    path = tmp_path / "bad.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as info:
        read_pairs(path)
    assert info.value.record == k + 1 and fragment in str(info.value)


def test_vectorised_encoding_equals_the_padded_strings():
    rng = np.random.default_rng(0)
    mirnas = ["".join(rng.choice(list("ACGUN"), int(rng.integers(1, MIRNA_SLOT + 1)))) for _ in range(500)]
    targets = ["".join(rng.choice(list("ACGUN"), int(rng.integers(1, 41)))) for _ in range(500)]
    lut = {c: i for i, c in enumerate(TOKENS)}
    expected = np.array([[lut[c] for c in m[::-1].ljust(MIRNA_SLOT, "N") + t.ljust(40, "N")]
                         for m, t in zip(mirnas, targets)], dtype=np.uint8)
    np.testing.assert_array_equal(encode_pairs(mirnas, targets, 40), expected)
    table = pd.DataFrame({"mirna_id": ["a", "b"], "target_id": ["x", "y"], "source": ["f.txt"] * 2,
                          "record": [4, 9]})
    with pytest.raises(InputError, match=r"f.txt, line 9 \(b / y\): target is 41 nt"):
        encode_pairs(["ACGU", "ACGU"], ["A", "A" * 41], 40, names=pair_names(table))
    with pytest.raises(InputError, match="pair 2: sequence is not clean RNA"):
        encode_pairs(["ACGU", "ACGé"], ["A", "A"], 40)


def test_tables_write_the_same_bytes_as_pandas_float_format(tmp_path):
    from mirlens.tables import write_table

    rng = np.random.default_rng(0)
    n = 5000
    df = pd.DataFrame({"id": pd.array(["x,y", "p"] * (n // 2), dtype="str"), "i": np.arange(n),
                       "f32": (rng.standard_normal(n) * 10.0 ** rng.integers(-9, 9, n)).astype(np.float32),
                       "f64": rng.standard_normal(n) * 10.0 ** rng.integers(-9, 12, n),
                       "label": pd.array([1, None] * (n // 2), dtype="Int8"), "flag": rng.random(n) > 0.5})
    df.loc[::7, "f64"] = np.nan
    df.loc[3, "f64"], df.loc[5, "f64"], df.loc[9, "f32"] = -0.0, np.inf, np.float32(1e-45)
    for suffix, sep in ((".tsv", "\t"), (".csv", ",")):
        write_table(df, tmp_path / f"t{suffix}")
        expected = df.to_csv(sep=sep, index=False, float_format="%.7g")
        assert (tmp_path / f"t{suffix}").read_text() == expected


@pytest.mark.parametrize("frame", [
    {"a": ["x\ty", "p"], "b": [1, 2]},                                      # a tab: quoted by pandas
    {"a": ['say "hi"', "p"], "b": [1, 2]},                                  # a quote
    {"a": ["two\nlines", "p"], "b": [1, 2]},                                # a line break
    {"a": ["x", None]},                                                     # one column: pandas writes ""
    {"a": pd.Categorical(["x", "y"]), "b": [1, 2]},
    {"a": [None, None], "b": ["x", "y"]},
    {"a": ["x", 3], "b": [1.5, None]},                                      # mixed objects
    {"a": pd.array([True, None], dtype="boolean"), "b": np.array([True, False])},
    {"a": pd.Series([], dtype="str"), "b": pd.Series([], dtype="int64")},
    {"a\tb": [1, 2], "c": [3, 4]},                                          # a name that needs quoting
    {"a": pd.to_datetime(["2020-01-01", "2021-06-30"]), "b": ["x", "y"]},
    {"a": np.array([2**63 - 1, -5], dtype=np.int64), "b": np.array([1, 2], dtype=np.uint8), "c": ["é", "ü"]},
])
def test_every_table_is_written_as_pandas_writes_it(tmp_path, frame):
    from mirlens.tables import write_table

    df = pd.DataFrame(frame)
    for suffix, sep in ((".tsv", "\t"), (".csv", ",")):
        write_table(df, tmp_path / f"t{suffix}")
        assert (tmp_path / f"t{suffix}").read_text() == df.to_csv(sep=sep, index=False, float_format="%.7g")


def test_column_cleaning_flags_exactly_the_rows_with_a_refused_letter_or_nothing():
    import pyarrow as pa

    rng = np.random.default_rng(1)
    letters = list("ACGUNTacgun") + list("RYKM") + ["", "X", "-", "é", " "]
    rows = ["".join(rng.choice(letters, rng.integers(0, 6))) for _ in range(2000)] + ["", "A", "", "X"]
    clean, bad, _ = readers._clean_column(pa.array(rows, type=pa.string()).slice(1))
    expected = []
    for i, text in enumerate(rows[1:]):
        try:
            cleaned, _ = readers.clean_sequence(text)
        except InputError:
            expected.append(True)
            continue
        expected.append(False)
        assert clean[i].as_py() == cleaned
    assert bad.tolist() == expected
