namespace Sutazai.Core.Chat;

/// <summary>One exchange with a model: what was asked, what came back, what it cost.</summary>
public sealed class ChatHistoryEntry
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid? UserId { get; set; }

    public required string Message { get; set; }

    public string Response { get; set; } = "";

    public required string Model { get; set; }

    /// <summary>The agent that made the call, when an agent made it.</summary>
    public string? AgentUsed { get; set; }

    public int PromptTokens { get; set; }

    public int CompletionTokens { get; set; }

    public double ResponseTimeMs { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
