"""Command line of the emulator: ``python -m janitor_site_emulator``."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from . import demo, schema, seed
from .app import create_app
from .config import BUILTIN_SERVICES, DEFAULT_TEMPLATES_DIR, EmulatorConfig, StaticToken

logger = logging.getLogger("janitor_site_emulator")

#: Environment variable carrying the configuration to worker processes.
CONFIG_ENVIRONMENT = "JANITOR_EMULATOR_CONFIG"

#: Servers must accept request targets of at least 16 KiB (§2.1); allow headers beside them.
MAX_REQUEST_HEAD = 64 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's options, on any argparse parser."""
    parser.add_argument(
        "--database",
        default="sqlite:///janitor-emulator.sqlite3",
        help="SQLAlchemy URL: sqlite:///PATH (default) or postgresql://…",
    )
    parser.add_argument(
        "--seed",
        choices=("demo", "none"),
        default="none",
        help="seed the demo data set when the database is empty",
    )
    parser.add_argument(
        "--seed-size",
        type=int,
        metavar="RUNS",
        help="seed a data set of this many runs when the database is empty",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--fd", type=int, help="serve on this already bound socket")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes serving the same socket (default 1)",
    )
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN:USER[:GROUPS]",
        help="accept a static bearer token (repeatable)",
    )
    parser.add_argument(
        "--demo-tokens",
        action="store_true",
        help="accept the public development tokens (service, admin, qa, user)",
    )
    parser.add_argument("--oidc-issuer", help="OIDC issuer URL whose userinfo validates tokens")
    parser.add_argument("--admin-group", help="group granting the Admin role")
    parser.add_argument("--qa-reviewer-group", help="group granting the QaReviewer role")
    parser.add_argument(
        "--templates",
        type=Path,
        default=DEFAULT_TEMPLATES_DIR,
        help="template directory (default: the shipped set)",
    )
    parser.add_argument(
        "--no-templates",
        action="store_true",
        help="serve no templates (template endpoints answer 503)",
    )
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        choices=BUILTIN_SERVICES,
        help="switch off a built-in service: it answers 503 (repeatable)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=("critical", "error", "warning", "info", "debug")
    )


def config_from(options: argparse.Namespace) -> EmulatorConfig:
    tokens = [StaticToken.parse(spec) for spec in options.token]
    admin_group, qa_group = options.admin_group, options.qa_reviewer_group
    if options.demo_tokens:
        tokens += demo.DEMO_TOKENS.values()
        admin_group = admin_group or demo.ADMIN_GROUP
        qa_group = qa_group or demo.QA_REVIEWER_GROUP
    return EmulatorConfig(
        database_url=options.database,
        static_tokens=tuple(tokens),
        oidc_issuer_url=options.oidc_issuer,
        admin_group=admin_group,
        qa_reviewer_group=qa_group,
        templates_dir=None if options.no_templates else options.templates,
        disabled_services=frozenset(options.without),
    )


def run(options: argparse.Namespace) -> None:
    """Seed if asked, then serve until interrupted."""
    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    config = config_from(options)
    engine = schema.create_engine(config.database_url)
    schema.create_schema(engine)
    runs = options.seed_size or (seed.DEMO_SIZE if options.seed == "demo" else None)
    if runs is not None and seed.is_empty(engine):
        started = time.perf_counter()
        summary = seed.seed(engine, runs=runs)
        logger.info("seeded %s in %.1f s", summary, time.perf_counter() - started)
    server_options: dict[str, Any] = dict(
        log_level=options.log_level,
        h11_max_incomplete_event_size=MAX_REQUEST_HEAD,
        lifespan="on",
    )
    sock = socket.socket(fileno=options.fd) if options.fd is not None else _listen(options)
    if options.workers > 1:
        from uvicorn.supervisors import Multiprocess

        os.environ[CONFIG_ENVIRONMENT] = config.to_json()
        app_path = "janitor_site_emulator.app:app_from_environment"
        multi = uvicorn.Config(app_path, factory=True, workers=options.workers, **server_options)
        Multiprocess(multi, sockets=[sock]).run()
    else:
        single = uvicorn.Config(create_app(config, engine), **server_options)
        uvicorn.Server(single).run(sockets=[sock])


def _listen(options: argparse.Namespace) -> socket.socket:
    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((options.host, options.port))
    sock.listen(2048)
    return sock


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m janitor_site_emulator",
        description="The reference Janitor site API v1 server.",
    )
    add_arguments(parser)
    run(parser.parse_args(argv))
