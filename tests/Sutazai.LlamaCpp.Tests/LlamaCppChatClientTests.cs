using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;
using Sutazai.Testing;

namespace Sutazai.LlamaCpp.Tests;

/// <summary>The real llama.cpp runtime on a tiny generated model: its text is noise, everything around it is real.</summary>
public sealed class LlamaCppChatClientTests : IAsyncDisposable
{
    private static readonly string ModelPath = TinyGguf.InTemp();

    private readonly FakeTimeProvider _time = new();
    private readonly LlamaCppModel _model;
    private readonly LlamaCppChatClient _client;

    public LlamaCppChatClientTests()
    {
        _model = new LlamaCppModel("tiny", new LlamaCppModelOptions { Path = ModelPath, ContextSize = 512, Threads = 2, IdleUnloadSeconds = 60 }, _time);
        _client = new LlamaCppChatClient(_model);
    }

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private static ChatOptions Greedy(int maxTokens) => new() { Temperature = 0, MaxOutputTokens = maxTokens, Seed = 1 };

    [Fact]
    public async Task Generates_up_to_the_token_limit_and_counts_prompt_and_completion_tokens()
    {
        var response = await _client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello model")], Greedy(12), Cancellation);

        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(12, response.Usage?.OutputTokenCount);
        Assert.NotEmpty(response.Text);
        // The prompt is the chat template around the message, so it is longer than the message's own tokens.
        Assert.InRange(response.Usage?.InputTokenCount ?? 0, 8, 200);
        Assert.Equal(response.Usage!.InputTokenCount + 12, response.Usage.TotalTokenCount);
        Assert.Equal("tiny", response.ModelId);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_text_and_a_different_prompt_gives_different_text()
    {
        var first = await _client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello model")], Greedy(16), Cancellation);
        var again = await _client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello model")], Greedy(16), Cancellation);
        var other = await _client.GetResponseAsync([new ChatMessage(ChatRole.User, "the agent is in the world")], Greedy(16), Cancellation);

        Assert.Equal(first.Text, again.Text);
        Assert.NotEqual(first.Text, other.Text);
        Assert.NotEqual(first.Usage?.InputTokenCount, other.Usage?.InputTokenCount);
    }

    [Fact]
    public async Task Streaming_gives_the_same_text_piece_by_piece_with_usage_at_the_end()
    {
        var whole = await _client.GetResponseAsync([new ChatMessage(ChatRole.User, "stream it")], Greedy(20), Cancellation);

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in _client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "stream it")], Greedy(20), Cancellation))
        {
            updates.Add(update);
        }

        Assert.True(updates.Count(u => u.Text.Length > 0) > 1, "the text came in one piece");
        Assert.Equal(whole.Text, string.Concat(updates.Select(u => u.Text)));
        var usage = Assert.Single(updates.SelectMany(u => u.Contents).OfType<UsageContent>());
        Assert.Equal(20, usage.Details.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Length, updates[^1].FinishReason);
    }

    [Fact]
    public async Task A_stop_sequence_ends_the_answer_before_it()
    {
        var free = await _client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello model")], Greedy(40), Cancellation);
        // A piece of what the model says anyway, past its start, becomes the stop sequence.
        var stop = free.Text.Substring(free.Text.Length / 2, Math.Min(3, free.Text.Length - (free.Text.Length / 2)));
        var options = Greedy(40);
        options.StopSequences = [stop];

        var stopped = await _client.GetResponseAsync([new ChatMessage(ChatRole.User, "hello model")], options, Cancellation);

        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.True(stopped.Usage!.OutputTokenCount < 40);
    }

    [Fact]
    public async Task Cancelling_stops_generation()
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        var pieces = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in _client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "go on")], Greedy(400), cancel.Token))
            {
                if (++pieces == 3)
                {
                    await cancel.CancelAsync();
                }
            }
        });

        Assert.InRange(pieces, 3, 4);
    }

    [Fact]
    public async Task A_prompt_larger_than_the_context_is_refused_with_the_setting_to_change()
    {
        var huge = string.Join(' ', Enumerable.Repeat("hello world", 600));

        var refused = await Assert.ThrowsAsync<ArgumentException>(() => _client.GetResponseAsync([new ChatMessage(ChatRole.User, huge)], Greedy(4), Cancellation));

        Assert.Contains("ContextSize", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_fails_with_its_path_and_the_weights_unload_after_the_idle_time()
    {
        await using var missing = new LlamaCppModel("ghost", new LlamaCppModelOptions { Path = "/nonexistent/ghost.gguf" }, _time);
        var failed = await Assert.ThrowsAsync<FileNotFoundException>(() => new LlamaCppChatClient(missing).GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], Greedy(2), Cancellation));
        Assert.Contains("/nonexistent/ghost.gguf", failed.Message, StringComparison.Ordinal);

        await _client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], Greedy(2), Cancellation);
        Assert.True(_model.IsLoaded);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(_model.IsLoaded);
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.False(_model.IsLoaded);
    }

    public ValueTask DisposeAsync() => _model.DisposeAsync();
}
