"""Seed-match typing for the gene-level code: it lives in :mod:`mirlens.data.seeds` (below both
:mod:`mirlens.predict` and :mod:`mirlens.genes`, which use it) and is re-exported here."""

from mirlens.data.seeds import (
    MIN_MIRNA_LEN,
    N_CANONICAL,
    NONCANONICAL_EXCLUSION,
    SEED_SPAN,
    SITE_TYPES,
    Sites,
    find_sites,
    find_sites_tokens,
    mirna_tokens,
)

__all__ = ["MIN_MIRNA_LEN", "NONCANONICAL_EXCLUSION", "N_CANONICAL", "SEED_SPAN", "SITE_TYPES", "Sites", "find_sites",
           "find_sites_tokens", "mirna_tokens"]
