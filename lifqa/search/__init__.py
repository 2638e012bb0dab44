"""Search: a question in, ranked hits out.

- ``question``: the ``Question`` record, analysed once (cleaned, tokenized, idf, identifiers, kind, parts, vector);
- ``searcher``: filters, BM25 and dense candidates, tier weighting, passage diversity (``Searcher``, ``Found``);
- ``rerank``: fusion, the rerankers, answerability (``Support``) and an index's stored calibration.

Nothing here knows about answer sentences (lifqa.answer) or building an index.
"""
