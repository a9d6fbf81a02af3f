"""k-let-preserving shuffles of sequences (Altschul & Erickson 1985; the algorithm of uShuffle, Jiang et al. 2008).

A k-let shuffle returns a random sequence with exactly the same counts of every k-mer (k = 2: dinucleotides) as
the input, and the same first and last k-1 letters. It is drawn uniformly among all such sequences: the
(k-1)-mers are the nodes of a multigraph whose edges are the input's k-mers; a shuffle is a random Eulerian
path, built from a random arborescence of last exits (Wilson's / Aldous-Broder's loop-erased walk towards the
final node, as uShuffle does) and a random order of the other exits of every node.

Why our own: the ``ushuffle`` Python package (the C library's binding) no longer builds on Python >= 3.11 (its
bundled Cython output includes ``longintrepr.h``), and the algorithm is short. Shuffles are deterministic for a
given :class:`numpy.random.Generator` state.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def klet_shuffle(seq: str, k: int, rng: np.random.Generator) -> str:
    """A uniformly random sequence with the k-mer counts, first and last k-1 letters of ``seq``.

    ``k = 1`` is a plain permutation of the letters. Sequences of length <= k come back unchanged (there is
    nothing else with the same k-mers)."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n = len(seq)
    if n <= k:
        return seq
    if k == 1:
        letters = list(seq)
        rng.shuffle(letters)
        return "".join(letters)
    km1 = k - 1
    # edges of the (k-1)-mer multigraph, in input order: node seq[i:i+k-1] -> seq[i+1:i+k]
    exits: dict[str, list[str]] = defaultdict(list)
    for i in range(n - km1):
        exits[seq[i : i + km1]].append(seq[i + 1 : i + 1 + km1])
    first, last = seq[:km1], seq[n - km1 :]
    # random arborescence towards `last`: every other node gets a "last exit" on a loop-erased random walk
    # (Wilson's algorithm), choosing each step uniformly among the node's out-edges
    last_exit: dict[str, str] = {}
    in_tree = {last}
    for start in exits:
        if start in in_tree:
            continue
        node = start
        while node not in in_tree:  # random walk; overwriting the choice at a revisited node erases the loop
            options = exits[node]
            last_exit[node] = options[int(rng.integers(len(options)))]
            node = last_exit[node]
        node = start
        while node not in in_tree:
            in_tree.add(node)
            node = last_exit[node]
    # every node's remaining exits in random order, its last exit (if any) at the end
    order: dict[str, list[str]] = {}
    for node, options in exits.items():
        rest = list(options)
        if node in last_exit:
            rest.remove(last_exit[node])
        perm = rng.permutation(len(rest))
        order[node] = [rest[j] for j in perm] + ([last_exit[node]] if node in last_exit else [])
    # walk the Eulerian path from the first node
    out = [first]
    used = {node: 0 for node in order}
    node = first
    for _ in range(n - km1):
        nxt = order[node][used[node]]
        used[node] += 1
        out.append(nxt[-1])
        node = nxt
    return "".join(out)


def kmer_counts(seq: str, k: int) -> dict[str, int]:
    """How often each k-mer occurs in ``seq`` (overlapping)."""
    counts: dict[str, int] = defaultdict(int)
    for i in range(len(seq) - k + 1):
        counts[seq[i : i + k]] += 1
    return dict(counts)
