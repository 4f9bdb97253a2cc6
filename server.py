"""python server.py [--host 127.0.0.1] [--port 4566]"""
from personalize_mock.server.cli import main

if __name__ == "__main__":
    main()
