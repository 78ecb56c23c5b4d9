"""The desk's first load carries neither the flow builder nor the dashboard's charts: both
are split into chunks that the browser fetches only on their routes (issue 19's "the desk's
first load does not grow by it").

The built app's entry script and every chunk it imports statically (what a browser loads
before the desk shows) are searched for markers of React Flow and Recharts; the chunks
loaded on demand must hold them, so a wrong marker fails too."""

from __future__ import annotations

import re
from pathlib import Path

from .test_ui_desk import built_app  # noqa: F401 (a fixture)

#: Class names each library writes into the DOM, so minification keeps them.
MARKERS = {"React Flow": "react-flow__", "Recharts": "recharts-"}
_ENTRY = re.compile(r'<script type="module"[^>]*\bsrc="/assets/([^"]+)"')
_PRELOAD = re.compile(r'<link rel="modulepreload"[^>]*\bhref="/assets/([^"]+)"')
# A static import names its chunk after `from` (or bare `import"..."`); a lazy one is a call.
_STATIC_IMPORT = re.compile(r'(?:\bfrom|\bimport)\s*"\./([^"]+\.js)"')


def first_load(app: Path) -> set[str]:
    """The scripts a browser loads to show the desk: the entry and its static imports."""
    html = (app / "index.html").read_text()
    pending = _ENTRY.findall(html) + _PRELOAD.findall(html)
    assert pending, "index.html names no entry script"
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(_STATIC_IMPORT.findall((app / "assets" / name).read_text()))
    return seen


def test_the_desk_loads_without_the_builder_and_the_charts(built_app: Path) -> None:  # noqa: F811
    loaded = first_load(built_app)
    every = {p.name for p in (built_app / "assets").glob("*.js")}
    assert loaded < every, "nothing is split from the first load"
    for library, marker in MARKERS.items():
        carriers = {n for n in every if marker in (built_app / "assets" / n).read_text()}
        assert carriers, f"no chunk holds {library} ({marker!r}): is it still used?"
        assert not carriers & loaded, f"{library} is in the desk's first load: {carriers & loaded}"
