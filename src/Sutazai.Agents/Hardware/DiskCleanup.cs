using System.IO.Compression;

namespace Sutazai.Agents.Hardware;

/// <summary>Deletes old files under temp roots and gzips old logs under log roots, reporting every file it touches (or would).</summary>
public static class DiskCleanup
{
    private static readonly EnumerationOptions Walk = new()
    {
        RecurseSubdirectories = true,
        IgnoreInaccessible = true,
        AttributesToSkip = FileAttributes.ReparsePoint,
    };

    public static DiskCleanupReport Run(
        IReadOnlyList<string> tempRoots, int olderThanDays, IReadOnlyList<string> logRoots, int? compressLogsOlderThanDays, DateTimeOffset now, bool dryRun, CancellationToken cancellationToken)
    {
        var deleted = new List<FileAction>();
        var compressed = new List<FileAction>();
        var errors = new List<string>();
        var cutoff = now.UtcDateTime.AddDays(-olderThanDays);
        foreach (var root in tempRoots.Where(Directory.Exists))
        {
            foreach (var file in new DirectoryInfo(root).EnumerateFiles("*", Walk))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (file.LastWriteTimeUtc >= cutoff)
                {
                    continue;
                }

                try
                {
                    var size = file.Length;
                    if (!dryRun)
                    {
                        file.Delete();
                    }

                    deleted.Add(new FileAction(file.FullName, size, 0));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    errors.Add($"{file.FullName}: {e.Message}");
                }
            }
        }

        if (compressLogsOlderThanDays is { } logDays)
        {
            var logCutoff = now.UtcDateTime.AddDays(-logDays);
            foreach (var root in logRoots.Where(Directory.Exists))
            {
                foreach (var file in new DirectoryInfo(root).EnumerateFiles("*.log", Walk))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (file.LastWriteTimeUtc >= logCutoff || File.Exists(file.FullName + ".gz"))
                    {
                        continue;
                    }

                    try
                    {
                        var size = file.Length;
                        var compressedSize = dryRun ? EstimateCompressed(file) : Compress(file);
                        compressed.Add(new FileAction(file.FullName, size, compressedSize));
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        errors.Add($"{file.FullName}: {e.Message}");
                    }
                }
            }
        }

        return new DiskCleanupReport(
            dryRun,
            deleted,
            deleted.Sum(d => d.Bytes),
            compressed,
            compressed.Sum(c => c.Bytes - c.BytesAfter),
            errors);
    }

    private static long Compress(FileInfo file)
    {
        var target = file.FullName + ".gz";
        using (var input = file.OpenRead())
        using (var output = File.Create(target))
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize))
        {
            input.CopyTo(gzip);
        }

        File.SetLastWriteTimeUtc(target, file.LastWriteTimeUtc);
        file.Delete();
        return new FileInfo(target).Length;
    }

    /// <summary>A dry run still measures: the file is compressed into memory and the size reported, nothing written.</summary>
    private static long EstimateCompressed(FileInfo file)
    {
        using var input = file.OpenRead();
        var counter = new CountingStream();
        using (var gzip = new GZipStream(counter, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            input.CopyTo(gzip);
        }

        return counter.Length;
    }

    private sealed class CountingStream : Stream
    {
        private long _length;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position { get => _length; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => _length += count;
    }
}

public sealed record FileAction(string Path, long Bytes, long BytesAfter);

public sealed record DiskCleanupReport(bool DryRun, IReadOnlyList<FileAction> Deleted, long BytesFreedByDeleting, IReadOnlyList<FileAction> Compressed, long BytesFreedByCompressing, IReadOnlyList<string> Errors);
