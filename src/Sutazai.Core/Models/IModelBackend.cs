using Microsoft.Extensions.AI;

namespace Sutazai.Core.Models;

/// <summary>Something that runs models: llama.cpp in-process, an Ollama server, an OpenAI-compatible server.</summary>
public interface IModelBackend
{
    /// <summary>How the backend is named in the registry and in errors, for example <c>llamacpp</c>.</summary>
    string Name { get; }

    /// <summary>Whether <see cref="PullAsync"/> can fetch models (Ollama can; a GGUF file is placed by hand).</summary>
    bool CanPull { get; }

    /// <summary>The models it serves, with their state now. Throws when the backend cannot be asked.</summary>
    Task<IReadOnlyList<BackendModel>> ListModelsAsync(CancellationToken cancellationToken);

    /// <summary>Whether it serves a model of that name; cheap, asked on every call.</summary>
    bool Serves(string model);

    /// <summary>A chat client for one of its models; null when it does not serve that model.</summary>
    IChatClient? ChatClient(string model);

    /// <summary>An embedding generator for one of its models; null when it does not serve that model.</summary>
    IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator(string model);

    /// <summary>Fetches a model onto the backend, reporting progress as it goes.</summary>
    /// <exception cref="NotSupportedException">The backend cannot pull (<see cref="CanPull"/> is false).</exception>
    IAsyncEnumerable<PullProgress> PullAsync(string model, CancellationToken cancellationToken);
}

/// <summary>A model as a backend reports it.</summary>
/// <param name="SizeBytes">Size of its weights, when known.</param>
/// <param name="ModifiedAt">When its weights last changed, when known.</param>
/// <param name="LoadedUntil">For a loaded model: when it will be unloaded if nobody uses it.</param>
public sealed record BackendModel(
    string Name,
    string Backend,
    ModelStatus Status,
    int? ContextSize,
    IReadOnlyList<string> Capabilities,
    string? Detail = null,
    long? SizeBytes = null,
    DateTimeOffset? ModifiedAt = null,
    DateTimeOffset? LoadedUntil = null);

/// <summary>How far a pull has come: a status line, and bytes for the part being downloaded when known.</summary>
public sealed record PullProgress(string Status, string? Digest = null, long? Total = null, long? Completed = null);
