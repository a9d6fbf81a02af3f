"""Writes the example files shipped in src/mirlens/examples/ (run once; the outputs are committed).

The miRNAs are well-known human mature miRNAs (sequences as in miRBase, typed by hand). The 3'UTRs are synthetic:
random background (seeded, AU-rich like real 3'UTRs) with canonical 8mer sites planted for some of the miRNAs,
so that the example run has true sites to find and a control UTR with none. The background holds no canonical
site (no match to nucleotides 2-7 or 3-8) of any example miRNA: a chance match is redrawn, so the only sites are
the planted ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

MIRNAS = {
    "hsa-let-7a-5p": "UGAGGUAGUAGGUUGUAUAGUU",
    "hsa-miR-21-5p": "UAGCUUAUCAGACUGAUGUUGA",
    "hsa-miR-155-5p": "UUAAUGCUAAUCGUGAUAGGGGUU",
    "hsa-miR-122-5p": "UGGAGUGUGACAAUGGUGUUUG",
    "hsa-miR-1-3p": "UGGAAUGUAAAGAAGUAUGUAU",
}

COMPLEMENT = str.maketrans("ACGU", "UGCA")


def site_8mer(mirna: str) -> str:
    """Target 8mer site (5'->3'): reverse complement of miRNA positions 2-8, followed by an A opposite position 1."""
    return mirna[1:8].translate(COMPLEMENT)[::-1] + "A"


def background(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGU"), size=n, p=[0.3, 0.2, 0.2, 0.3]))


def seed_matches(mirna: str) -> tuple[str, str]:
    """Target 6-mers pairing with nucleotides 2-7 and 3-8."""
    return tuple(mirna[a:b].translate(COMPLEMENT)[::-1] for a, b in ((1, 7), (2, 8)))


def site_free_background(rng: np.random.Generator, n: int) -> str:
    """Random background without a canonical site of any example miRNA (chance matches are redrawn)."""
    kmers = [k for m in MIRNAS.values() for k in seed_matches(m)]
    seq = list(background(rng, n))
    while True:
        text = "".join(seq)
        hits = [text.find(k) for k in kmers if k in text]
        if not hits:
            return text
        for h in hits:
            seq[h + int(rng.integers(6))] = str(rng.choice(list("ACGU"), p=[0.3, 0.2, 0.2, 0.3]))


def utr(rng: np.random.Generator, length: int, sites: list[tuple[int, str]]) -> str:
    seq = list(site_free_background(rng, length))
    for pos, site in sites:
        seq[pos : pos + len(site)] = site
    return "".join(seq)


def main() -> None:
    rng = np.random.default_rng(20261125)
    let7, mir21, mir155 = (site_8mer(MIRNAS[k]) for k in ("hsa-let-7a-5p", "hsa-miR-21-5p", "hsa-miR-155-5p"))
    utrs = {
        "UTR_let7_two_sites synthetic 3'UTR, two let-7a 8mer sites": utr(rng, 620, [(140, let7), (455, let7)]),
        "UTR_miR21_one_site synthetic 3'UTR, one miR-21-5p 8mer site": utr(rng, 480, [(260, mir21)]),
        "UTR_miR155_miR21 synthetic 3'UTR, miR-155-5p and miR-21-5p sites": utr(rng, 900, [(90, mir155),
                                                                                         (610, mir21)]),
        "UTR_control synthetic 3'UTR, no planted site": utr(rng, 700, []),
        "UTR_short synthetic 45-nt fragment with a let-7a site": utr(rng, 45, [(20, let7)]),
    }
    out = Path(__file__).resolve().parents[1] / "src" / "mirlens" / "examples"
    out.mkdir(parents=True, exist_ok=True)
    (out / "mirnas.fa").write_text("".join(f">{k}\n{v}\n" for k, v in MIRNAS.items()))
    lines = []
    for header, seq in utrs.items():
        lines.append(f">{header}\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n")
    (out / "utrs.fa").write_text("".join(lines))
    # site-level pairs for `mirlens score`: a planted site with its context, and matched controls
    rows = ["mirna_id\tmirna\ttarget_id\ttarget\tlabel"]
    let7_utr = utrs["UTR_let7_two_sites synthetic 3'UTR, two let-7a 8mer sites"]
    mir21_utr = utrs["UTR_miR21_one_site synthetic 3'UTR, one miR-21-5p 8mer site"]
    control = utrs["UTR_control synthetic 3'UTR, no planted site"]
    rows.append(f"hsa-let-7a-5p\t{MIRNAS['hsa-let-7a-5p']}\tUTR_let7:131-170\t{let7_utr[130:170]}\t1")
    rows.append(f"hsa-miR-21-5p\t{MIRNAS['hsa-miR-21-5p']}\tUTR_miR21:251-290\t{mir21_utr[250:290]}\t1")
    rows.append(f"hsa-let-7a-5p\t{MIRNAS['hsa-let-7a-5p']}\tUTR_control:301-340\t{control[300:340]}\t0")
    rows.append(f"hsa-miR-21-5p\t{MIRNAS['hsa-miR-21-5p']}\tUTR_control:401-440\t{control[400:440]}\t0")
    (out / "pairs.tsv").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
