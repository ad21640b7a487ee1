using Microsoft.Extensions.AI;

namespace Sutazai.LlamaCpp;

/// <summary>A GGUF model as a Microsoft.Extensions.AI embedding generator: one unit vector per input, exact token counts.</summary>
public sealed class LlamaCppEmbeddingGenerator(LlamaCppModel model) : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly EmbeddingGeneratorMetadata _metadata = new("llamacpp", null, model.Name);

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var embedded = await model.EmbedAsync([.. values], cancellationToken);
        var created = DateTimeOffset.UtcNow;
        return new GeneratedEmbeddings<Embedding<float>>(embedded.Select(e => new Embedding<float>(e.Vector) { ModelId = model.Name, CreatedAt = created }))
        {
            Usage = new UsageDetails { InputTokenCount = embedded.Sum(e => e.Tokens), TotalTokenCount = embedded.Sum(e => e.Tokens) },
        };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : null;

    public void Dispose()
    {
        // The model belongs to the backend, which unloads it.
    }
}
