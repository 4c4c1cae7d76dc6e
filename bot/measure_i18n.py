"""``newsbot bench``'s localization figure: what rendering an answer costs in Chinese against English.

The same answers (real /ask results on the configured archive) are rendered for Discord and for the console
in English (the msgids themselves: the baseline) and in zh-CN and zh-TW (catalog lookups and placeholder
filling), interleaved round by round in one run, so the shared machine's noise falls on all three alike.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from bot.app import build_app
from bot.config import Config
from bot.i18n import EN, lang
from bot.results import AskResult

QUESTIONS = ("CutMix", "transformer 注意力", "矩阵乘法", "learning", "week 13 2021 ViT")
ROUNDS = 200


async def _answers(config: Config) -> list[AskResult]:
    async with build_app(config, "console") as app:
        return [await app.service.ask(q, count=10) for q in QUESTIONS]


def measure_i18n(config: Config, say: Callable[[str], None] = print, rounds: int = ROUNDS) -> dict[str, Any]:
    """Median microseconds to render one answer (Discord embeds and console text) per language, and the
    difference against English."""
    from bot import render_text
    from bot.discord_adapter import embeds

    answers = asyncio.run(_answers(config))
    languages = {"en": EN, "zh-CN": lang("zh-CN"), "zh-TW": lang("zh-TW")}
    samples: dict[str, list[float]] = {code: [] for code in languages}
    order = list(languages.items())
    for n in range(rounds):
        for code, lg in order[n % 3:] + order[:n % 3]:  # each language first in a third of the rounds
            start = time.perf_counter()
            for result in answers:
                embeds.render(result, lg)
                render_text.render(result, lg=lg)
            samples[code].append((time.perf_counter() - start) / len(answers) * 1e6)
    # The fastest round is the least disturbed by other processes; the paired difference (same round) is the
    # localization's own cost, which the machine's noise would otherwise swamp.
    best = {code: min(values) for code, values in samples.items()}
    extra = {code: statistics.median(c - e for c, e in zip(samples[code], samples["en"], strict=True))
             for code in ("zh-CN", "zh-TW")}
    say(f"render per answer (embeds + text, {len(answers)} answers x {rounds} rounds): fastest en {best['en']:.0f} µs "
        f"(baseline), zh-CN {best['zh-CN']:.0f} µs, zh-TW {best['zh-TW']:.0f} µs; median paired extra vs en: "
        f"zh-CN {extra['zh-CN']:+.0f} µs, zh-TW {extra['zh-TW']:+.0f} µs")
    return {"render_us_per_answer_fastest": best, "extra_us_vs_english_median": extra}
