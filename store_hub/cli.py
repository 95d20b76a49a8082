"""`store-hub`: run a store's hub, or the whole demo store on embedded defaults."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
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
