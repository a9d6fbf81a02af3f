"""The files written beside a gene table (``mirlens predict-genes -o genes.tsv``), and the run description.

For a table ``DIR/STEM.EXT`` (``.tsv``, ``.csv`` or ``.parquet``):

``STEM.sites.tsv``       every candidate site, one row each (``.sites.parquet`` when the table is Parquet):
                         :data:`SITE_COLUMNS`; written by ``mirlens predict-genes``
``STEM.details.parquet`` for the sites shown in detail, the duplex text and the per-nucleotide attributions
                         (:data:`mirlens.genes.details.DETAIL_COLUMNS`); written by ``mirlens predict-genes --html``
``STEM.meta.json``       what was run (:func:`run_meta`); written by ``mirlens predict-genes``

The gene report (:mod:`mirlens.report.genes`) renders from these files only.

``STEM.meta.json`` (format ``mirlens-genes-run``, version 1) is one JSON object:

``format``, ``format_version``   ``"mirlens-genes-run"``, ``1``
``command``                      the command line that wrote the table
``created``                      ISO 8601 time (UTC)
``mirlens``                      the mirlens version
``table``                        the table's file name (sidecar names follow from it)
``model``                        ``{"name", "architecture", "description", "figures": {label: value}}`` of the model
                                 that scored the sites (figures: key numbers of its card, see :func:`card_figures`)
``settings``                     the prediction settings (threshold, noncanonical, ...)
``inputs``                       ``[{"role", "path", "bytes"}]``: the input files
``sources``                      ``[{"name", "release", "what"}]``: data sources with their versions (miRBase release
                                 of the miRNAs, Ensembl release of the UTRs, ...), as far as known
``details``                      ``null``, or ``{"file", "top", "sites_per_gene", "model", "method", "reference",
                                 "duplex_backend"}`` when the details sidecar was written
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from mirlens.errors import InputError
from mirlens.tables import table_format, write_text

META_FORMAT = "mirlens-genes-run"
META_VERSION = 1
SITE_COLUMNS = ["record", "mirna_id", "target_id", "start", "end", "anchor", "type", "site_logit", "called",
                "contribution"]
"""Columns of ``STEM.sites.tsv``: one row per candidate site; ``start``/``end`` 1-based inclusive on the UTR (the
nucleotides facing miRNA positions 8..1), ``anchor`` the 0-based index of the nucleotide facing position 1."""
SOURCE_COLUMNS = {"mirbase_release": ("miRBase", "miRNA sequences and names"),
                  "ensembl_release": ("Ensembl", "3'UTR sequences and gene ids")}
"""Table columns that carry a data source's release: recorded in ``sources`` when present."""


def sidecar(table: str | Path, kind: str) -> Path:
    """The path of one sidecar of a gene table: ``kind`` is ``sites``, ``details`` or ``meta``."""
    table = Path(table)
    stem = table.name[: -len(table.suffix)] if table.suffix else table.name
    if kind == "sites":
        return table.with_name(f"{stem}.sites.{'parquet' if table_format(table) == 'parquet' else 'tsv'}")
    if kind == "details":
        return table.with_name(f"{stem}.details.parquet")
    if kind == "meta":
        return table.with_name(f"{stem}.meta.json")
    raise ValueError(f"unknown sidecar {kind!r}")


def card_figures(meta: dict) -> dict[str, str]:
    """Key numbers of a model card, as ``{label: text}``: validation and independent-test AUROC / accuracy, and
    the specificity benchmark (site-free windows called, planted sites called, Hejret AP) when the card has them."""
    card = meta.get("card") or {}
    out: dict[str, str] = {}
    for name, m in (card.get("metrics") or {}).items():
        if not isinstance(m, dict):
            continue
        parts = [f"{k} {m[k]:.3f}" for k in ("auroc", "accuracy") if isinstance(m.get(k), (int, float))]
        if parts:
            where = name.replace("independent:", "independent test ")
            out[where] = ", ".join(parts) + (f" (n = {m['n']:,})" if isinstance(m.get("n"), int) else "")
    spec = (card.get("benchmarks") or {}).get("specificity") or {}
    labels = {"hejret_auroc": "CLIP pairs (Hejret 2023) AUROC", "hejret_ap": "CLIP pairs (Hejret 2023) AP",
              "site_free_called": "site-free 3'UTR windows called", "planted_called": "planted sites called"}
    for key, label in labels.items():
        v = spec.get(key)
        if isinstance(v, (int, float)):
            out[label] = f"{v:.1%}" if key.endswith("_called") else f"{v:.3f}"
    return out


def model_summary(meta: dict) -> dict:
    """``{"name", "architecture", "description", "figures"}`` of a loaded model's metadata (``load_model(...,
    with_meta=True)``)."""
    card = meta.get("card") or {}
    config = meta.get("config") or {}
    return {"name": str(meta.get("name", "")),
            "architecture": str(card.get("architecture") or config.get("architecture") or "mitar"),
            "description": str(card.get("description", "")),
            "figures": card_figures(meta)}


def table_sources(table) -> list[dict]:
    """Data sources named by the table's own columns (:data:`SOURCE_COLUMNS`), one entry per distinct release."""
    out = []
    for col, (name, what) in SOURCE_COLUMNS.items():
        if col in getattr(table, "columns", ()):
            for release in sorted({str(v) for v in table[col].dropna().unique()}):
                out.append({"name": name, "release": release, "what": what})
    return out


def run_meta(table_path: str | Path, *, command: str, model_meta: dict, settings: dict | None = None,
             inputs: list[tuple[str, str | Path | None]] | None = None, sources: list[dict] | None = None,
             details: dict | None = None) -> dict:
    """The run description of a gene table (module doc); ``inputs``: ``(role, path)`` pairs (None paths skipped)."""
    from mirlens import __version__

    files = []
    for role, path in inputs or []:
        if path is None:
            continue
        p = Path(path)
        files.append({"role": role, "path": str(p), "bytes": p.stat().st_size if p.is_file() else None})
    return {"format": META_FORMAT, "format_version": META_VERSION, "command": command,
            "created": datetime.now(UTC).isoformat(timespec="seconds"), "mirlens": __version__,
            "table": Path(table_path).name, "model": model_summary(model_meta), "settings": dict(settings or {}),
            "inputs": files, "sources": list(sources or []), "details": details}


def write_meta(meta: dict, table_path: str | Path) -> Path:
    return write_text(json.dumps(meta, indent=1, default=str) + "\n", sidecar(table_path, "meta"))


def read_meta(table_path: str | Path) -> dict | None:
    """The run description beside a table, or None when there is none; an unreadable one is an error."""
    path = sidecar(table_path, "meta")
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable run description ({exc})", source=path.name) from None
    if not isinstance(meta, dict) or meta.get("format") != META_FORMAT:
        raise InputError(f"not a {META_FORMAT} file", source=path.name)
    return meta
