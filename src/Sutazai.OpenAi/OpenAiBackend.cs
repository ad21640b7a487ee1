using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using OpenAI;
using Sutazai.Core.Models;

namespace Sutazai.OpenAi;

/// <summary>One OpenAI-compatible server's models, through the official OpenAI client and Microsoft.Extensions.AI.</summary>
public sealed class OpenAiBackend : RemoteModelBackend, IDisposable
{
    private readonly HttpClient _http;
    private readonly OpenAIClient _client;

    public OpenAiBackend(string name, OpenAiServerOptions options)
        : base(name, options.Models)
    {
        _http = CreateHttpClient(new Uri(options.Endpoint), apiKey: null, Timeout.InfiniteTimeSpan);
        _client = new OpenAIClient(new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "none" : options.ApiKey), new OpenAIClientOptions
        {
            Endpoint = new Uri(options.Endpoint),
            Transport = new HttpClientPipelineTransport(_http),
            // The gateway retries (once, with its circuit breaker), not the client as well.
            RetryPolicy = new ClientRetryPolicy(0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        });
    }

    public override bool CanPull => false;

    protected override async Task<IReadOnlyList<BackendModel>> FetchModelsAsync(CancellationToken cancellationToken)
    {
        var models = await _client.GetOpenAIModelClient().GetModelsAsync(cancellationToken);
        return [.. models.Value.Select(m => new BackendModel(m.Id, Name, ModelStatus.Available, null, ["chat", "generate", "embed"], m.OwnedBy is { Length: > 0 } owner ? $"owned by {owner}" : null))];
    }

    protected override IChatClient CreateChatClient(string model) => _client.GetChatClient(model).AsIChatClient();

    protected override IEmbeddingGenerator<string, Embedding<float>> CreateEmbeddingGenerator(string model) => _client.GetEmbeddingClient(model).AsIEmbeddingGenerator();

    public void Dispose() => _http.Dispose();
}
