using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sutazai.Core;

namespace Sutazai.Persistence.Sqlite;

/// <summary>
/// Copies SQLite's write-ahead log back into the database file, once a second, off every request's path. Left to
/// itself SQLite does this inside whichever commit finds the log past 1000 pages, and that commit then waits for
/// the copy and its fsync: on the development machine those were the slowest 1% of task dispatches (8-11 ms
/// against 3-4 ms with the copy moved here). Connections therefore turn the automatic checkpoint off
/// (<see cref="SqliteConnectionSettings"/>). When the node stops, the log is checkpointed in full and truncated.
/// </summary>
/// <remarks>
/// A passive copy never blocks readers or writers, but alone it never lets the log start again under steady load:
/// SQLite restarts the log only in a writer that finds every frame copied and no reader in it, and by the time a
/// copy ends a newer commit has always been appended. The task bench's log grew to 4.2 GB in 90 s that way, and
/// a tenth of the server's CPU went to the file system extending it. So once the log holds
/// <see cref="StorageOptions.SqliteLogRestartMegabytes"/>, a restart follows the passive copy, in a turn of this
/// process's <see cref="SqliteWriteGate"/>: writers wait while it copies what was appended since the passive copy
/// and the readers still in the log finish.
/// </remarks>
public sealed partial class SqliteCheckpointer(
    IOptions<StorageOptions> storage, IOptions<PlatformOptions> platform, TimeProvider time, ILogger<SqliteCheckpointer> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>How long a restart waits for the readers still in the log, with this node's writes held back.</summary>
    private const int RestartWaitMilliseconds = 100;

    /// <summary>The bytes of log from which a round restarts it.</summary>
    private static long RestartBytes(StorageOptions storage) => storage.SqliteLogRestartMegabytes * 1024L * 1024;

    /// <summary>The bytes a log is cut back to after a restart: <c>journal_size_limit</c>.</summary>
    internal static long LogSizeLimit(StorageOptions storage) => 4 * RestartBytes(storage);

    /// <summary>The platform's own connection string, which also names the database's write gate.</summary>
    private string DatabaseConnectionString => StorageRegistration.SqliteConnectionString(storage.Value, platform.Value);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (storage.Value.ProviderKind != StorageProvider.Sqlite)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await CheckpointAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Checkpoints the log in full and truncates it once the rounds have stopped. Here rather than at the end of
    /// <see cref="ExecuteAsync"/>: a node stopped at once may stop the rounds before they ever started.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (storage.Value.ProviderKind == StorageProvider.Sqlite)
        {
            await RunAsync("TRUNCATE", storage.Value.CommandTimeoutSeconds * 1000, CancellationToken.None);
        }
    }

    /// <summary>One round: the passive copy, and the restart once the log is past its size.</summary>
    public async Task<Checkpoint?> CheckpointAsync(CancellationToken cancellationToken)
    {
        var passive = await RunAsync("PASSIVE", 0, cancellationToken);
        if (passive is null || passive.LogBytes < RestartBytes(storage.Value))
        {
            return passive;
        }

        var gate = StorageRegistration.WriteGate(DatabaseConnectionString, storage.Value);
        return await gate.AloneAsync(() => RunAsync("RESTART", RestartWaitMilliseconds, cancellationToken), cancellationToken);
    }

    private async Task<Checkpoint?> RunAsync(string mode, int busyTimeoutMilliseconds, CancellationToken cancellationToken)
    {
        // Never creates the database: before the initializer has made it there is nothing to copy.
        var connectionString = new SqliteConnectionStringBuilder(DatabaseConnectionString) { Mode = SqliteOpenMode.ReadWrite }.ToString();
        try
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA busy_timeout={busyTimeoutMilliseconds};";
            await command.ExecuteNonQueryAsync(cancellationToken);
            command.CommandText = $"PRAGMA wal_checkpoint({mode}); PRAGMA page_size;";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var (busy, logPages, copiedPages) = (reader.GetInt64(0) != 0, reader.GetInt64(1), reader.GetInt64(2));
            await reader.NextResultAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var pageSize = reader.GetInt64(0);
            if (busy)
            {
                LogCheckpointBusy(mode, logPages, copiedPages);
            }

            return new(mode, !busy, logPages * pageSize, copiedPages * pageSize);
        }
        catch (SqliteException e)
        {
            LogCheckpointFailed(e, mode);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "SQLite {Mode} checkpoint did not run")]
    private partial void LogCheckpointFailed(Exception exception, string mode);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SQLite {Mode} checkpoint did not finish: readers or writers held the log ({Copied} of {Log} pages copied)")]
    private partial void LogCheckpointBusy(string mode, long log, long copied);
}

/// <param name="Mode">SQLite's checkpoint mode.</param>
/// <param name="Complete">False when readers or writers kept it from finishing.</param>
/// <param name="LogBytes">The log's frames when it ran, in bytes.</param>
/// <param name="CopiedBytes">Of those, copied into the database.</param>
public sealed record Checkpoint(string Mode, bool Complete, long LogBytes, long CopiedBytes);
