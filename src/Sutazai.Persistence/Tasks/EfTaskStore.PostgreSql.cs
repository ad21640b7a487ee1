using System.Text;
using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Tasks;

namespace Sutazai.Persistence.Tasks;

/// <summary>
/// On PostgreSQL a claim and a finish each take one round trip. Their statements go as one command, which
/// PostgreSQL runs as one implicit transaction (the whole command or none of it), where an explicit transaction
/// waits for the answer to BEGIN and each statement before sending COMMIT: four round trips for a claim, and as
/// many for a finish, each costing both processes a wake-up and a system call or two (a quarter of the
/// database's time went to them). Each row's transitions and records are written only if its own guarded update
/// matched (a data-modifying <c>WITH</c>), so what used to be decided between statements is decided in them.
/// </summary>
public sealed partial class EfTaskStore
{
    private static async Task<IReadOnlyList<TaskItem>> AssignInOneTripAsync(
        SutazaiDbContext db, RowsUpdate<TaskItem> claim, IReadOnlyList<TaskAssignment> assignments, string node, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var sql = new RowsSql(db);
        var events = sql.Entity<TaskEvent>();
        var text = new StringBuilder();
        for (var i = 0; i < assignments.Count; i++)
        {
            var assignment = assignments[i];
            text.Append("WITH won AS (").Append(claim.Statement(sql, claim.Rows[i])).AppendLine(" RETURNING 1)")
                .Append(sql.InsertWhere(events, Claimed(assignment.TaskId, assignment.Reason, node, now), "EXISTS (SELECT FROM won)")).AppendLine(";");
        }

        // The rows, read back whole for the runs; those still queued a moment ago are now running here (another node's
        // claim holds its own lease). They are picked by key alone: a condition on the state would let PostgreSQL's
        // generic plan walk the state's index, through the entries every earlier version of every task left there.
        var tasks = sql.Entity<TaskItem>();
        text.Append($"SELECT * FROM {sql.Table(tasks)} WHERE {sql.Key(tasks)} = ANY ({sql.Parameter(assignments.Select(a => a.TaskId).ToArray())})");
        var read = await db.Tasks.FromSqlRaw(text.ToString(), [.. sql.Parameters]).AsNoTracking().ToListAsync(cancellationToken);
        return [.. read.Where(t => t.Status == TaskState.Running && t.LeaseOwner == node)];
    }

    private static async Task<IReadOnlyList<bool>> FinishInOneTripAsync(
        SutazaiDbContext db, RowsUpdate<TaskItem> finish, IReadOnlyList<TaskOutcome> outcomes, CancellationToken cancellationToken)
    {
        using var sql = new RowsSql(db);
        var events = sql.Entity<TaskEvent>();
        var executions = sql.Entity<AgentExecution>();
        var webhooks = sql.Entity<WebhookDelivery>();
        var text = new StringBuilder();
        var counting = new Guid[outcomes.Count];
        for (var i = 0; i < outcomes.Count; i++)
        {
            // The execution is stored as counted if the outcome's update matched, and as superseded (under a key of its
            // own) if not.
            var outcome = outcomes[i];
            var counted = Execution(outcome, applied: true);
            counting[i] = counted.Id;
            text.Append("WITH won AS (").Append(finish.Statement(sql, finish.Rows[i])).AppendLine(" RETURNING 1),")
                .Append("transition AS (").Append(sql.InsertWhere(events, [Finished(outcome)], "EXISTS (SELECT FROM won)")).AppendLine("),");
            if (outcome.Webhook is { } webhook)
            {
                text.Append("webhook AS (").Append(sql.InsertWhere(webhooks, [webhook], "EXISTS (SELECT FROM won)")).AppendLine("),");
            }

            text.Append("superseded AS (").Append(sql.InsertWhere(executions, [Execution(outcome, applied: false)], "NOT EXISTS (SELECT FROM won)")).AppendLine(")")
                .Append(sql.InsertWhere(executions, [counted], "EXISTS (SELECT FROM won)")).AppendLine(";");
        }

        text.Append($"SELECT {sql.Key(executions)} AS \"Value\" FROM {sql.Table(executions)} WHERE {sql.Key(executions)} = ANY ({sql.Parameter(counting)})");
        var stored = (await db.Database.SqlQueryRaw<Guid>(text.ToString(), [.. sql.Parameters]).ToListAsync(cancellationToken)).ToHashSet();
        return [.. counting.Select(stored.Contains)];
    }
}
