-- Shared by every workload of make bench: the request comes from the wrk table the workload
-- script fills (no request() function, so wrk sends one prepared request and the load generator
-- costs as little as it can), and done() prints one machine-readable line for bench.sh.
-- errors = connect, read, write and timeout errors plus every answer with a status >= 400.
function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests %d duration_us %d p50_us %d p99_us %d errors %d status_errors %d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.connect + e.read + e.write + e.timeout + e.status, e.status))
end
