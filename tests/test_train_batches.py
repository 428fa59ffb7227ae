"""What each training step trains on, against plain references: the genome the schedule
draws, a batch of that genome's windows (each once per epoch), reverse-complemented and
shifted as Basenji augments, with the targets as the loss reads them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from crossreg.data.store import DataStore
from crossreg.model.metrics import TrackMetrics
from crossreg.model.params import load_params
from crossreg.train import epoch_loop
from crossreg.train import trainer as trainer_module
from crossreg.train.genome_schedule import epoch_schedule
from crossreg.train.options import TrainOptions
from crossreg.train.phases import JOINT_PHASE
from crossreg.train.seeds import SCHEDULE, stream_seed
from tests.pipeline import small_params

COMPLEMENT = dict(zip(b"ACGTN", b"TGCAN", strict=True))


def augmented(seq: np.ndarray, rc: bool, shift: int) -> np.ndarray:
    """Basenji's shift (positive towards higher positions, vacated bases N), then the
    reverse complement, of one window's ASCII codes, base by base."""
    n = len(seq)
    out = [seq[i - shift] if 0 <= i - shift < n else ord("N") for i in range(n)]
    if rc:
        out = [COMPLEMENT[base] for base in reversed(out)]
    return np.array(out, dtype=np.uint8)


def one_hot(seq: np.ndarray) -> np.ndarray:
    """A, C, G, T channels; N all zero."""
    return np.stack([seq == ord(base) for base in "ACGT"], axis=-1).astype(np.float32)


@pytest.fixture(scope="module")
def steps(tmp_path_factory, stores) -> dict:
    """Two epochs of a joint run at batch size 4 with the paper's augmentation (the params
    name none), then one epoch of fine-tuning each genome: what each step received (phase,
    epoch, genome, rows, draws, inputs, targets, torch's random state as dropout found it)."""
    root = tmp_path_factory.mktemp("batches")
    tracks = {g: DataStore(d).num_targets for g, d in stores.items()}
    params = root / "params.json"
    params.write_text(json.dumps(small_params(tracks)))
    seen: list[dict] = []
    on_device, train_epoch = epoch_loop.on_device, trainer_module.train_epoch
    current: dict = {}  # the phase and epoch training

    def noting_epoch(*args, **kwargs):
        current.update(phase=kwargs["phase"], epoch=kwargs["epoch"])
        return train_epoch(*args, **kwargs)

    def recording(batch, device):
        x, y = on_device(batch, device)
        seen.append({key: batch[key].clone() for key in ("index", "rc", "shift")})
        seen[-1].update(x=x.cpu(), y=y.cpu())  # as on the device (pinned, on CUDA)
        seen[-1].update(current)
        seen[-1]["dropout"] = torch.get_rng_state()  # the stub step draws nothing
        return x, y

    def recording_step(model, optimizer, x, y, genome, **kwargs):
        seen[-1]["genome"] = genome
        return torch.zeros(())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(trainer_module, "train_epoch", noting_epoch)
        patch.setattr(epoch_loop, "on_device", recording)
        patch.setattr(epoch_loop, "train_step", recording_step)
        patch.setattr(
            trainer_module, "validate", lambda model, data, **_: ((1.0, 0.5, 0.1), TrackMetrics(1))
        )
        options = TrainOptions(max_epochs=2, patience=5, seed=7, batch_size=4, finetune_epochs=1)
        trainer_module.train(params, list(stores.values()), root / "run", options, plots=False)
    joint = [step for step in seen if step["phase"] == JOINT_PHASE]
    return {"seen": joint, "all": seen, "genomes": list(stores), "stores": stores}


def test_each_step_trains_one_genome_drawn_by_the_seeded_schedule(steps):
    genomes, stores = steps["genomes"], steps["stores"]
    batches = [DataStore(stores[g]).splits["train"]["count"] // 4 for g in genomes]
    expected = []
    for epoch in range(2):
        rng = np.random.default_rng(stream_seed(7, SCHEDULE, JOINT_PHASE, epoch))
        order = epoch_schedule(batches, rng)
        expected += [genomes[g] for g in order]
    assert [step["genome"] for step in steps["seen"]] == expected
    assert all(len(step["index"]) == 4 for step in steps["seen"])


def test_each_epoch_takes_every_training_window_once_but_a_partial_batch(steps):
    per_epoch = len(steps["seen"]) // 2
    for epoch in range(2):
        taken = steps["seen"][epoch * per_epoch : (epoch + 1) * per_epoch]
        for genome in steps["genomes"]:
            rows = np.concatenate([s["index"].numpy() for s in taken if s["genome"] == genome])
            windows = DataStore(steps["stores"][genome]).splits["train"]["count"]
            assert len(set(rows.tolist())) == len(rows) == windows - windows % 4
            assert set(rows.tolist()) <= set(range(windows))


def test_each_example_is_its_window_shifted_and_reverse_complemented_with_its_targets(steps):
    """The inputs are the stored window shifted (N fills the vacated bases) then reverse
    complemented, as a plain base-by-base reference does it; the targets are the stored
    float16 bins, reversed with a reverse complement and never shifted."""
    draws = set()
    mixed = False
    for step in steps["seen"]:
        store = DataStore(steps["stores"][step["genome"]])
        seqs, targets = store.sequences("train"), store.targets("train")
        flags = step["rc"].tolist()
        mixed |= len(set(flags)) > 1
        for j, row in enumerate(step["index"].tolist()):
            rc, shift = flags[j], int(step["shift"][j])
            draws.add((rc, shift))
            want = one_hot(augmented(np.asarray(seqs[row]), rc, shift))
            np.testing.assert_array_equal(step["x"][j].numpy(), want)
            assert step["y"].dtype == torch.float16
            bins = targets[row][::-1] if rc else targets[row]
            np.testing.assert_array_equal(step["y"][j].numpy(), bins)
    # the paper's augmentation where the params name none: both strands, shifts -3..3
    assert draws == {(rc, s) for rc in (False, True) for s in range(-3, 4)}
    assert mixed  # drawn per example, not per batch (a documented departure from Basenji)


def _taken(steps: list[dict], phase: str, epoch: int, genome: str) -> dict[int, tuple]:
    """The windows `genome` took in `phase`'s `epoch`, in order, with their (rc, shift)."""
    return {
        int(i): (bool(rc), int(shift))
        for step in steps
        if (step["phase"], step["epoch"], step["genome"]) == (phase, epoch, genome)
        for i, rc, shift in zip(step["index"], step["rc"], step["shift"], strict=True)
    }


def _agreeing(a: dict[int, tuple], b: dict[int, tuple]) -> tuple[int, int]:
    """Of the windows two epochs' takes share (by row), how many drew the same (rc, shift)."""
    shared = sorted(set(a) & set(b))
    return sum(a[i] == b[i] for i in shared), len(shared)


def test_genomes_and_phases_draw_their_windows_and_augmentation_independently(steps):
    """Each genome's row i, each phase's epoch and each epoch's dropout draw from streams
    of their own: the human and mouse windows of one row number do not share their
    (rc, shift) (14 pairs: 1 in 14 agree by chance), a genome fine-tuned alone does not
    replay its joint epoch's order and draws, and no two epochs or phases start dropout
    from the same random state."""
    run, (human, mouse) = steps["all"], steps["genomes"]
    same = total = 0
    for epoch in range(2):
        agree, shared = _agreeing(
            _taken(run, JOINT_PHASE, epoch, human), _taken(run, JOINT_PHASE, epoch, mouse)
        )
        same, total = same + agree, total + shared
    assert total >= 40
    assert same / total < 0.3, f"{same} of {total} rows drew the same in both genomes"
    for genome in (human, mouse):
        joint, alone = _taken(run, JOINT_PHASE, 0, genome), _taken(run, genome, 0, genome)
        assert len(alone) == len(joint)  # every window once but a partial batch's
        assert list(alone) != list(joint)
        agree, shared = _agreeing(joint, alone)
        assert agree / shared < 0.3, f"{genome}: {agree} of {shared} drew as in the joint phase"
    starts = {}
    for step in run:
        starts.setdefault((step["phase"], step["epoch"]), step["dropout"])
    assert len(starts) == 4  # joint epochs 0 and 1, each genome's fine-tuning epoch 0
    firsts = list(starts.values())
    assert not any(torch.equal(a, b) for i, a in enumerate(firsts) for b in firsts[i + 1 :]), (
        "two epochs drew the same dropout masks"
    )


def test_the_reference_shifts_and_complements_as_basenji_does():
    """Basenji's own examples (its dna_io tests): shift +1 of GATTACA is NGATTAC, -1
    ATTACAN; shifted then reverse complemented, GTAATCN and NTGTAAT."""
    codes = np.frombuffer(b"GATTACA", dtype=np.uint8)
    assert augmented(codes, False, 1).tobytes() == b"NGATTAC"
    assert augmented(codes, False, -1).tobytes() == b"ATTACAN"
    assert augmented(codes, True, 1).tobytes() == b"GTAATCN"
    assert augmented(codes, True, -1).tobytes() == b"NTGTAAT"
    assert augmented(codes, True, 0).tobytes() == b"TGTAATC"


def test_genomes_are_drawn_three_to_one_in_a_world_of_three_to_one_batches():
    """A planted world of 30 and 10 batches: every epoch takes exactly 30 and 10, in an
    order that differs by epoch and is the same for the same seed; an epoch capped at 8
    steps (--steps-per-epoch) still draws the first genome 3/4 of the time."""
    orders = [epoch_schedule([30, 10], np.random.default_rng([3, e])) for e in range(2000)]
    assert all(np.bincount(order).tolist() == [30, 10] for order in orders)
    assert not np.array_equal(orders[0], orders[1])
    np.testing.assert_array_equal(
        orders[5], epoch_schedule([30, 10], np.random.default_rng([3, 5]))
    )
    capped = np.concatenate([order[:8] for order in orders])
    assert abs(np.mean(capped == 0) - 0.75) < 0.01  # 16,000 draws: sd 0.0034
    assert abs(np.mean(np.concatenate(orders) == 0) - 0.75) < 1e-12


def test_under_torchrun_each_process_reads_only_its_part_of_each_batch(
    tmp_path, stores, monkeypatch
):
    """The trainer's loader of process 1 of 2 yields the second half of every global
    batch, not the whole batch for the process to slice: N processes read a batch once
    between them."""
    store = DataStore(stores["human"])
    params = tmp_path / "params.json"
    params.write_text(json.dumps(small_params({"human": store.num_targets})))
    options = TrainOptions(max_epochs=1, seed=2, batch_size=4, read_ahead=0)
    trainer = trainer_module.Trainer(load_params(params), [store.path], tmp_path / "run", options)
    whole = [batch["index"] for batch in trainer._genome_data(store, JOINT_PHASE).train]
    monkeypatch.setattr(trainer_module.distributed, "world_size", lambda: 2)
    monkeypatch.setattr(trainer_module.distributed, "rank", lambda: 1)
    mine = [batch["index"] for batch in trainer._genome_data(store, JOINT_PHASE).train]
    assert len(mine) == len(whole) > 0
    assert all(torch.equal(m, w[2:]) for m, w in zip(mine, whole, strict=True))
