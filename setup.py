"""What pyproject.toml alone cannot express: found packages, one renamed folder, and the C scoring kernel.

Every package under ``bot/`` and ``retrieval/`` is found (so a new subpackage ships without editing a list),
and ``config/`` is installed as ``newsbot_config``. ``retrieval._bm25kernel`` is the exact BM25+ top k in C
(docs/architecture.md says why); it uses only the Python C API, so a C compiler is all it needs.
Everything else is in pyproject.toml.
"""

import sys

from setuptools import Extension, find_packages, setup

# Scores must stay bit-identical to rank-bm25's: never fuse a*b+c into one rounding (GCC and Clang fuse by default
# on aarch64). MSVC does not contract unless asked (/fp:contract).
FLAGS = [] if sys.platform == "win32" else ["-O2", "-ffp-contract=off"]

setup(
    packages=[*find_packages(include=["bot", "bot.*", "retrieval", "retrieval.*"]), "newsbot_config"],
    package_dir={"newsbot_config": "config"},
    ext_modules=[Extension("retrieval._bm25kernel", ["retrieval/_bm25kernel.c"], extra_compile_args=FLAGS)],
)
