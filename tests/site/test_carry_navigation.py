"""book/_ext/carry_pages.navigation: what pages show of each other, compared by text."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from sphinx.locale import _TranslationProxy

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "book" / "_ext"))
import carry_pages  # noqa: E402


def _env(index_title, objects=(("f", "f()", "function", "book/a", "f", 1),), title="A"):
    std = SimpleNamespace(labels={"genindex": ("genindex", "", index_title), "intro": ("book/a", "a", title)},
                          anonlabels={"genindex": ("genindex", "")}, get_objects=lambda: iter([]))
    py = SimpleNamespace(get_objects=lambda: iter(objects))
    domains = {"std": std, "py": py}
    return SimpleNamespace(found_docs={"book/a"}, titles={"book/a": title}, longtitles={"book/a": title},
                           tocs={"book/a": "toc"}, toctree_includes={}, domains=domains,
                           get_domain=lambda name: domains[name])


def test_a_lazy_translation_and_its_text_are_the_same_navigation():
    """Sphinx keeps a title as a lazy translation or as its text depending on import order
    (tools/build_site.preload imports the domains before the translator exists): the same
    navigation.  A changed title, label or reference target is a change."""
    proxy = _TranslationProxy("sphinx", "general", "Index")
    assert repr(proxy) != repr("Index")  # what the comparison used to see
    same = carry_pages.navigation(_env("Index"))
    assert carry_pages.navigation(_env(proxy)) == same
    assert carry_pages.navigation(_env("Index of terms")) != same
    assert carry_pages.navigation(_env("Index", title="B")) != same
    assert carry_pages.navigation(_env("Index", objects=(("g", "g()", "function", "book/a", "g", 1),))) != same
    assert carry_pages.navigation(_env("Index", objects=(("f", "f()", "function", "book/a", "f", 2),))) != same
