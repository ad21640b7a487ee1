using Microsoft.Extensions.AI;

namespace Sutazai.Core.Models;

/// <summary>Something that runs models: llama.cpp in-process, an Ollama server, an OpenAI-compatible server.</summary>
public interface IModelBackend
{
    /// <summary>How the backend is named in the registry and in errors, for example <c>llamacpp</c>.</summary>
    string Name { get; }

    /// <summary>The models it serves, with their state now.</summary>
    Task<IReadOnlyList<BackendModel>> ListModelsAsync(CancellationToken cancellationToken);

    /// <summary>A chat client for one of its models; null when it does not serve that model.</summary>
    IChatClient? ChatClient(string model);
}

/// <summary>A model as a backend reports it.</summary>
public sealed record BackendModel(string Name, string Backend, ModelStatus Status, int? ContextSize, IReadOnlyList<string> Capabilities, string? Detail = null);
