"""Loss, metrics, gradient clipping, multi-genome schedule and early stopping."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from crossreg import distributed
from crossreg.dna import one_hot
from crossreg.model import metrics as metrics_module
from crossreg.model.inference import InferenceOptions
from crossreg.model.metrics import TrackMetrics, array_metrics
from crossreg.model.params import parse_params
from crossreg.model.seqnn import SeqNN
from crossreg.train.early_stopping import EarlyStopping
from crossreg.train.genome_schedule import epoch_schedule
from crossreg.train.loss import poisson_loss
from crossreg.train.optim import build_optimizer, clip_gradients
from crossreg.train.step import train_step
from tests.pipeline import SEQ_LENGTH, small_params


def test_poisson_loss_matches_formula(rng):
    pred = rng.gamma(2.0, 1.0, size=(2, 7, 3)).astype(np.float32)
    target = rng.poisson(2.0, size=(2, 7, 3)).astype(np.float16)
    expect = np.mean(pred - target.astype(np.float64) * np.log(pred + 1e-7))
    got = poisson_loss(torch.from_numpy(pred), torch.from_numpy(target))
    assert got.dtype == torch.float32
    assert float(got) == pytest.approx(expect, rel=1e-6)


@pytest.mark.parametrize(
    ("pred_dtype", "target_dtype"),
    [(torch.float64, torch.float64), (torch.bfloat16, torch.float16)],
)
def test_poisson_loss_gradient_equals_autograd_of_the_formula(rng, pred_dtype, target_dtype):
    values = rng.gamma(2.0, 1.0, size=(3, 8, 5))
    values[0, 0] = 0.0  # the epsilon keeps the log finite where a prediction is 0
    target = torch.from_numpy(rng.poisson(2.0, size=(3, 8, 5)).astype(np.float64))
    target = target.to(target_dtype)
    ours = torch.from_numpy(values).to(pred_dtype).requires_grad_(True)
    plain = ours.detach().clone().requires_grad_(True)
    poisson_loss(ours, target).backward()
    p = plain.float() if pred_dtype != torch.float64 else plain
    (p - target.to(p.dtype) * torch.log(p + 1e-7)).mean().backward()
    assert ours.grad.dtype == pred_dtype
    torch.testing.assert_close(ours.grad, plain.grad)


def test_poisson_loss_passes_gradcheck_and_runs_without_grad(rng):
    pred = torch.from_numpy(rng.gamma(2.0, 1.0, size=(2, 4, 3))).requires_grad_(True)
    target = torch.from_numpy(rng.poisson(2.0, size=(2, 4, 3)).astype(np.float64))
    assert torch.autograd.gradcheck(lambda p: poisson_loss(p, target).double(), (pred,))
    with torch.inference_mode():
        assert float(poisson_loss(pred, target)) == pytest.approx(
            float(poisson_loss(pred.detach(), target))
        )
    with pytest.raises(ValueError, match="predictions only"):
        poisson_loss(pred, target.clone().requires_grad_(True))


def test_poisson_loss_is_minimised_at_the_target():
    target = torch.tensor([0.5, 3.0, 10.0])
    pred = target.clone().requires_grad_(True)
    poisson_loss(pred, target).backward()
    torch.testing.assert_close(pred.grad, torch.zeros(3), atol=1e-6, rtol=0)


class _Bins(torch.nn.Module):
    """A model predicting the same softplus bins for every example: 10 of them, two more
    on each side than the targets hold (as the paper's 1,024 hold its 896 and 64 a side)."""

    def __init__(self, values: np.ndarray) -> None:
        super().__init__()
        self.values = torch.nn.Parameter(torch.from_numpy(values))

    def forward(self, x: torch.Tensor, genome: str) -> torch.Tensor:
        return torch.nn.functional.softplus(self.values).expand(x.shape[0], -1, -1)


def test_a_step_takes_the_poisson_loss_of_the_central_bins_against_float16_targets(rng):
    """The step's loss is Keras' Poisson over the central bins only (the model's extra
    bins cropped evenly from both ends, as Basenji crops 64 of 1,024), the mean over batch,
    bins and tracks, with the float16 targets read in float32: equal to a float64 numpy
    reference; the cropped bins get no gradient."""
    values = rng.normal(size=(10, 3)).astype(np.float32)
    model = _Bins(values)
    targets = rng.poisson(2.0, size=(2, 6, 3)).astype(np.float16)
    x = torch.zeros(2, 16, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    loss = train_step(model, optimizer, x, torch.from_numpy(targets), "human", clip_norm=None)
    pred = np.log1p(np.exp(values.astype(np.float64)))[2:8]
    y = targets.astype(np.float64)
    expect = np.mean(pred[None] - y * np.log(pred[None] + 1e-7))
    assert loss.dtype == torch.float32
    assert float(loss) == pytest.approx(expect, rel=1e-6)
    grad = model.values.grad.numpy()
    assert not grad[[0, 1, 8, 9]].any() and grad[2:8].all()
    d_pred = np.mean(1 - y / (pred[None] + 1e-7), axis=0) / (6 * 3)
    np.testing.assert_allclose(grad[2:8], d_pred / (1 + np.exp(-values[2:8])), rtol=1e-5)


@pytest.mark.parametrize("rows", [None, 1, 7, 64])
def test_track_metrics_match_numpy_over_all_bins(rng, monkeypatch, rows):
    """Whole batches (None), or a few rows at a time (7 rows: chunks that do not divide
    a batch)."""
    if rows is not None:
        monkeypatch.setattr(metrics_module, "CHUNK_VALUES", rows * 6)
    preds = rng.gamma(1.0, 2.0, size=(5, 4, 16, 6))
    targets = preds * rng.uniform(0.5, 1.5, size=preds.shape) + rng.normal(size=preds.shape)
    metrics = TrackMetrics(6)
    for p, y in zip(preds, targets, strict=True):
        metrics.update(torch.from_numpy(p).float(), torch.from_numpy(y).float())
    flat_p = preds.astype(np.float32).reshape(-1, 6).astype(np.float64)
    flat_y = targets.astype(np.float32).reshape(-1, 6).astype(np.float64)
    expect_r = [np.corrcoef(flat_p[:, t], flat_y[:, t])[0, 1] for t in range(6)]
    ss_res = ((flat_y - flat_p) ** 2).sum(0)
    ss_tot = ((flat_y - flat_y.mean(0)) ** 2).sum(0)
    np.testing.assert_allclose(metrics.pearson_r(), expect_r, rtol=1e-9)
    np.testing.assert_allclose(metrics.r2(), 1 - ss_res / ss_tot, rtol=1e-9)
    assert metrics.count == 5 * 4 * 16


def test_track_metrics_restored_from_their_state_continue_to_the_same_bits(rng):
    preds = torch.from_numpy(rng.gamma(1.0, 2.0, size=(4, 3, 8, 5))).float()
    targets = torch.from_numpy(rng.gamma(1.0, 2.0, size=(4, 3, 8, 5))).float()
    whole, first = TrackMetrics(5), TrackMetrics(5)
    for p, y in zip(preds, targets, strict=True):
        whole.update(p, y)
    for p, y in zip(preds[:2], targets[:2], strict=True):
        first.update(p, y)
    resumed = TrackMetrics(5)
    resumed.restore(*first.state())
    for p, y in zip(preds[2:], targets[2:], strict=True):
        resumed.update(p, y)
    assert resumed.pearson_r().tobytes() == whole.pearson_r().tobytes()
    assert resumed.r2().tobytes() == whole.r2().tobytes() and resumed.count == whole.count
    with pytest.raises(ValueError, match=r"sums of shape \(6, 4\), but these metrics hold"):
        TrackMetrics(5).restore(np.zeros((6, 4)), 0)


@pytest.mark.parametrize(
    ("count", "multiple", "processes"),
    [(9, 4, 2), (11, 4, 2), (10, 1, 3), (3, 4, 2), (0, 4, 2), (17, 4, 8), (5, 2, 1)],
)
def test_the_processes_shares_are_whole_batches_covering_the_items_once(
    monkeypatch, count, multiple, processes
):
    monkeypatch.setattr(distributed, "world_size", lambda: processes)
    shares = []
    for rank in range(processes):
        monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
        shares.append(distributed.share(count, multiple))
    assert [i for share in shares for i in share] == list(range(count))
    # a pass continued from each start batches as a whole pass does (array_metrics' rule)
    assert all(share.start % multiple == 0 or share.start == count for share in shares)
    batches = [-(-len(share) // multiple) for share in shares]
    assert max(batches) - min(batches) <= 1, shares
    # process 0 alone reports progress: its share is the largest, not an empty one while
    # another process scores every window (before: 0/0 windows of 3 at batch 4)
    assert len(shares[0]) == max(len(share) for share in shares), shares


def test_metrics_of_the_shares_of_a_pass_add_up_to_the_whole_pass(rng, monkeypatch):
    """The sums over the windows of each process's share, added as the processes add them,
    are the one-process pass's to float64 rounding; so are the losses, weighted by windows."""
    torch.manual_seed(0)
    model = SeqNN(parse_params(small_params({"human": 3}, dropout=0.0)).model).eval()
    codes = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (9, SEQ_LENGTH))]
    bins = model.output_length()
    targets = rng.gamma(1.0, 2.0, size=(9, bins, 3)).astype(np.float16)
    options = InferenceOptions(device="cpu", batch_size=4)
    whole, whole_loss = array_metrics(model, "human", codes, targets, options, loss=poisson_loss)
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    sums, count, loss_sum = np.zeros((6, 3)), 0, 0.0
    for rank in (0, 1):
        monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
        share = distributed.share(len(codes), options.batch_size)
        part, loss = array_metrics(
            model,
            "human",
            codes,
            targets,
            options,
            loss=poisson_loss,
            start=share.start,
            stop=share.stop,
        )
        sums, count, loss_sum = (
            sums + part.state()[0],
            count + part.count,
            loss_sum + loss * len(share),
        )
    added = TrackMetrics(3)
    added.restore(sums, count)
    assert count == whole.count == 9 * bins
    np.testing.assert_allclose(added.pearson_r(), whole.pearson_r(), rtol=1e-12)
    np.testing.assert_allclose(added.r2(), whole.r2(), rtol=1e-12)
    assert loss_sum / len(codes) == pytest.approx(whole_loss, rel=1e-12)
    with pytest.raises(ValueError, match="windows 4 to 10 are not a pass over 9 windows"):
        array_metrics(model, "human", codes, targets, options, start=4, stop=10)


def test_the_loss_of_a_pass_is_the_mean_of_each_windows_loss(rng):
    """9 windows in batches of 4, 4 and 1: each batch's mean loss counts once per window
    it holds (the validation loss of metrics.csv), as one window at a time gives it."""
    torch.manual_seed(0)
    model = SeqNN(parse_params(small_params({"human": 3}, dropout=0.0)).model).eval()
    codes = np.frombuffer(b"ACGT", np.uint8)[rng.integers(0, 4, (9, SEQ_LENGTH))]
    targets = rng.gamma(1.0, 2.0, size=(9, model.output_length(), 3)).astype(np.float16)
    options = InferenceOptions(device="cpu", batch_size=4)
    _, loss = array_metrics(model, "human", codes, targets, options, loss=poisson_loss)
    with torch.no_grad():
        x = torch.from_numpy(one_hot(codes, dtype=np.float32))
        y = torch.from_numpy(targets).float()
        each = [float(poisson_loss(model(x[i : i + 1], "human"), y[i : i + 1])) for i in range(9)]
    assert loss == pytest.approx(np.mean(each), rel=1e-5)


def test_track_metrics_leave_float64_inputs_as_they_were(rng):
    pred = torch.from_numpy(rng.normal(size=(2, 5, 3)))
    target = torch.from_numpy(rng.normal(size=(2, 5, 3)))
    kept = target.clone()
    TrackMetrics(3).update(pred, target)
    torch.testing.assert_close(target, kept, rtol=0, atol=0)


PEAK_ABOVE_INPUTS = """
import resource, torch
from crossreg.memory import tune_malloc
from crossreg.model.metrics import TrackMetrics
tune_malloc()  # as the command line does
torch.set_num_threads(1)  # one heap: a second thread's arena makes the peak vary
torch.manual_seed(0)
pred, target = torch.rand(4, 896, 5313), torch.rand(4, 896, 5313)
metrics = TrackMetrics(5313)
metrics.update(pred[:1, :8], target[:1, :8])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
metrics.update(pred, target)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


def test_track_metrics_hold_no_float64_copy_of_a_batch():
    """At the paper's 5,313 tracks a batch of 4 windows of 896 bins is 145 MiB of float32
    predictions and targets; float64 copies of the whole batch and its products took
    581-1,016 MiB more (peak resident memory of a fresh process with the command line's
    allocator settings), chunks of rows 96."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_ABOVE_INPUTS], capture_output=True, text=True, check=True
    )
    assert int(done.stdout) < 300, f"update's peak: {done.stdout.strip()} MiB above its inputs"


def test_constant_predictions_give_zero_correlation():
    metrics = TrackMetrics(2)
    metrics.update(torch.ones(10, 2), torch.arange(20.0).reshape(10, 2))
    np.testing.assert_array_equal(metrics.pearson_r(), [0.0, 0.0])


def test_a_constant_target_gives_zero_correlation_whatever_the_rounding(rng):
    # float16 targets at one value (1.7 rounds to 1.7001953125) against varied predictions:
    # Σy² − (Σy)²/n came out exactly 0 while the covariance kept rounding, and R was ±1.8e308
    for _ in range(100):
        value = float(rng.uniform(0.1, 100.0))
        target = torch.full((896, 3), value, dtype=torch.float16)
        metrics = TrackMetrics(3)
        for _ in range(4):
            metrics.update(torch.from_numpy(rng.gamma(0.5, 2.0, size=(896, 3))), target)
        np.testing.assert_array_equal(metrics.pearson_r(), [0.0, 0.0, 0.0])
        assert np.isnan(metrics.r2()).all()


def test_a_small_spread_on_a_large_baseline_is_scored(rng):
    # sd/mean 1e-5 is far above float32's resolution: scored, not called constant (R 0)
    z = rng.normal(size=(4096, 1))
    target = torch.from_numpy(1000 + 0.01 * z).float()
    pred = torch.from_numpy(1000 + 0.01 * (z + 0.3 * rng.normal(size=z.shape))).float()
    metrics = TrackMetrics(1)
    metrics.update(pred, target)
    p, y = pred.double().numpy()[:, 0], target.double().numpy()[:, 0]
    np.testing.assert_allclose(metrics.pearson_r(), [np.corrcoef(p, y)[0, 1]], rtol=1e-3)
    assert metrics.pearson_r()[0] > 0.9 and np.isfinite(metrics.r2()).all()


def test_a_non_finite_prediction_gives_nan_not_0():
    metrics = TrackMetrics(3)
    pred = torch.tensor([[1.0, float("nan"), float("inf")], [2.0, 1.0, 1.0]])
    metrics.update(pred, torch.tensor([[1.0, 1.0, 1.0], [3.0, 2.0, 2.0]]))
    assert metrics.non_finite().tolist() == [False, True, True]
    r = metrics.pearson_r()
    assert r[0] == pytest.approx(1.0) and np.isnan(r[1:]).all()
    assert np.isnan(metrics.r2()[1:]).all()


def test_pearson_r_stays_within_one_for_tiny_spreads(rng):
    # a spread far below rounding on a large offset counts as none: R is 0 (as for a
    # constant track), never rounding noise, let alone a correlation outside [-1, 1]
    x = rng.normal(size=(4096, 2))
    noisy = 0  # offsets whose float64 sums leave a positive rounding spread in both
    for offset in np.linspace(1e5, 1e7, 40):
        metrics = TrackMetrics(2)
        pred, target = offset + 1e-6 * x, offset + 1e-6 * x[:, ::-1]
        metrics.update(torch.from_numpy(pred), torch.from_numpy(target))
        np.testing.assert_array_equal(metrics.pearson_r(), [0.0, 0.0], err_msg=str(offset))
        sy, sp, syy, spp = metrics._sums.cpu().numpy()[:4]
        noisy += int(((syy - sy * sy / len(x) > 0) & (spp - sp * sp / len(x) > 0)).any())
    assert noisy >= 5  # the inputs reach the rounding rule, not only spreads below 0


def test_track_metrics_known_answers():
    metrics = TrackMetrics(2)
    pred = torch.tensor([[1.0, 2.0], [2.0, 2.0], [3.0, 2.0]])
    target = torch.tensor([[1.0, 5.0], [2.0, 5.0], [5.0, 5.0]])
    metrics.update(pred, target)
    # track 0: deviations (-1, 0, 1) and (-5/3, -2/3, 7/3) give R = 4 / sqrt(2 * 26/3),
    # R² = 1 - (0² + 0² + 2²) / (26/3) = 7/13; track 1: a constant target, R 0 and no R²
    r, r2 = metrics.pearson_r(), metrics.r2()
    assert r[0] == pytest.approx(4 / np.sqrt(2 * 26 / 3), rel=1e-12) and r[1] == 0
    assert r2[0] == pytest.approx(7 / 13, rel=1e-12) and np.isnan(r2[1])


def test_metrics_reject_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        TrackMetrics(3).update(torch.zeros(2, 3), torch.zeros(2, 4))


def _params_with_grads(scales: list[float]) -> list[torch.nn.Parameter]:
    params = []
    for i, s in enumerate(scales):
        p = torch.nn.Parameter(torch.zeros(4 + i))
        p.grad = torch.full((4 + i,), s)
        params.append(p)
    return params


def test_per_tensor_clipping_clips_each_gradient_alone():
    params = _params_with_grads([10.0, 0.1])
    before_small = params[1].grad.clone()
    clip_gradients(params, 2.0, "per_tensor")
    assert float(torch.linalg.vector_norm(params[0].grad)) == pytest.approx(2.0, rel=1e-5)
    torch.testing.assert_close(params[1].grad, before_small)


def test_per_tensor_clipping_equals_one_tensor_at_a_time():
    """The multi-tensor clipping gives what clipping each gradient on its own gives, on a
    model's real gradients (some above the limit, some below, one all zero)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 5), torch.nn.ReLU(), torch.nn.Conv1d(8, 3, 1))
    model(torch.randn(2, 4, 50)).pow(2).mean().backward()
    model[2].bias.grad.zero_()
    expected = []
    for p in model.parameters():
        norm = torch.linalg.vector_norm(p.grad)
        expected.append(p.grad * torch.clamp(0.09 / (norm + 1e-12), max=1.0))
    assert any(float(torch.linalg.vector_norm(p.grad)) > 0.09 for p in model.parameters())
    assert any(0 < float(torch.linalg.vector_norm(p.grad)) < 0.09 for p in model.parameters())
    clip_gradients(model.parameters(), 0.09, "per_tensor")
    for p, want in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(p.grad, want, rtol=1e-6, atol=0)
    clip_gradients([torch.nn.Parameter(torch.zeros(2))], 0.5, "per_tensor")  # no gradients


def test_global_clipping_clips_the_joint_norm():
    params = _params_with_grads([10.0, 0.1])
    clip_gradients(params, 2.0, "global")
    total = torch.linalg.vector_norm(torch.cat([p.grad for p in params]))
    assert float(total) == pytest.approx(2.0, rel=1e-5)
    with pytest.raises(ValueError, match="clip mode"):
        clip_gradients(params, 2.0, "sideways")


def test_optimizer_from_train_section():
    p = [torch.nn.Parameter(torch.zeros(2))]
    sgd = build_optimizer(p, {"optimizer": "sgd", "learning_rate": 0.15, "momentum": 0.99})
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.defaults["lr"] == 0.15 and sgd.defaults["momentum"] == 0.99
    assert not sgd.defaults["fused"]  # the fused kernel is for CUDA parameters
    assert isinstance(build_optimizer(p, {"optimizer": "adam"}), torch.optim.Adam)
    # Basenji's params may name SGD with momentum "momentum"
    named = build_optimizer(p, {"optimizer": "momentum", "learning_rate": 0.1, "momentum": 0.9})
    assert isinstance(named, torch.optim.SGD) and named.defaults["momentum"] == 0.9
    with pytest.raises(ValueError, match="not supported"):
        build_optimizer(p, {"optimizer": "lbfgs"})


def test_optimizer_defaults_are_basenjis():
    """A train section naming none of them takes the defaults docs/steps/train.md lists:
    SGD with momentum 0.99 (not Nesterov) at learning rate 0.01; Adam betas 0.9, 0.999."""
    p = [torch.nn.Parameter(torch.zeros(2))]
    sgd = build_optimizer(p, {})
    assert isinstance(sgd, torch.optim.SGD)
    assert (sgd.defaults["lr"], sgd.defaults["momentum"]) == (0.01, 0.99)
    assert not sgd.defaults["nesterov"]
    adam = build_optimizer(p, {"optimizer": "adam"})
    assert (adam.defaults["lr"], adam.defaults["betas"]) == (0.01, (0.9, 0.999))


def test_a_step_of_one_genome_leaves_the_other_head_alone_momentum_and_all():
    """Basenji's ``fit2``: one optimizer for trunk and heads, each step updating the trunk
    and the drawing genome's head only. A head left out of a step keeps its weights, even
    with momentum left from its own earlier steps; the trunk's momentum is shared."""
    from crossreg.model.params import parse_params
    from crossreg.model.seqnn import SeqNN
    from crossreg.train.step import train_step

    section = {
        "seq_length": 256,
        "activation": "gelu",
        "norm_type": "batch",
        "bn_momentum": 0.9,
        "trunk": [
            {"name": "conv_block", "filters": 8, "kernel_size": 5, "pool_size": 4},
            {"name": "dilated_residual", "filters": 4, "rate_mult": 2, "repeat": 2},
            {"name": "Cropping1D", "cropping": 8},
        ],
        "head_human": {"name": "final", "units": 3, "activation": "softplus"},
        "head_mouse": {"name": "final", "units": 2, "activation": "softplus"},
    }
    generator = torch.Generator().manual_seed(4)
    model = SeqNN(parse_params({"model": section}).model, generator=generator)
    optimizer = build_optimizer(
        model.parameters(), {"optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9}
    )
    gen = torch.Generator().manual_seed(5)
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (2, 256), generator=gen), 4).float()
    targets = {"human": torch.rand(2, 48, 3, generator=gen), "mouse": torch.rand(2, 48, 2)}

    def step(genome: str) -> None:
        train_step(model, optimizer, x, targets[genome], genome, clip_norm=2.0)

    step("human")
    human = {k: v.detach().clone() for k, v in model.heads["human"].state_dict().items()}
    trunk = model.trunk[0].conv.weight.detach().clone()
    step("mouse")  # the human head has momentum from its step, but takes no part here
    for name, value in model.heads["human"].state_dict().items():
        assert torch.equal(value, human[name]), name
    assert not torch.equal(model.trunk[0].conv.weight, trunk)
    buffers = [optimizer.state[p].get("momentum_buffer") for p in model.heads["mouse"].parameters()]
    assert all(b is not None for b in buffers)  # one optimizer's slots for every head


def test_epoch_schedule_draws_genomes_in_proportion():
    order = epoch_schedule([8505, 7323], np.random.default_rng(1))
    assert np.bincount(order).tolist() == [8505, 7323]
    again = epoch_schedule([8505, 7323], np.random.default_rng(1))
    np.testing.assert_array_equal(order, again)
    assert not np.array_equal(order, np.sort(order))


def test_early_stopping_waits_for_every_genome():
    stop = EarlyStopping(n_genomes=2, patience=1)
    assert stop.update([0.5, 0.4]) == [True, True]
    assert stop.update([0.4, 0.5]) == [False, True]
    assert not stop.should_stop
    stop.update([0.4, 0.4])  # genome 0 unimproved 2 > 1, genome 1 unimproved 1
    assert not stop.should_stop
    stop.update([0.4, 0.4])
    assert stop.should_stop
    restored = EarlyStopping(n_genomes=2, patience=1)
    restored.load_state_dict(stop.state_dict())
    assert restored.should_stop and restored.best == stop.best


def _fit2_epochs(scores: np.ndarray, patience: int, min_epochs: int) -> int:
    """The epochs Basenji's ``fit2`` loop runs on a table of per-epoch, per-genome
    validation R: at each epoch's start it stops once ``min_epochs`` have run and every
    genome has gone more than ``patience`` epochs without a strictly better R (from -inf)."""
    best = [-np.inf] * scores.shape[1]
    unimproved = [0] * scores.shape[1]
    for ei in range(len(scores)):
        if ei >= min_epochs and min(unimproved) > patience:
            return ei
        for di, value in enumerate(scores[ei]):
            if value > best[di]:
                best[di], unimproved[di] = value, 0
            else:
                unimproved[di] += 1
    return len(scores)


def test_early_stopping_ends_where_basenjis_fit2_loop_does(rng):
    """Per-epoch scores of two genomes, rising then noisy (ties included, rounded to 0.05):
    EarlyStopping ends after as many epochs as a plain transcription of fit2's loop."""
    ended = set()
    for trial in range(300):
        patience, min_epochs = int(rng.integers(0, 5)), int(rng.integers(1, 8))
        rising = np.minimum(np.arange(40)[:, None] / rng.integers(3, 20, size=2), 1.0)
        scores = np.round(rising + rng.normal(0, 0.05, size=(40, 2)), 1)
        stop = EarlyStopping(n_genomes=2, patience=patience, min_epochs=min_epochs)
        epochs = 0
        while epochs < len(scores) and not stop.should_stop:
            stop.update(scores[epochs].tolist())
            epochs += 1
        assert epochs == _fit2_epochs(scores, patience, min_epochs), trial
        ended.add(epochs)
    assert len(ended) > 10  # the trials stop at many different epochs


def test_poisson_loss_known_answer():
    """pred (1, 2) against targets (0, 2): (1 + 2 − 2·ln(2 + 1e-7)) / 2."""
    got = poisson_loss(torch.tensor([[[1.0], [2.0]]]), torch.tensor([[[0.0], [2.0]]]))
    assert float(got) == pytest.approx((3 - 2 * np.log(2 + 1e-7)) / 2, rel=1e-7)


def test_poisson_loss_of_a_zero_prediction_is_finite_through_the_epsilon():
    """A softplus head's prediction can underflow to 0: pred (0, 0) against targets
    (0, 3) is (0 + 0 − 3·ln(1e-7)) / 2, not infinite."""
    got = poisson_loss(torch.zeros(1, 2, 1), torch.tensor([[[0.0], [3.0]]]))
    assert float(got) == pytest.approx(-3 * np.log(1e-7) / 2, rel=1e-6)


def test_training_state_round_trip_resumes_exactly(tmp_path):
    from crossreg.train.state import load_training_state, save_training_state

    def make():
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, opt

    def step(model, opt):
        x = torch.randn(4, 3)
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()

    model, opt = make()
    step(model, opt)
    save_training_state(tmp_path, opt, {"epoch": 1})
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    step(model, opt)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    model2, opt2 = make()
    model2.load_state_dict(weights)
    torch.manual_seed(999)
    assert load_training_state(tmp_path, opt2) == {"epoch": 1}
    step(model2, opt2)
    for k, v in model2.state_dict().items():
        torch.testing.assert_close(v, expected[k], rtol=0, atol=0)


def test_resumed_optimizer_keeps_its_own_update_kernel(tmp_path):
    """A run saved with the fused kernel (a GPU's) resumes with the kernel chosen for where
    its parameters are now, and the same momentum."""
    from crossreg.train.state import load_training_state, save_training_state

    param = torch.nn.Parameter(torch.ones(3))
    fused = torch.optim.SGD([param], lr=0.1, momentum=0.9, fused=True)
    param.grad = torch.full((3,), 0.5)
    fused.step()
    save_training_state(tmp_path, fused, {})
    plain = torch.optim.SGD([torch.nn.Parameter(torch.ones(3))], lr=0.1, momentum=0.9)
    load_training_state(tmp_path, plain)
    assert not plain.param_groups[0]["fused"]
    assert plain.param_groups[0]["momentum"] == 0.9
    momentum = next(iter(plain.state.values()))["momentum_buffer"]
    torch.testing.assert_close(momentum, torch.full((3,), 0.5))


def test_training_state_missing_files_are_named(tmp_path):
    from crossreg.train.state import load_training_state

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="not a resumable training checkpoint"):
        load_training_state(tmp_path, opt)


def test_ddp_searches_for_unused_parameters_only_with_several_trained_heads(tmp_path):
    """Each step trains one genome's head: with two heads DDP must find the other's unused
    parameters; with one head (or one left trainable) it is built without the search.
    Training wraps a model only in a group of several processes."""
    import torch.distributed as dist

    from crossreg import distributed
    from crossreg.model.params import parse_params
    from crossreg.model.seqnn import SeqNN
    from tests.pipeline import small_params

    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1
    )
    try:
        for heads, frozen, search in (
            ({"a": 3, "b": 2}, [], True),
            ({"a": 3}, [], False),
            ({"a": 3, "b": 2}, ["b"], False),
        ):
            model = SeqNN(parse_params(small_params(heads)).model)
            for name in frozen:
                model.heads[name].requires_grad_(False)
            assert distributed.wrap(model, torch.device("cpu")) is model
            wrapped = distributed.data_parallel(model, torch.device("cpu"))
            assert wrapped.find_unused_parameters is search, (heads, frozen)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize(
    ("says", "expected"),
    [
        ({}, (True, 3)),  # silent params: the paper's reverse complements and ±3 bp
        ({"augment_rc": False, "augment_shift": 0}, (False, 0)),  # turned off: followed
        ({"augment_rc": False}, (False, 0)),
        ({"augment_shift": [-2, 0, 2]}, (False, 2)),
        ({"augment_rc": True, "augment_shift": [0]}, (True, 0)),
    ],
)
def test_augmentation_follows_the_params_and_the_paper_where_they_are_silent(says, expected):
    from crossreg.model.params import parse_params
    from crossreg.train.options import TrainOptions
    from tests.pipeline import small_params

    raw = small_params({"human": 2})
    raw["model"].update(says)
    params = parse_params(raw)
    options = TrainOptions().resolved(params.train, params.model)
    assert (options.augment_rc, options.augment_shift) == expected
    given = TrainOptions(augment_rc=True, augment_shift=1).resolved(params.train, params.model)
    assert (given.augment_rc, given.augment_shift) == (True, 1)  # the command line wins


def test_a_training_state_leaves_the_gpus_generators_alone(tmp_path, monkeypatch):
    """A run saved on a machine with 8 GPUs resumes on one with fewer: the state holds the
    host's generator only (every epoch reseeds the GPUs' from it)."""
    from safetensors.torch import load_file

    from crossreg.train.state import TENSORS_FILE, load_training_state, save_training_state

    def untouched(*_args):
        raise AssertionError("a GPU generator was read or set")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", untouched)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", untouched)
    opt = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    save_training_state(tmp_path, opt, {})
    assert [k for k in load_file(str(tmp_path / TENSORS_FILE)) if k.startswith("rng")] == [
        "rng.torch"
    ]
    assert load_training_state(tmp_path, opt) == {}


def test_under_torchrun_a_bare_cuda_is_this_processs_gpu_and_the_backend_follows_the_device(
    monkeypatch,
):
    from crossreg import distributed

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert distributed.resolve_device("cuda") == torch.device("cuda", 3)
    assert distributed.resolve_device("cuda:1") == torch.device("cuda", 1)
    assert distributed.resolve_device("cpu") == torch.device("cpu")
    backends = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda index: backends.append(index))
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(
        distributed.dist, "init_process_group", lambda backend: backends.append(backend)
    )
    distributed.init("cpu")  # a CPU run on a machine with GPUs: gloo, as NCCL cannot
    distributed.init(None)
    assert backends == ["gloo", 3, "nccl"]
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert distributed.resolve_device("cuda") == torch.device("cuda")
