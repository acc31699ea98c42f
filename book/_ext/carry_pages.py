"""Sphinx extension: write only the pages that changed, into an empty output folder.

``tools/build_site.py`` builds into an empty folder so that no file of an earlier build is
published.  Writing every page again from its parsed document takes 3-4 s on two cores for
today's book (minutes for a thousand study chapters), most of a rebuild after one study changed.
When the build script names the previous site in ``review_carry_from`` (it does so only when
the parsed documents of that build are reused: same configuration, pages, extensions, templates
and static files, :func:`tools.build_site.doctree_key`), this extension:

1. **carries** into the new folder, before anything is written, what Sphinx's own incremental
   HTML build keeps from the last build: each page ``<doc>.html``, its source copy under
   ``_sources/``, the images under ``_images/``, ``searchindex.js`` (Sphinx loads it and
   replaces the entries of the pages it writes) and ``.buildinfo`` -- each with its
   modification time, which Sphinx compares with the page's source to find the pages to write;
2. **marks every page for writing when anything a page shows of other pages changed**
   (``env-get-updated``): the titles and sections of every page (the navigation sidebar,
   previous/next links and the local tables of contents), the table of contents' structure,
   the cross-reference targets of every domain with their titles, numbered equations, and the
   citations with their formatted labels and entries.  Sphinx does not rewrite other pages when a page's title changes; the
   configuration, the footer (theme options) and the templates it does follow itself;
3. **does not write again the pages Sphinx adds only for their tables of contents** -- the root
   page, and every page whose table of contents includes a page that was read again -- when
   nothing of point 2 changed: they are then the bytes carried (``prepare_writing``; a page
   read again, or whose carried copy is missing or older than its source, is always written);
4. **removes** after the build every carried file this build would not have written: a page or
   source copy of a document that is no longer in the book, an image no page uses.

So the published folder holds exactly the files of a build from empty, the same bytes
(``tests/site/test_carry_pages.py`` compares them; ``make check-deterministic`` builds from
empty).
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

CONFIG = "review_carry_from"
#: files of the output folder that are not pages but are carried (always rewritten by Sphinx)
ALWAYS = (".buildinfo", "searchindex.js")
#: folders of per-page files that are carried whole (pruned at the end)
FOLDERS = ("_sources", "_images")


def text(rows) -> list[str]:
    """Each row (a tuple, possibly nested) as the text of its fields.

    Compared by text, not ``repr``: Sphinx keeps some titles as lazy translations
    (``sphinx.locale._TranslationProxy``, whose ``repr`` is ``i'Index'``) or as the translated
    ``str`` depending on whether the module defining them was imported before or after the
    translator was set up -- the same title, which must not look like a change of navigation
    (it made every page be written again after ``build_site.preload``).
    """
    def flat(value) -> str:
        if isinstance(value, (tuple, list)):
            return "(" + ", ".join(flat(v) for v in value) + ")"
        return repr(value) if isinstance(value, (int, float, type(None))) else repr(str(value))

    return [flat(row) for row in rows]


def navigation(env) -> str:
    """SHA-256 of what a page shows of the other pages (module docstring, point 2)."""
    h = hashlib.sha256()

    def add(*parts) -> None:
        for part in parts:
            h.update(str(part).encode("utf-8", "surrogateescape") + b"\0")

    for doc in sorted(env.found_docs):
        add("doc", doc, env.titles.get(doc, ""), env.longtitles.get(doc, ""), env.tocs.get(doc, ""),
            env.toctree_includes.get(doc, []))
    std = env.get_domain("std")
    add("labels", sorted(text(std.labels.items())), sorted(text(std.anonlabels.items())))
    for name, domain in sorted(env.domains.items()):  # every other reference target, in every domain
        add("objects", name, sorted(text(domain.get_objects())))
    if "math" in env.domains:  # numbered equations are not among the math domain's objects
        add("equations", sorted(text(env.get_domain("math").data.get("objects", {}).items())))
    if "cite" in env.domains:
        for c in env.get_domain("cite").citations:
            # str() of pybtex's rich text is its plain text (render_as looks plugins up: 25 ms a call)
            add("citation", c.key, c.citation_id, c.bibliography_key, c.formatted_entry.label,
                c.formatted_entry.text, c.tooltip_entry.text if c.tooltip_entry is not None else "")
    return h.hexdigest()


def _before_read(app, env, docnames) -> None:
    app.review_read = set(docnames)


def _updated(app, env):
    """Every page, when what pages show of each other changed since the last build."""
    now = navigation(env)
    before = getattr(env, "review_navigation", None)
    env.review_navigation = now  # pickled with the environment after this event
    app.review_same_navigation = before == now
    if before == now:
        return []
    return sorted(env.found_docs)


def _only_changed(app) -> None:
    """Point 3 of the module docstring: wrap the builder's ``prepare_writing``, which Sphinx calls
    with the set of pages it is about to write (and then writes that same set)."""
    builder = app.builder
    prepare = builder.prepare_writing

    def prepare_writing(docnames: set[str]) -> None:
        if getattr(app, "review_same_navigation", False) and getattr(app, "review_carried", None):
            needed = getattr(app, "review_read", set()) | set(builder.get_outdated_docs())
            skip = {d for d in docnames if d not in needed and Path(builder.get_outfilename(d)).is_file()}
            if skip and skip != docnames:  # Sphinx writes at least one page (the first warms its templates)
                docnames -= skip
        return prepare(docnames)

    builder.prepare_writing = prepare_writing


def _source_name(app, doc: str) -> str:
    """The name of the page's source copy under ``_sources/`` (as StandaloneHTMLBuilder.get_doc_context)."""
    suffix = str(app.env.doc2path(doc, False))[len(doc):]
    suffix_link = app.config.html_sourcelink_suffix
    return doc + suffix + (suffix_link if suffix != suffix_link else "")


def _carry(app) -> None:
    source = app.config[CONFIG]
    app.review_carried = []
    if not source or app.builder.format != "html":
        return
    source, out = Path(source), Path(app.outdir)
    names = [*ALWAYS, *(os.path.relpath(app.builder.get_outfilename(doc), out) for doc in sorted(app.env.all_docs))]
    for folder in FOLDERS:
        if (source / folder).is_dir():
            names += [p.relative_to(source).as_posix() for p in sorted((source / folder).rglob("*")) if p.is_file()]
    for name in names:
        src = source / name
        if src.is_file():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, out / name)  # with its modification time
            app.review_carried.append(name)


def _prune(app, exception) -> None:
    carried = getattr(app, "review_carried", None)
    if exception is not None or not carried:
        return
    out, env = Path(app.outdir), app.env
    keep = set(ALWAYS)
    for doc in env.found_docs:
        keep.add(os.path.relpath(app.builder.get_outfilename(doc), out))
        keep.add(f"_sources/{_source_name(app, doc)}")
    keep |= {f"{app.builder.imagedir}/{name}" for _docs, name in env.images.values()}
    for name in carried:
        if name not in keep:
            (out / name).unlink(missing_ok=True)


def setup(app):
    app.add_config_value(CONFIG, "", "")  # where the previous site is; changes no page
    app.connect("builder-inited", _carry)
    app.connect("builder-inited", _only_changed)
    app.connect("env-before-read-docs", _before_read)
    app.connect("env-get-updated", _updated)
    app.connect("build-finished", _prune, priority=100)  # before other extensions look at the folder
    return {"parallel_read_safe": True, "parallel_write_safe": True}
