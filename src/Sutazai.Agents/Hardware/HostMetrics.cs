namespace Sutazai.Agents.Hardware;

/// <summary>Host metrics from two readings taken <c>interval</c> apart: totals, and rates over the interval.</summary>
public static class HostMetrics
{
    public static HostMetricsReport Compute(HostSampler sampler, HostSample first, HostSample second, int top)
    {
        var seconds = Math.Max(0.001, (second.TakenAtMs - first.TakenAtMs) / 1000.0);
        var cpus = second.Cpus.Select(c =>
        {
            var before = first.Cpus.FirstOrDefault(b => b.Name == c.Name);
            var total = before is null ? 0 : c.Total - before.Total;
            var idle = before is null ? 0 : c.Idle - before.Idle;
            return (c.Name, Percent: total <= 0 ? 0 : Math.Round(100.0 * (total - idle) / total, 2));
        }).ToList();
        var frequencies = sampler.ReadFrequencies();
        var load = sampler.ReadLoad();
        var memory = sampler.ReadMemInfo();
        long Mem(string key) => memory.TryGetValue(key, out var value) ? value : 0;
        var totalMemory = Mem("MemTotal");
        var available = Mem("MemAvailable");
        var cached = Mem("Cached") + Mem("SReclaimable") - Mem("Shmem");

        var processes = second.Processes;
        var cpuTotal = cpus.FirstOrDefault(c => c.Name == "cpu").Percent;
        var earlierTicks = first.Processes.ToDictionary(p => p.Pid, p => p.CpuTicks);
        var byCpu = processes
            .Select(p => (Process: p, Percent: earlierTicks.TryGetValue(p.Pid, out var before) ? 100.0 * (p.CpuTicks - before) / HostSampler.TicksPerSecond / seconds : 0))
            .OrderByDescending(p => p.Percent).ThenBy(p => p.Process.Pid)
            .Take(top)
            .Select(p => new ProcessView(p.Process.Pid, p.Process.Name, Math.Round(p.Percent, 2), p.Process.RssBytes, Math.Round(100.0 * p.Process.RssBytes / Math.Max(1, totalMemory), 2), p.Process.Nice))
            .ToList();
        var byMemory = processes
            .OrderByDescending(p => p.RssBytes).ThenBy(p => p.Pid)
            .Take(top)
            .Select(p => new ProcessView(p.Pid, p.Name, null, p.RssBytes, Math.Round(100.0 * p.RssBytes / Math.Max(1, totalMemory), 2), p.Nice))
            .ToList();

        var disks = second.Disks.Select(d =>
        {
            var before = first.Disks.FirstOrDefault(b => b.Device == d.Device) ?? d;
            return new DiskIoView(d.Device,
                Rate(d.ReadBytes - before.ReadBytes, seconds), Rate(d.WriteBytes - before.WriteBytes, seconds),
                Rate(d.Reads - before.Reads, seconds), Rate(d.Writes - before.Writes, seconds),
                d.ReadBytes, d.WriteBytes);
        }).ToList();
        var networks = second.Networks.Select(n =>
        {
            var before = first.Networks.FirstOrDefault(b => b.Interface == n.Interface) ?? n;
            return new NetworkView(n.Interface,
                Rate(n.ReceivedBytes - before.ReceivedBytes, seconds), Rate(n.SentBytes - before.SentBytes, seconds),
                Rate(n.ReceivedPackets - before.ReceivedPackets, seconds), Rate(n.SentPackets - before.SentPackets, seconds),
                n.ReceivedBytes, n.SentBytes);
        }).ToList();

        return new HostMetricsReport(
            Math.Round(seconds, 3),
            new CpuView(
                cpuTotal,
                [.. cpus.Where(c => c.Name != "cpu").Select(c => c.Percent)],
                Environment.ProcessorCount,
                frequencies.Count == 0 ? null : Math.Round(frequencies.Average(), 1),
                [.. frequencies.Select(f => Math.Round(f, 1))],
                new LoadView(load.One, load.Five, load.Fifteen)),
            new MemoryView(totalMemory, totalMemory - available, Mem("MemFree"), available, cached, Mem("Buffers"),
                Math.Round(100.0 * (totalMemory - available) / Math.Max(1, totalMemory), 2), Mem("SwapTotal"), Mem("SwapTotal") - Mem("SwapFree"), Mem("SwapFree")),
            [.. sampler.ReadFilesystems().Select(f => new FilesystemView(f.MountPoint, f.Device, f.Type, f.TotalBytes, f.UsedBytes, f.AvailableBytes,
                Math.Round(100.0 * f.UsedBytes / Math.Max(1, f.TotalBytes), 2)))],
            disks,
            networks,
            new ProcessesView(processes.Count, byCpu, byMemory),
            sampler.ReadCgroupLimits());
    }

    private static double Rate(long delta, double seconds) => Math.Round(Math.Max(0, delta) / seconds, 2);
}

public sealed record HostMetricsReport(double IntervalSeconds, CpuView Cpu, MemoryView Memory, IReadOnlyList<FilesystemView> Filesystems, IReadOnlyList<DiskIoView> Disks, IReadOnlyList<NetworkView> Network, ProcessesView Processes, CgroupLimits Cgroup);

public sealed record CpuView(double Percent, IReadOnlyList<double> PerCorePercent, int Cores, double? FrequencyMhz, IReadOnlyList<double> PerCoreFrequencyMhz, LoadView LoadAverage);

public sealed record LoadView(double One, double Five, double Fifteen);

public sealed record MemoryView(long TotalBytes, long UsedBytes, long FreeBytes, long AvailableBytes, long CachedBytes, long BuffersBytes, double Percent, long SwapTotalBytes, long SwapUsedBytes, long SwapFreeBytes);

public sealed record FilesystemView(string MountPoint, string Device, string Type, long TotalBytes, long UsedBytes, long AvailableBytes, double Percent);

public sealed record DiskIoView(string Device, double ReadBytesPerSecond, double WriteBytesPerSecond, double ReadsPerSecond, double WritesPerSecond, long ReadBytesTotal, long WriteBytesTotal);

public sealed record NetworkView(string Interface, double ReceivedBytesPerSecond, double SentBytesPerSecond, double ReceivedPacketsPerSecond, double SentPacketsPerSecond, long ReceivedBytesTotal, long SentBytesTotal);

public sealed record ProcessesView(int Count, IReadOnlyList<ProcessView> TopByCpu, IReadOnlyList<ProcessView> TopByMemory);

public sealed record ProcessView(int Pid, string Name, double? CpuPercent, long MemoryBytes, double MemoryPercent, int Nice);
