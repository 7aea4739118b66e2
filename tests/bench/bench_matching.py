"""How much labkit's matcher costs next to moto's own, over a 1,000-message fan-out.

Prints `name: value` lines; ratios are measured in one run. The tracer calls explain_filter /
explain_pattern per hop, so their cost per message matters too.
"""

from __future__ import annotations

import json
import time

from moto.events.models import EventPattern
from moto.sns.utils import FilterPolicyMatcher

from labkit import matcher as matching
from labkit.moto_patches import REGISTRY

MESSAGES = 1000
POLICY = {
    "customer_interests": ["rugby", "tennis", "football"],
    "price_usd": [{"numeric": [">", 0, "<=", 150]}],
    "store": [{"exists": True}],
}
PATTERN = {"source": ["shop"], "detail": {"total": [{"numeric": [">", 100]}], "region": ["eu"]}}


def _messages() -> list[dict[str, dict[str, str]]]:
    out = []
    for i in range(MESSAGES):
        out.append(
            {
                "customer_interests": {"Type": "String", "Value": ["rugby", "golf"][i % 2]},
                "price_usd": {"Type": "Number", "Value": str(i % 300)},
                "store": {"Type": "String", "Value": "fans"},
            }
        )
    return out


def _timed(run: object) -> float:
    start = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    messages = _messages()
    events = [{"source": "shop", "detail": {"total": i, "region": "eu"}} for i in range(MESSAGES)]
    matcher = FilterPolicyMatcher(POLICY, "MessageAttributes")
    pattern = EventPattern.load(json.dumps(PATTERN))
    # moto's own decisions, then the same objects with labkit's changes held
    stock = _timed(lambda: [matcher.matches(m, "") for m in messages])
    stock_eb = _timed(lambda: [pattern.matches_event(e) for e in events])
    with REGISTRY.active():
        labkit = _timed(lambda: [matcher.matches(m, "") for m in messages])
        labkit_eb = _timed(lambda: [pattern.matches_event(e) for e in events])
    explained = _timed(lambda: [matching.explain_filter(POLICY, attributes=m) for m in messages])
    explained_eb = _timed(lambda: [matching.explain_pattern(PATTERN, e) for e in events])
    print(f"sns_moto_ms_per_1000: {stock * 1000:.2f}")
    print(f"sns_labkit_ms_per_1000: {labkit * 1000:.2f}")
    print(f"sns_labkit_over_moto: {labkit / stock:.2f}")
    print(f"sns_explain_ms_per_1000: {explained * 1000:.2f}")
    print(f"events_moto_ms_per_1000: {stock_eb * 1000:.2f}")
    print(f"events_labkit_ms_per_1000: {labkit_eb * 1000:.2f}")
    print(f"events_labkit_over_moto: {labkit_eb / stock_eb:.2f}")
    print(f"events_explain_ms_per_1000: {explained_eb * 1000:.2f}")


if __name__ == "__main__":
    main()
