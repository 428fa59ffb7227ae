"""Variants with known effects: SNPs and indels scored by the generative rule.

A variant changes the occupancy of the motif sites it touches; recomputing activity and
expression with :class:`Regulation` gives its expected effect on every track of the species
(the sign is what the truth tables report). Kinds: ``break`` (a site's key base to the worst
base), ``create`` (a latent site's key base restored), ``site_deletion`` (a deletion
removing a site), ``neutral`` SNPs and ``neutral_indel`` far from every element. Site
variants are kept only when some track of the species responds to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from crossreg.io.vcf import Variant
from crossreg.synth.cells import INSULATOR_TF, TrackSpec
from crossreg.synth.genomes import SpeciesGenome
from crossreg.synth.motifs import Motif
from crossreg.synth.planting import Site
from crossreg.synth.regulation import Regulation

COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}
SIGN_TOLERANCE = 1e-3
NEUTRAL_DISTANCE = 2_000


@dataclass(frozen=True)
class ScoredVariant:
    """A variant, why it was made, and its expected effect per track identifier."""

    variant: Variant
    kind: str
    motif: str
    element: str
    effects: dict[str, float]


class EffectModel:
    """Expected per-track effect of changing site occupancies in one species."""

    def __init__(self, reg: Regulation, specs: list[TrackSpec]) -> None:
        self.reg = reg
        self.specs = specs
        self.activity = reg.activity()
        self.log_expression = np.log(reg.expression(self.activity))
        tfs = np.array([s.tf for s in reg.sites])
        self.sites_of_tf = {spec.tf: tfs == spec.tf for spec in specs if spec.kind == "tf"}

    def effects(self, changes: dict[int, float]) -> dict[str, float]:
        """Track identifier -> expected change when sites ``i`` get occupancy ``changes[i]``."""
        reg = self.reg
        if not changes:
            return {s.identifier: 0.0 for s in self.specs}
        occ = reg.occupancy.copy()
        for i, value in changes.items():
            occ[i] = value
        act = reg.activity(occ)
        d_act = act - self.activity
        d_log_e = np.log(reg.expression(act)) - self.log_expression
        touched = np.unique(reg.site_element[list(changes)])
        in_touched = np.isin(reg.site_element, touched)
        kinds = np.array([reg.elements[e].element.kind for e in touched])
        d_site = reg.site_signal(act, occ) - reg.site_signal(self.activity)
        out: dict[str, float] = {}
        for spec in self.specs:
            c = reg.cells.index(spec.cell)
            if spec.kind == "accessibility":
                value = d_act[touched, c].sum()
            elif spec.kind == "histone":
                value = d_act[touched[kinds != "insulator"], c].sum()
            elif spec.kind == "promoter_mark":
                value = d_act[touched[kinds == "promoter"], c].sum()
            elif spec.kind == "tf":
                value = d_site[in_touched & self.sites_of_tf[spec.tf], c].sum()
            elif spec.kind == "insulator":
                value = sum(
                    occ[i] - reg.occupancy[i] for i in changes if reg.sites[i].tf == INSULATOR_TF
                )
            else:
                value = d_log_e[:, c].sum()
            out[spec.identifier] = float(value)
        return out


def sign(value: float) -> int:
    """-1, 0 or +1, treating changes below the tolerance as none."""
    return 0 if abs(value) < SIGN_TOLERANCE else (1 if value > 0 else -1)


def _key_position(site: Site, motif: Motif) -> int:
    col = motif.key_column()
    return site.start + col if site.strand > 0 else site.end - 1 - col


def _base_for(motif: Motif, column: int, strand: int, best: bool) -> str:
    scores = motif.log_odds[:, column]
    base = "ACGT"[int(scores.argmax() if best else scores.argmin())]
    return base if strand > 0 else COMPLEMENT[base]


def site_occupancy_after_snp(
    genome: SpeciesGenome, site: Site, motif: Motif, pos: int, alt: str
) -> float:
    """Occupancy of `site` once the base at `pos` (inside it) becomes `alt`."""
    seq = bytearray(genome.sequences[site.chrom][site.start : site.end].tobytes())
    seq[pos - site.start] = ord(alt)
    return motif.occupancy(motif.score(bytes(seq), site.strand))


class VariantMaker:
    """Draws scored variants in one species."""

    def __init__(
        self,
        genome: SpeciesGenome,
        reg: Regulation,
        model: EffectModel,
        motifs: dict[str, Motif],
        rng: np.random.Generator,
    ) -> None:
        self.genome = genome
        self.reg = reg
        self.model = model
        self.motifs = motifs
        self.rng = rng
        self.used: set[tuple[str, int]] = set()
        self.sites_by_pos: dict[tuple[str, int], int] = {}
        for i, s in enumerate(reg.sites):
            for p in range(s.start, s.end):
                self.sites_by_pos[(s.chrom, p)] = i
        self.exclusion = self._exclusion_mask()

    def _exclusion_mask(self) -> dict[str, npt.NDArray[np.bool_]]:
        """Per chromosome: bases near an element, in a gap, or in a special region."""
        masks = {c: s == ord("N") for c, s in self.genome.sequences.items()}
        for p in self.reg.elements:
            lo = max(0, p.start - NEUTRAL_DISTANCE)
            masks[p.chrom][lo : p.end + NEUTRAL_DISTANCE] = True
        for iv in (*self.genome.artefacts, *self.genome.duplicates):
            masks[iv.chrom][iv.start : iv.end] = True
        return masks

    def _ref(self, chrom: str, start: int, end: int) -> str:
        return self.genome.sequences[chrom][start:end].tobytes().decode("ascii").upper()

    def snp_at_site(self, i: int, *, create: bool) -> ScoredVariant | None:
        """Break site `i` at its key column (or restore it when `create`)."""
        site = self.reg.sites[i]
        motif = self.motifs[site.tf]
        pos = _key_position(site, motif)
        if (site.chrom, pos) in self.used:
            return None
        alt = _base_for(motif, motif.key_column(), site.strand, best=create)
        ref = self._ref(site.chrom, pos, pos + 1)
        if alt == ref:
            return None
        new_occ = site_occupancy_after_snp(self.genome, site, motif, pos, alt)
        if abs(new_occ - site.occupancy) < 0.3:
            return None
        effects = self.model.effects({i: new_occ})
        if not any(sign(v) for v in effects.values()):
            return None  # the factor acts in no cell type measured in this species
        self.used.add((site.chrom, pos))
        kind = "create" if create else "break"
        return ScoredVariant(
            Variant(site.chrom, pos, ref, (alt,)), kind, site.tf, site.element_id, effects
        )

    def site_deletion(self, i: int) -> ScoredVariant | None:
        """Delete site `i` entirely (VCF-style, anchored on the preceding base)."""
        site = self.reg.sites[i]
        pos = site.start - 1
        if any((site.chrom, p) in self.used for p in range(pos, site.end)):
            return None
        effects = self.model.effects({i: 0.0})
        if not any(sign(v) for v in effects.values()):
            return None
        self.used.update((site.chrom, p) for p in range(pos, site.end))
        ref = self._ref(site.chrom, pos, site.end)
        return ScoredVariant(
            Variant(site.chrom, pos, ref, (ref[0],)),
            "site_deletion",
            site.tf,
            site.element_id,
            effects,
        )

    def neutral_position(self) -> tuple[str, int]:
        """A random position at least 2 kb from every element and outside gaps."""
        chroms = list(self.genome.sequences)
        sizes = np.array([self.genome.sizes[c] for c in chroms], dtype=np.float64)
        for _ in range(10_000):
            chrom = chroms[int(self.rng.choice(len(chroms), p=sizes / sizes.sum()))]
            pos = int(self.rng.integers(1, self.genome.sizes[chrom] - 10))
            if not self.exclusion[chrom][pos - 1 : pos + 8].any() and (chrom, pos) not in self.used:
                return chrom, pos
        raise ValueError(f"{self.genome.name}: found no room for a neutral variant")

    def neutral(self, *, indel: bool) -> ScoredVariant:
        """A SNP or a 1-5 bp insertion/deletion with no expected effect."""
        chrom, pos = self.neutral_position()
        self.used.update((chrom, p) for p in range(pos, pos + 7))
        ref = self._ref(chrom, pos, pos + 1)
        if not indel:
            alt = "ACGT"[("ACGT".index(ref) + int(self.rng.integers(1, 4))) % 4]
            variant = Variant(chrom, pos, ref, (alt,))
        else:
            size = int(self.rng.integers(1, 6))
            if self.rng.random() < 0.5:
                inserted = "".join(self.rng.choice(list("ACGT"), size=size))
                variant = Variant(chrom, pos, ref, (ref + inserted,))
            else:
                ref = self._ref(chrom, pos, pos + size + 1)
                variant = Variant(chrom, pos, ref, (ref[0],))
        kind = "neutral_indel" if indel else "neutral"
        return ScoredVariant(variant, kind, "", "", self.model.effects({}))

    def active_sites(self, latent: bool) -> list[int]:
        """Sites (latent or not) in elements active in some cell type of this species."""
        act = self.model.activity.max(axis=1)
        return [
            i
            for i, s in enumerate(self.reg.sites)
            if s.latent == latent and act[self.reg.site_element[i]] > 0.05 and s.start > 0
        ]

    def draw(self, count: int) -> list[ScoredVariant]:
        """`count` variants: 30% break, 15% create, 15% site deletions, 40% neutral."""
        plan = {
            "break": int(0.30 * count),
            "create": int(0.15 * count),
            "site_deletion": int(0.15 * count),
            "neutral_indel": int(0.10 * count),
        }
        plan["neutral"] = count - sum(plan.values())
        out: list[ScoredVariant] = []
        for kind, n in plan.items():
            made = 0
            if kind in ("break", "create", "site_deletion"):
                pool = self.active_sites(latent=kind == "create")
                for i in self.rng.permutation(pool):
                    if made == n:
                        break
                    if kind == "site_deletion":
                        v = self.site_deletion(int(i))
                    else:
                        v = self.snp_at_site(int(i), create=kind == "create")
                    if v is not None:
                        out.append(v)
                        made += 1
            else:
                for _ in range(n):
                    out.append(self.neutral(indel=kind == "neutral_indel"))
        order = {c: k for k, c in enumerate(self.genome.sequences)}
        out.sort(key=lambda v: (order[v.variant.chrom], v.variant.pos))
        return out
