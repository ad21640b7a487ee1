using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Identity;
using Sutazai.Core.Orchestration;

namespace Sutazai.Persistence.Orchestration;

/// <summary>Orchestration sessions, agent-to-agent interactions and agents' claims on targets.</summary>
internal static class OrchestrationModel
{
    public static void Configure(ModelBuilder model, JsonColumns json)
    {
        model.Entity<OrchestrationSession>(session =>
        {
            session.ToTable("orchestration_sessions");
            session.Property(s => s.Name).HasColumnName("session_name").HasMaxLength(ModelLimits.Name);
            session.Property(s => s.Strategy).HasMaxLength(32);
            session.Property(s => s.Status).HasMaxLength(32);
            json.Apply(session.Property(s => s.ResultJson).HasColumnName("result"));
            session.HasIndex(s => new { s.Status, s.CreatedAt });
            session.HasOne<User>().WithMany().HasForeignKey(s => s.UserId).OnDelete(DeleteBehavior.SetNull);
        });

        model.Entity<AgentInteraction>(interaction =>
        {
            interaction.ToTable("agent_interactions");
            interaction.Property(i => i.InteractionId).HasMaxLength(ModelLimits.Name);
            interaction.HasIndex(i => i.InteractionId).IsUnique();
            interaction.Property(i => i.CorrelationId).HasMaxLength(ModelLimits.Name);
            interaction.HasIndex(i => new { i.CorrelationId, i.CreatedAt });
            interaction.Property(i => i.SourceAgent).HasMaxLength(ModelLimits.Name);
            interaction.Property(i => i.TargetAgent).HasMaxLength(ModelLimits.Name);
            interaction.HasIndex(i => i.CreatedAt);
            json.Apply(interaction.Property(i => i.DataJson).HasColumnName("data"));
            interaction.HasOne<User>().WithMany().HasForeignKey(i => i.UserId).OnDelete(DeleteBehavior.SetNull);
        });

        model.Entity<AgentClaim>(claim =>
        {
            claim.ToTable("agent_claims");
            claim.Property(c => c.Target).HasMaxLength(ModelLimits.Key);
            claim.Property(c => c.Agent).HasMaxLength(ModelLimits.Name);
            claim.Property(c => c.Purpose).HasMaxLength(ModelLimits.Key);
            claim.HasIndex(c => new { c.Status, c.Target });
            claim.HasIndex(c => new { c.Status, c.CreatedAt });
            claim.HasOne<User>().WithMany().HasForeignKey(c => c.UserId).OnDelete(DeleteBehavior.SetNull);
        });
    }
}
