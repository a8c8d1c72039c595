"""The operator's caps on one request, each decided here and only here.

``settings.py`` says what the caps are (``STYLE_TRANSFER_MAX_*``; 0 turns one off); this module
says what they mean. Everything that runs or estimates a request asks it: the engine (before any
image is decoded, then with the plan), the estimate line, the API and the CLI.

* size, steps, style images, memory: a request over one is refused with a message naming the cap;
* time (``max_seconds``): never a refusal. A time budget over the limit is cut to it, and a run
  that would take longer is re-planned to fit and ends with the picture so far (the pacer keeps
  to the ``deadline``).
"""

from __future__ import annotations

from .config import StyleConfig
from .errors import StyleTransferError
from .plan import RunPlan
from .settings import ENV_VARS, OperatorSettings

ASK_FOR_LESS = "ask for less (a smaller size, fewer steps or style images, a smaller style_scale)"


def check_request(config: StyleConfig, style_count: int, settings: OperatorSettings) -> None:
    """Refuse a request over a cap that its settings alone show, before any file is read."""
    explicit_steps = 0 if config.budgeted else config.total_steps
    _refuse_over("max_size", config.size, "the output size", "px", settings)
    _refuse_over("max_steps", explicit_steps, "steps", "", settings)
    _refuse_over("max_styles", style_count, "style images", "", settings)


def check_plan(run_plan: RunPlan, settings: OperatorSettings) -> None:
    """Refuse a planned run over a cap: its steps (a budget's too) or its estimated peak memory."""
    _refuse_over("max_steps", run_plan.steps, "steps", "", settings)
    _refuse_over("max_memory", run_plan.memory_bytes, "the estimated peak memory", "bytes", settings)


def _refuse_over(cap: str, value: float, what: str, unit: str, settings: OperatorSettings) -> None:
    limit = getattr(settings, cap)
    if limit and value > limit:
        raise StyleTransferError(
            f"{what} would be {value:,g}{' ' + unit if unit else ''}; this server's limit is {limit:,g} "
            f"({ENV_VARS[cap]}): {ASK_FOR_LESS}"
        )


# ---------------------------------------------------------------- the time limit


def with_time_limit(config: StyleConfig, settings: OperatorSettings) -> StyleConfig:
    """``config`` with a time budget over the operator's limit cut to it (the page's default budget,
    which gradio_client also sends, must work on a server with a shorter limit)."""
    if budget_cut(config, settings):
        return config.replace(seconds=settings.max_seconds)
    return config


def budget_cut(config: StyleConfig, settings: OperatorSettings) -> bool:
    """Whether the operator's limit cuts this request's time budget."""
    return bool(settings.max_seconds) and config.budgeted and config.seconds > settings.max_seconds


def deadline(config: StyleConfig, settings: OperatorSettings) -> tuple[float | None, str | None]:
    """A run's wall-time limit (None: none) and, when the operator's limit sets it, what to tell the user.

    ``config`` has been through with_time_limit: a budget is never over the limit.
    """
    if config.budgeted:
        return config.seconds, None
    if settings.max_seconds:
        return (
            settings.max_seconds,
            f"this server's time limit of {settings.max_seconds:g} s ({ENV_VARS['max_seconds']})",
        )
    return None, None


def over_time_limit(seconds: float, settings: OperatorSettings) -> str | None:
    """What to tell a user whose run is estimated at ``seconds``, if the limit will cut it short (it is
    re-planned to fit); None if it will not."""
    if settings.max_seconds and seconds > settings.max_seconds:
        return f"longer than this server's limit of {settings.max_seconds:g} s: the run will be cut to end within it"
    return None
