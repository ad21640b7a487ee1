using System.Text.Json;
using Sutazai.Core.Agents;

namespace Sutazai.Agents.BuiltIn;

/// <summary>
/// A built-in agent: a table of actions, each with its handler. Unknown actions, missing permissions and
/// inputs that do not fit fail the task with a message that says so. Every built-in agent answers <c>ping</c>,
/// which echoes its input: the trivial action the pipeline and its benchmark use.
/// </summary>
public abstract class BuiltInAgent : IAgent
{
    private readonly Dictionary<string, (AgentAction Action, Func<AgentRequest, CancellationToken, Task<AgentResult>> Run)> _handlers = new(StringComparer.Ordinal);

    protected BuiltInAgent(string name, TimeProvider time)
    {
        Name = name;
        Time = time;
        Handle(new AgentAction("ping", "Answers at once with the agent's name, the time and the input it was given."), (request, _) =>
            Task.FromResult(AgentResult.Success(new { agent = Name, pong = true, at = Time.GetUtcNow(), echo = request.Input })));
    }

    public string Name { get; }

    public IReadOnlyList<AgentAction> Actions => [.. _handlers.Values.Select(h => h.Action)];

    protected TimeProvider Time { get; }

    public async Task<AgentResult> ExecuteAsync(AgentRequest request, CancellationToken cancellationToken)
    {
        if (!_handlers.TryGetValue(request.Action, out var handler))
        {
            return AgentResult.Failure($"'{request.Action}' is not an action of {Name}; it offers {string.Join(", ", _handlers.Keys.Order(StringComparer.Ordinal))}.");
        }

        if (handler.Action.RequiredPermission is { } permission && !request.Caller.Has(permission))
        {
            return AgentResult.Failure($"'{request.Action}' needs the permission '{permission}', which the submitter does not hold.");
        }

        return await handler.Run(request, cancellationToken);
    }

    public virtual Task<AgentHealthReport> CheckHealthAsync(CancellationToken cancellationToken) => Task.FromResult(AgentHealthReport.Healthy);

    protected void Handle(AgentAction action, Func<AgentRequest, CancellationToken, Task<AgentResult>> handler) => _handlers[action.Name] = (action, handler);

    /// <summary>Registers an action whose input is read as <typeparamref name="TInput"/> (a missing input reads as <c>{}</c>).</summary>
    protected void Handle<TInput>(AgentAction action, Func<TInput, AgentRequest, CancellationToken, Task<AgentResult>> handler)
        where TInput : class =>
        Handle(action, async (request, cancellationToken) =>
        {
            TInput? input;
            try
            {
                input = request.Input.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null
                    ? JsonSerializer.Deserialize<TInput>("{}", AgentJson.Options)
                    : request.Input.Deserialize<TInput>(AgentJson.Options);
            }
            catch (JsonException e)
            {
                return AgentResult.Failure($"The input does not fit '{action.Name}': {e.Message}");
            }

            return input is null
                ? AgentResult.Failure($"'{action.Name}' needs an input object.")
                : await handler(input, request, cancellationToken);
        });
}
