"""Beyond the paper: which nucleotides carry the score by gradients, and does the model read pairing or motifs?

Modules: ``attribute`` (Integrated Gradients, Captum; the 1-nt N-scan and their agreement), ``deeplift``
(DeepLIFT-SHAP on module-nonlinearity twins of both model families), ``disagreement`` (why gradients and the N-scan
part on a pair), ``saturation`` (every single mutant; sequence logos), ``compensate`` (the compensatory-pairing
test).
"""
