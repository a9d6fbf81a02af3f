"""The site model's calls on whole 3'UTRs with each site's context: the input of the gene-level answer.

:func:`site_calls` is :func:`mirlens.predict.site_calls.site_calls` (canonical seed matches and the pairing
model's own sites, each with its site logit, from one whole-UTR pass; see that module for how sites are found and
called) plus the context columns of :mod:`mirlens.genes.context` for every site. The site table: ``utr``,
``anchor``, ``type``, ``site_logit`` and :data:`mirlens.genes.context.CONTEXT_COLUMNS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from mirlens.data.alphabet import tokenize
from mirlens.genes.context import CONTEXT_COLUMNS, site_context
from mirlens.genes.sites import N_CANONICAL
from mirlens.predict.site_calls import NONCANONICAL, SAME_SITE, CallRule, logit  # noqa: F401  (re-exported)
from mirlens.predict.site_calls import site_calls as _site_calls

SITE_COLUMNS = ("utr", "anchor", "type", "site_logit", *CONTEXT_COLUMNS)


def site_calls(model, mirna: str, utrs: Sequence[np.ndarray | str], *,
               progress: Callable[[int], None] | None = None, block_nt: int | None = None) -> pd.DataFrame:
    """Candidate sites of ``mirna`` on every UTR with their site logits and context (see the module doc), sorted by
    UTR then anchor. ``progress(n)`` gets the UTR nt of each finished block."""
    m_tok = tokenize(mirna)

    def with_context(block, joined, sites):
        which = sites["block_utr"].to_numpy(np.int64)
        anchors = sites["joined_anchor"].to_numpy(np.int64)
        context = site_context(m_tok, joined, anchors, which, block.starts[which], block.lengths[which],
                               sites["type"].to_numpy() < N_CANONICAL)
        return pd.concat([sites.reset_index(drop=True), context], axis=1)

    sites = _site_calls(model, mirna, utrs, progress=progress, block_nt=block_nt, on_block=with_context)
    if not len(sites):
        return empty_sites()
    return sites


def empty_sites() -> pd.DataFrame:
    return pd.DataFrame({"utr": np.zeros(0, np.int64), "anchor": np.zeros(0, np.int64),
                         "type": np.zeros(0, np.int8), "site_logit": np.zeros(0, np.float32),
                         **{c: np.zeros(0, np.float64) for c in CONTEXT_COLUMNS}})
