using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;
using Sutazai.Core.Tasks;

namespace Sutazai.Persistence.Tasks;

internal static class TasksModel
{
    /// <summary>The predicate of the dispatcher's partial indexes; a query uses them only when it says the same.</summary>
    public const string QueuedFilter = $"status = '{nameof(TaskState.Queued)}'";

    /// <summary>An index under its own name: partial ones over the same columns are different indexes.</summary>
    private static IndexBuilder<TaskItem> Named(EntityTypeBuilder<TaskItem> task, string name, Expression<Func<TaskItem, object?>> columns) =>
        task.HasIndex(columns, name).HasDatabaseName(name);

    /// <param name="postgreSql">Whether the model is PostgreSQL's, which leaves out the index of the whole queue (see there).</param>
    public static void Configure(ModelBuilder model, JsonColumns json, bool postgreSql)
    {
        model.Entity<TaskItem>(task =>
        {
            task.ToTable("tasks");
            task.Property(t => t.Title).HasMaxLength(ModelLimits.Key);
            task.Property(t => t.Type).HasMaxLength(ModelLimits.Name);
            task.Property(t => t.Action).HasMaxLength(ModelLimits.Name);
            task.Property(t => t.IdempotencyKey).HasMaxLength(ModelLimits.Name);
            task.Property(t => t.LeaseOwner).HasMaxLength(ModelLimits.Name);
            json.Apply(task.Property(t => t.PayloadJson).HasColumnName("payload"));
            json.Apply(task.Property(t => t.ResourceNeedsJson).HasColumnName("resource_needs"));
            json.Apply(task.Property(t => t.ResultJson).HasColumnName("result"));
            task.HasOne<Agent>().WithMany().HasForeignKey(t => t.AgentId).OnDelete(DeleteBehavior.SetNull);
            task.HasOne<User>().WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.SetNull);
            // The dispatcher's seeks: queued work in dispatch order (priority with aging, then age), all of it, each
            // agent's, and that addressed to none. Partial, so they hold the queue, not the history: a claim or a finish
            // writes no entry in them, and PostgreSQL's generic plans have no index over every task to walk instead. The
            // queries name the state as this literal. The state leads the keys so that SQLite, which plans without
            // statistics, sees an equality followed by the order it wants.
            // PostgreSQL has no index of the whole queue: its planner could take it for an agent's seek (walking
            // the queue, skipping other agents' tasks) whenever the indexes' statistics say they are empty, as they do
            // from their creation on an empty table until the first vacuum, and keep that plan while the queue
            // grows. There the head of the queue is read agent by agent (EfTaskStore.PeekDispatchableAsync).
            if (!postgreSql)
            {
                Named(task, "ix_tasks_queued", t => new { t.Status, t.DispatchScore }).HasFilter(QueuedFilter);
            }

            Named(task, "ix_tasks_queued_by_agent", t => new { t.AgentId, t.Status, t.DispatchScore }).HasFilter(QueuedFilter);
            Named(task, "ix_tasks_queued_unaddressed", t => new { t.Status, t.DispatchScore }).HasFilter($"{QueuedFilter} AND agent_id IS NULL");
            task.Property(t => t.WebhookUrl).HasMaxLength(2000);
            task.Property(t => t.WebhookSecretProtected).HasMaxLength(ModelLimits.Key);
            // Maintenance reads these two in time order, so they stay small and the statements that read them are
            // index scans however many tasks the history holds (each was a scan of the whole table, 20-30 ms at
            // 40,000 tasks): lapsed leases by expiry, where only held tasks have one (the state is left to a filter:
            // a generic plan over a state index walked the whole table instead); queued tasks past their deadline.
            task.HasIndex(t => t.LeaseExpiresAt).HasFilter("lease_expires_at IS NOT NULL");
            Named(task, "ix_tasks_queued_deadline", t => t.Deadline).HasFilter($"{QueuedFilter} AND deadline IS NOT NULL");
            task.HasIndex(t => new { t.UserId, t.CreatedAt });
            // Task lists newest first (GET /api/v1/tasks) by state or by agent: read in index order, not sorted
            // after reading every match (tens of thousands of completed tasks sorted per page otherwise).
            task.HasIndex(t => new { t.Status, t.CreatedAt, t.Id });
            task.HasIndex(t => new { t.AgentId, t.CreatedAt, t.Id });
            // Only tasks submitted with a key have an entry (keys without a value never collide anyway).
            task.HasIndex(t => new { t.UserId, t.IdempotencyKey }).IsUnique().HasFilter("idempotency_key IS NOT NULL");
        });

        model.Entity<TaskEvent>(transition =>
        {
            transition.ToTable("task_events");
            transition.HasIndex(e => new { e.TaskId, e.OccurredAt });
            transition.HasOne<TaskItem>().WithMany().HasForeignKey(e => e.TaskId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<AgentExecution>(execution =>
        {
            execution.ToTable("agent_executions");
            execution.Property(e => e.Status).HasMaxLength(32);
            json.Apply(execution.Property(e => e.InputJson).HasColumnName("input_data"));
            json.Apply(execution.Property(e => e.OutputJson).HasColumnName("output_data"));
            execution.HasIndex(e => e.TaskId);
            execution.HasIndex(e => new { e.AgentId, e.CreatedAt });
            execution.HasOne<TaskItem>().WithMany().HasForeignKey(e => e.TaskId).OnDelete(DeleteBehavior.Cascade);
            execution.HasOne<Agent>().WithMany().HasForeignKey(e => e.AgentId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<WebhookDelivery>(delivery =>
        {
            delivery.ToTable("webhook_deliveries");
            delivery.Property(d => d.Event).HasMaxLength(64);
            delivery.Property(d => d.Url).HasMaxLength(2000);
            delivery.Property(d => d.LeaseOwner).HasMaxLength(ModelLimits.Name);
            json.Apply(delivery.Property(d => d.PayloadJson).HasColumnName("payload"));
            delivery.HasIndex(d => new { d.Status, d.NextAttemptAt });
            delivery.HasIndex(d => d.TaskId);
            delivery.HasOne<TaskItem>().WithMany().HasForeignKey(d => d.TaskId).OnDelete(DeleteBehavior.Cascade);
        });

        model.Entity<TaskTemplate>(template =>
        {
            template.ToTable("task_templates");
            template.Property(t => t.Name).HasMaxLength(ModelLimits.Name);
            template.HasIndex(t => t.Name).IsUnique();
            template.Property(t => t.TaskType).HasMaxLength(ModelLimits.Name);
            template.Property(t => t.Action).HasMaxLength(ModelLimits.Name);
            json.Apply(template.Property(t => t.PayloadJson).HasColumnName("payload"));
        });
    }
}
