"""Answering: the hits search found in, a cited extractive answer (or an abstention) out.

- ``sentences``: the passages' sentences read from the store, their types, and the ``Candidate`` record;
- ``selector``: the trained sentence selector (and the earlier heuristic, kept for comparison);
- ``compose``: the ``Answerer``: sentences chosen, parts covered, passages shown, citations, disagreements.
"""
