"""Basenji's targets table as read: one :class:`Target` per output track, in output order,
and the :class:`TargetsTable` that holds them and resolves their track files (read by
:mod:`crossreg.io.targets_read`)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from crossreg.io.assays import assay_of


@dataclass(frozen=True)
class Target:
    """One output track and how its coverage becomes training targets."""

    index: int
    identifier: str
    files: tuple[str, ...]
    clip: float
    scale: float
    sum_stat: str
    description: str
    clip_soft: float | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def assay(self) -> str:
        """The description's prefix before ':' (``DNASE``, ``ATAC``, ``CHIP``, ``CAGE``)."""
        return assay_of(self.description)

    @property
    def soft_clip_threshold(self) -> float:
        """Threshold of the soft clip: ``clip_soft`` when given, else ``clip``."""
        return self.clip if self.clip_soft is None else self.clip_soft

    @property
    def hard_clip(self) -> float:
        """The ceiling after the soft clip: ``clip`` when the table also gives ``clip_soft``
        (Basenji's later tables), else none (infinity): ``clip`` is then the soft clip's
        threshold, as in the paper."""
        return math.inf if self.clip_soft is None else self.clip


@dataclass(frozen=True)
class TargetsTable:
    """A parsed targets table; relative track paths resolve against its folder. `lines`
    gives each track's line in the file by identifier (identifiers are unique)."""

    path: Path
    targets: tuple[Target, ...]
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return len(self.targets)

    def __iter__(self) -> Iterator[Target]:
        return iter(self.targets)

    def __getitem__(self, i: int) -> Target:
        return self.targets[i]

    @property
    def identifiers(self) -> list[str]:
        """Track identifiers in output order."""
        return [t.identifier for t in self.targets]

    @property
    def descriptions(self) -> list[str]:
        """Track descriptions in output order."""
        return [t.description for t in self.targets]

    def resolve(self, file: str) -> Path:
        """Absolute path of a track file named in the table."""
        p = Path(file)
        return p if p.is_absolute() else (self.path.parent / p).resolve()

    def track_files(self, target: Target) -> list[Path]:
        """The resolved replicate files of `target`."""
        return [self.resolve(f) for f in target.files]

    def line_of(self, target: Target) -> int | None:
        """The line of `target`'s row in the file (None when unknown)."""
        return self.lines.get(target.identifier)
