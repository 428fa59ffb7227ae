"""How a setting that differs between a run and its ``--resume`` (or between two shards
of one run) is named in a refusal, the same way by every command: by the option that
sets it, each value as the command line gives it (``--rc off then, on now``,
``--shifts 0 then, 1,0,-1 now``, ``--targets every track then, 0 now``), and an input by
how its content differs (``--fasta: the same size, other content (…)``).

A command knows which recorded key is which of its options and how a value it leaves
unset reads; it passes that here as :class:`Option` entries."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from crossreg.io.identity import identity_difference


@dataclass(frozen=True)
class Option:
    """How a recorded setting is given on the command line: its `flag`, the words for a
    value the user left unset (``None``: the option's documented default, such as
    ``every track``), the words for other values that are not given as recorded
    (`words`, by the value's recorded text: ``{"None": "auto", "True": "channels-last"}``)
    and, for a recorded setting that is not the option's value itself, what it is
    (`label`: ``--targets: figure tracks … then, … now``); an option given once per
    item of a list (`each`: ``--head human=h --head mouse=m``) shows a list so."""

    flag: str
    unset: str = "none"
    words: Mapping[str, str] = field(default_factory=dict)
    label: str = ""
    each: bool = False


def option_of(key: str, options: Mapping[str, Option]) -> Option:
    """The option that sets the recorded `key`: the one `options` names, else the flag
    spelt like the key (``batch_size``: ``--batch-size``)."""
    return options.get(key) or Option("--" + key.replace("_", "-"))


def shown(value: object, option: Option) -> str:
    """A recorded value as the command line gives it: `option`'s words for it, on/off
    for a switch, a list comma-separated, an unset value (or an empty list) as `option`
    says it reads."""
    if not isinstance(value, list | tuple | dict) and str(value) in option.words:
        return option.words[str(value)]
    if value is None or (isinstance(value, list | tuple) and not value):
        return option.unset
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ",".join(shown(item, option) for item in value)
    return str(value)


def change(option: Option, old: object, new: object) -> str:
    """One differing setting in words: an input (a content identity, a JSON object) by
    how its content differs, or that it was given only once; any other value as
    ``FLAG OLD then, NEW now``."""
    if isinstance(old, dict) and isinstance(new, dict):
        return f"{option.flag}: {identity_difference(old, new)}"
    if isinstance(old, dict) or isinstance(new, dict):
        given = "given then, not now" if isinstance(old, dict) else "not given then, given now"
        return f"{option.flag}: {given}"
    label = f": {option.label}" if option.label else ""
    if option.each:
        old_text, new_text = (_each(value, option) for value in (old, new))
        return f"{old_text} then, {new_text} now"
    return f"{option.flag}{label} {shown(old, option)} then, {shown(new, option)} now"


def _each(value: object, option: Option) -> str:
    """A value of an option given once per item, as the command line gives it
    (``--head human=h --head mouse=m``); unset, as `option` says it reads."""
    items = value if isinstance(value, list | tuple) else [] if value is None else [value]
    return " ".join(f"{option.flag} {shown(item, option)}" for item in items) or option.unset


def changes(
    before: Mapping[str, Any],
    now: Mapping[str, Any],
    options: Mapping[str, Option],
    *,
    absent: Mapping[str, Any] | None = None,
    nested: Collection[str] = (),
) -> list[str]:
    """Each setting that differs between the records `before` and `now`, in the order of
    their keys, named by :func:`change` as `options` say (:func:`option_of`); a key of
    `nested` holds settings of its own (the inference ``options``), each named in its
    place; a key missing from a record reads as its value in `absent` (a setting recorded
    only where it differs from that value), else as unset."""
    absent = absent or {}
    found = []
    for key in sorted(before.keys() | now.keys()):
        old, new = before.get(key, absent.get(key)), now.get(key, absent.get(key))
        if old == new:
            continue
        if key in nested and isinstance(old, dict) and isinstance(new, dict):
            found += changes(old, new, options, absent=absent)
        else:
            found.append(change(option_of(key, options), old, new))
    return found
