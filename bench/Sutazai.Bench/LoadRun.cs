using System.Diagnostics;

namespace Sutazai.Bench;

/// <summary>Closed-loop load: <c>concurrency</c> workers each send the next request when the last one answered.</summary>
internal static class LoadRun
{
    public static async Task<LoadResult> RunAsync(int concurrency, TimeSpan warmup, TimeSpan duration, Func<CancellationToken, Task<bool>> request, CancellationToken cancellationToken)
    {
        await RunPhaseAsync(concurrency, warmup, request, cancellationToken);
        return await RunPhaseAsync(concurrency, duration, request, cancellationToken);
    }

    private static async Task<LoadResult> RunPhaseAsync(int concurrency, TimeSpan duration, Func<CancellationToken, Task<bool>> request, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency).Select(async _ =>
        {
            var latencies = new List<double>(4096);
            var errors = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                var start = Stopwatch.GetTimestamp();
                bool ok;
                try
                {
                    ok = await request(cancellationToken);
                }
                catch (HttpRequestException)
                {
                    ok = false;
                }

                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (!ok)
                {
                    errors++;
                }
            }

            return (latencies, errors);
        }).ToList();
        var began = Stopwatch.GetTimestamp();
        var results = await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(began);
        var all = results.SelectMany(r => r.latencies).Order().ToArray();
        return new LoadResult(all.Length, results.Sum(r => r.errors), all.Length / elapsed.TotalSeconds, Percentile(all, 0.50), Percentile(all, 0.99));
    }

    private static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
}

internal sealed record LoadResult(int Requests, int Errors, double RequestsPerSecond, double P50Ms, double P99Ms);
