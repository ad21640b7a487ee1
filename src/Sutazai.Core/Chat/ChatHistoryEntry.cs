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

    /// <summary>The API key the call came with, when it came with one.</summary>
    public Guid? ApiKeyId { get; set; }

    /// <summary>The task the call was made for, when a task made it.</summary>
    public Guid? TaskId { get; set; }

    /// <summary>What was asked of the model: <c>chat</c> (also generate) or <c>embed</c>.</summary>
    public string Operation { get; set; } = "chat";

    /// <summary>Which backend answered: <c>llamacpp</c>, <c>ollama</c>, ...</summary>
    public string Backend { get; set; } = "";

    public int PromptTokens { get; set; }

    public int CompletionTokens { get; set; }

    public double ResponseTimeMs { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
