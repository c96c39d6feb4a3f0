"""Command line: ``seemrepro train``, ``sweep``, ``runs``, ``options``, and for the paper's
claims ``claims``, ``reproduce`` and ``results export|verify|replicate``.

Agent options are ``--set key=value`` (``critic.norm=layernorm`` reaches the critic's config);
monitor intervals are ``--monitor key=value``. Values are read as JSON when they parse
(``1e-3``, ``true``, ``[256,256]``); a comma-separated value is a list (``256,256``), and
anything else is text. ``--grid key=v1,v2`` sweeps values; lists sweep as ``[64,64],[32,32]``.
Bad input ends in one ``seemrepro: error: ...`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from seemrepro.engine import MonitorConfig, RunConfig, RunResult, RunStore, train
from seemrepro.engine.versions import data_fingerprint
from seemrepro.rl.agents import ALGORITHMS, agent_class, make_config
from seemrepro.rl.buffers import REWARD_TRANSFORMS, SAMPLERS
from seemrepro.runtime import PROFILES, default_threads, set_threads

PROG = "seemrepro"


class Parser(argparse.ArgumentParser):
    """Usage errors in the same one-line form as every other error."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{PROG}: error: {message}\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows an option's default, unless its help already explains it or it has none to show
    (``argparse.ArgumentDefaultsHelpFormatter`` would append ``(default: None)`` to those)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if ("default" in text or action.default in (None, False, [], argparse.SUPPRESS)
                or not (action.option_strings or action.nargs == "?")):
            return action.help
        return f"{text} (default: %(default)s)"


def split_top_level(text: str) -> list[str]:
    """Split at commas outside brackets: ``[64,64],[32,32]`` → ``["[64,64]", "[32,32]"]``."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts]


def parse_scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def parse_value(text: str) -> Any:
    """JSON when it parses; a comma-separated value is a list of such values; else text."""
    parts = split_top_level(text)
    if len(parts) > 1:
        return [parse_scalar(p) for p in parts]
    return parse_scalar(text)


def parse_grid_values(text: str) -> list[Any]:
    """The values of one ``--grid`` axis: ``none,layernorm`` or ``[64,64],[32,32]``."""
    return [parse_scalar(p) for p in split_top_level(text)]


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
            if hi < lo:
                raise ValueError(f"the range {text} is empty")
            seeds = list(range(lo, hi + 1))
        else:
            seeds = [int(x) for x in text.split(",")]
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"bad seeds {text!r} ({error}): use 3, 0-4 or 0,2,5"
                                         ) from error
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"bad seeds {text!r}: need distinct non-negative seeds")
    return seeds


def algorithm_name(text: str) -> str:
    if text not in ALGORITHMS:
        raise argparse.ArgumentTypeError(f"unknown algorithm {text!r}; choose one of "
                                         f"{', '.join(ALGORITHMS)}")
    return text


def _checked(kind: Callable[[str], Any], valid: Callable[[Any], bool], what: str
             ) -> Callable[[str], Any]:
    """An argparse type: ``kind(text)`` that must satisfy ``valid``, else "expected <what>"."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from error
        if not valid(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value
    return parse


positive_int = _checked(int, lambda v: v > 0, "a positive integer")
fraction = _checked(float, lambda v: 0.0 < v <= 1.0, "a fraction in (0, 1]")
count_or_all = _checked(lambda t: None if t == "all" else int(t),
                        lambda v: v is None or v > 0, "a positive integer or 'all'")


def monitors(assignments: Sequence[tuple[str, str]]) -> MonitorConfig:
    names = {f.name for f in dataclasses.fields(MonitorConfig)}
    values = {k: parse_value(v) for k, v in assignments}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown monitor option(s) {unknown}; valid: {', '.join(sorted(names))}")
    return MonitorConfig(**values)


def describe_options(algorithm: str) -> str:
    """Every ``--set`` option of an algorithm with its default, critic options included."""
    config = make_config(algorithm).to_dict()
    critic = config.pop("critic")
    lines = [f"{algorithm} ({agent_class(algorithm).__name__}) options, --set key=value:"]
    lines += [f"  {k} = {json.dumps(v)}" for k, v in sorted(config.items())]
    lines += [f"  critic.{k} = {json.dumps(v)}" for k, v in sorted(critic.items())]
    lines.append("monitor options, --monitor key=value:")
    lines += [f"  {f.name} = {json.dumps(getattr(MonitorConfig(), f.name))}"
              for f in dataclasses.fields(MonitorConfig)]
    return "\n".join(lines)


def summarize(result: RunResult, store: RunStore) -> str:
    def last(metric: str) -> str:
        _, values = result.series(metric)
        return f"{values[-1]:.4g}" if len(values) else "-"

    status = (f"diverged at {result.diverged_at}" if result.diverged_at is not None
              else "converged/finite")
    cached = " (cached)" if result.cached else ""
    return (f"seed {result.config.seed}{cached}: {status}; final q_data {last('q_data')}, "
            f"seem_normalized {last('seem_normalized')}, normalized_score "
            f"{last('normalized_score')}; {result.seconds:.1f} s; {store.run_dir(result.config)}")


def add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("algorithm", type=algorithm_name,
                   help=f"one of {', '.join(ALGORITHMS)}; `seemrepro options <algorithm>` lists "
                        f"its --set options")
    p.add_argument("--steps", type=positive_int, default=100_000, help="gradient steps")
    p.add_argument("--batch-size", type=positive_int, default=256,
                   help="transitions per minibatch and seed")
    p.add_argument("--seeds", type=parse_seeds, default="0", help="3, 0-4 or 0,2,5")
    p.add_argument("--set", dest="options", type=parse_assignment, action="append", default=[],
                   metavar="KEY=VALUE",
                   help="agent option, e.g. tau=1.0, critic.norm=layernorm, critic.hidden=256,256")
    p.add_argument("--monitor", type=parse_assignment, action="append", default=[],
                   metavar="KEY=VALUE", help="e.g. seem_every=5000, eval_every=10000")
    p.add_argument("--runs", default=None, help="run store root (default: ./runs or "
                   "$SEEMREPRO_RUNS)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help=f"torch threads (default here: {default_threads()}: one on machines with "
                        f"at most 4 cores, or $SEEMREPRO_THREADS)")
    p.add_argument("--sequential", action="store_true",
                   help="train seeds one after another instead of as one batched model")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--reward-transform", choices=sorted(REWARD_TRANSFORMS), default="none",
                   help="offline: reward shaping of the training data (antmaze: +10 on success)")
    p.add_argument("--sampler", choices=SAMPLERS, default="uniform",
                   help="offline: minibatch sampler (oper-r: return-based rebalancing)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=__doc__, formatter_class=HelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    tr = sub.add_parser("train", help="train one config for one or more seeds",
                        formatter_class=HelpFormatter)
    add_run_options(tr)
    tr.add_argument("--dataset", required=True,
                    help="rollout/<EnvId>/<steps>, online/<EnvId> (SAC) or a local dataset id")
    tr.add_argument("--subset", type=fraction, default=1.0, help="fraction X of the transitions")
    sw = sub.add_parser("sweep", help="train every combination of a grid",
                        formatter_class=HelpFormatter)
    add_run_options(sw)
    sw.add_argument("--dataset", action="append", required=True, help="repeat for several")
    sw.add_argument("--subset", type=fraction, action="append", default=None,
                    help="repeat for several (default: 1.0)")
    sw.add_argument("--grid", type=parse_assignment, action="append", default=[],
                    metavar="KEY=V1,V2", help="agent option with several values")
    ru = sub.add_parser("runs", help="list the run store's runs, or their status",
                        formatter_class=HelpFormatter)
    ru.add_argument("action", nargs="?", choices=("list", "status"), default="list",
                    help="list: one line per run; status: counts, and every stale run")
    ru.add_argument("--runs", default=None, help="run store root (default: ./runs or "
                    "$SEEMREPRO_RUNS)")
    ru.add_argument("--filter", type=parse_assignment, action="append", default=[],
                    metavar="KEY=VALUE", help="e.g. algorithm=td3, agent.critic.norm=layernorm")
    op = sub.add_parser("options", help="an algorithm's --set and --monitor options",
                        formatter_class=HelpFormatter)
    op.add_argument("algorithm", type=algorithm_name, help=f"one of {', '.join(ALGORITHMS)}")
    cl = sub.add_parser("claims", help="every claim of the paper and its status per profile",
                        formatter_class=HelpFormatter)
    cl.add_argument("--thresholds", action="store_true",
                    help="also list every verdict's thresholds beside the paper's figures")
    rp = sub.add_parser("reproduce", help="train every run a claim declares (skips done runs)",
                        formatter_class=HelpFormatter)
    rp.add_argument("claim", help="claim ID, e.g. T10")
    rp.add_argument("--profile", default="book", choices=PROFILES)
    rp.add_argument("--runs", default=None, help="run store root (default: ./runs or "
                    "$SEEMREPRO_RUNS); on a cluster, a shared filesystem")
    rp.add_argument("--dry-run", action="store_true",
                    help="list the runs, their cost in updates and which are done; train nothing")
    rp.add_argument("--only", action="append", default=[], metavar="TEXT",
                    help="only the runs whose variant contains TEXT (repeat: all of them), "
                    "e.g. --only CQL")
    rp.add_argument("--executor", choices=("local", "slurm"), default="local")
    rp.add_argument("--max-group", type=positive_int, default=64,
                    help="most runs per batched model")
    rp.add_argument("--threads", type=positive_int, default=None,
                    help="torch threads (default: one on small machines, else torch's)")
    rp.add_argument("--partition", default=None, help="slurm: partition")
    rp.add_argument("--account", default=None, help="slurm: account")
    rp.add_argument("--qos", default=None, help="slurm: quality of service")
    rp.add_argument("--gpus", type=int, default=0, help="slurm: GPUs per job")
    rp.add_argument("--cpus", type=positive_int, default=2, help="slurm: CPUs per job")
    rp.add_argument("--mem-gb", type=float, default=None, help="slurm: memory per job")
    rp.add_argument("--time", type=positive_int, default=60, help="slurm: minutes per job")
    rp.add_argument("--parallelism", type=positive_int, default=64,
                    help="slurm: array tasks running at once")
    rp.add_argument("--wait", action="store_true", help="slurm: wait for the jobs to finish")
    rp.add_argument("--cluster", choices=("slurm", "local"), default="slurm",
                    help="slurm: where submitit sends the jobs; 'local' runs the same jobs as "
                    "subprocesses on this machine")
    rs = sub.add_parser("results", help="export a claim's finished runs to data/results, "
                        "verify committed results by retraining, or replicate them on this "
                        "kind of machine", formatter_class=HelpFormatter)
    rs.add_argument("action", choices=("export", "verify", "replicate"))
    rs.add_argument("claims", nargs="*", help="claim IDs (verify, replicate: default every "
                    "claim with runs)")
    rs.add_argument("--profile", choices=PROFILES, default=None,
                    help="export: default book; verify, replicate: default every profile")
    rs.add_argument("--runs", default=None, help="run store root to export from")
    rs.add_argument("--k", type=count_or_all, default=1, help="verify, replicate: how many "
                    "runs per claim and profile, the cheapest first, or 'all'")
    rs.add_argument("--sample", action="store_true", help="verify, replicate: the runs the "
                    "test suite trains again (the cheapest of each claim at smoke and the "
                    "cheapest at book), instead of claims, --profile and --k")
    return parser


def run_training(args: argparse.Namespace) -> None:
    mon = monitors(args.monitor)
    base = [(k, parse_value(v)) for k, v in args.options]
    if args.command == "train":
        grid: list[list[tuple[str, Any]]] = [[]]
        datasets, subsets = [args.dataset], [args.subset]
    else:
        axes = [[(k, v) for v in parse_grid_values(values)] for k, values in args.grid]
        grid = [list(c) for c in itertools.product(*axes)]
        datasets, subsets = args.dataset, args.subset or [1.0]
    store = RunStore(args.runs)
    configs = []
    for dataset, subset, point in itertools.product(datasets, subsets, grid):
        config = RunConfig(args.algorithm, dataset, seed=args.seeds[0], steps=args.steps,
                           batch_size=args.batch_size, subset=subset,
                           agent=nest(base + point), monitors=mon,
                           reward_transform=args.reward_transform, sampler=args.sampler)
        config.resolved()  # unknown or ill-typed options fail here, before any training
        configs.append((config, point))
    for dataset in datasets:  # a bad or missing dataset fails before any training too
        data_fingerprint(dataset)
    set_threads(args.threads)
    for config, point in configs:
        label = ", ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in point)
        print(f"== {args.algorithm} on {config.dataset} (subset {config.subset}) {label}".rstrip())
        for result in train(config, args.seeds, store=store, batched=not args.sequential,
                            progress=not args.no_progress):
            print("  " + summarize(result, store))


def list_runs(args: argparse.Namespace) -> None:
    from seemrepro.engine.store import flatten, matches_filters

    store = RunStore(args.runs)
    wanted = {k: parse_value(v) for k, v in args.filter}
    stored = [(run, flatten(run.record)) for run in store.runs()]
    known = set().union(*(flat for _, flat in stored))
    unknown = sorted(set(wanted) - known) if stored else []
    if unknown:  # a misspelt key would otherwise silently match nothing
        raise ValueError(f"unknown filter(s) {unknown}; keys include {', '.join(sorted(known))}")
    runs = [run for run, flat in stored if matches_filters(flat, wanted)]
    if args.action == "status":
        counts: dict[str, int] = {}
        for run in runs:
            counts[run.status] = counts.get(run.status, 0) + 1
        print(f"{len(runs)} runs in {store.root}: "
              + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none"))
        runs = [r for r in runs if r.status != "done"]
        if runs:
            print("not current (stale runs are never reused; delete their folders to reclaim "
                  "space):")
    if not runs:
        return
    print(f"{'key':16}  {'algorithm':9}  {'dataset':34}  {'subset':>6}  {'seed':>4}  "
          f"{'steps':>7}  {'status':10}  diverged_at")
    for run in runs:
        r, summary = run.record, run.summary or {}
        diverged = summary.get("diverged_at")
        print(f"{run.key:16}  {r['algorithm']:9}  {r['dataset']:34}  {r['subset']:>6}  "
              f"{r['seed']:>4}  {r['steps']:>7}  {run.status:10}  "
              f"{'-' if diverged is None else diverged}")


def show_claims(args: argparse.Namespace) -> None:
    import pandas as pd

    from seemrepro.experiments.status import claims_frame, thresholds_frame

    with pd.option_context("display.max_colwidth", 60, "display.width", 200):
        print(claims_frame().drop(columns=["paper's figure"]).to_string(index=False))
        if args.thresholds:
            thresholds = thresholds_frame()
            thresholds["changed after runs"] = thresholds["changed after runs"].map(
                lambda text: "no" if text == "no" else "yes")
            print()
            print(thresholds[["ID", "threshold", "value", "paper's figure",
                              "changed after runs"]].to_string(index=False))


def run_reproduce(args: argparse.Namespace) -> None:
    from seemrepro.experiments.cluster import ClusterOptions
    from seemrepro.experiments.runner import plan, reproduce, submit, to_train

    store = RunStore(args.runs)
    planned = plan(args.claim, args.profile, store, args.only)
    if not planned:
        raise ValueError(f"no run of {args.claim} at {args.profile} has a variant containing "
                         + " and ".join(repr(t) for t in args.only))
    todo = to_train(planned)
    if args.dry_run:
        # columns as wide as their longest entry: names and dataset ids are never cut
        vw = max([len("variant")] + [len(p.variant) for p in planned])
        dw = max([len("dataset")] + [len(p.config.dataset) for p in planned])
        print(f"{'key':16}  {'variant':{vw}}  {'dataset':{dw}}  {'subset':>6}  {'seed':>4}  "
              f"{'updates':>8}  status")
        for p in planned:
            c = p.config
            print(f"{p.key:16}  {p.variant:{vw}}  {c.dataset:{dw}}  {c.subset:>6}  "
                  f"{c.seed:>4}  {p.updates:>8}  {p.status}")
        print(f"{len(planned)} runs, {len(planned) - len(todo)} done in {store.root} or "
              f"committed; {sum(c.steps for c in todo):,} updates to train")
        return
    set_threads(args.threads)
    if args.executor == "local":
        reproduce(args.claim, args.profile, store=store, max_group=args.max_group,
                  threads=args.threads or default_threads(), only=args.only)
        print(f"{args.claim} at {args.profile}: {len(planned)} runs done in {store.root}")
        return
    options = ClusterOptions(partition=args.partition, gpus=args.gpus, time_min=args.time,
                             cpus=args.cpus, mem_gb=args.mem_gb, parallelism=args.parallelism,
                             account=args.account, qos=args.qos, cluster=args.cluster)
    jobs = submit(args.claim, args.profile, options, store=store, max_group=args.max_group,
                  only=args.only)
    print(f"submitted {len(jobs)} jobs for {len(todo)} runs: "
          + ", ".join(str(j.job_id) for j in jobs))
    if args.wait:
        for job in jobs:
            job.result()
        print("all jobs finished")


def run_results(args: argparse.Namespace) -> None:
    from seemrepro.experiments.results import export_results
    from seemrepro.experiments.verify import (
        STALE,
        replicate_results,
        verification_sample,
        verify_results,
    )

    if args.action == "export":
        if not args.claims:
            raise ValueError("name the claim(s) to export, e.g. `seemrepro results export T10`")
        for claim in args.claims:
            out, done, total = export_results(claim, args.profile or "book",
                                              store=RunStore(args.runs))
            print(f"{claim}: exported {done} of {total} runs to {out}")
        return
    profiles = [args.profile] if args.profile else list(PROFILES)
    selections = ([([claim], [profile]) for claim, profile in verification_sample()]
                  if args.sample else [(args.claims or None, profiles)])
    if args.action == "replicate":
        outcomes = [o for claims, profs in selections
                    for o in replicate_results(claims, profs, k=1 if args.sample else args.k,
                                               progress=True)]
        for o in outcomes:
            print(f"{o.claim:4} {o.profile:6} {o.variant[:12]:12} seed {o.seed:<3} {o.key}  "
                  f"{o.status}: {o.detail}")
        stale = [o for o in outcomes if o.status == STALE]
        if stale:
            raise ValueError(f"{len(stale)} committed run(s) are stale: export them again")
        return
    outcomes = [o for claims, profs in selections
                for o in verify_results(claims, profs, k=1 if args.sample else args.k)]
    for o in outcomes:
        print(f"{o.claim:4} {o.profile:6} {o.variant[:12]:12} seed {o.seed:<3} {o.key}  "
              f"{o.status}" + (f": {o.detail}" if o.detail else ""))
    bad = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes)} runs checked: {len(outcomes) - len(bad)} agree or are skipped, "
          f"{len(bad)} do not")
    if bad:
        raise ValueError(f"{len(bad)} committed run(s) do not match the current code")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, or a usage error already reported
        return done.code if isinstance(done.code, int) else 2
    try:
        if args.command in ("train", "sweep"):
            run_training(args)
        elif args.command == "runs":
            list_runs(args)
        elif args.command == "claims":
            show_claims(args)
        elif args.command == "reproduce":
            run_reproduce(args)
        elif args.command == "results":
            run_results(args)
        else:
            print(describe_options(args.algorithm))
    except (ValueError, TypeError, KeyError, FileNotFoundError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
