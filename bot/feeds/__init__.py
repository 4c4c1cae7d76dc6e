"""Feed ingestion: RSS 2.0 / Atom items become markdown files in the archive folder.

* :mod:`bot.feeds.convert`: pure — feed bytes → items, an item → the markdown text of its archive file.
* :mod:`bot.feeds.fetch`: aiohttp with conditional GET, a timeout, a size cap and bounded redirects.
* :mod:`bot.store`: per-feed state (validators, failures, seen items) in the state database.
* :mod:`bot.feeds.identity`: which file is which issue, so an item never takes over or shadows another file.
* :mod:`bot.feeds.service`: one poll of every feed: fetch, write files atomically, back off, report.

The archive folder stays the one source of truth: a feed item is a file like any other, read by the
same loader and parser, so ``index``, ``repair`` and a restart see exactly what the poller wrote.
"""
