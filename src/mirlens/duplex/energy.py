"""Duplex free energy (kcal/mol) by three backends. Energies of different backends are not on one scale.

* ``miranda``: miRanda 1.9's construct -- the whole miRNA written 3'->5', the linker ``XXXXXXX``, then the hit's
  extended target window written 3'->5' -- folded as one strand by ViennaRNA with the Turner 1999 parameters at
  30 C, dangles 1, as miRanda 1.9 does with its bundled library. One difference between the two libraries is
  emulated: a hairpin loop closed by a pair whose two inner neighbours are both linker letters (the usual case:
  the duplex's last pair next to ``XXXXXXX``) gets a terminal-mismatch bonus in miRanda's library but 0 in
  ViennaRNA 2.x's table for unknown letters; the six values (:data:`LINKER_HAIRPIN_MISMATCH_30C`) were read off
  the 2,000 miRanda 1.9 reference energies, where each pair type shows one constant offset. With it, 76% of
  miRanda's energies are reproduced to 0.05 kcal/mol (42% without); the rest differ by a few tenths (one-sided
  linker mismatches, rounding), energy Spearman 0.99.
* ``duplexfold``: ``RNA.duplexfold`` (ViennaRNA defaults: Turner 2004, 37 C), miRNA and target 5'->3'.
* ``rnahybrid``: the ``RNAhybrid`` program (``-c -b 1 -s 3utr_human``), one process per miRNA.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mirlens.errors import MirlensError

LINKER = "XXXXXXX"
BACKENDS = ("miranda", "duplexfold", "rnahybrid")


def _rna():
    try:
        import RNA  # noqa: PLC0415
    except ImportError:  # pragma: no cover - viennarna is a dependency
        raise MirlensError("ViennaRNA's Python package is missing: pip install viennarna") from None
    return RNA


LINKER_HAIRPIN_MISMATCH_30C = {"CG": -1.76, "GC": -1.48, "GU": -0.42, "UG": -0.48, "AU": -0.33, "UA": -0.86}
"""kcal/mol at 30 C of the hairpin terminal mismatch of a closing pair (5' nt, 3' nt) with unknown letters on both
inner sides, as miRanda 1.9's bundled library scores it (ViennaRNA 2.x: 0). Stored entropic (dH = 0)."""
_PAIR_BLOCKS = ("CG", "GC", "GU", "UG", "AU", "UA", "NS")  # order of the 5x5 blocks in a ViennaRNA 2 .par file
_PARAM_FILE: Path | None = None


def _patched_turner1999(RNA) -> Path:
    """A Turner 1999 parameter file (written once per process) with the linker hairpin mismatches set."""
    global _PARAM_FILE
    if _PARAM_FILE is not None and _PARAM_FILE.exists():
        return _PARAM_FILE
    RNA.params_load_RNA_Turner1999()
    fd, name = tempfile.mkstemp(prefix="mirlens-turner1999-miranda-", suffix=".par")
    os.close(fd)
    path = Path(name)
    RNA.params_save(str(path))
    tempf = (30.0 + 273.15) / (37.0 + 273.15)
    lines = path.read_text().splitlines(keepends=True)
    section, row = None, 0
    for k, line in enumerate(lines):
        if line.startswith("# "):
            section, row = line[2:].strip(), 0
            continue
        if section not in ("mismatch_hairpin", "mismatch_hairpin_enthalpies") or not line.strip() \
                or line.strip().startswith("/*"):
            continue
        block, r = divmod(row, 5)
        row += 1
        if r != 0 or block >= len(_PAIR_BLOCKS) or _PAIR_BLOCKS[block] not in LINKER_HAIRPIN_MISMATCH_30C:
            continue
        fields = line.split()
        value = LINKER_HAIRPIN_MISMATCH_30C[_PAIR_BLOCKS[block]]
        fields[0] = str(round(value * 100 / tempf)) if section == "mismatch_hairpin" else "0"
        lines[k] = " ".join(f"{f:>6}" for f in fields) + "\n"
    path.write_text("".join(lines))
    atexit.register(path.unlink, missing_ok=True)
    _PARAM_FILE = path
    return path


@contextmanager
def turner1999(temperature: float = 30.0, dangles: int = 1) -> Iterator[object]:
    """Model details for miRanda's energies: Turner 1999 with the linker hairpin mismatches of miRanda's library
    (see the module docstring) is loaded for the block, Turner 2004 after."""
    RNA = _rna()
    RNA.params_load(str(_patched_turner1999(RNA)))
    try:
        md = RNA.md()
        md.temperature = temperature
        md.dangles = dangles
        yield md
    finally:
        RNA.params_load_RNA_Turner2004()


def miranda_construct(mirna: str, target: str, ext_start: int, ext_end: int) -> str:
    """The strand miRanda folds: miRNA 3'->5' + linker + target[ext_start..ext_end] (1-based, clipped) 3'->5'."""
    window = target[max(ext_start, 1) - 1 : min(ext_end, len(target))]
    return (mirna[::-1] + LINKER + window[::-1]).upper().replace("T", "U")


def fold_energies(constructs: list[str], md) -> np.ndarray:
    """Minimum free energy of each single-strand construct under the model details ``md``."""
    RNA = _rna()
    out = np.empty(len(constructs), dtype=np.float64)
    for k, s in enumerate(constructs):
        out[k] = RNA.fold_compound(s, md).mfe()[1]
    return out


def duplexfold(mirna: str, target: str) -> tuple[float, str, int, int]:
    """``RNA.duplexfold`` of miRNA and target (both 5'->3'): energy, structure ``mirna&target``, i, j."""
    RNA = _rna()
    RNA.params_load_RNA_Turner2004()
    d = RNA.duplexfold(mirna.upper().replace("T", "U"), target.upper().replace("T", "U"))
    return float(d.energy), d.structure, int(d.i), int(d.j)


def duplexfold_partners(structure: str, i: int, j: int, mirna_len: int) -> list[tuple[int, int]]:
    """(miRNA index, target index), 0-based 5'->3', of the base pairs of a duplexfold result."""
    left, right = structure.split("&")
    m0 = i - len(left)  # 0-based miRNA index of the first left character
    t0 = j - 1
    opens = [m0 + k for k, c in enumerate(left) if c == "("]
    closes = [t0 + k for k, c in enumerate(right) if c == ")"]
    if len(opens) != len(closes):
        raise MirlensError(f"unbalanced duplex structure {structure!r}")
    return list(zip(opens, reversed(closes)))


# --------------------------------------------------------------------------------------------------- RNAhybrid


def rnahybrid_available() -> bool:
    return shutil.which("RNAhybrid") is not None


def parse_rnahybrid_compact(line: str) -> tuple[float, list[tuple[int, int]]]:
    """Energy and base pairs (miRNA index, target index; 0-based 5'->3') of one ``RNAhybrid -c`` output line.

    The line is ``target:tlen:mirna:mlen:mfe:p-value:position:l1:l2:l3:l4`` where l1/l2 are the target's unpaired /
    paired letters (5'->3' from ``position``) and l3/l4 the miRNA's paired / unpaired letters (3'->5')."""
    fields = line.rstrip("\n").split(":")
    if len(fields) < 11:
        raise MirlensError(f"cannot read RNAhybrid output line {line[:80]!r}")
    mlen = int(fields[3])
    mfe = float(fields[4])
    pos = int(fields[6])
    l1, l2, l3, l4 = fields[-4:]
    width = max(map(len, (l1, l2, l3, l4)))
    l1, l2, l3, l4 = (s.ljust(width) for s in (l1, l2, l3, l4))
    t = pos - 1
    q = mlen - 1  # miRNA printed 3'->5': first letter is its last nucleotide
    pairs = []
    for k in range(width):
        t_here = l1[k] != " " or l2[k] != " "
        q_here = l3[k] != " " or l4[k] != " "
        if l2[k] != " " and l3[k] != " ":
            pairs.append((q, t))
        if t_here:
            t += 1
        if q_here:
            q -= 1
    return mfe, pairs


def rnahybrid(mirna: str, targets: list[str]) -> list[tuple[float, list[tuple[int, int]]]]:
    """Run ``RNAhybrid -c -b 1 -s 3utr_human`` once for one miRNA against many targets (5'->3')."""
    exe = shutil.which("RNAhybrid")
    if exe is None:
        raise MirlensError("--energy-backend rnahybrid needs the RNAhybrid program on PATH "
                           "(Debian/Ubuntu: apt install rnahybrid); use miranda or duplexfold instead")
    with tempfile.TemporaryDirectory(prefix="mirlens-rnahybrid-") as tmp:
        tfa, qfa = Path(tmp) / "t.fa", Path(tmp) / "q.fa"
        tfa.write_text("".join(f">t{k}\n{s.upper().replace('T', 'U')}\n" for k, s in enumerate(targets)))
        qfa.write_text(f">q\n{mirna.upper().replace('T', 'U')}\n")
        proc = subprocess.run([exe, "-c", "-b", "1", "-s", "3utr_human", "-t", str(tfa), "-q", str(qfa)],
                              capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise MirlensError(f"RNAhybrid failed (exit {proc.returncode}): {proc.stderr.strip()[:300]}")
    found: dict[int, tuple[float, list[tuple[int, int]]]] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("t") and ":" in line:
            found[int(line.split(":", 1)[0][1:])] = parse_rnahybrid_compact(line)
    return [found.get(k, (0.0, [])) for k in range(len(targets))]
