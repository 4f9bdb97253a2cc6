"""`personalize-mock-server` / `python server.py`: personalize, personalize-runtime,
personalize-events and the rest of moto (S3, IAM, ...) on one port."""
from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split(":")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("-p", "--port", type=int, default=4566, help="port (default 4566)")
    parser.add_argument("--ssl", action="store_true", help="serve https with a generated certificate")
    args = parser.parse_args(argv)

    from .. import install
    from moto.server import main as moto_main

    install()
    print(f"personalize-mock serving on http://{args.host}:{args.port}", flush=True)
    moto_main(["-H", args.host, "-p", str(args.port)] + (["--ssl"] if args.ssl else []))


if __name__ == "__main__":
    main()
