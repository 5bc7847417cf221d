"""Reading back what a PDF prints, for layout tests: characters with their boxes (pdfplumber), in mm
from the page's top left corner, and whether any two of them collide."""

import io

import numpy as np
import pdfplumber

MM = 25.4 / 72  # pdfplumber measures in points


def pages_chars(pdf_bytes: bytes) -> list[list[dict]]:
    """Per page, the characters set straight (not the draft watermark, which is rotated) with x0, x1, top,
    bottom in mm."""
    with pdfplumber.open(io.BytesIO(pdf_bytes)) as document:
        return [
            [
                {
                    "text": c["text"],
                    "x0": c["x0"] * MM,
                    "x1": c["x1"] * MM,
                    "top": c["top"] * MM,
                    "bottom": c["bottom"] * MM,
                }
                for c in page.chars
                if abs(c["matrix"][1]) < 1e-6 and abs(c["matrix"][2]) < 1e-6 and c["text"].strip()
            ]
            for page in document.pages
        ]


def page_text(chars: list[dict]) -> str:
    """The page's characters joined in reading order, lines by their top (enough for `in` checks)."""
    rows: dict[float, list[dict]] = {}
    for char in chars:
        rows.setdefault(round(char["top"], 1), []).append(char)
    return "\n".join("".join(c["text"] for c in sorted(row, key=lambda c: c["x0"])) for _, row in sorted(rows.items()))


def collisions(chars: list[dict], tolerance: float = 0.02) -> list[tuple[str, str]]:
    """Pairs of characters whose boxes overlap by more than `tolerance` mm both ways (neighbours in a word
    only touch)."""
    if not chars:
        return []
    x0, x1, top, bottom = (np.array([c[k] for c in chars]) for k in ("x0", "x1", "top", "bottom"))
    across = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    down = np.minimum(bottom[:, None], bottom[None, :]) - np.maximum(top[:, None], top[None, :])
    hits = np.argwhere(np.triu((across > tolerance) & (down > tolerance), k=1))
    return [(_context(chars, i), _context(chars, j)) for i, j in hits[:10]]


def _context(chars: list[dict], i: int) -> str:
    char = chars[i]
    same_line = [c for c in chars if abs(c["top"] - char["top"]) < 0.5 and abs(c["x0"] - char["x0"]) < 25]
    text = "".join(c["text"] for c in sorted(same_line, key=lambda c: c["x0"]))
    return f"{text!r} at ({char['x0']:.1f}, {char['top']:.1f}) mm"


def inside(chars: list[dict], x0: float, top: float, x1: float, bottom: float) -> list[dict]:
    """The characters whose box lies within the rectangle (mm)."""
    return [c for c in chars if c["x0"] >= x0 and c["x1"] <= x1 and c["top"] >= top and c["bottom"] <= bottom]


def touching(chars: list[dict], x0: float, top: float, x1: float, bottom: float) -> list[dict]:
    """The characters whose box meets the rectangle (mm)."""
    return [c for c in chars if c["x1"] > x0 and c["x0"] < x1 and c["bottom"] > top and c["top"] < bottom]
