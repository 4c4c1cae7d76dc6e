"""What only measures newsbot, never runs in the bot: ``newsbot eval``, ``bench`` and ``eval-repair``.

* :mod:`retrieval.measure.evaluate`: MRR@5 / Recall@5 on the dev and held-out question sets (shipped here as
  package data, ``questions/``), by language and kind, against a naive baseline.
* :mod:`retrieval.measure.explain`: ``eval --explain``, per-term scores of one question's expected links.
* :mod:`retrieval.measure.bench` and :mod:`retrieval.measure.bm25_bench`: speed against rank-bm25's full scan.
* :mod:`retrieval.measure.repair_eval`: mojibake repair accuracy against clean twins.
"""
