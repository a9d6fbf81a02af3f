"""3'UTRs by gene at genome scale, offline: a fabricated Ensembl-style GTF + cDNA FASTA (tests/fake_annotation.py)
with about as many protein-coding genes as human, read the way `mirlens predict-genes --genes ...` reads Ensembl.

    python benchmarks/bench_annotation.py [--genes 20000] [--dir /tmp/mirlens-bench-annotation]

Prints: the files' size, the one-time index build (pyensembl: GTF -> SQLite, FASTA -> index), a named-gene lookup and
`--genes all` from the built index (each in a fresh process, as a command line runs), parsing the same GTF with
gtfparse alone (what an own-slicing alternative would pay on every run, or would have to cache itself), peak memory,
and a check of every extracted 3'UTR against the fabricated truth.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

CHILD = r"""
import json, resource, sys, time, warnings
t0 = time.perf_counter()
from mirlens.data.annotation import utr_table
genes = sys.argv[1]
gtf, fasta, cache = sys.argv[2:5]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    table = utr_table(genes, gtf=gtf, transcript_fasta=fasta, cache_dir=cache, transcripts=sys.argv[5])
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": len(table),
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "utrs": dict(zip(table["transcript_id"], table["utr"])) if sys.argv[6] == "1" else None}))
"""


def child(genes: str, gtf: Path, fasta: Path, cache: Path, transcripts: str = "longest", keep: bool = False) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, genes, str(gtf), str(fasta), str(cache), transcripts,
                          "1" if keep else "0"], capture_output=True, text=True, env={**os.environ,
                                                                                      "OMP_NUM_THREADS": "1"})
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--genes", type=int, default=20000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/mirlens-bench-annotation"))
    args = ap.parse_args()
    from fake_annotation import make_annotation, write_annotation

    shutil.rmtree(args.dir, ignore_errors=True)
    t = time.perf_counter()
    genes = make_annotation(args.genes, seed=0)
    gtf, fasta = write_annotation(genes, args.dir)
    n_tx = sum(len(g.transcripts) for g in genes)
    n_rows = sum(1 for _ in open(gtf))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    print(f"fabricated {args.genes:,} genes, {n_tx:,} transcripts: GTF {n_rows:,} rows, "
          f"{gtf.stat().st_size / 1e6:.0f} MB; FASTA {fasta.stat().st_size / 1e6:.0f} MB "
          f"({time.perf_counter() - t:.0f} s)")
    cache = args.dir / "cache"
    named = ",".join(g.gene_name for g in genes[:2])
    first = child(named, gtf, fasta, cache)
    print(f"first call (builds the index once) + 2 named genes: {first['seconds']:.1f} s, "
          f"peak memory {first['max_rss_mb']:.0f} MB")
    warm = child(named, gtf, fasta, cache)
    print(f"2 named genes from the index: {warm['seconds']:.2f} s, peak memory {warm['max_rss_mb']:.0f} MB")
    everything = child("all", gtf, fasta, cache, "all", keep=True)
    print(f"--genes all --transcripts all from the index: {everything['rows']:,} 3'UTRs in "
          f"{everything['seconds']:.1f} s, peak memory {everything['max_rss_mb']:.0f} MB")
    truth = {t.transcript_id: t.utr3 for g in genes for t in g.transcripts
             if t.biotype == "protein_coding" and t.utr3}
    got = everything["utrs"]
    print(f"3'UTRs equal to the fabricated truth: {sum(got.get(k) == v for k, v in truth.items()):,} of "
          f"{len(truth):,} (extra: {len(set(got) - set(truth))})")

    from gtfparse import read_gtf

    t = time.perf_counter()
    df = read_gtf(str(gtf), result_type="pandas")
    print(f"gtfparse.read_gtf alone (no index, no sequences): {len(df):,} rows in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
