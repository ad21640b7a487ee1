namespace Sutazai.Core.Knowledge;

/// <summary>A named set of embedded documents of one dimension, held by one vector store.</summary>
public sealed class VectorCollection
{
    public const int DefaultDimension = 384;

    public Guid Id { get; set; } = Guid.CreateVersion7();

    public required string Name { get; set; }

    /// <summary>Which vector store holds it: <c>embedded</c>, <c>pgvector</c>, <c>chroma</c>.</summary>
    public string Store { get; set; } = "embedded";

    public int Dimension { get; set; } = DefaultDimension;

    public string DistanceMetric { get; set; } = "cosine";

    public long DocumentCount { get; set; }

    public string Status { get; set; } = "active";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
