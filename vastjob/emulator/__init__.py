"""A local Vast.ai emulator: the offer market, instances that really run, and fault knobs, over real HTTP."""

from vastjob.emulator.faults import Faults
from vastjob.emulator.market import generate_offers
from vastjob.emulator.server import Emulator

__all__ = ["Emulator", "Faults", "generate_offers"]
