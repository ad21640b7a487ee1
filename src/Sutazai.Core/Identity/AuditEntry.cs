namespace Sutazai.Core.Identity;

/// <summary>One security-relevant or state-changing action: who, what, on what, when, from where, and how it ended.</summary>
public sealed class AuditEntry
{
    public long Id { get; set; }

    public DateTimeOffset OccurredAt { get; set; }

    public Guid? ActorUserId { get; set; }

    /// <summary>The username as it was then, or as it was typed for a failed sign-in.</summary>
    public string? ActorName { get; set; }

    public Guid? ApiKeyId { get; set; }

    /// <summary>Dotted name of the action, such as <c>auth.login</c> or <c>user.update</c>.</summary>
    public required string Action { get; set; }

    public string? TargetType { get; set; }

    public string? TargetId { get; set; }

    public AuditOutcome Outcome { get; set; }

    public string? IpAddress { get; set; }

    public string? UserAgent { get; set; }

    /// <summary>What else matters, as JSON; never a secret.</summary>
    public string? DetailsJson { get; set; }

    public string? TraceId { get; set; }
}

public enum AuditOutcome
{
    Success,
    Failure,
    Denied,
}
