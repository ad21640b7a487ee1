namespace Sutazai.Core.Knowledge;

/// <summary>A document in a collection; its chunks and vectors live in the collection's store.</summary>
public sealed class KnowledgeDocument
{
    public Guid Id { get; set; } = Guid.CreateVersion7();

    public Guid CollectionId { get; set; }

    public required string Title { get; set; }

    public string ContentPreview { get; set; } = "";

    public string FullContent { get; set; } = "";

    public string DocumentType { get; set; } = "text";

    public string? SourcePath { get; set; }

    /// <summary>SHA-256 of the content, so re-ingesting the same text is recognised.</summary>
    public string? ContentHash { get; set; }

    public string EmbeddingStatus { get; set; } = "pending";

    public int ChunkCount { get; set; }

    public DateTimeOffset? ProcessedAt { get; set; }

    public string? MetadataJson { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
