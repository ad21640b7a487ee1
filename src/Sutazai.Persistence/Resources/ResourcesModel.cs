using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Resources;
using Sutazai.Core.Tasks;

namespace Sutazai.Persistence.Resources;

internal static class ResourcesModel
{
    public static void Configure(ModelBuilder model, JsonColumns json)
    {
        model.Entity<ResourceAllocation>(allocation =>
        {
            allocation.ToTable("resource_allocations");
            allocation.Ignore(a => a.Amounts);
            allocation.Property(a => a.RequestId).HasMaxLength(ModelLimits.Name);
            allocation.HasIndex(a => a.RequestId).IsUnique();
            allocation.Property(a => a.Requester).HasMaxLength(ModelLimits.Name);
            allocation.Property(a => a.Custom).AsJson(json);
            allocation.HasIndex(a => new { a.Status, a.Priority, a.RequestedAt });
            allocation.HasIndex(a => a.TaskId);
            allocation.HasOne<TaskItem>().WithMany().HasForeignKey(a => a.TaskId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
