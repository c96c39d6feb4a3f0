"""Command line: ``seemrepro train`` (one config, one or more seeds) and ``seemrepro sweep``.

Agent options are ``--set key=value`` (``critic.norm=layernorm`` reaches the critic's config);
monitor intervals are ``--monitor key=value``; values are read as JSON when they parse
(``1e-3``, ``true``, ``[0,1]``) and as text otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from collections.abc import Sequence
from typing import Any

from seemrepro.agents import ALGORITHMS
from seemrepro.runstore import RunStore
from seemrepro.training import MonitorConfig, RunConfig, RunResult, train


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_assignment(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), value


def nest(assignments: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    """``[("critic.norm", "layernorm")]`` -> ``{"critic": {"norm": "layernorm"}}``."""
    out: dict[str, Any] = {}
    for key, value in assignments:
        node = out
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def parse_seeds(text: str) -> list[int]:
    """``3`` -> [3]; ``0-4`` -> [0..4]; ``0,2,5`` -> [0, 2, 5]."""
    try:
        if "-" in text and "," not in text:
            lo, hi = (int(x) for x in text.split("-"))
            return list(range(lo, hi + 1))
        return [int(x) for x in text.split(",")]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"bad seeds {text!r}: use 3, 0-4 or 0,2,5") from error


def monitors(assignments: Sequence[tuple[str, str]]) -> MonitorConfig:
    names = {f.name for f in dataclasses.fields(MonitorConfig)}
    values = {k: parse_value(v) for k, v in assignments}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown monitor option(s) {unknown}; valid: {', '.join(sorted(names))}")
    return MonitorConfig(**values)


def summarize(result: RunResult, store: RunStore) -> str:
    def last(metric: str) -> str:
        _, values = result.series(metric)
        return f"{values[-1]:.4g}" if len(values) else "-"

    status = (f"diverged at {result.diverged_at}" if result.diverged_at is not None
              else "converged/finite")
    return (f"seed {result.config.seed}: {status}; final q_data {last('q_data')}, "
            f"seem_normalized {last('seem_normalized')}, normalized_score "
            f"{last('normalized_score')}; {result.seconds:.1f} s; {store.run_dir(result.config)}")


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("algorithm", help=f"one of {', '.join(ALGORITHMS)}")
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--seeds", type=parse_seeds, default=[0], help="3, 0-4 or 0,2,5")
    p.add_argument("--set", dest="options", type=parse_assignment, action="append", default=[],
                   metavar="KEY=VALUE", help="agent option, e.g. tau=1.0, critic.norm=layernorm")
    p.add_argument("--monitor", type=parse_assignment, action="append", default=[],
                   metavar="KEY=VALUE", help="e.g. seem_every=5000, eval_every=10000")
    p.add_argument("--runs", default=None, help="run store root (default: ./runs)")
    p.add_argument("--sequential", action="store_true",
                   help="train seeds one after another instead of as one batched model")
    p.add_argument("--no-progress", action="store_true")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seemrepro", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train one config for one or more seeds")
    add_run_options(tr)
    tr.add_argument("--dataset", required=True,
                    help="rollout/<EnvId>/<steps>, online/<EnvId> (SAC) or a local dataset id")
    tr.add_argument("--subset", type=float, default=1.0, help="fraction X of the transitions")
    sw = sub.add_parser("sweep", help="train every combination of a grid")
    add_run_options(sw)
    sw.add_argument("--dataset", action="append", required=True, help="repeat for several")
    sw.add_argument("--subset", type=float, action="append", default=None)
    sw.add_argument("--grid", type=parse_assignment, action="append", default=[],
                    metavar="KEY=V1,V2", help="agent option with several values")
    args = parser.parse_args(argv)
    try:
        if args.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {args.algorithm!r}; choose one of "
                             f"{', '.join(ALGORITHMS)}")
        mon = monitors(args.monitor)
        base = [(k, parse_value(v)) for k, v in args.options]
        if args.command == "train":
            grid: list[list[tuple[str, Any]]] = [[]]
            datasets, subsets = [args.dataset], [args.subset]
        else:
            axes = [[(k, parse_value(v)) for v in values.split(",")] for k, values in args.grid]
            grid = [list(c) for c in itertools.product(*axes)]
            datasets, subsets = args.dataset, args.subset or [1.0]
        store = RunStore(args.runs)
        for dataset, fraction, point in itertools.product(datasets, subsets, grid):
            config = RunConfig(args.algorithm, dataset, seed=args.seeds[0], steps=args.steps,
                               batch_size=args.batch_size, subset=fraction,
                               agent=nest(base + point), monitors=mon)
            config.resolved()  # unknown agent options fail here, before any training
            label = ", ".join(f"{k}={v}" for k, v in point)
            print(f"== {args.algorithm} on {dataset} (subset {fraction}) {label}".rstrip())
            for result in train(config, args.seeds, store=store, batched=not args.sequential,
                                progress=not args.no_progress):
                print("  " + summarize(result, store))
    except (ValueError, TypeError) as error:
        print(f"seemrepro: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
