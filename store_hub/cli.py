"""`store-hub`: run a store's hub, or the whole demo store on embedded defaults."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from store_hub.config import ConfigError, HubConfig, load_config

log = logging.getLogger("store_hub")


def serve(config: HubConfig) -> None:
    """Start the hub (ingest, arrivals) and serve HTTP + Socket.IO until interrupted."""
    from store_hub.app import create_app
    from store_hub.hub import build_hub
    from store_hub.server import HubServer

    hub = build_hub(config)
    server = HubServer(create_app(hub), config.http_host, config.http_port)
    hub.start()
    log.info("hub for store %s serving on %s", config.store_id, server.url)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()


def _run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if config.enroll_api_key is None:
        log.warning("enroll_api_key is not set: the enrollment API will refuse every request")
    serve(config)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from store_hub.demo.runner import run_demo

    return run_demo(
        broker_url=args.broker, host=args.host, port=args.port, workdir=Path(args.workdir)
    )


def _db_upgrade(args: argparse.Namespace) -> int:
    from store_hub.adapters.db.engine import Database

    config = load_config(args.config)
    Database.connect(config.database_url).dispose()
    print(f"database at {config.database_url} is at the newest schema")
    return 0


# A file with thousands of bad rows is a wrong file: the first ones say enough.
MAX_REPORTED_PROBLEMS = 50


def _inventory_import(args: argparse.Namespace) -> int:
    from store_hub.adapters.db.engine import Database
    from store_hub.api.inventory import StockRowSchema
    from store_hub.clock import SystemClock
    from store_hub.operations.stock import upsert_stock
    from store_hub.operations.stock_csv import StockFileError, read_stock_csv

    config = load_config(args.config)
    store_id = args.store or config.store_id
    try:
        with args.file.open(newline="", encoding="utf-8-sig") as handle:
            parsed = read_stock_csv(handle, StockRowSchema())
    except (OSError, UnicodeDecodeError, StockFileError) as exc:
        print(f"store-hub: {args.file}: {exc}", file=sys.stderr)
        return 2
    for line, problem in parsed.problems[:MAX_REPORTED_PROBLEMS]:
        print(f"{args.file}:{line}: {problem}", file=sys.stderr)
    if len(parsed.problems) > MAX_REPORTED_PROBLEMS:
        print(f"... and {len(parsed.problems) - MAX_REPORTED_PROBLEMS} more", file=sys.stderr)
    if parsed.problems and not args.skip_bad_rows:
        # A stock file is a snapshot: half of it applied leaves the floor neither old nor new.
        print(
            f"store-hub: {len(parsed.problems)} bad row(s): nothing imported; fix them, or "
            "pass --skip-bad-rows to import the other rows",
            file=sys.stderr,
        )
        return 1
    db = Database.connect(config.database_url)
    try:
        with db.transaction() as session:
            count = upsert_stock(session, store_id, parsed.rows, SystemClock().now())
    finally:
        db.dispose()
    skipped = f", skipped {len(parsed.problems)} bad row(s)" if parsed.problems else ""
    print(f"imported {count} row(s) into store {store_id}'s stock{skipped}")
    return 0


def _since(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    # A bare date or time means UTC: the report is about the database's instants.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _report_offers(args: argparse.Namespace) -> int:
    from store_hub.adapters.db.engine import Database
    from store_hub.operations.offer_report import offer_results, render

    config = load_config(args.config)
    db = Database.connect(config.database_url)
    try:
        with db.transaction() as session:
            results = offer_results(session, args.since)
    finally:
        db.dispose()
    print(render(results), end="")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    import getpass

    if args.password_file is not None:
        # The first line only: editors and `echo` add a newline nobody means as part of it.
        return str(args.password_file.read_text(encoding="utf-8").splitlines()[0])
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise ValueError("the passwords do not match")
    return first


def _associates_add(args: argparse.Namespace) -> int:
    from store_hub.adapters.db.engine import Database
    from store_hub.clock import SystemClock
    from store_hub.operations.associates import AccountProblem, add_associate

    config = load_config(args.config)
    try:
        password = _read_password(args)
    except (OSError, IndexError, ValueError) as exc:
        print(f"store-hub: cannot read the password: {exc or 'empty file'}", file=sys.stderr)
        return 2
    db = Database.connect(config.database_url)
    try:
        associate = add_associate(
            db,
            args.store or config.store_id,
            args.email,
            args.name,
            args.role,
            password,
            SystemClock().now(),
        )
    except AccountProblem as exc:
        print(f"store-hub: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"added {associate.role} {associate.name} to store {associate.store_id}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line of store-hub."""
    parser = argparse.ArgumentParser(prog="store-hub", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run this store's hub")
    run.add_argument("--config", type=Path, help="TOML config file (STORE_HUB_* env overrides)")
    run.set_defaults(handler=_run)

    demo = commands.add_parser("demo", help="run a whole simulated store on embedded defaults")
    demo.add_argument("--broker", help="use this MQTT broker instead of the embedded one")
    demo.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    demo.add_argument("--workdir", default="var/demo", help="where the demo keeps its state")
    demo.set_defaults(handler=_demo)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.add_argument("--config", type=Path)
    upgrade.set_defaults(handler=_db_upgrade)

    inventory = commands.add_parser("inventory", help="store stock")
    inventory_commands = inventory.add_subparsers(dest="inventory_command", required=True)
    stock_import = inventory_commands.add_parser(
        "import", help="upsert stock from a CSV file: sku,on_hand,location[,size,colour]"
    )
    stock_import.add_argument("file", type=Path, help="CSV file with a header line")
    stock_import.add_argument("--config", type=Path)
    stock_import.add_argument("--store", help="store id (default: the config's store_id)")
    stock_import.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="import the good rows even if some are bad (default: refuse the whole file)",
    )
    stock_import.set_defaults(handler=_inventory_import)

    associates = commands.add_parser("associates", help="tablet accounts of store staff")
    associates_commands = associates.add_subparsers(dest="associates_command", required=True)
    add = associates_commands.add_parser("add", help="add an associate who can sign in")
    add.add_argument("--config", type=Path)
    add.add_argument("--store", help="store id (default: the config's store_id)")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True, help="the name colleagues see")
    add.add_argument("--role", choices=("associate", "manager", "it"), default="associate")
    add.add_argument(
        "--password-file", type=Path, help="read the password from this file (default: prompt)"
    )
    add.set_defaults(handler=_associates_add)

    report = commands.add_parser("report", help="reports from the hub's database")
    report_commands = report.add_subparsers(dest="report_command", required=True)
    offers = report_commands.add_parser(
        "offers", help="per rule: reach, redemption, and uplift over the holdout group"
    )
    offers.add_argument("--config", type=Path)
    offers.add_argument(
        "--since", type=_since, help="only decisions from this date (e.g. 2026-11-01, UTC)"
    )
    offers.set_defaults(handler=_report_offers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the store-hub console script."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except ConfigError as exc:
        print(f"store-hub: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
