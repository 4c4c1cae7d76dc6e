"""jieba, imported without ``pkg_resources``: import it from here (``from retrieval._jieba import jieba``).

jieba 0.42.1's ``_compat`` imports ``pkg_resources`` only to open its own data files, and opens them beside its
modules with a plain ``open()`` when that import fails. Importing ``pkg_resources`` scans every installed
distribution: about 0.09 s of each start-up, plus a deprecation warning (jieba #1018). Once jieba is imported,
``pkg_resources`` imports normally again for anyone else.
"""

from __future__ import annotations

import sys

if "jieba" not in sys.modules and "pkg_resources" not in sys.modules:
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # makes `import pkg_resources` raise ImportError
    try:
        import jieba
    finally:
        del sys.modules["pkg_resources"]

import jieba

__all__ = ["jieba"]
