"""Time budgets and deadlines: the cost model, the budget planner, re-planning to a deadline (plan.py,
costs.py), and what a run under a deadline or a budget yields (engine), on untrained weights."""

from __future__ import annotations

import math

import pytest

from style_transfer import StyleConfig, stylize
from style_transfer.costs import CostModel, fallback, fit
from style_transfer.engine import calibrate
from style_transfer.plan import BUDGET_MAX_STEPS, MIN_FINAL_STEPS, RunPlan, Scale, budget_plan, trim_to_time
from style_transfer.settings import OperatorSettings

pytestmark = pytest.mark.usefixtures("no_network")

# A machine where a step costs 0.1 s plus 1 s per 100k pixels, a scale's set-up 0.2 s plus 0.5 s per 100k.
COST = CostModel("float32", 0.1, 1e-5, 0.2, 5e-6)


def seconds_of(plan: list[Scale], cost: CostModel = COST, setup_factor: float = 2.0) -> float:
    return sum(cost.setup(setup_factor * math.prod(s.size)) + s.steps * cost.step(math.prod(s.size)) for s in plan)


def test_fit_recovers_a_linear_cost_and_refuses_negative_fixed_costs():
    steps = [(p, 0.05 + 4e-6 * p) for p in (10_000, 50_000, 110_000)]
    setups = [(p, 0.1 + 2e-6 * p) for p in (20_000, 100_000, 220_000)]
    model = fit("bfloat16", steps, setups)
    assert model.calibrated and model.dtype == "bfloat16"
    assert model.step_seconds == pytest.approx(0.05) and model.step_seconds_per_pixel == pytest.approx(4e-6)
    assert model.setup(100_000) == pytest.approx(0.3)
    noisy = fit("float32", [(10_000, 0.0), (20_000, 0.5)], [(1, 1.0), (2, 1.0)])
    assert noisy.step_seconds == 0.0 and noisy.step_seconds_per_pixel > 0  # through the origin, not below it


@pytest.mark.parametrize("seconds", [5.0, 20.0, 60.0])
def test_a_budget_plan_fills_its_seconds_and_no_more(seconds):
    plan = budget_plan((640, 480), 512, "balanced", seconds, COST, setup_factor=2.0)
    assert plan[-1].size == (512, 384), "the last scale is the output size"
    assert seconds_of(plan) <= seconds
    one_more = [*plan[:-1], Scale(plan[-1].size, plan[-1].steps + 1)]
    assert seconds_of(one_more) > seconds * 0.85, "the plan leaves most of the budget unused"


def test_a_faster_machine_buys_more_steps():
    slow = budget_plan((640, 480), 512, "balanced", 20.0, COST, 2.0)
    fast = budget_plan((640, 480), 512, "balanced", 20.0, CostModel("bfloat16", 0.05, 5e-6, 0.1, 2.5e-6), 2.0)
    assert sum(s.steps for s in fast) > 1.5 * sum(s.steps for s in slow)


def test_a_short_budget_drops_the_coarse_scale_before_starving_the_output_size():
    plan = budget_plan((640, 480), 512, "balanced", 3.0, COST, 2.0)
    assert [s.size for s in plan] == [(512, 384)], plan
    assert 1 <= plan[0].steps < MIN_FINAL_STEPS


def test_a_budget_never_plans_more_than_the_caps():
    generous = budget_plan((64, 48), 64, "balanced", 3600.0, COST, 2.0)
    assert sum(s.steps for s in generous) == BUDGET_MAX_STEPS
    capped = budget_plan((64, 48), 64, "balanced", 3600.0, COST, 2.0, max_steps=40)
    assert sum(s.steps for s in capped) == 40


def step_cost(scale: Scale) -> float:
    return COST.step(math.prod(scale.size))


def setup_cost(scale: Scale) -> float:
    return COST.setup(2 * math.prod(scale.size))


def test_trim_keeps_a_plan_that_fits_and_shrinks_one_that_does_not():
    remaining = [Scale((256, 192), 20), Scale((512, 384), 10)]
    assert trim_to_time(remaining, 1e6, step_cost, setup_cost) == remaining
    trimmed = trim_to_time(remaining, 8.0, step_cost, setup_cost)
    assert trimmed[-1].size == (512, 384) and trimmed[-1].steps >= 1
    need = sum(s.steps * step_cost(s) for s in trimmed) + setup_cost(Scale((512, 384), 0))
    assert need <= 8.0
    ratio = [t.steps / r.steps for t, r in zip(trimmed, remaining)]
    assert max(ratio) - min(ratio) < 0.25, f"not shrunk alike: {trimmed}"


def test_trim_spends_time_that_cannot_buy_an_output_step_on_the_current_scale():
    remaining = [Scale((256, 192), 20), Scale((1024, 768), 10)]
    output_step = step_cost(remaining[1]) + setup_cost(remaining[1])
    seconds = output_step * 0.5
    trimmed = trim_to_time(remaining, seconds, step_cost, setup_cost)
    assert trimmed == [Scale((256, 192), math.floor(seconds / step_cost(remaining[0])))]
    assert trim_to_time(remaining, 0.01, step_cost, setup_cost) == []


def test_trim_counts_the_steps_taken_toward_the_current_scales_share():
    """Half the time the plan needs, with half the coarse steps taken: the coarse scale is done and
    the output size gets half its steps (re-planning every step must not keep stretching a scale)."""
    planned = [Scale((256, 192), 40), Scale((512, 384), 20)]
    final = planned[1]
    seconds = 10 * step_cost(final) + setup_cost(final)
    trimmed = trim_to_time(planned, seconds, step_cost, setup_cost, done_here=20)
    assert trimmed[0] == Scale((256, 192), 0)
    assert trimmed[1].size == final.size and 9 <= trimmed[1].steps <= 10


def test_steps_cut_while_the_machine_was_slow_come_back_when_it_is_fast_again(monkeypatch):
    """The pacer on a fake clock: three slow steps make it cut the plan to the deadline; then fast
    steps give them back, never more than first planned, and the run still ends before the deadline."""
    from style_transfer.engine import pacer as pacing

    clock = [0.0]
    monkeypatch.setattr(pacing.time, "perf_counter", lambda: clock[0])
    planned = [Scale((64, 48), 10), Scale((128, 96), 10)]
    pacer = pacing.Pacer(run_plan_of(planned, CostModel("float32", 1.0, 0.0, 0.0, 0.0)), deadline=22.0, cap=None)
    seconds_per_step = [3.0] * 3 + [0.1] * 100
    index = taken = 0
    while index < len(pacer.plan):
        pacer.start_scale()
        done_here = 0
        while done_here < pacer.plan[index].steps:
            clock[0] += seconds_per_step[taken]
            taken, done_here = taken + 1, done_here + 1
            pacer.tick(index, done_here)
            if taken == 3:
                cut = pacer.total()
        index += 1
    assert cut < 10, "three 3 s steps against a 1 s model and a 22 s deadline: the plan must shrink"
    assert cut < pacer.total() <= 20, "fast steps afterwards: the cut steps come back, up to the plan"
    assert clock[0] <= 22.0


def run_plan_of(scales: list[Scale], cost: CostModel) -> RunPlan:
    """A RunPlan of these scales on this cost model (set-up factor 1: it reads the content alone)."""
    return RunPlan(scales[-1].size, (), 1.0, scales, 0.0, 0, cost)


def paced_run(pacer, seconds_per_step, clock) -> int:
    """The engine's loop over a pacer on a fake clock: the steps it lets the run take."""
    index = taken = 0
    while index < len(pacer.plan):
        pacer.start_scale()
        done_here = 0
        while done_here < pacer.plan[index].steps:
            clock[0] += seconds_per_step
            taken, done_here = taken + 1, done_here + 1
            pacer.tick(index, done_here)
        index += 1
    return taken


def test_under_a_time_budget_the_output_size_spends_the_time_the_plan_left(monkeypatch):
    """Steps twice as fast as the model: a budgeted run (most_steps) keeps stepping until the deadline,
    up to its step cap; without a budget the plan is a ceiling."""
    from style_transfer.engine import pacer as pacing

    clock = [0.0]
    monkeypatch.setattr(pacing.time, "perf_counter", lambda: clock[0])

    def run(most_steps: int) -> tuple[int, float]:
        clock[0] = 0.0
        plan = run_plan_of([Scale((128, 96), 5)], CostModel("float32", 1.0, 0, 0, 0))
        pacer = pacing.Pacer(plan, deadline=20.0, cap=None)
        pacer.most_steps = most_steps
        return paced_run(pacer, 0.5, clock), clock[0]

    assert run(0) == (5, 2.5), "no budget: the plan's 5 steps, however fast"
    steps, seconds = run(300)
    assert steps > 30 and 0.9 * 20.0 <= seconds <= 20.0 - pacing.FINISH_SECONDS, (steps, seconds)
    assert run(8)[0] == 8, "the budget's step cap holds"


def test_a_cost_model_serves_only_the_objective_and_precision_it_was_measured_on():
    """A tutorial step (no half-size deep layers) costs ~2.4x a normalized one: a budget planned with the
    other objective's model would be cut by half as it runs."""
    measured = fit("float32", [(1000, 1.0), (2000, 2.0)], [(1000, 0.1), (2000, 0.2)], "normalized")
    assert measured.fits("normalized", "float32")
    assert not measured.fits("tutorial", "float32") and not measured.fits("normalized", "bfloat16")
    assert fallback("float32").fits("tutorial", "float32"), "the built-in constants stand in for any objective"


def test_calibration_measures_this_machine(tmp_path):
    model = calibrate(OperatorSettings(weights="untrained"))
    assert model.calibrated and model.dtype in ("float32", "bfloat16")
    assert 0 < model.step(256 * 192) < model.step(512 * 384) < 60
    assert calibrate(OperatorSettings(weights="untrained")) is model, "calibrated once per process"


# ---------------------------------------------------------------- runs under a budget or a deadline


def test_a_run_under_the_operators_time_limit_ends_in_time_at_the_output_size(content_image, style_image):
    settings = OperatorSettings(weights="untrained", max_seconds=1.5, max_steps=0)
    config = StyleConfig(size=128, steps=5000, preset="best", preview_every=1000)
    frames = list(stylize(content_image, [style_image], config, settings=settings, cost=fallback("float32")))
    final = frames[-1]
    assert final.done and final.step == len(frames) < 5000
    assert final.total == final.step, "the last frame's total is the steps the run really took"
    assert final.elapsed <= 1.5 + 1.0, "one step of overrun at most (a step cannot be interrupted)"
    assert final.image is not None and final.image.size == (128, 96), "the picture so far, at the output size"
    assert final.note and "STYLE_TRANSFER_MAX_SECONDS" in final.note and "5000" in final.note
    assert final.recipe is not None and sum(s[2] for s in final.recipe["plan"]) == final.step


def test_a_budgeted_run_plans_its_steps_and_says_nothing(content_image, style_image):
    settings = OperatorSettings(weights="untrained", max_seconds=0)
    frames = list(stylize(content_image, [style_image], StyleConfig(size=64, seconds=2.0), settings=settings))
    final = frames[-1]
    assert final.done and final.note is None
    assert final.elapsed <= 2.0 + 0.5
    assert final.recipe is not None and final.recipe["config"]["seconds"] == 2.0


def test_an_explicit_step_count_wins_over_a_budget(content_image, style_image):
    config = StyleConfig(size=64, seconds=30.0, steps=5)
    assert not config.budgeted
    frames = list(stylize(content_image, [style_image], config, settings=OperatorSettings(weights="untrained")))
    assert len(frames) == 5
