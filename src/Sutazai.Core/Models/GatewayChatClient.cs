using Microsoft.Extensions.AI;

namespace Sutazai.Core.Models;

/// <summary>
/// The gateway as an <see cref="IChatClient"/> for one caller, so Microsoft.Extensions.AI's middleware (function
/// invocation) runs over the whole pipeline: every round trip is limited, cached, guarded and recorded against
/// the caller. The model is the options' <see cref="ChatOptions.ModelId"/>, else the client's, else the default.
/// </summary>
public sealed class GatewayChatClient(ModelGateway gateway, string? model, ModelCaller caller, int priority = 5) : IChatClient
{
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        gateway.ChatAsync(Call(messages, options), cancellationToken);

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        gateway.StreamAsync(Call(messages, options), cancellationToken);

    private ChatCall Call(IEnumerable<ChatMessage> messages, ChatOptions? options) =>
        new(options?.ModelId ?? model, [.. messages], options ?? new ChatOptions(), caller, priority);

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
        // The gateway belongs to the host.
    }
}
