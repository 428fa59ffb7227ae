"""``--shard i/n``: one of n contiguous shares of a run's records, parsed without torch so
that ``crossreg sad`` and ``crossreg predict`` check the option before the model loads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shard:
    """Shard `index` (from 0) of `count` contiguous shares of a run's records."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"i/n"`` → ``Shard(i, n)``, checked."""
        left, sep, right = text.partition("/")
        try:
            index, count = int(left), int(right)
        except ValueError:
            raise ValueError(f"--shard '{text}': write it i/n, e.g. 0/4") from None
        if not sep or count < 1 or not 0 <= index < count:
            raise ValueError(f"--shard '{text}': need 0 <= i < n, e.g. 0/4")
        return cls(index, count)

    def bounds(self, records: int) -> tuple[int, int]:
        """Records ``[i*N/n, (i+1)*N/n)`` of `records` records."""
        return self.index * records // self.count, (self.index + 1) * records // self.count

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
