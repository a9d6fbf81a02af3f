"""The whole paper as one cached, resumable pipeline (``mirlens reproduce``).

For each data set -- DeepMirTar with a miTAR1-style model (the 3,908 positives of the published training file)
and miRAW with a miTAR2-style model (all 32,660 positives); by default the original weights the paper analysed
(:func:`model_specs`, :mod:`mirlens.model.originals`) -- the stages are:

``<ds>.regions``      Fig. 1 (seed L2-6 to N) and Supp. Fig. 1 (seed to G), positive and negative pairs
``<ds>.scan``         Fig. 2 / Fig. 4 (+ Supp. Fig. 3): k-nt scans, k = 1..6 (DeepMirTar) / 1..8 (miRAW)
``<ds>.impact``       Fig. 3 / Fig. 5: accumulative single-nucleotide impact (formulas 1-3)
``<ds>.features``     peaks -> features (the paper's rule: :data:`~mirlens.explain.mutagenesis.presets.PRESETS`)
``<ds>.joint``        Fig. 6: independent and joint effects of the paper's regions, bootstrap CIs
``<ds>.energies``     duplex energy and pairing of every pair (miranda backend = miRanda 1.9 as the paper)
``<ds>.correlate``    Table 1 / Supp. Table 1: layer outputs (conv, pool, BiLSTM, dense) vs energy, with the paper's
                      energies (the miRNA as the data files write it) and ours (the miRNA 5'->3'), in the paper's
                      layout (sign-split sums) and ours
``<ds>.pairing``      Table 2: paired positions per region, all positives and the "extracted" subsets

then ``findings`` (every result against the paper's numbers, :mod:`mirlens.reproduce.findings`) and ``report``
(:mod:`mirlens.report.html`). Every stage is cached under ``OUT/cache/<stage>/<key>/`` (see
:mod:`mirlens.reproduce.cache`); the scan keeps per-pair chunks there, so an interrupted run continues with the
unfinished chunks. ``--quick`` runs the same stages on a seeded sample of a few hundred pairs per data set.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mirlens.errors import InputError
from mirlens.explain import (
    PairSet,
    accumulative_impact,
    call_features,
    extracted_subset,
    get_preset,
    impact_peaks,
    joint_effects,
    load_pairs,
    model_width,
    region_effects,
    run_scan,
    select_label,
)
from mirlens.explain.mutagenesis.engine import DEFAULT_BATCH, DEFAULT_ENGINE, model_fingerprint
from mirlens.explain.mutagenesis.presets import Preset
from mirlens.explain.mutagenesis.scan import DEFAULT_CHUNK_PAIRS
from mirlens.explain.stats import bonferroni
from mirlens.model.families import fit_target_slot
from mirlens.reproduce import paper
from mirlens.reproduce.cache import StageResult, StageRunner, fingerprint

if TYPE_CHECKING:
    from mirlens.report.html import ReportTexts

PIPELINE_VERSION = 1
QUICK_POSITIVES = 200
QUICK_NEGATIVES = 100
QUICK_CHUNK_PAIRS = 100
QUICK_N_BOOT = 200
FULL_N_BOOT = 1000
CORRELATION_LAYERS = ("conv", "pool", "bilstm", "dense")
IMPACT_OVER = "all"
"""The impact averages each position's change over all pairs (coverage-weighted; see accumulative_impact)."""


def correlation_layers(model) -> tuple[str, ...]:
    """The paper's layers for miTAR models; every layer of other families (pairing: diagonal, combine, pool,
    dense)."""
    from mirlens.explain.layers.correlate import layers_of

    known = layers_of(model)
    return CORRELATION_LAYERS if set(CORRELATION_LAYERS) <= set(known) else known
SEED_TO = ("N", "G")


@dataclass
class Settings:
    """What a reproduce run uses. ``models``: data set -> model (name, model directory or Keras ``.h5``)."""

    out: Path
    models: dict[str, str]
    quick: bool = False
    seed: int = 0
    data_dir: Path | None = None
    energy_backend: str = "miranda"
    n_boot: int | None = None
    jobs: int = 1
    quick_positives: int = QUICK_POSITIVES
    quick_negatives: int = QUICK_NEGATIVES
    engine: str = DEFAULT_ENGINE
    batch_size: int = DEFAULT_BATCH
    command: str = ""
    weights: str = "paper"

    @property
    def boot(self) -> int:
        return self.n_boot if self.n_boot is not None else (QUICK_N_BOOT if self.quick else FULL_N_BOOT)

    @property
    def chunk_pairs(self) -> int:
        return QUICK_CHUNK_PAIRS if self.quick else DEFAULT_CHUNK_PAIRS


@dataclass
class DatasetInputs:
    name: str
    preset: Preset
    model: object
    model_spec: str
    model_name: str
    model_source: str
    model_fp: str
    card: dict
    positives: PairSet
    negatives: PairSet
    n_positives_total: int
    n_negatives_total: int


@dataclass
class DatasetResult:
    """Everything the report needs about one data set: inputs described, tables, stage metadata, commands."""

    name: str
    model_name: str
    model_spec: str
    model_source: str
    model_fp: str
    card: dict
    n_positives: int
    n_negatives: int
    n_positives_total: int
    n_negatives_total: int
    ks: tuple[int, ...]
    regions: tuple[str, ...]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    meta: dict[str, dict] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Results:
    settings: Settings
    datasets: dict[str, DatasetResult]
    findings: pd.DataFrame
    comparisons: dict[str, pd.DataFrame]
    timings: pd.DataFrame
    report: Path | None = None
    by_weights: dict[str, pd.DataFrame] = field(default_factory=dict)
    """Findings of every weights version run into this OUT (``paper``, ``current``, ``custom``), for the report's
    side-by-side table."""


WEIGHTS_DIR = "weights"


def record_weights(out: Path, s: Settings, findings: pd.DataFrame,
                   datasets: dict[str, DatasetResult]) -> dict[str, pd.DataFrame]:
    """Keep this run's findings as ``OUT/weights/<weights>.parquet`` (with the models it ran) and return every
    weights version's findings recorded in ``OUT``."""
    from mirlens.tables import read_table, write_table

    models = "; ".join(f"{paper.TITLE_OF[ds]}: {_version_label(r.card) or r.model_name}" for ds, r in datasets.items())
    write_table(findings.assign(models=models, quick=s.quick), Path(out) / WEIGHTS_DIR / f"{s.weights}.parquet")
    return {p.stem: read_table(p) for p in sorted((Path(out) / WEIGHTS_DIR).glob("*.parquet"))}


def _version_label(card: dict) -> str:
    """``miTAR1@2020-03`` for an original file (from its model card), else ``""``."""
    return f"{card['original_model']}@{card['original_version']}" if "original_version" in card else ""


def model_specs(keras_dir: str | Path | None, model_deepmirtar: str | None, model_miraw: str | None,
                weights: str = "paper") -> dict[str, str]:
    """The model of each data set: ``--model-*`` when given; else the original weights of version ``weights``
    (``paper``: miTAR1 of 2020-03 for DeepMirTar, miTAR2 for miRAW -- :data:`mirlens.model.originals.WEIGHTS`),
    found by sha256 anywhere under ``--keras-dir`` or, without it, the imported models
    (``keras-miTAR1@2020-03`` / ``keras-miTAR2``, from ``mirlens models fetch-keras``)."""
    from mirlens.model.originals import BY_KEY, WEIGHTS, find_versions

    if weights not in WEIGHTS:
        raise InputError(f"unknown --weights {weights!r}; choose from {', '.join(WEIGHTS)}")
    if keras_dir is not None and (model_deepmirtar or model_miraw):
        raise InputError("give either --keras-dir or --model-deepmirtar/--model-miraw, not both")
    wanted = {ds: BY_KEY[WEIGHTS[weights][ds]] for ds in paper.DATASETS}
    if keras_dir is not None:
        found = find_versions(keras_dir)
        specs = {}
        for ds, v in wanted.items():
            if v.key not in found:
                have = ", ".join(f"{k} ({p})" for k, p in found.items()) or "no known version"
                raise InputError(f"{keras_dir}: no {v.file} of version {v.key} (sha256 {v.sha256[:12]}...) in it or "
                                 f"below it (found: {have}); `mirlens models fetch-keras` downloads every version")
            specs[ds] = str(found[v.key])
        return specs
    return {"deepmirtar": model_deepmirtar or wanted["deepmirtar"].model_name,
            "miraw": model_miraw or wanted["miraw"].model_name}


def _load_inputs(ds: str, s: Settings) -> DatasetInputs:
    from mirlens.model.store import load_model

    preset = get_preset(paper.PRESET_OF[ds])
    spec = s.models[ds]
    net, meta = load_model(spec, with_meta=True)
    table = load_pairs(ds, preset.part, data_dir=s.data_dir).reset_index(drop=True)
    table = table.assign(pair_index=np.arange(len(table)))
    net = fit_target_slot(net, int(table["target"].str.len().max()))
    pairs = PairSet.from_pairs(table, model_width(net), name=ds)
    pos, neg = select_label(pairs, "positives"), select_label(pairs, "negatives")
    n_pos, n_neg = len(pos), len(neg)
    if s.quick:
        pos, neg = pos.sample(s.quick_positives, s.seed), neg.sample(s.quick_negatives, s.seed)
    card = meta.get("card", {}) or {}
    return DatasetInputs(ds, preset, net, str(spec), str(meta.get("name", spec)),
                         str(card.get("source", "")), model_fingerprint(net), dict(card), pos, neg, n_pos, n_neg)


def _fmt_cmd(parts: list[str]) -> str:
    return " ".join(shlex.quote(str(p)) for p in parts)


def _commands(inp: DatasetInputs, s: Settings) -> dict[str, list[str]]:
    """The equivalent single-analysis commands (what the report shows under each figure/table)."""
    ds, p = inp.name, inp.preset
    data = ["--model", inp.model_spec, "--data", ds, "--part", p.part]
    if s.data_dir is not None:
        data += ["--data-dir", str(s.data_dir)]
    samp_pos = ["--sample", str(s.quick_positives), "--sample-seed", str(s.seed)] if s.quick else []
    samp_neg = ["--sample", str(s.quick_negatives), "--sample-seed", str(s.seed)] if s.quick else []
    ks = f"{min(p.ks)}-{max(p.ks)}"
    regions = [x for r in p.regions for x in ("-r", r)]
    quick_note = ["# --quick: the sample above; correlate/pairing have no --sample, the run used the same sample"] \
        if s.quick else []
    return {
        "seed": [_fmt_cmd(["mirlens", "explain", "regions", *data, "--subset", sub, *smp, "-r", "seed", "--to", to])
                 for to in SEED_TO for sub, smp in (("positives", samp_pos), ("negatives", samp_neg))],
        "scan": [_fmt_cmd(["mirlens", "explain", "scan", *data, "--subset", "positives", *samp_pos, "--k", ks,
                           "-o", f"scan_{ds}"])],
        "impact": [_fmt_cmd(["mirlens", "explain", "impact", "--scan", f"scan_{ds}", "-o", f"impact_{ds}.tsv"]),
                   _fmt_cmd(["mirlens", "explain", "features", "--impact", f"impact_{ds}.tsv", "--preset",
                             p.name])],
        "joint": [_fmt_cmd(["mirlens", "explain", "joint", *data, "--subset", "positives", *samp_pos, *regions,
                            "--n-boot", str(s.boot), "--seed", str(s.seed)])],
        "correlate": [_fmt_cmd(["mirlens", "explain", "correlate", *data, f"--{sub}", "--layers",
                                ",".join(CORRELATION_LAYERS), "--energy-backend", s.energy_backend, *flag, "-o",
                                f"correlate_{ds}_{sub}{suffix}"]) for sub in ("positives", "negatives")
                      for flag, suffix in ((["--mirna-as-written"], ""), ([], "_5to3"))] + quick_note,
        "pairing": [_fmt_cmd(["mirlens", "pairing", *data, "--energy-backend", s.energy_backend, "--regions",
                              paper.TABLE2_REGION_SPEC, "--subset", "positives",
                              *[x for f in paper.EXTRACTED[ds] for x in ("--subset", f"extracted:{f}")]])]
        + quick_note,
    }


def _sequence_fp(ps: PairSet) -> str:
    h = pd.util.hash_pandas_object(ps.pairs[["mirna", "target"]], index=False).to_numpy()
    return fingerprint({"n": len(ps), "h": hashlib.sha256(h.tobytes()).hexdigest()})


def run_dataset(ds: str, s: Settings, runner: StageRunner, progress: Callable | None = None) -> DatasetResult:
    inp = _load_inputs(ds, s)
    p = inp.preset
    base = {"version": PIPELINE_VERSION, "model": inp.model_fp, "engine": s.engine}
    pos_fp, neg_fp = inp.positives.fingerprint(), inp.negatives.fingerprint()
    res = DatasetResult(ds, inp.model_name, inp.model_spec, inp.model_source, inp.model_fp, inp.card,
                        len(inp.positives),
                        len(inp.negatives), inp.n_positives_total, inp.n_negatives_total, tuple(p.ks),
                        tuple(p.regions), commands=_commands(inp, s))
    kw = {"engine": s.engine, "batch_size": s.batch_size}

    def keep(r: StageResult, short: str) -> StageResult:
        res.tables.update(r.tables)
        res.meta[short] = {**r.meta, "key": r.key, "status": r.status, "seconds": r.seconds}
        return r

    # Fig. 1 / Supp. Fig. 1: seed to N and to G, positives and negatives
    def regions(_d: Path):
        rows = []
        for to in SEED_TO:
            for sub, ps in (("positives", inp.positives), ("negatives", inp.negatives)):
                t = region_effects(inp.model, ps, ["seed"], to=to, **kw).table
                rows.append(t.assign(dataset=ds, subset=sub))
        t = pd.concat(rows, ignore_index=True)
        t["p_bonferroni"] = bonferroni(t["mwu_p"].to_numpy())  # over the 4 tests of this data set
        t["significant"] = t["p_bonferroni"] < 0.05
        return {"seed_effects": t}, {}

    keep(runner.run(f"{ds}.regions", ds, {**base, "pos": pos_fp, "neg": neg_fp, "to": SEED_TO}, regions), "regions")

    # Fig. 2 / 4 / Supp. Fig. 3: k-nt scans (per-pair chunks kept in the stage directory: resumable)
    def scan(d: Path):
        r = run_scan(inp.model, inp.positives, ks=list(p.ks), out_dir=d / "records", chunk_pairs=s.chunk_pairs,
                     progress=progress, **kw)
        return {"scan_summary": r.summary.assign(dataset=ds)}, {
            "passes": r.passes, "seconds": r.seconds, "passes_per_second": r.passes_per_second,
            "n_pairs": r.n_pairs}

    sc = keep(runner.run(f"{ds}.scan", ds, {**base, "pos": pos_fp, "ks": list(p.ks), "to": "N",
                                             "chunk_pairs": s.chunk_pairs}, scan), "scan")

    # Fig. 3 / 5: accumulative single-nucleotide impact
    def impact(_d: Path):
        imp, ctx = accumulative_impact(sc.tables["scan_summary"], over=IMPACT_OVER)
        return {"impact": imp.assign(dataset=ds), "impact_contexts": ctx.assign(dataset=ds)}, {}

    im = keep(runner.run(f"{ds}.impact", ds, {"version": PIPELINE_VERSION, "scan": sc.key, "over": IMPACT_OVER},
                         impact), "impact")

    def features(_d: Path):
        imp = im.tables["impact"]
        feats = call_features(imp, **p.feature_params)
        return {"features": feats.assign(dataset=ds), "impact_peaks": impact_peaks(imp, 3).assign(dataset=ds)}, {}

    keep(runner.run(f"{ds}.features", ds, {"version": PIPELINE_VERSION, "impact": im.key,
                                           "params": p.feature_params}, features), "features")

    # Fig. 6: independent and joint effects
    def joint(_d: Path):
        r = joint_effects(inp.model, inp.positives, list(p.regions), n_boot=s.boot, seed=s.seed, **kw)
        return {"joint": r.table.assign(dataset=ds)}, {}

    keep(runner.run(f"{ds}.joint", ds, {**base, "pos": pos_fp, "regions": list(p.regions), "n_boot": s.boot,
                                        "seed": s.seed}, joint), "joint")

    # duplex energies and pairing (positives then negatives)
    both = pd.concat([inp.positives.pairs.assign(subset="positives"),
                      inp.negatives.pairs.assign(subset="negatives")], ignore_index=True)

    def energies(d: Path):
        from mirlens.duplex import DuplexCache, check_backend, compute_duplexes

        check_backend(s.energy_backend)
        out = compute_duplexes(both["mirna"].tolist(), both["target"].tolist(), s.energy_backend,
                               cache=DuplexCache(Path(s.out) / "cache" / "duplex"), jobs=s.jobs)
        keep_cols = [c for c in ("pair_index", "mirna_id", "target_id", "label", "subset") if c in both]
        return {"duplexes": pd.concat([both[keep_cols], out], axis=1).assign(dataset=ds,
                                                                             backend=s.energy_backend)}, {}

    from mirlens.duplex.cache import BACKEND_VERSIONS

    en = keep(runner.run(f"{ds}.energies", ds, {"version": PIPELINE_VERSION, "pos": _sequence_fp(inp.positives),
                                                "neg": _sequence_fp(inp.negatives), "backend": s.energy_backend,
                                                "backend_version": BACKEND_VERSIONS.get(s.energy_backend)},
                                   energies), "energies")
    dup = en.tables["duplexes"]

    # Table 1 / Supp. Table 1: with the paper's energies (the miRNA as the data files write it, see
    # paper.TABLE1_ENERGY) and with ours (the miRNA 5'->3')
    def correlate(_d: Path):
        from mirlens.duplex import DuplexCache, compute_duplexes
        from mirlens.explain.layers.correlate import layer_energy_correlations, table1

        written = compute_duplexes([m[::-1] for m in both["mirna"]], both["target"].tolist(), s.energy_backend,
                                   cache=DuplexCache(Path(s.out) / "cache" / "duplex"), jobs=s.jobs)
        energies = {"as_written": written["energy"].to_numpy(np.float64),
                    "5to3": dup["energy"].to_numpy(np.float64)}
        units, summaries = [], []
        for name, energy in energies.items():
            for sub, ps in (("positives", inp.positives), ("negatives", inp.negatives)):
                e = energy[(both["subset"] == sub).to_numpy()]
                u = layer_energy_correlations(inp.model, ps.tokens, e, layers=correlation_layers(inp.model))
                units.append(u.assign(subset=sub, energy=name))
                summaries.append(table1(u).assign(subset=sub, energy=name))
        t1 = pd.concat(summaries, ignore_index=True).assign(dataset=ds, energy_backend=s.energy_backend)
        return {"table1": t1, "units": pd.concat(units, ignore_index=True).assign(dataset=ds)}, {}

    keep(runner.run(f"{ds}.correlate", ds, {**base, "pos": pos_fp, "neg": neg_fp, "energies": en.key,
                                            "layers": correlation_layers(inp.model),
                                            "layout": paper.TABLE1_LAYOUT_VERSION}, correlate), "correlate")

    # Table 2: all positives and the extracted subsets
    def pairing(_d: Path):
        from mirlens.duplex import region_pairing

        dpos = dup[dup["subset"] == "positives"].reset_index(drop=True)
        rows = [region_pairing(dpos, paper.TABLE2_REGION_SPEC).assign(subset="all", threshold=np.nan)]
        where = pd.Index(dpos["pair_index"])
        for feat in paper.EXTRACTED[ds]:
            sub = extracted_subset(inp.model, inp.positives, feat, **kw)
            chosen = dpos.iloc[where.get_indexer(sub.pairs["pair_index"])]
            if len(chosen) == 0:
                continue
            rows.append(region_pairing(chosen, paper.TABLE2_REGION_SPEC).assign(
                subset=f"extracted:{feat}", threshold=sub.info["extracted_threshold"]))
        t = pd.concat(rows, ignore_index=True).assign(dataset=ds, backend=s.energy_backend)
        return {"table2": t}, {}

    keep(runner.run(f"{ds}.pairing", ds, {**base, "pos": pos_fp, "energies": en.key,
                                          "regions": paper.TABLE2_REGION_SPEC, "extracted": paper.EXTRACTED[ds]},
                    pairing), "pairing")

    # beyond the paper (its own report section): compensatory pairing, IG / DeepLIFT vs the N-scan
    from mirlens.reproduce.beyond import beyond_params, compute_beyond

    keep(runner.run(f"{ds}.beyond", ds, {**base, "pos": pos_fp, "energies": en.key, **beyond_params(s)},
                    lambda _d: (compute_beyond(inp.model, inp.model_name, inp.positives,
                                               dup[dup["subset"] == "positives"], s, ds), {})), "beyond")
    return res


def report_texts(datasets: dict[str, DatasetResult]) -> ReportTexts:
    """The reproduction's words for the report (:class:`mirlens.report.html.ReportTexts`): the paper, the data
    sets' titles, the notes per section and each data set's "beyond the paper" finding."""
    from mirlens.report.html import ReportTexts
    from mirlens.reproduce.beyond import finding_text
    from mirlens.reproduce.notes import NOTES

    findings = {ds: finding_text(r.tables["beyond_summary"].iloc[0].to_dict()) for ds, r in datasets.items()
                if "beyond_summary" in r.tables}
    return ReportTexts(paper=paper.PAPER, titles=dict(paper.TITLE_OF), table1_energy=paper.TABLE1_ENERGY,
                       table2_regions=tuple(paper.TABLE2_REGIONS), notes=dict(NOTES), beyond_findings=findings)


def run(s: Settings, *, log: Callable[[str], None] = print, progress: Callable | None = None,
        render: bool = True) -> Results:
    """Run (or resume, or load) every stage, compare with the paper and write the report into ``s.out``."""
    from mirlens.reproduce.findings import evaluate

    out = Path(s.out)
    out.mkdir(parents=True, exist_ok=True)
    runner = StageRunner(out, log=log)
    try:
        datasets = {ds: run_dataset(ds, s, runner, progress) for ds in paper.DATASETS}

        def findings(_d: Path):
            f, comps = evaluate(datasets)
            return {"findings": f, **{f"cmp_{k}": v for k, v in comps.items()}}, {}

        keys = {ds: {k: v["key"] for k, v in r.meta.items()} for ds, r in datasets.items()}
        from mirlens.reproduce.notes import WHY

        facts = fingerprint({"facts": repr((paper.TABLE1, paper.TABLE2, paper.REDUCTIONS, paper.PEAKS,
                                            paper.FEATURES, paper.TABLE1_OURS, paper.TABLE1_ENERGY, WHY))})
        fr = runner.run("findings", "both", {"version": PIPELINE_VERSION, "stages": keys, "facts": facts}, findings)
        comparisons = {k[4:]: v for k, v in fr.tables.items() if k.startswith("cmp_")}
        by_weights = record_weights(out, s, fr.tables["findings"], datasets)
        results = Results(s, datasets, fr.tables["findings"], comparisons, runner.timings(), by_weights=by_weights)
        if render:
            from mirlens.report.html import REPORT_NAME, REPORT_VERSION, write_report

            texts = report_texts(datasets)

            report = out / REPORT_NAME
            params = {"version": REPORT_VERSION, "findings": fr.key, "stages": keys, "command": s.command,
                      "quick": s.quick, "seed": s.seed, "backend": s.energy_backend, "models": s.models,
                      "weights": s.weights, "by_weights": {
                          w: fingerprint({"t": t[["id", "ours", "verdict", "models"]].to_json()})
                          for w, t in by_weights.items()}}

            def render_stage(_d: Path):
                write_report(results, out, texts)
                return {}, {}

            if not report.is_file():  # deleted: render again even though the stage is marked done
                runner.forget("report", params)
            runner.run("report", "both", params, render_stage)
            results.report = report
    finally:
        runner.write_timings()  # also when interrupted: the stages done so far
    results.timings = runner.timings()
    return results
