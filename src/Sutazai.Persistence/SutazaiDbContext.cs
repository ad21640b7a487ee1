using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Agents;
using Sutazai.Core.Chat;
using Sutazai.Core.Identity;
using Sutazai.Core.Knowledge;
using Sutazai.Core.Models;
using Sutazai.Core.Monitoring;
using Sutazai.Core.Orchestration;
using Sutazai.Core.Resources;
using Sutazai.Core.Tasks;
using Sutazai.Persistence.Agents;
using Sutazai.Persistence.Content;
using Sutazai.Persistence.Identity;
using Sutazai.Persistence.Monitoring;
using Sutazai.Persistence.Orchestration;
using Sutazai.Persistence.Resources;
using Sutazai.Persistence.Tasks;

namespace Sutazai.Persistence;

/// <summary>
/// The platform's relational model. Each provider derives its own context so that it owns its migrations
/// (see <c>Migrations/Sqlite</c> and <c>Migrations/PostgreSql</c>).
/// </summary>
public abstract class SutazaiDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<User> Users => Set<User>();
    public DbSet<Role> Roles => Set<Role>();
    public DbSet<UserRole> UserRoles => Set<UserRole>();
    public DbSet<Session> Sessions => Set<Session>();
    public DbSet<SigningKey> SigningKeys => Set<SigningKey>();
    public DbSet<ConsumedRefreshToken> ConsumedRefreshTokens => Set<ConsumedRefreshToken>();
    public DbSet<RevokedAccessToken> RevokedAccessTokens => Set<RevokedAccessToken>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();
    public DbSet<LoginThrottle> LoginThrottles => Set<LoginThrottle>();
    public DbSet<Agent> Agents => Set<Agent>();
    public DbSet<AgentHealthSample> AgentHealth => Set<AgentHealthSample>();
    public DbSet<TaskItem> Tasks => Set<TaskItem>();
    public DbSet<TaskEvent> TaskEvents => Set<TaskEvent>();
    public DbSet<TaskTemplate> TaskTemplates => Set<TaskTemplate>();
    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();
    public DbSet<ResourceAllocation> ResourceAllocations => Set<ResourceAllocation>();
    public DbSet<AgentExecution> AgentExecutions => Set<AgentExecution>();
    public DbSet<ModelEntry> Models => Set<ModelEntry>();
    public DbSet<VectorCollection> VectorCollections => Set<VectorCollection>();
    public DbSet<KnowledgeDocument> KnowledgeDocuments => Set<KnowledgeDocument>();
    public DbSet<ChatHistoryEntry> ChatHistory => Set<ChatHistoryEntry>();
    public DbSet<OrchestrationSession> OrchestrationSessions => Set<OrchestrationSession>();
    public DbSet<AgentInteraction> AgentInteractions => Set<AgentInteraction>();
    public DbSet<AgentClaim> AgentClaims => Set<AgentClaim>();
    public DbSet<SystemMetric> SystemMetrics => Set<SystemMetric>();
    public DbSet<ApiUsageLog> ApiUsageLogs => Set<ApiUsageLog>();
    public DbSet<SystemAlert> SystemAlerts => Set<SystemAlert>();

    /// <summary>The column type for JSON documents, where the provider has a native one.</summary>
    protected abstract string? JsonColumnType { get; }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Enums are stored by name so rows stay readable and reordering members never changes data.
        configurationBuilder.Properties<Enum>().HaveConversion<string>().HaveMaxLength(32);
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        var json = new JsonColumns(JsonColumnType);
        IdentityModel.Configure(modelBuilder, json);
        AgentsModel.Configure(modelBuilder, json);
        TasksModel.Configure(modelBuilder, json, Database.IsNpgsql());
        ContentModel.Configure(modelBuilder, json);
        MonitoringModel.Configure(modelBuilder, json);
        ResourcesModel.Configure(modelBuilder, json);
        OrchestrationModel.Configure(modelBuilder, json);
    }
}

/// <summary>Column sizes shared by the model. Other text is unbounded (<c>text</c> on both providers).</summary>
internal static class ModelLimits
{
    public const int Name = 200;
    public const int Key = 500;
}

/// <summary>Gives JSON document columns the provider's native type where it has one (<c>jsonb</c>).</summary>
internal sealed class JsonColumns(string? columnType)
{
    public void Apply<T>(Microsoft.EntityFrameworkCore.Metadata.Builders.PropertyBuilder<T> property)
    {
        if (columnType is not null)
        {
            property.HasColumnType(columnType);
        }
    }
}
