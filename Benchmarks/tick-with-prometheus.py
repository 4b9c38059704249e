#!/usr/bin/env python3
"""A full tick against a real Prometheus holding N models' vLLM series.

Starts Prometheus (scrape 5s), vllm-sim serving N models (one pod each; a third of them with
traffic) and the recommender (release builds), and measures:
  - tick wall time (the recommender's own recommender_tick_duration_seconds),
  - Prometheus CPU per tick: Prometheus' CPU time while the recommender ticks, minus its CPU time
    over an equal window without the recommender (scrapes and ingestion alone), divided by ticks.
Usage: python3 Benchmarks/tick-with-prometheus.py [N ...]   (default: 1000 10000)
Build first: swift build -c release --product replica-recommender --product vllm-sim
"""
import os, re, signal, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release")
WINDOW = 60      # seconds measured with and without the recommender
INTERVAL = 5     # recommender tick and scrape interval, seconds


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def wait(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            get(url); return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {url}")


def run(n):
    work = tempfile.mkdtemp(prefix="rr-tickbench-")
    prom_port, rr_port, sim_port = free_port(), free_port(), free_port()
    with open(f"{work}/scenario.yaml", "w") as f:
        f.write("time_scale: 1\ncold_start: 1m\nservice_time: 2s\nmodels:\n")
        for i in range(n):
            traffic = "{kind: poisson, rate: 0.2}" if i % 3 == 0 else "{kind: silent}"
            f.write(f"  - {{id: bench/m-{i}, namespace: ns-{i % 20}, traffic: {traffic}}}\n")
    os.makedirs(f"{work}/models")
    with open(f"{work}/models/default", "w") as f:
        f.write("enable_scale_to_zero: true\nretention_period: 1h\n")
    with open(f"{work}/models/fast", "w") as f:
        f.write("model_id: bench/m-0\nretention_period: 30m\n")
    with open(f"{work}/prometheus.yml", "w") as f:
        f.write(f"""global: {{scrape_interval: {INTERVAL}s, evaluation_interval: {INTERVAL}s}}
scrape_configs:
  - job_name: vllm
    honor_labels: true
    static_configs: [{{targets: ['127.0.0.1:{sim_port}']}}]
  - job_name: replica-recommender
    honor_labels: true
    static_configs: [{{targets: ['127.0.0.1:{rr_port}']}}]
""")
    procs = []
    try:
        prom = subprocess.Popen(["prometheus", f"--config.file={work}/prometheus.yml", f"--web.listen-address=127.0.0.1:{prom_port}",
                                 f"--storage.tsdb.path={work}/data", "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(prom)
        sim = subprocess.Popen([f"{BIN}/vllm-sim", "--scenario", f"{work}/scenario.yaml", "--listen", f"127.0.0.1:{sim_port}", "--step", "0.5"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(sim)
        wait(f"http://127.0.0.1:{prom_port}/-/ready")
        wait(f"http://127.0.0.1:{sim_port}/metrics")
        # Let Prometheus hold a few scrapes of every series before measuring.
        deadline = time.time() + 120
        while time.time() < deadline:
            body = get(f"http://127.0.0.1:{prom_port}/api/v1/query?query=count(vllm:num_requests_running)")
            m = re.search(r'"value":\[[^,]+,"(\d+)"\]', body)
            if m and int(m.group(1)) >= n:
                break
            time.sleep(1)
        time.sleep(3 * INTERVAL)

        start = cpu_seconds(prom.pid); time.sleep(WINDOW); baseline = cpu_seconds(prom.pid) - start

        # The idle baseline: the same service with no model at all.
        os.makedirs(f"{work}/empty")
        idle_port = free_port()
        idle = subprocess.Popen([f"{BIN}/replica-recommender", "serve", "--config", f"{work}/empty", "--prometheus-url", "http://127.0.0.1:1",
                                 "--listen", f"127.0.0.1:{idle_port}", "--interval", f"{INTERVAL}s", "--log-level", "critical"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(f"http://127.0.0.1:{idle_port}/healthz"); get(f"http://127.0.0.1:{idle_port}/metrics"); time.sleep(2)
        idle_rss = rss_mb(idle.pid)
        idle.send_signal(signal.SIGTERM); idle.wait(timeout=20)

        rr = subprocess.Popen([f"{BIN}/replica-recommender", "serve", "--config", f"{work}/models", "--prometheus-url", f"http://127.0.0.1:{prom_port}",
                               "--listen", f"127.0.0.1:{rr_port}", "--interval", f"{INTERVAL}s", "--log-level", "error"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(rr)
        wait(f"http://127.0.0.1:{rr_port}/healthz")
        time.sleep(2 * INTERVAL)  # recovery and the first ticks
        page0 = get(f"http://127.0.0.1:{rr_port}/metrics")
        start = cpu_seconds(prom.pid); time.sleep(WINDOW); loaded = cpu_seconds(prom.pid) - start
        page1 = get(f"http://127.0.0.1:{rr_port}/metrics")
        serve_rss = rss_mb(rr.pid)

        def metric(page, name):
            m = re.search(rf"^{re.escape(name)} (\S+)$", page, re.M)
            return float(m.group(1)) if m else 0.0
        ticks = metric(page1, "recommender_tick_duration_seconds_count") - metric(page0, "recommender_tick_duration_seconds_count")
        tick_seconds = metric(page1, "recommender_tick_duration_seconds_sum") - metric(page0, "recommender_tick_duration_seconds_sum")
        queries = sum(float(v) for v in re.findall(r'^recommender_prometheus_queries_total\{signal="(?!recovery)[^"]+"\} (\S+)$', page1, re.M))
        queries -= sum(float(v) for v in re.findall(r'^recommender_prometheus_queries_total\{signal="(?!recovery)[^"]+"\} (\S+)$', page0, re.M))
        known = metric(page1, "recommender_known_models")
        per_tick_cpu = (loaded - baseline) / ticks if ticks else float("nan")
        print(f"| {n} | {int(known)} | {ticks:.0f} | {1000 * tick_seconds / ticks:.1f} | {queries / ticks:.0f} | "
              f"{baseline / WINDOW * 100:.1f}% | {loaded / WINDOW * 100:.1f}% | {1000 * per_tick_cpu:.0f} | "
              f"{serve_rss:.1f} MB ({serve_rss - idle_rss:+.1f} MB over idle {idle_rss:.1f}) |", flush=True)
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000]
    print(f"tick against a real Prometheus (scrape and tick every {INTERVAL}s, {WINDOW}s windows, {os.cpu_count()} cores)")
    print("| models | known | ticks | tick wall time (ms, mean) | queries/tick | Prometheus CPU without recommender | with | Prometheus CPU per tick (ms) | serve RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        run(n)
