"""How the hub's EID table scales: build, steady-state refresh, memory and look-ups.

Each size runs in its own process so that memory figures do not mix. Per size:

- build: `EidTable.add_many` of every device (the hub's start-up load), CPU seconds;
- refresh: the hub calls `refresh(now)` once a second. After a warm-up of 6 windows, the CPU of
  every call across 8 rotation windows (1,024 s each) that include a temporary-key epoch change
  (every 65,536 s, when each device needs a new temporary key): the mean and the worst window,
  the slowest single call, and how many EIDs were computed per window;
- memory: resident set size (from /proc) after the refresh windows, minus the same process's RSS
  before the build; and peak RSS minus that baseline (devices are streamed in, as from a query);
- look-ups: `resolve` per token over a mix of EID hits, iBeacon hits and unknown tokens, against
  a plain `dict.get` of the same token strings in the same run.

    .venv/bin/python bench/identity_scale.py            # 10k, 100k and 1M devices, ~3 minutes
    .venv/bin/python bench/identity_scale.py --quick    # 10k and 100k only
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store_hub.domain.eid import COUNTER_MODULUS, compute_eid, eid_token, ibeacon_token
from store_hub.domain.identity import EidTable, EnrolledDevice

K = 10
PERIOD = 1 << K
# Build 14 windows before a temporary-key epoch boundary (a counter multiple of 65,536), so the
# measured windows compute look-ahead generations on both sides of it.
EPOCH_START = 26_917 << 16  # 1,764,032,512: late November 2025
FIRST_WINDOW = (EPOCH_START >> K) - 14
WARM_UP_WINDOWS = 6
MEASURED_WINDOWS = 8
LOOKUPS = 20_000


def rss_bytes() -> int:
    """Resident set size now, from /proc (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize()


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def at(counter: int) -> datetime:
    """The moment the hub clock reads `counter` seconds."""
    return datetime.fromtimestamp(counter, UTC)


def tick_through_window(table: EidTable, window: int) -> tuple[float, float]:
    """Call refresh once a second across one window; total and slowest-call CPU seconds."""
    total = slowest = 0.0
    for second in range(window << K, (window + 1) << K):
        now = at(second)
        started = time.process_time()
        table.refresh(now)
        spent = time.process_time() - started
        total += spent
        slowest = max(slowest, spent)
    return total, slowest


def enrolled(count: int, seed: int) -> Iterator[EnrolledDevice]:
    """`count` devices with random 32-hex-digit ids and random identity keys."""
    rng = random.Random(seed)
    for _ in range(count):
        yield EnrolledDevice(f"{rng.getrandbits(128):032x}", rng.randbytes(16), K, True)


def measure(size: int, seed: int) -> dict[str, float]:
    """Build, refresh, memory and look-up figures for one table of `size` devices."""
    gc.collect()
    baseline = rss_bytes()
    # Devices are streamed into the table, as the hub can stream them from its database; the
    # look-up sample is the first few, made again from the same seed.
    sample = list(enrolled(min(size, LOOKUPS // 4), seed))
    table = EidTable()
    started = time.process_time()
    table.add_many(enrolled(size, seed), at(FIRST_WINDOW << K))
    build = time.process_time() - started
    eids_at_build = table.eids_computed
    gc.collect()
    resident = rss_bytes() - baseline
    rng = random.Random(seed + 1)

    for window in range(FIRST_WINDOW, FIRST_WINDOW + WARM_UP_WINDOWS):
        tick_through_window(table, window)
    eids_before = table.eids_computed
    keys_before = table.temporary_keys_computed
    measured = range(
        FIRST_WINDOW + WARM_UP_WINDOWS, FIRST_WINDOW + WARM_UP_WINDOWS + MEASURED_WINDOWS
    )
    per_window = [tick_through_window(table, window) for window in measured]
    eids_per_window = (table.eids_computed - eids_before) / len(measured)
    keys_renewed = table.temporary_keys_computed - keys_before
    resident_after = rss_bytes() - baseline

    now_counter = (measured.stop + 1) << K
    table.refresh(at(now_counter))
    tokens: list[str] = []
    expected: list[str | None] = []
    for i, device in enumerate(sample):
        counter = (now_counter + rng.randrange(-2 * PERIOD, 3 * PERIOD)) % COUNTER_MODULUS
        eid = compute_eid(device.identity_key, K, counter)
        tokens.append(eid_token(eid) if i % 2 else ibeacon_token(eid))
        expected.append(device.device_id)
        tokens.append(eid_token(rng.randbytes(8)))
        expected.append(None)
    baseline_dict = dict(zip(tokens, expected, strict=True))
    rounds = max(1, LOOKUPS // len(tokens))
    started = time.perf_counter()
    for _ in range(rounds):
        for token in tokens:
            baseline_dict.get(token)
    dict_time = (time.perf_counter() - started) / (rounds * len(tokens))
    started = time.perf_counter()
    for _ in range(rounds):
        for token in tokens:
            table.resolve(token)
    resolve_time = (time.perf_counter() - started) / (rounds * len(tokens))
    # An iBeacon prefix shared by two devices' windows resolves to nobody, by design.
    ambiguous = table.ambiguous_tokens
    results = [(table.resolve(t), e) for t, e in zip(tokens, expected, strict=True)]
    ambiguous = table.ambiguous_tokens - ambiguous
    wrong = sum(got != want for got, want in results) - ambiguous
    return {
        "devices": size,
        "build_cpu_s": build,
        "eids_at_build": eids_at_build,
        "refresh_cpu_s": sum(cpu for cpu, _ in per_window) / len(per_window),
        "refresh_worst_window_s": max(cpu for cpu, _ in per_window),
        "refresh_max_tick_ms": max(tick for _, tick in per_window) * 1e3,
        "eids_per_window": eids_per_window,
        "temporary_keys_renewed": keys_renewed,
        "rss_after_build_mb": resident / 1e6,
        "rss_after_refresh_mb": resident_after / 1e6,
        "peak_rss_mb": (peak_rss_bytes() - baseline) / 1e6,
        "resolve_us": resolve_time * 1e6,
        "dict_us": dict_time * 1e6,
        "wrong": wrong,
        "ambiguous": ambiguous,
    }


def main() -> int:
    """Run every size in a fresh process and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--quick", action="store_true", help="only 10k and 100k devices")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.seed)))
        return 0
    sizes = [10_000, 100_000] if args.quick else args.sizes
    print(f"K={K} (window {PERIOD} s); CPU = time.process_time(); memory = RSS delta (/proc)")
    header = (
        f"{'devices':>9} {'build s':>8} {'refresh s/win':>13} {'worst win s':>11} "
        f"{'max tick ms':>11} {'EIDs/win':>9} {'RSS MB':>7} {'peak MB':>8} "
        f"{'resolve us':>10} {'dict us':>8} {'ratio':>6} {'ambig':>5}"
    )
    print(header)
    failed = False
    for size in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--seed", str(args.seed)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout)
        print(
            f"{r['devices']:>9,} {r['build_cpu_s']:>8.2f} {r['refresh_cpu_s']:>13.2f} "
            f"{r['refresh_worst_window_s']:>11.2f} {r['refresh_max_tick_ms']:>11.1f} "
            f"{r['eids_per_window']:>9,.0f} {r['rss_after_refresh_mb']:>7.0f} "
            f"{r['peak_rss_mb']:>8.0f} {r['resolve_us']:>10.2f} {r['dict_us']:>8.3f} "
            f"{r['resolve_us'] / r['dict_us']:>6.0f} {r['ambiguous']:>5}",
            flush=True,
        )
        if r["wrong"]:
            print(f"  ! {r['wrong']} tokens resolved wrongly")
            failed = True
        if r["refresh_worst_window_s"] > 10 or r["rss_after_refresh_mb"] > 500:
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
