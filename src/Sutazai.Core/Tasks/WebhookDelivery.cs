namespace Sutazai.Core.Tasks;

/// <summary>One notification of a task's outcome to its webhook, with every attempt's result.</summary>
public sealed class WebhookDelivery
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid TaskId { get; set; }

    /// <summary><c>task.completed</c>, <c>task.failed</c>, <c>task.cancelled</c> or <c>task.timed_out</c>.</summary>
    public required string Event { get; set; }

    public required string Url { get; set; }

    public required string PayloadJson { get; set; }

    public WebhookDeliveryStatus Status { get; set; } = WebhookDeliveryStatus.Pending;

    public int Attempts { get; set; }

    public int? LastStatusCode { get; set; }

    public string? LastError { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset NextAttemptAt { get; set; }

    public DateTimeOffset? DeliveredAt { get; set; }

    /// <summary>The node sending it now; another node takes over when the lease lapses.</summary>
    public string? LeaseOwner { get; set; }

    public DateTimeOffset? LeaseExpiresAt { get; set; }
}

public enum WebhookDeliveryStatus
{
    Pending,
    Delivered,
    Failed,
}
