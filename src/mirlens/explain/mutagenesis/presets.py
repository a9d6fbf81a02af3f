"""The paper's settings as named presets, and the numbers the paper reports (facts to compare against).

``paper-deepmirtar``: miTAR1 on the 3,908 DeepMirTar positives (the training file
data_DeepMirTar_removeMisMissing_remained_seed1122.txt), windows 1..6, regions seed / L4-4 / L13-4.
``paper-miraw``: miTAR2 on the 32,660 miRAW positives (all miRAW rows of the three miTAR files), windows 1..8,
regions seed / LT7-5 / L10-4.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mirlens.errors import InputError


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    model: str
    dataset: str
    part: str
    subset: str
    ks: tuple[int, ...]
    regions: tuple[str, ...]
    to: str = "N"
    feature_params: dict = field(default_factory=dict)
    paper_reductions: dict = field(default_factory=dict)  # region set -> reduction read from Fig. 1 / Fig. 6
    paper_features: tuple[str, ...] = ()
    paper_peaks: tuple[str, ...] = ()


PAPER_FEATURE_LENGTH = {"mirna": 4, "target": 5}
"""The paper's feature sizes: every miRNA feature is 4 nt (L4-4, L13-4, L10-4), its target feature 5 nt (LT7-5).
Both presets place windows of these sizes at the strongest stretch around each summit; the features are then
tested on *where* they sit. (Extending each summit while the impact stays >= 0.5 x the summit instead gives, on
miRAW, L9-6 / LT6-6 with the same summits L11 / LT8.)"""

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="paper-deepmirtar",
            description="miTAR1 (as of 2020-03, the version the paper analysed) on the DeepMirTar positives (3,908 pairs), "
                        "windows 1..6 (paper Fig. 1-3, 6)",
            model="keras-miTAR1@2020-03", dataset="deepmirtar", part="pool", subset="positives", ks=tuple(range(1, 7)),
            regions=("seed", "L4-4", "L13-4"),
            feature_params={"peaks_per_side": 2, "length": dict(PAPER_FEATURE_LENGTH)},
            paper_reductions={"seed": 0.16, "L4-4": 0.16, "L13-4": 0.48, "seed+L13-4": 0.72, "L4-4+L13-4": 0.72},
            paper_features=("L4-4", "L13-4"), paper_peaks=("L7", "L14"),
        ),
        Preset(
            name="paper-miraw",
            description="miTAR2 on the miRAW positives (32,660 pairs), windows 1..8 (paper Fig. 1, 4-6, Supp. Fig. 3)",
            model="keras-miTAR2", dataset="miraw", part="all", subset="positives", ks=tuple(range(1, 9)),
            regions=("seed", "LT7-5", "L10-4"),
            feature_params={"peaks_per_side": 1, "length": dict(PAPER_FEATURE_LENGTH)},
            paper_reductions={"seed": 0.01, "LT7-5": 0.22, "L10-4": 0.61, "seed+L10-4": 0.66, "L10-4+LT7-5": 0.65,
                              "seed+LT7-5": 0.23},
            paper_features=("LT7-5", "L10-4"), paper_peaks=("LT9", "L11"),
        ),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(f"unknown preset {name!r}; choose from {', '.join(PRESETS)}") from None
