"""Feed URLs lose their secrets (user-info, query values, fragments) and keep what names the feed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.redact import redact_url, redact_urls

CASES = [
    ("https://user:pass@host/feed?token=abc", "https://***@host/feed?token=***"),
    ("https://user@host/feed", "https://***@host/feed"),
    ("https://u:p@ss@host:8443/a/b", "https://***@host:8443/a/b"),  # "@" inside the password
    ("https://host/feed?token=abc&page=2", "https://host/feed?token=***&page=***"),
    ("https://host/feed?abc123", "https://host/feed?***"),
    ("https://host/feed#access_token=xyz", "https://host/feed#***"),
    ("http://user:pw@[2001:db8::1]:8080/rss?key=k", "http://***@[2001:db8::1]:8080/rss?key=***"),
    ("http://[::1]/rss", "http://[::1]/rss"),
    ("https://medium.com/feed/@akira", "https://medium.com/feed/@akira"),
    ("https://host/feed", "https://host/feed"),
    ("https://host/feed?", "https://host/feed"),
    ("file:///srv/a.xml", "file:///srv/a.xml"),
]


@pytest.mark.parametrize(("raw", "shown"), CASES)
def test_redact_url_table(raw: str, shown: str) -> None:
    assert redact_url(raw) == shown
    assert redact_url(shown) == shown  # idempotent: a redacted URL is never redacted twice into something else


SECRET = st.text(alphabet="QWXZ0123456789_~!$()*+,;-.", min_size=4, max_size=20)


@given(user=SECRET, password=SECRET, token=SECRET, fragment=SECRET,
       host=st.sampled_from(["example.org", "example.org:8443", "[2001:db8::7]", "[::1]:80"]))
def test_no_secret_survives(user: str, password: str, token: str, fragment: str, host: str) -> None:
    raw = f"https://{user}:{password}@{host}/feed/path?token={token}&x=1#{fragment}"
    shown = redact_url(raw)
    for secret in (user, password, token, fragment):
        assert secret not in shown
    assert shown == f"https://***@{host}/feed/path?token=***&x=***#***"
    # In a sentence, trailing punctuation is read as the sentence's, so at most that is left outside the mask.
    in_text = redact_urls(f"fetch {raw} failed")
    for secret in (user, password, token, fragment):
        core = secret.rstrip(",.;:)]")
        assert len(core) < 2 or core not in in_text
