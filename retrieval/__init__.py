"""newsbot's retrieval layer: archive loading, mojibake repair, tokenizing, BM25 search, query cache.

This package never imports ``discord`` or ``bot``; ``tests/unit/test_layering.py`` enforces it.
"""
