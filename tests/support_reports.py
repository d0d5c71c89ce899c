"""Helpers for the report tests: a page's visible words, and the English left on a French page."""

from __future__ import annotations

import html
import re

from reports import i18n


def visible_text(page: str) -> str:
    """What a reader sees of an HTML page: no style, no image data, no quoted file words, no tags."""
    page = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    page = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    page = re.sub(r"<q>.*?</q>", "", page, flags=re.S)  # the files' own words, quoted as such
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(page)


def english_fragments(text: str) -> list[tuple[str, str]]:
    """(key, fragment) of every English text of the report's tables (5 characters or more, not
    also French) that stands as words in ``text``: a French page must hold none."""
    found = []
    for table in (i18n.TEXT, i18n.SECTORS, i18n.REASONS, i18n.PROFILE_STATES, i18n.ROUTES):
        for key, en in table["en"].items():
            fr = table["fr"].get(key, "")
            for fragment in (f.strip() for f in re.split(r"\{[^}]*\}", en)):
                if len(fragment) >= 5 and fragment not in fr and re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", text):
                    found.append((key, fragment))
    return found
