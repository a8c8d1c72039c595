"""A run's clock: elapsed time, preview pacing, the ETA, and the plan kept to a deadline."""

from __future__ import annotations

import math
import time

from ..plan import RunPlan, Scale, trim_to_time
from ..timelapse import film_frame_due

PREVIEW_SECONDS = 1.0
FINISH_SECONDS = 0.3  # kept free before a deadline: the last preview and the PNG


class Pacer:
    """The run's clock: elapsed time, preview pacing, the ETA, and the plan kept to the deadline.

    Times are predicted by the plan's cost model times ``speed``, the measured over the predicted
    step time (a moving average): a machine busier or slower than at calibration gets
    longer ETAs and, under a deadline, fewer remaining steps instead of an overrun. Each
    step re-plans from the steps first planned, so steps cut while the machine was slow
    come back when it is fast again (never more than planned), except under a time budget
    (``most_steps``): there the output size takes as many steps as the time left buys.
    """

    def __init__(
        self,
        run_plan: RunPlan,
        deadline: float | None,
        cap: str | None,
        most_steps: int = 0,  # a time budget's cap on the run's steps; 0: no budget, never more than planned
        start: float | None = None,  # when the clock started (perf_counter): before the images were read
    ):
        self.plan, self.planned = list(run_plan.scales), list(run_plan.scales)
        self.planned_total = run_plan.steps
        self.output_size = run_plan.output_size
        self.cost, self.setup_factor = run_plan.cost, run_plan.setup_factor
        self.deadline, self.cap = deadline, cap
        self.most_steps, self.speed = most_steps, 1.0
        self.start = self.last_tick = self.last_preview = time.perf_counter() if start is None else start

    def past_deadline(self) -> bool:
        """Whether the time limit has passed: asked between the images read and the style passes of a set-up."""
        return self.deadline is not None and time.perf_counter() - self.start > self.deadline

    def total(self) -> int:
        return sum(scale.steps for scale in self.plan)

    def start_scale(self) -> None:
        self.last_tick = time.perf_counter()  # the step rate excludes the set-up

    def tick(self, index: int, done_here: int) -> None:
        now = time.perf_counter()
        if done_here > 1:  # a scale's first step includes one-off work on a new shape; keep it out
            predicted = self.cost.step(math.prod(self.plan[index].size))
            self.speed = 0.7 * self.speed + 0.3 * (now - self.last_tick) / predicted
        self.last_tick = now
        if self.deadline is not None:
            self._keep_to_deadline(index, done_here)

    def _keep_to_deadline(self, index: int, done_here: int) -> None:
        current = self.plan[index]
        position = next(i for i, scale in enumerate(self.planned) if scale.size == current.size)
        assert self.deadline is not None
        seconds_left = self.deadline - self.elapsed() - FINISH_SECONDS
        planned = self.planned[position:]
        if self.most_steps and len(planned) == 1:
            planned = [Scale(current.size, self._output_steps(index, done_here, seconds_left))]
        trimmed = trim_to_time(planned, seconds_left, self._step_seconds, self._setup_seconds, done_here)
        steps_here = done_here + (trimmed[0].steps if trimmed and trimmed[0].size == current.size else 0)
        later = [scale for scale in trimmed if scale.size != current.size]
        self.plan = [*self.plan[:index], Scale(current.size, steps_here), *later]

    def _output_steps(self, index: int, done_here: int, seconds_left: float) -> int:
        """Under a time budget, the output size's steps: its plan, or more if the time left buys them."""
        current = self.plan[index]
        affordable = done_here + max(0, math.floor(seconds_left / self._step_seconds(current)))
        before = sum(scale.steps for scale in self.plan[:index])
        return max(done_here, min(max(self.planned[-1].steps, affordable), self.most_steps - before))

    def _step_seconds(self, scale: Scale) -> float:
        return self.cost.step(math.prod(scale.size)) * self.speed

    def _setup_seconds(self, scale: Scale) -> float:
        return self.cost.setup(self.setup_factor * math.prod(scale.size)) * self.speed

    def elapsed(self) -> float:
        return self.last_tick - self.start

    def preview_due(self, step: int, every: int) -> bool:
        """A preview at this step: every ``every``-th if the request says so, else the film's frames
        (every step of a short run: timelapse.film_frame_due) and about one a second."""
        if every:
            return step % every == 0
        if film_frame_due(step, self.total()) or self.last_tick - self.last_preview >= PREVIEW_SECONDS:
            self.last_preview = self.last_tick
            return True
        return False

    def eta(self, index: int, done_here: int) -> float:
        current = self.plan[index]
        seconds = (current.steps - done_here) * self._step_seconds(current)
        return seconds + sum(self._setup_seconds(s) + s.steps * self._step_seconds(s) for s in self.plan[index + 1 :])

    def note(self) -> str | None:
        """Why the run took fewer steps than planned: only the operator's cap is worth a word."""
        if self.cap is None or self.total() >= self.planned_total:
            return None
        return f"Stopped at {self.total()} of {self.planned_total} steps by {self.cap}; this is the picture so far."
