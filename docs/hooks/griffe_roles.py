"""Griffe extension: show the docstrings' Sphinx roles as code.

crossreg's docstrings name other objects as ``:func:`crossreg.x.y```, ``:mod:`...```,
``:class:`...``` and so on; Markdown would print the role's name. This extension rewrites
each role to a plain code span before mkdocstrings renders the docstring.
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|mod|class|meth|attr|data|exc|obj|const):`~?([^`]+)`")


class SphinxRolesAsCode(griffe.Extension):
    """Replace ``:role:`target``` by ``target`` in every docstring."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: object) -> None:
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(r"``\1``", obj.docstring.value)
