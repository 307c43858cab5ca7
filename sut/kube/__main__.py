"""``python -m listwatch_conformance.sut.kube serve --sut SPEC [--host H] [--port N]``: serve a backend as a Kubernetes-style API.

Binds ``--host`` (default 127.0.0.1; port 0 picks a free one), then prints one line
``listening on http://HOST:PORT`` to stdout before serving, so a parent process can wait
for it. SIGTERM or SIGINT shuts down: open watches end, then the backend is closed.
"""

from __future__ import annotations

import argparse
import socket
import sys

from listwatch_conformance.sut.loading import SutError, resolve_factory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m listwatch_conformance.sut.kube")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a backend over the Kubernetes ConfigMap API")
    serve.add_argument("--sut", default="memory", help="backend: a built-in name or MODULE:NAME (default memory)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port to bind (default 0: any free port)")
    serve.add_argument("--watch-seconds", type=float, default=1800.0,
                       help="how long a watch without timeoutSeconds stays open (default 1800)")
    serve.add_argument("--return-deleted-object", action="store_true",
                       help="DELETE answers the deleted object at the delete's RV (default: a Status, "
                            "as kube-apiserver answers for ConfigMaps)")
    args = parser.parse_args(argv)

    import uvicorn  # imported late so --help works without the server extra

    from listwatch_conformance.sut.kube.server import build_app

    try:
        factory = resolve_factory(args.sut)
        backend = factory()
    except SutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls on keep-alive
    sock.bind((args.host, args.port))
    sock.listen(128)
    host, port = sock.getsockname()[:2]
    app = build_app(backend, watch_seconds=args.watch_seconds, factory=factory,
                    return_deleted_object=args.return_deleted_object)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2,
                            access_log=False)
    print(f"listening on http://{host}:{port}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
