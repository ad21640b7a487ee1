namespace Sutazai.Agents.Hardware;

/// <summary>Keeps file work inside configured roots: paths are resolved, symbolic links included, before they are compared.</summary>
public static class ConfinedPaths
{
    /// <returns>The resolved path when it lies inside one of <paramref name="roots"/>; otherwise null.</returns>
    public static string? Resolve(string path, IReadOnlyList<string> roots)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        var full = RealPath(Path.GetFullPath(path));
        return roots.Select(r => RealPath(Path.GetFullPath(r))).Any(root => IsInside(full, root)) ? full : null;
    }

    public static bool IsInside(string path, string root) =>
        path == root || path.StartsWith(root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>The path with every symbolic link along it followed, as far as the path exists.</summary>
    private static string RealPath(string path)
    {
        var existing = path;
        var rest = new Stack<string>();
        while (!Directory.Exists(existing) && !File.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            rest.Push(Path.GetFileName(existing));
            existing = parent;
        }

        var info = new DirectoryInfo(existing);
        var resolved = info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? existing : existing;
        var parentResolved = Path.GetDirectoryName(resolved) is { } p && p != resolved ? RealPath(p) : null;
        var full = parentResolved is null ? resolved : Path.Combine(parentResolved, Path.GetFileName(resolved));
        while (rest.Count > 0)
        {
            full = Path.Combine(full, rest.Pop());
        }

        return full;
    }
}
