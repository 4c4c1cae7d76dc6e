"""The operators' settings reference, drawn from the schema (:mod:`bot.config`, :mod:`retrieval.settings`):
every setting with its default, range and description. ``docs/operating.md`` holds the table verbatim, and
``tests/unit/test_settings.py`` fails when the two differ; regenerate it with
``python -c 'from bot.config_reference import reference; print(reference())'``."""

from __future__ import annotations

import msgspec

from bot.config import sections
from bot.config_archives import ArchiveSpec
from retrieval.settings import schema


def _range(meta: msgspec.Meta) -> str:
    """A setting's range in words, from its schema constraints.

    >>> _range(msgspec.Meta(ge=0, le=1)), _range(msgspec.Meta(gt=0)), _range(msgspec.Meta())
    ('0 to 1', '> 0', '')
    >>> _range(msgspec.Meta(ge=1, lt=1))
    '≥ 1, < 1'
    """
    low = f"≥ {meta.ge}" if meta.ge is not None else f"> {meta.gt}" if meta.gt is not None else ""
    high = f"≤ {meta.le}" if meta.le is not None else f"< {meta.lt}" if meta.lt is not None else ""
    if meta.ge is not None and meta.le is not None:
        return f"{meta.ge} to {meta.le}"
    return ", ".join(part for part in (low, high) if part)


def _shown(value: object) -> str:
    """A default as the TOML file writes it.

    >>> _shown(""), _shown(()), _shown(True), _shown(0.5), _shown("mon")
    ('`""`', '`[]`', '`true`', '`0.5`', '`"mon"`')
    """
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "`[]`" if not value else f"`{list(value)}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def reference() -> str:
    """The configuration reference as a markdown table, drawn from the schema: every setting with its default,
    range and description. docs/operating.md holds it verbatim (a test compares the two)."""
    lines = ["| key | default | range | meaning |", "|---|---|---|---|"]
    for name, cls in sections().items():
        for key, setting in schema(cls).items():
            description = (setting.meta.description or "").replace("|", "\\|")
            lines.append(f"| `{name}.{key}` | {_shown(setting.default)} | {_range(setting.meta)} | {description} |")
    for key, setting in schema(ArchiveSpec).items():  # [[archives]]: a list of tables, not a section
        description = (setting.meta.description or "").replace("|", "\\|")
        lines.append(f"| `archives[].{key}` | {_shown(setting.default)} | {_range(setting.meta)} | {description} |")
    return "\n".join(lines)
