using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.AI;

namespace Sutazai.Core.Models;

/// <summary>
/// A backend on another server (Ollama, an OpenAI-compatible server). It serves the models configured for it
/// and those it reported the last time it was asked; a model it stopped reporting is shown as unreachable.
/// </summary>
/// <param name="normalize">
/// One spelling per model, where a server has several (Ollama: <c>llama3</c> is <c>llama3:latest</c>); by
/// default names are taken as they are.
/// </param>
public abstract class RemoteModelBackend(string name, IEnumerable<string> configured, Func<string, string>? normalize = null) : IModelBackend
{
    private readonly Func<string, string> _normalize = normalize ?? (n => n);
    private readonly FrozenSet<string> _configured = configured.Select(normalize ?? (n => n)).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, IChatClient> _chatClients = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, IEmbeddingGenerator<string, Embedding<float>>> _generators = new(StringComparer.OrdinalIgnoreCase);
    private volatile FrozenSet<string> _reported = FrozenSet<string>.Empty;

    public string Name { get; } = name;

    public abstract bool CanPull { get; }

    public async Task<IReadOnlyList<BackendModel>> ListModelsAsync(CancellationToken cancellationToken)
    {
        var reported = await FetchModelsAsync(cancellationToken);
        // Swapped whole, so a call resolving a model meanwhile sees the old list or the new one, never a half.
        _reported = reported.Select(m => _normalize(m.Name)).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        var missing = _configured.Where(c => !_reported.Contains(c))
            .Select(c => new BackendModel(c, Name, ModelStatus.Unreachable, null, [], $"configured for {Name} but the server does not serve it"));
        return [.. reported, .. missing];
    }

    public bool Serves(string model) => _configured.Contains(_normalize(model)) || _reported.Contains(_normalize(model));

    public IChatClient? ChatClient(string model) => Serves(model) ? _chatClients.GetOrAdd(model, CreateChatClient) : null;

    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator(string model) =>
        Serves(model) ? _generators.GetOrAdd(model, CreateEmbeddingGenerator) : null;

    public virtual IAsyncEnumerable<PullProgress> PullAsync(string model, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"Backend '{Name}' cannot pull models; pull them on the server itself.");

    /// <summary>Asks the server which models it serves now.</summary>
    protected abstract Task<IReadOnlyList<BackendModel>> FetchModelsAsync(CancellationToken cancellationToken);

    protected abstract IChatClient CreateChatClient(string model);

    protected abstract IEmbeddingGenerator<string, Embedding<float>> CreateEmbeddingGenerator(string model);

    /// <summary>
    /// The HTTP stack for a backend: a bearer key when one is configured, and answers 5xx and 429 turned into
    /// <see cref="HttpRequestException"/> with their status, so retries and the circuit breaker can tell them apart.
    /// </summary>
    public static HttpClient CreateHttpClient(Uri endpoint, string? apiKey, TimeSpan timeout) =>
        new(new StatusHandler(apiKey) { InnerHandler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) } })
        {
            BaseAddress = endpoint,
            Timeout = timeout,
        };

    private sealed class StatusHandler(string? apiKey) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!string.IsNullOrEmpty(apiKey) && request.Headers.Authorization is null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
            }

            var response = await base.SendAsync(request, cancellationToken);
            if ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                response.Dispose();
                throw new HttpRequestException(
                    $"{request.RequestUri} answered {(int)response.StatusCode} {response.ReasonPhrase}{(body.Length == 0 ? "" : $": {body[..Math.Min(body.Length, 300)]}")}",
                    null,
                    response.StatusCode);
            }

            return response;
        }
    }
}
