"""The one registry of commands, read off the service's own methods.

A command is a method of the service (:class:`bot.commands.Newsbot`) marked with :func:`command`. Its name is
the method's name with ``-`` for ``_``; its parameters, their order, which are required and what kind each is
come from the method's signature; the decorator adds only what a signature cannot say (the descriptions, the
admin flag, the Discord group). Keyword-only parameters are the caller's context (the guild, the asker, the
poster), filled in by a surface, never typed by a person. So a spec and its method cannot disagree: a
description for a parameter the method lacks, or a parameter without one, fails at import.

The console parses and lists these specs, the Discord cogs take their names and descriptions from them, and
each surface's /help is drawn from them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, NewType, TypeVar

IssueRef = NewType("IssueRef", str)
"""A parameter that names an issue (``34``, ``week 13 2021``…): autocompleted on Discord."""
ChannelId = NewType("ChannelId", int)
"""A parameter that is a channel: a channel picker on Discord."""
RoleId = NewType("RoleId", int)
"""A parameter that is a role: a role picker on Discord."""
DateOrIssue = NewType("DateOrIssue", str)
"""A parameter that is a date (``2021-03-01``) or names an issue: issues autocompleted on Discord."""
SectionName = NewType("SectionName", str)
"""A parameter that names a section of the archive: autocompleted from the archive's sections on Discord."""
ArchiveName = NewType("ArchiveName", str)
"""A parameter that names one of the deployment's archives: autocompleted on Discord, ``archive:NAME`` on the
console. Only a deployment with several archives shows it (:meth:`CommandSpec.for_archives`)."""

ParamKind = Literal["text", "int", "issue", "channel", "role", "when", "section", "archive"]
_KINDS: Mapping[str, ParamKind] = {"str": "text", "int": "int", "IssueRef": "issue", "ChannelId": "channel",
                                   "RoleId": "role", "DateOrIssue": "when", "SectionName": "section",
                                   "ArchiveName": "archive"}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    description: str
    required: bool = False
    kind: ParamKind = "text"
    """``text``, ``int``, ``issue`` and ``archive`` (autocomplete on Discord), ``channel`` or ``role`` (Discord
    only), ``when`` (a date or an issue) or ``section`` (autocomplete on Discord)."""


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    description: str
    params: tuple[Param, ...] = ()
    admin: bool = False
    group: str | None = None
    """The Discord command group it sits in (``newsbot`` for admin commands), or None for a top-level one."""
    console: bool = True
    """Whether the console offers it (the digest settings need a Discord server)."""
    method: str = ""
    """The service method that runs it."""
    context: tuple[str, ...] = ()
    """Its keyword-only parameters: what the surface fills in (``guild_id``, ``operator``…)."""

    @property
    def per_archive(self) -> bool:
        """Whether it takes an archive option: it is about one archive of several."""
        return any(p.kind == "archive" for p in self.params)

    def for_archives(self, several: bool) -> CommandSpec:
        """As a deployment shows it: with one archive, without its archive option.

        >>> spec = CommandSpec("latest", "The newest issue.", (Param("archive", "Which archive", kind="archive"),))
        >>> spec.for_archives(False).usage, spec.for_archives(True).usage
        ('/latest', '/latest [archive]')
        """
        if several or not self.per_archive:
            return self
        return replace(self, params=tuple(p for p in self.params if p.kind != "archive"))

    @property
    def path(self) -> str:
        """The command as Discord lists it: ``ask`` or ``newsbot stats``."""
        return f"{self.group} {self.name}" if self.group else self.name

    @property
    def usage(self) -> str:
        """As the console writes it: ``/ask <question> [issue] [count]``."""
        return self._usage(self.name)

    @property
    def discord_usage(self) -> str:
        """As Discord writes it: ``/newsbot digest-on [channel]``."""
        return self._usage(self.path)

    def _usage(self, head: str) -> str:
        parts = [f"/{head}"]
        for p in self.params:
            parts.append(f"<{p.name}>" if p.required else f"[{p.name}]")
        return " ".join(parts)


@dataclass(frozen=True, slots=True)
class _Marks:
    description: str
    params: Mapping[str, str]
    admin: bool
    group: str | None
    console: bool


ADMIN_GROUP = "newsbot"
"""The Discord command group of the admin commands."""
ADMIN_GROUP_DESCRIPTION = "newsbot administration"

F = TypeVar("F", bound=Callable[..., Any])
_MARK = "__newsbot_command__"


def command(description: str, *, admin: bool = False, console: bool = True,
            **params: str) -> Callable[[F], F]:
    """Mark a service method as a command; ``params`` describe its parameters, by name.

    Admin commands sit in Discord's ``newsbot`` group; ``console=False`` keeps a command off the console
    (it needs a Discord server)."""
    marks = _Marks(description, params, admin, ADMIN_GROUP if admin else None, console)

    def mark(method: F) -> F:
        setattr(method, _MARK, marks)
        return method

    return mark


def spec_of(method: Callable[..., Any]) -> CommandSpec:
    """The spec of one marked method.

    >>> @command("Say hello.", name="Who to greet")
    ... async def greet_back(self, name: str, times: int | None = None, *, guild_id: int | None = None) -> None:
    ...     pass
    >>> spec_of(greet_back)
    Traceback (most recent call last):
    ...
    TypeError: greet_back: parameter 'times' has no description
    """
    marks: _Marks = getattr(method, _MARK)
    name = method.__name__
    signature = inspect.signature(method)
    params: list[Param] = []
    context: list[str] = []
    for p in list(signature.parameters.values())[1:]:  # after self
        if p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD:
            context.append(p.name)  # keyword-only: the surface's context, not typed by a person
            continue
        if p.name not in marks.params:
            raise TypeError(f"{name}: parameter {p.name!r} has no description")
        params.append(Param(p.name, marks.params[p.name], p.default is inspect.Parameter.empty,
                            _kind(name, p.name, p.annotation)))
    unknown = set(marks.params) - {p.name for p in params}
    if unknown:
        raise TypeError(f"{name}: described parameters it does not take: {', '.join(sorted(unknown))}")
    return CommandSpec(name.replace("_", "-"), marks.description, tuple(params), marks.admin, marks.group,
                       marks.console, name, tuple(context))


def _kind(command_name: str, param: str, annotation: object) -> ParamKind:
    """The parameter's kind from its annotation, written as a string (``from __future__ import annotations``).

    >>> _kind("ask", "count", "int | None"), _kind("ask", "issue", "IssueRef | None")
    ('int', 'issue')
    """
    base = str(annotation).removesuffix(" | None")
    if base not in _KINDS:
        raise TypeError(f"{command_name}: parameter {param!r} has type {annotation!r}; a command takes "
                        f"{', '.join(_KINDS)}")
    return _KINDS[base]


@dataclass(frozen=True, slots=True)
class MenuSpec:
    """A message command: an entry of a message's Apps menu (Discord's context menu) that runs a service method
    with that message's text. Not a slash command, so it is kept apart from :func:`collect`'s commands."""

    name: str
    """As Discord lists it in the menu (mixed case and spaces allowed, at most 32 characters)."""
    description: str
    """What it does, for people (Discord shows no description for a menu entry)."""
    method: str
    """The service method: it takes the message's text and keyword-only context (``user_id``)."""


_MENU_MARK = "__newsbot_message_menu__"


def message_menu(name: str, description: str) -> Callable[[F], F]:
    """Mark a service method as a message command named ``name`` (English; a translator localizes it).

    >>> @message_menu("Search the archive", "Search with a message's text.")
    ... async def search_message(self, text: str, *, user_id: int | None = None) -> None:
    ...     pass
    >>> collect_menus(type("S", (), {"search_message": search_message}))
    (MenuSpec(name='Search the archive', description="Search with a message's text.", method='search_message'),)
    """
    if not 1 <= len(name) <= 32:
        raise ValueError(f"a message command's name has 1 to 32 characters, not {len(name)}: {name!r}")

    def mark(method: F) -> F:
        params = [p for p in list(inspect.signature(method).parameters.values())[1:]
                  if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        if [p.name for p in params] != ["text"]:
            raise TypeError(f"{method.__name__}: a message command takes the message's text alone, then context")
        setattr(method, _MENU_MARK, MenuSpec(name, description, method.__name__))
        return method

    return mark


def _members(service: type) -> list[object]:
    """The methods of ``service`` and of the classes it is made of (its own first), each name once, in the order
    each class defines them."""
    seen: dict[str, object] = {}
    for klass in service.__mro__:
        for name, member in vars(klass).items():
            seen.setdefault(name, member)
    return list(seen.values())


def collect_menus(service: type) -> tuple[MenuSpec, ...]:
    """Every message command of ``service``, in the order the class defines them."""
    return tuple(getattr(member, _MENU_MARK) for member in _members(service)
                 if callable(member) and hasattr(member, _MENU_MARK))


def collect(service: type) -> tuple[CommandSpec, ...]:
    """Every command of ``service`` (and of the parts it is made of, after its own), in the order they are
    defined (the order /help lists them)."""
    return tuple(spec_of(member) for member in _members(service)
                 if callable(member) and hasattr(member, _MARK))
