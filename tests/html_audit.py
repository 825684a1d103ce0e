"""Parse HTML and say what a hostile string could have injected: elements, on* attributes,
javascript: URLs; compared with the same page built from harmless strings of the same shape."""
from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

# no whitespace inside, so whitespace tokenizers keep each one whole as a token
HOSTILE = ("<script>alert(1)</script>", "<img/src=x/onerror=alert(2)>",
           '"><svg/onload=alert(3)>', "'onmouseover='alert(4)", "</textarea><b>5</b>")
BENIGN = ("harmless-1", "harmless-2", "harmless-3", "harmless-4", "harmless-5")


class Audit(HTMLParser):
    """Start tags by name, on* attributes, javascript: URLs and the visible text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.handlers: list[tuple[str, str]] = []
        self.js_urls: list[str] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.handlers.append((tag, name))
            if value and value.strip().lower().startswith("javascript:"):
                self.js_urls.append(value)

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    @property
    def visible(self) -> str:
        return "".join(self.text)


def twin(text: str) -> str:
    """`text` with every hostile string replaced by its harmless twin."""
    for bad, good in zip(HOSTILE, BENIGN, strict=True):
        text = text.replace(bad, good)
    return text


def assert_nothing_injected(hostile_html: str, benign_html: str, shown: tuple[str, ...] = HOSTILE
                            ) -> Audit:
    """The hostile page has exactly the elements of its harmless twin, no on* handler and no
    javascript: URL, and every string in `shown` is there as visible text (escaped, not lost)."""
    bad, good = Audit(hostile_html), Audit(benign_html)
    assert not bad.handlers, bad.handlers
    assert not bad.js_urls, bad.js_urls
    assert bad.tags == good.tags, (bad.tags - good.tags, good.tags - bad.tags)
    for s in shown:
        assert s in bad.visible, f"{s!r} is not shown as text"
    return bad
