"""The worker's phases, one function each over a Session; RUNNERS maps each Phase to it."""

from __future__ import annotations

from collections.abc import Callable

from tools.harness.phases.build import build
from tools.harness.phases.check import check
from tools.harness.phases.measure import baseline, profile, replay, time_candidate
from tools.harness.phases.robust import robust
from tools.harness.protocol import Phase

RUNNERS: dict[Phase, Callable] = {
    Phase.build: build,
    Phase.check: check,
    Phase.profile: profile,
    Phase.time: time_candidate,
    Phase.baseline: baseline,
    Phase.replay: replay,
    Phase.robust: robust,
}
