using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Tasks;

namespace Sutazai.Persistence.Tasks;

/// <summary>
/// On PostgreSQL a claim and a finish each take one round trip and one statement, whatever the number of tasks. The
/// statement is a data-modifying <c>WITH</c>: the guarded update of every task over arrays of their values (see
/// <see cref="RowsUpdate{TEntity}.Statement(RowsSql)"/>), and the inserts of the transitions and records of the tasks
/// it matched, so what used to be decided between statements is decided in one, which PostgreSQL runs as one
/// implicit transaction. An explicit transaction waits for the answer to BEGIN and each statement before sending
/// COMMIT: four round trips for a claim, each costing both processes a wake-up and a system call or two (a quarter
/// of the database's time went to them); and a statement per task cost each task a parse, a bind and an executor
/// start of its own.
/// </summary>
public sealed partial class EfTaskStore
{
    private static async Task<IReadOnlyList<TaskItem>> AssignInOneTripAsync(
        SutazaiDbContext db, RowsUpdate<TaskItem> claim, IReadOnlyList<TaskAssignment> assignments, string node, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var sql = new RowsSql(db);
        var events = sql.Entity<TaskEvent>();
        // The rows, whole, as the runs need them: those still queued a moment ago are now running here (another node's
        // claim holds its own lease).
        var text = $"""
            WITH won AS ({claim.Statement(sql)} RETURNING t.*),
            transitions AS ({sql.InsertFrom(events, assignments.SelectMany(a => Claimed(a.TaskId, a.Reason, node, now)), Won(sql))})
            SELECT * FROM won
            """;
        return await db.Tasks.FromSqlRaw(text, [.. sql.Parameters]).AsNoTracking().ToListAsync(cancellationToken);
    }

    private static async Task<IReadOnlyList<bool>> FinishInOneTripAsync(
        SutazaiDbContext db, RowsUpdate<TaskItem> finish, IReadOnlyList<TaskOutcome> outcomes, CancellationToken cancellationToken)
    {
        using var sql = new RowsSql(db);
        var webhooks = outcomes.Select(o => o.Webhook).OfType<WebhookDelivery>().ToList();
        var executions = sql.Entity<AgentExecution>();
        var key = sql.Key(sql.Entity<TaskItem>());
        var won = Won(sql);
        // An outcome that came after its task stopped being this node's is stored as superseded (under a key of its own).
        var text = $"""
            WITH won AS ({finish.Statement(sql)} RETURNING t.{key}),
            transitions AS ({sql.InsertFrom(sql.Entity<TaskEvent>(), outcomes.Select(Finished), won)}),
            {(webhooks.Count == 0 ? "" : $"webhooks AS ({sql.InsertFrom(sql.Entity<WebhookDelivery>(), webhooks, won)}),")}
            superseded AS ({sql.InsertFrom(executions, outcomes.Select(o => Execution(o, applied: false)), $"NOT {won}")}),
            counted AS ({sql.InsertFrom(executions, outcomes.Select(o => Execution(o, applied: true)), won)})
            SELECT {key} AS "Value" FROM won
            """;
        var applied = (await db.Database.SqlQueryRaw<Guid>(text, [.. sql.Parameters]).ToListAsync(cancellationToken)).ToHashSet();
        return [.. outcomes.Select(o => applied.Contains(o.TaskId))];
    }

    /// <summary>The condition on a row inserted by <see cref="RowsSql.InsertFrom"/> that its task's update matched.</summary>
    private static string Won(RowsSql sql) =>
        $"r.{sql.Column(sql.Entity<TaskEvent>().FindProperty(nameof(TaskEvent.TaskId))!)} IN (SELECT {sql.Key(sql.Entity<TaskItem>())} FROM won)";
}
