#!/usr/bin/env python3
"""Time to zero after the last request, against a real Prometheus (or VictoriaMetrics).

A tiny exporter plays one vLLM pod (a request counter that grows by one every scrape while
"serving", flat afterwards) and the gateway (its request counter, so the model has a wake path).
Prometheus scrapes it every second; the recommender (debug or release build) ticks every second
with --scrape-interval 1s and a retention R. Each run serves for a while, stops, notes the time of
the last increment the exporter served, and polls the recommender's /metrics until the model is
recommended 0. Prints, per run, seconds from the last request to zero, and what the
recommendations API showed while the evidence was building.

Usage: python3 Benchmarks/time-to-zero.py [--retention 20] [--runs 3] [--backend prometheus|victoria-metrics]
Build first: swift build --product replica-recommender
"""
import argparse, http.server, json, os, shutil, socket, subprocess, sys, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


class Pod:
    """The exporter's state: serving or not, the counter, when it last grew."""
    def __init__(self):
        self.lock = threading.Lock(); self.serving = False; self.count = 0; self.last_step = None

    def scrape(self):
        with self.lock:
            if self.serving:
                self.count += 1; self.last_step = time.time()
            labels = 'namespace="bench",model_name="bench/m",pod="p0"'
            return "\n".join([
                f'vllm:request_success_total{{{labels},finished_reason="stop"}} {self.count}',
                f'vllm:num_requests_running{{{labels}}} 0',
                f'vllm:num_requests_waiting{{{labels}}} 0',
                f'vllm:kv_cache_usage_perc{{{labels}}} 0.1',
                'inference_objective_request_total{model_name="bench/m",target_model_name="bench/m"} 0',
            ]) + "\n"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--retention", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve", type=float, default=8, help="seconds of traffic before the last request")
    parser.add_argument("--backend", default="prometheus", choices=["prometheus", "victoria-metrics"])
    parser.add_argument("--build", default="debug")
    args = parser.parse_args()
    binary = os.path.join(ROOT, ".build", args.build, "replica-recommender")
    work = tempfile.mkdtemp(prefix="rr-ttz-")
    pod = Pod()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pod.scrape().encode()
            self.send_response(200); self.send_header("Content-Type", "text/plain"); self.end_headers(); self.wfile.write(body)
        def log_message(self, *a): pass

    exporter_port, tsdb_port, rr_port = free_port(), free_port(), free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", exporter_port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(f"{work}/scrape.yml", "w") as f:
        f.write(f"global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: bench\n    honor_labels: true\n"
                f"    scrape_interval: 1s\n    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n")
    if args.backend == "prometheus":
        tsdb = subprocess.Popen(["prometheus", f"--config.file={work}/scrape.yml", f"--web.listen-address=127.0.0.1:{tsdb_port}",
                                 f"--storage.tsdb.path={work}/data", "--log.level=warn"], stderr=subprocess.DEVNULL)
    else:
        tsdb = subprocess.Popen(["victoria-metrics", f"-promscrape.config={work}/scrape.yml", f"-httpListenAddr=127.0.0.1:{tsdb_port}",
                                 f"-storageDataPath={work}/data", "-loggerLevel=ERROR"], stderr=subprocess.DEVNULL)
    os.makedirs(f"{work}/cm")
    with open(f"{work}/cm/default", "w") as f:
        f.write(f"enable_scale_to_zero: true\nretention_period: {args.retention:g}s\n")
    with open(f"{work}/cm/m", "w") as f:
        f.write("model_id: bench/m\nnamespace: bench\n")
    rr = None
    try:
        time.sleep(2)
        rr = subprocess.Popen([binary, "serve", "--config", f"{work}/cm", "--prometheus-url", f"http://127.0.0.1:{tsdb_port}",
                               "--listen", f"127.0.0.1:{rr_port}", "--interval", "1s", "--scrape-interval", "1s", "--log-level", "error"])
        results = []
        for run in range(args.runs):
            with pod.lock: pod.serving = True
            time.sleep(args.serve)
            with pod.lock: pod.serving = False; last = pod.last_step
            shown = None
            while True:
                time.sleep(0.1)
                page = get(f"http://127.0.0.1:{rr_port}/metrics")
                line = next((l for l in page.splitlines() if l.startswith("inferno_desired_replicas{") and 'model_name="bench/m"' in l), "")
                if shown is None and time.time() - last > args.retention / 2:
                    model = json.loads(get(f"http://127.0.0.1:{rr_port}/api/v1/recommendations"))["models"][0]
                    shown = {k: model.get(k) for k in ("desired", "reason", "state", "detail", "observed_since", "zero_at", "wake_path")}
                    shown["zero_at_minus_last_request"] = round(model["zero_at"] - last, 2) if model.get("zero_at") else None
                if line.endswith(" 0"):
                    results.append(time.time() - last)
                    print(f"run {run + 1}: zero {results[-1]:.2f} s after the last request (R = {args.retention:g} s)")
                    print(f"  while building, the recommendations API showed: {json.dumps(shown)}")
                    break
            # Wake it again for the next run: traffic resumes through the wake API.
            urllib.request.urlopen(urllib.request.Request(
                f"http://127.0.0.1:{rr_port}/api/v1/models/bench/bench%2Fm/wake", method="POST"), timeout=5).read()
        print(f"{args.backend}: min {min(results):.2f} s, max {max(results):.2f} s after the last request; "
              f"bound R + 1 scrape + 1 tick = {args.retention + 2:g} s")
    finally:
        for process in (rr, tsdb):
            if process: process.terminate()
        server.shutdown(); shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
