using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.AI;

namespace Sutazai.Core.Models;

/// <summary>
/// A backend on another server (Ollama, an OpenAI-compatible server). It serves the models configured for it
/// and those it reported the last time it was asked; a model it stopped reporting is shown as unreachable.
/// </summary>
public abstract class RemoteModelBackend(string name, IEnumerable<string> configured) : IModelBackend
{
    private readonly IReadOnlyList<string> _configured = [.. configured];
    private readonly ConcurrentDictionary<string, byte> _reported = new(StringComparer.OrdinalIgnoreCase);

    public string Name { get; } = name;

    public abstract bool CanPull { get; }

    public async Task<IReadOnlyList<BackendModel>> ListModelsAsync(CancellationToken cancellationToken)
    {
        var reported = await FetchModelsAsync(cancellationToken);
        _reported.Clear();
        foreach (var model in reported)
        {
            _reported[model.Name] = 0;
        }

        var missing = _configured.Where(c => !reported.Any(r => Same(r.Name, c)))
            .Select(c => new BackendModel(c, Name, ModelStatus.Unreachable, null, [], $"configured for {Name} but the server does not serve it"));
        return [.. reported, .. missing];
    }

    public IChatClient? ChatClient(string model) => Serves(model) ? CreateChatClient(model) : null;

    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator(string model) => Serves(model) ? CreateEmbeddingGenerator(model) : null;

    public virtual IAsyncEnumerable<PullProgress> PullAsync(string model, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"Backend '{Name}' cannot pull models; pull them on the server itself.");

    /// <summary>Asks the server which models it serves now.</summary>
    protected abstract Task<IReadOnlyList<BackendModel>> FetchModelsAsync(CancellationToken cancellationToken);

    protected abstract IChatClient CreateChatClient(string model);

    protected abstract IEmbeddingGenerator<string, Embedding<float>> CreateEmbeddingGenerator(string model);

    /// <summary>Whether two names mean one model (Ollama: <c>llama3</c> is <c>llama3:latest</c>).</summary>
    protected virtual bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private bool Serves(string model) => _configured.Any(c => Same(c, model)) || _reported.Keys.Any(r => Same(r, model));

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
