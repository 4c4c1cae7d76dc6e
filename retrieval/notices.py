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
NO_ENTRIES_OF_ISSUE = N_("No entries of that issue {filters}.")
EMPTIED_BY_ONE = N_("No match {filters}; {n} matches without that filter.")
EMPTIED_BY_ONE_1 = N_("No match {filters}; 1 match without that filter.")
EMPTIED_BY_ALL = N_("No match {filters}; {n} matches without these filters.")
EMPTIED_BY_ALL_1 = N_("No match {filters}; 1 match without these filters.")
EMPTIED_ANYWAY = N_("No entries match that question, even without its filters.")
# Singular and plural are separate sentences, not ngettext: a notice is read back from its English text.
NOTICES = (LONG_QUESTION, NO_ISSUE_MATCH, NOTHING_TO_SEARCH, NO_ENTRIES, NO_ENTRIES_IN, EMPTY_QUERY,
           NO_ENTRIES_OF_ISSUE, EMPTIED_BY_ONE, EMPTIED_BY_ONE_1, EMPTIED_BY_ALL, EMPTIED_BY_ALL_1, EMPTIED_ANYWAY)
"""Every template; a notice is one of them or several joined by a space."""

FILTER_PHRASES = {"since": N_("since {since}"), "until": N_("until {until}"), "section": N_("in section {section}")}
"""A filter's fields in words (``{filters}`` above: some of them joined by a comma and a space)."""
REF_PHRASES = {"latest": N_("the latest issue"), "number": N_("issue #{number}"),
               "year_week": N_("week {week} of {year}"), "week": N_("week {week}"), "month": N_("month {month}"),
               "date": N_("the week of {date}"), "other": N_("that issue")}
"""An issue reference in words (``{ref}`` above), as :func:`retrieval.issuedir.describe_ref` writes it."""
DATE_REASONS = (N_("day is out of range for month"), N_("month must be in 1..12"), N_("year {year} is out of range"))
"""Why a typed date does not exist, in the standard library's words (``{reason}``: ``datetime.date``'s message)."""
PHRASES = (*DATE_REASONS, *FILTER_PHRASES.values(), *REF_PHRASES.values())  # the first that matches wins
"""Every phrase a notice's or an error's ``{filters}``, ``{ref}``, ``{what}`` or ``{reason}`` may hold."""
PHRASE_PARAMS = ("filters", "ref", "what", "reason")
