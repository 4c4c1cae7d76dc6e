"""Package discovery that pyproject.toml alone cannot express: found packages plus one renamed folder.

Every package under ``bot/`` and ``retrieval/`` is found (so a new subpackage ships without editing a list),
and ``config/`` is installed as ``newsbot_config``. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["bot", "bot.*", "retrieval", "retrieval.*"]), "newsbot_config"],
    package_dir={"newsbot_config": "config"},
)
