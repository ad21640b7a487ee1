using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OllamaSharp;
using OllamaSharp.Models;
using Sutazai.Core.Models;

namespace Sutazai.Ollama;

/// <summary>The models of an Ollama server, through OllamaSharp; Ollama can pull models, with progress.</summary>
public sealed class OllamaBackend : RemoteModelBackend, IDisposable
{
    private readonly HttpClient _http;
    private readonly OllamaApiClient _api;

    public OllamaBackend(IOptions<OllamaOptions> options)
        : base("ollama", options.Value.Models, Tagged)
    {
        _http = CreateHttpClient(new Uri(options.Value.Endpoint), options.Value.ApiKey, Timeout.InfiniteTimeSpan);
        _api = new OllamaApiClient(_http);
    }

    public override bool CanPull => true;

    protected override async Task<IReadOnlyList<BackendModel>> FetchModelsAsync(CancellationToken cancellationToken)
    {
        var local = (await _api.ListLocalModelsAsync(cancellationToken)).ToList();
        var running = (await _api.ListRunningModelsAsync(cancellationToken)).ToDictionary(r => r.Name, StringComparer.OrdinalIgnoreCase);
        return [.. local.Select(m =>
        {
            var loaded = running.GetValueOrDefault(m.Name);
            return new BackendModel(
                m.Name,
                Name,
                loaded is null ? ModelStatus.Available : ModelStatus.Loaded,
                loaded?.ContextLength is > 0 ? loaded.ContextLength : null,
                ["chat", "generate", "embed"],
                m.Details?.ParameterSize is { Length: > 0 } size ? $"{m.Details.Family} {size} {m.Details.QuantizationLevel}".Trim() : null,
                m.Size,
                m.ModifiedAt,
                loaded?.ExpiresAt);
        })];
    }

    protected override IChatClient CreateChatClient(string model) => new OllamaApiClient(_http, model);

    protected override IEmbeddingGenerator<string, Embedding<float>> CreateEmbeddingGenerator(string model) => new OllamaApiClient(_http, model);

    public override async IAsyncEnumerable<PullProgress> PullAsync(string model, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var progress in _api.PullModelAsync(new PullModelRequest { Model = model }, cancellationToken))
        {
            if (progress is not null)
            {
                yield return new PullProgress(progress.Status ?? "", progress.Digest, progress.Total > 0 ? progress.Total : null, progress.Completed > 0 ? progress.Completed : null);
            }
        }
    }

    /// <summary>Ollama names a model's default tag <c>latest</c>: <c>llama3</c> and <c>llama3:latest</c> are one model.</summary>
    private static string Tagged(string name) => name.Contains(':', StringComparison.Ordinal) ? name : name + ":latest";

    public void Dispose()
    {
        _api.Dispose();
        _http.Dispose();
    }
}
