using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Agents;

namespace Sutazai.Persistence.Agents;

internal static class AgentsModel
{
    public static void Configure(ModelBuilder model, JsonColumns json)
    {
        model.Entity<Agent>(agent =>
        {
            agent.ToTable("agents");
            agent.Property(a => a.Name).HasMaxLength(ModelLimits.Name);
            agent.HasIndex(a => a.Name).IsUnique();
            agent.HasIndex(a => a.IsActive);
            agent.Property(a => a.Endpoint).HasMaxLength(ModelLimits.Key);
            agent.Property(a => a.HealthDetail).HasMaxLength(ModelLimits.Key * 2);
            json.Apply(agent.Property(a => a.DefinitionJson).HasColumnName("definition"));
        });

        model.Entity<AgentHealthSample>(health =>
        {
            health.ToTable("agent_health");
            health.Property(h => h.Status).HasMaxLength(32);
            health.HasIndex(h => new { h.AgentId, h.RecordedAt });
            health.HasOne<Agent>().WithMany().HasForeignKey(h => h.AgentId).OnDelete(DeleteBehavior.Cascade);
            json.Apply(health.Property(h => h.MetadataJson).HasColumnName("metadata"));
        });
    }
}
