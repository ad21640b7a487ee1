using System.Globalization;

namespace Sutazai.Agents.Hardware;

/// <summary>
/// Reads the host's counters from <c>/proc</c> and <c>/sys</c> (Linux). One reading is a <see cref="HostSample"/>;
/// rates (CPU use, disk and network throughput, per-process CPU) come from the difference of two.
/// </summary>
public sealed class HostSampler(string procRoot = "/proc", string sysRoot = "/sys")
{
    /// <summary>Clock ticks per second of /proc CPU times (USER_HZ); 100 on every Linux build that matters.</summary>
    public const double TicksPerSecond = 100;

    private static readonly HashSet<string> PseudoFilesystems = new(StringComparer.Ordinal)
    {
        "proc", "sysfs", "devpts", "devtmpfs", "cgroup", "cgroup2", "mqueue", "debugfs", "tracefs", "securityfs", "pstore",
        "bpf", "configfs", "fusectl", "hugetlbfs", "autofs", "binfmt_misc", "nsfs", "rpc_pipefs", "efivarfs", "selinuxfs",
    };

    public static bool IsSupported => OperatingSystem.IsLinux();

    public HostSample Read(bool includeProcesses)
    {
        var now = Environment.TickCount64;
        return new HostSample(
            now,
            ReadCpu(),
            includeProcesses ? ReadProcesses() : [],
            ReadDisks(),
            ReadNetwork());
    }

    public IReadOnlyDictionary<string, long> ReadMemInfo()
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(Path.Combine(procRoot, "meminfo")))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var parts = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (colon > 0 && parts.Length > 0 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out var value))
            {
                values[line[..colon]] = parts.Length > 1 && parts[1] == "kB" ? value * 1024 : value;
            }
        }

        return values;
    }

    public (double One, double Five, double Fifteen, int Running, int Total) ReadLoad()
    {
        var parts = File.ReadAllText(Path.Combine(procRoot, "loadavg")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var runnable = parts[3].Split('/');
        return (Parse(parts[0]), Parse(parts[1]), Parse(parts[2]), int.Parse(runnable[0], CultureInfo.InvariantCulture), int.Parse(runnable[1], CultureInfo.InvariantCulture));
    }

    /// <summary>Current frequency of each core in MHz, from cpufreq where the kernel exposes it, else /proc/cpuinfo.</summary>
    public IReadOnlyList<double> ReadFrequencies()
    {
        var cpus = Path.Combine(sysRoot, "devices", "system", "cpu");
        var fromSys = Directory.Exists(cpus)
            ? Directory.GetDirectories(cpus, "cpu*")
                .Where(d => int.TryParse(Path.GetFileName(d)[3..], out _))
                .OrderBy(d => int.Parse(Path.GetFileName(d)[3..], CultureInfo.InvariantCulture))
                .Select(d => Path.Combine(d, "cpufreq", "scaling_cur_freq"))
                .Where(File.Exists)
                .Select(f => Parse(File.ReadAllText(f).Trim()) / 1000)
                .ToList()
            : [];
        if (fromSys.Count > 0)
        {
            return fromSys;
        }

        return [.. File.ReadLines(Path.Combine(procRoot, "cpuinfo"))
            .Where(l => l.StartsWith("cpu MHz", StringComparison.Ordinal))
            .Select(l => Parse(l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()))];
    }

    /// <summary>Mounted filesystems with their size, skipping kernel pseudo-filesystems.</summary>
    public IReadOnlyList<FilesystemUsage> ReadFilesystems()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<FilesystemUsage>();
        foreach (var line in File.ReadLines(Path.Combine(procRoot, "mounts")))
        {
            var parts = line.Split(' ');
            if (parts.Length < 3 || PseudoFilesystems.Contains(parts[2]))
            {
                continue;
            }

            var mount = Unescape(parts[1]);
            if (!seen.Add(mount))
            {
                continue;
            }

            try
            {
                var drive = new DriveInfo(mount);
                if (drive.TotalSize > 0)
                {
                    result.Add(new FilesystemUsage(mount, Unescape(parts[0]), parts[2], drive.TotalSize, drive.TotalSize - drive.TotalFreeSpace, drive.AvailableFreeSpace));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                // A mount that cannot be statted (stale network share, no permission) is left out, not guessed.
            }
        }

        return result;
    }

    /// <summary>The CPU and memory limits of the cgroup this process runs in (v2, then v1), when there are any.</summary>
    public CgroupLimits ReadCgroupLimits()
    {
        var cgroupRoot = Path.Combine(sysRoot, "fs", "cgroup");
        var self = Path.Combine(procRoot, "self", "cgroup");
        string? v2Path = null;
        if (File.Exists(self))
        {
            v2Path = File.ReadLines(self).FirstOrDefault(l => l.StartsWith("0::", StringComparison.Ordinal))?[3..];
        }

        if (v2Path is not null && File.Exists(Path.Combine(cgroupRoot, "cgroup.controllers")))
        {
            var dir = Path.Combine(cgroupRoot, v2Path.TrimStart('/'));
            double? cores = null;
            long? memory = null;
            if (ReadFirst(Path.Combine(dir, "cpu.max")) is { } cpuMax && cpuMax.Split(' ') is [var quota, var period] && quota != "max")
            {
                cores = Parse(quota) / Parse(period);
            }

            if (ReadFirst(Path.Combine(dir, "memory.max")) is { } memMax && memMax != "max")
            {
                memory = long.Parse(memMax, CultureInfo.InvariantCulture);
            }

            var usage = ReadFirst(Path.Combine(dir, "memory.current")) is { } current ? long.Parse(current, CultureInfo.InvariantCulture) : (long?)null;
            return new CgroupLimits("v2", v2Path, cores, memory, usage);
        }

        var v1Quota = ReadFirst(Path.Combine(cgroupRoot, "cpu", "cpu.cfs_quota_us"));
        var v1Period = ReadFirst(Path.Combine(cgroupRoot, "cpu", "cpu.cfs_period_us"));
        var v1Memory = ReadFirst(Path.Combine(cgroupRoot, "memory", "memory.limit_in_bytes"));
        if (v1Quota is null && v1Memory is null)
        {
            return new CgroupLimits(null, null, null, null, null);
        }

        double? v1Cores = v1Quota is not null && v1Period is not null && Parse(v1Quota) > 0 ? Parse(v1Quota) / Parse(v1Period) : null;
        // v1 reports "no limit" as a huge number rounded to the page size.
        long? v1Limit = v1Memory is not null && long.TryParse(v1Memory, CultureInfo.InvariantCulture, out var limit) && limit < long.MaxValue / 2 ? limit : null;
        return new CgroupLimits("v1", null, v1Cores, v1Limit, null);
    }

    private List<CpuTimes> ReadCpu()
    {
        var result = new List<CpuTimes>();
        foreach (var line in File.ReadLines(Path.Combine(procRoot, "stat")))
        {
            if (!line.StartsWith("cpu", StringComparison.Ordinal))
            {
                break;
            }

            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = parts.Skip(1).Take(8).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            var idle = values[3] + values[4];
            result.Add(new CpuTimes(parts[0], values.Sum(), idle));
        }

        return result;
    }

    private List<ProcessTimes> ReadProcesses()
    {
        var result = new List<ProcessTimes>();
        foreach (var dir in Directory.EnumerateDirectories(procRoot))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // The command name is in parentheses and may itself contain spaces or parentheses.
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                var nice = int.Parse(fields[16], CultureInfo.InvariantCulture);
                var rssPages = long.Parse(fields[21], CultureInfo.InvariantCulture);
                var uid = File.ReadLines(Path.Combine(dir, "status")).FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?
                    .Split('\t', StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1);
                result.Add(new ProcessTimes(pid, stat[(open + 1)..close], ticks, rssPages * Environment.SystemPageSize, nice, uid is null ? -1 : int.Parse(uid, CultureInfo.InvariantCulture)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // The process ended between listing and reading; it is simply not in this sample.
            }
        }

        return result;
    }

    private List<DiskCounters> ReadDisks()
    {
        var blocks = Path.Combine(sysRoot, "block");
        var wholeDisks = Directory.Exists(blocks) ? Directory.GetDirectories(blocks).Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal) : [];
        var result = new List<DiskCounters>();
        foreach (var line in File.ReadLines(Path.Combine(procRoot, "diskstats")))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var name = parts[2];
            if (!wholeDisks.Contains(name) || name.StartsWith("loop", StringComparison.Ordinal) || name.StartsWith("ram", StringComparison.Ordinal))
            {
                continue;
            }

            long Field(int i) => long.Parse(parts[i], CultureInfo.InvariantCulture);
            result.Add(new DiskCounters(name, Field(3), Field(5) * 512, Field(7), Field(9) * 512));
        }

        return result;
    }

    private List<NetworkCounters> ReadNetwork()
    {
        var result = new List<NetworkCounters>();
        foreach (var line in File.ReadLines(Path.Combine(procRoot, "net", "dev")).Skip(2))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var parts = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long Field(int i) => long.Parse(parts[i], CultureInfo.InvariantCulture);
            result.Add(new NetworkCounters(line[..colon].Trim(), Field(0), Field(1), Field(8), Field(9)));
        }

        return result;
    }

    private static string? ReadFirst(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;

    private static double Parse(string value) => double.Parse(value, CultureInfo.InvariantCulture);

    /// <summary>/proc/mounts escapes spaces and the like as octal (<c>\040</c>).</summary>
    private static string Unescape(string value) =>
        System.Text.RegularExpressions.Regex.Replace(value, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());
}

public sealed record HostSample(long TakenAtMs, IReadOnlyList<CpuTimes> Cpus, IReadOnlyList<ProcessTimes> Processes, IReadOnlyList<DiskCounters> Disks, IReadOnlyList<NetworkCounters> Networks);

public sealed record CpuTimes(string Name, long Total, long Idle);

public sealed record ProcessTimes(int Pid, string Name, long CpuTicks, long RssBytes, int Nice, int Uid);

public sealed record DiskCounters(string Device, long Reads, long ReadBytes, long Writes, long WriteBytes);

public sealed record NetworkCounters(string Interface, long ReceivedBytes, long ReceivedPackets, long SentBytes, long SentPackets);

public sealed record FilesystemUsage(string MountPoint, string Device, string Type, long TotalBytes, long UsedBytes, long AvailableBytes);

public sealed record CgroupLimits(string? Version, string? Path, double? CpuCores, long? MemoryLimitBytes, long? MemoryUsageBytes);
