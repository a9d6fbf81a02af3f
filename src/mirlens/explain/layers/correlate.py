"""Do the layers encode binding free energy? Spearman correlation of every unit with per-pair energies.

For a pair set (token matrix) and one energy per pair, this computes Spearman's rho and its p-value for
(a) every unit of a layer, (b) every conv feature map summed over positions, (c) all units of a layer summed (and,
for the BiLSTM, each direction summed), and (d) the **sign-split sums** of Table 1 / Supp. Table 1 of Gu et al.
2021: level ``feature_map_signed`` sums, per feature map, its units that correlate positively and, apart, those that
correlate negatively (2 x 320 = the paper's 640 "CombinePerFeatureMap" units); level ``all_signed`` sums every
positively and every negatively correlated unit of the layer (the paper's 2 "CombineAllUnits" /
"Combine_AllUnits"). With the paper's energies this layout gives its counts and values (DeepMirTar CNN: 21,437 /
640 / 2 units, -0.34/0.32, -0.53/0.50, -0.56/0.58; paper 21,438 / 640 / 2, -0.34/0.32, -0.53/0.51, -0.56/0.59);
a single sum of all units (level ``all``) is our own extension.

Layers: ``conv`` (after relu), ``pool`` (after max-pool; the paper's "CNN" — its unit count 21,438 = 2 x 34 x 320
minus constant units shows it correlated the max-pool output and its identical dropout copy), ``bilstm``
(64 final-state units: forward 0-31, backward 32-63) and ``dense`` (16 units, Supp. Table 1).

Pairing models (:mod:`mirlens.model.pairing`) have other layers: ``diagonal`` and ``combine`` (per anchor x unit,
after relu; feature maps = a unit summed over anchors), ``pool`` (the maximum over anchors) and ``dense``.

Spearman is computed as Pearson on ranks, vectorised: ranks once per column (average ranks for ties, as
``scipy.stats.spearmanr``), then one matrix product per block of units. The p-value uses the same t-distribution
as SciPy. Constant units (e.g. relu units that are always 0) have no correlation: they are excluded and counted.
Memory stays bounded: conv/pool units are recomputed per block of filters instead of keeping every activation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from scipy import stats

from mirlens.errors import InputError
from mirlens.model.architecture import MiTAR

LAYERS = ("conv", "pool", "bilstm", "dense")
PAIRING_LAYERS = ("diagonal", "combine", "pool", "dense")


def layers_of(model) -> tuple[str, ...]:
    """The layers :func:`layer_energy_correlations` can correlate for this model."""
    return LAYERS if isinstance(model, MiTAR) else PAIRING_LAYERS
LEVELS = ("unit", "feature_map", "all", "direction", "feature_map_signed", "all_signed")
SUMMARY_COLUMNS = ["layer", "level", "UnitCount", "ConstantUnits", "MinCor", "MinCor_Pval", "MaxCor",
                   "MaxCor_Pval", "MinCor_Pval_BH", "MaxCor_Pval_BH", "MinUnit", "MaxUnit"]


def _ranks(x: np.ndarray) -> np.ndarray:
    """Column-wise average ranks (float64), centred, of an (n, p) array."""
    r = stats.rankdata(x, axis=0).astype(np.float64)
    return r - r.mean(axis=0, keepdims=True)


def spearman_columns(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spearman rho and two-sided p-value of every column of ``x`` (n, p) with ``y`` (n,); NaN for constant
    columns. Equals ``scipy.stats.spearmanr(x[:, j], y)`` column by column."""
    x = np.asarray(x)
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    if x.ndim != 2 or x.shape[0] != n:
        raise InputError(f"activations ({x.shape}) and energies ({n}) do not match")
    if n < 3:
        raise InputError("at least 3 pairs are needed for a correlation")
    ry = _ranks(y[:, None])[:, 0]
    rx = _ranks(x)
    sx = np.sqrt((rx * rx).sum(axis=0))
    sy = np.sqrt((ry * ry).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rx.T @ ry) / (sx * sy)
    rho[sx == 0] = np.nan
    if sy == 0:
        rho[:] = np.nan
    rho = np.clip(rho, -1.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = rho * np.sqrt((n - 2) / ((1.0 + rho) * (1.0 - rho)))
    p = 2 * stats.t.sf(np.abs(t), n - 2)
    p[np.abs(rho) == 1.0] = 0.0
    return rho, p


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (NaN stays NaN)."""
    p = np.asarray(p, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out


def _unit_table(layer: str, level: str, names: Sequence[str], rho: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    tested = ~np.isnan(rho)
    n_tests = int(tested.sum())
    return pd.DataFrame({
        "layer": layer, "level": level, "unit": list(names), "rho": rho, "pval": p,
        "pval_bonferroni": np.minimum(p * max(n_tests, 1), 1.0), "pval_bh": benjamini_hochberg(p),
    })


@torch.inference_mode()
def _pooled_block(model: MiTAR, tokens: torch.Tensor, filters: slice, pooled: bool) -> torch.Tensor:
    """conv (after relu) or max-pooled outputs of a block of filters: (B, L, n_filters)."""
    win = model._windows(tokens)
    b, n, k = win.shape
    w = model.conv_weight_matrix()[:, filters]
    out = torch.relu(torch.addmm(model.conv.bias[filters], win.reshape(b * n, k), w)).reshape(b, n, -1)
    return model.pool(out) if pooled else out


def _batches(n: int, size: int):
    for s in range(0, n, size):
        yield slice(s, min(s + size, n))


def layer_energy_correlations(
    model: MiTAR,
    tokens: np.ndarray,
    energy: np.ndarray,
    *,
    layers: Sequence[str] = ("pool", "bilstm", "dense"),
    batch_size: int = 2048,
    filters_per_block: int = 32,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Per-unit correlation table (columns layer, level, unit, rho, pval, pval_bonferroni, pval_bh).

    Bonferroni and BH adjust within each (layer, level) over the units actually tested.
    """
    known = layers_of(model)
    unknown = set(layers) - set(known)
    if unknown:
        raise InputError(f"unknown layer(s) {sorted(unknown)} for this model; choose from {', '.join(known)}")
    energy = np.asarray(energy, dtype=np.float64)
    if len(energy) != len(tokens):
        raise InputError(f"{len(tokens)} pairs but {len(energy)} energies")
    if np.isnan(energy).any():
        raise InputError("energies contain missing values")
    model.eval()
    t_all = torch.from_numpy(np.ascontiguousarray(tokens, dtype=np.int64))
    if not isinstance(model, MiTAR):
        return _generic_correlations(model, t_all, energy, layers, batch_size, progress)
    n = len(t_all)
    c = model.config
    tables = []
    # one pass for the small layers and the per-filter sums of conv / pool
    small = {name: [] for name in ("bilstm", "dense")}
    sums = {name: [] for name in ("conv", "pool")}
    with torch.inference_mode():
        for sl in _batches(n, batch_size):
            out = model.layer_outputs(t_all[sl])
            small["bilstm"].append(out["bilstm"].double().numpy())
            small["dense"].append(out["dense"].double().numpy())
            sums["conv"].append(out["conv"].double().sum(dim=1).numpy())
            sums["pool"].append(out["pool"].double().sum(dim=1).numpy())
            if progress is not None:
                progress(sl.stop - sl.start)
    for layer in ("conv", "pool"):
        if layer not in layers:
            continue
        fmap = np.concatenate(sums[layer])
        rho, p = spearman_columns(fmap, energy)
        tables.append(_unit_table(layer, "feature_map", [f"f{i}" for i in range(c.conv_filters)], rho, p))
        rho, p = spearman_columns(fmap.sum(axis=1, keepdims=True), energy)
        tables.append(_unit_table(layer, "all", ["all"], rho, p))
        length = c.conv_len if layer == "conv" else c.steps
        rhos, ps, names = [], [], []
        signed, signed_names = [], []  # per filter: sum of its positively / negatively correlated units
        total = np.zeros((n, 2))
        for f0 in range(0, c.conv_filters, filters_per_block):
            fs = slice(f0, min(f0 + filters_per_block, c.conv_filters))
            block = np.concatenate([_pooled_block(model, t_all[sl], fs, layer == "pool").numpy()
                                    for sl in _batches(n, batch_size)]).astype(np.float64)
            r, pv = spearman_columns(block.reshape(n, -1), energy)  # column order: position-major, then filter
            rhos.append(r.reshape(length, -1).T.ravel())
            ps.append(pv.reshape(length, -1).T.ravel())
            names += [f"f{f}:p{pos}" for f in range(fs.start, fs.stop) for pos in range(length)]
            cols, sn = _signed_sums(block, r.reshape(length, -1), [f"f{f}" for f in range(fs.start, fs.stop)])
            signed.append(cols)
            signed_names += sn
            total += _signed_total(block.reshape(n, -1), r)
        tables.append(_unit_table(layer, "unit", names, np.concatenate(rhos), np.concatenate(ps)))
        tables.append(_unit_table(layer, "feature_map_signed", signed_names,
                                  *spearman_columns(np.concatenate(signed, axis=1), energy)))
        tables.append(_unit_table(layer, "all_signed", ["positive", "negative"], *spearman_columns(total, energy)))
    if "bilstm" in layers:
        x = np.concatenate(small["bilstm"])
        u = c.lstm_units
        names = [f"fwd{i}" for i in range(u)] + [f"bwd{i}" for i in range(u)]
        tables.append(_unit_table("bilstm", "unit", names, *spearman_columns(x, energy)))
        tables.append(_unit_table("bilstm", "all", ["all"], *spearman_columns(x.sum(axis=1, keepdims=True), energy)))
        per_dir = np.stack([x[:, :u].sum(axis=1), x[:, u:].sum(axis=1)], axis=1)
        tables.append(_unit_table("bilstm", "direction", ["forward", "backward"],
                                  *spearman_columns(per_dir, energy)))
        tables.append(_unit_table("bilstm", "all_signed", ["positive", "negative"],
                                  *spearman_columns(_signed_total(x, spearman_columns(x, energy)[0]), energy)))
    if "dense" in layers:
        x = np.concatenate(small["dense"])
        tables.append(_unit_table("dense", "unit", [f"d{i}" for i in range(x.shape[1])],
                                  *spearman_columns(x, energy)))
        tables.append(_unit_table("dense", "all", ["all"], *spearman_columns(x.sum(axis=1, keepdims=True), energy)))
        tables.append(_unit_table("dense", "all_signed", ["positive", "negative"],
                                  *spearman_columns(_signed_total(x, spearman_columns(x, energy)[0]), energy)))
    return pd.concat(tables, ignore_index=True)


def _signed_total(x: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """(n, 2): the sum of the columns of ``x`` (n, p) whose correlation ``rho`` is positive, and of those whose is
    negative (constant columns, rho NaN, belong to neither)."""
    return np.stack([x[:, rho > 0].sum(axis=1), x[:, rho < 0].sum(axis=1)], axis=1).astype(np.float64)


def _signed_sums(block: np.ndarray, rho: np.ndarray, filters: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Per filter of a conv/pool block (n, positions, filters) with per-unit ``rho`` (positions, filters): the sum
    of its positively and of its negatively correlated positions; a filter without units of a sign has no column
    for that sign (so a count below 2 x filters, like the paper's 632 for miRAW, counts such filters)."""
    cols, names = [], []
    for j, name in enumerate(filters):
        for sign, mask in (("+", rho[:, j] > 0), ("-", rho[:, j] < 0)):
            if mask.any():
                cols.append(block[:, mask, j].sum(axis=1))
                names.append(f"{name}{sign}")
    n = block.shape[0]
    return (np.stack(cols, axis=1) if cols else np.zeros((n, 0))), names


def _generic_correlations(model, t_all: torch.Tensor, energy: np.ndarray, layers: Sequence[str], batch_size: int,
                          progress: Callable[[int], None] | None, columns_per_block: int = 512) -> pd.DataFrame:
    """Every unit, feature map (unit summed over positions) and layer sum of ``model.layer_outputs`` layers."""
    acts: dict[str, list[np.ndarray]] = {name: [] for name in layers}
    with torch.inference_mode():
        for sl in _batches(len(t_all), batch_size):
            out = model.layer_outputs(t_all[sl])
            for name in layers:
                acts[name].append(out[name].float().numpy())
            if progress is not None:
                progress(sl.stop - sl.start)
    tables = []
    for name in layers:
        x = np.concatenate(acts[name])
        if x.ndim == 3:  # (pairs, positions, units)
            n, positions, units = x.shape
            flat = x.reshape(n, -1)
            rhos, ps = [], []
            for c0 in range(0, flat.shape[1], columns_per_block):
                r, p = spearman_columns(flat[:, c0:c0 + columns_per_block], energy)
                rhos.append(r)
                ps.append(p)
            names = [f"u{u}:a{a}" for a in range(positions) for u in range(units)]
            tables.append(_unit_table(name, "unit", names, np.concatenate(rhos), np.concatenate(ps)))
            fmap = x.astype(np.float64).sum(axis=1)
            tables.append(_unit_table(name, "feature_map", [f"u{u}" for u in range(units)],
                                      *spearman_columns(fmap, energy)))
            total = fmap.sum(axis=1, keepdims=True)
        else:
            tables.append(_unit_table(name, "unit", [f"u{u}" for u in range(x.shape[1])],
                                      *spearman_columns(x, energy)))
            total = x.astype(np.float64).sum(axis=1, keepdims=True)
        tables.append(_unit_table(name, "all", ["all"], *spearman_columns(total, energy)))
    return pd.concat(tables, ignore_index=True)


def table1(units: pd.DataFrame) -> pd.DataFrame:
    """The Table 1 layout from a per-unit table: per (layer, level) the tested unit count, constant units, and the
    minimum / maximum correlation with their Bonferroni-adjusted (and BH-adjusted) p-values and unit names."""
    rows = []
    for (layer, level), g in units.groupby(["layer", "level"], sort=False):
        tested = g[g["rho"].notna()]
        row = {"layer": layer, "level": level, "UnitCount": len(tested), "ConstantUnits": len(g) - len(tested)}
        if len(tested):
            lo, hi = tested.loc[tested["rho"].idxmin()], tested.loc[tested["rho"].idxmax()]
            row.update(MinCor=lo["rho"], MinCor_Pval=lo["pval_bonferroni"], MaxCor=hi["rho"],
                       MaxCor_Pval=hi["pval_bonferroni"], MinCor_Pval_BH=lo["pval_bh"], MaxCor_Pval_BH=hi["pval_bh"],
                       MinUnit=lo["unit"], MaxUnit=hi["unit"])
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
