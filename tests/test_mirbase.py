"""miRNAs by name: the bundled miRBase 22.1 table against its source, resolving --mirna values, the `mirnas`
commands, and predict / predict-genes by name."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import re
import stat
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, require, shared_path
from typer.testing import CliRunner

from mirlens.cli.app import _register, app
from mirlens.data.examples import example_path
from mirlens.data.fasta import read_fasta
from mirlens.data.mirbase import mirbase, resolve_mirnas
from mirlens.errors import InputError

_register()
runner = CliRunner()
SOURCE_SHA256 = "3c521fc9bea3c7993e71cf188b11caf73e2d40ac83454e32876455317cc6d342"  # ../shared/data/mirbase/README.md
LET7A = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"


def _bundled() -> tuple[bytes, dict]:
    base = resources.files("mirlens") / "data"
    table = gzip.decompress((base / "mirbase_22.1.tsv.gz").read_bytes())
    return table, json.loads((base / "mirbase_22.1.json").read_text())


@pytest.fixture(scope="module")
def release() -> tuple[bytes, list[tuple[str, str, str]]]:
    """The source file, read here independently of mirlens: (unpacked bytes, [(name, accession, sequence)])."""
    raw = gzip.decompress(require(shared_path() / "data" / "mirbase" / "mature.fa.gz").read_bytes())
    records: list[list[str]] = []
    for line in raw.decode().splitlines():
        if line.startswith(">"):
            name, accession = line[1:].split()[:2]
            records.append([name, accession, ""])
        elif line.strip():
            records[-1][2] += line.strip()
    return raw, [tuple(r) for r in records]


# the bundled table ----------------------------------------------------------------------------------------------
def test_the_bundled_table_is_miRBase_22_1_every_name_and_accession_resolves(release):
    raw, records = release
    assert hashlib.sha256(raw).hexdigest() == SOURCE_SHA256
    assert len(records) == 48_885
    db = mirbase()
    assert len(db) == len(records)
    assert db.meta["source_sha256"] == SOURCE_SHA256 and db.meta["release"] == "22.1"
    names = [r[0] for r in records]
    by_name = resolve_mirnas(",".join(names))
    assert [(r.id, r.description.split()[0], r.seq) for r in by_name] == records
    by_accession = resolve_mirnas(" ".join(r[1] for r in records))
    assert [(r.id, r.seq) for r in by_accession] == [(r[0], r[2]) for r in records]
    assert [r.id for r in resolve_mirnas(",".join(n.upper() for n in names))] == names  # any case


def test_the_script_rebuilds_the_bundled_table(release, tmp_path):
    spec = importlib.util.spec_from_file_location("make_mirbase_table", REPO / "scripts" / "make_mirbase_table.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.SOURCE_SHA256 == SOURCE_SHA256
    script.main([str(shared_path() / "data" / "mirbase" / "mature.fa.gz"), "--out-dir", str(tmp_path)])
    table, meta = _bundled()
    assert gzip.decompress((tmp_path / "mirbase_22.1.tsv.gz").read_bytes()) == table
    rebuilt = json.loads((tmp_path / "mirbase_22.1.json").read_text())
    assert {k: v for k, v in rebuilt.items() if k != "created"} == {k: v for k, v in meta.items() if k != "created"}
    bad = tmp_path / "bad.fa"
    bad.write_bytes(release[0].replace(b"UGAGGUAGUAGGUUGUAUAGUU", b"UGAGGUAGUAGGUUGUAUAGUA", 1))
    with pytest.raises(SystemExit, match="is not miRBase 22.1"):
        script.main([str(bad), "--out-dir", str(tmp_path / "no")])


def test_the_bundled_table_matches_its_recorded_provenance():
    table, meta = _bundled()
    assert hashlib.sha256(table).hexdigest() == meta["table_sha256"]
    assert meta["source_sha256"] == SOURCE_SHA256
    lines = table.decode().splitlines()
    assert lines[0] == "name\taccession\tsequence" and len(lines) - 1 == meta["n_mirnas"] == 48_885
    assert not set("".join(line.split("\t")[2] for line in lines[1:])) - set("ACGU")  # RNA letters
    assert meta["species"]["hsa"] == "Homo sapiens" and meta["species"]["mmu"] == "Mus musculus"
    assert len(meta["species"]) == meta["n_species"] == 271
    assert "free to use" in meta["license"]


# resolving --mirna values ---------------------------------------------------------------------------------------
def test_names_accessions_globs_and_lists_resolve():
    (rec,) = resolve_mirnas("hsa-let-7a-5p")
    assert (rec.id, rec.seq, rec.record) == ("hsa-let-7a-5p", LET7A, 1)
    assert rec.description == "MIMAT0000062 Homo sapiens let-7a-5p"  # the rest of miRBase's header
    assert [r.id for r in resolve_mirnas("HSA-MIR-21-5P")] == ["hsa-miR-21-5p"]
    assert [r.id for r in resolve_mirnas("MIMAT0000076")] == ["hsa-miR-21-5p"]
    assert [r.id for r in resolve_mirnas("mimat0000076")] == ["hsa-miR-21-5p"]
    listed = resolve_mirnas("hsa-miR-21-5p, hsa-let-7a-5p,MIMAT0000076,hsa-mir-21-5p hsa-miR-155-5p")
    assert [r.id for r in listed] == ["hsa-miR-21-5p", "hsa-let-7a-5p", "hsa-miR-155-5p"]  # once, in order
    assert [r.record for r in listed] == [1, 2, 3]
    db = mirbase()
    human = resolve_mirnas("hsa-*")
    assert [r.id for r in human] == [m.name for m in db.mirnas if m.name.startswith("hsa-")]
    assert len(human) == 2_656
    let7 = [r.id for r in resolve_mirnas("hsa-let-7*")]
    assert let7[:2] == ["hsa-let-7a-5p", "hsa-let-7a-3p"] and len(let7) == 18
    assert all(x.startswith("hsa-let-7") for x in let7)
    assert [r.id for r in resolve_mirnas("hsa-miR-21-?p")] == ["hsa-miR-21-5p", "hsa-miR-21-3p"]
    mixed = [r.id for r in resolve_mirnas("hsa-miR-21-3p,hsa-miR-21*")]
    assert mixed[0] == "hsa-miR-21-3p" and mixed.count("hsa-miR-21-3p") == 1 and "hsa-miR-21-5p" in mixed


def test_globs_leave_out_miRNAs_too_long_for_the_model_and_say_so():
    said = []
    human = resolve_mirnas("hsa-*", max_len=26, say=said.append)
    assert len(human) == 2_656 - 4 and max(len(r.seq) for r in human) <= 26
    assert len(said) == 1 and "left out 4 miRNA(s)" in said[0] and "hsa-miR-1183 (27 nt)" in said[0]
    with pytest.warns(UserWarning, match="left out 1"):
        resolve_mirnas("hsa-miR-118*", max_len=26)
    with pytest.raises(InputError, match="hsa-miR-1183 is 27 nt, longer than the model's limit of 26 nt"):
        resolve_mirnas("hsa-miR-1183", max_len=26)
    with pytest.raises(InputError, match=re.escape("every miRNA matching 'hsa-miR-1183*' is longer")):
        resolve_mirnas("hsa-miR-1183*", max_len=26)
    notes = []
    resolve_mirnas("hsa-let-7a-5p", note=notes.append)
    assert notes == ["1 miRNA(s) by name (miRBase 22.1): hsa-let-7a-5p"]


@pytest.mark.parametrize(
    "spec,message",
    [
        ("hsa-miR-21-5q", "unknown miRNA name 'hsa-miR-21-5q'; closest: hsa-miR-21-5p, "),
        ("hsa-miR-21", "unknown miRNA name 'hsa-miR-21'; closest: hsa-miR-21-5p, hsa-miR-21-3p"),
        ("hsa-mir-155", "closest: hsa-miR-155-5p, hsa-miR-155-3p"),
        ("miR-21-5p", "names start with a species code: hsa-, mmu-, ...); closest: hsa-miR-21-5p, "),
        ("let-7a", "closest: hsa-let-7a-5p, hsa-let-7a-3p"),
        ("hsa-let-7a-5p,hsa-miR-21-5q,foo", "'hsa-miR-21-5q'; closest: hsa-miR-21-5p, "),
        ("hsa-let-7a-5p,hsa-miR-21-5q,foo", "(and 1 more unknown: 'foo')"),
        ("MIMAT9999999", "unknown miRBase accession 'MIMAT9999999' (not in miRBase 22.1)"),
        ("hsx-*", "no miRBase 22.1 name matches 'hsx-*' (unknown species code 'hsx'; closest: hsa"),
        ("hsa-miR-99999*", "no miRBase 22.1 name matches 'hsa-miR-99999*'"),
        (LET7A, "it looks like a sequence: give sequences in a FASTA file"),
        ("no_such_mirnas.fa", "no_such_mirnas.fa: file not found: no_such_mirnas.fa"),
        ("dir/mirnas", "mirnas: file not found: dir/mirnas"),
        (" , ", "no miRNA given"),
    ],
)
def test_unknown_names_are_one_line_errors_with_the_closest_names(spec, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        resolve_mirnas(spec)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_files_of_names_and_fasta_files(tmp_path, monkeypatch):
    names = tmp_path / "names.txt"
    names.write_text("# my miRNAs\n\nhsa-miR-21-5p\r\nMIMAT0000062, hsa-miR-155-5p  # inline comment\nhsa-miR-21-5p\n")
    assert [(r.id, r.line) for r in resolve_mirnas(names)] == [("hsa-miR-21-5p", 3), ("hsa-let-7a-5p", 4),
                                                                ("hsa-miR-155-5p", 4)]
    assert [r.id for r in resolve_mirnas(str(names))] == ["hsa-miR-21-5p", "hsa-let-7a-5p", "hsa-miR-155-5p"]
    (tmp_path / "plain.txt").write_text("hsa-let-7a-5p\n")  # no comment, one name
    assert [r.id for r in resolve_mirnas(tmp_path / "plain.txt")] == ["hsa-let-7a-5p"]
    bad = tmp_path / "bad.txt"
    bad.write_text("hsa-let-7a-5p\n\nhsa-miR-21-5q\n")
    with pytest.raises(InputError, match=r"^bad.txt, line 3: unknown miRNA name 'hsa-miR-21-5q'; closest: hsa-miR-21-5p"):
        resolve_mirnas(bad)
    (tmp_path / "empty.txt").write_text("# nothing yet\n")
    with pytest.raises(InputError, match="empty.txt: no miRNA names in the file"):
        resolve_mirnas(tmp_path / "empty.txt")
    # FASTA and bare-sequence files read exactly as read_fasta reads them
    fasta = example_path("mirnas.fa")
    assert resolve_mirnas(fasta) == read_fasta(fasta, allow_bare=True)
    bare = tmp_path / "my_mirna.txt"
    bare.write_text("ugagguaguagguuguauaguu\n")
    assert resolve_mirnas(bare) == read_fasta(bare, allow_bare=True)
    assert [(r.id, r.seq) for r in resolve_mirnas(bare)] == [("my_mirna", LET7A)]
    # a file wins over the miRNA of the same name; a broken FASTA file keeps its error
    monkeypatch.chdir(tmp_path)
    Path("hsa-let-7a-5p").write_text(">mine\nACGUACGUACGUACGUACGU\n")
    assert [r.id for r in resolve_mirnas("hsa-let-7a-5p")] == ["mine"]
    Path("broken.fa").write_text(">x\nACGUZ\n")
    with pytest.raises(InputError, match="broken.fa, record 'x', line 2: unknown letter 'Z'"):
        resolve_mirnas("broken.fa")
    with pytest.raises(InputError, match="not a file"):
        resolve_mirnas(str(tmp_path))


def test_search_ranks_the_miRNA_asked_for_first():
    db = mirbase()
    hits = [m.name for m in db.search("miR-21")]
    assert hits[:2] == ["hsa-miR-21-5p", "hsa-miR-21-3p"]
    assert hits.index("mmu-miR-21a-5p") < hits.index("hsa-miR-210-3p")  # paralogs before other numbers
    assert len(hits) == len(set(hits)) and all("mir-21" in h.lower() for h in hits)
    assert [m.name for m in db.search("MIMAT0000062")][:1] == ["hsa-let-7a-5p"]
    let7 = db.search(seed="GAGGUAG", species={"hsa"})
    assert {m.name for m in let7} >= {"hsa-let-7a-5p", "hsa-let-7i-5p", "hsa-miR-98-5p"}
    assert all(m.sequence[1:8] == "GAGGUAG" and m.species == "hsa" for m in let7)
    assert "hsa-let-7a-5p" in [m.name for m in db.search("GAGGTAGTAGGTTGTATAG")]  # DNA letters read as RNA
    assert {m.name for m in db.search("hsa-let-7?-5p")} == {f"hsa-let-7{x}-5p" for x in "abcdefgi"}
    family = {m.name for m in db.family(db.get("hsa-let-7a-5p"))}
    assert "hsa-miR-98-5p" in family and "hsa-let-7a-5p" not in family and "mmu-let-7a-5p" not in family
    assert db.species_codes("hsa, Mus musculus") == {"hsa", "mmu"}
    with pytest.raises(InputError, match="unknown species 'human'"):
        db.species_codes("human")


# the mirnas commands --------------------------------------------------------------------------------------------
def test_mirnas_search_lists_names_accessions_sequences_and_seeds(tmp_path):
    result = runner.invoke(app, ["mirnas", "search", "miR-21", "--limit", "5"])
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "hsa-miR-21-5p" in line)
    assert "MIMAT0000076" in row and MIR21 in row and "AGCUUAU" in row and "hsa-miR-590-5p" in row
    assert "first 5 shown" in result.output
    result = runner.invoke(app, ["mirnas", "search", "let-7", "--species", "mmu", "--seed", "GAGGUAG"])
    assert result.exit_code == 0 and "mmu-let-7a-5p" in result.output and "hsa-" not in result.output
    for args, message in ((["zzzz"], "no miRBase 22.1 miRNA matches 'zzzz'"),
                          (["miR-21", "--species", "hsx"], "unknown species 'hsx'"),
                          (["--seed", "GAGG"], "--seed takes the 7 nucleotides 2-8"),
                          ([], "give a QUERY"),
                          (["miR-21", "-o", str(tmp_path / "x.xyz")], "--output x.xyz: give a .fa/.fasta")):
        result = runner.invoke(app, ["mirnas", "search", *args])
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
        assert "MIMAT" not in result.output  # the error comes before any table


def test_mirnas_show_and_its_outputs(tmp_path):
    result = runner.invoke(app, ["mirnas", "show", "hsa-let-7a-5p,MIMAT0000076"])
    assert result.exit_code == 0, result.output
    assert "MIMAT0000062" in result.output and LET7A in result.output and "GAGGUAG" in result.output
    result = runner.invoke(app, ["mirnas", "show", "hsa-miR-21-5q"])
    assert result.exit_code == 1
    assert "error: unknown miRNA name 'hsa-miR-21-5q'; closest: hsa-miR-21-5p" in result.output
    old = os.umask(0o027)
    try:
        fa = tmp_path / "let7.fa"
        result = runner.invoke(app, ["mirnas", "search", "hsa-let-7*", "-o", str(fa), "--limit", "2"])
        assert result.exit_code == 0, result.output
        tsv = tmp_path / "let7.tsv"
        assert runner.invoke(app, ["mirnas", "show", "hsa-let-7a-5p,hsa-miR-21-5p", "-o", str(tsv)]).exit_code == 0
    finally:
        os.umask(old)
    records = read_fasta(fa)
    assert len(records) == 18  # -o gets every match, --limit only trims the screen
    assert (records[0].id, records[0].description, records[0].seq) == ("hsa-let-7a-5p",
                                                                       "MIMAT0000062 Homo sapiens let-7a-5p", LET7A)
    table = pd.read_csv(tsv, sep="\t")
    assert table["name"].tolist() == ["hsa-let-7a-5p", "hsa-miR-21-5p"]
    assert table["seed"].tolist() == ["GAGGUAG", "AGCUUAU"] and table["organism"][0] == "Homo sapiens"
    assert "hsa-miR-98-5p" in table["family"][0].split(",")
    for path in (fa, tsv):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    result = runner.invoke(app, ["mirnas", "info"])
    assert result.exit_code == 0 and SOURCE_SHA256 in result.output and "48,885" in result.output


# predict and predict-genes by name -------------------------------------------------------------------------------
def test_predict_by_name_equals_predict_on_the_fasta_file(tmp_path, monkeypatch):
    """The README's first example by name: same windows and gene table as the example FASTA's let-7a."""
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["examples", "ex"]).exit_code == 0
    let7 = [r for r in read_fasta("ex/mirnas.fa") if r.id == "hsa-let-7a-5p"]
    assert [r.seq for r in let7] == [LET7A]
    Path("let7.fa").write_text(f">{let7[0].id}\n{let7[0].seq}\n")
    by_name = runner.invoke(app, ["predict", "--mirna", "hsa-let-7a-5p", "--targets", "ex/utrs.fa", "-o", "name.tsv"])
    assert by_name.exit_code == 0, by_name.output
    assert "1 miRNA(s) by name (miRBase 22.1): hsa-let-7a-5p" in by_name.output
    by_file = runner.invoke(app, ["predict", "--mirna", "let7.fa", "--targets", "ex/utrs.fa", "-o", "file.tsv"])
    assert by_file.exit_code == 0, by_file.output
    windows = pd.read_csv("name.tsv", sep="\t")
    assert len(windows) > 0 and set(windows["mirna_id"]) == {"hsa-let-7a-5p"}
    pd.testing.assert_frame_equal(windows, pd.read_csv("file.tsv", sep="\t"))
    genes = pd.read_csv("name.genes.tsv", sep="\t")
    pd.testing.assert_frame_equal(genes, pd.read_csv("file.genes.tsv", sep="\t"))
    assert set(genes.loc[genes["is_target"], "target_id"]) == {"UTR_let7_two_sites", "UTR_short"}


def test_predict_genes_by_names_and_name_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    utrs = str(example_path("utrs.fa"))
    Path("two.fa").write_text(f">hsa-miR-21-5p\n{MIR21}\n>hsa-let-7a-5p\n{LET7A}\n")
    Path("two.txt").write_text("hsa-miR-21-5p\n# let-7a by accession\nMIMAT0000062\n")
    outputs = {}
    for label, cmd in (("fasta", ["predict-genes", "--mirna", "two.fa"]),
                       ("names", ["predict-genes", "--mirna", "hsa-miR-21-5p,MIMAT0000062"]),
                       ("file", ["predict-genes", "--mirna", "two.txt"]),
                       ("gene-level", ["predict", "--gene-level", "--mirna", "hsa-miR-21-5p,hsa-let-7a-5p"])):
        result = runner.invoke(app, [*cmd, "--targets", utrs, "-m", "pairing", "-o", f"{label}.tsv"])
        assert result.exit_code == 0, result.output
        outputs[label] = pd.read_csv(f"{label}.tsv", sep="\t")
    assert outputs["fasta"]["mirna_id"].unique().tolist() == ["hsa-miR-21-5p", "hsa-let-7a-5p"]
    for label in ("names", "file", "gene-level"):
        pd.testing.assert_frame_equal(outputs[label], outputs["fasta"], obj=label)


@pytest.mark.parametrize(
    "args,message",
    [
        (["predict", "--mirna", "hsa-miR-21-5q"], "unknown miRNA name 'hsa-miR-21-5q'; closest: hsa-miR-21-5p"),
        (["predict", "--mirna", "hsa-miR-1183"], "hsa-miR-1183 is 27 nt, longer than the model's limit of 26 nt"),
        (["predict", "--gene-level", "--mirna", "xyz-*"], "no miRBase 22.1 name matches 'xyz-*'"),
        (["predict-genes", "--mirna", "let-7a-5p"], "names start with a species code"),
        (["predict", "--mirna", "missing.fa"], "missing.fa: file not found: missing.fa"),
    ],
)
def test_bad_names_on_the_command_line_are_one_line_errors(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, [*args, "--targets", str(example_path("utrs.fa")), "-o", "x.tsv"])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output and not Path("x.tsv").exists()


def test_a_glob_skips_miRNAs_the_model_cannot_take_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["predict", "--gene-level", "--mirna", "hsa-miR-118*", "--targets",
                                 str(example_path("utrs.fa")), "-o", "g.tsv"])
    assert result.exit_code == 0, result.output
    assert "warning: left out 1 miRNA(s) longer than the model's 26-nt miRNA length: hsa-miR-1183 (27 nt)" in \
        result.output
    table = pd.read_csv("g.tsv", sep="\t")
    assert "hsa-miR-1183" not in set(table["mirna_id"]) and "hsa-miR-1185-5p" in set(table["mirna_id"])
