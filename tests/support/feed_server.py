"""A real HTTP feed server on 127.0.0.1 (aiohttp) for the feed tests, and feeds built from the sample archive.

It serves RSS 2.0 or Atom documents with ETag and Last-Modified, answers 304 to a matching conditional GET,
and can be told to misbehave per path: a status (404, 410, 500, 503 with Retry-After), a slow answer, an
oversized body, a redirect loop, malformed XML or a wrong content type. Every request is logged.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self
from xml.sax.saxutils import escape

import markdown
from aiohttp import web

SAMPLE = Path(__file__).resolve().parents[2] / "retrieval" / "sample_archive"


@dataclass(frozen=True, slots=True)
class Item:
    guid: str | None
    title: str
    link: str | None
    html: str


@dataclass(frozen=True, slots=True)
class Logged:
    method: str
    path: str
    status: int
    if_none_match: str | None
    if_modified_since: str | None
    user_agent: str | None = None

    def __str__(self) -> str:
        cond = []
        if self.if_none_match:
            cond.append(f"If-None-Match: {self.if_none_match}")
        if self.if_modified_since:
            cond.append(f"If-Modified-Since: {self.if_modified_since}")
        return f"{self.method} {self.path} -> {self.status}" + (f"  ({'; '.join(cond)})" if cond else "")


@dataclass
class _Doc:
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    max_age: int | None


@dataclass
class _Fault:
    kind: str
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)


def sample_items(names: Iterable[str] | None = None) -> list[Item]:
    """Sample archive issues as feed items: title and 原文 link from the head, the body rendered to HTML
    with the ``markdown`` package, as a publication's feed would carry it."""
    out = []
    for path in sorted(SAMPLE.glob("*.md")):
        if names is not None and path.stem not in names:
            continue
        out.append(item_from_markdown(path.read_text(encoding="utf-8")))
    return out


def item_from_markdown(text: str, guid: str | None = None) -> Item:
    lines = text.splitlines()
    title = lines[0].removeprefix("# ").strip()
    m = re.search(r"原文：<([^>]+)>", text)
    assert m, "a sample issue has a 原文 line"
    body = "\n".join(line for line in lines[1:] if "原文：" not in line)
    return Item(guid=guid or m.group(1), title=title, link=m.group(1), html=markdown.markdown(body))


def rss(items: Iterable[Item], title: str = "Akira's ML News (test)") -> bytes:
    parts = [f"<?xml version='1.0' encoding='utf-8'?>\n<rss version='2.0' "
             f"xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel><title>{escape(title)}</title>"
             "<link>https://example.org/</link><description>test feed</description>"]
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{escape(it.title)}</title>")
        if it.guid:
            parts.append(f"<guid isPermaLink='false'>{escape(it.guid)}</guid>")
        if it.link:
            parts.append(f"<link>{escape(it.link)}</link>")
        parts.append(f"<content:encoded><![CDATA[{it.html}]]></content:encoded>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def atom(items: Iterable[Item], title: str = "Akira's ML News (test)") -> bytes:
    parts = ["<?xml version='1.0' encoding='utf-8'?>\n<feed xmlns='http://www.w3.org/2005/Atom'>",
             f"<title>{escape(title)}</title><id>urn:test:feed</id><updated>2021-04-01T00:00:00Z</updated>"]
    for it in items:
        parts.append("<entry>")
        parts.append(f"<title>{escape(it.title)}</title>")
        if it.guid:
            parts.append(f"<id>{escape(it.guid)}</id>")
        if it.link:
            parts.append(f"<link rel='alternate' href='{escape(it.link, {chr(39): '&apos;'})}'/>")
        parts.append("<updated>2021-04-01T00:00:00Z</updated>")
        parts.append(f"<content type='html'>{escape(it.html)}</content>")
        parts.append("</entry>")
    parts.append("</feed>")
    return "".join(parts).encode("utf-8")


class FeedServer:
    """``async with FeedServer() as server: server.publish("/rss", rss(items)); server.url("/rss")``."""

    def __init__(self) -> None:
        self.log: list[Logged] = []
        self._docs: dict[str, _Doc] = {}
        self._faults: dict[str, _Fault] = {}
        self._version = 0
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()  # slow handlers end now, so shutdown never waits on them
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def publish(self, path: str, body: bytes, *, content_type: str = "application/rss+xml; charset=utf-8",
                max_age: int | None = None) -> None:
        """Serve ``body`` at ``path`` with a new ETag and Last-Modified (unless the body is unchanged)."""
        old = self._docs.get(path)
        if old is not None and old.body == body:
            return
        self._version += 1
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        # One second later per version: Last-Modified has second resolution.
        modified = email.utils.formatdate(1_600_000_000 + self._version, usegmt=True)
        self._docs[path] = _Doc(body, content_type, etag, modified, max_age)
        self._faults.pop(path, None)

    def fail(self, path: str, kind: str, *, status: int = 500, headers: dict[str, str] | None = None) -> None:
        """``kind``: ``status`` (answer ``status``), ``slow`` (never answer until shutdown), ``oversized``
        (an endless body), ``redirect-loop``, ``malformed`` (broken XML), ``html`` (a text/html page)."""
        self._faults[path] = _Fault(kind, status, headers or {})

    def heal(self, path: str) -> None:
        self._faults.pop(path, None)

    def requests(self, path: str) -> list[Logged]:
        return [r for r in self.log if r.path == path]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        inm, ims = request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
        response = await self._answer(request, path, inm, ims)
        self.log.append(Logged(request.method, path, response.status, inm, ims, request.headers.get("User-Agent")))
        return response

    async def _answer(self, request: web.Request, path: str, inm: str | None,
                      ims: str | None) -> web.StreamResponse:
        fault = self._faults.get(path)
        if fault is not None:
            if fault.kind == "status":
                return web.Response(status=fault.status, text=f"error {fault.status}", headers=fault.headers)
            if fault.kind == "slow":
                await self._release.wait()
                return web.Response(status=503)
            if fault.kind == "redirect-loop":
                return web.Response(status=302, headers={"Location": path})
            if fault.kind == "malformed":
                return web.Response(body=b"<?xml version='1.0'?><rss version='2.0'><channel><item><title>cut",
                                    content_type="application/rss+xml")
            if fault.kind == "html":
                return web.Response(text="<html><body>Moved to our new site</body></html>", content_type="text/html")
            if fault.kind == "oversized":
                resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
                await resp.prepare(request)
                chunk = b"<!-- padding -->" * 4096
                try:
                    while not self._release.is_set():
                        await resp.write(chunk)  # no Content-Length: the cap must hold while reading
                except (ConnectionResetError, RuntimeError):
                    pass  # the client hung up at its size cap
                return resp
        doc = self._docs.get(path)
        if doc is None:
            return web.Response(status=404, text="no such feed")
        headers = {"ETag": doc.etag, "Last-Modified": doc.last_modified}
        if doc.max_age is not None:
            headers["Cache-Control"] = f"max-age={doc.max_age}"
        if (inm is not None and inm == doc.etag) or (inm is None and ims is not None and ims == doc.last_modified):
            return web.Response(status=304, headers=headers)
        return web.Response(body=doc.body, headers={**headers, "Content-Type": doc.content_type})
