using System.Text.Json;
using Microsoft.Extensions.Options;
using Sutazai.Core.Agents;
using Sutazai.Core.Identity;

namespace Sutazai.Agents.Tests;

/// <summary>Calls an agent as the engine would, as an administrator unless told otherwise.</summary>
internal static class AgentCalls
{
    public static readonly AgentCaller Admin = new(Guid.NewGuid(), "admin", Permissions.All.ToHashSet());

    public static async Task<JsonElement> SucceedAsync(IAgent agent, string action, object? input = null, AgentCaller? caller = null)
    {
        var result = await RunAsync(agent, action, input, caller);
        return result is AgentResult.Succeeded succeeded
            ? succeeded.Output
            : throw new Xunit.Sdk.XunitException($"{action} failed: {((AgentResult.Failed)result).Error}");
    }

    public static async Task<string> FailAsync(IAgent agent, string action, object? input = null, AgentCaller? caller = null)
    {
        var result = await RunAsync(agent, action, input, caller);
        return result is AgentResult.Failed failed ? failed.Error : throw new Xunit.Sdk.XunitException($"{action} succeeded but should have failed: {((AgentResult.Succeeded)result).Output}");
    }

    public static Task<AgentResult> RunAsync(IAgent agent, string action, object? input = null, AgentCaller? caller = null) =>
        agent.ExecuteAsync(
            new AgentRequest(Guid.NewGuid(), action, JsonSerializer.SerializeToElement(input ?? new { }, AgentJson.Options), Guid.NewGuid().ToString("N"), 1, null, caller ?? Admin),
            TestContext.Current.CancellationToken);

    public static IOptionsMonitor<T> Monitor<T>(T value)
        where T : class => new FixedMonitor<T>(value);

    private sealed class FixedMonitor<T>(T value) : IOptionsMonitor<T>
        where T : class
    {
        public T CurrentValue => value;

        public T Get(string? name) => value;

        public IDisposable? OnChange(Action<T, string?> listener) => null;
    }
}
