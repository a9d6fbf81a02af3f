"""What usually explains a difference between our results and the paper's, per report section."""

from __future__ import annotations

NOTES: dict[str, str] = {
    "fig1": "Our engine reproduces the original Keras models' mutated probabilities to 1e-4 (tested against "
            "TensorFlow runs of the published .h5 files), so a difference from the paper's bars lies between the "
            "published weights and the paper's figure, not in the port. Negative pairs: the paper gives no numbers. "
            "P-values: Mann-Whitney U, Bonferroni over the four seed tests of a data set (positive / negative pairs, "
            "to N / to G).",
    "sfig1": "The paper reports only that mutating the seed to G gave \"similar results\".",
    "fig2": "Scan profiles here average the drop over all pairs (positions a pair lacks count as unchanged); with "
            "the published miTAR1 weights the largest 1-nt drops lie around L11 and L18-L21, next to the L7 and "
            "L14 peaks the paper names.",
    "fig3": "Features are called with the rule and parameters of the paper-deepmirtar preset (strongest peaks, "
            "4-nt windows) on the accumulated impact (mean over pairs having each position). miRNA positions "
            "beyond L22 exist in few pairs, so their impact is noisy.",
    "fig4": "Peak positions are the summits of the mean drop per side and window size.",
    "sfig3": "",
    "fig5": "Features are called with the paper-miraw preset's rule (strongest peak per side).",
    "fig6": "Same engine as Fig. 1 (matches the Keras originals to 1e-4): where ours differs, the original model "
            "run in TensorFlow differs the same way. The paper's values are approximate (read from its text).",
    "table1": "Energies: our re-implementation of miRanda 1.9's alignment with ViennaRNA energies of its construct "
              "(the paper ran miRanda 1.9 itself); the paper's exact energy definition (\"the highest binding "
              "energy\") and which CNN tensor it correlated are not fully specified, so correlations can differ by "
              "a few hundredths to tenths; signs depend on the energy's sign convention.",
    "stable1": "Supplementary Table 1 is not printed in the paper; only its qualitative summary is checked.",
    "table2": "Pairing from our miRanda-1.9-style alignment (lowest-energy hit, G:U counted); real miRanda 1.9 "
              "itself lands within about 1.5 points of the paper's miRAW row. Extracted subsets use our own mean "
              "drop as the threshold (the paper's: 0.48, 0.61, 0.23). The paper's DeepMirTar LT7-5 value is "
              "much lower than ours; counting LT positions from the target's 5' end, or on the target padded to "
              "53 nt, does not explain it either (both tried on the full run).",
}
"""Per report section: what explains the usual differences (shown under the verdict)."""


WHY: dict[str, str] = {}
"""Per finding id: why ours differs from the paper where it still does with the paper's weights -- the
experiments and their numbers (shown next to the finding in the report's summary when its verdict is "differs")."""
