"""A prose corpus: Debian package descriptions from the local APT lists (``apt-cache dumpavail``).

Nothing is downloaded at run time: the text comes from ``/var/lib/apt/lists`` as filled by ``apt-get update``.
``apt-cache dumpavail`` gives one RFC 822-style stanza per package (Package, Section, Priority, Installed-Size,
Maintainer, Description, ...). Since Debian 6 the ``Packages`` indexes carry only the one-line summary plus a
``Description-md5``; the long descriptions live in the ``Translation-en`` indexes, which apt fetches unless
``Acquire::Languages`` is ``none`` (the Docker images' default). When those indexes are present locally they
are joined in by ``Description-md5``; when not, ``description`` falls back to the summary and a note says so.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson

MAPPING: dict[str, Any] = {
    "properties": {
        "name": {"type": "keyword"},
        "section": {"type": "keyword"},
        "priority": {"type": "keyword"},
        "installed_size": {"type": "long"},
        "maintainer": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "summary": {"type": "text"},
        "description": {"type": "text"},
    }
}

# Words too common (or too content-free) to be realistic query words.
STOPWORDS = frozenset(
    """a about above after all also an and any are as at be been being but by can could do does for from has have
    he her his how i if in into is it its may more most must no not of on or other our over she should so some
    such than that the their them then there these they this those through to too under up use used uses using
    very was we were what when where which while who will with within without would you your one two etc eg ie
    package packages provides provide provided contains contain includes include including support supports
    based allows allow files file version versions new many well like only both each just way make makes""".split()
)
_TOKEN = re.compile(r"[a-z0-9]+")
_WORD = re.compile(r"[a-z]{4,}")


def _run(argv: list[str], timeout: float = 180.0) -> bytes:
    try:
        return subprocess.run(argv, capture_output=True, timeout=timeout, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return b""


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    """RFC 822-style paragraphs: ``Field: value`` with continuation lines (leading space) kept verbatim."""
    fields: dict[str, str] = {}
    key = None
    for line in text.split("\n"):
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t":
            if key is not None:
                fields[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields:
        yield fields


def _split_description(value: str) -> tuple[str, str]:
    """``Description`` value → (summary, long description); `` .`` lines are paragraph breaks."""
    first, _, rest = value.partition("\n")
    paras: list[list[str]] = [[]]
    for line in rest.split("\n"):
        body = line[1:] if line.startswith(" ") else line
        if body.strip() == ".":
            paras.append([])
        elif body.strip():
            paras[-1].append(body.rstrip())
    return first.strip(), "\n\n".join("\n".join(p) for p in paras if p)


def _read_index(path: str) -> str:
    """A (possibly compressed) APT list file as text: apt-helper understands every compression apt uses."""
    helper = "/usr/lib/apt/apt-helper"
    if Path(helper).exists():
        out = _run([helper, "cat-file", path])
        if out:
            return out.decode("utf-8", errors="replace")
    openers: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".xz": lzma.open, ".bz2": bz2.open}
    opener = openers.get(Path(path).suffix)
    try:
        if opener is not None:
            with opener(path, "rb") as f:
                return f.read().decode("utf-8", errors="replace")
        if Path(path).suffix in ("", ".txt"):
            return Path(path).read_text(errors="replace")
    except OSError:
        pass
    return ""


def _translations() -> tuple[dict[str, str], list[str]]:
    """Long English descriptions by ``Description-md5`` from the local ``Translation-en`` indexes."""
    if shutil.which("apt-get") is None:
        return {}, []
    out = _run(
        [
            "apt-get",
            "indextargets",
            "-o",
            "Acquire::Languages=en",
            "--format",
            "$(FILENAME)",
            "Created-By: Translations",
            "Language: en",
        ]
    )
    files = sorted({p for p in out.decode(errors="replace").split() if Path(p).exists()})
    long_by_md5: dict[str, str] = {}
    used = []
    for path in files:
        text = _read_index(path)
        if not text:
            continue
        used.append(path)
        for st in _stanzas(text):
            md5, desc = st.get("Description-md5"), st.get("Description-en")
            if md5 and desc:
                long_by_md5.setdefault(md5, _split_description(desc)[1])
    return long_by_md5, used


@dataclass
class ProseCorpus:
    """Debian packages sorted by name (one document each) and the query parameters derived from them."""

    docs: list[dict[str, Any]] = field(default_factory=list)
    total_available: int = 0
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.docs)

    @classmethod
    def load(cls, limit: int | None = None) -> ProseCorpus:
        """Parse ``apt-cache dumpavail``; ``limit`` keeps an evenly spaced subset (still sorted by name)."""
        c = cls()
        if shutil.which("apt-cache") is None:
            c.notes.append("apt-cache is not installed")
            return c
        raw = _run(["apt-cache", "dumpavail"]).decode("utf-8", errors="replace")
        by_name: dict[str, dict[str, str]] = {}
        for st in _stanzas(raw):
            name = st.get("Package")
            if name and "Description" in st:
                by_name.setdefault(name, st)  # dumpavail lists each package once; keep the first if not
        if not by_name:
            c.notes.append("`apt-cache dumpavail` returned no packages (run `apt-get update` first)")
            return c
        long_by_md5, used = _translations()
        names = sorted(by_name)
        c.total_available = len(names)
        if limit is not None and limit < len(names):
            names = [names[i * len(names) // limit] for i in range(limit)]
        with_long = 0
        for name in names:
            st = by_name[name]
            summary, long = _split_description(st["Description"])
            if not long:
                long = long_by_md5.get(st.get("Description-md5", ""), "")
            if long:
                with_long += 1
            doc: dict[str, Any] = {
                "name": name,
                "section": st.get("Section", "unknown"),
                "priority": st.get("Priority", "optional"),
            }
            size = st.get("Installed-Size", "")
            if size.isdigit():
                doc["installed_size"] = int(size)
            doc.update(maintainer=st.get("Maintainer", ""), summary=summary, description=long or summary)
            c.docs.append(doc)
        c.source = "`apt-cache dumpavail`" + (
            f" + {len(used)} local Translation-en index(es) for the long descriptions" if used else ""
        )
        if with_long < len(c.docs) // 2:
            c.notes.append(
                f"only {with_long:,} of {len(c.docs):,} packages have a long description (no local Translation-en "
                "index; run `apt-get update -o Acquire::Languages=en` to get them): `description` falls back to "
                "the one-line summary"
            )
        return c

    # -- documents
    def bulk_bodies(self, index: str, batch: int = 1000) -> list[bytes]:
        action = orjson.dumps({"index": {"_index": index}})
        bodies = []
        for start in range(0, self.n, batch):
            parts: list[bytes] = []
            for d in self.docs[start : start + batch]:
                parts.append(action)
                parts.append(orjson.dumps(d))
            bodies.append(b"\n".join(parts) + b"\n")
        return bodies

    def tantivy_json(self) -> Iterator[str]:
        for d in self.docs:
            yield orjson.dumps({**d, "maintainer_raw": d["maintainer"]}).decode()

    def sqlite_rows(self) -> Iterator[tuple[Any, ...]]:
        for i, d in enumerate(self.docs):
            yield (
                i + 1,
                d["name"],
                d["section"],
                d["priority"],
                d.get("installed_size"),
                d["maintainer"],
                d["summary"],
                d["description"],
            )

    # -- query parameters
    def params(self) -> dict[str, Any]:
        """Query words picked deterministically from document frequencies in ``description``.

        Only plain ``[a-z]{4,}`` words that are not stop words are candidates, so every engine's tokenizer
        (ES standard, tantivy default, FTS5 unicode61) produces the same term. Ties break alphabetically.
        """
        n = self.n
        df: Counter[str] = Counter()
        bigrams: Counter[tuple[str, str]] = Counter()
        tokens_per_doc: list[set[str]] = []
        for d in self.docs:
            toks = _TOKEN.findall(d["description"].lower())
            words = {t for t in toks if _WORD.fullmatch(t) and t not in STOPWORDS}
            tokens_per_doc.append(words)
            df.update(words)
            seen: set[tuple[str, str]] = set()
            for a, b in pairwise(toks):
                if a not in STOPWORDS and b not in STOPWORDS and _WORD.fullmatch(a) and _WORD.fullmatch(b):
                    seen.add((a, b))
            bigrams.update(seen)

        def nearest(frac: float, pred: Any = lambda w: True) -> str:
            target = frac * n
            cands = [w for w in df if pred(w)]
            return min(cands, key=lambda w: (abs(df[w] - target), w))

        word = nearest(0.02)  # in ~2% of the descriptions: frequent, but far from a stop word
        co: Counter[str] = Counter()
        for words in tokens_per_doc:
            if word in words:
                co.update(w for w in words if w != word and 0.005 * n <= df[w] <= 0.03 * n)
        word2 = min(co, key=lambda w: (-co[w], w)) if co else nearest(0.01, lambda w: w != word)
        phrase = min(bigrams, key=lambda b: (-bigrams[b], b))
        long_word = nearest(0.01, lambda w: len(w) >= 8 and w not in (word, word2))
        sections: Counter[str] = Counter(
            d["section"] for d, words in zip(self.docs, tokens_per_doc, strict=True) if word in words
        )
        section = min(sections, key=lambda s: (-sections[s], s))
        return {
            "word": word,
            "word2": word2,
            "phrase": list(phrase),
            "prefix": long_word[:5],
            "section": section,
            "df": {
                "word": df[word],
                "word2": df[word2],
                "phrase_docs": bigrams[phrase],
                "prefix_of": long_word,
                "section_docs_with_word": sections[section],
            },
        }
