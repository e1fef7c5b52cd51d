"""How a simulator is set up: timing, faults, seed, storage, and the credentials it accepts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from feeds_kit.simulator.faults import FaultPlan

#: The LWA client the simulator always accepts (with :data:`LOCAL_CLIENT_SECRET`).
LOCAL_CLIENT_ID = "amzn1.application-oa2-client.feedskitlocal"
#: Its client secret. Not a secret: it only opens the local simulator.
LOCAL_CLIENT_SECRET = "feeds-kit-local-client-secret"
#: The refresh token that logs in as :data:`LOCAL_SELLER_ID`.
LOCAL_REFRESH_TOKEN = "Atzr|feeds-kit-local-refresh-token"
#: The selling partner the local refresh token belongs to.
LOCAL_SELLER_ID = "A2FEEDSKITLOCAL"


@dataclass(slots=True)
class SimulatorConfig:
    """Settings of a :class:`~feeds_kit.simulator.Simulator`.

    ``speed`` compresses time for feed processing and rate-limit refills (10 = ten times
    faster); presigned URL lifetimes and access-token lifetimes stay real, as at Amazon.
    ``processing_seconds`` is (time in queue, time in progress) at speed 1.
    ``clients`` registers extra LWA clients (client id -> client secret) and ``sellers`` extra
    refresh tokens (refresh token -> seller id), beside the ``LOCAL_*`` ones.
    """

    speed: float = 1.0
    faults: FaultPlan | None = None
    seed: int | None = None
    store_path: Path | None = None
    processing_seconds: tuple[float, float] = (20.0, 60.0)
    url_lifetime: float = 300.0
    clients: Mapping[str, str] = field(default_factory=dict)
    sellers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed {self.speed!r} is not positive: use a number above 0.")
        queue, progress = self.processing_seconds
        if queue < 0 or progress < 0:
            raise ValueError(
                f"processing_seconds {self.processing_seconds!r} has a negative duration: "
                "use two numbers of 0 or more."
            )
        if not self.url_lifetime > 0:
            raise ValueError(f"url_lifetime {self.url_lifetime!r} is not positive.")

    def all_clients(self) -> dict[str, str]:
        """Every accepted LWA client id with its secret."""
        return {LOCAL_CLIENT_ID: LOCAL_CLIENT_SECRET, **dict(self.clients)}

    def all_sellers(self) -> dict[str, str]:
        """Every accepted refresh token with the seller id it logs in as."""
        return {LOCAL_REFRESH_TOKEN: LOCAL_SELLER_ID, **dict(self.sellers)}
