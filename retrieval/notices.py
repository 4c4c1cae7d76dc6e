"""What a search says besides its hits (``SearchResult.notice``), as message templates.

The engine fills them in English; a surface that answers in another language recognises each sentence of a
notice by its template and translates it (:meth:`bot.i18n.Lang.notice`), so the cached and the fresh answer read
the same. Kept apart from :mod:`retrieval.search` so that reading them loads no search machinery.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for the catalogs (``bot/i18n``)."""
    return message


LONG_QUESTION = N_("Your question was long, so only its first {chars} characters were searched.")
NO_ISSUE_MATCH = N_("No issue matches {ref}, so all issues were searched.")
NOTHING_TO_SEARCH = N_("Nothing to search for: the question has only common words, punctuation or symbols. "
                       "Try a topic, a method or a paper name.")
NO_ENTRIES = N_("No entries match that question.")
NO_ENTRIES_IN = N_("No entries in {issue} match that question.")
EMPTY_QUERY = N_("Ask a question, e.g. “ViT 鲁棒性” or “papers about tabular data”.")

NOTICES = (LONG_QUESTION, NO_ISSUE_MATCH, NOTHING_TO_SEARCH, NO_ENTRIES, NO_ENTRIES_IN, EMPTY_QUERY)
"""Every template; a notice is one of them or several joined by a space."""
