"""Verification of `.tflite` files on the real runtimes: LiteRT (phones) and TFLite Micro (microcontrollers)."""

from tfnas.verify.api import verify
from tfnas.verify.micro import MicroRun
from tfnas.verify.micro import run_micro
from tfnas.verify.report import VerifyReport

__all__ = ["MicroRun", "VerifyReport", "run_micro", "verify"]
