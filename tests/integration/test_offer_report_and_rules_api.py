"""`store-hub report offers` on a seeded database, and the admin offer-rules API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import yaml

from store_hub.adapters.db.engine import Database
from store_hub.adapters.db.models import OfferDecision, Sale
from store_hub.app import create_app
from store_hub.cli import main
from store_hub.config import HubConfig
from store_hub.hub import Hub, build_hub
from store_hub.server import HubServer
from tests.fixtures.mosquitto import free_port
from tests.fixtures.offers import seed_offer

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)


def decision(rule_id: str, customer_id: str, reason: str, offer_id: str | None) -> OfferDecision:
    return OfferDecision(
        rule_id=rule_id,
        store_id="s042",
        customer_id=customer_id,
        visit_id=None,
        trigger="arrived",
        outcome="send" if reason == "sent" else "no_send",
        reason=reason,
        detail="",
        terms={"expires_at": (NOW + timedelta(hours=2)).isoformat()},
        liability=Decimal("4.99"),
        currency="GBP",
        offer_id=offer_id,
        decided_at=NOW - timedelta(minutes=10),
    )


def sale(customer_id: str) -> Sale:
    return Sale(
        id=uuid.uuid4().hex,
        store_id="s042",
        receipt_id=uuid.uuid4().hex[:12],
        customer_id=customer_id,
        sold_at=NOW,
        currency="GBP",
        subtotal=Decimal("50.00"),
        discount_total=Decimal("0.00"),
        total=Decimal("50.00"),
        payment_type="card",
        offer_codes=[],
        fingerprint="0" * 64,
        recorded_at=NOW,
    )


def seed(db: Database) -> None:
    """Rule 'welcome': 40 sent (30 delivered, 12 redeemed, 1 voided), 40 held out (4 bought)."""
    for n in range(40):
        status = "redeemed" if n < 12 else "voided" if n == 12 else "delivered"
        offer = seed_offer(db, NOW, customer_id=f"t{n}", status=status, rule_id="welcome")
        with db.transaction() as session:
            row = session.merge(offer)
            row.delivered_at = NOW if n < 30 else None
            session.add(decision("welcome", f"t{n}", "sent", offer.id))
            session.add(decision("welcome", f"h{n}", "held_out", None))
            session.add(decision("welcome", f"x{n}", "capped:day", None))  # not eligible
            if n < 4:
                session.add(sale(f"h{n}"))


def run_report(tmp_path: Path, db_url: str, *extra: str, capsys: pytest.CaptureFixture[str]) -> str:
    config = tmp_path / "hub.toml"
    config.write_text(f'database_url = "{db_url}"\n')
    assert main(["report", "offers", "--config", str(config), *extra]) == 0
    return capsys.readouterr().out


def test_report_prints_reach_redemption_and_uplift_per_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/hub.db"
    db = Database.connect(url)
    seed(db)
    db.dispose()

    out = run_report(tmp_path, url, capsys=capsys)

    header, rule = out.splitlines()[0], out.splitlines()[2]
    assert header.split()[:6] == ["rule", "eligible", "sent", "held", "out", "delivered"]
    cells = rule.split()
    assert cells[:6] == ["welcome", "80", "40", "40", "30", "12"]
    assert cells[6:9] == ["30.0%", "30.0%", "10.0%"]  # redeemed 12/40; bought 12/40 vs 4/40
    assert cells[9].startswith("+20.0%") and "[" in rule  # uplift with its interval
    later = run_report(
        tmp_path, url, "--since", (NOW + timedelta(days=1)).date().isoformat(), capsys=capsys
    )
    assert "no offer was sent or held out" in later


def test_report_says_uplift_is_not_measurable_without_sales(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/hub.db"
    db = Database.connect(url)
    seed(db)
    with db.transaction() as session:
        session.query(Sale).delete()
    db.dispose()

    out = run_report(tmp_path, url, capsys=capsys)

    assert "not measurable yet" in out.splitlines()[2]
    assert "need in-store sales" in out


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[tuple[Hub, str, Path]]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(Path("store_hub/demo/data/offer_rules.yaml").read_text())
    config = HubConfig().with_overrides(
        database_url=f"sqlite:///{tmp_path}/hub.db",
        it_api_key="test-it-key",
        vapid_key_path=str(tmp_path / "vapid.pem"),
        offer_rules_path=str(rules),
    )
    hub = build_hub(config)
    server = HubServer(create_app(hub), "127.0.0.1", free_port()).start()
    try:
        yield hub, f"{server.url}/api/v1/offer-rules", rules
    finally:
        server.stop()
        hub.stop()


IT = {"Authorization": "Bearer test-it-key"}


def test_rules_api_returns_validates_and_replaces_the_policy(
    admin: tuple[Hub, str, Path],
) -> None:
    hub, url, path = admin
    current = requests.get(url, headers=IT, timeout=5)
    assert current.status_code == 200
    policy = current.json()
    assert [r["id"] for r in policy["rules"]] == ["arrival-cart-10", "fitting-room-knitwear"]

    broken = {**policy, "rules": [{**policy["rules"][0], "holdout_share": "0.9"}]}
    refused = requests.put(url, json=broken, headers=IT, timeout=5)
    assert refused.status_code == 422
    problems = refused.json()["error"]["details"]["problems"]
    assert any("arrival-cart-10" in p and "holdout_share" in p for p in problems), problems
    assert hub.offers.policy.rules[0].holdout_share == 0  # nothing changed

    policy["rules"][0]["holdout_share"] = "0.2"
    replaced = requests.put(url, json=policy, headers=IT, timeout=5)
    assert replaced.status_code == 200, replaced.text
    assert hub.offers.policy.rules[0].holdout_share == Decimal("0.2")  # in force at once
    assert yaml.safe_load(path.read_text())["rules"][0]["holdout_share"] == "0.2"
    assert requests.get(url, headers=IT, timeout=5).json() == replaced.json()
    assert requests.put(url, json=policy, timeout=5).status_code == 401
