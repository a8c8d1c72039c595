"""The engine: a request's images and settings in, a Frame per optimisation step out.

run.py is the generator (``stylize``) and its loop; objective.py the compiled objective;
inputs.py reads, decodes and starts the pictures; pacer.py keeps the clock, the previews and
the deadline; calibration.py warms the network up and measures this machine's speed.
"""

from .calibration import calibrate, warm_up
from .run import Frame, stylize

__all__ = ["Frame", "calibrate", "stylize", "warm_up"]
