namespace Sutazai.Core.Models;

/// <summary>A model the platform knows of, from configuration or reported by a backend.</summary>
public sealed class ModelEntry
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    /// <summary>What the model does: <c>chat</c>, <c>embedding</c>.</summary>
    public string ModelType { get; set; } = "chat";

    /// <summary>Which backend serves it: <c>ollama</c>, <c>openai</c>, <c>llamacpp</c>, <c>onnx</c>.</summary>
    public string Backend { get; set; } = "ollama";

    public double? SizeMb { get; set; }

    public ModelStatus Status { get; set; } = ModelStatus.Unknown;

    public long UsageCount { get; set; }

    public DateTimeOffset? LastUsedAt { get; set; }

    public string? FilePath { get; set; }

    public int? ContextSize { get; set; }

    /// <summary>The model calls use when they name none, as chosen by an admin at run time (at most one row).</summary>
    public bool IsDefault { get; set; }

    public string? ParametersJson { get; set; }

    public List<string> Capabilities { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
