using System.Security.Cryptography;

namespace Sutazai.Agents.Hardware;

/// <summary>
/// Walks a directory tree (not following symbolic links): totals, the largest files, size per top-level
/// directory, and duplicate files, found by size first and confirmed by SHA-256 of their content.
/// </summary>
public static class StorageAnalyzer
{
    public static async Task<StorageReport> AnalyzeAsync(string root, int top, long minSizeBytes, bool findDuplicates, int maxFiles, CancellationToken cancellationToken)
    {
        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.ReparsePoint,
            ReturnSpecialDirectories = false,
        };
        var files = new List<(string Path, long Size, DateTime Modified)>();
        var truncated = false;
        foreach (var file in new DirectoryInfo(root).EnumerateFiles("*", options))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (files.Count >= maxFiles)
            {
                truncated = true;
                break;
            }

            files.Add((file.FullName, file.Length, file.LastWriteTimeUtc));
        }

        var largest = files.Where(f => f.Size >= minSizeBytes).OrderByDescending(f => f.Size).ThenBy(f => f.Path, StringComparer.Ordinal).Take(top)
            .Select(f => new FileView(Relative(root, f.Path), f.Size, f.Modified)).ToList();
        var byDirectory = files
            .GroupBy(f => TopLevel(root, f.Path))
            .Select(g => new DirectoryView(g.Key, g.Count(), g.Sum(f => f.Size)))
            .OrderByDescending(d => d.Bytes).ThenBy(d => d.Path, StringComparer.Ordinal)
            .ToList();

        var duplicates = new List<DuplicateGroup>();
        if (findDuplicates)
        {
            foreach (var sameSize in files.Where(f => f.Size > 0 && f.Size >= minSizeBytes).GroupBy(f => f.Size).Where(g => g.Count() > 1))
            {
                var byHash = new Dictionary<string, List<string>>(StringComparer.Ordinal);
                foreach (var file in sameSize)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    string hash;
                    try
                    {
                        await using var stream = new FileStream(file.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 81920, useAsync: true);
                        hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        continue;
                    }

                    if (!byHash.TryGetValue(hash, out var paths))
                    {
                        byHash[hash] = paths = [];
                    }

                    paths.Add(Relative(root, file.Path));
                }

                duplicates.AddRange(byHash.Where(h => h.Value.Count > 1).Select(h => new DuplicateGroup(h.Key, sameSize.Key, [.. h.Value.Order(StringComparer.Ordinal)], sameSize.Key * (h.Value.Count - 1))));
            }
        }

        return new StorageReport(
            root,
            files.Count,
            files.Sum(f => f.Size),
            truncated,
            largest,
            byDirectory,
            [.. duplicates.OrderByDescending(d => d.WastedBytes).ThenBy(d => d.Files[0], StringComparer.Ordinal)],
            duplicates.Sum(d => d.WastedBytes));
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path);

    private static string TopLevel(string root, string path)
    {
        var relative = Path.GetRelativePath(root, path);
        var separator = relative.IndexOf(Path.DirectorySeparatorChar, StringComparison.Ordinal);
        return separator < 0 ? "." : relative[..separator];
    }
}

public sealed record StorageReport(
    string Path,
    int Files,
    long TotalBytes,
    bool Truncated,
    IReadOnlyList<FileView> Largest,
    IReadOnlyList<DirectoryView> Directories,
    IReadOnlyList<DuplicateGroup> Duplicates,
    long DuplicateWastedBytes);

public sealed record FileView(string Path, long Bytes, DateTime ModifiedAt);

/// <param name="Path">A directory directly under the analyzed path; "." for files directly in it.</param>
public sealed record DirectoryView(string Path, int Files, long Bytes);

public sealed record DuplicateGroup(string Sha256, long Bytes, IReadOnlyList<string> Files, long WastedBytes);
