"""The README is a short map and docs/ holds the reference: every link lands, every setting is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_MAX_LINES = 250

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(page: Path) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a page, a repeated one numbered as GitHub does (`-1`, `-2`)."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(page):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(2))
            found.add(f"{base}-{seen[base]}" if base in seen else base)
            seen[base] = seen.get(base, 0) + 1
    return found


def links(page: Path) -> list[str]:
    """The page's relative links (external addresses left out)."""
    targets = (m.group(1) for line in prose_lines(page) for m in LINK.finditer(line))
    return [t for t in targets if not re.match(r"^[a-z]+:", t)]


def env_settings() -> list[str]:
    """Every setting's environment name, from .env.example (which tests/test_deploy.py keeps generated)."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE)


def table_names(page: Path) -> set[str]:
    """The `NAME`s in the first column of a page's settings tables, those headed `| variable |`."""
    names, in_settings = set(), False
    for line in prose_lines(page):
        if not line.startswith("|"):
            in_settings = False
        elif line.startswith("| variable |"):
            in_settings = True
        elif in_settings:
            names.update(re.findall(r"`([A-Z][A-Z0-9_]*)`", line.split("|")[1]))  # `A` / `B` and `A`, `B` count
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_lands_on_a_file_and_a_heading(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file.relative_to(ROOT) if file.is_relative_to(ROOT) else file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_readme_is_a_map_and_links_every_doc():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move reference text into docs/"
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in links(README)}
    assert not [d.name for d in DOCS if d not in linked], "README.md links every page of docs/"


def test_every_doc_starts_with_a_title_and_a_paragraph_saying_what_it_covers():
    for doc in DOCS:
        lines = doc.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("# ") and lines[1] == "", doc.name
        assert lines[2] and not lines[2].startswith(("#", "|", "-", "```")), f"{doc.name}: no opening paragraph"


def test_the_configuration_doc_lists_every_setting_and_only_settings():
    settings = set(env_settings())
    assert len(settings) > 30  # the parse found them
    documented = table_names(ROOT / "docs" / "configuration.md")
    assert not settings - documented, f"add to docs/configuration.md: {sorted(settings - documented)}"
    assert not documented - settings, f"not a setting: {sorted(documented - settings)}"


def test_the_readmes_short_table_names_only_real_settings():
    in_readme = table_names(README)
    assert len(in_readme) >= 5, "the README's configuration table"
    assert not in_readme - set(env_settings()), f"not a setting: {sorted(in_readme - set(env_settings()))}"
