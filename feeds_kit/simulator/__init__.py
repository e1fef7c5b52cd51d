"""A local SP-API simulator: LWA, the Feeds API, presigned S3 documents, Product Type
Definitions, feed processing against a seeded listings store, rate limits and faults.

It imitates Amazon and shares none of feeds-kit's client code (only the core marketplace and
schema tables), so a client that works against it works for the reasons it would at Amazon.
See ``docs/simulator.md``.
"""

from feeds_kit.simulator.config import (
    LOCAL_CLIENT_ID,
    LOCAL_CLIENT_SECRET,
    LOCAL_REFRESH_TOKEN,
    LOCAL_SELLER_ID,
    SimulatorConfig,
)
from feeds_kit.simulator.faults import FaultPlan, FaultRule, parse_faults
from feeds_kit.simulator.server import Simulator

__all__ = [
    "LOCAL_CLIENT_ID",
    "LOCAL_CLIENT_SECRET",
    "LOCAL_REFRESH_TOKEN",
    "LOCAL_SELLER_ID",
    "FaultPlan",
    "FaultRule",
    "Simulator",
    "SimulatorConfig",
    "parse_faults",
]
