using System.Collections.Concurrent;
using LLama.Native;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Sutazai.Core.Models;

namespace Sutazai.LlamaCpp;

/// <summary>The GGUF files named in <c>Sutazai:Models:LlamaCpp:Models</c>, each served in-process by llama.cpp.</summary>
public sealed class LlamaCppBackend : IModelBackend, IAsyncDisposable
{
    private static int _logRouted;
    private readonly ConcurrentDictionary<string, LlamaCppModel> _models = new(StringComparer.OrdinalIgnoreCase);
    private readonly IOptions<LlamaCppOptions> _options;
    private readonly TimeProvider _time;

    public LlamaCppBackend(IOptions<LlamaCppOptions> options, TimeProvider time, ILoggerFactory loggers)
    {
        _options = options;
        _time = time;
        // llama.cpp logs through one process-wide callback: into our logs, not onto the console.
        if (Interlocked.Exchange(ref _logRouted, 1) == 0)
        {
            NativeLogConfig.llama_log_set(loggers.CreateLogger("LlamaCpp.Native"));
        }
    }

    public string Name => "llamacpp";

    public bool CanPull => false;

    public Task<IReadOnlyList<BackendModel>> ListModelsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<BackendModel>>([.. _options.Value.Models.Select(m =>
        {
            var file = new FileInfo(m.Value.Path);
            var model = _models.GetValueOrDefault(m.Key);
            var status = model is { IsLoaded: true } ? ModelStatus.Loaded : file.Exists ? ModelStatus.Available : ModelStatus.Unreachable;
            return new BackendModel(
                m.Key,
                Name,
                status,
                m.Value.ContextSize,
                ["chat", "generate", "embed"],
                status == ModelStatus.Unreachable ? $"no file at '{m.Value.Path}'" : m.Value.Path,
                file.Exists ? file.Length : null,
                file.Exists ? file.LastWriteTimeUtc : null,
                model?.UnloadsAt);
        })]);

    public bool Serves(string model) => _options.Value.Models.ContainsKey(model);

    public IChatClient? ChatClient(string model) => Model(model) is { } m ? new LlamaCppChatClient(m) : null;

    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator(string model) => Model(model) is { } m ? new LlamaCppEmbeddingGenerator(m) : null;

    public IAsyncEnumerable<PullProgress> PullAsync(string model, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"Backend '{Name}' cannot pull models: put the GGUF file on disk and name it in Sutazai:Models:LlamaCpp:Models:<name>:Path.");

    private LlamaCppModel? Model(string model) =>
        _options.Value.Models.TryGetValue(model, out var settings) ? _models.GetOrAdd(model, name => new LlamaCppModel(name, settings, _time)) : null;

    public async ValueTask DisposeAsync()
    {
        // The container disposes this once as itself and once as a backend; the second finds nothing left.
        foreach (var name in _models.Keys)
        {
            if (_models.TryRemove(name, out var model))
            {
                await model.DisposeAsync();
            }
        }
    }
}
