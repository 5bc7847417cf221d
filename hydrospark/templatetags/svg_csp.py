"""Inline SVG under a strict Content-Security-Policy (issue 10.18).

matplotlib writes `style="fill: #fff"` attributes and a `<style>` element into its SVG. A page whose policy
is `style-src 'self' 'nonce-…'` blocks both, and the charts inside the bill and anomaly pages would lose their
colours and fonts. `{{ svg|csp_svg:csp_nonce }}` moves each distinct style attribute into a class and their
rules into one `<style>` carrying the request's nonce (and gives the SVG's own `<style>` the nonce too).
Class names are a hash of the declarations, so two charts on one page can never disagree about a class.
"""

import functools
import hashlib
import re

from django import template
from django.utils.safestring import mark_safe

register = template.Library()

PLACEHOLDER = "\x00csp-nonce\x00"
TAG = re.compile(r"<([A-Za-z][\w:.-]*)(\s[^<>]*?)?(/?)>")
STYLE_ATTR = re.compile(r'\sstyle="([^"]*)"')
CLASS_ATTR = re.compile(r'\sclass="([^"]*)"')


@register.filter
def csp_svg(svg, nonce) -> str:
    """The SVG with its styles allowed by the page's nonce; unchanged where there is no nonce (emails)."""
    svg = str(svg or "")
    # Not `not nonce`: Django's LazyNonce is falsy until first used, and here is where it is first used.
    if nonce is None or nonce == "" or not svg:
        return mark_safe(svg)
    return mark_safe(_with_placeholder(svg).replace(PLACEHOLDER, str(nonce)))


@functools.lru_cache(maxsize=256)  # charts are cached and drawn the same way many times: convert each once
def _with_placeholder(svg: str) -> str:
    rules: dict[str, str] = {}
    converted = TAG.sub(lambda match: _tag(match, rules), svg)
    converted = converted.replace("<style", f'<style nonce="{PLACEHOLDER}"')
    if not rules:
        return converted
    sheet = "".join(f".{name}{{{declarations}}}" for declarations, name in rules.items())
    style = f'<style nonce="{PLACEHOLDER}">{sheet}</style>'
    end = converted.find(">", converted.find("<svg")) + 1  # right after the opening <svg …> tag
    return converted[:end] + style + converted[end:] if end > 0 else style + converted


def _tag(match: re.Match, rules: dict[str, str]) -> str:
    name, attrs, closing = match.group(1), match.group(2) or "", match.group(3)
    style = STYLE_ATTR.search(attrs)
    if style is None:
        return match.group(0)
    declarations = style.group(1).strip()
    css_class = rules.setdefault(declarations, "hs-s" + hashlib.sha1(declarations.encode()).hexdigest()[:10])
    attrs = STYLE_ATTR.sub("", attrs)
    if CLASS_ATTR.search(attrs):
        attrs = CLASS_ATTR.sub(lambda m: f' class="{m.group(1)} {css_class}"', attrs, count=1)
    else:
        attrs += f' class="{css_class}"'
    return f"<{name}{attrs}{closing}>"
