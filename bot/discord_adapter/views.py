"""Pagination buttons for long answers; disabled when the view times out, and when the bot shuts down."""

from __future__ import annotations

import contextlib
import logging
import weakref

import discord

from bot.discord_adapter.replies import expired
from bot.i18n import COMMAND_NAME, lang

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
