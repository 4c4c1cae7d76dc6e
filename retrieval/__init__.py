"""newsbot's retrieval layer: archive loading, mojibake repair, tokenizing, BM25 search, query cache.

This package never imports ``discord`` or ``bot``; ``tests/test_layering.py`` enforces it.
"""
