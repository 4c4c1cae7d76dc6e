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
from dataclasses import dataclass
from typing import Any, Literal, NewType, TypeVar

IssueRef = NewType("IssueRef", str)
"""A parameter that names an issue (``34``, ``week 13 2021``…): autocompleted on Discord."""
ChannelId = NewType("ChannelId", int)
"""A parameter that is a channel: a channel picker on Discord."""
RoleId = NewType("RoleId", int)
"""A parameter that is a role: a role picker on Discord."""

ParamKind = Literal["text", "int", "issue", "channel", "role"]
_KINDS: Mapping[str, ParamKind] = {"str": "text", "int": "int", "IssueRef": "issue", "ChannelId": "channel",
                                   "RoleId": "role"}


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    description: str
    required: bool = False
    kind: ParamKind = "text"
    """``text``, ``int``, ``issue`` (autocomplete on Discord), ``channel`` or ``role`` (Discord only)."""


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


def collect(service: type) -> tuple[CommandSpec, ...]:
    """Every command of ``service``, in the order the class defines them (the order /help lists them)."""
    return tuple(spec_of(member) for member in vars(service).values()
                 if callable(member) and hasattr(member, _MARK))
