using System.Runtime.CompilerServices;
using System.Text;
using LLama;
using Microsoft.Extensions.AI;

namespace Sutazai.LlamaCpp;

/// <summary>
/// A GGUF model as a Microsoft.Extensions.AI chat client. The conversation is rendered with the model's own chat
/// template; generation stops at an end token, a stop sequence (never returned) or the token limit, and the
/// finish reason and exact token counts come with the last update.
/// </summary>
public sealed class LlamaCppChatClient(LlamaCppModel model) : IChatClient
{
    private readonly ChatClientMetadata _metadata = new("llamacpp", null, model.Name);

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (options?.Tools is { Count: > 0 })
        {
            // Saying so beats answering as if no tools had been offered.
            throw new NotSupportedException(
                $"Model '{model.Name}' runs on the llama.cpp backend, which does not do function calling here; give an agent with tools an Ollama or OpenAI-compatible model.");
        }

        var conversation = messages.ToList();
        var stops = options?.StopSequences?.Where(s => s.Length > 0).ToList() ?? [];
        var holdBack = stops.Count == 0 ? 0 : stops.Max(s => s.Length) - 1;
        var text = new StringBuilder();
        var emitted = 0;
        var responseId = Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow;
        var usage = new UsageDetails();
        ChatFinishReason? finish = null;

        ChatResponseUpdate Update(string piece) => new(ChatRole.Assistant, piece)
        {
            ResponseId = responseId,
            MessageId = responseId,
            ModelId = model.Name,
            CreatedAt = created,
        };

        await foreach (var generated in model.GenerateAsync(weights => Prompt(weights, conversation), options, cancellationToken))
        {
            usage.InputTokenCount = generated.PromptTokens;
            usage.OutputTokenCount = generated.CompletionTokens ?? usage.OutputTokenCount ?? 0;
            if (generated.Finish is { } end)
            {
                finish = end;
                break;
            }

            text.Append(generated.Text);
            var all = text.ToString();
            var stopAt = stops.Select(s => all.IndexOf(s, Math.Max(0, emitted - holdBack), StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (stopAt >= 0)
            {
                if (stopAt > emitted)
                {
                    yield return Update(all[emitted..stopAt]);
                }

                emitted = stopAt;
                text.Length = stopAt;
                finish = ChatFinishReason.Stop;
                break;
            }

            // Text that may be the start of a stop sequence waits until the next token decides.
            var safe = Math.Max(emitted, all.Length - holdBack);
            if (safe > emitted)
            {
                yield return Update(all[emitted..safe]);
                emitted = safe;
            }
        }

        if (text.Length > emitted)
        {
            yield return Update(text.ToString(emitted, text.Length - emitted));
        }

        usage.TotalTokenCount = usage.InputTokenCount + usage.OutputTokenCount;
        var last = Update("");
        last.Contents = [new UsageContent(usage)];
        last.FinishReason = finish ?? ChatFinishReason.Length;
        yield return last;
    }

    /// <summary>The conversation in the model's chat template; a model without one gets plain "role: text" lines.</summary>
    private static string Prompt(LLamaWeights weights, IReadOnlyList<ChatMessage> messages)
    {
        var hasTemplate = weights.Metadata.ContainsKey("tokenizer.chat_template");
        if (!hasTemplate)
        {
            return string.Concat(messages.Select(m => $"{m.Role.Value}: {m.Text}\n")) + "assistant: ";
        }

        var template = new LLamaTemplate(weights) { AddAssistant = true };
        foreach (var message in messages)
        {
            template.Add(message.Role.Value, message.Text);
        }

        return Encoding.UTF8.GetString(template.Apply());
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(_metadata) ? _metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        // The model belongs to whoever made it; the client holds nothing of its own.
    }
}
