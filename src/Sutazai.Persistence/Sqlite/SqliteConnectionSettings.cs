using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Sutazai.Persistence.Sqlite;

/// <summary>
/// Per-connection settings for SQLite, applied on every open. A writer that finds the database locked waits in
/// SQLite itself (sleeping 1 ms, 2 ms, 5 ms, ...) instead of in the driver's fixed 150 ms retry; in WAL mode
/// <c>synchronous=NORMAL</c> syncs at checkpoints rather than at every commit, which loses nothing when the process
/// dies (only an operating-system crash or power cut can take back the last commits). Memory-mapped reads are
/// off on purpose: with many pooled connections writing, every transaction starts with an emptied page cache, and
/// from a map SQLite rebuilds each page it touches every time and remaps the file whenever it grows; the task
/// bench spent about a fifth of the server's CPU on that (page set-up, page faults, munmap) and runs about 20%
/// more tasks per second without it. The automatic checkpoint is off: <see cref="SqliteCheckpointer"/> copies the
/// log into the database in the background instead of inside whichever commit crosses the threshold, and restarts
/// it; the first commit after a restart cuts a log grown past <see cref="SqliteCheckpointer.LogSizeLimit"/> back to it.
/// </summary>
internal sealed class SqliteConnectionSettings(StorageOptions storage) : DbConnectionInterceptor
{
    private readonly string _pragmas = $"PRAGMA busy_timeout={storage.CommandTimeoutSeconds * 1000}; PRAGMA synchronous=NORMAL; PRAGMA mmap_size=0; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit={SqliteCheckpointer.LogSizeLimit(storage)};";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
