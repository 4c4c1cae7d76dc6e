"""Pure builders for the JSON that the fake Discord serves, and checks on the JSON it receives.

Nothing here does I/O or imports discord.py, so each piece can be pinned by a doctest. Field sets
follow what discord.py 2.7.1 reads with ``data[...]`` (a missing key there is a ``KeyError`` inside
the client, which surfaces as a silently dropped event rather than a test failure).
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (API topics/permissions). Kept as plain ints so the fake never needs discord.py.
ADMINISTRATOR = 1 << 3
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
MEMBER_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
)
BOT_PERMISSIONS = MEMBER_PERMISSIONS

# Message flags and limits (API resources/message.mdx).
EPHEMERAL = 1 << 6
LOADING = 1 << 7
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_CHOICES = 25


def snowflake(ms: int, increment: int = 0) -> int:
    """A Discord id for the Unix time ``ms`` (milliseconds).

    >>> snowflake(DISCORD_EPOCH_MS)
    0
    >>> snowflake(DISCORD_EPOCH_MS + 1, increment=5)
    4194309
    """
    return ((ms - DISCORD_EPOCH_MS) << 22) | (increment & 0xFFF)


def snowflake_ms(value: int) -> int:
    """The Unix time in milliseconds encoded in a snowflake.

    >>> snowflake_ms(snowflake(1_700_000_000_000, 7))
    1700000000000
    """
    return (value >> 22) + DISCORD_EPOCH_MS


def iso_timestamp(ms: int) -> str:
    """ISO-8601 with an explicit UTC offset, as Discord writes ``timestamp`` fields.

    >>> iso_timestamp(1_700_000_000_000)
    '2023-11-14T22:13:20+00:00'
    """
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


class SnowflakeFactory:
    """Unique, increasing ids that decode to "now", as discord.py checks message ages with them.

    >>> make = SnowflakeFactory()
    >>> a, b = make(), make()
    >>> b > a
    True
    """

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        candidate = snowflake(int(time.time() * 1000))
        self._last = max(candidate, self._last + 1)
        return self._last


@dataclass(frozen=True)
class FakeOverwrite:
    """A channel permission overwrite: ``type`` 0 for a role (the guild id is ``@everyone``), 1 for a member."""

    id: int
    type: int = 0
    allow: int = 0
    deny: int = 0

    def payload(self) -> JSON:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass(frozen=True)
class FakeChannel:
    """A guild channel served in GUILD_CREATE and by ``GET /channels/{id}``. discord.py computes the bot's
    permissions in it from the guild's roles and these ``overwrites``, as Discord does."""

    id: int
    name: str
    type: int = 0  # GUILD_TEXT
    position: int = 0
    topic: str | None = None
    overwrites: tuple[FakeOverwrite, ...] = ()

    def payload(self, guild_id: int) -> JSON:
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(guild_id),
            "name": self.name,
            "position": self.position,
            "permission_overwrites": [o.payload() for o in self.overwrites],
            "nsfw": False,
            "parent_id": None,
            "topic": self.topic,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
        }


@dataclass(frozen=True)
class FakeRole:
    id: int
    name: str
    permissions: int = 0
    position: int = 0
    managed: bool = False
    mentionable: bool = False

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
            "icon": None,
            "unicode_emoji": None,
        }


@dataclass(frozen=True)
class FakeGuild:
    """A guild the bot is in. ``roles`` should include ``@everyone`` (its id is the guild id)."""

    id: int
    name: str
    channels: tuple[FakeChannel, ...]
    roles: tuple[FakeRole, ...] = ()
    owner_id: int = 0
    preferred_locale: str = "en-US"
    """The server's primary language (Community settings): ``guild_locale`` of its interactions."""

    def channel(self, channel_id: int) -> FakeChannel | None:
        return next((c for c in self.channels if c.id == channel_id), None)


@dataclass(frozen=True)
class FakeUser:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> JSON:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


def member_payload(user: FakeUser, *, roles: Iterable[int] = (), permissions: int | None = None) -> JSON:
    """A guild member. ``flags`` is required: ``discord.Member.__init__`` reads ``data['flags']``.

    >>> m = member_payload(FakeUser(1, "ann"), permissions=8)
    >>> m["flags"], m["permissions"], m["roles"]
    (0, '8', [])
    """
    data: JSON = {
        "user": user.payload(),
        "roles": [str(r) for r in roles],
        "joined_at": iso_timestamp(DISCORD_EPOCH_MS),
        "flags": 0,
        "nick": None,
        "avatar": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "premium_since": None,
        "communication_disabled_until": None,
    }
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def guild_create_payload(guild: FakeGuild, bot_member: JSON) -> JSON:
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(guild.owner_id),
        "unavailable": False,
        "large": False,
        "member_count": 1,
        "joined_at": iso_timestamp(DISCORD_EPOCH_MS),
        "roles": [r.payload() for r in guild.roles],
        "channels": [c.payload(guild.id) for c in guild.channels],
        "members": [bot_member],
        "threads": [],
        "voice_states": [],
        "presences": [],
        "emojis": [],
        "stickers": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "features": [],
        "preferred_locale": guild.preferred_locale,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "premium_tier": 0,
        "afk_timeout": 300,
        "system_channel_id": None,
        "application_id": None,
        "description": None,
    }


@dataclass
class StoredMessage:
    """A message the fake holds; ``payload()`` renders it the way Discord returns it."""

    id: int
    channel_id: int
    guild_id: int | None
    author: JSON
    content: str = ""
    embeds: list[JSON] = field(default_factory=list)
    components: list[JSON] = field(default_factory=list)
    attachments: list[JSON] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    webhook_id: int | None = None
    application_id: int | None = None
    tts: bool = False
    edited_ms: int | None = None
    message_reference: JSON | None = None
    mention_users: list[int] = field(default_factory=list)
    """Who the content pings, as Discord computes it from the content and ``allowed_mentions``."""
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    thread: JSON | None = None
    """The thread started from this message, if any (Discord adds it to the message object)."""

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    def apply(self, body: Mapping[str, Any]) -> None:
        """Apply a create/edit body: keys present replace, absent keys keep (Discord's PATCH rule)."""
        if "content" in body:
            self.content = body["content"] or ""
        if "embeds" in body:
            self.embeds = list(body["embeds"] or [])
        if "components" in body:
            self.components = list(body["components"] or [])
        if "attachments" in body:
            self.attachments = [a for a in body["attachments"] or [] if "url" in a]
        if "tts" in body:
            self.tts = bool(body["tts"])

    def payload(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "channel_id": str(self.channel_id),
            "author": self.author,
            "content": self.content,
            "embeds": self.embeds,
            "components": self.components,
            "attachments": self.attachments,
            "timestamp": iso_timestamp(snowflake_ms(self.id)),
            "edited_timestamp": None if self.edited_ms is None else iso_timestamp(self.edited_ms),
            "flags": self.flags,
            "tts": self.tts,
            "mention_everyone": self.mention_everyone,
            "mentions": [_mentioned_user(u) for u in self.mention_users],
            "mention_roles": [str(r) for r in self.mention_roles],
            "pinned": False,
        }
        if self.thread is not None:
            data["thread"] = self.thread
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.message_reference is not None:
            data["message_reference"] = self.message_reference
        return data


MENTION_EVERYONE = 1 << 17
_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(?:everyone|here)\b")


def _mentioned_user(user_id: int) -> JSON:
    return {"id": str(user_id), "username": f"user{user_id}", "discriminator": "0", "global_name": None,
            "avatar": None, "public_flags": 0}


def allowed_mentions_errors(allowed: Mapping[str, Any] | None) -> list[str]:
    """Discord's 400s for ``allowed_mentions``.

    >>> allowed_mentions_errors({"parse": ["roles"], "roles": ["1"]})
    ['allowed_mentions: parse:["roles"] and roles:[ids] are mutually exclusive']
    >>> allowed_mentions_errors({"parse": [], "roles": ["1"]})
    []
    """
    if not allowed:
        return []
    errors = []
    parse = allowed.get("parse") or []
    for kind in ("roles", "users"):
        if kind in parse and allowed.get(kind):
            errors.append(f'allowed_mentions: parse:["{kind}"] and {kind}:[ids] are mutually exclusive')
    errors += [f"allowed_mentions.parse: {p!r} is not roles, users or everyone" for p in parse
               if p not in ("roles", "users", "everyone")]
    return errors


def compute_mentions(content: str, allowed: Mapping[str, Any] | None, roles: Mapping[int, FakeRole],
                     author_permissions: int) -> tuple[list[int], list[int], bool]:
    """``(users, roles, everyone)`` the message pings, as Discord decides: a mention in the *content* (embeds
    never ping) that ``allowed_mentions`` permits (no ``allowed_mentions`` permits every kind); a role only if
    it is mentionable or the author may mention everyone; ``@everyone``/``@here`` only with that permission.

    >>> roles = {5: FakeRole(5, "digest", mentionable=True), 6: FakeRole(6, "mods")}
    >>> compute_mentions("<@&5> <@&6> @everyone <@9>", {"parse": [], "roles": ["5"]}, roles, 0)
    ([], [5], False)
    >>> compute_mentions("<@&5> <@&6> @everyone <@9>", None, roles, MENTION_EVERYONE)
    ([9], [5, 6], True)
    >>> compute_mentions("<@&6>", {"parse": ["roles"]}, roles, 0)  # not mentionable, no permission
    ([], [], False)
    >>> compute_mentions("<@&7>", {"roles": ["7"]}, roles, MENTION_EVERYONE)  # no such role
    ([], [], False)
    """
    parse = set(allowed.get("parse") or ()) if allowed is not None else {"users", "roles", "everyone"}
    allowed_users = {int(u) for u in (allowed or {}).get("users") or ()}
    allowed_roles = {int(r) for r in (allowed or {}).get("roles") or ()}
    users = []
    for m in _USER_MENTION.finditer(content):
        uid = int(m.group(1))
        if ("users" in parse or uid in allowed_users) and uid not in users:
            users.append(uid)
    pinged_roles = []
    may_everyone = bool(author_permissions & MENTION_EVERYONE)
    for m in _ROLE_MENTION.finditer(content):
        rid = int(m.group(1))
        role = roles.get(rid)
        if role is None or rid in pinged_roles or not ("roles" in parse or rid in allowed_roles):
            continue
        if role.mentionable or may_everyone:
            pinged_roles.append(rid)
    everyone = "everyone" in parse and may_everyone and bool(_EVERYONE.search(content))
    return users, pinged_roles, everyone


def _embed_chars(embed: Mapping[str, Any]) -> int:
    fields = embed.get("fields") or []
    parts = [
        embed.get("title") or "",
        embed.get("description") or "",
        (embed.get("footer") or {}).get("text") or "",
        (embed.get("author") or {}).get("name") or "",
    ]
    parts += [(f.get("name") or "") + (f.get("value") or "") for f in fields]
    return sum(len(p) for p in parts)


def message_errors(body: Mapping[str, Any], *, create: bool) -> list[str]:
    """Reasons Discord would answer 400 (50035/50006) to a message body; empty if it is fine.

    >>> message_errors({"content": "hi"}, create=True)
    []
    >>> message_errors({"content": ""}, create=True)
    ['empty message']
    >>> message_errors({"content": "x" * 2001}, create=False)
    ['content: must be 2000 or fewer in length']
    >>> message_errors({"embeds": [{"description": "长" * 4097}]}, create=True)
    ['embeds.0.description: must be 4096 or fewer in length']
    """
    errors: list[str] = []
    content = body.get("content") or ""
    embeds: Sequence[Mapping[str, Any]] = body.get("embeds") or []
    if len(content) > MAX_CONTENT:
        errors.append(f"content: must be {MAX_CONTENT} or fewer in length")
    if len(embeds) > MAX_EMBEDS:
        errors.append(f"embeds: must be {MAX_EMBEDS} or fewer in length")
    limits = {"title": 256, "description": 4096}
    for index, embed in enumerate(embeds):
        for key, limit in limits.items():
            if len(embed.get(key) or "") > limit:
                errors.append(f"embeds.{index}.{key}: must be {limit} or fewer in length")
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors.append(f"embeds.{index}.fields: must be 25 or fewer in length")
        for number, item in enumerate(fields):
            if len(item.get("name") or "") > 256:
                errors.append(f"embeds.{index}.fields.{number}.name: must be 256 or fewer in length")
            if len(item.get("value") or "") > 1024:
                errors.append(f"embeds.{index}.fields.{number}.value: must be 1024 or fewer in length")
    if sum(_embed_chars(e) for e in embeds) > MAX_EMBED_TOTAL:
        errors.append(f"embeds: total must be {MAX_EMBED_TOTAL} or fewer characters")
    errors += component_errors(body.get("components") or [])
    has_payload = content or embeds or body.get("components") or body.get("sticker_ids") or body.get("poll")
    if create and not has_payload and not body.get("attachments"):
        errors.append("empty message")
    return errors


_BUTTON_URL = re.compile(r"^(?:https?|discord)://\S+$", re.IGNORECASE)


def component_errors(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Discord's 400s for action rows of buttons: at most 5 rows of 5; a link button (style 5) carries a url
    (http, https or discord, at most 512 characters) and no custom_id, any other button a custom_id; a label has
    at most 80 characters.

    >>> component_errors([{"type": 1, "components": [{"type": 2, "style": 5, "label": "x", "url": "javascript:1"}]}])
    ['components.0.components.0.url: scheme must be one of (http, https, discord)']
    >>> component_errors([{"type": 1, "components": [{"type": 2, "style": 5, "label": "x", "url": "https://a.org"}]}])
    []
    """
    errors: list[str] = []
    if len(rows) > 5:
        errors.append("components: must be 5 or fewer in length")
    for r, row in enumerate(rows):
        items = row.get("components") or []
        if len(items) > 5:
            errors.append(f"components.{r}.components: must be 5 or fewer in length")
        for i, item in enumerate(items):
            where = f"components.{r}.components.{i}"
            if item.get("type") != 2:
                continue
            if len(str(item.get("label") or "")) > 80:
                errors.append(f"{where}.label: must be 80 or fewer in length")
            if item.get("style") == 5:
                url = str(item.get("url") or "")
                if len(url) > 512:
                    errors.append(f"{where}.url: must be 512 or fewer in length")
                elif not _BUTTON_URL.match(url):
                    errors.append(f"{where}.url: scheme must be one of (http, https, discord)")
                if "custom_id" in item:
                    errors.append(f"{where}.custom_id: a link button cannot have a custom_id")
            elif not item.get("custom_id"):
                errors.append(f"{where}.custom_id: required")
    return errors


_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")
_MENU_NAME = re.compile(r"^[^\n\r]{1,32}$")
"""User and message commands (types 2 and 3): mixed case and spaces allowed."""


DISCORD_LOCALES = frozenset({
    "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl", "no", "pl", "pt-BR",
    "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
})
"""The locales Discord accepts as keys of ``name_localizations`` and ``description_localizations``."""


def valid_name(name: str, *, chat_input: bool = True) -> bool:
    """A command or option name as Discord accepts it: ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``
    (Python's ``re`` has no ``\\p``, so by Unicode category and script), and for a slash command lowercase
    wherever a letter has a lowercase form. CJK ideographs are letters (Lo), so ``提问`` is a name.

    >>> [valid_name(n) for n in ("ask", "feed-retry", "提问", "提問", "ไทย", "Ask", "two words", "a" * 33, "", "a.b")]
    [True, True, True, True, True, False, False, False, False, False]
    """
    if not 1 <= len(name) <= 32:
        return False
    for ch in name:
        category = unicodedata.category(ch)
        script = unicodedata.name(ch, "").split(" ")[0]
        if not (ch in "-_'" or category[0] in "LN" or script in ("DEVANAGARI", "THAI")):
            return False
    return not chat_input or name == name.lower()


def _bad(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def _localization_errors(item: Mapping[str, Any], *, chat_input: bool) -> dict[str, Any]:
    """Errors in an item's ``name_localizations`` and ``description_localizations``, keyed as Discord keys them."""
    problems: dict[str, Any] = {}
    for key, check in (("name_localizations", "name"), ("description_localizations", "description")):
        localized = item.get(key) or {}
        bad: dict[str, Any] = {}
        for locale, text in localized.items():
            if locale not in DISCORD_LOCALES:
                bad[locale] = _bad("LOCALE_INVALID", f"{locale!r} is not a Discord locale")
            elif check == "name" and not valid_name(str(text), chat_input=chat_input):
                bad[locale] = _bad("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
            elif check == "description" and not 1 <= len(str(text)) <= 100:
                bad[locale] = _bad("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if bad:
            problems[key] = bad
    return problems


def _option_errors(options: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Errors of options (and sub-options, and choices' localized names), checked as commands are."""
    errors: dict[str, Any] = {}
    names = [str(o.get("name", "")) for o in options]
    for index, option in enumerate(options):
        problems = _localization_errors(option, chat_input=True)
        if not valid_name(str(option.get("name", ""))):
            problems["name"] = _bad("APPLICATION_COMMAND_INVALID_NAME", "Bad name")
        if not 1 <= len(str(option.get("description", ""))) <= 100:
            problems["description"] = _bad("BASE_TYPE_BAD_LENGTH", "1-100")
        for locale in DISCORD_LOCALES:  # two options that read the same in one language cannot be told apart
            shown = [str((o.get("name_localizations") or {}).get(locale, n))
                     for o, n in zip(options, names, strict=True)]
            if shown.count(shown[index]) > 1:
                problems["name_localizations"] = _bad("APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", locale)
                break
        for c_index, choice in enumerate(option.get("choices") or []):
            for locale, text in (choice.get("name_localizations") or {}).items():
                if locale not in DISCORD_LOCALES or not 1 <= len(str(text)) <= 100:
                    problems.setdefault("choices", {})[str(c_index)] = _bad("BASE_TYPE_BAD_LENGTH", locale)
        nested = _option_errors(option.get("options") or [])
        if nested:
            problems["options"] = nested
        if problems:
            errors[str(index)] = problems
    return errors


def command_errors(commands: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Discord-shaped ``errors`` for a bulk-overwrite body ({} if valid), so discord.py's
    ``CommandSyncFailure`` can point at the offending command. Localized names and descriptions are checked
    as the defaults are, per locale.

    >>> command_errors([{"name": "ask", "description": "Ask", "type": 1, "name_localizations": {"zh-CN": "提问"}}])
    {}
    >>> sorted(command_errors([{"name": "Ask", "description": "", "type": 1}])["0"])
    ['description', 'name']
    >>> command_errors([{"name": "ask", "description": "Ask", "name_localizations": {"zh-CN": "提 问"}}])
    ... # doctest: +ELLIPSIS
    {'0': {'name_localizations': {'zh-CN': {'_errors': [{'code': 'APPLICATION_COMMAND_INVALID_NAME', ...}]}}}}
    """
    errors: dict[str, Any] = {}
    for index, command in enumerate(commands):
        name = str(command.get("name", ""))
        chat_input = command.get("type", 1) == 1
        problems = _localization_errors(command, chat_input=chat_input)
        menu = command.get("type") in (2, 3)
        if menu:
            if not _MENU_NAME.match(name) or name != name.strip():
                problems["name"] = {"_errors": [{"code": "APPLICATION_COMMAND_INVALID_NAME", "message": "Bad name"}]}
            if command.get("description"):
                problems["description"] = {"_errors": [{"code": "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                                                        "message": "Context menu commands cannot have description"}]}
            if command.get("options"):
                problems["options"] = {"_errors": [{"code": "APPLICATION_COMMAND_CONTEXT_MENU_OPTIONS",
                                                    "message": "Context menu commands cannot have options"}]}
        elif not valid_name(name, chat_input=chat_input):
            problems["name"] = _bad("APPLICATION_COMMAND_INVALID_NAME", "Bad name")
        description = str(command.get("description", ""))
        if chat_input and not 1 <= len(description) <= 100:
            problems["description"] = _bad("BASE_TYPE_BAD_LENGTH", "1-100")
        if len(command.get("options") or []) > 25:
            problems["options"] = _bad("BASE_TYPE_MAX_LENGTH", "25 or fewer")
        elif chat_input:
            nested = _option_errors(command.get("options") or [])
            if nested:
                problems["options"] = nested
        if problems:
            errors[str(index)] = problems
    return errors


def localized_names(command: Mapping[str, Any], locale: str) -> list[str]:
    """What a client in ``locale`` lists for a synced command: ``/提问 问题 期 数量`` as its name and options.

    >>> localized_names({"name": "ask", "name_localizations": {"zh-CN": "提问"},
    ...                  "options": [{"name": "question", "name_localizations": {"zh-CN": "问题"}}]}, "zh-CN")
    ['提问', '问题']
    """
    def shown(item: Mapping[str, Any]) -> str:
        return str((item.get("name_localizations") or {}).get(locale, item["name"]))

    return [shown(command), *(shown(o) for o in command.get("options") or [])]


def _infer_option_type(value: object) -> int:
    """Option type for a Python value when the synced schema does not say.

    >>> [_infer_option_type(v) for v in ("a", 1, True, 1.5)]
    [3, 4, 5, 10]
    """
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3


def interaction_options(
    path: Sequence[str],
    values: Mapping[str, object],
    schema: Sequence[Mapping[str, Any]] | None,
    *,
    focused: str | None = None,
) -> list[JSON]:
    """The ``data.options`` tree for ``/root *path`` with leaf ``values``.

    ``schema`` is the synced command's ``options``; option types come from it when present.

    >>> interaction_options([], {"question": "issue 12?"}, None)
    [{'name': 'question', 'type': 3, 'value': 'issue 12?'}]
    >>> opts = interaction_options(["admin", "send"], {"week": 3}, None)
    >>> opts[0]["type"], opts[0]["options"][0]["type"], opts[0]["options"][0]["options"]
    (2, 1, [{'name': 'week', 'type': 4, 'value': 3}])
    >>> interaction_options([], {"q": "机器"}, None, focused="q")
    [{'name': 'q', 'type': 3, 'value': '机器', 'focused': True}]
    """
    levels: list[tuple[str, int]] = []
    current = list(schema) if schema is not None else None
    for depth, part in enumerate(path):
        kind = 2 if depth == 0 and len(path) == 2 else 1
        if current is not None:
            match = next((o for o in current if o.get("name") == part), None)
            if match is None:
                raise KeyError(f"no subcommand {part!r} in the synced schema")
            kind = int(match.get("type", kind))
            current = list(match.get("options") or [])
        levels.append((part, kind))
    types = {str(o["name"]): int(o["type"]) for o in current or [] if "name" in o and "type" in o}
    leaves: list[JSON] = []
    for name, value in values.items():
        option: JSON = {"name": name, "type": types.get(name, _infer_option_type(value)), "value": value}
        if name == focused:
            option["focused"] = True
        leaves.append(option)
    options = leaves
    for part, kind in reversed(levels):
        options = [{"name": part, "type": kind, "options": options}]
    return options
