"""The client-side model of Shopify's cost bucket, on injected time."""

from __future__ import annotations

from store_hub.adapters.commerce.shopify_throttle import CostBucket


def reading(available: float) -> dict[str, float]:
    return {"maximumAvailable": 100.0, "currentlyAvailable": available, "restoreRate": 50.0}


def test_a_stale_reading_does_not_hand_back_points_already_reserved() -> None:
    now = [0.0]
    bucket = CostBucket(lambda: now[0])
    bucket.observe(reading(60.0))
    # Two queries go out at once; the answer to the first, read before the second was
    # charged, comes back last.
    assert bucket.reserve(30.0, within_s=1.0) == 0.0
    assert bucket.reserve(30.0, within_s=1.0) == 0.0
    bucket.observe(reading(0.0))  # the second's answer: both charged
    bucket.observe(reading(30.0))  # the first's, older
    # 30 more points: nothing is left, so it waits for the refill (0.6 s at 50/s).
    assert bucket.reserve(30.0, within_s=1.0) == 0.6


def test_a_fresh_reading_still_corrects_the_model_downwards_and_refills_with_time() -> None:
    now = [0.0]
    bucket = CostBucket(lambda: now[0])
    bucket.observe(reading(100.0))
    bucket.observe(reading(10.0))  # someone else's app spent the points
    assert bucket.reserve(30.0, within_s=1.0) == 0.4
    now[0] = 3.0  # the query went at 0.4 s and took the bucket to 0; full again 2 s later
    bucket.observe(reading(100.0))
    assert bucket.reserve(100.0, within_s=1.0) == 0.0
