"""``i/n``: one of n contiguous shares of what a run does (a SAD run's records,
``predict --bigwig``'s tiles, ``data --tracks``' tracks), parsed without torch so that a
command checks the option before a model loads."""

from __future__ import annotations

from dataclasses import dataclass

#: The most shares a run is cut into: more than any job array holds (Slurm's default
#: limit is 1,001), few enough that the last shard lists its siblings in a moment.
MAX_SHARDS = 10_000


@dataclass(frozen=True)
class Shard:
    """Shard `index` (from 0) of `count` contiguous shares."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, option: str = "--shard") -> Shard:
        """``"i/n"`` → ``Shard(i, n)``, checked; errors name `option`."""
        left, sep, right = text.partition("/")
        try:
            index, count = int(left), int(right)
        except ValueError:
            raise ValueError(f"{option} '{text}': write it i/n, e.g. 0/4") from None
        if not sep or count < 1 or not 0 <= index < count:
            raise ValueError(f"{option} '{text}': need 0 <= i < n, e.g. 0/4")
        if count > MAX_SHARDS:
            raise ValueError(f"{option} '{text}': at most {MAX_SHARDS:,} shares (n), got {count}")
        return cls(index, count)

    def bounds(self, items: int) -> tuple[int, int]:
        """Items ``[i*N/n, (i+1)*N/n)`` of `items` (none when there are more shards)."""
        return self.index * items // self.count, (self.index + 1) * items // self.count

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
