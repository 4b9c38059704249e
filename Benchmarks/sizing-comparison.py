#!/usr/bin/env python3
"""Saturation sizing vs the ready-count echo, on the same compressed day, against a real Prometheus.

One Prometheus (Debian package) scrapes, every second, one replica-recommender and two vllm-sim
fleets playing the same scenario (Benchmarks/sizing-day.yaml by default) under two namespace
prefixes. Each fleet is scaled by an emulated KEDA ScaledObject + HPA (`vllm-sim --hpa`:
tolerance, scale-down stabilization, scale-up rate, activation, cooldown; upstream defaults,
compressed by the scenario's time scale):

  sat   saturation sizing (the default): one trigger, `inferno_desired_replicas`, replicas = value
        (AverageValue 1), as the chart renders it.
  echo  the ready-count echo (the recommendation before saturation sizing): while the recommender
        says >= 1, the number of pods reporting vLLM metrics (the recommender's own `ready` query);
        0 when it says 0; its floor while no pod reports. That rule never asks for more or fewer
        replicas than there are, so, as the integration guide advised then, a second trigger
        scales up: requests in flight per replica against the same target the saturation sizing
        uses (target_kv_cache_utilization x the requests whose KV fits in one replica). The HPA
        takes the larger proposal. This is a benchmark-only rule written as PromQL here, not a
        product option.

The two fleets see identical arrivals (same seed, same fixed steps). Prints, per model and in
total: GPU replica-seconds (pods, starting and draining included), ready replica-seconds, peak
pods, requests delayed (not started at once: waiting at the gateway or in a pod's queue) and their
delay from arrival to start (p50/p99/max, scenario seconds), and the number of changes of the
recommendation the HPA acted on and of the Deployment's replicas.

Usage: python3 Benchmarks/sizing-comparison.py [--scenario PATH] [--build debug|release] [--no-build]
                                               [--hpa-tolerance 0.1] [--hpa-window 300] [--json OUT]
Wall time: the scenario's length / time_scale (6 min for the default) plus ~20 s.
"""
import argparse, json, os, re, shutil, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The ready count exactly as the recommender reads it (SignalQueries.ready).
READY = "count by (namespace, model_name) (group by (namespace, model_name, pod, instance) (vllm:num_requests_running))"
DESIRED = "max by (namespace, model_name) (inferno_desired_replicas)"
# Echo: ready pods while the recommendation is >= 1; the recommendation itself (0, or the floor
# while no pod reports yet) otherwise.
ECHO = f"(({READY}) and on (namespace, model_name) (({DESIRED}) > 0)) or ({DESIRED})"
IN_FLIGHT = "sum by (namespace, model_name) (vllm:num_requests_running + vllm:num_requests_waiting)"


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def scenario_facts(text):
    """time_scale, the requests one replica runs (KV-bound), and the models (id, namespace)."""
    def field(name, default):
        m = re.search(rf"^{name}:\s*([^\s#]+)", text, re.M)
        return m.group(1) if m else default
    concurrency = float(field("replica_concurrency", 8))
    tokens = float(field("tokens_per_request", 1))
    capacity = float(field("kv_capacity_tokens", concurrency * tokens))
    runnable = max(1, min(concurrency, int(capacity / max(tokens, 1))))
    models = re.findall(r"-\s*\{?\s*id:\s*([^\s,}]+)[\s\S]*?namespace:\s*([^\s,}]+)", text)
    return float(field("time_scale", 1)), runnable, models


def duration_seconds(text):
    total, units = 0.0, {"h": 3600, "m": 60, "s": 1}
    for number, unit in re.findall(r"([\d.]+)([hms])", text):
        total += float(number) * units[unit]
    return total


def scenario_length(text):
    """The last point of every profile (or 6 h): how long to run."""
    times = [duration_seconds(t) for t in re.findall(r"\{at:\s*([^,]+),", text)]
    return max(times) if times else 6 * 3600


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default=os.path.join(ROOT, "Benchmarks", "sizing-day.yaml"))
    parser.add_argument("--build", default="debug", choices=["debug", "release"])
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--target-kv", type=float, default=0.8, help="target_kv_cache_utilization (the product default)")
    parser.add_argument("--hpa-tolerance", type=float, default=0.1, help="HPA tolerance (upstream default 0.1)")
    parser.add_argument("--hpa-window", type=float, default=300, help="HPA scale-down window, scenario seconds (default 300)")
    parser.add_argument("--stabilization", type=float, default=240,
                        help="the recommender's --scale-down-stabilization in scenario seconds (default 240: 4 ticks of 1 s real = "
                             "60 s scenario, as the service's default 60 s window holds 4 of its default 15 s ticks)")
    parser.add_argument("--retention", type=float, default=1200, help="retention_period, scenario seconds")
    parser.add_argument("--json", help="write both reports and the settings to this file")
    args = parser.parse_args()

    text = open(args.scenario).read()
    scale, runnable, models = scenario_facts(text)
    length = scenario_length(text)
    if not args.no_build:
        for product in ("replica-recommender", "vllm-sim"):
            subprocess.run(["swift", "build", "-c", args.build, "--product", product], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    binaries = os.path.join(ROOT, ".build", args.build)
    work = tempfile.mkdtemp(prefix="rr-sizing-")
    processes = []
    try:
        prom_port, rr_port = free_port(), free_port()
        runs = {"sat": free_port(), "echo": free_port()}
        with open(f"{work}/prometheus.yml", "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n")
            for job, port in [("recommender", rr_port)] + list(runs.items()):
                f.write(f"  - job_name: {job}\n    honor_labels: true\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n")
        processes.append(subprocess.Popen(
            ["prometheus", f"--config.file={work}/prometheus.yml", f"--web.listen-address=127.0.0.1:{prom_port}",
             f"--storage.tsdb.path={work}/data", "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        prom = f"http://127.0.0.1:{prom_port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(prom + "/-/ready", timeout=1).read(); break
            except OSError:
                time.sleep(0.1)

        os.makedirs(f"{work}/models")
        with open(f"{work}/models/default", "w") as f:
            f.write(f"enable_scale_to_zero: true\nretention_period: {args.retention / scale:g}s\nmax_replicas: 16\n"
                    f"target_kv_cache_utilization: {args.target_kv}\n")
        for run in runs:
            with open(f"{work}/{run}.yaml", "w") as f:
                f.write(re.sub(r"namespace:\s*([\w-]+)", lambda m: f"namespace: {run}-{m.group(1)}", text))
            for index, (model, namespace) in enumerate(models):
                with open(f"{work}/models/{run}-{index}", "w") as f:
                    f.write(f"model_id: {model}\nnamespace: {run}-{namespace}\n")
        processes.append(subprocess.Popen(
            [f"{binaries}/replica-recommender", "serve", "--config", f"{work}/models", "--prometheus-url", prom,
             "--listen", f"127.0.0.1:{rr_port}", "--interval", "1s", "--scrape-interval", "1s",
             "--scale-down-stabilization", f"{args.stabilization / scale:g}s"],
            stdout=open(f"{work}/recommender.log", "w"), stderr=subprocess.STDOUT))
        time.sleep(2)

        common = ["--prometheus-url", prom, "--hpa", "--until", f"{length:g}", "--hpa-tolerance", f"{args.hpa_tolerance:g}",
                  "--hpa-scale-down-window", f"{args.hpa_window:g}", "--max-replicas", "16"]
        metrics = {
            "sat": ["--metric", f"1={DESIRED}"],
            "echo": ["--metric", f"1={ECHO}", "--metric", f"{args.target_kv * runnable:g}={IN_FLIGHT}"],
        }
        load_before = os.getloadavg()
        started = time.time()
        sims = {}
        for run, port in runs.items():
            sims[run] = subprocess.Popen(
                [f"{binaries}/vllm-sim", "--scenario", f"{work}/{run}.yaml", "--listen", f"127.0.0.1:{port}",
                 "--report", f"{work}/{run}.json"] + common + metrics[run],
                stdout=open(f"{work}/{run}.log", "w"), stderr=subprocess.STDOUT)
        print(f"running {length / 3600:g} scenario hours in {length / scale:.0f} s (x{scale:g}); load before {load_before[0]:.2f}", file=sys.stderr)
        loads = []
        while any(p.poll() is None for p in sims.values()):
            time.sleep(5)
            loads.append(os.getloadavg()[0])
        wall = time.time() - started
        for run, p in sims.items():
            if p.returncode != 0:
                sys.exit(f"vllm-sim ({run}) failed:\n" + open(f"{work}/{run}.log").read())
        reports = {run: json.load(open(f"{work}/{run}.json")) for run in runs}
        decisions = sum(1 for line in open(f"{work}/recommender.log") if 'msg="decision changed"' in line or "msg=decision" in line)
        print_table(reports, runs)
        print(f"\nscenario {length / 3600:g} h at x{scale:g}: wall {wall:.0f} s (expected {length / scale:.0f} s); "
              f"1-min load average before {load_before[0]:.2f}, during max {max(loads or [0]):.2f}, mean {sum(loads) / max(len(loads), 1):.2f} "
              f"on {os.cpu_count()} cores; recommender --scale-down-stabilization {args.stabilization / scale:g}s real "
              f"({args.stabilization:g} s scenario), HPA tolerance {args.hpa_tolerance:g}, scale-down window {args.hpa_window:g} s scenario, "
              f"echo's in-flight target {args.target_kv * runnable:g} per replica")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"settings": vars(args), "wall_seconds": wall, "loads": loads, "reports": reports}, f, indent=1)
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try: p.wait(timeout=10)
            except subprocess.TimeoutExpired: p.kill()
        shutil.rmtree(work, ignore_errors=True)


def print_table(reports, runs):
    header = ("sizing", "model", "GPU replica-s", "ready replica-s", "peak", "requests", "delayed", "delay p50", "delay p99",
              "delay max", "p99 all", "rec. changes", "scalings")
    rows = []
    for run in runs:
        totals = {"replica_seconds": 0, "ready_seconds": 0, "started": 0, "delayed": 0, "recommendation_changes": 0, "scale_changes": 0}
        for r in reports[run]:
            rows.append((run, r["model"], f"{r['replica_seconds']:.0f}", f"{r['ready_seconds']:.0f}", str(r["peak_replicas"]),
                         str(r["started"]), f"{r['delayed']} ({100 * r['delayed'] / max(r['started'], 1):.1f}%)",
                         f"{r['delay_p50_seconds']:.0f}", f"{r['delay_p99_seconds']:.0f}", f"{r['delay_max_seconds']:.0f}",
                         f"{r['delay_p99_all_seconds']:.0f}", str(r["recommendation_changes"]), str(r["scale_changes"])))
            for key in totals:
                totals[key] += r[key]
        rows.append((run, "total", f"{totals['replica_seconds']:.0f}", f"{totals['ready_seconds']:.0f}", "", str(totals["started"]),
                     f"{totals['delayed']} ({100 * totals['delayed'] / max(totals['started'], 1):.1f}%)", "", "", "", "",
                     str(totals["recommendation_changes"]), str(totals["scale_changes"])))
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths)) + " |")
    print("(times in scenario seconds; delays from arrival to the start of service, p50/p99/max over delayed requests, "
          "'p99 all' over every request)")
    print("\nper scenario hour, all models: GPU replica-seconds / delayed requests (longest delay, s)")
    hours = max(len(r["hours"]) for run in runs for r in reports[run])
    print("| sizing | " + " | ".join(f"hour {h + 1}" for h in range(hours)) + " |")
    print("|---|" + "---|" * hours)
    for run in runs:
        cells = []
        for h in range(hours):
            parts = [r["hours"][h] for r in reports[run] if h < len(r["hours"])]
            cost = sum(p["replica_seconds"] for p in parts)
            delayed = sum(p["delayed"] for p in parts)
            longest = max((p["delay_max_seconds"] for p in parts), default=0)
            cells.append(f"{cost:.0f} / {delayed} ({longest:.0f})")
        print(f"| {run} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
