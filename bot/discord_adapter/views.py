"""Pagination buttons for long answers (disabled when the view times out, and when the bot shuts down), and the
remove buttons of /subscriptions."""

from __future__ import annotations

import contextlib
import logging
import re
import weakref
from collections.abc import Sequence
from typing import Any

import discord

from bot.discord_adapter.embeds import render
from bot.discord_adapter.markup import error_text
from bot.discord_adapter.replies import expired
from bot.errors import AlertError
from bot.i18n import COMMAND_NAME, EN, Lang, lang
from bot.results import SubscriptionsResult

log = logging.getLogger(__name__)


class Paginator(discord.ui.View):
    """◀ / ▶ buttons over pre-rendered pages. Only the person who asked can turn pages."""

    def __init__(self, pages: list[discord.Embed], *, owner_id: int, timeout: float = 180.0) -> None:
        super().__init__(timeout=timeout)
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
        self.message: discord.Message | discord.WebhookMessage | None = None
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1
        self.counter.label = f"{self.index + 1}/{len(self.pages)}"

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            lg = lang(interaction.locale.value)  # the one who pressed, who may read another language
            await interaction.response.send_message(
                lg.gettext("Only the person who asked can turn these pages; run {command} yourself to get your own.",
                           command="/" + lg.pgettext(COMMAND_NAME, "ask")),
                ephemeral=True, allowed_mentions=discord.AllowedMentions.none(),
            )
            return False
        return True

    async def _show(self, interaction: discord.Interaction) -> None:
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @discord.ui.button(label="◀", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[Paginator]) -> None:
        self.index = max(0, self.index - 1)
        await self._show(interaction)

    @discord.ui.button(label="1/1", style=discord.ButtonStyle.secondary, disabled=True)
    async def counter(self, interaction: discord.Interaction, button: discord.ui.Button[Paginator]) -> None:
        await interaction.response.defer()

    @discord.ui.button(label="▶", style=discord.ButtonStyle.secondary)
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[Paginator]) -> None:
        self.index = min(len(self.pages) - 1, self.index + 1)
        await self._show(interaction)

    async def on_error(self, interaction: discord.Interaction, error: Exception,
                       item: discord.ui.Item[Paginator]) -> None:
        if expired(error):
            log.info("page button press expired before it was answered (10062)")
            return
        log.error("page button failed", exc_info=error)

    async def on_timeout(self) -> None:
        await self._disable()

    async def shut_down(self) -> None:
        """The bot is stopping: the buttons would die with it, so show them disabled rather than let a press
        after the restart fail ("This interaction failed")."""
        if not self.is_finished():
            self.stop()
            await self._disable()

    async def _disable(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException as err:
                # The message may be gone or the token expired; the buttons die with it.
                log.debug("could not disable paginator buttons: %s", err)


BUTTON_URL_MAX = 512
_BUTTON_URL = re.compile(r"^https?://[^\s<>\"]+$", re.IGNORECASE)


def button_url(url: str | None) -> str | None:
    """A URL a link button may carry (http or https, at most 512 characters, Discord's limit), or None.

    >>> button_url("https://arxiv.org/abs/2106.10860")
    'https://arxiv.org/abs/2106.10860'
    >>> [button_url(u) for u in (None, "javascript:alert(1)", "https://x.org/" + "a" * 500, "https://a b")]
    [None, None, None, None]
    """
    if not url or len(url) > BUTTON_URL_MAX or not _BUTTON_URL.match(url):
        return None
    return url


def link_buttons(rows: Sequence[Sequence[tuple[str, str | None]]]) -> discord.ui.View | None:
    """Link buttons, one row per entry of ``rows`` (at most Discord's 5 rows of 5); links a button may not
    carry are dropped, and None when none is left. Link buttons need no listener, so the view is never stored."""
    view = discord.ui.View(timeout=None)
    for row, links in enumerate(rows[:5]):
        for label, url in links[:5]:
            target = button_url(url)
            if target is not None and label:
                view.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label=label[:80], url=target,
                                                row=row))
    return view if view.children else None


class OpenViews:
    """The page buttons on screen, so a shutdown can disable them, and how long new ones live."""

    def __init__(self, timeout: float = 180.0) -> None:
        self.timeout = timeout
        """Seconds before the buttons are disabled (discord.py's default is 180)."""
        self._views: weakref.WeakSet[Paginator] = weakref.WeakSet()

    def open(self, pages: list[discord.Embed], *, owner_id: int) -> Paginator:
        view = Paginator(pages, owner_id=owner_id, timeout=self.timeout)
        self._views.add(view)
        return view

    async def shut_down(self) -> None:
        views = list(self._views)
        self._views.clear()
        for view in views:
            with contextlib.suppress(discord.HTTPException):
                await view.shut_down()


ALERT_BUTTON = re.compile(r"nb:unsub:(?P<user>[0-9]{1,20}):(?P<sub>[0-9]{1,20})")
"""A remove button's custom_id: whose list it is and which alert. Checked against the presser (only that member
may remove it) and by the store (which deletes by id *and* owner), so a forged custom_id removes nothing."""


class RemoveAlert(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=ALERT_BUTTON):
    """One remove button of /subscriptions. Dynamic, so it still works after a restart."""

    def __init__(self, user_id: int, sub_id: int, number: int = 0, lg: Lang = EN) -> None:
        label = lg.gettext("Remove {n}", n=number) if number else lg.gettext("Remove")
        super().__init__(discord.ui.Button(label=label[:80],
                                           style=discord.ButtonStyle.danger, custom_id=f"nb:unsub:{user_id}:{sub_id}"))
        self.user_id = user_id
        self.sub_id = sub_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: re.Match[str], /) -> RemoveAlert:
        return cls(int(match["user"]), int(match["sub"]))

    async def interaction_check(self, interaction: discord.Interaction[Any], /) -> bool:
        if interaction.user.id != self.user_id:
            lg = lang(interaction.locale.value)  # the one who pressed
            await interaction.response.send_message(lg.gettext("Only the member whose alerts these are can remove "
                                                               "them; /subscriptions lists your own."), ephemeral=True,
                                                    allowed_mentions=discord.AllowedMentions.none())
            return False
        return True

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        service = interaction.client.newsbot
        lg = lang(interaction.locale.value)
        try:
            await service.unsubscribe(str(self.sub_id), user_id=self.user_id)
        except AlertError as err:
            await interaction.response.send_message(error_text(lg.error(err), lg=lg), ephemeral=True,
                                                    allowed_mentions=discord.AllowedMentions.none())
            return
        listing = await service.subscriptions(user_id=self.user_id)
        await interaction.response.edit_message(embeds=render(listing, lg).embeds, view=alerts_view(listing, lg))


def alerts_view(result: SubscriptionsResult, lg: Lang = EN) -> discord.ui.View:
    """A remove button per alert (at most 25: ``alerts.max_per_member`` allows no more)."""
    view = discord.ui.View(timeout=None)
    for sub in result.subs[:25]:
        view.add_item(RemoveAlert(result.user_id, sub.id, sub.number, lg))
    return view
