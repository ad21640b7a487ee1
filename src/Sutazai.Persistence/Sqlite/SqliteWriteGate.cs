using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Sutazai.Persistence.Sqlite;

/// <summary>
/// SQLite admits one writer at a time, and a writer that finds the file locked can only sleep and try again. So
/// this process lines its write transactions up itself: a transaction waits here, first come first served, until
/// the one before it ends, and never meets a lock in SQLite. A write outside a transaction (EF sends a lone INSERT
/// without one) takes its turn for as long as the statement runs. Readers are not held up (WAL lets them read
/// alongside). A transaction's turn ends when it commits, rolls back or fails, or at the latest when its connection
/// closes.
/// </summary>
/// <remarks>A gate lives as long as the process; its semaphore never allocates a wait handle, so nothing needs disposing.</remarks>
#pragma warning disable CA1001
internal sealed class SqliteWriteGate(TimeSpan timeout) : DbTransactionInterceptor, IDbConnectionInterceptor, IDbCommandInterceptor
#pragma warning restore CA1001
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    /// <summary>The connections (by EF's connection id) whose transaction holds the turn.</summary>
    private readonly ConcurrentDictionary<Guid, bool> _holders = new();

    /// <summary>Lone write statements that hold the turn until they finish.</summary>
    private readonly ConcurrentDictionary<DbCommand, bool> _statements = new(ReferenceEqualityComparer.Instance);

    /// <summary>Runs <paramref name="work"/> in a turn of its own: no write of this process runs meanwhile.</summary>
    public async Task<T> AloneAsync<T>(Func<Task<T>> work, CancellationToken cancellationToken)
    {
        await EnterAsync(cancellationToken);
        try
        {
            return await work();
        }
        finally
        {
            _turn.Release();
        }
    }

    public override InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result)
    {
        Enter();
        _holders[eventData.ConnectionId] = true;
        return result;
    }

    public override async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(
        DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        await EnterAsync(cancellationToken);
        _holders[eventData.ConnectionId] = true;
        return result;
    }

    public override void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Leave(eventData.ConnectionId);

    public override Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Leave(eventData.ConnectionId);
        return Task.CompletedTask;
    }

    public override void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Leave(eventData.ConnectionId);

    public override Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Leave(eventData.ConnectionId);
        return Task.CompletedTask;
    }

    public override void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) => Leave(eventData.ConnectionId);

    public override Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Leave(eventData.ConnectionId);
        return Task.CompletedTask;
    }

    // A transaction disposed without commit or rollback ends when its connection closes.
    public void ConnectionClosed(DbConnection connection, ConnectionEndEventData eventData) => Leave(eventData.ConnectionId);

    public Task ConnectionClosedAsync(DbConnection connection, ConnectionEndEventData eventData)
    {
        Leave(eventData.ConnectionId);
        return Task.CompletedTask;
    }

    public InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        EnterForStatement(command);
        return result;
    }

    public async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        await EnterForStatementAsync(command, cancellationToken);
        return result;
    }

    public InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        EnterForStatement(command);
        return result;
    }

    public async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await EnterForStatementAsync(command, cancellationToken);
        return result;
    }

    public int NonQueryExecuted(DbCommand command, CommandExecutedEventData eventData, int result)
    {
        LeaveForStatement(command);
        return result;
    }

    public ValueTask<int> NonQueryExecutedAsync(DbCommand command, CommandExecutedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        LeaveForStatement(command);
        return ValueTask.FromResult(result);
    }

    public InterceptionResult DataReaderClosing(DbCommand command, DataReaderClosingEventData eventData, InterceptionResult result)
    {
        LeaveForStatement(command);
        return result;
    }

    public ValueTask<InterceptionResult> DataReaderClosingAsync(DbCommand command, DataReaderClosingEventData eventData, InterceptionResult result)
    {
        LeaveForStatement(command);
        return ValueTask.FromResult(result);
    }

    public InterceptionResult DataReaderDisposing(DbCommand command, DataReaderDisposingEventData eventData, InterceptionResult result)
    {
        LeaveForStatement(command);
        return result;
    }

    public void CommandFailed(DbCommand command, CommandErrorEventData eventData) => LeaveForStatement(command);

    public Task CommandFailedAsync(DbCommand command, CommandErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        LeaveForStatement(command);
        return Task.CompletedTask;
    }

    public void CommandCanceled(DbCommand command, CommandEndEventData eventData) => LeaveForStatement(command);

    public Task CommandCanceledAsync(DbCommand command, CommandEndEventData eventData, CancellationToken cancellationToken = default)
    {
        LeaveForStatement(command);
        return Task.CompletedTask;
    }

    /// <summary>A statement that changes data and runs outside any transaction.</summary>
    private static bool IsLoneWrite(DbCommand command)
    {
        if (command.Transaction is not null)
        {
            return false;
        }

        var text = command.CommandText.AsSpan().TrimStart();
        return text.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase) || text.StartsWith("UPDATE", StringComparison.OrdinalIgnoreCase)
            || text.StartsWith("DELETE", StringComparison.OrdinalIgnoreCase) || text.StartsWith("REPLACE", StringComparison.OrdinalIgnoreCase);
    }

    private void EnterForStatement(DbCommand command)
    {
        if (IsLoneWrite(command))
        {
            Enter();
            _statements[command] = true;
        }
    }

    private async ValueTask EnterForStatementAsync(DbCommand command, CancellationToken cancellationToken)
    {
        if (IsLoneWrite(command))
        {
            await EnterAsync(cancellationToken);
            _statements[command] = true;
        }
    }

    private void LeaveForStatement(DbCommand command)
    {
        if (_statements.TryRemove(command, out _))
        {
            _turn.Release();
        }
    }

    // Bounded like SQLite's own busy wait: a write that waits on a write its own caller holds fails with a
    // reason instead of hanging.
    private void Enter()
    {
        if (!_turn.Wait(timeout))
        {
            throw Waited();
        }
    }

    private async ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        if (!await _turn.WaitAsync(timeout, cancellationToken))
        {
            throw Waited();
        }
    }

    private TimeoutException Waited() =>
        new($"Waited {timeout.TotalSeconds:0} s for another write to the SQLite database to finish (Sutazai:Storage:CommandTimeoutSeconds).");

    private void Leave(Guid connectionId)
    {
        if (_holders.TryRemove(connectionId, out _))
        {
            _turn.Release();
        }
    }
}
