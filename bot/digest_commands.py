"""The weekly digest's admin commands (``/newsbot digest-*``), one server's settings per archive: a part of
:class:`bot.commands.Newsbot`, kept apart so each module stays one screenful of concerns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.i18n import N_
from bot.registry import ArchiveName, ChannelId, RoleId, command
from bot.results import DigestNowResult, DigestSettingsResult
from bot.timeparse import parse_time_of_day
from retrieval.errors import QueryError

if TYPE_CHECKING:
    from bot.digest.scheduler import DigestScheduler
    from bot.digest.transport import Poster
    from bot.library import Libraries

ARCHIVE_HELP = "Which archive (default: this server's)"
"""The archive option's description (shown only with several archives)."""
DIGEST_NOW_TEXT = {
    "recovered": N_("That digest was already in the channel."),
    "busy": N_("A digest is being posted right now; nothing more was posted."),
    "recent": N_("A digest was posted less than a minute ago; nothing more was posted. Ask again in a minute for "
                 "another one."),
}
DIGEST_LANGUAGES = ("auto", "en-US", "zh-CN", "zh-TW")
"""What ``/newsbot digest-language`` takes: ``auto`` follows the server's preferred locale."""



class DigestCommands:
    """The digest settings commands; :class:`bot.commands.Newsbot` gives the libraries and the schedulers."""

    libraries: Libraries
    schedulers: dict[str, DigestScheduler]

    @command("Post the weekly digest in this channel.", admin=True, console=False,
             channel="The channel for the weekly digest", archive=ARCHIVE_HELP)
    async def digest_channel(self, channel: ChannelId, archive: ArchiveName | None = None, *,
                             guild_id: int) -> DigestSettingsResult:
        scheduler, named = await self._digests(archive, guild_id)
        title = N_("Digest channel set")
        return DigestSettingsResult(title, await scheduler.configure(guild_id, channel_id=channel), named)

    @command("When the weekly digest is posted.", admin=True, console=False,
             weekday="Day of the week", time="Local time of day, HH:MM (24-hour)",
             timezone="IANA time zone, e.g. Europe/Berlin or Asia/Tokyo", archive=ARCHIVE_HELP)
    async def digest_schedule(self, weekday: int, time: str, timezone: str | None = None,
                              archive: ArchiveName | None = None, *, guild_id: int) -> DigestSettingsResult:
        scheduler, named = await self._digests(archive, guild_id)
        title = N_("Digest schedule set")
        settings = await scheduler.configure(guild_id, weekday=weekday, time=parse_time_of_day(time),
                                             timezone=timezone or "UTC")
        return DigestSettingsResult(title, settings, named)

    @command("What the weekly digest posts.", admin=True, console=False,
             policy="next: replay the archive week by week; latest: only new issues", archive=ARCHIVE_HELP)
    async def digest_policy(self, policy: str, archive: ArchiveName | None = None, *,
                            guild_id: int) -> DigestSettingsResult:
        scheduler, named = await self._digests(archive, guild_id)
        title = N_("Digest policy set")
        return DigestSettingsResult(title, await scheduler.configure(guild_id, policy=policy), named)

    @command("Turn the weekly digest on.", admin=True, console=False,
             channel="The channel for the digest (default: the one already set)", archive=ARCHIVE_HELP)
    async def digest_on(self, channel: ChannelId | None = None, archive: ArchiveName | None = None, *,
                        guild_id: int) -> DigestSettingsResult:
        scheduler, named = await self._digests(archive, guild_id)
        title = N_("Weekly digest on")
        return DigestSettingsResult(title, await scheduler.enable(guild_id, channel), named)

    @command("Turn the weekly digest off.", admin=True, console=False, archive=ARCHIVE_HELP)
    async def digest_off(self, archive: ArchiveName | None = None, *, guild_id: int) -> DigestSettingsResult:
        scheduler, named = await self._digests(archive, guild_id)
        title = N_("Weekly digest off")
        return DigestSettingsResult(title, await scheduler.disable(guild_id), named)

    @command("Post the next digest right away.", admin=True, console=False, archive=ARCHIVE_HELP)
    async def digest_now(self, archive: ArchiveName | None = None, *, guild_id: int,
                         poster: Poster) -> DigestNowResult:
        library = await self.libraries.resolve(archive, guild_id)
        scheduler, _ = await self._digests(library.name, guild_id)
        outcome = await scheduler.post_now(guild_id, poster)
        label = None
        if outcome.status == "posted":
            issue = library.archive.get(outcome.issue_id or "")
            # The issue's label (2020-10, #34) as everywhere else, not its internal id.
            label = issue.label if issue else outcome.issue_id
            text = f"Posted the digest ({label})."
        elif outcome.status == "nothing":
            text = outcome.detail
        else:
            text = DIGEST_NOW_TEXT.get(outcome.status,
                                       f"Could not post the digest: {outcome.detail or outcome.status}.")
        return DigestNowResult(outcome.status, text, label)

    @command("Ping a role on each digest (leave empty: no ping).", admin=True, console=False,
             role="The role each digest pings, and the only one it may ping", archive=ARCHIVE_HELP)
    async def digest_role(self, role: RoleId | None = None, archive: ArchiveName | None = None, *, guild_id: int,
                          role_pings: bool = True) -> DigestSettingsResult:
        """``role_pings``: whether a mention of that role notifies anyone (a surface knows; Discord: the role is
        mentionable, or the bot may mention every role)."""
        scheduler, named = await self._digests(archive, guild_id)
        title = N_("Digest role set") if role else N_("Digest role cleared: digests ping no one")
        settings = await scheduler.set_role(guild_id, role)
        if role is not None and not role_pings:
            title = N_("Digest role set (the role is not mentionable: make it mentionable, or the ping will not "
                       "notify anyone)")
        return DigestSettingsResult(title, settings, named)

    @command("Open a discussion thread on each digest.", admin=True, console=False,
             mode="on: a thread on each digest message, named after the issue; off: none", archive=ARCHIVE_HELP)
    async def digest_thread(self, mode: str, archive: ArchiveName | None = None, *,
                            guild_id: int) -> DigestSettingsResult:
        on = mode.strip().lower() == "on"
        if not on and mode.strip().lower() != "off":
            raise QueryError("mode is on or off.")
        scheduler, named = await self._digests(archive, guild_id)
        title = N_("Digest threads on") if on else N_("Digest threads off")
        return DigestSettingsResult(title, await scheduler.set_thread(guild_id, on), named)

    @command("The weekly digest's language (default: the server's language).", admin=True, console=False,
             language="auto (the server's language), en-US, zh-CN or zh-TW", archive=ARCHIVE_HELP)
    async def digest_language(self, language: str, archive: ArchiveName | None = None, *,
                              guild_id: int) -> DigestSettingsResult:
        code = language.strip()
        if code not in DIGEST_LANGUAGES:
            raise QueryError("The digest language is one of {languages}.", languages=", ".join(DIGEST_LANGUAGES))
        scheduler, named = await self._digests(archive, guild_id)
        title = N_("Digest language set")
        settings = await scheduler.set_locale(guild_id, None if code == "auto" else code)
        return DigestSettingsResult(title, settings, named)

    async def _digests(self, archive: str | None, guild_id: int) -> tuple[DigestScheduler, str]:
        """The archive's digest scheduler, and the archive's name when there are several ('' otherwise)."""
        library = await self.libraries.resolve(archive, guild_id)
        scheduler = self.schedulers.get(library.name)
        if scheduler is None:
            raise QueryError("Weekly digests are posted by the Discord bot (newsbot run), not here.")
        return scheduler, library.name if self.libraries.several else ""
