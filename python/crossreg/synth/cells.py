"""Cell types, the transcription factors that drive them, and the tracks measured in each.

Every cell type has a program: the factors expressed in it. A motif contributes to an
element's activity in a cell type with the factor's weight there (1 when expressed, 0 when
not; the repressor REST weighs -1.5 everywhere but in neurons, which lack it). Six cell
types are matched across species; human and mouse also have two of their own each (rat and
dog, in worlds of more genomes, have two each that one of them has). The bundled
motifs stand in for their family where the cell type's own factor is not bundled (the
GATA1 matrix for T cells' GATA3, the MYOD1 E-box for neuronal bHLH factors).
"""

from __future__ import annotations

from dataclasses import dataclass

GENERAL_PROMOTER_TFS = ("SP1", "NFYA", "YY1", "Nrf1", "CREB1")
# every promoter's core site (a TATA box a fixed gap upstream of the TSS): it sets where
# transcription starts, not how much, so it weighs nothing in activity
CORE_PROMOTER_TF = "TBP"
INSULATOR_TF = "CTCF"
REPRESSOR_TF = "REST"
REPRESSOR_WEIGHT = -1.5
# per-base coverage is written in these units for tracks pooled by sum (see TrackSpec)
SUM_UNIT = 1 / 32
# CAGE: 10 reads per unit of expression (coverage 200 spread over 20-bp reads), each read
# written as 0.4 per bin (a library-size normalisation of deep libraries)
CAGE_PEAK = 200.0
CAGE_UNIT = 1 / 50

# cell type -> its specific transcription factors
PROGRAMS: dict[str, tuple[str, ...]] = {
    "liver": ("HNF4A", "HNF1A", "FOXA2", "CEBPB"),
    "erythroid": ("GATA1", "GATA1::TAL1"),
    "macrophage": ("Spi1", "CEBPB", "FOS::JUN"),
    "muscle": ("MYOD1", "FOS::JUN"),
    "neuron": ("MYOD1",),
    "tcell": ("GATA1", "FOS::JUN"),
    "bcell": ("Spi1",),
    "keratinocyte": ("FOS::JUN", "CEBPB"),
    "kidney": ("HNF1A", "HNF4A"),
    "megakaryocyte": ("GATA1::TAL1", "Spi1"),
}
# the factor each cell type's TF ChIP track measures (the first TF_CHIP_CELLS cell types)
CHIP_TF = {
    "liver": "HNF4A",
    "erythroid": "GATA1",
    "macrophage": "Spi1",
    "muscle": "MYOD1",
}
# cell types in both species, then each species' own
MATCHED_CELLS = ("liver", "erythroid", "macrophage", "muscle", "neuron", "tcell")
CELL_TYPES: dict[str, tuple[str, ...]] = {
    "human": (*MATCHED_CELLS, "bcell", "keratinocyte"),
    "mouse": (*MATCHED_CELLS, "megakaryocyte", "kidney"),
    "rat": (*MATCHED_CELLS, "kidney", "bcell"),
    "dog": (*MATCHED_CELLS, "keratinocyte", "megakaryocyte"),
}
DNASE_CELLS = 5  # DNase in the first five cell types, ATAC in the last
TF_CHIP_CELLS = 4  # TF ChIP and H3K27ac in the first four; CAGE in every cell type


def tf_weight(tf: str, cell: str) -> float:
    """Contribution of one fully occupied `tf` site to element activity in `cell`."""
    if tf == REPRESSOR_TF:
        return 0.0 if cell == "neuron" else REPRESSOR_WEIGHT
    if tf in GENERAL_PROMOTER_TFS or tf == INSULATOR_TF or tf in PROGRAMS[cell]:
        return 1.0
    return 0.0


@dataclass(frozen=True)
class TrackSpec:
    """One synthetic experiment: what it measures, in which cell type, and its table settings.

    `kind` is ``accessibility``, ``tf``, ``histone`` (H3K27ac-like, broad around active
    elements), ``promoter_mark`` (H3K4me3-like), ``insulator`` (CTCF ChIP) or ``cage``.
    `read_bp` is the fragment length that spreads each read; `background` and `peak` are
    the expected per-base coverage off and on a fully active element. `unit` is what one
    base of read coverage is written as (a library-size normalisation): tracks pooled by
    sum take small units so that their 128-bp sums span the range below their clip value,
    as real normalised tracks do.
    """

    identifier: str
    genome: str
    cell: str
    kind: str
    description: str
    tf: str
    read_bp: int
    background: float
    peak: float
    clip: float
    scale: float
    sum_stat: str
    unit: float = 1.0


def track_specs(genome: str, prefix: str) -> list[TrackSpec]:
    """The tracks of `genome` in Basenji's assay order: DNASE, ATAC, CHIP, CAGE."""
    cells = CELL_TYPES[genome]
    specs: list[TrackSpec] = []
    atac_cell = cells[-1]
    for cell in cells[:DNASE_CELLS]:
        specs.append(
            TrackSpec(
                f"{prefix}_DNASE_{cell}",
                genome,
                cell,
                "accessibility",
                f"DNASE:{cell}",
                "",
                50,
                0.3,
                25.0,
                32,
                2,
                "mean",
            )
        )
    # ATAC settings follow the paper's tables: human clip 64 scale 1 sum, mouse 32/4/mean
    atac = (64, 1, "sum", SUM_UNIT) if genome == "human" else (32, 4, "mean", 1.0)
    specs.append(
        TrackSpec(
            f"{prefix}_ATAC_{atac_cell}",
            genome,
            atac_cell,
            "accessibility",
            f"ATAC:{atac_cell}",
            "",
            60,
            0.2,
            15.0,
            *atac,
        )
    )
    specs.append(
        TrackSpec(
            f"{prefix}_CHIP_CTCF_{cells[0]}",
            genome,
            cells[0],
            "insulator",
            f"CHIP:CTCF:{cells[0]}",
            INSULATOR_TF,
            150,
            0.4,
            30.0,
            32,
            2,
            "mean",
        )
    )
    for cell in cells[:TF_CHIP_CELLS]:
        tf = CHIP_TF[cell]
        specs.append(
            TrackSpec(
                f"{prefix}_CHIP_{tf}_{cell}".replace("::", "_"),
                genome,
                cell,
                "tf",
                f"CHIP:{tf}:{cell}",
                tf,
                150,
                0.4,
                20.0,
                32,
                2,
                "mean",
            )
        )
    for cell in cells[:TF_CHIP_CELLS]:
        specs.append(
            TrackSpec(
                f"{prefix}_CHIP_H3K27ac_{cell}",
                genome,
                cell,
                "histone",
                f"CHIP:H3K27ac:{cell}",
                "",
                150,
                0.6,
                12.0,
                32,
                2,
                "mean",
            )
        )
    specs.append(
        TrackSpec(
            f"{prefix}_CHIP_H3K4me3_{cells[0]}",
            genome,
            cells[0],
            "promoter_mark",
            f"CHIP:H3K4me3:{cells[0]}",
            "",
            150,
            0.3,
            15.0,
            64,
            1,
            "sum",
            SUM_UNIT,
        )
    )
    for cell in cells:
        specs.append(
            TrackSpec(
                f"{prefix}_CAGE_{cell}",
                genome,
                cell,
                "cage",
                f"CAGE:{cell}",
                "",
                20,
                0.01,
                CAGE_PEAK,
                384,
                1,
                "sum",
                CAGE_UNIT,
            )
        )
    return specs
