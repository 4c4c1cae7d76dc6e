"""A second, small archive written for these tests (no third-party text), and a config serving it beside the
bundled sample archive: what the several-archives tests run on.

Its two issues are in the layout the sample archive uses, on topics the sample never touches (sourdough and
tidal power), so an answer tells at a glance which archive it came from.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from bot.config import ArchiveSpec, Config

SECOND = "garden"
"""The second archive's name; the bundled sample archive is ``akira``, the default."""

_ISSUES = {
    "akiras-machine-learning-news-issue-90-5b4f1d000090.md": """# Akira 的机器学习新闻— #90

> 原文：<https://medium.com/analytics-vidhya/akiras-machine-learning-news-issue-90-5b4f1d000090>

2023 年第 5 周(1 月 29 日~)

## 本周特稿/新闻。

*   [Sourdough starter hydration, measured every hour](https://garden.example/sourdough-hydration) A kitchen logger \
tracked how a sourdough starter rises at four hydration levels; the wettest one peaked first but collapsed soonest.
*   [Quince paste without pectin](https://garden.example/quince-paste) Slow cooking alone sets the paste.

## 现实世界中的机器学习

*   [A greenhouse that waters by the weight of its pots](https://garden.example/pot-weight) Load cells under each pot \
decide when the drip line opens.
""",
    "akiras-machine-learning-news-issue-91-5b4f1d000091.md": """# Akira 的机器学习新闻— #91

> 原文：<https://medium.com/analytics-vidhya/akiras-machine-learning-news-issue-91-5b4f1d000091>

2023 年第 6 周(2 月 5 日~)

## 本周特稿/新闻。

*   [Tidal lagoon turbines run both ways](https://garden.example/tidal-lagoon) A lagoon wall with bidirectional \
turbines generates on the flood and on the ebb tide.
*   [Rainwater barrels sized by roof area](https://garden.example/rain-barrels) A rule of thumb for the barrel a \
garden shed roof fills in one storm.

## 报纸

*   [Mulch depth and soil moisture over one dry summer](https://garden.example/mulch-depth) Ten centimetres of wood \
chips kept the beds moist twice as long as bare soil.
""",
}


def write_second_archive(folder: Path) -> Path:
    """Write the second archive's issues into ``folder`` (created); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in _ISSUES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def two_archives(config: Config, folder: Path) -> Config:
    """``config`` serving the bundled sample archive (``akira``, the default) and the second archive in
    ``folder`` (written there), as ``[[archives]]`` would."""
    write_second_archive(folder)
    return msgspec.structs.replace(config, archives=(ArchiveSpec(name="akira"),
                                                     ArchiveSpec(name=SECOND, path=str(folder))))
