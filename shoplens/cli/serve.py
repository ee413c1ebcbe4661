"""`shoplens serve --store DIR`: the HTTP API and the shop's search page (see shoplens/server/)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..errors import UsageError

# uvicorn's default (5 s) drops a shop frontend's pooled connections between bursts of shoppers
KEEP_ALIVE_S = 30


def add_serve_parser(subparsers: Any) -> None:
    sp = subparsers.add_parser(
        "serve",
        help="serve a store over HTTP: the search page at /, the API (OpenAPI at /docs)",
        description="Run the HTTP server on a store: a shopper's search page at /, the JSON API "
        "(/search, /products, /images, /events, /healthz, /metrics; OpenAPI at /docs). Admin "
        "routes (/admin/reindex, /admin/train-ranker) are on only with a token from "
        "$SHOPLENS_ADMIN_TOKEN or --admin-token-file.",
    )
    sp.add_argument("--store", required=True, help="store directory")
    sp.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes (each loads the models and its own cache; a reindex reaches the others "
        "within 2 s through the store's CURRENT)",
    )
    # Unset flags fall back to $SHOPLENS_<SETTING>, then the store's [server] table, then the default.
    sp.add_argument("--threads", type=int, help="encoder threads per process (default: [encoders] threads)")
    sp.add_argument("--admin-token-file", help="file holding the admin bearer token (else $SHOPLENS_ADMIN_TOKEN)")
    sp.add_argument(
        "--max-upload-mb", type=float, help="largest photo upload (default 10 MB; [server] max_upload_bytes)"
    )
    sp.add_argument("--cache-size", type=int, help="result pages kept in memory (0 = off; default 1024)")
    sp.add_argument("--timeout", type=float, help="seconds a search may run before 503 (default 30)")
    sp.add_argument("--ray", action="store_true", help="run as a Ray Serve deployment (shoplens/server/ray_serve.py)")
    sp.add_argument("--replicas", type=int, default=1, help="with --ray: Ray Serve replicas, each loads the models")
    sp.add_argument("--replica-cpus", type=float, default=1.0, help="with --ray: CPUs reserved per replica")
    sp.add_argument("--ray-address", metavar="ADDR", help="with --ray: a running cluster (HOST:PORT, 'auto')")
    sp.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from ..server.settings import ENV_ADMIN_TOKEN_FILE, ENV_STORE, ServerSettings, env_name

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: expected 1..65535")
    flags = {
        "max_upload_bytes": None if args.max_upload_mb is None else int(args.max_upload_mb * 1024 * 1024),
        "cache_size": args.cache_size,
        "search_timeout_s": args.timeout,
        "threads": args.threads,
    }
    settings = ServerSettings.resolve(args.store, flags, os.environ, args.admin_token_file)
    token = settings.admin_token
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host if args.host not in ('0.0.0.0', '::') else '127.0.0.1'}:{args.port}/"
    admin = "on" if token else "off (no token configured)"
    if args.ray:
        return _serve_on_ray(args, settings, url, admin)
    if args.workers > 1:
        from ..store.reader import StoreReader

        StoreReader(args.store).close()  # a bad --store fails here with one line, not once per worker
        # Worker processes import the app by name and resolve the settings from the environment
        # and the store's file: flags given here become their variables, as they outrank both.
        os.environ[ENV_STORE] = str(args.store)
        if args.admin_token_file:
            os.environ[ENV_ADMIN_TOKEN_FILE] = args.admin_token_file
        for name, value in flags.items():
            if value is not None:
                os.environ[env_name(name)] = str(value)
        print(
            f"shoplens: serving {args.store} at {url} with {args.workers} workers (API docs {url}docs; admin {admin})"
        )
        uvicorn.run(
            "shoplens.server.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="warning",
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        return 0
    from ..server.app import create_app

    app = create_app(settings)  # opens the store first: a bad --store fails here with one line
    print(f"shoplens: serving {args.store} at {url} (API docs {url}docs; admin {admin})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_keep_alive=KEEP_ALIVE_S)
    return 0


def _serve_on_ray(args: argparse.Namespace, settings: Any, url: str, admin: str) -> int:
    from ..server.ray_serve import run_ray_serve
    from ..store.reader import StoreReader

    if args.replicas < 1 or args.replica_cpus <= 0:
        raise UsageError("--replicas must be at least 1 and --replica-cpus above 0")
    if args.workers > 1:
        raise UsageError("--workers is for uvicorn; with --ray use --replicas")
    StoreReader(args.store).close()  # a bad --store fails here with one line, not once per replica

    def ready() -> None:
        print(
            f"shoplens: serving {args.store} at {url} on Ray Serve with {args.replicas} replica(s) "
            f"(API docs {url}docs; admin {admin})",
            flush=True,
        )

    return run_ray_serve(
        settings,
        host=args.host,
        port=args.port,
        replicas=args.replicas,
        replica_cpus=args.replica_cpus,
        address=args.ray_address,
        on_ready=ready,
    )
