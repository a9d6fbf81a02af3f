"""Do the layers encode binding free energy? Spearman correlation of every unit with per-pair duplex energies
(paper Table 1, Supp. Table 1): ``correlate``."""
