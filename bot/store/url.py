"""Reading ``storage.url``: which driver it names, and how to show it without its password. Pure."""

from __future__ import annotations


def is_postgres_url(url: str) -> bool:
    """
    >>> is_postgres_url("postgresql://bot@db/newsbot"), is_postgres_url("postgres://db"), is_postgres_url("a.db")
    (True, True, False)
    """
    return url.startswith(("postgresql://", "postgres://"))


def describe_url(url: str) -> str:
    """The store's address for logs and messages: never the password.

    >>> describe_url("postgresql://bot:s3cret@db.internal:5432/newsbot")
    'postgresql://bot@db.internal:5432/newsbot'
    >>> describe_url("/var/lib/newsbot/state.sqlite3")
    'sqlite:/var/lib/newsbot/state.sqlite3'
    """
    if not is_postgres_url(url):
        return f"sqlite:{url}"
    scheme, _, rest = url.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}{at}{hostpart}"
