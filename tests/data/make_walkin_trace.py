"""Regenerate walkin.trace.jsonl and walkin.devices.json (deterministic; run from the repo root).

One opted-in shopper (customer c0001 of the reference online store) walks in at t = 1 s, browses
near the door agent and is out of range from t = 15 s. The EIDs are the real ones for the fixed
identity key at the recorded time, so a hub whose clock starts at `recorded_at` resolves them.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

from store_hub.demo.walks import Visit, advertisements

HERE = Path(__file__).resolve().parent
RECORDED_AT = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
ROTATION_EXPONENT = 10


def main() -> None:
    key = random.Random(20261124).randbytes(16)
    visit = Visit(identity_key=key, rotation_exponent=ROTATION_EXPONENT, enter_s=1.0, stay_s=14.0)
    header = {"trace": 1, "recorded_at": "2026-11-24T10:00:00.000Z", "note": "c0001 walks in"}
    lines = [json.dumps(header)]
    lines += [json.dumps(record) for record in advertisements([visit], RECORDED_AT, 16.0)]
    (HERE / "walkin.trace.jsonl").write_text("\n".join(lines) + "\n")
    devices = {
        "recorded_at": header["recorded_at"],
        "devices": [
            {
                "customer_id": "c0001",
                "identity_key": key.hex(),
                "rotation_exponent": ROTATION_EXPONENT,
            }
        ],
    }
    (HERE / "walkin.devices.json").write_text(json.dumps(devices, indent=2) + "\n")


if __name__ == "__main__":
    main()
