"""Templates stay within the strict Content-Security-Policy (issue 10.18): a style="" attribute, an inline
handler or a script without the nonce would be refused by the browser, silently breaking the page.
Emails are not pages (no policy applies, and mail clients want inline styles)."""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = sorted(
    path for path in (Path(settings.BASE_DIR) / "templates").rglob("*.html") if "email" not in path.parts
)
REFUSED = {
    "a style attribute": re.compile(r"<[^>!]*\sstyle\s*=", re.S),
    "an inline event handler": re.compile(r"<[^>!]*\son[a-z]+\s*=", re.S),
    "a javascript: URL": re.compile(r"javascript:", re.I),
    "an inline script without the nonce": re.compile(
        r"<script(?![^>]*\b(?:src|nonce)=)(?![^>]*application/json)[^>]*>"
    ),
    "an inline SVG marked safe without the nonce filter": re.compile(r"svg\w*\|safe"),
}


def _without_comments(text: str) -> str:
    return re.sub(r"{% comment %}.*?{% endcomment %}|{#.*?#}", "", text, flags=re.S)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(settings.BASE_DIR)))
def test_the_template_needs_nothing_the_policy_refuses(path):
    text = _without_comments(path.read_text())
    found = [what for what, pattern in REFUSED.items() if pattern.search(text)]
    assert not found, f"{path.name} has {', '.join(found)}"
