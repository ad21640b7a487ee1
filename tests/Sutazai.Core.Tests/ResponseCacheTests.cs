using Microsoft.Extensions.AI;
using Sutazai.Core.Models;

namespace Sutazai.Core.Tests;

public sealed class ResponseCacheTests
{
    private readonly ResponseCache _cache = new(TimeSpan.FromMinutes(5), 100, TimeProvider.System);

    private static ChatOptions Deterministic(params AITool[] tools) => new() { Temperature = 0, Tools = tools.Length == 0 ? null : tools };

    private static List<ChatMessage> Conversation(string toolResult) =>
    [
        new(ChatRole.User, "how busy is the machine?"),
        new(ChatRole.Assistant, [new FunctionCallContent("call_1", "system_metrics", new Dictionary<string, object?>())]),
        new(ChatRole.Tool, [new FunctionResultContent("call_1", toolResult)]),
    ];

    [Fact]
    public void Conversations_that_differ_only_in_a_tool_result_have_different_keys()
    {
        // Both have the same text (none) in every tool message: the key must look at the contents themselves.
        var calm = _cache.KeyFor("m", Conversation("{\"cpu\":3}"), Deterministic());
        var busy = _cache.KeyFor("m", Conversation("{\"cpu\":97}"), Deterministic());

        Assert.NotNull(calm);
        Assert.NotEqual(calm, busy);
        Assert.Equal(calm, _cache.KeyFor("M", Conversation("{\"cpu\":3}"), Deterministic()));
    }

    [Fact]
    public void The_tools_offered_and_the_answer_format_are_part_of_the_key_and_random_calls_have_none()
    {
        List<ChatMessage> question = [new(ChatRole.User, "hello")];
        var metrics = AIFunctionFactory.Create(() => 1, "system_metrics", "metrics");
        var other = AIFunctionFactory.Create(() => 2, "delegate", "delegate");

        var plain = _cache.KeyFor("m", question, Deterministic());
        var withMetrics = _cache.KeyFor("m", question, Deterministic(metrics));
        var withOther = _cache.KeyFor("m", question, Deterministic(other));
        var asJson = _cache.KeyFor("m", question, new ChatOptions { Temperature = 0, ResponseFormat = ChatResponseFormat.Json });

        Assert.Equal(4, new HashSet<string?> { plain, withMetrics, withOther, asJson }.Count);
        Assert.Null(_cache.KeyFor("m", question, new ChatOptions { Temperature = 0.7f }));
        Assert.NotNull(_cache.KeyFor("m", question, new ChatOptions { Temperature = 0.7f, Seed = 4 }));
    }
}
