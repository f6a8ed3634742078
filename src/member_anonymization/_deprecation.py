"""Names that moved: they keep working for one release, with a deprecation warning."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping

__all__ = ["moved_names"]


def moved_names(module: str, moves: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` serving names that moved to other modules.

    Args:
        module: The module whose names moved, such as ``"member_anonymization"``.
        moves: Each moved name and the module that holds it now.
    """

    def __getattr__(name: str) -> object:
        home = moves.get(name)
        if home is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        warnings.warn(
            f"{module}.{name} is deprecated and will be removed in the next release: "
            f"import it from {home}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(home), name)

    return __getattr__
