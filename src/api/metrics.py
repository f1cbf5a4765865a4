"""Prometheus metrics at ``GET /metrics``: projection positions and lag, commands by
outcome, request durations.

Each app has a registry of its own (not prometheus_client's global one), so that the
many apps a test process creates neither share counts nor register a metric twice.
Projection positions and lag are read from the database at each scrape, so they are
right whichever process (this one, a worker) moved the projections.
"""

from litestar import Response, get
from litestar.datastructures import State
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from ledger.system import System

# Commands answer in milliseconds, imports of a 100 MB file in minutes.
DURATION_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                      10.0, 30.0, 60.0, 300.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._commands = Counter(
            "ledger_commands", "Commands answered, by command (route handler) and outcome "
            "(the problem code of a refusal, else the status class)",
            ["command", "outcome"], registry=self.registry)
        self._durations = Histogram(
            "ledger_http_request_duration_seconds", "HTTP request durations by route template",
            ["method", "route"], buckets=DURATION_BUCKETS_S, registry=self.registry)
        self._positions = Gauge(
            "ledger_projection_position", "Last log position the projection applied",
            ["projection"], registry=self.registry)
        self._lags = Gauge(
            "ledger_projection_lag_events", "Events in the log the projection has not applied",
            ["projection"], registry=self.registry)

    def observe_request(self, method: str, route: str, duration_s: float) -> None:
        self._durations.labels(method=method, route=route).observe(duration_s)

    def count_command(self, command: str, outcome: str) -> None:
        self._commands.labels(command=command, outcome=outcome).inc()

    def render(self, system: System) -> bytes:
        """The text exposition, with the projections' positions read now."""
        positions, lags = projection_lags(system)
        for name, position in positions.items():
            self._positions.labels(projection=name).set(position)
            self._lags.labels(projection=name).set(lags[name])
        return generate_latest(self.registry)


def projection_lags(system: System) -> tuple[dict[str, int], dict[str, int]]:
    """Each projection's position and lag. The head is read after the positions, so that
    an event appended in between makes the lag larger, never negative."""
    positions = system.projections.positions()
    head = system.store.head()
    return positions, {name: head - position for name, position in positions.items()}


@get("/metrics", sync_to_thread=True, tags=["health"], summary="Prometheus metrics")
def prometheus_metrics(state: State) -> Response[bytes]:
    return Response(state.metrics.render(state.system), media_type=CONTENT_TYPE_LATEST)
