#!/usr/bin/env python3
"""Activation latency: demand appearing at the gateway -> activation visible to the consumer.

    python3 Benchmarks/activation-latency.py --path prometheus   # (a) the Prometheus path
    python3 Benchmarks/activation-latency.py --path polling      # (b) direct polling + Prometheus, (c) + external push

Everything runs on this machine, for real: Debian's Prometheus, the replica-recommender binary
(--binary, default .build/debug/replica-recommender), an endpoint picker (EPP) stand-in serving
`llm_d_epp_flow_control_queue_size` per model on /metrics, and the consumers below. Intervals are the
chart's defaults (charts/replica-recommender/values.yaml): tick 15 s, Prometheus scrapes the
recommender every 15 s (serviceMonitor.interval) and the EPP every 30 s (prometheus.scrapeInterval, the
common ServiceMonitor interval), KEDA's ScaledObject pollingInterval 15 s (the chart) and 30 s
(KEDA's own default, https://keda.sh/docs/latest/reference/scaledobject-spec/ ("pollingInterval: 30 # Optional. Default: 30 seconds")).

N models start at zero (recovered at 0 from a seed series, which is then withdrawn). Each model's
demand appears once, at a random time within --spread seconds: its EPP queue goes from 0 to 1. The
wakes run concurrently on distinct models so that 100 of them take minutes, not hours; each is an
independent sample of the same pipeline (every interval's phase is random with respect to it).

Consumers (what "activation visible" means):
- KEDA polling through Prometheus, emulated: every ScaledObject runs its own loop with its own phase
  (KEDA starts one goroutine per ScaledObject, pkg/scaling/scale_handler.go `startScaleLoop`), and at
  each pollingInterval evaluates its triggers; a ScaledObject at zero is activated at the first poll
  where a trigger is active (scale_handler.go `checkScalers` -> executor `RequestScale`). Two trigger
  sets are evaluated at each poll, as config/integrations/keda-scaledobject.yaml writes them:
  `recommendation` alone (max(inferno_desired_replicas{...}) > 0.5) and the chart's ScaledObject
  (`recommendation` OR `gateway-demand`, the EPP queue through Prometheus > 0).
- KEDA's external-push scaler (--path polling only): one StreamIsActive stream per model, held open
  as KEDA holds it (pkg/scalers/external_scaler.go `handleIsActiveStream`); activation is the first
  message with result=true. Needs grpcio and grpcio-tools (installed into .tools/bench-venv when
  missing).

Prints a Markdown table of p50 / p99 / mean / max in seconds per consumer and writes JSON (--out).
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMESPACE = "bench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def model_id(i):
    return f"bench/m{i:03d}"


def variant(i):
    return f"m{i:03d}"


class Exporter:
    """A /metrics endpoint whose body is computed at each request."""

    def __init__(self, render):
        self.port = free_port()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def prom_query(base, query):
    data = urllib.parse.urlencode({"query": query}).encode()
    with urllib.request.urlopen(base + "/api/v1/query", data=data, timeout=10) as response:
        answer = json.load(response)
    return answer["data"]["result"]


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = p / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ensure_grpc():
    """Imports grpc and the generated stubs of KEDA's externalscaler.proto (generated into a temporary
    directory from Sources/ExternalScaler/Proto); installs grpcio into .tools/bench-venv if needed."""
    venv = os.path.join(ROOT, ".tools", "bench-venv")
    try:
        import grpc  # noqa: F401
        from grpc_tools import protoc  # noqa: F401
    except ImportError:
        python = os.path.join(venv, "bin", "python3")
        if not os.path.exists(python):
            subprocess.check_call([sys.executable, "-m", "venv", venv])
            subprocess.check_call([python, "-m", "pip", "install", "-q", "grpcio", "grpcio-tools"])
        os.execv(python, [python] + sys.argv)
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="rr-bench-proto-")
    proto = os.path.join(ROOT, "Sources", "ExternalScaler", "Proto")
    status = protoc.main(["protoc", f"-I{proto}", f"--python_out={out}", f"--grpc_python_out={out}", os.path.join(proto, "externalscaler.proto")])
    if status != 0:
        sys.exit("cannot generate the Python stubs of externalscaler.proto")
    sys.path.insert(0, out)
    import externalscaler_pb2
    import externalscaler_pb2_grpc
    import grpc

    return grpc, externalscaler_pb2, externalscaler_pb2_grpc


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", choices=["prometheus", "polling"], required=True)
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--spread", type=float, default=300, help="seconds over which demand appears")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "replica-recommender"))
    parser.add_argument("--tick", default="15s")
    parser.add_argument("--recommender-scrape", default="15s")
    parser.add_argument("--epp-scrape", default="30s")
    parser.add_argument("--keda-polling", default="15,30", help="pollingInterval values to emulate (seconds)")
    parser.add_argument("--poll-interval", default="500ms", help="--gateway-poll-interval (path polling)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    push = args.path == "polling"
    if push:
        grpc, pb, pb_grpc = ensure_grpc()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="rr-activation-")
    children = []

    def cleanup(*_):
        for child in children:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
        shutil.rmtree(work, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: (cleanup(), sys.exit(1)))
    try:
        n = args.models
        demand_at = {}  # model index -> wall time its queue became non-empty
        lock = threading.Lock()

        def epp_page():
            now = time.time()
            lines = ["# TYPE llm_d_epp_flow_control_queue_size gauge"]
            with lock:
                for i in range(n):
                    queued = 1 if i in demand_at and now >= demand_at[i] else 0
                    lines.append(f'llm_d_epp_flow_control_queue_size{{target_model_name="{model_id(i)}"}} {queued}')
            lines.append("# TYPE inference_objective_request_total counter")
            for i in range(n):
                lines.append(f'inference_objective_request_total{{target_model_name="{model_id(i)}"}} 0')
            return "\n".join(lines) + "\n"

        seeding = {"on": True}

        def seed_page():
            if not seeding["on"]:
                return ""
            return "".join(
                f'inferno_desired_replicas{{namespace="{NAMESPACE}",model_name="{model_id(i)}",variant_name="{variant(i)}",'
                f'variantautoscaling_name="{variant(i)}",variantautoscaling_namespace="{NAMESPACE}"}} 0\n'
                for i in range(n))

        epp = Exporter(epp_page)
        seed = Exporter(seed_page)
        rr_port, prom_port = free_port(), free_port()
        grpc_port = free_port() if push else None
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(f"""global:
  scrape_interval: 15s
scrape_configs:
  - job_name: epp
    scrape_interval: {args.epp_scrape}
    static_configs: [{{targets: ['127.0.0.1:{epp.port}']}}]
  - job_name: recommender
    scrape_interval: {args.recommender_scrape}
    honor_labels: true
    static_configs: [{{targets: ['127.0.0.1:{rr_port}']}}]
  - job_name: seed
    scrape_interval: 1s
    honor_labels: true
    static_configs: [{{targets: ['127.0.0.1:{seed.port}']}}]
""")
        prom = f"http://127.0.0.1:{prom_port}"
        children.append(subprocess.Popen(
            ["prometheus", f"--config.file={work}/prometheus.yml", f"--web.listen-address=127.0.0.1:{prom_port}",
             f"--storage.tsdb.path={work}/data", "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait(lambda: http_ok(prom + "/-/ready"), 30, "Prometheus ready")
        wait(lambda: len(prom_query(prom, f'inferno_desired_replicas{{variantautoscaling_namespace="{NAMESPACE}"}}')) == n, 30, "seed scraped")

        os.makedirs(os.path.join(work, "models"))
        with open(os.path.join(work, "models", "default"), "w") as f:
            f.write("enable_scale_to_zero: true\nretention_period: 15m\n")
        command = [args.binary, "serve", f"--config={work}/models", f"--prometheus-url={prom}", f"--interval={args.tick}",
                   f"--listen=127.0.0.1:{rr_port}", "--scrape-interval=30s", "--log-level=warning"]
        if push:
            command += [f"--gateway-metrics-url=http://127.0.0.1:{epp.port}/metrics", f"--gateway-poll-interval={args.poll_interval}",
                        f"--external-scaler-port={grpc_port}"]
        log = open(os.path.join(work, "recommender.log"), "w")
        children.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        wait(lambda: http_ok(f"http://127.0.0.1:{rr_port}/readyz"), 60, "recommender ready")

        def zeros():
            _, text = http_get(f"http://127.0.0.1:{rr_port}/metrics")
            return sum(1 for line in text.splitlines() if line.startswith("inferno_desired_replicas{") and line.endswith(" 0"))

        wait(lambda: zeros() == n, 60, "every model recommended 0")
        seeding["on"] = False  # the seed's series go stale at its next scrape
        wait(lambda: not prom_query(prom, f'inferno_desired_replicas{{job="seed"}}'), 30, "seed withdrawn")
        wait(lambda: len(prom_query(prom, f'inferno_desired_replicas{{job="recommender",variantautoscaling_namespace="{NAMESPACE}"}} == 0')) == n,
             60, "the recommender's zeros scraped")
        wait(lambda: len(prom_query(prom, f'llm_d_epp_flow_control_queue_size == 0')) == n, 60, "EPP scraped")

        recommender = children[-1].pid
        cpu_before, wall_before = process_cpu_seconds(recommender), time.time()
        start = time.time() + 2
        with lock:
            for i in range(n):
                demand_at[i] = start + rng.uniform(0, args.spread)
        deadline = start + args.spread + 180

        # Consumers.
        keda_intervals = [float(x) for x in args.keda_polling.split(",") if x]
        seen = {}  # consumer -> {model: wall time activation visible}
        for interval in keda_intervals:
            seen[f"keda-{interval:g}s-recommendation"] = {}
            seen[f"keda-{interval:g}s-chart"] = {}
        if push:
            seen["external-push"] = {}
        threads = []
        for interval in keda_intervals:
            phases = [rng.uniform(0, interval) for _ in range(n)]
            threads.append(threading.Thread(target=keda_poller, daemon=True, args=(
                prom, n, interval, phases, start - 5, deadline, seen[f"keda-{interval:g}s-recommendation"], seen[f"keda-{interval:g}s-chart"], lock)))
        if push:
            channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
            stub = pb_grpc.ExternalScalerStub(channel)
            for i in range(n):
                threads.append(threading.Thread(target=push_listener, daemon=True, args=(
                    stub, pb, i, seen["external-push"], lock, deadline)))
        for thread in threads:
            thread.start()
        while time.time() < deadline:
            with lock:
                done = all(len(v) == n for v in seen.values())
            if done:
                break
            time.sleep(1)

        cpu = (process_cpu_seconds(recommender) - cpu_before) / (time.time() - wall_before)
        rows = []
        results = {"path": args.path, "models": n, "tick": args.tick, "recommender_scrape": args.recommender_scrape,
                   "epp_scrape": args.epp_scrape, "poll_interval": args.poll_interval if push else None,
                   "recommender_cpu_fraction": cpu, "epp_page_bytes": len(epp_page().encode()), "consumers": {}}
        for consumer, times in seen.items():
            latencies = [times[i] - demand_at[i] for i in times]
            missing = n - len(latencies)
            stats = {"wakes": len(latencies), "missing": missing, "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                     "mean": statistics.fmean(latencies) if latencies else float("nan"), "min": min(latencies, default=float("nan")),
                     "max": max(latencies, default=float("nan"))}
            results["consumers"][consumer] = stats
            rows.append(f"| {args.path} | {consumer} | {stats['wakes']} | {stats['p50']:.2f} | {stats['p99']:.2f} | {stats['mean']:.2f} | {stats['max']:.2f} |")
        print("| path | consumer | wakes | p50 (s) | p99 (s) | mean (s) | max (s) |")
        print("|---|---|---|---|---|---|---|")
        print("\n".join(rows))
        print(f"\nrecommender CPU during the run: {cpu * 100:.2f}% of one core; EPP page {results['epp_page_bytes']} bytes")
        if args.out:
            with open(args.out, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        cleanup()


def process_cpu_seconds(pid):
    """User + system CPU seconds of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http_ok(url):
    try:
        return http_get(url, timeout=2)[0] == 200
    except Exception:
        return False


def wait(condition, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if condition():
                return
        except Exception:
            pass
        time.sleep(0.2)
    sys.exit(f"timed out waiting for: {what}")


def keda_poller(prom, n, interval, phases, origin, deadline, recommendation_seen, chart_seen, lock):
    """KEDA's per-ScaledObject polling loops, each with its own phase; at each due poll both trigger
    sets are evaluated against Prometheus (one batched query each for the models due at once)."""
    due = [origin + phase for phase in phases]
    while time.time() < deadline:
        now = time.time()
        batch = [i for i in range(n) if due[i] <= now + 0.02]
        if not batch:
            time.sleep(max(0.0, min(due) - now))
            continue
        try:
            desired = {r["metric"].get("variantautoscaling_name"): float(r["value"][1]) for r in prom_query(
                prom, f'max by (variantautoscaling_name) (inferno_desired_replicas{{variantautoscaling_namespace="{NAMESPACE}"}})')}
            demand = {r["metric"].get("target_model_name"): float(r["value"][1]) for r in prom_query(
                prom, 'sum by (target_model_name) ({__name__=~"llm_d_epp_flow_control_queue_size|inference_extension_flow_control_queue_size"})')}
        except Exception:
            desired, demand = None, None
        at = time.time()
        with lock:
            for i in batch:
                due[i] += interval
                if desired is None:
                    continue
                recommendation = desired.get(variant(i), 0) > 0.5
                gateway = demand.get(model_id(i), 0) > 0
                if recommendation and i not in recommendation_seen:
                    recommendation_seen[i] = at
                if (recommendation or gateway) and i not in chart_seen:
                    chart_seen[i] = at


def push_listener(stub, pb, i, seen, lock, deadline):
    """One StreamIsActive stream, as KEDA's external-push scaler holds it (reconnecting after errors)."""
    reference = pb.ScaledObjectRef(name=variant(i), namespace=NAMESPACE, scalerMetadata={"model": model_id(i), "namespace": NAMESPACE})
    while time.time() < deadline:
        try:
            for message in stub.StreamIsActive(reference, timeout=max(1.0, deadline - time.time())):
                if message.result:
                    with lock:
                        seen.setdefault(i, time.time())
                    return
        except Exception:
            time.sleep(0.5)


if __name__ == "__main__":
    main()
