"""A/B: pyz files against bench/fake_upstream.py with wrk; interleaved rounds; CPU/request from /proc."""
import json, os, re, subprocess, sys, time, tempfile, statistics
FAKE = "/work/main/bench/fake_upstream.py"
def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def start_fake():
    p = subprocess.Popen([sys.executable, FAKE, "--port", "0"], stdout=subprocess.PIPE, text=True)
    url = p.stdout.readline().strip().split("=", 1)[1]
    return p, url
def start_proxy(pyz, url, quiet):
    d = tempfile.mkdtemp()
    cfg = os.path.join(d, "c.yaml"); open(cfg, "w").write("argo_base_url: %s\n" % url)
    args = [sys.executable, pyz, cfg, "--user", "bench", "--port", "0", "--native-openai"] + (["--quiet"] if quiet else [])
    p = subprocess.Popen(args, cwd=d, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=dict(os.environ, HOME=d))
    for line in p.stderr:
        if "Listening on" in line:
            u = line.split("Listening on ", 1)[1].strip(); break
    import threading; threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    return p, u
def lua(body):
    path = "/tmp/ab/%d.lua" % (abs(hash(body)) % 10**8)
    open(path, "w").write('wrk.method="POST"\nwrk.headers["Content-Type"]="application/json"\nwrk.body=[==[%s]==]\n' % body)
    return path
def wrk(url, c, secs, script):
    out = subprocess.run(["wrk", "-t1", "-c%d" % c, "-d%ds" % secs, "-s", script, url + "/v1/chat/completions"], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out)
    n = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, n
def main():
    pyzs = sys.argv[1].split(",")
    conc = [int(x) for x in sys.argv[2].split(",")]
    body_kind = sys.argv[3] if len(sys.argv) > 3 else "small"
    rounds = int(os.environ.get("ROUNDS", "3")); secs = int(os.environ.get("SECS", "4"))
    quiet = os.environ.get("QUIET") == "1"
    if body_kind == "small":
        body = json.dumps({"model": "gpt4o", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 5})
    else:
        n = int(body_kind)
        msgs = []
        while len(json.dumps(msgs)) < n:
            msgs.append({"role": "user", "content": "caf\u00e9 def f(x): return x * 2  # line %d " % len(msgs) * 10})
            msgs.append({"role": "assistant", "content": "ok \u6f22\u5b57 %d" % len(msgs)})
        body = json.dumps({"model": "gpt4o", "messages": msgs, "max_tokens": 5})
    script = lua(body)
    fake, url = start_fake()
    res = {p: {c: [] for c in conc} for p in pyzs}
    try:
        procs = {p: start_proxy(p, url, quiet) for p in pyzs}
        for p, (proc, u) in procs.items():
            wrk(u, 4, 1, script)
        for r in range(rounds):
            order = pyzs[r % len(pyzs):] + pyzs[:r % len(pyzs)]
            for c in conc:
                for p in order:
                    proc, u = procs[p]
                    c0 = cpu(proc.pid); rps, n = wrk(u, c, secs, script); c1 = cpu(proc.pid)
                    res[p][c].append((rps, (c1 - c0) / n * 1e6))
        for c in conc:
            base = None
            for p in pyzs:
                rps = statistics.median(x[0] for x in res[p][c]); us = statistics.median(x[1] for x in res[p][c])
                base = base or (rps, us)
                print("c=%-3d %-40s %8.0f req/s (x%.2f)  cpu %6.0f us/req (x%.2f)" % (c, p, rps, rps / base[0], us, us / base[1]))
    finally:
        for proc, _ in procs.values(): proc.terminate()
        fake.terminate()
main()
