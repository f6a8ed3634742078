"""Sphinx configuration of the member-anonymization documentation.

Build with ``make docs`` (HTML in ``docs/_build/html``); ``make test`` builds it
with warnings as errors. The pages are MyST Markdown; the API reference is
generated from the docstrings (Google style). Nothing is fetched from the
network while building.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The package is installed (editable) in the virtual environment; the source
# folder is added too so that a build from a bare checkout documents this tree.
sys.path.insert(0, str(ROOT / "src"))

from member_anonymization import __version__  # noqa: E402

project = "member-anonymization"
author = "member-anonymization contributors"
copyright = "member-anonymization contributors, MIT licensed"
release = __version__
version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
language = "en"

# MyST: `page.md#heading` links (GitHub's anchors), definition lists.
myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

# Code blocks: Python unless a block names its language.
highlight_language = "python3"
pygments_style = "sphinx"

# autodoc and napoleon: Google-style docstrings, members in source order.
autodoc_member_order = "bysource"
toc_object_entries_show_parents = "hide"
autodoc_typehints = "signature"
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
napoleon_attr_annotations = True

# Alabaster, bundled with Sphinx: no theme package, nothing fetched at build time.
html_theme = "alabaster"
html_title = f"member-anonymization {release}"
html_static_path: list[str] = []
html_theme_options = {
    "description": "GDPR erasure for gym and fitness-club software",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}


# Napoleon reads the first line of an attribute's docstring as "type: text",
# but the library's property and constant docstrings are prose with colons
# ("The ``format`` field of an export document: its name and version."), and
# their types come from the annotations. So these keep their docstring as written.
_PROSE_KINDS = frozenset({"attribute", "data", "property"})
_prose: dict[str, list[str]] = {}


def _keep_prose(app, what, name, obj, options, lines):
    """Before napoleon: remember an attribute's docstring."""
    if what in _PROSE_KINDS:
        _prose[name] = list(lines)


def _restore_prose(app, what, name, obj, options, lines):
    """After napoleon: put the remembered docstring back."""
    if what in _PROSE_KINDS and name in _prose:
        lines[:] = _prose.pop(name)


def _show_enum_values(app, what, name, obj, skip, options):
    """List the values of an enumeration, which carry no docstring of their own."""
    if isinstance(obj, enum.Enum) and not name.startswith("_"):
        return False
    return None


def setup(app):
    """Wrap napoleon (priority 500) for attribute docstrings; show enumeration values."""
    app.connect("autodoc-process-docstring", _keep_prose, priority=400)
    app.connect("autodoc-skip-member", _show_enum_values)
    app.connect("autodoc-process-docstring", _restore_prose, priority=600)
