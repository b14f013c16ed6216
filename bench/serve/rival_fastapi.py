"""The rival of `aekit serve` in bench/serve/run.sh: the same scoring route served the way a
competent Python engineer would, FastAPI + uvicorn (uvloop, httptools) + PyTorch on the CPU.

    ~/.cache/aekit-bench/serve-venv/bin/python bench/serve/rival_fastapi.py --port PORT

POST /v1/models/det/score with {"inputs": [[784 floats]]} answers
{"scores": [...], "p_values": null, "flags": [...]}, GET /healthz answers {"status": "ok"}.

The model has the shape of the benchmark's detector, a dense autoencoder 784-64-8-64-784 with
ReLU after every hidden layer (the latent code included, as aekit's `dense` model does) and a
sigmoid output; the score is the mean squared reconstruction error of each row. Its weights are
PyTorch's default random init under a fixed seed, not a trained detector: the benchmark measures
serving speed, and a forward pass costs the same whatever the weights are. So p_values are null
(aekit's come from a calibration set this rival has not got) and flags compare the score with a
fixed threshold.

Setup choices, measured on the 2-core benchmark machine with wrk beside the server (see
bench/serve/run.sh; 5 s runs, the machine is noisy so only large gaps count): two uvicorn worker
processes and torch.set_num_threads(1) in each by default. Two workers against one: about the
same at concurrency 1, 1.5-1.9x the requests/s at 8 and 64 and a tenth of the p99 at 64, since
one worker saturates a single core with Python. A second intra-op thread loses badly (3-40x
fewer requests/s: its OpenMP threads spin against wrk and the other worker for the 2 cores, and
a 784-64-8 forward pass on one row is far too small to split). The handler is `async def` and
computes in the event loop: the forward pass takes tens of microseconds, and moving it to
Starlette's thread pool (what a plain `def` handler does) measured no faster, a little slower at
concurrency 64. The body is parsed with orjson instead of a pydantic model, and answered as
orjson bytes in a plain Response (what ORJSONResponse does; FastAPI 0.165 deprecates that
class).
"""
import argparse
import os

FEATURES = 784
THRESHOLD = 0.1  # fixed flag threshold on the MSE score (the weights are random: see above)
SEED = 0
JSON = "application/json"


def create_app():
    """The app of one uvicorn worker (an app factory: torch is imported here, in the workers only,
    not in the supervisor process that `--workers 2` adds, which would hold a copy for nothing)."""
    import orjson
    import torch
    from fastapi import FastAPI, Request, Response
    from torch import nn

    torch.set_num_threads(int(os.environ.get("RIVAL_TORCH_THREADS", "1")))
    torch.manual_seed(SEED)
    model = nn.Sequential(
        nn.Linear(FEATURES, 64), nn.ReLU(),
        nn.Linear(64, 8), nn.ReLU(),
        nn.Linear(8, 64), nn.ReLU(),
        nn.Linear(64, FEATURES), nn.Sigmoid(),
    ).eval()
    for p in model.parameters():
        p.requires_grad_(False)

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    def error(status: int, message: str) -> Response:
        return Response(orjson.dumps({"error": message}), status_code=status, media_type=JSON)

    @app.get("/healthz")
    async def healthz() -> Response:
        return Response(b'{"status":"ok"}', media_type=JSON)

    @app.post("/v1/models/det/score")
    async def score(request: Request) -> Response:
        try:
            inputs = orjson.loads(await request.body())["inputs"]
            x = torch.tensor(inputs, dtype=torch.float32)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, RuntimeError) as e:
            return error(400, f"bad body: {e}")
        if x.dim() != 2 or x.shape[0] == 0 or x.shape[1] != FEATURES:
            return error(422, f"inputs must be a non-empty list of rows of {FEATURES} numbers, got shape {list(x.shape)}")
        with torch.inference_mode():
            scores = (model(x) - x).square_().mean(dim=1).tolist()
        return Response(orjson.dumps({"scores": scores, "p_values": None, "flags": [s > THRESHOLD for s in scores]}),
                        media_type=JSON)

    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("RIVAL_WORKERS", "2")),
                    help="uvicorn worker processes (default 2, or $RIVAL_WORKERS)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads per worker (default 1, or $RIVAL_TORCH_THREADS)")
    a = ap.parse_args()
    if a.threads is not None:
        # Workers are fresh processes (spawned), so the choice travels through the environment.
        os.environ["RIVAL_TORCH_THREADS"] = str(a.threads)
    import uvicorn
    here = os.path.dirname(os.path.abspath(__file__))
    # An import string (not the app object) so that --workers > 1 works; no access log, which
    # would cost a formatted log line per request.
    uvicorn.run("rival_fastapi:create_app", factory=True, app_dir=here, host=a.host, port=a.port,
                workers=a.workers, loop="uvloop", http="httptools", access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
