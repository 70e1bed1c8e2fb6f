-- wrk script: after the run, one machine-readable line for bench/run.sh.
-- Latencies in microseconds; errors summed over wrk's five kinds.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d p50_us=%d p99_us=%d " ..
    "errors=%d timeouts=%d non2xx=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout, e.timeout, e.status))
end
