using System.Globalization;
using System.Runtime.InteropServices;

namespace Sutazai.Agents.Hardware;

/// <summary>Changes a process's niceness (setpriority) and finds user ids by name (/etc/passwd).</summary>
public static partial class ProcessPriority
{
    private const int PriorityProcess = 0;

    /// <returns>Null on success, otherwise why it failed.</returns>
    public static string? TrySetNice(int pid, int nice)
    {
        if (setpriority(PriorityProcess, pid, nice) == 0)
        {
            return null;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            1 or 13 => "not permitted",
            3 => "the process has exited",
            _ => $"setpriority failed with errno {errno}",
        };
    }

    /// <summary>User ids of the given user names; names that do not exist are left out.</summary>
    public static IReadOnlyDictionary<int, string> UserIds(IEnumerable<string> names, string passwdPath = "/etc/passwd")
    {
        var wanted = names.ToHashSet(StringComparer.Ordinal);
        var ids = new Dictionary<int, string>();
        if (!File.Exists(passwdPath))
        {
            return ids;
        }

        foreach (var line in File.ReadLines(passwdPath))
        {
            var fields = line.Split(':');
            if (fields.Length > 2 && wanted.Contains(fields[0]) && int.TryParse(fields[2], CultureInfo.InvariantCulture, out var uid))
            {
                ids[uid] = fields[0];
            }
        }

        return ids;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setpriority(int which, int who, int prio);
}
