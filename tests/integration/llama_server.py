"""A real OpenAI-compatible server for tests: llama.cpp's own HTTP server, through xllamacpp.

``xllamacpp.Server`` embeds llama.cpp's ``llama-server`` (the same HTTP code, routes and SSE
framing users run as a standalone binary). Run as a script it serves one GGUF on
``127.0.0.1:PORT`` behind an API key, prints ``ready`` and serves until killed; the tests start
it as a child process so they can kill it mid-reply like a crashed or restarted server.

    python tests/integration/llama_server.py MODEL.gguf PORT API_KEY
"""

from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str]) -> int:
    model, port, key = argv[1], int(argv[2]), argv[3]
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.n_ctx = 2048
    params.n_parallel = 1
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    params.use_jinja = True
    params.verbosity = -1
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.api_keys = [key]
    params.ui = False
    server = xllamacpp.Server(params)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    try:
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
    finally:
        del server
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    sys.exit(main(sys.argv))
