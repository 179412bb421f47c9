"""The inference plan of a container: fusion (fuse.py), memory planning (memory.py), running (run.py)."""

from .fuse import Step
from .run import Plan, PlanCache, StepProfile, profile

__all__ = ["Plan", "PlanCache", "Step", "StepProfile", "profile"]
