namespace Sutazai.Core.Monitoring;

/// <summary>One API call: who made it, against what, how it ended and what it cost.</summary>
public sealed class ApiUsageLog
{
    public long Id { get; set; }

    public required string Endpoint { get; set; }

    public required string Method { get; set; }

    public Guid? UserId { get; set; }

    public Guid? ApiKeyId { get; set; }

    public Guid? AgentId { get; set; }

    public int ResponseCode { get; set; }

    public double ResponseTimeMs { get; set; }

    public long? RequestSize { get; set; }

    public long? ResponseSize { get; set; }

    public string? IpAddress { get; set; }

    public string? UserAgent { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
