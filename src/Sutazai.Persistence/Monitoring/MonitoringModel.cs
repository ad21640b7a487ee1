using Microsoft.EntityFrameworkCore;
using Sutazai.Core.Monitoring;

namespace Sutazai.Persistence.Monitoring;

internal static class MonitoringModel
{
    public static void Configure(ModelBuilder model, JsonColumns json)
    {
        model.Entity<SystemMetric>(metric =>
        {
            metric.ToTable("system_metrics");
            metric.Property(m => m.Name).HasColumnName("metric_name").HasMaxLength(ModelLimits.Name);
            metric.Property(m => m.Value).HasColumnName("metric_value");
            metric.Property(m => m.Tags).AsJson(json);
            metric.HasIndex(m => new { m.Name, m.RecordedAt });
        });

        model.Entity<ApiUsageLog>(usage =>
        {
            usage.ToTable("api_usage_logs");
            usage.Property(u => u.Endpoint).HasMaxLength(ModelLimits.Key);
            usage.Property(u => u.Method).HasMaxLength(16);
            usage.Property(u => u.IpAddress).HasMaxLength(64);
            usage.Property(u => u.UserAgent).HasMaxLength(ModelLimits.Key);
            usage.HasIndex(u => u.CreatedAt);
            usage.HasIndex(u => new { u.UserId, u.CreatedAt });
            usage.HasIndex(u => new { u.ApiKeyId, u.CreatedAt });
        });

        model.Entity<SystemAlert>(alert =>
        {
            alert.ToTable("system_alerts");
            alert.Property(a => a.AlertType).HasMaxLength(ModelLimits.Name);
            alert.Property(a => a.Title).HasMaxLength(ModelLimits.Key);
            alert.Property(a => a.Source).HasMaxLength(ModelLimits.Name);
            alert.Property(a => a.Status).HasMaxLength(32);
            json.Apply(alert.Property(a => a.MetadataJson).HasColumnName("metadata"));
            alert.HasIndex(a => new { a.Status, a.Severity });
            alert.HasIndex(a => a.CreatedAt);
        });
    }
}
