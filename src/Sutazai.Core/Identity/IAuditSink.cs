namespace Sutazai.Core.Identity;

/// <summary>Where engines record what they did on someone's behalf (for example an agent action marked as audited).</summary>
public interface IAuditSink
{
    Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken);
}
