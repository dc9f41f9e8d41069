"""The two YAML libraries behind the reader, made to agree: libyaml (PyYAML's C binding) composes fast,
ruamel.yaml is the reference. Both mark a node written without a tag with one tag of vastjob's own, and
the reference reads tabs as YAML 1.2 does; scalars are resolved by the reader, never by either library.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from vastjob.spec.tabs import tab_scanner

TAG = "tag:yaml.org,2002:"
# The tag both libraries are made to give every node written without one, so that an explicit tag, `!!str`
# included, can be told apart and refused as docs/spec.md says (scalars are resolved here, not by tags).
IMPLICIT = "tag:vastjob,2026:implicit"


@cache
def _fast_loader() -> Any:
    import yaml

    class Loader(yaml.CSafeLoader):
        """libyaml without PyYAML's YAML 1.1 resolver: scalars are resolved here, and a node without an
        explicit tag is marked as such."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            return IMPLICIT

    return Loader


def compose_fast(text: str) -> Any:
    """libyaml's node tree of a document; raises its own errors."""
    import yaml

    return yaml.compose(text, Loader=_fast_loader())


@cache
def _reference_resolver() -> Any:
    from ruamel.yaml.resolver import VersionedResolver
    from ruamel.yaml.tag import Tag

    class Resolver(VersionedResolver):
        """Marks a node without an explicit tag as such, as the fast loader does."""

        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            return Tag(suffix=IMPLICIT)

    return Resolver


def compose_reference(text: str) -> Any:
    """ruamel.yaml's node tree of a document; raises its own errors."""
    import warnings

    from ruamel.yaml import YAML

    with warnings.catch_warnings():
        # ruamel.yaml warns of a reused anchor name; the later anchor wins, as YAML says: no problem.
        warnings.simplefilter("ignore")
        parser = YAML(typ="safe", pure=True)
        parser.Resolver = _reference_resolver()
        parser.Scanner = tab_scanner()
        return parser.compose(text)


def compose_deep(text: str) -> Any:
    """The libyaml tree of a document too deep for ruamel.yaml, or None when libyaml refuses it too."""
    if not has_fast_parser():
        return None
    try:
        return compose_fast(text)
    except Exception:  # its message would differ from the reference parser's: the caller reports instead
        return None


def has_fast_parser() -> bool:
    """Whether libyaml is available (otherwise every file goes through ruamel.yaml)."""
    try:
        import yaml
    except ImportError:
        return False
    return bool(getattr(yaml, "__with_libyaml__", False))
