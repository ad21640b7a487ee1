using System.Runtime;
using Microsoft.Extensions.Options;
using Sutazai.Agents.BuiltIn;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;

namespace Sutazai.Agents.Hardware;

/// <summary>
/// Host metrics from the OS, storage analysis inside configured roots, and optimization actions that are safe:
/// a dry run unless asked otherwise, only in configured places and on permitted processes, administrators only,
/// each run audited, each reporting exactly what it did or would do.
/// </summary>
public sealed class HardwareResourceOptimizer : BuiltInAgent
{
    private readonly HostSampler _sampler;
    private readonly IOptionsMonitor<HardwareOptimizerOptions> _options;

    public HardwareResourceOptimizer(TimeProvider time, IOptionsMonitor<HardwareOptimizerOptions> options, HostSampler? sampler = null)
        : base(BuiltInAgents.HardwareResourceOptimizer, time)
    {
        _sampler = sampler ?? new HostSampler();
        _options = options;
        Handle<MetricsInput>(new("collect_metrics", "CPU (total, per core, frequency, load), memory, swap, filesystems, disk and network rates, processes and top consumers, cgroup limits.", Permissions.SystemMonitor), CollectAsync);
        Handle<StorageInput>(new("analyze_storage", "Largest files, duplicates (size, then SHA-256) and size per directory, inside the configured storage roots.", Permissions.SystemMonitor), AnalyzeAsync);
        Handle<MemoryInput>(new("optimize_memory", "Collect the managed heap; drop the page cache where enabled. Dry run unless dry_run is false.", Permissions.SystemAdmin, Audited: true), OptimizeMemoryAsync);
        Handle<CpuInput>(new("optimize_cpu", "Renice processes above a CPU threshold, only those of allowed users, never PID 1 or SutazAI. Dry run unless dry_run is false.", Permissions.SystemAdmin, Audited: true), OptimizeCpuAsync);
        Handle<DiskInput>(new("optimize_disk", "Delete files older than N days under the temp roots; gzip old logs under the log roots. Dry run unless dry_run is false.", Permissions.SystemAdmin, Audited: true), OptimizeDiskAsync);
        Handle<ContainersInput>(new("cleanup_containers", "Remove stopped containers and dangling images, where enabled and a container engine answers. Dry run unless dry_run is false.", Permissions.SystemAdmin, Audited: true), CleanUpContainersAsync);
    }

    public override Task<AgentHealthReport> CheckHealthAsync(CancellationToken cancellationToken) =>
        Task.FromResult(HostSampler.IsSupported && File.Exists("/proc/stat")
            ? AgentHealthReport.Healthy
            : new AgentHealthReport(AgentHealthStatus.Unhealthy, "host metrics need Linux /proc and /sys"));

    private async Task<AgentResult> CollectAsync(MetricsInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (input.IntervalMs is < 100 or > 10_000 || input.Top is < 1 or > 50)
        {
            return AgentResult.Failure("interval_ms must be 100 to 10000 and top 1 to 50.");
        }

        var first = _sampler.Read(input.IncludeProcesses);
        // Rates are measured over real time: the interval is a measurement, not a schedule.
        await Task.Delay(input.IntervalMs, cancellationToken);
        var second = _sampler.Read(input.IncludeProcesses);
        return AgentResult.Success(HostMetrics.Compute(_sampler, first, second, input.Top));
    }

    private async Task<AgentResult> AnalyzeAsync(StorageInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var roots = _options.CurrentValue.StorageRoots;
        if (roots.Count == 0)
        {
            return AgentResult.Failure($"No storage roots are configured ({HardwareOptimizerOptions.Section}:StorageRoots); analysis reads only inside them.");
        }

        var path = ConfinedPaths.Resolve(input.Path ?? roots[0], roots);
        if (path is null)
        {
            return AgentResult.Failure($"'{input.Path}' is outside the configured storage roots: {string.Join(", ", roots)}.");
        }

        if (!Directory.Exists(path))
        {
            return AgentResult.Failure($"'{path}' is not a directory.");
        }

        if (input.Top is < 1 or > 1000 || input.MinSizeBytes < 0)
        {
            return AgentResult.Failure("top must be 1 to 1000 and min_size_bytes not negative.");
        }

        return AgentResult.Success(await StorageAnalyzer.AnalyzeAsync(path, input.Top, input.MinSizeBytes, input.FindDuplicates, _options.CurrentValue.MaxScanFiles, cancellationToken));
    }

    private Task<AgentResult> OptimizeMemoryAsync(MemoryInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var settings = _options.CurrentValue;
        var heapBefore = GC.GetTotalMemory(forceFullCollection: false);
        var workingSetBefore = Environment.WorkingSet;
        var cacheBefore = PageCache();
        if (input.DropPageCache && !settings.AllowDropCaches)
        {
            return Task.FromResult(AgentResult.Failure($"Dropping the page cache is not enabled ({HardwareOptimizerOptions.Section}:AllowDropCaches)."));
        }

        string? cacheNote = null;
        var dropped = false;
        if (!input.DryRun)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            if (input.DropPageCache)
            {
                (dropped, cacheNote) = DropPageCache();
            }
        }

        var heapAfter = GC.GetTotalMemory(forceFullCollection: false);
        return Task.FromResult(AgentResult.Success(new
        {
            dry_run = input.DryRun,
            managed_heap_bytes_before = heapBefore,
            managed_heap_bytes_after = heapAfter,
            managed_bytes_freed = input.DryRun ? 0 : Math.Max(0, heapBefore - heapAfter),
            working_set_bytes_before = workingSetBefore,
            working_set_bytes_after = Environment.WorkingSet,
            page_cache_bytes_before = cacheBefore,
            page_cache_bytes_after = PageCache(),
            page_cache_dropped = dropped,
            would = input.DryRun ? WouldFreeMemory(input.DropPageCache) : [],
            note = cacheNote,
        }));
    }

    private async Task<AgentResult> OptimizeCpuAsync(CpuInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        if (input.ThresholdPercent is <= 0 or > 10_000 || input.Nice is < 1 or > 19 || input.IntervalMs is < 100 or > 10_000)
        {
            return AgentResult.Failure("threshold_percent must be above 0, nice 1 to 19 and interval_ms 100 to 10000.");
        }

        var allowed = ProcessPriority.UserIds(_options.CurrentValue.ReniceUsers);
        var first = _sampler.Read(includeProcesses: true);
        await Task.Delay(input.IntervalMs, cancellationToken);
        var second = _sampler.Read(includeProcesses: true);
        var seconds = Math.Max(0.001, (second.TakenAtMs - first.TakenAtMs) / 1000.0);
        var before = first.Processes.ToDictionary(p => p.Pid, p => p.CpuTicks);
        var self = Environment.ProcessId;
        var candidates = new List<object>();
        var skipped = new List<object>();
        foreach (var process in second.Processes)
        {
            var percent = before.TryGetValue(process.Pid, out var ticks) ? 100.0 * (process.CpuTicks - ticks) / HostSampler.TicksPerSecond / seconds : 0;
            if (percent < input.ThresholdPercent)
            {
                continue;
            }

            var why = process.Pid == 1 ? "PID 1 is never touched"
                : process.Pid == self ? "SutazAI itself is never touched"
                : !allowed.ContainsKey(process.Uid) ? $"uid {process.Uid} is not among the allowed users ({HardwareOptimizerOptions.Section}:ReniceUsers)"
                : process.Nice >= input.Nice ? $"already at nice {process.Nice}"
                : null;
            if (why is not null)
            {
                skipped.Add(new { pid = process.Pid, name = process.Name, cpu_percent = Math.Round(percent, 2), reason = why });
                continue;
            }

            var error = input.DryRun ? null : ProcessPriority.TrySetNice(process.Pid, input.Nice);
            candidates.Add(new
            {
                pid = process.Pid,
                name = process.Name,
                user = allowed[process.Uid],
                cpu_percent = Math.Round(percent, 2),
                nice_before = process.Nice,
                nice_after = input.DryRun || error is not null ? process.Nice : input.Nice,
                changed = !input.DryRun && error is null,
                error,
            });
        }

        return AgentResult.Success(new { dry_run = input.DryRun, threshold_percent = input.ThresholdPercent, nice = input.Nice, processes = candidates, skipped });
    }

    private Task<AgentResult> OptimizeDiskAsync(DiskInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var settings = _options.CurrentValue;
        if (settings.TempRoots.Count == 0 && (input.CompressLogsOlderThanDays is null || settings.LogRoots.Count == 0))
        {
            return Task.FromResult(AgentResult.Failure($"No temp roots are configured ({HardwareOptimizerOptions.Section}:TempRoots); clean-up deletes only inside them."));
        }

        if (input.OlderThanDays is < 1 or > 3650 || input.CompressLogsOlderThanDays is < 1 or > 3650)
        {
            return Task.FromResult(AgentResult.Failure("older_than_days and compress_logs_older_than_days must be 1 to 3650."));
        }

        var report = DiskCleanup.Run(settings.TempRoots, input.OlderThanDays, settings.LogRoots, input.CompressLogsOlderThanDays, Time.GetUtcNow(), input.DryRun, cancellationToken);
        return Task.FromResult(AgentResult.Success(report));
    }

    private async Task<AgentResult> CleanUpContainersAsync(ContainersInput input, AgentRequest request, CancellationToken cancellationToken)
    {
        var settings = _options.CurrentValue;
        if (!settings.ContainerCleanup)
        {
            return AgentResult.Failure($"Container clean-up is not enabled ({HardwareOptimizerOptions.Section}:ContainerCleanup).");
        }

        using var engine = new ContainerEngine(settings.DockerSocket);
        if (await engine.PingAsync(cancellationToken) is { } unavailable)
        {
            return AgentResult.Failure(unavailable);
        }

        return AgentResult.Success(await engine.CleanUpAsync(input.DryRun, cancellationToken));
    }

    private static string[] WouldFreeMemory(bool dropPageCache) => dropPageCache
        ? ["collect the managed heap (full, compacting)", "sync and drop the page cache (echo 1 > /proc/sys/vm/drop_caches)"]
        : ["collect the managed heap (full, compacting)"];

    private long PageCache()
    {
        var memory = _sampler.ReadMemInfo();
        return memory.TryGetValue("Cached", out var cached) ? cached : 0;
    }

    private static (bool Dropped, string? Note) DropPageCache()
    {
        const string control = "/proc/sys/vm/drop_caches";
        try
        {
            using (var sync = System.Diagnostics.Process.Start("sync"))
            {
                sync?.WaitForExit();
            }

            File.WriteAllText(control, "1");
            return (true, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
        {
            return (false, $"the page cache was not dropped: {e.Message}");
        }
    }

    public sealed record MetricsInput(int IntervalMs = 1000, int Top = 5, bool IncludeProcesses = true);

    public sealed record StorageInput(string? Path = null, int Top = 20, long MinSizeBytes = 0, bool FindDuplicates = true);

    public sealed record MemoryInput(bool DryRun = true, bool DropPageCache = false);

    public sealed record CpuInput(bool DryRun = true, double ThresholdPercent = 80, int Nice = 10, int IntervalMs = 1000);

    public sealed record DiskInput(bool DryRun = true, int OlderThanDays = 7, int? CompressLogsOlderThanDays = null);

    public sealed record ContainersInput(bool DryRun = true);
}
